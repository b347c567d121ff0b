//! Finding where in the rule file a piece of a PromQL query was written.
//!
//! The PromQL syntax tree has no positions, so lints find their target in the
//! query text (the n-th metric name, the n-th range) with a small scanner
//! that skips strings, comments and label matchers, then map that offset
//! from the query text into the file. The file may hold the query indented
//! (a YAML block scalar) or folded, so the mapping walks both texts and lets
//! any run of whitespace stand for any other. Whenever that fails the lint
//! falls back to the span of the whole query: a worse caret, never a wrong one.

use crate::diag::{SourceMap, Span};
use crate::model::PromQuery;

/// A token of interest in a PromQL text, as a byte range of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// An identifier outside `{...}`: a metric, function or keyword name.
    Ident(usize, usize),
    /// A `[range]` of a range selector (not a subquery `[range:step]`),
    /// brackets included.
    Range(usize, usize),
}

/// Lists metric-name-like identifiers and range brackets in text order.
pub(crate) fn scan(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut brace_depth = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'{' => {
                brace_depth += 1;
                i += 1;
            }
            b'}' => {
                brace_depth = brace_depth.saturating_sub(1);
                i += 1;
            }
            b'[' if brace_depth == 0 => {
                let start = i;
                let mut j = i + 1;
                let mut subquery = false;
                while let Some(&c) = bytes.get(j) {
                    if c == b']' {
                        break;
                    }
                    subquery |= c == b':';
                    j += 1;
                }
                let end = (j + 1).min(bytes.len());
                if !subquery {
                    tokens.push(Token::Range(start, end));
                }
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
                {
                    i += 1;
                }
                if brace_depth == 0 {
                    tokens.push(Token::Ident(start, i));
                }
            }
            c if c.is_ascii_digit() => {
                // A number or duration literal: `5m` must not read as `m`.
                while bytes
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    tokens
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let Some(&quote) = bytes.get(start) else {
        return start + 1;
    };
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        i += 1;
        if c == quote {
            break;
        }
    }
    i.min(bytes.len())
}

/// The byte range of the `nth` (0-based) identifier equal to `name`.
pub(crate) fn nth_ident(text: &str, name: &str, nth: usize) -> Option<(usize, usize)> {
    scan(text)
        .into_iter()
        .filter_map(|t| match t {
            Token::Ident(s, e) if text.get(s..e) == Some(name) => Some((s, e)),
            _ => None,
        })
        .nth(nth)
}

/// The byte range of the `nth` (0-based) range bracket, brackets included.
pub(crate) fn nth_range(text: &str, nth: usize) -> Option<(usize, usize)> {
    scan(text)
        .into_iter()
        .filter_map(|t| match t {
            Token::Range(s, e) => Some((s, e)),
            _ => None,
        })
        .nth(nth)
}

/// Maps a byte range of a query's text to a span in its file; the whole
/// query's span when the file does not hold the text in a recognisable form.
pub(crate) fn query_span(sources: &SourceMap, query: &PromQuery, range: (usize, usize)) -> Span {
    map_range(sources, query, range).unwrap_or_else(|| whole_query(sources, query))
}

/// The span of a whole query, without the whitespace around it (a DSL
/// query often starts with a newline after its backtick); the span the
/// loader recorded when the text cannot be found.
pub(crate) fn whole_query(sources: &SourceMap, query: &PromQuery) -> Span {
    let start = query.expr.len() - query.expr.trim_start().len();
    let end = query.expr.trim_end().len();
    if start >= end {
        return query.span;
    }
    map_range(sources, query, (start, end)).unwrap_or(query.span)
}

fn map_range(sources: &SourceMap, query: &PromQuery, range: (usize, usize)) -> Option<Span> {
    let file = sources.get(query.span.file)?;
    let start = map_offset(&file.text, query.span.start, &query.expr, range.0)?;
    let end = map_offset(&file.text, query.span.start, &query.expr, range.1)?;
    Some(Span::new(query.span.file, start, end))
}

/// The file offset of byte `target` of `expr`, whose text starts at byte
/// `start` of `file` (or just after an opening quote there).
fn map_offset(file: &str, start: usize, expr: &str, target: usize) -> Option<usize> {
    let file_bytes = file.as_bytes();
    let expr_bytes = expr.as_bytes();
    let mut j = start;
    if let (Some(&f), Some(&e)) = (file_bytes.get(j), expr_bytes.first())
        && f != e
        && matches!(f, b'"' | b'\'' | b'`')
    {
        j += 1;
    }
    let mut i = 0;
    while i < target {
        let e = *expr_bytes.get(i)?;
        if e.is_ascii_whitespace() {
            while expr_bytes.get(i).is_some_and(|c| c.is_ascii_whitespace()) && i < target {
                i += 1;
            }
            if !file_bytes.get(j)?.is_ascii_whitespace() {
                return None;
            }
            while file_bytes.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
                j += 1;
            }
            continue;
        }
        if *file_bytes.get(j)? != e {
            return None;
        }
        i += 1;
        j += 1;
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_skips_strings_matchers_and_durations() {
        let q = r#"rate(foo{path=~"[a-z]+", x="foo"}[5m]) > foo[1m:] # foo"#;
        let idents: Vec<&str> = scan(q)
            .into_iter()
            .filter_map(|t| match t {
                Token::Ident(s, e) => q.get(s..e),
                Token::Range(..) => None,
            })
            .collect();
        assert_eq!(idents, ["rate", "foo", "foo"]);
        assert_eq!(nth_range(q, 0).and_then(|(s, e)| q.get(s..e)), Some("[5m]"));
        assert_eq!(nth_range(q, 1), None);
        assert_eq!(nth_ident(q, "foo", 1), Some((41, 44)));
    }

    #[test]
    fn offsets_map_through_indentation() {
        let file = "expr: |\n  sum(\n    rate(x[1m])\n  )\n";
        let expr = "sum(\n  rate(x[1m])\n)\n";
        let start = 10;
        let target = expr.find("rate").unwrap_or(0);
        assert_eq!(map_offset(file, start, expr, target), file.find("rate"));
        // A quoted query: the recorded start may be the quote itself.
        let file = "expr: \"up == 0\"";
        assert_eq!(map_offset(file, 6, "up == 0", 3), Some(10));
        // Escapes do not map: give up rather than point at the wrong place.
        let file = "expr: \"a{x=\\\"1\\\"} > 1\"";
        assert_eq!(map_offset(file, 7, "a{x=\"1\"} > 1", 10), None);
    }

    #[test]
    fn whole_query_skips_surrounding_whitespace() {
        let mut sources = SourceMap::new();
        let text = "  query prometheus `\n    sum(up)\n  `\n";
        let file = sources.add("a.rules", text.to_string());
        let start = text.find('`').unwrap_or(0) + 1;
        let query = PromQuery {
            datasource: None,
            datasource_span: None,
            expr: "\n    sum(up)\n  ".to_string(),
            span: Span::new(file, start, start),
            ast: None,
        };
        let span = whole_query(&sources, &query);
        assert_eq!(text.get(span.start..span.end), Some("sum(up)"));
    }
}
