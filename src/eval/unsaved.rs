//! Alert state transitions whose commit failed are kept, not dropped.
//!
//! The evaluator commits each round's transitions before it sends alerts.
//! When a commit fails (a full disk), the alerts are still sent, and the
//! transitions wait here, newest per alert, to be written with the next
//! commit or by [`KeepUnsaved::retry`] once the store can write again. A
//! restart after the disk recovers then still knows every `for` clock and
//! firing alert. Only the newest change per alert matters: a later put or
//! delete replaces an earlier one.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::engine::StateStore;
use crate::eval::persist::StateChange;

/// A [`StateStore`] that keeps what it could not commit and writes it
/// with the next commit.
pub struct KeepUnsaved<S> {
    inner: S,
    unsaved: Mutex<BTreeMap<(String, u64), StateChange>>,
}

fn alert_key(change: &StateChange) -> (String, u64) {
    match change {
        StateChange::Put {
            rule, fingerprint, ..
        }
        | StateChange::Delete { rule, fingerprint } => (rule.clone(), *fingerprint),
    }
}

impl<S: StateStore> KeepUnsaved<S> {
    /// Wraps a store.
    pub fn new(inner: S) -> Self {
        KeepUnsaved {
            inner,
            unsaved: Mutex::new(BTreeMap::new()),
        }
    }

    /// How many alerts have changes waiting for a commit.
    pub fn unsaved(&self) -> usize {
        self.lock().len()
    }

    /// Writes the waiting changes, if any.
    pub fn retry(&self) -> Result<(), String> {
        self.commit(&[])
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, u64), StateChange>> {
        self.unsaved.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: StateStore> StateStore for KeepUnsaved<S> {
    fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
        let mut unsaved = self.lock();
        if unsaved.is_empty() {
            let result = self.inner.commit(changes);
            if result.is_err() {
                for change in changes {
                    unsaved.insert(alert_key(change), change.clone());
                }
            }
            return result;
        }
        for change in changes {
            unsaved.insert(alert_key(change), change.clone());
        }
        let all: Vec<StateChange> = unsaved.values().cloned().collect();
        match self.inner.commit(&all) {
            Ok(()) => {
                tracing::info!(
                    alerts = all.len(),
                    "alert state that could not be committed earlier is stored now"
                );
                unsaved.clear();
                Ok(())
            }
            Err(e) => Err(format!(
                "{e} (changes to {} alerts are kept in memory and retried)",
                all.len()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::eval::alert::Alert;

    /// A store that fails while `full` is set and records what it stored.
    #[derive(Default)]
    struct Disk {
        full: AtomicBool,
        stored: Mutex<BTreeMap<(String, u64), Option<f64>>>,
    }

    impl StateStore for &'static Disk {
        fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
            if self.full.load(Ordering::SeqCst) {
                return Err("No space left on device".into());
            }
            let mut stored = self.stored.lock().unwrap();
            for change in changes {
                match change {
                    StateChange::Put {
                        rule,
                        fingerprint,
                        alert,
                    } => {
                        stored.insert((rule.clone(), *fingerprint), Some(alert.value));
                    }
                    StateChange::Delete { rule, fingerprint } => {
                        stored.remove(&(rule.clone(), *fingerprint));
                    }
                }
            }
            Ok(())
        }
    }

    fn put(rule: &str, fingerprint: u64, value: f64) -> StateChange {
        StateChange::Put {
            rule: rule.into(),
            fingerprint,
            alert: Alert::new(Default::default(), Default::default(), value, 0),
        }
    }

    fn delete(rule: &str, fingerprint: u64) -> StateChange {
        StateChange::Delete {
            rule: rule.into(),
            fingerprint,
        }
    }

    #[test]
    fn transitions_during_a_full_disk_are_written_once_it_has_room() {
        let disk: &'static Disk = Box::leak(Box::default());
        let store = KeepUnsaved::new(disk);
        store.commit(&[put("r", 1, 1.0), put("r", 2, 1.0)]).unwrap();

        disk.full.store(true, Ordering::SeqCst);
        assert!(store.commit(&[put("r", 1, 2.0), put("r", 3, 1.0)]).is_err());
        let error = store
            .commit(&[delete("r", 2), put("r", 3, 5.0)])
            .unwrap_err();
        assert!(error.contains("kept in memory"), "{error}");
        assert_eq!(store.unsaved(), 3, "the newest change per alert");
        assert!(store.retry().is_err());

        disk.full.store(false, Ordering::SeqCst);
        store.retry().unwrap();
        assert_eq!(store.unsaved(), 0);
        let stored = disk.stored.lock().unwrap().clone();
        assert_eq!(
            stored,
            BTreeMap::from([
                (("r".to_string(), 1), Some(2.0)),
                (("r".to_string(), 3), Some(5.0)),
            ]),
            "every transition of the full-disk time is on disk, newest wins"
        );
    }

    #[test]
    fn the_next_commit_carries_the_waiting_changes() {
        let disk: &'static Disk = Box::leak(Box::default());
        let store = KeepUnsaved::new(disk);
        disk.full.store(true, Ordering::SeqCst);
        assert!(store.commit(&[put("r", 1, 1.0)]).is_err());
        disk.full.store(false, Ordering::SeqCst);
        store.commit(&[put("r", 2, 1.0)]).unwrap();
        assert_eq!(store.unsaved(), 0);
        assert_eq!(disk.stored.lock().unwrap().len(), 2);
    }
}
