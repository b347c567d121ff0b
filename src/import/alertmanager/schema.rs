//! Alertmanager 0.25's configuration schema as the importer checks it: the
//! fields each mapping may have, and the typed reading of YAML nodes
//! (strings, booleans, lists, maps, credentials) with Alertmanager's errors
//! for a field it refuses or a value of the wrong type.

use std::collections::{HashMap, HashSet};

use super::Converter;
use crate::diag::{Diagnostic, Span, suggest};
use crate::model::yaml::{Node, NodeValue, ScalarKind};

/// The fields of each mapping, as Alertmanager 0.25 reads them.
pub(super) const TOP_FIELDS: &[&str] = &[
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "mute_time_intervals",
    "time_intervals",
];
pub(super) const GLOBAL_FIELDS: &[&str] = &[
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
pub(super) const ROUTE_FIELDS: &[&str] = &[
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
pub(super) const INHIBIT_FIELDS: &[&str] = &[
    "source_match",
    "source_match_re",
    "source_matchers",
    "target_match",
    "target_match_re",
    "target_matchers",
    "equal",
];
pub(super) const RECEIVER_FIELDS: &[&str] = &[
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
pub(super) const SLACK_FIELDS: &[&str] = &[
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
pub(super) const SLACK_MESSAGE_FIELDS: &[&str] = &[
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
pub(super) const EMAIL_FIELDS: &[&str] = &[
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
pub(super) const WEBHOOK_FIELDS: &[&str] = &["send_resolved", "http_config", "url", "max_alerts"];
pub(super) const HTTP_FIELDS: &[&str] = &[
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
pub(super) const AUTHORIZATION_FIELDS: &[&str] = &["type", "credentials", "credentials_file"];
pub(super) const BASIC_AUTH_FIELDS: &[&str] =
    &["username", "password", "password_file", "username_file"];
pub(super) const TIME_INTERVAL_FIELDS: &[&str] = &["name", "time_intervals"];
pub(super) const TIME_ENTRY_FIELDS: &[&str] = &[
    "times",
    "weekdays",
    "days_of_month",
    "months",
    "years",
    "location",
];
pub(super) const TIME_RANGE_FIELDS: &[&str] = &["start_time", "end_time"];

/// The fields of one YAML mapping, checked against what Alertmanager reads.
pub(super) struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub(super) fn empty() -> Self {
        Fields {
            entries: Vec::new(),
        }
    }

    /// The value of a field, `None` when it is absent or null (Go's zero value).
    pub(super) fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, v)| *k == name && !matches!(v.value, NodeValue::Null))
            .map(|(_, _, v)| *v)
    }

    /// The key node of a field that has a value, to point at it.
    pub(super) fn key(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, v)| *k == name && !matches!(v.value, NodeValue::Null))
            .map(|(_, k, _)| *k)
    }
}

/// A string value with where it was written.
#[derive(Debug, Clone)]
pub(super) struct Text {
    pub(super) value: String,
    pub(super) span: Span,
}

/// A credential: written in the file, or read from a file.
#[derive(Debug, Clone)]
pub(super) enum Credential {
    Literal(Text),
    File(Text),
}

impl Converter<'_> {
    pub(super) fn fields<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Fields<'n> {
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
    pub(super) fn text(&mut self, node: &Node, what: &str) -> Option<Text> {
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

    pub(super) fn field_text(&mut self, f: &Fields, name: &str, what: &str) -> Option<Text> {
        let node = f.get(name)?;
        self.text(node, &format!("`{name}` of {what}"))
            .filter(|t| !t.value.is_empty())
    }

    pub(super) fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
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
    pub(super) fn credential(
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

    pub(super) fn field_bool(&mut self, f: &Fields, name: &str, what: &str) -> Option<bool> {
        let node = f.get(name)?;
        self.bool(node, &format!("`{name}` of {what}"))
    }

    /// A list of strings.
    pub(super) fn list(&mut self, node: &Node, what: &str) -> Vec<Text> {
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
    pub(super) fn string_map(&mut self, node: &Node, what: &str) -> Vec<(Text, Text)> {
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

    pub(super) fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
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
}
