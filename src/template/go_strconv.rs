//! Go's `strconv`, byte for byte: `FormatFloat` and `ParseFloat` (`Quote`
//! and its helpers are on the ground floor, `vocab::go`). Alert annotations are compared by users (and by our
//! differential tests) with what Prometheus writes, so this follows Go
//! 1.19's sources function by function; digit generation is delegated to
//! Rust's formatter, which like Go's produces the shortest round-tripping
//! digits and rounds exact ties to even.

use std::fmt::Write as _;

use crate::vocab::go::quote;

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
