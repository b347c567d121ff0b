//! The email integration, through lettre: SMTP with STARTTLS (the
//! default), TLS from the first byte (`tls tls`, port 465) or, to this
//! machine only, plain text; optional authentication; a multipart message
//! with a text and an HTML part.
//!
//! Threading: every message gets `Message-ID: <notification-id@klaxon>`; the
//! first message of a group is the thread, and every later one (more
//! alerts, the resolve) carries `In-Reply-To` and `References` of it, so
//! mail clients show the resolve under the problem.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use super::{
    BoxFuture, Deliver, Delivered, DeliveryError, ReceiverContext, Tone, extra_roots, runbook_url,
    severity_text, silence_url, title,
};
use crate::model::components::email::EmailConfig;
pub use crate::model::components::email::TlsMode;
use crate::notify::notification::{Notification, NotifiedAlert, Status};
use crate::vocab::labels::LabelSet;

/// Time limit for one whole SMTP conversation when the context sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A built email integration.
pub struct EmailIntegration {
    from: Mailbox,
    to: Vec<Mailbox>,
    smarthost: String,
    tls: TlsMode,
    subject: Option<String>,
    headers: Vec<(String, String)>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    send_resolved: bool,
    timeout: Duration,
}

impl std::fmt::Debug for EmailIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailIntegration")
            .field("from", &self.from.to_string())
            .field(
                "to",
                &self.to.iter().map(Mailbox::to_string).collect::<Vec<_>>(),
            )
            .field("smarthost", &self.smarthost)
            .field("tls", &self.tls)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl EmailIntegration {
    /// Sets up the SMTP transport for a validated integration (nothing is
    /// sent yet); the error names the setting it concerns.
    pub(super) fn build(
        config: &EmailConfig,
        cx: &ReceiverContext,
    ) -> Result<Self, (&'static str, String)> {
        let timeout = cx.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let host = config.host.clone();
        let tls_parameters = || -> Result<TlsParameters, (&'static str, String)> {
            let mut builder = TlsParameters::builder(host.clone());
            for der in extra_roots(cx).map_err(|m| ("tls", m))? {
                let cert = Certificate::from_der(der.to_vec())
                    .map_err(|e| ("tls", format!("extra root certificate: {e}")))?;
                builder = builder.add_root_certificate(cert);
            }
            builder
                .build_rustls()
                .map_err(|e| ("tls", format!("cannot set up TLS: {e}")))
        };
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters()?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(config.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some((user, password)) = &config.auth {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        if let Some(hello) = &config.hello {
            builder = builder.hello_name(ClientId::Domain(hello.clone()));
        }
        Ok(EmailIntegration {
            from: config.from.clone(),
            to: config.to.clone(),
            smarthost: format!("{host}:{}", config.port),
            tls: config.tls,
            subject: config.subject.clone(),
            headers: config.headers.clone(),
            transport: builder.build(),
            send_resolved: config.send_resolved,
            timeout,
        })
    }

    /// The message for `n`, threaded onto `thread` (a Message-ID).
    fn compose(&self, n: &Notification, thread: Option<&str>) -> Result<(Message, String), String> {
        let message_id = message_id(n);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(self.subject.clone().unwrap_or_else(|| title(n)))
            .message_id(Some(message_id.clone()))
            .date_now();
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        if let Some(first) = thread.filter(|t| is_message_id(t)) {
            builder = builder
                .in_reply_to(first.to_string())
                .references(first.to_string());
        }
        for (name, value) in &self.headers {
            if let Ok(name) = HeaderName::new_from_ascii(name.clone()) {
                builder = builder.raw_header(HeaderValue::new(name, value.clone()));
            }
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                text_body(n),
                html_body(n),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        Ok((message, message_id))
    }

    async fn deliver(
        &self,
        n: &Notification,
        thread: Option<&str>,
    ) -> Result<Delivered, DeliveryError> {
        let (message, message_id) = self
            .compose(n, thread)
            .map_err(|reason| DeliveryError::Permanent { reason })?;
        let response = match tokio::time::timeout(self.timeout, self.transport.send(message)).await
        {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(self.classify(&e)),
            Err(_) => {
                return Err(DeliveryError::Retryable {
                    reason: format!(
                        "SMTP {}: no answer within {:?}",
                        self.smarthost, self.timeout
                    ),
                    retry_after: None,
                });
            }
        };
        let first = thread
            .filter(|t| is_message_id(t))
            .map_or(message_id, String::from);
        let answer: String = response.message().collect::<Vec<_>>().join(" ");
        Ok(Delivered {
            thread: (n.status() == Status::Firing).then_some(first),
            detail: format!("{} {}", response.code(), answer).trim().to_string(),
        })
    }

    fn classify(&self, e: &lettre::transport::smtp::Error) -> DeliveryError {
        let reason = format!("SMTP {}: {}", self.smarthost, error_text(e));
        if e.is_permanent() || e.is_client() {
            DeliveryError::Permanent { reason }
        } else {
            // 4xx, timeouts, refused connections, TLS and protocol trouble.
            DeliveryError::Retryable {
                reason,
                retry_after: None,
            }
        }
    }
}

/// lettre's error with its causes ("Connection refused"); lettre writes
/// the causes itself, sometimes twice ("Connection error: Connection error:
/// ..."), so repeated segments are dropped.
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    let mut segments: Vec<&str> = text.split(": ").collect();
    segments.dedup();
    segments.join(": ")
}

/// `<notification-id@klaxon>`, unique per message and stable on retries.
pub fn message_id(n: &Notification) -> String {
    let id: String =
        n.id.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .collect();
    format!("<{id}@klaxon>")
}

fn is_message_id(text: &str) -> bool {
    text.starts_with('<')
        && text.ends_with('>')
        && text.contains('@')
        && !text.contains(['\r', '\n', ' '])
}

impl Deliver for EmailIntegration {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn max_alerts(&self) -> usize {
        0
    }

    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(self.deliver(notification, thread))
    }
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn pairs(labels: impl Iterator<Item = (String, String)>) -> String {
    labels
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn own_labels(alert: &NotifiedAlert, common: &LabelSet) -> Vec<(String, String)> {
    alert
        .labels
        .iter()
        .filter(|(k, v)| common.get(k) != Some(*v))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn shared_labels(n: &Notification, common: &LabelSet) -> Vec<(String, String)> {
    common
        .iter()
        .filter(|(k, _)| n.group_labels.get(k).is_none())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The text part.
pub fn text_body(n: &Notification) -> String {
    let common = n.common_labels();
    let mut out = format!("{}\n\n", title(n));
    if !n.group_labels.is_empty() {
        let group = n
            .group_labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        out.push_str(&format!("Group: {}\n", pairs(group)));
    }
    let shared = shared_labels(n, &common);
    if !shared.is_empty() {
        out.push_str(&format!("Labels: {}\n", pairs(shared.into_iter())));
    }
    if let Some(severity) = severity_text(n) {
        out.push_str(&format!("Severity: {severity}\n"));
    }
    for (heading, status) in [("Firing", Status::Firing), ("Resolved", Status::Resolved)] {
        let alerts: Vec<&NotifiedAlert> = n.alerts.iter().filter(|a| a.status == status).collect();
        if alerts.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{heading} ({})\n", alerts.len()));
        for alert in alerts {
            out.push_str(&format!("- {}", alert.labels.value("alertname")));
            let own = own_labels(alert, &common);
            if !own.is_empty() {
                out.push_str(&format!("  {}", pairs(own.into_iter())));
            }
            out.push('\n');
            for (name, value) in alert.annotations.iter() {
                out.push_str(&format!("  {name}: {value}\n"));
            }
            out.push_str(&format!("  Started: {}\n", utc(alert.starts_at)));
            if status == Status::Resolved {
                out.push_str(&format!("  Resolved: {}\n", utc(alert.ends_at)));
            }
            if !alert.generator_url.is_empty() {
                out.push_str(&format!("  Source: {}\n", alert.generator_url));
            }
        }
    }
    if n.truncated_alerts > 0 {
        out.push_str(&format!("\n{}\n", super::more_alerts(n.truncated_alerts)));
    }
    out.push('\n');
    if let Some(url) = runbook_url(n) {
        out.push_str(&format!("Runbook: {url}\n"));
    }
    if n.status() == Status::Firing
        && let Some(url) = silence_url(n)
    {
        out.push_str(&format!("Silence: {url}\n"));
    }
    out.push_str(&format!("\n-- \nklaxon, receiver {}\n", n.receiver));
    out
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_pairs(labels: impl Iterator<Item = (String, String)>) -> String {
    labels
        .map(|(k, v)| {
            format!(
                "<code style=\"background:#f2f2f2;padding:1px 4px;border-radius:3px\">{}={}</code>",
                html_escape(&k),
                html_escape(&v)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn html_link(label: &str, url: &str) -> String {
    format!(
        "<a href=\"{}\" style=\"display:inline-block;margin-right:12px\">{}</a>",
        html_escape(url),
        html_escape(label)
    )
}

/// The HTML part: the same content, with the severity colour.
pub fn html_body(n: &Notification) -> String {
    let tone = Tone::of(n);
    let common = n.common_labels();
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:-apple-system,Helvetica,Arial,sans-serif;font-size:14px;color:#1d1c1d\">\n",
    );
    out.push_str(&format!(
        "<div style=\"border-left:6px solid {};padding:8px 12px\">\n<h2 style=\"margin:0 0 8px 0\">{}</h2>\n",
        tone.colour(),
        html_escape(&title(n))
    ));
    if !n.group_labels.is_empty() {
        let group = n
            .group_labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        out.push_str(&format!("<p><b>Group:</b> {}</p>\n", html_pairs(group)));
    }
    let shared = shared_labels(n, &common);
    if !shared.is_empty() {
        out.push_str(&format!(
            "<p><b>Labels:</b> {}</p>\n",
            html_pairs(shared.into_iter())
        ));
    }
    if let Some(severity) = severity_text(n) {
        out.push_str(&format!(
            "<p><b>Severity:</b> {}</p>\n",
            html_escape(severity)
        ));
    }
    for (heading, status) in [("Firing", Status::Firing), ("Resolved", Status::Resolved)] {
        let alerts: Vec<&NotifiedAlert> = n.alerts.iter().filter(|a| a.status == status).collect();
        if alerts.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "<h3 style=\"margin:16px 0 4px 0\">{heading} ({})</h3>\n",
            alerts.len()
        ));
        for alert in alerts {
            out.push_str("<div style=\"margin:0 0 12px 0\">\n");
            out.push_str(&format!(
                "<b>{}</b> {}<br>\n",
                html_escape(alert.labels.value("alertname")),
                html_pairs(own_labels(alert, &common).into_iter())
            ));
            out.push_str("<table style=\"border-collapse:collapse\">\n");
            let mut row = |name: &str, value: &str| {
                out.push_str(&format!(
                    "<tr><td style=\"padding:1px 12px 1px 0;color:#616061;vertical-align:top\">{}</td><td>{}</td></tr>\n",
                    html_escape(name),
                    html_escape(value)
                ));
            };
            for (name, value) in alert.annotations.iter() {
                row(name, value);
            }
            row("started", &utc(alert.starts_at));
            if status == Status::Resolved {
                row("resolved", &utc(alert.ends_at));
            }
            out.push_str("</table>\n");
            if super::is_http_url(&alert.generator_url) {
                out.push_str(&html_link("Source", &alert.generator_url));
                out.push('\n');
            }
            out.push_str("</div>\n");
        }
    }
    if n.truncated_alerts > 0 {
        out.push_str(&format!(
            "<p>{}</p>\n",
            super::more_alerts(n.truncated_alerts)
        ));
    }
    let mut links = String::new();
    if let Some(url) = runbook_url(n) {
        links.push_str(&html_link("Runbook", &url));
    }
    if n.status() == Status::Firing
        && let Some(url) = silence_url(n)
    {
        links.push_str(&html_link("Silence", &url));
    }
    if !links.is_empty() {
        out.push_str(&format!("<p>{links}</p>\n"));
    }
    out.push_str(&format!(
        "</div>\n<p style=\"color:#616061;font-size:12px\">klaxon, receiver {}</p>\n</body></html>\n",
        html_escape(&n.receiver)
    ));
    out
}
