//! Keeps a long-running `klaxon serve` from holding memory it no longer
//! uses, with glibc's malloc (the allocator Rust uses on Linux).
//!
//! glibc gives every thread that allocates an arena of its own, up to eight
//! per core, and never returns free pages from the middle of an arena on its
//! own. klaxon's work comes in bursts (rule loading, an evaluation round, a
//! resend to Alertmanager) that leave freed pages behind in whichever arena
//! served them, so resident memory ratchets up to the sum of every arena's
//! worst moment. Measured at 1,000 rules, that was 4 MB of resident memory
//! for 4.5 MB of live heap. Two arenas and a trim after each burst bring the
//! resident set close to what is live.
//!
//! Other platforms and allocators: both functions do nothing.

use std::time::Duration;

/// Arenas for the whole process: enough that the two tokio workers rarely
/// wait on each other's allocations, few enough that freed memory is reused
/// instead of stranded in an arena no thread is using now.
const MAX_ARENAS: i32 = 2;

/// How often [`release_free_memory_periodically`] trims: shorter than the
/// shortest usual evaluation interval, so every round's garbage goes back.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Caps malloc arenas. Call first thing, before any thread starts (later
/// calls are harmless but only bind threads that have no arena yet).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a malloc tunable; it has no memory-safety
    // preconditions, and an unsupported value is refused with 0, not UB.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS);
    }
}

/// Returns the free pages of every arena to the kernel. It walks free
/// chunks under each arena's lock: about a millisecond for tens of
/// megabytes, so it runs every few seconds, not per allocation.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes malloc's own locks and only releases pages
    // that no allocation uses; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs [`release_free_memory`] every few seconds until the runtime stops.
pub async fn release_free_memory_periodically() {
    let mut ticks = tokio::time::interval(TRIM_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        release_free_memory();
    }
}
