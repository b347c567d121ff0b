//! The engine under a group ownership that answers from a script, against a
//! stub Prometheus query API on loopback that records the evaluation time of
//! every query: which rounds a replica evaluates, skips and takes over, and
//! the alert state it keeps. The clock is manual and stands still; the engine
//! waits in real time for `slot - now`, so short intervals step the slots.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, watch};

use super::*;
use crate::eval::metrics::AlertLabels;
use crate::eval::ownership::{Admission, BoxFuture, EveryGroup, GroupKey, GroupOwnership};
use crate::eval::persist::StateChange;
use crate::eval::rule::AlertingState;
use crate::eval::templating::SharedTexts;
use crate::source::prometheus::PrometheusSource;
use crate::source::{HttpSettings, Sample, Source};
use crate::vocab::time::ClockHand;

/// 2030-01-01T00:00:00Z: where the manual clock starts (then moved to a slot).
const BASE: Millis = 1_893_456_000_000;
const HOUR: Millis = 3_600_000;
const WAIT: Duration = Duration::from_secs(10);
/// An interval the test waits through in real time; it is also the query
/// timeout, so long enough for a loopback query on a busy machine.
const SHORT: Millis = 1_000;

fn rule_file(for_: &str) -> String {
    format!(
        "groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: {for_}
"
    )
}

fn group(text: &str, interval: Millis) -> GroupRuntime {
    let loaded = crate::model::load::load_sources(&[("g.yml", text)]);
    assert!(!loaded.has_errors());
    let g = &loaded.rules.groups[0];
    let mut texts = SharedTexts::default();
    let rules = g
        .rules
        .iter()
        .map(|r| CompiledRule::compile(r, g, "g.yml", &mut texts))
        .collect();
    GroupRuntime::new(
        g.name.as_str().into(),
        "g.yml".into(),
        Duration::from_millis(interval as u64),
        0,
        rules,
    )
}

/// The group's first slot on the manual clock, and its alerting rule.
fn first_slot(for_: &str, interval: Millis) -> (Millis, CompiledRule) {
    let g = group(&rule_file(for_), interval);
    (
        next_slot(BASE, interval, g.offset()),
        g.rules[0].rule.clone(),
    )
}

/// What a previous owner would have stored for `up{job="db"} == 0` seen
/// since `active_at`: the alert, pending.
fn stored_pending(rule: &CompiledRule, active_at: Millis) -> BTreeMap<String, Vec<(u64, Alert)>> {
    let mut st = AlertingState::default();
    let spec = rule.alert.clone().expect("an alerting rule");
    let down = Sample {
        labels: [("__name__", "up"), ("job", "db")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value: 0.0,
    };
    st.eval(rule, &spec, &[down], active_at, &TemplateEnv::default());
    let alerts = st.active.iter().map(|(fp, a)| (*fp, a.to_maps())).collect();
    BTreeMap::from([(rule.key.clone(), alerts)])
}

/// A Prometheus query API answering `up{job="db"} 0` to every query, and
/// the evaluation time (`time`, ms) of each query it was sent.
struct StubPrometheus {
    url: String,
    times: Arc<Mutex<Vec<Millis>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StubPrometheus {
    async fn start() -> StubPrometheus {
        let times = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&times);
        let app = axum::Router::new().route(
            "/api/v1/query",
            axum::routing::get(
                move |axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let time = q.get("time").cloned().unwrap_or_default();
                        let secs: f64 = time.parse().unwrap_or(f64::NAN);
                        seen.lock().unwrap().push((secs * 1000.0).round() as Millis);
                        axum::Json(serde_json::json!({
                            "status": "success",
                            "data": {"resultType": "vector", "result": [
                                {"metric": {"__name__": "up", "job": "db"}, "value": [secs, "0"]}
                            ]}
                        }))
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StubPrometheus { url, times, task }
    }

    fn times(&self) -> Vec<Millis> {
        self.times.lock().unwrap().clone()
    }
}

impl Drop for StubPrometheus {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers admissions from a script (then `Evaluate`, or `Skip` once
/// [`Scripted::skip_after_script`] is set) and reports every call.
struct Scripted {
    script: Mutex<VecDeque<Admission>>,
    skip_after_script: AtomicBool,
    admits: Mutex<Vec<Millis>>,
    done: mpsc::UnboundedSender<Millis>,
    changes: watch::Sender<u64>,
}

impl Scripted {
    fn new(script: Vec<Admission>) -> (Arc<Scripted>, mpsc::UnboundedReceiver<Millis>) {
        let (done, rounds) = mpsc::unbounded_channel();
        let scripted = Scripted {
            script: Mutex::new(script.into()),
            skip_after_script: AtomicBool::new(false),
            admits: Mutex::new(Vec::new()),
            done,
            changes: watch::channel(0).0,
        };
        (Arc::new(scripted), rounds)
    }

    fn admits(&self) -> Vec<Millis> {
        self.admits.lock().unwrap().clone()
    }

    fn then(&self, admission: Admission) {
        self.script.lock().unwrap().push_back(admission);
    }

    fn bump(&self) {
        self.changes.send_modify(|v| *v += 1);
    }
}

impl GroupOwnership for Scripted {
    fn admit<'a>(&'a self, group: &'a GroupKey, slot: Millis) -> BoxFuture<'a, Admission> {
        assert_eq!(
            group,
            &GroupKey {
                file: "g.yml".into(),
                name: "g".into()
            }
        );
        self.admits.lock().unwrap().push(slot);
        let next = self.script.lock().unwrap().pop_front();
        let answer = next.unwrap_or(if self.skip_after_script.load(Ordering::SeqCst) {
            Admission::Skip
        } else {
            Admission::Evaluate
        });
        Box::pin(std::future::ready(answer))
    }

    fn round_done(&self, _group: &GroupKey, slot: Millis) {
        let _ = self.done.send(slot);
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// Every commit the engine made.
#[derive(Default)]
struct Commits(Mutex<Vec<StateChange>>);

impl StateStore for Commits {
    fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
        self.0.lock().unwrap().extend_from_slice(changes);
        Ok(())
    }
}

struct Running {
    engine: Arc<Engine>,
    registry: Registry,
    commits: Arc<Commits>,
    events: mpsc::UnboundedReceiver<AlertBatch>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The first slot of the group: the clock stands there at the start.
    slot: Millis,
    hand: ClockHand,
    prometheus: StubPrometheus,
}

async fn start(text: &str, interval: Millis, ownership: Arc<dyn GroupOwnership>) -> Running {
    // The binary installs it at start; the datasource client needs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let prometheus = StubPrometheus::start().await;
    let group = group(text, interval);
    let slot = next_slot(BASE, interval, group.offset());
    let (clock, hand) = Clock::manual(slot);
    let source = PrometheusSource::new("default", &HttpSettings::for_url(&prometheus.url)).unwrap();
    let mut registry = Registry::default();
    let metrics = Arc::new(EvalMetrics::register(&mut registry));
    let commits = Arc::new(Commits::default());
    let (events_tx, events) = mpsc::unbounded_channel();
    let engine = Arc::new(Engine::new(
        vec![group],
        HashMap::from([("default".to_string(), Source::Prometheus(source))]),
        EngineSettings {
            resend_delay: Duration::from_secs(60),
            max_concurrent_queries: 4,
            env: TemplateEnv::default(),
            generator_base: "http://klaxon.test".into(),
            clock,
        },
        metrics,
        Arc::clone(&commits) as Arc<dyn StateStore>,
        events_tx,
        ownership,
    ));
    let (stop, stop_rx) = watch::channel(false);
    let tasks = engine.start(stop_rx);
    Running {
        engine,
        registry,
        commits,
        events,
        stop,
        tasks,
        slot,
        hand,
        prometheus,
    }
}

impl Running {
    fn queries(&self) -> Vec<Millis> {
        self.prometheus.times()
    }

    fn alerts(&self) -> Vec<Alert<LabelPairs>> {
        self.engine.active_alerts()
    }

    fn pending_gauge(&self) -> i64 {
        self.engine
            .metrics
            .alerts
            .get_or_create(&AlertLabels {
                state: "pending".into(),
                severity: String::new(),
            })
            .get()
    }

    fn skipped(&self) -> u64 {
        self.engine
            .metrics
            .group_skipped
            .get_or_create(&GroupLabel { group: "g".into() })
            .get()
    }

    fn last_evaluation(&self) -> Option<Millis> {
        let mut last = None;
        self.engine.for_each_group_status(&mut |g| {
            if g.name == "g" {
                last = g.rules[0].last_evaluation;
            }
        });
        last
    }

    /// Stops the engine; its tasks must end at once, whatever they wait for.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .expect("a group task ends promptly on stop")
                .unwrap();
        }
    }
}

async fn next_round(rounds: &mut mpsc::UnboundedReceiver<Millis>) -> Millis {
    tokio::time::timeout(WAIT, rounds.recv())
        .await
        .expect("a round within the wait")
        .expect("the ownership is alive")
}

async fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !ready() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_skipped_group_is_not_queried_and_drops_its_alerts_and_their_metrics() {
    let (ownership, mut rounds) = Scripted::new(vec![Admission::Evaluate, Admission::Skip]);
    ownership.skip_after_script.store(true, Ordering::SeqCst);
    let r = start(&rule_file("1h"), SHORT, ownership.clone()).await;
    let s = r.slot;
    assert_eq!(next_round(&mut rounds).await, s);
    assert_eq!(r.queries(), [s]);
    assert_eq!(r.alerts().len(), 1, "the round made a pending alert");
    assert_eq!(r.pending_gauge(), 1);
    let committed = r.commits.0.lock().unwrap().len();
    assert_eq!(committed, 1, "the new pending alert was committed");

    wait_until("the next slot is skipped", || r.skipped() >= 1).await;
    assert_eq!(ownership.admits()[..2], [s, s + SHORT]);
    assert_eq!(r.queries(), [s], "a skipped round sends no query");
    assert!(
        r.alerts().is_empty(),
        "the skipped group's alerts are dropped"
    );
    assert_eq!(r.pending_gauge(), 0, "klaxon_alerts no longer counts them");
    assert_eq!(
        r.commits.0.lock().unwrap().len(),
        committed,
        "dropping is local: the stored state is the owner's"
    );
    assert_eq!(
        r.last_evaluation(),
        Some(s),
        "the status keeps the last round"
    );
    assert!(rounds.try_recv().is_err(), "no round was evaluated");
    r.stop().await;
}

#[tokio::test]
async fn a_takeover_keeps_pending_alerts_active_at_and_fires_when_for_elapses() {
    let (ownership, mut rounds) = Scripted::new(Vec::new());
    // The group's alert has been pending for 1.5s of a 2s `for`.
    let (s, rule) = first_slot("2s", SHORT);
    ownership.then(Admission::TakeOver {
        stored: stored_pending(&rule, s - 1_500),
        last_round: None,
    });
    let mut r = start(&rule_file("2s"), SHORT, ownership.clone()).await;
    assert_eq!(r.slot, s);
    assert_eq!(next_round(&mut rounds).await, s);
    let alerts = r.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].state, AlertState::Pending);
    assert_eq!(alerts[0].active_at, s - 1_500, "activeAt is the stored one");
    assert_eq!(r.pending_gauge(), 1);

    assert_eq!(next_round(&mut rounds).await, s + SHORT);
    let alerts = r.alerts();
    assert_eq!(
        alerts[0].state,
        AlertState::Firing,
        "`for` was not restarted"
    );
    assert_eq!(alerts[0].active_at, s - 1_500);
    assert_eq!(alerts[0].fired_at, Some(s + SHORT));
    assert_eq!(r.queries(), [s, s + SHORT]);
    let sent = r.events.try_recv().expect("the firing alert is sent");
    assert_eq!(sent.alerts[0].starts_at, s + SHORT);
    r.stop().await;
}

#[tokio::test]
async fn a_takeover_after_a_dead_owner_evaluates_at_once() {
    let (ownership, mut rounds) = Scripted::new(vec![Admission::TakeOver {
        stored: BTreeMap::new(),
        last_round: None,
    }]);
    let r = start(&rule_file("1h"), HOUR, ownership.clone()).await;
    let s = r.slot;
    assert_eq!(next_round(&mut rounds).await, s);
    assert_eq!(r.queries(), [s]);
    // Owned now: the next round waits for its slot, an hour ahead.
    r.stop().await;
    assert_eq!(ownership.admits(), [s]);
}

#[tokio::test]
async fn a_handover_at_this_slot_waits_for_the_next_one_without_asking_again() {
    let (ownership, mut rounds) = Scripted::new(Vec::new());
    let (s, rule) = first_slot("1h", SHORT);
    ownership.then(Admission::TakeOver {
        stored: stored_pending(&rule, s - SHORT),
        last_round: Some(s),
    });
    let r = start(&rule_file("1h"), SHORT, ownership.clone()).await;
    assert_eq!(r.slot, s);
    // Loaded at once, evaluated only at the next slot.
    wait_until("the stored alert is loaded", || r.alerts().len() == 1).await;
    assert_eq!(
        r.queries(),
        [] as [Millis; 0],
        "the old owner evaluated this slot"
    );
    assert_eq!(next_round(&mut rounds).await, s + SHORT);
    assert_eq!(r.queries(), [s + SHORT]);
    assert_eq!(
        ownership.admits(),
        [s],
        "the takeover admitted the next slot"
    );
    assert_eq!(r.alerts()[0].active_at, s - SHORT);
    r.stop().await;
}

#[tokio::test]
async fn a_handover_after_an_earlier_round_evaluates_this_slot() {
    let (ownership, mut rounds) = Scripted::new(Vec::new());
    let (s, _) = first_slot("1h", HOUR);
    ownership.then(Admission::TakeOver {
        stored: BTreeMap::new(),
        last_round: Some(s - HOUR),
    });
    let r = start(&rule_file("1h"), HOUR, ownership.clone()).await;
    assert_eq!(next_round(&mut rounds).await, s);
    assert_eq!(r.queries(), [s]);
    r.stop().await;
}

#[tokio::test]
async fn a_skipping_group_asks_again_when_ownership_changes_and_takes_over_at_once() {
    let (ownership, mut rounds) = Scripted::new(vec![Admission::Skip, Admission::Skip]);
    let r = start(&rule_file("1h"), HOUR, ownership.clone()).await;
    let s = r.slot;
    wait_until("the first slot is skipped", || r.skipped() == 1).await;

    r.hand.set(s + 5_000);
    ownership.bump();
    wait_until("asked again on the change", || {
        ownership.admits().len() == 2
    })
    .await;
    assert_eq!(ownership.admits(), [s, s + 5_000]);

    let stored = stored_pending(&r.engine.groups[0].rules[0].rule, s - 60_000);
    ownership.then(Admission::TakeOver {
        stored,
        last_round: None,
    });
    r.hand.set(s + 9_000);
    ownership.bump();
    assert_eq!(
        next_round(&mut rounds).await,
        s + 9_000,
        "evaluated at once"
    );
    assert_eq!(r.queries(), [s + 9_000]);
    assert_eq!(r.alerts()[0].active_at, s - 60_000);
    assert_eq!(r.skipped(), 1, "asking again is not a skipped round");

    // Evaluating now: changes no longer wake the group before its slot.
    ownership.bump();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ownership.admits().len(), 3);
    r.stop().await;
}

#[tokio::test]
async fn every_group_evaluates_every_slot_and_shows_no_skip_series() {
    let r = start(&rule_file("1h"), SHORT, Arc::new(EveryGroup)).await;
    let s = r.slot;
    wait_until("two rounds", || r.queries().len() >= 2).await;
    assert_eq!(r.queries()[..2], [s, s + SHORT]);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &r.registry).unwrap();
    assert!(
        !text.contains("klaxon_group_rounds_skipped_total{"),
        "a single node has no skipped-round series:\n{text}"
    );
    assert_eq!(
        r.engine.group_rule_keys(),
        [(
            GroupKey {
                file: "g.yml".into(),
                name: "g".into()
            },
            vec![r.engine.groups[0].rules[0].rule.key.clone()]
        )]
    );
    r.stop().await;
}
