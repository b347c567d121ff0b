//! The one harness of the integration tests: real processes and small
//! servers on 127.0.0.1, each in its own temporary directory, each stopped
//! when its handle is dropped.
//!
//! - [`Klaxon`]: the `klaxon serve` binary under test.
//! - [`Exporter`]: a `/metrics` endpoint whose series the test sets.
//! - [`Prometheus`]: `/usr/bin/prometheus` scraping the exporter (and klaxon),
//!   optionally evaluating a rule file itself (differential tests) and
//!   sending its alerts to an Alertmanager (or to klaxon's API).
//! - [`Alertmanager`]: a real Alertmanager 0.25; [`amtool`] its command line.
//! - [`EtcdCluster`]: real etcd 3.4 members forming one cluster;
//!   [`tcp_proxy::TcpProxy`] a connection to one of them that can be cut.
//! - [`AlertmanagerStub`]: records what is posted to `/api/v2/alerts`.
//! - [`am_api::AmServer`]: klaxon's Alertmanager API served in-process over
//!   a real store.
//! - [`WebhookSink`]: records webhook notifications; scripted failures.
//! - [`smtp_sink::SmtpSink`]: a real SMTP server (aiosmtpd).
//! - [`fake_slack::FakeSlack`], [`fake_es::FakeEs`]: Slack's Web API and
//!   Elasticsearch's `_search`, which cannot run here.
//! - [`outbox`]: notifications and a scripted integration for the outbox.
//! - [`wait_until`] / [`wait_for`]: polling with a clear failure message.
//! - [`http`]: a blocking HTTP/1.1 client; [`process`]: child processes and
//!   free ports; [`server::LocalServer`]: an axum router on its own thread;
//!   [`files`]: the corpus, Markdown code blocks, files for servers to read.
//!
//! Everything but the outbox helpers is synchronous: calls block the
//! calling thread and never need a runtime, so they work from `#[test]`
//! and `#[tokio::test]` alike. In a `#[tokio::test]` whose own tasks must
//! run meanwhile (say, an in-test receiver), use `flavor = "multi_thread"`
//! or `spawn_blocking`.
//!
//! ```ignore
//! use crate::harness::{Exporter, Klaxon, Prometheus, wait_until};
//!
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

pub mod alertmanager;
pub mod am_api;
pub mod am_api_http;
pub mod am_process;
pub mod amtool;
pub mod api;
pub mod etcd;
pub mod exporter;
pub mod fake_es;
pub mod fake_slack;
pub mod files;
pub mod http;
pub mod klaxon;
pub mod outbox;
pub mod process;
pub mod prometheus;
pub mod server;
pub mod sink;
pub mod smtp_sink;
pub mod tcp_proxy;
pub mod wait;

pub use alertmanager::AlertmanagerStub;
pub use am_process::Alertmanager;
pub use api::{ApiAlert, ApiRuleGroup, Labels, labels};
pub use etcd::EtcdCluster;
pub use exporter::Exporter;
pub use http::HttpResponse;
pub use klaxon::Klaxon;
pub use process::free_port;
pub use prometheus::Prometheus;
pub use sink::{Received, Reply, WebhookSink};
pub use wait::{wait_for, wait_until};

/// reqwest is built without a default TLS provider: a test whose process
/// makes requests through klaxon's clients installs ring's first. (Once per
/// process; later calls do nothing, so every such test may call it.)
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
