//! PromQL syntax checking with positions mapped into the rule file.
//!
//! Expressions are parsed with `promql-parser`, whose errors carry no
//! position and, for grammar errors, no detail ("invalid promql query").
//! When it rejects an expression, a small recogniser of the same grammar
//! ([`locate()`]) runs over the text to find where it goes wrong and what was
//! expected there, including the type errors people actually make (`rate`
//! of an instant vector, a range vector compared with a number, unquoted
//! label values). If the recogniser finds nothing, the parser's own message
//! is reported on the whole expression.

mod grammar;
mod lex;
mod locate;

pub use locate::locate;

use crate::diag::{Diagnostic, Span};

/// One compiled regex per pattern, for the parsed queries of one file.
///
/// `promql-parser` compiles every `=~`/`!~` matcher's regex into the tree
/// (about 7.5 KB each); a file's queries repeat the same few patterns, and
/// a clone of a compiled regex shares its program (about 1.6 KB). Dropped
/// with the loader, so nothing outlives the load.
#[derive(Default)]
pub struct SharedRegexes(std::collections::HashMap<String, regex::Regex>);

impl SharedRegexes {
    /// Replaces every regex matcher's regex in `expr` by the one already
    /// kept for its pattern, keeping the first of each.
    pub fn share(&mut self, expr: &mut promql_parser::parser::Expr) {
        use promql_parser::parser::Expr;
        match expr {
            Expr::Aggregate(a) => {
                self.share(&mut a.expr);
                if let Some(p) = a.param.as_mut() {
                    self.share(p);
                }
            }
            Expr::Unary(u) => self.share(&mut u.expr),
            Expr::Binary(b) => {
                self.share(&mut b.lhs);
                self.share(&mut b.rhs);
            }
            Expr::Paren(p) => self.share(&mut p.expr),
            Expr::Subquery(q) => self.share(&mut q.expr),
            Expr::Call(c) => {
                for arg in &mut c.args.args {
                    self.share(arg);
                }
            }
            Expr::VectorSelector(vs) => self.share_matchers(&mut vs.matchers),
            Expr::MatrixSelector(ms) => self.share_matchers(&mut ms.vs.matchers),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }

    fn share_matchers(&mut self, matchers: &mut promql_parser::label::Matchers) {
        use promql_parser::label::MatchOp;
        let all = matchers
            .matchers
            .iter_mut()
            .chain(matchers.or_matchers.iter_mut().flatten());
        for m in all {
            if let MatchOp::Re(re) | MatchOp::NotRe(re) = &mut m.op {
                match self.0.get(re.as_str()) {
                    Some(kept) => *re = kept.clone(),
                    None => {
                        self.0.insert(re.as_str().to_string(), re.clone());
                    }
                }
            }
        }
    }
}

/// Parses a PromQL expression written at `span` (its first byte is
/// `span.start`, and the text is taken to be written there verbatim); on
/// error, a `promql/syntax` diagnostic pointing into that span.
#[allow(clippy::result_large_err)] // the signature is shared with the DSL front end
pub fn parse(expr: &str, span: Span) -> Result<promql_parser::parser::Expr, Diagnostic> {
    parse_mapped(expr, |offset| {
        let at = span.start + offset.min(expr.len());
        Span::new(span.file, at, at)
    })
    .map_err(|d| *d)
}

/// Parses a PromQL expression whose bytes are not contiguous in the file (a
/// YAML string with escapes or folded lines): `map` turns a byte offset in
/// `expr` (up to and including `expr.len()`) into a point in the file.
pub fn parse_mapped(
    expr: &str,
    map: impl Fn(usize) -> Span,
) -> Result<promql_parser::parser::Expr, Box<Diagnostic>> {
    let parser_message = match nesting_depth(expr) {
        depth if depth > MAX_NESTING => format!(
            "expression nested too deeply ({depth} levels of brackets; at most {MAX_NESTING} are accepted)"
        ),
        _ => match promql_parser::parser::parse(expr) {
            Ok(ast) => return Ok(ast),
            Err(message) => message,
        },
    };
    let to_span = |start: usize, end: usize| {
        let s = map(start);
        let e = map(end.max(start));
        if e.file == s.file && e.start >= s.start {
            s.to(e)
        } else {
            s
        }
    };
    let d = match locate(expr, &parser_message) {
        Some(err) => Diagnostic::error(
            "promql/syntax",
            to_span(err.start, err.end),
            format!("invalid PromQL: {}", err.message),
        )
        .with_label(err.label)
        .with_hint(err.hint),
        None => {
            let trimmed_start = expr.len() - expr.trim_start().len();
            let trimmed_end = expr.trim_end().len().max(trimmed_start);
            Diagnostic::error(
                "promql/syntax",
                to_span(trimmed_start, trimmed_end),
                format!("invalid PromQL: {parser_message}"),
            )
            .with_label("in this expression")
        }
    };
    Err(Box::new(d))
}

/// Deepest bracket nesting handed to `promql-parser`, whose tree is
/// recursive: far beyond any real rule, far below a stack overflow.
const MAX_NESTING: usize = 256;

/// Deepest nesting of `(`, `[` and `{` outside strings and comments.
fn nesting_depth(expr: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') if q != '`' => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            (None, '(' | '[' | '{') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A PromQL error at a byte range of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedError {
    /// First byte of the offending text.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// What is wrong, saying what was expected.
    pub message: String,
    /// Short text for under the caret.
    pub label: String,
    /// What to do about it, when obvious.
    pub hint: Option<String>,
}

/// A [`LocatedError`] without a hint.
fn err(
    start: usize,
    end: usize,
    message: impl Into<String>,
    label: impl Into<String>,
) -> LocatedError {
    LocatedError {
        start,
        end,
        message: message.into(),
        label: label.into(),
        hint: None,
    }
}

#[cfg(test)]
mod tests;
