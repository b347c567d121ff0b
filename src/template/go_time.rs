//! Go's `time` package as templates meet it: `time.Time` (always UTC here)
//! with `Format`, `String` and its calendar fields, and the `String` of
//! `time.Month`, `time.Weekday` and `time.Duration`. Like the rest of the
//! Go ports beside it, it follows Go 1.19's sources function by function,
//! so `toTime`, `humanizeTimestamp` and time methods print what
//! Prometheus prints.

use std::fmt::Write as _;

/// A UTC `time.Time` (every time a Prometheus template makes is UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GoTime {
    pub(super) unix: i64,
    pub(super) nanos: u32,
}

impl GoTime {
    pub(super) fn from_unix_nanos(total: i128) -> GoTime {
        let unix = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000);
        GoTime {
            unix: i64::try_from(unix).unwrap_or(if unix < 0 { i64::MIN } else { i64::MAX }),
            nanos: u32::try_from(nanos).unwrap_or(0),
        }
    }

    pub(super) fn total_nanos(&self) -> i128 {
        i128::from(self.unix) * 1_000_000_000 + i128::from(self.nanos)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `time.Month.String`.
pub(super) fn month_string(m: i64) -> String {
    usize::try_from(m - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .map_or_else(|| format!("%!Month({m})"), |s| (*s).to_string())
}

/// `time.Weekday.String`.
pub(super) fn weekday_string(d: i64) -> String {
    usize::try_from(d)
        .ok()
        .and_then(|i| WEEKDAYS.get(i))
        .map_or_else(|| format!("%!Weekday({d})"), |s| (*s).to_string())
}

/// `time.Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(super) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out: Vec<u8> = Vec::new();
    // Built right to left, as Go does.
    fn frac(out: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
        let mut print = false;
        for _ in 0..prec {
            let digit = (v % 10) as u8;
            print = print || digit != 0;
            if print {
                out.push(b'0' + digit);
            }
            v /= 10;
        }
        if print {
            out.push(b'.');
        }
        v
    }
    fn int(out: &mut Vec<u8>, mut v: u64) {
        if v == 0 {
            out.push(b'0');
            return;
        }
        while v > 0 {
            out.push(b'0' + (v % 10) as u8);
            v /= 10;
        }
    }
    if u < 1_000_000_000 {
        let prec;
        out.push(b's');
        if u == 0 {
            return "0s".to_string();
        } else if u < 1_000 {
            prec = 0;
            out.push(b'n');
        } else if u < 1_000_000 {
            prec = 3;
            // "µ" reversed.
            out.push(0xb5);
            out.push(0xc2);
        } else {
            prec = 6;
            out.push(b'm');
        }
        u = frac(&mut out, u, prec);
        int(&mut out, u);
    } else {
        out.push(b's');
        u = frac(&mut out, u, 9);
        int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic
/// Gregorian (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Seconds from 0001-01-01 to 1970-01-01 (Go's `unixToInternal`).
const UNIX_TO_INTERNAL: i64 = 62_135_596_800;

impl GoTime {
    /// Calendar fields in UTC.
    pub(super) fn civil(&self) -> Civil {
        let days = self.unix.div_euclid(86_400);
        let secs = self.unix.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let before = cumulative
            .get(usize::try_from(month - 1).unwrap_or(0))
            .copied()
            .unwrap_or(0);
        let yday = before + day + i64::from(month > 2 && is_leap(year));
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
            nanos: i64::from(self.nanos),
            weekday: (days + 4).rem_euclid(7),
            yday,
        }
    }

    /// Go's internal `(wall, ext)` for a time without a monotonic reading.
    pub(super) fn internal(&self) -> (u64, i64) {
        (u64::from(self.nanos), self.unix + UNIX_TO_INTERNAL)
    }

    /// `time.Time.String`.
    pub(super) fn string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// `time.Time.GoString`.
    pub(super) fn go_string(&self) -> String {
        let c = self.civil();
        let month = month_string(c.month);
        format!(
            "time.Date({}, time.{month}, {}, {}, {}, {}, {}, time.UTC)",
            c.year, c.day, c.hour, c.minute, c.second, c.nanos
        )
    }

    /// `time.Time.Format` with Go's reference-time layout, in UTC.
    pub(super) fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(chunk) = chunk else { break };
            rest = suffix;
            match chunk {
                Std::Year => {
                    let y = c.year.rem_euclid(100);
                    let _ = write!(out, "{y:02}");
                }
                Std::LongYear => append_int(&mut out, c.year, 4),
                Std::Month => out.push_str(month_string(c.month).get(..3).unwrap_or("")),
                Std::LongMonth => out.push_str(&month_string(c.month)),
                Std::NumMonth => append_int(&mut out, c.month, 0),
                Std::ZeroMonth => append_int(&mut out, c.month, 2),
                Std::WeekDay => out.push_str(weekday_string(c.weekday).get(..3).unwrap_or("")),
                Std::LongWeekDay => out.push_str(&weekday_string(c.weekday)),
                Std::Day => append_int(&mut out, c.day, 0),
                Std::UnderDay => {
                    if c.day < 10 {
                        out.push(' ');
                    }
                    append_int(&mut out, c.day, 0);
                }
                Std::ZeroDay => append_int(&mut out, c.day, 2),
                Std::UnderYearDay => {
                    if c.yday < 100 {
                        out.push(' ');
                        if c.yday < 10 {
                            out.push(' ');
                        }
                    }
                    append_int(&mut out, c.yday, 0);
                }
                Std::ZeroYearDay => append_int(&mut out, c.yday, 3),
                Std::Hour => append_int(&mut out, c.hour, 2),
                Std::Hour12 => append_int(&mut out, twelve_hour(c.hour), 0),
                Std::ZeroHour12 => append_int(&mut out, twelve_hour(c.hour), 2),
                Std::Minute => append_int(&mut out, c.minute, 0),
                Std::ZeroMinute => append_int(&mut out, c.minute, 2),
                Std::Second => append_int(&mut out, c.second, 0),
                Std::ZeroSecond => append_int(&mut out, c.second, 2),
                Std::Pm => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Std::LowerPm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                Std::Iso8601 => out.push('Z'),
                Std::NumTz { colon, seconds } => {
                    out.push_str("+00");
                    if colon {
                        out.push(':');
                    }
                    out.push_str("00");
                    if seconds {
                        if colon {
                            out.push(':');
                        }
                        out.push_str("00");
                    }
                }
                Std::NumShortTz => out.push_str("+00"),
                Std::Tz => out.push_str("UTC"),
                Std::Frac {
                    digits,
                    trim,
                    separator,
                } => format_fraction(&mut out, c.nanos, digits, trim, separator),
            }
        }
        out
    }
}

/// Calendar fields of a [`GoTime`].
pub(super) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub nanos: i64,
    pub weekday: i64,
    pub yday: i64,
}

fn twelve_hour(hour: i64) -> i64 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

/// Go's `appendInt`: zero-padded to `width`, sign first.
fn append_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

fn format_fraction(out: &mut String, nanos: i64, digits: usize, trim: bool, separator: char) {
    let text = format!("{nanos:09}");
    let mut frac = text.get(..digits.min(9)).unwrap_or("").to_string();
    if trim {
        while frac.ends_with('0') {
            frac.pop();
        }
        if frac.is_empty() {
            return;
        }
    }
    out.push(separator);
    out.push_str(&frac);
}

/// Go's layout elements (`std*` constants) for the UTC-only formatter.
#[derive(Debug, Clone, Copy)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    LowerPm,
    Tz,
    /// `Z0700`-style: `Z` for UTC.
    Iso8601,
    NumTz {
        colon: bool,
        seconds: bool,
    },
    NumShortTz,
    Frac {
        digits: usize,
        trim: bool,
        separator: char,
    },
}

fn starts_with_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk` (1.19, whose layouts include `002` and `__2`):
/// the text before the first layout element, the element, and the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let split = |i: usize, std: Std, len: usize| {
        (
            layout.get(..i).unwrap_or(""),
            Some(std),
            layout.get(i + len..).unwrap_or(""),
        )
    };
    let starts = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    for i in 0..b.len() {
        let Some(&c) = b.get(i) else { break };
        match c {
            b'J' => {
                if starts(i, "January") {
                    return split(i, Std::LongMonth, 7);
                }
                if starts(i, "Jan") && !starts_with_lower(layout.get(i + 3..).unwrap_or("")) {
                    return split(i, Std::Month, 3);
                }
            }
            b'M' => {
                if starts(i, "Monday") {
                    return split(i, Std::LongWeekDay, 6);
                }
                if starts(i, "Mon") && !starts_with_lower(layout.get(i + 3..).unwrap_or("")) {
                    return split(i, Std::WeekDay, 3);
                }
                if starts(i, "MST") {
                    return split(i, Std::Tz, 3);
                }
            }
            b'0' => {
                if let Some(&d) = b.get(i + 1)
                    && (b'1'..=b'6').contains(&d)
                {
                    let std = match d {
                        b'1' => Std::ZeroMonth,
                        b'2' => Std::ZeroDay,
                        b'3' => Std::ZeroHour12,
                        b'4' => Std::ZeroMinute,
                        b'5' => Std::ZeroSecond,
                        _ => Std::Year,
                    };
                    return split(i, std, 2);
                }
                if starts(i, "002") {
                    return split(i, Std::ZeroYearDay, 3);
                }
            }
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    return split(i, Std::Hour, 2);
                }
                return split(i, Std::NumMonth, 1);
            }
            b'2' => {
                if starts(i, "2006") {
                    return split(i, Std::LongYear, 4);
                }
                return split(i, Std::Day, 1);
            }
            b'_' => {
                if b.get(i + 1) == Some(&b'2') {
                    if starts(i + 1, "2006") {
                        return (
                            layout.get(..i + 1).unwrap_or(""),
                            Some(Std::LongYear),
                            layout.get(i + 5..).unwrap_or(""),
                        );
                    }
                    return split(i, Std::UnderDay, 2);
                }
                if starts(i, "__2") {
                    return split(i, Std::UnderYearDay, 3);
                }
            }
            b'3' => return split(i, Std::Hour12, 1),
            b'4' => return split(i, Std::Minute, 1),
            b'5' => return split(i, Std::Second, 1),
            b'P' if b.get(i + 1) == Some(&b'M') => return split(i, Std::Pm, 2),
            b'p' if b.get(i + 1) == Some(&b'm') => return split(i, Std::LowerPm, 2),
            b'-' => {
                if starts(i, "-070000") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: false,
                            seconds: true,
                        },
                        7,
                    );
                }
                if starts(i, "-07:00:00") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: true,
                            seconds: true,
                        },
                        9,
                    );
                }
                if starts(i, "-0700") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: false,
                            seconds: false,
                        },
                        5,
                    );
                }
                if starts(i, "-07:00") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: true,
                            seconds: false,
                        },
                        6,
                    );
                }
                if starts(i, "-07") {
                    return split(i, Std::NumShortTz, 3);
                }
            }
            b'Z' => {
                for (pattern, len) in [
                    ("Z070000", 7),
                    ("Z07:00:00", 9),
                    ("Z0700", 5),
                    ("Z07:00", 6),
                    ("Z07", 3),
                ] {
                    if starts(i, pattern) {
                        return split(i, Std::Iso8601, len);
                    }
                }
            }
            b'.' | b',' => {
                if let Some(&d) = b.get(i + 1)
                    && (d == b'0' || d == b'9')
                {
                    let mut j = i + 1;
                    while b.get(j) == Some(&d) {
                        j += 1;
                    }
                    if !b.get(j).is_some_and(u8::is_ascii_digit) {
                        return split(
                            i,
                            Std::Frac {
                                digits: j - (i + 1),
                                trim: d == b'9',
                                separator: char::from(c),
                            },
                            j - i,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    (layout, None, "")
}
