//! The `slack { }` integration's settings and their checks; the sending
//! side is `notify::receivers::slack`.

use super::{Block, Component, Kind, Secret, SettingSpec, is_loopback, spec};

/// Where messages go.
#[derive(Clone)]
pub enum SlackTarget {
    /// `chat.postMessage` / `chat.update` with a bot token.
    Bot {
        /// The bot token (`xoxb-...`).
        token: Secret,
        /// A channel name or ID.
        channel: String,
    },
    /// An incoming webhook: post only. The URL is itself a credential.
    Webhook {
        /// The webhook URL.
        url: url::Url,
    },
}

impl std::fmt::Debug for SlackTarget {
    // Neither the token nor the webhook URL (itself a credential) is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlackTarget::Bot { channel, .. } => write!(f, "bot token, channel {channel}"),
            SlackTarget::Webhook { url } => {
                write!(f, "incoming webhook on {}", url.host_str().unwrap_or("?"))
            }
        }
    }
}

/// A validated Slack integration.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// Where messages go.
    pub target: SlackTarget,
    /// The Web API's base URL, without a trailing `/`; `None` for Slack's.
    pub api_url: Option<String>,
    /// How messages are signed.
    pub username: Option<String>,
    /// The emoji shown with them.
    pub icon_emoji: Option<String>,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
}

impl Component for SlackConfig {
    const SETTINGS: &'static [SettingSpec] = &[
        spec("send_resolved", Kind::Bool),
        spec("token", Kind::Secret),
        spec("channel", Kind::Text),
        spec("webhook_url", Kind::Secret),
        spec("api_url", Kind::Url),
        spec("username", Kind::Text),
        spec("icon_emoji", Kind::Text),
    ];

    fn validate(b: &mut Block<'_>) -> Option<Self> {
        b.check_schema(Self::SETTINGS);
        b.require(&["token", "webhook_url"], None);
        if b.has("token") && !b.has("channel") {
            b.require(&["channel"], Some("a slack integration with a bot token"));
        }
        let send_resolved = b.bool("send_resolved", true);
        let username = b
            .value("username")
            .map(|t| t.text.into_owned())
            .filter(|s| !s.is_empty());
        let icon_emoji = b
            .value("icon_emoji")
            .map(|t| t.text.into_owned())
            .filter(|s| !s.is_empty());
        // A value that is no http(s) URL at all was refused by the schema.
        let api_url = b
            .value("api_url")
            .filter(|t| t.text.starts_with("http://") || t.text.starts_with("https://"))
            .and_then(|t| slack_url(b, "api_url", &t.text, t.span))
            .map(|u| u.as_str().trim_end_matches('/').to_string());
        let token = b.value("token");
        let webhook_url = b.value("webhook_url");
        if b.has("token")
            && let Some(span) = b.span_of("webhook_url")
        {
            b.error(
                "webhook_url",
                span,
                "set either `token` (with `channel`) or `webhook_url`, not both",
            );
        }
        let target = match (token, webhook_url) {
            (Some(token), None) => {
                let secret = token.text.trim();
                if secret.is_empty() {
                    b.error(
                        "token",
                        token.span,
                        "is empty; put the bot token (xoxb-...) in it",
                    );
                }
                match b.trimmed("channel") {
                    Some((channel, _)) if !channel.is_empty() => Some(SlackTarget::Bot {
                        token: Secret(secret.to_string()),
                        channel,
                    }),
                    Some((_, span)) => {
                        b.error(
                            "channel",
                            span,
                            "missing; add `channel \"#alerts\"` (a name or an ID)",
                        );
                        None
                    }
                    None => None,
                }
            }
            (None, Some(url)) => slack_url(b, "webhook_url", url.text.trim(), url.span)
                .map(|url| SlackTarget::Webhook { url }),
            _ => None,
        };
        Some(SlackConfig {
            target: target?,
            api_url,
            username,
            icon_emoji,
            send_resolved,
        })
    }
}

/// A Slack URL setting: https, or http to this machine only (tests, a
/// local proxy), since it carries a credential.
fn slack_url(
    b: &mut Block<'_>,
    name: &str,
    text: &str,
    span: crate::diag::Span,
) -> Option<url::Url> {
    match url::Url::parse(text.trim()) {
        Ok(url) if url.scheme() == "https" => Some(url),
        Ok(url) if url.scheme() == "http" && is_loopback(&url) => Some(url),
        Ok(url) if url.scheme() == "http" => {
            b.error(
                name,
                span,
                "http:// would send the Slack credential in clear text; use https:// (http:// is allowed only for localhost)",
            );
            None
        }
        Ok(_) | Err(_) => {
            b.error(name, span, "not an https:// URL; fix the URL");
            None
        }
    }
}
