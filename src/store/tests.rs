use super::*;
use crate::eval::alert::{AlertState, Labels, fingerprint};
use crate::model::SeverityLevel;

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

fn put(rule: &str, alert: &Alert) -> Change {
    Change::Put {
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
    store
        .commit(&[put("grp/HighLatency", &a), put("grp/X", &nan)])
        .unwrap();
    let loaded = store.load_alerts().unwrap();
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
    store.commit(&[put("r", &a), put("r", &b)]).unwrap();
    let mut a2 = a.clone();
    a2.state = AlertState::Inactive;
    a2.resolved_at = Some(1_700_000_500_000);
    store
        .commit(&[
            put("r", &a2),
            Change::Delete {
                rule: "r".to_string(),
                fingerprint: fingerprint(&b.labels),
            },
            // Deleting something absent is not an error.
            Change::Delete {
                rule: "gone".to_string(),
                fingerprint: 7,
            },
        ])
        .unwrap();
    let loaded = store.load_alerts().unwrap();
    assert_eq!(loaded.alerts.len(), 1);
    assert_eq!(loaded.alerts["r"], vec![(fingerprint(&a.labels), a2)]);
}

#[test]
fn alerts_of_a_rule_come_back_in_fingerprint_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alert = full_alert("x");
    let changes: Vec<Change> = [u64::MAX, 3, 1 << 40, 0]
        .into_iter()
        .map(|fingerprint| Change::Put {
            rule: "r".to_string(),
            fingerprint,
            alert: alert.clone(),
        })
        .collect();
    store.commit(&changes).unwrap();
    let fps: Vec<u64> = store.load_alerts().unwrap().alerts["r"]
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
        store.commit(&[put("r", &a)]).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.load_alerts().unwrap().alerts["r"],
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
            let changes: Vec<Change> = alerts.iter().map(|a| put("grp/HighLatency", a)).collect();
            store.commit(&changes).unwrap();
        }
        let store = Store::open_with_cache(dir.path(), cache_bytes).unwrap();
        let loaded = store.load_alerts().unwrap();
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
    assert!(store.load_alerts().unwrap().alerts.is_empty());
}

#[test]
fn empty_commit_does_not_touch_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit(&[put("r", &full_alert("a"))]).unwrap();
    let before = fs::read(store.path()).unwrap();
    store.commit(&[]).unwrap();
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
    store
        .commit(&[put("keep", &a), put("old", &b), put("old", &c)])
        .unwrap();
    let keep = HashSet::from(["keep".to_string(), "not-stored".to_string()]);
    assert_eq!(store.retain_rules(&keep).unwrap(), 2);
    let loaded = store.load_alerts().unwrap();
    assert_eq!(loaded.alerts.keys().collect::<Vec<_>>(), vec!["keep"]);
    drop(store);
    // And it is durable.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.load_alerts().unwrap().alert_count(), 1);
}

#[test]
fn an_undecodable_record_is_reported_and_the_others_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = full_alert("a");
    store.commit(&[put("r", &a)]).unwrap();
    {
        let db = store.db.read().unwrap();
        let txn = db.as_ref().unwrap().begin_write().unwrap();
        {
            let mut table = txn.open_table(ALERTS).unwrap();
            table
                .insert(("r", 1), br#"{"state":"silenced"}"#.as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let loaded = store.load_alerts().unwrap();
    assert_eq!(loaded.alerts["r"], vec![(fingerprint(&a.labels), a)]);
    assert_eq!(loaded.unreadable.len(), 1);
    let bad = &loaded.unreadable[0];
    assert_eq!((bad.rule.as_str(), bad.fingerprint), ("r", 1));
    assert!(bad.reason.contains("silenced"), "{}", bad.reason);
}

#[test]
fn second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("already in use by another klaxon process")
            && message.contains(&format!("(pid {})", std::process::id())),
        "{message}"
    );
}

#[test]
fn foreign_file_kinds_are_named() {
    assert_eq!(describe_foreign(b"", 0), "an empty file (0 bytes)");
    assert_eq!(
        describe_foreign(b"SQLite format 3\0\x10\0", 8192),
        "an SQLite database (8192 bytes)"
    );
    assert_eq!(
        describe_foreign("groups:\n  - name: é".as_bytes(), 20),
        "a text file (20 bytes)"
    );
    // A character cut in half by the 4 KiB read is still text.
    assert_eq!(
        describe_foreign(&"é".as_bytes()[..1], 4097),
        "a text file (4097 bytes)"
    );
    assert_eq!(
        describe_foreign(&[0, 1, 2, 0xff], 4),
        "binary data that is not a redb database (4 bytes)"
    );
}

#[test]
fn a_panic_inside_redb_becomes_a_corrupt_error() {
    let outcome: Result<(), Problem> = guard_panic(|| panic!("assertion failed: len >= layout"));
    match outcome {
        Err(Problem::Corrupt(detail)) => assert_eq!(
            detail,
            "the redb library failed reading it (assertion failed: len >= layout)"
        ),
        other => panic!("{other:?}"),
    }
    // Panics outside the guard are not swallowed.
    assert!(std::panic::catch_unwind(|| panic!("outside")).is_err());
}

#[test]
fn store_can_be_shared_between_evaluation_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Store>();
}

/// Verifying an existing file writes nothing to it or next to it, whether
/// it was closed cleanly or left by a crash (redb then repairs it, in
/// memory), and holds only a little of redb's writes in memory.
#[test]
fn verification_writes_nothing_and_holds_little_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for chunk in 0..20u64 {
            let changes: Vec<Change> = (0..1_000)
                .map(|i| {
                    let mut alert = full_alert(&format!("host-{chunk}-{i}:9100"));
                    alert.value = (chunk * 1_000 + i) as f64;
                    put(&format!("grp/rule{chunk}"), &alert)
                })
                .collect();
            store.commit(&changes).unwrap();
        }
        // A copy taken while the store is open is the file a `kill -9`
        // leaves: redb must repair it on open.
        fs::copy(store.path(), crashed.path().join(STATE_FILE_NAME)).unwrap();
    }
    for (what, dir) in [("closed cleanly", dir.path()), ("crashed", crashed.path())] {
        let path = dir.join(STATE_FILE_NAME);
        let before = fs::read(&path).unwrap();
        let (backend, overlay) = overlay::WriteOverlay::open(&path).unwrap();
        verify_file(backend, DEFAULT_CACHE_BYTES).unwrap();
        assert_eq!(fs::read(&path).unwrap(), before, "{what}: the file changed");
        let names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != LOCK_FILE_NAME)
            .collect();
        assert_eq!(names, vec![STATE_FILE_NAME], "{what}");
        println!(
            "{what}: file {} bytes, held in memory while verifying {} bytes",
            before.len(),
            overlay.bytes()
        );
        assert!(
            overlay.bytes() * 20 < before.len() as u64,
            "{what}: {} bytes held for a file of {}",
            overlay.bytes(),
            before.len()
        );
    }
}

/// What [`overlay::WriteOverlay`] shows redb: the file's bytes with every
/// write on top, zeros where the file was grown or shrunk and regrown —
/// and the file itself never changes.
#[test]
fn the_write_overlay_reads_back_what_was_written_and_leaves_the_file_alone() {
    use redb::StorageBackend;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file");
    let original: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&path, &original).unwrap();
    let (overlay, size) = overlay::WriteOverlay::open(&path).unwrap();
    let mut model = original.clone();
    let read_all = |overlay: &overlay::WriteOverlay| {
        let mut out = vec![0xEE; overlay.len().unwrap() as usize];
        overlay.read(0, &mut out).unwrap();
        out
    };
    assert_eq!(read_all(&overlay), model);

    // A write across a block boundary, and one past the end.
    overlay.write(4000, &[1; 200]).unwrap();
    model[4000..4200].fill(1);
    overlay.write(12_000, &[2; 10]).unwrap();
    model.resize(12_000, 0);
    model.extend([2; 10]);
    assert_eq!(read_all(&overlay), model);
    let mut middle = [0u8; 300];
    overlay.read(3950, &mut middle).unwrap();
    assert_eq!(middle[..], model[3950..4250]);

    // Shrinking and growing again reads zeros, from the file and the overlay.
    overlay.set_len(4100).unwrap();
    model.truncate(4100);
    overlay.set_len(9000).unwrap();
    model.resize(9000, 0);
    assert_eq!(read_all(&overlay), model);

    let mut past = [0u8; 2];
    assert!(overlay.read(8999, &mut past).is_err());
    overlay.sync_data().unwrap();
    assert_eq!(fs::read(&path).unwrap(), original);
    // Blocks 0 and 1 (the write at 4000); block 2 went with the shrink.
    assert_eq!(size.bytes(), 2 * 4096);
}

#[test]
fn a_full_disk_and_a_used_up_quota_are_no_space_other_errors_are_io() {
    let kind = |kind: io::ErrorKind| health::io_failure(&io::Error::from(kind));
    assert_eq!(kind(io::ErrorKind::StorageFull), WriteFailure::NoSpace);
    assert_eq!(kind(io::ErrorKind::QuotaExceeded), WriteFailure::NoSpace);
    assert_eq!(kind(io::ErrorKind::Other), WriteFailure::Io);
    #[cfg(target_os = "linux")]
    {
        // ENOSPC, EDQUOT, EIO as the kernel reports them.
        let os = |code| health::io_failure(&io::Error::from_raw_os_error(code));
        assert_eq!(os(28), WriteFailure::NoSpace);
        assert_eq!(os(122), WriteFailure::NoSpace);
        assert_eq!(os(5), WriteFailure::Io);
    }
    let full = redb::Error::Io(io::Error::from(io::ErrorKind::StorageFull));
    assert!(matches!(
        health::cause(&full),
        Some(Cause::Failed(WriteFailure::NoSpace, _))
    ));
    assert!(matches!(
        health::cause(&redb::Error::PreviousIo),
        Some(Cause::Poisoned)
    ));
    assert!(health::cause(&redb::Error::Corrupted("x".to_string())).is_none());
}

/// A failure is reported until a reopen succeeds; failed reopens wait
/// longer each time; a full disk is not reopened before it has room.
#[test]
fn health_reports_a_failure_until_recovered_and_backs_off_between_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STATE_FILE_NAME);
    let health = Health::new();
    assert!(health.is_healthy() && health.problem().is_none());
    assert!(!health.reopen_due(dir.path()));

    let problem = health.failed(&path, Cause::Failed(WriteFailure::Io, "EIO".to_string()));
    assert_eq!(
        (problem.failure, problem.detail.as_str()),
        (WriteFailure::Io, "EIO")
    );
    // Later operations on the poisoned handle report the first failure.
    assert_eq!(health.failed(&path, Cause::Poisoned), problem);
    assert_eq!(health.problem(), Some(problem.clone()));
    assert!(
        problem
            .to_string()
            .starts_with(&format!("writing {} fails (EIO) since 0s", path.display())),
        "{problem}"
    );
    assert!(
        health.reopen_due(dir.path()),
        "the first reopen is due at once"
    );
    health.attempt_failed(&path, Cause::Failed(WriteFailure::Io, "EIO".to_string()));
    assert!(!health.reopen_due(dir.path()), "then it waits");
    health.recovered(&path);
    assert!(health.is_healthy() && health.problem().is_none());
    assert_eq!(health.reopens(), 1);

    // A full disk: due only once the file system has room.
    let problem = health.failed(
        &path,
        Cause::Failed(WriteFailure::NoSpace, "No space left on device".to_string()),
    );
    assert!(
        problem.to_string().contains(&format!(
            "the disk holding {} is full (No space left on device)",
            path.display()
        )),
        "{problem}"
    );
    let free = health::free_bytes(dir.path());
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    assert!(free.is_some());
    assert_eq!(
        health.reopen_due(dir.path()),
        free.is_none_or(|free| free >= MIN_FREE_BYTES)
    );
}

#[test]
fn store_errors_say_whether_to_retry_and_copy_to_every_waiter() {
    let path = PathBuf::from("/data/klaxon.redb");
    let full = StoreError::NoSpace {
        path: path.clone(),
        action: "commit notifier records to",
        detail: "No space left on device (os error 28)".to_string(),
    };
    assert!(full.is_unavailable());
    assert_eq!(
        full.to_string(),
        "cannot commit notifier records to /data/klaxon.redb: the disk is full (No space left \
         on device (os error 28)). Free space on the file system holding /data; klaxon writes \
         again by itself once there is room, no restart needed"
    );
    let copy = full.duplicate();
    assert!(matches!(copy, StoreError::NoSpace { .. }));
    assert_eq!(copy.to_string(), full.to_string());
    let failing = StoreError::Unavailable {
        path: path.clone(),
        action: "commit alert state to",
        detail: "Input/output error (os error 5)".to_string(),
    };
    assert!(failing.is_unavailable());
    assert_eq!(failing.duplicate().to_string(), failing.to_string());
    let damaged = StoreError::Corrupt {
        path,
        detail: "bad".to_string(),
    };
    assert!(!damaged.is_unavailable());
    assert_eq!(damaged.duplicate().to_string(), damaged.to_string());
    assert!(!damaged.duplicate().is_unavailable());
}

#[test]
fn a_verification_copy_left_by_an_older_klaxon_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    fs::write(dir.path().join(VERIFY_FILE_NAME), vec![7u8; 100_000]).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(!dir.path().join(VERIFY_FILE_NAME).exists());
    store.commit(&[put("r", &full_alert("a"))]).unwrap();
}
