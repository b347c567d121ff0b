//! Instant queries against a Prometheus-compatible HTTP API (Prometheus,
//! VictoriaMetrics, Thanos, Mimir) through prometheus-http-query, over our own
//! reqwest client so TLS, credentials and headers are ours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_http_query::response::Data;

use super::{HttpSettings, Sample, SettingsError, SourceError};
use crate::vocab::labels::Labels;

/// A Prometheus-compatible datasource.
#[derive(Clone)]
pub struct PrometheusSource {
    client: prometheus_http_query::Client,
    url: String,
    default_timeout: Option<Duration>,
}

impl std::fmt::Debug for PrometheusSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusSource")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl PrometheusSource {
    /// Connects (lazily: nothing is sent until the first query).
    pub fn new(name: &str, settings: &HttpSettings) -> Result<Self, SettingsError> {
        let http = settings.client(name)?;
        let client = prometheus_http_query::Client::from(http, &settings.url).map_err(|e| {
            SettingsError {
                datasource: name.to_string(),
                setting: "url".into(),
                message: format!("`{}` is not a usable URL: {e}", settings.url),
            }
        })?;
        Ok(PrometheusSource {
            client,
            url: settings.url.clone(),
            default_timeout: settings.timeout,
        })
    }

    /// The base URL, for messages and the generator URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Evaluates `expr` at `at` (millisecond precision, as Prometheus's own
    /// rule evaluation). A scalar answer becomes one sample without labels.
    pub async fn query(
        &self,
        expr: &str,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<Vec<Sample>, SourceError> {
        let timeout = self.default_timeout.map_or(timeout, |t| t.min(timeout));
        let at = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let request = self
            .client
            .query(expr)
            .query(
                "time",
                format!("{}.{:03}", at.as_secs(), at.subsec_millis()),
            )
            .timeout(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))
            .get();
        let answer = match tokio::time::timeout(timeout, request).await {
            Err(_) => return Err(SourceError::Timeout(timeout)),
            Ok(Err(e)) => return Err(classify(e)),
            Ok(Ok(answer)) => answer,
        };
        match answer.data() {
            Data::Vector(series) => Ok(series
                .iter()
                .map(|s| Sample {
                    labels: s
                        .metric()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Labels>(),
                    value: s.sample().value(),
                })
                .collect()),
            Data::Scalar(s) => Ok(vec![Sample {
                labels: Labels::new(),
                value: s.value(),
            }]),
            Data::Matrix(_) => Err(SourceError::Rejected(
                "the query returns a range vector; alerting and recording rules need an instant vector or scalar (drop the `[range]`, or wrap it in a function such as rate())".into(),
            )),
        }
    }
}

fn classify(e: prometheus_http_query::Error) -> SourceError {
    match e {
        prometheus_http_query::Error::Prometheus(p) => SourceError::Rejected(p.to_string()),
        prometheus_http_query::Error::Client(c) => {
            let text = c.to_string();
            let inner = std::error::Error::source(&c)
                .and_then(|s| s.downcast_ref::<reqwest::Error>())
                .map(|r| (r.is_connect(), r.is_timeout(), r.is_decode(), r.status()));
            match inner {
                Some((true, _, _, _)) => SourceError::Unreachable(super::error_chain(&c)),
                Some((_, true, _, _)) => SourceError::Unreachable(super::error_chain(&c)),
                Some((_, _, true, _)) => SourceError::BadResponse(super::error_chain(&c)),
                Some((_, _, _, Some(status))) => {
                    SourceError::Rejected(format!("HTTP {status}: {text}"))
                }
                _ => SourceError::Unreachable(super::error_chain(&c)),
            }
        }
        other => SourceError::BadResponse(other.to_string()),
    }
}
