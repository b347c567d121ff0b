//! klaxon's integration tests, in one test binary: each former
//! `tests/*.rs` file is a module here, and [`harness`] is the one set of
//! helpers they share (klaxon, Prometheus, Alertmanager, HTTP and SMTP
//! sinks, fakes of Slack and Elasticsearch, polling).
//!
//! One binary because every test binary links the whole crate again: with
//! 32 of them, linking dominated `cargo build --tests`. Run one module with
//! `cargo test --test integration store_recovery::` (or
//! `cargo nextest run --test integration store_recovery::`).
//!
//! nextest runs each test in its own process; `cargo test` runs them as
//! threads of one process. Tests therefore keep process-wide state to
//! themselves: no `std::env::set_var`, no change of directory, and a test
//! that needs a process of its own re-runs this binary for itself (see
//! [`harness::process::this_test_alone`]).

mod harness;

mod am_api;
mod am_api_tools;
mod api_format;
mod cluster;
mod cluster_delivery;
mod cluster_failures;
mod cluster_replicas;
mod corpus_load;
mod docs_and_packs;
mod dsl_errors;
mod dsl_load;
mod dsl_robustness;
mod es_source;
mod executable_footprint;
mod fmt;
mod forward_alertmanager;
mod fuzz_regressions;
mod harness_selftest;
mod import_alertmanager;
mod import_corpus;
mod notify_delivery;
mod notify_email_outage;
mod notify_from_rules;
mod notify_vs_alertmanager;
mod outbox_delivery;
mod outbox_http;
mod prom_yaml;
mod receivers_email;
mod receivers_slack;
mod receivers_webhook;
mod rulecheck_cli;
mod serve_differential;
mod serve_lifecycle;
mod store_recovery;
mod template_promtool;
mod time_window;
