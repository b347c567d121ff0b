//! `klaxon serve`, the wiring on top of every other module: configuration
//! → validation → build, then the running service: the evaluator, the
//! state store, the notifier, the API, forwarding, reloads and signals.
//!
//! A configuration is built completely (files parsed and validated,
//! secrets read, datasource clients created) before anything of it runs,
//! so a reload either swaps in a whole new configuration or changes
//! nothing.
//!
//! - `options`: what the service is started with (command line, env).
//! - `config`: building a configuration, files loaded by the same policy
//!   as `rulecheck` ([`crate::model::load::plan_load`]).
//! - `running`: start, reload, shutdown.
//! - `adapters`: the glue implementing the API's traits over the
//!   evaluator, the store and the notifier.
//! - `cluster`: a replica's wiring over `crate::cluster` (etcd): which
//!   groups it evaluates, its notifier shards, shared silences, relayed
//!   alerts.
//! - `error`: why the service could not start.

mod adapters;
mod cluster;
mod config;
mod error;
mod options;
mod running;

pub use config::{BuiltConfig, build_config};
pub use error::ServeError;
pub use options::{
    ClusterServeOptions, NotifyOptions, ServeOptions, TokenFileProblem, parse_label_pair,
};
pub use running::run;
