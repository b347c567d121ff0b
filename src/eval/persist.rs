//! The evaluator's records in the store: how one alert's state is encoded
//! (JSON of [`Alert`], keyed by rule key and fingerprint) and decoded again
//! at start. The store keeps the bytes and knows nothing of alerts, as it
//! knows nothing of the notifier's records.

use std::collections::BTreeMap;

use super::alert::Alert;
use crate::store::{AlertRecord, Store, StoreError};

/// One change to the stored state; the evaluator collects the changes of one
/// group evaluation and commits them together.
// Boxing the alert would cost an allocation per Put to save space in the
// rare Delete; the Vec of one commit is short-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StateChange {
    /// Insert or replace the alert of `rule` with this fingerprint.
    Put {
        /// The rule key.
        rule: String,
        /// The alert's fingerprint (its identity within the rule).
        fingerprint: u64,
        /// The new state.
        alert: Alert,
    },
    /// Forget the alert of `rule` with this fingerprint (no-op when absent).
    Delete {
        /// The rule key.
        rule: String,
        /// The alert's fingerprint.
        fingerprint: u64,
    },
}

/// What [`load_alerts`] found: the alerts it could decode, and the records
/// it could not (kept on disk untouched, never silently dropped).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoadedAlerts {
    /// Rule key -> (fingerprint, alert), fingerprints ascending.
    pub alerts: BTreeMap<String, Vec<(u64, Alert)>>,
    /// Records that did not decode (e.g. written by a newer klaxon).
    pub unreadable: Vec<UnreadableAlert>,
}

impl LoadedAlerts {
    /// How many alerts were decoded, over all rules.
    pub fn alert_count(&self) -> usize {
        self.alerts.values().map(Vec::len).sum()
    }
}

/// A stored record that could not be decoded. It stays in the file until the
/// evaluator overwrites or deletes that alert, or its rule is removed.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableAlert {
    /// The rule key.
    pub rule: String,
    /// The alert's fingerprint.
    pub fingerprint: u64,
    /// Why it did not decode.
    pub reason: String,
}

/// Applies `changes` in one durable transaction, all or nothing; an alert
/// that cannot be encoded fails the whole commit before anything is written.
pub fn commit(store: &Store, changes: &[StateChange]) -> Result<(), StoreError> {
    let mut records = Vec::with_capacity(changes.len());
    for change in changes {
        records.push(match change {
            StateChange::Put {
                rule,
                fingerprint,
                alert,
            } => AlertRecord::Put {
                rule,
                fingerprint: *fingerprint,
                value: serde_json::to_vec(alert).map_err(|e| {
                    StoreError::Encode(format!(
                        "cannot encode alert {fingerprint:016x} of rule {rule}: {e}"
                    ))
                })?,
            },
            StateChange::Delete { rule, fingerprint } => AlertRecord::Delete {
                rule,
                fingerprint: *fingerprint,
            },
        });
    }
    store.commit_alerts(&records)
}

/// Every stored alert, grouped by rule key. Records that do not decode are
/// reported in [`LoadedAlerts::unreadable`] for the caller to log; the rest
/// are returned.
pub fn load_alerts(store: &Store) -> Result<LoadedAlerts, StoreError> {
    let mut loaded = LoadedAlerts::default();
    store.read_alerts(
        |rule, fingerprint, value| match serde_json::from_slice::<Alert>(value) {
            Ok(alert) => loaded
                .alerts
                .entry(rule.to_string())
                .or_default()
                .push((fingerprint, alert)),
            Err(e) => loaded.unreadable.push(UnreadableAlert {
                rule: rule.to_string(),
                fingerprint,
                reason: e.to_string(),
            }),
        },
    )?;
    Ok(loaded)
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
