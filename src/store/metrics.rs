//! The store's metrics, read at scrape time: whether it can write, and why
//! writes failed (issue 22: a full disk must be visible before anyone asks).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{Store, WriteFailure};

/// `klaxon_store_healthy`, `klaxon_store_write_errors_total{reason}` and
/// `klaxon_store_reopens_total` of one [`Store`].
#[derive(Debug)]
pub struct StoreCollector {
    store: Arc<Store>,
}

impl StoreCollector {
    /// Reports on `store`.
    pub fn new(store: Arc<Store>) -> StoreCollector {
        StoreCollector { store }
    }
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let healthy = ConstGauge::new(i64::from(self.store.problem().is_none()));
        healthy.encode(encoder.encode_descriptor(
            "klaxon_store_healthy",
            "1 while the state store can write; 0 while writes fail (disk full, I/O error) and \
             are refused until klaxon has reopened it.",
            None,
            healthy.metric_type(),
        )?)?;
        let probe = ConstCounter::new(0u64);
        let mut errors = encoder.encode_descriptor(
            "klaxon_store_write_errors",
            "Writes to the state store that failed or were refused, by reason (no_space: the \
             disk or quota is full; io: another I/O error).",
            None,
            probe.metric_type(),
        )?;
        for failure in WriteFailure::ALL {
            let labels = [("reason".to_string(), failure.label().to_string())];
            ConstCounter::new(self.store.write_errors(failure))
                .encode(errors.encode_family(&labels)?)?;
        }
        let reopens = ConstCounter::new(self.store.reopens());
        reopens.encode(encoder.encode_descriptor(
            "klaxon_store_reopens",
            "Times the state store was reopened after a failed write and wrote again.",
            None,
            reopens.metric_type(),
        )?)?;
        Ok(())
    }
}
