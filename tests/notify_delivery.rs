//! Never lose, rarely repeat: `klaxon serve` delivering webhook
//! notifications to a real HTTP sink that fails, rate-limits and hangs, and
//! klaxon killed with SIGKILL in the middle of a burst.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Klaxon, Reply, WebhookSink, wait_until};

fn config(sink: &WebhookSink) -> String {
    format!(
        r#"
receiver hook {{ webhook {{ url "{}"  timeout 1s }} }}
route {{
  receiver hook
  group_by alertname
  group_wait 1s
  group_interval 1m
  repeat_interval 4h
}}
"#,
        sink.url("/hook")
    )
}

fn post_alerts(klaxon: &Klaxon, names: impl IntoIterator<Item = String>) {
    let alerts: Vec<Value> = names
        .into_iter()
        .map(|n| json!({"labels": {"alertname": n, "severity": "warning"}}))
        .collect();
    let response = support::http::post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        "application/json",
        Value::Array(alerts).to_string().as_bytes(),
    )
    .expect("klaxon answers");
    assert_eq!(response.status, 200, "{}", response.body);
}

/// Deliveries (2xx) per group key.
fn per_group(sink: &WebhookSink) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in sink.delivered("/hook") {
        let key = r.body["groupKey"].as_str().unwrap_or("").to_string();
        *out.entry(key).or_default() += 1;
    }
    out
}

fn notifications(klaxon: &Klaxon) -> Vec<Value> {
    klaxon.get_json("/api/v1/notifications?limit=1000")["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn failures_then_recovery_deliver_every_notification_exactly_once() {
    let sink = WebhookSink::start();
    sink.script([
        Reply::Status(500),
        Reply::Status(429),
        Reply::Hang,
        Reply::Status(503),
    ]);
    let klaxon = Klaxon::builder()
        .config_file("klaxon.rules", &config(&sink))
        .start();
    post_alerts(&klaxon, (0..3).map(|i| format!("Problem{i}")));

    wait_until(Duration::from_secs(60), "three groups delivered", || {
        (per_group(&sink).len() == 3).then_some(())
    });
    // Give any stray duplicate time to show up.
    std::thread::sleep(Duration::from_secs(3));
    let groups = per_group(&sink);
    assert_eq!(groups.len(), 3, "{groups:?}");
    assert!(
        groups.values().all(|n| *n == 1),
        "each exactly once: {groups:?}"
    );
    // Four failed answers plus three successes: nothing was given up.
    assert_eq!(sink.arrived(), 7, "{:#?}", sink.received());

    let history = notifications(&klaxon);
    assert_eq!(history.len(), 3, "{history:#?}");
    assert!(
        history.iter().all(|n| n["status"] == "delivered"),
        "{history:#?}"
    );
    let attempts: u64 = history.iter().filter_map(|n| n["attempts"].as_u64()).sum();
    assert_eq!(attempts, 7, "every attempt is in the history: {history:#?}");
}

#[test]
fn permanent_rejection_is_recorded_failed_not_retried() {
    let sink = WebhookSink::start();
    sink.script([Reply::Status(400)]);
    let klaxon = Klaxon::builder()
        .config_file("klaxon.rules", &config(&sink))
        .start();
    post_alerts(&klaxon, ["Rejected".to_string()]);
    let failed = wait_until(
        Duration::from_secs(20),
        "the notification is failed",
        || {
            notifications(&klaxon)
                .into_iter()
                .find(|n| n["status"] == "failed")
        },
    );
    assert!(
        failed["lastError"].as_str().unwrap_or("").contains("400"),
        "{failed:#?}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.arrived(), 1, "a 4xx is not retried");
}

#[test]
fn kill_9_in_a_burst_loses_nothing_and_repeats_only_what_was_in_flight() {
    let sink = WebhookSink::start();
    // A slow receiver keeps notifications in flight when klaxon dies.
    sink.set_delay(Duration::from_millis(1500));
    let mut klaxon = Klaxon::builder()
        .config_file(
            "klaxon.rules",
            &config(&sink).replace("timeout 1s", "timeout 10s"),
        )
        .start();
    let total = 60;
    post_alerts(&klaxon, (0..total).map(|i| format!("Burst{i:02}")));
    wait_until(Duration::from_secs(30), "some deliveries", || {
        (sink.delivered("/hook").len() >= 5).then_some(())
    });
    let committed = notifications(&klaxon)
        .iter()
        .filter(|n| n["status"] == "delivered")
        .count();
    klaxon.kill9();
    let sent_before_death = sink.arrived();
    assert!(
        sent_before_death < total + committed,
        "the kill came too late to test anything"
    );

    klaxon.restart();
    wait_until(
        Duration::from_secs(90),
        "every group delivered after restart",
        || (per_group(&sink).len() == total).then_some(()),
    );
    std::thread::sleep(Duration::from_secs(3));
    let groups = per_group(&sink);
    assert_eq!(groups.len(), total, "nothing lost");
    let duplicates: usize = groups.values().map(|n| n - 1).sum();
    let in_flight = sent_before_death - committed;
    eprintln!(
        "kill -9 after {committed} committed deliveries, {sent_before_death} sent: {duplicates} duplicates, {in_flight} in flight"
    );
    assert!(
        duplicates <= in_flight,
        "{duplicates} duplicates but only {in_flight} notifications were in flight at the kill"
    );
}
