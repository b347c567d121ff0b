//! The evaluator's own metrics, registered once per process and shared by
//! every configuration a reload builds.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `group` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabel {
    /// Group name (file-qualified when two files use the same name),
    /// shared with the group rather than copied per series.
    pub group: Arc<str>,
}

/// `group`, `rule` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// Group name, shared with the group.
    pub group: Arc<str>,
    /// Rule name, shared with the rule.
    pub rule: Arc<str>,
}

/// `state`, `severity` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    /// pending or firing.
    pub state: String,
    /// The alert's `severity` label ("" when it has none).
    pub severity: String,
}

/// `datasource` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DatasourceLabel {
    /// Datasource name, shared with the rules that query it (built per
    /// query, so no copy).
    pub datasource: Arc<str>,
}

/// `datasource`, `kind` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DatasourceErrorLabels {
    /// Datasource name, shared with the rules that query it.
    pub datasource: Arc<str>,
    /// timeout, unreachable, rejected, bad_response, unsupported.
    pub kind: String,
}

/// `version` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// Crate version.
    pub version: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every evaluator metric.
#[derive(Debug, Clone)]
pub struct EvalMetrics {
    /// Evaluation duration per group round.
    pub group_duration: Family<GroupLabel, Histogram, fn() -> Histogram>,
    /// Duration of the last round, to compare with the interval.
    pub group_last_duration: Family<GroupLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// The configured interval.
    pub group_interval: Family<GroupLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Rounds run.
    pub group_iterations: Family<GroupLabel, Counter>,
    /// Rounds skipped because the previous one overran.
    pub group_missed: Family<GroupLabel, Counter>,
    /// Rounds not evaluated because another replica owns the group (cluster).
    pub group_skipped: Family<GroupLabel, Counter>,
    /// Rule evaluations.
    pub rule_evaluations: Family<GroupLabel, Counter>,
    /// Failed rule evaluations, per rule.
    pub rule_failures: Family<RuleLabels, Counter>,
    /// Pending and firing alerts.
    pub alerts: Family<AlertLabels, Gauge>,
    /// Datasource query latency.
    pub datasource_duration: Family<DatasourceLabel, Histogram, fn() -> Histogram>,
    /// Datasource query failures by kind.
    pub datasource_errors: Family<DatasourceErrorLabels, Counter>,
    /// 1 while a datasource is considered down (KlaxonDatasourceDown).
    pub datasource_down: Family<DatasourceLabel, Gauge>,
    /// State-store commits that failed.
    pub store_commit_failures: Counter,
    /// State-store commit latency.
    pub store_commit_duration: Histogram,
    /// Alert batches handed to delivery.
    pub alerts_sent: Counter,
    /// Always 1, labelled with the version.
    pub build_info: Family<BuildLabels, Gauge>,
    /// Configuration reloads that failed (the old configuration kept running).
    pub reload_failures: Counter,
    /// 1 when the last reload succeeded.
    pub config_last_reload_successful: Gauge,
}

impl EvalMetrics {
    /// Creates and registers every metric under `klaxon_`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = EvalMetrics {
            group_duration: Family::new_with_constructor(duration_histogram),
            group_last_duration: Family::default(),
            group_interval: Family::default(),
            group_iterations: Family::default(),
            group_missed: Family::default(),
            group_skipped: Family::default(),
            rule_evaluations: Family::default(),
            rule_failures: Family::default(),
            alerts: Family::default(),
            datasource_duration: Family::new_with_constructor(duration_histogram),
            datasource_errors: Family::default(),
            datasource_down: Family::default(),
            store_commit_failures: Counter::default(),
            store_commit_duration: duration_histogram(),
            alerts_sent: Counter::default(),
            build_info: Family::default(),
            reload_failures: Counter::default(),
            config_last_reload_successful: Gauge::default(),
        };
        let r = registry.sub_registry_with_prefix("klaxon");
        r.register(
            "group_evaluation_duration_seconds",
            "How long a group's evaluation round took",
            m.group_duration.clone(),
        );
        r.register(
            "group_last_duration_seconds",
            "Duration of the group's last round; above the interval means missed rounds",
            m.group_last_duration.clone(),
        );
        r.register(
            "group_interval_seconds",
            "The group's evaluation interval",
            m.group_interval.clone(),
        );
        r.register(
            "group_iterations",
            "Evaluation rounds run",
            m.group_iterations.clone(),
        );
        r.register(
            "group_iterations_missed",
            "Rounds skipped because the previous round overran its slot",
            m.group_missed.clone(),
        );
        r.register(
            "group_rounds_skipped",
            "Rounds of a group not evaluated here because another replica owns the group",
            m.group_skipped.clone(),
        );
        r.register(
            "rule_evaluations",
            "Rule evaluations run",
            m.rule_evaluations.clone(),
        );
        r.register(
            "rule_evaluation_failures",
            "Rule evaluations that failed (query error, limit exceeded)",
            m.rule_failures.clone(),
        );
        r.register(
            "alerts",
            "Pending and firing alerts by state and severity",
            m.alerts.clone(),
        );
        r.register(
            "datasource_request_duration_seconds",
            "Datasource query latency",
            m.datasource_duration.clone(),
        );
        r.register(
            "datasource_errors",
            "Datasource queries that failed, by kind",
            m.datasource_errors.clone(),
        );
        r.register(
            "datasource_down",
            "1 while KlaxonDatasourceDown fires for the datasource",
            m.datasource_down.clone(),
        );
        r.register(
            "store_commit_failures",
            "Alert-state commits that failed",
            m.store_commit_failures.clone(),
        );
        r.register(
            "store_commit_duration_seconds",
            "Alert-state commit latency",
            m.store_commit_duration.clone(),
        );
        r.register(
            "alerts_sent",
            "Alerts handed to delivery (forwarding, notifier)",
            m.alerts_sent.clone(),
        );
        r.register("build_info", "klaxon version", m.build_info.clone());
        r.register(
            "config_reload_failures",
            "Reloads rejected because the new configuration was invalid",
            m.reload_failures.clone(),
        );
        r.register(
            "config_last_reload_successful",
            "1 when the last configuration reload succeeded",
            m.config_last_reload_successful.clone(),
        );
        m.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        m.config_last_reload_successful.set(1);
        m
    }
}
