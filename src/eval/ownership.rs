//! Which replica evaluates which group. The engine asks before every round
//! of a configured group; a single node owns every group ([`EveryGroup`]),
//! a cluster answers from its coordination store (implemented by the wiring,
//! so `eval` never knows how ownership is decided).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use tokio::sync::watch;

use super::alert::Alert;
use crate::vocab::time::Millis;

/// A boxed future that can cross threads: what a trait method returns when
/// its implementation waits (the ownership asks a remote store).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A group's identity across replicas and reloads: the file it came from and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// The rule file.
    pub file: String,
    /// The group's name.
    pub name: String,
}

/// What the ownership says before a round of one group.
#[derive(Debug)]
pub enum Admission {
    /// This replica holds the group and its state is loaded: evaluate.
    Evaluate,
    /// Another replica (or none yet) evaluates it. Any state this replica holds for the
    /// group's rules is dropped (alerts cleared, metrics of its alerts too) so a later
    /// takeover starts from the stored state, never from a stale local copy.
    Skip,
    /// This replica has just claimed the group: replace every rule's alerts with `stored`
    /// (rule key -> (fingerprint, alert), as `eval::persist::LoadedAlerts::alerts`), then
    /// evaluate: at once when `last_round` is None (the previous owner died), else at the
    /// first slot after `last_round` (a handover: the old owner already evaluated this slot).
    TakeOver {
        /// The group's stored alerts, by rule key.
        stored: BTreeMap<String, Vec<(u64, Alert)>>,
        /// The previous owner's last evaluated round, when it handed the group over.
        last_round: Option<Millis>,
    },
}

/// Decides, round by round, whether this replica evaluates a group.
pub trait GroupOwnership: Send + Sync + 'static {
    /// Asked before every round of every configured group (not the built-in meta group,
    /// which every replica runs for itself).
    fn admit<'a>(&'a self, group: &'a GroupKey, slot: Millis) -> BoxFuture<'a, Admission>;
    /// Told after each evaluated round (after its commit and send): the ownership may now
    /// hand the group over (it never hands over a group in the middle of a round).
    fn round_done(&self, group: &GroupKey, slot: Millis);
    /// Bumped whenever ownership may have changed: a group task that is not evaluating
    /// (its last admission was Skip) re-asks `admit` at once instead of at its next slot, so
    /// an orphaned group is taken over within seconds, not an interval later.
    fn changes(&self) -> watch::Receiver<u64>;
}

/// Single node: every group is always this replica's.
#[derive(Debug, Clone, Copy, Default)]
pub struct EveryGroup;

/// The sender behind [`EveryGroup::changes`]: kept for the life of the
/// process and never sent on, so its receivers wait forever rather than
/// seeing a closed channel.
static NEVER_CHANGES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

impl GroupOwnership for EveryGroup {
    fn admit<'a>(&'a self, _group: &'a GroupKey, _slot: Millis) -> BoxFuture<'a, Admission> {
        Box::pin(std::future::ready(Admission::Evaluate))
    }

    fn round_done(&self, _group: &GroupKey, _slot: Millis) {}

    fn changes(&self) -> watch::Receiver<u64> {
        NEVER_CHANGES.subscribe()
    }
}
