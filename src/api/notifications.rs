//! `GET /api/v1/notifications`: the delivery history, so "did on-call get
//! paged, and when?" has an answer without reading logs.
//!
//! ```text
//! GET /api/v1/notifications?receiver=oncall&status=failed&group=kafka&limit=20
//! {"status":"success","data":[{"id":"…","groupKey":"…","receiver":"oncall",
//!   "integration":0,"integrationKind":"slack","reason":"new","status":"failed",
//!   "alerts":[{"fingerprint":"…","status":"firing","labels":{…}}],
//!   "truncatedAlerts":0,"attempts":7,"lastError":"HTTP 503","createdAt":"…",
//!   "firstAttemptAt":"…","deliveredAt":null,"failedAt":"…","detail":"gave up …"}]}
//! ```
//!
//! Newest first (by when the notification was decided). Filters: `receiver`
//! (exact), `status` (`pending`, `delivered`, `failed`), `group` (substring
//! of the group key), `limit` (default 100). An unknown parameter or a bad
//! value is a 400 with a message, not a silently unfiltered answer.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{Endpoint, Verb};
use crate::diag::suggest;
use crate::notify::notification::{Reason, Status};
use crate::notify::outbox::{HistoryEntry, HistoryQuery, HistoryStatus, Outbox};
use crate::vocab::labels::LabelSet;
use crate::vocab::time::rfc3339;

/// The endpoint's table.
pub(super) fn endpoints() -> Vec<Endpoint<Arc<Outbox>>> {
    vec![Endpoint::new(Verb::Get, "/api/v1/notifications", list)]
}

/// The route, ready to merge into the API router.
pub fn routes(outbox: Arc<Outbox>) -> Router {
    super::table_router(endpoints(), outbox)
}

const PARAMS: [&str; 4] = ["receiver", "status", "group", "limit"];

/// Parses the query parameters of `/api/v1/notifications`; the error is the
/// message for the 400 answer. A repeated parameter counts once (the first),
/// as Go's `Query().Get`.
pub fn parse_query(pairs: &[(String, String)]) -> Result<HistoryQuery, String> {
    let mut query = HistoryQuery::default();
    for (name, _) in pairs {
        if !PARAMS.contains(&name.as_str()) {
            let mut message = format!(
                "unknown query parameter `{name}`; the parameters are receiver, status, group \
                 and limit"
            );
            if let Some(hint) = suggest(name, PARAMS) {
                message = format!("{message} ({hint})");
            }
            return Err(message);
        }
    }
    let first = |wanted: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.as_str())
    };
    query.receiver = first("receiver").map(str::to_string);
    query.group = first("group").map(str::to_string);
    if let Some(status) = first("status") {
        let names = HistoryStatus::ALL.map(HistoryStatus::as_str);
        query.status = Some(
            HistoryStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == status)
                .ok_or_else(|| {
                    let mut message =
                        format!("unknown status `{status}`; expected pending, delivered or failed");
                    if let Some(hint) = suggest(status, names) {
                        message = format!("{message} ({hint})");
                    }
                    message
                })?,
        );
    }
    if let Some(limit) = first("limit") {
        query.limit = match limit.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("limit `{limit}` is not a positive integer")),
        };
    }
    Ok(query)
}

#[derive(Serialize)]
struct Success<T> {
    status: &'static str,
    data: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    status: &'static str,
    error_type: &'static str,
    error: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationView<'a> {
    id: &'a str,
    group_key: &'a str,
    group_id: &'a str,
    receiver: &'a str,
    integration: usize,
    integration_kind: &'a str,
    reason: Reason,
    status: HistoryStatus,
    alerts: Vec<AlertView<'a>>,
    truncated_alerts: usize,
    attempts: u32,
    last_error: Option<&'a str>,
    created_at: String,
    first_attempt_at: Option<String>,
    delivered_at: Option<String>,
    failed_at: Option<String>,
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct AlertView<'a> {
    fingerprint: String,
    status: Status,
    labels: &'a LabelSet,
}

impl<'a> NotificationView<'a> {
    fn of(e: &'a HistoryEntry) -> Self {
        NotificationView {
            id: &e.id,
            group_key: &e.group_key,
            group_id: if e.group_id.is_empty() {
                &e.group_key
            } else {
                &e.group_id
            },
            receiver: &e.receiver,
            integration: e.integration,
            integration_kind: &e.integration_kind,
            reason: e.reason,
            status: e.status,
            alerts: e
                .alerts
                .iter()
                .map(|a| AlertView {
                    fingerprint: format!("{:016x}", a.fingerprint),
                    status: a.status,
                    labels: &a.labels,
                })
                .collect(),
            truncated_alerts: e.truncated_alerts,
            attempts: e.attempts,
            last_error: e.last_error.as_deref(),
            created_at: rfc3339(e.created_at),
            first_attempt_at: e.first_attempt_at.map(rfc3339),
            delivered_at: e.delivered_at.map(rfc3339),
            failed_at: e.failed_at.map(rfc3339),
            detail: e.detail.as_deref(),
        }
    }
}

async fn list(
    State(outbox): State<Arc<Outbox>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    let query = match parse_query(&pairs) {
        Ok(query) => query,
        Err(message) => return bad_request(message),
    };
    let entries = outbox.history(&query);
    let data: Vec<NotificationView<'_>> = entries.iter().map(NotificationView::of).collect();
    (
        StatusCode::OK,
        axum::Json(Success {
            status: "success",
            data,
        }),
    )
        .into_response()
}

fn bad_request(error: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(Failure {
            status: "error",
            error_type: "bad_data",
            error,
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_every_filter() {
        let q = parse_query(&pairs(&[
            ("receiver", "oncall"),
            ("status", "failed"),
            ("group", "kafka"),
            ("limit", "5"),
            ("receiver", "ignored"),
        ]));
        assert_eq!(
            q,
            Ok(HistoryQuery {
                receiver: Some("oncall".into()),
                status: Some(HistoryStatus::Failed),
                group: Some("kafka".into()),
                limit: 5,
            })
        );
        assert_eq!(parse_query(&[]), Ok(HistoryQuery::default()));
    }

    #[test]
    fn bad_parameters_say_what_is_wrong() {
        assert_eq!(
            parse_query(&pairs(&[("status", "deliverd")])),
            Err(
                "unknown status `deliverd`; expected pending, delivered or failed (did you \
                 mean `delivered`?)"
                    .to_string()
            )
        );
        assert_eq!(
            parse_query(&pairs(&[("reciever", "x")])),
            Err(
                "unknown query parameter `reciever`; the parameters are receiver, status, \
                 group and limit (did you mean `receiver`?)"
                    .to_string()
            )
        );
        for limit in ["0", "-1", "ten", ""] {
            assert_eq!(
                parse_query(&pairs(&[("limit", limit)])),
                Err(format!("limit `{limit}` is not a positive integer"))
            );
        }
    }
}
