//! Failures a klaxon cluster rides out (issue 14), on a real three-member
//! etcd 3.4 cluster and real replicas: 1,000 groups spread within ±10% and
//! each slot evaluated once; the etcd leader killed during a burst of
//! notifications; etcd quorum lost (degraded: alerting goes on, and the
//! cluster reconciles when etcd returns); one replica partitioned from etcd
//! (it stops at its lease deadline, its work moves, it rejoins).
//!
//! Every evaluation is recorded with its slot time (the query's `time`), so
//! "evaluated once" is checked per slot, not by counting around a window.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::cluster_replicas::{
    CountingPrometheus, Replicas, TTL_SECONDS, notified_alertnames, rules, start_replica_on,
};
use crate::harness::tcp_proxy::TcpProxy;
use crate::harness::{Klaxon, WebhookSink, http, wait_for};

const T: Duration = Duration::from_secs(60);
const TTL: Duration = Duration::from_secs(TTL_SECONDS);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Sleeps until the wall clock reads `at` (unix ms).
fn sleep_until_ms(at: i64) {
    let left = at - now_ms();
    if left > 0 {
        std::thread::sleep(Duration::from_millis(left.unsigned_abs()));
    }
}

/// Posts firing alerts named `names` (no end: they stay firing for
/// Alertmanager's 5m resolve timeout) to `/api/v2/alerts` of `k`.
fn post_alerts(k: &Klaxon, names: &[String]) {
    let body = Value::Array(
        names
            .iter()
            .map(|n| json!({"labels": {"alertname": n, "source": "cluster_failures"}}))
            .collect(),
    );
    let url = format!("{}/api/v2/alerts", k.url());
    let response = http::post(&url, "application/json", body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert_eq!(response.status, 200, "POST {url}: {}", response.body);
}

/// The sum of a metric's series on `k`'s `/metrics` (0 when absent).
fn metric_sum(k: &Klaxon, name: &str) -> f64 {
    k.metric(name).into_iter().map(|(_, v)| v).sum()
}

/// Replica name -> how many groups it holds.
fn shares(owners: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
    owners.iter().map(|(r, g)| (r.clone(), g.len())).collect()
}

/// Waits until, as replica `observer` sees it, exactly the `expected`
/// replicas hold all `groups` groups, each within `share`, and no group or
/// shard is unowned.
fn wait_spread(
    cluster: &Replicas,
    observer: usize,
    expected: &[&str],
    groups: usize,
    share: RangeInclusive<usize>,
    within: Duration,
) -> BTreeMap<String, Vec<String>> {
    wait_for(within, "the groups and shards are spread evenly", || {
        let status = cluster.status(observer);
        let owners = cluster.ownership(observer);
        let counts = shares(&owners);
        let unowned = &status["unowned"];
        let names: Vec<&str> = owners.keys().map(String::as_str).collect();
        let held: usize = counts.values().sum();
        if names == expected
            && held == groups
            && counts.values().all(|n| share.contains(n))
            && unowned["group"].as_array().is_some_and(Vec::is_empty)
            && unowned["shard"].as_array().is_some_and(Vec::is_empty)
        {
            Ok(owners)
        } else {
            Err((counts, unowned.clone()))
        }
    })
}

/// Waits until every alert of `names` was notified (firing) at least once.
fn wait_notified(sink: &WebhookSink, names: &[String], within: Duration) {
    wait_for(within, "every alert is notified", || {
        let notified = notified_alertnames(sink);
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !notified.contains_key(*n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("{} missing: {missing:?}", missing.len()))
        }
    });
}

/// Asserts that each of `names` was notified (firing) exactly once.
fn assert_notified_once(sink: &WebhookSink, names: &[String]) {
    let notified = notified_alertnames(sink);
    let wrong: Vec<(&String, usize)> = names
        .iter()
        .map(|n| (n, notified.get(n).copied().unwrap_or(0)))
        .filter(|(_, times)| *times != 1)
        .collect();
    assert!(
        wrong.is_empty(),
        "alerts not notified exactly once (name, times): {wrong:?}"
    );
    // A repeated notification carries the same key: keys are unique too.
    let mut keys: HashMap<String, usize> = HashMap::new();
    for r in sink.delivered("/hook") {
        if let Some(key) = r.header("idempotency-key") {
            *keys.entry(key.to_string()).or_default() += 1;
        }
    }
    let repeated: Vec<(&String, &usize)> = keys.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "notifications delivered more than once (idempotency key, times): {repeated:?}"
    );
}

/// Group name -> when `k` last began a round of it (unix ms), from its
/// `/api/v1/rules`.
fn last_evaluations(k: &Klaxon, groups: &[String]) -> BTreeMap<String, i64> {
    k.local_rules()
        .into_iter()
        .filter(|g| groups.contains(&g.name))
        .map(|g| {
            let at = g
                .last_evaluation
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            (g.name, at)
        })
        .collect()
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// No group was ever evaluated twice for one slot (two replicas evaluating
/// it at once show as the same evaluation time twice).
fn assert_no_slot_evaluated_twice(prometheus: &CountingPrometheus) {
    let mut twice = Vec::new();
    for (query, times) in prometheus.times() {
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for t in times {
            *seen.entry(t).or_default() += 1;
        }
        let mut repeated: Vec<i64> = seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(t, _)| t)
            .collect();
        if !repeated.is_empty() {
            repeated.sort_unstable();
            twice.push((query, repeated));
        }
    }
    twice.sort();
    assert!(
        twice.is_empty(),
        "slots evaluated by two replicas (query, slot times in unix ms): {twice:?}"
    );
}

/// Every group `g0…` was evaluated exactly once per slot of `[from, to)`
/// (unix ms; a multiple of the interval long): as many evaluations as
/// slots, an interval apart. Waits until the last slot's queries arrived.
fn assert_once_per_slot(
    prometheus: &CountingPrometheus,
    groups: usize,
    interval_ms: i64,
    from: i64,
    to: i64,
) {
    let slots = usize::try_from((to - from) / interval_ms).unwrap_or(0);
    sleep_until_ms(to + 1500);
    let times = prometheus.times();
    let mut wrong = Vec::new();
    for g in 0..groups {
        let mut seen: Vec<i64> = times
            .get(&format!("q{g}"))
            .into_iter()
            .flatten()
            .copied()
            .filter(|t| (from..to).contains(t))
            .collect();
        seen.sort_unstable();
        let once = seen.len() == slots && seen.windows(2).all(|w| w[1] - w[0] == interval_ms);
        if !once {
            wrong.push(format!(
                "g{g}: {:?}",
                seen.iter().map(|t| t - from).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {groups} groups not evaluated exactly once in each of the {slots} slots of \
         [{from}, {to}) (evaluation times in ms after its start): {wrong:?}",
        wrong.len()
    );
}

#[test]
fn a_thousand_groups_spread_within_ten_percent_and_each_is_evaluated_once_per_interval() {
    const GROUPS: usize = 1000;
    const INTERVAL_MS: i64 = 5000;
    let started = Instant::now();
    let prometheus = CountingPrometheus::start();
    let sink = WebhookSink::start();
    let cluster = Replicas::start(3, &rules(GROUPS, "5s", &sink), &prometheus.url(), &[]);
    let up = started.elapsed();

    // ±10% of 1000/3 = 333.3.
    let owners = wait_spread(&cluster, 0, &["r0", "r1", "r2"], GROUPS, 300..=366, T);
    let balanced = started.elapsed();
    let owned_metric: Vec<f64> = (0..3)
        .map(|i| {
            cluster
                .get(i)
                .metric("klaxon_cluster_owned")
                .into_iter()
                .filter(|(l, _)| l.get("kind").map(String::as_str) == Some("group"))
                .map(|(_, v)| v)
                .sum()
        })
        .collect();
    eprintln!(
        "1000 groups: shares {:?} (klaxon_cluster_owned{{kind=group}} {owned_metric:?}); \
         replicas up after {up:.1?}, balanced after {balanced:.1?}",
        shares(&owners)
    );
    for (i, n) in owned_metric.iter().enumerate() {
        assert!((300.0..=366.0).contains(n), "r{i} says it owns {n} groups");
    }

    // Steady state: the spread reached, groups may still be finishing
    // their moves (a release waits for a round in progress). Measure once
    // nothing has moved for more than an interval.
    let mut last = cluster.ownership(0);
    let mut still_since = std::time::Instant::now();
    wait_for(
        T,
        "the ownership stays put for more than an interval",
        || {
            let now = cluster.ownership(0);
            if now != last {
                last = now;
                still_since = std::time::Instant::now();
            }
            if still_since.elapsed() > Duration::from_millis(INTERVAL_MS as u64 + 1_000) {
                Ok(())
            } else {
                Err(shares(&last))
            }
        },
    );
    // Three whole intervals from now: every group evaluated once a slot.
    let from = now_ms();
    let to = from + 3 * INTERVAL_MS;
    assert_once_per_slot(&prometheus, GROUPS, INTERVAL_MS, from, to);
    assert_no_slot_evaluated_twice(&prometheus);
    let after = cluster.ownership(0);
    eprintln!(
        "every group evaluated exactly once in each of 3 slots of 5s; ownership {} meanwhile; \
         test took {:.1?}",
        if after == owners {
            "unchanged"
        } else {
            "changed"
        },
        started.elapsed()
    );
}

/// Three replicas evaluating `groups` groups every second, settled: the
/// groups and shards spread, every group's alert notified.
fn three_settled_replicas(
    groups: usize,
) -> (CountingPrometheus, WebhookSink, Replicas, Vec<String>) {
    let prometheus = CountingPrometheus::start();
    let sink = WebhookSink::start();
    let cluster = Replicas::start(3, &rules(groups, "1s", &sink), &prometheus.url(), &[]);
    wait_spread(&cluster, 0, &["r0", "r1", "r2"], groups, 8..=12, T);
    let evaluated = names("A", groups);
    wait_notified(&sink, &evaluated, T);
    (prometheus, sink, cluster, evaluated)
}

/// Waits until every running replica says `health` on its status page,
/// and `klaxon_cluster_degraded` is 1 exactly when that is `degraded`;
/// returns the time since `since`.
fn wait_every_replica(
    cluster: &Replicas,
    health: &str,
    within: Duration,
    since: Instant,
) -> Duration {
    let degraded = health == "degraded";
    wait_for(within, &format!("every replica says {health}"), || {
        let seen: Vec<(f64, Value)> = cluster
            .running()
            .map(|(i, k)| {
                let status = cluster.status(i);
                (
                    metric_sum(k, "klaxon_cluster_degraded"),
                    json!([status["health"], status["degraded"]]),
                )
            })
            .collect();
        let expected = (f64::from(u8::from(degraded)), json!([health, degraded]));
        if seen.iter().all(|s| *s == expected) {
            Ok(since.elapsed())
        } else {
            Err(seen)
        }
    })
}

/// Kills the etcd leader once a `Burst…` alert has been delivered (once).
fn kill_leader_once_sending(
    cluster: &mut Replicas,
    sink: &WebhookSink,
    killed: &mut Option<(usize, Instant, i64)>,
) {
    let sending = notified_alertnames(sink)
        .keys()
        .any(|n| n.starts_with("Burst"));
    if killed.is_none() && sending {
        let leader = cluster
            .etcd
            .leader()
            .unwrap_or_else(|| panic!("no etcd leader before the kill"));
        cluster.etcd.kill(leader);
        *killed = Some((leader, Instant::now(), now_ms()));
    }
}

#[test]
fn the_etcd_leader_killed_during_a_burst_loses_and_repeats_nothing() {
    const GROUPS: usize = 30;
    const BURST: usize = 200;
    let started = Instant::now();
    let (prometheus, sink, mut cluster, evaluated) = three_settled_replicas(GROUPS);

    // 200 alerts posted to every replica in waves; the etcd leader is
    // killed as soon as the first of them is delivered, so later claims
    // and deliveries meet the election.
    let burst = names("Burst", BURST);
    let posted_at = Instant::now();
    let mut killed = None;
    for wave in burst.chunks(20) {
        for (_, k) in cluster.running() {
            post_alerts(k, wave);
        }
        kill_leader_once_sending(&mut cluster, &sink, &mut killed);
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_for(T, "a burst alert is delivered", || {
        kill_leader_once_sending(&mut cluster, &sink, &mut killed);
        killed.ok_or(())
    });
    let Some((leader, killed_at, killed_ms)) = killed else {
        unreachable!("waited for above")
    };
    let delivered_at_kill = notified_alertnames(&sink)
        .keys()
        .filter(|n| n.starts_with("Burst"))
        .count();
    let new_leader = cluster.etcd.wait_leader(Duration::from_secs(15));
    let elected = killed_at.elapsed();

    wait_notified(&sink, &burst, T);
    let all_delivered = killed_at.elapsed();
    // Late duplicates (a retry, a takeover) would come within seconds.
    std::thread::sleep(Duration::from_secs(3));
    assert_notified_once(&sink, &burst);
    assert_notified_once(&sink, &evaluated);
    // Evaluation went on through the election: every slot once.
    let slots = (now_ms() - killed_ms) / 1000;
    assert_once_per_slot(
        &prometheus,
        GROUPS,
        1000,
        killed_ms,
        killed_ms + slots * 1000,
    );
    assert_no_slot_evaluated_twice(&prometheus);
    let etcd_errors: Vec<f64> = cluster
        .running()
        .map(|(_, k)| metric_sum(k, "klaxon_cluster_etcd_errors_total"))
        .collect();
    eprintln!(
        "etcd leader etcd{leader} killed {:.1?} after the burst began, with \
         {delivered_at_kill}/{BURST} delivered; etcd{new_leader} led {elected:.1?} later; all \
         {BURST} delivered {all_delivered:.1?} after the kill, each once; etcd errors seen by \
         the replicas {etcd_errors:?}; test took {:.1?}",
        killed_at - posted_at,
        started.elapsed()
    );
}

#[test]
fn two_etcd_members_lost_notifications_still_go_out_degraded() {
    const GROUPS: usize = 30;
    let started = Instant::now();
    let (prometheus, sink, mut cluster, _) = three_settled_replicas(GROUPS);

    // Quorum lost: two of three members killed.
    let leader = cluster.etcd.wait_leader(Duration::from_secs(15));
    let lost = [leader, (leader + 1) % 3];
    let lost_at = Instant::now();
    let lost_ms = now_ms();
    for i in lost {
        cluster.etcd.kill(i);
    }
    let degraded = wait_every_replica(&cluster, "degraded", TTL + Duration::from_secs(5), lost_at);

    // Alerting goes on: a new alert is notified, every group evaluated.
    let counts_before = prometheus.counts();
    let outage = names("DuringOutage", 1);
    for (_, k) in cluster.running() {
        post_alerts(k, &outage);
    }
    let posted = Instant::now();
    wait_notified(&sink, &outage, Duration::from_secs(15));
    let notified_after = posted.elapsed();
    wait_for(Duration::from_secs(10), "every group is evaluated", || {
        let now = prometheus.counts();
        let idle: Vec<String> = (0..GROUPS)
            .map(|g| format!("q{g}"))
            .filter(|q| {
                now.get(q).copied().unwrap_or(0) <= counts_before.get(q).copied().unwrap_or(0) + 1
            })
            .collect();
        if idle.is_empty() { Ok(()) } else { Err(idle) }
    });
    let outage_copies = notified_alertnames(&sink)
        .get(&outage[0])
        .copied()
        .unwrap_or(0);

    // etcd back: no longer degraded, every group and shard owned once.
    let restored_at = Instant::now();
    for i in lost {
        cluster.etcd.restart(i);
    }
    cluster.etcd.wait_healthy(Duration::from_secs(30));
    let etcd_back = restored_at.elapsed();
    let reconnected = wait_every_replica(
        &cluster,
        "connected",
        TTL + Duration::from_secs(10),
        restored_at,
    );
    let owners = wait_spread(&cluster, 1, &["r0", "r1", "r2"], GROUPS, 8..=12, T);
    // Not one slot missed or doubled from the loss of quorum until three
    // slots after the cluster reconciled.
    let slots = (now_ms() - lost_ms) / 1000 + 3;
    assert_once_per_slot(&prometheus, GROUPS, 1000, lost_ms, lost_ms + slots * 1000);
    assert_no_slot_evaluated_twice(&prometheus);
    let notified = notified_alertnames(&sink);
    let repeated: Vec<(&String, &usize)> = notified.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "quorum lost: every replica degraded {degraded:.1?} after; an alert posted then was \
         notified {outage_copies} time(s), first after {notified_after:.1?}; etcd healthy again \
         {etcd_back:.1?} after the restart, every replica connected {reconnected:.1?} after it; \
         shares {:?}; alerts notified more than once overall: {repeated:?}; test took {:.1?}",
        shares(&owners),
        started.elapsed()
    );
    assert!(outage_copies >= 1);
}

#[test]
fn a_replica_cut_off_from_etcd_stops_and_its_work_moves() {
    const GROUPS: usize = 30;
    let started = Instant::now();
    let prometheus = CountingPrometheus::start();
    let sink = WebhookSink::start();
    let mut cluster = Replicas::start(2, &rules(GROUPS, "1s", &sink), &prometheus.url(), &[]);
    // r2 reaches etcd only through one proxy per member.
    let proxies: Vec<TcpProxy> = cluster
        .etcd
        .client_addrs()
        .into_iter()
        .map(TcpProxy::start)
        .collect();
    let endpoints: Vec<String> = proxies.iter().map(TcpProxy::url).collect();
    let r2 = start_replica_on(
        2,
        &endpoints.join(","),
        &cluster.config,
        &prometheus.url(),
        &[],
    );
    cluster.replicas.push(Some(r2));
    let owners = wait_spread(&cluster, 0, &["r0", "r1", "r2"], GROUPS, 8..=12, T);
    assert!(
        proxies.iter().any(|p| p.accepted() > 0),
        "r2 does not go through the proxies"
    );
    let evaluated = names("A", GROUPS);
    wait_notified(&sink, &evaluated, T);
    let mut owners = owners;
    // A partition where r2's bytes to etcd go nowhere (it sees only its
    // own timeouts), then one where its connections are refused.
    let modes: [(&str, Partition); 2] =
        [("blackhole", TcpProxy::blackhole), ("cut", TcpProxy::cut)];
    for (mode, partition) in modes {
        owners = cut_off_and_heal(
            &cluster,
            &proxies,
            &prometheus,
            &sink,
            &owners,
            mode,
            partition,
        );
    }
    assert_notified_once(&sink, &evaluated);
    eprintln!("test took {:.1?}", started.elapsed());
}

/// How the proxies in front of etcd take r2 off it.
type Partition = fn(&TcpProxy);

/// Partitions r2 from etcd with `partition`: it must stop at its local
/// lease deadline, say it is cut off, and evaluate and send nothing more;
/// the others take its groups within TTL + one interval + 1s; alerts posted
/// meanwhile go out once. Healed, r2 joins again and takes a share.
/// Returns the ownership after.
fn cut_off_and_heal(
    cluster: &Replicas,
    proxies: &[TcpProxy],
    prometheus: &CountingPrometheus,
    sink: &WebhookSink,
    owners: &BTreeMap<String, Vec<String>>,
    mode: &str,
    partition: Partition,
) -> BTreeMap<String, Vec<String>> {
    const GROUPS: usize = 30;
    let cut_groups: Vec<String> = owners["r2"]
        .iter()
        .map(|item| item.rsplit(':').next().unwrap_or(item).to_string())
        .collect();
    // Rounds r2 evaluated, over all groups.
    let r2_rounds = || -> f64 {
        cluster
            .iterations()
            .values()
            .flatten()
            .filter(|(replica, _)| *replica == 2)
            .map(|(_, n)| n)
            .sum()
    };
    let cut_ms = now_ms();
    for p in proxies {
        partition(p);
    }
    // Alerts to notify meanwhile: about a third fall in r2's shards, which
    // it tries to claim into the partition (late writes once it heals).
    let during = names(&format!("While{mode}"), 30);
    for (_, k) in cluster.running() {
        post_alerts(k, &during);
    }
    // It says so (its status page waits on etcd: polls are slow).
    wait_for(T, "r2 says it is cut off", || {
        let health = cluster.status(2)["health"].clone();
        if health == "cut_off" {
            Ok(())
        } else {
            Err(health)
        }
    });
    // It stopped evaluating at its local lease deadline: its last round of
    // each group began before the partition + the lease TTL.
    let last_rounds = last_evaluations(cluster.get(2), &cut_groups);
    let stopped = last_rounds.values().max().copied().unwrap_or(cut_ms) - cut_ms;
    let r2_iterations = r2_rounds();
    // The others evaluate each of its groups from then on.
    let moved = wait_for(T, "r2's groups are evaluated by the others", || {
        let times = prometheus.times();
        let mut firsts = Vec::new();
        let mut waiting = Vec::new();
        for (g, last) in &last_rounds {
            let q = format!("q{}", g.trim_start_matches('g'));
            match times
                .get(&q)
                .into_iter()
                .flatten()
                .filter(|t| *t > last)
                .min()
            {
                Some(t) => firsts.push(*t),
                None => waiting.push(g.clone()),
            }
        }
        match firsts.into_iter().max() {
            Some(t) if waiting.is_empty() => Ok(t - cut_ms),
            _ => Err(waiting),
        }
    });
    let owned_meanwhile = wait_spread(cluster, 0, &["r0", "r1"], GROUPS, 14..=16, T);
    wait_notified(sink, &during, Duration::from_secs(15));
    let from = now_ms();
    assert_once_per_slot(prometheus, GROUPS, 1000, from, from + 3000);
    assert_no_slot_evaluated_twice(prometheus);
    assert_eq!(
        r2_rounds(),
        r2_iterations,
        "{mode}: r2 evaluated while cut off from etcd"
    );
    assert_eq!(cluster.status(2)["health"], "cut_off");

    // Healed: r2 joins again and takes a share.
    let restored_at = Instant::now();
    for p in proxies {
        p.restore();
    }
    let owners_after = wait_spread(cluster, 0, &["r0", "r1", "r2"], GROUPS, 8..=12, T);
    let rejoined = restored_at.elapsed();
    assert_eq!(cluster.status(2)["health"], "connected");
    wait_for(Duration::from_secs(10), "r2 evaluates again", || {
        let n = r2_rounds();
        if n > r2_iterations { Ok(()) } else { Err(n) }
    });
    let from = now_ms();
    assert_once_per_slot(prometheus, GROUPS, 1000, from, from + 3000);
    assert_no_slot_evaluated_twice(prometheus);
    // Nothing notified twice: not the alerts whose claims r2 wrote into
    // the partition, not the evaluated ones that moved.
    assert_notified_once(sink, &during);
    // A claim r2 wrote into the partition and etcd took late would linger
    // here (its owner never sends it): every claim is settled and gone.
    wait_for(
        Duration::from_secs(10),
        "every notification claim in etcd is settled",
        || {
            let left = cluster
                .etcd
                .get_prefix(0, "/klaxon/test/outbox/")
                .unwrap_or_else(|e| panic!("etcd: {e}"));
            if left.is_empty() {
                Ok(())
            } else {
                Err(left
                    .iter()
                    .map(|kv| format!("{} = {}", kv.key, kv.value_str()))
                    .collect::<Vec<_>>())
            }
        },
    );
    let rejections = metric_sum(cluster.get(2), "klaxon_cluster_fencing_rejections_total") + 0.0;
    // How often r2 tried to claim notifications since it started (into the
    // partition: what etcd may get late and must refuse).
    let failed_claims = cluster
        .get(2)
        .stderr()
        .lines()
        .filter(|l| l.contains("could not commit notifications"))
        .count();
    eprintln!(
        "{mode}: r2 (groups {cut_groups:?}) cut off: its last round began {stopped} ms after the \
         partition, its groups were evaluated by the others {moved} ms after it (shares then \
         {:?}); healed: r2 rejoined {rejoined:.1?} after (shares {:?}); so far r2's fencing \
         rejections {rejections}, its failed claims {failed_claims}",
        shares(&owned_meanwhile),
        shares(&owners_after),
    );
    let ttl_ms = i64::try_from(TTL.as_millis()).unwrap_or(i64::MAX);
    assert!(
        stopped <= ttl_ms + 250,
        "{mode}: r2 began a round {stopped} ms after the partition; its lease TTL is {TTL:?}"
    );
    // Lease TTL + one interval + 1s.
    let limit = ttl_ms + 2000;
    assert!(
        moved <= limit,
        "{mode}: r2's groups were evaluated again {moved} ms after the partition (limit {limit} ms)"
    );
    owners_after
}
