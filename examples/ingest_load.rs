//! Load generator for `bench/ingest-vs-alertmanager.sh`: posts batches of
//! distinct alerts to an Alertmanager-compatible `POST /api/v2/alerts` over
//! several keep-alive connections and prints what was accepted, how fast and
//! with which request latencies.
//!
//! ```text
//! ingest_load --url http://127.0.0.1:9093 --alerts 100000 [--batch 100]
//!             [--concurrency 8] [--token T] [--offset 0]
//! ingest_load --serve 127.0.0.1:9999 --data-dir DIR
//! ```
//!
//! Output (one line, `key=value`): `alerts`, `requests`, `errors`,
//! `seconds`, `alerts_per_s`, `p50_ms`, `p99_ms`, `max_ms`.
//!
//! Each alert looks like one Prometheus sends (7 labels, 2 annotations, a
//! generator URL, explicit start and an end an hour ahead, so it stays
//! active for the whole run); alert `i` differs from every other by its
//! `instance` label, so `--alerts N` makes N distinct active alerts.
//!
//! `--serve` runs klaxon's Alertmanager API alone (alert store with its
//! durable journal, silences, a receiver-less stand-in for the dispatcher
//! that drains the alert subscription), for measuring ingest before or
//! without `klaxon serve`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use klaxon::api::alertmanager::{
    AlertmanagerApi, AlertmanagerApiOptions, GroupView, NotifyViews, routes,
};
use klaxon::notify::alerts::{AlertStore, AlertStoreOptions};
use klaxon::notify::silence::Silences;
use klaxon::store::Store;
use klaxon::vocab::labels::{Fingerprint, LabelSet};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn number(args: &[String], name: &str, default: usize) -> usize {
    arg(args, name)
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| fail(&format!("{name} wants a number, not {v:?}")))
        })
        .unwrap_or(default)
}

fn fail(message: &str) -> ! {
    eprintln!("ingest_load: {message}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start a runtime: {e}")));
    if let Some(listen) = arg(&args, "--serve") {
        let dir = arg(&args, "--data-dir").unwrap_or_else(|| fail("--serve needs --data-dir"));
        runtime.block_on(serve(&listen, &dir));
        return;
    }
    let url = arg(&args, "--url").unwrap_or_else(|| fail("--url is required"));
    let settings = Load {
        url: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
        alerts: number(&args, "--alerts", 100_000),
        batch: number(&args, "--batch", 100).max(1),
        concurrency: number(&args, "--concurrency", 8).max(1),
        offset: number(&args, "--offset", 0),
        token: arg(&args, "--token"),
    };
    runtime.block_on(load(settings));
}

struct Load {
    url: String,
    alerts: usize,
    batch: usize,
    concurrency: usize,
    offset: usize,
    token: Option<String>,
}

/// The JSON of alerts `first..first+count`.
fn batch_body(first: usize, count: usize, starts: &str, ends: &str) -> Vec<u8> {
    let mut body = String::with_capacity(count * 520);
    body.push('[');
    for i in first..first + count {
        if i > first {
            body.push(',');
        }
        let team = i % 20;
        let severity = if i % 10 == 0 { "critical" } else { "warning" };
        body.push_str(&format!(
            r#"{{"labels":{{"alertname":"BenchAlert{name}","cluster":"prod-eu-1","instance":"10.{a}.{b}.{c}:9100","job":"node-exporter","namespace":"team-{team}","severity":"{severity}","service":"svc-{svc}"}},"annotations":{{"summary":"Instance 10.{a}.{b}.{c}:9100 of team-{team} needs attention","description":"Alert {i} raised by the ingest benchmark; value 97.3% over threshold 90%"}},"startsAt":"{starts}","endsAt":"{ends}","generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=node_filesystem_avail_bytes+%3C+0.1&g0.tab=1"}}"#,
            name = i % 50,
            a = (i >> 16) & 0xFF,
            b = (i >> 8) & 0xFF,
            c = i & 0xFF,
            svc = i % 37,
        ));
    }
    body.push(']');
    body.into_bytes()
}

async fn load(settings: Load) {
    // reqwest is built without a default TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = Arc::new(settings);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot build an HTTP client: {e}")));
    let now = chrono::Utc::now();
    let starts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ends =
        (now + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let batches = settings.alerts.div_ceil(settings.batch);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..settings.concurrency {
        let (client, settings, next) = (client.clone(), Arc::clone(&settings), Arc::clone(&next));
        let (starts, ends) = (starts.clone(), ends.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut accepted = 0usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= batches {
                    break;
                }
                let first = n * settings.batch;
                let count = settings.batch.min(settings.alerts - first);
                let body = batch_body(settings.offset + first, count, &starts, &ends);
                let mut request = client
                    .post(&settings.url)
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(token) = &settings.token {
                    request = request.bearer_auth(token);
                }
                let sent = Instant::now();
                let result = request.send().await;
                let ok = match result {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        status.is_success()
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                if ok {
                    accepted += count;
                } else {
                    errors += 1;
                }
            }
            (latencies, errors, accepted)
        }));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut accepted) = (0, 0);
    for worker in workers {
        match worker.await {
            Ok((l, e, a)) => {
                latencies.extend(l);
                errors += e;
                accepted += a;
            }
            Err(e) => fail(&format!("a worker failed: {e}")),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let quantile = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let at = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[at].as_secs_f64() * 1000.0
    };
    println!(
        "alerts={accepted} requests={} errors={errors} seconds={seconds:.3} alerts_per_s={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        latencies.len(),
        accepted as f64 / seconds,
        quantile(0.50),
        quantile(0.99),
        quantile(1.0),
    );
}

/// A dispatcher stand-in with no routes: nothing is grouped, inhibited or
/// routed; it only drains the alert subscription as the dispatcher would.
struct NoRouting;

impl NotifyViews for NoRouting {
    fn groups(&self) -> Vec<GroupView> {
        Vec::new()
    }
    fn inhibited_by(&self, _labels: &LabelSet) -> Vec<Fingerprint> {
        Vec::new()
    }
    fn receivers_for(&self, _labels: &LabelSet) -> Vec<String> {
        Vec::new()
    }
    fn config_text(&self) -> String {
        String::new()
    }
}

async fn serve(listen: &str, dir: &str) {
    let store = Arc::new(
        Store::open(std::path::Path::new(dir))
            .unwrap_or_else(|e| fail(&format!("cannot open the store: {e}"))),
    );
    let alerts = AlertStore::open(Arc::clone(&store), AlertStoreOptions::default())
        .unwrap_or_else(|e| fail(&format!("cannot open the alert store: {e}")));
    let silences =
        Silences::open(store).unwrap_or_else(|e| fail(&format!("cannot open silences: {e}")));
    let mut updates = alerts.subscribe();
    tokio::spawn(async move { while updates.recv().await.is_some() {} });
    let counted = Arc::clone(&alerts);
    let app = routes(AlertmanagerApi {
        alerts,
        silences,
        views: Arc::new(NoRouting),
        options: Arc::new(AlertmanagerApiOptions::default()),
    })
    .route("/-/ready", axum::routing::get(|| async { "ready\n" }))
    .route(
        "/metrics",
        axum::routing::get(move || {
            let now = chrono::Utc::now().timestamp_millis();
            let firing = counted
                .snapshot()
                .iter()
                .filter(|a| !a.is_resolved_at(now))
                .count();
            async move { format!("klaxon_notify_alerts{{state=\"firing\"}} {firing}\n") }
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {listen}: {e}")));
    if let Err(e) = axum::serve(listener, app).await {
        fail(&format!("server stopped: {e}"));
    }
}
