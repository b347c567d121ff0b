//! `GET /api/v2/status` and `GET /api/v2/receivers`: what amtool asks
//! before it does anything (the version, the configuration as written, a
//! cluster that is disabled) and the configured receivers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::reply::json;
use super::wire::{ReceiverName, am_time};
use super::{AlertmanagerApi, AmVersionInfo};

pub(super) async fn get_status(State(api): State<AlertmanagerApi>) -> Response {
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

pub(super) async fn get_receivers(State(api): State<AlertmanagerApi>) -> Response {
    let names = api.views.receiver_names();
    let body: Vec<ReceiverName<'_>> = names.iter().map(|name| ReceiverName { name }).collect();
    json(StatusCode::OK, &body)
}
