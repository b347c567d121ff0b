//! `time_window NAME { ... }`: the settings and the validated window.
//!
//! Each value is read by the one parser of Alertmanager's time-interval
//! syntax ([`crate::vocab::time_range`], shared with the importer); this
//! file gives its errors their place in the file. Checking `location` reads
//! the system's time zone database, the one file read validation allows
//! itself: `rulecheck` and `serve` on one machine see the same zones.
//!
//! Values must be written in the file: a window is not a secret.

use jiff::tz::TimeZone;

use super::{Block, Component, Kind, SettingSpec, spec};
use crate::diag::Diagnostic;
use crate::vocab::time_range;

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
                let crate::vocab::secret::SecretValue::Literal(text) = &v.value else {
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
                    "times" => time_range::times(text)
                        .map(|r| window.times.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "weekdays" => time_range::weekdays(text)
                        .map(|r| window.weekdays.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "days_of_month" => time_range::days_of_month(text)
                        .map(|r| window.days_of_month.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "months" => time_range::months(text)
                        .map(|r| window.months.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    "years" => time_range::years(text)
                        .map(|r| window.years.get_or_insert_with(Vec::new).push(r))
                        .map_err(|e| e.to_string()),
                    // A second `location` value is refused by the DSL.
                    "location" => time_range::location(text).map(|z| window.location = z),
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
