//! Time windows (`time_window NAME { ... }`) with Alertmanager's
//! `time_intervals` semantics, for `mute_during` and `active_during`.
//!
//! The loader validates each window once (`model::components::time_window`
//! with the one parser, `vocab::time_range`: every setting parsed into
//! number ranges, the `location` into a time zone), so checking an instant
//! is a handful of integer comparisons on the local calendar date and time.
//!
//! Semantics (Alertmanager 0.25's `timeinterval` package, as documented):
//! - a window holds an instant when every setting given holds for it; a
//!   setting left out holds always; a setting with several values holds when
//!   any of them does;
//! - `times "HH:MM-HH:MM"`: start inclusive, end exclusive, `24:00` allowed as
//!   an end; compared with the wall-clock time in `location`, so a range in a
//!   skipped DST hour never holds and one in a repeated hour holds twice;
//! - `weekdays`, `months`, `years`: inclusive ranges `a:b` (`a` <= `b`);
//!   weekday and month names are case-insensitive, months may be numbers;
//! - `days_of_month`: inclusive ranges, negative days count from the end of
//!   the month (`-1` is the last day); a range reaching past the month's end
//!   is clamped to it, one starting past it holds on no day;
//! - `location`: an IANA zone name (read from the system's tz database),
//!   `Local` for the machine's zone, default `UTC`.
//!
//! One deliberate difference: Alertmanager 0.25 computes the length of a
//! month as its duration in hours / 24, so in a month with a DST change
//! (`Europe/Berlin`, March) `-1` was the 30th; Alertmanager fixed this
//! upstream (#5447) and klaxon counts calendar days: `-1` is the 31st.
//!
//! Alertmanager lets one name hold several entries (a list of intervals,
//! any of which may hold). The DSL gives each `time_window` one entry and a
//! unique name, and `klaxon import alertmanager` writes a multi-entry
//! interval as several windows listed together in `mute_during` /
//! `active_during`. Should two windows of one name reach [`TimeWindows::compile`]
//! anyway, they are kept as two entries of that name (Alertmanager's union).

use std::collections::HashMap;

use jiff::Timestamp;

use crate::model;
use crate::model::components::time_window::TimeWindowConfig;
use crate::vocab::secret::SecretValue;
use crate::vocab::time::Millis;

/// Every time window of a rule set, ready for fast membership checks.
#[derive(Debug, Clone, Default)]
pub struct TimeWindows {
    by_name: HashMap<String, Vec<TimeWindowConfig>>,
}

impl TimeWindows {
    /// The windows of the model, validated when it was loaded. A window
    /// whose settings did not pass gives its problems again (one message
    /// each, naming the window and the value, e.g. a weekday range whose
    /// start is after its end or an unknown time zone); the loader has
    /// reported them already, with their position.
    pub fn compile(windows: &[model::TimeWindow]) -> Result<TimeWindows, Vec<String>> {
        let mut by_name: HashMap<String, Vec<TimeWindowConfig>> = HashMap::new();
        let mut errors = Vec::new();
        // Windows take no env()/file() values: nothing is read.
        let read = |_: &SecretValue| Err("a time window reads no value".to_string());
        for w in windows {
            match w.config.resolve(&read) {
                Ok(window) => by_name.entry(w.name.clone()).or_default().push(window),
                Err(diagnostics) => errors.extend(diagnostics.into_iter().map(|d| d.message)),
            }
        }
        if errors.is_empty() {
            Ok(TimeWindows { by_name })
        } else {
            Err(errors)
        }
    }

    /// Whether the window `name` holds the instant `at_ms` (milliseconds
    /// since the Unix epoch). An unknown name holds nothing.
    pub fn contains(&self, name: &str, at_ms: Millis) -> bool {
        let Ok(at) = Timestamp::from_millisecond(at_ms) else {
            return false;
        };
        self.by_name
            .get(name)
            .is_some_and(|entries| entries.iter().any(|w| holds_at(w, at)))
    }

    /// Whether any of the named windows holds `at_ms`: the test for a
    /// route's `mute_during` (muted) or `active_during` (allowed to send).
    pub fn any_contains(&self, names: &[String], at_ms: Millis) -> bool {
        names.iter().any(|n| self.contains(n, at_ms))
    }
}

/// Whether one window holds `at`: every setting given holds on the local
/// calendar date and time in the window's location.
fn holds_at(w: &TimeWindowConfig, at: Timestamp) -> bool {
    let local = w.location.to_datetime(at);
    let minute =
        u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(u16::MAX);
    let (day, days) = (local.day(), local.days_in_month());
    let month = u8::try_from(local.month()).unwrap_or(0);
    let weekday = u8::try_from(local.weekday().to_sunday_zero_offset()).unwrap_or(u8::MAX);
    let year = i32::from(local.year());
    holds(&w.times, |&(start, end)| start <= minute && minute < end)
        && holds(&w.days_of_month, |&(begin, end)| {
            day_in_range(day, days, begin, end)
        })
        && holds(&w.months, |&(a, b)| a <= month && month <= b)
        && holds(&w.weekdays, |&(a, b)| a <= weekday && weekday <= b)
        && holds(&w.years, |&(a, b)| a <= year && year <= b)
}

/// A setting left out holds; one given holds when any of its ranges does.
fn holds<T>(ranges: &Option<Vec<T>>, test: impl Fn(&T) -> bool) -> bool {
    ranges.as_ref().is_none_or(|r| r.iter().any(test))
}

/// Alertmanager's day-of-month test: negative bounds count from the end,
/// a range starting past the month's end holds on no day, and bounds are
/// clamped to the month.
fn day_in_range(day: i8, days_in_month: i8, begin: i8, end: i8) -> bool {
    let resolve = |d: i8| -> i16 {
        if d < 0 {
            i16::from(days_in_month) + i16::from(d) + 1
        } else {
            i16::from(d)
        }
    };
    let dim = i16::from(days_in_month);
    let (begin, end) = (resolve(begin), resolve(end));
    if begin > dim {
        return false;
    }
    let (begin, end) = (begin.clamp(-dim, dim), end.clamp(-dim, dim));
    let day = i16::from(day);
    begin <= day && day <= end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_days_count_from_the_end_and_ranges_clamp() {
        // February of a leap year: 29 days.
        assert!(day_in_range(29, 29, -1, -1));
        assert!(!day_in_range(28, 29, -1, -1));
        assert!(day_in_range(29, 29, 1, 31));
        // A range starting past the end of a short month holds on no day.
        assert!(!day_in_range(28, 28, 30, 31));
        assert!(day_in_range(1, 28, -31, -1));
    }
}
