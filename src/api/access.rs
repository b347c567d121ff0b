//! Who may change state: with `--api.token-file`, every request that is not
//! a read (GET, HEAD, OPTIONS) needs `Authorization: Bearer <token>`. The
//! check is one layer over the whole router, decided by method alone, so an
//! endpoint added later is covered without doing anything; 401 otherwise,
//! with a JSON body in the shape of the endpoint's other errors.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// `routes` with every state-changing request checked against `token`.
pub fn require_token(routes: Router, token: String) -> Router {
    routes.layer(axum::middleware::from_fn_with_state(
        Arc::<str>::from(token),
        check,
    ))
}

/// Whether requests of `method` only read.
pub fn is_read(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS
}

async fn check(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    if is_read(request.method()) {
        return next.run(request).await;
    }
    match presented(request.headers()) {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => unauthorized(request.uri().path(), "the bearer token is not valid"),
        None => unauthorized(
            request.uri().path(),
            "this endpoint needs an Authorization: Bearer <token> header",
        ),
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn unauthorized(path: &str, text: &str) -> Response {
    let mut response = super::error_for(
        path,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        text.to_string(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"klaxon\""),
    );
    response
}

/// Compares without returning early, so the time taken does not tell how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
