//! Every real-world rule file in the shared corpus loads without errors, and
//! the loader finds exactly the rules the files contain.

use klaxon::diag::Level;
use klaxon::model::RuleKind;
use klaxon::model::load::load_sources;

#[test]
fn every_corpus_file_loads_without_errors_and_every_rule_is_found() {
    let files = crate::harness::files::corpus_rule_files();
    assert!(files.len() > 100, "only {} rule files found", files.len());

    let mut failures = Vec::new();
    let (mut alerts, mut records) = (0usize, 0usize);
    let (mut alert_lines, mut record_lines) = (0usize, 0usize);
    for path in &files {
        let text = std::fs::read_to_string(path).expect("corpus files are UTF-8");
        for line in text.lines() {
            let t = line.trim_start().trim_start_matches("- ");
            alert_lines += usize::from(t.starts_with("alert:"));
            record_lines += usize::from(t.starts_with("record:"));
        }
        let name = path.display().to_string();
        let loaded = load_sources(&[(name.as_str(), text.as_str())]);
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .map(|d| d.render(&loaded.sources))
            .collect();
        if !errors.is_empty() {
            failures.push(errors.join("\n"));
        }
        for (_, rule) in loaded.rules.rules() {
            match rule.kind {
                RuleKind::Alert(_) => alerts += 1,
                RuleKind::Record => records += 1,
            }
            let q = rule.query.promql().expect("Prometheus rules query PromQL");
            assert!(
                q.ast.is_some(),
                "{name}: `{}` has no parsed expression",
                rule.name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files have errors:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    // The corpus has 1147 `alert:` and 95 `record:` lines.
    assert_eq!((alert_lines, record_lines), (1147, 95));
    assert_eq!((alerts, records), (1147, 95));
}
