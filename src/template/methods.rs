//! Methods a template can call on the values that have them: `time.Time`
//! (from `toTime`), `time.Duration`, and the `String` of `time.Month` and
//! `time.Weekday`, with the parameter types Go's `evalCall` checks.

use super::functions::{Param, Signature, sig};
use super::go_time::{GoTime, duration_string, month_string, weekday_string};
use super::value::{IntType, Value, str_value, string_arg};

/// Methods of the Go types that have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    TimeFormat,
    TimeString,
    TimeUnix,
    TimeUnixMilli,
    TimeUnixMicro,
    TimeUnixNano,
    TimeYear,
    TimeMonth,
    TimeDay,
    TimeHour,
    TimeMinute,
    TimeSecond,
    TimeNanosecond,
    TimeYearDay,
    TimeWeekday,
    TimeUtc,
    TimeIsZero,
    TimeBefore,
    TimeAfter,
    TimeEqual,
    TimeAdd,
    TimeSub,
    DurationString,
    DurationHours,
    DurationMinutes,
    DurationSeconds,
    DurationMilliseconds,
    DurationMicroseconds,
    DurationNanoseconds,
    NamedString,
}

impl Method {
    pub(super) fn lookup(receiver: &Value<'_>, name: &str) -> Option<Method> {
        use Method::*;
        Some(match receiver {
            Value::Time(..) => match name {
                "Format" => TimeFormat,
                "String" => TimeString,
                "Unix" => TimeUnix,
                "UnixMilli" => TimeUnixMilli,
                "UnixMicro" => TimeUnixMicro,
                "UnixNano" => TimeUnixNano,
                "Year" => TimeYear,
                "Month" => TimeMonth,
                "Day" => TimeDay,
                "Hour" => TimeHour,
                "Minute" => TimeMinute,
                "Second" => TimeSecond,
                "Nanosecond" => TimeNanosecond,
                "YearDay" => TimeYearDay,
                "Weekday" => TimeWeekday,
                // Every time a template makes is UTC; Local is taken as UTC.
                "UTC" | "Local" => TimeUtc,
                "IsZero" => TimeIsZero,
                "Before" => TimeBefore,
                "After" => TimeAfter,
                "Equal" => TimeEqual,
                "Add" => TimeAdd,
                "Sub" => TimeSub,
                _ => return None,
            },
            Value::Int(_, IntType::Duration) => match name {
                "String" => DurationString,
                "Hours" => DurationHours,
                "Minutes" => DurationMinutes,
                "Seconds" => DurationSeconds,
                "Milliseconds" => DurationMilliseconds,
                "Microseconds" => DurationMicroseconds,
                "Nanoseconds" => DurationNanoseconds,
                _ => return None,
            },
            Value::Int(_, IntType::Month | IntType::Weekday) if name == "String" => NamedString,
            _ => return None,
        })
    }

    pub(super) fn signature(self) -> Signature {
        use Method::*;
        match self {
            TimeFormat => sig(&[Param::String], None),
            TimeBefore | TimeAfter | TimeEqual | TimeSub => sig(&[Param::Time], None),
            TimeAdd => sig(&[Param::Duration], None),
            _ => sig(&[], None),
        }
    }
}

/// Calls `method` on `receiver` with arguments already converted to its
/// parameter types.
pub(super) fn call_method<'a>(
    method: Method,
    receiver: &Value<'a>,
    args: Vec<Value<'a>>,
) -> Result<Value<'a>, String> {
    use Method::*;
    let arg_time = |args: &[Value<'a>]| match args.first() {
        Some(Value::Time(t, _)) => *t,
        _ => GoTime { unix: 0, nanos: 0 },
    };
    if let Value::Int(d, IntType::Duration) = receiver {
        let d = *d;
        let hours = |unit: i64| (d / unit) as f64 + (d % unit) as f64 / unit as f64;
        return Ok(match method {
            DurationString => str_value(duration_string(d)),
            DurationHours => Value::Float(hours(3_600_000_000_000)),
            DurationMinutes => Value::Float(hours(60_000_000_000)),
            DurationSeconds => Value::Float(hours(1_000_000_000)),
            DurationMilliseconds => Value::Int(d / 1_000_000, IntType::Int64),
            DurationMicroseconds => Value::Int(d / 1_000, IntType::Int64),
            DurationNanoseconds => Value::Int(d, IntType::Int64),
            _ => Value::Invalid,
        });
    }
    if let Value::Int(v, kind) = receiver {
        return Ok(str_value(match kind {
            IntType::Weekday => weekday_string(*v),
            _ => month_string(*v),
        }));
    }
    let Value::Time(t, _) = receiver else {
        return Ok(Value::Invalid);
    };
    let civil = t.civil();
    let int = |v: i64| Value::Int(v, IntType::Int);
    Ok(match method {
        TimeFormat => {
            let layout = args.first().map(string_arg).unwrap_or("");
            str_value(t.format(layout))
        }
        TimeString => str_value(t.string()),
        TimeUnix => Value::Int(t.unix, IntType::Int64),
        TimeUnixMilli => Value::Int(
            t.unix
                .wrapping_mul(1000)
                .wrapping_add(i64::from(t.nanos / 1_000_000)),
            IntType::Int64,
        ),
        TimeUnixMicro => Value::Int(
            t.unix
                .wrapping_mul(1_000_000)
                .wrapping_add(i64::from(t.nanos / 1000)),
            IntType::Int64,
        ),
        TimeUnixNano => Value::Int(
            t.unix
                .wrapping_mul(1_000_000_000)
                .wrapping_add(i64::from(t.nanos)),
            IntType::Int64,
        ),
        TimeYear => int(civil.year),
        TimeMonth => Value::Int(civil.month, IntType::Month),
        TimeDay => int(civil.day),
        TimeHour => int(civil.hour),
        TimeMinute => int(civil.minute),
        TimeSecond => int(civil.second),
        TimeNanosecond => int(civil.nanos),
        TimeYearDay => int(civil.yday),
        TimeWeekday => Value::Int(civil.weekday, IntType::Weekday),
        TimeUtc => Value::Time(*t, false),
        TimeIsZero => Value::Bool(t.unix == -62_135_596_800 && t.nanos == 0),
        TimeBefore => Value::Bool(t.total_nanos() < arg_time(&args).total_nanos()),
        TimeAfter => Value::Bool(t.total_nanos() > arg_time(&args).total_nanos()),
        TimeEqual => Value::Bool(t.total_nanos() == arg_time(&args).total_nanos()),
        TimeAdd => {
            let d = match args.first() {
                Some(Value::Int(d, _)) => *d,
                _ => 0,
            };
            Value::Time(
                GoTime::from_unix_nanos(t.total_nanos() + i128::from(d)),
                false,
            )
        }
        TimeSub => {
            let diff = t.total_nanos() - arg_time(&args).total_nanos();
            let clamped = diff.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
            Value::Int(i64::try_from(clamped).unwrap_or(0), IntType::Duration)
        }
        _ => Value::Invalid,
    })
}
