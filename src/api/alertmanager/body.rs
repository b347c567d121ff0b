//! [`Posted`], the extractor of a write's request body: read within the
//! size limit (413 above it, 408 when the client stops sending), then
//! decoded as JSON with a message naming the field, line and column. The
//! handlers take it as an argument instead of repeating the reading.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;

use super::AlertmanagerApi;
use super::reply::AmError;

/// A request body, at most `max_body_bytes` long.
pub(super) struct Posted(Bytes);

impl FromRequest<AlertmanagerApi> for Posted {
    type Rejection = AmError;

    async fn from_request(request: Request, api: &AlertmanagerApi) -> Result<Self, AmError> {
        let limit = api.options.max_body_bytes;
        let too_large = || {
            AmError::framework(
                StatusCode::PAYLOAD_TOO_LARGE,
                413,
                format!("the request body is larger than the limit of {limit} bytes"),
            )
        };
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        match http_body_util::Limited::new(request.into_body(), limit)
            .collect()
            .await
        {
            Ok(collected) => Ok(Posted(collected.to_bytes())),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(error) if crate::api::server::body_timeout(error.as_ref()).is_some() => Err(
                AmError::framework(StatusCode::REQUEST_TIMEOUT, 408, error.to_string()),
            ),
            Err(error) => Err(AmError::framework(
                StatusCode::BAD_REQUEST,
                400,
                format!("cannot read the request body: {error}"),
            )),
        }
    }
}

impl Posted {
    /// Its size in bytes.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Nothing but whitespace: go-swagger's "… in body is required".
    pub(super) fn is_blank(&self) -> bool {
        self.0.iter().all(u8::is_ascii_whitespace)
    }

    /// The body as JSON of `what` ("alerts", "silence", …); on error, a
    /// message naming the field, line and column.
    pub(super) fn json<'de, T: Deserialize<'de>>(&'de self, what: &str) -> Result<T, AmError> {
        let bytes: &'de [u8] = &self.0;
        match serde_json::from_slice::<T>(bytes) {
            Ok(value) => Ok(value),
            Err(_) => {
                // Parse again, slowly, only to say where it went wrong.
                let mut deserializer = serde_json::Deserializer::from_slice(bytes);
                let detail = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                    Ok(_) => "unexpected data after the JSON value".to_string(),
                    Err(error) => {
                        // `?` marks a segment serde could not name (e.g. the
                        // end of input inside an object): leave it out.
                        let path = error.path().to_string().replace(".?", "");
                        if path == "." || path == "?" || path.is_empty() {
                            error.inner().to_string()
                        } else {
                            format!("at {path}: {}", error.inner())
                        }
                    }
                };
                Err(AmError::framework(
                    StatusCode::BAD_REQUEST,
                    400,
                    format!("parsing {what} body failed: {detail}"),
                ))
            }
        }
    }
}
