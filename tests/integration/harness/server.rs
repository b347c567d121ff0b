//! An axum router served on 127.0.0.1 (port 0: no port race) from its own
//! thread and tokio runtime, so synchronous and async tests can both start
//! one; it stops when the handle is dropped. Every in-process fake of the
//! harness (exporter, sinks, fake Slack, klaxon's Alertmanager API) runs on
//! one.

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;

/// A running server; dropping it closes the port and every connection.
pub struct LocalServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LocalServer {
    /// Serves `app` on a free port, from a single-threaded runtime; `name`
    /// shows in the thread name and error messages.
    pub fn start(name: &str, app: Router) -> LocalServer {
        LocalServer::start_at(name, 0, 1, app)
    }

    /// Serves `app` on `port` if it is free (a restarted server keeps its
    /// address), otherwise on a free one, from a runtime of
    /// `worker_threads` threads (1: the runtime of the server's thread only).
    pub fn start_at(name: &str, port: u16, worker_threads: usize, app: Router) -> LocalServer {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .or_else(|_| TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("{name}: cannot bind 127.0.0.1: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{name}: no local address: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{name}: cannot make the socket non-blocking: {e}"));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let label = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                let mut builder = if worker_threads > 1 {
                    let mut builder = tokio::runtime::Builder::new_multi_thread();
                    builder.worker_threads(worker_threads);
                    builder
                } else {
                    tokio::runtime::Builder::new_current_thread()
                };
                let runtime = builder
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("{label}: cannot build a runtime: {e}"));
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .unwrap_or_else(|e| panic!("{label}: bad listener: {e}"));
                    tokio::select! {
                        result = axum::serve(listener, app) => {
                            if let Err(e) = result {
                                eprintln!("{label} on {addr} stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Shutting the runtime down closes the listener and every
                // open connection, without waiting for idle keep-alive
                // connections (Prometheus keeps its scrape connection
                // open), and drops the router with whatever it holds (an
                // open store is released when the thread ends).
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .unwrap_or_else(|e| panic!("{name}: cannot spawn its thread: {e}"));
        LocalServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
