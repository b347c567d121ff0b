//! What `klaxon serve` is started with: the settings that come from the
//! command line and the environment, not from rule files.

use std::path::PathBuf;
use std::time::Duration;

use super::ServeError;

/// Everything `klaxon serve` is started with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The main DSL file (datasources, groups, includes).
    pub config: Option<PathBuf>,
    /// More rule files, directories or globs (DSL or Prometheus YAML).
    pub rules: Vec<String>,
    /// URL of the default Prometheus datasource.
    pub prometheus_url: Option<String>,
    /// Where alert state is kept.
    pub data_dir: PathBuf,
    /// Bytes of page cache for the state database
    /// ([`crate::store::Store::open_with_cache`]).
    pub storage_cache_bytes: usize,
    /// Address the API listens on.
    pub listen: String,
    /// Timeouts and the cap of the API's connections (the cap is lowered
    /// to fit the open-file limit at start).
    pub connections: crate::api::ConnectionLimits,
    /// External Alertmanagers to forward alerts to.
    pub alertmanager_urls: Vec<String>,
    /// URL klaxon is reached at (generator URLs, `$externalURL`).
    pub external_url: Option<String>,
    /// Labels added to every alert sent (`$externalLabels`).
    pub external_labels: Vec<(String, String)>,
    /// Interval of groups that set none.
    pub evaluation_interval: Duration,
    /// Minimum time between re-sends of a firing alert.
    pub resend_delay: Duration,
    /// Bound on queries in flight across all groups.
    pub max_concurrent_queries: usize,
    /// The notifier and its API.
    pub notify: NotifyOptions,
    /// `--cluster.*`: run as one replica of a cluster on etcd; None = alone.
    pub cluster: Option<ClusterServeOptions>,
}

/// The `--cluster.*` settings.
#[derive(Debug, Clone)]
pub struct ClusterServeOptions {
    /// etcd endpoints.
    pub etcd: Vec<String>,
    /// This replica's name (default: the host name).
    pub replica: Option<String>,
    /// The key prefix.
    pub name: String,
    /// The replica's lease TTL.
    pub lease_ttl: Duration,
    /// The URL peers reach this replica's API at.
    pub advertise_url: Option<String>,
    /// etcd CA file.
    pub etcd_ca: Option<String>,
    /// etcd client certificate.
    pub etcd_cert: Option<String>,
    /// etcd client key.
    pub etcd_key: Option<String>,
    /// etcd user.
    pub etcd_user: Option<String>,
    /// File with the etcd user's password.
    pub etcd_password_file: Option<PathBuf>,
}

/// The notifier's command-line settings.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    /// `endsAt` of pushed alerts without one = now + this.
    pub resolve_timeout: Duration,
    /// Delivery retries stop after this; the notification is recorded failed.
    pub give_up_after: Duration,
    /// Resolved alerts are forgotten after this.
    pub alert_retention: Duration,
    /// File with the bearer token write endpoints require.
    pub api_token_file: Option<PathBuf>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How large silences may grow.
    pub silence_limits: crate::notify::silence::SilenceLimits,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            resolve_timeout: Duration::from_secs(300),
            give_up_after: Duration::from_secs(86_400),
            alert_retention: Duration::from_secs(3_600),
            api_token_file: None,
            max_body_bytes: 16 << 20,
            silence_limits: crate::notify::silence::SilenceLimits::default(),
        }
    }
}

impl NotifyOptions {
    pub(super) fn settings(&self) -> crate::notify::NotifierSettings {
        crate::notify::NotifierSettings {
            resolve_timeout_ms: millis(self.resolve_timeout),
            alert_retention_ms: millis(self.alert_retention),
            give_up_after_ms: millis(self.give_up_after),
            silence_limits: self.silence_limits,
            clock: crate::vocab::time::Clock::system(),
            cluster: None,
        }
    }

    /// Reads the API token file (trimmed); an empty file is an error, not
    /// an open API.
    pub(super) fn api_token(&self) -> Result<Option<String>, ServeError> {
        let Some(path) = &self.api_token_file else {
            return Ok(None);
        };
        let problem = |problem| ServeError::ApiTokenFile {
            path: path.clone(),
            problem,
        };
        let bytes = crate::user_file::read(path, crate::user_file::MAX_SMALL_FILE_BYTES)
            .map_err(|e| problem(TokenFileProblem::Unreadable(e)))?;
        let text = String::from_utf8(bytes).map_err(|_| problem(TokenFileProblem::NotText))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(problem(TokenFileProblem::Empty));
        }
        Ok(Some(token.to_string()))
    }
}

/// What is wrong with `--api.token-file`, worded to follow its path.
#[derive(Debug)]
pub enum TokenFileProblem {
    /// The file cannot be read.
    Unreadable(crate::user_file::ReadError),
    /// The file is not UTF-8 text.
    NotText,
    /// The file holds only white space.
    Empty,
}

impl std::fmt::Display for TokenFileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenFileProblem::Unreadable(e) => write!(f, ": {e}"),
            TokenFileProblem::NotText => f.write_str(": not UTF-8 text"),
            TokenFileProblem::Empty => f.write_str(" is empty"),
        }
    }
}

/// A duration in the notifier's milliseconds, saturating.
pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Parses `NAME=VALUE` (for `--external-label`).
pub fn parse_label_pair(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    if !crate::vocab::labels::is_valid_label_name(name) {
        return Err(format!("`{name}` is not a valid label name"));
    }
    Ok((name.to_string(), value.to_string()))
}
