//! The notifier's alert: what Alertmanager calls an alert (labels,
//! annotations, startsAt, endsAt, generatorURL), kept compact because the
//! notifier holds hundreds of thousands of them at once.

use std::collections::BTreeMap;
use std::hash::Hasher;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::eval::alert::Millis;

/// Alertmanager's fingerprint of a label set (FNV-1a 64 over the sorted
/// `name 0xFF value 0xFF`), the identity of an alert everywhere in the
/// notifier and in the API (`%016x`).
pub type Fingerprint = u64;

/// A sorted label set stored as one string plus offsets: two allocations
/// whatever the number of labels, against two per label (plus tree nodes)
/// for a `BTreeMap<String, String>`. Names are unique and sorted, so
/// equality, hashing and the fingerprint depend only on the content.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct LabelSet {
    text: Box<str>,
    /// For pair i: name = text[ends[2i-1]..ends[2i]], value = text[ends[2i]..ends[2i+1]]
    /// with ends[-1] = 0.
    ends: Box<[u32]>,
}

impl LabelSet {
    /// Builds a set from pairs in any order; a later duplicate name wins.
    /// Pairs with an empty value are dropped, as in Prometheus and
    /// Alertmanager, where an empty label is the same as a missing one.
    pub fn from_pairs<'a, I>(pairs: I) -> LabelSet
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut map: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in pairs {
            map.insert(name, value);
        }
        map.retain(|_, v| !v.is_empty());
        Self::from_sorted_unique(map.into_iter())
    }

    fn from_sorted_unique<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> LabelSet {
        let mut text = String::new();
        let mut ends = Vec::new();
        for (name, value) in pairs {
            text.push_str(name);
            ends.push(offset(text.len()));
            text.push_str(value);
            ends.push(offset(text.len()));
        }
        LabelSet {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Builds a set from a map (empty values dropped).
    pub fn from_map(map: &BTreeMap<String, String>) -> LabelSet {
        Self::from_sorted_unique(
            map.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }

    /// Pairs in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        (0..self.ends.len() / 2).map(move |i| self.pair(i))
    }

    fn pair(&self, i: usize) -> (&str, &str) {
        let start = if i == 0 {
            0
        } else {
            self.ends[2 * i - 1] as usize
        };
        let mid = self.ends[2 * i] as usize;
        let end = self.ends[2 * i + 1] as usize;
        (&self.text[start..mid], &self.text[mid..end])
    }

    /// The value of `name`; matchers treat a missing label as "".
    pub fn get(&self, name: &str) -> Option<&str> {
        let n = self.len();
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (k, v) = self.pair(mid);
            match k.cmp(name) {
                std::cmp::Ordering::Equal => return Some(v),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// The value of `name`, or "" when it is missing (matcher semantics).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// No labels at all.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Alertmanager's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut h = fnv::FnvHasher::default();
        for (name, value) in self.iter() {
            h.write(name.as_bytes());
            h.write(&[0xFF]);
            h.write(value.as_bytes());
            h.write(&[0xFF]);
        }
        h.finish()
    }

    /// Only the named labels (grouping keys); names not present are skipped.
    pub fn project<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> LabelSet {
        let mut keep: Vec<&str> = names.into_iter().collect();
        keep.sort_unstable();
        keep.dedup();
        Self::from_sorted_unique(self.iter().filter(|(k, _)| keep.binary_search(k).is_ok()))
    }

    /// As a map, for JSON and templates.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Bytes held on the heap, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.text.len() + self.ends.len() * 4
    }
}

fn offset(len: usize) -> u32 {
    // A label set over 4 GiB cannot arrive: request bodies are capped far lower.
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl std::fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Alertmanager's rendering, `{a="1", b="2"}`, used in group keys and logs.
impl std::fmt::Display for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Ok(LabelSet::from_map(&map))
    }
}

impl From<&BTreeMap<String, String>> for LabelSet {
    fn from(map: &BTreeMap<String, String>) -> Self {
        LabelSet::from_map(map)
    }
}

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
    /// Link back to what produced it.
    pub generator_url: Box<str>,
    /// When klaxon last received it; the younger side wins a merge.
    pub updated_at: Millis,
    /// `ends_at` was set by klaxon from `resolve_timeout`, not by the sender.
    pub timeout: bool,
    /// Where it came from.
    pub source: AlertSource,
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

    #[test]
    fn label_set_sorts_drops_empty_and_matches_eval_fingerprint() {
        let set = LabelSet::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![("a", "1"), ("b", "3")]);
        assert_eq!(set.get("b"), Some("3"));
        assert_eq!(set.get("c"), None);
        assert_eq!(set.value("zz"), "");
        let map = set.to_map();
        assert_eq!(set.fingerprint(), crate::eval::alert::fingerprint(&map));
        assert_eq!(set.to_string(), r#"{a="1", b="3"}"#);
        assert_eq!(LabelSet::default().fingerprint(), 0xcbf29ce484222325);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"{"a":"1","b":"3"}"#);
        assert_eq!(serde_json::from_str::<LabelSet>(&json).unwrap(), set);
        assert_eq!(set.project(["b", "x"]).to_string(), r#"{b="3"}"#);
    }

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
