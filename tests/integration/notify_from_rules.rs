//! The whole product in one process: `klaxon serve` evaluates a DSL rule
//! against a real Prometheus scraping a test exporter, and its own notifier
//! tells a webhook receiver — firing, an escalation announced at once (the
//! resolved warning in the same message), and the final resolve.

use std::time::{Duration, Instant};

use crate::harness::{Exporter, Klaxon, Prometheus, WebhookSink, wait_until};
use serde_json::Value;

const T: Duration = Duration::from_secs(40);

fn rules(sink: &WebhookSink) -> String {
    format!(
        r#"group lag {{
  every 1s
  alert ConsumerLag {{
    query prometheus `consumer_lag`
    warning  when value > 100
    critical when value > 1000
    resolve  when value < 50
    summary "lag {{{{ $value }}}} on {{{{ $labels.topic }}}}"
  }}
}}

receiver streaming {{ webhook {{ url "{}" }} }}
route {{
  receiver streaming
  group_by alertname, topic
  group_wait 1s
  group_interval 1m
  resolve_wait 1s
}}
"#,
        sink.url("/streaming")
    )
}

/// (status, [(severity, status)]) of each notification, in arrival order.
fn said(sink: &WebhookSink) -> Vec<(String, Vec<(String, String)>)> {
    sink.delivered("/streaming")
        .iter()
        .map(|r| {
            let mut alerts: Vec<(String, String)> = r.body["alerts"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            (
                                x["labels"]["severity"].as_str().unwrap_or("").to_string(),
                                x["status"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            alerts.sort();
            (r.body["status"].as_str().unwrap_or("").to_string(), alerts)
        })
        .collect()
}

fn pair(severity: &str, status: &str) -> (String, String) {
    (severity.to_string(), status.to_string())
}

#[test]
fn evaluated_alerts_are_notified_escalated_at_once_and_resolved() {
    let exporter = Exporter::start();
    exporter.set("consumer_lag", &[("topic", "orders")], 0.0);
    let prometheus = Prometheus::scraping(exporter.addr());
    let sink = WebhookSink::start();
    let klaxon = Klaxon::builder()
        .prometheus_url(&prometheus.url())
        .config_file("klaxon.rules", &rules(&sink))
        .start();
    let set = |v: f64| {
        exporter.set("consumer_lag", &[("topic", "orders")], v);
        prometheus.wait_for_value("consumer_lag", v, T);
    };

    set(500.0);
    wait_until(T, "the warning is notified", || {
        (said(&sink).len() == 1).then_some(())
    });
    assert_eq!(
        said(&sink)[0],
        ("firing".into(), vec![pair("warning", "firing")])
    );
    let first: Value = sink.delivered("/streaming")[0].body.clone();
    assert_eq!(first["groupLabels"]["topic"], "orders");
    assert!(
        first["alerts"][0]["annotations"]["summary"]
            .as_str()
            .unwrap_or("")
            .contains("on orders"),
        "{first:#}"
    );

    // Escalation: announced without waiting for group_interval (1m).
    let escalated_at = Instant::now();
    set(5000.0);
    wait_until(T, "the escalation is notified", || {
        (said(&sink).len() == 2).then_some(())
    });
    assert!(escalated_at.elapsed() < Duration::from_secs(20));
    assert_eq!(
        said(&sink)[1],
        (
            "firing".into(),
            vec![pair("critical", "firing"), pair("warning", "resolved")]
        ),
        "{:#?}\n{}",
        sink.delivered("/streaming")
            .iter()
            .map(|r| r.body.clone())
            .collect::<Vec<_>>(),
        klaxon.stderr()
    );

    // Resolve: promptly, not at the next group_interval tick.
    let resolved_at = Instant::now();
    set(10.0);
    wait_until(T, "the resolve is notified", || {
        (said(&sink).len() == 3).then_some(())
    });
    assert!(resolved_at.elapsed() < Duration::from_secs(20));
    assert_eq!(
        said(&sink)[2],
        ("resolved".into(), vec![pair("critical", "resolved")])
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(said(&sink).len(), 3, "nothing else: {:#?}", said(&sink));
}
