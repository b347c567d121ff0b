//! A real HTTP webhook sink on 127.0.0.1 (axum) and a minimal webhook
//! integration that POSTs Alertmanager's v4 JSON to it, standing in for the
//! receivers' webhook until that lands.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use klaxon::notify::notification::Notification;
use klaxon::notify::payload::WebhookMessage;
use klaxon::notify::receivers::{BoxFuture, Deliver, Delivered, DeliveryError};

/// What the sink answers to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// This status, no body worth reading.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
}

/// One request the sink got.
#[derive(Debug, Clone)]
pub struct Request {
    /// The `Idempotency-Key` header (the notification id).
    pub key: String,
    /// What the sink answered.
    pub status: u16,
    pub at: Instant,
    pub body: serde_json::Value,
}

#[derive(Debug, Default)]
struct SinkState {
    script: VecDeque<Reply>,
    requests: Vec<Request>,
    delay: Duration,
}

/// A webhook receiver that answers from a script (then 200) and records
/// every request. Stopped when dropped.
pub struct Sink {
    pub addr: SocketAddr,
    state: Arc<Mutex<SinkState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sink {
    /// Serves on `addr` (port 0 for any).
    pub async fn start(addr: SocketAddr, script: Vec<Reply>, delay: Duration) -> Sink {
        let state = Arc::new(Mutex::new(SinkState {
            script: script.into(),
            delay,
            ..SinkState::default()
        }));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Sink {
            addr,
            state,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Keys of the requests answered 2xx, in arrival order.
    pub fn accepted(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(|r| r.key)
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn hook(
    State(state): State<Arc<Mutex<SinkState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let (reply, delay) = {
        let mut state = state.lock().unwrap();
        (
            state.script.pop_front().unwrap_or(Reply::Status(200)),
            state.delay,
        )
    };
    tokio::time::sleep(delay).await;
    let status = match reply {
        Reply::Status(code) => code,
        Reply::TooMany(_) => 429,
    };
    state.lock().unwrap().requests.push(Request {
        key,
        status,
        at: Instant::now(),
        body,
    });
    let code = StatusCode::from_u16(status).unwrap();
    match reply {
        Reply::TooMany(seconds) => {
            (code, [("retry-after", seconds.to_string())], "slow down").into_response()
        }
        Reply::Status(_) => (code, "ok").into_response(),
    }
}

/// POSTs Alertmanager v4 JSON with an `Idempotency-Key`; 5xx, 429 and
/// connection errors are retryable (429 with its Retry-After), other 4xx
/// permanent.
#[derive(Debug)]
pub struct PostJson {
    client: reqwest::Client,
    url: String,
}

impl PostJson {
    pub fn new(url: String) -> Arc<PostJson> {
        crate::harness::install_tls_provider();
        Arc::new(PostJson {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            url,
        })
    }
}

impl Deliver for PostJson {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        true
    }

    fn max_alerts(&self) -> usize {
        0
    }

    fn send<'a>(
        &'a self,
        n: &'a Notification,
        _thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            let sent = self
                .client
                .post(&self.url)
                .header("Idempotency-Key", &n.id)
                .json(&WebhookMessage::from_notification(n))
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    return Err(DeliveryError::Retryable {
                        reason: format!("POST {}: {e}", self.url),
                        retry_after: None,
                    });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if status.is_success() {
                Ok(Delivered {
                    thread: None,
                    detail: format!("HTTP {}", status.as_u16()),
                })
            } else if status.is_server_error() || status.as_u16() == 429 {
                Err(DeliveryError::Retryable {
                    reason: format!("HTTP {}", status.as_u16()),
                    retry_after,
                })
            } else {
                Err(DeliveryError::Permanent {
                    reason: format!("HTTP {}", status.as_u16()),
                })
            }
        })
    }
}
