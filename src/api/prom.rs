//! The JSON documents of Prometheus 2.42's HTTP API (`web/api/v1/api.go`),
//! field for field and in the same order, built from the evaluator's status
//! snapshot.

use serde::Serialize;

use super::json::{format_float_e, serialize_go_time, serialize_go_time_required};
use crate::eval::alert::{Alert, AlertState, Labels, Millis};
use crate::eval::status::{GroupStatus, RuleStatus, RuleStatusKind};

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

/// `data` of `/api/v1/rules`.
#[derive(Debug, Serialize)]
pub struct RuleDiscovery {
    /// Groups in the backend's order.
    pub groups: Vec<RuleGroup>,
}

/// One group of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroup {
    /// Group name.
    pub name: String,
    /// Source file.
    pub file: String,
    /// Alerting and recording rules in evaluation order.
    pub rules: Vec<Rule>,
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
pub enum Rule {
    /// `"type": "alerting"`.
    Alerting(AlertingRule),
    /// `"type": "recording"`.
    Recording(RecordingRule),
}

/// An alerting rule of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertingRule {
    /// `inactive`, `pending` or `firing`.
    pub state: &'static str,
    /// Alert name.
    pub name: String,
    /// Query text.
    pub query: String,
    /// `for`, seconds.
    pub duration: f64,
    /// `keep_firing_for`, seconds.
    pub keep_firing_for: f64,
    /// Rule labels.
    pub labels: Labels,
    /// Annotation templates.
    pub annotations: Labels,
    /// Pending and firing alerts.
    pub alerts: Vec<ApiAlert>,
    /// `ok`, `err` or `unknown`.
    pub health: &'static str,
    /// The last error, omitted when there is none (as Go's `omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_error: String,
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
pub struct RecordingRule {
    /// Recorded series name.
    pub name: String,
    /// Query text.
    pub query: String,
    /// Rule labels, omitted when empty (as Prometheus).
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// `ok`, `err` or `unknown`.
    pub health: &'static str,
    /// The last error, omitted when there is none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_error: String,
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
pub struct AlertDiscovery {
    /// Pending and firing alerts of every rule.
    pub alerts: Vec<ApiAlert>,
}

/// One alert, in `/api/v1/alerts` and inside a rule of `/api/v1/rules`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAlert {
    /// Final labels.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Labels,
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
                super::json::go_quote(&lowered)
            )),
        }
    }
}

/// The alerts Prometheus lists: pending and firing, not resolved ones kept
/// for retention.
fn active_alerts(alerts: &[Alert]) -> impl Iterator<Item = ApiAlert> + '_ {
    alerts
        .iter()
        .filter(|alert| alert.state != AlertState::Inactive)
        .map(api_alert)
}

/// One alert in Prometheus's form.
pub fn api_alert(alert: &Alert) -> ApiAlert {
    ApiAlert {
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        state: alert.state.as_str(),
        active_at: alert.active_at,
        keep_firing_since: alert.keep_firing_since,
        value: format_float_e(alert.value),
    }
}

/// `/api/v1/rules` for a snapshot.
pub fn rule_discovery(groups: &[GroupStatus], filter: RuleFilter) -> RuleDiscovery {
    let groups = groups
        .iter()
        .map(|group| RuleGroup {
            name: group.name.clone(),
            file: group.file.clone(),
            rules: group
                .rules
                .iter()
                .filter_map(|rule| api_rule(rule, filter))
                .collect(),
            interval: group.interval.as_secs_f64(),
            limit: group.limit,
            evaluation_time: group.evaluation_time,
            last_evaluation: group.last_evaluation,
        })
        .collect();
    RuleDiscovery { groups }
}

fn api_rule(rule: &RuleStatus, filter: RuleFilter) -> Option<Rule> {
    let last_error = rule.last_error.clone().unwrap_or_default();
    match &rule.kind {
        RuleStatusKind::Alerting {
            duration,
            keep_firing_for,
            annotations,
            alerts,
        } => (filter != RuleFilter::Recording).then(|| {
            Rule::Alerting(AlertingRule {
                state: rule.state(),
                name: rule.name.clone(),
                query: rule.query.clone(),
                duration: *duration,
                keep_firing_for: *keep_firing_for,
                labels: rule.labels.clone(),
                annotations: annotations.clone(),
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
                name: rule.name.clone(),
                query: rule.query.clone(),
                labels: rule.labels.clone(),
                health: rule.health.as_str(),
                last_error,
                evaluation_time: rule.evaluation_time,
                last_evaluation: rule.last_evaluation,
                kind: "recording",
            })
        }),
    }
}

/// `/api/v1/alerts` for a snapshot.
pub fn alert_discovery(groups: &[GroupStatus]) -> AlertDiscovery {
    let alerts = groups
        .iter()
        .flat_map(|group| &group.rules)
        .filter_map(|rule| match &rule.kind {
            RuleStatusKind::Alerting { alerts, .. } => Some(active_alerts(alerts)),
            RuleStatusKind::Recording => None,
        })
        .flatten()
        .collect();
    AlertDiscovery { alerts }
}
