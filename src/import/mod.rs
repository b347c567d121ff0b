//! Converters from other formats into the klaxon DSL.
//!
//! A converter reads its input with the same loader klaxon uses to run it,
//! refuses input that does not load cleanly, builds a DSL syntax tree and
//! prints it with the canonical formatter, so its output is always formatted
//! and parses back. `klaxon import` is the command-line face of this module.

pub mod alertmanager;
pub mod prometheus;

pub use alertmanager::alertmanager_to_dsl;
pub use prometheus::prometheus_to_dsl;

use crate::diag::{Diagnostic, Level, SourceMap};

/// What a conversion produced: the DSL text, the counts worth telling the
/// user, and any warnings the loader raised on the input.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The DSL text, in canonical layout.
    pub dsl: String,
    /// How much was converted, and how.
    pub stats: ImportStats,
    /// Names of the groups written, in order (to spot clashes when several
    /// inputs are joined into one file).
    pub group_names: Vec<String>,
    /// The input, to render [`Imported::warnings`] against.
    pub sources: SourceMap,
    /// Warnings and notes on the input (never errors: those refuse the import).
    pub warnings: Vec<Diagnostic>,
}

/// Counts of what a conversion did, for the summary line and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Rule groups converted.
    pub groups: usize,
    /// Alerting rules converted.
    pub alerts: usize,
    /// Recording rules converted.
    pub records: usize,
    /// Alerts whose `expr OP NUMBER` became `query` plus `LEVEL when value OP NUMBER`.
    pub thresholds_extracted: usize,
    /// Alerts whose expression stayed whole, with `LEVEL when present`.
    pub kept_whole: usize,
}

impl ImportStats {
    /// Adds another file's counts to these.
    pub fn add(&mut self, other: ImportStats) {
        self.groups += other.groups;
        self.alerts += other.alerts;
        self.records += other.records;
        self.thresholds_extracted += other.thresholds_extracted;
        self.kept_whole += other.kept_whole;
    }
}

/// Why a conversion produced nothing: the input's diagnostics, with the
/// sources needed to show them with line, column and a caret.
#[derive(Debug, Clone)]
pub struct ImportFailure {
    /// The input.
    pub sources: SourceMap,
    /// Every diagnostic on the input; at least one is an error.
    pub diagnostics: Vec<Diagnostic>,
}

impl ImportFailure {
    /// Every diagnostic rendered for people, errors and warnings alike.
    pub fn render(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.sources))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// How many of the diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }
}
