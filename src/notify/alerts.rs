//! The notifier's alerts: every alert pushed by klaxon's evaluator, by
//! `POST /api/v2/alerts` and by Alertmanager webhooks, merged as
//! Alertmanager's in-memory provider merges repeated pushes, and — unlike
//! Alertmanager, which keeps them in memory only — durable before a push is
//! answered.
//!
//! # Durability: a journal with group commit
//!
//! Alerts are persisted in [`RecordTable::NotifyAlerts`] as an append-only
//! journal keyed by a big-endian `u64` sequence number (redb inserts
//! sequential keys about ten times faster than random ones). One record holds
//! every alert of one commit, so a batch of 100 alerts costs one B-tree insert
//! rather than 100. A single writer thread takes every [`AlertStore::put`]
//! waiting at that moment, merges them in arrival order, writes them as one
//! record in one fsynced transaction (group commit), and only then makes them
//! visible ([`AlertStore::get`], [`AlertStore::snapshot`]), publishes them to
//! subscribers and answers the puts. Concurrent pushes therefore share an
//! fsync, and nothing is ever visible that is not on disk.
//!
//! On open the journal is replayed in sequence order; the last entry for a
//! fingerprint wins and a tombstone removes it. Records that do not decode
//! (damaged, or written by a newer klaxon) are logged and listed by
//! [`AlertStore::unreadable`]; the rest load.
//!
//! When the journal holds more than twice as many entries as there are live
//! alerts, it is compacted in the background: the writer re-writes the live
//! alerts in chunks (each chunk in the same transaction as whatever puts are
//! waiting, so ingest never stops) and, once every live alert has a copy,
//! deletes every record older than the first copy. A crash in the middle is
//! harmless: replay takes the latest entry per fingerprint either way.
//!
//! # Garbage collection
//!
//! Alertmanager drops resolved alerts at every `--alerts.gc-interval` (30m by
//! default), so a resolved alert lingers between 0 and 30 minutes. klaxon
//! keeps a resolved alert for [`AlertStoreOptions::retention_ms`] after its
//! end (default one hour) and checks every [`GC_INTERVAL`]: long enough that
//! a resolve still waiting for its group's next flush (`group_interval`, 5m by
//! default) is known after a restart, short enough that resolved alerts do not
//! pile up. Set it above the longest `group_interval`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use super::alert::{AlertSource, Fingerprint, LabelSet, Millis, NotifyAlert, SharedStr};
use crate::store::{RecordOp, RecordTable, Store, StoreError};

/// How often the writer looks for alerts resolved longer than the retention.
pub const GC_INTERVAL: Duration = Duration::from_secs(30);

/// The journal is compacted once it holds more than twice the live alerts
/// plus this many entries (so a handful of alerts never triggers it).
const COMPACT_MIN_ENTRIES: usize = 4096;

/// Live alerts re-written per compaction step (one record, one transaction,
/// shared with the puts waiting at that moment).
const COMPACT_CHUNK: usize = 4096;

/// A commit takes at most this many alerts; more waiting puts go in the next.
const MAX_BATCH_ALERTS: usize = 20_000;

/// How long a resolved alert is kept after its end by default.
pub const DEFAULT_RETENTION_MS: Millis = 60 * 60 * 1000;

pub use crate::model::notifier::DEFAULT_RESOLVE_TIMEOUT_MS;

/// Settings of an [`AlertStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertStoreOptions {
    /// Alertmanager's `resolve_timeout`: an alert pushed without an end
    /// resolves this long after its last push. The store keeps it for the
    /// API, which applies it to incoming alerts.
    pub resolve_timeout_ms: Millis,
    /// How long a resolved alert is kept after its end before it is
    /// forgotten (in memory and in the journal).
    pub retention_ms: Millis,
}

impl Default for AlertStoreOptions {
    fn default() -> Self {
        AlertStoreOptions {
            resolve_timeout_ms: DEFAULT_RESOLVE_TIMEOUT_MS,
            retention_ms: DEFAULT_RETENTION_MS,
        }
    }
}

/// A journal record that could not be decoded on open. It stays in the
/// journal until the next compaction removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRecord {
    /// The record's key (normally a big-endian sequence number).
    pub key: Vec<u8>,
    /// Why it did not decode.
    pub reason: String,
}

impl std::fmt::Display for UnreadableRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match <[u8; 8]>::try_from(self.key.as_slice()) {
            Ok(seq) => write!(
                f,
                "alert journal record {}: {}",
                u64::from_be_bytes(seq),
                self.reason
            ),
            Err(_) => write!(
                f,
                "alert journal record with key {:02x?}: {}",
                self.key, self.reason
            ),
        }
    }
}

type AlertMap = HashMap<Fingerprint, Arc<NotifyAlert>, fnv::FnvBuildHasher>;
type Subscribers = Mutex<Vec<tokio_mpsc::UnboundedSender<Vec<Arc<NotifyAlert>>>>>;

/// What the API and the writer share.
struct Shared {
    alerts: RwLock<AlertMap>,
    subscribers: Subscribers,
    /// Entries (alerts and tombstones) in the journal, for metrics and tests.
    journal_entries: AtomicUsize,
}

impl Shared {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, AlertMap> {
        self.alerts.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, AlertMap> {
        self.alerts.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer's answer to a put: the outcome, and the alerts as they were
/// handed in, for the putter to drop. The writer keeps copies of its own
/// (see [`compacted`]); were it to free the originals itself, its
/// allocator's thread cache would hand their chunks — in the putters'
/// heaps, between the requests' temporary buffers — straight back for the
/// next copies, and the copies would stay scattered there.
type PutAnswer = (Result<(), StoreError>, Vec<NotifyAlert>);

/// A request to the writer thread.
enum Request {
    Put {
        alerts: Vec<NotifyAlert>,
        reply: oneshot::Sender<PutAnswer>,
    },
    Gc {
        now: Millis,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    Compact {
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Shutdown,
}

/// The notifier's alerts; see the module documentation.
pub struct AlertStore {
    shared: Arc<Shared>,
    options: AlertStoreOptions,
    requests: mpsc::Sender<Request>,
    writer: Mutex<Option<JoinHandle<()>>>,
    unreadable: Vec<UnreadableRecord>,
    store_path: std::path::PathBuf,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertStore")
            .field("alerts", &self.len())
            .field("options", &self.options)
            .finish()
    }
}

impl AlertStore {
    /// Replays the journal of `store` and starts the writer thread. Records
    /// that do not decode are logged and reported by
    /// [`AlertStore::unreadable`]; alerts resolved longer than the retention
    /// ago are dropped on the way in.
    pub fn open(
        store: Arc<Store>,
        options: AlertStoreOptions,
    ) -> Result<Arc<AlertStore>, StoreError> {
        let records = store.load_records(RecordTable::NotifyAlerts)?;
        let mut alerts = AlertMap::default();
        let mut unreadable = Vec::new();
        let mut next_seq = 0u64;
        let mut entries = 0usize;
        let mut urls = UrlInterner::default();
        for (key, value) in records {
            let seq = match <[u8; 8]>::try_from(key.as_slice()) {
                Ok(bytes) => u64::from_be_bytes(bytes),
                Err(_) => {
                    unreadable.push(UnreadableRecord {
                        key,
                        reason: "the key is not an 8-byte sequence number".to_string(),
                    });
                    continue;
                }
            };
            next_seq = next_seq.max(seq.saturating_add(1));
            match decode_record(&value, &mut urls) {
                Ok(decoded) => {
                    entries += decoded.len();
                    for entry in decoded {
                        match entry {
                            Entry::Alert(alert) => {
                                alerts.insert(alert.labels.fingerprint(), Arc::new(alert));
                            }
                            Entry::Tombstone(fp) => {
                                alerts.remove(&fp);
                            }
                        }
                    }
                }
                Err(reason) => unreadable.push(UnreadableRecord { key, reason }),
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        alerts.retain(|_, a| !expired(a, now, options.retention_ms));
        urls.prune();
        for record in &unreadable {
            tracing::warn!(
                path = %store.path().display(),
                "skipping an unreadable record of the alert journal: {record}"
            );
        }
        alerts.shrink_to_fit();
        let shared = Arc::new(Shared {
            alerts: RwLock::new(alerts),
            subscribers: Mutex::new(Vec::new()),
            journal_entries: AtomicUsize::new(entries),
        });
        let (requests, inbox) = mpsc::channel();
        let store_path = store.path().to_path_buf();
        let writer = Writer {
            shared: Arc::clone(&shared),
            store,
            inbox,
            next_seq,
            retention_ms: options.retention_ms,
            compaction: None,
            next_gc: Instant::now() + GC_INTERVAL,
            urls,
        };
        let handle = std::thread::Builder::new()
            .name("klaxon-alert-journal".to_string())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Io {
                path: store_path.clone(),
                action: "start the alert journal writer for",
                source: e,
            })?;
        Ok(Arc::new(AlertStore {
            shared,
            options,
            requests,
            writer: Mutex::new(Some(handle)),
            unreadable,
            store_path,
        }))
    }

    /// Adds or updates `alerts` with Alertmanager's provider semantics: an
    /// alert whose activity range overlaps the stored one with the same
    /// fingerprint is merged into it ([`NotifyAlert::merge`]), otherwise it
    /// replaces it. Returns once the result is durable (shared fsync with
    /// other puts waiting at the same time), visible and published. On error
    /// nothing of this call was stored.
    pub async fn put(&self, alerts: Vec<NotifyAlert>) -> Result<(), StoreError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Request::Put { alerts, reply })?;
        match answer.await {
            // `handed_in` is dropped here, on the putter's thread.
            Ok((result, handed_in)) => {
                drop(handed_in);
                result
            }
            Err(_) => Err(self.stopped()),
        }
    }

    /// Forgets alerts resolved longer than the retention before `now`
    /// (durably, with tombstones) and returns how many. The writer does this
    /// by itself every [`GC_INTERVAL`] with the wall clock.
    pub async fn gc(&self, now: Millis) -> Result<usize, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Gc { now, reply })?;
        answer.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    /// Compacts the journal now, whatever its size, and returns when the
    /// compaction has finished (for tests and maintenance).
    pub async fn compact(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Compact { reply })?;
        answer.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    fn send(&self, request: Request) -> Result<(), StoreError> {
        self.requests.send(request).map_err(|_| self.stopped())
    }

    fn stopped(&self) -> StoreError {
        StoreError::Database {
            path: self.store_path.clone(),
            action: "write the alert journal to",
            detail: "the alert journal writer has stopped".to_string(),
        }
    }

    /// Every committed alert, merged, in commit order: one `Vec` per commit.
    /// Alerts stored before the call are not replayed (take a
    /// [`AlertStore::snapshot`] after subscribing for those).
    pub fn subscribe(&self) -> tokio_mpsc::UnboundedReceiver<Vec<Arc<NotifyAlert>>> {
        let (sender, receiver) = tokio_mpsc::unbounded_channel();
        self.shared
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        receiver
    }

    /// Every stored alert (firing and recently resolved), in no order.
    pub fn snapshot(&self) -> Vec<Arc<NotifyAlert>> {
        self.shared.read().values().cloned().collect()
    }

    /// The alert with this fingerprint.
    pub fn get(&self, fingerprint: Fingerprint) -> Option<Arc<NotifyAlert>> {
        self.shared.read().get(&fingerprint).cloned()
    }

    /// How many alerts are stored.
    pub fn len(&self) -> usize {
        self.shared.read().len()
    }

    /// No alert is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The settings the store was opened with.
    pub fn options(&self) -> AlertStoreOptions {
        self.options
    }

    /// Journal records that did not decode when the store was opened.
    pub fn unreadable(&self) -> &[UnreadableRecord] {
        &self.unreadable
    }

    /// Entries (alerts and tombstones) currently in the journal; compaction
    /// keeps it under about twice [`AlertStore::len`].
    pub fn journal_entries(&self) -> usize {
        self.shared.journal_entries.load(Ordering::Relaxed)
    }
}

impl Drop for AlertStore {
    /// Lets the writer finish what it was given, then waits for it, so the
    /// [`Store`] (and its data directory lock) is released when this returns.
    fn drop(&mut self) {
        let _ = self.requests.send(Request::Shutdown);
        let handle = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// `alert` re-allocated by this thread. Alerts are parsed on the HTTP
/// workers, between the request's temporary buffers; kept as they are, each
/// long-lived label set pins a hole-ridden stretch of a worker's heap (about
/// 150 bytes an alert at 100k alerts). Copied here, the live alerts sit
/// next to each other in the writer's heap and the workers' heaps hold only
/// short-lived data (the originals go back to the putters, see
/// [`PutAnswer`]). The generator URL becomes the shared copy in `urls`.
fn compacted(alert: &NotifyAlert, urls: &mut UrlInterner) -> NotifyAlert {
    NotifyAlert {
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        generator_url: urls.intern(&alert.generator_url),
        ..*alert
    }
}

/// The generator URLs of the stored alerts, one shared copy each.
///
/// Alerts of one rule all link to the same URL (a graph of the rule's
/// expression), so storing it once per alert would repeat the same ~100
/// bytes hundreds of thousands of times. The writer replaces every accepted
/// or replayed alert's URL with the copy here. A URL no alert uses any more
/// is held by this set alone (`Arc::strong_count == 1`) and is dropped at
/// the next prune; prunes run when the set has doubled since the last one
/// (so their cost is amortised over the insertions), when a compaction
/// starts and after a garbage collection removed alerts.
#[derive(Debug, Default)]
struct UrlInterner {
    urls: std::collections::HashSet<SharedStr, fnv::FnvBuildHasher>,
    /// Distinct URLs kept by the last prune.
    kept_at_last_prune: usize,
}

/// Below this many distinct URLs the set is never pruned for its size.
const URL_PRUNE_MIN: usize = 64;

impl UrlInterner {
    /// The shared copy of `url`, added when it is new.
    fn intern(&mut self, url: &str) -> SharedStr {
        if let Some(shared) = self.urls.get(url) {
            return shared.clone();
        }
        let limit = self.kept_at_last_prune.saturating_mul(2).max(URL_PRUNE_MIN);
        if self.urls.len() >= limit {
            self.prune();
        }
        let shared = SharedStr::from(url);
        self.urls.insert(shared.clone());
        shared
    }

    /// Drops the URLs no alert holds any more. Only the writer clones from
    /// this set, so a URL it alone holds cannot gain a holder meanwhile.
    fn prune(&mut self) {
        self.urls.retain(|url| url.holders() > 1);
        self.kept_at_last_prune = self.urls.len();
        self.urls.shrink_to(self.urls.len().saturating_mul(2));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.urls.len()
    }
}

/// Whether `alert` resolved longer than `retention` before `now`.
fn expired(alert: &NotifyAlert, now: Millis, retention: Millis) -> bool {
    alert.ends_at.saturating_add(retention) <= now
}

/// Alertmanager's condition for merging a pushed alert into the stored one:
/// their activity ranges overlap.
fn overlaps(old: &NotifyAlert, new: &NotifyAlert) -> bool {
    (new.ends_at > old.starts_at && new.ends_at < old.ends_at)
        || (new.starts_at > old.starts_at && new.starts_at < old.ends_at)
}

/// A compaction in progress: the live fingerprints still to copy.
struct Compaction {
    /// Sequence number of the first copy; everything below is superseded
    /// once `pending` is empty.
    first_seq: u64,
    pending: Vec<Fingerprint>,
    /// Entries written since `first_seq` (copies, puts and tombstones).
    entries_since: usize,
    /// Answered when the compaction finishes.
    waiting: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// The single writer of the journal (see the module documentation).
struct Writer {
    shared: Arc<Shared>,
    store: Arc<Store>,
    inbox: mpsc::Receiver<Request>,
    next_seq: u64,
    retention_ms: Millis,
    compaction: Option<Compaction>,
    next_gc: Instant,
    urls: UrlInterner,
}

/// The puts of one commit, each with what answers it.
#[derive(Default)]
struct Batch {
    puts: Vec<(Vec<NotifyAlert>, oneshot::Sender<PutAnswer>)>,
    /// Alerts in all of `puts`.
    alerts: usize,
}

impl Writer {
    fn run(mut self) {
        loop {
            // Wait for work, unless a compaction has steps left to do.
            let first = if self.compaction.is_some() {
                match self.inbox.try_recv() {
                    Ok(request) => Some(request),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                let timeout = self.next_gc.saturating_duration_since(Instant::now());
                match self.inbox.recv_timeout(timeout) {
                    Ok(request) => Some(request),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut batch = Batch::default();
            let mut shutdown = false;
            let mut next = first;
            while let Some(request) = next.take() {
                match request {
                    Request::Put { alerts, reply } => {
                        batch.alerts += alerts.len();
                        batch.puts.push((alerts, reply));
                    }
                    Request::Gc { now, reply } => {
                        let _ = reply.send(self.gc(now));
                    }
                    Request::Compact { reply } => self.start_compaction(Some(reply)),
                    Request::Shutdown => shutdown = true,
                }
                if shutdown || batch.alerts >= MAX_BATCH_ALERTS {
                    break;
                }
                next = self.inbox.try_recv().ok();
            }
            if !batch.puts.is_empty() || self.compaction.is_some() {
                self.commit(batch);
            }
            if shutdown {
                return;
            }
            if Instant::now() >= self.next_gc {
                self.next_gc = Instant::now() + GC_INTERVAL;
                let now = chrono::Utc::now().timestamp_millis();
                if let Err(error) = self.gc(now) {
                    tracing::error!("cannot forget long-resolved alerts: {error}");
                }
            }
        }
    }

    /// Merges, writes and publishes one batch of puts (plus a compaction
    /// step when one is running), all in one transaction.
    fn commit(&mut self, batch: Batch) {
        let mut overlay = AlertMap::with_capacity_and_hasher(batch.alerts, Default::default());
        let mut committed: Vec<Arc<NotifyAlert>> = Vec::with_capacity(batch.alerts);
        let mut ops = Vec::with_capacity(3);
        let mut seq = self.next_seq;
        if batch.alerts > 0 {
            let incoming = batch.puts.iter().flat_map(|(alerts, _)| alerts);
            let mut record = RecordWriter::with_capacity(incoming.clone().map(encoded_len).sum());
            {
                let live = self.shared.read();
                for alert in incoming {
                    let fp = alert.labels.fingerprint();
                    let existing = overlay.get(&fp).or_else(|| live.get(&fp));
                    let merged = match existing {
                        // The merge copies into this thread's heap already.
                        Some(old) if overlaps(old, alert) => {
                            let merged = old.merge(alert);
                            NotifyAlert {
                                generator_url: self.urls.intern(&merged.generator_url),
                                ..merged
                            }
                        }
                        _ => compacted(alert, &mut self.urls),
                    };
                    record.alert(&merged);
                    let merged = Arc::new(merged);
                    overlay.insert(fp, Arc::clone(&merged));
                    committed.push(merged);
                }
            }
            ops.push(journal_put(seq, record.finish()));
            seq += 1;
        }
        let mut entries = committed.len();
        let mut finished = None;
        if let Some(compaction) = self.compaction.as_mut() {
            let take = compaction.pending.len().min(COMPACT_CHUNK);
            let chunk = compaction
                .pending
                .split_off(compaction.pending.len() - take);
            let mut record = RecordWriter::new();
            let mut copies = 0;
            {
                let live = self.shared.read();
                for fp in chunk {
                    // The latest state, this batch included: a copy is never
                    // older than an entry written before it.
                    if let Some(alert) = overlay.get(&fp).or_else(|| live.get(&fp)) {
                        record.alert(alert);
                        copies += 1;
                    }
                }
            }
            if copies > 0 {
                ops.push(journal_put(seq, record.finish()));
                seq += 1;
                entries += copies;
            }
            if compaction.pending.is_empty() {
                ops.push(RecordOp::DeleteBelow {
                    table: RecordTable::NotifyAlerts,
                    key: compaction.first_seq.to_be_bytes().to_vec(),
                });
                finished = Some(compaction.entries_since + entries);
            }
        }
        match self.store.commit_records(&ops) {
            Ok(()) => {
                self.next_seq = seq;
                {
                    let mut live = self.shared.write();
                    live.extend(overlay);
                }
                match finished {
                    Some(total) => {
                        self.shared.journal_entries.store(total, Ordering::Relaxed);
                        if let Some(done) = self.compaction.take() {
                            for waiting in done.waiting {
                                let _ = waiting.send(Ok(()));
                            }
                        }
                    }
                    None => {
                        self.shared
                            .journal_entries
                            .fetch_add(entries, Ordering::Relaxed);
                        if let Some(compaction) = self.compaction.as_mut() {
                            compaction.entries_since += entries;
                        }
                    }
                }
                if !committed.is_empty() {
                    self.publish(committed);
                }
                for (alerts, reply) in batch.puts {
                    let _ = reply.send((Ok(()), alerts));
                }
                self.maybe_start_compaction();
            }
            Err(error) => {
                tracing::error!("cannot commit alerts to the journal: {error}");
                let detail = error.to_string();
                for (alerts, reply) in batch.puts {
                    let _ = reply.send((Err(error.duplicate()), alerts));
                }
                // Abandon a running compaction: the copies written so far
                // are harmless (replay keeps the latest entry), and the next
                // commit starts a new one if the journal is still too long.
                if let Some(compaction) = self.compaction.take() {
                    for waiting in compaction.waiting {
                        let _ = waiting.send(Err(StoreError::Database {
                            path: self.store.path().to_path_buf(),
                            action: "compact the alert journal in",
                            detail: detail.clone(),
                        }));
                    }
                }
                // Do not spin on a failing disk.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn publish(&self, committed: Vec<Arc<NotifyAlert>>) {
        let mut subscribers = self
            .shared
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|s| !s.is_closed());
        if let Some((last, others)) = subscribers.split_last() {
            for subscriber in others {
                let _ = subscriber.send(committed.clone());
            }
            let _ = last.send(committed);
        }
    }

    fn maybe_start_compaction(&mut self) {
        if self.compaction.is_some() {
            return;
        }
        let live = self.shared.read().len();
        let entries = self.shared.journal_entries.load(Ordering::Relaxed);
        if entries > live.saturating_mul(2).saturating_add(COMPACT_MIN_ENTRIES) {
            tracing::debug!(entries, live, "compacting the alert journal");
            self.start_compaction(None);
        }
    }

    fn start_compaction(&mut self, reply: Option<oneshot::Sender<Result<(), StoreError>>>) {
        match self.compaction.as_mut() {
            Some(running) => running.waiting.extend(reply),
            None => {
                self.urls.prune();
                let pending: Vec<Fingerprint> = self.shared.read().keys().copied().collect();
                self.compaction = Some(Compaction {
                    first_seq: self.next_seq,
                    pending,
                    entries_since: 0,
                    waiting: reply.into_iter().collect(),
                });
            }
        }
    }

    /// Removes alerts resolved longer than the retention, durably.
    fn gc(&mut self, now: Millis) -> Result<usize, StoreError> {
        let doomed: Vec<Fingerprint> = self
            .shared
            .read()
            .iter()
            .filter(|(_, alert)| expired(alert, now, self.retention_ms))
            .map(|(fp, _)| *fp)
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        let mut record = RecordWriter::new();
        for fp in &doomed {
            record.tombstone(*fp);
        }
        self.store
            .commit_records(&[journal_put(self.next_seq, record.finish())])?;
        self.next_seq += 1;
        {
            let mut live = self.shared.write();
            for fp in &doomed {
                live.remove(fp);
            }
        }
        self.shared
            .journal_entries
            .fetch_add(doomed.len(), Ordering::Relaxed);
        if let Some(compaction) = self.compaction.as_mut() {
            compaction.entries_since += doomed.len();
        }
        self.urls.prune();
        self.maybe_start_compaction();
        Ok(doomed.len())
    }
}

fn journal_put(seq: u64, value: Vec<u8>) -> RecordOp {
    RecordOp::Put {
        table: RecordTable::NotifyAlerts,
        key: seq.to_be_bytes().to_vec(),
        value,
    }
}

// ---- record encoding --------------------------------------------------------
//
// A record is a format byte followed by entries:
//   entry     := 1 alert | 2 tombstone
//   tombstone := fingerprint (u64 LE)
//   alert     := starts_at, ends_at, updated_at (i64 LE), flags (bit 0: timeout),
//                source (0 evaluator, 1 api, 2 webhook), labels, annotations,
//                generator_url
//   labels    := count (varint), then name and value strings
//   string    := length (varint) and UTF-8 bytes
// About 30 bytes plus the text per alert; far smaller and faster than JSON.

/// The first byte of every record this klaxon writes.
const RECORD_FORMAT: u8 = 1;
const TAG_ALERT: u8 = 1;
const TAG_TOMBSTONE: u8 = 2;

/// One decoded journal entry.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    Alert(NotifyAlert),
    Tombstone(Fingerprint),
}

struct RecordWriter {
    bytes: Vec<u8>,
}

impl RecordWriter {
    fn new() -> Self {
        Self::with_capacity(4096)
    }

    /// A writer for about `bytes` bytes of entries: one allocation for a
    /// whole commit instead of a series of doublings, each leaving a freed
    /// buffer behind between the alerts allocated meanwhile.
    fn with_capacity(bytes: usize) -> Self {
        let mut out = Vec::with_capacity(bytes.saturating_add(1));
        out.push(RECORD_FORMAT);
        RecordWriter { bytes: out }
    }

    fn alert(&mut self, alert: &NotifyAlert) {
        self.bytes.push(TAG_ALERT);
        self.bytes.extend_from_slice(&alert.starts_at.to_le_bytes());
        self.bytes.extend_from_slice(&alert.ends_at.to_le_bytes());
        self.bytes
            .extend_from_slice(&alert.updated_at.to_le_bytes());
        self.bytes.push(u8::from(alert.timeout));
        self.bytes.push(match alert.source {
            AlertSource::Evaluator => 0,
            AlertSource::Api => 1,
            AlertSource::AlertmanagerWebhook => 2,
        });
        self.labels(&alert.labels);
        self.labels(&alert.annotations);
        self.string(&alert.generator_url);
    }

    fn tombstone(&mut self, fp: Fingerprint) {
        self.bytes.push(TAG_TOMBSTONE);
        self.bytes.extend_from_slice(&fp.to_le_bytes());
    }

    fn labels(&mut self, labels: &LabelSet) {
        self.varint(labels.len() as u64);
        for (name, value) in labels.iter() {
            self.string(name);
            self.string(value);
        }
    }

    fn string(&mut self, text: &str) {
        self.varint(text.len() as u64);
        self.bytes.extend_from_slice(text.as_bytes());
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// About the size of `alert`'s entry (a little over: label offsets take at
/// least as much as the varint lengths), to size a record up front.
fn encoded_len(alert: &NotifyAlert) -> usize {
    40 + alert.labels.heap_bytes() + alert.annotations.heap_bytes() + alert.generator_url.len()
}

/// Decodes one record; never panics, whatever the bytes.
/// Generator URLs are taken from (and added to) `urls`.
fn decode_record(bytes: &[u8], urls: &mut UrlInterner) -> Result<Vec<Entry>, String> {
    let mut reader = RecordReader { bytes, at: 0, urls };
    match reader.u8()? {
        RECORD_FORMAT => {}
        other => {
            return Err(format!(
                "record format {other} is not one this klaxon reads (it reads {RECORD_FORMAT}); \
                 was it written by a newer klaxon?"
            ));
        }
    }
    let mut entries = Vec::new();
    while reader.at < bytes.len() {
        match reader.u8()? {
            TAG_ALERT => entries.push(Entry::Alert(reader.alert()?)),
            TAG_TOMBSTONE => entries.push(Entry::Tombstone(reader.u64()?)),
            other => {
                return Err(format!(
                    "unknown entry tag {other} at byte {}",
                    reader.at - 1
                ));
            }
        }
    }
    Ok(entries)
}

struct RecordReader<'a> {
    bytes: &'a [u8],
    at: usize,
    urls: &'a mut UrlInterner,
}

impl<'a> RecordReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.at..end];
                self.at = end;
                Ok(slice)
            }
            None => Err(format!(
                "truncated: {n} more bytes expected at byte {} of {}",
                self.at,
                self.bytes.len()
            )),
        }
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    fn i64(&mut self) -> Result<i64, String> {
        Ok(self.u64()? as i64)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint too long at byte {}", self.at))
    }

    fn string(&mut self) -> Result<&'a str, String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "length overflow".to_string())?;
        let start = self.at;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8 at byte {start}: {e}"))
    }

    fn labels(&mut self) -> Result<LabelSet, String> {
        let count = self.varint()?;
        // Every pair takes at least two bytes: bound the allocation by what
        // the record can actually hold.
        let bound = (self.bytes.len() - self.at) / 2;
        let count = usize::try_from(count)
            .ok()
            .filter(|c| *c <= bound)
            .ok_or_else(|| format!("label count {count} exceeds the record at byte {}", self.at))?;
        let mut pairs = Vec::with_capacity(count);
        for _ in 0..count {
            let name = self.string()?;
            let value = self.string()?;
            pairs.push((name, value));
        }
        Ok(LabelSet::from_pairs(pairs))
    }

    fn alert(&mut self) -> Result<NotifyAlert, String> {
        let starts_at = self.i64()?;
        let ends_at = self.i64()?;
        let updated_at = self.i64()?;
        let flags = self.u8()?;
        let source = match self.u8()? {
            0 => AlertSource::Evaluator,
            1 => AlertSource::Api,
            2 => AlertSource::AlertmanagerWebhook,
            other => return Err(format!("unknown alert source {other}")),
        };
        let labels = self.labels()?;
        let annotations = self.labels()?;
        let generator_url = self.string()?;
        let generator_url = self.urls.intern(generator_url);
        Ok(NotifyAlert {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
            updated_at,
            timeout: flags & 1 != 0,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, starts: Millis, ends: Millis, updated: Millis) -> NotifyAlert {
        NotifyAlert {
            labels: LabelSet::from_pairs([("alertname", name), ("job", "j")]),
            annotations: LabelSet::from_pairs([("summary", "it <broke> & \"why\"")]),
            starts_at: starts,
            ends_at: ends,
            generator_url: "http://prometheus/graph?g0.expr=up".into(),
            updated_at: updated,
            timeout: true,
            source: AlertSource::Api,
        }
    }

    fn open(dir: &std::path::Path) -> (Arc<Store>, Arc<AlertStore>) {
        let store = Arc::new(Store::open(dir).unwrap());
        let alerts = AlertStore::open(Arc::clone(&store), AlertStoreOptions::default()).unwrap();
        (store, alerts)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn records_round_trip_and_garbage_never_panics() {
        let mut writer = RecordWriter::new();
        let a = alert("A", 1, 2, 3);
        writer.alert(&a);
        writer.tombstone(42);
        let bytes = writer.finish();
        let mut urls = UrlInterner::default();
        assert_eq!(
            decode_record(&bytes, &mut urls).unwrap(),
            vec![Entry::Alert(a), Entry::Tombstone(42)]
        );
        // Every truncation and every single-byte corruption decodes or fails cleanly.
        for cut in 0..bytes.len() {
            let _ = decode_record(&bytes[..cut], &mut urls);
        }
        for at in 0..bytes.len() {
            for value in [0u8, 0x7F, 0x80, 0xFF] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                let _ = decode_record(&damaged, &mut urls);
            }
        }
        assert!(
            decode_record(&[9], &mut urls)
                .unwrap_err()
                .contains("newer klaxon")
        );
        assert!(
            decode_record(&[1, 1, 0], &mut urls)
                .unwrap_err()
                .contains("truncated")
        );
    }

    #[test]
    fn alerts_share_one_copy_of_each_generator_url() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let far = i64::MAX / 2;
        let with_url = |name: &str, url: &str| NotifyAlert {
            generator_url: url.into(),
            ..alert(name, 1, far, 1)
        };
        let same = |a: &str, b: &str, store: &AlertStore| {
            let url = |name: &str| {
                store
                    .snapshot()
                    .into_iter()
                    .find(|x| x.labels.value("alertname") == name)
                    .map(|x| x.generator_url.clone())
                    .unwrap()
            };
            SharedStr::ptr_eq(&url(a), &url(b))
        };
        {
            let (_store, alerts) = open(dir.path());
            rt.block_on(alerts.put(vec![
                with_url("A", "http://p/1"),
                with_url("B", "http://p/2"),
            ]))
            .unwrap();
            rt.block_on(alerts.put(vec![with_url("C", "http://p/1")]))
                .unwrap();
            assert!(same("A", "C", &alerts), "one copy across commits");
            assert!(!same("A", "B", &alerts));
        }
        let (_store, alerts) = open(dir.path());
        assert!(same("A", "C", &alerts), "one copy after replay");
        assert_eq!(
            alerts
                .get(with_url("C", "").labels.fingerprint())
                .unwrap()
                .generator_url
                .as_ref(),
            "http://p/1"
        );
    }

    #[test]
    fn url_interner_drops_urls_nobody_holds() {
        let mut urls = UrlInterner::default();
        let kept = urls.intern("http://kept");
        assert!(SharedStr::ptr_eq(&kept, &urls.intern("http://kept")));
        drop(urls.intern("http://dropped"));
        assert_eq!(urls.len(), 2);
        urls.prune();
        assert_eq!(urls.len(), 1);
        assert!(SharedStr::ptr_eq(&kept, &urls.intern("http://kept")));
        // Growth alone prunes: a stream of URLs nobody keeps stays bounded.
        for i in 0..10_000 {
            drop(urls.intern(&format!("http://once/{i}")));
        }
        assert!(urls.len() <= 2 * URL_PRUNE_MIN, "{}", urls.len());
        assert!(SharedStr::ptr_eq(&kept, &urls.intern("http://kept")));
    }

    #[test]
    fn put_merges_overlapping_pushes_like_alertmanager() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, alerts) = open(dir.path());
        let rt = runtime();
        let first = alert("A", 1_000, 10_000, 1_000);
        let fp = first.labels.fingerprint();
        rt.block_on(alerts.put(vec![first])).unwrap();
        // A later push that starts inside the stored range is merged: the
        // earliest start wins.
        let mut second = alert("A", 2_000, 20_000, 2_000);
        second.annotations = LabelSet::from_pairs([("summary", "new")]);
        rt.block_on(alerts.put(vec![second])).unwrap();
        let stored = alerts.get(fp).unwrap();
        assert_eq!(stored.starts_at, 1_000);
        assert_eq!(stored.ends_at, 20_000);
        assert_eq!(stored.annotations.get("summary"), Some("new"));
        // A push that does not overlap (a new firing after the old resolved)
        // replaces it.
        let third = alert("A", 30_000, 40_000, 30_000);
        rt.block_on(alerts.put(vec![third.clone()])).unwrap();
        assert_eq!(*alerts.get(fp).unwrap(), third);
        assert_eq!(alerts.len(), 1);
    }

    #[test]
    fn alerts_survive_reopen_and_garbage_records_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let expected: Vec<NotifyAlert> = (0..250)
            .map(|i| alert(&format!("A{i}"), 1_000, i64::MAX / 2, 1_000 + i))
            .collect();
        {
            let (_store, alerts) = open(dir.path());
            rt.block_on(alerts.put(expected[..100].to_vec())).unwrap();
            rt.block_on(alerts.put(expected[100..].to_vec())).unwrap();
        }
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .commit_records(&[
                    journal_put(1000, vec![1, 1, 2, 3]),
                    journal_put(1001, vec![77]),
                    RecordOp::Put {
                        table: RecordTable::NotifyAlerts,
                        key: b"bad".to_vec(),
                        value: vec![1],
                    },
                ])
                .unwrap();
        }
        let (_store, alerts) = open(dir.path());
        let mut loaded: Vec<NotifyAlert> =
            alerts.snapshot().iter().map(|a| (**a).clone()).collect();
        loaded.sort_by_key(|a| a.updated_at);
        assert_eq!(loaded, expected);
        let reasons: Vec<String> = alerts.unreadable().iter().map(|r| r.to_string()).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].starts_with("alert journal record 1000: truncated"));
        assert!(reasons[1].contains("record 1001: record format 77"));
        assert!(reasons[2].contains("not an 8-byte sequence number"));
        // New records go after the highest sequence seen, even an unreadable one.
        rt.block_on(alerts.put(vec![alert("B", 1, i64::MAX / 2, 1)]))
            .unwrap();
        let keys: Vec<Vec<u8>> = _store
            .load_records(RecordTable::NotifyAlerts)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(keys.contains(&1002u64.to_be_bytes().to_vec()));
    }

    #[test]
    fn subscribers_see_merged_alerts_in_commit_order() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, alerts) = open(dir.path());
        let rt = runtime();
        let mut events = alerts.subscribe();
        rt.block_on(alerts.put(vec![alert("A", 1_000, 10_000, 1_000)]))
            .unwrap();
        rt.block_on(alerts.put(vec![
            alert("B", 1, 10_000, 1),
            alert("A", 5_000, 20_000, 2_000),
        ]))
        .unwrap();
        let first = events.try_recv().unwrap();
        assert_eq!(first.len(), 1);
        let second = events.try_recv().unwrap();
        let names: Vec<&str> = second.iter().map(|a| a.labels.value("alertname")).collect();
        assert_eq!(names, ["B", "A"]);
        assert_eq!(second[1].starts_at, 1_000, "published after the merge");
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn gc_forgets_long_resolved_alerts_durably() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let hour = 3_600_000;
        {
            let (_store, alerts) = open(dir.path());
            rt.block_on(alerts.put(vec![
                alert("Old", 0, 10 * hour, 0),
                alert("Recent", 0, 20 * hour, 0),
                alert("Firing", 0, 100 * hour, 0),
            ]))
            .unwrap();
            assert_eq!(rt.block_on(alerts.gc(20 * hour + 1)).unwrap(), 1);
            assert_eq!(alerts.len(), 2);
        }
        // The wall clock is far past these times: reopening drops the rest
        // too, except with a retention that keeps them.
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let options = AlertStoreOptions {
            retention_ms: i64::MAX / 4,
            ..AlertStoreOptions::default()
        };
        let alerts = AlertStore::open(store, options).unwrap();
        let mut names: Vec<String> = alerts
            .snapshot()
            .iter()
            .map(|a| a.labels.value("alertname").to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["Firing", "Recent"]);
    }

    #[test]
    fn compaction_keeps_the_latest_state_and_shrinks_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let far = i64::MAX / 2;
        let expected = {
            let (store, alerts) = open(dir.path());
            // 50 alerts updated 200 times each: 10,000 entries for 50 live.
            for round in 0..200 {
                let batch: Vec<NotifyAlert> = (0..50)
                    .map(|i| {
                        let mut a = alert(&format!("A{i}"), 1_000, far, round);
                        a.annotations = LabelSet::from_pairs([("round", &*round.to_string())]);
                        a
                    })
                    .collect();
                rt.block_on(alerts.put(batch)).unwrap();
            }
            // Automatic compaction kicked in past 2×50+4096 entries.
            rt.block_on(alerts.compact()).unwrap();
            assert!(
                alerts.journal_entries() < 5_000,
                "{}",
                alerts.journal_entries()
            );
            rt.block_on(alerts.compact()).unwrap();
            assert_eq!(alerts.journal_entries(), 50);
            assert_eq!(
                store.load_records(RecordTable::NotifyAlerts).unwrap().len(),
                1
            );
            let mut all: Vec<NotifyAlert> =
                alerts.snapshot().iter().map(|a| (**a).clone()).collect();
            all.sort_by_key(|a| a.labels.to_string());
            all
        };
        let (_store, alerts) = open(dir.path());
        let mut all: Vec<NotifyAlert> = alerts.snapshot().iter().map(|a| (**a).clone()).collect();
        all.sort_by_key(|a| a.labels.to_string());
        assert_eq!(all, expected);
        assert!(
            all.iter()
                .all(|a| a.annotations.get("round") == Some("199"))
        );
    }
}
