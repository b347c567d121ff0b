//! `time_intervals` and `mute_time_intervals` to `time_window` blocks, one
//! per entry of a named interval (`name`, `name-2`, ...), each value read by
//! the one time-range parser ([`crate::vocab::time_range`]) and refused with
//! Alertmanager's wording.

use std::collections::{HashMap, HashSet};

use super::output::setting;
use super::schema::{TIME_ENTRY_FIELDS, TIME_INTERVAL_FIELDS, TIME_RANGE_FIELDS};
use super::{Converter, unspanned};
use crate::diag::{Diagnostic, Span};
use crate::lang::ast::{self, Value};
use crate::model::yaml::{Node, NodeValue};
use crate::vocab::time_range::{self, DaysError, RangeError};

impl Converter<'_> {
    /// One named interval: a window per entry, named later.
    pub(super) fn time_interval(
        &mut self,
        node: &Node,
        list: &str,
        names: &mut HashMap<String, Span>,
    ) -> Vec<PendingWindow> {
        let what = format!("an entry of `{list}`");
        let f = self.fields(node, &what, TIME_INTERVAL_FIELDS);
        let Some(name) = self.field_text(&f, "name", &what) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} needs a `name`"),
            );
            return Vec::new();
        };
        if let Some(first) = names.get(&name.value) {
            let d = Diagnostic::error(
                "am/duplicate-name",
                name.span,
                format!("time interval `{}` is defined twice", name.value),
            )
            .with_related(*first, "first defined here");
            self.diags.push(d);
            return Vec::new();
        }
        names.insert(name.value.clone(), name.span);
        let mut comments = Vec::new();
        if list == "mute_time_intervals" {
            comments.push(format!(
                " from mute_time_intervals `{}` (deprecated in Alertmanager; same meaning)",
                name.value
            ));
        }
        let entries = match f.get("time_intervals") {
            Some(e) => self.seq(e, &format!("`time_intervals` of `{}`", name.value)),
            None => &[],
        };
        let mut out = Vec::new();
        for entry in entries {
            if let Some(settings) = self.time_entry(entry, &name.value, &mut comments) {
                out.push(PendingWindow {
                    am_name: name.value.clone(),
                    block: ast::TimeWindow {
                        comments: Vec::new(),
                        name: unspanned(name.value.clone()),
                        settings,
                        span: Span::default(),
                    },
                });
            }
        }
        if out.is_empty() {
            // No entry: Alertmanager never finds the time inside it.
            comments.push(format!(
                " klaxon import: `{}` has no time ranges in Alertmanager, so it is never active; a year long past stands for that",
                name.value
            ));
            out.push(PendingWindow {
                am_name: name.value.clone(),
                block: ast::TimeWindow {
                    comments: Vec::new(),
                    name: unspanned(name.value.clone()),
                    settings: vec![setting("years", vec![Value::Str("1970".into())])],
                    span: Span::default(),
                },
            });
        }
        if let Some(first) = out.first_mut() {
            first.block.comments = comments;
        }
        out
    }

    /// One entry of a time interval as `time_window` settings; `None` when
    /// Alertmanager would never match it (an explicitly empty list).
    pub(super) fn time_entry(
        &mut self,
        node: &Node,
        name: &str,
        comments: &mut Vec<String>,
    ) -> Option<Vec<ast::Setting>> {
        let what = format!("a time interval of `{name}`");
        let f = self.fields(node, &what, TIME_ENTRY_FIELDS);
        let mut settings = Vec::new();
        let mut never = false;
        if let Some(times) = f.get("times") {
            let mut values = Vec::new();
            for range in self.seq(times, &format!("`times` of {what}")) {
                let r = self.fields(range, "a time range", TIME_RANGE_FIELDS);
                let start = self.field_text(&r, "start_time", "a time range");
                let end = self.field_text(&r, "end_time", "a time range");
                let (Some(start), Some(end)) = (start, end) else {
                    self.error(
                        "am/invalid-value",
                        range.span,
                        "a time range needs both `start_time` and `end_time`",
                    );
                    continue;
                };
                let (a, b) = (
                    time_range::time_of_day(&start.value),
                    time_range::time_of_day(&end.value),
                );
                match (a, b) {
                    (Some(a), Some(b)) => match time_range::time_span(a, b) {
                        Ok(_) => values.push(Value::Str(format!("{}-{}", start.value, end.value))),
                        Err(_) => {
                            self.error(
                                "am/invalid-value",
                                start.span,
                                "start time cannot be equal to or after the end time",
                            )
                            .hint = Some(
                                "to cross midnight, write two ranges: until 24:00 and from 00:00"
                                    .to_string(),
                            );
                        }
                    },
                    (a, _) => {
                        let bad = if a.is_none() { &start } else { &end };
                        self.error(
                            "am/invalid-value",
                            bad.span,
                            format!(
                                "`{}` is not a time like `09:00` (00:00 to 24:00)",
                                bad.value
                            ),
                        );
                    }
                }
            }
            never |= is_empty_list(times);
            if !values.is_empty() {
                settings.push(setting("times", values));
            }
        }
        for (field, check) in [
            ("weekdays", check_weekdays as fn(&str) -> Result<(), String>),
            ("days_of_month", check_days_of_month),
            ("months", check_months),
            ("years", check_years),
        ] {
            let Some(list) = f.get(field) else { continue };
            let values = self.list(list, &format!("`{field}` of {what}"));
            let mut out = Vec::new();
            for v in values {
                match check(&v.value) {
                    Ok(()) => out.push(Value::Str(v.value)),
                    Err(e) => {
                        self.error("am/invalid-value", v.span, format!("`{}`: {e}", v.value));
                    }
                }
            }
            never |= is_empty_list(list);
            if !out.is_empty() {
                settings.push(setting(field, out));
            }
        }
        if let Some(loc) = self.field_text(&f, "location", &what) {
            match time_range::location(&loc.value) {
                Ok(_) => settings.push(setting("location", vec![Value::Str(loc.value)])),
                Err(_) => {
                    self.error(
                        "am/invalid-value",
                        loc.span,
                        format!("unknown time zone `{}`", loc.value),
                    )
                    .hint = Some("use an IANA name such as `Europe/Berlin`, or `UTC`".to_string());
                }
            }
        }
        if never {
            self.stats.not_converted += 1;
            comments.push(format!(
                " klaxon import: an entry of `{name}` ({}) has an empty list, which Alertmanager never matches; left out",
                self.at(node.span)
            ));
            self.diags.push(
                Diagnostic::warning(
                    "am/never-matches",
                    node.span,
                    format!("this time interval of `{name}` has an empty list, so Alertmanager never matches it"),
                )
                .with_label("never matches")
                .with_hint("leave a field out to match every value".to_string()),
            );
            return None;
        }
        Some(settings)
    }

    /// Gives each pending window its DSL name: the Alertmanager name for the
    /// first entry, `name-2`, `name-3`... for the others (skipping names
    /// taken), and records which windows each Alertmanager name became.
    pub(super) fn name_windows(&mut self, windows: &mut [PendingWindow]) {
        let mut taken: HashSet<String> = windows.iter().map(|w| w.am_name.clone()).collect();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for w in windows.iter_mut() {
            let n = counts.entry(w.am_name.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 {
                w.am_name.clone()
            } else {
                let mut k = *n;
                let mut candidate = format!("{}-{k}", w.am_name);
                while taken.contains(&candidate) {
                    k += 1;
                    candidate = format!("{}-{k}", w.am_name);
                }
                taken.insert(candidate.clone());
                candidate
            };
            w.block.name = unspanned(name.clone());
            self.windows
                .entry(w.am_name.clone())
                .or_default()
                .push(name);
        }
        for w in windows.iter_mut() {
            if let Some(names) = self.windows.get(&w.am_name).filter(|n| n.len() > 1)
                && w.block.name.node == w.am_name
            {
                {
                    w.block.comments.push(format!(
                        " Alertmanager's `{}` has {} time ranges: time windows {}",
                        w.am_name,
                        names.len(),
                        names.join(", ")
                    ));
                }
            }
        }
    }
}

/// `[]`: in Alertmanager a time field given as an empty list matches nothing.
fn is_empty_list(node: &Node) -> bool {
    matches!(&node.value, NodeValue::Seq(items) if items.is_empty())
}

/// A `time_window` block waiting for its final name.
pub(super) struct PendingWindow {
    pub(super) am_name: String,
    pub(super) block: ast::TimeWindow,
}

// Ranges are read by the one time-range parser, so what is converted
// loads; the messages speak of days, months and years as Alertmanager's do.

fn check_weekdays(text: &str) -> Result<(), String> {
    time_range::weekdays(text)
        .map(|_| ())
        .map_err(|e| match e {
            RangeError::NotAValue => "not a weekday (sunday..saturday) or a range of them",
            RangeError::Reversed => {
                "the start day is after the end day (a week runs sunday to saturday)"
            }
        })
        .map_err(String::from)
}

fn check_days_of_month(text: &str) -> Result<(), String> {
    time_range::days_of_month(text)
        .map(|_| ())
        .map_err(|e| match e {
            DaysError::NotADay => {
                "not a day of the month (1..31, or -31..-1 from the end) or a range of them"
            }
            DaysError::NegativeStart => "the end day must be negative when the start day is",
            DaysError::Empty => "the end day is always before the start day",
        })
        .map_err(String::from)
}

fn check_months(text: &str) -> Result<(), String> {
    time_range::months(text)
        .map(|_| ())
        .map_err(|e| match e {
            RangeError::NotAValue => "not a month (january..december or 1..12) or a range of them",
            RangeError::Reversed => "the end month is before the start month",
        })
        .map_err(String::from)
}

fn check_years(text: &str) -> Result<(), String> {
    time_range::years(text)
        .map(|_| ())
        .map_err(|e| match e {
            RangeError::NotAValue => "not a year (1970..9999 here) or a range of years",
            RangeError::Reversed => "the end year is before the start year",
        })
        .map_err(String::from)
}
