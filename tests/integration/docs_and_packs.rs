//! The language reference and the shipped rule packs are product surface: a
//! user copies examples out of docs/dsl.md and loads rules/ as-is. These tests
//! keep both honest: every example loads without errors, the reference shows
//! every keyword of the grammar and every setting of the settings table, and
//! every pack loads cleanly and follows the pack conventions (thresholds that
//! escalate, resolve lines that do not overlap the firing condition, rate
//! functions only on counters, annotations a responder can act on).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use klaxon::diag::Level;
use klaxon::lang::ast;
use klaxon::model::load::{LoadOptions, Loaded, load_paths, load_sources};
use klaxon::vocab::condition::Condition;

use crate::harness::files::{Fence, fences};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn reference_text() -> String {
    let path = Path::new(MANIFEST_DIR).join("docs/dsl.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn rules_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("rules")
}

fn klaxon_blocks(markdown: &str) -> Vec<Fence> {
    fences(markdown, "docs/dsl.md")
        .into_iter()
        .filter(|f| f.lang == "klaxon")
        .collect()
}

/// Loads one reference block under the name diagnostics will show.
fn load_block(number: usize, fence: &Fence) -> Loaded {
    let name = format!("docs/dsl.md#block{number}.rules");
    load_sources(&[(name.as_str(), fence.text.as_str())])
}

fn rendered(loaded: &Loaded, levels: &[Level]) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| levels.contains(&d.level))
        .map(|d| d.render(&loaded.sources))
        .collect()
}

/// The words and operators of a klaxon text outside strings, raw strings and
/// comments, so a keyword inside a PromQL query or a summary does not count.
/// Returns the tokens and the comments.
fn dsl_tokens(text: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut tokens = BTreeSet::new();
    let mut comments = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let is_word_start = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == '-';
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-' | '@');
    while let Some(&c) = chars.get(i) {
        if c == '#' {
            let start = i;
            while chars.get(i).is_some_and(|&c| c != '\n') {
                i += 1;
            }
            comments.push(chars[start..i].iter().collect());
        } else if c == '"' {
            i += 1;
            while let Some(&c) = chars.get(i) {
                i += if c == '\\' { 2 } else { 1 };
                if c == '"' {
                    break;
                }
            }
        } else if c == '`' {
            i += 1;
            while chars.get(i).is_some_and(|&c| c != '`') {
                i += 1;
            }
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if chars.get(i..i + 3) == Some(&['.', '.', '.']) {
            tokens.insert("...".to_string());
            i += 3;
        } else if is_word_start(c) {
            let start = i;
            i += 1;
            while chars.get(i).copied().is_some_and(is_word) {
                i += 1;
            }
            tokens.insert(chars[start..i].iter().collect());
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "<=", ">=", "=~", "!~"].contains(&two.as_str()) {
                tokens.insert(two);
                i += 2;
            } else {
                tokens.insert(c.to_string());
                i += 1;
            }
        }
    }
    (tokens, comments)
}

/// The quoted terminals of the reference's ```ebnf grammar, outside its
/// `(* comments *)`: every keyword and operator a user can write.
fn grammar_terminals(markdown: &str) -> BTreeSet<String> {
    let grammar: String = fences(markdown, "docs/dsl.md")
        .into_iter()
        .filter(|f| f.lang == "ebnf")
        .map(|f| f.text)
        .collect();
    assert!(!grammar.is_empty(), "docs/dsl.md has no ```ebnf grammar");
    let mut without_comments = String::new();
    let mut rest = grammar.as_str();
    while let Some(start) = rest.find("(*") {
        without_comments.push_str(&rest[..start]);
        rest = match rest[start..].find("*)") {
            Some(end) => &rest[start + end + 2..],
            None => "",
        };
    }
    without_comments.push_str(rest);
    without_comments
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `(block, setting)` pairs of the grammar's "Settings by block" table, e.g.
/// `("datasource prometheus", "url")`. Parenthesised notes such as the values
/// of `tls` are not settings.
fn settings_table(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let table = markdown
        .lines()
        .skip_while(|l| !l.starts_with("Settings by block"))
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'));
    for line in table.filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, block, settings, ..] = cells.as_slice() else {
            continue;
        };
        let Some(block) = block.strip_prefix('`').and_then(|b| b.strip_suffix('`')) else {
            continue;
        };
        let mut depth = 0usize;
        let mut top_level = String::new();
        for c in settings.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => top_level.push(c),
                _ => {}
            }
        }
        for name in top_level.split('`').skip(1).step_by(2) {
            let key = name.split_whitespace().next().unwrap_or_default();
            out.push((block.to_string(), key.to_string()));
        }
    }
    out
}

#[test]
fn every_klaxon_example_in_the_reference_loads_without_errors() {
    let markdown = reference_text();
    let blocks = klaxon_blocks(&markdown);
    assert!(
        blocks.len() >= 20,
        "the reference should show each construct in its own example; found only {} ```klaxon blocks",
        blocks.len()
    );
    let mut failures = Vec::new();
    for (index, fence) in blocks.iter().enumerate() {
        let number = index + 1;
        let loaded = load_block(number, fence);
        let errors = rendered(&loaded, &[Level::Error]);
        if !errors.is_empty() {
            failures.push(format!(
                "block {number} (docs/dsl.md line {}):\n{}",
                fence.line,
                errors.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn klaxon_examples_in_the_reference_raise_no_lint_warnings() {
    // Examples teach by being copied: they may skip a runbook (an info) to
    // stay short, but must not show anything rulecheck warns about, and the
    // lint ids in disable comments must be real.
    let markdown = reference_text();
    let mut findings = Vec::new();
    for (index, fence) in klaxon_blocks(&markdown).iter().enumerate() {
        let loaded = load_block(index + 1, fence);
        for d in klaxon::check::lint(&loaded) {
            if matches!(d.level, Level::Error | Level::Warning) {
                findings.push(format!(
                    "block {} (docs/dsl.md line {}):\n{}",
                    index + 1,
                    fence.line,
                    d.render(&loaded.sources)
                ));
            }
        }
    }
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[test]
fn the_reference_shows_every_keyword_of_the_grammar_in_an_example() {
    let markdown = reference_text();
    let mut shown = BTreeSet::new();
    let mut comments = Vec::new();
    for fence in klaxon_blocks(&markdown) {
        let (tokens, block_comments) = dsl_tokens(&fence.text);
        shown.extend(tokens);
        comments.extend(block_comments);
    }
    // `include` needs a target file, so its examples are ```text blocks.
    let mut shown_as_text = BTreeSet::new();
    for fence in fences(&markdown, "docs/dsl.md")
        .into_iter()
        .filter(|f| f.lang == "text")
    {
        shown_as_text.extend(dsl_tokens(&fence.text).0);
    }

    let terminals = grammar_terminals(&markdown);
    for expected in ["group", "alert", "percentile", "...", "=~", "keep_firing"] {
        assert!(
            terminals.contains(expected),
            "the grammar extraction lost `{expected}`: {terminals:?}"
        );
    }
    let missing: Vec<&String> = terminals
        .iter()
        .filter(|t| {
            let in_text_block = *t == "include" && shown_as_text.contains(*t);
            !shown.contains(*t) && !in_text_block
        })
        .collect();
    assert!(
        missing.is_empty(),
        "grammar keywords that no ```klaxon example in docs/dsl.md uses: {missing:?}"
    );

    for secret_source in ["env", "file"] {
        assert!(
            shown.contains(secret_source),
            "no example reads a secret with {secret_source}(\"...\")"
        );
    }
    assert!(
        comments
            .iter()
            .any(|c| c.starts_with("# rulecheck disable=")),
        "no example disables a lint with `# rulecheck disable=`"
    );
}

#[test]
fn the_reference_shows_every_setting_of_the_settings_table() {
    let markdown = reference_text();
    let table = settings_table(&markdown);
    assert!(
        table.len() >= 30,
        "the settings table was not found or lost rows: {table:?}"
    );
    assert!(table.contains(&("email".to_string(), "tls".to_string())));
    assert!(!table.contains(&("email".to_string(), "starttls".to_string())));

    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for (index, fence) in klaxon_blocks(&markdown).iter().enumerate() {
        let loaded = load_block(index + 1, fence);
        for (_, file) in &loaded.asts {
            for item in &file.items {
                match item {
                    ast::Item::Datasource(d) => {
                        let block = format!("datasource {}", d.kind.node);
                        for s in &d.settings {
                            used.insert((block.clone(), s.key.node.clone()));
                        }
                    }
                    ast::Item::Receiver(r) => {
                        for integration in &r.integrations {
                            for s in &integration.settings {
                                used.insert((integration.kind.node.clone(), s.key.node.clone()));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let missing: Vec<String> = table
        .iter()
        .filter(|pair| !used.contains(*pair))
        .map(|(block, key)| format!("`{key}` in {block}"))
        .collect();
    assert!(
        missing.is_empty(),
        "settings listed in the table but shown in no ```klaxon example: {missing:?}"
    );
}

// ----- rule packs -------------------------------------------------------

/// Each domain the product ships rules for, with the least number of alerts
/// its pack must hold.
const PACKS: &[(&str, usize)] = &[
    ("kafka.rules", 8),
    ("zookeeper.rules", 3),
    ("kubernetes.rules", 8),
    ("node.rules", 5),
    ("http.rules", 4),
    ("databases.rules", 6),
    ("queues.rules", 2),
    ("logs.rules", 2),
];

fn load_packs() -> Loaded {
    let options = LoadOptions {
        keep_syntax_trees: true,
        ..LoadOptions::default()
    };
    let loaded = load_paths(&[rules_dir()], &options);
    assert!(
        loaded.io_errors.is_empty(),
        "cannot read rules/: {:?}",
        loaded.io_errors
    );
    loaded
}

/// Every alert of a loaded pack file, from its syntax tree.
fn pack_alerts<'a>(loaded: &'a Loaded, file_name: &str) -> Vec<&'a ast::Alert> {
    let mut out = Vec::new();
    for (id, file) in &loaded.asts {
        let path = &loaded.sources.file(*id).path;
        if path.file_name().and_then(|n| n.to_str()) != Some(file_name) {
            continue;
        }
        for item in &file.items {
            if let ast::Item::Group(group) = item {
                for rule in &group.rules {
                    if let ast::RuleDef::Alert(alert) = rule {
                        out.push(alert);
                    }
                }
            }
        }
    }
    out
}

fn all_pack_alerts(loaded: &Loaded) -> Vec<&ast::Alert> {
    PACKS
        .iter()
        .flat_map(|(file, _)| pack_alerts(loaded, file))
        .collect()
}

#[test]
fn rule_packs_load_without_errors_or_warnings() {
    let loaded = load_packs();
    let problems = rendered(&loaded, &[Level::Error, Level::Warning]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rule_packs_pass_every_lint() {
    let loaded = load_packs();
    let findings: Vec<String> = klaxon::check::lint(&loaded)
        .iter()
        .map(|d| d.render(&loaded.sources))
        .collect();
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[test]
fn every_domain_has_a_pack_with_enough_alerts() {
    let loaded = load_packs();
    for (file, at_least) in PACKS {
        assert!(rules_dir().join(file).is_file(), "rules/{file} is missing");
        let alerts = pack_alerts(&loaded, file);
        assert!(
            alerts.len() >= *at_least,
            "rules/{file} has {} alerts, expected at least {at_least}",
            alerts.len()
        );
    }
}

#[test]
fn every_pack_group_sets_its_interval_and_labels() {
    let loaded = load_packs();
    for (id, file) in &loaded.asts {
        let path = loaded.sources.file(*id).path.display().to_string();
        let groups: Vec<&ast::Group> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Group(g) => Some(g),
                _ => None,
            })
            .collect();
        assert!(!groups.is_empty(), "{path} has no group");
        for g in groups {
            assert!(
                g.every.is_some(),
                "{path}: group {} has no `every`",
                g.name.node
            );
            assert!(
                g.labels.as_ref().is_some_and(|l| !l.pairs.is_empty()),
                "{path}: group {} has no `labels`",
                g.name.node
            );
        }
    }
}

#[test]
fn every_pack_alert_tells_the_responder_what_and_where_to_look() {
    let loaded = load_packs();
    let alerts = all_pack_alerts(&loaded);
    assert!(!alerts.is_empty());
    for alert in alerts {
        let name = &alert.name.node;
        let annotation = |key: &str| {
            alert
                .annotations
                .iter()
                .find(|a| a.key.node == key)
                .map(|a| a.value.node.as_str())
        };
        let summary = annotation("summary").unwrap_or_else(|| panic!("{name}: no summary"));
        assert!(
            summary.contains("{{ $labels.") || summary.contains("{{ index $labels"),
            "{name}: the summary should say which series fired: {summary}"
        );
        let description =
            annotation("description").unwrap_or_else(|| panic!("{name}: no description"));
        assert!(
            description.contains("Check first:"),
            "{name}: the description should say what to check first: {description}"
        );
        let runbook = annotation("runbook_url").unwrap_or_else(|| panic!("{name}: no runbook"));
        assert!(
            runbook.starts_with("https://"),
            "{name}: runbook is not an https URL: {runbook}"
        );
        assert!(!alert.severities.is_empty(), "{name}: no severity line");
        for line in &alert.severities {
            assert!(
                line.for_.is_some(),
                "{name}: `{} when ...` has no `for`",
                line.level.node.as_str()
            );
        }
    }
}

/// Values around every threshold of the given conditions: enough to find a
/// value where two single-variable conditions both hold, if one exists.
fn probe_values(conditions: &[&Condition]) -> Vec<f64> {
    let mut thresholds = Vec::new();
    for c in conditions {
        c.thresholds(&mut thresholds);
    }
    let mut out = vec![f64::NEG_INFINITY, f64::INFINITY, 0.0];
    for t in &thresholds {
        let step = t.abs().max(1.0) * 1e-6;
        out.extend([*t - step, *t, *t + step]);
        for u in &thresholds {
            out.push((t + u) / 2.0);
        }
    }
    out
}

#[test]
fn pack_thresholds_escalate_and_resolve_lines_do_not_overlap_firing() {
    let loaded = load_packs();
    for alert in all_pack_alerts(&loaded) {
        let name = &alert.name.node;
        let mut levels: Vec<&ast::SeverityLine> = alert.severities.iter().collect();
        levels.sort_by_key(|l| l.level.node);
        // A stricter level must only fire where the milder one fires too.
        for pair in levels.windows(2) {
            let [milder, stricter] = pair else { continue };
            let probes = probe_values(&[&milder.condition.node, &stricter.condition.node]);
            for v in probes {
                assert!(
                    !stricter.condition.node.holds(v) || milder.condition.node.holds(v),
                    "{name}: {} fires at value {v} where {} does not; critical must be at least as strict as warning",
                    stricter.level.node.as_str(),
                    milder.level.node.as_str()
                );
            }
        }
        if let (Some(resolve), Some(mildest)) = (&alert.resolve, levels.first()) {
            let probes = probe_values(&[&resolve.condition.node, &mildest.condition.node]);
            for v in probes {
                assert!(
                    !(resolve.condition.node.holds(v) && mildest.condition.node.holds(v)),
                    "{name}: at value {v} the alert would both fire and resolve"
                );
            }
        }
    }
}

/// PromQL functions that only make sense on counters.
const COUNTER_FUNCTIONS: &[&str] = &["rate", "irate", "increase", "resets"];
const COUNTER_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket"];

/// `(function, metric)` for each `fn(metric...` call in a PromQL text.
fn counter_function_calls(expr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for function in COUNTER_FUNCTIONS {
        let needle = format!("{function}(");
        let mut from = 0;
        while let Some(pos) = expr[from..].find(&needle) {
            let start = from + pos;
            from = start + needle.len();
            let preceded_by_word = expr[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if preceded_by_word {
                continue;
            }
            let metric: String = expr[from..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push((function.to_string(), metric));
        }
    }
    out
}

/// Every `[range]` of a PromQL text (subquery steps included), ignoring
/// brackets inside quoted label values.
fn range_selectors(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut range: Option<String> = None;
    for c in expr.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match (c, range.as_mut()) {
            ('"' | '\'' | '`', _) => quote = Some(c),
            ('[', None) => range = Some(String::new()),
            (']', Some(inside)) => {
                out.extend(
                    inside
                        .split(':')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                );
                range = None;
            }
            (_, Some(inside)) => inside.push(c),
            (_, None) => {}
        }
    }
    out
}

#[test]
fn pack_queries_rate_only_counters_over_at_least_a_minute() {
    let loaded = load_packs();
    let mut checked = 0;
    for alert in all_pack_alerts(&loaded) {
        let name = &alert.name.node;
        let Some(query) = &alert.query else {
            panic!("{name}: no query");
        };
        let ast::Query::Prometheus { expr, .. } = &query.node else {
            continue;
        };
        for (function, metric) in counter_function_calls(&expr.node) {
            checked += 1;
            assert!(
                COUNTER_SUFFIXES.iter().any(|s| metric.ends_with(s)),
                "{name}: {function}() of `{metric}`, which is not a counter"
            );
        }
        for range in range_selectors(&expr.node) {
            let duration = klaxon::vocab::time::parse_duration(&range)
                .unwrap_or_else(|e| panic!("{name}: range [{range}]: {e}"));
            assert!(
                duration.0 >= 60_000,
                "{name}: range [{range}] is shorter than a minute"
            );
        }
    }
    assert!(
        checked >= 10,
        "expected the packs to rate counters, found {checked} calls"
    );
}

#[test]
fn helper_finds_counter_calls_and_ranges() {
    assert_eq!(
        counter_function_calls("sum(rate(a_total[5m])) / irate(b[1m]) + max_over_time(c[5m])"),
        vec![
            ("rate".to_string(), "a_total".to_string()),
            ("irate".to_string(), "b".to_string())
        ]
    );
    assert_eq!(
        range_selectors("rate(a[5m]) + max_over_time(b[1h:30s]) + c{x=\"[y]\"}"),
        vec!["5m", "1h", "30s"]
    );
    let (tokens, comments) = dsl_tokens(
        "# rulecheck disable=x\nalert A { query prometheus `a and b` summary \"or\" warning when value >= 1 }",
    );
    assert!(tokens.contains("alert") && tokens.contains(">=") && tokens.contains("value"));
    assert!(!tokens.contains("and") && !tokens.contains("or"));
    assert_eq!(comments, vec!["# rulecheck disable=x".to_string()]);
}
