//! The rules of direction, kept by CI rather than by memory: every module may
//! import only the modules below it (see docs/architecture.md), and no files
//! import each other, directly or round a circle.
//!
//! The test reads the source of `src/` (not the compiled crate): every
//! `crate::…` path, in a `use` line or inline, and every `super::…` path
//! that leaves a top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each top-level module may import, besides itself. The ground floor
/// (`vocab`, `diag`, `memory`) imports nothing; the flow is
/// `lang → model → eval → notify`, with `template` under the model, `store`
/// and `source` beside the flow, and `api` and the wiring (`serve`) on top.
const ALLOWED: &[(&str, &[&str])] = &[
    ("vocab", &[]),
    ("diag", &[]),
    ("memory", &[]),
    ("template", &["vocab", "diag"]),
    ("lang", &["vocab", "diag"]),
    ("model", &["vocab", "diag", "template", "lang"]),
    ("check", &["vocab", "diag", "template", "lang", "model"]),
    ("import", &["vocab", "diag", "template", "lang", "model"]),
    ("store", &["vocab"]),
    ("cluster", &["vocab"]),
    ("source", &["vocab", "diag", "model"]),
    (
        "eval",
        &["vocab", "diag", "template", "model", "source", "store"],
    ),
    (
        "notify",
        &["vocab", "diag", "template", "model", "eval", "store"],
    ),
    (
        "api",
        &[
            "vocab", "diag", "template", "model", "eval", "notify", "store", "source", "cluster",
        ],
    ),
    (
        "serve",
        &[
            "vocab", "diag", "memory", "template", "lang", "model", "check", "eval", "notify",
            "store", "source", "cluster", "api",
        ],
    ),
];

/// Top-level items of `lib.rs` that are re-exports of ground-floor modules.
const ALIASES: &[(&str, &str)] = &[("user_file", "vocab")];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
fn module_of(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src_dir()).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// The text without comments (so a doc comment naming a module is no import).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path a file refers to, as absolute paths from the crate root.
fn references(file: &Path, code: &str) -> BTreeSet<Vec<String>> {
    let here = module_of(file);
    // `crate::a::b` is absolute; `super` of `a::b` (src/a/b.rs or
    // src/a/b/mod.rs) is `a`, one more level up per extra `super`.
    let resolve = |root: &str, segments: Vec<String>| -> Vec<String> {
        if root == "crate" {
            return segments;
        }
        let mut base = here.clone();
        base.pop();
        let mut rest = segments.as_slice();
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        base
    };
    let identifier = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let path_re = regex::Regex::new(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)").unwrap();
    // `use crate::{a::B, c}` (one level of braces is enough to find modules).
    let group_re = regex::Regex::new(r"\b(crate|super)::\{([^}]*)\}").unwrap();
    let mut out = BTreeSet::new();
    for caps in path_re.captures_iter(code) {
        let segments = caps[2]
            .trim_start_matches("::")
            .split("::")
            .map(str::to_string)
            .collect();
        out.insert(resolve(&caps[1], segments));
    }
    for caps in group_re.captures_iter(code) {
        for item in caps[2].split(',') {
            let segments: Vec<String> = item
                .split("::")
                .map(|s| s.trim().to_string())
                .take_while(|s| identifier(s))
                .collect();
            if !segments.is_empty() {
                out.insert(resolve(&caps[1], segments));
            }
        }
    }
    out
}

fn top_level(module: &[String]) -> Option<String> {
    let first = module.first()?;
    let first = ALIASES
        .iter()
        .find(|(alias, _)| alias == first)
        .map_or(first.as_str(), |(_, real)| real);
    Some(first.to_string())
}

#[test]
fn no_module_imports_one_above_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let module = module_of(file);
        let Some(from) = module.first().cloned() else {
            continue; // lib.rs
        };
        if from == "bin" || from == "architecture_tests" {
            continue; // the binaries are on top of everything
        }
        let Some(may) = allowed.get(from.as_str()) else {
            unknown.insert(from);
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for reference in references(file, &code_of(&text)) {
            let Some(to) = top_level(&reference) else {
                continue;
            };
            if to == from || !allowed.contains_key(to.as_str()) {
                continue;
            }
            if !may.contains(&to.as_str()) {
                wrong.push(format!(
                    "{}: {from} imports {}",
                    file.strip_prefix(src_dir()).unwrap_or(file).display(),
                    reference.join("::")
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "top-level modules missing from ALLOWED in src/architecture_tests.rs \
         (give each its place in the layers): {unknown:?}"
    );
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports that go up the flow (see docs/architecture.md, \"Rules of direction\"):\n{}",
        wrong.join("\n")
    );
}

/// Files that import each other (directly or round a circle) are one concept
/// cut in pieces, or concepts tangled: a reader cannot understand one without
/// the others. Parent modules and their children may refer to each other.
#[test]
fn no_files_import_each_other_in_a_circle() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files.sort();
    let modules: BTreeMap<Vec<String>, &PathBuf> =
        files.iter().map(|f| (module_of(f), f)).collect();
    // The file a path lands in: the longest module prefix that is a file.
    let file_of = |path: &[String]| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| modules.contains_key(prefix))
    };
    let is_test = |f: &Path| {
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        name == "tests.rs" || name.ends_with("_tests.rs")
    };
    let mut edges: BTreeSet<(Vec<String>, Vec<String>)> = BTreeSet::new();
    for file in files.iter().filter(|f| !is_test(f)) {
        let from = module_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        for reference in references(file, &code_of(&text)) {
            let Some(to) = file_of(&reference) else {
                continue;
            };
            if to == from || from.starts_with(&to) || to.starts_with(&from) {
                continue; // itself, an ancestor or a descendant
            }
            edges.insert((from.clone(), to));
        }
    }
    // Every circle, of any length: a depth-first walk that meets a file
    // still on its path has found one.
    let mut next: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = BTreeMap::new();
    for (from, to) in &edges {
        next.entry(from).or_default().push(to);
    }
    let mut done: BTreeSet<&Vec<String>> = BTreeSet::new();
    let mut circles: BTreeSet<String> = BTreeSet::new();
    for start in next.keys() {
        let mut path: Vec<&Vec<String>> = Vec::new();
        walk(start, &next, &mut path, &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "files that import each other, directly or round a circle:\n{}",
        circles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

fn walk<'a>(
    file: &'a Vec<String>,
    next: &BTreeMap<&'a Vec<String>, Vec<&'a Vec<String>>>,
    path: &mut Vec<&'a Vec<String>>,
    done: &mut BTreeSet<&'a Vec<String>>,
    circles: &mut BTreeSet<String>,
) {
    if let Some(at) = path.iter().position(|f| *f == file) {
        let names: Vec<String> = path[at..]
            .iter()
            .chain(std::iter::once(&file))
            .map(|f| f.join("::"))
            .collect();
        circles.insert(names.join(" -> "));
        return;
    }
    if !done.insert(file) {
        return;
    }
    path.push(file);
    for to in next.get(file).into_iter().flatten() {
        walk(to, next, path, done, circles);
    }
    path.pop();
}
