//! Execution tests: every case Prometheus 2.42 expanded in
//! `tests/template_promtool/cases.rs`, plus behaviour promtool cannot show
//! (external URL functions, limits, the compiled-template API).

use std::collections::BTreeMap;

use super::*;

// The integration test reads the promtool-only fields.
#[allow(dead_code)]
#[path = "../../tests/template_promtool/cases.rs"]
mod cases;

/// A `query` backend answering from the fixture's query series, as
/// promtool's test storage does.
struct FixtureQuery;

/// Parses `name{a="b",c="d"}` (the fixture's series notation).
fn parse_series(series: &str) -> BTreeMap<String, String> {
    let (name, rest) = series.split_once('{').unwrap_or((series, "}"));
    let mut labels = BTreeMap::from([("__name__".to_string(), name.to_string())]);
    for pair in rest
        .trim_end_matches('}')
        .split(',')
        .filter(|p| !p.is_empty())
    {
        if let Some((k, v)) = pair.split_once('=') {
            labels.insert(k.to_string(), v.trim_matches('"').to_string());
        }
    }
    labels
}

impl TemplateQuery for FixtureQuery {
    fn query(&self, expr: &str) -> Result<QuerySamples, String> {
        if expr == "sum(" {
            return Err("1:5: parse error: unclosed left parenthesis".to_string());
        }
        Ok(cases::QUERY_SERIES
            .iter()
            .map(|(series, value)| (parse_series(series), value.parse().unwrap_or(f64::NAN)))
            .filter(|(labels, _)| labels.get("__name__").map(String::as_str) == Some(expr))
            .collect())
    }
}

fn labels_of(scenario: usize) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = cases::SCENARIOS[scenario]
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.insert("__name__".to_string(), format!("s{scenario}"));
    labels
}

fn external_labels() -> BTreeMap<String, String> {
    cases::EXTERNAL_LABELS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Expands `template` for the fixture scenario as Prometheus would.
fn expand_case(scenario: usize, template: &str) -> String {
    let labels = labels_of(scenario);
    let external = external_labels();
    let data = TemplateData {
        labels: &labels,
        external_labels: &external,
        external_url: cases::EXTERNAL_URL,
        value: cases::SCENARIOS[scenario].value,
    };
    expand_alert_template(
        &format!("S{scenario}"),
        template,
        &data,
        Some(&FixtureQuery),
    )
}

#[test]
fn every_promtool_case_matches() {
    let mut failures = Vec::new();
    for (scenario, template, expected) in cases::CASES {
        let got = expand_case(*scenario, template);
        if got != *expected {
            failures.push(format!(
                "scenario {scenario}: {template:?}\n     want {expected:?}\n      got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Prometheus:\n{}",
        failures.len(),
        cases::CASES.len(),
        failures.join("\n")
    );
}

fn data_for<'a>(
    labels: &'a BTreeMap<String, String>,
    external: &'a BTreeMap<String, String>,
    url: &'a str,
    value: f64,
) -> TemplateData<'a> {
    TemplateData {
        labels,
        external_labels: external,
        external_url: url,
        value,
    }
}

fn run_alert(template: &str, value: f64) -> String {
    let labels = BTreeMap::from([
        ("job".to_string(), "api".to_string()),
        ("instance".to_string(), "host-1:9090".to_string()),
    ]);
    let external = BTreeMap::new();
    let data = data_for(
        &labels,
        &external,
        "https://prom.example.com/sub/path",
        value,
    );
    expand_alert_template("Rule", template, &data, None)
}

#[test]
fn external_url_functions_use_the_configured_url() {
    // promtool has no external URL for these (it dereferences nil), so
    // they are checked against Prometheus's code: url.Path and url.String.
    assert_eq!(
        run_alert("{{ pathPrefix }}|{{ externalURL }}|{{ $externalURL }}", 1.0),
        "/sub/path|https://prom.example.com/sub/path|https://prom.example.com/sub/path"
    );
    let labels = BTreeMap::new();
    let data = data_for(&labels, &labels, "http://h:9090", 0.0);
    assert_eq!(
        expand("t", "[{{ pathPrefix }}]", &data, None),
        Ok("[]".to_string())
    );
    let data = data_for(&labels, &labels, "http://h/a%20b?x=1", 0.0);
    assert_eq!(
        expand("t", "{{ pathPrefix }}", &data, None),
        Ok("/a b".to_string())
    );
}

#[test]
fn query_without_a_backend_fails_like_a_nil_query_func() {
    assert_eq!(
        run_alert(r#"{{ query "up" }}"#, 1.0),
        "<error expanding template: error executing template __alert_Rule: template: __alert_Rule:1:115: \
         executing \"__alert_Rule\" at <query \"up\">: error calling query: runtime error: invalid memory \
         address or nil pointer dereference>"
    );
}

#[test]
fn expand_reports_go_errors_without_the_prelude_offset() {
    let labels = BTreeMap::new();
    let data = data_for(&labels, &labels, "", 2.0);
    assert_eq!(
        expand("name", "{{ $value }}", &data, None),
        Ok("2".to_string())
    );
    assert_eq!(
        expand("name", "ab\n{{ .Nope }}", &data, None),
        Err(
            "error executing template name: template: name:2:3: executing \"name\" at <.Nope>: \
             can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels \
             map[string]string; ExternalURL string; Value float64 }"
                .to_string()
        )
    );
    let parse_error = expand("name", "x\n{{ nosuch }}", &data, None).unwrap_err();
    assert!(
        parse_error.starts_with(
            "error parsing template name: template: name:2: function \"nosuch\" not defined"
        ),
        "{parse_error}"
    );
}

#[test]
fn compiled_templates_run_many_times_and_report_parse_errors() {
    // Rules share compiled templates across evaluation tasks.
    fn shareable<T: Send + Sync>() {}
    shareable::<CompiledTemplate>();
    let compiled = CompiledTemplate::compile("HighLoad", "{{ $labels.job }}={{ $value }}").unwrap();
    assert_eq!(compiled.name(), "__alert_HighLoad");
    let external = BTreeMap::new();
    for (job, value, want) in [
        ("a", 1.0, "a=1"),
        ("b", 0.25, "b=0.25"),
        ("c", 1e6, "c=1e+06"),
    ] {
        let labels = BTreeMap::from([("job".to_string(), job.to_string())]);
        let data = data_for(&labels, &external, "", value);
        assert_eq!(compiled.execute(&data, None), want);
    }
    let plain = CompiledTemplate::compile("R", "no actions here").unwrap();
    let data = data_for(&external, &external, "", 0.0);
    assert_eq!(plain.execute(&data, None), "no actions here");
    let error = CompiledTemplate::compile("R", "{{ if }}").unwrap_err();
    assert!(
        error.starts_with("error parsing template __alert_R: template: __alert_R:1: "),
        "{error}"
    );
    assert_eq!(
        expand_alert_template("R", "{{ end }}", &data, None),
        format!(
            "<error expanding template: {}>",
            CompiledTemplate::compile("R", "{{ end }}").unwrap_err()
        )
    );
}

#[test]
fn endless_recursion_stops_with_gos_depth_error() {
    let template = r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#;
    assert_eq!(
        run_alert(template, 1.0),
        "<error expanding template: error executing template __alert_Rule: template: __alert_Rule:1:140: \
         executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (100000)>"
    );
}

#[test]
fn deeply_nested_recursion_fits_a_small_thread_stack() {
    // Each recursion level nests 40 blocks; the stack guard must stop it
    // well inside a 2 MiB thread (tokio's default) even in debug builds.
    let mut body = String::new();
    for _ in 0..40 {
        body.push_str("{{ if 1 }}");
    }
    body.push_str(r#"{{ template "r" $ }}"#);
    for _ in 0..40 {
        body.push_str("{{ end }}");
    }
    let template = format!(r#"{{{{ define "r" }}}}{body}{{{{ end }}}}{{{{ template "r" . }}}}"#);
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || run_alert(&template, 1.0))
        .unwrap()
        .join()
        .unwrap();
    assert!(
        result.ends_with("exceeded maximum template depth (100000)>"),
        "{result}"
    );
}

#[test]
fn runaway_loops_stop_instead_of_hanging() {
    // 2^40 iterations in Go; here the step budget ends it.
    let mut template = String::new();
    for i in 0..40 {
        template.push_str(&format!("{{{{ range $k{i}, $v{i} := $labels }}}}"));
    }
    template.push('x');
    for _ in 0..40 {
        template.push_str("{{ end }}");
    }
    let started = std::time::Instant::now();
    let result = run_alert(&template, 1.0);
    assert!(result.contains("execution stopped after"), "{result}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    let doubling = r#"{{ $x := "ab" }}{{ range $labels }}{{ range $labels }}{{ range $labels }}{{ range $labels }}{{ range $labels }}{{ $x = printf "%s%s%s%s%s%s%s%s" $x $x $x $x $x $x $x $x }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}{{ len $x }}"#;
    let result = run_alert(doubling, 1.0);
    assert!(
        result.ends_with("error calling printf: result larger than 4194304 bytes>"),
        "{result}"
    );
    // Each character becomes itself plus 4 KiB.
    let padding = "x".repeat(4096);
    let growing = format!(
        r#"{{{{ $x := "ab" }}}}{{{{ range $labels }}}}{{{{ range $labels }}}}{{{{ $x = reReplaceAll "." "${{0}}{padding}" $x }}}}{{{{ end }}}}{{{{ end }}}}{{{{ len $x }}}}"#
    );
    let result = run_alert(&growing, 1.0);
    assert!(result.contains("result larger than"), "{result}");

    let huge = r#"{{ range $labels }}{{ range $labels }}{{ range $labels }}{{ printf "%999999d" 1 }}{{ end }}{{ end }}{{ end }}"#;
    let result = run_alert(huge, 1.0);
    assert!(result.contains("output larger than"), "{result}");
}

#[test]
fn go_float_formatting() {
    let cases: &[(f64, char, i32, &str)] = &[
        (1e6, 'e', -1, "1e+06"),
        (1e6, 'g', -1, "1e+06"),
        (123456.0, 'g', -1, "123456"),
        (0.1, 'e', -1, "1e-01"),
        (0.1, 'g', -1, "0.1"),
        (1e-5, 'g', -1, "1e-05"),
        (1e21, 'f', -1, "1000000000000000000000"),
        (2.675, 'f', 2, "2.67"),
        (0.0, 'e', -1, "0e+00"),
        (-0.0, 'g', -1, "-0"),
        (1.0, 'b', -1, "4503599627370496p-52"),
        (3.5, 'x', -1, "0x1.cp+01"),
        (3.0, 'X', 2, "0X1.80P+01"),
        (5e-324, 'e', -1, "5e-324"),
        (1.7976931348623157e308, 'g', -1, "1.7976931348623157e+308"),
        (f64::NAN, 'e', -1, "NaN"),
        (f64::INFINITY, 'g', 3, "+Inf"),
        (f64::NEG_INFINITY, 'f', 1, "-Inf"),
        (1234.5678, 'g', 3, "1.23e+03"),
        (1234.5678, 'G', 6, "1234.57"),
        (0.000012345, 'E', 2, "1.23E-05"),
        (1.5, 'q', -1, "%q"),
    ];
    for (v, fmt, prec, want) in cases {
        assert_eq!(format_go_float(*v, *fmt, *prec), *want, "{v} {fmt} {prec}");
    }
}

/// A small deterministic generator for the no-panic test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn mutated_templates_never_panic() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        " ",
        ".",
        "$",
        "$labels",
        "$value",
        "(",
        ")",
        "|",
        "\"x\"",
        "1",
        "-1.5e3",
        "nil",
        "index",
        "slice",
        "printf",
        "\"%v%d%s%q%x%5.2f%[2]*d%!\"",
        "range",
        "end",
        "if",
        "else",
        "with",
        "template",
        "define",
        "block",
        "\"t\"",
        "break",
        "continue",
        ":=",
        "=",
        "query",
        "first",
        "humanize",
        "toTime",
        ".Format",
        ".Labels",
        ".Value",
        "args",
        "eq",
        "lt",
        "and",
        "or",
        "not",
        "len",
        "html",
        "js",
        "match",
        "\"(a*)*[\"",
        "reReplaceAll",
        "\"$1${x}$$\"",
        "title",
        "sortByLabel",
        "label",
        "value",
        "'x'",
        "0x1p-2",
        "1i",
        "`raw`",
    ];
    let labels = BTreeMap::from([
        ("job".to_string(), "api".to_string()),
        ("a".to_string(), "é".to_string()),
    ]);
    let data = data_for(&labels, &labels, "http://x", f64::NAN);
    let mut rng = Lcg(42);
    let mut sources: Vec<String> = cases::CASES.iter().map(|(_, t, _)| t.to_string()).collect();
    for _ in 0..3000 {
        let n = 1 + rng.next() % 12;
        let generated: String = (0..n).map(|_| PIECES[rng.next() % PIECES.len()]).collect();
        sources.push(generated);
    }
    for (i, source) in sources.iter().enumerate() {
        let mut text = source.clone();
        if i % 2 == 0 && !text.is_empty() {
            let cut = rng.next() % text.len();
            while !text.is_char_boundary(text.len().min(cut)) {
                text.pop();
            }
            let piece = PIECES[rng.next() % PIECES.len()];
            let at = text.len().min(cut);
            text.insert_str(at, piece);
        }
        let outcome = std::panic::catch_unwind(|| {
            expand_alert_template("Fuzz", &text, &data, Some(&FixtureQuery))
        });
        assert!(outcome.is_ok(), "panicked on {text:?}");
    }
}
