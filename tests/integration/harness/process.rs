//! A child process the harness owns: started with its output going to log
//! files, stopped with SIGTERM or SIGKILL, always killed when dropped, and its
//! logs printed when the test that owns it panics.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a process gets to exit after SIGTERM before it is killed.
pub const TERMINATE_TIMEOUT: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1.
///
/// The port is found by binding port 0 and closing the socket again, so
/// another process could take it before ours binds it. That race is small on
/// a test machine and only costs a retry: [`crate::harness::Prometheus`] and
/// [`crate::harness::Klaxon`] start again on a new port when the first one
/// turns out to be taken. Servers written in Rust inside the test bind port 0
/// directly and have no such race.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a port on 127.0.0.1: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("bound socket has no address: {e}"))
        .port()
}

/// What to run: program, arguments and extra environment.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables set on top of the inherited environment.
    pub envs: Vec<(OsString, OsString)>,
    /// Inherited variables removed first (so a developer's shell cannot leak
    /// settings into a test).
    pub env_removals: Vec<OsString>,
    /// Working directory.
    pub cwd: PathBuf,
}

/// A running (or stopped) child process with its output in
/// `NAME.stdout.log` and `NAME.stderr.log` under a log directory. Restarts
/// append to the same files, each run preceded by a marker line.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    log_dir: PathBuf,
    child: Option<Child>,
    runs: u32,
}

impl ManagedProcess {
    /// A process named `name` (used in log file names and messages) logging
    /// into `log_dir`; nothing runs until [`ManagedProcess::spawn`].
    pub fn new(name: &str, log_dir: &Path) -> ManagedProcess {
        ManagedProcess {
            name: name.to_string(),
            log_dir: log_dir.to_path_buf(),
            child: None,
            runs: 0,
        }
    }

    /// Starts the command. Panics if a previous run is still alive.
    pub fn spawn(&mut self, spec: &CommandSpec) -> io::Result<()> {
        assert!(
            !self.is_running(),
            "{} is still running; stop it before starting it again",
            self.name
        );
        self.runs += 1;
        let marker = format!(
            "==== harness: run {} of {} {}\n",
            self.runs,
            spec.program.display(),
            spec.args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let stdout = self.open_log("stdout", &marker)?;
        let stderr = self.open_log("stderr", &marker)?;
        let mut command = Command::new(&spec.program);
        for name in &spec.env_removals {
            command.env_remove(name);
        }
        command
            .args(&spec.args)
            .envs(spec.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
        let child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", spec.program.display()),
            )
        })?;
        self.child = Some(child);
        Ok(())
    }

    fn open_log(&self, stream: &str, marker: &str) -> io::Result<File> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(stream))?;
        file.write_all(marker.as_bytes())?;
        Ok(file)
    }

    /// `NAME.stdout.log` or `NAME.stderr.log`.
    pub fn log_path(&self, stream: &str) -> PathBuf {
        self.log_dir.join(format!("{}.{stream}.log", self.name))
    }

    /// Everything the process wrote to standard output so far (all runs).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.log_path("stdout")).unwrap_or_default()
    }

    /// Everything the process wrote to standard error so far (all runs).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr")).unwrap_or_default()
    }

    /// Process id of the current run.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the current run is alive (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none() && self.child.is_some()
    }

    /// The exit status if the current run has exited, without waiting.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL: the process gets no chance to clean up (a crash, `kill -9`).
    pub fn kill9(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let _ = child.kill();
        child.wait().ok()
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let Some(pid) = self.pid() else {
            panic!("{} is not running: cannot send SIG{signal}", self.name);
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap_or_else(|e| panic!("cannot run `kill -{signal} {pid}`: {e}"));
        assert!(
            status.success(),
            "`kill -{signal} {pid}` ({}) failed: {status}",
            self.name
        );
    }

    /// SIGTERM, then waits up to `timeout` for the exit and returns its
    /// status. A process that does not exit in time is killed and the call
    /// panics (a hung shutdown is a bug worth a failing test).
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.exit_status() {
            return status;
        }
        self.signal("TERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.exit_status() {
                return status;
            }
            if started.elapsed() > timeout {
                self.kill9();
                panic!(
                    "{} did not exit within {timeout:?} of SIGTERM; killed it\n{}",
                    self.name,
                    self.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last `lines` lines of both logs, labelled, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let tail = |text: String| {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        };
        format!(
            "---- {} stderr ({}) ----\n{}\n---- {} stdout ({}) ----\n{}",
            self.name,
            self.log_path("stderr").display(),
            tail(self.stderr()),
            self.name,
            self.log_path("stdout").display(),
            tail(self.stdout())
        )
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail(200));
        }
    }
}

/// This test binary, set to run only `function` of the module whose
/// `module_path!()` is given, in a process of its own: for a test that
/// `kill -9`s its own work midway. The child finds itself in that role by
/// the environment the caller adds. Works under `cargo test` and nextest
/// alike (both run the binary with libtest's arguments).
pub fn this_test_alone(module_path: &str, function: &str) -> Command {
    let module = module_path
        .split_once("::")
        .map_or("", |(_crate_name, module)| module);
    let name = if module.is_empty() {
        function.to_string()
    } else {
        format!("{module}::{function}")
    };
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot find this test binary to re-run it: {e}"));
    let mut command = Command::new(exe);
    command.args(["--exact", &name, "--nocapture", "--test-threads=1"]);
    command
}

/// A child process killed (and reaped) when dropped, so a failed
/// assertion leaves no process behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
