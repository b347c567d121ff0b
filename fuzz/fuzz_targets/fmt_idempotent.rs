//! The formatter behind `rulecheck fmt`: for any input that parses without
//! errors, the formatted text must parse without errors too, and formatting
//! it again must change nothing (otherwise `rulecheck fmt --check` would
//! flag a file that `rulecheck fmt` just wrote).
#![no_main]

use klaxon::diag::Level;
use klaxon::lang::{fmt::format_file, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (tree, diagnostics) = parse(0, &text);
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        return;
    }
    let once = format_file(&tree);
    let (reparsed, errors) = parse(0, &once);
    let errors: Vec<_> = errors.iter().filter(|d| d.level == Level::Error).collect();
    assert!(
        errors.is_empty(),
        "formatted output does not parse: {errors:?}\n--- input\n{text}\n--- formatted\n{once}"
    );
    let twice = format_file(&reparsed);
    assert_eq!(once, twice, "formatting is not idempotent\n--- input\n{text}");
});
