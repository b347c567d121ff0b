//! Dispatcher behaviour on a recorded timeline: the sink here is an
//! in-memory notification log that records what would be committed.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::model::load::load_sources;
use crate::notify::alert::AlertSource;
use crate::notify::receivers::{Deliver, Delivered, DeliveryError};

#[derive(Debug)]
struct Recorder {
    send_resolved: bool,
}

impl Deliver for Recorder {
    fn kind(&self) -> &'static str {
        "webhook"
    }
    fn send_resolved(&self) -> bool {
        self.send_resolved
    }
    fn max_alerts(&self) -> usize {
        0
    }
    fn send<'a>(
        &'a self,
        _n: &'a Notification,
        _thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async { Ok(Delivered::default()) })
    }
}

#[derive(Default)]
struct MemorySink {
    log: Mutex<HashMap<(String, String, usize), LogEntry>>,
    sent: Mutex<Vec<Notification>>,
}

impl Sink for MemorySink {
    fn log_entry(&self, group_id: &str, receiver: &str, integration: usize) -> Option<LogEntry> {
        self.log
            .lock()
            .unwrap()
            .get(&(group_id.to_string(), receiver.to_string(), integration))
            .cloned()
    }
    fn enqueue(&self, items: Vec<(Notification, LogEntry)>) -> BoxFuture<'_, Result<(), String>> {
        for (n, entry) in items {
            self.log.lock().unwrap().insert(
                (
                    n.group_identity().to_string(),
                    n.receiver.clone(),
                    n.integration,
                ),
                entry,
            );
            self.sent.lock().unwrap().push(n);
        }
        Box::pin(async { Ok(()) })
    }
}

#[derive(Default)]
struct Silenced(Mutex<Vec<(String, String)>>);

impl Mutes for Silenced {
    fn silenced(&self, labels: &LabelSet, _now: Millis) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|(k, v)| labels.get(k) == Some(v.as_str()))
    }
    fn in_windows(&self, _names: &[String], _now: Millis) -> bool {
        false
    }
}

struct Fixture {
    dispatcher: Arc<Dispatcher>,
    sink: Arc<MemorySink>,
    mutes: Arc<Silenced>,
}

fn fixture(config_text: &str, send_resolved: bool) -> Fixture {
    fixture_gated(config_text, send_resolved, None)
}

fn fixture_gated(
    config_text: &str,
    send_resolved: bool,
    gate: Option<Arc<dyn FlushGate>>,
) -> Fixture {
    let loaded = load_sources(&[("test.rules", config_text)]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let rules = loaded.rules;
    let mut receivers = Receivers::default();
    for r in &rules.receivers {
        let list: Vec<Arc<dyn Deliver>> = vec![Arc::new(Recorder { send_resolved })];
        receivers.insert(r.name.clone(), list);
    }
    let sink = Arc::new(MemorySink::default());
    let mutes = Arc::new(Silenced::default());
    let dispatcher = Dispatcher::new(
        DispatchConfig::new(&rules.notifier_config(), receivers, "http://klaxon".into()),
        Arc::clone(&sink) as Arc<dyn Sink>,
        Arc::clone(&mutes) as Arc<dyn Mutes>,
        gate,
        crate::vocab::time::Clock::system(),
    );
    Fixture {
        dispatcher,
        sink,
        mutes,
    }
}

const BASIC: &str = r#"
receiver team { webhook { url "http://127.0.0.1:1/hook" } }
receiver pager { webhook { url "http://127.0.0.1:1/page" } }
route {
  receiver team
  group_by alertname
  group_wait 30s
  group_interval 5m
  repeat_interval 4h
  resolve_wait 5s
  route { match severity = "critical"  receiver pager  continue }
  route { match team =~ "db|data"  receiver team }
}
inhibit { source severity = "critical"  target severity = "warning"  equal alertname }
"#;

fn alert(
    labels: &[(&str, &str)],
    starts: Millis,
    ends: Millis,
    updated: Millis,
) -> Arc<NotifyAlert> {
    Arc::new(NotifyAlert {
        labels: LabelSet::from_pairs(labels.iter().copied()),
        annotations: LabelSet::from_pairs([("summary", "s")]),
        starts_at: starts,
        ends_at: ends,
        generator_url: "".into(),
        updated_at: updated,
        timeout: false,
        source: AlertSource::Api,
    })
}

const T0: Millis = 1_700_000_000_000;
const FAR: Millis = T0 + 86_400_000;

impl Fixture {
    fn sent(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.sink.sent.lock().unwrap())
    }
    async fn at(&self, now: Millis) -> Vec<Notification> {
        self.dispatcher.flush_due(now).await;
        self.sent()
    }
}

fn summary(n: &Notification) -> Vec<(String, Status)> {
    n.alerts
        .iter()
        .map(|a| (a.labels.to_string(), a.status))
        .collect()
}

#[test]
fn routing_follows_alertmanager_traversal_and_keys() {
    let f = fixture(BASIC, true);
    let receivers = |pairs: &[(&str, &str)]| {
        f.dispatcher
            .receivers_for(&LabelSet::from_pairs(pairs.iter().copied()))
    };
    assert_eq!(receivers(&[("alertname", "A")]), vec!["team"]);
    assert_eq!(
        receivers(&[("severity", "critical"), ("team", "db")]),
        vec!["pager", "team"],
        "continue keeps matching siblings"
    );
    assert_eq!(
        receivers(&[("team", "dbx")]),
        vec!["team"],
        "regex is anchored"
    );
    let state = f.dispatcher.lock();
    assert_eq!(
        state.config.routes.node(1).key,
        r#"{}/{severity="critical"}"#
    );
    assert_eq!(state.config.routes.node(2).key, r#"{}/{team=~"db|data"}"#);
}

/// "Send to two receivers": identical sibling matchers, the first with
/// `continue`. They share Alertmanager's group key; each must notify.
const TWIN_SIBLINGS: &str = r#"
receiver default { webhook { url "http://127.0.0.1:1/default" } }
receiver telegram { webhook { url "http://127.0.0.1:1/telegram" } }
receiver email { webhook { url "http://127.0.0.1:1/email" } }
route {
  receiver default
  group_by alertname
  group_wait 1s
  route { match severity = "critical"  receiver telegram  continue }
  route { match severity = "critical"  receiver email }
  route { match team = "db"  receiver email  continue }
  route { match team = "db"  receiver email }
}
"#;

#[tokio::test]
async fn sibling_routes_with_identical_matchers_each_notify() {
    let f = fixture(TWIN_SIBLINGS, true);
    f.dispatcher.insert(
        [
            alert(&[("alertname", "A"), ("severity", "critical")], T0, FAR, T0),
            alert(&[("alertname", "B"), ("team", "db")], T0, FAR, T0),
        ],
        T0,
    );
    let mut sent = f.at(T0 + 1_000).await;
    sent.sort_by(|a, b| (&a.group_id, &a.receiver).cmp(&(&b.group_id, &b.receiver)));
    let seen: Vec<(&str, &str, &str)> = sent
        .iter()
        .map(|n| {
            (
                n.receiver.as_str(),
                n.group_key.as_str(),
                n.group_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "telegram",
                r#"{}/{severity="critical"}:{alertname="A"}"#,
                r#"{}/{severity="critical"}/0:{alertname="A"}"#
            ),
            (
                "email",
                r#"{}/{severity="critical"}:{alertname="A"}"#,
                r#"{}/{severity="critical"}/1:{alertname="A"}"#
            ),
            (
                "email",
                r#"{}/{team="db"}:{alertname="B"}"#,
                r#"{}/{team="db"}/2:{alertname="B"}"#
            ),
            (
                "email",
                r#"{}/{team="db"}:{alertname="B"}"#,
                r#"{}/{team="db"}/3:{alertname="B"}"#
            ),
        ],
        "one notification per route, Alertmanager's group key on each"
    );
    assert_eq!(f.dispatcher.groups().len(), 4);
    // Each lane has its own log: nothing is repeated before repeat_interval.
    assert!(f.at(T0 + 400_000).await.is_empty());
}

#[test]
fn route_lanes_are_keys_unless_a_key_is_shared() {
    let f = fixture(TWIN_SIBLINGS, true);
    let state = f.dispatcher.lock();
    let routes = &state.config.routes;
    assert_eq!(routes.node(0).lane, "{}", "the root's lane is its key");
    assert_eq!(routes.node(1).id, r#"{}/{severity="critical"}/0"#);
    assert_eq!(routes.node(1).lane, routes.node(1).id);
    assert_eq!(routes.node(2).key, routes.node(1).key);
    assert_ne!(routes.node(2).lane, routes.node(1).lane);
    drop(state);
    // A tree without shared keys keeps the lanes of earlier versions.
    let basic = fixture(BASIC, true);
    let state = basic.dispatcher.lock();
    for i in 0..3 {
        let node = state.config.routes.node(i);
        assert_eq!(node.lane, node.key);
    }
}

#[tokio::test]
async fn group_wait_then_group_interval_then_repeat() {
    let f = fixture(BASIC, true);
    f.dispatcher.insert(
        [alert(&[("alertname", "A"), ("instance", "1")], T0, FAR, T0)],
        T0,
    );
    assert!(f.at(T0 + 29_000).await.is_empty(), "group_wait not over");
    let first = f.at(T0 + 30_000).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].group_key, r#"{}:{alertname="A"}"#);
    assert_eq!(first[0].reason, Reason::New);

    // A second alert joins: it waits for the group_interval tick.
    f.dispatcher.insert(
        [alert(
            &[("alertname", "A"), ("instance", "2")],
            T0 + 60_000,
            FAR,
            T0 + 60_000,
        )],
        T0 + 60_000,
    );
    assert!(f.at(T0 + 60_000).await.is_empty());
    assert!(f.at(T0 + 329_000).await.is_empty());
    let second = f.at(T0 + 330_000).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].alerts.len(), 2);

    // Nothing changes: silent until repeat_interval (4h) has passed.
    let mut now = T0 + 330_000;
    let mut repeats = Vec::new();
    while now < T0 + 330_000 + 4 * 3_600_000 + 600_000 {
        now += 300_000;
        repeats.extend(f.at(now).await);
    }
    assert_eq!(repeats.len(), 1, "one repeat after 4h");
    assert_eq!(repeats[0].reason, Reason::Repeat);
}

#[tokio::test]
async fn old_alert_skips_group_wait() {
    let f = fixture(BASIC, true);
    // Started an hour ago (e.g. after a restart): no reason to wait.
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0 - 3_600_000, FAR, T0)], T0);
    assert_eq!(f.at(T0).await.len(), 1);
}

#[tokio::test]
async fn resolve_goes_out_after_resolve_wait_not_group_interval() {
    let f = fixture(BASIC, true);
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, FAR, T0)], T0);
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    let resolved_at = T0 + 40_000;
    f.dispatcher.insert(
        [alert(&[("alertname", "A")], T0, resolved_at, resolved_at)],
        resolved_at,
    );
    assert!(f.at(resolved_at + 4_000).await.is_empty());
    let sent = f.at(resolved_at + 5_000).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, Reason::Resolved);
    assert_eq!(sent[0].status(), Status::Resolved);
    // The group is gone after its resolve.
    assert!(f.dispatcher.groups().is_empty());
}

#[tokio::test]
async fn timed_out_alert_resolves_promptly() {
    let f = fixture(BASIC, true);
    let ends = T0 + 120_000;
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, ends, T0)], T0);
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    assert!(f.at(ends + 4_000).await.is_empty());
    let sent = f.at(ends + 5_000).await;
    assert_eq!(
        sent.len(),
        1,
        "resolved by timeout, flushed after resolve_wait"
    );
    assert_eq!(sent[0].status(), Status::Resolved);
}

#[tokio::test]
async fn silenced_after_notify_still_gets_its_resolve() {
    let f = fixture(BASIC, true);
    f.dispatcher.insert(
        [alert(&[("alertname", "A"), ("team", "x")], T0, FAR, T0)],
        T0,
    );
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    f.mutes.0.lock().unwrap().push(("team".into(), "x".into()));
    // Silenced while firing: nothing new is said.
    assert!(f.at(T0 + 330_000).await.is_empty());
    let resolved_at = T0 + 400_000;
    f.dispatcher.insert(
        [alert(
            &[("alertname", "A"), ("team", "x")],
            T0,
            resolved_at,
            resolved_at,
        )],
        resolved_at,
    );
    let sent = f.at(resolved_at + 5_000).await;
    assert_eq!(sent.len(), 1, "Alertmanager would drop this resolve");
    assert_eq!(
        summary(&sent[0]),
        vec![(r#"{alertname="A", team="x"}"#.to_string(), Status::Resolved)]
    );
}

#[tokio::test]
async fn silenced_before_notify_is_never_sent() {
    let f = fixture(BASIC, true);
    f.mutes.0.lock().unwrap().push(("team".into(), "x".into()));
    f.dispatcher.insert(
        [alert(&[("alertname", "A"), ("team", "x")], T0, FAR, T0)],
        T0,
    );
    assert!(f.at(T0 + 30_000).await.is_empty());
    let resolved_at = T0 + 40_000;
    f.dispatcher.insert(
        [alert(
            &[("alertname", "A"), ("team", "x")],
            T0,
            resolved_at,
            resolved_at,
        )],
        resolved_at,
    );
    assert!(f.at(T0 + 400_000).await.is_empty());
}

#[tokio::test]
async fn escalation_notifies_at_once() {
    let f = fixture(
        r#"
receiver team { webhook { url "http://127.0.0.1:1/hook" } }
route { receiver team  group_by alertname  group_wait 30s  group_interval 5m }
"#,
        true,
    );
    f.dispatcher.insert(
        [alert(
            &[("alertname", "Lag"), ("severity", "warning")],
            T0,
            FAR,
            T0,
        )],
        T0,
    );
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    let t = T0 + 60_000;
    f.dispatcher.insert(
        [
            alert(&[("alertname", "Lag"), ("severity", "warning")], T0, t, t),
            alert(&[("alertname", "Lag"), ("severity", "critical")], t, FAR, t),
        ],
        t,
    );
    let sent = f.at(t).await;
    assert_eq!(sent.len(), 1, "no wait for group_interval");
    assert_eq!(sent[0].reason, Reason::Escalation);
    assert_eq!(
        summary(&sent[0]),
        vec![
            (
                r#"{alertname="Lag", severity="critical"}"#.to_string(),
                Status::Firing
            ),
            (
                r#"{alertname="Lag", severity="warning"}"#.to_string(),
                Status::Resolved
            ),
        ]
    );
    // De-escalation is a normal change: next tick.
    let t2 = t + 60_000;
    f.dispatcher.insert(
        [
            alert(&[("alertname", "Lag"), ("severity", "critical")], t, t2, t2),
            alert(
                &[("alertname", "Lag"), ("severity", "warning")],
                t2,
                FAR,
                t2,
            ),
        ],
        t2,
    );
    assert!(f.at(t2 + 1_000).await.len() <= 1);
}

#[tokio::test]
async fn annotation_changes_alone_do_not_renotify() {
    let f = fixture(BASIC, true);
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, FAR, T0)], T0);
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    let mut changed = (*alert(&[("alertname", "A")], T0, FAR, T0 + 60_000)).clone();
    changed.annotations = LabelSet::from_pairs([("summary", "value is now 93%")]);
    f.dispatcher.insert([Arc::new(changed)], T0 + 60_000);
    for step in 1..=10 {
        assert!(f.at(T0 + 30_000 + step * 300_000).await.is_empty());
    }
}

#[tokio::test]
async fn critical_inhibits_warning_with_equal_labels_but_not_itself() {
    let f = fixture(BASIC, true);
    let crit = alert(
        &[("alertname", "Disk"), ("severity", "critical")],
        T0,
        FAR,
        T0,
    );
    let warn = alert(
        &[("alertname", "Disk"), ("severity", "warning")],
        T0,
        FAR,
        T0,
    );
    let other = alert(
        &[("alertname", "Cpu"), ("severity", "warning")],
        T0,
        FAR,
        T0,
    );
    f.dispatcher
        .insert([crit.clone(), warn.clone(), other.clone()], T0);
    assert_eq!(
        f.dispatcher.inhibited_by(&warn.labels, T0),
        vec![crit.labels.fingerprint()]
    );
    assert!(
        f.dispatcher.inhibited_by(&other.labels, T0).is_empty(),
        "alertname differs"
    );
    assert!(f.dispatcher.inhibited_by(&crit.labels, T0).is_empty());
    let sent = f.at(T0 + 30_000).await;
    let team: Vec<_> = sent.iter().filter(|n| n.receiver == "team").collect();
    let alerts: Vec<String> = team
        .iter()
        .flat_map(|n| n.alerts.iter().map(|a| a.labels.to_string()))
        .collect();
    assert!(alerts.contains(&r#"{alertname="Cpu", severity="warning"}"#.to_string()));
    assert!(!alerts.contains(&r#"{alertname="Disk", severity="warning"}"#.to_string()));

    // An alert matching both sides cannot inhibit itself.
    let both = fixture(
        r#"
receiver r { webhook { url "http://127.0.0.1:1/hook" } }
route { receiver r }
inhibit { source team = "a"  target team = "a"  equal alertname }
"#,
        true,
    );
    let a = alert(&[("alertname", "X"), ("team", "a")], T0, FAR, T0);
    both.dispatcher.insert([a.clone()], T0);
    assert!(both.dispatcher.inhibited_by(&a.labels, T0).is_empty());
}

#[tokio::test]
async fn resolves_not_wanted_are_not_sent() {
    let f = fixture(BASIC, false);
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, FAR, T0)], T0);
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    let r = T0 + 40_000;
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, r, r)], r);
    assert!(f.at(r + 600_000).await.is_empty());
}

#[tokio::test]
async fn reload_regroups_without_repeating() {
    let f = fixture(BASIC, true);
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, FAR, T0)], T0);
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    let config = f.dispatcher.lock().config.as_ref().clone();
    f.dispatcher.reconfigure(config, T0 + 40_000);
    assert!(
        f.at(T0 + 80_000).await.is_empty(),
        "log says the receiver knows"
    );
    assert_eq!(f.dispatcher.groups().len(), 1);
}

/// While the dispatcher holds its group lock (routing a burst, committing a
/// flush), API readers still answer: they never take that lock.
#[test]
fn readers_do_not_wait_on_the_group_lock() {
    let f = fixture(BASIC, true);
    f.dispatcher.insert(
        [alert(
            &[("alertname", "A"), ("severity", "critical")],
            T0,
            FAR,
            T0,
        )],
        T0,
    );
    let dispatcher = Arc::clone(&f.dispatcher);
    let held = dispatcher.lock();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = Arc::clone(&f.dispatcher);
    std::thread::spawn(move || {
        let labels = LabelSet::from_pairs([("alertname", "A"), ("severity", "warning")]);
        let receivers = reader.receivers_for(&labels);
        let inhibited = reader.inhibited_by(&labels, T0);
        let names = reader.receiver_names();
        let _ = tx.send((receivers, inhibited.len(), names.len()));
    });
    let answer = rx.recv_timeout(std::time::Duration::from_secs(10));
    drop(held);
    let (receivers, inhibited, names) = answer.expect("readers blocked behind the group lock");
    assert_eq!(receivers, vec!["team"]);
    assert_eq!(inhibited, 1, "the critical inhibits the warning");
    assert_eq!(names, 2);
}

/// Silences are checked for every alert of a flush; that work runs without
/// the group lock, so a 100,000-alert group does not stall everyone else.
#[tokio::test]
async fn a_flush_mutes_and_dedupes_without_the_group_lock() {
    struct LockProbe {
        dispatcher: std::sync::OnceLock<std::sync::Weak<Dispatcher>>,
        checked: std::sync::atomic::AtomicUsize,
        locked: std::sync::atomic::AtomicUsize,
    }
    impl Mutes for LockProbe {
        fn silenced(&self, _labels: &LabelSet, _now: Millis) -> bool {
            if let Some(d) = self.dispatcher.get().and_then(std::sync::Weak::upgrade) {
                self.checked.fetch_add(1, Ordering::SeqCst);
                if d.state.try_lock().is_err() {
                    self.locked.fetch_add(1, Ordering::SeqCst);
                }
            }
            false
        }
        fn in_windows(&self, _names: &[String], _now: Millis) -> bool {
            false
        }
    }
    let loaded = load_sources(&[("test.rules", BASIC)]);
    let rules = loaded.rules;
    let mut receivers = Receivers::default();
    for r in &rules.receivers {
        let list: Vec<Arc<dyn Deliver>> = vec![Arc::new(Recorder {
            send_resolved: true,
        })];
        receivers.insert(r.name.clone(), list);
    }
    let probe = Arc::new(LockProbe {
        dispatcher: std::sync::OnceLock::new(),
        checked: Default::default(),
        locked: Default::default(),
    });
    let sink = Arc::new(MemorySink::default());
    let dispatcher = Dispatcher::new(
        DispatchConfig::new(&rules.notifier_config(), receivers, "http://klaxon".into()),
        Arc::clone(&sink) as Arc<dyn Sink>,
        Arc::clone(&probe) as Arc<dyn Mutes>,
        None,
        crate::vocab::time::Clock::system(),
    );
    let _ = probe.dispatcher.set(Arc::downgrade(&dispatcher));
    let instances: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    dispatcher.insert(
        instances
            .iter()
            .map(|i| alert(&[("alertname", "A"), ("instance", i)], T0, FAR, T0)),
        T0,
    );
    assert_eq!(dispatcher.flush_due(T0 + 30_000).await, 1);
    assert_eq!(probe.checked.load(Ordering::SeqCst), 500);
    assert_eq!(probe.locked.load(Ordering::SeqCst), 0);
    assert_eq!(sink.sent.lock().unwrap()[0].alerts.len(), 500);
}

/// A cluster's say on which groups this replica sends: those whose id
/// contains one of these texts.
#[derive(Default)]
struct Owns(Mutex<Vec<String>>);

impl Owns {
    fn set(&self, texts: &[&str]) {
        *self.0.lock().unwrap() = texts.iter().map(|t| t.to_string()).collect();
    }
}

impl FlushGate for Owns {
    fn owns(&self, group_id: &str) -> bool {
        self.0.lock().unwrap().iter().any(|t| group_id.contains(t))
    }
}

fn gated(config_text: &str) -> (Fixture, Arc<Owns>) {
    let gate = Arc::new(Owns::default());
    let f = fixture_gated(
        config_text,
        true,
        Some(Arc::clone(&gate) as Arc<dyn FlushGate>),
    );
    (f, gate)
}

#[tokio::test]
async fn a_group_another_replica_owns_keeps_its_alerts_and_sends_nothing() {
    let (f, _gate) = gated(BASIC);
    let a = alert(&[("alertname", "A")], T0, FAR, T0);
    f.dispatcher.insert([a.clone()], T0);
    for step in 0..=20 {
        assert!(f.at(T0 + step * 60_000).await.is_empty(), "minute {step}");
    }
    let groups = f.dispatcher.groups();
    assert_eq!(groups.len(), 1, "kept for a takeover");
    assert_eq!(groups[0].fingerprints, vec![a.labels.fingerprint()]);

    // Resolved: kept while its owner may still send the resolve (one
    // group_interval, 5m), then forgotten with its group.
    let resolved_at = T0 + 1_500_000;
    f.dispatcher.insert(
        [alert(&[("alertname", "A")], T0, resolved_at, resolved_at)],
        resolved_at,
    );
    assert!(f.at(resolved_at + 5_000).await.is_empty());
    assert_eq!(f.dispatcher.groups().len(), 1);
    assert!(f.at(resolved_at + 299_000).await.is_empty());
    assert_eq!(f.dispatcher.groups().len(), 1);
    assert!(f.at(resolved_at + 310_000).await.is_empty());
    assert!(f.dispatcher.groups().is_empty(), "long resolved: dropped");
}

#[tokio::test]
async fn a_group_taken_over_flushes_at_once_what_the_log_does_not_know() {
    let (f, gate) = gated(BASIC);
    let a = alert(&[("alertname", "A")], T0, FAR, T0);
    let b = alert(&[("alertname", "B")], T0, FAR, T0);
    f.dispatcher.insert([a.clone(), b.clone()], T0);
    assert!(
        f.at(T0 + 30_000).await.is_empty(),
        "owned by another replica"
    );
    // That replica notified B (the shared log says so), then died.
    f.sink.log.lock().unwrap().insert(
        (r#"{}:{alertname="B"}"#.to_string(), "team".to_string(), 0),
        LogEntry::new(vec![b.labels.fingerprint()], Vec::new(), T0 + 30_000),
    );
    gate.set(&["alertname"]);
    let t = T0 + 45_000;
    f.dispatcher.ownership_changed(t);
    let sent = f.at(t).await;
    assert_eq!(sent.len(), 1, "B was told already: {sent:?}");
    assert_eq!(sent[0].group_id, r#"{}:{alertname="A"}"#);
    assert_eq!(sent[0].reason, Reason::New);

    // A group owned all along is not hurried: it still waits its group_wait.
    let c = T0 + 60_000;
    f.dispatcher
        .insert([alert(&[("alertname", "C")], c, FAR, c)], c);
    f.dispatcher.ownership_changed(c + 1_000);
    assert!(f.at(c + 1_000).await.is_empty());
    assert_eq!(f.at(c + 30_000).await.len(), 1);
}

#[tokio::test]
async fn a_group_given_away_stops_sending_until_it_comes_back() {
    let (f, gate) = gated(BASIC);
    gate.set(&["alertname"]);
    f.dispatcher
        .insert([alert(&[("alertname", "A")], T0, FAR, T0)], T0);
    assert_eq!(f.at(T0 + 30_000).await.len(), 1);
    gate.set(&[]);
    f.dispatcher.ownership_changed(T0 + 40_000);
    let later = T0 + 60_000;
    f.dispatcher.insert(
        [alert(
            &[("alertname", "A"), ("instance", "2")],
            later,
            FAR,
            later,
        )],
        later,
    );
    assert!(f.at(T0 + 330_000).await.is_empty(), "another replica's now");
    gate.set(&["alertname"]);
    f.dispatcher.ownership_changed(T0 + 400_000);
    let sent = f.at(T0 + 400_000).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].alerts.len(), 2);
}
