//! The route tree, as written: receivers, grouping, timings, `continue`,
//! time intervals, and the children, which inherit as in Alertmanager.

use std::collections::HashSet;

use super::schema::{Fields, ROUTE_FIELDS};
use super::{Converter, unspanned};
use crate::diag::{Span, suggest};
use crate::lang::ast::{self, Spanned};
use crate::model::yaml::Node;
use crate::vocab::labels::is_valid_label_name;
use crate::vocab::time::parse_duration;

impl Converter<'_> {
    pub(super) fn route(&mut self, node: &Node, is_root: bool) -> ast::Route {
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
                if !is_valid_label_name(&l.value) {
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

    pub(super) fn duration(
        &mut self,
        f: &Fields,
        field: &str,
        nonzero: bool,
    ) -> Option<Spanned<ast::Duration>> {
        let node = f.get(field)?;
        let text = self.text(node, &format!("`{field}`"))?;
        match parse_duration(&text.value) {
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
}
