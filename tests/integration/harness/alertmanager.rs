//! A stand-in for Alertmanager's `POST /api/v2/alerts`: records every batch
//! it receives, so a test can check what klaxon (or Prometheus, for a
//! differential test) forwards: labels, annotations, `startsAt`, `endsAt`,
//! `generatorURL`, and how often alerts are re-sent.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use super::api::Labels;
use super::server::LocalServer;

/// One alert of a posted batch, in Alertmanager's API v2 format.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct PostedAlert {
    /// Labels, `alertname` included.
    #[serde(default)]
    pub labels: Labels,
    /// Annotations.
    #[serde(default)]
    pub annotations: Labels,
    /// RFC 3339.
    #[serde(default, rename = "startsAt")]
    pub starts_at: Option<String>,
    /// RFC 3339; in the past for a resolved alert.
    #[serde(default, rename = "endsAt")]
    pub ends_at: Option<String>,
    /// Link back to the rule's query.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
}

/// One `POST /api/v2/alerts` request.
#[derive(Debug, Clone)]
pub struct PostedBatch {
    /// When it arrived.
    pub received: Instant,
    /// Its alerts (empty when the body was not a JSON array of alerts).
    pub alerts: Vec<PostedAlert>,
    /// The raw body, for exact-format assertions.
    pub body: String,
}

#[derive(Default)]
struct Shared {
    batches: Mutex<Vec<PostedBatch>>,
    /// Status to answer with; 200 unless the test makes it fail.
    status: AtomicU16,
}

impl Shared {
    fn batches(&self) -> MutexGuard<'_, Vec<PostedBatch>> {
        self.batches.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The recording Alertmanager; see the module documentation.
pub struct AlertmanagerStub {
    server: LocalServer,
    shared: Arc<Shared>,
}

impl AlertmanagerStub {
    /// Starts listening; every post answers 200 until [`AlertmanagerStub::set_status`].
    pub fn start() -> AlertmanagerStub {
        let shared = Arc::new(Shared::default());
        shared.status.store(200, Ordering::SeqCst);
        let app = Router::new()
            .route("/api/v2/alerts", post(receive))
            .with_state(Arc::clone(&shared));
        AlertmanagerStub {
            server: LocalServer::start("alertmanager-stub", app),
            shared,
        }
    }

    /// `http://127.0.0.1:PORT`, the value for `--alertmanager.url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// `127.0.0.1:PORT`, the target for Prometheus's `alertmanagers`.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Answers later posts with this status (e.g. 503 to test retries).
    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Every batch received so far, oldest first.
    pub fn batches(&self) -> Vec<PostedBatch> {
        self.shared.batches().clone()
    }

    /// Every alert received so far, in order of arrival.
    pub fn alerts(&self) -> Vec<PostedAlert> {
        self.shared
            .batches()
            .iter()
            .flat_map(|b| b.alerts.iter().cloned())
            .collect()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        self.shared.batches().clear();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let body = String::from_utf8_lossy(&body).into_owned();
    let alerts = serde_json::from_str(&body).unwrap_or_default();
    shared.batches().push(PostedBatch {
        received: Instant::now(),
        alerts,
        body,
    });
    StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}
