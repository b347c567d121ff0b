//! The DSL front end end to end: parse, lower, validate.

use klaxon::model::load::load_sources;

fn errors(path: &str, text: &str) -> Vec<String> {
    let loaded = load_sources(&[(path, text)]);
    loaded
        .diagnostics
        .iter()
        .map(|d| d.short(&loaded.sources))
        .collect()
}

#[test]
fn architecture_example_loads_cleanly() {
    let text = include_str!("../fixtures/dsl/architecture_example.rules");
    let loaded = load_sources(&[("architecture_example.rules", text)]);
    let rendered: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| d.render(&loaded.sources))
        .collect();
    assert!(rendered.is_empty(), "{}", rendered.join("\n"));
    let rules = &loaded.rules;
    assert_eq!(rules.groups.len(), 2);
    assert_eq!(rules.receivers.len(), 3);
    assert_eq!(rules.datasources.len(), 2);
    assert_eq!(rules.inhibits.len(), 1);
    let route = rules.route.as_ref().expect("root route");
    assert_eq!(route.receiver, "data-team");
    assert_eq!(route.routes.len(), 2);
    assert_eq!(route.routes[0].receiver, "oncall");
    assert!(route.routes[0].continue_);
    // Children inherit group_by and timers from the root.
    assert_eq!(route.routes[1].group_by, vec!["alertname", "cluster"]);
    assert_eq!(route.routes[1].repeat_interval.0, 4 * 3600 * 1000);
    let lag = rules.groups[0]
        .rules
        .iter()
        .find(|r| r.name == "KafkaConsumerLag")
        .unwrap();
    let spec = lag.alert().unwrap();
    assert_eq!(spec.severities.len(), 2);
    assert!(spec.resolve.is_some());
    // Group labels are merged into rule labels.
    assert_eq!(
        lag.labels.iter().find(|p| p.name == "team").unwrap().value,
        "streaming"
    );
}

#[test]
fn every_error_in_a_file_is_reported() {
    let text = "group g {\n  every 30s\n  alert A {\n    query prometheus `up`\n    critcal when value > 1\n  }\n  alert B {\n    query prometheus `up`\n    warning when value >> 1\n  }\n  alert C {\n    query prometheus `up`\n    warning when value > 1 for 5\n  }\n}\n";
    let errs = errors("x.rules", text);
    // One error per broken alert, no cascade ("no severity line") after a
    // statement that failed to parse.
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs[0]
            .starts_with("x.rules:5:5: error[syntax/unknown-keyword]: unknown statement `critcal`"),
        "{errs:#?}"
    );
    assert!(
        errs[1].starts_with(
            "x.rules:9:25: error[syntax]: expected a number to compare with, found `>`"
        ),
        "{errs:#?}"
    );
    assert!(
        errs[2].starts_with("x.rules:13:32: error[syntax]: a duration needs a unit"),
        "{errs:#?}"
    );
    let loaded = load_sources(&[("x.rules", text)]);
    let first = loaded.diagnostics[0].render(&loaded.sources);
    assert!(
        first.contains("5 |     critcal when value > 1\n  |     ^^^^^^^"),
        "{first}"
    );
    assert!(first.contains("did you mean `critical`?"), "{first}");
}

#[test]
fn query_datasource_names_may_be_quoted_and_queries_may_be_strings() {
    let text = "datasource prometheus \"long-term store\" { url \"http://127.0.0.1:9090\" }\n\
                group g {\n  alert A {\n    query prometheus \"long-term store\" \"up{job=`x`} == 0\"\n    warning when present\n  }\n  alert B {\n    query prometheus \"absent(up)\"\n    warning when present\n  }\n}\n";
    let loaded = load_sources(&[("q.rules", text)]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let rules: Vec<_> = loaded.rules.rules().map(|(_, r)| r).collect();
    let a = rules[0].query.promql().expect("promql");
    assert_eq!(a.datasource.as_deref(), Some("long-term store"));
    assert_eq!(a.expr, "up{job=`x`} == 0");
    let b = rules[1].query.promql().expect("promql");
    assert_eq!(b.datasource, None);
    assert_eq!(b.expr, "absent(up)");
}

#[test]
fn elasticsearch_by_fields_become_prometheus_label_names() {
    use klaxon::model::EsQuery;
    assert_eq!(EsQuery::label_for("service.name"), "service_name");
    assert_eq!(EsQuery::label_for("host.keyword"), "host");
    assert_eq!(EsQuery::label_for("@timestamp"), "_timestamp");
    assert_eq!(EsQuery::label_for("1st"), "_1st");
    let text = "datasource elasticsearch logs { url \"http://127.0.0.1:9200\"  index \"logs-*\" }\n\
                group g {\n  alert A {\n    query elasticsearch logs count over 5m by service.name, service_name\n    warning when value > 1\n  }\n}\n";
    let errs = errors("es.rules", text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("es.rules:4:61: error[model/duplicate-label]"),
        "{errs:#?}"
    );
}

#[test]
fn comments_inside_blocks_stay_with_their_block() {
    let text = "receiver a {\n  # the on-call webhook\n  webhook { url \"https://h.example.com/a\" }\n}\nroute {\n  receiver a\n  route {\n    # pages\n    match severity = \"critical\"\n  }\n}\n";
    let (file, diags) = klaxon::lang::parse(0, text);
    assert!(diags.is_empty(), "{diags:?}");
    let klaxon::lang::ast::Item::Receiver(r) = &file.items[0] else {
        panic!("receiver first")
    };
    assert_eq!(r.comments, vec![" the on-call webhook".to_string()]);
    let klaxon::lang::ast::Item::Route(route) = &file.items[1] else {
        panic!("route second")
    };
    assert!(route.comments.is_empty());
    assert_eq!(route.routes[0].comments, vec![" pages".to_string()]);
}
