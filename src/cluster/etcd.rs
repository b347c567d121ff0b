//! The one place that speaks etcd (through the `etcd-client` crate): a
//! small set of operations the cluster needs — leases, ranges under a
//! prefix, transactions guarded by a claim's revision, and one watch. Another
//! coordination backend would replace this file and nothing else.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, Identity,
    PutOptions, TlsOptions, Txn, TxnOp, WatchOptions,
};

use super::ClusterError;
use super::metrics::ClusterMetrics;

/// Client TLS for etcd: PEM files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// The CA that signed etcd's server certificates.
    pub ca_file: Option<String>,
    /// Client certificate (with `key_file`), for etcd's `--client-cert-auth`.
    pub cert_file: Option<String>,
    /// Client key.
    pub key_file: Option<String>,
}

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// `http://host:port` or `https://host:port`, one per member.
    pub endpoints: Vec<String>,
    /// TLS settings; `None` = plain `http://` endpoints.
    pub tls: Option<EtcdTls>,
    /// etcd user and password (`--cluster.etcd-user`).
    pub user: Option<(String, String)>,
    /// Bound on one request: a replica must notice within its lease that
    /// etcd does not answer.
    pub request_timeout: Duration,
}

/// One key and value under the cluster's prefix, with etcd's revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key without the cluster prefix.
    pub key: String,
    /// The value's bytes.
    pub value: Vec<u8>,
    /// Revision that created the key (a claim's fencing token).
    pub create_revision: i64,
    /// Revision of its last change.
    pub mod_revision: i64,
    /// The lease it rides on, 0 for none.
    pub lease: i64,
}

/// A change seen by the watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key was created or changed.
    Put(Entry),
    /// A key was deleted (or its lease expired).
    Delete(String),
}

/// One write of a transaction; keys are relative to the cluster prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Put a value (on this replica's lease when `leased`).
    Put {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
        /// Ride on the replica's lease (deleted when it expires).
        leased: bool,
    },
    /// Delete a key.
    Delete(String),
}

/// A condition a transaction checks before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The key exists and was created at this revision (a claim still held).
    CreatedAt(String, i64),
    /// The key does not exist.
    Absent(String),
}

/// etcd behind the operations the cluster uses. Cheap to clone.
///
/// One client per endpoint, one of them in use: etcd-client's own client
/// spreads requests over every endpoint and keeps sending a share of them
/// to a member that is down (etcdv3/etcd-client#39), so with one member of
/// three dead a transaction touching several shards almost never got
/// through. Here a failed request moves the next ones to the next
/// endpoint, and one that could not be served (etcd's `Unavailable`: no
/// connection, no leader) is tried at once on the others.
#[derive(Clone)]
pub struct Etcd {
    endpoints: Arc<[EndpointClient]>,
    /// Index of the endpoint in use.
    pinned: Arc<AtomicUsize>,
    options: ConnectOptions,
    prefix: String,
    metrics: ClusterMetrics,
}

/// One endpoint's client, connected on first use (with a user, etcd-client
/// authenticates when it connects, which needs the member up).
struct EndpointClient {
    url: String,
    client: tokio::sync::OnceCell<Client>,
}

impl std::fmt::Debug for Etcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Etcd")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The most operations one etcd transaction may carry (etcd's default
/// `--max-txn-ops` is 128; one is kept for the guard's own bookkeeping).
pub const MAX_TXN_OPS: usize = 120;

impl Etcd {
    /// Connects (lazily: the first request opens the connection, so a
    /// replica starts while etcd is down and reports it).
    pub async fn connect(
        options: &EtcdOptions,
        prefix: String,
        metrics: ClusterMetrics,
    ) -> Result<Etcd, ClusterError> {
        let mut connect = ConnectOptions::new()
            .with_timeout(options.request_timeout)
            .with_connect_timeout(options.request_timeout)
            // etcd refuses pings more often than every 5s
            // (`--grpc-keepalive-min-time`) and drops the connection.
            .with_keep_alive(Duration::from_secs(6), options.request_timeout)
            .with_keep_alive_while_idle(true)
            // A member without a leader answers "no leader" at once instead
            // of holding the request: that is how quorum loss is seen.
            .with_require_leader(true);
        if let Some((user, password)) = &options.user {
            connect = connect.with_user(user.clone(), password.clone());
        }
        if let Some(tls) = &options.tls {
            connect = connect.with_tls(tls_options(tls)?);
        }
        if options.endpoints.is_empty() {
            return Err(ClusterError::Config(
                "--cluster.etcd needs at least one endpoint".into(),
            ));
        }
        let endpoints: Arc<[EndpointClient]> = options
            .endpoints
            .iter()
            .map(|url| EndpointClient {
                url: url.clone(),
                client: tokio::sync::OnceCell::new(),
            })
            .collect();
        Ok(Etcd {
            endpoints,
            pinned: Arc::new(AtomicUsize::new(0)),
            options: connect,
            prefix,
            metrics,
        })
    }

    /// Runs `op` against the endpoint in use; see [`Etcd`] for failover.
    async fn call<T, F, Fut>(&self, name: &'static str, mut op: F) -> Result<T, ClusterError>
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let started = Instant::now();
        let count = self.endpoints.len();
        let first = self.pinned.load(Ordering::Relaxed);
        let mut result = Err(etcd_client::Error::InvalidArgs("no endpoint".into()));
        for k in 0..count {
            let i = (first + k) % count;
            let endpoint = &self.endpoints[i];
            let client = endpoint
                .client
                .get_or_try_init(|| Client::connect([&endpoint.url], Some(self.options.clone())))
                .await;
            result = match client {
                Ok(client) => op(client.clone()).await,
                Err(e) => Err(e),
            };
            let Err(e) = &result else {
                break;
            };
            let _ = self.pinned.compare_exchange(
                i,
                (i + 1) % count,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if !unserved(e) {
                break;
            }
            tracing::debug!(endpoint = %endpoint.url, error = %e, "etcd endpoint cannot serve; trying the next");
        }
        self.observe(name, started, result)
    }

    fn full(&self, key: &str) -> Vec<u8> {
        format!("{}{key}", self.prefix).into_bytes()
    }

    fn entry(&self, kv: &etcd_client::KeyValue) -> Option<Entry> {
        let key = std::str::from_utf8(kv.key()).ok()?;
        let key = key.strip_prefix(&self.prefix)?;
        Some(Entry {
            key: key.to_string(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
            lease: kv.lease(),
        })
    }

    fn observe<T>(
        &self,
        op: &'static str,
        started: Instant,
        result: Result<T, etcd_client::Error>,
    ) -> Result<T, ClusterError> {
        self.metrics
            .observe_request(op, started.elapsed(), result.is_ok());
        result.map_err(|e| ClusterError::Etcd(format!("etcd {op}: {e}")))
    }

    /// Grants a lease of `ttl`; returns its id and the TTL etcd granted.
    pub async fn grant(&self, ttl: Duration) -> Result<(i64, Duration), ClusterError> {
        let secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        let granted = self
            .call("lease_grant", |mut c| async move {
                c.lease_grant(secs, None).await
            })
            .await?;
        Ok((
            granted.id(),
            Duration::from_secs(u64::try_from(granted.ttl()).unwrap_or(0)),
        ))
    }

    /// Renews `lease` once; returns the TTL left (zero: the lease is gone).
    pub async fn keep_alive(&self, lease: i64) -> Result<Duration, ClusterError> {
        let result = self
            .call("lease_keep_alive", |mut client| async move {
                let (mut keeper, mut stream) = match client.lease_keep_alive(lease).await {
                    Ok(opened) => opened,
                    // etcd-client reports a lease etcd no longer knows (it
                    // expired) as this error, not as a TTL of zero: the
                    // caller must join again.
                    Err(etcd_client::Error::LeaseKeepAliveError(message))
                        if message == "lease not found" =>
                    {
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                };
                keeper.keep_alive().await?;
                stream.message().await
            })
            .await;
        let ttl = result?.map_or(0, |a| a.ttl());
        Ok(Duration::from_secs(u64::try_from(ttl).unwrap_or(0)))
    }

    /// The TTL left on someone's lease (for the status page); None when gone.
    pub async fn time_to_live(&self, lease: i64) -> Result<Option<Duration>, ClusterError> {
        let answer = self
            .call("lease_time_to_live", |mut c| async move {
                c.lease_time_to_live(lease, None).await
            })
            .await?;
        Ok((answer.ttl() > 0).then(|| Duration::from_secs(answer.ttl() as u64)))
    }

    /// Revokes a lease (clean shutdown: its keys go at once).
    pub async fn revoke(&self, lease: i64) -> Result<(), ClusterError> {
        self.call("lease_revoke", |mut c| async move {
            c.lease_revoke(lease).await
        })
        .await
        .map(|_| ())
    }

    /// Every entry under `prefix` (relative), and the revision it was read at.
    pub async fn range(&self, prefix: &str) -> Result<(Vec<Entry>, i64), ClusterError> {
        let key = self.full(prefix);
        let answer = self
            .call("range", |mut c| {
                let key = key.clone();
                async move { c.get(key, Some(GetOptions::new().with_prefix())).await }
            })
            .await?;
        let revision = answer.header().map_or(0, |h| h.revision());
        Ok((
            answer
                .kvs()
                .iter()
                .filter_map(|kv| self.entry(kv))
                .collect(),
            revision,
        ))
    }

    /// Runs `writes` if every guard holds: Some(revision of the write),
    /// or None when a guard failed (nothing written by that transaction).
    /// Writes past [`MAX_TXN_OPS`] go in further transactions under the
    /// same guards.
    pub async fn txn(
        &self,
        guards: &[Guard],
        writes: &[Write],
        lease: i64,
    ) -> Result<Option<i64>, ClusterError> {
        let compares: Vec<Compare> = guards
            .iter()
            .map(|g| match g {
                Guard::CreatedAt(key, revision) => {
                    Compare::create_revision(self.full(key), CompareOp::Equal, *revision)
                }
                Guard::Absent(key) => Compare::create_revision(self.full(key), CompareOp::Equal, 0),
            })
            .collect();
        let chunks: Vec<&[Write]> = if writes.is_empty() {
            vec![&[]]
        } else {
            writes.chunks(MAX_TXN_OPS).collect()
        };
        let mut revision = 0;
        for chunk in chunks {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|w| match w {
                    Write::Put { key, value, leased } => {
                        let options = leased.then(|| PutOptions::new().with_lease(lease));
                        TxnOp::put(self.full(key), value.clone(), options)
                    }
                    Write::Delete(key) => TxnOp::delete(self.full(key), None),
                })
                .collect();
            let txn = Txn::new().when(compares.clone()).and_then(ops);
            let answer = self
                .call("txn", |mut c| {
                    let txn = txn.clone();
                    async move { c.txn(txn).await }
                })
                .await?;
            if !answer.succeeded() {
                return Ok(None);
            }
            revision = answer.header().map_or(0, |h| h.revision());
        }
        Ok(Some(revision))
    }

    /// Watches everything under the prefix from `revision` on, calling
    /// `apply` with each batch of changes, until the stream ends or fails
    /// (the caller lists again and re-watches).
    pub async fn watch(
        &self,
        revision: i64,
        mut apply: impl FnMut(Vec<Change>),
    ) -> Result<(), ClusterError> {
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(revision);
        let mut stream = self
            .call("watch", |mut c| {
                let (key, options) = (self.prefix.clone(), options.clone());
                async move { c.watch(key, Some(options)).await }
            })
            .await?;
        loop {
            let message = stream
                .message()
                .await
                .map_err(|e| ClusterError::Etcd(format!("etcd watch: {e}")))?;
            let Some(response) = message else {
                return Ok(());
            };
            if response.canceled() {
                return Err(ClusterError::Etcd(format!(
                    "etcd cancelled the watch: {}",
                    response.cancel_reason()
                )));
            }
            let changes: Vec<Change> = response
                .events()
                .iter()
                .filter_map(|event| {
                    let kv = event.kv()?;
                    match event.event_type() {
                        EventType::Put => self.entry(kv).map(Change::Put),
                        EventType::Delete => {
                            let key = std::str::from_utf8(kv.key()).ok()?;
                            Some(Change::Delete(key.strip_prefix(&self.prefix)?.to_string()))
                        }
                    }
                })
                .collect();
            if !changes.is_empty() {
                apply(changes);
            }
        }
    }
}

/// gRPC's status code `UNAVAILABLE` (tonic is not a direct dependency).
const GRPC_UNAVAILABLE: i32 = 14;

/// The request was not served, so another endpoint may serve it: no
/// connection to the member, or the member answered `Unavailable` (no
/// leader, leader changed, shutting down). Every write of the cluster is
/// guarded or idempotent, so one that a member did serve late is harmless.
fn unserved(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::TransportError(_) => true,
        etcd_client::Error::GRpcStatus(status) => i32::from(status.code()) == GRPC_UNAVAILABLE,
        _ => false,
    }
}

fn tls_options(tls: &EtcdTls) -> Result<TlsOptions, ClusterError> {
    let read = |path: &str, what: &str| {
        std::fs::read(path)
            .map_err(|e| ClusterError::Config(format!("cannot read the etcd {what} {path}: {e}")))
    };
    let mut options = TlsOptions::new();
    if let Some(ca) = &tls.ca_file {
        options = options.ca_certificate(Certificate::from_pem(read(ca, "CA file")?));
    } else {
        options = options.with_native_roots();
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            options = options.identity(Identity::from_pem(
                read(cert, "client certificate")?,
                read(key, "client key")?,
            ));
        }
        (None, None) => {}
        _ => {
            return Err(ClusterError::Config(
                "--cluster.etcd-cert and --cluster.etcd-key go together: give both or neither"
                    .into(),
            ));
        }
    }
    Ok(options)
}
