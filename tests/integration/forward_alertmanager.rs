//! Forwarding to a real Alertmanager 0.25 (Debian `prometheus-alertmanager`):
//! what Alertmanager reports after klaxon posted firing and resolved alerts,
//! one Alertmanager down while another works, queue overflow, and the drain
//! on shutdown. Servers run on loopback ports in temp dirs and are killed on
//! drop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klaxon::eval::event::{AlertBatch, OutgoingAlert};
use klaxon::notify::forward::{ForwardConfig, ForwardMetrics, Forwarder};
use klaxon::vocab::labels::{Labels, fingerprint};
use klaxon::vocab::time::Millis;
use klaxon::vocab::time::strfmt_date_time;
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{self, free_port};

fn install_tls() {
    crate::harness::install_tls_provider();
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

fn numbered_alerts(name: &str, prefix: &str, range: std::ops::Range<usize>) -> Vec<OutgoingAlert> {
    let now = now_millis();
    range
        .map(|i| OutgoingAlert {
            labels: labels(&[("alertname", name), ("seq", &format!("{prefix}{i}"))]),
            annotations: Labels::new(),
            starts_at: now - 60_000,
            ends_at: now + 600_000,
            generator_url: String::new(),
        })
        .collect()
}

fn batch(alerts: Vec<OutgoingAlert>) -> AlertBatch {
    AlertBatch { alerts }
}

/// Polls `check` until it returns `Some`, failing with `what` after `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of one series in Prometheus text output (`name{labels}` exactly).
fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

/// klaxon's forwarding metrics as `/metrics` shows them.
struct Metrics {
    registry: Registry,
}

impl Metrics {
    fn new() -> (Metrics, ForwardMetrics) {
        let mut registry = Registry::default();
        let metrics = ForwardMetrics::register(&mut registry);
        (Metrics { registry }, metrics)
    }

    fn text(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .unwrap_or_else(|e| panic!("cannot encode metrics: {e}"));
        out
    }

    /// A series' value; a series that is not there reads as a failure.
    fn value(&self, series: &str) -> f64 {
        let text = self.text();
        series_value(&text, series).unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
    }

    fn per_alertmanager(&self, metric: &str, post_url: &str) -> f64 {
        self.value(&format!("{metric}{{alertmanager=\"{post_url}\"}}"))
    }
}

/// A real Alertmanager on a loopback port, routing everything to a receiver
/// that does nothing.
struct Alertmanager {
    /// Base URL with the route prefix, no trailing slash.
    base: String,
    _process: harness::Alertmanager,
}

impl Alertmanager {
    async fn start(route_prefix: &str) -> Alertmanager {
        let config = "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n";
        let prefix_flag = format!("--web.route-prefix={route_prefix}");
        let flags: &[&str] = if route_prefix.is_empty() {
            &[]
        } else {
            &[&prefix_flag]
        };
        // Starting blocks this worker thread until Alertmanager is ready.
        let process = harness::Alertmanager::start_with_args(config, flags);
        Alertmanager {
            base: format!("{}{}", process.url(), route_prefix.trim_end_matches('/')),
            _process: process,
        }
    }

    /// `GET /api/v2/alerts`: the alerts Alertmanager holds as active.
    async fn alerts(&self) -> Vec<Value> {
        let response = reqwest::get(format!("{}/api/v2/alerts", self.base))
            .await
            .unwrap_or_else(|e| panic!("GET /api/v2/alerts: {e}"));
        match response.json::<Value>().await {
            Ok(Value::Array(alerts)) => alerts,
            other => panic!("/api/v2/alerts answered {other:?}"),
        }
    }

    /// The alert values of label `label` among the alerts of `alertname`.
    async fn label_values(&self, alertname: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .alerts()
            .await
            .iter()
            .filter(|a| a["labels"]["alertname"] == alertname)
            .filter_map(|a| a["labels"][label].as_str().map(str::to_string))
            .collect();
        values.sort();
        values
    }

    /// One series of Alertmanager's own `/metrics`.
    async fn metric(&self, series: &str) -> Option<f64> {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        series_value(&text, series)
    }

    fn post_url(&self) -> String {
        format!("{}/api/v2/alerts", self.base)
    }
}

/// One request the fake Alertmanager received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn alert_count(&self) -> usize {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Array(alerts)) => alerts.len(),
            _ => panic!("body is not a JSON array: {:?}", self.body),
        }
    }
}

/// How the fake Alertmanager answers.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Reads the request and never answers (a hung Alertmanager).
    Hang,
    /// Answers with this status.
    Status(u16),
}

/// A minimal HTTP/1.1 server that records every request, for what a real
/// Alertmanager cannot show: request headers, batch sizes, failures.
struct FakeAlertmanager {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAlertmanager {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAlertmanager {
    async fn start(answer: Answer) -> FakeAlertmanager {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve_connection(stream, answer, Arc::clone(&log)));
            }
        });
        FakeAlertmanager {
            addr,
            received,
            task,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn post_url(&self) -> String {
        format!("http://{}/api/v2/alerts", self.addr)
    }
}

async fn serve_connection(mut stream: TcpStream, answer: Answer, log: Arc<Mutex<Vec<Received>>>) {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let header_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_string();
        let path = request_line.next().unwrap_or_default().to_string();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buffer.len() < header_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buffer[header_end..header_end + length].to_vec();
        buffer.drain(..header_end + length);
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Received {
                method,
                path,
                headers,
                body,
            });
        match answer {
            Answer::Hang => std::future::pending::<()>().await,
            Answer::Status(code) => {
                let reply = format!(
                    "HTTP/1.1 {code} Status\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nfake answer"
                );
                if stream.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// An Alertmanager URL where nothing listens (connection refused).
fn dead_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_and_resolved_alerts_reach_alertmanager_as_prometheus_sends_them() {
    install_tls();
    // A path prefix, as behind a reverse proxy: posts go to /am/api/v2/alerts.
    let am = Alertmanager::start("/am").await;
    let (metrics, forward_metrics) = Metrics::new();
    let forwarder = Forwarder::spawn(ForwardConfig::new(vec![am.base.clone()]), forward_metrics)
        .unwrap_or_else(|e| panic!("spawn: {e}"));

    let now = now_millis();
    // Milliseconds that are not zero, to see they survive.
    let starts_at = now - now % 1000 - 300_000 + 123;
    let ends_at = now + 240_000;
    let disk_labels = labels(&[
        ("alertname", "DiskFull"),
        ("cluster", "eu1"),
        ("instance", "db-1:9100"),
        ("severity", "critical"),
    ]);
    let disk_annotations = labels(&[
        ("description", "Only 4.2 % left on /var — “data” volume"),
        ("summary", "Disk almost full on db-1:9100"),
    ]);
    let generator_url =
        "http://klaxon.example:9097/graph?g0.expr=node_filesystem_avail_bytes+%3C+1e9&g0.tab=1";
    let disk = OutgoingAlert {
        labels: disk_labels.clone(),
        annotations: disk_annotations.clone(),
        starts_at,
        ends_at,
        generator_url: generator_url.to_string(),
    };
    let latency = OutgoingAlert {
        labels: labels(&[("alertname", "HighLatency"), ("service", "api")]),
        annotations: Labels::new(),
        starts_at,
        ends_at,
        generator_url: String::new(),
    };
    forwarder.send(batch(vec![disk.clone(), latency.clone()]));

    let alerts = eventually(
        "Alertmanager to hold both alerts",
        Duration::from_secs(15),
        || async {
            let alerts = am.alerts().await;
            (alerts.len() == 2).then_some(alerts)
        },
    )
    .await;
    let got = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "DiskFull")
        .unwrap_or_else(|| panic!("no DiskFull in {alerts:?}"));
    let as_json = |map: &Labels| serde_json::to_value(map).unwrap_or_default();
    assert_eq!(got["labels"], as_json(&disk_labels));
    assert_eq!(got["annotations"], as_json(&disk_annotations));
    assert_eq!(got["startsAt"], strfmt_date_time(starts_at));
    assert!(
        got["startsAt"]
            .as_str()
            .unwrap_or_default()
            .ends_with(".123Z"),
        "milliseconds lost: {}",
        got["startsAt"]
    );
    assert_eq!(got["endsAt"], strfmt_date_time(ends_at));
    assert_eq!(got["generatorURL"], generator_url);
    assert_eq!(got["status"]["state"], "active");
    // Same identity on both sides.
    assert_eq!(
        got["fingerprint"],
        format!("{:016x}", fingerprint(&disk_labels))
    );
    let other = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "HighLatency")
        .unwrap_or_else(|| panic!("no HighLatency in {alerts:?}"));
    assert_eq!(other["annotations"], serde_json::json!({}));
    // An empty generatorURL is left out, as Prometheus does; Alertmanager
    // then shows none.
    assert_eq!(other.get("generatorURL"), None);

    // The resolve: endsAt in the past. Alertmanager stops listing it as active.
    let resolved_at = now_millis() - 1_000;
    forwarder.send(batch(vec![OutgoingAlert {
        ends_at: resolved_at,
        ..disk.clone()
    }]));
    let remaining = eventually(
        "the resolve to reach Alertmanager",
        Duration::from_secs(15),
        || async {
            let alerts = am.alerts().await;
            (alerts.len() == 1).then_some(alerts)
        },
    )
    .await;
    assert_eq!(remaining[0]["labels"]["alertname"], "HighLatency");
    let received = |status: &str| {
        format!("alertmanager_alerts_received_total{{status=\"{status}\",version=\"v2\"}}")
    };
    assert_eq!(am.metric(&received("firing")).await, Some(2.0));
    assert_eq!(am.metric(&received("resolved")).await, Some(1.0));
    assert_eq!(
        am.metric("alertmanager_alerts_invalid_total{version=\"v2\"}")
            .await,
        Some(0.0)
    );

    let post_url = am.post_url();
    assert!(post_url.ends_with("/am/api/v2/alerts"), "{post_url}");
    assert_eq!(
        metrics.per_alertmanager("klaxon_notifications_sent_total", &post_url),
        3.0
    );
    assert_eq!(
        metrics.per_alertmanager("klaxon_notifications_errors_total", &post_url),
        0.0
    );
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 0.0);
    assert_eq!(metrics.value("klaxon_notifications_queue_length"), 0.0);
    assert_eq!(
        metrics.value("klaxon_notifications_queue_capacity"),
        10_000.0
    );
    assert_eq!(
        metrics.value("klaxon_notifications_alertmanagers_discovered"),
        1.0
    );
    assert_eq!(
        metrics.value(&format!(
            "klaxon_notifications_latency_seconds_count{{alertmanager=\"{post_url}\"}}"
        )),
        2.0
    );
    forwarder.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alertmanager_down_does_not_stop_the_others() {
    install_tls();
    let am = Alertmanager::start("").await;
    let failing = FakeAlertmanager::start(Answer::Status(500)).await;
    let down = dead_url();
    let failing_url = format!("http://klaxon:s%40cret@{}", failing.addr);
    let (metrics, forward_metrics) = Metrics::new();
    let mut config = ForwardConfig::new(vec![am.base.clone(), down.clone(), failing_url]);
    config.timeout = Duration::from_secs(5);
    let forwarder =
        Forwarder::spawn(config, forward_metrics).unwrap_or_else(|e| panic!("spawn: {e}"));

    // 70 alerts: two requests per Alertmanager, 64 then 6.
    forwarder.send(batch(numbered_alerts("ServiceDown", "s", 0..70)));
    let seqs = eventually(
        "all 70 alerts in the working Alertmanager",
        Duration::from_secs(20),
        || async {
            let seqs = am.label_values("ServiceDown", "seq").await;
            (seqs.len() == 70).then_some(seqs)
        },
    )
    .await;
    assert_eq!(seqs.len(), 70);
    let down_url = format!("{down}/api/v2/alerts");
    eventually("both failures counted", Duration::from_secs(20), || async {
        let errors = |url: &str| metrics.per_alertmanager("klaxon_notifications_errors_total", url);
        (errors(&down_url) == 70.0 && errors(&failing.post_url()) == 70.0).then_some(())
    })
    .await;
    // The failing one got the same two batches, with the credentials from its
    // URL as basic auth, and its metric label without them.
    let requests = failing.received();
    let sizes: Vec<usize> = requests.iter().map(Received::alert_count).collect();
    assert_eq!(sizes, [64, 6]);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/v2/alerts");
        assert_eq!(
            request.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        // base64("klaxon:s@cret")
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("Basic a2xheG9uOnNAY3JldA==")
        );
        assert!(
            request
                .headers
                .get("user-agent")
                .is_some_and(|ua| ua.starts_with("klaxon/")),
            "{:?}",
            request.headers
        );
    }
    for url in [am.post_url(), down_url.clone(), failing.post_url()] {
        assert_eq!(
            metrics.per_alertmanager("klaxon_notifications_sent_total", &url),
            70.0,
            "{url}"
        );
    }
    assert_eq!(
        metrics.per_alertmanager("klaxon_notifications_errors_total", &am.post_url()),
        0.0
    );
    // Delivered to one Alertmanager is delivered: nothing dropped.
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 0.0);
    assert_eq!(
        metrics.value("klaxon_notifications_alertmanagers_discovered"),
        3.0
    );
    forwarder.shutdown(Duration::from_secs(5)).await;

    // When no Alertmanager accepts a batch, its alerts are dropped (no retry).
    let (metrics, forward_metrics) = Metrics::new();
    let forwarder = Forwarder::spawn(
        ForwardConfig::new(vec![
            down.clone(),
            failing.post_url().replace("/api/v2/alerts", ""),
        ]),
        forward_metrics,
    )
    .unwrap_or_else(|e| panic!("spawn: {e}"));
    forwarder.send(batch(numbered_alerts("ServiceDown", "t", 0..5)));
    eventually(
        "the undeliverable batch counted as dropped",
        Duration::from_secs(20),
        || async { (metrics.value("klaxon_notifications_dropped_total") == 5.0).then_some(()) },
    )
    .await;
    assert_eq!(
        metrics.per_alertmanager("klaxon_notifications_errors_total", &down_url),
        5.0
    );
    forwarder.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_drops_the_oldest_alerts_and_counts_them() {
    install_tls();
    let am = Alertmanager::start("").await;
    let hung = FakeAlertmanager::start(Answer::Hang).await;
    let (metrics, forward_metrics) = Metrics::new();
    let mut config = ForwardConfig::new(vec![am.base.clone(), format!("http://{}", hung.addr)]);
    config.timeout = Duration::from_secs(1);
    config.queue_capacity = 100;
    let forwarder =
        Forwarder::spawn(config, forward_metrics).unwrap_or_else(|e| panic!("spawn: {e}"));
    assert_eq!(metrics.value("klaxon_notifications_queue_capacity"), 100.0);

    // The sender is stuck on the hung Alertmanager with this one...
    forwarder.send(batch(numbered_alerts("Overflow", "first", 0..1)));
    eventually(
        "the first batch in flight",
        Duration::from_secs(10),
        || async { (hung.received().len() == 1).then_some(()) },
    )
    .await;
    // ...while 120 more arrive for 100 places: b0..b19 make room.
    let started = Instant::now();
    forwarder.send(batch(numbered_alerts("Overflow", "b", 0..60)));
    forwarder.send(batch(numbered_alerts("Overflow", "b", 60..120)));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "send waited {:?}",
        started.elapsed()
    );
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 20.0);
    assert_eq!(metrics.value("klaxon_notifications_queue_length"), 100.0);
    assert_eq!(forwarder.queue_len(), 100);

    let seqs = eventually(
        "101 alerts in Alertmanager",
        Duration::from_secs(30),
        || async {
            let seqs = am.label_values("Overflow", "seq").await;
            (seqs.len() == 101).then_some(seqs)
        },
    )
    .await;
    let mut expected: Vec<String> = (20..120).map(|i| format!("b{i}")).collect();
    expected.push("first0".to_string());
    expected.sort();
    assert_eq!(seqs, expected);
    // Batches of at most 64, oldest first.
    eventually(
        "three requests to the hung Alertmanager",
        Duration::from_secs(10),
        || async { (hung.received().len() == 3).then_some(()) },
    )
    .await;
    let sizes: Vec<usize> = hung.received().iter().map(Received::alert_count).collect();
    assert_eq!(sizes, [1, 64, 36]);
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 20.0);
    eventually(
        "the timeouts counted as errors",
        Duration::from_secs(10),
        || async {
            (metrics.per_alertmanager("klaxon_notifications_errors_total", &hung.post_url())
                == 101.0)
                .then_some(())
        },
    )
    .await;
    assert_eq!(metrics.value("klaxon_notifications_queue_length"), 0.0);
    forwarder.shutdown(Duration::from_secs(5)).await;

    // One batch larger than the whole queue keeps its newest alerts.
    let (metrics, forward_metrics) = Metrics::new();
    let mut config = ForwardConfig::new(vec![format!("http://{}", hung.addr)]);
    config.timeout = Duration::from_secs(30);
    config.queue_capacity = 10;
    let forwarder =
        Forwarder::spawn(config, forward_metrics).unwrap_or_else(|e| panic!("spawn: {e}"));
    let before = hung.received().len();
    forwarder.send(batch(numbered_alerts("Big", "c", 0..25)));
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 15.0);
    eventually("the kept alerts sent", Duration::from_secs(10), || async {
        hung.received().get(before).cloned()
    })
    .await;
    let sent: Value = serde_json::from_slice(&hung.received()[before].body).unwrap_or_default();
    let seqs: Vec<&str> = sent
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["labels"]["seq"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        seqs,
        [
            "c15", "c16", "c17", "c18", "c19", "c20", "c21", "c22", "c23", "c24"
        ]
    );
    // Stopping with the batch still hung: it counts as dropped too.
    forwarder.shutdown(Duration::from_millis(200)).await;
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 25.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_the_queue_within_the_deadline() {
    install_tls();
    let am = Alertmanager::start("").await;
    let hung = FakeAlertmanager::start(Answer::Hang).await;
    let (metrics, forward_metrics) = Metrics::new();
    let mut config = ForwardConfig::new(vec![am.base.clone(), format!("http://{}", hung.addr)]);
    config.timeout = Duration::from_secs(1);
    let forwarder =
        Forwarder::spawn(config, forward_metrics).unwrap_or_else(|e| panic!("spawn: {e}"));
    forwarder.send(batch(numbered_alerts("Drain", "first", 0..1)));
    eventually(
        "the first batch in flight",
        Duration::from_secs(10),
        || async { (hung.received().len() == 1).then_some(()) },
    )
    .await;
    forwarder.send(batch(numbered_alerts("Drain", "r", 0..130)));
    assert_eq!(forwarder.queue_len(), 130);
    // Three more batches (64, 64, 2), each held 1s by the hung Alertmanager.
    let started = Instant::now();
    forwarder.shutdown(Duration::from_secs(60)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "returned before draining: {took:?}"
    );
    assert_eq!(am.label_values("Drain", "seq").await.len(), 131);
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 0.0);
    assert_eq!(metrics.value("klaxon_notifications_queue_length"), 0.0);
    assert_eq!(
        metrics.per_alertmanager("klaxon_notifications_sent_total", &am.post_url()),
        131.0
    );

    // A deadline shorter than the work: shutdown returns on time and counts
    // what it could not send. The hung Alertmanager comes first and holds
    // each request 30s: the working one still gets the batch at once, since
    // all are sent to concurrently.
    let (metrics, forward_metrics) = Metrics::new();
    let mut config = ForwardConfig::new(vec![format!("http://{}", hung.addr), am.base.clone()]);
    config.timeout = Duration::from_secs(30);
    let forwarder =
        Forwarder::spawn(config, forward_metrics).unwrap_or_else(|e| panic!("spawn: {e}"));
    let before = hung.received().len();
    forwarder.send(batch(numbered_alerts("Stuck", "s", 0..1)));
    eventually(
        "the stuck batch in flight",
        Duration::from_secs(10),
        || async { (hung.received().len() == before + 1).then_some(()) },
    )
    .await;
    let delivered = eventually(
        "the working Alertmanager to get it meanwhile",
        Duration::from_secs(10),
        || async {
            let seqs = am.label_values("Stuck", "seq").await;
            (!seqs.is_empty()).then_some(seqs)
        },
    )
    .await;
    assert_eq!(delivered, ["s0"]);
    forwarder.send(batch(numbered_alerts("Stuck", "s", 1..101)));
    let started = Instant::now();
    forwarder.shutdown(Duration::from_secs(1)).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "shutdown overran its deadline: {took:?}"
    );
    // The 100 queued are lost; the one in flight reached an Alertmanager.
    assert_eq!(metrics.value("klaxon_notifications_dropped_total"), 100.0);
    assert_eq!(metrics.value("klaxon_notifications_queue_length"), 0.0);
    assert_eq!(am.label_values("Stuck", "seq").await, ["s0"]);
}

#[tokio::test]
async fn unusable_configurations_are_refused() {
    install_tls();
    let refuse = |config: ForwardConfig| {
        let (_metrics, forward_metrics) = Metrics::new();
        Forwarder::spawn(config, forward_metrics)
            .err()
            .unwrap_or_default()
    };
    assert_eq!(
        refuse(ForwardConfig::new(vec![])),
        "no Alertmanager URL to forward alerts to"
    );
    let mut zero = ForwardConfig::new(vec!["http://127.0.0.1:9093".to_string()]);
    zero.queue_capacity = 0;
    assert!(refuse(zero).contains("queue capacity"));
    assert!(refuse(ForwardConfig::new(vec!["127.0.0.1:9093".to_string()])).contains("http://"));
}
