//! Silences with Alertmanager 0.25's semantics, durable: every change is
//! committed to [`RecordTable::Silences`] before it is answered, so a silence
//! survives a crash the moment `amtool silence add` prints its id
//! (Alertmanager snapshots its silences every 15 minutes).
//!
//! A silence has matchers (`=`, `!=`, `=~`, `!~`; regexes anchored; a missing
//! label matches as ""), a start and an end, its creator and a comment. Its
//! state follows from the clock: pending before the start, active until the
//! end, expired after. The rules for changes are Alertmanager's:
//! - a new silence gets a random (v4) UUID; a start in the past becomes now;
//! - the start must be before the end, and the end must not be in the past;
//! - at least one matcher, and at least one that does not match "";
//! - updating with the same matchers changes it in place when that does not
//!   rewrite history: an active silence may change its end (not into the
//!   past), comment and creator but not its start; a pending one anything
//!   but a start in the past; otherwise (other matchers, a moved start, or an
//!   expired silence) the old one is expired and a new one with a new id is
//!   created. Unlike Alertmanager, the new silence is validated before the old
//!   one is touched, and both changes are one transaction;
//! - expiring an active silence ends it now; a pending one gets start = end =
//!   now; an expired one is left alone;
//! - a silence is forgotten `retention` after its end (Alertmanager's
//!   `--data.retention`, 120h by default).
//!
//! One silence must not be able to take the process down (issue 22: 100,000
//! regex matchers took 800 MB), so [`SilenceLimits`] bound the matchers of a
//! silence, each matcher's size, a silence's stored size, the number of
//! silences and their total size, compiled regexes included; a change over a
//! limit is refused with a message naming it. Regex matchers are compiled
//! cheaply and shared between silences ([`pattern`]). Silences stored by an
//! older klaxon that break a limit are left in the store, not loaded, and
//! logged (see [`Silences::open_with`]).
//!
//! In a cluster every change made here is published to the other replicas
//! ([`SilenceReplica`], after it is durable), and theirs arrive through
//! [`Silences::apply_replicated`]: the newest `updated_at` of a silence wins.
//!
//! Here are the types and [`Silences`] (loading, changing, storing); the
//! rules of a change are in `rules`, the limits and their checks in
//! `limits`, the in-memory index in `table`, compiled regexes in `pattern`,
//! and the stored form of matchers, which must not change, in `stored`.

mod limits;
mod pattern;
mod rules;
mod stored;
mod table;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use self::limits::{check_count, check_matcher_sizes, check_size, check_total};
use self::pattern::Patterns;
use self::rules::{can_update, compile, expire_at};
use self::table::{CompiledMatchers, Entry, Table};
use crate::store::{RecordOp, RecordTable, Store, StoreError};
use crate::vocab::labels::LabelSet;
use crate::vocab::matcher::Matcher;
use crate::vocab::time::Millis;

pub use self::limits::{SilenceLimits, SilencesUsage};
pub use self::pattern::REGEX_SIZE_LIMIT;

/// Alertmanager's default `--data.retention`.
pub const DEFAULT_RETENTION_MS: Millis = 120 * 60 * 60 * 1000;

/// A silence as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    /// UUID v4.
    pub id: String,
    /// All must match for the silence to mute an alert.
    #[serde(with = "stored")]
    pub matchers: Vec<Matcher>,
    /// When it starts muting.
    pub starts_at: Millis,
    /// When it stops muting.
    pub ends_at: Millis,
    /// Last change.
    pub updated_at: Millis,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// Where a silence is in its life, given the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SilenceState {
    /// Mutes now. (Listed first, as Alertmanager sorts.)
    Active,
    /// Starts in the future.
    Pending,
    /// Ended.
    Expired,
}

impl SilenceState {
    /// The API's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    /// Its state at `now`.
    pub fn state(&self, now: Millis) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }
}

/// What a client asks for: a new silence (`id` None) or a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceInput {
    /// The silence to update; `None` creates one.
    pub id: Option<String>,
    /// Matchers.
    pub matchers: Vec<Matcher>,
    /// Start.
    pub starts_at: Millis,
    /// End.
    pub ends_at: Millis,
    /// Creator.
    pub created_by: String,
    /// Comment.
    pub comment: String,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    /// No silence has that id (or it was forgotten after its retention).
    #[error("silence not found")]
    NotFound,
    /// The silence breaks a rule; the message is Alertmanager's.
    #[error("{0}")]
    Invalid(String),
    /// It could not be stored; nothing changed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Silences made on this replica, published to the others.
pub trait SilenceReplica: Send + Sync {
    /// After every successful local save of created/updated/expired
    /// silences.
    fn publish(&self, changed: &[Silence]);
}

/// A silence to store: its entry and its encoding.
struct Change {
    entry: Entry,
    value: Vec<u8>,
}

/// The silences of this klaxon; see the module documentation.
pub struct Silences {
    store: Arc<Store>,
    retention_ms: Millis,
    limits: SilenceLimits,
    table: RwLock<Table>,
    patterns: Mutex<Patterns>,
    /// Serialises changes, so each is decided on the state it replaces.
    changes: tokio::sync::Mutex<()>,
    unreadable: Vec<String>,
    not_loaded: Vec<String>,
    replica: OnceLock<Arc<dyn SilenceReplica>>,
}

impl std::fmt::Debug for Silences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Silences")
            .field("count", &self.read().by_id.len())
            .finish()
    }
}

impl Silences {
    /// [`Silences::open_with`] the default 120h retention and the default
    /// limits.
    pub fn open(store: Arc<Store>) -> Result<Arc<Silences>, StoreError> {
        Self::open_with(store, DEFAULT_RETENTION_MS, SilenceLimits::default())
    }

    /// Loads the stored silences. Records that do not decode are logged and
    /// reported by [`Silences::unreadable`]; silences past their retention
    /// are deleted.
    ///
    /// Silences that break `limits` (stored by an older klaxon, or before a
    /// limit was lowered) are not loaded but left in the store, each with an
    /// error in the log (a warning for expired ones) and in
    /// [`Silences::not_loaded`]: loading them could take more memory than
    /// there is, which is what the limits prevent, and raising the limit
    /// and restarting brings them back. Active and pending silences are
    /// loaded before expired ones, the most recently changed first, so when
    /// the count or total limit leaves no room it is history that waits.
    pub fn open_with(
        store: Arc<Store>,
        retention_ms: Millis,
        limits: SilenceLimits,
    ) -> Result<Arc<Silences>, StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut stored = Vec::new();
        let mut unreadable = Vec::new();
        let mut doomed = Vec::new();
        for (key, value) in store.load_records(RecordTable::Silences)? {
            match serde_json::from_slice::<Silence>(&value) {
                Ok(silence) if silence.ends_at.saturating_add(retention_ms) <= now => {
                    doomed.push(key);
                }
                Ok(silence) => stored.push((silence, value.len())),
                Err(reason) => {
                    let id = String::from_utf8_lossy(&key);
                    tracing::warn!(
                        path = %store.path().display(),
                        "skipping unreadable silence {id:?}: {reason}"
                    );
                    unreadable.push(format!("silence {id:?}: {reason}"));
                }
            }
        }
        let ops: Vec<RecordOp> = doomed
            .into_iter()
            .map(|key| RecordOp::Delete {
                table: RecordTable::Silences,
                key,
            })
            .collect();
        store.commit_records(&ops)?;
        let mut silences = Silences {
            store,
            retention_ms,
            limits,
            table: RwLock::new(Table::default()),
            patterns: Mutex::new(Patterns::default()),
            changes: tokio::sync::Mutex::new(()),
            unreadable,
            not_loaded: Vec::new(),
            replica: OnceLock::new(),
        };
        silences.load(stored, now);
        Ok(Arc::new(silences))
    }

    /// Takes the stored silences that fit the limits; see
    /// [`Silences::open_with`].
    fn load(&mut self, mut stored: Vec<(Silence, usize)>, now: Millis) {
        stored.sort_by(|(a, _), (b, _)| {
            let expired = |s: &Silence| s.state(now) == SilenceState::Expired;
            expired(a)
                .cmp(&expired(b))
                .then(b.updated_at.cmp(&a.updated_at))
                .then(a.id.cmp(&b.id))
        });
        let mut table = Table::default();
        let patterns = self
            .patterns
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for (silence, stored_bytes) in stored {
            let admitted = check_matcher_sizes(&silence.matchers, &self.limits)
                .and_then(|()| check_size(stored_bytes, &self.limits))
                .and_then(|()| check_count(table.by_id.len(), &self.limits, self.retention_ms))
                .and_then(|()| compile(&silence.matchers, patterns))
                .and_then(|(compiled, _)| {
                    let total = table.stored_bytes + stored_bytes + patterns.bytes();
                    check_total(total, 0, &self.limits, self.retention_ms).map(|()| compiled)
                });
            match admitted {
                Ok(compiled) => table.insert(Entry {
                    silence,
                    patterns: compiled,
                    stored_bytes,
                }),
                Err(reason) => {
                    patterns.prune();
                    let state = silence.state(now).as_str();
                    let id = &silence.id;
                    if state == "expired" {
                        tracing::warn!(
                            silence = %id, state,
                            "A stored silence was not loaded: {reason}. It stays in the store \
                             until its retention ends; raise the limit and restart to load it."
                        );
                    } else {
                        tracing::error!(
                            silence = %id, state,
                            "A stored silence was not loaded and mutes nothing: {reason}. It \
                             stays in the store; raise the limit and restart to apply it."
                        );
                    }
                    self.not_loaded
                        .push(format!("silence {id:?} ({state}): {reason}"));
                }
            }
        }
        *self.table.get_mut().unwrap_or_else(PoisonError::into_inner) = table;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn patterns(&self) -> std::sync::MutexGuard<'_, Patterns> {
        self.patterns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ids (sorted) of the silences active at `now` that match `labels`.
    /// Called for every alert at every flush: matchers are precompiled and
    /// inactive silences cost two comparisons.
    pub fn mutes(&self, labels: &LabelSet, now: Millis) -> Vec<String> {
        let table = self.read();
        let mut ids: Vec<String> = table
            .by_id
            .values()
            .filter(|e| e.silence.starts_at <= now && now < e.silence.ends_at)
            .filter(|e| e.matches(labels))
            .map(|e| e.silence.id.clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Every silence not yet past its retention, in no order.
    pub fn list(&self) -> Vec<Silence> {
        self.read()
            .by_id
            .values()
            .map(|e| e.silence.clone())
            .collect()
    }

    /// The silence with this id.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.read().by_id.get(id).map(|e| e.silence.clone())
    }

    /// Stored records that did not decode when the silences were loaded.
    pub fn unreadable(&self) -> &[String] {
        &self.unreadable
    }

    /// Stored silences left in the store at start-up because they break a
    /// limit, with the reason; see [`Silences::open_with`].
    pub fn not_loaded(&self) -> &[String] {
        &self.not_loaded
    }

    /// What the silences take now, as [`SilenceLimits`] count it.
    pub fn usage(&self) -> SilencesUsage {
        let (silences, stored_bytes) = {
            let table = self.read();
            (table.by_id.len(), table.stored_bytes)
        };
        let mut patterns = self.patterns();
        patterns.prune();
        SilencesUsage {
            silences,
            stored_bytes,
            patterns: patterns.len(),
            pattern_bytes: patterns.bytes(),
        }
    }

    /// Publishes every change made from now on to `replica`. Set it once,
    /// before the API takes changes; a second one is refused (logged).
    pub fn set_replica(&self, replica: Arc<dyn SilenceReplica>) {
        if self.replica.set(replica).is_err() {
            tracing::error!("the silences already have a replica; the second one is ignored");
        }
    }

    /// Takes silences made on other replicas: each one that is absent here,
    /// or newer (by `updated_at`) than the copy here, is stored and mutes at
    /// once. Never published back, and not held to the [`SilenceLimits`]
    /// (the replica that made it checked them). A silence whose matchers do
    /// not compile here is skipped with an error in the log. Returns how many
    /// were stored.
    pub async fn apply_replicated(&self, silences: Vec<Silence>) -> Result<usize, StoreError> {
        let _change = self.changes.lock().await;
        let mut newest: HashMap<String, Silence> = HashMap::with_capacity(silences.len());
        for silence in silences {
            match newest.get(&silence.id) {
                Some(seen) if seen.updated_at >= silence.updated_at => {}
                _ => {
                    newest.insert(silence.id.clone(), silence);
                }
            }
        }
        let newer: Vec<Silence> = {
            let table = self.read();
            newest
                .into_values()
                .filter(|s| {
                    table
                        .by_id
                        .get(&s.id)
                        .is_none_or(|local| local.silence.updated_at < s.updated_at)
                })
                .collect()
        };
        let compiled: Vec<_> = {
            let mut patterns = self.patterns();
            patterns.prune();
            newer
                .into_iter()
                .map(|silence| {
                    let compiled = compile(&silence.matchers, &mut patterns);
                    (silence, compiled)
                })
                .collect()
        };
        let mut changed = Vec::with_capacity(compiled.len());
        for (silence, compiled) in compiled {
            match compiled {
                Ok((compiled, _)) => changed.push(self.change(silence, compiled)?),
                Err(reason) => tracing::error!(
                    silence = %silence.id,
                    "A silence from another replica was not applied and mutes nothing here: \
                     {reason}. Check that the replicas run the same klaxon version."
                ),
            }
        }
        let count = changed.len();
        if count > 0 {
            self.save(changed).await?;
        }
        Ok(count)
    }

    /// Creates a silence and returns its new id.
    pub async fn create(
        &self,
        mut input: SilenceInput,
        now: Millis,
    ) -> Result<String, SilenceError> {
        input.id = None;
        self.set(input, now).await
    }

    /// Updates silence `id` (in place, or by expiring it and creating a
    /// replacement, as [`Silences::set`] decides) and returns the id that
    /// now holds the silence.
    pub async fn update(
        &self,
        id: &str,
        mut input: SilenceInput,
        now: Millis,
    ) -> Result<String, SilenceError> {
        input.id = Some(id.to_string());
        self.set(input, now).await
    }

    /// Alertmanager's `POST /api/v2/silences`: creates a silence, or updates
    /// `input.id` following the rules in the module documentation, within
    /// the [`SilenceLimits`]. Returns the id of the silence that holds the
    /// result, once it is durable.
    pub async fn set(&self, input: SilenceInput, now: Millis) -> Result<String, SilenceError> {
        if input.starts_at >= input.ends_at {
            return Err(SilenceError::Invalid(
                "Failed to create silence: start time must be before end time".to_string(),
            ));
        }
        if input.ends_at < now {
            return Err(SilenceError::Invalid(
                "Failed to create silence: end time can't be in the past".to_string(),
            ));
        }
        // Before anything is compiled: a silence of 100,000 matchers is
        // refused at the cost of counting them.
        check_matcher_sizes(&input.matchers, &self.limits).map_err(SilenceError::Invalid)?;
        let _change = self.changes.lock().await;
        let (compiled, new_pattern_bytes) = {
            let mut patterns = self.patterns();
            patterns.prune();
            compile(&input.matchers, &mut patterns).map_err(SilenceError::Invalid)?
        };
        let previous = match &input.id {
            Some(id) => match self.read().by_id.get(id) {
                Some(entry) => Some(Arc::clone(entry)),
                None => return Err(SilenceError::NotFound),
            },
            None => None,
        };
        let mut silence = Silence {
            id: String::new(),
            matchers: input.matchers,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            updated_at: now,
            created_by: input.created_by,
            comment: input.comment,
        };
        let mut changed: Vec<Change> = Vec::with_capacity(2);
        let mut replaced = 0;
        if let Some(previous) = &previous
            && can_update(&previous.silence, &silence, now)
        {
            silence.id = previous.silence.id.clone();
            let id = silence.id.clone();
            let change = self.change(silence, compiled)?;
            check_size(change.value.len(), &self.limits).map_err(SilenceError::Invalid)?;
            self.check_total(
                std::slice::from_ref(&change),
                previous.stored_bytes,
                new_pattern_bytes,
                now,
            )
            .map_err(SilenceError::Invalid)?;
            self.save_and_publish(vec![change]).await?;
            return Ok(id);
        }
        // A new silence, or a replacement (the old one stays, expired).
        check_count(
            self.read().by_id.len() - self.past_retention(now).len(),
            &self.limits,
            self.retention_ms,
        )
        .map_err(SilenceError::Invalid)?;
        if let Some(previous) = &previous
            && let Some(expired) = expire_at(&previous.silence, now)
        {
            changed.push(self.change(expired, previous.patterns.clone())?);
            replaced = previous.stored_bytes;
        }
        silence.id = uuid::Uuid::new_v4().to_string();
        silence.starts_at = silence.starts_at.max(now);
        let id = silence.id.clone();
        let change = self.change(silence, compiled)?;
        check_size(change.value.len(), &self.limits).map_err(SilenceError::Invalid)?;
        changed.push(change);
        self.check_total(&changed, replaced, new_pattern_bytes, now)
            .map_err(SilenceError::Invalid)?;
        self.save_and_publish(changed).await?;
        Ok(id)
    }

    /// Checks the total size after storing `changed`, which replace silences
    /// of `replaced` stored bytes and compiled `new_pattern_bytes` of new
    /// patterns. A change that shrinks the total is allowed even over the
    /// limit, so it can be got back under.
    fn check_total(
        &self,
        changed: &[Change],
        replaced: usize,
        new_pattern_bytes: usize,
        now: Millis,
    ) -> Result<(), String> {
        if self.limits.max_total_bytes == 0 {
            return Ok(());
        }
        let held = {
            let table = self.read();
            let doomed: usize = self
                .past_retention(now)
                .iter()
                .filter_map(|id| table.by_id.get(id))
                .map(|e| e.stored_bytes)
                .sum();
            table.stored_bytes - doomed
        };
        let patterns = self.patterns().bytes();
        let before = held + patterns - new_pattern_bytes;
        let added: usize = changed.iter().map(|c| c.value.len()).sum();
        let after = (held + patterns + added).saturating_sub(replaced);
        check_total(after, before, &self.limits, self.retention_ms)
    }

    /// `silence` encoded for the store, with its entry.
    fn change(&self, silence: Silence, patterns: CompiledMatchers) -> Result<Change, StoreError> {
        let value = serde_json::to_vec(&silence).map_err(|e| StoreError::Database {
            path: self.store.path().to_path_buf(),
            action: "encode a silence for",
            detail: e.to_string(),
        })?;
        Ok(Change {
            entry: Entry {
                silence,
                patterns,
                stored_bytes: value.len(),
            },
            value,
        })
    }

    /// Alertmanager's `DELETE /api/v2/silence/{id}`: ends the silence now
    /// (see the module documentation). Expiring an expired silence is fine,
    /// and no limit ever refuses an expiry.
    pub async fn expire(&self, id: &str, now: Millis) -> Result<(), SilenceError> {
        let _change = self.changes.lock().await;
        let Some(entry) = self.read().by_id.get(id).cloned() else {
            return Err(SilenceError::NotFound);
        };
        let Some(silence) = expire_at(&entry.silence, now) else {
            return Ok(());
        };
        let change = self.change(silence, entry.patterns.clone())?;
        self.save_and_publish(vec![change]).await?;
        Ok(())
    }

    /// Forgets silences that ended longer than the retention before `now`,
    /// durably, and returns how many.
    pub async fn gc(&self, now: Millis) -> Result<usize, StoreError> {
        let _change = self.changes.lock().await;
        let doomed = self.past_retention(now);
        if doomed.is_empty() {
            return Ok(0);
        }
        let ops: Vec<RecordOp> = doomed
            .iter()
            .map(|id| RecordOp::Delete {
                table: RecordTable::Silences,
                key: id.as_bytes().to_vec(),
            })
            .collect();
        self.commit(ops).await?;
        let mut table = self.write();
        for id in &doomed {
            table.remove(id);
        }
        Ok(doomed.len())
    }

    /// Ids of the silences that ended longer than the retention before `now`.
    fn past_retention(&self, now: Millis) -> Vec<String> {
        self.read()
            .by_id
            .values()
            .filter(|e| e.silence.ends_at.saturating_add(self.retention_ms) <= now)
            .map(|e| e.silence.id.clone())
            .collect()
    }

    /// [`Silences::save`] a change made here, then tells the replica.
    async fn save_and_publish(&self, changed: Vec<Change>) -> Result<(), StoreError> {
        let published: Option<Vec<Silence>> = self
            .replica
            .get()
            .map(|_| changed.iter().map(|c| c.entry.silence.clone()).collect());
        self.save(changed).await?;
        if let (Some(replica), Some(published)) = (self.replica.get(), published) {
            replica.publish(&published);
        }
        Ok(())
    }

    /// Commits `changed` in one transaction, then makes it visible. Silences
    /// past their retention are deleted in the same transaction, so the
    /// store stays small without a timer.
    async fn save(&self, changed: Vec<Change>) -> Result<(), StoreError> {
        let now = changed
            .iter()
            .map(|c| c.entry.silence.updated_at)
            .max()
            .unwrap_or(Millis::MIN);
        let doomed: Vec<String> = self
            .past_retention(now)
            .into_iter()
            .filter(|id| !changed.iter().any(|c| c.entry.silence.id == *id))
            .collect();
        let mut ops = Vec::with_capacity(changed.len() + doomed.len());
        for id in &doomed {
            ops.push(RecordOp::Delete {
                table: RecordTable::Silences,
                key: id.as_bytes().to_vec(),
            });
        }
        let mut entries = Vec::with_capacity(changed.len());
        for Change { entry, value } in changed {
            ops.push(RecordOp::Put {
                table: RecordTable::Silences,
                key: entry.silence.id.as_bytes().to_vec(),
                value,
            });
            entries.push(entry);
        }
        self.commit(ops).await?;
        let mut table = self.write();
        for id in &doomed {
            table.remove(id);
        }
        for entry in entries {
            table.insert(entry);
        }
        Ok(())
    }

    async fn commit(&self, ops: Vec<RecordOp>) -> Result<(), StoreError> {
        let store = Arc::clone(&self.store);
        let path = store.path().to_path_buf();
        match tokio::task::spawn_blocking(move || store.commit_records(&ops)).await {
            Ok(result) => result,
            Err(e) => Err(StoreError::Database {
                path,
                action: "commit silences to",
                detail: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
