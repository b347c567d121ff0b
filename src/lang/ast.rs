//! The syntax tree of the klaxon rule language, exactly as written.
//!
//! Nothing here is validated beyond syntax: names may be unknown, durations
//! may be odd. `model::lower` turns this into checked types and reports
//! semantic errors at the spans kept here. The formatter prints it back.

use crate::diag::Span;
use crate::vocab::condition::Condition;
use crate::vocab::matcher::MatchOp;
use crate::vocab::severity::SeverityLevel;

/// A value with the span it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// A comment kept for the formatter, attached to the item that follows it.
pub type Comments = Vec<String>;

/// One parsed file: its top-level items in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
    /// Comments after the last item.
    pub trailing_comments: Comments,
}

/// A top-level statement.
// A file holds a handful of items, so boxing the large variants would buy
// nothing but indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `group NAME { ... }`
    Group(Group),
    /// `datasource KIND NAME { ... }`
    Datasource(Datasource),
    /// `receiver NAME { ... }`
    Receiver(Receiver),
    /// `route { ... }`
    Route(Route),
    /// `inhibit { ... }`
    Inhibit(Inhibit),
    /// `time_window NAME { ... }`
    TimeWindow(TimeWindow),
    /// `include "glob"`
    Include(Include),
}

/// `group NAME { every DUR  labels {..}  limit N  alert .. record .. }`
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Comments just above the group.
    pub comments: Comments,
    /// The group name.
    pub name: Spanned<String>,
    /// Span of the `group` keyword through the closing brace.
    pub span: Span,
    /// `every DUR`: the evaluation interval.
    pub every: Option<Spanned<Duration>>,
    /// `labels { .. }`: added to every rule of the group.
    pub labels: Option<LabelSet>,
    /// `limit N`: at most N alerts (or series) per rule.
    pub limit: Option<Spanned<u64>>,
    /// Alerts and recording rules, in order.
    pub rules: Vec<RuleDef>,
}

/// An `alert` or `record` block inside a group.
#[allow(clippy::large_enum_variant)] // built once per rule; boxing buys nothing
#[derive(Debug, Clone, PartialEq)]
pub enum RuleDef {
    /// `alert NAME { .. }`
    Alert(Alert),
    /// `record NAME { .. }`
    Record(Record),
}

/// `alert NAME { .. }`
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Comments just above the alert.
    pub comments: Comments,
    /// The alert name (becomes the `alertname` label).
    pub name: Spanned<String>,
    /// Span of the `alert` keyword through the closing brace.
    pub span: Span,
    /// `query ..`: what to evaluate.
    pub query: Option<Spanned<Query>>,
    /// `info|warning|critical when COND [for DUR]`, in order.
    pub severities: Vec<SeverityLine>,
    /// `resolve when COND [for DUR]`: hysteresis.
    pub resolve: Option<ResolveLine>,
    /// `keep_firing for DUR`.
    pub keep_firing_for: Option<Spanned<Duration>>,
    /// `nodata ..`: what to do when the query returns nothing.
    pub nodata: Option<Spanned<NoData>>,
    /// `labels { .. }`.
    pub labels: Option<LabelSet>,
    /// `summary`, `description`, `runbook` and `annotations { .. }`, in order.
    pub annotations: Vec<Annotation>,
    /// A statement failed to parse, so "missing X" checks would mislead.
    pub broken: bool,
}

/// `record NAME { query prometheus `..`  labels { .. } }`
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Comments just above the rule.
    pub comments: Comments,
    /// The name of the recorded series.
    pub name: Spanned<String>,
    /// Span of the `record` keyword through the closing brace.
    pub span: Span,
    /// The expression to record.
    pub query: Option<Spanned<Query>>,
    /// Labels added to the recorded series.
    pub labels: Option<LabelSet>,
    /// A statement failed to parse, so "missing X" checks would mislead.
    pub broken: bool,
}

/// What an alert or recording rule evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// `query prometheus [DATASOURCE] `promql``
    Prometheus {
        /// Named datasource; `None` means the default Prometheus.
        datasource: Option<Spanned<String>>,
        /// The PromQL text, without backticks.
        expr: Spanned<String>,
    },
    /// `query elasticsearch DATASOURCE AGG [FIELD] [where `q`] over DUR [by a, b]`
    Elasticsearch(EsQuery),
}

/// An Elasticsearch aggregation query over a time window.
#[derive(Debug, Clone, PartialEq)]
pub struct EsQuery {
    /// The datasource name (required: there is no default Elasticsearch).
    pub datasource: Spanned<String>,
    /// The metric aggregation.
    pub agg: Spanned<EsAgg>,
    /// The field aggregated over; absent for `count`.
    pub field: Option<Spanned<String>>,
    /// `where `query_string``.
    pub filter: Option<Spanned<String>>,
    /// `over DUR`: the window before now (minus the datasource's query_delay).
    pub window: Spanned<Duration>,
    /// `by term, ..`: one result per bucket of each term.
    pub by: Vec<Spanned<String>>,
}

/// Elasticsearch metric aggregations a rule may name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EsAgg {
    /// Number of matching documents.
    Count,
    /// Mean of a field.
    Avg,
    /// Minimum of a field.
    Min,
    /// Maximum of a field.
    Max,
    /// Sum of a field.
    Sum,
    /// Approximate distinct values of a field.
    Cardinality,
    /// `percentile P`: the P-th percentile of a field.
    Percentile(f64),
}

impl EsAgg {
    /// The keyword as written in the language.
    pub fn keyword(&self) -> &'static str {
        match self {
            EsAgg::Count => "count",
            EsAgg::Avg => "avg",
            EsAgg::Min => "min",
            EsAgg::Max => "max",
            EsAgg::Sum => "sum",
            EsAgg::Cardinality => "cardinality",
            EsAgg::Percentile(_) => "percentile",
        }
    }
}

/// `LEVEL when COND [for DUR]`
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityLine {
    /// The severity this line fires at.
    pub level: Spanned<SeverityLevel>,
    /// When it fires.
    pub condition: Spanned<Condition>,
    /// How long the condition must hold before firing.
    pub for_: Option<Spanned<Duration>>,
    /// The whole line.
    pub span: Span,
}

/// `resolve when COND [for DUR]`
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveLine {
    /// When a firing alert resolves.
    pub condition: Spanned<Condition>,
    /// How long the resolve condition must hold.
    pub for_: Option<Spanned<Duration>>,
    /// The whole line.
    pub span: Span,
}

/// A duration as milliseconds, with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    /// Total milliseconds.
    pub millis: u64,
    /// The original text, e.g. `1h30m`, kept for the formatter.
    pub text: String,
}

/// `nodata ok | nodata keep | nodata after DUR LEVEL`
#[derive(Debug, Clone, PartialEq)]
pub enum NoData {
    /// No data is not a problem: alerts resolve as usual (the default).
    Ok,
    /// No data keeps every alert in the state it had.
    Keep,
    /// No data for this long raises an alert at this level.
    After(Spanned<Duration>, Spanned<SeverityLevel>),
}

/// `{ name = "value", .. }`: quoted text for labels and annotations
/// (`LabelSet`), or any [`Value`] for a setting's map (`LabelSet<Value>`,
/// so a header can be `Authorization = env("NAME")`).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSet<V = String> {
    /// Pairs in source order.
    pub pairs: Vec<(Spanned<String>, Spanned<V>)>,
    /// The braces and everything between.
    pub span: Span,
}

/// An annotation line.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// `summary`, `description`, `runbook` (stored as `runbook_url`) or a free key.
    pub key: Spanned<String>,
    /// The template text.
    pub value: Spanned<String>,
    /// How it was written, so the formatter prints it back the same way.
    pub form: AnnotationForm,
}

/// Which syntax an annotation used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationForm {
    /// `summary "..."`
    Summary,
    /// `description "..."`
    Description,
    /// `runbook "..."`
    Runbook,
    /// An entry of `annotations { key = "..." }`
    Free,
}

/// A configuration value that may come from a secret source.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `"literal"`
    Str(String),
    /// `env("NAME")`: read from the environment when the config is built.
    Env(String),
    /// `file("path")`: read from a file when the config is built.
    File(String),
    /// A bare word or number, e.g. `starttls`, `30s`, `true`, `10`.
    Word(String),
}

/// `key value [value ..]` inside a datasource or integration block.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The key.
    pub key: Spanned<String>,
    /// One value, or several for lists (`to "a@x", "b@x"`); a nested block
    /// (`headers { .. }`) is kept as a label set.
    pub values: Vec<Spanned<Value>>,
    /// `headers { K = "v", A = env("X") }` style map.
    pub map: Option<LabelSet<Value>>,
    /// The whole setting.
    pub span: Span,
}

/// `datasource prometheus|elasticsearch NAME { settings }`
#[derive(Debug, Clone, PartialEq)]
pub struct Datasource {
    /// Comments just above.
    pub comments: Comments,
    /// `prometheus` or `elasticsearch`.
    pub kind: Spanned<String>,
    /// The name rules refer to; `default` is the default Prometheus.
    pub name: Spanned<String>,
    /// Settings in order.
    pub settings: Vec<Setting>,
    /// The whole block.
    pub span: Span,
}

/// `receiver NAME { slack {..} email {..} webhook {..} }`
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    /// Comments just above.
    pub comments: Comments,
    /// The name routes refer to.
    pub name: Spanned<String>,
    /// Integrations in order; a receiver may notify several.
    pub integrations: Vec<Integration>,
    /// The whole block.
    pub span: Span,
}

/// One integration inside a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// `slack`, `email` or `webhook`.
    pub kind: Spanned<String>,
    /// Settings in order.
    pub settings: Vec<Setting>,
    /// The whole block.
    pub span: Span,
}

/// `name OP "value"`, with the spans of its parts (the syntax node of
/// [`crate::vocab::matcher::Matcher`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    /// Label name.
    pub name: Spanned<String>,
    /// Operator.
    pub op: MatchOp,
    /// Value or regex.
    pub value: Spanned<String>,
    /// The whole matcher.
    pub span: Span,
}

/// `route { .. }`, possibly nested.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route {
    /// Comments just above.
    pub comments: Comments,
    /// `match m, m`: all must hold (several `match` lines accumulate).
    pub matchers: Vec<Matcher>,
    /// `receiver NAME`.
    pub receiver: Option<Spanned<String>>,
    /// `group_by a, b` or `group_by ...` (all labels).
    pub group_by: Option<Spanned<Vec<Spanned<String>>>>,
    /// `group_wait DUR`.
    pub group_wait: Option<Spanned<Duration>>,
    /// `group_interval DUR`.
    pub group_interval: Option<Spanned<Duration>>,
    /// `repeat_interval DUR`.
    pub repeat_interval: Option<Spanned<Duration>>,
    /// `resolve_wait DUR`: how soon after an alert resolves its group is
    /// flushed, instead of waiting for the next `group_interval` tick.
    pub resolve_wait: Option<Spanned<Duration>>,
    /// `continue`: keep matching siblings after this route matched.
    pub continue_: Option<Span>,
    /// `mute_during W, W`: time windows in which notifications are muted.
    pub mute_during: Vec<Spanned<String>>,
    /// `active_during W, W`: notify only inside these windows.
    pub active_during: Vec<Spanned<String>>,
    /// Child routes in order.
    pub routes: Vec<Route>,
    /// The whole block.
    pub span: Span,
}

/// `inhibit { source m, ..  target m, ..  equal a, b }`
#[derive(Debug, Clone, PartialEq)]
pub struct Inhibit {
    /// Comments just above.
    pub comments: Comments,
    /// Matchers an inhibiting alert must satisfy.
    pub source: Vec<Matcher>,
    /// Matchers an inhibited alert must satisfy.
    pub target: Vec<Matcher>,
    /// Labels that must be equal on both.
    pub equal: Vec<Spanned<String>>,
    /// The whole block.
    pub span: Span,
}

/// `time_window NAME { weekdays "monday:friday"  times "09:00-17:00"  .. }`
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWindow {
    /// Comments just above.
    pub comments: Comments,
    /// The name routes refer to.
    pub name: Spanned<String>,
    /// Settings (`times`, `weekdays`, `days_of_month`, `months`, `years`, `location`).
    pub settings: Vec<Setting>,
    /// The whole block.
    pub span: Span,
}

/// `include "glob"`
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    /// Comments just above.
    pub comments: Comments,
    /// The glob, relative to the including file's directory.
    pub pattern: Spanned<String>,
    /// The whole statement.
    pub span: Span,
}
