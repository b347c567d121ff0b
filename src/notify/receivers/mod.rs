//! Receivers: the integrations that carry a [`Notification`] out of klaxon
//! (Slack, email, webhook). Each is built once from its configuration,
//! validated by the loader (`model::components::{slack, email, webhook}`):
//! building reads its secrets and sets up its client, and then it only
//! sends; the outbox decides when, retries, and keeps what an integration
//! returns for threading.
//!
//! Every integration classifies its own failures: what the far end will
//! accept later (5xx, 429, timeouts, refused connections, SMTP 4xx) is
//! [`DeliveryError::Retryable`], what it will refuse again (4xx, Slack
//! `invalid_auth`, SMTP 5xx) is [`DeliveryError::Permanent`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::model::components::Place;
use crate::model::{IntegrationConfig, RuleSet};
use crate::notify::alert::severity_rank;
use crate::notify::notification::{Notification, Status};
use crate::vocab::labels::LabelSet;

pub mod email;
pub mod slack;
pub mod webhook;

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
    /// Extra trusted root certificates (PEM), on top of the system's: for
    /// a private CA in front of SMTP, webhook or Slack proxies, and for
    /// tests with self-signed servers.
    pub extra_root_certs_pem: Vec<Vec<u8>>,
    /// Per-request time limit for integrations without a `timeout`
    /// setting; `None` keeps each kind's default (10s HTTP, 30s SMTP).
    pub timeout: Option<Duration>,
}

/// Builds every receiver of `rules`; the errors name the receiver,
/// integration and setting (unreadable secret, bad URL) and say what to
/// fix. Secrets (`env()`, `file()`) are read here, once: a missing one fails
/// the build instead of every later send.
pub fn build_receivers(rules: &RuleSet, cx: &ReceiverContext) -> Result<Receivers, Vec<String>> {
    build_receivers_located(rules, cx)
        .map_err(|diagnostics| diagnostics.into_iter().map(|d| d.message).collect())
}

/// [`build_receivers`] with each error located at the setting's value (or
/// the integration), in the order written, for rendering with the files.
pub fn build_receivers_located(
    rules: &RuleSet,
    cx: &ReceiverContext,
) -> Result<Receivers, Vec<Diagnostic>> {
    // reqwest and hyper-rustls need a process-wide rustls provider; the
    // binary installs ring first, this only covers embedders and tests.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let read = crate::vocab::secret::SecretValue::resolve;
    let mut errors = Vec::new();
    let mut receivers = Receivers::default();
    for receiver in &rules.receivers {
        let mut built: Vec<Arc<dyn Deliver>> = Vec::new();
        for integration in &receiver.integrations {
            let result: Result<Arc<dyn Deliver>, Vec<Diagnostic>> = match &integration.config {
                IntegrationConfig::Webhook(c) => c.resolve(&read).and_then(|config| {
                    webhook::WebhookIntegration::build(&config, cx)
                        .map(|i| Arc::new(i) as _)
                        .map_err(|(setting, m)| client_error(c.place(), setting, m))
                }),
                IntegrationConfig::Slack(c) => c.resolve(&read).and_then(|config| {
                    slack::SlackIntegration::build(&config, cx)
                        .map(|i| Arc::new(i) as _)
                        .map_err(|(setting, m)| client_error(c.place(), setting, m))
                }),
                IntegrationConfig::Email(c) => c.resolve(&read).and_then(|config| {
                    email::EmailIntegration::build(&config, cx)
                        .map(|i| Arc::new(i) as _)
                        .map_err(|(setting, m)| client_error(c.place(), setting, m))
                }),
            };
            match result {
                Ok(deliver) => built.push(deliver),
                Err(mut e) => errors.append(&mut e),
            }
        }
        receivers.insert(receiver.name.clone(), built);
    }
    if errors.is_empty() {
        Ok(receivers)
    } else {
        crate::diag::sort_dedup(&mut errors);
        Err(errors)
    }
}

/// A client that cannot be set up (TLS roots, the HTTP client): reported
/// at the integration, naming the setting it concerns.
fn client_error(place: &Place, setting: &str, message: String) -> Vec<Diagnostic> {
    vec![Diagnostic::error(
        "build/client",
        place.span(),
        place.say(setting, message),
    )]
}

/// Parses `Retry-After`: whole seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Classifies an HTTP answer that is not 2xx: 408, 429 and 5xx may pass,
/// any other 4xx will be refused again.
fn http_failure(status: u16, retry_after: Option<Duration>, body: &str) -> DeliveryError {
    let snippet: String = body.trim().chars().take(200).collect();
    let reason = if snippet.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {snippet}")
    };
    if status == 408 || status == 429 || status >= 500 {
        DeliveryError::Retryable {
            reason,
            retry_after,
        }
    } else {
        DeliveryError::Permanent { reason }
    }
}

/// Alertmanager-style title: `[FIRING:2] KafkaConsumerLag (cluster=prod)`,
/// `[RESOLVED] KafkaConsumerLag (cluster=prod)`: the alert name, then the
/// other group labels.
fn title(n: &Notification) -> String {
    let status = match n.status() {
        Status::Firing => format!("[FIRING:{}]", n.firing().count()),
        Status::Resolved => "[RESOLVED]".to_string(),
    };
    let others: Vec<String> = n
        .group_labels
        .iter()
        .filter(|(k, _)| *k != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if others.is_empty() {
        format!("{status} {}", alert_names(n))
    } else {
        format!("{status} {} ({})", alert_names(n), others.join(", "))
    }
}

/// The alert name the group shares, or the first few names.
fn alert_names(n: &Notification) -> String {
    let mut names: Vec<&str> = Vec::new();
    for alert in &n.alerts {
        let name = alert.labels.value("alertname");
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    match names.len() {
        0 if n.alerts.len() == 1 => "1 alert".to_string(),
        0 => format!("{} alerts", n.alerts.len()),
        1..=3 => names.join(", "),
        more => format!("{} and {} more", names[..3].join(", "), more - 3),
    }
}

/// "…and 3 more alerts", for what a message leaves out.
fn more_alerts(count: usize) -> String {
    if count == 1 {
        "…and 1 more alert".to_string()
    } else {
        format!("…and {count} more alerts")
    }
}

/// How bad a notification is, for colours and emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Critical,
    Warning,
    Info,
    Resolved,
}

impl Tone {
    /// The highest severity among the firing alerts; alerts without a
    /// known severity count as critical, as Alertmanager paints every
    /// firing message red.
    fn of(n: &Notification) -> Tone {
        if n.status() == Status::Resolved {
            return Tone::Resolved;
        }
        let rank = n
            .firing()
            .map(|a| match severity_rank(&a.labels) {
                0 => 4,
                r => r,
            })
            .max()
            .unwrap_or(4);
        match rank {
            3.. => Tone::Critical,
            2 => Tone::Warning,
            _ => Tone::Info,
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Tone::Critical => "#D40E0D",
            Tone::Warning => "#F2A900",
            Tone::Info => "#2F80ED",
            Tone::Resolved => "#2EB67D",
        }
    }
}

/// The severity word shown to people: the most severe firing alert's.
fn severity_text(n: &Notification) -> Option<&str> {
    let alerts: Vec<_> = if n.status() == Status::Firing {
        n.firing().collect()
    } else {
        n.alerts.iter().collect()
    };
    alerts
        .into_iter()
        .max_by_key(|a| severity_rank(&a.labels))
        .and_then(|a| a.labels.get("severity"))
}

/// The runbook link: `runbook_url` or `runbook`, shared or the first alert's.
fn runbook_url(n: &Notification) -> Option<String> {
    let pick = |set: &LabelSet| {
        ["runbook_url", "runbook"]
            .iter()
            .find_map(|k| set.get(k).filter(|v| is_http_url(v)).map(String::from))
    };
    pick(&n.common_annotations()).or_else(|| n.alerts.iter().find_map(|a| pick(&a.annotations)))
}

fn is_http_url(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// A link that opens a new silence for the group, as Alertmanager's
/// templates build it: `{external_url}/#/silences/new?filter=` and the
/// URL-encoded matchers of the group labels (the common labels when the
/// group has none).
fn silence_url(n: &Notification) -> Option<String> {
    let base = n.external_url.trim_end_matches('/');
    if !is_http_url(base) {
        return None;
    }
    let labels = if n.group_labels.is_empty() {
        n.common_labels()
    } else {
        n.group_labels.clone()
    };
    if labels.is_empty() {
        return None;
    }
    let matchers: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::vocab::go::quote(v)))
        .collect();
    let filter = format!("{{{}}}", matchers.join(","));
    let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    Some(format!("{base}/#/silences/new?filter={encoded}"))
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The alerts an integration sends: at most `max_alerts` (0 = all), the
/// rest counted in `truncated_alerts`, as Alertmanager's webhook does.
fn limit_alerts(n: &Notification, max_alerts: usize) -> std::borrow::Cow<'_, Notification> {
    if max_alerts == 0 || n.alerts.len() <= max_alerts {
        return std::borrow::Cow::Borrowed(n);
    }
    let mut limited = n.clone();
    let dropped = limited.alerts.len() - max_alerts;
    limited.alerts.truncate(max_alerts);
    limited.truncated_alerts += dropped;
    std::borrow::Cow::Owned(limited)
}

/// The context's extra root certificates, parsed once for every TLS stack
/// (reqwest, hyper-rustls, lettre).
fn extra_roots(
    cx: &ReceiverContext,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut out = Vec::new();
    for pem in &cx.extra_root_certs_pem {
        let before = out.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            out.push(cert.map_err(|e| format!("an extra root certificate is not PEM: {e}"))?);
        }
        if out.len() == before {
            return Err("an extra root certificate holds no PEM certificate".into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::notification::{NotifiedAlert, Reason};

    fn alert(name: &str, severity: &str, status: Status) -> NotifiedAlert {
        let labels = LabelSet::from_pairs([("alertname", name), ("severity", severity)]);
        NotifiedAlert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: LabelSet::default(),
            starts_at: 0,
            ends_at: 0,
            generator_url: String::new(),
            status,
        }
    }

    fn notification(alerts: Vec<NotifiedAlert>, group: &[(&str, &str)]) -> Notification {
        Notification {
            id: "id".into(),
            group_key: "{}:{}".into(),
            group_id: String::new(),
            receiver: "r".into(),
            integration: 0,
            group_labels: LabelSet::from_pairs(group.iter().copied()),
            alerts,
            truncated_alerts: 0,
            reason: Reason::New,
            created_at: 0,
            external_url: "https://klaxon.example.com/".into(),
        }
    }

    #[test]
    fn titles_name_the_alerts_and_the_other_group_labels() {
        let n = notification(
            vec![
                alert("A", "warning", Status::Firing),
                alert("B", "info", Status::Firing),
                alert("C", "", Status::Resolved),
                alert("D", "", Status::Resolved),
                alert("A", "critical", Status::Resolved),
            ],
            &[("cluster", "prod"), ("team", "db")],
        );
        assert_eq!(
            title(&n),
            "[FIRING:2] A, B, C and 1 more (cluster=prod, team=db)"
        );
        let resolved = notification(vec![alert("A", "warning", Status::Resolved)], &[]);
        assert_eq!(title(&resolved), "[RESOLVED] A");
        let nameless = notification(vec![alert("", "warning", Status::Firing)], &[]);
        assert_eq!(title(&nameless), "[FIRING:1] 1 alert");
    }

    #[test]
    fn tone_follows_the_worst_firing_alert() {
        let warning = notification(
            vec![
                alert("A", "info", Status::Firing),
                alert("B", "warning", Status::Firing),
                alert("C", "critical", Status::Resolved),
            ],
            &[],
        );
        assert_eq!(
            Tone::of(&warning),
            Tone::Warning,
            "a resolved critical no longer counts"
        );
        assert_eq!(severity_text(&warning), Some("warning"));
        let unknown = notification(vec![alert("A", "", Status::Firing)], &[]);
        assert_eq!(
            Tone::of(&unknown),
            Tone::Critical,
            "no severity: red, as Alertmanager"
        );
        let info = notification(vec![alert("A", "info", Status::Firing)], &[]);
        assert_eq!(Tone::of(&info), Tone::Info);
        let resolved = notification(vec![alert("A", "critical", Status::Resolved)], &[]);
        assert_eq!(Tone::of(&resolved), Tone::Resolved);
    }

    #[test]
    fn silence_links_quote_and_encode_the_group_matchers() {
        let n = notification(
            vec![alert("A", "warning", Status::Firing)],
            &[("path", r#"/a "b"\c"#), ("zone", "eu west")],
        );
        assert_eq!(
            silence_url(&n).as_deref(),
            Some(
                "https://klaxon.example.com/#/silences/new?filter=\
                 %7Bpath%3D%22%2Fa%20%5C%22b%5C%22%5C%5Cc%22%2Czone%3D%22eu%20west%22%7D"
            )
        );
        // Without group labels, the common labels.
        let ungrouped = notification(vec![alert("A", "warning", Status::Firing)], &[]);
        assert_eq!(
            silence_url(&ungrouped).as_deref(),
            Some(
                "https://klaxon.example.com/#/silences/new?filter=\
                 %7Balertname%3D%22A%22%2Cseverity%3D%22warning%22%7D"
            )
        );
        let mut no_url = ungrouped.clone();
        no_url.external_url = String::new();
        assert_eq!(silence_url(&no_url), None);
    }

    #[test]
    fn max_alerts_keeps_the_first_and_counts_the_rest() {
        let n = notification(
            vec![
                alert("A", "", Status::Firing),
                alert("B", "", Status::Firing),
                alert("C", "", Status::Firing),
            ],
            &[],
        );
        let limited = limit_alerts(&n, 2);
        assert_eq!(limited.alerts.len(), 2);
        assert_eq!(limited.truncated_alerts, 1);
        assert_eq!(limit_alerts(&n, 0).alerts.len(), 3);
        assert_eq!(limit_alerts(&n, 3).truncated_alerts, 0);
        assert_eq!(truncate_chars("héllo", 4), "hél…");
        assert_eq!(truncate_chars("héllo", 5), "héllo");
    }

    #[test]
    fn http_failures_retry_only_what_can_pass() {
        for status in [408, 429, 500, 502, 503] {
            assert!(
                matches!(
                    http_failure(status, None, ""),
                    DeliveryError::Retryable { .. }
                ),
                "{status}"
            );
        }
        for status in [301, 400, 401, 403, 404, 410, 413, 422] {
            assert!(
                matches!(
                    http_failure(status, None, ""),
                    DeliveryError::Permanent { .. }
                ),
                "{status}"
            );
        }
    }
}
