//! A stand-in for Alertmanager's `POST /api/v2/alerts`: records every batch
//! it receives, so a test can check what klaxon (or Prometheus, for a
//! differential test) forwards: labels, annotations, `startsAt`, `endsAt`,
//! `generatorURL`, and how often alerts are re-sent.

use std::sync::{Arc, Mutex, MutexGuard};

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

#[derive(Default)]
struct Shared {
    alerts: Mutex<Vec<PostedAlert>>,
}

impl Shared {
    fn alerts(&self) -> MutexGuard<'_, Vec<PostedAlert>> {
        self.alerts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The recording Alertmanager; see the module documentation.
pub struct AlertmanagerStub {
    server: LocalServer,
    shared: Arc<Shared>,
}

impl AlertmanagerStub {
    /// Starts listening; every post answers 200.
    pub fn start() -> AlertmanagerStub {
        let shared = Arc::new(Shared::default());
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

    /// Every alert received so far, in order of arrival.
    pub fn alerts(&self) -> Vec<PostedAlert> {
        self.shared.alerts().clone()
    }
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    // A body that is not a JSON array of alerts records nothing.
    let alerts: Vec<PostedAlert> = serde_json::from_slice(&body).unwrap_or_default();
    shared.alerts().extend(alerts);
    StatusCode::OK
}
