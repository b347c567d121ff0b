//! Lints for `rulecheck`: rules that load fine but will page people for the
//! wrong reasons, or fail to page them.
//!
//! Every lint has a stable id, a default level and a one-line summary in
//! [`LINTS`]; docs/lints.md explains each one with a bad and a fixed example.
//! Lints read only the validated model ([`Loaded::rules`]) and never change it.
//! A file turns lints off with a `# rulecheck disable=ID[,ID...]` comment
//! anywhere in it; [`LintOptions::disabled`] turns them off everywhere.

mod disable;
mod lints;
mod locate;
pub mod output;
mod promql;

pub use disable::{DisabledId, disabled_ids};

use std::collections::{HashMap, HashSet};

use crate::diag::{self, Diagnostic, FileId, Level, Span};
use crate::model::Loaded;
use crate::vocab::time::Duration;

/// One entry of the lint registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LintInfo {
    /// Stable id, used in output, in `--disable` and in disable comments.
    pub id: &'static str,
    /// The level its findings are reported at.
    pub level: Level,
    /// What it finds, in one line.
    pub summary: &'static str,
}

/// `promql/no-comparison`.
pub const NO_COMPARISON: &str = "promql/no-comparison";
/// `promql/rate-non-counter`.
pub const RATE_NON_COUNTER: &str = "promql/rate-non-counter";
/// `promql/short-range`.
pub const SHORT_RANGE: &str = "promql/short-range";
/// `promql/absent-short-for`.
pub const ABSENT_SHORT_FOR: &str = "promql/absent-short-for";
/// `alert/for-missing`.
pub const FOR_MISSING: &str = "alert/for-missing";
/// `alert/missing-summary`.
pub const MISSING_SUMMARY: &str = "alert/missing-summary";
/// `alert/missing-runbook`.
pub const MISSING_RUNBOOK: &str = "alert/missing-runbook";
/// `alert/value-in-label`.
pub const VALUE_IN_LABEL: &str = "alert/value-in-label";
/// `group/interval-too-long`.
pub const INTERVAL_TOO_LONG: &str = "group/interval-too-long";
/// `model/duplicate-rule` (its id predates the lint: it was a load error).
pub const DUPLICATE_RULE: &str = "model/duplicate-rule";
/// Code of the warning about an unknown id in a disable comment.
pub const UNKNOWN_LINT: &str = "rulecheck/unknown-lint";

/// Every lint `rulecheck` runs, in the order docs/lints.md lists them.
pub const LINTS: &[LintInfo] = &[
    LintInfo {
        id: NO_COMPARISON,
        level: Level::Warning,
        summary: "alert query has no comparison, so it fires for every series it returns",
    },
    LintInfo {
        id: RATE_NON_COUNTER,
        level: Level::Warning,
        summary: "rate(), irate() or increase() on a metric whose name is not a counter's",
    },
    LintInfo {
        id: SHORT_RANGE,
        level: Level::Warning,
        summary: "range shorter than twice the scrape interval, so it often holds fewer than two samples",
    },
    LintInfo {
        id: ABSENT_SHORT_FOR,
        level: Level::Warning,
        summary: "absent() alert with a `for` shorter than twice the scrape interval fires on every restart or missed scrape",
    },
    LintInfo {
        id: FOR_MISSING,
        level: Level::Warning,
        summary: "alert on a rate or a raw series threshold without `for` pages on a single evaluation",
    },
    LintInfo {
        id: MISSING_SUMMARY,
        level: Level::Warning,
        summary: "alert has no `summary` annotation, so notifications say nothing useful",
    },
    LintInfo {
        id: MISSING_RUNBOOK,
        level: Level::Info,
        summary: "alert has no runbook link (`runbook_url` or `runbook` annotation)",
    },
    LintInfo {
        id: VALUE_IN_LABEL,
        level: Level::Warning,
        summary: "alert label uses `$value`, so every new value is a new alert",
    },
    LintInfo {
        id: INTERVAL_TOO_LONG,
        level: Level::Warning,
        summary: "group evaluated less often than every 5m: slow alerts and recorded series that go stale",
    },
    LintInfo {
        id: DUPLICATE_RULE,
        level: Level::Warning,
        summary: "two rules in one file with the same name and labels (promtool's duplicate-rules lint)",
    },
];

/// Looks a lint up by id.
pub fn lint_info(id: &str) -> Option<&'static LintInfo> {
    LINTS.iter().find(|l| l.id == id)
}

/// A did-you-mean hint for an unknown lint id.
pub fn suggest_lint(id: &str) -> Option<String> {
    diag::suggest(id, LINTS.iter().map(|l| l.id))
}

/// Settings of a lint run; `Default` is what `rulecheck` uses without flags.
#[derive(Debug, Clone, PartialEq)]
pub struct LintOptions {
    /// How often Prometheus scrapes the metrics the rules read (default 30s);
    /// ranges and `for`s are judged against it.
    pub scrape_interval: Duration,
    /// Lint ids turned off for every file (`--disable`). Ids not in
    /// [`LINTS`] are ignored here; the CLI rejects them before.
    pub disabled: Vec<String>,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            scrape_interval: Duration::secs(30),
            disabled: Vec::new(),
        }
    }
}

/// Runs every lint with default options.
pub fn lint(loaded: &Loaded) -> Vec<Diagnostic> {
    lint_with(loaded, &LintOptions::default())
}

/// Runs every lint not disabled by `options` or by a comment in the file a
/// finding is in, plus a warning for every unknown id in a disable comment.
/// Sorted; does not include `loaded.diagnostics`.
pub fn lint_with(loaded: &Loaded, options: &LintOptions) -> Vec<Diagnostic> {
    let mut found = lints::run(&loaded.sources, &loaded.rules, options);

    let globally_off: HashSet<&str> = options.disabled.iter().map(String::as_str).collect();
    let mut off_in_file: HashMap<FileId, HashSet<String>> = HashMap::new();
    let mut unknown = Vec::new();
    for (file, source) in loaded.sources.files() {
        for disabled in disabled_ids(file, &source.text) {
            if lint_info(&disabled.id).is_none() {
                unknown.push(unknown_lint(&disabled.id, disabled.span));
            }
            off_in_file.entry(file).or_default().insert(disabled.id);
        }
    }
    found.retain(|d| {
        !globally_off.contains(d.code)
            && !off_in_file
                .get(&d.span.file)
                .is_some_and(|ids| ids.contains(d.code))
    });
    found.extend(unknown);
    diag::sort_dedup(&mut found);
    found
}

/// Everything `rulecheck` reports for a load: the loader's diagnostics
/// (syntax, validation) and the lints, sorted by file and position.
pub fn report(loaded: &Loaded, options: &LintOptions) -> Vec<Diagnostic> {
    let mut all = loaded.diagnostics.clone();
    all.extend(lint_with(loaded, options));
    diag::sort_dedup(&mut all);
    all
}

fn unknown_lint(id: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        UNKNOWN_LINT,
        span,
        format!("`{id}` is not a rulecheck lint; this disable comment does nothing"),
    )
    .with_label("unknown lint id")
    .with_hint(suggest_lint(id).or_else(|| {
        Some("run `rulecheck --list-lints` for the ids, or see docs/lints.md".to_string())
    }))
}

#[cfg(test)]
mod tests;
