//! Execution tests: every case Prometheus 2.42 expanded in
//! `tests/template_promtool/cases.rs`, plus behaviour promtool cannot show
//! (external URL functions, limits, the compiled-template API).

use std::collections::BTreeMap;

use super::*;

// The integration test reads the promtool-only fields.
#[allow(dead_code)]
#[path = "../../../tests/template_promtool/cases.rs"]
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
