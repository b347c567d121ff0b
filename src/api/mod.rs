//! The HTTP API of `klaxon serve`: Prometheus 2.42's `/api/v1/rules`,
//! `/api/v1/alerts` and `/api/v1/status/buildinfo` byte for byte (so Grafana
//! and scripts written for Prometheus read klaxon), `/metrics`, and the
//! lifecycle endpoints `/-/healthy`, `/-/ready` and `/-/reload`.
//!
//! The API only reads snapshots and triggers reloads through [`Backend`];
//! the serve command implements it.
//!
//! Every router is built from a table of [`Endpoint`]s (one per module), and
//! [`finish`] puts on the whole of it what every answer shares: the bearer
//! token on each state-changing request ([`access`]), JSON answers for
//! unknown paths and wrong methods. [`endpoints`] lists the tables, so tests
//! check every endpoint `klaxon serve` has.

pub mod access;
pub mod alertmanager;
pub mod cluster;
pub mod json;
pub mod notifications;
pub mod prom;
pub mod server;

pub use server::{ConnectionLimits, serve};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::eval::alert::{Alert, LabelPairs};
use crate::eval::status::{GroupStatus, RuleStatusKind};
use json::to_go_json;
use prom::{Failure, RuleFilter, Success};

/// A boxed, sendable future: what [`Backend::reload`] returns, so the trait
/// stays object-safe without an async-trait dependency.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the API reads and triggers; the serve command implements it.
pub trait Backend: Send + Sync + 'static {
    /// Calls `f` with each group's snapshot, in the order to list them,
    /// one group at a time: an answer about thousands of rules then never
    /// holds every rule's status at once.
    fn for_each_group(&self, f: &mut dyn FnMut(GroupStatus));

    /// Pending and firing alerts of every rule, in the order of
    /// [`Backend::for_each_group`]. The default takes them from those
    /// snapshots; a backend with thousands of rules overrides it to skip
    /// the rules' own status.
    fn alerts(&self) -> Vec<Alert<LabelPairs>> {
        let mut alerts = Vec::new();
        self.for_each_group(&mut |group| {
            for rule in group.rules {
                if let RuleStatusKind::Alerting { alerts: listed, .. } = rule.kind {
                    alerts.extend(listed);
                }
            }
        });
        alerts
    }

    /// Whether this replica evaluates the group (in a cluster, another
    /// replica may). Alone: always.
    fn evaluates_here(&self, _file: &str, _name: &str) -> bool {
        true
    }

    /// In a cluster, the same endpoint as the other replicas answer it for
    /// what they evaluate (`path_and_query` already asks them for their own
    /// part only), to merge into this replica's answer. Alone: nothing.
    fn peer_answers(&self, _path_and_query: String) -> BoxFuture<'static, Vec<serde_json::Value>> {
        Box::pin(async { Vec::new() })
    }

    /// True once the alert state is restored; until then `/-/ready` and the
    /// rule and alert endpoints answer 503, as Prometheus before its TSDB is up.
    fn is_ready(&self) -> bool;

    /// Why klaxon, though running, cannot do its work (its state store
    /// cannot write: a full disk), for `/-/ready` only: the other
    /// endpoints keep answering from memory meanwhile. None when it can.
    fn unready_reason(&self) -> Option<String> {
        None
    }

    /// Loads and validates the configuration again and swaps it in. `Ok`
    /// carries a one-line summary of what changed; `Err` every diagnostic,
    /// rendered, while the old configuration keeps running.
    fn reload(&self) -> BoxFuture<'static, Result<String, Vec<String>>>;
}

/// What `/api/v1/status/buildinfo` reports, in Prometheus's field names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// klaxon's version.
    pub version: String,
    /// Source revision, when the build recorded one (`KLAXON_BUILD_REVISION`).
    pub revision: String,
    /// Source branch, when recorded (`KLAXON_BUILD_BRANCH`).
    pub branch: String,
    /// Who built it, when recorded (`KLAXON_BUILD_USER`).
    pub build_user: String,
    /// When it was built, when recorded (`KLAXON_BUILD_DATE`).
    pub build_date: String,
    /// Prometheus reports its Go version here; klaxon reports the Rust
    /// toolchain when recorded (`KLAXON_BUILD_RUSTC`).
    pub go_version: String,
}

impl BuildInfo {
    /// This binary's build information, from compile-time environment.
    pub fn current() -> Self {
        let recorded = |value: Option<&str>| value.unwrap_or("").to_string();
        BuildInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            revision: recorded(option_env!("KLAXON_BUILD_REVISION")),
            branch: recorded(option_env!("KLAXON_BUILD_BRANCH")),
            build_user: recorded(option_env!("KLAXON_BUILD_USER")),
            build_date: recorded(option_env!("KLAXON_BUILD_DATE")),
            go_version: recorded(option_env!("KLAXON_BUILD_RUSTC")),
        }
    }
}

/// The content type of `/metrics`: OpenMetrics text, which Prometheus 2.42
/// negotiates and scrapes.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct ApiState {
    backend: Arc<dyn Backend>,
    registry: Arc<Registry>,
    build_info: Arc<BuildInfo>,
}

/// A method the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET` (and `HEAD`, which axum answers with the `GET` handler).
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Verb {
    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Delete => Method::DELETE,
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// One endpoint: a method on a path and its handler. Routers are built only
/// from tables of these ([`table_router`]), so [`endpoints`] is everything
/// served.
pub struct Endpoint<S> {
    /// The method.
    pub verb: Verb,
    /// The path, in axum's syntax (`/api/v2/silence/{id}`).
    pub path: &'static str,
    handler: MethodRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Endpoint<S> {
    /// `handler` answers `verb` on `path`.
    pub fn new<H, T>(verb: Verb, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        Endpoint {
            verb,
            path,
            handler: axum::routing::on(verb.filter(), handler),
        }
    }
}

/// The router of a table of endpoints (methods of one path merge).
pub fn table_router<S: Clone + Send + Sync + 'static>(table: Vec<Endpoint<S>>, state: S) -> Router {
    table
        .into_iter()
        .fold(Router::new(), |router, endpoint| {
            router.route(endpoint.path, endpoint.handler)
        })
        .with_state(state)
}

/// Every endpoint `klaxon serve` serves, as method and path: the tables
/// its router is built from.
pub fn endpoints() -> Vec<(Method, &'static str)> {
    fn listed<S>(table: Vec<Endpoint<S>>) -> impl Iterator<Item = (Method, &'static str)> {
        table.into_iter().map(|e| (e.verb.method(), e.path))
    }
    listed(prometheus_endpoints())
        .chain(listed(alertmanager::endpoints()))
        .chain(listed(notifications::endpoints()))
        .chain(listed(cluster::endpoints()))
        .collect()
}

/// The Prometheus-compatible and lifecycle endpoints.
fn prometheus_endpoints() -> Vec<Endpoint<ApiState>> {
    use Verb::{Get, Post, Put};
    vec![
        Endpoint::new(Get, "/api/v1/rules", rules),
        Endpoint::new(Get, "/api/v1/alerts", alerts),
        Endpoint::new(Get, "/api/v1/status/buildinfo", build_info),
        Endpoint::new(Get, "/metrics", metrics),
        Endpoint::new(Get, "/-/healthy", healthy),
        Endpoint::new(Get, "/-/ready", ready),
        Endpoint::new(Post, "/-/reload", reload),
        Endpoint::new(Put, "/-/reload", reload),
    ]
}

/// The Prometheus-compatible and lifecycle endpoints, unfinished: merge
/// the notifier's routes, then [`finish`].
pub fn prometheus_routes(backend: Arc<dyn Backend>, registry: Arc<Registry>) -> Router {
    let state = ApiState {
        backend,
        registry,
        build_info: Arc::new(BuildInfo::current()),
    };
    table_router(prometheus_endpoints(), state)
}

/// The Prometheus-compatible and lifecycle endpoints alone, finished with
/// no token.
pub fn router(backend: Arc<dyn Backend>, registry: Arc<Registry>) -> Router {
    finish(prometheus_routes(backend, registry), None)
}

/// What every answer of the API shares, put on `routes` once every route is
/// in: with `token`, each request other than GET, HEAD and OPTIONS needs
/// it ([`access`]); unknown paths (404) and wrong methods (405) answer in
/// JSON.
pub fn finish(routes: Router, token: Option<String>) -> Router {
    let routes = routes
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found);
    match token {
        Some(token) => access::require_token(routes, token),
        None => routes,
    }
}

/// Whether `path` is one of the notifier's Alertmanager-compatible
/// endpoints, whose errors take Alertmanager's `{"code","message"}` shape
/// (amtool prints `message`); the others take Prometheus's.
fn alertmanager_path(path: &str) -> bool {
    path.starts_with("/api/v2/") || path.starts_with("/api/v1/receivers/")
}

/// An error answer in the shape of the endpoint at `path`.
fn error_for(
    path: &str,
    status: StatusCode,
    error_type: &'static str,
    message: String,
) -> Response {
    if alertmanager_path(path) {
        alertmanager::framework_error(status, status.as_u16(), message)
    } else {
        api_error(status, error_type, message)
    }
}

/// A JSON answer serialized the way Prometheus (Go) writes it.
fn go_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match to_go_json(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(error) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("error marshaling json response: {error}\n"),
        ),
    }
}

/// An answer of JSON already written.
fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
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

/// A Prometheus error answer with no details.
fn api_error(status: StatusCode, error_type: &'static str, error: String) -> Response {
    let body: Failure<()> = Failure {
        status: "error",
        data: None,
        error_type,
        error,
    };
    go_json(status, &body)
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text.into(),
    )
        .into_response()
}

fn not_ready() -> Response {
    api_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "klaxon is not ready: alert state is still being restored".to_string(),
    )
}

/// Query pairs in order; Go's `Query().Get` takes the first of a name.
type QueryPairs = Vec<(String, String)>;

async fn rules(
    State(state): State<ApiState>,
    query: Result<Query<QueryPairs>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // Readiness first, as Prometheus's API wrapper checks it before the handler.
    if !state.backend.is_ready() {
        return not_ready();
    }
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(rejection) => {
            return api_error(StatusCode::BAD_REQUEST, "bad_data", rejection.body_text());
        }
    };
    let type_param = pairs
        .iter()
        .find(|(name, _)| name == "type")
        .map(|(_, value)| value.as_str());
    let scope = scope_of(&pairs);
    let filter = match RuleFilter::parse(type_param) {
        Ok(filter) => filter,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, "bad_data", message),
    };
    // `{"status":"success","data":{"groups":[...]}}`, as
    // Prometheus's envelope, written a group at a time.
    let mut body = br#"{"status":"success","data":{"groups":["#.to_vec();
    let mut failure = None;
    let mut first = true;
    state.backend.for_each_group(&mut |group| {
        if failure.is_some() {
            return;
        }
        if scope != Scope::Local && !state.backend.evaluates_here(&group.file, &group.name) {
            return;
        }
        if !first {
            body.push(b',');
        }
        first = false;
        if let Err(error) = json::write_go_json(&mut body, &prom::rule_group(&group, filter)) {
            failure = Some(error);
        }
    });
    if scope == Scope::Cluster {
        let mut path = format!("/api/v1/rules?{OWN_PART}");
        if let Some(t) = type_param {
            path.push_str(&format!("&type={}", crate::vocab::go::query_escape(t)));
        }
        for answer in state.backend.peer_answers(path).await {
            for group in answer
                .pointer("/data/groups")
                .and_then(|g| g.as_array())
                .into_iter()
                .flatten()
            {
                // Every replica runs the built-in group for itself: once.
                if group["file"] == "<builtin>" {
                    continue;
                }
                if !first {
                    body.push(b',');
                }
                first = false;
                if let Err(error) = json::write_go_json(&mut body, group) {
                    failure = Some(error);
                }
            }
        }
    }
    if let Some(error) = failure {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("error marshaling json response: {error}\n"),
        );
    }
    body.extend_from_slice(b"]}}");
    json_bytes(StatusCode::OK, body)
}

/// The query parameter a replica adds when it asks another for the part
/// it evaluates (so the answers are not merged again).
const OWN_PART: &str = "klaxon_scope=owned";

/// What a listing covers (`klaxon_scope`): in a cluster, by default the
/// whole cluster's groups (each replica's own, merged); `owned`, the
/// groups this replica evaluates; `local`, every group as this replica's
/// evaluator sees it (those another replica owns with their last local
/// status), for debugging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Cluster,
    Owned,
    Local,
}

fn scope_of(pairs: &[(String, String)]) -> Scope {
    match pairs
        .iter()
        .find(|(name, _)| name == "klaxon_scope")
        .map(|(_, value)| value.as_str())
    {
        Some("owned") => Scope::Owned,
        Some("local") => Scope::Local,
        _ => Scope::Cluster,
    }
}

async fn alerts(
    State(state): State<ApiState>,
    query: Result<Query<QueryPairs>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !state.backend.is_ready() {
        return not_ready();
    }
    let alerts = state.backend.alerts();
    let scope = query.map_or(Scope::Cluster, |Query(pairs)| scope_of(&pairs));
    if scope != Scope::Cluster {
        return go_json(
            StatusCode::OK,
            &Success::new(prom::alert_discovery(&alerts)),
        );
    }
    let peers = state
        .backend
        .peer_answers(format!("/api/v1/alerts?{OWN_PART}"))
        .await;
    if peers.is_empty() {
        return go_json(
            StatusCode::OK,
            &Success::new(prom::alert_discovery(&alerts)),
        );
    }
    // Merged as JSON: this replica's alerts, then each peer's, an alert
    // listed once (the built-in alerts every replica raises for itself).
    let mut merged = match serde_json::to_value(prom::alert_discovery(&alerts)) {
        Ok(value) => value,
        Err(error) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("error marshaling json response: {error}\n"),
            );
        }
    };
    if let Some(list) = merged.get_mut("alerts").and_then(|a| a.as_array_mut()) {
        let mut seen: std::collections::HashSet<String> =
            list.iter().map(|a| a["labels"].to_string()).collect();
        for answer in peers {
            for alert in answer
                .pointer("/data/alerts")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
            {
                if seen.insert(alert["labels"].to_string()) {
                    list.push(alert.clone());
                }
            }
        }
    }
    go_json(StatusCode::OK, &Success::new(merged))
}

async fn build_info(State(state): State<ApiState>) -> Response {
    go_json(StatusCode::OK, &Success::new(&*state.build_info))
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(METRICS_CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(error) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {error}\n"),
        ),
    }
}

async fn healthy() -> Response {
    plain(StatusCode::OK, "klaxon is Healthy.\n")
}

async fn ready(State(state): State<ApiState>) -> Response {
    if !state.backend.is_ready() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "klaxon is not ready.\n");
    }
    match state.backend.unready_reason() {
        None => plain(StatusCode::OK, "klaxon is Ready.\n"),
        Some(reason) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("klaxon is not ready: {reason}\n"),
        ),
    }
}

/// `data` of a successful reload.
#[derive(Serialize)]
struct ReloadDone {
    summary: String,
}

/// `data` of a failed reload: each diagnostic on its own, for scripts.
#[derive(Serialize)]
struct ReloadFailed {
    errors: Vec<String>,
}

async fn reload(State(state): State<ApiState>) -> Response {
    match state.backend.reload().await {
        Ok(summary) => go_json(StatusCode::OK, &Success::new(ReloadDone { summary })),
        Err(errors) => {
            let body = Failure {
                status: "error",
                error_type: "bad_data",
                error: reload_error_message(&errors),
                data: Some(ReloadFailed { errors }),
            };
            go_json(StatusCode::BAD_REQUEST, &body)
        }
    }
}

/// The reload's `error`: every diagnostic in one readable text
/// (`curl … | jq -r .error` prints it as the terminal would).
fn reload_error_message(errors: &[String]) -> String {
    let count = match errors.len() {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    };
    let mut message =
        format!("reload failed with {count}; the previous configuration keeps running");
    for error in errors {
        message.push_str("\n\n");
        message.push_str(error.trim_end());
    }
    message
}

async fn method_not_allowed(method: Method, uri: Uri, matched: Option<MatchedPath>) -> Response {
    let path = uri.path();
    let pattern = matched.as_ref().map_or(path, MatchedPath::as_str);
    let allowed: Vec<String> = endpoints()
        .into_iter()
        .filter(|(_, p)| *p == pattern)
        .map(|(m, _)| m.to_string())
        .collect();
    let message = if alertmanager_path(path) {
        // go-swagger's words.
        format!(
            "method {method} is not allowed, but [{}] are",
            allowed.join(",")
        )
    } else {
        format!(
            "method {method} not allowed for {path}: only {} requests are allowed",
            allowed.join(" or ")
        )
    };
    error_for(path, StatusCode::METHOD_NOT_ALLOWED, "bad_data", message)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let message = if alertmanager_path(path) {
        format!("path {path} was not found")
    } else {
        format!("no endpoint {method} {path}")
    };
    error_for(path, StatusCode::NOT_FOUND, "not_found", message)
}
