//! Three `klaxon serve` replicas on a three-member etcd 3.4 cluster (real
//! etcd, real processes, a webhook receiver that records every delivery,
//! a query API that counts every query): each group is evaluated by one
//! replica, a killed replica's groups move with their state, a
//! notification goes out once whichever replica receives the alert, and
//! silences made on one replica mute on the others.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use serde_json::Value;

use crate::harness::server::LocalServer;
use crate::harness::{EtcdCluster, Klaxon, WebhookSink, wait_for};

/// Lease TTL the replicas run with: failover tests wait for it.
pub const TTL_SECONDS: u64 = 3;
const T: Duration = Duration::from_secs(60);

/// A Prometheus query API: every query `qN` answers one series with value
/// 1 (so each group's alert fires); records the evaluation time (ms) of
/// every query, by text.
pub struct CountingPrometheus {
    server: LocalServer,
    counts: Arc<Mutex<HashMap<String, Vec<i64>>>>,
}

impl CountingPrometheus {
    pub fn start() -> CountingPrometheus {
        let counts: Arc<Mutex<HashMap<String, Vec<i64>>>> = Arc::default();
        let seen = Arc::clone(&counts);
        let app = axum::Router::new().route(
            "/api/v1/query",
            axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
                let seen = Arc::clone(&seen);
                async move {
                    let query = q.get("query").cloned().unwrap_or_default();
                    let time: f64 = q
                        .get("time")
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_default();
                    seen.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(query.clone())
                        .or_default()
                        .push((time * 1000.0).round() as i64);
                    axum::Json(serde_json::json!({
                        "status": "success",
                        "data": {"resultType": "vector", "result": [
                            {"metric": {"instance": "db-1", "query": query}, "value": [time, "1"]}
                        ]}
                    }))
                }
            }),
        );
        CountingPrometheus {
            server: LocalServer::start_at("counting-prometheus", 0, 2, app),
            counts,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    pub fn counts(&self) -> HashMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(q, times)| (q.clone(), times.len() as u64))
            .collect()
    }

    /// Query text -> the evaluation time (unix ms) of each query, in
    /// arrival order: two replicas evaluating one slot show as one time
    /// twice.
    pub fn times(&self) -> HashMap<String, Vec<i64>> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `groups` groups `g0…`, each one alert on query `qN` that fires at
/// once, every `every`; one webhook receiver.
pub fn rules(groups: usize, every: &str, sink: &WebhookSink) -> String {
    let mut text = String::new();
    for i in 0..groups {
        text.push_str(&format!(
            "group g{i} {{\n  every {every}\n  alert A{i} {{\n    query prometheus `q{i}`\n    warning when value > 0\n  }}\n}}\n"
        ));
    }
    text.push_str(&format!(
        "receiver hook {{ webhook {{ url \"{}\" }} }}\nroute {{\n  receiver hook\n  group_by alertname\n  group_wait 1s\n  group_interval 1m\n  repeat_interval 1h\n}}\n",
        sink.url("/hook")
    ));
    text
}

/// A cluster under test: etcd, the shared rule file, the replicas.
pub struct Replicas {
    pub etcd: EtcdCluster,
    pub config: PathBuf,
    pub replicas: Vec<Option<Klaxon>>,
    _dir: tempfile::TempDir,
}

impl Replicas {
    /// Starts etcd and `n` replicas on one rule file (the same path for
    /// all, as a ConfigMap would give them).
    pub fn start(n: usize, config: &str, prometheus_url: &str, extra: &[&str]) -> Replicas {
        let etcd = EtcdCluster::start(3);
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-cluster-")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("klaxon.rules");
        std::fs::write(&path, config).unwrap_or_else(|e| panic!("write config: {e}"));
        let mut replicas = Vec::new();
        for i in 0..n {
            replicas.push(Some(start_replica(i, &etcd, &path, prometheus_url, extra)));
        }
        Replicas {
            etcd,
            config: path,
            replicas,
            _dir: dir,
        }
    }

    pub fn get(&self, i: usize) -> &Klaxon {
        self.replicas[i]
            .as_ref()
            .unwrap_or_else(|| panic!("replica {i} is not running"))
    }

    pub fn running(&self) -> impl Iterator<Item = (usize, &Klaxon)> {
        self.replicas
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.as_ref().map(|k| (i, k)))
    }

    /// `/api/v1/status/cluster` of replica `i`.
    pub fn status(&self, i: usize) -> Value {
        self.get(i).get_json("/api/v1/status/cluster")["data"].clone()
    }

    /// Replica name -> groups it holds, as replica `i` sees it.
    pub fn ownership(&self, i: usize) -> BTreeMap<String, Vec<String>> {
        let status = self.status(i);
        status["members"]
            .as_array()
            .map(|members| {
                members
                    .iter()
                    .map(|m| {
                        (
                            m["replica"].as_str().unwrap_or_default().to_string(),
                            m["groups"]
                                .as_array()
                                .map(|g| {
                                    g.iter()
                                        .filter_map(|x| x.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until every one of `groups` groups is held, by running
    /// replicas only.
    pub fn wait_all_owned(&self, groups: usize, within: Duration) -> BTreeMap<String, Vec<String>> {
        let (observer, _) = self
            .running()
            .next()
            .unwrap_or_else(|| panic!("no replica runs"));
        let names: Vec<String> = self.running().map(|(i, _)| format!("r{i}")).collect();
        wait_for(within, "every group is owned by a running replica", || {
            let last = self.ownership(observer);
            let held: usize = last
                .iter()
                .filter(|(r, _)| names.contains(r))
                .map(|(_, g)| g.len())
                .sum();
            if held == groups && last.keys().all(|r| names.contains(r)) {
                Ok(last)
            } else {
                Err(last)
            }
        })
    }

    /// Per group name (`gN`), the evaluations every running replica reports.
    pub fn iterations(&self) -> BTreeMap<String, Vec<(usize, f64)>> {
        let mut out: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
        for (i, k) in self.running() {
            for (labels, value) in k.metric("klaxon_group_iterations_total") {
                if let Some(group) = labels.get("rule_group").or_else(|| labels.get("group")) {
                    out.entry(group.clone()).or_default().push((i, value));
                }
            }
        }
        out
    }
}

pub fn start_replica(
    i: usize,
    etcd: &EtcdCluster,
    config: &std::path::Path,
    prometheus_url: &str,
    extra: &[&str],
) -> Klaxon {
    start_replica_on(i, &etcd.endpoints_arg(), config, prometheus_url, extra)
}

/// Like [`start_replica`], with the etcd endpoints given (proxies in front
/// of the members, to cut this replica off).
pub fn start_replica_on(
    i: usize,
    endpoints: &str,
    config: &std::path::Path,
    prometheus_url: &str,
    extra: &[&str],
) -> Klaxon {
    let ttl = format!("{TTL_SECONDS}s");
    let name = format!("r{i}");
    let mut args: Vec<String> = vec![
        "--log.level".into(),
        "info,klaxon::cluster=debug,klaxon::serve::cluster=debug,klaxon::notify=debug".into(),
        "--config".into(),
        config.display().to_string(),
        "--cluster.etcd".into(),
        endpoints.to_string(),
        "--cluster.replica".into(),
        name,
        "--cluster.lease-ttl".into(),
        ttl,
        "--cluster.name".into(),
        "test".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Klaxon::builder()
        .prometheus_url(prometheus_url)
        .args(args)
        .start()
}

/// Alert name -> how many times it was notified as firing.
pub fn notified_alertnames(sink: &WebhookSink) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in sink.delivered("/hook") {
        for a in r.body["alerts"].as_array().into_iter().flatten() {
            if a["status"] == "firing" {
                let name = a["labels"]["alertname"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                *out.entry(name).or_default() += 1;
            }
        }
    }
    out
}

/// The group name of an item (`<file>:<group>`).
fn group_of(item: &str) -> String {
    item.rsplit(':').next().unwrap_or(item).to_string()
}

#[test]
fn groups_are_spread_evaluated_once_and_move_with_their_state_when_a_replica_dies() {
    const GROUPS: usize = 30;
    let prometheus = CountingPrometheus::start();
    let sink = WebhookSink::start();
    let mut cluster = Replicas::start(3, &rules(GROUPS, "1s", &sink), &prometheus.url(), &[]);

    // Every group owned, spread over the three (replicas that joined
    // later take their share from the first within moments).
    let owners = wait_for(T, "the groups spread evenly", || {
        let owners = cluster.wait_all_owned(GROUPS, T);
        let counts: BTreeMap<&String, usize> = owners.iter().map(|(r, g)| (r, g.len())).collect();
        if owners.len() == 3 && counts.values().all(|n| (8..=12).contains(n)) {
            Ok(owners)
        } else {
            Err(counts
                .into_iter()
                .map(|(r, n)| (r.clone(), n))
                .collect::<Vec<_>>())
        }
    });
    // Every alert fired and was notified once.
    wait_for(T, "every alert is notified", || {
        let notified = notified_alertnames(&sink);
        let missing: Vec<String> = (0..GROUPS)
            .map(|i| format!("A{i}"))
            .filter(|name| !notified.contains_key(name))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        // Who holds each missing alert, and who owns which shard.
        let mut seen = Vec::new();
        for (i, k) in cluster.running() {
            let groups = k.get_json("/api/v2/alerts/groups");
            let has: Vec<&String> = missing
                .iter()
                .filter(|name| groups.to_string().contains(&format!("\"{name}\"")))
                .collect();
            let status = cluster.status(i);
            let shards: Vec<String> = status["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| format!("{}={}", m["replica"], m["shards"]))
                .collect();
            seen.push(format!("r{i} has {has:?}; shards {shards:?}"));
        }
        Err((missing, seen))
    });
    std::thread::sleep(Duration::from_secs(2));

    // Any replica's Prometheus-format API shows the whole cluster's rules
    // and alerts, each once.
    for (i, k) in cluster.running() {
        let mut names: Vec<String> = k.rules().into_iter().map(|g| g.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(
            before,
            names.len(),
            "replica {i} lists a group twice: {names:?}"
        );
        assert_eq!(
            names.iter().filter(|n| n.starts_with('g')).count(),
            GROUPS,
            "replica {i} does not list every group: {names:?}"
        );
        let firing = k
            .alerts()
            .into_iter()
            .filter(|a| a.state == "firing")
            .count();
        assert_eq!(firing, GROUPS, "replica {i} lists {firing} firing alerts");
    }

    // Each group evaluated by exactly one replica: over a window, its
    // query count grows by about the number of slots in it, not double.
    let before = prometheus.counts();
    let window = Duration::from_secs(5);
    std::thread::sleep(window);
    let after = prometheus.counts();
    for g in 0..GROUPS {
        let q = format!("q{g}");
        let n = after.get(&q).copied().unwrap_or(0) - before.get(&q).copied().unwrap_or(0);
        assert!(
            (4..=6).contains(&n),
            "group g{g} was queried {n} times in {window:?} at a 1s interval"
        );
    }

    // Pending state of the victim's groups, as the cluster stored it.
    let (victim, victim_groups) = owners
        .iter()
        .max_by_key(|(_, g)| g.len())
        .map(|(r, g)| (r.clone(), g.clone()))
        .unwrap_or_default();
    let victim_index: usize = victim.trim_start_matches('r').parse().unwrap_or(0);
    let survivor = (0..3).find(|i| *i != victim_index).unwrap_or(0);
    let victim_alerts: Vec<String> = victim_groups
        .iter()
        .map(|item| format!("A{}", group_of(item).trim_start_matches('g')))
        .collect();
    let active_before: BTreeMap<String, Option<String>> = cluster
        .get(victim_index)
        .alerts()
        .into_iter()
        .map(|a| {
            (
                a.labels.get("alertname").cloned().unwrap_or_default(),
                a.active_at.clone(),
            )
        })
        .filter(|(name, _)| victim_alerts.contains(name))
        .collect();
    assert_eq!(active_before.len(), victim_groups.len());
    let delivered_before = sink.delivered("/hook").len();

    // kill -9 the replica holding the most groups.
    let killed_at = Instant::now();
    if let Some(k) = cluster.replicas[victim_index].as_mut() {
        k.kill9();
    }
    cluster.replicas[victim_index] = None;
    let counts_at_kill = prometheus.counts();
    let moved = |name: &str| {
        let q = format!("q{}", name.trim_start_matches('g'));
        prometheus.counts().get(&q).copied().unwrap_or(0)
            > counts_at_kill.get(&q).copied().unwrap_or(0)
    };
    let limit = Duration::from_secs(TTL_SECONDS + 1 + 1);
    wait_for(
        limit + Duration::from_secs(10),
        "the dead replica's groups are evaluated again",
        || {
            let waiting: Vec<&String> = victim_groups
                .iter()
                .filter(|item| !moved(&group_of(item)))
                .collect();
            if waiting.is_empty() {
                Ok(())
            } else {
                Err(format!("{waiting:?}"))
            }
        },
    );
    let took = killed_at.elapsed();
    assert!(
        took <= limit + Duration::from_millis(500),
        "the dead replica's groups were evaluated again after {took:?} (lease TTL {TTL_SECONDS}s + one interval + 1s = {limit:?})"
    );
    eprintln!("failover: every orphaned group evaluated again {took:?} after kill -9");

    // Their alerts kept activeAt, and nothing was notified again.
    cluster.wait_all_owned(GROUPS, T);
    std::thread::sleep(Duration::from_secs(3));
    let mut active_after: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (_, k) in cluster.running() {
        for a in k.alerts() {
            active_after.insert(
                a.labels.get("alertname").cloned().unwrap_or_default(),
                a.active_at.clone(),
            );
        }
    }
    for (name, active_at) in &active_before {
        assert_eq!(
            active_after.get(name),
            Some(active_at),
            "{name} changed its activeAt across the failover"
        );
    }
    assert_eq!(
        sink.delivered("/hook").len(),
        delivered_before,
        "a firing alert was notified again after the failover"
    );
    let _ = survivor;
}

/// Replica name -> whether it runs the configuration that owns work.
fn eligibility(cluster: &Replicas, observer: usize) -> BTreeMap<String, bool> {
    cluster.status(observer)["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["replica"].as_str().unwrap_or_default().to_string(),
                m["eligible"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn a_rolling_configuration_change_never_splits_the_work_between_two_configurations() {
    const GROUPS: usize = 12;
    let prometheus = CountingPrometheus::start();
    let sink = WebhookSink::start();
    let cluster = Replicas::start(3, &rules(GROUPS, "1s", &sink), &prometheus.url(), &[]);
    cluster.wait_all_owned(GROUPS, T);

    // The new configuration adds a group; one replica reloads it first.
    std::fs::write(&cluster.config, rules(GROUPS + 1, "1s", &sink))
        .unwrap_or_else(|e| panic!("write config: {e}"));
    let reply = cluster.get(0).reload();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let eligible = wait_for(T, "replica 0 stands aside", || {
        let e = eligibility(&cluster, 1);
        if e.get("r0") == Some(&false) && e.get("r1") == Some(&true) {
            Ok(e)
        } else {
            Err(e)
        }
    });
    assert_eq!(eligible.get("r2"), Some(&true), "{eligible:?}");
    // The old configuration's replicas hold every old group; the new group
    // waits for its configuration to be the one most replicas run.
    let owners = wait_for(T, "r1 and r2 hold every group", || {
        let owners = cluster.ownership(1);
        let held: usize = owners.values().map(Vec::len).sum();
        if owners.get("r0").is_none_or(Vec::is_empty) && held == GROUPS {
            Ok(owners)
        } else {
            Err(owners)
        }
    });
    let before = prometheus.counts();
    std::thread::sleep(Duration::from_secs(4));
    let after = prometheus.counts();
    for g in 0..GROUPS {
        let q = format!("q{g}");
        let n = after.get(&q).copied().unwrap_or(0) - before.get(&q).copied().unwrap_or(0);
        assert!(
            (3..=5).contains(&n),
            "group g{g} was queried {n} times in 4s at 1s during the change: {owners:?}"
        );
    }
    assert_eq!(
        after.get(&format!("q{GROUPS}")),
        None,
        "the new group ran before its configuration owned the work"
    );

    // The others follow: the new configuration owns everything.
    assert_eq!(cluster.get(1).reload().status, 200);
    assert_eq!(cluster.get(2).reload().status, 200);
    cluster.wait_all_owned(GROUPS + 1, T);
    wait_for(T, "the new group is evaluated", || {
        match prometheus.counts().get(&format!("q{GROUPS}")) {
            Some(n) if *n > 0 => Ok(()),
            other => Err(other.copied()),
        }
    });
    let eligible = eligibility(&cluster, 2);
    assert!(eligible.values().all(|e| *e), "{eligible:?}");

    // The relay endpoint refuses what no replica would send, in JSON.
    for body in ["not json", r#"[{"labels":{}}]"#] {
        let answer = crate::harness::http::post(
            &format!("{}/api/v1/cluster/alerts", cluster.get(0).url()),
            "application/json",
            body.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("post: {e}"));
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or_default();
        assert_eq!(parsed["status"], "error", "{}", answer.body);
    }
}

/// Writes a CA, a server certificate for 127.0.0.1 and a client
/// certificate (PEM) into `dir`.
fn etcd_tls_files(dir: &std::path::Path) {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "klaxon etcd test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let issue = |name: &str, purpose: rcgen::ExtendedKeyUsagePurpose| {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let cert = params.signed_by(&key, &issuer).expect("certificate");
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("write");
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("write");
    };
    issue("server", rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    issue("client", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
}

#[test]
fn a_replica_joins_an_etcd_that_requires_client_certificates() {
    use crate::harness::process::{CommandSpec, ManagedProcess};
    let dir = tempfile::Builder::new()
        .prefix("klaxon-test-etcd-tls-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    etcd_tls_files(dir.path());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let client_port = crate::harness::free_port();
    let peer_port = crate::harness::free_port();
    let client_url = format!("https://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let args: Vec<std::ffi::OsString> = [
        "--name".to_string(),
        "tls0".into(),
        "--data-dir".into(),
        path("tls0.etcd"),
        "--listen-client-urls".into(),
        client_url.clone(),
        "--advertise-client-urls".into(),
        client_url.clone(),
        "--listen-peer-urls".into(),
        peer_url.clone(),
        "--initial-advertise-peer-urls".into(),
        peer_url.clone(),
        "--initial-cluster".into(),
        format!("tls0={peer_url}"),
        "--cert-file".into(),
        path("server.pem"),
        "--key-file".into(),
        path("server.key"),
        "--trusted-ca-file".into(),
        path("ca.pem"),
        "--client-cert-auth".into(),
    ]
    .into_iter()
    .map(Into::into)
    .collect();
    let mut etcd = ManagedProcess::new("etcd-tls", dir.path());
    etcd.spawn(&CommandSpec {
        program: "/usr/bin/etcd".into(),
        args,
        envs: Vec::new(),
        env_removals: std::env::vars_os()
            .map(|(name, _)| name)
            .filter(|name| name.to_string_lossy().starts_with("ETCD"))
            .collect(),
        cwd: dir.path().to_path_buf(),
    })
    .unwrap_or_else(|e| panic!("etcd: {e}"));

    let prometheus = CountingPrometheus::start();
    let sink = WebhookSink::start();
    let config = dir.path().join("klaxon.rules");
    std::fs::write(&config, rules(2, "1s", &sink)).expect("write config");
    let base = |extra: &[&str]| {
        let mut args: Vec<String> = vec![
            "--config".into(),
            config.display().to_string(),
            "--cluster.etcd".into(),
            client_url.clone(),
            "--cluster.lease-ttl".into(),
            "3s".into(),
            "--cluster.etcd-ca".into(),
            path("ca.pem"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Klaxon::builder()
            .prometheus_url(&prometheus.url())
            .args(args)
    };
    let with_cert = base(&[
        "--cluster.replica",
        "tls-a",
        "--cluster.etcd-cert",
        &path("client.pem"),
        "--cluster.etcd-key",
        &path("client.key"),
    ])
    .start();
    wait_for(
        T,
        "the replica with a client certificate owns both groups",
        || {
            let status = with_cert.get_json("/api/v1/status/cluster")["data"].clone();
            let groups = status["members"][0]["groups"]
                .as_array()
                .map_or(0, Vec::len);
            if status["health"] == "connected" && groups == 2 {
                Ok(())
            } else {
                Err(status)
            }
        },
    );
    wait_for(T, "its alerts are notified", || {
        let n = notified_alertnames(&sink).len();
        if n == 2 { Ok(()) } else { Err(n) }
    });

    // Without a client certificate etcd refuses it: it owns nothing and
    // says why, and the other keeps everything.
    let without = base(&["--cluster.replica", "tls-b"]).start();
    std::thread::sleep(Duration::from_secs(4));
    let status = without.get_json("/api/v1/status/cluster")["data"].clone();
    let members: Vec<String> = status["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["replica"].as_str().map(str::to_string))
        .collect();
    assert!(!members.contains(&"tls-b".to_string()), "{status}");
    assert!(
        without.stderr().contains("etcd"),
        "the refused replica says nothing about etcd: {}",
        without.stderr()
    );
    let owner = with_cert.get_json("/api/v1/status/cluster")["data"]["members"].clone();
    assert_eq!(owner.as_array().map_or(0, Vec::len), 1, "{owner}");
}
