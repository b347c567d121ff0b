//! `klaxon import prometheus`: Prometheus rule files (`groups:` YAML) to the DSL.
//!
//! The file is read with the Prometheus loader klaxon runs it with, so what is
//! converted is exactly what would have been evaluated. Each YAML group becomes
//! a `group`, each alerting rule an `alert`, each recording rule a `record`.
//! Where an alert's expression is a comparison against a constant (`x > 5`,
//! `(x) >= -1`, `0.5 < x`), the constant moves out of the query into a
//! severity line (`warning when value > 5`) — the form in which a second level
//! or a resolve threshold can be added later; any other expression stays whole
//! under `LEVEL when present`. Both forms fire for exactly the same series as
//! the original rule.

use std::path::Path;

use promql_parser::parser::{BinaryExpr, Expr};

use crate::diag::{Level, SourceMap, Span};
use crate::import::{ImportFailure, ImportStats, Imported};
use crate::lang::ast::{self, Spanned};
use crate::lang::fmt::format_file;
use crate::model::{self, Pair, RuleKind};
use crate::vocab::condition::{CmpOp, Condition};
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::Duration;
use crate::vocab::time::parse_duration;

/// Indentation of statements inside an alert or record block (group → rule → body).
const RULE_BODY_INDENT: &str = "    ";

/// Converts one Prometheus rule file to DSL text in canonical layout.
///
/// `path` names the file in diagnostics; `text` is its content. Refuses, with
/// every diagnostic, when the file has an error klaxon would refuse to run.
pub fn prometheus_to_dsl(path: &Path, text: &str) -> Result<Imported, ImportFailure> {
    let mut sources = SourceMap::new();
    let file = sources.add(path, text.to_string());
    let (groups, mut diagnostics) = model::prom::load_file(file, text);
    crate::diag::sort_dedup(&mut diagnostics);
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        return Err(ImportFailure {
            sources,
            diagnostics,
        });
    }
    let mut stats = ImportStats::default();
    let group_names = groups
        .iter()
        .filter(|g| g.file == file)
        .map(|g| g.name.clone())
        .collect();
    let items = groups
        .iter()
        .filter(|g| g.file == file)
        .map(|g| ast::Item::Group(convert_group(g, text, &mut stats)))
        .collect();
    let tree = ast::File {
        items,
        trailing_comments: Vec::new(),
    };
    Ok(Imported {
        dsl: format_file(&tree),
        stats,
        group_names,
        sources,
        warnings: diagnostics,
    })
}

/// A syntax-tree node that was not parsed from DSL text has no span.
fn unspanned<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn convert_group(g: &model::Group, text: &str, stats: &mut ImportStats) -> ast::Group {
    stats.groups += 1;
    let rules = g
        .rules
        .iter()
        .map(|rule| match &rule.kind {
            RuleKind::Alert(spec) => {
                stats.alerts += 1;
                ast::RuleDef::Alert(convert_alert(rule, spec, text, stats))
            }
            RuleKind::Record => {
                stats.records += 1;
                ast::RuleDef::Record(convert_record(rule))
            }
        })
        .collect();
    ast::Group {
        comments: Vec::new(),
        name: unspanned(g.name.clone()),
        span: Span::default(),
        every: g
            .interval
            .map(|d| unspanned(dsl_duration(d, g.interval_span, text))),
        labels: None,
        limit: (g.limit > 0).then(|| unspanned(g.limit)),
        rules,
    }
}

fn convert_record(rule: &model::Rule) -> ast::Record {
    ast::Record {
        comments: Vec::new(),
        name: unspanned(rule.name.clone()),
        span: Span::default(),
        query: Some(unspanned(prometheus_query(whole_query(rule)))),
        labels: label_set(&rule.labels),
        broken: false,
    }
}

fn convert_alert(
    rule: &model::Rule,
    spec: &model::AlertSpec,
    text: &str,
    stats: &mut ImportStats,
) -> ast::Alert {
    let mut comments = Vec::new();
    // The severity label picks the level when it names one; any other value
    // stays an explicit label, which wins over the line's level.
    let severity = model::pair(&rule.labels, "severity").map(|p| p.value.as_str());
    let known_level = severity.and_then(SeverityLevel::from_word);
    let level = known_level.unwrap_or(SeverityLevel::Warning);
    let mut labels: Vec<Pair> = rule
        .labels
        .iter()
        .filter(|p| !(p.name == "severity" && known_level.is_some()))
        .cloned()
        .collect();
    if severity.is_none() {
        // Prometheus drops a label whose value is empty: this keeps the alert
        // without a `severity` label, as it was.
        comments.push(
            " No severity label in the source; `severity = \"\"` keeps it that way.".to_string(),
        );
        labels.push(Pair {
            name: "severity".into(),
            value: String::new(),
            name_span: Span::default(),
            value_span: Span::default(),
        });
    }

    let (query, condition) = match rule.query.promql().and_then(|q| {
        q.ast
            .as_ref()
            .and_then(|parsed| split_threshold(&q.expr, parsed))
    }) {
        Some(t) => {
            stats.thresholds_extracted += 1;
            (t.query, Condition::Compare(t.op, t.value))
        }
        None => {
            stats.kept_whole += 1;
            (whole_query(rule), Condition::Present)
        }
    };

    let first = spec.severities.first();
    let for_ = first
        .filter(|s| s.for_.0 > 0)
        .map(|s| unspanned(dsl_duration(s.for_, s.for_span, text)));
    let keep_firing_for = (spec.keep_firing_for.0 > 0)
        .then(|| unspanned(dsl_duration(spec.keep_firing_for, None, text)));

    ast::Alert {
        comments,
        name: unspanned(rule.name.clone()),
        span: Span::default(),
        query: Some(unspanned(prometheus_query(query))),
        severities: vec![ast::SeverityLine {
            level: unspanned(level),
            condition: unspanned(condition),
            for_,
            span: Span::default(),
        }],
        resolve: None,
        keep_firing_for,
        nodata: None,
        labels: label_set(&labels),
        annotations: spec.annotations.iter().map(annotation).collect(),
        broken: false,
    }
}

fn annotation(p: &Pair) -> ast::Annotation {
    let form = match p.name.as_str() {
        "summary" => ast::AnnotationForm::Summary,
        "description" => ast::AnnotationForm::Description,
        "runbook_url" => ast::AnnotationForm::Runbook,
        _ => ast::AnnotationForm::Free,
    };
    ast::Annotation {
        key: unspanned(p.name.clone()),
        value: unspanned(p.value.clone()),
        form,
    }
}

fn label_set(pairs: &[Pair]) -> Option<ast::LabelSet> {
    (!pairs.is_empty()).then(|| ast::LabelSet {
        pairs: pairs
            .iter()
            .map(|p| (unspanned(p.name.clone()), unspanned(p.value.clone())))
            .collect(),
        span: Span::default(),
    })
}

fn prometheus_query(expr: String) -> ast::Query {
    ast::Query::Prometheus {
        datasource: None,
        expr: unspanned(expr),
    }
}

/// The rule's whole expression, laid out for the rule body.
fn whole_query(rule: &model::Rule) -> String {
    match rule.query.promql() {
        Some(q) => layout_query(&q.expr, q.ast.as_ref()),
        // The Prometheus loader only builds PromQL queries.
        None => String::new(),
    }
}

/// Trims the expression and indents its continuation lines to sit under the
/// `query` keyword, as long as that leaves the parsed query unchanged (a
/// multi-line string literal inside the PromQL would not survive it).
fn layout_query(text: &str, parsed: Option<&Expr>) -> String {
    let trimmed = text.trim();
    if !trimmed.contains('\n') {
        return trimmed.to_string();
    }
    let mut lines = trimmed.lines();
    let mut out = lines.next().unwrap_or("").trim_end().to_string();
    for line in lines {
        out.push('\n');
        let line = line.trim_end();
        if !line.is_empty() {
            out.push_str(RULE_BODY_INDENT);
            out.push_str(line);
        }
    }
    let unchanged = match (parsed, promql_parser::parser::parse(&out)) {
        (Some(before), Ok(after)) => before.to_string() == after.to_string(),
        _ => false,
    };
    if unchanged { out } else { trimmed.to_string() }
}

/// A duration as the DSL writes it: the text of the source when it is a valid
/// DSL duration for the same value (`90s` stays `90s`), else the canonical form.
fn dsl_duration(d: Duration, span: Option<Span>, text: &str) -> ast::Duration {
    let written = span
        .and_then(|s| text.get(s.start..s.end))
        .map(|t| t.trim().trim_matches(['"', '\'']).trim())
        .filter(|t| is_dsl_duration(t) && parse_duration(t) == Ok(d));
    ast::Duration {
        millis: d.0,
        text: written.map_or_else(|| d.to_string(), str::to_string),
    }
}

/// DURATION = one or more `[0-9]+(ms|s|m|h|d|w|y)`.
fn is_dsl_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// An alert expression split into the query and its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression compared against the constant.
    pub query: String,
    /// The comparison, as `value OP threshold`.
    pub op: CmpOp,
    /// The constant.
    pub value: f64,
}

/// Splits `expr OP NUMBER` (or `NUMBER OP expr`, flipped) at the top of an
/// alert expression into query and threshold. Parentheses around the whole
/// expression and around or inside a (negated) constant are looked through.
/// `bool` comparisons are left alone: they return every series, 0 or 1.
///
/// The query keeps its original text when it can be cut out of `text`
/// exactly (checked by parsing it back); otherwise it is printed from the
/// parsed expression.
pub fn split_threshold(text: &str, parsed: &Expr) -> Option<Threshold> {
    let mut expr = parsed;
    let mut source = Some(text.trim());
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
        source = source.and_then(strip_outer_parens);
    }
    let Expr::Binary(binary) = expr else {
        return None;
    };
    let op = comparison(binary)?;
    let (side, value, op, number_on_left) = match (constant(&binary.lhs), constant(&binary.rhs)) {
        (None, Some(v)) => (&*binary.lhs, v, op, false),
        (Some(v), None) => (&*binary.rhs, v, flip(op), true),
        _ => return None,
    };
    if value.is_nan() {
        // NUMBER has no NaN (and `x == NaN` never holds anyway).
        return None;
    }
    let cut = source.and_then(|s| {
        let (start, end) = top_level_comparisons(s).last().copied()?;
        let piece = if number_on_left {
            s.get(end..)?
        } else {
            s.get(..start)?
        };
        let piece = layout_query(piece, Some(side));
        let same =
            promql_parser::parser::parse(&piece).is_ok_and(|p| p.to_string() == side.to_string());
        same.then_some(piece)
    });
    Some(Threshold {
        query: cut.unwrap_or_else(|| side.to_string()),
        op,
        value,
    })
}

/// The comparison of a filtering (not `bool`) binary expression.
fn comparison(binary: &BinaryExpr) -> Option<CmpOp> {
    if binary
        .modifier
        .as_ref()
        .is_some_and(|m| m.return_bool || m.matching.is_some())
    {
        return None;
    }
    CmpOp::from_symbol(&binary.op.to_string())
}

/// `a OP b` ⇔ `b flip(OP) a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Eq | CmpOp::Ne => op,
    }
}

/// The value of a number literal, looking through parentheses and unary minus.
fn constant(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => constant(&p.expr),
        Expr::Unary(u) => constant(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// One step of a scan over PromQL text that skips strings and comments.
enum Scanned {
    /// A bracket opened: `(`, `[` or `{`.
    Open,
    /// A bracket closed at this offset.
    Close(usize),
    /// A comparison operator at `start..end`.
    Comparison(usize, usize),
}

/// Brackets and comparison operators of PromQL text, outside string literals
/// and `#` comments.
fn scan(text: &str) -> Vec<Scanned> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match b {
            b'"' | b'\'' | b'`' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    if c == b'\\' && b != b'`' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if c == b {
                        break;
                    }
                }
                continue;
            }
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => out.push(Scanned::Open),
            b')' | b']' | b'}' => out.push(Scanned::Close(i)),
            b'=' | b'!' if next == Some(b'=') => {
                out.push(Scanned::Comparison(i, i + 2));
                i += 2;
                continue;
            }
            b'<' | b'>' => {
                let len = if next == Some(b'=') { 2 } else { 1 };
                out.push(Scanned::Comparison(i, i + len));
                i += len;
                continue;
            }
            // `=~`, `!~` and `=` only occur inside braces; skip them whole.
            b'=' | b'!' => {
                i += if next == Some(b'~') { 2 } else { 1 };
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Byte ranges of the comparison operators outside any bracket.
fn top_level_comparisons(text: &str) -> Vec<(usize, usize)> {
    let mut depth = 0usize;
    let mut found = Vec::new();
    for step in scan(text) {
        match step {
            Scanned::Open => depth += 1,
            Scanned::Close(_) => depth = depth.saturating_sub(1),
            Scanned::Comparison(start, end) if depth == 0 => found.push((start, end)),
            Scanned::Comparison(..) => {}
        }
    }
    found
}

/// `( inner )` → `inner`, when the first parenthesis closes at the very end.
fn strip_outer_parens(text: &str) -> Option<&str> {
    let text = text.trim();
    if !text.starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    for step in scan(text) {
        match step {
            Scanned::Open => depth += 1,
            Scanned::Close(at) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (at + 1 == text.len()).then(|| text.get(1..at)).flatten();
                }
            }
            Scanned::Comparison(..) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Option<(String, CmpOp, f64)> {
        let parsed = promql_parser::parser::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        split_threshold(text, &parsed).map(|t| (t.query, t.op, t.value))
    }

    #[test]
    fn a_trailing_constant_becomes_the_threshold_and_keeps_the_query_text() {
        assert_eq!(
            split("sum by (job) (rate(x{a!=\"b\"}[5m]))   >  0.5"),
            Some((
                "sum by (job) (rate(x{a!=\"b\"}[5m]))".into(),
                CmpOp::Gt,
                0.5
            ))
        );
        assert_eq!(split("a > 3 <= 5"), Some(("a > 3".into(), CmpOp::Le, 5.0)));
        assert_eq!(split("x != -1"), Some(("x".into(), CmpOp::Ne, -1.0)));
        assert_eq!(split("x == -(2)"), Some(("x".into(), CmpOp::Eq, -2.0)));
    }

    #[test]
    fn a_leading_constant_flips_the_operator() {
        assert_eq!(split("10 < x"), Some(("x".into(), CmpOp::Gt, 10.0)));
        assert_eq!(split("(1e3) >= up"), Some(("up".into(), CmpOp::Le, 1000.0)));
    }

    #[test]
    fn outer_parentheses_are_looked_through() {
        assert_eq!(
            split(" ( (rate(x[5m]) > 2) ) "),
            Some(("rate(x[5m])".into(), CmpOp::Gt, 2.0))
        );
        assert_eq!(
            split("(a or b) > 1"),
            Some(("(a or b)".into(), CmpOp::Gt, 1.0))
        );
    }

    #[test]
    fn other_shapes_stay_whole() {
        assert_eq!(split("x > bool 1"), None);
        assert_eq!(split("x > 1 and y < 2"), None);
        assert_eq!(split("x > y"), None);
        assert_eq!(split("absent(up{job=\"a\"})"), None);
        assert_eq!(split("(x > 1) + 0"), None);
        assert_eq!(split("x != NaN"), None);
        assert_eq!(
            split("x < -Inf"),
            Some(("x".into(), CmpOp::Lt, f64::NEG_INFINITY))
        );
    }

    #[test]
    fn comparisons_inside_strings_comments_and_brackets_are_ignored() {
        let text = "label_replace(x, \"a\", \"<$1>\", \"b\", \"(.*)\") # no > here\n > 3";
        assert_eq!(
            split(text),
            Some((
                "label_replace(x, \"a\", \"<$1>\", \"b\", \"(.*)\") # no > here".into(),
                CmpOp::Gt,
                3.0
            ))
        );
    }

    #[test]
    fn multiline_queries_are_indented_under_the_keyword() {
        let text = "sum(\n  rate(x[5m])\n)\n> 0\n";
        assert_eq!(
            split(text),
            Some(("sum(\n      rate(x[5m])\n    )".into(), CmpOp::Gt, 0.0))
        );
    }

    #[test]
    fn durations_keep_their_written_form_when_the_dsl_accepts_it() {
        let text = "for: '90s'\nfor: 0\n";
        let d = dsl_duration(Duration(90_000), Some(Span::new(0, 5, 10)), text);
        assert_eq!(d.text, "90s");
        let zero = dsl_duration(Duration(0), Some(Span::new(0, 16, 17)), text);
        assert_eq!(zero.text, "0s");
        assert!(is_dsl_duration("1h30m"));
        assert!(!is_dsl_duration("1.5h"));
        assert!(!is_dsl_duration(""));
    }
}
