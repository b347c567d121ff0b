//! A metrics exporter whose series the test sets: what Prometheus scrapes in
//! the integration tests.
//!
//! It is a [`LocalServer`] (axum on 127.0.0.1, port 0, its own thread and
//! runtime); the series are plain data behind a mutex, so both `#[test]` and
//! `#[tokio::test]` functions can use it. It stops when dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use super::api::format_prom_float;
use super::server::LocalServer;

/// A series: metric name and sorted label pairs.
type SeriesKey = (String, Vec<(String, String)>);

#[derive(Default)]
struct Shared {
    series: Mutex<BTreeMap<SeriesKey, f64>>,
    /// Answer scrapes with 503 (the target is down: `up == 0`).
    failing: AtomicBool,
    /// Successful `/metrics` answers so far.
    scrapes: AtomicU64,
}

impl Shared {
    fn series(&self) -> MutexGuard<'_, BTreeMap<SeriesKey, f64>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.series.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The exporter; see the module documentation.
pub struct Exporter {
    server: LocalServer,
    shared: Arc<Shared>,
}

impl Exporter {
    /// Starts serving `/metrics` (empty until [`Exporter::set`]).
    pub fn start() -> Exporter {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(Arc::clone(&shared));
        Exporter {
            server: LocalServer::start("exporter", app),
            shared,
        }
    }

    /// `127.0.0.1:PORT`, the scrape target.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.server.addr())
    }

    /// Sets a series to a value, creating it if needed.
    pub fn set(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.shared.series().insert(key(name, labels), value);
    }

    /// Removes a series (the next scrape no longer has it: it goes stale).
    pub fn remove(&self, name: &str, labels: &[(&str, &str)]) {
        self.shared.series().remove(&key(name, labels));
    }

    /// Removes every series.
    pub fn clear(&self) {
        self.shared.series().clear();
    }

    /// Makes scrapes fail with HTTP 503 (`up` becomes 0 and every series of
    /// the exporter goes stale) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    /// How many scrapes were answered successfully so far. Waiting for this
    /// to grow by two after a [`Exporter::set`] guarantees a scrape saw it.
    pub fn scrapes(&self) -> u64 {
        self.shared.scrapes.load(Ordering::SeqCst)
    }
}

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    let mut pairs: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    (name.to_string(), pairs)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    if shared.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            String::from("failing on purpose\n"),
        )
            .into_response();
    }
    let body = render(&shared.series());
    shared.scrapes.fetch_add(1, Ordering::SeqCst);
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The text exposition format: a `# TYPE NAME gauge` line per metric name,
/// then its series.
fn render(series: &BTreeMap<SeriesKey, f64>) -> String {
    let mut out = String::new();
    let mut previous: Option<&str> = None;
    for ((name, labels), value) in series {
        if previous != Some(name.as_str()) {
            out.push_str(&format!("# TYPE {name} gauge\n"));
            previous = Some(name);
        }
        out.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
                .collect();
            out.push('{');
            out.push_str(&pairs.join(","));
            out.push('}');
        }
        out.push(' ');
        out.push_str(&format_prom_float(*value));
        out.push('\n');
    }
    out
}

fn escape_label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
