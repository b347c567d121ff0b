//! `POST /api/v1/receivers/alertmanager`: an existing Alertmanager's
//! webhook (payload version 4) hands its alerts to klaxon. A firing alert
//! gets the long `webhook_resolve_timeout_ms` as its end, since that
//! Alertmanager re-sends firing groups only every `repeat_interval`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::AlertmanagerApi;
use super::body::Posted;
use super::ingest::{Incoming, Sorted, store_batch, time_field};
use super::reply::AmError;
use crate::notify::alert::AlertSource;
use crate::notify::payload::WebhookMessage;
use crate::vocab::labels::LabelSet;

pub(super) async fn post_webhook(
    State(api): State<AlertmanagerApi>,
    body: Posted,
) -> Result<Response, AmError> {
    let message_in: WebhookMessage = body.json("webhook")?;
    if message_in.version != "4" {
        return Err(AmError::framework(
            StatusCode::BAD_REQUEST,
            400,
            format!(
                "webhook payload version {:?} is not supported; klaxon reads Alertmanager's \
                 version \"4\"",
                message_in.version
            ),
        ));
    }
    let now = api.options.clock.now();
    let timeout = api.options.webhook_resolve_timeout_ms;
    let mut sorted = Sorted::new(message_in.alerts.len(), body.len());
    for (index, alert) in message_in.alerts.into_iter().enumerate() {
        let labels = LabelSet::from_map(&alert.labels);
        let starts = time_field("startsAt", Some(&alert.starts_at));
        // A firing alert carries Go's zero time as its end: like a missing end.
        let ends = time_field("endsAt", Some(&alert.ends_at));
        let (starts_at, ends_at) = match (starts, ends) {
            (Ok(s), Ok(e)) => (s, e),
            (Err(why), _) | (_, Err(why)) => {
                sorted.reject(index, &labels, &why);
                continue;
            }
        };
        let ends_at = match (alert.status.as_str(), ends_at) {
            // Resolved without an end: it ended when we heard of it.
            ("resolved", None) => Some(now),
            _ => ends_at,
        };
        let incoming = Incoming {
            annotations: LabelSet::from_map(&alert.annotations),
            starts_at,
            ends_at,
            generator_url: alert.generator_url.into(),
            labels,
        };
        sorted.ingest(
            index,
            incoming,
            now,
            timeout,
            AlertSource::AlertmanagerWebhook,
        );
    }
    store_batch(&api, sorted).await
}
