//! Helpers shared by the integration tests.
// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

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
