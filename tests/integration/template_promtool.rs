//! Differential test of alert template expansion against Prometheus 2.42
//! itself: `promtool test rules` evaluates alerting rules and, when the
//! expected annotations are wrong (deliberately empty here), prints the
//! annotations it got. Every template of the fixture
//! (`tests/template_promtool/cases.rs`) and every label and annotation
//! template of the real rule corpus is expanded by promtool and by klaxon,
//! and the two must agree byte for byte.
//!
//! Skipped (with a note) when `promtool` is not on `PATH`; CI installs it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use klaxon::template::{
    CompiledTemplate, QuerySamples, TemplateData, TemplateQuery, expand_alert_template,
};

#[path = "../template_promtool/cases.rs"]
mod cases;

/// `promtool` on `PATH`, if installed.
fn promtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|candidate| candidate.is_file())
}

/// The shared rule corpus, found by walking up from the crate directory.
fn corpus_dir() -> Option<PathBuf> {
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(current) = dir {
        for candidate in [
            current.join("shared/corpus"),
            current.join("../shared/corpus"),
        ] {
            if candidate.is_dir() {
                return Some(candidate);
            }
        }
        dir = current.parent();
    }
    None
}

/// One alerting rule for promtool: it fires once with `labels` and
/// `value`, and has one annotation per template.
struct Alert {
    name: String,
    series: String,
    promtool_value: String,
    templates: Vec<String>,
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Runs promtool on the alerts and returns, per alert, the expansion of
/// each template in order.
fn run_promtool(
    promtool: &Path,
    alerts: &[Alert],
    external_labels: &[(&str, &str)],
    external_url: &str,
    extra_series: &[(String, String)],
) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rules = String::from("groups:\n- name: templates\n  rules:\n");
    let mut tests =
        String::from("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n");
    let labels: Vec<String> = external_labels
        .iter()
        .map(|(k, v)| format!("{}: {}", k, yaml(v)))
        .collect();
    let _ = writeln!(tests, "  external_labels: {{{}}}", labels.join(", "));
    let _ = writeln!(tests, "  external_url: {}", yaml(external_url));
    tests.push_str("  input_series:\n");
    let mut seen_series = std::collections::BTreeSet::new();
    for alert in alerts {
        let _ = writeln!(
            rules,
            "  - alert: {}\n    expr: {}\n    annotations:",
            alert.name,
            metric_of(&alert.series)
        );
        for (i, template) in alert.templates.iter().enumerate() {
            let _ = writeln!(rules, "      c{i:05}: {}", yaml(template));
        }
        if seen_series.insert(alert.series.clone()) {
            let _ = writeln!(
                tests,
                "  - series: {}\n    values: {}",
                yaml(&alert.series),
                yaml(&alert.promtool_value)
            );
        }
    }
    for (series, value) in extra_series {
        let _ = writeln!(
            tests,
            "  - series: {}\n    values: {}",
            yaml(series),
            yaml(value)
        );
    }
    tests.push_str("  alert_rule_test:\n");
    for alert in alerts {
        let _ = writeln!(
            tests,
            "  - {{eval_time: 0m, alertname: {}, exp_alerts: [{{exp_labels: {{}}}}]}}",
            alert.name
        );
    }
    std::fs::write(dir.path().join("rules.yml"), rules).expect("write rules");
    std::fs::write(dir.path().join("test.yml"), tests).expect("write tests");
    let output = Command::new(promtool)
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    alerts
        .iter()
        .map(|alert| {
            let got = got_annotations(&text, &alert.name).unwrap_or_else(|| {
                panic!(
                    "promtool printed no annotations for {}:\n{text}",
                    alert.name
                )
            });
            (0..alert.templates.len())
                .map(|i| got.get(&format!("c{i:05}")).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

fn metric_of(series: &str) -> &str {
    series.split('{').next().unwrap_or(series)
}

/// The annotations promtool reports it got for `alertname`.
fn got_annotations(output: &str, alertname: &str) -> Option<BTreeMap<String, String>> {
    let start = output.find(&format!("alertname: {alertname}, time"))?;
    let rest = output.get(start..)?;
    let got = rest.find("got:")?;
    let rest = rest.get(got..)?;
    let annotations = rest.find("Annotations:")?;
    parse_label_set(rest.get(annotations + "Annotations:".len()..)?)
}

/// Parses Go's `labels.Labels.String()`: `{a="x", b="y"}`.
fn parse_label_set(text: &str) -> Option<BTreeMap<String, String>> {
    let mut rest = text.strip_prefix('{')?;
    let mut out = BTreeMap::new();
    while !rest.starts_with('}') {
        let (name, after) = rest.split_once('=')?;
        let (value, after) = go_unquote(after)?;
        out.insert(name.to_string(), value);
        rest = after.strip_prefix(", ").unwrap_or(after);
    }
    Some(out)
}

/// Reads a Go `strconv.Quote`d string at the start of `text`.
fn go_unquote(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let body = text.get(1..)?;
    let mut bytes = Vec::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                return Some((
                    String::from_utf8_lossy(&bytes).into_owned(),
                    body.get(i + 1..)?,
                ));
            }
            '\\' => {
                let (_, e) = chars.next()?;
                let mut hex = |n: usize| -> Option<u32> {
                    let digits: String = (0..n)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    u32::from_str_radix(&digits, 16).ok()
                };
                match e {
                    'a' => bytes.push(7),
                    'b' => bytes.push(8),
                    'f' => bytes.push(12),
                    'n' => bytes.push(b'\n'),
                    'r' => bytes.push(b'\r'),
                    't' => bytes.push(b'\t'),
                    'v' => bytes.push(11),
                    'x' => bytes.push(u8::try_from(hex(2)?).ok()?),
                    'u' => push_char(&mut bytes, char::from_u32(hex(4)?)?),
                    'U' => push_char(&mut bytes, char::from_u32(hex(8)?)?),
                    other => push_char(&mut bytes, other),
                }
            }
            other => push_char(&mut bytes, other),
        }
    }
    None
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

/// Labels of a series in promtool notation, `__name__` included.
fn parse_series(series: &str) -> BTreeMap<String, String> {
    let (name, rest) = series.split_once('{').unwrap_or((series, "}"));
    let mut labels = BTreeMap::from([("__name__".to_string(), name.to_string())]);
    let mut rest = rest;
    while let Some((key, after)) = rest.split_once('=') {
        let Some((value, after)) = go_unquote(after) else {
            break;
        };
        labels.insert(key.trim_start_matches(',').to_string(), value);
        rest = after;
    }
    labels
}

/// Answers `query` from the test's input series (plain metric names).
struct SeriesQuery {
    series: Vec<(BTreeMap<String, String>, f64)>,
}

impl TemplateQuery for SeriesQuery {
    fn query(&self, expr: &str) -> Result<QuerySamples, String> {
        if expr == "sum(" {
            return Err("1:5: parse error: unclosed left parenthesis".to_string());
        }
        Ok(self
            .series
            .iter()
            .filter(|(labels, _)| labels.get("__name__").map(String::as_str) == Some(expr))
            .cloned()
            .collect())
    }
}

fn series_notation(metric: &str, labels: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", yaml(v)))
        .collect();
    format!("{metric}{{{}}}", pairs.join(","))
}

#[test]
fn fixture_cases_match_promtool_and_klaxon() {
    let Some(promtool) = promtool() else {
        eprintln!("promtool not on PATH: skipping the differential template test");
        return;
    };
    let mut alerts: Vec<Alert> = cases::SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, scenario)| Alert {
            name: format!("S{i}"),
            series: series_notation(&format!("s{i}"), scenario.labels),
            promtool_value: scenario.promtool_value.to_string(),
            templates: Vec::new(),
        })
        .collect();
    let mut positions = Vec::new();
    for (scenario, template, _) in cases::CASES {
        let alert = &mut alerts[*scenario];
        positions.push((*scenario, alert.templates.len()));
        alert.templates.push((*template).to_string());
    }
    let extra: Vec<(String, String)> = cases::QUERY_SERIES
        .iter()
        .map(|(s, v)| ((*s).to_string(), (*v).to_string()))
        .collect();
    let got = run_promtool(
        &promtool,
        &alerts,
        cases::EXTERNAL_LABELS,
        cases::EXTERNAL_URL,
        &extra,
    );
    let query = SeriesQuery {
        series: extra
            .iter()
            .map(|(s, v)| (parse_series(s), v.parse().unwrap_or(f64::NAN)))
            .collect(),
    };
    let external: BTreeMap<String, String> = cases::EXTERNAL_LABELS
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let mut failures = Vec::new();
    for ((scenario, template, expected), (alert, index)) in cases::CASES.iter().zip(&positions) {
        let prometheus = &got[*alert][*index];
        let mut labels = parse_series(&alerts[*alert].series);
        labels.retain(|_, v| !v.is_empty());
        let data = TemplateData {
            labels: &labels,
            external_labels: &external,
            external_url: cases::EXTERNAL_URL,
            value: cases::SCENARIOS[*scenario].value,
        };
        let ours = expand_alert_template(&format!("S{scenario}"), template, &data, Some(&query));
        if prometheus != expected {
            failures.push(format!(
                "fixture is stale for {template:?}: promtool now says {prometheus:?}, fixture {expected:?}"
            ));
        }
        if &ours != prometheus {
            failures.push(format!(
                "{template:?} (scenario {scenario}):\n  prometheus {prometheus:?}\n  klaxon     {ours:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every label and annotation template of the real rule corpus.
fn corpus_templates(corpus: &Path) -> Vec<String> {
    let loaded = klaxon::model::load::load_paths(
        &[corpus.join("prometheus-rules")],
        &klaxon::model::load::LoadOptions::default(),
    );
    let mut templates = std::collections::BTreeSet::new();
    for (_, rule) in loaded.rules.rules() {
        let Some(alert) = rule.alert() else { continue };
        for pair in rule.labels.iter().chain(&alert.annotations) {
            if pair.value.contains("{{") {
                templates.insert(pair.value.clone());
            }
        }
    }
    templates.into_iter().collect()
}

#[test]
fn corpus_templates_match_promtool() {
    let (Some(promtool), Some(corpus)) = (promtool(), corpus_dir()) else {
        eprintln!("promtool or the rule corpus is missing: skipping the corpus template test");
        return;
    };
    let templates = corpus_templates(&corpus);
    assert!(
        templates.len() > 100,
        "corpus has {} templates",
        templates.len()
    );
    eprintln!(
        "comparing {} corpus templates with promtool",
        templates.len()
    );
    let labels = [
        ("instance", "node-1.example.com:9100"),
        ("job", "node-exporter"),
        ("namespace", "monitoring"),
        ("pod", "prometheus-k8s-0"),
        ("container", "prometheus"),
        ("node", "worker-1"),
        ("service", "kube-state-metrics"),
        ("device", "/dev/sda1"),
        ("mountpoint", "/var/lib"),
        ("cluster", "prod"),
        ("severity", "warning"),
    ];
    let series = series_notation("corpus_input", &labels);
    let alerts: Vec<Alert> = templates
        .chunks(40)
        .enumerate()
        .map(|(i, chunk)| Alert {
            name: format!("Corpus{i}"),
            series: series.clone(),
            promtool_value: "0.8765".to_string(),
            templates: chunk.to_vec(),
        })
        .collect();
    let external = [("cluster", "prod-eu")];
    let url = "http://prometheus.example.com";
    let got = run_promtool(&promtool, &alerts, &external, url, &[]);
    let label_map = parse_series(&series);
    let external_map: BTreeMap<String, String> = external
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let data = TemplateData {
        labels: &label_map,
        external_labels: &external_map,
        external_url: url,
        value: 0.8765,
    };
    // The corpus queries series the test storage does not have.
    let no_data = SeriesQuery { series: Vec::new() };
    let mut failures = Vec::new();
    for (alert, expansions) in alerts.iter().zip(&got) {
        for (template, prometheus) in alert.templates.iter().zip(expansions) {
            let compiled = CompiledTemplate::compile(&alert.name, template)
                .unwrap_or_else(|e| panic!("{template:?} does not compile: {e}"));
            let ours = compiled.execute(&data, Some(&no_data));
            if &ours != prometheus {
                failures.push(format!(
                    "{template:?}:\n  prometheus {prometheus:?}\n  klaxon     {ours:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus templates differ:\n{}",
        failures.len(),
        templates.len(),
        failures.join("\n")
    );
}
