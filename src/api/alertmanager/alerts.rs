//! `GET` and `POST /api/v2/alerts` and `GET /api/v2/alerts/groups`: alerts
//! pushed by Prometheus (or amtool), and listed with Alertmanager's filters
//! (matchers, receiver, state) and orders.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::body::Posted;
use super::ingest::{Incoming, Sorted, store_batch, time_field};
use super::reply::{AmError, json};
use super::wire::{ReceiverName, Text, WireLabels, am_time};
use super::{AlertmanagerApi, GroupView};
use crate::notify::alert::{AlertSource, NotifyAlert, SharedStr};
use crate::vocab::labels::{Fingerprint, LabelSet};
use crate::vocab::matcher::{CompiledMatcher, anchored, regex_error};
use crate::vocab::time::Millis;

/// Alertmanager's `postableAlert`; strings borrowed from the body.
#[derive(Deserialize)]
struct PostableAlert<'a> {
    #[serde(default)]
    labels: Option<WireLabels>,
    #[serde(default)]
    annotations: Option<WireLabels>,
    #[serde(default, rename = "startsAt", borrow)]
    starts_at: Option<Text<'a>>,
    #[serde(default, rename = "endsAt", borrow)]
    ends_at: Option<Text<'a>>,
    #[serde(default, rename = "generatorURL", borrow)]
    generator_url: Option<Text<'a>>,
}

pub(super) async fn post_alerts(
    State(api): State<AlertmanagerApi>,
    body: Posted,
) -> Result<Response, AmError> {
    if body.is_blank() {
        return Err(AmError::framework(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            "alerts in body is required",
        ));
    }
    let posted: Option<Vec<Option<PostableAlert>>> = body.json("alerts")?;
    let now = api.options.clock.now();
    let timeout = api.options.resolve_timeout_ms;
    let mut sorted = Sorted::new(posted.as_ref().map_or(0, Vec::len), body.len());
    for (index, alert) in posted.into_iter().flatten().enumerate() {
        let Some(alert) = alert else {
            sorted.reject(
                index,
                &LabelSet::default(),
                "at least one label pair required",
            );
            continue;
        };
        let labels = alert.labels.unwrap_or_default().0;
        let starts = alert.starts_at.as_ref().map(|t| t.0.as_ref());
        let ends = alert.ends_at.as_ref().map(|t| t.0.as_ref());
        let times = time_field("startsAt", starts)
            .and_then(|starts| time_field("endsAt", ends).map(|ends| (starts, ends)));
        let (starts_at, ends_at) = match times {
            Ok(times) => times,
            Err(why) => {
                sorted.reject(index, &labels, &why);
                continue;
            }
        };
        let incoming = Incoming {
            annotations: alert.annotations.unwrap_or_default().0,
            starts_at,
            ends_at,
            generator_url: alert
                .generator_url
                .map_or_else(SharedStr::default, |url| SharedStr::from(url.0.as_ref())),
            labels,
        };
        sorted.ingest(index, incoming, now, timeout, AlertSource::Api);
    }
    store_batch(&api, sorted).await
}

// ---- listing ----

/// A `filter` query parameter: one matcher, its pattern compiled (400 with
/// Alertmanager's message otherwise).
pub(super) fn filter_matcher(text: &str) -> Result<CompiledMatcher, AmError> {
    CompiledMatcher::parse(text)
        .map_err(|e| AmError::message(StatusCode::BAD_REQUEST, e.to_string()))
}

/// Alertmanager's `matchFilterLabels`: a matcher for "" accepts a missing
/// label (`=`, `=~`) or any present one (`!=`, `!~`).
fn matches_filter(matchers: &[CompiledMatcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| {
        let present = labels.get(&m.name);
        let empty_hit = if m.op.is_equal() {
            present.is_none()
        } else {
            present.is_some()
        };
        (m.value.is_empty() && empty_hit) || m.matches(present.unwrap_or(""))
    })
}

/// Query parameters of `GET /api/v2/alerts` and `/alerts/groups`.
struct AlertQuery {
    matchers: Vec<CompiledMatcher>,
    receiver: Option<regex::Regex>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

fn parse_bool(name: &str, value: &str) -> Result<bool, AmError> {
    // go-openapi's swag.ConvertBool.
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" | "selected" | "checked" | "ok" => Ok(true),
        "false" | "0" | "no" | "n" | "off" | "" => Ok(false),
        _ => Err(AmError::framework(
            StatusCode::BAD_REQUEST,
            400,
            format!("{name} in query must be of type boolean: {value:?}"),
        )),
    }
}

fn parse_alert_query(pairs: &[(String, String)]) -> Result<AlertQuery, AmError> {
    let mut query = AlertQuery {
        matchers: Vec::new(),
        receiver: None,
        active: true,
        silenced: true,
        inhibited: true,
    };
    for (name, value) in pairs {
        match name.as_str() {
            "filter" => query.matchers.push(filter_matcher(value)?),
            "receiver" => {
                let regex = regex::Regex::new(&anchored(value)).map_err(|e| {
                    AmError::message(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "failed to parse receiver param: error parsing regexp: {}",
                            regex_error(&e, value)
                        ),
                    )
                })?;
                query.receiver = Some(regex);
            }
            "active" => query.active = parse_bool(name, value)?,
            "silenced" => query.silenced = parse_bool(name, value)?,
            "inhibited" => query.inhibited = parse_bool(name, value)?,
            // Accepted and, as in Alertmanager 0.25, ignored.
            "unprocessed" => {
                parse_bool(name, value)?;
            }
            _ => {}
        }
    }
    Ok(query)
}

/// An alert's status at query time.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertStatus {
    inhibited_by: Vec<String>,
    silenced_by: Vec<String>,
    state: &'static str,
}

/// Alertmanager's `gettableAlert`, keys in go-swagger's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableAlert<'a> {
    annotations: &'a LabelSet,
    ends_at: String,
    fingerprint: String,
    receivers: Vec<ReceiverName<'a>>,
    starts_at: String,
    status: AlertStatus,
    updated_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    labels: &'a LabelSet,
}

fn status_of(api: &AlertmanagerApi, alert: &NotifyAlert, now: Millis) -> AlertStatus {
    let silenced_by = api.silences.mutes(&alert.labels, now);
    let inhibited_by: Vec<String> = api
        .views
        .inhibited_by(&alert.labels)
        .into_iter()
        .map(|fp| format!("{fp:016x}"))
        .collect();
    let state = if silenced_by.is_empty() && inhibited_by.is_empty() {
        "active"
    } else {
        "suppressed"
    };
    AlertStatus {
        inhibited_by,
        silenced_by,
        state,
    }
}

/// Alertmanager's `alertFilter`: not resolved, the state filters, the matchers.
fn keep(query: &AlertQuery, alert: &NotifyAlert, status: &AlertStatus, now: Millis) -> bool {
    if alert.ends_at < now {
        return false;
    }
    if !query.active && status.state == "active" {
        return false;
    }
    if !query.silenced && !status.silenced_by.is_empty() {
        return false;
    }
    if !query.inhibited && !status.inhibited_by.is_empty() {
        return false;
    }
    matches_filter(&query.matchers, &alert.labels)
}

fn gettable<'a>(
    alert: &'a NotifyAlert,
    status: AlertStatus,
    receivers: &'a [String],
) -> GettableAlert<'a> {
    GettableAlert {
        annotations: &alert.annotations,
        ends_at: am_time(alert.ends_at),
        fingerprint: format!("{:016x}", alert.labels.fingerprint()),
        receivers: receivers.iter().map(|name| ReceiverName { name }).collect(),
        starts_at: am_time(alert.starts_at),
        status,
        updated_at: am_time(alert.updated_at),
        generator_url: &alert.generator_url,
        labels: &alert.labels,
    }
}

pub(super) async fn get_alerts(
    State(api): State<AlertmanagerApi>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AmError> {
    let query = parse_alert_query(&pairs)?;
    let now = api.options.clock.now();
    let mut alerts = api.alerts.snapshot();
    alerts.sort_unstable_by_key(|a| a.labels.fingerprint());
    let mut kept: Vec<(Arc<NotifyAlert>, AlertStatus, Vec<String>)> = Vec::new();
    for alert in alerts {
        if alert.ends_at < now || !matches_filter(&query.matchers, &alert.labels) {
            continue;
        }
        let receivers = api.views.receivers_for(&alert.labels);
        if let Some(filter) = &query.receiver
            && !receivers.iter().any(|r| filter.is_match(r))
        {
            continue;
        }
        let status = status_of(&api, &alert, now);
        if !keep(&query, &alert, &status, now) {
            continue;
        }
        kept.push((alert, status, receivers));
    }
    let body: Vec<GettableAlert<'_>> = kept
        .iter_mut()
        .map(|(alert, status, receivers)| {
            let status = std::mem::replace(
                status,
                AlertStatus {
                    inhibited_by: Vec::new(),
                    silenced_by: Vec::new(),
                    state: "",
                },
            );
            gettable(alert, status, receivers)
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

/// Alertmanager's `alertGroup`.
#[derive(Serialize)]
struct GettableGroup<'a> {
    alerts: Vec<GettableAlert<'a>>,
    labels: &'a LabelSet,
    receiver: ReceiverName<'a>,
}

/// Prometheus's `LabelSet.Before`: fewer labels first, then by the first
/// differing label (a missing name sorts first).
fn label_set_before(a: &LabelSet, b: &LabelSet) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let mut names: Vec<&str> = a
        .iter()
        .map(|(k, _)| k)
        .chain(b.iter().map(|(k, _)| k))
        .collect();
    names.sort_unstable();
    for name in names {
        match (a.get(name), b.get(name)) {
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    Ordering::Equal
}

/// Alertmanager's `AlertSlice.Less`: by `job`, then `instance` (alerts with
/// the label first), then by label set.
fn alert_order(a: &NotifyAlert, b: &NotifyAlert) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    label_set_before(&a.labels, &b.labels)
}

pub(super) async fn get_alert_groups(
    State(api): State<AlertmanagerApi>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AmError> {
    let query = parse_alert_query(&pairs)?;
    let now = api.options.clock.now();
    let mut groups = api.views.groups();
    groups.retain(|g| {
        query
            .receiver
            .as_ref()
            .is_none_or(|r| r.is_match(&g.receiver))
    });
    // Alerts that pass the filters, with every receiver whose group holds them.
    let mut receivers: HashMap<Fingerprint, Vec<String>> = HashMap::new();
    let mut statuses: HashMap<Fingerprint, Option<(Arc<NotifyAlert>, AlertStatus)>> =
        HashMap::new();
    let mut kept_groups: Vec<(GroupView, Vec<Fingerprint>)> = Vec::new();
    for group in groups {
        let mut kept = Vec::new();
        for fp in &group.fingerprints {
            let entry = statuses.entry(*fp).or_insert_with(|| {
                let alert = api.alerts.get(*fp)?;
                let status = status_of(&api, &alert, now);
                keep(&query, &alert, &status, now).then_some((alert, status))
            });
            if entry.is_some() {
                receivers
                    .entry(*fp)
                    .or_default()
                    .push(group.receiver.clone());
                kept.push(*fp);
            }
        }
        if !kept.is_empty() {
            kept_groups.push((group, kept));
        }
    }
    for names in receivers.values_mut() {
        names.sort();
    }
    kept_groups.sort_by(|(a, _), (b, _)| {
        label_set_before(&a.labels, &b.labels).then_with(|| a.receiver.cmp(&b.receiver))
    });
    let no_receivers: Vec<String> = Vec::new();
    let body: Vec<GettableGroup<'_>> = kept_groups
        .iter()
        .map(|(group, fps)| {
            let mut alerts: Vec<&(Arc<NotifyAlert>, AlertStatus)> = fps
                .iter()
                .filter_map(|fp| statuses.get(fp).and_then(Option::as_ref))
                .collect();
            alerts.sort_by(|(a, _), (b, _)| alert_order(a, b));
            GettableGroup {
                alerts: alerts
                    .into_iter()
                    .map(|(alert, status)| {
                        let fp = alert.labels.fingerprint();
                        let status = AlertStatus {
                            inhibited_by: status.inhibited_by.clone(),
                            silenced_by: status.silenced_by.clone(),
                            state: status.state,
                        };
                        gettable(alert, status, receivers.get(&fp).unwrap_or(&no_receivers))
                    })
                    .collect(),
                labels: &group.labels,
                receiver: ReceiverName {
                    name: &group.receiver,
                },
            }
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_treat_empty_values_as_alertmanager() {
        let labels = LabelSet::from_pairs([("a", "1")]);
        let test = |text: &str| matches_filter(&[filter_matcher(text).unwrap()], &labels);
        assert!(test("a=1"));
        assert!(test("b="), "missing label matches =\"\"");
        assert!(!test("a="));
        assert!(test("a!="), "present label matches !=\"\"");
        assert!(test("a=~1|2"));
        assert!(!test("a=~1.+"), "anchored");
        assert!(test("b!~x"));
    }

    #[test]
    fn label_sets_sort_like_prometheus() {
        use std::cmp::Ordering;
        let ls = |pairs: &[(&str, &str)]| LabelSet::from_pairs(pairs.iter().copied());
        assert_eq!(
            label_set_before(&ls(&[("a", "1")]), &ls(&[("a", "1"), ("b", "1")])),
            Ordering::Less
        );
        assert_eq!(
            label_set_before(&ls(&[("a", "2")]), &ls(&[("a", "1")])),
            Ordering::Greater
        );
        // The first name in sorted order that one set lacks puts that set first.
        assert_eq!(
            label_set_before(&ls(&[("b", "1")]), &ls(&[("a", "1")])),
            Ordering::Less
        );
    }
}
