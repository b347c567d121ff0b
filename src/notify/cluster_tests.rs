//! The notifier in a cluster, against a fake of the cluster (claims and
//! the shared log in memory) and a real store: claims come before the
//! outbox, a refused claim sends nothing, a takeover asks the shared log,
//! and a clustered notifier hands over what it held at start and reports
//! what it settles.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::*;
use crate::model::load::load_sources;
use crate::notify::alert::{AlertSource, NotifyAlert};
use crate::notify::dispatch::{DispatchConfig, Dispatcher, Mutes};
use crate::notify::notification::{NotifiedAlert, Reason, Status};
use crate::notify::outbox::{HANDED_TO_CLUSTER, HistoryQuery, HistoryStatus, Outbox};
use crate::notify::receivers::{Deliver, Delivered, DeliveryError, Receivers};
use crate::notify::silence::Silence;
use crate::notify::{Notifier, NotifierSettings, NotifyConfig, OutboxSink};
use crate::store::Store;
use crate::vocab::labels::LabelSet;
use crate::vocab::time::{Clock, Millis};

type LaneKey = (String, String, usize);

/// The cluster as the notifier sees it, in memory.
#[derive(Default)]
struct FakeCluster {
    owned: AtomicBool,
    refuse_claims: AtomicBool,
    log: Mutex<HashMap<LaneKey, LogEntry>>,
    /// Ids of each claim asked for, refused or not.
    claims: Mutex<Vec<Vec<String>>>,
    settled: Mutex<Vec<(String, bool)>>,
}

impl FlushGate for FakeCluster {
    fn owns(&self, _group_id: &str) -> bool {
        self.owned.load(Ordering::SeqCst)
    }
}

impl SharedLog for FakeCluster {
    fn log_entry(&self, group_id: &str, receiver: &str, integration: usize) -> Option<LogEntry> {
        let key = (group_id.to_string(), receiver.to_string(), integration);
        self.log.lock().unwrap().get(&key).cloned()
    }

    fn claim(&self, items: &[(Notification, LogEntry)]) -> BoxFuture<'_, Result<(), String>> {
        let ids = items.iter().map(|(n, _)| n.id.clone()).collect();
        self.claims.lock().unwrap().push(ids);
        let result = if self.refuse_claims.load(Ordering::SeqCst) {
            Err("fenced: the shard moved to another replica".to_string())
        } else {
            let mut log = self.log.lock().unwrap();
            for (n, entry) in items {
                let key = (n.group_id.clone(), n.receiver.clone(), n.integration);
                log.insert(key, entry.clone());
            }
            Ok(())
        };
        Box::pin(async move { result })
    }
}

impl DeliveryListener for FakeCluster {
    fn settled(&self, notification_id: &str, delivered: bool) {
        self.settled
            .lock()
            .unwrap()
            .push((notification_id.to_string(), delivered));
    }
}

impl SilenceReplica for FakeCluster {
    fn publish(&self, _changed: &[Silence]) {}
}

impl FakeCluster {
    fn new(owned: bool) -> Arc<FakeCluster> {
        let cluster = FakeCluster::default();
        cluster.owned.store(owned, Ordering::SeqCst);
        Arc::new(cluster)
    }

    fn hooks(self: &Arc<Self>) -> ClusterHooks {
        ClusterHooks {
            gate: Arc::clone(self) as Arc<dyn FlushGate>,
            log: Arc::clone(self) as Arc<dyn SharedLog>,
            delivery: Arc::clone(self) as Arc<dyn DeliveryListener>,
            silences: Arc::clone(self) as Arc<dyn SilenceReplica>,
        }
    }

    fn claimed(&self) -> Vec<Vec<String>> {
        self.claims.lock().unwrap().clone()
    }
}

/// A receiver integration that accepts everything and records the ids.
#[derive(Debug, Default)]
struct Accepts(Mutex<Vec<String>>);

impl Deliver for Accepts {
    fn kind(&self) -> &'static str {
        "webhook"
    }
    fn send_resolved(&self) -> bool {
        true
    }
    fn max_alerts(&self) -> usize {
        0
    }
    fn send<'a>(
        &'a self,
        n: &'a Notification,
        _thread: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        self.0.lock().unwrap().push(n.id.clone());
        Box::pin(async { Ok(Delivered::default()) })
    }
}

struct NoMutes;

impl Mutes for NoMutes {
    fn silenced(&self, _labels: &LabelSet, _now: Millis) -> bool {
        false
    }
    fn in_windows(&self, _names: &[String], _now: Millis) -> bool {
        false
    }
}

const RULES: &str = r#"
receiver team { webhook { url "http://127.0.0.1:1/hook" } }
route { receiver team  group_by alertname  group_wait 30s  group_interval 5m }
"#;

const T0: Millis = 1_700_000_000_000;

fn receivers(accepts: &Arc<Accepts>) -> Receivers {
    let mut receivers = Receivers::default();
    receivers.insert("team", vec![Arc::clone(accepts) as Arc<dyn Deliver>]);
    receivers
}

fn alert(name: &str, starts_at: Millis) -> NotifyAlert {
    NotifyAlert {
        labels: LabelSet::from_pairs([("alertname", name)]),
        annotations: LabelSet::default(),
        starts_at,
        ends_at: starts_at + 86_400_000,
        generator_url: "".into(),
        updated_at: starts_at,
        timeout: false,
        source: AlertSource::Api,
    }
}

fn pending(outbox: &Outbox) -> Vec<String> {
    outbox
        .history(&HistoryQuery {
            status: Some(HistoryStatus::Pending),
            limit: usize::MAX,
            ..HistoryQuery::default()
        })
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// A dispatcher in front of a real outbox (no delivery loop), through the
/// notifier's own sink with the fake cluster's shared log.
fn clustered_dispatcher(
    dir: &std::path::Path,
    cluster: &Arc<FakeCluster>,
) -> (Arc<Dispatcher>, Arc<Outbox>) {
    let loaded = load_sources(&[("test.rules", RULES)]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let accepts = Arc::new(Accepts::default());
    let store = Arc::new(Store::open(dir).unwrap());
    let outbox = Outbox::open(store, receivers(&accepts), Default::default()).unwrap();
    let sink = OutboxSink {
        outbox: Arc::clone(&outbox),
        shared: Some(Arc::clone(cluster) as Arc<dyn SharedLog>),
    };
    let dispatcher = Dispatcher::new(
        DispatchConfig::new(
            &loaded.rules.notifier_config(),
            receivers(&accepts),
            "http://klaxon".into(),
        ),
        Arc::new(sink),
        Arc::new(NoMutes),
        Some(Arc::clone(cluster) as Arc<dyn FlushGate>),
        Clock::system(),
    );
    (dispatcher, outbox)
}

#[tokio::test]
async fn a_refused_claim_commits_nothing_and_the_flush_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::new(true);
    let (dispatcher, outbox) = clustered_dispatcher(dir.path(), &cluster);
    dispatcher.insert([Arc::new(alert("A", T0))], T0);

    cluster.refuse_claims.store(true, Ordering::SeqCst);
    assert_eq!(dispatcher.flush_due(T0 + 30_000).await, 0);
    assert_eq!(cluster.claimed().len(), 1, "claimed first");
    assert!(
        pending(&outbox).is_empty(),
        "nothing committed, so nothing sent"
    );
    assert!(
        outbox
            .log_entry(r#"{}:{alertname="A"}"#, "team", 0)
            .is_none()
    );

    cluster.refuse_claims.store(false, Ordering::SeqCst);
    assert_eq!(dispatcher.flush_due(T0 + 34_000).await, 0);
    assert_eq!(
        dispatcher.flush_due(T0 + 35_000).await,
        1,
        "retried after 5s"
    );
    let claims = cluster.claimed();
    assert_eq!(claims.len(), 2);
    assert_eq!(
        pending(&outbox),
        claims[1],
        "the claimed notification, same id"
    );
    // Once claimed, the shared log answers for the lane: nothing repeats.
    assert_eq!(dispatcher.flush_due(T0 + 400_000).await, 0);
}

#[tokio::test]
async fn a_takeover_asks_the_shared_log_not_the_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::new(false);
    let (dispatcher, outbox) = clustered_dispatcher(dir.path(), &cluster);
    let b = alert("B", T0);
    dispatcher.insert([Arc::new(alert("A", T0)), Arc::new(b.clone())], T0);
    assert_eq!(dispatcher.flush_due(T0 + 30_000).await, 0);
    assert!(cluster.claimed().is_empty(), "another replica's groups");

    // That replica claimed B's notification, then died; this outbox never
    // saw it.
    cluster.log.lock().unwrap().insert(
        (r#"{}:{alertname="B"}"#.to_string(), "team".to_string(), 0),
        LogEntry::new(vec![b.labels.fingerprint()], Vec::new(), T0 + 30_000),
    );
    cluster.owned.store(true, Ordering::SeqCst);
    dispatcher.ownership_changed(T0 + 40_000);
    assert_eq!(dispatcher.flush_due(T0 + 40_000).await, 1);
    let claims = cluster.claimed();
    assert_eq!(claims.len(), 1);
    assert_eq!(pending(&outbox), claims[0]);
    let history = outbox.history(&HistoryQuery::default());
    assert_eq!(
        history[0].group_id, r#"{}:{alertname="A"}"#,
        "only A is news"
    );
}

fn left_over(id: &str) -> (Notification, LogEntry) {
    let labels = LabelSet::from_pairs([("alertname", "Old")]);
    let notification = Notification {
        id: id.to_string(),
        group_key: r#"{}:{alertname="Old"}"#.to_string(),
        group_id: r#"{}:{alertname="Old"}"#.to_string(),
        receiver: "team".to_string(),
        integration: 0,
        group_labels: labels.clone(),
        alerts: vec![NotifiedAlert {
            fingerprint: labels.fingerprint(),
            labels: labels.clone(),
            annotations: LabelSet::default(),
            starts_at: T0 - 60_000,
            ends_at: 0,
            generator_url: String::new(),
            status: Status::Firing,
        }],
        truncated_alerts: 0,
        reason: Reason::New,
        created_at: T0 - 30_000,
        external_url: "http://klaxon".to_string(),
    };
    let entry = LogEntry::new(vec![labels.fingerprint()], Vec::new(), T0 - 30_000);
    (notification, entry)
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clustered_notifier_hands_over_what_it_held_and_reports_what_it_settles() {
    let dir = tempfile::tempdir().unwrap();
    let accepts = Arc::new(Accepts::default());
    // A previous run left a committed notification unsent.
    {
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let outbox = Outbox::open(store, receivers(&accepts), Default::default()).unwrap();
        outbox.enqueue(vec![left_over("left-1")]).await.unwrap();
    }
    let store = loop {
        match Store::open(dir.path()) {
            Ok(store) => break Arc::new(store),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let loaded = load_sources(&[("test.rules", RULES)]);
    let config = NotifyConfig::from_parts(
        &loaded.rules.notifier_config(),
        receivers(&accepts),
        Default::default(),
        "http://klaxon",
        RULES.to_string(),
    );
    let (clock, _hand) = Clock::manual(T0);
    let cluster = FakeCluster::new(true);
    let settings = NotifierSettings {
        resolve_timeout_ms: 300_000,
        alert_retention_ms: 3_600_000,
        give_up_after_ms: 3_600_000,
        silence_limits: Default::default(),
        clock,
        cluster: Some(cluster.hooks()),
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let notifier = Notifier::start(store, config, &settings, shutdown)
        .await
        .unwrap();

    // Not sent: the cluster holds its claim and its shard's owner adopts it.
    let handed = notifier.outbox.history(&HistoryQuery::default());
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0].id, "left-1");
    assert_eq!(handed[0].status, HistoryStatus::Failed);
    assert_eq!(handed[0].detail.as_deref(), Some(HANDED_TO_CLUSTER));

    // An alert older than group_wait is flushed at once: claimed, sent,
    // and reported settled under the one id.
    notifier
        .alerts
        .put(vec![alert("A", T0 - 600_000)])
        .await
        .unwrap();
    wait_until("the new notification is settled", || {
        !cluster.settled.lock().unwrap().is_empty()
    })
    .await;
    let claimed = cluster.claimed();
    assert_eq!(claimed.len(), 1);
    assert_eq!(*accepts.0.lock().unwrap(), claimed[0]);
    assert_eq!(
        *cluster.settled.lock().unwrap(),
        vec![(claimed[0][0].clone(), true)]
    );

    // This replica owns the shard now: it adopts the handed-over one, with
    // its id, once.
    assert_eq!(notifier.adopt(vec![left_over("left-1")]).await.unwrap(), 1);
    wait_until("the adopted notification is settled", || {
        cluster.settled.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        cluster.settled.lock().unwrap()[1],
        ("left-1".to_string(), true)
    );
    assert_eq!(notifier.adopt(vec![left_over("left-1")]).await.unwrap(), 0);
    let received = accepts.0.lock().unwrap().clone();
    assert_eq!(received.iter().filter(|id| *id == "left-1").count(), 1);

    stop.send(true).unwrap();
    notifier.join(Duration::from_secs(5)).await;
}
