//! The single writer of the alert journal: it takes the puts waiting at a
//! moment, merges them as Alertmanager does, commits them in one fsynced
//! transaction (group commit), then makes them visible and answers; it also
//! runs garbage collection and compaction (see [`super`]).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::record::{RecordWriter, encoded_len, journal_put};
use super::urls::UrlInterner;
use super::{
    AlertMap, COMPACT_CHUNK, COMPACT_MIN_ENTRIES, GC_INTERVAL, MAX_BATCH_ALERTS, PutAnswer,
    Request, Shared, expired,
};
use crate::notify::alert::NotifyAlert;
use crate::store::{RecordOp, RecordTable, Store, StoreError};
use crate::vocab::labels::Fingerprint;
use crate::vocab::time::Millis;

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

/// Alertmanager's condition for merging a pushed alert into the stored one:
/// their activity ranges overlap.
fn overlaps(old: &NotifyAlert, new: &NotifyAlert) -> bool {
    (new.ends_at > old.starts_at && new.ends_at < old.ends_at)
        || (new.starts_at > old.starts_at && new.starts_at < old.ends_at)
}

/// A compaction in progress: the live fingerprints still to copy.
pub(super) struct Compaction {
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
pub(super) struct Writer {
    pub(super) shared: Arc<Shared>,
    pub(super) store: Arc<Store>,
    pub(super) inbox: mpsc::Receiver<Request>,
    pub(super) next_seq: u64,
    pub(super) retention_ms: Millis,
    pub(super) compaction: Option<Compaction>,
    pub(super) next_gc: Instant,
    pub(super) urls: UrlInterner,
}

/// The puts of one commit, each with what answers it.
#[derive(Default)]
struct Batch {
    puts: Vec<(Vec<NotifyAlert>, oneshot::Sender<PutAnswer>)>,
    /// Alerts in all of `puts`.
    alerts: usize,
}

impl Writer {
    pub(super) fn run(mut self) {
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
