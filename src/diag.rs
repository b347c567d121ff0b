//! Diagnostics shared by every front end, the model checks and the linter.
//!
//! Error data (what, where, how bad) is kept apart from rendering, so one
//! diagnostic can be printed as text with a caret for people, or as JSON,
//! GitHub annotations or checkstyle for CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How serious a diagnostic is; ordered so `>=` means "at least as bad".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A suggestion; never fails a run unless `--fail-on info`.
    Info,
    /// Probably wrong or noisy, but loads and evaluates.
    Warning,
    /// Does not load: klaxon refuses the file.
    Error,
}

impl Level {
    /// The lowercase word used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Level::Info),
            "warning" | "warn" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown level `{other}`; expected error, warning or info"
            )),
        }
    }
}

/// Index of a file in a [`SourceMap`]; cheap to copy into every span.
pub type FileId = usize;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte (equal to `start` for a point).
    pub end: usize,
}

impl Span {
    /// A span covering `start..end` of `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span::new(
            self.file,
            self.start.min(other.start),
            self.end.max(other.end),
        )
    }
}

/// One loaded file: its path as the user named it and its full text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as given on the command line or resolved from an include.
    pub path: PathBuf,
    /// The whole text (lossily decoded if it was not UTF-8).
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a text, indexing its line starts once for fast line/column lookups.
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, col + 1)
    }

    /// Byte offset of a 1-based line and column (columns in characters); clamps
    /// out-of-range input to the nearest valid offset.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let line = line.max(1);
        let Some(&start) = self.line_starts.get(line - 1) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        let byte = line_text
            .char_indices()
            .nth(col.saturating_sub(1))
            .map(|(i, _)| i)
            .unwrap_or(line_text.len());
        start + byte
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        self.line_span(line).1
    }

    /// Byte offset where a 1-based line starts, and its text without the
    /// newline; found from the line-start table, without scanning the line.
    fn line_span(&self, line: usize) -> (usize, &str) {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return (self.text.len(), "");
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        let text = self.text.get(start..end).unwrap_or("");
        (start, text.trim_end_matches('\r'))
    }
}

/// All files of one load, so spans can be resolved to `path:line:col`.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        self.files.len() - 1
    }

    /// The file behind an id. Panics only on an id this map never handed out.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    /// The file behind an id, if any.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    /// Looks a file up by path.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path)
    }

    /// Every file, in load order.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate()
    }

    /// `path`, `line`, `col` of a span start.
    pub fn locate(&self, span: Span) -> (String, usize, usize) {
        match self.get(span.file) {
            Some(f) => {
                let (l, c) = f.line_col(span.start);
                (f.path.display().to_string(), l, c)
            }
            None => ("<unknown>".into(), 0, 0),
        }
    }
}

/// One finding: an error, a lint, or a note, anchored at a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// How serious it is.
    pub level: Level,
    /// Stable identifier, e.g. `syntax`, `model/unknown-receiver`, `promql/rate-non-counter`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is.
    pub span: Span,
    /// Short text under the caret, e.g. "expected a duration".
    pub label: Option<String>,
    /// What to do about it, e.g. "did you mean `critical`?".
    pub hint: Option<String>,
    /// Other places that explain this one, e.g. "first defined here".
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    /// A new diagnostic with no label, hint or related spans.
    pub fn new(level: Level, code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            level,
            code,
            message: bounded(message.into()),
            span,
            label: None,
            hint: None,
            related: Vec::new(),
        }
    }

    /// Shorthand for an error.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self::new(Level::Error, code, span, message)
    }

    /// Shorthand for a warning.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self::new(Level::Warning, code, span, message)
    }

    /// Shorthand for an info-level note.
    pub fn info(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self::new(Level::Info, code, span, message)
    }

    /// Adds the text shown under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(bounded(label.into()));
        self
    }

    /// Adds a hint; `None` leaves the diagnostic unchanged.
    pub fn with_hint(mut self, hint: impl Into<Option<String>>) -> Self {
        if let Some(h) = hint.into() {
            self.hint = Some(bounded(h));
        }
        self
    }

    /// Adds a related span with its own note.
    pub fn with_related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push((span, bounded(note.into())));
        self
    }

    /// `path:line:col: level[code]: message` on one line, as compilers print it.
    pub fn short(&self, sources: &SourceMap) -> String {
        let (p, l, c) = sources.locate(self.span);
        format!(
            "{p}:{l}:{c}: {}[{}]: {}",
            self.level.as_str(),
            self.code,
            self.message
        )
    }

    /// Full human rendering: header, `--> path:line:col`, the source line, a caret
    /// under the span, then related spans and the hint.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        self.render_to(&mut out, sources);
        out
    }

    /// [`Diagnostic::render`], appended to `out`: no string of its own for
    /// each of the many diagnostics of a large run.
    pub fn render_to(&self, out: &mut String, sources: &SourceMap) {
        out.push_str(self.level.as_str());
        out.push('[');
        out.push_str(self.code);
        out.push_str("]: ");
        out.push_str(&self.message);
        out.push('\n');
        render_snippet(out, sources, self.span, self.label.as_deref());
        for (span, note) in &self.related {
            render_snippet(out, sources, *span, Some(note));
        }
        if let Some(h) = &self.hint {
            out.push_str("   = hint: ");
            out.push_str(h);
            out.push('\n');
        }
    }
}

/// Longest message, label, hint or note kept: one that quotes a 30 MB token
/// from a hostile file is cut, marked with `…`.
const MAX_TEXT_CHARS: usize = 1_000;

fn bounded(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Appends `c` `count` times.
fn push_repeated(out: &mut String, c: char, count: usize) {
    out.extend(std::iter::repeat_n(c, count));
}

/// Longest source line a snippet shows whole. A longer one is cut around
/// the span, so one finding in a 50 MB one-line file prints one short line.
const MAX_LINE_CHARS: usize = 160;
/// Characters a cut line keeps before the span's start.
const CONTEXT_CHARS: usize = 60;

fn render_snippet(out: &mut String, sources: &SourceMap, span: Span, label: Option<&str>) {
    let Some(file) = sources.get(span.file) else {
        return;
    };
    let (line, col) = file.line_col(span.start);
    let (line_start, text) = file.line_span(line);
    let at = floor_char_boundary(text, span.start.saturating_sub(line_start));
    let end = floor_char_boundary(text, span.end.saturating_sub(line_start)).max(at);
    let window = Window::around(text, at);
    let number = line.to_string();
    let width = number.len();
    push_repeated(out, ' ', width);
    let _ = writeln!(out, "--> {}:{line}:{col}", file.path.display());
    push_repeated(out, ' ', width);
    out.push_str(" |\n");
    out.push_str(&number);
    out.push_str(" | ");
    if window.from > 0 {
        out.push('…');
    }
    // Tabs become one space each, so the caret line below stays aligned.
    let shown = text.get(window.from..window.to).unwrap_or("");
    out.extend(shown.chars().map(|c| if c == '\t' { ' ' } else { c }));
    if window.to < text.len() {
        out.push('…');
    }
    out.push('\n');
    let before = usize::from(window.from > 0) + char_count(text, window.from, at);
    let carets = char_count(text, at, end.min(window.to)).max(1);
    push_repeated(out, ' ', width);
    out.push_str(" | ");
    push_repeated(out, ' ', before);
    push_repeated(out, '^', carets);
    if let Some(l) = label {
        out.push(' ');
        out.push_str(l);
    }
    out.push('\n');
}

/// The byte range of a line a snippet shows.
struct Window {
    from: usize,
    to: usize,
}

impl Window {
    /// The whole line when it is short; otherwise [`MAX_LINE_CHARS`]
    /// characters starting [`CONTEXT_CHARS`] before byte `at` (a character
    /// boundary). Only the characters shown are looked at.
    fn around(text: &str, at: usize) -> Window {
        let whole = Window {
            from: 0,
            to: text.len(),
        };
        if text.len() <= MAX_LINE_CHARS || text.chars().nth(MAX_LINE_CHARS).is_none() {
            return whole;
        }
        let from = text
            .get(..at)
            .and_then(|head| head.char_indices().rev().take(CONTEXT_CHARS).last())
            .map_or(at, |(i, _)| i);
        let to = text
            .get(from..)
            .and_then(|tail| tail.char_indices().nth(MAX_LINE_CHARS))
            .map_or(text.len(), |(i, _)| from + i);
        Window { from, to }
    }
}

/// Characters of `text` between two byte offsets (character boundaries).
fn char_count(text: &str, from: usize, to: usize) -> usize {
    text.get(from..to.max(from))
        .map_or(0, |s| s.chars().count())
}

/// The greatest character boundary of `text` at or below `i`.
fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Suggests the closest known word to a misspelt one, clap-style: the best
/// Jaro-Winkler match above a threshold, or `None`.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        let score = strsim::jaro_winkler(word, k);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Formats a did-you-mean hint, if there is a close match.
pub fn suggest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(word, known).map(|k| format!("did you mean `{k}`?"))
}

/// Sorts diagnostics by file, position, then level, and drops exact duplicates.
pub fn sort_dedup(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (
            a.span.file,
            a.span.start,
            std::cmp::Reverse(a.level),
            a.code,
        )
            .cmp(&(
                b.span.file,
                b.span.start,
                std::cmp::Reverse(b.level),
                b.code,
            ))
    });
    diags.dedup_by(|a, b| a.span == b.span && a.code == b.code && a.message == b.message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_lines() {
        let f = SourceFile::new("x", "ab\ncé d\n".to_string());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // 'é' is two bytes: the 'd' is at byte 7 but column 4.
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.offset_of(2, 4), 7);
        assert_eq!(f.line_text(2), "cé d");
    }

    #[test]
    fn render_points_a_caret_at_the_span() {
        let mut map = SourceMap::new();
        let id = map.add("a.rules", "group g {\n  critcal when value > 1\n}\n".into());
        let d = Diagnostic::error("syntax", Span::new(id, 12, 19), "unknown keyword `critcal`")
            .with_label("not a statement")
            .with_hint(suggest("critcal", ["critical", "warning", "info"]));
        let text = d.render(&map);
        assert!(text.contains("--> a.rules:2:3"), "{text}");
        assert!(text.contains("2 |   critcal when value > 1"), "{text}");
        assert!(text.contains("  |   ^^^^^^^ not a statement"), "{text}");
        assert!(text.contains("did you mean `critical`?"), "{text}");
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        // One line of 10,000 characters, multibyte ones included, with the
        // span in the middle.
        let head = "é".repeat(5_000);
        let line = format!("{head}needle{}", "x".repeat(4_994));
        let mut map = SourceMap::new();
        let id = map.add("one-line.yml", format!("{line}\n"));
        let at = head.len();
        let d = Diagnostic::error("syntax", Span::new(id, at, at + 6), "bad").with_label("here");
        let text = d.render(&map);
        assert!(text.contains("--> one-line.yml:1:5001"), "{text}");
        let shown = format!("…{}needle{}…", "é".repeat(60), "x".repeat(94));
        let caret = format!("{}^^^^^^ here", " ".repeat(61));
        assert!(text.contains(&format!("1 | {shown}\n")), "{text}");
        assert!(text.contains(&format!("  | {caret}\n")), "{text}");
        assert!(text.len() < 600, "{} bytes", text.len());

        // Near the start: no cut before; a span running past the window
        // gets carets up to its end.
        let d = Diagnostic::error("syntax", Span::new(id, 2, line.len()), "bad");
        let text = d.render(&map);
        let shown = format!("{}…", "é".repeat(160));
        assert!(text.contains(&format!("1 | {shown}\n")), "{text}");
        assert!(
            text.contains(&format!("  |  {}\n", "^".repeat(159))),
            "{text}"
        );
    }

    #[test]
    fn spans_inside_a_character_or_past_the_line_do_not_panic() {
        let mut map = SourceMap::new();
        let id = map.add("a", "aé\nb".into());
        for (start, end) in [(2, 2), (2, 3), (0, 99), (99, 99), (3, 1)] {
            let text = Diagnostic::error("x", Span::new(id, start, end), "m").render(&map);
            assert!(text.contains("^"), "{start}..{end}: {text}");
        }
    }

    #[test]
    fn messages_quoting_huge_text_are_cut() {
        let word = "b".repeat(100_000);
        let d = Diagnostic::error("x", Span::new(0, 0, 1), format!("unknown `{word}`"))
            .with_label(word.clone())
            .with_hint(Some(word.clone()))
            .with_related(Span::new(0, 0, 1), word);
        for text in [
            &d.message,
            d.label.as_ref().unwrap_or(&d.message),
            d.hint.as_ref().unwrap_or(&d.message),
            &d.related[0].1,
        ] {
            assert_eq!(text.chars().count(), 1_001);
            assert!(text.ends_with('…'));
        }
        assert!(d.message.starts_with("unknown `bbb"));
    }
}
