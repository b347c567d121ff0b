//! Reading YAML through serde-saphyr: every document, however unusual,
//! every error (with advice for the usual mistakes), and the budgets that
//! stop hostile files.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, MessageFormatter, Spanned};

use super::{Node, NodeValue, Scalar, ScalarKind};
use crate::diag::{Diagnostic, FileId, Span};

/// Replayed alias events allowed per file: real rule files use a handful
/// of anchors; a "billion laughs" file stops here instead of exhausting
/// memory.
const MAX_ALIAS_REPLAY_EVENTS: usize = 50_000;

pub(super) enum Raw {
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
pub(super) fn max_nodes(len: usize) -> usize {
    (len / 4).max(250_000)
}

pub(super) fn options(len: usize) -> serde_saphyr::Options {
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

/// [`super::parse`] through serde-saphyr alone: every document, however
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
            Raw::Seq(items) => NodeValue::Seq(items.into_iter().map(|i| self.node(i)).collect()),
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
            .with_hint(
                "rule files do not need deep nesting or heavy alias expansion; simplify the YAML"
                    .to_string(),
            )
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
        Some("a value containing `: ` must be quoted, e.g. `summary: \"disk: full\"`".to_string())
    } else if m.contains("unclosed") || m.contains("flow") {
        Some("close the bracket, or quote the value if `{` or `[` is meant literally".to_string())
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
