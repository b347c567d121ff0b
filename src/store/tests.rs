use super::*;

/// An encoded alert as the evaluator writes one (the store only keeps the
/// bytes), of a realistic size.
fn record<'a>(rule: &'a str, instance: &str, fingerprint: u64) -> AlertRecord<'a> {
    AlertRecord::Put {
        rule,
        fingerprint,
        value: format!(
            r#"{{"labels":{{"alertname":"HighLatency","instance":"{instance}"}},"annotations":{{"summary":"p99 above 2s"}},"state":"firing","activeAt":1700000000000,"value":"2.5"}}"#
        )
        .into_bytes(),
    }
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
            let rule = format!("grp/rule{chunk}");
            let records: Vec<AlertRecord> = (0..1_000)
                .map(|i| record(&rule, &format!("host-{chunk}-{i}:9100"), chunk * 1_000 + i))
                .collect();
            store.commit_alerts(&records).unwrap();
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
    store.commit_alerts(&[record("r", "a", 1)]).unwrap();
}
