//! Alertmanager's webhook payload, version 4: what klaxon's webhook
//! receiver sends (so existing webhook consumers work unchanged) and what
//! `POST /api/v1/receivers/alertmanager` accepts from an Alertmanager.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::alert::Millis;
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

/// Go's zero time, which Alertmanager writes as the end of a firing alert.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 in UTC as Go prints `time.Time` in JSON: a fraction only when
/// there is one, trailing zeros trimmed.
pub fn rfc3339(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => {
            let text = t.to_rfc3339_opts(SecondsFormat::Millis, true);
            match text.split_once('.') {
                Some((whole, frac)) => {
                    let digits = frac.trim_end_matches('Z').trim_end_matches('0');
                    if digits.is_empty() {
                        format!("{whole}Z")
                    } else {
                        format!("{whole}.{digits}Z")
                    }
                }
                None => text,
            }
        }
        None => GO_ZERO_TIME.to_string(),
    }
}

/// Go's zero time in milliseconds since 1970 (`time.Time{}.IsZero()`).
const GO_ZERO_MS: Millis = -62_135_596_800_000;

/// Parses an RFC 3339 time, the whole text (Alertmanager answers 400 for
/// `0001-01-01T00:00:00junk`); Go's zero time, in any offset or precision,
/// and the empty string are `None`.
pub fn parse_time(text: &str) -> Result<Option<Millis>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) if t.timestamp_millis() == GO_ZERO_MS => Ok(None),
        Ok(t) => Ok(Some(t.timestamp_millis())),
        Err(e) => Err(format!("`{text}` is not an RFC 3339 time: {e}")),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_go_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339(1_234), "1970-01-01T00:00:01.234Z");
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Ok(Some(1_500)));
        assert_eq!(parse_time(GO_ZERO_TIME), Ok(None));
        assert_eq!(parse_time(""), Ok(None));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_time("0001-01-01T00:00:00.000Z"), Ok(None));
        assert_eq!(parse_time("0001-01-01T01:00:00+01:00"), Ok(None));
        assert!(parse_time("0001-01-01T00:00:00junk").is_err());
        assert!(parse_time("0001-01-01T00:00:00").is_err());
        assert!(parse_time("2024-01-01T00:00:00Zjunk").is_err());
    }

    #[test]
    fn the_last_day_of_year_9999_round_trips() {
        // What silences and alerts use for "forever".
        let forever = parse_time("9999-12-31T23:59:59.5Z").unwrap().unwrap();
        assert_eq!(rfc3339(forever), "9999-12-31T23:59:59.5Z");
    }
}
