//! The notifier's metrics, read from its parts at scrape time (alerts,
//! silences, groups, outbox counters), so no hot path pays for them.

use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::Notifier;
use super::silence::SilenceState;

/// Registered before the notifier starts; reads it once it is set.
#[derive(Debug, Default, Clone)]
pub struct NotifyCollector {
    notifier: Arc<OnceLock<Arc<Notifier>>>,
}

impl NotifyCollector {
    /// Points the collector at the running notifier.
    pub fn attach(&self, notifier: &Arc<Notifier>) {
        let _ = self.notifier.set(Arc::clone(notifier));
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Vec<(&str, &str)>, i64)],
) -> Result<(), std::fmt::Error> {
    let probe = ConstGauge::new(0i64);
    let mut family = encoder.encode_descriptor(name, help, None, probe.metric_type())?;
    if let [(labels, value)] = series
        && labels.is_empty()
    {
        return ConstGauge::new(*value).encode(family);
    }
    for (labels, value) in series {
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConstGauge::new(*value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Vec<(&str, &str)>, u64)],
) -> Result<(), std::fmt::Error> {
    let probe = ConstCounter::new(0u64);
    let mut family = encoder.encode_descriptor(name, help, None, probe.metric_type())?;
    for (labels, value) in series {
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConstCounter::new(*value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for NotifyCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(notifier) = self.notifier.get() else {
            return Ok(());
        };
        let now = notifier.clock().now();
        let (mut firing, mut resolved) = (0i64, 0i64);
        for alert in notifier.alerts.snapshot() {
            if alert.is_resolved_at(now) {
                resolved += 1;
            } else {
                firing += 1;
            }
        }
        gauge(
            &mut encoder,
            "klaxon_notify_alerts",
            "Alerts the notifier holds, by state.",
            &[
                (vec![("state", "firing")], firing),
                (vec![("state", "resolved")], resolved),
            ],
        )?;
        let (mut active, mut pending, mut expired) = (0i64, 0i64, 0i64);
        for silence in notifier.silences.list() {
            match silence.state(now) {
                SilenceState::Active => active += 1,
                SilenceState::Pending => pending += 1,
                SilenceState::Expired => expired += 1,
            }
        }
        gauge(
            &mut encoder,
            "klaxon_notify_silences",
            "Silences by state.",
            &[
                (vec![("state", "active")], active),
                (vec![("state", "pending")], pending),
                (vec![("state", "expired")], expired),
            ],
        )?;
        gauge(
            &mut encoder,
            "klaxon_notify_aggregation_groups",
            "Aggregation groups the dispatcher holds.",
            &[(vec![], notifier.dispatcher.group_count() as i64)],
        )?;
        let stats = notifier.outbox.metrics();
        let per =
            |f: fn(&super::outbox::IntegrationStats) -> u64| -> Vec<(Vec<(&str, &str)>, u64)> {
                stats
                    .integrations
                    .iter()
                    .map(|i| {
                        (
                            vec![
                                ("receiver", i.receiver.as_str()),
                                ("integration", i.kind.as_str()),
                            ],
                            f(i),
                        )
                    })
                    .collect()
            };
        let pending_series: Vec<(Vec<(&str, &str)>, i64)> = per(|i| i.pending)
            .into_iter()
            .map(|(l, v)| (l, i64::try_from(v).unwrap_or(i64::MAX)))
            .collect();
        gauge(
            &mut encoder,
            "klaxon_notify_outbox_pending",
            "Notifications committed and not yet delivered or given up.",
            &pending_series,
        )?;
        counter(
            &mut encoder,
            "klaxon_notify_notifications_delivered",
            "Notifications delivered.",
            &per(|i| i.delivered_total),
        )?;
        counter(
            &mut encoder,
            "klaxon_notify_notifications_failed",
            "Notifications given up (permanent error or give-up age reached).",
            &per(|i| i.failed_total),
        )?;
        counter(
            &mut encoder,
            "klaxon_notify_notification_retries",
            "Failed sends scheduled for another try.",
            &per(|i| i.retries_total),
        )?;
        Ok(())
    }
}
