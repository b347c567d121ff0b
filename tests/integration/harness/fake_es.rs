//! A fake Elasticsearch 8 `_search` endpoint for the datasource tests.
//!
//! It holds indices of JSON documents and really runs the subset of the
//! search API klaxon uses — `bool.filter` of `range` (epoch_millis) and
//! `query_string` (`field:value`, `field:"a b"`, `field:pre*`, `*`, joined by
//! one operator, the implicit one being `default_operator`, OR unless set),
//! nested `terms` aggregations and the `avg`/`min`/`max`/`sum`/`cardinality`/
//! `percentiles` metrics — and answers in Elasticsearch 8's response format
//! (`took`, `timed_out`, `_shards`, `hits.total {value, relation}`,
//! `aggregations` with `doc_count_error_upper_bound`/`sum_other_doc_count`,
//! `value`/`values`). What it cannot run it refuses, as Elasticsearch does,
//! with Elasticsearch's own error bodies: unknown keys, a concrete index that
//! does not exist (404 `index_not_found_exception`), a `query_string` that does
//! not parse (400 `search_phase_execution_exception` caused by
//! `query_shard_exception`), terms on a `text` field, wrong credentials (401
//! `security_exception`). Differences from the real thing: percentiles are
//! exact (linear interpolation) where Elasticsearch's t-digest approximates,
//! every index has one shard, and strings are `keyword` unless
//! [`FakeEs::map_as_text`] says otherwise (ECS-style mappings).
//!
//! Every request is recorded with whatever it got wrong: the test's own
//! expectations (`size: 0`, the range bounds) are checked too, and a request
//! that misses them is answered with a 400 of type `fake_expectation_failed`.
// Each test uses its own subset of the helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

/// A running fake; stops (and releases hanging requests) when dropped.
pub struct FakeEs {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// How the fake answers instead of running the search.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answers with this status and JSON body.
    Json(u16, Value),
    /// Answers with this status and a body that is not JSON.
    Text(u16, String),
    /// Never answers (until the fake is dropped).
    Hang,
}

/// The credentials the fake insists on.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: ApiKey KEY`.
    ApiKey(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic(String, String),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Raw (still percent-encoded) path.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The body, parsed (`Null` when it was not JSON).
    pub body: Value,
    /// What the request got wrong (empty when it was a valid search).
    pub problems: Vec<String>,
}

impl Recorded {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Default)]
struct Shared {
    indices: BTreeMap<String, Vec<Value>>,
    text_fields: BTreeSet<String>,
    auth: Option<Auth>,
    fault: Option<Fault>,
    expected_range: Option<(String, u64, u64)>,
    requests: Vec<Recorded>,
}

struct Inner {
    shared: Mutex<Shared>,
    stop: watch::Receiver<bool>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panicking test thread must not hide the real failure behind a
        // poisoned lock.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl FakeEs {
    /// Starts on a free loopback port in the current tokio runtime.
    pub async fn start() -> FakeEs {
        super::install_tls_provider();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a loopback port for the fake Elasticsearch");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = watch::channel(false);
        let inner = Arc::new(Inner {
            shared: Mutex::new(Shared::default()),
            stop: stopped.clone(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let mut shutdown = stopped;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                })
                .await;
        });
        FakeEs {
            url: format!("http://{addr}"),
            inner,
            stop,
            task,
        }
    }

    /// Adds (or replaces) an index with these documents.
    pub fn add_index(&self, name: &str, docs: Vec<Value>) {
        self.inner.lock().indices.insert(name.to_string(), docs);
    }

    /// Maps a field as `text` (no aggregations on it), as dynamic mapping
    /// does for strings.
    pub fn map_as_text(&self, field: &str) {
        self.inner.lock().text_fields.insert(field.to_string());
    }

    /// Requires these credentials on every request (Elasticsearch security on).
    pub fn require_auth(&self, auth: Auth) {
        self.inner.lock().auth = Some(auth);
    }

    /// Answers every request this way from now on (after the auth check).
    pub fn set_fault(&self, fault: Fault) {
        self.inner.lock().fault = Some(fault);
    }

    /// Requires the range filter on `field` to be exactly `[gte, lt)` in epoch ms.
    pub fn expect_range(&self, field: &str, gte: u64, lt: u64) {
        self.inner.lock().expected_range = Some((field.to_string(), gte, lt));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// The last request; panics when there was none.
    pub fn last_request(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the fake Elasticsearch received no request")
    }

    /// Everything any request got wrong.
    pub fn problems(&self) -> Vec<String> {
        self.inner
            .lock()
            .requests
            .iter()
            .flat_map(|r| r.problems.clone())
            .collect()
    }
}

impl Drop for FakeEs {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------
// Elasticsearch's error bodies, as Elasticsearch 8 writes them.

/// `{"error": {...root_cause..., type, reason, extra}, "status": N}`.
pub fn es_error(status: u16, kind: &str, reason: &str, extra: Value) -> Value {
    let mut cause = Map::new();
    cause.insert("type".into(), json!(kind));
    cause.insert("reason".into(), json!(reason));
    if let Value::Object(extra) = extra {
        cause.extend(extra);
    }
    let mut error = Map::new();
    error.insert("root_cause".into(), json!([Value::Object(cause.clone())]));
    error.extend(cause);
    json!({ "error": Value::Object(error), "status": status })
}

/// A failure on every shard, wrapped the way the search phase reports it.
pub fn all_shards_failed(status: u16, index: &str, root: Value, reason: Value) -> Value {
    json!({
        "error": {
            "root_cause": [root],
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
            "phase": "query",
            "grouped": true,
            "failed_shards": [{ "shard": 0, "index": index, "node": "dDx9vMhQRnmzYyZ7tW5kqA", "reason": reason }]
        },
        "status": status
    })
}

/// 429 `es_rejected_execution_exception`: the search thread pool queue is full.
pub fn rejected_execution() -> Value {
    es_error(
        429,
        "es_rejected_execution_exception",
        "rejected execution of org.elasticsearch.common.util.concurrent.TimedRunnable@5b3ea5fe on TaskExecutionTimeTrackingEsThreadPoolExecutor[name = es-node-1/search, queue capacity = 1000, task execution EWMA = 4.1ms, total task execution time = 1.2h, org.elasticsearch.common.util.concurrent.TaskExecutionTimeTrackingEsThreadPoolExecutor@1c1e8e5a[Running, pool size = 13, active threads = 13, queued tasks = 1000, completed tasks = 5811377]]",
        json!({}),
    )
}

/// 429 `circuit_breaking_exception`: the parent breaker tripped.
pub fn circuit_breaking() -> Value {
    es_error(
        429,
        "circuit_breaking_exception",
        "[parent] Data too large, data for [<http_request>] would be [1020039560/972.7mb], which is larger than the limit of [1020054732/972.7mb], real usage: [1020039368/972.7mb], new bytes reserved: [192/192b], usages [request=0/0b, fielddata=0/0b, in_flight_requests=192/192b, model_inference=0/0b, eql_sequence=0/0b, accounting=0/0b]",
        json!({ "bytes_wanted": 1020039560u64, "bytes_limit": 1020054732u64, "durability": "PERMANENT" }),
    )
}

fn index_not_found(index: &str) -> Value {
    es_error(
        404,
        "index_not_found_exception",
        &format!("no such index [{index}]"),
        json!({ "resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index }),
    )
}

fn query_string_parse_error(index: &str, query: &str, column: usize) -> Value {
    let expecting = "Was expecting one of:\n    <AND> ...\n    <OR> ...\n    <NOT> ...\n    \"+\" ...\n    \"-\" ...\n    <BAREOPER> ...\n    \"(\" ...\n    \")\" ...\n    \"*\" ...\n    \"^\" ...\n    <QUOTED> ...\n    <TERM> ...\n    <FUZZY_SLOP> ...\n    <PREFIXTERM> ...\n    <WILDTERM> ...\n    <REGEXPTERM> ...\n    \"[\" ...\n    \"{\" ...\n    <NUMBER> ...\n    ";
    let encountered = format!("Encountered \"<EOF>\" at line 1, column {column}.\n{expecting}");
    let shard = json!({
        "type": "query_shard_exception",
        "reason": format!("Failed to parse query [{query}]"),
        "index_uuid": "h5xTSy1tRwqJ0cBh3p0FJw",
        "index": index,
    });
    let mut reason = shard.clone();
    if let Some(obj) = reason.as_object_mut() {
        obj.insert(
            "caused_by".into(),
            json!({
                "type": "parse_exception",
                "reason": format!("Cannot parse '{query}': {encountered}"),
                "caused_by": { "type": "parse_exception", "reason": encountered }
            }),
        );
    }
    all_shards_failed(400, index, shard, reason)
}

fn text_field_aggregation(index: &str, field: &str) -> Value {
    let reason = format!(
        "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
    );
    let cause = json!({ "type": "illegal_argument_exception", "reason": reason });
    let mut body = all_shards_failed(400, index, cause.clone(), cause.clone());
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.insert(
            "caused_by".into(),
            json!({ "type": "illegal_argument_exception", "reason": reason, "caused_by": cause }),
        );
    }
    body
}

fn security(status: u16, reason: String) -> Value {
    es_error(
        status,
        "security_exception",
        &reason,
        json!({ "header": { "WWW-Authenticate": [
            "Basic realm=\"security\", charset=\"UTF-8\"",
            "Bearer realm=\"security\"",
            "ApiKey"
        ] } }),
    )
}

fn parsing(reason: String) -> Value {
    es_error(
        400,
        "parsing_exception",
        &reason,
        json!({ "line": 1, "col": 1 }),
    )
}

fn expectation(problem: &str) -> Value {
    es_error(400, "fake_expectation_failed", problem, json!({}))
}

// ---------------------------------------------------------------------------
// The handler.

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("ApiKey"),
        );
    }
    response
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let parsed_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut record = Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: headers.clone(),
        body: parsed_body.clone(),
        problems: Vec::new(),
    };
    let outcome = {
        let shared = inner.lock();
        respond(&shared, &mut record, &body, started)
    };
    inner.lock().requests.push(record);
    match outcome {
        Outcome::Answer(status, body) => json_response(status, &body),
        Outcome::Text(status, text) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            [(header::CONTENT_TYPE, "text/html")],
            text,
        )
            .into_response(),
        Outcome::Hang => {
            let mut stop = inner.stop.clone();
            let _ = stop.wait_for(|s| *s).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

enum Outcome {
    Answer(u16, Value),
    Text(u16, String),
    Hang,
}

fn respond(shared: &Shared, record: &mut Recorded, raw: &[u8], started: Instant) -> Outcome {
    let request_line = match &record.query {
        Some(q) => format!("{}?{q}", record.path),
        None => record.path.clone(),
    };
    if let Some(Fault::Hang) = shared.fault {
        return Outcome::Hang;
    }
    if let Some(auth) = &shared.auth {
        let given = record.header("authorization");
        let ok = match (auth, given.as_deref()) {
            (Auth::ApiKey(key), Some(h)) => h == format!("ApiKey {key}"),
            (Auth::Basic(user, password), Some(h)) => {
                use base64::Engine as _;
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                h == format!("Basic {encoded}")
            }
            (_, None) => {
                record
                    .problems
                    .push("no credentials (security is on)".into());
                return Outcome::Answer(
                    401,
                    security(
                        401,
                        format!(
                            "missing authentication credentials for REST request [{request_line}]"
                        ),
                    ),
                );
            }
        };
        if !ok {
            record.problems.push("wrong credentials".into());
            let reason = match given.as_deref() {
                Some(h) if h.starts_with("Basic ") => format!(
                    "unable to authenticate user [{}] for REST request [{request_line}]",
                    basic_user(h).unwrap_or_default()
                ),
                _ => "unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_string(),
            };
            return Outcome::Answer(401, security(401, reason));
        }
    }
    match &shared.fault {
        Some(Fault::Json(status, body)) => return Outcome::Answer(*status, body.clone()),
        Some(Fault::Text(status, body)) => return Outcome::Text(*status, body.clone()),
        Some(Fault::Hang) | None => {}
    }
    match search(shared, record, raw, started) {
        Ok(body) => Outcome::Answer(200, body),
        Err((status, body)) => {
            let kind = body
                .pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or("error");
            if kind == "fake_expectation_failed" || kind == "parsing_exception" {
                // Only a problem when klaxon sent it; deliberate errors the
                // test provokes (index not found, bad query) are recorded too
                // but tests look at their own outcome.
                let reason = body
                    .pointer("/error/reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                record.problems.push(format!("{kind}: {reason}"));
            }
            Outcome::Answer(status, body)
        }
    }
}

fn basic_user(header: &str) -> Option<String> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(header.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next()?.to_string())
}

type EsResult<T> = Result<T, (u16, Value)>;

const QUERY_PARAMS: &[&str] = &[
    "allow_partial_search_results",
    "allow_no_indices",
    "ignore_unavailable",
    "request_cache",
    "timeout",
    "track_total_hits",
    "typed_keys",
];

fn search(shared: &Shared, record: &mut Recorded, raw: &[u8], started: Instant) -> EsResult<Value> {
    let request_line = record.path.clone();
    if record.method != "POST" && record.method != "GET" {
        return Err((
            405,
            json!({ "error": format!("Incorrect HTTP method for uri [{request_line}] and method [{}], allowed: [POST, GET]", record.method), "status": 405 }),
        ));
    }
    if record.method != "POST" {
        record
            .problems
            .push(format!("method {} (klaxon posts)", record.method));
    }
    let Some(target) = record
        .path
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix("/_search"))
        .filter(|t| !t.is_empty() && !t.contains('/'))
    else {
        return Err((
            400,
            json!({ "error": format!("no handler found for uri [{request_line}] and method [{}]", record.method), "status": 400 }),
        ));
    };
    let target = percent_decode(target);
    for pair in record.query.as_deref().unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name.is_empty() {
            continue;
        }
        if !QUERY_PARAMS.contains(&name) {
            return Err((
                400,
                es_error(
                    400,
                    "illegal_argument_exception",
                    &format!("request [{request_line}] contains unrecognized parameter: [{name}]"),
                    json!({}),
                ),
            ));
        }
        if name == "allow_partial_search_results" && value != "true" && value != "false" {
            return Err((
                400,
                es_error(
                    400,
                    "illegal_argument_exception",
                    &format!(
                        "Failed to parse value [{value}] as only [true] or [false] are allowed."
                    ),
                    json!({}),
                ),
            ));
        }
    }
    let content_type = record.header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !matches!(
        media,
        "application/json" | "application/vnd.elasticsearch+json"
    ) {
        return Err((
            406,
            json!({ "error": format!("Content-Type header [{content_type}] is not supported"), "status": 406 }),
        ));
    }
    let body: Value = serde_json::from_slice(raw).map_err(|e| {
        (
            400,
            es_error(
                400,
                "x_content_parse_exception",
                &format!("[1:1] {e}"),
                json!({}),
            ),
        )
    })?;
    let request = parse_search(&body)?;
    if request.size != 0 {
        return Err((
            400,
            expectation(&format!(
                "size is {} (klaxon needs only aggregations: 0)",
                request.size
            )),
        ));
    }
    if let Some((field, gte, lt)) = &shared.expected_range {
        let found = request.filters.iter().find_map(|c| match c {
            Clause::Range(r) if &r.field == field => Some(r),
            _ => None,
        });
        match found {
            Some(r)
                if r.gte == Some(*gte as i64)
                    && r.lt == Some(*lt as i64)
                    && r.gt.is_none()
                    && r.lte.is_none()
                    && r.format.as_deref() == Some("epoch_millis") => {}
            Some(r) => {
                return Err((
                    400,
                    expectation(&format!(
                        "range on [{field}] is gte={:?} gt={:?} lt={:?} lte={:?} format={:?}, expected gte={gte} lt={lt} format=epoch_millis",
                        r.gte, r.gt, r.lt, r.lte, r.format
                    )),
                ));
            }
            None => {
                return Err((400, expectation(&format!("no range filter on [{field}]"))));
            }
        }
    }

    // Resolve the target to indices.
    let mut names: Vec<&String> = Vec::new();
    for pattern in target.split(',') {
        if pattern.contains('*') {
            names.extend(shared.indices.keys().filter(|n| wildcard(pattern, n)));
        } else if let Some((name, _)) = shared.indices.get_key_value(pattern) {
            names.push(name);
        } else {
            return Err((404, index_not_found(pattern)));
        }
    }
    names.sort();
    names.dedup();

    // Run the query.
    let mut matched: Vec<&Value> = Vec::new();
    for name in &names {
        for doc in shared.indices.get(*name).into_iter().flatten() {
            let mut keep = true;
            for clause in &request.filters {
                if !clause_matches(clause, doc, name)? {
                    keep = false;
                    break;
                }
            }
            if keep {
                matched.push(doc);
            }
        }
    }
    let first_index = names.first().map(|s| s.as_str()).unwrap_or("_na_");
    let total = matched.len() as u64;
    let mut hits = Map::new();
    match request.track_total_hits {
        TrackTotal::Exact => {
            hits.insert("total".into(), json!({ "value": total, "relation": "eq" }));
        }
        TrackTotal::UpTo(limit) => {
            let (value, relation) = if total > limit {
                (limit, "gte")
            } else {
                (total, "eq")
            };
            hits.insert(
                "total".into(),
                json!({ "value": value, "relation": relation }),
            );
        }
        TrackTotal::Off => {}
    }
    hits.insert("max_score".into(), Value::Null);
    hits.insert("hits".into(), json!([]));
    let mut answer = Map::new();
    answer.insert("took".into(), json!(started.elapsed().as_millis() as u64));
    answer.insert("timed_out".into(), json!(false));
    answer.insert(
        "_shards".into(),
        json!({ "total": names.len(), "successful": names.len(), "skipped": 0, "failed": 0 }),
    );
    answer.insert("hits".into(), Value::Object(hits));
    if !request.aggs.is_empty() && !names.is_empty() {
        let aggs = run_aggs(&request.aggs, &matched, first_index, &shared.text_fields)?;
        answer.insert("aggregations".into(), Value::Object(aggs));
    }
    Ok(Value::Object(answer))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes.get(i).copied().unwrap_or_default();
        if byte == b'%'
            && let Some(Ok(b)) = text.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(byte);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

// ---------------------------------------------------------------------------
// Request parsing: the keys Elasticsearch 8 accepts, strictly.

enum TrackTotal {
    Exact,
    UpTo(u64),
    Off,
}

struct SearchRequest {
    size: u64,
    track_total_hits: TrackTotal,
    filters: Vec<Clause>,
    aggs: Vec<(String, AggSpec)>,
}

struct RangeClause {
    field: String,
    gte: Option<i64>,
    gt: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
    format: Option<String>,
}

enum Clause {
    Range(RangeClause),
    QueryString { query: String, default_and: bool },
    MatchAll,
}

enum Metric {
    Avg,
    Min,
    Max,
    Sum,
    Cardinality,
}

enum AggKind {
    Terms {
        field: String,
        size: u64,
    },
    Metric {
        op: Metric,
        field: String,
    },
    Percentiles {
        field: String,
        percents: Vec<f64>,
        keyed: bool,
    },
}

struct AggSpec {
    kind: AggKind,
    subs: Vec<(String, AggSpec)>,
}

const SEARCH_KEYS: &[&str] = &[
    "size",
    "from",
    "track_total_hits",
    "timeout",
    "query",
    "aggs",
    "aggregations",
    "_source",
    "sort",
];

fn parse_search(body: &Value) -> EsResult<SearchRequest> {
    let Value::Object(map) = body else {
        return Err((400, parsing("request body must be an object".into())));
    };
    for key in map.keys() {
        if !SEARCH_KEYS.contains(&key.as_str()) {
            return Err((400, parsing(format!("Unknown key for a VALUE in [{key}]."))));
        }
    }
    let size = match map.get("size") {
        None => 10,
        Some(v) => v.as_u64().ok_or_else(|| {
            (
                400,
                parsing(format!("[size] must be a non-negative integer, got {v}")),
            )
        })?,
    };
    let track_total_hits = match map.get("track_total_hits") {
        None => TrackTotal::UpTo(10_000),
        Some(Value::Bool(true)) => TrackTotal::Exact,
        Some(Value::Bool(false)) => TrackTotal::Off,
        Some(v) => TrackTotal::UpTo(v.as_u64().ok_or_else(|| {
            (
                400,
                parsing(format!(
                    "[track_total_hits] must be a boolean or an integer, got {v}"
                )),
            )
        })?),
    };
    if let Some(t) = map.get("timeout") {
        let ok = t.as_str().is_some_and(|s| {
            let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let unit = &s[digits.len()..];
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && matches!(unit, "nanos" | "micros" | "ms" | "s" | "m" | "h" | "d")
        });
        if !ok {
            return Err((
                400,
                es_error(
                    400,
                    "illegal_argument_exception",
                    &format!(
                        "failed to parse setting [timeout] with value [{t}] as a time value: unit is missing or unrecognized"
                    ),
                    json!({}),
                ),
            ));
        }
    }
    let filters = match map.get("query") {
        None => vec![Clause::MatchAll],
        Some(q) => parse_query(q)?,
    };
    let aggs = match (map.get("aggs"), map.get("aggregations")) {
        (Some(_), Some(_)) => {
            return Err((400, parsing("Found two aggregation definitions".into())));
        }
        (Some(a), None) | (None, Some(a)) => parse_aggs(a)?,
        (None, None) => Vec::new(),
    };
    Ok(SearchRequest {
        size,
        track_total_hits,
        filters,
        aggs,
    })
}

fn single_key(v: &Value, what: &str) -> EsResult<(String, Value)> {
    match v {
        Value::Object(m) if m.len() == 1 => m
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .ok_or_else(|| (400, parsing(format!("[{what}] is empty")))),
        _ => Err((
            400,
            parsing(format!(
                "[{what}] malformed query, expected an object with one key"
            )),
        )),
    }
}

fn parse_query(q: &Value) -> EsResult<Vec<Clause>> {
    let (kind, inner) = single_key(q, "query")?;
    match kind.as_str() {
        "bool" => {
            let Value::Object(b) = &inner else {
                return Err((400, parsing("[bool] malformed query".into())));
            };
            let mut out = Vec::new();
            for (key, value) in b {
                match key.as_str() {
                    "filter" | "must" => {
                        let items = match value {
                            Value::Array(items) => items.clone(),
                            other => vec![other.clone()],
                        };
                        for item in &items {
                            out.extend(parse_query(item)?);
                        }
                    }
                    _ => {
                        return Err((
                            400,
                            parsing(format!("[bool] query does not support [{key}]")),
                        ));
                    }
                }
            }
            Ok(out)
        }
        "match_all" => Ok(vec![Clause::MatchAll]),
        "range" => {
            let (field, bounds) = single_key(&inner, "range")?;
            let Value::Object(bounds) = bounds else {
                return Err((400, parsing("[range] query malformed".into())));
            };
            let mut r = RangeClause {
                field,
                gte: None,
                gt: None,
                lt: None,
                lte: None,
                format: None,
            };
            for (key, value) in &bounds {
                let millis = || -> EsResult<i64> {
                    match value {
                        Value::Number(n) => n.as_i64(),
                        Value::String(s) => s.parse().ok(),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        (
                            400,
                            parsing(format!(
                                "failed to parse date field [{value}] with format [epoch_millis]"
                            )),
                        )
                    })
                };
                match key.as_str() {
                    "gte" => r.gte = Some(millis()?),
                    "gt" => r.gt = Some(millis()?),
                    "lt" => r.lt = Some(millis()?),
                    "lte" => r.lte = Some(millis()?),
                    "format" => r.format = value.as_str().map(str::to_string),
                    "time_zone" | "boost" => {}
                    _ => {
                        return Err((
                            400,
                            parsing(format!("[range] query does not support [{key}]")),
                        ));
                    }
                }
            }
            if let Some(f) = &r.format
                && f != "epoch_millis"
            {
                return Err((
                    400,
                    parsing(format!(
                        "the fake only knows format epoch_millis, got [{f}]"
                    )),
                ));
            }
            Ok(vec![Clause::Range(r)])
        }
        "query_string" => {
            let Value::Object(qs) = &inner else {
                return Err((400, parsing("[query_string] malformed query".into())));
            };
            let mut query = None;
            let mut default_and = false;
            for (key, value) in qs {
                match key.as_str() {
                    "query" => query = value.as_str().map(str::to_string),
                    "default_operator" => {
                        default_and = value
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case("and"))
                    }
                    "analyze_wildcard" | "default_field" | "lenient" | "time_zone" | "boost" => {}
                    _ => {
                        return Err((
                            400,
                            parsing(format!("[query_string] query does not support [{key}]")),
                        ));
                    }
                }
            }
            let query = query.ok_or_else(|| {
                (
                    400,
                    parsing("[query_string] must be provided with a [query]".into()),
                )
            })?;
            Ok(vec![Clause::QueryString { query, default_and }])
        }
        other => Err((400, parsing(format!("unknown query [{other}]")))),
    }
}

fn parse_aggs(aggs: &Value) -> EsResult<Vec<(String, AggSpec)>> {
    let Value::Object(map) = aggs else {
        return Err((400, parsing("[aggs] must be an object".into())));
    };
    let mut out = Vec::new();
    for (name, def) in map {
        if name.contains(['[', ']', '>']) {
            return Err((
                400,
                parsing(format!(
                    "Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'"
                )),
            ));
        }
        let Value::Object(def) = def else {
            return Err((
                400,
                parsing(format!("Expected [START_OBJECT] under [{name}]")),
            ));
        };
        let mut kind = None;
        let mut subs = Vec::new();
        for (key, body) in def {
            match key.as_str() {
                "aggs" | "aggregations" => subs = parse_aggs(body)?,
                "meta" => {}
                _ if kind.is_some() => {
                    return Err((
                        400,
                        parsing(format!(
                            "Found two aggregation type definitions in [{name}]: [{key}]"
                        )),
                    ));
                }
                _ => kind = Some(parse_agg_kind(name, key, body)?),
            }
        }
        let kind = kind.ok_or_else(|| {
            (
                400,
                parsing(format!("Missing definition for aggregation [{name}]")),
            )
        })?;
        if !matches!(kind, AggKind::Terms { .. }) && !subs.is_empty() {
            return Err((
                400,
                es_error(
                    400,
                    "aggregation_initialization_exception",
                    &format!("Aggregator [{name}] of type [metric] cannot accept sub-aggregations"),
                    json!({}),
                ),
            ));
        }
        out.push((name.clone(), AggSpec { kind, subs }));
    }
    Ok(out)
}

fn parse_agg_kind(name: &str, key: &str, body: &Value) -> EsResult<AggKind> {
    let Value::Object(body) = body else {
        return Err((
            400,
            parsing(format!("[{key}] under [{name}] must be an object")),
        ));
    };
    let allowed: &[&str] = match key {
        "terms" => &[
            "field",
            "size",
            "min_doc_count",
            "shard_size",
            "order",
            "missing",
        ],
        "avg" | "min" | "max" | "sum" | "cardinality" => {
            &["field", "missing", "precision_threshold"]
        }
        "percentiles" => &["field", "percents", "keyed", "missing", "tdigest"],
        _ => {
            return Err((
                400,
                parsing(format!(
                    "Unknown aggregation type [{key}] did you mean [terms]?"
                )),
            ));
        }
    };
    for k in body.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err((400, parsing(format!("[{key}] unknown field [{k}]"))));
        }
    }
    let field = body
        .get("field")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            (
                400,
                es_error(
                    400,
                    "illegal_argument_exception",
                    &format!("Required [field] for aggregation [{name}]"),
                    json!({}),
                ),
            )
        })?;
    Ok(match key {
        "terms" => {
            let size = match body.get("size") {
                None => 10,
                Some(v) => v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
                    (
                        400,
                        parsing(format!(
                            "[size] must be greater than 0. Found [{v}] in [{name}]"
                        )),
                    )
                })?,
            };
            AggKind::Terms { field, size }
        }
        "percentiles" => {
            let percents = match body.get("percents") {
                None => vec![1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0],
                Some(Value::Array(items)) if !items.is_empty() => {
                    let mut out = Vec::new();
                    for item in items {
                        let p = item
                            .as_f64()
                            .filter(|p| (0.0..=100.0).contains(p))
                            .ok_or_else(|| {
                                (
                                    400,
                                    parsing(format!(
                                        "[percents] must be in the range [0.0, 100.0], got {item}"
                                    )),
                                )
                            })?;
                        out.push(p);
                    }
                    out
                }
                Some(v) => {
                    return Err((
                        400,
                        parsing(format!("[percents] must not be empty, got {v}")),
                    ));
                }
            };
            let keyed = body.get("keyed").and_then(Value::as_bool).unwrap_or(true);
            AggKind::Percentiles {
                field,
                percents,
                keyed,
            }
        }
        other => AggKind::Metric {
            op: match other {
                "avg" => Metric::Avg,
                "min" => Metric::Min,
                "max" => Metric::Max,
                "sum" => Metric::Sum,
                _ => Metric::Cardinality,
            },
            field,
        },
    })
}

// ---------------------------------------------------------------------------
// Execution.

/// Every value of a dotted field in a document, whether the document is
/// flat (`{"service.name": ..}`) or nested (`{"service": {"name": ..}}`).
/// `X.keyword` reads the strings of `X`, like the sub-field dynamic mapping adds.
fn field_values(doc: &Value, field: &str) -> Vec<Value> {
    fn lookup(v: &Value, path: &str, out: &mut Vec<Value>) {
        if let Some(found) = v.get(path) {
            match found {
                Value::Array(items) => out.extend(items.iter().cloned()),
                Value::Null => {}
                other => out.push(other.clone()),
            }
            return;
        }
        for (i, _) in path.match_indices('.') {
            if let Some(child) = v.get(&path[..i]) {
                lookup(child, &path[i + 1..], out);
            }
        }
    }
    let mut out = Vec::new();
    lookup(doc, field, &mut out);
    if out.is_empty()
        && let Some(base) = field.strip_suffix(".keyword")
    {
        lookup(doc, base, &mut out);
        out.retain(Value::is_string);
    }
    out
}

fn epoch_millis(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
            .or_else(|| s.parse().ok()),
        _ => None,
    }
}

fn clause_matches(clause: &Clause, doc: &Value, index: &str) -> EsResult<bool> {
    Ok(match clause {
        Clause::MatchAll => true,
        Clause::Range(r) => field_values(doc, &r.field)
            .iter()
            .filter_map(epoch_millis)
            .any(|t| {
                r.gte.is_none_or(|b| t >= b)
                    && r.gt.is_none_or(|b| t > b)
                    && r.lt.is_none_or(|b| t < b)
                    && r.lte.is_none_or(|b| t <= b)
            }),
        Clause::QueryString { query, default_and } => {
            let parsed = parse_query_string(query, *default_and, index)?;
            parsed.matches(doc)
        }
    })
}

struct ParsedQueryString {
    terms: Vec<(Option<String>, String)>,
    all: bool,
}

impl ParsedQueryString {
    fn matches(&self, doc: &Value) -> bool {
        let one = |(field, value): &(Option<String>, String)| -> bool {
            let Some(field) = field else {
                return value == "*";
            };
            field_values(doc, field).iter().any(|v| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match value.strip_suffix('*') {
                    Some(prefix) => text.starts_with(prefix),
                    None => &text == value,
                }
            })
        };
        if self.all {
            self.terms.iter().all(one)
        } else {
            self.terms.iter().any(one)
        }
    }
}

/// The fake's `query_string` subset; anything that would not parse in
/// Lucene gets Lucene's error, anything else beyond the subset is a 400
/// `fake_expectation_failed`.
fn parse_query_string(query: &str, default_and: bool, index: &str) -> EsResult<ParsedQueryString> {
    let parse_error = || {
        (
            400,
            query_string_parse_error(index, query, query.chars().count()),
        )
    };
    let quotes = query.matches('"').count();
    let open = query.matches('(').count();
    let close = query.matches(')').count();
    if quotes % 2 == 1 || open != close {
        return Err(parse_error());
    }
    if open > 0 {
        return Err((400, expectation("the fake query_string has no grouping")));
    }
    // Tokens: whitespace separated, quoted values kept whole.
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    for c in query.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            c if c.is_whitespace() && !in_quotes => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    let mut terms = Vec::new();
    let mut operators = BTreeSet::new();
    let mut expect_term = true;
    for token in tokens {
        if token == "AND" || token == "OR" {
            if expect_term {
                return Err(parse_error());
            }
            operators.insert(token == "AND");
            expect_term = true;
            continue;
        }
        if !expect_term {
            operators.insert(default_and);
        }
        expect_term = false;
        if token == "*" {
            terms.push((None, token));
            continue;
        }
        let Some((field, value)) = token.split_once(':') else {
            return Err((
                400,
                expectation(&format!(
                    "the fake query_string needs field:value, got [{token}]"
                )),
            ));
        };
        if field.is_empty() || value.is_empty() {
            return Err(parse_error());
        }
        let value = value.trim_matches('"').to_string();
        terms.push((Some(field.to_string()), value));
    }
    if expect_term && !terms.is_empty() {
        return Err(parse_error());
    }
    if operators.len() > 1 {
        return Err((
            400,
            expectation("the fake query_string does not mix AND and OR"),
        ));
    }
    let all = operators.first().copied().unwrap_or(true);
    Ok(ParsedQueryString { terms, all })
}

#[derive(Clone, PartialEq, PartialOrd)]
enum Key {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Key {
    fn of(v: &Value) -> Option<Key> {
        match v {
            Value::String(s) => Some(Key::Str(s.clone())),
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Key::Int(i)),
                None => n.as_f64().map(Key::Float),
            },
            _ => None,
        }
    }

    fn write(&self, bucket: &mut Map<String, Value>) {
        match self {
            Key::Str(s) => {
                bucket.insert("key".into(), json!(s));
            }
            Key::Int(i) => {
                bucket.insert("key".into(), json!(i));
            }
            Key::Float(f) => {
                bucket.insert("key".into(), json!(f));
            }
            Key::Bool(b) => {
                bucket.insert("key".into(), json!(u8::from(*b)));
                bucket.insert("key_as_string".into(), json!(b.to_string()));
            }
        }
    }
}

/// Java's `Double.toString` for the percents Elasticsearch keys values by.
pub fn java_double(p: f64) -> String {
    if p.fract() == 0.0 && p.abs() < 1e7 {
        format!("{p:.1}")
    } else {
        format!("{p}")
    }
}

fn run_aggs(
    aggs: &[(String, AggSpec)],
    docs: &[&Value],
    index: &str,
    text_fields: &BTreeSet<String>,
) -> EsResult<Map<String, Value>> {
    let mut out = Map::new();
    for (name, spec) in aggs {
        let result = match &spec.kind {
            AggKind::Terms { field, size } => {
                if text_fields.contains(field) {
                    return Err((400, text_field_aggregation(index, field)));
                }
                let mut groups: Vec<(Key, Vec<&Value>)> = Vec::new();
                for doc in docs {
                    let mut seen = Vec::new();
                    for v in field_values(doc, field) {
                        let Some(key) = Key::of(&v) else { continue };
                        if seen.contains(&key) {
                            continue;
                        }
                        seen.push(key.clone());
                        match groups.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, members)) => members.push(doc),
                            None => groups.push((key, vec![doc])),
                        }
                    }
                }
                groups.sort_by(|a, b| {
                    b.1.len()
                        .cmp(&a.1.len())
                        .then(a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal))
                });
                let cut = usize::try_from(*size)
                    .unwrap_or(usize::MAX)
                    .min(groups.len());
                let other: usize = groups.iter().skip(cut).map(|g| g.1.len()).sum();
                let mut buckets = Vec::new();
                for (key, members) in groups.iter().take(cut) {
                    let mut bucket = Map::new();
                    key.write(&mut bucket);
                    bucket.insert("doc_count".into(), json!(members.len()));
                    bucket.extend(run_aggs(&spec.subs, members, index, text_fields)?);
                    buckets.push(Value::Object(bucket));
                }
                json!({
                    "doc_count_error_upper_bound": 0,
                    "sum_other_doc_count": other,
                    "buckets": buckets
                })
            }
            AggKind::Metric { op, field } => {
                if let Metric::Cardinality = op {
                    let distinct: BTreeSet<String> = docs
                        .iter()
                        .flat_map(|d| field_values(d, field))
                        .map(|v| v.to_string())
                        .collect();
                    json!({ "value": distinct.len() })
                } else {
                    let values = numeric_values(docs, field, op_name(op), index, text_fields)?;
                    let value = match op {
                        Metric::Avg if values.is_empty() => Value::Null,
                        Metric::Avg => json!(values.iter().sum::<f64>() / values.len() as f64),
                        Metric::Sum => json!(values.iter().sum::<f64>()),
                        Metric::Min => values
                            .iter()
                            .copied()
                            .reduce(f64::min)
                            .map_or(Value::Null, |v| json!(v)),
                        Metric::Max => values
                            .iter()
                            .copied()
                            .reduce(f64::max)
                            .map_or(Value::Null, |v| json!(v)),
                        Metric::Cardinality => Value::Null,
                    };
                    json!({ "value": value })
                }
            }
            AggKind::Percentiles {
                field,
                percents,
                keyed,
            } => {
                let mut values = numeric_values(docs, field, "percentiles", index, text_fields)?;
                values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let at = |p: f64| -> Value {
                    if values.is_empty() {
                        return Value::Null;
                    }
                    let rank = p / 100.0 * (values.len() - 1) as f64;
                    let low = rank.floor() as usize;
                    let high = (low + 1).min(values.len() - 1);
                    let (Some(a), Some(b)) = (values.get(low), values.get(high)) else {
                        return Value::Null;
                    };
                    json!(a + (b - a) * (rank - low as f64))
                };
                if *keyed {
                    let map: Map<String, Value> =
                        percents.iter().map(|p| (java_double(*p), at(*p))).collect();
                    json!({ "values": map })
                } else {
                    let list: Vec<Value> = percents
                        .iter()
                        .map(|p| json!({ "key": p, "value": at(*p) }))
                        .collect();
                    json!({ "values": list })
                }
            }
        };
        out.insert(name.clone(), result);
    }
    Ok(out)
}

fn op_name(op: &Metric) -> &'static str {
    match op {
        Metric::Avg => "avg",
        Metric::Min => "min",
        Metric::Max => "max",
        Metric::Sum => "sum",
        Metric::Cardinality => "cardinality",
    }
}

fn numeric_values(
    docs: &[&Value],
    field: &str,
    agg: &str,
    index: &str,
    text_fields: &BTreeSet<String>,
) -> EsResult<Vec<f64>> {
    let mut out = Vec::new();
    for doc in docs {
        for v in field_values(doc, field) {
            match v {
                Value::Number(n) => out.extend(n.as_f64()),
                Value::String(_) => {
                    let kind = if text_fields.contains(field) {
                        "text"
                    } else {
                        "keyword"
                    };
                    let reason = format!(
                        "Field [{field}] of type [{kind}] is not supported for aggregation [{agg}]"
                    );
                    let cause = json!({ "type": "illegal_argument_exception", "reason": reason });
                    return Err((400, all_shards_failed(400, index, cause.clone(), cause)));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}
