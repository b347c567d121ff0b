//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`.
//!
//! Every server the tests talk to listens on loopback over plain HTTP, so a
//! hand-written client is enough, and it has one property the async clients
//! lack: it can be called from a plain `#[test]`, from a `#[tokio::test]` and
//! from inside a tokio runtime alike, without nesting runtimes. Each request
//! opens a connection, sends `Connection: close` and reads until the server
//! closes it; `chunked` bodies are decoded, compressed ones are never asked
//! for.

use std::io::{self, Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// How long to wait for a connection to a loopback server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one read or write may block.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A response: status code, headers (names lowercased) and body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header names (lowercased) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

impl HttpResponse {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The body parsed as JSON, or an error naming the status and body.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| {
            format!(
                "response is not JSON ({e}): HTTP {} {}",
                self.status, self.body
            )
        })
    }
}

/// The first header called `name` (in any case) among `(name, value)`
/// pairs: of a response, a request a sink recorded, a mail.
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `GET url`.
pub fn get(url: &str) -> io::Result<HttpResponse> {
    request("GET", url, None)
}

/// `POST url` with a body of the given content type (an empty body is fine).
pub fn post(url: &str, content_type: &str, body: &[u8]) -> io::Result<HttpResponse> {
    request("POST", url, Some((content_type, body)))
}

/// Sends one request and reads the whole response.
pub fn request(method: &str, url: &str, body: Option<(&str, &[u8])>) -> io::Result<HttpResponse> {
    request_with_headers(method, url, &[], body)
}

/// Like [`request`], with extra headers (`("Authorization", "Bearer …")`).
pub fn request_with_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> io::Result<HttpResponse> {
    request_within(method, url, headers, body, IO_TIMEOUT)
}

/// Like [`request_with_headers`], with `timeout` for the connection and for
/// each read or write instead of the defaults: for a server expected to
/// hang (an etcd member without quorum), so the test sees the failure soon.
pub fn request_within(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("only http:// URLs are supported: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let address = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid(format!("{authority} resolves to no address")))?;
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT.min(timeout))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         User-Agent: klaxon-test-harness\r\nAccept: */*\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, bytes)) = body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    } else if method != "GET" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some((_, bytes)) = body {
        // A server may answer (413) and close before reading everything:
        // its answer is what the test wants to see.
        let _ = stream.write_all(bytes);
    }
    let _ = stream.flush();

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Parses a complete HTTP/1.x response (the connection was closed after it).
fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid(format!("no end of headers in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let payload = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        decode_chunked(payload)?
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        match length {
            Some(n) if n <= payload.len() => payload[..n].to_vec(),
            _ => payload.to_vec(),
        }
    };
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn decode_chunked(mut payload: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = payload
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("truncated chunk size line".to_string()))?;
        let size_text = String::from_utf8_lossy(&payload[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|e| invalid(format!("bad chunk size {size_text:?}: {e}")))?;
        payload = &payload[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = payload
            .get(..size)
            .ok_or_else(|| invalid("truncated chunk".to_string()))?;
        out.extend_from_slice(chunk);
        payload = payload.get(size + 2..).unwrap_or_default();
    }
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved
/// characters), e.g. a PromQL expression.
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
