//! Go's quoting and escaping, byte for byte, wherever klaxon writes text a
//! Go program would: `strconv.Quote` and its relatives (template output,
//! error messages, route keys, matchers in links) and `url.QueryEscape`.
//! Follows Go 1.19's `strconv` and `net/url` function by function.

use std::fmt::Write as _;

/// Go's `strconv.IsPrint`, approximated without Unicode category tables:
/// letters, marks, numbers, punctuation and symbols plus U+0020; format
/// characters, private use and other spaces are not printable.
pub fn is_print(c: char) -> bool {
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
pub fn quote_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

/// Go's `strconv.QuoteRune` (and `QuoteRuneToASCII` with `ascii_only`).
pub fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    append_escaped_rune(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// Go's `strconv.CanBackquote`.
pub fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| {
        if !c.is_ascii() {
            return c != '\u{feff}' && c != '\u{fffd}';
        }
        !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}')
    })
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
