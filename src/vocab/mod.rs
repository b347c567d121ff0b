//! The ground floor: the vocabulary every stage of klaxon shares (label sets
//! and their fingerprint, milliseconds and the clock, durations, severity
//! levels, matchers and Alertmanager's matcher syntax, time ranges,
//! conditions, secrets, Go quoting and escaping).
//!
//! It imports nothing of klaxon, so any stage can build on it without
//! reaching sideways or up the flow (see `docs/architecture.md`).

pub mod condition;
pub mod go;
pub mod labels;
pub mod matcher;
pub mod secret;
pub mod severity;
pub mod time;
pub mod time_range;
pub mod user_file;
