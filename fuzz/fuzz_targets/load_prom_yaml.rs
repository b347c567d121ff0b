//! The Prometheus front end on arbitrary bytes: a full load of the text as a
//! `.yml` rule file (YAML, PromQL, templates, validation). It may not panic,
//! and every diagnostic must render.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    common::load_and_render("fuzz.yml", &text);
});
