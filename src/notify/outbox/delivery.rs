//! The delivery loop: starts the head notification of every lane whose turn
//! has come (oldest first, bounded), and records each outcome durably.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::records::{self, Lane};
use super::{HistoryEntry, HistoryStatus, Outbox, State, human_ms};
use crate::notify::receivers::{Delivered, DeliveryError};
use crate::store::{RecordOp, RecordTable};
use crate::vocab::time::Millis;

/// Log and history retention are enforced this often.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);
/// The loop re-checks the clock at least this often (wall-clock jumps).
const LONGEST_NAP: Duration = Duration::from_secs(5);

/// A notification to record as failed.
pub(super) struct Failure {
    pub seq: u64,
    pub kind: String,
    /// Why it was given up (the history's `detail`).
    pub reason: String,
}

/// A failure prepared for the store, applied in memory once committed.
pub(super) struct Failed {
    seq: u64,
    lane: Lane,
    hseq: u64,
    entry: HistoryEntry,
    kind: String,
    clear_log: bool,
}

/// Marks the lane free again when an attempt ends, however it ends (done,
/// panicked, or aborted at shutdown).
struct LaneTurn {
    outbox: Arc<Outbox>,
    lane: Lane,
    finished: bool,
}

impl Drop for LaneTurn {
    fn drop(&mut self) {
        {
            let mut state = self.outbox.lock();
            let (remove, head) = match state.lanes.get_mut(&self.lane) {
                Some(lane) => {
                    lane.busy = false;
                    (lane.queue.is_empty(), lane.queue.front().copied())
                }
                None => (false, None),
            };
            if remove {
                state.lanes.remove(&self.lane);
            }
            if !self.finished {
                // The send panicked or was aborted: do not spin on it.
                let not_before = self.outbox.options.clock.now().saturating_add(
                    Millis::try_from(self.outbox.options.backoff_initial_ms).unwrap_or(0),
                );
                if let Some(p) = head.and_then(|seq| state.entries.get_mut(&seq)) {
                    p.next_attempt_at = Some(not_before);
                }
            }
        }
        self.outbox.wake.notify_one();
    }
}

impl Outbox {
    /// Starts the delivery loop. It delivers until `shutdown` turns true (or
    /// its sender is dropped), then stops starting sends, gives those in
    /// flight [`super::OutboxOptions::shutdown_grace_ms`] to finish and
    /// returns; what is left stays in the outbox for the next start.
    pub fn run(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let outbox = Arc::clone(self);
        tokio::spawn(outbox.deliver_until(shutdown))
    }

    async fn deliver_until(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if self.running.swap(true, Ordering::SeqCst) {
            tracing::warn!("the outbox's delivery loop is already running; not starting another");
            return;
        }
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut next_maintenance = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            if tokio::time::Instant::now() >= next_maintenance {
                self.enforce_retention().await;
                next_maintenance = tokio::time::Instant::now() + MAINTENANCE_EVERY;
            }
            self.fail_orphans().await;
            let nap = self.start_due(&mut in_flight).min(LONGEST_NAP);
            tokio::select! {
                _ = self.wake.notified() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(nap) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        let grace = Duration::from_millis(self.options.shutdown_grace_ms);
        let drained = tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = in_flight.len(),
                "notifications still being sent at shutdown were abandoned; they stay in the \
                 outbox and are sent again at the next start"
            );
        }
        in_flight.shutdown().await;
        self.running.store(false, Ordering::SeqCst);
    }

    /// Starts the head of every free lane that is due, oldest first, up to
    /// the in-flight bound. Returns how long until the next one is due.
    fn start_due(self: &Arc<Self>, in_flight: &mut JoinSet<()>) -> Duration {
        let now = self.options.clock.now();
        let slots = self
            .options
            .max_in_flight
            .max(1)
            .saturating_sub(in_flight.len());
        let mut state = self.lock();
        let mut due: Vec<(u64, Lane)> = Vec::new();
        let mut soonest: Option<Millis> = None;
        for (lane, lane_state) in &state.lanes {
            if lane_state.busy {
                continue;
            }
            let Some(seq) = lane_state.queue.front().copied() else {
                continue;
            };
            match state.entries.get(&seq).and_then(|p| p.next_attempt_at) {
                Some(at) if at > now => soonest = Some(soonest.map_or(at, |s| s.min(at))),
                _ => due.push((seq, lane.clone())),
            }
        }
        let waiting = due.len() > slots;
        due.sort_unstable_by_key(|(seq, _)| *seq);
        for (seq, lane) in due.into_iter().take(slots) {
            if let Some(lane_state) = state.lanes.get_mut(&lane) {
                lane_state.busy = true;
            }
            let turn = LaneTurn {
                outbox: Arc::clone(self),
                lane,
                finished: false,
            };
            in_flight.spawn(turn.attempt(seq));
        }
        drop(state);
        if waiting {
            // A slot frees when an attempt ends, which wakes the loop.
            return LONGEST_NAP;
        }
        soonest.map_or(LONGEST_NAP, |at| {
            Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
        })
    }

    /// Records as failed every pending notification of a free lane whose
    /// receiver integration no longer exists (after a reload, or a restart
    /// with another configuration).
    async fn fail_orphans(&self) {
        let orphans: Vec<Failure> = {
            let mut state = self.lock();
            if !std::mem::take(&mut state.sweep_orphans) {
                return;
            }
            let state = &*state;
            state
                .lanes
                .iter()
                .filter(|(lane, lane_state)| !lane_state.busy && state.deliverer(lane).is_none())
                .flat_map(|(lane, lane_state)| {
                    let reason = orphan_reason(state, lane);
                    lane_state.queue.iter().map(move |&seq| Failure {
                        seq,
                        kind: "unknown".to_string(),
                        reason: reason.clone(),
                    })
                })
                .collect()
        };
        if !orphans.is_empty() {
            self.record_failed(orphans).await;
        }
    }

    /// Records failures in one commit: out of the outbox, into the history,
    /// and the lane's log entry removed when it is the one this
    /// notification wrote (so the next flush notifies again). The delivery
    /// listener hears of each, even when the commit failed: the failure is
    /// final for this process either way.
    async fn record_failed(&self, failures: Vec<Failure>) {
        let _log_commit = self.log_commit.lock().await;
        let now = self.options.clock.now();
        let (ops, done) = {
            let mut state = self.lock();
            self.prepare_failed(&mut state, failures, now)
        };
        for failed in &done {
            let entry = &failed.entry;
            tracing::warn!(
                receiver = %entry.receiver,
                integration = entry.integration,
                kind = %failed.kind,
                group = %entry.group_key,
                id = %entry.id,
                attempts = entry.attempts,
                reason = entry.detail.as_deref().unwrap_or(""),
                "notification failed"
            );
        }
        if let Err(e) = self.commit(ops).await {
            tracing::error!(
                error = %e,
                "recording failed notifications did not reach the disk; after a restart they \
                 are tried again"
            );
        }
        let settled: Vec<(String, bool)> =
            done.iter().map(|f| (f.entry.id.clone(), false)).collect();
        let mut state = self.lock();
        self.apply_failed(&mut state, done, now);
        drop(state);
        self.settled(&settled);
    }

    /// The ops recording `failures` (see [`Self::record_failed`]), and what
    /// [`Self::apply_failed`] applies in memory once they are committed.
    pub(super) fn prepare_failed(
        &self,
        state: &mut State,
        failures: Vec<Failure>,
        now: Millis,
    ) -> (Vec<RecordOp>, Vec<Failed>) {
        let mut ops = Vec::new();
        let mut done = Vec::new();
        for failure in failures {
            let Some(pending) = state.entries.get(&failure.seq) else {
                continue;
            };
            let lane = Lane::of(&pending.notification);
            let mut entry = HistoryEntry::of(pending, &failure.kind, HistoryStatus::Failed);
            entry.failed_at = Some(now);
            entry.detail = Some(failure.reason);
            ops.push(records::delete(
                RecordTable::Outbox,
                records::seq_key(failure.seq),
            ));
            let clear_log = state.log.get(&lane).is_some_and(|l| l.seq == failure.seq);
            if clear_log {
                ops.push(records::delete(RecordTable::NotifyLog, lane.key()));
            }
            let hseq = history_put(state, &entry, &mut ops);
            done.push(Failed {
                seq: failure.seq,
                lane,
                hseq,
                entry,
                kind: failure.kind,
                clear_log,
            });
        }
        ops.extend(self.history_prune(state, done.len(), now));
        (ops, done)
    }

    /// The in-memory side of [`Self::prepare_failed`]'s ops.
    pub(super) fn apply_failed(&self, state: &mut State, done: Vec<Failed>, now: Millis) {
        for failed in done {
            let Failed {
                seq,
                lane,
                hseq,
                entry,
                kind,
                clear_log,
            } = failed;
            state.entries.remove(&seq);
            if let Some(lane_state) = state.lanes.get_mut(&lane) {
                lane_state.queue.retain(|s| *s != seq);
                if lane_state.queue.is_empty() && !lane_state.busy {
                    state.lanes.remove(&lane);
                }
            }
            if clear_log {
                state.log.remove(&lane);
            }
            state.count(&entry.receiver, &kind).failed += 1;
            state.history.insert(hseq, entry);
        }
        self.apply_history_prune(state, now);
    }

    /// Records a success in one commit: out of the outbox, the lane's thread
    /// stored, the history entry written; then tells the delivery listener
    /// (even when the commit failed: the receiver has it).
    async fn record_delivered(&self, seq: u64, kind: &str, delivered: Delivered) {
        let now = self.options.clock.now();
        let mut ops = Vec::with_capacity(4);
        let (lane, hseq, entry) = {
            let mut state = self.lock();
            let Some(pending) = state.entries.get(&seq) else {
                return;
            };
            let lane = Lane::of(&pending.notification);
            let mut entry = HistoryEntry::of(pending, kind, HistoryStatus::Delivered);
            entry.delivered_at = Some(now);
            entry.detail = Some(delivered.detail);
            ops.push(records::delete(RecordTable::Outbox, records::seq_key(seq)));
            ops.push(match &delivered.thread {
                Some(thread) => {
                    records::put(RecordTable::Threads, lane.key(), thread.as_bytes().to_vec())
                }
                None => records::delete(RecordTable::Threads, lane.key()),
            });
            let hseq = history_put(&mut state, &entry, &mut ops);
            ops.extend(self.history_prune(&mut state, 1, now));
            (lane, hseq, entry)
        };
        if let Err(e) = self.commit(ops).await {
            tracing::error!(
                error = %e,
                id = %entry.id,
                "a delivered notification could not be recorded; after a restart it is sent again"
            );
        }
        tracing::debug!(
            receiver = %entry.receiver,
            kind,
            group = %entry.group_key,
            id = %entry.id,
            attempts = entry.attempts,
            "notification delivered"
        );
        let mut state = self.lock();
        state.entries.remove(&seq);
        if let Some(lane_state) = state.lanes.get_mut(&lane) {
            lane_state.queue.retain(|s| *s != seq);
        }
        match delivered.thread {
            Some(thread) => state.threads.insert(lane, thread),
            None => state.threads.remove(&lane),
        };
        state.count(&entry.receiver, kind).delivered += 1;
        let id = entry.id.clone();
        state.history.insert(hseq, entry);
        self.apply_history_prune(&mut state, now);
        drop(state);
        self.settled(&[(id, true)]);
    }

    /// After a retryable failure: another try after the backoff, or failed
    /// when the notification is past its give-up age.
    async fn retry_or_give_up(
        &self,
        seq: u64,
        kind: &str,
        error: String,
        retry_after: Option<Duration>,
    ) {
        let now = self.options.clock.now();
        let give_up = {
            let mut state = self.lock();
            let Some(pending) = state.entries.get_mut(&seq) else {
                return;
            };
            pending.last_error = Some(error.clone());
            let age = now.saturating_sub(pending.notification.created_at);
            if u64::try_from(age).unwrap_or(0) >= self.options.give_up_after_ms {
                Some(format!(
                    "gave up after {} attempt{} over {}: {error}",
                    pending.attempts,
                    if pending.attempts == 1 { "" } else { "s" },
                    human_ms(u64::try_from(age).unwrap_or(0)),
                ))
            } else {
                let delay = {
                    let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                    self.backoff.delay(pending.attempts, retry_after, &mut rng)
                };
                let delay_ms = Millis::try_from(delay.as_millis()).unwrap_or(Millis::MAX);
                pending.next_attempt_at = Some(now.saturating_add(delay_ms));
                tracing::info!(
                    receiver = %pending.notification.receiver,
                    kind,
                    id = %pending.notification.id,
                    attempts = pending.attempts,
                    retry_in = %human_ms(delay.as_millis().try_into().unwrap_or(u64::MAX)),
                    error = %error,
                    "notification not delivered; will retry"
                );
                None
            }
        };
        match give_up {
            Some(reason) => {
                self.record_failed(vec![Failure {
                    seq,
                    kind: kind.to_string(),
                    reason,
                }])
                .await;
            }
            None => {
                // Keep the attempt count and the schedule across a restart.
                let stored = {
                    let mut state = self.lock();
                    let receiver = state
                        .entries
                        .get(&seq)
                        .map(|p| p.notification.receiver.clone());
                    if let Some(receiver) = receiver {
                        state.count(&receiver, kind).retries += 1;
                    }
                    state.entries.get(&seq).map(|p| p.encoded())
                };
                if let Some(stored) = stored {
                    let op = records::put(RecordTable::Outbox, records::seq_key(seq), stored);
                    if let Err(e) = self.commit(vec![op]).await {
                        tracing::warn!(error = %e, "could not store a notification's retry count");
                    }
                }
            }
        }
    }

    /// The prune op keeping the history within its limit and retention once
    /// `adding` more entries land; the in-memory side follows in
    /// [`Self::apply_history_prune`].
    pub(super) fn history_prune(
        &self,
        state: &mut State,
        adding: usize,
        now: Millis,
    ) -> Option<RecordOp> {
        let first_kept = self.first_kept_history(state, adding, now)?;
        Some(RecordOp::DeleteBelow {
            table: RecordTable::History,
            key: records::seq_key(first_kept),
        })
    }

    fn first_kept_history(&self, state: &State, adding: usize, now: Millis) -> Option<u64> {
        let limit = self.options.history_limit.max(1);
        let total = state.history.len() + adding;
        let mut first_kept: Option<u64> = None;
        if total > limit {
            let drop = total - limit;
            // Past the stored entries the new ones (larger numbers) begin.
            first_kept = Some(
                state
                    .history
                    .keys()
                    .nth(drop)
                    .copied()
                    .unwrap_or(state.next_history_seq.saturating_sub(adding as u64)),
            );
        }
        if self.options.history_retention_ms > 0 {
            let retention =
                Millis::try_from(self.options.history_retention_ms).unwrap_or(Millis::MAX);
            let cutoff = now.saturating_sub(retention);
            let expired_until = state
                .history
                .iter()
                .find(|(_, e)| e.finished_at().unwrap_or(Millis::MAX) >= cutoff)
                .map(|(k, _)| *k)
                .or_else(|| state.history.keys().next_back().map(|k| k + 1));
            if let Some(k) = expired_until {
                first_kept = Some(first_kept.map_or(k, |f| f.max(k)));
            }
        }
        let oldest = state.history.keys().next().copied()?;
        first_kept.filter(|k| *k > oldest)
    }

    fn apply_history_prune(&self, state: &mut State, now: Millis) {
        if let Some(first_kept) = self.first_kept_history(state, 0, now) {
            state.history = state.history.split_off(&first_kept);
        }
    }

    /// Forgets log entries past the log retention and history past its
    /// retention.
    async fn enforce_retention(&self) {
        let now = self.options.clock.now();
        let _log_commit = self.log_commit.lock().await;
        let mut ops = Vec::new();
        let expired: Vec<Lane> = {
            let mut state = self.lock();
            ops.extend(self.history_prune(&mut state, 0, now));
            if self.options.log_retention_ms == 0 {
                Vec::new()
            } else {
                let retention =
                    Millis::try_from(self.options.log_retention_ms).unwrap_or(Millis::MAX);
                let cutoff = now.saturating_sub(retention);
                state
                    .log
                    .iter()
                    .filter(|(_, l)| l.entry.at < cutoff && !state.entries.contains_key(&l.seq))
                    .map(|(lane, _)| lane.clone())
                    .collect()
            }
        };
        ops.extend(
            expired
                .iter()
                .map(|lane| records::delete(RecordTable::NotifyLog, lane.key())),
        );
        if ops.is_empty() {
            return;
        }
        if let Err(e) = self.commit(ops).await {
            tracing::warn!(error = %e, "could not prune the notification log and history");
            return;
        }
        let mut state = self.lock();
        for lane in expired {
            state.log.remove(&lane);
        }
        self.apply_history_prune(&mut state, now);
    }
}

impl LaneTurn {
    /// Sends the lane's head notification once and records the outcome.
    async fn attempt(mut self, seq: u64) {
        let outbox = Arc::clone(&self.outbox);
        let started = outbox.options.clock.now();
        let prepared = {
            let mut state = outbox.lock();
            let deliverer = state.deliverer(&self.lane);
            let orphan = orphan_reason(&state, &self.lane);
            let thread = state.threads.get(&self.lane).cloned();
            match state.entries.get_mut(&seq) {
                None => None,
                Some(pending) => match deliverer {
                    Some(deliverer) => {
                        pending.attempts = pending.attempts.saturating_add(1);
                        pending.first_attempt_at.get_or_insert(started);
                        Some(Ok((Arc::clone(&pending.notification), thread, deliverer)))
                    }
                    None => Some(Err(orphan)),
                },
            }
        };
        match prepared {
            None => {}
            Some(Err(reason)) => {
                outbox
                    .record_failed(vec![Failure {
                        seq,
                        kind: "unknown".to_string(),
                        reason,
                    }])
                    .await;
            }
            Some(Ok((notification, thread, deliverer))) => {
                let kind = deliverer.kind();
                let timeout = Duration::from_millis(outbox.options.attempt_timeout_ms);
                let sent =
                    tokio::time::timeout(timeout, deliverer.send(&notification, thread.as_deref()))
                        .await;
                match sent {
                    Ok(Ok(delivered)) => outbox.record_delivered(seq, kind, delivered).await,
                    Ok(Err(DeliveryError::Permanent { reason })) => {
                        if let Some(pending) = outbox.lock().entries.get_mut(&seq) {
                            pending.last_error = Some(reason.clone());
                        }
                        outbox
                            .record_failed(vec![Failure {
                                seq,
                                kind: kind.to_string(),
                                reason: format!("permanent error: {reason}"),
                            }])
                            .await;
                    }
                    Ok(Err(DeliveryError::Retryable {
                        reason,
                        retry_after,
                    })) => {
                        outbox
                            .retry_or_give_up(seq, kind, reason, retry_after)
                            .await;
                    }
                    Err(_) => {
                        let reason = format!(
                            "no answer within {} (attempt timeout)",
                            human_ms(outbox.options.attempt_timeout_ms)
                        );
                        outbox.retry_or_give_up(seq, kind, reason, None).await;
                    }
                }
            }
        }
        self.finished = true;
    }
}

/// Why a lane's integration is missing.
fn orphan_reason(state: &State, lane: &Lane) -> String {
    let integrations = state.receivers.integrations(&lane.receiver);
    if integrations.is_empty() {
        format!(
            "receiver removed by reload: `{}` is not configured any more",
            lane.receiver
        )
    } else {
        format!(
            "integration removed by reload: receiver `{}` has {} integration{}, this was #{}",
            lane.receiver,
            integrations.len(),
            if integrations.len() == 1 { "" } else { "s" },
            lane.integration
        )
    }
}

/// Takes the next history sequence number and adds the op writing `entry`
/// under it; returns the number.
fn history_put(state: &mut State, entry: &HistoryEntry, ops: &mut Vec<RecordOp>) -> u64 {
    let hseq = state.next_history_seq;
    state.next_history_seq += 1;
    ops.push(records::put(
        RecordTable::History,
        records::seq_key(hseq),
        records::encode(entry),
    ));
    hseq
}
