//! Alertmanager's time-interval syntax (`times`, `weekdays`,
//! `days_of_month`, `months`, `years`, `location`): one parser for the DSL,
//! the notifier and the importer.
//!
//! Each function reads one value as Alertmanager 0.25 documents and checks
//! it, and returns a typed error; callers word it for their readers and
//! attach the place it was written. What it accepts:
//! - a time of day `HH:MM`: two-digit hours `00`..`23` and minutes, or
//!   `24:00`; a range `HH:MM-HH:MM` (the DSL's spelling of Alertmanager's
//!   `start_time` / `end_time`) starts before it ends;
//! - `weekdays`, `months`, `years`: `a` or an inclusive range `a:b` with
//!   `a` <= `b`; weekday and month names in any case, months also as
//!   numbers `1`..`12`, years `1970`..`9999` (klaxon refuses the months and
//!   years Alertmanager accepts but never matches);
//! - `days_of_month`: `1`..`31` or `-31`..`-1` from the end of the month, a
//!   negative start needs a negative end, and the range is not empty in
//!   every month (checked against a 28-day month);
//! - no blank anywhere in a value, as Alertmanager takes none;
//! - `location`: an IANA zone name spelt as in the tz database (its case
//!   included, as Alertmanager reads it on Linux), `Local` for the
//!   machine's zone, `UTC` or nothing for UTC. It is read from the system's
//!   tz database, so `rulecheck` and `serve` on one machine agree.

use std::fmt;

use jiff::tz::TimeZone;

/// Why a time range (`times`) does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimesError {
    /// Not `HH:MM-HH:MM`, or a side not a time of day.
    NotATime,
    /// The end is not after the start.
    Reversed,
}

impl fmt::Display for TimesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimesError::NotATime => "not a time range like `09:00-17:00` (24:00 is the latest end)",
            TimesError::Reversed => {
                "the end must be after the start (use two ranges to cross midnight)"
            }
        })
    }
}

/// Why a weekday, month or year range does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// A side is not a value of the kind (a weekday, a month, ...).
    NotAValue,
    /// The start is after the end.
    Reversed,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeError::NotAValue => "not a valid value or `start:end` range",
            RangeError::Reversed => "the start of the range is after its end",
        })
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

impl fmt::Display for DaysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DaysError::NotADay => "not a day of the month (1..31, or -31..-1 from the end)",
            DaysError::NegativeStart => "the end must be negative when the start is",
            DaysError::Empty => "the end is always before the start",
        })
    }
}

/// `HH:MM` as minutes of the day: hours `00`..`23` with minutes `00`..`59`,
/// or `24:00` (1440), the latest end.
pub fn time_of_day(text: &str) -> Option<u16> {
    if text == "24:00" {
        return Some(1440);
    }
    let (h, m) = text.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Minutes `[start, end)` of one day, the end after the start.
pub fn time_span(start: u16, end: u16) -> Result<(u16, u16), TimesError> {
    if start < end {
        Ok((start, end))
    } else {
        Err(TimesError::Reversed)
    }
}

/// `HH:MM-HH:MM` as minutes of the day, `[start, end)`.
pub fn times(text: &str) -> Result<(u16, u16), TimesError> {
    let (a, b) = text.split_once('-').ok_or(TimesError::NotATime)?;
    match (time_of_day(a), time_of_day(b)) {
        (Some(a), Some(b)) => time_span(a, b),
        _ => Err(TimesError::NotATime),
    }
}

/// A weekday or weekday range as 0 = Sunday .. 6 = Saturday.
pub fn weekdays(text: &str) -> Result<(u8, u8), RangeError> {
    range(text, weekday)
}

/// A month or month range as 1 = January .. 12.
pub fn months(text: &str) -> Result<(u8, u8), RangeError> {
    range(text, month)
}

/// A year or year range, 1970..9999.
pub fn years(text: &str) -> Result<(i32, i32), RangeError> {
    range(text, year)
}

/// A day or range of days of the month; negative days count from the end.
pub fn days_of_month(text: &str) -> Result<(i8, i8), DaysError> {
    let day = |s: &str| -> Option<i8> {
        s.parse::<i8>()
            .ok()
            .filter(|d| *d != 0 && (-31..=31).contains(d))
    };
    let (a, b) = text.split_once(':').unwrap_or((text, text));
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

/// The zone a window reads its calendar in: `""` and `UTC` are UTC, `Local`
/// the machine's zone, anything else an IANA name spelt as in the system's
/// tz database.
pub fn location(name: &str) -> Result<TimeZone, String> {
    match name {
        "" | "UTC" => return Ok(TimeZone::UTC),
        "Local" => return Ok(TimeZone::system()),
        _ => {}
    }
    let zone = TimeZone::get(name).map_err(|e| format!("unknown time zone: {e}"))?;
    // jiff finds names in any case; Alertmanager (Go on Linux) does not.
    match zone.iana_name() {
        Some(spelt) if spelt != name => Err(format!(
            "unknown time zone: the tz database spells it `{spelt}` (names are case-sensitive)"
        )),
        _ => Ok(zone),
    }
}

/// `a` or `a:b` with `a <= b`, each side read by `member`, in any case and
/// without blanks.
fn range<T: PartialOrd + Copy>(
    text: &str,
    member: fn(&str) -> Option<T>,
) -> Result<(T, T), RangeError> {
    let lower = text.to_ascii_lowercase();
    let (a, b) = lower.split_once(':').unwrap_or((&lower, &lower));
    match (member(a), member(b)) {
        (Some(a), Some(b)) if a <= b => Ok((a, b)),
        (Some(_), Some(_)) => Err(RangeError::Reversed),
        _ => Err(RangeError::NotAValue),
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

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

/// A lowercase weekday name as 0 = sunday .. 6 = saturday.
fn weekday(s: &str) -> Option<u8> {
    WEEKDAYS
        .iter()
        .position(|d| *d == s)
        .and_then(|p| u8::try_from(p).ok())
}

/// A lowercase month name or a number as 1 = january .. 12.
fn month(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return (1..=12).contains(&n).then_some(n);
    }
    MONTHS
        .iter()
        .position(|m| *m == s)
        .and_then(|p| u8::try_from(p + 1).ok())
}

fn year(s: &str) -> Option<i32> {
    s.parse::<i32>().ok().filter(|y| (1970..=9999).contains(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_alertmanager_reads_them() {
        assert_eq!(weekdays("Monday:FRIDAY"), Ok((1, 5)));
        assert_eq!(weekdays("sunday"), Ok((0, 0)));
        assert_eq!(weekdays("friday:monday"), Err(RangeError::Reversed));
        assert_eq!(weekdays("funday"), Err(RangeError::NotAValue));
        assert_eq!(
            weekdays("monday:tuesday:friday"),
            Err(RangeError::NotAValue)
        );
        assert_eq!(months("june:8"), Ok((6, 8)));
        assert_eq!(months("13"), Err(RangeError::NotAValue));
        assert_eq!(years("2026:2027"), Ok((2026, 2027)));
        assert_eq!(years("1969"), Err(RangeError::NotAValue));
        assert_eq!(years("2027:2026"), Err(RangeError::Reversed));
        assert_eq!(times("00:00-24:00"), Ok((0, 1440)));
        assert_eq!(times("09:30-17:00"), Ok((570, 1020)));
        assert_eq!(times("22:00-02:00"), Err(TimesError::Reversed));
        assert_eq!(times("10:00-10:00"), Err(TimesError::Reversed));
        assert_eq!(times("24:30-24:45"), Err(TimesError::NotATime));
        assert_eq!(times("09:00-17:0"), Err(TimesError::NotATime));
        assert_eq!(times("09:60-17:00"), Err(TimesError::NotATime));
        assert_eq!(days_of_month("1:-1"), Ok((1, -1)));
        assert_eq!(days_of_month("-7:-1"), Ok((-7, -1)));
        assert_eq!(days_of_month("-3:5"), Err(DaysError::NegativeStart));
        assert_eq!(days_of_month("0"), Err(DaysError::NotADay));
        assert_eq!(days_of_month("32"), Err(DaysError::NotADay));
        assert_eq!(days_of_month("-1:-3"), Err(DaysError::Empty));
        assert_eq!(days_of_month("30:-1"), Err(DaysError::Empty));
        assert!(location("Europe/Berlin").is_ok());
        assert!(location("Europe/Berlín").is_err());
    }

    /// The DSL read `9:00-17:00` while the importer, as Alertmanager,
    /// wanted two-digit hours: now both refuse a one-digit hour.
    #[test]
    fn a_time_of_day_has_two_digit_hours() {
        assert_eq!(time_of_day("09:00"), Some(540));
        assert_eq!(time_of_day("9:00"), None);
        assert_eq!(times("9:00-17:00"), Err(TimesError::NotATime));
        assert_eq!(time_of_day("+9:00"), None);
        assert_eq!(time_of_day("24:00"), Some(1440));
    }

    /// The DSL trimmed blanks inside a value while Alertmanager (and so the
    /// importer) refused them: now every caller refuses them.
    #[test]
    fn a_value_with_a_blank_is_refused() {
        assert_eq!(weekdays("monday : friday"), Err(RangeError::NotAValue));
        assert_eq!(weekdays(" monday"), Err(RangeError::NotAValue));
        assert_eq!(months("june :august"), Err(RangeError::NotAValue));
        assert_eq!(years("2026 "), Err(RangeError::NotAValue));
        assert_eq!(days_of_month("1: 7"), Err(DaysError::NotADay));
        assert_eq!(times("09:00 - 17:00"), Err(TimesError::NotATime));
    }

    /// Go's `time.LoadLocation` reads `""` as UTC.
    #[test]
    fn an_empty_location_is_utc() {
        assert_eq!(location(""), Ok(TimeZone::UTC));
        assert_eq!(location("UTC"), Ok(TimeZone::UTC));
        assert!(location("Local").is_ok());
    }

    /// jiff finds zone names in any case; Alertmanager on Linux reads the
    /// file of that exact name and refuses `europe/berlin`.
    #[test]
    fn a_zone_name_is_spelt_as_in_the_tz_database() {
        let e = location("europe/berlin").unwrap_err();
        assert!(e.contains("`Europe/Berlin`"), "{e}");
        assert!(location("utc").is_err());
        // Links and legacy names are spelt as their own files, not as the
        // zone they point to.
        for name in ["US/Pacific", "Asia/Calcutta", "GMT", "Etc/GMT+5"] {
            assert!(location(name).is_ok(), "{name}");
        }
    }
}
