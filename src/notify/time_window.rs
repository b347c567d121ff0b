//! Time windows (`time_window NAME { ... }`) with Alertmanager's
//! `time_intervals` semantics, for `mute_during` and `active_during`.
//!
//! A window is compiled once from the model: every setting is parsed into
//! number ranges and the `location` into a time zone, so checking an instant
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
use jiff::tz::TimeZone;

use crate::model::dsl::{month, weekday};
use crate::model::{self, SecretValue};
use crate::notify::alert::Millis;

/// Every time window of a rule set, compiled for fast membership checks.
#[derive(Debug, Clone, Default)]
pub struct TimeWindows {
    by_name: HashMap<String, Vec<Window>>,
}

/// One compiled `time_window` block. A field of `None` was not given and
/// holds always; `Some` holds when any of its ranges holds.
#[derive(Debug, Clone)]
struct Window {
    /// Minutes of the day, `[start, end)`.
    times: Option<Vec<(u16, u16)>>,
    /// 0 = Sunday .. 6 = Saturday, inclusive.
    weekdays: Option<Vec<(u8, u8)>>,
    /// Days of the month, inclusive; negative from the end.
    days_of_month: Option<Vec<(i8, i8)>>,
    /// 1 = January .. 12, inclusive.
    months: Option<Vec<(u8, u8)>>,
    /// Years, inclusive.
    years: Option<Vec<(i32, i32)>>,
    /// Where the calendar is read.
    zone: TimeZone,
}

impl TimeWindows {
    /// Compiles every window of the model. Returns every problem found (one
    /// message each, naming the window and the value) when any setting is
    /// invalid, e.g. a weekday range whose start is after its end or an
    /// unknown time zone.
    pub fn compile(windows: &[model::TimeWindow]) -> Result<TimeWindows, Vec<String>> {
        let mut by_name: HashMap<String, Vec<Window>> = HashMap::new();
        let mut errors = Vec::new();
        for w in windows {
            match Window::compile(w) {
                Ok(window) => by_name.entry(w.name.clone()).or_default().push(window),
                Err(mut e) => errors.append(&mut e),
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
            .is_some_and(|entries| entries.iter().any(|w| w.contains(at)))
    }

    /// Whether any of the named windows holds `at_ms`: the test for a
    /// route's `mute_during` (muted) or `active_during` (allowed to send).
    pub fn any_contains(&self, names: &[String], at_ms: Millis) -> bool {
        names.iter().any(|n| self.contains(n, at_ms))
    }
}

impl Window {
    fn compile(w: &model::TimeWindow) -> Result<Window, Vec<String>> {
        let mut window = Window {
            times: None,
            weekdays: None,
            days_of_month: None,
            months: None,
            years: None,
            zone: TimeZone::UTC,
        };
        let mut errors = Vec::new();
        for (key, values, _) in &w.settings {
            let mut texts = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    SecretValue::Literal(t) => texts.push(t.as_str()),
                    SecretValue::Env(_) | SecretValue::File(_) => errors.push(format!(
                        "time_window `{}`: `{key}` must be written in the file, not read with env() or file()",
                        w.name
                    )),
                }
            }
            let what = format!("time_window `{}`: {key}", w.name);
            match key.as_str() {
                "times" => window.times.get_or_insert_with(Vec::new).extend(each(
                    &texts,
                    &what,
                    parse_times,
                    &mut errors,
                )),
                "weekdays" => {
                    window.weekdays.get_or_insert_with(Vec::new).extend(each(
                        &texts,
                        &what,
                        |t| parse_range(t, weekday),
                        &mut errors,
                    ));
                }
                "days_of_month" => {
                    window
                        .days_of_month
                        .get_or_insert_with(Vec::new)
                        .extend(each(&texts, &what, parse_days_of_month, &mut errors));
                }
                "months" => {
                    window.months.get_or_insert_with(Vec::new).extend(each(
                        &texts,
                        &what,
                        |t| parse_range(t, month),
                        &mut errors,
                    ));
                }
                "years" => {
                    window.years.get_or_insert_with(Vec::new).extend(each(
                        &texts,
                        &what,
                        |t| parse_range(t, year),
                        &mut errors,
                    ));
                }
                "location" => {
                    if let Some(z) = each(&texts, &what, zone, &mut errors).into_iter().next() {
                        window.zone = z;
                    }
                }
                other => errors.push(format!(
                    "time_window `{}`: unknown setting `{other}`",
                    w.name
                )),
            }
        }
        if errors.is_empty() {
            Ok(window)
        } else {
            Err(errors)
        }
    }

    fn contains(&self, at: Timestamp) -> bool {
        let local = self.zone.to_datetime(at);
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
            .unwrap_or(u16::MAX);
        let (day, days) = (local.day(), local.days_in_month());
        let month = u8::try_from(local.month()).unwrap_or(0);
        let weekday = u8::try_from(local.weekday().to_sunday_zero_offset()).unwrap_or(u8::MAX);
        let year = i32::from(local.year());
        holds(&self.times, |&(start, end)| start <= minute && minute < end)
            && holds(&self.days_of_month, |&(begin, end)| {
                day_in_range(day, days, begin, end)
            })
            && holds(&self.months, |&(a, b)| a <= month && month <= b)
            && holds(&self.weekdays, |&(a, b)| a <= weekday && weekday <= b)
            && holds(&self.years, |&(a, b)| a <= year && year <= b)
    }
}

/// A setting left out holds; one given holds when any of its ranges does.
fn holds<T>(ranges: &Option<Vec<T>>, test: impl Fn(&T) -> bool) -> bool {
    ranges.as_ref().is_none_or(|r| r.iter().any(test))
}

/// Every value parsed with `parse`; each one that does not parse becomes a
/// message in `errors` (prefixed with `what`) and is left out.
fn each<T>(
    texts: &[&str],
    what: &str,
    parse: impl Fn(&str) -> Result<T, String>,
    errors: &mut Vec<String>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(texts.len());
    for t in texts {
        match parse(t) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(format!("{what} `{t}`: {e}")),
        }
    }
    out
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

/// `HH:MM-HH:MM` as minutes of the day, `[start, end)`.
fn parse_times(text: &str) -> Result<(u16, u16), String> {
    let minutes = |s: &str| -> Option<u16> {
        let (h, m) = s.trim().split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| "not a time range like `09:00-17:00`".to_string())?;
    match (minutes(a), minutes(b)) {
        (Some(a), Some(b)) if a < b => Ok((a, b)),
        (Some(_), Some(_)) => {
            Err("the end must be after the start (use two ranges to cross midnight)".into())
        }
        _ => Err("not a time range like `09:00-17:00` (24:00 is the latest end)".into()),
    }
}

/// `a` or `a:b` with `a <= b`, each side read by `member`.
fn parse_range<T: PartialOrd + Copy>(
    text: &str,
    member: fn(&str) -> Option<T>,
) -> Result<(T, T), String> {
    let lower = text.trim().to_ascii_lowercase();
    let (a, b) = match lower.split_once(':') {
        Some((a, b)) => (a, b),
        None => (lower.as_str(), lower.as_str()),
    };
    match (member(a.trim()), member(b.trim())) {
        (Some(a), Some(b)) if a <= b => Ok((a, b)),
        (Some(_), Some(_)) => Err("the start of the range is after its end".into()),
        _ => Err("not a valid value or `start:end` range".into()),
    }
}

/// A days-of-month range with Alertmanager's checks: no 0, within ±31, a
/// negative start needs a negative end, and the range is not empty in every
/// month (checked against a 28-day month, as Alertmanager does).
fn parse_days_of_month(text: &str) -> Result<(i8, i8), String> {
    let day = |s: &str| -> Option<i8> {
        s.parse::<i8>()
            .ok()
            .filter(|d| *d != 0 && (-31..=31).contains(d))
    };
    let (a, b) = match text.trim().split_once(':') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (text.trim(), text.trim()),
    };
    let (Some(begin), Some(end)) = (day(a), day(b)) else {
        return Err("not a day of the month (1..31, or -31..-1 from the end)".into());
    };
    if begin < 0 && end > 0 {
        return Err("the end must be negative when the start is".into());
    }
    let on_short_month = |d: i8| if d < 0 { 28 + d } else { d };
    if on_short_month(begin) > on_short_month(end) {
        return Err("the end is always before the start".into());
    }
    Ok((begin, end))
}

fn year(s: &str) -> Option<i32> {
    s.parse::<i32>().ok().filter(|y| (1..=9999).contains(y))
}

/// An IANA zone name, `Local` (the machine's zone) or `UTC`.
fn zone(name: &str) -> Result<TimeZone, String> {
    match name {
        "" | "UTC" => Ok(TimeZone::UTC),
        "Local" => Ok(TimeZone::system()),
        _ => TimeZone::get(name).map_err(|e| format!("unknown time zone: {e}")),
    }
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

    #[test]
    fn ranges_parse_as_alertmanager_reads_them() {
        assert_eq!(parse_range("Monday:FRIDAY", weekday), Ok((1, 5)));
        assert!(parse_range("friday:monday", weekday).is_err());
        assert_eq!(parse_range("june:8", month), Ok((6, 8)));
        assert_eq!(parse_times("00:00-24:00"), Ok((0, 1440)));
        assert!(parse_times("22:00-02:00").is_err());
        assert!(parse_times("24:30-24:45").is_err());
        assert_eq!(parse_days_of_month("1:-1"), Ok((1, -1)));
        assert!(parse_days_of_month("-3:5").is_err());
        assert!(parse_days_of_month("0").is_err());
        assert!(parse_days_of_month("-1:-3").is_err());
    }
}
