//! `klaxon serve`: configuration → validation → build, then the running
//! service: the evaluator, the state store, the API, forwarding, reloads and
//! signals.
//!
//! A configuration is built completely (files parsed and validated,
//! secrets read, datasource clients created) before anything of it runs,
//! so a reload either swaps in a whole new configuration or changes
//! nothing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::eval::engine::{Engine, EngineSettings, GroupRuntime, StateChange, StateStore};
use crate::eval::event::AlertBatch;
use crate::eval::forward::{ForwardConfig, ForwardMetrics, Forwarder};
use crate::eval::metrics::EvalMetrics;
use crate::eval::rule::CompiledRule;
use crate::eval::templating::TemplateEnv;
use crate::eval::unsaved::KeepUnsaved;
use crate::model::LoadOptions;
use crate::source::{HttpSettings, Source};
use crate::store::Store;

/// Everything `klaxon serve` is started with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The main DSL file (datasources, groups, includes).
    pub config: Option<PathBuf>,
    /// More rule files, directories or globs (DSL or Prometheus YAML).
    pub rules: Vec<String>,
    /// URL of the default Prometheus datasource.
    pub prometheus_url: Option<String>,
    /// Where alert state is kept.
    pub data_dir: PathBuf,
    /// Bytes of page cache for the state database ([`Store::open_with_cache`]).
    pub storage_cache_bytes: usize,
    /// Address the API listens on.
    pub listen: String,
    /// Timeouts and the cap of the API's connections (the cap is lowered
    /// to fit the open-file limit at start).
    pub connections: crate::api::ConnectionLimits,
    /// External Alertmanagers to forward alerts to.
    pub alertmanager_urls: Vec<String>,
    /// URL klaxon is reached at (generator URLs, `$externalURL`).
    pub external_url: Option<String>,
    /// Labels added to every alert sent (`$externalLabels`).
    pub external_labels: Vec<(String, String)>,
    /// Interval of groups that set none.
    pub evaluation_interval: Duration,
    /// Minimum time between re-sends of a firing alert.
    pub resend_delay: Duration,
    /// Bound on queries in flight across all groups.
    pub max_concurrent_queries: usize,
    /// The notifier and its API.
    pub notify: NotifyOptions,
}

/// The notifier's command-line settings.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    /// `endsAt` of pushed alerts without one = now + this.
    pub resolve_timeout: Duration,
    /// Delivery retries stop after this; the notification is recorded failed.
    pub give_up_after: Duration,
    /// Resolved alerts are forgotten after this.
    pub alert_retention: Duration,
    /// File with the bearer token write endpoints require.
    pub api_token_file: Option<PathBuf>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How large silences may grow.
    pub silence_limits: crate::notify::silence::SilenceLimits,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            resolve_timeout: Duration::from_secs(300),
            give_up_after: Duration::from_secs(86_400),
            alert_retention: Duration::from_secs(3_600),
            api_token_file: None,
            max_body_bytes: 16 << 20,
            silence_limits: crate::notify::silence::SilenceLimits::default(),
        }
    }
}

impl NotifyOptions {
    fn settings(&self) -> crate::notify::NotifierSettings {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        crate::notify::NotifierSettings {
            resolve_timeout_ms: ms(self.resolve_timeout),
            alert_retention_ms: ms(self.alert_retention),
            give_up_after_ms: ms(self.give_up_after),
            silence_limits: self.silence_limits,
        }
    }

    /// Reads the API token file (trimmed); an empty file is an error, not
    /// an open API.
    fn api_token(&self) -> anyhow::Result<Option<String>> {
        let Some(path) = &self.api_token_file else {
            return Ok(None);
        };
        let bytes = crate::user_file::read(path, crate::user_file::MAX_SMALL_FILE_BYTES)
            .map_err(|e| anyhow::anyhow!("--api.token-file {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("--api.token-file {}: not UTF-8 text", path.display()))?;
        let token = text.trim();
        if token.is_empty() {
            anyhow::bail!("--api.token-file {} is empty", path.display());
        }
        Ok(Some(token.to_string()))
    }
}

/// A configuration, built and ready to run.
pub struct BuiltConfig {
    groups: Vec<GroupRuntime>,
    sources: HashMap<String, Source>,
    /// Warnings found while loading, rendered.
    pub warnings: Vec<String>,
    /// Number of rules, for logs and the reload answer.
    pub rule_count: usize,
    /// Routes and inhibit rules of the DSL files (receivers and time
    /// windows are built below).
    notify_rules: crate::model::RuleSet,
    receivers: crate::notify::receivers::Receivers,
    windows: crate::notify::time_window::TimeWindows,
    /// The DSL files' text, for Alertmanager's `/api/v2/status`.
    config_text: String,
}

impl BuiltConfig {
    /// The notifier's part: the receivers and time windows built with the
    /// rest, the routing tree for this external URL.
    fn notify_config(&self, external_url: &str) -> crate::notify::NotifyConfig {
        crate::notify::NotifyConfig::from_parts(
            &self.notify_rules,
            self.receivers.clone(),
            self.windows.clone(),
            external_url,
            self.config_text.clone(),
        )
    }
}

/// Loads and validates every rule file, reads secrets and builds the
/// datasource and receiver clients, without starting anything: what
/// `klaxon serve` starts and reloads with. Errors are rendered diagnostics
/// (file:line:col, the line, a caret), but for problems outside the files.
pub fn build_config(opts: &ServeOptions) -> Result<BuiltConfig, Vec<String>> {
    let mut args: Vec<PathBuf> = Vec::new();
    if let Some(c) = &opts.config {
        args.push(c.clone());
    }
    args.extend(opts.rules.iter().map(PathBuf::from));
    if args.is_empty() {
        return Err(vec![
            "no rules to evaluate: pass --config FILE or --rules GLOB (DSL .rules or Prometheus .yml)"
                .into(),
        ]);
    }
    // Prometheus rule files are self-contained (queries go to the default
    // datasource; group names are per file), so each is loaded, compiled
    // and dropped on its own: the parsed YAML and PromQL trees of ten
    // thousand rules never sit in memory together. klaxon files load as one
    // set, since rules refer to datasources declared elsewhere.
    let (files, io_errors) = crate::model::load::expand_paths(&args);
    let (yaml, dsl): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| {
        crate::model::load::syntax_of(f) == crate::model::load::Syntax::PrometheusYaml
    });
    let options = LoadOptions::default();
    let mut errors: Vec<String> = io_errors;
    let mut warnings = Vec::new();
    let dsl_loaded = crate::model::load::load_files(&dsl, Vec::new(), &options);
    collect_diagnostics(&dsl_loaded, &mut errors, &mut warnings);
    if !errors.is_empty() {
        return Err(errors);
    }

    // Secrets are read and clients created here; what cannot be is
    // reported where the setting is written.
    let render = |diagnostics: Vec<crate::diag::Diagnostic>| -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| d.render(&dsl_loaded.sources))
            .collect()
    };
    let mut sources: HashMap<String, Source> = HashMap::new();
    for ds in &dsl_loaded.rules.datasources {
        match Source::build(ds) {
            Ok(source) => {
                sources.insert(ds.name.clone(), source);
            }
            Err(diagnostics) => errors.extend(render(diagnostics)),
        }
    }
    let receivers = crate::notify::receivers::build_receivers_located(
        &dsl_loaded.rules,
        &crate::notify::receivers::ReceiverContext::default(),
    )
    .unwrap_or_else(|diagnostics| {
        errors.extend(render(diagnostics));
        crate::notify::receivers::Receivers::default()
    });
    let windows = crate::notify::time_window::TimeWindows::compile(&dsl_loaded.rules.time_windows)
        .unwrap_or_else(|e| {
            errors.extend(e);
            crate::notify::time_window::TimeWindows::default()
        });
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Some(url) = &opts.prometheus_url {
        if sources.contains_key("default") {
            return Err(vec![
                "--prometheus.url is set and a `datasource prometheus default` is declared; keep one of them".into(),
            ]);
        }
        let settings = HttpSettings::for_url(url);
        if !(settings.url.starts_with("http://") || settings.url.starts_with("https://")) {
            return Err(vec![format!(
                "--prometheus.url `{url}` is not an http:// or https:// URL"
            )]);
        }
        let source = crate::source::prometheus::PrometheusSource::new("default", &settings)
            .map_err(|e| vec![e.to_string()])?;
        sources.insert("default".into(), Source::Prometheus(source));
    }

    let mut compiled = CompiledSet::default();
    compiled.add(&dsl_loaded, &sources, opts.evaluation_interval);
    let notify_rules = crate::model::RuleSet {
        groups: Vec::new(),
        datasources: Vec::new(),
        receivers: dsl_loaded.rules.receivers.clone(),
        route: dsl_loaded.rules.route.clone(),
        inhibits: dsl_loaded.rules.inhibits.clone(),
        time_windows: Vec::new(),
    };
    let config_text = dsl_loaded
        .sources
        .files()
        .map(|(_, f)| format!("# {}\n{}", f.path.display(), f.text))
        .collect::<Vec<_>>()
        .join("\n");
    drop(dsl_loaded);
    for file in &yaml {
        let loaded =
            crate::model::load::load_files(std::slice::from_ref(file), Vec::new(), &options);
        collect_diagnostics(&loaded, &mut errors, &mut warnings);
        if errors.is_empty() {
            compiled.add(&loaded, &sources, opts.evaluation_interval);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if compiled.records > 0 {
        warnings.push(format!(
            "{} recording rule(s) are evaluated (health shows in /api/v1/rules) but their results are not written anywhere: klaxon has no remote-write output yet; keep recording rules in Prometheus",
            compiled.records
        ));
    }
    if let Some(place) = compiled.missing_default {
        return Err(vec![format!(
            "{place}: this rule queries the default Prometheus, but none is configured: start with --prometheus.url URL or declare `datasource prometheus default {{ url \"...\" }}`"
        )]);
    }
    Ok(BuiltConfig {
        rule_count: compiled.groups.iter().map(|g| g.rules.len()).sum(),
        groups: compiled.groups,
        sources,
        warnings,
        notify_rules,
        receivers,
        windows,
        config_text,
    })
}

fn collect_diagnostics(
    loaded: &crate::model::Loaded,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    errors.extend(loaded.io_errors.iter().cloned());
    for d in &loaded.diagnostics {
        match d.level {
            crate::diag::Level::Error => errors.push(d.render(&loaded.sources)),
            _ => warnings.push(d.short(&loaded.sources)),
        }
    }
}

/// Groups compiled so far, file by file.
#[derive(Default)]
struct CompiledSet {
    groups: Vec<GroupRuntime>,
    records: usize,
    /// `file:line:col` of the first rule that needs a default datasource
    /// when none is configured.
    missing_default: Option<String>,
    /// One copy of each repeated short text across all groups' rules.
    texts: crate::eval::templating::SharedTexts,
}

impl CompiledSet {
    fn add(
        &mut self,
        loaded: &crate::model::Loaded,
        sources: &HashMap<String, Source>,
        default_interval: Duration,
    ) {
        for g in &loaded.rules.groups {
            let file = loaded
                .sources
                .get(g.file)
                .map(|f| f.path.display().to_string())
                .unwrap_or_default();
            let interval = g
                .interval
                .map(|d| d.to_std())
                .filter(|d| !d.is_zero())
                .unwrap_or(default_interval);
            let mut rules = Vec::new();
            let mut seen_keys: HashMap<String, usize> = HashMap::new();
            for r in &g.rules {
                let mut compiled = CompiledRule::compile(r, g, &file, &mut self.texts);
                if &*compiled.datasource == "default"
                    && !sources.contains_key("default")
                    && self.missing_default.is_none()
                {
                    let (path, line, col) = loaded.sources.locate(r.span);
                    self.missing_default = Some(format!("{path}:{line}:{col}"));
                }
                if compiled.alert.is_none() {
                    self.records += 1;
                }
                // Two identical rules in one group get distinct keys.
                let n = seen_keys.entry(compiled.key.clone()).or_default();
                if *n > 0 {
                    compiled.key = crate::eval::rule_key::nth_duplicate(&compiled.key, *n);
                }
                *n += 1;
                rules.push(compiled);
            }
            self.groups.push(GroupRuntime::new(
                g.name.as_str().into(),
                file,
                interval,
                g.limit,
                rules,
            ));
        }
    }
}

/// The state store seen by the evaluator.
struct StoreAdapter(Arc<Store>);

impl StateStore for StoreAdapter {
    fn commit(&self, changes: &[StateChange]) -> Result<(), String> {
        self.0.commit(changes).map_err(|e| e.to_string())
    }
}

/// One for the process (engines come and go with reloads), so transitions
/// a full disk refused survive a reload too.
type EvalStateStore = KeepUnsaved<StoreAdapter>;

type ReloadReply = oneshot::Sender<Result<String, Vec<String>>>;

/// What the API reads: the current engine, readiness, and a way to ask the
/// main loop for a reload.
struct ServeBackend {
    engine: RwLock<Option<Arc<Engine>>>,
    ready: std::sync::atomic::AtomicBool,
    reload_tx: mpsc::Sender<ReloadReply>,
    /// `/-/ready` reports its problems (a full disk).
    store: Arc<Store>,
}

impl ServeBackend {
    /// The engine running now (none before the first start).
    fn current(&self) -> Option<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl crate::api::Backend for ServeBackend {
    fn for_each_group(&self, f: &mut dyn FnMut(crate::eval::status::GroupStatus)) {
        if let Some(engine) = self.current() {
            engine.for_each_group_status(f);
        }
    }

    fn alerts(&self) -> Vec<crate::eval::alert::Alert<crate::eval::alert::LabelPairs>> {
        self.current()
            .map(|e| e.active_alerts())
            .unwrap_or_default()
    }

    fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::SeqCst)
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

struct Running {
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    async fn stop(self) -> Arc<Engine> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.engine
    }
}

fn start(engine: Arc<Engine>) -> Running {
    let (stop, stop_rx) = watch::channel(false);
    let tasks = engine.start(stop_rx);
    Running {
        engine,
        stop,
        tasks,
    }
}

/// Runs the service until SIGTERM or SIGINT. Errors that prevent starting
/// (invalid configuration, unusable data directory, address in use) are
/// returned for the caller to print.
pub async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    let store = Arc::new(
        Store::open_with_cache(&opts.data_dir, opts.storage_cache_bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );

    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(EvalMetrics::register(&mut registry));
    let forward_metrics = ForwardMetrics::register(&mut registry);
    let notify_metrics = crate::notify::metrics::NotifyCollector::default();
    registry.register_collector(Box::new(notify_metrics.clone()));
    registry.register_collector(Box::new(crate::store::metrics::StoreCollector::new(
        Arc::clone(&store),
    )));
    // Writes reopen the store by themselves after a full disk; this gets
    // `/-/ready` back without waiting for one.
    let state_store = Arc::new(KeepUnsaved::new(StoreAdapter(Arc::clone(&store))));
    tokio::spawn(recover_store_periodically(
        Arc::clone(&store),
        Arc::clone(&state_store),
    ));

    let built = build_config(&opts).map_err(|errors| {
        anyhow::anyhow!("the configuration is invalid:\n{}", errors.join("\n"))
    })?;
    for w in &built.warnings {
        tracing::warn!("{w}");
    }
    // Loading rules leaves parse trees behind: the first trim runs now, the
    // next after every few seconds of work.
    tokio::spawn(crate::memory::release_free_memory_periodically());

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
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let local = listener.local_addr()?;
    let external_url = opts
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let api_token = opts.notify.api_token()?;

    // The notifier: its state is restored before anything can reach it.
    let notify_config = built.notify_config(&external_url);
    let (notify_stop_tx, notify_stop_rx) = watch::channel(false);
    let notifier = crate::notify::Notifier::start(
        Arc::clone(&store),
        notify_config,
        &opts.notify.settings(),
        notify_stop_rx,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    notify_metrics.attach(&notifier);

    // Delivery: one channel out of the evaluator, fanned out to consumers.
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<AlertBatch>();
    let forwarder = if opts.alertmanager_urls.is_empty() {
        None
    } else {
        Some(
            Forwarder::spawn(
                ForwardConfig::new(opts.alertmanager_urls.clone()),
                forward_metrics,
            )
            .map_err(|e| anyhow::anyhow!("--alertmanager.url: {e}"))?,
        )
    };
    // The fan-out owns the consumers: when the last engine (sender) is gone
    // it drains them, so SIGTERM delivers what was queued.
    let fanout_notifier = Arc::clone(&notifier);
    let fanout = tokio::spawn(async move {
        while let Some(batch) = events_rx.recv().await {
            if let Some(f) = forwarder.as_ref() {
                f.send(batch.clone());
            }
            if let Err(e) = fanout_notifier.ingest_evaluated(batch).await {
                tracing::error!(error = %e, "could not store evaluated alerts for notification");
            }
        }
        if let Some(f) = forwarder {
            f.shutdown(Duration::from_secs(10)).await;
        }
    });

    let settings = EngineSettings {
        resend_delay: opts.resend_delay,
        max_concurrent_queries: opts.max_concurrent_queries,
        env: TemplateEnv {
            external_labels: opts.external_labels.iter().cloned().collect(),
            external_url: external_url.clone(),
        },
        generator_base: external_url.clone(),
    };
    let make_engine = |built: BuiltConfig| {
        Arc::new(Engine::new(
            built.groups,
            built.sources,
            settings.clone(),
            Arc::clone(&metrics),
            Arc::clone(&state_store) as Arc<dyn StateStore>,
            events_tx.clone(),
        ))
    };
    let rule_count = built.rule_count;
    let engine = make_engine(built);

    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadReply>(4);
    let backend = Arc::new(ServeBackend {
        engine: RwLock::new(Some(Arc::clone(&engine))),
        ready: std::sync::atomic::AtomicBool::new(false),
        reload_tx,
        store: Arc::clone(&store),
    });
    let registry = Arc::new(registry);
    let (api_stop_tx, api_stop_rx) = oneshot::channel::<()>();
    let router = crate::api::finish(
        crate::api::prometheus_routes(
            Arc::clone(&backend) as Arc<dyn crate::api::Backend>,
            Arc::clone(&registry),
        )
        .merge(crate::notify::api_routes(
            &notifier,
            opts.notify.max_body_bytes,
            opts.notify.resolve_timeout,
        )),
        api_token,
    );
    let api = tokio::spawn(crate::api::serve(
        listener,
        router,
        connections,
        async move {
            let _ = api_stop_rx.await;
        },
    ));
    tracing::info!(listen = %local, rules = rule_count, data_dir = %opts.data_dir.display(), max_connections = connections.max_connections, "klaxon serve started");

    // Restore state, then become ready and start evaluating.
    let restored = {
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || store.load_alerts())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    for u in &restored.unreadable {
        tracing::error!(rule = %u.rule, fingerprint = u.fingerprint, reason = %u.reason, "a stored alert could not be read and was left in the store untouched");
    }
    let count: usize = restored.alerts.values().map(Vec::len).sum();
    let unmatched = engine.restore(restored.alerts);
    forget_unconfigured(&store, &engine).await;
    tracing::info!(
        alerts = count,
        rules_gone = unmatched.len(),
        "alert state restored"
    );
    backend
        .ready
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut running = start(engine);

    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    loop {
        let reply: Option<ReloadReply> = tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => None,
            r = reload_rx.recv() => match r { Some(r) => Some(r), None => break },
        };
        let result = match build_config(&opts).map(|built| {
            let notify = built.notify_config(&external_url);
            (built, notify)
        }) {
            Err(errors) => {
                metrics.reload_failures.inc();
                metrics.config_last_reload_successful.set(0);
                tracing::error!(
                    errors = errors.len(),
                    "reload rejected; the running configuration is unchanged:\n{}",
                    errors.join("\n")
                );
                Err(errors)
            }
            Ok((built, notify)) => {
                notifier.reconfigure(notify);
                for w in &built.warnings {
                    tracing::warn!("{w}");
                }
                let rules = built.rule_count;
                let new_engine = make_engine(built);
                let old = running.stop().await;
                new_engine.carry_state_from(&old);
                old.retire_metrics();
                forget_unconfigured(&store, &new_engine).await;
                *backend.engine.write().unwrap_or_else(|e| e.into_inner()) =
                    Some(Arc::clone(&new_engine));
                running = start(new_engine);
                metrics.config_last_reload_successful.set(1);
                tracing::info!(rules, "configuration reloaded");
                Ok(format!("configuration reloaded: {rules} rules"))
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }

    tracing::info!("stopping: finishing the rounds in progress and committing state");
    drop(running.stop().await);
    // The fan-out ends once every engine (each holds a sender) is gone.
    *backend.engine.write().unwrap_or_else(|e| e.into_inner()) = None;
    drop(events_tx);
    if tokio::time::timeout(Duration::from_secs(15), fanout)
        .await
        .is_err()
    {
        tracing::warn!("alert delivery did not drain within 15s");
    }
    let _ = notify_stop_tx.send(true);
    notifier.join(Duration::from_secs(15)).await;
    let _ = api_stop_tx.send(());
    let _ = api.await;
    tracing::info!("stopped");
    Ok(())
}

/// How often a store that cannot write is checked for a reopen (the store
/// paces the reopens themselves: not before the disk has room, then with
/// backoff).
const STORE_RECOVERY_CHECK: Duration = Duration::from_secs(1);

/// Calls [`Store::recover`] while the store cannot write, and then writes
/// the evaluator's transitions that failed meanwhile, until the runtime
/// stops.
async fn recover_store_periodically(store: Arc<Store>, state_store: Arc<EvalStateStore>) {
    let mut ticks = tokio::time::interval(STORE_RECOVERY_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if store.problem().is_some() || state_store.unsaved() > 0 {
            let store = Arc::clone(&store);
            let state_store = Arc::clone(&state_store);
            // A panic in the reopen only means the next tick tries again.
            let _ = tokio::task::spawn_blocking(move || {
                if store.recover() && state_store.unsaved() > 0 {
                    let _ = state_store.retry();
                }
            })
            .await;
        }
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

fn signal(kind: tokio::signal::unix::SignalKind) -> anyhow::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).map_err(|e| anyhow::anyhow!("cannot handle signals: {e}"))
}

/// Parses `NAME=VALUE` (for `--external-label`).
pub fn parse_label_pair(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    if !crate::model::is_valid_label_name(name) {
        return Err(format!("`{name}` is not a valid label name"));
    }
    Ok((name.to_string(), value.to_string()))
}
