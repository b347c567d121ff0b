//! `klaxon import prometheus` over the whole public rule corpus: every file
//! converts, the DSL loads with no error and no lint error, the lints find the
//! same things in both, and every rule means what it meant — same group,
//! interval, name, labels, annotations, `for`, `keep_firing_for` and an equal
//! PromQL expression once the threshold is put back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use klaxon::diag::Level;
use klaxon::import::{ImportStats, prometheus_to_dsl};
use klaxon::model::load::{Loaded, load_sources};
use klaxon::model::{Rule, RuleKind};
use klaxon::vocab::condition::Condition;
use promql_parser::parser::{Expr, NumberLiteral};

fn corpus_files() -> Vec<PathBuf> {
    crate::harness::files::corpus_rule_files()
}

fn render(loaded: &Loaded) -> String {
    loaded
        .diagnostics
        .iter()
        .map(|d| d.render(&loaded.sources))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The expression with a comparison against a constant at its top (looking
/// through parentheses) written as `rest OP constant`, constant on the right:
/// the one rewrite the importer makes.
fn normalized(expr: &Expr) -> String {
    fn constant(e: &Expr) -> Option<f64> {
        match e {
            Expr::NumberLiteral(n) => Some(n.val),
            Expr::Paren(p) => constant(&p.expr),
            Expr::Unary(u) => constant(&u.expr).map(|v| -v),
            _ => None,
        }
    }
    let mut top = expr;
    while let Expr::Paren(p) = top {
        top = &p.expr;
    }
    if let Expr::Binary(b) = top {
        let op = b.op.to_string();
        let filtering = b.modifier.as_ref().is_none_or(|m| !m.return_bool);
        let flipped = match op.as_str() {
            "<" => ">",
            ">" => "<",
            "<=" => ">=",
            ">=" => "<=",
            other => other,
        };
        if filtering && b.op.is_comparison_operator() {
            match (constant(&b.lhs), constant(&b.rhs)) {
                (None, Some(v)) => {
                    return format!("{} {op} {}", b.lhs, NumberLiteral::new(v));
                }
                (Some(v), None) => {
                    return format!("{} {flipped} {}", b.rhs, NumberLiteral::new(v));
                }
                _ => {}
            }
        }
    }
    expr.to_string()
}

fn parse_promql(text: &str, what: &str) -> Expr {
    promql_parser::parser::parse(text).unwrap_or_else(|e| panic!("{what}: `{text}`: {e}"))
}

/// The DSL rule's query and condition put back together into one PromQL
/// expression, parsed, printed.
fn reassembled(rule: &Rule, what: &str) -> String {
    let query = rule
        .query
        .promql()
        .unwrap_or_else(|| panic!("{what}: not a PromQL query"));
    let condition = rule
        .alert()
        .and_then(|a| a.severities.first())
        .map(|s| &s.condition);
    match condition {
        Some(Condition::Compare(op, n)) => {
            let number = klaxon::lang::fmt::number(*n);
            let text = format!("{}\n{} {number}", query.expr, op.as_str());
            parse_promql(&text, what).to_string()
        }
        Some(Condition::Present) | None => parse_promql(&query.expr, what).to_string(),
        Some(other) => panic!("{what}: the importer wrote a compound condition {other:?}"),
    }
}

fn annotations(rule: &Rule) -> BTreeMap<String, String> {
    rule.alert()
        .map(|a| {
            a.annotations
                .iter()
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn level(rule: &Rule) -> Option<klaxon::vocab::severity::SeverityLevel> {
    rule.alert()
        .and_then(|a| a.severities.first())
        .map(|s| s.level)
}

fn for_millis(rule: &Rule) -> Option<u64> {
    rule.alert()
        .and_then(|a| a.severities.first())
        .map(|s| s.for_.0)
}

/// Checks one imported file rule by rule against the original.
fn assert_equivalent(path: &Path, original: &Loaded, imported: &Loaded) {
    let file = path.display();
    let before: Vec<_> = original.rules.rules().collect();
    let after: Vec<_> = imported.rules.rules().collect();
    assert_eq!(before.len(), after.len(), "{file}: rule count differs");
    for ((g0, r0), (g1, r1)) in before.iter().zip(&after) {
        let what = format!("{file}: group `{}` rule `{}`", g0.name, r0.name);
        assert_eq!(g0.name, g1.name, "{what}: group name");
        assert_eq!(g0.interval, g1.interval, "{what}: group interval");
        assert_eq!(g0.limit, g1.limit, "{what}: group limit");
        assert_eq!(r0.name, r1.name, "{what}: rule name");
        assert_eq!(
            matches!(r0.kind, RuleKind::Alert(_)),
            matches!(r1.kind, RuleKind::Alert(_)),
            "{what}: alert or record"
        );
        assert_eq!(
            r0.static_labels(level(r0)),
            r1.static_labels(level(r1)),
            "{what}: labels"
        );
        assert_eq!(annotations(r0), annotations(r1), "{what}: annotations");
        assert_eq!(for_millis(r0), for_millis(r1), "{what}: for");
        assert_eq!(
            r0.alert().map(|a| a.keep_firing_for),
            r1.alert().map(|a| a.keep_firing_for),
            "{what}: keep_firing_for"
        );
        let q0 = r0
            .query
            .promql()
            .and_then(|q| q.ast.as_ref())
            .unwrap_or_else(|| panic!("{what}: the original did not parse"));
        assert_eq!(normalized(q0), reassembled(r1, &what), "{what}: expression");
    }
}

/// `(level, lint id)` of every lint finding, counted.
fn lint_counts(loaded: &Loaded) -> BTreeMap<(Level, &'static str), usize> {
    let mut counts = BTreeMap::new();
    for d in klaxon::check::lint(loaded) {
        *counts.entry((d.level, d.code)).or_insert(0) += 1;
    }
    counts
}

/// The imported DSL has no lint error, and the lints find in it exactly what
/// they find in the original: same ids, same levels, same counts.
fn assert_same_lints(path: &Path, original: &Loaded, imported: &Loaded) {
    let after = lint_counts(imported);
    let errors: Vec<String> = klaxon::check::lint(imported)
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| d.render(&imported.sources))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: lint errors in the imported DSL:\n{}",
        path.display(),
        errors.join("\n")
    );
    assert_eq!(
        lint_counts(original),
        after,
        "{}: the lints see the imported DSL differently from the original",
        path.display()
    );
}

#[test]
fn the_whole_corpus_imports_loads_and_means_the_same() {
    let files = corpus_files();
    assert!(!files.is_empty(), "no corpus files found");
    let mut total = ImportStats::default();
    for path in &files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let imported = prometheus_to_dsl(path, &text).unwrap_or_else(|failure| {
            panic!("{} was refused:\n{}", path.display(), failure.render())
        });
        total.add(imported.stats);

        let dsl_path = path.with_extension("rules").display().to_string();
        let dsl = load_sources(&[(dsl_path.as_str(), imported.dsl.as_str())]);
        assert!(
            !dsl.has_errors(),
            "{}: the imported DSL does not load:\n{}\n--- DSL ---\n{}",
            path.display(),
            render(&dsl),
            imported.dsl
        );
        let original_path = path.display().to_string();
        let original = load_sources(&[(original_path.as_str(), text.as_str())]);
        assert_equivalent(path, &original, &dsl);
        assert_same_lints(path, &original, &dsl);

        // The importer's output is already in canonical layout.
        let reformatted = klaxon::lang::fmt::format_source(0, &imported.dsl)
            .unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()));
        assert!(
            reformatted == imported.dsl,
            "{}: import output is not canonically formatted",
            path.display()
        );
    }
    println!(
        "corpus: {} files, {} groups, {} alerts ({} thresholds extracted, {} kept whole), {} recording rules",
        files.len(),
        total.groups,
        total.alerts,
        total.thresholds_extracted,
        total.kept_whole,
        total.records
    );
    assert_eq!(total.alerts, 1147, "alerts in the corpus");
    assert_eq!(total.records, 95, "recording rules in the corpus");
    assert_eq!(total.thresholds_extracted + total.kept_whole, total.alerts);
}

const SAMPLE: &str = r#"groups:
  - name: kafka
    interval: 30s
    rules:
      - alert: KafkaConsumerLag
        expr: sum by (consumergroup) (kafka_consumergroup_lag) > 1000
        for: 10m
        labels:
          severity: critical
          team: streaming
        annotations:
          summary: "Lag is {{ $value }}"
          runbook_url: https://runbooks.example.com/kafka#lag
          dashboard: https://grafana.example.com/d/kafka
      - alert: ScrapeProblem
        expr: 0 == up{job="kafka"}
        for: 0m
        labels:
          severity: major
      - alert: KafkaBrokerDown
        expr: absent(up{job="kafka"})
        keep_firing_for: 5m
        labels:
          severity: warning
      - record: "job:kafka_lag:sum"
        expr: |
          sum by (job) (
            kafka_consumergroup_lag
          )
        labels:
          source: kafka
  - name: "MySQL (>80%)"
    rules:
      - alert: MysqlTooManyConnections(>80%)
        expr: max_over_time(mysql_global_status_threads_connected[1m]) / mysql_global_variables_max_connections * 100 > 80
        for: 2m
        labels:
          severity: warning
"#;

const SAMPLE_DSL: &str = r#"group kafka {
  every 30s

  alert KafkaConsumerLag {
    query prometheus `sum by (consumergroup) (kafka_consumergroup_lag)`
    critical when value > 1000 for 10m
    labels { team = "streaming" }
    summary "Lag is {{ $value }}"
    runbook "https://runbooks.example.com/kafka#lag"
    annotations { dashboard = "https://grafana.example.com/d/kafka" }
  }

  alert ScrapeProblem {
    query prometheus `up{job="kafka"}`
    warning when value == 0
    labels { severity = "major" }
  }

  alert KafkaBrokerDown {
    query prometheus `absent(up{job="kafka"})`
    warning when present
    keep_firing for 5m
  }

  record job:kafka_lag:sum {
    query prometheus `sum by (job) (
      kafka_consumergroup_lag
    )`
    labels { source = "kafka" }
  }
}

group "MySQL (>80%)" {
  alert "MysqlTooManyConnections(>80%)" {
    query prometheus `max_over_time(mysql_global_status_threads_connected[1m]) / mysql_global_variables_max_connections * 100`
    warning when value > 80 for 2m
  }
}
"#;

#[test]
fn a_small_file_converts_to_this_dsl() {
    let imported = prometheus_to_dsl(Path::new("sample.yml"), SAMPLE)
        .unwrap_or_else(|f| panic!("{}", f.render()));
    assert!(
        imported.dsl == SAMPLE_DSL,
        "--- got ---\n{}\n--- expected ---\n{SAMPLE_DSL}",
        imported.dsl
    );
    assert_eq!(
        imported.stats,
        ImportStats {
            groups: 2,
            alerts: 4,
            records: 1,
            thresholds_extracted: 3,
            kept_whole: 1,
        }
    );
    let original = load_sources(&[("sample.yml", SAMPLE)]);
    let dsl = load_sources(&[("sample.rules", imported.dsl.as_str())]);
    assert!(!dsl.has_errors(), "{}", render(&dsl));
    assert_equivalent(Path::new("sample.yml"), &original, &dsl);
}

#[test]
fn a_file_with_errors_is_refused_with_positions() {
    let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]) >\n";
    let failure = prometheus_to_dsl(Path::new("bad.yml"), text)
        .expect_err("an invalid expression must refuse the import");
    assert!(failure.error_count() >= 1);
    let rendered = failure.render();
    assert!(rendered.contains("--> bad.yml:5:28"), "{rendered}");
}

#[test]
fn an_alert_without_a_severity_label_still_has_none() {
    let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n";
    let imported = prometheus_to_dsl(Path::new("nosev.yml"), text)
        .unwrap_or_else(|f| panic!("{}", f.render()));
    assert_eq!(
        imported.dsl,
        "group g {\n  # No severity label in the source; `severity = \"\"` keeps it that way.\n  alert A {\n    query prometheus `up`\n    warning when value == 0\n    labels { severity = \"\" }\n  }\n}\n"
    );
    let original = load_sources(&[("nosev.yml", text)]);
    let dsl = load_sources(&[("nosev.rules", imported.dsl.as_str())]);
    assert!(!dsl.has_errors(), "{}", render(&dsl));
    assert_equivalent(Path::new("nosev.yml"), &original, &dsl);
}

fn klaxon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_klaxon"))
}

#[test]
fn the_command_joins_several_files_and_says_where_each_came_from() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = dir.path().join("a.yml");
    let second = dir.path().join("b.yml");
    let out = dir.path().join("out.rules");
    let write = |p: &Path, t: &str| std::fs::write(p, t).unwrap_or_else(|e| panic!("{e}"));
    write(&first, SAMPLE);
    write(
        &second,
        "groups:\n  - name: other\n    rules:\n      - alert: B\n        expr: up == 0\n        labels:\n          severity: critical\n",
    );
    let result = klaxon()
        .args(["import", "prometheus"])
        .arg(&first)
        .arg(&second)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run klaxon: {e}"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "imported 3 groups: 5 alerts (4 with a threshold, 1 kept whole), 1 recording rule"
        ),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    let expected = format!(
        "# imported from {}\n{SAMPLE_DSL}\n# imported from {}\ngroup other {{\n  alert B {{\n    query prometheus `up`\n    critical when value == 0\n  }}\n}}\n",
        first.display(),
        second.display()
    );
    assert_eq!(written, expected);
    // The joined output is one valid, canonically formatted DSL file.
    let loaded = load_sources(&[("out.rules", written.as_str())]);
    assert!(!loaded.has_errors(), "{}", render(&loaded));
    let reformatted =
        klaxon::lang::fmt::format_source(0, &written).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(reformatted, written);
}

#[test]
fn the_command_exits_1_on_invalid_input_and_2_on_unreadable_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]) >\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out.rules");
    let result = klaxon()
        .args(["import", "prometheus"])
        .arg(&bad)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run klaxon: {e}"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--> {}:5:28", bad.display())),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written when an input is refused");

    let missing = dir.path().join("missing.yml");
    let result = klaxon()
        .args(["import", "prometheus"])
        .arg(&missing)
        .output()
        .unwrap_or_else(|e| panic!("cannot run klaxon: {e}"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: cannot read", missing.display())),
        "{stderr}"
    );
}

#[test]
fn clashing_group_names_refuse_joining_but_convert_into_a_directory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let yaml = |alert: &str| {
        format!(
            "groups:\n  - name: EmbeddedExporter\n    rules:\n      - alert: {alert}\n        expr: up == 0\n        labels:\n          severity: critical\n"
        )
    };
    for (sub, alert) in [("minio", "MinioDown"), ("argocd", "ArgocdDown")] {
        std::fs::create_dir_all(dir.path().join("in").join(sub)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path()
                .join("in")
                .join(sub)
                .join("embedded-exporter.yml"),
            yaml(alert),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let inputs = [
        dir.path().join("in/argocd/embedded-exporter.yml"),
        dir.path().join("in/minio/embedded-exporter.yml"),
    ];

    let joined = dir.path().join("joined.rules");
    let result = klaxon()
        .args(["import", "prometheus"])
        .args(&inputs)
        .arg("-o")
        .arg(&joined)
        .output()
        .unwrap_or_else(|e| panic!("cannot run klaxon: {e}"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: group `EmbeddedExporter` of {} has the same name as a group of {}",
            inputs[1].display(),
            inputs[0].display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--output-dir"), "{stderr}");
    assert!(!joined.exists(), "nothing is written when groups clash");

    let out = dir.path().join("out");
    let result = klaxon()
        .args(["import", "prometheus"])
        .args(&inputs)
        .arg("--output-dir")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run klaxon: {e}"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    for (sub, alert) in [("minio", "MinioDown"), ("argocd", "ArgocdDown")] {
        let path = out.join(sub).join("embedded-exporter.rules");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let input = dir
            .path()
            .join("in")
            .join(sub)
            .join("embedded-exporter.yml");
        assert_eq!(
            text,
            format!(
                "# imported from {}\ngroup EmbeddedExporter {{\n  alert {alert} {{\n    query prometheus `up`\n    critical when value == 0\n  }}\n}}\n",
                input.display()
            )
        );
    }
}
