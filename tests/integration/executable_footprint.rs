//! What the `klaxon` executable loads at start, which is part of the
//! resident memory of every running evaluator (see build.rs and
//! src/memory.rs). Checked on the debug build the tests run; the release
//! build links the same libraries.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::process::Command;

/// The shared libraries the executable asks the loader for (DT_NEEDED).
fn needed_libraries(executable: &str) -> Vec<String> {
    let output = Command::new("readelf")
        .args(["--dynamic", "--wide", executable])
        .output()
        .expect("readelf (binutils) runs");
    assert!(output.status.success(), "readelf failed: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| {
            let start = line.find('[')? + 1;
            let end = line.rfind(']')?;
            Some(line[start..end].to_string())
        })
        .collect()
}

#[test]
fn klaxon_does_not_load_libm() {
    let needed = needed_libraries(env!("CARGO_BIN_EXE_klaxon"));
    assert!(
        needed.iter().any(|lib| lib.starts_with("libc.so")),
        "expected libc among {needed:?}: the check reads the wrong thing"
    );
    assert!(
        !needed.iter().any(|lib| lib.starts_with("libm.so")),
        "klaxon loads libm ({needed:?}): something calls a libm function \
         other than pow; libm's pages add about 0.5 MB to every evaluator"
    );
}
