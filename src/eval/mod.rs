//! Evaluation: the scheduler that runs every group on its interval, the
//! per-alert state machine, and the events it hands to delivery.

pub mod alert;
pub mod event;
pub mod forward;
pub mod status;
