//! Forwarding alert batches to external Alertmanagers, the way Prometheus
//! 2.42's notifier does, so klaxon can replace Prometheus's rule evaluation
//! (or vmalert) in front of an Alertmanager that is already running.
//!
//! Behaviour kept from Prometheus (`notifier/notifier.go`):
//! - one queue of single alerts (default capacity 10,000); when it is full
//!   the *oldest* alerts are dropped in favour of the new ones, counted and
//!   logged; a batch larger than the whole queue keeps only its newest alerts;
//! - one sender task takes at most 64 alerts at a time and posts them to every
//!   configured Alertmanager concurrently (`POST {url}/api/v2/alerts`, JSON
//!   array of `postableAlert`), each request with its own timeout (default 10s);
//! - an error from one Alertmanager never stops the others; a batch counts as
//!   delivered when at least one Alertmanager accepted it (any 2xx), otherwise
//!   all its alerts are counted as dropped. Nothing is retried: the evaluator
//!   resends firing alerts every `resend_delay` anyway;
//! - the metrics keep Prometheus's names with a `klaxon_` prefix:
//!   `klaxon_notifications_sent_total`, `_errors_total`, `_dropped_total`,
//!   `_queue_length`, `_queue_capacity`, `_latency_seconds`,
//!   `_alertmanagers_discovered`.
//!
//! Differences: `errors_total` counts alerts (as Prometheus does since 2.50),
//! not requests, so `errors_total / sent_total` is a real error ratio; the
//! latency is a histogram (prometheus-client has no summary); and
//! [`Forwarder::shutdown`] drains the queue within a deadline where Prometheus
//! drops it on exit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use crate::eval::event::{AlertBatch, OutgoingAlert};
use crate::vocab::labels::Labels;

/// Prometheus's `--alertmanager.notification-queue-capacity` default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// Prometheus's default Alertmanager `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Prometheus's `maxBatchSize`: the most alerts one request carries.
pub const MAX_BATCH_SIZE: usize = 64;

/// Where and how to forward alerts.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// Alertmanager base URLs (`--alertmanager.url`, repeatable), optionally
    /// with a path prefix (`http://host/am` posts to `/am/api/v2/alerts`) and
    /// credentials for HTTP basic auth (`https://user:password@host`).
    pub urls: Vec<String>,
    /// Timeout of each request to each Alertmanager.
    pub timeout: Duration,
    /// Most alerts waiting to be sent; the oldest go first when it is full.
    pub queue_capacity: usize,
    /// `Authorization: Bearer ...` sent to every Alertmanager.
    pub bearer_token: Option<String>,
}

impl ForwardConfig {
    /// Prometheus's defaults (10s timeout, 10,000 alerts queued) for `urls`.
    pub fn new(urls: Vec<String>) -> Self {
        ForwardConfig {
            urls,
            timeout: DEFAULT_TIMEOUT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            bearer_token: None,
        }
    }
}

/// Label set naming one Alertmanager (its full post URL, as in Prometheus).
type AlertmanagerLabel = Vec<(String, String)>;

/// Constructor of the latency histograms (Prometheus's default buckets).
type HistogramConstructor = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// The forwarding metrics, so operators can alert on alerts that never
/// reached an Alertmanager. Cheap to clone (every metric is shared).
#[derive(Debug, Clone)]
pub struct ForwardMetrics {
    sent: Family<AlertmanagerLabel, Counter>,
    errors: Family<AlertmanagerLabel, Counter>,
    latency: Family<AlertmanagerLabel, Histogram, HistogramConstructor>,
    dropped: Counter,
    queue_length: Gauge,
    queue_capacity: Gauge,
    alertmanagers: Gauge,
}

impl ForwardMetrics {
    /// Registers the `klaxon_notifications_*` metrics in `registry` (give the
    /// root registry: the names already carry the `klaxon_` prefix).
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = ForwardMetrics {
            sent: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as HistogramConstructor),
            dropped: Counter::default(),
            queue_length: Gauge::default(),
            queue_capacity: Gauge::default(),
            alertmanagers: Gauge::default(),
        };
        registry.register(
            "klaxon_notifications_sent",
            "Total number of alerts sent to each Alertmanager, successfully or not.",
            metrics.sent.clone(),
        );
        registry.register(
            "klaxon_notifications_errors",
            "Total number of alerts whose sending to an Alertmanager failed.",
            metrics.errors.clone(),
        );
        registry.register(
            "klaxon_notifications_latency_seconds",
            "Latency of sending alert batches to each Alertmanager.",
            metrics.latency.clone(),
        );
        registry.register(
            "klaxon_notifications_dropped",
            "Total number of alerts dropped: queue full, or no Alertmanager accepted them.",
            metrics.dropped.clone(),
        );
        registry.register(
            "klaxon_notifications_queue_length",
            "The number of alerts waiting to be sent to the Alertmanagers.",
            metrics.queue_length.clone(),
        );
        registry.register(
            "klaxon_notifications_queue_capacity",
            "The capacity of the alert forwarding queue.",
            metrics.queue_capacity.clone(),
        );
        registry.register(
            "klaxon_notifications_alertmanagers_discovered",
            "The number of Alertmanagers alerts are forwarded to.",
            metrics.alertmanagers.clone(),
        );
        metrics
    }

    fn drop_alerts(&self, count: usize) {
        self.dropped
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    fn set_queue_length(&self, length: usize) {
        self.queue_length
            .set(i64::try_from(length).unwrap_or(i64::MAX));
    }
}

/// One Alertmanager: where to post and with which credentials.
#[derive(Debug, Clone)]
struct Target {
    /// `{base}/api/v2/alerts`, credentials removed.
    post_url: reqwest::Url,
    /// The post URL as text: the `alertmanager` label and the log field.
    name: String,
    /// Basic-auth credentials taken from the URL.
    basic_auth: Option<(String, String)>,
}

impl Target {
    /// Reads `--alertmanager.url`: http(s), optional path prefix and
    /// credentials; the post path is joined as Prometheus's `postPath` does.
    fn parse(url: &str) -> Result<Target, String> {
        let trimmed = url.trim();
        let lower = trimmed.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(format!(
                "Alertmanager URL `{url}` must start with http:// or https://"
            ));
        }
        let mut parsed = reqwest::Url::parse(trimmed)
            .map_err(|e| format!("Alertmanager URL `{url}` is not a URL: {e}"))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "Alertmanager URL `{url}` has a query or fragment; give only scheme, host and path prefix"
            ));
        }
        let basic_auth = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            let user = percent_decode(parsed.username());
            let password = percent_decode(parsed.password().unwrap_or(""));
            Some((user, password))
        };
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_path(&post_path(parsed.path()));
        let name = parsed.to_string();
        Ok(Target {
            post_url: parsed,
            name,
            basic_auth,
        })
    }

    fn label(&self) -> AlertmanagerLabel {
        vec![("alertmanager".to_string(), self.name.clone())]
    }
}

/// `path.Join("/", prefix, "/api/v2/alerts")`: the prefix cleaned of empty,
/// `.` and `..` segments.
fn post_path(prefix: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in prefix.split('/').chain(["api", "v2", "alerts"]) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Decodes `%XX` escapes in URL credentials (invalid escapes stay as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Alertmanager's `postableAlert`, fields in the order Prometheus writes them.
#[derive(Debug, Serialize)]
struct PostableAlert<'a> {
    #[serde(skip_serializing_if = "Labels::is_empty")]
    annotations: &'a Labels,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    labels: &'a Labels,
}

use crate::vocab::time::strfmt_date_time;

/// The request body for a batch: the JSON array Prometheus posts.
pub fn encode_alerts(alerts: &[OutgoingAlert]) -> Result<Vec<u8>, serde_json::Error> {
    let postable: Vec<PostableAlert<'_>> = alerts
        .iter()
        .map(|alert| PostableAlert {
            annotations: &alert.annotations,
            ends_at: strfmt_date_time(alert.ends_at),
            starts_at: strfmt_date_time(alert.starts_at),
            generator_url: &alert.generator_url,
            labels: &alert.labels,
        })
        .collect();
    serde_json::to_vec(&postable)
}

/// Adds `incoming` to `queue` within `capacity`, as Prometheus's `Send`: a
/// batch larger than the queue keeps its newest alerts, then the oldest
/// queued alerts make room. Returns how many alerts were dropped.
fn enqueue(
    queue: &mut VecDeque<OutgoingAlert>,
    mut incoming: Vec<OutgoingAlert>,
    capacity: usize,
) -> (usize, usize) {
    let too_many = incoming.len().saturating_sub(capacity);
    if too_many > 0 {
        incoming.drain(..too_many);
    }
    let overflow = (queue.len() + incoming.len()).saturating_sub(capacity);
    queue.drain(..overflow.min(queue.len()));
    queue.extend(incoming);
    (too_many, overflow)
}

/// What the evaluator and the sender task share.
#[derive(Debug)]
struct Shared {
    queue: Mutex<Pending>,
    more: Notify,
    closing: AtomicBool,
    capacity: usize,
    metrics: ForwardMetrics,
}

/// Alerts not yet delivered.
#[derive(Debug, Default)]
struct Pending {
    queued: VecDeque<OutgoingAlert>,
    /// Alerts of the batch being sent right now.
    in_flight: usize,
    /// An Alertmanager already accepted the batch in flight.
    in_flight_delivered: bool,
}

impl Shared {
    /// The queue, even if a thread panicked while holding it (the queue is
    /// always consistent between statements).
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prometheus's `nextBatch`: the oldest alerts, at most [`MAX_BATCH_SIZE`].
    fn next_batch(&self) -> Vec<OutgoingAlert> {
        let mut pending = self.pending();
        let take = pending.queued.len().min(MAX_BATCH_SIZE);
        let batch: Vec<OutgoingAlert> = pending.queued.drain(..take).collect();
        pending.in_flight = batch.len();
        pending.in_flight_delivered = false;
        self.metrics.set_queue_length(pending.queued.len());
        batch
    }

    fn batch_done(&self) {
        self.pending().in_flight = 0;
    }

    fn batch_delivered(&self) {
        self.pending().in_flight_delivered = true;
    }
}

/// Sends the evaluator's alerts to external Alertmanagers from a background
/// task; [`Forwarder::send`] only queues, so evaluation never waits on the
/// network.
#[derive(Debug)]
pub struct Forwarder {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Checks the configuration and starts the sender task on the current
    /// tokio runtime (so it must be called from within one).
    pub fn spawn(config: ForwardConfig, metrics: ForwardMetrics) -> Result<Forwarder, String> {
        if config.urls.is_empty() {
            return Err("no Alertmanager URL to forward alerts to".to_string());
        }
        if config.queue_capacity == 0 {
            return Err("the notification queue capacity must be at least 1".to_string());
        }
        if config.timeout.is_zero() {
            return Err("the Alertmanager timeout must be longer than 0s".to_string());
        }
        let mut targets: Vec<Target> = Vec::with_capacity(config.urls.len());
        for url in &config.urls {
            let target = Target::parse(url)?;
            // Deduplicated by URL, as Prometheus's `sync`.
            if targets.iter().all(|known| known.name != target.name) {
                targets.push(target);
            }
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "alert forwarding must start inside the tokio runtime".to_string())?;
        let client = build_client(&config)?;

        for target in &targets {
            // Zero-valued series from the start, as Prometheus initialises them.
            let _ = metrics.sent.get_or_create(&target.label());
            let _ = metrics.errors.get_or_create(&target.label());
        }
        metrics
            .queue_capacity
            .set(i64::try_from(config.queue_capacity).unwrap_or(i64::MAX));
        metrics
            .alertmanagers
            .set(i64::try_from(targets.len()).unwrap_or(i64::MAX));
        metrics.set_queue_length(0);

        let shared = Arc::new(Shared {
            queue: Mutex::new(Pending::default()),
            more: Notify::new(),
            closing: AtomicBool::new(false),
            capacity: config.queue_capacity,
            metrics,
        });
        let sender = Sender {
            shared: Arc::clone(&shared),
            client,
            targets: targets.into(),
            timeout: config.timeout,
        };
        let task = runtime.spawn(sender.run());
        Ok(Forwarder {
            shared,
            task: Some(task),
        })
    }

    /// Queues a batch for every Alertmanager. Never waits: when the queue is
    /// full the oldest alerts are dropped (counted in
    /// `klaxon_notifications_dropped_total` and logged).
    pub fn send(&self, batch: AlertBatch) {
        if batch.alerts.is_empty() {
            return;
        }
        let (too_many, overflow) = {
            let mut pending = self.shared.pending();
            let dropped = enqueue(&mut pending.queued, batch.alerts, self.shared.capacity);
            self.shared.metrics.set_queue_length(pending.queued.len());
            dropped
        };
        if too_many > 0 {
            tracing::warn!(
                num_dropped = too_many,
                "Alert batch larger than queue capacity, dropping alerts"
            );
            self.shared.metrics.drop_alerts(too_many);
        }
        if overflow > 0 {
            tracing::warn!(
                num_dropped = overflow,
                "Alert notification queue full, dropping oldest alerts"
            );
            self.shared.metrics.drop_alerts(overflow);
        }
        self.shared.more.notify_one();
    }

    /// Alerts waiting to be sent (not counting the batch in flight).
    pub fn queue_len(&self) -> usize {
        self.shared.pending().queued.len()
    }

    /// Stops taking alerts and sends what is queued, giving up at `deadline`
    /// (SIGTERM). Alerts still undelivered then are counted as dropped.
    pub async fn shutdown(mut self, deadline: Duration) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.more.notify_one();
        let Some(mut task) = self.task.take() else {
            return;
        };
        match tokio::time::timeout(deadline, &mut task).await {
            Ok(_) => tracing::info!("alert forwarding stopped, queue drained"),
            Err(_) => {
                task.abort();
                // Wait for the abort so nobody touches the queue any more.
                let _ = task.await;
                let lost = {
                    let mut pending = self.shared.pending();
                    // The batch in flight is delivered once one accepted it.
                    let in_flight = if pending.in_flight_delivered {
                        0
                    } else {
                        pending.in_flight
                    };
                    let lost = pending.queued.len() + in_flight;
                    pending.queued.clear();
                    pending.in_flight = 0;
                    lost
                };
                self.shared.metrics.set_queue_length(0);
                self.shared.metrics.drop_alerts(lost);
                tracing::warn!(
                    num_dropped = lost,
                    deadline = ?deadline,
                    "alert forwarding stopped before the queue was drained, dropping alerts"
                );
            }
        }
    }
}

impl Drop for Forwarder {
    /// A forwarder dropped without [`Forwarder::shutdown`] stops its task;
    /// queued alerts are abandoned.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The HTTP client shared by all Alertmanagers: rustls, bearer token.
fn build_client(config: &ForwardConfig) -> Result<reqwest::Client, String> {
    // reqwest panics when no rustls provider is installed; klaxon uses ring.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &config.bearer_token {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|e| format!("the Alertmanager bearer token is not a valid header: {e}"))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(config.timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the Alertmanager HTTP client: {e}"))
}

/// The background task: Prometheus's `Run` loop.
struct Sender {
    shared: Arc<Shared>,
    client: reqwest::Client,
    targets: Arc<[Target]>,
    timeout: Duration,
}

impl Sender {
    async fn run(self) {
        loop {
            let batch = self.shared.next_batch();
            if batch.is_empty() {
                if self.shared.closing.load(Ordering::SeqCst) {
                    return;
                }
                // `notify_one` keeps a permit when nobody waits, so an alert
                // queued between `next_batch` and here is not missed.
                self.shared.more.notified().await;
                continue;
            }
            let delivered = self.send_all(&batch).await;
            self.shared.batch_done();
            if !delivered {
                self.shared.metrics.drop_alerts(batch.len());
            }
        }
    }

    /// Posts one batch to every Alertmanager at once; true when at least one
    /// accepted it.
    async fn send_all(&self, alerts: &[OutgoingAlert]) -> bool {
        let payload = match encode_alerts(alerts) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, "Encoding alerts for Alertmanager API v2 failed");
                return false;
            }
        };
        let count = alerts.len();
        let begin = Instant::now();
        let mut requests = JoinSet::new();
        for target in self.targets.iter() {
            let client = self.client.clone();
            let target = target.clone();
            let body = payload.clone();
            let timeout = self.timeout;
            requests.spawn(async move {
                let result = post(&client, &target, body, timeout).await;
                (target, result, begin.elapsed())
            });
        }
        let mut accepted = 0usize;
        let metrics = &self.shared.metrics;
        let count_u64 = u64::try_from(count).unwrap_or(u64::MAX);
        while let Some(joined) = requests.join_next().await {
            let Ok((target, result, elapsed)) = joined else {
                tracing::error!("an Alertmanager request task failed");
                continue;
            };
            let label = target.label();
            match result {
                Ok(()) => {
                    if accepted == 0 {
                        self.shared.batch_delivered();
                    }
                    accepted += 1;
                }
                Err(error) => {
                    tracing::error!(
                        alertmanager = %target.name,
                        count,
                        %error,
                        "Error sending alerts"
                    );
                    metrics.errors.get_or_create(&label).inc_by(count_u64);
                }
            }
            metrics
                .latency
                .get_or_create(&label)
                .observe(elapsed.as_secs_f64());
            metrics.sent.get_or_create(&label).inc_by(count_u64);
        }
        if accepted == 0 {
            tracing::warn!(
                num_dropped = count,
                "no Alertmanager accepted the alerts, dropping them"
            );
        }
        accepted > 0
    }
}

/// Prometheus's `sendOne`: any 2xx is success; the body is read to the end
/// so the connection is reused.
async fn post(
    client: &reqwest::Client,
    target: &Target,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), String> {
    let mut request = client
        .post(target.post_url.clone())
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some((user, password)) = &target.basic_auth {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|e| describe(&e, timeout))?;
    let status = response.status();
    let answer = response.bytes().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&answer);
        let text = text.trim();
        let mut message = format!("bad response status {status}");
        if !text.is_empty() {
            let shown: String = text.chars().take(200).collect();
            message.push_str(": ");
            message.push_str(&shown);
        }
        Err(message)
    }
}

/// A transport error in words, with its cause chain (reqwest's top-level
/// message alone says only "error sending request").
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str) -> OutgoingAlert {
        OutgoingAlert {
            labels: Labels::from([("alertname".to_string(), name.to_string())]),
            annotations: Labels::new(),
            starts_at: 0,
            ends_at: 0,
            generator_url: String::new(),
        }
    }

    fn names(queue: &VecDeque<OutgoingAlert>) -> Vec<String> {
        queue
            .iter()
            .filter_map(|a| a.labels.get("alertname").cloned())
            .collect()
    }

    #[test]
    fn full_queue_drops_the_oldest_alerts() {
        let mut queue: VecDeque<OutgoingAlert> = ["a", "b", "c"].into_iter().map(alert).collect();
        let dropped = enqueue(&mut queue, vec![alert("d"), alert("e")], 4);
        assert_eq!(dropped, (0, 1));
        assert_eq!(names(&queue), ["b", "c", "d", "e"]);
    }

    #[test]
    fn batch_larger_than_the_queue_keeps_its_newest_alerts() {
        let mut queue: VecDeque<OutgoingAlert> = ["a"].into_iter().map(alert).collect();
        let batch = ["b", "c", "d", "e"].into_iter().map(alert).collect();
        let dropped = enqueue(&mut queue, batch, 3);
        // One from the batch itself, then the queued "a" to make room.
        assert_eq!(dropped, (1, 1));
        assert_eq!(names(&queue), ["c", "d", "e"]);
    }

    #[test]
    fn post_path_joins_like_go_path_join() {
        assert_eq!(post_path("/"), "/api/v2/alerts");
        assert_eq!(post_path(""), "/api/v2/alerts");
        assert_eq!(post_path("/am"), "/am/api/v2/alerts");
        assert_eq!(post_path("/am/"), "/am/api/v2/alerts");
        assert_eq!(post_path("//a/./b/../c"), "/a/c/api/v2/alerts");
    }

    #[test]
    fn url_credentials_become_basic_auth_and_leave_the_label() {
        let target = Target::parse("https://us%40er:p%3Ass@am.example:9093/prefix/").ok();
        let target = target.as_ref();
        assert_eq!(
            target.map(|t| t.name.as_str()),
            Some("https://am.example:9093/prefix/api/v2/alerts")
        );
        assert_eq!(
            target.and_then(|t| t.basic_auth.clone()),
            Some(("us@er".to_string(), "p:ss".to_string()))
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_the_reason() {
        let err = |url: &str| Target::parse(url).err().unwrap_or_default();
        assert!(err("ftp://am:9093").contains("http:// or https://"));
        assert!(err("http://am:9093/?x=1").contains("query or fragment"));
        assert!(err("am:9093").contains("http:// or https://"));
        assert!(err("127.0.0.1:9093").contains("http:// or https://"));
        assert!(err("http://[::1").contains("is not a URL"));
    }

    #[test]
    fn alerts_encode_as_prometheus_posts_them() {
        let mut full = alert("Up");
        full.annotations
            .insert("summary".to_string(), "down".to_string());
        full.starts_at = 1_700_000_000_123;
        full.ends_at = 1_700_000_240_000;
        full.generator_url = "http://klaxon/graph".to_string();
        let bare = alert("Bare");
        let body = encode_alerts(&[full, bare]).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&body),
            concat!(
                r#"[{"annotations":{"summary":"down"},"endsAt":"2023-11-14T22:17:20.000Z","#,
                r#""startsAt":"2023-11-14T22:13:20.123Z","generatorURL":"http://klaxon/graph","#,
                r#""labels":{"alertname":"Up"}},"#,
                r#"{"endsAt":"1970-01-01T00:00:00.000Z","startsAt":"1970-01-01T00:00:00.000Z","#,
                r#""labels":{"alertname":"Bare"}}]"#
            )
        );
    }

    #[test]
    fn out_of_range_times_are_go_zero_time() {
        assert_eq!(strfmt_date_time(i64::MAX), "0001-01-01T00:00:00.000Z");
        assert_eq!(strfmt_date_time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            strfmt_date_time(253_402_300_799_999),
            "9999-12-31T23:59:59.999Z"
        );
    }
}
