use super::*;

/// The located error for `expr`: (text at the span, message).
fn at(expr: &str) -> (String, String) {
    let message = match promql_parser::parser::parse(expr) {
        Ok(_) => panic!("`{expr}` parsed"),
        Err(m) => m,
    };
    let e =
        locate(expr, &message).unwrap_or_else(|| panic!("nothing located in `{expr}` ({message})"));
    (expr[e.start..e.end].to_string(), e.message)
}

#[test]
fn grammar_errors_point_at_the_token() {
    assert_eq!(at("sum(rate(x[5m])").0, "(");
    assert!(
        at("sum(rate(x[5m])")
            .1
            .contains("unclosed left parenthesis")
    );
    let (text, msg) = at("up == ");
    assert_eq!(text, "");
    assert!(msg.contains("expected an expression"), "{msg}");
    let (text, msg) = at("foo bar");
    assert_eq!(text, "bar");
    assert!(msg.contains("unexpected identifier \"bar\""), "{msg}");
    assert_eq!(at("up{job=foo}").0, "foo");
    assert_eq!(at("up{job==\"a\"}").0, "==");
    assert_eq!(at("rate(x[5m]))").0, ")");
    assert_eq!(at("x[]").0, "]");
}

#[test]
fn lexer_errors_point_at_the_character() {
    assert_eq!(at("rate(x[$__rate_interval])").0, "$");
    assert_eq!(at("up{job=\"a}").0, "\"a}");
    assert_eq!(at("x ! y").0, "!");
    assert_eq!(at("x[5x]").0, "5x");
}

#[test]
fn type_errors_point_at_the_argument() {
    let (text, msg) = at("rate(http_requests_total)");
    assert_eq!(text, "http_requests_total");
    assert_eq!(
        msg,
        "expected type range vector in call to function \"rate\", got instant vector"
    );
    let (text, msg) = at("x[5m] > 1");
    assert_eq!(text, "x[5m]");
    assert!(msg.contains("only scalar and instant vector"), "{msg}");
    assert_eq!(at("sum(x[5m])").0, "x[5m]");
    assert_eq!(at("topk(x)").0, "topk(x)");
    assert_eq!(at("abs(x)[5m]").0, "[5m]");
    assert_eq!(at("1 > 2").0, ">");
    assert_eq!(at("sum(x) offset 5m").0, "offset 5m");
}

#[test]
fn unknown_functions_are_named_with_a_suggestion() {
    let message = promql_parser::parser::parse("rat(x[5m])").unwrap_err();
    let e = locate("rat(x[5m])", &message).unwrap();
    assert_eq!((e.start, e.end), (0, 3));
    assert_eq!(e.hint.as_deref(), Some("did you mean `rate`?"));
}

#[test]
fn every_prefix_of_real_expressions_is_located_within_bounds() {
    let exprs = [
        "sum by (cluster) (rate(apiserver_request_total{verb=~\"LIST|GET\",code=~\"5..\"}[5m])) / on(cluster) group_left() sum(x) > bool 0.5",
        "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])) by (le)) > 2e+3",
        "(node_filesystem_avail_bytes{fstype!=\"\"} / node_filesystem_size_bytes * 100 < 10\nand\n  predict_linear(node_filesystem_avail_bytes[6h], 4*60*60) < 0)",
        "max_over_time(up[5m:1m] offset -1h @ end()) unless ignoring(instance) topk(3, -x ^ 2)",
        "count_values(\"version\", build_info) # trailing comment",
    ];
    let mut located = 0;
    for expr in exprs {
        assert!(promql_parser::parser::parse(expr).is_ok(), "{expr}");
        for end in (0..expr.len()).filter(|i| expr.is_char_boundary(*i)) {
            let prefix = &expr[..end];
            let Err(message) = promql_parser::parser::parse(prefix) else {
                continue;
            };
            let e = locate(prefix, &message)
                .unwrap_or_else(|| panic!("nothing located in {prefix:?} ({message})"));
            assert!(
                e.start <= e.end && e.end <= prefix.len(),
                "{prefix:?}: {e:?}"
            );
            located += 1;
        }
    }
    assert!(located > 300, "{located}");
}

#[test]
fn incomplete_exponents_are_bad_numbers() {
    let (text, msg) = at("x > 2e+");
    assert_eq!(text, "2e+");
    assert!(msg.contains("bad number"), "{msg}");
}

#[test]
fn mapped_spans_follow_the_map() {
    let d = parse_mapped("up ==", |o| Span::new(3, 100 + 2 * o, 100 + 2 * o)).unwrap_err();
    assert_eq!(d.code, "promql/syntax");
    assert_eq!(d.span.file, 3);
    assert_eq!(d.span.start, 110);
    let ok = parse("sum(rate(x[5m])) by (job) > 0", Span::new(0, 0, 0));
    assert!(ok.is_ok());
}

#[test]
fn shared_regexes_keep_each_pattern_and_the_query_text() {
    use promql_parser::label::Matcher;
    use promql_parser::parser::Expr;
    fn matchers<'a>(e: &'a Expr, out: &mut Vec<&'a Matcher>) {
        match e {
            Expr::Binary(b) => {
                matchers(&b.lhs, out);
                matchers(&b.rhs, out);
            }
            Expr::VectorSelector(vs) => out.extend(vs.matchers.matchers.iter()),
            _ => {}
        }
    }
    let text = r#"a{code=~"5.."} / b{code=~"5..", job!~"x|y"} or c{code=~"4.."}"#;
    let parse = || promql_parser::parser::parse(text).expect("parses");
    let mut shared = SharedRegexes::default();
    let (mut first, mut again) = (parse(), parse());
    shared.share(&mut first);
    shared.share(&mut again);
    assert_eq!(shared.0.len(), 3, "one regex per pattern");
    assert_eq!(again.to_string(), parse().to_string());
    let mut found = Vec::new();
    matchers(&again, &mut found);
    let seen: Vec<String> = found
        .iter()
        .filter(|m| m.name != "__name__")
        .map(|m| format!("{} {} {}", m.name, m.is_match("500"), m.is_match("x")))
        .collect();
    assert_eq!(
        seen,
        [
            "code true false",
            "code true false",
            "job true false",
            "code false false"
        ]
    );
}
