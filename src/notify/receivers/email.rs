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
    BoxFuture, Deliver, Delivered, DeliveryError, ReceiverContext, Settings, Tone, extra_roots,
    runbook_url, severity_text, silence_url, title,
};
use crate::notify::alert::LabelSet;
use crate::notify::notification::{Notification, NotifiedAlert, Status};

/// Time limit for one whole SMTP conversation when the context sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Headers klaxon writes itself; a `headers { }` block may not replace them.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "message-id",
    "in-reply-to",
    "references",
    "date",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// A plain connection upgraded with STARTTLS; refused if the server
    /// does not offer it.
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No TLS; only to this machine.
    None,
}

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

/// Splits `host:port` (`[::1]:25` for IPv6).
fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Whether clear-text SMTP to `host` stays on this machine.
fn is_local(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailIntegration {
    /// Reads the settings; problems go to `settings.errors`.
    pub(super) fn build(settings: &mut Settings<'_>, cx: &ReceiverContext) -> Option<Self> {
        let send_resolved = settings.bool("send_resolved", true);
        let timeout = cx.timeout.unwrap_or(DEFAULT_TIMEOUT);

        let to: Vec<Mailbox> = settings
            .list("to")
            .into_iter()
            .filter_map(|text| match text.parse::<Mailbox>() {
                Ok(mailbox) => Some(mailbox),
                Err(e) => {
                    settings.error("to", format!("`{text}` is not an email address: {e}"));
                    None
                }
            })
            .collect();
        if to.is_empty() && settings.values("to").is_none() {
            settings.error("to", "missing; add `to \"oncall@example.com\"`");
        }
        let from = match settings.text("from") {
            Some(text) => match text.trim().parse::<Mailbox>() {
                Ok(mailbox) => Some(mailbox),
                Err(e) => {
                    settings.error("from", format!("`{text}` is not an email address: {e}"));
                    None
                }
            },
            None => {
                if settings.values("from").is_none() {
                    settings.error("from", "missing; add `from \"klaxon@example.com\"`");
                }
                None
            }
        };
        let smarthost = settings.text("smarthost");
        let host_port = match smarthost.as_deref().map(split_host_port) {
            Some(Some(hp)) => Some(hp),
            Some(None) => {
                settings.error(
                    "smarthost",
                    format!(
                        "`{}` is not host:port; write it like `smtp.example.com:587`",
                        smarthost.as_deref().unwrap_or("")
                    ),
                );
                None
            }
            None => {
                if settings.values("smarthost").is_none() {
                    settings.error(
                        "smarthost",
                        "missing; add `smarthost \"smtp.example.com:587\"`",
                    );
                }
                None
            }
        };
        let tls = match settings.text("tls").as_deref().map(str::trim) {
            None | Some("starttls") => TlsMode::StartTls,
            Some("tls") => TlsMode::Tls,
            Some("none") => TlsMode::None,
            Some(other) => {
                settings.error(
                    "tls",
                    format!("`{other}` is not one of starttls, tls, none"),
                );
                TlsMode::StartTls
            }
        };
        if let Some((host, _)) = &host_port
            && tls == TlsMode::None
            && !is_local(host)
        {
            settings.error(
                "tls",
                format!(
                    "`tls none` would send mail and passwords to `{host}` in clear text; it is only allowed for localhost, 127.0.0.1 or ::1; use `tls starttls` (port 587) or `tls tls` (port 465)"
                ),
            );
        }
        let username = settings.text("auth_username");
        let password = settings.secret("auth_password");
        let credentials = match (username, password) {
            (Some(user), Some(password)) => Some(Credentials::new(user, password)),
            (Some(user), None) => Some(Credentials::new(user, String::new())),
            (None, Some(_)) => {
                settings.error(
                    "auth_password",
                    "a password without `auth_username`; add the user name",
                );
                None
            }
            (None, None) => None,
        };
        let hello = settings.text("hello").filter(|h| !h.trim().is_empty());

        let mut subject = None;
        let mut headers = Vec::new();
        for (name, value, _) in settings.map("headers") {
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                settings.error(
                    "headers",
                    format!("`{name}` is written by klaxon itself; remove it from `headers`"),
                );
            } else if HeaderName::new_from_ascii(name.clone()).is_err() {
                settings.error(
                    "headers",
                    format!("`{name}` is not a valid mail header name"),
                );
            } else if value.contains(['\r', '\n']) {
                settings.error("headers", format!("the value of `{name}` has a line break"));
            } else if lower == "subject" {
                subject = Some(value);
            } else {
                headers.push((name, value));
            }
        }

        let (host, port) = host_port?;
        let tls_parameters = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(host.clone());
            for der in extra_roots(cx)? {
                let cert = Certificate::from_der(der.to_vec())
                    .map_err(|e| format!("extra root certificate: {e}"))?;
                builder = builder.add_root_certificate(cert);
            }
            builder
                .build_rustls()
                .map_err(|e| format!("cannot set up TLS: {e}"))
        };
        let tls_setting = match tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => match tls_parameters() {
                Ok(p) => Tls::Required(p),
                Err(message) => {
                    settings.error("tls", message);
                    return None;
                }
            },
            TlsMode::Tls => match tls_parameters() {
                Ok(p) => Tls::Wrapper(p),
                Err(message) => {
                    settings.error("tls", message);
                    return None;
                }
            },
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls_setting)
            .timeout(Some(timeout));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        if let Some(hello) = hello {
            builder = builder.hello_name(ClientId::Domain(hello.trim().to_string()));
        }
        Some(EmailIntegration {
            from: from?,
            to,
            smarthost: format!("{host}:{port}"),
            tls,
            subject,
            headers,
            transport: builder.build(),
            send_resolved,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smarthost_and_locality() {
        assert_eq!(
            split_host_port("smtp.example.com:587"),
            Some(("smtp.example.com".to_string(), 587))
        );
        assert_eq!(split_host_port("[::1]:25"), Some(("::1".to_string(), 25)));
        assert_eq!(split_host_port("smtp.example.com"), None);
        assert_eq!(split_host_port(":25"), None);
        assert_eq!(split_host_port("host:0"), None);
        assert!(is_local("localhost") && is_local("127.0.0.1") && is_local("::1"));
        assert!(!is_local("mail.example.com") && !is_local("10.0.0.1"));
    }
}
