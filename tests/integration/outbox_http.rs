//! The outbox against real HTTP: a webhook sink that refuses connections,
//! answers 500/503/429 and then recovers gets every notification exactly
//! once; `kill -9` in the middle of a burst repeats only what was in flight;
//! `GET /api/v1/notifications` shows the history with working filters.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::outbox::*;
use crate::harness::process::{KillOnDrop, this_test_alone};
use crate::harness::{Received, Reply, WebhookSink};
use klaxon::notify::outbox::{HistoryQuery, HistoryStatus, Outbox, OutboxOptions};
use klaxon::notify::receivers::Deliver;
use serde_json::{Value, json};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

fn pending(outbox: &Outbox) -> usize {
    outbox
        .history(&HistoryQuery {
            status: Some(HistoryStatus::Pending),
            limit: usize::MAX,
            ..HistoryQuery::default()
        })
        .len()
}

fn delivered(outbox: &Outbox) -> usize {
    outbox
        .history(&HistoryQuery {
            status: Some(HistoryStatus::Delivered),
            limit: usize::MAX,
            ..HistoryQuery::default()
        })
        .len()
}

fn webhook_receivers(url: String) -> klaxon::notify::receivers::Receivers {
    let integration: Arc<dyn Deliver> = PostJson::new(url);
    receivers(&[("hook", vec![integration])])
}

/// Idempotency keys (notification ids) of the requests the sink answered
/// 2xx, in arrival order.
fn accepted(sink: &WebhookSink) -> Vec<String> {
    sink.delivered("/hook")
        .iter()
        .map(|r| key(r).to_string())
        .collect()
}

/// The notification id a request carried.
fn key(request: &Received) -> &str {
    request.header("idempotency-key").unwrap_or("")
}

/// An address nothing listens on (yet).
fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_down_then_failing_then_recovered_gets_each_notification_once() {
    let dir = tempfile::tempdir().unwrap();
    let addr = unused_addr();
    let outbox = open_outbox(
        dir.path(),
        webhook_receivers(format!("http://{addr}/hook")),
        fast_options(),
    )
    .await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    let mut lanes: HashMap<String, Vec<String>> = HashMap::new();
    let mut batch = Vec::new();
    for i in 0..4 {
        for group in ["db", "web"] {
            let n = notification(&format!("{group}-{i}"), group, "hook", 0, &["A"], &[]);
            lanes
                .entry(group.to_string())
                .or_default()
                .push(n.id.clone());
            batch.push(n);
        }
    }
    outbox.enqueue(with_logs(batch)).await.unwrap();

    // Connection refused meanwhile: retried, recorded.
    wait_until(WAIT, "a connection error is recorded", || {
        outbox.history(&HistoryQuery::default()).iter().any(|e| {
            e.last_error
                .as_deref()
                .is_some_and(|e| e.contains("POST http://"))
        })
    })
    .await;
    // 429 comes with Retry-After: 1.
    let sink = WebhookSink::start_at(
        addr.port(),
        [Reply::Status(500), Reply::Status(503), Reply::Status(429)],
    );
    wait_until(WAIT, "all 8 are delivered", || delivered(&outbox) == 8).await;

    let accepted = accepted(&sink);
    assert_eq!(accepted.len(), 8, "{accepted:?}");
    assert_eq!(
        accepted.iter().collect::<HashSet<_>>().len(),
        8,
        "no duplicates"
    );
    for (group, ids) in &lanes {
        let order: Vec<&String> = accepted
            .iter()
            .filter(|k| k.starts_with(group.as_str()))
            .collect();
        assert_eq!(order, ids.iter().collect::<Vec<_>>(), "{group} in order");
    }
    let requests = sink.received();
    assert_eq!(requests.len(), 11);
    // Retry-After: 1 holds that lane back a full second.
    let throttled = requests.iter().position(|r| r.answered == 429).unwrap();
    let lane_of = |key: &str| key.split('-').next().unwrap().to_string();
    let next = requests
        .iter()
        .skip(throttled + 1)
        .find(|r| lane_of(key(r)) == lane_of(key(&requests[throttled])))
        .unwrap();
    assert!(next.at - requests[throttled].at >= Duration::from_secs(1));
    // What arrived is Alertmanager's webhook v4.
    let body = &requests.last().unwrap().body;
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "hook");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "A");

    let history = outbox.history(&HistoryQuery::default());
    let attempts: u32 = history.iter().map(|e| e.attempts).sum();
    assert!(
        attempts as usize > requests.len(),
        "refused connections count as attempts: {attempts} attempts, {} requests",
        requests.len()
    );
    let stats = &outbox.metrics().integrations[0];
    assert_eq!(stats.retries_total, u64::from(attempts) - 8);
    assert_eq!(stats.delivered_total, 8);
    assert!(
        history
            .iter()
            .all(|e| e.detail.as_deref() == Some("HTTP 200"))
    );
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

/// Set in the child process of the kill -9 test: its data directory.
const CHILD_DIR_ENV: &str = "KLAXON_OUTBOX_TEST_CHILD_DIR";
/// Set in the child: the sink's URL.
const CHILD_URL_ENV: &str = "KLAXON_OUTBOX_TEST_CHILD_URL";
const BURST: usize = 400;
const LANES: usize = 4;

/// The child: enqueues a burst (printing each committed id) while
/// delivering, until it is killed.
async fn burst_child(dir: &str, url: &str) {
    let outbox = open_outbox(
        std::path::Path::new(dir),
        webhook_receivers(url.to_string()),
        fast_options(),
    )
    .await;
    let (_stop, shutdown) = watch::channel(false);
    let _delivery = outbox.run(shutdown);
    // The dispatcher commits each flush's notifications together.
    for flush in (0..BURST).collect::<Vec<_>>().chunks(2 * LANES) {
        let batch: Vec<_> = flush
            .iter()
            .map(|i| {
                let group = format!("g{}", i % LANES);
                notification(&format!("{group}-{i:04}"), &group, "hook", 0, &["A"], &[])
            })
            .collect();
        let ids: Vec<String> = batch.iter().map(|n| n.id.clone()).collect();
        outbox.enqueue(with_logs(batch)).await.unwrap();
        for id in ids {
            println!("committed {id}");
        }
    }
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_repeats_only_the_in_flight_notifications() {
    if let (Ok(dir), Ok(url)) = (std::env::var(CHILD_DIR_ENV), std::env::var(CHILD_URL_ENV)) {
        burst_child(&dir, &url).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Each request takes 20 ms at the far end, so sends are in flight
    // when the kill lands.
    let sink = WebhookSink::start();
    sink.set_delay(Duration::from_millis(20));
    let mut child = KillOnDrop(
        this_test_alone(
            module_path!(),
            "kill_9_mid_burst_repeats_only_the_in_flight_notifications",
        )
        .env(CHILD_DIR_ENV, dir.path())
        .env(CHILD_URL_ENV, sink.url("/hook"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + WAIT;
    while accepted(&sink).len() < 40 {
        assert!(
            Instant::now() < deadline,
            "the child never delivered 40 notifications"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    // The reader thread ends at the end of the dead child's output.
    let mut committed = Vec::new();
    while let Some(line) = lines.recv().await {
        if let Some(id) = line.strip_prefix("committed ") {
            committed.push(id.to_string());
        }
    }
    let before_restart = accepted(&sink);
    assert!(
        committed.len() > before_restart.len(),
        "the kill must land while notifications are owed: {} committed, {} delivered",
        committed.len(),
        before_restart.len()
    );

    let outbox = open_outbox(
        dir.path(),
        webhook_receivers(sink.url("/hook")),
        fast_options(),
    )
    .await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "the outbox is empty after the restart", || {
        pending(&outbox) == 0
    })
    .await;

    let accepted = accepted(&sink);
    let mut count: HashMap<&str, usize> = HashMap::new();
    for key in &accepted {
        *count.entry(key.as_str()).or_default() += 1;
    }
    for id in &committed {
        assert!(
            count.contains_key(id.as_str()),
            "{id} was committed but never delivered"
        );
    }
    let repeated: Vec<&&str> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    eprintln!(
        "committed {}, delivered before the kill {}, repeated after it {repeated:?}",
        committed.len(),
        before_restart.len()
    );
    assert!(
        count.values().all(|n| *n <= 2),
        "nothing is sent three times"
    );
    // At most one send per lane is in flight, so at most one repeat per lane,
    // and only of what the far end had got before the kill.
    let lanes: HashSet<&str> = repeated.iter().map(|k| &k[..2]).collect();
    assert_eq!(
        lanes.len(),
        repeated.len(),
        "one repeat per lane at most: {repeated:?}"
    );
    assert!(repeated.len() <= LANES);
    assert!(
        repeated
            .iter()
            .all(|k| before_restart.iter().any(|b| b == **k))
    );
    // Lane order holds across the crash (a repeat directly follows itself).
    for lane in 0..LANES {
        let prefix = format!("g{lane}-");
        let mut order: Vec<&String> = accepted.iter().filter(|k| k.starts_with(&prefix)).collect();
        order.dedup();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "lane g{lane} in order");
    }
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_endpoint_shows_history_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let oncall = Scripted::threading();
    let audit = Scripted::new();
    audit.for_id("audit-db", [Step::Permanent("HTTP 404 Not Found")]);
    audit.for_id(
        "audit-web",
        [Step::Retryable("HTTP 503", Some(Duration::from_secs(3600)))],
    );
    let list: Vec<(&str, Vec<Arc<dyn Deliver>>)> = vec![
        ("oncall", vec![oncall.clone() as Arc<dyn Deliver>]),
        ("audit", vec![audit.clone() as Arc<dyn Deliver>]),
    ];
    let outbox = open_outbox(dir.path(), receivers(&list), OutboxOptions::default()).await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    let base = now_ms() / 1_000 * 1_000 - 10_000;
    let mut first = notification("oncall-db", "db", "oncall", 0, &["A"], &["B"]);
    first.created_at = base;
    let mut second = notification("audit-db", "db", "audit", 0, &["A"], &[]);
    second.created_at = base + 1_000;
    let mut third = notification("audit-web", "web", "audit", 0, &["A"], &[]);
    third.created_at = base + 2_000;
    let fingerprint_a = first.alerts[0].fingerprint;
    outbox
        .enqueue(with_logs(vec![first, second, third]))
        .await
        .unwrap();
    wait_until(WAIT, "one delivered, one failed, one retrying", || {
        let h = outbox.history(&HistoryQuery::default());
        h.iter().any(|e| e.status == HistoryStatus::Delivered)
            && h.iter().any(|e| e.status == HistoryStatus::Failed)
            && h.iter()
                .any(|e| e.last_error.is_some() && e.status == HistoryStatus::Pending)
    })
    .await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = klaxon::api::notifications::routes(outbox.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    crate::harness::install_tls_provider();
    let client = reqwest::Client::new();
    let get = |query: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("http://{addr}/api/v1/notifications{query}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let (status, all) = get("").await;
    assert_eq!(status, 200);
    assert_eq!(all["status"], "success");
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["audit-web", "audit-db", "oncall-db"], "newest first");

    let mut delivered = all["data"][2].clone();
    for time in ["firstAttemptAt", "deliveredAt"] {
        let text = delivered[time].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "{time}: {text}"
        );
        delivered[time] = json!("<time>");
    }
    assert_eq!(
        delivered,
        json!({
            "id": "oncall-db",
            "groupKey": "{}:{group=\"db\"}",
            "groupId": "{}:{group=\"db\"}",
            "receiver": "oncall",
            "integration": 0,
            "integrationKind": "webhook",
            "reason": "new",
            "status": "delivered",
            "alerts": [
                {"fingerprint": format!("{fingerprint_a:016x}"), "status": "firing",
                 "labels": {"alertname": "A", "group": "db"}},
                {"fingerprint": format!("{:016x}", klaxon::vocab::labels::LabelSet::from_pairs([("alertname", "B"), ("group", "db")]).fingerprint()),
                 "status": "resolved", "labels": {"alertname": "B", "group": "db"}},
            ],
            "truncatedAlerts": 0,
            "attempts": 1,
            "lastError": null,
            "createdAt": klaxon::vocab::time::rfc3339(base),
            "firstAttemptAt": "<time>",
            "deliveredAt": "<time>",
            "failedAt": null,
            "detail": "accepted oncall-db",
        })
    );
    let failed = &all["data"][1];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["detail"], "permanent error: HTTP 404 Not Found");
    assert_eq!(failed["lastError"], "HTTP 404 Not Found");
    assert!(failed["failedAt"].is_string() && failed["deliveredAt"].is_null());
    let retrying = &all["data"][0];
    assert_eq!(retrying["status"], "pending");
    assert_eq!(retrying["attempts"], 1);
    assert_eq!(retrying["lastError"], "HTTP 503");

    let ids_of = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids_of(&get("?receiver=audit").await.1),
        ["audit-web", "audit-db"]
    );
    assert_eq!(ids_of(&get("?status=pending").await.1), ["audit-web"]);
    assert_eq!(ids_of(&get("?status=failed").await.1), ["audit-db"]);
    assert_eq!(ids_of(&get("?group=db").await.1), ["audit-db", "oncall-db"]);
    assert_eq!(
        ids_of(&get("?group=web&receiver=oncall").await.1),
        Vec::<String>::new()
    );
    assert_eq!(ids_of(&get("?limit=1").await.1), ["audit-web"]);

    let (status, body) = get("?status=sent").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"status": "error", "errorType": "bad_data",
               "error": "unknown status `sent`; expected pending, delivered or failed"})
    );
    let (status, body) = get("?limit=many").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "limit `many` is not a positive integer");
    let (status, body) = get("?recevier=oncall").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "unknown query parameter `recevier`; the parameters are receiver, status, group and \
         limit (did you mean `receiver`?)"
    );

    server.abort();
    stop.send(true).unwrap();
    delivery.await.unwrap();
}
