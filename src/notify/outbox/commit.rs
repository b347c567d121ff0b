//! Group commit: every outbox write waits for an fsync, and concurrent
//! writers (32 lanes finishing sends, an enqueue) share one. While a commit
//! runs, the next writers queue; the committer thread then writes all of
//! them in one transaction. A thousand deliveries cost tens of fsyncs, not
//! a thousand.
//!
//! The committer runs on a blocking thread, so no async cancellation (a
//! task aborted at shutdown) can leave the queue without one.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::store::{RecordOp, Store, StoreError};

type Waiter = oneshot::Sender<Result<(), StoreError>>;

#[derive(Default)]
struct Queue {
    waiting: Vec<(Vec<RecordOp>, Waiter)>,
    /// A committer thread is draining the queue.
    running: bool,
}

/// The outbox's path to the store.
pub(crate) struct GroupCommit {
    store: Arc<Store>,
    queue: Mutex<Queue>,
}

/// Lets a new committer start if this one ends (even by a panic in redb);
/// the waiters of the batch it held see their senders dropped.
struct Running<'a>(&'a GroupCommit);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.lock().running = false;
    }
}

impl GroupCommit {
    pub fn new(store: Arc<Store>) -> Arc<GroupCommit> {
        Arc::new(GroupCommit {
            store,
            queue: Mutex::new(Queue::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `ops` durably, in order, possibly in one transaction with
    /// other writers' ops (each writer's ops stay together and in order).
    /// All or nothing for the shared transaction.
    pub async fn commit(self: &Arc<Self>, ops: Vec<RecordOp>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let (done, result) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push((ops, done));
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let committer = Arc::clone(self);
            tokio::task::spawn_blocking(move || committer.drain());
        }
        result.await.unwrap_or_else(|_| {
            Err(StoreError::Database {
                path: self.store.path().to_path_buf(),
                action: "commit the outbox to",
                detail: "the commit thread stopped".to_string(),
            })
        })
    }

    fn drain(&self) {
        let _running = Running(self);
        loop {
            let batch = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() {
                    queue.running = false;
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            let mut ops = Vec::with_capacity(batch.iter().map(|(ops, _)| ops.len()).sum());
            let mut waiters = Vec::with_capacity(batch.len());
            for (mut batch_ops, waiter) in batch {
                ops.append(&mut batch_ops);
                waiters.push(waiter);
            }
            let outcome = self.store.commit_records(&ops);
            for waiter in waiters {
                let _ = waiter.send(outcome.as_ref().map(|_| ()).map_err(StoreError::duplicate));
            }
        }
    }
}
