//! klaxon: an alerting and monitoring rules engine.
//!
//! The modules follow the flow of a rule: `lang` parses the klaxon DSL into a
//! syntax tree with spans; `model` validates both the DSL and Prometheus rule
//! files into one checked rule model; `check` lints the model for `rulecheck`;
//! `import` converts Prometheus rule files into the DSL. `diag` holds the
//! diagnostics every stage reports; `user_file` reads every file a user
//! names (regular files only, bounded).
#![deny(missing_docs)]
// Diagnostics are the error type of every front end; they are built on the
// error path only, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod check;
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
