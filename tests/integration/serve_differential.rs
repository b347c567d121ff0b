//! Differential test: one Prometheus rule file evaluated by Prometheus 2.42
//! itself and by `klaxon serve`, both on the same data (klaxon queries the
//! very Prometheus that evaluates the file). After every change of the data,
//! both must settle on the same set of (alertname, labels, state) and the
//! same annotations.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{ApiAlert, Exporter, Klaxon, Labels, Prometheus, wait_for};

const RULES: &str = r#"groups:
- name: differential
  interval: 1s
  rules:
  - alert: HighLoad
    expr: node_load > 5
    for: 3s
    labels:
      severity: warning
      host: "{{ $labels.node }}"
    annotations:
      summary: "load {{ $value }} on {{ $labels.node }}"
      share: "{{ $value | humanizePercentage }}"
  - alert: InstanceDown
    expr: service_up == 0
    keep_firing_for: 4s
    labels:
      severity: critical
    annotations:
      description: "{{ $labels.job }} down ({{ $value | humanize }}), external {{ $externalLabels.site }}"
  - alert: ErrorRatio
    expr: sum by (job) (errors) / sum by (job) (requests) > 0.1
    for: 2s
    annotations:
      summary: '{{ printf "%.2f" $value }} of {{ $labels.job }} requests fail'
      title: "{{ $labels.job | toUpper }} {{ if gt $value 0.5 }}mostly{{ else }}partly{{ end }} failing"
  - alert: BigQueue
    expr: queue_messages > 1000000
    annotations:
      size: "{{ humanize $value }} / {{ humanize1024 $value }}"
"#;

/// (labels, state) → annotations, as one side lists its alerts.
type View = BTreeMap<(Labels, String), Labels>;

fn view(alerts: Vec<ApiAlert>) -> View {
    alerts
        .into_iter()
        .filter(|a| a.name() != "KlaxonDatasourceDown")
        .map(|a| ((a.labels, a.state), a.annotations))
        .collect()
}

/// Waits until both sides list the same alerts with the same annotations
/// twice in a row (so a transition in flight on one side is not compared),
/// and returns that view.
fn settle(prometheus: &Prometheus, klaxon: &Klaxon, step: &str, expect: &[(&str, &str)]) -> View {
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut last_equal: Option<View> = None;
    wait_for(Duration::from_secs(40), step, || {
        let p = view(prometheus.alerts());
        let k = view(klaxon.alerts());
        if p == k && names(&p) != expect {
            last_equal = None;
            return Err(format!(
                "both agree but not yet at the step's end state: {p:#?}"
            ));
        }
        if p == k {
            if last_equal.as_ref() == Some(&p) {
                return Ok(p);
            }
            last_equal = Some(p);
            Err("equal once; checking it holds".to_string())
        } else {
            last_equal = None;
            Err(format!("prometheus: {p:#?}\nklaxon: {k:#?}"))
        }
    })
}

fn names(v: &View) -> Vec<(String, String)> {
    v.keys()
        .map(|(l, s)| (l.get("alertname").cloned().unwrap_or_default(), s.clone()))
        .collect()
}

#[test]
fn klaxon_and_prometheus_agree_at_every_step() {
    let exporter = Exporter::start();
    exporter.set("node_load", &[("node", "web-1")], 1.0);
    exporter.set("node_load", &[("node", "web-2")], 2.0);
    exporter.set("service_up", &[("job", "api")], 1.0);
    exporter.set("errors", &[("job", "api")], 1.0);
    exporter.set("requests", &[("job", "api")], 100.0);
    exporter.set("queue_messages", &[("queue", "a")], 10.0);

    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).expect("write rules");
    let prometheus = Prometheus::builder()
        .scrape("exporter", exporter.addr())
        .rule_file(&rules)
        .external_label("site", "lab")
        .start();
    let klaxon = Klaxon::builder()
        .prometheus_url(&prometheus.url())
        .rules(rules.to_str().expect("utf-8 path"))
        .arg("--external-label")
        .arg("site=lab")
        .start();

    settle(&prometheus, &klaxon, "nothing fires at first", &[]);

    // Step 1: load rises on one host; pending, then firing after 3s.
    exporter.set("node_load", &[("node", "web-1")], 7.5);
    let v = settle(
        &prometheus,
        &klaxon,
        "HighLoad on web-1 fires",
        &[("HighLoad", "firing")],
    );
    let annotations = v.values().next().expect("one alert");
    assert_eq!(
        annotations.get("summary").map(String::as_str),
        Some("load 7.5 on web-1")
    );

    // Step 2: a service goes down and the error ratio climbs.
    exporter.set("service_up", &[("job", "api")], 0.0);
    exporter.set("errors", &[("job", "api")], 60.0);
    settle(
        &prometheus,
        &klaxon,
        "InstanceDown and ErrorRatio fire",
        &[
            ("ErrorRatio", "firing"),
            ("HighLoad", "firing"),
            ("InstanceDown", "firing"),
        ],
    );

    // Step 3: the service comes back (keep_firing_for holds it 4s), load
    // drops, a queue explodes.
    exporter.set("service_up", &[("job", "api")], 1.0);
    exporter.set("node_load", &[("node", "web-1")], 0.5);
    exporter.set("queue_messages", &[("queue", "a")], 123_456_789.0);
    settle(
        &prometheus,
        &klaxon,
        "recoveries and the big queue",
        &[("BigQueue", "firing"), ("ErrorRatio", "firing")],
    );

    // Step 4: a second host overloads; the error ratio eases below 0.5.
    exporter.set("node_load", &[("node", "web-2")], 9.0);
    exporter.set("errors", &[("job", "api")], 20.0);
    settle(
        &prometheus,
        &klaxon,
        "web-2 overloaded, ratio eased",
        &[
            ("BigQueue", "firing"),
            ("ErrorRatio", "firing"),
            ("HighLoad", "firing"),
        ],
    );

    // Step 5: everything recovers.
    exporter.set("node_load", &[("node", "web-2")], 1.0);
    exporter.set("errors", &[("job", "api")], 0.0);
    exporter.set("queue_messages", &[("queue", "a")], 0.0);
    settle(&prometheus, &klaxon, "all clear", &[]);
}

/// Issue 21: rules with the same name and labels, as the cortex mixin's
/// `CortexRolloutStuck` (statefulsets, then deployments). Prometheus runs
/// every one of them; a reload adds an identical twin, which starts fresh.
const DUPLICATES: &str = r#"groups:
- name: rollouts
  interval: 1s
  rules:
  - alert: RolloutStuck
    expr: statefulset_stuck > 0
    labels:
      severity: warning
  - alert: RolloutStuck
    expr: deployment_stuck > 0
    labels:
      severity: warning
  - alert: Twin
    expr: twin_depth > 10
    for: 1h
    labels:
      severity: warning
"#;

const TWIN: &str = r#"  - alert: Twin
    expr: twin_depth > 10
    for: 1h
    labels:
      severity: warning
"#;

/// Each rule of `/api/v1/rules` in order: its name, query and alerts.
type RulesView = Vec<(String, String, Vec<(Labels, String)>)>;

fn rules_view(groups: Vec<crate::harness::ApiRuleGroup>) -> RulesView {
    groups
        .into_iter()
        .flat_map(|g| g.rules)
        .filter(|r| r.name != "KlaxonDatasourceDown")
        .map(|r| {
            let mut alerts: Vec<(Labels, String)> =
                r.alerts.into_iter().map(|a| (a.labels, a.state)).collect();
            alerts.sort();
            (r.name, r.query, alerts)
        })
        .collect()
}

/// Waits until Prometheus and klaxon list the same rules with the same
/// alerts, `want` (rule name, alert state or "" per rule) twice in a row.
fn settle_rules(prometheus: &Prometheus, klaxon: &Klaxon, step: &str, want: &[(&str, &str)]) {
    let mut last: Option<RulesView> = None;
    wait_for(Duration::from_secs(40), step, || {
        let p = rules_view(prometheus.rules());
        let k = rules_view(klaxon.rules());
        let states: Vec<(&str, &str)> = k
            .iter()
            .map(|(name, _, alerts)| {
                let state = alerts.first().map_or("", |(_, s)| s.as_str());
                (name.as_str(), state)
            })
            .collect();
        if p != k || states != want {
            last = None;
            return Err(format!("prometheus: {p:#?}\nklaxon: {k:#?}"));
        }
        if last.as_ref() == Some(&k) {
            return Ok(());
        }
        last = Some(k);
        Err("equal once; checking it holds".to_string())
    });
}

/// When each `Twin` rule's alert became active, in rule order.
fn twin_active_at(klaxon: &Klaxon) -> Vec<Option<String>> {
    klaxon
        .rules()
        .into_iter()
        .flat_map(|g| g.rules)
        .filter(|r| r.name == "Twin")
        .map(|r| r.alerts.first().and_then(|a| a.active_at.clone()))
        .collect()
}

#[test]
fn duplicate_rules_each_fire_keep_their_state_and_survive_a_restart() {
    let exporter = Exporter::start();
    exporter.set("statefulset_stuck", &[("statefulset", "ingester")], 1.0);
    exporter.set("deployment_stuck", &[("deployment", "distributor")], 1.0);
    exporter.set("twin_depth", &[("queue", "a")], 50.0);

    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, DUPLICATES).expect("write rules");
    let prometheus = Prometheus::builder()
        .scrape("exporter", exporter.addr())
        .rule_file(&rules)
        .start();
    let mut klaxon = Klaxon::builder()
        .prometheus_url(&prometheus.url())
        .rules(rules.to_str().expect("utf-8 path"))
        .start();
    settle_rules(
        &prometheus,
        &klaxon,
        "both RolloutStuck rules fire, Twin is pending",
        &[
            ("RolloutStuck", "firing"),
            ("RolloutStuck", "firing"),
            ("Twin", "pending"),
        ],
    );
    let alerts = view(klaxon.alerts());
    assert_eq!(
        names(&alerts),
        [
            ("RolloutStuck".to_string(), "firing".to_string()),
            ("RolloutStuck".to_string(), "firing".to_string()),
            ("Twin".to_string(), "pending".to_string()),
        ]
    );

    // An identical twin added by a reload is a rule of its own, pending
    // from now, while the first keeps the time it went pending.
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(&rules, format!("{DUPLICATES}{TWIN}")).expect("write rules");
    prometheus.reload();
    let answer = klaxon.reload();
    assert_eq!(answer.status, 200, "{}", answer.body);
    settle_rules(
        &prometheus,
        &klaxon,
        "the added twin is pending too",
        &[
            ("RolloutStuck", "firing"),
            ("RolloutStuck", "firing"),
            ("Twin", "pending"),
            ("Twin", "pending"),
        ],
    );
    let before = twin_active_at(&klaxon);
    assert!(
        before[0].is_some() && before[1].is_some() && before[0] < before[1],
        "each twin has its own state: {before:?}"
    );
    // Prometheus lists the twins' identical alerts twice; so does klaxon.
    let twins = klaxon
        .alerts()
        .into_iter()
        .filter(|a| a.name() == "Twin")
        .count();
    assert_eq!(twins, 2);

    let status = klaxon.terminate();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    klaxon.restart();
    assert_eq!(
        twin_active_at(&klaxon),
        before,
        "each twin restores its own state"
    );
    klaxon.kill9();
    klaxon.restart();
    assert_eq!(twin_active_at(&klaxon), before, "and after kill -9");
    settle_rules(
        &prometheus,
        &klaxon,
        "still agreeing after the restarts",
        &[
            ("RolloutStuck", "firing"),
            ("RolloutStuck", "firing"),
            ("Twin", "pending"),
            ("Twin", "pending"),
        ],
    );
}
