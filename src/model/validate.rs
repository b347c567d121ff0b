//! Checks that need the whole rule set: names that refer to other items
//! (datasources, receivers, time windows) and duplicate definitions.

use std::collections::HashMap;

use crate::diag::{Diagnostic, Span, suggest};
use crate::model::{DatasourceKind, Query, Route, RuleSet};

/// Cross-file checks: unknown datasources, receivers and time windows,
/// duplicate names. (Duplicate rules are a lint: Prometheus runs them.)
pub fn check_rule_set(rules: &RuleSet, diags: &mut Vec<Diagnostic>) {
    unique_names(
        rules.datasources.iter().map(|d| (d.name.as_str(), d.span)),
        "datasource",
        diags,
    );
    unique_names(
        rules.receivers.iter().map(|r| (r.name.as_str(), r.span)),
        "receiver",
        diags,
    );
    unique_names(
        rules.time_windows.iter().map(|w| (w.name.as_str(), w.span)),
        "time_window",
        diags,
    );
    check_datasource_refs(rules, diags);
    if let Some(route) = &rules.route {
        check_route_refs(rules, route, diags);
    } else if let Some(r) = rules.receivers.first() {
        diags.push(
            Diagnostic::warning(
                "model/no-route",
                r.span,
                "receivers are defined but no `route` sends alerts to them",
            )
            .with_label("unused receiver")
            .with_hint(format!("add `route {{ receiver {} }}`", r.name)),
        );
    }
}

fn unique_names<'a>(
    items: impl Iterator<Item = (&'a str, Span)>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (name, span) in items {
        if let Some(first) = seen.get(name) {
            diags.push(
                Diagnostic::error(
                    "model/duplicate-name",
                    span,
                    format!("{what} `{name}` is defined twice"),
                )
                .with_label("defined again here")
                .with_related(*first, "first defined here")
                .with_hint("names must be unique across all loaded files".to_string()),
            );
        } else {
            seen.insert(name, span);
        }
    }
}

fn check_datasource_refs(rules: &RuleSet, diags: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = rules.datasources.iter().map(|d| d.name.as_str()).collect();
    for (_, rule) in rules.rules() {
        let (name, span, wanted) = match &rule.query {
            Query::Prometheus(q) => match (&q.datasource, q.datasource_span) {
                (Some(n), Some(s)) => (n.as_str(), s, DatasourceKind::Prometheus),
                _ => continue,
            },
            Query::Elasticsearch(q) => (
                q.datasource.as_str(),
                q.datasource_span,
                DatasourceKind::Elasticsearch,
            ),
        };
        match rules.datasources.iter().find(|d| d.name == name) {
            None => {
                let hint = suggest(name, names.iter().copied()).or_else(|| {
                    Some(if names.is_empty() {
                        format!(
                            "declare it: datasource {} {name} {{ url \"http://...\" }}",
                            if wanted == DatasourceKind::Prometheus {
                                "prometheus"
                            } else {
                                "elasticsearch"
                            }
                        )
                    } else {
                        format!("known datasources: {}", names.join(", "))
                    })
                });
                diags.push(
                    Diagnostic::error(
                        "model/unknown-datasource",
                        span,
                        format!("unknown datasource `{name}`"),
                    )
                    .with_label("no datasource has this name")
                    .with_hint(hint),
                );
            }
            Some(d) if d.kind != wanted => {
                diags.push(
                    Diagnostic::error(
                        "model/datasource-kind",
                        span,
                        format!(
                            "datasource `{name}` is {}, but this query needs {}",
                            kind_name(d.kind),
                            kind_name(wanted)
                        ),
                    )
                    .with_label("wrong kind of datasource")
                    .with_related(d.span, "declared here"),
                );
            }
            Some(_) => {}
        }
    }
}

fn kind_name(k: DatasourceKind) -> &'static str {
    match k {
        DatasourceKind::Prometheus => "a Prometheus datasource",
        DatasourceKind::Elasticsearch => "an Elasticsearch datasource",
    }
}

fn check_route_refs(rules: &RuleSet, route: &Route, diags: &mut Vec<Diagnostic>) {
    let receivers: Vec<&str> = rules.receivers.iter().map(|r| r.name.as_str()).collect();
    let windows: Vec<&str> = rules.time_windows.iter().map(|w| w.name.as_str()).collect();
    let mut stack = vec![route];
    while let Some(r) = stack.pop() {
        if !r.receiver.is_empty() && !receivers.contains(&r.receiver.as_str()) {
            diags.push(
                Diagnostic::error(
                    "model/unknown-receiver",
                    r.span,
                    format!("route points at unknown receiver `{}`", r.receiver),
                )
                .with_label("no receiver has this name")
                .with_hint(
                    suggest(&r.receiver, receivers.iter().copied()).or_else(|| {
                        Some(format!(
                            "declare it: receiver {} {{ webhook {{ url \"https://...\" }} }}",
                            r.receiver
                        ))
                    }),
                ),
            );
        }
        for w in r.mute_during.iter().chain(r.active_during.iter()) {
            if !windows.contains(&w.as_str()) {
                diags.push(
                    Diagnostic::error(
                        "model/unknown-time-window",
                        r.span,
                        format!("route refers to unknown time_window `{w}`"),
                    )
                    .with_label("in this route")
                    .with_hint(suggest(w, windows.iter().copied()).or_else(|| {
                        Some(format!(
                            "declare it: time_window {w} {{ times \"18:00-24:00\" }}"
                        ))
                    })),
                );
            }
        }
        stack.extend(r.routes.iter());
    }
}
