//! Go's regular expressions (`regexp`, RE2 syntax with Perl flags) on top
//! of the `regex` crate, for `reReplaceAll` and `match`: patterns are
//! checked with Go's rules and error texts, then translated where the two
//! dialects differ (ASCII-only `\d \s \w \b`, `\Q...\E`, a literal `{`
//! that starts no repetition, `[` inside classes).

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use crate::vocab::go::{can_backquote, quote};

/// `regexp`'s `quote`: backquoted when possible.
pub(super) fn quote_pattern(s: &str) -> String {
    if can_backquote(s) {
        format!("`{s}`")
    } else {
        quote(s)
    }
}

fn error(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

const PERL_D: &str = "0-9";
const PERL_S: &str = "\\t\\n\\x0C\\r ";
const PERL_W: &str = "0-9A-Za-z_";

thread_local! {
    /// Patterns compiled recently: templates run the same few patterns
    /// for every alert.
    static CACHE: RefCell<HashMap<String, Result<Regex, String>>> =
        RefCell::new(HashMap::new());
}

/// Patterns kept in [`CACHE`] per thread before it is cleared.
const CACHE_SIZE: usize = 256;

/// `regexp.Compile` with Go's syntax and error messages.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(hit) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return hit;
    }
    let compiled = compile_uncached(pattern);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= CACHE_SIZE {
            cache.clear();
        }
        cache.insert(pattern.to_string(), compiled.clone());
    });
    compiled
}

fn compile_uncached(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    regex::RegexBuilder::new(&translated)
        .octal(false)
        .nest_limit(1000)
        .size_limit(64 << 20)
        .build()
        .map_err(|_| error("expression too large", pattern))
}

/// One parsed item for repetition checks.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    /// Start of the pattern, after `(` or `|`: nothing to repeat.
    Nothing,
    Operand,
}

/// A literal character, escaped where `regex` gives it a meaning.
fn push_literal(out: &mut String, c: char) {
    out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
}

/// Go's `parseEscape` for an ordinary escape: the character and the
/// rest, or Go's error.
fn parse_escape(s: &str) -> Result<(char, &str), String> {
    let t = s.get(1..).unwrap_or("");
    let mut chars = t.chars();
    let Some(c) = chars.next() else {
        return Err(error("trailing backslash at end of expression", ""));
    };
    let mut t = chars.as_str();
    let invalid = |t: &str| {
        let consumed = s.len() - t.len();
        Err(error(
            "invalid escape sequence",
            s.get(..consumed).unwrap_or(s),
        ))
    };
    match c {
        '1'..='7' if !t.starts_with(|d: char| ('0'..='7').contains(&d)) => invalid(t),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                match t.chars().next() {
                    Some(d @ '0'..='7') => {
                        r = r * 8 + (d as u32 - '0' as u32);
                        t = t.get(1..).unwrap_or("");
                    }
                    _ => break,
                }
            }
            Ok((char::from_u32(r).unwrap_or('\u{fffd}'), t))
        }
        'x' => {
            let mut chars = t.chars();
            let Some(first) = chars.next() else {
                return invalid(t);
            };
            t = chars.as_str();
            if first == '{' {
                let mut r: u32 = 0;
                let mut digits = 0;
                loop {
                    let mut chars = t.chars();
                    let Some(d) = chars.next() else {
                        return invalid(t);
                    };
                    t = chars.as_str();
                    if d == '}' {
                        break;
                    }
                    let Some(v) = d.to_digit(16) else {
                        return invalid(t);
                    };
                    r = r * 16 + v;
                    if r > 0x10ffff {
                        return invalid(t);
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return invalid(t);
                }
                return Ok((char::from_u32(r).unwrap_or('\u{fffd}'), t));
            }
            let mut chars = t.chars();
            let Some(second) = chars.next() else {
                return invalid(t);
            };
            t = chars.as_str();
            match (first.to_digit(16), second.to_digit(16)) {
                (Some(x), Some(y)) => Ok((char::from_u32(x * 16 + y).unwrap_or('?'), t)),
                _ => invalid(t),
            }
        }
        'a' => Ok(('\u{7}', t)),
        'f' => Ok(('\u{c}', t)),
        'n' => Ok(('\n', t)),
        'r' => Ok(('\r', t)),
        't' => Ok(('\t', t)),
        'v' => Ok(('\u{b}', t)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, t)),
        _ => invalid(t),
    }
}

/// A Perl class escape `\d \D \s \S \w \W`: (class body, negated).
fn perl_class(s: &str) -> Option<(&'static str, bool)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'\\') {
        return None;
    }
    match b.get(1) {
        Some(b'd') => Some((PERL_D, false)),
        Some(b'D') => Some((PERL_D, true)),
        Some(b's') => Some((PERL_S, false)),
        Some(b'S') => Some((PERL_S, true)),
        Some(b'w') => Some((PERL_W, false)),
        Some(b'W') => Some((PERL_W, true)),
        _ => None,
    }
}

/// A Unicode class `\pL`, `\p{Greek}`: its text and the rest.
fn unicode_class(s: &str) -> Result<Option<(&str, &str)>, String> {
    let b = s.as_bytes();
    if b.first() != Some(&b'\\') || !matches!(b.get(1), Some(b'p' | b'P')) {
        return Ok(None);
    }
    match b.get(2) {
        None => Err(error("invalid character class range", s)),
        Some(b'{') => match s.find('}') {
            Some(end) => Ok(Some((
                s.get(..=end).unwrap_or(s),
                s.get(end + 1..).unwrap_or(""),
            ))),
            None => Err(error("invalid character class range", s)),
        },
        Some(_) => {
            let len = 2 + s
                .get(2..)
                .and_then(|r| r.chars().next())
                .map_or(1, char::len_utf8);
            Ok(Some((
                s.get(..len).unwrap_or(s),
                s.get(len..).unwrap_or(""),
            )))
        }
    }
}

/// Go's `parseRepeat`: `{n}`, `{n,}`, `{n,m}`; `None` when `{` is a
/// literal.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (min, s) = parse_int(s)?;
    let (max, s) = if let Some(s) = s.strip_prefix(',') {
        if let Some(rest) = s.strip_prefix('}') {
            return Some((min, -1, rest));
        }
        let (max, s) = parse_int(s)?;
        (max, s)
    } else {
        (min, s)
    };
    let rest = s.strip_prefix('}')?;
    let min = if max < 0 { -1 } else { min };
    Some((min, max, rest))
}

fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let (number, rest) = s.split_at(digits);
    let n = if digits > 8 {
        -1
    } else {
        number.parse().unwrap_or(-1)
    };
    Some((n, rest))
}

/// Checks Go's syntax and writes the equivalent `regex` pattern.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut t = pattern;
    let mut depth = 0usize;
    let mut last = Last::Nothing;
    // The text from the previous repetition operator on (Go's
    // lastRepeat), for "invalid nested repetition operator".
    let mut last_repeat: Option<&str> = None;
    while let Some(c) = t.chars().next() {
        let mut repeat: Option<&str> = None;
        match c {
            '(' => {
                let opens_group = if t.starts_with("(?") {
                    let (rest, opens_group) = perl_flags(t, &mut out)?;
                    t = rest;
                    opens_group
                } else {
                    out.push('(');
                    t = t.get(1..).unwrap_or("");
                    true
                };
                // A flags-only group such as "(?i)" opens nothing.
                if opens_group {
                    depth += 1;
                    last = Last::Nothing;
                }
            }
            '|' => {
                out.push('|');
                t = t.get(1..).unwrap_or("");
                last = Last::Nothing;
            }
            ')' => {
                if depth == 0 {
                    return Err(error("unexpected )", pattern));
                }
                depth -= 1;
                out.push(')');
                t = t.get(1..).unwrap_or("");
                last = Last::Operand;
            }
            '^' | '$' | '.' => {
                out.push(c);
                t = t.get(1..).unwrap_or("");
                last = Last::Operand;
            }
            '[' => {
                t = parse_class(t, &mut out)?;
                last = Last::Operand;
            }
            '*' | '+' | '?' | '{' => {
                let before = t;
                let mut after;
                if c == '{' {
                    match parse_repeat(t) {
                        None => {
                            out.push_str("\\{");
                            t = t.get(1..).unwrap_or("");
                            last = Last::Operand;
                            last_repeat = None;
                            continue;
                        }
                        Some((min, max, rest)) => {
                            after = rest;
                            let op = before.get(..before.len() - after.len()).unwrap_or("");
                            if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                                return Err(error("invalid repeat count", op));
                            }
                        }
                    }
                } else {
                    after = t.get(1..).unwrap_or("");
                }
                if let Some(rest) = after.strip_prefix('?') {
                    after = rest;
                }
                if let Some(previous) = last_repeat {
                    let op = previous
                        .get(..previous.len() - after.len())
                        .unwrap_or(previous);
                    return Err(error("invalid nested repetition operator", op));
                }
                let op = before.get(..before.len() - after.len()).unwrap_or("");
                if last == Last::Nothing {
                    return Err(error("missing argument to repetition operator", op));
                }
                out.push_str(op);
                repeat = Some(before);
                t = after;
            }
            '\\' => {
                t = escape(t, &mut out)?;
                last = Last::Operand;
            }
            c => {
                push_literal(&mut out, c);
                t = t.get(c.len_utf8()..).unwrap_or("");
                last = Last::Operand;
            }
        }
        last_repeat = repeat;
    }
    if depth > 0 {
        return Err(error("missing closing )", pattern));
    }
    Ok(out)
}

/// `(?P<name>`, `(?flags)` and `(?flags:`.
fn perl_flags<'p>(s: &'p str, out: &mut String) -> Result<(&'p str, bool), String> {
    if s.len() > 4 && s.get(2..4) == Some("P<") {
        let Some(end) = s.find('>') else {
            return Err(error("invalid named capture", s));
        };
        let name = s.get(4..end).unwrap_or("");
        let capture = s.get(..=end).unwrap_or(s);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(error("invalid named capture", capture));
        }
        out.push_str(capture);
        return Ok((s.get(end + 1..).unwrap_or(""), true));
    }
    let mut t = s.get(2..).unwrap_or("");
    let mut negated = false;
    let mut saw_flag = false;
    let mut flags = String::new();
    while let Some(c) = t.chars().next() {
        t = t.get(c.len_utf8()..).unwrap_or("");
        match c {
            'i' | 'm' | 's' | 'U' => {
                flags.push(c);
                saw_flag = true;
            }
            '-' => {
                if negated {
                    break;
                }
                negated = true;
                saw_flag = false;
                flags.push('-');
            }
            ':' | ')' => {
                if negated && !saw_flag {
                    break;
                }
                out.push_str("(?");
                out.push_str(&flags);
                out.push(c);
                return Ok((t, c == ':'));
            }
            _ => break,
        }
    }
    let consumed = s.len() - t.len();
    Err(error(
        "invalid or unsupported Perl syntax",
        s.get(..consumed).unwrap_or(s),
    ))
}

/// An escape outside a class.
fn escape<'p>(t: &'p str, out: &mut String) -> Result<&'p str, String> {
    let rest2 = t.get(2..).unwrap_or("");
    match t.as_bytes().get(1) {
        Some(b'A') => {
            out.push_str("\\A");
            return Ok(rest2);
        }
        Some(b'z') => {
            out.push_str("\\z");
            return Ok(rest2);
        }
        Some(b'b') => {
            out.push_str("(?-u:\\b)");
            return Ok(rest2);
        }
        Some(b'B') => {
            out.push_str("(?-u:\\B)");
            return Ok(rest2);
        }
        Some(b'C') => return Err(error("invalid escape sequence", "\\C")),
        Some(b'Q') => {
            let (literal, rest) = match rest2.find("\\E") {
                Some(i) => (
                    rest2.get(..i).unwrap_or(""),
                    rest2.get(i + 2..).unwrap_or(""),
                ),
                None => (rest2, ""),
            };
            out.push_str("(?:");
            for c in literal.chars() {
                push_literal(out, c);
            }
            out.push(')');
            return Ok(rest);
        }
        _ => {}
    }
    if let Some((text, rest)) = unicode_class(t)? {
        out.push_str(text);
        return Ok(rest);
    }
    if let Some((body, negated)) = perl_class(t) {
        out.push_str(if negated { "[^" } else { "[" });
        out.push_str(body);
        out.push(']');
        return Ok(rest2);
    }
    let (c, rest) = parse_escape(t)?;
    push_literal(out, c);
    Ok(rest)
}

/// Go's `parseClass`: `[...]` translated item by item.
fn parse_class<'p>(s: &'p str, out: &mut String) -> Result<&'p str, String> {
    let whole = s;
    let mut t = s.get(1..).unwrap_or("");
    out.push('[');
    if let Some(rest) = t.strip_prefix('^') {
        out.push('^');
        t = rest;
    }
    let mut first = true;
    while t.is_empty() || !t.starts_with(']') || first {
        first = false;
        if t.is_empty() {
            return Err(error("missing closing ]", whole));
        }
        if t.starts_with("[:")
            && let Some(end) = t.get(2..).and_then(|r| r.find(":]"))
        {
            let name = t.get(2..2 + end).unwrap_or("");
            let bare = name.strip_prefix('^').unwrap_or(name);
            const NAMES: [&str; 14] = [
                "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print",
                "punct", "space", "upper", "word", "xdigit",
            ];
            let full = t.get(..end + 4).unwrap_or(t);
            if !NAMES.contains(&bare) {
                return Err(error("invalid character class range", full));
            }
            out.push_str(full);
            t = t.get(end + 4..).unwrap_or("");
            continue;
        }
        if let Some((text, rest)) = unicode_class(t)? {
            out.push_str(text);
            t = rest;
            continue;
        }
        if let Some((body, negated)) = perl_class(t) {
            if negated {
                out.push_str("[^");
                out.push_str(body);
                out.push(']');
            } else {
                out.push_str(body);
            }
            t = t.get(2..).unwrap_or("");
            continue;
        }
        let range_start = t;
        let (lo, rest) = class_char(t, whole)?;
        t = rest;
        let mut hi = lo;
        if t.len() >= 2 && t.starts_with('-') && !t.starts_with("-]") {
            let (h, rest) = class_char(t.get(1..).unwrap_or(""), whole)?;
            t = rest;
            hi = h;
            if hi < lo {
                let consumed = range_start.len() - t.len();
                return Err(error(
                    "invalid character class range",
                    range_start.get(..consumed).unwrap_or(range_start),
                ));
            }
        }
        push_literal(out, lo);
        if hi != lo {
            out.push('-');
            push_literal(out, hi);
        }
    }
    out.push(']');
    Ok(t.get(1..).unwrap_or(""))
}

fn class_char<'p>(s: &'p str, whole: &str) -> Result<(char, &'p str), String> {
    let Some(c) = s.chars().next() else {
        return Err(error("missing closing ]", whole));
    };
    if c == '\\' {
        return parse_escape(s);
    }
    Ok((c, s.get(c.len_utf8()..).unwrap_or("")))
}

/// Go's `Regexp.ReplaceAllString`, with `$name`/`${name}` expanded the
/// way Go's `Regexp.Expand` does.
pub(super) fn replace_all(re: &Regex, src: &str, template: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut locations = re.capture_locations();
    let literal = !template.contains('$');
    let mut last_match_end = 0;
    let mut search_pos = 0;
    // Past the output limit the result is refused anyway.
    while search_pos <= src.len() && out.len() <= super::MAX_OUTPUT {
        let found = if literal {
            re.find_at(src, search_pos).map(|m| (m.start(), m.end()))
        } else {
            re.captures_read_at(&mut locations, src, search_pos)
                .map(|m| (m.start(), m.end()))
        };
        let Some((start, end)) = found else { break };
        out.push_str(src.get(last_match_end..start).unwrap_or(""));
        // No replacement for an empty match right after a match.
        if end > last_match_end || start == 0 {
            if literal {
                out.push_str(template);
            } else {
                expand(&mut out, re, &locations, src, template);
            }
        }
        last_match_end = end;
        let width = src
            .get(search_pos..)
            .and_then(|r| r.chars().next())
            .map_or(1, char::len_utf8);
        if search_pos + width > end {
            search_pos += width;
        } else if search_pos + 1 > end {
            search_pos += 1;
        } else {
            search_pos = end;
        }
    }
    out.push_str(src.get(last_match_end..).unwrap_or(""));
    out
}

fn expand(
    out: &mut String,
    re: &Regex,
    locations: &regex::CaptureLocations,
    src: &str,
    template: &str,
) {
    let group = |i: usize| locations.get(i).and_then(|(a, b)| src.get(a..b));
    let mut t = template;
    while let Some(i) = t.find('$') {
        out.push_str(t.get(..i).unwrap_or(""));
        t = t.get(i..).unwrap_or("");
        if t.starts_with("$$") {
            out.push('$');
            t = t.get(2..).unwrap_or("");
            continue;
        }
        match extract(t) {
            Some((name, rest)) => {
                let text = match parse_group_number(name) {
                    Some(n) => group(n),
                    None => re
                        .capture_names()
                        .position(|n| n == Some(name))
                        .and_then(group),
                };
                if let Some(text) = text {
                    out.push_str(text);
                }
                t = rest;
            }
            None => {
                out.push('$');
                t = t.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(t);
}

/// Go's `extract`: the name after `$` (or in `${...}`) and the rest.
fn extract(s: &str) -> Option<(&str, &str)> {
    let s = s.strip_prefix('$')?;
    let (body, brace) = match s.strip_prefix('{') {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = body.get(..end)?;
    let mut rest = body.get(end..)?;
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// A group number as Go reads it: digits without a leading zero.
fn parse_group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    if name.len() > 8 {
        return None;
    }
    name.parse().ok()
}
