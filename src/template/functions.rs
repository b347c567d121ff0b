//! The function map a template can call: Go's builtins and the functions
//! Prometheus 2.42 installs (`template/template.go`), with the parameter
//! types the executor converts arguments to. Prometheus's own functions
//! (`humanize*`, `toTime`, `parseDuration`, `stripDomain`, ...) are written
//! here from their documented behaviour and Go's `strings`, `unicode` and
//! `net/url` helpers they use; Go's builtins are in [`super::builtins`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::builtins::{eq, html_escape, index, js_escape, le, length, lt, slice};
use super::go_fmt;
use super::go_regexp;
use super::go_strconv::parse_go_float;
use super::go_time::GoTime;
use super::value::{
    IntType, Sample, TemplateData, Value, is_true, str_value, string_arg, type_name,
};
use crate::vocab::go::query_escape;
use crate::vocab::go::quote;

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

/// Parameter types of the functions and methods a template can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Param {
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
    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn can_be_nil(self) -> bool {
        matches!(
            self,
            Param::Interface | Param::Reflect | Param::QueryResult | Param::SamplePtr
        )
    }

    pub(super) fn zero<'a>(self) -> Value<'a> {
        match self {
            Param::Interface => Value::NilInterface,
            Param::QueryResult => Value::Samples(Rc::new(RefCell::new(Vec::new()))),
            Param::SamplePtr => Value::Sample(None),
            _ => Value::Invalid,
        }
    }
}

/// A function's parameters: fixed ones, then an optional variadic tail.
pub(super) struct Signature {
    pub(super) fixed: &'static [Param],
    pub(super) variadic: Option<Param>,
}

pub(super) const fn sig(fixed: &'static [Param], variadic: Option<Param>) -> Signature {
    Signature { fixed, variadic }
}

/// Every function of the template function map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
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
    pub(super) fn lookup(name: &str) -> Option<Func> {
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

    pub(super) fn signature(self) -> Signature {
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
    pub(super) fn is_builtin(self) -> bool {
        matches!(self, Func::And | Func::Or)
    }
}

/// Calls `func` with arguments already converted to its parameter types:
/// the result, or the error text Go's `evalCall` wraps in `error calling`.
/// (`and` and `or` short-circuit in the executor and never get here.)
pub(super) fn call<'a>(
    func: Func,
    args: Vec<Value<'a>>,
    data: &TemplateData<'_>,
    query: Option<&dyn TemplateQuery>,
) -> Result<Value<'a>, String> {
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
            let Some(backend) = query else {
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
            let re = go_regexp::compile(pattern).map_err(|e| {
                format!(
                    "regexp: Compile({}): {e}",
                    go_regexp::quote_pattern(pattern)
                )
            })?;
            str_value(go_regexp::replace_all(
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
            let re = go_regexp::compile(string_arg(&pattern))?;
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
        Func::PathPrefix => str_value(url_path(data.external_url)),
        Func::ExternalUrl => str_value(data.external_url.to_string()),
        Func::ParseDuration => {
            let millis = parse_prometheus_duration(string_arg(&arg(0)))?;
            Value::Float(millis as f64 / 1000.0)
        }
    })
}

/// Go's message for a nil pointer dereference inside a called function.
const NIL_DEREFERENCE: &str = "runtime error: invalid memory address or nil pointer dereference";

fn sample_arg<'v>(value: &'v Value<'_>) -> Result<&'v Sample, String> {
    match value {
        Value::Sample(Some(sample)) => Ok(sample),
        _ => Err(NIL_DEREFERENCE.to_string()),
    }
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
