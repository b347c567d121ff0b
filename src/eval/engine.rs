//! The scheduler: one tokio task per group, evaluation slots aligned to the
//! interval with a stable per-group offset (as Prometheus), rules in order,
//! groups concurrently under one bound on in-flight queries.
//!
//! Per round: query each rule, run its state machine, commit every state
//! change to the store in one transaction, then hand the alerts that are due
//! to delivery. A query error leaves the rule's alerts as they were (and
//! they keep being re-sent), and feeds the built-in `KlaxonDatasourceDown`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, mpsc, watch};

use super::alert::{Alert, AlertState, LabelPairs};
use super::event::{AlertBatch, OutgoingAlert};
use super::metrics::{
    AlertLabels, DatasourceErrorLabels, DatasourceLabel, EvalMetrics, GroupLabel, RuleLabels,
};
use super::ownership::{Admission, GroupKey, GroupOwnership};
use super::rule::{AlertingState, CompiledAlert, CompiledRule, Level, RuleError, RuleQuery};
use super::status::{GroupStatus, Health, RuleStatus, RuleStatusKind};
use super::templating::{Template, TemplateEnv};
use crate::model::{NoDataPolicy, Origin};
use crate::source::{Sample, Source, SourceError};
use crate::vocab::condition::Condition;
use crate::vocab::labels::Labels;
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::{Clock, Millis};

/// Name of the built-in alert raised when a datasource keeps failing.
pub const DATASOURCE_DOWN: &str = "KlaxonDatasourceDown";
/// Rounds a datasource must fail in a row before [`DATASOURCE_DOWN`] fires.
pub const DATASOURCE_DOWN_ROUNDS: u32 = 2;
/// The file name of the built-in group (`KlaxonDatasourceDown`).
pub const BUILTIN_FILE: &str = "<builtin>";
const BUILTIN_GROUP: &str = "klaxon";
/// How long a group another replica owns waits for an ownership change
/// before it asks again anyway.
const SKIP_RECHECK_MS: Millis = 30_000;

/// A change of durable alert state: the store's own change type, so a
/// round's changes go to disk without conversion.
use super::persist::StateChange;

/// Where state transitions are committed before they are acted on.
pub trait StateStore: Send + Sync + 'static {
    /// Commits all changes durably in one transaction.
    fn commit(&self, changes: &[StateChange]) -> Result<(), String>;
}

/// The state changes of one rule waiting for their commit, alerts in the
/// evaluator's compact form.
#[derive(Debug)]
struct PendingChanges {
    rule: String,
    put: Vec<(u64, Box<Alert<LabelPairs>>)>,
    delete: Vec<u64>,
}

impl PendingChanges {
    fn into_store(self, out: &mut Vec<StateChange>) {
        for (fingerprint, alert) in self.put {
            out.push(StateChange::Put {
                rule: self.rule.clone(),
                fingerprint,
                alert: alert.to_maps(),
            });
        }
        for fingerprint in self.delete {
            out.push(StateChange::Delete {
                rule: self.rule.clone(),
                fingerprint,
            });
        }
    }
}

/// Settings that are the same for every group.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Minimum time between re-sends of an unchanged firing alert.
    pub resend_delay: Duration,
    /// Bound on queries in flight across all groups.
    pub max_concurrent_queries: usize,
    /// `$externalLabels`, `$externalURL`; external labels are also added to
    /// every alert sent.
    pub env: TemplateEnv,
    /// Base of generator URLs (the external URL, or the listen address).
    pub generator_base: String,
    /// Where rounds read the time: evaluation slots are times on it.
    pub clock: Clock,
}

/// One group, ready to schedule.
#[derive(Debug)]
pub struct GroupRuntime {
    /// Name (shared with its metric series).
    pub name: Arc<str>,
    /// File it came from.
    pub file: String,
    /// Interval.
    pub interval: Duration,
    /// Alert limit per rule.
    pub limit: u64,
    /// Rules in order.
    pub rules: Vec<RuleRuntime>,
    last: Mutex<(f64, Option<Millis>)>,
    alert_counts: Mutex<HashMap<AlertLabels, i64>>,
}

/// A rule and its mutable state.
#[derive(Debug)]
pub struct RuleRuntime {
    /// The compiled rule.
    pub rule: CompiledRule,
    /// Its state.
    pub state: Mutex<RuleState>,
}

/// Everything that changes as a rule is evaluated.
#[derive(Debug, Clone)]
pub struct RuleState {
    /// Alerts.
    pub alerts: AlertingState,
    /// Health after the last evaluation.
    pub health: Health,
    /// Last error.
    pub last_error: Option<String>,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    pub last_evaluation: Option<Millis>,
}

impl Default for RuleState {
    fn default() -> Self {
        RuleState {
            alerts: AlertingState::default(),
            health: Health::Unknown,
            last_error: None,
            evaluation_time: 0.0,
            last_evaluation: None,
        }
    }
}

impl RuleRuntime {
    fn new(rule: CompiledRule) -> Self {
        RuleRuntime {
            rule,
            state: Mutex::new(RuleState::default()),
        }
    }
}

impl GroupRuntime {
    /// A group of compiled rules.
    pub fn new(
        name: Arc<str>,
        file: String,
        interval: Duration,
        limit: u64,
        rules: Vec<CompiledRule>,
    ) -> Self {
        GroupRuntime {
            name,
            file,
            interval,
            limit,
            rules: rules.into_iter().map(RuleRuntime::new).collect(),
            last: Mutex::new((0.0, None)),
            alert_counts: Mutex::new(HashMap::new()),
        }
    }

    /// Prometheus's stable offset of a group within its interval, from a
    /// hash of its file and name, so groups with the same interval do not
    /// all query at the same instant.
    fn offset(&self) -> Millis {
        let mut h = fnv::FnvHasher::default();
        std::hash::Hasher::write(&mut h, self.file.as_bytes());
        std::hash::Hasher::write(&mut h, &[0xFF]);
        std::hash::Hasher::write(&mut h, self.name.as_bytes());
        let interval = interval_ms(self.interval).max(1);
        (std::hash::Hasher::finish(&h) % interval as u64) as Millis
    }

    fn label(&self) -> GroupLabel {
        GroupLabel {
            group: self.name.clone(),
        }
    }

    /// The group's identity across replicas and reloads.
    pub fn key(&self) -> GroupKey {
        GroupKey {
            file: self.file.clone(),
            name: self.name.to_string(),
        }
    }
}

fn interval_ms(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn to_system_time(ms: Millis) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The first slot at or after `now` for an interval and offset.
fn next_slot(now: Millis, interval: Millis, offset: Millis) -> Millis {
    let interval = interval.max(1);
    let adj = now.saturating_sub(offset);
    let base = adj.saturating_sub(adj.rem_euclid(interval));
    let slot = base.saturating_add(offset);
    if slot < now {
        slot.saturating_add(interval)
    } else {
        slot
    }
}

#[derive(Debug, Default, Clone)]
struct DatasourceHealth {
    failed_rounds: u32,
    last_error: String,
}

/// A running configuration: groups, datasources and the built-in rule.
pub struct Engine {
    groups: Vec<Arc<GroupRuntime>>,
    sources: HashMap<String, Source>,
    settings: EngineSettings,
    metrics: Arc<EvalMetrics>,
    store: Arc<dyn StateStore>,
    events: mpsc::UnboundedSender<AlertBatch>,
    limiter: Arc<Semaphore>,
    health: Mutex<BTreeMap<Arc<str>, DatasourceHealth>>,
    meta: Arc<GroupRuntime>,
    ownership: Arc<dyn GroupOwnership>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

fn meta_rule() -> CompiledRule {
    let labels = vec![(
        "severity".into(),
        Template::compile(DATASOURCE_DOWN, "critical"),
    )];
    CompiledRule {
        name: DATASOURCE_DOWN.into(),
        key: super::rule_key::builtin(BUILTIN_FILE, BUILTIN_GROUP, DATASOURCE_DOWN),
        datasource: "".into(),
        query: RuleQuery::Builtin(
            format!(
                "klaxon: a datasource whose queries failed {DATASOURCE_DOWN_ROUNDS} evaluation rounds in a row"
            )
            .into(),
        ),
        labels,
        alert: Some(CompiledAlert {
            origin: Origin::PrometheusYaml,
            levels: vec![Level {
                level: SeverityLevel::Critical,
                condition: Condition::Present,
                for_: 0,
            }],
            resolve: None,
            keep_firing_for: 0,
            nodata: NoDataPolicy::Ok,
            annotations: vec![
                (
                    "summary".into(),
                    Template::compile(
                        DATASOURCE_DOWN,
                        "klaxon cannot query datasource {{ $labels.datasource }}",
                    ),
                ),
                (
                    "description".into(),
                    Template::compile(DATASOURCE_DOWN, ""),
                ),
            ],
            severity_label_fixed: true,
            limit: 0,
        }),
    }
}

impl Engine {
    /// Builds a configuration. Nothing runs until [`Engine::start`].
    pub fn new(
        groups: Vec<GroupRuntime>,
        sources: HashMap<String, Source>,
        settings: EngineSettings,
        metrics: Arc<EvalMetrics>,
        store: Arc<dyn StateStore>,
        events: mpsc::UnboundedSender<AlertBatch>,
        ownership: Arc<dyn GroupOwnership>,
    ) -> Self {
        let min_interval = groups
            .iter()
            .map(|g| g.interval)
            .min()
            .unwrap_or(Duration::from_secs(60));
        let limiter = Arc::new(Semaphore::new(settings.max_concurrent_queries.max(1)));
        Engine {
            groups: groups.into_iter().map(Arc::new).collect(),
            sources,
            settings,
            metrics,
            store,
            events,
            limiter,
            health: Mutex::new(BTreeMap::new()),
            meta: Arc::new(GroupRuntime::new(
                BUILTIN_GROUP.into(),
                BUILTIN_FILE.into(),
                min_interval,
                0,
                vec![meta_rule()],
            )),
            ownership,
        }
    }

    /// Every rule key of this configuration (built-in included).
    pub fn rule_keys(&self) -> Vec<String> {
        self.all_groups()
            .flat_map(|g| g.rules.iter().map(|r| r.rule.key.clone()))
            .collect()
    }

    /// Every configured group (not the built-in one) with its rule keys in
    /// order: what a store that keeps state per group needs to map a rule
    /// key to its group.
    pub fn group_rule_keys(&self) -> Vec<(GroupKey, Vec<String>)> {
        self.groups
            .iter()
            .map(|g| {
                (
                    g.key(),
                    g.rules.iter().map(|r| r.rule.key.clone()).collect(),
                )
            })
            .collect()
    }

    fn all_groups(&self) -> impl Iterator<Item = &Arc<GroupRuntime>> {
        self.groups.iter().chain(std::iter::once(&self.meta))
    }

    /// Puts stored alerts back into their rules before the first round.
    /// Returns the rule keys nothing matched (rules no longer configured).
    pub fn restore(&self, stored: BTreeMap<String, Vec<(u64, Alert)>>) -> Vec<String> {
        let mut stored = stored;
        for g in self.all_groups() {
            for r in &g.rules {
                if let Some(alerts) = stored.remove(&r.rule.key) {
                    load_stored(&mut lock(&r.state), alerts);
                }
            }
        }
        stored.into_keys().collect()
    }

    /// Moves the state of every rule with an unchanged key from `old`.
    pub fn carry_state_from(&self, old: &Engine) {
        let mut by_key: HashMap<&str, &RuleRuntime> = HashMap::new();
        for g in old.all_groups() {
            for r in &g.rules {
                by_key.insert(&r.rule.key, r);
            }
        }
        for g in self.all_groups() {
            for r in &g.rules {
                if let Some(old_rule) = by_key.get(r.rule.key.as_str()) {
                    let st = lock(&old_rule.state).clone();
                    *lock(&r.state) = st;
                }
            }
        }
        *lock(&self.health) = lock(&old.health).clone();
    }

    /// Starts one task per group; they stop at the next slot after `stop`
    /// turns true, finishing any round in progress.
    pub fn start(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.groups
            .iter()
            .map(|g| {
                let engine = Arc::clone(self);
                let group = Arc::clone(g);
                let stop = stop.clone();
                self.metrics
                    .group_interval
                    .get_or_create(&group.label())
                    .set(group.interval.as_secs_f64());
                // Counters exist at 0 from the start, so a first failure
                // shows in increase() as Prometheus users expect.
                let _ = self.metrics.group_missed.get_or_create(&group.label());
                for r in &group.rules {
                    let _ = self.metrics.rule_failures.get_or_create(&RuleLabels {
                        group: group.name.clone(),
                        rule: r.rule.name.clone(),
                    });
                    let _ = self
                        .metrics
                        .datasource_errors
                        .get_or_create(&DatasourceErrorLabels {
                            datasource: Arc::clone(&r.rule.datasource),
                            kind: "unreachable".into(),
                        });
                }
                tokio::spawn(async move { engine.run_group(group, stop).await })
            })
            .collect()
    }

    /// A group's task: before each round the ownership decides whether this
    /// replica evaluates it (a single node always does).
    async fn run_group(self: Arc<Self>, group: Arc<GroupRuntime>, mut stop: watch::Receiver<bool>) {
        let interval = interval_ms(group.interval).max(1);
        let offset = group.offset();
        let clock = self.settings.clock.clone();
        let key = group.key();
        let mut changes = Some(self.ownership.changes());
        let mut slot = next_slot(clock.now(), interval, offset);
        // The last admission was Skip: only then do ownership changes wake
        // the group before its slot.
        let mut skipping = false;
        // A takeover waiting for the slot after the old owner's last round:
        // at that slot the group is evaluated without asking again.
        let mut admitted = false;
        // While skipping: when to ask again even if no change came (a
        // retry after an answer that could not be given, e.g. a state
        // load that failed).
        let mut recheck_at = slot;
        loop {
            if *stop.borrow() {
                return;
            }
            // A group another replica owns sleeps until ownership changes
            // (or the recheck), not until each of its slots: waking every
            // replica at every slot of every group only to hear "not yours"
            // cost more CPU than the cluster's own work.
            let due = if skipping { recheck_at } else { slot };
            let wait =
                Duration::from_millis(u64::try_from(due.saturating_sub(clock.now())).unwrap_or(0));
            let woken_by_change = tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                _ = stop.changed() => return,
                _ = ownership_changed(&mut changes), if skipping => true,
            };
            // A re-ask is answered for now, not for the slot still ahead.
            let at = if woken_by_change || skipping {
                clock.now()
            } else {
                slot
            };
            let admission = if std::mem::take(&mut admitted) {
                Admission::Evaluate
            } else {
                // Seen before asking: a change during the answer wakes the
                // group again.
                if let Some(changes) = changes.as_mut() {
                    changes.borrow_and_update();
                }
                tokio::select! {
                    admission = self.ownership.admit(&key, at) => admission,
                    _ = stop.changed() => return,
                }
            };
            if skipping || matches!(admission, Admission::Skip) {
                // Every slot that passed unevaluated here counts once.
                let passed = if at >= slot {
                    (at - slot) / interval + 1
                } else {
                    0
                };
                if passed > 0 {
                    self.metrics
                        .group_skipped
                        .get_or_create(&group.label())
                        .inc_by(passed as u64);
                    slot = next_slot(at.saturating_add(1), interval, offset);
                }
            }
            let ts = match admission {
                Admission::Evaluate => at,
                Admission::Skip => {
                    self.drop_state(&group);
                    skipping = true;
                    recheck_at = next_slot(
                        at.saturating_add(SKIP_RECHECK_MS.max(interval)),
                        interval,
                        offset,
                    );
                    continue;
                }
                Admission::TakeOver { stored, last_round } => {
                    self.take_over(&group, stored);
                    skipping = false;
                    // The slot after the old owner's last round; never later
                    // than the next slot (a last round ahead of this
                    // replica's clock must not leave a gap).
                    let due = last_round.map_or(at, |last| {
                        next_slot(last.saturating_add(1), interval, offset).min(next_slot(
                            at.saturating_add(1),
                            interval,
                            offset,
                        ))
                    });
                    if due > at {
                        slot = due;
                        admitted = true;
                        continue;
                    }
                    at
                }
            };
            skipping = false;
            // Boxed: a round's future (queries, state, commit) is large,
            // and a group spends nearly all its time asleep between rounds
            // holding only this loop's state.
            Box::pin(self.eval_group(&group, ts)).await;
            self.ownership.round_done(&key, ts);
            slot = self.slot_after(&group, ts, interval, offset);
        }
    }

    /// The slot after a round at `ts`: the next one, or, when the round
    /// overran, the first still ahead (the ones in between are counted as
    /// missed, not replayed).
    fn slot_after(
        &self,
        group: &GroupRuntime,
        ts: Millis,
        interval: Millis,
        offset: Millis,
    ) -> Millis {
        let now = self.settings.clock.now();
        let next = next_slot(ts.saturating_add(1), interval, offset);
        if now < next {
            return next;
        }
        let missed = (now - ts) / interval - 1;
        if missed > 0 {
            self.metrics
                .group_missed
                .get_or_create(&group.label())
                .inc_by(missed as u64);
            tracing::warn!(group = %group.name, missed, "evaluation overran its interval; skipping missed rounds");
        }
        next_slot(now, interval, offset)
    }

    /// Another replica evaluates `group`: forget its alerts here (and
    /// their share of `klaxon_alerts`), so a later takeover starts from the
    /// stored state. Nothing is committed: the stored state is the owner's.
    fn drop_state(&self, group: &GroupRuntime) {
        let mut dropped = false;
        for r in &group.rules {
            let mut st = lock(&r.state);
            let alerts = &st.alerts;
            if !alerts.active.is_empty() || !alerts.seen.is_empty() || alerts.empty_since.is_some()
            {
                st.alerts = AlertingState::default();
                dropped = true;
            }
        }
        if dropped {
            self.count_alerts(group);
        }
    }

    /// This replica has claimed `group`: its rules' alerts become the stored ones.
    fn take_over(&self, group: &GroupRuntime, stored: BTreeMap<String, Vec<(u64, Alert)>>) {
        let mut stored = stored;
        for r in &group.rules {
            let mut st = lock(&r.state);
            st.alerts = AlertingState::default();
            if let Some(alerts) = stored.remove(&r.rule.key) {
                load_stored(&mut st, alerts);
            }
        }
        self.count_alerts(group);
        // Exists at 0 once the group is clustered, so a first skip shows in increase().
        let _ = self.metrics.group_skipped.get_or_create(&group.label());
        if !stored.is_empty() {
            let rules: Vec<&String> = stored.keys().collect();
            tracing::warn!(group = %group.name, ?rules, "stored alerts of rules this group does not have (any more) were not loaded");
        }
    }

    /// Runs one round of `group` at `ts`: query, update state, commit, send.
    pub async fn eval_group(&self, group: &GroupRuntime, ts: Millis) {
        let started = Instant::now();
        let label = group.label();
        self.metrics.group_iterations.get_or_create(&label).inc();
        let mut changes = Vec::new();
        let mut outgoing = Vec::new();
        let mut ds_outcome: BTreeMap<Arc<str>, (bool, Option<String>)> = BTreeMap::new();
        let interval = interval_ms(group.interval);
        let timeout = group.interval;
        for r in &group.rules {
            let rule_started = Instant::now();
            self.metrics.rule_evaluations.get_or_create(&label).inc();
            let result = self.query(&r.rule, ts, timeout).await;
            match &result {
                Ok(_) => {
                    ds_outcome.entry(r.rule.datasource.clone()).or_default().0 = true;
                }
                Err(e) => {
                    let entry = ds_outcome.entry(r.rule.datasource.clone()).or_default();
                    entry.1 = Some(e.to_string());
                }
            }
            let mut st = lock(&r.state);
            self.apply(
                r,
                &mut st,
                result,
                ts,
                interval,
                &mut changes,
                &mut outgoing,
            );
            st.evaluation_time = rule_started.elapsed().as_secs_f64();
            st.last_evaluation = Some(ts);
            if st.health == Health::Err {
                self.metrics
                    .rule_failures
                    .get_or_create(&RuleLabels {
                        group: group.name.clone(),
                        rule: r.rule.name.clone(),
                    })
                    .inc();
            }
        }
        self.update_datasource_health(&ds_outcome, ts, &mut changes, &mut outgoing);
        self.commit(changes).await;
        self.send(outgoing);
        let took = started.elapsed().as_secs_f64();
        *lock(&group.last) = (took, Some(ts));
        self.metrics
            .group_duration
            .get_or_create(&label)
            .observe(took);
        self.metrics
            .group_last_duration
            .get_or_create(&label)
            .set(took);
        self.count_alerts(group);
    }

    async fn query(
        &self,
        rule: &CompiledRule,
        ts: Millis,
        timeout: Duration,
    ) -> Result<Vec<Sample>, SourceError> {
        let Some(source) = self.sources.get(&*rule.datasource) else {
            return Err(SourceError::Unsupported(format!(
                "no datasource `{}` is configured; declare `datasource prometheus {}` or start with --prometheus.url",
                rule.datasource, rule.datasource
            )));
        };
        let _permit = self.limiter.acquire().await;
        let started = Instant::now();
        let result = match rule.query.to_source() {
            Some(query) => source.run(query, to_system_time(ts), timeout).await,
            None => Err(SourceError::Unsupported(
                "a built-in rule is evaluated by klaxon, not queried".into(),
            )),
        };
        let ds = DatasourceLabel {
            datasource: Arc::clone(&rule.datasource),
        };
        self.metrics
            .datasource_duration
            .get_or_create(&ds)
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = match e {
                SourceError::Timeout(_) => "timeout",
                SourceError::Unreachable(_) => "unreachable",
                SourceError::Rejected(_) => "rejected",
                SourceError::BadResponse(_) => "bad_response",
                SourceError::Unsupported(_) => "unsupported",
            };
            self.metrics
                .datasource_errors
                .get_or_create(&DatasourceErrorLabels {
                    datasource: Arc::clone(&rule.datasource),
                    kind: kind.into(),
                })
                .inc();
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        r: &RuleRuntime,
        st: &mut RuleState,
        result: Result<Vec<Sample>, SourceError>,
        ts: Millis,
        interval: Millis,
        changes: &mut Vec<PendingChanges>,
        outgoing: &mut Vec<OutgoingAlert>,
    ) {
        match (result, &r.rule.alert) {
            (Err(e), _) => {
                st.health = Health::Err;
                st.last_error = Some(e.to_string());
                tracing::warn!(rule = %r.rule.name, error = %e, "rule evaluation failed; its alerts keep their state");
            }
            (Ok(_), None) => {
                st.health = Health::Ok;
                st.last_error = None;
            }
            (Ok(samples), Some(spec)) => {
                let outcome = st
                    .alerts
                    .eval(&r.rule, spec, &samples, ts, &self.settings.env);
                match &outcome.error {
                    None => {
                        st.health = Health::Ok;
                        st.last_error = None;
                    }
                    Some(RuleError(message)) => {
                        st.health = Health::Err;
                        st.last_error = Some(message.clone());
                        tracing::warn!(rule = %r.rule.name, error = %message, "rule evaluation failed");
                    }
                }
                self.collect(r, st, &outcome, changes, outgoing, ts);
            }
        }
        if r.rule.alert.is_some() {
            let resend = interval_ms(self.settings.resend_delay);
            let due = st.alerts.take_due(ts, resend, interval);
            if !due.is_empty() {
                let url = self.generator_url(&r.rule);
                outgoing.extend(due.iter().map(|alert| self.outgoing(alert, &url)));
            }
        }
    }

    fn collect(
        &self,
        r: &RuleRuntime,
        st: &RuleState,
        outcome: &super::rule::EvalOutcome,
        changes: &mut Vec<PendingChanges>,
        outgoing: &mut Vec<OutgoingAlert>,
        ts: Millis,
    ) {
        if !outcome.changed.is_empty() || !outcome.removed.is_empty() {
            changes.push(PendingChanges {
                rule: r.rule.key.clone(),
                put: outcome
                    .changed
                    .iter()
                    .filter_map(|fp| Some((*fp, st.alerts.active.get(fp)?.clone())))
                    .collect(),
                delete: outcome.removed.clone(),
            });
        }
        for (old_labels, alert) in &outcome.superseded {
            let mut resolved = self.outgoing(alert, &self.generator_url(&r.rule));
            resolved.labels = self.with_external(old_labels);
            resolved.ends_at = ts;
            outgoing.push(resolved);
        }
    }

    fn with_external(&self, labels: &Labels) -> Labels {
        let mut out = labels.clone();
        for (k, v) in &self.settings.env.external_labels {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        out
    }

    fn generator_url(&self, rule: &CompiledRule) -> String {
        generator_url(&self.settings.generator_base, rule.query_text())
    }

    fn outgoing(&self, alert: &Alert<LabelPairs>, generator_url: &str) -> OutgoingAlert {
        let mut labels = alert.labels.to_map();
        for (k, v) in &self.settings.env.external_labels {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        OutgoingAlert {
            labels,
            annotations: alert.annotations.to_map(),
            starts_at: alert.fired_at.unwrap_or(alert.active_at),
            ends_at: alert
                .resolved_at
                .or(alert.valid_until)
                .unwrap_or(alert.active_at),
            generator_url: generator_url.to_string(),
        }
    }

    fn update_datasource_health(
        &self,
        outcome: &BTreeMap<Arc<str>, (bool, Option<String>)>,
        ts: Millis,
        changes: &mut Vec<PendingChanges>,
        outgoing: &mut Vec<OutgoingAlert>,
    ) {
        if outcome.is_empty() {
            return;
        }
        let samples: Vec<Sample> = {
            let mut health = lock(&self.health);
            for (ds, (any_ok, error)) in outcome {
                let h = health.entry(Arc::clone(ds)).or_default();
                if *any_ok {
                    h.failed_rounds = 0;
                } else if let Some(e) = error {
                    h.failed_rounds = h.failed_rounds.saturating_add(1);
                    h.last_error = e.clone();
                }
                self.metrics
                    .datasource_down
                    .get_or_create(&DatasourceLabel {
                        datasource: Arc::clone(ds),
                    })
                    .set(i64::from(h.failed_rounds >= DATASOURCE_DOWN_ROUNDS));
            }
            health
                .iter()
                .filter(|(_, h)| h.failed_rounds >= DATASOURCE_DOWN_ROUNDS)
                .map(|(name, h)| Sample {
                    labels: [
                        ("datasource".to_string(), name.to_string()),
                        ("error".to_string(), h.last_error.clone()),
                    ]
                    .into_iter()
                    .collect(),
                    value: f64::from(h.failed_rounds),
                })
                .collect()
        };
        let Some(r) = self.meta.rules.first() else {
            return;
        };
        let Some(spec) = &r.rule.alert else { return };
        let mut st = lock(&r.state);
        // The error text is an annotation, not part of the alert's identity.
        let errors: HashMap<String, String> = samples
            .iter()
            .filter_map(|s| {
                Some((
                    s.labels.get("datasource")?.clone(),
                    s.labels.get("error")?.clone(),
                ))
            })
            .collect();
        let samples: Vec<Sample> = samples
            .into_iter()
            .map(|mut s| {
                s.labels.remove("error");
                s
            })
            .collect();
        let outcome = st
            .alerts
            .eval(&r.rule, spec, &samples, ts, &self.settings.env);
        {
            for a in st.alerts.active.values_mut() {
                if let Some(e) = a.labels.get("datasource").and_then(|d| errors.get(d))
                    && a.annotations.get("description") != Some(e.as_str())
                {
                    let mut annotations = a.annotations.to_map();
                    annotations.insert("description".into(), e.clone());
                    a.annotations = LabelPairs::from_map(&annotations);
                }
            }
            st.health = Health::Ok;
            st.last_evaluation = Some(ts);
            self.collect(r, &st, &outcome, changes, outgoing, ts);
        }
        let interval = interval_ms(self.meta.interval);
        let resend = interval_ms(self.settings.resend_delay);
        let due = st.alerts.take_due(ts, resend, interval);
        if !due.is_empty() {
            let url = self.generator_url(&r.rule);
            outgoing.extend(due.iter().map(|alert| self.outgoing(alert, &url)));
        }
    }

    async fn commit(&self, changes: Vec<PendingChanges>) {
        if changes.is_empty() {
            return;
        }
        let store = Arc::clone(&self.store);
        let started = Instant::now();
        // The store's form (label maps) is made only once this commit's
        // turn comes: on a busy round many groups wait for the store at
        // once, each holding its changes, and the compact form is a
        // fraction of the size.
        let result = tokio::task::spawn_blocking(move || {
            let mut store_changes = Vec::new();
            for rule in changes {
                rule.into_store(&mut store_changes);
            }
            store.commit(&store_changes)
        })
        .await;
        self.metrics
            .store_commit_duration
            .observe(started.elapsed().as_secs_f64());
        let error = match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(e) => e.to_string(),
        };
        self.metrics.store_commit_failures.inc();
        tracing::error!(error = %error, "cannot commit alert state; alerts are still sent, and the transitions are written once the store can write again (a restart before then would lose them)");
    }

    fn send(&self, alerts: Vec<OutgoingAlert>) {
        if alerts.is_empty() {
            return;
        }
        self.metrics.alerts_sent.inc_by(alerts.len() as u64);
        let batch = AlertBatch { alerts };
        if self.events.send(batch).is_err() {
            tracing::debug!("no delivery is listening; alerts are only shown by the API");
        }
    }

    fn count_alerts(&self, group: &GroupRuntime) {
        let mut counts: HashMap<AlertLabels, i64> = HashMap::new();
        for r in &group.rules {
            let st = lock(&r.state);
            for a in st.alerts.active.values() {
                if a.state == AlertState::Inactive {
                    continue;
                }
                *counts
                    .entry(AlertLabels {
                        state: a.state.as_str().into(),
                        severity: a.labels.get("severity").unwrap_or_default().to_string(),
                    })
                    .or_default() += 1;
            }
        }
        let mut prev = lock(&group.alert_counts);
        for (k, v) in &counts {
            self.metrics
                .alerts
                .get_or_create(k)
                .inc_by(v - prev.get(k).copied().unwrap_or(0));
        }
        for (k, v) in prev.iter() {
            if !counts.contains_key(k) {
                self.metrics.alerts.get_or_create(k).dec_by(*v);
            }
        }
        *prev = counts;
    }

    /// Takes the alert counts of this configuration out of the shared gauge
    /// (before a reload replaces it).
    pub fn retire_metrics(&self) {
        for g in &self.groups {
            let mut prev = lock(&g.alert_counts);
            for (k, v) in prev.iter() {
                self.metrics.alerts.get_or_create(k).dec_by(*v);
            }
            prev.clear();
        }
    }

    /// Every rule's pending and firing alerts, rule by rule in the order of
    /// [`Engine::for_each_group_status`], without the rules' own status: what
    /// `/api/v1/alerts` needs, at a fraction of the snapshot's memory.
    pub fn active_alerts(&self) -> Vec<Alert<LabelPairs>> {
        let mut alerts = Vec::new();
        for g in self.all_groups() {
            for r in g.rules.iter().filter(|r| r.rule.alert.is_some()) {
                alerts.extend(listed_alerts(&lock(&r.state)));
            }
        }
        alerts
    }

    /// A snapshot of each group for the API, one group at a time, so an
    /// answer written piece by piece holds one group's copy at most.
    pub fn for_each_group_status(&self, f: &mut dyn FnMut(GroupStatus)) {
        for g in self.all_groups() {
            f(group_status(g));
        }
    }
}

fn group_status(g: &GroupRuntime) -> GroupStatus {
    let (evaluation_time, last_evaluation) = *lock(&g.last);
    GroupStatus {
        name: g.name.to_string(),
        file: g.file.clone(),
        interval: g.interval,
        limit: g.limit,
        evaluation_time,
        last_evaluation,
        rules: g.rules.iter().map(rule_status).collect(),
    }
}

/// A rule's pending and firing alerts as the API lists them: in the
/// order of their label sets (pairs compared in name order, as label maps
/// compare).
fn listed_alerts(st: &RuleState) -> Vec<Alert<LabelPairs>> {
    let mut alerts: Vec<Alert<LabelPairs>> = st
        .alerts
        .active
        .values()
        .filter(|a| a.state != AlertState::Inactive)
        .map(|a| Alert::clone(a.as_ref()))
        .collect();
    alerts.sort_by(|a, b| a.labels.iter().cmp(b.labels.iter()));
    alerts
}

fn rule_status(r: &RuleRuntime) -> RuleStatus {
    let st = lock(&r.state);
    let labels: Labels = r
        .rule
        .labels
        .iter()
        .map(|(k, t)| (k.to_string(), t.text().to_string()))
        .collect();
    let kind = match &r.rule.alert {
        None => RuleStatusKind::Recording,
        Some(spec) => {
            let alerts = listed_alerts(&st);
            RuleStatusKind::Alerting {
                duration: spec.levels.first().map_or(0.0, |l| l.for_ as f64 / 1000.0),
                keep_firing_for: spec.keep_firing_for as f64 / 1000.0,
                annotations: spec
                    .annotations
                    .iter()
                    .map(|(k, t)| (k.to_string(), t.text().to_string()))
                    .collect(),
                alerts,
            }
        }
    };
    RuleStatus {
        name: r.rule.name.to_string(),
        query: r.rule.query_text().to_string(),
        labels,
        kind,
        health: st.health,
        last_error: st.last_error.clone(),
        evaluation_time: st.evaluation_time,
        last_evaluation: st.last_evaluation,
    }
}

/// Puts stored alerts (the store's form) into a rule's state.
fn load_stored(st: &mut RuleState, alerts: Vec<(u64, Alert)>) {
    for (fp, alert) in alerts {
        st.alerts.active.insert(fp, Box::new(alert.to_pairs()));
    }
}

/// Resolves when the ownership may have changed; never once its sender is
/// gone (nothing will change any more).
async fn ownership_changed(changes: &mut Option<watch::Receiver<u64>>) {
    let closed = match changes.as_mut() {
        Some(rx) => rx.changed().await.is_err(),
        None => true,
    };
    if closed {
        *changes = None;
        std::future::pending::<()>().await;
    }
}

/// Prometheus's generator URL: the graph page with the expression in the
/// table tab.
pub fn generator_url(base: &str, expr: &str) -> String {
    let encoded = crate::vocab::go::query_escape(expr);
    format!(
        "{}/graph?g0.expr={encoded}&g0.tab=1",
        base.trim_end_matches('/')
    )
}

/// Locks a mutex, recovering the data if a thread panicked while holding
/// it (the state is still the last consistent one we wrote).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
#[path = "ownership_tests.rs"]
mod ownership_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_to_the_interval_plus_offset() {
        assert_eq!(next_slot(10_000, 1_000, 250), 10_250);
        assert_eq!(next_slot(10_250, 1_000, 250), 10_250);
        assert_eq!(next_slot(10_251, 1_000, 250), 11_250);
        assert_eq!(next_slot(0, 60_000, 0), 0);
    }

    #[test]
    fn generator_url_escapes_like_go_query_escape() {
        assert_eq!(
            generator_url("http://klaxon:9097/", "up{job=\"x\"} == 0"),
            "http://klaxon:9097/graph?g0.expr=up%7Bjob%3D%22x%22%7D+%3D%3D+0&g0.tab=1"
        );
    }
}
