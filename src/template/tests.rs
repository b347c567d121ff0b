use super::*;

/// Asserts that `text` parses.
#[track_caller]
fn ok(text: &str) {
    if let Err(e) = check(text) {
        panic!("{text:?} should parse, got {e:?}");
    }
}

/// Asserts that `text` fails at `offset` with a message containing `fragment`.
#[track_caller]
fn fails(text: &str, offset: usize, fragment: &str) {
    match check(text) {
        Ok(()) => panic!("{text:?} should fail with {fragment:?}"),
        Err(e) => {
            assert!(
                e.message.contains(fragment),
                "{text:?}: message {:?} lacks {fragment:?}",
                e.message
            );
            assert_eq!(
                e.offset, offset,
                "{text:?}: wrong offset for {:?}",
                e.message
            );
        }
    }
}

#[test]
fn valid_templates() {
    ok("");
    ok("plain text, no actions");
    ok("{ {{ $value }} }}");
    ok("{{ $labels.instance }}");
    ok("{{$labels.job}}/{{$labels.service}}");
    ok("{{ $externalLabels.cluster }} {{ $externalURL }} {{ $ }} {{ $.Labels.job }}");
    ok("{{ .Labels.instance }} {{ .Value }} {{ .ExternalURL }}");
    ok(r#"{{ printf "%.2f" $value }}% of {{ $labels.job }}"#);
    ok("{{ $value | humanize }} {{ humanize1024 $value }} {{ humanizePercentage $value }}");
    ok("{{ humanizeDuration $value }} {{ humanizeTimestamp $value }} {{ $value | toTime }}");
    ok(r#"{{ "1h" | parseDuration | humanizeDuration }}"#);
    ok(r#"{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}"#);
    ok("{{ $labels.instance | stripPort }} {{ $labels.instance | stripDomain }}");
    ok(r#"{{ index $labels "foo-bar" }} {{ len $labels }} {{ title "a" | toUpper | toLower }}"#);
    ok(r#"{{ with query "up" }}{{ . | first | value | humanize }}{{ end }}"#);
    ok(r#"{{ range query "up" | sortByLabel "job" }}{{ label "job" . }}{{ strvalue . }}{{ end }}"#);
    ok(r#"{{ graphLink "up" }} {{ tableLink "up" }} {{ pathPrefix }} {{ externalURL }}"#);
    ok(r#"{{ match "a.*" "abc" }} {{ safeHtml "<b>" }} {{ args 1 2 }}"#);
    ok(r#"{{ if and (eq $labels.a "x") (ne $labels.b "y") (not false) }}ok{{ end }}"#);
    ok("{{ if gt $value 10.0 }}high{{ else if gt $value 5.0 }}mid{{ else }}low{{ end }}");
    ok("{{ range $i, $v := .Labels }}{{ $i }}={{ $v }} {{ end }}");
    ok("{{ range $v := .Labels }}{{ $v }}{{ else }}none{{ end }}");
    ok("{{ range .Labels }}{{ if . }}{{ break }}{{ end }}{{ continue }}{{ end }}");
    ok("{{ with $x := .Labels }}{{ $x.a }}{{ else }}{{ $x }}{{ end }}");
    ok("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}");
    ok(r#"{{ (printf "%s" "a") }} {{ ((1)) }} {{ (print $labels).foo }}"#);
    ok("{{ 'a' }} {{ '\\n' }} {{ 1e3 }} {{ 0x1F }} {{ -1.5 }} {{ 1+2i }} {{ 3i }} {{ 1_000 }}");
    ok("{{ 0b101 }} {{ 0o17 }} {{ 017 }} {{ 0x1p-2 }} {{ .5 }} {{ +7 }}");
    ok(r#"{{ "tab\tquote\"unicode\u00e9byte\x41octal\101" }}"#);
    ok("{{ `raw\nstring with \\ and \"` }}");
    ok("{{ true }} {{ false }} {{ nil }}");
    ok("{{/* a comment */}}{{- /* trimmed */ -}}{{/*\nmultiline\n*/}}");
    ok("x {{- $labels.a -}} y {{- 3}} {{-3}} {{3 -}}");
    ok("{{\n  $labels.a\n  | toUpper\n}}");
    ok(r#"{{ define "x" }}{{ . }}{{ $ }}{{ end }}{{ template "x" . }}{{ template "x" }}"#);
    ok(r#"{{ define "a" }}{{ end }}{{ define "a" }}body{{ end }}"#);
    ok(r#"{{ block "b" . }}{{ .Value }}{{ end }}"#);
    ok(r#"{{ template "never-defined" }}"#);
    ok("{{ .Labels.a | }}");
    ok("{{ $value := 3 }}{{ $value }}");
}

#[test]
fn unclosed_and_unbalanced() {
    fails("{{ $labels.instance", 0, "unclosed action");
    fails("abc {{ $value ", 4, "unclosed action");
    fails(
        "{{ if $value }}x",
        0,
        "unexpected EOF: {{if}} is missing its {{end}}",
    );
    fails(
        "{{ range . }}x{{ else }}y",
        0,
        "unexpected EOF: {{range}} is missing its {{end}}",
    );
    fails(
        "{{ if . }}a{{ else if . }}b",
        11,
        "{{else if}} is missing its {{end}}",
    );
    fails(
        r#"{{ define "d" }}x"#,
        0,
        "{{define}} is missing its {{end}}",
    );
    fails("x{{ end }}", 1, "unexpected {{end}}");
    fails("{{ if . }}{{ end }}{{ end }}", 19, "unexpected {{end}}");
    fails(
        "{{ else }}",
        0,
        "unexpected {{else}} outside {{if}}, {{range}} or {{with}}",
    );
    fails(
        "{{ if . }}a{{ else }}b{{ else }}c{{ end }}",
        22,
        "expected end; found {{else}}",
    );
    fails(
        "{{ with . }}a{{ else with . }}b{{ end }}",
        21,
        "{{else with}} needs Go 1.23",
    );
    fails(
        "{{ range . }}a{{ else if . }}b{{ end }}",
        22,
        "unexpected <if> in input",
    );
    fails(
        r#"{{ block "b" . }}a{{ else }}b{{ end }}"#,
        18,
        "unexpected {{else}} in block clause",
    );
    fails("{{ if . }}{{ end x }}", 17, r#"unexpected "x" in end"#);
    fails("{{/* c ", 0, "unclosed comment");
    fails("{{/* c */ }}", 9, "comment ends before closing delimiter");
    fails("{{ (1 }}", 3, "unclosed left paren");
    fails("{{ 1) }}", 4, "unexpected right paren U+0029 ')'");
}

#[test]
fn undefined_names() {
    fails(
        "{{ $lables.instance }}",
        3,
        r#"undefined variable "$lables"; did you mean "$labels"?"#,
    );
    fails("{{ $nothing }}", 3, r#"undefined variable "$nothing""#);
    fails(
        "{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}",
        38,
        r#"undefined variable "$y""#,
    );
    fails(
        "{{ range $i, $v := . }}{{ end }}{{ $v }}",
        35,
        r#"undefined variable "$v""#,
    );
    fails(
        r#"{{ define "x" }}{{ $labels.a }}{{ end }}"#,
        19,
        "inside {{define}} and {{block}} only `$`",
    );
    fails(
        "{{ $value | humanise }}",
        12,
        r#"function "humanise" not defined; did you mean "humanize"?"#,
    );
    fails("{{ tolower $labels.a }}", 3, r#"did you mean "toLower"?"#);
    fails("{{ xyzzy }}", 3, r#"function "xyzzy" not defined"#);
    // Functions from newer Prometheus releases are not in 2.42.
    fails(
        "{{ $labels.a | urlQueryEscape }}",
        15,
        r#"function "urlQueryEscape" not defined"#,
    );
    fails("{{ tmpl \"x\" . }}", 3, r#"function "tmpl" not defined"#);
}

#[test]
fn bad_literals() {
    fails("{{ 1x }}", 3, r#"bad number syntax: "1x""#);
    fails("{{ 1-2 }}", 3, r#"bad number syntax: "1-2""#);
    fails("{{ 08 }}", 3, r#"integer overflow: "08""#);
    fails("{{ 99999999999999999999 }}", 3, "integer overflow");
    fails("{{ 1e400 }}", 3, r#"illegal number syntax: "1e400""#);
    fails("{{ 1__0 }}", 3, r#"illegal number syntax: "1__0""#);
    fails("{{ 0x1.8 }}", 3, r#"illegal number syntax: "0x1.8""#);
    fails("{{ - }}", 3, r#"illegal number syntax: "-""#);
    fails("{{ 'ab' }}", 3, "malformed character constant: 'ab'");
    fails("{{ '' }}", 3, "malformed character constant: ''");
    fails("{{ 'a }}", 3, "unterminated character constant");
    fails(
        r#"{{ "a\qb" }}"#,
        5,
        "invalid escape sequence in string literal",
    );
    fails(
        r#"{{ "\'" }}"#,
        4,
        "invalid escape sequence in string literal",
    );
    fails(
        r#"{{ "\ud800" }}"#,
        4,
        "invalid escape sequence in string literal",
    );
    fails(r#"{{ "abc }}"#, 3, "unterminated quoted string");
    fails("{{ `abc }}", 3, "unterminated raw quoted string");
    fails(r#"{{ "x".y }}"#, 6, r#"unexpected . after term "\"x\"""#);
    fails("{{ 1.5.x }}", 6, r#"unexpected . after term "1.5""#);
}

#[test]
fn bad_pipelines_and_tokens() {
    fails("{{ }}", 0, "missing value for command");
    fails("{{ if }}x{{ end }}", 0, "missing value for if");
    fails("{{ range }}{{ end }}", 0, "missing value for range");
    fails("{{ $x := }}", 0, "missing value for command");
    fails(
        r#"{{ printf "%d" ( ) }}"#,
        15,
        "missing value for parenthesized pipeline",
    );
    fails(
        r#"{{ block "b" }}x{{ end }}"#,
        0,
        "missing value for block clause",
    );
    fails(
        "{{ $labels.a | 3 }}",
        15,
        "non executable command in pipeline stage 2",
    );
    fails(
        r#"{{ . | toUpper | "s" }}"#,
        17,
        "non executable command in pipeline stage 3",
    );
    fails("{{ printf 3, 4 }}", 11, r#"unexpected "," in operand"#);
    fails("{{ | }}", 3, r#"unexpected "|" in command"#);
    fails("{{ print end }}", 9, "unexpected <end> in operand");
    fails("{{ /* c */ }}", 3, r#"unexpected "/" in command"#);
    fails("{{ : }}", 3, "expected :=");
    fails("{{ § }}", 3, "unrecognized character in action: U+00A7 '§'");
    fails("{{ $labels.foo-bar }}", 14, "bad character U+002D '-'");
    fails("{{ $x+2 }}", 5, "bad character U+002B '+'");
    fails("{{ $x=1 }}", 5, "bad character U+003D '='");
    fails(
        "{{ template $x }}",
        12,
        r#"unexpected "$x" in template clause"#,
    );
    fails(
        "{{ template }}",
        12,
        r#"unexpected "}}" in template clause"#,
    );
    fails(
        "{{ define 3 }}{{ end }}",
        10,
        r#"unexpected "3" in define clause"#,
    );
    fails(
        r#"{{ if . }}{{ define "a" }}{{ end }}{{ end }}"#,
        13,
        "unexpected <define> in command",
    );
    fails(
        r#"{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}"#,
        26,
        r#"multiple definition of template "a""#,
    );
    fails(
        "{{ range $a, $b, $c := . }}{{ end }}",
        15,
        "too many declarations in range",
    );
    fails(
        "{{ with $a, $b := . }}{{ end }}",
        10,
        "too many declarations in with",
    );
    fails(
        "{{ range $a, 3 }}{{ end }}",
        13,
        "range can only initialize variables",
    );
    fails("{{ break }}", 0, "{{break}} outside {{range}}");
    fails(
        "{{ range . }}{{ else }}{{ continue }}{{ end }}",
        23,
        "{{continue}} outside {{range}}",
    );
    fails(
        r#"{{ range . }}{{ block "b" . }}{{ break }}{{ end }}{{ end }}"#,
        30,
        "{{break}} outside {{range}}",
    );
    fails("{{ break 1 }}", 9, r#"unexpected "1" in {{break}}"#);
}

#[test]
fn errors_are_reported_in_go_order() {
    // The parser fails on the undefined function before the lexer's error
    // further on is reached.
    fails("{{ nofunc }}{{ ", 3, r#"function "nofunc" not defined"#);
    // A lexer error inside an earlier action wins over a later parse error.
    fails("{{ 1x }}{{ end }}", 3, "bad number syntax");
}

#[test]
fn nesting_is_capped() {
    let depth_ok = MAX_NESTING;
    let nested = "{{ if . }}".repeat(depth_ok) + &"{{ end }}".repeat(depth_ok);
    ok(&nested);
    let too_deep = "{{ if . }}".repeat(depth_ok + 1) + &"{{ end }}".repeat(depth_ok + 1);
    fails(&too_deep, 10 * depth_ok, "nested too deeply");
    let parens = format!(
        "{{{{ {}1{} }}}}",
        "(".repeat(depth_ok + 1),
        ")".repeat(depth_ok + 1)
    );
    fails(&parens, 3 + depth_ok, "nested too deeply");
    // Deep input fails cleanly rather than exhausting the stack.
    let huge = "{{ with . }}".repeat(100_000);
    fails(&huge, 12 * MAX_NESTING, "nested too deeply");
}

#[test]
fn never_panics_on_garbage() {
    let pieces = [
        "{{", "}}", "{{-", "-}}", " ", "\n", "$", "$x", ".", ".a", "(", ")", "|", ":=", "=", ",",
        "\"", "'", "`", "\\", "/*", "*/", "if", "else", "end", "range", "with", "define", "block",
        "template", "break", "continue", "nil", "1", "-", "+", "0x", "e", "i", "é", "§", "\u{0}",
        "humanize", "$value", "\"s\"",
    ];
    // A deterministic pseudo-random walk over the pieces.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..(state % 12) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let index = (state % pieces.len() as u64) as usize;
            text.push_str(pieces.get(index).copied().unwrap_or(""));
        }
        if let Err(e) = parse(&text) {
            assert!(
                e.offset <= text.len(),
                "{text:?}: offset {} out of range",
                e.offset
            );
        }
        let _ = references_value(&text);
        state = state.wrapping_add(0x2545_F491_4F6C_DD1D);
    }
}

#[test]
fn tree_shape() {
    let t = parse("a {{- $labels.x | toUpper -}} b{{ if . }}y{{ else if $value }}z{{ end }}")
        .expect("parses");
    let [
        Node::Text(a),
        Node::Action(action),
        Node::Text(b),
        Node::If(branch),
    ] = t.root.as_slice()
    else {
        panic!("unexpected root {:#?}", t.root);
    };
    assert_eq!(a.text, "a");
    assert_eq!(b.text, "b");
    assert_eq!(action.span, TextRange::new(2, 29));
    let [first, second] = action.pipe.cmds.as_slice() else {
        panic!("two commands expected");
    };
    assert_eq!(
        first.args,
        vec![Arg::Variable(Variable {
            name: "$labels".into(),
            fields: vec!["x".into()],
            span: TextRange::new(6, 15),
        })]
    );
    assert!(matches!(second.args.as_slice(), [Arg::Function { name, .. }] if name == "toUpper"));
    let Some([Node::If(chained)]) = branch.else_list.as_deref() else {
        panic!("else if should nest an if");
    };
    assert!(chained.else_list.is_none());
    assert_eq!(branch.span.end, 72);

    let t = parse("{{ range $i, $v := .Labels }}{{ $v }}{{ end }}").expect("parses");
    let [Node::Range(range)] = t.root.as_slice() else {
        panic!("range expected");
    };
    let names: Vec<&str> = range.pipe.decl.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["$i", "$v"]);
    assert!(!range.pipe.is_assign);

    let t = parse(r#"{{ block "b" .Labels }}x{{ end }}"#).expect("parses");
    assert!(matches!(t.root.as_slice(), [Node::Template(call)] if call.name == "b"));
    let definition = t.definition("b").expect("block defines b");
    assert!(definition.from_block);
    assert_eq!(definition.span, TextRange::new(0, 33));
}

#[test]
fn literal_values() {
    let number = |text: &str| {
        let template = parse(&format!("{{{{ {text} }}}}")).expect("parses");
        match template.root.as_slice() {
            [Node::Action(action)] => match action.pipe.cmds.first().and_then(|c| c.args.first()) {
                Some(Arg::Number(n)) => (n.int, n.uint, n.float, n.complex),
                other => panic!("{text}: not a number: {other:?}"),
            },
            other => panic!("{text}: {other:?}"),
        }
    };
    assert_eq!(number("73"), (Some(73), Some(73), Some(73.0), None));
    assert_eq!(number("-73"), (Some(-73), None, Some(-73.0), None));
    assert_eq!(number("0x7_3"), (Some(0x73), Some(0x73), Some(115.0), None));
    assert_eq!(number("073"), (Some(59), Some(59), Some(59.0), None));
    assert_eq!(
        number("1e9"),
        (Some(1_000_000_000), Some(1_000_000_000), Some(1e9), None)
    );
    assert_eq!(
        number("1e19"),
        (None, Some(10_000_000_000_000_000_000), Some(1e19), None)
    );
    assert_eq!(number("-1.2"), (None, None, Some(-1.2), None));
    assert_eq!(number("0x_1p-4"), (None, None, Some(1.0 / 16.0), None));
    assert_eq!(number("'a'"), (Some(97), Some(97), Some(97.0), None));
    assert_eq!(number("'\\xFF'"), (Some(255), Some(255), Some(255.0), None));
    assert_eq!(number("4i"), (None, None, None, Some((0.0, 4.0))));
    assert_eq!(
        number("-12+0i"),
        (Some(-12), None, Some(-12.0), Some((-12.0, 0.0)))
    );
    assert_eq!(number("-0"), (Some(0), Some(0), Some(0.0), None));

    let string = |text: &str| {
        let template = parse(&format!("{{{{ {text} }}}}")).expect("parses");
        match template.root.as_slice() {
            [Node::Action(action)] => match action.pipe.cmds.first().and_then(|c| c.args.first()) {
                Some(Arg::String { value, .. }) => value.clone(),
                other => panic!("{text}: not a string: {other:?}"),
            },
            other => panic!("{text}: {other:?}"),
        }
    };
    assert_eq!(string(r#""a\tb\u00e9\x41\101""#), "a\tbéAA");
    assert_eq!(string("`a\r\nb`"), "a\nb");
}

#[test]
fn value_references() {
    let reads = |text: &str| references_value(text);
    assert!(reads("{{ $value }}"));
    assert!(reads("{{ .Value }}"));
    assert!(reads("{{ $.Value }}"));
    assert!(reads("{{ $value | humanize }}"));
    assert!(reads(r#"{{ printf "%.2f" $value }}"#));
    assert!(reads("{{ humanize (.Value) }}"));
    assert!(reads("{{ if gt $value 1.0 }}big{{ end }}"));
    assert!(reads("{{ if . }}{{ else }}{{ .Value }}{{ end }}"));
    assert!(reads("{{ with .Labels }}{{ $.Value }}{{ end }}"));
    assert!(reads("{{ with .Labels }}{{ else }}{{ .Value }}{{ end }}"));
    assert!(reads("{{ $v := $value }}"));
    assert!(reads(
        r#"{{ define "v" }}{{ .Value }}{{ end }}{{ template "v" . }}"#
    ));
    assert!(reads(
        r#"{{ define "v" }}{{ $.Value }}{{ end }}{{ template "v" $ }}"#
    ));
    assert!(reads(r#"{{ block "b" . }}{{ .Value }}{{ end }}"#));
    assert!(
        reads("{{ $value "),
        "unparsable templates fall back to text"
    );

    assert!(!reads("static text with $value outside actions"));
    assert!(!reads("{{ $labels.instance }}"));
    assert!(!reads("{{ .Labels.Value }}"));
    assert!(!reads("{{ with .Labels }}{{ .Value }}{{ end }}"));
    assert!(!reads(r#"{{ range query "up" }}{{ .Value }}{{ end }}"#));
    assert!(!reads(
        r#"{{ define "v" }}{{ .Value }}{{ end }}{{ template "v" .Labels }}"#
    ));
    assert!(!reads(r#"{{ define "v" }}{{ .Value }}{{ end }}"#));
    assert!(!reads(
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#
    ));
}

/// Finds `shared/corpus` by walking up from the crate root (worktrees live
/// below the directory that holds `shared/`; CI clones beside it).
fn corpus_dir() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared").join("corpus"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no shared/corpus above {}", manifest.display()))
}

/// Every label and annotation value of every rule in the corpus, with where
/// it came from.
fn corpus_templates() -> Vec<(String, String)> {
    let mut templates = Vec::new();
    let mut files = 0;
    for entry in walkdir::WalkDir::new(corpus_dir()).sort_by_file_name() {
        let entry = entry.expect("readable corpus");
        let path = entry.path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(path).expect("readable file");
        let doc: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let groups = doc["groups"].as_array().cloned().unwrap_or_default();
        for group in &groups {
            for rule in group["rules"].as_array().into_iter().flatten() {
                let name = rule["alert"]
                    .as_str()
                    .or(rule["record"].as_str())
                    .unwrap_or("?");
                for section in ["labels", "annotations"] {
                    for (key, value) in rule[section].as_object().into_iter().flatten() {
                        let value = match value {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let place = format!("{} {name} {section}.{key}", path.display());
                        templates.push((place, value));
                    }
                }
            }
        }
    }
    assert!(files > 100, "only {files} corpus files found");
    templates
}

#[test]
fn corpus_templates_all_check() {
    let templates = corpus_templates();
    assert!(
        templates.len() > 3000,
        "only {} templates found",
        templates.len()
    );
    let failures: Vec<String> = templates
        .iter()
        .filter_map(|(place, text)| {
            check(text)
                .err()
                .map(|e| format!("{place}: {e} in {text:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let with_actions = templates.iter().filter(|(_, t)| t.contains("{{")).count();
    assert!(
        with_actions > 1000,
        "only {with_actions} templates have actions"
    );
}
