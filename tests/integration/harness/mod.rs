//! The integration-test harness for `klaxon serve`: real processes and small
//! servers on 127.0.0.1, each in its own temporary directory, each stopped
//! when its handle is dropped.
//!
//! - [`Exporter`]: a `/metrics` endpoint whose series the test sets.
//! - [`Prometheus`]: `/usr/bin/prometheus` scraping the exporter (and klaxon),
//!   optionally evaluating a rule file itself for differential tests.
//! - [`Klaxon`]: the `klaxon serve` binary under test.
//! - [`AlertmanagerStub`]: records what is posted to `/api/v2/alerts`.
//! - [`Alertmanager`]: a real Alertmanager 0.25 for differential tests.
//! - [`WebhookSink`]: records webhook notifications; scripted failures.
//! - [`wait_until`] / [`wait_for`]: polling with a clear failure message.
//!
//! Everything is synchronous: calls block the calling thread and never need
//! a runtime, so they work from `#[test]` and `#[tokio::test]` alike. In a
//! `#[tokio::test]` whose own tasks must run meanwhile (say, an in-test
//! receiver), use `flavor = "multi_thread"` or `spawn_blocking`.
//!
//! Use it from a test file with `mod support;` and
//! `use support::{Exporter, Klaxon, Prometheus, wait_until};`.
//!
//! ```ignore
//! let exporter = Exporter::start();
//! exporter.set("queue_depth", &[("queue", "a")], 5.0);
//! let prometheus = Prometheus::scraping(exporter.addr());
//! let klaxon = Klaxon::builder()
//!     .prometheus_url(&prometheus.url())
//!     .rules_file("alerts.yml", RULES)
//!     .start();
//! exporter.set("queue_depth", &[("queue", "a")], 50.0);
//! wait_until(Duration::from_secs(20), "QueueDeep fires", || {
//!     klaxon.alerts().into_iter().find(|a| a.name() == "QueueDeep" && a.state == "firing")
//! });
//! ```
// Each test crate uses its own subset of the harness.
#![allow(dead_code, unused_imports)]

pub mod alertmanager;
pub mod am_api;
pub mod am_api_http;
pub mod am_process;
pub mod amtool;
pub mod api;
pub mod exporter;
pub mod fake_es;
pub mod fake_slack;
pub mod files;
pub mod http;
pub mod klaxon;
pub mod outbox;
pub mod outbox_sink;
pub mod process;
pub mod prometheus;
pub mod server;
pub mod sink;
pub mod smtp_sink;
pub mod wait;

pub use alertmanager::{AlertmanagerStub, PostedAlert, PostedBatch};
pub use am_process::Alertmanager;
pub use api::{ApiAlert, ApiRule, ApiRuleGroup, ExposedSample, Labels, alert_set, labels};
pub use exporter::Exporter;
pub use http::HttpResponse;
pub use klaxon::{Klaxon, KlaxonBuilder, StartError};
pub use process::free_port;
pub use prometheus::{Prometheus, PrometheusBuilder};
pub use sink::{Received, Reply, WebhookSink};
pub use wait::{wait_for, wait_until};

/// reqwest is built without a default TLS provider: a test whose process
/// makes requests through klaxon's clients installs ring's first. (Once per
/// process; later calls do nothing, so every such test may call it.)
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
