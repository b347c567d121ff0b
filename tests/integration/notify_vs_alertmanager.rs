//! Differential test: one timed alert stream posted to a real Alertmanager
//! 0.25 and to `klaxon serve`, both configured with the same routing tree,
//! grouping, timers and inhibit rule, both notifying one webhook sink.
//! Where klaxon follows Alertmanager the notification batches must be the
//! same (receiver, group key, group labels, alerts and their status) and
//! arrive at about the same time; where klaxon deliberately improves
//! (escalation at once, prompt resolve, resolve after a silence) the test
//! asserts the difference.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::harness::{Alertmanager, Klaxon, Received, WebhookSink};
use serde_json::{Value, json};

const GROUP_WAIT_S: u64 = 2;
const GROUP_INTERVAL_S: u64 = 12;

fn am_config(sink: &WebhookSink) -> String {
    format!(
        r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: {GROUP_WAIT_S}s
  group_interval: {GROUP_INTERVAL_S}s
  repeat_interval: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - matchers: ['team=~"db|data"']
      receiver: team
receivers:
  - name: default
    webhook_configs: [{{url: "{}", send_resolved: true}}]
  - name: pager
    webhook_configs: [{{url: "{}", send_resolved: true}}]
  - name: team
    webhook_configs: [{{url: "{}", send_resolved: true}}]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
"#,
        sink.url("/am/default"),
        sink.url("/am/pager"),
        sink.url("/am/team"),
    )
}

fn klaxon_config(sink: &WebhookSink) -> String {
    format!(
        r#"
receiver default {{ webhook {{ url "{}" }} }}
receiver pager   {{ webhook {{ url "{}" }} }}
receiver team    {{ webhook {{ url "{}" }} }}

route {{
  receiver default
  group_by alertname
  group_wait {GROUP_WAIT_S}s
  group_interval {GROUP_INTERVAL_S}s
  repeat_interval 1h
  resolve_wait 1s
  route {{ match severity = "critical"  receiver pager  continue }}
  route {{ match team =~ "db|data"  receiver team }}
}}

inhibit {{ source severity = "critical"  target severity = "warning"  equal alertname }}
"#,
        sink.url("/klaxon/default"),
        sink.url("/klaxon/pager"),
        sink.url("/klaxon/team"),
    )
}

fn alert(labels: &[(&str, &str)], ends_now: bool) -> Value {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let mut a = json!({
        "labels": labels,
        "annotations": {"summary": format!("{} is unhappy", labels["alertname"])},
        "generatorURL": "http://prometheus.example/graph",
    });
    if ends_now {
        a["endsAt"] = json!(chrono::Utc::now().to_rfc3339());
    }
    a
}

fn post_both(am: &Alertmanager, klaxon: &Klaxon, alerts: Value) {
    am.post_alerts(&alerts);
    let response = crate::harness::http::post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        "application/json",
        alerts.to_string().as_bytes(),
    )
    .expect("klaxon answers");
    assert_eq!(response.status, 200, "klaxon: {}", response.body);
}

fn silence_both(am: &Alertmanager, klaxon: &Klaxon, name: &str, value: &str) {
    let now = chrono::Utc::now();
    let body = json!({
        "matchers": [{"name": name, "value": value, "isRegex": false, "isEqual": true}],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        "createdBy": "differential test",
        "comment": "silence after notify",
    });
    let a = am.post_json("/api/v2/silences", &body);
    assert_eq!(a.status, 200, "Alertmanager silence: {}", a.body);
    let k = crate::harness::http::post(
        &format!("{}/api/v2/silences", klaxon.url()),
        "application/json",
        body.to_string().as_bytes(),
    )
    .expect("klaxon answers");
    assert_eq!(k.status, 200, "klaxon silence: {}", k.body);
}

/// What a notification says, without timing: receiver, group key, group
/// labels, status, and each alert's labels and status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Batch {
    receiver: String,
    group_key: String,
    group_labels: String,
    status: String,
    alerts: Vec<(String, String)>,
}

fn batch(r: &Received) -> Batch {
    let b = &r.body;
    let mut alerts: Vec<(String, String)> = b["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["labels"].to_string(),
                        x["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    alerts.sort();
    Batch {
        receiver: b["receiver"].as_str().unwrap_or("").to_string(),
        group_key: b["groupKey"].as_str().unwrap_or("").to_string(),
        group_labels: b["groupLabels"].to_string(),
        status: b["status"].as_str().unwrap_or("").to_string(),
        alerts,
    }
}

/// Notifications of one side, as (seconds since start, batch).
fn timeline(sink: &WebhookSink, prefix: &str, start: Instant) -> Vec<(f64, Batch)> {
    sink.delivered(prefix)
        .iter()
        .map(|r| (r.at.duration_since(start).as_secs_f64(), batch(r)))
        .collect()
}

fn find<'a>(
    line: &'a [(f64, Batch)],
    receiver: &str,
    alertname: &str,
    status: &str,
) -> Vec<&'a (f64, Batch)> {
    line.iter()
        .filter(|(_, b)| {
            b.receiver == receiver
                && b.group_labels.contains(&format!("\"{alertname}\""))
                && b.status == status
        })
        .collect()
}

fn sleep_until(start: Instant, secs: f64) {
    let target = start + Duration::from_secs_f64(secs);
    if let Some(left) = target.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
}

#[test]
fn same_batches_as_alertmanager_except_the_deliberate_improvements() {
    let sink = WebhookSink::start();
    let am = Alertmanager::start(&am_config(&sink));
    let klaxon = Klaxon::builder()
        .config_file("klaxon.rules", &klaxon_config(&sink))
        .start();

    let start = Instant::now();
    // t=0: three problems for three receivers.
    post_both(
        &am,
        &klaxon,
        json!([
            alert(
                &[
                    ("alertname", "Disk"),
                    ("severity", "warning"),
                    ("instance", "a"),
                    ("team", "db")
                ],
                false
            ),
            alert(
                &[
                    ("alertname", "Cpu"),
                    ("severity", "critical"),
                    ("instance", "b")
                ],
                false
            ),
            alert(
                &[
                    ("alertname", "Mem"),
                    ("severity", "warning"),
                    ("instance", "c")
                ],
                false
            ),
        ]),
    );
    // t=4: Disk escalates; the warning is now inhibited by the critical.
    sleep_until(start, 4.0);
    post_both(
        &am,
        &klaxon,
        json!([
            alert(
                &[
                    ("alertname", "Disk"),
                    ("severity", "warning"),
                    ("instance", "a"),
                    ("team", "db")
                ],
                false
            ),
            alert(
                &[
                    ("alertname", "Disk"),
                    ("severity", "critical"),
                    ("instance", "a"),
                    ("team", "db")
                ],
                false
            ),
        ]),
    );
    // t=7: Cpu resolves.
    sleep_until(start, 7.0);
    let cpu_resolved_at = start.elapsed().as_secs_f64();
    post_both(
        &am,
        &klaxon,
        json!([alert(
            &[
                ("alertname", "Cpu"),
                ("severity", "critical"),
                ("instance", "b")
            ],
            true
        )]),
    );
    // t=8: Mem (already notified) is silenced; t=9 it resolves.
    sleep_until(start, 8.0);
    silence_both(&am, &klaxon, "alertname", "Mem");
    sleep_until(start, 9.0);
    let mem_resolved_at = start.elapsed().as_secs_f64();
    post_both(
        &am,
        &klaxon,
        json!([alert(
            &[
                ("alertname", "Mem"),
                ("severity", "warning"),
                ("instance", "c")
            ],
            true
        )]),
    );
    // Past Alertmanager's next group_interval tick (2 + 12 = 14) with margin.
    sleep_until(start, (GROUP_WAIT_S + GROUP_INTERVAL_S) as f64 + 3.0);

    let am_line = timeline(&sink, "/am/", start);
    let kx_line = timeline(&sink, "/klaxon/", start);
    let context = format!(
        "Alertmanager:\n{am_line:#?}\nklaxon:\n{kx_line:#?}\nklaxon log:\n{}",
        klaxon.stderr()
    );

    // 1. First notifications after group_wait: identical batches, same time.
    for (receiver, name) in [("team", "Disk"), ("pager", "Cpu"), ("default", "Mem")] {
        let a = find(&am_line, receiver, name, "firing");
        let k = find(&kx_line, receiver, name, "firing");
        assert!(
            !a.is_empty() && !k.is_empty(),
            "{receiver}/{name} firing missing\n{context}"
        );
        assert_eq!(
            a[0].1, k[0].1,
            "{receiver}/{name}: batches differ\n{context}"
        );
        assert!(
            (a[0].0 - k[0].0).abs() < 1.5,
            "{receiver}/{name}: Alertmanager at {:.1}s, klaxon at {:.1}s\n{context}",
            a[0].0,
            k[0].0
        );
    }

    // 2. A new group for the pager (Disk critical): same batch after group_wait.
    let a = find(&am_line, "pager", "Disk", "firing");
    let k = find(&kx_line, "pager", "Disk", "firing");
    assert_eq!(a.len(), 1, "{context}");
    assert_eq!(k.len(), 1, "{context}");
    assert_eq!(a[0].1, k[0].1, "{context}");
    assert!((a[0].0 - k[0].0).abs() < 1.5, "{context}");

    // 3. Escalation in the team's Disk group: the same batch (critical
    //    firing, the inhibited warning left out), but klaxon sends it at once
    //    and Alertmanager at its next group_interval tick.
    let a = find(&am_line, "team", "Disk", "firing");
    let k = find(&kx_line, "team", "Disk", "firing");
    assert_eq!(a.len(), 2, "{context}");
    assert_eq!(k.len(), 2, "{context}");
    assert_eq!(a[1].1, k[1].1, "{context}");
    assert!(
        a[1].1.alerts.iter().all(|(l, _)| l.contains("critical")),
        "inhibited warning must be left out\n{context}"
    );
    assert!(
        k[1].0 < 6.0,
        "klaxon escalates at once (t≈4s): {:.1}s\n{context}",
        k[1].0
    );
    assert!(
        a[1].0 > 12.0,
        "Alertmanager waits for the tick: {:.1}s\n{context}",
        a[1].0
    );

    // 4. Cpu's resolve: same batch; klaxon within resolve_wait, Alertmanager
    //    at the tick.
    let a = find(&am_line, "pager", "Cpu", "resolved");
    let k = find(&kx_line, "pager", "Cpu", "resolved");
    assert_eq!(a.len(), 1, "{context}");
    assert_eq!(k.len(), 1, "{context}");
    assert_eq!(a[0].1, k[0].1, "{context}");
    assert!(
        k[0].0 - cpu_resolved_at < 3.0,
        "klaxon resolves promptly\n{context}"
    );
    assert!(
        a[0].0 > 12.0,
        "Alertmanager resolves at the tick\n{context}"
    );

    // 5. Mem was notified, then silenced, then resolved: Alertmanager never
    //    says it is over; klaxon does.
    assert!(
        find(&am_line, "default", "Mem", "resolved").is_empty(),
        "{context}"
    );
    let k = find(&kx_line, "default", "Mem", "resolved");
    assert_eq!(k.len(), 1, "{context}");
    assert!(k[0].0 - mem_resolved_at < 3.0, "{context}");

    // 6. Nothing else was sent by either side.
    assert_eq!(am_line.len(), 3 + 1 + 1 + 1, "{context}");
    assert_eq!(kx_line.len(), 3 + 1 + 1 + 1 + 1, "{context}");
}

/// Routes whose matchers equal a sibling's share Alertmanager's group key,
/// yet Alertmanager keeps a group per route: "send to two receivers"
/// (`continue` then the same matchers), the same receiver twice, and
/// matcher-less siblings (`continue`, then a catch-all) all notify every
/// route. Both sides must send the same batches.
#[test]
fn identical_sibling_routes_notify_like_alertmanager() {
    let sink = WebhookSink::start();
    let am = Alertmanager::start(&format!(
        r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1h
  repeat_interval: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: telegram
      continue: true
    - matchers: ['severity="critical"']
      receiver: email
    - matchers: ['team="db"']
      receiver: dba
      continue: true
    - matchers: ['team="db"']
      receiver: dba
    - matchers: ['team="logs"']
      routes:
        - receiver: elastic
          continue: true
        - receiver: catchall
receivers:
  - name: default
    webhook_configs: [{{url: "{}"}}]
  - name: telegram
    webhook_configs: [{{url: "{}"}}]
  - name: email
    webhook_configs: [{{url: "{}"}}]
  - name: dba
    webhook_configs: [{{url: "{}"}}]
  - name: elastic
    webhook_configs: [{{url: "{}"}}]
  - name: catchall
    webhook_configs: [{{url: "{}"}}]
"#,
        sink.url("/am/default"),
        sink.url("/am/telegram"),
        sink.url("/am/email"),
        sink.url("/am/dba"),
        sink.url("/am/elastic"),
        sink.url("/am/catchall"),
    ));
    let klaxon = Klaxon::builder()
        .config_file(
            "klaxon.rules",
            &format!(
                r#"
receiver default  {{ webhook {{ url "{}" }} }}
receiver telegram {{ webhook {{ url "{}" }} }}
receiver email    {{ webhook {{ url "{}" }} }}
receiver dba      {{ webhook {{ url "{}" }} }}
receiver elastic  {{ webhook {{ url "{}" }} }}
receiver catchall {{ webhook {{ url "{}" }} }}

route {{
  receiver default
  group_by alertname
  group_wait 1s
  group_interval 1h
  repeat_interval 1h
  route {{ match severity = "critical"  receiver telegram  continue }}
  route {{ match severity = "critical"  receiver email }}
  route {{ match team = "db"  receiver dba  continue }}
  route {{ match team = "db"  receiver dba }}
  route {{
    match team = "logs"
    route {{ receiver elastic  continue }}
    route {{ receiver catchall }}
  }}
}}
"#,
                sink.url("/klaxon/default"),
                sink.url("/klaxon/telegram"),
                sink.url("/klaxon/email"),
                sink.url("/klaxon/dba"),
                sink.url("/klaxon/elastic"),
                sink.url("/klaxon/catchall"),
            ),
        )
        .start();

    let start = Instant::now();
    post_both(
        &am,
        &klaxon,
        json!([
            alert(
                &[("alertname", "KafkaOffline"), ("severity", "critical")],
                false
            ),
            alert(&[("alertname", "PgReplicaLag"), ("team", "db")], false),
            alert(&[("alertname", "EsErrors"), ("team", "logs")], false),
        ]),
    );
    sleep_until(start, 5.0);

    let mut am_batches: Vec<Batch> = timeline(&sink, "/am/", start)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let mut kx_batches: Vec<Batch> = timeline(&sink, "/klaxon/", start)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    am_batches.sort();
    kx_batches.sort();
    let context = format!(
        "Alertmanager:\n{am_batches:#?}\nklaxon:\n{kx_batches:#?}\nklaxon log:\n{}",
        klaxon.stderr()
    );
    let receivers: Vec<&str> = am_batches.iter().map(|b| b.receiver.as_str()).collect();
    assert_eq!(
        receivers,
        ["catchall", "dba", "dba", "elastic", "email", "telegram"],
        "what Alertmanager does\n{context}"
    );
    assert_eq!(am_batches, kx_batches, "{context}");

    // The alert groups API lists one group per route on both sides.
    let groups = |base: &str| -> Vec<(String, String, usize)> {
        let answer =
            crate::harness::http::get(&format!("{base}/api/v2/alerts/groups")).expect("answers");
        assert_eq!(answer.status, 200, "{}", answer.body);
        let value: Value = serde_json::from_str(&answer.body).expect("JSON");
        let mut out: Vec<(String, String, usize)> = value
            .as_array()
            .expect("a list")
            .iter()
            .map(|g| {
                (
                    g["labels"].to_string(),
                    g["receiver"]["name"].as_str().unwrap_or("").to_string(),
                    g["alerts"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        out.sort();
        out
    };
    let am_groups = groups(&am.url());
    assert_eq!(am_groups.len(), 6, "{am_groups:#?}");
    assert_eq!(am_groups, groups(&klaxon.url()));
}
