//! Checks across the whole rule set (work in progress).
use crate::diag::Diagnostic;
use crate::model::RuleSet;

/// Cross-file checks: unknown datasources and receivers, duplicate rules.
pub fn check_rule_set(rules: &RuleSet, diags: &mut Vec<Diagnostic>) {
    let _ = (rules, diags);
}
