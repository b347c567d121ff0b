//! PromQL syntax checking with positions mapped into the rule file (work in progress).
use crate::diag::{Diagnostic, Span};

/// Parses a PromQL expression; on error, a diagnostic pointing into `span`.
pub fn parse(expr: &str, span: Span) -> Result<promql_parser::parser::Expr, Diagnostic> {
    promql_parser::parser::parse(expr)
        .map_err(|e| Diagnostic::error("promql/syntax", span, format!("invalid PromQL: {e}")))
}
