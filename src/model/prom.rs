//! Loader for Prometheus rule files (`groups:` YAML).
//!
//! The file is read with serde-saphyr into a small YAML tree in which every
//! key and value keeps its byte span (plain documents straight from the
//! events of serde-saphyr's parser, which yields the same tree in half the
//! time; see `yaml::direct`); the schema is then checked by hand so
//! that one mistake is reported precisely (with a did-you-mean where one
//! fits) and never hides the next. Everything `promtool check rules` rejects
//! is an error here, with the same wording where promtool has one.
//!
//! Positions inside string values (a PromQL error in a multi-line `expr`, a
//! template error in an annotation) are mapped back through YAML quoting,
//! escapes and line folding by [`yaml::ScalarMap`], so a caret lands on the
//! offending character rather than on the start of the value.

use std::collections::HashMap;

use crate::diag::{Diagnostic, FileId, Span, did_you_mean, suggest};
use crate::model::{
    AlertSpec, Condition, Duration, Group, NoDataPolicy, Origin, Pair, Pairs, PromQuery, Query,
    Rule, RuleKind, SeverityLevel, SeverityRule, parse_duration, promql,
};
use crate::template;

use yaml::{Node, NodeValue, ScalarKind};

/// Fields Prometheus accepts at the top of a rule file.
const FILE_FIELDS: &[&str] = &["groups"];
/// Fields Prometheus accepts in a group.
const GROUP_FIELDS: &[&str] = &[
    "name",
    "interval",
    "limit",
    "rules",
    "query_offset",
    "labels",
];
/// Fields Prometheus accepts in a rule.
const RULE_FIELDS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Loads one Prometheus rule file into model groups plus diagnostics.
///
/// Never panics: malformed YAML, wrong types and hostile input (deep nesting,
/// alias bombs) become diagnostics. Every group and rule that can be built is
/// returned even when others in the file are broken.
pub fn load_file(file: FileId, text: &str) -> (Vec<Group>, Vec<Diagnostic>) {
    let mut loader = FileLoader {
        file,
        text,
        diags: Vec::new(),
        regexes: promql::SharedRegexes::default(),
    };
    let groups = match yaml::parse(file, text) {
        Ok((mut root, extra)) => {
            loader.diags.extend(extra);
            loader.file_root(&mut root)
        }
        Err(d) => {
            loader.diags.push(*d);
            Vec::new()
        }
    };
    (groups, loader.diags)
}

struct FileLoader<'a> {
    file: FileId,
    text: &'a str,
    diags: Vec<Diagnostic>,
    regexes: promql::SharedRegexes,
}

/// Which mapping a field list belongs to, for messages and cross-level hints.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    File,
    Group,
    Rule,
}

impl Level {
    fn noun(self) -> &'static str {
        match self {
            Level::File => "the top level of a rule file",
            Level::Group => "a rule group",
            Level::Rule => "a rule",
        }
    }

    fn known(self) -> &'static [&'static str] {
        match self {
            Level::File => FILE_FIELDS,
            Level::Group => GROUP_FIELDS,
            Level::Rule => RULE_FIELDS,
        }
    }
}

/// A mapping entry whose key is a known field name.
struct Field<'n> {
    name: &'n str,
    key: &'n Node,
    value: &'n Node,
}

impl<'a> FileLoader<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    // ----- generic shape checks -------------------------------------------------------------

    /// Reports a value of the wrong YAML kind.
    fn wrong_type(&mut self, node: &Node, what: impl std::fmt::Display, expected_label: &str) {
        let found = node.describe();
        let d = Diagnostic::error(
            "prom/wrong-type",
            node.span,
            format!("{what} must be {expected_label}, found {found}"),
        )
        .with_label(format!("expected {expected_label}"));
        self.push(d);
    }

    /// The known fields of a mapping, in order, and the known fields that
    /// unknown keys look like misspellings of. Reports non-string keys,
    /// duplicate keys (keeping the first) and unknown fields.
    fn fields<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        level: Level,
    ) -> (Vec<Field<'n>>, Vec<&'static str>) {
        let mut out = Vec::new();
        let mut misspelt = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (key, value) in entries {
            let Some(name) = key.as_key() else {
                self.wrong_type(
                    key,
                    format_args!("a key in {}", level.noun()),
                    "a field name",
                );
                continue;
            };
            if let Some(first) = seen.get(name) {
                let d = Diagnostic::error(
                    "prom/duplicate-key",
                    key.span,
                    format!("`{name}` is set twice in {}", level.noun()),
                )
                .with_label("set again here")
                .with_related(*first, "first set here")
                .with_hint("Prometheus refuses duplicate keys; remove one of them".to_string());
                self.push(d);
                continue;
            }
            seen.insert(name, key.span);
            if !level.known().contains(&name) {
                misspelt.extend(self.unknown_field(name, key, value, level));
                continue;
            }
            out.push(Field { name, key, value });
        }
        (out, misspelt)
    }

    /// Reports an unknown field; returns the known field it resembles.
    fn unknown_field(
        &mut self,
        name: &str,
        key: &Node,
        value: &Node,
        level: Level,
    ) -> Option<&'static str> {
        let known = level.known();
        let resembles = did_you_mean(name, known.iter().copied());
        let elsewhere = [Level::File, Level::Group, Level::Rule]
            .into_iter()
            .find(|l| *l != level && l.known().contains(&name));
        let hint = match (elsewhere, level) {
            (Some(Level::Rule), Level::Group) => Some(format!(
                "`{name}` is a rule field: rules go in a list under the group's `rules:`"
            )),
            (Some(Level::Group), Level::File) => Some(format!(
                "`{name}` is a group field: groups go in a list under `groups:`"
            )),
            (Some(Level::Group), Level::Rule) if name == "name" => Some(
                "a rule is named by `alert:` (alerting rule) or `record:` (recording rule)"
                    .to_string(),
            ),
            (Some(Level::Group), Level::Rule) => Some(format!(
                "`{name}` is a group field; is this rule indented under the right group?"
            )),
            (Some(Level::Rule), Level::File) => Some(format!(
                "`{name}` is a rule field: rules go under `groups:` → `rules:`"
            )),
            _ => suggest(name, known.iter().copied()).or_else(|| {
                let accepted = known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(match (&value.value, level) {
                    (NodeValue::Scalar(_), Level::Rule) => format!(
                        "if `{name}` is a label, put it under `labels:`; a rule accepts: {accepted}"
                    ),
                    _ => format!("{} accepts: {accepted}", level.noun()),
                })
            }),
        };
        let d = Diagnostic::error(
            "prom/unknown-field",
            key.span,
            format!("unknown field `{name}` in {}", level.noun()),
        )
        .with_label("unknown field")
        .with_hint(hint);
        self.push(d);
        resembles
    }

    /// A scalar value as text; `Ok(None)` for null; reports other kinds.
    /// `what` names the value in the message; it is only formatted then.
    fn string_value(
        &mut self,
        node: &Node,
        what: impl std::fmt::Display,
    ) -> Result<Option<String>, ()> {
        match &node.value {
            NodeValue::Null => Ok(None),
            NodeValue::Scalar(s) => Ok(Some(s.text.clone())),
            _ => {
                self.wrong_type(node, what, "a string");
                Err(())
            }
        }
    }

    /// A duration value; reports kind and syntax errors.
    fn duration_value(&mut self, field: &Field<'_>) -> Option<(Duration, Span)> {
        let text = self
            .string_value(field.value, format_args!("`{}`", field.name))
            .ok()??;
        match parse_duration(&text) {
            Ok(d) => Some((d, field.value.span)),
            Err(msg) => {
                let d = Diagnostic::error(
                    "prom/invalid-duration",
                    field.value.span,
                    format!("invalid `{}`: {msg}", field.name),
                )
                .with_label("not a duration")
                .with_hint("write a duration such as `30s`, `5m`, `1h30m` or `1d`".to_string());
                self.push(d);
                None
            }
        }
    }

    /// A `name: value` mapping of labels or annotations, with spans and
    /// each value's node. Names are checked with `check_name`; values must
    /// be scalars.
    fn pairs<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        check_name: fn(&str) -> Result<(), String>,
        code: &'static str,
    ) -> Vec<(Pair, &'n Node)> {
        let entries = match &node.value {
            NodeValue::Null => return Vec::new(),
            NodeValue::Map(entries) => entries,
            _ => {
                self.wrong_type(
                    node,
                    format_args!("`{what}`"),
                    "a mapping of names to values",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (key, value) in entries {
            let Some(name) = key.as_key() else {
                self.wrong_type(key, format_args!("a name in `{what}`"), "a string");
                continue;
            };
            if let Some(first) = seen.get(name) {
                let d = Diagnostic::error(
                    "prom/duplicate-key",
                    key.span,
                    format!("`{name}` is set twice in `{what}`"),
                )
                .with_label("set again here")
                .with_related(*first, "first set here")
                .with_hint("Prometheus refuses duplicate keys; remove one of them".to_string());
                self.push(d);
                continue;
            }
            seen.insert(name, key.span);
            if let Err(why) = check_name(name) {
                let kind = if what == "annotations" {
                    "annotation"
                } else {
                    "label"
                };
                let d = Diagnostic::error(code, key.span, format!("invalid {kind} name: {name}"))
                    .with_label(why);
                let d = match name.replace(['-', '.', ' ', '/'], "_") {
                    fixed if fixed != name && check_name(&fixed).is_ok() => {
                        d.with_hint(format!("did you mean `{fixed}`?"))
                    }
                    _ => d,
                };
                self.push(d);
            }
            let value_text = match self.string_value(value, format_args!("the value of `{name}`")) {
                Ok(v) => v.unwrap_or_default(),
                Err(()) => continue,
            };
            out.push((
                Pair {
                    name: name.to_string(),
                    value: value_text,
                    name_span: key.span,
                    value_span: value.span,
                },
                value,
            ));
        }
        out
    }

    /// Checks a template (label value or annotation) and maps an error's
    /// offset back into the file.
    fn check_template(&mut self, value: &str, node: &Node, what: impl std::fmt::Display) {
        if let Err(e) = template::check(value) {
            let map = yaml::ScalarMap::new(self.text, node, value);
            let at = map.offset(e.offset);
            let span = Span::new(self.file, at, map.offset(e.offset + 1).max(at));
            let d = Diagnostic::error(
                "template/syntax",
                span,
                format!("invalid template in {what}: {}", e.message),
            )
            .with_label("template error here");
            self.push(d);
        }
    }

    // ----- the schema -----------------------------------------------------------------------

    /// The file's groups. Each group's part of the YAML tree is dropped
    /// once its group is built, so the tree and the model it becomes are
    /// not both whole in memory at once.
    fn file_root(&mut self, root: &mut Node) -> Vec<Group> {
        let entries = match &root.value {
            NodeValue::Null => return Vec::new(),
            NodeValue::Map(entries) => entries,
            _ => {
                let found = root.describe();
                let d = Diagnostic::error(
                    "prom/wrong-type",
                    root.span,
                    format!("a Prometheus rule file must be a mapping with a `groups:` list, found {found}"),
                )
                .with_label("expected `groups:`")
                .with_hint("start the file with `groups:` followed by a list of groups".to_string());
                self.push(d);
                return Vec::new();
            }
        };
        let mut lists = Vec::new();
        for field in self.fields(entries, Level::File).0 {
            // `groups` is the only known field.
            match &field.value.value {
                NodeValue::Null => {}
                NodeValue::Seq(_) => lists.push(std::ptr::from_ref(field.value)),
                _ => self.wrong_type(field.value, "`groups`", "a list of groups"),
            }
        }
        let mut groups = Vec::new();
        for list in lists {
            let mut names: HashMap<String, Span> = HashMap::new();
            for mut item in root.take_list(list) {
                if let Some(g) = self.group(&mut item, &mut names) {
                    groups.push(g);
                }
            }
        }
        groups
    }

    /// A group; its rules' part of the YAML tree is dropped rule by rule.
    fn group(&mut self, node: &mut Node, names: &mut HashMap<String, Span>) -> Option<Group> {
        let NodeValue::Map(entries) = &node.value else {
            self.wrong_type(node, "a group", "a mapping with `name` and `rules`");
            return None;
        };
        let (fields, _) = self.fields(entries, Level::Group);
        let mut name: Option<(String, Span)> = None;
        let mut interval = None;
        let mut limit = 0u64;
        let mut labels: Pairs = Vec::new();
        let mut rules_node: Option<&Node> = None;
        let mut name_key: Option<&Node> = None;
        for f in &fields {
            match f.name {
                "name" => {
                    name_key = Some(f.key);
                    if let Ok(Some(n)) = self.string_value(f.value, "`name`") {
                        name = Some((n, f.value.span));
                    }
                }
                "interval" => interval = self.duration_value(f),
                "query_offset" => {
                    let _ = self.duration_value(f);
                }
                "limit" => limit = self.limit(f.value),
                "labels" => {
                    labels = self
                        .pairs(
                            f.value,
                            "labels",
                            check_label_name,
                            "prom/invalid-label-name",
                        )
                        .into_iter()
                        .map(|(p, _)| p)
                        .collect();
                }
                "rules" => rules_node = Some(f.value),
                _ => {}
            }
        }
        let (name, span) = match name {
            Some((n, span)) if !n.is_empty() => (n, span),
            other => {
                let span = other
                    .map(|(_, s)| s)
                    .or(name_key.map(|k| k.span))
                    .unwrap_or_else(|| node.first_key_span());
                let d = Diagnostic::error(
                    "prom/missing-group-name",
                    span,
                    "Groupname must not be empty",
                )
                .with_label("this group has no name")
                .with_hint(
                    "add `name: <group name>`; names must be unique within a file".to_string(),
                );
                self.push(d);
                (String::new(), span)
            }
        };
        if !name.is_empty() {
            if let Some(first) = names.get(&name) {
                let d = Diagnostic::error(
                    "prom/duplicate-group",
                    span,
                    format!("groupname: \"{name}\" is repeated in the same file"),
                )
                .with_label("repeated here")
                .with_related(*first, "first defined here")
                .with_hint("rename one of the groups or merge their rules".to_string());
                self.push(d);
            } else {
                names.insert(name.clone(), span);
            }
        }
        let rules_list = match rules_node.map(|rn| (rn, &rn.value)) {
            Some((rn, NodeValue::Seq(_))) => Some(std::ptr::from_ref(rn)),
            Some((_, NodeValue::Null)) | None => None,
            Some((rn, _)) => {
                self.wrong_type(rn, "`rules`", "a list of rules");
                None
            }
        };
        let mut rules = Vec::new();
        if let Some(list) = rules_list {
            for item in node.take_list(list) {
                if let Some(r) = self.rule(&item, &labels) {
                    rules.push(r);
                }
            }
        }
        Some(Group {
            name,
            file: self.file,
            span,
            origin: Origin::PrometheusYaml,
            interval: interval.map(|(d, _)| d),
            interval_span: interval.map(|(_, s)| s),
            limit,
            labels,
            rules,
        })
    }

    fn limit(&mut self, node: &Node) -> u64 {
        match &node.value {
            NodeValue::Null => 0,
            NodeValue::Scalar(s)
                if s.kind == ScalarKind::Int
                    || (s.kind == ScalarKind::Float
                        && s.text
                            .trim()
                            .trim_start_matches(['-', '+'])
                            .bytes()
                            .all(|b| b.is_ascii_digit())) =>
            {
                let t = s.text.trim();
                let parsed = match t.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => match t.strip_prefix("0o") {
                        Some(oct) => u64::from_str_radix(oct, 8),
                        None => t.parse::<u64>(),
                    },
                };
                if let Ok(n) = parsed {
                    n
                } else if t.starts_with('-') {
                    let d = Diagnostic::warning(
                        "prom/negative-limit",
                        node.span,
                        "a negative `limit` means no limit",
                    )
                    .with_hint("use `limit: 0` (or leave it out) for no limit".to_string());
                    self.push(d);
                    0
                } else {
                    let d = Diagnostic::error(
                        "prom/invalid-limit",
                        node.span,
                        format!("`limit` is too large: {t}"),
                    )
                    .with_label("not a 64-bit integer");
                    self.push(d);
                    0
                }
            }
            _ => {
                self.wrong_type(node, "`limit`", "a whole number");
                0
            }
        }
    }

    fn rule(&mut self, node: &Node, group_labels: &[Pair]) -> Option<Rule> {
        let NodeValue::Map(entries) = &node.value else {
            self.wrong_type(
                node,
                "a rule",
                "a mapping with `alert` or `record` and `expr`",
            );
            return None;
        };
        let (fields, misspelt) = self.fields(entries, Level::Rule);
        let get = |name: &str| fields.iter().find(|f| f.name == name);

        let mut alert: Option<(String, Span)> = None;
        let mut record: Option<(String, Span)> = None;
        if let Some(f) = get("alert")
            && let Ok(Some(v)) = self.string_value(f.value, "`alert`")
            && !v.is_empty()
        {
            alert = Some((v, f.value.span));
        }
        if let Some(f) = get("record")
            && let Ok(Some(v)) = self.string_value(f.value, "`record`")
            && !v.is_empty()
        {
            record = Some((v, f.value.span));
        }
        let kind_ok = match (&alert, &record) {
            (Some((_, a)), Some((_, r))) => {
                let (first, second) = if a.start < r.start {
                    (*a, *r)
                } else {
                    (*r, *a)
                };
                let d = Diagnostic::error(
                    "prom/alert-and-record",
                    second,
                    "only one of 'record' and 'alert' must be set",
                )
                .with_label("second rule name")
                .with_related(first, "first rule name")
                .with_hint("split this into an alerting rule and a recording rule".to_string());
                self.push(d);
                false
            }
            (None, None) if misspelt.contains(&"alert") || misspelt.contains(&"record") => false,
            (None, None) => {
                let span = get("alert")
                    .or(get("record"))
                    .map(|f| f.value.span)
                    .unwrap_or_else(|| node.first_key_span());
                let d = Diagnostic::error(
                    "prom/no-alert-or-record",
                    span,
                    "one of 'record' or 'alert' must be set",
                )
                .with_label("this rule has no name")
                .with_hint(
                    "add `alert: <AlertName>` for an alerting rule or `record: <metric:name>` for a recording rule"
                        .to_string(),
                );
                self.push(d);
                false
            }
            _ => true,
        };

        // expr
        let mut expr: Option<(String, &Node)> = None;
        match get("expr") {
            None if misspelt.contains(&"expr") => {}
            None => {
                let span = alert
                    .as_ref()
                    .or(record.as_ref())
                    .map(|(_, s)| *s)
                    .unwrap_or_else(|| node.first_key_span());
                let d = Diagnostic::error(
                    "prom/missing-expr",
                    span,
                    "field 'expr' must be set in rule",
                )
                .with_label("this rule has no `expr`")
                .with_hint("add `expr: <PromQL expression>`".to_string());
                self.push(d);
            }
            Some(f) => match self.string_value(f.value, "`expr`") {
                Ok(Some(v)) if !v.trim().is_empty() => expr = Some((v, f.value)),
                Ok(_) => {
                    let d = Diagnostic::error(
                        "prom/missing-expr",
                        f.value.span_or(f.key.span),
                        "field 'expr' must be set in rule",
                    )
                    .with_label("empty expression")
                    .with_hint("write the PromQL expression to evaluate".to_string());
                    self.push(d);
                }
                Err(()) => {}
            },
        }

        let is_record = record.is_some() && alert.is_none();
        let for_ = get("for").and_then(|f| self.duration_value(f).map(|d| (d, f)));
        let keep_firing_for =
            get("keep_firing_for").and_then(|f| self.duration_value(f).map(|d| (d, f)));
        let own_labels = get("labels")
            .map(|f| {
                self.pairs(
                    f.value,
                    "labels",
                    check_label_name,
                    "prom/invalid-label-name",
                )
            })
            .unwrap_or_default();
        let annotations = get("annotations")
            .map(|f| {
                self.pairs(
                    f.value,
                    "annotations",
                    check_annotation_name,
                    "prom/invalid-annotation-name",
                )
            })
            .unwrap_or_default();

        if is_record {
            for (field, value) in [("for", &for_), ("keep_firing_for", &keep_firing_for)] {
                if let Some(((d, _), f)) = value {
                    self.field_on_record(field, f.key.span.to(f.value.span), d.0 != 0);
                }
            }
            if let Some(f) = get("annotations") {
                self.field_on_record("annotations", f.key.span, !annotations.is_empty());
            }
            if let Some((name, span)) = &record
                && !is_valid_metric_name(name)
            {
                let fixed = crate::model::sanitize_metric_name(name);
                let d = Diagnostic::error("prom/invalid-record-name", *span, format!("invalid recording rule name: {name}"))
                    .with_label("must match [a-zA-Z_:][a-zA-Z0-9_:]*")
                    .with_hint(if is_valid_metric_name(&fixed) {
                        Some(format!("did you mean `{fixed}`?"))
                    } else {
                        Some("recording rule names are metric names: letters, digits, `_` and `:`, not starting with a digit".to_string())
                    });
                self.push(d);
            }
        } else if alert.is_some() {
            // Prometheus expands templates in alerting rules only.
            for (p, node) in &own_labels {
                self.check_template(&p.value, node, format_args!("label `{}`", p.name));
            }
            for (p, node) in &annotations {
                self.check_template(&p.value, node, format_args!("annotation `{}`", p.name));
            }
        }

        // PromQL
        let (expr_text, expr_span, ast) = match &expr {
            Some((text, node)) => {
                let map = yaml::ScalarMap::new(self.text, node, text);
                let file = self.file;
                let parsed = promql::parse_mapped(text, |off| {
                    let at = map.offset(off);
                    Span::new(file, at, at)
                });
                let ast = match parsed {
                    Ok(mut ast) => {
                        self.regexes.share(&mut ast);
                        Some(ast)
                    }
                    Err(d) => {
                        self.push(*d);
                        None
                    }
                };
                let start = map.offset(0);
                (
                    text.clone(),
                    Span::new(self.file, start, node.span.end.max(start)),
                    ast,
                )
            }
            None => (String::new(), node.first_key_span(), None),
        };

        if !kind_ok {
            return None;
        }

        let annotations: Pairs = annotations.into_iter().map(|(p, _)| p).collect();
        let mut labels: Pairs = own_labels.into_iter().map(|(p, _)| p).collect();
        for gl in group_labels {
            if !labels.iter().any(|l| l.name == gl.name) {
                labels.push(gl.clone());
            }
        }
        let query = Query::Prometheus(PromQuery {
            datasource: None,
            datasource_span: None,
            expr: expr_text,
            span: expr_span,
            ast,
        });
        let (name, span, kind) = match (alert, record) {
            (Some((name, span)), None) => {
                let level = labels
                    .iter()
                    .find(|l| l.name == "severity")
                    .and_then(|l| SeverityLevel::from_word(&l.value))
                    .unwrap_or(SeverityLevel::Warning);
                let ((for_d, for_span), _) = match for_ {
                    Some(((d, s), f)) => ((d, Some(s)), Some(f)),
                    None => ((Duration(0), None), None),
                };
                let kind = RuleKind::Alert(AlertSpec {
                    severities: vec![SeverityRule {
                        level,
                        condition: Condition::Present,
                        span: expr_span,
                        for_: for_d,
                        for_span,
                    }],
                    resolve: None,
                    keep_firing_for: keep_firing_for.map(|((d, _), _)| d).unwrap_or_default(),
                    nodata: NoDataPolicy::Ok,
                    annotations,
                    severity_label_fixed: true,
                });
                (name, span, kind)
            }
            (None, Some((name, span))) => (name, span, RuleKind::Record),
            _ => return None,
        };
        Some(Rule {
            name,
            span,
            origin: Origin::PrometheusYaml,
            query,
            labels,
            kind,
        })
    }

    fn field_on_record(&mut self, field: &str, span: Span, effective: bool) {
        if effective {
            let d = Diagnostic::error(
                "prom/field-on-record",
                span,
                format!("invalid field '{field}' in recording rule"),
            )
            .with_label("only alerting rules have this")
            .with_hint(format!(
                "remove `{field}`, or make this an alerting rule with `alert:` instead of `record:`"
            ));
            self.push(d);
        } else {
            let d = Diagnostic::warning(
                "prom/field-on-record",
                span,
                format!("`{field}` has no effect in a recording rule"),
            )
            .with_hint(format!("remove `{field}`"));
            self.push(d);
        }
    }
}

/// Label names as Prometheus rule labels accept them, minus the reserved
/// `__` prefix.
pub fn check_label_name(name: &str) -> Result<(), String> {
    check_annotation_name(name)?;
    if name.starts_with("__") {
        return Err("names starting with `__` are reserved for Prometheus".to_string());
    }
    Ok(())
}

/// Annotation names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn check_annotation_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok_first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !ok_first || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("must match [a-zA-Z_][a-zA-Z0-9_]*".to_string());
    }
    Ok(())
}

/// Metric names (recording rule names): `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A YAML tree with byte spans, read through serde-saphyr, and the mapping
/// from positions in a decoded string back to the file.
pub(crate) mod yaml {
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_saphyr::{Location, MessageFormatter, Spanned};

    use crate::diag::{Diagnostic, FileId, Span};

    /// Replayed alias events allowed per file: real rule files use a handful
    /// of anchors; a "billion laughs" file stops here instead of exhausting
    /// memory.
    const MAX_ALIAS_REPLAY_EVENTS: usize = 50_000;

    /// A YAML node: its value and where it was used and defined (these
    /// differ only for aliases).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Node {
        /// The value.
        pub value: NodeValue,
        /// Where it appears (for an alias, the `*name`).
        pub span: Span,
        /// Where its text is (for an alias, the anchored node).
        pub def: Span,
    }

    /// The kinds of YAML value.
    #[derive(Debug, Clone, PartialEq)]
    pub enum NodeValue {
        /// `null`, `~` or nothing.
        Null,
        /// Any scalar, as text.
        Scalar(Scalar),
        /// A sequence.
        Seq(Vec<Node>),
        /// A mapping, in order, duplicates kept.
        Map(Vec<(Node, Node)>),
    }

    /// A scalar's text (the decoded string, or the source text for numbers
    /// and booleans, as Go's YAML decoder hands it to a string field).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Scalar {
        /// The text.
        pub text: String,
        /// What YAML resolved it to.
        pub kind: ScalarKind,
    }

    /// What a plain scalar resolved to.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum ScalarKind {
        /// A string.
        Str,
        /// `true`/`false`.
        Bool,
        /// An integer.
        Int,
        /// A float.
        Float,
    }

    impl Node {
        /// The key text, for a scalar key.
        pub fn as_key(&self) -> Option<&str> {
            match &self.value {
                NodeValue::Scalar(s) => Some(&s.text),
                _ => None,
            }
        }

        /// "a list", "a number `5`", ... for messages.
        pub fn describe(&self) -> String {
            match &self.value {
                NodeValue::Null => "nothing (null)".to_string(),
                NodeValue::Seq(_) => "a list".to_string(),
                NodeValue::Map(_) => "a mapping".to_string(),
                NodeValue::Scalar(s) => {
                    let shown: String = s.text.chars().take(40).collect();
                    let shown = if shown.len() < s.text.len() {
                        format!("{shown}…")
                    } else {
                        shown
                    };
                    match s.kind {
                        ScalarKind::Str => format!("the string `{shown}`"),
                        ScalarKind::Bool => format!("the boolean `{shown}`"),
                        ScalarKind::Int | ScalarKind::Float => format!("the number `{shown}`"),
                    }
                }
            }
        }

        /// Takes out the items of the list that is the value `list` points
        /// at in this mapping (empty when it is none of its values), so a
        /// caller can drop them one by one once each is read.
        pub fn take_list(&mut self, list: *const Node) -> Vec<Node> {
            let NodeValue::Map(entries) = &mut self.value else {
                return Vec::new();
            };
            entries
                .iter_mut()
                .find(|(_, value)| std::ptr::eq(value, list))
                .and_then(|(_, value)| match &mut value.value {
                    NodeValue::Seq(items) => Some(std::mem::take(items)),
                    _ => None,
                })
                .unwrap_or_default()
        }

        /// The span of a mapping's first key (or the node itself), to point
        /// at a mapping as a whole.
        pub fn first_key_span(&self) -> Span {
            match &self.value {
                NodeValue::Map(entries) => entries.first().map_or(self.span, |(k, _)| k.span),
                _ => self.span,
            }
        }

        /// Its span, or `fallback` when it is empty (a missing value).
        pub fn span_or(&self, fallback: Span) -> Span {
            if self.span.start == self.span.end {
                fallback
            } else {
                self.span
            }
        }
    }

    // ----- reading through serde-saphyr -----------------------------------------------------

    enum Raw {
        Null,
        Bool,
        Int,
        Float,
        Str(String),
        Seq(Vec<Spanned<Raw>>),
        Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
    }

    impl<'de> Deserialize<'de> for Raw {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
            d.deserialize_any(RawVisitor)
        }
    }

    struct RawVisitor;

    impl<'de> Visitor<'de> for RawVisitor {
        type Value = Raw;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any YAML value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Raw, E> {
            Ok(Raw::Bool)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Raw, E> {
            Ok(Raw::Int)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Raw, E> {
            Ok(Raw::Int)
        }
        fn visit_i128<E>(self, _: i128) -> Result<Raw, E> {
            Ok(Raw::Int)
        }
        fn visit_u128<E>(self, _: u128) -> Result<Raw, E> {
            Ok(Raw::Int)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Raw, E> {
            Ok(Raw::Float)
        }
        fn visit_char<E>(self, v: char) -> Result<Raw, E> {
            Ok(Raw::Str(v.to_string()))
        }
        fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
            Ok(Raw::Str(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Raw, E> {
            Ok(Raw::Str(v))
        }
        fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
            Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
        }
        fn visit_unit<E>(self) -> Result<Raw, E> {
            Ok(Raw::Null)
        }
        fn visit_none<E>(self) -> Result<Raw, E> {
            Ok(Raw::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
            Raw::deserialize(d)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
            Raw::deserialize(d)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(Raw::Seq(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
            let mut entries = Vec::new();
            while let Some(key) = map.next_key::<Spanned<Raw>>()? {
                let value = map.next_value::<Spanned<Raw>>()?;
                entries.push((key, value));
            }
            Ok(Raw::Map(entries))
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Raw, A::Error> {
            Err(de::Error::custom("unexpected enum"))
        }
    }

    /// Most YAML nodes a document of `len` bytes may have: what no rule
    /// file comes near (real ones spend 10 to 30 bytes a node), so a large
    /// valid file Prometheus loads is never refused, while a file of
    /// nothing but tiny nodes still stops. serde-saphyr's own default
    /// (250,000) refused an 8 MB file of 24,000 ordinary rules.
    fn max_nodes(len: usize) -> usize {
        (len / 4).max(250_000)
    }

    fn options(len: usize) -> serde_saphyr::Options {
        let mut options = serde_saphyr::Options::default();
        let mut budget = options.budget.take().unwrap_or_default();
        budget.max_nodes = max_nodes(len);
        // A node is one event, a collection two (its start and end).
        budget.max_events = budget.max_events.max(2 * max_nodes(len));
        options.budget = Some(budget);
        options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
        options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
        options.with_snippet = false;
        options.alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAY_EVENTS;
        options
    }

    /// Parses the first YAML document of `text` into a spanned tree. Later
    /// documents are ignored (as Prometheus does) with a warning.
    pub fn parse(file: FileId, text: &str) -> Result<(Node, Vec<Diagnostic>), Box<Diagnostic>> {
        if let Some(root) = direct::tree(file, text) {
            return Ok((root, Vec::new()));
        }
        parse_through_serde(file, text)
    }

    /// [`parse`] through serde-saphyr alone: every document, however
    /// unusual, and every error.
    pub(super) fn parse_through_serde(
        file: FileId,
        text: &str,
    ) -> Result<(Node, Vec<Diagnostic>), Box<Diagnostic>> {
        let conv = Converter { file, text };
        match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options(text.len())) {
            Ok(root) => Ok((conv.node(root), Vec::new())),
            Err(e)
                if matches!(
                    e.without_snippet(),
                    serde_saphyr::Error::MultipleDocuments { .. }
                ) =>
            {
                let warn_at = conv.error_span(&e);
                let docs: Vec<Spanned<Raw>> =
                    serde_saphyr::from_str_multiple_with_options(text, options(text.len()))
                        .map_err(|e| Box::new(conv.error(&e)))?;
                let first = docs.into_iter().next();
                let d = Diagnostic::warning(
                    "prom/multiple-documents",
                    warn_at,
                    "this file has more than one YAML document; Prometheus reads only the first",
                )
                .with_label("ignored from here on")
                .with_hint("put every group under the first document's `groups:`".to_string());
                let root = first.map_or(
                    Node {
                        value: NodeValue::Null,
                        span: Span::new(file, 0, 0),
                        def: Span::new(file, 0, 0),
                    },
                    |r| conv.node(r),
                );
                Ok((root, vec![d]))
            }
            Err(e) => Err(Box::new(conv.error(&e))),
        }
    }

    struct Converter<'a> {
        file: FileId,
        text: &'a str,
    }

    /// The common case read straight from the YAML parser's events, without
    /// serde: about twice as fast, and the same tree.
    ///
    /// serde-saphyr reads the same events from the same parser
    /// (granit-parser, with the options it uses) and, for a document with
    /// one root node and no anchor, alias, tag, directive or merge key,
    /// hands each node to [`Raw`] unchanged, its location being the span of
    /// the event that starts it. Only plain scalars need care: serde-saphyr
    /// resolves them to null, booleans, integers or floats by rules of its
    /// own; [`plain_kind`] settles the obvious cases and lets serde-saphyr
    /// classify the rest. Anything else (errors included) returns `None`,
    /// and the document is read through serde-saphyr as a whole.
    mod direct {
        use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as Location};

        use super::{Node, NodeValue, Raw, Scalar, ScalarKind};
        use crate::diag::{FileId, Span};

        /// Deepest nesting read here; serde-saphyr's budget allows 64.
        const MAX_DEPTH: usize = 48;
        /// Largest document read here: a rule file's limit, below
        /// serde-saphyr's 64 MiB of scalar text. Nodes are counted against
        /// the same budget as serde-saphyr's ([`super::max_nodes`]), so a
        /// document over it is left to serde-saphyr, which says so.
        const MAX_BYTES: usize = crate::user_file::MAX_RULE_FILE_BYTES as usize;

        /// The tree of `text`, or `None` when serde-saphyr must read it.
        pub(super) fn tree(file: FileId, text: &str) -> Option<Node> {
            if text.len() > MAX_BYTES {
                return None;
            }
            // The options serde-saphyr gives the parser by default.
            let mut options = serde_saphyr::granit_parser::Options::default();
            options.simple_key_max_lookahead = 1024;
            options.flow_nesting_limit = 255;
            options.block_nesting_limit = options.block_nesting_limit.max(65);
            options.emit_comments = false;
            options.strict_indentation = false;
            let mut reader = Reader {
                file,
                text,
                parser: Parser::new_from_str_with_options(text, options),
                nodes: 0,
            };
            let Some((Event::StreamStart, _)) = reader.next() else {
                return None;
            };
            let Some((Event::DocumentStart(_, None), _)) = reader.next() else {
                return None;
            };
            let (event, at) = reader.next()?;
            let root = reader.node(event, &at, 0)?;
            let Some((Event::DocumentEnd, _)) = reader.next() else {
                return None;
            };
            let Some((Event::StreamEnd, _)) = reader.next() else {
                return None;
            };
            reader.parser.next().is_none().then_some(root)
        }

        struct Reader<'a> {
            file: FileId,
            text: &'a str,
            parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
            nodes: usize,
        }

        impl<'a> Reader<'a> {
            /// The next event; `None` at the end or on a syntax error.
            fn next(&mut self) -> Option<(Event<'a>, Location)> {
                self.parser.next()?.ok()
            }

            /// The byte span of an event, as serde-saphyr reports it.
            fn span(&self, at: &Location) -> Option<Span> {
                let start = at.start.byte_offset()?;
                let end = at.end.byte_offset()?;
                let end = start + end.checked_sub(start)?;
                (self.text.is_char_boundary(start) && self.text.is_char_boundary(end))
                    .then(|| Span::new(self.file, start, end))
            }

            /// The node that `event` starts.
            fn node(&mut self, event: Event<'a>, at: &Location, depth: usize) -> Option<Node> {
                self.nodes += 1;
                if self.nodes > super::max_nodes(self.text.len()) || depth > MAX_DEPTH {
                    return None;
                }
                let span = self.span(at)?;
                let value = match event {
                    Event::Scalar(text, style, 0, None) => {
                        let kind = match style {
                            ScalarStyle::Plain => plain_kind(&text)?,
                            _ => Some(ScalarKind::Str),
                        };
                        match kind {
                            None => NodeValue::Null,
                            Some(ScalarKind::Str) => NodeValue::Scalar(Scalar {
                                text: text.into_owned(),
                                kind: ScalarKind::Str,
                            }),
                            // As the serde path: the source text, as Go hands it to a string.
                            Some(kind) => NodeValue::Scalar(Scalar {
                                text: self.text.get(span.start..span.end)?.trim().to_string(),
                                kind,
                            }),
                        }
                    }
                    Event::SequenceStart(_, 0, None) => {
                        let mut items = Vec::new();
                        loop {
                            match self.next()? {
                                (Event::SequenceEnd, _) => break,
                                (event, at) => items.push(self.node(event, &at, depth + 1)?),
                            }
                        }
                        NodeValue::Seq(items)
                    }
                    Event::MappingStart(_, 0, None) => {
                        let mut entries = Vec::new();
                        loop {
                            let (key, key_at) = self.next()?;
                            match &key {
                                Event::MappingEnd => break,
                                // A merge key (in any style, to be safe) or a key
                                // that is not a scalar: serde-saphyr's business.
                                Event::Scalar(text, ..) if text.as_ref() != "<<" => {}
                                _ => return None,
                            }
                            let key = self.node(key, &key_at, depth + 1)?;
                            let (value, value_at) = self.next()?;
                            let value = self.node(value, &value_at, depth + 1)?;
                            entries.push((key, value));
                        }
                        NodeValue::Map(entries)
                    }
                    _ => return None,
                };
                Some(Node {
                    value,
                    span,
                    def: span,
                })
            }
        }

        /// What serde-saphyr resolves a plain scalar to: `Some(None)` for
        /// null, `Some(Some(kind))` otherwise, `None` when it must be asked.
        ///
        /// Null is `""`, `~`, `null`, `Null` or `NULL`. Booleans, integers
        /// and floats are spelt with ASCII letters, digits, `.`, `_`, `+`
        /// and `-` only, and start with a digit, a sign or `.` unless they
        /// are one of the boolean words; a decimal integer of up to 18
        /// digits without a leading zero is an integer; starting with a
        /// digit but not `0x`/`0o`/`0b`, a letter other than `e` rules out
        /// both integers and floats (`5m`, `1h30m`).
        pub(super) fn plain_kind(text: &str) -> Option<Option<ScalarKind>> {
            if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
                return Some(None);
            }
            let t = text.trim_matches([' ', '\t', '\r', '\n']);
            let bytes = t.as_bytes();
            let &first = bytes.first()?;
            if !bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
            {
                return Some(Some(ScalarKind::Str));
            }
            let boolean_word = ["true", "yes", "y", "on", "false", "no", "n", "off"]
                .iter()
                .any(|w| t.eq_ignore_ascii_case(w));
            if !boolean_word && !first.is_ascii_digit() && !matches!(first, b'+' | b'-' | b'.') {
                return Some(Some(ScalarKind::Str));
            }
            if first.is_ascii_digit() {
                if bytes.iter().all(u8::is_ascii_digit)
                    && bytes.len() <= 18
                    && (first != b'0' || bytes.len() == 1)
                {
                    return Some(Some(ScalarKind::Int));
                }
                let prefixed = first == b'0'
                    && bytes
                        .get(1)
                        .is_some_and(|b| matches!(b, b'x' | b'X' | b'o' | b'O' | b'b' | b'B'));
                if !prefixed
                    && bytes
                        .iter()
                        .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E'))
                {
                    return Some(Some(ScalarKind::Str));
                }
            }
            // The rest (`0x1F`, `1e3`, `-.inf`, `yes`, `1.5`, `+1`...) is rare:
            // serde-saphyr reads it alone, which resolves it as in place, since
            // such text is a plain scalar on its own too.
            match serde_saphyr::from_str_with_options::<Raw>(text, super::options(text.len()))
                .ok()?
            {
                Raw::Bool => Some(Some(ScalarKind::Bool)),
                Raw::Int => Some(Some(ScalarKind::Int)),
                Raw::Float => Some(Some(ScalarKind::Float)),
                Raw::Str(s) if s == text => Some(Some(ScalarKind::Str)),
                _ => None,
            }
        }
    }

    impl Converter<'_> {
        fn node(&self, raw: Spanned<Raw>) -> Node {
            let span = self.span(&raw.referenced);
            let def = self.span(&raw.defined);
            let source_text = || {
                self.text
                    .get(def.start..def.end)
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let value = match raw.value {
                Raw::Null => NodeValue::Null,
                Raw::Bool => NodeValue::Scalar(Scalar {
                    text: source_text(),
                    kind: ScalarKind::Bool,
                }),
                Raw::Int => NodeValue::Scalar(Scalar {
                    text: source_text(),
                    kind: ScalarKind::Int,
                }),
                Raw::Float => NodeValue::Scalar(Scalar {
                    text: source_text(),
                    kind: ScalarKind::Float,
                }),
                Raw::Str(s) => NodeValue::Scalar(Scalar {
                    text: s,
                    kind: ScalarKind::Str,
                }),
                Raw::Seq(items) => {
                    NodeValue::Seq(items.into_iter().map(|i| self.node(i)).collect())
                }
                Raw::Map(entries) => NodeValue::Map(
                    entries
                        .into_iter()
                        .map(|(k, v)| (self.node(k), self.node(v)))
                        .collect(),
                ),
            };
            Node { value, span, def }
        }

        /// The byte span of a location: exact when serde-saphyr has byte
        /// offsets, else from its line and column.
        fn span(&self, loc: &Location) -> Span {
            let s = loc.span();
            if let (Some(off), Some(len)) = (s.byte_offset(), s.byte_len()) {
                let start = usize::try_from(off).unwrap_or(usize::MAX);
                let end = start.saturating_add(usize::try_from(len).unwrap_or(0));
                if self.text.is_char_boundary(start.min(self.text.len()))
                    && self.text.is_char_boundary(end.min(self.text.len()))
                {
                    let start = start.min(self.text.len());
                    let end = end.min(self.text.len());
                    return Span::new(self.file, start, end);
                }
            }
            let at = self.offset_of(loc.line(), loc.column());
            Span::new(self.file, at, at)
        }

        /// Byte offset of a 1-based line and character column.
        fn offset_of(&self, line: u64, col: u64) -> usize {
            if line == 0 {
                return 0;
            }
            let mut start = 0usize;
            for _ in 1..line {
                match self.text[start..].find('\n') {
                    Some(i) => start += i + 1,
                    None => return self.text.len(),
                }
            }
            let line_text = self.text[start..].split('\n').next().unwrap_or("");
            let col = usize::try_from(col.saturating_sub(1)).unwrap_or(usize::MAX);
            start
                + line_text
                    .char_indices()
                    .nth(col)
                    .map_or(line_text.len(), |(i, _)| i)
        }

        fn error_span(&self, e: &serde_saphyr::Error) -> Span {
            match e.location() {
                Some(loc) if loc.line() > 0 => {
                    let at = self.span(&loc);
                    if at.start == at.end {
                        // Point at one character, not a gap, when we can.
                        let len = self.text[at.start..]
                            .chars()
                            .next()
                            .filter(|c| *c != '\n' && *c != '\r')
                            .map_or(0, char::len_utf8);
                        Span::new(self.file, at.start, at.start + len)
                    } else {
                        at
                    }
                }
                _ => Span::new(self.file, 0, 0),
            }
        }

        fn error(&self, e: &serde_saphyr::Error) -> Diagnostic {
            let mut inner = e.without_snippet();
            while let serde_saphyr::Error::AliasError { error, .. } = inner {
                inner = error.without_snippet();
            }
            let message = serde_saphyr::DefaultMessageFormatter
                .format_message(inner)
                .into_owned();
            let limit = matches!(
                inner,
                serde_saphyr::Error::Budget { .. }
                    | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
                    | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
                    | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
                    | serde_saphyr::Error::AliasReplayCounterOverflow { .. }
            ) || message.contains("recursion limit");
            let span = self.error_span(e);
            if limit {
                Diagnostic::error(
                    "prom/yaml-limit",
                    span,
                    format!("YAML too large or too deeply nested or aliased: {message}"),
                )
                .with_label("limit reached here")
                .with_hint("rule files do not need deep nesting or heavy alias expansion; simplify the YAML".to_string())
            } else {
                let hint = yaml_hint(&message);
                Diagnostic::error("prom/yaml-syntax", span, format!("invalid YAML: {message}"))
                    .with_label("YAML syntax error here")
                    .with_hint(hint)
            }
        }
    }

    /// Advice for the YAML mistakes people make in rule files.
    fn yaml_hint(message: &str) -> Option<String> {
        let m = message.to_ascii_lowercase();
        if m.contains("indent") || m.contains("block") || m.contains("expected '-'") {
            Some("check the indentation: keys of one mapping line up, and list items start with `- ` at the same column".to_string())
        } else if m.contains("mapping values are not allowed") {
            Some(
                "a value containing `: ` must be quoted, e.g. `summary: \"disk: full\"`"
                    .to_string(),
            )
        } else if m.contains("unclosed") || m.contains("flow") {
            Some(
                "close the bracket, or quote the value if `{` or `[` is meant literally"
                    .to_string(),
            )
        } else if m.contains("tab") {
            Some("YAML indentation must use spaces, not tabs".to_string())
        } else if m.contains("alias") || m.contains("anchor") {
            Some("every `*name` must refer to an earlier `&name`".to_string())
        } else if m.contains("quoted") || m.contains("escape") {
            Some("inside double quotes, write `\\\"` for a quote and `\\\\` for a backslash; single quotes need no escapes except `''`".to_string())
        } else {
            None
        }
    }

    // ----- positions inside decoded strings -------------------------------------------------

    /// Maps byte offsets in a decoded scalar back to byte offsets in the file.
    ///
    /// The scalar's source text is decoded again here (plain, single- and
    /// double-quoted with escapes and line folding, literal and folded block
    /// scalars) while recording where each output byte came from. If that
    /// re-decoding does not reproduce the value exactly, every offset maps to
    /// the start of the value instead of to a wrong place.
    pub struct ScalarMap {
        offsets: Offsets,
        start: usize,
    }

    /// Where the bytes of a decoded scalar are in the file.
    enum Offsets {
        /// Written verbatim: byte `i` is at `base + i`, up to `len`.
        Verbatim { base: usize, len: usize },
        /// Byte by byte, plus one past the end.
        Table(Vec<usize>),
        /// Not known: everything maps to the start of the value.
        Unknown,
    }

    impl ScalarMap {
        /// Builds the map for `value`, decoded from `node` in `text`.
        pub fn new(text: &str, node: &Node, value: &str) -> ScalarMap {
            let def = node.def;
            let start = content_start(text, def.start, def.end);
            // Most values are one line without escapes: their map is a
            // shift, found without decoding them again.
            let offsets = match verbatim(text, def.start, def.end) {
                Some((base, source)) if source == value => Offsets::Verbatim {
                    base,
                    len: value.len(),
                },
                _ => decode(text, def.start, def.end)
                    .filter(|(decoded, _)| decoded == value)
                    .map_or(Offsets::Unknown, |(_, map)| Offsets::Table(map)),
            };
            ScalarMap { offsets, start }
        }

        /// The file offset of byte `offset` of the decoded value (`offset`
        /// may be the length, meaning just past the end).
        pub fn offset(&self, offset: usize) -> usize {
            match &self.offsets {
                Offsets::Verbatim { base, len } => base + offset.min(*len),
                Offsets::Table(map) => map
                    .get(offset)
                    .or(map.last())
                    .copied()
                    .unwrap_or(self.start),
                Offsets::Unknown => self.start,
            }
        }
    }

    /// For a scalar at `start..end` that decodes to its own source text (a
    /// one-line plain scalar, or a one-line quoted one without escapes):
    /// where that text starts, and the text. [`decode`] maps such a scalar's
    /// bytes one to one onto the source, so the two agree on every offset.
    fn verbatim(text: &str, start: usize, end: usize) -> Option<(usize, &str)> {
        let raw = text.get(start..end)?;
        let (base, source, special) = match raw.as_bytes().first() {
            Some(&quote @ (b'"' | b'\'')) => {
                if raw.len() < 2 || raw.as_bytes().last() != Some(&quote) {
                    return None;
                }
                let special = if quote == b'"' { b'\\' } else { b'\'' };
                (start + 1, raw.get(1..raw.len() - 1)?, Some(special))
            }
            _ => {
                if block_header(text, start).is_some() {
                    return None;
                }
                (start, raw.trim_end(), None)
            }
        };
        let plain = source
            .bytes()
            .all(|b| b != b'\n' && b != b'\r' && Some(b) != special);
        plain.then_some((base, source))
    }

    /// Where a scalar's text starts: after an opening quote.
    fn content_start(text: &str, start: usize, end: usize) -> usize {
        match text.as_bytes().get(start) {
            Some(b'"' | b'\'') if end > start + 1 => start + 1,
            _ => start,
        }
    }

    /// Re-decodes the scalar at `start..end`, returning the value and, for
    /// each of its bytes plus one past the end, the file offset.
    fn decode(text: &str, start: usize, end: usize) -> Option<(String, Vec<usize>)> {
        let raw = text.get(start..end)?;
        let mut out = Out {
            text: String::with_capacity(raw.len()),
            map: Vec::with_capacity(raw.len() + 1),
        };
        match raw.as_bytes().first() {
            Some(b'"') => {
                let inner = raw.get(1..raw.len().checked_sub(1)?)?;
                if !raw.ends_with('"') {
                    return None;
                }
                fold_flow(inner, start + 1, Quote::Double, &mut out)?;
                out.finish(end - 1);
            }
            Some(b'\'') => {
                let inner = raw.get(1..raw.len().checked_sub(1)?)?;
                if !raw.ends_with('\'') {
                    return None;
                }
                fold_flow(inner, start + 1, Quote::Single, &mut out)?;
                out.finish(end - 1);
            }
            _ => {
                if let Some(header) = block_header(text, start) {
                    block(text, header, end, &mut out)?;
                } else {
                    let trimmed = raw.trim_end();
                    fold_flow(trimmed, start, Quote::Plain, &mut out)?;
                    out.finish(start + trimmed.len());
                }
            }
        }
        Some((out.text, out.map))
    }

    #[derive(Default)]
    struct Out {
        text: String,
        map: Vec<usize>,
    }

    impl Out {
        /// Appends `c`, each of its bytes coming from `at` onwards (or all
        /// from `at` when `exact` is false).
        fn push(&mut self, c: char, at: usize, exact: bool) {
            let len = c.len_utf8();
            self.text.push(c);
            for k in 0..len {
                self.map.push(if exact { at + k } else { at });
            }
        }

        /// Appends `s`, written verbatim from `at` onwards.
        fn push_exact(&mut self, s: &str, at: usize) {
            self.text.push_str(s);
            self.map.extend(at..at + s.len());
        }

        fn finish(&mut self, end: usize) {
            self.map.push(end);
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Quote {
        Plain,
        Single,
        Double,
    }

    /// Flow-scalar decoding: quotes' escapes and line folding (a single line
    /// break becomes a space, each further empty line a newline; whitespace
    /// around breaks is dropped).
    fn fold_flow(inner: &str, base: usize, quote: Quote, out: &mut Out) -> Option<()> {
        let chars: Vec<(usize, char)> = inner.char_indices().collect();
        let mut pending: Vec<(usize, char)> = Vec::new();
        let mut i = 0;
        while let Some(&(off, c)) = chars.get(i) {
            match c {
                '\r' | '\n' => {
                    pending.clear();
                    let first_break = base + off;
                    i = skip_break(&chars, i);
                    let mut empties = Vec::new();
                    // Each following blank line is one kept newline.
                    loop {
                        let j = skip_blanks(&chars, i);
                        match chars.get(j) {
                            Some(&(o, '\r' | '\n')) => {
                                empties.push(base + o);
                                i = skip_break(&chars, j);
                            }
                            _ => {
                                i = j;
                                break;
                            }
                        }
                    }
                    if empties.is_empty() {
                        out.push(' ', first_break, false);
                    } else {
                        for at in empties {
                            out.push('\n', at, false);
                        }
                    }
                }
                ' ' | '\t' => {
                    pending.push((off, c));
                    i += 1;
                }
                '\\' if quote == Quote::Double => {
                    flush(&mut pending, base, out);
                    let (_, e) = *chars.get(i + 1)?;
                    let at = base + off;
                    i += 2;
                    let decoded = match e {
                        '\r' | '\n' => {
                            i = skip_break(&chars, i - 1);
                            i = skip_blanks(&chars, i);
                            continue;
                        }
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        't' | '\t' => '\t',
                        'n' => '\n',
                        'v' => '\u{b}',
                        'f' => '\u{c}',
                        'r' => '\r',
                        'e' => '\u{1b}',
                        ' ' => ' ',
                        '"' => '"',
                        '/' => '/',
                        '\\' => '\\',
                        'N' => '\u{85}',
                        '_' => '\u{a0}',
                        'L' => '\u{2028}',
                        'P' => '\u{2029}',
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String =
                                chars.get(i..i + n)?.iter().map(|(_, c)| *c).collect();
                            i += n;
                            char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                        }
                        _ => return None,
                    };
                    out.push(decoded, at, false);
                }
                '\'' if quote == Quote::Single => {
                    flush(&mut pending, base, out);
                    match chars.get(i + 1) {
                        Some((_, '\'')) => {
                            out.push('\'', base + off, false);
                            i += 2;
                        }
                        _ => return None,
                    }
                }
                _ => {
                    flush(&mut pending, base, out);
                    out.push(c, base + off, true);
                    i += 1;
                }
            }
        }
        flush(&mut pending, base, out);
        Some(())
    }

    fn flush(pending: &mut Vec<(usize, char)>, base: usize, out: &mut Out) {
        for (off, c) in pending.drain(..) {
            out.push(c, base + off, true);
        }
    }

    /// Index after a line break (`\n`, `\r\n` or `\r`) at `i`.
    fn skip_break(chars: &[(usize, char)], i: usize) -> usize {
        match (chars.get(i), chars.get(i + 1)) {
            (Some((_, '\r')), Some((_, '\n'))) => i + 2,
            _ => i + 1,
        }
    }

    fn skip_blanks(chars: &[(usize, char)], mut i: usize) -> usize {
        while matches!(chars.get(i), Some((_, ' ' | '\t'))) {
            i += 1;
        }
        i
    }

    /// A block scalar's header (`|`, `>-`, `|2+`, ...).
    struct BlockHeader {
        folded: bool,
        chomp: Chomp,
        explicit_indent: Option<usize>,
        /// Indentation of the line the header is on.
        header_line_indent: usize,
        /// Offset of the first content line.
        body_start: usize,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Chomp {
        Strip,
        Clip,
        Keep,
    }

    /// Finds a block-scalar header before `start`: the last token before the
    /// content, on an earlier line, ignoring a trailing comment.
    fn block_header(text: &str, start: usize) -> Option<BlockHeader> {
        let before = text.get(..start)?;
        // The content of a block scalar starts on a later line than its header.
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        if !before[line_start..].trim().is_empty() {
            return None;
        }
        // Walk back over blank lines to the header line.
        let mut end = line_start;
        loop {
            let prev = before.get(..end.checked_sub(1)?)?;
            let ls = prev.rfind('\n').map_or(0, |i| i + 1);
            let line = &prev[ls..];
            if line.trim().is_empty() {
                end = ls;
                continue;
            }
            let code = match line.find(" #") {
                Some(i) => &line[..i],
                None => line,
            }
            .trim_end();
            let token_start = code.rfind([' ', '\t']).map_or(0, |i| i + 1);
            let token = &code[token_start..];
            let mut chars = token.chars();
            let folded = match chars.next()? {
                '|' => false,
                '>' => true,
                _ => return None,
            };
            let mut chomp = Chomp::Clip;
            let mut explicit_indent = None;
            for c in chars {
                match c {
                    '-' => chomp = Chomp::Strip,
                    '+' => chomp = Chomp::Keep,
                    '1'..='9' => explicit_indent = c.to_digit(10).map(|d| d as usize),
                    _ => return None,
                }
            }
            let header_line_indent = line.len() - line.trim_start_matches(' ').len();
            // The body starts on the line after the header.
            let body_start = ls + line.len() + 1;
            return Some(BlockHeader {
                folded,
                chomp,
                explicit_indent,
                header_line_indent,
                body_start: body_start.min(start),
            });
        }
    }

    fn block(text: &str, header: BlockHeader, end: usize, out: &mut Out) -> Option<()> {
        let body = text.get(header.body_start..end.max(header.body_start))?;
        // Lines with their offsets; a trailing partial line (the next key's
        // indentation) is not content.
        let mut lines: Vec<(usize, &str)> = Vec::new();
        let mut off = header.body_start;
        for piece in body.split_inclusive('\n') {
            let line = piece.trim_end_matches('\n').trim_end_matches('\r');
            if piece.ends_with('\n') || !line.trim().is_empty() {
                lines.push((off, line));
            }
            off += piece.len();
        }
        let indent = match header.explicit_indent {
            Some(n) => header.header_line_indent + n,
            None => lines
                .iter()
                .find(|(_, l)| !l.trim().is_empty())
                .map(|(_, l)| l.len() - l.trim_start_matches(' ').len())?,
        };
        let is_empty = |l: &str| l.len() <= indent && l.trim().is_empty();
        let last_content = lines.iter().rposition(|(_, l)| !is_empty(l));
        let Some(last_content) = last_content else {
            // Only empty lines: the value is empty (or newlines with `+`).
            if header.chomp == Chomp::Keep {
                for (o, l) in &lines {
                    out.push('\n', o + l.len(), false);
                }
            }
            out.finish(end);
            return Some(());
        };
        let mut prev_normal: Option<bool> = None;
        let mut prev_end = header.body_start;
        let mut empties: Vec<usize> = Vec::new();
        for (o, l) in lines.iter().take(last_content + 1) {
            if is_empty(l) {
                empties.push(o + l.len());
                continue;
            }
            let content = l.get(indent..)?;
            let normal = !content.starts_with([' ', '\t']);
            match prev_normal {
                Some(pn) if header.folded && pn && normal => {
                    if empties.is_empty() {
                        out.push(' ', prev_end, false);
                    }
                    for at in &empties {
                        out.push('\n', *at, false);
                    }
                }
                Some(_) => {
                    out.push('\n', prev_end, false);
                    for at in &empties {
                        out.push('\n', *at, false);
                    }
                }
                None => {
                    for at in &empties {
                        out.push('\n', *at, false);
                    }
                }
            }
            empties.clear();
            out.push_exact(content, o + indent);
            prev_normal = Some(normal);
            prev_end = o + l.len();
        }
        match header.chomp {
            Chomp::Strip => {}
            Chomp::Clip => out.push('\n', prev_end, false),
            Chomp::Keep => {
                out.push('\n', prev_end, false);
                for (o, l) in lines.iter().skip(last_content + 1) {
                    out.push('\n', o + l.len(), false);
                }
            }
        }
        out.finish(prev_end);
        Some(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The shortcut for values written verbatim maps every offset
        /// exactly as decoding the scalar again does, and is taken only
        /// for such values.
        #[test]
        fn verbatim_values_map_as_decoding_does() {
            let text = "plain: rate(x[5m]) > 0\n\
                        spaced: up  == 0   \n\
                        single: 'up{job=\"é\"} == 0'\n\
                        single_escaped: 'up{job=''x''} == 0'\n\
                        double: \"up{job='a'} ==  1\"\n\
                        double_escaped: \"up{job=\\\"a\\\"} == 1\"\n\
                        folded_plain: up\n  == 0\n\
                        block: |\n  up == 0\n";
            let (root, _) = parse(0, text).expect("valid yaml");
            let NodeValue::Map(entries) = &root.value else {
                panic!("not a map")
            };
            let mut shortcuts = Vec::new();
            for (key, node) in entries {
                let NodeValue::Scalar(s) = &node.value else {
                    panic!("not a scalar")
                };
                let map = ScalarMap::new(text, node, &s.text);
                let decoded = decode(text, node.def.start, node.def.end)
                    .filter(|(d, _)| *d == s.text)
                    .map(|(_, table)| table)
                    .expect("decodes");
                for offset in 0..s.text.len() + 3 {
                    let expected = decoded.get(offset).or(decoded.last()).copied();
                    assert_eq!(
                        Some(map.offset(offset)),
                        expected,
                        "{:?} at {offset}",
                        key.as_key()
                    );
                }
                if matches!(map.offsets, Offsets::Verbatim { .. }) {
                    shortcuts.push(key.as_key().unwrap_or_default().to_string());
                }
            }
            assert_eq!(shortcuts, ["plain", "spaced", "single", "double"]);
        }

        /// Reads `text` both ways; when the direct reader takes it, its
        /// tree must be serde-saphyr's. Returns whether it took it.
        fn read_alike(name: &str, text: &str) -> bool {
            let Some(direct) = direct::tree(7, text) else {
                return false;
            };
            match parse_through_serde(7, text) {
                Ok((tree, extra)) => {
                    assert!(extra.is_empty(), "{name}: serde-saphyr warned: {extra:?}");
                    assert_eq!(direct, tree, "{name}: trees differ for {text:?}");
                }
                Err(e) => panic!("{name}: read directly, but serde-saphyr refused it: {e:?}"),
            }
            true
        }

        /// Every YAML file of the repository's tests and of the corpus.
        fn yaml_inputs() -> Vec<(String, String)> {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let mut dirs = vec![root.join("tests")];
            let mut up = Some(root);
            while let Some(dir) = up {
                for candidate in [dir.join("shared/corpus"), dir.join("../shared/corpus")] {
                    if candidate.is_dir() && !dirs.contains(&candidate) {
                        dirs.push(candidate);
                    }
                }
                up = dir.parent();
            }
            let mut out = Vec::new();
            for dir in dirs {
                for entry in walkdir::WalkDir::new(&dir).into_iter().flatten() {
                    let path = entry.path();
                    let yaml = matches!(
                        path.extension().and_then(|e| e.to_str()),
                        Some("yml" | "yaml")
                    ) || path.to_string_lossy().contains("fuzz_regressions/yaml");
                    if entry.file_type().is_file()
                        && yaml
                        && let Ok(bytes) = std::fs::read(path)
                    {
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        out.push((path.display().to_string(), text));
                    }
                }
            }
            out
        }

        #[test]
        fn direct_reading_gives_serde_saphyrs_tree_for_real_files() {
            let inputs = yaml_inputs();
            let direct = inputs.iter().filter(|(n, t)| read_alike(n, t)).count();
            assert!(inputs.len() > 20, "{} inputs", inputs.len());
            // Most real files take the direct path; the rest are read by serde.
            assert!(
                direct * 10 > inputs.len() * 7,
                "{direct} of {}",
                inputs.len()
            );
        }

        #[test]
        fn direct_reading_gives_serde_saphyrs_tree_for_broken_files() {
            // Every prefix and every line-dropped variant of the fixtures:
            // truncated documents, broken indentation, dangling keys.
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
            let mut checked = 0;
            for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
                let path = entry.path();
                if !matches!(path.extension().and_then(|e| e.to_str()), Some("yml")) {
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let lines: Vec<&str> = text.split_inclusive('\n').collect();
                for cut in 0..lines.len() {
                    let prefix: String = lines.iter().take(cut).copied().collect();
                    let dropped: String = lines
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != cut)
                        .map(|(_, l)| *l)
                        .collect();
                    let name = path.display().to_string();
                    read_alike(&name, &prefix);
                    read_alike(&name, &dropped);
                    read_alike(&name, &prefix.replace('\n', "\r\n"));
                    checked += 3;
                }
            }
            assert!(checked > 300, "{checked}");
        }

        #[test]
        fn direct_reading_gives_serde_saphyrs_tree_for_mutated_files() {
            // Random edits with YAML's significant characters, reproducibly.
            let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
            let mut random = |below: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                usize::try_from(state % below.max(1) as u64).unwrap_or(0)
            };
            let pieces = [
                " ", "  ", "\n", "\r\n", "\t", ":", ": ", "- ", "-", "#", "'", "\"", "[", "]", "{",
                "}", ",", "?", "|", ">", "&a", "*a", "!", "%", "\\", "~", "0", "1.5", "yes",
                "null", "<<", "---", "...", "é", "\u{feff}", "0x1", ".inf", "e",
            ];
            let inputs = yaml_inputs();
            let small: Vec<&String> = inputs
                .iter()
                .map(|(_, t)| t)
                .filter(|t| t.len() < 4000)
                .collect();
            // KLAXON_YAML_MUTATIONS=100000 for a longer run.
            let rounds = std::env::var("KLAXON_YAML_MUTATIONS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(3000);
            let mut direct = 0;
            for round in 0..rounds {
                let Some(base) = small.get(random(small.len())) else {
                    break;
                };
                let mut text = (*base).clone();
                for _ in 0..=random(3) {
                    let mut at = random(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    let mut end = (at + random(4)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    let piece = pieces.get(random(pieces.len())).copied().unwrap_or("");
                    text.replace_range(at..end.max(at), piece);
                }
                direct += usize::from(read_alike(&format!("mutation {round}"), &text));
            }
            assert!(direct > 300, "{direct}");
        }

        #[test]
        fn direct_reading_resolves_plain_scalars_as_serde_saphyr() {
            let spellings = [
                "",
                "~",
                "null",
                "Null",
                "NULL",
                "nULL",
                "nul",
                "true",
                "True",
                "TRUE",
                "tRUE",
                "false",
                "yes",
                "Yes",
                "YES",
                "y",
                "Y",
                "n",
                "N",
                "no",
                "No",
                "on",
                "ON",
                "off",
                "Off",
                "0",
                "1",
                "-1",
                "+1",
                "-0",
                "+0",
                "00",
                "007",
                "-007",
                "09",
                "1_000",
                "1__0",
                "_1",
                "1_",
                "0x1F",
                "0X1f",
                "0x_1",
                "0xG",
                "0x",
                "0o17",
                "0o8",
                "0O7",
                "0b101",
                "0b2",
                "0B1",
                "123456789012345678",
                "1234567890123456789",
                "12345678901234567890",
                "18446744073709551615",
                "18446744073709551616",
                "-9223372036854775808",
                "-9223372036854775809",
                "1.5",
                "-1.5",
                "+1.5",
                ".5",
                "5.",
                "-.5",
                "1e3",
                "1E3",
                "1e+3",
                "1.0e-10",
                "1e999",
                "-1e999",
                "1e",
                "e1",
                "E",
                "0e0",
                ".inf",
                ".Inf",
                ".INF",
                "-.inf",
                "+.inf",
                ".iNF",
                "inf",
                "-inf",
                "Infinity",
                ".nan",
                ".NaN",
                ".NAN",
                "nan",
                "NaN",
                "+.nan",
                "5m",
                "1h30m",
                "30s",
                "10ms",
                "1d",
                "2w",
                "1y",
                "0d",
                "0x5m",
                "5M",
                "1e5m",
                "5e",
                "1.2.3",
                "1:30",
                "2001-12-14",
                "12:30:45",
                "-",
                "--",
                "---x",
                ".",
                "..",
                "+",
                "+-1",
                "-+1",
                "1-2",
                "a",
                "ab",
                "_",
                "x_y",
                "5 m",
                "1 000",
                "1,000",
                "1\u{a0}",
                "é1",
                "１",
            ];
            let mut text = String::from("values:\n");
            for (i, s) in spellings.iter().enumerate() {
                text.push_str(&format!("  k{i}: {s}\n"));
            }
            text.push_str("keys:\n");
            for s in spellings.iter().filter(|s| !s.is_empty()) {
                text.push_str(&format!("  {s}: x\n"));
            }
            text.push_str("flow: [");
            text.push_str(
                &spellings
                    .iter()
                    .filter(|s| !s.is_empty() && !s.contains(','))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            text.push_str("]\n");
            read_alike("spellings", &text);
            let mut undecided = Vec::new();
            let mut keys = 0;
            for s in spellings {
                let doc = format!("k: {s}\n");
                if !read_alike(s, &doc) {
                    undecided.push(s);
                }
                keys += usize::from(read_alike(s, &format!("{s}: v\n")));
                read_alike(s, s);
            }
            assert!(keys > spellings.len() * 9 / 10, "{keys}");
            // `k: -` is left to serde-saphyr: on its own, `-` is a sequence.
            assert_eq!(undecided, ["-"]);
        }

        #[test]
        fn direct_reading_leaves_unusual_documents_to_serde_saphyr() {
            let plain =
                "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n";
            assert!(read_alike("plain", plain));
            for unusual in [
                "a: &x 1\nb: *x\n",
                "a: !!str 1\n",
                "%YAML 1.2\n---\na: 1\n",
                "a: 1\n---\nb: 2\n",
                "base: &b {x: 1}\nderived:\n  <<: *b\n",
                "'<<': 1\n",
                "? [a]\n: 1\n",
                "",
                "# only a comment\n",
                "a: [1, 2\n",
                "a: b: c\n",
            ] {
                assert!(direct::tree(0, unusual).is_none(), "{unusual:?}");
            }
            for alike in [
                "---\na: 1\n...\n",
                "\u{feff}a: 1\n",
                "a:\n  - 1\n  -\n  - {x: y, z: }\nb: |+\n  keep\n\nc: >-\n  folded\n  text\n",
                "a: \"esc\\u00e9 \\\"q\\\"\"\nb: 'it''s'\nc: multi\n  line plain\n",
                "a:\tb\n",
                "? simple\n: complex-key value\n",
                "dup: 1\ndup: 2\n",
                "a: 1 # trailing comment\n# own line\nb: [1, {c: d}, [e]]\n",
                "- a\n- b: c\n  d: e\n",
                "scalar at root\n",
                "---\n",
                "null\n",
            ] {
                assert!(read_alike("alike", alike), "{alike:?}");
            }
        }

        fn value_node<'a>(root: &'a Node, key: &str) -> &'a Node {
            match &root.value {
                NodeValue::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k.as_key() == Some(key))
                    .map(|(_, v)| v)
                    .expect("key present"),
                _ => panic!("not a map"),
            }
        }

        /// For each listed key, the decoded value's byte at `probe` must map
        /// to the file position of the same character.
        fn assert_maps(text: &str, key: &str, probe: char) {
            let (root, _) = parse(0, text).expect("valid yaml");
            let node = value_node(&root, key);
            let NodeValue::Scalar(s) = &node.value else {
                panic!("not a scalar")
            };
            let map = ScalarMap::new(text, node, &s.text);
            assert!(
                !matches!(map.offsets, Offsets::Unknown),
                "{key}: re-decoding failed for {:?}",
                s.text
            );
            for (i, c) in s.text.char_indices() {
                if c == probe {
                    let at = map.offset(i);
                    assert_eq!(
                        text[at..].chars().next(),
                        Some(probe),
                        "{key}: byte {i} of {:?} mapped to {at}",
                        s.text
                    );
                }
            }
        }

        #[test]
        fn offsets_map_through_every_scalar_style() {
            let text = "plain: a b X\nmulti: first\n  second X\n\n  third\nsq: 'it''s X'\ndq: \"a\\tb\\n  X \\u00e9X\\\n    contX\"\nlit: |\n  line X\n    indented X\n\n  last X\nfold: >-\n  one X\n  two\n\n  three X\nkeep: |+\n  X\n\nnext: 1\n";
            for key in ["plain", "multi", "sq", "dq", "lit", "fold", "keep"] {
                assert_maps(text, key, 'X');
            }
        }

        #[test]
        fn block_scalar_after_header_comment_maps() {
            let text = "a: | # note\n  foo X\n";
            assert_maps(text, "a", 'X');
        }
    }
}
