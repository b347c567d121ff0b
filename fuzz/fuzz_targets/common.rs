//! Shared by the fuzz targets: loading text the way `rulecheck` does and
//! printing every diagnostic, since a span outside its file or inside a
//! UTF-8 character only panics when rendered.

use klaxon::diag::{Diagnostic, SourceMap};
use klaxon::model::load::load_sources;

/// Renders every diagnostic in both of rulecheck's text forms.
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap) {
    for diagnostic in diagnostics {
        let _ = diagnostic.short(sources);
        let _ = diagnostic.render(sources);
    }
}

/// Loads `text` as a file called `name` (the extension picks the front end)
/// and renders what the load reported.
pub fn load_and_render(name: &str, text: &str) {
    let loaded = load_sources(&[(name, text)]);
    render_all(&loaded.diagnostics, &loaded.sources);
}
