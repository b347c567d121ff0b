//! The cluster's endpoints:
//! - `GET /api/v1/status/cluster`: members, their leases and configuration
//!   hashes, which groups and shards each owns, degraded or not;
//! - `POST /api/v1/cluster/alerts`: alerts another replica received,
//!   relayed so every replica's notifier sees every alert (inhibition and
//!   a shard's owner need them all). Not relayed again.
//!
//! On a replica running alone, the status says `"clustered": false` and the
//! relay endpoint refuses with a 400 that says why.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{BoxFuture, Endpoint, Verb, api_error};
use crate::notify::alert::NotifyAlert;
use crate::vocab::labels::is_valid_label_name;

/// What the endpoints need from the wiring.
pub trait ClusterView: Send + Sync {
    /// The status document (`data` of the answer).
    fn status(&self) -> BoxFuture<'_, serde_json::Value>;
    /// Takes alerts relayed by another replica into this one's notifier.
    fn accept_relayed(&self, alerts: Vec<NotifyAlert>) -> BoxFuture<'_, Result<(), String>>;
}

type ClusterState = Option<Arc<dyn ClusterView>>;

/// The endpoints' table.
pub(super) fn endpoints() -> Vec<Endpoint<ClusterState>> {
    vec![
        Endpoint::new(Verb::Get, "/api/v1/status/cluster", status),
        Endpoint::new(Verb::Post, "/api/v1/cluster/alerts", relayed),
    ]
}

/// The routes, ready to merge; `view` is None when not clustered.
pub fn routes(view: Option<Arc<dyn ClusterView>>) -> Router {
    super::table_router(endpoints(), view)
}

async fn status(State(view): State<ClusterState>) -> Response {
    let data = match view {
        Some(view) => view.status().await,
        None => serde_json::json!({ "clustered": false }),
    };
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "status": "success", "data": data })),
    )
        .into_response()
}

async fn relayed(State(view): State<ClusterState>, body: Bytes) -> Response {
    let Some(view) = view else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "this klaxon runs alone (no --cluster.etcd): it takes alerts at /api/v2/alerts".into(),
        );
    };
    let alerts: Vec<NotifyAlert> = match serde_json::from_slice(&body) {
        Ok(alerts) => alerts,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "bad_data",
                format!(
                    "a relayed batch must be a JSON array of alerts as replicas send them: {e}"
                ),
            );
        }
    };
    // Replicas relay only alerts they accepted; anything else did not come
    // from one.
    for (i, alert) in alerts.iter().enumerate() {
        let bad_name = alert
            .labels
            .iter()
            .chain(alert.annotations.iter())
            .find(|(name, _)| !is_valid_label_name(name))
            .map(|(name, _)| name.to_string());
        let problem = if alert.labels.is_empty() {
            Some("it has no labels".to_string())
        } else if let Some(name) = bad_name {
            Some(format!("{name:?} is not a valid label name"))
        } else if alert.ends_at < alert.starts_at {
            Some("it ends before it starts".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return api_error(
                StatusCode::BAD_REQUEST,
                "bad_data",
                format!("relayed alert {i} is refused: {problem}; the batch was not stored"),
            );
        }
    }
    match view.accept_relayed(alerts).await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "success" })),
        )
            .into_response(),
        Err(e) => api_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e),
    }
}
