//! The Alertmanager API tests' view of [`super::http`]: request bodies are
//! JSON unless a `Content-Type` header says otherwise, `get`/`post_json`
//! panic when the server cannot be reached, and [`Response::json`] panics
//! on a body that is not JSON (the API tests compare answers, so a broken
//! one should stop the test where it arrives).

use std::io;

use super::http::{HttpResponse, header_value, request_with_headers};

/// A response: status, headers (names lowercased) and the body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (the servers under test answer UTF-8 JSON or text).
    pub bytes: Vec<u8>,
}

impl From<HttpResponse> for Response {
    fn from(response: HttpResponse) -> Response {
        Response {
            status: response.status,
            headers: response.headers,
            bytes: response.body.into_bytes(),
        }
    }
}

impl Response {
    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): HTTP {} {}", self.status, self.text()))
    }

    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// Sends a request; `headers` are extra `(name, value)` pairs, and a body
/// is sent as `application/json` unless they name another content type.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Response> {
    let is_content_type = |name: &str| name.eq_ignore_ascii_case("content-type");
    let content_type = headers
        .iter()
        .find(|(n, _)| is_content_type(n))
        .map_or("application/json", |(_, v)| *v);
    let others: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .filter(|(n, _)| body.is_none() || !is_content_type(n))
        .collect();
    request_with_headers(method, url, &others, body.map(|b| (content_type, b))).map(Response::from)
}

/// `GET url`; panics when the server cannot be reached.
pub fn get(url: &str) -> Response {
    request("GET", url, &[], None).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// `POST url` with a JSON body; panics when the server cannot be reached.
pub fn post_json(url: &str, body: &str) -> Response {
    request("POST", url, &[], Some(body.as_bytes())).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}
