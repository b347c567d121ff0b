//! The Go-template subset Prometheus uses for alert labels and annotations.
//!
//! Prometheus (2.42, `rules/alerting.go`) expands every label and annotation
//! value of an alerting rule with Go's `text/template`, after prepending
//!
//! ```text
//! {{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}
//! ```
//!
//! so the variables in [`PRELUDE_VARIABLES`] exist, and with the function
//! map of `template/template.go` (see [`PROMETHEUS_FUNCTIONS`]) besides Go's
//! builtins ([`GO_BUILTIN_FUNCTIONS`]). `promtool check rules` parses every
//! such template; this module reports the same parse errors, with a byte
//! offset inside the template text instead of Go's line number.
//!
//! [`parse()`] returns a syntax tree shaped like Go's `text/template/parse`
//! tree, which execution runs without re-parsing: the tree keeps
//! every literal already converted (numbers under every exact
//! representation, strings unquoted), the `{{define}}`/`{{block}}`
//! definitions, and a span for every node to point runtime errors at.
//!
//! Execution ([`CompiledTemplate`], [`expand`]) does what Prometheus 2.42
//! does at evaluation time:
//! the data is a struct with `Labels` and `ExternalLabels`
//! (`map[string]string`), `ExternalURL` (string) and `Value` (float64);
//! [`PRELUDE_VARIABLES`] are bound to its fields before the root list runs;
//! templates run with `missingkey=zero`, so a missing label is `""`; a
//! definition body starts with dot and `$` both set to the value passed by
//! `{{template}}`; `if`/`with`/`range` treat false, 0, nil and empty
//! strings, maps and slices as empty; a failing expansion makes the whole
//! value `<error expanding template: ...>` rather than failing the rule.
//!
//! Compatibility notes: the grammar is Go 1.19's (the toolchain Prometheus
//! 2.42 was built with), so `{{else with}}` (Go 1.23) is an error, and a
//! trailing `|` before `}}` is accepted as Go accepts it. Nesting of blocks
//! and parentheses is capped at [`MAX_NESTING`] levels so no input can
//! exhaust the stack.
//!
//! Layout: `lex`, `literal` and `parse` read a template (this file holds
//! the tree); `compiled` is the compiled form rules keep, `exec` walks the
//! tree over the Go values of `value`, calling the function map of
//! `functions` (Prometheus's functions), `builtins` (Go's) and `methods`;
//! `node_text` prints where an error happened; `limits` bounds every run.
//! The `go_*` files are ports of the Go standard library pieces Prometheus's
//! output depends on (`strconv`, `fmt`, `time`, `regexp`), each following
//! Go's source function by function.

mod builtins;
mod compiled;
mod exec;
#[cfg(test)]
mod exec_tests;
mod functions;
mod go_fmt;
mod go_regexp;
mod go_strconv;
mod go_time;
mod lex;
mod limits;
mod literal;
mod methods;
mod node_text;
mod parse;
#[cfg(test)]
mod tests;
mod value;

pub use compiled::{ALERT_TEMPLATE_PRELUDE, CompiledTemplate, expand, expand_alert_template};
pub use functions::{QuerySamples, TemplateQuery};
pub use go_strconv::format_go_float;
pub use limits::{MAX_OUTPUT, MAX_STEPS, MAX_TEMPLATE_DEPTH};
pub use value::TemplateData;

use std::fmt;

/// A template syntax error at a byte offset within the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// Byte offset inside the template text where the problem is.
    pub offset: usize,
    /// What is wrong, in Go's words where Go has them.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for TemplateError {}

/// Variables Prometheus defines before every label and annotation template,
/// with the field of the alert data each is bound to; `$` is Go's own name
/// for the data itself. Execution binds them in this order.
pub const PRELUDE_VARIABLES: [(&str, &str); 5] = [
    ("$", "."),
    ("$labels", ".Labels"),
    ("$externalLabels", ".ExternalLabels"),
    ("$externalURL", ".ExternalURL"),
    ("$value", ".Value"),
];

/// Functions Go's `text/template` always provides (Go 1.19).
pub const GO_BUILTIN_FUNCTIONS: [&str; 19] = [
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// The function map Prometheus 2.42 installs for alert templates
/// (`template.NewTemplateExpander`); `tmpl` exists only in HTML consoles.
pub const PROMETHEUS_FUNCTIONS: [&str; 26] = [
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "pathPrefix",
    "externalURL",
    "parseDuration",
];

/// Deepest nesting of `{{if}}`/`{{range}}`/`{{with}}`/`{{define}}`/
/// `{{block}}` bodies and parenthesized pipelines (counted together) that
/// the parser accepts; real templates stay far below it.
pub const MAX_NESTING: usize = 100;

/// Whether a template may call `name`: a Go builtin or a Prometheus function.
pub fn is_known_function(name: &str) -> bool {
    GO_BUILTIN_FUNCTIONS.contains(&name) || PROMETHEUS_FUNCTIONS.contains(&name)
}

/// Every function name a template may call, for did-you-mean hints.
pub fn known_functions() -> impl Iterator<Item = &'static str> {
    GO_BUILTIN_FUNCTIONS
        .iter()
        .chain(PROMETHEUS_FUNCTIONS.iter())
        .copied()
}

/// Checks a label or annotation template the way `promtool check rules`
/// does, so a bad template is reported before the rule ever fires.
pub fn check(text: &str) -> Result<(), TemplateError> {
    parse(text).map(|_| ())
}

/// Parses a label or annotation template into a syntax tree, for checks now
/// and execution later.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    parse::parse(text)
}

/// Whether the template reads the alert's value (`$value`, `.Value` where
/// dot is the alert data, or `$.Value`). A label template that does makes
/// the label, and so the alert's identity, change on every evaluation.
///
/// The check is syntactic: any use of a variable named `$value` counts, and
/// dot is followed through `{{if}}`, `{{else}}` branches and
/// `{{template "name" .}}` calls but not through variables holding it. A
/// template that does not parse counts when `$value` or `.Value` appears
/// after a `{{`.
pub fn references_value(text: &str) -> bool {
    match parse(text) {
        Ok(template) => template.references_value(),
        Err(_) => text
            .find("{{")
            .and_then(|start| text.get(start..))
            .is_some_and(|actions| actions.contains("$value") || actions.contains(".Value")),
    }
}

/// A byte range inside the template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TextRange {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl TextRange {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        TextRange {
            start,
            end: end.max(start),
        }
    }
}

/// A parsed template: the top-level node list plus the templates it
/// defines with `{{define}}` or `{{block}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// What executing the template writes, in order.
    pub root: Vec<Node>,
    /// Named templates, callable with `{{template "name" pipeline}}`; one
    /// per name (a later non-empty definition may only replace an empty one).
    pub definitions: Vec<Definition>,
}

impl Template {
    /// The definition `{{template name}}` would run, if any.
    pub fn definition(&self, name: &str) -> Option<&Definition> {
        self.definitions.iter().find(|d| d.name == name)
    }

    /// Drops the spare capacity the parser's vectors grew while pushing:
    /// a compiled template lives as long as its rule, and a rule set holds
    /// thousands of them.
    fn shrink_to_fit(&mut self) {
        shrink_nodes(&mut self.root);
        self.definitions.shrink_to_fit();
        for d in &mut self.definitions {
            shrink_nodes(&mut d.body);
        }
    }

    /// See [`references_value`].
    pub fn references_value(&self) -> bool {
        let mut walker = ValueReads {
            template: self,
            active: Vec::new(),
        };
        walker.nodes(&self.root, Dot::Root)
    }
}

/// A named template from `{{define "name"}}...{{end}}` or
/// `{{block "name" pipeline}}...{{end}}`. Its body starts with only `$`
/// defined (bound to the data passed in), as in Go.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The template's name, unquoted.
    pub name: String,
    /// Whether it came from `{{block}}` (which also calls it in place).
    pub from_block: bool,
    /// What executing it writes.
    pub body: Vec<Node>,
    /// From the opening `{{define`/`{{block` to the closing `}}` of `{{end}}`.
    pub span: TextRange,
}

/// One element of a node list.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Plain text, copied to the output (trim markers already applied).
    Text(TextNode),
    /// `{{/* ... */}}`; writes nothing.
    Comment(TextRange),
    /// `{{pipeline}}`: writes the pipeline's value unless it declares or
    /// assigns variables.
    Action(ActionNode),
    /// `{{if pipeline}} list {{else}} list {{end}}`; `{{else if}}` chains
    /// become a nested `If` as the only node of the else list. (The larger
    /// variants are boxed so the common text and action nodes stay small.)
    If(Box<BranchNode>),
    /// `{{range pipeline}} list {{else}} list {{end}}`; dot is each element
    /// inside the list, and the pipeline's declarations receive index and
    /// element.
    Range(Box<BranchNode>),
    /// `{{with pipeline}} list {{else}} list {{end}}`; dot is the value
    /// inside the list when it is non-empty.
    With(Box<BranchNode>),
    /// `{{template "name" pipeline}}`, also produced in place of a
    /// `{{block}}`.
    Template(Box<TemplateCall>),
    /// `{{break}}` inside a `{{range}}` body.
    Break(TextRange),
    /// `{{continue}}` inside a `{{range}}` body.
    Continue(TextRange),
}

/// Literal text between actions.
#[derive(Debug, Clone, PartialEq)]
pub struct TextNode {
    /// The text to write.
    pub text: String,
    /// Where it is.
    pub span: TextRange,
}

/// `{{pipeline}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionNode {
    /// What to evaluate.
    pub pipe: Pipeline,
    /// From `{{` to `}}`.
    pub span: TextRange,
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchNode {
    /// The condition / collection / new dot. Variables it declares are in
    /// scope in both lists.
    pub pipe: Pipeline,
    /// Run when the pipeline's value is non-empty (for each element with range).
    pub list: Vec<Node>,
    /// Run otherwise; `None` when there is no `{{else}}`.
    pub else_list: Option<Vec<Node>>,
    /// From the opening `{{` to the closing `}}` of the matching `{{end}}`.
    pub span: TextRange,
}

/// `{{template "name"}}` or `{{template "name" pipeline}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateCall {
    /// The definition to run.
    pub name: String,
    /// The value that becomes dot (and `$`) inside it; nil when absent.
    pub pipe: Option<Pipeline>,
    /// The action.
    pub span: TextRange,
}

/// `$x := cmd | cmd ...`: optional declarations, then commands whose
/// results feed the next command as its last argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`); in `range`, up to two
    /// (index and element).
    pub decl: Vec<Variable>,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    /// The commands, at least one.
    pub cmds: Vec<Command>,
    /// Where the pipeline is.
    pub span: TextRange,
}

/// One stage of a pipeline: a value, or a function/method call with
/// arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The operands; the first is what is called when it is a function,
    /// field or variable, and any other is the command's value.
    pub args: Vec<Arg>,
    /// Where the command is.
    pub span: TextRange,
}

/// A variable reference `$name.Field...` (or a declaration target).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// The name with its `$` (`$` alone is the data passed in).
    pub name: String,
    /// Field or map-key accesses applied after it.
    pub fields: Vec<String>,
    /// Where it is.
    pub span: TextRange,
}

/// A number literal, converted the way Go converts it: every exact
/// representation is kept, and execution uses the one a function's
/// parameter type needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The literal as written.
    pub text: String,
    /// Its value as a signed integer, when exact.
    pub int: Option<i64>,
    /// Its value as an unsigned integer, when exact.
    pub uint: Option<u64>,
    /// Its value as a float, when it has no imaginary part.
    pub float: Option<f64>,
    /// Real and imaginary parts, for complex literals (`1+2i`, `3i`).
    pub complex: Option<(f64, f64)>,
    /// Where it is.
    pub span: TextRange,
}

/// An operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `.`, the current data.
    Dot(TextRange),
    /// `nil`.
    Nil(TextRange),
    /// `true` or `false`.
    Bool(bool, TextRange),
    /// A number or character constant (boxed: it is the largest operand).
    Number(Box<Number>),
    /// A string literal, unquoted.
    String {
        /// The value.
        value: String,
        /// Where it is (including quotes).
        span: TextRange,
    },
    /// `.A.B`: fields or map keys of dot.
    Field {
        /// The names, without dots.
        fields: Vec<String>,
        /// Where it is.
        span: TextRange,
    },
    /// `$x` or `$x.A.B`.
    Variable(Variable),
    /// A function name (known to exist).
    Function {
        /// The name.
        name: String,
        /// Where it is.
        span: TextRange,
    },
    /// `(pipeline)`.
    Pipeline(Box<Pipeline>),
    /// `(pipeline).A.B` or `func.A`: fields of a computed value.
    Chain {
        /// What the fields apply to.
        target: Box<Arg>,
        /// The names, without dots.
        fields: Vec<String>,
        /// Where it is.
        span: TextRange,
    },
}

impl Arg {
    /// Where the operand is.
    pub fn span(&self) -> TextRange {
        match self {
            Arg::Dot(span) | Arg::Nil(span) | Arg::Bool(_, span) => *span,
            Arg::Number(n) => n.span,
            Arg::String { span, .. }
            | Arg::Field { span, .. }
            | Arg::Function { span, .. }
            | Arg::Chain { span, .. } => *span,
            Arg::Variable(v) => v.span,
            Arg::Pipeline(p) => p.span,
        }
    }
}

fn shrink_nodes(nodes: &mut Vec<Node>) {
    nodes.shrink_to_fit();
    for node in nodes {
        match node {
            Node::Action(action) => shrink_pipeline(&mut action.pipe),
            Node::If(branch) | Node::Range(branch) | Node::With(branch) => {
                shrink_pipeline(&mut branch.pipe);
                shrink_nodes(&mut branch.list);
                if let Some(list) = &mut branch.else_list {
                    shrink_nodes(list);
                }
            }
            Node::Template(call) => {
                if let Some(pipe) = &mut call.pipe {
                    shrink_pipeline(pipe);
                }
            }
            Node::Text(_) | Node::Comment(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn shrink_pipeline(pipe: &mut Pipeline) {
    pipe.decl.shrink_to_fit();
    for v in &mut pipe.decl {
        v.fields.shrink_to_fit();
    }
    pipe.cmds.shrink_to_fit();
    for cmd in &mut pipe.cmds {
        cmd.args.shrink_to_fit();
        for arg in &mut cmd.args {
            shrink_arg(arg);
        }
    }
}

fn shrink_arg(arg: &mut Arg) {
    match arg {
        Arg::Field { fields, .. } => fields.shrink_to_fit(),
        Arg::Variable(v) => v.fields.shrink_to_fit(),
        Arg::Pipeline(pipe) => shrink_pipeline(pipe),
        Arg::Chain { target, fields, .. } => {
            fields.shrink_to_fit();
            shrink_arg(target);
        }
        Arg::Dot(_)
        | Arg::Nil(_)
        | Arg::Bool(..)
        | Arg::Number(_)
        | Arg::String { .. }
        | Arg::Function { .. } => {}
    }
}

/// What dot holds while walking for [`references_value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dot {
    /// The alert data (`.Value` is the alert's value).
    Root,
    /// Something else.
    Other,
}

/// Walks a tree for reads of the alert value. Definitions are walked only
/// when called with the alert data, so `$` is the alert data wherever the
/// walk goes.
struct ValueReads<'t> {
    template: &'t Template,
    /// Definitions being walked, so recursive templates terminate.
    active: Vec<&'t str>,
}

impl<'t> ValueReads<'t> {
    fn nodes(&mut self, nodes: &'t [Node], dot: Dot) -> bool {
        nodes.iter().any(|node| self.node(node, dot))
    }

    fn node(&mut self, node: &'t Node, dot: Dot) -> bool {
        match node {
            Node::Action(action) => self.pipeline(&action.pipe, dot),
            Node::If(branch) => {
                self.pipeline(&branch.pipe, dot)
                    || self.nodes(&branch.list, dot)
                    || branch
                        .else_list
                        .as_ref()
                        .is_some_and(|l| self.nodes(l, dot))
            }
            Node::Range(branch) | Node::With(branch) => {
                self.pipeline(&branch.pipe, dot)
                    || self.nodes(&branch.list, Dot::Other)
                    || branch
                        .else_list
                        .as_ref()
                        .is_some_and(|l| self.nodes(l, dot))
            }
            Node::Template(call) => {
                let Some(pipe) = &call.pipe else {
                    return false;
                };
                if self.pipeline(pipe, dot) {
                    return true;
                }
                let passes_root = matches!(
                    pipe.cmds.as_slice(),
                    [Command { args, .. }] if matches!(
                        args.as_slice(),
                        [Arg::Dot(_)] if dot == Dot::Root
                    ) || matches!(
                        args.as_slice(),
                        [Arg::Variable(Variable { name, fields, .. })]
                            if name == "$" && fields.is_empty()
                    )
                );
                if !passes_root || self.active.contains(&call.name.as_str()) {
                    return false;
                }
                let Some(definition) = self.template.definition(&call.name) else {
                    return false;
                };
                self.active.push(definition.name.as_str());
                let reads = self.nodes(&definition.body, Dot::Root);
                self.active.pop();
                reads
            }
            Node::Text(_) | Node::Comment(_) | Node::Break(_) | Node::Continue(_) => false,
        }
    }

    fn pipeline(&mut self, pipe: &'t Pipeline, dot: Dot) -> bool {
        pipe.cmds
            .iter()
            .flat_map(|cmd| cmd.args.iter())
            .any(|arg| self.arg(arg, dot))
    }

    fn arg(&mut self, arg: &'t Arg, dot: Dot) -> bool {
        match arg {
            Arg::Field { fields, .. } => {
                dot == Dot::Root && fields.first().is_some_and(|f| f == "Value")
            }
            Arg::Variable(Variable { name, fields, .. }) => {
                name == "$value" || (name == "$" && fields.first().is_some_and(|f| f == "Value"))
            }
            Arg::Pipeline(pipe) => self.pipeline(pipe, dot),
            Arg::Chain { target, .. } => self.arg(target, dot),
            Arg::Dot(_)
            | Arg::Nil(_)
            | Arg::Bool(..)
            | Arg::Number(_)
            | Arg::String { .. }
            | Arg::Function { .. } => false,
        }
    }
}
