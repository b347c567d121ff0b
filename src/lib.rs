//! klaxon: an alerting and monitoring rules engine.
//!
//! The modules follow the flow of a rule (docs/architecture.md has the whole
//! map and the rules of direction, which `architecture_tests` enforces):
//!
//! - ground floor, importing nothing of klaxon: `vocab` (label sets and
//!   fingerprints, time and the clock, durations, severities, conditions,
//!   matchers, time ranges, secrets, Go quoting, the bounded user-file
//!   reader), `diag` (diagnostics with spans), `memory` (malloc trimming);
//! - `template`: Go's `text/template` as Prometheus runs it;
//! - `lang`: the DSL's lexer, recovering parser, syntax tree and formatter;
//! - `model`: both front ends (DSL, Prometheus YAML) into one checked rule
//!   model, with each component's typed configuration and the load policy;
//! - `check` (lints for `rulecheck`) and `import` (Prometheus rules and
//!   `alertmanager.yml` into the DSL), both reading the model;
//! - beside the flow: `source` (Prometheus and Elasticsearch queries) and
//!   `store` (redb; keeps bytes for the evaluator and the notifier);
//! - `eval`: the scheduler and the alert state machine;
//! - `notify`: silences, inhibition, routing, grouping, the durable outbox,
//!   receivers, forwarding to Alertmanagers;
//! - on top: `api` (HTTP: Prometheus and Alertmanager compatible) and
//!   `serve` (the wiring of `klaxon serve`).
#![deny(missing_docs)]
// Diagnostics are the error type of every front end; they are built on the
// error path only, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod check;
pub mod cluster;
pub mod diag;
pub mod eval;
pub mod import;
pub mod lang;
pub mod memory;
pub mod model;
pub mod notify;
pub mod serve;
pub mod source;
pub mod store;
pub mod template;
pub mod vocab;

pub use vocab::user_file;

#[cfg(test)]
mod architecture_tests;
