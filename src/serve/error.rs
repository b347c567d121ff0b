//! Why `klaxon serve` could not start, one variant per cause, each
//! displayed as the message the operator reads.

use std::path::PathBuf;

use super::options::TokenFileProblem;

/// A failure that keeps `klaxon serve` from starting (or from running on:
/// signals that cannot be handled).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The state store could not be opened or read.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// The configuration did not build: rendered diagnostics, one a line.
    #[error("the configuration is invalid:\n{}", .0.join("\n"))]
    InvalidConfig(Vec<String>),
    /// The API's address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// `--listen` as given.
        address: String,
        /// Why the bind failed.
        source: std::io::Error,
    },
    /// The bound listener's address could not be read.
    #[error("{0}")]
    LocalAddress(std::io::Error),
    /// `--api.token-file` cannot be used.
    #[error("--api.token-file {}{problem}", .path.display())]
    ApiTokenFile {
        /// The file named.
        path: PathBuf,
        /// What is wrong with it.
        problem: TokenFileProblem,
    },
    /// Forwarding to `--alertmanager.url` could not be set up.
    #[error("--alertmanager.url: {0}")]
    Forwarding(String),
    /// The thread restoring alert state stopped before answering.
    #[error("{0}")]
    RestoreInterrupted(tokio::task::JoinError),
    /// `--cluster.*` cannot be used.
    #[error("cluster: {0}")]
    Cluster(String),
    /// Signal handlers could not be installed.
    #[error("cannot handle signals: {0}")]
    Signals(std::io::Error),
}
