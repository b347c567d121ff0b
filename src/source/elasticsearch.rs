//! Elasticsearch `_search` aggregations as rule queries (being written).

use std::time::{Duration, SystemTime};

use super::{HttpSettings, Sample, SettingsError, SourceError};
use crate::model::EsQuery;

/// An Elasticsearch datasource: an index pattern, a time field and a client.
#[derive(Debug, Clone)]
pub struct ElasticsearchSource {
    settings: HttpSettings,
}

impl ElasticsearchSource {
    /// Checks the settings (`index` is required) and builds the client.
    pub fn new(name: &str, settings: &HttpSettings) -> Result<Self, SettingsError> {
        let _ = name;
        Ok(ElasticsearchSource {
            settings: settings.clone(),
        })
    }

    /// Runs one aggregation over `[at - query_delay - window, at - query_delay)`.
    pub async fn search(
        &self,
        query: &EsQuery,
        at: SystemTime,
        timeout: Duration,
    ) -> Result<Vec<Sample>, SourceError> {
        let _ = (query, at, timeout, &self.settings);
        Err(SourceError::Unsupported(
            "elasticsearch queries are not implemented yet".into(),
        ))
    }
}
