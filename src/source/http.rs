//! The one HTTP client setup every datasource shares: timeouts, credentials,
//! custom CA and extra headers, read from a `datasource` block (secrets from
//! `env()`/`file()` resolved here, when the configuration is built).

use std::path::Path;
use std::time::Duration;

use crate::model::{Datasource, SecretValue};
use crate::user_file;

/// Connection settings of one datasource, secrets resolved.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Base URL without a trailing slash.
    pub url: String,
    /// Per-query timeout; the evaluator also caps it at the group interval.
    pub timeout: Option<Duration>,
    /// `Authorization: Bearer ...`.
    pub bearer_token: Option<String>,
    /// `Authorization: ApiKey ...` (Elasticsearch).
    pub api_key: Option<String>,
    /// HTTP basic auth user and password.
    pub basic_auth: Option<(String, String)>,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: Option<String>,
    /// Skip TLS verification (testing only).
    pub insecure_skip_verify: bool,
    /// Extra headers, e.g. a Mimir tenant.
    pub headers: Vec<(String, String)>,
    /// Every other setting by name (kind-specific: `index`, `time_field`, ...).
    pub extra: Vec<(String, String)>,
}

/// A datasource setting that cannot be used: names the datasource and setting.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("datasource `{datasource}`: {setting}: {message}")]
pub struct SettingsError {
    /// Datasource name.
    pub datasource: String,
    /// Setting name.
    pub setting: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Resolves `env("X")`/`file("p")` to the secret's text.
pub fn resolve_secret(value: &SecretValue) -> Result<String, String> {
    match value {
        SecretValue::Literal(s) => Ok(s.clone()),
        SecretValue::Env(name) => {
            std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))
        }
        SecretValue::File(path) => {
            let bytes = user_file::read(Path::new(path), user_file::MAX_SMALL_FILE_BYTES)
                .map_err(|e| format!("cannot read `{path}`: {e}"))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("cannot read `{path}`: not UTF-8 text"))?;
            Ok(text.trim_end_matches(['\n', '\r']).to_string())
        }
    }
}

impl HttpSettings {
    /// Settings for a bare URL (the `--prometheus.url` default datasource).
    pub fn for_url(url: &str) -> Self {
        HttpSettings {
            url: url.trim_end_matches('/').to_string(),
            ..Default::default()
        }
    }

    /// Reads a declared datasource, resolving its secrets.
    pub fn from_datasource(ds: &Datasource) -> Result<Self, SettingsError> {
        let err = |setting: &str, message: String| SettingsError {
            datasource: ds.name.clone(),
            setting: setting.to_string(),
            message,
        };
        let mut out = HttpSettings::default();
        let mut user = None;
        let mut password = None;
        for (name, values, _span) in &ds.settings {
            let Some(first) = values.first() else {
                continue;
            };
            let value = resolve_secret(first).map_err(|m| err(name, m))?;
            match name.as_str() {
                "url" => out.url = value.trim_end_matches('/').to_string(),
                "timeout" => {
                    let d = crate::model::parse_duration(&value).map_err(|m| err(name, m))?;
                    out.timeout = Some(d.to_std());
                }
                "bearer_token" => out.bearer_token = Some(value.trim().to_string()),
                "api_key" => out.api_key = Some(value.trim().to_string()),
                "basic_auth_user" => user = Some(value),
                "basic_auth_password" => password = Some(value),
                "ca_file" => out.ca_file = Some(value),
                "insecure_skip_verify" => out.insecure_skip_verify = value == "true",
                _ => {
                    if let Some(header) = name.strip_prefix("headers.") {
                        out.headers.push((header.to_string(), value));
                    } else {
                        out.extra.push((name.clone(), value));
                    }
                }
            }
        }
        match (user, password) {
            (Some(u), p) => out.basic_auth = Some((u, p.unwrap_or_default())),
            (None, Some(_)) => {
                return Err(err(
                    "basic_auth_password",
                    "a password without `basic_auth_user`; add the user".into(),
                ));
            }
            (None, None) => {}
        }
        if out.url.is_empty() {
            return Err(err("url", "no URL; add `url \"http://host:port\"`".into()));
        }
        if !(out.url.starts_with("http://") || out.url.starts_with("https://")) {
            return Err(err(
                "url",
                format!("`{}` is not an http:// or https:// URL", out.url),
            ));
        }
        Ok(out)
    }

    /// A kind-specific setting (`index`, `time_field`, `query_delay`).
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Builds the reqwest client: TLS via rustls (ring), custom CA, default
    /// headers with the credentials. The timeout is per request, set by the
    /// caller, so it can be capped at the group interval.
    pub fn client(&self, datasource: &str) -> Result<reqwest::Client, SettingsError> {
        let err = |setting: &str, message: String| SettingsError {
            datasource: datasource.to_string(),
            setting: setting.to_string(),
            message,
        };
        let mut headers = reqwest::header::HeaderMap::new();
        let mut put = |setting: &str, name: &str, value: String| -> Result<(), SettingsError> {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| err(setting, format!("`{name}` is not a header name: {e}")))?;
            let mut value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|e| err(setting, format!("not a valid header value: {e}")))?;
            value.set_sensitive(setting != "headers");
            headers.insert(name, value);
            Ok(())
        };
        if let Some(token) = &self.bearer_token {
            put("bearer_token", "authorization", format!("Bearer {token}"))?;
        }
        if let Some(key) = &self.api_key {
            put("api_key", "authorization", format!("ApiKey {key}"))?;
        }
        if let Some((user, password)) = &self.basic_auth {
            use base64::Engine as _;
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            put(
                "basic_auth_user",
                "authorization",
                format!("Basic {encoded}"),
            )?;
        }
        for (name, value) in &self.headers {
            put("headers", name, value.clone())?;
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &self.ca_file {
            let pem = user_file::read(Path::new(path), user_file::MAX_SMALL_FILE_BYTES)
                .map_err(|e| err("ca_file", format!("cannot read `{path}`: {e}")))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| err("ca_file", format!("`{path}` holds no PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(err("ca_file", format!("`{path}` holds no PEM certificate")));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if self.insecure_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        builder
            .build()
            .map_err(|e| err("url", format!("cannot build the HTTP client: {e}")))
    }
}
