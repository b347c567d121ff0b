//! Template execution: Go 1.19 `text/template` semantics with the function
//! map of Prometheus 2.42 (`template/template.go`), so an alert's labels and
//! annotations read exactly as Prometheus would write them — including the
//! text of runtime errors, which Prometheus puts into the annotation.
//!
//! The executor follows Go's `exec.go` function by function: the same
//! evaluation order, the same node recorded for error positions (Go reports
//! the last node it *visited*, not always the one at fault), the same
//! conversions of arguments to parameter types. Values are modelled on the
//! Go types a Prometheus template can meet: `map[string]string` labels, the
//! alert data struct, `float64`, `int`, `string`, `template.HTML`,
//! `queryResult`/`*sample` from `query`, `*time.Time` from `toTime` (with
//! its common methods), and `map[string]interface{}` from `args`.
//!
//! Limits: recursion through `{{template}}` stops with Go's "exceeded
//! maximum template depth" error after [`MAX_TEMPLATE_DEPTH`] calls or
//! 512 KiB of stack (Go allows 100000 calls, far more than a thread's
//! stack), and an execution that runs more than [`MAX_STEPS`] steps, writes
//! more than [`MAX_OUTPUT`] bytes or builds a longer string stops with an
//! error instead of hanging the evaluator or exhausting memory.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher as _};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::go_fmt::{self, parse_go_float, quote, type_name};
use super::{
    ActionNode, Arg, BranchNode, Command, Node, Number, Pipeline, Template, TemplateCall,
    TextRange, Variable,
};

/// What a template sees as dot: Prometheus's alert template data
/// (`template.AlertTemplateData`).
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    /// The alert's labels as the query returned them, `__name__` included
    /// (`$labels`, `.Labels`).
    pub labels: &'a BTreeMap<String, String>,
    /// The server's external labels (`$externalLabels`).
    pub external_labels: &'a BTreeMap<String, String>,
    /// The server's external URL (`$externalURL`, `externalURL`,
    /// `pathPrefix`).
    pub external_url: &'a str,
    /// The sample value (`$value`, `.Value`).
    pub value: f64,
}

impl<'a> TemplateData<'a> {
    pub(super) fn labels_map(&self) -> StrMap<'a> {
        StrMap::Borrowed(self.labels)
    }

    pub(super) fn external_labels_map(&self) -> StrMap<'a> {
        StrMap::Borrowed(self.external_labels)
    }
}

/// Samples a `query` returns: each sample's labels (with `__name__`) and
/// value.
pub type QuerySamples = Vec<(BTreeMap<String, String>, f64)>;

/// The backend of the `query` template function: runs an instant PromQL
/// query at the evaluation time and returns its samples, or the error text
/// Prometheus would report.
pub trait TemplateQuery {
    /// Runs `expr`; the result order is the order `range` will see.
    fn query(&self, expr: &str) -> Result<QuerySamples, String>;
}

/// Deepest chain of `{{template}}` calls before execution stops with Go's
/// "exceeded maximum template depth" error (Go's own limit is 100000; only
/// an endlessly recursive template gets anywhere near either).
pub const MAX_TEMPLATE_DEPTH: usize = 1000;

/// Most nodes and commands one expansion may execute.
pub const MAX_STEPS: u64 = 1_000_000;

/// Most bytes one expansion may write.
pub const MAX_OUTPUT: usize = 4 << 20;

/// Deepest nesting of node lists (template bodies included) while
/// executing; bounds the native stack whatever the template does.
const MAX_NESTING: usize = 2000;

/// Go's value for `maxExecDepth`, which its error message names.
const GO_MAX_EXEC_DEPTH: u32 = 100_000;

/// The variables Prometheus defines in front of every alert template, as
/// it prepends them (`rules/alerting.go`).
pub const ALERT_TEMPLATE_PRELUDE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// A template parsed once and executed for every alert of a rule.
///
/// The parsed text is shared: every alert template compiled with the same
/// text (rules generated from one pattern repeat their annotations
/// thousands of times) points at one [`Program`], kept for as long as any
/// rule uses it. Only the name, which differs per rule, is the rule's own.
#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    /// The template's name, `__alert_<rule>` for alert templates.
    name: Arc<str>,
    prog: Arc<Program>,
}

/// The part of a compiled template that depends on its text alone.
#[derive(Debug)]
struct Program {
    /// The template text without the prelude.
    text: Box<str>,
    /// Bytes of prelude Prometheus puts before `text` on the first line,
    /// added to first-line columns in error messages.
    prelude_len: usize,
    tree: Template,
    /// Whether the text has no actions, so it expands to itself.
    plain: bool,
}

/// Programs of alert templates by a hash of their text, held weakly: a
/// program lives as long as a rule uses it, and a reload that keeps a
/// template's text reuses the running rule's program.
static SHARED_PROGRAMS: Mutex<SharedPrograms> = Mutex::new(SharedPrograms {
    by_text: None,
    prune_at: 0,
});

struct SharedPrograms {
    by_text: Option<HashMap<u64, Weak<Program>, BuildHasherDefault<fnv::FnvHasher>>>,
    /// Entries at which dead ones are next swept out.
    prune_at: usize,
}

impl SharedPrograms {
    /// The program for `text` with the alert prelude, parsed only when no
    /// live one exists.
    fn get_or_parse(&mut self, text: &str, name: &str) -> Result<Arc<Program>, String> {
        let key = {
            let mut h = fnv::FnvHasher::default();
            h.write(text.as_bytes());
            h.finish()
        };
        let by_text = self.by_text.get_or_insert_with(HashMap::default);
        if let Some(prog) = by_text.get(&key).and_then(Weak::upgrade)
            && &*prog.text == text
        {
            return Ok(prog);
        }
        let prog = Arc::new(Program::parse(text, name, ALERT_TEMPLATE_PRELUDE.len())?);
        by_text.insert(key, Arc::downgrade(&prog));
        if by_text.len() >= self.prune_at {
            by_text.retain(|_, p| p.strong_count() > 0);
            self.prune_at = (by_text.len() * 2).max(64);
        }
        Ok(prog)
    }
}

/// Expands `text` the way Prometheus's `Expander.Expand` does for a
/// template named `name`: `Ok` with the output, or `Err` with Go's error
/// text (`error parsing template ...` / `error executing template ...`).
/// Prometheus's variables (`$labels`, `$value`, ...) are defined, but no
/// prelude is counted in error columns.
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData<'_>,
    query: Option<&dyn TemplateQuery>,
) -> Result<String, String> {
    let compiled = CompiledTemplate::with_program(name.into(), Program::parse(text, name, 0)?)?;
    compiled.run(data, query)
}

/// What Prometheus puts into an alert label or annotation: the expansion of
/// `text` for the rule `rule_name`, or `<error expanding template: ...>`
/// with Go's message, columns counted as if the variable prelude were
/// there (as it is in Prometheus).
pub fn expand_alert_template(
    rule_name: &str,
    text: &str,
    data: &TemplateData<'_>,
    query: Option<&dyn TemplateQuery>,
) -> String {
    match CompiledTemplate::compile(rule_name, text) {
        Ok(compiled) => compiled.execute(data, query),
        Err(error) => format!("<error expanding template: {error}>"),
    }
}

impl Program {
    fn parse(text: &str, name: &str, prelude_len: usize) -> Result<Program, String> {
        let tree = super::parse(text).map_err(|e| {
            let line = 1 + text.get(..e.offset).unwrap_or(text).matches('\n').count();
            format!(
                "error parsing template {name}: template: {name}:{line}: {}",
                e.message
            )
        })?;
        Ok(Program {
            text: text.into(),
            prelude_len,
            tree,
            plain: !text.contains("{{"),
        })
    }
}

impl CompiledTemplate {
    /// Parses an alert label or annotation template of the rule
    /// `rule_name` once; `Err` is Prometheus's parse error text (`error
    /// parsing template __alert_<rule>: template: ...`).
    pub fn compile(rule_name: &str, text: &str) -> Result<CompiledTemplate, String> {
        Self::compile_named(&Self::alert_name(rule_name), text)
    }

    /// The name Prometheus gives the templates of rule `rule_name`, to
    /// share between them with [`CompiledTemplate::compile_named`].
    pub fn alert_name(rule_name: &str) -> Arc<str> {
        format!("__alert_{rule_name}").into()
    }

    /// [`CompiledTemplate::compile`] for a template named `name` (as
    /// [`CompiledTemplate::alert_name`] makes it): the templates of one rule
    /// share their name.
    pub fn compile_named(name: &Arc<str>, text: &str) -> Result<CompiledTemplate, String> {
        let prog = SHARED_PROGRAMS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_parse(text, name)?;
        Self::checked(Arc::clone(name), prog)
    }

    fn with_program(name: Arc<str>, prog: Program) -> Result<CompiledTemplate, String> {
        Self::checked(name, Arc::new(prog))
    }

    /// Go refuses a template that defines a non-empty template of its own name.
    fn checked(name: Arc<str>, prog: Arc<Program>) -> Result<CompiledTemplate, String> {
        if let Some(clash) = prog.tree.definition(&name)
            && !clash.body.is_empty()
        {
            return Err(format!(
                "error parsing template {name}: template: {name}:1: template: multiple definition of template {}",
                quote(&name)
            ));
        }
        Ok(CompiledTemplate { name, prog })
    }

    /// The template text as written (without the prelude).
    pub fn text(&self) -> &str {
        &self.prog.text
    }

    /// The template's name (`__alert_<rule>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Expands the template for one alert: the output, or
    /// `<error expanding template: ...>` as Prometheus writes it.
    pub fn execute(&self, data: &TemplateData<'_>, query: Option<&dyn TemplateQuery>) -> String {
        match self.run(data, query) {
            Ok(out) => out,
            Err(error) => format!("<error expanding template: {error}>"),
        }
    }

    /// Expands the template: the output or Go's error text.
    pub fn run(
        &self,
        data: &TemplateData<'_>,
        query: Option<&dyn TemplateQuery>,
    ) -> Result<String, String> {
        if self.prog.plain {
            return Ok(self.prog.text.to_string());
        }
        let root = Value::Data(data);
        let base = 0u8;
        let stack_base = std::hint::black_box(std::ptr::addr_of!(base)) as usize;
        let mut state = State {
            prog: &self.prog,
            name: &self.name,
            data,
            query,
            out: String::new(),
            vars: vec![
                ("$", root.clone()),
                ("$labels", Value::StrMap(data.labels_map())),
                ("$externalLabels", Value::StrMap(data.external_labels_map())),
                (
                    "$externalURL",
                    Value::Str(Text::Borrowed(data.external_url)),
                ),
                ("$value", Value::Float(data.value)),
            ],
            node: At::Nothing,
            tmpl_name: &self.name,
            depth: 0,
            nesting: 0,
            steps: 0,
            stack_base,
        };
        match state.walk_list(&root, &self.prog.tree.root) {
            Ok(()) => Ok(state.out),
            Err(Flow::Fail(message)) => {
                Err(format!("error executing template {}: {message}", self.name))
            }
            // The parser only accepts break/continue inside range.
            Err(Flow::Break | Flow::Continue) => Ok(state.out),
        }
    }
}

// ----- values -----

/// A string that is either borrowed from the alert data or computed.
#[derive(Debug, Clone)]
pub(super) enum Text<'a> {
    Borrowed(&'a str),
    Shared(Rc<str>),
}

impl Text<'_> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Shared(s) => s,
        }
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::Borrowed(s)
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text::Shared(Rc::from(s))
    }
}

/// A `map[string]string`: the alert's labels or a sample's.
#[derive(Debug, Clone)]
pub(super) enum StrMap<'a> {
    Borrowed(&'a BTreeMap<String, String>),
    Shared(Rc<BTreeMap<String, String>>),
}

impl<'a> StrMap<'a> {
    /// The value of `key`, or `""` (`missingkey=zero`), borrowed from the
    /// alert data when the map is.
    fn lookup(&self, key: &str) -> Text<'a> {
        match self {
            StrMap::Borrowed(map) => {
                let map: &'a BTreeMap<String, String> = map;
                Text::Borrowed(map.get(key).map_or("", String::as_str))
            }
            StrMap::Shared(map) => map
                .get(key)
                .map_or(Text::Borrowed(""), |v| Text::from(v.clone())),
        }
    }

    /// Key/value pairs in key order, borrowed when possible.
    fn entries(&self) -> Vec<(Text<'a>, Text<'a>)> {
        match self {
            StrMap::Borrowed(map) => {
                let map: &'a BTreeMap<String, String> = map;
                map.iter()
                    .map(|(k, v)| (Text::Borrowed(k.as_str()), Text::Borrowed(v.as_str())))
                    .collect()
            }
            StrMap::Shared(map) => map
                .iter()
                .map(|(k, v)| (Text::from(k.clone()), Text::from(v.clone())))
                .collect(),
        }
    }

    pub(super) fn get(&self) -> &BTreeMap<String, String> {
        match self {
            StrMap::Borrowed(m) => m,
            StrMap::Shared(m) => m,
        }
    }

    pub(super) fn address(&self) -> usize {
        std::ptr::from_ref(self.get()) as usize
    }
}

/// One sample of a `query` result (Prometheus's `*sample`).
#[derive(Debug)]
pub(super) struct Sample {
    labels: Rc<BTreeMap<String, String>>,
    pub(super) value: f64,
}

impl Sample {
    pub(super) fn labels_map<'a>(&self) -> StrMap<'a> {
        StrMap::Shared(self.labels.clone())
    }
}

/// Go's named integer types that can reach a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IntType {
    Int,
    Int64,
    Month,
    Weekday,
    Duration,
}

impl IntType {
    pub(super) fn name(self) -> &'static str {
        match self {
            IntType::Int => "int",
            IntType::Int64 => "int64",
            IntType::Month => "time.Month",
            IntType::Weekday => "time.Weekday",
            IntType::Duration => "time.Duration",
        }
    }
}

/// A UTC `time.Time` (every time a Prometheus template makes is UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GoTime {
    pub(super) unix: i64,
    pub(super) nanos: u32,
}

impl GoTime {
    fn from_unix_nanos(total: i128) -> GoTime {
        let unix = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000);
        GoTime {
            unix: i64::try_from(unix).unwrap_or(if unix < 0 { i64::MIN } else { i64::MAX }),
            nanos: u32::try_from(nanos).unwrap_or(0),
        }
    }

    fn total_nanos(&self) -> i128 {
        i128::from(self.unix) * 1_000_000_000 + i128::from(self.nanos)
    }
}

/// A Go value as `reflect.Value` would hold it.
#[derive(Debug, Clone)]
pub(super) enum Value<'a> {
    /// The zero `reflect.Value` (Go's "no value").
    Invalid,
    /// A nil `interface{}`, as a missing key of `args`'s map yields.
    NilInterface,
    Bool(bool),
    Int(i64, IntType),
    /// A `uint8`, from indexing a string.
    Byte(u8),
    Float(f64),
    Complex(f64, f64),
    Str(Text<'a>),
    /// `html/template.HTML` from `safeHtml`.
    Html(Text<'a>),
    StrMap(StrMap<'a>),
    /// `map[string]interface{}` from `args`.
    AnyMap(Rc<BTreeMap<String, Value<'a>>>),
    /// The alert data struct.
    Data(&'a TemplateData<'a>),
    /// `queryResult` (`[]*sample`); shared so `sortByLabel` sorts in place.
    Samples(Rc<RefCell<Vec<Rc<Sample>>>>),
    /// `*sample`, possibly nil.
    Sample(Option<Rc<Sample>>),
    /// `time.Time`, or `*time.Time` when the flag is set.
    Time(GoTime, bool),
}

impl Value<'_> {
    /// Nil as an `interface{}` argument: no value or a nil interface.
    pub(super) fn is_nil(&self) -> bool {
        matches!(self, Value::Invalid | Value::NilInterface)
    }
}

/// `reflect.Type.String` as Go's conversion errors print it.
fn reflect_type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::NilInterface => "interface {}",
        other => type_name(other),
    }
}

/// Go's `isTrue` after `indirectInterface`.
fn is_true(value: &Value<'_>) -> bool {
    match value {
        Value::Invalid | Value::NilInterface => false,
        Value::Bool(b) => *b,
        Value::Int(v, _) => *v != 0,
        Value::Byte(v) => *v != 0,
        Value::Float(v) => *v != 0.0,
        Value::Complex(re, im) => *re != 0.0 || *im != 0.0,
        Value::Str(s) | Value::Html(s) => !s.as_str().is_empty(),
        Value::StrMap(m) => !m.get().is_empty(),
        Value::AnyMap(m) => !m.is_empty(),
        Value::Samples(s) => !s.borrow().is_empty(),
        Value::Sample(s) => s.is_some(),
        Value::Data(_) | Value::Time(..) => true,
    }
}

// ----- execution state -----

/// Non-local exits of execution: Go's panics.
#[derive(Debug)]
enum Flow {
    Break,
    Continue,
    /// An `ExecError`, fully formatted.
    Fail(String),
}

type Exec<T> = Result<T, Flow>;

/// The node execution is "at", for error messages (Go's `state.node`).
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Nothing,
    Action(&'a ActionNode),
    Branch(&'static str, &'a BranchNode),
    Template(&'a TemplateCall),
    Pipe(&'a Pipeline),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

struct State<'a> {
    prog: &'a Program,
    /// The name of the template being executed (`__alert_<rule>`).
    name: &'a str,
    data: &'a TemplateData<'a>,
    query: Option<&'a dyn TemplateQuery>,
    out: String,
    vars: Vec<(&'a str, Value<'a>)>,
    node: At<'a>,
    tmpl_name: &'a str,
    depth: usize,
    nesting: usize,
    steps: u64,
    /// Address of a local of the entry frame, to measure the stack used.
    stack_base: usize,
}

/// Stack an expansion may use before template recursion stops (frames are
/// far larger in debug builds than in release builds, so depth alone
/// cannot bound it).
const MAX_STACK: usize = 512 << 10;

/// Bytes of stack between `base` and the caller's frame.
#[inline(never)]
fn stack_used(base: usize) -> usize {
    let here = 0u8;
    let address = std::hint::black_box(std::ptr::addr_of!(here)) as usize;
    base.abs_diff(address)
}

/// Parameter types of the functions and methods a template can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    String,
    Interface,
    /// A `reflect.Value` parameter (Go's builtins): any value, even none.
    Reflect,
    QueryResult,
    SamplePtr,
    Time,
    Duration,
}

impl Param {
    fn name(self) -> &'static str {
        match self {
            Param::String => "string",
            Param::Interface => "interface {}",
            Param::Reflect => "reflect.Value",
            Param::QueryResult => "template.queryResult",
            Param::SamplePtr => "*template.sample",
            Param::Time => "time.Time",
            Param::Duration => "time.Duration",
        }
    }

    fn can_be_nil(self) -> bool {
        matches!(
            self,
            Param::Interface | Param::Reflect | Param::QueryResult | Param::SamplePtr
        )
    }

    fn zero<'a>(self) -> Value<'a> {
        match self {
            Param::Interface => Value::NilInterface,
            Param::QueryResult => Value::Samples(Rc::new(RefCell::new(Vec::new()))),
            Param::SamplePtr => Value::Sample(None),
            _ => Value::Invalid,
        }
    }
}

/// A function's parameters: fixed ones, then an optional variadic tail.
struct Signature {
    fixed: &'static [Param],
    variadic: Option<Param>,
}

const fn sig(fixed: &'static [Param], variadic: Option<Param>) -> Signature {
    Signature { fixed, variadic }
}

/// Every function of the template function map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    And,
    Or,
    Not,
    Call,
    Html,
    Index,
    Slice,
    Js,
    Len,
    Print,
    Printf,
    Println,
    UrlQuery,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Query,
    First,
    Label,
    SampleValue,
    StrValue,
    Args,
    ReReplaceAll,
    SafeHtml,
    Match,
    Title,
    ToUpper,
    ToLower,
    GraphLink,
    TableLink,
    SortByLabel,
    StripPort,
    StripDomain,
    Humanize,
    Humanize1024,
    HumanizeDuration,
    HumanizePercentage,
    HumanizeTimestamp,
    ToTime,
    PathPrefix,
    ExternalUrl,
    ParseDuration,
}

impl Func {
    fn lookup(name: &str) -> Option<Func> {
        Some(match name {
            "and" => Func::And,
            "or" => Func::Or,
            "not" => Func::Not,
            "call" => Func::Call,
            "html" => Func::Html,
            "index" => Func::Index,
            "slice" => Func::Slice,
            "js" => Func::Js,
            "len" => Func::Len,
            "print" => Func::Print,
            "printf" => Func::Printf,
            "println" => Func::Println,
            "urlquery" => Func::UrlQuery,
            "eq" => Func::Eq,
            "ne" => Func::Ne,
            "lt" => Func::Lt,
            "le" => Func::Le,
            "gt" => Func::Gt,
            "ge" => Func::Ge,
            "query" => Func::Query,
            "first" => Func::First,
            "label" => Func::Label,
            "value" => Func::SampleValue,
            "strvalue" => Func::StrValue,
            "args" => Func::Args,
            "reReplaceAll" => Func::ReReplaceAll,
            "safeHtml" => Func::SafeHtml,
            "match" => Func::Match,
            "title" => Func::Title,
            "toUpper" => Func::ToUpper,
            "toLower" => Func::ToLower,
            "graphLink" => Func::GraphLink,
            "tableLink" => Func::TableLink,
            "sortByLabel" => Func::SortByLabel,
            "stripPort" => Func::StripPort,
            "stripDomain" => Func::StripDomain,
            "humanize" => Func::Humanize,
            "humanize1024" => Func::Humanize1024,
            "humanizeDuration" => Func::HumanizeDuration,
            "humanizePercentage" => Func::HumanizePercentage,
            "humanizeTimestamp" => Func::HumanizeTimestamp,
            "toTime" => Func::ToTime,
            "pathPrefix" => Func::PathPrefix,
            "externalURL" => Func::ExternalUrl,
            "parseDuration" => Func::ParseDuration,
            _ => return None,
        })
    }

    fn signature(self) -> Signature {
        use Param::*;
        match self {
            Func::And | Func::Or => sig(&[Reflect], Some(Reflect)),
            Func::Not | Func::Len => sig(&[Reflect], None),
            Func::Call | Func::Index | Func::Slice | Func::Eq => sig(&[Reflect], Some(Reflect)),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => sig(&[Reflect, Reflect], None),
            Func::Html | Func::Js | Func::UrlQuery | Func::Print | Func::Println | Func::Args => {
                sig(&[], Some(Interface))
            }
            Func::Printf => sig(&[String], Some(Interface)),
            Func::Query
            | Func::SafeHtml
            | Func::Title
            | Func::ToUpper
            | Func::ToLower
            | Func::GraphLink
            | Func::TableLink
            | Func::StripPort
            | Func::StripDomain
            | Func::ParseDuration => sig(&[String], None),
            Func::First => sig(&[QueryResult], None),
            Func::Label => sig(&[String, SamplePtr], None),
            Func::SampleValue | Func::StrValue => sig(&[SamplePtr], None),
            Func::ReReplaceAll => sig(&[String, String, String], None),
            Func::Match => sig(&[String, String], None),
            Func::SortByLabel => sig(&[String, QueryResult], None),
            Func::Humanize
            | Func::Humanize1024
            | Func::HumanizeDuration
            | Func::HumanizePercentage
            | Func::HumanizeTimestamp
            | Func::ToTime => sig(&[Interface], None),
            Func::PathPrefix | Func::ExternalUrl => sig(&[], None),
        }
    }

    /// Go's builtins (for `and`/`or` short-circuiting).
    fn is_builtin(self) -> bool {
        matches!(self, Func::And | Func::Or)
    }
}

/// Methods of the Go types that have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    TimeFormat,
    TimeString,
    TimeUnix,
    TimeUnixMilli,
    TimeUnixMicro,
    TimeUnixNano,
    TimeYear,
    TimeMonth,
    TimeDay,
    TimeHour,
    TimeMinute,
    TimeSecond,
    TimeNanosecond,
    TimeYearDay,
    TimeWeekday,
    TimeUtc,
    TimeIsZero,
    TimeBefore,
    TimeAfter,
    TimeEqual,
    TimeAdd,
    TimeSub,
    DurationString,
    DurationHours,
    DurationMinutes,
    DurationSeconds,
    DurationMilliseconds,
    DurationMicroseconds,
    DurationNanoseconds,
    NamedString,
}

impl Method {
    fn lookup(receiver: &Value<'_>, name: &str) -> Option<Method> {
        use Method::*;
        Some(match receiver {
            Value::Time(..) => match name {
                "Format" => TimeFormat,
                "String" => TimeString,
                "Unix" => TimeUnix,
                "UnixMilli" => TimeUnixMilli,
                "UnixMicro" => TimeUnixMicro,
                "UnixNano" => TimeUnixNano,
                "Year" => TimeYear,
                "Month" => TimeMonth,
                "Day" => TimeDay,
                "Hour" => TimeHour,
                "Minute" => TimeMinute,
                "Second" => TimeSecond,
                "Nanosecond" => TimeNanosecond,
                "YearDay" => TimeYearDay,
                "Weekday" => TimeWeekday,
                // Every time a template makes is UTC; Local is taken as UTC.
                "UTC" | "Local" => TimeUtc,
                "IsZero" => TimeIsZero,
                "Before" => TimeBefore,
                "After" => TimeAfter,
                "Equal" => TimeEqual,
                "Add" => TimeAdd,
                "Sub" => TimeSub,
                _ => return None,
            },
            Value::Int(_, IntType::Duration) => match name {
                "String" => DurationString,
                "Hours" => DurationHours,
                "Minutes" => DurationMinutes,
                "Seconds" => DurationSeconds,
                "Milliseconds" => DurationMilliseconds,
                "Microseconds" => DurationMicroseconds,
                "Nanoseconds" => DurationNanoseconds,
                _ => return None,
            },
            Value::Int(_, IntType::Month | IntType::Weekday) if name == "String" => NamedString,
            _ => return None,
        })
    }

    fn signature(self) -> Signature {
        use Method::*;
        match self {
            TimeFormat => sig(&[Param::String], None),
            TimeBefore | TimeAfter | TimeEqual | TimeSub => sig(&[Param::Time], None),
            TimeAdd => sig(&[Param::Duration], None),
            _ => sig(&[], None),
        }
    }
}

/// What a call invokes.
#[derive(Debug, Clone)]
enum Callee<'a> {
    Func(Func),
    Method(Method, Value<'a>),
}

impl Callee<'_> {
    fn signature(&self) -> Signature {
        match self {
            Callee::Func(f) => f.signature(),
            Callee::Method(m, _) => m.signature(),
        }
    }
}

impl<'a> State<'a> {
    // ----- errors -----

    fn at(&mut self, node: At<'a>) {
        self.node = node;
    }

    /// Go's `state.errorf`: the message with the template location and the
    /// node being executed.
    fn fail(&self, message: impl std::fmt::Display) -> Flow {
        let name = self.name;
        if let At::Nothing = self.node {
            return Flow::Fail(format!("template: {name}: {message}"));
        }
        let text = &*self.prog.text;
        let pos = node_position(text, self.node).min(text.len());
        let before = text.get(..pos).unwrap_or("");
        let line = 1 + before.matches('\n').count();
        let column = match before.rfind('\n') {
            None => self.prog.prelude_len + pos,
            Some(newline) => pos - (newline + 1),
        };
        let context = node_string(text, self.node);
        Flow::Fail(format!(
            "template: {name}:{line}:{column}: executing {} at <{context}>: {message}",
            quote(self.tmpl_name)
        ))
    }

    fn step(&mut self) -> Exec<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.fail(format!(
                "execution stopped after {MAX_STEPS} steps (template too expensive)"
            )));
        }
        Ok(())
    }

    fn write(&mut self, text: &str) -> Exec<()> {
        if self.out.len() + text.len() > MAX_OUTPUT {
            return Err(self.fail(format!(
                "execution stopped: output larger than {MAX_OUTPUT} bytes"
            )));
        }
        self.out.push_str(text);
        Ok(())
    }

    // ----- walking (Go's walk*) -----

    fn walk_list(&mut self, dot: &Value<'a>, nodes: &'a [Node]) -> Exec<()> {
        self.nesting += 1;
        let result = if self.nesting > MAX_NESTING {
            Err(self.fail(format!(
                "exceeded maximum template depth ({GO_MAX_EXEC_DEPTH})"
            )))
        } else {
            nodes.iter().try_for_each(|node| self.walk(dot, node))
        };
        self.nesting -= 1;
        result
    }

    fn walk(&mut self, dot: &Value<'a>, node: &'a Node) -> Exec<()> {
        self.step()?;
        match node {
            Node::Text(text) => self.write(&text.text),
            Node::Comment(_) => Ok(()),
            Node::Action(action) => {
                self.at(At::Action(action));
                let value = self.eval_pipeline(dot, Some(&action.pipe))?;
                if action.pipe.decl.is_empty() {
                    self.at(At::Action(action));
                    let printed = printable(&value);
                    self.write(&printed)?;
                }
                Ok(())
            }
            Node::If(branch) => {
                self.at(At::Branch("if", branch));
                self.walk_if_or_with(false, dot, branch)
            }
            Node::With(branch) => {
                self.at(At::Branch("with", branch));
                self.walk_if_or_with(true, dot, branch)
            }
            Node::Range(branch) => {
                self.at(At::Branch("range", branch));
                self.walk_range(dot, branch)
            }
            Node::Template(call) => {
                self.at(At::Template(call));
                self.walk_template(dot, call)
            }
            Node::Break(_) => Err(Flow::Break),
            Node::Continue(_) => Err(Flow::Continue),
        }
    }

    fn walk_if_or_with(&mut self, is_with: bool, dot: &Value<'a>, b: &'a BranchNode) -> Exec<()> {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, Some(&b.pipe))?;
        let result = if is_true(&value) {
            if is_with {
                self.walk_list(&value, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk_list(dot, else_list)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &Value<'a>, r: &'a BranchNode) -> Exec<()> {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, Some(&r.pipe))?;
        let value = match value {
            Value::Time(t, true) => Value::Time(t, false),
            other => other,
        };
        let body_mark = self.vars.len();
        let elements: Vec<(Value<'a>, Value<'a>)> = match &value {
            Value::Samples(samples) => samples
                .borrow()
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        Value::Int(i as i64, IntType::Int),
                        Value::Sample(Some(s.clone())),
                    )
                })
                .collect(),
            Value::StrMap(map) => map
                .entries()
                .into_iter()
                .map(|(k, v)| (Value::Str(k), Value::Str(v)))
                .collect(),
            Value::AnyMap(map) => map
                .iter()
                .map(|(k, v)| {
                    let element = if v.is_nil() {
                        Value::NilInterface
                    } else {
                        v.clone()
                    };
                    (Value::Str(Text::from(k.clone())), element)
                })
                .collect(),
            Value::Invalid => Vec::new(),
            other => {
                let shown = printable(other);
                return Err(self.fail(format!("range can't iterate over {shown}")));
            }
        };
        if elements.is_empty() {
            let result = match &r.else_list {
                Some(else_list) => self.walk_list(dot, else_list),
                None => Ok(()),
            };
            self.vars.truncate(mark);
            return result;
        }
        for (index, element) in elements {
            // Go 1.19 sets the top variables of the stack, whether the
            // range declared them or assigned existing ones.
            let len = self.vars.len();
            if !r.pipe.decl.is_empty()
                && let Some(slot) = len.checked_sub(1).and_then(|i| self.vars.get_mut(i))
            {
                slot.1 = element.clone();
            }
            if r.pipe.decl.len() > 1
                && let Some(slot) = len.checked_sub(2).and_then(|i| self.vars.get_mut(i))
            {
                slot.1 = index;
            }
            let result = self.walk_list(&element, &r.list);
            self.vars.truncate(body_mark);
            match result {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(error) => return Err(error),
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn walk_template(&mut self, dot: &Value<'a>, call: &'a TemplateCall) -> Exec<()> {
        let body: &'a [Node] = if let Some(def) = self.prog.tree.definition(&call.name) {
            &def.body
        } else if call.name == self.name {
            &self.prog.tree.root
        } else {
            return Err(self.fail(format!("template {} not defined", quote(&call.name))));
        };
        if self.depth >= MAX_TEMPLATE_DEPTH || stack_used(self.stack_base) > MAX_STACK {
            return Err(self.fail(format!(
                "exceeded maximum template depth ({GO_MAX_EXEC_DEPTH})"
            )));
        }
        let new_dot = self.eval_pipeline(dot, call.pipe.as_ref())?;
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.tmpl_name, call.name.as_str());
        self.depth += 1;
        let result = self.walk_list(&new_dot, body);
        self.depth -= 1;
        self.tmpl_name = saved_name;
        self.vars = saved_vars;
        result
    }

    // ----- evaluation (Go's eval*) -----

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: Option<&'a Pipeline>) -> Exec<Value<'a>> {
        let Some(pipe) = pipe else {
            return Ok(Value::Invalid);
        };
        self.at(At::Pipe(pipe));
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            let mut result = self.eval_command(dot, cmd, value.take())?;
            if let Value::NilInterface = result {
                result = Value::Invalid;
            }
            value = Some(result);
        }
        let value = value.unwrap_or(Value::Invalid);
        for variable in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&variable.name, value.clone())?;
            } else {
                self.vars.push((variable.name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn set_var(&mut self, name: &str, value: Value<'a>) -> Exec<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.fail(format!("undefined variable: {name}"))),
        }
    }

    fn var_value(&self, name: &str) -> Exec<Value<'a>> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, value)) => Ok(value.clone()),
            None => Err(self.fail(format!("undefined variable: {name}"))),
        }
    }

    fn not_a_function(&self, args: &'a [Arg], final_: &Option<Value<'a>>) -> Exec<()> {
        if args.len() > 1 || final_.is_some() {
            let first = args.first().map(arg_string_of(&self.prog.text));
            return Err(self.fail(format!(
                "can't give argument to non-function {}",
                first.unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Command,
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        self.step()?;
        let Some(first) = cmd.args.first() else {
            return Err(self.fail("empty command"));
        };
        match first {
            Arg::Field { .. } => return self.eval_field_node(dot, first, &cmd.args, final_),
            Arg::Chain { .. } => return self.eval_chain_node(dot, first, &cmd.args, final_),
            Arg::Function { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, final_);
            }
            Arg::Pipeline(pipe) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, Some(pipe));
            }
            Arg::Variable(variable) => {
                return self.eval_variable_node(dot, first, variable, &cmd.args, final_);
            }
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool(b, _) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Err(self.fail("nil is not a command")),
            Arg::Number(number) => self.ideal_constant(first, number),
            Arg::String { value, .. } => Ok(Value::Str(Text::Borrowed(value))),
            _ => Err(self.fail(format!(
                "can't evaluate command {}",
                quote(&arg_string(&self.prog.text, first))
            ))),
        }
    }

    /// Go's `idealConstant`: a number whose type the context does not fix.
    fn ideal_constant(&mut self, arg: &'a Arg, n: &Number) -> Exec<Value<'a>> {
        self.at(At::Arg(arg));
        if let Some((re, im)) = n.complex {
            return Ok(Value::Complex(re, im));
        }
        let text = n.text.as_str();
        let is_hex_int = text.len() > 2
            && (text.starts_with("0x") || text.starts_with("0X"))
            && !text.contains(['p', 'P']);
        let is_rune = text.starts_with('\'');
        if let Some(f) = n.float
            && !is_hex_int
            && !is_rune
            && text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i, IntType::Int));
        }
        if n.uint.is_some() {
            return Err(self.fail(format!("{text} overflows int")));
        }
        Ok(Value::Invalid)
    }

    fn eval_field_node(
        &mut self,
        dot: &Value<'a>,
        arg: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        self.at(At::Arg(arg));
        let Arg::Field { fields, .. } = arg else {
            return Ok(Value::Invalid);
        };
        self.eval_field_chain(dot, dot.clone(), arg, fields, args, final_)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Value<'a>,
        arg: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        self.at(At::Arg(arg));
        let Arg::Chain { target, fields, .. } = arg else {
            return Ok(Value::Invalid);
        };
        if fields.is_empty() {
            return Err(self.fail("internal error: no fields in evalChainNode"));
        }
        let receiver = self.eval_arg(dot, None, target)?;
        self.eval_field_chain(dot, receiver, arg, fields, args, final_)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Value<'a>,
        arg: &'a Arg,
        variable: &'a Variable,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        self.at(At::Arg(arg));
        let value = self.var_value(&variable.name)?;
        if variable.fields.is_empty() {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, arg, &variable.fields, args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value<'a>,
        mut receiver: Value<'a>,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        let Some((last, init)) = idents.split_last() else {
            return Ok(receiver);
        };
        for ident in init {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, last, node, args, final_, receiver)
    }

    /// Go's `evalField`: a method call, struct field or map key.
    fn eval_field(
        &mut self,
        dot: &Value<'a>,
        name: &'a str,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
        receiver: Value<'a>,
    ) -> Exec<Value<'a>> {
        if let Value::Invalid = receiver {
            return Ok(Value::Invalid);
        }
        let type_name = reflect_type_name(&receiver);
        if let Value::NilInterface = receiver {
            return Err(self.fail(format!("nil pointer evaluating {type_name}.{name}")));
        }
        if let Some(method) = Method::lookup(&receiver, name) {
            return self.eval_call(
                dot,
                Callee::Method(method, receiver),
                At::Arg(node),
                name,
                args,
                final_,
            );
        }
        let has_args = args.len() > 1 || final_.is_some();
        let field = match &receiver {
            Value::Data(data) => match name {
                "Labels" => Some(Value::StrMap(data.labels_map())),
                "ExternalLabels" => Some(Value::StrMap(data.external_labels_map())),
                "ExternalURL" => Some(Value::Str(Text::Borrowed(data.external_url))),
                "Value" => Some(Value::Float(data.value)),
                _ => None,
            },
            Value::Sample(Some(sample)) => match name {
                "Labels" => Some(Value::StrMap(sample.labels_map())),
                "Value" => Some(Value::Float(sample.value)),
                _ => None,
            },
            Value::Sample(None) if matches!(name, "Labels" | "Value") => {
                return Err(self.fail(format!("nil pointer evaluating {type_name}.{name}")));
            }
            Value::StrMap(map) => {
                if has_args {
                    return Err(self.fail(format!("{name} is not a method but has arguments")));
                }
                return Ok(Value::Str(map.lookup(name)));
            }
            Value::AnyMap(map) => {
                if has_args {
                    return Err(self.fail(format!("{name} is not a method but has arguments")));
                }
                return Ok(match map.get(name) {
                    Some(value) if !value.is_nil() => value.clone(),
                    _ => Value::NilInterface,
                });
            }
            Value::Time(..) if matches!(name, "wall" | "ext" | "loc") => {
                return Err(self.fail(format!(
                    "{name} is an unexported field of struct type {type_name}"
                )));
            }
            _ => None,
        };
        if let Some(field) = field {
            if has_args {
                return Err(self.fail(format!(
                    "{name} has arguments but cannot be invoked as function"
                )));
            }
            return Ok(field);
        }
        Err(self.fail(format!("can't evaluate field {name} in type {type_name}")))
    }

    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        ident: &'a Arg,
        name: &'a str,
        call_node: At<'a>,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        self.at(At::Arg(ident));
        let Some(func) = Func::lookup(name) else {
            return Err(self.fail(format!("{} is not a defined function", quote(name))));
        };
        self.eval_call(dot, Callee::Func(func), call_node, name, args, final_)
    }

    /// Go's `evalCall`: checks the argument count, converts each argument
    /// to its parameter type, calls, and reports an error from the call
    /// at `node`.
    fn eval_call(
        &mut self,
        dot: &Value<'a>,
        callee: Callee<'a>,
        node: At<'a>,
        name: &str,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> Exec<Value<'a>> {
        let args = args.get(1..).unwrap_or(&[]);
        let signature = callee.signature();
        let num_in = args.len() + usize::from(final_.is_some());
        let num_fixed = if signature.variadic.is_some() {
            let fixed = signature.fixed.len();
            if num_in < fixed {
                return Err(self.fail(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                )));
            }
            fixed
        } else {
            if num_in != signature.fixed.len() {
                return Err(self.fail(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    signature.fixed.len()
                )));
            }
            args.len()
        };

        if let Callee::Func(func @ (Func::And | Func::Or)) = callee
            && func.is_builtin()
        {
            let is_or = func == Func::Or;
            let mut value = Value::Invalid;
            for arg in args {
                value = self.eval_arg(dot, Some(Param::Reflect), arg)?;
                if is_true(&value) == is_or {
                    return Ok(value);
                }
            }
            if let Some(final_) = final_ {
                value = self.validate_type(final_, Some(Param::Reflect))?;
            }
            return Ok(value);
        }

        let mut argv = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            let param = if i < num_fixed {
                signature.fixed.get(i).copied()
            } else {
                signature.variadic
            };
            argv.push(self.eval_arg(dot, param, arg)?);
        }
        if let Some(final_) = final_ {
            let param = match signature.variadic {
                Some(variadic) => {
                    if num_in - 1 < num_fixed {
                        signature.fixed.get(num_in - 1).copied()
                    } else {
                        Some(variadic)
                    }
                }
                None => signature.fixed.last().copied(),
            };
            argv.push(self.validate_type(final_, param)?);
        }
        let result = match callee {
            Callee::Func(func) => self.call_func(func, argv),
            Callee::Method(method, receiver) => call_method(method, &receiver, argv),
        };
        match result {
            Ok(Value::Str(s) | Value::Html(s)) if s.as_str().len() > MAX_OUTPUT => {
                self.at(node);
                Err(self.fail(format!(
                    "error calling {name}: result larger than {MAX_OUTPUT} bytes"
                )))
            }
            Ok(value) => Ok(value),
            Err(message) => {
                self.at(node);
                Err(self.fail(format!("error calling {name}: {message}")))
            }
        }
    }

    /// Go's `validateType`: the value as the parameter type receives it.
    fn validate_type(&mut self, value: Value<'a>, param: Option<Param>) -> Exec<Value<'a>> {
        let Some(param) = param else {
            return Ok(value);
        };
        if let Value::Invalid = value {
            if param.can_be_nil() {
                return Ok(param.zero());
            }
            return Err(self.fail(format!("invalid value; expected {}", param.name())));
        }
        let accepted = match (param, &value) {
            (Param::Reflect | Param::Interface, _) => true,
            (Param::String, Value::Str(_))
            | (Param::QueryResult, Value::Samples(_))
            | (Param::SamplePtr, Value::Sample(_))
            | (Param::Duration, Value::Int(_, IntType::Duration)) => true,
            (Param::Time, Value::Time(t, _)) => return Ok(Value::Time(*t, false)),
            _ => false,
        };
        if accepted {
            return Ok(value);
        }
        Err(self.fail(format!(
            "wrong type for value; expected {}; got {}",
            param.name(),
            reflect_type_name(&value)
        )))
    }

    /// Go's `evalArg`: an argument evaluated for a parameter type (`None`
    /// for the receiver of a field chain).
    fn eval_arg(&mut self, dot: &Value<'a>, param: Option<Param>, arg: &'a Arg) -> Exec<Value<'a>> {
        self.at(At::Arg(arg));
        let value = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match param {
                    Some(p) if p.can_be_nil() => Ok(p.zero()),
                    Some(p) => Err(self.fail(format!("cannot assign nil to {}", p.name()))),
                    None => Ok(Value::Invalid),
                };
            }
            Arg::Field { .. } => self.eval_field_node(dot, arg, std::slice::from_ref(arg), None)?,
            Arg::Variable(variable) => self.eval_variable_node(dot, arg, variable, &[], None)?,
            Arg::Pipeline(pipe) => self.eval_pipeline(dot, Some(pipe))?,
            Arg::Function { name, .. } => {
                self.eval_function(dot, arg, name, At::Arg(arg), &[], None)?
            }
            Arg::Chain { .. } => self.eval_chain_node(dot, arg, &[], None)?,
            Arg::Bool(..) | Arg::Number(_) | Arg::String { .. } => {
                return self.eval_literal_arg(dot, param, arg);
            }
        };
        self.validate_type(value, param)
    }

    fn eval_literal_arg(
        &mut self,
        dot: &Value<'a>,
        param: Option<Param>,
        arg: &'a Arg,
    ) -> Exec<Value<'a>> {
        let shown = || arg_string(&self.prog.text, arg);
        match param {
            Some(Param::Interface | Param::Reflect) | None => self.eval_empty_interface(dot, arg),
            Some(Param::String) => match arg {
                Arg::String { value, .. } => Ok(Value::Str(Text::Borrowed(value))),
                _ => Err(self.fail(format!("expected string; found {}", shown()))),
            },
            Some(Param::Duration) => match arg {
                Arg::Number(number) if number.int.is_some() => Ok(Value::Int(
                    number.int.unwrap_or_default(),
                    IntType::Duration,
                )),
                _ => Err(self.fail(format!("expected integer; found {}", shown()))),
            },
            Some(p @ (Param::QueryResult | Param::SamplePtr | Param::Time)) => Err(self.fail(
                format!("can't handle {} for arg of type {}", shown(), p.name()),
            )),
        }
    }

    fn eval_empty_interface(&mut self, dot: &Value<'a>, arg: &'a Arg) -> Exec<Value<'a>> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Bool(b, _) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Number(number) => self.ideal_constant(arg, number),
            Arg::String { value, .. } => Ok(Value::Str(Text::Borrowed(value))),
            _ => Err(self.fail(format!(
                "can't handle assignment of {} to empty interface argument",
                arg_string(&self.prog.text, arg)
            ))),
        }
    }

    // ----- the function map -----

    fn call_func(&mut self, func: Func, args: Vec<Value<'a>>) -> Result<Value<'a>, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Invalid);
        let rest = |i: usize| args.get(i..).unwrap_or(&[]);
        Ok(match func {
            // Handled in eval_call (they short-circuit).
            Func::And | Func::Or => Value::Invalid,
            Func::Not => Value::Bool(!is_true(&arg(0))),
            Func::Call => {
                let callee = arg(0);
                if callee.is_nil() {
                    return Err("call of nil".to_string());
                }
                return Err(format!("non-function of type {}", type_name(&callee)));
            }
            Func::Html => str_value(html_escape(&go_fmt::eval_args(&args))),
            Func::Js => str_value(js_escape(&go_fmt::eval_args(&args))),
            Func::UrlQuery => str_value(query_escape(&go_fmt::eval_args(&args))),
            Func::Print => str_value(go_fmt::sprint(&args)),
            Func::Println => str_value(go_fmt::sprintln(&args)),
            Func::Printf => {
                let format = arg(0);
                str_value(go_fmt::sprintf(string_arg(&format), rest(1)))
            }
            Func::Index => index(arg(0), rest(1))?,
            Func::Slice => slice(arg(0), rest(1))?,
            Func::Len => length(&arg(0))?,
            Func::Eq => Value::Bool(eq(&arg(0), rest(1))?),
            Func::Ne => {
                let (a, b) = (arg(0), arg(1));
                Value::Bool(!eq(&a, &[b])?)
            }
            Func::Lt => {
                let (a, b) = (arg(0), arg(1));
                Value::Bool(lt(&a, &b)?)
            }
            Func::Le => {
                let (a, b) = (arg(0), arg(1));
                Value::Bool(le(&a, &b)?)
            }
            Func::Gt => {
                let (a, b) = (arg(0), arg(1));
                Value::Bool(!le(&a, &b)?)
            }
            Func::Ge => {
                let (a, b) = (arg(0), arg(1));
                Value::Bool(!lt(&a, &b)?)
            }
            Func::Query => {
                let expr = arg(0);
                let Some(backend) = self.query else {
                    return Err(NIL_DEREFERENCE.to_string());
                };
                let samples = backend
                    .query(string_arg(&expr))?
                    .into_iter()
                    .map(|(labels, value)| {
                        Rc::new(Sample {
                            labels: Rc::new(labels),
                            value,
                        })
                    })
                    .collect();
                Value::Samples(Rc::new(RefCell::new(samples)))
            }
            Func::First => match arg(0) {
                Value::Samples(samples) => match samples.borrow().first() {
                    Some(sample) => Value::Sample(Some(sample.clone())),
                    None => {
                        return Err("first() called on vector with no elements".to_string());
                    }
                },
                _ => return Err("first() called on vector with no elements".to_string()),
            },
            Func::Label => {
                let (label, sample) = (arg(0), arg(1));
                let sample = sample_arg(&sample)?;
                str_value(
                    sample
                        .labels
                        .get(string_arg(&label))
                        .cloned()
                        .unwrap_or_default(),
                )
            }
            Func::SampleValue => Value::Float(sample_arg(&arg(0))?.value),
            Func::StrValue => str_value(
                sample_arg(&arg(0))?
                    .labels
                    .get("__value__")
                    .cloned()
                    .unwrap_or_default(),
            ),
            Func::Args => {
                let map = args
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("arg{i}"), v.clone()))
                    .collect();
                Value::AnyMap(Rc::new(map))
            }
            Func::ReReplaceAll => {
                let (pattern, replacement, text) = (arg(0), arg(1), arg(2));
                let pattern = string_arg(&pattern);
                let re = go_regex::compile(pattern).map_err(|e| {
                    format!("regexp: Compile({}): {e}", go_regex::quote_pattern(pattern))
                })?;
                str_value(go_regex::replace_all(
                    &re,
                    string_arg(&text),
                    string_arg(&replacement),
                ))
            }
            Func::SafeHtml => match arg(0) {
                Value::Str(s) => Value::Html(s),
                other => other,
            },
            Func::Match => {
                let (pattern, text) = (arg(0), arg(1));
                let re = go_regex::compile(string_arg(&pattern))?;
                Value::Bool(re.is_match(string_arg(&text)))
            }
            Func::Title => str_value(title(string_arg(&arg(0)))),
            Func::ToUpper => str_value(string_arg(&arg(0)).chars().map(to_upper).collect()),
            Func::ToLower => str_value(string_arg(&arg(0)).chars().map(to_lower).collect()),
            Func::GraphLink => str_value(format!(
                "/graph?g0.expr={}&g0.tab=0",
                query_escape(string_arg(&arg(0)))
            )),
            Func::TableLink => str_value(format!(
                "/graph?g0.expr={}&g0.tab=1",
                query_escape(string_arg(&arg(0)))
            )),
            Func::SortByLabel => {
                let (label, samples) = (arg(0), arg(1));
                if let Value::Samples(samples) = &samples {
                    let label = string_arg(&label);
                    samples.borrow_mut().sort_by(|a, b| {
                        let empty = String::new();
                        let left = a.labels.get(label).unwrap_or(&empty);
                        let right = b.labels.get(label).unwrap_or(&empty);
                        left.cmp(right)
                    });
                }
                samples
            }
            Func::StripPort => {
                let host_port = arg(0);
                let host_port = string_arg(&host_port);
                str_value(match split_host_port(host_port) {
                    Some((host, _)) => host.to_string(),
                    None => host_port.to_string(),
                })
            }
            Func::StripDomain => str_value(strip_domain(string_arg(&arg(0)))),
            Func::Humanize => str_value(humanize(convert_to_float(&arg(0))?)),
            Func::Humanize1024 => str_value(humanize1024(convert_to_float(&arg(0))?)),
            Func::HumanizeDuration => str_value(humanize_duration(convert_to_float(&arg(0))?)),
            Func::HumanizePercentage => {
                let v = convert_to_float(&arg(0))?;
                str_value(format!(
                    "{}%",
                    go_fmt::sprintf("%.4g", &[Value::Float(v * 100.0)])
                ))
            }
            Func::HumanizeTimestamp => {
                let v = convert_to_float(&arg(0))?;
                if v.is_nan() || v.is_infinite() {
                    str_value(format_4g(v))
                } else {
                    str_value(float_to_time(v)?.string())
                }
            }
            Func::ToTime => {
                let v = convert_to_float(&arg(0))?;
                if v.is_nan() || v.is_infinite() {
                    return Err("value is NaN or Inf".to_string());
                }
                Value::Time(float_to_time(v)?, true)
            }
            Func::PathPrefix => str_value(url_path(self.data.external_url)),
            Func::ExternalUrl => str_value(self.data.external_url.to_string()),
            Func::ParseDuration => {
                let millis = parse_prometheus_duration(string_arg(&arg(0)))?;
                Value::Float(millis as f64 / 1000.0)
            }
        })
    }
}

/// Go's message for a nil pointer dereference inside a called function.
const NIL_DEREFERENCE: &str = "runtime error: invalid memory address or nil pointer dereference";

fn str_value<'a>(s: String) -> Value<'a> {
    Value::Str(Text::from(s))
}

fn string_arg<'v>(value: &'v Value<'_>) -> &'v str {
    match value {
        Value::Str(s) | Value::Html(s) => s.as_str(),
        _ => "",
    }
}

fn sample_arg<'v>(value: &'v Value<'_>) -> Result<&'v Sample, String> {
    match value {
        Value::Sample(Some(sample)) => Ok(sample),
        _ => Err(NIL_DEREFERENCE.to_string()),
    }
}

/// How an action prints its value (Go's `printableValue` then
/// `fmt.Fprint`): pointers are followed, no value is `<no value>`.
fn printable(value: &Value<'_>) -> String {
    match value {
        Value::Invalid => "<no value>".to_string(),
        Value::Sample(Some(sample)) => go_fmt::sample_struct(sample),
        Value::Time(t, _) => t.string(),
        other => go_fmt::print_value(other),
    }
}

fn call_method<'a>(
    method: Method,
    receiver: &Value<'a>,
    args: Vec<Value<'a>>,
) -> Result<Value<'a>, String> {
    use Method::*;
    let arg_time = |args: &[Value<'a>]| match args.first() {
        Some(Value::Time(t, _)) => *t,
        _ => GoTime { unix: 0, nanos: 0 },
    };
    if let Value::Int(d, IntType::Duration) = receiver {
        let d = *d;
        let hours = |unit: i64| (d / unit) as f64 + (d % unit) as f64 / unit as f64;
        return Ok(match method {
            DurationString => str_value(go_fmt::duration_string(d)),
            DurationHours => Value::Float(hours(3_600_000_000_000)),
            DurationMinutes => Value::Float(hours(60_000_000_000)),
            DurationSeconds => Value::Float(hours(1_000_000_000)),
            DurationMilliseconds => Value::Int(d / 1_000_000, IntType::Int64),
            DurationMicroseconds => Value::Int(d / 1_000, IntType::Int64),
            DurationNanoseconds => Value::Int(d, IntType::Int64),
            _ => Value::Invalid,
        });
    }
    if let Value::Int(v, kind) = receiver {
        return Ok(str_value(match kind {
            IntType::Weekday => go_fmt::weekday_string(*v),
            _ => go_fmt::month_string(*v),
        }));
    }
    let Value::Time(t, _) = receiver else {
        return Ok(Value::Invalid);
    };
    let civil = t.civil();
    let int = |v: i64| Value::Int(v, IntType::Int);
    Ok(match method {
        TimeFormat => {
            let layout = args.first().map(string_arg).unwrap_or("");
            str_value(t.format(layout))
        }
        TimeString => str_value(t.string()),
        TimeUnix => Value::Int(t.unix, IntType::Int64),
        TimeUnixMilli => Value::Int(
            t.unix
                .wrapping_mul(1000)
                .wrapping_add(i64::from(t.nanos / 1_000_000)),
            IntType::Int64,
        ),
        TimeUnixMicro => Value::Int(
            t.unix
                .wrapping_mul(1_000_000)
                .wrapping_add(i64::from(t.nanos / 1000)),
            IntType::Int64,
        ),
        TimeUnixNano => Value::Int(
            t.unix
                .wrapping_mul(1_000_000_000)
                .wrapping_add(i64::from(t.nanos)),
            IntType::Int64,
        ),
        TimeYear => int(civil.year),
        TimeMonth => Value::Int(civil.month, IntType::Month),
        TimeDay => int(civil.day),
        TimeHour => int(civil.hour),
        TimeMinute => int(civil.minute),
        TimeSecond => int(civil.second),
        TimeNanosecond => int(civil.nanos),
        TimeYearDay => int(civil.yday),
        TimeWeekday => Value::Int(civil.weekday, IntType::Weekday),
        TimeUtc => Value::Time(*t, false),
        TimeIsZero => Value::Bool(t.unix == -62_135_596_800 && t.nanos == 0),
        TimeBefore => Value::Bool(t.total_nanos() < arg_time(&args).total_nanos()),
        TimeAfter => Value::Bool(t.total_nanos() > arg_time(&args).total_nanos()),
        TimeEqual => Value::Bool(t.total_nanos() == arg_time(&args).total_nanos()),
        TimeAdd => {
            let d = match args.first() {
                Some(Value::Int(d, _)) => *d,
                _ => 0,
            };
            Value::Time(
                GoTime::from_unix_nanos(t.total_nanos() + i128::from(d)),
                false,
            )
        }
        TimeSub => {
            let diff = t.total_nanos() - arg_time(&args).total_nanos();
            let clamped = diff.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
            Value::Int(i64::try_from(clamped).unwrap_or(0), IntType::Duration)
        }
        _ => Value::Invalid,
    })
}

// ----- builtins (text/template/funcs.go) -----

/// Go's comparison classes (`basicKind`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Basic<'v> {
    Invalid,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Complex(f64, f64),
    Str(&'v str),
}

fn basic<'v>(value: &'v Value<'_>) -> Basic<'v> {
    match value {
        Value::Bool(b) => Basic::Bool(*b),
        Value::Int(v, _) => Basic::Int(*v),
        Value::Byte(v) => Basic::Uint(u64::from(*v)),
        Value::Float(v) => Basic::Float(*v),
        Value::Complex(re, im) => Basic::Complex(*re, *im),
        Value::Str(s) | Value::Html(s) => Basic::Str(s.as_str()),
        _ => Basic::Invalid,
    }
}

fn same_class(a: Basic<'_>, b: Basic<'_>) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";
const BAD_COMPARISON: &str = "incompatible types for comparison";

/// Go 1.19's `eq`.
fn eq(arg1: &Value<'_>, rest: &[Value<'_>]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".to_string());
    }
    let k1 = basic(arg1);
    let zero1 = arg1.is_nil();
    for arg in rest {
        let k2 = basic(arg);
        let zero2 = arg.is_nil();
        let truth = if !same_class(k1, k2) {
            match (k1, k2) {
                (Basic::Int(a), Basic::Uint(b)) => a >= 0 && a as u64 == b,
                (Basic::Uint(a), Basic::Int(b)) => b >= 0 && a == b as u64,
                _ => {
                    if !zero1 && !zero2 {
                        return Err(BAD_COMPARISON.to_string());
                    }
                    false
                }
            }
        } else {
            match (k1, k2) {
                (Basic::Bool(a), Basic::Bool(b)) => a == b,
                (Basic::Complex(a, b), Basic::Complex(c, d)) => a == c && b == d,
                (Basic::Float(a), Basic::Float(b)) => a == b,
                (Basic::Int(a), Basic::Int(b)) => a == b,
                (Basic::Str(a), Basic::Str(b)) => a == b,
                (Basic::Uint(a), Basic::Uint(b)) => a == b,
                _ => {
                    if zero1 || zero2 {
                        zero1 && zero2
                    } else {
                        if !comparable(arg) {
                            return Err(format!(
                                "non-comparable type {}: {}",
                                go_fmt::sprintf("%s", std::slice::from_ref(arg)),
                                reflect_type_name(arg)
                            ));
                        }
                        interface_equal(arg1, arg)
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether Go's `==` works on the type.
fn comparable(value: &Value<'_>) -> bool {
    !matches!(
        value,
        Value::StrMap(_) | Value::AnyMap(_) | Value::Samples(_) | Value::Data(_)
    )
}

/// `arg1.Interface() == arg2.Interface()` for non-basic values.
fn interface_equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Sample(x), Value::Sample(y)) => match (x, y) {
            (Some(x), Some(y)) => Rc::ptr_eq(x, y),
            (None, None) => true,
            _ => false,
        },
        // Each toTime call returns a new pointer.
        (Value::Time(x, false), Value::Time(y, false)) => x == y,
        _ => false,
    }
}

/// Go 1.19's `lt`.
fn lt(arg1: &Value<'_>, arg2: &Value<'_>) -> Result<bool, String> {
    let (k1, k2) = (basic(arg1), basic(arg2));
    if matches!(k1, Basic::Invalid) || matches!(k2, Basic::Invalid) {
        return Err(BAD_COMPARISON_TYPE.to_string());
    }
    if !same_class(k1, k2) {
        return match (k1, k2) {
            (Basic::Int(a), Basic::Uint(b)) => Ok(a < 0 || (a as u64) < b),
            (Basic::Uint(a), Basic::Int(b)) => Ok(b >= 0 && a < b as u64),
            _ => Err(BAD_COMPARISON.to_string()),
        };
    }
    match (k1, k2) {
        (Basic::Float(a), Basic::Float(b)) => Ok(a < b),
        (Basic::Int(a), Basic::Int(b)) => Ok(a < b),
        (Basic::Str(a), Basic::Str(b)) => Ok(a < b),
        (Basic::Uint(a), Basic::Uint(b)) => Ok(a < b),
        _ => Err(BAD_COMPARISON_TYPE.to_string()),
    }
}

fn le(arg1: &Value<'_>, arg2: &Value<'_>) -> Result<bool, String> {
    let less = lt(arg1, arg2)?;
    if less {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// Go's `indexArg`.
fn index_arg(index: &Value<'_>, cap: usize) -> Result<usize, String> {
    let x: i64 = match index {
        Value::Int(v, _) => *v,
        Value::Byte(v) => i64::from(*v),
        Value::Invalid | Value::NilInterface => {
            return Err("cannot index slice/array with nil".to_string());
        }
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                type_name(other)
            ));
        }
    };
    match usize::try_from(x) {
        Ok(x) if x <= cap => Ok(x),
        _ => Err(format!("index out of range: {x}")),
    }
}

/// Go's `index`.
fn index<'a>(item: Value<'a>, indexes: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut item = match item {
        Value::NilInterface => Value::Invalid,
        other => other,
    };
    if let Value::Invalid = item {
        return Err("index of untyped nil".to_string());
    }
    for index in indexes {
        item = match item {
            Value::Sample(None) => return Err("index of nil pointer".to_string()),
            Value::Str(s) | Value::Html(s) => {
                let bytes = s.as_str().as_bytes();
                let x = index_arg(index, bytes.len())?;
                match bytes.get(x) {
                    Some(b) => Value::Byte(*b),
                    None => return Err("reflect: string index out of range".to_string()),
                }
            }
            Value::Samples(samples) => {
                let samples = samples.borrow();
                let x = index_arg(index, samples.len())?;
                match samples.get(x) {
                    Some(sample) => Value::Sample(Some(sample.clone())),
                    None => return Err("reflect: slice index out of range".to_string()),
                }
            }
            Value::StrMap(map) => Value::Str(map.lookup(map_key(index)?)),
            Value::AnyMap(map) => {
                let key = map_key(index)?;
                match map.get(key) {
                    Some(value) if !value.is_nil() => value.clone(),
                    _ => Value::NilInterface,
                }
            }
            Value::Sample(Some(_)) => {
                return Err("can't index item of type template.sample".to_string());
            }
            Value::Time(..) => return Err("can't index item of type time.Time".to_string()),
            other => {
                return Err(format!("can't index item of type {}", type_name(&other)));
            }
        };
    }
    Ok(item)
}

/// Go's `prepareArg` for a `string` map key.
fn map_key<'v>(index: &'v Value<'_>) -> Result<&'v str, String> {
    match index {
        Value::Str(s) => Ok(s.as_str()),
        Value::Invalid | Value::NilInterface => {
            Err("value is nil; should be of type string".to_string())
        }
        other => Err(format!(
            "value has type {}; should be string",
            type_name(other)
        )),
    }
}

/// Go's `slice`.
fn slice<'a>(item: Value<'a>, indexes: &[Value<'a>]) -> Result<Value<'a>, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".to_string());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match &item {
        Value::Str(s) | Value::Html(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_string());
            }
            s.as_str().len()
        }
        Value::Samples(samples) => samples.borrow().len(),
        Value::Sample(Some(_)) => {
            return Err("can't slice item of type *template.sample".to_string());
        }
        other => return Err(format!("can't slice item of type {}", type_name(other))),
    };
    let mut idx = [0, len, len];
    for (slot, index) in idx.iter_mut().zip(indexes) {
        *slot = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (low, high) = (idx[0], idx[1]);
    Ok(match item {
        Value::Str(s) => str_value(byte_slice(s.as_str(), low, high)),
        Value::Html(s) => Value::Html(Text::from(byte_slice(s.as_str(), low, high))),
        Value::Samples(samples) => {
            let part = samples.borrow().get(low..high).unwrap_or(&[]).to_vec();
            Value::Samples(Rc::new(RefCell::new(part)))
        }
        other => other,
    })
}

/// A byte range of a string (Go strings are bytes; a cut inside a
/// character becomes U+FFFD here).
fn byte_slice(s: &str, low: usize, high: usize) -> String {
    String::from_utf8_lossy(s.as_bytes().get(low..high).unwrap_or(&[])).into_owned()
}

/// Go's `length`.
fn length<'a>(item: &Value<'a>) -> Result<Value<'a>, String> {
    let n = match item {
        Value::NilInterface | Value::Sample(None) => {
            return Err("len of nil pointer".to_string());
        }
        Value::Invalid => {
            return Err("reflect: call of reflect.Value.Type on zero Value".to_string());
        }
        Value::Str(s) | Value::Html(s) => s.as_str().len(),
        Value::StrMap(m) => m.get().len(),
        Value::AnyMap(m) => m.len(),
        Value::Samples(s) => s.borrow().len(),
        Value::Sample(Some(_)) => return Err("len of type template.sample".to_string()),
        Value::Time(..) => return Err("len of type time.Time".to_string()),
        other => return Err(format!("len of type {}", type_name(other))),
    };
    Ok(Value::Int(n as i64, IntType::Int))
}

/// Go's `HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Go 1.19's `JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u00{:02X}", c as u32);
            }
            c if c.is_ascii() || go_fmt::is_print(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `unicode.ToUpper`: the simple (one-character) mapping.
fn to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    match c {
        'ǅ' | 'ǆ' => 'Ǆ',
        'ǈ' | 'ǉ' => 'Ǉ',
        'ǋ' | 'ǌ' => 'Ǌ',
        'ǲ' | 'ǳ' => 'Ǳ',
        _ => single(c.to_uppercase()).unwrap_or(c),
    }
}

/// `unicode.ToLower`: the simple (one-character) mapping.
fn to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    match c {
        'İ' => 'i',
        'ǅ' | 'Ǆ' => 'ǆ',
        'ǈ' | 'Ǉ' => 'ǉ',
        'ǋ' | 'Ǌ' => 'ǌ',
        'ǲ' | 'Ǳ' => 'ǳ',
        _ => single(c.to_lowercase()).unwrap_or(c),
    }
}

/// `unicode.ToTitle`.
fn to_title(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        _ => to_upper(c),
    }
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    match chars.next() {
        None => Some(first),
        Some(_) => None,
    }
}

/// `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        c.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// Go's `net.SplitHostPort`: `None` where Go returns an error.
fn split_host_port(host_port: &str) -> Option<(&str, &str)> {
    let i = host_port.rfind(':')?;
    let (host, j, k) = if host_port.starts_with('[') {
        let end = host_port.find(']')?;
        if end + 1 != i {
            return None;
        }
        (host_port.get(1..end)?, 1, end + 1)
    } else {
        let host = host_port.get(..i)?;
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if host_port.get(j..)?.contains('[') || host_port.get(k..)?.contains(']') {
        return None;
    }
    Some((host, host_port.get(i + 1..)?))
}

/// Prometheus's `stripDomain`.
fn strip_domain(host_port: &str) -> String {
    let (host, port) = split_host_port(host_port).unwrap_or((host_port, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host_port.to_string();
    }
    let host = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        host.to_string()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The path of a URL, percent-decoded (Go's `url.URL.Path`).
fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => url.get(i + 3..).unwrap_or(""),
        None => url,
    };
    let path_start = rest.find('/');
    let path = match path_start {
        Some(i) => rest.get(i..).unwrap_or(""),
        None => "",
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ----- Prometheus's functions -----

/// Prometheus's `convertToFloat`.
fn convert_to_float(value: &Value<'_>) -> Result<f64, String> {
    match value {
        Value::Float(v) => Ok(*v),
        Value::Str(s) => parse_go_float(s.as_str()),
        Value::Int(v, IntType::Int | IntType::Int64) => Ok(*v as f64),
        other => Err(format!("can't convert {} to float", type_name(other))),
    }
}

fn format_4g(v: f64) -> String {
    go_fmt::sprintf("%.4g", &[Value::Float(v)])
}

/// 2^63: `float64(math.MaxInt64)`; Go's conversion of it (and above) to
/// int64 yields the minimum int64 on amd64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Prometheus's `humanize`: SI prefixes, four significant digits.
fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format_4g(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_4g(v))
}

/// Prometheus's `humanize1024`: binary prefixes.
fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_4g(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_4g(v))
}

/// Prometheus's `humanizeDuration`: seconds as `1d 2h 3m 4s`.
fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_4g(v);
    }
    if v == 0.0 {
        return format!("{}s", format_4g(v));
    }
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        // Go's int64 conversion saturates on amd64 to the minimum value.
        let duration = if v >= TWO_POW_63 { i64::MIN } else { v as i64 };
        let seconds = duration % 60;
        let minutes = (duration / 60) % 60;
        let hours = (duration / 60 / 60) % 24;
        let days = duration / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", format_4g(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_4g(v))
}

/// Prometheus's `floatToTime`: seconds to a UTC time, truncated to
/// milliseconds (it goes through `model.Time`).
fn float_to_time(v: f64) -> Result<GoTime, String> {
    let nanos = v * 1e9;
    if !(-TWO_POW_63..=TWO_POW_63).contains(&nanos) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_fmt::sprintf("%v", &[Value::Float(v)])
        ));
    }
    let nanos = if nanos >= TWO_POW_63 {
        i64::MIN
    } else {
        nanos as i64
    };
    let millis = nanos / 1_000_000;
    Ok(GoTime::from_unix_nanos(i128::from(millis) * 1_000_000))
}

/// `model.ParseDuration` (prometheus/common 0.39) in milliseconds.
fn parse_prometheus_duration(s: &str) -> Result<i64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".to_string()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", quote(s));
    const UNITS: [(&str, i64); 7] = [
        ("y", 1000 * 60 * 60 * 24 * 365),
        ("w", 1000 * 60 * 60 * 24 * 7),
        ("d", 1000 * 60 * 60 * 24),
        ("h", 1000 * 60 * 60),
        ("m", 1000 * 60),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    let mut overflow = false;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let (number, after) = rest.split_at(digits);
        // The longest unit that matches, among those still allowed.
        let found = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (unit, _))| after.starts_with(unit))
            .find(|(_, (unit, _))| {
                // "m" must not swallow the "m" of "ms".
                !(*unit == "m" && after.starts_with("ms"))
            });
        let Some((index, (unit, millis))) = found else {
            return Err(invalid());
        };
        let n: i64 = number.parse().unwrap_or(i64::MAX);
        if n > i64::MAX / millis {
            overflow = true;
        }
        total = total.wrapping_add(n.wrapping_mul(*millis));
        if total < 0 {
            overflow = true;
        }
        next_unit = index + 1;
        rest = after.get(unit.len()..).unwrap_or("");
    }
    if overflow {
        return Err("duration out of range".to_string());
    }
    Ok(total)
}

// ----- node positions and strings (text/template/parse) -----

/// Go's position of a node: where Go's parser created it.
fn node_position(text: &str, node: At<'_>) -> usize {
    match node {
        At::Nothing => 0,
        At::Action(action) => pipe_position(&action.pipe),
        At::Branch(_, branch) => pipe_position(&branch.pipe),
        At::Template(call) => template_name_position(text, call.span),
        At::Pipe(pipe) => pipe_position(pipe),
        At::Cmd(cmd) => cmd.span.start,
        At::Arg(arg) => arg_position(arg),
    }
}

fn pipe_position(pipe: &Pipeline) -> usize {
    pipe.decl
        .first()
        .map(|v| v.span.start)
        .or_else(|| pipe.cmds.first().map(|c| c.span.start))
        .unwrap_or(pipe.span.start)
}

fn arg_position(arg: &Arg) -> usize {
    match arg {
        // `.A.B` is one node placed at `.B`, as Go builds it.
        Arg::Field { fields, span } if fields.len() > 1 => {
            span.start + 1 + fields.first().map_or(0, String::len)
        }
        Arg::Variable(variable) if !variable.fields.is_empty() => {
            variable.span.start + variable.name.len()
        }
        Arg::Chain { target, .. } => target.span().end,
        other => other.span().start,
    }
}

/// Where the name string of `{{template "name"}}` or `{{block "name"}}`
/// starts.
fn template_name_position(text: &str, span: TextRange) -> usize {
    let Some(rest) = text.get(span.start..) else {
        return span.start;
    };
    let mut i = 2; // "{{"
    let bytes = rest.as_bytes();
    if bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    let skip_space = |mut i: usize| {
        while bytes
            .get(i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            i += 1;
        }
        i
    };
    i = skip_space(i);
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    span.start + skip_space(i)
}

fn arg_string_of(text: &str) -> impl Fn(&Arg) -> String + '_ {
    move |arg| arg_string(text, arg)
}

/// Go's `Node.String` for an operand.
fn arg_string(text: &str, arg: &Arg) -> String {
    let mut out = String::new();
    write_arg(&mut out, text, arg);
    out
}

fn write_arg(out: &mut String, text: &str, arg: &Arg) {
    match arg {
        Arg::Dot(_) => out.push('.'),
        Arg::Nil(_) => out.push_str("nil"),
        Arg::Bool(b, _) => out.push_str(if *b { "true" } else { "false" }),
        Arg::Number(n) => out.push_str(&n.text),
        Arg::String { span, .. } => out.push_str(text.get(span.start..span.end).unwrap_or("")),
        Arg::Field { fields, .. } => {
            for field in fields {
                out.push('.');
                out.push_str(field);
            }
        }
        Arg::Variable(variable) => {
            out.push_str(&variable.name);
            for field in &variable.fields {
                out.push('.');
                out.push_str(field);
            }
        }
        Arg::Function { name, .. } => out.push_str(name),
        Arg::Pipeline(pipe) => write_pipe(out, text, pipe),
        Arg::Chain { target, fields, .. } => {
            if let Arg::Pipeline(pipe) = target.as_ref() {
                out.push('(');
                write_pipe(out, text, pipe);
                out.push(')');
            } else {
                write_arg(out, text, target);
            }
            for field in fields {
                out.push('.');
                out.push_str(field);
            }
        }
    }
}

fn write_cmd(out: &mut String, text: &str, cmd: &Command) {
    for (i, arg) in cmd.args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Arg::Pipeline(pipe) = arg {
            out.push('(');
            write_pipe(out, text, pipe);
            out.push(')');
        } else {
            write_arg(out, text, arg);
        }
    }
}

fn write_pipe(out: &mut String, text: &str, pipe: &Pipeline) {
    if !pipe.decl.is_empty() {
        for (i, variable) in pipe.decl.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&variable.name);
        }
        out.push_str(" := ");
    }
    for (i, cmd) in pipe.cmds.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        write_cmd(out, text, cmd);
    }
}

fn write_list(out: &mut String, text: &str, nodes: &[Node]) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(&t.text),
            Node::Comment(span) => {
                let raw = text.get(span.start..span.end).unwrap_or("");
                let inner = match (raw.find("/*"), raw.rfind("*/")) {
                    (Some(a), Some(b)) if b >= a => raw.get(a..b + 2).unwrap_or(""),
                    _ => raw,
                };
                out.push_str("{{");
                out.push_str(inner);
                out.push_str("}}");
            }
            Node::Action(action) => {
                out.push_str("{{");
                write_pipe(out, text, &action.pipe);
                out.push_str("}}");
            }
            Node::If(b) => write_branch(out, text, "if", b),
            Node::Range(b) => write_branch(out, text, "range", b),
            Node::With(b) => write_branch(out, text, "with", b),
            Node::Template(call) => write_template(out, text, call),
            Node::Break(_) => out.push_str("{{break}}"),
            Node::Continue(_) => out.push_str("{{continue}}"),
        }
    }
}

fn write_branch(out: &mut String, text: &str, keyword: &str, branch: &BranchNode) {
    out.push_str("{{");
    out.push_str(keyword);
    out.push(' ');
    write_pipe(out, text, &branch.pipe);
    out.push_str("}}");
    write_list(out, text, &branch.list);
    if let Some(else_list) = &branch.else_list {
        out.push_str("{{else}}");
        write_list(out, text, else_list);
    }
    out.push_str("{{end}}");
}

fn write_template(out: &mut String, text: &str, call: &TemplateCall) {
    out.push_str("{{template ");
    out.push_str(&quote(&call.name));
    if let Some(pipe) = &call.pipe {
        out.push(' ');
        write_pipe(out, text, pipe);
    }
    out.push_str("}}");
}

/// Go's `Node.String` for the node execution is at.
fn node_string(text: &str, node: At<'_>) -> String {
    let mut out = String::new();
    match node {
        At::Nothing => {}
        At::Action(action) => {
            out.push_str("{{");
            write_pipe(&mut out, text, &action.pipe);
            out.push_str("}}");
        }
        At::Branch(keyword, branch) => write_branch(&mut out, text, keyword, branch),
        At::Template(call) => write_template(&mut out, text, call),
        At::Pipe(pipe) => write_pipe(&mut out, text, pipe),
        At::Cmd(cmd) => write_cmd(&mut out, text, cmd),
        At::Arg(arg) => write_arg(&mut out, text, arg),
    }
    out
}

// ----- Go regular expressions -----

/// Go's RE2 syntax (`regexp/syntax`, Perl flags) on top of the `regex`
/// crate: patterns are checked with Go's rules and error texts, then
/// translated where the two dialects differ (ASCII-only `\d \s \w \b`,
/// `\Q...\E`, a literal `{` that starts no repetition, `[` inside classes).
mod go_regex {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use regex::Regex;

    use super::super::go_fmt::{can_backquote, quote};

    /// `regexp`'s `quote`: backquoted when possible.
    pub(super) fn quote_pattern(s: &str) -> String {
        if can_backquote(s) {
            format!("`{s}`")
        } else {
            quote(s)
        }
    }

    fn error(code: &str, expr: &str) -> String {
        format!("error parsing regexp: {code}: `{expr}`")
    }

    const PERL_D: &str = "0-9";
    const PERL_S: &str = "\\t\\n\\x0C\\r ";
    const PERL_W: &str = "0-9A-Za-z_";

    thread_local! {
        /// Patterns compiled recently: templates run the same few patterns
        /// for every alert.
        static CACHE: RefCell<HashMap<String, Result<Regex, String>>> =
            RefCell::new(HashMap::new());
    }

    /// Patterns kept in [`CACHE`] per thread before it is cleared.
    const CACHE_SIZE: usize = 256;

    /// `regexp.Compile` with Go's syntax and error messages.
    pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
        if let Some(hit) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
            return hit;
        }
        let compiled = compile_uncached(pattern);
        CACHE.with(|c| {
            let mut cache = c.borrow_mut();
            if cache.len() >= CACHE_SIZE {
                cache.clear();
            }
            cache.insert(pattern.to_string(), compiled.clone());
        });
        compiled
    }

    fn compile_uncached(pattern: &str) -> Result<Regex, String> {
        let translated = translate(pattern)?;
        regex::RegexBuilder::new(&translated)
            .octal(false)
            .nest_limit(1000)
            .size_limit(64 << 20)
            .build()
            .map_err(|_| error("expression too large", pattern))
    }

    /// One parsed item for repetition checks.
    #[derive(Clone, Copy, PartialEq)]
    enum Last {
        /// Start of the pattern, after `(` or `|`: nothing to repeat.
        Nothing,
        Operand,
    }

    /// A literal character, escaped where `regex` gives it a meaning.
    fn push_literal(out: &mut String, c: char) {
        out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
    }

    /// Go's `parseEscape` for an ordinary escape: the character and the
    /// rest, or Go's error.
    fn parse_escape(s: &str) -> Result<(char, &str), String> {
        let t = s.get(1..).unwrap_or("");
        let mut chars = t.chars();
        let Some(c) = chars.next() else {
            return Err(error("trailing backslash at end of expression", ""));
        };
        let mut t = chars.as_str();
        let invalid = |t: &str| {
            let consumed = s.len() - t.len();
            Err(error(
                "invalid escape sequence",
                s.get(..consumed).unwrap_or(s),
            ))
        };
        match c {
            '1'..='7' if !t.starts_with(|d: char| ('0'..='7').contains(&d)) => invalid(t),
            '0'..='7' => {
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    match t.chars().next() {
                        Some(d @ '0'..='7') => {
                            r = r * 8 + (d as u32 - '0' as u32);
                            t = t.get(1..).unwrap_or("");
                        }
                        _ => break,
                    }
                }
                Ok((char::from_u32(r).unwrap_or('\u{fffd}'), t))
            }
            'x' => {
                let mut chars = t.chars();
                let Some(first) = chars.next() else {
                    return invalid(t);
                };
                t = chars.as_str();
                if first == '{' {
                    let mut r: u32 = 0;
                    let mut digits = 0;
                    loop {
                        let mut chars = t.chars();
                        let Some(d) = chars.next() else {
                            return invalid(t);
                        };
                        t = chars.as_str();
                        if d == '}' {
                            break;
                        }
                        let Some(v) = d.to_digit(16) else {
                            return invalid(t);
                        };
                        r = r * 16 + v;
                        if r > 0x10ffff {
                            return invalid(t);
                        }
                        digits += 1;
                    }
                    if digits == 0 {
                        return invalid(t);
                    }
                    return Ok((char::from_u32(r).unwrap_or('\u{fffd}'), t));
                }
                let mut chars = t.chars();
                let Some(second) = chars.next() else {
                    return invalid(t);
                };
                t = chars.as_str();
                match (first.to_digit(16), second.to_digit(16)) {
                    (Some(x), Some(y)) => Ok((char::from_u32(x * 16 + y).unwrap_or('?'), t)),
                    _ => invalid(t),
                }
            }
            'a' => Ok(('\u{7}', t)),
            'f' => Ok(('\u{c}', t)),
            'n' => Ok(('\n', t)),
            'r' => Ok(('\r', t)),
            't' => Ok(('\t', t)),
            'v' => Ok(('\u{b}', t)),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, t)),
            _ => invalid(t),
        }
    }

    /// A Perl class escape `\d \D \s \S \w \W`: (class body, negated).
    fn perl_class(s: &str) -> Option<(&'static str, bool)> {
        let b = s.as_bytes();
        if b.first() != Some(&b'\\') {
            return None;
        }
        match b.get(1) {
            Some(b'd') => Some((PERL_D, false)),
            Some(b'D') => Some((PERL_D, true)),
            Some(b's') => Some((PERL_S, false)),
            Some(b'S') => Some((PERL_S, true)),
            Some(b'w') => Some((PERL_W, false)),
            Some(b'W') => Some((PERL_W, true)),
            _ => None,
        }
    }

    /// A Unicode class `\pL`, `\p{Greek}`: its text and the rest.
    fn unicode_class(s: &str) -> Result<Option<(&str, &str)>, String> {
        let b = s.as_bytes();
        if b.first() != Some(&b'\\') || !matches!(b.get(1), Some(b'p' | b'P')) {
            return Ok(None);
        }
        match b.get(2) {
            None => Err(error("invalid character class range", s)),
            Some(b'{') => match s.find('}') {
                Some(end) => Ok(Some((
                    s.get(..=end).unwrap_or(s),
                    s.get(end + 1..).unwrap_or(""),
                ))),
                None => Err(error("invalid character class range", s)),
            },
            Some(_) => {
                let len = 2 + s
                    .get(2..)
                    .and_then(|r| r.chars().next())
                    .map_or(1, char::len_utf8);
                Ok(Some((
                    s.get(..len).unwrap_or(s),
                    s.get(len..).unwrap_or(""),
                )))
            }
        }
    }

    /// Go's `parseRepeat`: `{n}`, `{n,}`, `{n,m}`; `None` when `{` is a
    /// literal.
    fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
        let s = s.strip_prefix('{')?;
        let (min, s) = parse_int(s)?;
        let (max, s) = if let Some(s) = s.strip_prefix(',') {
            if let Some(rest) = s.strip_prefix('}') {
                return Some((min, -1, rest));
            }
            let (max, s) = parse_int(s)?;
            (max, s)
        } else {
            (min, s)
        };
        let rest = s.strip_prefix('}')?;
        let min = if max < 0 { -1 } else { min };
        Some((min, max, rest))
    }

    fn parse_int(s: &str) -> Option<(i64, &str)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || (digits >= 2 && s.starts_with('0')) {
            return None;
        }
        let (number, rest) = s.split_at(digits);
        let n = if digits > 8 {
            -1
        } else {
            number.parse().unwrap_or(-1)
        };
        Some((n, rest))
    }

    /// Checks Go's syntax and writes the equivalent `regex` pattern.
    fn translate(pattern: &str) -> Result<String, String> {
        let mut out = String::with_capacity(pattern.len() + 8);
        let mut t = pattern;
        let mut depth = 0usize;
        let mut last = Last::Nothing;
        // The text from the previous repetition operator on (Go's
        // lastRepeat), for "invalid nested repetition operator".
        let mut last_repeat: Option<&str> = None;
        while let Some(c) = t.chars().next() {
            let mut repeat: Option<&str> = None;
            match c {
                '(' => {
                    let opens_group = if t.starts_with("(?") {
                        let (rest, opens_group) = perl_flags(t, &mut out)?;
                        t = rest;
                        opens_group
                    } else {
                        out.push('(');
                        t = t.get(1..).unwrap_or("");
                        true
                    };
                    // A flags-only group such as "(?i)" opens nothing.
                    if opens_group {
                        depth += 1;
                        last = Last::Nothing;
                    }
                }
                '|' => {
                    out.push('|');
                    t = t.get(1..).unwrap_or("");
                    last = Last::Nothing;
                }
                ')' => {
                    if depth == 0 {
                        return Err(error("unexpected )", pattern));
                    }
                    depth -= 1;
                    out.push(')');
                    t = t.get(1..).unwrap_or("");
                    last = Last::Operand;
                }
                '^' | '$' | '.' => {
                    out.push(c);
                    t = t.get(1..).unwrap_or("");
                    last = Last::Operand;
                }
                '[' => {
                    t = parse_class(t, &mut out)?;
                    last = Last::Operand;
                }
                '*' | '+' | '?' | '{' => {
                    let before = t;
                    let mut after;
                    if c == '{' {
                        match parse_repeat(t) {
                            None => {
                                out.push_str("\\{");
                                t = t.get(1..).unwrap_or("");
                                last = Last::Operand;
                                last_repeat = None;
                                continue;
                            }
                            Some((min, max, rest)) => {
                                after = rest;
                                let op = before.get(..before.len() - after.len()).unwrap_or("");
                                if !(0..=1000).contains(&min)
                                    || max > 1000
                                    || (max >= 0 && min > max)
                                {
                                    return Err(error("invalid repeat count", op));
                                }
                            }
                        }
                    } else {
                        after = t.get(1..).unwrap_or("");
                    }
                    if let Some(rest) = after.strip_prefix('?') {
                        after = rest;
                    }
                    if let Some(previous) = last_repeat {
                        let op = previous
                            .get(..previous.len() - after.len())
                            .unwrap_or(previous);
                        return Err(error("invalid nested repetition operator", op));
                    }
                    let op = before.get(..before.len() - after.len()).unwrap_or("");
                    if last == Last::Nothing {
                        return Err(error("missing argument to repetition operator", op));
                    }
                    out.push_str(op);
                    repeat = Some(before);
                    t = after;
                }
                '\\' => {
                    t = escape(t, &mut out)?;
                    last = Last::Operand;
                }
                c => {
                    push_literal(&mut out, c);
                    t = t.get(c.len_utf8()..).unwrap_or("");
                    last = Last::Operand;
                }
            }
            last_repeat = repeat;
        }
        if depth > 0 {
            return Err(error("missing closing )", pattern));
        }
        Ok(out)
    }

    /// `(?P<name>`, `(?flags)` and `(?flags:`.
    fn perl_flags<'p>(s: &'p str, out: &mut String) -> Result<(&'p str, bool), String> {
        if s.len() > 4 && s.get(2..4) == Some("P<") {
            let Some(end) = s.find('>') else {
                return Err(error("invalid named capture", s));
            };
            let name = s.get(4..end).unwrap_or("");
            let capture = s.get(..=end).unwrap_or(s);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(error("invalid named capture", capture));
            }
            out.push_str(capture);
            return Ok((s.get(end + 1..).unwrap_or(""), true));
        }
        let mut t = s.get(2..).unwrap_or("");
        let mut negated = false;
        let mut saw_flag = false;
        let mut flags = String::new();
        while let Some(c) = t.chars().next() {
            t = t.get(c.len_utf8()..).unwrap_or("");
            match c {
                'i' | 'm' | 's' | 'U' => {
                    flags.push(c);
                    saw_flag = true;
                }
                '-' => {
                    if negated {
                        break;
                    }
                    negated = true;
                    saw_flag = false;
                    flags.push('-');
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        break;
                    }
                    out.push_str("(?");
                    out.push_str(&flags);
                    out.push(c);
                    return Ok((t, c == ':'));
                }
                _ => break,
            }
        }
        let consumed = s.len() - t.len();
        Err(error(
            "invalid or unsupported Perl syntax",
            s.get(..consumed).unwrap_or(s),
        ))
    }

    /// An escape outside a class.
    fn escape<'p>(t: &'p str, out: &mut String) -> Result<&'p str, String> {
        let rest2 = t.get(2..).unwrap_or("");
        match t.as_bytes().get(1) {
            Some(b'A') => {
                out.push_str("\\A");
                return Ok(rest2);
            }
            Some(b'z') => {
                out.push_str("\\z");
                return Ok(rest2);
            }
            Some(b'b') => {
                out.push_str("(?-u:\\b)");
                return Ok(rest2);
            }
            Some(b'B') => {
                out.push_str("(?-u:\\B)");
                return Ok(rest2);
            }
            Some(b'C') => return Err(error("invalid escape sequence", "\\C")),
            Some(b'Q') => {
                let (literal, rest) = match rest2.find("\\E") {
                    Some(i) => (
                        rest2.get(..i).unwrap_or(""),
                        rest2.get(i + 2..).unwrap_or(""),
                    ),
                    None => (rest2, ""),
                };
                out.push_str("(?:");
                for c in literal.chars() {
                    push_literal(out, c);
                }
                out.push(')');
                return Ok(rest);
            }
            _ => {}
        }
        if let Some((text, rest)) = unicode_class(t)? {
            out.push_str(text);
            return Ok(rest);
        }
        if let Some((body, negated)) = perl_class(t) {
            out.push_str(if negated { "[^" } else { "[" });
            out.push_str(body);
            out.push(']');
            return Ok(rest2);
        }
        let (c, rest) = parse_escape(t)?;
        push_literal(out, c);
        Ok(rest)
    }

    /// Go's `parseClass`: `[...]` translated item by item.
    fn parse_class<'p>(s: &'p str, out: &mut String) -> Result<&'p str, String> {
        let whole = s;
        let mut t = s.get(1..).unwrap_or("");
        out.push('[');
        if let Some(rest) = t.strip_prefix('^') {
            out.push('^');
            t = rest;
        }
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            if t.is_empty() {
                return Err(error("missing closing ]", whole));
            }
            if t.starts_with("[:")
                && let Some(end) = t.get(2..).and_then(|r| r.find(":]"))
            {
                let name = t.get(2..2 + end).unwrap_or("");
                let bare = name.strip_prefix('^').unwrap_or(name);
                const NAMES: [&str; 14] = [
                    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
                    "print", "punct", "space", "upper", "word", "xdigit",
                ];
                let full = t.get(..end + 4).unwrap_or(t);
                if !NAMES.contains(&bare) {
                    return Err(error("invalid character class range", full));
                }
                out.push_str(full);
                t = t.get(end + 4..).unwrap_or("");
                continue;
            }
            if let Some((text, rest)) = unicode_class(t)? {
                out.push_str(text);
                t = rest;
                continue;
            }
            if let Some((body, negated)) = perl_class(t) {
                if negated {
                    out.push_str("[^");
                    out.push_str(body);
                    out.push(']');
                } else {
                    out.push_str(body);
                }
                t = t.get(2..).unwrap_or("");
                continue;
            }
            let range_start = t;
            let (lo, rest) = class_char(t, whole)?;
            t = rest;
            let mut hi = lo;
            if t.len() >= 2 && t.starts_with('-') && !t.starts_with("-]") {
                let (h, rest) = class_char(t.get(1..).unwrap_or(""), whole)?;
                t = rest;
                hi = h;
                if hi < lo {
                    let consumed = range_start.len() - t.len();
                    return Err(error(
                        "invalid character class range",
                        range_start.get(..consumed).unwrap_or(range_start),
                    ));
                }
            }
            push_literal(out, lo);
            if hi != lo {
                out.push('-');
                push_literal(out, hi);
            }
        }
        out.push(']');
        Ok(t.get(1..).unwrap_or(""))
    }

    fn class_char<'p>(s: &'p str, whole: &str) -> Result<(char, &'p str), String> {
        let Some(c) = s.chars().next() else {
            return Err(error("missing closing ]", whole));
        };
        if c == '\\' {
            return parse_escape(s);
        }
        Ok((c, s.get(c.len_utf8()..).unwrap_or("")))
    }

    /// Go's `Regexp.ReplaceAllString`, with `$name`/`${name}` expanded the
    /// way Go's `Regexp.Expand` does.
    pub(super) fn replace_all(re: &Regex, src: &str, template: &str) -> String {
        let mut out = String::with_capacity(src.len());
        let mut locations = re.capture_locations();
        let literal = !template.contains('$');
        let mut last_match_end = 0;
        let mut search_pos = 0;
        // Past the output limit the result is refused anyway.
        while search_pos <= src.len() && out.len() <= super::MAX_OUTPUT {
            let found = if literal {
                re.find_at(src, search_pos).map(|m| (m.start(), m.end()))
            } else {
                re.captures_read_at(&mut locations, src, search_pos)
                    .map(|m| (m.start(), m.end()))
            };
            let Some((start, end)) = found else { break };
            out.push_str(src.get(last_match_end..start).unwrap_or(""));
            // No replacement for an empty match right after a match.
            if end > last_match_end || start == 0 {
                if literal {
                    out.push_str(template);
                } else {
                    expand(&mut out, re, &locations, src, template);
                }
            }
            last_match_end = end;
            let width = src
                .get(search_pos..)
                .and_then(|r| r.chars().next())
                .map_or(1, char::len_utf8);
            if search_pos + width > end {
                search_pos += width;
            } else if search_pos + 1 > end {
                search_pos += 1;
            } else {
                search_pos = end;
            }
        }
        out.push_str(src.get(last_match_end..).unwrap_or(""));
        out
    }

    fn expand(
        out: &mut String,
        re: &Regex,
        locations: &regex::CaptureLocations,
        src: &str,
        template: &str,
    ) {
        let group = |i: usize| locations.get(i).and_then(|(a, b)| src.get(a..b));
        let mut t = template;
        while let Some(i) = t.find('$') {
            out.push_str(t.get(..i).unwrap_or(""));
            t = t.get(i..).unwrap_or("");
            if t.starts_with("$$") {
                out.push('$');
                t = t.get(2..).unwrap_or("");
                continue;
            }
            match extract(t) {
                Some((name, rest)) => {
                    let text = match parse_group_number(name) {
                        Some(n) => group(n),
                        None => re
                            .capture_names()
                            .position(|n| n == Some(name))
                            .and_then(group),
                    };
                    if let Some(text) = text {
                        out.push_str(text);
                    }
                    t = rest;
                }
                None => {
                    out.push('$');
                    t = t.get(1..).unwrap_or("");
                }
            }
        }
        out.push_str(t);
    }

    /// Go's `extract`: the name after `$` (or in `${...}`) and the rest.
    fn extract(s: &str) -> Option<(&str, &str)> {
        let s = s.strip_prefix('$')?;
        let (body, brace) = match s.strip_prefix('{') {
            Some(rest) => (rest, true),
            None => (s, false),
        };
        let end = body
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(body.len(), |(i, _)| i);
        if end == 0 {
            return None;
        }
        let name = body.get(..end)?;
        let mut rest = body.get(end..)?;
        if brace {
            rest = rest.strip_prefix('}')?;
        }
        Some((name, rest))
    }

    /// A group number as Go reads it: digits without a leading zero.
    fn parse_group_number(name: &str) -> Option<usize> {
        if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
            return None;
        }
        if name.len() > 8 {
            return None;
        }
        name.parse().ok()
    }
}
