//! The Go values a template meets, as `reflect.Value` would hold them:
//! `map[string]string` labels, the alert data struct, `float64`, `int`,
//! `string`, `template.HTML`, `queryResult`/`*sample` from `query`,
//! `*time.Time` from `toTime` and `map[string]interface{}` from `args`.
//!
//! The executor, the function map and Go's printer all work on these; this
//! file imports none of them, so the formatting code ([`super::go_fmt`])
//! and the executor ([`super::exec`]) share the types without importing
//! each other.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::go_time::GoTime;

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
    pub(super) fn lookup(&self, key: &str) -> Text<'a> {
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
    pub(super) fn entries(&self) -> Vec<(Text<'a>, Text<'a>)> {
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
    pub(super) labels: Rc<BTreeMap<String, String>>,
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
pub(super) fn reflect_type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::NilInterface => "interface {}",
        other => type_name(other),
    }
}

/// Go's `isTrue` after `indirectInterface`.
pub(super) fn is_true(value: &Value<'_>) -> bool {
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

/// Go's `%T`: the value's type as `reflect.Type.String` spells it.
pub(super) fn type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::Invalid | Value::NilInterface => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_, t) => t.name(),
        Value::Byte(_) => "uint8",
        Value::Float(_) => "float64",
        Value::Complex(..) => "complex128",
        Value::Str(_) => "string",
        Value::Html(_) => "template.HTML",
        Value::StrMap(_) => "map[string]string",
        Value::AnyMap(_) => "map[string]interface {}",
        Value::Data(_) => DATA_TYPE,
        Value::Samples(_) => "template.queryResult",
        Value::Sample(_) => "*template.sample",
        Value::Time(_, true) => "*time.Time",
        Value::Time(_, false) => "time.Time",
    }
}

/// The anonymous struct type of Prometheus's alert template data.
pub(super) const DATA_TYPE: &str = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }";

/// A computed `string` value.
pub(super) fn str_value<'a>(s: String) -> Value<'a> {
    Value::Str(Text::from(s))
}

/// The text of a `string` (or `template.HTML`) argument; `""` for any
/// other value, which type checking has already ruled out.
pub(super) fn string_arg<'v>(value: &'v Value<'_>) -> &'v str {
    match value {
        Value::Str(s) | Value::Html(s) => s.as_str(),
        _ => "",
    }
}
