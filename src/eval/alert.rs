//! One alert: the state kept per (rule, label set), persisted by `store`,
//! shown by `api`, and sent outward as events.

use serde::{Deserialize, Serialize};

use crate::model::SeverityLevel;
pub use crate::source::Labels;

/// Milliseconds since the Unix epoch: the resolution of every time klaxon keeps.
pub type Millis = i64;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Final labels: series labels minus `__name__`, rule labels, `alertname`
    /// (and `severity` for DSL rules).
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Labels,
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

impl Alert {
    /// A new alert whose condition started holding at `at`.
    pub fn new(labels: Labels, annotations: Labels, value: f64, at: Millis) -> Self {
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

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over the labels
/// sorted by name, each as `name 0xFF value 0xFF`. Alert identity everywhere.
pub fn fingerprint(labels: &Labels) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    for (name, value) in labels {
        h.write(name.as_bytes());
        h.write(&[0xFF]);
        h.write(value.as_bytes());
        h.write(&[0xFF]);
    }
    h.finish()
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
    fn nan_and_infinity_round_trip() {
        let mut a = Alert::new(Labels::new(), Labels::new(), f64::NAN, 1);
        let back: Alert = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert!(back.value.is_nan());
        a.value = f64::NEG_INFINITY;
        let back: Alert = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back.value, f64::NEG_INFINITY);
    }
}
