//! Evaluation: the scheduler that runs every group on its interval, the
//! per-alert state machine, and the events it hands to delivery.

pub mod alert;
pub mod engine;
pub mod event;
pub mod metrics;
pub mod ownership;
pub mod persist;
pub mod rule;
pub mod rule_key;
#[cfg(test)]
mod rule_tests;
pub mod status;
pub mod templating;
pub mod unsaved;
