//! A fake Slack for klaxon's Slack integration. It stands in for Slack,
//! which cannot be reached from here (no network), and speaks its Web API
//! as Slack documents and answers it:
//!
//! - `POST /api/chat.postMessage` and `POST /api/chat.update`, with
//!   `Authorization: Bearer xoxb-...` and a JSON or form body (Slack takes
//!   both; in a form, `blocks` and `attachments` are JSON strings);
//! - answers in Slack's shapes: HTTP 200 with
//!   `{"ok":true,"channel":"C123","ts":"1700000000.000100","message":{...}}`,
//!   API errors as HTTP 200 with `{"ok":false,"error":"invalid_auth"}`
//!   (`not_authed`, `channel_not_found`, `not_in_channel`,
//!   `message_not_found`, `invalid_blocks`, `no_text`, `msg_too_long`),
//!   rate limits as HTTP 429 with `Retry-After` and
//!   `{"ok":false,"error":"ratelimited"}`;
//! - checks Block Kit enough to catch mistakes: known block types, header
//!   text plain_text of at most 150 characters, section text at most 3000,
//!   at most 50 blocks, button text and URL limits, in top-level blocks
//!   and in attachments;
//! - an incoming webhook at `/services/T000/B000/XXXX`, answering `ok` or,
//!   as Slack does, plain-text errors (`invalid_payload` 400, `no_text`
//!   400, `no_service` 404 for an unknown hook, `channel_is_archived` 410);
//! - records every call, keeps the messages per channel (edited in place by
//!   `chat.update`), and can be scripted to fail the next N calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::server::LocalServer;

/// The bot token the fake accepts.
pub const TOKEN: &str = "xoxb-1111-2222-klaxontest";
/// The ID Slack gives `#alerts`, the channel every test posts to
/// (`#private`, `C999`, exists but the bot was not invited to it).
pub const CHANNEL_ID: &str = "C123";
/// The incoming-webhook path that exists.
pub const WEBHOOK_PATH: &str = "/services/T000/B000/XXXX";
/// An incoming-webhook path whose channel was archived.
pub const ARCHIVED_WEBHOOK_PATH: &str = "/services/T000/B000/ARCHIVED";

/// How the next calls fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// HTTP 200 with `{"ok":false,"error":CODE}`.
    Api(&'static str),
    /// HTTP 429, `Retry-After: secs`, `{"ok":false,"error":"ratelimited"}`.
    RateLimited(u64),
    /// This HTTP status with a short HTML body, as Slack's edge answers.
    Http(u16),
    /// No answer for this long (then a normal answer).
    Hang(Duration),
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    /// `chat.postMessage`, `chat.update` or `webhook`.
    pub method: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The request as JSON (a form body converted, its JSON fields parsed).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// The `error` answered, if any.
    pub error: Option<String>,
}

/// A message as it stands in a channel.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// Its ts.
    pub ts: String,
    /// Fallback text.
    pub text: String,
    /// Top-level blocks.
    pub blocks: Value,
    /// Attachments.
    pub attachments: Value,
    /// How many times `chat.update` changed it.
    pub edits: usize,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    failures: Vec<Failure>,
    /// Channel ID → messages in posting order.
    channels: BTreeMap<String, Vec<StoredMessage>>,
    next_ts: u64,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running fake; dropping it stops it.
pub struct FakeSlack {
    server: LocalServer,
    shared: Shared,
}

impl FakeSlack {
    /// Starts on 127.0.0.1 with a free port, in its own thread and runtime.
    pub fn start() -> FakeSlack {
        let shared: Shared = Arc::new(Mutex::new(Inner {
            next_ts: 100,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/{method}", post(api))
            .route("/services/{t}/{b}/{x}", post(webhook))
            .with_state(Arc::clone(&shared));
        FakeSlack {
            server: LocalServer::start("fake-slack", app),
            shared,
        }
    }

    /// The Web API base, as the `api_url` setting takes it.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.server.addr())
    }

    /// The incoming-webhook URL that works.
    pub fn webhook_url(&self) -> String {
        format!("http://{}{WEBHOOK_PATH}", self.server.addr())
    }

    /// An incoming-webhook URL by path (for `no_service`, `channel_is_archived`).
    pub fn webhook_url_for(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// The next `n` calls (any endpoint) fail this way.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        let mut inner = lock(&self.shared);
        for _ in 0..n {
            inner.failures.push(failure.clone());
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared).calls.clone()
    }

    /// The messages of a channel (by ID) as they stand.
    pub fn messages(&self, channel_id: &str) -> Vec<StoredMessage> {
        lock(&self.shared)
            .channels
            .get(channel_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Deletes a message, as a person in the channel can.
    pub fn delete_message(&self, channel_id: &str, ts: &str) {
        if let Some(messages) = lock(&self.shared).channels.get_mut(channel_id) {
            messages.retain(|m| m.ts != ts);
        }
    }
}

/// The request body as JSON: JSON as is; a form's fields as strings,
/// except `blocks` and `attachments`, which Slack reads as JSON.
fn parse_body(content_type: &str, body: &[u8]) -> Result<Value, &'static str> {
    if content_type.starts_with("application/json") {
        return serde_json::from_slice(body).map_err(|_| "invalid_json");
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut map = serde_json::Map::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            let value = if k == "blocks" || k == "attachments" {
                serde_json::from_str(&v).map_err(|_| "invalid_arguments")?
            } else {
                Value::String(v.into_owned())
            };
            map.insert(k.into_owned(), value);
        }
        return Ok(Value::Object(map));
    }
    Err("invalid_form_data")
}

fn text_len(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// A text object: `plain_text` or `mrkdwn` with a `text`.
fn check_text(value: &Value, max: usize, plain_only: bool, at: &str, errors: &mut Vec<String>) {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "plain_text" => {}
        "mrkdwn" if !plain_only => {}
        other => errors.push(format!("{at}: text type `{other}` is not allowed here")),
    }
    match value.get("text") {
        Some(Value::String(text)) if text.is_empty() => {
            errors.push(format!("{at}: text must not be empty"))
        }
        Some(Value::String(_)) => {}
        _ => errors.push(format!("{at}: missing text")),
    }
    let len = text_len(value.get("text").unwrap_or(&Value::Null));
    if len > max {
        errors.push(format!("{at}: text is {len} characters, more than {max}"));
    }
}

/// Checks a list of blocks as Slack's Block Kit validation does (the
/// limits klaxon can break).
fn check_blocks(blocks: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(list) = blocks.as_array() else {
        errors.push(format!("{at}: blocks must be an array"));
        return;
    };
    if list.len() > 50 {
        errors.push(format!("{at}: {} blocks, more than 50", list.len()));
    }
    for (i, block) in list.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "header" => match block.get("text") {
                Some(text) => check_text(text, 150, true, &format!("{at}.text"), errors),
                None => errors.push(format!("{at}: header without text")),
            },
            "section" => {
                let text = block.get("text");
                let fields = block.get("fields").and_then(Value::as_array);
                if text.is_none() && fields.is_none() {
                    errors.push(format!("{at}: section needs text or fields"));
                }
                if let Some(text) = text {
                    check_text(text, 3000, false, &format!("{at}.text"), errors);
                }
                if let Some(fields) = fields {
                    if fields.len() > 10 {
                        errors.push(format!("{at}: more than 10 fields"));
                    }
                    for (j, f) in fields.iter().enumerate() {
                        check_text(f, 2000, false, &format!("{at}.fields[{j}]"), errors);
                    }
                }
            }
            "divider" => {}
            "context" => match block.get("elements").and_then(Value::as_array) {
                Some(elements) if !elements.is_empty() && elements.len() <= 10 => {
                    for (j, e) in elements.iter().enumerate() {
                        let ekind = e.get("type").and_then(Value::as_str).unwrap_or("");
                        if ekind == "image" {
                            continue;
                        }
                        check_text(e, 3000, false, &format!("{at}.elements[{j}]"), errors);
                    }
                }
                _ => errors.push(format!("{at}: context needs 1 to 10 elements")),
            },
            "actions" => match block.get("elements").and_then(Value::as_array) {
                Some(elements) if !elements.is_empty() && elements.len() <= 25 => {
                    for (j, e) in elements.iter().enumerate() {
                        let at = format!("{at}.elements[{j}]");
                        if e.get("type").and_then(Value::as_str) != Some("button") {
                            continue;
                        }
                        match e.get("text") {
                            Some(text) => check_text(text, 75, true, &format!("{at}.text"), errors),
                            None => errors.push(format!("{at}: button without text")),
                        }
                        if let Some(url) = e.get("url")
                            && text_len(url) > 3000
                        {
                            errors.push(format!("{at}: url longer than 3000"));
                        }
                    }
                }
                _ => errors.push(format!("{at}: actions needs 1 to 25 elements")),
            },
            "image" | "rich_text" | "markdown" | "input" | "file" | "video" => {}
            other => errors.push(format!("{at}: unknown block type `{other}`")),
        }
    }
}

/// Checks a message's content; the error code and details when invalid.
fn check_message(body: &Value) -> Result<(), (&'static str, Vec<String>)> {
    let text = body.get("text").and_then(Value::as_str).unwrap_or("");
    let blocks = body.get("blocks");
    let attachments = body.get("attachments");
    if text.is_empty() && blocks.is_none() && attachments.is_none() {
        return Err(("no_text", Vec::new()));
    }
    if text.chars().count() > 40_000 {
        return Err(("msg_too_long", Vec::new()));
    }
    let mut errors = Vec::new();
    if let Some(blocks) = blocks {
        check_blocks(blocks, "blocks", &mut errors);
    }
    if let Some(attachments) = attachments {
        match attachments.as_array() {
            Some(list) if list.len() <= 100 => {
                for (i, a) in list.iter().enumerate() {
                    if let Some(blocks) = a.get("blocks") {
                        check_blocks(blocks, &format!("attachments[{i}].blocks"), &mut errors);
                    }
                }
            }
            _ => errors.push("attachments must be an array of at most 100".into()),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(("invalid_blocks", errors))
    }
}

fn json_response(status: StatusCode, body: Value, retry_after: Option<u64>) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    if let Some(secs) = retry_after
        && let Ok(value) = secs.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn html_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        format!(
            "<html><body><h1>{} {}</h1></body></html>",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
    )
        .into_response()
}

/// Applies the next scripted failure, if any: `Some(response)` answers it.
async fn scripted(shared: &Shared, record: &mut Call) -> Option<Response> {
    let failure = {
        let mut inner = lock(shared);
        if inner.failures.is_empty() {
            None
        } else {
            Some(inner.failures.remove(0))
        }
    };
    match failure? {
        Failure::Hang(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Failure::Api(code) => {
            record.status = 200;
            record.error = Some(code.to_string());
            Some(json_response(
                StatusCode::OK,
                json!({"ok": false, "error": code}),
                None,
            ))
        }
        Failure::RateLimited(secs) => {
            record.status = 429;
            record.error = Some("ratelimited".into());
            if record.method == "webhook" {
                let mut response = (StatusCode::TOO_MANY_REQUESTS, "rate_limited").into_response();
                if let Ok(value) = secs.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return Some(response);
            }
            Some(json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"ok": false, "error": "ratelimited"}),
                Some(secs),
            ))
        }
        Failure::Http(status) => {
            record.status = status;
            Some(html_error(status))
        }
    }
}

fn channel_id(name: &str) -> Option<&'static str> {
    match name.trim_start_matches('#') {
        "alerts" | "C123" => Some(CHANNEL_ID),
        "private" | "C999" => Some("C999"),
        _ => None,
    }
}

async fn api(
    State(shared): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let parsed = parse_body(&content_type, &body);
    let mut record = Call {
        method: method.clone(),
        authorization: authorization.clone(),
        content_type: content_type.clone(),
        body: parsed.clone().unwrap_or(Value::Null),
        status: 200,
        error: None,
    };
    let response = answer(
        &shared,
        &method,
        authorization.as_deref(),
        parsed,
        &mut record,
    )
    .await;
    lock(&shared).calls.push(record);
    response
}

async fn answer(
    shared: &Shared,
    method: &str,
    authorization: Option<&str>,
    parsed: Result<Value, &'static str>,
    record: &mut Call,
) -> Response {
    if let Some(response) = scripted(shared, record).await {
        return response;
    }
    let fail = |record: &mut Call, code: &str, details: Vec<String>| {
        record.error = Some(code.to_string());
        let mut body = json!({"ok": false, "error": code});
        if !details.is_empty() {
            body["response_metadata"] = json!({"messages": details});
        }
        json_response(StatusCode::OK, body, None)
    };
    if !matches!(method, "chat.postMessage" | "chat.update") {
        record.status = 404;
        return (StatusCode::NOT_FOUND, "unknown_method").into_response();
    }
    let token = match authorization.and_then(|a| a.strip_prefix("Bearer ")) {
        Some(token) => token,
        None => return fail(record, "not_authed", Vec::new()),
    };
    if token != TOKEN {
        return fail(record, "invalid_auth", Vec::new());
    }
    let body = match parsed {
        Ok(body) => body,
        Err(code) => return fail(record, code, Vec::new()),
    };
    let channel = body.get("channel").and_then(Value::as_str).unwrap_or("");
    let Some(channel_id) = channel_id(channel) else {
        return fail(record, "channel_not_found", Vec::new());
    };
    if channel_id == "C999" {
        return fail(record, "not_in_channel", Vec::new());
    }
    if let Err((code, details)) = check_message(&body) {
        return fail(record, code, details);
    }
    let text = body
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let blocks = body.get("blocks").cloned().unwrap_or(Value::Null);
    let attachments = body.get("attachments").cloned().unwrap_or(Value::Null);
    let mut inner = lock(shared);
    let ts = if method == "chat.postMessage" {
        inner.next_ts += 1;
        let ts = format!("1700000000.{:06}", inner.next_ts);
        inner
            .channels
            .entry(channel_id.to_string())
            .or_default()
            .push(StoredMessage {
                ts: ts.clone(),
                text: text.clone(),
                blocks: blocks.clone(),
                attachments: attachments.clone(),
                edits: 0,
            });
        ts
    } else {
        // chat.update takes the channel ID only, as Slack does.
        if channel != channel_id {
            drop(inner);
            return fail(record, "channel_not_found", Vec::new());
        }
        let ts = body
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let found = inner
            .channels
            .get_mut(channel_id)
            .and_then(|messages| messages.iter_mut().find(|m| m.ts == ts));
        let Some(message) = found else {
            drop(inner);
            return fail(record, "message_not_found", Vec::new());
        };
        message.text = text.clone();
        message.blocks = blocks.clone();
        message.attachments = attachments.clone();
        message.edits += 1;
        ts
    };
    drop(inner);
    let mut message = json!({
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "ts": ts,
        "bot_id": "B0001",
        "username": body.get("username").cloned().unwrap_or(json!("klaxon")),
    });
    if !blocks.is_null() {
        message["blocks"] = blocks;
    }
    if !attachments.is_null() {
        message["attachments"] = attachments;
    }
    let mut answer = json!({"ok": true, "channel": channel_id, "ts": ts, "message": message});
    if method == "chat.update" {
        answer["text"] = json!(text);
    }
    json_response(StatusCode::OK, answer, None)
}

async fn webhook(
    State(shared): State<Shared>,
    Path((t, b, x)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let parsed = serde_json::from_slice::<Value>(&body);
    let mut record = Call {
        method: "webhook".into(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        content_type,
        body: parsed.as_ref().cloned().unwrap_or(Value::Null),
        status: 200,
        error: None,
    };
    let path = format!("/services/{t}/{b}/{x}");
    let response = if let Some(response) = scripted(&shared, &mut record).await {
        response
    } else {
        let (status, text) = if path == ARCHIVED_WEBHOOK_PATH {
            (410, "channel_is_archived")
        } else if path != WEBHOOK_PATH {
            (404, "no_service")
        } else {
            match parsed {
                Err(_) => (400, "invalid_payload"),
                Ok(body) => match check_message(&body) {
                    Ok(()) => {
                        let text = body.get("text").and_then(Value::as_str).unwrap_or("");
                        let mut inner = lock(&shared);
                        inner.next_ts += 1;
                        let ts = format!("1700000000.{:06}", inner.next_ts);
                        inner
                            .channels
                            .entry(CHANNEL_ID.to_string())
                            .or_default()
                            .push(StoredMessage {
                                ts,
                                text: text.to_string(),
                                blocks: body.get("blocks").cloned().unwrap_or(Value::Null),
                                attachments: body
                                    .get("attachments")
                                    .cloned()
                                    .unwrap_or(Value::Null),
                                edits: 0,
                            });
                        (200, "ok")
                    }
                    Err(("no_text", _)) => (400, "no_text"),
                    Err(_) => (400, "invalid_blocks"),
                },
            }
        };
        record.status = status;
        if status != 200 {
            record.error = Some(text.to_string());
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, [(header::CONTENT_TYPE, "text/html")], text).into_response()
    };
    lock(&shared).calls.push(record);
    response
}
