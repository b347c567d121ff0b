//! Placeholder until the outbox lands: only the notification-log entry the
//! dispatcher decides with.

use super::alert::{Fingerprint, Millis};

/// What one (group, receiver, integration) lane was last told.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogEntry {
    /// Firing fingerprints, sorted.
    pub firing: Vec<Fingerprint>,
    /// Resolved fingerprints, sorted.
    pub resolved: Vec<Fingerprint>,
    /// When it was decided.
    pub at: Millis,
}

impl LogEntry {
    /// Every fingerprint of `firing` was firing in this entry.
    pub fn is_firing_subset(&self, firing: &[Fingerprint]) -> bool {
        firing.iter().all(|f| self.firing.binary_search(f).is_ok())
    }

    /// Every fingerprint of `resolved` was resolved in this entry.
    pub fn is_resolved_subset(&self, resolved: &[Fingerprint]) -> bool {
        resolved
            .iter()
            .all(|f| self.resolved.binary_search(f).is_ok())
    }
}
