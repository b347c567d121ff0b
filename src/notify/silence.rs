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

mod pattern;
mod stored;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use self::pattern::{Pattern, PatternError, Patterns};
use super::alert::{LabelSet, Millis};
use crate::store::{RecordOp, RecordTable, Store, StoreError};
use crate::vocab::matcher::{Matcher, regex_error};

pub use self::pattern::REGEX_SIZE_LIMIT;

/// Alertmanager's default `--data.retention`.
pub const DEFAULT_RETENTION_MS: Millis = 120 * 60 * 60 * 1000;

/// How large silences may grow; 0 means no limit, as in Alertmanager. A
/// change over a limit is refused (400 from the API) with a message that
/// names the limit, its value and its `klaxon serve` flag.
///
/// Sizes are those of the silence as stored (its JSON). In memory a silence
/// takes about twice that, plus its compiled regexes, which the total
/// counts: at the defaults, silences filling the total took 62 MB of memory
/// (`bench/silence-memory.sh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceLimits {
    /// Silences held, expired ones included until their retention ends
    /// (Alertmanager's `--silences.max-silences`).
    pub max_silences: usize,
    /// Stored size of one silence (Alertmanager's
    /// `--silences.max-silence-size-bytes`).
    pub max_silence_bytes: usize,
    /// Matchers of one silence.
    pub max_matchers: usize,
    /// Name plus value (or pattern) of one matcher.
    pub max_matcher_bytes: usize,
    /// Stored size of all silences plus their compiled regexes (a regex
    /// that several silences use counts once).
    pub max_total_bytes: usize,
}

impl Default for SilenceLimits {
    fn default() -> Self {
        SilenceLimits {
            max_silences: 10_000,
            max_silence_bytes: 64 << 10,
            max_matchers: 100,
            max_matcher_bytes: 16 << 10,
            max_total_bytes: 32 << 20,
        }
    }
}

impl SilenceLimits {
    /// No limit at all (Alertmanager's defaults).
    pub const NONE: SilenceLimits = SilenceLimits {
        max_silences: 0,
        max_silence_bytes: 0,
        max_matchers: 0,
        max_matcher_bytes: 0,
        max_total_bytes: 0,
    };
}

/// Whether `value` is over `limit` (0: no limit).
fn over(value: usize, limit: usize) -> bool {
    limit > 0 && value > limit
}

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

/// One per matcher of a silence, in order: the compiled pattern of a regex
/// matcher, `None` for `=` and `!=` (which compare with the matcher's value).
type CompiledMatchers = Vec<Option<Arc<Pattern>>>;

/// A silence with its regex matchers compiled, ready for
/// [`Silences::mutes`].
struct Entry {
    silence: Silence,
    patterns: CompiledMatchers,
    /// Size of the silence as stored.
    stored_bytes: usize,
}

impl Entry {
    /// Whether every matcher matches `labels` (a missing label is "").
    fn matches(&self, labels: &LabelSet) -> bool {
        self.silence
            .matchers
            .iter()
            .zip(&self.patterns)
            .all(|(m, pattern)| {
                let value = labels.value(&m.name);
                let hit = match pattern {
                    Some(pattern) => pattern.is_match(value),
                    None => value == m.value,
                };
                hit == m.op.is_equal()
            })
    }
}

/// The checks on matchers that need no compiling: how many and how large.
fn check_matcher_sizes(matchers: &[Matcher], limits: &SilenceLimits) -> Result<(), String> {
    if over(matchers.len(), limits.max_matchers) {
        return Err(format!(
            "silence invalid: too many matchers: {} (limit: {}, --silences.max-matchers)",
            matchers.len(),
            limits.max_matchers
        ));
    }
    for (i, m) in matchers.iter().enumerate() {
        let bytes = m.name.len() + m.value.len();
        if over(bytes, limits.max_matcher_bytes) {
            return Err(format!(
                "silence invalid: invalid label matcher {i}: name and value are {bytes} bytes \
                 (limit: {} bytes, --silences.max-matcher-bytes)",
                limits.max_matcher_bytes
            ));
        }
    }
    Ok(())
}

/// Alertmanager's validation of matchers, compiling the regex ones with
/// `patterns` (shared with other silences). Returns the compiled patterns
/// (see [`Entry::patterns`]) and the bytes of those compiled now.
fn compile(
    matchers: &[Matcher],
    patterns: &mut Patterns,
) -> Result<(CompiledMatchers, usize), String> {
    if matchers.is_empty() {
        return Err("silence invalid: at least one matcher required".to_string());
    }
    let mut compiled = Vec::with_capacity(matchers.len());
    let mut new_bytes = 0;
    let mut all_match_empty = true;
    for (i, m) in matchers.iter().enumerate() {
        if !is_valid_label_name(&m.name) {
            return Err(format!(
                "silence invalid: invalid label matcher {i}: invalid label name {:?}",
                m.name
            ));
        }
        let pattern = if m.op.is_regex() {
            match patterns.get_or_compile(&m.value) {
                Ok((pattern, new)) => {
                    if new {
                        new_bytes += pattern.bytes();
                    }
                    Some(pattern)
                }
                Err(PatternError::Syntax(text)) => {
                    return Err(format!(
                        "silence invalid: invalid label matcher {i}: invalid regular expression \
                         {:?}: {}",
                        m.value,
                        regex_error(&text, &m.value)
                    ));
                }
                Err(PatternError::TooLarge) => {
                    return Err(format!(
                        "silence invalid: invalid label matcher {i}: regular expression {:?} is \
                         too large: compiled, it would take more than {REGEX_SIZE_LIMIT} bytes",
                        m.value
                    ));
                }
            }
        } else {
            None
        };
        // Alertmanager's matchesEmpty: only `=` and `=~` can match "".
        let matches_empty = m.op.is_equal()
            && match &pattern {
                Some(pattern) => pattern.is_match(""),
                None => m.value.is_empty(),
            };
        all_match_empty &= matches_empty;
        compiled.push(pattern);
    }
    if all_match_empty {
        return Err(
            "silence invalid: at least one matcher must not match the empty string".to_string(),
        );
    }
    Ok((compiled, new_bytes))
}

/// Prometheus's label name rule (`[a-zA-Z_][a-zA-Z0-9_]*`), which
/// Alertmanager 0.25 applies to matcher names and alert labels.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The silences held in memory, with their total stored size.
#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<Entry>>,
    stored_bytes: usize,
}

impl Table {
    fn insert(&mut self, entry: Entry) {
        self.stored_bytes += entry.stored_bytes;
        if let Some(old) = self.by_id.insert(entry.silence.id.clone(), Arc::new(entry)) {
            self.stored_bytes -= old.stored_bytes;
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.by_id.remove(id) {
            self.stored_bytes -= old.stored_bytes;
        }
    }
}

/// What the silences take, as the limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilencesUsage {
    /// Silences held, expired ones included.
    pub silences: usize,
    /// Their stored size.
    pub stored_bytes: usize,
    /// Distinct regex patterns compiled.
    pub patterns: usize,
    /// What those take.
    pub pattern_bytes: usize,
}

impl SilencesUsage {
    /// What [`SilenceLimits::max_total_bytes`] bounds.
    pub fn total_bytes(&self) -> usize {
        self.stored_bytes + self.pattern_bytes
    }
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
            self.save(vec![change]).await?;
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
        self.save(changed).await?;
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
        self.save(vec![change]).await?;
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

/// A silence of `bytes` stored bytes against the size limit.
fn check_size(bytes: usize, limits: &SilenceLimits) -> Result<(), String> {
    if over(bytes, limits.max_silence_bytes) {
        return Err(format!(
            "silence exceeded maximum size: {bytes} bytes (limit: {} bytes, \
             --silences.max-silence-size-bytes)",
            limits.max_silence_bytes
        ));
    }
    Ok(())
}

/// One more silence besides `held` against the count limit.
fn check_count(held: usize, limits: &SilenceLimits, retention_ms: Millis) -> Result<(), String> {
    if over(held + 1, limits.max_silences) {
        return Err(format!(
            "exceeded maximum number of silences: {held} (limit: {}, --silences.max-silences); \
             expired silences count until {}h after their end",
            limits.max_silences,
            retention_ms / 3_600_000
        ));
    }
    Ok(())
}

/// A total of `after` bytes (from `before`) against the total limit.
fn check_total(
    after: usize,
    before: usize,
    limits: &SilenceLimits,
    retention_ms: Millis,
) -> Result<(), String> {
    if after > before && over(after, limits.max_total_bytes) {
        return Err(format!(
            "silences exceeded maximum total size: {after} bytes with this one (limit: {} bytes, \
             --silences.max-total-bytes); the total counts every silence as stored and its \
             compiled regular expressions, expired silences until {}h after their end",
            limits.max_total_bytes,
            retention_ms / 3_600_000
        ));
    }
    Ok(())
}

/// Alertmanager's `canUpdate`: whether `old` may become `new` in place
/// without rewriting what was silenced in the past.
fn can_update(old: &Silence, new: &Silence, now: Millis) -> bool {
    if old.matchers != new.matchers {
        return false;
    }
    match old.state(now) {
        // Alertmanager compares the starts in whole seconds.
        SilenceState::Active => {
            old.starts_at.div_euclid(1000) == new.starts_at.div_euclid(1000) && new.ends_at >= now
        }
        SilenceState::Pending => new.starts_at >= now,
        SilenceState::Expired => false,
    }
}

/// The silence ended at `now`, or `None` when it already has.
fn expire_at(silence: &Silence, now: Millis) -> Option<Silence> {
    let mut ended = silence.clone();
    match silence.state(now) {
        SilenceState::Expired => return None,
        SilenceState::Active => ended.ends_at = now,
        SilenceState::Pending => {
            ended.starts_at = now;
            ended.ends_at = now;
        }
    }
    ended.updated_at = now;
    Some(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(name: &str, op: &str, value: &str) -> Matcher {
        let op = crate::vocab::matcher::MatchOp::parse(op).unwrap();
        Matcher::new(name, op, value)
    }

    fn input(matchers: Vec<Matcher>, starts: Millis, ends: Millis) -> SilenceInput {
        SilenceInput {
            id: None,
            matchers,
            starts_at: starts,
            ends_at: ends,
            created_by: "ops".to_string(),
            comment: "maintenance".to_string(),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn open(dir: &std::path::Path) -> Arc<Silences> {
        Silences::open_with(
            Arc::new(Store::open(dir).unwrap()),
            i64::MAX / 4,
            SilenceLimits::default(),
        )
        .unwrap()
    }

    #[test]
    fn mutes_with_anchored_regexes_and_missing_labels_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let silences = open(dir.path());
        let rt = runtime();
        let id = rt
            .block_on(silences.create(
                input(
                    vec![
                        matcher("alertname", "=~", "Disk.*"),
                        matcher("team", "!=", "db"),
                        matcher("env", "=~", "|staging"),
                    ],
                    1_000,
                    10_000,
                ),
                1_000,
            ))
            .unwrap();
        let labels = |pairs: &[(&str, &str)]| LabelSet::from_pairs(pairs.iter().copied());
        let hit = labels(&[("alertname", "DiskFull")]);
        assert_eq!(silences.mutes(&hit, 5_000), vec![id.clone()]);
        // Anchored: a prefix elsewhere does not match.
        assert!(
            silences
                .mutes(&labels(&[("alertname", "XDiskFull")]), 5_000)
                .is_empty()
        );
        assert!(
            silences
                .mutes(&labels(&[("alertname", "DiskFull"), ("team", "db")]), 5_000)
                .is_empty()
        );
        assert!(
            silences
                .mutes(
                    &labels(&[("alertname", "DiskFull"), ("env", "prod")]),
                    5_000
                )
                .is_empty()
        );
        // Only while active.
        assert!(silences.mutes(&hit, 999).is_empty());
        assert!(silences.mutes(&hit, 10_000).is_empty());
    }

    #[test]
    fn validation_follows_alertmanager() {
        let dir = tempfile::tempdir().unwrap();
        let silences = open(dir.path());
        let rt = runtime();
        let err = |i: SilenceInput| {
            rt.block_on(silences.create(i, 5_000))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(input(vec![matcher("a", "=", "x")], 9_000, 8_000)),
            "Failed to create silence: start time must be before end time"
        );
        assert_eq!(
            err(input(vec![matcher("a", "=", "x")], 1_000, 4_000)),
            "Failed to create silence: end time can't be in the past"
        );
        assert_eq!(
            err(input(vec![], 5_000, 8_000)),
            "silence invalid: at least one matcher required"
        );
        assert_eq!(
            err(input(
                vec![matcher("a", "=", ""), matcher("b", "=~", ".*")],
                5_000,
                8_000
            )),
            "silence invalid: at least one matcher must not match the empty string"
        );
        assert_eq!(
            err(input(vec![matcher("a b", "=", "x")], 5_000, 8_000)),
            "silence invalid: invalid label matcher 0: invalid label name \"a b\""
        );
        assert!(
            err(input(vec![matcher("a", "=~", "(x")], 5_000, 8_000)).starts_with(
                "silence invalid: invalid label matcher 0: invalid regular expression \"(x\": "
            )
        );
        // `!=` never matches "" in Alertmanager's check, so this is fine.
        assert!(
            rt.block_on(silences.create(input(vec![matcher("a", "!=", "")], 5_000, 8_000), 5_000))
                .is_ok()
        );
        let unknown = input(vec![matcher("a", "=", "x")], 5_000, 8_000);
        assert!(matches!(
            rt.block_on(silences.update("nope", unknown, 5_000)),
            Err(SilenceError::NotFound)
        ));
    }

    #[test]
    fn updates_in_place_or_by_replacement_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let silences = open(dir.path());
        let rt = runtime();
        let ms = vec![matcher("alertname", "=", "A")];
        // Created with a start in the past: the start becomes now.
        let id = rt
            .block_on(silences.create(input(ms.clone(), 0, 100_000), 10_000))
            .unwrap();
        let created = silences.get(&id).unwrap();
        assert_eq!((created.starts_at, created.updated_at), (10_000, 10_000));
        // Active, same matchers and start: the end and comment change in place.
        let mut change = input(ms.clone(), 10_000, 200_000);
        change.comment = "longer".to_string();
        assert_eq!(
            rt.block_on(silences.update(&id, change, 20_000)).unwrap(),
            id
        );
        let updated = silences.get(&id).unwrap();
        assert_eq!(
            (updated.ends_at, updated.comment.as_str()),
            (200_000, "longer")
        );
        // Other matchers: the old one expires now, a new one replaces it.
        let other = vec![matcher("alertname", "=", "B")];
        let new_id = rt
            .block_on(silences.update(&id, input(other, 30_000, 300_000), 30_000))
            .unwrap();
        assert_ne!(new_id, id);
        let old = silences.get(&id).unwrap();
        assert_eq!(old.ends_at, 30_000);
        assert_eq!(old.state(30_000), SilenceState::Expired);
        assert_eq!(
            silences.get(&new_id).unwrap().state(30_000),
            SilenceState::Active
        );
        // Expiring a pending silence sets start and end to now.
        let pending = rt
            .block_on(silences.create(input(ms, 500_000, 600_000), 40_000))
            .unwrap();
        assert_eq!(
            silences.get(&pending).unwrap().state(40_000),
            SilenceState::Pending
        );
        rt.block_on(silences.expire(&pending, 50_000)).unwrap();
        let expired = silences.get(&pending).unwrap();
        assert_eq!((expired.starts_at, expired.ends_at), (50_000, 50_000));
        // Expiring again is fine and changes nothing.
        rt.block_on(silences.expire(&pending, 60_000)).unwrap();
        assert_eq!(silences.get(&pending).unwrap(), expired);
        assert!(matches!(
            rt.block_on(silences.expire("nope", 60_000)),
            Err(SilenceError::NotFound)
        ));
    }

    #[test]
    fn changes_forget_silences_past_their_retention() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let silences =
            Silences::open_with(Arc::clone(&store), 10_000, SilenceLimits::default()).unwrap();
        let rt = runtime();
        let old = rt
            .block_on(silences.create(input(vec![matcher("a", "=", "1")], 0, 20_000), 0))
            .unwrap();
        // 30_000 is the end plus the retention: still kept at that moment.
        let kept = rt
            .block_on(silences.create(input(vec![matcher("a", "=", "2")], 0, 90_000), 29_999))
            .unwrap();
        assert!(silences.get(&old).is_some());
        rt.block_on(silences.expire(&kept, 30_000)).unwrap();
        assert!(silences.get(&old).is_none());
        assert!(silences.get(&kept).is_some());
        let stored = store.load_records(RecordTable::Silences).unwrap();
        assert_eq!(stored.len(), 1, "the deletion is in the store too");
    }

    #[test]
    fn silences_survive_reopen_and_gc_forgets_them_after_retention() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let now = chrono::Utc::now().timestamp_millis();
        let (kept, gone) = {
            let silences = open(dir.path());
            let kept = rt
                .block_on(silences.create(
                    input(vec![matcher("a", "=", "1")], now, now + 3_600_000),
                    now,
                ))
                .unwrap();
            let gone = rt
                .block_on(
                    silences.create(input(vec![matcher("a", "=", "2")], now, now + 1_000), now),
                )
                .unwrap();
            (silences.get(&kept).unwrap(), gone)
        };
        let silences = open(dir.path());
        assert_eq!(silences.get(&kept.id).unwrap(), kept);
        assert_eq!(silences.list().len(), 2);
        let retention = silences.retention_ms;
        assert_eq!(
            rt.block_on(silences.gc(now + 1_000 + retention)).unwrap(),
            1
        );
        assert!(silences.get(&gone).is_none());
        drop(silences);
        let silences = open(dir.path());
        assert!(silences.get(&gone).is_none(), "the deletion is durable");
        assert!(silences.get(&kept.id).is_some());
    }

    fn open_limited(store: &Arc<Store>, limits: SilenceLimits) -> Arc<Silences> {
        Silences::open_with(Arc::clone(store), DEFAULT_RETENTION_MS, limits).unwrap()
    }

    /// Regression for issue 22: 100,000 regex matchers in one silence.
    #[test]
    fn a_silence_over_a_limit_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let silences = open(dir.path());
        let rt = runtime();
        let err = |i: SilenceInput| {
            rt.block_on(silences.create(i, 5_000))
                .unwrap_err()
                .to_string()
        };
        let many: Vec<Matcher> = (0..100_000)
            .map(|i| matcher("instance", "=~", &format!("h.*|x-{i}")))
            .collect();
        assert_eq!(
            err(input(many, 5_000, 8_000)),
            "silence invalid: too many matchers: 100000 (limit: 100, --silences.max-matchers)"
        );
        assert_eq!(silences.usage().patterns, 0, "nothing was compiled");
        let long = "x".repeat(16 << 10);
        assert_eq!(
            err(input(vec![matcher("a", "=", &long)], 5_000, 8_000)),
            "silence invalid: invalid label matcher 0: name and value are 16385 bytes \
             (limit: 16384 bytes, --silences.max-matcher-bytes)"
        );
        let big: Vec<Matcher> = (0..5)
            .map(|i| matcher(&format!("l{i}"), "=", &"v".repeat(15_000)))
            .collect();
        let text = err(input(big, 5_000, 8_000));
        assert!(
            text.starts_with("silence exceeded maximum size: 75")
                && text.ends_with(" bytes (limit: 65536 bytes, --silences.max-silence-size-bytes)"),
            "{text}"
        );
        assert_eq!(
            err(input(vec![matcher("a", "=~", r"\w{1000}")], 5_000, 8_000)),
            format!(
                "silence invalid: invalid label matcher 0: regular expression \"\\\\w{{1000}}\" \
                 is too large: compiled, it would take more than {REGEX_SIZE_LIMIT} bytes"
            )
        );
        assert!(silences.list().is_empty());
        // Within the limits: 100 distinct regexes, and it mutes.
        let hundred: Vec<Matcher> = (0..100)
            .map(|i| matcher("instance", "=~", &format!("h.*|x-{i}")))
            .collect();
        let id = rt
            .block_on(silences.create(input(hundred, 5_000, 8_000), 5_000))
            .unwrap();
        let labels = LabelSet::from_pairs([("instance", "h1")]);
        assert_eq!(silences.mutes(&labels, 6_000), vec![id]);
        assert!(
            silences
                .mutes(&LabelSet::from_pairs([("instance", "x-1")]), 6_000)
                .is_empty()
        );
    }

    #[test]
    fn the_count_limit_counts_expired_silences_and_never_blocks_updates_or_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let limits = SilenceLimits {
            max_silences: 2,
            ..SilenceLimits::default()
        };
        let silences = open_limited(&store, limits);
        let rt = runtime();
        let now = chrono::Utc::now().timestamp_millis();
        let ms = |v: &str| vec![matcher("a", "=", v)];
        let first = rt
            .block_on(silences.create(input(ms("1"), now, now + 60_000), now))
            .unwrap();
        let second = rt
            .block_on(silences.create(input(ms("2"), now, now + 60_000), now))
            .unwrap();
        rt.block_on(silences.expire(&second, now)).unwrap();
        let refused = rt
            .block_on(silences.create(input(ms("3"), now, now + 60_000), now))
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "exceeded maximum number of silences: 2 (limit: 2, --silences.max-silences); \
             expired silences count until 120h after their end"
        );
        // In place: same matchers, a later end.
        let mut longer = input(ms("1"), now, now + 120_000);
        longer.comment = "longer".to_string();
        assert_eq!(
            rt.block_on(silences.update(&first, longer, now)).unwrap(),
            first
        );
        // A replacement needs room for one more.
        assert!(
            rt.block_on(silences.update(&first, input(ms("9"), now, now + 60_000), now))
                .is_err()
        );
        rt.block_on(silences.expire(&first, now)).unwrap();
        assert_eq!(silences.usage().silences, 2);
    }

    #[test]
    fn the_total_counts_stored_size_and_each_compiled_pattern_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let rt = runtime();
        let now = chrono::Utc::now().timestamp_millis();
        let regex = |i: usize| {
            input(
                vec![matcher("job", "=~", &format!("api-{i}.*"))],
                now,
                now + 60_000,
            )
        };
        // Measure one silence, then allow a bit more than three.
        let probe = open_limited(&store, SilenceLimits::NONE);
        let id = rt.block_on(probe.create(regex(0), now)).unwrap();
        let one = probe.usage();
        assert_eq!((one.silences, one.patterns), (1, 1));
        assert!(one.pattern_bytes > one.stored_bytes, "{one:?}");
        rt.block_on(probe.expire(&id, now)).unwrap();
        drop(probe);
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let limit = one.total_bytes() * 3 + one.total_bytes() / 2;
        let silences = open_limited(
            &store,
            SilenceLimits {
                max_total_bytes: limit,
                ..SilenceLimits::default()
            },
        );
        for i in 0..3 {
            rt.block_on(silences.create(regex(i), now)).unwrap();
        }
        let text = rt
            .block_on(silences.create(regex(3), now))
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("silences exceeded maximum total size: ")
                && text.contains(&format!(
                    "(limit: {limit} bytes, --silences.max-total-bytes)"
                )),
            "{text}"
        );
        // A pattern already compiled costs only the stored silence.
        for _ in 0..3 {
            rt.block_on(silences.create(regex(1), now)).unwrap();
        }
        let usage = silences.usage();
        assert_eq!((usage.silences, usage.patterns), (6, 3));
        assert!(usage.total_bytes() <= limit, "{usage:?}");
    }

    /// Silences stored before the limits (issue 22's shape, smaller) are
    /// left in the store, not loaded, and reported; raising the limit loads
    /// them again.
    #[test]
    fn stored_silences_over_the_limits_stay_in_the_store_unloaded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let now = chrono::Utc::now().timestamp_millis();
        let stored = |id: &str, matchers: Vec<Matcher>, ends_at: Millis| Silence {
            id: id.to_string(),
            matchers,
            starts_at: now - 60_000,
            ends_at,
            updated_at: now - 60_000,
            created_by: "older klaxon".to_string(),
            comment: "before the limits".to_string(),
        };
        let huge = stored(
            "huge",
            (0..150)
                .map(|i| matcher("instance", "=~", &format!("h.*|x-{i}")))
                .collect(),
            now + 3_600_000,
        );
        let small = |id: &str, ends_at| stored(id, vec![matcher("a", "=", id)], ends_at);
        let silences = [
            huge,
            small("active", now + 3_600_000),
            small("expired", now - 1_000),
        ];
        let ops: Vec<RecordOp> = silences
            .iter()
            .map(|s| RecordOp::Put {
                table: RecordTable::Silences,
                key: s.id.as_bytes().to_vec(),
                value: serde_json::to_vec(s).unwrap(),
            })
            .collect();
        store.commit_records(&ops).unwrap();

        let limited = open_limited(
            &store,
            SilenceLimits {
                max_silences: 1,
                ..SilenceLimits::default()
            },
        );
        assert_eq!(limited.usage().patterns, 0, "the huge one was not compiled");
        let ids: Vec<String> = limited.list().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["active"], "active before expired");
        let not_loaded = limited.not_loaded().join("\n");
        assert!(
            not_loaded.contains(
                "silence \"huge\" (active): silence invalid: too many matchers: 150 (limit: \
                 100, --silences.max-matchers)"
            ) && not_loaded.contains(
                "silence \"expired\" (expired): exceeded maximum number of silences: 1 (limit: 1"
            ),
            "{not_loaded}"
        );
        assert_eq!(store.load_records(RecordTable::Silences).unwrap().len(), 3);
        drop(limited);

        let all = open_limited(&store, SilenceLimits::NONE);
        assert_eq!(all.list().len(), 3);
        assert!(all.not_loaded().is_empty());
        let labels = LabelSet::from_pairs([("instance", "h1")]);
        assert_eq!(all.mutes(&labels, now), vec!["huge".to_string()]);
    }
}
