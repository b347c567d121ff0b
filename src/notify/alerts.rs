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
//!
//! # Files
//!
//! This file is the store's interface and its replay on open; the writer
//! thread (group commit, garbage collection, compaction) is in `writer.rs`,
//! the record format in `record.rs`, the shared generator URLs in `urls.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use super::alert::NotifyAlert;
use crate::store::{RecordTable, Store, StoreError};
use crate::vocab::labels::Fingerprint;
use crate::vocab::time::Millis;
use record::{Entry, decode_record};
use urls::UrlInterner;
use writer::Writer;

mod record;
mod urls;
mod writer;

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

use crate::model::notifier::DEFAULT_RESOLVE_TIMEOUT_MS;

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
/// (see [`writer`]); were it to free the originals itself, its
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
    relay: RwLock<Option<Relay>>,
}

/// Hands alerts received on this replica to the other replicas of a
/// cluster (set by the wiring; never called for relayed alerts).
pub type Relay = Arc<dyn Fn(&[NotifyAlert]) + Send + Sync>;

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
            relay: RwLock::new(None),
        }))
    }

    /// Adds or updates `alerts` with Alertmanager's provider semantics: an
    /// alert whose activity range overlaps the stored one with the same
    /// fingerprint is merged into it ([`NotifyAlert::merge`]), otherwise it
    /// replaces it. Returns once the result is durable (shared fsync with
    /// other puts waiting at the same time), visible and published. On error
    /// nothing of this call was stored.
    pub async fn put(&self, alerts: Vec<NotifyAlert>) -> Result<(), StoreError> {
        let relay = self.relay.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(relay) = relay
            && !alerts.is_empty()
        {
            relay(&alerts);
        }
        self.put_relayed(alerts).await
    }

    /// [`AlertStore::put`] of alerts another replica received (and relayed
    /// already): stored here, not relayed again.
    pub async fn put_relayed(&self, alerts: Vec<NotifyAlert>) -> Result<(), StoreError> {
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

    /// Relays every alert put from now on (a cluster replica's wiring).
    pub fn set_relay(&self, relay: Relay) {
        *self.relay.write().unwrap_or_else(|e| e.into_inner()) = Some(relay);
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

/// Whether `alert` resolved longer than `retention` before `now`.
fn expired(alert: &NotifyAlert, now: Millis, retention: Millis) -> bool {
    alert.ends_at.saturating_add(retention) <= now
}

#[cfg(test)]
mod tests {
    use super::record::journal_put;
    use super::*;
    use crate::notify::alert::{AlertSource, SharedStr};
    use crate::store::RecordOp;
    use crate::vocab::labels::LabelSet;

    /// An alert of the store's tests, its URL and annotation as an API push has them.
    pub(super) fn alert(name: &str, starts: Millis, ends: Millis, updated: Millis) -> NotifyAlert {
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
