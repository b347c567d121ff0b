//! Prometheus rule files: one fixture per kind of mistake, each diagnostic
//! asserted at its exact `line:col`, plus the model built from valid files
//! and input that must never crash the loader.

use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant};

use klaxon::diag::{Diagnostic, Level};
use klaxon::model::load::{Loaded, load_paths, load_sources};
use klaxon::model::{LoadOptions, Rule, RuleKind, pair};
use klaxon::vocab::severity::SeverityLevel;
use klaxon::vocab::time::Duration;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/prom")).join(name)
}

fn fixture(name: &str) -> Loaded {
    let loaded = load_paths(&[fixture_path(name)], &LoadOptions::default());
    assert!(loaded.io_errors.is_empty(), "{:?}", loaded.io_errors);
    loaded
}

/// Diagnostics from this front end (not from later model checks), as
/// `(code, line, col)`.
fn front_end(loaded: &Loaded) -> Vec<(&'static str, usize, usize)> {
    ours(loaded)
        .map(|d| {
            let (_, line, col) = loaded.sources.locate(d.span);
            (d.code, line, col)
        })
        .collect()
}

fn ours(loaded: &Loaded) -> impl Iterator<Item = &Diagnostic> {
    loaded.diagnostics.iter().filter(|d| {
        d.code.starts_with("prom/")
            || d.code.starts_with("promql/")
            || d.code.starts_with("template/")
    })
}

fn rendered(loaded: &Loaded) -> String {
    loaded
        .diagnostics
        .iter()
        .map(|d| d.render(&loaded.sources))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one diagnostic of ours at `line:col`.
fn at(loaded: &Loaded, line: usize, col: usize) -> &Diagnostic {
    let found: Vec<&Diagnostic> = ours(loaded)
        .filter(|d| {
            let (_, l, c) = loaded.sources.locate(d.span);
            (l, c) == (line, col)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic at {line}:{col}:\n{}",
        rendered(loaded)
    );
    found[0]
}

fn span_text<'a>(loaded: &'a Loaded, d: &Diagnostic) -> &'a str {
    &loaded.sources.file(d.span.file).text[d.span.start..d.span.end]
}

fn rule<'a>(loaded: &'a Loaded, name: &str) -> &'a Rule {
    loaded
        .rules
        .rules()
        .map(|(_, r)| r)
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("rule {name} not loaded"))
}

fn locate(loaded: &Loaded, span: klaxon::diag::Span) -> (usize, usize) {
    let (_, l, c) = loaded.sources.locate(span);
    (l, c)
}

// ----- one fixture per kind of mistake --------------------------------------------------------

#[test]
fn yaml_syntax_errors_are_reported_where_the_parser_stopped() {
    let loaded = fixture("yaml_syntax.yml");
    assert_eq!(front_end(&loaded), [("prom/yaml-syntax", 6, 8)]);
    let d = at(&loaded, 6, 8);
    assert_eq!(d.level, Level::Error);
    assert!(
        d.message.contains("did not find expected '-' indicator"),
        "{}",
        d.message
    );
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("indentation")));

    let loaded = fixture("yaml_unclosed_flow.yml");
    assert_eq!(front_end(&loaded), [("prom/yaml-syntax", 6, 17)]);
    assert!(at(&loaded, 6, 17).message.contains("unclosed bracket '{'"));
    assert!(loaded.rules.groups.is_empty());
}

#[test]
fn wrong_types_point_at_the_value() {
    let loaded = fixture("wrong_type.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/wrong-type", 3, 12),
            ("prom/wrong-type", 5, 15),
            ("prom/wrong-type", 6, 12),
            ("prom/wrong-type", 11, 11),
            ("prom/wrong-type", 12, 9),
        ],
        "{}",
        rendered(&loaded)
    );
    assert_eq!(
        at(&loaded, 3, 12).message,
        "`rules` must be a list of rules, found the number `5`"
    );
    assert_eq!(
        at(&loaded, 5, 15).message,
        "`interval` must be a string, found a list"
    );
    assert_eq!(
        at(&loaded, 6, 12).message,
        "`limit` must be a whole number, found the string `ten`"
    );
    assert_eq!(
        at(&loaded, 11, 11).message,
        "`labels` must be a mapping of names to values, found a list"
    );
    // Both groups and the rule after the broken one still load.
    assert_eq!(loaded.rules.groups.len(), 2);
    assert_eq!(rule(&loaded, "LabelsList").labels, []);
}

#[test]
fn unknown_fields_suggest_the_known_one() {
    let loaded = fixture("unknown_field.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/unknown-field", 3, 5),
            ("prom/unknown-field", 6, 9),
            ("prom/unknown-field", 7, 9),
            ("prom/unknown-field", 11, 9),
            ("prom/unknown-field", 12, 5),
        ],
        "{}",
        rendered(&loaded)
    );
    let hint = |l, c| at(&loaded, l, c).hint.clone().unwrap_or_default();
    assert_eq!(
        at(&loaded, 3, 5).message,
        "unknown field `intervall` in a rule group"
    );
    assert_eq!(hint(3, 5), "did you mean `interval`?");
    // A misspelt `expr` is not also reported as a missing `expr`.
    assert_eq!(hint(6, 9), "did you mean `expr`?");
    assert_eq!(hint(7, 9), "did you mean `annotations`?");
    assert!(hint(11, 9).starts_with("if `severity` is a label, put it under `labels:`"));
    assert!(hint(12, 5).contains("`expr` is a rule field"));
    assert_eq!(span_text(&loaded, at(&loaded, 6, 9)), "expresion");
}

#[test]
fn rules_need_exactly_one_of_alert_and_record() {
    let loaded = fixture("rule_kind.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/alert-and-record", 5, 17),
            ("prom/no-alert-or-record", 7, 9),
            ("prom/no-alert-or-record", 10, 16),
        ],
        "{}",
        rendered(&loaded)
    );
    let both = at(&loaded, 5, 17);
    assert_eq!(both.message, "only one of 'record' and 'alert' must be set");
    assert_eq!(locate(&loaded, both.related[0].0), (4, 16));
    // Only the valid rule is in the model.
    let names: Vec<&str> = loaded.rules.rules().map(|(_, r)| r.name.as_str()).collect();
    assert_eq!(names, ["Fine"]);
}

#[test]
fn missing_or_empty_expr_is_an_error() {
    let loaded = fixture("missing_expr.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/missing-expr", 4, 16),
            ("prom/missing-expr", 7, 15),
            ("prom/missing-expr", 9, 9),
        ],
        "{}",
        rendered(&loaded)
    );
    assert_eq!(
        at(&loaded, 4, 16).message,
        "field 'expr' must be set in rule"
    );
    assert!(
        rule(&loaded, "job:up:sum")
            .query
            .promql()
            .is_some_and(|q| q.ast.is_some())
    );
}

#[test]
fn groups_need_unique_non_empty_names() {
    let loaded = fixture("group_names.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/missing-group-name", 2, 5),
            ("prom/missing-group-name", 5, 11),
            ("prom/duplicate-group", 11, 11),
        ],
        "{}",
        rendered(&loaded)
    );
    let dup = at(&loaded, 11, 11);
    assert_eq!(
        dup.message,
        "groupname: \"twice\" is repeated in the same file"
    );
    assert_eq!(dup.related.len(), 1);
    assert_eq!(locate(&loaded, dup.related[0].0), (7, 11));
    assert_eq!(dup.related[0].1, "first defined here");
    // Rules in every group are still loaded.
    assert_eq!(loaded.rules.rules().count(), 3);
}

#[test]
fn label_annotation_and_record_names_are_checked() {
    let loaded = fixture("names.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/invalid-label-name", 8, 11),
            ("prom/invalid-label-name", 9, 11),
            ("prom/invalid-label-name", 10, 11),
            ("prom/invalid-annotation-name", 12, 11),
            ("prom/invalid-record-name", 13, 17),
            ("prom/invalid-record-name", 15, 17),
        ],
        "{}",
        rendered(&loaded)
    );
    assert_eq!(at(&loaded, 8, 11).message, "invalid label name: team-name");
    assert_eq!(
        at(&loaded, 8, 11).hint.as_deref(),
        Some("did you mean `team_name`?")
    );
    assert!(
        at(&loaded, 9, 11)
            .label
            .as_deref()
            .is_some_and(|l| l.contains("reserved"))
    );
    assert_eq!(
        at(&loaded, 12, 11).hint.as_deref(),
        Some("did you mean `runbook_url`?")
    );
    assert_eq!(
        at(&loaded, 13, 17).message,
        "invalid recording rule name: job-up:sum"
    );
    assert_eq!(
        at(&loaded, 13, 17).hint.as_deref(),
        Some("did you mean `job_up:sum`?")
    );
}

#[test]
fn alerting_fields_on_a_recording_rule_are_rejected() {
    let loaded = fixture("record_fields.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/field-on-record", 6, 9),
            ("prom/field-on-record", 7, 9),
            ("prom/field-on-record", 8, 9),
            ("prom/field-on-record", 12, 9),
        ],
        "{}",
        rendered(&loaded)
    );
    assert_eq!(
        at(&loaded, 6, 9).message,
        "invalid field 'for' in recording rule"
    );
    assert_eq!(
        at(&loaded, 7, 9).message,
        "invalid field 'keep_firing_for' in recording rule"
    );
    assert_eq!(
        at(&loaded, 8, 9).message,
        "invalid field 'annotations' in recording rule"
    );
    // `for: 0s` does nothing, which promtool accepts: a warning only.
    assert_eq!(at(&loaded, 12, 9).level, Level::Warning);
}

#[test]
fn invalid_durations_report_why() {
    let loaded = fixture("durations.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/invalid-duration", 3, 15),
            ("prom/invalid-duration", 4, 19),
            ("prom/invalid-duration", 8, 14),
            ("prom/invalid-duration", 11, 26),
            ("prom/wrong-type", 14, 14),
        ],
        "{}",
        rendered(&loaded)
    );
    assert!(at(&loaded, 3, 15).message.contains("unknown unit `x`"));
    assert!(at(&loaded, 8, 14).message.contains("missing a unit"));
    assert!(at(&loaded, 11, 26).message.contains("largest to smallest"));
    assert_eq!(span_text(&loaded, at(&loaded, 11, 26)), "30m1h");
}

#[test]
fn promql_errors_point_inside_every_yaml_string_style() {
    let loaded = fixture("promql.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("promql/syntax", 5, 20),
            ("promql/syntax", 7, 41),
            ("promql/syntax", 9, 57),
            ("promql/syntax", 13, 38),
            ("promql/syntax", 19, 11),
            ("promql/syntax", 21, 22),
            ("promql/syntax", 23, 29),
        ],
        "{}",
        rendered(&loaded)
    );
    // Plain scalar: the argument that should be a range vector.
    let d = at(&loaded, 5, 20);
    assert_eq!(span_text(&loaded, d), "http_requests_total");
    assert_eq!(
        d.message,
        "invalid PromQL: expected type range vector in call to function \"rate\", got instant vector"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("add a range: `http_requests_total[5m]`")
    );
    // Single-quoted: what was expected.
    assert!(at(&loaded, 7, 41).message.contains("expected `,` or `)`"));
    // Double-quoted with `\n` and `\"` escapes: the unquoted value on the
    // expression's fourth line, found inside the one-line YAML string.
    let d = at(&loaded, 9, 57);
    assert_eq!(span_text(&loaded, d), "node");
    assert!(d.message.contains("expected string"));
    // Literal block: the Grafana variable.
    let d = at(&loaded, 13, 38);
    assert!(
        d.hint
            .as_deref()
            .is_some_and(|h| h.contains("$__rate_interval"))
    );
    // Folded block: `on(...)` against a scalar, on the third line.
    assert_eq!(span_text(&loaded, at(&loaded, 19, 11)), "on");
    assert_eq!(
        at(&loaded, 23, 29).hint.as_deref(),
        Some("did you mean `rate`?")
    );
    // Broken rules stay in the model without a parsed expression.
    assert!(
        rule(&loaded, "PlainScalar")
            .query
            .promql()
            .is_some_and(|q| q.ast.is_none())
    );
    assert_eq!(loaded.rules.rules().count(), 7);
}

#[test]
fn template_errors_point_inside_labels_and_annotations() {
    let loaded = fixture("templates.yml");
    assert_eq!(
        front_end(&loaded),
        [
            ("template/syntax", 7, 47),
            ("template/syntax", 9, 84),
            ("template/syntax", 12, 20),
        ],
        "{}",
        rendered(&loaded)
    );
    // Single-quoted: the lone `}`.
    let d = at(&loaded, 7, 47);
    assert_eq!(span_text(&loaded, d), "}");
    assert!(
        d.message
            .starts_with("invalid template in label `instance_copy`: "),
        "{}",
        d.message
    );
    // Double-quoted, after a `\n` escape: still the exact `}`.
    assert_eq!(span_text(&loaded, at(&loaded, 9, 84)), "}");
    assert!(at(&loaded, 9, 84).message.contains("annotation `summary`"));
    // Literal block, second line: the `{{if}}` without `{{end}}`.
    assert!(at(&loaded, 12, 20).message.contains("{{end}}"));
    // Recording rules are not templated, so `{{` in their labels is fine.
    assert!(
        rule(&loaded, "job:up:sum").labels[0]
            .value
            .starts_with("{{")
    );
}

#[test]
fn duplicate_keys_are_errors_with_the_first_one_related() {
    let loaded = fixture("duplicate_keys.yml");
    assert_eq!(
        front_end(&loaded),
        [("prom/duplicate-key", 6, 9), ("prom/duplicate-key", 9, 11)],
        "{}",
        rendered(&loaded)
    );
    assert_eq!(locate(&loaded, at(&loaded, 6, 9).related[0].0), (5, 9));
    let r = rule(&loaded, "Dup");
    assert_eq!(r.query.promql().map(|q| q.expr.as_str()), Some("up == 0"));
    assert_eq!(
        pair(&r.labels, "severity").map(|p| p.value.as_str()),
        Some("warning")
    );
}

// ----- the model from valid files --------------------------------------------------------------

#[test]
fn valid_file_builds_the_model() {
    let loaded = fixture("happy.yml");
    assert!(loaded.diagnostics.is_empty(), "{}", rendered(&loaded));
    let groups = &loaded.rules.groups;
    assert_eq!(groups.len(), 2);

    let api = &groups[0];
    assert_eq!(api.name, "api");
    assert_eq!(locate(&loaded, api.span), (3, 11));
    assert_eq!(api.interval, Some(Duration::secs(30)));
    assert_eq!(api.interval_span.map(|s| locate(&loaded, s)), Some((4, 15)));
    assert_eq!(api.limit, 10);
    assert!(api.labels.is_empty());
    assert_eq!(api.rules.len(), 4);

    let down = rule(&loaded, "ApiDown");
    assert_eq!(locate(&loaded, down.span), (7, 16));
    let q = down.query.promql().expect("PromQL query");
    assert_eq!(q.expr, "up{job=\"api\"} == 0");
    assert_eq!(locate(&loaded, q.span), (8, 15));
    assert!(q.ast.is_some() && q.datasource.is_none());
    let labels: Vec<(&str, &str)> = down
        .labels
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(labels, [("severity", "critical"), ("team", "api")]);
    assert_eq!(locate(&loaded, down.labels[0].name_span), (12, 11));
    assert_eq!(locate(&loaded, down.labels[0].value_span), (12, 21));
    let RuleKind::Alert(spec) = &down.kind else {
        panic!("ApiDown is an alert")
    };
    assert_eq!(spec.severities.len(), 1);
    assert_eq!(spec.severities[0].level, SeverityLevel::Critical);
    assert_eq!(spec.severities[0].for_, Duration::secs(300));
    assert_eq!(
        spec.severities[0].for_span.map(|s| locate(&loaded, s)),
        Some((9, 14))
    );
    assert_eq!(spec.keep_firing_for, Duration::secs(600));
    assert!(spec.severity_label_fixed);
    assert!(spec.resolve.is_none());
    let annotations: Vec<&str> = spec.annotations.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(annotations, ["summary", "runbook_url"]);
    assert_eq!(
        spec.annotations[0].value,
        "API {{ $labels.instance }} is down"
    );
    assert_eq!(locate(&loaded, spec.annotations[0].value_span), (15, 20));

    // An unknown severity keeps its label and evaluates as a warning.
    let slow = rule(&loaded, "ApiSlow");
    let spec = slow.alert().expect("alert");
    assert_eq!(spec.severities[0].level, SeverityLevel::Warning);
    assert_eq!(spec.severities[0].for_, Duration(0));
    assert!(spec.severities[0].for_span.is_none());
    assert_eq!(spec.keep_firing_for, Duration(0));
    assert_eq!(
        pair(&slow.labels, "severity").map(|p| p.value.as_str()),
        Some("page")
    );
    let q = slow.query.promql().expect("PromQL");
    assert!(q.expr.starts_with("histogram_quantile(0.99") && q.expr.ends_with("> 1\n"));
    assert_eq!(locate(&loaded, q.span), (19, 11));

    assert_eq!(
        rule(&loaded, "ApiInfo")
            .alert()
            .map(|a| a.severities[0].level),
        Some(SeverityLevel::Info)
    );

    let record = rule(&loaded, "job:http_requests:rate5m");
    assert!(matches!(record.kind, RuleKind::Record));
    assert_eq!(locate(&loaded, record.span), (26, 17));
    let labels: Vec<&str> = record.labels.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(labels, ["source"]);

    let defaults = &groups[1];
    assert_eq!((defaults.interval, defaults.limit), (None, 0));
    let plain = rule(&loaded, "NoLabels");
    assert!(plain.labels.is_empty());
    assert_eq!(
        plain.alert().map(|a| a.severities[0].level),
        Some(SeverityLevel::Warning)
    );
}

#[test]
fn group_labels_are_kept_and_merged_into_rules() {
    let loaded = fixture("newer_group_fields.yml");
    assert!(loaded.diagnostics.is_empty(), "{}", rendered(&loaded));
    let group = &loaded.rules.groups[0];
    let names: Vec<&str> = group.labels.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["team", "tier"]);
    // The rule's own `team` wins over the group's; `tier` comes from the group.
    let down = rule(&loaded, "ApiDown");
    let labels: Vec<(&str, &str)> = down
        .labels
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("severity", "critical"),
            ("team", "api"),
            ("tier", "backend")
        ]
    );
    let record = rule(&loaded, "job:up:sum");
    let team = pair(&record.labels, "team").expect("group label merged");
    assert_eq!(
        (team.value.as_str(), locate(&loaded, team.value_span)),
        ("platform", (6, 13))
    );
}

#[test]
fn anchors_aliases_and_merge_keys_resolve() {
    let loaded = fixture("anchors.yml");
    assert!(loaded.diagnostics.is_empty(), "{}", rendered(&loaded));
    for name in ["First", "Second", "Merged"] {
        let r = rule(&loaded, name);
        assert_eq!(
            r.query.promql().map(|q| q.expr.as_str()),
            Some("up == 0"),
            "{name}"
        );
        assert_eq!(
            pair(&r.labels, "severity").map(|p| p.value.as_str()),
            Some("critical")
        );
    }
    assert_eq!(
        pair(&rule(&loaded, "Merged").labels, "extra").map(|p| p.value.as_str()),
        Some("yes")
    );
}

// ----- input that must never crash or hang ----------------------------------------------------

fn load_text(text: &str) -> Loaded {
    load_sources(&[("input.yml", text)])
}

#[test]
fn empty_and_null_files_load_nothing_quietly() {
    for text in [
        "",
        "\n",
        "# only a comment\n",
        "groups:\n",
        "groups: null\n",
        "groups: []\n",
        "---\n",
    ] {
        let loaded = load_text(text);
        assert!(
            loaded.diagnostics.is_empty(),
            "{text:?}: {}",
            rendered(&loaded)
        );
        assert!(loaded.rules.groups.is_empty());
    }
    let loaded = load_text("groups:\n  - name: g\n    rules:\n");
    assert!(loaded.diagnostics.is_empty(), "{}", rendered(&loaded));
    assert_eq!(loaded.rules.groups.len(), 1);
}

#[test]
fn a_file_that_is_not_a_mapping_says_what_is_expected() {
    let loaded = load_text("- name: g\n  rules: []\n");
    assert_eq!(front_end(&loaded), [("prom/wrong-type", 1, 1)]);
    assert!(loaded.diagnostics[0].message.contains("`groups:`"));
    let loaded = load_text("groups:\n  name: g\n");
    assert_eq!(front_end(&loaded), [("prom/wrong-type", 2, 3)]);
}

#[test]
fn every_truncation_of_a_valid_file_loads_without_panicking() {
    for name in ["happy.yml", "promql.yml", "anchors.yml"] {
        let text = std::fs::read_to_string(fixture_path(name)).expect("fixture");
        for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            let loaded = load_text(&text[..end]);
            for d in &loaded.diagnostics {
                assert!(
                    d.span.start <= d.span.end && d.span.end <= end,
                    "{name}[..{end}]: {d:?}"
                );
            }
        }
    }
}

#[test]
fn scrambled_input_loads_without_panicking() {
    // A fixed pseudo-random sequence of YAML-ish fragments.
    let pieces = [
        "groups:",
        "\n",
        "  ",
        "- ",
        "name: ",
        "rules:",
        "alert: ",
        "expr: ",
        "record: ",
        "for: ",
        "labels:",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "'",
        "|",
        ">-",
        "&a ",
        "*a",
        "<<: ",
        "#",
        "\t",
        "up == 0",
        "rate(x[5m",
        ")",
        "\\",
        "{{ $value",
        "5m",
        "1e400",
        "-",
        "é",
        "\u{feff}",
        "\r\n",
        "!!int ",
        "? ",
        "%YAML 1.2\n",
        "---\n",
        "...\n",
        "null",
        "~",
    ];
    let mut seed: u64 = 0x5eed;
    for _ in 0..1500 {
        let mut text = String::new();
        for _ in 0..(seed % 40) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let _ = load_text(&text);
    }
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let mut text = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("groups: *a9\n");
    let started = Instant::now();
    let loaded = load_text(&text);
    assert!(
        started.elapsed() < StdDuration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let codes: Vec<&str> = ours(&loaded).map(|d| d.code).collect();
    assert_eq!(codes, ["prom/yaml-limit"], "{}", rendered(&loaded));
}

/// Issue 22 item 8: a valid file of ordinary rules with more than 250,000
/// YAML nodes (serde-saphyr's default budget, about 3 MB of rules) was
/// refused as "YAML too large"; promtool and Prometheus load it.
#[test]
fn a_large_valid_file_loads_as_promtool_loads_it() {
    let mut text = String::from("groups:\n- name: many\n  rules:\n");
    for i in 0..4_000 {
        text.push_str(&format!(
            "  - alert: A{i}\n    expr: up == 0\n    labels:\n"
        ));
        for l in 0..40 {
            text.push_str(&format!("      l{l}: v{i}\n"));
        }
    }
    let loaded = load_text(&text);
    assert!(ours(&loaded).next().is_none(), "{}", rendered(&loaded));
    assert_eq!(loaded.rules.rules().count(), 4_000);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("many.yml");
    std::fs::write(&path, &text).expect("write");
    let out = std::process::Command::new("/usr/bin/promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("run /usr/bin/promtool");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("4000 rules found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let loaded = load_text(&"[".repeat(100_000));
    assert_eq!(
        ours(&loaded).map(|d| d.code).collect::<Vec<_>>(),
        ["prom/yaml-limit"]
    );

    let expr = format!("{}up{}", "(".repeat(5000), ")".repeat(5000));
    let text =
        format!("groups:\n  - name: g\n    rules:\n      - alert: Deep\n        expr: {expr}\n");
    let loaded = load_text(&text);
    assert_eq!(front_end(&loaded), [("promql/syntax", 5, 15)]);
    assert!(loaded.diagnostics[0].message.contains("nested too deeply"));
}

#[test]
fn huge_numbers_are_errors_not_overflows() {
    let text = "groups:\n  - name: g\n    limit: 99999999999999999999999\n    rules:\n      - alert: A\n        expr: up > 1e999\n        for: 99999999999999999999y\n";
    let loaded = load_text(text);
    assert_eq!(
        front_end(&loaded),
        [
            ("prom/invalid-limit", 3, 12),
            ("prom/invalid-duration", 7, 14)
        ],
        "{}",
        rendered(&loaded)
    );
    assert_eq!(
        rule(&loaded, "A").query.promql().map(|q| q.expr.as_str()),
        Some("up > 1e999")
    );
}

#[test]
fn non_utf8_bytes_are_loaded_lossily() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("latin1.yml");
    let mut bytes = b"groups:\n  - name: g\n    rules:\n      - alert: Caf".to_vec();
    bytes.push(0xe9); // 'é' in Latin-1, invalid UTF-8
    bytes.extend_from_slice(b"\n        expr: up == 0\n        labels:\n          team: \xff\n");
    std::fs::write(&path, bytes).expect("write");
    let loaded = load_paths(&[path], &LoadOptions::default());
    assert!(!loaded.has_errors(), "{}", rendered(&loaded));
    assert_eq!(loaded.rules.rules().count(), 1);
    assert_eq!(rule(&loaded, "Caf\u{fffd}").labels[0].value, "\u{fffd}");
}

#[test]
fn a_second_yaml_document_is_ignored_with_a_warning() {
    let text =
        "groups:\n  - name: first\n    rules: []\n---\ngroups:\n  - name: second\n    rules: []\n";
    let loaded = load_text(text);
    let found = front_end(&loaded);
    assert_eq!(found.len(), 1, "{}", rendered(&loaded));
    assert_eq!(found[0].0, "prom/multiple-documents");
    assert_eq!(loaded.diagnostics[0].level, Level::Warning);
    let names: Vec<&str> = loaded
        .rules
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["first"]);
}

#[test]
fn crlf_and_bom_keep_positions_right() {
    let text = "\u{feff}groups:\r\n  - name: g\r\n    rules:\r\n      - alert: A\r\n        expr: |\r\n          sum(rate(x[5m]) by (job)\r\n";
    let loaded = load_text(text);
    let d = ours(&loaded).next().expect("a PromQL error");
    assert_eq!(d.code, "promql/syntax", "{}", rendered(&loaded));
    // `by` inside `sum(...)`, where `,` or `)` was expected.
    assert_eq!(locate(&loaded, d.span), (6, 27));
    assert_eq!(span_text(&loaded, d), "by");
    assert!(d.message.contains("expected `,`, `)`"), "{}", d.message);
}

// ----- promtool agrees --------------------------------------------------------------------------

/// Fields newer than `version` (promtool's `major.minor`) that a
/// `newer_*.yml` fixture uses, as promtool names them when it rejects them.
const NEWER_FIELDS: &[&str] = &[
    "field query_offset not found in type rulefmt.RuleGroup",
    "field labels not found in type rulefmt.RuleGroup",
];

/// When promtool is installed, it must accept exactly the fixtures this
/// loader accepts (warnings aside). A promtool older than 3.0 does not know
/// the group fields in `newer_*.yml`, and must reject those files for that
/// reason only.
#[test]
fn promtool_agrees_on_every_fixture() {
    let version = match std::process::Command::new("promtool")
        .arg("--version")
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            println!("skipped: promtool is not installed");
            return;
        }
    };
    let major: u32 = version
        .split("version ")
        .nth(1)
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_path(""))
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 15);
    for path in paths {
        let ours_ok =
            !load_paths(std::slice::from_ref(&path), &LoadOptions::default()).has_errors();
        let out = std::process::Command::new("promtool")
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .expect("run promtool");
        let theirs = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let newer = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("newer_"));
        if newer && major < 3 {
            assert!(ours_ok, "{} should load", path.display());
            let complaints: Vec<&str> = theirs
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("line "))
                .collect();
            assert!(
                !complaints.is_empty()
                    && complaints
                        .iter()
                        .all(|c| NEWER_FIELDS.iter().any(|f| c.ends_with(f))),
                "{}: promtool {version} objects to more than the newer fields:\n{theirs}",
                path.display()
            );
            continue;
        }
        assert_eq!(
            ours_ok,
            out.status.success(),
            "{}: klaxon {} it, promtool {} it:\n{theirs}",
            path.display(),
            if ours_ok { "accepts" } else { "rejects" },
            if out.status.success() {
                "accepts"
            } else {
                "rejects"
            },
        );
    }
}
