//! Whether the store can write, and getting it writing again (issue 22).
//!
//! After a failed write (a full disk, most often) redb refuses every later
//! operation with "Previous I/O error occurred" until the file is opened
//! again; the new open repairs it to the last commit. [`Health`] records
//! the failure (log line, `/-/ready`, metrics), refuses writes quickly
//! with what went wrong while it lasts, and says when to try a reopen:
//! once the file system has room again, then with backoff while reopens
//! keep failing.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The first wait before another reopen after one failed; doubled after
/// every failed attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A reopen after a full disk waits until the file system has this much
/// room: less would only fill up again at the next commit (and every
/// reopen reads the whole file to repair it).
pub const MIN_FREE_BYTES: u64 = 1 << 20;

/// Why writes to the store fail; the `reason` label of
/// `klaxon_store_write_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteFailure {
    /// The file system is full (ENOSPC) or the quota is used up (EDQUOT).
    NoSpace,
    /// Any other I/O error (EIO, a vanished disk, ...).
    Io,
}

impl WriteFailure {
    /// Every reason, in the order metrics list them.
    pub const ALL: [WriteFailure; 2] = [WriteFailure::NoSpace, WriteFailure::Io];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            WriteFailure::NoSpace => "no_space",
            WriteFailure::Io => "io",
        }
    }

    fn index(self) -> usize {
        match self {
            WriteFailure::NoSpace => 0,
            WriteFailure::Io => 1,
        }
    }
}

/// The store cannot write at the moment; see [`crate::store::Store::problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreProblem {
    /// Why.
    pub failure: WriteFailure,
    /// What the operating system said the first time.
    pub detail: String,
    /// When writes started failing.
    pub since: SystemTime,
    /// The state file.
    pub path: PathBuf,
}

impl std::fmt::Display for StoreProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failing_for = SystemTime::now()
            .duration_since(self.since)
            .unwrap_or_default()
            .as_secs();
        match self.failure {
            WriteFailure::NoSpace => write!(
                f,
                "the disk holding {} is full ({}) since {failing_for}s: writes are refused until \
                 space is freed on that file system",
                self.path.display(),
                self.detail
            ),
            WriteFailure::Io => write!(
                f,
                "writing {} fails ({}) since {failing_for}s: klaxon is reopening it",
                self.path.display(),
                self.detail
            ),
        }
    }
}

/// A disk problem behind a failed operation.
#[derive(Debug)]
pub(super) enum Cause {
    /// A write failed on the disk; the handle needs a reopen.
    Failed(WriteFailure, String),
    /// redb refuses the handle because of an earlier failure.
    Poisoned,
}

/// The disk problem behind a redb error; None for anything else (a damaged
/// page, a value too large), which says nothing about the disk.
pub(super) fn cause(error: &redb::Error) -> Option<Cause> {
    match error {
        redb::Error::Io(e) => Some(Cause::Failed(io_failure(e), e.to_string())),
        redb::Error::PreviousIo | redb::Error::DatabaseClosed => Some(Cause::Poisoned),
        _ => None,
    }
}

/// ENOSPC and EDQUOT are a full disk; the rest are other I/O errors.
pub(super) fn io_failure(error: &io::Error) -> WriteFailure {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => WriteFailure::NoSpace,
        _ => WriteFailure::Io,
    }
}

/// The failure in progress.
#[derive(Debug)]
struct Trouble {
    problem: StoreProblem,
    started: Instant,
    /// No reopen before this.
    next_attempt: Instant,
    backoff: Duration,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// No failure in progress (the fast path of every write).
    healthy: AtomicBool,
    trouble: Mutex<Option<Trouble>>,
    /// Failed or refused writes, by [`WriteFailure::index`].
    errors: [AtomicU64; 2],
    reopens: AtomicU64,
}

impl Health {
    pub(super) fn new() -> Health {
        Health {
            healthy: AtomicBool::new(true),
            ..Health::default()
        }
    }

    fn trouble(&self) -> MutexGuard<'_, Option<Trouble>> {
        self.trouble.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    pub(super) fn problem(&self) -> Option<StoreProblem> {
        if self.is_healthy() {
            return None;
        }
        self.trouble().as_ref().map(|t| t.problem.clone())
    }

    /// Failed or refused writes per reason.
    pub(super) fn write_errors(&self, failure: WriteFailure) -> u64 {
        self.errors[failure.index()].load(Ordering::Relaxed)
    }

    pub(super) fn reopens(&self) -> u64 {
        self.reopens.load(Ordering::Relaxed)
    }

    /// Records a failed operation; logs when it is the first. Returns the
    /// failure to report (the first one's, for a handle poisoned by it).
    pub(super) fn failed(&self, path: &Path, cause: Cause) -> StoreProblem {
        let mut trouble = self.trouble();
        let now = Instant::now();
        let fresh = |failure, detail| StoreProblem {
            failure,
            detail,
            since: SystemTime::now(),
            path: path.to_path_buf(),
        };
        match (cause, trouble.as_mut()) {
            (Cause::Failed(failure, detail), Some(t)) => {
                // Still failing after a reopen: the latest cause counts.
                t.problem.failure = failure;
                t.problem.detail = detail;
                t.problem.clone()
            }
            (Cause::Poisoned, Some(t)) => t.problem.clone(),
            (cause, None) => {
                let problem = match cause {
                    Cause::Failed(failure, detail) => fresh(failure, detail),
                    // A handle poisoned by a failure this store did not see.
                    Cause::Poisoned => fresh(
                        WriteFailure::Io,
                        "an earlier write to the file failed".to_string(),
                    ),
                };
                announce(path, &problem);
                *trouble = Some(Trouble {
                    problem: problem.clone(),
                    started: now,
                    next_attempt: now,
                    backoff: FIRST_BACKOFF,
                });
                self.healthy.store(false, Ordering::Release);
                problem
            }
        }
    }

    /// Counts a write that failed or was refused.
    pub(super) fn count(&self, failure: WriteFailure) {
        self.errors[failure.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a reopen should be tried now: a failure is in progress, its
    /// backoff has passed and, after a full disk, the file system has room.
    pub(super) fn reopen_due(&self, data_dir: &Path) -> bool {
        if self.is_healthy() {
            return false;
        }
        let trouble = self.trouble();
        let Some(t) = trouble.as_ref() else {
            return false;
        };
        if Instant::now() < t.next_attempt {
            return false;
        }
        match (t.problem.failure, free_bytes(data_dir)) {
            (WriteFailure::NoSpace, Some(free)) => free >= MIN_FREE_BYTES,
            _ => true,
        }
    }

    /// A reopen or its first write failed: wait longer before the next.
    pub(super) fn attempt_failed(&self, path: &Path, cause: Cause) {
        let problem = self.failed(path, cause);
        let mut trouble = self.trouble();
        if let Some(t) = trouble.as_mut() {
            t.next_attempt = Instant::now() + t.backoff;
            tracing::warn!(
                path = %path.display(),
                reason = problem.failure.label(),
                error = %problem.detail,
                retry_in_s = t.backoff.as_secs(),
                "the state store still cannot write; trying again later"
            );
            t.backoff = (t.backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The store writes again.
    pub(super) fn recovered(&self, path: &Path) {
        let mut trouble = self.trouble();
        if let Some(t) = trouble.take() {
            let failed_writes: u64 = self.errors.iter().map(|e| e.load(Ordering::Relaxed)).sum();
            tracing::info!(
                path = %path.display(),
                reason = t.problem.failure.label(),
                down_s = t.started.elapsed().as_secs(),
                failed_writes_total = failed_writes,
                "the state store writes again; /-/ready reports ready"
            );
        }
        self.reopens.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(true, Ordering::Release);
    }
}

/// The log line of a failure's start: an operator must act on a full disk.
fn announce(path: &Path, problem: &StoreProblem) {
    let dir = path.parent().unwrap_or(path);
    match problem.failure {
        WriteFailure::NoSpace => tracing::error!(
            path = %path.display(),
            reason = problem.failure.label(),
            error = %problem.detail,
            "the disk holding the state file is full: writes are refused (HTTP 503) and /-/ready \
             reports not ready until space is freed on the file system of {}; klaxon then writes \
             again by itself, no restart needed",
            dir.display()
        ),
        WriteFailure::Io => tracing::error!(
            path = %path.display(),
            reason = problem.failure.label(),
            error = %problem.detail,
            "a write to the state file failed: writes are refused (HTTP 503) and /-/ready reports \
             not ready; klaxon reopens the file and retries by itself"
        ),
    }
}

/// Bytes the file system holding `dir` has free for klaxon (root may use
/// the reserved blocks), where the platform says.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(super) fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into the zeroed struct we pass and reads
    // the NUL-terminated path; geteuid has no preconditions.
    let (stats, root) = unsafe {
        let mut stats: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut stats) != 0 {
            return None;
        }
        (stats, libc::geteuid() == 0)
    };
    // fsblkcnt_t and c_ulong are u64 on 64-bit Linux, u32 on some 32-bit.
    #[allow(clippy::unnecessary_cast)]
    let (blocks, block_size) = (
        if root { stats.f_bfree } else { stats.f_bavail } as u64,
        stats.f_frsize as u64,
    );
    Some(blocks.saturating_mul(block_size))
}

/// Unknown here: reopens are then paced by the backoff alone.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}
