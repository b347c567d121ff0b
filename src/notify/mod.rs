//! The notifier: alerts from klaxon's evaluator, from `POST /api/v2/alerts`
//! and from Alertmanager webhooks go through one pipeline: silence and
//! inhibit, route, group, dedupe against the notification log, commit to
//! the durable outbox, deliver to Slack, email and webhooks with retries.
//!
//! Layout follows that flow: [`alert`] and [`alerts`] (the alert and the
//! durable store of received alerts), [`silence`], [`inhibit`], [`route`],
//! [`time_window`], [`dispatch`] (aggregation groups and the flush
//! decision), [`notification`] and [`payload`] (what is sent), [`outbox`]
//! (the durable log and delivery), [`receivers`] (Slack, email, webhook).
//! [`forward`] sends the evaluator's alerts to external Alertmanagers as
//! Prometheus does. The API over all this is `api::alertmanager`; the
//! wiring (`serve`) gives it the notifier's views. [`cluster`] is what a
//! cluster of replicas gives the notifier (who sends which group, the shared
//! notification log, replicated silences).

pub mod alert;
pub mod alerts;
pub mod cluster;
pub mod dispatch;
pub mod forward;
pub mod inhibit;
pub mod metrics;
pub mod notification;
pub mod outbox;
pub mod payload;
pub mod receivers;
pub mod route;
pub mod silence;
pub mod time_window;

use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::eval::event::AlertBatch;
use crate::model::NotifierConfig;
use crate::store::{Store, StoreError};
use crate::vocab::time::Clock;
use alert::{AlertSource, LabelSet, Millis, NotifyAlert};
use cluster::{ClusterHooks, SharedLog};
use dispatch::{DispatchConfig, Dispatcher, Mutes, Sink};
use outbox::{LogEntry, Outbox};
use receivers::BoxFuture;

/// The notifier's settings that are not in rule files.
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// `endsAt` of alerts pushed without one = now + this.
    pub resolve_timeout_ms: Millis,
    /// Resolved alerts are forgotten after this.
    pub alert_retention_ms: Millis,
    /// Delivery is retried this long before a notification is failed.
    pub give_up_after_ms: Millis,
    /// How large silences may grow.
    pub silence_limits: silence::SilenceLimits,
    /// Where the notifier and its API read the time.
    pub clock: Clock,
    /// The cluster this replica is part of; None = a single node.
    pub cluster: Option<ClusterHooks>,
}

/// A notification configuration, built and checked before it is used.
#[derive(Debug)]
pub struct NotifyConfig {
    dispatch: DispatchConfig,
    windows: Arc<time_window::TimeWindows>,
    /// The configuration text, for `/api/v2/status`.
    pub config_text: String,
}

impl NotifyConfig {
    /// The notifier's configuration: receivers built with
    /// [`receivers::build_receivers_located`] (secrets read, clients set
    /// up), time windows from [`time_window::TimeWindows::compile`], and the
    /// routes and inhibitions of `rules`.
    pub fn from_parts(
        rules: &NotifierConfig,
        receivers: receivers::Receivers,
        windows: time_window::TimeWindows,
        external_url: &str,
        config_text: String,
    ) -> NotifyConfig {
        NotifyConfig {
            dispatch: DispatchConfig::new(rules, receivers, external_url.to_string()),
            windows: Arc::new(windows),
            config_text,
        }
    }
}

/// The running notifier: alert store, silences, dispatcher, outbox.
pub struct Notifier {
    /// Every alert the notifier knows.
    pub alerts: Arc<alerts::AlertStore>,
    /// Silences.
    pub silences: Arc<silence::Silences>,
    /// Durable delivery.
    pub outbox: Arc<Outbox>,
    /// Routing and grouping.
    pub dispatcher: Arc<Dispatcher>,
    mutes: Arc<SilencesAndWindows>,
    config_text: RwLock<String>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    clock: Clock,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

/// The dispatcher's sink: the local outbox, behind the cluster's shared
/// notification log when there is one (which then decides what each lane
/// was told, and claims every notification before the outbox commits it).
struct OutboxSink {
    outbox: Arc<Outbox>,
    shared: Option<Arc<dyn SharedLog>>,
}

impl Sink for OutboxSink {
    fn log_entry(&self, group_id: &str, receiver: &str, integration: usize) -> Option<LogEntry> {
        match &self.shared {
            Some(shared) => shared.log_entry(group_id, receiver, integration),
            None => self.outbox.log_entry(group_id, receiver, integration),
        }
    }

    fn enqueue(
        &self,
        items: Vec<(notification::Notification, LogEntry)>,
    ) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let Some(shared) = &self.shared else {
                return self.outbox.enqueue(items).await.map_err(|e| e.to_string());
            };
            shared.claim(&items).await?;
            let count = items.len();
            self.outbox.enqueue(items).await.map_err(|e| {
                // The claims stay in the cluster: this replica owns their
                // shard, so it adopts them (from the shared store, with their
                // ids) at its next ownership change, or the next owner does.
                tracing::error!(
                    error = %e,
                    notifications = count,
                    "claimed notifications could not be committed to the local outbox; \
                     their claims stay in the cluster and are adopted at the next ownership \
                     change"
                );
                e.to_string()
            })
        })
    }
}

struct SilencesAndWindows {
    silences: Arc<silence::Silences>,
    windows: RwLock<Arc<time_window::TimeWindows>>,
}

impl Mutes for SilencesAndWindows {
    fn silenced(&self, labels: &LabelSet, now: Millis) -> bool {
        !self.silences.mutes(labels, now).is_empty()
    }

    fn in_windows(&self, names: &[String], now: Millis) -> bool {
        let windows = Arc::clone(&self.windows.read().unwrap_or_else(|e| e.into_inner()));
        windows.any_contains(names, now)
    }
}

impl Notifier {
    /// Opens the notifier's state in `store` (alerts, silences, outbox,
    /// notification log) and starts dispatching and delivering until
    /// `shutdown` turns true.
    pub async fn start(
        store: Arc<Store>,
        config: NotifyConfig,
        options: &NotifierSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Notifier>, StoreError> {
        let alerts = alerts::AlertStore::open(
            Arc::clone(&store),
            alerts::AlertStoreOptions {
                resolve_timeout_ms: options.resolve_timeout_ms,
                retention_ms: options.alert_retention_ms,
            },
        )?;
        let silences = silence::Silences::open_with(
            Arc::clone(&store),
            silence::DEFAULT_RETENTION_MS,
            options.silence_limits,
        )?;
        let cluster = options.cluster.as_ref();
        let outbox = Outbox::open(
            Arc::clone(&store),
            config.dispatch.receivers.clone(),
            outbox::OutboxOptions {
                give_up_after_ms: u64::try_from(options.give_up_after_ms).unwrap_or(u64::MAX),
                clock: options.clock.clone(),
                pending_is_shared: cluster.is_some(),
                ..outbox::OutboxOptions::default()
            },
        )?;
        if let Some(hooks) = cluster {
            silences.set_replica(Arc::clone(&hooks.silences));
            outbox.set_delivery_listener(Arc::clone(&hooks.delivery));
        }
        let mutes = Arc::new(SilencesAndWindows {
            silences: Arc::clone(&silences),
            windows: RwLock::new(Arc::clone(&config.windows)),
        });
        let sink = OutboxSink {
            outbox: Arc::clone(&outbox),
            shared: cluster.map(|hooks| Arc::clone(&hooks.log)),
        };
        let dispatcher = Dispatcher::new(
            config.dispatch,
            Arc::new(sink) as Arc<dyn Sink>,
            Arc::clone(&mutes) as Arc<dyn Mutes>,
            cluster.map(|hooks| Arc::clone(&hooks.gate)),
            options.clock.clone(),
        );
        // Subscribe before the snapshot: an alert in both is grouped twice,
        // which is harmless; one in neither would be lost.
        let updates = alerts.subscribe();
        dispatcher.insert(alerts.snapshot(), options.clock.now());
        let mut tasks = vec![outbox.run(shutdown.clone())];
        tasks.push(tokio::spawn(Arc::clone(&dispatcher).run(updates, shutdown)));
        Ok(Arc::new(Notifier {
            alerts,
            silences,
            outbox,
            dispatcher,
            mutes,
            config_text: RwLock::new(config.config_text),
            tasks: std::sync::Mutex::new(tasks),
            clock: options.clock.clone(),
        }))
    }

    /// Swaps in a new configuration (reload).
    pub fn reconfigure(&self, config: NotifyConfig) {
        self.outbox.set_receivers(config.dispatch.receivers.clone());
        *self
            .mutes
            .windows
            .write()
            .unwrap_or_else(|e| e.into_inner()) = config.windows;
        *self.config_text.write().unwrap_or_else(|e| e.into_inner()) = config.config_text;
        self.dispatcher
            .reconfigure(config.dispatch, self.clock.now());
    }

    /// Takes over claimed notifications of a shard this replica now owns;
    /// see [`Outbox::adopt`]. Returns how many were new here. Adopt before
    /// [`Notifier::ownership_changed`]: a lane delivers in enqueue order, so
    /// what the old owner claimed then goes out before anything newer this
    /// replica decides for the same lane (a firing message never follows
    /// its resolve).
    pub async fn adopt(
        &self,
        items: Vec<(notification::Notification, LogEntry)>,
    ) -> Result<usize, StoreError> {
        self.outbox.adopt(items).await
    }

    /// The cluster's ownership may have changed: groups now owned here are
    /// flushed at once; see [`Dispatcher::ownership_changed`].
    pub fn ownership_changed(&self) {
        self.dispatcher.ownership_changed(self.clock.now());
    }

    /// Where the notifier reads the time.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The configuration text, for `/api/v2/status`.
    pub fn config_text(&self) -> String {
        self.config_text
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes a batch from klaxon's evaluator into the notifier.
    pub async fn ingest_evaluated(&self, batch: AlertBatch) -> Result<(), StoreError> {
        let now = self.clock.now();
        let alerts = batch
            .alerts
            .into_iter()
            .map(|a| NotifyAlert {
                labels: LabelSet::from_map(&a.labels),
                annotations: LabelSet::from_map(&a.annotations),
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                generator_url: a.generator_url.into(),
                updated_at: now,
                timeout: false,
                source: AlertSource::Evaluator,
            })
            .collect();
        self.alerts.put(alerts).await
    }

    /// Waits for the dispatcher and the delivery loop to stop (after
    /// `shutdown` turned true), at most `limit`.
    pub async fn join(&self, limit: std::time::Duration) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("notifier did not stop within {limit:?}");
        }
    }
}
