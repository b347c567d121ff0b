//! A YAML tree in which every key and value keeps its byte span, for the
//! files klaxon reads with positions (Prometheus rule files, Alertmanager
//! configurations to import), and the mapping from positions in a decoded
//! string back to the file.
//!
//! Most documents are read straight from the YAML parser's events
//! ([`direct`]); anything unusual, and every error, goes through
//! serde-saphyr ([`via_serde`]), which gives the same tree. [`ScalarMap`]
//! maps a position inside a decoded scalar (a PromQL or template error in a
//! multi-line value) back through quoting, escapes and folding.

mod direct;
mod scalar_map;
mod via_serde;

pub use scalar_map::ScalarMap;

use crate::diag::{Diagnostic, FileId, Span};

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

/// Parses the first YAML document of `text` into a spanned tree. Later
/// documents are ignored (as Prometheus does) with a warning.
pub fn parse(file: FileId, text: &str) -> Result<(Node, Vec<Diagnostic>), Box<Diagnostic>> {
    if let Some(root) = direct::tree(file, text) {
        return Ok((root, Vec::new()));
    }
    via_serde::parse_through_serde(file, text)
}
