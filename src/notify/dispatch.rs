//! Grouping and the flush decision: Alertmanager 0.25's dispatcher and
//! notification pipeline (routing by the [`RouteTree`], aggregation groups
//! with `group_wait`/`group_interval`/`repeat_interval`, muting by the
//! [`Inhibitor`], silences and time windows, dedupe against the
//! notification log), with the fixes its users ask for:
//! - a notified alert that resolves is flushed after `resolve_wait`, not at
//!   the next `group_interval` tick;
//! - a notified alert that is later silenced or inhibited still gets its
//!   resolve (the mute applies to firing alerts only);
//! - an alert whose severity is above every alert already notified in its
//!   group (warning → critical) flushes the group at once;
//! - annotations never decide anything: dedupe compares fingerprints only.
//!
//! The dispatcher owns no I/O: it reads the notification log and hands the
//! notifications it decides to a [`Sink`] (the durable outbox), which
//! commits them before anything is sent.
//!
//! In a cluster a [`FlushGate`] says which groups this replica sends. Every
//! replica groups every alert, so a group that changes hands is flushed by
//! its new owner at once ([`Dispatcher::ownership_changed`]), and the shared
//! notification log behind the [`Sink`] decides what, if anything, is still
//! to be said.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{Notify, mpsc, watch};

use super::alert::{NotifyAlert, severity_rank};
use super::cluster::FlushGate;
use super::inhibit::Inhibitor;
use super::notification::{Notification, NotifiedAlert, Reason, Status};
use super::outbox::LogEntry;
use super::receivers::{BoxFuture, Receivers};
use super::route::RouteTree;
use crate::model;
use crate::vocab::labels::{Fingerprint, LabelSet};
use crate::vocab::time::{Clock, Duration, Millis};

/// Where decided notifications go, and what each lane was last told.
pub trait Sink: Send + Sync {
    /// The notification log entry of one (group, receiver, integration)
    /// lane; `group_id` is [`Notification::group_id`].
    fn log_entry(&self, group_id: &str, receiver: &str, integration: usize) -> Option<LogEntry>;
    /// Commits notifications and their log entries durably, all or none.
    fn enqueue(&self, items: Vec<(Notification, LogEntry)>) -> BoxFuture<'_, Result<(), String>>;
}

/// What mutes an alert or a route besides inhibition: silences and time windows.
pub trait Mutes: Send + Sync {
    /// An active silence matches these labels.
    fn silenced(&self, labels: &LabelSet, now: Millis) -> bool;
    /// `now` is inside one of the named time windows.
    fn in_windows(&self, names: &[String], now: Millis) -> bool;
}

/// Everything a flush needs that only changes on reload.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// The routing tree.
    pub routes: RouteTree,
    /// The inhibition rules.
    pub inhibits: Vec<model::Inhibit>,
    /// Integrations by receiver.
    pub receivers: Receivers,
    /// klaxon's external URL, put in every notification.
    pub external_url: String,
}

impl DispatchConfig {
    /// The dispatch configuration of a rule set; without a `route` every
    /// alert goes to one receiver named `default` with Alertmanager's
    /// default timings (and no integrations, so nothing is sent).
    pub fn new(rules: &model::NotifierConfig, receivers: Receivers, external_url: String) -> Self {
        let routes = match &rules.route {
            Some(root) => RouteTree::new(root),
            None => RouteTree::new(&model::Route {
                matchers: Vec::new(),
                receiver: "default".to_string(),
                group_by: Vec::new(),
                group_by_all: false,
                group_wait: Duration(30_000),
                group_interval: Duration(300_000),
                repeat_interval: Duration(4 * 3_600_000),
                resolve_wait: Duration(5_000),
                continue_: false,
                mute_during: Vec::new(),
                active_during: Vec::new(),
                routes: Vec::new(),
                span: crate::diag::Span::default(),
            }),
        };
        DispatchConfig {
            routes,
            inhibits: rules.inhibits.clone(),
            receivers,
            external_url,
        }
    }
}

type GroupId = u64;

/// An aggregation group: the alerts of one route node that share the
/// node's group labels.
#[derive(Debug)]
struct AggGroup {
    route: usize,
    labels: LabelSet,
    /// Alertmanager's group key, as shown and sent.
    key: String,
    /// [`Notification::group_id`]: the group's identity.
    id: String,
    /// A B-tree rather than a hash map: every alert sits in one of these, and
    /// a tree grows by small nodes (about 30 bytes an alert) where a hash
    /// table doubles (up to 35 bytes an alert just after, plus the freed
    /// smaller tables).
    alerts: BTreeMap<Fingerprint, Arc<NotifyAlert>>,
    has_flushed: bool,
    /// When the group is due next; the heap may hold stale earlier entries.
    due: Millis,
    /// Firing alerts included in the last committed flush.
    notified_firing: HashSet<Fingerprint>,
    /// The highest severity rank among them.
    notified_rank: u8,
    /// A flush is due because severity went up.
    escalated: bool,
    /// The flush gate's last answer for this group (always true without
    /// one): a group that turns owned is flushed at once.
    owned: bool,
}

/// A snapshot of one aggregation group for the API.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSnapshot {
    /// The route's receiver.
    pub receiver: String,
    /// The group labels.
    pub labels: LabelSet,
    /// Alertmanager's group key.
    pub key: String,
    /// The group's identity ([`Notification::group_id`]).
    pub id: String,
    /// The group's alerts.
    pub fingerprints: Vec<Fingerprint>,
}

/// The aggregation groups and their schedule. Only routing, flush planning
/// and commits take this lock, and never for long: a flush copies the
/// group's alerts out and sorts, mutes and dedupes them without it.
struct State {
    /// The configuration the groups were built under.
    config: Arc<DispatchConfig>,
    groups: HashMap<GroupId, AggGroup>,
    by_id: HashMap<String, GroupId>,
    heap: BinaryHeap<Reverse<(Millis, GroupId)>>,
    next_id: GroupId,
    /// Which groups this replica flushes; None = all.
    gate: Option<Arc<dyn FlushGate>>,
}

impl State {
    fn new(config: Arc<DispatchConfig>, gate: Option<Arc<dyn FlushGate>>) -> State {
        State {
            config,
            groups: HashMap::new(),
            by_id: HashMap::new(),
            heap: BinaryHeap::new(),
            next_id: 1,
            gate,
        }
    }

    fn owns(&self, group_id: &str) -> bool {
        self.gate.as_ref().is_none_or(|gate| gate.owns(group_id))
    }

    fn schedule(&mut self, id: GroupId, at: Millis) {
        if let Some(group) = self.groups.get_mut(&id) {
            group.due = at;
            self.heap.push(Reverse((at, id)));
        }
    }

    fn insert(&mut self, alert: Arc<NotifyAlert>, now: Millis) {
        let fp = alert.labels.fingerprint();
        let config = Arc::clone(&self.config);
        for node_index in config.routes.matching(&alert.labels) {
            let node = config.routes.node(node_index);
            let labels = config.routes.group_labels(node_index, &alert.labels);
            let group_id = format!("{}:{}", node.lane, labels);
            let id = match self.by_id.get(&group_id) {
                Some(id) => *id,
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.by_id.insert(group_id.clone(), id);
                    let key = if node.lane == node.key {
                        group_id.clone()
                    } else {
                        format!("{}:{}", node.key, labels)
                    };
                    let owned = self.owns(&group_id);
                    self.groups.insert(
                        id,
                        AggGroup {
                            route: node_index,
                            labels,
                            key,
                            id: group_id,
                            alerts: BTreeMap::new(),
                            has_flushed: false,
                            due: Millis::MAX,
                            notified_firing: HashSet::new(),
                            notified_rank: 0,
                            escalated: false,
                            owned,
                        },
                    );
                    self.schedule(id, now + node.group_wait);
                    id
                }
            };
            let Some(group) = self.groups.get_mut(&id) else {
                continue;
            };
            group.alerts.insert(fp, Arc::clone(&alert));
            let resolved = alert.is_resolved_at(now);
            let mut due = group.due;
            if !group.has_flushed {
                // Alertmanager: an alert older than group_wait flushes at once.
                if alert.starts_at + node.group_wait < now {
                    due = due.min(now);
                }
            } else if resolved {
                if group.notified_firing.contains(&fp) {
                    due = due.min(now + node.resolve_wait);
                }
            } else if severity_rank(&alert.labels) > group.notified_rank
                && !group.notified_firing.contains(&fp)
            {
                group.escalated = true;
                due = due.min(now);
            }
            if due < group.due {
                self.schedule(id, due);
            }
        }
    }
}

/// The dispatcher: feed it alerts, run it, ask it for views.
///
/// Readers (the API asks per alert for its receivers and inhibitions) take
/// only `config` and `inhibit`, which are read-locked, so they never wait
/// on grouping or a flush. Lock order: `state`, then `inhibit`.
pub struct Dispatcher {
    config: RwLock<Arc<DispatchConfig>>,
    inhibit: RwLock<Inhibitor>,
    state: Mutex<State>,
    sink: Arc<dyn Sink>,
    mutes: Arc<dyn Mutes>,
    wake: Notify,
    clock: Clock,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// What a flush reads of a group, copied out so the work runs unlocked.
struct FlushInput {
    route: usize,
    labels: LabelSet,
    key: String,
    id: String,
    alerts: Vec<Arc<NotifyAlert>>,
    notified_firing: HashSet<Fingerprint>,
    escalated: bool,
}

/// What one flush decided, kept until the sink has committed it.
struct Plan {
    group: GroupId,
    items: Vec<(Notification, LogEntry)>,
    firing: HashSet<Fingerprint>,
    rank: u8,
    resolved: Vec<(Fingerprint, Millis)>,
}

static NOTIFICATION_SEQ: AtomicU64 = AtomicU64::new(0);

/// A notification id unique across lanes, flushes and restarts: a hash of
/// the lane plus the clock and a process counter.
fn notification_id(key: &str, receiver: &str, integration: usize, now: Millis) -> String {
    let mut lane = fnv::FnvHasher::default();
    lane.write(key.as_bytes());
    lane.write(&[0xFF]);
    lane.write(receiver.as_bytes());
    lane.write(&integration.to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(now as u64);
    let seq = NOTIFICATION_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut unique = fnv::FnvHasher::default();
    unique.write(&nanos.to_le_bytes());
    unique.write(&seq.to_le_bytes());
    unique.write(&std::process::id().to_le_bytes());
    format!("{:016x}{:016x}", lane.finish(), unique.finish())
}

/// Alertmanager's order of alerts in a notification: by `job`, then
/// `instance` (alerts with the label first), then the whole label set.
fn am_order(a: &NotifyAlert, b: &NotifyAlert) -> std::cmp::Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return std::cmp::Ordering::Greater,
            (Some(_), None) => return std::cmp::Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.labels.iter().cmp(b.labels.iter())
}

fn notified(alert: &NotifyAlert, status: Status) -> NotifiedAlert {
    NotifiedAlert {
        fingerprint: alert.labels.fingerprint(),
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at: alert.starts_at,
        ends_at: alert.ends_at,
        generator_url: alert.generator_url.to_string(),
        status,
    }
}

/// Alertmanager's `DedupStage.needsUpdate`, returning why.
fn needs_update(
    entry: Option<&LogEntry>,
    firing: &[Fingerprint],
    resolved: &[Fingerprint],
    send_resolved: bool,
    repeat_interval: Millis,
    now: Millis,
) -> Option<Reason> {
    let Some(entry) = entry else {
        return (!firing.is_empty()).then_some(Reason::New);
    };
    if !entry.is_firing_subset(firing) {
        return Some(Reason::New);
    }
    if firing.is_empty() {
        return (!entry.firing.is_empty()).then_some(Reason::Resolved);
    }
    if send_resolved && !entry.is_resolved_subset(resolved) {
        return Some(Reason::PartialResolve);
    }
    (entry.at < now - repeat_interval).then_some(Reason::Repeat)
}

impl Dispatcher {
    /// A dispatcher with no alerts yet; with a `gate` it flushes only the
    /// groups the gate says this replica owns.
    pub fn new(
        config: DispatchConfig,
        sink: Arc<dyn Sink>,
        mutes: Arc<dyn Mutes>,
        gate: Option<Arc<dyn FlushGate>>,
        clock: Clock,
    ) -> Arc<Self> {
        let config = Arc::new(config);
        Arc::new(Dispatcher {
            inhibit: RwLock::new(Inhibitor::new(&config.inhibits)),
            config: RwLock::new(Arc::clone(&config)),
            state: Mutex::new(State::new(config, gate)),
            sink,
            mutes,
            wake: Notify::new(),
            clock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take notifications down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_inhibit(&self) -> RwLockReadGuard<'_, Inhibitor> {
        self.inhibit.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_inhibit(&self) -> RwLockWriteGuard<'_, Inhibitor> {
        self.inhibit.write().unwrap_or_else(|p| p.into_inner())
    }

    fn current_config(&self) -> Arc<DispatchConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Routes and groups alerts (new, updated or resolved).
    pub fn insert(&self, alerts: impl IntoIterator<Item = Arc<NotifyAlert>>, now: Millis) {
        let alerts: Vec<Arc<NotifyAlert>> = alerts.into_iter().collect();
        {
            let mut inhibit = self.write_inhibit();
            for alert in &alerts {
                inhibit.observe(alert, now);
            }
        }
        let mut state = self.lock();
        for alert in alerts {
            state.insert(alert, now);
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Swaps the configuration (reload): groups are rebuilt from their
    /// alerts under the new routes and wait `group_wait` again; the
    /// notification log keeps receivers from hearing the same thing twice,
    /// as in Alertmanager.
    pub fn reconfigure(&self, config: DispatchConfig, now: Millis) {
        let mut state = self.lock();
        let mut alerts: HashMap<Fingerprint, Arc<NotifyAlert>> = HashMap::new();
        for group in state.groups.values() {
            for (fp, alert) in &group.alerts {
                alerts.insert(*fp, Arc::clone(alert));
            }
        }
        let config = Arc::new(config);
        self.write_inhibit().reconfigure(&config.inhibits, now);
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&config);
        let gate = state.gate.take();
        *state = State::new(config, gate);
        for alert in alerts.into_values() {
            state.insert(alert, now);
        }
        drop(state);
        self.wake.notify_one();
    }

    /// The receivers an alert is routed to.
    pub fn receivers_for(&self, labels: &LabelSet) -> Vec<String> {
        self.current_config().routes.receivers_for(labels)
    }

    /// The source alerts inhibiting these labels now.
    pub fn inhibited_by(&self, labels: &LabelSet, now: Millis) -> Vec<Fingerprint> {
        self.read_inhibit().inhibited_by(labels, now)
    }

    /// Every receiver name of the routing tree and of the configuration.
    pub fn receiver_names(&self) -> Vec<String> {
        let config = self.current_config();
        let mut names: Vec<String> = config.receivers.names().map(str::to_string).collect();
        names.extend(config.routes.nodes().iter().map(|n| n.receiver.clone()));
        names.sort();
        names.dedup();
        names
    }

    /// How many aggregation groups exist.
    pub fn group_count(&self) -> usize {
        self.lock().groups.len()
    }

    /// Every aggregation group.
    pub fn groups(&self) -> Vec<GroupSnapshot> {
        let state = self.lock();
        let mut out: Vec<GroupSnapshot> = state
            .groups
            .values()
            .map(|g| {
                let mut fingerprints: Vec<Fingerprint> = g.alerts.keys().copied().collect();
                fingerprints.sort_unstable();
                GroupSnapshot {
                    receiver: state.config.routes.node(g.route).receiver.clone(),
                    labels: g.labels.clone(),
                    key: g.key.clone(),
                    id: g.id.clone(),
                    fingerprints,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Runs until `shutdown` turns true: takes alerts from `alerts` and
    /// flushes groups when they are due.
    pub async fn run(
        self: Arc<Self>,
        mut alerts: mpsc::UnboundedReceiver<Vec<Arc<NotifyAlert>>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = self.clock.now();
            self.flush_due(now).await;
            let next = {
                let state = self.lock();
                state.heap.peek().map(|Reverse((at, _))| *at)
            };
            let sleep_ms = next.map_or(60_000, |at| (at - self.clock.now()).clamp(0, 60_000));
            tokio::select! {
                batch = alerts.recv() => match batch {
                    Some(batch) => {
                        let now = self.clock.now();
                        self.insert(batch, now);
                    }
                    None => {
                        // The alert store is gone; keep flushing what we have.
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms as u64)) => {}
                            _ = shutdown.changed() => {}
                        }
                    }
                },
                _ = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms as u64)) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Flushes every group whose time has come; returns how many
    /// notifications were committed.
    pub async fn flush_due(&self, now: Millis) -> usize {
        let plans = self.plan_due(now);
        if plans.is_empty() {
            return 0;
        }
        let items: Vec<(Notification, LogEntry)> =
            plans.iter().flat_map(|p| p.items.iter().cloned()).collect();
        let count = items.len();
        let result = if items.is_empty() {
            Ok(())
        } else {
            self.sink.enqueue(items).await
        };
        let mut state = self.lock();
        match result {
            Ok(()) => {
                for plan in plans {
                    finish(&mut state, plan, now);
                }
                count
            }
            Err(e) => {
                tracing::error!(error = %e, "could not commit notifications; retrying in 5s");
                for plan in plans {
                    state.schedule(plan.group, now + 5_000);
                }
                0
            }
        }
    }

    /// Groups this replica now owns and did not before become due at once:
    /// another replica may have been about to flush them (or died doing
    /// so), and the shared notification log tells what is left to say.
    /// Without a flush gate nothing changes.
    pub fn ownership_changed(&self, now: Millis) {
        let mut state = self.lock();
        let Some(gate) = state.gate.clone() else {
            return;
        };
        let mut taken: Vec<GroupId> = Vec::new();
        for (id, group) in &mut state.groups {
            let owned = gate.owns(&group.id);
            if owned && !group.owned {
                taken.push(*id);
            }
            group.owned = owned;
        }
        for id in taken {
            state.schedule(id, now);
        }
        drop(state);
        self.wake.notify_one();
    }

    fn plan_due(&self, now: Millis) -> Vec<Plan> {
        let mut due: Vec<GroupId> = Vec::new();
        {
            let mut state = self.lock();
            while let Some(Reverse((at, id))) = state.heap.peek().copied() {
                if at > now {
                    break;
                }
                state.heap.pop();
                if state.groups.get(&id).is_some_and(|g| g.due == at) && !due.contains(&id) {
                    due.push(id);
                }
            }
            due.retain(|id| {
                let owned = state
                    .groups
                    .get(id)
                    .is_some_and(|group| state.owns(&group.id));
                if owned {
                    if let Some(group) = state.groups.get_mut(id) {
                        group.owned = true;
                    }
                } else {
                    keep_for_takeover(&mut state, *id, now);
                }
                owned
            });
        }
        due.into_iter()
            .filter_map(|id| self.plan_group(id, now))
            .collect()
    }

    /// Copies a group out under the lock; everything else runs unlocked.
    fn flush_input(&self, id: GroupId) -> Option<(Arc<DispatchConfig>, FlushInput)> {
        let state = self.lock();
        let group = state.groups.get(&id)?;
        Some((
            Arc::clone(&state.config),
            FlushInput {
                route: group.route,
                labels: group.labels.clone(),
                key: group.key.clone(),
                id: group.id.clone(),
                alerts: group.alerts.values().cloned().collect(),
                notified_firing: group.notified_firing.clone(),
                escalated: group.escalated,
            },
        ))
    }

    fn plan_group(&self, id: GroupId, now: Millis) -> Option<Plan> {
        let (config, group) = self.flush_input(id)?;
        let node = config.routes.node(group.route);
        let mut alerts: Vec<&Arc<NotifyAlert>> = group.alerts.iter().collect();
        alerts.sort_by(|a, b| am_order(a, b));
        let resolved_all: Vec<(Fingerprint, Millis)> = alerts
            .iter()
            .filter(|a| a.is_resolved_at(now))
            .map(|a| (a.labels.fingerprint(), a.updated_at))
            .collect();
        let time_muted = (!node.mute_during.is_empty()
            && self.mutes.in_windows(&node.mute_during, now))
            || (!node.active_during.is_empty() && !self.mutes.in_windows(&node.active_during, now));
        let mut plan = Plan {
            group: id,
            items: Vec::new(),
            firing: HashSet::new(),
            rank: 0,
            resolved: resolved_all,
        };
        if time_muted {
            // Alertmanager's time-mute stages drop the whole flush.
            return Some(plan);
        }
        // (alert, resolved, muted)
        // The inhibition lock is taken per alert so a big group lets
        // inserts (and the readers queued behind them) through.
        let classified: Vec<(&Arc<NotifyAlert>, bool, bool)> = alerts
            .iter()
            .map(|a| {
                let resolved = a.is_resolved_at(now);
                let muted = self.mutes.silenced(&a.labels, now)
                    || self.read_inhibit().is_inhibited(&a.labels, now);
                (*a, resolved, muted)
            })
            .collect();
        let escalated = group.escalated;
        for (index, integration) in config
            .receivers
            .integrations(&node.receiver)
            .iter()
            .enumerate()
        {
            let entry = self.sink.log_entry(&group.id, &node.receiver, index);
            let mut firing: Vec<&Arc<NotifyAlert>> = Vec::new();
            let mut resolved: Vec<&Arc<NotifyAlert>> = Vec::new();
            for (alert, is_resolved, muted) in &classified {
                let fp = alert.labels.fingerprint();
                if *is_resolved {
                    // klaxon: a resolve is never muted for a lane that was told it fired.
                    let told = entry
                        .as_ref()
                        .is_some_and(|e| e.firing.binary_search(&fp).is_ok())
                        || group.notified_firing.contains(&fp);
                    if !muted || told {
                        resolved.push(alert);
                    }
                } else if !muted {
                    firing.push(alert);
                }
            }
            let mut firing_fps: Vec<Fingerprint> =
                firing.iter().map(|a| a.labels.fingerprint()).collect();
            firing_fps.sort_unstable();
            let mut resolved_fps: Vec<Fingerprint> =
                resolved.iter().map(|a| a.labels.fingerprint()).collect();
            resolved_fps.sort_unstable();
            let Some(mut reason) = needs_update(
                entry.as_ref(),
                &firing_fps,
                &resolved_fps,
                integration.send_resolved(),
                node.repeat_interval,
                now,
            ) else {
                continue;
            };
            if escalated && reason != Reason::Resolved && entry.is_some() {
                reason = Reason::Escalation;
            }
            for a in &firing {
                plan.firing.insert(a.labels.fingerprint());
                plan.rank = plan.rank.max(severity_rank(&a.labels));
            }
            let mut content: Vec<NotifiedAlert> = Vec::new();
            for (alert, is_resolved, _) in &classified {
                let fp = alert.labels.fingerprint();
                if *is_resolved {
                    if integration.send_resolved() && resolved_fps.binary_search(&fp).is_ok() {
                        content.push(notified(alert, Status::Resolved));
                    }
                } else if firing_fps.binary_search(&fp).is_ok() {
                    content.push(notified(alert, Status::Firing));
                }
            }
            let log = LogEntry {
                firing: firing_fps,
                resolved: resolved_fps,
                at: now,
            };
            if content.is_empty() {
                // Alertmanager logs without sending (all resolved, resolves not wanted).
                continue;
            }
            let max = integration.max_alerts();
            let truncated = if max > 0 && content.len() > max {
                let cut = content.len() - max;
                content.truncate(max);
                cut
            } else {
                0
            };
            let notification = Notification {
                id: notification_id(&group.id, &node.receiver, index, now),
                group_key: group.key.clone(),
                group_id: group.id.clone(),
                receiver: node.receiver.clone(),
                integration: index,
                group_labels: group.labels.clone(),
                alerts: content,
                truncated_alerts: truncated,
                reason,
                created_at: now,
                external_url: config.external_url.clone(),
            };
            plan.items.push((notification, log));
        }
        Some(plan)
    }
}

/// A due group another replica owns: never planned. Its alerts stay for a
/// takeover, except those resolved for longer than the route's
/// `group_interval` (their owner has had a flush to send the resolve); it
/// is looked at again a `group_interval` later, and forgotten once empty.
fn keep_for_takeover(state: &mut State, id: GroupId, now: Millis) {
    let config = Arc::clone(&state.config);
    let Some(group) = state.groups.get_mut(&id) else {
        return;
    };
    let node = config.routes.node(group.route);
    group.owned = false;
    group.alerts.retain(|fp, alert| {
        let long_resolved = alert.ends_at.saturating_add(node.group_interval) <= now;
        if long_resolved {
            group.notified_firing.remove(fp);
        }
        !long_resolved
    });
    if group.alerts.is_empty() {
        let group_id = group.id.clone();
        state.groups.remove(&id);
        state.by_id.remove(&group_id);
        return;
    }
    state.schedule(id, now.saturating_add(node.group_interval));
}

/// After the sink committed a plan: drop the resolved alerts that were
/// flushed (unless updated since), remember what was told, schedule the
/// next tick or delete the empty group.
fn finish(state: &mut State, plan: Plan, now: Millis) {
    let config = Arc::clone(&state.config);
    let Some(group) = state.groups.get_mut(&plan.group) else {
        return;
    };
    let node = config.routes.node(group.route);
    group.has_flushed = true;
    group.escalated = false;
    if !plan.items.is_empty() {
        group.notified_firing = plan.firing;
        group.notified_rank = plan.rank;
    }
    for (fp, updated_at) in plan.resolved {
        if group
            .alerts
            .get(&fp)
            .is_some_and(|a| a.updated_at == updated_at && a.is_resolved_at(now))
        {
            group.alerts.remove(&fp);
            group.notified_firing.remove(&fp);
        }
    }
    if group.alerts.is_empty() {
        let id = group.id.clone();
        state.groups.remove(&plan.group);
        state.by_id.remove(&id);
        return;
    }
    let mut next = now + node.group_interval;
    // A notified firing alert that times out resolves without any event:
    // look at it right after its end.
    for fp in &group.notified_firing {
        if let Some(alert) = group.alerts.get(fp)
            && alert.ends_at > now
        {
            next = next.min(alert.ends_at + node.resolve_wait);
        }
    }
    state.schedule(plan.group, next);
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
