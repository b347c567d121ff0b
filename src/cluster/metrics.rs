//! The cluster's metrics: what this replica owns, what it claimed and took
//! over, what fencing refused, and how etcd answers.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A work kind (`group`, `shard`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// `group` or `shard`.
    pub kind: String,
}

/// An etcd operation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabel {
    /// `txn`, `range`, `lease_keep_alive`, …
    pub op: String,
}

/// Every cluster metric; clones share the series.
#[derive(Debug, Clone)]
pub struct ClusterMetrics {
    /// `klaxon_cluster_degraded`.
    pub degraded: Gauge,
    /// `klaxon_cluster_members`.
    pub members: Gauge,
    /// `klaxon_cluster_owned{kind}`.
    pub owned: Family<KindLabel, Gauge>,
    /// `klaxon_cluster_claims_total{kind}`.
    pub claims: Family<KindLabel, Counter>,
    /// `klaxon_cluster_takeovers_total{kind}`: claims of work whose previous
    /// owner died (its claim expired) rather than handed it over.
    pub takeovers: Family<KindLabel, Counter>,
    /// `klaxon_cluster_releases_total{kind}`.
    pub releases: Family<KindLabel, Counter>,
    /// `klaxon_cluster_fencing_rejections_total{kind}`.
    pub fencing_rejections: Family<KindLabel, Counter>,
    /// `klaxon_cluster_etcd_request_duration_seconds{op}`.
    pub etcd_latency: Family<OpLabel, Histogram, fn() -> Histogram>,
    /// `klaxon_cluster_etcd_errors_total{op}`.
    pub etcd_errors: Family<OpLabel, Counter>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Default for ClusterMetrics {
    fn default() -> Self {
        ClusterMetrics {
            degraded: Gauge::default(),
            members: Gauge::default(),
            owned: Family::default(),
            claims: Family::default(),
            takeovers: Family::default(),
            releases: Family::default(),
            fencing_rejections: Family::default(),
            etcd_latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            etcd_errors: Family::default(),
        }
    }
}

impl ClusterMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> ClusterMetrics {
        let metrics = ClusterMetrics::default();
        let r = registry.sub_registry_with_prefix("klaxon_cluster");
        r.register(
            "degraded",
            "1 while etcd has lost quorum (or cannot be reached by any replica) and this replica \
             keeps evaluating and notifying what it last owned; duplicates are possible then.",
            metrics.degraded.clone(),
        );
        r.register(
            "members",
            "Live replicas registered in etcd.",
            metrics.members.clone(),
        );
        r.register(
            "owned",
            "Rule groups and notifier shards this replica owns.",
            metrics.owned.clone(),
        );
        r.register(
            "claims",
            "Work this replica claimed in etcd.",
            metrics.claims.clone(),
        );
        r.register(
            "takeovers",
            "Claims of work whose previous owner's lease had expired.",
            metrics.takeovers.clone(),
        );
        r.register(
            "releases",
            "Work this replica handed over to another replica.",
            metrics.releases.clone(),
        );
        r.register(
            "fencing_rejections",
            "Writes etcd refused because this replica no longer held the claim they depend on.",
            metrics.fencing_rejections.clone(),
        );
        r.register(
            "etcd_request_duration_seconds",
            "Time etcd took to answer, by operation.",
            metrics.etcd_latency.clone(),
        );
        r.register(
            "etcd_errors",
            "etcd requests that failed, by operation.",
            metrics.etcd_errors.clone(),
        );
        metrics
    }

    pub(super) fn observe_request(&self, op: &'static str, took: Duration, ok: bool) {
        let label = OpLabel { op: op.to_string() };
        self.etcd_latency
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        if !ok {
            self.etcd_errors.get_or_create(&label).inc();
        }
    }

    pub(super) fn kind(kind: super::WorkKind) -> KindLabel {
        KindLabel {
            kind: kind.as_str().to_string(),
        }
    }
}
