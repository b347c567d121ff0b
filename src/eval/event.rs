//! The hand-off from the evaluator to delivery: the evaluator sends every
//! batch into one channel, and the wiring's fan-out gives each consumer
//! (`notify::forward` to external Alertmanagers, klaxon's own notifier) its
//! own copy, so a slow consumer never stalls evaluation.

use crate::vocab::labels::Labels;
use crate::vocab::time::Millis;

/// An alert as it leaves the evaluator, in the shape of Alertmanager's
/// `postableAlert` (and of what Prometheus's notifier sends).
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingAlert {
    /// Labels, external labels already added.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Labels,
    /// When it fired.
    pub starts_at: Millis,
    /// When it resolved, or until when it is valid while firing.
    pub ends_at: Millis,
    /// Link back to the rule's expression.
    pub generator_url: String,
}

/// The alerts one rule evaluation needs sent (Prometheus's `sendAlerts`).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertBatch {
    /// The alerts; never empty.
    pub alerts: Vec<OutgoingAlert>,
}
