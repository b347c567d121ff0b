//! Loader for Prometheus rule files (`groups:` YAML).
//!
//! The file is read with serde-saphyr into a small YAML tree in which every
//! key and value keeps its byte span (plain documents straight from the
//! events of serde-saphyr's parser, which yields the same tree in half the
//! time; see `model::yaml`); the schema is then checked by hand so
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
use crate::model::yaml::{self, Node, NodeValue, ScalarKind};
use crate::model::{
    AlertSpec, Group, NoDataPolicy, Origin, Pair, Pairs, PromQuery, Query, Rule, RuleKind,
    SeverityRule, promql,
};
use crate::template;
use crate::vocab::condition::Condition;
use crate::vocab::severity::SeverityLevel;
use crate::vocab::time::{Duration, parse_duration};

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
                let fixed = crate::vocab::labels::sanitize_metric_name(name);
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
    if !crate::vocab::labels::is_valid_label_name(name) {
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
