//! Output formats for `rulecheck`: text for people, JSON for scripts, GitHub
//! workflow annotations and checkstyle XML for CI systems.
//!
//! Every format prints the diagnostics it is given in the order given
//! (callers pass them sorted); positions are 1-based lines and columns in
//! characters, end positions point one past the last character.

use std::fmt::Write as _;

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
    match format {
        Format::Text => text(diagnostics, sources, checked_files),
        Format::Json => json(diagnostics, sources),
        Format::Github => github(diagnostics, sources),
        Format::Checkstyle => checkstyle(diagnostics, sources),
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
    let count = |level| diagnostics.iter().filter(|d| d.level == level).count();
    format!(
        "{}, {}, {} in {}",
        plural(count(Level::Error), "error"),
        plural(count(Level::Warning), "warning"),
        plural(count(Level::Info), "info"),
        plural(checked_files, "file")
    )
}

fn text(diagnostics: &[Diagnostic], sources: &SourceMap, checked_files: usize) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&d.render(sources));
        out.push('\n');
    }
    out.push_str(&summary_line(diagnostics, checked_files));
    out.push('\n');
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

fn json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let items: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| {
            let p = position(d, sources);
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
    let mut out = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
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

fn checkstyle(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<checkstyle version=\"4.3\">\n");
    // One <file> per checked file, clean ones included, in load order.
    let mut files: Vec<String> = sources
        .files()
        .map(|(_, f)| f.path.display().to_string())
        .collect();
    let positioned: Vec<(Position, &Diagnostic)> = diagnostics
        .iter()
        .map(|d| (position(d, sources), d))
        .collect();
    for (p, _) in &positioned {
        if !files.contains(&p.file) {
            files.push(p.file.clone());
        }
    }
    for file in &files {
        let _ = writeln!(out, "  <file name=\"{}\">", xml_escape(file));
        for (p, d) in positioned.iter().filter(|(p, _)| &p.file == file) {
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
    out.push_str("</checkstyle>\n");
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
        let xml = checkstyle(&diags, &map);
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
        let value: serde_json::Value = match serde_json::from_str(&json(&diags, &map)) {
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
