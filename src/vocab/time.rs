//! Time as klaxon keeps it: milliseconds since the epoch, the one reader of
//! the wall clock, Prometheus durations, and the three ways the Go
//! programs klaxon speaks with write and read times.
//!
//! Code below the wiring takes `now` as a parameter wherever it decides
//! something by time (silences, inhibition, grouping, the state machine),
//! so tests pass any time they like; only loops that wait read [`now_ms`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Datelike, Timelike};

/// Milliseconds since the Unix epoch: the resolution of every time klaxon keeps.
pub type Millis = i64;

/// Now on the system clock, as milliseconds since the epoch (0 if the
/// clock is before 1970). Code that runs inside the service reads a
/// [`Clock`] instead, so a test can hold the time still or move it.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Where the evaluator, the notifier and the API read "now". The service
/// runs on the system clock (the default); [`Clock::manual`] gives a clock
/// that only moves when its [`ClockHand`] moves it, so a test can step
/// through group waits, repeat intervals and silence ends without sleeping.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

/// Moves a manual [`Clock`] (and every copy of it).
#[derive(Clone, Debug)]
pub struct ClockHand(Arc<AtomicI64>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock standing at `at` until its hand moves it.
    pub fn manual(at: Millis) -> (Clock, ClockHand) {
        let time = Arc::new(AtomicI64::new(at));
        (
            Clock {
                manual: Some(Arc::clone(&time)),
            },
            ClockHand(time),
        )
    }

    /// Now, in milliseconds since the epoch.
    pub fn now(&self) -> Millis {
        match &self.manual {
            None => now_ms(),
            Some(time) => time.load(Ordering::SeqCst),
        }
    }
}

impl ClockHand {
    /// Sets the time.
    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::SeqCst);
    }

    /// Moves the time on by `by` milliseconds.
    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

/// Two clocks are equal when they read the same time source: both the
/// system clock, or copies of one manual clock.
impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (&self.manual, &other.manual) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(time) => write!(f, "Clock::manual({})", time.load(Ordering::SeqCst)),
        }
    }
}

/// Prometheus's duration units, largest first, in milliseconds: the order
/// they are written and printed in.
const DURATION_UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// A duration in milliseconds, the unit Prometheus uses internally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

impl Duration {
    /// From seconds.
    pub fn secs(s: u64) -> Self {
        Duration(s * 1000)
    }

    /// As a `std::time::Duration`.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl std::fmt::Display for Duration {
    /// Prometheus's canonical form: `1h30m`, `5m`, `0s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return write!(f, "0s");
        }
        for (unit, size) in DURATION_UNITS {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

/// Parses a Prometheus duration (`30s`, `1h30m`, `1d`, `500ms`; units in
/// descending order, each at most once). Returns a message on error.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if text == "0" {
        return Ok(Duration(0));
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    let mut last_unit = 0usize; // index into DURATION_UNITS of the next allowed unit
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "`{text}` is not a duration: expected a number at `{}`",
                &text[start..]
            ));
        }
        let n: u64 = text[start..i]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: number too large"))?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        let Some(pos) = DURATION_UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                format!("`{text}` is not a duration: missing a unit (ms, s, m, h, d, w, y)")
            } else {
                format!(
                    "`{text}` is not a duration: unknown unit `{unit}` (use ms, s, m, h, d, w or y)"
                )
            });
        };
        if pos < last_unit {
            return Err(format!(
                "`{text}` is not a duration: units must go from largest to smallest, each once"
            ));
        }
        last_unit = pos + 1;
        total = n
            .checked_mul(DURATION_UNITS[pos].1)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| format!("`{text}` is not a duration: too large"))?;
    }
    Ok(Duration(total))
}

/// Go's zero `time.Time` as RFC 3339: what Prometheus shows for "never" and
/// Alertmanager writes as the end of a firing alert.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Go's zero time in milliseconds since 1970 (`time.Time{}.IsZero()`).
const GO_ZERO_MS: Millis = -62_135_596_800_000;

/// A time as Go's `time.Time` marshals to JSON in UTC (RFC 3339, a fraction
/// only when there is one, trailing zeros dropped); `None`, and times Go
/// could not encode (outside years 0–9999), as the zero time.
pub fn go_time(at: Option<Millis>) -> String {
    let Some(time) = at.and_then(DateTime::from_timestamp_millis) else {
        return GO_ZERO_TIME.to_string();
    };
    if !(0..=9999).contains(&time.year()) {
        return GO_ZERO_TIME.to_string();
    }
    let mut text = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = time.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// [`go_time`] of a time that is always set (webhook payloads, the
/// notification log).
pub fn rfc3339(ms: Millis) -> String {
    go_time(Some(ms))
}

/// A time as go-openapi's `strfmt.DateTime` writes it, which is what
/// Prometheus posts to Alertmanager: RFC 3339 with exactly three fraction
/// digits; a time out of range as Go's zero time.
pub fn strfmt_date_time(at: Millis) -> String {
    match DateTime::from_timestamp_millis(at) {
        Some(time) => time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "0001-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parses an RFC 3339 time, the whole text (Alertmanager answers 400 for
/// `0001-01-01T00:00:00junk`); Go's zero time, in any offset or precision,
/// and the empty string are `None`.
pub fn parse_time(text: &str) -> Result<Option<Millis>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) if t.timestamp_millis() == GO_ZERO_MS => Ok(None),
        Ok(t) => Ok(Some(t.timestamp_millis())),
        Err(e) => Err(format!("`{text}` is not an RFC 3339 time: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_go_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339(1_234), "1970-01-01T00:00:01.234Z");
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Ok(Some(1_500)));
        assert_eq!(parse_time(GO_ZERO_TIME), Ok(None));
        assert_eq!(parse_time(""), Ok(None));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_time("0001-01-01T00:00:00.000Z"), Ok(None));
        assert_eq!(parse_time("0001-01-01T01:00:00+01:00"), Ok(None));
        assert!(parse_time("0001-01-01T00:00:00junk").is_err());
        assert!(parse_time("0001-01-01T00:00:00").is_err());
        assert!(parse_time("2024-01-01T00:00:00Zjunk").is_err());
    }

    #[test]
    fn the_last_day_of_year_9999_round_trips() {
        // What silences and alerts use for "forever".
        let forever = parse_time("9999-12-31T23:59:59.5Z").unwrap().unwrap();
        assert_eq!(rfc3339(forever), "9999-12-31T23:59:59.5Z");
    }

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration("30s"), Ok(Duration(30_000)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration(5_400_000)));
        assert_eq!(parse_duration("500ms"), Ok(Duration(500)));
        assert_eq!(parse_duration("0"), Ok(Duration(0)));
        assert!(parse_duration("5").unwrap_err().contains("missing a unit"));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("30m1h").unwrap_err().contains("largest"));
        assert!(parse_duration("99999999999999999999y").is_err());
        assert_eq!(Duration(5_400_000).to_string(), "1h30m");
    }

    #[test]
    fn a_manual_clock_moves_only_with_its_hand_and_copies_follow() {
        let (clock, hand) = Clock::manual(1_000);
        let copy = clock.clone();
        assert_eq!(clock.now(), 1_000);
        hand.advance(500);
        assert_eq!((clock.now(), copy.now()), (1_500, 1_500));
        hand.set(10);
        assert_eq!(copy.now(), 10);
        let system = Clock::system().now();
        assert!((system - now_ms()).abs() < 60_000);
    }
}
