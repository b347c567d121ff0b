//! The lints themselves. Each reads one group or rule of the model and
//! pushes diagnostics; none of them changes anything.

use promql_parser::parser::{Expr, MatrixSelector, VectorSelector};

use super::locate;
use super::promql::{self as pq, AlwaysFires};
use super::{
    ABSENT_SHORT_FOR, DUPLICATE_RULE, FOR_MISSING, INTERVAL_TOO_LONG, LintOptions, MISSING_RUNBOOK,
    MISSING_SUMMARY, NO_COMPARISON, RATE_NON_COUNTER, SHORT_RANGE, VALUE_IN_LABEL, lint_info,
};
use std::collections::{BTreeMap, HashMap};

use crate::diag::{Diagnostic, FileId, Level, SourceMap, Span};
use crate::model::{
    AlertSpec, Group, Origin, PromQuery, Rule, RuleKind, RuleSet, SeverityRule, pair,
};
use crate::template;
use crate::vocab::condition::Condition;
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::Duration;

/// Groups evaluated less often than this get `group/interval-too-long`; it is
/// also Prometheus's default lookback, after which a series goes stale.
const MAX_GROUP_INTERVAL: Duration = Duration(5 * 60 * 1000);

/// Runs every lint over the rule set, unfiltered and unsorted.
pub(crate) fn run(sources: &SourceMap, rules: &RuleSet, options: &LintOptions) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    duplicate_rules(rules, &mut out);
    for group in &rules.groups {
        interval_too_long(group, &mut out);
        for rule in &group.rules {
            let ctx = RuleCtx {
                sources,
                rule,
                options,
            };
            if let Some(query) = rule.query.promql()
                && let Some(ast) = query.ast.as_ref()
            {
                rate_non_counter(&ctx, query, ast, &mut out);
                short_range(&ctx, query, ast, &mut out);
                if let Some(alert) = rule.alert() {
                    no_comparison(&ctx, alert, query, ast, &mut out);
                    for_missing(&ctx, alert, ast, &mut out);
                    absent_short_for(&ctx, alert, ast, &mut out);
                }
            }
            if let Some(alert) = rule.alert() {
                missing_summary(rule, alert, &mut out);
                missing_runbook(rule, alert, &mut out);
                value_in_label(rule, &mut out);
            }
        }
    }
    out
}

struct RuleCtx<'a> {
    sources: &'a SourceMap,
    rule: &'a Rule,
    options: &'a LintOptions,
}

/// A diagnostic at the registry level of `id`.
fn finding(id: &'static str, span: Span, message: String) -> Diagnostic {
    let level = lint_info(id).map_or(Level::Warning, |l| l.level);
    Diagnostic::new(level, id, span, message)
}

/// Whether a DSL condition is a threshold (a comparison on `value`), which
/// makes the query filter. `present` is not; `or` needs both sides.
fn condition_compares(condition: &Condition) -> bool {
    match condition {
        Condition::Present => false,
        Condition::Compare(..) => true,
        Condition::And(a, b) => condition_compares(a) || condition_compares(b),
        Condition::Or(a, b) => condition_compares(a) && condition_compares(b),
    }
}

/// Where to point at a severity: its line in the DSL, the alert name in YAML
/// (where the severity is implicit).
fn severity_span(rule: &Rule, severity: &SeverityRule) -> Span {
    match rule.origin {
        Origin::Dsl => severity.span,
        Origin::PrometheusYaml => rule.span,
    }
}

fn for_hint(rule: &Rule, severity: &SeverityRule, duration: Duration) -> String {
    match rule.origin {
        Origin::Dsl => format!(
            "add `for {duration}` (or longer) to the `{} when ..` line",
            severity.level.as_str()
        ),
        Origin::PrometheusYaml => format!("add `for: {duration}` (or longer) to the rule"),
    }
}

fn no_comparison(
    ctx: &RuleCtx,
    alert: &AlertSpec,
    query: &PromQuery,
    ast: &Expr,
    out: &mut Vec<Diagnostic>,
) {
    if alert
        .severities
        .iter()
        .any(|s| condition_compares(&s.condition))
    {
        return;
    }
    let Some(reason) = pq::always_fires(ast) else {
        return;
    };
    let threshold_hint = match ctx.rule.origin {
        Origin::Dsl => "give the alert a threshold, e.g. `critical when value > 0`",
        Origin::PrometheusYaml => "add a condition to the query, e.g. `> 0` or `== 0`",
    };
    let (message, label, hint) = match reason {
        AlwaysFires::NoComparison => (
            "alert query has no comparison, so the alert fires for every series it returns"
                .to_string(),
            "returns every series, healthy or not",
            threshold_hint.to_string(),
        ),
        AlwaysFires::BoolComparison => (
            "alert query compares with `bool`, which returns 0 or 1 for every series, so the alert always fires"
                .to_string(),
            "`bool` keeps every series",
            "drop `bool` so the comparison filters series".to_string(),
        ),
        AlwaysFires::UnfilteredOr => (
            "one side of `or` has no comparison, so the alert fires whenever that side returns anything"
                .to_string(),
            "one side always answers",
            "add a comparison to both sides of `or`".to_string(),
        ),
    };
    out.push(
        finding(
            NO_COMPARISON,
            locate::whole_query(ctx.sources, query),
            message,
        )
        .with_label(label)
        .with_hint(hint),
    );
}

/// The position of `target` among the selectors of `ast` naming the same
/// metric, counting in text order.
fn selector_ordinal(ast: &Expr, target: &VectorSelector, name: &str) -> usize {
    let mut ordinal = None;
    let mut seen = 0;
    pq::walk(ast, &mut |e| {
        let vs = match e {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return,
        };
        if vs.name.as_deref() != Some(name) {
            return;
        }
        if std::ptr::eq(vs, target) && ordinal.is_none() {
            ordinal = Some(seen);
        }
        seen += 1;
    });
    ordinal.unwrap_or(0)
}

/// The position of `target` among the range selectors of `ast`, in text order.
fn range_ordinal(ast: &Expr, target: &MatrixSelector) -> usize {
    let mut ordinal = None;
    let mut seen = 0;
    pq::walk(ast, &mut |e| {
        if let Expr::MatrixSelector(ms) = e {
            if std::ptr::eq(ms, target) && ordinal.is_none() {
                ordinal = Some(seen);
            }
            seen += 1;
        }
    });
    ordinal.unwrap_or(0)
}

/// The span of a selector's metric name, or of the whole query.
fn name_span(sources: &SourceMap, query: &PromQuery, ast: &Expr, vs: &VectorSelector) -> Span {
    let Some(name) = vs.name.as_deref() else {
        return locate::whole_query(sources, query);
    };
    let ordinal = selector_ordinal(ast, vs, name);
    match locate::nth_ident(&query.expr, name, ordinal) {
        Some(range) => locate::query_span(sources, query, range),
        None => locate::whole_query(sources, query),
    }
}

/// The span of a range selector's `[range]`, or of the whole query.
fn range_span(sources: &SourceMap, query: &PromQuery, ast: &Expr, ms: &MatrixSelector) -> Span {
    let ordinal = range_ordinal(ast, ms);
    match locate::nth_range(&query.expr, ordinal) {
        Some(range) => locate::query_span(sources, query, range),
        None => locate::whole_query(sources, query),
    }
}

fn to_model(d: std::time::Duration) -> Duration {
    Duration(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn rate_non_counter(ctx: &RuleCtx, query: &PromQuery, ast: &Expr, out: &mut Vec<Diagnostic>) {
    let native_histograms = pq::inside_histogram_functions(ast);
    pq::walk(ast, &mut |e| {
        let Expr::Call(call) = e else { return };
        let func = call.func.name;
        if !pq::COUNTER_FUNCTIONS.contains(&func)
            || native_histograms.iter().any(|n| std::ptr::eq(*n, e))
        {
            return;
        }
        let Some(arg) = call.args.args.first() else {
            return;
        };
        let Expr::MatrixSelector(ms) = pq::unparen(arg) else {
            return;
        };
        let Some(name) = pq::selector_name(&ms.vs) else {
            return;
        };
        if pq::looks_like_counter(name) {
            return;
        }
        out.push(
            finding(
                RATE_NON_COUNTER,
                name_span(ctx.sources, query, ast, &ms.vs),
                format!(
                    "`{func}()` of `{name}`, whose name does not end in _total, _count, _sum or _bucket: \
                     {func}() only makes sense for counters"
                ),
            )
            .with_label("not named like a counter")
            .with_hint(format!(
                "for a gauge use `deriv()` or `delta()`; if `{name}` is a counter, \
                 disable this lint for the file (`# rulecheck disable={RATE_NON_COUNTER}`)"
            )),
        );
    });
}

fn short_range(ctx: &RuleCtx, query: &PromQuery, ast: &Expr, out: &mut Vec<Diagnostic>) {
    let scrape = ctx.options.scrape_interval;
    let minimum = Duration(scrape.0.saturating_mul(2));
    pq::walk(ast, &mut |e| {
        let Expr::Call(call) = e else { return };
        let func = call.func.name;
        if !pq::is_range_function(func) {
            return;
        }
        for arg in &call.args.args {
            let Expr::MatrixSelector(ms) = pq::unparen(arg) else {
                continue;
            };
            let range = to_model(ms.range);
            if range >= minimum {
                continue;
            }
            out.push(
                finding(
                    SHORT_RANGE,
                    range_span(ctx.sources, query, ast, ms),
                    format!(
                        "`{func}()` over [{range}] sees fewer than two samples when metrics are \
                         scraped every {scrape}, so it returns nothing or jumps"
                    ),
                )
                .with_label(format!("shorter than {minimum}"))
                .with_hint(format!(
                    "use a range of at least {minimum} (twice the scrape interval); \
                     pass --scrape-interval if yours is not {scrape}"
                )),
            );
        }
    });
}

fn for_missing(ctx: &RuleCtx, alert: &AlertSpec, ast: &Expr, out: &mut Vec<Diagnostic>) {
    if pq::has_absent(ast) {
        return;
    }
    let mut noisy_call = None;
    pq::walk(ast, &mut |e| {
        if let Expr::Call(c) = e
            && pq::NOISY_FUNCTIONS.contains(&c.func.name)
            && noisy_call.is_none()
        {
            noisy_call = Some(c.func.name);
        }
    });
    let raw_threshold = pq::is_raw_threshold(ast);
    let raw_series = pq::is_raw_series(ast);
    for severity in &alert.severities {
        if severity.for_ != Duration(0) {
            continue;
        }
        let dsl_threshold_on_raw = condition_compares(&severity.condition) && raw_series;
        let what = match noisy_call {
            Some(func) => {
                format!("`{func}()`, which can cross a threshold for a single evaluation")
            }
            None if raw_threshold || dsl_threshold_on_raw => {
                "a threshold on a raw series, which one odd scrape can cross".to_string()
            }
            None => continue,
        };
        // An explicit `for: 0m` is pointed at; otherwise the alert or severity line.
        let (span, written) = match severity.for_span {
            Some(span) => (span, "`for` is 0"),
            None => (severity_span(ctx.rule, severity), "it has no `for`"),
        };
        out.push(
            finding(
                FOR_MISSING,
                span,
                format!(
                    "alert `{}` fires on its first evaluation ({written}): its query uses {what}",
                    ctx.rule.name
                ),
            )
            .with_label("fires on the first evaluation")
            .with_hint(for_hint(ctx.rule, severity, Duration::secs(5 * 60))),
        );
    }
}

fn absent_short_for(ctx: &RuleCtx, alert: &AlertSpec, ast: &Expr, out: &mut Vec<Diagnostic>) {
    let mut function = None;
    pq::walk(ast, &mut |e| {
        if let Expr::Call(c) = e
            && pq::is_absent_function(c.func.name)
            && function.is_none()
        {
            function = Some(c.func.name);
        }
    });
    let Some(function) = function else { return };
    let scrape = ctx.options.scrape_interval;
    let minimum = Duration(scrape.0.saturating_mul(2));
    for severity in &alert.severities {
        if severity.for_ >= minimum {
            continue;
        }
        let span = severity
            .for_span
            .unwrap_or_else(|| severity_span(ctx.rule, severity));
        let written = if severity.for_span.is_some() {
            format!("`for` is only {}", severity.for_)
        } else {
            "it has no `for`".to_string()
        };
        out.push(
            finding(
                ABSENT_SHORT_FOR,
                span,
                format!(
                    "`{function}()` alert `{}` fires on every Prometheus restart or missed scrape: \
                     {written}, less than twice the scrape interval ({minimum})",
                    ctx.rule.name
                ),
            )
            .with_label(format!("shorter than {minimum}"))
            .with_hint(for_hint(ctx.rule, severity, minimum)),
        );
    }
}

fn annotation_present(alert: &AlertSpec, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| pair(&alert.annotations, n).is_some_and(|p| !p.value.trim().is_empty()))
}

fn missing_summary(rule: &Rule, alert: &AlertSpec, out: &mut Vec<Diagnostic>) {
    if annotation_present(alert, &["summary"]) {
        return;
    }
    let hint = match rule.origin {
        Origin::Dsl => "add a line such as `summary \"{{ $labels.instance }} is down\"`",
        Origin::PrometheusYaml => {
            "add `summary: \"{{ $labels.instance }} is down\"` under `annotations:`"
        }
    };
    out.push(
        finding(
            MISSING_SUMMARY,
            rule.span,
            format!("alert `{}` has no `summary` annotation", rule.name),
        )
        .with_label("no summary")
        .with_hint(hint.to_string()),
    );
}

fn missing_runbook(rule: &Rule, alert: &AlertSpec, out: &mut Vec<Diagnostic>) {
    if annotation_present(alert, &["runbook_url", "runbook"]) {
        return;
    }
    let hint = match rule.origin {
        Origin::Dsl => "add a line such as `runbook \"https://runbooks.example.com/...\"`",
        Origin::PrometheusYaml => {
            "add `runbook_url: https://runbooks.example.com/...` under `annotations:`"
        }
    };
    out.push(
        finding(
            MISSING_RUNBOOK,
            rule.span,
            format!(
                "alert `{}` has no runbook link (`runbook_url` annotation)",
                rule.name
            ),
        )
        .with_label("no runbook")
        .with_hint(hint.to_string()),
    );
}

fn value_in_label(rule: &Rule, out: &mut Vec<Diagnostic>) {
    for label in &rule.labels {
        if !template::references_value(&label.value) {
            continue;
        }
        out.push(
            finding(
                VALUE_IN_LABEL,
                label.value_span,
                format!(
                    "label `{}` uses the query value: every new value makes a new alert, \
                     which restarts `for` and sends a fresh notification",
                    label.name
                ),
            )
            .with_label("changes with every evaluation")
            .with_hint("put the value in an annotation such as `description` instead".to_string()),
        );
    }
}

fn interval_too_long(group: &Group, out: &mut Vec<Diagnostic>) {
    let Some(interval) = group.interval else {
        return;
    };
    if interval <= MAX_GROUP_INTERVAL {
        return;
    }
    out.push(
        finding(
            INTERVAL_TOO_LONG,
            group.interval_span.unwrap_or(group.span),
            format!(
                "group `{}` is evaluated every {interval}: its alerts react that late, and series \
                 it records go stale between evaluations (Prometheus looks back only {MAX_GROUP_INTERVAL})",
                group.name
            ),
        )
        .with_label(format!("longer than {MAX_GROUP_INTERVAL}"))
        .with_hint(format!(
            "evaluate at most every {MAX_GROUP_INTERVAL}; make expensive queries cheaper with recording rules"
        )),
    );
}

/// Rules of one file with the same name and the same labels, as promtool's
/// `duplicate-rules` lint sees them: alerting and recording rules alike, in
/// any group of the file. Prometheus loads and runs every one of them (each
/// keeps its own alerts), so this is a warning, never a load error: files
/// such as the mixins' `CortexRolloutStuck` (once for statefulsets, once
/// for deployments) are deliberate. A DSL alert with several severities is
/// one rule per level.
fn duplicate_rules(rules: &RuleSet, out: &mut Vec<Diagnostic>) {
    // Labels are compared only among rules whose name repeats in a file:
    // most names do not, and a label set per rule of a large file costs.
    let mut names: HashMap<(FileId, &str), usize> = HashMap::new();
    for group in &rules.groups {
        for rule in &group.rules {
            *names.entry((group.file, rule.name.as_str())).or_default() += 1;
        }
    }
    type Key<'a> = (FileId, &'a str, BTreeMap<String, String>);
    let mut seen: HashMap<Key, &Rule> = HashMap::new();
    for group in &rules.groups {
        for rule in &group.rules {
            if names.get(&(group.file, rule.name.as_str())) < Some(&2) {
                continue;
            }
            let levels: Vec<Option<SeverityLevel>> = match &rule.kind {
                RuleKind::Alert(a) if !a.severities.is_empty() => {
                    a.severities.iter().map(|s| Some(s.level)).collect()
                }
                _ => vec![None],
            };
            for level in levels {
                let key = (group.file, rule.name.as_str(), rule.static_labels(level));
                if let Some(first) = seen.get(&key) {
                    out.push(duplicate_rule(first, rule));
                    break;
                }
                seen.insert(key, rule);
            }
        }
    }
}

fn duplicate_rule(first: &Rule, again: &Rule) -> Diagnostic {
    let name = &again.name;
    let (message, hint) = match (first.alert().is_some(), again.alert().is_some()) {
        (true, true) => (
            format!("alert `{name}` is defined twice in this file with the same labels"),
            "both run (as in Prometheus), each with its own alerts; if one was meant to \
             replace the other, remove it, otherwise tell them apart with a label",
        ),
        (false, false) => (
            format!("recording rule `{name}` is defined twice in this file with the same labels"),
            "both write the same series; remove one or give them different labels",
        ),
        _ => (
            format!("`{name}` names both an alert and a recording rule with the same labels"),
            "both run; rename one if sharing the name is not deliberate",
        ),
    };
    finding(DUPLICATE_RULE, again.span, message)
        .with_label("defined again here")
        .with_related(first.span, "first defined here")
        .with_hint(hint.to_string())
}
