//! Checks the integration-test harness itself against the real Prometheus:
//! if these fail, the serve tests built on the harness cannot be trusted.

use std::time::Duration;

use crate::harness::api::{format_prom_float, parse_exposition, parse_prom_float};
use crate::harness::{AlertmanagerStub, Exporter, Klaxon, Prometheus, labels, wait_until};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn exporter_pages_parse_back_to_the_series_that_were_set() {
    let exporter = Exporter::start();
    exporter.set("queue_depth", &[("queue", "a \"quoted\" \\ name\nx")], 5.0);
    exporter.set("queue_depth", &[("queue", "b")], f64::INFINITY);
    exporter.set("up_ratio", &[], -0.25);
    exporter.set("broken", &[("z", "1"), ("a", "2")], f64::NAN);
    exporter.remove("up_ratio", &[]);

    let page = crate::harness::http::get(&exporter.url()).expect("scrape the exporter");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        page.headers
    );
    let samples = parse_exposition(&page.body).expect("parse the page");
    let seen: Vec<(String, crate::harness::Labels, String)> = samples
        .into_iter()
        .map(|s| (s.name, s.labels, format_prom_float(s.value)))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "broken".to_string(),
                labels(&[("a", "2"), ("z", "1")]),
                "NaN".to_string()
            ),
            (
                "queue_depth".to_string(),
                labels(&[("queue", "a \"quoted\" \\ name\nx")]),
                "5".to_string()
            ),
            (
                "queue_depth".to_string(),
                labels(&[("queue", "b")]),
                "+Inf".to_string()
            ),
        ]
    );
    assert_eq!(exporter.scrapes(), 1);

    exporter.set_failing(true);
    let failed = crate::harness::http::get(&exporter.url()).expect("scrape the exporter");
    assert_eq!(failed.status, 503);
    exporter.clear();
    exporter.set_failing(false);
    let empty = crate::harness::http::get(&exporter.url()).expect("scrape the exporter");
    assert_eq!((empty.status, empty.body.as_str()), (200, ""));
}

#[test]
fn prometheus_number_formats_round_trip() {
    for text in ["0", "1", "-2.5", "4.2e+01", "1e-09", "NaN", "+Inf", "-Inf"] {
        let value = parse_prom_float(text).unwrap_or_else(|| panic!("{text} does not parse"));
        let again = parse_prom_float(&format_prom_float(value)).expect("formatted value parses");
        assert!(
            again == value || (again.is_nan() && value.is_nan()),
            "{text}"
        );
    }
    assert_eq!(parse_prom_float("4.2e+01"), Some(42.0));
    assert_eq!(parse_prom_float("five"), None);
}

#[test]
fn dropping_the_exporter_closes_its_port() {
    let exporter = Exporter::start();
    let url = exporter.url();
    assert!(crate::harness::http::get(&url).is_ok());
    drop(exporter);
    assert!(
        crate::harness::http::get(&url).is_err(),
        "the exporter still answers after drop"
    );
}

#[test]
fn prometheus_sees_exporter_values_change_and_survives_a_restart() {
    let exporter = Exporter::start();
    exporter.set("harness_value", &[("series", "one")], 1.0);
    let mut prometheus = Prometheus::scraping(exporter.addr());

    let first = prometheus.wait_for_sample("harness_value", WAIT, |r| !r.is_empty());
    assert_eq!(
        first,
        vec![(
            labels(&[
                ("__name__", "harness_value"),
                ("instance", &exporter.addr().to_string()),
                ("job", "exporter"),
                ("series", "one"),
            ]),
            1.0
        )]
    );

    exporter.set("harness_value", &[("series", "one")], 42.5);
    prometheus.wait_for_value("harness_value", 42.5, WAIT);

    // Stopped: the datasource is down, queries fail to connect.
    let status = prometheus.stop();
    assert!(status.success(), "Prometheus exited with {status}");
    let error = prometheus
        .try_query("harness_value")
        .expect_err("a stopped Prometheus answers no query");
    assert!(error.contains("GET http://127.0.0.1:"), "{error}");

    // Back on the same port with the same data: the old sample is still in
    // the TSDB, and new values arrive again.
    let url = prometheus.url();
    prometheus.restart();
    assert_eq!(prometheus.url(), url);
    let history = prometheus.query("max_over_time(harness_value[10m])");
    assert_eq!(history.first().map(|(_, v)| *v), Some(42.5), "{history:?}");
    exporter.set("harness_value", &[("series", "one")], 7.0);
    prometheus.wait_for_value("harness_value", 7.0, WAIT);

    // A removed series goes stale: the query returns nothing.
    exporter.remove("harness_value", &[("series", "one")]);
    prometheus.wait_for_sample("harness_value", WAIT, |r| r.is_empty());
}

#[test]
fn prometheus_evaluates_a_rule_file_lists_and_sends_its_alerts() {
    let exporter = Exporter::start();
    let alertmanager = AlertmanagerStub::start();
    exporter.set("queue_depth", &[("queue", "a")], 10.0);
    let rules = tempfile::tempdir().expect("temporary directory");
    let rule_file = rules.path().join("alerts.yml");
    std::fs::write(
        &rule_file,
        r#"groups:
  - name: harness
    rules:
      - alert: QueueDeep
        expr: queue_depth > 5
        labels: { severity: warning }
        annotations: { summary: "{{ $labels.queue }} holds {{ $value }}" }
"#,
    )
    .expect("write rule file");
    let prometheus = Prometheus::builder()
        .scrape("exporter", exporter.addr())
        .rule_file(&rule_file)
        .alertmanager(&alertmanager.url())
        .start();

    let alert = wait_until(WAIT, "QueueDeep fires in Prometheus", || {
        prometheus
            .alerts()
            .into_iter()
            .find(|a| a.name() == "QueueDeep" && a.state == "firing")
    });
    assert_eq!(alert.label("queue"), Some("a"));
    assert_eq!(alert.label("severity"), Some("warning"));
    assert_eq!(alert.annotation("summary"), Some("a holds 10"));
    assert_eq!(alert.value_f64(), Some(10.0));
    assert!(alert.active_at.is_some());

    let groups = prometheus.rules();
    let names: Vec<(&str, &str, &str)> = groups
        .iter()
        .flat_map(|g| {
            g.rules
                .iter()
                .map(move |r| (g.name.as_str(), r.name.as_str(), r.health.as_str()))
        })
        .collect();
    assert_eq!(names, vec![("harness", "QueueDeep", "ok")]);
    assert_eq!(groups.first().map(|g| g.interval), Some(1.0));

    // What Prometheus posts to Alertmanager: the reference klaxon's
    // forwarding is compared with.
    let posted = wait_until(WAIT, "Prometheus posts QueueDeep", || {
        alertmanager
            .alerts()
            .into_iter()
            .find(|a| a.labels.get("alertname").map(String::as_str) == Some("QueueDeep"))
    });
    assert_eq!(
        posted.labels,
        labels(&[
            ("alertname", "QueueDeep"),
            ("instance", &exporter.addr().to_string()),
            ("job", "exporter"),
            ("queue", "a"),
            ("severity", "warning"),
        ])
    );
    assert_eq!(
        posted.annotations.get("summary").map(String::as_str),
        Some("a holds 10")
    );
    assert!(posted.starts_at.is_some() && posted.ends_at.is_some());
    assert!(
        posted
            .generator_url
            .as_deref()
            .is_some_and(|u| u.starts_with(&format!("{}/graph?g0.expr=", prometheus.url()))),
        "{posted:?}"
    );
}

#[test]
fn prometheus_scrape_targets_can_be_added_while_it_runs() {
    let first = Exporter::start();
    let second = Exporter::start();
    first.set("harness_target", &[], 1.0);
    second.set("harness_target", &[], 2.0);
    let mut prometheus = Prometheus::scraping(first.addr());
    prometheus.wait_for_sample("harness_target", WAIT, |r| r.len() == 1);

    prometheus.add_scrape("second", second.addr());
    let both = prometheus.wait_for_sample("sort(harness_target)", WAIT, |r| r.len() == 2);
    let jobs: Vec<(Option<&str>, f64)> = both
        .iter()
        .map(|(l, v)| (l.get("job").map(String::as_str), *v))
        .collect();
    assert_eq!(jobs, vec![(Some("exporter"), 1.0), (Some("second"), 2.0)]);
}

#[test]
fn wait_until_returns_the_first_value_that_satisfies_it() {
    let mut calls = 0;
    let found = wait_until(Duration::from_secs(5), "the third call", || {
        calls += 1;
        (calls == 3).then_some(calls * 10)
    });
    assert_eq!(found, 30);
}

#[test]
fn wait_until_panics_naming_what_it_waited_for() {
    let outcome = std::panic::catch_unwind(|| {
        crate::harness::wait_for(Duration::from_millis(300), "the sky turns green", || {
            Err::<(), _>("still blue")
        })
    });
    let message = outcome
        .expect_err("waiting for the impossible must fail")
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(
        message.contains("waiting until the sky turns green") && message.contains("still blue"),
        "{message}"
    );
}

const KLAXON_RULES: &str = r#"groups:
  - name: harness
    interval: 1s
    rules:
      - alert: QueueDeep
        expr: queue_depth > 5
"#;

#[test]
fn klaxon_starts_answers_and_restarts_on_the_same_port_and_data() {
    let exporter = Exporter::start();
    exporter.set("queue_depth", &[("queue", "a")], 10.0);
    let prometheus = Prometheus::scraping(exporter.addr());
    let mut klaxon = Klaxon::builder()
        .prometheus_url(&prometheus.url())
        .rules_file("alerts.yml", KLAXON_RULES)
        .start();
    let firing = |klaxon: &Klaxon| {
        klaxon
            .alerts()
            .into_iter()
            .find(|a| a.name() == "QueueDeep" && a.state == "firing")
    };
    let before = wait_until(WAIT, "QueueDeep fires in klaxon", || firing(&klaxon));
    assert_eq!(before.label("queue"), Some("a"));

    let groups = klaxon.rules();
    let rules: Vec<(&str, &str)> = groups
        .iter()
        .filter(|g| g.name == "harness")
        .flat_map(|g| g.rules.iter().map(|r| (r.name.as_str(), r.health.as_str())))
        .collect();
    assert_eq!(rules, vec![("QueueDeep", "ok")], "{groups:?}");
    assert_eq!(
        klaxon.get_json("/api/v1/alerts")["status"].as_str(),
        Some("success")
    );
    assert!(
        !klaxon.metric("klaxon_rule_evaluations_total").is_empty(),
        "no klaxon_rule_evaluations_total on /metrics"
    );
    assert_eq!(klaxon.reload().status, 200);

    // SIGTERM: clean exit, then the same port and data directory again.
    let url = klaxon.url();
    let status = klaxon.terminate();
    assert!(status.success(), "klaxon exited with {status}");
    assert!(crate::harness::http::get(&format!("{url}/-/ready")).is_err());
    klaxon.restart();
    assert_eq!(klaxon.url(), url);
    let after = wait_until(WAIT, "QueueDeep fires after the restart", || {
        firing(&klaxon)
    });
    assert_eq!(
        after.active_at, before.active_at,
        "state came from the data dir"
    );

    // kill -9, then again.
    klaxon.kill9();
    assert!(!klaxon.is_running());
    klaxon.restart();
    let after_kill = wait_until(WAIT, "QueueDeep fires after kill -9", || firing(&klaxon));
    assert_eq!(after_kill.active_at, before.active_at);
    assert!(klaxon.stderr().matches("==== harness: run").count() == 3);
}

#[test]
fn klaxon_that_cannot_start_reports_its_exit_and_output() {
    let error = match Klaxon::builder().arg("--no-such-flag").try_start() {
        Ok(_) => panic!("klaxon started with an unknown flag"),
        Err(e) => e,
    };
    assert_eq!(error.status.and_then(|s| s.code()), Some(2), "{error}");
    assert!(error.stderr.contains("--no-such-flag"), "{error}");
    assert!(
        !error.stderr.contains("==== harness"),
        "the harness's marker line is not klaxon's output: {error}"
    );
}

#[test]
fn self_monitoring_rules_evaluate_cleanly_on_klaxons_own_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/klaxon-self.rules");
    let text = std::fs::read_to_string(path).expect("read rules/klaxon-self.rules");
    // The same rules, evaluated every second instead of every 30s.
    let fast = text.replace("every 30s", "every 1s");
    assert_ne!(
        fast, text,
        "rules/klaxon-self.rules no longer says `every 30s`"
    );
    let mut prometheus = Prometheus::builder().start();
    let klaxon = Klaxon::builder()
        .prometheus_url(&prometheus.url())
        .rules_file("klaxon-self.rules", &fast)
        .start();
    prometheus.add_scrape("klaxon", klaxon.addr());

    // The slowness ratio joins two metrics on `group`: it returns the group.
    let ratio = prometheus.wait_for_sample(
        "max by (group) (klaxon_group_last_duration_seconds / klaxon_group_interval_seconds)",
        WAIT,
        |r| !r.is_empty(),
    );
    let groups: Vec<Option<&str>> = ratio
        .iter()
        .map(|(l, _)| l.get("group").map(String::as_str))
        .collect();
    assert!(groups.contains(&Some("klaxon-self")), "{ratio:?}");

    // Every rule is evaluated and none errs; nothing fires on a healthy klaxon.
    let health = || -> Vec<(String, String, Option<String>)> {
        klaxon
            .rules()
            .into_iter()
            .filter(|g| g.name == "klaxon-self")
            .flat_map(|g| g.rules)
            .map(|r| (r.name, r.health, r.last_error.filter(|e| !e.is_empty())))
            .collect()
    };
    let expected: Vec<(String, String, Option<String>)> = [
        "KlaxonRuleEvaluationFailing",
        "KlaxonGroupIterationsMissed",
        "KlaxonGroupSlow",
        "KlaxonDatasourceErrors",
    ]
    .iter()
    .map(|name| (name.to_string(), "ok".to_string(), None))
    .collect();
    crate::harness::wait_for(WAIT, "the self rules evaluate without errors", || {
        let now = health();
        if now == expected { Ok(()) } else { Err(now) }
    });
    let alerts: Vec<String> = klaxon
        .alerts()
        .iter()
        .map(|a| a.name().to_string())
        .collect();
    assert_eq!(alerts, Vec::<String>::new());

    // With Prometheus gone, the failure and error counters the rules read
    // appear with the labels their `by` clauses and summaries use.
    prometheus.stop();
    // The counters exist at 0 from the start; wait until they count.
    // Every rule of the group fails in the same round; wait for the last.
    let failures = wait_until(WAIT, "rule failures are counted", || {
        let samples = klaxon.metric("klaxon_rule_evaluation_failures_total");
        samples
            .iter()
            .any(|(l, v)| *v > 0.0 && l.get("rule").map(String::as_str) == Some("KlaxonGroupSlow"))
            .then_some(samples)
    });
    let errors = wait_until(WAIT, "datasource errors are counted", || {
        let samples = klaxon.metric("klaxon_datasource_errors_total");
        samples.iter().any(|(_, v)| *v > 0.0).then_some(samples)
    });
    assert!(
        failures.iter().any(|(l, v)| {
            *v > 0.0
                && l.get("group").map(String::as_str) == Some("klaxon-self")
                && l.get("rule").map(String::as_str) == Some("KlaxonGroupSlow")
        }),
        "{failures:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(l, v)| l.get("datasource").is_some_and(|d| !d.is_empty()) && *v > 0.0),
        "{errors:?}"
    );
}
