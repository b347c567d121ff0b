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
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            follow_includes: true,
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
    /// Syntax trees of DSL files, for the formatter.
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
                .filter(|e| e.file_type().is_file())
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
        } else if arg.exists() {
            files.push(arg.clone());
        } else if text.contains(['*', '?', '[']) {
            match glob::glob(&text) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths
                        .filter_map(Result::ok)
                        .filter(|p| p.is_file())
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

/// Loads every file named by `args` (files, directories, globs), follows
/// includes, and validates the whole set.
pub fn load_paths(args: &[PathBuf], options: &LoadOptions) -> Loaded {
    let (files, io_errors) = expand_paths(args);
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
        loader.load_file(&path, None);
    }
    finish(loader.loaded)
}

/// Loads rule files given as in-memory `(path, text)` pairs, in order, with no
/// include resolution. For tests, editors and HTTP bodies.
pub fn load_sources(sources: &[(&str, &str)]) -> Loaded {
    let mut loader = Loader {
        loaded: Loaded::default(),
        options: LoadOptions {
            follow_includes: false,
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
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
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
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Err(e) => {
                let msg = format!("{}: cannot read: {e}", path.display());
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
        let id = self.loaded.sources.add(path, text);
        let text = self.loaded.sources.file(id).text.clone();
        match syntax_of(path) {
            Syntax::PrometheusYaml => {
                let (groups, diags) = prom::load_file(id, &text);
                self.loaded.rules.groups.extend(groups);
                self.loaded.diagnostics.extend(diags);
            }
            Syntax::Dsl => {
                let (file, diags) = lang::parse(id, &text);
                self.loaded.diagnostics.extend(diags);
                dsl::lower(
                    id,
                    &file,
                    &mut self.loaded.rules,
                    &mut self.loaded.diagnostics,
                );
                let includes: Vec<ast::Include> = file
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        ast::Item::Include(inc) => Some(inc.clone()),
                        _ => None,
                    })
                    .collect();
                self.loaded.asts.push((id, file));
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
                let mut v: Vec<PathBuf> = paths
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
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
