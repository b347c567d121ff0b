//! The JSON documents of Prometheus 2.42's HTTP API (`web/api/v1/api.go`),
//! field for field and in the same order, built from the evaluator's status
//! snapshot. They borrow from the snapshot instead of copying it: a large
//! answer (thousands of alerts) then costs its JSON text and little more.

use serde::Serialize;

use super::json::{format_float_e, serialize_go_time, serialize_go_time_required};
use crate::eval::alert::{Alert, AlertState, LabelPairs};
use crate::eval::status::{GroupStatus, RuleStatus, RuleStatusKind};
use crate::vocab::labels::Labels;
use crate::vocab::time::Millis;

/// Prometheus's envelope of a successful answer.
#[derive(Debug, Serialize)]
pub struct Success<T> {
    /// Always `success`.
    pub status: &'static str,
    /// The answer.
    pub data: T,
}

impl<T> Success<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        Success {
            status: "success",
            data,
        }
    }
}

/// Prometheus's envelope of a failed answer.
#[derive(Debug, Serialize)]
pub struct Failure<D> {
    /// Always `error`.
    pub status: &'static str,
    /// Details beyond the message (klaxon: the reload's diagnostics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<D>,
    /// One of Prometheus's error types (`bad_data`, `not_found`, …).
    #[serde(rename = "errorType")]
    pub error_type: &'static str,
    /// The message.
    pub error: String,
}

/// One group of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroup<'a> {
    /// Group name.
    pub name: &'a str,
    /// Source file.
    pub file: &'a str,
    /// Alerting and recording rules in evaluation order.
    pub rules: Vec<Rule<'a>>,
    /// Interval in seconds.
    pub interval: f64,
    /// Alert limit (0 = none).
    pub limit: u64,
    /// Seconds the last round took.
    pub evaluation_time: f64,
    /// Start of the last round.
    #[serde(serialize_with = "serialize_go_time")]
    pub last_evaluation: Option<Millis>,
}

/// A rule of either kind; Prometheus tells them apart by `type`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Rule<'a> {
    /// `"type": "alerting"`.
    Alerting(AlertingRule<'a>),
    /// `"type": "recording"`.
    Recording(RecordingRule<'a>),
}

/// An alerting rule of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertingRule<'a> {
    /// `inactive`, `pending` or `firing`.
    pub state: &'static str,
    /// Alert name.
    pub name: &'a str,
    /// Query text.
    pub query: &'a str,
    /// `for`, seconds.
    pub duration: f64,
    /// `keep_firing_for`, seconds.
    pub keep_firing_for: f64,
    /// Rule labels.
    pub labels: &'a Labels,
    /// Annotation templates.
    pub annotations: &'a Labels,
    /// Pending and firing alerts.
    pub alerts: Vec<ApiAlert<'a>>,
    /// `ok`, `err` or `unknown`.
    pub health: &'static str,
    /// The last error, omitted when there is none (as Go's `omitempty`).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub last_error: &'a str,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    #[serde(serialize_with = "serialize_go_time")]
    pub last_evaluation: Option<Millis>,
    /// Always `alerting`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// A recording rule of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRule<'a> {
    /// Recorded series name.
    pub name: &'a str,
    /// Query text.
    pub query: &'a str,
    /// Rule labels, omitted when empty (as Prometheus).
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub labels: &'a Labels,
    /// `ok`, `err` or `unknown`.
    pub health: &'static str,
    /// The last error, omitted when there is none.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub last_error: &'a str,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    #[serde(serialize_with = "serialize_go_time")]
    pub last_evaluation: Option<Millis>,
    /// Always `recording`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `data` of `/api/v1/alerts`.
#[derive(Debug, Serialize)]
pub struct AlertDiscovery<'a> {
    /// Pending and firing alerts of every rule.
    pub alerts: Vec<ApiAlert<'a>>,
}

/// One alert, in `/api/v1/alerts` and inside a rule of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAlert<'a> {
    /// Final labels.
    pub labels: &'a LabelPairs,
    /// Expanded annotations.
    pub annotations: &'a LabelPairs,
    /// `pending` or `firing`.
    pub state: &'static str,
    /// When the condition started holding.
    #[serde(serialize_with = "serialize_go_time_required")]
    pub active_at: Millis,
    /// Since when `keep_firing_for` keeps it firing; only while it does.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_go_time"
    )]
    pub keep_firing_since: Option<Millis>,
    /// The value, as Go's `strconv.FormatFloat(v, 'e', -1, 64)`.
    pub value: String,
}

/// Which rules `/api/v1/rules?type=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleFilter {
    /// No `type` parameter.
    All,
    /// `type=alert`.
    Alerting,
    /// `type=record`.
    Recording,
}

impl RuleFilter {
    /// Parses the `type` parameter as Prometheus 2.42 does (case-insensitive,
    /// empty means all); the error is Prometheus's message.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        let lowered = value.unwrap_or("").to_lowercase();
        match lowered.as_str() {
            "" => Ok(RuleFilter::All),
            "alert" => Ok(RuleFilter::Alerting),
            "record" => Ok(RuleFilter::Recording),
            _ => Err(format!(
                "invalid parameter \"type\": not supported value {}",
                crate::vocab::go::quote(&lowered)
            )),
        }
    }
}

/// The alerts Prometheus lists: pending and firing, not resolved ones kept
/// for retention.
fn active_alerts(alerts: &[Alert<LabelPairs>]) -> impl Iterator<Item = ApiAlert<'_>> + '_ {
    alerts
        .iter()
        .filter(|alert| alert.state != AlertState::Inactive)
        .map(api_alert)
}

/// One alert in Prometheus's form.
pub fn api_alert(alert: &Alert<LabelPairs>) -> ApiAlert<'_> {
    ApiAlert {
        labels: &alert.labels,
        annotations: &alert.annotations,
        state: alert.state.as_str(),
        active_at: alert.active_at,
        keep_firing_since: alert.keep_firing_since,
        value: format_float_e(alert.value),
    }
}

/// One group of `/api/v1/rules` (`data.groups[i]`).
pub fn rule_group(group: &GroupStatus, filter: RuleFilter) -> RuleGroup<'_> {
    RuleGroup {
        name: &group.name,
        file: &group.file,
        rules: group
            .rules
            .iter()
            .filter_map(|rule| api_rule(rule, filter))
            .collect(),
        interval: group.interval.as_secs_f64(),
        limit: group.limit,
        evaluation_time: group.evaluation_time,
        last_evaluation: group.last_evaluation,
    }
}

fn api_rule(rule: &RuleStatus, filter: RuleFilter) -> Option<Rule<'_>> {
    let last_error = rule.last_error.as_deref().unwrap_or_default();
    match &rule.kind {
        RuleStatusKind::Alerting {
            duration,
            keep_firing_for,
            annotations,
            alerts,
        } => (filter != RuleFilter::Recording).then(|| {
            Rule::Alerting(AlertingRule {
                state: rule.state(),
                name: &rule.name,
                query: &rule.query,
                duration: *duration,
                keep_firing_for: *keep_firing_for,
                labels: &rule.labels,
                annotations,
                alerts: active_alerts(alerts).collect(),
                health: rule.health.as_str(),
                last_error,
                evaluation_time: rule.evaluation_time,
                last_evaluation: rule.last_evaluation,
                kind: "alerting",
            })
        }),
        RuleStatusKind::Recording => (filter != RuleFilter::Alerting).then(|| {
            Rule::Recording(RecordingRule {
                name: &rule.name,
                query: &rule.query,
                labels: &rule.labels,
                health: rule.health.as_str(),
                last_error,
                evaluation_time: rule.evaluation_time,
                last_evaluation: rule.last_evaluation,
                kind: "recording",
            })
        }),
    }
}

/// `/api/v1/alerts` for the alerts of [`crate::api::Backend::alerts`]
/// (resolved ones kept for retention are left out).
pub fn alert_discovery(alerts: &[Alert<LabelPairs>]) -> AlertDiscovery<'_> {
    AlertDiscovery {
        alerts: active_alerts(alerts).collect(),
    }
}
