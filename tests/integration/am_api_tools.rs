//! klaxon's Alertmanager API driven by the real clients: `amtool` (0.25)
//! adding, querying and expiring silences and adding and listing alerts,
//! Prometheus 2.42 sending its alerts to `POST /api/v2/alerts`, and an
//! Alertmanager 0.25 handing its notifications to
//! `POST /api/v1/receivers/alertmanager` through a webhook receiver.

use std::time::Duration;

use crate::harness::am_api::{AmServer, http};
use crate::harness::amtool::amtool;
use crate::harness::files::write_file;
use crate::harness::{Alertmanager, Prometheus, wait_for};
use klaxon::api::alertmanager::AlertmanagerApiOptions;
use klaxon::notify::alert::AlertSource;

const TOKEN: &str = "amtool-and-alertmanager-s3cret";

fn with_token() -> AmServer {
    AmServer::with_token(Some(TOKEN), AlertmanagerApiOptions::default(), &["default"])
}

#[test]
fn amtool_adds_queries_and_expires_silences_and_alerts() {
    let klaxon = with_token();
    let url = klaxon.url();
    let dir = tempfile::tempdir().unwrap();
    // amtool sends a bearer token through its HTTP client configuration.
    let auth = write_file(
        dir.path(),
        "http.yml",
        &format!("authorization:\n  type: Bearer\n  credentials: {TOKEN}\n"),
    );
    let run = |args: &[&str]| {
        let run = amtool(&url, Some(&auth), args);
        assert!(
            run.ok,
            "amtool {args:?} failed: {}\n{}",
            run.stderr, run.stdout
        );
        run.stdout
    };

    // Without the token, writing is refused and amtool says so.
    let refused = amtool(
        &url,
        None,
        &["alert", "add", "alertname=Nope", "--annotation=summary=x"],
    );
    assert!(!refused.ok, "{refused:?}");
    assert!(klaxon.alerts().is_empty());

    run(&[
        "alert",
        "add",
        "alertname=DiskFull",
        "instance=db-1",
        "severity=critical",
        "--annotation=summary=disk is full",
        "--generator-url=http://prometheus/graph",
    ]);
    run(&["alert", "add", "alertname=CPU", "instance=web-1"]);
    let stored = klaxon
        .alerts()
        .snapshot()
        .into_iter()
        .find(|a| a.labels.value("alertname") == "DiskFull")
        .expect("amtool's alert is stored");
    assert_eq!(stored.annotations.value("summary"), "disk is full");
    assert_eq!(&*stored.generator_url, "http://prometheus/graph");
    assert!(
        stored.timeout,
        "amtool sends no end: resolve_timeout applies"
    );

    let listed = run(&["alert", "query"]);
    assert!(
        listed.contains("DiskFull") && listed.contains("CPU"),
        "{listed}"
    );
    assert!(listed.contains("disk is full"), "{listed}");
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "-o",
        "json",
        "alert",
        "query",
        "alertname=DiskFull",
    ]))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["labels"]["instance"], "db-1");
    assert_eq!(
        json[0]["receivers"],
        serde_json::json!([{"name": "default"}])
    );

    // Silence DiskFull; amtool prints the new id.
    let id = run(&[
        "silence",
        "add",
        "alertname=DiskFull",
        "instance=~db-.*",
        "--author=ops",
        "--comment=replacing the disk",
        "--duration=2h",
    ])
    .trim()
    .to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id:?}");
    let silence = klaxon.silences().get(&id).expect("stored");
    assert_eq!(silence.created_by, "ops");
    assert_eq!(silence.comment, "replacing the disk");
    let two_hours = silence.ends_at - silence.starts_at;
    assert!((7_190_000..=7_200_000).contains(&two_hours), "{two_hours}");

    let query = run(&["silence", "query"]);
    assert!(query.contains(&id), "{query}");
    assert!(query.contains(r#"alertname="DiskFull""#), "{query}");
    assert!(query.contains(r#"instance=~"db-.*""#), "{query}");
    assert!(query.contains("replacing the disk"), "{query}");
    assert_eq!(
        run(&["silence", "query", "-q", "alertname=DiskFull"]).trim(),
        id
    );
    assert_eq!(run(&["silence", "query", "-q", "alertname=CPU"]).trim(), "");

    // The silenced alert shows as suppressed; filtering hides it.
    let silenced = run(&["alert", "query", "--silenced", "alertname=DiskFull"]);
    assert!(silenced.contains("suppressed"), "{silenced}");
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "-o",
        "json",
        "alert",
        "query",
        "--silenced",
        "alertname=DiskFull",
    ]))
    .unwrap();
    assert_eq!(json[0]["status"]["silencedBy"], serde_json::json!([id]));
    assert_eq!(json[0]["status"]["state"], "suppressed");
    let active_only = run(&["alert", "query"]);
    assert!(!active_only.contains("DiskFull"), "{active_only}");

    // Expire it: gone from the default query, listed with --expired.
    run(&["silence", "expire", &id]);
    assert_eq!(run(&["silence", "query", "-q"]).trim(), "");
    let expired = run(&["silence", "query", "--expired", "-q"]);
    assert_eq!(expired.trim(), id);
    assert!(run(&["alert", "query"]).contains("DiskFull"));

    // Expiring an unknown silence fails as it does against Alertmanager.
    let unknown = amtool(
        &url,
        Some(&auth),
        &["silence", "expire", "5e365d67-1c49-47e4-8d6a-000000000000"],
    );
    assert!(!unknown.ok);
    assert!(unknown.stderr.contains("silence not found"), "{unknown:?}");
}

#[test]
fn prometheus_sends_its_alerts_to_klaxon() {
    let klaxon = AmServer::start();
    let rules = "\
groups:
  - name: always
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        for: 0s
        labels:
          severity: warning
        annotations:
          summary: 'value is {{ $value }}'
";
    let rules_dir = tempfile::tempdir().unwrap();
    let prometheus = Prometheus::builder()
        .rule_file(write_file(rules_dir.path(), "rules.yml", rules))
        .alertmanager(&klaxon.addr().to_string())
        // The first send happens before the Alertmanager list is synced
        // (and is dropped); re-send every second rather than after the
        // default minute.
        .arg("--rules.alert.resend-delay=1s")
        .start();
    let alert = wait_for(
        Duration::from_secs(60),
        "Prometheus's alert arrives",
        || {
            klaxon
                .alerts()
                .snapshot()
                .into_iter()
                .find(|a| a.labels.value("alertname") == "AlwaysFiring")
                .ok_or_else(|| prometheus.log())
        },
    );
    assert_eq!(alert.labels.value("severity"), "warning");
    assert_eq!(alert.annotations.value("summary"), "value is 1");
    assert!(
        alert
            .generator_url
            .starts_with(&format!("{}/graph?g0.expr=vector%281%29", prometheus.url())),
        "{}",
        alert.generator_url
    );
    assert_eq!(alert.source, AlertSource::Api);
    // Prometheus sends an explicit end (a few resend delays ahead).
    assert!(!alert.timeout);
    let now = chrono::Utc::now().timestamp_millis();
    assert!(alert.ends_at > now, "still firing");
    // Repeated sends merge into one alert that keeps its first start.
    let first_start = alert.starts_at;
    wait_for(Duration::from_secs(30), "Prometheus re-sends it", || {
        let current = klaxon.alerts().get(alert.labels.fingerprint()).unwrap();
        if current.updated_at > alert.updated_at {
            Ok(current)
        } else {
            Err(current.updated_at)
        }
    });
    let current = klaxon.alerts().get(alert.labels.fingerprint()).unwrap();
    assert_eq!(current.starts_at, first_start);
    assert_eq!(klaxon.alerts().len(), 1);
    let listed = http::get(&format!("{}/api/v2/alerts", klaxon.url())).json();
    assert_eq!(listed[0]["labels"]["alertname"], "AlwaysFiring");
    assert_eq!(listed[0]["status"]["state"], "active");
}

#[test]
fn an_alertmanager_hands_its_alerts_to_klaxon_by_webhook() {
    let klaxon = with_token();
    let config = format!(
        "\
route:
  receiver: klaxon
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: klaxon
    webhook_configs:
      - url: {url}/api/v1/receivers/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
",
        url = klaxon.url()
    );
    let alertmanager = Alertmanager::start(&config);
    let post = |body: &str| {
        let response = http::post_json(&format!("{}/api/v2/alerts", alertmanager.url()), body);
        assert_eq!(response.status, 200, "{}", response.text());
    };
    post(
        r#"[{"labels":{"alertname":"Upstream","instance":"a"},"annotations":{"summary":"from AM"},
             "generatorURL":"http://prometheus/graph?g0.expr=up"},
            {"labels":{"alertname":"Upstream","instance":"b"}}]"#,
    );
    let arrived = wait_for(
        Duration::from_secs(30),
        "the webhook delivers both alerts",
        || {
            let alerts = klaxon.alerts().snapshot();
            if alerts.len() == 2 {
                Ok(alerts)
            } else {
                Err((alerts.len(), alertmanager.log()))
            }
        },
    );
    let a = arrived
        .iter()
        .find(|a| a.labels.value("instance") == "a")
        .unwrap();
    assert_eq!(a.source, AlertSource::AlertmanagerWebhook);
    assert_eq!(a.annotations.value("summary"), "from AM");
    assert_eq!(&*a.generator_url, "http://prometheus/graph?g0.expr=up");
    // A firing alert arrives with endsAt 0001-01-01T00:00:00Z: treated as
    // missing, it ends after the webhook's timeout unless refreshed.
    assert!(a.timeout);
    let hours = (a.ends_at - a.updated_at) / 3_600_000;
    assert_eq!(
        hours, 4,
        "the webhook's resolve timeout outlasts repeat_interval"
    );

    // Resolve one upstream: the resolved notification carries its end.
    let ended = "2020-01-01T00:00:00Z";
    post(&format!(
        r#"[{{"labels":{{"alertname":"Upstream","instance":"b"}},"startsAt":"2019-12-31T00:00:00Z","endsAt":"{ended}"}}]"#
    ));
    let resolved = wait_for(Duration::from_secs(30), "the resolve arrives", || {
        let b = klaxon
            .alerts()
            .snapshot()
            .into_iter()
            .find(|a| a.labels.value("instance") == "b")
            .unwrap();
        if b.ends_at <= chrono::Utc::now().timestamp_millis() {
            Ok(b)
        } else {
            Err((b, alertmanager.log()))
        }
    });
    assert!(!resolved.timeout);
    assert_eq!(resolved.ends_at, 1_577_836_800_000);
    let listed = http::get(&format!("{}/api/v2/alerts", klaxon.url())).json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "resolved alerts are not listed"
    );
}

/// Issue 22: `amtool silence add` over a limit fails and shows klaxon's
/// message naming the limit.
#[test]
fn amtool_shows_which_silence_limit_refused_it() {
    let klaxon = AmServer::with_silence_limits(klaxon::notify::silence::SilenceLimits {
        max_matchers: 2,
        ..Default::default()
    });
    let url = klaxon.url();
    let args = [
        "silence",
        "add",
        "alertname=DiskFull",
        "instance=~db-.*",
        "job=node",
        "--comment=too many",
    ];
    let refused = amtool(&url, None, &args);
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("too many matchers: 3 (limit: 2, --silences.max-matchers)"),
        "{refused:?}"
    );
    assert!(klaxon.silences().list().is_empty());
    let accepted = amtool(
        &url,
        None,
        &[
            "silence",
            "add",
            "alertname=DiskFull",
            "instance=~db-.*",
            "--comment=two",
        ],
    );
    assert!(accepted.ok, "{accepted:?}");
    assert_eq!(klaxon.silences().list().len(), 1);
}
