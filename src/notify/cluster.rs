//! What a cluster gives the notifier ([`ClusterHooks`]): which aggregation
//! groups this replica sends ([`FlushGate`]), the cluster-wide notification
//! log and its claims ([`SharedLog`]), who hears when a claimed notification
//! is settled ([`DeliveryListener`]) and where local silence changes go
//! ([`SilenceReplica`]). The notifier only defines these; the wiring
//! implements them over etcd. Without a cluster (`None` in
//! [`super::NotifierSettings::cluster`]) the notifier runs alone, as it
//! always did.
//!
//! [`DeliveryListener`] and [`SilenceReplica`] are declared beside their
//! callers (the outbox and the silences) and re-exported here, so those
//! modules need nothing from this one.

use std::sync::Arc;

use super::notification::Notification;
use super::outbox::LogEntry;
use super::receivers::BoxFuture;

pub use super::outbox::DeliveryListener;
pub use super::silence::SilenceReplica;

/// What a cluster gives the notifier.
#[derive(Clone)]
pub struct ClusterHooks {
    /// Which aggregation groups this replica flushes.
    pub gate: Arc<dyn FlushGate>,
    /// The cluster-wide notification log and claims.
    pub log: Arc<dyn SharedLog>,
    /// Told when a claimed notification is settled.
    pub delivery: Arc<dyn DeliveryListener>,
    /// Where local silence changes are published.
    pub silences: Arc<dyn SilenceReplica>,
}

impl std::fmt::Debug for ClusterHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHooks").finish_non_exhaustive()
    }
}

/// Which aggregation groups this replica flushes (sends). Non-owned groups
/// keep their alerts (for a takeover) but are never planned; their resolved
/// alerts are dropped once resolved for longer than the route's
/// `group_interval`.
pub trait FlushGate: Send + Sync {
    /// `group_id` is [`Notification::group_id`] (the lane). Called under the
    /// dispatcher's lock: it must answer from memory.
    fn owns(&self, group_id: &str) -> bool;
}

/// The cluster-wide notification log and claims.
pub trait SharedLog: Send + Sync {
    /// The lane's last entry cluster-wide; None = nothing logged.
    fn log_entry(&self, group_id: &str, receiver: &str, integration: usize) -> Option<LogEntry>;
    /// Claims these notifications and writes their log entries in the
    /// shared store, in one step, BEFORE the local outbox commits them. Err
    /// = not claimed (fenced: the shard moved; or the store refused):
    /// nothing is sent, the dispatcher retries later.
    fn claim(&self, items: &[(Notification, LogEntry)]) -> BoxFuture<'_, Result<(), String>>;
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
