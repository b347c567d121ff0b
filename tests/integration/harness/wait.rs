//! Polling until something a test waits for is true, with a failure message
//! that says what was awaited and what was seen last.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How often conditions are re-checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Calls `check` every [`POLL_INTERVAL`] until it returns `Some`, and returns
/// that value. Panics after `timeout` with `what` in the message.
///
/// ```ignore
/// let alert = wait_until(Duration::from_secs(20), "HighValue fires", || {
///     klaxon.alerts().into_iter().find(|a| a.name() == "HighValue" && a.state == "firing")
/// });
/// ```
pub fn wait_until<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    wait_for(timeout, what, || check().ok_or("condition not met yet"))
}

/// Like [`wait_until`], but `check` explains each failed attempt; the panic
/// message after `timeout` shows the last explanation (e.g. the alerts seen),
/// which is usually what tells why a test failed.
pub fn wait_for<T, E: Debug>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match check() {
            Ok(value) => return value,
            Err(last) => {
                if started.elapsed() >= timeout {
                    panic!(
                        "timed out after {:.1?} ({attempts} attempts) waiting until {what}\n\
                         last observation: {last:#?}",
                        started.elapsed()
                    );
                }
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
