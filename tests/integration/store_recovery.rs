//! The alert-state store across crashes and bad files: every commit the
//! writer reported survives `kill -9`; files klaxon must not use (not redb,
//! foreign redb, newer schema, truncated, damaged) are refused with a clear
//! error and left byte for byte as they were; a data directory is used by one
//! klaxon process at a time; a full disk refuses writes with a clear error
//! until there is room again, then klaxon writes again without a restart
//! (issue 22).

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::process::{KillOnDrop, this_test_alone};
use crate::harness::{Klaxon, WebhookSink, free_port, http, wait_for, wait_until};
use klaxon::eval::alert::{Alert, AlertState};
use klaxon::eval::persist::{StateChange as Change, commit, load_alerts};
use klaxon::store::{Store, StoreError, WriteFailure};
use klaxon::vocab::labels::Labels;

/// Set in the child process: act as the writer of the kill -9 test.
const WRITER_DIR_ENV: &str = "KLAXON_STORE_TEST_WRITER_DIR";
/// The first sequence number the writer commits.
const WRITER_START_ENV: &str = "KLAXON_STORE_TEST_WRITER_START";
/// How many commits the writer makes before it idles (it is killed long before).
const WRITER_COMMITS: u64 = 1_000_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alert_with_value(name: &str, value: f64) -> Alert {
    let mut alert = Alert::new(
        labels(&[("alertname", name)]),
        labels(&[("summary", "test")]),
        value,
        1_700_000_000_000,
    );
    alert.state = AlertState::Firing;
    alert.fired_at = Some(1_700_000_060_000);
    alert
}

fn put(rule: &str, fingerprint: u64, alert: Alert) -> Change {
    Change::Put {
        rule: rule.to_string(),
        fingerprint,
        alert,
    }
}

/// The child side of the kill -9 test: one commit per sequence number, each
/// reported on stdout only after `commit` returned.
fn run_writer(dir: &Path, start: u64) -> ! {
    let store = match Store::open(dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("writer: {e}");
            std::process::exit(3);
        }
    };
    for seq in start..start + WRITER_COMMITS {
        let value = seq as f64;
        let changes = [
            // One new record per commit: must all be there after the kill.
            put("seq", seq, alert_with_value("Seq", value)),
            // One record overwritten every commit: must be the last reported
            // one (or the one after, if the kill came between commit and print).
            put("latest", 0, alert_with_value("Latest", value)),
            // Churn so commits also free pages.
            put("churn", seq % 8, alert_with_value("Churn", value)),
            Change::Delete {
                rule: "churn".to_string(),
                fingerprint: (seq + 4) % 8,
            },
        ];
        if let Err(e) = commit(&store, &changes) {
            eprintln!("writer: {e}");
            std::process::exit(4);
        }
        println!("committed {seq}");
    }
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// The sequence number of a writer's "committed N" line. libtest may print
/// "test NAME ... " before it on the same line.
fn committed_seq(line: &str) -> Option<u64> {
    line.split("committed ").nth(1)?.trim().parse().ok()
}

#[test]
fn kill_9_keeps_every_reported_commit() {
    if let Ok(dir) = std::env::var(WRITER_DIR_ENV) {
        let start = std::env::var(WRITER_START_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        run_writer(Path::new(&dir), start);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut start = 0u64;
    // Several rounds: each child opens the file the previous one left after
    // its kill, so recovery of a killed file is exercised too.
    for round in 0..4 {
        let mut child = KillOnDrop(
            this_test_alone(module_path!(), "kill_9_keeps_every_reported_commit")
                .env(WRITER_DIR_ENV, dir.path())
                .env(WRITER_START_ENV, start.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut reported: Vec<u64> = Vec::new();
        let kill_after = 30 + 17 * round;
        while reported.len() < kill_after {
            let Some(line) = lines.next() else {
                panic!(
                    "round {round}: writer exited after {} commits: {:?}",
                    reported.len(),
                    child.0.try_wait()
                );
            };
            if let Some(seq) = committed_seq(&line.unwrap()) {
                reported.push(seq);
            }
        }

        // While the writer lives, the data directory is refused, naming it.
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!(
                "already in use by another klaxon process (pid {})",
                child.0.id()
            )),
            "{err}"
        );

        // SIGKILL while it is committing as fast as it can.
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        // Lines it printed before dying were committed too.
        for line in lines {
            if let Some(seq) = committed_seq(&line.unwrap()) {
                reported.push(seq);
            }
        }
        let last = *reported.last().unwrap();
        assert_eq!(
            reported,
            (start..=last).collect::<Vec<_>>(),
            "round {round}: writer reported out of order"
        );
        assert!(
            last < start + WRITER_COMMITS - 1,
            "the kill must land mid-way"
        );

        let store = Store::open(dir.path()).unwrap();
        let loaded = load_alerts(&store).unwrap();
        assert!(loaded.unreadable.is_empty(), "{:?}", loaded.unreadable);
        let seq: Vec<(u64, f64)> = loaded.alerts["seq"]
            .iter()
            .map(|(fp, alert)| (*fp, alert.value))
            .collect();
        // Every reported commit is there with its content; at most one
        // unreported commit (done, killed before printing) follows.
        let expected: Vec<(u64, f64)> = (0..=last).map(|s| (s, s as f64)).collect();
        let extra = &seq[expected.len().min(seq.len())..];
        assert_eq!(&seq[..expected.len().min(seq.len())], &expected[..]);
        assert!(seq.len() >= expected.len(), "round {round}: lost commits");
        assert!(
            extra.is_empty() || extra == [(last + 1, (last + 1) as f64)],
            "round {round}: unexpected records after {last}: {extra:?}"
        );
        let latest = loaded.alerts["latest"][0].1.value;
        let newest = seq.last().unwrap().0;
        assert_eq!(latest, newest as f64, "round {round}");
        // The churn rule reflects exactly the newest commit's deletes.
        let churn: HashSet<u64> = loaded.alerts["churn"].iter().map(|(fp, _)| *fp).collect();
        assert!(churn.contains(&(newest % 8)), "round {round}: {churn:?}");
        assert!(
            !churn.contains(&((newest + 4) % 8)),
            "round {round}: {churn:?}"
        );
        start = newest + 1;
    }
}

/// Writes `bytes` as the state file of a fresh data directory.
fn data_dir_with_state_file(bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("klaxon.redb"), bytes).unwrap();
    dir
}

/// Opens `dir` expecting a refusal, and checks the refusal did not change the
/// state file or leave a working file behind. Returns the error.
fn assert_refused(dir: &Path) -> StoreError {
    let state = dir.join("klaxon.redb");
    let before = fs::read(&state).unwrap();
    let err = Store::open(dir).unwrap_err();
    assert_eq!(
        fs::read(&state).unwrap(),
        before,
        "refused file was modified ({err})"
    );
    for leftover in ["klaxon.redb.verify", "klaxon.redb.new"] {
        assert!(!dir.join(leftover).exists(), "{leftover} left behind");
    }
    let message = err.to_string();
    assert!(
        message.contains(&state.display().to_string()),
        "error does not name the file: {message}"
    );
    err
}

/// A klaxon state file with some alerts, closed cleanly; returns its bytes.
fn valid_state_file(dir: &Path) -> Vec<u8> {
    let store = Store::open(dir).unwrap();
    let changes: Vec<Change> = (0..200)
        .map(|i| {
            put(
                "group/rule",
                i,
                alert_with_value("DamageMarkerAlertName", i as f64),
            )
        })
        .collect();
    commit(&store, &changes).unwrap();
    drop(store);
    fs::read(dir.join("klaxon.redb")).unwrap()
}

/// Deterministic noise (xorshift64).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An empty SQLite 3 database, as `sqlite3 x.db 'PRAGMA user_version=1'` writes it.
fn sqlite_file() -> Vec<u8> {
    let mut page = vec![0u8; 4096];
    page[..16].copy_from_slice(b"SQLite format 3\0");
    page[16..32].copy_from_slice(&[
        0x10, 0x00, 0x01, 0x01, 0x00, 0x40, 0x20, 0x20, 0, 0, 0, 1, 0, 0, 0, 1,
    ]);
    page[0x3f] = 1;
    page[0x5f] = 1;
    page[0x60..0x6b].copy_from_slice(&[0x00, 0x2e, 0x63, 0x01, 0x0d, 0, 0, 0, 0, 0x10, 0x00]);
    page
}

#[test]
fn random_bytes_are_refused() {
    let dir = data_dir_with_state_file(&noise(65536));
    let err = assert_refused(dir.path());
    assert!(matches!(err, StoreError::NotRedb { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "is not a klaxon state file: it is binary data that is not a redb database (65536 bytes)"
        ),
        "{err}"
    );
}

#[test]
fn a_text_file_is_refused() {
    let dir = data_dir_with_state_file(b"groups:\n  - name: example\n    rules: []\n");
    let err = assert_refused(dir.path());
    assert!(
        err.to_string().contains("it is a text file (40 bytes)"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with(
            "Move it aside or point --data-dir at another directory; klaxon did not modify it"
        ),
        "{err}"
    );
}

#[test]
fn an_sqlite_database_is_refused() {
    let dir = data_dir_with_state_file(&sqlite_file());
    let err = assert_refused(dir.path());
    assert!(
        err.to_string()
            .contains("it is an SQLite database (4096 bytes)"),
        "{err}"
    );
}

#[test]
fn an_empty_file_is_refused() {
    let dir = data_dir_with_state_file(b"");
    let err = assert_refused(dir.path());
    assert!(
        err.to_string().contains("it is an empty file (0 bytes)"),
        "{err}"
    );
}

#[test]
fn a_directory_in_place_of_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("klaxon.redb")).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotRedb { .. }), "{err:?}");
    assert!(dir.path().join("klaxon.redb").is_dir());
}

#[test]
fn a_foreign_redb_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klaxon.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let users: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("users");
            let mut table = txn.open_table(users).unwrap();
            table.insert("ada", 1815).unwrap();
        }
        txn.commit().unwrap();
    }
    let err = assert_refused(dir.path());
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is a redb database but not klaxon's alert state (it has no klaxon_meta table; its tables are users)"),
        "{err}"
    );
    // The advice works: with the file moved aside klaxon starts empty.
    fs::rename(&path, dir.path().join("users.redb")).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(load_alerts(&store).unwrap().alert_count(), 0);
}

#[test]
fn an_empty_redb_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(redb::Database::create(dir.path().join("klaxon.redb")).unwrap());
    let err = assert_refused(dir.path());
    assert!(
        err.to_string()
            .contains("(it has no klaxon_meta table; it has no tables)"),
        "{err}"
    );
}

/// Rewrites one metadata entry of a closed klaxon state file.
fn set_meta(dir: &Path, key: &str, value: &str) {
    let db = redb::Database::open(dir.join("klaxon.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let meta: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("klaxon_meta");
        txn.open_table(meta).unwrap().insert(key, value).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    valid_state_file(dir.path());
    set_meta(dir.path(), "schema_version", "2");
    let err = assert_refused(dir.path());
    assert!(
        matches!(err, StoreError::NewerSchema { found: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "was written by a newer klaxon (state schema version 2; this klaxon reads up to 1). \
             Run the newer klaxon, or move the file aside"
        ),
        "{err}"
    );
}

#[test]
fn another_programs_marker_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    valid_state_file(dir.path());
    set_meta(dir.path(), "format", "acme inventory");
    let err = assert_refused(dir.path());
    assert!(
        err.to_string()
            .contains("(its format marker is \"acme inventory\")"),
        "{err}"
    );
}

#[test]
fn a_garbled_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    valid_state_file(dir.path());
    set_meta(dir.path(), "schema_version", "one");
    let err = assert_refused(dir.path());
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("its schema version \"one\" is not a version klaxon ever wrote"),
        "{err}"
    );
}

#[test]
fn a_file_truncated_inside_the_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = valid_state_file(dir.path());
    fs::write(dir.path().join("klaxon.redb"), &bytes[..100]).unwrap();
    let err = assert_refused(dir.path());
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "is damaged: it is truncated: 100 bytes, shorter than the 320-byte redb header. \
             Move it aside or restore a backup; klaxon did not modify it"
        ),
        "{err}"
    );
}

#[test]
fn a_file_truncated_in_the_middle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = valid_state_file(dir.path());
    for len in [4096, bytes.len() / 2, bytes.len() - 1] {
        fs::write(dir.path().join("klaxon.redb"), &bytes[..len]).unwrap();
        let err = assert_refused(dir.path());
        assert!(matches!(err, StoreError::Corrupt { .. }), "{len}: {err:?}");
        assert!(
            err.to_string()
                .contains("Move it aside or restore a backup"),
            "{err}"
        );
    }
}

#[test]
fn a_damaged_record_page_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = valid_state_file(dir.path());
    let marker = b"DamageMarkerAlertName";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("alert JSON is stored verbatim");
    bytes[at] ^= 0x20; // "damageMarker...": still valid JSON, wrong checksum
    fs::write(dir.path().join("klaxon.redb"), &bytes).unwrap();
    let err = assert_refused(dir.path());
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is damaged: redb's consistency check failed ("),
        "{err}"
    );
}

#[test]
fn damaged_commit_slots_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = valid_state_file(dir.path());
    bytes[64..320].copy_from_slice(&noise(256));
    fs::write(dir.path().join("klaxon.redb"), &bytes).unwrap();
    let err = assert_refused(dir.path());
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is damaged: redb's consistency check failed ("),
        "{err}"
    );
}

#[test]
fn an_undecodable_record_is_kept_and_the_others_load() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        commit(
            &store,
            &[
                put("r", 1, alert_with_value("A", 1.0)),
                put("r", 3, alert_with_value("A", 3.0)),
            ],
        )
        .unwrap();
    }
    {
        // A record as a future klaxon might write it, and one that is not JSON.
        let db = redb::Database::open(dir.path().join("klaxon.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let alerts: redb::TableDefinition<(&str, u64), &[u8]> =
                redb::TableDefinition::new("alerts");
            let mut table = txn.open_table(alerts).unwrap();
            table
                .insert(("r", 2), br#"{"labels":{},"state":"silenced"}"#.as_slice())
                .unwrap();
            table.insert(("s", 9), b"\xff\x00".as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let loaded = load_alerts(&store).unwrap();
    let good: Vec<u64> = loaded.alerts["r"].iter().map(|(fp, _)| *fp).collect();
    assert_eq!(good, vec![1, 3]);
    assert!(!loaded.alerts.contains_key("s"));
    let bad: Vec<(&str, u64)> = loaded
        .unreadable
        .iter()
        .map(|u| (u.rule.as_str(), u.fingerprint))
        .collect();
    assert_eq!(bad, vec![("r", 2), ("s", 9)]);
    assert!(
        loaded.unreadable[0]
            .reason
            .contains("unknown variant `silenced`"),
        "{:?}",
        loaded.unreadable[0]
    );

    // Committing other alerts does not lose the unreadable ones.
    commit(&store, &[put("r", 4, alert_with_value("A", 4.0))]).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(load_alerts(&store).unwrap().unreadable.len(), 2);
    // Until their rule is removed from the configuration.
    assert_eq!(
        store
            .retain_rules(&HashSet::from(["r".to_string()]))
            .unwrap(),
        1
    );
    assert_eq!(load_alerts(&store).unwrap().unreadable.len(), 1);
}

#[test]
fn a_file_open_by_another_redb_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    valid_state_file(dir.path());
    let _other = redb::Database::open(dir.path().join("klaxon.redb")).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is already in use by another klaxon process"),
        "{err}"
    );
    assert!(!dir.path().join("klaxon.redb.verify").exists());
}

#[test]
fn a_stale_half_made_file_from_a_crash_is_ignored() {
    // A crash while creating leaves klaxon.redb.new; klaxon.redb never exists
    // half-made, so the next start creates a fresh file.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("klaxon.redb.new"), noise(1000)).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(load_alerts(&store).unwrap().alert_count(), 0);
    assert!(!dir.path().join("klaxon.redb.new").exists());
}

// ---- a full disk (issue 22) ---------------------------------------------------

/// Held by each disk-full test: one spawns klaxon, and a child process
/// holds copies of the parent's descriptors between fork and exec, so the
/// other's redb file locks could seem taken for that moment.
static DISK_FULL_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A small tmpfs mounted on a temporary directory, unmounted when dropped
/// (after whatever uses it, so declare it first).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it), or prints
    /// why `test` is skipped: mounting needs root.
    fn mount(test: &str, size: &str) -> Option<Tmpfs> {
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        let euid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_string));
        if euid.as_deref() != Some("0") {
            eprintln!("{test}: skipped: mounting a small tmpfs needs root");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("klaxon-test-tmpfs-")
            .tempdir()
            .unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match output {
            Ok(out) if out.status.success() => Some(Tmpfs { dir }),
            Ok(out) => {
                eprintln!(
                    "{test}: skipped: mount -t tmpfs failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("{test}: skipped: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process that did not die yet): detach it.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Writes `path` until its file system is full, then gives `leave` bytes
/// back; returns the file's size.
fn fill(path: &Path, leave: u64) -> u64 {
    let mut file = fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [64 << 10, 4096, 512] {
        let bytes = vec![0x5au8; chunk];
        while file.write_all(&bytes).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = file.sync_all();
    let size = written.saturating_sub(leave);
    file.set_len(size).unwrap();
    size
}

/// An alert with a 4 KiB annotation, so a few commits fill a small disk.
fn bulky_alert(n: u64) -> Alert {
    let mut alert = alert_with_value("Bulky", n as f64);
    alert
        .annotations
        .insert("description".to_string(), format!("{n:04096}"));
    alert
}

#[test]
fn a_full_disk_refuses_commits_and_the_store_writes_again_once_there_is_room() {
    let test = "a_full_disk_refuses_commits_and_the_store_writes_again_once_there_is_room";
    let _alone = DISK_FULL_TESTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(tmpfs) = Tmpfs::mount(test, "8m") else {
        return;
    };
    let data = tmpfs.path().join("data");
    let filler = tmpfs.path().join("filler");

    // A new data directory on a full disk: refused with the reason, and
    // nothing half-made left behind.
    fill(&filler, 0);
    let err = Store::open(&data).unwrap_err();
    assert!(matches!(err, StoreError::NoSpace { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot create {}: the disk is full (No space left on device",
            data.join("klaxon.redb.new").display()
        )),
        "{err}"
    );
    let left: Vec<_> = fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["klaxon.lock"]);
    fs::remove_file(&filler).unwrap();

    let store = Store::open(&data).unwrap();
    let mut acknowledged: Vec<u64> = Vec::new();
    for n in 0..10 {
        commit(&store, &[put("bulky", n, bulky_alert(n))]).unwrap();
        acknowledged.push(n);
    }
    fill(&filler, 0);
    // redb has some free pages of its own: commit until the file must grow.
    let mut refused = None;
    for batch in 1..1_000u64 {
        let fingerprints: Vec<u64> = (0..20).map(|i| batch * 100 + i).collect();
        let changes: Vec<Change> = fingerprints
            .iter()
            .map(|&n| put("bulky", n, bulky_alert(n)))
            .collect();
        match commit(&store, &changes) {
            Ok(()) => acknowledged.extend(fingerprints),
            Err(e) => {
                refused = Some((e, fingerprints));
                break;
            }
        }
    }
    let (err, lost) = refused.expect("the disk never filled up");
    assert!(matches!(err, StoreError::NoSpace { .. }), "{err:?}");
    assert!(err.is_unavailable());
    let message = err.to_string();
    for part in [
        format!(
            "cannot commit alert state to {}",
            data.join("klaxon.redb").display()
        ),
        "the disk is full (No space left on device".to_string(),
        format!("Free space on the file system holding {}", data.display()),
        "klaxon writes again by itself once there is room, no restart needed".to_string(),
    ] {
        assert!(message.contains(&part), "{part:?} not in {message}");
    }
    let problem = store.problem().expect("the store reports its problem");
    assert_eq!(problem.failure, WriteFailure::NoSpace);
    assert!(
        problem
            .to_string()
            .contains("is full (No space left on device"),
        "{problem}"
    );

    // While the disk is full, writes are refused at once and no reopen is
    // tried (it would only fail again).
    let started = Instant::now();
    let again = commit(&store, &[put("small", 1, alert_with_value("Small", 1.0))]).unwrap_err();
    assert!(matches!(again, StoreError::NoSpace { .. }), "{again:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!store.recover());
    assert_eq!(store.reopens(), 0);
    assert!(store.write_errors(WriteFailure::NoSpace) >= 2);
    assert_eq!(store.write_errors(WriteFailure::Io), 0);

    // Room again: the next write reopens the file by itself.
    fs::remove_file(&filler).unwrap();
    commit(&store, &[put("small", 1, alert_with_value("Small", 1.0))]).unwrap();
    assert!(store.problem().is_none());
    assert_eq!(store.reopens(), 1);
    let stored = |store: &Store| -> Vec<u64> {
        let loaded = load_alerts(store).unwrap();
        loaded.alerts["bulky"].iter().map(|(fp, _)| *fp).collect()
    };
    acknowledged.sort_unstable();
    assert_eq!(
        stored(&store),
        acknowledged,
        "an acknowledged commit was lost"
    );
    assert!(lost.iter().all(|fp| !acknowledged.contains(fp)));
    drop(store);

    // And after a restart, with no verification copy left behind.
    let store = Store::open(&data).unwrap();
    assert_eq!(stored(&store), acknowledged);
    assert!(!data.join("klaxon.redb.verify").exists());
}

/// The rule file of the disk-full test: its datasource is a closed port,
/// so the built-in `KlaxonDatasourceDown` fires and the evaluator writes.
const DISK_FULL_RULES: &str = "\
groups:
  - name: disk
    rules:
      - alert: InstanceDown
        expr: up == 0
";

/// Notifications of the disk-full test: one group per posted batch.
fn disk_full_config(sink: &WebhookSink) -> String {
    format!(
        r#"
receiver hook {{ webhook {{ url "{}"  timeout 1s }} }}
route {{
  receiver hook
  group_by batch
  group_wait 1s
  group_interval 1m
  repeat_interval 4h
}}
"#,
        sink.url("/hook")
    )
}

/// Waits until the sink has received the notification of `batch`.
fn wait_for_notification(sink: &WebhookSink, batch: &str) {
    wait_until(
        Duration::from_secs(20),
        &format!("the notification of batch {batch} arrives"),
        || {
            sink.delivered("/hook")
                .iter()
                .any(|r| r.body["groupLabels"]["batch"] == batch)
                .then_some(())
        },
    );
}

/// `n` alerts of one POST, each with a 2 KiB annotation.
fn posted_alerts(batch: usize, n: usize) -> String {
    let alerts: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "labels": {"alertname": "DiskFull", "batch": batch.to_string(), "i": i.to_string()},
                "annotations": {"description": "x".repeat(2048)},
                "startsAt": "2020-01-01T00:00:00Z",
                "endsAt": "2099-01-01T00:00:00Z",
            })
        })
        .collect();
    serde_json::to_string(&alerts).unwrap()
}

const SILENCE: &str = r#"{"matchers":[{"name":"batch","value":"0","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"test","comment":"disk full"}"#;

/// The `batch` labels of the alerts klaxon's Alertmanager API lists.
fn listed_batches(klaxon: &Klaxon) -> HashSet<String> {
    let response = klaxon.get("/api/v2/alerts");
    assert_eq!(response.status, 200, "{}", response.body);
    let alerts = response.json().unwrap();
    alerts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["labels"]["batch"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_full_disk_answers_503_and_klaxon_recovers_without_a_restart() {
    let test = "a_full_disk_answers_503_and_klaxon_recovers_without_a_restart";
    let _alone = DISK_FULL_TESTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(tmpfs) = Tmpfs::mount(test, "16m") else {
        return;
    };
    let data = tmpfs.path().join("data");
    let post = |klaxon: &Klaxon, path: &str, body: &str| {
        http::post(
            &format!("{}{path}", klaxon.url()),
            "application/json",
            body.as_bytes(),
        )
        .unwrap()
    };
    let sink = WebhookSink::start();
    let mut klaxon = Klaxon::builder()
        .config_file("notify.rules", &disk_full_config(&sink))
        .rules_file("disk.yml", DISK_FULL_RULES)
        .prometheus_url(&format!("http://127.0.0.1:{}", free_port()))
        .data_dir(&data)
        .start();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let response = post(&klaxon, "/api/v2/alerts", &posted_alerts(0, 10));
    assert_eq!(response.status, 200, "{}", response.body);
    acknowledged.insert("0".to_string());
    wait_for_notification(&sink, "0");

    let filler = tmpfs.path().join("filler");
    fill(&filler, 0);
    let mut refused = None;
    for batch in 1..500 {
        let response = post(&klaxon, "/api/v2/alerts", &posted_alerts(batch, 20));
        match response.status {
            200 => {
                acknowledged.insert(batch.to_string());
            }
            _ => {
                refused = Some(response);
                break;
            }
        }
    }
    let refused = refused.expect("the disk never filled up");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("10"));
    let message: String = serde_json::from_str(&refused.body).unwrap();
    for part in [
        format!(
            "{}: the disk is full (No space left on device",
            data.join("klaxon.redb").display()
        ),
        format!("Free space on the file system holding {}", data.display()),
        "no restart needed".to_string(),
    ] {
        assert!(message.contains(&part), "{part:?} not in {message}");
    }
    let silence = post(&klaxon, "/api/v2/silences", SILENCE);
    assert_eq!(silence.status, 503, "{}", silence.body);
    assert!(
        silence.body.contains("the disk is full"),
        "{}",
        silence.body
    );

    // Not ready, and it says why; the log and the metrics say so too.
    let ready = klaxon.get("/-/ready");
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        ready.body.contains(&format!(
            "klaxon is not ready: the disk holding {} is full",
            data.join("klaxon.redb").display()
        )),
        "{}",
        ready.body
    );
    assert!(
        klaxon
            .stderr()
            .contains("the disk holding the state file is full"),
        "no log line says why"
    );
    assert_eq!(klaxon.metric("klaxon_store_healthy")[0].1, 0.0);
    let no_space = klaxon
        .metric("klaxon_store_write_errors_total")
        .into_iter()
        .find(|(labels, _)| labels.get("reason").map(String::as_str) == Some("no_space"))
        .map(|(_, value)| value);
    assert!(no_space.is_some_and(|v| v >= 2.0), "{no_space:?}");
    // Reads keep answering.
    assert_eq!(listed_batches(&klaxon), acknowledged);
    for path in [
        "/api/v2/silences",
        "/api/v1/alerts",
        "/api/v1/rules",
        "/-/healthy",
    ] {
        let response = klaxon.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
    }

    // Room again: writes work within seconds, without a restart.
    fs::remove_file(&filler).unwrap();
    wait_for(
        Duration::from_secs(10),
        "/-/ready answers 200 again",
        || {
            let ready = klaxon.get("/-/ready");
            (ready.status == 200).then_some(()).ok_or(ready.body)
        },
    );
    let response = post(&klaxon, "/api/v2/alerts", &posted_alerts(1000, 5));
    assert_eq!(response.status, 200, "{}", response.body);
    acknowledged.insert("1000".to_string());
    // Notifications are committed and sent again.
    wait_for_notification(&sink, "1000");
    let silence = post(&klaxon, "/api/v2/silences", SILENCE);
    assert_eq!(silence.status, 200, "{}", silence.body);
    assert_eq!(klaxon.metric("klaxon_store_healthy")[0].1, 1.0);
    assert!(klaxon.metric("klaxon_store_reopens_total")[0].1 >= 1.0);
    assert_eq!(listed_batches(&klaxon), acknowledged);
    assert!(
        klaxon.stderr().contains("the state store writes again"),
        "no log line says it recovered"
    );

    // A restart on a nearly full disk: less room than the state file
    // (verification used to copy it), plus a stale copy an older klaxon
    // left, which is removed.
    klaxon.terminate();
    let state_size = fs::metadata(data.join("klaxon.redb")).unwrap().len();
    fs::write(data.join("klaxon.redb.verify"), vec![0u8; 1 << 20]).unwrap();
    fill(&filler, 256 << 10);
    assert!(state_size > 256 << 10, "state file of {state_size} bytes");
    klaxon.restart();
    assert!(!data.join("klaxon.redb.verify").exists());
    assert_eq!(listed_batches(&klaxon), acknowledged);
    assert!(klaxon.get("/api/v2/silences").body.contains("disk full"));

    // kill -9, then a start on a disk with no room at all: the file is
    // repaired in place, state restored, reads answer.
    klaxon.kill9();
    fill(&tmpfs.path().join("filler-2"), 0);
    klaxon.restart();
    assert_eq!(listed_batches(&klaxon), acknowledged);
    assert!(!data.join("klaxon.redb.verify").exists());
    fs::remove_file(&filler).unwrap();
    fs::remove_file(tmpfs.path().join("filler-2")).unwrap();
    wait_for(Duration::from_secs(10), "a POST is stored again", || {
        let response = post(&klaxon, "/api/v2/alerts", &posted_alerts(2000, 5));
        (response.status == 200).then_some(()).ok_or(response.body)
    });
    klaxon.terminate();
    drop(klaxon);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn measure(label: &str, rounds: usize, mut f: impl FnMut(usize)) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / rounds as u32;
    println!(
        "{label}: n={rounds} mean={mean:?} p50={:?} p99={:?} max={:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[rounds - 1]
    );
}

/// This process's `write_bytes` from /proc/self/io (Linux), if readable.
fn bytes_written_to_disk() -> Option<u64> {
    fs::read_to_string("/proc/self/io")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("write_bytes: "))?
        .trim()
        .parse()
        .ok()
}

/// Figures for the report, not a pass/fail check:
/// `cargo test --release --test integration store_recovery:: -- --ignored --nocapture`.
/// Set KLAXON_STORE_BENCH_DIR to measure on a particular file system.
#[test]
#[ignore]
fn commit_latency_figures() {
    let base = std::env::var_os("KLAXON_STORE_BENCH_DIR").map(PathBuf::from);
    let dir = match &base {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    println!("data dir: {}", dir.path().display());
    let store = Store::open(dir.path()).unwrap();
    let alert = alert_with_value("Latency", 1.0);
    let written_before = bytes_written_to_disk();
    measure("commit 1 change", 300, |i| {
        commit(&store, &[put("g/r", i as u64, alert.clone())]).unwrap();
    });
    if let (Some(before), Some(after)) = (written_before, bytes_written_to_disk()) {
        println!(
            "bytes written to disk per 1-change commit: {}",
            (after - before) / 300
        );
    }
    measure("commit 20 changes", 200, |i| {
        let changes: Vec<Change> = (0..20)
            .map(|j| put("g/r2", (i * 20 + j) as u64, alert.clone()))
            .collect();
        commit(&store, &changes).unwrap();
    });
    // 10,000 rules x 2 alerts, committed in groups of 100 rules.
    for chunk in 0..100 {
        let changes: Vec<Change> = (0..200)
            .map(|j| {
                let n = chunk * 200 + j;
                put(
                    &format!("group{chunk}/rule{}", n / 2),
                    n as u64,
                    alert.clone(),
                )
            })
            .collect();
        commit(&store, &changes).unwrap();
    }
    let loaded = load_alerts(&store).unwrap();
    println!("stored alerts: {}", loaded.alert_count());
    measure("load_alerts (all stored alerts)", 5, |_| {
        load_alerts(&store).unwrap();
    });
    measure("commit 1 change into the big file", 200, |i| {
        commit(&store, &[put("g/r", i as u64, alert.clone())]).unwrap();
    });
    drop(store);
    let size = fs::metadata(dir.path().join("klaxon.redb")).unwrap().len();
    println!("file size: {size} bytes");
    measure("open (verify in place + integrity check + open)", 5, |_| {
        drop(Store::open(dir.path()).unwrap());
    });
}

/// The fixture of [`state_written_by_klaxon_a796ac3_is_restored_to_its_rules`]:
/// rules, and the alert state klaxon at a796ac3 wrote for them.
const KEYS_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/store/keys-a796ac3"
);

#[test]
fn state_written_by_klaxon_a796ac3_is_restored_to_its_rules() {
    // The rule key (file, group, name, hash of the rule's definition) is
    // what ties a stored alert to its rule: a key built differently by
    // this klaxon would leave every stored alert unmatched (and delete it).
    let fixture = Path::new(KEYS_FIXTURE);
    let read = |name: &str| {
        fs::read_to_string(fixture.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let builder = Klaxon::builder();
    for name in ["config.rules", "rules/keys.rules", "rules/prom.yml"] {
        builder.write_file(name, &read(name));
    }
    let data = builder.dir().join("data");
    fs::create_dir_all(&data).unwrap();
    fs::copy(fixture.join("data/klaxon.redb"), data.join("klaxon.redb")).unwrap();
    // Nothing answers there: the datasources are down, so every alert the
    // API shows comes from the store, with the state it was stored in.
    let down = format!("http://127.0.0.1:{}", free_port());
    // The same relative paths as when the fixture was written: the file is
    // part of the key.
    let klaxon = builder
        .env("PROM_URL", &down)
        .args(["--config", "config.rules", "--rules", "rules/*"])
        .start();

    let restored = klaxon
        .stderr()
        .lines()
        .find(|l| l.contains("alert state restored"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no restore line:\n{}", klaxon.stderr()));
    assert!(
        restored.contains("alerts=7") && restored.contains("rules_gone=0"),
        "{restored}"
    );

    // Each rule with its alerts, as `group/rule: state since, …`.
    let expected = [
        "keyed/KeyLevels: firing 2026-12-07T17:35:01.401Z",
        "keyed/KeyPending: pending 2026-12-07T17:35:01.401Z",
        "keyed/KeyNoData: firing 2026-12-07T17:35:01.401Z",
        "keyed/KeyKeep: firing 2026-12-07T17:35:01.401Z",
        // Two identical rules: keys `…` and `…#1`.
        "keyed/KeyOk: firing 2026-12-07T17:35:01.401Z",
        "keyed/KeyOk: firing 2026-12-07T17:35:01.401Z",
        "prom-keyed/PromKeyed: firing 2026-12-07T17:35:01.717Z",
        "prom-keyed/job:prom_keyed:sum: ",
    ];
    // Several rounds against the down datasource must not change that.
    for _ in 0..3 {
        let seen: Vec<String> = klaxon
            .rules()
            .iter()
            .filter(|g| g.name != "klaxon")
            .flat_map(|g| {
                g.rules.iter().map(|r| {
                    let alerts: Vec<String> = r
                        .alerts
                        .iter()
                        .map(|a| format!("{} {}", a.state, a.active_at.as_deref().unwrap_or("")))
                        .collect();
                    format!("{}/{}: {}", g.name, r.name, alerts.join(", "))
                })
            })
            .collect();
        assert_eq!(seen, expected);
        std::thread::sleep(Duration::from_millis(1100));
    }
}
