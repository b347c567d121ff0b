//! `datasource prometheus|elasticsearch NAME { }`: the HTTP client settings
//! every kind shares, each kind's own settings, and their checks. The
//! querying side is `source::*`.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use super::{Block, Component, Kind, SettingSpec, spec};

/// The time field searched when an Elasticsearch datasource sets no `time_field`.
pub const DEFAULT_TIME_FIELD: &str = "@timestamp";

/// Connection settings of one datasource.
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

impl HttpSettings {
    /// Settings for a bare URL (the `--prometheus.url` default datasource).
    pub fn for_url(url: &str) -> Self {
        HttpSettings {
            url: url.trim_end_matches('/').to_string(),
            ..Default::default()
        }
    }

    /// A kind-specific setting (`index`, `time_field`, `query_delay`).
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the settings every kind shares; the kind's own go to `extra`.
    fn validate(b: &mut Block<'_>, schema: &[SettingSpec]) -> HttpSettings {
        b.check_schema(schema);
        b.require(&["url"], None);
        let mut out = HttpSettings::default();
        let mut user = None;
        let mut password = None;
        // Each setting's first value; a setting written twice: the last.
        let settings = b.settings();
        for (at, setting) in settings.iter().enumerate() {
            let name = setting.name.as_str();
            if setting.values.is_empty() {
                continue;
            }
            let Some(value) = b.text_at(at, 0) else {
                continue;
            };
            let text = value.text.clone().into_owned();
            match name {
                "url" => out.url = text.trim_end_matches('/').to_string(),
                "timeout" => {
                    out.timeout = crate::vocab::time::parse_duration(&text)
                        .ok()
                        .map(crate::vocab::time::Duration::to_std);
                }
                "bearer_token" => {
                    let token = text.trim().to_string();
                    header_value(b, name, &format!("Bearer {token}"), value.span);
                    out.bearer_token = Some(token);
                }
                "api_key" => {
                    let key = text.trim().to_string();
                    header_value(b, name, &format!("ApiKey {key}"), value.span);
                    out.api_key = Some(key);
                }
                "basic_auth_user" => user = Some(text),
                "basic_auth_password" => password = Some(text),
                "ca_file" => out.ca_file = Some(text),
                "insecure_skip_verify" => out.insecure_skip_verify = text == "true",
                _ => match name.strip_prefix("headers.") {
                    Some(header) => {
                        if HeaderName::from_bytes(header.as_bytes()).is_err() {
                            b.error(
                                "headers",
                                setting.span,
                                format!("`{header}` is not a header name"),
                            );
                        }
                        header_value(b, "headers", &text, value.span);
                        out.headers.push((header.to_string(), text));
                    }
                    None => out.extra.push((name.to_string(), text)),
                },
            }
        }
        if let Some(user) = user {
            out.basic_auth = Some((user, password.unwrap_or_default()));
        }
        out
    }
}

/// A value sent as a header must be one: no line breaks or control characters.
fn header_value(b: &mut Block<'_>, setting: &str, text: &str, span: crate::diag::Span) {
    if let Err(e) = HeaderValue::from_str(text) {
        b.error(setting, span, format!("not a valid header value: {e}"));
    }
}

/// A validated Prometheus-compatible datasource.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// Client settings.
    pub http: HttpSettings,
}

impl Component for PrometheusConfig {
    const SETTINGS: &'static [SettingSpec] = &[
        spec("url", Kind::Url),
        spec("timeout", Kind::Duration),
        spec("bearer_token", Kind::Secret),
        spec("basic_auth_user", Kind::Text),
        spec("basic_auth_password", Kind::Secret),
        spec("ca_file", Kind::Text),
        spec("insecure_skip_verify", Kind::Bool),
        spec("headers", Kind::Map),
    ];

    fn validate(b: &mut Block<'_>) -> Option<Self> {
        let http = HttpSettings::validate(b, Self::SETTINGS);
        // The query client parses the base URL (text that is no http(s)
        // URL at all was refused by the schema).
        if let Some(value) = b.value("url")
            && (value.text.starts_with("http://") || value.text.starts_with("https://"))
            && let Err(e) = url::Url::parse(&http.url)
        {
            b.error(
                "url",
                value.span,
                format!("`{}` is not a usable URL: {e}", value.text),
            );
        }
        Some(PrometheusConfig { http })
    }
}

/// A validated Elasticsearch datasource.
#[derive(Debug, Clone)]
pub struct ElasticsearchConfig {
    /// Client settings; `extra` holds the settings below as written.
    pub http: HttpSettings,
    /// The index pattern searched.
    pub index: String,
    /// The documents' timestamp field.
    pub time_field: String,
    /// How far behind now the search window ends.
    pub query_delay: Duration,
}

impl ElasticsearchConfig {
    /// The Elasticsearch settings of client settings given in code (as
    /// `source::elasticsearch::ElasticsearchSource::new` takes them): the
    /// checks validation makes, with the setting that fails.
    pub fn from_http(http: &HttpSettings) -> Result<Self, (&'static str, String)> {
        let index = index(http.extra("index").unwrap_or_default()).map_err(|m| ("index", m))?;
        let time_field = time_field(http.extra("time_field")).map_err(|m| ("time_field", m))?;
        let query_delay = match http.extra("query_delay") {
            None => Duration::ZERO,
            Some(text) => crate::vocab::time::parse_duration(text.trim())
                .map_err(|m| ("query_delay", m))?
                .to_std(),
        };
        if http.url.is_empty() {
            return Err(("url", "no URL; add `url \"http://host:9200\"`".into()));
        }
        Ok(ElasticsearchConfig {
            http: http.clone(),
            index,
            time_field,
            query_delay,
        })
    }
}

impl Component for ElasticsearchConfig {
    const SETTINGS: &'static [SettingSpec] = &[
        spec("url", Kind::Url),
        spec("index", Kind::Text),
        spec("time_field", Kind::Text),
        spec("query_delay", Kind::Duration),
        spec("timeout", Kind::Duration),
        spec("api_key", Kind::Secret),
        spec("basic_auth_user", Kind::Text),
        spec("basic_auth_password", Kind::Secret),
        spec("ca_file", Kind::Text),
        spec("insecure_skip_verify", Kind::Bool),
    ];

    fn validate(b: &mut Block<'_>) -> Option<Self> {
        let http = HttpSettings::validate(b, Self::SETTINGS);
        b.require(&["index"], None);
        let index = b.value("index").and_then(|t| match index(&t.text) {
            Ok(index) => Some(index),
            Err(message) => {
                b.error("index", t.span, message);
                None
            }
        });
        let time_field = match b.value("time_field") {
            None => Some(DEFAULT_TIME_FIELD.to_string()),
            Some(t) => time_field(Some(&t.text))
                .map_err(|message| b.error("time_field", t.span, message))
                .ok(),
        };
        let query_delay = b.duration("query_delay").unwrap_or_default().to_std();
        Some(ElasticsearchConfig {
            http,
            index: index?,
            time_field: time_field?,
            query_delay,
        })
    }
}

/// The index pattern: not empty.
fn index(text: &str) -> Result<String, String> {
    let index = text.trim();
    if index.is_empty() {
        return Err("no index to search; add e.g. `index \"logs-*\"`".into());
    }
    Ok(index.to_string())
}

/// The timestamp field: not empty; `@timestamp` when not given.
fn time_field(text: Option<&str>) -> Result<String, String> {
    match text.map(str::trim) {
        None => Ok(DEFAULT_TIME_FIELD.to_string()),
        Some("") => Err("empty; name the document timestamp field, e.g. `@timestamp`".into()),
        Some(field) => Ok(field.to_string()),
    }
}
