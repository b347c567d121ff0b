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
//!   size, matchers, total) gets 400 naming the limit and its flag;
//! - a 500 from a failed write says what failed, not the server's paths or
//!   operating-system errors (those go to the log).
//!
//! Here are what the endpoints share (the state, the views of the notifier,
//! the settings) and their table; each endpoint lives with its resource
//! (`alerts`, `silences`, `status`, `webhook`), the rules for taking
//! alerts in in `ingest`, request bodies in `body`, answers and the
//! handlers' one error type in `reply`, shared JSON shapes in `wire`.

mod alerts;
mod body;
mod ingest;
mod reply;
mod silences;
mod status;
mod webhook;
mod wire;

use std::sync::Arc;

use axum::Router;
use serde::Serialize;

use super::{Endpoint, Verb};
use crate::notify::alerts::AlertStore;
use crate::notify::silence::Silences;
use crate::vocab::labels::{Fingerprint, LabelSet};
use crate::vocab::time::Clock;
use crate::vocab::time::Millis;

pub(super) use self::reply::framework_error;

/// What the API needs from the dispatcher: its aggregation groups, the
/// inhibition and routing decisions, and the configuration. The notifier
/// implements it; tests use a stand-in.
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
    /// Where handlers read the time (the notifier's clock).
    pub clock: Clock,
}

impl Default for AlertmanagerApiOptions {
    fn default() -> Self {
        AlertmanagerApiOptions {
            max_body_bytes: 16 << 20,
            resolve_timeout_ms: crate::model::notifier::DEFAULT_RESOLVE_TIMEOUT_MS,
            webhook_resolve_timeout_ms: (4 * 60 + 5) * 60 * 1000,
            version: AmVersionInfo::default(),
            started_at: crate::vocab::time::now_ms(),
            clock: Clock::system(),
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
        Endpoint::new(Get, "/api/v2/alerts", alerts::get_alerts),
        Endpoint::new(Post, "/api/v2/alerts", alerts::post_alerts),
        Endpoint::new(Get, "/api/v2/alerts/groups", alerts::get_alert_groups),
        Endpoint::new(Get, "/api/v2/silences", silences::get_silences),
        Endpoint::new(Post, "/api/v2/silences", silences::post_silences),
        Endpoint::new(Get, "/api/v2/silence/{id}", silences::get_silence),
        Endpoint::new(Delete, "/api/v2/silence/{id}", silences::delete_silence),
        Endpoint::new(Get, "/api/v2/status", status::get_status),
        Endpoint::new(Get, "/api/v2/receivers", status::get_receivers),
        Endpoint::new(
            Post,
            "/api/v1/receivers/alertmanager",
            webhook::post_webhook,
        ),
    ]
}

/// The endpoints, to merge into klaxon's router (then [`super::finish`]).
pub fn routes(state: AlertmanagerApi) -> Router {
    super::table_router(endpoints(), state)
}
