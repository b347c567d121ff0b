//! The silences' rules, limits and durability, on a real store in a temporary
//! directory.

use super::*;

fn matcher(name: &str, op: &str, value: &str) -> Matcher {
    let op = crate::vocab::matcher::MatchOp::parse(op).unwrap();
    Matcher::new(name, op, value)
}

fn input(matchers: Vec<Matcher>, starts: Millis, ends: Millis) -> SilenceInput {
    SilenceInput {
        id: None,
        matchers,
        starts_at: starts,
        ends_at: ends,
        created_by: "ops".to_string(),
        comment: "maintenance".to_string(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn open(dir: &std::path::Path) -> Arc<Silences> {
    Silences::open_with(
        Arc::new(Store::open(dir).unwrap()),
        i64::MAX / 4,
        SilenceLimits::default(),
    )
    .unwrap()
}

#[test]
fn mutes_with_anchored_regexes_and_missing_labels_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let silences = open(dir.path());
    let rt = runtime();
    let id = rt
        .block_on(silences.create(
            input(
                vec![
                    matcher("alertname", "=~", "Disk.*"),
                    matcher("team", "!=", "db"),
                    matcher("env", "=~", "|staging"),
                ],
                1_000,
                10_000,
            ),
            1_000,
        ))
        .unwrap();
    let labels = |pairs: &[(&str, &str)]| LabelSet::from_pairs(pairs.iter().copied());
    let hit = labels(&[("alertname", "DiskFull")]);
    assert_eq!(silences.mutes(&hit, 5_000), vec![id.clone()]);
    // Anchored: a prefix elsewhere does not match.
    assert!(
        silences
            .mutes(&labels(&[("alertname", "XDiskFull")]), 5_000)
            .is_empty()
    );
    assert!(
        silences
            .mutes(&labels(&[("alertname", "DiskFull"), ("team", "db")]), 5_000)
            .is_empty()
    );
    assert!(
        silences
            .mutes(
                &labels(&[("alertname", "DiskFull"), ("env", "prod")]),
                5_000
            )
            .is_empty()
    );
    // Only while active.
    assert!(silences.mutes(&hit, 999).is_empty());
    assert!(silences.mutes(&hit, 10_000).is_empty());
}

#[test]
fn validation_follows_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let silences = open(dir.path());
    let rt = runtime();
    let err = |i: SilenceInput| {
        rt.block_on(silences.create(i, 5_000))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(input(vec![matcher("a", "=", "x")], 9_000, 8_000)),
        "Failed to create silence: start time must be before end time"
    );
    assert_eq!(
        err(input(vec![matcher("a", "=", "x")], 1_000, 4_000)),
        "Failed to create silence: end time can't be in the past"
    );
    assert_eq!(
        err(input(vec![], 5_000, 8_000)),
        "silence invalid: at least one matcher required"
    );
    assert_eq!(
        err(input(
            vec![matcher("a", "=", ""), matcher("b", "=~", ".*")],
            5_000,
            8_000
        )),
        "silence invalid: at least one matcher must not match the empty string"
    );
    assert_eq!(
        err(input(vec![matcher("a b", "=", "x")], 5_000, 8_000)),
        "silence invalid: invalid label matcher 0: invalid label name \"a b\""
    );
    assert!(
        err(input(vec![matcher("a", "=~", "(x")], 5_000, 8_000)).starts_with(
            "silence invalid: invalid label matcher 0: invalid regular expression \"(x\": "
        )
    );
    // `!=` never matches "" in Alertmanager's check, so this is fine.
    assert!(
        rt.block_on(silences.create(input(vec![matcher("a", "!=", "")], 5_000, 8_000), 5_000))
            .is_ok()
    );
    let unknown = input(vec![matcher("a", "=", "x")], 5_000, 8_000);
    assert!(matches!(
        rt.block_on(silences.update("nope", unknown, 5_000)),
        Err(SilenceError::NotFound)
    ));
}

#[test]
fn updates_in_place_or_by_replacement_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let silences = open(dir.path());
    let rt = runtime();
    let ms = vec![matcher("alertname", "=", "A")];
    // Created with a start in the past: the start becomes now.
    let id = rt
        .block_on(silences.create(input(ms.clone(), 0, 100_000), 10_000))
        .unwrap();
    let created = silences.get(&id).unwrap();
    assert_eq!((created.starts_at, created.updated_at), (10_000, 10_000));
    // Active, same matchers and start: the end and comment change in place.
    let mut change = input(ms.clone(), 10_000, 200_000);
    change.comment = "longer".to_string();
    assert_eq!(
        rt.block_on(silences.update(&id, change, 20_000)).unwrap(),
        id
    );
    let updated = silences.get(&id).unwrap();
    assert_eq!(
        (updated.ends_at, updated.comment.as_str()),
        (200_000, "longer")
    );
    // Other matchers: the old one expires now, a new one replaces it.
    let other = vec![matcher("alertname", "=", "B")];
    let new_id = rt
        .block_on(silences.update(&id, input(other, 30_000, 300_000), 30_000))
        .unwrap();
    assert_ne!(new_id, id);
    let old = silences.get(&id).unwrap();
    assert_eq!(old.ends_at, 30_000);
    assert_eq!(old.state(30_000), SilenceState::Expired);
    assert_eq!(
        silences.get(&new_id).unwrap().state(30_000),
        SilenceState::Active
    );
    // Expiring a pending silence sets start and end to now.
    let pending = rt
        .block_on(silences.create(input(ms, 500_000, 600_000), 40_000))
        .unwrap();
    assert_eq!(
        silences.get(&pending).unwrap().state(40_000),
        SilenceState::Pending
    );
    rt.block_on(silences.expire(&pending, 50_000)).unwrap();
    let expired = silences.get(&pending).unwrap();
    assert_eq!((expired.starts_at, expired.ends_at), (50_000, 50_000));
    // Expiring again is fine and changes nothing.
    rt.block_on(silences.expire(&pending, 60_000)).unwrap();
    assert_eq!(silences.get(&pending).unwrap(), expired);
    assert!(matches!(
        rt.block_on(silences.expire("nope", 60_000)),
        Err(SilenceError::NotFound)
    ));
}

#[test]
fn changes_forget_silences_past_their_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let silences =
        Silences::open_with(Arc::clone(&store), 10_000, SilenceLimits::default()).unwrap();
    let rt = runtime();
    let old = rt
        .block_on(silences.create(input(vec![matcher("a", "=", "1")], 0, 20_000), 0))
        .unwrap();
    // 30_000 is the end plus the retention: still kept at that moment.
    let kept = rt
        .block_on(silences.create(input(vec![matcher("a", "=", "2")], 0, 90_000), 29_999))
        .unwrap();
    assert!(silences.get(&old).is_some());
    rt.block_on(silences.expire(&kept, 30_000)).unwrap();
    assert!(silences.get(&old).is_none());
    assert!(silences.get(&kept).is_some());
    let stored = store.load_records(RecordTable::Silences).unwrap();
    assert_eq!(stored.len(), 1, "the deletion is in the store too");
}

#[test]
fn silences_survive_reopen_and_gc_forgets_them_after_retention() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let now = chrono::Utc::now().timestamp_millis();
    let (kept, gone) = {
        let silences = open(dir.path());
        let kept = rt
            .block_on(silences.create(
                input(vec![matcher("a", "=", "1")], now, now + 3_600_000),
                now,
            ))
            .unwrap();
        let gone = rt
            .block_on(silences.create(input(vec![matcher("a", "=", "2")], now, now + 1_000), now))
            .unwrap();
        (silences.get(&kept).unwrap(), gone)
    };
    let silences = open(dir.path());
    assert_eq!(silences.get(&kept.id).unwrap(), kept);
    assert_eq!(silences.list().len(), 2);
    let retention = silences.retention_ms;
    assert_eq!(
        rt.block_on(silences.gc(now + 1_000 + retention)).unwrap(),
        1
    );
    assert!(silences.get(&gone).is_none());
    drop(silences);
    let silences = open(dir.path());
    assert!(silences.get(&gone).is_none(), "the deletion is durable");
    assert!(silences.get(&kept.id).is_some());
}

fn open_limited(store: &Arc<Store>, limits: SilenceLimits) -> Arc<Silences> {
    Silences::open_with(Arc::clone(store), DEFAULT_RETENTION_MS, limits).unwrap()
}

/// Regression for issue 22: 100,000 regex matchers in one silence.
#[test]
fn a_silence_over_a_limit_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let silences = open(dir.path());
    let rt = runtime();
    let err = |i: SilenceInput| {
        rt.block_on(silences.create(i, 5_000))
            .unwrap_err()
            .to_string()
    };
    let many: Vec<Matcher> = (0..100_000)
        .map(|i| matcher("instance", "=~", &format!("h.*|x-{i}")))
        .collect();
    assert_eq!(
        err(input(many, 5_000, 8_000)),
        "silence invalid: too many matchers: 100000 (limit: 100, --silences.max-matchers)"
    );
    assert_eq!(silences.usage().patterns, 0, "nothing was compiled");
    let long = "x".repeat(16 << 10);
    assert_eq!(
        err(input(vec![matcher("a", "=", &long)], 5_000, 8_000)),
        "silence invalid: invalid label matcher 0: name and value are 16385 bytes \
         (limit: 16384 bytes, --silences.max-matcher-bytes)"
    );
    let big: Vec<Matcher> = (0..5)
        .map(|i| matcher(&format!("l{i}"), "=", &"v".repeat(15_000)))
        .collect();
    let text = err(input(big, 5_000, 8_000));
    assert!(
        text.starts_with("silence exceeded maximum size: 75")
            && text.ends_with(" bytes (limit: 65536 bytes, --silences.max-silence-size-bytes)"),
        "{text}"
    );
    assert_eq!(
        err(input(vec![matcher("a", "=~", r"\w{1000}")], 5_000, 8_000)),
        format!(
            "silence invalid: invalid label matcher 0: regular expression \"\\\\w{{1000}}\" \
             is too large: compiled, it would take more than {REGEX_SIZE_LIMIT} bytes"
        )
    );
    assert!(silences.list().is_empty());
    // Within the limits: 100 distinct regexes, and it mutes.
    let hundred: Vec<Matcher> = (0..100)
        .map(|i| matcher("instance", "=~", &format!("h.*|x-{i}")))
        .collect();
    let id = rt
        .block_on(silences.create(input(hundred, 5_000, 8_000), 5_000))
        .unwrap();
    let labels = LabelSet::from_pairs([("instance", "h1")]);
    assert_eq!(silences.mutes(&labels, 6_000), vec![id]);
    assert!(
        silences
            .mutes(&LabelSet::from_pairs([("instance", "x-1")]), 6_000)
            .is_empty()
    );
}

#[test]
fn the_count_limit_counts_expired_silences_and_never_blocks_updates_or_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let limits = SilenceLimits {
        max_silences: 2,
        ..SilenceLimits::default()
    };
    let silences = open_limited(&store, limits);
    let rt = runtime();
    let now = chrono::Utc::now().timestamp_millis();
    let ms = |v: &str| vec![matcher("a", "=", v)];
    let first = rt
        .block_on(silences.create(input(ms("1"), now, now + 60_000), now))
        .unwrap();
    let second = rt
        .block_on(silences.create(input(ms("2"), now, now + 60_000), now))
        .unwrap();
    rt.block_on(silences.expire(&second, now)).unwrap();
    let refused = rt
        .block_on(silences.create(input(ms("3"), now, now + 60_000), now))
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "exceeded maximum number of silences: 2 (limit: 2, --silences.max-silences); \
         expired silences count until 120h after their end"
    );
    // In place: same matchers, a later end.
    let mut longer = input(ms("1"), now, now + 120_000);
    longer.comment = "longer".to_string();
    assert_eq!(
        rt.block_on(silences.update(&first, longer, now)).unwrap(),
        first
    );
    // A replacement needs room for one more.
    assert!(
        rt.block_on(silences.update(&first, input(ms("9"), now, now + 60_000), now))
            .is_err()
    );
    rt.block_on(silences.expire(&first, now)).unwrap();
    assert_eq!(silences.usage().silences, 2);
}

#[test]
fn the_total_counts_stored_size_and_each_compiled_pattern_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let rt = runtime();
    let now = chrono::Utc::now().timestamp_millis();
    let regex = |i: usize| {
        input(
            vec![matcher("job", "=~", &format!("api-{i}.*"))],
            now,
            now + 60_000,
        )
    };
    // Measure one silence, then allow a bit more than three.
    let probe = open_limited(&store, SilenceLimits::NONE);
    let id = rt.block_on(probe.create(regex(0), now)).unwrap();
    let one = probe.usage();
    assert_eq!((one.silences, one.patterns), (1, 1));
    assert!(one.pattern_bytes > one.stored_bytes, "{one:?}");
    rt.block_on(probe.expire(&id, now)).unwrap();
    drop(probe);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let limit = one.total_bytes() * 3 + one.total_bytes() / 2;
    let silences = open_limited(
        &store,
        SilenceLimits {
            max_total_bytes: limit,
            ..SilenceLimits::default()
        },
    );
    for i in 0..3 {
        rt.block_on(silences.create(regex(i), now)).unwrap();
    }
    let text = rt
        .block_on(silences.create(regex(3), now))
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("silences exceeded maximum total size: ")
            && text.contains(&format!(
                "(limit: {limit} bytes, --silences.max-total-bytes)"
            )),
        "{text}"
    );
    // A pattern already compiled costs only the stored silence.
    for _ in 0..3 {
        rt.block_on(silences.create(regex(1), now)).unwrap();
    }
    let usage = silences.usage();
    assert_eq!((usage.silences, usage.patterns), (6, 3));
    assert!(usage.total_bytes() <= limit, "{usage:?}");
}

/// Silences stored before the limits (issue 22's shape, smaller) are
/// left in the store, not loaded, and reported; raising the limit loads
/// them again.
#[test]
fn stored_silences_over_the_limits_stay_in_the_store_unloaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let now = chrono::Utc::now().timestamp_millis();
    let stored = |id: &str, matchers: Vec<Matcher>, ends_at: Millis| Silence {
        id: id.to_string(),
        matchers,
        starts_at: now - 60_000,
        ends_at,
        updated_at: now - 60_000,
        created_by: "older klaxon".to_string(),
        comment: "before the limits".to_string(),
    };
    let huge = stored(
        "huge",
        (0..150)
            .map(|i| matcher("instance", "=~", &format!("h.*|x-{i}")))
            .collect(),
        now + 3_600_000,
    );
    let small = |id: &str, ends_at| stored(id, vec![matcher("a", "=", id)], ends_at);
    let silences = [
        huge,
        small("active", now + 3_600_000),
        small("expired", now - 1_000),
    ];
    let ops: Vec<RecordOp> = silences
        .iter()
        .map(|s| RecordOp::Put {
            table: RecordTable::Silences,
            key: s.id.as_bytes().to_vec(),
            value: serde_json::to_vec(s).unwrap(),
        })
        .collect();
    store.commit_records(&ops).unwrap();

    let limited = open_limited(
        &store,
        SilenceLimits {
            max_silences: 1,
            ..SilenceLimits::default()
        },
    );
    assert_eq!(limited.usage().patterns, 0, "the huge one was not compiled");
    let ids: Vec<String> = limited.list().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["active"], "active before expired");
    let not_loaded = limited.not_loaded().join("\n");
    assert!(
        not_loaded.contains(
            "silence \"huge\" (active): silence invalid: too many matchers: 150 (limit: \
             100, --silences.max-matchers)"
        ) && not_loaded.contains(
            "silence \"expired\" (expired): exceeded maximum number of silences: 1 (limit: 1"
        ),
        "{not_loaded}"
    );
    assert_eq!(store.load_records(RecordTable::Silences).unwrap().len(), 3);
    drop(limited);

    let all = open_limited(&store, SilenceLimits::NONE);
    assert_eq!(all.list().len(), 3);
    assert!(all.not_loaded().is_empty());
    let labels = LabelSet::from_pairs([("instance", "h1")]);
    assert_eq!(all.mutes(&labels, now), vec!["huge".to_string()]);
}

/// What a cluster's silence replica was given, publish by publish.
#[derive(Default)]
struct Published(Mutex<Vec<Vec<Silence>>>);

impl SilenceReplica for Published {
    fn publish(&self, changed: &[Silence]) {
        self.0.lock().unwrap().push(changed.to_vec());
    }
}

impl Published {
    /// (id, ends_at) of each silence of each publish since the last call.
    fn take(&self) -> Vec<Vec<(String, Millis)>> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .map(|p| p.into_iter().map(|s| (s.id, s.ends_at)).collect())
            .collect()
    }
}

#[test]
fn changes_made_here_are_published_once_stored_and_replicated_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let silences = open_limited(&store, SilenceLimits::default());
    let published = Arc::new(Published::default());
    silences.set_replica(Arc::clone(&published) as Arc<dyn SilenceReplica>);
    let rt = runtime();

    let id = rt
        .block_on(silences.create(input(vec![matcher("a", "=", "1")], 1_000, 10_000), 1_000))
        .unwrap();
    assert_eq!(published.take(), vec![vec![(id.clone(), 10_000)]]);
    // In place: a longer end.
    let same = rt
        .block_on(silences.update(
            &id,
            input(vec![matcher("a", "=", "1")], 1_000, 20_000),
            2_000,
        ))
        .unwrap();
    assert_eq!(same, id);
    assert_eq!(published.take(), vec![vec![(id.clone(), 20_000)]]);
    // By replacement (other matchers): the old one expired and the new one,
    // in one publish.
    let new = rt
        .block_on(silences.update(
            &id,
            input(vec![matcher("a", "=", "2")], 1_000, 20_000),
            3_000,
        ))
        .unwrap();
    assert_ne!(new, id);
    assert_eq!(
        published.take(),
        vec![vec![(id.clone(), 3_000), (new.clone(), 20_000)]]
    );
    rt.block_on(silences.expire(&new, 4_000)).unwrap();
    assert_eq!(published.take(), vec![vec![(new.clone(), 4_000)]]);
    // Refused changes and expiring an expired silence publish nothing.
    assert!(
        rt.block_on(silences.create(input(vec![matcher("a", "=~", "(")], 5_000, 9_000), 5_000))
            .is_err()
    );
    rt.block_on(silences.expire(&new, 5_000)).unwrap();
    assert!(published.take().is_empty());

    let theirs = replicated("b", 6_000, 0, 50_000);
    assert_eq!(
        rt.block_on(silences.apply_replicated(vec![theirs.clone()]))
            .unwrap(),
        1
    );
    assert!(published.take().is_empty(), "never published back");
    assert_eq!(silences.get(&theirs.id), Some(theirs));
}

/// A silence made on another replica.
fn replicated(value: &str, updated_at: Millis, starts_at: Millis, ends_at: Millis) -> Silence {
    Silence {
        id: format!("0e3b6e0a-0000-4000-8000-00000000000{value}"),
        matchers: vec![matcher("team", "=~", value)],
        starts_at,
        ends_at,
        updated_at,
        created_by: "ops@replica-b".to_string(),
        comment: format!("updated at {updated_at}"),
    }
}

#[test]
fn replicated_silences_mute_at_once_and_the_newest_change_wins() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let db = LabelSet::from_pairs([("alertname", "Lag"), ("team", "db")]);
    let first = replicated("db", 1_000, 1_000, 100_000);
    let older = replicated("db", 500, 1_000, 200_000);
    let ended = replicated("db", 2_000, 1_000, 2_000);
    {
        let silences = open(dir.path());
        assert_eq!(
            rt.block_on(silences.apply_replicated(vec![first.clone()]))
                .unwrap(),
            1
        );
        assert_eq!(silences.mutes(&db, 5_000), vec![first.id.clone()]);

        // An older version (arriving late) changes nothing.
        assert_eq!(
            rt.block_on(silences.apply_replicated(vec![older.clone()]))
                .unwrap(),
            0
        );
        assert_eq!(silences.get(&first.id), Some(first.clone()));
        // The same version again is no change either.
        assert_eq!(
            rt.block_on(silences.apply_replicated(vec![first.clone()]))
                .unwrap(),
            0
        );

        // Expired on the other replica: it stops muting here at once. In one
        // batch with an older copy, the newest counts.
        assert_eq!(
            rt.block_on(silences.apply_replicated(vec![ended.clone(), older.clone()]))
                .unwrap(),
            1
        );
        assert_eq!(silences.get(&first.id), Some(ended.clone()));
        assert!(silences.mutes(&db, 5_000).is_empty());

        // One that does not compile here is skipped, the rest applied.
        let broken = Silence {
            matchers: vec![matcher("team", "=~", "(")],
            ..replicated("x", 3_000, 0, 100_000)
        };
        let other = replicated("web", 3_000, 0, 100_000);
        assert_eq!(
            rt.block_on(silences.apply_replicated(vec![broken.clone(), other.clone()]))
                .unwrap(),
            1
        );
        assert!(silences.get(&broken.id).is_none());
        assert!(silences.get(&other.id).is_some());
    }
    // Stored through the normal path: a restart keeps the newest.
    let silences = open(dir.path());
    assert_eq!(silences.get(&first.id), Some(ended));
}
