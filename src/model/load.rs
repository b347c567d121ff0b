//! Loading rule files from paths, globs and directories into one [`RuleSet`].
//!
//! Files ending in `.yml`/`.yaml` are Prometheus rule files; everything else
//! named explicitly is read as the klaxon DSL (directories contribute only
//! `.rules`, `.yml` and `.yaml` files). DSL `include`s are resolved relative to
//! the including file; a file reached twice is loaded once, and a cycle is an
//! error at the `include` that closes it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, FileId, SourceMap, Span};
use crate::lang::{self, ast};
use crate::model::{RuleSet, dsl, prom, validate};

/// Knobs for a load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Resolve DSL `include` statements (on by default).
    pub follow_includes: bool,
    /// Keep the DSL files' syntax trees in [`Loaded::asts`] (off by
    /// default: they take about as much memory as the model, and neither
    /// `rulecheck` nor `serve` reads them once the model is built).
    pub keep_syntax_trees: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            follow_includes: true,
            keep_syntax_trees: false,
        }
    }
}

/// The syntax a file is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// klaxon DSL.
    Dsl,
    /// Prometheus `groups:` YAML.
    PrometheusYaml,
}

/// Which syntax a path is read as, from its extension.
pub fn syntax_of(path: &Path) -> Syntax {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml") => Syntax::PrometheusYaml,
        _ => Syntax::Dsl,
    }
}

/// Result of a load: the model, every source file, and every diagnostic.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every file read, for rendering diagnostics.
    pub sources: SourceMap,
    /// The model. Only safe to run when `has_errors()` is false.
    pub rules: RuleSet,
    /// Errors and warnings from parsing and validation, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Syntax trees of DSL files, when [`LoadOptions::keep_syntax_trees`].
    pub asts: Vec<(FileId, ast::File)>,
    /// Paths that could not be read or matched nothing, with the reason.
    pub io_errors: Vec<String>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.level == crate::diag::Level::Error)
    }

    /// The syntax of a loaded file.
    pub fn syntax(&self, file: FileId) -> Syntax {
        syntax_of(&self.sources.file(file).path)
    }
}

/// Expands command-line arguments (files, directories, globs) into files.
/// Returns the files in a stable order and a message per argument that
/// matched nothing or could not be read.
pub fn expand_paths(args: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy();
        if arg.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(arg)
                .follow_links(true)
                .into_iter()
                .filter_map(|e| match e {
                    Ok(e) => Some(e),
                    Err(err) => {
                        errors.push(format!("{}: {err}", arg.display()));
                        None
                    }
                })
                .filter(|e| !e.file_type().is_dir())
                .map(|e| e.into_path())
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("rules" | "yml" | "yaml")
                    )
                })
                .collect();
            found.sort();
            files.extend(found);
        } else if std::fs::symlink_metadata(arg).is_ok() {
            // A file, or a link: reading it says what is wrong with it
            // (a device, a FIFO, a symlink loop, a dangling link).
            files.push(arg.clone());
        } else if text.contains(['*', '?', '[']) {
            match glob::glob(&text) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths
                        .filter_map(Result::ok)
                        .filter(|p| !p.is_dir())
                        .collect();
                    found.sort();
                    if found.is_empty() {
                        errors.push(format!("{text}: no files match this pattern"));
                    }
                    files.extend(found);
                }
                Err(e) => errors.push(format!("{text}: invalid pattern: {e}")),
            }
        } else {
            errors.push(format!("{text}: no such file or directory"));
        }
    }
    (files, errors)
}

/// Which files load together: the one load policy of `klaxon serve` and
/// `rulecheck`, so that what `rulecheck` judges is what `serve` runs.
///
/// klaxon DSL files load as one set (with their includes), since their
/// rules refer to datasources, receivers and time windows declared in other
/// files. Each Prometheus rule file loads on its own ([`load_alone`]): it
/// includes nothing and declares nothing another file refers to, so alone
/// it yields exactly its share of a load of all files, and the parsed YAML
/// and PromQL trees of ten thousand rules never sit in memory together.
#[derive(Debug, Default)]
pub struct LoadPlan {
    /// klaxon DSL files, in order: one load ([`LoadPlan::load_together`]).
    pub together: Vec<PathBuf>,
    /// Prometheus rule files, in order: one load each ([`load_alone`]). A
    /// file named twice is listed twice; its [`load_key`] tells the second.
    pub alone: Vec<PathBuf>,
    /// Arguments that matched nothing or could not be read.
    pub io_errors: Vec<String>,
}

/// The load policy: expands command-line arguments (files, directories,
/// globs) and says which files load together. See [`LoadPlan`].
pub fn plan_load(args: &[PathBuf]) -> LoadPlan {
    let (files, io_errors) = expand_paths(args);
    let (alone, together) = files
        .into_iter()
        .partition(|f| syntax_of(f) == Syntax::PrometheusYaml);
    LoadPlan {
        together,
        alone,
        io_errors,
    }
}

impl LoadPlan {
    /// Loads the klaxon DSL files as one set, following includes. The
    /// plan's `io_errors` are not repeated in the result.
    pub fn load_together(&self) -> Loaded {
        load_files(&self.together, Vec::new(), &LoadOptions::default())
    }
}

/// Loads one Prometheus rule file of a [`LoadPlan`] on its own; the error
/// says why it could not be read (the message a load of many files puts in
/// [`Loaded::io_errors`]).
pub fn load_alone(path: &Path) -> Result<Loaded, String> {
    read_source(path).map(|text| load_single(path, text))
}

/// Loads every file named by `args` (files, directories, globs), follows
/// includes, and validates the whole set.
pub fn load_paths(args: &[PathBuf], options: &LoadOptions) -> Loaded {
    let (files, io_errors) = expand_paths(args);
    load_files(&files, io_errors, options)
}

/// Loads files already expanded by [`expand_paths`] (with the messages it
/// returned, kept as the first `io_errors`), follows includes, and validates
/// the whole set: `load_paths` without expanding its arguments again.
pub fn load_files(files: &[PathBuf], io_errors: Vec<String>, options: &LoadOptions) -> Loaded {
    let mut loader = Loader {
        loaded: Loaded {
            io_errors,
            ..Loaded::default()
        },
        options: options.clone(),
        seen: HashMap::new(),
        stack: Vec::new(),
    };
    for path in files {
        loader.load_file(path, None);
    }
    finish(loader.loaded)
}

/// Reads a rule file's text as the loader does: invalid UTF-8 is decoded
/// lossily rather than refused. The error is the message `load_paths` puts
/// in [`Loaded::io_errors`] for a file it cannot read.
pub fn read_source(path: &Path) -> Result<String, String> {
    match crate::user_file::read(path, crate::user_file::MAX_RULE_FILE_BYTES) {
        Ok(bytes) => Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
        Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
    }
}

/// The key under which a load counts a file once: its canonical path, or the
/// path as given when it cannot be resolved.
pub fn load_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Loads one file, already read, on its own: no includes are followed and
/// the whole-set checks see only this file. For a Prometheus rule file,
/// which neither includes nor declares anything other files refer to, this
/// is exactly that file's share of a [`load_paths`] over many files, so
/// files can be checked one at a time (and in parallel) with the same
/// findings. The file gets id 0.
pub fn load_single(path: &Path, text: String) -> Loaded {
    let mut loader = Loader {
        loaded: Loaded::default(),
        options: LoadOptions {
            follow_includes: false,
            keep_syntax_trees: false,
        },
        seen: HashMap::new(),
        stack: Vec::new(),
    };
    loader.load_text(path, text);
    finish(loader.loaded)
}

/// Loads rule files given as in-memory `(path, text)` pairs, in order, with no
/// include resolution, keeping syntax trees. For tests, editors and HTTP
/// bodies.
pub fn load_sources(sources: &[(&str, &str)]) -> Loaded {
    let mut loader = Loader {
        loaded: Loaded::default(),
        options: LoadOptions {
            follow_includes: false,
            keep_syntax_trees: true,
        },
        seen: HashMap::new(),
        stack: Vec::new(),
    };
    for (path, text) in sources {
        loader.load_text(Path::new(path), (*text).to_string());
    }
    finish(loader.loaded)
}

fn finish(mut loaded: Loaded) -> Loaded {
    validate::check_rule_set(&loaded.rules, &mut loaded.diagnostics);
    crate::diag::sort_dedup(&mut loaded.diagnostics);
    loaded
}

struct Loader {
    loaded: Loaded,
    options: LoadOptions,
    /// Canonical path → file id, so a file reached twice loads once.
    seen: HashMap<PathBuf, FileId>,
    /// Canonical paths of the include chain being loaded, for cycle detection.
    stack: Vec<PathBuf>,
}

impl Loader {
    fn load_file(&mut self, path: &Path, included_at: Option<Span>) {
        let canonical = load_key(path);
        if self.stack.contains(&canonical) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .skip_while(|p| **p != canonical)
                .chain(std::iter::once(&canonical))
                .map(|p| {
                    p.file_name().map_or_else(
                        || p.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    )
                })
                .collect();
            if let Some(span) = included_at {
                self.loaded.diagnostics.push(
                    Diagnostic::error(
                        "include/cycle",
                        span,
                        format!("include cycle: {}", chain.join(" → ")),
                    )
                    .with_hint("remove one of the includes; a file cannot include itself, directly or indirectly".to_string()),
                );
            }
            return;
        }
        if self.seen.contains_key(&canonical) {
            return;
        }
        let text = match read_source(path) {
            Ok(text) => text,
            Err(msg) => {
                match included_at {
                    Some(span) => self.loaded.diagnostics.push(Diagnostic::error(
                        "include/unreadable",
                        span,
                        msg,
                    )),
                    None => self.loaded.io_errors.push(msg),
                }
                return;
            }
        };
        self.stack.push(canonical.clone());
        let id = self.load_text(path, text);
        self.seen.insert(canonical, id);
        self.stack.pop();
    }

    fn load_text(&mut self, path: &Path, text: String) -> FileId {
        let Loaded {
            sources,
            rules,
            diagnostics,
            asts,
            ..
        } = &mut self.loaded;
        let id = sources.add(path, text);
        // Parsed in place: the text is borrowed from the source map, not copied.
        let text = sources.file(id).text.as_str();
        match syntax_of(path) {
            Syntax::PrometheusYaml => {
                let (groups, diags) = prom::load_file(id, text);
                rules.groups.extend(groups);
                diagnostics.extend(diags);
            }
            Syntax::Dsl => {
                let (file, diags) = lang::parse(id, text);
                diagnostics.extend(diags);
                let includes: Vec<ast::Include> = file
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        ast::Item::Include(inc) => Some(inc.clone()),
                        _ => None,
                    })
                    .collect();
                if self.options.keep_syntax_trees {
                    asts.push((id, file.clone()));
                }
                dsl::lower(id, file, rules, diagnostics);
                if self.options.follow_includes {
                    for inc in includes {
                        self.follow_include(path, &inc);
                    }
                }
            }
        }
        id
    }

    fn follow_include(&mut self, from: &Path, inc: &ast::Include) {
        let base = from.parent().unwrap_or_else(|| Path::new("."));
        let pattern = base.join(&inc.pattern.node);
        let pattern_text = pattern.to_string_lossy().into_owned();
        let matches: Vec<PathBuf> = match glob::glob(&pattern_text) {
            Ok(paths) => {
                // Anything but a directory: a FIFO or a symlink loop that
                // matches gets its own error from the read.
                let mut v: Vec<PathBuf> = paths
                    .filter_map(Result::ok)
                    .filter(|p| !p.is_dir())
                    .collect();
                v.sort();
                v
            }
            Err(e) => {
                self.loaded.diagnostics.push(Diagnostic::error(
                    "include/pattern",
                    inc.pattern.span,
                    format!("invalid include pattern: {e}"),
                ));
                return;
            }
        };
        if matches.is_empty() {
            self.loaded.diagnostics.push(
                Diagnostic::error(
                    "include/no-match",
                    inc.pattern.span,
                    format!("`{}` matches no file", inc.pattern.node),
                )
                .with_hint(format!(
                    "include paths are relative to the including file's directory ({})",
                    base.display()
                )),
            );
        }
        for m in matches {
            self.load_file(&m, Some(inc.span));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prometheus_file_loaded_alone_is_its_share_of_a_load_of_many() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prom");
        let first = dir.join("promql.yml");
        let second = dir.join("templates.yml");
        let together = load_paths(&[first.clone(), second.clone()], &LoadOptions::default());
        let text = read_source(&second).unwrap_or_default();
        let alone = load_single(&second, text);
        let shifted: Vec<Diagnostic> = alone
            .diagnostics
            .iter()
            .cloned()
            .map(|mut d| {
                d.span.file = 1;
                d.related.iter_mut().for_each(|(s, _)| s.file = 1);
                d
            })
            .collect();
        let theirs: Vec<&Diagnostic> = together
            .diagnostics
            .iter()
            .filter(|d| d.span.file == 1)
            .collect();
        assert!(!theirs.is_empty());
        assert_eq!(theirs, shifted.iter().collect::<Vec<_>>());
        assert_eq!(alone.rules.groups.len() + 1, together.rules.groups.len());
        assert_eq!(alone.sources.file(0).path, second);
    }

    /// The load policy: DSL files (whatever their extension) go into one
    /// load, `.yml`/`.yaml` files one load each, in the order given; a
    /// path that matches nothing is reported, not skipped.
    #[test]
    fn dsl_files_load_together_and_each_prometheus_file_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        for name in ["a.rules", "b.yml", "c.yaml", "d.conf"] {
            std::fs::write(dir.path().join(name), "").unwrap_or_else(|e| panic!("{e}"));
        }
        let path = |name: &str| dir.path().join(name);
        let plan = plan_load(&[
            path("c.yaml"),
            dir.path().to_path_buf(),
            path("d.conf"),
            path("missing.rules"),
        ]);
        assert_eq!(plan.together, [path("a.rules"), path("d.conf")]);
        assert_eq!(plan.alone, [path("c.yaml"), path("b.yml"), path("c.yaml")]);
        assert_eq!(
            plan.io_errors,
            [format!(
                "{}: no such file or directory",
                path("missing.rules").display()
            )]
        );
        let message = load_alone(&path("missing.yml")).err().unwrap_or_default();
        assert!(message.contains("missing.yml: cannot read: "), "{message}");
    }

    #[test]
    fn unreadable_and_non_utf8_files_read_as_the_loader_reads_them() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let latin = dir.path().join("latin.yml");
        std::fs::write(&latin, b"groups: [] # caf\xe9\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read_source(&latin).as_deref(),
            Ok("groups: [] # caf\u{fffd}\n")
        );
        let missing = dir.path().join("missing.yml");
        let message = read_source(&missing).err().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{}: cannot read: ", missing.display())),
            "{message}"
        );
        assert_eq!(load_key(&missing), missing);
        assert_eq!(
            load_key(&dir.path().join(".").join("latin.yml")),
            load_key(&latin)
        );
    }
}
