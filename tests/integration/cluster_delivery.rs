//! What a three-replica cluster on real etcd promises about notifications,
//! seen from the receiving end (a webhook sink that records every request
//! with its `Idempotency-Key`): an alert pushed to every replica is notified
//! once; a silence made on one replica is shown by the others within a
//! second and mutes what they would send; a receiver failing for a minute
//! gets each notification once when it recovers, from one replica; a burst
//! whose sending replica is killed with `kill -9` loses nothing, and repeats
//! only what was on the wire, under the same key.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster_replicas::{CountingPrometheus, Replicas};
use crate::harness::{Klaxon, Received, Reply, WebhookSink, http, wait_for};

const T: Duration = Duration::from_secs(60);
/// Notifier shards of a cluster (`SHARDS` in src/serve/cluster.rs).
const SHARDS: usize = 64;

/// A cluster of three replicas with only a notifier configuration: one
/// webhook receiver, one route with these settings.
struct Setup {
    sink: WebhookSink,
    cluster: Replicas,
    _prometheus: CountingPrometheus,
}

impl Setup {
    fn start(route: &str) -> Setup {
        let prometheus = CountingPrometheus::start();
        let sink = WebhookSink::start();
        let config = format!(
            "receiver hook {{ webhook {{ url \"{}\" }} }}\nroute {{\n  receiver hook\n{route}\n}}\n",
            sink.url("/hook")
        );
        let cluster = Replicas::start(3, &config, &prometheus.url(), &[]);
        let setup = Setup {
            sink,
            cluster,
            _prometheus: prometheus,
        };
        let shards = setup.wait_shards_spread();
        eprintln!("shards: {:?}", counts(&shards));
        setup
    }

    /// Replica name -> notifier shards it holds, as replica `observer` sees it.
    fn shards(&self, observer: usize) -> BTreeMap<String, Vec<String>> {
        let status = self.cluster.status(observer);
        let mut out = BTreeMap::new();
        for m in status["members"].as_array().into_iter().flatten() {
            let shards = m["shards"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            out.insert(
                m["replica"].as_str().unwrap_or_default().to_string(),
                shards,
            );
        }
        out
    }

    /// Waits until every shard is held by a running replica, and every
    /// running replica holds its share (so no handover runs during a test
    /// unless the test makes one).
    fn wait_shards_spread(&self) -> BTreeMap<String, Vec<String>> {
        let running: Vec<String> = self.cluster.running().map(|(i, _)| name(i)).collect();
        let share = SHARDS / running.len();
        wait_for(
            T,
            "the notifier shards are spread over the replicas",
            || {
                let views: Vec<BTreeMap<String, Vec<String>>> = self
                    .cluster
                    .running()
                    .map(|(i, _)| self.shards(i))
                    .collect();
                let first = views.first().cloned().unwrap_or_default();
                let held: usize = first.values().map(Vec::len).sum();
                let spread = first.len() == running.len()
                    && first.keys().all(|r| running.contains(r))
                    && held == SHARDS
                    && first.values().all(|s| s.len() >= share - 2)
                    && views.iter().all(|v| *v == first);
                if spread { Ok(first) } else { Err(views) }
            },
        )
    }

    /// A replica's URL (the `externalURL` of the notifications it
    /// decides) -> its name.
    fn sender_names(&self) -> BTreeMap<String, String> {
        self.cluster
            .running()
            .map(|(i, k)| (k.url(), name(i)))
            .collect()
    }
}

fn name(i: usize) -> String {
    format!("r{i}")
}

fn counts(m: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
    m.iter().map(|(k, v)| (k.clone(), v.len())).collect()
}

/// `{"alertname": NAME, ...labels}` firing since `starts_at`, as
/// Prometheus posts it.
fn alert(name: &str, labels: &[(&str, &str)], starts_at: &str) -> Value {
    let mut l = serde_json::Map::new();
    l.insert("alertname".into(), json!(name));
    for (k, v) in labels {
        l.insert((*k).into(), json!(v));
    }
    json!({"labels": l, "startsAt": starts_at})
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `POST /api/v2/alerts`; panics unless the replica takes them.
fn post_alerts(k: &Klaxon, alerts: &[Value]) {
    let body = Value::Array(alerts.to_vec()).to_string();
    let url = format!("{}/api/v2/alerts", k.url());
    let response = http::post(&url, "application/json", body.as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert_eq!(response.status, 200, "POST {url}: {}", response.body);
}

/// One request the sink received, as the test reads it.
#[derive(Debug, Clone)]
struct Delivery {
    key: String,
    answered: u16,
    /// The `externalURL` of the payload: the replica that decided it.
    sender: String,
    firing: Vec<String>,
    at: Instant,
}

impl Delivery {
    fn ok(&self) -> bool {
        (200..300).contains(&self.answered)
    }
}

fn deliveries(sink: &WebhookSink) -> Vec<Delivery> {
    sink.received()
        .iter()
        .filter(|r| r.path == "/hook")
        .map(delivery)
        .collect()
}

fn delivery(r: &Received) -> Delivery {
    Delivery {
        key: r.header("idempotency-key").unwrap_or_default().to_string(),
        answered: r.answered,
        sender: r.body["externalURL"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        firing: r.body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["status"] == "firing")
            .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_string))
            .collect(),
        at: r.at,
    }
}

/// Alert name -> the successful deliveries that carried it as firing.
fn delivered_firing(all: &[Delivery]) -> BTreeMap<String, Vec<&Delivery>> {
    let mut out: BTreeMap<String, Vec<&Delivery>> = BTreeMap::new();
    for d in all.iter().filter(|d| d.ok()) {
        for name in &d.firing {
            out.entry(name.clone()).or_default().push(d);
        }
    }
    out
}

/// Waits until every one of `names` was delivered as firing.
fn wait_delivered(sink: &WebhookSink, names: &[String], within: Duration, what: &str) {
    wait_for(within, what, || {
        let all = deliveries(sink);
        let done = delivered_firing(&all);
        let missing: Vec<&String> = names.iter().filter(|n| !done.contains_key(*n)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} missing, e.g. {:?}; {} requests so far",
                missing.len(),
                names.len(),
                missing.iter().take(5).collect::<Vec<_>>(),
                all.len()
            ))
        }
    });
}

#[test]
fn the_same_alert_pushed_to_every_replica_is_notified_once() {
    const GROUP_WAIT: Duration = Duration::from_secs(2);
    const ALERTS: usize = 10;
    let setup = Setup::start(
        "  group_by alertname\n  group_wait 2s\n  group_interval 1m\n  repeat_interval 1h",
    );
    let senders = setup.sender_names();
    // Ten alerts (ten aggregation groups, so several replicas send), each
    // pushed to every replica, as Prometheus does with every Alertmanager
    // it is given; then pushed again, as its next resend would.
    let starts_at = now_rfc3339();
    let alerts: Vec<Value> = (0..ALERTS)
        .map(|i| alert(&format!("Same{i}"), &[("instance", "db-1")], &starts_at))
        .collect();
    let names: Vec<String> = (0..ALERTS).map(|i| format!("Same{i}")).collect();
    let posted = Instant::now();
    for round in 0..2 {
        for (_, k) in setup.cluster.running() {
            post_alerts(k, &alerts);
        }
        if round == 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    wait_delivered(&setup.sink, &names, T, "every alert is notified");
    let first = posted.elapsed();
    // Long enough for any other replica's group_wait to run out and its
    // send to arrive.
    std::thread::sleep(GROUP_WAIT + Duration::from_secs(8));

    let all = deliveries(&setup.sink);
    let by_alert = delivered_firing(&all);
    let mut by_sender: BTreeMap<String, usize> = BTreeMap::new();
    for name in &names {
        let got = by_alert.get(name).cloned().unwrap_or_default();
        assert_eq!(
            got.len(),
            1,
            "{name} pushed to 3 replicas was notified {} times: {got:#?}",
            got.len()
        );
        let sender = senders
            .get(&got[0].sender)
            .cloned()
            .unwrap_or_else(|| got[0].sender.clone());
        *by_sender.entry(sender).or_default() += 1;
    }
    assert_eq!(
        all.len(),
        ALERTS,
        "one request per alert reached the receiver, no more: {all:#?}"
    );
    eprintln!(
        "{ALERTS} alerts pushed to 3 replicas: {} notifications, first all in {first:.2?}, by sender {by_sender:?}",
        all.len()
    );
}

#[test]
fn a_silence_made_on_one_replica_mutes_what_another_would_send() {
    const MUTED: usize = 24;
    const LOUD: usize = 6;
    let setup = Setup::start(
        "  group_by alertname\n  group_wait 1s\n  group_interval 1m\n  repeat_interval 1h",
    );
    let (a, b, c) = (
        setup.cluster.get(0),
        setup.cluster.get(1),
        setup.cluster.get(2),
    );
    let ends_at = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let body = json!({
        "matchers": [{"name": "team", "value": "quiet", "isRegex": false}],
        "startsAt": now_rfc3339(),
        "endsAt": ends_at,
        "createdBy": "on-call",
        "comment": "maintenance of the quiet team's hosts",
    })
    .to_string();
    let sent = Instant::now();
    let response = http::post(
        &format!("{}/api/v2/silences", a.url()),
        "application/json",
        body.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("POST silence: {e}"));
    let created = Instant::now();
    assert_eq!(response.status, 200, "{}", response.body);
    let id = response
        .json()
        .ok()
        .and_then(|v| v["silenceID"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no silenceID in {}", response.body));

    // Visible on B and C within a second of its creation on A.
    let active_on = |k: &Klaxon| {
        let silences = k.get_json("/api/v2/silences");
        silences
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["id"] == id.as_str() && s["status"]["state"] == "active")
    };
    let mut seen: BTreeMap<&str, Duration> = BTreeMap::new();
    let deadline = created + Duration::from_secs(5);
    while seen.len() < 2 && Instant::now() < deadline {
        for (n, k) in [("B", b), ("C", c)] {
            if !seen.contains_key(n) && active_on(k) {
                seen.insert(n, created.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!(
        "silence created on A in {:.1?}; active on {seen:.1?} after its creation",
        created - sent
    );
    for n in ["B", "C"] {
        let took = seen
            .get(n)
            .copied()
            .unwrap_or_else(|| panic!("the silence made on A is not active on {n} after 5s"));
        assert!(
            took <= Duration::from_secs(1),
            "the silence made on A was active on {n} only after {took:?}"
        );
    }

    // Alerts of the silenced team, in many aggregation groups (so many of
    // them are B's and C's to send), and a control that must go out.
    let starts_at = now_rfc3339();
    let muted: Vec<String> = (0..MUTED).map(|i| format!("Muted{i}")).collect();
    let loud: Vec<String> = (0..LOUD).map(|i| format!("Loud{i}")).collect();
    let alerts: Vec<Value> = muted
        .iter()
        .map(|n| alert(n, &[("team", "quiet")], &starts_at))
        .chain(
            loud.iter()
                .map(|n| alert(n, &[("team", "loud")], &starts_at)),
        )
        .collect();
    for k in [b, c] {
        post_alerts(k, &alerts);
    }
    wait_delivered(
        &setup.sink,
        &loud,
        T,
        "the alerts no silence matches are notified",
    );
    // The muted groups' group_wait ran out long ago.
    std::thread::sleep(Duration::from_secs(4));
    let all = deliveries(&setup.sink);
    let notified = delivered_firing(&all);
    let leaked: Vec<&String> = muted.iter().filter(|n| notified.contains_key(*n)).collect();
    assert!(
        leaked.is_empty(),
        "silenced alerts were notified: {leaked:?}"
    );
    for n in &loud {
        assert_eq!(notified[n].len(), 1, "{n} notified more than once");
    }
    // Every replica knows the muted alerts and says what mutes them.
    for (i, k) in setup.cluster.running() {
        wait_for(
            T,
            "every replica shows the muted alerts as silenced",
            || {
                let listed = k.get_json("/api/v2/alerts");
                let mut wrong = Vec::new();
                for n in &muted {
                    let found = listed
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|x| x["labels"]["alertname"] == n.as_str());
                    let silenced = found.is_some_and(|x| {
                        x["status"]["state"] == "suppressed"
                            && x["status"]["silencedBy"]
                                .as_array()
                                .is_some_and(|s| s.iter().any(|s| s == id.as_str()))
                    });
                    if !silenced {
                        wrong.push((n.clone(), found.map(|x| x["status"].clone())));
                    }
                }
                if wrong.is_empty() {
                    Ok(())
                } else {
                    Err((name(i), wrong))
                }
            },
        );
    }
}

#[test]
fn a_failing_receiver_gets_each_notification_exactly_once_when_it_recovers() {
    const OUTAGE: Duration = Duration::from_secs(60);
    const ALERTS: usize = 12;
    // After a minute of failures the next attempt may be up to 256 s
    // away (backoff ceilings double from 1 s, jittered to 0..=ceiling).
    const RECOVERY: Duration = Duration::from_secs(330);
    let setup = Setup::start(
        "  group_by alertname\n  group_wait 1s\n  group_interval 10s\n  repeat_interval 1h",
    );
    let senders = setup.sender_names();
    // The receiver answers 500 to everything until the outage ends.
    setup.sink.script(vec![Reply::Status(500); 1_000_000]);
    let started = Instant::now();
    let starts_at = now_rfc3339();
    let names: Vec<String> = (0..ALERTS).map(|i| format!("Failing{i}")).collect();
    let alerts: Vec<Value> = names
        .iter()
        .map(|n| alert(n, &[("severity", "page")], &starts_at))
        .collect();
    // Pushed to every replica, again every 20 s as Prometheus resends.
    while started.elapsed() < OUTAGE {
        for (_, k) in setup.cluster.running() {
            post_alerts(k, &alerts);
        }
        std::thread::sleep(Duration::from_secs(20).min(OUTAGE.saturating_sub(started.elapsed())));
    }
    setup.sink.clear_script();
    let recovered = Instant::now();
    let during = deliveries(&setup.sink);
    // The outage was felt: every alert's notification was tried and failed.
    let tried: BTreeSet<&String> = during
        .iter()
        .filter(|d| d.answered == 500)
        .flat_map(|d| &d.firing)
        .collect();
    assert_eq!(
        tried.len(),
        ALERTS,
        "every notification was attempted during the outage: {tried:?}"
    );
    assert!(
        during.iter().all(|d| d.answered == 500),
        "nothing was delivered during the outage"
    );

    wait_delivered(
        &setup.sink,
        &names,
        RECOVERY,
        "every notification is delivered after the receiver recovered",
    );
    let last = recovered.elapsed();
    std::thread::sleep(Duration::from_secs(5));

    let all = deliveries(&setup.sink);
    let failed = all.iter().filter(|d| d.answered == 500).count();
    // Per alert: every attempt, failed or not, was one notification (one
    // key, from one replica), delivered exactly once.
    let mut by_sender: BTreeMap<String, usize> = BTreeMap::new();
    for n in &names {
        let attempts: Vec<&Delivery> = all.iter().filter(|d| d.firing.contains(n)).collect();
        let keys: BTreeSet<&str> = attempts.iter().map(|d| d.key.as_str()).collect();
        let from: BTreeSet<&str> = attempts.iter().map(|d| d.sender.as_str()).collect();
        let ok = attempts.iter().filter(|d| d.ok()).count();
        assert_eq!(
            (keys.len(), from.len(), ok),
            (1, 1, 1),
            "{n}: {} attempts with keys {keys:?} from {from:?}, {ok} delivered; one notification, from one replica, delivered once was expected",
            attempts.len()
        );
        let sender = from.iter().next().copied().unwrap_or_default();
        *by_sender
            .entry(senders.get(sender).cloned().unwrap_or(sender.to_string()))
            .or_default() += 1;
    }
    // Per key: one success, and nothing after it.
    let mut by_key: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
    for d in &all {
        by_key.entry(d.key.as_str()).or_default().push(d);
    }
    for (key, attempts) in &by_key {
        assert!(!key.is_empty(), "a request without Idempotency-Key");
        let ok: Vec<&&Delivery> = attempts.iter().filter(|d| d.ok()).collect();
        assert_eq!(ok.len(), 1, "key {key}: {attempts:#?}");
        assert!(
            attempts.iter().all(|d| d.at <= ok[0].at),
            "key {key} was sent again after its delivery: {attempts:#?}"
        );
    }
    eprintln!(
        "receiver down {OUTAGE:?}: {ALERTS} notifications ({} keys) by sender {by_sender:?}; {failed} failed attempts; all delivered {last:.1?} after recovery, {} successful requests",
        by_key.len(),
        all.iter().filter(|d| d.ok()).count()
    );
}

/// Notification id -> owner of every claim in etcd (`outbox/…`):
/// notifications claimed and not yet settled.
fn claims(cluster: &Replicas) -> BTreeMap<String, String> {
    let entries = cluster
        .etcd
        .get_prefix(0, "/klaxon/test/outbox/")
        .unwrap_or_else(|e| panic!("etcd: {e}"));
    entries
        .iter()
        .map(|kv| {
            let record: Value = serde_json::from_slice(&kv.value)
                .unwrap_or_else(|e| panic!("claim {}: {e}", kv.key));
            (
                record["notification"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                record["owner"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_burst_with_the_sending_replica_killed_loses_nothing() {
    const ALERTS: usize = 500;
    const BATCH: usize = 25;
    const SINK_DELAY: Duration = Duration::from_millis(100);
    /// How long a replica may take from a receiver's answer to removing
    /// the notification's claim from etcd.
    const SETTLE: Duration = Duration::from_secs(1);
    let mut setup = Setup::start(
        "  group_by alertname\n  group_wait 1s\n  group_interval 1m\n  repeat_interval 1h",
    );
    // The victim: the replica holding the most shards, so the most sends.
    let shards = setup.shards(0);
    let victim: usize = shards
        .iter()
        .max_by_key(|(_, s)| s.len())
        .and_then(|(r, _)| r.trim_start_matches('r').parse().ok())
        .unwrap_or(0);
    let victim_url = setup.cluster.get(victim).url();
    setup.sink.set_delay(SINK_DELAY);

    // 500 alerts, each its own aggregation group (so 500 notifications),
    // pushed in batches to every running replica; the victim is killed
    // once two fifths of them have been delivered, with sends in flight.
    let names: Vec<String> = (0..ALERTS).map(|i| format!("Burst{i:03}")).collect();
    let started = Instant::now();
    let mut killed = None;
    let mut dead = None;
    for batch in names.chunks(BATCH) {
        let starts_at = now_rfc3339();
        let alerts: Vec<Value> = batch
            .iter()
            .map(|n| alert(n, &[("job", "burst")], &starts_at))
            .collect();
        for (_, k) in setup.cluster.running() {
            post_alerts(k, &alerts);
        }
        std::thread::sleep(Duration::from_millis(250));
        if killed.is_none() && setup.sink.received().len() >= ALERTS * 2 / 5 {
            // Mid-delivery: the victim holds claims and requests are at
            // the receiver (the next flush comes within a batch period).
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline
                && !(setup.sink.arrived() > setup.sink.received().len()
                    && claims(&setup.cluster).values().any(|o| *o == name(victim)))
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            if let Some(k) = setup.cluster.replicas[victim].as_mut() {
                k.kill9();
            }
            let at = Instant::now();
            let in_flight = setup.sink.arrived() - setup.sink.received().len();
            // What the victim had claimed and not settled: on the wire, or
            // about to be. Only these may be sent twice.
            let unsettled: BTreeSet<String> = claims(&setup.cluster)
                .into_iter()
                .filter(|(_, owner)| *owner == name(victim))
                .map(|(id, _)| id)
                .collect();
            dead = setup.cluster.replicas[victim].take();
            killed = Some((at, in_flight, unsettled));
        }
    }
    let (killed_at, in_flight, unsettled) =
        killed.unwrap_or_else(|| {
        panic!(
            "the victim was never killed: {} of {ALERTS} alerts were delivered by the end of the burst",
            delivered_firing(&deliveries(&setup.sink)).len()
        )
    });
    let posted = started.elapsed();
    wait_delivered(
        &setup.sink,
        &names,
        Duration::from_secs(90),
        "every alert of the burst is delivered",
    );
    let everything = started.elapsed();
    // Late duplicates would arrive now.
    std::thread::sleep(Duration::from_secs(5));

    let all = deliveries(&setup.sink);
    let by_alert = delivered_firing(&all);
    let lost: Vec<&String> = names
        .iter()
        .filter(|n| !by_alert.contains_key(*n))
        .collect();
    assert!(lost.is_empty(), "alerts never notified: {lost:?}");
    let from_victim = all
        .iter()
        .filter(|d| d.sender == victim_url && d.at < killed_at)
        .count();
    assert!(
        from_victim > 0,
        "the killed replica had delivered nothing: it was not a sender"
    );
    // Every notification the victim had claimed went out, under its key.
    let delivered_keys: BTreeSet<&str> = all
        .iter()
        .filter(|d| d.ok())
        .map(|d| d.key.as_str())
        .collect();
    let undelivered: Vec<&String> = unsettled
        .iter()
        .filter(|id| !delivered_keys.contains(id.as_str()))
        .collect();
    assert!(
        undelivered.is_empty(),
        "notifications the killed replica had claimed were never delivered: {undelivered:?}"
    );
    // What a receiver acting on each request as it arrives saw: an alert
    // that came twice came under one key, from a claim the victim held,
    // sent while it died (or answered a moment before, its settlement not
    // yet in etcd).
    let arrivals: Vec<Delivery> = setup
        .sink
        .arrivals()
        .iter()
        .filter(|r| r.path == "/hook")
        .map(delivery)
        .collect();
    let mut arrived_by_alert: BTreeMap<&String, Vec<&Delivery>> = BTreeMap::new();
    for d in &arrivals {
        for n in &d.firing {
            arrived_by_alert.entry(n).or_default().push(d);
        }
    }
    let mut duplicated = Vec::new();
    for (n, got) in &arrived_by_alert {
        let keys: BTreeSet<&str> = got.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys.len(),
            1,
            "{n} was sent {} times under different keys: {got:#?}",
            got.len()
        );
        if got.len() > 1 {
            assert!(
                unsettled.contains(got[0].key.as_str()),
                "{n} was sent twice though no claim of the killed replica held it: {got:#?}"
            );
            assert!(
                got[0].at + SINK_DELAY + SETTLE >= killed_at,
                "{n} was sent {:.1?} before the kill and again after it: {got:#?}",
                killed_at - got[0].at
            );
            duplicated.push((n.to_string(), got.len()));
        }
    }
    let delivered_twice = by_alert.values().filter(|got| got.len() > 1).count();
    // The longest a repeated notification had been answered before the
    // kill: how long its settlement took to reach etcd, at least.
    let settling = by_alert
        .values()
        .filter(|got| got.len() > 1)
        .map(|got| killed_at.saturating_duration_since(got[0].at))
        .max()
        .unwrap_or_default();
    let ok = all.iter().filter(|d| d.ok()).count();
    let adopted = all
        .iter()
        .filter(|d| d.ok() && d.at > killed_at + SINK_DELAY && unsettled.contains(&d.key))
        .count();
    eprintln!(
        "burst of {ALERTS} alerts posted over {posted:.1?}; r{victim} killed at {:.1?} after {from_victim} deliveries, holding {} unsettled claims ({adopted} delivered by the adopter), {in_flight} requests in flight at the sink: {ok} notifications delivered, 0 lost; {} alerts sent twice (same key), {delivered_twice} answered 2xx twice (the first up to {settling:.0?} before the kill); everything delivered {everything:.1?} after the first post",
        killed_at - started,
        unsettled.len(),
        duplicated.len()
    );

    // Killed between sends (nothing claimed): nothing is sent again.
    let second = setup
        .cluster
        .running()
        .map(|(i, _)| i)
        .max_by_key(|i| setup.shards(*i).get(&name(*i)).map_or(0, Vec::len))
        .unwrap_or(0);
    let held: Vec<String> = claims(&setup.cluster)
        .into_iter()
        .filter(|(_, owner)| *owner == name(second))
        .map(|(id, _)| id)
        .collect();
    assert!(held.is_empty(), "r{second} still holds claims: {held:?}");
    let before = setup.sink.arrived();
    if let Some(k) = setup.cluster.replicas[second].as_mut() {
        k.kill9();
    }
    let _second_dead = setup.cluster.replicas[second].take();
    setup.wait_shards_spread();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        setup.sink.arrived(),
        before,
        "a replica killed between sends: its shards' notifications were sent again {:#?}",
        &deliveries(&setup.sink)[before.min(all.len())..]
    );
    drop(dead);
}
