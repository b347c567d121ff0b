//! A klaxon cluster coordinated through etcd: membership (one lease per
//! replica), who owns which rule group and notifier shard (rendezvous
//! hashing with a load cap, among the replicas that run the same
//! configuration), claims in etcd that make ownership exclusive, writes
//! fenced on those claims, and the local lease deadline that stops a
//! replica cut off from etcd.
//!
//! The cluster knows bytes and names, not alerts: the evaluator and the
//! notifier define what they need as traits (`eval::ownership`,
//! `notify::cluster`), and the wiring (`serve/cluster.rs`) implements them
//! over this module. `etcd.rs` is the only file that speaks etcd.
//!
//! Keys, under `/klaxon/<cluster name>/`:
//! - `members/<replica>` (on the replica's lease): its API URL and
//!   configuration hash;
//! - `claims/<kind>/<item>` (on the owner's lease): who owns a group or a
//!   shard; the key's create revision is the fencing token;
//! - `handover/<kind>/<item>`: the last round of a group handed over in
//!   order, so its new owner does not evaluate the same slot again;
//! - collections the wiring keeps (`state/`, `nlog/`, `outbox/`,
//!   `silences/`), written through [`Cluster::fenced`] or [`Cluster::put`].

pub mod assign;
pub mod etcd;
pub mod metrics;
mod status;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use etcd::{Change, Entry, Etcd, EtcdOptions, Guard, Write};
use metrics::ClusterMetrics;
pub use status::{ClusterStatus, MemberStatus};

/// A boxed future, for the traits the wiring implements.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What went wrong talking to the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// etcd did not answer, or answered with an error.
    #[error("{0}")]
    Etcd(String),
    /// This replica does not hold the claim the write depends on (it moved
    /// to another replica, or its lease expired): the write was refused.
    #[error("{0} is no longer owned by this replica; the write was refused")]
    Fenced(String),
    /// A setting is unusable.
    #[error("{0}")]
    Config(String),
}

/// The two kinds of work replicas share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkKind {
    /// A rule group: evaluated by exactly one replica.
    Group,
    /// A notifier shard: a slice of the aggregation groups, flushed (sent)
    /// by exactly one replica.
    Shard,
}

impl WorkKind {
    /// `group` or `shard`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::Group => "group",
            WorkKind::Shard => "shard",
        }
    }

    const ALL: [WorkKind; 2] = [WorkKind::Group, WorkKind::Shard];
}

fn claim_key(kind: WorkKind, item: &str) -> String {
    format!("claims/{}/{item}", kind.as_str())
}

fn handover_key(kind: WorkKind, item: &str) -> String {
    format!("handover/{}/{item}", kind.as_str())
}

/// How this replica joins the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// etcd endpoints and credentials.
    pub etcd: EtcdOptions,
    /// `--cluster.name`: the key prefix, so clusters can share one etcd.
    pub name: String,
    /// `--cluster.replica`: this replica's name, unique in the cluster.
    pub replica: String,
    /// `--cluster.lease-ttl`.
    pub lease_ttl: Duration,
    /// The URL other replicas reach this one's API at.
    pub advertise_url: String,
    /// How many notifier shards the aggregation groups are spread over.
    pub shards: u32,
}

/// Asks another replica whether it is in contact with etcd: how a replica
/// that lost etcd tells "I am cut off" (someone else is fine: stop) from
/// "etcd lost quorum" (nobody is: keep alerting, degraded).
pub trait PeerProbe: Send + Sync {
    /// Some(true) when the replica at `url` reports recent contact with
    /// etcd; None when it cannot be asked.
    fn in_contact(&self, url: &str) -> BoxFuture<'_, Option<bool>>;
}

/// A replica's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberRecord {
    replica: String,
    url: String,
    config_hash: String,
}

/// A registered replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name.
    pub replica: String,
    /// Its API's URL.
    pub url: String,
    /// Hash of the configuration it runs.
    pub config_hash: String,
    /// Its lease.
    pub lease: i64,
    /// Revision of its last registration.
    pub revision: i64,
}

/// Where this replica stands with etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Lease alive: owns and works as assigned.
    Connected,
    /// Its lease deadline passed while other replicas still reach etcd:
    /// it evaluates and sends nothing (its work has moved).
    CutOff,
    /// Nobody reaches etcd (quorum lost): it keeps doing what it last
    /// owned, so alerting does not stop.
    Degraded,
}

impl Health {
    /// `connected`, `cut_off`, `degraded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Connected => "connected",
            Health::CutOff => "cut_off",
            Health::Degraded => "degraded",
        }
    }
}

/// A claim this replica holds.
#[derive(Debug, Clone)]
struct Held {
    /// The claim key's create revision: the fencing token.
    revision: i64,
    /// The evaluator/notifier has loaded the item's state.
    loaded: bool,
    /// A round is running: not handed over until it ends.
    busy: bool,
    /// The last round evaluated here, written at handover.
    last_round: Option<i64>,
    /// The previous owner handed over (not died): its last round.
    handed_over: Option<i64>,
}

/// A claim someone holds, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    replica: String,
    revision: i64,
}

/// Whether this replica holds an item, and whether its state is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// Not this replica's (or it is cut off).
    No,
    /// Just claimed: load the state first. `handed_over` is the previous
    /// owner's last round when it handed the item over in order (None:
    /// it died, or nobody held it).
    Claimed {
        /// The previous owner's last round.
        handed_over: Option<i64>,
    },
    /// Held and loaded.
    Loaded,
}

/// A change in a collection the wiring subscribed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionEvent {
    /// Everything the collection holds (after a (re)connect): replace.
    Snapshot(Vec<Entry>),
    /// One key created or changed (key relative to the collection).
    Put(Entry),
    /// One key deleted.
    Delete(String),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Handover {
    last_round: i64,
    claim_revision: i64,
}

struct Inner {
    /// What the assignment was last computed from (eligible replicas, work
    /// version): it is computed again only when they change.
    assigned_for: Option<(String, u64)>,
    /// Bumped by every [`Cluster::set_work`].
    work_version: u64,
    lease: i64,
    /// When the lease runs out by this replica's own clock (conservative:
    /// measured from when the renewal was sent).
    deadline: Option<Instant>,
    /// Last answer from etcd, error or not.
    last_contact: Option<Instant>,
    health: Health,
    /// Degraded, and other replicas reach etcd again: by then this
    /// replica's own renewal must have got through, or it is cut off.
    reconnect_by: Option<Instant>,
    config_hash: String,
    work: BTreeMap<WorkKind, Vec<String>>,
    members: BTreeMap<String, Member>,
    holders: HashMap<(WorkKind, String), Holder>,
    /// The create revision of the last claim seen on each item, kept after
    /// it is deleted: tells a handover from a death.
    last_holder_revision: HashMap<(WorkKind, String), i64>,
    handovers: HashMap<(WorkKind, String), Handover>,
    held: HashMap<(WorkKind, String), Held>,
    assignment: HashMap<(WorkKind, String), String>,
    subscribers: Vec<(String, mpsc::UnboundedSender<CollectionEvent>)>,
}

/// This replica's membership of the cluster.
pub struct Cluster {
    etcd: Etcd,
    options: ClusterOptions,
    metrics: ClusterMetrics,
    probe: Arc<dyn PeerProbe>,
    inner: Mutex<Inner>,
    changes: watch::Sender<u64>,
    wake: Notify,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("replica", &self.options.replica)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Sets up the client. Nothing is registered until [`Cluster::start`].
    pub async fn connect(
        options: ClusterOptions,
        metrics: ClusterMetrics,
        probe: Arc<dyn PeerProbe>,
        config_hash: String,
    ) -> Result<Arc<Cluster>, ClusterError> {
        if options.replica.is_empty() || options.replica.contains('/') {
            return Err(ClusterError::Config(format!(
                "--cluster.replica {:?} must be a non-empty name without '/'",
                options.replica
            )));
        }
        let prefix = format!("/klaxon/{}/", options.name);
        let etcd = Etcd::connect(&options.etcd, prefix, metrics.clone()).await?;
        Ok(Arc::new(Cluster {
            etcd,
            options,
            metrics,
            probe,
            inner: Mutex::new(Inner {
                lease: 0,
                deadline: None,
                last_contact: None,
                health: Health::Connected,
                reconnect_by: None,
                config_hash,
                work: BTreeMap::new(),
                members: BTreeMap::new(),
                holders: HashMap::new(),
                last_holder_revision: HashMap::new(),
                handovers: HashMap::new(),
                held: HashMap::new(),
                assigned_for: None,
                work_version: 0,
                assignment: HashMap::new(),
                subscribers: Vec::new(),
            }),
            changes: watch::channel(0).0,
            wake: Notify::new(),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This replica's name.
    pub fn replica(&self) -> &str {
        &self.options.replica
    }

    /// The options it joined with.
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    /// The metrics.
    pub fn metrics(&self) -> &ClusterMetrics {
        &self.metrics
    }

    /// Registers, waits (up to `wait`) for a first answer from etcd, and
    /// starts keeping the lease, watching and claiming until `stop`.
    pub async fn start(self: &Arc<Self>, stop: watch::Receiver<bool>, wait: Duration) {
        if let Err(e) = tokio::time::timeout(wait, self.register())
            .await
            .unwrap_or_else(|_| Err(ClusterError::Etcd("etcd did not answer in time".into())))
        {
            tracing::error!(error = %e, "cannot join the cluster yet; this replica owns nothing until etcd answers");
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.push(tokio::spawn(Arc::clone(self).keep_lease(stop.clone())));
        tasks.push(tokio::spawn(Arc::clone(self).watch_deadline(stop.clone())));
        tasks.push(tokio::spawn(Arc::clone(self).watch_loop(stop.clone())));
        tasks.push(tokio::spawn(Arc::clone(self).claim_loop(stop)));
    }

    /// Leaves: revokes the lease so claims move at once rather than after
    /// the TTL. Call after the evaluator and notifier stopped.
    pub async fn leave(&self) {
        let lease = self.lock().lease;
        for t in std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner())) {
            t.abort();
        }
        if lease != 0 {
            match tokio::time::timeout(Duration::from_secs(2), self.etcd.revoke(lease)).await {
                Ok(Ok(())) => tracing::info!("left the cluster; its work moves to the others now"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not revoke the lease; its work moves when it expires")
                }
                Err(_) => tracing::warn!(
                    "etcd did not answer the lease revocation; its work moves when the lease expires"
                ),
            }
        }
    }

    async fn register(&self) -> Result<(), ClusterError> {
        let sent = Instant::now();
        let (lease, ttl) = self.etcd.grant(self.options.lease_ttl).await?;
        {
            let mut inner = self.lock();
            inner.lease = lease;
            inner.deadline = Some(sent + ttl);
            inner.last_contact = Some(Instant::now());
            // Claims rode on the old lease: they are gone.
            inner.held.clear();
        }
        self.put_member().await?;
        self.bump();
        tracing::info!(replica = %self.options.replica, lease, "joined the cluster");
        Ok(())
    }

    async fn put_member(&self) -> Result<(), ClusterError> {
        let (lease, record) = {
            let inner = self.lock();
            (
                inner.lease,
                MemberRecord {
                    replica: self.options.replica.clone(),
                    url: self.options.advertise_url.clone(),
                    config_hash: inner.config_hash.clone(),
                },
            )
        };
        let value = serde_json::to_vec(&record).map_err(|e| ClusterError::Etcd(e.to_string()))?;
        self.etcd
            .txn(
                &[],
                &[Write::Put {
                    key: format!("members/{}", self.options.replica),
                    value,
                    leased: true,
                }],
                lease,
            )
            .await
            .map(|_| ())
    }

    /// The work of a (new) configuration: the rule groups it evaluates and
    /// its hash. Ownership is recomputed at once.
    pub async fn set_work(&self, config_hash: String, groups: Vec<String>) {
        let changed = {
            let mut inner = self.lock();
            inner.work_version += 1;
            inner.work.insert(WorkKind::Group, groups);
            inner.work.insert(
                WorkKind::Shard,
                (0..self.options.shards).map(|s| s.to_string()).collect(),
            );
            let changed = inner.config_hash != config_hash;
            inner.config_hash = config_hash;
            changed
        };
        if changed && let Err(e) = self.put_member().await {
            tracing::warn!(error = %e, "could not register the new configuration hash in etcd; retrying with the lease");
        }
        self.wake.notify_one();
    }

    /// Bumped whenever what this replica holds may have changed.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Whether this replica holds `item` now (and is not cut off).
    pub fn holding(&self, kind: WorkKind, item: &str) -> Holding {
        let inner = self.lock();
        if inner.health == Health::CutOff {
            return Holding::No;
        }
        match inner.held.get(&(kind, item.to_string())) {
            None => Holding::No,
            Some(h) if h.loaded => Holding::Loaded,
            Some(h) => Holding::Claimed {
                handed_over: h.handed_over,
            },
        }
    }

    /// The items of `kind` this replica holds.
    pub fn held(&self, kind: WorkKind) -> Vec<String> {
        let inner = self.lock();
        if inner.health == Health::CutOff {
            return Vec::new();
        }
        inner
            .held
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, item)| item.clone())
            .collect()
    }

    /// Before a round of a group: whether this replica holds it, and when
    /// it is held and loaded, marks it busy in the same step (a release
    /// decided in between would hand over a group that is being evaluated).
    pub fn begin_round(&self, kind: WorkKind, item: &str) -> Holding {
        let mut inner = self.lock();
        if inner.health == Health::CutOff {
            return Holding::No;
        }
        match inner.held.get_mut(&(kind, item.to_string())) {
            None => Holding::No,
            Some(h) if h.loaded => {
                h.busy = true;
                Holding::Loaded
            }
            Some(h) => Holding::Claimed {
                handed_over: h.handed_over,
            },
        }
    }

    /// The group's state was loaded for its first round here: marks it
    /// loaded and busy, in one step. False when it is no longer held (it
    /// was released or lost meanwhile): then it must not be evaluated.
    pub fn loaded_for_round(&self, kind: WorkKind, item: &str) -> bool {
        let mut inner = self.lock();
        if inner.health == Health::CutOff {
            return false;
        }
        match inner.held.get_mut(&(kind, item.to_string())) {
            Some(h) => {
                h.loaded = true;
                h.busy = true;
                true
            }
            None => false,
        }
    }

    /// The wiring loaded the item's state: from now on it is worked on.
    pub fn mark_loaded(&self, kind: WorkKind, item: &str) {
        if let Some(h) = self.lock().held.get_mut(&(kind, item.to_string())) {
            h.loaded = true;
        }
    }

    /// A round of a group starts (busy) or ends (with its slot): a group is
    /// never handed over in the middle of a round.
    pub fn set_busy(&self, kind: WorkKind, item: &str, busy: bool, round: Option<i64>) {
        let release = {
            let mut inner = self.lock();
            let Some(h) = inner.held.get_mut(&(kind, item.to_string())) else {
                return;
            };
            h.busy = busy;
            if round.is_some() {
                h.last_round = round;
            }
            !busy
                && inner
                    .assignment
                    .get(&(kind, item.to_string()))
                    .is_some_and(|owner| *owner != self.options.replica)
        };
        if release {
            self.wake.notify_one();
        }
    }

    /// Whether any replica's state is degraded (this one's view).
    pub fn health(&self) -> Health {
        self.lock().health
    }

    /// Recent contact with etcd: what [`PeerProbe`] asks of other replicas.
    pub fn in_contact(&self) -> bool {
        let inner = self.lock();
        inner.health == Health::Connected
            && inner
                .last_contact
                .is_some_and(|t| t.elapsed() < self.options.lease_ttl / 2)
    }

    /// The live members.
    pub fn members(&self) -> Vec<Member> {
        self.lock().members.values().cloned().collect()
    }

    /// The other live members' API URLs (for relaying alerts).
    pub fn peer_urls(&self) -> Vec<String> {
        self.lock()
            .members
            .values()
            .filter(|m| m.replica != self.options.replica)
            .map(|m| m.url.clone())
            .collect()
    }

    /// Writes `writes` only while this replica holds `item`'s claim. A
    /// refusal drops the claim locally (its work moves on).
    pub async fn fenced(
        &self,
        kind: WorkKind,
        item: &str,
        writes: Vec<Write>,
    ) -> Result<(), ClusterError> {
        let (revision, lease) = {
            let inner = self.lock();
            let held = inner.held.get(&(kind, item.to_string()));
            match held {
                Some(h) if inner.health != Health::CutOff => (h.revision, inner.lease),
                _ => {
                    self.metrics
                        .fencing_rejections
                        .get_or_create(&ClusterMetrics::kind(kind))
                        .inc();
                    return Err(ClusterError::Fenced(format!("{} {item}", kind.as_str())));
                }
            }
        };
        let guards = [Guard::CreatedAt(claim_key(kind, item), revision)];
        match self.etcd.txn(&guards, &writes, lease).await? {
            Some(_) => Ok(()),
            None => {
                self.metrics
                    .fencing_rejections
                    .get_or_create(&ClusterMetrics::kind(kind))
                    .inc();
                let lost = {
                    let mut inner = self.lock();
                    let key = (kind, item.to_string());
                    let lost = inner.held.get(&key).is_some_and(|h| h.revision == revision);
                    if lost {
                        inner.held.remove(&key);
                    }
                    lost
                };
                if lost {
                    self.bump();
                }
                Err(ClusterError::Fenced(format!("{} {item}", kind.as_str())))
            }
        }
    }

    /// Writes without a claim (silences: any replica may write them).
    pub async fn put(&self, writes: Vec<Write>) -> Result<(), ClusterError> {
        let lease = self.lock().lease;
        self.etcd.txn(&[], &writes, lease).await.map(|_| ())
    }

    /// Everything under `prefix` (relative to the cluster's prefix).
    pub async fn range(&self, prefix: &str) -> Result<Vec<Entry>, ClusterError> {
        self.etcd.range(prefix).await.map(|(entries, _)| entries)
    }

    /// Follows a collection (`"silences/"`, `"nlog/"`): a snapshot at once
    /// when already connected and after every reconnect, then each change.
    pub fn subscribe(&self, collection: &str) -> mpsc::UnboundedReceiver<CollectionEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().subscribers.push((collection.to_string(), tx));
        self.wake.notify_one();
        rx
    }

    async fn keep_lease(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let every = (self.options.lease_ttl / 3).max(Duration::from_millis(200));
        // After a failed renewal (an etcd election, a member gone), the
        // next one is tried soon, on the next endpoint: waiting a whole
        // period would leave one more try before the deadline.
        let retry = every / 4;
        let mut pause = every;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            pause = every;
            let lease = self.lock().lease;
            let sent = Instant::now();
            let result = if lease == 0 {
                self.register().await.map(|()| self.options.lease_ttl)
            } else {
                self.etcd.keep_alive(lease).await
            };
            match result {
                Ok(ttl) if ttl.is_zero() => {
                    tracing::warn!(
                        "this replica's lease expired (it was cut off from etcd); joining again"
                    );
                    if let Err(e) = self.register().await {
                        tracing::warn!(error = %e, "cannot join the cluster again yet");
                    }
                    self.set_health(Health::Connected);
                }
                Ok(ttl) => {
                    {
                        let mut inner = self.lock();
                        inner.deadline = Some(sent + ttl);
                        inner.last_contact = Some(Instant::now());
                    }
                    self.set_health(Health::Connected);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew this replica's lease");
                    self.judge_lost_contact().await;
                    pause = retry;
                }
            }
        }
    }

    /// How long before its local lease deadline a replica that has not
    /// renewed asks its peers: a cut-off replica must have stopped by the
    /// time etcd expires its lease and another replica takes its work.
    fn judging_margin(&self) -> Duration {
        self.options.lease_ttl / 10
    }

    /// Judges lost contact at the local lease deadline itself: a renewal
    /// in flight (up to the request timeout) or the renewal period must not
    /// delay it past the moment etcd hands the work to others.
    async fn watch_deadline(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let idle = (self.options.lease_ttl / 3).max(Duration::from_millis(200));
        loop {
            let (deadline, health) = {
                let inner = self.lock();
                (inner.deadline, inner.health)
            };
            let wake = match deadline {
                Some(d) if health == Health::Connected => {
                    d.checked_sub(self.judging_margin()).unwrap_or(d)
                }
                _ => Instant::now() + idle,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.changed() => return,
            }
            let unchanged = {
                let inner = self.lock();
                inner.deadline == deadline && inner.health == Health::Connected
            };
            if deadline.is_some() && unchanged {
                self.judge_lost_contact().await;
            }
        }
    }

    /// At (just before) the local lease deadline: cut off (others are
    /// fine) or degraded (nobody reaches etcd).
    async fn judge_lost_contact(&self) {
        let (past_deadline, peers) = {
            let inner = self.lock();
            let judge_from = Instant::now() + self.judging_margin();
            let past = inner.deadline.is_none_or(|d| judge_from >= d);
            let peers: Vec<String> = inner
                .members
                .values()
                .filter(|m| m.replica != self.options.replica)
                .map(|m| m.url.clone())
                .collect();
            (past, peers)
        };
        if !past_deadline {
            return;
        }
        let mut someone_fine = false;
        for url in &peers {
            if self.probe.in_contact(url).await == Some(true) {
                someone_fine = true;
                break;
            }
        }
        let health = {
            let mut inner = self.lock();
            match (someone_fine, inner.health) {
                (false, _) => {
                    inner.reconnect_by = None;
                    Health::Degraded
                }
                // etcd is back for the others; it extended every lease by
                // its TTL when it elected a leader, so this replica's own
                // renewal may just be a moment behind theirs. Give it half
                // a TTL (it still stops before its lease can expire).
                (true, Health::Degraded) => {
                    let now = Instant::now();
                    let by = *inner
                        .reconnect_by
                        .get_or_insert(now + self.options.lease_ttl / 2);
                    if now < by {
                        return;
                    }
                    Health::CutOff
                }
                (true, _) => Health::CutOff,
            }
        };
        self.set_health(health);
    }

    fn set_health(&self, health: Health) {
        let before = {
            let mut inner = self.lock();
            if health != Health::Degraded {
                inner.reconnect_by = None;
            }
            std::mem::replace(&mut inner.health, health)
        };
        if before == health {
            return;
        }
        self.metrics
            .degraded
            .set(i64::from(health == Health::Degraded));
        match health {
            Health::Connected => tracing::info!("in contact with etcd again"),
            Health::CutOff => tracing::error!(
                "cut off from etcd while other replicas reach it: this replica stops evaluating \
                 and sending; its work moves to the others"
            ),
            Health::Degraded => tracing::error!(
                "no replica reaches etcd (quorum lost?): this replica keeps evaluating and \
                 notifying what it owned; duplicates are possible until etcd is back"
            ),
        }
        if health == Health::CutOff {
            self.lock().held.clear();
        }
        self.bump();
        self.wake.notify_one();
    }

    async fn watch_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let result = async {
                let (entries, revision) = self.etcd.range("").await?;
                self.load_snapshot(entries);
                self.wake.notify_one();
                self.etcd
                    .watch(revision + 1, |changes| {
                        // Alert state and claimed notifications change
                        // often and decide nothing about ownership.
                        let matters = changes.iter().any(|c| {
                            let key = match c {
                                Change::Put(e) => e.key.as_str(),
                                Change::Delete(k) => k.as_str(),
                            };
                            ["members/", "claims/", "handover/"]
                                .iter()
                                .any(|p| key.starts_with(p))
                        });
                        self.apply(changes);
                        if matters {
                            self.wake.notify_one();
                        }
                    })
                    .await
            };
            tokio::select! {
                r = result => if let Err(e) = r {
                    tracing::debug!(error = %e, "cluster watch ended; listing again");
                },
                _ = stop.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Replaces the view with a full listing (after a reconnect).
    fn load_snapshot(&self, entries: Vec<Entry>) {
        let mut inner = self.lock();
        inner.members.clear();
        inner.holders.clear();
        inner.handovers.clear();
        let mut collections: Vec<Vec<Entry>> = vec![Vec::new(); inner.subscribers.len()];
        for entry in entries {
            for (i, (prefix, _)) in inner.subscribers.iter().enumerate() {
                if let Some(rest) = entry.key.strip_prefix(prefix.as_str()) {
                    collections[i].push(Entry {
                        key: rest.to_string(),
                        ..entry.clone()
                    });
                }
            }
            observe(&mut inner, Change::Put(entry));
        }
        inner.subscribers.retain(|(_, tx)| !tx.is_closed());
        for (i, (_, tx)) in inner.subscribers.iter().enumerate() {
            let _ = tx.send(CollectionEvent::Snapshot(
                collections.get(i).cloned().unwrap_or_default(),
            ));
        }
        self.metrics.members.set(inner.members.len() as i64);
    }

    fn apply(&self, changes: Vec<Change>) {
        let mut inner = self.lock();
        for change in changes {
            for (prefix, tx) in &inner.subscribers {
                let event = match &change {
                    Change::Put(e) => e.key.strip_prefix(prefix.as_str()).map(|rest| {
                        CollectionEvent::Put(Entry {
                            key: rest.to_string(),
                            ..e.clone()
                        })
                    }),
                    Change::Delete(key) => key
                        .strip_prefix(prefix.as_str())
                        .map(|rest| CollectionEvent::Delete(rest.to_string())),
                };
                if let Some(event) = event {
                    let _ = tx.send(event);
                }
            }
            observe(&mut inner, change);
        }
        self.metrics.members.set(inner.members.len() as i64);
    }

    async fn claim_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            // Every change that matters wakes the loop; the timer only
            // retries what failed.
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            if self.health() != Health::Connected {
                continue;
            }
            self.reassign();
            self.claim_and_release().await;
        }
    }

    /// Recomputes who should own what from the members and the work.
    fn reassign(&self) {
        let mut inner = self.lock();
        let candidates: Vec<assign::Candidate<'_>> = inner
            .members
            .values()
            .map(|m| assign::Candidate {
                replica: &m.replica,
                config_hash: &m.config_hash,
                revision: m.revision,
            })
            .collect();
        let eligible: Vec<String> = assign::eligible(&candidates)
            .into_iter()
            .map(str::to_string)
            .collect();
        let eligible: Vec<&str> = eligible.iter().map(String::as_str).collect();
        let inputs = (eligible.join("\u{1f}"), inner.work_version);
        if inner.assigned_for.as_ref() == Some(&inputs) {
            return;
        }
        inner.assigned_for = Some(inputs);
        let mut assignment = HashMap::new();
        for (kind, items) in &inner.work {
            for (item, replica) in assign::assign(items, &eligible) {
                assignment.insert((*kind, item.to_string()), replica);
            }
        }
        inner.assignment = assignment;
    }

    async fn claim_and_release(&self) {
        let (stale, to_claim, to_release, lease) = {
            let inner = self.lock();
            let me = &self.options.replica;
            // Claims of this replica's earlier life (a restart within the
            // TTL): nobody works on them; free them rather than wait.
            let stale: Vec<((WorkKind, String), i64)> = inner
                .holders
                .iter()
                .filter(|(key, h)| h.replica == *me && !inner.held.contains_key(*key))
                .map(|(key, h)| (key.clone(), h.revision))
                .collect();
            let to_claim: Vec<(WorkKind, String)> = inner
                .assignment
                .iter()
                .filter(|(key, owner)| {
                    *owner == me
                        && !inner.held.contains_key(key)
                        && !inner.holders.contains_key(key)
                })
                .map(|(key, _)| key.clone())
                .collect();
            let configured: BTreeSet<(WorkKind, &String)> = inner
                .work
                .iter()
                .flat_map(|(k, items)| items.iter().map(move |i| (*k, i)))
                .collect();
            let to_release: Vec<((WorkKind, String), Held)> = inner
                .held
                .iter()
                .filter(|((kind, item), h)| {
                    !h.busy
                        && (inner.assignment.get(&(*kind, item.clone())) != Some(me)
                            || !configured.contains(&(*kind, item)))
                })
                .map(|(k, h)| (k.clone(), h.clone()))
                .collect();
            (stale, to_claim, to_release, inner.lease)
        };
        if lease == 0 {
            return;
        }
        let mut changed = false;
        for ((kind, item), revision) in stale {
            let key = claim_key(kind, &item);
            let guards = [Guard::CreatedAt(key.clone(), revision)];
            if let Err(e) = self.etcd.txn(&guards, &[Write::Delete(key)], lease).await {
                tracing::warn!(error = %e, "cannot free a claim of this replica's earlier life");
                break;
            }
        }
        for ((kind, item), _) in to_release {
            // Out of `held` before etcd is asked, not after: a round must
            // not begin on an item being handed over (its new owner would
            // evaluate the same slot again). One at a time, so the others
            // are evaluated here meanwhile; put back if the release fails.
            let taken = {
                let mut inner = self.lock();
                let key = (kind, item.clone());
                match inner.held.get(&key) {
                    Some(h) if !h.busy && inner.lease == lease => inner.held.remove(&key),
                    _ => None,
                }
            };
            let Some(held) = taken else {
                continue;
            };
            let mut writes = vec![Write::Delete(claim_key(kind, &item))];
            if let Some(last_round) = held.last_round {
                let record = Handover {
                    last_round,
                    claim_revision: held.revision,
                };
                if let Ok(value) = serde_json::to_vec(&record) {
                    writes.push(Write::Put {
                        key: handover_key(kind, &item),
                        value,
                        leased: false,
                    });
                }
            }
            let guards = [Guard::CreatedAt(claim_key(kind, &item), held.revision)];
            match self.etcd.txn(&guards, &writes, lease).await {
                Ok(_) => {
                    self.metrics
                        .releases
                        .get_or_create(&ClusterMetrics::kind(kind))
                        .inc();
                    tracing::debug!(kind = kind.as_str(), item = %item, "handed over");
                    changed = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = kind.as_str(), item = %item, "cannot hand over; retrying");
                    let mut inner = self.lock();
                    if inner.lease == lease {
                        inner.held.insert((kind, item), held);
                    }
                    break;
                }
            }
        }
        for (kind, item) in to_claim {
            let key = claim_key(kind, &item);
            let writes = [Write::Put {
                key: key.clone(),
                value: self.options.replica.clone().into_bytes(),
                leased: true,
            }];
            match self.etcd.txn(&[Guard::Absent(key)], &writes, lease).await {
                Ok(Some(revision)) => {
                    let mut inner = self.lock();
                    let k = (kind, item.clone());
                    let previous = inner.last_holder_revision.get(&k).copied();
                    let handed_over = inner
                        .handovers
                        .get(&k)
                        .filter(|h| previous == Some(h.claim_revision))
                        .map(|h| h.last_round);
                    if previous.is_some() && handed_over.is_none() {
                        self.metrics
                            .takeovers
                            .get_or_create(&ClusterMetrics::kind(kind))
                            .inc();
                    }
                    inner.held.insert(
                        k,
                        Held {
                            revision,
                            loaded: false,
                            busy: false,
                            last_round: None,
                            handed_over,
                        },
                    );
                    self.metrics
                        .claims
                        .get_or_create(&ClusterMetrics::kind(kind))
                        .inc();
                    changed = true;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim work; retrying");
                    break;
                }
            }
        }
        {
            let inner = self.lock();
            for kind in WorkKind::ALL {
                let n = inner.held.keys().filter(|(k, _)| *k == kind).count();
                self.metrics
                    .owned
                    .get_or_create(&ClusterMetrics::kind(kind))
                    .set(n as i64);
            }
        }
        if changed {
            self.bump();
        }
    }
}

/// Folds one change into the view of members, claims and handovers.
fn observe(inner: &mut Inner, change: Change) {
    match change {
        Change::Put(entry) => {
            if let Some(name) = entry.key.strip_prefix("members/") {
                if let Ok(record) = serde_json::from_slice::<MemberRecord>(&entry.value) {
                    inner.members.insert(
                        name.to_string(),
                        Member {
                            replica: record.replica,
                            url: record.url,
                            config_hash: record.config_hash,
                            lease: entry.lease,
                            revision: entry.mod_revision,
                        },
                    );
                } else {
                    tracing::warn!(key = %entry.key, "ignoring a member record klaxon cannot read");
                }
            } else if let Some((kind, item)) = work_key(&entry.key, "claims/") {
                let replica = String::from_utf8_lossy(&entry.value).into_owned();
                inner
                    .last_holder_revision
                    .insert((kind, item.clone()), entry.create_revision);
                inner.holders.insert(
                    (kind, item),
                    Holder {
                        replica,
                        revision: entry.create_revision,
                    },
                );
            } else if let Some((kind, item)) = work_key(&entry.key, "handover/")
                && let Ok(record) = serde_json::from_slice::<Handover>(&entry.value)
            {
                inner.handovers.insert((kind, item), record);
            }
        }
        Change::Delete(key) => {
            if let Some(name) = key.strip_prefix("members/") {
                inner.members.remove(name);
            } else if let Some(k) = work_key(&key, "claims/") {
                inner.holders.remove(&k);
            }
        }
    }
}

fn work_key(key: &str, prefix: &str) -> Option<(WorkKind, String)> {
    let rest = key.strip_prefix(prefix)?;
    let (kind, item) = rest.split_once('/')?;
    let kind = match kind {
        "group" => WorkKind::Group,
        "shard" => WorkKind::Shard,
        _ => return None,
    };
    Some((kind, item.to_string()))
}
