//! Elasticsearch `_search` aggregations as rule queries.
//!
//! One rule query becomes one `POST {url}/{index}/_search` with `size: 0`:
//!
//! ```json
//! { "size": 0, "track_total_hits": true, "timeout": "27000ms",
//!   "query": { "bool": { "filter": [
//!     { "range": { "@timestamp": { "gte": 1700000000000, "lt": 1700000300000,
//!                                  "format": "epoch_millis" } } },
//!     { "query_string": { "query": "log.level:error", "analyze_wildcard": true } } ] } },
//!   "aggs": { "by_0": { "terms": { "field": "service.name", "size": 10000 },
//!                       "aggs": { "metric": { "avg": { "field": "event.duration" } } } } } }
//! ```
//!
//! Choices, and why:
//! - The window is `[at - query_delay - over, at - query_delay)`, half-open,
//!   so consecutive evaluations never count a document twice.
//! - `where` is a `query_string` with `analyze_wildcard: true` and
//!   Elasticsearch's default operator (OR), exactly what Kibana's Lucene bar
//!   and Grafana send, so a query pasted from either finds the same documents.
//! - `by` terms become nested `terms` aggregations (works on every
//!   Elasticsearch and OpenSearch version, unlike `multi_terms`) with a fixed
//!   size of [`TERMS_SIZE`]; when Elasticsearch reports documents outside the
//!   returned buckets (`sum_other_doc_count > 0`) the buckets it did return
//!   are used and a warning is logged.
//! - `count` is `hits.total.value` (with `track_total_hits: true`, exact) or a
//!   bucket's `doc_count`, so it is `0`, not absent, when nothing matched.
//! - A metric that is `null` (avg/min/max/percentile over no values) gives no
//!   sample for that bucket: there is no number to compare, and the rule's
//!   `nodata` applies instead of a made-up 0.
//! - Partial answers (`timed_out: true`, failed shards) are errors: a count
//!   from half the shards would look like a quiet system and resolve alerts.
//!   `allow_partial_search_results=false` asks Elasticsearch to fail them too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::{HttpSettings, Sample, SettingsError, SourceError};
pub use crate::model::components::datasource::DEFAULT_TIME_FIELD;
use crate::model::components::datasource::ElasticsearchConfig;
use crate::model::{EsAgg, EsQuery};
use crate::vocab::labels::Labels;

/// Buckets asked for per `by` term. Large enough for any label set an alert
/// should fan out to; Elasticsearch's `search.max_buckets` (65,536 by
/// default) still bounds nested terms as a whole.
pub const TERMS_SIZE: u32 = 10_000;

/// Name of the metric sub-aggregation in the request and the answer.
const METRIC_AGG: &str = "metric";

/// An Elasticsearch datasource: an index pattern, a time field and a client.
#[derive(Clone)]
pub struct ElasticsearchSource {
    name: String,
    client: reqwest::Client,
    search_url: String,
    time_field: String,
    query_delay: Duration,
    default_timeout: Option<Duration>,
}

impl std::fmt::Debug for ElasticsearchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElasticsearchSource")
            .field("name", &self.name)
            .field("search_url", &self.search_url)
            .field("time_field", &self.time_field)
            .field("query_delay", &self.query_delay)
            .finish_non_exhaustive()
    }
}

impl ElasticsearchSource {
    /// Checks the settings (`index` is required; `time_field` defaults to
    /// `@timestamp`, `query_delay` to 0) as validation does and builds the
    /// client. Nothing is sent until the first search.
    pub fn new(name: &str, settings: &HttpSettings) -> Result<Self, SettingsError> {
        let config = ElasticsearchConfig::from_http(settings).map_err(|(setting, message)| {
            SettingsError {
                datasource: name.to_string(),
                setting: setting.to_string(),
                message,
            }
        })?;
        Self::from_config(name, &config)
    }

    /// Builds the client for a validated datasource. Nothing is sent until
    /// the first search.
    pub fn from_config(name: &str, config: &ElasticsearchConfig) -> Result<Self, SettingsError> {
        let settings = &config.http;
        let client = settings.client(name)?;
        Ok(ElasticsearchSource {
            name: name.to_string(),
            client,
            search_url: format!(
                "{}/{}/_search?allow_partial_search_results=false",
                settings.url.trim_end_matches('/'),
                escape_index(&config.index)
            ),
            time_field: config.time_field.clone(),
            query_delay: config.query_delay,
            default_timeout: settings.timeout,
        })
    }

    /// The `_search` URL queries are posted to, for messages.
    pub fn search_url(&self) -> &str {
        &self.search_url
    }

    /// The request body for `query` evaluated at `at`: the window ends
    /// `query_delay` before `at`. `timeout` is passed to Elasticsearch so it
    /// stops the search itself shortly before klaxon gives up.
    pub fn request_body(&self, query: &EsQuery, at: SystemTime, timeout: Duration) -> Value {
        let (gte, lt) = self.window(query, at);
        let mut filter = vec![json!({
            "range": { self.time_field.as_str(): { "gte": gte, "lt": lt, "format": "epoch_millis" } }
        })];
        if let Some(text) = query.filter.as_deref().filter(|t| !t.trim().is_empty()) {
            filter.push(json!({ "query_string": { "query": text, "analyze_wildcard": true } }));
        }
        let mut body = Map::new();
        body.insert("size".into(), json!(0));
        if query.agg == EsAgg::Count && query.by.is_empty() {
            body.insert("track_total_hits".into(), json!(true));
        }
        // Elasticsearch's own timeout a little under ours, so a slow search
        // ends with its answer (`timed_out`) rather than a cut connection.
        let es_timeout = timeout.saturating_sub((timeout / 10).min(Duration::from_secs(1)));
        body.insert(
            "timeout".into(),
            json!(format!("{}ms", es_timeout.as_millis().max(1))),
        );
        body.insert("query".into(), json!({ "bool": { "filter": filter } }));
        if let Some(aggs) = aggregations(query) {
            body.insert("aggs".into(), aggs);
        }
        Value::Object(body)
    }

    /// Runs one aggregation over `[at - query_delay - window, at - query_delay)`:
    /// one sample per bucket (labels named by [`EsQuery::label_for`]), or one
    /// unlabelled sample without `by`.
    pub async fn search(
        &self,
        query: &EsQuery,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<Vec<Sample>, SourceError> {
        let timeout = self.default_timeout.map_or(timeout, |t| t.min(timeout));
        let body = self.request_body(query, at, timeout);
        let request = async {
            let response = self
                .client
                .post(&self.search_url)
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(timeout, request).await {
            Err(_) => return Err(SourceError::Timeout(timeout)),
            Ok(Err(e)) => return Err(transport_error(&e, timeout)),
            Ok(Ok(answer)) => answer,
        };
        let answer: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return Err(SourceError::BadResponse(format!(
                    "HTTP {status} from {}, body is not JSON ({e}): {}",
                    self.search_url,
                    snippet(&String::from_utf8_lossy(&bytes))
                )));
            }
        };
        if !status.is_success() {
            return Err(error_answer(status, &answer));
        }
        self.samples(query, &answer)
    }

    fn window(&self, query: &EsQuery, at: SystemTime) -> (u64, u64) {
        let at = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let at_ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        let delay_ms = u64::try_from(self.query_delay.as_millis()).unwrap_or(u64::MAX);
        let lt = at_ms.saturating_sub(delay_ms);
        (lt.saturating_sub(query.window.0), lt)
    }

    /// Reads a 200 answer: refuses partial results, then walks the buckets.
    fn samples(&self, query: &EsQuery, answer: &Value) -> Result<Vec<Sample>, SourceError> {
        if answer.get("timed_out").and_then(Value::as_bool) == Some(true) {
            return Err(SourceError::Rejected(format!(
                "elasticsearch timed out before every shard answered (`timed_out: true`, took {}ms); the partial result is not used",
                answer.get("took").and_then(Value::as_u64).unwrap_or(0)
            )));
        }
        let shards = answer.get("_shards");
        let failed = shards
            .and_then(|s| s.get("failed"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if failed > 0 {
            let total = shards
                .and_then(|s| s.get("total"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let first = shards
                .and_then(|s| s.get("failures"))
                .and_then(|f| f.get(0))
                .and_then(|f| f.get("reason"))
                .map(|r| format!(": {}", describe_cause(r)))
                .unwrap_or_default();
            return Err(SourceError::Rejected(format!(
                "elasticsearch: {failed} of {total} shards failed{first}; the partial result is not used"
            )));
        }
        let (total_hits, exact) = hit_count(answer)?;
        if !exact && query.by.is_empty() && query.agg == EsAgg::Count {
            return Err(SourceError::BadResponse(format!(
                "elasticsearch counted at least {total_hits} documents but not exactly (`relation: gte`) although `track_total_hits: true` was sent"
            )));
        }
        if shards.and_then(|s| s.get("total")).and_then(Value::as_u64) == Some(0) {
            tracing::warn!(
                datasource = %self.name,
                url = %self.search_url,
                "the index pattern matched no index; every query on it counts 0 documents"
            );
        }
        let Some(aggregations) = answer.get("aggregations") else {
            if query.by.is_empty() && query.agg == EsAgg::Count {
                return Ok(vec![Sample {
                    labels: Labels::new(),
                    value: total_hits as f64,
                }]);
            }
            if total_hits == 0 {
                // Searches over no index at all come back without aggregations.
                return Ok(Vec::new());
            }
            return Err(SourceError::BadResponse(
                "the answer has no `aggregations` although the query asked for some".into(),
            ));
        };
        let mut out = Vec::new();
        if query.by.is_empty() {
            let value = if query.agg == EsAgg::Count {
                Some(total_hits as f64)
            } else {
                metric_value(query.agg, aggregations)?
            };
            if let Some(value) = value {
                out.push(Sample {
                    labels: Labels::new(),
                    value,
                });
            }
            return Ok(out);
        }
        let mut labels = Labels::new();
        self.walk(query, aggregations, 0, &mut labels, &mut out)?;
        Ok(out)
    }

    /// Descends the nested `terms` aggregations, one level per `by` term.
    fn walk(
        &self,
        query: &EsQuery,
        node: &Value,
        depth: usize,
        labels: &mut Labels,
        out: &mut Vec<Sample>,
    ) -> Result<(), SourceError> {
        let Some(term) = query.by.get(depth) else {
            let value = if query.agg == EsAgg::Count {
                Some(number(node.get("doc_count"), "doc_count")?)
            } else {
                metric_value(query.agg, node)?
            };
            if let Some(value) = value {
                out.push(Sample {
                    labels: labels.clone(),
                    value,
                });
            }
            return Ok(());
        };
        let name = terms_agg_name(depth);
        let terms = node.get(&name).ok_or_else(|| {
            SourceError::BadResponse(format!("the answer has no `{name}` aggregation"))
        })?;
        let other = terms
            .get("sum_other_doc_count")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if other > 0 {
            tracing::warn!(
                datasource = %self.name,
                term = %term,
                documents_left_out = other,
                "more distinct `by` values than the {TERMS_SIZE} buckets asked for; the rarest are left out"
            );
        }
        let buckets = terms
            .get("buckets")
            .and_then(Value::as_array)
            .ok_or_else(|| SourceError::BadResponse(format!("`{name}` has no `buckets` list")))?;
        let label = EsQuery::label_for(term);
        for bucket in buckets {
            let key = bucket_key(bucket).ok_or_else(|| {
                SourceError::BadResponse(format!("a `{name}` bucket has no usable `key`"))
            })?;
            labels.insert(label.clone(), key);
            self.walk(query, bucket, depth + 1, labels, out)?;
        }
        labels.remove(&label);
        Ok(())
    }
}

fn terms_agg_name(depth: usize) -> String {
    format!("by_{depth}")
}

/// The `aggs` object: nested `terms` per `by` term around the metric, or
/// `None` for a plain count.
fn aggregations(query: &EsQuery) -> Option<Value> {
    let metric = metric_agg(query);
    let mut inner = metric.map(|m| json!({ METRIC_AGG: m }));
    for (depth, term) in query.by.iter().enumerate().rev() {
        let mut agg = json!({ "terms": { "field": term, "size": TERMS_SIZE } });
        if let (Some(sub), Some(obj)) = (inner.take(), agg.as_object_mut()) {
            obj.insert("aggs".into(), sub);
        }
        inner = Some(json!({ terms_agg_name(depth): agg }));
    }
    inner
}

fn metric_agg(query: &EsQuery) -> Option<Value> {
    let field = query.field.as_deref().unwrap_or_default();
    Some(match query.agg {
        EsAgg::Count => return None,
        EsAgg::Avg => json!({ "avg": { "field": field } }),
        EsAgg::Min => json!({ "min": { "field": field } }),
        EsAgg::Max => json!({ "max": { "field": field } }),
        EsAgg::Sum => json!({ "sum": { "field": field } }),
        EsAgg::Cardinality => json!({ "cardinality": { "field": field } }),
        EsAgg::Percentile(p) => json!({ "percentiles": { "field": field, "percents": [p] } }),
    })
}

/// The metric of one bucket (or of the whole answer); `None` when
/// Elasticsearch had no value to aggregate (`"value": null`).
fn metric_value(agg: EsAgg, node: &Value) -> Result<Option<f64>, SourceError> {
    let metric = node.get(METRIC_AGG).ok_or_else(|| {
        SourceError::BadResponse(format!("the answer has no `{METRIC_AGG}` aggregation"))
    })?;
    let value = match agg {
        EsAgg::Percentile(p) => percentile(metric, p)?,
        _ => metric.get("value").ok_or_else(|| {
            SourceError::BadResponse(format!("the `{}` result has no `value`", agg.keyword()))
        })?,
    };
    if value.is_null() {
        return Ok(None);
    }
    number(Some(value), agg.keyword()).map(Some)
}

/// Finds percentile `p` in `values`, keyed by Elasticsearch's text of the
/// percent (`"95.0"`, `"99.9"`), compared as numbers; the `keyed: false`
/// list form is read too.
fn percentile(metric: &Value, p: f64) -> Result<&Value, SourceError> {
    let same = |key: f64| (key - p).abs() <= 1e-9 * p.abs().max(1.0);
    let found = match metric.get("values") {
        Some(Value::Object(values)) => values
            .iter()
            .find(|(k, _)| k.trim().parse::<f64>().is_ok_and(same))
            .map(|(_, v)| v),
        Some(Value::Array(values)) => values
            .iter()
            .find(|e| e.get("key").and_then(Value::as_f64).is_some_and(same))
            .and_then(|e| e.get("value")),
        _ => None,
    };
    found.ok_or_else(|| {
        SourceError::BadResponse(format!(
            "the `percentiles` result has no value for percentile {p}"
        ))
    })
}

fn number(value: Option<&Value>, what: &str) -> Result<f64, SourceError> {
    match value {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| {
            SourceError::BadResponse(format!("`{what}` is not a usable number: {n}"))
        }),
        // Elasticsearch writes non-finite doubles as strings.
        Some(Value::String(s)) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(SourceError::BadResponse(format!(
                "`{what}` is not a number: {s:?}"
            ))),
        },
        Some(other) => Err(SourceError::BadResponse(format!(
            "`{what}` is not a number: {other}"
        ))),
        None => Err(SourceError::BadResponse(format!(
            "the answer has no `{what}`"
        ))),
    }
}

/// `hits.total.value` (Elasticsearch 7+) or `hits.total` (6 and older), and
/// whether it is exact (`relation: eq`) rather than a lower bound.
fn hit_count(answer: &Value) -> Result<(u64, bool), SourceError> {
    let total = answer.get("hits").and_then(|h| h.get("total"));
    let (total, exact) = match total {
        Some(Value::Object(t)) => (
            t.get("value"),
            t.get("relation").and_then(Value::as_str) != Some("gte"),
        ),
        other => (other, true),
    };
    total
        .and_then(Value::as_u64)
        .map(|n| (n, exact))
        .ok_or_else(|| SourceError::BadResponse("the answer has no `hits.total` count".into()))
}

/// A bucket's key as label value: `key_as_string` when Elasticsearch gives
/// one (dates, booleans), else the key; integral numbers without `.0`.
fn bucket_key(bucket: &Value) -> Option<String> {
    if let Some(s) = bucket.get("key_as_string").and_then(Value::as_str) {
        return Some(s.to_string());
    }
    match bucket.get("key")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(format_number(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn format_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            format!("{}", f as i64)
        }
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// Path-escapes an index name or pattern: everything but unreserved
/// characters, `*` (wildcards) and `,` (several patterns) is
/// percent-encoded, so date math such as `<logs-{now/d}>` reaches
/// Elasticsearch intact.
fn escape_index(index: &str) -> String {
    let mut out = String::with_capacity(index.len());
    for byte in index.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'*' | b',') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> SourceError {
    if e.is_timeout() {
        SourceError::Timeout(timeout)
    } else if e.is_body() || e.is_decode() {
        SourceError::BadResponse(super::error_chain(e))
    } else {
        SourceError::Unreachable(super::error_chain(e))
    }
}

/// An error answer as one line: the HTTP status, the most specific
/// Elasticsearch error type and reason, and what to check.
fn error_answer(status: reqwest::StatusCode, answer: &Value) -> SourceError {
    let Some(error) = answer.get("error") else {
        return SourceError::Rejected(format!(
            "elasticsearch answered HTTP {status}: {}",
            snippet(&answer.to_string())
        ));
    };
    let detail = match error {
        Value::String(s) => first_line(s),
        _ => describe_cause(most_specific(error)),
    };
    let types = cause_types(error);
    let has = |t: &str| types.iter().any(|x| x == t);
    let text = detail.to_ascii_lowercase();
    let hint = if status.as_u16() == 429
        || has("es_rejected_execution_exception")
        || has("circuit_breaking_exception")
    {
        "; elasticsearch is overloaded and rate-limited the query, it is retried at the next evaluation"
    } else if has("too_many_buckets_exception") {
        "; fewer `by` terms or a narrower `where` make fewer buckets"
    } else if has("index_not_found_exception") {
        "; check the datasource's `index` setting"
    } else if has("security_exception") && status.as_u16() == 401 {
        "; check the datasource's `api_key` or `basic_auth_user`/`basic_auth_password`"
    } else if has("security_exception") {
        "; the user or API key needs the `read` privilege on the index"
    } else if text.contains("fielddata is disabled")
        || text.contains("text fields are not optimised")
    {
        "; aggregate on a keyword field instead, e.g. `by FIELD.keyword`"
    } else if has("query_shard_exception") || has("parse_exception") {
        "; check the rule's `where` query (Lucene query_string syntax)"
    } else {
        ""
    };
    let lead = if status.as_u16() == 429 {
        format!("elasticsearch rate-limited the query (HTTP {status})")
    } else {
        format!("elasticsearch answered HTTP {status}")
    };
    SourceError::Rejected(format!("{lead}: {detail}{hint}"))
}

/// `search_phase_execution_exception` only says "all shards failed": the
/// first shard failure (or root cause) says why.
fn most_specific(error: &Value) -> &Value {
    if error.get("type").and_then(Value::as_str) != Some("search_phase_execution_exception") {
        return error;
    }
    error
        .get("failed_shards")
        .and_then(|f| f.get(0))
        .and_then(|f| f.get("reason"))
        .or_else(|| error.get("caused_by"))
        .or_else(|| error.get("root_cause").and_then(|r| r.get(0)))
        .unwrap_or(error)
}

/// `type: reason`, then up to two `caused_by` levels that add something.
fn describe_cause(node: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        if parts.len() == 3 {
            break;
        }
        let kind = n.get("type").and_then(Value::as_str).unwrap_or("error");
        let reason = n
            .get("reason")
            .and_then(Value::as_str)
            .map(first_line)
            .unwrap_or_default();
        if !parts
            .iter()
            .any(|p| !reason.is_empty() && p.contains(&reason))
        {
            parts.push(if reason.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}: {reason}")
            });
        }
        cur = n.get("caused_by");
    }
    parts.join(", caused by ")
}

/// Every `type` named anywhere in the error (root causes, shard failures,
/// caused_by chains), to pick a hint.
fn cause_types(error: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![error];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(t) = map.get("type").and_then(Value::as_str) {
                    out.push(t.to_string());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    truncate(line, 300)
}

fn snippet(text: &str) -> String {
    truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 200)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_patterns_keep_wildcards_and_commas_and_escape_date_math() {
        assert_eq!(escape_index("logs-*,metrics-*"), "logs-*,metrics-*");
        assert_eq!(escape_index("<logs-{now/d}>"), "%3Clogs-%7Bnow%2Fd%7D%3E");
        assert_eq!(escape_index("remote:logs"), "remote%3Alogs");
    }

    #[test]
    fn numeric_bucket_keys_drop_a_trailing_zero_fraction() {
        assert_eq!(bucket_key(&json!({"key": 200})).as_deref(), Some("200"));
        assert_eq!(bucket_key(&json!({"key": 200.0})).as_deref(), Some("200"));
        assert_eq!(bucket_key(&json!({"key": 0.5})).as_deref(), Some("0.5"));
        assert_eq!(
            bucket_key(&json!({"key": 1, "key_as_string": "true"})).as_deref(),
            Some("true")
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let text = "é".repeat(200);
        let cut = truncate(&text, 301);
        assert!(cut.ends_with("..."));
        assert_eq!(cut.chars().count(), 150 + 3);
    }
}
