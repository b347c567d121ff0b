//! The SMTP server is down when klaxon has something to say: the email is
//! retried with backoff, shows as pending with its last error in
//! `/api/v1/notifications`, and is delivered once the server is back — and
//! the resolve that follows lands in the same thread.

use std::time::Duration;

use crate::harness::smtp_sink::{Mail, SinkOptions, SmtpSink};
use crate::harness::{Klaxon, wait_until};
use serde_json::{Value, json};

fn post(klaxon: &Klaxon, alerts: Value) {
    let response = crate::harness::http::post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        "application/json",
        alerts.to_string().as_bytes(),
    )
    .expect("klaxon answers");
    assert_eq!(response.status, 200, "{}", response.body);
}

fn history(klaxon: &Klaxon) -> Vec<Value> {
    klaxon.get_json("/api/v1/notifications")["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn smtp_down_then_back_delivers_and_threads_the_resolve() {
    let port = crate::harness::free_port();
    let config = format!(
        r#"
receiver mail {{
  email {{ to "oncall@example.com"  from "klaxon@example.com"  smarthost "127.0.0.1:{port}"  tls none }}
}}
route {{ receiver mail  group_by alertname  group_wait 1s  resolve_wait 1s }}
"#
    );
    let klaxon = Klaxon::builder()
        .config_file("klaxon.rules", &config)
        .start();
    post(
        &klaxon,
        json!([{"labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
                "annotations": {"summary": "disk 97% full"}}]),
    );

    // Nothing listens: the notification stays pending with the reason.
    let pending = wait_until(Duration::from_secs(30), "a retried, pending email", || {
        history(&klaxon)
            .into_iter()
            .find(|n| n["status"] == "pending" && n["attempts"].as_u64().unwrap_or(0) >= 2)
    });
    assert!(
        !pending["lastError"].as_str().unwrap_or("").is_empty(),
        "{pending:#?}"
    );

    // The server comes back on the same port: the email arrives once.
    let smtp = SmtpSink::start(SinkOptions {
        port: Some(port),
        ..SinkOptions::default()
    });
    let first = wait_until(
        Duration::from_secs(60),
        "the email after the outage",
        || smtp.messages().into_iter().next(),
    );
    let mail = Mail::parse(&first.raw);
    assert!(
        mail.header("Subject").unwrap_or("").contains("DiskFull"),
        "{}",
        first.raw
    );
    let message_id = mail.header("Message-ID").unwrap_or("").to_string();
    assert!(!message_id.is_empty());
    assert_eq!(first.rcpt_tos, vec!["oncall@example.com".to_string()]);

    // The resolve replies to the first message.
    post(
        &klaxon,
        json!([{"labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
                "endsAt": chrono::Utc::now().to_rfc3339()}]),
    );
    let resolved = wait_until(Duration::from_secs(30), "the resolve email", || {
        smtp.messages().into_iter().nth(1)
    });
    let reply = Mail::parse(&resolved.raw);
    assert_eq!(
        reply.header("In-Reply-To"),
        Some(message_id.as_str()),
        "{}",
        resolved.raw
    );
    assert!(
        reply
            .header("References")
            .unwrap_or("")
            .contains(&message_id)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(smtp.messages().len(), 2, "each email exactly once");
    let done = history(&klaxon);
    assert!(done.iter().all(|n| n["status"] == "delivered"), "{done:#?}");
}
