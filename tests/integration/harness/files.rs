//! Files the tests read and write: the shared rule corpus beside the
//! repository, the code blocks of Markdown documents, and files a test
//! writes for a server to read.

use std::path::{Path, PathBuf};

/// The shared rule corpus (`shared/corpus`): beside the repository in CI, or
/// above a worktree checked out deeper. Panics with a clear message when it
/// is missing, because the compatibility tests are meaningless without it.
pub fn corpus_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .flat_map(|dir| [dir.join("shared/corpus"), dir.join("../shared/corpus")])
        .find(|c| c.join("prometheus-rules").is_dir())
        .unwrap_or_else(|| {
            panic!(
                "corpus not found: expected shared/corpus/prometheus-rules beside or above {}",
                manifest.display()
            )
        })
}

/// Every Prometheus rule file of the corpus, sorted.
pub fn corpus_rule_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(corpus_root().join("prometheus-rules"))
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
        })
        .collect();
    files.sort();
    files
}

/// A fenced code block of a Markdown file.
pub struct Fence {
    /// The info string after the opening backticks (`klaxon`, `text`, ...).
    pub lang: String,
    /// The block's text, without the fences.
    pub text: String,
    /// 1-based line of the opening fence in the Markdown file.
    pub line: usize,
}

/// Every top-level fenced code block of a Markdown text (`name` is the
/// file, for the message when a block is never closed), in order.
pub fn fences(markdown: &str, name: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<Fence> = None;
    for (index, line) in markdown.lines().enumerate() {
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Fence {
                        lang: info.trim().to_string(),
                        text: String::new(),
                        line: index + 1,
                    });
                }
            }
            Some(mut fence) => {
                if line.trim_end() == "```" {
                    out.push(fence);
                } else {
                    fence.text.push_str(line);
                    fence.text.push('\n');
                    open = Some(fence);
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "{name} has a code block that is never closed"
    );
    out
}

/// Writes `contents` to `dir/name` (creating the directories between) and
/// returns the path; panics when it cannot.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    std::fs::write(&path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}
