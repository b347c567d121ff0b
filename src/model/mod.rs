//! The validated rule model: the one contract between the front ends (the
//! klaxon DSL and Prometheus rule files), the linter, the evaluator and the
//! notifier.
//!
//! Front ends never hand out a model with errors in it: [`load`] returns the
//! model together with every diagnostic, and callers refuse to run when any
//! diagnostic is an error. Every item keeps the span it came from, so lints
//! and runtime messages can point at the source.

pub mod components;
pub mod condition;
pub mod dsl;
pub mod load;
pub mod notifier;
pub mod prom;
pub mod promql;
pub mod secrets;
pub mod validate;
pub(crate) mod yaml;

pub use crate::lang::ast::EsAgg;
use crate::vocab::condition::Condition;
use crate::vocab::matcher::CompiledMatcher;
use crate::vocab::secret::SecretValue;
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::Duration;
pub use components::Validated;
pub use load::{LoadOptions, Loaded, load_paths};
pub use notifier::NotifierConfig;

use crate::diag::{FileId, Span};
use crate::vocab::labels::sanitize_label_name;

/// Which syntax a rule was written in; the evaluator keeps Prometheus's exact
/// semantics for rules from Prometheus files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A klaxon `.rules` file.
    Dsl,
    /// A Prometheus `groups:` YAML file.
    PrometheusYaml,
}

/// Everything loaded from a set of files.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Rule groups in load order.
    pub groups: Vec<Group>,
    /// Named datasources.
    pub datasources: Vec<Datasource>,
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
    /// Every rule with its group, in order.
    pub fn rules(&self) -> impl Iterator<Item = (&Group, &Rule)> {
        self.groups
            .iter()
            .flat_map(|g| g.rules.iter().map(move |r| (g, r)))
    }
}

/// An ordered list of label (or annotation) pairs, each with its span.
pub type Pairs = Vec<Pair>;

/// A name/value pair with where each half was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Label or annotation name.
    pub name: String,
    /// Its value (a template for rule labels and annotations).
    pub value: String,
    /// Where the name was written.
    pub name_span: Span,
    /// Where the value was written.
    pub value_span: Span,
}

/// Looks a pair up by name.
pub fn pair<'a>(pairs: &'a [Pair], name: &str) -> Option<&'a Pair> {
    pairs.iter().find(|p| p.name == name)
}

/// A rule group: evaluated together, in order, every `interval`.
#[derive(Debug, Clone)]
pub struct Group {
    /// Unique within its file.
    pub name: String,
    /// The file the group is in.
    pub file: FileId,
    /// Where the group's name was written.
    pub span: Span,
    /// Syntax of the file.
    pub origin: Origin,
    /// Evaluation interval; `None` means the global default.
    pub interval: Option<Duration>,
    /// Where the interval was written.
    pub interval_span: Option<Span>,
    /// At most this many alerts/series per rule; 0 means no limit.
    pub limit: u64,
    /// Labels added to every rule in the group (DSL only).
    pub labels: Pairs,
    /// Rules in evaluation order.
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Alert name or recorded series name.
    pub name: String,
    /// Where the name was written.
    pub span: Span,
    /// Syntax of the file the rule came from.
    pub origin: Origin,
    /// What the rule evaluates.
    pub query: Query,
    /// Labels (templates for alerts), group labels already merged in.
    pub labels: Pairs,
    /// Alerting or recording specifics.
    pub kind: RuleKind,
}

impl Rule {
    /// The alerting half, if this is an alert.
    pub fn alert(&self) -> Option<&AlertSpec> {
        match &self.kind {
            RuleKind::Alert(a) => Some(a),
            RuleKind::Record => None,
        }
    }
}

/// Alerting or recording.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// Fires alerts.
    Alert(AlertSpec),
    /// Writes a new series.
    Record,
}

/// What makes an alert fire, escalate, resolve and what it says.
#[derive(Debug, Clone)]
pub struct AlertSpec {
    /// Severity levels from least to most severe. A Prometheus rule has one,
    /// with condition `Present`.
    pub severities: Vec<SeverityRule>,
    /// Hysteresis: once firing, stays firing until this holds.
    pub resolve: Option<ResolveRule>,
    /// Keep firing this long after the condition stops holding.
    pub keep_firing_for: Duration,
    /// What to do when the query returns nothing.
    pub nodata: NoDataPolicy,
    /// Annotation templates in order (runbook is `runbook_url`).
    pub annotations: Pairs,
    /// `true` when the `severity` label comes from `labels` rather than the
    /// severity line (e.g. `severity: none` in a Prometheus file).
    pub severity_label_fixed: bool,
}

/// One severity level of an alert.
#[derive(Debug, Clone)]
pub struct SeverityRule {
    /// The level, which sets the `severity` label unless `labels` sets it.
    pub level: SeverityLevel,
    /// When the level applies.
    pub condition: Condition,
    /// Where the condition was written.
    pub span: Span,
    /// How long it must hold before firing.
    pub for_: Duration,
    /// Where `for` was written, if it was.
    pub for_span: Option<Span>,
}

/// `resolve when ..`
#[derive(Debug, Clone)]
pub struct ResolveRule {
    /// The condition.
    pub condition: Condition,
    /// Where it was written.
    pub span: Span,
    /// How long it must hold.
    pub for_: Duration,
}

/// What an alert does when its query returns no series.
#[derive(Debug, Clone, PartialEq)]
pub enum NoDataPolicy {
    /// Alerts resolve as the series disappear (Prometheus behaviour).
    Ok,
    /// Alerts keep their state.
    Keep,
    /// A no-data alert at `level` once data has been missing for `after`.
    Alert {
        /// How long data must be missing.
        after: Duration,
        /// Severity of the no-data alert.
        level: SeverityLevel,
    },
}

/// A query against a datasource.
#[derive(Debug, Clone)]
pub enum Query {
    /// PromQL against a Prometheus-compatible API.
    Prometheus(PromQuery),
    /// An aggregation over an Elasticsearch index.
    Elasticsearch(EsQuery),
}

impl Query {
    /// The datasource name, `None` for the default Prometheus.
    pub fn datasource(&self) -> Option<&str> {
        match self {
            Query::Prometheus(q) => q.datasource.as_deref(),
            Query::Elasticsearch(q) => Some(&q.datasource),
        }
    }

    /// The PromQL query, if this is one.
    pub fn promql(&self) -> Option<&PromQuery> {
        match self {
            Query::Prometheus(q) => Some(q),
            Query::Elasticsearch(_) => None,
        }
    }
}

/// A PromQL query with its parsed form.
#[derive(Debug, Clone)]
pub struct PromQuery {
    /// Named datasource, or `None` for the default.
    pub datasource: Option<String>,
    /// Where the datasource name was written.
    pub datasource_span: Option<Span>,
    /// The PromQL text.
    pub expr: String,
    /// Where the text starts in the file (the first byte of the expression).
    pub span: Span,
    /// Parsed expression; `None` when it did not parse (an error was reported).
    pub ast: Option<promql_parser::parser::Expr>,
}

/// An Elasticsearch aggregation query.
#[derive(Debug, Clone)]
pub struct EsQuery {
    /// The datasource name.
    pub datasource: String,
    /// Where the datasource name was written.
    pub datasource_span: Span,
    /// The metric aggregation.
    pub agg: EsAgg,
    /// The aggregated field (none for `count`).
    pub field: Option<String>,
    /// The `query_string` filter.
    pub filter: Option<String>,
    /// The window before now.
    pub window: Duration,
    /// Terms to bucket by.
    pub by: Vec<String>,
    /// Where the query was written.
    pub span: Span,
}

impl EsQuery {
    /// The label name a `by` term's bucket key is stored under: a trailing
    /// `.keyword` (the usual Elasticsearch keyword sub-field) is dropped and
    /// every other character that Prometheus label names do not allow
    /// becomes `_`, so alerts from logs route and group like any other.
    pub fn label_for(term: &str) -> String {
        sanitize_label_name(term.strip_suffix(".keyword").unwrap_or(term))
    }
}

/// A setting as written in a component's block: `to "a@x", "b@x"` is one
/// setting with two values; a map's entries are settings named `map.NAME`
/// (`headers { X-Team = "a" }` is `headers.X-Team`, spanned at the name).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The setting's name.
    pub name: String,
    /// Its values in order, each with where it was written.
    pub values: Vec<SettingValue>,
    /// The whole setting (the name, for a map's entry).
    pub span: Span,
}

/// One value of a [`Setting`].
#[derive(Debug, Clone, PartialEq)]
pub struct SettingValue {
    /// Written in the file, or where to read it from.
    pub value: SecretValue,
    /// Where it was written.
    pub span: Span,
}

/// A datasource, its settings validated but not yet connected.
#[derive(Debug, Clone)]
pub struct Datasource {
    /// The name rules use.
    pub name: String,
    /// Prometheus-compatible or Elasticsearch.
    pub kind: DatasourceKind,
    /// Where it was declared.
    pub span: Span,
    /// The validated settings of its kind.
    pub config: DatasourceConfig,
}

/// A datasource's validated settings, by kind.
#[derive(Debug, Clone)]
pub enum DatasourceConfig {
    /// Prometheus, VictoriaMetrics, Thanos, Mimir.
    Prometheus(Validated<components::datasource::PrometheusConfig>),
    /// Elasticsearch `_search`.
    Elasticsearch(Validated<components::datasource::ElasticsearchConfig>),
}

/// The kinds of datasource klaxon can query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasourceKind {
    /// Prometheus, VictoriaMetrics, Thanos, Mimir.
    Prometheus,
    /// Elasticsearch `_search`.
    Elasticsearch,
}

/// A receiver and its integrations.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// The name routes use.
    pub name: String,
    /// Where it was declared.
    pub span: Span,
    /// Integrations in order.
    pub integrations: Vec<Integration>,
}

/// One way of notifying.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Which kind.
    pub kind: IntegrationKind,
    /// Where it was declared.
    pub span: Span,
    /// The validated settings of its kind.
    pub config: IntegrationConfig,
}

/// An integration's validated settings, by kind.
#[derive(Debug, Clone)]
pub enum IntegrationConfig {
    /// Slack bot token or incoming webhook.
    Slack(Validated<components::slack::SlackConfig>),
    /// SMTP.
    Email(Validated<components::email::EmailConfig>),
    /// HTTP POST of Alertmanager's webhook JSON.
    Webhook(Validated<components::webhook::WebhookConfig>),
}

/// Integration kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    /// Slack bot token or incoming webhook.
    Slack,
    /// SMTP.
    Email,
    /// HTTP POST of Alertmanager's webhook JSON.
    Webhook,
}

impl IntegrationKind {
    /// "slack", "email" or "webhook", as written in the DSL.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Slack => "slack",
            IntegrationKind::Email => "email",
            IntegrationKind::Webhook => "webhook",
        }
    }
}

/// A node of the routing tree, with inherited settings already applied.
#[derive(Debug, Clone)]
pub struct Route {
    /// All must match.
    pub matchers: Vec<CompiledMatcher>,
    /// Receiver name.
    pub receiver: String,
    /// Labels to group by; `None` with `group_by_all` for `...`.
    pub group_by: Vec<String>,
    /// `group_by ...`: every label.
    pub group_by_all: bool,
    /// Wait before the first notification of a new group.
    pub group_wait: Duration,
    /// Wait between notifications about a changed group.
    pub group_interval: Duration,
    /// Wait before repeating an unchanged notification.
    pub repeat_interval: Duration,
    /// How soon a group is flushed after one of its notified alerts resolves
    /// (klaxon's prompt resolve; Alertmanager waits for `group_interval`).
    pub resolve_wait: Duration,
    /// Keep matching siblings.
    pub continue_: bool,
    /// Muting time windows.
    pub mute_during: Vec<String>,
    /// Active time windows.
    pub active_during: Vec<String>,
    /// Children.
    pub routes: Vec<Route>,
    /// Where it was declared.
    pub span: Span,
}

/// An inhibition rule.
#[derive(Debug, Clone)]
pub struct Inhibit {
    /// Matchers of the inhibiting alert.
    pub source: Vec<CompiledMatcher>,
    /// Matchers of the inhibited alert.
    pub target: Vec<CompiledMatcher>,
    /// Labels that must be equal.
    pub equal: Vec<String>,
    /// Where it was declared.
    pub span: Span,
}

/// A named set of time ranges, as Alertmanager's `time_intervals`.
#[derive(Debug, Clone)]
pub struct TimeWindow {
    /// The name.
    pub name: String,
    /// Where it was declared.
    pub span: Span,
    /// The validated settings (`times`, `weekdays`, ...).
    pub config: Validated<components::time_window::TimeWindowConfig>,
}

/// Whether a metric name is valid in Prometheus: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl Rule {
    /// The labels an alert of this rule carries at `level` before templates
    /// are expanded: rule labels, plus `severity` = the level unless the
    /// labels set it, minus empty values (an empty label is no label).
    pub fn static_labels(
        &self,
        level: Option<SeverityLevel>,
    ) -> std::collections::BTreeMap<String, String> {
        let mut out: std::collections::BTreeMap<String, String> = self
            .labels
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        if let (Some(level), RuleKind::Alert(spec)) = (level, &self.kind)
            && !spec.severity_label_fixed
        {
            out.insert("severity".into(), level.as_str().into());
        }
        out.retain(|_, v| !v.is_empty());
        out
    }
}
