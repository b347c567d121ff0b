//! `amtool` (Debian package `prometheus-alertmanager`), the Alertmanager
//! command line that the API tests point at klaxon.

use std::path::Path;
use std::process::{Command, Output};

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
