//! Output formats for `rulecheck`: text for people, JSON for scripts, GitHub
//! workflow annotations and checkstyle XML for CI systems.
//!
//! Every format prints the diagnostics it is given in the order given
//! (callers pass them sorted); positions are 1-based lines and columns in
//! characters, end positions point one past the last character.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;

use crate::diag::{Diagnostic, Level, SourceMap};

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Each diagnostic with its source line and a caret, then a summary line.
    #[default]
    Text,
    /// A JSON array of objects with file, line, column, end_line,
    /// end_column, level, code, message and hint.
    Json,
    /// GitHub Actions workflow commands (`::error file=..::message`), which
    /// GitHub shows as annotations on the pull request.
    Github,
    /// Checkstyle XML, read by Jenkins, GitLab and most CI dashboards.
    Checkstyle,
}

impl Format {
    /// Every format with its name as written on the command line.
    pub const ALL: [(&'static str, Format); 4] = [
        ("text", Format::Text),
        ("json", Format::Json),
        ("github", Format::Github),
        ("checkstyle", Format::Checkstyle),
    ];
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let hint = crate::diag::suggest(s, Format::ALL.iter().map(|(n, _)| *n))
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                format!("unknown format `{s}`; expected text, json, github or checkstyle{hint}")
            })
    }
}

/// Renders diagnostics in a format. `checked_files` is how many files were
/// read (for the text summary line).
pub fn render(
    format: Format,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    checked_files: usize,
) -> String {
    let mut stream = Stream::new(format, Vec::new());
    // Writing into a Vec cannot fail.
    let _ = stream.write_chunk(&chunk(format, diagnostics, sources));
    let bytes = stream.finish(checked_files).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// How many diagnostics of each level were found, for the text summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Diagnostics at [`Level::Error`].
    pub errors: usize,
    /// Diagnostics at [`Level::Warning`].
    pub warnings: usize,
    /// Diagnostics at [`Level::Info`].
    pub infos: usize,
}

impl Counts {
    /// Counts the levels of `diagnostics`.
    pub fn of(diagnostics: &[Diagnostic]) -> Counts {
        let mut counts = Counts::default();
        for d in diagnostics {
            match d.level {
                Level::Error => counts.errors += 1,
                Level::Warning => counts.warnings += 1,
                Level::Info => counts.infos += 1,
            }
        }
        counts
    }

    /// Adds another run's counts to these.
    pub fn add(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.infos += other.infos;
    }
}

/// The rendering of some files' diagnostics, without the opening and closing
/// text of the format: the piece of output that can be computed on its own
/// (on another thread, say) and handed to a [`Stream`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    text: String,
    counts: Counts,
}

impl Chunk {
    /// The levels of the diagnostics it holds.
    pub fn counts(&self) -> Counts {
        self.counts
    }
}

/// Renders the diagnostics of the files in `sources` (sorted, as for
/// [`render`]) into a chunk. For checkstyle every file of `sources` gets its
/// element, clean ones included.
pub fn chunk(format: Format, diagnostics: &[Diagnostic], sources: &SourceMap) -> Chunk {
    let text = match format {
        Format::Text => text_chunk(diagnostics, sources),
        Format::Json => json_chunk(diagnostics, sources),
        Format::Github => github(diagnostics, sources),
        Format::Checkstyle => checkstyle_chunk(diagnostics, sources),
    };
    Chunk {
        text,
        counts: Counts::of(diagnostics),
    }
}

/// Output written piece by piece: the format's opening, [`Chunk`]s in
/// order, then its closing. Writing the chunks of files one after another
/// gives exactly what [`render`] gives for all their diagnostics at once,
/// so `rulecheck` can print each file's findings as soon as they are known
/// instead of keeping every file in memory.
#[derive(Debug)]
pub struct Stream<W: Write> {
    format: Format,
    out: W,
    counts: Counts,
    started: bool,
    json_items: bool,
}

impl<W: Write> Stream<W> {
    /// A stream writing `format` to `out`; nothing is written yet.
    pub fn new(format: Format, out: W) -> Self {
        Stream {
            format,
            out,
            counts: Counts::default(),
            started: false,
            json_items: false,
        }
    }

    /// The format it writes.
    pub fn format(&self) -> Format {
        self.format
    }

    fn start(&mut self) -> std::io::Result<()> {
        if !self.started {
            self.started = true;
            if self.format == Format::Checkstyle {
                self.out.write_all(
                    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"4.3\">\n",
                )?;
            }
        }
        Ok(())
    }

    /// Writes the next chunk.
    pub fn write_chunk(&mut self, chunk: &Chunk) -> std::io::Result<()> {
        self.counts.add(chunk.counts);
        self.start()?;
        if chunk.text.is_empty() {
            return Ok(());
        }
        if self.format == Format::Json {
            let separator: &[u8] = if self.json_items { b",\n" } else { b"[\n" };
            self.json_items = true;
            self.out.write_all(separator)?;
        }
        self.out.write_all(chunk.text.as_bytes())
    }

    /// Writes the closing text (the summary line for text output, after
    /// `checked_files` files), flushes, and hands the writer back.
    pub fn finish(mut self, checked_files: usize) -> std::io::Result<W> {
        self.start()?;
        match self.format {
            Format::Text => {
                let line = summary(self.counts, checked_files);
                self.out.write_all(line.as_bytes())?;
                self.out.write_all(b"\n")?;
            }
            Format::Json if self.json_items => self.out.write_all(b"\n]\n")?,
            Format::Json => self.out.write_all(b"[]\n")?,
            Format::Github => {}
            Format::Checkstyle => self.out.write_all(b"</checkstyle>\n")?,
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Where a diagnostic is, resolved to 1-based positions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn position(d: &Diagnostic, sources: &SourceMap) -> Position {
    match sources.get(d.span.file) {
        Some(f) => {
            let (line, column) = f.line_col(d.span.start);
            let (end_line, end_column) = f.line_col(d.span.end);
            Position {
                file: f.path.display().to_string(),
                line,
                column,
                end_line,
                end_column,
            }
        }
        None => Position {
            file: String::new(),
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
        },
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The closing line of text output: `2 errors, 1 warning, 0 infos in 3 files`.
pub fn summary_line(diagnostics: &[Diagnostic], checked_files: usize) -> String {
    summary(Counts::of(diagnostics), checked_files)
}

fn summary(counts: Counts, checked_files: usize) -> String {
    format!(
        "{}, {}, {} in {}",
        plural(counts.errors, "error"),
        plural(counts.warnings, "warning"),
        plural(counts.infos, "info"),
        plural(checked_files, "file")
    )
}

fn text_chunk(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        d.render_to(&mut out, sources);
        out.push('\n');
    }
    out
}

#[derive(serde::Serialize)]
struct JsonDiagnostic<'a> {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    level: Level,
    code: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

/// The array elements as `serde_json::to_string_pretty` prints them inside
/// an array: each indented by two spaces, separated by `,\n`.
fn json_chunk(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let p = position(d, sources);
        let item = JsonDiagnostic {
            file: p.file,
            line: p.line,
            column: p.column,
            end_line: p.end_line,
            end_column: p.end_column,
            level: d.level,
            code: d.code,
            message: &d.message,
            hint: d.hint.as_deref(),
        };
        let Ok(pretty) = serde_json::to_string_pretty(&item) else {
            continue;
        };
        if !out.is_empty() {
            out.push_str(",\n");
        }
        // JSON strings never hold a raw line break, so every line break
        // here is the pretty printer's.
        for (i, line) in pretty.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line);
        }
    }
    out
}

/// Escapes the message of a workflow command, as GitHub's toolkit does.
pub fn github_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command: the data escapes plus
/// `:` and `,`, which would end the value.
pub fn github_escape_property(s: &str) -> String {
    github_escape_data(s)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

fn github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let p = position(d, sources);
        let command = match d.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "notice",
        };
        let mut message = d.message.clone();
        if let Some(hint) = &d.hint {
            message.push_str("\nhint: ");
            message.push_str(hint);
        }
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            github_escape_property(&p.file),
            p.line,
            p.column,
            p.end_line,
            p.end_column,
            github_escape_property(d.code),
            github_escape_data(&message)
        );
    }
    out
}

/// Escapes text for an XML attribute, dropping characters XML 1.0 forbids.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One `<file>` element per file of `sources`, clean ones included, in load
/// order, then one per other file a diagnostic is in.
fn checkstyle_chunk(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    let mut files: Vec<String> = sources
        .files()
        .map(|(_, f)| f.path.display().to_string())
        .collect();
    let mut listed: HashSet<String> = files.iter().cloned().collect();
    // Each file's diagnostics, in the order given.
    let mut by_file: HashMap<String, Vec<(Position, &Diagnostic)>> = HashMap::new();
    for d in diagnostics {
        let p = position(d, sources);
        if let Some(list) = by_file.get_mut(&p.file) {
            list.push((p, d));
            continue;
        }
        if listed.insert(p.file.clone()) {
            files.push(p.file.clone());
        }
        by_file.insert(p.file.clone(), vec![(p, d)]);
    }
    for file in &files {
        let _ = writeln!(out, "  <file name=\"{}\">", xml_escape(file));
        for (p, d) in by_file.get(file).into_iter().flatten() {
            let mut message = d.message.clone();
            if let Some(hint) = &d.hint {
                message.push_str(" (hint: ");
                message.push_str(hint);
                message.push(')');
            }
            let _ = writeln!(
                out,
                "    <error line=\"{}\" column=\"{}\" severity=\"{}\" message=\"{}\" source=\"{}\"/>",
                p.line,
                p.column,
                d.level.as_str(),
                xml_escape(&message),
                xml_escape(d.code)
            );
        }
        out.push_str("  </file>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn sample() -> (SourceMap, Vec<Diagnostic>) {
        let mut map = SourceMap::new();
        let a = map.add("dir,x/a:b.yml", "groups:\n  - name: g\n".into());
        let b = map.add("clean.rules", "group g {}\n".into());
        let _ = b;
        let d = Diagnostic::warning("alert/x", Span::new(a, 11, 18), "50% <bad> & \"odd\"\nline")
            .with_hint("try `y`".to_string());
        (map, vec![d])
    }

    #[test]
    fn github_escapes_data_and_properties() {
        let (map, diags) = sample();
        assert_eq!(
            github(&diags, &map),
            "::warning file=dir%2Cx/a%3Ab.yml,line=2,col=4,endLine=2,endColumn=11,title=alert/x::\
             50%25 <bad> & \"odd\"%0Aline%0Ahint: try `y`\n"
        );
    }

    #[test]
    fn checkstyle_lists_every_file_once_and_escapes() {
        let (map, diags) = sample();
        let xml = render(Format::Checkstyle, &diags, &map, 2);
        assert!(xml.contains("<file name=\"dir,x/a:b.yml\">"), "{xml}");
        assert!(
            xml.contains("<file name=\"clean.rules\">\n  </file>"),
            "{xml}"
        );
        assert!(
            xml.contains(
                "message=\"50% &lt;bad&gt; &amp; &quot;odd&quot;&#10;line (hint: try `y`)\""
            ),
            "{xml}"
        );
        assert_eq!(xml.matches("<file ").count(), 2);
    }

    #[test]
    fn json_has_the_documented_fields() {
        let (map, diags) = sample();
        let value: serde_json::Value =
            match serde_json::from_str(&render(Format::Json, &diags, &map, 2)) {
                Ok(v) => v,
                Err(e) => panic!("invalid JSON: {e}"),
            };
        assert_eq!(
            value,
            serde_json::json!([{
                "file": "dir,x/a:b.yml", "line": 2, "column": 4, "end_line": 2, "end_column": 11,
                "level": "warning", "code": "alert/x", "message": "50% <bad> & \"odd\"\nline",
                "hint": "try `y`"
            }])
        );
    }

    /// A source map and the diagnostics found in it.
    type Checked = (SourceMap, Vec<Diagnostic>);

    /// Two files with findings and a clean one, each with its own source
    /// map as `rulecheck` checks them one at a time, and all three in one map.
    fn three_files() -> (Vec<Checked>, SourceMap, Vec<Diagnostic>) {
        let texts = [
            ("a.yml", "groups:\n  - name: g\n"),
            ("clean.yml", "groups: []\n"),
            ("b.yml", "groups:\n  - name: h\n"),
        ];
        let found = |file| {
            vec![
                Diagnostic::error("prom/x", Span::new(file, 4, 10), "first \"quoted\"\nline")
                    .with_hint("do `this`".to_string()),
                Diagnostic::info("alert/y", Span::new(file, 11, 18), "second <b>"),
            ]
        };
        let mut each = Vec::new();
        let mut all_sources = SourceMap::new();
        let mut all = Vec::new();
        for (path, text) in texts {
            let mut own = SourceMap::new();
            own.add(path, text.to_string());
            let id = all_sources.add(path, text.to_string());
            let diagnostics = if path == "clean.yml" {
                Vec::new()
            } else {
                found(0)
            };
            all.extend(if path == "clean.yml" {
                Vec::new()
            } else {
                found(id)
            });
            each.push((own, diagnostics));
        }
        (each, all_sources, all)
    }

    #[test]
    fn chunks_written_file_by_file_render_as_all_at_once() {
        let (each, all_sources, all) = three_files();
        for (_, format) in Format::ALL {
            let mut stream = Stream::new(format, Vec::new());
            for (sources, diagnostics) in &each {
                let written = stream.write_chunk(&chunk(format, diagnostics, sources));
                assert!(written.is_ok());
            }
            let bytes = stream.finish(3).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                render(format, &all, &all_sources, 3),
                "{format:?}"
            );
        }
    }

    #[test]
    fn json_is_serde_pretty_printing_of_the_whole_array() {
        let (_, sources, all) = three_files();
        let items: Vec<JsonDiagnostic> = all
            .iter()
            .map(|d| {
                let p = position(d, &sources);
                JsonDiagnostic {
                    file: p.file,
                    line: p.line,
                    column: p.column,
                    end_line: p.end_line,
                    end_column: p.end_column,
                    level: d.level,
                    code: d.code,
                    message: &d.message,
                    hint: d.hint.as_deref(),
                }
            })
            .collect();
        let whole = serde_json::to_string_pretty(&items).unwrap_or_default();
        assert_eq!(
            render(Format::Json, &all, &sources, 3),
            format!("{whole}\n")
        );
        assert_eq!(render(Format::Json, &[], &sources, 3), "[]\n");
    }

    #[test]
    fn an_empty_run_still_opens_and_closes_the_output() {
        let sources = SourceMap::new();
        assert_eq!(
            render(Format::Text, &[], &sources, 0),
            "0 errors, 0 warnings, 0 infos in 0 files\n"
        );
        assert_eq!(render(Format::Github, &[], &sources, 0), "");
        assert_eq!(
            render(Format::Checkstyle, &[], &sources, 0),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"4.3\">\n</checkstyle>\n"
        );
    }

    #[test]
    fn summary_counts_levels_and_files() {
        let (_, diags) = sample();
        assert_eq!(
            summary_line(&diags, 2),
            "0 errors, 1 warning, 0 infos in 2 files"
        );
        assert_eq!(
            summary_line(&[], 1),
            "0 errors, 0 warnings, 0 infos in 1 file"
        );
    }
}
