//! The `klaxon` binary under test, run as `klaxon serve`: its own port on
//! 127.0.0.1, a working directory for rule files and a data directory that
//! survive restarts, output captured to log files (printed when the test
//! panics), killed when dropped.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::api::{
    ApiAlert, ApiRuleGroup, ExposedSample, Labels, parse_alerts, parse_exposition,
    parse_rule_groups,
};
use super::files::write_file;
use super::http::{self, HttpResponse};
use super::process::{CommandSpec, ManagedProcess, TERMINATE_TIMEOUT, free_port};

/// How long klaxon may take to become ready (state restore included).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many ports to try when the one picked is taken meanwhile.
const PORT_ATTEMPTS: u32 = 3;

/// Environment variables `klaxon serve` reads as fallbacks; removed from the
/// inherited environment so a developer's shell cannot change a test.
const KLAXON_ENV: &[&str] = &[
    "KLAXON_CONFIG",
    "KLAXON_RULES",
    "KLAXON_PROMETHEUS_URL",
    "KLAXON_DATA_DIR",
    "KLAXON_LISTEN",
    "KLAXON_ALERTMANAGER_URL",
    "KLAXON_EXTERNAL_URL",
    "KLAXON_EXTERNAL_LABELS",
    "KLAXON_EVALUATION_INTERVAL",
    "KLAXON_RESEND_DELAY",
    "KLAXON_QUERY_MAX_CONCURRENCY",
    "KLAXON_LOG_LEVEL",
    "KLAXON_LOG_FORMAT",
];

/// Inherited variables with this prefix are removed too: any of them would
/// turn clustering on (`KLAXON_CLUSTER_ETCD`) or change it. A test clusters
/// with [`KlaxonBuilder::args`] or [`KlaxonBuilder::env`].
const KLAXON_CLUSTER_ENV_PREFIX: &str = "KLAXON_CLUSTER_";

/// Why klaxon did not become ready: it exited (with its status and output)
/// or never answered.
#[derive(Debug)]
pub struct StartError {
    /// Exit status, when it exited.
    pub status: Option<ExitStatus>,
    /// Its standard error of that run.
    pub stderr: String,
    /// Its standard output of that run.
    pub stdout: String,
    /// What went wrong, in words.
    pub message: String,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n---- stderr ----\n{}\n---- stdout ----\n{}",
            self.message, self.stderr, self.stdout
        )
    }
}

/// Settings for [`Klaxon`]. Created by [`Klaxon::builder`], which also
/// creates the working directory, so rule files can be written into it with
/// [`KlaxonBuilder::file`] before starting.
pub struct KlaxonBuilder {
    dir: TempDir,
    data_dir: Option<PathBuf>,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    open_files: Option<u64>,
}

impl KlaxonBuilder {
    /// The working directory (rule files live here; the process runs here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` (relative to the working directory,
    /// subdirectories created) and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        write_file(self.dir.path(), name, contents)
    }

    /// Writes a rule file and adds `--rules PATH` for it.
    pub fn rules_file(mut self, name: &str, contents: &str) -> Self {
        let path = self.write_file(name, contents);
        self.args.push("--rules".into());
        self.args.push(path.into());
        self
    }

    /// Adds `--rules GLOB` (a path or glob, relative to the working
    /// directory or absolute).
    pub fn rules(mut self, glob: &str) -> Self {
        self.args.push("--rules".into());
        self.args.push(glob.into());
        self
    }

    /// Writes a klaxon config file (DSL) and adds `--config PATH`.
    pub fn config_file(mut self, name: &str, contents: &str) -> Self {
        let path = self.write_file(name, contents);
        self.args.push("--config".into());
        self.args.push(path.into());
        self
    }

    /// Adds `--prometheus.url URL`.
    pub fn prometheus_url(mut self, url: &str) -> Self {
        self.args.push("--prometheus.url".into());
        self.args.push(url.into());
        self
    }

    /// Uses this data directory instead of a fresh one (e.g. a copy, or a
    /// corrupted file prepared by the test).
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Adds a raw argument after `serve`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds raw arguments after `serve`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Runs klaxon with this open-file limit, soft and hard (through
    /// `prlimit`, which then runs klaxon in its own process).
    pub fn open_files_limit(mut self, limit: u64) -> Self {
        self.open_files = Some(limit);
        self
    }

    /// Sets an environment variable for the process.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.push((name.into(), value.into()));
        self
    }

    /// Starts `klaxon serve` and waits until `/-/ready` answers 200. Panics
    /// with klaxon's output when it does not.
    pub fn start(self) -> Klaxon {
        self.try_start()
            .unwrap_or_else(|e| panic!("klaxon did not start: {e}"))
    }

    /// Like [`KlaxonBuilder::start`], but returns why it failed, for tests
    /// that expect klaxon to refuse to start (a bad config, a corrupt or
    /// foreign data file).
    pub fn try_start(self) -> Result<Klaxon, StartError> {
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| self.dir.path().join("data"));
        let mut klaxon = Klaxon {
            process: ManagedProcess::new("klaxon", self.dir.path()),
            port: 0,
            data_dir,
            args: self.args,
            envs: self.envs,
            open_files: self.open_files,
            dir: self.dir,
        };
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            klaxon.port = free_port();
            match klaxon.launch() {
                Ok(()) => return Ok(klaxon),
                Err(e) if e.message.contains("port taken") => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| StartError {
            status: None,
            stderr: String::new(),
            stdout: String::new(),
            message: "no attempt made".to_string(),
        }))
    }
}

/// A running `klaxon serve`; see the module documentation.
pub struct Klaxon {
    // Dropped first: the process is killed before its directory goes away.
    process: ManagedProcess,
    port: u16,
    data_dir: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    open_files: Option<u64>,
    dir: TempDir,
}

impl Klaxon {
    /// Settings for a new instance, with a fresh working directory.
    pub fn builder() -> KlaxonBuilder {
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-serve-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        KlaxonBuilder {
            dir,
            data_dir: None,
            args: Vec::new(),
            envs: Vec::new(),
            open_files: None,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT` (a scrape target for Prometheus).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Writes (or overwrites) a file in the working directory, e.g. a rule
    /// file before [`Klaxon::reload`].
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        write_file(self.dir.path(), name, contents)
    }

    /// Whether the process is alive.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Everything klaxon wrote to standard error (all runs; logs go here).
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// `kill -9`: no shutdown, no final commit.
    pub fn kill9(&mut self) {
        self.process.kill9();
    }

    /// SIGTERM, then waits for the exit and returns its status (the
    /// contract is exit 0 after committing state). Panics if it hangs.
    pub fn terminate(&mut self) -> ExitStatus {
        self.process.terminate(TERMINATE_TIMEOUT)
    }

    /// SIGHUP: reload the configuration.
    pub fn sighup(&self) {
        self.process.signal("HUP");
    }

    /// Starts klaxon again with the same arguments, port and data directory
    /// (terminating it first if it still runs) and waits until it is ready.
    pub fn restart(&mut self) {
        self.try_restart()
            .unwrap_or_else(|e| panic!("klaxon did not restart: {e}"));
    }

    /// Like [`Klaxon::restart`], but returns why it failed.
    pub fn try_restart(&mut self) -> Result<(), StartError> {
        if self.process.is_running() {
            let status = self.terminate();
            assert!(status.success(), "klaxon exited with {status} on SIGTERM");
        }
        self.launch()
    }

    /// `GET path`; panics when klaxon cannot be reached.
    pub fn get(&self, path: &str) -> HttpResponse {
        let url = format!("{}{path}", self.url());
        http::get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}\n{}", self.process.log_tail(30)))
    }

    /// `POST path` with an empty body; panics when klaxon cannot be reached.
    pub fn post(&self, path: &str) -> HttpResponse {
        let url = format!("{}{path}", self.url());
        http::post(&url, "application/json", b"")
            .unwrap_or_else(|e| panic!("POST {url}: {e}\n{}", self.process.log_tail(30)))
    }

    /// `GET path` as JSON; panics unless it answers 200 with JSON.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        response
            .json()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `GET /api/v1/alerts`.
    pub fn alerts(&self) -> Vec<ApiAlert> {
        parse_alerts(&self.get("/api/v1/alerts")).unwrap_or_else(|e| panic!("klaxon: {e}"))
    }

    /// `GET /api/v1/rules`.
    pub fn rules(&self) -> Vec<ApiRuleGroup> {
        parse_rule_groups(&self.get("/api/v1/rules")).unwrap_or_else(|e| panic!("klaxon: {e}"))
    }

    /// `GET /api/v1/rules` as this replica of a cluster's evaluator sees
    /// it: every group, with the status of its own last rounds (not the
    /// whole cluster's merged listing).
    pub fn local_rules(&self) -> Vec<ApiRuleGroup> {
        parse_rule_groups(&self.get("/api/v1/rules?klaxon_scope=local"))
            .unwrap_or_else(|e| panic!("klaxon: {e}"))
    }

    /// `POST /-/reload`; the response says whether the new config was taken
    /// (200) or refused with its errors.
    pub fn reload(&self) -> HttpResponse {
        self.post("/-/reload")
    }

    /// `GET /metrics`, parsed.
    pub fn metrics(&self) -> Vec<ExposedSample> {
        let response = self.get("/metrics");
        assert_eq!(response.status, 200, "GET /metrics: {}", response.body);
        parse_exposition(&response.body).unwrap_or_else(|e| panic!("klaxon /metrics: {e}"))
    }

    /// The series of one metric on `/metrics` (e.g.
    /// `klaxon_group_iterations_missed_total`), with their labels.
    pub fn metric(&self, name: &str) -> Vec<(Labels, f64)> {
        self.metrics()
            .into_iter()
            .filter(|s| s.name == name)
            .map(|s| (s.labels, s.value))
            .collect()
    }

    /// Starts the process on `self.port` and waits until it is ready.
    fn launch(&mut self) -> Result<(), StartError> {
        let mut args: Vec<OsString> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{}", self.port).into(),
            "--data-dir".into(),
            self.data_dir.clone().into(),
            "--evaluation-interval".into(),
            // The binary's default of 1m is too slow for tests.
            "1s".into(),
        ];
        args.extend(self.args.iter().cloned());
        let mut program = PathBuf::from(env!("CARGO_BIN_EXE_klaxon"));
        if let Some(limit) = self.open_files {
            let mut wrapped: Vec<OsString> =
                vec![format!("--nofile={limit}:{limit}").into(), program.into()];
            wrapped.extend(args);
            args = wrapped;
            program = PathBuf::from("/usr/bin/prlimit");
        }
        let spec = CommandSpec {
            program,
            args,
            envs: self.envs.clone(),
            env_removals: KLAXON_ENV
                .iter()
                .map(Into::into)
                .chain(std::env::vars_os().map(|(name, _)| name).filter(|name| {
                    name.to_string_lossy()
                        .starts_with(KLAXON_CLUSTER_ENV_PREFIX)
                }))
                .collect(),
            cwd: self.dir.path().to_path_buf(),
        };
        let stderr_before = self.process.stderr().len();
        let stdout_before = self.process.stdout().len();
        // This run's output, without the harness's marker line.
        let since = |text: String, start: usize| {
            let run = text.get(start..).unwrap_or_default();
            match run.split_once('\n') {
                Some((first, rest)) if first.starts_with("==== harness:") => rest.to_string(),
                _ => run.to_string(),
            }
        };
        let this_run = |process: &ManagedProcess, message: String, status| StartError {
            status,
            stderr: since(process.stderr(), stderr_before),
            stdout: since(process.stdout(), stdout_before),
            message,
        };
        if let Err(e) = self.process.spawn(&spec) {
            return Err(this_run(&self.process, e.to_string(), None));
        }
        let started = Instant::now();
        let ready_url = format!("{}/-/ready", self.url());
        loop {
            if let Some(status) = self.process.exit_status() {
                let error = this_run(
                    &self.process,
                    format!("klaxon exited with {status} before it was ready"),
                    Some(status),
                );
                let taken = error
                    .stderr
                    .to_ascii_lowercase()
                    .contains("address already in use")
                    || error.stderr.to_ascii_lowercase().contains("addrinuse");
                return Err(StartError {
                    message: if taken {
                        format!("{} (port taken)", error.message)
                    } else {
                        error.message
                    },
                    ..error
                });
            }
            let ready = http::get(&ready_url).is_ok_and(|r| r.status == 200);
            // A klaxon that lost the port race exits right after binding
            // fails, while someone else answers: check it still runs.
            if ready && self.process.exit_status().is_none() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                self.process.kill9();
                return Err(this_run(
                    &self.process,
                    format!("klaxon was not ready after {READY_TIMEOUT:?}"),
                    None,
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
