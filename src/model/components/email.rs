//! The `email { }` integration's settings and their checks; the sending
//! side is `notify::receivers::email`.

use lettre::message::Mailbox;
use lettre::message::header::HeaderName;

use super::{Block, Component, Kind, Secret, SettingSpec, inner_span, spec};

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

/// A validated email integration.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Recipients.
    pub to: Vec<Mailbox>,
    /// Sender.
    pub from: Mailbox,
    /// SMTP server host.
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// Connection protection.
    pub tls: TlsMode,
    /// SMTP user and password (empty when only the user is given).
    pub auth: Option<(String, Secret)>,
    /// Name sent in `EHLO`.
    pub hello: Option<String>,
    /// A `Subject` from `headers`, replacing klaxon's title.
    pub subject: Option<String>,
    /// Other extra headers, in the order written.
    pub headers: Vec<(String, String)>,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
}

impl Component for EmailConfig {
    const SETTINGS: &'static [SettingSpec] = &[
        spec("send_resolved", Kind::Bool),
        spec("to", Kind::List),
        spec("from", Kind::Text),
        spec("smarthost", Kind::Text),
        spec("tls", Kind::OneOf(&["starttls", "tls", "none"])),
        spec("auth_username", Kind::Text),
        spec("auth_password", Kind::Secret),
        spec("hello", Kind::Text),
        spec("headers", Kind::Map),
    ];

    fn validate(b: &mut Block<'_>) -> Option<Self> {
        b.check_schema(Self::SETTINGS);
        for required in ["to", "from", "smarthost"] {
            b.require(&[required], None);
        }
        let send_resolved = b.bool("send_resolved", true);
        let mut to = Vec::new();
        for value in b.values("to") {
            let mut offset = 0;
            for part in value.text.split(',') {
                let at = offset + (part.len() - part.trim_start().len());
                offset += part.len() + 1;
                let text = part.trim();
                if text.is_empty() {
                    continue;
                }
                match text.parse::<Mailbox>() {
                    Ok(mailbox) => to.push(mailbox),
                    Err(e) => {
                        // The address itself, when the value was written in the file.
                        let mut span = value.span;
                        if value.literal {
                            span = inner_span(&value.text, value.span, at);
                            if span.end == span.start + 1 {
                                span.end = (span.start + text.len()).min(value.span.end);
                            }
                        }
                        b.error("to", span, format!("`{text}` is not an email address: {e}"));
                    }
                }
            }
        }
        let from = b.value("from").and_then(|value| {
            let text = value.text.as_ref();
            match text.trim().parse::<Mailbox>() {
                Ok(mailbox) => Some(mailbox),
                Err(e) => {
                    b.error(
                        "from",
                        value.span,
                        format!("`{text}` is not an email address: {e}"),
                    );
                    None
                }
            }
        });
        let smarthost = b.value("smarthost").and_then(|value| {
            let found = split_host_port(&value.text);
            if found.is_none() {
                b.error(
                    "smarthost",
                    value.span,
                    format!(
                        "`{}` is not host:port; write it like `smtp.example.com:587`",
                        value.text
                    ),
                );
            }
            found
        });
        let tls_value = b.value("tls");
        let tls = match tls_value.as_ref().map(|t| t.text.trim()) {
            Some("tls") => TlsMode::Tls,
            Some("none") => TlsMode::None,
            // `starttls`, the default; anything else was refused by the schema.
            _ => TlsMode::StartTls,
        };
        if let (Some((host, _)), Some(value)) = (&smarthost, &tls_value)
            && tls == TlsMode::None
            && !is_local(host)
        {
            b.error(
                "tls",
                value.span,
                format!(
                    "`tls none` would send mail and passwords to `{host}` in clear text; it is only allowed for localhost, 127.0.0.1 or ::1; use `tls starttls` (port 587) or `tls tls` (port 465)"
                ),
            );
        }
        if !b.has("auth_username")
            && let Some(span) = b.span_of("auth_password")
        {
            b.error(
                "auth_password",
                span,
                "a password without `auth_username`; add the user name",
            );
        }
        let user = b.value("auth_username").map(|t| t.text.into_owned());
        let password = b
            .value("auth_password")
            .map(|t| Secret(t.text.trim().to_string()));
        let hello = b.trimmed("hello").map(|(h, _)| h).filter(|h| !h.is_empty());

        let mut subject = None;
        let mut headers = Vec::new();
        for entry in b.map("headers") {
            let name = entry.name;
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                b.error(
                    "headers",
                    entry.name_span,
                    format!("`{name}` is written by klaxon itself; remove it from `headers`"),
                );
            } else if HeaderName::new_from_ascii(name.to_string()).is_err() {
                b.error(
                    "headers",
                    entry.name_span,
                    format!("`{name}` is not a valid mail header name"),
                );
            } else if let Some(value) = entry.value {
                if value.text.contains(['\r', '\n']) {
                    b.error(
                        "headers",
                        value.span,
                        format!("the value of `{name}` has a line break"),
                    );
                } else if lower == "subject" {
                    subject = Some(value.text.into_owned());
                } else {
                    headers.push((name.to_string(), value.text.into_owned()));
                }
            }
        }
        let (host, port) = smarthost?;
        Some(EmailConfig {
            to,
            from: from?,
            host,
            port,
            tls,
            auth: user.map(|user| (user, password.unwrap_or_default())),
            hello,
            subject,
            headers,
            send_resolved,
        })
    }
}

/// Splits `host:port` (`[::1]:25` for IPv6).
pub fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Whether clear-text SMTP to `host` stays on this machine.
pub fn is_local(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
