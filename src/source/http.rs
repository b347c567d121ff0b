//! The one HTTP client setup every datasource shares: timeouts, credentials,
//! custom CA and extra headers, from a `datasource` block validated by
//! `model::components::datasource` (secrets from `env()`/`file()` are read
//! here, when the configuration is built).

use std::path::Path;
use std::time::Duration;

use crate::diag::Diagnostic;
pub use crate::model::components::datasource::HttpSettings;
use crate::model::{Datasource, DatasourceConfig};
use crate::user_file;
use crate::vocab::secret::SecretValue;

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

impl HttpSettings {
    /// Reads a declared datasource's validated settings, reading its
    /// secrets. The errors are located at the value that cannot be read or
    /// that, once read, does not pass its setting's check.
    pub fn from_datasource(ds: &Datasource) -> Result<Self, Vec<Diagnostic>> {
        match &ds.config {
            DatasourceConfig::Prometheus(c) => c.resolve(&SecretValue::resolve).map(|c| c.http),
            DatasourceConfig::Elasticsearch(c) => c.resolve(&SecretValue::resolve).map(|c| c.http),
        }
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
