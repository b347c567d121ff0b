//! The glue between the parts `klaxon serve` runs: the store as the
//! evaluator's state store, the engine and reloads as the API's
//! [`crate::api::Backend`], the notifier as the Alertmanager API's
//! [`crate::api::alertmanager::NotifyViews`]. The parts below do not know
//! the API; only the wiring knows both.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot};

use crate::api::alertmanager::{AlertmanagerApi, AlertmanagerApiOptions, GroupView, NotifyViews};
use crate::eval::engine::{Engine, StateStore};
use crate::eval::persist::StateChange;
use crate::eval::unsaved::KeepUnsaved;
use crate::notify::Notifier;
use crate::store::Store;
use crate::vocab::labels::{Fingerprint, LabelSet};

use super::NotifyOptions;
use super::options::millis;

/// The state store seen by the evaluator.
pub(super) struct StoreAdapter(pub(super) Arc<Store>);

impl StateStore for StoreAdapter {
    fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
        crate::eval::persist::commit(&self.0, changes).map_err(|e| e.to_string())
    }
}

/// Where the evaluator's state goes: the local store, or etcd in a cluster.
pub(super) enum StateBackend {
    /// Alone: the redb file.
    Local(StoreAdapter),
    /// A cluster replica: etcd, fenced on each group's claim.
    Cluster(super::cluster::ClusterStateStore),
}

impl StateStore for StateBackend {
    fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
        match self {
            StateBackend::Local(store) => store.commit(changes),
            StateBackend::Cluster(store) => store.commit(changes),
        }
    }
}

/// One for the process (engines come and go with reloads), so transitions
/// a full disk (or an unreachable etcd) refused survive a reload too.
pub(super) type EvalStateStore = KeepUnsaved<StateBackend>;

/// How the main loop answers one reload asked for over the API.
pub(super) type ReloadReply = oneshot::Sender<Result<String, Vec<String>>>;

/// What the API reads: the current engine, readiness, and a way to ask the
/// main loop for a reload.
pub(super) struct ServeBackend {
    engine: RwLock<Option<Arc<Engine>>>,
    ready: AtomicBool,
    reload_tx: mpsc::Sender<ReloadReply>,
    /// `/-/ready` reports its problems (a full disk).
    store: Arc<Store>,
    /// In a cluster: lists only the groups this replica evaluates, and
    /// asks the others for theirs.
    cluster: Option<Arc<super::cluster::ClusterWiring>>,
}

impl ServeBackend {
    /// Serves `engine`, not ready yet.
    pub(super) fn new(
        engine: Arc<Engine>,
        reload_tx: mpsc::Sender<ReloadReply>,
        store: Arc<Store>,
        cluster: Option<Arc<super::cluster::ClusterWiring>>,
    ) -> ServeBackend {
        ServeBackend {
            engine: RwLock::new(Some(engine)),
            ready: AtomicBool::new(false),
            reload_tx,
            store,
            cluster,
        }
    }

    /// The engine running now (none before the first start).
    fn current(&self) -> Option<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Swaps the engine the API shows (none once stopping).
    pub(super) fn set_engine(&self, engine: Option<Arc<Engine>>) {
        *self.engine.write().unwrap_or_else(|e| e.into_inner()) = engine;
    }

    /// State is restored: `/-/ready` answers ready from now on.
    pub(super) fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }
}

impl crate::api::Backend for ServeBackend {
    fn for_each_group(&self, f: &mut dyn FnMut(crate::eval::status::GroupStatus)) {
        if let Some(engine) = self.current() {
            engine.for_each_group_status(f);
        }
    }

    fn evaluates_here(&self, file: &str, name: &str) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|wiring| wiring.evaluates_here(file, name))
    }

    fn peer_answers(
        &self,
        path_and_query: String,
    ) -> crate::api::BoxFuture<'static, Vec<serde_json::Value>> {
        match &self.cluster {
            None => Box::pin(async { Vec::new() }),
            Some(wiring) => {
                let wiring = Arc::clone(wiring);
                Box::pin(async move { wiring.peer_answers(&path_and_query).await })
            }
        }
    }

    fn alerts(&self) -> Vec<crate::eval::alert::Alert<crate::eval::alert::LabelPairs>> {
        self.current()
            .map(|e| e.active_alerts())
            .unwrap_or_default()
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn unready_reason(&self) -> Option<String> {
        self.store.problem().map(|problem| problem.to_string())
    }

    fn reload(&self) -> crate::api::BoxFuture<'static, Result<String, Vec<String>>> {
        let tx = self.reload_tx.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            if tx.send(reply).await.is_err() {
                return Err(vec!["klaxon is shutting down".into()]);
            }
            answer
                .await
                .unwrap_or_else(|_| Err(vec!["klaxon is shutting down".into()]))
        })
    }
}

/// The dispatcher and configuration as the Alertmanager API sees them.
struct NotifierViews(Arc<Notifier>);

impl NotifyViews for NotifierViews {
    fn groups(&self) -> Vec<GroupView> {
        self.0
            .dispatcher
            .groups()
            .into_iter()
            .map(|g| GroupView {
                receiver: g.receiver,
                labels: g.labels,
                fingerprints: g.fingerprints,
            })
            .collect()
    }

    fn inhibited_by(&self, labels: &LabelSet) -> Vec<Fingerprint> {
        self.0.dispatcher.inhibited_by(labels, self.0.clock().now())
    }

    fn receivers_for(&self, labels: &LabelSet) -> Vec<String> {
        self.0.dispatcher.receivers_for(labels)
    }

    fn config_text(&self) -> String {
        self.0.config_text()
    }

    fn receiver_names(&self) -> Vec<String> {
        self.0.dispatcher.receiver_names()
    }
}

/// Every route of the API: Prometheus's (rules, alerts, metrics, health,
/// reload) over `backend` and the notifier's, behind the write token.
pub(super) fn api_router(
    backend: &Arc<ServeBackend>,
    registry: prometheus_client::registry::Registry,
    notifier: &Arc<Notifier>,
    options: &NotifyOptions,
    api_token: Option<String>,
    cluster: Option<Arc<dyn crate::api::cluster::ClusterView>>,
) -> axum::Router {
    crate::api::finish(
        crate::api::prometheus_routes(
            Arc::clone(backend) as Arc<dyn crate::api::Backend>,
            Arc::new(registry),
        )
        .merge(notifier_routes(notifier, options))
        .merge(crate::api::cluster::routes(cluster)),
        api_token,
    )
}

/// The notifier's HTTP routes: Alertmanager's v2 API (alerts, groups,
/// silences, status, receivers), the Alertmanager webhook input and the
/// delivery history.
fn notifier_routes(notifier: &Arc<Notifier>, options: &NotifyOptions) -> axum::Router {
    let api_options = AlertmanagerApiOptions {
        max_body_bytes: options.max_body_bytes,
        resolve_timeout_ms: millis(options.resolve_timeout),
        clock: notifier.clock().clone(),
        ..AlertmanagerApiOptions::default()
    };
    crate::api::alertmanager::routes(AlertmanagerApi {
        alerts: Arc::clone(&notifier.alerts),
        silences: Arc::clone(&notifier.silences),
        views: Arc::new(NotifierViews(Arc::clone(notifier))),
        options: Arc::new(api_options),
    })
    .merge(crate::api::notifications::routes(Arc::clone(
        &notifier.outbox,
    )))
}
