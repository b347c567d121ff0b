//! Template execution: Go 1.19 `text/template` semantics, so an alert's
//! labels and annotations read exactly as Prometheus would write them —
//! including the text of runtime errors, which Prometheus puts into the
//! annotation.
//!
//! The executor follows Go's `exec.go` function by function: the same
//! evaluation order, the same node recorded for error positions (Go reports
//! the last node it *visited*, not always the one at fault), the same
//! conversions of arguments to parameter types. The values it moves are in
//! [`super::value`], the functions and methods it calls in
//! [`super::functions`], [`super::builtins`] and [`super::methods`].
//!
//! Limits: recursion through `{{template}}` stops with Go's "exceeded
//! maximum template depth" error after [`MAX_TEMPLATE_DEPTH`] calls or
//! 512 KiB of stack (Go allows 100000 calls, far more than a thread's
//! stack), and an execution that runs more than [`MAX_STEPS`] steps, writes
//! more than [`MAX_OUTPUT`] bytes or builds a longer string stops with an
//! error instead of hanging the evaluator or exhausting memory.

use super::functions::{self, Func, Param, Signature, TemplateQuery};
use super::go_fmt;
use super::limits::{MAX_OUTPUT, MAX_STEPS, MAX_TEMPLATE_DEPTH};
use super::methods::{Method, call_method};
use super::node_text::{At, arg_string, arg_string_of, node_position, node_string};
use super::value::{IntType, TemplateData, Text, Value, is_true, reflect_type_name};
use super::{Arg, BranchNode, Command, Node, Number, Pipeline, Template, TemplateCall, Variable};
use crate::vocab::go::quote;

/// Deepest nesting of node lists (template bodies included) while
/// executing; bounds the native stack whatever the template does.
const MAX_NESTING: usize = 2000;

/// Go's value for `maxExecDepth`, which its error message names.
const GO_MAX_EXEC_DEPTH: u32 = 100_000;

/// The part of a compiled template that depends on its text alone.
#[derive(Debug)]
pub(super) struct Program {
    /// The template text without the prelude.
    pub(super) text: Box<str>,
    /// Bytes of prelude Prometheus puts before `text` on the first line,
    /// added to first-line columns in error messages.
    prelude_len: usize,
    pub(super) tree: Template,
    /// Whether the text has no actions, so it expands to itself.
    plain: bool,
}

impl Program {
    pub(super) fn parse(text: &str, name: &str, prelude_len: usize) -> Result<Program, String> {
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

    /// Expands the program as the template `name`: the output or Go's
    /// error text.
    pub(super) fn run(
        &self,
        name: &str,
        data: &TemplateData<'_>,
        query: Option<&dyn TemplateQuery>,
    ) -> Result<String, String> {
        if self.plain {
            return Ok(self.text.to_string());
        }
        let root = Value::Data(data);
        let base = 0u8;
        let stack_base = std::hint::black_box(std::ptr::addr_of!(base)) as usize;
        let mut state = State {
            prog: self,
            name,
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
            tmpl_name: name,
            depth: 0,
            nesting: 0,
            steps: 0,
            stack_base,
        };
        match state.walk_list(&root, &self.tree.root) {
            Ok(()) => Ok(state.out),
            Err(Flow::Fail(message)) => Err(format!("error executing template {name}: {message}")),
            // The parser only accepts break/continue inside range.
            Err(Flow::Break | Flow::Continue) => Ok(state.out),
        }
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
            Callee::Func(func) => functions::call(func, argv, self.data, self.query),
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
