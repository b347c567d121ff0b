//! Go's template builtins (`text/template/funcs.go`, Go 1.19): the
//! comparisons `eq`/`ne`/`lt`/`le`/`gt`/`ge`, `index`, `slice`, `len` and the
//! `html`/`js`/`urlquery` escapers, with Go's error texts. Followed
//! function by function, as the executor is.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use super::go_fmt;
use super::value::{IntType, Text, Value, reflect_type_name, str_value, type_name};
use crate::vocab::go::is_print;

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
pub(super) fn eq(arg1: &Value<'_>, rest: &[Value<'_>]) -> Result<bool, String> {
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
pub(super) fn lt(arg1: &Value<'_>, arg2: &Value<'_>) -> Result<bool, String> {
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

pub(super) fn le(arg1: &Value<'_>, arg2: &Value<'_>) -> Result<bool, String> {
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
pub(super) fn index<'a>(item: Value<'a>, indexes: &[Value<'a>]) -> Result<Value<'a>, String> {
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
pub(super) fn slice<'a>(item: Value<'a>, indexes: &[Value<'a>]) -> Result<Value<'a>, String> {
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
pub(super) fn length<'a>(item: &Value<'a>) -> Result<Value<'a>, String> {
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
pub(super) fn html_escape(s: &str) -> String {
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
pub(super) fn js_escape(s: &str) -> String {
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
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
        }
    }
    out
}
