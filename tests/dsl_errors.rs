//! Every kind of mistake in a DSL file gets an error at the exact spot.
//!
//! Each fixture under `tests/fixtures/dsl/errors/` lists what it expects in
//! comments: `# expect: LINE:COL CODE [text the message, label or hint must
//! contain]`. The test asserts the file's errors are exactly those.

use std::path::{Path, PathBuf};

use klaxon::diag::Level;
use klaxon::model::load::{LoadOptions, load_paths};

struct Expected {
    line: usize,
    col: usize,
    code: String,
    text: String,
}

fn expectations(text: &str) -> Vec<Expected> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ' ');
            let pos = parts.next().unwrap_or_default();
            let code = parts.next().unwrap_or_default().to_string();
            let text = parts.next().unwrap_or_default().to_string();
            let (l, c) = pos.split_once(':').expect("LINE:COL");
            Expected {
                line: l.parse().expect("line"),
                col: c.parse().expect("col"),
                code,
                text,
            }
        })
        .collect()
}

fn check_fixture(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let expected = expectations(&text);
    if expected.is_empty() {
        return Err(format!("{}: no `# expect:` lines", path.display()));
    }
    let loaded = load_paths(&[path.to_path_buf()], &LoadOptions::default());
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .collect();
    let rendered = errors
        .iter()
        .map(|d| d.render(&loaded.sources))
        .collect::<Vec<_>>()
        .join("\n");
    if errors.len() != expected.len() {
        return Err(format!(
            "{}: expected {} errors, got {}:\n{rendered}",
            path.display(),
            expected.len(),
            errors.len()
        ));
    }
    for (d, e) in errors.iter().zip(&expected) {
        let (_, line, col) = loaded.sources.locate(d.span);
        let all_text = format!(
            "{} {} {}",
            d.message,
            d.label.clone().unwrap_or_default(),
            d.hint.clone().unwrap_or_default()
        );
        if (line, col) != (e.line, e.col) || d.code != e.code || !all_text.contains(&e.text) {
            return Err(format!(
                "{}: expected {}:{} {} `{}`, got {line}:{col} {}:\n{rendered}",
                path.display(),
                e.line,
                e.col,
                e.code,
                e.text,
                d.code
            ));
        }
    }
    Ok(())
}

#[test]
fn each_fixture_reports_exactly_its_errors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dsl/errors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 19, "fixtures missing: {}", paths.len());
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| check_fixture(p).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn include_cycles_are_reported_at_the_include() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.rules");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(&a, "include \"sub/*.rules\"\n").expect("write");
    std::fs::write(
        dir.path().join("sub/b.rules"),
        "# a comment\ninclude \"../a.rules\"\n",
    )
    .expect("write");
    let loaded = load_paths(&[a], &LoadOptions::default());
    let errs: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| d.short(&loaded.sources))
        .collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].contains(
            "b.rules:2:1: error[include/cycle]: include cycle: a.rules → b.rules → a.rules"
        ),
        "{errs:#?}"
    );
}

#[test]
fn includes_are_relative_to_the_including_file_and_loaded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("packs")).expect("mkdir");
    let main = dir.path().join("main.rules");
    std::fs::write(
        &main,
        "include \"packs/*.rules\"\ninclude \"packs/a.rules\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("packs/a.rules"),
        "group a {\n  alert A {\n    query prometheus `up == 0`\n    warning when present\n  }\n}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("packs/b.yml"), "groups: []\n").expect("write");
    let loaded = load_paths(std::slice::from_ref(&main), &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.rules.groups.len(), 1, "a.rules is loaded once");
    let missing = dir.path().join("missing.rules");
    std::fs::write(&missing, "include \"nope/*.rules\"\n").expect("write");
    let loaded = load_paths(&[missing], &LoadOptions::default());
    let errs: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| d.short(&loaded.sources))
        .collect();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains("missing.rules:1:9: error[include/no-match]"),
        "{errs:#?}"
    );
}
