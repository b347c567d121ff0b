//! Lints for `rulecheck` (work in progress).
