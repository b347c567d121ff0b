//! Every kind of mistake in a DSL file gets an error at the exact spot.
//!
//! Each fixture under `tests/fixtures/dsl/errors/` lists what it expects in
//! comments: `# expect: LINE:COL CODE [text the message, label or hint must
//! contain]`. The test asserts the file's errors are exactly those.
//!
//! And what `rulecheck` passes, `klaxon serve` builds: every configuration
//! of the repository gets one verdict from both (issue 13).

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

/// Every configuration file of the repository that `rulecheck` and `klaxon
/// serve` read, for [`rulecheck_clean_is_serve_builds`]: the test fixtures
/// (the Alertmanager ones too, which both must refuse as rule files), the
/// rule packs, the fuzz regressions, the ```klaxon examples (and the
/// Prometheus `groups:` ones) of docs/ and the README written out to
/// `scratch`, and the DSL `klaxon import alertmanager` makes of the
/// Alertmanager fixtures. Not included: the shared Prometheus corpus
/// (outside the repository; `corpus_load` checks it loads) and the CI
/// snippets under `integrations/` (no rule files).
fn repository_configurations(scratch: &Path) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["tests/fixtures", "rules", "tests/fuzz_regressions"] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let path = entry.expect("walk").into_path();
            let config = path.extension().is_some_and(|e| e == "rules" || e == "yml")
                || (dir == "tests/fuzz_regressions" && path.is_file());
            if config {
                files.push(path);
            }
        }
    }
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.push(root.join("README.md"));
    for doc in docs {
        let markdown = std::fs::read_to_string(&doc).expect("read doc");
        let name = doc.file_stem().and_then(|n| n.to_str()).unwrap_or("doc");
        for fence in crate::harness::files::fences(&markdown, &doc.display().to_string()) {
            let extension = match fence.lang.as_str() {
                "klaxon" => "rules",
                "yaml" if fence.text.starts_with("groups:") => "yml",
                _ => continue,
            };
            let path = scratch.join(format!("{name}.md-line{}.{extension}", fence.line));
            std::fs::write(&path, &fence.text).expect("write example");
            files.push(path);
        }
    }
    for entry in std::fs::read_dir(root.join("tests/fixtures/alertmanager")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        if let Ok(imported) = klaxon::import::alertmanager_to_dsl(&path, &text) {
            let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("am");
            let out = scratch.join(format!("imported-{name}.rules"));
            std::fs::write(&out, imported.dsl).expect("write import");
            files.push(out);
        }
    }
    files
}

/// Issue 13: `rulecheck` passed configurations `klaxon serve` refused to
/// start with. On every configuration of the repository, `rulecheck` is
/// clean exactly when serve's build (load, read secrets, set up every
/// datasource and receiver client, without starting anything or sending a
/// byte) succeeds; when both refuse, serve says what rulecheck says. The
/// one allowed difference is a secret `env()`/`file()` names that cannot be
/// read here (rulecheck never reads secrets): serve refuses such a file
/// with only that, located at the value.
#[test]
fn rulecheck_clean_is_serve_builds() {
    crate::harness::install_tls_provider();
    let scratch = tempfile::tempdir().expect("tempdir");
    let files = repository_configurations(scratch.path());
    let (mut both_pass, mut both_refuse, mut secrets_missing) = (0, 0, 0);
    let mut failures = Vec::new();
    for file in &files {
        let checked = load_paths(std::slice::from_ref(file), &LoadOptions::default());
        let rulecheck_errors: Vec<String> = checked
            .io_errors
            .iter()
            .cloned()
            .chain(
                checked
                    .diagnostics
                    .iter()
                    .filter(|d| d.level == Level::Error)
                    .map(|d| d.render(&checked.sources)),
            )
            .collect();
        let declares_default = checked
            .rules
            .datasources
            .iter()
            .any(|d| d.name == "default");
        let opts = klaxon::serve::ServeOptions {
            config: None,
            rules: vec![file.display().to_string()],
            // Never queried: building a datasource sends nothing.
            prometheus_url: (!declares_default).then(|| "http://127.0.0.1:9".to_string()),
            data_dir: scratch.path().join("data"),
            storage_cache_bytes: 1 << 20,
            listen: "127.0.0.1:0".into(),
            connections: Default::default(),
            alertmanager_urls: Vec::new(),
            external_url: None,
            external_labels: Vec::new(),
            evaluation_interval: std::time::Duration::from_secs(60),
            resend_delay: std::time::Duration::from_secs(60),
            max_concurrent_queries: 1,
            notify: Default::default(),
            cluster: None,
        };
        let name = file.display();
        match (
            rulecheck_errors.is_empty(),
            klaxon::serve::build_config(&opts),
        ) {
            (true, Ok(_)) => both_pass += 1,
            (false, Ok(_)) => failures.push(format!(
                "{name}: rulecheck refuses, serve builds it:\n{}",
                rulecheck_errors.join("\n")
            )),
            (true, Err(errors)) => {
                let only_secrets = errors
                    .iter()
                    .all(|e| e.contains("error[build/unreadable-secret]") && e.contains(" --> "));
                if only_secrets {
                    secrets_missing += 1;
                } else {
                    failures.push(format!(
                        "{name}: rulecheck passes, serve refuses:\n{}",
                        errors.join("\n")
                    ));
                }
            }
            (false, Err(errors)) => {
                both_refuse += 1;
                let serve_said = errors.join("\n");
                for said in &rulecheck_errors {
                    if !serve_said.contains(said.as_str()) {
                        failures.push(format!(
                            "{name}: serve does not say what rulecheck says:\n{said}\nserve:\n{serve_said}"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The walk found what it should, and the test is not vacuous.
    assert!(files.len() >= 100, "only {} configurations", files.len());
    assert!(both_pass >= 40, "only {both_pass} pass both");
    assert!(both_refuse >= 30, "only {both_refuse} refused by both");
    eprintln!(
        "{} configurations: {both_pass} pass both, {both_refuse} refused by both, \
         {secrets_missing} refused by serve only for a secret not set here",
        files.len()
    );
}
