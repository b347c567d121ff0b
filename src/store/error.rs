//! What can go wrong with the store, worded for the operator: every message
//! names the file, says what is wrong and what to do.

use std::io;
use std::path::PathBuf;

use super::SCHEMA_VERSION;

/// Why the store could not be opened, read or written. Every message names
/// the file, says what is wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error(
        "cannot create the data directory {}: {source}; create it or choose another --data-dir",
        path.display()
    )]
    CreateDir {
        /// The data directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Another klaxon process (or another `Store` in this one) holds the data directory.
    #[error(
        "the data directory {} is already in use by another klaxon process{holder}; stop that \
         process or give this one its own --data-dir",
        dir.display()
    )]
    InUse {
        /// The data directory.
        dir: PathBuf,
        /// " (pid N)" when the holder wrote its pid into the lock file, else empty.
        holder: String,
    },
    /// The file at the state path is not a redb database at all.
    #[error(
        "{} is not a klaxon state file: it is {what}. Move it aside or point --data-dir at \
         another directory; klaxon did not modify it",
        path.display()
    )]
    NotRedb {
        /// The state file.
        path: PathBuf,
        /// What the file looks like ("an SQLite database", "a text file", ...).
        what: String,
    },
    /// The file is a redb database, but not one klaxon wrote.
    #[error(
        "{} is a redb database but not klaxon's alert state ({detail}). Move it aside or point \
         --data-dir at another directory; klaxon did not modify it",
        path.display()
    )]
    Foreign {
        /// The state file.
        path: PathBuf,
        /// What is missing or different.
        detail: String,
    },
    /// The file was written by a newer klaxon whose layout this one cannot read.
    #[error(
        "{} was written by a newer klaxon (state schema version {found}; this klaxon reads up \
         to {SCHEMA_VERSION}). Run the newer klaxon, or move the file aside to start with empty \
         alert state; klaxon did not modify it",
        path.display()
    )]
    NewerSchema {
        /// The state file.
        path: PathBuf,
        /// The schema version found in the file.
        found: u64,
    },
    /// The file is klaxon's (or claims to be) but is truncated or damaged.
    #[error(
        "{} is damaged: {detail}. Move it aside or restore a backup; klaxon did not modify it",
        path.display()
    )]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What redb or klaxon found wrong.
        detail: String,
    },
    /// A file system operation around the store failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What klaxon was doing ("create the lock file", ...).
        action: &'static str,
        /// What the operating system said.
        source: io::Error,
    },
    /// Reading or writing the open database failed (disk full, I/O error, ...).
    #[error("cannot {action} {}: {detail}", path.display())]
    Database {
        /// The state file.
        path: PathBuf,
        /// What klaxon was doing ("commit alert state to", ...).
        action: &'static str,
        /// What redb said.
        detail: String,
    },
    /// The file system holding the state file is full (ENOSPC) or the quota
    /// is used up (EDQUOT); nothing of this write was stored.
    #[error(
        "cannot {action} {}: the disk is full ({detail}). Free space on the file system holding \
         {}; klaxon writes again by itself once there is room, no restart needed",
        path.display(),
        path.parent().unwrap_or(path).display()
    )]
    NoSpace {
        /// The state file.
        path: PathBuf,
        /// What klaxon was doing.
        action: &'static str,
        /// What the operating system said.
        detail: String,
    },
    /// A write to the state file failed with another I/O error; nothing of
    /// this write was stored, and klaxon reopens the file by itself.
    #[error(
        "cannot {action} {}: the file cannot be written at the moment ({detail}); klaxon reopens \
         it and retries by itself",
        path.display()
    )]
    Unavailable {
        /// The state file.
        path: PathBuf,
        /// What klaxon was doing.
        action: &'static str,
        /// What the operating system said.
        detail: String,
    },
    /// Another caller's error of the same shared commit, as its text
    /// ([`StoreError::duplicate`]).
    #[error("{0}")]
    Shared(String),
    /// A record could not be encoded by its owner; nothing of that commit
    /// was written.
    #[error("{0}")]
    Encode(String),
}

impl StoreError {
    /// The store cannot write for now (a full disk, a failed write being
    /// recovered from) and will again by itself: HTTP answers 503, and
    /// the client may retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::NoSpace { .. } | StoreError::Unavailable { .. }
        )
    }

    /// The same error for another caller of the same failed commit (a
    /// group commit answers many). An operating system error is passed on
    /// as its text.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::NoSpace {
                path,
                action,
                detail,
            } => StoreError::NoSpace {
                path: path.clone(),
                action,
                detail: detail.clone(),
            },
            StoreError::Unavailable {
                path,
                action,
                detail,
            } => StoreError::Unavailable {
                path: path.clone(),
                action,
                detail: detail.clone(),
            },
            StoreError::Database {
                path,
                action,
                detail,
            } => StoreError::Database {
                path: path.clone(),
                action,
                detail: detail.clone(),
            },
            other => StoreError::Shared(other.to_string()),
        }
    }
}
