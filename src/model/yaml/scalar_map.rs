//! Positions inside decoded YAML strings: a caret for an error in the
//! middle of a quoted, escaped or folded value lands on the offending
//! character rather than on the start of the value.

use super::Node;

/// Maps byte offsets in a decoded scalar back to byte offsets in the file.
///
/// The scalar's source text is decoded again here (plain, single- and
/// double-quoted with escapes and line folding, literal and folded block
/// scalars) while recording where each output byte came from. If that
/// re-decoding does not reproduce the value exactly, every offset maps to
/// the start of the value instead of to a wrong place.
pub struct ScalarMap {
    offsets: Offsets,
    start: usize,
}

/// Where the bytes of a decoded scalar are in the file.
enum Offsets {
    /// Written verbatim: byte `i` is at `base + i`, up to `len`.
    Verbatim { base: usize, len: usize },
    /// Byte by byte, plus one past the end.
    Table(Vec<usize>),
    /// Not known: everything maps to the start of the value.
    Unknown,
}

impl ScalarMap {
    /// Builds the map for `value`, decoded from `node` in `text`.
    pub fn new(text: &str, node: &Node, value: &str) -> ScalarMap {
        let def = node.def;
        let start = content_start(text, def.start, def.end);
        // Most values are one line without escapes: their map is a
        // shift, found without decoding them again.
        let offsets = match verbatim(text, def.start, def.end) {
            Some((base, source)) if source == value => Offsets::Verbatim {
                base,
                len: value.len(),
            },
            _ => decode(text, def.start, def.end)
                .filter(|(decoded, _)| decoded == value)
                .map_or(Offsets::Unknown, |(_, map)| Offsets::Table(map)),
        };
        ScalarMap { offsets, start }
    }

    /// The file offset of byte `offset` of the decoded value (`offset`
    /// may be the length, meaning just past the end).
    pub fn offset(&self, offset: usize) -> usize {
        match &self.offsets {
            Offsets::Verbatim { base, len } => base + offset.min(*len),
            Offsets::Table(map) => map
                .get(offset)
                .or(map.last())
                .copied()
                .unwrap_or(self.start),
            Offsets::Unknown => self.start,
        }
    }
}

/// For a scalar at `start..end` that decodes to its own source text (a
/// one-line plain scalar, or a one-line quoted one without escapes):
/// where that text starts, and the text. [`decode`] maps such a scalar's
/// bytes one to one onto the source, so the two agree on every offset.
fn verbatim(text: &str, start: usize, end: usize) -> Option<(usize, &str)> {
    let raw = text.get(start..end)?;
    let (base, source, special) = match raw.as_bytes().first() {
        Some(&quote @ (b'"' | b'\'')) => {
            if raw.len() < 2 || raw.as_bytes().last() != Some(&quote) {
                return None;
            }
            let special = if quote == b'"' { b'\\' } else { b'\'' };
            (start + 1, raw.get(1..raw.len() - 1)?, Some(special))
        }
        _ => {
            if block_header(text, start).is_some() {
                return None;
            }
            (start, raw.trim_end(), None)
        }
    };
    let plain = source
        .bytes()
        .all(|b| b != b'\n' && b != b'\r' && Some(b) != special);
    plain.then_some((base, source))
}

/// Where a scalar's text starts: after an opening quote.
fn content_start(text: &str, start: usize, end: usize) -> usize {
    match text.as_bytes().get(start) {
        Some(b'"' | b'\'') if end > start + 1 => start + 1,
        _ => start,
    }
}

/// Re-decodes the scalar at `start..end`, returning the value and, for
/// each of its bytes plus one past the end, the file offset.
fn decode(text: &str, start: usize, end: usize) -> Option<(String, Vec<usize>)> {
    let raw = text.get(start..end)?;
    let mut out = Out {
        text: String::with_capacity(raw.len()),
        map: Vec::with_capacity(raw.len() + 1),
    };
    match raw.as_bytes().first() {
        Some(b'"') => {
            let inner = raw.get(1..raw.len().checked_sub(1)?)?;
            if !raw.ends_with('"') {
                return None;
            }
            fold_flow(inner, start + 1, Quote::Double, &mut out)?;
            out.finish(end - 1);
        }
        Some(b'\'') => {
            let inner = raw.get(1..raw.len().checked_sub(1)?)?;
            if !raw.ends_with('\'') {
                return None;
            }
            fold_flow(inner, start + 1, Quote::Single, &mut out)?;
            out.finish(end - 1);
        }
        _ => {
            if let Some(header) = block_header(text, start) {
                block(text, header, end, &mut out)?;
            } else {
                let trimmed = raw.trim_end();
                fold_flow(trimmed, start, Quote::Plain, &mut out)?;
                out.finish(start + trimmed.len());
            }
        }
    }
    Some((out.text, out.map))
}

#[derive(Default)]
struct Out {
    text: String,
    map: Vec<usize>,
}

impl Out {
    /// Appends `c`, each of its bytes coming from `at` onwards (or all
    /// from `at` when `exact` is false).
    fn push(&mut self, c: char, at: usize, exact: bool) {
        let len = c.len_utf8();
        self.text.push(c);
        for k in 0..len {
            self.map.push(if exact { at + k } else { at });
        }
    }

    /// Appends `s`, written verbatim from `at` onwards.
    fn push_exact(&mut self, s: &str, at: usize) {
        self.text.push_str(s);
        self.map.extend(at..at + s.len());
    }

    fn finish(&mut self, end: usize) {
        self.map.push(end);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    Plain,
    Single,
    Double,
}

/// Flow-scalar decoding: quotes' escapes and line folding (a single line
/// break becomes a space, each further empty line a newline; whitespace
/// around breaks is dropped).
fn fold_flow(inner: &str, base: usize, quote: Quote, out: &mut Out) -> Option<()> {
    let chars: Vec<(usize, char)> = inner.char_indices().collect();
    let mut pending: Vec<(usize, char)> = Vec::new();
    let mut i = 0;
    while let Some(&(off, c)) = chars.get(i) {
        match c {
            '\r' | '\n' => {
                pending.clear();
                let first_break = base + off;
                i = skip_break(&chars, i);
                let mut empties = Vec::new();
                // Each following blank line is one kept newline.
                loop {
                    let j = skip_blanks(&chars, i);
                    match chars.get(j) {
                        Some(&(o, '\r' | '\n')) => {
                            empties.push(base + o);
                            i = skip_break(&chars, j);
                        }
                        _ => {
                            i = j;
                            break;
                        }
                    }
                }
                if empties.is_empty() {
                    out.push(' ', first_break, false);
                } else {
                    for at in empties {
                        out.push('\n', at, false);
                    }
                }
            }
            ' ' | '\t' => {
                pending.push((off, c));
                i += 1;
            }
            '\\' if quote == Quote::Double => {
                flush(&mut pending, base, out);
                let (_, e) = *chars.get(i + 1)?;
                let at = base + off;
                i += 2;
                let decoded = match e {
                    '\r' | '\n' => {
                        i = skip_break(&chars, i - 1);
                        i = skip_blanks(&chars, i);
                        continue;
                    }
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' | '\t' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = chars.get(i..i + n)?.iter().map(|(_, c)| *c).collect();
                        i += n;
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                    }
                    _ => return None,
                };
                out.push(decoded, at, false);
            }
            '\'' if quote == Quote::Single => {
                flush(&mut pending, base, out);
                match chars.get(i + 1) {
                    Some((_, '\'')) => {
                        out.push('\'', base + off, false);
                        i += 2;
                    }
                    _ => return None,
                }
            }
            _ => {
                flush(&mut pending, base, out);
                out.push(c, base + off, true);
                i += 1;
            }
        }
    }
    flush(&mut pending, base, out);
    Some(())
}

fn flush(pending: &mut Vec<(usize, char)>, base: usize, out: &mut Out) {
    for (off, c) in pending.drain(..) {
        out.push(c, base + off, true);
    }
}

/// Index after a line break (`\n`, `\r\n` or `\r`) at `i`.
fn skip_break(chars: &[(usize, char)], i: usize) -> usize {
    match (chars.get(i), chars.get(i + 1)) {
        (Some((_, '\r')), Some((_, '\n'))) => i + 2,
        _ => i + 1,
    }
}

fn skip_blanks(chars: &[(usize, char)], mut i: usize) -> usize {
    while matches!(chars.get(i), Some((_, ' ' | '\t'))) {
        i += 1;
    }
    i
}

/// A block scalar's header (`|`, `>-`, `|2+`, ...).
struct BlockHeader {
    folded: bool,
    chomp: Chomp,
    explicit_indent: Option<usize>,
    /// Indentation of the line the header is on.
    header_line_indent: usize,
    /// Offset of the first content line.
    body_start: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// Finds a block-scalar header before `start`: the last token before the
/// content, on an earlier line, ignoring a trailing comment.
fn block_header(text: &str, start: usize) -> Option<BlockHeader> {
    let before = text.get(..start)?;
    // The content of a block scalar starts on a later line than its header.
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    if !before[line_start..].trim().is_empty() {
        return None;
    }
    // Walk back over blank lines to the header line.
    let mut end = line_start;
    loop {
        let prev = before.get(..end.checked_sub(1)?)?;
        let ls = prev.rfind('\n').map_or(0, |i| i + 1);
        let line = &prev[ls..];
        if line.trim().is_empty() {
            end = ls;
            continue;
        }
        let code = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        }
        .trim_end();
        let token_start = code.rfind([' ', '\t']).map_or(0, |i| i + 1);
        let token = &code[token_start..];
        let mut chars = token.chars();
        let folded = match chars.next()? {
            '|' => false,
            '>' => true,
            _ => return None,
        };
        let mut chomp = Chomp::Clip;
        let mut explicit_indent = None;
        for c in chars {
            match c {
                '-' => chomp = Chomp::Strip,
                '+' => chomp = Chomp::Keep,
                '1'..='9' => explicit_indent = c.to_digit(10).map(|d| d as usize),
                _ => return None,
            }
        }
        let header_line_indent = line.len() - line.trim_start_matches(' ').len();
        // The body starts on the line after the header.
        let body_start = ls + line.len() + 1;
        return Some(BlockHeader {
            folded,
            chomp,
            explicit_indent,
            header_line_indent,
            body_start: body_start.min(start),
        });
    }
}

fn block(text: &str, header: BlockHeader, end: usize, out: &mut Out) -> Option<()> {
    let body = text.get(header.body_start..end.max(header.body_start))?;
    // Lines with their offsets; a trailing partial line (the next key's
    // indentation) is not content.
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut off = header.body_start;
    for piece in body.split_inclusive('\n') {
        let line = piece.trim_end_matches('\n').trim_end_matches('\r');
        if piece.ends_with('\n') || !line.trim().is_empty() {
            lines.push((off, line));
        }
        off += piece.len();
    }
    let indent = match header.explicit_indent {
        Some(n) => header.header_line_indent + n,
        None => lines
            .iter()
            .find(|(_, l)| !l.trim().is_empty())
            .map(|(_, l)| l.len() - l.trim_start_matches(' ').len())?,
    };
    let is_empty = |l: &str| l.len() <= indent && l.trim().is_empty();
    let last_content = lines.iter().rposition(|(_, l)| !is_empty(l));
    let Some(last_content) = last_content else {
        // Only empty lines: the value is empty (or newlines with `+`).
        if header.chomp == Chomp::Keep {
            for (o, l) in &lines {
                out.push('\n', o + l.len(), false);
            }
        }
        out.finish(end);
        return Some(());
    };
    let mut prev_normal: Option<bool> = None;
    let mut prev_end = header.body_start;
    let mut empties: Vec<usize> = Vec::new();
    for (o, l) in lines.iter().take(last_content + 1) {
        if is_empty(l) {
            empties.push(o + l.len());
            continue;
        }
        let content = l.get(indent..)?;
        let normal = !content.starts_with([' ', '\t']);
        match prev_normal {
            Some(pn) if header.folded && pn && normal => {
                if empties.is_empty() {
                    out.push(' ', prev_end, false);
                }
                for at in &empties {
                    out.push('\n', *at, false);
                }
            }
            Some(_) => {
                out.push('\n', prev_end, false);
                for at in &empties {
                    out.push('\n', *at, false);
                }
            }
            None => {
                for at in &empties {
                    out.push('\n', *at, false);
                }
            }
        }
        empties.clear();
        out.push_exact(content, o + indent);
        prev_normal = Some(normal);
        prev_end = o + l.len();
    }
    match header.chomp {
        Chomp::Strip => {}
        Chomp::Clip => out.push('\n', prev_end, false),
        Chomp::Keep => {
            out.push('\n', prev_end, false);
            for (o, l) in lines.iter().skip(last_content + 1) {
                out.push('\n', o + l.len(), false);
            }
        }
    }
    out.finish(prev_end);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::{NodeValue, parse};
    use super::*;

    /// The shortcut for values written verbatim maps every offset
    /// exactly as decoding the scalar again does, and is taken only
    /// for such values.
    #[test]
    fn verbatim_values_map_as_decoding_does() {
        let text = "plain: rate(x[5m]) > 0\n\
                    spaced: up  == 0   \n\
                    single: 'up{job=\"é\"} == 0'\n\
                    single_escaped: 'up{job=''x''} == 0'\n\
                    double: \"up{job='a'} ==  1\"\n\
                    double_escaped: \"up{job=\\\"a\\\"} == 1\"\n\
                    folded_plain: up\n  == 0\n\
                    block: |\n  up == 0\n";
        let (root, _) = parse(0, text).expect("valid yaml");
        let NodeValue::Map(entries) = &root.value else {
            panic!("not a map")
        };
        let mut shortcuts = Vec::new();
        for (key, node) in entries {
            let NodeValue::Scalar(s) = &node.value else {
                panic!("not a scalar")
            };
            let map = ScalarMap::new(text, node, &s.text);
            let decoded = decode(text, node.def.start, node.def.end)
                .filter(|(d, _)| *d == s.text)
                .map(|(_, table)| table)
                .expect("decodes");
            for offset in 0..s.text.len() + 3 {
                let expected = decoded.get(offset).or(decoded.last()).copied();
                assert_eq!(
                    Some(map.offset(offset)),
                    expected,
                    "{:?} at {offset}",
                    key.as_key()
                );
            }
            if matches!(map.offsets, Offsets::Verbatim { .. }) {
                shortcuts.push(key.as_key().unwrap_or_default().to_string());
            }
        }
        assert_eq!(shortcuts, ["plain", "spaced", "single", "double"]);
    }

    fn value_node<'a>(root: &'a Node, key: &str) -> &'a Node {
        match &root.value {
            NodeValue::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_key() == Some(key))
                .map(|(_, v)| v)
                .expect("key present"),
            _ => panic!("not a map"),
        }
    }

    /// For each listed key, the decoded value's byte at `probe` must map
    /// to the file position of the same character.
    fn assert_maps(text: &str, key: &str, probe: char) {
        let (root, _) = parse(0, text).expect("valid yaml");
        let node = value_node(&root, key);
        let NodeValue::Scalar(s) = &node.value else {
            panic!("not a scalar")
        };
        let map = ScalarMap::new(text, node, &s.text);
        assert!(
            !matches!(map.offsets, Offsets::Unknown),
            "{key}: re-decoding failed for {:?}",
            s.text
        );
        for (i, c) in s.text.char_indices() {
            if c == probe {
                let at = map.offset(i);
                assert_eq!(
                    text[at..].chars().next(),
                    Some(probe),
                    "{key}: byte {i} of {:?} mapped to {at}",
                    s.text
                );
            }
        }
    }

    #[test]
    fn offsets_map_through_every_scalar_style() {
        let text = "plain: a b X\nmulti: first\n  second X\n\n  third\nsq: 'it''s X'\ndq: \"a\\tb\\n  X \\u00e9X\\\n    contX\"\nlit: |\n  line X\n    indented X\n\n  last X\nfold: >-\n  one X\n  two\n\n  three X\nkeep: |+\n  X\n\nnext: 1\n";
        for key in ["plain", "multi", "sq", "dq", "lit", "fold", "keep"] {
            assert_maps(text, key, 'X');
        }
    }

    #[test]
    fn block_scalar_after_header_comment_maps() {
        let text = "a: | # note\n  foo X\n";
        assert_maps(text, "a", 'X');
    }
}
