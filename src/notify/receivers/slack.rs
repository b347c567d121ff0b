//! The Slack integration, through slack-morphism: with a bot token it
//! posts with `chat.postMessage` and edits the same message in place with
//! `chat.update` when the alerts resolve; with an incoming-webhook URL it
//! can only post.
//!
//! The message: a header with the state (`:red_circle: [FIRING:2]
//! KafkaConsumerLag`), the group and common labels, then in an attachment
//! coloured by severity (critical red, warning orange, info blue, resolved
//! green) one section per alert (its own labels, summary, description,
//! value, start), and buttons to the runbook, a pre-filled silence and the
//! rule. `text` carries a plain fallback for notifications and old clients.
//!
//! Threading: the thread is `"CHANNEL_ID TS"` of the message. A resolve, or
//! a partial resolve, edits that message; new alerts, an escalation or a
//! repeat post a new message, because an edit pings nobody.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::{
    BoxFuture, Deliver, Delivered, DeliveryError, ReceiverContext, Tone, extra_roots, http_failure,
    is_http_url, runbook_url, severity_text, silence_url, title, truncate_chars,
};
use crate::model::components::slack::{SlackConfig, SlackTarget};
use crate::notify::notification::{Notification, NotifiedAlert, Reason, Status};
use crate::vocab::labels::LabelSet;

/// Per-request time limit when the context sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack's limit on a header block's text.
pub const HEADER_MAX: usize = 150;
/// Slack's limit on a section block's text.
pub const SECTION_MAX: usize = 3000;
/// Alerts described one by one; the rest are counted.
pub const ALERTS_SHOWN: usize = 10;

/// Slack errors that the same request will meet again.
const PERMANENT_ERRORS: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "no_text",
    "invalid_blocks",
    "invalid_attachments",
    "invalid_arguments",
    "restricted_action",
    "ekm_access_denied",
];

/// Slack errors that pass.
const RETRYABLE_ERRORS: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
];

/// `chat.update` cannot edit the message: post a new one instead.
const GONE_MESSAGE_ERRORS: &[&str] = &[
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
];

type Client = SlackClient<SlackClientHyperConnector<HttpsConnector<HttpConnector>>>;

/// Where messages go.
enum Target {
    /// `chat.postMessage` / `chat.update` with a bot token.
    Bot {
        token: SlackApiToken,
        channel: String,
    },
    /// An incoming webhook: post only.
    Webhook { url: url::Url },
}

/// A built Slack integration.
pub struct SlackIntegration {
    target: Target,
    client: Client,
    username: Option<String>,
    icon_emoji: Option<String>,
    send_resolved: bool,
    timeout: Duration,
}

impl std::fmt::Debug for SlackIntegration {
    // Neither the token nor the webhook URL (itself a credential) is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::Bot { channel, .. } => format!("bot token, channel {channel}"),
            Target::Webhook { url } => {
                format!("incoming webhook on {}", url.host_str().unwrap_or("?"))
            }
        };
        f.debug_struct("SlackIntegration")
            .field("target", &target)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What `chat.postMessage` and `chat.update` answer that klaxon keeps: the
/// channel ID and the message ts. The rest of Slack's answer (the echoed
/// message) is not parsed, so a message shape slack-morphism does not know
/// can never turn a delivered message into a failed (and re-posted) one.
#[derive(Debug, Deserialize)]
struct Posted {
    channel: String,
    ts: String,
}

fn connector(
    cx: &ReceiverContext,
    timeout: Duration,
) -> Result<HttpsConnector<HttpConnector>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra_roots(cx)?,
        provider.clone(),
    )
    .map_err(|e| format!("cannot set up TLS certificate checks: {e}"))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(timeout.min(Duration::from_secs(10))));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http))
}

impl SlackIntegration {
    /// Sets up the client for a validated integration (nothing is sent
    /// yet); the error names the setting it concerns.
    pub(super) fn build(
        config: &SlackConfig,
        cx: &ReceiverContext,
    ) -> Result<Self, (&'static str, String)> {
        let timeout = cx.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let api_url = config
            .api_url
            .clone()
            .unwrap_or_else(|| SlackClientHttpApiUri::SLACK_API_URI_STR.to_string());
        let target = match &config.target {
            SlackTarget::Bot { token, channel } => Target::Bot {
                token: SlackApiToken::new(SlackApiTokenValue(token.expose().to_string())),
                channel: channel.clone(),
            },
            SlackTarget::Webhook { url } => Target::Webhook { url: url.clone() },
        };
        let connector = connector(cx, timeout).map_err(|m| ("api_url", m))?;
        let client = SlackClient::new(
            SlackClientHyperConnector::with_connector(connector).with_slack_api_url(&api_url),
        );
        Ok(SlackIntegration {
            target,
            client,
            username: config.username.clone(),
            icon_emoji: config.icon_emoji.clone(),
            send_resolved: config.send_resolved,
            timeout,
        })
    }

    async fn deliver(
        &self,
        n: &Notification,
        thread: Option<&str>,
    ) -> Result<Delivered, DeliveryError> {
        let content = message(n);
        match &self.target {
            Target::Webhook { url } => {
                let request = SlackApiPostWebhookMessageRequest::new(content);
                self.client
                    .post_webhook_message(url, &request)
                    .await
                    .map_err(|e| classify(&e))?;
                Ok(Delivered {
                    thread: None,
                    detail: "slack webhook ok".to_string(),
                })
            }
            Target::Bot { token, channel } => {
                let session = self.client.open_session(token);
                let previous = thread.and_then(|t| t.split_once(' '));
                let edit = matches!(n.reason, Reason::Resolved | Reason::PartialResolve)
                    || n.status() == Status::Resolved;
                if let (Some((channel_id, ts)), true) = (previous, edit) {
                    let request = SlackApiChatUpdateRequest::new(
                        SlackChannelId(channel_id.to_string()),
                        content.clone(),
                        SlackTs(ts.to_string()),
                    );
                    let updated: Result<Posted, _> = session
                        .http_session_api
                        .http_post("chat.update", &request, None)
                        .await;
                    match updated {
                        Ok(posted) => {
                            return Ok(Delivered {
                                thread: keep_thread(n, &posted),
                                detail: format!(
                                    "slack chat.update {} {}",
                                    posted.channel, posted.ts
                                ),
                            });
                        }
                        Err(SlackClientError::ApiError(e))
                            if GONE_MESSAGE_ERRORS.contains(&e.code.as_str()) =>
                        {
                            // Deleted or too old to edit: say it in a new message.
                        }
                        Err(e) => return Err(classify(&e)),
                    }
                }
                let mut request =
                    SlackApiChatPostMessageRequest::new(SlackChannelId(channel.clone()), content);
                request.username = self.username.clone();
                request.icon_emoji = self.icon_emoji.clone();
                let posted: Posted = session
                    .http_session_api
                    .http_post("chat.postMessage", &request, None)
                    .await
                    .map_err(|e| classify(&e))?;
                Ok(Delivered {
                    thread: keep_thread(n, &posted),
                    detail: format!("slack chat.postMessage {} {}", posted.channel, posted.ts),
                })
            }
        }
    }
}

/// The thread after a send: the message just posted or edited, until the
/// whole group has resolved.
fn keep_thread(n: &Notification, posted: &Posted) -> Option<String> {
    (n.status() == Status::Firing).then(|| format!("{} {}", posted.channel, posted.ts))
}

/// Maps slack-morphism's errors to retry or give up.
fn classify(e: &SlackClientError) -> DeliveryError {
    match e {
        SlackClientError::RateLimitError(limit) => DeliveryError::Retryable {
            reason: format!(
                "slack: ratelimited{}",
                limit
                    .retry_after
                    .map(|d| format!(", retry after {}s", d.as_secs()))
                    .unwrap_or_default()
            ),
            retry_after: limit.retry_after,
        },
        SlackClientError::ApiError(api) => {
            let reason = format!("slack: {}", api.code);
            if RETRYABLE_ERRORS.contains(&api.code.as_str()) {
                DeliveryError::Retryable {
                    reason,
                    retry_after: None,
                }
            } else if PERMANENT_ERRORS.contains(&api.code.as_str()) {
                DeliveryError::Permanent {
                    reason: format!("{reason} ({})", hint(&api.code)),
                }
            } else {
                // Slack documents its errors per method; any other is a
                // refusal of this request.
                DeliveryError::Permanent { reason }
            }
        }
        SlackClientError::HttpError(http) => {
            let mut failure = http_failure(
                http.status_code.as_u16(),
                None,
                http.http_response_body.as_deref().unwrap_or(""),
            );
            match &mut failure {
                DeliveryError::Retryable { reason, .. } | DeliveryError::Permanent { reason } => {
                    *reason = format!("slack: {reason}");
                }
            }
            failure
        }
        SlackClientError::HttpProtocolError(protocol) => DeliveryError::Retryable {
            reason: format!(
                "slack: cannot reach Slack: {}",
                protocol
                    .cause
                    .as_deref()
                    .map(root_cause)
                    .unwrap_or_else(|| "connection failed".into())
            ),
            retry_after: None,
        },
        SlackClientError::ProtocolError(p) => DeliveryError::Retryable {
            reason: format!("slack: unexpected answer: {}", p.json_error),
            retry_after: None,
        },
        SlackClientError::EndOfStream(_) | SlackClientError::SocketModeProtocolError(_) => {
            DeliveryError::Retryable {
                reason: format!("slack: {e}"),
                retry_after: None,
            }
        }
        SlackClientError::SystemError(_) => DeliveryError::Permanent {
            reason: format!("slack: {e}"),
        },
    }
}

/// What to do about a permanent Slack error.
fn hint(code: &str) -> &'static str {
    match code {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" => "check the bot token",
        "account_inactive" => "the bot's workspace account is deactivated",
        "channel_not_found" => "check `channel`, or invite the bot to the private channel",
        "not_in_channel" => "invite the bot to the channel (/invite @bot)",
        "is_archived" => "the channel is archived",
        "missing_scope" | "no_permission" => "give the bot the chat:write scope",
        _ => "Slack refused the message",
    }
}

fn root_cause(e: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

impl Deliver for SlackIntegration {
    fn kind(&self) -> &'static str {
        "slack"
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
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.deliver(notification, thread)).await {
                Ok(result) => result,
                Err(_) => Err(DeliveryError::Retryable {
                    reason: format!("slack: no answer within {:?}", self.timeout),
                    retry_after: None,
                }),
            }
        })
    }
}

/// Escapes the three characters Slack's mrkdwn reserves.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn emoji(tone: Tone) -> &'static str {
    match tone {
        Tone::Critical => ":red_circle:",
        Tone::Warning => ":large_orange_circle:",
        Tone::Info => ":large_blue_circle:",
        Tone::Resolved => ":large_green_circle:",
    }
}

fn label_list(labels: impl Iterator<Item = (String, String)>) -> String {
    labels
        .map(|(k, v)| format!("`{}={}`", escape(&k), escape(&v)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn mrkdwn_section(text: String) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(SlackBlockMarkDownText::new(truncate_chars(&text, SECTION_MAX)).into())
        .into()
}

/// A Slack date that reads in each viewer's time zone, with a UTC fallback.
fn slack_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let fallback = chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    format!("<!date^{secs}^{{date_short_pretty}} {{time_secs}}|{fallback}>")
}

fn alert_section(alert: &NotifiedAlert, common: &LabelSet) -> SlackBlock {
    let marker = match alert.status {
        Status::Firing => ":fire:",
        Status::Resolved => ":white_check_mark:",
    };
    let own: Vec<(String, String)> = alert
        .labels
        .iter()
        .filter(|(k, v)| common.get(k) != Some(*v))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let name = alert.labels.value("alertname");
    let mut text = format!("{marker} *{}*", escape(name));
    if !own.is_empty() {
        text.push(' ');
        text.push_str(&label_list(own.into_iter()));
    }
    for key in ["summary", "message"] {
        if let Some(v) = alert.annotations.get(key) {
            text.push('\n');
            text.push_str(&escape(v));
            break;
        }
    }
    if let Some(v) = alert.annotations.get("description") {
        text.push_str("\n_");
        text.push_str(&escape(v));
        text.push('_');
    }
    if let Some(v) = alert.annotations.get("value") {
        text.push_str(&format!("\n*Value:* {}", escape(v)));
    }
    match alert.status {
        Status::Firing => text.push_str(&format!("\n*Since:* {}", slack_date(alert.starts_at))),
        Status::Resolved => text.push_str(&format!(
            "\n*Resolved:* {} (started {})",
            slack_date(alert.ends_at),
            slack_date(alert.starts_at)
        )),
    }
    mrkdwn_section(text)
}

fn button(label: &str, url: &str, action: &str) -> Option<SlackActionBlockElement> {
    if url.len() > 3000 {
        return None;
    }
    let url = url::Url::parse(url).ok()?;
    Some(SlackActionBlockElement::Button(
        SlackBlockButtonElement::new(SlackBlockPlainText::new(label.to_string()).into())
            .with_action_id(SlackActionId(action.to_string()))
            .with_url(url),
    ))
}

/// The whole message for `n`.
pub fn message(n: &Notification) -> SlackMessageContent {
    let tone = Tone::of(n);
    let full_title = title(n);
    let status = match n.status() {
        Status::Firing => format!("[FIRING:{}]", n.firing().count()),
        Status::Resolved => "[RESOLVED]".to_string(),
    };
    let header = format!("{} {status} {}", emoji(tone), super::alert_names(n));
    let mut blocks: Vec<SlackBlock> = vec![
        SlackHeaderBlock::new(SlackBlockPlainText::new(truncate_chars(&header, HEADER_MAX)).into())
            .into(),
    ];
    let common = n.common_labels();
    let mut labels = String::new();
    if !n.group_labels.is_empty() {
        labels.push_str("*Group:* ");
        labels.push_str(&label_list(
            n.group_labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        ));
    }
    let shared: Vec<(String, String)> = common
        .iter()
        .filter(|(k, _)| n.group_labels.get(k).is_none() && *k != "alertname")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !shared.is_empty() {
        if !labels.is_empty() {
            labels.push('\n');
        }
        labels.push_str("*Labels:* ");
        labels.push_str(&label_list(shared.into_iter()));
    }
    if !labels.is_empty() {
        blocks.push(mrkdwn_section(labels));
    }

    let mut details: Vec<SlackBlock> = n
        .alerts
        .iter()
        .take(ALERTS_SHOWN)
        .map(|a| alert_section(a, &common))
        .collect();
    let more = n.alerts.len().saturating_sub(ALERTS_SHOWN) + n.truncated_alerts;
    let mut context = Vec::new();
    if more > 0 {
        context.push(super::more_alerts(more));
    }
    if let Some(severity) = severity_text(n) {
        context.push(format!("Severity: *{}*", escape(severity)));
    }
    context.push(format!("Receiver: {}", escape(&n.receiver)));
    details.push(
        SlackContextBlock::new(vec![
            SlackBlockMarkDownText::new(truncate_chars(&context.join(" · "), SECTION_MAX)).into(),
        ])
        .into(),
    );
    let mut buttons = Vec::new();
    if let Some(url) = runbook_url(n) {
        buttons.extend(button("Runbook", &url, "runbook"));
    }
    if n.status() == Status::Firing
        && let Some(url) = silence_url(n)
    {
        buttons.extend(button("Silence", &url, "silence"));
    }
    if let Some(url) = n
        .alerts
        .iter()
        .map(|a| a.generator_url.as_str())
        .find(|u| is_http_url(u))
    {
        buttons.extend(button("Source", url, "source"));
    }
    if !buttons.is_empty() {
        details.push(SlackActionsBlock::new(buttons).into());
    }

    let mut fallback = full_title.clone();
    if let Some(summary) = n.alerts.first().and_then(|a| a.annotations.get("summary")) {
        fallback.push_str(" — ");
        fallback.push_str(summary);
    }
    let fallback = truncate_chars(&fallback, SECTION_MAX);
    SlackMessageContent::new()
        .with_text(format!("{} {fallback}", emoji(tone)))
        .with_blocks(blocks)
        .with_attachments(vec![
            SlackMessageAttachment::new()
                .with_color(tone.colour().to_string())
                .with_fallback(fallback)
                .with_blocks(details),
        ])
}
