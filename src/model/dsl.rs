//! Lowering of a parsed DSL file into the model, with the semantic checks
//! that need only the file itself: label names, durations, PromQL and
//! template syntax, thresholds that contradict each other, regexes, settings.
//! Checks that need every file (unknown receivers, duplicates across groups)
//! live in [`super::validate`].

use std::collections::HashMap;

use crate::diag::{Diagnostic, FileId, Span, suggest};
use crate::lang::ast;
use crate::model::components::{
    Component, Kind, Place, SettingSpec, Validated, datasource, email, inner_span, slack,
    time_window, webhook,
};
use crate::model::{
    self, AlertSpec, CompiledMatcher, Datasource, DatasourceConfig, DatasourceKind, EsQuery, Group,
    Inhibit, Integration, IntegrationConfig, IntegrationKind, NoDataPolicy, Origin, Pair, Pairs,
    PromQuery, Query, Receiver, ResolveRule, Route, Rule, RuleKind, RuleSet, Setting, SettingValue,
    SeverityRule, TimeWindow, condition,
};
use crate::vocab::condition::Condition;
use crate::vocab::labels::is_valid_label_name;
use crate::vocab::labels::sanitize_label_name;
use crate::vocab::matcher::Matcher;
use crate::vocab::secret::SecretValue;
use crate::vocab::time::Duration;

/// Alertmanager's defaults for the root route.
const DEFAULT_GROUP_WAIT: Duration = Duration(30_000);
const DEFAULT_GROUP_INTERVAL: Duration = Duration(300_000);
const DEFAULT_REPEAT_INTERVAL: Duration = Duration(4 * 3600 * 1000);
/// Resolves go out this soon unless a route says otherwise.
const DEFAULT_RESOLVE_WAIT: Duration = Duration(5_000);

/// Adds one parsed DSL file to the rule set, reporting semantic errors.
/// Each item's syntax tree is dropped once it is lowered, so a large file's
/// tree and model are not both whole in memory at once.
pub fn lower(file: FileId, ast: ast::File, rules: &mut RuleSet, diags: &mut Vec<Diagnostic>) {
    let mut cx = Lower {
        diags,
        regexes: model::promql::SharedRegexes::default(),
    };
    let mut group_names: HashMap<String, Span> = HashMap::new();
    for item in ast.items {
        match &item {
            ast::Item::Group(g) => {
                if let Some(first) = group_names.get(&g.name.node) {
                    cx.diags.push(
                        Diagnostic::error(
                            "model/duplicate-group",
                            g.name.span,
                            format!("group `{}` is defined twice in this file", g.name.node),
                        )
                        .with_label("defined again here")
                        .with_related(*first, "first defined here")
                        .with_hint("rename one of the groups or merge them".to_string()),
                    );
                } else {
                    group_names.insert(g.name.node.clone(), g.name.span);
                }
                let group = cx.group(file, g);
                rules.groups.push(group);
            }
            ast::Item::Datasource(d) => {
                if let Some(ds) = cx.datasource(d) {
                    rules.datasources.push(ds);
                }
            }
            ast::Item::Receiver(r) => rules.receivers.push(cx.receiver(r)),
            ast::Item::Route(r) => {
                if let Some(first) = &rules.route {
                    cx.diags.push(
                        Diagnostic::error(
                            "model/duplicate-route",
                            r.span,
                            "a second top-level `route`: there is one routing tree",
                        )
                        .with_label("second root route")
                        .with_related(first.span, "the root route is defined here")
                        .with_hint("nest this route inside the root one".to_string()),
                    );
                } else {
                    rules.route = Some(cx.root_route(r));
                }
            }
            ast::Item::Inhibit(i) => rules.inhibits.push(cx.inhibit(i)),
            ast::Item::TimeWindow(w) => rules.time_windows.push(cx.time_window(w)),
            ast::Item::Include(_) => {}
        }
    }
}

struct Lower<'d> {
    diags: &'d mut Vec<Diagnostic>,
    regexes: model::promql::SharedRegexes,
}

impl Lower<'_> {
    fn pairs(&mut self, set: &ast::LabelSet, what: &str, check_templates: bool) -> Pairs {
        let mut out: Pairs = Vec::new();
        for (name, value) in &set.pairs {
            if !is_valid_label_name(&name.node) {
                self.diags.push(
                    Diagnostic::error(
                        "model/invalid-label-name",
                        name.span,
                        format!("invalid {what} name `{}`", name.node),
                    )
                    .with_label("names are letters, digits and `_`, not starting with a digit")
                    .with_hint(Some(format!("try `{}`", sanitize_label_name(&name.node)))),
                );
            } else if name.node.starts_with("__") {
                self.diags.push(
                    Diagnostic::error(
                        "model/invalid-label-name",
                        name.span,
                        format!("{what} names starting with `__` are reserved for internal use"),
                    )
                    .with_label("reserved name"),
                );
            }
            if let Some(first) = out.iter().find(|p| p.name == name.node) {
                self.diags.push(
                    Diagnostic::error(
                        "model/duplicate-label",
                        name.span,
                        format!("{what} `{}` is set twice", name.node),
                    )
                    .with_label("set again here")
                    .with_related(first.name_span, "first set here"),
                );
                continue;
            }
            if check_templates {
                self.template(&value.node, value.span, what);
            }
            out.push(Pair {
                name: name.node.clone(),
                value: value.node.clone(),
                name_span: name.span,
                value_span: value.span,
            });
        }
        out
    }

    fn template(&mut self, text: &str, span: Span, what: &str) {
        if let Err(e) = crate::template::check(text) {
            self.diags.push(
                Diagnostic::error(
                    "model/template",
                    inner_span(text, span, e.offset),
                    format!("invalid template in {what}: {}", e.message),
                )
                .with_label("template error here"),
            );
        }
    }

    fn duration(&self, d: &ast::Spanned<ast::Duration>) -> Duration {
        Duration(d.node.millis)
    }

    fn group(&mut self, file: FileId, g: &ast::Group) -> Group {
        if g.name.node.is_empty() {
            self.diags.push(
                Diagnostic::error("model/empty-name", g.name.span, "a group needs a name")
                    .with_label("empty name"),
            );
        }
        let interval = g.every.as_ref().map(|d| self.duration(d));
        if let (Some(every), Some(Duration(0))) = (&g.every, interval) {
            self.diags.push(
                Diagnostic::error(
                    "model/invalid-duration",
                    every.span,
                    "`every` must be longer than 0s",
                )
                .with_label("zero interval"),
            );
        }
        let labels = g
            .labels
            .as_ref()
            .map(|l| self.pairs(l, "label", true))
            .unwrap_or_default();
        let mut rules = Vec::new();
        for r in &g.rules {
            match r {
                ast::RuleDef::Alert(a) => {
                    if let Some(rule) = self.alert(a, &labels) {
                        rules.push(rule);
                    }
                }
                ast::RuleDef::Record(rec) => {
                    if let Some(rule) = self.record(rec, &labels) {
                        rules.push(rule);
                    }
                }
            }
        }
        Group {
            name: g.name.node.clone(),
            file,
            span: g.name.span,
            origin: Origin::Dsl,
            interval,
            interval_span: g.every.as_ref().map(|d| d.span),
            limit: g.limit.as_ref().map_or(0, |l| l.node),
            labels,
            rules,
        }
    }

    /// Rule labels over group labels: the rule's value wins.
    fn merge_labels(group: &Pairs, own: Pairs) -> Pairs {
        let mut out: Pairs = group
            .iter()
            .filter(|g| !own.iter().any(|o| o.name == g.name))
            .cloned()
            .collect();
        out.extend(own);
        out
    }

    fn query(&mut self, q: &ast::Spanned<ast::Query>) -> Query {
        match &q.node {
            ast::Query::Prometheus { datasource, expr } => {
                let parsed = if expr.node.trim().is_empty() {
                    self.diags.push(
                        Diagnostic::error("promql/syntax", expr.span, "the query is empty")
                            .with_label("empty PromQL"),
                    );
                    None
                } else {
                    match model::promql::parse(&expr.node, expr.span) {
                        Ok(mut ast) => {
                            self.regexes.share(&mut ast);
                            Some(ast)
                        }
                        Err(d) => {
                            self.diags.push(d);
                            None
                        }
                    }
                };
                Query::Prometheus(PromQuery {
                    datasource: datasource.as_ref().map(|d| d.node.clone()),
                    datasource_span: datasource.as_ref().map(|d| d.span),
                    expr: expr.node.clone(),
                    span: expr.span,
                    ast: parsed,
                })
            }
            ast::Query::Elasticsearch(es) => {
                if es.window.node.millis == 0 {
                    self.diags.push(
                        Diagnostic::error(
                            "model/invalid-duration",
                            es.window.span,
                            "the window must be longer than 0s",
                        )
                        .with_label("zero window"),
                    );
                }
                let mut labels: Vec<(String, Span)> = Vec::new();
                for term in &es.by {
                    let label = EsQuery::label_for(&term.node);
                    if let Some((_, first)) = labels.iter().find(|(l, _)| *l == label) {
                        self.diags.push(
                            Diagnostic::error(
                                "model/duplicate-label",
                                term.span,
                                format!(
                                    "`by {}` gives the label `{label}` a second time",
                                    term.node
                                ),
                            )
                            .with_label("same label as an earlier term")
                            .with_related(*first, "first gives it here"),
                        );
                    } else {
                        labels.push((label, term.span));
                    }
                }
                Query::Elasticsearch(EsQuery {
                    datasource: es.datasource.node.clone(),
                    datasource_span: es.datasource.span,
                    agg: es.agg.node,
                    field: es.field.as_ref().map(|f| f.node.clone()),
                    filter: es.filter.as_ref().map(|f| f.node.clone()),
                    window: Duration(es.window.node.millis),
                    by: es.by.iter().map(|b| b.node.clone()).collect(),
                    span: q.span,
                })
            }
        }
    }

    fn alert(&mut self, a: &ast::Alert, group_labels: &Pairs) -> Option<Rule> {
        if a.name.node.is_empty() {
            self.diags.push(
                Diagnostic::error("model/empty-name", a.name.span, "an alert needs a name")
                    .with_label("empty name"),
            );
        }
        let Some(q) = &a.query else {
            if a.broken {
                return None;
            }
            self.diags.push(
                Diagnostic::error(
                    "model/missing-query",
                    a.name.span,
                    format!("alert `{}` has no `query`", a.name.node),
                )
                .with_label("no query in this alert")
                .with_hint("add e.g. query prometheus `up == 0`".to_string()),
            );
            return None;
        };
        let query = self.query(q);
        if a.severities.is_empty() && !a.broken {
            self.diags.push(
                Diagnostic::error(
                    "model/missing-severity",
                    a.name.span,
                    format!("alert `{}` has no severity line, so it can never fire", a.name.node),
                )
                .with_label("no `info|warning|critical when ...` line")
                .with_hint("add e.g. `warning when value > 10 for 5m`, or `warning when present` to fire on every returned series".to_string()),
            );
        }
        let own_labels = a
            .labels
            .as_ref()
            .map(|l| self.pairs(l, "label", true))
            .unwrap_or_default();
        let severity_label_fixed = own_labels.iter().any(|p| p.name == "severity")
            || group_labels.iter().any(|p| p.name == "severity");
        if severity_label_fixed && a.severities.len() > 1 {
            let span = own_labels
                .iter()
                .chain(group_labels.iter())
                .find(|p| p.name == "severity")
                .map_or(a.name.span, |p| p.name_span);
            self.diags.push(
                Diagnostic::warning(
                    "model/severity-label-fixed",
                    span,
                    "`severity` is set in labels, so escalation between the severity lines will not change the label",
                )
                .with_label("fixed severity label")
                .with_hint("remove the `severity` label and let the severity lines set it".to_string()),
            );
        }
        let labels = Self::merge_labels(group_labels, own_labels);

        let mut annotations: Pairs = Vec::new();
        for ann in &a.annotations {
            if let Some(first) = annotations.iter().find(|p| p.name == ann.key.node) {
                self.diags.push(
                    Diagnostic::error(
                        "model/duplicate-annotation",
                        ann.key.span,
                        format!("annotation `{}` is set twice", ann.key.node),
                    )
                    .with_label("set again here")
                    .with_related(first.name_span, "first set here"),
                );
                continue;
            }
            if ann.form == ast::AnnotationForm::Free && !is_valid_label_name(&ann.key.node) {
                self.diags.push(
                    Diagnostic::error(
                        "model/invalid-label-name",
                        ann.key.span,
                        format!("invalid annotation name `{}`", ann.key.node),
                    )
                    .with_label("names are letters, digits and `_`"),
                );
            }
            self.template(&ann.value.node, ann.value.span, "annotation");
            annotations.push(Pair {
                name: ann.key.node.clone(),
                value: ann.value.node.clone(),
                name_span: ann.key.span,
                value_span: ann.value.span,
            });
        }

        let mut severities: Vec<SeverityRule> = a
            .severities
            .iter()
            .map(|s| SeverityRule {
                level: s.level.node,
                condition: s.condition.node.clone(),
                span: s.condition.span,
                for_: s.for_.as_ref().map_or(Duration(0), |d| self.duration(d)),
                for_span: s.for_.as_ref().map(|d| d.span),
            })
            .collect();
        severities.sort_by_key(|s| s.level);
        self.check_conditions(a, &query);

        let resolve = a.resolve.as_ref().map(|r| ResolveRule {
            condition: r.condition.node.clone(),
            span: r.condition.span,
            for_: r.for_.as_ref().map_or(Duration(0), |d| self.duration(d)),
        });
        let nodata = match a.nodata.as_ref().map(|n| &n.node) {
            None | Some(ast::NoData::Ok) => NoDataPolicy::Ok,
            Some(ast::NoData::Keep) => NoDataPolicy::Keep,
            Some(ast::NoData::After(d, level)) => {
                if d.node.millis == 0 {
                    self.diags.push(
                        Diagnostic::error(
                            "model/invalid-duration",
                            d.span,
                            "`nodata after` needs a duration longer than 0s",
                        )
                        .with_label("zero duration"),
                    );
                }
                NoDataPolicy::Alert {
                    after: self.duration(d),
                    level: level.node,
                }
            }
        };
        Some(Rule {
            name: a.name.node.clone(),
            span: a.name.span,
            origin: Origin::Dsl,
            query,
            labels,
            kind: RuleKind::Alert(AlertSpec {
                severities,
                resolve,
                keep_firing_for: a
                    .keep_firing_for
                    .as_ref()
                    .map_or(Duration(0), |d| self.duration(d)),
                nodata,
                annotations,
                severity_label_fixed,
            }),
        })
    }

    /// Thresholds that cannot work: a condition that never holds, a critical
    /// level less strict than a lower one, a resolve that overlaps firing or
    /// can never hold.
    fn check_conditions(&mut self, a: &ast::Alert, query: &Query) {
        for s in &a.severities {
            if condition::never_holds(&s.condition.node) {
                self.diags.push(
                    Diagnostic::error(
                        "model/contradiction",
                        s.condition.span,
                        format!("the {} condition can never be true", s.level.node.as_str()),
                    )
                    .with_label("no value satisfies this")
                    .with_hint("check `and`/`or` and the direction of each comparison".to_string()),
                );
            }
            if matches!(query, Query::Elasticsearch(_)) && s.condition.node == Condition::Present {
                // An aggregation always returns a number; `present` is always true.
                self.diags.push(
                    Diagnostic::warning(
                        "model/present-on-aggregation",
                        s.condition.span,
                        "an Elasticsearch aggregation always returns a value, so `present` always fires",
                    )
                    .with_label("always true")
                    .with_hint("compare the value instead, e.g. `value > 0`".to_string()),
                );
            }
        }
        // A higher level must be at least as strict as every lower one.
        for hi in &a.severities {
            for lo in &a.severities {
                if hi.level.node <= lo.level.node {
                    continue;
                }
                let (h, l) = (&hi.condition.node, &lo.condition.node);
                if condition::never_holds(h) || condition::never_holds(l) {
                    continue;
                }
                if condition::implies(l, h) {
                    let same = condition::implies(h, l);
                    self.diags.push(
                        Diagnostic::error(
                            "model/severity-order",
                            hi.condition.span,
                            if same {
                                format!(
                                    "the {} and {} conditions are the same, so the alert is always {}",
                                    lo.level.node.as_str(),
                                    hi.level.node.as_str(),
                                    hi.level.node.as_str()
                                )
                            } else {
                                format!(
                                    "the {} condition `{}` is less strict than the {} condition `{}`: every {} value is also {}",
                                    hi.level.node.as_str(),
                                    condition::display(h),
                                    lo.level.node.as_str(),
                                    condition::display(l),
                                    lo.level.node.as_str(),
                                    hi.level.node.as_str(),
                                )
                            },
                        )
                        .with_label(format!("{} threshold", hi.level.node.as_str()))
                        .with_related(lo.condition.span, format!("{} threshold", lo.level.node.as_str()))
                        .with_hint(format!(
                            "a {} threshold must be stricter than the {} one (e.g. `> 100` for critical with `> 50` for warning)",
                            hi.level.node.as_str(),
                            lo.level.node.as_str()
                        )),
                    );
                }
            }
        }
        if let Some(r) = &a.resolve {
            let rc = &r.condition.node;
            if a.severities
                .iter()
                .any(|s| s.condition.node == Condition::Present)
                || *rc == Condition::Present
            {
                self.diags.push(
                    Diagnostic::error(
                        "model/resolve-threshold",
                        r.condition.span,
                        "`resolve when` needs threshold conditions on `value`, not `present`",
                    )
                    .with_label("hysteresis needs thresholds")
                    .with_hint(
                        "write e.g. `warning when value > 100` and `resolve when value < 80`"
                            .to_string(),
                    ),
                );
                return;
            }
            if condition::never_holds(rc) {
                self.diags.push(
                    Diagnostic::error(
                        "model/resolve-never",
                        r.condition.span,
                        "the resolve condition can never be true, so the alert would never resolve",
                    )
                    .with_label("no value satisfies this"),
                );
                return;
            }
            for s in &a.severities {
                if let Some(v) = condition::overlap(&s.condition.node, rc) {
                    self.diags.push(
                        Diagnostic::error(
                            "model/resolve-overlap",
                            r.condition.span,
                            format!(
                                "the resolve condition `{}` overlaps the {} condition `{}` (both hold at {}): the alert would resolve while still over its threshold",
                                condition::display(rc),
                                s.level.node.as_str(),
                                condition::display(&s.condition.node),
                                crate::vocab::condition::format_number(v)
                            ),
                        )
                        .with_label("overlaps the firing condition")
                        .with_related(s.condition.span, format!("{} condition", s.level.node.as_str()))
                        .with_hint("the resolve threshold must lie on the healthy side, e.g. fire at `value > 100`, resolve at `value < 80`".to_string()),
                    );
                    break;
                }
            }
        }
    }

    fn record(&mut self, r: &ast::Record, group_labels: &Pairs) -> Option<Rule> {
        if !model::is_valid_metric_name(&r.name.node) {
            self.diags.push(
                Diagnostic::error(
                    "model/invalid-metric-name",
                    r.name.span,
                    format!("`{}` is not a valid metric name for a recording rule", r.name.node),
                )
                .with_label("metric names are letters, digits, `_` and `:`")
                .with_hint("recording rules are usually named level:metric:operations, e.g. `job:http_requests:rate5m`".to_string()),
            );
        }
        let Some(q) = &r.query else {
            if r.broken {
                return None;
            }
            self.diags.push(
                Diagnostic::error(
                    "model/missing-query",
                    r.name.span,
                    format!("recording rule `{}` has no `query`", r.name.node),
                )
                .with_label("no query in this rule"),
            );
            return None;
        };
        if let ast::Query::Elasticsearch(_) = q.node {
            self.diags.push(
                Diagnostic::error(
                    "model/record-elasticsearch",
                    q.span,
                    "recording rules take a Prometheus query; klaxon cannot write Elasticsearch results as series",
                )
                .with_label("not a Prometheus query"),
            );
            return None;
        }
        let query = self.query(q);
        // Recording-rule labels are not templates in Prometheus, but they are
        // expanded the same way; check them alike.
        let own = r
            .labels
            .as_ref()
            .map(|l| self.pairs(l, "label", true))
            .unwrap_or_default();
        Some(Rule {
            name: r.name.node.clone(),
            span: r.name.span,
            origin: Origin::Dsl,
            query,
            labels: Self::merge_labels(group_labels, own),
            kind: RuleKind::Record,
        })
    }

    fn secret(v: &ast::Spanned<ast::Value>) -> SecretValue {
        match &v.node {
            ast::Value::Str(s) | ast::Value::Word(s) => SecretValue::Literal(s.clone()),
            ast::Value::Env(s) => SecretValue::Env(s.clone()),
            ast::Value::File(s) => SecretValue::File(s.clone()),
        }
    }

    /// Converts a block's settings for the model, reporting what is not a
    /// setting of the component (`schema`) or not shaped as one (a block
    /// where a value goes, several values for one); the values themselves
    /// are the component's to check. A map's entries become settings named
    /// `map.NAME`.
    fn settings(
        &mut self,
        settings: &[ast::Setting],
        what: &str,
        schema: &[SettingSpec],
    ) -> Vec<Setting> {
        let mut out = Vec::new();
        let value = |v: &ast::Spanned<ast::Value>| SettingValue {
            value: Self::secret(v),
            span: v.span,
        };
        for s in settings {
            let Some(spec) = schema.iter().find(|k| k.name == s.key.node) else {
                let known: Vec<&str> = schema.iter().map(|k| k.name).collect();
                self.diags.push(
                    Diagnostic::error(
                        "model/unknown-setting",
                        s.key.span,
                        format!("unknown setting `{}` in {what}", s.key.node),
                    )
                    .with_label("not a setting here")
                    .with_hint(
                        suggest(&s.key.node, known.iter().copied())
                            .or_else(|| Some(format!("{what} settings: {}", known.join(", ")))),
                    ),
                );
                continue;
            };
            match (&s.map, spec.kind) {
                (Some(map), Kind::Map) => {
                    for (name, v) in &map.pairs {
                        out.push(Setting {
                            name: format!("{}.{}", s.key.node, name.node),
                            values: vec![value(v)],
                            span: name.span,
                        });
                    }
                    continue;
                }
                (Some(map), _) => {
                    self.diags.push(
                        Diagnostic::error(
                            "model/setting-value",
                            map.span,
                            format!("`{}` takes a value, not a `{{ }}` block", s.key.node),
                        )
                        .with_label("unexpected block"),
                    );
                    continue;
                }
                (None, Kind::Map) => {
                    self.diags.push(
                        Diagnostic::error(
                            "model/setting-value",
                            s.span,
                            format!(
                                "`{}` takes a block: {} {{ Name = \"value\" }}",
                                s.key.node, s.key.node
                            ),
                        )
                        .with_label("expected `{`"),
                    );
                    continue;
                }
                (None, _) => {}
            }
            if s.values.len() > 1 && spec.kind != Kind::List {
                self.diags.push(
                    Diagnostic::error(
                        "model/setting-value",
                        s.values[1].span,
                        format!("`{}` takes one value", s.key.node),
                    )
                    .with_label("extra value"),
                );
            }
            out.push(Setting {
                name: s.key.node.clone(),
                values: s.values.iter().map(value).collect(),
                span: s.span,
            });
        }
        out
    }

    fn count_unknown_settings(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.code == "model/unknown-setting")
            .count()
    }

    /// A component's settings, converted and validated.
    fn component<T: Component>(
        &mut self,
        settings: &[ast::Setting],
        what: &str,
        place: Place,
        quiet_when_misspelt: bool,
    ) -> Validated<T> {
        let before = self.count_unknown_settings();
        let settings = self.settings(settings, what, T::SETTINGS);
        // A misspelt setting was already reported; "missing X" would repeat it.
        let misspelt = self.count_unknown_settings() > before;
        Validated::new(
            settings,
            place,
            !(quiet_when_misspelt && misspelt),
            self.diags,
        )
    }

    fn datasource(&mut self, d: &ast::Datasource) -> Option<Datasource> {
        let place = Place::Datasource {
            name: d.name.node.clone(),
            span: d.name.span,
        };
        let what = format!("a {} datasource", d.kind.node);
        let (kind, config) = match d.kind.node.as_str() {
            "prometheus" => (
                DatasourceKind::Prometheus,
                DatasourceConfig::Prometheus(self.component::<datasource::PrometheusConfig>(
                    &d.settings,
                    &what,
                    place,
                    false,
                )),
            ),
            "elasticsearch" => (
                DatasourceKind::Elasticsearch,
                DatasourceConfig::Elasticsearch(self.component::<datasource::ElasticsearchConfig>(
                    &d.settings,
                    &what,
                    place,
                    false,
                )),
            ),
            _ => return None, // reported by the parser
        };
        Some(Datasource {
            name: d.name.node.clone(),
            kind,
            span: d.name.span,
            config,
        })
    }

    fn receiver(&mut self, r: &ast::Receiver) -> Receiver {
        if r.integrations.is_empty() {
            self.diags.push(
                Diagnostic::warning(
                    "model/empty-receiver",
                    r.name.span,
                    format!(
                        "receiver `{}` has no integration, so alerts routed to it are dropped",
                        r.name.node
                    ),
                )
                .with_label("no slack, email or webhook block")
                .with_hint(
                    "add e.g. `webhook { url \"https://...\" }`, or route elsewhere".to_string(),
                ),
            );
        }
        let mut integrations = Vec::new();
        for (index, i) in r.integrations.iter().enumerate() {
            let kind = match i.kind.node.as_str() {
                "slack" => IntegrationKind::Slack,
                "email" => IntegrationKind::Email,
                _ => IntegrationKind::Webhook,
            };
            let what = format!("a {} integration", i.kind.node);
            let place = Place::Integration {
                receiver: r.name.node.clone(),
                kind: kind.as_str(),
                index,
                span: i.kind.span,
            };
            let config = match kind {
                IntegrationKind::Slack => IntegrationConfig::Slack(
                    self.component::<slack::SlackConfig>(&i.settings, &what, place, true),
                ),
                IntegrationKind::Email => IntegrationConfig::Email(
                    self.component::<email::EmailConfig>(&i.settings, &what, place, true),
                ),
                IntegrationKind::Webhook => IntegrationConfig::Webhook(
                    self.component::<webhook::WebhookConfig>(&i.settings, &what, place, true),
                ),
            };
            integrations.push(Integration {
                kind,
                span: i.kind.span,
                config,
            });
        }
        Receiver {
            name: r.name.node.clone(),
            span: r.name.span,
            integrations,
        }
    }

    fn matchers(&mut self, ms: &[ast::Matcher]) -> Vec<CompiledMatcher> {
        ms.iter()
            .filter_map(|m| {
                if !is_valid_label_name(&m.name.node) {
                    self.diags.push(
                        Diagnostic::error(
                            "model/invalid-label-name",
                            m.name.span,
                            format!("invalid label name `{}` in matcher", m.name.node),
                        )
                        .with_label("names are letters, digits and `_`"),
                    );
                }
                let matcher = Matcher::new(m.name.node.clone(), m.op, m.value.node.clone());
                match matcher.compile() {
                    Ok(compiled) => Some(compiled),
                    Err(e) => {
                        let last = e.last_line();
                        self.diags.push(
                            Diagnostic::error(
                                "model/invalid-regex",
                                m.value.span,
                                format!("invalid regular expression: {last}"),
                            )
                            .with_label("does not compile")
                            .with_hint(
                                "matchers use RE2 syntax, anchored at both ends".to_string(),
                            ),
                        );
                        None
                    }
                }
            })
            .collect()
    }

    fn root_route(&mut self, r: &ast::Route) -> Route {
        if let Some(first) = r.matchers.first() {
            self.diags.push(
                Diagnostic::error(
                    "model/root-route-match",
                    first.span,
                    "the root route matches every alert and cannot have `match`",
                )
                .with_label("not allowed on the root route")
                .with_hint("move this into a nested `route { match ... }`".to_string()),
            );
        }
        if let Some(span) = r.continue_ {
            self.diags.push(
                Diagnostic::error(
                    "model/root-route-continue",
                    span,
                    "the root route cannot `continue`",
                )
                .with_label("not allowed on the root route"),
            );
        }
        if r.receiver.is_none() {
            self.diags.push(
                Diagnostic::error(
                    "model/missing-receiver",
                    r.span,
                    "the root route needs a `receiver`",
                )
                .with_label("no default receiver")
                .with_hint("alerts that match no nested route go to the root receiver".to_string()),
            );
        }
        let parent = Route {
            matchers: Vec::new(),
            receiver: String::new(),
            group_by: Vec::new(),
            group_by_all: false,
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            resolve_wait: DEFAULT_RESOLVE_WAIT,
            continue_: false,
            mute_during: Vec::new(),
            active_during: Vec::new(),
            routes: Vec::new(),
            span: r.span,
        };
        self.route(r, &parent)
    }

    /// Lowers a route, inheriting unset settings from its parent as
    /// Alertmanager does.
    fn route(&mut self, r: &ast::Route, parent: &Route) -> Route {
        let (group_by, group_by_all) = match &r.group_by {
            Some(g) => {
                let all = g.node.iter().any(|n| n.node == "...");
                if all && g.node.len() > 1 {
                    self.diags.push(
                        Diagnostic::error(
                            "model/group-by",
                            g.span,
                            "`group_by ...` groups by every label and takes no other names",
                        )
                        .with_label("`...` mixed with names"),
                    );
                }
                for n in &g.node {
                    if n.node != "..." && !is_valid_label_name(&n.node) {
                        self.diags.push(
                            Diagnostic::error(
                                "model/invalid-label-name",
                                n.span,
                                format!("invalid label name `{}` in group_by", n.node),
                            )
                            .with_label("names are letters, digits and `_`"),
                        );
                    }
                }
                (
                    g.node
                        .iter()
                        .filter(|n| n.node != "...")
                        .map(|n| n.node.clone())
                        .collect(),
                    all,
                )
            }
            None => (parent.group_by.clone(), parent.group_by_all),
        };
        for (d, what) in [
            (&r.group_interval, "group_interval"),
            (&r.repeat_interval, "repeat_interval"),
        ] {
            if let Some(d) = d.as_ref().filter(|d| d.node.millis == 0) {
                {
                    self.diags.push(
                        Diagnostic::error(
                            "model/invalid-duration",
                            d.span,
                            format!("`{what}` must be longer than 0s"),
                        )
                        .with_label("zero duration"),
                    );
                }
            }
        }
        let mut route = Route {
            matchers: self.matchers(&r.matchers),
            receiver: r
                .receiver
                .as_ref()
                .map_or_else(|| parent.receiver.clone(), |n| n.node.clone()),
            group_by,
            group_by_all,
            group_wait: r
                .group_wait
                .as_ref()
                .map_or(parent.group_wait, |d| self.duration(d)),
            group_interval: r
                .group_interval
                .as_ref()
                .map_or(parent.group_interval, |d| self.duration(d)),
            repeat_interval: r
                .repeat_interval
                .as_ref()
                .map_or(parent.repeat_interval, |d| self.duration(d)),
            resolve_wait: r
                .resolve_wait
                .as_ref()
                .map_or(parent.resolve_wait, |d| self.duration(d)),
            continue_: r.continue_.is_some(),
            mute_during: r.mute_during.iter().map(|n| n.node.clone()).collect(),
            active_during: r.active_during.iter().map(|n| n.node.clone()).collect(),
            routes: Vec::new(),
            span: r.receiver.as_ref().map_or(r.span, |n| n.span),
        };
        let children: Vec<Route> = r.routes.iter().map(|c| self.route(c, &route)).collect();
        route.routes = children;
        route
    }

    fn inhibit(&mut self, i: &ast::Inhibit) -> Inhibit {
        if i.source.is_empty() || i.target.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "model/inhibit-incomplete",
                    i.span,
                    "an inhibit rule needs both `source` and `target` matchers",
                )
                .with_label("missing source or target")
                .with_hint("e.g. `inhibit { source severity = \"critical\"  target severity = \"warning\"  equal alertname }`".to_string()),
            );
        }
        for n in &i.equal {
            if !is_valid_label_name(&n.node) {
                self.diags.push(
                    Diagnostic::error(
                        "model/invalid-label-name",
                        n.span,
                        format!("invalid label name `{}` in equal", n.node),
                    )
                    .with_label("names are letters, digits and `_`"),
                );
            }
        }
        Inhibit {
            source: self.matchers(&i.source),
            target: self.matchers(&i.target),
            equal: i.equal.iter().map(|n| n.node.clone()).collect(),
            span: i.span,
        }
    }

    fn time_window(&mut self, w: &ast::TimeWindow) -> TimeWindow {
        let place = Place::TimeWindow {
            name: w.name.node.clone(),
            span: w.name.span,
        };
        TimeWindow {
            name: w.name.node.clone(),
            span: w.name.span,
            config: self.component::<time_window::TimeWindowConfig>(
                &w.settings,
                "a time_window",
                place,
                false,
            ),
        }
    }
}
