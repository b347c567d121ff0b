//! Receivers: the integrations that carry a [`Notification`] out of klaxon
//! (Slack, email, webhook). Each is built once from the validated model
//! (config → validate → build) and then only sends; the outbox decides
//! when, retries, and keeps what an integration returns for threading.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::model::RuleSet;
use crate::notify::notification::Notification;

/// A boxed future, so integrations can live behind `dyn Deliver`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a successful send leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// What the next notification of the same group should thread onto
    /// (Slack `channel ts`, email `Message-ID`); `None` ends the thread, as
    /// after a full resolve.
    pub thread: Option<String>,
    /// One line for the history ("slack ts 1700000000.000100", "250 OK").
    pub detail: String,
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// 5xx, 429, timeouts, connection errors, Slack `ratelimited`: retry,
    /// not before `retry_after` when the far end said so.
    Retryable {
        /// One line for logs and the history.
        reason: String,
        /// The far end's Retry-After.
        retry_after: Option<Duration>,
    },
    /// 4xx, `invalid_auth`, `channel_not_found`, a rejected recipient:
    /// retrying sends the same thing to the same refusal.
    Permanent {
        /// One line for logs and the history.
        reason: String,
    },
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryError::Retryable { reason, .. } | DeliveryError::Permanent { reason } => {
                f.write_str(reason)
            }
        }
    }
}

/// One built integration.
pub trait Deliver: Send + Sync + std::fmt::Debug {
    /// "slack", "email" or "webhook", for logs, metrics and the history.
    fn kind(&self) -> &'static str;
    /// Whether resolved alerts are sent at all (`send_resolved`, default true).
    fn send_resolved(&self) -> bool;
    /// At most this many alerts per notification (0 = all).
    fn max_alerts(&self) -> usize;
    /// Sends one notification. `thread` is what the previous successful
    /// send of this group to this integration returned.
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>>;
}

/// Every receiver's integrations, by receiver name.
#[derive(Debug, Clone, Default)]
pub struct Receivers {
    by_name: HashMap<String, Vec<Arc<dyn Deliver>>>,
}

impl Receivers {
    /// A receiver's integrations (empty for an unknown name or a receiver
    /// without integrations).
    pub fn integrations(&self, receiver: &str) -> &[Arc<dyn Deliver>] {
        self.by_name.get(receiver).map_or(&[], |v| v.as_slice())
    }

    /// Adds a receiver (tests and the builder).
    pub fn insert(&mut self, receiver: impl Into<String>, integrations: Vec<Arc<dyn Deliver>>) {
        self.by_name.insert(receiver.into(), integrations);
    }

    /// Receiver names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// What every integration needs from the process.
#[derive(Debug, Clone, Default)]
pub struct ReceiverContext {
    /// klaxon's external URL, for silence and alert links.
    pub external_url: String,
}

/// Builds every receiver of `rules`; the errors name the receiver and
/// integration (unreadable secret, bad URL).
pub fn build_receivers(rules: &RuleSet, _cx: &ReceiverContext) -> Result<Receivers, Vec<String>> {
    let mut errors = Vec::new();
    let mut receivers = Receivers::default();
    for receiver in &rules.receivers {
        for integration in &receiver.integrations {
            errors.push(format!(
                "receiver `{}`: {:?} integrations are not supported by this build",
                receiver.name, integration.kind
            ));
        }
        receivers.insert(receiver.name.clone(), Vec::new());
    }
    if errors.is_empty() {
        Ok(receivers)
    } else {
        Err(errors)
    }
}
