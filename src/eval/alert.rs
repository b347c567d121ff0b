//! One alert: the state kept per (rule, label set), persisted by `store`,
//! shown by `api`, and sent outward as events.

use serde::{Deserialize, Serialize};

use crate::vocab::labels::LabelSet;
use crate::vocab::labels::Labels;
use crate::vocab::severity::SeverityLevel;

use crate::vocab::time::Millis;

/// Prometheus's three alert states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Resolved and kept for the resolved-retention time so the resolve is sent.
    Inactive,
    /// The condition holds, `for` has not elapsed yet.
    Pending,
    /// Active and announced.
    Firing,
}

impl AlertState {
    /// The name the Prometheus API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// The state of one alert of one rule. Every field that decides a future
/// transition is here, so an alert restored from disk behaves exactly as if
/// the process had never stopped.
///
/// `L` is how labels and annotations are held: `Alert` (maps) is the form
/// the store, the API and delivery read; the evaluator keeps its alerts as
/// `Alert<LabelPairs>`, a few allocations each instead of two per label
/// plus two tree nodes, since it holds every active alert of every rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert<L = Labels> {
    /// Final labels: series labels minus `__name__`, rule labels, `alertname`
    /// (and `severity` for DSL rules).
    pub labels: L,
    /// Expanded annotations.
    pub annotations: L,
    /// Current state.
    pub state: AlertState,
    /// The last value seen (NaN and infinities round-trip through the store).
    #[serde(with = "float_text")]
    pub value: f64,
    /// When the condition started holding (Prometheus `activeAt`).
    pub active_at: Millis,
    /// When it turned firing.
    pub fired_at: Option<Millis>,
    /// When it stopped being active.
    pub resolved_at: Option<Millis>,
    /// When it was last sent outward.
    pub last_sent_at: Option<Millis>,
    /// `endsAt` sent to Alertmanager while firing: it resolves there on its own
    /// if klaxon stops sending.
    pub valid_until: Option<Millis>,
    /// When the condition stopped holding while `keep_firing_for` keeps it firing.
    pub keep_firing_since: Option<Millis>,
    /// DSL: the severity level the alert is at (None for Prometheus rules).
    pub level: Option<SeverityLevel>,
    /// DSL: since when each level's condition has held without a break,
    /// indexed info, warning, critical (each level has its own `for`).
    pub level_since: [Option<Millis>; 3],
    /// DSL: since when the `resolve when` condition has held.
    pub resolve_since: Option<Millis>,
    /// This is the rule's no-data alert, not a series' alert.
    pub nodata: bool,
}

impl<L> Alert<L> {
    /// A new alert whose condition started holding at `at`.
    pub fn new(labels: L, annotations: L, value: f64, at: Millis) -> Self {
        Alert {
            labels,
            annotations,
            state: AlertState::Pending,
            value,
            active_at: at,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            valid_until: None,
            keep_firing_since: None,
            level: None,
            level_since: [None; 3],
            resolve_since: None,
            nodata: false,
        }
    }
}

impl Alert<LabelPairs> {
    /// The alert with its labels and annotations as maps, as the store, the
    /// API and delivery take it.
    pub fn to_maps(&self) -> Alert {
        self.with_labels(self.labels.to_map(), self.annotations.to_map())
    }
}

impl Alert {
    /// The alert in the evaluator's compact form.
    pub fn to_pairs(&self) -> Alert<LabelPairs> {
        self.with_labels(
            LabelPairs::from_map(&self.labels),
            LabelPairs::from_map(&self.annotations),
        )
    }
}

impl<L> Alert<L> {
    fn with_labels<M>(&self, labels: M, annotations: M) -> Alert<M> {
        Alert {
            labels,
            annotations,
            state: self.state,
            value: self.value,
            active_at: self.active_at,
            fired_at: self.fired_at,
            resolved_at: self.resolved_at,
            last_sent_at: self.last_sent_at,
            valid_until: self.valid_until,
            keep_firing_since: self.keep_firing_since,
            level: self.level,
            level_since: self.level_since,
            resolve_since: self.resolve_since,
            nodata: self.nodata,
        }
    }
}

/// Name/value pairs sorted by name, in the notifier's compact layout
/// ([`LabelSet`]: one allocation, 1-byte offsets for usual sets, common
/// names as 1-byte codes). Unlike a label set sent to Alertmanager, empty
/// values are kept (an annotation may expand to nothing and still be
/// listed).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct LabelPairs(LabelSet);

impl std::fmt::Debug for LabelPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A JSON object in name order, as a label map serializes: the API writes
/// an alert's labels straight from the evaluator's form, with no map built
/// per alert per request.
impl Serialize for LabelPairs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl LabelPairs {
    /// The pairs of a map (already sorted and unique).
    pub fn from_map(map: &Labels) -> Self {
        Self::from_sorted(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Pairs in any order; of two with the same name the later one wins,
    /// as when collecting into a map.
    pub fn from_unsorted<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        // Stable, so equal names stay in order and the last one is kept.
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut unique: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        Self::from_sorted(unique.into_iter())
    }

    /// `pairs` must be sorted by name with no name twice.
    fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        LabelPairs(LabelSet::from_sorted_keeping_empty(pairs))
    }

    /// Pairs in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter()
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No pairs at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether these are exactly the pairs of `map`.
    pub fn equals_map(&self, map: &Labels) -> bool {
        self.len() == map.len()
            && self
                .iter()
                .zip(map.iter())
                .all(|((k1, v1), (k2, v2))| k1 == k2 && v1 == v2)
    }

    /// Whether these are exactly the pairs [`LabelPairs::from_unsorted`]
    /// would make of `pairs` (a later name wins).
    pub fn equals_unsorted(&self, pairs: &[(&str, String)]) -> bool {
        let mut unique = 0;
        for (i, (name, value)) in pairs.iter().enumerate() {
            let overridden = pairs
                .get(i + 1..)
                .is_some_and(|later| later.iter().any(|(n, _)| n == name));
            if overridden {
                continue;
            }
            unique += 1;
            if self.get(name) != Some(value.as_str()) {
                return false;
            }
        }
        unique == self.len()
    }

    /// As a map.
    pub fn to_map(&self) -> Labels {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// [`fingerprint`] of the pairs as a map.
    pub fn fingerprint(&self) -> u64 {
        self.0.fingerprint()
    }
}

/// Floats as text so NaN and ±Inf survive JSON.
mod float_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<f64>().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::labels::fingerprint;

    #[test]
    fn fingerprint_matches_alertmanager() {
        // Alertmanager: model.LabelSet{"alertname":"A","job":"b"}.Fingerprint()
        // hashes "alertname\xffA\xffjob\xffb\xff" with FNV-1a 64.
        let labels: Labels = [("alertname", "A"), ("job", "b")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut expected: u64 = 0xcbf29ce484222325;
        for b in b"alertname\xffA\xffjob\xffb\xff" {
            expected ^= u64::from(*b);
            expected = expected.wrapping_mul(0x100000001b3);
        }
        assert_eq!(fingerprint(&labels), expected);
        assert_eq!(fingerprint(&Labels::new()), 0xcbf29ce484222325);
    }

    #[test]
    fn label_pairs_read_like_the_map_they_came_from() {
        let map: Labels = [("job", "b"), ("alertname", "A"), ("empty", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let pairs = LabelPairs::from_map(&map);
        assert_eq!(pairs.to_map(), map, "empty values are kept");
        assert_eq!(pairs.fingerprint(), fingerprint(&map));
        assert_eq!(pairs.get("job"), Some("b"));
        assert_eq!(pairs.get("empty"), Some(""));
        assert_eq!(pairs.get("instance"), None);
        assert!(pairs.equals_map(&map));
        let later_wins = LabelPairs::from_unsorted([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(
            later_wins.iter().collect::<Vec<_>>(),
            [("a", "2"), ("b", "3")]
        );
        assert!(LabelPairs::default().is_empty());
        let written = [("b", "1".to_string()), ("a", "2".into()), ("b", "3".into())];
        assert!(later_wins.equals_unsorted(&written));
        assert!(!later_wins.equals_unsorted(&written[..2]));
        let alert = Alert::new(map.clone(), map.clone(), 1.0, 5);
        assert_eq!(alert.to_pairs().to_maps(), alert);
    }

    #[test]
    fn nan_and_infinity_round_trip() {
        let mut a = Alert::new(Labels::new(), Labels::new(), f64::NAN, 1);
        let back: Alert = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert!(back.value.is_nan());
        a.value = f64::NEG_INFINITY;
        let back: Alert = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back.value, f64::NEG_INFINITY);
    }
}
