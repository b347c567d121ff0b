//! Klaxon's Alertmanager-compatible API for the API tests:
//! [`routes`](klaxon::api::alertmanager::routes) served in-process on
//! 127.0.0.1 over a real store in a temporary directory ([`AmServer`]).
//! The real tools that talk to it are elsewhere in the harness: `amtool`
//! ([`super::amtool`]), Prometheus ([`super::Prometheus`]) and Alertmanager
//! ([`super::Alertmanager`]).
//!
//! Everything is synchronous, so tests are plain `#[test]`s.

pub use super::am_api_http as http;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::server::LocalServer;

use klaxon::api::alertmanager::{
    AlertmanagerApi, AlertmanagerApiOptions, GroupView, NotifyViews, routes,
};
use klaxon::notify::alerts::{AlertStore, AlertStoreOptions};
use klaxon::notify::silence::{DEFAULT_RETENTION_MS, SilenceLimits, Silences};
use klaxon::store::Store;
use klaxon::vocab::labels::{Fingerprint, LabelSet};
use tempfile::TempDir;

/// A stand-in for the lead's dispatcher, for these tests only: every alert
/// goes to one receiver, groups are by `alertname`, and an alert with
/// `severity="warning"` is inhibited by a firing `severity="critical"` alert
/// with the same `alertname` (so the API's inhibition fields can be checked).
pub struct TestViews {
    /// The one receiver.
    pub receiver: String,
    /// Other configured receivers (listed, never routed to).
    pub others: Vec<String>,
    /// What `/api/v2/status` shows as the configuration.
    pub config: String,
    /// The store the groups are read from (set once the store is open).
    pub alerts: std::sync::OnceLock<Arc<AlertStore>>,
}

impl TestViews {
    /// Routes everything to `receiver`.
    pub fn new(receiver: &str) -> TestViews {
        TestViews {
            receiver: receiver.to_string(),
            others: Vec::new(),
            config: format!("route:\n  receiver: {receiver}\n"),
            alerts: std::sync::OnceLock::new(),
        }
    }

    fn live(&self) -> Vec<Arc<klaxon::notify::alert::NotifyAlert>> {
        let now = chrono::Utc::now().timestamp_millis();
        self.alerts
            .get()
            .map(|store| store.snapshot())
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a.ends_at > now)
            .collect()
    }
}

impl NotifyViews for TestViews {
    fn groups(&self) -> Vec<GroupView> {
        let mut groups: Vec<GroupView> = Vec::new();
        for alert in self.live() {
            let labels = alert.labels.project(["alertname"]);
            let fp = alert.labels.fingerprint();
            match groups.iter_mut().find(|g| g.labels == labels) {
                Some(group) => group.fingerprints.push(fp),
                None => groups.push(GroupView {
                    receiver: self.receiver.clone(),
                    labels,
                    fingerprints: vec![fp],
                }),
            }
        }
        groups
    }

    fn inhibited_by(&self, labels: &LabelSet) -> Vec<Fingerprint> {
        if labels.value("severity") != "warning" {
            return Vec::new();
        }
        self.live()
            .iter()
            .filter(|a| {
                a.labels.value("severity") == "critical"
                    && a.labels.value("alertname") == labels.value("alertname")
            })
            .map(|a| a.labels.fingerprint())
            .collect()
    }

    fn receivers_for(&self, _labels: &LabelSet) -> Vec<String> {
        vec![self.receiver.clone()]
    }

    fn config_text(&self) -> String {
        self.config.clone()
    }

    fn receiver_names(&self) -> Vec<String> {
        let mut names = vec![self.receiver.clone()];
        names.extend(self.others.iter().cloned());
        names
    }
}

/// klaxon's Alertmanager API served in-process; see the module documentation.
pub struct AmServer {
    dir: TempDir,
    options: AlertmanagerApiOptions,
    token: Option<String>,
    store_options: AlertStoreOptions,
    silence_limits: SilenceLimits,
    receivers: Vec<String>,
    running: Option<Running>,
    port: u16,
}

struct Running {
    // Dropped first: the server stops (and drops its router's handles on
    // the store) before the handles below go.
    server: LocalServer,
    alerts: Arc<AlertStore>,
    silences: Arc<Silences>,
}

impl AmServer {
    /// Default options, receiver `default`.
    pub fn start() -> AmServer {
        Self::with_options(AlertmanagerApiOptions::default(), &["default"])
    }

    /// Serves with these API options; every alert routes to the first of
    /// `receivers`, the others are only listed.
    pub fn with_options(options: AlertmanagerApiOptions, receivers: &[&str]) -> AmServer {
        Self::serve(None, options, receivers, SilenceLimits::default())
    }

    /// Like [`AmServer::with_options`], with every write needing
    /// `Authorization: Bearer <token>` when `token` is set (as
    /// `--api.token-file`).
    pub fn with_token(
        token: Option<&str>,
        options: AlertmanagerApiOptions,
        receivers: &[&str],
    ) -> AmServer {
        Self::serve(token, options, receivers, SilenceLimits::default())
    }

    fn serve(
        token: Option<&str>,
        options: AlertmanagerApiOptions,
        receivers: &[&str],
        silence_limits: SilenceLimits,
    ) -> AmServer {
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-amapi-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let mut server = AmServer {
            dir,
            store_options: AlertStoreOptions {
                resolve_timeout_ms: options.resolve_timeout_ms,
                ..AlertStoreOptions::default()
            },
            options,
            token: token.map(str::to_string),
            silence_limits,
            receivers: receivers.iter().map(|r| r.to_string()).collect(),
            running: None,
            port: 0,
        };
        server.launch();
        server
    }

    /// Default options, receiver `default`, these silence limits.
    pub fn with_silence_limits(limits: SilenceLimits) -> AmServer {
        Self::serve(
            None,
            AlertmanagerApiOptions::default(),
            &["default"],
            limits,
        )
    }

    /// The silence limits from the next (re)start on.
    pub fn set_silence_limits(&mut self, limits: SilenceLimits) {
        self.silence_limits = limits;
    }

    /// The data directory (kept across [`AmServer::restart`]).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn running(&self) -> &Running {
        self.running
            .as_ref()
            .unwrap_or_else(|| panic!("the API server is stopped"))
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.running().server.addr()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The alert store behind the API.
    pub fn alerts(&self) -> Arc<AlertStore> {
        Arc::clone(&self.running().alerts)
    }

    /// The silences behind the API.
    pub fn silences(&self) -> Arc<Silences> {
        Arc::clone(&self.running().silences)
    }

    /// Stops serving and closes the store (as a shutdown would); the data
    /// directory stays. Callers must not hold on to [`AmServer::alerts`].
    pub fn stop(&mut self) {
        self.running = None;
    }

    /// Stops, reopens the same data directory and serves again on the same
    /// port when it is still free.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Writes raw records into the stopped server's store (for damaged-journal tests).
    pub fn with_store_stopped(&mut self, change: impl FnOnce(&Store)) {
        self.stop();
        let store =
            Store::open(&self.data_dir()).unwrap_or_else(|e| panic!("cannot open the store: {e}"));
        change(&store);
        drop(store);
        self.launch();
    }

    fn launch(&mut self) {
        let store = Arc::new(
            Store::open(&self.data_dir()).unwrap_or_else(|e| panic!("cannot open the store: {e}")),
        );
        let alerts = AlertStore::open(Arc::clone(&store), self.store_options)
            .unwrap_or_else(|e| panic!("cannot open the alert store: {e}"));
        let silences = Silences::open_with(store, DEFAULT_RETENTION_MS, self.silence_limits)
            .unwrap_or_else(|e| panic!("cannot open the silences: {e}"));
        let mut views = TestViews::new(self.receivers.first().map_or("default", String::as_str));
        views.others = self.receivers.iter().skip(1).cloned().collect();
        let _ = views.alerts.set(Arc::clone(&alerts));
        let state = AlertmanagerApi {
            alerts: Arc::clone(&alerts),
            silences: Arc::clone(&silences),
            views: Arc::new(views),
            options: Arc::new(self.options.clone()),
        };
        let app = klaxon::api::finish(routes(state), self.token.clone());
        let server = LocalServer::start_at("amapi", self.port, 2, app);
        self.port = server.addr().port();
        self.running = Some(Running {
            server,
            alerts,
            silences,
        });
    }
}
