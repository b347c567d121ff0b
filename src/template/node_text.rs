//! Where execution is, for error messages: Go's position of a node and its
//! `Node.String` (`text/template/parse`), which Prometheus's runtime errors
//! quote as `template: NAME:LINE:COL: executing "NAME" at <NODE>: ...`.

use super::{ActionNode, Arg, BranchNode, Command, Node, Pipeline, TemplateCall, TextRange};
use crate::vocab::go::quote;

/// The node execution is "at", for error messages (Go's `state.node`).
#[derive(Debug, Clone, Copy)]
pub(super) enum At<'a> {
    Nothing,
    Action(&'a ActionNode),
    Branch(&'static str, &'a BranchNode),
    Template(&'a TemplateCall),
    Pipe(&'a Pipeline),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

/// Go's position of a node: where Go's parser created it.
pub(super) fn node_position(text: &str, node: At<'_>) -> usize {
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

pub(super) fn arg_string_of(text: &str) -> impl Fn(&Arg) -> String + '_ {
    move |arg| arg_string(text, arg)
}

/// Go's `Node.String` for an operand.
pub(super) fn arg_string(text: &str, arg: &Arg) -> String {
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
pub(super) fn node_string(text: &str, node: At<'_>) -> String {
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
