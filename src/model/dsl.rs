//! Lowering of the DSL syntax tree into the model (work in progress).
use crate::diag::{Diagnostic, FileId};
use crate::lang::ast;
use crate::model::RuleSet;

/// Adds one parsed DSL file to the rule set, reporting semantic errors.
pub fn lower(file: FileId, ast: &ast::File, rules: &mut RuleSet, diags: &mut Vec<Diagnostic>) {
    let _ = (file, ast, rules, diags);
}
