//! One rule, compiled for evaluation, and the alert state machine that
//! turns each query answer into alert states.
//!
//! A Prometheus rule file behaves exactly as Prometheus 2.42's
//! `AlertingRule.Eval`: one alert per label set; a new alert is `pending`,
//! turns `firing` once it has been active for `for`; an alert whose series is
//! gone resolves (after `keep_firing_for`) and is kept `inactive` for 15
//! minutes so the resolve is sent; a pending alert whose series is gone is
//! dropped. A DSL rule is the same machine with more than one level (each
//! with its own threshold and `for`), a `resolve when` threshold and a
//! `nodata` policy; a Prometheus rule is the special case of one level whose
//! condition is `present`, no resolve threshold and `nodata ok`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::alert::{Alert, AlertState, LabelPairs};
use super::templating::{SharedTexts, Template, TemplateEnv};
use crate::model::{self, NoDataPolicy, Origin, Query, ResolveRule, RuleKind};
use crate::source::Sample;
use crate::template::CompiledTemplate;
use crate::vocab::condition::Condition;
use crate::vocab::labels::{Labels, fingerprint};
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::Duration;
use crate::vocab::time::Millis;

/// How long a resolved alert is kept (and re-sent) before it is forgotten,
/// as Prometheus's `resolvedRetention`.
pub const RESOLVED_RETENTION: Millis = 15 * 60 * 1000;

/// The label a no-data alert carries, so it is a different alert from the
/// threshold alert of the same series.
pub const NODATA_LABEL: &str = "nodata";

/// A rule ready to evaluate: templates compiled, identity key computed.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Alert name or recorded series (shared with its metric series).
    pub name: Arc<str>,
    /// Stable identity across restarts and reloads: file, group, name and a
    /// hash of everything that decides the rule's behaviour. State carries
    /// over only to a rule with the same key; its format is
    /// [`super::rule_key`]'s.
    pub key: String,
    /// Datasource name (`default` when the query names none), shared by
    /// every rule of the configuration that names it.
    pub datasource: Arc<str>,
    /// The query, as sent to the datasource.
    pub query: RuleQuery,
    /// Rule labels (group labels merged in), as templates; names shared
    /// across rules ([`SharedTexts`]).
    pub labels: Vec<(Arc<str>, Template)>,
    /// Alerting specifics; `None` for a recording rule.
    pub alert: Option<CompiledAlert>,
}

/// The alerting half of a compiled rule.
#[derive(Debug, Clone)]
pub struct CompiledAlert {
    /// Prometheus file or DSL.
    pub origin: Origin,
    /// Levels, least severe first.
    pub levels: Vec<Level>,
    /// `resolve when` (boxed: few rules have one, and every rule would
    /// otherwise carry its size).
    pub resolve: Option<Box<ResolveRule>>,
    /// `keep_firing_for`.
    pub keep_firing_for: Millis,
    /// `nodata` policy.
    pub nodata: NoDataPolicy,
    /// Annotation templates; names shared across rules ([`SharedTexts`]).
    pub annotations: Vec<(Arc<str>, Template)>,
    /// The `severity` label is written in `labels`, not set by the level.
    pub severity_label_fixed: bool,
    /// Group `limit` (0 = none).
    pub limit: u64,
}

/// One severity level.
#[derive(Debug, Clone)]
pub struct Level {
    /// The level.
    pub level: SeverityLevel,
    /// Its condition.
    pub condition: Condition,
    /// Its `for`.
    pub for_: Millis,
}

fn level_index(level: SeverityLevel) -> usize {
    match level {
        SeverityLevel::Info => 0,
        SeverityLevel::Warning => 1,
        SeverityLevel::Critical => 2,
    }
}

impl CompiledRule {
    /// Compiles a model rule of group `group` loaded from `file`, taking
    /// repeated short texts from `texts`, shared by the whole configuration.
    pub fn compile(
        rule: &model::Rule,
        group: &model::Group,
        file: &str,
        texts: &mut SharedTexts,
    ) -> Self {
        let query_text = query_text(&rule.query);
        let datasource = texts.get(rule.query.datasource().unwrap_or("default"));
        let template_name = CompiledTemplate::alert_name(&rule.name);
        let labels = rule
            .labels
            .iter()
            .map(|p| {
                (
                    texts.get(&p.name),
                    Template::compile_named(&template_name, &p.value, texts),
                )
            })
            .collect();
        let alert = match &rule.kind {
            RuleKind::Record => None,
            RuleKind::Alert(spec) => {
                let mut levels: Vec<Level> = spec
                    .severities
                    .iter()
                    .map(|s| Level {
                        level: s.level,
                        condition: s.condition.clone(),
                        for_: ms(s.for_),
                    })
                    .collect();
                levels.sort_by_key(|l| l.level);
                Some(CompiledAlert {
                    origin: rule.origin,
                    levels,
                    resolve: spec.resolve.clone().map(Box::new),
                    keep_firing_for: ms(spec.keep_firing_for),
                    nodata: spec.nodata.clone(),
                    annotations: spec
                        .annotations
                        .iter()
                        .map(|p| {
                            (
                                texts.get(&p.name),
                                Template::compile_named(&template_name, &p.value, texts),
                            )
                        })
                        .collect(),
                    severity_label_fixed: spec.severity_label_fixed,
                    limit: group.limit,
                })
            }
        };
        let key = super::rule_key::rule_key(rule, group, file, &query_text);
        CompiledRule {
            name: rule.name.as_str().into(),
            key,
            datasource,
            query: RuleQuery::of(&rule.query, query_text),
            labels,
            alert,
        }
    }

    /// The query as the API shows it (and the generator URL links to).
    pub fn query_text(&self) -> &str {
        self.query.text()
    }
}

/// A rule's query in the form evaluation needs: the text to send, without
/// the parsed PromQL tree that checking needed (the largest part of a
/// loaded rule) and without the source positions.
#[derive(Debug, Clone)]
pub enum RuleQuery {
    /// PromQL, sent and shown as written.
    Prometheus(Box<str>),
    /// An Elasticsearch aggregation, and its text for the API.
    Elasticsearch {
        /// The query.
        query: Box<model::EsQuery>,
        /// How the API shows it.
        text: Box<str>,
    },
    /// Evaluated by klaxon itself (the built-in rules); what it checks.
    Builtin(Box<str>),
}

impl RuleQuery {
    fn of(query: &Query, text: String) -> Self {
        match query {
            Query::Prometheus(_) => RuleQuery::Prometheus(text.into()),
            Query::Elasticsearch(q) => RuleQuery::Elasticsearch {
                query: Box::new(q.clone()),
                text: text.into(),
            },
        }
    }

    /// The query as the API shows it.
    pub fn text(&self) -> &str {
        match self {
            RuleQuery::Prometheus(text)
            | RuleQuery::Elasticsearch { text, .. }
            | RuleQuery::Builtin(text) => text,
        }
    }

    /// What the datasource is sent, `None` for a built-in rule.
    pub fn to_source(&self) -> Option<crate::source::QueryRef<'_>> {
        match self {
            RuleQuery::Prometheus(expr) => Some(crate::source::QueryRef::Prometheus(expr)),
            RuleQuery::Elasticsearch { query, .. } => {
                Some(crate::source::QueryRef::Elasticsearch(query))
            }
            RuleQuery::Builtin(_) => None,
        }
    }
}

impl CompiledRule {
    /// Adds the rule's expanded labels (an empty expansion removes the
    /// label, as Prometheus's label builder does) and `alertname`.
    fn apply_labels(&self, labels: &mut Labels, env: &TemplateEnv, series: &Labels, value: f64) {
        for (name, tmpl) in &self.labels {
            let v = tmpl.expand(env, series, value);
            if v.is_empty() {
                labels.remove(&**name);
            } else {
                labels.insert(name.to_string(), v);
            }
        }
        labels.insert("alertname".into(), self.name.to_string());
    }
}

fn ms(d: Duration) -> Millis {
    i64::try_from(d.0).unwrap_or(i64::MAX)
}

/// The query as the API shows it. Also the QUERY field of the persisted
/// rule key ([`super::rule_key`]): changing its text resets stored alerts.
pub fn query_text(query: &Query) -> String {
    match query {
        Query::Prometheus(q) => q.expr.clone(),
        Query::Elasticsearch(q) => {
            let mut out = format!("elasticsearch {} {}", q.datasource, q.agg.keyword());
            if let crate::model::EsAgg::Percentile(p) = q.agg {
                out.push_str(&format!(" {}", crate::vocab::condition::format_number(p)));
            }
            if let Some(f) = &q.field {
                out.push_str(&format!(" {f}"));
            }
            if let Some(w) = &q.filter {
                out.push_str(&format!(" where `{w}`"));
            }
            out.push_str(&format!(" over {}", q.window));
            if !q.by.is_empty() {
                out.push_str(&format!(" by {}", q.by.join(", ")));
            }
            out
        }
    }
}

/// A map keyed by label-set fingerprints (already hashes, so FNV over
/// their eight bytes is plenty, and the map is smaller than with std's
/// keyed hasher: one per rule).
pub type FingerprintMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<fnv::FnvHasher>>;

/// The alerts of one alerting rule, by identity fingerprint.
#[derive(Debug, Clone, Default)]
pub struct AlertingState {
    /// Active, pending and recently resolved alerts. Boxed: most rules
    /// hold zero or one alert, and a map's spare slots then cost a pointer
    /// each instead of a whole alert.
    pub active: FingerprintMap<Box<Alert<LabelPairs>>>,
    /// `nodata after`: series seen, by series fingerprint, with when last seen.
    pub seen: FingerprintMap<(LabelPairs, Millis)>,
    /// `nodata`: since when the query has returned nothing.
    pub empty_since: Option<Millis>,
}

/// What one evaluation changed.
#[derive(Debug, Default)]
pub struct EvalOutcome {
    /// Alerts whose durable fields changed (identity fingerprint).
    pub changed: Vec<u64>,
    /// Alerts forgotten.
    pub removed: Vec<u64>,
    /// Label sets an alert left when it changed level while firing: the
    /// old label set must be resolved downstream.
    pub superseded: Vec<(Labels, Alert<LabelPairs>)>,
    /// The rule's own error (duplicate label sets, limit exceeded); the
    /// changes above still apply.
    pub error: Option<RuleError>,
}

/// The fields a restart must see again; `value`, annotations and send
/// bookkeeping are refreshed by the next evaluation and not worth a disk
/// write. Small and `Copy`, so the snapshot taken before each evaluation
/// allocates nothing per alert (labels are compared by fingerprint).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Durable {
    state: AlertState,
    active_at: Millis,
    fired_at: Option<Millis>,
    resolved_at: Option<Millis>,
    keep_firing_since: Option<Millis>,
    level: Option<SeverityLevel>,
    level_since: [Option<Millis>; 3],
    resolve_since: Option<Millis>,
    labels: u64,
}

impl Durable {
    fn of(a: &Alert<LabelPairs>) -> Self {
        Durable {
            state: a.state,
            active_at: a.active_at,
            fired_at: a.fired_at,
            resolved_at: a.resolved_at,
            keep_firing_since: a.keep_firing_since,
            level: a.level,
            level_since: a.level_since,
            resolve_since: a.resolve_since,
            labels: a.labels.fingerprint(),
        }
    }
}

/// An evaluation error that is the rule's fault rather than the datasource's.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError(pub String);

impl AlertingState {
    /// Applies one successful query answer at `ts`.
    pub fn eval(
        &mut self,
        rule: &CompiledRule,
        spec: &CompiledAlert,
        samples: &[Sample],
        ts: Millis,
        env: &TemplateEnv,
    ) -> EvalOutcome {
        let mut outcome = EvalOutcome::default();
        let before: HashMap<u64, Durable> = self
            .active
            .iter()
            .map(|(k, v)| (*k, Durable::of(v)))
            .collect();
        let result = self.eval_inner(rule, spec, samples, ts, env, &mut outcome);
        // Changes are computed against the state before the evaluation so
        // the store sees exactly what moved.
        for (fp, alert) in &self.active {
            match before.get(fp) {
                Some(old) if *old == Durable::of(alert) => {}
                _ => outcome.changed.push(*fp),
            }
        }
        for fp in before.keys() {
            if !self.active.contains_key(fp) {
                outcome.removed.push(*fp);
            }
        }
        outcome.changed.sort_unstable();
        outcome.removed.sort_unstable();
        outcome.error = result.err();
        outcome
    }

    fn eval_inner(
        &mut self,
        rule: &CompiledRule,
        spec: &CompiledAlert,
        samples: &[Sample],
        ts: Millis,
        env: &TemplateEnv,
        outcome: &mut EvalOutcome,
    ) -> Result<(), RuleError> {
        let level_driven = !spec.severity_label_fixed && rule_is_dsl(spec);
        let mut present: HashSet<u64> = HashSet::with_capacity(samples.len());
        let empty = samples.is_empty();

        if empty && spec.nodata == NoDataPolicy::Keep {
            // Every alert keeps its state until data returns.
            self.empty_since.get_or_insert(ts);
            return Ok(());
        }

        for sample in samples {
            // Prometheus: $labels are the sample's labels, __name__ included;
            // the alert's labels drop __name__.
            let mut labels = sample.labels.clone();
            labels.remove("__name__");
            let series_fp = fingerprint(&labels);
            if matches!(spec.nodata, NoDataPolicy::Alert { .. }) {
                self.seen
                    .entry(series_fp)
                    .and_modify(|seen| seen.1 = ts)
                    .or_insert_with(|| (LabelPairs::from_map(&labels), ts));
            }
            let holding = spec
                .levels
                .iter()
                .filter(|l| l.condition.holds(sample.value))
                .map(|l| l.level)
                .max();
            let resolve_holds = spec
                .resolve
                .as_ref()
                .is_some_and(|r| r.condition.holds(sample.value));
            rule.apply_labels(&mut labels, env, &sample.labels, sample.value);
            let identity = if level_driven {
                labels.remove("severity");
                fingerprint(&labels)
            } else {
                fingerprint(&labels)
            };

            let existing = self
                .active
                .get(&identity)
                .filter(|a| a.state != AlertState::Inactive && !a.nodata);
            if existing.is_none() && holding.is_none() {
                // Below every threshold and not active: nothing to track.
                continue;
            }
            if !present.insert(identity) {
                return Err(RuleError(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                ));
            }
            let annotations = expand_annotations(spec, env, &sample.labels, sample.value);
            let alert = match self.active.get_mut(&identity) {
                Some(a) if a.state != AlertState::Inactive && !a.nodata => {
                    if !a.annotations.equals_unsorted(&annotations) {
                        a.annotations = LabelPairs::from_unsorted(
                            annotations.iter().map(|(k, v)| (*k, v.as_str())),
                        );
                    }
                    a
                }
                _ => {
                    let mut a = Alert::new(
                        LabelPairs::default(),
                        LabelPairs::from_unsorted(
                            annotations.iter().map(|(k, v)| (*k, v.as_str())),
                        ),
                        sample.value,
                        ts,
                    );
                    a.level = holding;
                    self.active.insert(identity, Box::new(a));
                    match self.active.get_mut(&identity) {
                        Some(a) => a,
                        None => continue,
                    }
                }
            };
            alert.value = sample.value;
            // Each level's condition clock.
            for l in &spec.levels {
                let slot = &mut alert.level_since[level_index(l.level)];
                if l.condition.holds(sample.value) {
                    slot.get_or_insert(ts);
                } else {
                    *slot = None;
                }
            }
            if resolve_holds {
                alert.resolve_since.get_or_insert(ts);
            } else {
                alert.resolve_since = None;
            }
            let eligible = spec
                .levels
                .iter()
                .filter(|l| {
                    alert.level_since[level_index(l.level)].is_some_and(|s| ts - s >= l.for_)
                })
                .map(|l| l.level)
                .max();
            let resolved_by_threshold = match (&spec.resolve, holding) {
                (_, Some(_)) => false,
                (None, None) => true,
                (Some(r), None) => alert.resolve_since.is_some_and(|s| ts - s >= ms(r.for_)),
            };
            match alert.state {
                AlertState::Pending => {
                    if let Some(level) = eligible {
                        alert.state = AlertState::Firing;
                        alert.fired_at = Some(ts);
                        alert.level = Some(level);
                    } else if holding.is_some() {
                        alert.level = holding;
                    } else {
                        // Pending and no longer above any threshold: gone,
                        // as a pending alert whose series disappears.
                        self.active.remove(&identity);
                        continue;
                    }
                }
                AlertState::Firing => {
                    if resolved_by_threshold {
                        if keep_firing(alert, spec.keep_firing_for, ts) {
                            // keep firing at the current level
                        } else {
                            alert.state = AlertState::Inactive;
                            alert.resolved_at = Some(ts);
                        }
                    } else {
                        alert.keep_firing_since = None;
                        // Escalate when a higher level's `for` has elapsed;
                        // de-escalate at once to the highest level that
                        // still holds; inside the hysteresis band, stay.
                        let current = alert.level;
                        let capped = match (holding, current) {
                            (Some(h), Some(c)) => Some(h.min(c)),
                            (h, None) => h,
                            (None, c) => c,
                        };
                        let next = eligible.max(capped);
                        if next != current && next.is_some() {
                            if level_driven && let Some(old) = current {
                                let mut old_labels = alert.labels.to_map();
                                old_labels.insert("severity".into(), old.as_str().into());
                                outcome.superseded.push((old_labels, (**alert).clone()));
                                // The new label set is news: send it in this
                                // round, with the old one's resolve, not after
                                // the resend delay.
                                alert.last_sent_at = None;
                            }
                            alert.level = next;
                        }
                    }
                }
                AlertState::Inactive => {}
            }
            if level_driven && let Some(level) = alert.level {
                labels.insert("severity".into(), level.as_str().into());
            }
            // Rebuilt only when they change: a new alert, or a DSL alert
            // that moved to another level.
            if !alert.labels.equals_map(&labels) {
                alert.labels = LabelPairs::from_map(&labels);
            }
        }

        // Alerts whose series did not come back.
        let keep_for = spec.keep_firing_for;
        self.active.retain(|fp, a| {
            if present.contains(fp) || a.nodata {
                return true;
            }
            if a.state == AlertState::Firing && keep_firing(a, keep_for, ts) {
                return true;
            }
            match a.state {
                AlertState::Pending => false,
                AlertState::Firing => {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                    true
                }
                AlertState::Inactive => a.resolved_at.is_none_or(|r| ts - r <= RESOLVED_RETENTION),
            }
        });

        self.nodata(rule, spec, empty, ts, env);

        if spec.limit > 0 {
            let active = self
                .active
                .values()
                .filter(|a| a.state != AlertState::Inactive)
                .count() as u64;
            if active > spec.limit {
                self.active.clear();
                return Err(RuleError(format!(
                    "exceeded limit of {} with {} alerts",
                    spec.limit, active
                )));
            }
        }
        Ok(())
    }

    /// `nodata after DURATION LEVEL`: one alert per series that has been
    /// missing that long, or one for the rule when the query has returned
    /// nothing that long and no series is known.
    fn nodata(
        &mut self,
        rule: &CompiledRule,
        spec: &CompiledAlert,
        empty: bool,
        ts: Millis,
        env: &TemplateEnv,
    ) {
        if empty {
            self.empty_since.get_or_insert(ts);
        } else {
            self.empty_since = None;
        }
        let NoDataPolicy::Alert { after, level } = &spec.nodata else {
            return;
        };
        let after = ms(*after);
        // Which no-data alerts should be firing now, by identity.
        let mut wanted: Vec<(Labels, Millis)> = Vec::new();
        for (series, last_seen) in self.seen.values() {
            if ts - *last_seen >= after {
                wanted.push((series.to_map(), *last_seen));
            }
        }
        if self.seen.is_empty()
            && let Some(since) = self.empty_since
            && ts - since >= after
        {
            wanted.push((Labels::new(), since));
        }
        let mut wanted_fps = HashSet::new();
        for (series, since) in wanted {
            let mut labels = series.clone();
            rule.apply_labels(&mut labels, env, &series, f64::NAN);
            labels.insert(NODATA_LABEL.into(), "true".into());
            if !spec.severity_label_fixed {
                labels.insert("severity".into(), level.as_str().into());
            }
            let fp = fingerprint(&labels);
            wanted_fps.insert(fp);
            match self.active.get_mut(&fp) {
                Some(a) if a.state == AlertState::Firing => {}
                _ => {
                    let annotations = expand_annotations(spec, env, &series, f64::NAN);
                    let mut a = Alert::new(
                        LabelPairs::from_map(&labels),
                        LabelPairs::from_unsorted(
                            annotations.iter().map(|(k, v)| (*k, v.as_str())),
                        ),
                        f64::NAN,
                        since,
                    );
                    a.state = AlertState::Firing;
                    a.fired_at = Some(ts);
                    a.level = Some(*level);
                    a.nodata = true;
                    self.active.insert(fp, Box::new(a));
                }
            }
        }
        // No-data alerts whose data came back resolve; resolved ones are
        // kept for the retention time like any other.
        self.active.retain(|fp, a| {
            if !a.nodata || wanted_fps.contains(fp) {
                return true;
            }
            match a.state {
                AlertState::Firing | AlertState::Pending => {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                    true
                }
                AlertState::Inactive => a.resolved_at.is_none_or(|r| ts - r <= RESOLVED_RETENTION),
            }
        });
        // A series returned (it is in `seen` with `ts`): nothing more to do.
    }

    /// Alerts that must be sent now, Prometheus's `needsSending`: not
    /// pending, and resolved since the last send or not sent for
    /// `resend_delay`. Marks them sent and sets `valid_until`.
    pub fn take_due(
        &mut self,
        ts: Millis,
        resend_delay: Millis,
        interval: Millis,
    ) -> Vec<Alert<LabelPairs>> {
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            if a.state == AlertState::Pending {
                continue;
            }
            let resolved_since_sent = match (a.resolved_at, a.last_sent_at) {
                (Some(r), Some(s)) => r > s,
                (Some(_), None) => true,
                _ => false,
            };
            let due = resolved_since_sent || a.last_sent_at.is_none_or(|s| s + resend_delay < ts);
            if due {
                a.last_sent_at = Some(ts);
                a.valid_until = Some(ts + 4 * resend_delay.max(interval));
                out.push((**a).clone());
            }
        }
        out
    }
}

/// A rule's annotations expanded for one sample, in the order written.
fn expand_annotations<'s>(
    spec: &'s CompiledAlert,
    env: &TemplateEnv,
    labels: &Labels,
    value: f64,
) -> Vec<(&'s str, String)> {
    spec.annotations
        .iter()
        .map(|(k, t)| (&**k, t.expand(env, labels, value)))
        .collect()
}

fn rule_is_dsl(spec: &CompiledAlert) -> bool {
    spec.origin == Origin::Dsl
}

/// `keep_firing_for`: whether a firing alert whose condition stopped
/// holding keeps firing (starting the clock on the first miss).
fn keep_firing(a: &mut Alert<LabelPairs>, keep_for: Millis, ts: Millis) -> bool {
    if keep_for <= 0 || a.state != AlertState::Firing {
        return false;
    }
    let since = *a.keep_firing_since.get_or_insert(ts);
    ts - since < keep_for
}
