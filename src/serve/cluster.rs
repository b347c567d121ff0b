//! The wiring of a cluster replica: the evaluator's and the notifier's
//! cluster traits implemented over [`crate::cluster::Cluster`].
//!
//! - Groups: a group is evaluated only while this replica holds its claim;
//!   a claim just taken loads the group's alert state from etcd first
//!   (`state/<group>/…`, written on transitions, fenced on the claim).
//! - Notifier shards: aggregation groups are spread over shards; only the
//!   shard's owner flushes. Each notification is claimed in etcd
//!   (`outbox/<shard>/<id>`, with its log entry under `nlog/`) before the
//!   local outbox commits it, and deleted once settled; a replica taking a
//!   shard over adopts the claims its dead owner left, with their ids.
//! - Silences are written to `silences/<id>` and applied on every replica.
//! - Alerts received here (evaluated, posted, webhooks) are relayed to
//!   every other replica, so each notifier sees every alert.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::cluster::etcd::{EtcdOptions, EtcdTls, Write};
use crate::cluster::{
    BoxFuture, Cluster, ClusterError, ClusterOptions, CollectionEvent, Health, Holding, PeerProbe,
    WorkKind, assign,
};
use crate::eval::alert::Alert;
use crate::eval::engine::StateStore;
use crate::eval::ownership::{Admission, GroupKey, GroupOwnership};
use crate::eval::persist::StateChange;
use crate::notify::Notifier;
use crate::notify::alert::NotifyAlert;
use crate::notify::cluster::{
    ClusterHooks, DeliveryListener, FlushGate, SharedLog, SilenceReplica,
};
use crate::notify::notification::Notification;
use crate::notify::outbox::LogEntry;
use crate::notify::silence::Silence;
use crate::vocab::time::Millis;

use super::ClusterServeOptions;
use super::ServeError;

/// How many notifier shards the aggregation groups are spread over: enough
/// that three to a dozen replicas share them evenly.
const SHARDS: u32 = 64;

/// Alerts per relayed request (well under the API's body limit).
const RELAY_BATCH: usize = 200;

/// How long one relayed batch may take to reach a peer.
const RELAY_TIMEOUT: Duration = Duration::from_secs(5);

/// Escapes a name for one segment of an etcd key.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            ':' => out.push_str("%3A"),
            c if c.is_control() => out.push_str(&format!("%{:02X}", c as u32 & 0xff)),
            c => out.push(c),
        }
    }
    out
}

/// A rule group's item name in the cluster.
pub(super) fn group_item(key: &GroupKey) -> String {
    format!("{}:{}", segment(&key.file), segment(&key.name))
}

fn fnv(text: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(text.as_bytes());
    h.finish()
}

/// One alert's record under `state/`: the rule key travels in the value
/// (rule keys hold any character).
#[derive(Serialize, Deserialize)]
struct StateRecord {
    rule: String,
    alert: Alert,
}

/// A claimed notification under `outbox/<shard>/<id>`.
#[derive(Serialize, Deserialize)]
struct ClaimRecord {
    owner: String,
    notification: Notification,
    log: LogEntry,
}

fn nlog_key(group_id: &str, receiver: &str, integration: usize) -> String {
    format!("{}/{}/{integration}", segment(group_id), segment(receiver))
}

/// Everything a replica's cluster wiring holds.
pub(super) struct ClusterWiring {
    pub(super) cluster: Arc<Cluster>,
    /// Rule key -> group item, for fencing the evaluator's writes.
    rule_groups: RwLock<HashMap<String, String>>,
    /// The local store, for the built-in group every replica runs alone.
    local: Arc<dyn StateStore>,
    notifier: OnceLock<Arc<Notifier>>,
    /// `nlog/` as last seen, plus this replica's own writes at once.
    nlog: RwLock<HashMap<String, LogEntry>>,
    /// Claimed, unsettled notification ids -> shard.
    claimed: Mutex<HashMap<String, u32>>,
    relay: mpsc::Sender<Vec<NotifyAlert>>,
    relay_rx: Mutex<Option<mpsc::Receiver<Vec<NotifyAlert>>>>,
    http: reqwest::Client,
    api_token: Option<String>,
    runtime: tokio::runtime::Handle,
}

/// Builds the cluster options from the command line.
fn cluster_options(
    options: &ClusterServeOptions,
    advertise_url: String,
) -> Result<ClusterOptions, ServeError> {
    let replica = match &options.replica {
        Some(name) => name.clone(),
        None => hostname().ok_or_else(|| {
            ServeError::Cluster(
                "cannot read the host name: give --cluster.replica NAME".to_string(),
            )
        })?,
    };
    let user = match (&options.etcd_user, &options.etcd_password_file) {
        (Some(user), Some(path)) => {
            let bytes = crate::user_file::read(path, crate::user_file::MAX_SMALL_FILE_BYTES)
                .map_err(|e| {
                    ServeError::Cluster(format!(
                        "--cluster.etcd-password-file {}: {e}",
                        path.display()
                    ))
                })?;
            let password = String::from_utf8(bytes).map_err(|_| {
                ServeError::Cluster(format!(
                    "--cluster.etcd-password-file {}: not UTF-8 text",
                    path.display()
                ))
            })?;
            Some((user.clone(), password.trim().to_string()))
        }
        (None, None) => None,
        _ => {
            return Err(ServeError::Cluster(
                "--cluster.etcd-user and --cluster.etcd-password-file go together".into(),
            ));
        }
    };
    let tls_wanted = options.etcd.iter().any(|e| e.starts_with("https://"))
        || options.etcd_ca.is_some()
        || options.etcd_cert.is_some();
    let tls = tls_wanted.then(|| EtcdTls {
        ca_file: options.etcd_ca.clone(),
        cert_file: options.etcd_cert.clone(),
        key_file: options.etcd_key.clone(),
    });
    for endpoint in &options.etcd {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(ServeError::Cluster(format!(
                "--cluster.etcd {endpoint:?}: an endpoint is http://host:port or https://host:port"
            )));
        }
    }
    Ok(ClusterOptions {
        etcd: EtcdOptions {
            endpoints: options.etcd.clone(),
            tls,
            user,
            request_timeout: (options.lease_ttl / 4)
                .clamp(Duration::from_millis(500), Duration::from_secs(3)),
        },
        name: options.name.clone(),
        replica,
        lease_ttl: options.lease_ttl,
        advertise_url: options.advertise_url.clone().unwrap_or(advertise_url),
        shards: SHARDS,
    })
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}

/// Asks peers over HTTP whether they reach etcd.
struct HttpProbe {
    http: reqwest::Client,
}

impl PeerProbe for HttpProbe {
    fn in_contact(&self, url: &str) -> BoxFuture<'_, Option<bool>> {
        let url = format!("{}/api/v1/status/cluster", url.trim_end_matches('/'));
        Box::pin(async move {
            let answer = self
                .http
                .get(url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .ok()?;
            let body: serde_json::Value = answer.json().await.ok()?;
            body.pointer("/data/inContact").and_then(|v| v.as_bool())
        })
    }
}

impl ClusterWiring {
    /// Connects to etcd and joins (waits a few seconds for a first answer).
    pub(super) async fn join(
        options: &ClusterServeOptions,
        advertise_url: String,
        config_hash: String,
        registry: &mut prometheus_client::registry::Registry,
        local: Arc<dyn StateStore>,
        api_token: Option<String>,
        stop: watch::Receiver<bool>,
    ) -> Result<Arc<ClusterWiring>, ServeError> {
        let options = cluster_options(options, advertise_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ServeError::Cluster(format!("cannot build the HTTP client: {e}")))?;
        let metrics = crate::cluster::metrics::ClusterMetrics::register(registry);
        let ttl = options.lease_ttl;
        let cluster = Cluster::connect(
            options,
            metrics,
            Arc::new(HttpProbe { http: http.clone() }),
            config_hash,
        )
        .await
        .map_err(|e| ServeError::Cluster(e.to_string()))?;
        cluster.start(stop, ttl).await;
        let (relay, relay_rx) = mpsc::channel(1024);
        Ok(Arc::new(ClusterWiring {
            cluster,
            rule_groups: RwLock::new(HashMap::new()),
            local,
            notifier: OnceLock::new(),
            nlog: RwLock::new(HashMap::new()),
            claimed: Mutex::new(HashMap::new()),
            relay,
            relay_rx: Mutex::new(Some(relay_rx)),
            http,
            api_token,
            runtime: tokio::runtime::Handle::current(),
        }))
    }

    /// The groups of a (new) configuration: what the cluster assigns.
    pub(super) async fn set_groups(
        &self,
        config_hash: String,
        groups: Vec<(GroupKey, Vec<String>)>,
    ) {
        let mut items = Vec::with_capacity(groups.len());
        let mut rule_groups = HashMap::new();
        for (key, rules) in groups {
            let item = group_item(&key);
            for rule in rules {
                rule_groups.insert(rule, item.clone());
            }
            items.push(item);
        }
        *self.rule_groups.write().unwrap_or_else(|e| e.into_inner()) = rule_groups;
        self.cluster.set_work(config_hash, items).await;
    }

    /// The notifier's side of the cluster.
    pub(super) fn notifier_hooks(self: &Arc<Self>) -> ClusterHooks {
        ClusterHooks {
            gate: Arc::clone(self) as Arc<dyn FlushGate>,
            log: Arc::clone(self) as Arc<dyn SharedLog>,
            delivery: Arc::clone(self) as Arc<dyn DeliveryListener>,
            silences: Arc::clone(self) as Arc<dyn SilenceReplica>,
        }
    }

    /// Starts the tasks that need the notifier: shard adoption, the
    /// notification log's mirror, silences from other replicas, the relay.
    pub(super) fn attach(self: &Arc<Self>, notifier: Arc<Notifier>, stop: watch::Receiver<bool>) {
        let _ = self.notifier.set(Arc::clone(&notifier));
        tokio::spawn(Arc::clone(self).adopt_shards(stop.clone()));
        tokio::spawn(Arc::clone(self).mirror_log(self.cluster.subscribe("nlog/")));
        tokio::spawn(Arc::clone(self).follow_silences(self.cluster.subscribe("silences/")));
        if let Some(rx) = self
            .relay_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            tokio::spawn(Arc::clone(self).relay_loop(rx, stop));
        }
    }

    /// Hands alerts received here to every other replica (evaluated,
    /// posted or from webhooks; relayed ones are not relayed again).
    pub(super) fn relay(&self, alerts: Vec<NotifyAlert>) {
        if alerts.is_empty() {
            return;
        }
        if let Err(e) = self.relay.try_send(alerts) {
            tracing::warn!(error = %e, "the relay to other replicas is behind; these alerts reach them with the next resend");
        }
    }

    async fn relay_loop(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<Vec<NotifyAlert>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut known: HashSet<String> = HashSet::new();
        let mut check_peers = tokio::time::interval(Duration::from_secs(1));
        check_peers.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                b = rx.recv() => match b {
                    Some(batch) => {
                        let peers = self.greet_new_peers(&mut known).await;
                        self.send_to(&peers, &batch).await;
                    }
                    None => return,
                },
                _ = check_peers.tick() => {
                    self.greet_new_peers(&mut known).await;
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// A replica that just joined missed what was relayed before it was
    /// seen: it gets every alert held here, once; relays from then on
    /// include it. Returns the peers now known.
    async fn greet_new_peers(&self, known: &mut HashSet<String>) -> Vec<String> {
        let peers = self.cluster.peer_urls();
        let new: Vec<String> = peers
            .iter()
            .filter(|p| !known.contains(*p))
            .cloned()
            .collect();
        *known = peers.iter().cloned().collect();
        if !new.is_empty()
            && let Some(notifier) = self.notifier()
        {
            let snapshot: Vec<NotifyAlert> = notifier
                .alerts
                .snapshot()
                .iter()
                .map(|a| NotifyAlert::clone(a))
                .collect();
            tracing::info!(peers = ?new, alerts = snapshot.len(), "sending the alerts held here to replicas that joined");
            self.send_to(&new, &snapshot).await;
        }
        peers
    }

    async fn send_to(&self, peers: &[String], alerts: &[NotifyAlert]) {
        if peers.is_empty() {
            return;
        }
        for chunk in alerts.chunks(RELAY_BATCH) {
            let body = match serde_json::to_vec(chunk) {
                Ok(body) => body,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode alerts for the other replicas");
                    continue;
                }
            };
            let sends = peers.iter().map(|url| {
                let url = url.clone();
                let mut request = self
                    .http
                    .post(format!("{}/api/v1/cluster/alerts", url.trim_end_matches('/')))
                    .timeout(RELAY_TIMEOUT)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if let Some(token) = &self.api_token {
                    request = request.bearer_auth(token);
                }
                async move {
                    match request.send().await {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => tracing::warn!(peer = %url, status = %r.status(), "a replica refused relayed alerts"),
                        Err(e) => tracing::warn!(peer = %url, error = %e, "cannot relay alerts to a replica"),
                    }
                }
            });
            // The peers are sent to concurrently.
            let mut set: tokio::task::JoinSet<()> = sends.collect();
            while set.join_next().await.is_some() {}
        }
    }

    fn notifier(&self) -> Option<&Arc<Notifier>> {
        self.notifier.get()
    }

    /// Adopts the claims dead owners left in each newly held shard, then
    /// lets the dispatcher flush what this replica now owns.
    async fn adopt_shards(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut changes = self.cluster.changes();
        let mut handed_over = false;
        let mut last_held: Vec<String> = Vec::new();
        loop {
            // Cut off: what this replica claimed is adopted by the others
            // once its lease expires; it must not send it too.
            let cut_off = self.cluster.health() == Health::CutOff;
            if cut_off && !handed_over {
                if let Some(n) = self.notifier() {
                    n.outbox.hand_over_pending().await;
                }
                self.claimed_lock().clear();
                handed_over = true;
            } else if !cut_off {
                handed_over = false;
            }
            let fresh: Vec<String> = self
                .cluster
                .held(WorkKind::Shard)
                .into_iter()
                .filter(|s| {
                    matches!(
                        self.cluster.holding(WorkKind::Shard, s),
                        Holding::Claimed { .. }
                    )
                })
                .collect();
            let mut any = false;
            let mut failed = false;
            for shard in fresh {
                match self.adopt_shard(&shard).await {
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(shard = %shard, notifications = n, "took over notifications a replica had claimed and not delivered");
                        }
                        self.cluster.mark_loaded(WorkKind::Shard, &shard);
                        any = true;
                    }
                    Err(e) => {
                        tracing::warn!(shard = %shard, error = %e, "cannot take over a shard yet; retrying");
                        failed = true;
                    }
                }
            }
            // Only when what this replica holds changed: the dispatcher
            // asks the gate about every one of its groups.
            let held: Vec<String> = {
                let mut held = self.cluster.held(WorkKind::Shard);
                held.sort_unstable();
                held.retain(|s| self.cluster.holding(WorkKind::Shard, s) == Holding::Loaded);
                held
            };
            if held != last_held {
                if let Some(n) = self.notifier() {
                    n.ownership_changed();
                }
                last_held = held;
            }
            if any {
                continue;
            }
            // A failed takeover is retried soon; otherwise only changes wake
            // this loop (the timer is a safety net).
            let pause = if failed { 1 } else { 10 };
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = tokio::time::sleep(Duration::from_secs(pause)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn adopt_shard(&self, shard: &str) -> Result<usize, ClusterError> {
        let entries = self.cluster.range(&format!("outbox/{shard}/")).await?;
        let live: HashSet<String> = self
            .cluster
            .members()
            .into_iter()
            .map(|m| m.replica)
            .collect();
        let me = self.cluster.replica().to_string();
        let mut adopt = Vec::new();
        let mut writes = Vec::new();
        for entry in entries {
            let Ok(mut record) = serde_json::from_slice::<ClaimRecord>(&entry.value) else {
                tracing::error!(key = %entry.key, "a claimed notification in etcd cannot be read; left in place");
                continue;
            };
            // A live owner finishes what it claimed (it keeps retrying);
            // only a dead owner's claims, or this replica's from an
            // earlier life, are taken over.
            if live.contains(&record.owner) && record.owner != me {
                continue;
            }
            if record.owner == me
                && self
                    .claimed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(&record.notification.id)
            {
                continue;
            }
            record.owner = me.clone();
            if let Ok(value) = serde_json::to_vec(&record) {
                writes.push(Write::Put {
                    key: entry.key.clone(),
                    value,
                    leased: false,
                });
            }
            adopt.push((record.notification, record.log));
        }
        if adopt.is_empty() {
            return Ok(0);
        }
        self.cluster.fenced(WorkKind::Shard, shard, writes).await?;
        let shard_no: u32 = shard.parse().unwrap_or(0);
        {
            let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
            for (n, _) in &adopt {
                claimed.insert(n.id.clone(), shard_no);
            }
        }
        let count = adopt.len();
        if let Some(notifier) = self.notifier() {
            notifier.adopt(adopt).await.map_err(|e| {
                ClusterError::Etcd(format!("cannot queue adopted notifications: {e}"))
            })?;
        }
        Ok(count)
    }

    async fn mirror_log(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<CollectionEvent>) {
        while let Some(event) = events.recv().await {
            let mut nlog = self.nlog.write().unwrap_or_else(|e| e.into_inner());
            match event {
                CollectionEvent::Snapshot(entries) => {
                    nlog.clear();
                    for e in entries {
                        if let Ok(entry) = serde_json::from_slice::<LogEntry>(&e.value) {
                            nlog.insert(e.key, entry);
                        }
                    }
                }
                CollectionEvent::Put(e) => {
                    if let Ok(entry) = serde_json::from_slice::<LogEntry>(&e.value) {
                        let newer = nlog.get(&e.key).is_none_or(|old| old.at <= entry.at);
                        if newer {
                            nlog.insert(e.key, entry);
                        }
                    }
                }
                CollectionEvent::Delete(key) => {
                    nlog.remove(&key);
                }
            }
        }
    }

    async fn follow_silences(
        self: Arc<Self>,
        mut events: mpsc::UnboundedReceiver<CollectionEvent>,
    ) {
        while let Some(event) = events.recv().await {
            let entries = match event {
                CollectionEvent::Snapshot(entries) => entries,
                CollectionEvent::Put(e) => vec![e],
                CollectionEvent::Delete(_) => continue,
            };
            let silences: Vec<Silence> = entries
                .iter()
                .filter_map(|e| match serde_json::from_slice::<Silence>(&e.value) {
                    Ok(s) => Some(s),
                    Err(err) => {
                        tracing::error!(key = %e.key, error = %err, "a silence in etcd cannot be read; ignored");
                        None
                    }
                })
                .collect();
            if silences.is_empty() {
                continue;
            }
            if let Some(n) = self.notifier()
                && let Err(e) = n.silences.apply_replicated(silences).await
            {
                tracing::error!(error = %e, "cannot store silences made on another replica");
            }
        }
    }

    /// Whether this replica evaluates the group now (the built-in group:
    /// every replica, for itself).
    pub(super) fn evaluates_here(&self, file: &str, name: &str) -> bool {
        if file == crate::eval::engine::BUILTIN_FILE {
            return true;
        }
        let item = group_item(&GroupKey {
            file: file.to_string(),
            name: name.to_string(),
        });
        self.cluster.holding(WorkKind::Group, &item) != Holding::No
    }

    /// `path_and_query` as every other replica answers it (those that do
    /// not answer within a few seconds are left out, and logged).
    pub(super) async fn peer_answers(&self, path_and_query: &str) -> Vec<serde_json::Value> {
        let peers = self.cluster.peer_urls();
        let mut set = tokio::task::JoinSet::new();
        for url in peers {
            let mut request = self
                .http
                .get(format!("{}{path_and_query}", url.trim_end_matches('/')))
                .timeout(Duration::from_secs(3));
            if let Some(token) = &self.api_token {
                request = request.bearer_auth(token);
            }
            set.spawn(async move {
                let answer = async {
                    let response = request.send().await?.error_for_status()?;
                    response.json::<serde_json::Value>().await
                }
                .await;
                (url, answer)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((_, Ok(value))) => out.push(value),
                Ok((url, Err(e))) => {
                    tracing::warn!(peer = %url, error = %e, "a replica did not answer; its rules and alerts are missing from this answer");
                }
                Err(_) => {}
            }
        }
        out
    }

    /// The status document for the API.
    pub(super) async fn status_json(&self) -> serde_json::Value {
        let status = self.cluster.status().await;
        let mut value = serde_json::to_value(&status).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("clustered".into(), serde_json::Value::Bool(true));
        }
        value
    }

    fn state_writes(
        &self,
        changes: &[StateChange],
    ) -> (BTreeMap<String, Vec<Write>>, Vec<StateChange>) {
        let rule_groups = self.rule_groups.read().unwrap_or_else(|e| e.into_inner());
        let mut by_group: BTreeMap<String, Vec<Write>> = BTreeMap::new();
        let mut local = Vec::new();
        for change in changes {
            let (rule, fingerprint) = match change {
                StateChange::Put {
                    rule, fingerprint, ..
                }
                | StateChange::Delete { rule, fingerprint } => (rule, *fingerprint),
            };
            let Some(item) = rule_groups.get(rule) else {
                local.push(change.clone());
                continue;
            };
            let key = format!("state/{item}/{:016x}-{fingerprint:016x}", fnv(rule));
            let write = match change {
                StateChange::Put { alert, .. } => {
                    let record = StateRecord {
                        rule: rule.clone(),
                        alert: alert.clone(),
                    };
                    match serde_json::to_vec(&record) {
                        Ok(value) => Write::Put {
                            key,
                            value,
                            leased: false,
                        },
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode an alert for etcd");
                            continue;
                        }
                    }
                }
                StateChange::Delete { .. } => Write::Delete(key),
            };
            by_group.entry(item.clone()).or_default().push(write);
        }
        (by_group, local)
    }

    async fn load_group(
        &self,
        item: &str,
    ) -> Result<BTreeMap<String, Vec<(u64, Alert)>>, ClusterError> {
        let entries = self.cluster.range(&format!("state/{item}/")).await?;
        let mut out: BTreeMap<String, Vec<(u64, Alert)>> = BTreeMap::new();
        for e in entries {
            let fingerprint = e
                .key
                .rsplit('-')
                .next()
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            match (fingerprint, serde_json::from_slice::<StateRecord>(&e.value)) {
                (Some(fp), Ok(record)) => {
                    out.entry(record.rule).or_default().push((fp, record.alert))
                }
                _ => {
                    tracing::error!(key = %e.key, "an alert state in etcd cannot be read; left in place")
                }
            }
        }
        for alerts in out.values_mut() {
            alerts.sort_by_key(|(fp, _)| *fp);
        }
        Ok(out)
    }
}

/// The evaluator's view: which groups to evaluate.
pub(super) struct ClusterOwnership(pub(super) Arc<ClusterWiring>);

impl GroupOwnership for ClusterOwnership {
    fn admit<'a>(&'a self, group: &'a GroupKey, _slot: Millis) -> BoxFuture<'a, Admission> {
        Box::pin(async move {
            let wiring = &self.0;
            let item = group_item(group);
            match wiring.cluster.begin_round(WorkKind::Group, &item) {
                Holding::No => Admission::Skip,
                Holding::Loaded => Admission::Evaluate,
                Holding::Claimed { handed_over } => match wiring.load_group(&item).await {
                    // Released or lost while loading: not this replica's.
                    Ok(_) if !wiring.cluster.loaded_for_round(WorkKind::Group, &item) => {
                        Admission::Skip
                    }
                    Ok(stored) => {
                        tracing::debug!(group = %item, alerts = stored.values().map(Vec::len).sum::<usize>(), handed_over = handed_over.is_some(), "took over a rule group");
                        Admission::TakeOver {
                            stored,
                            last_round: handed_over,
                        }
                    }
                    Err(e) => {
                        tracing::warn!(group = %item, error = %e, "cannot load a rule group's state from etcd; not evaluating it yet");
                        Admission::Skip
                    }
                },
            }
        })
    }

    fn round_done(&self, group: &GroupKey, slot: Millis) {
        self.0
            .cluster
            .set_busy(WorkKind::Group, &group_item(group), false, Some(slot));
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.0.cluster.changes()
    }
}

/// The evaluator's state store in a cluster: a group's alerts go to etcd,
/// fenced on the group's claim; the built-in group's to the local store.
pub(super) struct ClusterStateStore(pub(super) Arc<ClusterWiring>);

impl StateStore for ClusterStateStore {
    fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
        let wiring = &self.0;
        let (by_group, local) = wiring.state_writes(changes);
        if !local.is_empty() {
            wiring.local.commit(&local)?;
        }
        if by_group.is_empty() {
            return Ok(());
        }
        // Without etcd the changes wait (KeepUnsaved) rather than hold a
        // blocking thread for a request timeout per group every round.
        if wiring.cluster.health() != Health::Connected {
            return Err("etcd is unavailable: alert state is written once it is back".into());
        }
        let mut failed = Vec::new();
        for (item, writes) in by_group {
            // Commits run on a blocking thread (the engine's
            // spawn_blocking), so waiting on the runtime here is allowed.
            let result =
                wiring
                    .runtime
                    .block_on(wiring.cluster.fenced(WorkKind::Group, &item, writes));
            match result {
                Ok(()) => {}
                // Someone else owns it now: its state is theirs to write.
                Err(ClusterError::Fenced(what)) => {
                    tracing::warn!(group = %what, "alert state not written: the group moved to another replica");
                }
                Err(e) => failed.push(format!("{item}: {e}")),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "cannot write alert state to etcd: {}",
                failed.join("; ")
            ))
        }
    }
}

impl FlushGate for ClusterWiring {
    fn owns(&self, group_id: &str) -> bool {
        let shard = assign::shard_of(group_id, SHARDS).to_string();
        self.cluster.holding(WorkKind::Shard, &shard) == Holding::Loaded
    }
}

impl SharedLog for ClusterWiring {
    fn log_entry(&self, group_id: &str, receiver: &str, integration: usize) -> Option<LogEntry> {
        self.nlog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&nlog_key(group_id, receiver, integration))
            .cloned()
    }

    fn claim(&self, items: &[(Notification, LogEntry)]) -> BoxFuture<'_, Result<(), String>> {
        let mut by_shard: BTreeMap<u32, ShardClaim> = BTreeMap::new();
        let mut ids: Vec<(String, u32)> = Vec::new();
        let mut logs: Vec<(String, LogEntry)> = Vec::new();
        let me = self.cluster.replica().to_string();
        for (notification, log) in items {
            let group_id = notification.group_identity().to_string();
            let shard = assign::shard_of(&group_id, SHARDS);
            let record = ClaimRecord {
                owner: me.clone(),
                notification: notification.clone(),
                log: log.clone(),
            };
            let key = nlog_key(&group_id, &notification.receiver, notification.integration);
            let (Ok(claim), Ok(entry)) = (serde_json::to_vec(&record), serde_json::to_vec(log))
            else {
                return Box::pin(async {
                    Err("cannot encode a notification for etcd".to_string())
                });
            };
            let previous =
                self.log_entry(&group_id, &notification.receiver, notification.integration);
            let claim_key = format!("outbox/{shard}/{}", notification.id);
            let shard_claim = by_shard.entry(shard).or_default();
            shard_claim.writes.push(Write::Put {
                key: claim_key.clone(),
                value: claim,
                leased: false,
            });
            shard_claim.writes.push(Write::Put {
                key: format!("nlog/{key}"),
                value: entry,
                leased: false,
            });
            shard_claim.undo.push(Write::Delete(claim_key));
            shard_claim.undo.push(Write::Delete(format!("nlog/{key}")));
            if let Some(Ok(value)) = previous.as_ref().map(serde_json::to_vec) {
                shard_claim.restore.push(Write::Put {
                    key: format!("nlog/{key}"),
                    value,
                    leased: false,
                });
            }
            shard_claim.previous.push((key.clone(), previous));
            ids.push((notification.id.clone(), shard));
            logs.push((key, log.clone()));
        }
        Box::pin(async move {
            let degraded = self.cluster.health() == Health::Degraded;
            if !degraded {
                self.claim_in_shards(by_shard).await?;
            } else {
                tracing::warn!(
                    notifications = ids.len(),
                    "etcd has no quorum: sending without a claim (a duplicate is possible)"
                );
            }
            {
                let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
                for (id, shard) in ids {
                    claimed.insert(id, shard);
                }
            }
            let mut nlog = self.nlog.write().unwrap_or_else(|e| e.into_inner());
            for (key, entry) in logs {
                nlog.insert(key, entry);
            }
            Ok(())
        })
    }
}

/// One shard's part of a batch of notifications being claimed.
#[derive(Default)]
struct ShardClaim {
    /// The claims and their log entries.
    writes: Vec<Write>,
    /// What undoes them: the claims and the log entries deleted…
    undo: Vec<Write>,
    /// …then the log entries there were before put back (after the
    /// deletion, so every replica's mirror takes the older entry).
    restore: Vec<Write>,
    /// The log entries before, to restore the local mirror.
    previous: Vec<(String, Option<LogEntry>)>,
}

impl ClusterWiring {
    /// Writes a batch's claims shard by shard, all or nothing. A batch
    /// spans several shards (one transaction each): when one fails after
    /// others were written, the written ones would say "notified" in the
    /// log while nothing is sent (the dispatcher retries the batch, sees
    /// the log, plans nothing: the notifications were lost). So every
    /// shard must be held before anything is written, is not handed over
    /// meanwhile, and a failure undoes what was written.
    async fn claim_in_shards(&self, by_shard: BTreeMap<u32, ShardClaim>) -> Result<(), String> {
        let shards: Vec<String> = by_shard.keys().map(u32::to_string).collect();
        if let Some(shard) = shards
            .iter()
            .find(|s| self.cluster.holding(WorkKind::Shard, s) != Holding::Loaded)
        {
            return Err(format!("shard {shard} is not held by this replica"));
        }
        for shard in &shards {
            self.cluster.set_busy(WorkKind::Shard, shard, true, None);
        }
        let mut tried: Vec<(String, ShardClaim)> = Vec::new();
        let mut failure = None;
        for (shard, mut claim) in by_shard {
            let shard = shard.to_string();
            let writes = std::mem::take(&mut claim.writes);
            let result = self.cluster.fenced(WorkKind::Shard, &shard, writes).await;
            // A failed write may still have been applied (a timeout):
            // undone like the others.
            tried.push((shard, claim));
            if let Err(e) = result {
                failure = Some(e.to_string());
                break;
            }
        }
        if failure.is_some() {
            for (shard, claim) in &tried {
                let mut undone = self
                    .cluster
                    .fenced(WorkKind::Shard, shard, claim.undo.clone())
                    .await;
                if undone.is_ok() && !claim.restore.is_empty() {
                    undone = self
                        .cluster
                        .fenced(WorkKind::Shard, shard, claim.restore.clone())
                        .await;
                }
                if let Err(e) = undone {
                    tracing::error!(shard = %shard, error = %e, "cannot undo the claims of a batch that failed; a takeover sends them");
                }
                let mut nlog = self.nlog.write().unwrap_or_else(|e| e.into_inner());
                for (key, previous) in &claim.previous {
                    match previous {
                        Some(entry) => nlog.insert(key.clone(), entry.clone()),
                        None => nlog.remove(key),
                    };
                }
            }
        }
        for shard in &shards {
            self.cluster.set_busy(WorkKind::Shard, shard, false, None);
        }
        failure.map_or(Ok(()), Err)
    }
}

impl DeliveryListener for ClusterWiring {
    fn settled(&self, notification_id: &str, _delivered: bool) {
        let shard = self.claimed_lock().remove(notification_id);
        let Some(shard) = shard else {
            return;
        };
        let cluster = Arc::clone(&self.cluster);
        let key = format!("outbox/{shard}/{notification_id}");
        self.runtime.spawn(async move {
            // Unfenced: the claim is this replica's own; if the shard moved
            // meanwhile, the new owner must not resend what went out.
            if let Err(e) = cluster.put(vec![Write::Delete(key)]).await {
                tracing::warn!(error = %e, "cannot remove a settled notification's claim from etcd; a takeover would send it again");
            }
        });
    }
}

impl ClusterWiring {
    fn claimed_lock(&self) -> MutexGuard<'_, HashMap<String, u32>> {
        self.claimed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SilenceReplica for ClusterWiring {
    fn publish(&self, changed: &[Silence]) {
        let mut writes = Vec::new();
        for silence in changed {
            match serde_json::to_vec(silence) {
                Ok(value) => writes.push(Write::Put {
                    key: format!("silences/{}", segment(&silence.id)),
                    value,
                    leased: false,
                }),
                Err(e) => tracing::error!(error = %e, "cannot encode a silence for etcd"),
            }
        }
        if writes.is_empty() {
            return;
        }
        let cluster = Arc::clone(&self.cluster);
        self.runtime.spawn(async move {
            if let Err(e) = cluster.put(writes).await {
                tracing::error!(error = %e, "cannot share a silence with the other replicas; it mutes only on this one until etcd answers");
            }
        });
    }
}

/// The API's view of the cluster.
pub(super) struct ClusterApi(pub(super) Arc<ClusterWiring>);

impl crate::api::cluster::ClusterView for ClusterApi {
    fn status(&self) -> crate::api::BoxFuture<'_, serde_json::Value> {
        Box::pin(self.0.status_json())
    }

    fn accept_relayed(
        &self,
        alerts: Vec<NotifyAlert>,
    ) -> crate::api::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let Some(notifier) = self.0.notifier() else {
                return Err("this replica is still starting".to_string());
            };
            notifier
                .alerts
                .put_relayed(alerts)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
