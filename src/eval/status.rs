//! What the evaluator shows of itself: a snapshot per group and rule, in the
//! terms of Prometheus's `/api/v1/rules`, taken without pausing evaluation.

use super::alert::{Alert, LabelPairs};
use crate::vocab::labels::Labels;
use crate::vocab::time::Millis;

/// A rule's health after its last evaluation, as Prometheus reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// The last evaluation succeeded.
    Ok,
    /// The last evaluation failed; see `last_error`.
    Err,
}

impl Health {
    /// The word Prometheus's API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// One group as the API lists it.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    /// Group name.
    pub name: String,
    /// File the group was loaded from.
    pub file: String,
    /// Evaluation interval.
    pub interval: std::time::Duration,
    /// Alert limit per rule (0 = none).
    pub limit: u64,
    /// Rules in evaluation order.
    pub rules: Vec<RuleStatus>,
    /// How long the last round took, in seconds.
    pub evaluation_time: f64,
    /// When the last round started.
    pub last_evaluation: Option<Millis>,
}

/// One rule as the API lists it.
#[derive(Debug, Clone)]
pub struct RuleStatus {
    /// Alert name or recorded series.
    pub name: String,
    /// The query as written (PromQL, or the Elasticsearch query rendered in the DSL).
    pub query: String,
    /// Rule labels (templates unexpanded).
    pub labels: Labels,
    /// Alerting or recording specifics.
    pub kind: RuleStatusKind,
    /// Health after the last evaluation.
    pub health: Health,
    /// The last error, when `health` is `Err`.
    pub last_error: Option<String>,
    /// How long the last evaluation took, in seconds.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    pub last_evaluation: Option<Millis>,
}

/// The part of a rule's status that depends on its kind.
#[derive(Debug, Clone)]
pub enum RuleStatusKind {
    /// An alerting rule and its active alerts.
    Alerting {
        /// `for` of the least severe level, in seconds (Prometheus `duration`).
        duration: f64,
        /// `keep_firing_for`, in seconds.
        keep_firing_for: f64,
        /// Annotation templates, unexpanded.
        annotations: Labels,
        /// Pending and firing alerts (inactive ones are not listed, as in
        /// Prometheus), in the evaluator's compact form: a snapshot of
        /// thousands of alerts then costs a few allocations per alert
        /// instead of two maps.
        alerts: Vec<Alert<LabelPairs>>,
    },
    /// A recording rule.
    Recording,
}

impl RuleStatus {
    /// The rule's state: the most active state of its alerts (`inactive`
    /// when none), as Prometheus computes it for the API.
    pub fn state(&self) -> &'static str {
        use super::alert::AlertState;
        match &self.kind {
            RuleStatusKind::Alerting { alerts, .. } => {
                if alerts.iter().any(|a| a.state == AlertState::Firing) {
                    "firing"
                } else if alerts.iter().any(|a| a.state == AlertState::Pending) {
                    "pending"
                } else {
                    "inactive"
                }
            }
            RuleStatusKind::Recording => "inactive",
        }
    }
}
