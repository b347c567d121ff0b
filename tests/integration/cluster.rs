//! The cluster's test harness on real etcd 3.4: a three-member cluster
//! replicates, survives its leader's death, stops taking writes without
//! quorum and takes them again when its members return; the TCP proxy that
//! cuts one replica off etcd cuts, holds and restores.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::EtcdCluster;
use crate::harness::etcd::{self, REQUEST_TIMEOUT};
use crate::harness::tcp_proxy::TcpProxy;

/// How long a cluster may take to elect a leader after a member dies or
/// returns (elections take about a second here; the machine may be busy).
const ELECTION: Duration = Duration::from_secs(15);

#[test]
fn a_three_member_cluster_replicates_a_write_to_every_member() {
    let started = Instant::now();
    let etcd = EtcdCluster::start(3);
    let up = started.elapsed();

    let revision = etcd
        .put(0, "/klaxon/test/greeting", "hello")
        .expect("put on member 0");
    let read = etcd
        .get(2, "/klaxon/test/greeting")
        .expect("range on member 2")
        .expect("member 2 has the key written on member 0");
    assert_eq!(read.value_str(), "hello");
    assert_eq!(read.mod_revision, revision);
    assert_eq!(read.lease, 0);
    // Every endpoint klaxon would be given is a member that has it too.
    let endpoints = etcd.endpoints_arg();
    assert_eq!(endpoints.split(',').collect::<Vec<_>>(), etcd.client_urls());
    for url in endpoints.split(',') {
        etcd::health(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let read = etcd::get(url, "/klaxon/test/greeting")
            .unwrap_or_else(|e| panic!("{url}: {e}"))
            .unwrap_or_else(|| panic!("{url} lacks the key"));
        assert_eq!(read.value_str(), "hello", "{url}");
    }
    assert_eq!(
        etcd.get(1, "/klaxon/test/absent")
            .expect("range on member 1"),
        None
    );

    // A prefix read sees exactly the keys under the prefix.
    etcd.put(1, "/klaxon/test/other", "x")
        .expect("put on member 1");
    etcd.put(1, "/klaxon/tesu", "outside")
        .expect("put on member 1");
    let keys: Vec<String> = etcd
        .get_prefix(2, "/klaxon/test/")
        .expect("prefix range on member 2")
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    assert_eq!(keys, ["/klaxon/test/greeting", "/klaxon/test/other"]);

    let leader = etcd.wait_leader(ELECTION);
    let statuses: Vec<_> = (0..3).map(|i| etcd.status(i).expect("status")).collect();
    assert!(
        statuses
            .iter()
            .all(|s| s.leader == Some(statuses[leader].member_id)),
        "every member follows member {leader}: {statuses:?}"
    );
    eprintln!(
        "three etcd members healthy after {up:.2?}; test took {:.2?}",
        started.elapsed()
    );
}

#[test]
fn killing_the_leader_elects_another_and_writes_go_on() {
    let started = Instant::now();
    let mut etcd = EtcdCluster::start(3);
    let old_leader = etcd.wait_leader(ELECTION);
    let old_term = etcd.status(old_leader).expect("status").raft_term;
    let survivor = (old_leader + 1) % 3;
    etcd.put(survivor, "before", "1")
        .expect("put before the kill");

    let killed_at = Instant::now();
    etcd.kill(old_leader);
    assert!(!etcd.is_running(old_leader));
    let new_leader = etcd.wait_leader(ELECTION);
    let failover = killed_at.elapsed();
    assert_ne!(new_leader, old_leader);
    assert!(
        etcd.status(new_leader).expect("status").raft_term > old_term,
        "a new term began with the election"
    );
    etcd.wait_healthy(ELECTION);
    for i in (0..3).filter(|&i| i != old_leader) {
        etcd.put(i, "after", &i.to_string())
            .unwrap_or_else(|e| panic!("put on member {i} after the leader died: {e}"));
    }
    let before = etcd.get(survivor, "before").expect("range").expect("kept");
    assert_eq!(before.value_str(), "1");
    eprintln!(
        "new leader elected {failover:.2?} after kill -9 of the old one; test took {:.2?}",
        started.elapsed()
    );
}

#[test]
fn without_quorum_writes_fail_and_return_with_the_members() {
    let started = Instant::now();
    let mut etcd = EtcdCluster::start(3);
    etcd.put(0, "kept", "yes").expect("put with quorum");

    etcd.kill(0);
    etcd.kill(1);
    let attempt = Instant::now();
    let refused = etcd.put(2, "lost", "no");
    let failed_after = attempt.elapsed();
    assert!(
        refused.is_err(),
        "a write on the last member of three must fail: {refused:?}"
    );
    assert!(
        failed_after < REQUEST_TIMEOUT + Duration::from_secs(2),
        "the failure took {failed_after:?}"
    );
    // The survivor gives up its leader once the election timeout passes.
    crate::harness::wait_until(ELECTION, "the last member knows no leader", || {
        etcd.status(2)
            .ok()
            .filter(|s| s.leader.is_none())
            .map(|_| ())
    });
    assert_eq!(etcd.leader(), None);
    assert!(etcd.health(2).is_err(), "health without quorum is false");

    let restarted_at = Instant::now();
    etcd.restart(0);
    etcd.restart(1);
    etcd.wait_healthy(ELECTION);
    let recovery = restarted_at.elapsed();
    assert!(etcd.is_running(0) && etcd.is_running(1));
    etcd.put(2, "back", "yes")
        .expect("a write once quorum is back");
    for i in 0..3 {
        let kept = etcd.get(i, "kept").expect("range").expect("kept survives");
        assert_eq!(kept.value_str(), "yes", "member {i}");
        assert!(etcd.get(i, "back").expect("range").is_some(), "member {i}");
    }
    eprintln!(
        "write without quorum failed after {failed_after:.2?}; healthy {recovery:.2?} after \
         restarting two members; test took {:.2?}",
        started.elapsed()
    );
}

#[test]
fn the_proxy_forwards_cuts_holds_and_restores() {
    let started = Instant::now();
    let etcd = EtcdCluster::start(1);
    let proxy = TcpProxy::start(etcd.client_addrs()[0]);
    assert_eq!(proxy.target(), etcd.client_addrs()[0]);

    etcd::put(&proxy.url(), "via", "proxy").expect("put through the proxy");
    assert!(proxy.accepted() >= 1, "the write went through the proxy");
    assert_eq!(
        etcd.get(0, "via")
            .expect("range")
            .expect("written")
            .value_str(),
        "proxy"
    );

    // A cut closes the connections already open...
    let mut open = TcpStream::connect(proxy.addr()).expect("connect through the proxy");
    open.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    wait_connection_forwarded(&proxy, 2);
    proxy.cut();
    let mut byte = [0u8; 1];
    let read = open.read(&mut byte);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "an open connection is closed by the cut: {read:?}"
    );
    // ...and every new one, at once, while etcd itself still takes writes.
    let attempt = Instant::now();
    let refused = etcd::put(&proxy.url(), "via", "cut");
    assert!(refused.is_err(), "a write through a cut proxy: {refused:?}");
    assert!(
        attempt.elapsed() < Duration::from_secs(1),
        "a cut fails fast, not by timeout: {:?}",
        attempt.elapsed()
    );
    etcd.put(0, "direct", "still").expect("etcd itself is fine");

    proxy.restore();
    etcd::put(&proxy.url(), "via", "restored").expect("put after restore");
    assert_eq!(
        etcd.get(0, "via")
            .expect("range")
            .expect("written")
            .value_str(),
        "restored"
    );

    // A blackhole answers nothing but keeps the connection; what was sent
    // arrives once it is restored.
    proxy.blackhole();
    let mut held = TcpStream::connect(proxy.addr()).expect("a blackhole still accepts");
    held.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("read timeout");
    let request = health_request(&proxy);
    held.write_all(request.as_bytes()).expect("send");
    let silent = held.read(&mut byte);
    assert!(
        silent.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "a blackhole neither answers nor closes: {silent:?}"
    );
    proxy.restore();
    held.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut answer = String::new();
    held.read_to_string(&mut answer)
        .expect("the held request is answered after restore");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains(r#""health":"true""#),
        "answer: {answer}"
    );
    eprintln!("proxy test took {:.2?}", started.elapsed());
}

/// Waits until the proxy has accepted `count` connections in all (so the
/// one just opened is in its hands before the test cuts it).
fn wait_connection_forwarded(proxy: &TcpProxy, count: usize) {
    crate::harness::wait_until(Duration::from_secs(5), "the proxy accepted", || {
        (proxy.accepted() >= count).then_some(())
    });
}

fn health_request(proxy: &TcpProxy) -> String {
    format!(
        "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        proxy.addr()
    )
}
