//! The real tools: `amtool`, Prometheus 2.42 and Alertmanager 0.25 (Debian
//! packages `prometheus` and `prometheus-alertmanager`), each on a free
//! loopback port in its own temporary directory, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::am_api::{free_port, http, write_file};

/// A child process killed when dropped; its log is printed if the test panics.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &str, command: &mut Command, dir: &Path) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = file
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Everything it wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!(
                "---- {} log (last lines) ----\n{}",
                self.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// Waits until `GET url` answers 200, or panics with the process log.
fn wait_ready(process: &mut Process, url: &str, timeout: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Some(status) = process.exited() {
            return Err(format!(
                "{} exited with {status}:\n{}",
                process.name,
                process.log()
            ));
        }
        if http::request("GET", url, &[], None).is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "{} not ready after {timeout:?}:\n{}",
                process.name,
                process.log()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The result of one `amtool` run.
#[derive(Debug)]
pub struct AmtoolRun {
    /// Exit status was success.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `/usr/bin/amtool --alertmanager.url=<url> [--http.config.file=…] args…`
/// with a clean HOME (so no user config applies).
pub fn amtool(url: &str, http_config: Option<&Path>, args: &[&str]) -> AmtoolRun {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a HOME: {e}"));
    let mut command = Command::new("/usr/bin/amtool");
    command
        .env("HOME", home.path())
        .arg(format!("--alertmanager.url={url}"));
    if let Some(path) = http_config {
        command.arg(format!("--http.config.file={}", path.display()));
    }
    command.args(args);
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run amtool (install prometheus-alertmanager): {e}"));
    AmtoolRun {
        ok: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A real Prometheus evaluating `rules` every second and sending its alerts
/// to `alertmanager` (`host:port`) every second.
pub struct Prometheus {
    process: Process,
    port: u16,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts it and waits until it is ready.
    pub fn start(rules: &str, alertmanager: &str) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-prometheus-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let rules_path = write_file(dir.path(), "rules.yml", rules);
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{am}]\n\
             scrape_configs: []\n",
            rules = serde_json::Value::from(rules_path.to_string_lossy()),
            am = serde_json::Value::from(alertmanager),
        );
        let config_path = write_file(dir.path(), "prometheus.yml", &config);
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut process = Process::spawn(
                "prometheus",
                Command::new("/usr/bin/prometheus")
                    .arg(format!("--config.file={}", config_path.display()))
                    .arg(format!(
                        "--storage.tsdb.path={}",
                        dir.path().join("data").display()
                    ))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg(format!("--web.external-url=http://127.0.0.1:{port}/"))
                    // The first send happens before the Alertmanager list
                    // is synced (and is dropped); re-send every second
                    // rather than after the default minute.
                    .arg("--rules.alert.resend-delay=1s"),
                dir.path(),
            );
            match wait_ready(
                &mut process,
                &format!("http://127.0.0.1:{port}/-/ready"),
                Duration::from_secs(60),
            ) {
                Ok(()) => {
                    return Prometheus {
                        process,
                        port,
                        _dir: dir,
                    };
                }
                Err(e) => last = e,
            }
        }
        panic!("Prometheus did not start: {last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its log.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// A real Alertmanager 0.25 with the given configuration, clustering off.
pub struct Alertmanager {
    process: Process,
    port: u16,
    dir: TempDir,
}

impl Alertmanager {
    /// Starts it with `config` (alertmanager.yml text) and waits until ready.
    pub fn start(config: &str) -> Alertmanager {
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-alertmanager-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let config_path = write_file(dir.path(), "alertmanager.yml", config);
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut process = Process::spawn(
                "alertmanager",
                Command::new("/usr/bin/prometheus-alertmanager")
                    .arg(format!("--config.file={}", config_path.display()))
                    .arg(format!(
                        "--storage.path={}",
                        dir.path().join("data").display()
                    ))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--cluster.listen-address="),
                dir.path(),
            );
            match wait_ready(
                &mut process,
                &format!("http://127.0.0.1:{port}/-/ready"),
                Duration::from_secs(30),
            ) {
                Ok(()) => {
                    return Alertmanager { process, port, dir };
                }
                Err(e) => last = e,
            }
        }
        panic!("Alertmanager did not start: {last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its log.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Its directory (for extra files such as an HTTP config).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
