//! A TCP proxy on 127.0.0.1 in front of one server, which a test can cut:
//! to take one klaxon replica off etcd while it still reaches everything
//! else (point the replica at proxies in front of the etcd members, the
//! other replicas at etcd itself).
//!
//! - [`TcpProxy::cut`]: every open connection is closed and every new one is
//!   accepted and closed at once (the replica sees errors at once).
//! - [`TcpProxy::blackhole`]: bytes stop flowing both ways but connections
//!   stay open and new ones are accepted and held (a network partition: the
//!   replica sees only silence and its own timeouts). Bytes read meanwhile
//!   are delivered after [`TcpProxy::restore`], as TCP would.
//! - [`TcpProxy::restore`]: forwarding again.
//!
//! It runs on its own thread and tokio runtime, so synchronous and async
//! tests can both use it; dropping it closes the port and every connection.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Cut,
    Blackhole,
}

/// A running proxy; see the module documentation.
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    mode: watch::Sender<Mode>,
    accepted: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Forwards a free port of 127.0.0.1 to `target`.
    pub fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("tcp proxy: cannot bind 127.0.0.1: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("tcp proxy: no local address: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("tcp proxy: cannot make the socket non-blocking: {e}"));
        let (mode, mode_seen) = watch::channel(Mode::Forward);
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("tcp-proxy-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("tcp proxy: cannot build a runtime: {e}"));
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .unwrap_or_else(|e| panic!("tcp proxy: bad listener: {e}"));
                    tokio::select! {
                        () = accept_loop(listener, target, mode_seen, counter) => {}
                        _ = stopped => {}
                    }
                });
                // Closes the listener and every connection task's sockets.
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .unwrap_or_else(|e| panic!("tcp proxy: cannot spawn its thread: {e}"));
        TcpProxy {
            addr,
            target,
            mode,
            accepted,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server behind the proxy.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// How many connections the proxy has accepted so far (whatever it did
    /// with them): shows that a client really goes through it.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Closes every open connection and, until [`TcpProxy::restore`], closes
    /// each new one as soon as it is accepted.
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// Until [`TcpProxy::restore`], forwards nothing and closes nothing:
    /// open and new connections stay open in silence.
    pub fn blackhole(&self) {
        self.mode.send_replace(Mode::Blackhole);
    }

    /// Forwards again (new connections; connections held by a blackhole
    /// resume, with what was sent meanwhile).
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    target: SocketAddr,
    mode: watch::Receiver<Mode>,
    accepted: Arc<AtomicUsize>,
) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                // Out of file descriptors or the like: retry, not a busy loop.
                eprintln!("tcp proxy for {target}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        let mode = mode.clone();
        tokio::spawn(async move {
            // Whatever happens inside, a cut ends the connection: dropping
            // the future drops (closes) both sockets.
            let mut cut = mode.clone();
            tokio::select! {
                () = connect_and_pump(client, target, mode) => {}
                _ = cut.wait_for(|m| *m == Mode::Cut) => {}
            }
        });
    }
}

/// Forwards one connection both ways, pausing while blackholed.
async fn connect_and_pump(client: TcpStream, target: SocketAddr, mut mode: watch::Receiver<Mode>) {
    // A connection made while blackholed waits, as an unanswered SYN would.
    if mode.wait_for(|m| *m == Mode::Forward).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(target).await else {
        // The server is down: the client sees its connection closed.
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(client_read, server_write, mode.clone()),
        pump(server_read, client_write, mode),
    );
}

/// Copies one direction until end of file or an error, then half-closes
/// the other side; holds what it read while the proxy is blackholed.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if mode.wait_for(|m| *m == Mode::Forward).await.is_err() {
            break;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
