//! The durable outbox: "never lose, rarely repeat".
//!
//! The dispatcher decides a notification and hands it to [`Outbox::enqueue`]
//! together with the new notification-log entry of its lane (what that
//! receiver integration is now told about that group). Both are committed
//! in one fsynced transaction before anything is sent, so after a restart
//! or `kill -9`:
//! - every committed notification is still in the outbox and gets sent;
//! - the log already says it was decided, so the dispatcher does not decide
//!   it a second time;
//! - only a notification that was in flight when the process died (sent,
//!   but its success not yet committed) is sent again — at most one per lane.
//!
//! A *lane* is one (group key, receiver, integration index). A lane's
//! notifications are delivered strictly in enqueue order, one at a time (a
//! resolve never overtakes its firing message, and Slack threads stay in
//! order); lanes run concurrently, at most [`OutboxOptions::max_in_flight`]
//! sends at once.
//!
//! Failures: a retryable error (5xx, 429, timeout, connection error) is
//! retried with exponential backoff and full jitter, never sooner than the
//! receiver's Retry-After, until the notification is older than
//! [`OutboxOptions::give_up_after_ms`]; a permanent error (4xx) fails at once.
//! A failed notification is recorded in the history with its reason, and
//! the lane's log entry is removed so the dispatcher's next flush of that
//! group notifies again instead of believing the receiver was told.
//!
//! Threads: what a successful send returns ([`Delivered::thread`], the Slack
//! `ts` or the email `Message-ID`) is kept per lane and handed to the next
//! send of that lane, so a resolve edits or replies to its firing message.
//!
//! History: the last [`OutboxOptions::history_limit`] delivered or failed
//! notifications (and every pending one) for `GET /api/v1/notifications`.
//!
//! In a cluster ([`OutboxOptions::pending_is_shared`]) each notification was
//! claimed cluster-wide before it reached this outbox, and the claims are
//! the truth: what is pending here at start is not sent but handed to the
//! cluster (recorded as failed, saying so), because the shard's owner adopts
//! it ([`Outbox::adopt`]) whichever replica that now is. A
//! [`DeliveryListener`] hears of every notification settled, so the claim
//! can be let go.
//!
//! Storage goes only through [`Store::commit_records`] and
//! [`Store::load_records`]; see the `records` submodule for the layout.
//! Records that do not decode (say, written by a newer klaxon) are reported
//! and left on disk untouched.

mod backoff;
mod commit;
mod delivery;
mod records;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::notify::notification::{Notification, Reason, Status};
use crate::notify::receivers::{Deliver, Receivers};
use crate::store::{RecordOp, RecordTable, Store, StoreError};
use crate::vocab::labels::{Fingerprint, LabelSet};
use crate::vocab::time::Clock;
use crate::vocab::time::Millis;
use backoff::Backoff;
use records::{Lane, StoredEntryRef, StoredLog};

#[cfg(doc)]
use crate::notify::receivers::Delivered;

/// At most this many alerts of one notification are kept in its history
/// entry (the rest are counted in [`HistoryEntry::truncated_alerts`]): the
/// history is for finding a notification, not for replaying it, and 10,000
/// entries of thousands of alerts each would not fit in memory.
pub const HISTORY_ALERTS_MAX: usize = 100;

/// The notification log entry of one lane (Alertmanager's nflog entry): the
/// alerts the receiver integration was last told about, as decided and
/// committed by the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogEntry {
    /// Fingerprints notified as firing, sorted ascending.
    pub firing: Vec<Fingerprint>,
    /// Fingerprints notified as resolved, sorted ascending.
    pub resolved: Vec<Fingerprint>,
    /// When the notification was decided.
    pub at: Millis,
}

impl LogEntry {
    /// An entry with its fingerprint lists sorted and deduplicated, as the
    /// subset checks need.
    pub fn new(firing: Vec<Fingerprint>, resolved: Vec<Fingerprint>, at: Millis) -> LogEntry {
        let mut entry = LogEntry {
            firing,
            resolved,
            at,
        };
        entry.normalize();
        entry
    }

    fn normalize(&mut self) {
        self.firing.sort_unstable();
        self.firing.dedup();
        self.resolved.sort_unstable();
        self.resolved.dedup();
    }

    /// True when every fingerprint of `firing` (any order) was notified as
    /// firing: nothing new fires since.
    pub fn is_firing_subset(&self, firing: &[Fingerprint]) -> bool {
        firing
            .iter()
            .all(|fp| self.firing.binary_search(fp).is_ok())
    }

    /// True when every fingerprint of `resolved` (any order) was notified
    /// as resolved: nothing newly resolved since.
    pub fn is_resolved_subset(&self, resolved: &[Fingerprint]) -> bool {
        resolved
            .iter()
            .all(|fp| self.resolved.binary_search(fp).is_ok())
    }
}

/// Told when a notification is settled: delivered, or given up for good.
/// Called once per notification, after its outcome is recorded, never for
/// notifications handed to the cluster at start
/// ([`OutboxOptions::pending_is_shared`]): those are not settled.
pub trait DeliveryListener: Send + Sync {
    /// `delivered` is false when it was given up (permanent error, give-up
    /// age, receiver removed).
    fn settled(&self, notification_id: &str, delivered: bool);
}

/// The history's reason for a notification found pending at start when
/// [`OutboxOptions::pending_is_shared`] is set.
pub const HANDED_TO_CLUSTER: &str = "handed to the cluster at restart";

/// The history's reason for notifications a replica cut off from the
/// cluster handed back ([`Outbox::hand_over_pending`]).
pub const HANDED_OVER_WHEN_CUT_OFF: &str = "handed to the cluster: this replica was cut off";

/// How the outbox retries, gives up and keeps history. Every duration is in
/// milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxOptions {
    /// A notification still failing this long after it was decided is
    /// recorded as failed. Default 24h: long enough to ride out a night's
    /// receiver outage; past that a message is history rather than news, and
    /// because giving up clears the lane's log, the group's next flush
    /// notifies its *current* state anyway.
    pub give_up_after_ms: u64,
    /// The backoff ceiling after the first failure (default 1s); it doubles
    /// with each failure.
    pub backoff_initial_ms: u64,
    /// The largest backoff ceiling (default 5m).
    pub backoff_max_ms: u64,
    /// One send taking longer than this counts as a retryable failure
    /// (default 2m; receivers have their own, shorter timeouts — this only
    /// catches one that hangs).
    pub attempt_timeout_ms: u64,
    /// Sends in flight at once over all lanes (default 32).
    pub max_in_flight: usize,
    /// On shutdown, in-flight sends get this long to finish (default 10s);
    /// the rest are abandoned and sent again after the restart.
    pub shutdown_grace_ms: u64,
    /// Delivered and failed notifications kept for the history (default
    /// 10,000; at least 1).
    pub history_limit: usize,
    /// History entries older than this are dropped (default 7 days; 0 keeps
    /// them until `history_limit` pushes them out).
    pub history_retention_ms: u64,
    /// Log entries not updated for this long are forgotten (default 120h,
    /// Alertmanager's `--data.retention`; 0 keeps them forever). A
    /// `repeat_interval` longer than this re-notifies after it.
    pub log_retention_ms: u64,
    /// Where delivery reads the time (backoffs, give-up, history).
    pub clock: Clock,
    /// Pending notifications are claimed in a cluster, which hands them to
    /// whichever replica owns their shard: those found in the store at open
    /// are not delivered but recorded as failed with the reason
    /// [`HANDED_TO_CLUSTER`] (default false: a single node delivers them).
    pub pending_is_shared: bool,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        const HOUR: u64 = 3_600_000;
        OutboxOptions {
            give_up_after_ms: 24 * HOUR,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 300_000,
            attempt_timeout_ms: 120_000,
            max_in_flight: 32,
            shutdown_grace_ms: 10_000,
            history_limit: 10_000,
            history_retention_ms: 7 * 24 * HOUR,
            log_retention_ms: 120 * HOUR,
            clock: Clock::system(),
            pending_is_shared: false,
        }
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryStatus {
    /// In the outbox: not yet sent, or being retried.
    Pending,
    /// A send succeeded.
    Delivered,
    /// Given up (permanent error, give-up age, receiver removed).
    Failed,
}

impl HistoryStatus {
    /// The word the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryStatus::Pending => "pending",
            HistoryStatus::Delivered => "delivered",
            HistoryStatus::Failed => "failed",
        }
    }

    /// Every status, for parsing and did-you-mean hints.
    pub const ALL: [HistoryStatus; 3] = [
        HistoryStatus::Pending,
        HistoryStatus::Delivered,
        HistoryStatus::Failed,
    ];
}

/// One alert as the history shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryAlert {
    /// Identity.
    pub fingerprint: Fingerprint,
    /// Firing or resolved in that notification.
    pub status: Status,
    /// Labels.
    pub labels: LabelSet,
}

/// One notification in the delivery history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Enqueue order (later notifications have larger numbers).
    pub seq: u64,
    /// The notification's id (the webhook idempotency key).
    pub id: String,
    /// The aggregation group's Alertmanager group key.
    pub group_key: String,
    /// The group's identity ([`Notification::group_id`]): sibling routes
    /// with the same matchers share a group key but not this.
    #[serde(default)]
    pub group_id: String,
    /// The receiver.
    pub receiver: String,
    /// The integration's index inside the receiver.
    pub integration: usize,
    /// "slack", "email", "webhook", or "unknown" when the receiver is gone.
    pub integration_kind: String,
    /// Why it was sent.
    pub reason: Reason,
    /// Pending, delivered or failed.
    pub status: HistoryStatus,
    /// Its alerts (at most [`HISTORY_ALERTS_MAX`]).
    pub alerts: Vec<HistoryAlert>,
    /// Alerts not listed: the integration's `max_alerts` plus the history cap.
    pub truncated_alerts: usize,
    /// Sends tried so far.
    pub attempts: u32,
    /// The last failed send's error.
    pub last_error: Option<String>,
    /// When the dispatcher decided it.
    pub created_at: Millis,
    /// When the first send started.
    pub first_attempt_at: Option<Millis>,
    /// When a send succeeded.
    pub delivered_at: Option<Millis>,
    /// When it was given up.
    pub failed_at: Option<Millis>,
    /// What the receiver answered ("250 OK", "slack ts …"), or why it failed.
    pub detail: Option<String>,
}

impl HistoryEntry {
    fn of(pending: &Pending, kind: &str, status: HistoryStatus) -> HistoryEntry {
        let n = &pending.notification;
        let alerts: Vec<HistoryAlert> = n
            .alerts
            .iter()
            .take(HISTORY_ALERTS_MAX)
            .map(|a| HistoryAlert {
                fingerprint: a.fingerprint,
                status: a.status,
                labels: a.labels.clone(),
            })
            .collect();
        HistoryEntry {
            seq: pending.seq,
            id: n.id.clone(),
            group_key: n.group_key.clone(),
            group_id: n.group_identity().to_string(),
            receiver: n.receiver.clone(),
            integration: n.integration,
            integration_kind: kind.to_string(),
            reason: n.reason,
            status,
            truncated_alerts: n.truncated_alerts + (n.alerts.len() - alerts.len()),
            alerts,
            attempts: pending.attempts,
            last_error: pending.last_error.clone(),
            created_at: n.created_at,
            first_attempt_at: pending.first_attempt_at,
            delivered_at: None,
            failed_at: None,
            detail: None,
        }
    }

    /// When it was delivered or failed.
    pub fn finished_at(&self) -> Option<Millis> {
        self.delivered_at.or(self.failed_at)
    }
}

/// A filter over the history, as `GET /api/v1/notifications` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only this receiver.
    pub receiver: Option<String>,
    /// Only this status.
    pub status: Option<HistoryStatus>,
    /// Only groups whose key contains this text.
    pub group: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            receiver: None,
            status: None,
            group: None,
            limit: 100,
        }
    }
}

impl HistoryQuery {
    fn matches(&self, receiver: &str, status: HistoryStatus, group_key: &str) -> bool {
        self.receiver.as_deref().is_none_or(|r| r == receiver)
            && self.status.is_none_or(|s| s == status)
            && self.group.as_deref().is_none_or(|g| group_key.contains(g))
    }
}

/// Counters of one receiver integration kind, since the process started
/// (`pending` is the current count).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrationStats {
    /// The receiver.
    pub receiver: String,
    /// "slack", "email", "webhook" or "unknown".
    pub kind: String,
    /// Notifications in the outbox now.
    pub pending: u64,
    /// Successful sends.
    pub delivered_total: u64,
    /// Notifications given up.
    pub failed_total: u64,
    /// Failed sends that were scheduled for another try.
    pub retries_total: u64,
}

/// A snapshot of the outbox's counters, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Notifications in the outbox now.
    pub pending: u64,
    /// Per receiver and integration kind, sorted.
    pub integrations: Vec<IntegrationStats>,
}

/// A notification in the outbox.
#[derive(Debug, Clone)]
struct Pending {
    seq: u64,
    notification: Arc<Notification>,
    attempts: u32,
    first_attempt_at: Option<Millis>,
    last_error: Option<String>,
    /// Not before this (wall clock); None = as soon as its turn comes.
    next_attempt_at: Option<Millis>,
}

impl Pending {
    /// The stored record's bytes.
    fn encoded(&self) -> Vec<u8> {
        records::encode(&StoredEntryRef {
            notification: &self.notification,
            attempts: self.attempts,
            first_attempt_at: self.first_attempt_at,
            last_error: self.last_error.as_deref(),
            next_attempt_at: self.next_attempt_at,
        })
    }
}

#[derive(Debug, Default)]
struct LaneState {
    /// Enqueue sequence numbers, oldest first.
    queue: VecDeque<u64>,
    /// A send of this lane is running.
    busy: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    delivered: u64,
    failed: u64,
    retries: u64,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<u64, Pending>,
    /// Lanes with pending entries (or a send running).
    lanes: HashMap<Lane, LaneState>,
    log: HashMap<Lane, StoredLog>,
    threads: HashMap<Lane, String>,
    /// By completion sequence number.
    history: BTreeMap<u64, HistoryEntry>,
    receivers: Receivers,
    counters: BTreeMap<(String, String), Counters>,
    next_seq: u64,
    next_history_seq: u64,
    /// Receivers changed: fail the entries whose integration is gone.
    sweep_orphans: bool,
}

impl State {
    fn deliverer(&self, lane: &Lane) -> Option<Arc<dyn Deliver>> {
        self.receivers
            .integrations(&lane.receiver)
            .get(lane.integration)
            .cloned()
    }

    fn kind_of(&self, receiver: &str, integration: usize) -> &'static str {
        self.receivers
            .integrations(receiver)
            .get(integration)
            .map_or("unknown", |d| d.kind())
    }

    fn count(&mut self, receiver: &str, kind: &str) -> &mut Counters {
        self.counters
            .entry((receiver.to_string(), kind.to_string()))
            .or_default()
    }
}

/// The durable outbox and its delivery loop; see the module docs.
pub struct Outbox {
    store: Arc<Store>,
    committer: Arc<commit::GroupCommit>,
    options: OutboxOptions,
    backoff: Backoff,
    state: Mutex<State>,
    /// Held across every commit that writes the notification log, so the
    /// in-memory log and the stored one change in the same order.
    log_commit: tokio::sync::Mutex<()>,
    wake: Notify,
    running: AtomicBool,
    rng: Mutex<fastrand::Rng>,
    listener: OnceLock<Arc<dyn DeliveryListener>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &self.store)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Loads the pending notifications, the notification log, the threads
    /// and the history from `store`. Blocks on disk reads: call it at start
    /// up, before the runtime is busy. Records that do not decode are logged
    /// and left in the store.
    pub fn open(
        store: Arc<Store>,
        receivers: Receivers,
        options: OutboxOptions,
    ) -> Result<Arc<Outbox>, StoreError> {
        let outbox_records = records::decode_all(
            RecordTable::Outbox,
            store.load_records(RecordTable::Outbox)?,
            records::decode_entry,
        );
        let history_records = records::decode_all(
            RecordTable::History,
            store.load_records(RecordTable::History)?,
            records::decode_history,
        );
        let log_records = records::decode_all(
            RecordTable::NotifyLog,
            store.load_records(RecordTable::NotifyLog)?,
            records::decode_log,
        );
        let thread_records = records::decode_all(
            RecordTable::Threads,
            store.load_records(RecordTable::Threads)?,
            records::decode_thread,
        );

        let mut state = State {
            receivers,
            sweep_orphans: true,
            ..State::default()
        };
        let mut max_seq = outbox_records.max_seq;
        for (_, (seq, stored)) in outbox_records.records {
            let lane = Lane::of(&stored.notification);
            state.lanes.entry(lane).or_default().queue.push_back(seq);
            state.entries.insert(
                seq,
                Pending {
                    seq,
                    notification: Arc::new(stored.notification),
                    attempts: stored.attempts,
                    first_attempt_at: stored.first_attempt_at,
                    last_error: stored.last_error,
                    next_attempt_at: stored.next_attempt_at,
                },
            );
        }
        for (_, (hseq, entry)) in history_records.records {
            max_seq = max_seq.max(Some(entry.seq));
            state.history.insert(hseq, entry);
        }
        for (_, (lane, log)) in log_records.records {
            max_seq = max_seq.max(Some(log.seq));
            state.log.insert(lane, log);
        }
        for (_, (lane, thread)) in thread_records.records {
            state.threads.insert(lane, thread);
        }
        state.next_seq = max_seq.map_or(0, |s| s.saturating_add(1));
        state.next_history_seq = history_records.max_seq.map_or(0, |s| s.saturating_add(1));
        if !state.entries.is_empty() && !options.pending_is_shared {
            tracing::info!(
                pending = state.entries.len(),
                "notifications left in the outbox will be delivered"
            );
        }

        let backoff = Backoff {
            initial_ms: options.backoff_initial_ms,
            max_ms: options.backoff_max_ms,
        };
        let outbox = Outbox {
            committer: commit::GroupCommit::new(Arc::clone(&store)),
            store,
            options,
            backoff,
            state: Mutex::new(state),
            log_commit: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            running: AtomicBool::new(false),
            rng: Mutex::new(fastrand::Rng::new()),
            listener: OnceLock::new(),
        };
        if outbox.options.pending_is_shared {
            outbox.hand_pending_to_cluster()?;
        }
        Ok(Arc::new(outbox))
    }

    /// At open in a cluster: every pending notification goes to the history
    /// as failed ([`HANDED_TO_CLUSTER`]), in one commit, without telling the
    /// [`DeliveryListener`]: its claim stays with the cluster, whose shard
    /// owner adopts it. Blocks on the disk, like [`Outbox::open`].
    fn hand_pending_to_cluster(&self) -> Result<(), StoreError> {
        let now = self.options.clock.now();
        let mut state = self.lock();
        let handed = every_pending_as_failed(&state, HANDED_TO_CLUSTER);
        if handed.is_empty() {
            return Ok(());
        }
        let count = handed.len();
        let (ops, done) = self.prepare_failed(&mut state, handed, now);
        self.store.commit_records(&ops)?;
        self.apply_failed(&mut state, done, now);
        tracing::warn!(
            pending = count,
            "notifications left in the outbox were handed to the cluster: the replica owning \
             each one's shard sends it; the history lists them as failed here"
        );
        Ok(())
    }

    /// A replica cut off from the cluster hands every pending notification
    /// back: each one's claim (on this replica's expired lease) is adopted
    /// by the replica now owning its shard, which sends it with the same id,
    /// so this one must not send it too. Recorded as failed ("handed to the
    /// cluster"); the delivery listener is not told (the claims stay). A
    /// send already on the wire finishes. Returns how many were handed over.
    pub async fn hand_over_pending(&self) -> usize {
        let _log_commit = self.log_commit.lock().await;
        let now = self.options.clock.now();
        let (ops, done) = {
            let mut state = self.lock();
            let handed = every_pending_as_failed(&state, HANDED_OVER_WHEN_CUT_OFF);
            self.prepare_failed(&mut state, handed, now)
        };
        if done.is_empty() {
            return 0;
        }
        if let Err(e) = self.commit(ops).await {
            tracing::error!(error = %e, "recording the notifications handed to the cluster did not reach the disk");
        }
        let count = done.len();
        let mut state = self.lock();
        self.apply_failed(&mut state, done, now);
        drop(state);
        tracing::warn!(
            pending = count,
            "cut off from the cluster: pending notifications were handed to the replicas now              owning their shards"
        );
        count
    }

    /// Tells `listener` of every notification settled from now on. Set it
    /// once, before [`Outbox::run`]; a second listener is refused (logged).
    pub fn set_delivery_listener(&self, listener: Arc<dyn DeliveryListener>) {
        if self.listener.set(listener).is_err() {
            tracing::error!(
                "the outbox already has a delivery listener; the second one is ignored"
            );
        }
    }

    /// Tells the delivery listener, if any, that these were settled.
    fn settled(&self, ids: &[(String, bool)]) {
        if let Some(listener) = self.listener.get() {
            for (id, delivered) in ids {
                listener.settled(id, *delivered);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough state
        // (every update is a few field writes); keep delivering.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `(group_id, receiver, integration)` was last told, as decided
    /// and committed; None when never, or after a failed delivery.
    pub fn log_entry(
        &self,
        group_id: &str,
        receiver: &str,
        integration: usize,
    ) -> Option<LogEntry> {
        let lane = Lane {
            group_id: group_id.to_string(),
            receiver: receiver.to_string(),
            integration,
        };
        self.lock().log.get(&lane).map(|l| l.entry.clone())
    }

    /// Commits the notifications and their lanes' new log entries in one
    /// durable transaction, then wakes delivery. When this returns `Ok`, a
    /// crash can no longer lose them; on `Err` nothing was stored. Within a
    /// lane, notifications are delivered in the order they are enqueued.
    pub async fn enqueue(&self, items: Vec<(Notification, LogEntry)>) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let log_commit = self.log_commit.lock().await;
        self.commit_new(items, &log_commit).await
    }

    /// Takes over claimed notifications from a replica that died or gave up
    /// their shard: enqueued as [`Outbox::enqueue`] does, with their ids
    /// (the receiver's idempotency key is the same whichever replica sends),
    /// except ids this outbox already holds, pending or in its history —
    /// but not those it only handed to the cluster at start
    /// ([`HANDED_TO_CLUSTER`]): they are unsettled, and this replica may be
    /// the one to send them. Returns how many were enqueued.
    pub async fn adopt(&self, items: Vec<(Notification, LogEntry)>) -> Result<usize, StoreError> {
        // Under the log lock: two adoptions of one id cannot both pass.
        let log_commit = self.log_commit.lock().await;
        let fresh: Vec<(Notification, LogEntry)> = {
            let state = self.lock();
            let held: HashSet<&str> = state
                .entries
                .values()
                .map(|p| p.notification.id.as_str())
                .chain(
                    state
                        .history
                        .values()
                        .filter(|e| {
                            !matches!(
                                e.detail.as_deref(),
                                Some(HANDED_TO_CLUSTER | HANDED_OVER_WHEN_CUT_OFF)
                            )
                        })
                        .map(|e| e.id.as_str()),
                )
                .collect();
            let mut seen: HashSet<String> = HashSet::new();
            items
                .into_iter()
                .filter(|(n, _)| !held.contains(n.id.as_str()) && seen.insert(n.id.clone()))
                .collect()
        };
        let count = fresh.len();
        if count > 0 {
            self.commit_new(fresh, &log_commit).await?;
        }
        Ok(count)
    }

    /// The commit of [`Outbox::enqueue`]; the caller holds `log_commit`.
    async fn commit_new(
        &self,
        items: Vec<(Notification, LogEntry)>,
        _log_commit: &tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<(), StoreError> {
        let first_seq = {
            let mut state = self.lock();
            let first = state.next_seq;
            state.next_seq = first.saturating_add(items.len() as u64);
            first
        };
        let mut ops = Vec::with_capacity(items.len() * 2);
        let mut prepared = Vec::with_capacity(items.len());
        for (seq, (notification, mut entry)) in (first_seq..).zip(items) {
            entry.normalize();
            let lane = Lane::of(&notification);
            let pending = Pending {
                seq,
                notification: Arc::new(notification),
                attempts: 0,
                first_attempt_at: None,
                last_error: None,
                next_attempt_at: None,
            };
            let log = StoredLog { entry, seq };
            ops.push(records::put(
                RecordTable::Outbox,
                records::seq_key(seq),
                pending.encoded(),
            ));
            ops.push(records::put(
                RecordTable::NotifyLog,
                lane.key(),
                records::encode(&log),
            ));
            prepared.push((lane, pending, log));
        }
        self.commit(ops).await?;
        {
            let mut state = self.lock();
            for (lane, pending, log) in prepared {
                state
                    .lanes
                    .entry(lane.clone())
                    .or_default()
                    .queue
                    .push_back(pending.seq);
                state.entries.insert(pending.seq, pending);
                state.log.insert(lane, log);
            }
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Swaps in the receivers of a reloaded configuration. Pending
    /// notifications of a receiver (or integration index) that no longer
    /// exists are recorded as failed by the delivery loop.
    pub fn set_receivers(&self, receivers: Receivers) {
        {
            let mut state = self.lock();
            state.receivers = receivers;
            state.sweep_orphans = true;
        }
        self.wake.notify_one();
    }

    /// The history matching `query`, newest first (by decision time):
    /// pending notifications and the kept delivered and failed ones.
    pub fn history(&self, query: &HistoryQuery) -> Vec<HistoryEntry> {
        enum Source {
            Pending(u64),
            Done(u64),
        }
        let state = self.lock();
        let mut found: Vec<(Millis, u64, Source)> = Vec::new();
        if query.status.is_none_or(|s| s == HistoryStatus::Pending) {
            for p in state.entries.values() {
                let n = &p.notification;
                if query.matches(&n.receiver, HistoryStatus::Pending, &n.group_key) {
                    found.push((n.created_at, p.seq, Source::Pending(p.seq)));
                }
            }
        }
        for (hseq, e) in &state.history {
            if query.matches(&e.receiver, e.status, &e.group_key) {
                found.push((e.created_at, e.seq, Source::Done(*hseq)));
            }
        }
        found.sort_unstable_by_key(|f| std::cmp::Reverse((f.0, f.1)));
        found
            .into_iter()
            .take(query.limit)
            .filter_map(|(_, _, source)| match source {
                Source::Pending(seq) => state.entries.get(&seq).map(|p| {
                    let kind = state.kind_of(&p.notification.receiver, p.notification.integration);
                    HistoryEntry::of(p, kind, HistoryStatus::Pending)
                }),
                Source::Done(hseq) => state.history.get(&hseq).cloned(),
            })
            .collect()
    }

    /// Counters for `/metrics`.
    pub fn metrics(&self) -> OutboxStats {
        let state = self.lock();
        let mut by: BTreeMap<(String, String), IntegrationStats> = BTreeMap::new();
        for ((receiver, kind), c) in &state.counters {
            let stats = by.entry((receiver.clone(), kind.clone())).or_default();
            stats.delivered_total = c.delivered;
            stats.failed_total = c.failed;
            stats.retries_total = c.retries;
        }
        for p in state.entries.values() {
            let n = &p.notification;
            let kind = state.kind_of(&n.receiver, n.integration);
            by.entry((n.receiver.clone(), kind.to_string()))
                .or_default()
                .pending += 1;
        }
        OutboxStats {
            pending: state.entries.len() as u64,
            integrations: by
                .into_iter()
                .map(|((receiver, kind), stats)| IntegrationStats {
                    receiver,
                    kind,
                    ..stats
                })
                .collect(),
        }
    }

    /// One durable commit (shared with concurrent writers), off the async
    /// threads.
    async fn commit(&self, ops: Vec<RecordOp>) -> Result<(), StoreError> {
        self.committer.commit(ops).await
    }
}

/// "1h30m", "45s", "250ms": how long, for failure reasons.
fn human_ms(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let secs = ms / 1_000;
    let (h, m, s) = (secs / 3_600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Every pending notification as a failure with `reason`: handed to the
/// cluster, whose claims decide who sends it.
fn every_pending_as_failed(state: &State, reason: &str) -> Vec<delivery::Failure> {
    state
        .entries
        .values()
        .map(|p| delivery::Failure {
            seq: p.seq,
            kind: state
                .kind_of(&p.notification.receiver, p.notification.integration)
                .to_string(),
            reason: reason.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entry_subsets_ignore_order_and_duplicates() {
        let entry = LogEntry::new(vec![30, 10, 20, 10], vec![5], 0);
        assert_eq!(entry.firing, [10, 20, 30]);
        assert!(entry.is_firing_subset(&[20, 10]));
        assert!(entry.is_firing_subset(&[]));
        assert!(!entry.is_firing_subset(&[10, 40]), "40 is new");
        assert!(entry.is_resolved_subset(&[5]));
        assert!(
            !entry.is_resolved_subset(&[10]),
            "10 was firing, not resolved"
        );
    }

    #[test]
    fn durations_read_like_config() {
        assert_eq!(human_ms(250), "250ms");
        assert_eq!(human_ms(45_000), "45s");
        assert_eq!(human_ms(5_400_000), "1h30m");
        assert_eq!(human_ms(86_400_000), "24h");
    }
}
