//! Inputs that once crashed (or could plausibly crash) the loaders, kept so
//! they never crash again.
//!
//! Every file under `tests/fuzz_regressions/` is loaded through
//! `load_sources` twice, once named `.rules` (the DSL front end) and once
//! named `.yml` (the Prometheus front end), and every diagnostic is rendered,
//! because a span that points outside its file or inside a UTF-8 character
//! would only panic when printed. A crashing input found by `scripts/fuzz.sh`
//! goes into that directory under a name saying what it exercises; see the
//! header of `scripts/fuzz.sh`.

use std::path::{Path, PathBuf};

use klaxon::model::load::load_sources;

/// The same stack a `rulecheck` process has on its main thread (Linux's
/// default 8 MiB), so deep-nesting inputs fail here exactly when they would
/// fail for a user, not earlier because test threads get 2 MiB.
const MAIN_THREAD_STACK: usize = 8 << 20;

fn regression_inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Loads `text` as `name` on a thread with a main-thread-sized stack and
/// renders every diagnostic; returns the panic message if anything panicked.
fn load_and_render(name: &str, text: &str) -> Result<(), String> {
    let name = name.to_string();
    let text = text.to_string();
    let worker = std::thread::Builder::new()
        .stack_size(MAIN_THREAD_STACK)
        .spawn(move || {
            let loaded = load_sources(&[(name.as_str(), text.as_str())]);
            for diagnostic in &loaded.diagnostics {
                let _ = diagnostic.short(&loaded.sources);
                let _ = diagnostic.render(&loaded.sources);
            }
        })
        .map_err(|e| format!("cannot spawn a thread: {e}"))?;
    worker.join().map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "panic with a non-string payload".to_string())
    })
}

#[test]
fn no_regression_input_panics_either_front_end() {
    let inputs = regression_inputs();
    assert!(
        !inputs.is_empty(),
        "tests/fuzz_regressions/ is empty; the seed inputs are missing"
    );
    let mut failures = Vec::new();
    for path in &inputs {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        // The loaders read files the same way: invalid UTF-8 is replaced, not refused.
        let text = String::from_utf8_lossy(&bytes);
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for extension in ["rules", "yml"] {
            let name = format!("{stem}.{extension}");
            if let Err(message) = load_and_render(&name, &text) {
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} regression loads panicked:\n{}",
        failures.len(),
        inputs.len() * 2,
        failures.join("\n")
    );
}
