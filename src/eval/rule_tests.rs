//! The alert state machine, driven by hand-made query answers at chosen
//! times: what a user sees in the alert list after each evaluation.

use super::alert::AlertState;
use super::rule::{AlertingState, CompiledRule, RESOLVED_RETENTION};
use super::templating::{SharedTexts, TemplateEnv};
use crate::source::Sample;
use crate::vocab::labels::Labels;

const S: i64 = 1000;
const M: i64 = 60 * S;

fn compile(path: &str, text: &str) -> CompiledRule {
    let loaded = crate::model::load::load_sources(&[(path, text)]);
    assert!(
        !loaded.has_errors(),
        "{:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| d.short(&loaded.sources))
            .collect::<Vec<_>>()
    );
    let group = &loaded.rules.groups[0];
    CompiledRule::compile(&group.rules[0], group, path, &mut SharedTexts::default())
}

fn sample(pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        labels: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
    }
}

/// (state, severity label, value) of every alert, sorted by labels.
fn view(st: &AlertingState) -> Vec<(AlertState, String, Labels)> {
    let mut out: Vec<_> = st
        .active
        .values()
        .map(|a| {
            (
                a.state,
                a.labels.get("severity").unwrap_or_default().to_string(),
                a.labels.to_map(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

struct Driver {
    rule: CompiledRule,
    st: AlertingState,
    env: TemplateEnv,
}

impl Driver {
    fn new(path: &str, text: &str) -> Self {
        Driver {
            rule: compile(path, text),
            st: AlertingState::default(),
            env: TemplateEnv::default(),
        }
    }

    fn eval(&mut self, ts: i64, samples: &[Sample]) -> super::rule::EvalOutcome {
        let spec = self.rule.alert.clone().expect("alerting rule");
        self.st.eval(&self.rule, &spec, samples, ts, &self.env)
    }

    fn states(&self) -> Vec<AlertState> {
        view(&self.st).into_iter().map(|v| v.0).collect()
    }

    fn severities(&self) -> Vec<String> {
        view(&self.st).into_iter().map(|v| v.1).collect()
    }
}

const PROM_RULE: &str = "groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    keep_firing_for: 0s
    labels:
      team: db
";

#[test]
fn prometheus_rule_goes_pending_firing_resolved_and_is_forgotten_after_retention() {
    let mut d = Driver::new("p.yml", PROM_RULE);
    let down = [sample(&[("__name__", "up"), ("job", "db")], 0.0)];
    d.eval(0, &down);
    assert_eq!(d.states(), [AlertState::Pending]);
    let a = d.st.active.values().next().unwrap();
    assert_eq!(a.labels.get("alertname"), Some("Down"));
    assert_eq!(a.labels.get("team"), Some("db"));
    assert!(a.labels.get("__name__").is_none(), "__name__ is dropped");
    d.eval(M, &down);
    assert_eq!(d.states(), [AlertState::Pending]);
    d.eval(2 * M, &down);
    assert_eq!(d.states(), [AlertState::Firing]);
    let fired = d.st.active.values().next().unwrap().clone();
    assert_eq!(fired.active_at, 0);
    assert_eq!(fired.fired_at, Some(2 * M));
    d.eval(3 * M, &[]);
    assert_eq!(d.states(), [AlertState::Inactive]);
    assert_eq!(
        d.st.active.values().next().unwrap().resolved_at,
        Some(3 * M)
    );
    d.eval(3 * M + RESOLVED_RETENTION, &[]);
    assert_eq!(d.states(), [AlertState::Inactive], "kept for 15m");
    d.eval(3 * M + RESOLVED_RETENTION + S, &[]);
    assert!(d.states().is_empty(), "forgotten after retention");
}

#[test]
fn pending_alert_whose_series_disappears_is_dropped_not_resolved() {
    let mut d = Driver::new("p.yml", PROM_RULE);
    d.eval(0, &[sample(&[("job", "db")], 0.0)]);
    let out = d.eval(M, &[]);
    assert!(d.states().is_empty());
    assert_eq!(out.removed.len(), 1);
}

#[test]
fn keep_firing_for_holds_the_alert_after_the_condition_stops() {
    let mut d = Driver::new(
        "p.yml",
        "groups:
- name: g
  rules:
  - alert: Flap
    expr: x > 1
    keep_firing_for: 5m
",
    );
    let s = [sample(&[("i", "a")], 2.0)];
    d.eval(0, &s);
    assert_eq!(d.states(), [AlertState::Firing], "for 0 fires at once");
    d.eval(M, &[]);
    d.eval(5 * M, &[]);
    assert_eq!(d.states(), [AlertState::Firing], "4m into keep_firing_for");
    d.eval(6 * M, &[]);
    assert_eq!(d.states(), [AlertState::Inactive]);
    // Back while keep-firing resets the clock.
    let mut d2 = Driver::new(
        "p.yml",
        "groups:
- name: g
  rules:
  - alert: Flap
    expr: x > 1
    keep_firing_for: 5m
",
    );
    d2.eval(0, &s);
    d2.eval(M, &[]);
    d2.eval(2 * M, &s);
    d2.eval(3 * M, &[]);
    d2.eval(7 * M, &[]);
    assert_eq!(d2.states(), [AlertState::Firing], "clock restarted at 3m");
}

const ESCALATING: &str = "group g {
  every 1m
  alert Lag {
    query prometheus `lag`
    warning when value > 100 for 2m
    critical when value > 1000 for 1m
    summary \"lag {{ $value }}\"
  }
}
";

#[test]
fn severities_escalate_and_deescalate_one_alert() {
    let mut d = Driver::new("l.rules", ESCALATING);
    let at = |v: f64| [sample(&[("topic", "t")], v)];
    d.eval(0, &at(500.0));
    assert_eq!(d.states(), [AlertState::Pending]);
    assert_eq!(d.severities(), ["warning"]);
    d.eval(2 * M, &at(500.0));
    assert_eq!(d.states(), [AlertState::Firing]);
    assert_eq!(d.severities(), ["warning"]);
    let fp_warning = *d.st.active.keys().next().unwrap();
    d.eval(3 * M, &at(5000.0));
    assert_eq!(d.severities(), ["warning"], "critical needs its 1m");
    let out = d.eval(4 * M, &at(5000.0));
    assert_eq!(d.states(), [AlertState::Firing]);
    assert_eq!(d.severities(), ["critical"]);
    assert_eq!(
        *d.st.active.keys().next().unwrap(),
        fp_warning,
        "the same alert escalates"
    );
    assert_eq!(
        d.st.active.values().next().unwrap().fired_at,
        Some(2 * M),
        "escalation keeps the original start"
    );
    assert_eq!(
        out.superseded.len(),
        1,
        "the warning label set is resolved downstream"
    );
    assert_eq!(
        out.superseded[0].0.get("severity").map(String::as_str),
        Some("warning")
    );
    // The critical label set goes out in the same round as the warning's
    // resolve, not a resend delay later.
    let due = d.st.take_due(4 * M, M, M);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].labels.get("severity"), Some("critical"));
    d.eval(5 * M, &at(500.0));
    assert_eq!(d.severities(), ["warning"], "de-escalates at once");
    d.eval(6 * M, &at(50.0));
    assert_eq!(d.states(), [AlertState::Inactive]);
}

#[test]
fn resolve_threshold_keeps_the_alert_firing_inside_the_band() {
    let mut d = Driver::new(
        "q.rules",
        "group g {
  every 1m
  alert Backlog {
    query prometheus `q`
    warning when value > 1000
    resolve when value < 200 for 2m
  }
}
",
    );
    let at = |v: f64| [sample(&[("queue", "a")], v)];
    d.eval(0, &at(2000.0));
    assert_eq!(d.states(), [AlertState::Firing]);
    d.eval(M, &at(500.0));
    assert_eq!(d.states(), [AlertState::Firing], "500 is inside the band");
    d.eval(2 * M, &at(100.0));
    assert_eq!(d.states(), [AlertState::Firing], "resolve needs 2m");
    d.eval(3 * M, &at(300.0));
    d.eval(4 * M, &at(100.0));
    d.eval(5 * M, &at(100.0));
    assert_eq!(d.states(), [AlertState::Firing], "clock restarted at 4m");
    d.eval(6 * M, &at(100.0));
    assert_eq!(d.states(), [AlertState::Inactive]);
}

#[test]
fn nodata_after_raises_one_alert_for_an_empty_query_and_resolves_when_data_returns() {
    let mut d = Driver::new(
        "n.rules",
        "group g {
  every 1m
  alert BackupTooOld {
    query prometheus `backup_age`
    warning when value > 100
    nodata after 5m critical
  }
}
",
    );
    d.eval(0, &[]);
    d.eval(4 * M, &[]);
    assert!(d.states().is_empty());
    d.eval(5 * M, &[]);
    let v = view(&d.st);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, AlertState::Firing);
    assert_eq!(v[0].1, "critical");
    assert_eq!(v[0].2.get("nodata").map(String::as_str), Some("true"));
    d.eval(6 * M, &[sample(&[("instance", "a")], 1.0)]);
    assert_eq!(d.states(), [AlertState::Inactive], "data is back");
}

#[test]
fn nodata_after_alerts_per_series_that_vanished() {
    let mut d = Driver::new(
        "n.rules",
        "group g {
  every 1m
  alert Heartbeat {
    query prometheus `hb`
    warning when value > 100
    nodata after 3m warning
  }
}
",
    );
    let both = [
        sample(&[("instance", "a")], 1.0),
        sample(&[("instance", "b")], 1.0),
    ];
    let only_a = [sample(&[("instance", "a")], 1.0)];
    d.eval(0, &both);
    d.eval(M, &only_a);
    d.eval(2 * M + 59 * S, &only_a);
    assert!(d.states().is_empty(), "b last seen 2m59s ago");
    d.eval(3 * M, &only_a);
    let v = view(&d.st);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].2.get("instance").map(String::as_str), Some("b"));
    assert_eq!(v[0].0, AlertState::Firing);
}

#[test]
fn nodata_keep_holds_state_through_an_empty_answer() {
    let mut d = Driver::new(
        "k.rules",
        "group g {
  every 1m
  alert Lag {
    query prometheus `lag`
    warning when value > 30
    nodata keep
  }
}
",
    );
    d.eval(0, &[sample(&[("i", "a")], 50.0)]);
    assert_eq!(d.states(), [AlertState::Firing]);
    d.eval(M, &[]);
    d.eval(10 * M, &[]);
    assert_eq!(d.states(), [AlertState::Firing]);
    d.eval(11 * M, &[sample(&[("i", "a")], 5.0)]);
    assert_eq!(d.states(), [AlertState::Inactive]);
}

#[test]
fn limit_clears_the_rules_alerts_and_reports_the_error() {
    let mut d = Driver::new(
        "l.yml",
        "groups:
- name: g
  limit: 1
  rules:
  - alert: Many
    expr: x > 0
",
    );
    let out = d.eval(0, &[sample(&[("i", "a")], 1.0), sample(&[("i", "b")], 1.0)]);
    assert!(d.states().is_empty());
    assert_eq!(
        out.error.map(|e| e.0).as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
}

#[test]
fn due_alerts_follow_prometheus_resend_rules() {
    let mut d = Driver::new("p.yml", PROM_RULE.replace("for: 2m", "for: 0s").as_str());
    let s = [sample(&[("job", "db")], 0.0)];
    d.eval(0, &s);
    let sent = d.st.take_due(0, M, 15 * S);
    assert_eq!(sent.len(), 1, "new firing alert is sent at once");
    assert_eq!(sent[0].valid_until, Some(4 * M));
    d.eval(30 * S, &s);
    assert!(
        d.st.take_due(30 * S, M, 15 * S).is_empty(),
        "within resend delay"
    );
    d.eval(61 * S, &s);
    assert_eq!(d.st.take_due(61 * S, M, 15 * S).len(), 1, "resent after 1m");
    d.eval(70 * S, &[]);
    let resolved = d.st.take_due(70 * S, M, 15 * S);
    assert_eq!(resolved.len(), 1, "a resolve is sent at once");
    assert_eq!(resolved[0].resolved_at, Some(70 * S));
}

#[test]
fn a_series_below_every_threshold_creates_no_alert() {
    let mut d = Driver::new("l.rules", ESCALATING);
    let out = d.eval(0, &[sample(&[("topic", "t")], 5.0)]);
    assert!(d.states().is_empty());
    assert!(out.changed.is_empty());
}

#[test]
fn durable_changes_are_reported_only_on_transitions() {
    let mut d = Driver::new("p.yml", PROM_RULE);
    let s = [sample(&[("job", "db")], 0.0)];
    assert_eq!(d.eval(0, &s).changed.len(), 1, "new pending alert");
    assert!(d.eval(M, &s).changed.is_empty(), "value refresh only");
    assert_eq!(d.eval(2 * M, &s).changed.len(), 1, "turned firing");
}

#[test]
fn rules_of_one_configuration_share_repeated_names_and_values() {
    let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: '{{ $labels.job }} is down'\n      - alert: B\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: 'B fires'\n";
    let loaded = crate::model::load::load_sources(&[("shared.yml", text)]);
    assert!(!loaded.has_errors());
    let group = &loaded.rules.groups[0];
    let mut texts = SharedTexts::default();
    let a = CompiledRule::compile(&group.rules[0], group, "shared.yml", &mut texts);
    let b = CompiledRule::compile(&group.rules[1], group, "shared.yml", &mut texts);
    assert!(std::sync::Arc::ptr_eq(&a.datasource, &b.datasource));
    assert!(std::sync::Arc::ptr_eq(&a.labels[0].0, &b.labels[0].0));
    let (a_alert, b_alert) = (a.alert.as_ref().unwrap(), b.alert.as_ref().unwrap());
    assert!(std::sync::Arc::ptr_eq(
        &a_alert.annotations[0].0,
        &b_alert.annotations[0].0
    ));
    // Sharing changes nothing an alert shows.
    let mut d = Driver {
        rule: b,
        st: AlertingState::default(),
        env: TemplateEnv::default(),
    };
    d.eval(0, &[sample(&[("job", "db")], 0.0)]);
    let alert = d.st.active.values().next().unwrap();
    assert_eq!(alert.labels.get("severity"), Some("critical"));
    assert_eq!(alert.labels.get("alertname"), Some("B"));
    assert_eq!(alert.annotations.get("summary"), Some("B fires"));
}
