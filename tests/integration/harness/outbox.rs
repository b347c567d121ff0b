//! Shared by the outbox tests: notifications to enqueue, a scripted
//! receiver integration that fails as told and records every call, a
//! minimal webhook integration ([`PostJson`], for a real HTTP receiver such
//! as [`super::WebhookSink`]), and polling from async tests.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klaxon::notify::notification::{Notification, NotifiedAlert, Reason, Status};
use klaxon::notify::outbox::{LogEntry, Outbox, OutboxOptions};
use klaxon::notify::payload::WebhookMessage;
use klaxon::notify::receivers::{BoxFuture, Deliver, Delivered, DeliveryError, Receivers};
use klaxon::store::{Store, StoreError};
use klaxon::vocab::labels::LabelSet;
use klaxon::vocab::time::Millis;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// A notification of `group` to `receiver`'s integration `integration`;
/// alerts named in `firing` fire, those in `resolved` have resolved.
pub fn notification(
    id: &str,
    group: &str,
    receiver: &str,
    integration: usize,
    firing: &[&str],
    resolved: &[&str],
) -> Notification {
    let alert = |name: &str, status: Status| {
        let labels = LabelSet::from_pairs([("alertname", name), ("group", group)]);
        NotifiedAlert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: LabelSet::from_pairs([("summary", "something is wrong")]),
            starts_at: 1_700_000_000_000,
            ends_at: if status == Status::Resolved {
                1_700_000_600_000
            } else {
                0
            },
            generator_url: String::new(),
            status,
        }
    };
    let alerts: Vec<NotifiedAlert> = firing
        .iter()
        .map(|n| alert(n, Status::Firing))
        .chain(resolved.iter().map(|n| alert(n, Status::Resolved)))
        .collect();
    Notification {
        id: id.to_string(),
        group_key: format!("{{}}:{{group=\"{group}\"}}"),
        group_id: String::new(),
        receiver: receiver.to_string(),
        integration,
        group_labels: LabelSet::from_pairs([("group", group)]),
        reason: if firing.is_empty() {
            Reason::Resolved
        } else {
            Reason::New
        },
        alerts,
        truncated_alerts: 0,
        created_at: now_ms(),
        external_url: "http://klaxon.example".to_string(),
    }
}

/// The log entry the dispatcher would write for `n`.
pub fn log_of(n: &Notification) -> LogEntry {
    LogEntry::new(
        n.firing().map(|a| a.fingerprint).collect(),
        n.resolved().map(|a| a.fingerprint).collect(),
        n.created_at,
    )
}

/// `(notification, log entry)` pairs, ready for [`Outbox::enqueue`].
pub fn with_logs(notifications: Vec<Notification>) -> Vec<(Notification, LogEntry)> {
    notifications
        .into_iter()
        .map(|n| {
            let log = log_of(&n);
            (n, log)
        })
        .collect()
}

/// Outbox options for tests: short delays, so retries take milliseconds.
pub fn fast_options() -> OutboxOptions {
    OutboxOptions {
        backoff_initial_ms: 20,
        backoff_max_ms: 200,
        attempt_timeout_ms: 400,
        shutdown_grace_ms: 2_000,
        ..OutboxOptions::default()
    }
}

/// What one scripted send does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Accept.
    Ok,
    /// Fail retryably (5xx, 429 with Retry-After, connection refused).
    Retryable(&'static str, Option<Duration>),
    /// Fail for good (4xx).
    Permanent(&'static str),
    /// Never answer (the outbox's attempt timeout ends it).
    Hang,
    /// Accept after a while.
    Slow(Duration),
    /// The far end gets it, then the process "dies" before the success is
    /// recorded: recorded as received, never returns.
    ReceiveThenHang,
}

/// One call of [`Scripted::send`].
#[derive(Debug, Clone)]
pub struct Call {
    pub id: String,
    pub group_key: String,
    pub thread: Option<String>,
    pub started: Instant,
    pub step: Step,
}

/// A receiver integration that follows a script (per notification id
/// first, then a shared one, then accepts) and records every call.
#[derive(Debug, Default)]
pub struct Scripted {
    shared: Mutex<VecDeque<Step>>,
    by_id: Mutex<HashMap<String, VecDeque<Step>>>,
    calls: Mutex<Vec<Call>>,
    running: Mutex<HashMap<String, usize>>,
    overlaps: AtomicUsize,
    /// Reply with a thread id (`ts-<id>`) for notifications with firing alerts.
    pub threads: bool,
}

impl Scripted {
    pub fn new() -> Arc<Scripted> {
        Arc::new(Scripted::default())
    }

    pub fn threading() -> Arc<Scripted> {
        Arc::new(Scripted {
            threads: true,
            ..Scripted::default()
        })
    }

    /// The next calls (of any notification) do these.
    pub fn then(&self, steps: impl IntoIterator<Item = Step>) {
        self.shared.lock().unwrap().extend(steps);
    }

    /// The next calls for notification `id` do these.
    pub fn for_id(&self, id: &str, steps: impl IntoIterator<Item = Step>) {
        self.by_id
            .lock()
            .unwrap()
            .entry(id.to_string())
            .or_default()
            .extend(steps);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Ids the far end accepted, in the order it accepted them (a
    /// `ReceiveThenHang` counts: the far end got it).
    pub fn received(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| matches!(c.step, Step::Ok | Step::Slow(_) | Step::ReceiveThenHang))
            .map(|c| c.id)
            .collect()
    }

    /// How often `id` was received.
    pub fn received_count(&self, id: &str) -> usize {
        self.received().iter().filter(|r| *r == id).count()
    }

    /// Times two sends of one lane ran at once (must stay 0).
    pub fn overlaps(&self) -> usize {
        self.overlaps.load(Ordering::SeqCst)
    }

    fn next_step(&self, id: &str) -> Step {
        if let Some(step) = self
            .by_id
            .lock()
            .unwrap()
            .get_mut(id)
            .and_then(VecDeque::pop_front)
        {
            return step;
        }
        self.shared.lock().unwrap().pop_front().unwrap_or(Step::Ok)
    }
}

/// Marks a lane's send as over, however it ends (returned or dropped by a
/// timeout).
struct Running<'a> {
    scripted: &'a Scripted,
    lane: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.scripted.running.lock().unwrap().get_mut(&self.lane) {
            *n -= 1;
        }
    }
}

impl Deliver for Scripted {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        true
    }

    fn max_alerts(&self) -> usize {
        0
    }

    fn send<'a>(
        &'a self,
        n: &'a Notification,
        thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            let lane = format!("{}|{}|{}", n.group_key, n.receiver, n.integration);
            {
                let mut running = self.running.lock().unwrap();
                let count = running.entry(lane.clone()).or_default();
                *count += 1;
                if *count > 1 {
                    self.overlaps.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _running = Running {
                scripted: self,
                lane,
            };
            let step = self.next_step(&n.id);
            self.calls.lock().unwrap().push(Call {
                id: n.id.clone(),
                group_key: n.group_key.clone(),
                thread: thread.map(str::to_string),
                started: Instant::now(),
                step: step.clone(),
            });
            let delivered = || Delivered {
                thread: (self.threads && n.firing().next().is_some())
                    .then(|| format!("ts-{}", n.id)),
                detail: format!("accepted {}", n.id),
            };
            match step {
                Step::Ok => Ok(delivered()),
                Step::Slow(pause) => {
                    tokio::time::sleep(pause).await;
                    Ok(delivered())
                }
                Step::Retryable(reason, retry_after) => Err(DeliveryError::Retryable {
                    reason: reason.to_string(),
                    retry_after,
                }),
                Step::Permanent(reason) => Err(DeliveryError::Permanent {
                    reason: reason.to_string(),
                }),
                Step::Hang | Step::ReceiveThenHang => {
                    std::future::pending::<()>().await;
                    Err(DeliveryError::Permanent {
                        reason: "unreachable".to_string(),
                    })
                }
            }
        })
    }
}

/// Receivers where `name` has the given integrations.
pub fn receivers(list: &[(&str, Vec<Arc<dyn Deliver>>)]) -> Receivers {
    let mut receivers = Receivers::default();
    for (name, integrations) in list {
        receivers.insert(*name, integrations.clone());
    }
    receivers
}

/// Opens the store in `dir`, waiting (up to 10 s) while a previous
/// instance in this process is still being torn down.
pub async fn open_store(dir: &Path) -> Arc<Store> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(dir) {
            Ok(store) => return Arc::new(store),
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    }
}

pub async fn open_outbox(dir: &Path, receivers: Receivers, options: OutboxOptions) -> Arc<Outbox> {
    let store = open_store(dir).await;
    Outbox::open(store, receivers, options).expect("the outbox opens")
}

/// Polls `check` every 10 ms until it is true; fails the test after
/// `timeout` saying what it waited for.
pub async fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// POSTs Alertmanager v4 JSON with an `Idempotency-Key`; 5xx, 429 and
/// connection errors are retryable (429 with its Retry-After), other 4xx
/// permanent.
#[derive(Debug)]
pub struct PostJson {
    client: reqwest::Client,
    url: String,
}

impl PostJson {
    pub fn new(url: String) -> Arc<PostJson> {
        crate::harness::install_tls_provider();
        Arc::new(PostJson {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            url,
        })
    }
}

impl Deliver for PostJson {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        true
    }

    fn max_alerts(&self) -> usize {
        0
    }

    fn send<'a>(
        &'a self,
        n: &'a Notification,
        _thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            let sent = self
                .client
                .post(&self.url)
                .header("Idempotency-Key", &n.id)
                .json(&WebhookMessage::from_notification(n))
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    return Err(DeliveryError::Retryable {
                        reason: format!("POST {}: {e}", self.url),
                        retry_after: None,
                    });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if status.is_success() {
                Ok(Delivered {
                    thread: None,
                    detail: format!("HTTP {}", status.as_u16()),
                })
            } else if status.is_server_error() || status.as_u16() == 429 {
                Err(DeliveryError::Retryable {
                    reason: format!("HTTP {}", status.as_u16()),
                    retry_after,
                })
            } else {
                Err(DeliveryError::Permanent {
                    reason: format!("HTTP {}", status.as_u16()),
                })
            }
        })
    }
}
