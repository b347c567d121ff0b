//! Durable alert state: every alert of every rule in one redb file,
//! `<data-dir>/klaxon.redb`, so that after a restart (clean or `kill -9`) the
//! evaluator resumes exactly where it stopped: a pending alert keeps its
//! `activeAt`, a firing alert stays firing and is not announced again.
//!
//! The rest of klaxon sees only [`Store`], [`AlertRecord`], [`RecordOp`] and
//! [`StoreError`], so the storage engine can be swapped behind this module.
//! The store keeps bytes: the evaluator (`eval::persist`) and the notifier
//! encode their own records, so it imports no type of theirs.
//!
//! On-disk layout (schema version [`SCHEMA_VERSION`]):
//! - table `klaxon_meta` (`&str -> &str`): `format` = `klaxon alert state`,
//!   `schema_version` = the decimal schema version; written when the file is
//!   created, checked on every open.
//! - table `alerts` (`(rule key, fingerprint) -> the evaluator's encoded alert`,
//!   JSON of `eval::alert::Alert`).
//!
//! Safety of the user's data comes first: an existing file is verified in
//! place with every write redb makes while checking it held in memory
//! ([`overlay`]: redb writes to a file as soon as it opens it), so a file
//! klaxon refuses to open — not redb, foreign, newer, damaged — is left byte
//! for byte as it was, and verifying needs no free disk space. A new file is
//! built under a temporary name and renamed into place, so a crash during
//! creation never leaves a half-made file behind.
//!
//! A write that fails on the disk (a full disk, most often) is not the end:
//! redb refuses the handle from then on, so the store refuses writes quickly
//! with [`StoreError::NoSpace`] or [`StoreError::Unavailable`] (HTTP 503),
//! reports [`Store::problem`] for `/-/ready` and metrics, and reopens the
//! file once the disk has room again ([`Store::recover`], also tried before
//! a write). Everyone holding the `Arc<Store>` keeps it across the reopen.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt::Display;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, PoisonError, RwLock};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

pub use error::StoreError;
use health::{Cause, Health};
pub use health::{MIN_FREE_BYTES, StoreProblem, WriteFailure};

mod error;
mod health;
pub mod metrics;
mod overlay;

/// The version of the on-disk layout this klaxon writes and reads. A file
/// with a higher version was written by a newer klaxon and is refused rather
/// than misread.
pub const SCHEMA_VERSION: u64 = 1;

/// redb's page cache when the caller does not choose one
/// (`--storage.cache-size`). redb's own default is 1 GiB, and it keeps
/// every page it has read or written up to that: with tens of thousands of
/// alerts that alone would be the largest part of klaxon's memory. Alert
/// state is read once at start and then only written, but the notifier's
/// journal writes a batch of alerts per transaction into the write buffer
/// (half the cache). Measured with bench/ingest-vs-alertmanager.sh on a
/// quiet machine: 256 KiB cut ingest from 84k to 36k alerts/s (dirty pages
/// flushed mid-transaction); 512 KiB took about 0.5 MB off an evaluator's
/// resident memory but ingested 126k alerts/s against 136k at 500,000
/// alerts, where klaxon's margin over Alertmanager is thinnest (5.2x for a
/// goal of 5x). So 1 MiB; a deployment that only evaluates rules can run
/// with 512 KiB.
pub const DEFAULT_CACHE_BYTES: usize = 1 << 20;

/// The state file inside the data directory.
pub const STATE_FILE_NAME: &str = "klaxon.redb";

/// Held (flock) for the whole life of a [`Store`] so that two klaxon
/// processes never share one data directory.
const LOCK_FILE_NAME: &str = "klaxon.lock";
/// A new state file is built under this name and renamed into place.
const NEW_FILE_NAME: &str = "klaxon.redb.new";
/// Where klaxon before issue 22 copied the state file to verify it; a copy
/// left by a crash (or a full disk) is removed at start.
const VERIFY_FILE_NAME: &str = "klaxon.redb.verify";
/// The metadata key the first write after a reopen goes to, to prove the
/// store writes again.
const WRITE_CHECK_KEY: &str = "write_check";

const META: TableDefinition<&str, &str> = TableDefinition::new("klaxon_meta");
const ALERTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("alerts");
const NOTIFY_ALERTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("notify_alerts");
const SILENCES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("silences");
const OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox");
const NOTIFY_LOG: TableDefinition<&[u8], &[u8]> = TableDefinition::new("notify_log");
const HISTORY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("history");
const THREADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("threads");
const FORMAT_KEY: &str = "format";
const FORMAT_MARKER: &str = "klaxon alert state";
const SCHEMA_KEY: &str = "schema_version";

/// The first bytes of every redb file (redb's own magic number).
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
/// redb's page size; the header stores it at bytes 12..16 (little endian).
/// redb asserts (panics) when it differs from the one it was opened with.
const REDB_PAGE_SIZE: u32 = 4096;
/// redb's header: magic, flags, page size, region layout and two commit slots.
const REDB_HEADER_LEN: u64 = 320;

/// One change to the evaluator's alert table. The value is the evaluator's
/// own encoding of the alert (see `eval::persist`); the store keeps bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertRecord<'a> {
    /// Insert or replace the alert of `rule` with this fingerprint.
    Put {
        /// The rule key.
        rule: &'a str,
        /// The alert's fingerprint (its identity within the rule).
        fingerprint: u64,
        /// The encoded alert.
        value: Vec<u8>,
    },
    /// Forget the alert of `rule` with this fingerprint (no-op when absent).
    Delete {
        /// The rule key.
        rule: &'a str,
        /// The alert's fingerprint.
        fingerprint: u64,
    },
}

/// The notifier's tables. Each is a plain byte-keyed map: the component that
/// owns a table encodes its own keys and values, so the notifier's record
/// layouts can change without touching the storage engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordTable {
    /// The notifier's alerts, as an append-only journal keyed by a big-endian
    /// sequence number (sequential keys are ten times faster to insert than
    /// fingerprints, which ingest at Alertmanager-beating rates needs).
    NotifyAlerts,
    /// Silences by id.
    Silences,
    /// Notifications committed but not yet delivered or given up.
    Outbox,
    /// What each receiver integration was last told about each group.
    NotifyLog,
    /// Delivery history for `/api/v1/notifications`.
    History,
    /// Per group and integration, the message a later one threads onto
    /// (Slack `ts`, email `Message-ID`).
    Threads,
}

impl RecordTable {
    fn definition(self) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
        match self {
            RecordTable::NotifyAlerts => NOTIFY_ALERTS,
            RecordTable::Silences => SILENCES,
            RecordTable::Outbox => OUTBOX,
            RecordTable::NotifyLog => NOTIFY_LOG,
            RecordTable::History => HISTORY,
            RecordTable::Threads => THREADS,
        }
    }
}

/// A key and its value, as read back from a [`RecordTable`].
pub type Record = (Vec<u8>, Vec<u8>);

type RecordHandle<'txn> = redb::Table<'txn, &'static [u8], &'static [u8]>;

/// One change to a [`RecordTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOp {
    /// Insert or replace.
    Put {
        /// Which table.
        table: RecordTable,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove one key (absent keys are fine).
    Delete {
        /// Which table.
        table: RecordTable,
        /// The key.
        key: Vec<u8>,
    },
    /// Remove every key ordered before `key` (journal compaction).
    DeleteBelow {
        /// Which table.
        table: RecordTable,
        /// The first key kept.
        key: Vec<u8>,
    },
}

/// The durable alert state of one klaxon process. All methods block on disk
/// I/O (a commit waits for fsync): call them from `spawn_blocking` in async
/// code. Concurrent commits are serialised by redb.
pub struct Store {
    /// The open file. Every operation holds the read side; a reopen takes
    /// the write side, so no transaction spans two handles. None only while
    /// a reopen failed.
    db: RwLock<Option<Database>>,
    path: PathBuf,
    cache_bytes: usize,
    health: Health,
    /// One reopen at a time.
    reopening: Mutex<()>,
    /// Holds the data directory's lock for as long as the store is open.
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if missing) `data_dir` and `data_dir/klaxon.redb`.
    /// Refuses, with the file left untouched, anything that is not klaxon's
    /// state in a schema this klaxon reads, and a data directory another
    /// klaxon process is using.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Self::open_with_cache(data_dir, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with `cache_bytes` of redb page cache instead of the
    /// default: more keeps large journals fast (hundreds of thousands of
    /// ingested alerts), less keeps a small deployment small.
    pub fn open_with_cache(data_dir: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let lock = lock_data_dir(data_dir)?;
        remove_stale_copy(&data_dir.join(VERIFY_FILE_NAME))?;
        let path = data_dir.join(STATE_FILE_NAME);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => verify_existing(&path, cache_bytes)?,
            Ok(_) => {
                return Err(StoreError::NotRedb {
                    path,
                    what: "not a regular file (a directory?)".to_string(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_fresh(data_dir, &path)?,
            Err(source) => {
                return Err(StoreError::Io {
                    path,
                    action: "read",
                    source,
                });
            }
        }
        let db = open_redb(&path, cache_bytes).map_err(|problem| problem.at(&path))?;
        check_meta(&db).map_err(|problem| problem.at(&path))?;
        Ok(Store {
            db: RwLock::new(Some(db)),
            path,
            cache_bytes,
            health: Health::new(),
            reopening: Mutex::new(()),
            _lock: lock,
        })
    }

    /// Why the store cannot write at the moment (None while it can): for
    /// `/-/ready` and the log.
    pub fn problem(&self) -> Option<StoreProblem> {
        self.health.problem()
    }

    /// Writes that failed, or were refused while the store could not
    /// write, for this reason since the store was opened.
    pub fn write_errors(&self, failure: WriteFailure) -> u64 {
        self.health.write_errors(failure)
    }

    /// How many times the file was reopened after a failed write.
    pub fn reopens(&self) -> u64 {
        self.health.reopens()
    }

    /// After a failed write: reopens the file (redb repairs it to the last
    /// commit) and proves with a small write that it can write again, if
    /// it is time to try — the file system has at least
    /// [`MIN_FREE_BYTES`] free after a full disk, and the backoff since the
    /// last failed attempt has passed. Returns whether the store writes.
    /// Writes call this by themselves; a caller calls it now and then so
    /// that `/-/ready` recovers without waiting for a write. Blocks while
    /// redb reads the whole file: call it from a blocking thread.
    pub fn recover(&self) -> bool {
        if self.health.is_healthy() {
            return true;
        }
        let _one = self
            .reopening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Another thread may have reopened it meanwhile.
        if self.health.is_healthy() {
            return true;
        }
        let data_dir = self.path.parent().unwrap_or(&self.path);
        if !self.health.reopen_due(data_dir) {
            return false;
        }
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        // redb allows one handle per file: the poisoned one goes first (its
        // close writes nothing after a failed write).
        drop(db.take());
        let opened = guard_panic(|| {
            let opened = open_redb(&self.path, self.cache_bytes)?;
            check_meta(&opened)?;
            Ok(opened)
        });
        let opened = match opened {
            Ok(opened) => opened,
            Err(problem) => {
                self.health.attempt_failed(&self.path, problem.cause());
                return false;
            }
        };
        let checked = write_check(&opened);
        *db = Some(opened);
        match checked {
            Ok(()) => {
                self.health.recovered(&self.path);
                true
            }
            Err(e) => {
                let cause = health::cause(&e)
                    .unwrap_or_else(|| Cause::Failed(WriteFailure::Io, e.to_string()));
                self.health.attempt_failed(&self.path, cause);
                false
            }
        }
    }

    /// Runs `f` on the open file. While a failed write is being recovered
    /// from, it tries a reopen when one is due and otherwise refuses at
    /// once with that failure; a disk failure of `f` itself starts one.
    fn with_db<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&Database) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        if !self.health.is_healthy()
            && !self.recover()
            && let Some(problem) = self.health.problem()
        {
            self.health.count(problem.failure);
            return Err(self.refused(action, problem));
        }
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        let outcome = match db.as_ref() {
            Some(db) => f(db),
            None => Err(redb::Error::DatabaseClosed),
        };
        // Judged under the read lock, so a reopen cannot come between the
        // failure and its record (and be undone by it).
        outcome.map_err(|e| match health::cause(&e) {
            Some(cause) => {
                let problem = self.health.failed(&self.path, cause);
                self.health.count(problem.failure);
                self.refused(action, problem)
            }
            None => self.db_error(action, &e),
        })
    }

    fn refused(&self, action: &'static str, problem: StoreProblem) -> StoreError {
        let path = self.path.clone();
        let detail = problem.detail;
        match problem.failure {
            WriteFailure::NoSpace => StoreError::NoSpace {
                path,
                action,
                detail,
            },
            WriteFailure::Io => StoreError::Unavailable {
                path,
                action,
                detail,
            },
        }
    }

    /// Calls `each` with every stored alert record (rule key, fingerprint,
    /// encoded alert), in key order: rules ascending, then fingerprints.
    pub fn read_alerts(&self, mut each: impl FnMut(&str, u64, &[u8])) -> Result<(), StoreError> {
        self.with_db("read alert state from", |db| {
            let txn = db.begin_read()?;
            let table = match txn.open_table(ALERTS) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            for entry in table.iter()? {
                let (key, value) = entry?;
                let (rule, fingerprint) = key.value();
                each(rule, fingerprint, value.value());
            }
            Ok(())
        })
    }

    /// Applies alert-record changes in one write transaction that is durable
    /// (fsynced) when this returns. All or nothing. An empty slice does not
    /// touch the file.
    pub fn commit_alerts(&self, records: &[AlertRecord<'_>]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        self.with_db("commit alert state to", |db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            {
                let mut table = txn.open_table(ALERTS)?;
                for record in records {
                    match record {
                        AlertRecord::Put {
                            rule,
                            fingerprint,
                            value,
                        } => {
                            table.insert((*rule, *fingerprint), value.as_slice())?;
                        }
                        AlertRecord::Delete { rule, fingerprint } => {
                            table.remove((*rule, *fingerprint))?;
                        }
                    }
                }
            }
            Ok(txn.commit()?)
        })
    }

    /// Deletes the alerts of every rule not in `keep` (rules removed from
    /// the configuration), durably, and returns how many were deleted. Does
    /// not write when there is nothing to delete.
    pub fn retain_rules(&self, keep: &HashSet<String>) -> Result<usize, StoreError> {
        self.with_db("remove alerts of deleted rules from", |db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            let removed = {
                let mut table = txn.open_table(ALERTS)?;
                let mut doomed: Vec<(String, u64)> = Vec::new();
                for entry in table.iter()? {
                    let (key, _) = entry?;
                    let (rule, fingerprint) = key.value();
                    if !keep.contains(rule) {
                        doomed.push((rule.to_string(), fingerprint));
                    }
                }
                for (rule, fingerprint) in &doomed {
                    table.remove((rule.as_str(), *fingerprint))?;
                }
                doomed.len()
            };
            if removed == 0 {
                txn.abort()?;
            } else {
                txn.commit()?;
            }
            Ok(removed)
        })
    }

    /// Applies record changes in one write transaction that is durable
    /// (fsynced) when this returns; all or nothing. An empty slice does not
    /// touch the file.
    pub fn commit_records(&self, ops: &[RecordOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.with_db("commit notifier records to", |db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            {
                let mut open: Vec<(RecordTable, RecordHandle<'_>)> = Vec::new();
                for op in ops {
                    let table = match op {
                        RecordOp::Put { table, .. }
                        | RecordOp::Delete { table, .. }
                        | RecordOp::DeleteBelow { table, .. } => *table,
                    };
                    let index = match open.iter().position(|(t, _)| *t == table) {
                        Some(i) => i,
                        None => {
                            let handle = txn.open_table(table.definition())?;
                            open.push((table, handle));
                            open.len() - 1
                        }
                    };
                    let handle = &mut open[index].1;
                    match op {
                        RecordOp::Put { key, value, .. } => {
                            handle.insert(key.as_slice(), value.as_slice())?;
                        }
                        RecordOp::Delete { key, .. } => {
                            handle.remove(key.as_slice())?;
                        }
                        RecordOp::DeleteBelow { key, .. } => {
                            handle.retain_in::<&[u8], _>(..key.as_slice(), |_, _| false)?;
                        }
                    }
                }
            }
            Ok(txn.commit()?)
        })
    }

    /// Every record of `table` in key order (empty when the table was never
    /// written).
    pub fn load_records(&self, table: RecordTable) -> Result<Vec<Record>, StoreError> {
        self.with_db("read notifier records from", |db| {
            let txn = db.begin_read()?;
            let handle = match txn.open_table(table.definition()) {
                Ok(handle) => handle,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let mut out = Vec::new();
            for entry in handle.iter()? {
                let (key, value) = entry?;
                out.push((key.value().to_vec(), value.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// The state file, for logs and error messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_error(&self, action: &'static str, e: &dyn Display) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            action,
            detail: e.to_string(),
        }
    }
}

/// Takes the data directory's lock file (flock, released by the kernel when
/// the process dies, even by `kill -9`) and writes our pid into it.
fn lock_data_dir(data_dir: &Path) -> Result<File, StoreError> {
    let path = data_dir.join(LOCK_FILE_NAME);
    let io_err = |action, source| StoreError::Io {
        path: path.clone(),
        action,
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_err("create the lock file", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            // The pid is only a courtesy for the message.
            let holder = match file.read_to_string(&mut text) {
                Ok(_) => match text.trim().parse::<u32>() {
                    Ok(pid) => format!(" (pid {pid})"),
                    Err(_) => String::new(),
                },
                Err(_) => String::new(),
            };
            return Err(StoreError::InUse {
                dir: data_dir.to_path_buf(),
                holder,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_err("lock", e)),
    }
    // The pid only names the holder in another process's error, so a full
    // disk (the state file then says so itself) does not stop the start.
    if let Err(e) = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
    {
        tracing::warn!(file = %path.display(), error = %e, "cannot write the pid into the lock file");
    }
    Ok(file)
}

/// Builds a new state file under a temporary name (metadata and empty alerts
/// table, cleanly closed and fsynced) and renames it into place. The
/// half-made file is removed when that fails (a full disk, say).
fn create_fresh(data_dir: &Path, path: &Path) -> Result<(), StoreError> {
    let new_path = data_dir.join(NEW_FILE_NAME);
    remove_if_present(&new_path)?;
    let built = build_fresh(data_dir, &new_path, path);
    if built.is_err() {
        let _ = fs::remove_file(&new_path);
    }
    built
}

fn build_fresh(data_dir: &Path, new_path: &Path, path: &Path) -> Result<(), StoreError> {
    let created = (|| -> Result<(), redb::Error> {
        let db = Database::create(new_path)?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(FORMAT_KEY, FORMAT_MARKER)?;
            let version = SCHEMA_VERSION.to_string();
            meta.insert(SCHEMA_KEY, version.as_str())?;
            txn.open_table(ALERTS)?;
        }
        txn.commit()?;
        Ok(db.close()?)
    })();
    created.map_err(|e| match health::cause(&e) {
        Some(Cause::Failed(WriteFailure::NoSpace, detail)) => StoreError::NoSpace {
            path: new_path.to_path_buf(),
            action: "create",
            detail,
        },
        _ => StoreError::Database {
            path: new_path.to_path_buf(),
            action: "create",
            detail: e.to_string(),
        },
    })?;
    let io_err = |path: &Path, action, source| StoreError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    File::open(new_path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(new_path, "sync", e))?;
    fs::rename(new_path, path).map_err(|e| io_err(path, "create", e))?;
    sync_dir(data_dir).map_err(|e| io_err(data_dir, "sync", e))
}

/// Checks an existing state file without writing to it or to the disk:
/// its first bytes here, the rest (integrity, metadata, every record) with
/// redb through a [`overlay::WriteOverlay`].
fn verify_existing(path: &Path, cache_bytes: usize) -> Result<(), StoreError> {
    sniff_header(path)?;
    let (backend, overlay) =
        overlay::WriteOverlay::open(path).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            action: "open",
            source,
        })?;
    let verdict = verify_file(backend, cache_bytes);
    tracing::debug!(
        path = %path.display(),
        overlay_bytes = overlay.bytes(),
        "verified the state file in place"
    );
    verdict.map_err(|problem| problem.at(path))
}

/// Removes a verification copy an older klaxon left behind (it could be as
/// large as the state file, on a disk that may be full).
fn remove_stale_copy(copy: &Path) -> Result<(), StoreError> {
    let size = match fs::metadata(copy) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                path: copy.to_path_buf(),
                action: "inspect the stale verification copy",
                source,
            });
        }
    };
    remove_if_present(copy)?;
    tracing::info!(
        file = %copy.display(),
        bytes = size,
        "removed a verification copy left by an earlier start"
    );
    Ok(())
}

/// Reads the first bytes: not redb at all (text, SQLite, random bytes),
/// truncated inside the header, or a redb file with a page size redb would
/// panic on.
fn sniff_header(path: &Path) -> Result<(), StoreError> {
    let io_err = |source| StoreError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut head = Vec::with_capacity(4096);
    file.take(4096).read_to_end(&mut head).map_err(io_err)?;
    if !head.starts_with(&REDB_MAGIC) {
        return Err(StoreError::NotRedb {
            path: path.to_path_buf(),
            what: describe_foreign(&head, len),
        });
    }
    if len < REDB_HEADER_LEN {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "it is truncated: {len} bytes, shorter than the {REDB_HEADER_LEN}-byte redb header"
            ),
        });
    }
    let page_size = head
        .get(12..16)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes);
    if page_size != Some(REDB_PAGE_SIZE) {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            detail: format!(
                "its page size is {}, klaxon writes {REDB_PAGE_SIZE}",
                page_size.map_or_else(|| "unreadable".to_string(), |p| p.to_string())
            ),
        });
    }
    // redb asserts (panics) when the file is shorter than its header says.
    match described_len(&head) {
        Some(described) if len >= described => Ok(()),
        Some(described) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("it is truncated: {len} bytes, its header describes {described}"),
        }),
        None => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: "its header describes an impossible file layout".to_string(),
        }),
    }
}

/// The file length a redb header describes: one header page, the full
/// regions, then the trailing partial region (each region is its header
/// pages plus its data pages). None when the header is malformed.
fn described_len(head: &[u8]) -> Option<u64> {
    let field = |at: usize| -> Option<u64> {
        let bytes = <[u8; 4]>::try_from(head.get(at..at + 4)?).ok()?;
        Some(u64::from(u32::from_le_bytes(bytes)))
    };
    let page_size = field(12)?;
    let region_header_pages = field(16)?;
    let region_max_data_pages = field(20)?;
    let full_regions = field(24)?;
    let trailing_data_pages = field(28)?;
    if region_max_data_pages == 0 || (full_regions == 0 && trailing_data_pages == 0) {
        return None;
    }
    let full =
        full_regions.checked_mul((region_header_pages + region_max_data_pages) * page_size)?;
    let trailing = if trailing_data_pages > 0 {
        (region_header_pages + trailing_data_pages) * page_size
    } else {
        0
    };
    page_size.checked_add(full)?.checked_add(trailing)
}

/// A human name for a file that is not redb, from its first bytes.
fn describe_foreign(head: &[u8], len: u64) -> String {
    let what = if head.is_empty() {
        return "an empty file (0 bytes)".to_string();
    } else if head.starts_with(b"SQLite format 3\0") {
        "an SQLite database"
    } else if head.starts_with(&[0x1f, 0x8b]) {
        "gzip-compressed data"
    } else if looks_like_text(head) {
        "a text file"
    } else {
        "binary data that is not a redb database"
    };
    format!("{what} ({len} bytes)")
}

fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut off by the 4 KiB read is still text.
        Err(e) => e.error_len().is_none(),
    };
    valid
        && !head
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
}

/// What is wrong with a state file, before the real path is attached.
#[derive(Debug)]
enum Problem {
    InUse,
    Foreign(String),
    Newer(u64),
    Corrupt(String),
    /// The disk is full: opening writes (a header flag, a repair).
    NoSpace(String),
}

impl Problem {
    fn at(self, path: &Path) -> StoreError {
        let path = path.to_path_buf();
        match self {
            Problem::InUse => StoreError::InUse {
                dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                holder: String::new(),
            },
            Problem::Foreign(detail) => StoreError::Foreign { path, detail },
            Problem::Newer(found) => StoreError::NewerSchema { path, found },
            Problem::Corrupt(detail) => StoreError::Corrupt { path, detail },
            Problem::NoSpace(detail) => StoreError::NoSpace {
                path,
                action: "open",
                detail,
            },
        }
    }

    /// What a failed reopen means for the store's health.
    fn cause(self) -> Cause {
        match self {
            Problem::NoSpace(detail) => Cause::Failed(WriteFailure::NoSpace, detail),
            Problem::InUse => Cause::Failed(
                WriteFailure::Io,
                "the file is open in another program".to_string(),
            ),
            Problem::Foreign(detail) | Problem::Corrupt(detail) => {
                Cause::Failed(WriteFailure::Io, detail)
            }
            Problem::Newer(found) => Cause::Failed(
                WriteFailure::Io,
                format!("the file now has state schema version {found}"),
            ),
        }
    }
}

/// Classifies a redb error met while opening or reading a file klaxon did
/// not just write.
fn problem_from_redb(e: impl Into<redb::Error>) -> Problem {
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => Problem::InUse,
        redb::Error::UpgradeRequired(version) => Problem::Foreign(format!(
            "it uses redb file format {version}, which this klaxon's redb cannot read"
        )),
        redb::Error::Corrupted(detail) => {
            Problem::Corrupt(format!("redb's consistency check failed ({detail})"))
        }
        redb::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Problem::Corrupt("it is truncated (redb read past its end)".to_string())
        }
        redb::Error::Io(e) if health::io_failure(&e) == WriteFailure::NoSpace => {
            Problem::NoSpace(e.to_string())
        }
        other => Problem::Corrupt(other.to_string()),
    }
}

/// Opens a redb file, turning a panic inside redb (it asserts on some
/// malformed headers) into an error.
fn open_redb(path: &Path, cache_bytes: usize) -> Result<Database, Problem> {
    guard_panic(|| {
        Database::builder()
            .set_cache_size(cache_bytes)
            .open(path)
            .map_err(problem_from_redb)
    })
}

thread_local! {
    /// Set while this thread runs redb on a file that may be malformed.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic inside redb into [`Problem::Corrupt`] without
/// the panic message on stderr (it would read like a crash, right before the
/// clear error). Panics elsewhere, and on other threads, print as before.
fn guard_panic<T>(f: impl FnOnce() -> Result<T, Problem>) -> Result<T, Problem> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_quiet = QUIET_PANICS.with(|quiet| quiet.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET_PANICS.with(|quiet| quiet.set(was_quiet));
    outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        Err(Problem::Corrupt(format!(
            "the redb library failed reading it ({what})"
        )))
    })
}

/// Opens the state file through `backend` and checks everything: redb's
/// checksums of every page, our metadata, and that every alert record can
/// be read.
fn verify_file(backend: overlay::WriteOverlay, cache_bytes: usize) -> Result<(), Problem> {
    guard_panic(|| {
        let mut db = Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(backend)
            .map_err(problem_from_redb)?;
        match db.check_integrity() {
            Ok(true) => {}
            Ok(false) => {
                return Err(Problem::Corrupt(
                    "its checksums do not match (redb could only repair it by rolling back to \
                     an earlier commit, losing data)"
                        .to_string(),
                ));
            }
            Err(e) => {
                let problem = problem_from_redb(e);
                // After a failed repair redb 4.1's Drop asserted (panicked)
                // while committing; the open fails either way, and the
                // file's descriptor (and its locks) closes as the handle's
                // fields are dropped.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(db)));
                return Err(problem);
            }
        }
        check_meta(&db)?;
        let txn = db.begin_read().map_err(problem_from_redb)?;
        let table = match txn.open_table(ALERTS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(Problem::Corrupt(format!("its alerts table: {e}"))),
        };
        for entry in table.iter().map_err(problem_from_redb)? {
            entry.map_err(problem_from_redb)?;
        }
        Ok(())
    })
}

/// The first write after a reopen: a small durable commit that proves the
/// file can be written again.
fn write_check(db: &Database) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut meta = txn.open_table(META)?;
        let now = chrono::Utc::now().to_rfc3339();
        meta.insert(WRITE_CHECK_KEY, now.as_str())?;
    }
    Ok(txn.commit()?)
}

/// Checks the format marker and schema version.
fn check_meta(db: &Database) -> Result<(), Problem> {
    let txn = db.begin_read().map_err(problem_from_redb)?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            let tables: Vec<String> = txn
                .list_tables()
                .map(|tables| tables.map(|t| t.name().to_string()).collect())
                .unwrap_or_default();
            let found = if tables.is_empty() {
                "it has no tables".to_string()
            } else {
                format!("its tables are {}", tables.join(", "))
            };
            return Err(Problem::Foreign(format!(
                "it has no {} table; {found}",
                META.name()
            )));
        }
        Err(e) => {
            return Err(Problem::Foreign(format!("its {} table: {e}", META.name())));
        }
    };
    let format = meta.get(FORMAT_KEY).map_err(problem_from_redb)?;
    match format.as_ref().map(|v| v.value()) {
        Some(FORMAT_MARKER) => {}
        Some(other) => {
            return Err(Problem::Foreign(format!("its format marker is {other:?}")));
        }
        None => return Err(Problem::Foreign("it has no format marker".to_string())),
    }
    let version = meta.get(SCHEMA_KEY).map_err(problem_from_redb)?;
    let Some(version) = version else {
        return Err(Problem::Corrupt(
            "its schema version is missing".to_string(),
        ));
    };
    match version.value().parse::<u64>() {
        Ok(v) if v > SCHEMA_VERSION => Err(Problem::Newer(v)),
        Ok(v) if v >= 1 => Ok(()),
        _ => Err(Problem::Corrupt(format!(
            "its schema version {:?} is not a version klaxon ever wrote",
            version.value()
        ))),
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            action: "remove the stale",
            source,
        }),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
