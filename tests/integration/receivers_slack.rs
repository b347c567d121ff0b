//! The Slack integration (slack-morphism) against a fake Slack that speaks
//! the Web API (`harness::fake_slack`): Block Kit content, in-place updates on
//! resolve, threading, Slack's error codes and rate limits, and incoming
//! webhooks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::fake_slack::{CHANNEL_ID, Failure, FakeSlack, TOKEN};
use klaxon::model::load::load_sources;
use klaxon::notify::notification::{Notification, NotifiedAlert, Reason, Status};
use klaxon::notify::receivers::{
    Deliver, DeliveryError, ReceiverContext, Receivers, build_receivers,
};
use klaxon::vocab::labels::LabelSet;
use serde_json::Value;

// ---- notifications and configuration ----

fn alert(instance: &str, severity: &str, status: Status) -> NotifiedAlert {
    let labels = LabelSet::from_pairs([
        ("alertname", "KafkaConsumerLag"),
        ("severity", severity),
        ("team", "streaming"),
        ("instance", instance),
    ]);
    NotifiedAlert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: LabelSet::from_pairs([
            ("summary", "consumer group orders is behind"),
            ("description", "lag is 50000 messages on <orders>"),
            ("value", "50000"),
            ("runbook_url", "https://runbooks.example.com/kafka-lag"),
        ]),
        starts_at: 1_700_000_000_000,
        ends_at: 1_700_000_600_000,
        generator_url: "http://prometheus.example:9090/graph?g0.expr=lag".into(),
        status,
    }
}

fn notification(id: &str, alerts: Vec<NotifiedAlert>, reason: Reason) -> Notification {
    Notification {
        id: id.to_string(),
        group_key: r#"{}:{alertname="KafkaConsumerLag"}"#.to_string(),
        group_id: String::new(),
        receiver: "oncall".to_string(),
        integration: 0,
        group_labels: LabelSet::from_pairs([("alertname", "KafkaConsumerLag")]),
        alerts,
        truncated_alerts: 0,
        reason,
        created_at: 1_700_000_100_000,
        external_url: "http://klaxon.example:9093".to_string(),
    }
}

fn firing(id: &str, instances: &[&str]) -> Notification {
    notification(
        id,
        instances
            .iter()
            .map(|i| alert(i, "critical", Status::Firing))
            .collect(),
        Reason::New,
    )
}

fn load(dsl: &str) -> klaxon::model::RuleSet {
    let loaded = load_sources(&[("receivers.klaxon", dsl)]);
    assert!(
        !loaded.has_errors(),
        "the test configuration does not load:\n{}",
        loaded
            .diagnostics
            .iter()
            .map(|d| d.render(&loaded.sources))
            .collect::<String>()
    );
    loaded.rules
}

struct Setup {
    _dir: tempfile::TempDir,
    receivers: Receivers,
}

impl Setup {
    fn slack(&self) -> Arc<dyn Deliver> {
        let list = self.receivers.integrations("oncall");
        assert_eq!(list.len(), 1);
        Arc::clone(&list[0])
    }
}

/// A bot-token integration posting to `channel` through the fake.
fn bot(fake: &FakeSlack, token: &str, channel: &str, cx: &ReceiverContext) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_path = dir.path().join("slack-token");
    std::fs::write(&token_path, format!("{token}\n")).expect("write the token");
    let rules = load(&format!(
        r#"
receiver oncall {{
  slack {{
    token file("{}")
    channel "{channel}"
    api_url "{}"
    username "klaxon"
    icon_emoji ":rotating_light:"
  }}
}}
route {{ receiver oncall }}
"#,
        token_path.display(),
        fake.api_url()
    ));
    let receivers =
        build_receivers(&rules, cx).unwrap_or_else(|errors| panic!("build failed: {errors:#?}"));
    Setup {
        _dir: dir,
        receivers,
    }
}

/// An incoming-webhook integration.
fn incoming(url: &str) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let url_path = dir.path().join("slack-webhook");
    std::fs::write(&url_path, url).expect("write the URL");
    let rules = load(&format!(
        "receiver oncall {{ slack {{ webhook_url file(\"{}\") }} }}\nroute {{ receiver oncall }}\n",
        url_path.display()
    ));
    let receivers = build_receivers(&rules, &ReceiverContext::default())
        .unwrap_or_else(|errors| panic!("build failed: {errors:#?}"));
    Setup {
        _dir: dir,
        receivers,
    }
}

fn header_text(blocks: &Value) -> &str {
    blocks[0]["text"]["text"].as_str().unwrap_or("")
}

/// Every mrkdwn text of a message, to search in.
fn all_text(message: &Value) -> String {
    let mut out = String::new();
    collect_text(message, &mut out);
    out
}

fn collect_text(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if (k == "text" || k == "url") && v.is_string() {
                    out.push_str(v.as_str().unwrap_or(""));
                    out.push('\n');
                } else {
                    collect_text(v, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

fn buttons(message: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for attachment in message["attachments"].as_array().into_iter().flatten() {
        for block in attachment["blocks"].as_array().into_iter().flatten() {
            if block["type"] == "actions" {
                for e in block["elements"].as_array().into_iter().flatten() {
                    out.push((
                        e["text"]["text"].as_str().unwrap_or("").to_string(),
                        e["url"].as_str().unwrap_or("").to_string(),
                    ));
                }
            }
        }
    }
    out
}

// ---- tests ----

#[tokio::test]
async fn posts_a_block_kit_message_with_the_bot_token() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let slack = setup.slack();
    assert_eq!(slack.kind(), "slack");
    assert!(slack.send_resolved(), "send_resolved defaults to true");

    let n = firing("n1", &["kafka-1:9308", "kafka-2:9308"]);
    let delivered = slack.send(&n, None).await.expect("posted");
    assert_eq!(delivered.thread.as_deref(), Some("C123 1700000000.000101"));
    assert_eq!(
        delivered.detail,
        "slack chat.postMessage C123 1700000000.000101"
    );

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "chat.postMessage");
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(call.error, None, "Slack accepted it");
    let body = &call.body;
    assert_eq!(body["channel"], "#alerts");
    assert_eq!(body["username"], "klaxon");
    assert_eq!(body["icon_emoji"], ":rotating_light:");
    assert_eq!(
        body["text"],
        ":red_circle: [FIRING:2] KafkaConsumerLag — consumer group orders is behind"
    );
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(
        header_text(&body["blocks"]),
        ":red_circle: [FIRING:2] KafkaConsumerLag"
    );
    assert_eq!(
        body["blocks"][1]["text"]["text"],
        "*Group:* `alertname=KafkaConsumerLag`\n*Labels:* `severity=critical` `team=streaming`"
    );
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["color"], "#D40E0D", "critical is red");
    let text = all_text(body);
    assert!(text.contains(":fire: *KafkaConsumerLag* `instance=kafka-1:9308`\nconsumer group orders is behind\n_lag is 50000 messages on &lt;orders&gt;_\n*Value:* 50000\n*Since:* <!date^1700000000^{date_short_pretty} {time_secs}|2023-11-14 22:13:20 UTC>"), "{text}");
    assert!(text.contains("`instance=kafka-2:9308`"), "{text}");
    assert!(text.contains("Severity: *critical*"), "{text}");
    assert_eq!(
        buttons(body),
        vec![
            ("Runbook".to_string(), "https://runbooks.example.com/kafka-lag".to_string()),
            (
                "Silence".to_string(),
                "http://klaxon.example:9093/#/silences/new?filter=%7Balertname%3D%22KafkaConsumerLag%22%7D"
                    .to_string()
            ),
            (
                "Source".to_string(),
                "http://prometheus.example:9090/graph?g0.expr=lag".to_string()
            ),
        ]
    );
    assert_eq!(fake.messages(CHANNEL_ID).len(), 1);
}

#[tokio::test]
async fn the_resolve_edits_the_message_in_place_and_ends_the_thread() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let slack = setup.slack();
    let first = slack
        .send(&firing("n1", &["kafka-1:9308"]), None)
        .await
        .expect("posted");
    let thread = first.thread.expect("a thread");
    let ts = thread
        .split_once(' ')
        .map(|(_, ts)| ts.to_string())
        .unwrap_or_default();

    let resolved = notification(
        "n2",
        vec![alert("kafka-1:9308", "critical", Status::Resolved)],
        Reason::Resolved,
    );
    let delivered = slack.send(&resolved, Some(&thread)).await.expect("updated");
    assert_eq!(delivered.thread, None, "a full resolve ends the thread");
    assert_eq!(delivered.detail, format!("slack chat.update C123 {ts}"));

    let calls = fake.calls();
    assert_eq!(
        calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(),
        ["chat.postMessage", "chat.update"]
    );
    assert_eq!(calls[1].body["channel"], CHANNEL_ID);
    assert_eq!(calls[1].body["ts"], ts.as_str());
    let messages = fake.messages(CHANNEL_ID);
    assert_eq!(messages.len(), 1, "no second message");
    assert_eq!(messages[0].ts, ts);
    assert_eq!(messages[0].edits, 1);
    assert_eq!(
        header_text(&messages[0].blocks),
        ":large_green_circle: [RESOLVED] KafkaConsumerLag"
    );
    assert_eq!(
        messages[0].attachments[0]["color"], "#2EB67D",
        "resolved is green"
    );
    assert!(
        messages[0]
            .text
            .starts_with(":large_green_circle: [RESOLVED] KafkaConsumerLag"),
        "{}",
        messages[0].text
    );
    let update = &calls[1].body;
    assert!(all_text(update).contains(":white_check_mark: *KafkaConsumerLag*"));
    assert!(
        !buttons(update).iter().any(|(label, _)| label == "Silence"),
        "nothing left to silence"
    );
}

#[tokio::test]
async fn new_alerts_post_again_and_a_partial_resolve_edits() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let slack = setup.slack();
    let t1 = slack
        .send(&firing("n1", &["kafka-1:9308"]), None)
        .await
        .expect("posted")
        .thread
        .expect("thread");

    // A new alert joins: people must be pinged, so a new message.
    let t2 = slack
        .send(&firing("n2", &["kafka-1:9308", "kafka-2:9308"]), Some(&t1))
        .await
        .expect("posted")
        .thread
        .expect("thread");
    assert_ne!(t1, t2);

    // One of the two resolves: the latest message is edited, the thread goes on.
    let partial = notification(
        "n3",
        vec![
            alert("kafka-2:9308", "critical", Status::Firing),
            alert("kafka-1:9308", "critical", Status::Resolved),
        ],
        Reason::PartialResolve,
    );
    let after_partial = slack.send(&partial, Some(&t2)).await.expect("edited");
    assert_eq!(after_partial.thread.as_deref(), Some(t2.as_str()));

    // An escalation to a warning group... and a repeat: new messages.
    let mut repeat = firing("n4", &["kafka-2:9308"]);
    repeat.reason = Reason::Repeat;
    let t3 = slack
        .send(&repeat, Some(&t2))
        .await
        .expect("posted")
        .thread
        .expect("thread");
    assert_ne!(t2, t3);

    let methods: Vec<String> = fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "chat.postMessage",
            "chat.postMessage",
            "chat.update",
            "chat.postMessage"
        ]
    );
    let messages = fake.messages(CHANNEL_ID);
    assert_eq!(messages.len(), 3);
    assert_eq!(
        header_text(&messages[1].blocks),
        ":red_circle: [FIRING:1] KafkaConsumerLag",
        "the partially resolved message counts what still fires"
    );
    assert_eq!(messages[1].edits, 1);
}

#[tokio::test]
async fn severity_sets_colour_and_emoji() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let slack = setup.slack();
    for (severity, emoji, colour) in [
        ("warning", ":large_orange_circle:", "#F2A900"),
        ("info", ":large_blue_circle:", "#2F80ED"),
        ("critical", ":red_circle:", "#D40E0D"),
    ] {
        let n = notification(
            severity,
            vec![alert("kafka-1:9308", severity, Status::Firing)],
            Reason::New,
        );
        slack.send(&n, None).await.expect("posted");
        let calls = fake.calls();
        let body = &calls.last().expect("a call").body;
        assert_eq!(
            header_text(&body["blocks"]),
            format!("{emoji} [FIRING:1] KafkaConsumerLag")
        );
        assert_eq!(body["attachments"][0]["color"], colour, "{severity}");
    }
}

#[tokio::test]
async fn a_deleted_message_gets_its_resolve_as_a_new_message() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let slack = setup.slack();
    let thread = slack
        .send(&firing("n1", &["kafka-1:9308"]), None)
        .await
        .expect("posted")
        .thread
        .expect("thread");
    let ts = thread.split_once(' ').map(|(_, ts)| ts).unwrap_or_default();
    fake.delete_message(CHANNEL_ID, ts);
    let resolved = notification(
        "n2",
        vec![alert("kafka-1:9308", "critical", Status::Resolved)],
        Reason::Resolved,
    );
    let delivered = slack.send(&resolved, Some(&thread)).await.expect("posted");
    assert_eq!(delivered.thread, None);
    let calls = fake.calls();
    assert_eq!(calls[1].method, "chat.update");
    assert_eq!(calls[1].error.as_deref(), Some("message_not_found"));
    assert_eq!(calls[2].method, "chat.postMessage");
    let messages = fake.messages(CHANNEL_ID);
    assert_eq!(messages.len(), 1);
    assert_eq!(
        header_text(&messages[0].blocks),
        ":large_green_circle: [RESOLVED] KafkaConsumerLag"
    );
}

#[tokio::test]
async fn ratelimited_is_retryable_after_slacks_retry_after() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let slack = setup.slack();
    fake.fail_next(1, Failure::RateLimited(30));
    let n = firing("n1", &["kafka-1:9308"]);
    assert_eq!(
        slack.send(&n, None).await,
        Err(DeliveryError::Retryable {
            reason: "slack: ratelimited, retry after 30s".into(),
            retry_after: Some(Duration::from_secs(30)),
        })
    );
    assert_eq!(fake.calls()[0].status, 429);
    // The retry goes through and posts exactly one message.
    slack.send(&n, None).await.expect("posted");
    assert_eq!(fake.messages(CHANNEL_ID).len(), 1);
}

#[tokio::test]
async fn auth_and_channel_errors_are_permanent() {
    let fake = FakeSlack::start();
    let n = firing("n1", &["kafka-1:9308"]);

    let wrong = bot(
        &fake,
        "xoxb-revoked",
        "#alerts",
        &ReceiverContext::default(),
    );
    assert_eq!(
        wrong.slack().send(&n, None).await,
        Err(DeliveryError::Permanent {
            reason: "slack: invalid_auth (check the bot token)".into()
        })
    );

    let nowhere = bot(
        &fake,
        TOKEN,
        "#no-such-channel",
        &ReceiverContext::default(),
    );
    assert_eq!(
        nowhere.slack().send(&n, None).await,
        Err(DeliveryError::Permanent {
            reason: "slack: channel_not_found (check `channel`, or invite the bot to the private channel)"
                .into()
        })
    );

    let uninvited = bot(&fake, TOKEN, "#private", &ReceiverContext::default());
    match uninvited.slack().send(&n, None).await {
        Err(DeliveryError::Permanent { reason }) => {
            assert!(reason.starts_with("slack: not_in_channel"), "{reason}")
        }
        other => panic!("not_in_channel must be permanent, got {other:?}"),
    }

    let good = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    fake.fail_next(1, Failure::Api("account_inactive"));
    assert!(matches!(
        good.slack().send(&n, None).await,
        Err(DeliveryError::Permanent { .. })
    ));
    assert!(fake.messages(CHANNEL_ID).is_empty());
}

#[tokio::test]
async fn server_errors_and_hangs_are_retryable() {
    let fake = FakeSlack::start();
    let cx = ReceiverContext {
        timeout: Some(Duration::from_millis(400)),
        ..ReceiverContext::default()
    };
    let setup = bot(&fake, TOKEN, "#alerts", &cx);
    let slack = setup.slack();
    let n = firing("n1", &["kafka-1:9308"]);

    fake.fail_next(1, Failure::Http(503));
    match slack.send(&n, None).await {
        Err(DeliveryError::Retryable { reason, .. }) => {
            assert!(reason.starts_with("slack: HTTP 503"), "{reason}")
        }
        other => panic!("503 must be retryable, got {other:?}"),
    }
    fake.fail_next(1, Failure::Api("internal_error"));
    assert!(matches!(
        slack.send(&n, None).await,
        Err(DeliveryError::Retryable { .. })
    ));

    fake.fail_next(1, Failure::Hang(Duration::from_secs(20)));
    let started = Instant::now();
    match slack.send(&n, None).await {
        Err(DeliveryError::Retryable { reason, .. }) => {
            assert_eq!(reason, "slack: no answer within 400ms")
        }
        other => panic!("a hang must be retryable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));

    let port = crate::harness::free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let token_path = dir.path().join("t");
    std::fs::write(&token_path, TOKEN).expect("write");
    let rules = load(&format!(
        "receiver oncall {{ slack {{ token file(\"{}\")  channel \"#alerts\"  api_url \"http://127.0.0.1:{port}/api\" }} }}\nroute {{ receiver oncall }}\n",
        token_path.display()
    ));
    let closed = build_receivers(&rules, &cx).expect("built");
    match closed.integrations("oncall")[0].send(&n, None).await {
        Err(DeliveryError::Retryable { reason, .. }) => {
            assert!(reason.starts_with("slack: cannot reach Slack"), "{reason}")
        }
        other => panic!("a closed port must be retryable, got {other:?}"),
    }
}

#[tokio::test]
async fn huge_groups_stay_within_block_kit_limits() {
    let fake = FakeSlack::start();
    let setup = bot(&fake, TOKEN, "#alerts", &ReceiverContext::default());
    let long_name = "VeryLongAlertName".repeat(12);
    let alerts: Vec<NotifiedAlert> = (0..60)
        .map(|i| {
            let instance = format!("host-{i}:9100");
            let labels = LabelSet::from_pairs([
                ("alertname", long_name.as_str()),
                ("instance", instance.as_str()),
            ]);
            NotifiedAlert {
                fingerprint: labels.fingerprint(),
                labels,
                annotations: LabelSet::from_pairs([("description", "x".repeat(5000).as_str())]),
                starts_at: 1_700_000_000_000,
                ends_at: 0,
                generator_url: String::new(),
                status: Status::Firing,
            }
        })
        .collect();
    let mut n = notification("big", alerts, Reason::New);
    n.group_labels = LabelSet::from_pairs([("alertname", long_name.as_str())]);
    setup
        .slack()
        .send(&n, None)
        .await
        .expect("Slack accepts it");
    let calls = fake.calls();
    let body = &calls[0].body;
    let header = header_text(&body["blocks"]);
    assert_eq!(header.chars().count(), 150, "{header}");
    assert!(header.ends_with('…'));
    let details = body["attachments"][0]["blocks"].as_array().expect("blocks");
    assert_eq!(
        details.len(),
        10 + 2,
        "10 alerts shown, a context line and the Silence button"
    );
    assert!(all_text(body).contains("…and 50 more alerts"));
}

#[tokio::test]
async fn incoming_webhooks_post_text_and_blocks() {
    let fake = FakeSlack::start();
    let setup = incoming(&fake.webhook_url());
    let slack = setup.slack();
    let n = firing("n1", &["kafka-1:9308"]);
    let delivered = slack.send(&n, Some("C123 1.2")).await.expect("posted");
    assert_eq!(delivered.thread, None, "a webhook message cannot be edited");
    assert_eq!(delivered.detail, "slack webhook ok");
    let calls = fake.calls();
    assert_eq!(calls[0].method, "webhook");
    assert_eq!(calls[0].authorization, None, "the URL is the credential");
    assert!(calls[0].content_type.starts_with("application/json"));
    assert_eq!(
        header_text(&calls[0].body["blocks"]),
        ":red_circle: [FIRING:1] KafkaConsumerLag"
    );
    assert!(calls[0].body["text"].is_string());

    fake.fail_next(1, Failure::RateLimited(12));
    assert!(matches!(
        slack.send(&n, None).await,
        Err(DeliveryError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(12)
    ));
    fake.fail_next(1, Failure::Http(500));
    assert!(matches!(
        slack.send(&n, None).await,
        Err(DeliveryError::Retryable { .. })
    ));

    let archived =
        incoming(&fake.webhook_url_for(crate::harness::fake_slack::ARCHIVED_WEBHOOK_PATH));
    assert_eq!(
        archived.slack().send(&n, None).await,
        Err(DeliveryError::Permanent {
            reason: "slack: HTTP 410: channel_is_archived".into()
        })
    );
    let unknown = incoming(&fake.webhook_url_for("/services/T000/B000/GONE"));
    assert_eq!(
        unknown.slack().send(&n, None).await,
        Err(DeliveryError::Permanent {
            reason: "slack: HTTP 404: no_service".into()
        })
    );
}

#[test]
fn build_errors_say_what_to_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).expect("write");
    let missing = dir.path().join("missing-token");
    let text = format!(
        r##"
receiver oncall {{
  slack {{ token file("{}")  channel "#alerts" }}
  slack {{ token file("{}")  channel "#alerts"  api_url "http://slack-proxy.example.com/api" }}
}}
route {{ receiver oncall }}
"##,
        missing.display(),
        token.display()
    );
    // Issue 13: what needs no secret read is refused by the loader already,
    // with the build's message.
    let loaded = load_sources(&[("receivers.klaxon", &text)]);
    let at_load: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    let rules = loaded.rules;
    let errors = build_receivers(&rules, &ReceiverContext::default()).expect_err("must fail");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("receiver `oncall`, slack integration #1, `token`: cannot read `")
            && errors[0].contains("missing-token"),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[1],
        "receiver `oncall`, slack integration #2, `api_url`: http:// would send the Slack \
         credential in clear text; use https:// (http:// is allowed only for localhost)"
    );
    assert_eq!(at_load, [errors[1].clone()]);
}

/// The fake must refuse what Slack refuses, or the tests above prove nothing.
#[tokio::test]
async fn the_fake_slack_refuses_what_slack_refuses() {
    crate::harness::install_tls_provider();
    let fake = FakeSlack::start();
    let client = reqwest::Client::new();
    let post = |body: Value| {
        client
            .post(format!("{}/chat.postMessage", fake.api_url()))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let error_of = |answer: Value| answer["error"].as_str().unwrap_or("").to_string();

    let long_header = serde_json::json!({"channel": "#alerts", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "x".repeat(151)}}
    ]});
    let answer: Value = post(long_header)
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(answer), "invalid_blocks");

    let mrkdwn_header = serde_json::json!({"channel": "#alerts", "blocks": [
        {"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}
    ]});
    let answer: Value = post(mrkdwn_header)
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(answer), "invalid_blocks");

    let unknown = serde_json::json!({"channel": "#alerts", "attachments": [
        {"color": "#000000", "blocks": [{"type": "headline", "text": "x"}]}
    ]});
    let answer: Value = post(unknown)
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(answer), "invalid_blocks");

    let long_section = serde_json::json!({"channel": "#alerts", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}}
    ]});
    let answer: Value = post(long_section)
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(answer), "invalid_blocks");

    let too_many: Vec<Value> = (0..51)
        .map(|_| serde_json::json!({"type": "divider"}))
        .collect();
    let answer: Value = post(serde_json::json!({"channel": "#alerts", "blocks": too_many}))
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(answer), "invalid_blocks");

    let answer: Value = post(serde_json::json!({"channel": "#alerts"}))
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(answer), "no_text");

    // A form body, as Slack also takes it, with blocks as a JSON string.
    let answer: Value = client
        .post(format!("{}/chat.postMessage", fake.api_url()))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "channel=%23alerts&text=hi&blocks={}",
            url::form_urlencoded::byte_serialize(
                br#"[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]"#
            )
            .collect::<String>()
        ))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["channel"], CHANNEL_ID);
    assert!(fake.messages(CHANNEL_ID)[0].blocks.is_array());

    let no_auth: Value = client
        .post(format!("{}/chat.postMessage", fake.api_url()))
        .json(&serde_json::json!({"channel": "#alerts", "text": "hi"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(error_of(no_auth), "not_authed");
}
