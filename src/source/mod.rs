//! Datasources: where rule queries go. Every kind answers the evaluator with
//! the same thing, a list of [`Sample`]s, so the alert state machine never
//! knows whether a value came from PromQL or from an Elasticsearch
//! aggregation.

pub mod elasticsearch;
pub mod http;
pub mod prometheus;

use std::time::{Duration, SystemTime};

pub use http::{HttpSettings, SettingsError};

use crate::vocab::labels::Labels;

/// One series of a query answer: its labels and its value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Series labels (`__name__` included when the datasource returned it).
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// Why a query produced no answer. Every variant is a rule error (health
/// `err`), never "no data": the evaluator keeps alert state untouched.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SourceError {
    /// The request did not finish within the timeout.
    #[error("query timed out after {0:?}")]
    Timeout(Duration),
    /// Connection refused, DNS, TLS handshake and other transport failures.
    #[error("cannot reach datasource: {0}")]
    Unreachable(String),
    /// The datasource answered with an error (bad query, index not found, 429...).
    #[error("{0}")]
    Rejected(String),
    /// The answer was not in the format the API documents.
    #[error("unexpected answer from datasource: {0}")]
    BadResponse(String),
    /// The rule's query cannot run on this datasource (e.g. PromQL sent to Elasticsearch).
    #[error("{0}")]
    Unsupported(String),
}

/// A connected datasource.
#[derive(Debug, Clone)]
pub enum Source {
    /// Prometheus-compatible HTTP API.
    Prometheus(prometheus::PrometheusSource),
    /// Elasticsearch `_search`.
    Elasticsearch(elasticsearch::ElasticsearchSource),
}

/// A query as a datasource runs it: PromQL text or an Elasticsearch
/// aggregation.
#[derive(Debug, Clone, Copy)]
pub enum QueryRef<'a> {
    /// PromQL.
    Prometheus(&'a str),
    /// An Elasticsearch aggregation.
    Elasticsearch(&'a crate::model::EsQuery),
}

impl Source {
    /// Builds a declared datasource: reads its secrets and creates its
    /// client (nothing is sent before the first query). The errors are
    /// located at the value that cannot be used (an unset variable, an
    /// unreadable file, a value read from one that does not pass its
    /// setting's check), or at the datasource.
    pub fn build(ds: &crate::model::Datasource) -> Result<Source, Vec<crate::diag::Diagnostic>> {
        use crate::model::DatasourceConfig;
        let (built, settings) = match &ds.config {
            DatasourceConfig::Prometheus(c) => {
                let config = c.resolve(&crate::vocab::secret::SecretValue::resolve)?;
                (
                    prometheus::PrometheusSource::new(&ds.name, &config.http)
                        .map(Source::Prometheus),
                    c.settings(),
                )
            }
            DatasourceConfig::Elasticsearch(c) => {
                let config = c.resolve(&crate::vocab::secret::SecretValue::resolve)?;
                (
                    elasticsearch::ElasticsearchSource::from_config(&ds.name, &config)
                        .map(Source::Elasticsearch),
                    c.settings(),
                )
            }
        };
        built.map_err(|e| {
            // The setting's value, e.g. the `ca_file` that cannot be read.
            let span = settings
                .iter()
                .rev()
                .find(|s| s.name == e.setting)
                .map_or(ds.span, |s| s.values.first().map_or(s.span, |v| v.span));
            vec![
                crate::diag::Diagnostic::error("build/client", span, e.to_string())
                    .with_label("cannot be used"),
            ]
        })
    }

    /// Runs a rule's query at `at`, giving up after `timeout`.
    pub async fn query(
        &self,
        query: &crate::model::Query,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<Vec<Sample>, SourceError> {
        use crate::model::Query;
        let query = match query {
            Query::Prometheus(q) => QueryRef::Prometheus(&q.expr),
            Query::Elasticsearch(q) => QueryRef::Elasticsearch(q),
        };
        self.run(query, at, timeout).await
    }

    /// [`Source::query`] for a query held in another form than the model's.
    pub async fn run(
        &self,
        query: QueryRef<'_>,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<Vec<Sample>, SourceError> {
        match (self, query) {
            (Source::Prometheus(s), QueryRef::Prometheus(expr)) => s.query(expr, at, timeout).await,
            (Source::Elasticsearch(s), QueryRef::Elasticsearch(q)) => {
                s.search(q, at, timeout).await
            }
            (Source::Prometheus(_), QueryRef::Elasticsearch(_)) => Err(SourceError::Unsupported(
                "an elasticsearch query names a prometheus datasource".into(),
            )),
            (Source::Elasticsearch(_), QueryRef::Prometheus(_)) => Err(SourceError::Unsupported(
                "a PromQL query names an elasticsearch datasource".into(),
            )),
        }
    }

    /// The kind, for metrics and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Prometheus(_) => "prometheus",
            Source::Elasticsearch(_) => "elasticsearch",
        }
    }
}

/// The whole cause chain of a transport error, so "connection refused" is
/// not hidden behind "error sending request".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
