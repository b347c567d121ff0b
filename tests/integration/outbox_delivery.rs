//! The durable outbox as a user sees it: every committed notification is
//! delivered once, in order per group and receiver, through 500s, 429s,
//! hangs, permanent errors, reloads, shutdowns and crashes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::outbox::*;
use klaxon::notify::outbox::{
    DeliveryListener, HANDED_OVER_WHEN_CUT_OFF, HANDED_TO_CLUSTER, HistoryEntry, HistoryQuery,
    HistoryStatus, Outbox, OutboxOptions,
};
use klaxon::notify::receivers::Deliver;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(15);

fn history(outbox: &Outbox) -> Vec<HistoryEntry> {
    outbox.history(&HistoryQuery {
        limit: usize::MAX,
        ..HistoryQuery::default()
    })
}

fn status_of(outbox: &Outbox, id: &str) -> Option<HistoryStatus> {
    history(outbox)
        .into_iter()
        .find(|e| e.id == id)
        .map(|e| e.status)
}

fn count_with(outbox: &Outbox, status: HistoryStatus) -> usize {
    history(outbox)
        .iter()
        .filter(|e| e.status == status)
        .count()
}

fn scripted_receivers(
    name: &str,
    scripted: &Arc<Scripted>,
) -> klaxon::notify::receivers::Receivers {
    let integration: Arc<dyn Deliver> = scripted.clone();
    receivers(&[(name, vec![integration])])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_receiver_gets_every_notification_once_in_lane_order() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    scripted.then([
        Step::Retryable("HTTP 500 Internal Server Error", None),
        Step::Retryable(
            "HTTP 429 Too Many Requests",
            Some(Duration::from_millis(300)),
        ),
        Step::Hang,
        Step::Retryable("HTTP 502 Bad Gateway", None),
        Step::Retryable("connection refused", None),
        Step::Retryable("HTTP 503 Service Unavailable", None),
    ]);
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);

    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    let mut batch = Vec::new();
    for i in 0..6 {
        for group in ["db", "web", "cache"] {
            let n = notification(&format!("{group}-{i}"), group, "team", 0, &["A"], &[]);
            order
                .entry(n.group_key.clone())
                .or_default()
                .push(n.id.clone());
            batch.push(n);
        }
    }
    outbox.enqueue(with_logs(batch)).await.unwrap();
    wait_until(WAIT, "all 18 notifications are delivered", || {
        count_with(&outbox, HistoryStatus::Delivered) == 18
    })
    .await;

    let received = scripted.received();
    assert_eq!(
        received.len(),
        18,
        "each delivered exactly once: {received:?}"
    );
    for ids in order.values() {
        for id in ids {
            assert_eq!(scripted.received_count(id), 1, "{id}");
        }
    }
    // Every call of a lane, failed or not, follows enqueue order: a later
    // notification never overtakes one that is being retried.
    let calls = scripted.calls();
    for (group_key, ids) in &order {
        let lane_calls: Vec<usize> = calls
            .iter()
            .filter(|c| &c.group_key == group_key)
            .map(|c| ids.iter().position(|id| *id == c.id).unwrap())
            .collect();
        assert!(
            lane_calls.windows(2).all(|w| w[0] <= w[1]),
            "{group_key}: calls out of order {lane_calls:?}"
        );
    }
    assert_eq!(scripted.overlaps(), 0, "one send at a time per lane");

    // 429 with Retry-After: the lane waits at least that long.
    let calls = scripted.calls();
    let throttled = calls
        .iter()
        .position(|c| matches!(c.step, Step::Retryable(r, _) if r.contains("429")))
        .unwrap();
    let retry = calls
        .iter()
        .skip(throttled + 1)
        .find(|c| c.group_key == calls[throttled].group_key)
        .unwrap();
    assert!(
        retry.started - calls[throttled].started >= Duration::from_millis(300),
        "Retry-After honoured: {:?}",
        retry.started - calls[throttled].started
    );
    // The hung send is cut off by the attempt timeout and retried.
    let hung = calls.iter().position(|c| c.step == Step::Hang).unwrap();
    let after_hang = calls
        .iter()
        .skip(hung + 1)
        .find(|c| c.group_key == calls[hung].group_key)
        .unwrap();
    assert!(after_hang.started - calls[hung].started >= Duration::from_millis(400));
    let hung_entry = history(&outbox)
        .into_iter()
        .find(|e| e.id == calls[hung].id)
        .unwrap();
    assert!(hung_entry.attempts >= 2);

    // The history adds up: 24 sends for 18 notifications.
    let entries = history(&outbox);
    let attempts: u32 = entries.iter().map(|e| e.attempts).sum();
    assert_eq!(attempts as usize, calls.len());
    assert_eq!(calls.len(), 24);
    let retried: Vec<&HistoryEntry> = entries.iter().filter(|e| e.attempts > 1).collect();
    assert!(retried.iter().all(|e| e.last_error.is_some()));
    assert!(
        entries
            .iter()
            .all(|e| e.detail.as_deref() == Some(&*format!("accepted {}", e.id)))
    );

    let stats = outbox.metrics();
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.integrations.len(), 1);
    let team = &stats.integrations[0];
    assert_eq!(
        (team.receiver.as_str(), team.kind.as_str()),
        ("team", "webhook")
    );
    assert_eq!(
        (team.delivered_total, team.retries_total, team.failed_total),
        (18, 6, 0)
    );

    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_error_fails_at_once_with_reason_and_clears_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    scripted.for_id(
        "bad",
        [Step::Permanent("HTTP 400 Bad Request: unknown field")],
    );
    scripted.for_id("first", [Step::Permanent("HTTP 401 Unauthorized")]);
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    let bad = notification("bad", "db", "team", 0, &["A"], &[]);
    // Same lane: the first fails, the second (which wrote the current log
    // entry) is delivered, so the log must keep the second's entry.
    let first = notification("first", "web", "team", 0, &["A"], &[]);
    let second = notification("second", "web", "team", 0, &["A", "B"], &[]);
    let second_log = log_of(&second);
    outbox
        .enqueue(with_logs(vec![bad.clone(), first, second.clone()]))
        .await
        .unwrap();
    assert!(outbox.log_entry(&bad.group_key, "team", 0).is_some());
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "all three are settled", || {
        count_with(&outbox, HistoryStatus::Pending) == 0 && history(&outbox).len() == 3
    })
    .await;

    let entry = history(&outbox)
        .into_iter()
        .find(|e| e.id == "bad")
        .unwrap();
    assert_eq!(entry.status, HistoryStatus::Failed);
    assert_eq!(entry.attempts, 1, "a permanent error is not retried");
    assert_eq!(
        entry.detail.as_deref(),
        Some("permanent error: HTTP 400 Bad Request: unknown field")
    );
    assert!(entry.failed_at.is_some() && entry.delivered_at.is_none());
    assert_eq!(scripted.calls().iter().filter(|c| c.id == "bad").count(), 1);
    assert_eq!(
        outbox.log_entry(&bad.group_key, "team", 0),
        None,
        "the dispatcher's next flush must notify again"
    );

    assert_eq!(status_of(&outbox, "first"), Some(HistoryStatus::Failed));
    assert_eq!(status_of(&outbox, "second"), Some(HistoryStatus::Delivered));
    assert_eq!(
        outbox.log_entry(&second.group_key, "team", 0),
        Some(second_log),
        "a newer notification's log entry survives an older one's failure"
    );
    assert_eq!(outbox.metrics().integrations[0].failed_total, 2);

    stop.send(true).unwrap();
    delivery.await.unwrap();
    // Failures are durable too.
    drop(outbox);
    let reopened = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    assert_eq!(reopened.log_entry(&bad.group_key, "team", 0), None);
    assert_eq!(status_of(&reopened, "bad"), Some(HistoryStatus::Failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_the_give_up_age_then_the_lane_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    scripted.for_id(
        "doomed",
        std::iter::repeat_n(Step::Retryable("HTTP 503 Service Unavailable", None), 1000),
    );
    let options = OutboxOptions {
        give_up_after_ms: 500,
        ..fast_options()
    };
    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), options).await;
    let doomed = notification("doomed", "db", "team", 0, &["A"], &[]);
    let next = notification("next", "db", "team", 0, &[], &["A"]);
    let mut stale = notification("stale", "web", "team", 0, &["A"], &[]);
    stale.created_at -= 3_600_000;
    scripted.for_id("stale", [Step::Retryable("connection refused", None)]);
    let created = doomed.created_at;
    outbox
        .enqueue(with_logs(vec![doomed.clone(), next, stale]))
        .await
        .unwrap();
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(
        WAIT,
        "the next notification of the lane is delivered",
        || status_of(&outbox, "next") == Some(HistoryStatus::Delivered),
    )
    .await;

    let entry = history(&outbox)
        .into_iter()
        .find(|e| e.id == "doomed")
        .unwrap();
    assert_eq!(entry.status, HistoryStatus::Failed);
    assert!(
        entry.attempts > 2,
        "retried until the give-up age: {}",
        entry.attempts
    );
    let detail = entry.detail.unwrap();
    assert!(
        detail.starts_with(&format!("gave up after {} attempts over ", entry.attempts))
            && detail.ends_with(": HTTP 503 Service Unavailable"),
        "{detail}"
    );
    assert!(entry.failed_at.unwrap() - created >= 500);
    assert_eq!(
        entry.last_error.as_deref(),
        Some("HTTP 503 Service Unavailable")
    );
    // `next` wrote the lane's log after `doomed`, so its entry stays.
    assert!(outbox.log_entry(&doomed.group_key, "team", 0).is_some());

    // Older than the give-up age already: one try, then failed, log cleared.
    wait_until(WAIT, "the stale one fails", || {
        status_of(&outbox, "stale") == Some(HistoryStatus::Failed)
    })
    .await;
    let stale = history(&outbox)
        .into_iter()
        .find(|e| e.id == "stale")
        .unwrap();
    assert_eq!(stale.attempts, 1);
    assert_eq!(
        stale.detail.as_deref(),
        Some("gave up after 1 attempt over 1h: connection refused")
    );
    assert_eq!(outbox.log_entry(&stale.group_key, "team", 0), None);

    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_delivery_then_restart_delivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    let batch: Vec<_> = (0..10)
        .map(|i| {
            notification(
                &format!("n{i}"),
                ["db", "web"][i % 2],
                "team",
                0,
                &["A"],
                &[],
            )
        })
        .collect();
    let db_key = batch[0].group_key.clone();
    let last_db_log = log_of(&batch[8]);
    {
        let outbox = open_outbox(
            dir.path(),
            scripted_receivers("team", &scripted),
            fast_options(),
        )
        .await;
        outbox.enqueue(with_logs(batch)).await.unwrap();
        // The process dies here: no delivery loop ever ran.
    }
    assert!(scripted.calls().is_empty());

    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    assert_eq!(outbox.metrics().pending, 10);
    assert_eq!(
        outbox.log_entry(&db_key, "team", 0),
        Some(last_db_log),
        "the log says what was decided, so it is not decided again"
    );
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "the 10 notifications are delivered", || {
        count_with(&outbox, HistoryStatus::Delivered) == 10
    })
    .await;
    let received = scripted.received();
    let db: Vec<&String> = received
        .iter()
        .filter(|id| ["n0", "n2", "n4", "n6", "n8"].contains(&id.as_str()))
        .collect();
    assert_eq!(
        db,
        ["n0", "n2", "n4", "n6", "n8"],
        "lane order survives the restart"
    );
    assert_eq!(received.len(), 10);
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_send_repeats_only_the_in_flight_notification() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    // The far end gets n2, then the process dies before recording it.
    scripted.for_id("db-2", [Step::ReceiveThenHang]);
    let options = OutboxOptions {
        attempt_timeout_ms: 60_000,
        ..fast_options()
    };
    let db: Vec<_> = (0..5)
        .map(|i| notification(&format!("db-{i}"), "db", "team", 0, &["A"], &[]))
        .collect();
    let web: Vec<_> = (0..3)
        .map(|i| notification(&format!("web-{i}"), "web", "team", 0, &["A"], &[]))
        .collect();
    {
        let outbox = open_outbox(
            dir.path(),
            scripted_receivers("team", &scripted),
            options.clone(),
        )
        .await;
        let (_stop, shutdown) = watch::channel(false);
        let delivery = outbox.run(shutdown);
        outbox
            .enqueue(with_logs(db.iter().chain(&web).cloned().collect()))
            .await
            .unwrap();
        wait_until(WAIT, "db-2 reaches the far end and web is done", || {
            scripted.received_count("db-2") == 1
                && count_with(&outbox, HistoryStatus::Delivered) == 5
        })
        .await;
        // kill -9: the loop and its sends vanish without another write.
        delivery.abort();
        let _ = delivery.await;
    }

    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), options).await;
    assert_eq!(
        outbox.metrics().pending,
        3,
        "db-2, db-3, db-4 are still owed"
    );
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "everything is delivered", || {
        count_with(&outbox, HistoryStatus::Delivered) == 8
    })
    .await;
    for n in db.iter().chain(&web) {
        let expected = if n.id == "db-2" { 2 } else { 1 };
        assert_eq!(scripted.received_count(&n.id), expected, "{}", n.id);
    }
    let db_received: Vec<String> = scripted
        .received()
        .into_iter()
        .filter(|id| id.starts_with("db-"))
        .collect();
    assert_eq!(
        db_received,
        ["db-0", "db-1", "db-2", "db-2", "db-3", "db-4"]
    );
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_count_and_error_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    scripted.for_id(
        "n",
        [Step::Retryable("HTTP 503", Some(Duration::from_secs(3600)))],
    );
    {
        let outbox = open_outbox(
            dir.path(),
            scripted_receivers("team", &scripted),
            fast_options(),
        )
        .await;
        let (stop, shutdown) = watch::channel(false);
        let delivery = outbox.run(shutdown);
        outbox
            .enqueue(with_logs(vec![notification(
                "n",
                "db",
                "team",
                0,
                &["A"],
                &[],
            )]))
            .await
            .unwrap();
        wait_until(WAIT, "the first attempt failed", || {
            history(&outbox)
                .first()
                .is_some_and(|e| e.last_error.is_some())
        })
        .await;
        stop.send(true).unwrap();
        delivery.await.unwrap();
    }
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    let entry = history(&outbox).remove(0);
    assert_eq!(entry.status, HistoryStatus::Pending);
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.last_error.as_deref(), Some("HTTP 503"));
    assert!(entry.first_attempt_at.is_some());
    // Retry-After of an hour still holds after the restart.
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        scripted.calls().len(),
        1,
        "no early retry after the restart"
    );
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_follow_the_lane_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::threading();
    let options = fast_options();
    {
        let outbox = open_outbox(
            dir.path(),
            scripted_receivers("team", &scripted),
            options.clone(),
        )
        .await;
        let (stop, shutdown) = watch::channel(false);
        let delivery = outbox.run(shutdown);
        outbox
            .enqueue(with_logs(vec![
                notification("fire", "db", "team", 0, &["A"], &[]),
                notification("other", "web", "team", 0, &["A"], &[]),
                notification("more", "db", "team", 0, &["A", "B"], &[]),
            ]))
            .await
            .unwrap();
        wait_until(WAIT, "three delivered", || {
            count_with(&outbox, HistoryStatus::Delivered) == 3
        })
        .await;
        stop.send(true).unwrap();
        delivery.await.unwrap();
    }
    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), options).await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    outbox
        .enqueue(with_logs(vec![notification(
            "resolve",
            "db",
            "team",
            0,
            &[],
            &["A", "B"],
        )]))
        .await
        .unwrap();
    wait_until(WAIT, "the resolve is delivered", || {
        status_of(&outbox, "resolve") == Some(HistoryStatus::Delivered)
    })
    .await;
    outbox
        .enqueue(with_logs(vec![notification(
            "again",
            "db",
            "team",
            0,
            &["A"],
            &[],
        )]))
        .await
        .unwrap();
    wait_until(WAIT, "the new problem is delivered", || {
        status_of(&outbox, "again") == Some(HistoryStatus::Delivered)
    })
    .await;
    let threads: Vec<(String, Option<String>)> = scripted
        .calls()
        .into_iter()
        .map(|c| (c.id, c.thread))
        .collect();
    let thread_of = |id: &str| threads.iter().find(|(i, _)| i == id).unwrap().1.clone();
    assert_eq!(thread_of("fire"), None);
    assert_eq!(thread_of("other"), None, "threads are per group");
    assert_eq!(thread_of("more").as_deref(), Some("ts-fire"));
    assert_eq!(
        thread_of("resolve").as_deref(),
        Some("ts-more"),
        "kept across the restart"
    );
    assert_eq!(thread_of("again"), None, "a full resolve ends the thread");
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_without_the_receiver_fails_its_pending_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let kept = Scripted::new();
    let removed = Scripted::new();
    let both = |with_removed: bool| {
        let mut list: Vec<(&str, Vec<Arc<dyn Deliver>>)> =
            vec![("kept", vec![kept.clone() as Arc<dyn Deliver>])];
        if with_removed {
            list.push((
                "removed",
                vec![removed.clone() as Arc<dyn Deliver>, removed.clone()],
            ));
        }
        receivers(&list)
    };
    let outbox = open_outbox(dir.path(), both(true), fast_options()).await;
    let gone = notification("gone", "db", "removed", 1, &["A"], &[]);
    outbox
        .enqueue(with_logs(vec![
            gone.clone(),
            notification("gone-too", "db", "removed", 0, &["A"], &[]),
            notification("stays", "db", "kept", 0, &["A"], &[]),
        ]))
        .await
        .unwrap();
    outbox.set_receivers(both(false));
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "all settled", || {
        history(&outbox)
            .iter()
            .all(|e| e.status != HistoryStatus::Pending)
    })
    .await;
    assert_eq!(status_of(&outbox, "stays"), Some(HistoryStatus::Delivered));
    let entry = history(&outbox)
        .into_iter()
        .find(|e| e.id == "gone")
        .unwrap();
    assert_eq!(entry.status, HistoryStatus::Failed);
    assert_eq!(entry.attempts, 0);
    assert_eq!(entry.integration_kind, "unknown");
    assert_eq!(
        entry.detail.as_deref(),
        Some("receiver removed by reload: `removed` is not configured any more")
    );
    assert_eq!(outbox.log_entry(&gone.group_key, "removed", 1), None);
    assert!(removed.calls().is_empty());

    // An integration index that no longer exists fails the same way.
    outbox
        .enqueue(with_logs(vec![notification(
            "second",
            "db",
            "kept",
            1,
            &["A"],
            &[],
        )]))
        .await
        .unwrap();
    wait_until(WAIT, "the second integration's notification fails", || {
        status_of(&outbox, "second") == Some(HistoryStatus::Failed)
    })
    .await;
    let entry = history(&outbox)
        .into_iter()
        .find(|e| e.id == "second")
        .unwrap();
    assert_eq!(
        entry.detail.as_deref(),
        Some("integration removed by reload: receiver `kept` has 1 integration, this was #1")
    );
    stop.send(true).unwrap();
    delivery.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_in_flight_send_finish_and_starts_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    scripted.for_id("slow", [Step::Slow(Duration::from_millis(400))]);
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    outbox
        .enqueue(with_logs(vec![
            notification("slow", "db", "team", 0, &["A"], &[]),
            notification("after", "db", "team", 0, &["A", "B"], &[]),
        ]))
        .await
        .unwrap();
    wait_until(WAIT, "the slow send started", || {
        !scripted.calls().is_empty()
    })
    .await;
    let asked = Instant::now();
    stop.send(true).unwrap();
    delivery.await.unwrap();
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert_eq!(status_of(&outbox, "slow"), Some(HistoryStatus::Delivered));
    assert_eq!(status_of(&outbox, "after"), Some(HistoryStatus::Pending));
    assert_eq!(
        scripted.calls().len(),
        1,
        "nothing new starts after shutdown"
    );

    // A send that does not finish within the grace period is abandoned
    // and stays owed.
    scripted.for_id("after", [Step::Hang]);
    let options = OutboxOptions {
        shutdown_grace_ms: 200,
        attempt_timeout_ms: 60_000,
        ..fast_options()
    };
    drop(outbox);
    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), options).await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "the hanging send started", || {
        scripted.calls().len() == 2
    })
    .await;
    let asked = Instant::now();
    stop.send(true).unwrap();
    delivery.await.unwrap();
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(status_of(&outbox, "after"), Some(HistoryStatus::Pending));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_keeps_the_newest_within_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    let options = OutboxOptions {
        history_limit: 5,
        ..fast_options()
    };
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        options.clone(),
    )
    .await;
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    for i in 0..12 {
        let mut n = notification(&format!("n{i:02}"), "db", "team", 0, &["A"], &[]);
        n.created_at += i; // distinct decision times
        outbox.enqueue(with_logs(vec![n])).await.unwrap();
    }
    wait_until(WAIT, "all delivered", || scripted.received().len() == 12).await;
    wait_until(WAIT, "history settles", || {
        count_with(&outbox, HistoryStatus::Pending) == 0
    })
    .await;
    let ids: Vec<String> = history(&outbox).into_iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        ["n11", "n10", "n09", "n08", "n07"],
        "newest first, 5 kept"
    );
    stop.send(true).unwrap();
    delivery.await.unwrap();
    drop(outbox);
    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), options).await;
    let ids: Vec<String> = history(&outbox).into_iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        ["n11", "n10", "n09", "n08", "n07"],
        "pruned on disk too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_records_are_kept_on_disk_and_the_rest_is_delivered() {
    use klaxon::store::{RecordOp, RecordTable};
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    let good = notification("good", "db", "team", 0, &["A"], &[]);
    {
        let outbox = open_outbox(
            dir.path(),
            scripted_receivers("team", &scripted),
            fast_options(),
        )
        .await;
        outbox.enqueue(with_logs(vec![good.clone()])).await.unwrap();
    }
    // Records a newer klaxon might write: the outbox must not choke on
    // them, drop them, or overwrite them.
    let unreadable = [
        (
            RecordTable::Outbox,
            1u64.to_be_bytes().to_vec(),
            b"{\"future\":true}".to_vec(),
        ),
        (
            RecordTable::NotifyLog,
            b"not a lane".to_vec(),
            b"{}".to_vec(),
        ),
        (
            RecordTable::History,
            0u64.to_be_bytes().to_vec(),
            b"\xff".to_vec(),
        ),
        (
            RecordTable::Threads,
            b"[\"g\",\"r\",0]".to_vec(),
            b"\xff\xfe".to_vec(),
        ),
    ];
    {
        let store = open_store(dir.path()).await;
        let ops: Vec<RecordOp> = unreadable
            .iter()
            .map(|(table, key, value)| RecordOp::Put {
                table: *table,
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        store.commit_records(&ops).unwrap();
    }
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    assert_eq!(outbox.metrics().pending, 1);
    assert!(outbox.log_entry(&good.group_key, "team", 0).is_some());
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    // New notifications and history entries get numbers past the
    // unreadable ones (1 and 0), so they do not overwrite them.
    outbox
        .enqueue(with_logs(vec![notification(
            "new",
            "web",
            "team",
            0,
            &["A"],
            &[],
        )]))
        .await
        .unwrap();
    wait_until(WAIT, "both are delivered", || {
        scripted.received().len() == 2
    })
    .await;
    stop.send(true).unwrap();
    delivery.await.unwrap();
    drop(outbox);

    let store = open_store(dir.path()).await;
    for (table, key, value) in &unreadable {
        let records = store.load_records(*table).unwrap();
        assert!(
            records.iter().any(|(k, v)| k == key && v == value),
            "{table:?} record kept untouched"
        );
    }
}

/// What a cluster's delivery listener heard, in order.
#[derive(Default)]
struct Settled(std::sync::Mutex<Vec<(String, bool)>>);

impl DeliveryListener for Settled {
    fn settled(&self, notification_id: &str, delivered: bool) {
        self.0
            .lock()
            .unwrap()
            .push((notification_id.to_string(), delivered));
    }
}

impl Settled {
    fn heard(&self) -> Vec<(String, bool)> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_listener_hears_once_of_each_notification_settled() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    scripted.for_id(
        "flaky",
        [
            Step::Retryable("HTTP 500 Internal Server Error", None),
            Step::Retryable("HTTP 503 Service Unavailable", None),
        ],
    );
    scripted.for_id("bad", [Step::Permanent("HTTP 400 Bad Request")]);
    scripted.for_id("stale", [Step::Retryable("connection refused", None)]);
    let options = OutboxOptions {
        give_up_after_ms: 600_000,
        ..fast_options()
    };
    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), options).await;
    let settled = Arc::new(Settled::default());
    outbox.set_delivery_listener(Arc::clone(&settled) as Arc<dyn DeliveryListener>);
    let mut stale = notification("stale", "cache", "team", 0, &["A"], &[]);
    stale.created_at -= 3_600_000;
    outbox
        .enqueue(with_logs(vec![
            notification("ok", "db", "team", 0, &["A"], &[]),
            notification("flaky", "web", "team", 0, &["A"], &[]),
            notification("bad", "api", "team", 0, &["A"], &[]),
            stale,
            notification("orphan", "db", "gone", 0, &["A"], &[]),
        ]))
        .await
        .unwrap();
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "all five are settled", || settled.heard().len() >= 5).await;
    // Time for a second call, should there be one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(true).unwrap();
    delivery.await.unwrap();

    let mut heard = settled.heard();
    heard.sort();
    let expected: Vec<(String, bool)> = [
        ("bad", false),
        ("flaky", true),
        ("ok", true),
        ("orphan", false),
        ("stale", false),
    ]
    .into_iter()
    .map(|(id, delivered)| (id.to_string(), delivered))
    .collect();
    assert_eq!(heard, expected, "once each, after its outcome");
    for (id, delivered) in &expected {
        let status = status_of(&outbox, id);
        let want = if *delivered {
            HistoryStatus::Delivered
        } else {
            HistoryStatus::Failed
        };
        assert_eq!(status, Some(want), "{id}: recorded before it was reported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_cluster_pending_notifications_at_start_are_handed_over_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    let left = vec![
        notification("db-0", "db", "team", 0, &["A"], &[]),
        notification("db-1", "db", "team", 0, &["A", "B"], &[]),
        notification("web-0", "web", "team", 0, &["A"], &[]),
    ];
    let db_key = left[0].group_key.clone();
    {
        let outbox = open_outbox(
            dir.path(),
            scripted_receivers("team", &scripted),
            fast_options(),
        )
        .await;
        outbox.enqueue(with_logs(left)).await.unwrap();
        // The process dies here: nothing was sent.
    }
    let shared = OutboxOptions {
        pending_is_shared: true,
        ..fast_options()
    };
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        shared.clone(),
    )
    .await;
    let settled = Arc::new(Settled::default());
    outbox.set_delivery_listener(Arc::clone(&settled) as Arc<dyn DeliveryListener>);
    assert_eq!(outbox.metrics().pending, 0);
    for id in ["db-0", "db-1", "web-0"] {
        let entry = history(&outbox).into_iter().find(|e| e.id == id).unwrap();
        assert_eq!(entry.status, HistoryStatus::Failed, "{id}");
        assert_eq!(entry.detail.as_deref(), Some(HANDED_TO_CLUSTER), "{id}");
        assert!(entry.failed_at.is_some());
    }
    assert_eq!(
        outbox.log_entry(&db_key, "team", 0),
        None,
        "the local log does not say the lane was told"
    );

    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    outbox
        .enqueue(with_logs(vec![notification(
            "fresh",
            "db",
            "team",
            0,
            &["A"],
            &[],
        )]))
        .await
        .unwrap();
    wait_until(WAIT, "the fresh one is delivered", || {
        status_of(&outbox, "fresh") == Some(HistoryStatus::Delivered)
    })
    .await;
    stop.send(true).unwrap();
    delivery.await.unwrap();
    assert_eq!(
        scripted.received(),
        ["fresh"],
        "the handed-over are not sent"
    );
    assert_eq!(
        settled.heard(),
        [("fresh".to_string(), true)],
        "handed over is not settled: the cluster keeps their claims"
    );
    drop(outbox);

    // Recorded durably: the next start neither sends nor hands them again.
    let outbox = open_outbox(dir.path(), scripted_receivers("team", &scripted), shared).await;
    let failed: Vec<String> = history(&outbox)
        .into_iter()
        .filter(|e| e.status == HistoryStatus::Failed)
        .map(|e| e.id)
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert_eq!(outbox.metrics().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopted_notifications_keep_their_ids_and_are_taken_once() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        fast_options(),
    )
    .await;
    let mine = notification("claimed-1", "db", "team", 0, &["A"], &[]);
    outbox.enqueue(with_logs(vec![mine.clone()])).await.unwrap();
    let theirs = notification("claimed-2", "web", "team", 0, &["A", "B"], &[]);
    let adopted = outbox
        .adopt(with_logs(vec![
            mine.clone(),
            theirs.clone(),
            theirs.clone(),
        ]))
        .await
        .unwrap();
    assert_eq!(
        adopted, 1,
        "claimed-1 is pending here already; claimed-2 once"
    );
    assert_eq!(outbox.metrics().pending, 2);
    assert_eq!(
        outbox.log_entry(&theirs.group_key, "team", 0),
        Some(log_of(&theirs))
    );

    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    wait_until(WAIT, "both are delivered", || {
        count_with(&outbox, HistoryStatus::Delivered) == 2
    })
    .await;
    // Delivered: in the history now, so adopting them again takes nothing.
    let again = outbox.adopt(with_logs(vec![mine, theirs])).await.unwrap();
    assert_eq!(again, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(true).unwrap();
    delivery.await.unwrap();
    let mut received = scripted.received();
    received.sort();
    assert_eq!(received, ["claimed-1", "claimed-2"], "same ids, once each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_hands_its_pending_notifications_back_and_stops_sending_them() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = Scripted::new();
    // The receiver is down: both stay pending, retried.
    scripted.then((0..100).map(|_| Step::Retryable("HTTP 500 Internal Server Error", None)));
    let outbox = open_outbox(
        dir.path(),
        scripted_receivers("team", &scripted),
        OutboxOptions {
            pending_is_shared: true,
            ..fast_options()
        },
    )
    .await;
    let settled = Arc::new(Settled::default());
    outbox.set_delivery_listener(Arc::clone(&settled) as Arc<dyn DeliveryListener>);
    let (stop, shutdown) = watch::channel(false);
    let delivery = outbox.run(shutdown);
    let pending = vec![
        notification("db-0", "db", "team", 0, &["A"], &[]),
        notification("web-0", "web", "team", 0, &["A"], &[]),
    ];
    outbox.enqueue(with_logs(pending.clone())).await.unwrap();
    wait_until(WAIT, "both were tried", || {
        let tried: Vec<String> = scripted.calls().into_iter().map(|c| c.id).collect();
        tried.contains(&"db-0".to_string()) && tried.contains(&"web-0".to_string())
    })
    .await;

    assert_eq!(outbox.hand_over_pending().await, 2);
    assert_eq!(outbox.metrics().pending, 0);
    // An attempt already under way may still end; then nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tried = scripted.calls().len();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        scripted.calls().len(),
        tried,
        "a handed-over notification is not tried again"
    );
    assert!(scripted.received().is_empty(), "nothing was delivered");
    for id in ["db-0", "web-0"] {
        let entry = history(&outbox).into_iter().find(|e| e.id == id).unwrap();
        assert_eq!(entry.status, HistoryStatus::Failed, "{id}");
        assert_eq!(
            entry.detail.as_deref(),
            Some(HANDED_OVER_WHEN_CUT_OFF),
            "{id}"
        );
    }
    assert!(
        settled.heard().is_empty(),
        "not settled: the cluster keeps their claims"
    );
    // Back in the cluster and owning the shard again, it may adopt one.
    assert_eq!(
        outbox
            .adopt(with_logs(pending[..1].to_vec()))
            .await
            .unwrap(),
        1
    );
    stop.send(true).unwrap();
    delivery.await.unwrap();
}
