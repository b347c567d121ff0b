//! Canonical printer for the DSL syntax tree.
//!
//! One layout for every file, so diffs show what changed and not how it was
//! typed: two-space indentation, one statement per line, a blank line between
//! top-level items and between rules, statements of a block in a fixed order,
//! severity lines sorted info → warning → critical with their keywords and
//! `for` clauses aligned. Printing is lossless for everything the tree keeps
//! (comments included), so `parse(format_file(f))` gives back `f` up to spans
//! and the canonical ordering; formatting twice changes nothing.

use std::fmt::Write as _;

use crate::diag::{Diagnostic, FileId, Level};
use crate::lang::ast::{
    self, Alert, Annotation, AnnotationForm, Datasource, EsAgg, Group, Include, Inhibit, LabelSet,
    Matcher, NoData, Query, Receiver, Record, Route, RuleDef, Setting, TimeWindow, Value,
};
use crate::vocab::condition::Condition;

/// Lines longer than this switch label sets from inline to one pair per line.
const MAX_WIDTH: usize = 80;

/// One level of indentation.
const INDENT: &str = "  ";

/// Prints a file in canonical layout.
pub fn format_file(file: &ast::File) -> String {
    let mut out = Printer::default();
    for (i, item) in file.items.iter().enumerate() {
        if i > 0 {
            out.blank();
        }
        out.item(item);
    }
    if !file.trailing_comments.is_empty() {
        if !file.items.is_empty() {
            out.blank();
        }
        out.comments(&file.trailing_comments);
    }
    out.text
}

/// Parses `text` and prints it canonically; refuses (returning every
/// diagnostic) when the text has a syntax error, so a broken file is never
/// rewritten into something else.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (tree, diagnostics) = crate::lang::parse(file, text);
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        return Err(diagnostics);
    }
    Ok(format_file(&tree))
}

/// Whether `name` can be written bare: it matches IDENT
/// (`[A-Za-z_][A-Za-z0-9_:.\-]*`). Keywords need no quotes: the parser reads
/// a name wherever the grammar expects one (`label group = "x"`, `alert for`,
/// `by where`), and `tests/integration/fmt.rs` checks every keyword in every such place.
pub fn is_bare_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
}

/// A name as it must be written: bare when it is an IDENT, else a STRING.
pub fn name(name: &str) -> String {
    if is_bare_name(name) {
        name.to_string()
    } else {
        string(name)
    }
}

/// A STRING literal with `"`, `\`, newline, tab and carriage return escaped.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// Query text as a RAW string in backticks, or as a STRING when the text
/// itself holds a backtick (a RAW string cannot).
pub fn raw(text: &str) -> String {
    if text.contains('`') {
        string(text)
    } else {
        format!("`{text}`")
    }
}

/// A number in a form NUMBER accepts that parses back to the same `f64`:
/// plain decimals for everyday magnitudes, `1.5e-7` / `1e21` otherwise, and
/// `+Inf` / `-Inf`.
pub fn number(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if value.is_nan() {
        // Not expressible in the grammar; the parser never produces it.
        return "NaN".to_string();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-5..1e15).contains(&magnitude) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// A condition, parenthesised only where needed to parse back to the same tree
/// (`and` binds tighter than `or`; both associate to the left).
pub fn condition(cond: &Condition) -> String {
    match cond {
        Condition::Present => "present".to_string(),
        Condition::Compare(op, n) => format!("value {} {}", op.as_str(), number(*n)),
        Condition::And(l, r) => {
            let left = match **l {
                Condition::Or(..) => format!("({})", condition(l)),
                _ => condition(l),
            };
            let right = match **r {
                Condition::Or(..) | Condition::And(..) => format!("({})", condition(r)),
                _ => condition(r),
            };
            format!("{left} and {right}")
        }
        Condition::Or(l, r) => {
            let right = match **r {
                Condition::Or(..) => format!("({})", condition(r)),
                _ => condition(r),
            };
            format!("{} or {right}", condition(l))
        }
    }
}

/// Text accumulated line by line at the current indentation.
#[derive(Default)]
struct Printer {
    text: String,
    depth: usize,
}

impl Printer {
    fn indent(&self) -> String {
        INDENT.repeat(self.depth)
    }

    fn line(&mut self, content: &str) {
        if content.is_empty() {
            self.text.push('\n');
            return;
        }
        let indent = self.indent();
        let _ = writeln!(self.text, "{indent}{content}");
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    fn comments(&mut self, comments: &[String]) {
        for c in comments {
            self.line(&comment(c));
        }
    }

    /// `HEAD {`, the body one level deeper, `}`; an empty body prints `HEAD {}`.
    fn block(&mut self, head: &str, body: impl FnOnce(&mut Printer)) {
        let mut inner = Printer {
            text: String::new(),
            depth: self.depth + 1,
        };
        body(&mut inner);
        if inner.text.is_empty() {
            self.line(&format!("{head} {{}}"));
        } else {
            self.line(&format!("{head} {{"));
            self.text.push_str(&inner.text);
            self.line("}");
        }
    }

    fn item(&mut self, item: &ast::Item) {
        match item {
            ast::Item::Group(g) => self.group(g),
            ast::Item::Datasource(d) => self.datasource(d),
            ast::Item::Receiver(r) => self.receiver(r),
            ast::Item::Route(r) => self.route(r),
            ast::Item::Inhibit(i) => self.inhibit(i),
            ast::Item::TimeWindow(t) => self.time_window(t),
            ast::Item::Include(i) => self.include(i),
        }
    }

    fn group(&mut self, g: &Group) {
        self.comments(&g.comments);
        self.block(&format!("group {}", name(&g.name.node)), |p| {
            if let Some(every) = &g.every {
                p.line(&format!("every {}", every.node.text));
            }
            if let Some(labels) = &g.labels {
                p.label_set("labels", labels);
            }
            if let Some(limit) = &g.limit {
                p.line(&format!("limit {}", limit.node));
            }
            for (i, rule) in g.rules.iter().enumerate() {
                if i > 0 || !p.text.is_empty() {
                    p.blank();
                }
                match rule {
                    RuleDef::Alert(a) => p.alert(a),
                    RuleDef::Record(r) => p.record(r),
                }
            }
        });
    }

    fn alert(&mut self, a: &Alert) {
        self.comments(&a.comments);
        self.block(&format!("alert {}", name(&a.name.node)), |p| {
            if let Some(q) = &a.query {
                p.query(&q.node);
            }
            p.conditions(a);
            if let Some(k) = &a.keep_firing_for {
                p.line(&format!("keep_firing for {}", k.node.text));
            }
            if let Some(labels) = &a.labels {
                p.label_set("labels", labels);
            }
            p.annotations(&a.annotations);
        });
    }

    /// Severity lines (info → warning → critical, source order within a
    /// level), `resolve` and `nodata`, keywords padded to one width and `for`
    /// clauses aligned.
    fn conditions(&mut self, a: &Alert) {
        let mut severities: Vec<&ast::SeverityLine> = a.severities.iter().collect();
        severities.sort_by_key(|s| s.level.node);
        let mut lines: Vec<(&str, String, Option<&str>)> = severities
            .iter()
            .map(|s| {
                (
                    s.level.node.as_str(),
                    format!("when {}", condition(&s.condition.node)),
                    s.for_.as_ref().map(|f| f.node.text.as_str()),
                )
            })
            .collect();
        if let Some(r) = &a.resolve {
            lines.push((
                "resolve",
                format!("when {}", condition(&r.condition.node)),
                r.for_.as_ref().map(|f| f.node.text.as_str()),
            ));
        }
        let nodata = a.nodata.as_ref().map(|n| match &n.node {
            NoData::Ok => "ok".to_string(),
            NoData::Keep => "keep".to_string(),
            NoData::After(d, level) => format!("after {} {}", d.node.text, level.node.as_str()),
        });
        let keyword_width = lines
            .iter()
            .map(|(k, _, _)| k.len())
            .chain(nodata.as_ref().map(|_| "nodata".len()))
            .max()
            .unwrap_or(0);
        let condition_width = lines
            .iter()
            .filter(|(_, _, f)| f.is_some())
            .map(|(_, c, _)| c.chars().count())
            .max()
            .unwrap_or(0);
        for (keyword, cond, for_) in &lines {
            let mut text = format!("{keyword:<keyword_width$} {cond}");
            if let Some(f) = for_ {
                let pad = condition_width.saturating_sub(cond.chars().count());
                let _ = write!(text, "{} for {f}", " ".repeat(pad));
            }
            self.line(&text);
        }
        if let Some(n) = nodata {
            self.line(&format!("{:<keyword_width$} {n}", "nodata"));
        }
    }

    /// `summary`, `description`, `runbook`, then every free annotation in one
    /// `annotations { }` set; source order within each kind.
    fn annotations(&mut self, annotations: &[Annotation]) {
        for (form, keyword) in [
            (AnnotationForm::Summary, "summary"),
            (AnnotationForm::Description, "description"),
            (AnnotationForm::Runbook, "runbook"),
        ] {
            for a in annotations.iter().filter(|a| a.form == form) {
                self.line(&format!("{keyword} {}", string(&a.value.node)));
            }
        }
        let free: Vec<&Annotation> = annotations
            .iter()
            .filter(|a| a.form == AnnotationForm::Free)
            .collect();
        if !free.is_empty() {
            let pairs: Vec<(&str, String)> = free
                .iter()
                .map(|a| (a.key.node.as_str(), string(&a.value.node)))
                .collect();
            self.pairs("annotations", &pairs);
        }
    }

    fn record(&mut self, r: &Record) {
        self.comments(&r.comments);
        self.block(&format!("record {}", name(&r.name.node)), |p| {
            if let Some(q) = &r.query {
                p.query(&q.node);
            }
            if let Some(labels) = &r.labels {
                p.label_set("labels", labels);
            }
        });
    }

    fn query(&mut self, q: &Query) {
        match q {
            Query::Prometheus { datasource, expr } => {
                let ds = datasource
                    .as_ref()
                    .map(|d| format!("{} ", name(&d.node)))
                    .unwrap_or_default();
                self.line(&format!("query prometheus {ds}{}", raw(&expr.node)));
            }
            Query::Elasticsearch(es) => {
                let mut text = format!(
                    "query elasticsearch {} {}",
                    name(&es.datasource.node),
                    es.agg.node.keyword()
                );
                if let EsAgg::Percentile(p) = es.agg.node {
                    let _ = write!(text, " {}", number(p));
                }
                if let Some(field) = &es.field {
                    let _ = write!(text, " {}", name(&field.node));
                }
                if let Some(filter) = &es.filter {
                    let _ = write!(text, " where {}", raw(&filter.node));
                }
                let _ = write!(text, " over {}", es.window.node.text);
                if !es.by.is_empty() {
                    let _ = write!(text, " by {}", names(&es.by));
                }
                self.line(&text);
            }
        }
    }

    fn label_set(&mut self, keyword: &str, set: &LabelSet) {
        let pairs: Vec<(&str, String)> = set
            .pairs
            .iter()
            .map(|(k, v)| (k.node.as_str(), string(&v.node)))
            .collect();
        self.pairs(keyword, &pairs);
    }

    /// A setting's map, whose values may be `env(..)` or `file(..)`.
    fn setting_map(&mut self, keyword: &str, set: &LabelSet<Value>) {
        let pairs: Vec<(&str, String)> = set
            .pairs
            .iter()
            .map(|(k, v)| (k.node.as_str(), value(&v.node)))
            .collect();
        self.pairs(keyword, &pairs);
    }

    /// `KEYWORD { a = "x", b = "y" }` when it fits in [`MAX_WIDTH`] columns,
    /// else one pair per line. Values come already written out.
    fn pairs(&mut self, keyword: &str, pairs: &[(&str, String)]) {
        let rendered: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{} = {v}", name(k)))
            .collect();
        if rendered.is_empty() {
            self.line(&format!("{keyword} {{}}"));
            return;
        }
        let inline = format!("{keyword} {{ {} }}", rendered.join(", "));
        if self.depth * INDENT.len() + inline.chars().count() <= MAX_WIDTH {
            self.line(&inline);
        } else {
            self.block(keyword, |p| {
                for pair in &rendered {
                    p.line(pair);
                }
            });
        }
    }

    fn settings(&mut self, settings: &[Setting]) {
        for s in settings {
            let key = name(&s.key.node);
            if let Some(map) = &s.map {
                self.setting_map(&key, map);
            } else {
                let values: Vec<String> = s.values.iter().map(|v| value(&v.node)).collect();
                self.line(&format!("{key} {}", values.join(", ")));
            }
        }
    }

    fn datasource(&mut self, d: &Datasource) {
        self.comments(&d.comments);
        let head = format!("datasource {} {}", name(&d.kind.node), name(&d.name.node));
        self.block(&head, |p| p.settings(&d.settings));
    }

    fn receiver(&mut self, r: &Receiver) {
        self.comments(&r.comments);
        self.block(&format!("receiver {}", name(&r.name.node)), |p| {
            for i in &r.integrations {
                p.block(&name(&i.kind.node), |q| q.settings(&i.settings));
            }
        });
    }

    fn route(&mut self, r: &Route) {
        self.comments(&r.comments);
        self.block("route", |p| {
            if !r.matchers.is_empty() {
                p.line(&format!("match {}", matchers(&r.matchers)));
            }
            if let Some(receiver) = &r.receiver {
                p.line(&format!("receiver {}", name(&receiver.node)));
            }
            if let Some(group_by) = &r.group_by {
                let labels = &group_by.node;
                let all = labels.is_empty()
                    || (labels.len() == 1 && labels.first().is_some_and(|l| l.node == "..."));
                if all {
                    p.line("group_by ...");
                } else {
                    p.line(&format!("group_by {}", names(labels)));
                }
            }
            for (keyword, d) in [
                ("group_wait", &r.group_wait),
                ("group_interval", &r.group_interval),
                ("repeat_interval", &r.repeat_interval),
                ("resolve_wait", &r.resolve_wait),
            ] {
                if let Some(d) = d {
                    p.line(&format!("{keyword} {}", d.node.text));
                }
            }
            if r.continue_.is_some() {
                p.line("continue");
            }
            if !r.mute_during.is_empty() {
                p.line(&format!("mute_during {}", names(&r.mute_during)));
            }
            if !r.active_during.is_empty() {
                p.line(&format!("active_during {}", names(&r.active_during)));
            }
            for child in &r.routes {
                p.route(child);
            }
        });
    }

    fn inhibit(&mut self, i: &Inhibit) {
        self.comments(&i.comments);
        self.block("inhibit", |p| {
            if !i.source.is_empty() {
                p.line(&format!("source {}", matchers(&i.source)));
            }
            if !i.target.is_empty() {
                p.line(&format!("target {}", matchers(&i.target)));
            }
            if !i.equal.is_empty() {
                p.line(&format!("equal {}", names(&i.equal)));
            }
        });
    }

    fn time_window(&mut self, t: &TimeWindow) {
        self.comments(&t.comments);
        self.block(&format!("time_window {}", name(&t.name.node)), |p| {
            p.settings(&t.settings)
        });
    }

    fn include(&mut self, i: &Include) {
        self.comments(&i.comments);
        self.line(&format!("include {}", string(&i.pattern.node)));
    }
}

/// A comment line: `#` and the body exactly as the tree holds it (the lexer
/// keeps everything after the `#`), minus trailing whitespace.
fn comment(body: &str) -> String {
    format!("#{}", body.trim_end())
}

fn names(list: &[ast::Spanned<String>]) -> String {
    list.iter()
        .map(|n| name(&n.node))
        .collect::<Vec<_>>()
        .join(", ")
}

fn matchers(list: &[Matcher]) -> String {
    list.iter()
        .map(|m| {
            format!(
                "{} {} {}",
                name(&m.name.node),
                m.op.as_str(),
                string(&m.value.node)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn value(v: &Value) -> String {
    match v {
        Value::Str(s) => string(s),
        Value::Env(s) => format!("env({})", string(s)),
        Value::File(s) => format!("file({})", string(s)),
        Value::Word(w) => w.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::condition::CmpOp;

    #[test]
    fn numbers_parse_back_to_the_same_value() {
        let grammar = regex::Regex::new(r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
            .unwrap_or_else(|e| panic!("{e}"));
        for v in [
            0.0, 1.0, 1000.0, 0.5, -3.25, 1e21, 1.5e-7, 123456.789, 1e15, 0.00001, 2.5e300,
        ] {
            let text = number(v);
            let back: f64 = text.parse().unwrap_or(f64::NAN);
            assert_eq!(back, v, "{v} printed as {text}");
            assert!(grammar.is_match(&text), "{text} is not a NUMBER");
        }
        assert_eq!(number(1000.0), "1000");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1e21), "1e21");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn names_are_quoted_only_when_needed() {
        assert_eq!(name("KafkaLag"), "KafkaLag");
        assert_eq!(name("node:cpu:rate5m"), "node:cpu:rate5m");
        assert_eq!(name("data-team"), "data-team");
        assert_eq!(
            name("MysqlTooManyConnections(>80%)"),
            "\"MysqlTooManyConnections(>80%)\""
        );
        assert_eq!(name("9lives"), "\"9lives\"");
        assert_eq!(name("for"), "for");
        assert_eq!(name(""), "\"\"");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a \"b\"\\\n\t\r"), r#""a \"b\"\\\n\t\r""#);
        assert_eq!(raw("rate(x[5m])"), "`rate(x[5m])`");
        assert_eq!(
            raw("label_replace(x, \"a\", `b`)"),
            r#""label_replace(x, \"a\", `b`)""#
        );
    }

    #[test]
    fn conditions_keep_their_tree_shape() {
        let gt = |n| Box::new(Condition::Compare(CmpOp::Gt, n));
        let or = Condition::Or(gt(1.0), gt(2.0));
        let and_of_or = Condition::And(Box::new(or.clone()), gt(3.0));
        assert_eq!(
            condition(&and_of_or),
            "(value > 1 or value > 2) and value > 3"
        );
        let right_nested = Condition::And(gt(1.0), Box::new(Condition::And(gt(2.0), gt(3.0))));
        assert_eq!(
            condition(&right_nested),
            "value > 1 and (value > 2 and value > 3)"
        );
        let or_of_and = Condition::Or(Box::new(Condition::And(gt(1.0), gt(2.0))), gt(3.0));
        assert_eq!(
            condition(&or_of_and),
            "value > 1 and value > 2 or value > 3"
        );
    }
}
