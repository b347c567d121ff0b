//! `# rulecheck disable=ID[,ID...]` comments, which turn lints off for the
//! whole file they are written in (DSL and Prometheus YAML alike).

use crate::diag::{FileId, Span};

/// One lint id named in a disable comment, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledId {
    /// The id as written.
    pub id: String,
    /// Where the id was written.
    pub span: Span,
}

const MARKER: &str = "rulecheck";
const KEY: &str = "disable=";

/// Every id named in a `# rulecheck disable=...` comment of `text`.
///
/// The comment may stand on its own line or end one (`expr: up # rulecheck
/// disable=promql/no-comparison`); ids are separated by commas, and spaces
/// after a comma are allowed.
pub fn disabled_ids(file: FileId, text: &str) -> Vec<DisabledId> {
    let mut out = Vec::new();
    // Most files have no such comment: one search instead of a look at
    // every line.
    if !text.contains(MARKER) {
        return out;
    }
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        parse_line(file, line, line_start, &mut out);
        line_start += line.len();
    }
    out
}

fn parse_line(file: FileId, line: &str, line_start: usize, out: &mut Vec<DisabledId>) {
    for (hash, _) in line.match_indices('#') {
        let Some(after_hash) = line.get(hash + 1..) else {
            continue;
        };
        let rest = after_hash.trim_start();
        let Some(rest) = rest.strip_prefix(MARKER) else {
            continue;
        };
        let ws = rest.len() - rest.trim_start().len();
        if ws == 0 {
            continue;
        }
        let Some(ids) = rest.trim_start().strip_prefix(KEY) else {
            continue;
        };
        let mut offset = line_start + (line.len() - ids.len());
        let mut remaining = ids;
        // Ids end at whitespace, except a space after a comma.
        loop {
            let len = remaining
                .find(|c: char| c == ',' || c.is_whitespace())
                .unwrap_or(remaining.len());
            let id = remaining.get(..len).unwrap_or("");
            if !id.is_empty() {
                out.push(DisabledId {
                    id: id.to_string(),
                    span: Span::new(file, offset, offset + len),
                });
            }
            let after = remaining.get(len..).unwrap_or("");
            if !after.starts_with(',') {
                break;
            }
            let next = after.get(1..).unwrap_or("").trim_start_matches([' ', '\t']);
            offset += remaining.len() - next.len();
            remaining = next;
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(String, usize, usize)> {
        disabled_ids(0, text)
            .into_iter()
            .map(|d| (d.id, d.span.start, d.span.end))
            .collect()
    }

    #[test]
    fn reads_ids_with_their_positions() {
        let text = "groups:\n# rulecheck disable=a/b, c/d,e\n";
        assert_eq!(
            ids(text),
            [
                ("a/b".to_string(), 28, 31),
                ("c/d".to_string(), 33, 36),
                ("e".to_string(), 37, 38)
            ]
        );
        assert_eq!(text.get(28..31), Some("a/b"));
        assert_eq!(text.get(33..36), Some("c/d"));
    }

    #[test]
    fn reads_trailing_comments_and_ignores_other_text() {
        assert_eq!(
            ids("  expr: up  #rulecheck disable=x\r\n"),
            [("x".to_string(), 31, 32)]
        );
        assert!(ids("# rulecheck: disable=x\n# rulecheckdisable=x\n# disable=x\n").is_empty());
        assert!(ids("# rulecheck disable=\n").is_empty());
    }
}
