//! Serving the API's connections so that clients cannot take klaxon's file
//! descriptors or its attention away from alerting:
//!
//! - A connection gets `idle_timeout` to start a request (after accept and
//!   between keep-alive requests) and `header_timeout` to finish its head
//!   once it started; a request body must arrive whole within
//!   `body_timeout` (408 otherwise). A connection that moves no byte for
//!   `idle_timeout` while no handler runs (a client that does not read its
//!   answer) is closed too. Handlers themselves are not timed.
//! - At most `max_connections` at once, fewer when the open-file limit
//!   would leave too few descriptors for deliveries, datasources and the
//!   store ([`connection_cap`]). When full, the connection that waits on its
//!   client and moved no byte for the longest (idle between requests, or
//!   still sending its request body) is closed to make room for the new
//!   one, so idle, slow-header or slow-body sockets cannot lock out health
//!   checks; only when every connection is in a handler that has its whole
//!   request do new ones wait in the listen backlog.
//! - On shutdown, accepting stops, idle connections close and requests in
//!   progress finish.
//!
//! HTTP/1.1 only, as before (hyper's server connection under the axum
//! router).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};

/// The limits of [`serve`]; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to start a request, and to move a byte while no handler runs.
    pub idle_timeout: Duration,
    /// Time to finish a request head once its first byte arrived.
    pub header_timeout: Duration,
    /// Time for a whole request body, from the end of its head.
    pub body_timeout: Duration,
    /// Connections served at once (before [`connection_cap`] lowers it).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

/// Descriptors kept out of the connection cap for outgoing deliveries and
/// queries, the store, logs and the runtime: a quarter of the limit, at
/// least this many.
const RESERVED_DESCRIPTORS: u64 = 128;

/// How long shutdown waits for requests in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Raises the soft open-file limit to the hard limit, as Go programs
/// (Prometheus, Alertmanager) do at start, and returns the limit now in
/// force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct
        // passed, which lives on this stack frame.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = limit.rlim_max;
                }
            }
        }
        Some(limit.rlim_cur)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// The connections to serve at once: `configured`, lowered so that
/// `open_files` keeps a reserve (a quarter, at least 128) for everything
/// else klaxon opens; at least one.
pub fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return configured.max(1);
    };
    let reserve = (limit / 4).max(RESERVED_DESCRIPTORS);
    let available = match limit.checked_sub(reserve) {
        Some(n) if n >= 16 => n,
        // A tiny limit: split it.
        _ => limit / 2,
    };
    configured
        .min(usize::try_from(available).unwrap_or(usize::MAX))
        .max(1)
}

/// Serves `router` on `listener` within `limits` (the cap already
/// derived) until `shutdown` completes, then lets requests in progress
/// finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(cap));
    let open = Arc::new(OpenConnections::default());
    let epoch = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut next_id: u64 = 0;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => return finish(listener, stop_tx, slots, cap).await,
        };
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => loop {
                // Full: make room, asking again should the connection asked
                // have become busy meanwhile.
                open.close_idlest();
                tokio::select! {
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => return Ok(()),
                    },
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    () = &mut shutdown => {
                        drop(stream);
                        return finish(listener, stop_tx, slots, cap).await;
                    }
                }
            },
        };
        next_id += 1;
        let conn = Arc::new(Conn::new(next_id, epoch));
        open.insert(&conn);
        let task = ConnectionTask {
            router: router.clone(),
            conn,
            open: Arc::clone(&open),
            limits,
            stop: stop_rx.clone(),
            _permit: permit,
        };
        tokio::spawn(task.run(stream));
    }
}

/// Stops accepting, closes idle connections and waits for the others.
async fn finish(
    listener: TcpListener,
    stop: watch::Sender<bool>,
    slots: Arc<Semaphore>,
    cap: usize,
) -> io::Result<()> {
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "API requests still in progress at shutdown were cut off"
        );
    }
    Ok(())
}

/// An accept that failed: a connection gone before it was taken is
/// nothing; running out of descriptors (which the cap should prevent) is
/// logged, and accepting pauses so the log is not flooded.
async fn accept_failed(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept API connections; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// What the watchdog of one connection knows of it.
struct Conn {
    id: u64,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last byte read or written.
    last_progress: AtomicU64,
    /// Milliseconds since `epoch` (plus one, zero meaning none) when the
    /// head of the next request started arriving.
    head_started: AtomicU64,
    /// Requests in handlers.
    busy: AtomicUsize,
    /// Requests in handlers whose body has not arrived whole: klaxon waits
    /// on the client there, as between requests.
    awaiting_body: AtomicUsize,
    /// Wakes the watchdog to close the connection for a newer one.
    evict: Notify,
}

impl Conn {
    fn new(id: u64, epoch: Instant) -> Conn {
        let conn = Conn {
            id,
            epoch,
            last_progress: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            awaiting_body: AtomicUsize::new(0),
            evict: Notify::new(),
        };
        conn.last_progress.store(conn.now(), Ordering::Relaxed);
        conn
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let now = self.now();
        self.last_progress.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::Relaxed) == 0 {
            let _ = self.head_started.compare_exchange(
                0,
                now + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn wrote(&self, bytes: usize) {
        if bytes > 0 {
            self.last_progress.store(self.now(), Ordering::Relaxed);
        }
    }

    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Relaxed) == 0
    }

    /// Waiting on the client: no handler, or a handler still reading the
    /// request body. Such a connection may be closed for a new one.
    fn waits_on_client(&self) -> bool {
        self.is_idle() || self.awaiting_body.load(Ordering::Relaxed) > 0
    }

    /// When the connection is to be closed and why, or `None` while a
    /// handler runs.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(u64, &'static str)> {
        if !self.is_idle() {
            return None;
        }
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let idle_until = self
            .last_progress
            .load(Ordering::Relaxed)
            .saturating_add(millis(limits.idle_timeout));
        match self.head_started.load(Ordering::Relaxed) {
            0 => Some((idle_until, "no request within the idle timeout")),
            started => {
                let head_until = (started - 1).saturating_add(millis(limits.header_timeout));
                Some(if head_until <= idle_until {
                    (
                        head_until,
                        "request head not complete within the header timeout",
                    )
                } else {
                    (idle_until, "no byte within the idle timeout")
                })
            }
        }
    }

    /// Completes when the connection is to be closed, saying why.
    async fn expired(&self, limits: &ConnectionLimits) -> &'static str {
        loop {
            let wait = match self.deadline(limits) {
                Some((at, why)) => {
                    let now = self.now();
                    if at <= now {
                        return why;
                    }
                    // Look again within a header timeout: a head may start
                    // arriving meanwhile, with its own deadline.
                    Duration::from_millis(at - now).min(limits.header_timeout)
                }
                // A handler runs; look again a little later.
                None => limits.idle_timeout.min(limits.header_timeout),
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.evict.notified() => {
                    if self.waits_on_client() {
                        return "closed for a new connection (connection limit reached)";
                    }
                }
            }
        }
    }
}

/// The open connections, for eviction.
#[derive(Default)]
struct OpenConnections(Mutex<HashMap<u64, Arc<Conn>>>);

impl OpenConnections {
    fn insert(&self, conn: &Arc<Conn>) {
        if let Ok(mut open) = self.0.lock() {
            open.insert(conn.id, Arc::clone(conn));
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut open) = self.0.lock() {
            open.remove(&id);
        }
    }

    /// Asks the connection waiting on its client that moved no byte for the
    /// longest to close.
    fn close_idlest(&self) {
        let Ok(open) = self.0.lock() else {
            return;
        };
        let idlest = open
            .values()
            .filter(|c| c.waits_on_client())
            .min_by_key(|c| c.last_progress.load(Ordering::Relaxed));
        if let Some(conn) = idlest {
            conn.evict.notify_one();
        }
    }
}

/// One connection being served.
struct ConnectionTask {
    router: Router,
    conn: Arc<Conn>,
    open: Arc<OpenConnections>,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
    /// Its slot under the cap, returned when the task ends.
    _permit: OwnedSemaphorePermit,
}

impl ConnectionTask {
    async fn run(mut self, stream: TcpStream) {
        let conn = Arc::clone(&self.conn);
        let io = TokioIo::new(Watched {
            io: stream,
            conn: Arc::clone(&conn),
        });
        let router = TowerToHyperService::new(self.router.clone());
        let body_timeout = self.limits.body_timeout;
        let service = hyper::service::service_fn(move |request: axum::http::Request<Incoming>| {
            let handling = Handling::start(Arc::clone(&conn));
            let request = request.map(|body| DeadlineBody::new(body, body_timeout, &conn));
            let answer = hyper::service::Service::call(&router, request);
            async move {
                let answer = answer.await;
                drop(handling);
                answer
            }
        });
        let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        tokio::pin!(connection);
        let mut stopping = *self.stop.borrow();
        if stopping {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "API connection ended");
                    }
                    break;
                }
                why = self.conn.expired(&self.limits) => {
                    tracing::debug!(reason = why, "closing an API connection");
                    break;
                }
                changed = self.stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
        self.open.remove(self.conn.id);
    }
}

/// A request in a handler: the connection is not idle meanwhile.
struct Handling(Arc<Conn>);

impl Handling {
    fn start(conn: Arc<Conn>) -> Handling {
        conn.busy.fetch_add(1, Ordering::Relaxed);
        conn.head_started.store(0, Ordering::Relaxed);
        Handling(conn)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        let now = self.0.now();
        self.0.last_progress.store(now, Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that tells its [`Conn`] about every byte moved.
struct Watched {
    io: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.conn.read(buf.filled().len() - before);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.conn.wrote(n);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            self.conn.wrote(n);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request body that fails with [`BodyTimeout`] unless it has arrived
/// whole by a deadline, and that marks its connection as waiting on the
/// client until then.
struct DeadlineBody {
    inner: Incoming,
    deadline: Option<Pin<Box<Sleep>>>,
    limit: Duration,
    /// Set while the body is still arriving.
    awaiting: Option<Arc<Conn>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, limit: Duration, conn: &Arc<Conn>) -> DeadlineBody {
        // No timer for requests without a body (most of them).
        let pending = !inner.is_end_stream();
        let deadline = pending.then(|| Box::pin(tokio::time::sleep(limit)));
        let awaiting = pending.then(|| {
            conn.awaiting_body.fetch_add(1, Ordering::Relaxed);
            Arc::clone(conn)
        });
        DeadlineBody {
            inner,
            deadline,
            limit,
            awaiting,
        }
    }

    fn arrived(&mut self) {
        if let Some(conn) = self.awaiting.take() {
            conn.awaiting_body.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for DeadlineBody {
    fn drop(&mut self) {
        self.arrived();
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.as_ref().is_none_or(Result::is_err) || this.inner.is_end_stream() {
                this.arrived();
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that did not arrive within `--api.body-timeout`.
#[derive(Debug)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {:?} (--api.body-timeout)",
            self.0
        )
    }
}

impl StdError for BodyTimeout {}

/// The [`BodyTimeout`] somewhere in `error`'s chain of causes.
pub fn body_timeout<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a BodyTimeout> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(timeout) = error.downcast_ref::<BodyTimeout>() {
            return Some(timeout);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_descriptors_for_everything_else() {
        assert_eq!(connection_cap(512, Some(1024)), 512);
        assert_eq!(connection_cap(512, Some(256)), 128);
        assert_eq!(connection_cap(512, Some(600)), 450);
        assert_eq!(connection_cap(2048, Some(1024)), 768);
        assert_eq!(connection_cap(512, Some(100)), 50);
        assert_eq!(connection_cap(512, Some(1)), 1);
        assert_eq!(connection_cap(512, None), 512);
    }

    #[test]
    fn the_deadline_follows_the_phase_of_the_connection() {
        let limits = ConnectionLimits {
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            ..ConnectionLimits::default()
        };
        let conn = Arc::new(Conn::new(1, Instant::now()));
        let start = conn.now();
        let (at, why) = conn.deadline(&limits).unwrap();
        assert!(why.contains("idle") && (start + 60_000..=start + 61_000).contains(&at));
        // The first bytes of a head: the header timeout counts.
        conn.read(10);
        let (at, why) = conn.deadline(&limits).unwrap();
        assert!(why.contains("header") && at <= conn.now() + 10_000);
        // In a handler: no deadline (the body has its own).
        let handling = Handling::start(Arc::clone(&conn));
        conn.read(10);
        assert_eq!(conn.deadline(&limits), None);
        // Answered: idle again, the next head not started.
        drop(handling);
        let (_, why) = conn.deadline(&limits).unwrap();
        assert!(why.contains("idle"), "{why}");
        conn.read(0);
        assert!(conn.deadline(&limits).unwrap().1.contains("idle"));
    }
}
