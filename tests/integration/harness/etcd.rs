//! A real etcd cluster (`/usr/bin/etcd`, Debian's 3.4) for the cluster
//! tests: N members on free ports of 127.0.0.1, each with its own data
//! directory in one temporary directory, elections tuned to be quick, every
//! member killed when the handle is dropped (their logs printed when the
//! test panics).
//!
//! Members are reached through etcd's JSON gateway to its v3 API (`/v3/...`,
//! keys and values in base64, 64-bit numbers as decimal strings), with the
//! harness's blocking HTTP client, so no etcd client is needed in tests.
//! The functions of this module take a member's URL (or a proxy's); the
//! methods of [`EtcdCluster`] take a member's index.
//!
//! ```ignore
//! let mut etcd = EtcdCluster::start(3);
//! let leader = etcd.leader().expect("a leader");
//! etcd.kill(leader);
//! etcd.wait_healthy(Duration::from_secs(10));
//! etcd.put(0, "k", "v").expect("the two others still have quorum");
//! ```

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::http;
use super::process::{CommandSpec, ManagedProcess, free_port};

/// The etcd binary; `KLAXON_TEST_ETCD` overrides it.
fn etcd_binary() -> PathBuf {
    std::env::var_os("KLAXON_TEST_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"))
}

/// How long a new cluster may take to elect a leader and answer healthy.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many sets of ports to try when one turns out to be taken meanwhile.
const PORT_ATTEMPTS: u32 = 3;
/// How long one request to a member may take. A member without quorum
/// holds a write for etcd's own request timeout (about 6 s here) before it
/// answers an error; tests want that failure sooner.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Raft heartbeat and election timeout (ms): a leader's death is noticed
/// and a new one elected within about a second.
const HEARTBEAT_MS: u32 = 50;
const ELECTION_TIMEOUT_MS: u32 = 500;

/// One member: its process, its ports, and whether the test wants it up.
struct Member {
    process: ManagedProcess,
    name: String,
    client_port: u16,
    peer_port: u16,
    /// Cleared by [`EtcdCluster::kill`], set by [`EtcdCluster::restart`]:
    /// health and leadership look only at members meant to run.
    up: bool,
}

/// What `POST /v3/maintenance/status` says about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// The member's own raft id.
    pub member_id: u64,
    /// The leader it follows (or is); None while it knows of none.
    pub leader: Option<u64>,
    /// The raft term it is in.
    pub raft_term: u64,
}

/// A key-value pair read back from etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key (lossily decoded as UTF-8).
    pub key: String,
    /// The value's bytes.
    pub value: Vec<u8>,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// The lease it rides on; 0 for none.
    pub lease: i64,
}

impl Kv {
    /// The value, lossily decoded as UTF-8.
    pub fn value_str(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }
}

/// A running etcd cluster; see the module documentation.
pub struct EtcdCluster {
    // Dropped first: the processes are killed before their directory goes.
    members: Vec<Member>,
    token: String,
    dir: TempDir,
}

impl EtcdCluster {
    /// Starts `members` etcd members forming one new cluster and waits until
    /// every one of them answers healthy. Panics (with their logs) when the
    /// cluster does not come up.
    pub fn start(members: usize) -> EtcdCluster {
        assert!(members > 0, "an etcd cluster needs at least one member");
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-etcd-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let mut cluster = EtcdCluster {
            members: Vec::new(),
            token: unique_token(),
            dir,
        };
        let mut last_error = String::new();
        for attempt in 1..=PORT_ATTEMPTS {
            cluster.bootstrap(members);
            match cluster.try_wait_healthy(START_TIMEOUT) {
                Ok(()) => return cluster,
                Err(e) if e.contains("address already in use") && attempt < PORT_ATTEMPTS => {
                    last_error = e;
                    cluster.discard_members();
                }
                Err(e) => panic!("etcd cluster of {members} did not become healthy: {e}"),
            }
        }
        panic!("etcd cluster did not start ({PORT_ATTEMPTS} sets of ports tried): {last_error}");
    }

    /// Picks ports for every member and starts them all with
    /// `--initial-cluster-state new`.
    fn bootstrap(&mut self, count: usize) {
        let mut taken = BTreeSet::new();
        let mut distinct_port = || loop {
            let port = free_port();
            if taken.insert(port) {
                return port;
            }
        };
        self.members = (0..count)
            .map(|i| {
                let name = format!("etcd{i}");
                Member {
                    process: ManagedProcess::new(&name, self.dir.path()),
                    name,
                    client_port: distinct_port(),
                    peer_port: distinct_port(),
                    up: true,
                }
            })
            .collect();
        for i in 0..count {
            self.spawn(i, "new");
        }
    }

    /// Kills every member and wipes their data (a failed bootstrap).
    fn discard_members(&mut self) {
        for member in &mut self.members {
            member.process.kill9();
            let _ = std::fs::remove_dir_all(self.dir.path().join(format!("{}.etcd", member.name)));
        }
        self.members.clear();
    }

    /// Starts member `i` with its ports and data directory.
    fn spawn(&mut self, i: usize, cluster_state: &str) {
        let initial_cluster = self
            .members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let member = &self.members[i];
        let client_url = format!("http://127.0.0.1:{}", member.client_port);
        let peer_url = format!("http://127.0.0.1:{}", member.peer_port);
        let data_dir = self.dir.path().join(format!("{}.etcd", member.name));
        let args: Vec<OsString> = [
            "--name",
            &member.name,
            "--data-dir",
            &data_dir.to_string_lossy(),
            "--listen-client-urls",
            &client_url,
            "--advertise-client-urls",
            &client_url,
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
            "--initial-cluster",
            &initial_cluster,
            "--initial-cluster-state",
            cluster_state,
            "--initial-cluster-token",
            &self.token,
            "--heartbeat-interval",
            &HEARTBEAT_MS.to_string(),
            "--election-timeout",
            &ELECTION_TIMEOUT_MS.to_string(),
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        // etcd reads ETCD_* variables as flags: none may leak in from the
        // developer's shell.
        let env_removals = std::env::vars_os()
            .map(|(name, _)| name)
            .filter(|name| name.to_string_lossy().starts_with("ETCD"))
            .collect();
        let spec = CommandSpec {
            program: etcd_binary(),
            args,
            envs: Vec::new(),
            env_removals,
            cwd: self.dir.path().to_path_buf(),
        };
        let member = &mut self.members[i];
        member
            .process
            .spawn(&spec)
            .unwrap_or_else(|e| panic!("{}: {e}", member.name));
        member.up = true;
    }

    /// `http://127.0.0.1:PORT` of member `i`'s client API.
    pub fn client_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].client_port)
    }

    /// Every member's client URL, in member order.
    pub fn client_urls(&self) -> Vec<String> {
        (0..self.members.len())
            .map(|i| self.client_url(i))
            .collect()
    }

    /// Every member's client address (a [`super::tcp_proxy::TcpProxy`]
    /// target), in member order.
    pub fn client_addrs(&self) -> Vec<SocketAddr> {
        self.members
            .iter()
            .map(|m| SocketAddr::from(([127, 0, 0, 1], m.client_port)))
            .collect()
    }

    /// The client URLs joined by commas: the value for klaxon's etcd flag.
    pub fn endpoints_arg(&self) -> String {
        self.client_urls().join(",")
    }

    /// Whether member `i`'s process is alive.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.members[i].process.is_running()
    }

    /// `kill -9` of member `i`: no shutdown, no leadership transfer.
    pub fn kill(&mut self, i: usize) {
        let member = &mut self.members[i];
        member.process.kill9();
        member.up = false;
    }

    /// Starts member `i` again on its ports and data directory (with
    /// `--initial-cluster-state existing`), killing it first if it still
    /// runs. Does not wait: [`EtcdCluster::wait_healthy`] does.
    pub fn restart(&mut self, i: usize) {
        self.members[i].process.kill9();
        self.spawn(i, "existing");
    }

    /// Waits until every member meant to run answers `GET /health` with
    /// `{"health":"true"}` (it is up and follows a leader with quorum).
    /// Panics with the last answers and the logs after `timeout`, or at once
    /// when such a member has exited.
    pub fn wait_healthy(&mut self, timeout: Duration) {
        if let Err(e) = self.try_wait_healthy(timeout) {
            panic!("etcd cluster not healthy: {e}");
        }
    }

    fn try_wait_healthy(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let mut unhealthy = Vec::new();
            for i in 0..self.members.len() {
                if !self.members[i].up {
                    continue;
                }
                if let Some(status) = self.members[i].process.exit_status() {
                    return Err(format!(
                        "{} exited with {status}\n{}",
                        self.members[i].name,
                        self.members[i].process.log_tail(40)
                    ));
                }
                if let Err(e) = self.health(i) {
                    unhealthy.push(format!("{}: {e}", self.members[i].name));
                }
            }
            if unhealthy.is_empty() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "after {timeout:?}: {}\n{}",
                    unhealthy.join("; "),
                    self.log_tails(20)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /health` of member `i`: see [`health`].
    pub fn health(&self, i: usize) -> Result<(), String> {
        health(&self.client_url(i))
    }

    /// `POST /v3/maintenance/status` of member `i`: see [`status`].
    pub fn status(&self, i: usize) -> Result<MemberStatus, String> {
        status(&self.client_url(i))
    }

    /// The member leading the cluster: one that is meant to run, answers,
    /// and is the leader a quorum of all members reports. None while there
    /// is no such member (an election under way, quorum lost).
    pub fn leader(&self) -> Option<usize> {
        let statuses: Vec<(usize, MemberStatus)> = (0..self.members.len())
            .filter(|&i| self.members[i].up)
            .filter_map(|i| self.status(i).ok().map(|s| (i, s)))
            .collect();
        let quorum = self.members.len() / 2 + 1;
        statuses.iter().find_map(|(i, own)| {
            let followers = statuses
                .iter()
                .filter(|(_, s)| s.leader == Some(own.member_id))
                .count();
            (followers >= quorum).then_some(*i)
        })
    }

    /// Waits until a member leads the cluster and returns it; panics after
    /// `timeout` with every member's status.
    pub fn wait_leader(&self, timeout: Duration) -> usize {
        super::wait::wait_for(timeout, "an etcd member leads the cluster", || {
            self.leader().ok_or_else(|| {
                (0..self.members.len())
                    .map(|i| (i, self.members[i].up, self.status(i)))
                    .collect::<Vec<_>>()
            })
        })
    }

    /// `put` on member `i`: see [`put`].
    pub fn put(&self, i: usize, key: &str, value: &str) -> Result<i64, String> {
        put(&self.client_url(i), key, value)
    }

    /// `get` on member `i`: see [`get`].
    pub fn get(&self, i: usize, key: &str) -> Result<Option<Kv>, String> {
        get(&self.client_url(i), key)
    }

    /// `get_prefix` on member `i`: see [`get_prefix`].
    pub fn get_prefix(&self, i: usize, prefix: &str) -> Result<Vec<Kv>, String> {
        get_prefix(&self.client_url(i), prefix)
    }

    /// The last `lines` lines of every member's log.
    fn log_tails(&self, lines: usize) -> String {
        self.members
            .iter()
            .map(|m| m.process.log_tail(lines))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `GET /health` of the member at `url` (`http://127.0.0.1:PORT`): Ok when
/// it answers `{"health":"true"}` (it is up and follows a leader with
/// quorum).
pub fn health(url: &str) -> Result<(), String> {
    let url = format!("{url}/health");
    let response = http::request_within("GET", &url, &[], None, REQUEST_TIMEOUT)
        .map_err(|e| format!("GET {url}: {e}"))?;
    let body = response.json()?;
    if response.status == 200 && body["health"] == "true" {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", response.status, response.body))
    }
}

/// `POST /v3/maintenance/status` of the member at `url`.
pub fn status(url: &str) -> Result<MemberStatus, String> {
    let body = call(url, "/v3/maintenance/status", &json!({}))?;
    let number = |value: &Value, what: &str| {
        value
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| format!("status of {url}: no {what} in {body}"))
    };
    Ok(MemberStatus {
        member_id: number(&body["header"]["member_id"], "header.member_id")?,
        // Absent (zero) while the member knows of no leader.
        leader: match &body["leader"] {
            Value::Null => None,
            value => Some(number(value, "leader")?).filter(|id| *id != 0),
        },
        raft_term: number(&body["raftTerm"], "raftTerm")?,
    })
}

/// `POST /v3/kv/put` through `url` (a member or a proxy in front of one);
/// returns the revision written. Err when no answer comes within
/// [`REQUEST_TIMEOUT`] or the answer is an error (no quorum, no leader).
pub fn put(url: &str, key: &str, value: &str) -> Result<i64, String> {
    let body = call(
        url,
        "/v3/kv/put",
        &json!({"key": BASE64.encode(key), "value": BASE64.encode(value)}),
    )?;
    parse_i64(&body["header"]["revision"]).ok_or_else(|| format!("put: no revision in {body}"))
}

/// `POST /v3/kv/range` of one key through `url` (a linearizable read: it
/// needs quorum).
pub fn get(url: &str, key: &str) -> Result<Option<Kv>, String> {
    let body = call(url, "/v3/kv/range", &json!({"key": BASE64.encode(key)}))?;
    Ok(parse_kvs(&body)?.into_iter().next())
}

/// Every key starting with `prefix`, in key order, read through `url`.
pub fn get_prefix(url: &str, prefix: &str) -> Result<Vec<Kv>, String> {
    let body = call(
        url,
        "/v3/kv/range",
        &json!({
            "key": BASE64.encode(prefix),
            "range_end": BASE64.encode(prefix_end(prefix.as_bytes())),
        }),
    )?;
    parse_kvs(&body)
}

/// One JSON call to a member's gateway; Err for no answer in time, a
/// non-200 answer or one carrying an error.
fn call(url: &str, path: &str, request: &Value) -> Result<Value, String> {
    let url = format!("{url}{path}");
    let payload = request.to_string();
    let response = http::request_within(
        "POST",
        &url,
        &[],
        Some(("application/json", payload.as_bytes())),
        REQUEST_TIMEOUT,
    )
    .map_err(|e| format!("POST {url}: {e}"))?;
    let body = response.json()?;
    if response.status != 200 || body.get("error").is_some() {
        return Err(format!(
            "POST {url}: HTTP {}: {}",
            response.status, response.body
        ));
    }
    Ok(body)
}

/// A cluster token no other cluster on this machine uses, so members of
/// two tests can never join each other.
fn unique_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "klaxon-test-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The end of the range of keys starting with `prefix` (etcd's
/// `range_end`): the prefix with its last byte below 0xff incremented.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff (or empty): every key from the prefix on.
    vec![0]
}

/// An int64 of the gateway's JSON: a decimal string (or absent for 0).
fn parse_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Null => Some(0),
        Value::String(s) => s.parse().ok(),
        other => other.as_i64(),
    }
}

/// The `kvs` of a range answer.
fn parse_kvs(body: &Value) -> Result<Vec<Kv>, String> {
    let Some(kvs) = body.get("kvs") else {
        return Ok(Vec::new());
    };
    let bytes = |value: &Value, what: &str| {
        BASE64
            .decode(value.as_str().unwrap_or_default())
            .map_err(|e| format!("range: {what} is not base64 ({e}) in {body}"))
    };
    kvs.as_array()
        .ok_or_else(|| format!("range: kvs is not a list in {body}"))?
        .iter()
        .map(|kv| {
            Ok(Kv {
                key: String::from_utf8_lossy(&bytes(&kv["key"], "key")?).into_owned(),
                value: bytes(&kv["value"], "value")?,
                mod_revision: parse_i64(&kv["mod_revision"])
                    .ok_or_else(|| format!("range: bad mod_revision in {body}"))?,
                lease: parse_i64(&kv["lease"])
                    .ok_or_else(|| format!("range: bad lease in {body}"))?,
            })
        })
        .collect()
}
