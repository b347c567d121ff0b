//! The common case read straight from the YAML parser's events, without
//! serde: about twice as fast, and the same tree.
//!
//! serde-saphyr reads the same events from the same parser
//! (granit-parser, with the options it uses) and, for a document with
//! one root node and no anchor, alias, tag, directive or merge key,
//! hands each node to [`Raw`] unchanged, its location being the span of
//! the event that starts it. Only plain scalars need care: serde-saphyr
//! resolves them to null, booleans, integers or floats by rules of its
//! own; [`plain_kind`] settles the obvious cases and lets serde-saphyr
//! classify the rest. Anything else (errors included) returns `None`,
//! and the document is read through serde-saphyr as a whole.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as Location};

use super::via_serde::{Raw, max_nodes, options};
use super::{Node, NodeValue, Scalar, ScalarKind};
use crate::diag::{FileId, Span};

/// Deepest nesting read here; serde-saphyr's budget allows 64.
const MAX_DEPTH: usize = 48;
/// Largest document read here: a rule file's limit, below
/// serde-saphyr's 64 MiB of scalar text. Nodes are counted against
/// the same budget as serde-saphyr's ([`max_nodes`]), so a
/// document over it is left to serde-saphyr, which says so.
const MAX_BYTES: usize = crate::user_file::MAX_RULE_FILE_BYTES as usize;

/// The tree of `text`, or `None` when serde-saphyr must read it.
pub(super) fn tree(file: FileId, text: &str) -> Option<Node> {
    if text.len() > MAX_BYTES {
        return None;
    }
    // The options serde-saphyr gives the parser by default.
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.simple_key_max_lookahead = 1024;
    options.flow_nesting_limit = 255;
    options.block_nesting_limit = options.block_nesting_limit.max(65);
    options.emit_comments = false;
    options.strict_indentation = false;
    let mut reader = Reader {
        file,
        text,
        parser: Parser::new_from_str_with_options(text, options),
        nodes: 0,
    };
    let Some((Event::StreamStart, _)) = reader.next() else {
        return None;
    };
    let Some((Event::DocumentStart(_, None), _)) = reader.next() else {
        return None;
    };
    let (event, at) = reader.next()?;
    let root = reader.node(event, &at, 0)?;
    let Some((Event::DocumentEnd, _)) = reader.next() else {
        return None;
    };
    let Some((Event::StreamEnd, _)) = reader.next() else {
        return None;
    };
    reader.parser.next().is_none().then_some(root)
}

struct Reader<'a> {
    file: FileId,
    text: &'a str,
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    nodes: usize,
}

impl<'a> Reader<'a> {
    /// The next event; `None` at the end or on a syntax error.
    fn next(&mut self) -> Option<(Event<'a>, Location)> {
        self.parser.next()?.ok()
    }

    /// The byte span of an event, as serde-saphyr reports it.
    fn span(&self, at: &Location) -> Option<Span> {
        let start = at.start.byte_offset()?;
        let end = at.end.byte_offset()?;
        let end = start + end.checked_sub(start)?;
        (self.text.is_char_boundary(start) && self.text.is_char_boundary(end))
            .then(|| Span::new(self.file, start, end))
    }

    /// The node that `event` starts.
    fn node(&mut self, event: Event<'a>, at: &Location, depth: usize) -> Option<Node> {
        self.nodes += 1;
        if self.nodes > max_nodes(self.text.len()) || depth > MAX_DEPTH {
            return None;
        }
        let span = self.span(at)?;
        let value = match event {
            Event::Scalar(text, style, 0, None) => {
                let kind = match style {
                    ScalarStyle::Plain => plain_kind(&text)?,
                    _ => Some(ScalarKind::Str),
                };
                match kind {
                    None => NodeValue::Null,
                    Some(ScalarKind::Str) => NodeValue::Scalar(Scalar {
                        text: text.into_owned(),
                        kind: ScalarKind::Str,
                    }),
                    // As the serde path: the source text, as Go hands it to a string.
                    Some(kind) => NodeValue::Scalar(Scalar {
                        text: self.text.get(span.start..span.end)?.trim().to_string(),
                        kind,
                    }),
                }
            }
            Event::SequenceStart(_, 0, None) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (event, at) => items.push(self.node(event, &at, depth + 1)?),
                    }
                }
                NodeValue::Seq(items)
            }
            Event::MappingStart(_, 0, None) => {
                let mut entries = Vec::new();
                loop {
                    let (key, key_at) = self.next()?;
                    match &key {
                        Event::MappingEnd => break,
                        // A merge key (in any style, to be safe) or a key
                        // that is not a scalar: serde-saphyr's business.
                        Event::Scalar(text, ..) if text.as_ref() != "<<" => {}
                        _ => return None,
                    }
                    let key = self.node(key, &key_at, depth + 1)?;
                    let (value, value_at) = self.next()?;
                    let value = self.node(value, &value_at, depth + 1)?;
                    entries.push((key, value));
                }
                NodeValue::Map(entries)
            }
            _ => return None,
        };
        Some(Node {
            value,
            span,
            def: span,
        })
    }
}

/// What serde-saphyr resolves a plain scalar to: `Some(None)` for
/// null, `Some(Some(kind))` otherwise, `None` when it must be asked.
///
/// Null is `""`, `~`, `null`, `Null` or `NULL`. Booleans, integers
/// and floats are spelt with ASCII letters, digits, `.`, `_`, `+`
/// and `-` only, and start with a digit, a sign or `.` unless they
/// are one of the boolean words; a decimal integer of up to 18
/// digits without a leading zero is an integer; starting with a
/// digit but not `0x`/`0o`/`0b`, a letter other than `e` rules out
/// both integers and floats (`5m`, `1h30m`).
pub(super) fn plain_kind(text: &str) -> Option<Option<ScalarKind>> {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(None);
    }
    let t = text.trim_matches([' ', '\t', '\r', '\n']);
    let bytes = t.as_bytes();
    let &first = bytes.first()?;
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
    {
        return Some(Some(ScalarKind::Str));
    }
    let boolean_word = ["true", "yes", "y", "on", "false", "no", "n", "off"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w));
    if !boolean_word && !first.is_ascii_digit() && !matches!(first, b'+' | b'-' | b'.') {
        return Some(Some(ScalarKind::Str));
    }
    if first.is_ascii_digit() {
        if bytes.iter().all(u8::is_ascii_digit)
            && bytes.len() <= 18
            && (first != b'0' || bytes.len() == 1)
        {
            return Some(Some(ScalarKind::Int));
        }
        let prefixed = first == b'0'
            && bytes
                .get(1)
                .is_some_and(|b| matches!(b, b'x' | b'X' | b'o' | b'O' | b'b' | b'B'));
        if !prefixed
            && bytes
                .iter()
                .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E'))
        {
            return Some(Some(ScalarKind::Str));
        }
    }
    // The rest (`0x1F`, `1e3`, `-.inf`, `yes`, `1.5`, `+1`...) is rare:
    // serde-saphyr reads it alone, which resolves it as in place, since
    // such text is a plain scalar on its own too.
    match serde_saphyr::from_str_with_options::<Raw>(text, options(text.len())).ok()? {
        Raw::Bool => Some(Some(ScalarKind::Bool)),
        Raw::Int => Some(Some(ScalarKind::Int)),
        Raw::Float => Some(Some(ScalarKind::Float)),
        Raw::Str(s) if s == text => Some(Some(ScalarKind::Str)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::direct;
    use super::super::via_serde::parse_through_serde;

    /// Reads `text` both ways; when the direct reader takes it, its
    /// tree must be serde-saphyr's. Returns whether it took it.
    fn read_alike(name: &str, text: &str) -> bool {
        let Some(direct) = direct::tree(7, text) else {
            return false;
        };
        match parse_through_serde(7, text) {
            Ok((tree, extra)) => {
                assert!(extra.is_empty(), "{name}: serde-saphyr warned: {extra:?}");
                assert_eq!(direct, tree, "{name}: trees differ for {text:?}");
            }
            Err(e) => panic!("{name}: read directly, but serde-saphyr refused it: {e:?}"),
        }
        true
    }

    /// Every YAML file of the repository's tests and of the corpus.
    fn yaml_inputs() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("tests")];
        let mut up = Some(root);
        while let Some(dir) = up {
            for candidate in [dir.join("shared/corpus"), dir.join("../shared/corpus")] {
                if candidate.is_dir() && !dirs.contains(&candidate) {
                    dirs.push(candidate);
                }
            }
            up = dir.parent();
        }
        let mut out = Vec::new();
        for dir in dirs {
            for entry in walkdir::WalkDir::new(&dir).into_iter().flatten() {
                let path = entry.path();
                let yaml = matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yml" | "yaml")
                ) || path.to_string_lossy().contains("fuzz_regressions/yaml");
                if entry.file_type().is_file()
                    && yaml
                    && let Ok(bytes) = std::fs::read(path)
                {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    out.push((path.display().to_string(), text));
                }
            }
        }
        out
    }

    #[test]
    fn direct_reading_gives_serde_saphyrs_tree_for_real_files() {
        let inputs = yaml_inputs();
        let direct = inputs.iter().filter(|(n, t)| read_alike(n, t)).count();
        assert!(inputs.len() > 20, "{} inputs", inputs.len());
        // Most real files take the direct path; the rest are read by serde.
        assert!(
            direct * 10 > inputs.len() * 7,
            "{direct} of {}",
            inputs.len()
        );
    }

    #[test]
    fn direct_reading_gives_serde_saphyrs_tree_for_broken_files() {
        // Every prefix and every line-dropped variant of the fixtures:
        // truncated documents, broken indentation, dangling keys.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut checked = 0;
        for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
            let path = entry.path();
            if !matches!(path.extension().and_then(|e| e.to_str()), Some("yml")) {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            for cut in 0..lines.len() {
                let prefix: String = lines.iter().take(cut).copied().collect();
                let dropped: String = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != cut)
                    .map(|(_, l)| *l)
                    .collect();
                let name = path.display().to_string();
                read_alike(&name, &prefix);
                read_alike(&name, &dropped);
                read_alike(&name, &prefix.replace('\n', "\r\n"));
                checked += 3;
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn direct_reading_gives_serde_saphyrs_tree_for_mutated_files() {
        // Random edits with YAML's significant characters, reproducibly.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut random = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % below.max(1) as u64).unwrap_or(0)
        };
        let pieces = [
            " ", "  ", "\n", "\r\n", "\t", ":", ": ", "- ", "-", "#", "'", "\"", "[", "]", "{",
            "}", ",", "?", "|", ">", "&a", "*a", "!", "%", "\\", "~", "0", "1.5", "yes", "null",
            "<<", "---", "...", "é", "\u{feff}", "0x1", ".inf", "e",
        ];
        let inputs = yaml_inputs();
        let small: Vec<&String> = inputs
            .iter()
            .map(|(_, t)| t)
            .filter(|t| t.len() < 4000)
            .collect();
        // KLAXON_YAML_MUTATIONS=100000 for a longer run.
        let rounds = std::env::var("KLAXON_YAML_MUTATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        let mut direct = 0;
        for round in 0..rounds {
            let Some(base) = small.get(random(small.len())) else {
                break;
            };
            let mut text = (*base).clone();
            for _ in 0..=random(3) {
                let mut at = random(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + random(4)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let piece = pieces.get(random(pieces.len())).copied().unwrap_or("");
                text.replace_range(at..end.max(at), piece);
            }
            direct += usize::from(read_alike(&format!("mutation {round}"), &text));
        }
        assert!(direct > 300, "{direct}");
    }

    #[test]
    fn direct_reading_resolves_plain_scalars_as_serde_saphyr() {
        let spellings = [
            "",
            "~",
            "null",
            "Null",
            "NULL",
            "nULL",
            "nul",
            "true",
            "True",
            "TRUE",
            "tRUE",
            "false",
            "yes",
            "Yes",
            "YES",
            "y",
            "Y",
            "n",
            "N",
            "no",
            "No",
            "on",
            "ON",
            "off",
            "Off",
            "0",
            "1",
            "-1",
            "+1",
            "-0",
            "+0",
            "00",
            "007",
            "-007",
            "09",
            "1_000",
            "1__0",
            "_1",
            "1_",
            "0x1F",
            "0X1f",
            "0x_1",
            "0xG",
            "0x",
            "0o17",
            "0o8",
            "0O7",
            "0b101",
            "0b2",
            "0B1",
            "123456789012345678",
            "1234567890123456789",
            "12345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.5",
            "-1.5",
            "+1.5",
            ".5",
            "5.",
            "-.5",
            "1e3",
            "1E3",
            "1e+3",
            "1.0e-10",
            "1e999",
            "-1e999",
            "1e",
            "e1",
            "E",
            "0e0",
            ".inf",
            ".Inf",
            ".INF",
            "-.inf",
            "+.inf",
            ".iNF",
            "inf",
            "-inf",
            "Infinity",
            ".nan",
            ".NaN",
            ".NAN",
            "nan",
            "NaN",
            "+.nan",
            "5m",
            "1h30m",
            "30s",
            "10ms",
            "1d",
            "2w",
            "1y",
            "0d",
            "0x5m",
            "5M",
            "1e5m",
            "5e",
            "1.2.3",
            "1:30",
            "2001-12-14",
            "12:30:45",
            "-",
            "--",
            "---x",
            ".",
            "..",
            "+",
            "+-1",
            "-+1",
            "1-2",
            "a",
            "ab",
            "_",
            "x_y",
            "5 m",
            "1 000",
            "1,000",
            "1\u{a0}",
            "é1",
            "１",
        ];
        let mut text = String::from("values:\n");
        for (i, s) in spellings.iter().enumerate() {
            text.push_str(&format!("  k{i}: {s}\n"));
        }
        text.push_str("keys:\n");
        for s in spellings.iter().filter(|s| !s.is_empty()) {
            text.push_str(&format!("  {s}: x\n"));
        }
        text.push_str("flow: [");
        text.push_str(
            &spellings
                .iter()
                .filter(|s| !s.is_empty() && !s.contains(','))
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
        );
        text.push_str("]\n");
        read_alike("spellings", &text);
        let mut undecided = Vec::new();
        let mut keys = 0;
        for s in spellings {
            let doc = format!("k: {s}\n");
            if !read_alike(s, &doc) {
                undecided.push(s);
            }
            keys += usize::from(read_alike(s, &format!("{s}: v\n")));
            read_alike(s, s);
        }
        assert!(keys > spellings.len() * 9 / 10, "{keys}");
        // `k: -` is left to serde-saphyr: on its own, `-` is a sequence.
        assert_eq!(undecided, ["-"]);
    }

    #[test]
    fn direct_reading_leaves_unusual_documents_to_serde_saphyr() {
        let plain = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n";
        assert!(read_alike("plain", plain));
        for unusual in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "base: &b {x: 1}\nderived:\n  <<: *b\n",
            "'<<': 1\n",
            "? [a]\n: 1\n",
            "",
            "# only a comment\n",
            "a: [1, 2\n",
            "a: b: c\n",
        ] {
            assert!(direct::tree(0, unusual).is_none(), "{unusual:?}");
        }
        for alike in [
            "---\na: 1\n...\n",
            "\u{feff}a: 1\n",
            "a:\n  - 1\n  -\n  - {x: y, z: }\nb: |+\n  keep\n\nc: >-\n  folded\n  text\n",
            "a: \"esc\\u00e9 \\\"q\\\"\"\nb: 'it''s'\nc: multi\n  line plain\n",
            "a:\tb\n",
            "? simple\n: complex-key value\n",
            "dup: 1\ndup: 2\n",
            "a: 1 # trailing comment\n# own line\nb: [1, {c: d}, [e]]\n",
            "- a\n- b: c\n  d: e\n",
            "scalar at root\n",
            "---\n",
            "null\n",
        ] {
            assert!(read_alike("alike", alike), "{alike:?}");
        }
    }
}
