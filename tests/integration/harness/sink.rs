//! A webhook sink: a real HTTP server that records every POST (path, body,
//! headers, arrival time) and answers as the test scripts it: 200 by
//! default, or a status (500, 429 with Retry-After) or a hang for the next
//! N requests. Receivers of klaxon and of a real Alertmanager post here.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::http::header_value;
use super::server::LocalServer;

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request path, e.g. `/klaxon/team`.
    pub path: String,
    /// When it arrived.
    pub at: Instant,
    /// The body as JSON (`Null` if it was not JSON).
    pub body: serde_json::Value,
    /// Request headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The status the sink answered with.
    pub answered: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// What to answer to the next requests.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// This status (with `Retry-After: 1` for 429).
    Status(u16),
    /// Never answer (the client must time out).
    Hang,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Every request as it arrived, before any answer (`answered` 0).
    arrivals: Vec<Received>,
    script: VecDeque<Reply>,
    arrived: usize,
    delay: Duration,
}

/// A running sink; stops when dropped.
pub struct WebhookSink {
    server: LocalServer,
    shared: Arc<Mutex<Shared>>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

async fn record(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = Received {
        path: uri.path().to_string(),
        at: Instant::now(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        answered: 0,
    };
    let (reply, delay) = {
        let mut shared = lock(&shared);
        shared.arrived += 1;
        shared.arrivals.push(request.clone());
        (shared.script.pop_front(), shared.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(Reply::Hang) = reply {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let status = match reply {
        Some(Reply::Status(s)) => s,
        _ => 200,
    };
    request.at = Instant::now();
    request.answered = status;
    lock(&shared).received.push(request);
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if status == 429 {
        (code, [("retry-after", "1")], "slow down").into_response()
    } else {
        (code, "ok").into_response()
    }
}

impl WebhookSink {
    /// Starts the sink on 127.0.0.1:0.
    pub fn start() -> WebhookSink {
        WebhookSink::start_at(0, [])
    }

    /// Starts the sink on `port` (a receiver's address chosen before the
    /// sink came up; 0 for any), answering the first requests as `replies`
    /// say. Panics if the port is taken.
    pub fn start_at(port: u16, replies: impl IntoIterator<Item = Reply>) -> WebhookSink {
        let shared = Arc::new(Mutex::new(Shared {
            script: replies.into_iter().collect(),
            ..Shared::default()
        }));
        let app = Router::new()
            .fallback(axum::routing::post(record))
            .with_state(Arc::clone(&shared));
        let server = LocalServer::start_at("webhook-sink", port, 1, app);
        assert!(
            port == 0 || server.addr().port() == port,
            "webhook sink: port {port} is taken"
        );
        WebhookSink { server, shared }
    }

    /// The URL of `path` on the sink.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// Everything received so far (answered requests only).
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared).received.clone()
    }

    /// What arrived on paths starting with `prefix`, answered 2xx.
    pub fn delivered(&self, prefix: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix) && (200..300).contains(&r.answered))
            .collect()
    }

    /// Requests that arrived, answered or not (hung, delayed, in flight).
    pub fn arrived(&self) -> usize {
        lock(&self.shared).arrived
    }

    /// Every request as it arrived (`answered` 0), including those whose
    /// sender went away before the answer: what a receiver that acts on
    /// a request before answering it would have seen.
    pub fn arrivals(&self) -> Vec<Received> {
        lock(&self.shared).arrivals.clone()
    }

    /// Waits this long before answering every request (slow receiver).
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared).delay = delay;
    }

    /// Answers the next requests as scripted, then 200 again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared).script.extend(replies);
    }

    /// Drops what is left of the script: 200 from now on (ends an outage
    /// scripted as many failures).
    pub fn clear_script(&self) {
        lock(&self.shared).script.clear();
    }
}
