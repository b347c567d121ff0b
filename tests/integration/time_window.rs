//! `time_window` semantics (Alertmanager's `time_intervals`): windows are
//! loaded from DSL text as users write them, compiled, and probed at
//! instants on both sides of every boundary — time of day, weekday, month
//! and year edges, DST changes in Europe/Berlin, Feb 29 and negative days.

use klaxon::model::load::load_sources;
use klaxon::notify::time_window::TimeWindows;

/// Loads DSL text that must have no errors and compiles its windows.
fn windows(text: &str) -> TimeWindows {
    let loaded = load_sources(&[("windows.rules", text)]);
    assert!(
        !loaded.has_errors(),
        "{:#?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| d.render(&loaded.sources))
            .collect::<Vec<_>>()
    );
    TimeWindows::compile(&loaded.rules.time_windows).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Milliseconds since the epoch of an RFC 3339 instant.
fn ms(instant: &str) -> i64 {
    instant
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{instant}: {e}"))
        .as_millisecond()
}

/// Checks `(instant, expected)` rows against one window, reporting every
/// row that disagrees at once.
fn check(w: &TimeWindows, name: &str, rows: &[(&str, bool)]) {
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(at, expected)| w.contains(name, ms(at)) != *expected)
        .map(|(at, expected)| format!("{name} at {at}: expected {expected}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn business_hours_in_berlin_follow_local_time_across_the_dst_change() {
    let w = windows(
        r#"time_window business-hours {
             times "09:00-17:00"
             weekdays "monday:friday"
             location "Europe/Berlin"
           }"#,
    );
    check(
        &w,
        "business-hours",
        &[
            // Friday 27 March 2026, CET (+01:00).
            ("2026-03-27T08:59:59+01:00", false),
            ("2026-03-27T09:00:00+01:00", true),
            ("2026-03-27T16:59:59+01:00", true),
            ("2026-03-27T17:00:00+01:00", false),
            // Saturday.
            ("2026-03-28T12:00:00+01:00", false),
            // Monday 30 March, now CEST (+02:00): 09:00 local is 07:00Z.
            ("2026-03-30T06:59:59Z", false),
            ("2026-03-30T07:00:00Z", true),
            ("2026-03-30T14:59:59Z", true),
            ("2026-03-30T15:00:00Z", false),
            // Monday 5 January, CET: 09:00 local is 08:00Z.
            ("2026-01-05T07:59:59Z", false),
            ("2026-01-05T08:00:00Z", true),
        ],
    );
}

#[test]
fn a_skipped_dst_hour_never_holds_and_a_repeated_one_holds_twice() {
    let w = windows(r#"time_window two-am { times "02:00-03:00"  location "Europe/Berlin" }"#);
    check(
        &w,
        "two-am",
        &[
            // The day before: 02:30 CET.
            ("2026-03-28T01:30:00Z", true),
            // 29 March 2026: 02:00 CET jumps to 03:00 CEST at 01:00Z.
            ("2026-03-29T00:59:59Z", false), // 01:59:59 CET
            ("2026-03-29T01:00:00Z", false), // 03:00:00 CEST
            // 25 October 2026: 03:00 CEST falls back to 02:00 CET at 01:00Z,
            // so 02:00-03:00 local happens twice.
            ("2026-10-24T23:59:59Z", false), // 01:59:59 CEST
            ("2026-10-25T00:00:00Z", true),  // 02:00 CEST
            ("2026-10-25T00:59:59Z", true),  // 02:59:59 CEST
            ("2026-10-25T01:00:00Z", true),  // 02:00 CET, again
            ("2026-10-25T01:59:59Z", true),  // 02:59:59 CET
            ("2026-10-25T02:00:00Z", false), // 03:00 CET
        ],
    );
}

#[test]
fn the_end_is_exclusive_and_24_00_ends_the_day() {
    let w = windows(
        r#"time_window late { times "22:00-24:00" }
           time_window night { times "22:00-24:00", "00:00-06:00" }"#,
    );
    check(
        &w,
        "late",
        &[
            ("2026-06-01T21:59:59Z", false),
            ("2026-06-01T22:00:00Z", true),
            ("2026-06-01T23:59:59.999Z", true),
            ("2026-06-02T00:00:00Z", false),
        ],
    );
    check(
        &w,
        "night",
        &[
            ("2026-06-01T23:59:59Z", true),
            ("2026-06-02T00:00:00Z", true),
            ("2026-06-02T05:59:59Z", true),
            ("2026-06-02T06:00:00Z", false),
            ("2026-06-02T12:00:00Z", false),
        ],
    );
}

#[test]
fn february_29_and_the_last_day_of_the_month() {
    let w = windows(
        r#"time_window leap-day { months "february"  days_of_month "29" }
           time_window last-day { days_of_month "-1" }
           time_window last-week { days_of_month "-7:-1" }
           time_window whole-month { days_of_month "1:31"  months "2" }
           time_window late-days { days_of_month "30:31" }"#,
    );
    check(
        &w,
        "leap-day",
        &[
            ("2028-02-28T23:59:59Z", false),
            ("2028-02-29T00:00:00Z", true),
            ("2028-02-29T23:59:59Z", true),
            ("2028-03-01T00:00:00Z", false),
            ("2027-02-28T12:00:00Z", false),
            ("2027-03-29T12:00:00Z", false),
        ],
    );
    check(
        &w,
        "last-day",
        &[
            ("2028-02-28T12:00:00Z", false),
            ("2028-02-29T12:00:00Z", true),
            ("2027-02-28T12:00:00Z", true),
            ("2026-04-30T12:00:00Z", true),
            ("2026-04-29T23:59:59Z", false),
            ("2026-12-31T23:59:59Z", true),
            ("2026-12-30T23:59:59Z", false),
        ],
    );
    check(
        &w,
        "last-week",
        &[
            ("2027-02-21T23:59:59Z", false),
            ("2027-02-22T00:00:00Z", true),
            ("2026-01-24T12:00:00Z", false),
            ("2026-01-25T12:00:00Z", true),
        ],
    );
    // `1:31` in February is clamped to the month's last day.
    check(
        &w,
        "whole-month",
        &[
            ("2027-02-01T00:00:00Z", true),
            ("2027-02-28T23:59:59Z", true),
            ("2027-03-01T00:00:00Z", false),
        ],
    );
    // A range that starts after the month's end holds on no day of it.
    check(
        &w,
        "late-days",
        &[
            ("2027-02-28T12:00:00Z", false),
            ("2027-03-30T12:00:00Z", true),
            ("2027-04-30T12:00:00Z", true),
        ],
    );
}

#[test]
fn the_last_day_of_a_dst_month_is_a_calendar_day() {
    // March in Berlin is 743 hours long; Alertmanager 0.25 divided that by
    // 24 and took the 30th for `-1`. The last day is the 31st.
    let w = windows(r#"time_window eom { days_of_month "-1"  location "Europe/Berlin" }"#);
    check(
        &w,
        "eom",
        &[
            ("2026-03-30T12:00:00+02:00", false),
            ("2026-03-31T00:00:00+02:00", true),
            ("2026-03-31T23:59:59+02:00", true),
            ("2026-03-31T22:00:00Z", false), // 1 April, 00:00 CEST
        ],
    );
}

#[test]
fn weekdays_months_and_years_are_read_in_the_location() {
    let w = windows(
        r#"time_window weekend-tokyo { weekdays "saturday", "Sunday"  location "Asia/Tokyo" }
           time_window summer { months "june:August" }
           time_window ny-years { years "2026:2027"  location "America/New_York" }"#,
    );
    check(
        &w,
        "weekend-tokyo",
        &[
            ("2026-03-27T14:59:59Z", false), // Friday 23:59:59 JST
            ("2026-03-27T15:00:00Z", true),  // Saturday 00:00 JST
            ("2026-03-29T14:59:59Z", true),  // Sunday 23:59:59 JST
            ("2026-03-29T15:00:00Z", false), // Monday 00:00 JST
        ],
    );
    check(
        &w,
        "summer",
        &[
            ("2026-05-31T23:59:59Z", false),
            ("2026-06-01T00:00:00Z", true),
            ("2026-08-31T23:59:59Z", true),
            ("2026-09-01T00:00:00Z", false),
        ],
    );
    check(
        &w,
        "ny-years",
        &[
            ("2026-01-01T04:59:59Z", false), // 2025-12-31 23:59:59 EST
            ("2026-01-01T05:00:00Z", true),
            ("2028-01-01T04:59:59Z", true), // 2027-12-31 23:59:59 EST
            ("2028-01-01T05:00:00Z", false),
        ],
    );
}

#[test]
fn every_setting_must_hold_and_an_empty_window_always_holds() {
    let w = windows(
        r#"time_window maintenance {
             weekdays "sunday"
             times "02:00-04:00"
             days_of_month "1:7"
             months "january:december"
             years "2026"
           }
           time_window always {}"#,
    );
    check(
        &w,
        "maintenance",
        &[
            ("2026-03-01T03:00:00Z", true),  // first Sunday of March
            ("2026-03-08T03:00:00Z", false), // second Sunday: day 8
            ("2026-03-02T03:00:00Z", false), // a Monday
            ("2026-03-01T04:00:00Z", false), // end of the time range
            ("2027-08-01T03:00:00Z", false), // a first Sunday, in 2027
        ],
    );
    check(
        &w,
        "always",
        &[
            ("1999-12-31T23:59:59Z", true),
            ("2026-06-15T12:00:00Z", true),
        ],
    );
}

#[test]
fn unknown_names_hold_nothing_and_any_contains_takes_any_window() {
    let w = windows(
        r#"time_window mornings { times "06:00-12:00" }
           time_window evenings { times "18:00-22:00" }"#,
    );
    let noon = ms("2026-06-01T12:00:00Z");
    let evening = ms("2026-06-01T19:00:00Z");
    assert!(!w.contains("afternoons", evening));
    let both = vec!["mornings".to_string(), "evenings".to_string()];
    assert!(w.any_contains(&both, evening));
    assert!(!w.any_contains(&both, noon));
    assert!(!w.any_contains(&[], evening));
    assert!(!w.any_contains(&["nope".to_string()], evening));
}

/// Issue 13: these were accepted by the loader (so by `rulecheck`) and
/// refused only when `serve` built the windows; the loader now refuses them
/// with the same messages, at each value.
#[test]
fn settings_alertmanager_refuses_are_load_and_compile_errors_naming_the_window() {
    let loaded = load_sources(&[(
        "bad.rules",
        r#"time_window wrap { weekdays "friday:monday" }
           time_window mars { location "Mars/Olympus_Mons" }
           time_window days { days_of_month "-3:5", "-1:-3" }
           time_window fine { times "09:00-10:00" }"#,
    )]);
    let at_load: Vec<(String, String)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.short(&loaded.sources), d.message.clone()))
        .collect();
    assert_eq!(at_load.len(), 4, "{at_load:#?}");
    for ((place, _), expected) in at_load.iter().zip(["1:29", "2:40", "3:45", "3:53"]) {
        assert!(
            place.starts_with(&format!("bad.rules:{expected}: error[model/time-window]")),
            "{place}"
        );
    }
    let errors = TimeWindows::compile(&loaded.rules.time_windows)
        .err()
        .unwrap_or_default();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(errors[0].starts_with("time_window `wrap`: weekdays `friday:monday`: the start"));
    assert!(
        errors[1]
            .starts_with("time_window `mars`: location `Mars/Olympus_Mons`: unknown time zone")
    );
    assert!(
        errors[2].starts_with("time_window `days`: days_of_month `-3:5`: the end must be negative")
    );
    assert!(
        errors[3]
            .starts_with("time_window `days`: days_of_month `-1:-3`: the end is always before")
    );
    let messages: Vec<&String> = at_load.iter().map(|(_, m)| m).collect();
    assert_eq!(messages, errors.iter().collect::<Vec<_>>());
}

/// Issue 13, one time-range parser: the DSL read a one-digit hour, trimmed
/// blanks inside a value and found zone names in any case, where
/// Alertmanager (and so `klaxon import alertmanager`) refuses all three.
#[test]
fn values_alertmanager_refuses_are_refused_at_their_place() {
    let loaded = load_sources(&[(
        "bad.rules",
        "time_window hours { times \"9:00-17:00\" }\n\
         time_window blank { weekdays \"monday : friday\" }\n\
         time_window zone { location \"europe/berlin\" }\n",
    )]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.short(&loaded.sources), d.message))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    for (error, expected) in errors.iter().zip([
        "bad.rules:1:27: error[model/time-window]",
        "bad.rules:2:30: error[model/time-window]",
        "bad.rules:3:29: error[model/time-window]",
    ]) {
        assert!(error.starts_with(expected), "{error}");
    }
    assert!(errors[0].contains("times `9:00-17:00`: not a time range like `09:00-17:00`"));
    assert!(errors[1].contains("weekdays `monday : friday`: not a valid value"));
    assert!(errors[2].contains("the tz database spells it `Europe/Berlin`"));
}
