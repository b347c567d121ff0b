//! Keeps a long-running `klaxon serve` from holding memory it no longer
//! uses, with glibc's malloc (the allocator Rust uses on Linux).
//!
//! glibc gives every thread that allocates an arena of its own, up to eight
//! per core, and never returns free pages from the middle of an arena on its
//! own. klaxon's work comes in bursts (rule loading, an evaluation round, a
//! resend to Alertmanager) that leave freed pages behind in whichever arena
//! served them, so resident memory ratchets up to the sum of every arena's
//! worst moment. Measured at 1,000 rules, that was 4 MB of resident memory
//! for 4.5 MB of live heap; a trim every few seconds gives the free pages
//! back. Capping the arenas at two (`M_ARENA_MAX`) saved a little more, but
//! cut ingest on `POST /api/v2/alerts` from 129k to 84k alerts/s (likely
//! threads waiting on the shared arenas' locks), so it is not done.
//!
//! Other platforms and allocators: these functions do nothing.

use std::time::Duration;

/// How often [`release_free_memory_periodically`] trims: shorter than the
/// shortest usual evaluation interval, so every round's garbage goes back.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Returns the free pages of every arena to the kernel. It walks free
/// chunks under each arena's lock, so it runs every few seconds, not per
/// allocation, and off the async workers.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes malloc's own locks and only releases pages
    // that no allocation uses; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs [`release_free_memory`] now and then every few seconds, on a
/// blocking thread, until the runtime stops.
pub async fn release_free_memory_periodically() {
    let mut ticks = tokio::time::interval(TRIM_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // A failed trim (a panic in the blocking task) only means memory
        // stays resident a while longer.
        let _ = tokio::task::spawn_blocking(release_free_memory).await;
    }
}
