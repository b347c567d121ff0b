//! The `webhook { }` integration's settings and their checks; the sending
//! side is `notify::receivers::webhook`.

use reqwest::header::{HeaderName, HeaderValue};

use super::{Block, Component, Kind, Secret, SettingSpec, spec};

/// Headers klaxon sets itself; a `headers { }` block may not replace them.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
    "x-klaxon-signature",
];

/// How each request authenticates.
#[derive(Debug, Clone)]
pub enum WebhookAuth {
    /// HTTP basic auth (an absent password is empty, as Alertmanager allows).
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer ...`.
    Bearer(Secret),
}

/// A validated webhook integration.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: url::Url,
    /// The HMAC key of the body's signature.
    pub secret: Option<Secret>,
    /// How requests authenticate.
    pub auth: Option<WebhookAuth>,
    /// Per-request time limit; `None` for the default.
    pub timeout: Option<std::time::Duration>,
    /// At most this many alerts per message; 0 sends all.
    pub max_alerts: usize,
    /// Extra headers (values read from `env()`/`file()` are marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
}

impl std::fmt::Debug for WebhookConfig {
    // The URL may carry a token: show only its host.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("host", &self.url.host_str())
            .field("signed", &self.secret.is_some())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("max_alerts", &self.max_alerts)
            .field("headers", &self.headers)
            .field("send_resolved", &self.send_resolved)
            .finish()
    }
}

impl Component for WebhookConfig {
    const SETTINGS: &'static [SettingSpec] = &[
        spec("send_resolved", Kind::Bool),
        spec("url", Kind::Url),
        spec("secret", Kind::Secret),
        spec("basic_auth_user", Kind::Text),
        spec("basic_auth_password", Kind::Secret),
        spec("bearer_token", Kind::Secret),
        spec("timeout", Kind::Duration),
        spec("headers", Kind::Map),
        spec("max_alerts", Kind::Integer),
    ];

    fn validate(b: &mut Block<'_>) -> Option<Self> {
        b.check_schema(Self::SETTINGS);
        b.require(&["url"], None);
        let send_resolved = b.bool("send_resolved", true);
        let url_value = b.value("url");
        let url = url_value.as_ref().and_then(|t| {
            match url::Url::parse(t.text.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
                // Text that is no http(s) URL at all was refused by the schema.
                _ if !(t.text.starts_with("http://") || t.text.starts_with("https://")) => None,
                _ => {
                    b.error("url", t.span, "not an http:// or https:// URL; fix the URL");
                    None
                }
            }
        });
        let secret = b
            .value("secret")
            .map(|t| (t.text.trim().to_string(), t.span));
        if let Some((text, span)) = &secret
            && text.is_empty()
        {
            b.error("secret", *span, "is empty; put the shared secret in it");
        }
        let auth = if b.has("basic_auth_user") {
            b.value("basic_auth_user").map(|user| WebhookAuth::Basic {
                user: user.text.into_owned(),
                password: Secret(
                    b.value("basic_auth_password")
                        .map(|p| p.text.trim().to_string())
                        .unwrap_or_default(),
                ),
            })
        } else {
            b.value("bearer_token").and_then(|token| {
                let text = token.text.trim();
                if text.is_empty() {
                    b.error("bearer_token", token.span, "is empty; put the token in it");
                    return None;
                }
                Some(WebhookAuth::Bearer(Secret(text.to_string())))
            })
        };
        let timeout = match b.duration("timeout") {
            Some(d) if d.0 == 0 => {
                if let Some(span) = b.span_of("timeout") {
                    b.error(
                        "timeout",
                        span,
                        "must be longer than 0s; remove it for the default",
                    );
                }
                None
            }
            d => d.map(crate::vocab::time::Duration::to_std),
        };
        let max_alerts = b
            .value("max_alerts")
            .and_then(|t| t.text.trim().parse::<u64>().ok())
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut headers = Vec::new();
        let mut authorization = false;
        for entry in b.map("headers") {
            let name = entry.name;
            authorization |= name.eq_ignore_ascii_case("authorization");
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                b.error(
                    "headers",
                    entry.name_span,
                    format!("`{name}` is set by klaxon itself; remove it from `headers`"),
                );
                continue;
            }
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                b.error(
                    "headers",
                    entry.name_span,
                    format!("`{name}` is not a valid header name"),
                );
                continue;
            };
            let Some(value) = entry.value else {
                continue;
            };
            let Ok(mut header_value) = HeaderValue::from_str(&value.text) else {
                b.error(
                    "headers",
                    value.span,
                    format!("the value of `{name}` is not a valid header value (no line breaks or control characters)"),
                );
                continue;
            };
            header_value.set_sensitive(!value.literal);
            headers.push((header, header_value));
        }
        // reqwest sends a URL's userinfo as basic auth, over any other
        // `Authorization`. Userinfo written in the file is refused by the
        // schema; this catches a URL read from env()/file().
        let userinfo = url
            .as_ref()
            .is_some_and(|u| !u.username().is_empty() || u.password().is_some());
        if userinfo
            && (b.has("basic_auth_user") || b.has("bearer_token") || authorization)
            && let Some(value) = url_value.as_ref().filter(|v| !v.literal)
        {
            b.error(
                "url",
                value.span,
                "carries credentials (`user@` or `user:password@`) and the integration authenticates otherwise too; keep one",
            );
        }
        Some(WebhookConfig {
            url: url?,
            secret: secret.map(|(s, _)| Secret(s)),
            auth,
            timeout,
            max_alerts,
            headers,
            send_resolved,
        })
    }
}
