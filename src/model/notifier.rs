//! The notifier's share of the model: the receivers, routing tree,
//! inhibitions and time windows of the DSL files, apart from the rule
//! groups and datasources the evaluator runs, so that the notifier is
//! configured (and reconfigured on reload) from its own type.

use crate::model::{Inhibit, Receiver, Route, RuleSet, TimeWindow};
use crate::vocab::time::Millis;

/// Alertmanager's default `resolve_timeout`: how long an alert posted
/// without an end stays firing (the importer leaves this default out).
pub const DEFAULT_RESOLVE_TIMEOUT_MS: Millis = 5 * 60 * 1000;

/// The notification blocks of a rule set.
#[derive(Debug, Clone, Default)]
pub struct NotifierConfig {
    /// Named receivers.
    pub receivers: Vec<Receiver>,
    /// The routing tree; `None` when no file declares a `route`.
    pub route: Option<Route>,
    /// Inhibition rules.
    pub inhibits: Vec<Inhibit>,
    /// Named time windows for muting or activating routes.
    pub time_windows: Vec<TimeWindow>,
}

impl RuleSet {
    /// A copy of the notification blocks, which outlive the rule set once
    /// its groups are compiled.
    pub fn notifier_config(&self) -> NotifierConfig {
        NotifierConfig {
            receivers: self.receivers.clone(),
            route: self.route.clone(),
            inhibits: self.inhibits.clone(),
            time_windows: self.time_windows.clone(),
        }
    }
}
