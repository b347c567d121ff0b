//! A real Alertmanager 0.25 (`/usr/bin/prometheus-alertmanager`, Debian
//! package `prometheus-alertmanager`) with a configuration the test writes,
//! clustering off, state in a temporary directory; killed when dropped.
//! Differential tests run it beside klaxon on the same alert stream.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::http::{self, HttpResponse};
use super::process::{CommandSpec, ManagedProcess, free_port};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn alertmanager_binary() -> PathBuf {
    std::env::var_os("KLAXON_TEST_ALERTMANAGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus-alertmanager"))
}

/// A running Alertmanager.
pub struct Alertmanager {
    // Dropped first: the process is killed before its directory goes away.
    process: ManagedProcess,
    port: u16,
    dir: TempDir,
}

impl Alertmanager {
    /// Writes `config_yaml` and starts Alertmanager on a free loopback port;
    /// panics with its log when it does not become ready.
    pub fn start(config_yaml: &str) -> Alertmanager {
        Alertmanager::start_with_args(config_yaml, &[])
    }

    /// Like [`Alertmanager::start`], with extra flags (say
    /// `--web.route-prefix=/am`; `/-/ready` is then looked for under it).
    pub fn start_with_args(config_yaml: &str, extra_args: &[&str]) -> Alertmanager {
        let route_prefix = extra_args
            .iter()
            .find_map(|a| a.strip_prefix("--web.route-prefix="))
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-alertmanager-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, config_yaml)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let mut last = String::new();
        let mut dir = dir;
        for _ in 0..3 {
            let port = free_port();
            let storage = dir.path().join(format!("data-{port}"));
            let mut am = Alertmanager {
                process: ManagedProcess::new("alertmanager", dir.path()),
                port,
                dir,
            };
            let spec = CommandSpec {
                program: alertmanager_binary(),
                args: vec![
                    format!("--config.file={}", config.display()).into(),
                    format!("--storage.path={}", storage.display()).into(),
                    format!("--web.listen-address=127.0.0.1:{port}").into(),
                    format!("--web.external-url=http://127.0.0.1:{port}/").into(),
                    "--cluster.listen-address=".into(),
                    "--log.level=debug".into(),
                ]
                .into_iter()
                .chain(extra_args.iter().map(Into::into))
                .collect(),
                envs: Vec::new(),
                env_removals: Vec::new(),
                cwd: am.dir.path().to_path_buf(),
            };
            am.process.spawn(&spec).unwrap_or_else(|e| {
                panic!("cannot start Alertmanager: {e} (install the Debian package `prometheus-alertmanager`)")
            });
            let started = Instant::now();
            loop {
                if let Some(status) = am.process.exit_status() {
                    last = format!("exited with {status}\n{}", am.process.log_tail(30));
                    break;
                }
                let ready = format!("{}{route_prefix}/-/ready", am.url());
                if http::get(&ready).is_ok_and(|r| r.status == 200) {
                    return am;
                }
                if started.elapsed() > READY_TIMEOUT {
                    am.process.kill9();
                    last = format!(
                        "not ready after {READY_TIMEOUT:?}\n{}",
                        am.process.log_tail(30)
                    );
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let Alertmanager {
                process, dir: d, ..
            } = am;
            drop(process);
            dir = d;
        }
        panic!("Alertmanager did not start: {last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `POST /api/v2/alerts` with a JSON array; panics unless 200.
    pub fn post_alerts(&self, alerts: &serde_json::Value) {
        let response = self.post_json("/api/v2/alerts", alerts);
        assert_eq!(response.status, 200, "Alertmanager: {}", response.body);
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> HttpResponse {
        let url = format!("{}{path}", self.url());
        http::post(&url, "application/json", body.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// Alertmanager's log, for failure messages.
    pub fn log(&self) -> String {
        self.process.log_tail(60)
    }
}
