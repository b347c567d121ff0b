//! The running service: started step by step (store, configuration, API
//! listener, notifier, delivery, evaluator, API, restored state), reloaded
//! on SIGHUP or `POST /-/reload`, stopped in order on SIGTERM or SIGINT so
//! that what was queued is delivered and state is committed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::eval::engine::{Engine, EngineSettings, StateStore};
use crate::eval::event::AlertBatch;
use crate::eval::metrics::EvalMetrics;
use crate::eval::templating::TemplateEnv;
use crate::eval::unsaved::KeepUnsaved;
use crate::notify::Notifier;
use crate::notify::forward::{ForwardConfig, ForwardMetrics, Forwarder};
use crate::notify::metrics::NotifyCollector;
use crate::store::Store;
use crate::vocab::time::Clock;

use super::adapters::{
    EvalStateStore, ReloadReply, ServeBackend, StateBackend, StoreAdapter, api_router,
};
use super::cluster::{ClusterApi, ClusterOwnership, ClusterStateStore, ClusterWiring};
use super::{BuiltConfig, ServeError, ServeOptions, build_config};
use crate::eval::ownership::{EveryGroup, GroupOwnership};

/// How long delivery and the notifier get to finish at shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);

/// How long the forwarder gets to send what it holds at shutdown.
const FORWARD_DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How often a store that cannot write is checked for a reopen (the store
/// paces the reopens themselves: not before the disk has room, then with
/// backoff).
const STORE_RECOVERY_CHECK: Duration = Duration::from_secs(1);

/// Runs the service until SIGTERM or SIGINT. Errors that prevent starting
/// (invalid configuration, unusable data directory, address in use) are
/// returned for the caller to print.
pub async fn run(opts: ServeOptions) -> Result<(), ServeError> {
    let store = Arc::new(Store::open_with_cache(
        &opts.data_dir,
        opts.storage_cache_bytes,
    )?);
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::register(&mut registry, &store);

    let built = build_config(&opts).map_err(ServeError::InvalidConfig)?;
    log_warnings(&built.warnings);
    // Loading rules leaves parse trees behind: the first trim runs now, the
    // next after every few seconds of work.
    tokio::spawn(crate::memory::release_free_memory_periodically());

    let (listener, connections) = bind_api(&opts).await?;
    let local = listener.local_addr().map_err(ServeError::LocalAddress)?;
    let external_url = opts
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let api_token = opts.notify.api_token()?;

    let (cluster_stop, cluster_stop_rx) = watch::channel(false);
    let cluster = match &opts.cluster {
        Some(options) => Some(
            ClusterWiring::join(
                options,
                format!("http://{local}"),
                built.config_hash(),
                &mut registry,
                Arc::new(StoreAdapter(Arc::clone(&store))),
                api_token.clone(),
                cluster_stop_rx,
            )
            .await?,
        ),
        None => None,
    };
    // Writes reopen the store by themselves after a full disk; this gets
    // `/-/ready` back without waiting for one.
    let state_store = Arc::new(KeepUnsaved::new(match &cluster {
        Some(wiring) => StateBackend::Cluster(ClusterStateStore(Arc::clone(wiring))),
        None => StateBackend::Local(StoreAdapter(Arc::clone(&store))),
    }));
    tokio::spawn(recover_store_periodically(
        Arc::clone(&store),
        Arc::clone(&state_store),
    ));

    let mut notify_settings = opts.notify.settings();
    notify_settings.cluster = cluster.as_ref().map(ClusterWiring::notifier_hooks);
    let (notifier, notifier_stop) = start_notifier(
        &store,
        &built,
        &external_url,
        &notify_settings,
        &metrics.notify,
    )
    .await?;
    if let Some(wiring) = &cluster {
        wiring.attach(Arc::clone(&notifier), notifier_stop.subscribe());
        let relay = Arc::clone(wiring);
        notifier.alerts.set_relay(Arc::new(
            move |alerts: &[crate::notify::alert::NotifyAlert]| {
                relay.relay(alerts.to_vec());
            },
        ));
    }
    let (events, delivery) = Delivery::start(
        &opts.alertmanager_urls,
        metrics.forward,
        Arc::clone(&notifier),
    )?;
    let engines = Engines {
        settings: engine_settings(&opts, &external_url),
        metrics: Arc::clone(&metrics.eval),
        state_store,
        events,
        ownership: match &cluster {
            Some(wiring) => Arc::new(ClusterOwnership(Arc::clone(wiring))),
            None => Arc::new(EveryGroup),
        },
    };
    let rule_count = built.rule_count;
    let config_hash = built.config_hash();
    let engine = engines.make(built);
    if let Some(wiring) = &cluster {
        wiring
            .set_groups(config_hash, engine.group_rule_keys())
            .await;
    }

    let (reload_tx, reload_rx) = mpsc::channel::<ReloadReply>(4);
    let backend = Arc::new(ServeBackend::new(
        Arc::clone(&engine),
        reload_tx,
        Arc::clone(&store),
        cluster.clone(),
    ));
    let cluster_view = cluster.as_ref().map(|wiring| {
        Arc::new(ClusterApi(Arc::clone(wiring))) as Arc<dyn crate::api::cluster::ClusterView>
    });
    let router = api_router(
        &backend,
        registry,
        &notifier,
        &opts.notify,
        api_token,
        cluster_view,
    );
    let api = Api::start(listener, router, connections);
    tracing::info!(listen = %local, rules = rule_count, data_dir = %opts.data_dir.display(), max_connections = connections.max_connections, clustered = cluster.is_some(), "klaxon serve started");

    // Restore state, then become ready and start evaluating.
    restore_state(&store, &engine).await?;
    backend.set_ready();
    let running = Running::start(engine);

    let service = Service {
        opts,
        store,
        metrics: metrics.eval,
        external_url,
        notifier,
        engines,
        backend,
        cluster,
    };
    let running = service.reload_until_stopped(running, reload_rx).await?;
    service
        .shutdown(running, delivery, notifier_stop, api, cluster_stop)
        .await;
    Ok(())
}

/// The metrics of the process, registered once for every configuration.
struct Metrics {
    eval: Arc<EvalMetrics>,
    forward: ForwardMetrics,
    notify: NotifyCollector,
}

impl Metrics {
    fn register(registry: &mut prometheus_client::registry::Registry, store: &Arc<Store>) -> Self {
        let eval = Arc::new(EvalMetrics::register(registry));
        let forward = ForwardMetrics::register(registry);
        let notify = NotifyCollector::default();
        registry.register_collector(Box::new(notify.clone()));
        registry.register_collector(Box::new(crate::store::metrics::StoreCollector::new(
            Arc::clone(store),
        )));
        Metrics {
            eval,
            forward,
            notify,
        }
    }
}

fn log_warnings(warnings: &[String]) {
    for w in warnings {
        tracing::warn!("{w}");
    }
}

/// Binds the API's address, with the connection cap lowered to fit the
/// open-file limit.
async fn bind_api(
    opts: &ServeOptions,
) -> Result<(TcpListener, crate::api::ConnectionLimits), ServeError> {
    let open_files = crate::api::server::raise_open_file_limit();
    let connections = crate::api::ConnectionLimits {
        max_connections: crate::api::server::connection_cap(
            opts.connections.max_connections,
            open_files,
        ),
        ..opts.connections
    };
    if connections.max_connections < opts.connections.max_connections {
        tracing::warn!(
            open_files,
            max_connections = connections.max_connections,
            "the open-file limit is low: the API serves fewer connections at once than \
             --api.max-connections, to keep descriptors for deliveries and the store; \
             raise it (LimitNOFILE= in systemd, ulimit -n)"
        );
    }
    let listener = TcpListener::bind(&opts.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: opts.listen.clone(),
            source,
        })?;
    Ok((listener, connections))
}

/// Starts the notifier, its state restored before anything can reach it;
/// it runs until the returned sender says `true`.
async fn start_notifier(
    store: &Arc<Store>,
    built: &BuiltConfig,
    external_url: &str,
    settings: &crate::notify::NotifierSettings,
    collector: &NotifyCollector,
) -> Result<(Arc<Notifier>, watch::Sender<bool>), ServeError> {
    let (stop, stop_rx) = watch::channel(false);
    let notifier = Notifier::start(
        Arc::clone(store),
        built.notify_config(external_url),
        settings,
        stop_rx,
    )
    .await?;
    collector.attach(&notifier);
    Ok((notifier, stop))
}

/// Delivery of evaluated alerts: one channel out of the evaluator, fanned
/// out to the forwarder and the notifier.
struct Delivery {
    fanout: JoinHandle<()>,
}

impl Delivery {
    /// Starts the fan-out; it ends (after draining its consumers, so
    /// SIGTERM delivers what was queued) once every sender is gone.
    fn start(
        alertmanager_urls: &[String],
        metrics: ForwardMetrics,
        notifier: Arc<Notifier>,
    ) -> Result<(mpsc::UnboundedSender<AlertBatch>, Delivery), ServeError> {
        let (events_tx, mut events_rx) = mpsc::unbounded_channel::<AlertBatch>();
        let forwarder = if alertmanager_urls.is_empty() {
            None
        } else {
            Some(
                Forwarder::spawn(ForwardConfig::new(alertmanager_urls.to_vec()), metrics)
                    .map_err(ServeError::Forwarding)?,
            )
        };
        let fanout = tokio::spawn(async move {
            while let Some(batch) = events_rx.recv().await {
                if let Some(f) = forwarder.as_ref() {
                    f.send(batch.clone());
                }
                if let Err(e) = notifier.ingest_evaluated(batch).await {
                    tracing::error!(error = %e, "could not store evaluated alerts for notification");
                }
            }
            if let Some(f) = forwarder {
                f.shutdown(FORWARD_DRAIN_LIMIT).await;
            }
        });
        Ok((events_tx, Delivery { fanout }))
    }

    /// Waits for the fan-out to drain, at most `limit`.
    async fn drain(self, limit: Duration) {
        if tokio::time::timeout(limit, self.fanout).await.is_err() {
            tracing::warn!("alert delivery did not drain within {limit:?}");
        }
    }
}

fn engine_settings(opts: &ServeOptions, external_url: &str) -> EngineSettings {
    EngineSettings {
        resend_delay: opts.resend_delay,
        max_concurrent_queries: opts.max_concurrent_queries,
        env: TemplateEnv {
            external_labels: opts.external_labels.iter().cloned().collect(),
            external_url: external_url.to_string(),
        },
        generator_base: external_url.to_string(),
        clock: Clock::system(),
    }
}

/// What every engine is made with: one engine per configuration, all
/// sharing the metrics, the state store and the channel to delivery.
struct Engines {
    settings: EngineSettings,
    metrics: Arc<EvalMetrics>,
    state_store: Arc<EvalStateStore>,
    /// Each engine holds a clone; delivery ends when the last is gone.
    events: mpsc::UnboundedSender<AlertBatch>,
    /// Which groups this replica evaluates (all of them when alone).
    ownership: Arc<dyn GroupOwnership>,
}

impl Engines {
    fn make(&self, built: BuiltConfig) -> Arc<Engine> {
        Arc::new(Engine::new(
            built.groups,
            built.sources,
            self.settings.clone(),
            Arc::clone(&self.metrics),
            Arc::clone(&self.state_store) as Arc<dyn StateStore>,
            self.events.clone(),
            Arc::clone(&self.ownership),
        ))
    }
}

/// The API server task and the way to stop it.
struct Api {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Api {
    fn start(
        listener: TcpListener,
        router: axum::Router,
        connections: crate::api::ConnectionLimits,
    ) -> Api {
        let (stop, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::api::serve(
            listener,
            router,
            connections,
            async move {
                let _ = stop_rx.await;
            },
        ));
        Api { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Loads the stored alert state into `engine` and forgets that of rules
/// no longer configured.
async fn restore_state(store: &Arc<Store>, engine: &Engine) -> Result<(), ServeError> {
    let restored = {
        let store = Arc::clone(store);
        tokio::task::spawn_blocking(move || crate::eval::persist::load_alerts(&store))
            .await
            .map_err(ServeError::RestoreInterrupted)??
    };
    for u in &restored.unreadable {
        tracing::error!(rule = %u.rule, fingerprint = u.fingerprint, reason = %u.reason, "a stored alert could not be read and was left in the store untouched");
    }
    let count: usize = restored.alerts.values().map(Vec::len).sum();
    let unmatched = engine.restore(restored.alerts);
    forget_unconfigured(store, engine).await;
    tracing::info!(
        alerts = count,
        rules_gone = unmatched.len(),
        "alert state restored"
    );
    Ok(())
}

/// An engine evaluating, and the way to stop it.
struct Running {
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    fn start(engine: Arc<Engine>) -> Running {
        let (stop, stop_rx) = watch::channel(false);
        let tasks = engine.start(stop_rx);
        Running {
            engine,
            stop,
            tasks,
        }
    }

    /// Stops evaluating (rounds in progress finish) and hands the engine
    /// back for its state.
    async fn stop(self) -> Arc<Engine> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.engine
    }
}

/// What reloads and the shutdown work on, once started.
struct Service {
    opts: ServeOptions,
    store: Arc<Store>,
    metrics: Arc<EvalMetrics>,
    external_url: String,
    notifier: Arc<Notifier>,
    engines: Engines,
    backend: Arc<ServeBackend>,
    cluster: Option<Arc<ClusterWiring>>,
}

impl Service {
    /// Reloads on SIGHUP and on the API's requests until SIGTERM or SIGINT
    /// (or until no one can ask any more); returns the engine running then.
    async fn reload_until_stopped(
        &self,
        mut running: Running,
        mut requests: mpsc::Receiver<ReloadReply>,
    ) -> Result<Running, ServeError> {
        let mut hangup = signal(SignalKind::hangup())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        loop {
            let reply: Option<ReloadReply> = tokio::select! {
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
                _ = hangup.recv() => None,
                r = requests.recv() => match r { Some(r) => Some(r), None => break },
            };
            let result;
            (running, result) = self.reload(running).await;
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
        Ok(running)
    }

    /// Builds the configuration again and swaps it in whole; an invalid one
    /// changes nothing. The new engine carries the old one's alert state.
    async fn reload(&self, running: Running) -> (Running, Result<String, Vec<String>>) {
        let built = match build_config(&self.opts) {
            Ok(built) => built,
            Err(errors) => {
                self.metrics.reload_failures.inc();
                self.metrics.config_last_reload_successful.set(0);
                tracing::error!(
                    errors = errors.len(),
                    "reload rejected; the running configuration is unchanged:\n{}",
                    errors.join("\n")
                );
                return (running, Err(errors));
            }
        };
        self.notifier
            .reconfigure(built.notify_config(&self.external_url));
        log_warnings(&built.warnings);
        let rules = built.rule_count;
        let config_hash = built.config_hash();
        let new_engine = self.engines.make(built);
        if let Some(wiring) = &self.cluster {
            wiring
                .set_groups(config_hash, new_engine.group_rule_keys())
                .await;
        }
        let old = running.stop().await;
        new_engine.carry_state_from(&old);
        old.retire_metrics();
        forget_unconfigured(&self.store, &new_engine).await;
        self.backend.set_engine(Some(Arc::clone(&new_engine)));
        let running = Running::start(new_engine);
        self.metrics.config_last_reload_successful.set(1);
        tracing::info!(rules, "configuration reloaded");
        (
            running,
            Ok(format!("configuration reloaded: {rules} rules")),
        )
    }

    /// Finishes the rounds in progress, delivers what was queued, stops the
    /// notifier and then the API.
    async fn shutdown(
        self,
        running: Running,
        delivery: Delivery,
        notifier_stop: watch::Sender<bool>,
        api: Api,
        cluster_stop: watch::Sender<bool>,
    ) {
        tracing::info!("stopping: finishing the rounds in progress and committing state");
        drop(running.stop().await);
        // The fan-out ends once every engine (each holds a sender) is gone.
        self.backend.set_engine(None);
        drop(self.engines);
        delivery.drain(DRAIN_LIMIT).await;
        let _ = notifier_stop.send(true);
        self.notifier.join(DRAIN_LIMIT).await;
        if let Some(wiring) = &self.cluster {
            let _ = cluster_stop.send(true);
            wiring.cluster.leave().await;
        }
        api.stop().await;
        tracing::info!("stopped");
    }
}

/// Calls [`Store::recover`] while the store cannot write, and then writes
/// the evaluator's transitions that failed meanwhile, until the runtime
/// stops.
async fn recover_store_periodically(store: Arc<Store>, state_store: Arc<EvalStateStore>) {
    let mut ticks = tokio::time::interval(STORE_RECOVERY_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let store = Arc::clone(&store);
        let state_store = Arc::clone(&state_store);
        // All on a blocking thread: `unsaved` waits for a commit in
        // progress, and a clustered commit waits on this runtime (a worker
        // blocked here deadlocked it). A panic in the reopen only means the
        // next tick tries again.
        let _ = tokio::task::spawn_blocking(move || {
            if (store.problem().is_some() || state_store.unsaved() > 0)
                && store.recover()
                && state_store.unsaved() > 0
            {
                let _ = state_store.retry();
            }
        })
        .await;
    }
}

/// Drops stored alerts of rules that are no longer configured.
async fn forget_unconfigured(store: &Arc<Store>, engine: &Engine) {
    let keep: HashSet<String> = engine.rule_keys().into_iter().collect();
    let store = Arc::clone(store);
    match tokio::task::spawn_blocking(move || store.retain_rules(&keep)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(
            alerts = n,
            "forgot stored alerts of rules no longer configured"
        ),
        Ok(Err(e)) => tracing::error!(error = %e, "cannot clean up stored alerts of removed rules"),
        Err(e) => tracing::error!(error = %e, "cannot clean up stored alerts of removed rules"),
    }
}

fn signal(kind: SignalKind) -> Result<Signal, ServeError> {
    tokio::signal::unix::signal(kind).map_err(ServeError::Signals)
}
