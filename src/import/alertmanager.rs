//! `klaxon import alertmanager`: an Alertmanager 0.25 configuration
//! (`alertmanager.yml`) to the DSL's `receiver`, `route`, `inhibit` and
//! `time_window` blocks.
//!
//! The YAML is read with spans and checked as Alertmanager checks it
//! (unknown fields, missing receivers, invalid matchers and time ranges are
//! errors with `file:line:col`), so a file Alertmanager refuses is refused
//! here too. What converts:
//!
//! - the route tree, as written (children inherit as in Alertmanager);
//!   `match`, `match_re` and `matchers` (Alertmanager's matcher syntax,
//!   quoting and escapes included) become `match` lines;
//! - receivers' `slack_configs` (incoming webhook, or a bot token through
//!   `api_url: https://slack.com/api/chat.postMessage` with an
//!   `Authorization` credential), `email_configs` (with the `global` SMTP
//!   defaults applied) and `webhook_configs`;
//! - `inhibit_rules` and `time_intervals` / `mute_time_intervals`. A named
//!   interval with several entries becomes one `time_window` per entry
//!   (`name`, `name-2`, ...), all listed where the name was used.
//!
//! Nothing is dropped silently: whatever the DSL cannot express (other
//! integrations, templates, custom message fields, proxies, TLS settings)
//! is left as a `# klaxon import: not converted: ...` comment where it was,
//! and reported as a warning at its line; `resolve_timeout` other than
//! klaxon's default names the `klaxon serve` flag instead. Secrets the DSL
//! must not hold literally (passwords, tokens, `http_config` credentials,
//! URLs and mail headers with credentials in them) are written as
//! `env("NAME")` (with a warning naming the variable to set) or
//! `file("...")` for `*_file` fields. When no receiver keeps an
//! integration, a last warning says the result delivers nothing.
//!
//! The output is printed with the canonical formatter and loaded back with
//! the DSL loader before it is returned: it always loads without errors.
//!
//! This file holds the entry point, the converter's state and diagnostics,
//! and Alertmanager's matchers; the schema checks are in `schema.rs`, the
//! parts in `receivers.rs`, `routes.rs`, `inhibit.rs` and
//! `time_intervals.rs`, and the file written in `output.rs`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::diag::{Diagnostic, Level, SourceMap, Span};
use crate::import::ImportFailure;
use crate::lang::ast::{self, Spanned};
use crate::lang::fmt::format_file;
use crate::model;
use crate::model::yaml::Node;
use crate::vocab::labels::is_valid_label_name;
use crate::vocab::matcher::{MatchOp, Matcher, MatcherError, parse_matchers};
use schema::Fields;

mod inhibit;
mod output;
mod receivers;
mod routes;
mod schema;
mod time_intervals;

/// What `klaxon import alertmanager` produced.
#[derive(Debug, Clone)]
pub struct AlertmanagerImport {
    /// The DSL text, in canonical layout; loads without errors.
    pub dsl: String,
    /// How much was converted.
    pub stats: AlertmanagerStats,
    /// The input, to render [`AlertmanagerImport::warnings`] against.
    pub sources: SourceMap,
    /// What was not converted or changed meaning, at its place in the input.
    pub warnings: Vec<Diagnostic>,
}

/// Counts of what a conversion did, for the summary line and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertmanagerStats {
    /// Receivers written.
    pub receivers: usize,
    /// Slack, email and webhook integrations written.
    pub integrations: usize,
    /// Routes written, the root included.
    pub routes: usize,
    /// Inhibit rules written.
    pub inhibits: usize,
    /// `time_window` blocks written.
    pub time_windows: usize,
    /// Items left as `not converted` comments.
    pub not_converted: usize,
    /// Literal secrets moved to `env("...")`.
    pub secrets_to_env: usize,
}

/// Converts an Alertmanager configuration to DSL text in canonical layout.
///
/// `path` names the file in diagnostics and in the output's first comment;
/// `text` is its content. Refuses, with every diagnostic, a configuration
/// Alertmanager would refuse.
pub fn alertmanager_to_dsl(path: &Path, text: &str) -> Result<AlertmanagerImport, ImportFailure> {
    let mut sources = SourceMap::new();
    let file = sources.add(path, text.to_string());
    let (root, yaml_warnings) = match model::yaml::parse(file, text) {
        Ok(parsed) => parsed,
        Err(d) => {
            return Err(ImportFailure {
                sources,
                diagnostics: vec![yaml_diagnostic(*d)],
            });
        }
    };
    let mut cx = Converter {
        sources: &sources,
        diags: yaml_warnings.into_iter().map(yaml_diagnostic).collect(),
        stats: AlertmanagerStats::default(),
        windows: HashMap::new(),
        receivers: Vec::new(),
        env_names: HashMap::new(),
        used_env: HashSet::new(),
        warned: HashSet::new(),
        delivers_nothing: None,
    };
    let tree = cx.config(&root, &path.display().to_string());
    let mut diagnostics = cx.diags;
    let stats = cx.stats;
    crate::diag::sort_dedup(&mut diagnostics);
    // Said last, after the per-receiver warnings that lead to it.
    if let Some(span) = cx.delivers_nothing {
        diagnostics.push(
            Diagnostic::warning(
                "am/delivers-nothing",
                span,
                "no receiver is left with an integration klaxon can send with: as converted, this configuration delivers no notification at all",
            )
            .with_label("every receiver is empty")
            .with_hint(
                "add a slack, email or webhook block to the receivers the routes use (a webhook to a bridge service can stand in for the others)"
                    .to_string(),
            ),
        );
    }
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        return Err(ImportFailure {
            sources,
            diagnostics,
        });
    }
    let dsl = format_file(&tree);
    // The output is only worth anything if klaxon loads it.
    let shown = format!("{} (converted)", path.display());
    let loaded = model::load::load_sources(&[(shown.as_str(), dsl.as_str())]);
    if loaded.has_errors() {
        let mut errors: Vec<Diagnostic> = loaded
            .diagnostics
            .into_iter()
            .filter(|d| d.level == Level::Error)
            .collect();
        if let Some(first) = errors.first().map(|d| d.span) {
            errors.insert(
                0,
                Diagnostic::error(
                    "am/internal",
                    first,
                    "the converted rules do not load; this is a bug in `klaxon import alertmanager`",
                )
                .with_hint("please report it with the alertmanager.yml".to_string()),
            );
        }
        return Err(ImportFailure {
            sources: loaded.sources,
            diagnostics: errors,
        });
    }
    Ok(AlertmanagerImport {
        dsl,
        stats,
        sources,
        warnings: diagnostics,
    })
}

/// The YAML reader's diagnostics carry Prometheus codes and wording.
fn yaml_diagnostic(mut d: Diagnostic) -> Diagnostic {
    d.code = match d.code {
        "prom/yaml-limit" => "am/yaml-limit",
        "prom/multiple-documents" => {
            d.message =
                "this file has more than one YAML document; Alertmanager reads only the first"
                    .to_string();
            d.hint = None;
            "am/multiple-documents"
        }
        _ => "am/yaml-syntax",
    };
    d
}

struct Converter<'a> {
    sources: &'a SourceMap,
    diags: Vec<Diagnostic>,
    stats: AlertmanagerStats,
    /// Alertmanager time interval name → the DSL windows it became.
    windows: HashMap<String, Vec<String>>,
    /// Receiver names, for route checks.
    receivers: Vec<String>,
    /// Environment variable chosen for a literal secret, by where it is.
    env_names: HashMap<(usize, usize), String>,
    used_env: HashSet<String>,
    /// (span start, code) of warnings given once for a shared global value.
    warned: HashSet<(usize, &'static str)>,
    /// Where to say that no integration is left (the `receivers` key).
    delivers_nothing: Option<Span>,
}

/// A syntax-tree node that was not parsed from DSL text has no span.
fn unspanned<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

impl Converter<'_> {
    /// `alertmanager.yml:12`, for comments in the output.
    fn at(&self, span: Span) -> String {
        let (path, line, _) = self.sources.locate(span);
        format!("{path}:{line}")
    }

    /// Records an error and hands it back for a label or hint.
    fn error(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(code, span, message));
        // Just pushed, so there is a last element.
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Reports something the DSL cannot express: a warning at its place in
    /// the input and a comment for the output.
    fn not_converted(&mut self, comments: &mut Vec<String>, span: Span, what: &str, why: &str) {
        self.stats.not_converted += 1;
        comments.push(format!(
            " klaxon import: not converted: {what} ({}): {why}",
            self.at(span)
        ));
        if self.warned.insert((span.start, "am/not-converted")) {
            self.diags.push(
                Diagnostic::warning(
                    "am/not-converted",
                    span,
                    format!("{what} is not converted: {why}"),
                )
                .with_label("not converted")
                .with_hint(
                    "the output keeps a `# klaxon import: not converted` comment here".to_string(),
                ),
            );
        }
    }

    /// Reports a setting that becomes a `klaxon serve` flag: a warning at its
    /// place in the input and a comment for the output.
    fn serve_flag(&mut self, comments: &mut Vec<String>, span: Span, what: &str, flag: &str) {
        comments.push(format!(
            " klaxon import: {what} ({}): run `klaxon serve {flag}`",
            self.at(span)
        ));
        self.diags.push(
            Diagnostic::warning(
                "am/serve-flag",
                span,
                format!("{what} is a `klaxon serve` flag, not part of the rules: run `klaxon serve {flag}`"),
            )
            .with_label("a server setting")
            .with_hint("the output keeps a `# klaxon import:` comment saying so".to_string()),
        );
    }
}

// ----- matchers ------------------------------------------------------------------------------

impl Converter<'_> {
    /// `match`, `match_re` and `matchers` (with `prefix` `source_` /
    /// `target_` for inhibit rules), in the order written.
    fn matchers(&mut self, f: &Fields, prefix: &str, what: &str) -> Vec<ast::Matcher> {
        let mut out = Vec::new();
        let mut fields: Vec<(&str, &Node)> = ["match", "match_re", "matchers"]
            .iter()
            .filter_map(|k| {
                let key = format!("{prefix}{k}");
                f.get(&key).map(|n| (*k, n))
            })
            .collect();
        fields.sort_by_key(|(_, n)| n.span.start);
        for (kind, node) in fields {
            let field = format!("`{prefix}{kind}` of {what}");
            match kind {
                "matchers" => {
                    for line in self.list(node, &field) {
                        match parse_matchers(&line.value) {
                            Ok(ms) => {
                                for m in ms {
                                    if let Some(m) = self.matcher(m, line.span) {
                                        out.push(m);
                                    }
                                }
                            }
                            Err(e) => {
                                self.error("am/invalid-matcher", line.span, e)
                                    .hint = Some("matchers look like `severity=\"critical\"`, `team=~\"db|infra\"`, `env!=\"dev\"`".to_string());
                            }
                        }
                    }
                }
                _ => {
                    let op = if kind == "match" {
                        MatchOp::Eq
                    } else {
                        MatchOp::Re
                    };
                    for (k, v) in self.string_map(node, &field) {
                        let m = Matcher {
                            name: k.value,
                            op,
                            value: v.value,
                        };
                        if let Some(m) = self.matcher(m, k.span) {
                            out.push(m);
                        }
                    }
                }
            }
        }
        out
    }

    /// Checks one matcher as Alertmanager and the DSL loader would.
    fn matcher(&mut self, m: Matcher, span: Span) -> Option<ast::Matcher> {
        if !is_valid_label_name(&m.name) {
            self.error(
                "am/invalid-value",
                span,
                format!("invalid label name `{}` in a matcher", m.name),
            )
            .label = Some("label names are letters, digits and `_`".to_string());
            return None;
        }
        if let Err(e @ MatcherError::Regex { .. }) = m.clone().compile() {
            let last = e.last_line();
            self.error(
                "am/invalid-regex",
                span,
                format!("invalid regular expression `{}`: {last}", m.value),
            );
            return None;
        }
        Some(ast::Matcher {
            name: unspanned(m.name),
            op: m.op,
            value: unspanned(m.value),
            span: Span::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DSL and the warnings (`line:col code`) of a configuration that converts.
    fn convert(text: &str) -> (String, Vec<String>) {
        match alertmanager_to_dsl(Path::new("am.yml"), text) {
            Ok(i) => {
                let warnings = i
                    .warnings
                    .iter()
                    .map(|w| {
                        let (_, line, col) = i.sources.locate(w.span);
                        format!("{line}:{col} {}", w.code)
                    })
                    .collect();
                (i.dsl, warnings)
            }
            Err(f) => panic!("{}", f.render()),
        }
    }

    #[test]
    fn a_global_http_config_reaches_slack_and_webhooks_without_their_own() {
        let (dsl, warnings) = convert(
            "global:\n  http_config:\n    authorization:\n      credentials_file: /run/secrets/slack-bot\n\
             route: {receiver: a}\n\
             receivers:\n  - name: a\n    slack_configs:\n      - api_url: https://slack.example.com/api/chat.postMessage\n        channel: '#a'\n        send_resolved: true\n\
             \x20   webhook_configs:\n      - url: http://hooks.internal/a\n",
        );
        assert!(
            dsl.contains(
                "  slack {\n    token file(\"/run/secrets/slack-bot\")\n    api_url \"https://slack.example.com/api\"\n    channel \"#a\"\n  }"
            ),
            "{dsl}"
        );
        assert!(
            dsl.contains(
                "  webhook {\n    url \"http://hooks.internal/a\"\n    bearer_token file(\"/run/secrets/slack-bot\")\n  }"
            ),
            "{dsl}"
        );
        assert_eq!(warnings, Vec::<String>::new());
    }

    #[test]
    fn literal_credentials_move_to_env() {
        let (dsl, warnings) = convert(
            "route: {receiver: a}\n\
             receivers:\n  - name: a\n    slack_configs:\n      - api_url: https://slack.com/api/chat.postMessage\n        channel: C0123\n\
             \x20       http_config: {authorization: {credentials: xoxb-1}}\n\
             \x20   webhook_configs:\n      - url: https://hooks.example.com/a\n        http_config: {basic_auth: {username: u, password: p}}\n",
        );
        assert!(
            dsl.contains("    token env(\"SLACK_TOKEN_A\")\n    channel \"C0123\"\n"),
            "{dsl}"
        );
        assert!(
            dsl.contains(
                "# klaxon import: set SLACK_TOKEN_A to the Slack bot token written at am.yml:7"
            ),
            "{dsl}"
        );
        assert!(
            dsl.contains(
                "  webhook {\n    url \"https://hooks.example.com/a\"\n    basic_auth_user \"u\"\n    basic_auth_password env(\"WEBHOOK_PASSWORD_A\")\n  }"
            ),
            "{dsl}"
        );
        assert!(
            dsl.contains(
                "# klaxon import: set WEBHOOK_PASSWORD_A to the webhook basic-auth password written at am.yml:10"
            ),
            "{dsl}"
        );
        assert!(!dsl.contains("dTpw") && !dsl.contains("xoxb-1"), "{dsl}");
        assert_eq!(
            warnings,
            ["7:52 am/literal-secret", "10:59 am/literal-secret"]
        );
    }

    #[test]
    fn empty_parts_keep_alertmanagers_meaning() {
        let (dsl, warnings) = convert(
            "route:\n  receiver: a\n  group_by: [x]\n  routes:\n    - {receiver: a, group_by: [], active_time_intervals: [never, weekends]}\n\
             receivers: [{name: a}]\n\
             inhibit_rules:\n  - target_matchers: [severity=info]\n\
             time_intervals:\n  - name: never\n    time_intervals:\n      - weekdays: []\n\
             \x20 - name: weekends\n    time_intervals:\n      - weekdays: [saturday, sunday]\n",
        );
        // `group_by: []` keeps the parent's grouping.
        assert!(
            dsl.contains("  route {\n    receiver a\n    active_during never, weekends\n  }"),
            "{dsl}"
        );
        // No source matchers: every alert is a source.
        assert!(
            dsl.contains(
                "inhibit {\n  source alertname =~ \".*\"\n  target severity = \"info\"\n}"
            ),
            "{dsl}"
        );
        // An empty list matches nothing; a year long past stands for "never".
        assert!(
            dsl.contains("time_window never {\n  years \"1970\"\n}"),
            "{dsl}"
        );
        assert_eq!(
            warnings,
            ["12:9 am/never-matches", "6:1 am/delivers-nothing"]
        );
    }
}
