//! A notification: what one receiver integration is told about one
//! aggregation group at one flush. It is a self-contained snapshot (the
//! alerts are copied in), so it can sit in the durable outbox and be
//! delivered after a restart exactly as it was decided.

use serde::{Deserialize, Serialize};

use crate::vocab::labels::{Fingerprint, LabelSet};
use crate::vocab::time::Millis;

/// Firing or resolved, as Alertmanager's webhook says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one alert is still firing.
    Firing,
    /// Every alert of the notification has resolved.
    Resolved,
}

impl Status {
    /// The word the webhook payload uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

/// One alert inside a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifiedAlert {
    /// Identity.
    pub fingerprint: Fingerprint,
    /// Labels.
    pub labels: LabelSet,
    /// Annotations at flush time.
    pub annotations: LabelSet,
    /// Start.
    pub starts_at: Millis,
    /// End (resolved alerts) or the current validity end.
    pub ends_at: Millis,
    /// Link back to the rule.
    pub generator_url: String,
    /// Firing or resolved at flush time.
    pub status: Status,
}

/// Why a notification was sent, for the history and for receivers that
/// word things differently (Slack posts a new message for a new problem and
/// edits it for a resolve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// First notification of the group, or new alerts firing.
    New,
    /// An alert's severity went up.
    Escalation,
    /// Some (not all) alerts resolved.
    PartialResolve,
    /// Every alert resolved.
    Resolved,
    /// Nothing changed; `repeat_interval` elapsed.
    Repeat,
}

/// What one integration of one receiver is told about one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique and stable across retries and restarts: the webhook's
    /// idempotency key and the outbox key. Hex of 128 bits.
    pub id: String,
    /// Alertmanager's group key, `{route path}:{group labels}`: what is
    /// shown and sent.
    pub group_key: String,
    /// The group's identity, which keys the notification log and the
    /// outbox lanes: the group key, or, when sibling routes share the
    /// route's key, Alertmanager's route ID (with each route's position)
    /// and the group labels, so each route notifies its own receiver.
    /// Empty in outbox entries written before it existed: read it through
    /// [`Notification::group_identity`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group_id: String,
    /// The receiver's name.
    pub receiver: String,
    /// Index of the integration inside the receiver.
    pub integration: usize,
    /// The labels the group is keyed by.
    pub group_labels: LabelSet,
    /// Firing alerts first, then resolved, each by start time.
    pub alerts: Vec<NotifiedAlert>,
    /// Alerts left out because of the integration's `max_alerts`.
    pub truncated_alerts: usize,
    /// Why it is sent.
    pub reason: Reason,
    /// When the dispatcher decided it.
    pub created_at: Millis,
    /// klaxon's external URL, for links back (silence, alert list).
    pub external_url: String,
}

impl Notification {
    /// [`Notification::group_id`], or the group key for a notification
    /// stored before group IDs existed (the two were the same then).
    pub fn group_identity(&self) -> &str {
        if self.group_id.is_empty() {
            &self.group_key
        } else {
            &self.group_id
        }
    }

    /// Firing while any alert fires.
    pub fn status(&self) -> Status {
        if self.alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        }
    }

    /// Labels every alert shares (Alertmanager's `commonLabels`).
    pub fn common_labels(&self) -> LabelSet {
        common(self.alerts.iter().map(|a| &a.labels))
    }

    /// Annotations every alert shares (`commonAnnotations`).
    pub fn common_annotations(&self) -> LabelSet {
        common(self.alerts.iter().map(|a| &a.annotations))
    }

    /// The firing alerts.
    pub fn firing(&self) -> impl Iterator<Item = &NotifiedAlert> {
        self.alerts.iter().filter(|a| a.status == Status::Firing)
    }

    /// The resolved alerts.
    pub fn resolved(&self) -> impl Iterator<Item = &NotifiedAlert> {
        self.alerts.iter().filter(|a| a.status == Status::Resolved)
    }
}

fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else {
        return LabelSet::default();
    };
    let mut kept: Vec<(&str, &str)> = first.iter().collect();
    for set in sets {
        kept.retain(|(k, v)| set.get(k) == Some(*v));
    }
    LabelSet::from_pairs(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(labels: &[(&str, &str)], status: Status) -> NotifiedAlert {
        let labels = LabelSet::from_pairs(labels.iter().copied());
        NotifiedAlert {
            fingerprint: labels.fingerprint(),
            labels,
            annotations: LabelSet::from_pairs([("summary", "s")]),
            starts_at: 0,
            ends_at: 0,
            generator_url: String::new(),
            status,
        }
    }

    #[test]
    fn status_and_common_labels() {
        let mut n = Notification {
            id: "x".into(),
            group_key: "{}:{}".into(),
            group_id: String::new(),
            receiver: "r".into(),
            integration: 0,
            group_labels: LabelSet::default(),
            alerts: vec![
                alert(&[("alertname", "A"), ("job", "a")], Status::Firing),
                alert(&[("alertname", "A"), ("job", "b")], Status::Resolved),
            ],
            truncated_alerts: 0,
            reason: Reason::New,
            created_at: 0,
            external_url: String::new(),
        };
        assert_eq!(n.status(), Status::Firing);
        assert_eq!(n.common_labels().to_string(), r#"{alertname="A"}"#);
        assert_eq!(n.common_annotations().to_string(), r#"{summary="s"}"#);
        n.alerts[0].status = Status::Resolved;
        assert_eq!(n.status(), Status::Resolved);
    }
}
