//! The DSL front end on arbitrary bytes: the parser alone, then the full load
//! (parse, lower into the model, validate) of the same text as a `.rules`
//! file. Neither may panic, and every diagnostic must render.
#![no_main]

mod common;

use klaxon::diag::SourceMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The loader decodes files lossily; do the same so every input counts.
    let text = String::from_utf8_lossy(data);
    let (_tree, diagnostics) = klaxon::lang::parse(0, &text);
    let mut sources = SourceMap::new();
    sources.add("fuzz.rules", text.to_string());
    common::render_all(&diagnostics, &sources);

    common::load_and_render("fuzz.rules", &text);
});
