//! Answers as Alertmanager writes them, and [`AmError`], the one error type
//! of the handlers: a handler returns `Result<Response, AmError>` and says
//! what went wrong once; the shape of the answer is decided here.
//!
//! Alertmanager answers in two shapes: its handlers a JSON string, its
//! framework (go-swagger) `{"code":N,"message":…}`. A store error that is
//! not the client's to act on (500) is logged with its detail and answered
//! without it: the detail names files and operating-system errors of the
//! server, which are no business of a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::json::to_go_json;
use crate::api::json_bytes;
use crate::store::StoreError;

/// A JSON answer exactly as Go's encoder writes it (with its newline).
pub(super) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    encoded(status, body, true)
}

/// `body` as Go's JSON; go-swagger's handlers end it with a newline
/// (`json.Encoder`), its framework errors do not (`json.Marshal`).
fn encoded<T: Serialize + ?Sized>(status: StatusCode, body: &T, newline: bool) -> Response {
    match to_go_json(body) {
        Ok(mut bytes) => {
            if newline {
                bytes.push(b'\n');
            }
            json_bytes(status, bytes)
        }
        Err(error) => {
            tracing::error!("cannot encode an answer of the Alertmanager API: {error}");
            json_bytes(
                StatusCode::INTERNAL_SERVER_ERROR,
                b"\"cannot encode the answer; klaxon's log has the details\"\n".to_vec(),
            )
        }
    }
}

/// The framework's error shape: `{"code":N,"message":"…"}`.
pub(in crate::api) fn framework_error(
    status: StatusCode,
    code: u16,
    text: impl Into<String>,
) -> Response {
    #[derive(Serialize)]
    struct ErrorBody {
        code: u16,
        message: String,
    }
    encoded(
        status,
        &ErrorBody {
            code,
            message: text.into(),
        },
        false,
    )
}

/// 200 with no body, as Alertmanager acknowledges a write.
pub(super) fn empty_ok() -> Response {
    StatusCode::OK.into_response()
}

/// Why a request was not served, answered in Alertmanager's shapes.
#[derive(Debug)]
pub(super) enum AmError {
    /// A handler's refusal: a JSON string.
    Message(StatusCode, String),
    /// go-swagger's refusal: `{"code":N,"message":…}`.
    Framework {
        /// The HTTP status.
        status: StatusCode,
        /// go-swagger's code (602 for a missing field, …).
        code: u16,
        /// What was wrong.
        message: String,
    },
    /// A write the store could not make, while doing `doing` ("store
    /// posted alerts"): logged here, so every such failure is logged once.
    Store {
        /// What klaxon was doing, for the log and the answer.
        doing: &'static str,
        /// What the store said.
        error: StoreError,
    },
}

impl AmError {
    /// A handler's refusal.
    pub(super) fn message(status: StatusCode, text: impl Into<String>) -> AmError {
        AmError::Message(status, text.into())
    }

    /// go-swagger's refusal.
    pub(super) fn framework(status: StatusCode, code: u16, text: impl Into<String>) -> AmError {
        AmError::Framework {
            status,
            code,
            message: text.into(),
        }
    }

    /// go-swagger's answer to a missing required field.
    pub(super) fn required(field: &str) -> AmError {
        AmError::framework(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            format!("{field} in body is required"),
        )
    }
}

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        match self {
            AmError::Message(status, text) => json(status, &text),
            AmError::Framework {
                status,
                code,
                message,
            } => framework_error(status, code, message),
            AmError::Store { doing, error } => {
                tracing::error!("cannot {doing}: {error}");
                if error.is_unavailable() {
                    // A full disk: the message says which one and that
                    // klaxon recovers by itself, which the client may wait for.
                    let mut response = json(StatusCode::SERVICE_UNAVAILABLE, &error.to_string());
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
                    response
                } else {
                    json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("cannot {doing}: internal error; klaxon's log has the details"),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn answer(error: AmError) -> (StatusCode, String) {
        let response = error.into_response();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_500_does_not_echo_paths_or_operating_system_errors() {
        let error = StoreError::Database {
            path: "/var/lib/secret-place/klaxon.redb".into(),
            action: "commit silences to",
            detail: "Permission denied (os error 13) at /var/lib/secret-place".to_string(),
        };
        let (status, body) = answer(AmError::Store {
            doing: "store a silence",
            error,
        })
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            "\"cannot store a silence: internal error; klaxon's log has the details\"\n"
        );
        let error = StoreError::Io {
            path: "/var/lib/secret-place/lock".into(),
            action: "open",
            source: std::io::Error::other("disk on fire"),
        };
        let (status, body) = answer(AmError::Store {
            doing: "store posted alerts",
            error,
        })
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !body.contains("secret-place") && !body.contains("fire"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn refusals_take_alertmanagers_two_shapes() {
        assert_eq!(
            answer(AmError::message(StatusCode::BAD_REQUEST, "a \"b\"")).await,
            (StatusCode::BAD_REQUEST, "\"a \\\"b\\\"\"\n".to_string())
        );
        assert_eq!(
            answer(AmError::required("comment")).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"code":602,"message":"comment in body is required"}"#.to_string()
            )
        );
    }
}
