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

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::diag::{Diagnostic, Level, SourceMap, Span, suggest};
use crate::import::ImportFailure;
use crate::lang::ast::{self, MatchOp, Spanned, Value};
use crate::lang::fmt::format_file;
use crate::model;
use crate::model::components::time_window::{self, DaysError, RangeError};
use crate::model::prom::yaml::{Node, NodeValue, ScalarKind};
use crate::notify::alerts::DEFAULT_RESOLVE_TIMEOUT_MS;

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
    let (root, yaml_warnings) = match model::prom::yaml::parse(file, text) {
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

// ----- field names, as Alertmanager 0.25 reads them -------------------------------------------

const TOP_FIELDS: &[&str] = &[
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "mute_time_intervals",
    "time_intervals",
];
const GLOBAL_FIELDS: &[&str] = &[
    "resolve_timeout",
    "http_config",
    "smtp_from",
    "smtp_hello",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_password_file",
    "smtp_auth_secret",
    "smtp_auth_identity",
    "smtp_require_tls",
    "slack_api_url",
    "slack_api_url_file",
    "pagerduty_url",
    "opsgenie_api_url",
    "opsgenie_api_key",
    "opsgenie_api_key_file",
    "wechat_api_url",
    "wechat_api_secret",
    "wechat_api_corp_id",
    "victorops_api_url",
    "victorops_api_key",
    "victorops_api_key_file",
    "telegram_api_url",
    "webex_api_url",
];
const ROUTE_FIELDS: &[&str] = &[
    "receiver",
    "group_by",
    "match",
    "match_re",
    "matchers",
    "mute_time_intervals",
    "active_time_intervals",
    "continue",
    "routes",
    "group_wait",
    "group_interval",
    "repeat_interval",
];
const INHIBIT_FIELDS: &[&str] = &[
    "source_match",
    "source_match_re",
    "source_matchers",
    "target_match",
    "target_match_re",
    "target_matchers",
    "equal",
];
const RECEIVER_FIELDS: &[&str] = &[
    "name",
    "discord_configs",
    "email_configs",
    "pagerduty_configs",
    "slack_configs",
    "webhook_configs",
    "opsgenie_configs",
    "wechat_configs",
    "pushover_configs",
    "victorops_configs",
    "sns_configs",
    "telegram_configs",
    "webex_configs",
];
const SLACK_FIELDS: &[&str] = &[
    "send_resolved",
    "http_config",
    "api_url",
    "api_url_file",
    "channel",
    "username",
    "color",
    "title",
    "title_link",
    "pretext",
    "text",
    "fields",
    "short_fields",
    "footer",
    "fallback",
    "callback_id",
    "icon_emoji",
    "icon_url",
    "image_url",
    "thumb_url",
    "link_names",
    "mrkdwn_in",
    "actions",
];
/// Slack message fields the DSL leaves to klaxon's own Block Kit layout.
const SLACK_MESSAGE_FIELDS: &[&str] = &[
    "color",
    "title",
    "title_link",
    "pretext",
    "text",
    "fields",
    "footer",
    "fallback",
    "callback_id",
    "icon_url",
    "image_url",
    "thumb_url",
    "mrkdwn_in",
    "actions",
];
const EMAIL_FIELDS: &[&str] = &[
    "send_resolved",
    "to",
    "from",
    "hello",
    "smarthost",
    "auth_username",
    "auth_password",
    "auth_password_file",
    "auth_secret",
    "auth_identity",
    "headers",
    "html",
    "text",
    "require_tls",
    "tls_config",
];
const WEBHOOK_FIELDS: &[&str] = &["send_resolved", "http_config", "url", "max_alerts"];
const HTTP_FIELDS: &[&str] = &[
    "basic_auth",
    "authorization",
    "oauth2",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "follow_redirects",
    "enable_http2",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
];
const AUTHORIZATION_FIELDS: &[&str] = &["type", "credentials", "credentials_file"];
const BASIC_AUTH_FIELDS: &[&str] = &["username", "password", "password_file", "username_file"];
const TIME_INTERVAL_FIELDS: &[&str] = &["name", "time_intervals"];
const TIME_ENTRY_FIELDS: &[&str] = &[
    "times",
    "weekdays",
    "days_of_month",
    "months",
    "years",
    "location",
];
const TIME_RANGE_FIELDS: &[&str] = &["start_time", "end_time"];

/// Integrations the DSL has no block for, with what to say about them.
const OTHER_INTEGRATIONS: &[(&str, &str)] = &[
    ("discord_configs", "Discord"),
    ("pagerduty_configs", "PagerDuty"),
    ("opsgenie_configs", "Opsgenie"),
    ("wechat_configs", "WeChat"),
    ("pushover_configs", "Pushover"),
    ("victorops_configs", "VictorOps"),
    ("sns_configs", "Amazon SNS"),
    ("telegram_configs", "Telegram"),
    ("webex_configs", "Webex"),
];

/// The default Slack Web API base, which the DSL need not spell out.
const SLACK_API_BASE: &str = "https://slack.com/api";

// ----- reading the YAML tree ------------------------------------------------------------------

/// The fields of one YAML mapping, checked against what Alertmanager reads.
struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn empty() -> Self {
        Fields {
            entries: Vec::new(),
        }
    }

    /// The value of a field, `None` when it is absent or null (Go's zero value).
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, v)| *k == name && !matches!(v.value, NodeValue::Null))
            .map(|(_, _, v)| *v)
    }

    /// The key node of a field that has a value, to point at it.
    fn key(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, v)| *k == name && !matches!(v.value, NodeValue::Null))
            .map(|(_, k, _)| *k)
    }
}

/// A string value with where it was written.
#[derive(Debug, Clone)]
struct Text {
    value: String,
    span: Span,
}

/// A credential: written in the file, or read from a file.
#[derive(Debug, Clone)]
enum Credential {
    Literal(Text),
    File(Text),
}

/// What an `http_config` says, split into what converts and what does not.
#[derive(Debug, Default)]
struct HttpConfig {
    /// `Authorization: <scheme> <credential>` (bearer or custom type).
    authorization: Option<(String, Credential)>,
    /// `basic_auth`.
    basic_auth: Option<BasicAuth>,
    /// Fields with no DSL equivalent: (field, where).
    unconverted: Vec<(String, Span)>,
}

/// `http_config.basic_auth`: Alertmanager sends `Basic base64(user:password)`,
/// either part possibly empty.
#[derive(Debug)]
struct BasicAuth {
    /// `username` (not a secret) or `username_file`.
    user: Option<Credential>,
    /// `password` or `password_file`.
    password: Option<Credential>,
    /// The `basic_auth` key, to point at.
    span: Span,
}

// ----- the converter --------------------------------------------------------------------------

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

    fn fields<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Fields<'n> {
        let entries = match &node.value {
            NodeValue::Null => return Fields::empty(),
            NodeValue::Map(entries) => entries,
            _ => {
                self.error(
                    "am/field-type",
                    node.span,
                    format!("{what} must be a mapping, not {}", node.describe()),
                );
                return Fields::empty();
            }
        };
        let mut out = Fields::empty();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (k, v) in entries {
            let Some(name) = k.as_key() else {
                self.error(
                    "am/field-type",
                    k.span,
                    format!("the keys of {what} must be names"),
                );
                continue;
            };
            if !known.contains(&name) {
                let hint = suggest(name, known.iter().copied())
                    .or_else(|| Some(format!("{what} has: {}", known.join(", "))));
                self.diags.push(
                    Diagnostic::error(
                        "am/unknown-field",
                        k.span,
                        format!("unknown field `{name}` in {what}"),
                    )
                    .with_label("Alertmanager 0.25 refuses this field")
                    .with_hint(hint),
                );
                continue;
            }
            if let Some(first) = seen.get(name) {
                let first = *first;
                let d = Diagnostic::error(
                    "am/duplicate-field",
                    k.span,
                    format!("`{name}` is given twice in {what}"),
                )
                .with_label("given again here")
                .with_related(first, "first given here");
                self.diags.push(d);
                continue;
            }
            seen.insert(name, k.span);
            out.entries.push((name, k, v));
        }
        out
    }

    /// A scalar as text (numbers and booleans as written, as Go's YAML
    /// decoder hands them to a string field).
    fn text(&mut self, node: &Node, what: &str) -> Option<Text> {
        match &node.value {
            NodeValue::Scalar(s) => Some(Text {
                value: s.text.clone(),
                span: node.span,
            }),
            NodeValue::Null => Some(Text {
                value: String::new(),
                span: node.span,
            }),
            _ => {
                self.error(
                    "am/field-type",
                    node.span,
                    format!("{what} must be a string, not {}", node.describe()),
                );
                None
            }
        }
    }

    fn field_text(&mut self, f: &Fields, name: &str, what: &str) -> Option<Text> {
        let node = f.get(name)?;
        self.text(node, &format!("`{name}` of {what}"))
            .filter(|t| !t.value.is_empty())
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        let word = match &node.value {
            NodeValue::Scalar(s) if matches!(s.kind, ScalarKind::Bool | ScalarKind::Str) => {
                s.text.as_str()
            }
            _ => "",
        };
        // YAML 1.1, as Alertmanager's yaml.v2 reads it.
        match word {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
            | "N" => Some(false),
            _ => {
                self.error(
                    "am/field-type",
                    node.span,
                    format!("{what} must be true or false, not {}", node.describe()),
                );
                None
            }
        }
    }

    /// A credential given as `name` or read from `file_name`, not both
    /// (`conflict` is Alertmanager's message when both are given).
    fn credential(
        &mut self,
        f: &Fields,
        (name, file_name): (&str, &str),
        what: &str,
        conflict: &str,
    ) -> Option<Credential> {
        match (
            self.field_text(f, name, what),
            self.field_text(f, file_name, what),
        ) {
            (Some(t), Some(_)) => {
                self.error("am/invalid-value", t.span, conflict);
                None
            }
            (Some(t), None) => Some(Credential::Literal(t)),
            (None, Some(file)) => Some(Credential::File(file)),
            (None, None) => None,
        }
    }

    fn field_bool(&mut self, f: &Fields, name: &str, what: &str) -> Option<bool> {
        let node = f.get(name)?;
        self.bool(node, &format!("`{name}` of {what}"))
    }

    /// A list of strings.
    fn list(&mut self, node: &Node, what: &str) -> Vec<Text> {
        match &node.value {
            NodeValue::Null => Vec::new(),
            NodeValue::Seq(items) => items.iter().filter_map(|i| self.text(i, what)).collect(),
            _ => {
                self.error(
                    "am/field-type",
                    node.span,
                    format!("{what} must be a list, not {}", node.describe()),
                );
                Vec::new()
            }
        }
    }

    /// A mapping of strings to strings, in order.
    fn string_map(&mut self, node: &Node, what: &str) -> Vec<(Text, Text)> {
        match &node.value {
            NodeValue::Null => Vec::new(),
            NodeValue::Map(entries) => {
                let mut out = Vec::new();
                let mut seen = HashSet::new();
                for (k, v) in entries {
                    let (Some(key), Some(value)) = (self.text(k, what), self.text(v, what)) else {
                        continue;
                    };
                    if !seen.insert(key.value.clone()) {
                        self.error(
                            "am/duplicate-field",
                            k.span,
                            format!("`{}` is given twice in {what}", key.value),
                        );
                        continue;
                    }
                    out.push((key, value));
                }
                out
            }
            _ => {
                self.error(
                    "am/field-type",
                    node.span,
                    format!("{what} must be a mapping, not {}", node.describe()),
                );
                Vec::new()
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => &[],
            _ => {
                self.error(
                    "am/field-type",
                    node.span,
                    format!("{what} must be a list, not {}", node.describe()),
                );
                &[]
            }
        }
    }

    /// An environment variable for a literal secret: one per place in the
    /// input, named after what it holds and unique in the output.
    fn env_for(&mut self, span: Span, base: &str) -> String {
        if let Some(name) = self.env_names.get(&(span.start, span.end)) {
            return name.clone();
        }
        let mut stem = String::new();
        for c in base.chars() {
            if c.is_ascii_alphanumeric() {
                stem.push(c.to_ascii_uppercase());
            } else if !stem.ends_with('_') {
                stem.push('_');
            }
        }
        let stem = stem.trim_matches('_').to_string();
        let mut name = stem.clone();
        let mut n = 2;
        while self.used_env.contains(&name) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        self.used_env.insert(name.clone());
        self.env_names.insert((span.start, span.end), name.clone());
        self.stats.secrets_to_env += 1;
        name
    }

    /// A secret setting value: `file(..)` for a file, `env(..)` for a
    /// literal (with a warning and a comment saying what to set).
    fn secret(
        &mut self,
        cred: &Credential,
        env_base: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Value {
        match cred {
            Credential::File(path) => Value::File(path.value.clone()),
            Credential::Literal(t) => {
                let name = self.env_for(t.span, env_base);
                // A global secret is used by many integrations: say it once.
                if self.warned.insert((t.span.start, "comment/literal-secret")) {
                    comments.push(format!(
                        " klaxon import: set {name} to the {what} written at {}",
                        self.at(t.span)
                    ));
                }
                if self.warned.insert((t.span.start, "am/literal-secret")) {
                    self.diags.push(
                        Diagnostic::warning(
                            "am/literal-secret",
                            t.span,
                            format!(
                                "the {what} is written in the file; the converted rules read it from the environment variable {name}"
                            ),
                        )
                        .with_label("literal secret")
                        .with_hint(format!(
                            "set {name} to this value where klaxon runs, or put it in a file and write file(\"/path\")"
                        )),
                    );
                }
                Value::Env(name)
            }
        }
    }

    // ----- top level ---------------------------------------------------------------------------

    fn config(&mut self, root: &Node, shown_path: &str) -> ast::File {
        let top = self.fields(root, "the configuration", TOP_FIELDS);
        let mut header = vec![format!(
            " imported from {shown_path} by `klaxon import alertmanager`"
        )];
        let global = top
            .get("global")
            .map(|g| self.fields(g, "`global`", GLOBAL_FIELDS))
            .unwrap_or_else(Fields::empty);
        self.global_notes(&global, &mut header);
        if let Some(t) = top.get("templates") {
            let templates = self.list(t, "`templates`");
            for tpl in templates {
                self.not_converted(
                    &mut header,
                    tpl.span,
                    &format!("template file `{}`", tpl.value),
                    "klaxon formats messages itself",
                );
            }
        }

        let mut items = Vec::new();
        // Time intervals first: routes refer to the windows they become.
        let mut windows = Vec::new();
        let mut interval_names: HashMap<String, Span> = HashMap::new();
        // In the order written, whichever of the two lists comes first.
        let mut lists: Vec<(&str, &Node)> = ["mute_time_intervals", "time_intervals"]
            .into_iter()
            .filter_map(|key| top.get(key).map(|list| (key, list)))
            .collect();
        lists.sort_by_key(|(_, list)| list.span.start);
        for (key, list) in lists {
            for entry in self.seq(list, &format!("`{key}`")) {
                windows.extend(self.time_interval(entry, key, &mut interval_names));
            }
        }
        self.name_windows(&mut windows);

        let receiver_nodes: &[Node] = match top.get("receivers") {
            Some(r) => self.seq(r, "`receivers`"),
            None => &[],
        };
        let mut receiver_spans: HashMap<String, Span> = HashMap::new();
        let mut receivers = Vec::new();
        for r in receiver_nodes {
            if let Some(rx) = self.receiver(r, &global, &mut receiver_spans) {
                receivers.push(rx);
            }
        }
        if self.stats.integrations == 0 {
            header.push(
                " klaxon import: no receiver has an integration klaxon can send with: this configuration delivers no notification at all"
                    .to_string(),
            );
            self.delivers_nothing = Some(
                top.key("receivers")
                    .map_or_else(|| root.first_key_span(), |k| k.span),
            );
        }
        self.receivers = receiver_spans.keys().cloned().collect();
        self.receivers.sort();

        let route = match top.get("route") {
            Some(r) => Some(self.route(r, true)),
            None => {
                self.error(
                    "am/missing-field",
                    root.first_key_span(),
                    "the configuration has no `route`: Alertmanager refuses it",
                )
                .hint = Some("add `route: { receiver: NAME }`".to_string());
                None
            }
        };
        let mut inhibits = Vec::new();
        if let Some(list) = top.get("inhibit_rules") {
            for rule in self.seq(list, "`inhibit_rules`") {
                inhibits.push(self.inhibit(rule));
            }
        }

        self.stats.receivers = receivers.len();
        self.stats.inhibits = inhibits.len();
        self.stats.time_windows = windows.len();
        items.extend(receivers.into_iter().map(ast::Item::Receiver));
        items.extend(windows.into_iter().map(|w| ast::Item::TimeWindow(w.block)));
        items.extend(route.map(ast::Item::Route));
        items.extend(inhibits.into_iter().map(ast::Item::Inhibit));
        if let Some(first) = items.first_mut() {
            let comments = match first {
                ast::Item::Receiver(r) => &mut r.comments,
                ast::Item::TimeWindow(w) => &mut w.comments,
                ast::Item::Route(r) => &mut r.comments,
                ast::Item::Inhibit(i) => &mut i.comments,
                ast::Item::Group(g) => &mut g.comments,
                ast::Item::Datasource(d) => &mut d.comments,
                ast::Item::Include(i) => &mut i.comments,
            };
            header.append(comments);
            *comments = header;
            ast::File {
                items,
                trailing_comments: Vec::new(),
            }
        } else {
            ast::File {
                items,
                trailing_comments: header,
            }
        }
    }

    /// Global settings that apply to nothing the DSL has, noted once.
    fn global_notes(&mut self, global: &Fields, header: &mut Vec<String>) {
        if let (Some(key), Some(node)) =
            (global.key("resolve_timeout"), global.get("resolve_timeout"))
            && let Some(text) = self.text(node, "`resolve_timeout`")
        {
            match model::parse_duration(&text.value) {
                Err(e) => {
                    self.error("am/invalid-value", node.span, e);
                }
                // klaxon's default already: nothing to say.
                Ok(d) if i64::try_from(d.0).ok() == Some(DEFAULT_RESOLVE_TIMEOUT_MS) => {}
                Ok(d) if d.0 == 0 => self.not_converted(
                    header,
                    key.span,
                    "global.resolve_timeout 0s",
                    "`klaxon serve --notify.resolve-timeout` must be more than 0",
                ),
                Ok(d) => self.serve_flag(
                    header,
                    key.span,
                    &format!("global.resolve_timeout {}", text.value),
                    &format!("--notify.resolve-timeout {d}"),
                ),
            }
        }
        for (field, what) in [
            ("pagerduty_url", "PagerDuty"),
            ("opsgenie_api_url", "Opsgenie"),
            ("opsgenie_api_key", "Opsgenie"),
            ("opsgenie_api_key_file", "Opsgenie"),
            ("wechat_api_url", "WeChat"),
            ("wechat_api_secret", "WeChat"),
            ("wechat_api_corp_id", "WeChat"),
            ("victorops_api_url", "VictorOps"),
            ("victorops_api_key", "VictorOps"),
            ("victorops_api_key_file", "VictorOps"),
            ("telegram_api_url", "Telegram"),
            ("webex_api_url", "Webex"),
        ] {
            if let Some(key) = global.key(field) {
                self.not_converted(
                    header,
                    key.span,
                    &format!("global.{field}"),
                    &format!("klaxon has no {what} integration"),
                );
            }
        }
    }

    // ----- receivers ---------------------------------------------------------------------------

    fn receiver(
        &mut self,
        node: &Node,
        global: &Fields,
        seen: &mut HashMap<String, Span>,
    ) -> Option<ast::Receiver> {
        let f = self.fields(node, "a receiver", RECEIVER_FIELDS);
        let Some(name) = self.field_text(&f, "name", "a receiver") else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                "a receiver needs a `name`: Alertmanager refuses it",
            );
            return None;
        };
        if let Some(first) = seen.get(&name.value) {
            let d = Diagnostic::error(
                "am/duplicate-name",
                name.span,
                format!("receiver `{}` is defined twice", name.value),
            )
            .with_related(*first, "first defined here");
            self.diags.push(d);
            return None;
        }
        seen.insert(name.value.clone(), name.span);
        let mut comments = Vec::new();
        let mut integrations = Vec::new();
        let what = format!("receiver `{}`", name.value);
        let http_global = global.get("http_config");

        if let Some(list) = f.get("slack_configs") {
            let items = self.seq(list, &format!("`slack_configs` of {what}"));
            for (i, c) in items.iter().enumerate() {
                let index = if items.len() > 1 {
                    format!("_{}", i + 1)
                } else {
                    String::new()
                };
                let label = format!("{what} slack_configs[{i}]");
                if let Some(int) = self.slack(
                    c,
                    global,
                    http_global,
                    &name.value,
                    &index,
                    &label,
                    &mut comments,
                ) {
                    integrations.push(int);
                }
            }
        }
        if let Some(list) = f.get("email_configs") {
            let items = self.seq(list, &format!("`email_configs` of {what}"));
            for (i, c) in items.iter().enumerate() {
                let index = if items.len() > 1 {
                    format!("_{}", i + 1)
                } else {
                    String::new()
                };
                let label = format!("{what} email_configs[{i}]");
                if let Some(int) = self.email(c, global, &name.value, &index, &label, &mut comments)
                {
                    integrations.push(int);
                }
            }
        }
        if let Some(list) = f.get("webhook_configs") {
            let items = self.seq(list, &format!("`webhook_configs` of {what}"));
            for (i, c) in items.iter().enumerate() {
                let index = if items.len() > 1 {
                    format!("_{}", i + 1)
                } else {
                    String::new()
                };
                let label = format!("{what} webhook_configs[{i}]");
                if let Some(int) =
                    self.webhook(c, http_global, &name.value, &index, &label, &mut comments)
                {
                    integrations.push(int);
                }
            }
        }
        for (field, service) in OTHER_INTEGRATIONS {
            if let (Some(key), Some(list)) = (f.key(field), f.get(field)) {
                let n = self.seq(list, &format!("`{field}` of {what}")).len();
                self.not_converted(
                    &mut comments,
                    key.span,
                    &format!("{field} of {what}, {n} entr{}", if n == 1 { "y" } else { "ies" }),
                    &format!("klaxon has no {service} integration (a webhook to a bridge service can stand in)"),
                );
            }
        }
        if integrations.is_empty() && !comments.is_empty() {
            comments.push(
                " klaxon import: no integration left: alerts routed here are not sent anywhere"
                    .to_string(),
            );
        }
        self.stats.integrations += integrations.len();
        Some(ast::Receiver {
            comments,
            name: unspanned(name.value),
            integrations,
            span: Span::default(),
        })
    }

    /// Reads an `http_config`.
    fn http_config(&mut self, node: &Node, what: &str) -> HttpConfig {
        let f = self.fields(node, &format!("`http_config` of {what}"), HTTP_FIELDS);
        let mut out = HttpConfig::default();
        let ctx = format!("`http_config` of {what}");
        let bearer = self.credential(
            &f,
            ("bearer_token", "bearer_token_file"),
            &ctx,
            "at most one of bearer_token & bearer_token_file must be configured",
        );
        // Alertmanager's (prometheus/common's) rules: one way to authenticate.
        let basic_or_oauth = f.key("basic_auth").or_else(|| f.key("oauth2"));
        if let Some(key) = f.key("authorization") {
            if bearer.is_some() {
                self.error(
                    "am/invalid-value",
                    key.span,
                    "authorization is not compatible with bearer_token & bearer_token_file",
                );
            }
            if basic_or_oauth.is_some() {
                self.error(
                    "am/invalid-value",
                    key.span,
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                );
            }
        } else if let (Some(key), Some(_)) = (basic_or_oauth, &bearer) {
            self.error(
                "am/invalid-value",
                key.span,
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            );
        }
        if let Some(auth) = f.get("authorization") {
            let a = self.fields(
                auth,
                &format!("`authorization` of {ctx}"),
                AUTHORIZATION_FIELDS,
            );
            let scheme = self
                .field_text(&a, "type", "`authorization`")
                .map(|t| (t.value.trim().to_string(), t.span))
                .filter(|(t, _)| !t.is_empty());
            if let Some((_, span)) = scheme
                .as_ref()
                .filter(|(t, _)| t.eq_ignore_ascii_case("basic"))
            {
                self.error(
                    "am/invalid-value",
                    *span,
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                );
            }
            let scheme = scheme.map_or_else(|| "Bearer".to_string(), |(t, _)| t);
            let cred = self.credential(
                &a,
                ("credentials", "credentials_file"),
                "`authorization`",
                "at most one of `credentials` and `credentials_file` may be set",
            );
            if let Some(cred) = cred {
                out.authorization = Some((scheme, cred));
            }
        } else if let Some(cred) = bearer {
            out.authorization = Some(("Bearer".into(), cred));
        }
        if let (Some(key), Some(basic)) = (f.key("basic_auth"), f.get("basic_auth")) {
            let b = self.fields(basic, &format!("`basic_auth` of {ctx}"), BASIC_AUTH_FIELDS);
            let user = self.credential(
                &b,
                ("username", "username_file"),
                "`basic_auth`",
                "at most one of basic_auth username & username_file must be configured",
            );
            let password = self.credential(
                &b,
                ("password", "password_file"),
                "`basic_auth`",
                "at most one of basic_auth password & password_file must be configured",
            );
            out.basic_auth = Some(BasicAuth {
                user,
                password,
                span: key.span,
            });
        }
        for field in ["oauth2", "proxy_url", "no_proxy", "proxy_connect_header"] {
            if let Some(key) = f.key(field) {
                out.unconverted.push((field.to_string(), key.span));
            }
        }
        if let Some(key) = f.key("tls_config") {
            let empty = matches!(&f.get("tls_config").map(|n| &n.value), Some(NodeValue::Map(m)) if m.is_empty());
            if !empty {
                out.unconverted.push(("tls_config".into(), key.span));
            }
        }
        for (field, default) in [
            ("follow_redirects", true),
            ("enable_http2", true),
            ("proxy_from_environment", false),
        ] {
            if let (Some(key), Some(v)) = (f.key(field), f.get(field))
                && self.bool(v, &format!("`{field}` of {ctx}")) != Some(default)
            {
                out.unconverted
                    .push((format!("{field}: {}", !default), key.span));
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn slack(
        &mut self,
        node: &Node,
        global: &Fields,
        http_global: Option<&Node>,
        receiver: &str,
        index: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Option<ast::Integration> {
        let f = self.fields(node, &format!("`{what}`"), SLACK_FIELDS);
        let mut settings = Vec::new();
        let own_url = (
            self.field_text(&f, "api_url", what),
            self.field_text(&f, "api_url_file", what),
        );
        let (url, url_file, from_global) = match own_url {
            (Some(u), Some(_)) => {
                self.error(
                    "am/invalid-value",
                    u.span,
                    "at most one of `api_url` and `api_url_file` may be set",
                );
                return None;
            }
            (None, None) => (
                self.field_text(global, "slack_api_url", "`global`"),
                self.field_text(global, "slack_api_url_file", "`global`"),
                true,
            ),
            (u, file) => (u, file, false),
        };
        if url.is_none() && url_file.is_none() {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `api_url` and `global` has no `slack_api_url`: Alertmanager refuses it"),
            );
            return None;
        }
        if let Some(u) = &url {
            self.check_url(u, "`api_url`");
        }
        let own_http = f.get("http_config");
        let http = match own_http.or(http_global) {
            Some(h) => self.http_config(h, what),
            None => HttpConfig::default(),
        };
        let post_message_base = url.as_ref().and_then(|u| {
            u.value
                .trim_end_matches('/')
                .strip_suffix("/chat.postMessage")
                .map(str::to_string)
        });
        let mut http_used = false;
        match (post_message_base, &http.authorization) {
            (Some(base), Some((scheme, cred))) if scheme.eq_ignore_ascii_case("bearer") => {
                // Bot token mode: chat.postMessage with `Authorization: Bearer xoxb-..`.
                http_used = true;
                let env = if own_http.is_some() {
                    format!("SLACK_TOKEN_{receiver}{index}")
                } else {
                    "SLACK_TOKEN".to_string()
                };
                let token = self.secret(cred, &env, "Slack bot token", comments);
                settings.push(setting("token", vec![token]));
                if base != SLACK_API_BASE {
                    settings.push(setting("api_url", vec![Value::Str(base)]));
                }
            }
            (Some(_), _) => {
                let span = url.as_ref().map_or(node.span, |u| u.span);
                self.not_converted(
                    comments,
                    span,
                    &format!("{what} (chat.postMessage without a bearer credential)"),
                    "klaxon posts to chat.postMessage with a bot token from `http_config.authorization`",
                );
                return None;
            }
            (None, _) => {
                let env = if from_global {
                    "SLACK_WEBHOOK_URL".to_string()
                } else {
                    format!("SLACK_WEBHOOK_URL_{receiver}{index}")
                };
                let cred = match (url, url_file) {
                    (Some(u), _) => Credential::Literal(u),
                    (None, Some(file)) => Credential::File(file),
                    (None, None) => return None,
                };
                let value = self.secret(&cred, &env, "Slack webhook URL", comments);
                settings.push(setting("webhook_url", vec![value]));
            }
        }
        if !http_used
            && let Some((_, Credential::Literal(t) | Credential::File(t))) = &http.authorization
        {
            self.not_converted(
                comments,
                t.span,
                &format!("`http_config` authorization of {what}"),
                "incoming webhooks take no credential; the URL is the secret",
            );
        }
        if let Some(basic) = &http.basic_auth {
            self.not_converted(
                comments,
                basic.span,
                &format!("`http_config.basic_auth` of {what}"),
                "Slack takes no basic authentication",
            );
        }
        for (field, span) in &http.unconverted {
            self.not_converted(
                comments,
                *span,
                &format!("`http_config.{field}` of {what}"),
                "klaxon's HTTP client has no such setting",
            );
        }
        let templated = |t: &Text| t.value.contains("{{");
        let channel = self.field_text(&f, "channel", what);
        match &channel {
            Some(c) if templated(c) => {
                self.not_converted(
                    comments,
                    c.span,
                    &format!("`channel` of {what}"),
                    "a templated channel; klaxon posts to one channel per integration",
                );
                if settings.iter().any(|s| s.key.node == "token") {
                    comments.push(format!(
                        " klaxon import: {what} skipped: a bot token needs a fixed channel"
                    ));
                    return None;
                }
            }
            Some(c) => settings.push(setting("channel", vec![Value::Str(c.value.clone())])),
            None if settings.iter().any(|s| s.key.node == "token") => {
                self.not_converted(
                    comments,
                    node.first_key_span(),
                    &format!("{what} without `channel`"),
                    "a bot token posts to a channel named in the integration",
                );
                return None;
            }
            None => {}
        }
        for field in ["username", "icon_emoji"] {
            if let Some(t) = self.field_text(&f, field, what) {
                if templated(&t) {
                    self.not_converted(
                        comments,
                        t.span,
                        &format!("`{field}` of {what}"),
                        "a template; klaxon's value is fixed text",
                    );
                } else {
                    settings.push(setting(field, vec![Value::Str(t.value)]));
                }
            }
        }
        for field in SLACK_MESSAGE_FIELDS {
            if let Some(key) = f.key(field) {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}` of {what}"),
                    "klaxon lays out Slack messages itself (title, severity colour, labels, summary, runbook and silence links)",
                );
            }
        }
        for field in ["short_fields", "link_names"] {
            if let (Some(key), Some(true)) = (f.key(field), self.field_bool(&f, field, what)) {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}: true` of {what}"),
                    "klaxon lays out Slack messages itself",
                );
            }
        }
        // Alertmanager's Slack default is not to send resolved alerts; klaxon's is to.
        let send_resolved = self.field_bool(&f, "send_resolved", what).unwrap_or(false);
        if !send_resolved {
            settings.insert(
                0,
                setting("send_resolved", vec![Value::Word("false".into())]),
            );
        }
        Some(integration("slack", settings))
    }

    fn email(
        &mut self,
        node: &Node,
        global: &Fields,
        receiver: &str,
        index: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Option<ast::Integration> {
        let f = self.fields(node, &format!("`{what}`"), EMAIL_FIELDS);
        let mut settings = Vec::new();
        let Some(to) = self.field_text(&f, "to", what) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `to` address: Alertmanager refuses it"),
            );
            return None;
        };
        let from = self
            .field_text(&f, "from", what)
            .or_else(|| self.field_text(global, "smtp_from", "`global`"));
        let smarthost = self
            .field_text(&f, "smarthost", what)
            .or_else(|| self.field_text(global, "smtp_smarthost", "`global`"));
        let (Some(from), Some(smarthost)) = (from, smarthost) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `from` or `smarthost`, and `global` has no smtp_from / smtp_smarthost: Alertmanager refuses it"),
            );
            return None;
        };
        let Some(implicit_tls) = smarthost_port(&smarthost.value).map(|p| p == "465") else {
            self.error(
                "am/invalid-value",
                smarthost.span,
                format!("`{}` is not a `host:port` address", smarthost.value),
            );
            return None;
        };
        for t in [&to, &from, &smarthost] {
            if t.value.contains("{{") {
                self.not_converted(
                    comments,
                    t.span,
                    &format!("a templated address in {what}"),
                    "klaxon's addresses are fixed text",
                );
                return None;
            }
        }
        let recipients = split_addresses(&to.value);
        settings.push(setting(
            "to",
            recipients.into_iter().map(Value::Str).collect(),
        ));
        settings.push(setting("from", vec![Value::Str(from.value)]));
        settings.push(setting("smarthost", vec![Value::Str(smarthost.value)]));
        let require_tls = match f.get("require_tls") {
            Some(v) => self.bool(v, &format!("`require_tls` of {what}")),
            None => match global.get("smtp_require_tls") {
                Some(v) => self.bool(v, "`smtp_require_tls` of `global`"),
                None => Some(true),
            },
        }
        .unwrap_or(true);
        let tls = if implicit_tls {
            "tls"
        } else if require_tls {
            "starttls"
        } else {
            // Alertmanager (0.25 to 0.28) upgrades with STARTTLS only when
            // `require_tls` is true; otherwise it stays in plain text, as
            // `tls none` does. Same meaning, so no warning.
            "none"
        };
        settings.push(setting("tls", vec![Value::Word(tls.into())]));
        if let Some(user) = self
            .field_text(&f, "auth_username", what)
            .or_else(|| self.field_text(global, "smtp_auth_username", "`global`"))
        {
            settings.push(setting("auth_username", vec![Value::Str(user.value)]));
        }
        let own = (
            self.field_text(&f, "auth_password", what),
            self.field_text(&f, "auth_password_file", what),
        );
        let (password, from_global) = match own {
            (Some(p), Some(_)) => {
                self.error(
                    "am/invalid-value",
                    p.span,
                    "at most one of `auth_password` and `auth_password_file` may be set",
                );
                return None;
            }
            (Some(p), None) => (Some(Credential::Literal(p)), false),
            (None, Some(file)) => (Some(Credential::File(file)), false),
            (None, None) => (
                match (
                    self.field_text(global, "smtp_auth_password", "`global`"),
                    self.field_text(global, "smtp_auth_password_file", "`global`"),
                ) {
                    (Some(p), _) => Some(Credential::Literal(p)),
                    (None, Some(file)) => Some(Credential::File(file)),
                    (None, None) => None,
                },
                true,
            ),
        };
        if let Some(cred) = password {
            let env = if from_global {
                "SMTP_AUTH_PASSWORD".to_string()
            } else {
                format!("SMTP_AUTH_PASSWORD_{receiver}{index}")
            };
            let value = self.secret(&cred, &env, "SMTP password", comments);
            settings.push(setting("auth_password", vec![value]));
        }
        if let Some(hello) = self
            .field_text(&f, "hello", what)
            .or_else(|| self.field_text(global, "smtp_hello", "`global`"))
        {
            settings.push(setting("hello", vec![Value::Str(hello.value)]));
        }
        for (field, global_field) in [
            ("auth_secret", "smtp_auth_secret"),
            ("auth_identity", "smtp_auth_identity"),
        ] {
            let key = f.key(field).or_else(|| global.key(global_field));
            if let Some(key) = key {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}` of {what}"),
                    "klaxon authenticates with username and password (PLAIN/LOGIN) only",
                );
            }
        }
        if let Some(h) = f.get("headers") {
            let headers = self.string_map(h, &format!("`headers` of {what}"));
            let mut pairs = Vec::new();
            for (k, v) in headers {
                if v.value.contains("{{") {
                    self.not_converted(
                        comments,
                        k.span,
                        &format!("header `{}` of {what}", k.value),
                        "a template; klaxon writes its own subject and header values are fixed text",
                    );
                } else if model::secrets::is_credential_header(&k.value, &v.value) {
                    let value = self.secret(
                        &Credential::Literal(v),
                        &format!("SMTP_HEADER_{}_{receiver}{index}", k.value),
                        &format!("mail header `{}`", k.value),
                        comments,
                    );
                    pairs.push((k.value, value));
                } else {
                    pairs.push((k.value, Value::Str(v.value)));
                }
            }
            if !pairs.is_empty() {
                settings.push(map_setting("headers", pairs));
            }
        }
        for field in ["html", "text"] {
            if let Some(key) = f.key(field) {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}` of {what}"),
                    "klaxon writes its own text and HTML bodies",
                );
            }
        }
        if let Some(key) = f.key("tls_config") {
            let empty = matches!(&f.get("tls_config").map(|n| &n.value), Some(NodeValue::Map(m)) if m.is_empty());
            if !empty {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`tls_config` of {what}"),
                    "klaxon verifies the SMTP server against the system's CA roots",
                );
            }
        }
        // Alertmanager's email default is not to send resolved alerts; klaxon's is to.
        if !self.field_bool(&f, "send_resolved", what).unwrap_or(false) {
            settings.insert(
                0,
                setting("send_resolved", vec![Value::Word("false".into())]),
            );
        }
        Some(integration("email", settings))
    }

    #[allow(clippy::too_many_arguments)]
    fn webhook(
        &mut self,
        node: &Node,
        http_global: Option<&Node>,
        receiver: &str,
        index: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Option<ast::Integration> {
        let f = self.fields(node, &format!("`{what}`"), WEBHOOK_FIELDS);
        let mut settings = Vec::new();
        let Some(url) = self.field_text(&f, "url", what) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `url`: Alertmanager refuses it"),
            );
            return None;
        };
        self.check_url(&url, "`url`");
        // A URL with credentials in it would be served by /api/v2/status.
        let url = if model::secrets::url_credentials(&url.value).is_some() {
            self.secret(
                &Credential::Literal(url),
                &format!("WEBHOOK_URL_{receiver}{index}"),
                "webhook URL, credentials included,",
                comments,
            )
        } else {
            Value::Str(url.value)
        };
        settings.push(setting("url", vec![url]));
        if let Some(v) = f.get("max_alerts") {
            match self.text(v, "`max_alerts`").map(|t| t.value.parse::<u64>()) {
                Some(Ok(0)) | None => {}
                Some(Ok(n)) => {
                    settings.push(setting("max_alerts", vec![Value::Word(n.to_string())]))
                }
                Some(Err(_)) => {
                    self.error(
                        "am/invalid-value",
                        v.span,
                        "`max_alerts` must be a whole number",
                    );
                }
            }
        }
        let own_http = f.get("http_config");
        let http = match own_http.or(http_global) {
            Some(h) => self.http_config(h, what),
            None => HttpConfig::default(),
        };
        // A global http_config's secret is one variable for every webhook.
        let env_suffix = if own_http.is_some() {
            format!("_{receiver}{index}")
        } else {
            String::new()
        };
        if let Some(basic) = &http.basic_auth {
            let user = match &basic.user {
                Some(Credential::Literal(u)) => Value::Str(u.value.clone()),
                Some(Credential::File(path)) => Value::File(path.value.clone()),
                None => Value::Str(String::new()),
            };
            settings.push(setting("basic_auth_user", vec![user]));
            if let Some(password) = &basic.password {
                let value = self.secret(
                    password,
                    &format!("WEBHOOK_PASSWORD{env_suffix}"),
                    "webhook basic-auth password",
                    comments,
                );
                settings.push(setting("basic_auth_password", vec![value]));
            }
        }
        match &http.authorization {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("bearer") => {
                let value = self.secret(
                    cred,
                    &format!("WEBHOOK_TOKEN{env_suffix}"),
                    "webhook bearer token",
                    comments,
                );
                settings.push(setting("bearer_token", vec![value]));
            }
            Some((scheme, cred)) => {
                let value = self.scheme_secret(
                    cred,
                    scheme,
                    &format!("WEBHOOK_AUTHORIZATION{env_suffix}"),
                    comments,
                );
                settings.push(map_setting(
                    "headers",
                    vec![("Authorization".to_string(), value)],
                ));
            }
            None => {}
        }
        for (field, span) in &http.unconverted {
            self.not_converted(
                comments,
                *span,
                &format!("`http_config.{field}` of {what}"),
                "klaxon's HTTP client has no such setting",
            );
        }
        // Alertmanager's webhook default is to send resolved alerts, as klaxon's.
        if self.field_bool(&f, "send_resolved", what) == Some(false) {
            settings.insert(
                0,
                setting("send_resolved", vec![Value::Word("false".into())]),
            );
        }
        Some(integration("webhook", settings))
    }

    /// An `Authorization` scheme the DSL has no setting for (`type: Token`):
    /// klaxon sends a header value whole, so scheme and credential come from
    /// one environment variable, whether Alertmanager read the credential
    /// from the file or from a file.
    fn scheme_secret(
        &mut self,
        cred: &Credential,
        scheme: &str,
        env_base: &str,
        comments: &mut Vec<String>,
    ) -> Value {
        let (Credential::Literal(t) | Credential::File(t)) = cred;
        let name = self.env_for(t.span, env_base);
        let source = match cred {
            Credential::Literal(_) => format!("the credential written at {}", self.at(t.span)),
            Credential::File(path) => format!("the content of {}", path.value),
        };
        if self.warned.insert((t.span.start, "comment/literal-secret")) {
            comments.push(format!(
                " klaxon import: set {name} to `{scheme} ` followed by {source}"
            ));
        }
        if self.warned.insert((t.span.start, "am/secret-to-env")) {
            self.diags.push(
                Diagnostic::warning(
                    "am/secret-to-env",
                    t.span,
                    format!(
                        "klaxon has no setting for the `{scheme}` authorization type; the converted rules send the whole `Authorization` header from the environment variable {name}"
                    ),
                )
                .with_label("sent from the environment")
                .with_hint(format!("set {name} to `{scheme} ` followed by {source}")),
            );
        }
        Value::Env(name)
    }

    fn check_url(&mut self, url: &Text, what: &str) {
        let rest = url
            .value
            .strip_prefix("https://")
            .or_else(|| url.value.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') => {}
            _ => {
                self.error(
                    "am/invalid-value",
                    url.span,
                    format!("{what} must be an http:// or https:// URL with a host"),
                );
            }
        }
    }

    // ----- routes ------------------------------------------------------------------------------

    fn route(&mut self, node: &Node, is_root: bool) -> ast::Route {
        self.stats.routes += 1;
        let what = if is_root { "the root route" } else { "a route" };
        let f = self.fields(node, what, ROUTE_FIELDS);
        let mut route = ast::Route::default();
        if let Some(r) = self.field_text(&f, "receiver", what) {
            if !self.receivers.contains(&r.value) {
                let hint = suggest(&r.value, self.receivers.iter().map(String::as_str))
                    .or_else(|| Some(format!("receivers: {}", self.receivers.join(", "))));
                self.error(
                    "am/unknown-receiver",
                    r.span,
                    format!("undefined receiver `{}` used in route", r.value),
                )
                .hint = hint;
            }
            route.receiver = Some(unspanned(r.value));
        } else if is_root {
            self.error(
                "am/root-route",
                node.first_key_span(),
                "the root route must name a default `receiver`",
            );
        }
        if let Some(g) = f.get("group_by") {
            let labels = self.list(g, "`group_by`");
            let mut seen = HashSet::new();
            let all = labels.iter().any(|l| l.value == "...");
            for l in &labels {
                if l.value == "..." {
                    continue;
                }
                if !model::is_valid_label_name(&l.value) {
                    self.error(
                        "am/invalid-value",
                        l.span,
                        format!("invalid label name `{}` in group_by", l.value),
                    );
                } else if !seen.insert(l.value.clone()) {
                    self.error(
                        "am/invalid-value",
                        l.span,
                        format!("label `{}` is in group_by twice", l.value),
                    );
                }
                if all {
                    self.error(
                        "am/invalid-value",
                        l.span,
                        "group_by `...` (every label) cannot be mixed with label names",
                    );
                }
            }
            // `group_by: []` is no grouping change at all in Alertmanager:
            // the route keeps its parent's.
            if all {
                route.group_by = Some(unspanned(vec![unspanned("...".to_string())]));
            } else if !labels.is_empty() {
                route.group_by = Some(unspanned(
                    labels.into_iter().map(|l| unspanned(l.value)).collect(),
                ));
            }
        }
        route.group_wait = self.duration(&f, "group_wait", false);
        route.group_interval = self.duration(&f, "group_interval", true);
        route.repeat_interval = self.duration(&f, "repeat_interval", true);
        if let Some(true) = self.field_bool(&f, "continue", what) {
            if is_root && let Some(k) = f.key("continue") {
                self.error("am/root-route", k.span, "the root route cannot `continue`");
            }
            route.continue_ = Some(Span::default());
        }
        route.matchers = self.matchers(&f, "", what);
        if is_root && !route.matchers.is_empty() {
            let span = ["match", "match_re", "matchers"]
                .iter()
                .find_map(|k| f.key(k))
                .map_or(node.span, |k| k.span);
            self.error(
                "am/root-route",
                span,
                "the root route must not have matchers",
            );
        }
        for (field, out) in [
            ("mute_time_intervals", &mut route.mute_during),
            ("active_time_intervals", &mut route.active_during),
        ] {
            let Some(list) = f.get(field) else { continue };
            if is_root && let Some(k) = f.key(field) {
                self.error(
                    "am/root-route",
                    k.span,
                    format!("the root route must not have `{field}`"),
                );
            }
            for name in self.list(list, &format!("`{field}`")) {
                match self.windows.get(&name.value) {
                    Some(windows) => {
                        for w in windows {
                            if !out.iter().any(|o: &Spanned<String>| &o.node == w) {
                                out.push(unspanned(w.clone()));
                            }
                        }
                    }
                    None => {
                        let known: Vec<&str> = self.windows.keys().map(String::as_str).collect();
                        let hint = suggest(&name.value, known.iter().copied());
                        self.error(
                            "am/unknown-time-interval",
                            name.span,
                            format!("undefined time interval `{}` used in route", name.value),
                        )
                        .hint = hint;
                    }
                }
            }
        }
        if let Some(list) = f.get("routes") {
            for child in self.seq(list, "`routes`") {
                let child = self.route(child, false);
                route.routes.push(child);
            }
        }
        route
    }

    fn duration(
        &mut self,
        f: &Fields,
        field: &str,
        nonzero: bool,
    ) -> Option<Spanned<ast::Duration>> {
        let node = f.get(field)?;
        let text = self.text(node, &format!("`{field}`"))?;
        match model::parse_duration(&text.value) {
            Ok(d) if nonzero && d.0 == 0 => {
                self.error(
                    "am/invalid-value",
                    text.span,
                    format!("`{field}` cannot be zero"),
                );
                None
            }
            Ok(d) => Some(unspanned(ast::Duration {
                millis: d.0,
                text: if text.value == "0" {
                    d.to_string()
                } else {
                    text.value
                },
            })),
            Err(e) => {
                self.error("am/invalid-value", text.span, e);
                None
            }
        }
    }

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
                        let m = AmMatcher {
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
    fn matcher(&mut self, m: AmMatcher, span: Span) -> Option<ast::Matcher> {
        if !model::is_valid_label_name(&m.name) {
            self.error(
                "am/invalid-value",
                span,
                format!("invalid label name `{}` in a matcher", m.name),
            )
            .label = Some("label names are letters, digits and `_`".to_string());
            return None;
        }
        if matches!(m.op, MatchOp::Re | MatchOp::NotRe)
            && let Err(e) = regex::Regex::new(&format!("^(?:{})$", m.value))
        {
            {
                let msg = e.to_string();
                let last = msg
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string();
                self.error(
                    "am/invalid-regex",
                    span,
                    format!("invalid regular expression `{}`: {last}", m.value),
                );
                return None;
            }
        }
        Some(ast::Matcher {
            name: unspanned(m.name),
            op: m.op,
            value: unspanned(m.value),
            span: Span::default(),
        })
    }

    // ----- inhibit rules ----------------------------------------------------------------------

    fn inhibit(&mut self, node: &Node) -> ast::Inhibit {
        let f = self.fields(node, "an inhibit rule", INHIBIT_FIELDS);
        let mut comments = Vec::new();
        let mut source = self.matchers(&f, "source_", "an inhibit rule");
        let mut target = self.matchers(&f, "target_", "an inhibit rule");
        for (side, list) in [("source", &mut source), ("target", &mut target)] {
            if list.is_empty() {
                comments.push(format!(
                    " klaxon import: no {side} matchers in Alertmanager: every alert is a {side}"
                ));
                list.push(ast::Matcher {
                    name: unspanned("alertname".to_string()),
                    op: MatchOp::Re,
                    value: unspanned(".*".to_string()),
                    span: Span::default(),
                });
            }
        }
        let mut equal = Vec::new();
        if let Some(e) = f.get("equal") {
            for l in self.list(e, "`equal`") {
                if model::is_valid_label_name(&l.value) {
                    equal.push(unspanned(l.value));
                } else {
                    self.error(
                        "am/invalid-value",
                        l.span,
                        format!("invalid label name `{}` in equal", l.value),
                    );
                }
            }
        }
        ast::Inhibit {
            comments,
            source,
            target,
            equal,
            span: Span::default(),
        }
    }

    // ----- time intervals ---------------------------------------------------------------------

    /// One named interval: a window per entry, named later.
    fn time_interval(
        &mut self,
        node: &Node,
        list: &str,
        names: &mut HashMap<String, Span>,
    ) -> Vec<PendingWindow> {
        let what = format!("an entry of `{list}`");
        let f = self.fields(node, &what, TIME_INTERVAL_FIELDS);
        let Some(name) = self.field_text(&f, "name", &what) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} needs a `name`"),
            );
            return Vec::new();
        };
        if let Some(first) = names.get(&name.value) {
            let d = Diagnostic::error(
                "am/duplicate-name",
                name.span,
                format!("time interval `{}` is defined twice", name.value),
            )
            .with_related(*first, "first defined here");
            self.diags.push(d);
            return Vec::new();
        }
        names.insert(name.value.clone(), name.span);
        let mut comments = Vec::new();
        if list == "mute_time_intervals" {
            comments.push(format!(
                " from mute_time_intervals `{}` (deprecated in Alertmanager; same meaning)",
                name.value
            ));
        }
        let entries = match f.get("time_intervals") {
            Some(e) => self.seq(e, &format!("`time_intervals` of `{}`", name.value)),
            None => &[],
        };
        let mut out = Vec::new();
        for entry in entries {
            if let Some(settings) = self.time_entry(entry, &name.value, &mut comments) {
                out.push(PendingWindow {
                    am_name: name.value.clone(),
                    block: ast::TimeWindow {
                        comments: Vec::new(),
                        name: unspanned(name.value.clone()),
                        settings,
                        span: Span::default(),
                    },
                });
            }
        }
        if out.is_empty() {
            // No entry: Alertmanager never finds the time inside it.
            comments.push(format!(
                " klaxon import: `{}` has no time ranges in Alertmanager, so it is never active; a year long past stands for that",
                name.value
            ));
            out.push(PendingWindow {
                am_name: name.value.clone(),
                block: ast::TimeWindow {
                    comments: Vec::new(),
                    name: unspanned(name.value.clone()),
                    settings: vec![setting("years", vec![Value::Str("1970".into())])],
                    span: Span::default(),
                },
            });
        }
        if let Some(first) = out.first_mut() {
            first.block.comments = comments;
        }
        out
    }

    /// One entry of a time interval as `time_window` settings; `None` when
    /// Alertmanager would never match it (an explicitly empty list).
    fn time_entry(
        &mut self,
        node: &Node,
        name: &str,
        comments: &mut Vec<String>,
    ) -> Option<Vec<ast::Setting>> {
        let what = format!("a time interval of `{name}`");
        let f = self.fields(node, &what, TIME_ENTRY_FIELDS);
        let mut settings = Vec::new();
        let mut never = false;
        if let Some(times) = f.get("times") {
            let mut values = Vec::new();
            for range in self.seq(times, &format!("`times` of {what}")) {
                let r = self.fields(range, "a time range", TIME_RANGE_FIELDS);
                let start = self.field_text(&r, "start_time", "a time range");
                let end = self.field_text(&r, "end_time", "a time range");
                let (Some(start), Some(end)) = (start, end) else {
                    self.error(
                        "am/invalid-value",
                        range.span,
                        "a time range needs both `start_time` and `end_time`",
                    );
                    continue;
                };
                match (am_minutes(&start.value), am_minutes(&end.value)) {
                    (Some(a), Some(b)) if a < b => {
                        values.push(Value::Str(format!("{}-{}", start.value, end.value)));
                    }
                    (Some(_), Some(_)) => {
                        self.error(
                            "am/invalid-value",
                            start.span,
                            "start time cannot be equal to or after the end time",
                        )
                        .hint = Some(
                            "to cross midnight, write two ranges: until 24:00 and from 00:00"
                                .to_string(),
                        );
                    }
                    (a, _) => {
                        let bad = if a.is_none() { &start } else { &end };
                        self.error(
                            "am/invalid-value",
                            bad.span,
                            format!(
                                "`{}` is not a time like `09:00` (00:00 to 24:00)",
                                bad.value
                            ),
                        );
                    }
                }
            }
            never |= is_empty_list(times);
            if !values.is_empty() {
                settings.push(setting("times", values));
            }
        }
        for (field, check) in [
            ("weekdays", check_weekdays as fn(&str) -> Result<(), String>),
            ("days_of_month", check_days_of_month),
            ("months", check_months),
            ("years", check_years),
        ] {
            let Some(list) = f.get(field) else { continue };
            let values = self.list(list, &format!("`{field}` of {what}"));
            let mut out = Vec::new();
            for v in values {
                match check(&v.value) {
                    Ok(()) => out.push(Value::Str(v.value)),
                    Err(e) => {
                        self.error("am/invalid-value", v.span, format!("`{}`: {e}", v.value));
                    }
                }
            }
            never |= is_empty_list(list);
            if !out.is_empty() {
                settings.push(setting(field, out));
            }
        }
        if let Some(loc) = self.field_text(&f, "location", &what) {
            let ok = matches!(loc.value.as_str(), "UTC" | "Local")
                || jiff::tz::TimeZone::get(&loc.value).is_ok();
            if ok {
                settings.push(setting("location", vec![Value::Str(loc.value)]));
            } else {
                self.error(
                    "am/invalid-value",
                    loc.span,
                    format!("unknown time zone `{}`", loc.value),
                )
                .hint = Some("use an IANA name such as `Europe/Berlin`, or `UTC`".to_string());
            }
        }
        if never {
            self.stats.not_converted += 1;
            comments.push(format!(
                " klaxon import: an entry of `{name}` ({}) has an empty list, which Alertmanager never matches; left out",
                self.at(node.span)
            ));
            self.diags.push(
                Diagnostic::warning(
                    "am/never-matches",
                    node.span,
                    format!("this time interval of `{name}` has an empty list, so Alertmanager never matches it"),
                )
                .with_label("never matches")
                .with_hint("leave a field out to match every value".to_string()),
            );
            return None;
        }
        Some(settings)
    }

    /// Gives each pending window its DSL name: the Alertmanager name for the
    /// first entry, `name-2`, `name-3`... for the others (skipping names
    /// taken), and records which windows each Alertmanager name became.
    fn name_windows(&mut self, windows: &mut [PendingWindow]) {
        let mut taken: HashSet<String> = windows.iter().map(|w| w.am_name.clone()).collect();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for w in windows.iter_mut() {
            let n = counts.entry(w.am_name.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 {
                w.am_name.clone()
            } else {
                let mut k = *n;
                let mut candidate = format!("{}-{k}", w.am_name);
                while taken.contains(&candidate) {
                    k += 1;
                    candidate = format!("{}-{k}", w.am_name);
                }
                taken.insert(candidate.clone());
                candidate
            };
            w.block.name = unspanned(name.clone());
            self.windows
                .entry(w.am_name.clone())
                .or_default()
                .push(name);
        }
        for w in windows.iter_mut() {
            if let Some(names) = self.windows.get(&w.am_name).filter(|n| n.len() > 1)
                && w.block.name.node == w.am_name
            {
                {
                    w.block.comments.push(format!(
                        " Alertmanager's `{}` has {} time ranges: time windows {}",
                        w.am_name,
                        names.len(),
                        names.join(", ")
                    ));
                }
            }
        }
    }
}

/// `[]`: in Alertmanager a time field given as an empty list matches nothing.
fn is_empty_list(node: &Node) -> bool {
    matches!(&node.value, NodeValue::Seq(items) if items.is_empty())
}

/// A `time_window` block waiting for its final name.
struct PendingWindow {
    am_name: String,
    block: ast::TimeWindow,
}

fn setting(key: &str, values: Vec<Value>) -> ast::Setting {
    ast::Setting {
        key: unspanned(key.to_string()),
        values: values.into_iter().map(unspanned).collect(),
        map: None,
        span: Span::default(),
    }
}

fn map_setting(key: &str, pairs: Vec<(String, Value)>) -> ast::Setting {
    ast::Setting {
        key: unspanned(key.to_string()),
        values: Vec::new(),
        map: Some(ast::LabelSet {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (unspanned(k), unspanned(v)))
                .collect(),
            span: Span::default(),
        }),
        span: Span::default(),
    }
}

fn integration(kind: &str, settings: Vec<ast::Setting>) -> ast::Integration {
    ast::Integration {
        kind: unspanned(kind.to_string()),
        settings,
        span: Span::default(),
    }
}

/// The port of `host:port` (Go's `net.SplitHostPort`, port required).
fn smarthost_port(hostport: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, rest) = rest.split_once(']')?;
        (host, rest.strip_prefix(':')?)
    } else {
        let (host, port) = hostport.rsplit_once(':')?;
        if host.contains(':') {
            return None;
        }
        (host, port)
    };
    let _ = host;
    (!port.is_empty()).then_some(port)
}

/// Recipients of an email `to`, split at commas outside quotes and angle
/// brackets (`"Ops, EU" <ops@x>, b@x` is two).
fn split_addresses(to: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle) = (false, false);
    for c in to.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out.retain(|a| !a.is_empty());
    out
}

/// Minutes of `HH:MM` as Alertmanager accepts it: two-digit hours 00-23
/// with minutes, or `24:00`.
fn am_minutes(text: &str) -> Option<u16> {
    if text == "24:00" {
        return Some(1440);
    }
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

// Ranges are read by the DSL's own parsers, so what is converted loads;
// the messages speak of days, months and years as Alertmanager's do.
// Alertmanager takes no blank inside a range, where the DSL trims one.

/// `text` when it has no blank (Alertmanager refuses one), for `parse`.
fn no_blank(text: &str) -> Option<&str> {
    (!text.contains(char::is_whitespace)).then_some(text)
}

fn check_weekdays(text: &str) -> Result<(), String> {
    no_blank(text)
        .ok_or(RangeError::NotAValue)
        .and_then(|text| time_window::parse_range(text, time_window::weekday))
        .map(|_| ())
        .map_err(|e| match e {
            RangeError::NotAValue => "not a weekday (sunday..saturday) or a range of them",
            RangeError::Reversed => {
                "the start day is after the end day (a week runs sunday to saturday)"
            }
        })
        .map_err(String::from)
}

fn check_days_of_month(text: &str) -> Result<(), String> {
    no_blank(text)
        .ok_or(DaysError::NotADay)
        .and_then(time_window::parse_days_of_month)
        .map(|_| ())
        .map_err(|e| match e {
            DaysError::NotADay => {
                "not a day of the month (1..31, or -31..-1 from the end) or a range of them"
            }
            DaysError::NegativeStart => "the end day must be negative when the start day is",
            DaysError::Empty => "the end day is always before the start day",
        })
        .map_err(String::from)
}

fn check_months(text: &str) -> Result<(), String> {
    no_blank(text)
        .ok_or(RangeError::NotAValue)
        .and_then(|text| time_window::parse_range(text, time_window::month))
        .map(|_| ())
        .map_err(|e| match e {
            RangeError::NotAValue => "not a month (january..december or 1..12) or a range of them",
            RangeError::Reversed => "the end month is before the start month",
        })
        .map_err(String::from)
}

fn check_years(text: &str) -> Result<(), String> {
    no_blank(text)
        .ok_or(RangeError::NotAValue)
        .and_then(|text| time_window::parse_range(text, time_window::year))
        .map(|_| ())
        .map_err(|e| match e {
            RangeError::NotAValue => "not a year (1970..9999 here) or a range of years",
            RangeError::Reversed => "the end year is before the start year",
        })
        .map_err(String::from)
}

// ----- Alertmanager's matcher syntax ----------------------------------------------------------

// One matcher as Alertmanager parses it: the one matcher type and parser
// (the converter's code names it `AmMatcher`).
use crate::vocab::matcher::{Matcher as AmMatcher, parse_matchers};

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

    #[test]
    fn addresses_split_outside_quotes_and_brackets() {
        assert_eq!(
            split_addresses(r#""Ops, EU" <ops@x.org>, b@x.org ,"#),
            vec![
                r#""Ops, EU" <ops@x.org>"#.to_string(),
                "b@x.org".to_string()
            ]
        );
        assert_eq!(smarthost_port("smtp.example.com:587"), Some("587"));
        assert_eq!(smarthost_port("[::1]:25"), Some("25"));
        assert_eq!(smarthost_port("smtp.example.com"), None);
        assert_eq!(smarthost_port("host:"), None);
    }
}
