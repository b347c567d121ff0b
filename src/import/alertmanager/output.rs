//! The DSL file the conversion writes: the top-level walk (time windows
//! first, as routes refer to them, then receivers, the route tree and the
//! inhibit rules), the header comments with what `global` holds that the
//! DSL has no place for, and the syntax-tree constructors the parts share.

use std::collections::HashMap;

use super::schema::{Fields, GLOBAL_FIELDS, TOP_FIELDS};
use super::{Converter, unspanned};
use crate::diag::Span;
use crate::lang::ast::{self, Value};
use crate::model::notifier::DEFAULT_RESOLVE_TIMEOUT_MS;
use crate::model::yaml::Node;
use crate::vocab::time::parse_duration;

impl Converter<'_> {
    pub(super) fn config(&mut self, root: &Node, shown_path: &str) -> ast::File {
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
            match parse_duration(&text.value) {
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
}

pub(super) fn setting(key: &str, values: Vec<Value>) -> ast::Setting {
    ast::Setting {
        key: unspanned(key.to_string()),
        values: values.into_iter().map(unspanned).collect(),
        map: None,
        span: Span::default(),
    }
}

pub(super) fn map_setting(key: &str, pairs: Vec<(String, Value)>) -> ast::Setting {
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

pub(super) fn integration(kind: &str, settings: Vec<ast::Setting>) -> ast::Integration {
    ast::Integration {
        kind: unspanned(kind.to_string()),
        settings,
        span: Span::default(),
    }
}
