//! The webhook integration: POSTs Alertmanager's webhook JSON (version 4),
//! so every existing Alertmanager webhook consumer works unchanged, with
//! what Alertmanager lacks: an HMAC-SHA256 signature of the body
//! (`X-Klaxon-Signature: sha256=<hex>`) so the far end can check the
//! sender, and an `Idempotency-Key` (the notification id, the same on every
//! retry) so it can drop the duplicate a retry after a lost answer makes.
//! Basic auth (`basic_auth_user`, `basic_auth_password`) or a bearer token
//! (`bearer_token`) authenticate it as Alertmanager's `http_config` does; the
//! loader has checked they exclude each other and an `Authorization` header.

use std::time::Duration;

use hmac::{KeyInit as _, Mac as _};
use reqwest::header::HeaderMap;

use super::{
    BoxFuture, Deliver, Delivered, DeliveryError, ReceiverContext, extra_roots, http_failure,
    limit_alerts, parse_retry_after,
};
use crate::model::components::webhook::{WebhookAuth, WebhookConfig};
use crate::notify::notification::Notification;
use crate::notify::payload::WebhookMessage;

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Klaxon-Signature";
/// The header carrying the notification id.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Per-request time limit when neither the integration nor the context sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How each request authenticates, secrets resolved.
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

/// A built webhook integration.
pub struct WebhookIntegration {
    url: reqwest::Url,
    secret: Option<Vec<u8>>,
    auth: Option<Auth>,
    timeout: Duration,
    max_alerts: usize,
    send_resolved: bool,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookIntegration {
    // The URL may carry a token and the secret is one: show neither.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookIntegration")
            .field("host", &self.url.host_str())
            .field("signed", &self.secret.is_some())
            .field(
                "auth",
                &match self.auth {
                    Some(Auth::Basic { .. }) => "basic",
                    Some(Auth::Bearer(_)) => "bearer",
                    None => "none",
                },
            )
            .field("timeout", &self.timeout)
            .field("max_alerts", &self.max_alerts)
            .field("send_resolved", &self.send_resolved)
            .finish()
    }
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret`: what
/// [`SIGNATURE_HEADER`] carries and what a receiver recomputes to check it.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; the error arm cannot happen.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + digest.len() * 2);
    out.push_str("sha256=");
    for byte in digest.iter() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

impl WebhookIntegration {
    /// Sets up the HTTP client for a validated integration (nothing is
    /// sent yet); the error names the setting it concerns.
    pub(super) fn build(
        config: &WebhookConfig,
        cx: &ReceiverContext,
    ) -> Result<Self, (&'static str, String)> {
        let timeout = config.timeout.or(cx.timeout).unwrap_or(DEFAULT_TIMEOUT);
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            headers.append(name.clone(), value.clone());
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")));
        for der in extra_roots(cx).map_err(|m| ("url", m))? {
            let cert = reqwest::Certificate::from_der(&der)
                .map_err(|e| ("url", format!("extra root certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| ("url", format!("cannot build the HTTP client: {e}")))?;
        let auth = config.auth.as_ref().map(|auth| match auth {
            WebhookAuth::Basic { user, password } => Auth::Basic {
                user: user.clone(),
                password: password.expose().to_string(),
            },
            WebhookAuth::Bearer(token) => Auth::Bearer(token.expose().to_string()),
        });
        Ok(WebhookIntegration {
            url: config.url.clone(),
            secret: config
                .secret
                .as_ref()
                .map(|s| s.expose().as_bytes().to_vec()),
            auth,
            timeout,
            max_alerts: config.max_alerts,
            send_resolved: config.send_resolved,
            client,
        })
    }

    async fn post(&self, n: &Notification) -> Result<Delivered, DeliveryError> {
        let limited = limit_alerts(n, self.max_alerts);
        let body =
            serde_json::to_vec(&WebhookMessage::from_notification(&limited)).map_err(|e| {
                DeliveryError::Permanent {
                    reason: format!("cannot encode the webhook JSON: {e}"),
                }
            })?;
        let mut request = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, n.id.as_str());
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, signature(secret, &body));
        }
        request = match &self.auth {
            Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password)),
            Some(Auth::Bearer(token)) => request.bearer_auth(token),
            None => request,
        };
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Delivered {
                thread: None,
                detail: format!("HTTP {}", status.as_u16()),
            });
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = match tokio::time::timeout(Duration::from_secs(2), response.text()).await {
            Ok(Ok(text)) => text,
            _ => String::new(),
        };
        Err(http_failure(status.as_u16(), retry_after, &text))
    }

    fn transport_error(&self, e: &reqwest::Error) -> DeliveryError {
        let host = self.url.host_str().unwrap_or("the webhook");
        let reason = if e.is_timeout() {
            format!("no answer from {host} within {:?}", self.timeout)
        } else if e.is_connect() {
            format!("cannot connect to {host}: {}", root_cause(e))
        } else {
            format!("request to {host} failed: {}", root_cause(e))
        };
        DeliveryError::Retryable {
            reason,
            retry_after: None,
        }
    }
}

/// The innermost error's text ("Connection refused"), not reqwest's wrapper.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

impl Deliver for WebhookIntegration {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn max_alerts(&self) -> usize {
        self.max_alerts
    }

    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        _thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(self.post(notification))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let parsed = parse_retry_after(&later).unwrap_or_default();
        assert!(parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
