//! `time_window NAME { ... }`: the settings, their parsers (the one reading
//! of Alertmanager's weekday, day, month and year ranges, used by the DSL,
//! the notifier and `klaxon import alertmanager`) and the validated window.
//!
//! Alertmanager 0.25's `timeinterval` rules, as documented:
//! - `times "HH:MM-HH:MM"`: start inclusive, end exclusive, `24:00` allowed
//!   as an end, the end after the start;
//! - `weekdays`, `months`, `years`: `a` or inclusive ranges `a:b` with
//!   `a` <= `b`; weekday and month names are case-insensitive, months may be
//!   numbers;
//! - `days_of_month`: no 0, within ±31, negative days count from the end of
//!   the month, a negative start needs a negative end, and the range is not
//!   empty in every month (checked against a 28-day month);
//! - `location`: an IANA zone name, `Local` for the machine's zone, `UTC`
//!   by default. Checking it reads the system's time zone database, the one
//!   file read validation allows itself: `rulecheck` and `serve` on one
//!   machine see the same zones.
//!
//! Values must be written in the file: a window is not a secret.

use jiff::tz::TimeZone;

use super::{Block, Component, Kind, SettingSpec, spec};
use crate::diag::Diagnostic;

/// A validated `time_window`. A field of `None` was not given and holds
/// always; `Some` holds when any of its ranges holds.
#[derive(Debug, Clone)]
pub struct TimeWindowConfig {
    /// Minutes of the day, `[start, end)`.
    pub times: Option<Vec<(u16, u16)>>,
    /// 0 = Sunday .. 6 = Saturday, inclusive.
    pub weekdays: Option<Vec<(u8, u8)>>,
    /// Days of the month, inclusive; negative from the end.
    pub days_of_month: Option<Vec<(i8, i8)>>,
    /// 1 = January .. 12, inclusive.
    pub months: Option<Vec<(u8, u8)>>,
    /// Years, inclusive.
    pub years: Option<Vec<(i32, i32)>>,
    /// Where the calendar is read.
    pub location: TimeZone,
}

impl Component for TimeWindowConfig {
    const SETTINGS: &'static [SettingSpec] = &[
        spec("times", Kind::List),
        spec("weekdays", Kind::List),
        spec("days_of_month", Kind::List),
        spec("months", Kind::List),
        spec("years", Kind::List),
        spec("location", Kind::Text),
    ];

    fn validate(block: &mut Block<'_>) -> Option<Self> {
        let mut window = TimeWindowConfig {
            times: None,
            weekdays: None,
            days_of_month: None,
            months: None,
            years: None,
            location: TimeZone::UTC,
        };
        for setting in block.settings() {
            let key = setting.name.as_str();
            for v in &setting.values {
                let crate::model::SecretValue::Literal(text) = &v.value else {
                    let message = match block.place() {
                        super::Place::TimeWindow { name, .. } => format!(
                            "time_window `{name}`: `{key}` must be written in the file, not read with env() or file()"
                        ),
                        place => place.say(key, "must be written in the file"),
                    };
                    block.push(
                        Diagnostic::error("model/time-window", v.span, message)
                            .with_label("not a value"),
                    );
                    continue;
                };
                let result = match key {
                    "times" => {
                        parse_times(text).map(|r| window.times.get_or_insert_with(Vec::new).push(r))
                    }
                    "weekdays" => parse_range(text, weekday)
                        .map(|r| window.weekdays.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "days_of_month" => parse_days_of_month(text)
                        .map(|r| window.days_of_month.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "months" => parse_range(text, month)
                        .map(|r| window.months.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "years" => parse_range(text, year)
                        .map(|r| window.years.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    // A second `location` value is refused by the DSL.
                    "location" => zone(text).map(|z| window.location = z),
                    _ => continue,
                };
                if let Err(e) = result {
                    let message = block.place().say(&format!("{key} `{text}`"), e);
                    let (label, hint) = match key {
                        "location" => (
                            "unknown time zone",
                            Some("use an IANA name such as `Europe/Berlin`, or `UTC`".to_string()),
                        ),
                        "times" => ("invalid time range", None),
                        _ => ("invalid range", None),
                    };
                    block.push(
                        Diagnostic::error("model/time-window", v.span, message)
                            .with_label(label)
                            .with_hint(hint),
                    );
                }
            }
        }
        Some(window)
    }
}

/// A weekday name (any case) as 0 = sunday .. 6 = saturday, as Alertmanager counts.
pub fn weekday(s: &str) -> Option<u8> {
    [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ]
    .iter()
    .position(|d| *d == s.to_ascii_lowercase())
    .and_then(|p| u8::try_from(p).ok())
}

/// A month name (any case) or number as 1 = january .. 12.
pub fn month(s: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if let Ok(n) = s.parse::<u8>() {
        return (1..=12).contains(&n).then_some(n);
    }
    MONTHS
        .iter()
        .position(|m| *m == s.to_ascii_lowercase())
        .and_then(|p| u8::try_from(p + 1).ok())
}

/// A year klaxon accepts in a window: 1970..9999.
pub fn year(s: &str) -> Option<i32> {
    s.parse::<i32>().ok().filter(|y| (1970..=9999).contains(y))
}

/// `HH:MM-HH:MM` as minutes of the day, `[start, end)`.
pub fn parse_times(text: &str) -> Result<(u16, u16), String> {
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

/// `HH:MM` (00:00 to 24:00) as minutes of the day.
pub fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Why a range does not parse; callers word it for their readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// A side is not a value of the kind (a weekday, a month, ...).
    NotAValue,
    /// The start is after the end.
    Reversed,
}

impl std::fmt::Display for RangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RangeError::NotAValue => "not a valid value or `start:end` range",
            RangeError::Reversed => "the start of the range is after its end",
        })
    }
}

/// `a` or `a:b` with `a <= b`, each side read by `member`.
pub fn parse_range<T: PartialOrd + Copy>(
    text: &str,
    member: fn(&str) -> Option<T>,
) -> Result<(T, T), RangeError> {
    let lower = text.trim().to_ascii_lowercase();
    let (a, b) = match lower.split_once(':') {
        Some((a, b)) => (a, b),
        None => (lower.as_str(), lower.as_str()),
    };
    match (member(a.trim()), member(b.trim())) {
        (Some(a), Some(b)) if a <= b => Ok((a, b)),
        (Some(_), Some(_)) => Err(RangeError::Reversed),
        _ => Err(RangeError::NotAValue),
    }
}

/// Why a days-of-month range does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaysError {
    /// A side is 0, beyond ±31 or no number.
    NotADay,
    /// The start counts from the end of the month and the end does not.
    NegativeStart,
    /// The range is empty in a 28-day month.
    Empty,
}

impl std::fmt::Display for DaysError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DaysError::NotADay => "not a day of the month (1..31, or -31..-1 from the end)",
            DaysError::NegativeStart => "the end must be negative when the start is",
            DaysError::Empty => "the end is always before the start",
        })
    }
}

/// A days-of-month range with Alertmanager's checks: no 0, within ±31, a
/// negative start needs a negative end, and the range is not empty in every
/// month (checked against a 28-day month, as Alertmanager does).
pub fn parse_days_of_month(text: &str) -> Result<(i8, i8), DaysError> {
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
        return Err(DaysError::NotADay);
    };
    if begin < 0 && end > 0 {
        return Err(DaysError::NegativeStart);
    }
    let on_short_month = |d: i8| if d < 0 { 28 + d } else { d };
    if on_short_month(begin) > on_short_month(end) {
        return Err(DaysError::Empty);
    }
    Ok((begin, end))
}

/// An IANA zone name, `Local` (the machine's zone) or `UTC`.
pub fn zone(name: &str) -> Result<TimeZone, String> {
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
    fn ranges_parse_as_alertmanager_reads_them() {
        assert_eq!(parse_range("Monday:FRIDAY", weekday), Ok((1, 5)));
        assert!(parse_range("friday:monday", weekday).is_err());
        assert_eq!(parse_range("june:8", month), Ok((6, 8)));
        assert_eq!(parse_range("2026:2027", year), Ok((2026, 2027)));
        assert!(parse_range("1969", year).is_err());
        assert_eq!(parse_times("00:00-24:00"), Ok((0, 1440)));
        assert!(parse_times("22:00-02:00").is_err());
        assert!(parse_times("24:30-24:45").is_err());
        assert!(parse_times("9:00-17:0").is_err());
        assert_eq!(parse_days_of_month("1:-1"), Ok((1, -1)));
        assert!(parse_days_of_month("-3:5").is_err());
        assert!(parse_days_of_month("0").is_err());
        assert!(parse_days_of_month("-1:-3").is_err());
        assert!(zone("Europe/Berlin").is_ok());
        assert!(zone("Europe/Berlín").is_err());
    }
}
