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

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::alert::{LabelSet, Millis};
use crate::store::{RecordOp, RecordTable, Store, StoreError};

/// Alertmanager's default `--data.retention`.
pub const DEFAULT_RETENTION_MS: Millis = 120 * 60 * 60 * 1000;

/// One matcher of a silence, in the API's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceMatcher {
    /// Label name.
    pub name: String,
    /// Value, or pattern when `is_regex`.
    pub value: String,
    /// `=~`/`!~` rather than `=`/`!=`.
    pub is_regex: bool,
    /// `=`/`=~` rather than `!=`/`!~`.
    pub is_equal: bool,
}

impl SilenceMatcher {
    /// The operator as written in matcher syntax.
    pub fn operator(&self) -> &'static str {
        match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        }
    }
}

/// A silence as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    /// UUID v4.
    pub id: String,
    /// All must match for the silence to mute an alert.
    pub matchers: Vec<SilenceMatcher>,
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
    pub matchers: Vec<SilenceMatcher>,
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

/// A silence with its matchers compiled, ready for [`Silences::mutes`].
struct Entry {
    silence: Silence,
    compiled: Vec<CompiledMatcher>,
}

struct CompiledMatcher {
    name: String,
    is_equal: bool,
    test: Test,
}

enum Test {
    Equal(String),
    Regex(Regex),
}

impl CompiledMatcher {
    fn matches(&self, labels: &LabelSet) -> bool {
        let value = labels.value(&self.name);
        let hit = match &self.test {
            Test::Equal(expected) => value == expected,
            Test::Regex(regex) => regex.is_match(value),
        };
        hit == self.is_equal
    }
}

fn compile(matchers: &[SilenceMatcher]) -> Result<Vec<CompiledMatcher>, String> {
    if matchers.is_empty() {
        return Err("silence invalid: at least one matcher required".to_string());
    }
    let mut compiled = Vec::with_capacity(matchers.len());
    let mut all_match_empty = true;
    for (i, m) in matchers.iter().enumerate() {
        if !is_valid_label_name(&m.name) {
            return Err(format!(
                "silence invalid: invalid label matcher {i}: invalid label name {:?}",
                m.name
            ));
        }
        let test = if m.is_regex {
            match Regex::new(&format!("^(?:{})$", m.value)) {
                Ok(regex) => Test::Regex(regex),
                Err(e) => {
                    return Err(format!(
                        "silence invalid: invalid label matcher {i}: invalid regular expression \
                         {:?}: {}",
                        m.value,
                        regex_error(&e, &m.value)
                    ));
                }
            }
        } else {
            Test::Equal(m.value.clone())
        };
        // Alertmanager's matchesEmpty: only `=` and `=~` can match "".
        let matches_empty = m.is_equal
            && match &test {
                Test::Equal(v) => v.is_empty(),
                Test::Regex(r) => r.is_match(""),
            };
        all_match_empty &= matches_empty;
        compiled.push(CompiledMatcher {
            name: m.name.clone(),
            is_equal: m.is_equal,
            test,
        });
    }
    if all_match_empty {
        return Err(
            "silence invalid: at least one matcher must not match the empty string".to_string(),
        );
    }
    Ok(compiled)
}

/// A regex error in one line, as Go words it: `what: `pattern``.
pub fn regex_error(error: &regex::Error, pattern: &str) -> String {
    let text = error.to_string();
    let what = text
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or_else(|| text.lines().last().unwrap_or("invalid regular expression"));
    format!("{}: `{pattern}`", what.trim())
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

/// The silences of this klaxon; see the module documentation.
pub struct Silences {
    store: Arc<Store>,
    retention_ms: Millis,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    /// Serialises changes, so each is decided on the state it replaces.
    changes: tokio::sync::Mutex<()>,
    unreadable: Vec<String>,
}

impl std::fmt::Debug for Silences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Silences")
            .field("count", &self.read().len())
            .finish()
    }
}

impl Silences {
    /// Loads the stored silences (with the default 120h retention). Records
    /// that do not decode are logged and reported by
    /// [`Silences::unreadable`]; silences past their retention are deleted.
    pub fn open(store: Arc<Store>) -> Result<Arc<Silences>, StoreError> {
        Self::open_with_retention(store, DEFAULT_RETENTION_MS)
    }

    /// [`Silences::open`] with another retention after a silence's end.
    pub fn open_with_retention(
        store: Arc<Store>,
        retention_ms: Millis,
    ) -> Result<Arc<Silences>, StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut entries = HashMap::new();
        let mut unreadable = Vec::new();
        let mut doomed = Vec::new();
        for (key, value) in store.load_records(RecordTable::Silences)? {
            let id = String::from_utf8_lossy(&key).into_owned();
            let decoded = serde_json::from_slice::<Silence>(&value)
                .map_err(|e| e.to_string())
                .and_then(|s| compile(&s.matchers).map(|compiled| (s, compiled)));
            match decoded {
                Ok((silence, _)) if silence.ends_at.saturating_add(retention_ms) <= now => {
                    doomed.push(key);
                }
                Ok((silence, compiled)) => {
                    entries.insert(silence.id.clone(), Arc::new(Entry { silence, compiled }));
                }
                Err(reason) => {
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
        Ok(Arc::new(Silences {
            store,
            retention_ms,
            entries: RwLock::new(entries),
            changes: tokio::sync::Mutex::new(()),
            unreadable,
        }))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ids (sorted) of the silences active at `now` that match `labels`.
    /// Called for every alert at every flush: matchers are precompiled and
    /// inactive silences cost two comparisons.
    pub fn mutes(&self, labels: &LabelSet, now: Millis) -> Vec<String> {
        let entries = self.read();
        let mut ids: Vec<String> = entries
            .values()
            .filter(|e| e.silence.starts_at <= now && now < e.silence.ends_at)
            .filter(|e| e.compiled.iter().all(|m| m.matches(labels)))
            .map(|e| e.silence.id.clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Every silence not yet past its retention, in no order.
    pub fn list(&self) -> Vec<Silence> {
        self.read().values().map(|e| e.silence.clone()).collect()
    }

    /// The silence with this id.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.read().get(id).map(|e| e.silence.clone())
    }

    /// Stored records that did not decode when the silences were loaded.
    pub fn unreadable(&self) -> &[String] {
        &self.unreadable
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
    /// `input.id` following the rules in the module documentation. Returns
    /// the id of the silence that holds the result, once it is durable.
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
        let compiled = compile(&input.matchers).map_err(SilenceError::Invalid)?;
        let _change = self.changes.lock().await;
        let previous = match &input.id {
            Some(id) => match self.read().get(id) {
                Some(entry) => Some(Arc::clone(entry)),
                None => return Err(SilenceError::NotFound),
            },
            None => None,
        };
        let mut changed: Vec<Entry> = Vec::with_capacity(2);
        let mut silence = Silence {
            id: String::new(),
            matchers: input.matchers,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            updated_at: now,
            created_by: input.created_by,
            comment: input.comment,
        };
        if let Some(previous) = &previous {
            if can_update(&previous.silence, &silence, now) {
                silence.id = previous.silence.id.clone();
                let id = silence.id.clone();
                self.save(vec![Entry { silence, compiled }]).await?;
                return Ok(id);
            }
            if let Some(expired) = expire_at(&previous.silence, now) {
                changed.push(Entry {
                    silence: expired,
                    compiled: compile(&previous.silence.matchers).map_err(SilenceError::Invalid)?,
                });
            }
        }
        silence.id = uuid::Uuid::new_v4().to_string();
        silence.starts_at = silence.starts_at.max(now);
        let id = silence.id.clone();
        changed.push(Entry { silence, compiled });
        self.save(changed).await?;
        Ok(id)
    }

    /// Alertmanager's `DELETE /api/v2/silence/{id}`: ends the silence now
    /// (see the module documentation). Expiring an expired silence is fine.
    pub async fn expire(&self, id: &str, now: Millis) -> Result<(), SilenceError> {
        let _change = self.changes.lock().await;
        let Some(entry) = self.read().get(id).cloned() else {
            return Err(SilenceError::NotFound);
        };
        let Some(silence) = expire_at(&entry.silence, now) else {
            return Ok(());
        };
        let compiled = compile(&silence.matchers).map_err(SilenceError::Invalid)?;
        self.save(vec![Entry { silence, compiled }]).await?;
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
        let mut entries = self.write();
        for id in &doomed {
            entries.remove(id);
        }
        Ok(doomed.len())
    }

    /// Ids of the silences that ended longer than the retention before `now`.
    fn past_retention(&self, now: Millis) -> Vec<String> {
        self.read()
            .values()
            .filter(|e| e.silence.ends_at.saturating_add(self.retention_ms) <= now)
            .map(|e| e.silence.id.clone())
            .collect()
    }

    /// Commits `changed` in one transaction, then makes it visible. Silences
    /// past their retention are deleted in the same transaction, so the
    /// store stays small without a timer.
    async fn save(&self, changed: Vec<Entry>) -> Result<(), StoreError> {
        let now = changed
            .iter()
            .map(|e| e.silence.updated_at)
            .max()
            .unwrap_or(Millis::MIN);
        let doomed: Vec<String> = self
            .past_retention(now)
            .into_iter()
            .filter(|id| !changed.iter().any(|e| e.silence.id == *id))
            .collect();
        let mut ops = Vec::with_capacity(changed.len() + doomed.len());
        for id in &doomed {
            ops.push(RecordOp::Delete {
                table: RecordTable::Silences,
                key: id.as_bytes().to_vec(),
            });
        }
        for entry in &changed {
            let value = serde_json::to_vec(&entry.silence).map_err(|e| StoreError::Database {
                path: self.store.path().to_path_buf(),
                action: "encode a silence for",
                detail: e.to_string(),
            })?;
            ops.push(RecordOp::Put {
                table: RecordTable::Silences,
                key: entry.silence.id.as_bytes().to_vec(),
                value,
            });
        }
        self.commit(ops).await?;
        let mut entries = self.write();
        for id in &doomed {
            entries.remove(id);
        }
        for entry in changed {
            entries.insert(entry.silence.id.clone(), Arc::new(entry));
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

    fn matcher(name: &str, op: &str, value: &str) -> SilenceMatcher {
        SilenceMatcher {
            name: name.to_string(),
            value: value.to_string(),
            is_regex: op.contains('~'),
            is_equal: !op.starts_with('!'),
        }
    }

    fn input(matchers: Vec<SilenceMatcher>, starts: Millis, ends: Millis) -> SilenceInput {
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
        Silences::open_with_retention(Arc::new(Store::open(dir).unwrap()), i64::MAX / 4).unwrap()
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
        let silences = Silences::open_with_retention(Arc::clone(&store), 10_000).unwrap();
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
}
