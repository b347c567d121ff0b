//! The rule key is byte for byte the key klaxon wrote before it was built
//! from explicit fields (so no stored alert is lost on upgrade), and its
//! text is pinned.

use std::path::{Path, PathBuf};

use super::*;
use crate::eval::rule::{CompiledRule, query_text};
use crate::eval::templating::SharedTexts;
use crate::model::Query;
use crate::model::load::load_sources;
use crate::vocab::time::Duration;

/// REFERENCE ONLY, not used by klaxon: the rule key as klaxon built it up
/// to commit a796ac3, copied verbatim from `eval/rule.rs` of that commit.
/// Every key stored before this module was written came from it (with
/// `Debug` formatting of the datasource and of the nodata policy), and
/// [`rule_key`] must give the same bytes for every rule. Should a model
/// type be renamed, this copy's `Debug` output is what changes: spell the
/// old names here by hand rather than change [`rule_key`].
fn reference_key_a796ac3(
    rule: &model::Rule,
    group: &model::Group,
    file: &str,
    query_text: &str,
) -> String {
    use std::fmt::Write;
    let mut def = String::new();
    let _ = write!(def, "{query_text}\u{1f}{:?}", rule.query.datasource());
    for p in &rule.labels {
        let _ = write!(def, "\u{1f}l:{}={}", p.name, p.value);
    }
    if let RuleKind::Alert(spec) = &rule.kind {
        for s in &spec.severities {
            let _ = write!(
                def,
                "\u{1f}s:{}:{}:{}",
                s.level.as_str(),
                model::condition::display(&s.condition),
                s.for_.0
            );
        }
        if let Some(r) = &spec.resolve {
            let _ = write!(
                def,
                "\u{1f}r:{}:{}",
                model::condition::display(&r.condition),
                r.for_.0
            );
        }
        let _ = write!(
            def,
            "\u{1f}k:{}\u{1f}n:{:?}",
            spec.keep_firing_for.0, spec.nodata
        );
    } else {
        def.push_str("\u{1f}record");
    }
    let mut h = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut h, def.as_bytes());
    let mut key = format!(
        "{file}\u{1f}{}\u{1f}{}\u{1f}{:016x}",
        group.name,
        rule.name,
        std::hash::Hasher::finish(&h)
    );
    // Kept for the life of the rule: format!'s doubling leaves up to half
    // the buffer unused.
    key.shrink_to_fit();
    key
}

/// Rules of every kind the key has a field for.
const DSL: &str = r#"
datasource prometheus default { url "http://127.0.0.1:9090" }
datasource prometheus primary { url "http://127.0.0.1:9090" }
datasource prometheus "ds \"main\" \\ é" { url "http://127.0.0.1:9090" }
datasource elasticsearch logs { url "http://127.0.0.1:9200"  index "logs-*"  time_field "@timestamp" }

group levels {
  every 30s
  labels { team = "streaming", tier = "1" }

  alert Lag {
    query prometheus `sum by (consumergroup, topic) (kafka_consumergroup_lag)`
    warning  when value > 1000   for 10m
    critical when value > 100000 for 5m
    resolve  when value < 500 for 1m
    nodata   after 15m warning
    keep_firing for 30m
    labels { team = "data", page = "{{ $labels.topic }}" }
    summary "lag {{ $value }}"
  }

  alert Range {
    query prometheus primary `node_load1`
    info when value >= 0.5 and value < 2 or value == 1e21
    warning when (value > 2 or value < -3.25) and value != 7
    nodata keep
  }

  alert Present {
    query prometheus "ds \"main\" \\ é" `absent(up{job="kafka"} == 1)`
    critical when present for 3m
    nodata ok
  }

  alert NoDataInfo {
    query prometheus `up`
    warning when value == 0
    nodata after 1h30m info
  }

  alert NoDataCritical {
    query prometheus `up`
    warning when value == 0
    nodata after 2h critical
  }

  record job:up:sum {
    query prometheus `sum by (job) (up)`
    labels { source = "klaxon" }
  }
}

group logs {
  alert Errors {
    query elasticsearch logs count where `level:ERROR` over 5m by host, service.keyword
    warning  when value > 50
    critical when value > 200
  }

  alert Latency {
    query elasticsearch logs percentile 99.5 duration_ms over 10m
    warning when value > 250
  }
}
"#;

const PROM: &str = r#"
groups:
  - name: prom
    interval: 15s
    limit: 10
    rules:
      - alert: HighErrors
        expr: sum by (job) (rate(errors_total[5m])) > 0.1
        for: 5m
        keep_firing_for: 10m
        labels:
          severity: page
          team: '{{ $labels.job }}'
        annotations:
          summary: errors
      - alert: NoSeverity
        expr: up == 0
      - alert: Info
        expr: up == 0
        labels:
          severity: info
      - record: job:errors:rate5m
        expr: sum by (job) (rate(errors_total[5m]))
        labels:
          source: prom
"#;

/// The shared rule corpus (`shared/corpus`), beside the repository or
/// above a worktree checked out deeper.
fn corpus_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .flat_map(|dir| [dir.join("shared/corpus"), dir.join("../shared/corpus")])
        .find(|c| c.join("prometheus-rules").is_dir())
        .unwrap_or_else(|| panic!("corpus not found beside or above {}", manifest.display()))
}

/// Rule files (`.rules`, `.yml`, `.yaml`) under `dir`, sorted.
fn rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("rules" | "yml" | "yaml")
                )
        })
        .collect();
    files.sort();
    files
}

/// Checks every rule of `sources` against the reference; returns how many.
fn assert_same_keys(sources: &[(&str, &str)]) -> usize {
    let loaded = load_sources(sources);
    let mut texts = SharedTexts::default();
    let mut n = 0;
    for g in &loaded.rules.groups {
        let file = loaded
            .sources
            .get(g.file)
            .map(|f| f.path.display().to_string())
            .unwrap_or_default();
        for r in &g.rules {
            let want = reference_key_a796ac3(r, g, &file, &query_text(&r.query));
            assert_eq!(
                rule_key(r, g, &file, &query_text(&r.query)),
                want,
                "{file}: {}",
                r.name
            );
            assert_eq!(CompiledRule::compile(r, g, &file, &mut texts).key, want);
            n += 1;
        }
    }
    n
}

#[test]
fn keys_are_those_of_a796ac3_for_every_kind_of_rule() {
    assert_eq!(
        assert_same_keys(&[("rules/keys.rules", DSL), ("rules/prom.yml", PROM)]),
        12
    );
}

#[test]
fn keys_are_those_of_a796ac3_for_every_fixture_and_corpus_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rule_files(&root.join("tests/fixtures"));
    files.extend(rule_files(&root.join("examples")));
    files.extend(rule_files(&corpus_root().join("prometheus-rules")));
    let texts: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
        .collect();
    let mut rules = 0;
    for (path, text) in &texts {
        rules += assert_same_keys(&[(path, text)]);
    }
    // The corpus alone has 1242 rules.
    assert!(rules > 1300, "only {rules} rules checked");
}

/// A DSL rule to vary field by field.
fn template_rule() -> (model::Group, model::Rule) {
    let loaded = load_sources(&[("t.rules", DSL)]);
    let group = loaded.rules.groups[0].clone();
    let rule = group.rules[0].clone();
    (group, rule)
}

fn same_key(group: &model::Group, rule: &model::Rule) {
    let text = query_text(&rule.query);
    assert_eq!(
        rule_key(rule, group, "t.rules", &text),
        reference_key_a796ac3(rule, group, "t.rules", &text),
        "{rule:?}"
    );
}

#[test]
fn every_nodata_policy_keys_as_before() {
    let (group, mut rule) = template_rule();
    let levels = [
        SeverityLevel::Info,
        SeverityLevel::Warning,
        SeverityLevel::Critical,
    ];
    let mut policies = vec![NoDataPolicy::Ok, NoDataPolicy::Keep];
    for level in levels {
        for after in [0, 1, 1000, 90 * 60 * 1000, u64::MAX] {
            policies.push(NoDataPolicy::Alert {
                after: Duration(after),
                level,
            });
        }
    }
    for policy in policies {
        if let RuleKind::Alert(spec) = &mut rule.kind {
            spec.nodata = policy;
            spec.keep_firing_for = Duration(u64::MAX);
        }
        same_key(&group, &rule);
    }
}

#[test]
fn every_datasource_name_keys_as_before() {
    let (group, mut rule) = template_rule();
    let Query::Prometheus(q) = &mut rule.query else {
        panic!("a Prometheus rule")
    };
    q.datasource = None;
    same_key(&group, &rule);
    let names = [
        "",
        "default",
        "it's",
        "a\"b\\c",
        "tab\tcr\rnl\nnul\0",
        "esc\u{1b}del\u{7f}",
        "é日本🚨",
        "\u{301}a\u{301}",
        "zw\u{200b}bom\u{feff}",
        "\u{378}\u{e000}\u{10ffff}",
    ];
    for name in names {
        let Query::Prometheus(q) = &mut rule.query else {
            unreachable!()
        };
        q.datasource = Some(name.to_string());
        same_key(&group, &rule);
    }
}

#[test]
fn every_character_of_a_datasource_name_is_escaped_as_before() {
    // The one field where `Debug` escaped text: each character, alone and
    // after another, as the reference wrote it.
    let mut out = String::new();
    for c in (0..=0x10ffff).filter_map(char::from_u32) {
        for name in [c.to_string(), format!("a{c}")] {
            out.clear();
            datasource(&mut out, Some(&name));
            assert_eq!(
                out,
                format!("{:?}", Some(name.as_str())),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }
}

/// (definition, key) of the first rule named `name` in `sources`.
fn pinned(sources: &[(&str, &str)], name: &str) -> (String, String) {
    let loaded = load_sources(sources);
    let (g, r) = loaded
        .rules
        .rules()
        .find(|(_, r)| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"));
    let file = loaded
        .sources
        .get(g.file)
        .map(|f| f.path.display().to_string());
    let file = file.unwrap_or_default();
    let text = query_text(&r.query);
    (
        definition(r, &text).replace(US, "|"),
        rule_key(r, g, &file, &text).replace(US, "|"),
    )
}

#[test]
fn the_key_format_is_pinned() {
    // U+001F shown as `|`. A change of any of these texts resets the
    // stored alerts of every such rule on upgrade.
    let sources = [("rules/keys.rules", DSL), ("rules/prom.yml", PROM)];
    let cases = [
        (
            "Lag",
            "sum by (consumergroup, topic) (kafka_consumergroup_lag)|None\
             |l:tier=1|l:team=data|l:page={{ $labels.topic }}\
             |s:warning:value > 1000:600000|s:critical:value > 100000:300000\
             |r:value < 500:60000|k:1800000\
             |n:Alert { after: Duration(900000), level: Warning }",
            "rules/keys.rules|levels|Lag|ae220f6fe6d7df57",
        ),
        (
            "Range",
            "node_load1|Some(\"primary\")|l:team=streaming|l:tier=1\
             |s:info:value >= 0.5 and value < 2 or value == 1000000000000000000000:0\
             |s:warning:(value > 2 or value < -3.25) and value != 7:0|k:0|n:Keep",
            "rules/keys.rules|levels|Range|0e3b59d8d12d8dd1",
        ),
        (
            "Present",
            "absent(up{job=\"kafka\"} == 1)|Some(\"ds \\\"main\\\" \\\\ é\")\
             |l:team=streaming|l:tier=1|s:critical:present:180000|k:0|n:Ok",
            "rules/keys.rules|levels|Present|f998bcc30ff2d9b3",
        ),
        (
            "NoDataCritical",
            "up|None|l:team=streaming|l:tier=1|s:warning:value == 0:0|k:0\
             |n:Alert { after: Duration(7200000), level: Critical }",
            "rules/keys.rules|levels|NoDataCritical|e4d5e852b5a84988",
        ),
        (
            "job:up:sum",
            "sum by (job) (up)|None|l:team=streaming|l:tier=1|l:source=klaxon|record",
            "rules/keys.rules|levels|job:up:sum|8fe230efc5111b16",
        ),
        (
            "Errors",
            "elasticsearch logs count where `level:ERROR` over 5m by host, service.keyword\
             |Some(\"logs\")|s:warning:value > 50:0|s:critical:value > 200:0|k:0|n:Ok",
            "rules/keys.rules|logs|Errors|a3ead94fce0f9512",
        ),
        (
            "Latency",
            "elasticsearch logs percentile 99.5 duration_ms over 10m|Some(\"logs\")\
             |s:warning:value > 250:0|k:0|n:Ok",
            "rules/keys.rules|logs|Latency|a19fadd7e438f892",
        ),
        (
            "HighErrors",
            "sum by (job) (rate(errors_total[5m])) > 0.1|None\
             |l:severity=page|l:team={{ $labels.job }}|s:warning:present:300000|k:600000|n:Ok",
            "rules/prom.yml|prom|HighErrors|b671aa7a78b003ad",
        ),
        (
            "NoSeverity",
            "up == 0|None|s:warning:present:0|k:0|n:Ok",
            "rules/prom.yml|prom|NoSeverity|0c7dc860b0375631",
        ),
        (
            "job:errors:rate5m",
            "sum by (job) (rate(errors_total[5m]))|None|l:source=prom|record",
            "rules/prom.yml|prom|job:errors:rate5m|0d8cb451643daa0d",
        ),
    ];
    for (name, def, key) in cases {
        assert_eq!(pinned(&sources, name), (def.to_string(), key.to_string()));
    }
    // Identical rules of one group, and the built-in rules.
    assert_eq!(
        nth_duplicate(
            "rules/prom.yml\u{1f}prom\u{1f}Info\u{1f}0123456789abcdef",
            2
        ),
        "rules/prom.yml\u{1f}prom\u{1f}Info\u{1f}0123456789abcdef#2"
    );
    assert_eq!(
        builtin("<builtin>", "klaxon", "KlaxonDatasourceDown"),
        "<builtin>\u{1f}klaxon\u{1f}KlaxonDatasourceDown\u{1f}1"
    );
}
