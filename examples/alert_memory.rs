//! Memory per notifier alert, measured: builds N alerts shaped like the
//! ingest benchmark's (7 labels, 2 annotations, one generator URL shared by
//! all, see `examples/ingest_load.rs`) and prints how much resident memory
//! each takes, first as bare `Arc<NotifyAlert>`s, then held by an
//! [`AlertStore`] (journal in a temporary directory), then what a
//! [`Dispatcher`] grouping them by `alertname` adds (as `klaxon serve` in
//! `bench/ingest-vs-alertmanager.sh`).
//!
//! ```text
//! cargo run --release --example alert_memory [-- N]
//! ```
//!
//! The figures are resident-set deltas from `/proc/self/status`, so they
//! include the allocator's per-allocation overhead and rounding, which
//! `size_of` and `LabelSet::heap_bytes` do not show.

use std::sync::Arc;

use klaxon::notify::alert::{AlertSource, NotifyAlert, SharedStr};
use klaxon::notify::alerts::{AlertStore, AlertStoreOptions};
use klaxon::notify::dispatch::{DispatchConfig, Dispatcher, Mutes, Sink};
use klaxon::notify::notification::Notification;
use klaxon::notify::outbox::LogEntry;
use klaxon::notify::receivers::{BoxFuture, Receivers};
use klaxon::store::Store;
use klaxon::vocab::labels::LabelSet;
use klaxon::vocab::time::Millis;

/// Resident anonymous memory in bytes (Linux), 0 elsewhere.
fn rss_anon() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Alert `i` as the ingest benchmark sends it.
fn bench_alert(i: usize, url: &SharedStr, now: i64) -> NotifyAlert {
    let instance = format!(
        "10.{}.{}.{}:9100",
        (i >> 16) & 0xFF,
        (i >> 8) & 0xFF,
        i & 0xFF
    );
    let name = format!("BenchAlert{}", i % 50);
    let team = format!("team-{}", i % 20);
    let service = format!("svc-{}", i % 37);
    let severity = if i.is_multiple_of(10) {
        "critical"
    } else {
        "warning"
    };
    let summary = format!("Instance {instance} of {team} needs attention");
    let description =
        format!("Alert {i} raised by the ingest benchmark; value 97.3% over threshold 90%");
    NotifyAlert {
        labels: LabelSet::from_pairs([
            ("alertname", name.as_str()),
            ("cluster", "prod-eu-1"),
            ("instance", instance.as_str()),
            ("job", "node-exporter"),
            ("namespace", team.as_str()),
            ("severity", severity),
            ("service", service.as_str()),
        ]),
        annotations: LabelSet::from_pairs([
            ("summary", summary.as_str()),
            ("description", description.as_str()),
        ]),
        starts_at: now,
        ends_at: now + 3_600_000,
        generator_url: url.clone(),
        updated_at: now,
        timeout: false,
        source: AlertSource::Api,
    }
}

/// A sink that takes nothing: the benchmark's groups never flush.
struct NoSink;

impl Sink for NoSink {
    fn log_entry(&self, _key: &str, _receiver: &str, _integration: usize) -> Option<LogEntry> {
        None
    }
    fn enqueue(&self, _items: Vec<(Notification, LogEntry)>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Nothing is muted.
struct NoMutes;

impl Mutes for NoMutes {
    fn silenced(&self, _labels: &LabelSet, _now: Millis) -> bool {
        false
    }
    fn in_windows(&self, _names: &[String], _now: Millis) -> bool {
        false
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let now = chrono::Utc::now().timestamp_millis();
    let url = SharedStr::from(
        "http://prometheus.example.com:9090/graph?g0.expr=node_filesystem_avail_bytes+%3C+0.1&g0.tab=1",
    );
    let sample = bench_alert(12_345, &url, now);
    println!(
        "size_of NotifyAlert={} LabelSet={} labels heap={} annotations heap={}",
        std::mem::size_of::<NotifyAlert>(),
        std::mem::size_of::<LabelSet>(),
        sample.labels.heap_bytes(),
        sample.annotations.heap_bytes(),
    );

    let before = rss_anon();
    let bare: Vec<Arc<NotifyAlert>> = (0..n)
        .map(|i| Arc::new(bench_alert(i, &url, now)))
        .collect();
    let after = rss_anon();
    let vec_bytes = n * std::mem::size_of::<Arc<NotifyAlert>>();
    println!(
        "bare Arc<NotifyAlert>: {} B/alert (without the Vec of pointers)",
        (after.saturating_sub(before).saturating_sub(vec_bytes)) / n.max(1)
    );
    drop(bare);

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let store = Arc::new(Store::open(dir.path()).unwrap_or_else(|e| panic!("store: {e}")));
    let alerts = AlertStore::open(store, AlertStoreOptions::default())
        .unwrap_or_else(|e| panic!("alert store: {e}"));
    let loaded = klaxon::model::load::load_sources(&[(
        "bench.rules",
        "receiver blackhole { }\nroute {\n  receiver blackhole\n  group_by alertname\n}\n",
    )]);
    let dispatcher = Dispatcher::new(
        DispatchConfig::new(
            &loaded.rules.notifier_config(),
            Receivers::default(),
            String::new(),
        ),
        Arc::new(NoSink),
        Arc::new(NoMutes),
        None,
        klaxon::vocab::time::Clock::system(),
    );
    let before = rss_anon();
    // Like the benchmark: batches of 100 built and put by 16 concurrent
    // tasks on the runtime's worker threads (where the API parses them).
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (alerts, next, url) = (Arc::clone(&alerts), Arc::clone(&next), url.clone());
                tokio::spawn(async move {
                    loop {
                        let first = next.fetch_add(100, std::sync::atomic::Ordering::Relaxed);
                        if first >= n {
                            break;
                        }
                        let batch: Vec<NotifyAlert> = (first..(first + 100).min(n))
                            .map(|i| bench_alert(i, &url, now))
                            .collect();
                        if let Err(e) = alerts.put(batch).await {
                            panic!("put: {e}");
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            if let Err(e) = task.await {
                panic!("task: {e}");
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = rss_anon();
    println!(
        "AlertStore: {} alerts, {} B/alert",
        alerts.len(),
        after.saturating_sub(before) / n.max(1)
    );
    let before = rss_anon();
    for chunk in alerts.snapshot().chunks(100) {
        dispatcher.insert(chunk.iter().cloned(), now);
    }
    let after = rss_anon();
    println!(
        "Dispatcher: {} groups, {} B/alert more",
        dispatcher.group_count(),
        after.saturating_sub(before) / n.max(1)
    );
}
