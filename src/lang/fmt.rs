//! Canonical printer for the DSL syntax tree (work in progress).
use crate::lang::ast;

/// Prints a file in canonical layout.
pub fn format_file(file: &ast::File) -> String {
    let _ = file;
    String::new()
}
