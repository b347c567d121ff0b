//! `/api/v2/silences` and `/api/v2/silence/{id}`: silences listed with
//! Alertmanager's filters and order, created, updated and expired through
//! [`crate::notify::silence::Silences`] (which holds Alertmanager's rules and klaxon's limits);
//! here are only the wire forms and go-swagger's checks of them.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AlertmanagerApi;
use super::alerts::filter_matcher;
use super::body::Posted;
use super::reply::{AmError, empty_ok, json};
use super::wire::am_time;
use crate::notify::silence::{Silence, SilenceError, SilenceInput, SilenceState};
use crate::vocab::matcher::{MatchOp, Matcher};
use crate::vocab::time::Millis;
use crate::vocab::time::parse_time;

/// Alertmanager's `matcher` as listed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableMatcher<'a> {
    is_equal: bool,
    is_regex: bool,
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct GettableSilenceStatus {
    state: &'static str,
}

/// Alertmanager's `gettableSilence`, keys in go-swagger's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence<'a> {
    id: &'a str,
    status: GettableSilenceStatus,
    updated_at: String,
    comment: &'a str,
    created_by: &'a str,
    ends_at: String,
    matchers: Vec<GettableMatcher<'a>>,
    starts_at: String,
}

fn gettable_silence(silence: &Silence, now: Millis) -> GettableSilence<'_> {
    GettableSilence {
        id: &silence.id,
        status: GettableSilenceStatus {
            state: silence.state(now).as_str(),
        },
        updated_at: am_time(silence.updated_at),
        comment: &silence.comment,
        created_by: &silence.created_by,
        ends_at: am_time(silence.ends_at),
        matchers: silence
            .matchers
            .iter()
            .map(|m| GettableMatcher {
                is_equal: m.op.is_equal(),
                is_regex: m.op.is_regex(),
                name: &m.name,
                value: &m.value,
            })
            .collect(),
        starts_at: am_time(silence.starts_at),
    }
}

pub(super) async fn get_silences(
    State(api): State<AlertmanagerApi>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AmError> {
    let filters = pairs
        .iter()
        .filter(|(name, _)| name == "filter")
        .map(|(_, value)| filter_matcher(value))
        .collect::<Result<Vec<_>, _>>()?;
    let now = api.options.clock.now();
    let mut silences: Vec<Silence> = api
        .silences
        .list()
        .into_iter()
        .filter(|s| {
            filters
                .iter()
                .all(|f| s.matchers.iter().any(|m| f.matcher() == m))
        })
        .collect();
    // Active first (next to end first), then pending (next to start first),
    // then expired (most recently ended first); ties by id for a stable list.
    silences.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        sa.cmp(&sb)
            .then_with(|| match sa {
                SilenceState::Active => a.ends_at.cmp(&b.ends_at),
                SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
                SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    let body: Vec<GettableSilence<'_>> =
        silences.iter().map(|s| gettable_silence(s, now)).collect();
    Ok(json(StatusCode::OK, &body))
}

/// Alertmanager's `postableSilence`; required fields checked by hand to
/// answer as go-swagger's validation does.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    matchers: Option<Vec<PostableMatcher>>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableMatcher {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    is_regex: Option<bool>,
    #[serde(default)]
    is_equal: Option<bool>,
}

fn silence_input(posted: PostableSilence) -> Result<SilenceInput, AmError> {
    let matchers = posted
        .matchers
        .ok_or_else(|| AmError::required("matchers"))?;
    if matchers.is_empty() {
        return Err(AmError::framework(
            StatusCode::UNPROCESSABLE_ENTITY,
            612,
            "matchers in body should have at least 1 items",
        ));
    }
    let mut converted = Vec::with_capacity(matchers.len());
    for (i, m) in matchers.into_iter().enumerate() {
        let name = m
            .name
            .ok_or_else(|| AmError::required(&format!("matchers.{i}.name")))?;
        let value = m
            .value
            .ok_or_else(|| AmError::required(&format!("matchers.{i}.value")))?;
        let is_regex = m
            .is_regex
            .ok_or_else(|| AmError::required(&format!("matchers.{i}.isRegex")))?;
        let op = MatchOp::from_flags(m.is_equal.unwrap_or(true), is_regex);
        converted.push(Matcher::new(name, op, value));
    }
    let time = |field: &str, text: Option<String>| -> Result<Millis, AmError> {
        let text = text.ok_or_else(|| AmError::required(field))?;
        match parse_time(&text) {
            Ok(Some(ms)) => Ok(ms),
            Ok(None) => Ok(i64::MIN / 2),
            Err(e) => Err(AmError::framework(
                StatusCode::BAD_REQUEST,
                400,
                format!("parsing silence body failed: {field}: {e}"),
            )),
        }
    };
    let starts_at = time("startsAt", posted.starts_at)?;
    let ends_at = time("endsAt", posted.ends_at)?;
    let created_by = posted
        .created_by
        .ok_or_else(|| AmError::required("createdBy"))?;
    let comment = posted.comment.ok_or_else(|| AmError::required("comment"))?;
    Ok(SilenceInput {
        id: posted.id.filter(|id| !id.is_empty()),
        matchers: converted,
        starts_at,
        ends_at,
        created_by,
        comment,
    })
}

impl From<SilenceError> for AmError {
    fn from(error: SilenceError) -> AmError {
        match error {
            SilenceError::NotFound => AmError::message(StatusCode::NOT_FOUND, "silence not found"),
            SilenceError::Invalid(text) => AmError::message(StatusCode::BAD_REQUEST, text),
            SilenceError::Store(error) => AmError::Store {
                doing: "store a silence",
                error,
            },
        }
    }
}

pub(super) async fn post_silences(
    State(api): State<AlertmanagerApi>,
    body: Posted,
) -> Result<Response, AmError> {
    if body.is_blank() {
        return Err(AmError::required("silence"));
    }
    let input = silence_input(body.json("silence")?)?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        #[serde(rename = "silenceID")]
        silence_id: String,
    }
    let silence_id = api.silences.set(input, api.options.clock.now()).await?;
    Ok(json(StatusCode::OK, &Created { silence_id }))
}

/// The `{silenceID}` path parameter, checked as go-swagger does
/// (`format: uuid`); a path that does not even decode (bytes that are not
/// UTF-8) is no UUID either and gets the same JSON answer, not axum's
/// plain-text rejection.
pub(super) struct SilenceId(String);

impl<S: Send + Sync> FromRequestParts<S> for SilenceId {
    type Rejection = AmError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AmError> {
        silence_id(Path::<String>::from_request_parts(parts, state).await).map(SilenceId)
    }
}

fn silence_id(path: Result<Path<String>, PathRejection>) -> Result<String, AmError> {
    let not_uuid = |shown: String| {
        AmError::framework(
            StatusCode::UNPROCESSABLE_ENTITY,
            601,
            format!("silenceID in path must be of type uuid: {shown}"),
        )
    };
    let id = match path {
        Ok(Path(id)) => id,
        Err(rejection) => return Err(not_uuid(rejection.body_text())),
    };
    match uuid::Uuid::try_parse(&id) {
        Ok(_) => Ok(id),
        Err(_) => Err(not_uuid(format!("{id:?}"))),
    }
}

pub(super) async fn get_silence(
    State(api): State<AlertmanagerApi>,
    SilenceId(id): SilenceId,
) -> Response {
    match api.silences.get(&id) {
        Some(silence) => json(
            StatusCode::OK,
            &gettable_silence(&silence, api.options.clock.now()),
        ),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn delete_silence(
    State(api): State<AlertmanagerApi>,
    SilenceId(id): SilenceId,
) -> Result<Response, AmError> {
    match api.silences.expire(&id, api.options.clock.now()).await {
        Ok(()) => Ok(empty_ok()),
        // Alertmanager 0.25 answers an unknown id with 500, the only error
        // its OpenAPI declares for this endpoint (amtool expects it).
        Err(SilenceError::NotFound) => Err(AmError::message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "silence not found",
        )),
        Err(error) => Err(error.into()),
    }
}
