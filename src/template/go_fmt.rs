//! Go's `fmt` printer, byte for byte, behind `print`, `printf`, `println`
//! and every `{{ value }}` action: verbs, flags, widths, precisions and
//! Go's `%!verb(type=value)` error notes, over the [`Value`]s a template
//! meets. Alert annotations are compared by users (and by our differential
//! tests) with what Prometheus writes, so this follows Go 1.19's `fmt`
//! sources function by function; numbers and quoting come from
//! [`super::go_strconv`], times from [`super::go_time`].

use super::go_strconv::format_go_float;
use super::go_time::{duration_string, month_string, weekday_string};
use super::limits::MAX_OUTPUT;
use super::value::{DATA_TYPE, IntType, Sample, Value, type_name};
use crate::vocab::go::{can_backquote, is_print, quote, quote_ascii, quote_rune};

/// The formatting flags of one verb (Go's `fmt.fmtFlags` plus width and
/// precision).
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: i64,
    prec: i64,
}

/// Go's `fmt.pp`: a buffer and the flags of the verb being printed.
pub(super) struct Printer {
    buf: String,
    f: Flags,
    erroring: bool,
}

const LOWER_DIGITS: &[u8; 17] = b"0123456789abcdefx";
const UPPER_DIGITS: &[u8; 17] = b"0123456789ABCDEFX";
/// Go's `tooLarge`: widths and precisions above a million are rejected.
const MAX_WIDTH: i64 = 1_000_000;

/// `fmt.Sprint`: operands in their default format, with spaces between
/// operands when neither side is a string.
pub(super) fn sprint(args: &[Value<'_>]) -> String {
    let mut p = Printer::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        if p.buf.len() > MAX_OUTPUT {
            break;
        }
        let is_string = matches!(arg, Value::Str(_) | Value::Html(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln`: operands separated by spaces, then a newline.
pub(super) fn sprintln(args: &[Value<'_>]) -> String {
    let mut p = Printer::new();
    for (i, arg) in args.iter().enumerate() {
        if p.buf.len() > MAX_OUTPUT {
            break;
        }
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `fmt.Sprintf`, including Go's `%!verb(type=value)` error notes.
pub(super) fn sprintf(format: &str, args: &[Value<'_>]) -> String {
    let mut p = Printer::new();
    p.do_printf(format, args);
    p.buf
}

/// `fmt.Sprint` of one value, as the template prints an action's result.
pub(super) fn print_value(value: &Value<'_>) -> String {
    let mut p = Printer::new();
    p.print_arg(value, 'v');
    p.buf
}

impl Printer {
    fn new() -> Self {
        Printer {
            buf: String::new(),
            f: Flags::default(),
            erroring: false,
        }
    }

    // ----- padding (fmt/format.go) -----

    fn write_padding(&mut self, n: i64) {
        if n <= 0 {
            return;
        }
        let pad = if self.f.zero { '0' } else { ' ' };
        for _ in 0..n {
            self.buf.push(pad);
        }
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let width = self.f.wid - s.chars().count() as i64;
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_str(s);
        }
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if self.f.prec_present {
            let limit = usize::try_from(self.f.prec).unwrap_or(0);
            if let Some((index, _)) = s.char_indices().nth(limit) {
                return s.get(..index).unwrap_or(s);
            }
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_sx(&mut self, s: &str, digits: &[u8; 17]) {
        let mut length = s.len() as i64;
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width);
        }
        let hex = |d: u8| char::from(digits[usize::from(d)]);
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(hex(16));
        }
        for (i, c) in s.bytes().take(length as usize).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(hex(16));
                }
            }
            self.buf.push(hex(c >> 4));
            self.buf.push(hex(c & 0xf));
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width);
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            let quoted = format!("`{s}`");
            self.pad(&quoted);
            return;
        }
        let quoted = if self.f.plus {
            quote_ascii(s)
        } else {
            quote(s)
        };
        self.pad(&quoted);
    }

    fn fmt_integer(&mut self, u: u64, base: u64, signed: bool, verb: char, digits: &[u8; 17]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0i64;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec -= 1;
            }
        }
        let mut rev: Vec<u8> = Vec::with_capacity(24);
        while u >= base {
            rev.push(digits[(u % base) as usize]);
            u /= base;
        }
        rev.push(digits[u as usize]);
        while (rev.len() as i64) < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let text = String::from_utf8_lossy(&rev).into_owned();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&text);
        self.f.zero = old;
    }

    fn fmt_0x64(&mut self, v: u64, leading_0x: bool) {
        let sharp = self.f.sharp;
        self.f.sharp = leading_0x;
        self.fmt_integer(v, 16, false, 'v', LOWER_DIGITS);
        self.f.sharp = sharp;
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut prec = 4i64;
        if self.f.prec_present && self.f.prec > 4 {
            prec = self.f.prec;
        }
        let mut text = format!("{u:X}");
        while (text.len() as i64) < prec {
            text.insert(0, '0');
        }
        text.insert_str(0, "U+");
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            text.push_str(" '");
            text.push(c);
            text.push('\'');
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&text);
        self.f.zero = old;
    }

    fn rune_of(u: u64) -> char {
        u32::try_from(u)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{fffd}')
    }

    fn fmt_float_flags(&mut self, v: f64, verb: char, prec: i32) {
        let prec = if self.f.prec_present {
            i32::try_from(self.f.prec).unwrap_or(i32::MAX)
        } else {
            prec
        };
        let strconv_verb = if verb == 'F' { 'f' } else { verb };
        let mut num = format_go_float(v, strconv_verb, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(..1, " ");
        }
        let second = num.as_bytes().get(1).copied();
        if second == Some(b'I') || second == Some(b'N') {
            let old = self.f.zero;
            self.f.zero = false;
            if second == Some(b'N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i64 = match verb {
                'v' | 'g' | 'G' | 'x' => {
                    if prec == -1 {
                        6
                    } else {
                        i64::from(prec)
                    }
                }
                _ => 0,
            };
            let mut tail = String::new();
            let mut body: Vec<char> = num.chars().collect();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < body.len() {
                let c = body.get(i).copied().unwrap_or('0');
                match c {
                    '.' => has_point = true,
                    'p' | 'P' => {
                        tail = body.drain(i..).collect();
                        break;
                    }
                    'e' | 'E' if verb != 'x' && verb != 'X' => {
                        tail = body.drain(i..).collect();
                        break;
                    }
                    _ => {
                        if c != '0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_point {
                if body.len() == 2 && body.get(1) == Some(&'0') {
                    digits -= 1;
                }
                body.push('.');
            }
            while digits > 0 {
                body.push('0');
                digits -= 1;
            }
            num = body.into_iter().collect::<String>() + &tail;
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero && self.f.wid_present && self.f.wid > num.chars().count() as i64 {
                let (sign, rest) = num.split_at(1);
                let rest = rest.to_string();
                self.buf.push_str(sign);
                self.write_padding(self.f.wid - num.chars().count() as i64);
                self.buf.push_str(&rest);
                return;
            }
            self.pad(&num);
            return;
        }
        let unsigned = num.get(1..).unwrap_or("").to_string();
        self.pad(&unsigned);
    }

    // ----- verbs per kind (fmt/print.go) -----

    fn fmt_bool(&mut self, v: bool, verb: char, value: &Value<'_>) {
        match verb {
            't' | 'v' => self.pad(if v { "true" } else { "false" }),
            _ => self.bad_verb(verb, value),
        }
    }

    fn fmt_int(&mut self, v: u64, signed: bool, verb: char, value: &Value<'_>) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    self.fmt_0x64(v, true);
                } else {
                    self.fmt_integer(v, 10, signed, verb, LOWER_DIGITS);
                }
            }
            'd' => self.fmt_integer(v, 10, signed, verb, LOWER_DIGITS),
            'b' => self.fmt_integer(v, 2, signed, verb, LOWER_DIGITS),
            'o' | 'O' => self.fmt_integer(v, 8, signed, verb, LOWER_DIGITS),
            'x' => self.fmt_integer(v, 16, signed, verb, LOWER_DIGITS),
            'X' => self.fmt_integer(v, 16, signed, verb, UPPER_DIGITS),
            'c' => {
                let c = Self::rune_of(v);
                self.pad(c.encode_utf8(&mut [0; 4]));
            }
            'q' => {
                let quoted = quote_rune(Self::rune_of(v), self.f.plus);
                self.pad(&quoted);
            }
            'U' => self.fmt_unicode(v),
            _ => self.bad_verb(verb, value),
        }
    }

    fn fmt_float(&mut self, v: f64, verb: char, value: &Value<'_>) {
        match verb {
            'v' => self.fmt_float_flags(v, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float_flags(v, verb, -1),
            'f' | 'e' | 'E' | 'F' => self.fmt_float_flags(v, verb, 6),
            _ => self.bad_verb(verb, value),
        }
    }

    fn fmt_complex(&mut self, re: f64, im: f64, verb: char, value: &Value<'_>) {
        match verb {
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                let old_plus = self.f.plus;
                self.buf.push('(');
                self.fmt_float(re, verb, value);
                self.f.plus = true;
                self.fmt_float(im, verb, value);
                self.buf.push_str("i)");
                self.f.plus = old_plus;
            }
            _ => self.bad_verb(verb, value),
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, value: &Value<'_>) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(s);
                } else {
                    self.fmt_s(s);
                }
            }
            's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, LOWER_DIGITS),
            'X' => self.fmt_sx(s, UPPER_DIGITS),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, value),
        }
    }

    fn fmt_pointer(&mut self, address: usize, type_name: &str, verb: char, value: &Value<'_>) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.buf.push('(');
                    self.buf.push_str(type_name);
                    self.buf.push_str(")(");
                    if address == 0 {
                        self.buf.push_str("nil");
                    } else {
                        self.fmt_0x64(address as u64, true);
                    }
                    self.buf.push(')');
                } else if address == 0 {
                    self.pad("<nil>");
                } else {
                    self.fmt_0x64(address as u64, !self.f.sharp);
                }
            }
            'p' => self.fmt_0x64(address as u64, !self.f.sharp),
            'b' | 'o' | 'd' | 'x' | 'X' => self.fmt_int(address as u64, false, verb, value),
            _ => self.bad_verb(verb, value),
        }
    }

    /// Go's `badVerb`: `%!verb(type=value)`.
    fn bad_verb(&mut self, verb: char, value: &Value<'_>) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if value.is_nil() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(type_name(value));
            self.buf.push('=');
            self.print_arg(value, 'v');
        }
        self.buf.push(')');
        self.erroring = false;
    }

    /// Go's `handleMethods` for the Stringers that can reach a template:
    /// `time.Time`, `time.Month`, `time.Weekday` and `time.Duration`.
    fn handle_methods(&mut self, value: &Value<'_>, verb: char) -> bool {
        if self.erroring {
            return false;
        }
        if self.f.sharp_v {
            if let Value::Time(t, _) = value {
                let text = t.go_string();
                self.fmt_s(&text);
                return true;
            }
            return false;
        }
        if !matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
            return false;
        }
        let text = match value {
            Value::Time(t, _) => t.string(),
            Value::Int(v, IntType::Month) => month_string(*v),
            Value::Int(v, IntType::Weekday) => weekday_string(*v),
            Value::Int(v, IntType::Duration) => duration_string(*v),
            _ => return false,
        };
        self.fmt_string(&text, verb, value);
        true
    }

    /// Go's `printArg` for a value passed as `interface{}`.
    fn print_arg(&mut self, arg: &Value<'_>, verb: char) {
        if arg.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, arg),
            }
            return;
        }
        match verb {
            'T' => {
                self.fmt_s(type_name(arg));
                return;
            }
            'p' => {
                let address = match arg {
                    Value::StrMap(m) => m.address(),
                    Value::AnyMap(m) => std::rc::Rc::as_ptr(m) as usize,
                    Value::Samples(s) => std::rc::Rc::as_ptr(s) as usize,
                    Value::Sample(s) => sample_address(s.as_ref()),
                    _ => {
                        self.bad_verb(verb, arg);
                        return;
                    }
                };
                self.fmt_pointer(address, type_name(arg), verb, arg);
                return;
            }
            _ => {}
        }
        match arg {
            Value::Bool(b) => self.fmt_bool(*b, verb, arg),
            Value::Float(v) => self.fmt_float(*v, verb, arg),
            Value::Complex(re, im) => self.fmt_complex(*re, *im, verb, arg),
            Value::Int(v, IntType::Int | IntType::Int64) => {
                self.fmt_int(*v as u64, true, verb, arg)
            }
            Value::Byte(v) => self.fmt_int(u64::from(*v), false, verb, arg),
            Value::Str(s) => self.fmt_string(s.as_str(), verb, arg),
            _ => {
                if !self.handle_methods(arg, verb) {
                    self.print_value(arg, verb, 0);
                }
            }
        }
    }

    /// Go's `printValue`: the reflection-based printer for composite values.
    fn print_value(&mut self, value: &Value<'_>, verb: char, depth: usize) {
        if depth > 0 && !matches!(value, Value::Invalid) && self.handle_methods(value, verb) {
            return;
        }
        match value {
            Value::Invalid => {
                if depth == 0 {
                    self.buf.push_str("<invalid reflect.Value>");
                } else if verb == 'v' {
                    self.buf.push_str("<nil>");
                } else {
                    self.bad_verb(verb, value);
                }
            }
            Value::NilInterface => {
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => self.fmt_bool(*b, verb, value),
            Value::Int(v, _) => self.fmt_int(*v as u64, true, verb, value),
            Value::Byte(v) => self.fmt_int(u64::from(*v), false, verb, value),
            Value::Float(v) => self.fmt_float(*v, verb, value),
            Value::Complex(re, im) => self.fmt_complex(*re, *im, verb, value),
            Value::Str(s) | Value::Html(s) => self.fmt_string(s.as_str(), verb, value),
            Value::StrMap(map) => {
                self.map_open("map[string]string");
                for (i, (k, v)) in map.get().iter().enumerate() {
                    self.map_separator(i);
                    self.fmt_string(k, verb, &Value::Str(k.as_str().into()));
                    self.buf.push(':');
                    self.fmt_string(v, verb, &Value::Str(v.as_str().into()));
                }
                self.map_close();
            }
            Value::AnyMap(map) => {
                self.map_open("map[string]interface {}");
                for (i, (k, v)) in map.iter().enumerate() {
                    self.map_separator(i);
                    self.fmt_string(k, verb, &Value::Str(k.as_str().into()));
                    self.buf.push(':');
                    if v.is_nil() {
                        self.print_value(&Value::NilInterface, verb, depth + 1);
                    } else {
                        self.print_value(v, verb, depth + 2);
                    }
                }
                self.map_close();
            }
            Value::Data(data) => {
                let fields = [
                    ("Labels", Value::StrMap(data.labels_map())),
                    ("ExternalLabels", Value::StrMap(data.external_labels_map())),
                    ("ExternalURL", Value::Str(data.external_url.into())),
                    ("Value", Value::Float(data.value)),
                ];
                if self.f.sharp_v {
                    self.buf.push_str(DATA_TYPE);
                }
                self.print_struct(&fields, verb, depth);
            }
            Value::Sample(Some(sample)) if depth == 0 => {
                self.buf.push('&');
                if self.f.sharp_v {
                    self.buf.push_str("template.sample");
                }
                let fields = sample_fields(sample);
                self.print_struct(&fields, verb, depth + 1);
            }
            Value::Sample(sample) => {
                let address = sample_address(sample.as_ref());
                self.fmt_pointer(address, "*template.sample", verb, value);
            }
            Value::Samples(samples) => {
                if self.f.sharp_v {
                    self.buf.push_str("template.queryResult{");
                } else {
                    self.buf.push('[');
                }
                for (i, sample) in samples.borrow().iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.push_str(", ");
                        } else {
                            self.buf.push(' ');
                        }
                    }
                    let element = Value::Sample(Some(sample.clone()));
                    self.print_value(&element, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Time(t, is_pointer) => {
                // time.Time's unexported fields: wall, ext, loc (nil for UTC).
                if *is_pointer && depth == 0 {
                    self.buf.push('&');
                }
                if self.f.sharp_v {
                    self.buf.push_str("time.Time");
                }
                let (wall, ext) = t.internal();
                self.buf.push('{');
                self.fmt_int(wall, false, verb, value);
                self.buf.push(' ');
                self.fmt_int(ext as u64, true, verb, value);
                self.buf.push(' ');
                self.fmt_pointer(0, "*time.Location", verb, value);
                self.buf.push('}');
            }
        }
    }

    fn map_open(&mut self, type_name: &str) {
        if self.f.sharp_v {
            self.buf.push_str(type_name);
            self.buf.push('{');
        } else {
            self.buf.push_str("map[");
        }
    }

    fn map_separator(&mut self, index: usize) {
        if index > 0 {
            if self.f.sharp_v {
                self.buf.push_str(", ");
            } else {
                self.buf.push(' ');
            }
        }
    }

    fn map_close(&mut self) {
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    fn print_struct(&mut self, fields: &[(&str, Value<'_>)], verb: char, depth: usize) {
        self.buf.push('{');
        for (i, (name, field)) in fields.iter().enumerate() {
            if i > 0 {
                if self.f.sharp_v {
                    self.buf.push_str(", ");
                } else {
                    self.buf.push(' ');
                }
            }
            if self.f.plus_v || self.f.sharp_v {
                self.buf.push_str(name);
                self.buf.push(':');
            }
            self.print_value(field, verb, depth + 1);
        }
        self.buf.push('}');
    }

    // ----- Printf (fmt/print.go doPrintf) -----

    fn do_printf(&mut self, format: &str, args: &[Value<'_>]) {
        let bytes = format.as_bytes();
        let end = bytes.len();
        let mut arg_num = 0usize;
        let mut after_index;
        let mut reordered = false;
        let mut i = 0usize;
        'format: while i < end {
            if self.buf.len() > MAX_OUTPUT {
                // The caller refuses a result this large.
                return;
            }
            let mut good_arg_num = true;
            let last = i;
            while i < end && bytes.get(i) != Some(&b'%') {
                i += 1;
            }
            if i > last {
                self.buf.push_str(format.get(last..i).unwrap_or(""));
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                let c = bytes.get(i).copied().unwrap_or(0);
                match c {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => {
                        if c.is_ascii_lowercase() && arg_num < args.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            if let Some(arg) = args.get(arg_num) {
                                self.print_arg(arg, char::from(c));
                            }
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }

            (arg_num, i, after_index) = arg_number(
                arg_num,
                bytes,
                i,
                args.len(),
                &mut good_arg_num,
                &mut reordered,
            );

            if bytes.get(i) == Some(&b'*') {
                i += 1;
                let (wid, ok, next) = int_from_arg(args, arg_num);
                self.f.wid = wid;
                self.f.wid_present = ok;
                arg_num = next;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                if self.f.wid < 0 {
                    self.f.wid = -self.f.wid;
                    self.f.minus = true;
                    self.f.zero = false;
                }
                after_index = false;
            } else {
                let (wid, ok, next) = parse_num(bytes, i, end);
                self.f.wid = wid;
                self.f.wid_present = ok;
                i = next;
                if after_index && ok {
                    good_arg_num = false;
                }
            }

            if i + 1 < end && bytes.get(i) == Some(&b'.') {
                i += 1;
                if after_index {
                    good_arg_num = false;
                }
                (arg_num, i, after_index) = arg_number(
                    arg_num,
                    bytes,
                    i,
                    args.len(),
                    &mut good_arg_num,
                    &mut reordered,
                );
                if bytes.get(i) == Some(&b'*') {
                    i += 1;
                    let (prec, ok, next) = int_from_arg(args, arg_num);
                    self.f.prec = prec;
                    self.f.prec_present = ok;
                    arg_num = next;
                    if self.f.prec < 0 {
                        self.f.prec = 0;
                        self.f.prec_present = false;
                    }
                    if !self.f.prec_present {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (prec, ok, next) = parse_num(bytes, i, end);
                    self.f.prec = prec;
                    self.f.prec_present = ok;
                    i = next;
                    if !ok {
                        self.f.prec = 0;
                        self.f.prec_present = true;
                    }
                }
            }

            if !after_index {
                (arg_num, i, after_index) = arg_number(
                    arg_num,
                    bytes,
                    i,
                    args.len(),
                    &mut good_arg_num,
                    &mut reordered,
                );
            }
            let _ = after_index;

            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format
                .get(i..)
                .and_then(|s| s.chars().next())
                .unwrap_or('?');
            i += verb.len_utf8();

            if verb == '%' {
                self.buf.push('%');
            } else if !good_arg_num {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(BADINDEX)");
            } else if let Some(arg) = args.get(arg_num) {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(arg, verb);
                arg_num += 1;
            } else {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
            }
        }

        if !reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (i, arg) in args.iter().skip(arg_num).enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(type_name(arg));
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }
}

/// Go's `parsenum`: a decimal number at `start`, at most a million.
fn parse_num(bytes: &[u8], start: usize, end: usize) -> (i64, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num = 0i64;
    let mut is_num = false;
    let mut i = start;
    while i < end {
        let Some(&c) = bytes.get(i) else { break };
        if !c.is_ascii_digit() {
            break;
        }
        if num > MAX_WIDTH {
            return (0, false, end);
        }
        num = num * 10 + i64::from(c - b'0');
        is_num = true;
        i += 1;
    }
    (num, is_num, i)
}

/// Go's `argNumber`: an explicit `[n]` argument index.
fn arg_number(
    arg_num: usize,
    bytes: &[u8],
    i: usize,
    num_args: usize,
    good_arg_num: &mut bool,
    reordered: &mut bool,
) -> (usize, usize, bool) {
    if bytes.get(i) != Some(&b'[') {
        return (arg_num, i, false);
    }
    *reordered = true;
    let rest = bytes.get(i..).unwrap_or(&[]);
    let (index, width, ok) = parse_arg_number(rest);
    if ok && index >= 0 && (index as usize) < num_args {
        return (index as usize, i + width, true);
    }
    *good_arg_num = false;
    (arg_num, i + width, ok)
}

fn parse_arg_number(format: &[u8]) -> (i64, usize, bool) {
    if format.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..format.len() {
        if format.get(i) == Some(&b']') {
            let (width, ok, next) = parse_num(format, 1, i);
            if !ok || next != i {
                return (0, i + 1, false);
            }
            return (width - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

/// Go's `intFromArg`: a `*` width or precision taken from the arguments.
fn int_from_arg(args: &[Value<'_>], arg_num: usize) -> (i64, bool, usize) {
    let Some(arg) = args.get(arg_num) else {
        return (0, false, arg_num);
    };
    let (mut num, mut ok) = match arg {
        Value::Int(v, _) => (*v, true),
        Value::Byte(v) => (i64::from(*v), true),
        _ => (0, false),
    };
    if !(-MAX_WIDTH..=MAX_WIDTH).contains(&num) {
        num = 0;
        ok = false;
    }
    (num, ok, arg_num + 1)
}

fn sample_fields<'a>(sample: &Sample) -> [(&'static str, Value<'a>); 2] {
    [
        ("Labels", Value::StrMap(sample.labels_map())),
        ("Value", Value::Float(sample.value)),
    ]
}

fn sample_address(sample: Option<&std::rc::Rc<Sample>>) -> usize {
    sample.map_or(0, |s| std::rc::Rc::as_ptr(s) as usize)
}

// ----- helpers for the executor -----

/// How `fmt.Print` shows a `sample` struct (a dereferenced `*sample`).
pub(super) fn sample_struct(sample: &Sample) -> String {
    let mut p = Printer::new();
    let fields = sample_fields(sample);
    p.print_struct(&fields, 'v', 0);
    p.buf
}

/// Go's `evalArgs` (behind `html`, `js`, `urlquery`): one string argument
/// as is, anything else printed as `fmt.Sprint` prints it after following
/// pointers, with `<no value>` for nil.
pub(super) fn eval_args(args: &[Value<'_>]) -> String {
    if let [Value::Str(s)] = args {
        return s.as_str().to_string();
    }
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        if out.len() > MAX_OUTPUT {
            break;
        }
        let (is_string, text) = match arg {
            Value::Invalid | Value::NilInterface => (true, "<no value>".to_string()),
            Value::Str(s) | Value::Html(s) => (true, s.as_str().to_string()),
            Value::Sample(Some(sample)) => (false, sample_struct(sample)),
            Value::Time(t, _) => (false, t.string()),
            other => (false, print_value(other)),
        };
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&text);
        prev_string = is_string;
    }
    out
}
