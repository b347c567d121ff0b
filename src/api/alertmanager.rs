//! Alertmanager's API v2, as Alertmanager 0.25 serves it, so Prometheus can
//! list klaxon under `alerting.alertmanagers` unchanged and `amtool
//! --alertmanager.url=<klaxon>` adds, queries and expires silences and lists
//! alerts; plus `POST /api/v1/receivers/alertmanager`, where an existing
//! Alertmanager's webhook (payload version 4) hands its alerts to klaxon.
//!
//! Answers are byte-compatible with Alertmanager 0.25 (its OpenAPI models:
//! keys in the order go-swagger writes them, times as RFC 3339 with
//! milliseconds, a trailing newline, `<>&` escaped as Go does), including
//! its error shapes: a JSON string from the handlers, `{"code":N,
//! "message":…}` from the framework. Where klaxon deliberately differs:
//! - a batch with invalid alerts keeps the valid ones (as Alertmanager) and
//!   the 400 names each rejected alert by index and labels; an alert that
//!   fails to parse (a bad time) is rejected alone, not the whole batch;
//! - a missing `labels` is the per-alert "at least one label pair required",
//!   not a 422 for the batch; any `Content-Type` is accepted;
//! - times are shown in UTC whatever offset they were sent with;
//! - write endpoints (POST, DELETE) can require `Authorization: Bearer`
//!   (401 otherwise; [`super::access`] checks it for the whole API), bodies
//!   over a limit get 413, malformed JSON gets 400 naming the field, line
//!   and column;
//! - a silence over one of klaxon's silence limits (`SilenceLimits`: count,
//!   size, matchers, total) gets 400 naming the limit and its flag.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::json::to_go_json;
use super::{Endpoint, Verb};
use crate::notify::alert::{AlertSource, Fingerprint, LabelSet, Millis, NotifyAlert, SharedStr};
use crate::notify::alerts::AlertStore;
use crate::notify::payload::{WebhookMessage, parse_time};
use crate::notify::silence::{
    Silence, SilenceError, SilenceInput, SilenceState, Silences, is_valid_label_name,
};
use crate::vocab::matcher::{CompiledMatcher, MatchOp, Matcher, anchored, regex_error};

/// What the API needs from the dispatcher: its aggregation groups, the
/// inhibition and routing decisions, and the configuration. The lead's
/// dispatcher implements it; tests use a stand-in.
pub trait NotifyViews: Send + Sync {
    /// The aggregation groups, for `GET /api/v2/alerts/groups`.
    fn groups(&self) -> Vec<GroupView>;
    /// Fingerprints of the alerts inhibiting an alert with these labels.
    fn inhibited_by(&self, labels: &LabelSet) -> Vec<Fingerprint>;
    /// The receivers the routing tree sends these labels to.
    fn receivers_for(&self, labels: &LabelSet) -> Vec<String>;
    /// The configuration as written, for `GET /api/v2/status`.
    fn config_text(&self) -> String;
    /// Every configured receiver, for `GET /api/v2/receivers`. The default
    /// lists the receivers of the current groups; implement it to list
    /// receivers that have no group yet.
    fn receiver_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.groups().into_iter().map(|g| g.receiver).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// One aggregation group as the dispatcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    /// The route's receiver.
    pub receiver: String,
    /// The grouping labels.
    pub labels: LabelSet,
    /// The alerts in the group.
    pub fingerprints: Vec<Fingerprint>,
}

/// What `GET /api/v2/status` reports as `versionInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmVersionInfo {
    /// Source branch.
    pub branch: String,
    /// Build date.
    pub build_date: String,
    /// Who built it.
    pub build_user: String,
    /// Alertmanager reports its Go version; klaxon its Rust toolchain.
    pub go_version: String,
    /// Source revision.
    pub revision: String,
    /// Version. amtool warns (on stderr only) when its major.minor differs
    /// from its own.
    pub version: String,
}

impl Default for AmVersionInfo {
    fn default() -> Self {
        let build = super::BuildInfo::current();
        AmVersionInfo {
            branch: build.branch,
            build_date: build.build_date,
            build_user: build.build_user,
            go_version: build.go_version,
            revision: build.revision,
            version: build.version,
        }
    }
}

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct AlertmanagerApiOptions {
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Alertmanager's `resolve_timeout`: the end given to a pushed alert
    /// without one.
    pub resolve_timeout_ms: Millis,
    /// The end given to a firing alert from an Alertmanager webhook. That
    /// Alertmanager re-sends a firing group only every `repeat_interval` (4h
    /// by default), so this must be longer, or klaxon would resolve alerts
    /// that still fire upstream; resolves arrive explicitly.
    pub webhook_resolve_timeout_ms: Millis,
    /// What `/api/v2/status` reports.
    pub version: AmVersionInfo,
    /// When this klaxon started (`uptime` in `/api/v2/status`).
    pub started_at: Millis,
}

impl Default for AlertmanagerApiOptions {
    fn default() -> Self {
        AlertmanagerApiOptions {
            max_body_bytes: 16 << 20,
            resolve_timeout_ms: crate::notify::alerts::DEFAULT_RESOLVE_TIMEOUT_MS,
            webhook_resolve_timeout_ms: (4 * 60 + 5) * 60 * 1000,
            version: AmVersionInfo::default(),
            started_at: now_ms(),
        }
    }
}

/// Everything the endpoints share.
#[derive(Clone)]
pub struct AlertmanagerApi {
    /// The notifier's alerts.
    pub alerts: Arc<AlertStore>,
    /// The silences.
    pub silences: Arc<Silences>,
    /// The dispatcher's view.
    pub views: Arc<dyn NotifyViews>,
    /// Settings.
    pub options: Arc<AlertmanagerApiOptions>,
}

/// The endpoints' table.
pub(super) fn endpoints() -> Vec<Endpoint<AlertmanagerApi>> {
    use Verb::{Delete, Get, Post};
    vec![
        Endpoint::new(Get, "/api/v2/alerts", get_alerts),
        Endpoint::new(Post, "/api/v2/alerts", post_alerts),
        Endpoint::new(Get, "/api/v2/alerts/groups", get_alert_groups),
        Endpoint::new(Get, "/api/v2/silences", get_silences),
        Endpoint::new(Post, "/api/v2/silences", post_silences),
        Endpoint::new(Get, "/api/v2/silence/{id}", get_silence),
        Endpoint::new(Delete, "/api/v2/silence/{id}", delete_silence),
        Endpoint::new(Get, "/api/v2/status", get_status),
        Endpoint::new(Get, "/api/v2/receivers", get_receivers),
        Endpoint::new(Post, "/api/v1/receivers/alertmanager", post_webhook),
    ]
}

/// The endpoints, to merge into klaxon's router (then [`super::finish`]).
pub fn routes(state: AlertmanagerApi) -> Router {
    super::table_router(endpoints(), state)
}

fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

// ---- responses ---------------------------------------------------------------

/// A JSON answer exactly as Go's encoder writes it (with its newline).
fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    encoded(status, body, true)
}

/// `body` as Go's JSON; go-swagger's handlers end it with a newline
/// (`json.Encoder`), its framework errors do not (`json.Marshal`).
fn encoded<T: Serialize + ?Sized>(status: StatusCode, body: &T, newline: bool) -> Response {
    match to_go_json(body) {
        Ok(mut bytes) => {
            if newline {
                bytes.push(b'\n');
            }
            (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response()
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the answer: {error}"),
        )
            .into_response(),
    }
}

/// A handler's error: a JSON string, as Alertmanager's handlers answer.
fn message(status: StatusCode, text: impl AsRef<str>) -> Response {
    json(status, text.as_ref())
}

/// A write the store could not make: 503 while it cannot write for now (a
/// full disk: the message says which and that klaxon recovers by itself),
/// 500 otherwise.
fn store_failed(error: &crate::store::StoreError) -> Response {
    if error.is_unavailable() {
        let mut response = message(StatusCode::SERVICE_UNAVAILABLE, error.to_string());
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        response
    } else {
        message(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

/// The framework's error shape: `{"code":N,"message":"…"}`.
pub(super) fn framework_error(status: StatusCode, code: u16, text: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct ErrorBody {
        code: u16,
        message: String,
    }
    encoded(
        status,
        &ErrorBody {
            code,
            message: text.into(),
        },
        false,
    )
}

fn empty_ok() -> Response {
    StatusCode::OK.into_response()
}

// ---- request bodies ----------------------------------------------------------

/// Reads the body, refusing more than the limit with 413.
async fn read_body(
    api: &AlertmanagerApi,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, Response> {
    let limit = api.options.max_body_bytes;
    let too_large = || {
        framework_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            413,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(error) if super::server::body_timeout(error.as_ref()).is_some() => Err(
            framework_error(StatusCode::REQUEST_TIMEOUT, 408, error.to_string()),
        ),
        Err(error) => Err(framework_error(
            StatusCode::BAD_REQUEST,
            400,
            format!("cannot read the request body: {error}"),
        )),
    }
}

/// Parses JSON, with a message naming the field, line and column on error.
fn parse_json<'de, T: Deserialize<'de>>(what: &str, bytes: &'de [u8]) -> Result<T, Response> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => Ok(value),
        Err(_) => {
            // Parse again, slowly, only to say where it went wrong.
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let detail = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                Ok(_) => "unexpected data after the JSON value".to_string(),
                Err(error) => {
                    // `?` marks a segment serde could not name (e.g. the
                    // end of input inside an object): leave it out.
                    let path = error.path().to_string().replace(".?", "");
                    if path == "." || path == "?" || path.is_empty() {
                        error.inner().to_string()
                    } else {
                        format!("at {path}: {}", error.inner())
                    }
                }
            };
            Err(framework_error(
                StatusCode::BAD_REQUEST,
                400,
                format!("parsing {what} body failed: {detail}"),
            ))
        }
    }
}

/// A label map read straight into a [`LabelSet`] (empty values dropped, as
/// Alertmanager's `removeEmptyLabels`; a later duplicate wins, as in Go).
#[derive(Default)]
struct WireLabels(LabelSet);

impl<'de> Deserialize<'de> for WireLabels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelsVisitor;
        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = WireLabels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<WireLabels, E> {
                Ok(WireLabels::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireLabels, A::Error> {
                let mut pairs: Vec<(Text<'de>, Text<'de>)> = Vec::new();
                while let Some(pair) = map.next_entry::<Text<'de>, Text<'de>>()? {
                    pairs.push(pair);
                }
                Ok(WireLabels(LabelSet::from_pairs(
                    pairs.iter().map(|(k, v)| (k.0.as_ref(), v.0.as_ref())),
                )))
            }
        }
        deserializer.deserialize_any(LabelsVisitor)
    }
}

/// A string borrowed from the request body when it has no escapes; `null`
/// reads as "" (Go leaves the zero value).
struct Text<'de>(Cow<'de, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed("")))
            }
        }
        deserializer.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

/// Alertmanager's `postableAlert`; strings borrowed from the body.
#[derive(Deserialize)]
struct PostableAlert<'a> {
    #[serde(default)]
    labels: Option<WireLabels>,
    #[serde(default)]
    annotations: Option<WireLabels>,
    #[serde(default, rename = "startsAt", borrow)]
    starts_at: Option<Text<'a>>,
    #[serde(default, rename = "endsAt", borrow)]
    ends_at: Option<Text<'a>>,
    #[serde(default, rename = "generatorURL", borrow)]
    generator_url: Option<Text<'a>>,
}

/// One alert of an ingested batch before the defaults are applied.
struct Incoming {
    labels: LabelSet,
    annotations: LabelSet,
    starts_at: Option<Millis>,
    ends_at: Option<Millis>,
    generator_url: SharedStr,
}

/// Alertmanager's ingest: `startsAt` defaults to now (or the end when only
/// that is given), a missing end is `now + timeout` and marked as such; then
/// `Validate`. Returns the alert, or why it was rejected (with its labels,
/// to name it).
fn ingest(
    incoming: Incoming,
    now: Millis,
    timeout_ms: Millis,
    source: AlertSource,
) -> Result<NotifyAlert, (String, LabelSet)> {
    let starts_at = incoming.starts_at.or(incoming.ends_at).unwrap_or(now);
    let (ends_at, timeout) = match incoming.ends_at {
        Some(end) => (end, false),
        None => (now.saturating_add(timeout_ms), true),
    };
    if let Err(why) = validate(&incoming, starts_at, ends_at) {
        return Err((why, incoming.labels));
    }
    Ok(NotifyAlert {
        labels: incoming.labels,
        annotations: incoming.annotations,
        starts_at,
        ends_at,
        generator_url: incoming.generator_url,
        updated_at: now,
        timeout,
        source,
    })
}

/// Prometheus's `Alert.Validate`, in its order.
fn validate(incoming: &Incoming, starts_at: Millis, ends_at: Millis) -> Result<(), String> {
    if incoming.ends_at.is_some() && ends_at < starts_at {
        return Err("start time must be before end time".to_string());
    }
    if let Some((name, _)) = incoming
        .labels
        .iter()
        .find(|(name, _)| !is_valid_label_name(name))
    {
        return Err(format!("invalid label set: invalid name {name:?}"));
    }
    if incoming.labels.is_empty() {
        return Err("at least one label pair required".to_string());
    }
    if let Some((name, _)) = incoming
        .annotations
        .iter()
        .find(|(name, _)| !is_valid_label_name(name))
    {
        return Err(format!("invalid annotations: invalid name {name:?}"));
    }
    Ok(())
}

fn time_field(field: &str, text: Option<&str>) -> Result<Option<Millis>, String> {
    match text {
        None => Ok(None),
        Some(text) => parse_time(text).map_err(|e| format!("{field}: {e}")),
    }
}

/// Keeps the valid alerts of a batch and describes the rejected ones.
struct Sorted {
    valid: Vec<NotifyAlert>,
    rejected: Vec<String>,
    /// Size of the request body, for the log.
    body_bytes: usize,
}

/// At most this much of rejected input reaches the log: one request can
/// carry megabytes of it (the client gets it all in the answer).
const LOG_EXCERPT_BYTES: usize = 300;

/// The first `max` bytes of `text` (cut on a character boundary), saying
/// how much was left out.
fn excerpt(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… ({} more bytes)",
        &text[..end],
        text.len() - end
    ))
}

fn describe_rejection(index: usize, labels: &LabelSet, why: &str) -> String {
    if labels.is_empty() {
        format!("alert {index}: {why}")
    } else {
        format!("alert {index} {labels}: {why}")
    }
}

/// Puts the valid alerts and answers as Alertmanager: 200 with no body, or
/// 400 with what was rejected (the valid ones are kept either way).
async fn store_batch(api: &AlertmanagerApi, sorted: Sorted) -> Response {
    let accepted = sorted.valid.len();
    if let Err(error) = api.alerts.put(sorted.valid).await {
        tracing::error!("cannot store posted alerts: {error}");
        return store_failed(&error);
    }
    if sorted.rejected.is_empty() {
        empty_ok()
    } else {
        let text = sorted.rejected.join("; ");
        tracing::warn!(
            rejected = sorted.rejected.len(),
            accepted = accepted,
            body_bytes = sorted.body_bytes,
            "rejected posted alerts: {}",
            excerpt(&text, LOG_EXCERPT_BYTES)
        );
        message(StatusCode::BAD_REQUEST, text)
    }
}

async fn post_alerts(
    State(api): State<AlertmanagerApi>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&api, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return framework_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            "alerts in body is required",
        );
    }
    let posted: Option<Vec<Option<PostableAlert>>> = match parse_json("alerts", &bytes) {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let now = now_ms();
    let timeout = api.options.resolve_timeout_ms;
    let mut sorted = Sorted {
        valid: Vec::with_capacity(posted.as_ref().map_or(0, Vec::len)),
        rejected: Vec::new(),
        body_bytes: bytes.len(),
    };
    for (index, alert) in posted.into_iter().flatten().enumerate() {
        let Some(alert) = alert else {
            sorted.rejected.push(describe_rejection(
                index,
                &LabelSet::default(),
                "at least one label pair required",
            ));
            continue;
        };
        let labels = alert.labels.unwrap_or_default().0;
        let starts = alert.starts_at.as_ref().map(|t| t.0.as_ref());
        let ends = alert.ends_at.as_ref().map(|t| t.0.as_ref());
        let times = time_field("startsAt", starts)
            .and_then(|starts| time_field("endsAt", ends).map(|ends| (starts, ends)));
        let (starts_at, ends_at) = match times {
            Ok(times) => times,
            Err(why) => {
                sorted
                    .rejected
                    .push(describe_rejection(index, &labels, &why));
                continue;
            }
        };
        let incoming = Incoming {
            annotations: alert.annotations.unwrap_or_default().0,
            starts_at,
            ends_at,
            generator_url: alert
                .generator_url
                .map_or_else(SharedStr::default, |url| SharedStr::from(url.0.as_ref())),
            labels,
        };
        match ingest(incoming, now, timeout, AlertSource::Api) {
            Ok(alert) => sorted.valid.push(alert),
            Err((why, labels)) => sorted
                .rejected
                .push(describe_rejection(index, &labels, &why)),
        }
    }
    store_batch(&api, sorted).await
}

async fn post_webhook(
    State(api): State<AlertmanagerApi>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&api, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let message_in: WebhookMessage = match parse_json("webhook", &bytes) {
        Ok(message_in) => message_in,
        Err(response) => return response,
    };
    if message_in.version != "4" {
        return framework_error(
            StatusCode::BAD_REQUEST,
            400,
            format!(
                "webhook payload version {:?} is not supported; klaxon reads Alertmanager's \
                 version \"4\"",
                message_in.version
            ),
        );
    }
    let now = now_ms();
    let timeout = api.options.webhook_resolve_timeout_ms;
    let mut sorted = Sorted {
        valid: Vec::with_capacity(message_in.alerts.len()),
        rejected: Vec::new(),
        body_bytes: bytes.len(),
    };
    for (index, alert) in message_in.alerts.into_iter().enumerate() {
        let labels = LabelSet::from_map(&alert.labels);
        let starts = time_field("startsAt", Some(&alert.starts_at));
        // A firing alert carries Go's zero time as its end: like a missing end.
        let ends = time_field("endsAt", Some(&alert.ends_at));
        let (starts_at, ends_at) = match (starts, ends) {
            (Ok(s), Ok(e)) => (s, e),
            (Err(why), _) | (_, Err(why)) => {
                sorted
                    .rejected
                    .push(describe_rejection(index, &labels, &why));
                continue;
            }
        };
        let ends_at = match (alert.status.as_str(), ends_at) {
            // Resolved without an end: it ended when we heard of it.
            ("resolved", None) => Some(now),
            _ => ends_at,
        };
        let incoming = Incoming {
            annotations: LabelSet::from_map(&alert.annotations),
            starts_at,
            ends_at,
            generator_url: alert.generator_url.into(),
            labels,
        };
        match ingest(incoming, now, timeout, AlertSource::AlertmanagerWebhook) {
            Ok(alert) => sorted.valid.push(alert),
            Err((why, labels)) => sorted
                .rejected
                .push(describe_rejection(index, &labels, &why)),
        }
    }
    store_batch(&api, sorted).await
}

// ---- matchers in query parameters ------------------------------------------------

/// A `filter` query parameter: one matcher, its pattern compiled (400 with
/// Alertmanager's message otherwise).
fn filter_matcher(text: &str) -> Result<CompiledMatcher, Response> {
    CompiledMatcher::parse(text).map_err(|e| message(StatusCode::BAD_REQUEST, e.to_string()))
}

/// Alertmanager's `matchFilterLabels`: a matcher for "" accepts a missing
/// label (`=`, `=~`) or any present one (`!=`, `!~`).
fn matches_filter(matchers: &[CompiledMatcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| {
        let present = labels.get(&m.name);
        let empty_hit = if m.op.is_equal() {
            present.is_none()
        } else {
            present.is_some()
        };
        (m.value.is_empty() && empty_hit) || m.matches(present.unwrap_or(""))
    })
}

// ---- alerts ---------------------------------------------------------------------

/// Query parameters of `GET /api/v2/alerts` and `/alerts/groups`.
struct AlertQuery {
    matchers: Vec<CompiledMatcher>,
    receiver: Option<regex::Regex>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

fn parse_bool(name: &str, value: &str) -> Result<bool, Response> {
    // go-openapi's swag.ConvertBool.
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" | "selected" | "checked" | "ok" => Ok(true),
        "false" | "0" | "no" | "n" | "off" | "" => Ok(false),
        _ => Err(framework_error(
            StatusCode::BAD_REQUEST,
            400,
            format!("{name} in query must be of type boolean: {value:?}"),
        )),
    }
}

fn parse_alert_query(pairs: &[(String, String)]) -> Result<AlertQuery, Response> {
    let mut query = AlertQuery {
        matchers: Vec::new(),
        receiver: None,
        active: true,
        silenced: true,
        inhibited: true,
    };
    for (name, value) in pairs {
        match name.as_str() {
            "filter" => query.matchers.push(filter_matcher(value)?),
            "receiver" => {
                let regex = regex::Regex::new(&anchored(value)).map_err(|e| {
                    message(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "failed to parse receiver param: error parsing regexp: {}",
                            regex_error(&e, value)
                        ),
                    )
                })?;
                query.receiver = Some(regex);
            }
            "active" => query.active = parse_bool(name, value)?,
            "silenced" => query.silenced = parse_bool(name, value)?,
            "inhibited" => query.inhibited = parse_bool(name, value)?,
            // Accepted and, as in Alertmanager 0.25, ignored.
            "unprocessed" => {
                parse_bool(name, value)?;
            }
            _ => {}
        }
    }
    Ok(query)
}

/// An alert's status at query time.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertStatus {
    inhibited_by: Vec<String>,
    silenced_by: Vec<String>,
    state: &'static str,
}

#[derive(Serialize)]
struct ReceiverName<'a> {
    name: &'a str,
}

/// Alertmanager's `gettableAlert`, keys in go-swagger's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableAlert<'a> {
    annotations: &'a LabelSet,
    ends_at: String,
    fingerprint: String,
    receivers: Vec<ReceiverName<'a>>,
    starts_at: String,
    status: AlertStatus,
    updated_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    labels: &'a LabelSet,
}

/// A time as Alertmanager's API writes it: UTC, always milliseconds.
pub fn am_time(ms: Millis) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(time) => time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "0001-01-01T00:00:00.000Z".to_string(),
    }
}

fn status_of(api: &AlertmanagerApi, alert: &NotifyAlert, now: Millis) -> AlertStatus {
    let silenced_by = api.silences.mutes(&alert.labels, now);
    let inhibited_by: Vec<String> = api
        .views
        .inhibited_by(&alert.labels)
        .into_iter()
        .map(|fp| format!("{fp:016x}"))
        .collect();
    let state = if silenced_by.is_empty() && inhibited_by.is_empty() {
        "active"
    } else {
        "suppressed"
    };
    AlertStatus {
        inhibited_by,
        silenced_by,
        state,
    }
}

/// Alertmanager's `alertFilter`: not resolved, the state filters, the matchers.
fn keep(query: &AlertQuery, alert: &NotifyAlert, status: &AlertStatus, now: Millis) -> bool {
    if alert.ends_at < now {
        return false;
    }
    if !query.active && status.state == "active" {
        return false;
    }
    if !query.silenced && !status.silenced_by.is_empty() {
        return false;
    }
    if !query.inhibited && !status.inhibited_by.is_empty() {
        return false;
    }
    matches_filter(&query.matchers, &alert.labels)
}

fn gettable<'a>(
    alert: &'a NotifyAlert,
    status: AlertStatus,
    receivers: &'a [String],
) -> GettableAlert<'a> {
    GettableAlert {
        annotations: &alert.annotations,
        ends_at: am_time(alert.ends_at),
        fingerprint: format!("{:016x}", alert.labels.fingerprint()),
        receivers: receivers.iter().map(|name| ReceiverName { name }).collect(),
        starts_at: am_time(alert.starts_at),
        status,
        updated_at: am_time(alert.updated_at),
        generator_url: &alert.generator_url,
        labels: &alert.labels,
    }
}

async fn get_alerts(
    State(api): State<AlertmanagerApi>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let query = match parse_alert_query(&pairs) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let now = now_ms();
    let mut alerts = api.alerts.snapshot();
    alerts.sort_unstable_by_key(|a| a.labels.fingerprint());
    let mut kept: Vec<(Arc<NotifyAlert>, AlertStatus, Vec<String>)> = Vec::new();
    for alert in alerts {
        if alert.ends_at < now || !matches_filter(&query.matchers, &alert.labels) {
            continue;
        }
        let receivers = api.views.receivers_for(&alert.labels);
        if let Some(filter) = &query.receiver
            && !receivers.iter().any(|r| filter.is_match(r))
        {
            continue;
        }
        let status = status_of(&api, &alert, now);
        if !keep(&query, &alert, &status, now) {
            continue;
        }
        kept.push((alert, status, receivers));
    }
    let body: Vec<GettableAlert<'_>> = kept
        .iter_mut()
        .map(|(alert, status, receivers)| {
            let status = std::mem::replace(
                status,
                AlertStatus {
                    inhibited_by: Vec::new(),
                    silenced_by: Vec::new(),
                    state: "",
                },
            );
            gettable(alert, status, receivers)
        })
        .collect();
    json(StatusCode::OK, &body)
}

/// Alertmanager's `alertGroup`.
#[derive(Serialize)]
struct GettableGroup<'a> {
    alerts: Vec<GettableAlert<'a>>,
    labels: &'a LabelSet,
    receiver: ReceiverName<'a>,
}

/// Prometheus's `LabelSet.Before`: fewer labels first, then by the first
/// differing label (a missing name sorts first).
fn label_set_before(a: &LabelSet, b: &LabelSet) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let mut names: Vec<&str> = a
        .iter()
        .map(|(k, _)| k)
        .chain(b.iter().map(|(k, _)| k))
        .collect();
    names.sort_unstable();
    for name in names {
        match (a.get(name), b.get(name)) {
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    Ordering::Equal
}

/// Alertmanager's `AlertSlice.Less`: by `job`, then `instance` (alerts with
/// the label first), then by label set.
fn alert_order(a: &NotifyAlert, b: &NotifyAlert) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    label_set_before(&a.labels, &b.labels)
}

async fn get_alert_groups(
    State(api): State<AlertmanagerApi>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let query = match parse_alert_query(&pairs) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let now = now_ms();
    let mut groups = api.views.groups();
    groups.retain(|g| {
        query
            .receiver
            .as_ref()
            .is_none_or(|r| r.is_match(&g.receiver))
    });
    // Alerts that pass the filters, with every receiver whose group holds them.
    let mut receivers: HashMap<Fingerprint, Vec<String>> = HashMap::new();
    let mut statuses: HashMap<Fingerprint, Option<(Arc<NotifyAlert>, AlertStatus)>> =
        HashMap::new();
    let mut kept_groups: Vec<(GroupView, Vec<Fingerprint>)> = Vec::new();
    for group in groups {
        let mut kept = Vec::new();
        for fp in &group.fingerprints {
            let entry = statuses.entry(*fp).or_insert_with(|| {
                let alert = api.alerts.get(*fp)?;
                let status = status_of(&api, &alert, now);
                keep(&query, &alert, &status, now).then_some((alert, status))
            });
            if entry.is_some() {
                receivers
                    .entry(*fp)
                    .or_default()
                    .push(group.receiver.clone());
                kept.push(*fp);
            }
        }
        if !kept.is_empty() {
            kept_groups.push((group, kept));
        }
    }
    for names in receivers.values_mut() {
        names.sort();
    }
    kept_groups.sort_by(|(a, _), (b, _)| {
        label_set_before(&a.labels, &b.labels).then_with(|| a.receiver.cmp(&b.receiver))
    });
    let no_receivers: Vec<String> = Vec::new();
    let body: Vec<GettableGroup<'_>> = kept_groups
        .iter()
        .map(|(group, fps)| {
            let mut alerts: Vec<&(Arc<NotifyAlert>, AlertStatus)> = fps
                .iter()
                .filter_map(|fp| statuses.get(fp).and_then(Option::as_ref))
                .collect();
            alerts.sort_by(|(a, _), (b, _)| alert_order(a, b));
            GettableGroup {
                alerts: alerts
                    .into_iter()
                    .map(|(alert, status)| {
                        let fp = alert.labels.fingerprint();
                        let status = AlertStatus {
                            inhibited_by: status.inhibited_by.clone(),
                            silenced_by: status.silenced_by.clone(),
                            state: status.state,
                        };
                        gettable(alert, status, receivers.get(&fp).unwrap_or(&no_receivers))
                    })
                    .collect(),
                labels: &group.labels,
                receiver: ReceiverName {
                    name: &group.receiver,
                },
            }
        })
        .collect();
    json(StatusCode::OK, &body)
}

// ---- silences ---------------------------------------------------------------------

/// Alertmanager's `matcher` as listed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableMatcher<'a> {
    is_equal: bool,
    is_regex: bool,
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct GettableSilenceStatus {
    state: &'static str,
}

/// Alertmanager's `gettableSilence`, keys in go-swagger's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence<'a> {
    id: &'a str,
    status: GettableSilenceStatus,
    updated_at: String,
    comment: &'a str,
    created_by: &'a str,
    ends_at: String,
    matchers: Vec<GettableMatcher<'a>>,
    starts_at: String,
}

fn gettable_silence(silence: &Silence, now: Millis) -> GettableSilence<'_> {
    GettableSilence {
        id: &silence.id,
        status: GettableSilenceStatus {
            state: silence.state(now).as_str(),
        },
        updated_at: am_time(silence.updated_at),
        comment: &silence.comment,
        created_by: &silence.created_by,
        ends_at: am_time(silence.ends_at),
        matchers: silence
            .matchers
            .iter()
            .map(|m| GettableMatcher {
                is_equal: m.op.is_equal(),
                is_regex: m.op.is_regex(),
                name: &m.name,
                value: &m.value,
            })
            .collect(),
        starts_at: am_time(silence.starts_at),
    }
}

async fn get_silences(
    State(api): State<AlertmanagerApi>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let mut filters = Vec::new();
    for (name, value) in &pairs {
        if name == "filter" {
            match filter_matcher(value) {
                Ok(m) => filters.push(m),
                Err(response) => return response,
            }
        }
    }
    let now = now_ms();
    let mut silences: Vec<Silence> = api
        .silences
        .list()
        .into_iter()
        .filter(|s| {
            filters
                .iter()
                .all(|f| s.matchers.iter().any(|m| f.matcher() == m))
        })
        .collect();
    // Active first (next to end first), then pending (next to start first),
    // then expired (most recently ended first); ties by id for a stable list.
    silences.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        sa.cmp(&sb)
            .then_with(|| match sa {
                SilenceState::Active => a.ends_at.cmp(&b.ends_at),
                SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
                SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    let body: Vec<GettableSilence<'_>> =
        silences.iter().map(|s| gettable_silence(s, now)).collect();
    json(StatusCode::OK, &body)
}

/// Alertmanager's `postableSilence`; required fields checked by hand to
/// answer as go-swagger's validation does.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    matchers: Option<Vec<PostableMatcher>>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableMatcher {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    is_regex: Option<bool>,
    #[serde(default)]
    is_equal: Option<bool>,
}

fn required(field: &str) -> Response {
    framework_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        602,
        format!("{field} in body is required"),
    )
}

fn silence_input(posted: PostableSilence) -> Result<SilenceInput, Response> {
    let matchers = posted.matchers.ok_or_else(|| required("matchers"))?;
    if matchers.is_empty() {
        return Err(framework_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            612,
            "matchers in body should have at least 1 items",
        ));
    }
    let mut converted = Vec::with_capacity(matchers.len());
    for (i, m) in matchers.into_iter().enumerate() {
        let name = m
            .name
            .ok_or_else(|| required(&format!("matchers.{i}.name")))?;
        let value = m
            .value
            .ok_or_else(|| required(&format!("matchers.{i}.value")))?;
        let is_regex = m
            .is_regex
            .ok_or_else(|| required(&format!("matchers.{i}.isRegex")))?;
        let op = MatchOp::from_flags(m.is_equal.unwrap_or(true), is_regex);
        converted.push(Matcher::new(name, op, value));
    }
    let time = |field: &str, text: Option<String>| -> Result<Millis, Response> {
        let text = text.ok_or_else(|| required(field))?;
        match parse_time(&text) {
            Ok(Some(ms)) => Ok(ms),
            Ok(None) => Ok(i64::MIN / 2),
            Err(e) => Err(framework_error(
                StatusCode::BAD_REQUEST,
                400,
                format!("parsing silence body failed: {field}: {e}"),
            )),
        }
    };
    let starts_at = time("startsAt", posted.starts_at)?;
    let ends_at = time("endsAt", posted.ends_at)?;
    let created_by = posted.created_by.ok_or_else(|| required("createdBy"))?;
    let comment = posted.comment.ok_or_else(|| required("comment"))?;
    Ok(SilenceInput {
        id: posted.id.filter(|id| !id.is_empty()),
        matchers: converted,
        starts_at,
        ends_at,
        created_by,
        comment,
    })
}

fn silence_error(error: SilenceError) -> Response {
    match error {
        SilenceError::NotFound => message(StatusCode::NOT_FOUND, "silence not found"),
        SilenceError::Invalid(text) => message(StatusCode::BAD_REQUEST, text),
        SilenceError::Store(error) => {
            tracing::error!("cannot store a silence: {error}");
            store_failed(&error)
        }
    }
}

async fn post_silences(
    State(api): State<AlertmanagerApi>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&api, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return required("silence");
    }
    let posted: PostableSilence = match parse_json("silence", &bytes) {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let input = match silence_input(posted) {
        Ok(input) => input,
        Err(response) => return response,
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        #[serde(rename = "silenceID")]
        silence_id: String,
    }
    match api.silences.set(input, now_ms()).await {
        Ok(silence_id) => json(StatusCode::OK, &Created { silence_id }),
        Err(error) => silence_error(error),
    }
}

/// The `{silenceID}` path parameter, checked as go-swagger does
/// (`format: uuid`); a path that does not even decode (bytes that are not
/// UTF-8) is no UUID either and gets the same JSON answer, not axum's
/// plain-text rejection.
struct SilenceId(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SilenceId {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Response> {
        silence_id(Path::<String>::from_request_parts(parts, state).await).map(SilenceId)
    }
}

fn silence_id(path: Result<Path<String>, PathRejection>) -> Result<String, Response> {
    let not_uuid = |shown: String| {
        framework_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            601,
            format!("silenceID in path must be of type uuid: {shown}"),
        )
    };
    let id = match path {
        Ok(Path(id)) => id,
        Err(rejection) => return Err(not_uuid(rejection.body_text())),
    };
    match uuid::Uuid::try_parse(&id) {
        Ok(_) => Ok(id),
        Err(_) => Err(not_uuid(format!("{id:?}"))),
    }
}

async fn get_silence(State(api): State<AlertmanagerApi>, SilenceId(id): SilenceId) -> Response {
    match api.silences.get(&id) {
        Some(silence) => json(StatusCode::OK, &gettable_silence(&silence, now_ms())),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete_silence(State(api): State<AlertmanagerApi>, SilenceId(id): SilenceId) -> Response {
    match api.silences.expire(&id, now_ms()).await {
        Ok(()) => empty_ok(),
        // Alertmanager 0.25 answers an unknown id with 500, the only error
        // its OpenAPI declares for this endpoint (amtool expects it).
        Err(SilenceError::NotFound) => {
            message(StatusCode::INTERNAL_SERVER_ERROR, "silence not found")
        }
        Err(error) => silence_error(error),
    }
}

// ---- status and receivers -----------------------------------------------------------

async fn get_status(State(api): State<AlertmanagerApi>) -> Response {
    #[derive(Serialize)]
    struct ClusterStatus {
        peers: [(); 0],
        status: &'static str,
    }
    #[derive(Serialize)]
    struct Config {
        original: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Status<'a> {
        cluster: ClusterStatus,
        config: Config,
        uptime: String,
        version_info: &'a AmVersionInfo,
    }
    json(
        StatusCode::OK,
        &Status {
            cluster: ClusterStatus {
                peers: [],
                status: "disabled",
            },
            config: Config {
                original: api.views.config_text(),
            },
            uptime: am_time(api.options.started_at),
            version_info: &api.options.version,
        },
    )
}

async fn get_receivers(State(api): State<AlertmanagerApi>) -> Response {
    let names = api.views.receiver_names();
    let body: Vec<ReceiverName<'_>> = names.iter().map(|name| ReceiverName { name }).collect();
    json(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_treat_empty_values_as_alertmanager() {
        let labels = LabelSet::from_pairs([("a", "1")]);
        let test = |text: &str| matches_filter(&[filter_matcher(text).unwrap()], &labels);
        assert!(test("a=1"));
        assert!(test("b="), "missing label matches =\"\"");
        assert!(!test("a="));
        assert!(test("a!="), "present label matches !=\"\"");
        assert!(test("a=~1|2"));
        assert!(!test("a=~1.+"), "anchored");
        assert!(test("b!~x"));
    }

    #[test]
    fn ingest_applies_defaults_and_validates_like_alertmanager() {
        let incoming = |labels: &[(&str, &str)], starts, ends| Incoming {
            labels: LabelSet::from_pairs(labels.iter().copied()),
            annotations: LabelSet::default(),
            starts_at: starts,
            ends_at: ends,
            generator_url: SharedStr::default(),
        };
        let a = ingest(
            incoming(&[("a", "1")], None, None),
            1_000,
            300,
            AlertSource::Api,
        )
        .unwrap();
        assert_eq!(
            (a.starts_at, a.ends_at, a.timeout, a.updated_at),
            (1_000, 1_300, true, 1_000)
        );
        let b = ingest(
            incoming(&[("a", "1")], None, Some(500)),
            1_000,
            300,
            AlertSource::Api,
        )
        .unwrap();
        assert_eq!((b.starts_at, b.ends_at, b.timeout), (500, 500, false));
        let err = |labels: &[(&str, &str)], s, e| {
            ingest(incoming(labels, s, e), 1_000, 300, AlertSource::Api)
                .unwrap_err()
                .0
        };
        assert_eq!(err(&[], None, None), "at least one label pair required");
        assert_eq!(
            err(&[("a b", "1")], None, None),
            "invalid label set: invalid name \"a b\""
        );
        assert_eq!(
            err(&[("a", "1")], Some(900), Some(800)),
            "start time must be before end time"
        );
    }

    #[test]
    fn log_excerpts_are_bounded_and_cut_between_characters() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("héllo", 2), "h… (5 more bytes)");
        assert_eq!(excerpt("héllo", 3), "hé… (3 more bytes)");
        let long = "é".repeat(10_000);
        assert!(excerpt(&long, LOG_EXCERPT_BYTES).len() < LOG_EXCERPT_BYTES + 30);
    }

    #[test]
    fn times_are_written_as_alertmanager_writes_them() {
        assert_eq!(am_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(am_time(1_500), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn label_sets_sort_like_prometheus() {
        use std::cmp::Ordering;
        let ls = |pairs: &[(&str, &str)]| LabelSet::from_pairs(pairs.iter().copied());
        assert_eq!(
            label_set_before(&ls(&[("a", "1")]), &ls(&[("a", "1"), ("b", "1")])),
            Ordering::Less
        );
        assert_eq!(
            label_set_before(&ls(&[("a", "2")]), &ls(&[("a", "1")])),
            Ordering::Greater
        );
        // The first name in sorted order that one set lacks puts that set first.
        assert_eq!(
            label_set_before(&ls(&[("b", "1")]), &ls(&[("a", "1")])),
            Ordering::Less
        );
    }
}
