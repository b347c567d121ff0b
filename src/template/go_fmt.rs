//! Go's value formatting, byte for byte: `strconv.FormatFloat`,
//! `strconv.Quote`, `strconv.ParseFloat` and the `fmt` printer behind
//! `print`, `printf`, `println` and every `{{ value }}` action.
//!
//! Alert annotations are compared by users (and by our differential tests)
//! with what Prometheus writes, so these follow Go 1.19's `strconv` and `fmt`
//! sources function by function; digit generation is delegated to Rust's
//! formatter, which like Go's produces the shortest round-tripping digits and
//! rounds exact ties to even.

use std::fmt::Write as _;

use super::exec::{GoTime, IntType, MAX_OUTPUT, Sample, Value};

// ----- strconv.FormatFloat -----

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)`: `fmt` is one of `b e E f g
/// G x X` and `prec` is the precision, `-1` for the shortest
/// representation that reads back as `v`. The API formats alert values with
/// `('e', -1)`; `{{ $value }}` prints with `('g', -1)`.
/// Precisions above a million digits are treated as a million (Go's `fmt`
/// refuses them anyway).
pub fn format_go_float(v: f64, fmt: char, prec: i32) -> String {
    let prec = prec.min(1_000_000);
    let mut out = String::new();
    append_float(&mut out, v, fmt, prec);
    out
}

/// Decimal digits of a non-negative float: `0.d1d2d3... × 10^dp`, without
/// trailing zeros; zero has no digits (Go's `decimalSlice`).
struct Digits {
    digits: Vec<u8>,
    dp: i64,
}

impl Digits {
    fn nd(&self) -> i64 {
        self.digits.len() as i64
    }

    fn at(&self, i: i64) -> u8 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.digits.get(i))
            .copied()
            .unwrap_or(b'0')
    }

    /// Parses Rust's `{:e}` output (`d.ddde±x`).
    fn from_exponent(text: &str) -> Digits {
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
        let exponent: i64 = exponent.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Digits { digits, dp: 0 };
        }
        Digits {
            digits,
            dp: exponent + 1,
        }
    }

    /// Parses Rust's `{:.N}` output (`ddd.ddd`).
    fn from_fixed(text: &str) -> Digits {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
        let mut dp = int.len() as i64;
        let leading = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..leading);
        dp -= leading as i64;
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            dp = 0;
        }
        Digits { digits, dp }
    }
}

fn append_float(out: &mut String, v: f64, fmt: char, prec: i32) {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if raw_exp == 0x7ff {
        out.push_str(if mant != 0 {
            "NaN"
        } else if neg {
            "-Inf"
        } else {
            "+Inf"
        });
        return;
    }
    let mut exp = raw_exp;
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023;
    match fmt {
        'b' => {
            if neg {
                out.push('-');
            }
            let e = exp - 52;
            let _ = write!(out, "{mant}p{}{e}", if e >= 0 { "+" } else { "" });
            return;
        }
        'x' | 'X' => {
            fmt_x(out, prec, fmt, neg, mant, exp);
            return;
        }
        'e' | 'E' | 'f' | 'g' | 'G' => {}
        _ => {
            out.push('%');
            out.push(fmt);
            return;
        }
    }
    let abs = v.abs();
    let shortest = prec < 0;
    let mut prec = i64::from(prec);
    let digs = if shortest {
        let digs = Digits::from_exponent(&format!("{abs:e}"));
        prec = match fmt {
            'e' | 'E' => (digs.nd() - 1).max(0),
            'f' => (digs.nd() - digs.dp).max(0),
            _ => digs.nd(),
        };
        digs
    } else {
        match fmt {
            'f' => Digits::from_fixed(&format!("{abs:.*}", prec as usize)),
            'e' | 'E' => Digits::from_exponent(&format!("{abs:.*e}", prec as usize)),
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                Digits::from_exponent(&format!("{abs:.*e}", (prec - 1) as usize))
            }
        }
    };
    format_digits(out, shortest, neg, &digs, prec, fmt);
}

fn format_digits(out: &mut String, shortest: bool, neg: bool, d: &Digits, prec: i64, fmt: char) {
    match fmt {
        'e' | 'E' => fmt_e(out, neg, d, prec, fmt),
        'f' => fmt_f(out, neg, d, prec),
        _ => {
            let mut eprec = prec;
            if eprec > d.nd() && d.nd() >= d.dp {
                eprec = d.nd();
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            let mut prec = prec;
            if exp < -4 || exp >= eprec {
                if prec > d.nd() {
                    prec = d.nd();
                }
                let e = if fmt == 'G' { 'E' } else { 'e' };
                fmt_e(out, neg, d, prec - 1, e);
                return;
            }
            if prec > d.dp {
                prec = d.nd();
            }
            fmt_f(out, neg, d, (prec - d.dp).max(0));
        }
    }
}

fn fmt_e(out: &mut String, neg: bool, d: &Digits, prec: i64, fmt: char) {
    if neg {
        out.push('-');
    }
    out.push(char::from(if d.nd() == 0 { b'0' } else { d.at(0) }));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(d.at(i)));
        }
    }
    out.push(fmt);
    let mut exp = if d.nd() == 0 { 0 } else { d.dp - 1 };
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

fn fmt_f(out: &mut String, neg: bool, d: &Digits, prec: i64) {
    if neg {
        out.push('-');
    }
    if d.dp > 0 {
        for i in 0..d.dp {
            out.push(char::from(d.at(i)));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(d.at(d.dp + i - 1)));
        }
    }
}

/// Go's `fmtX`: `-0x1.yyyyp±dd`.
fn fmt_x(out: &mut String, prec: i32, fmt: char, neg: bool, mut mant: u64, mut exp: i64) {
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec as u32) * 4;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if fmt == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(fmt);
    out.push(char::from(b'0' + ((mant >> 60) & 1) as u8));
    mant <<= 4;
    let digit = |m: u64| char::from(hex[((m >> 60) & 15) as usize]);
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(digit(mant));
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(digit(mant));
            mant <<= 4;
        }
    }
    out.push(if fmt == 'X' { 'P' } else { 'p' });
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

// ----- strconv.ParseFloat -----

/// Go's `strconv.ParseFloat(s, 64)`, with Go's error text.
pub(super) fn parse_go_float(s: &str) -> Result<f64, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    if let Some(special) = parse_special_float(s) {
        return Ok(special);
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let negative = s.starts_with('-');
    if body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X")) {
        // Hexadecimal floats need a 'p' exponent; the template literal
        // parser implements exactly that syntax.
        return super::literal::parse_float(s).ok_or_else(syntax);
    }
    let b = body.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    let mut underscores = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'_' => underscores = true,
            b'.' if !seen_dot => seen_dot = true,
            b'0'..=b'9' => digits += 1,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return Err(syntax());
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(syntax());
        }
        while let Some(&c) = b.get(i) {
            match c {
                b'_' => underscores = true,
                b'0'..=b'9' => {}
                _ => break,
            }
            i += 1;
        }
    }
    if i != b.len() || (underscores && !super::literal::underscore_ok(s)) {
        return Err(syntax());
    }
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    let value: f64 = cleaned.parse().map_err(|_| syntax())?;
    if value.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s)
        ));
    }
    Ok(if negative { -value } else { value })
}

/// Go's `special`: `inf`, `infinity` (optionally signed) and `nan`, any case.
fn parse_special_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

// ----- strconv.Quote and friends -----

/// Go's `strconv.IsPrint`, approximated without Unicode category tables:
/// letters, marks, numbers, punctuation and symbols plus U+0020; format
/// characters, private use and other spaces are not printable.
pub(super) fn is_print(c: char) -> bool {
    let u = u32::from(c);
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        u,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0x200b..=0x200f
            | 0x2028..=0x202e
            | 0x2060..=0x206f
            | 0xd800..=0xf8ff
            | 0xfeff
            | 0xfff0..=0xfffb
            | 0xfffe..=0xffff
            | 0x110bd
            | 0x110cd
            | 0x13430..=0x1343f
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0000..=0xe0fff
            | 0xf0000..
    ) && (u & 0xfffe) != 0xfffe
}

fn append_escaped_rune(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ => {
            let u = u32::from(c);
            if u < 0x20 || u == 0x7f {
                let _ = write!(out, "\\x{u:02x}");
            } else if u < 0x10000 {
                let _ = write!(out, "\\u{u:04x}");
            } else {
                let _ = write!(out, "\\U{u:08x}");
            }
        }
    }
}

fn quote_with(s: &str, quote: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        append_escaped_rune(&mut out, c, quote, ascii_only);
    }
    out.push(quote);
    out
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// Go's `strconv.QuoteToASCII`.
fn quote_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

/// Go's `strconv.QuoteRune` (and `QuoteRuneToASCII` with `ascii_only`).
fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    append_escaped_rune(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// Go's `strconv.CanBackquote`.
pub(super) fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| {
        if !c.is_ascii() {
            return c != '\u{feff}' && c != '\u{fffd}';
        }
        !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}')
    })
}

// ----- fmt -----

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

// ----- time -----

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `time.Month.String`.
pub(super) fn month_string(m: i64) -> String {
    usize::try_from(m - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .map_or_else(|| format!("%!Month({m})"), |s| (*s).to_string())
}

/// `time.Weekday.String`.
pub(super) fn weekday_string(d: i64) -> String {
    usize::try_from(d)
        .ok()
        .and_then(|i| WEEKDAYS.get(i))
        .map_or_else(|| format!("%!Weekday({d})"), |s| (*s).to_string())
}

/// `time.Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(super) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out: Vec<u8> = Vec::new();
    // Built right to left, as Go does.
    fn frac(out: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
        let mut print = false;
        for _ in 0..prec {
            let digit = (v % 10) as u8;
            print = print || digit != 0;
            if print {
                out.push(b'0' + digit);
            }
            v /= 10;
        }
        if print {
            out.push(b'.');
        }
        v
    }
    fn int(out: &mut Vec<u8>, mut v: u64) {
        if v == 0 {
            out.push(b'0');
            return;
        }
        while v > 0 {
            out.push(b'0' + (v % 10) as u8);
            v /= 10;
        }
    }
    if u < 1_000_000_000 {
        let prec;
        out.push(b's');
        if u == 0 {
            return "0s".to_string();
        } else if u < 1_000 {
            prec = 0;
            out.push(b'n');
        } else if u < 1_000_000 {
            prec = 3;
            // "µ" reversed.
            out.push(0xb5);
            out.push(0xc2);
        } else {
            prec = 6;
            out.push(b'm');
        }
        u = frac(&mut out, u, prec);
        int(&mut out, u);
    } else {
        out.push(b's');
        u = frac(&mut out, u, 9);
        int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic
/// Gregorian (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Seconds from 0001-01-01 to 1970-01-01 (Go's `unixToInternal`).
const UNIX_TO_INTERNAL: i64 = 62_135_596_800;

impl GoTime {
    /// Calendar fields in UTC.
    pub(super) fn civil(&self) -> Civil {
        let days = self.unix.div_euclid(86_400);
        let secs = self.unix.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let before = cumulative
            .get(usize::try_from(month - 1).unwrap_or(0))
            .copied()
            .unwrap_or(0);
        let yday = before + day + i64::from(month > 2 && is_leap(year));
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
            nanos: i64::from(self.nanos),
            weekday: (days + 4).rem_euclid(7),
            yday,
        }
    }

    /// Go's internal `(wall, ext)` for a time without a monotonic reading.
    fn internal(&self) -> (u64, i64) {
        (u64::from(self.nanos), self.unix + UNIX_TO_INTERNAL)
    }

    /// `time.Time.String`.
    pub(super) fn string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// `time.Time.GoString`.
    fn go_string(&self) -> String {
        let c = self.civil();
        let month = month_string(c.month);
        format!(
            "time.Date({}, time.{month}, {}, {}, {}, {}, {}, time.UTC)",
            c.year, c.day, c.hour, c.minute, c.second, c.nanos
        )
    }

    /// `time.Time.Format` with Go's reference-time layout, in UTC.
    pub(super) fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(chunk) = chunk else { break };
            rest = suffix;
            match chunk {
                Std::Year => {
                    let y = c.year.rem_euclid(100);
                    let _ = write!(out, "{y:02}");
                }
                Std::LongYear => append_int(&mut out, c.year, 4),
                Std::Month => out.push_str(month_string(c.month).get(..3).unwrap_or("")),
                Std::LongMonth => out.push_str(&month_string(c.month)),
                Std::NumMonth => append_int(&mut out, c.month, 0),
                Std::ZeroMonth => append_int(&mut out, c.month, 2),
                Std::WeekDay => out.push_str(weekday_string(c.weekday).get(..3).unwrap_or("")),
                Std::LongWeekDay => out.push_str(&weekday_string(c.weekday)),
                Std::Day => append_int(&mut out, c.day, 0),
                Std::UnderDay => {
                    if c.day < 10 {
                        out.push(' ');
                    }
                    append_int(&mut out, c.day, 0);
                }
                Std::ZeroDay => append_int(&mut out, c.day, 2),
                Std::UnderYearDay => {
                    if c.yday < 100 {
                        out.push(' ');
                        if c.yday < 10 {
                            out.push(' ');
                        }
                    }
                    append_int(&mut out, c.yday, 0);
                }
                Std::ZeroYearDay => append_int(&mut out, c.yday, 3),
                Std::Hour => append_int(&mut out, c.hour, 2),
                Std::Hour12 => append_int(&mut out, twelve_hour(c.hour), 0),
                Std::ZeroHour12 => append_int(&mut out, twelve_hour(c.hour), 2),
                Std::Minute => append_int(&mut out, c.minute, 0),
                Std::ZeroMinute => append_int(&mut out, c.minute, 2),
                Std::Second => append_int(&mut out, c.second, 0),
                Std::ZeroSecond => append_int(&mut out, c.second, 2),
                Std::Pm => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Std::LowerPm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                Std::Iso8601 => out.push('Z'),
                Std::NumTz { colon, seconds } => {
                    out.push_str("+00");
                    if colon {
                        out.push(':');
                    }
                    out.push_str("00");
                    if seconds {
                        if colon {
                            out.push(':');
                        }
                        out.push_str("00");
                    }
                }
                Std::NumShortTz => out.push_str("+00"),
                Std::Tz => out.push_str("UTC"),
                Std::Frac {
                    digits,
                    trim,
                    separator,
                } => format_fraction(&mut out, c.nanos, digits, trim, separator),
            }
        }
        out
    }
}

/// Calendar fields of a [`GoTime`].
pub(super) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub nanos: i64,
    pub weekday: i64,
    pub yday: i64,
}

fn twelve_hour(hour: i64) -> i64 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

/// Go's `appendInt`: zero-padded to `width`, sign first.
fn append_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

fn format_fraction(out: &mut String, nanos: i64, digits: usize, trim: bool, separator: char) {
    let text = format!("{nanos:09}");
    let mut frac = text.get(..digits.min(9)).unwrap_or("").to_string();
    if trim {
        while frac.ends_with('0') {
            frac.pop();
        }
        if frac.is_empty() {
            return;
        }
    }
    out.push(separator);
    out.push_str(&frac);
}

/// Go's layout elements (`std*` constants) for the UTC-only formatter.
#[derive(Debug, Clone, Copy)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    LowerPm,
    Tz,
    /// `Z0700`-style: `Z` for UTC.
    Iso8601,
    NumTz {
        colon: bool,
        seconds: bool,
    },
    NumShortTz,
    Frac {
        digits: usize,
        trim: bool,
        separator: char,
    },
}

fn starts_with_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk` (1.19, whose layouts include `002` and `__2`):
/// the text before the first layout element, the element, and the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let split = |i: usize, std: Std, len: usize| {
        (
            layout.get(..i).unwrap_or(""),
            Some(std),
            layout.get(i + len..).unwrap_or(""),
        )
    };
    let starts = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    for i in 0..b.len() {
        let Some(&c) = b.get(i) else { break };
        match c {
            b'J' => {
                if starts(i, "January") {
                    return split(i, Std::LongMonth, 7);
                }
                if starts(i, "Jan") && !starts_with_lower(layout.get(i + 3..).unwrap_or("")) {
                    return split(i, Std::Month, 3);
                }
            }
            b'M' => {
                if starts(i, "Monday") {
                    return split(i, Std::LongWeekDay, 6);
                }
                if starts(i, "Mon") && !starts_with_lower(layout.get(i + 3..).unwrap_or("")) {
                    return split(i, Std::WeekDay, 3);
                }
                if starts(i, "MST") {
                    return split(i, Std::Tz, 3);
                }
            }
            b'0' => {
                if let Some(&d) = b.get(i + 1)
                    && (b'1'..=b'6').contains(&d)
                {
                    let std = match d {
                        b'1' => Std::ZeroMonth,
                        b'2' => Std::ZeroDay,
                        b'3' => Std::ZeroHour12,
                        b'4' => Std::ZeroMinute,
                        b'5' => Std::ZeroSecond,
                        _ => Std::Year,
                    };
                    return split(i, std, 2);
                }
                if starts(i, "002") {
                    return split(i, Std::ZeroYearDay, 3);
                }
            }
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    return split(i, Std::Hour, 2);
                }
                return split(i, Std::NumMonth, 1);
            }
            b'2' => {
                if starts(i, "2006") {
                    return split(i, Std::LongYear, 4);
                }
                return split(i, Std::Day, 1);
            }
            b'_' => {
                if b.get(i + 1) == Some(&b'2') {
                    if starts(i + 1, "2006") {
                        return (
                            layout.get(..i + 1).unwrap_or(""),
                            Some(Std::LongYear),
                            layout.get(i + 5..).unwrap_or(""),
                        );
                    }
                    return split(i, Std::UnderDay, 2);
                }
                if starts(i, "__2") {
                    return split(i, Std::UnderYearDay, 3);
                }
            }
            b'3' => return split(i, Std::Hour12, 1),
            b'4' => return split(i, Std::Minute, 1),
            b'5' => return split(i, Std::Second, 1),
            b'P' if b.get(i + 1) == Some(&b'M') => return split(i, Std::Pm, 2),
            b'p' if b.get(i + 1) == Some(&b'm') => return split(i, Std::LowerPm, 2),
            b'-' => {
                if starts(i, "-070000") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: false,
                            seconds: true,
                        },
                        7,
                    );
                }
                if starts(i, "-07:00:00") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: true,
                            seconds: true,
                        },
                        9,
                    );
                }
                if starts(i, "-0700") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: false,
                            seconds: false,
                        },
                        5,
                    );
                }
                if starts(i, "-07:00") {
                    return split(
                        i,
                        Std::NumTz {
                            colon: true,
                            seconds: false,
                        },
                        6,
                    );
                }
                if starts(i, "-07") {
                    return split(i, Std::NumShortTz, 3);
                }
            }
            b'Z' => {
                for (pattern, len) in [
                    ("Z070000", 7),
                    ("Z07:00:00", 9),
                    ("Z0700", 5),
                    ("Z07:00", 6),
                    ("Z07", 3),
                ] {
                    if starts(i, pattern) {
                        return split(i, Std::Iso8601, len);
                    }
                }
            }
            b'.' | b',' => {
                if let Some(&d) = b.get(i + 1)
                    && (d == b'0' || d == b'9')
                {
                    let mut j = i + 1;
                    while b.get(j) == Some(&d) {
                        j += 1;
                    }
                    if !b.get(j).is_some_and(u8::is_ascii_digit) {
                        return split(
                            i,
                            Std::Frac {
                                digits: j - (i + 1),
                                trim: d == b'9',
                                separator: char::from(c),
                            },
                            j - i,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    (layout, None, "")
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
