//! Lint tests on models built by hand, so they do not depend on the loaders.

use super::*;
use crate::model::{
    AlertSpec, Group, NoDataPolicy, Origin, Pair, PromQuery, Query, Rule, RuleKind, SeverityRule,
};
use crate::vocab::condition::CmpOp;
use crate::vocab::condition::Condition;
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::parse_duration;

/// Builds a one-file [`Loaded`] whose spans point at the places the given
/// snippets occur in the file text, as a loader would.
struct Builder {
    loaded: Loaded,
    file: FileId,
    origin: Origin,
    /// Where the last rule starts: later snippets are searched from there.
    cursor: usize,
}

impl Builder {
    fn new(path: &str, text: &str) -> Self {
        let mut loaded = Loaded::default();
        let file = loaded.sources.add(path, text.to_string());
        let origin = if path.ends_with(".rules") {
            Origin::Dsl
        } else {
            Origin::PrometheusYaml
        };
        Builder {
            loaded,
            file,
            origin,
            cursor: 0,
        }
    }

    fn text(&self) -> &str {
        &self.loaded.sources.file(self.file).text
    }

    /// The span of the first `needle` at or after the cursor.
    fn span(&self, needle: &str) -> Span {
        let Some(at) = self
            .text()
            .get(self.cursor..)
            .and_then(|rest| rest.find(needle))
        else {
            panic!(
                "`{needle}` is not in the test file after byte {}",
                self.cursor
            );
        };
        let start = self.cursor + at;
        Span::new(self.file, start, start + needle.len())
    }

    fn group(mut self, name: &str, interval: Option<&str>) -> Self {
        let span = self.span(name);
        self.cursor = span.start;
        let interval_span = interval.map(|i| self.span(i));
        let interval = interval.map(|i| parse_duration(i).unwrap_or_default());
        self.loaded.rules.groups.push(Group {
            name: name.to_string(),
            file: self.file,
            span,
            origin: self.origin,
            interval,
            interval_span,
            limit: 0,
            labels: Vec::new(),
            rules: Vec::new(),
        });
        self
    }

    fn rule(mut self, name: &str, expr: &str, kind: RuleKind) -> Self {
        // A rule starts after the previous rule's query, so a repeated name
        // is found again.
        if let Some(q) = self
            .loaded
            .rules
            .groups
            .last()
            .and_then(|g| g.rules.last())
            .and_then(|r| r.query.promql())
        {
            self.cursor = self.cursor.max(q.span.end);
        }
        let span = self.span(name);
        self.cursor = span.start;
        let expr_span = self.span(expr);
        let query = Query::Prometheus(PromQuery {
            datasource: None,
            datasource_span: None,
            expr: expr.to_string(),
            span: expr_span,
            ast: promql_parser::parser::parse(expr).ok(),
        });
        let rule = Rule {
            name: name.to_string(),
            span,
            origin: self.origin,
            query,
            labels: Vec::new(),
            kind,
        };
        match self.loaded.rules.groups.last_mut() {
            Some(g) => g.rules.push(rule),
            None => panic!("add a group first"),
        }
        self
    }

    /// An alert; in a YAML file it has the implicit `present` severity.
    fn alert(self, name: &str, expr: &str) -> Self {
        let yaml = self.origin == Origin::PrometheusYaml;
        let severities = match self.origin {
            Origin::PrometheusYaml => vec![SeverityRule {
                level: SeverityLevel::Warning,
                condition: Condition::Present,
                span: Span::new(self.file, 0, 0),
                for_: Duration(0),
                for_span: None,
            }],
            Origin::Dsl => Vec::new(),
        };
        self.rule(
            name,
            expr,
            RuleKind::Alert(AlertSpec {
                severities,
                resolve: None,
                keep_firing_for: Duration(0),
                nodata: NoDataPolicy::Ok,
                annotations: Vec::new(),
                // As the loader: a YAML alert's labels are its labels.
                severity_label_fixed: yaml,
            }),
        )
    }

    fn record(self, name: &str, expr: &str) -> Self {
        self.rule(name, expr, RuleKind::Record)
    }

    fn alert_spec(&mut self) -> &mut AlertSpec {
        match self
            .loaded
            .rules
            .groups
            .last_mut()
            .and_then(|g| g.rules.last_mut())
            .map(|r| &mut r.kind)
        {
            Some(RuleKind::Alert(a)) => a,
            _ => panic!("add an alert first"),
        }
    }

    /// `for: DUR` of a YAML alert's implicit severity.
    fn for_(mut self, duration: &str) -> Self {
        let span = self.span(duration);
        let spec = self.alert_spec();
        if let Some(s) = spec.severities.first_mut() {
            s.for_ = parse_duration(duration).unwrap_or_default();
            s.for_span = Some(span);
        }
        self
    }

    /// A DSL severity line, e.g. `critical when value > 1 for 5m`.
    fn severity(mut self, line: &str, condition: Condition, for_: Option<&str>) -> Self {
        let span = self.span(line);
        let for_span = for_.map(|f| {
            let at = line.rfind(f).unwrap_or(0);
            Span::new(self.file, span.start + at, span.start + at + f.len())
        });
        let level = if line.starts_with("critical") {
            SeverityLevel::Critical
        } else if line.starts_with("info") {
            SeverityLevel::Info
        } else {
            SeverityLevel::Warning
        };
        self.alert_spec().severities.push(SeverityRule {
            level,
            condition,
            span,
            for_: for_
                .map(|f| parse_duration(f).unwrap_or_default())
                .unwrap_or_default(),
            for_span,
        });
        self
    }

    fn pair(&self, name: &str, value: &str) -> Pair {
        let name_span = self.span(name);
        let value_span = self.span(value);
        Pair {
            name: name.to_string(),
            value: value.to_string(),
            name_span,
            value_span,
        }
    }

    fn annotation(mut self, name: &str, value: &str) -> Self {
        let pair = self.pair(name, value);
        self.alert_spec().annotations.push(pair);
        self
    }

    fn label(mut self, name: &str, value: &str) -> Self {
        let pair = self.pair(name, value);
        if let Some(r) = self
            .loaded
            .rules
            .groups
            .last_mut()
            .and_then(|g| g.rules.last_mut())
        {
            r.labels.push(pair);
        }
        self
    }

    fn build(self) -> Loaded {
        self.loaded
    }
}

/// `line:col code` of every finding of `code` with default options.
fn found(loaded: &Loaded, code: &str) -> Vec<String> {
    found_with(loaded, code, &LintOptions::default())
}

fn found_with(loaded: &Loaded, code: &str, options: &LintOptions) -> Vec<String> {
    lint_with(loaded, options)
        .iter()
        .filter(|d| d.code == code)
        .map(|d| {
            let (_, line, col) = loaded.sources.locate(d.span);
            format!("{line}:{col} {}", d.code)
        })
        .collect()
}

/// A documented, runbooked YAML alert, so only the lint under test fires.
fn yaml_alert(expr: &str, extra: &str) -> String {
    format!(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: {expr}\n{extra}    annotations:\n      summary: s\n      runbook_url: r\n"
    )
}

fn yaml_loaded(expr: &str) -> Loaded {
    let text = yaml_alert(expr, "");
    Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", expr)
        .annotation("summary", "s")
        .annotation("runbook_url", "r")
        .build()
}

#[test]
fn every_lint_id_is_unique_and_namespaced() {
    let mut ids: Vec<&str> = LINTS.iter().map(|l| l.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), LINTS.len());
    assert!(
        LINTS
            .iter()
            .all(|l| l.id.contains('/') && !l.summary.is_empty())
    );
}

#[test]
fn no_comparison_fires_on_a_bare_query_at_the_query() {
    let loaded = yaml_loaded("up{job=\"api\"}");
    assert_eq!(found(&loaded, NO_COMPARISON), ["5:11 promql/no-comparison"]);
    let text = lint(&loaded)
        .iter()
        .find(|d| d.code == NO_COMPARISON)
        .map(|d| d.render(&loaded.sources))
        .unwrap_or_default();
    assert!(text.contains("5 |     expr: up{job=\"api\"}\n"), "{text}");
    assert!(
        text.contains("  |           ^^^^^^^^^^^^^ returns every series"),
        "{text}"
    );
}

#[test]
fn no_comparison_accepts_filters_absent_and_dsl_thresholds() {
    for expr in [
        "up == 0",
        "sum by (job) (rate(errors_total[5m])) > 1",
        "absent(up{job=\"api\"})",
        "foo and on (job) bar > 1",
        "(foo > 1) or (bar > 2)",
    ] {
        assert!(
            found(&yaml_loaded(expr), NO_COMPARISON).is_empty(),
            "{expr}"
        );
    }
    let text = "group g {\n  alert A {\n    query prometheus `node_load1`\n    critical when value > 4 for 5m\n  }\n}\n";
    let loaded = Builder::new("a.rules", text)
        .group("g", None)
        .alert("A", "node_load1")
        .severity(
            "critical when value > 4 for 5m",
            Condition::Compare(CmpOp::Gt, 4.0),
            Some("5m"),
        )
        .build();
    assert!(found(&loaded, NO_COMPARISON).is_empty());
}

#[test]
fn no_comparison_fires_on_bool_and_unfiltered_or_and_dsl_present() {
    for expr in ["up > bool 0", "(up == 0) or vector(1)"] {
        assert_eq!(
            found(&yaml_loaded(expr), NO_COMPARISON),
            ["5:11 promql/no-comparison"],
            "{expr}"
        );
    }
    let text = "group g {\n  alert A {\n    query prometheus `node_load1`\n    critical when present\n  }\n}\n";
    let loaded = Builder::new("a.rules", text)
        .group("g", None)
        .alert("A", "node_load1")
        .severity("critical when present", Condition::Present, None)
        .build();
    assert_eq!(found(&loaded, NO_COMPARISON), ["3:23 promql/no-comparison"]);
}

#[test]
fn rate_non_counter_points_at_the_metric_name() {
    let loaded = yaml_loaded("rate(node_load1[5m]) > 1 and rate(node_load1[10m]) > 2");
    assert_eq!(
        found(&loaded, RATE_NON_COUNTER),
        [
            "5:16 promql/rate-non-counter",
            "5:45 promql/rate-non-counter"
        ]
    );
    for expr in [
        "rate(http_requests_total[5m]) > 1",
        "increase(latency_seconds_count[5m]) > 1",
        "rate(job:requests_total[5m]) > 1",
        "rate({__name__=~\"foo.*\"}[5m]) > 1",
        "deriv(node_load1[5m]) > 1",
    ] {
        assert!(
            found(&yaml_loaded(expr), RATE_NON_COUNTER).is_empty(),
            "{expr}"
        );
    }
    // A recording-rule name is judged by its last segment.
    let loaded = yaml_loaded("irate(job:requests_total:sum[5m]) > 1");
    assert_eq!(
        found(&loaded, RATE_NON_COUNTER),
        ["5:17 promql/rate-non-counter"]
    );
}

/// Issue 21: a native histogram has no counter suffix; `rate()` of one
/// inside a `histogram_*` function is valid (the Mimir mixin's shape).
#[test]
fn rate_non_counter_accepts_native_histograms_inside_histogram_functions() {
    for expr in [
        "histogram_count(rate(cortex_request_duration_seconds[4m])) > 1",
        "sum by (route) (histogram_sum(irate(cortex_request_duration_seconds[4m]))) > 1",
        "histogram_avg(increase(cortex_request_duration_seconds[4m])) > 1",
        "histogram_quantile(0.99, sum by (job) (rate(cortex_request_duration_seconds[4m]))) > 1",
        "histogram_fraction(0, 0.2, rate(cortex_request_duration_seconds[4m])) > 0.5",
        "histogram_stddev(rate(cortex_request_duration_seconds[4m])) > 1",
        "histogram_stdvar(rate(cortex_request_duration_seconds[4m])) > 1",
    ] {
        assert!(
            found(&yaml_loaded(expr), RATE_NON_COUNTER).is_empty(),
            "{expr}"
        );
    }
    // A rate outside the histogram function is still judged.
    let loaded = yaml_loaded(
        "histogram_count(rate(cortex_request_duration_seconds[4m])) / rate(queue_depth[4m]) > 1",
    );
    assert_eq!(
        found(&loaded, RATE_NON_COUNTER),
        ["5:77 promql/rate-non-counter"]
    );
}

#[test]
fn rate_non_counter_checks_recording_rules_too() {
    let expr = "sum(increase(queue_depth[1h]))";
    let text = format!("groups:\n- name: g\n  rules:\n  - record: job:q:inc1h\n    expr: {expr}\n");
    let loaded = Builder::new("r.yml", &text)
        .group("g", None)
        .record("job:q:inc1h", expr)
        .build();
    assert_eq!(
        found(&loaded, RATE_NON_COUNTER),
        ["5:24 promql/rate-non-counter"]
    );
    assert!(found(&loaded, NO_COMPARISON).is_empty());
}

#[test]
fn short_range_uses_twice_the_scrape_interval() {
    let expr = "rate(a_total[30s]) > 1 and max_over_time(b[1m]) > 1 and rate(c_total[5m:10s]) > 1";
    let loaded = yaml_loaded(expr);
    assert_eq!(found(&loaded, SHORT_RANGE), ["5:23 promql/short-range"]);
    let slow = LintOptions {
        scrape_interval: Duration::secs(60),
        ..LintOptions::default()
    };
    assert_eq!(
        found_with(&loaded, SHORT_RANGE, &slow),
        ["5:23 promql/short-range", "5:53 promql/short-range"]
    );
    let message = lint(&loaded)
        .into_iter()
        .find(|d| d.code == SHORT_RANGE)
        .map(|d| d.message)
        .unwrap_or_default();
    assert!(message.contains("over [30s]"), "{message}");
    assert!(found(&yaml_loaded("rate(a_total[1m]) > 1"), SHORT_RANGE).is_empty());
}

#[test]
fn short_range_finds_ranges_in_indented_block_queries() {
    let expr = "sum(\n  rate(a_total[20s])\n) > 1";
    let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: |\n      sum(\n        rate(a_total[20s])\n      ) > 1\n";
    let mut b = Builder::new("a.yml", text)
        .group("g", None)
        .alert("A", "sum(");
    // The query text the loader hands over is the dedented block.
    if let Some(Query::Prometheus(q)) = b
        .loaded
        .rules
        .groups
        .last_mut()
        .and_then(|g| g.rules.last_mut())
        .map(|r| &mut r.query)
    {
        q.expr = expr.to_string();
        q.ast = promql_parser::parser::parse(expr).ok();
    }
    let loaded = b.build();
    assert_eq!(found(&loaded, SHORT_RANGE), ["7:21 promql/short-range"]);
}

#[test]
fn for_missing_fires_on_rates_and_raw_thresholds_without_for() {
    for expr in [
        "rate(errors_total[5m]) > 1",
        "node_load1 > 4",
        "sum(up) == 0",
    ] {
        let loaded = yaml_loaded(expr);
        assert_eq!(
            found(&loaded, FOR_MISSING),
            ["4:12 alert/for-missing"],
            "{expr}"
        );
    }
    for expr in [
        "avg_over_time(node_load1[10m]) > 4",
        "absent(up)",
        "a / b > 0.5",
    ] {
        assert!(found(&yaml_loaded(expr), FOR_MISSING).is_empty(), "{expr}");
    }
    let text = yaml_alert("node_load1 > 4", "    for: 5m\n");
    let loaded = Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", "node_load1 > 4")
        .for_("5m")
        .build();
    assert!(found(&loaded, FOR_MISSING).is_empty());
    // An explicit `for: 0m` is where the finding points.
    let text = yaml_alert("increase(errors_total[1h]) > 5", "    for: 0m\n");
    let loaded = Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", "increase(errors_total[1h]) > 5")
        .for_("0m")
        .build();
    assert_eq!(found(&loaded, FOR_MISSING), ["6:10 alert/for-missing"]);
    let message = lint(&loaded)
        .into_iter()
        .find(|d| d.code == FOR_MISSING)
        .map(|d| d.message)
        .unwrap_or_default();
    assert_eq!(
        message,
        "alert `A` fires on its first evaluation (`for` is 0): its query uses `increase()`, \
         which can cross a threshold for a single evaluation"
    );
}

#[test]
fn for_missing_reports_each_dsl_severity_line_without_for() {
    let text = "group g {\n  alert A {\n    query prometheus `node_load1`\n    warning when value > 2\n    critical when value > 4 for 5m\n  }\n}\n";
    let loaded = Builder::new("a.rules", text)
        .group("g", None)
        .alert("A", "node_load1")
        .severity(
            "warning when value > 2",
            Condition::Compare(CmpOp::Gt, 2.0),
            None,
        )
        .severity(
            "critical when value > 4 for 5m",
            Condition::Compare(CmpOp::Gt, 4.0),
            Some("5m"),
        )
        .build();
    assert_eq!(found(&loaded, FOR_MISSING), ["4:5 alert/for-missing"]);
    let hint = lint(&loaded)
        .into_iter()
        .find(|d| d.code == FOR_MISSING)
        .and_then(|d| d.hint)
        .unwrap_or_default();
    assert!(
        hint.contains("`for 5m`") && hint.contains("`warning when ..`"),
        "{hint}"
    );
}

#[test]
fn summary_and_runbook_are_required_and_runbook_may_be_spelt_runbook() {
    let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    annotations:\n      description: d\n      runbook: r\n";
    let loaded = Builder::new("a.yml", text)
        .group("g", None)
        .alert("A", "up == 0")
        .for_("5m")
        .annotation("description", "d")
        .annotation("runbook", "r")
        .build();
    assert_eq!(
        found(&loaded, MISSING_SUMMARY),
        ["4:12 alert/missing-summary"]
    );
    assert!(found(&loaded, MISSING_RUNBOOK).is_empty());

    let text = "groups:\n- name: g\n  rules:\n  - alert: B\n    expr: up == 0\n    for: 5m\n    annotations:\n      summary: \" \"\n";
    let loaded = Builder::new("a.yml", text)
        .group("g", None)
        .alert("B", "up == 0")
        .for_("5m")
        .annotation("summary", " ")
        .build();
    let all = lint(&loaded);
    let levels: Vec<(&str, Level)> = all.iter().map(|d| (d.code, d.level)).collect();
    assert_eq!(
        levels,
        [
            (MISSING_SUMMARY, Level::Warning),
            (MISSING_RUNBOOK, Level::Info)
        ]
    );
}

#[test]
fn interval_too_long_points_at_the_interval() {
    let text = "groups:\n- name: slow\n  interval: 10m\n  rules: []\n- name: fine\n  interval: 5m\n  rules: []\n";
    let loaded = Builder::new("a.yml", text)
        .group("slow", Some("10m"))
        .group("fine", Some("5m"))
        .build();
    assert_eq!(
        found(&loaded, INTERVAL_TOO_LONG),
        ["3:13 group/interval-too-long"]
    );
}

#[test]
fn value_in_label_points_at_the_label_value() {
    let text = yaml_alert(
        "up == 0",
        "    for: 5m\n    labels:\n      severity: critical\n      load: '{{ $value | humanize }}'\n      other: '{{ $labels.value }}'\n",
    );
    let loaded = Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", "up == 0")
        .for_("5m")
        .label("severity", "critical")
        .label("load", "{{ $value | humanize }}")
        .label("other", "{{ $labels.value }}")
        .annotation("summary", "s")
        .annotation("runbook_url", "r")
        .build();
    assert_eq!(
        found(&loaded, VALUE_IN_LABEL),
        ["9:14 alert/value-in-label"]
    );
}

#[test]
fn absent_needs_a_for_of_twice_the_scrape_interval() {
    let text = yaml_alert("absent(up{job=\"api\"})", "    for: 30s\n");
    let loaded = Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", "absent(up{job=\"api\"})")
        .for_("30s")
        .annotation("summary", "s")
        .annotation("runbook_url", "r")
        .build();
    assert_eq!(
        found(&loaded, ABSENT_SHORT_FOR),
        ["6:10 promql/absent-short-for"]
    );
    let fast = LintOptions {
        scrape_interval: Duration::secs(15),
        ..LintOptions::default()
    };
    assert!(found_with(&loaded, ABSENT_SHORT_FOR, &fast).is_empty());
    // No `for` at all: point at the alert.
    let loaded = yaml_loaded("absent_over_time(up[5m])");
    assert_eq!(
        found(&loaded, ABSENT_SHORT_FOR),
        ["4:12 promql/absent-short-for"]
    );
    assert!(found(&loaded, FOR_MISSING).is_empty());
    assert!(found(&loaded, NO_COMPARISON).is_empty());
}

#[test]
fn lints_do_not_fire_on_a_good_alert() {
    let text = yaml_alert("rate(errors_total[5m]) > 1", "    for: 10m\n");
    let loaded = Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", "rate(errors_total[5m]) > 1")
        .for_("10m")
        .annotation("summary", "s")
        .annotation("runbook_url", "r")
        .build();
    assert_eq!(lint(&loaded), Vec::<Diagnostic>::new());
}

#[test]
fn a_comment_disables_lints_in_its_file_and_unknown_ids_warn() {
    let expr = "node_load1";
    let text = format!(
        "# rulecheck disable=promql/no-comparison, alert/for-mising\n{}",
        yaml_alert(expr, "")
    );
    let loaded = Builder::new("a.yml", &text)
        .group("g", None)
        .alert("A", expr)
        .annotation("summary", "s")
        .annotation("runbook_url", "r")
        .build();
    let all = lint(&loaded);
    let codes: Vec<String> = all
        .iter()
        .map(|d| {
            let (_, l, c) = loaded.sources.locate(d.span);
            format!("{l}:{c} {}", d.code)
        })
        .collect();
    assert_eq!(codes, ["1:43 rulecheck/unknown-lint"]);
    assert_eq!(
        all.first().and_then(|d| d.hint.clone()).as_deref(),
        Some("did you mean `alert/for-missing`?")
    );
}

#[test]
fn options_disable_lints_everywhere() {
    let loaded = yaml_loaded("node_load1 > 4");
    assert_eq!(found(&loaded, FOR_MISSING).len(), 1);
    let options = LintOptions {
        disabled: vec![FOR_MISSING.to_string()],
        ..LintOptions::default()
    };
    assert!(found_with(&loaded, FOR_MISSING, &options).is_empty());
}

#[test]
fn report_merges_load_diagnostics_in_order() {
    let mut loaded = yaml_loaded("node_load1");
    loaded.diagnostics.push(Diagnostic::error(
        "prom/unknown-field",
        Span::new(0, 0, 6),
        "unknown field",
    ));
    let codes: Vec<&str> = report(&loaded, &LintOptions::default())
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, ["prom/unknown-field", NO_COMPARISON]);
}

/// Issue 21: promtool warns about rules with the same name and labels in
/// one file (alerting and recording alike, across groups) and Prometheus
/// runs them all; so does klaxon, with a warning at the second one.
#[test]
fn duplicate_rules_are_a_warning_at_the_repeat_as_promtool_reports_them() {
    let text = "groups:\n- name: a\n  rules:\n  - alert: CortexRolloutStuck\n    expr: sts > 0\n    labels:\n      severity: warning\n  - alert: CortexRolloutStuck\n    expr: deploy > 0\n    labels:\n      severity: warning\n  - alert: CortexRolloutStuck\n    expr: other > 0\n    labels:\n      severity: critical\n- name: b\n  rules:\n  - record: CortexRolloutStuck\n    expr: sum(x)\n    labels:\n      severity: warning\n  - record: job:r\n    expr: sum(y)\n  - record: job:r\n    expr: sum(z)\n";
    let loaded = Builder::new("a.yml", text)
        .group("a", None)
        .alert("CortexRolloutStuck", "sts > 0")
        .label("severity", "warning")
        .alert("CortexRolloutStuck", "deploy > 0")
        .label("severity", "warning")
        .alert("CortexRolloutStuck", "other > 0")
        .label("severity", "critical")
        .group("b", None)
        .record("CortexRolloutStuck", "sum(x)")
        .label("severity", "warning")
        .record("job:r", "sum(y)")
        .record("job:r", "sum(z)")
        .build();
    assert_eq!(
        found(&loaded, DUPLICATE_RULE),
        [
            "8:12 model/duplicate-rule",
            "18:13 model/duplicate-rule",
            "24:13 model/duplicate-rule"
        ]
    );
    let dups: Vec<Diagnostic> = lint(&loaded)
        .into_iter()
        .filter(|d| d.code == DUPLICATE_RULE)
        .collect();
    assert!(dups.iter().all(|d| d.level == Level::Warning));
    assert_eq!(
        dups[0].message,
        "alert `CortexRolloutStuck` is defined twice in this file with the same labels"
    );
    assert_eq!(loaded.sources.locate(dups[0].related[0].0).1, 4);
    assert!(
        dups[1]
            .message
            .contains("both an alert and a recording rule")
    );
    // Disabled like any lint, as `promtool check rules --lint=none`.
    let options = LintOptions {
        disabled: vec![DUPLICATE_RULE.to_string()],
        ..LintOptions::default()
    };
    assert!(found_with(&loaded, DUPLICATE_RULE, &options).is_empty());
}

#[test]
fn duplicate_dsl_alerts_compare_each_severity_level() {
    let text = "group g {\n  alert Lag {\n    query prometheus `lag`\n    warning when value > 1\n  }\n  alert Lag {\n    query prometheus `lag`\n    critical when value > 9\n  }\n  alert Lag {\n    query prometheus `lag`\n    warning when value > 5\n  }\n}\n";
    let loaded = Builder::new("a.rules", text)
        .group("g", None)
        .alert("Lag", "lag")
        .severity(
            "warning when value > 1",
            Condition::Compare(CmpOp::Gt, 1.0),
            None,
        )
        .alert("Lag", "lag")
        .severity(
            "critical when value > 9",
            Condition::Compare(CmpOp::Gt, 9.0),
            None,
        )
        .alert("Lag", "lag")
        .severity(
            "warning when value > 5",
            Condition::Compare(CmpOp::Gt, 5.0),
            None,
        )
        .build();
    assert_eq!(
        found(&loaded, DUPLICATE_RULE),
        ["10:9 model/duplicate-rule"]
    );
}

#[test]
fn every_lint_is_documented_in_docs_lints_md() {
    let docs = include_str!("../../docs/lints.md");
    for lint in LINTS {
        let heading = format!("\n## {}\n\n**Level:** {}\n", lint.id, lint.level.as_str());
        assert!(docs.contains(&heading), "docs/lints.md lacks `{heading}`");
        let disable = format!("Disable: `# rulecheck disable={}`", lint.id);
        assert!(docs.contains(&disable), "docs/lints.md lacks `{disable}`");
        let row = format!("| [`{}`]", lint.id);
        assert!(
            docs.contains(&row),
            "docs/lints.md's table lacks {}",
            lint.id
        );
    }
    assert!(
        docs.contains("`rulecheck/unknown-lint`"),
        "docs/lints.md does not mention `rulecheck/unknown-lint`"
    );
}
