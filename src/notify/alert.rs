//! The notifier's alert: what Alertmanager calls an alert (labels,
//! annotations, startsAt, endsAt, generatorURL), kept compact because the
//! notifier holds hundreds of thousands of them at once.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::vocab::time::Millis;

pub use crate::vocab::labels::LabelSet;

/// Where an alert entered the notifier, for logs and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// klaxon's own evaluator.
    Evaluator,
    /// `POST /api/v2/alerts` (Prometheus, vmalert, scripts).
    Api,
    /// An Alertmanager's webhook handed to klaxon.
    AlertmanagerWebhook,
}

/// One alert as the notifier keeps it (Alertmanager's `types.Alert`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyAlert {
    /// Identity.
    pub labels: LabelSet,
    /// Descriptive text; changing it alone never re-notifies.
    pub annotations: LabelSet,
    /// When it started firing.
    pub starts_at: Millis,
    /// When it resolved or will resolve unless refreshed.
    pub ends_at: Millis,
    /// Link back to what produced it. Shared: every alert of one rule
    /// carries the same URL, so the alert store keeps one copy per distinct
    /// URL (see `notify::alerts`) instead of one per alert.
    pub generator_url: SharedStr,
    /// When klaxon last received it; the younger side wins a merge.
    pub updated_at: Millis,
    /// `ends_at` was set by klaxon from `resolve_timeout`, not by the sender.
    pub timeout: bool,
    /// Where it came from.
    pub source: AlertSource,
}

/// An immutable string many alerts share (a generator URL), behind a
/// pointer of 8 bytes where `Arc<str>` takes 16.
///
/// Those 8 bytes keep [`NotifyAlert`] at 72 bytes, which with the `Arc`
/// counts and the allocator's header fits a 96-byte chunk instead of a
/// 112-byte one: 16 bytes less for every alert held. The text sits behind
/// a second pointer, which costs one allocation per distinct string (and
/// one more hop when a notification renders it), not per alert. Reads as a
/// `&str` (`Deref`), compares, hashes and serializes as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SharedStr(Arc<Box<str>>);

impl SharedStr {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Both are the same shared copy (not merely equal text).
    pub fn ptr_eq(a: &SharedStr, b: &SharedStr) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// How many values hold this copy, for an interner to notice that it
    /// alone does (`Arc::strong_count`).
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl std::ops::Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Lets a set of `SharedStr` be searched with a `&str` (its `Hash` and
/// `Eq` are the text's).
impl std::borrow::Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedStr {
    fn from(text: &str) -> Self {
        SharedStr(Arc::new(Box::from(text)))
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> Self {
        SharedStr(Arc::new(text.into_boxed_str()))
    }
}

impl std::fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for SharedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SharedStr::from(String::deserialize(d)?))
    }
}

impl NotifyAlert {
    /// Alertmanager's `Resolved()`: the end is known and not in the future.
    pub fn is_resolved_at(&self, now: Millis) -> bool {
        self.ends_at <= now
    }

    /// Alertmanager's `Alert.Merge`: `newer` is the later update. The
    /// earliest start wins; a sender's explicit end beats a timeout end.
    pub fn merge(&self, newer: &NotifyAlert) -> NotifyAlert {
        if newer.updated_at < self.updated_at {
            return newer.merge(self);
        }
        let mut out = newer.clone();
        if self.starts_at < newer.starts_at {
            out.starts_at = self.starts_at;
        }
        let now_resolved = newer.ends_at <= newer.updated_at;
        if now_resolved {
            if self.ends_at <= newer.updated_at && self.ends_at > newer.ends_at {
                out.ends_at = self.ends_at;
            }
        } else if self.ends_at > newer.ends_at && !self.timeout {
            out.ends_at = self.ends_at;
            out.timeout = false;
        }
        out
    }
}

/// Severity rank of an alert (`severity` label), used to notice an
/// escalation: info/none < warning < error/major < critical/page.
pub fn severity_rank(labels: &LabelSet) -> u8 {
    match labels.value("severity").to_ascii_lowercase().as_str() {
        "critical" | "page" | "fatal" | "emergency" | "p1" => 4,
        "error" | "major" | "high" | "p2" => 3,
        "warning" | "warn" | "minor" | "medium" | "p3" => 2,
        "info" | "low" | "notice" | "p4" | "p5" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(starts: Millis, ends: Millis, updated: Millis, timeout: bool) -> NotifyAlert {
        NotifyAlert {
            labels: LabelSet::from_pairs([("alertname", "A")]),
            annotations: LabelSet::default(),
            starts_at: starts,
            ends_at: ends,
            generator_url: "".into(),
            updated_at: updated,
            timeout,
            source: AlertSource::Api,
        }
    }

    #[test]
    fn a_notifier_alert_stays_small() {
        // With the Arc's counts (16) and glibc's chunk header (8): 96 bytes.
        assert_eq!(std::mem::size_of::<NotifyAlert>(), 72);
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let old = alert(100, 10_000, 500, false);
        let new = alert(200, 5_000, 600, true);
        let merged = old.merge(&new);
        assert_eq!(merged.starts_at, 100);
        assert_eq!(merged.ends_at, 10_000, "explicit end beats a timeout end");
        assert_eq!(merged.updated_at, 600);
        // Order of arguments does not matter: the younger one is the base.
        assert_eq!(new.merge(&old), merged);
        // A resolve (end in the past at update time) wins over an old firing end.
        let resolve = alert(200, 550, 600, false);
        assert_eq!(old.merge(&resolve).ends_at, 550);
    }
}
