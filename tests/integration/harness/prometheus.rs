//! A real Prometheus (`/usr/bin/prometheus`, Debian's 2.42) for a test: its
//! own port on 127.0.0.1, its own config and TSDB in a temporary directory,
//! killed when dropped.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::api::{
    ApiAlert, ApiRuleGroup, Labels, parse_alerts, parse_query_result, parse_rule_groups,
};
use super::http::{self, HttpResponse, encode_query_value};
use super::process::{CommandSpec, ManagedProcess, TERMINATE_TIMEOUT, free_port};
use super::wait::wait_for;

/// The Prometheus binary; `KLAXON_TEST_PROMETHEUS` overrides it.
fn prometheus_binary() -> PathBuf {
    std::env::var_os("KLAXON_TEST_PROMETHEUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

/// How long Prometheus may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How many ports to try when the one picked is taken meanwhile.
const PORT_ATTEMPTS: u32 = 3;

/// A scrape job of the generated configuration.
#[derive(Debug, Clone)]
struct ScrapeJob {
    name: String,
    targets: Vec<String>,
    metrics_path: String,
}

/// Settings for [`Prometheus`]; start it with [`PrometheusBuilder::start`].
#[derive(Debug, Clone)]
pub struct PrometheusBuilder {
    scrape_interval: Duration,
    evaluation_interval: Duration,
    jobs: Vec<ScrapeJob>,
    rule_files: Vec<PathBuf>,
    alertmanagers: Vec<String>,
    external_labels: Labels,
    extra_args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl PrometheusBuilder {
    /// Adds a scrape job `job` for a target `host:port` serving `/metrics`
    /// (e.g. `exporter.addr()`, `klaxon.addr()`).
    pub fn scrape(mut self, job: &str, target: impl ToString) -> Self {
        self.jobs.push(ScrapeJob {
            name: job.to_string(),
            targets: vec![target.to_string()],
            metrics_path: "/metrics".to_string(),
        });
        self
    }

    /// Adds a rule file (Prometheus YAML) for Prometheus itself to evaluate;
    /// the differential tests give the same file to klaxon.
    pub fn rule_file(mut self, path: impl AsRef<Path>) -> Self {
        self.rule_files.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds an Alertmanager `host:port` (or `http://host:port`) Prometheus
    /// sends its alerts to.
    pub fn alertmanager(mut self, target: &str) -> Self {
        let target = target.trim_start_matches("http://").trim_end_matches('/');
        self.alertmanagers.push(target.to_string());
        self
    }

    /// Adds an external label (`global.external_labels`).
    pub fn external_label(mut self, name: &str, value: &str) -> Self {
        self.external_labels
            .insert(name.to_string(), value.to_string());
        self
    }

    /// Adds a raw command-line flag, e.g. `--query.lookback-delta=10s`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_string());
        self
    }

    /// Sets an environment variable for the process, e.g. `TZ=UTC`.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.push((name.to_string(), value.to_string()));
        self
    }

    /// Writes the configuration, starts Prometheus and waits until
    /// `/-/ready` answers 200. Panics (with Prometheus's log) when it cannot.
    pub fn start(self) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-prometheus-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let process = ManagedProcess::new("prometheus", dir.path());
        let mut prometheus = Prometheus {
            process,
            settings: self,
            port: 0,
            dir,
        };
        prometheus.write_config();
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            prometheus.port = free_port();
            match prometheus.launch() {
                Ok(()) => return prometheus,
                Err(e) => last_error = e,
            }
        }
        panic!("Prometheus did not start ({PORT_ATTEMPTS} ports tried): {last_error}");
    }
}

/// A running Prometheus; see the module documentation.
pub struct Prometheus {
    // Dropped first: the process is killed before its directory goes away.
    process: ManagedProcess,
    settings: PrometheusBuilder,
    port: u16,
    dir: TempDir,
}

impl Prometheus {
    /// Settings with the defaults: 1s scrape and evaluation interval, no
    /// targets, no rules, no Alertmanager.
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder {
            scrape_interval: Duration::from_secs(1),
            evaluation_interval: Duration::from_secs(1),
            jobs: Vec::new(),
            rule_files: Vec::new(),
            alertmanagers: Vec::new(),
            external_labels: Labels::new(),
            extra_args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// A Prometheus scraping one target (`job="exporter"`) with defaults.
    pub fn scraping(target: impl ToString) -> Prometheus {
        Prometheus::builder().scrape("exporter", target).start()
    }

    /// `http://127.0.0.1:PORT`, the value for `--prometheus.url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The generated `prometheus.yml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.yml")
    }

    /// The TSDB directory, kept across [`Prometheus::restart`].
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Prometheus's own log (it logs to standard error).
    pub fn log(&self) -> String {
        self.process.stderr()
    }

    /// Stops Prometheus (SIGTERM, then waits): from klaxon's side the
    /// datasource is down and connections are refused. [`Prometheus::restart`]
    /// brings it back on the same port with the same data.
    pub fn stop(&mut self) -> ExitStatus {
        self.process.terminate(TERMINATE_TIMEOUT)
    }

    /// Starts Prometheus again on the same port and data directory, after
    /// stopping it if it still runs, and waits until it is ready. Panics if
    /// the port was taken meanwhile (unlikely: nothing else picks ports from
    /// the ephemeral range on purpose).
    pub fn restart(&mut self) {
        if self.process.is_running() {
            self.stop();
        }
        if let Err(e) = self.launch() {
            panic!("Prometheus did not restart on port {}: {e}", self.port);
        }
    }

    /// Adds a scrape job to the running Prometheus (config rewritten, then
    /// `POST /-/reload`). Use it for targets that start after Prometheus,
    /// such as klaxon, which needs Prometheus's URL first.
    pub fn add_scrape(&mut self, job: &str, target: impl ToString) {
        self.settings = self.settings.clone().scrape(job, target);
        self.write_config();
        self.reload();
    }

    /// `POST /-/reload` (re-reads the config and rule files); panics unless
    /// it answers 200.
    pub fn reload(&self) {
        let response = self.post("/-/reload");
        assert_eq!(
            response.status, 200,
            "Prometheus reload failed: {}",
            response.body
        );
    }

    /// `GET path` (e.g. `/api/v1/targets`); panics when Prometheus cannot be
    /// reached.
    pub fn get(&self, path: &str) -> HttpResponse {
        let url = format!("{}{path}", self.url());
        http::get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// `POST path` with an empty body; panics when Prometheus cannot be
    /// reached.
    pub fn post(&self, path: &str) -> HttpResponse {
        let url = format!("{}{path}", self.url());
        http::post(&url, "application/x-www-form-urlencoded", b"")
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// An instant query at the current time, or the error Prometheus (or the
    /// connection) gave.
    pub fn try_query(&self, expr: &str) -> Result<Vec<(Labels, f64)>, String> {
        let url = format!(
            "{}/api/v1/query?query={}",
            self.url(),
            encode_query_value(expr)
        );
        let response = http::get(&url).map_err(|e| format!("GET {url}: {e}"))?;
        parse_query_result(&response).map_err(|e| format!("query {expr:?}: {e}"))
    }

    /// An instant query at the current time: one `(labels, value)` per
    /// series. Panics on errors (a broken query is a broken test).
    pub fn query(&self, expr: &str) -> Vec<(Labels, f64)> {
        self.try_query(expr).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until `expr` returns a result `accept` agrees with, e.g. until a
    /// value the exporter was just given has been scraped, and returns it.
    pub fn wait_for_sample(
        &self,
        expr: &str,
        timeout: Duration,
        accept: impl Fn(&[(Labels, f64)]) -> bool,
    ) -> Vec<(Labels, f64)> {
        wait_for(
            timeout,
            &format!("Prometheus answers `{expr}` as expected"),
            || {
                let result = self.try_query(expr)?;
                if accept(&result) {
                    Ok(result)
                } else {
                    Err(format!("{result:?}"))
                }
            },
        )
    }

    /// Waits until `expr` returns exactly one series with value `value`.
    pub fn wait_for_value(&self, expr: &str, value: f64, timeout: Duration) {
        self.wait_for_sample(
            expr,
            timeout,
            |r| matches!(r, [(_, v)] if *v == value || (v.is_nan() && value.is_nan())),
        );
    }

    /// `GET /api/v1/alerts`: the alerts of Prometheus's own rule evaluation.
    pub fn alerts(&self) -> Vec<ApiAlert> {
        parse_alerts(&self.get("/api/v1/alerts")).unwrap_or_else(|e| panic!("Prometheus: {e}"))
    }

    /// `GET /api/v1/rules`.
    pub fn rules(&self) -> Vec<ApiRuleGroup> {
        parse_rule_groups(&self.get("/api/v1/rules")).unwrap_or_else(|e| panic!("Prometheus: {e}"))
    }

    /// The `--storage.tsdb.path` of whatever Prometheus answers on our port.
    fn serving_data_dir(&self) -> Option<String> {
        let response = http::get(&format!("{}/api/v1/status/flags", self.url())).ok()?;
        let flags = super::api::api_data(&response).ok()?;
        flags
            .get("storage.tsdb.path")
            .and_then(|p| p.as_str())
            .map(str::to_string)
    }

    /// Renders the settings as `prometheus.yml`. YAML accepts JSON, so
    /// every string is written as a JSON string and needs no YAML quoting.
    fn write_config(&self) {
        let s = &self.settings;
        let quote = |text: &str| serde_json::Value::from(text).to_string();
        let seconds = |d: Duration| format!("{}ms", d.as_millis());
        let mut yaml = String::from("global:\n");
        yaml.push_str(&format!(
            "  scrape_interval: {}\n",
            seconds(s.scrape_interval)
        ));
        yaml.push_str(&format!(
            "  scrape_timeout: {}\n",
            seconds(s.scrape_interval)
        ));
        yaml.push_str(&format!(
            "  evaluation_interval: {}\n",
            seconds(s.evaluation_interval)
        ));
        if !s.external_labels.is_empty() {
            yaml.push_str("  external_labels:\n");
            for (name, value) in &s.external_labels {
                yaml.push_str(&format!("    {name}: {}\n", quote(value)));
            }
        }
        if !s.rule_files.is_empty() {
            yaml.push_str("rule_files:\n");
            for file in &s.rule_files {
                yaml.push_str(&format!("  - {}\n", quote(&file.to_string_lossy())));
            }
        }
        if !s.alertmanagers.is_empty() {
            yaml.push_str(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets:\n",
            );
            for target in &s.alertmanagers {
                yaml.push_str(&format!("            - {}\n", quote(target)));
            }
        }
        yaml.push_str("scrape_configs:\n");
        if s.jobs.is_empty() {
            yaml.push_str("  []\n");
        }
        for job in &s.jobs {
            yaml.push_str(&format!("  - job_name: {}\n", quote(&job.name)));
            yaml.push_str(&format!("    metrics_path: {}\n", quote(&job.metrics_path)));
            yaml.push_str("    static_configs:\n      - targets:\n");
            for target in &job.targets {
                yaml.push_str(&format!("          - {}\n", quote(target)));
            }
        }
        std::fs::write(self.config_path(), yaml)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.config_path().display()));
    }

    /// Starts the process on `self.port` and waits until it is ready. On
    /// failure the process is gone and the error holds its log.
    fn launch(&mut self) -> Result<(), String> {
        let mut args = vec![
            format!("--config.file={}", self.config_path().display()),
            format!("--storage.tsdb.path={}", self.data_dir().display()),
            format!("--web.listen-address=127.0.0.1:{}", self.port),
            "--web.enable-lifecycle".to_string(),
            // The external URL would otherwise be derived from the hostname.
            format!("--web.external-url=http://127.0.0.1:{}/", self.port),
        ];
        args.extend(self.settings.extra_args.iter().cloned());
        let spec = CommandSpec {
            program: prometheus_binary(),
            args: args.into_iter().map(Into::into).collect(),
            envs: (self.settings.envs.iter())
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
            env_removals: Vec::new(),
            cwd: self.dir.path().to_path_buf(),
        };
        self.process
            .spawn(&spec)
            .map_err(|e| format!("{e} (install the Debian package `prometheus`)"))?;
        let started = Instant::now();
        let ready_url = format!("{}/-/ready", self.url());
        loop {
            if let Some(status) = self.process.exit_status() {
                return Err(format!(
                    "Prometheus exited with {status} before it was ready\n{}",
                    self.process.log_tail(30)
                ));
            }
            if http::get(&ready_url).is_ok_and(|r| r.status == 200) {
                // Another test's Prometheus could have taken the port first
                // and be the one answering: check it is ours.
                return match self.serving_data_dir() {
                    Some(dir) if dir == self.data_dir().to_string_lossy() => Ok(()),
                    other => {
                        self.process.kill9();
                        Err(format!(
                            "port {} is served by another Prometheus (data dir {other:?})",
                            self.port
                        ))
                    }
                };
            }
            if started.elapsed() > READY_TIMEOUT {
                self.process.kill9();
                return Err(format!(
                    "Prometheus was not ready after {READY_TIMEOUT:?}\n{}",
                    self.process.log_tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
