//! Alertmanager's webhook payload, version 4: what klaxon's webhook
//! receiver sends (so existing webhook consumers work unchanged) and what
//! `POST /api/v1/receivers/alertmanager` accepts from an Alertmanager.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::notification::Notification;

/// Alertmanager's `webhook.Message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    /// Always "4".
    pub version: String,
    /// The group key.
    pub group_key: String,
    /// Alerts left out by `max_alerts`.
    #[serde(default)]
    pub truncated_alerts: u64,
    /// "firing" or "resolved".
    pub status: String,
    /// Receiver name.
    pub receiver: String,
    /// Grouping labels.
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert shares.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert shares.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// Link to the sender.
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    /// The alerts.
    pub alerts: Vec<WebhookAlert>,
}

/// One alert of a [`WebhookMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// "firing" or "resolved".
    pub status: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` while firing.
    pub ends_at: String,
    /// Link back to the rule.
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    /// `%016x` of the label fingerprint.
    #[serde(default)]
    pub fingerprint: String,
}

use crate::vocab::time::{GO_ZERO_TIME, rfc3339};

impl WebhookMessage {
    /// The payload for `n`, exactly as Alertmanager 0.25 builds it: firing
    /// alerts carry Go's zero time as `endsAt`.
    pub fn from_notification(n: &Notification) -> WebhookMessage {
        WebhookMessage {
            version: "4".to_string(),
            group_key: n.group_key.clone(),
            truncated_alerts: n.truncated_alerts as u64,
            status: n.status().as_str().to_string(),
            receiver: n.receiver.clone(),
            group_labels: n.group_labels.to_map(),
            common_labels: n.common_labels().to_map(),
            common_annotations: n.common_annotations().to_map(),
            external_url: n.external_url.clone(),
            alerts: n
                .alerts
                .iter()
                .map(|a| WebhookAlert {
                    status: a.status.as_str().to_string(),
                    labels: a.labels.to_map(),
                    annotations: a.annotations.to_map(),
                    starts_at: rfc3339(a.starts_at),
                    ends_at: match a.status {
                        super::notification::Status::Firing => GO_ZERO_TIME.to_string(),
                        super::notification::Status::Resolved => rfc3339(a.ends_at),
                    },
                    generator_url: a.generator_url.clone(),
                    fingerprint: format!("{:016x}", a.fingerprint),
                })
                .collect(),
        }
    }
}
