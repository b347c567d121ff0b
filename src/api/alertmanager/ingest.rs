//! Alertmanager's rules for taking alerts in, shared by `POST
//! /api/v2/alerts` and the Alertmanager webhook: the defaults of a missing
//! start and end, Prometheus's validation, and the answer for a batch (the
//! valid alerts are kept, the rejected ones named).

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::Response;

use super::AlertmanagerApi;
use super::reply::{AmError, empty_ok};
use crate::notify::alert::{AlertSource, NotifyAlert, SharedStr};
use crate::vocab::labels::LabelSet;
use crate::vocab::labels::is_valid_label_name;
use crate::vocab::time::Millis;
use crate::vocab::time::parse_time;

/// One alert of an ingested batch before the defaults are applied.
pub(super) struct Incoming {
    pub(super) labels: LabelSet,
    pub(super) annotations: LabelSet,
    pub(super) starts_at: Option<Millis>,
    pub(super) ends_at: Option<Millis>,
    pub(super) generator_url: SharedStr,
}

/// Alertmanager's ingest: `startsAt` defaults to now (or the end when only
/// that is given), a missing end is `now + timeout` and marked as such; then
/// `Validate`. Returns the alert, or why it was rejected (with its labels,
/// to name it).
fn ingest(
    incoming: Incoming,
    now: Millis,
    timeout_ms: Millis,
    source: AlertSource,
) -> Result<NotifyAlert, (String, LabelSet)> {
    let starts_at = incoming.starts_at.or(incoming.ends_at).unwrap_or(now);
    let (ends_at, timeout) = match incoming.ends_at {
        Some(end) => (end, false),
        None => (now.saturating_add(timeout_ms), true),
    };
    if let Err(why) = validate(&incoming, starts_at, ends_at) {
        return Err((why, incoming.labels));
    }
    Ok(NotifyAlert {
        labels: incoming.labels,
        annotations: incoming.annotations,
        starts_at,
        ends_at,
        generator_url: incoming.generator_url,
        updated_at: now,
        timeout,
        source,
    })
}

/// Prometheus's `Alert.Validate`, in its order.
fn validate(incoming: &Incoming, starts_at: Millis, ends_at: Millis) -> Result<(), String> {
    if incoming.ends_at.is_some() && ends_at < starts_at {
        return Err("start time must be before end time".to_string());
    }
    if let Some((name, _)) = incoming
        .labels
        .iter()
        .find(|(name, _)| !is_valid_label_name(name))
    {
        return Err(format!("invalid label set: invalid name {name:?}"));
    }
    if incoming.labels.is_empty() {
        return Err("at least one label pair required".to_string());
    }
    if let Some((name, _)) = incoming
        .annotations
        .iter()
        .find(|(name, _)| !is_valid_label_name(name))
    {
        return Err(format!("invalid annotations: invalid name {name:?}"));
    }
    Ok(())
}

pub(super) fn time_field(field: &str, text: Option<&str>) -> Result<Option<Millis>, String> {
    match text {
        None => Ok(None),
        Some(text) => parse_time(text).map_err(|e| format!("{field}: {e}")),
    }
}

/// Keeps the valid alerts of a batch and describes the rejected ones.
pub(super) struct Sorted {
    valid: Vec<NotifyAlert>,
    rejected: Vec<String>,
    /// Size of the request body, for the log.
    body_bytes: usize,
}

impl Sorted {
    /// For a batch of about `alerts` alerts in a body of `body_bytes`.
    pub(super) fn new(alerts: usize, body_bytes: usize) -> Sorted {
        Sorted {
            valid: Vec::with_capacity(alerts),
            rejected: Vec::new(),
            body_bytes,
        }
    }

    /// Alert `index` of the batch is rejected for `why`.
    pub(super) fn reject(&mut self, index: usize, labels: &LabelSet, why: &str) {
        self.rejected.push(describe_rejection(index, labels, why));
    }

    /// Alert `index` of the batch, [`ingest`]ed: kept, or rejected.
    pub(super) fn ingest(
        &mut self,
        index: usize,
        incoming: Incoming,
        now: Millis,
        timeout_ms: Millis,
        source: AlertSource,
    ) {
        match ingest(incoming, now, timeout_ms, source) {
            Ok(alert) => self.valid.push(alert),
            Err((why, labels)) => self.reject(index, &labels, &why),
        }
    }
}

/// At most this much of rejected input reaches the log: one request can
/// carry megabytes of it (the client gets it all in the answer).
const LOG_EXCERPT_BYTES: usize = 300;

/// The first `max` bytes of `text` (cut on a character boundary), saying
/// how much was left out.
fn excerpt(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… ({} more bytes)",
        &text[..end],
        text.len() - end
    ))
}

fn describe_rejection(index: usize, labels: &LabelSet, why: &str) -> String {
    if labels.is_empty() {
        format!("alert {index}: {why}")
    } else {
        format!("alert {index} {labels}: {why}")
    }
}

/// Puts the valid alerts and answers as Alertmanager: 200 with no body, or
/// 400 with what was rejected (the valid ones are kept either way).
pub(super) async fn store_batch(
    api: &AlertmanagerApi,
    sorted: Sorted,
) -> Result<Response, AmError> {
    let accepted = sorted.valid.len();
    if let Err(error) = api.alerts.put(sorted.valid).await {
        return Err(AmError::Store {
            doing: "store posted alerts",
            error,
        });
    }
    if sorted.rejected.is_empty() {
        Ok(empty_ok())
    } else {
        let text = sorted.rejected.join("; ");
        tracing::warn!(
            rejected = sorted.rejected.len(),
            accepted = accepted,
            body_bytes = sorted.body_bytes,
            "rejected posted alerts: {}",
            excerpt(&text, LOG_EXCERPT_BYTES)
        );
        Err(AmError::message(StatusCode::BAD_REQUEST, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_applies_defaults_and_validates_like_alertmanager() {
        let incoming = |labels: &[(&str, &str)], starts, ends| Incoming {
            labels: LabelSet::from_pairs(labels.iter().copied()),
            annotations: LabelSet::default(),
            starts_at: starts,
            ends_at: ends,
            generator_url: SharedStr::default(),
        };
        let a = ingest(
            incoming(&[("a", "1")], None, None),
            1_000,
            300,
            AlertSource::Api,
        )
        .unwrap();
        assert_eq!(
            (a.starts_at, a.ends_at, a.timeout, a.updated_at),
            (1_000, 1_300, true, 1_000)
        );
        let b = ingest(
            incoming(&[("a", "1")], None, Some(500)),
            1_000,
            300,
            AlertSource::Api,
        )
        .unwrap();
        assert_eq!((b.starts_at, b.ends_at, b.timeout), (500, 500, false));
        let err = |labels: &[(&str, &str)], s, e| {
            ingest(incoming(labels, s, e), 1_000, 300, AlertSource::Api)
                .unwrap_err()
                .0
        };
        assert_eq!(err(&[], None, None), "at least one label pair required");
        assert_eq!(
            err(&[("a b", "1")], None, None),
            "invalid label set: invalid name \"a b\""
        );
        assert_eq!(
            err(&[("a", "1")], Some(900), Some(800)),
            "start time must be before end time"
        );
    }

    #[test]
    fn log_excerpts_are_bounded_and_cut_between_characters() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("héllo", 2), "h… (5 more bytes)");
        assert_eq!(excerpt("héllo", 3), "hé… (3 more bytes)");
        let long = "é".repeat(10_000);
        assert!(excerpt(&long, LOG_EXCERPT_BYTES).len() < LOG_EXCERPT_BYTES + 30);
    }
}
