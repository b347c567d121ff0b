//! The evaluator's alert state through a real store: every field and
//! every change round-trips, reopens and reloads.

use std::collections::HashSet;
use std::fs;

use crate::eval::alert::{Alert, AlertState};
use crate::eval::persist::{StateChange, commit, load_alerts};
use crate::store::{AlertRecord, DEFAULT_CACHE_BYTES, Store};
use crate::vocab::labels::{Labels, fingerprint};
use crate::vocab::severity::SeverityLevel;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A firing DSL alert with every optional field set, so a field that does
/// not round-trip shows up.
fn full_alert(instance: &str) -> Alert {
    let mut alert = Alert::new(
        labels(&[("alertname", "HighLatency"), ("instance", instance)]),
        labels(&[("summary", "p99 above 2s")]),
        2.5,
        1_700_000_000_000,
    );
    alert.state = AlertState::Firing;
    alert.fired_at = Some(1_700_000_060_000);
    alert.last_sent_at = Some(1_700_000_120_000);
    alert.valid_until = Some(1_700_000_300_000);
    alert.keep_firing_since = Some(1_700_000_110_000);
    alert.level = Some(SeverityLevel::Critical);
    alert.level_since = [None, Some(1_700_000_000_000), Some(1_700_000_030_000)];
    alert.resolve_since = Some(1_700_000_115_000);
    alert
}

fn put(rule: &str, alert: &Alert) -> StateChange {
    StateChange::Put {
        rule: rule.to_string(),
        fingerprint: fingerprint(&alert.labels),
        alert: alert.clone(),
    }
}

#[test]
fn put_then_load_returns_the_same_alert() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.path(), dir.path().join("klaxon.redb"));
    let a = full_alert("a:9100");
    let mut nan = Alert::new(labels(&[("alertname", "X")]), Labels::new(), f64::NAN, 5);
    nan.nodata = true;
    commit(&store, &[put("grp/HighLatency", &a), put("grp/X", &nan)]).unwrap();
    let loaded = load_alerts(&store).unwrap();
    assert!(loaded.unreadable.is_empty());
    assert_eq!(loaded.alert_count(), 2);
    assert_eq!(
        loaded.alerts["grp/HighLatency"],
        vec![(fingerprint(&a.labels), a)]
    );
    let (fp, back) = &loaded.alerts["grp/X"][0];
    assert_eq!(*fp, fingerprint(&nan.labels));
    assert!(back.value.is_nan());
    assert!(back.nodata);
}

#[test]
fn put_replaces_and_delete_removes_within_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = full_alert("a");
    let b = full_alert("b");
    commit(&store, &[put("r", &a), put("r", &b)]).unwrap();
    let mut a2 = a.clone();
    a2.state = AlertState::Inactive;
    a2.resolved_at = Some(1_700_000_500_000);
    commit(
        &store,
        &[
            put("r", &a2),
            StateChange::Delete {
                rule: "r".to_string(),
                fingerprint: fingerprint(&b.labels),
            },
            // Deleting something absent is not an error.
            StateChange::Delete {
                rule: "gone".to_string(),
                fingerprint: 7,
            },
        ],
    )
    .unwrap();
    let loaded = load_alerts(&store).unwrap();
    assert_eq!(loaded.alerts.len(), 1);
    assert_eq!(loaded.alerts["r"], vec![(fingerprint(&a.labels), a2)]);
}

#[test]
fn alerts_of_a_rule_come_back_in_fingerprint_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alert = full_alert("x");
    let changes: Vec<StateChange> = [u64::MAX, 3, 1 << 40, 0]
        .into_iter()
        .map(|fingerprint| StateChange::Put {
            rule: "r".to_string(),
            fingerprint,
            alert: alert.clone(),
        })
        .collect();
    commit(&store, &changes).unwrap();
    let fps: Vec<u64> = load_alerts(&store).unwrap().alerts["r"]
        .iter()
        .map(|(fp, _)| *fp)
        .collect();
    assert_eq!(fps, vec![0, 3, 1 << 40, u64::MAX]);
}

#[test]
fn committed_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = full_alert("a");
    {
        let store = Store::open(dir.path()).unwrap();
        commit(&store, &[put("r", &a)]).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        load_alerts(&store).unwrap().alerts["r"],
        vec![(fingerprint(&a.labels), a)]
    );
    // No verification copy or half-made file is left behind.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["klaxon.lock", "klaxon.redb"]);
}

/// `--storage.cache-size` only trades memory for speed: with no cache at
/// all (every page read from the file, every dirty page written at once)
/// and with one smaller than a transaction, state still commits and comes
/// back whole after a reopen.
#[test]
fn any_cache_size_keeps_every_alert() {
    for cache_bytes in [0, 8 << 10, 512 << 10, DEFAULT_CACHE_BYTES] {
        let dir = tempfile::tempdir().unwrap();
        let alerts: Vec<Alert> = (0..300)
            .map(|i| full_alert(&format!("host-{i}:9100")))
            .collect();
        {
            let store = Store::open_with_cache(dir.path(), cache_bytes).unwrap();
            let changes: Vec<StateChange> =
                alerts.iter().map(|a| put("grp/HighLatency", a)).collect();
            commit(&store, &changes).unwrap();
        }
        let store = Store::open_with_cache(dir.path(), cache_bytes).unwrap();
        let loaded = load_alerts(&store).unwrap();
        assert!(loaded.unreadable.is_empty(), "cache {cache_bytes}");
        assert_eq!(loaded.alert_count(), 300, "cache {cache_bytes}");
        let mut want: Vec<(u64, Alert)> = alerts
            .iter()
            .map(|a| (fingerprint(&a.labels), a.clone()))
            .collect();
        want.sort_by_key(|(fp, _)| *fp);
        assert_eq!(
            loaded.alerts["grp/HighLatency"], want,
            "cache {cache_bytes}"
        );
    }
}

#[test]
fn open_creates_missing_nested_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/data");
    let store = Store::open(&nested).unwrap();
    assert!(nested.join("klaxon.redb").is_file());
    assert!(load_alerts(&store).unwrap().alerts.is_empty());
}

#[test]
fn empty_commit_does_not_touch_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    commit(&store, &[put("r", &full_alert("a"))]).unwrap();
    let before = fs::read(store.path()).unwrap();
    commit(&store, &[]).unwrap();
    assert_eq!(
        store
            .retain_rules(&HashSet::from(["r".to_string()]))
            .unwrap(),
        0
    );
    assert_eq!(fs::read(store.path()).unwrap(), before);
}

#[test]
fn retain_rules_drops_only_unconfigured_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b, c) = (full_alert("a"), full_alert("b"), full_alert("c"));
    commit(&store, &[put("keep", &a), put("old", &b), put("old", &c)]).unwrap();
    let keep = HashSet::from(["keep".to_string(), "not-stored".to_string()]);
    assert_eq!(store.retain_rules(&keep).unwrap(), 2);
    let loaded = load_alerts(&store).unwrap();
    assert_eq!(loaded.alerts.keys().collect::<Vec<_>>(), vec!["keep"]);
    drop(store);
    // And it is durable.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(load_alerts(&store).unwrap().alert_count(), 1);
}

#[test]
fn an_undecodable_record_is_reported_and_the_others_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = full_alert("a");
    commit(&store, &[put("r", &a)]).unwrap();
    store
        .commit_alerts(&[AlertRecord::Put {
            rule: "r",
            fingerprint: 1,
            value: br#"{"state":"silenced"}"#.to_vec(),
        }])
        .unwrap();
    let loaded = load_alerts(&store).unwrap();
    assert_eq!(loaded.alerts["r"], vec![(fingerprint(&a.labels), a)]);
    assert_eq!(loaded.unreadable.len(), 1);
    let bad = &loaded.unreadable[0];
    assert_eq!((bad.rule.as_str(), bad.fingerprint), ("r", 1));
    assert!(bad.reason.contains("silenced"), "{}", bad.reason);
}
