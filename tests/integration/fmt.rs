//! The DSL formatter: canonical layout, idempotency, and lossless round trips
//! over every rule pack in `rules/` and every example in `docs/dsl.md`.

use std::path::{Path, PathBuf};

use klaxon::diag::SourceMap;
use klaxon::lang::ast::{self, AnnotationForm, RuleDef};
use klaxon::lang::fmt::{format_file, format_source};

/// Parses `text`, failing the test with rendered diagnostics on any error.
fn parse_clean(path: &str, text: &str) -> ast::File {
    let (file, diags) = klaxon::lang::parse(0, text);
    if !diags.is_empty() {
        let mut sources = SourceMap::new();
        sources.add(path, text.to_string());
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&sources)).collect();
        panic!(
            "{path} does not parse cleanly:\n{}\n--- text ---\n{text}",
            rendered.join("\n")
        );
    }
    file
}

/// Puts the parts the formatter orders canonically into canonical order:
/// severity lines by level, annotations by kind (summary, description,
/// runbook, free); strips trailing blanks from comments.
fn canonical_order(file: &mut ast::File) {
    fn trim(comments: &mut [String]) {
        for c in comments {
            *c = c.trim_end().to_string();
        }
    }
    fn form_rank(form: AnnotationForm) -> u8 {
        match form {
            AnnotationForm::Summary => 0,
            AnnotationForm::Description => 1,
            AnnotationForm::Runbook => 2,
            AnnotationForm::Free => 3,
        }
    }
    fn route(r: &mut ast::Route) {
        trim(&mut r.comments);
        r.routes.iter_mut().for_each(route);
    }
    trim(&mut file.trailing_comments);
    for item in &mut file.items {
        match item {
            ast::Item::Group(g) => {
                trim(&mut g.comments);
                for rule in &mut g.rules {
                    match rule {
                        RuleDef::Alert(a) => {
                            trim(&mut a.comments);
                            a.severities.sort_by_key(|s| s.level.node);
                            a.annotations.sort_by_key(|x| form_rank(x.form));
                        }
                        RuleDef::Record(r) => trim(&mut r.comments),
                    }
                }
            }
            ast::Item::Datasource(d) => trim(&mut d.comments),
            ast::Item::Receiver(r) => trim(&mut r.comments),
            ast::Item::Route(r) => route(r),
            ast::Item::Inhibit(i) => trim(&mut i.comments),
            ast::Item::TimeWindow(t) => trim(&mut t.comments),
            ast::Item::Include(i) => trim(&mut i.comments),
        }
    }
}

/// The tree as text with every span blanked, so two trees compare equal
/// when they differ only in where things were written.
fn without_spans(file: &ast::File) -> String {
    let debug = format!("{file:#?}");
    let span = regex::Regex::new(r"Span \{\s*file: \d+,\s*start: \d+,\s*end: \d+,?\s*\}")
        .unwrap_or_else(|e| panic!("bad regex: {e}"));
    span.replace_all(&debug, "Span").into_owned()
}

/// Shows the first differing line of two long texts.
fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  left:  {x}\n  right: {y}", i + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}

/// Formats `text` and checks the three properties every input must have:
/// the output parses, to the same tree modulo spans and canonical order, and
/// formatting the output again changes nothing. Returns the output.
fn assert_round_trip(path: &str, text: &str) -> String {
    let mut original = parse_clean(path, text);
    let formatted = format_file(&original);
    let mut reparsed = parse_clean(&format!("{path} (formatted)"), &formatted);
    let again = format_file(&reparsed);
    assert!(
        formatted == again,
        "{path}: formatting is not idempotent; {}\n--- first ---\n{formatted}",
        first_difference(&formatted, &again)
    );
    canonical_order(&mut original);
    canonical_order(&mut reparsed);
    let (before, after) = (without_spans(&original), without_spans(&reparsed));
    assert!(
        before == after,
        "{path}: the formatted text parses to a different tree; {}\n--- formatted ---\n{formatted}",
        first_difference(&before, &after)
    );
    formatted
}

const MESSY: &str = r##"# pack header
group   kafka { every 30s labels { team = "streaming" }
  alert KafkaConsumerLag {
    annotations { dashboard = "https://grafana.example.com/d/kafka" }
    critical when value > 100000 for 5m
    summary "Lag of {{ $labels.consumergroup }} is {{ $value }}"
    query prometheus `sum by (consumergroup, topic) (kafka_consumergroup_lag)`
    nodata after 15m warning
    resolve when value < 500
    warning when value > 1e3 for 10m
    labels { component = "consumer", "owner" = "streaming-oncall@example.com", tier = "1" }
  }
  # recording
  record "job:lag:sum" { query prometheus `sum(kafka_consumergroup_lag)` }
  limit 10
}
group "MySQL (>80%)" {
  alert "MysqlTooManyConnections(>80%)" {
    query prometheus "max_over_time(mysql_global_status_threads_connected[1m]) / `x`"
    info when value > 0.8 and value <= 0.9 or value > 95.5
    keep_firing for 1h30m
    description "line one\nline \"two\"\t\\"
    runbook "https://runbooks.example.com/mysql"
  }
}
datasource prometheus default { url env("PROMETHEUS_URL") timeout 10s }
receiver oncall { slack { token env("SLACK_BOT_TOKEN") channel "#oncall" } }
route { group_by alertname, cluster receiver oncall route { match severity = "critical" receiver oncall continue } }
inhibit { source severity = "critical" target severity = "warning" equal alertname, cluster }
include "rules/*.rules"
# trailing
"##;

const CANONICAL: &str = r##"# pack header
group kafka {
  every 30s
  labels { team = "streaming" }
  limit 10

  alert KafkaConsumerLag {
    query prometheus `sum by (consumergroup, topic) (kafka_consumergroup_lag)`
    warning  when value > 1000   for 10m
    critical when value > 100000 for 5m
    resolve  when value < 500
    nodata   after 15m warning
    labels {
      component = "consumer"
      owner = "streaming-oncall@example.com"
      tier = "1"
    }
    summary "Lag of {{ $labels.consumergroup }} is {{ $value }}"
    annotations { dashboard = "https://grafana.example.com/d/kafka" }
  }

  # recording
  record job:lag:sum {
    query prometheus `sum(kafka_consumergroup_lag)`
  }
}

group "MySQL (>80%)" {
  alert "MysqlTooManyConnections(>80%)" {
    query prometheus "max_over_time(mysql_global_status_threads_connected[1m]) / `x`"
    info when value > 0.8 and value <= 0.9 or value > 95.5
    keep_firing for 1h30m
    description "line one\nline \"two\"\t\\"
    runbook "https://runbooks.example.com/mysql"
  }
}

datasource prometheus default {
  url env("PROMETHEUS_URL")
  timeout 10s
}

receiver oncall {
  slack {
    token env("SLACK_BOT_TOKEN")
    channel "#oncall"
  }
}

route {
  receiver oncall
  group_by alertname, cluster
  route {
    match severity = "critical"
    receiver oncall
    continue
  }
}

inhibit {
  source severity = "critical"
  target severity = "warning"
  equal alertname, cluster
}

include "rules/*.rules"

# trailing
"##;

#[test]
fn a_messy_file_prints_in_canonical_layout() {
    let formatted = format_source(0, MESSY).unwrap_or_else(|d| panic!("{d:#?}"));
    assert!(
        formatted == CANONICAL,
        "{}\n--- got ---\n{formatted}",
        first_difference(CANONICAL, &formatted)
    );
}

#[test]
fn the_canonical_sample_is_a_fixed_point() {
    let formatted = format_source(0, CANONICAL).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(formatted, CANONICAL);
    assert_round_trip("messy sample", MESSY);
}

#[test]
fn label_sets_go_inline_up_to_80_columns() {
    // `    labels { k = "…" }` at exactly 80 columns stays inline; one more
    // character breaks it into one pair per line.
    let frame = "    labels { k = \"\" }".len();
    let fits = "v".repeat(80 - frame);
    let text =
        |v: &str| format!("group g {{\n  alert A {{\n    labels {{ k = \"{v}\" }}\n  }}\n}}\n");
    let inline = format_source(0, &text(&fits)).unwrap_or_else(|d| panic!("{d:#?}"));
    assert!(
        inline.contains(&format!("    labels {{ k = \"{fits}\" }}\n")),
        "{inline}"
    );
    let long = format!("{fits}v");
    let broken = format_source(0, &text(&long)).unwrap_or_else(|d| panic!("{d:#?}"));
    assert!(
        broken.contains(&format!("    labels {{\n      k = \"{long}\"\n    }}\n")),
        "{broken}"
    );
}

/// Every word with a meaning somewhere in the grammar.
const KEYWORDS: &[&str] = &[
    "group",
    "datasource",
    "receiver",
    "route",
    "inhibit",
    "time_window",
    "include",
    "every",
    "labels",
    "limit",
    "alert",
    "record",
    "query",
    "prometheus",
    "elasticsearch",
    "info",
    "warning",
    "critical",
    "when",
    "for",
    "resolve",
    "keep_firing",
    "nodata",
    "ok",
    "keep",
    "after",
    "summary",
    "description",
    "runbook",
    "annotations",
    "value",
    "present",
    "and",
    "or",
    "where",
    "over",
    "by",
    "count",
    "avg",
    "min",
    "max",
    "sum",
    "cardinality",
    "percentile",
    "match",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "continue",
    "mute_during",
    "active_during",
    "source",
    "target",
    "equal",
    "slack",
    "email",
    "webhook",
    "env",
    "file",
    "url",
];

#[test]
fn names_spelled_like_keywords_print_bare_and_parse_back() {
    let long = "y".repeat(70);
    for k in KEYWORDS {
        let text = format!(
            r#"group {k} {{
  labels {{
    {k} = "x"
    b = "{long}"
  }}

  alert {k} {{
    query elasticsearch {k} avg {k} where `x` over 5m by {k}, {k}
    warning when present
    labels {{ {k} = "x" }}
    annotations {{
      {k} = "x"
      b = "{long}"
    }}
  }}

  record {k} {{
    query prometheus {k} `up`
  }}
}}

datasource prometheus {k} {{
  url "x"
}}

receiver {k} {{
  slack {{
    headers {{ {k} = "x" }}
  }}
}}

route {{
  match {k} = "x", {k} =~ "y"
  receiver {k}
  group_by {k}, {k}
  mute_during {k}, {k}
}}

inhibit {{
  source {k} = "x"
  target {k} != "x"
  equal {k}, {k}
}}

time_window {k} {{
  times "09:00-17:00"
}}
"#
        );
        let formatted = assert_round_trip(&format!("keyword `{k}`"), &text);
        assert_eq!(formatted, text, "keyword `{k}`");
    }
}

#[test]
fn nested_conditions_keep_their_grouping() {
    let text = "group g {\n  alert A {\n    query prometheus `up`\n    critical when (value < 1 or value > 5) and value != 3 for 1m\n    resolve  when value > 1 and (value < 4 and value >= 2)\n  }\n}\n";
    let formatted = assert_round_trip("conditions", text);
    assert_eq!(formatted, text);
}

#[test]
fn a_file_with_syntax_errors_is_refused_not_rewritten() {
    let text = "group g {\n  alert A {\n    critcal when value > 1\n  }\n}\n";
    let diags = format_source(0, text).expect_err("a syntax error must refuse formatting");
    let mut sources = SourceMap::new();
    sources.add("bad.rules", text.to_string());
    let first = diags
        .first()
        .unwrap_or_else(|| panic!("no diagnostic for a syntax error"));
    assert_eq!(sources.locate(first.span), ("bad.rules".to_string(), 3, 5));
}

#[test]
fn empty_blocks_and_multiline_queries_print_stably() {
    let text = "group empty {}\n\ngroup g {\n  record r {\n    query prometheus `sum by (job) (\n  rate(x[5m])\n)`\n  }\n}\n";
    let formatted = assert_round_trip("multiline", text);
    assert_eq!(formatted, text);
}

/// The repository root (this crate's manifest directory).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rules` file under `dir` (relative to the repository root).
fn rules_files(dir: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(repo_root().join(dir))
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    found.sort();
    found
}

/// Every ```klaxon fenced block of a markdown file, with its first line number.
fn klaxon_blocks(path: &Path) -> Vec<(usize, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_start().starts_with("```klaxon") => {
                current = Some((i + 2, String::new()));
            }
            None => {}
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn every_rule_pack_round_trips() {
    let packs = rules_files("rules");
    assert!(!packs.is_empty(), "no rule packs found under rules/");
    for path in packs {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_round_trip(&path.display().to_string(), &text);
    }
}

#[test]
fn every_valid_test_fixture_round_trips() {
    for path in rules_files("tests/fixtures") {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Fixtures with syntax errors exist to test the errors.
        if klaxon::lang::parse(0, &text).1.is_empty() {
            assert_round_trip(&path.display().to_string(), &text);
        }
    }
}

#[test]
fn every_example_in_the_language_reference_round_trips() {
    let doc = repo_root().join("docs/dsl.md");
    let blocks = klaxon_blocks(&doc);
    assert!(!blocks.is_empty(), "no ```klaxon examples in docs/dsl.md");
    for (line, block) in blocks {
        assert_round_trip(&format!("docs/dsl.md:{line}"), &block);
    }
}
