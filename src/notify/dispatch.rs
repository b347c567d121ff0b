//! Routing, grouping, inhibition and the flush decision: Alertmanager 0.25's
//! dispatcher and notification pipeline (route tree, aggregation groups with
//! `group_wait`/`group_interval`/`repeat_interval`, inhibit and silence
//! muting, time windows, dedupe against the notification log), with the
//! fixes its users ask for:
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

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{Notify, mpsc, watch};

use super::alert::{Fingerprint, LabelSet, Millis, NotifyAlert, severity_rank};
use super::notification::{Notification, NotifiedAlert, Reason, Status};
use super::outbox::LogEntry;
use super::receivers::{BoxFuture, Receivers};
use crate::model::{self, CompiledMatcher as Matcher};

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

/// One node of the routing tree, with inherited settings applied.
#[derive(Debug, Clone)]
pub struct RouteNode {
    /// Parent node, `None` for the root.
    pub parent: Option<usize>,
    /// Children in order.
    pub children: Vec<usize>,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// Receiver name.
    pub receiver: String,
    /// Labels to group by, sorted.
    pub group_by: Vec<String>,
    /// `group_by ...`.
    pub group_by_all: bool,
    /// Milliseconds before a new group's first notification.
    pub group_wait: Millis,
    /// Milliseconds between notifications about a changing group.
    pub group_interval: Millis,
    /// Milliseconds before an unchanged notification is repeated.
    pub repeat_interval: Millis,
    /// Milliseconds after a notified alert resolves before its group flushes.
    pub resolve_wait: Millis,
    /// Keep matching siblings.
    pub continue_: bool,
    /// Time windows that mute this route.
    pub mute_during: Vec<String>,
    /// Time windows outside which this route is muted.
    pub active_during: Vec<String>,
    /// Alertmanager's route key (`{}/{severity="critical"}`), the first half
    /// of every group key.
    pub key: String,
    /// Alertmanager's route ID: the key with each route's position among
    /// its siblings (`{}/{severity="critical"}/1`), unique in the tree.
    pub id: String,
    /// What keeps this node's groups apart from every other node's in the
    /// notification log and the outbox: the key when no other node shares
    /// it (so logs written before route IDs existed still apply), else the
    /// ID. Two sibling routes with the same matchers share a key, and each
    /// must notify its own receiver.
    pub lane: String,
}

/// The routing tree, flattened.
#[derive(Debug, Clone)]
pub struct RouteTree {
    nodes: Vec<RouteNode>,
}

impl RouteTree {
    /// Builds the tree from the model's root route.
    pub fn new(root: &model::Route) -> RouteTree {
        let mut tree = RouteTree { nodes: Vec::new() };
        tree.add(root, None);
        let mut key_uses: HashMap<&str, usize> = HashMap::new();
        for node in &tree.nodes {
            *key_uses.entry(node.key.as_str()).or_default() += 1;
        }
        let lanes: Vec<String> = tree
            .nodes
            .iter()
            .map(|n| match key_uses.get(n.key.as_str()) {
                Some(1) => n.key.clone(),
                _ => n.id.clone(),
            })
            .collect();
        for (node, lane) in tree.nodes.iter_mut().zip(lanes) {
            node.lane = lane;
        }
        tree
    }

    fn add(&mut self, route: &model::Route, parent: Option<(usize, usize)>) -> usize {
        let mut matchers = route.matchers.clone();
        // Alertmanager sorts a route's matchers (name, value, type) for its key.
        matchers.sort_by(|a, b| {
            (a.name.as_str(), a.value.as_str(), op_rank(a.op)).cmp(&(
                b.name.as_str(),
                b.value.as_str(),
                op_rank(b.op),
            ))
        });
        let own = format!(
            "{{{}}}",
            matchers
                .iter()
                .map(|m| format!("{}{}{}", m.name, op_text(m.op), go_quote(&m.value)))
                .collect::<Vec<_>>()
                .join(",")
        );
        let (key, id) = match parent {
            Some((p, position)) => (
                format!("{}/{own}", self.nodes[p].key),
                format!("{}/{own}/{position}", self.nodes[p].id),
            ),
            None => (own.clone(), own),
        };
        let mut group_by = route.group_by.clone();
        group_by.sort();
        group_by.dedup();
        let index = self.nodes.len();
        self.nodes.push(RouteNode {
            parent: parent.map(|(p, _)| p),
            children: Vec::new(),
            matchers,
            receiver: route.receiver.clone(),
            group_by,
            group_by_all: route.group_by_all,
            group_wait: route.group_wait.0 as Millis,
            group_interval: route.group_interval.0 as Millis,
            repeat_interval: route.repeat_interval.0 as Millis,
            resolve_wait: route.resolve_wait.0 as Millis,
            continue_: route.continue_,
            mute_during: route.mute_during.clone(),
            active_during: route.active_during.clone(),
            key,
            id,
            lane: String::new(),
        });
        for (position, child) in route.routes.iter().enumerate() {
            let c = self.add(child, Some((index, position)));
            self.nodes[index].children.push(c);
        }
        index
    }

    /// A node by index.
    pub fn node(&self, index: usize) -> &RouteNode {
        &self.nodes[index]
    }

    /// The nodes an alert is routed to, in order (Alertmanager's
    /// `Route.Match`: depth first; a matching child stops the search among
    /// its siblings unless it has `continue`; a node none of whose children
    /// match is itself the match).
    pub fn matching(&self, labels: &LabelSet) -> Vec<usize> {
        let mut out = Vec::new();
        if !self.nodes.is_empty() {
            self.match_node(0, labels, &mut out);
        }
        out
    }

    fn match_node(&self, index: usize, labels: &LabelSet, out: &mut Vec<usize>) -> bool {
        let node = &self.nodes[index];
        if !node
            .matchers
            .iter()
            .all(|m| m.matches(labels.value(&m.name)))
        {
            return false;
        }
        let before = out.len();
        for &child in &node.children {
            let matched = self.match_node(child, labels, out);
            if matched && !self.nodes[child].continue_ {
                break;
            }
        }
        if out.len() == before {
            out.push(index);
        }
        true
    }

    /// The receivers an alert goes to, in routing order (duplicates kept, as
    /// Alertmanager's API lists them).
    pub fn receivers_for(&self, labels: &LabelSet) -> Vec<String> {
        self.matching(labels)
            .into_iter()
            .map(|i| self.nodes[i].receiver.clone())
            .collect()
    }

    /// The group labels of an alert at a node.
    fn group_labels(&self, index: usize, labels: &LabelSet) -> LabelSet {
        let node = &self.nodes[index];
        if node.group_by_all {
            labels.clone()
        } else {
            labels.project(node.group_by.iter().map(String::as_str))
        }
    }
}

fn op_rank(op: model::MatchOp) -> u8 {
    match op {
        model::MatchOp::Eq => 0,
        model::MatchOp::Ne => 1,
        model::MatchOp::Re => 2,
        model::MatchOp::NotRe => 3,
    }
}

fn op_text(op: model::MatchOp) -> &'static str {
    match op {
        model::MatchOp::Eq => "=",
        model::MatchOp::Ne => "!=",
        model::MatchOp::Re => "=~",
        model::MatchOp::NotRe => "!~",
    }
}

/// Go's `%q` for the ASCII cases route keys meet.
fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One inhibition rule with its cache of source alerts, indexed by the
/// values of the `equal` labels so a check costs one hash lookup.
#[derive(Debug)]
struct InhibitRule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
    sources: HashMap<Fingerprint, Arc<NotifyAlert>>,
    by_equal: HashMap<u64, HashSet<Fingerprint>>,
}

fn matches_all(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches(labels.value(&m.name)))
}

impl InhibitRule {
    fn equal_key(&self, labels: &LabelSet) -> u64 {
        let mut h = fnv::FnvHasher::default();
        for name in &self.equal {
            h.write(labels.value(name).as_bytes());
            h.write(&[0xFF]);
        }
        h.finish()
    }

    fn observe(&mut self, alert: &Arc<NotifyAlert>, now: Millis) {
        let fp = alert.labels.fingerprint();
        let is_source = matches_all(&self.source, &alert.labels) && !alert.is_resolved_at(now);
        if is_source {
            if self.sources.insert(fp, Arc::clone(alert)).is_none() {
                let key = self.equal_key(&alert.labels);
                self.by_equal.entry(key).or_default().insert(fp);
            }
        } else if self.sources.remove(&fp).is_some() {
            let key = self.equal_key(&alert.labels);
            if let Some(set) = self.by_equal.get_mut(&key) {
                set.remove(&fp);
                if set.is_empty() {
                    self.by_equal.remove(&key);
                }
            }
        }
    }

    /// Alertmanager's `hasEqual` with its two-sided exclusion: an alert that
    /// matches both source and target is never inhibited by another alert
    /// that also matches both, so a rule cannot make an alert mute itself.
    fn inhibited_by(&self, labels: &LabelSet, now: Millis) -> Option<Fingerprint> {
        if !matches_all(&self.target, labels) {
            return None;
        }
        let two_sided = matches_all(&self.source, labels);
        let candidates = self.by_equal.get(&self.equal_key(labels))?;
        let mut best: Option<Fingerprint> = None;
        for fp in candidates {
            let Some(source) = self.sources.get(fp) else {
                continue;
            };
            if source.is_resolved_at(now) {
                continue;
            }
            if self
                .equal
                .iter()
                .any(|n| source.labels.value(n) != labels.value(n))
            {
                continue;
            }
            if two_sided && matches_all(&self.target, &source.labels) {
                continue;
            }
            best = Some(best.map_or(*fp, |b: Fingerprint| b.min(*fp)));
        }
        best
    }
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
    pub fn new(rules: &model::RuleSet, receivers: Receivers, external_url: String) -> Self {
        let routes = match &rules.route {
            Some(root) => RouteTree::new(root),
            None => RouteTree::new(&model::Route {
                matchers: Vec::new(),
                receiver: "default".to_string(),
                group_by: Vec::new(),
                group_by_all: false,
                group_wait: model::Duration(30_000),
                group_interval: model::Duration(300_000),
                repeat_interval: model::Duration(4 * 3_600_000),
                resolve_wait: model::Duration(5_000),
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
}

fn inhibit_rules(config: &DispatchConfig) -> Vec<InhibitRule> {
    config
        .inhibits
        .iter()
        .map(|i| InhibitRule {
            source: i.source.clone(),
            target: i.target.clone(),
            equal: i.equal.clone(),
            sources: HashMap::new(),
            by_equal: HashMap::new(),
        })
        .collect()
}

fn inhibited_by(rules: &[InhibitRule], labels: &LabelSet, now: Millis) -> Option<Fingerprint> {
    rules.iter().find_map(|r| r.inhibited_by(labels, now))
}

impl State {
    fn new(config: Arc<DispatchConfig>) -> State {
        State {
            config,
            groups: HashMap::new(),
            by_id: HashMap::new(),
            heap: BinaryHeap::new(),
            next_id: 1,
        }
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
    inhibit: RwLock<Vec<InhibitRule>>,
    state: Mutex<State>,
    sink: Arc<dyn Sink>,
    mutes: Arc<dyn Mutes>,
    wake: Notify,
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
    /// A dispatcher with no alerts yet.
    pub fn new(config: DispatchConfig, sink: Arc<dyn Sink>, mutes: Arc<dyn Mutes>) -> Arc<Self> {
        let config = Arc::new(config);
        Arc::new(Dispatcher {
            inhibit: RwLock::new(inhibit_rules(&config)),
            config: RwLock::new(Arc::clone(&config)),
            state: Mutex::new(State::new(config)),
            sink,
            mutes,
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take notifications down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_inhibit(&self) -> RwLockReadGuard<'_, Vec<InhibitRule>> {
        self.inhibit.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_inhibit(&self) -> RwLockWriteGuard<'_, Vec<InhibitRule>> {
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
                for rule in inhibit.iter_mut() {
                    rule.observe(alert, now);
                }
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
        {
            let mut inhibit = self.write_inhibit();
            let sources: Vec<Arc<NotifyAlert>> = inhibit
                .iter()
                .flat_map(|r| r.sources.values().cloned())
                .collect();
            *inhibit = inhibit_rules(&config);
            for alert in sources {
                for rule in inhibit.iter_mut() {
                    rule.observe(&alert, now);
                }
            }
        }
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&config);
        *state = State::new(config);
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
        let mut out: Vec<Fingerprint> = self
            .read_inhibit()
            .iter()
            .filter_map(|r| r.inhibited_by(labels, now))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every receiver name of the routing tree and of the configuration.
    pub fn receiver_names(&self) -> Vec<String> {
        let config = self.current_config();
        let mut names: Vec<String> = config.receivers.names().map(str::to_string).collect();
        names.extend(config.routes.nodes.iter().map(|n| n.receiver.clone()));
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
            let now = crate::eval::engine::now_ms();
            self.flush_due(now).await;
            let next = {
                let state = self.lock();
                state.heap.peek().map(|Reverse((at, _))| *at)
            };
            let sleep_ms = next.map_or(60_000, |at| {
                (at - crate::eval::engine::now_ms()).clamp(0, 60_000)
            });
            tokio::select! {
                batch = alerts.recv() => match batch {
                    Some(batch) => {
                        let now = crate::eval::engine::now_ms();
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
                    || inhibited_by(&self.read_inhibit(), &a.labels, now).is_some();
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
