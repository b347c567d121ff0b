//! Questions the lints ask of a parsed PromQL expression.
//!
//! `promql_parser` keeps no positions, so these helpers only answer "what"
//! questions; [`super::locate`] finds "where" in the rule file.

use promql_parser::label::MatchOp;
use promql_parser::parser::token::{T_LOR, T_LUNLESS};
use promql_parser::parser::{Expr, VectorSelector};

/// Functions that only make sense on counters.
pub(crate) const COUNTER_FUNCTIONS: &[&str] = &["rate", "irate", "increase"];

/// Name suffixes Prometheus conventions reserve for counters and the counter
/// parts of summaries and histograms.
pub(crate) const COUNTER_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket"];

/// Functions of native histograms. A native histogram's name carries no
/// counter suffix, so a `rate()` whose result one of them reads is not the
/// mistake `promql/rate-non-counter` looks for (`histogram_count(rate(x[5m]))`).
pub(crate) const HISTOGRAM_FUNCTIONS: &[&str] = &[
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
    "histogram_quantile",
    "histogram_quantiles",
    "histogram_fraction",
    "histogram_stddev",
    "histogram_stdvar",
];

/// Every node inside an argument of a [`HISTOGRAM_FUNCTIONS`] call: the
/// nodes whose series may be native histograms.
pub(crate) fn inside_histogram_functions(expr: &Expr) -> Vec<&Expr> {
    let mut inside = Vec::new();
    walk(expr, &mut |e| {
        if let Expr::Call(call) = e
            && HISTOGRAM_FUNCTIONS.contains(&call.func.name)
        {
            for arg in &call.args.args {
                walk(arg, &mut |node| inside.push(node));
            }
        }
    });
    inside
}

/// Functions that need at least two samples inside their range to return
/// anything useful, besides the `*_over_time` family.
pub(crate) const RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "changes",
    "resets",
];

/// Functions whose result makes an alert query noisy without a `for`:
/// they react to a single scrape.
pub(crate) const NOISY_FUNCTIONS: &[&str] = &["rate", "irate", "increase", "deriv"];

/// Whether a function takes a range and is checked by `promql/short-range`.
pub(crate) fn is_range_function(name: &str) -> bool {
    RANGE_FUNCTIONS.contains(&name) || name.ends_with("_over_time")
}

/// Whether a function is `absent` or `absent_over_time`.
pub(crate) fn is_absent_function(name: &str) -> bool {
    name == "absent" || name == "absent_over_time"
}

/// The metric name a selector names literally: `foo{..}` or
/// `{__name__="foo"}`. `None` for regex names or no name.
pub(crate) fn selector_name(vs: &VectorSelector) -> Option<&str> {
    if let Some(name) = &vs.name {
        return Some(name);
    }
    vs.matchers
        .matchers
        .iter()
        .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
        .map(|m| m.value.as_str())
}

/// Whether a metric name looks like a counter. A recording-rule name
/// (`level:metric:operations`) is judged by its last segment.
pub(crate) fn looks_like_counter(name: &str) -> bool {
    let last = name.rsplit(':').next().unwrap_or(name);
    COUNTER_SUFFIXES.iter().any(|s| last.ends_with(s))
}

/// Calls `f` on each direct child of an expression, left to right as
/// written, until it returns `true`; returns whether it did. Allocates
/// nothing, as the lints walk every query several times.
fn any_child<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Expr) -> bool) -> bool {
    match expr {
        Expr::Aggregate(a) => a.param.as_deref().is_some_and(&mut *f) || f(&a.expr),
        Expr::Unary(u) => f(&u.expr),
        Expr::Binary(b) => f(&b.lhs) || f(&b.rhs),
        Expr::Paren(p) => f(&p.expr),
        Expr::Subquery(s) => f(&s.expr),
        Expr::Call(c) => c.args.args.iter().any(|a| f(a)),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => false,
    }
}

/// Visits every node in pre-order (a node before its children, children
/// left to right), which is the order they appear in the query text.
pub(crate) fn walk<'a>(expr: &'a Expr, visit: &mut dyn FnMut(&'a Expr)) {
    visit(expr);
    any_child(expr, &mut |child| {
        walk(child, visit);
        false
    });
}

/// Whether any node satisfies `pred`.
pub(crate) fn any(expr: &Expr, pred: &dyn Fn(&Expr) -> bool) -> bool {
    pred(expr) || any_child(expr, &mut |c| any(c, pred))
}

/// Whether the expression calls `absent()` or `absent_over_time()` anywhere.
pub(crate) fn has_absent(expr: &Expr) -> bool {
    any(
        expr,
        &|e| matches!(e, Expr::Call(c) if is_absent_function(c.func.name)),
    )
}

/// Strips parentheses.
pub(crate) fn unparen(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}

/// Why an alert query returns a result on every evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlwaysFires {
    /// Nothing in the query filters series.
    NoComparison,
    /// The only comparison uses `bool`, which returns 0 or 1 instead of filtering.
    BoolComparison,
    /// One side of an `or` filters nothing, so it always answers.
    UnfilteredOr,
}

/// Whether an alert query filters its series, so it returns nothing when all
/// is well. `None` means it filters; otherwise the reason it always fires.
///
/// A query filters when, after parentheses, it is a comparison without
/// `bool`; an `unless`; an `and` or arithmetic operation either side of
/// which filters; an `or` both sides of which filter; an aggregation, function
/// call, negation or subquery whose argument filters; or a call to
/// `absent()`/`absent_over_time()`.
pub(crate) fn always_fires(expr: &Expr) -> Option<AlwaysFires> {
    if filters(expr) {
        return None;
    }
    if let Expr::Binary(b) = unparen(expr)
        && b.op.id() == T_LOR
        && (filters(&b.lhs) || filters(&b.rhs))
    {
        return Some(AlwaysFires::UnfilteredOr);
    }
    if any(
        expr,
        &|e| matches!(e, Expr::Binary(b) if b.op.is_comparison_operator()),
    ) {
        return Some(AlwaysFires::BoolComparison);
    }
    Some(AlwaysFires::NoComparison)
}

fn filters(expr: &Expr) -> bool {
    match expr {
        Expr::Binary(b) => {
            if b.op.is_comparison_operator() && !b.return_bool() {
                return true;
            }
            match b.op.id() {
                T_LOR => filters(&b.lhs) && filters(&b.rhs),
                // `a unless b` drops every series of `a` that `b` matches: a filter.
                T_LUNLESS => true,
                _ => filters(&b.lhs) || filters(&b.rhs),
            }
        }
        Expr::Call(c) if is_absent_function(c.func.name) => true,
        Expr::Call(c) => c.args.args.iter().any(|a| filters(a)),
        Expr::Aggregate(_) | Expr::Paren(_) | Expr::Unary(_) | Expr::Subquery(_) => {
            any_child(expr, &mut |c| filters(c))
        }
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => false,
    }
}

/// Strips parentheses and aggregations (`sum by (x) (..)`), which keep a
/// series' noise.
fn strip_aggregation(mut expr: &Expr) -> &Expr {
    loop {
        match expr {
            Expr::Paren(p) => expr = &p.expr,
            Expr::Aggregate(a) => expr = &a.expr,
            _ => return expr,
        }
    }
}

/// Whether the expression is a raw series, maybe aggregated: what a
/// threshold on it reacts to is one scrape.
pub(crate) fn is_raw_series(expr: &Expr) -> bool {
    matches!(strip_aggregation(expr), Expr::VectorSelector(_))
}

/// Whether the query compares a raw series with a number (`node_load1 > 4`,
/// `sum(up) == 0`).
pub(crate) fn is_raw_threshold(expr: &Expr) -> bool {
    let Expr::Binary(b) = unparen(expr) else {
        return false;
    };
    if !b.op.is_comparison_operator() || b.return_bool() {
        return false;
    }
    let number = |e: &Expr| matches!(unparen(e), Expr::NumberLiteral(_));
    (is_raw_series(&b.lhs) && number(&b.rhs)) || (number(&b.lhs) && is_raw_series(&b.rhs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Expr {
        match promql_parser::parser::parse(q) {
            Ok(e) => e,
            Err(e) => panic!("{q}: {e}"),
        }
    }

    #[test]
    fn filtering_follows_the_documented_rules() {
        for q in [
            "up == 0",
            "(rate(x_total[5m]) > 1)",
            "sum by (job) (up == 0)",
            "foo and bar > 1",
            "foo unless bar > 1",
            "count by (instance) (x offset 2h) unless count by (instance) (x)",
            "absent(up)",
            "(a > 1) or (b < 2)",
            "(a > 1) or absent(b)",
            "count(up == 0) > bool 1 == 1",
            "(a > 5) * 100",
        ] {
            assert_eq!(always_fires(&parse(q)), None, "{q}");
        }
        assert_eq!(always_fires(&parse("up")), Some(AlwaysFires::NoComparison));
        assert_eq!(
            always_fires(&parse("rate(x_total[5m])")),
            Some(AlwaysFires::NoComparison)
        );
        assert_eq!(
            always_fires(&parse("up > bool 0")),
            Some(AlwaysFires::BoolComparison)
        );
        assert_eq!(
            always_fires(&parse("(up == 0) or vector(0)")),
            Some(AlwaysFires::UnfilteredOr)
        );
    }

    #[test]
    fn set_operators_are_told_apart_by_token() {
        let Expr::Binary(or) = parse("a or b") else {
            panic!("not a binary expression")
        };
        let Expr::Binary(unless) = parse("a unless b") else {
            panic!("not a binary expression")
        };
        assert_eq!((or.op.id(), or.op.to_string().as_str()), (T_LOR, "or"));
        assert_eq!(
            (unless.op.id(), unless.op.to_string().as_str()),
            (T_LUNLESS, "unless")
        );
    }

    #[test]
    fn walks_visit_nodes_in_text_order() {
        let ast = parse("sum by (x) (rate(a_total[5m])) / on() topk(3, b) > bool -c");
        let mut seen = Vec::new();
        walk(&ast, &mut |e| {
            seen.push(match e {
                Expr::VectorSelector(vs) => vs.name.clone().unwrap_or_default(),
                Expr::MatrixSelector(ms) => format!("{}[]", ms.vs.name.clone().unwrap_or_default()),
                Expr::NumberLiteral(n) => n.val.to_string(),
                Expr::Call(c) => format!("{}()", c.func.name),
                Expr::Aggregate(_) => "agg".to_string(),
                Expr::Binary(_) => "bin".to_string(),
                Expr::Unary(_) => "neg".to_string(),
                _ => "other".to_string(),
            })
        });
        assert_eq!(
            seen,
            [
                "bin",
                "bin",
                "agg",
                "rate()",
                "a_total[]",
                "agg",
                "3",
                "b",
                "neg",
                "c"
            ]
        );
        assert!(any(&ast, &|e| matches!(e, Expr::Unary(_))));
        assert!(!any(&ast, &|e| matches!(e, Expr::StringLiteral(_))));
    }

    #[test]
    fn counters_are_recognised_by_suffix() {
        assert!(looks_like_counter("http_requests_total"));
        assert!(looks_like_counter("latency_seconds_bucket"));
        assert!(looks_like_counter("job:http_requests_total"));
        assert!(!looks_like_counter("node_load1"));
        assert!(!looks_like_counter("job:http_requests_total:rate5m"));
        assert!(!looks_like_counter("total"));
    }

    #[test]
    fn raw_thresholds_are_plain_series_against_numbers() {
        assert!(is_raw_threshold(&parse("node_load1 > 4")));
        assert!(is_raw_threshold(&parse("0 == sum(up)")));
        assert!(!is_raw_threshold(&parse(
            "avg_over_time(node_load1[10m]) > 4"
        )));
        assert!(!is_raw_threshold(&parse("a > b")));
        assert!(!is_raw_threshold(&parse("up")));
    }
}
