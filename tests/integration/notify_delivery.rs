//! Never lose, rarely repeat: `klaxon serve` delivering webhook
//! notifications to a real HTTP sink that fails, rate-limits and hangs, and
//! klaxon killed with SIGKILL in the middle of a burst.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{Klaxon, Reply, WebhookSink, wait_until};
use serde_json::{Value, json};

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
    let response = crate::harness::http::post(
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

/// Opens a connection to klaxon's API that sends `head` (maybe nothing)
/// and then waits.
fn hold(klaxon: &Klaxon, head: &[u8]) -> std::net::TcpStream {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(klaxon.addr())
        .unwrap_or_else(|e| panic!("cannot connect to klaxon: {e}"));
    if !head.is_empty() {
        stream.write_all(head).expect("send a partial request");
    }
    stream
}

/// Reads what klaxon sends on `stream` until it closes it; panics unless
/// that happens within `within`.
fn until_closed(stream: &mut std::net::TcpStream, within: Duration) -> String {
    use std::io::Read as _;
    stream
        .set_read_timeout(Some(within))
        .expect("set a read timeout");
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&got).into_owned();
            }
            Err(e) => panic!(
                "klaxon did not close the connection within {within:?} ({e}); got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

/// A client holding many more idle, half-sent-head and half-sent-body
/// sockets than klaxon serves at once (open-file limit 256, so at most 128
/// connections) neither locks out health checks nor stops deliveries, the
/// slow sockets are closed after their timeouts, and klaxon never runs out
/// of descriptors.
#[test]
fn idle_and_slow_sockets_cannot_lock_klaxon_out() {
    let sink = WebhookSink::start();
    let klaxon = Klaxon::builder()
        .config_file("klaxon.rules", &config(&sink))
        .open_files_limit(256)
        .args([
            "--api.idle-timeout",
            "4s",
            "--api.header-timeout",
            "1s",
            "--api.body-timeout",
            "1s",
        ])
        .start();
    assert!(
        klaxon.stderr().contains("max_connections=128"),
        "{}",
        klaxon.stderr()
    );
    let healthy_within = |what: &str| {
        let started = std::time::Instant::now();
        let answer = klaxon.get("/-/healthy");
        assert_eq!(answer.status, 200, "{what}: {}", answer.body);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what}: /-/healthy took {:?}",
            started.elapsed()
        );
    };
    let mut held = Vec::new();
    for round in 0..4 {
        for _ in 0..100 {
            held.push(hold(&klaxon, b""));
        }
        for _ in 0..25 {
            held.push(hold(
                &klaxon,
                b"GET /-/healthy HTTP/1.1\r\nHost: klaxon\r\n",
            ));
            held.push(hold(
                &klaxon,
                b"POST /api/v2/alerts HTTP/1.1\r\nHost: klaxon\r\nContent-Length: 1000\r\n\r\n[{",
            ));
        }
        healthy_within(&format!("with {} sockets held (round {round})", held.len()));
    }
    // Deliveries go on: an alert posted now reaches the webhook.
    post_alerts(&klaxon, ["HeldOpen".to_string()]);
    wait_until(Duration::from_secs(20), "the alert is delivered", || {
        (!sink.delivered("/hook").is_empty()).then_some(())
    });
    healthy_within(&format!("after the delivery, {} sockets held", held.len()));

    // Every held socket is closed by klaxon: evicted for newer ones or timed out.
    let mut answered_408 = 0;
    for stream in &mut held {
        let got = until_closed(stream, Duration::from_secs(10));
        if got.starts_with("HTTP/1.1 408") {
            assert!(got.contains("--api.body-timeout"), "{got}");
            answered_408 += 1;
        }
    }
    drop(held);

    // Without pressure: a half-sent head is cut after the header timeout
    // (1s), well before the idle timeout (4s); a half-sent body gets 408.
    let mut head = hold(&klaxon, b"GET /-/healthy HTTP/1.1\r\nHost: klaxon\r\n");
    let started = std::time::Instant::now();
    assert_eq!(until_closed(&mut head, Duration::from_secs(10)), "");
    assert!(
        started.elapsed() < Duration::from_millis(3_500),
        "half-sent head closed after {:?}",
        started.elapsed()
    );
    let mut body = hold(
        &klaxon,
        b"POST /api/v2/alerts HTTP/1.1\r\nHost: klaxon\r\nContent-Length: 1000\r\n\r\n[{",
    );
    let got = until_closed(&mut body, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    let mut idle = hold(&klaxon, b"");
    let started = std::time::Instant::now();
    until_closed(&mut idle, Duration::from_secs(10));
    assert!(
        started.elapsed() >= Duration::from_millis(3_500),
        "an idle socket without pressure stays for the idle timeout, closed after {:?}",
        started.elapsed()
    );

    let log = klaxon.stderr();
    assert!(!log.contains("Too many open files"), "{log}");
    assert!(!log.contains("cannot accept"), "{log}");
    eprintln!("408 answers while held: {answered_408}");
}

/// Slow-body sockets (a request head, then a body that never comes) are
/// in a handler, yet they wait on the client: with more of them than the
/// connection cap and the default minute of body timeout, the oldest is
/// closed for each new connection, so health checks and alerts get in.
#[test]
fn slow_request_bodies_cannot_take_every_connection() {
    let sink = WebhookSink::start();
    let klaxon = Klaxon::builder()
        .config_file("klaxon.rules", &config(&sink))
        .open_files_limit(256)
        .start();
    assert!(
        klaxon.stderr().contains("max_connections=128"),
        "{}",
        klaxon.stderr()
    );
    let mut held = Vec::new();
    for _ in 0..200 {
        held.push(hold(
            &klaxon,
            b"POST /api/v2/alerts HTTP/1.1\r\nHost: klaxon\r\nContent-Length: 1000\r\n\r\n[{",
        ));
    }
    for round in 0..3 {
        let started = std::time::Instant::now();
        let answer = klaxon.get("/-/healthy");
        assert_eq!(answer.status, 200, "round {round}: {}", answer.body);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "round {round}: /-/healthy took {:?} with 200 slow bodies held",
            started.elapsed()
        );
    }
    post_alerts(&klaxon, ["SlowBodies".to_string()]);
    wait_until(Duration::from_secs(20), "the alert is delivered", || {
        (!sink.delivered("/hook").is_empty()).then_some(())
    });
    drop(held);
}
