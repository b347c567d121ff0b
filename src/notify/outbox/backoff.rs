//! Retry delays: exponential backoff with full jitter ("AWS full jitter"),
//! so a receiver that comes back is not hit by every pending notification
//! at the same instant, and never sooner than the receiver's Retry-After.

use std::time::Duration;

/// The delay policy of one outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The ceiling after the first failure.
    pub initial_ms: u64,
    /// The ceiling never grows past this.
    pub max_ms: u64,
}

impl Backoff {
    /// The largest delay after `failures` failed attempts (1 = the first
    /// failure): `initial * 2^(failures-1)`, capped at `max`.
    pub fn ceiling_ms(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(1).min(63);
        let grown = self
            .initial_ms
            .checked_mul(1u64 << doublings)
            .unwrap_or(u64::MAX);
        grown.min(self.max_ms.max(self.initial_ms))
    }

    /// The delay before the next attempt: uniform in `0..=ceiling`, and at
    /// least what the receiver asked for with Retry-After.
    pub fn delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let jittered = Duration::from_millis(rng.u64(0..=self.ceiling_ms(failures)));
        match retry_after {
            Some(floor) if floor > jittered => floor,
            _ => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Backoff = Backoff {
        initial_ms: 1_000,
        max_ms: 300_000,
    };

    #[test]
    fn ceiling_doubles_from_initial_then_stops_at_max() {
        let ceilings: Vec<u64> = (1..=11).map(|n| POLICY.ceiling_ms(n)).collect();
        assert_eq!(
            ceilings,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000
            ]
        );
        // Absurd attempt counts (a record stuck for weeks) do not overflow.
        assert_eq!(POLICY.ceiling_ms(u32::MAX), 300_000);
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling_and_grow() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut mean_by_failures = Vec::new();
        for failures in 1..=6u32 {
            let ceiling = Duration::from_millis(POLICY.ceiling_ms(failures));
            let delays: Vec<Duration> = (0..400)
                .map(|_| POLICY.delay(failures, None, &mut rng))
                .collect();
            assert!(delays.iter().all(|d| *d <= ceiling), "failures {failures}");
            let distinct: std::collections::HashSet<_> = delays.iter().collect();
            assert!(distinct.len() > 300, "jittered, not a fixed delay");
            // Full jitter spreads over the whole range, not just its top.
            assert!(delays.iter().any(|d| *d < ceiling / 4));
            assert!(delays.iter().any(|d| *d > ceiling * 3 / 4));
            let mean = delays.iter().sum::<Duration>() / 400;
            mean_by_failures.push(mean);
        }
        assert!(
            mean_by_failures.windows(2).all(|w| w[1] > w[0]),
            "the mean delay grows with each failure: {mean_by_failures:?}"
        );
    }

    #[test]
    fn same_seed_same_delays() {
        let run = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (1..=5)
                .map(|n| POLICY.delay(n, None, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn retry_after_is_a_floor_not_a_ceiling() {
        let mut rng = fastrand::Rng::with_seed(1);
        let asked = Duration::from_secs(30);
        for _ in 0..100 {
            // The first failure's ceiling is 1s: Retry-After wins.
            assert_eq!(POLICY.delay(1, Some(asked), &mut rng), asked);
        }
        // Past 30s of ceiling, jitter may exceed the floor but never undercuts it.
        let delays: Vec<Duration> = (0..200)
            .map(|_| POLICY.delay(9, Some(asked), &mut rng))
            .collect();
        assert!(delays.iter().all(|d| *d >= asked));
        assert!(delays.iter().any(|d| *d > asked));
    }
}
