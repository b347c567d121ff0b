//! Literal conversion with Go's rules: numbers (`strconv.ParseInt`,
//! `ParseUint`, `ParseFloat` with base prefixes and `_` separators, complex
//! numbers, character constants) and quoted strings (`strconv.Unquote`).
//!
//! Go converts literals while parsing, so a bad literal is a parse error.

use super::lex::scan_number;

/// The values a number literal can stand for; Go keeps every representation
/// that is exact, and execution picks the one a function's parameter needs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct NumberValue {
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
    pub complex: Option<(f64, f64)>,
}

/// How the lexer classified the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumberSyntax {
    /// Integer, float or imaginary literal.
    Plain,
    /// A character constant such as `'a'`.
    Char,
    /// A complex literal such as `1+2i`.
    Complex,
}

/// Go's `newNumber`: converts a number token, or explains why it is not one.
pub(super) fn parse_number(text: &str, syntax: NumberSyntax) -> Result<NumberValue, String> {
    let mut n = NumberValue::default();
    match syntax {
        NumberSyntax::Char => {
            let malformed = || format!("malformed character constant: {text}");
            let inner = text.get(1..).ok_or_else(malformed)?;
            let (value, _, tail) = unquote_char(inner, '\'').ok_or_else(malformed)?;
            if tail != "'" {
                return Err(malformed());
            }
            n.int = Some(i64::from(value));
            n.uint = Some(u64::from(value));
            n.float = Some(f64::from(value));
            return Ok(n);
        }
        NumberSyntax::Complex => {
            let (re, im) =
                parse_complex(text).ok_or_else(|| format!("illegal number syntax: {text:?}"))?;
            n.complex = Some((re, im));
            simplify_complex(&mut n);
            return Ok(n);
        }
        NumberSyntax::Plain => {}
    }
    // Imaginary constants can only be complex unless they are zero.
    if let Some(imaginary) = text.strip_suffix('i')
        && let Some(f) = parse_float(imaginary)
    {
        n.complex = Some((0.0, f));
        simplify_complex(&mut n);
        return Ok(n);
    }
    let unsigned = parse_uint(text);
    n.uint = unsigned;
    if let Some(i) = parse_int(text) {
        n.int = Some(i);
        if i == 0 {
            // In case of -0.
            n.uint = Some(unsigned.unwrap_or(0));
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        // Parsed as a float but looks like an integer: too large for one.
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {text:?}"));
        }
        n.float = Some(f);
        if (f as i64) as f64 == f {
            n.int = Some(f as i64);
        }
        if (f as u64) as f64 == f {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {text:?}"));
    }
    Ok(n)
}

/// Fills in the real representations of a complex number with no
/// imaginary part.
fn simplify_complex(n: &mut NumberValue) {
    let Some((re, im)) = n.complex else { return };
    if im != 0.0 {
        return;
    }
    n.float = Some(re);
    if (re as i64) as f64 == re {
        n.int = Some(re as i64);
    }
    if (re as u64) as f64 == re {
        n.uint = Some(re as u64);
    }
}

/// `fmt.Sscan` of a complex literal `real±imag i`.
fn parse_complex(text: &str) -> Option<(f64, f64)> {
    let split = scan_number(text).ok()?;
    let (real, imaginary) = (text.get(..split)?, text.get(split..)?);
    let imaginary = imaginary.strip_suffix('i')?;
    Some((parse_float(real)?, parse_float(imaginary)?))
}

fn digit_value(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some(u64::from(c - b'0')),
        b'a'..=b'z' => Some(u64::from(c - b'a') + 10),
        b'A'..=b'Z' => Some(u64::from(c - b'A') + 10),
        _ => None,
    }
}

/// `strconv.ParseUint(s, 0, 64)`.
pub(super) fn parse_uint(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (base, digits): (u64, &[u8]) = match b {
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'b') => (2, b.get(2..)?),
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'o') => (8, b.get(2..)?),
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'x') => (16, b.get(2..)?),
        [b'0', ..] => (8, b.get(1..)?),
        _ => (10, b),
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        if c == b'_' {
            underscores = true;
            continue;
        }
        let d = digit_value(c).filter(|&d| d < base)?;
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    Some(n)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(super) fn parse_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, s.get(1..)?),
        Some(b'-') => (true, s.get(1..)?),
        _ => (false, s),
    };
    let u = parse_uint(body)?;
    const CUTOFF: u64 = 1 << 63;
    if negative {
        if u > CUTOFF {
            None
        } else if u == CUTOFF {
            Some(i64::MIN)
        } else {
            Some(-(u as i64))
        }
    } else if u >= CUTOFF {
        None
    } else {
        Some(u as i64)
    }
}

/// Go's `underscoreOK`: underscores only between digits or after a base
/// prefix.
pub(super) fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let [b'+' | b'-', rest @ ..] = b {
        b = rest;
    }
    // What we saw last: '^' start, '0' digit or prefix, '_' underscore, '!' other.
    let mut saw = b'^';
    let mut hex = false;
    let mut i = 0;
    if let [b'0', p, ..] = b
        && matches!(p.to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        i = 2;
        saw = b'0';
        hex = p.eq_ignore_ascii_case(&b'x');
    }
    for &c in b.get(i..).unwrap_or(&[]) {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// `strconv.ParseFloat(s, 64)` for the forms the lexer can produce: decimal
/// and hexadecimal (`0x1p-2`) floats with optional sign and `_` separators.
/// Overflow to infinity is an error, as in Go.
pub(super) fn parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (negative, start) = match b.first() {
        Some(b'+') => (false, 1),
        Some(b'-') => (true, 1),
        _ => (false, 0),
    };
    let body = b.get(start..)?;
    let hex = matches!(body, [b'0', x, ..] if x.eq_ignore_ascii_case(&b'x'));
    let mut i = if hex { 2 } else { 0 };
    let mut underscores = false;
    let mut mantissa_digits = 0usize;
    let mut fraction_digits = 0i64;
    let mut seen_dot = false;
    let mut hex_mantissa = 0f64;
    let mut decimal = String::new();
    while let Some(&c) = body.get(i) {
        match c {
            b'_' => underscores = true,
            b'.' if !seen_dot => {
                seen_dot = true;
                decimal.push('.');
            }
            c if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) => {
                mantissa_digits += 1;
                if seen_dot {
                    fraction_digits += 1;
                }
                if hex {
                    hex_mantissa = hex_mantissa * 16.0 + digit_value(c)? as f64;
                } else {
                    decimal.push(c as char);
                }
            }
            _ => break,
        }
        i += 1;
    }
    if mantissa_digits == 0 {
        return None;
    }
    let exponent_char = if hex { b'p' } else { b'e' };
    let mut exponent: i64 = 0;
    let mut has_exponent = false;
    if body
        .get(i)
        .is_some_and(|c| c.to_ascii_lowercase() == exponent_char)
    {
        has_exponent = true;
        i += 1;
        let mut exponent_negative = false;
        if let Some(&sign @ (b'+' | b'-')) = body.get(i) {
            exponent_negative = sign == b'-';
            i += 1;
        }
        if !body.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while let Some(&c) = body.get(i) {
            if c == b'_' {
                underscores = true;
            } else if c.is_ascii_digit() {
                exponent = (exponent * 10 + i64::from(c - b'0')).min(1_000_000);
            } else {
                break;
            }
            i += 1;
        }
        if exponent_negative {
            exponent = -exponent;
        }
    }
    if i != body.len() || (hex && !has_exponent) {
        return None;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    let value = if hex {
        let power = (exponent - 4 * fraction_digits).clamp(-2000, 2000) as i32;
        hex_mantissa * 2f64.powi(power)
    } else {
        let mut literal = decimal;
        if has_exponent {
            literal.push_str(&format!("e{exponent}"));
        }
        literal.parse::<f64>().ok()?
    };
    if value.is_infinite() {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Go's `strconv.UnquoteChar`: the first character of `s` (an escape or a
/// literal character), whether it must be encoded as UTF-8 rather than a
/// raw byte, and the rest. `None` for a bad escape.
fn unquote_char(s: &str, quote: char) -> Option<(u32, bool, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote {
        return None;
    }
    if !c.is_ascii() {
        return Some((c as u32, true, chars.as_str()));
    }
    if c != '\\' {
        return Some((c as u32, false, chars.as_str()));
    }
    let escape = chars.next()?;
    let rest = chars.as_str();
    let simple = |v: char| Some((v as u32, false, rest));
    match escape {
        'a' => simple('\u{7}'),
        'b' => simple('\u{8}'),
        'f' => simple('\u{c}'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\u{b}'),
        '\\' => simple('\\'),
        '\'' | '"' if escape == quote => simple(escape),
        'x' | 'u' | 'U' => {
            let len = match escape {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let digits = rest.get(..len)?;
            let value = u32::from_str_radix(digits, 16).ok()?;
            if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
                return None;
            }
            let rest = rest.get(len..)?;
            if escape == 'x' {
                return Some((value, false, rest));
            }
            char::from_u32(value)?;
            Some((value, true, rest))
        }
        '0'..='7' => {
            let digits = rest.get(..2)?;
            let mut value = escape as u32 - '0' as u32;
            for d in digits.bytes() {
                if !(b'0'..=b'7').contains(&d) {
                    return None;
                }
                value = value * 8 + u32::from(d - b'0');
            }
            if value > 255 {
                return None;
            }
            Some((value, false, rest.get(2..)?))
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` for a string token (interpreted `"..."` or raw
/// `` `...` ``). On failure returns the byte offset, within `quoted`, of the
/// escape that is wrong. Byte escapes that do not form UTF-8 become U+FFFD.
pub(super) fn unquote(quoted: &str) -> Result<String, usize> {
    if let Some(raw) = quoted.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
        // Go drops carriage returns from raw strings.
        return Ok(raw.replace('\r', ""));
    }
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or(0usize)?;
    let mut bytes = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        let offset = 1 + inner.len() - rest.len();
        if rest.starts_with('\n') {
            return Err(offset);
        }
        let (value, multibyte, tail) = unquote_char(rest, '"').ok_or(offset)?;
        if value < 0x80 || !multibyte {
            bytes.push(value as u8);
        } else {
            let c = char::from_u32(value).ok_or(offset)?;
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        rest = tail;
    }
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
