//! The Elasticsearch datasource against a fake Elasticsearch.
//!
//! Elasticsearch itself cannot run here (no JVM, no package, no network), so
//! `harness::fake_es` is a small server that speaks its wire format: it checks each
//! `_search` request against the documented API (method, path, content type,
//! known keys only, `size: 0`, the exact range bounds the test expects, the
//! aggregation shape), runs it over the test's documents, and answers in
//! Elasticsearch 8's response format — or with Elasticsearch's own error
//! bodies (index not found, query parse error, security, 429 rejections,
//! shard failures, timeouts).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::harness::fake_es::{Auth, FakeEs, Fault};
use klaxon::diag::Span;
use klaxon::model::{EsAgg, EsQuery};
use klaxon::source::elasticsearch::ElasticsearchSource;
use klaxon::source::{HttpSettings, Sample, SourceError};
use klaxon::vocab::labels::Labels;
use serde_json::{Value, json};

/// Evaluation time used by every test: 2023-11-14T22:13:20Z.
const AT_MS: u64 = 1_700_000_000_000;
const TIMEOUT: Duration = Duration::from_secs(10);

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(AT_MS)
}

/// A document `secs_before` seconds before the evaluation time, with these fields.
fn doc(secs_before: f64, fields: Value) -> Value {
    let mut doc = fields;
    let ts = AT_MS as i64 - (secs_before * 1000.0) as i64;
    if let Some(map) = doc.as_object_mut() {
        map.insert("@timestamp".into(), json!(ts));
    }
    doc
}

/// The same as [`doc`] with an RFC 3339 timestamp, as Beats and Logstash write it.
fn doc_rfc3339(secs_before: i64, fields: Value) -> Value {
    let mut doc = fields;
    let ts = chrono::DateTime::from_timestamp_millis(AT_MS as i64 - secs_before * 1000)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    if let Some(map) = doc.as_object_mut() {
        map.insert("@timestamp".into(), json!(ts));
    }
    doc
}

fn settings(fake: &FakeEs, index: &str, extra: &[(&str, &str)]) -> HttpSettings {
    let mut s = HttpSettings::for_url(&fake.url);
    s.extra.push(("index".into(), index.into()));
    for (k, v) in extra {
        s.extra.push(((*k).into(), (*v).into()));
    }
    s
}

fn source(settings: &HttpSettings) -> ElasticsearchSource {
    crate::harness::install_tls_provider();
    ElasticsearchSource::new("logs", settings).expect("valid settings")
}

fn query(
    agg: EsAgg,
    field: Option<&str>,
    filter: Option<&str>,
    window_secs: u64,
    by: &[&str],
) -> EsQuery {
    EsQuery {
        datasource: "logs".into(),
        datasource_span: Span::default(),
        agg,
        field: field.map(str::to_string),
        filter: filter.map(str::to_string),
        window: klaxon::vocab::time::Duration::secs(window_secs),
        by: by.iter().map(|s| s.to_string()).collect(),
        span: Span::default(),
    }
}

/// One sample as (sorted labels, value).
type Row = (Vec<(String, String)>, f64);

/// Samples as sorted (labels, value) pairs, for order-independent comparison.
fn table(samples: &[Sample]) -> Vec<Row> {
    let mut out: Vec<_> = samples
        .iter()
        .map(|s| {
            (
                s.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>(),
                s.value,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn row(labels: &[(&str, &str)], value: f64) -> Row {
    (
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
    )
}

fn rejected(result: Result<Vec<Sample>, SourceError>) -> String {
    match result {
        Err(SourceError::Rejected(message)) => message,
        other => panic!("expected a rejected query, got {other:?}"),
    }
}

/// Documents of three services over the last ten minutes.
fn service_logs() -> Vec<Value> {
    vec![
        doc(
            30.0,
            json!({"service": {"name": "checkout"}, "host": {"name": "a"}, "log.level": "error", "event.duration": 100, "user.name": "ann"}),
        ),
        doc(
            60.0,
            json!({"service": {"name": "checkout"}, "host": {"name": "a"}, "log.level": "error", "event.duration": 300, "user.name": "bob"}),
        ),
        doc(
            90.0,
            json!({"service": {"name": "checkout"}, "host": {"name": "b"}, "log.level": "info", "event.duration": 200, "user.name": "ann"}),
        ),
        doc(
            120.0,
            json!({"service": {"name": "cart"}, "host": {"name": "b"}, "log.level": "error", "event.duration": 50, "user.name": "cid"}),
        ),
        doc(
            150.0,
            json!({"service": {"name": "cart"}, "host": {"name": "b"}, "log.level": "warn", "event.duration": 70}),
        ),
        doc(
            180.0,
            json!({"service": {"name": "search"}, "host": {"name": "c"}, "log.level": "fatal"}),
        ),
        // Outside a 5m window:
        doc(
            301.0,
            json!({"service": {"name": "checkout"}, "host": {"name": "a"}, "log.level": "error", "event.duration": 9999}),
        ),
        doc(
            600.0,
            json!({"service": {"name": "billing"}, "host": {"name": "d"}, "log.level": "error", "event.duration": 9999}),
        ),
    ]
}

#[tokio::test]
async fn count_without_by_is_one_unlabelled_sample_over_the_half_open_window() {
    let fake = FakeEs::start().await;
    fake.add_index(
        "logs-2023.11.14",
        vec![
            doc(0.0, json!({"note": "exactly at the end: excluded"})),
            doc(0.001, json!({"note": "1ms before the end"})),
            doc(299.999, json!({})),
            doc(300.0, json!({"note": "exactly at the start: included"})),
            doc(300.001, json!({"note": "1ms before the start"})),
        ],
    );
    fake.add_index("metrics-2023.11.14", vec![doc(10.0, json!({}))]);
    fake.expect_range("@timestamp", AT_MS - 300_000, AT_MS);
    let es = source(&settings(&fake, "logs-*", &[]));
    let samples = es
        .search(
            &query(EsAgg::Count, None, None, 300, &[]),
            at(),
            Duration::from_secs(30),
        )
        .await
        .expect("count");
    assert_eq!(
        samples,
        vec![Sample {
            labels: Labels::new(),
            value: 3.0
        }]
    );
    assert_eq!(fake.problems(), Vec::<String>::new());

    let request = fake.last_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/logs-*/_search");
    assert_eq!(
        request.query.as_deref(),
        Some("allow_partial_search_results=false")
    );
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        request.body,
        json!({
            "size": 0,
            "track_total_hits": true,
            "timeout": "29000ms",
            "query": { "bool": { "filter": [
                { "range": { "@timestamp": { "gte": AT_MS - 300_000, "lt": AT_MS, "format": "epoch_millis" } } }
            ] } }
        })
    );
}

#[tokio::test]
async fn an_empty_window_counts_zero_and_rfc3339_timestamps_are_compared_as_times() {
    let fake = FakeEs::start().await;
    fake.add_index(
        "logs",
        vec![
            doc_rfc3339(10, json!({"log.level": "error"})),
            doc_rfc3339(400, json!({"log.level": "error"})),
        ],
    );
    let es = source(&settings(&fake, "logs", &[]));
    let count = |window| query(EsAgg::Count, None, Some("log.level:error"), window, &[]);
    let five = es.search(&count(300), at(), TIMEOUT).await.expect("count");
    assert_eq!(table(&five), vec![row(&[], 1.0)]);
    let five_seconds = es.search(&count(5), at(), TIMEOUT).await.expect("count");
    assert_eq!(table(&five_seconds), vec![row(&[], 0.0)]);
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn query_delay_moves_the_whole_window_into_the_past() {
    let fake = FakeEs::start().await;
    fake.add_index(
        "logs",
        vec![
            doc(
                10.0,
                json!({"note": "too recent: ingestion may still be behind"}),
            ),
            doc(31.0, json!({})),
            doc(329.0, json!({})),
            doc(331.0, json!({"note": "before the shifted window"})),
        ],
    );
    fake.expect_range("@timestamp", AT_MS - 30_000 - 300_000, AT_MS - 30_000);
    let es = source(&settings(&fake, "logs", &[("query_delay", "30s")]));
    let samples = es
        .search(&query(EsAgg::Count, None, None, 300, &[]), at(), TIMEOUT)
        .await
        .expect("count");
    assert_eq!(table(&samples), vec![row(&[], 2.0)]);
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn time_field_setting_names_the_range_field() {
    let fake = FakeEs::start().await;
    let created = |secs: u64| json!({"event": {"created": AT_MS - secs * 1000}});
    fake.add_index("audit-1", vec![created(5), created(50), created(500)]);
    fake.expect_range("event.created", AT_MS - 60_000, AT_MS);
    let es = source(&settings(
        &fake,
        "audit-*",
        &[("time_field", "event.created")],
    ));
    let samples = es
        .search(&query(EsAgg::Count, None, None, 60, &[]), at(), TIMEOUT)
        .await
        .expect("count");
    assert_eq!(table(&samples), vec![row(&[], 2.0)]);
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn where_is_a_query_string_with_kibana_defaults() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-1", service_logs());
    let es = source(&settings(&fake, "logs-*", &[]));
    // Whitespace means OR, as in Kibana's Lucene bar and Grafana.
    let either = query(
        EsAgg::Count,
        None,
        Some("log.level:error log.level:fatal"),
        300,
        &[],
    );
    let samples = es.search(&either, at(), TIMEOUT).await.expect("count");
    assert_eq!(table(&samples), vec![row(&[], 4.0)]);
    let filter = fake.last_request().body["query"]["bool"]["filter"][1].clone();
    assert_eq!(
        filter,
        json!({ "query_string": { "query": "log.level:error log.level:fatal", "analyze_wildcard": true } })
    );

    let both = query(
        EsAgg::Count,
        None,
        Some("log.level:error AND service.name:check*"),
        300,
        &[],
    );
    let samples = es.search(&both, at(), TIMEOUT).await.expect("count");
    assert_eq!(table(&samples), vec![row(&[], 2.0)]);
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn by_one_term_gives_one_sample_per_bucket_labelled_with_the_key() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-1", service_logs());
    let es = source(&settings(&fake, "logs-*", &[]));
    let q = query(
        EsAgg::Count,
        None,
        Some("log.level:error"),
        300,
        &["service.name"],
    );
    let samples = es
        .search(&q, at(), TIMEOUT)
        .await
        .expect("count by service");
    assert_eq!(
        table(&samples),
        vec![
            row(&[("service_name", "cart")], 1.0),
            row(&[("service_name", "checkout")], 2.0),
        ]
    );
    let body = fake.last_request().body;
    assert_eq!(
        body["aggs"],
        json!({ "by_0": { "terms": { "field": "service.name", "size": 10000 } } })
    );
    assert_eq!(
        body.get("track_total_hits"),
        None,
        "buckets carry their own doc_count"
    );
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn by_two_terms_nests_the_aggregations_and_labels_every_combination() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-1", service_logs());
    let es = source(&settings(&fake, "logs-*", &[]));
    let q = query(
        EsAgg::Max,
        Some("event.duration"),
        None,
        300,
        &["service.name", "host.name.keyword"],
    );
    let samples = es
        .search(&q, at(), TIMEOUT)
        .await
        .expect("max by service, host");
    assert_eq!(
        table(&samples),
        vec![
            row(&[("host_name", "a"), ("service_name", "checkout")], 300.0),
            row(&[("host_name", "b"), ("service_name", "cart")], 70.0),
            row(&[("host_name", "b"), ("service_name", "checkout")], 200.0),
            // search/c has no event.duration: max is null, so no sample.
        ]
    );
    assert_eq!(
        fake.last_request().body["aggs"],
        json!({ "by_0": {
            "terms": { "field": "service.name", "size": 10000 },
            "aggs": { "by_1": {
                "terms": { "field": "host.name.keyword", "size": 10000 },
                "aggs": { "metric": { "max": { "field": "event.duration" } } }
            } }
        } })
    );
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn each_metric_aggregation_reads_its_value() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-1", service_logs());
    let es = source(&settings(&fake, "logs-*", &[]));
    let by_service = |agg, field| query(agg, Some(field), None, 300, &["service.name"]);
    let cases: Vec<(EsAgg, &str, Value, Vec<Row>)> = vec![
        (
            EsAgg::Avg,
            "event.duration",
            json!({ "avg": { "field": "event.duration" } }),
            vec![
                row(&[("service_name", "cart")], 60.0),
                row(&[("service_name", "checkout")], 200.0),
            ],
        ),
        (
            EsAgg::Min,
            "event.duration",
            json!({ "min": { "field": "event.duration" } }),
            vec![
                row(&[("service_name", "cart")], 50.0),
                row(&[("service_name", "checkout")], 100.0),
            ],
        ),
        (
            EsAgg::Sum,
            "event.duration",
            json!({ "sum": { "field": "event.duration" } }),
            // Sum over no values is 0 in Elasticsearch, so `search` has a sample.
            vec![
                row(&[("service_name", "cart")], 120.0),
                row(&[("service_name", "checkout")], 600.0),
                row(&[("service_name", "search")], 0.0),
            ],
        ),
        (
            EsAgg::Cardinality,
            "user.name",
            json!({ "cardinality": { "field": "user.name" } }),
            vec![
                row(&[("service_name", "cart")], 1.0),
                row(&[("service_name", "checkout")], 2.0),
                row(&[("service_name", "search")], 0.0),
            ],
        ),
    ];
    for (agg, field, sent, expected) in cases {
        let samples = es
            .search(&by_service(agg, field), at(), TIMEOUT)
            .await
            .expect("metric");
        assert_eq!(table(&samples), expected, "{}", agg.keyword());
        assert_eq!(
            fake.last_request().body["aggs"]["by_0"]["aggs"]["metric"],
            sent,
            "{}",
            agg.keyword()
        );
    }
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn a_metric_without_values_gives_no_sample_so_nodata_applies() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-1", service_logs());
    let es = source(&settings(&fake, "logs-*", &[]));
    for agg in [EsAgg::Avg, EsAgg::Min, EsAgg::Max, EsAgg::Percentile(99.0)] {
        let q = query(
            agg,
            Some("event.duration"),
            Some("service.name:search"),
            300,
            &[],
        );
        let samples = es.search(&q, at(), TIMEOUT).await.expect("metric");
        assert_eq!(samples, Vec::<Sample>::new(), "{}", agg.keyword());
    }
    let sum = query(
        EsAgg::Sum,
        Some("event.duration"),
        Some("service.name:search"),
        300,
        &[],
    );
    assert_eq!(
        table(&es.search(&sum, at(), TIMEOUT).await.expect("sum")),
        vec![row(&[], 0.0)]
    );
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn percentiles_are_found_under_elasticsearchs_key_text() {
    let fake = FakeEs::start().await;
    let docs = (1..=101)
        .map(|i| doc(i as f64, json!({ "event": { "duration": (i - 1) * 10 } })))
        .collect();
    fake.add_index("latency", docs);
    let es = source(&settings(&fake, "latency", &[]));
    for (p, key, expected) in [
        (95.0, "95.0", 950.0),
        (99.9, "99.9", 999.0),
        (50.0, "50.0", 500.0),
    ] {
        let q = query(EsAgg::Percentile(p), Some("event.duration"), None, 600, &[]);
        let samples = es.search(&q, at(), TIMEOUT).await.expect("percentile");
        assert_eq!(table(&samples), vec![row(&[], expected)], "p{p}");
        let request = fake.last_request();
        assert_eq!(
            request.body["aggs"]["metric"],
            json!({ "percentiles": { "field": "event.duration", "percents": [p] } })
        );
        let keys: Vec<String> = fake_answer_keys(&fake, &request.body).await;
        assert_eq!(
            keys,
            vec![key.to_string()],
            "Elasticsearch keys p{p} as {key}"
        );
    }
    assert_eq!(fake.problems(), Vec::<String>::new());
}

/// The percentile keys the fake answered with, by replaying the request.
async fn fake_answer_keys(fake: &FakeEs, body: &Value) -> Vec<String> {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/latency/_search", fake.url))
        .json(body)
        .send()
        .await
        .expect("replay")
        .json()
        .await
        .expect("json answer");
    answer["aggregations"]["metric"]["values"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn numeric_and_boolean_bucket_keys_become_plain_label_values() {
    let fake = FakeEs::start().await;
    fake.add_index(
        "web",
        vec![
            doc(
                1.0,
                json!({"http": {"response": {"status_code": 200}}, "tls": true, "ratio": 0.5}),
            ),
            doc(
                2.0,
                json!({"http": {"response": {"status_code": 200}}, "tls": false, "ratio": 0.5}),
            ),
            doc(
                3.0,
                json!({"http": {"response": {"status_code": 503}}, "tls": true, "ratio": 2.0}),
            ),
        ],
    );
    let es = source(&settings(&fake, "web", &[]));
    let by = |term| query(EsAgg::Count, None, None, 60, &[term]);
    let status = es
        .search(&by("http.response.status_code"), at(), TIMEOUT)
        .await
        .expect("by status");
    assert_eq!(
        table(&status),
        vec![
            row(&[("http_response_status_code", "200")], 2.0),
            row(&[("http_response_status_code", "503")], 1.0),
        ]
    );
    let tls = es.search(&by("tls"), at(), TIMEOUT).await.expect("by tls");
    assert_eq!(
        table(&tls),
        vec![row(&[("tls", "false")], 1.0), row(&[("tls", "true")], 2.0)]
    );
    let ratio = es
        .search(&by("ratio"), at(), TIMEOUT)
        .await
        .expect("by ratio");
    assert_eq!(
        table(&ratio),
        vec![row(&[("ratio", "0.5")], 2.0), row(&[("ratio", "2")], 1.0)]
    );
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn index_lists_and_patterns_are_sent_unescaped_and_searched_together() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-a", vec![doc(1.0, json!({}))]);
    fake.add_index("audit", vec![doc(1.0, json!({})), doc(2.0, json!({}))]);
    fake.add_index("other", vec![doc(1.0, json!({}))]);
    let es = source(&settings(&fake, "logs-*,audit", &[]));
    let samples = es
        .search(&query(EsAgg::Count, None, None, 60, &[]), at(), TIMEOUT)
        .await
        .expect("count");
    assert_eq!(table(&samples), vec![row(&[], 3.0)]);
    assert_eq!(fake.last_request().path, "/logs-*,audit/_search");
    assert!(
        es.search_url()
            .ends_with("/logs-*,audit/_search?allow_partial_search_results=false")
    );
}

#[tokio::test]
async fn a_pattern_matching_no_index_counts_zero_and_other_aggregations_give_nothing() {
    let fake = FakeEs::start().await;
    let es = source(&settings(&fake, "logs-*", &[]));
    let count = es
        .search(&query(EsAgg::Count, None, None, 60, &[]), at(), TIMEOUT)
        .await;
    assert_eq!(count.map(|s| table(&s)), Ok(vec![row(&[], 0.0)]));
    let by = es
        .search(
            &query(EsAgg::Count, None, None, 60, &["host.name"]),
            at(),
            TIMEOUT,
        )
        .await;
    assert_eq!(by, Ok(vec![]));
    let avg = es
        .search(&query(EsAgg::Avg, Some("x"), None, 60, &[]), at(), TIMEOUT)
        .await;
    assert_eq!(avg, Ok(vec![]));
}

#[tokio::test]
async fn api_key_and_basic_auth_are_sent_as_elasticsearch_expects() {
    let fake = FakeEs::start().await;
    fake.add_index("logs", vec![doc(1.0, json!({}))]);
    let count = query(EsAgg::Count, None, None, 60, &[]);

    fake.require_auth(Auth::ApiKey(
        "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==".into(),
    ));
    let mut with_key = settings(&fake, "logs", &[]);
    with_key.api_key = Some("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==".into());
    let samples = source(&with_key)
        .search(&count, at(), TIMEOUT)
        .await
        .expect("api key accepted");
    assert_eq!(table(&samples), vec![row(&[], 1.0)]);
    assert_eq!(
        fake.last_request().header("authorization").as_deref(),
        Some("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==")
    );

    fake.require_auth(Auth::Basic("klaxon".into(), "s3cret:with-colon".into()));
    let mut with_user = settings(&fake, "logs", &[]);
    with_user.basic_auth = Some(("klaxon".into(), "s3cret:with-colon".into()));
    let samples = source(&with_user)
        .search(&count, at(), TIMEOUT)
        .await
        .expect("basic auth accepted");
    assert_eq!(table(&samples), vec![row(&[], 1.0)]);
    assert_eq!(
        fake.last_request().header("authorization").as_deref(),
        Some("Basic a2xheG9uOnMzY3JldDp3aXRoLWNvbG9u")
    );
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_a_401_rule_error_naming_the_settings() {
    let fake = FakeEs::start().await;
    fake.add_index("logs", vec![doc(1.0, json!({}))]);
    fake.require_auth(Auth::Basic("klaxon".into(), "right".into()));
    let count = query(EsAgg::Count, None, None, 60, &[]);

    let mut wrong = settings(&fake, "logs", &[]);
    wrong.basic_auth = Some(("klaxon".into(), "wrong".into()));
    let message = rejected(source(&wrong).search(&count, at(), TIMEOUT).await);
    assert_eq!(
        message,
        "elasticsearch answered HTTP 401 Unauthorized: security_exception: unable to authenticate user [klaxon] for REST request [/logs/_search?allow_partial_search_results=false]; check the datasource's `api_key` or `basic_auth_user`/`basic_auth_password`"
    );

    let none = settings(&fake, "logs", &[]);
    let message = rejected(source(&none).search(&count, at(), TIMEOUT).await);
    assert_eq!(
        message,
        "elasticsearch answered HTTP 401 Unauthorized: security_exception: missing authentication credentials for REST request [/logs/_search?allow_partial_search_results=false]; check the datasource's `api_key` or `basic_auth_user`/`basic_auth_password`"
    );
}

#[tokio::test]
async fn a_missing_index_is_a_404_rule_error_naming_the_index_setting() {
    let fake = FakeEs::start().await;
    fake.add_index("logs", vec![]);
    let es = source(&settings(&fake, "audit", &[]));
    let message = rejected(
        es.search(&query(EsAgg::Count, None, None, 60, &[]), at(), TIMEOUT)
            .await,
    );
    assert_eq!(
        message,
        "elasticsearch answered HTTP 404 Not Found: index_not_found_exception: no such index [audit]; check the datasource's `index` setting"
    );
}

#[tokio::test]
async fn a_where_query_that_does_not_parse_names_lucenes_reason_on_one_line() {
    let fake = FakeEs::start().await;
    fake.add_index("logs", service_logs());
    let es = source(&settings(&fake, "logs", &[]));
    let q = query(EsAgg::Count, None, Some("log.level:(error"), 300, &[]);
    let message = rejected(es.search(&q, at(), TIMEOUT).await);
    assert_eq!(
        message,
        "elasticsearch answered HTTP 400 Bad Request: query_shard_exception: Failed to parse query [log.level:(error], caused by parse_exception: Cannot parse 'log.level:(error': Encountered \"<EOF>\" at line 1, column 16.; check the rule's `where` query (Lucene query_string syntax)"
    );
    assert!(!message.contains('\n'));
}

#[tokio::test]
async fn by_on_a_text_field_suggests_the_keyword_sub_field() {
    let fake = FakeEs::start().await;
    fake.add_index("logs", service_logs());
    fake.map_as_text("host.name");
    let es = source(&settings(&fake, "logs", &[]));
    let q = query(EsAgg::Count, None, None, 300, &["host.name"]);
    let message = rejected(es.search(&q, at(), TIMEOUT).await);
    assert!(
        message.starts_with("elasticsearch answered HTTP 400 Bad Request: illegal_argument_exception: Text fields are not optimised for operations that require per-document field data"),
        "{message}"
    );
    assert!(
        message.ends_with("; aggregate on a keyword field instead, e.g. `by FIELD.keyword`"),
        "{message}"
    );
}

#[tokio::test]
async fn a_429_says_elasticsearch_rate_limited_the_query() {
    let fake = FakeEs::start().await;
    let es = source(&settings(&fake, "logs", &[]));
    let count = query(EsAgg::Count, None, None, 60, &[]);

    fake.set_fault(Fault::Json(
        429,
        crate::harness::fake_es::rejected_execution(),
    ));
    let message = rejected(es.search(&count, at(), TIMEOUT).await);
    assert!(
        message.starts_with("elasticsearch rate-limited the query (HTTP 429 Too Many Requests): es_rejected_execution_exception: rejected execution of org.elasticsearch"),
        "{message}"
    );
    assert!(
        message.ends_with("; elasticsearch is overloaded and rate-limited the query, it is retried at the next evaluation"),
        "{message}"
    );

    fake.set_fault(Fault::Json(
        429,
        crate::harness::fake_es::circuit_breaking(),
    ));
    let message = rejected(es.search(&count, at(), TIMEOUT).await);
    assert!(
        message.starts_with("elasticsearch rate-limited the query (HTTP 429 Too Many Requests): circuit_breaking_exception: [parent] Data too large, data for [<http_request>]"),
        "{message}"
    );
}

#[tokio::test]
async fn other_error_bodies_name_their_most_specific_cause() {
    let fake = FakeEs::start().await;
    let es = source(&settings(&fake, "logs-*", &[]));
    let q = query(EsAgg::Count, None, None, 60, &["host.name", "url.path"]);

    // Elasticsearch 8's answer when nested terms exceed search.max_buckets.
    fake.set_fault(Fault::Json(
        503,
        json!({
            "error": {
                "root_cause": [], "type": "search_phase_execution_exception", "reason": "",
                "phase": "fetch", "grouped": true, "failed_shards": [],
                "caused_by": { "type": "too_many_buckets_exception", "reason": "Trying to create too many buckets. Must be less than or equal to: [65536] but was [65537]. This limit can be set by changing the [search.max_buckets] cluster level setting.", "max_buckets": 65536 }
            },
            "status": 503
        }),
    ));
    assert_eq!(
        rejected(es.search(&q, at(), TIMEOUT).await),
        "elasticsearch answered HTTP 503 Service Unavailable: too_many_buckets_exception: Trying to create too many buckets. Must be less than or equal to: [65536] but was [65537]. This limit can be set by changing the [search.max_buckets] cluster level setting.; fewer `by` terms or a narrower `where` make fewer buckets"
    );

    fake.set_fault(Fault::Json(
        403,
        crate::harness::fake_es::es_error(
            403,
            "security_exception",
            "action [indices:data/read/search] is unauthorized for user [klaxon] with effective roles [monitoring_user] on indices [logs-2023.11.14], this action is granted by the index privileges [read,all]",
            json!({}),
        ),
    ));
    let message = rejected(es.search(&q, at(), TIMEOUT).await);
    assert!(message.starts_with("elasticsearch answered HTTP 403 Forbidden: security_exception: action [indices:data/read/search] is unauthorized for user [klaxon]"), "{message}");
    assert!(
        message.ends_with("; the user or API key needs the `read` privilege on the index"),
        "{message}"
    );

    // Errors written as a bare string (no handler for a path, old versions).
    fake.set_fault(Fault::Json(
        400,
        json!({ "error": "no handler found for uri [/logs-*/_search] and method [POST]", "status": 400 }),
    ));
    assert_eq!(
        rejected(es.search(&q, at(), TIMEOUT).await),
        "elasticsearch answered HTTP 400 Bad Request: no handler found for uri [/logs-*/_search] and method [POST]"
    );
}

#[tokio::test]
async fn answers_that_are_not_json_are_bad_responses() {
    let fake = FakeEs::start().await;
    let es = source(&settings(&fake, "logs", &[]));
    let count = query(EsAgg::Count, None, None, 60, &[]);
    fake.set_fault(Fault::Text(
        502,
        "<html><body><h1>502 Bad Gateway</h1>\n</body></html>".into(),
    ));
    match es.search(&count, at(), TIMEOUT).await {
        Err(SourceError::BadResponse(m)) => {
            assert!(
                m.starts_with("HTTP 502 Bad Gateway from http://127.0.0.1:"),
                "{m}"
            );
            assert!(m.ends_with("body is not JSON (expected value at line 1 column 1): <html><body><h1>502 Bad Gateway</h1> </body></html>"), "{m}");
        }
        other => panic!("expected BadResponse, got {other:?}"),
    }
    fake.set_fault(Fault::Text(200, "OK".into()));
    assert!(matches!(
        es.search(&count, at(), TIMEOUT).await,
        Err(SourceError::BadResponse(_))
    ));
    fake.set_fault(Fault::Json(200, json!({"took": 1, "timed_out": false})));
    assert_eq!(
        es.search(&count, at(), TIMEOUT).await,
        Err(SourceError::BadResponse(
            "the answer has no `hits.total` count".into()
        ))
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_on_time() {
    let fake = FakeEs::start().await;
    fake.set_fault(Fault::Hang);
    let es = source(&settings(&fake, "logs", &[]));
    let started = Instant::now();
    let result = es
        .search(
            &query(EsAgg::Count, None, None, 60, &[]),
            at(),
            Duration::from_millis(300),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(
        result,
        Err(SourceError::Timeout(Duration::from_millis(300)))
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(fake.last_request().body["timeout"], json!("270ms"));
}

#[tokio::test]
async fn the_datasource_timeout_caps_the_evaluators_timeout() {
    let fake = FakeEs::start().await;
    fake.set_fault(Fault::Hang);
    let mut s = settings(&fake, "logs", &[]);
    s.timeout = Some(Duration::from_millis(200));
    let result = source(&s)
        .search(
            &query(EsAgg::Count, None, None, 60, &[]),
            at(),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(
        result,
        Err(SourceError::Timeout(Duration::from_millis(200)))
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let addr = format!("127.0.0.1:{}", crate::harness::free_port());
    let mut s = HttpSettings::for_url(&format!("http://{addr}"));
    s.extra.push(("index".into(), "logs".into()));
    match source(&s)
        .search(&query(EsAgg::Count, None, None, 60, &[]), at(), TIMEOUT)
        .await
    {
        Err(SourceError::Unreachable(m)) => assert!(m.to_lowercase().contains("connect"), "{m}"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn partial_answers_are_errors_not_low_counts() {
    let fake = FakeEs::start().await;
    let es = source(&settings(&fake, "logs-*", &[]));
    let count = query(EsAgg::Count, None, None, 60, &["service.name"]);
    let buckets = json!({ "by_0": { "doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
        "buckets": [ { "key": "checkout", "doc_count": 3 } ] } });

    fake.set_fault(Fault::Json(
        200,
        json!({
            "took": 12, "timed_out": false,
            "_shards": { "total": 3, "successful": 2, "skipped": 0, "failed": 1, "failures": [ {
                "shard": 1, "index": "logs-2023.11.14", "node": "aBcDeFgHiJkLmNoPqRsTuV",
                "reason": { "type": "node_not_connected_exception", "reason": "[es-node-2][10.0.0.2:9300] Node not connected" }
            } ] },
            "hits": { "total": { "value": 3, "relation": "eq" }, "max_score": null, "hits": [] },
            "aggregations": buckets
        }),
    ));
    assert_eq!(
        rejected(es.search(&count, at(), TIMEOUT).await),
        "elasticsearch: 1 of 3 shards failed: node_not_connected_exception: [es-node-2][10.0.0.2:9300] Node not connected; the partial result is not used"
    );

    fake.set_fault(Fault::Json(
        200,
        json!({
            "took": 9001, "timed_out": true,
            "_shards": { "total": 3, "successful": 3, "skipped": 0, "failed": 0 },
            "hits": { "total": { "value": 3, "relation": "eq" }, "max_score": null, "hits": [] },
            "aggregations": buckets
        }),
    ));
    assert_eq!(
        rejected(es.search(&count, at(), TIMEOUT).await),
        "elasticsearch timed out before every shard answered (`timed_out: true`, took 9001ms); the partial result is not used"
    );
}

#[tokio::test]
async fn buckets_cut_at_the_terms_size_are_used_and_logged() {
    let fake = FakeEs::start().await;
    fake.set_fault(Fault::Json(
        200,
        json!({
            "took": 3, "timed_out": false,
            "_shards": { "total": 1, "successful": 1, "skipped": 0, "failed": 0 },
            "hits": { "total": { "value": 10, "relation": "eq" }, "max_score": null, "hits": [] },
            "aggregations": { "by_0": { "doc_count_error_upper_bound": 0, "sum_other_doc_count": 4,
                "buckets": [ { "key": "a", "doc_count": 5 }, { "key": "b", "doc_count": 1 } ] } }
        }),
    ));
    let es = source(&settings(&fake, "logs", &[]));
    let log = LogCapture::default();
    let samples = {
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(log.clone())
                .with_ansi(false)
                .finish(),
        );
        es.search(
            &query(EsAgg::Count, None, None, 60, &["user.name"]),
            at(),
            TIMEOUT,
        )
        .await
        .expect("buckets")
    };
    assert_eq!(
        table(&samples),
        vec![
            row(&[("user_name", "a")], 5.0),
            row(&[("user_name", "b")], 1.0)
        ]
    );
    let text = log.text();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("the rarest are left out"), "{text}");
    assert!(text.contains("documents_left_out=4"), "{text}");
}

#[derive(Clone, Default)]
struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn settings_errors_name_the_datasource_and_setting() {
    crate::harness::install_tls_provider();
    let mut s = HttpSettings::for_url("http://127.0.0.1:9200");
    let err = ElasticsearchSource::new("logs", &s).expect_err("no index");
    assert_eq!(
        err.to_string(),
        "datasource `logs`: index: no index to search; add e.g. `index \"logs-*\"`"
    );
    s.extra.push(("index".into(), "logs-*".into()));
    s.extra.push(("query_delay".into(), "30 seconds".into()));
    let err = ElasticsearchSource::new("logs", &s).expect_err("bad delay");
    assert_eq!(err.setting, "query_delay");
    assert_eq!(err.datasource, "logs");
}

#[tokio::test]
async fn a_rule_file_runs_end_to_end_through_source_query() {
    let fake = FakeEs::start().await;
    fake.add_index("logs-2023.11.14", service_logs());
    fake.expect_range("@timestamp", AT_MS - 60_000 - 300_000, AT_MS - 60_000);
    let text = format!(
        r#"datasource elasticsearch logs {{
  url "{url}"
  index "logs-*"
  time_field "@timestamp"
  query_delay 1m
}}

group log_alerts {{
  every 1m
  alert ErrorBurst {{
    query elasticsearch logs count where `log.level:error` over 5m by service.name
    warning when value > 1 for 2m
    summary "{{{{ $labels.service_name }}}} logged {{{{ $value }}}} errors"
  }}
}}
"#,
        url = fake.url
    );
    let loaded = klaxon::model::load::load_sources(&[("es.rules", &text)]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let ds = loaded.rules.datasources.first().expect("the datasource");
    let settings = HttpSettings::from_datasource(ds).expect("settings");
    let source = klaxon::source::Source::Elasticsearch(
        ElasticsearchSource::new(&ds.name, &settings).expect("source"),
    );
    let (_, rule) = loaded.rules.rules().next().expect("the rule");
    let samples = source
        .query(&rule.query, at(), TIMEOUT)
        .await
        .expect("query");
    // Shifted by 1m: checkout's errors 30s and exactly 60s ago are not in
    // the window yet, its error 301s ago is.
    assert_eq!(
        table(&samples),
        vec![
            row(&[("service_name", "cart")], 1.0),
            row(&[("service_name", "checkout")], 1.0)
        ]
    );
    assert_eq!(fake.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn the_fake_refuses_what_elasticsearch_refuses() {
    // Guards the guard: a body Elasticsearch would reject is rejected here
    // too, so the tests above cannot pass on a malformed request.
    let fake = FakeEs::start().await;
    fake.add_index("logs", vec![]);
    let post = |body: Value| {
        reqwest::Client::new()
            .post(format!("{}/logs/_search", fake.url))
            .json(&body)
            .send()
    };
    let answer: Value = post(json!({"size": 0, "aggs": {"m": {"average": {"field": "x"}}}}))
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["error"]["type"], json!("parsing_exception"));
    let answer =
        post(json!({"size": 0, "query": {"range": {"@timestamp": {"gte": 1, "before": 2}}}}))
            .await
            .expect("send");
    assert_eq!(answer.status().as_u16(), 400);
    let answer = post(json!({"size": 10})).await.expect("send");
    assert_eq!(answer.status().as_u16(), 400);
    assert_eq!(fake.problems().len(), 3, "{:?}", fake.problems());
}
