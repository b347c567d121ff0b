//! The notifier: alerts from klaxon's evaluator, from `POST /api/v2/alerts`
//! and from Alertmanager webhooks go through one pipeline: silence and
//! inhibit, route, group, dedupe against the notification log, commit to
//! the durable outbox, deliver to Slack, email and webhooks with retries.
//!
//! Layout follows that flow: [`alert`] (the alert and its label set),
//! [`notification`] and [`payload`] (what is sent), [`receivers`] (how).

pub mod alert;
pub mod notification;
pub mod outbox;
pub mod payload;
pub mod receivers;
