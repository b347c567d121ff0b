//! The email integration (lettre) against a real SMTP server, aiosmtpd
//! (`harness::smtp_sink`): the message as a mail client sees it (multipart text
//! and HTML, subject, Message-ID, threading headers), STARTTLS, implicit
//! TLS, AUTH, and how SMTP failures are classified.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::free_port;
use crate::harness::smtp_sink::{Mail, SinkOptions, SmtpSink, TestCa};
use klaxon::model::load::load_sources;
use klaxon::notify::notification::{Notification, NotifiedAlert, Reason, Status};
use klaxon::notify::receivers::{
    Deliver, DeliveryError, ReceiverContext, Receivers, build_receivers,
};
use klaxon::vocab::labels::LabelSet;

// ---- notifications and configuration ----

fn alert(instance: &str, status: Status) -> NotifiedAlert {
    let labels = LabelSet::from_pairs([
        ("alertname", "KafkaConsumerLag"),
        ("cluster", "prod"),
        ("severity", "critical"),
        ("instance", instance),
    ]);
    NotifiedAlert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: LabelSet::from_pairs([
            ("summary", "consumer group orders is behind"),
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
        group_key: r#"{}:{alertname="KafkaConsumerLag", cluster="prod"}"#.to_string(),
        group_id: String::new(),
        receiver: "mail".to_string(),
        integration: 0,
        group_labels: LabelSet::from_pairs([
            ("alertname", "KafkaConsumerLag"),
            ("cluster", "prod"),
        ]),
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
        instances.iter().map(|i| alert(i, Status::Firing)).collect(),
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

fn build(settings: &str, cx: &ReceiverContext) -> Receivers {
    let rules = load(&format!(
        "receiver mail {{\n  email {{\n{settings}\n  }}\n}}\nroute {{ receiver mail }}\n"
    ));
    build_receivers(&rules, cx).unwrap_or_else(|errors| panic!("build failed: {errors:#?}"))
}

fn email(receivers: &Receivers) -> Arc<dyn Deliver> {
    let list = receivers.integrations("mail");
    assert_eq!(list.len(), 1);
    Arc::clone(&list[0])
}

fn secret_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write the secret");
    path.display().to_string()
}

// ---- tests ----

#[tokio::test(flavor = "multi_thread")]
async fn a_multipart_message_threads_its_resolve_under_the_first() {
    let sink = SmtpSink::start(SinkOptions::default());
    let receivers = build(
        &format!(
            r#"    to "oncall@example.com", "sre@example.com"
    from "klaxon <klaxon@example.com>"
    smarthost "127.0.0.1:{}"
    tls none
    hello "klaxon.example.com"
    headers {{ X-Team = "streaming", Reply-To = "sre@example.com" }}"#,
            sink.port()
        ),
        &ReceiverContext::default(),
    );
    let mail = email(&receivers);
    assert_eq!(mail.kind(), "email");
    assert!(mail.send_resolved(), "send_resolved defaults to true");

    let first = mail
        .send(&firing("n1", &["kafka-1:9308", "kafka-2:9308"]), None)
        .await
        .expect("sent");
    assert_eq!(first.thread.as_deref(), Some("<n1@klaxon>"));
    assert_eq!(first.detail, "250 2.0.0 Ok: queued as KLX0001");

    // More alerts later: same thread.
    let more = mail
        .send(
            &firing("n2", &["kafka-1:9308", "kafka-2:9308", "kafka-3:9308"]),
            first.thread.as_deref(),
        )
        .await
        .expect("sent");
    assert_eq!(more.thread.as_deref(), Some("<n1@klaxon>"));

    let resolved = notification(
        "n3",
        vec![
            alert("kafka-1:9308", Status::Resolved),
            alert("kafka-2:9308", Status::Resolved),
        ],
        Reason::Resolved,
    );
    let last = mail
        .send(&resolved, more.thread.as_deref())
        .await
        .expect("sent");
    assert_eq!(last.thread, None, "the resolve ends the thread");

    let received = sink.messages();
    assert_eq!(received.len(), 3);
    let envelope = &received[0];
    assert_eq!(envelope.mail_from, "klaxon@example.com");
    assert_eq!(envelope.rcpt_tos, ["oncall@example.com", "sre@example.com"]);
    assert_eq!(envelope.helo, "klaxon.example.com");
    assert!(!envelope.tls);

    let m1 = Mail::parse(&received[0].raw);
    assert_eq!(
        m1.header("Subject"),
        Some("[FIRING:2] KafkaConsumerLag (cluster=prod)")
    );
    assert_eq!(m1.header("Message-ID"), Some("<n1@klaxon>"));
    assert_eq!(m1.header("In-Reply-To"), None);
    assert_eq!(m1.header("From"), Some("klaxon <klaxon@example.com>"));
    assert_eq!(m1.header("To"), Some("oncall@example.com, sre@example.com"));
    assert_eq!(m1.header("X-Team"), Some("streaming"));
    assert_eq!(m1.header("Reply-To"), Some("sre@example.com"));
    assert!(m1.header("Date").is_some());
    assert!(
        m1.header("Content-Type")
            .is_some_and(|t| t.starts_with("multipart/alternative")),
        "{:?}",
        m1.header("Content-Type")
    );
    assert_eq!(m1.parts.len(), 2, "{:?}", m1.parts);
    let text = m1.part("text/plain").expect("a text part");
    assert!(
        text.starts_with("[FIRING:2] KafkaConsumerLag (cluster=prod)\n\nGroup: alertname=KafkaConsumerLag cluster=prod\nLabels: severity=critical\nSeverity: critical\n\nFiring (2)\n- KafkaConsumerLag  instance=kafka-1:9308\n  runbook_url: https://runbooks.example.com/kafka-lag\n  summary: consumer group orders is behind\n  value: 50000\n  Started: 2023-11-14 22:13:20 UTC\n  Source: http://prometheus.example:9090/graph?g0.expr=lag\n"),
        "{text}"
    );
    assert!(
        text.contains("Silence: http://klaxon.example:9093/#/silences/new?filter=%7Balertname%3D%22KafkaConsumerLag%22%2Ccluster%3D%22prod%22%7D\n"),
        "{text}"
    );
    let html = m1.part("text/html").expect("an HTML part");
    assert!(html.contains("border-left:6px solid #D40E0D"), "{html}");
    assert!(
        html.contains(
            "<h2 style=\"margin:0 0 8px 0\">[FIRING:2] KafkaConsumerLag (cluster=prod)</h2>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://runbooks.example.com/kafka-lag\""),
        "{html}"
    );

    let m2 = Mail::parse(&received[1].raw);
    assert_eq!(m2.header("Message-ID"), Some("<n2@klaxon>"));
    assert_eq!(m2.header("In-Reply-To"), Some("<n1@klaxon>"));
    assert_eq!(m2.header("References"), Some("<n1@klaxon>"));

    let m3 = Mail::parse(&received[2].raw);
    assert_eq!(
        m3.header("Subject"),
        Some("[RESOLVED] KafkaConsumerLag (cluster=prod)")
    );
    assert_eq!(m3.header("Message-ID"), Some("<n3@klaxon>"));
    assert_eq!(m3.header("In-Reply-To"), Some("<n1@klaxon>"));
    assert_eq!(m3.header("References"), Some("<n1@klaxon>"));
    let html = m3.part("text/html").expect("HTML");
    assert!(
        html.contains("border-left:6px solid #2EB67D"),
        "resolved is green"
    );
    let text = m3.part("text/plain").expect("text");
    assert!(text.contains("Resolved (2)\n"), "{text}");
    assert!(
        text.contains("  Resolved: 2023-11-14 22:23:20 UTC\n"),
        "{text}"
    );
    assert!(
        !text.contains("Silence:"),
        "nothing to silence once resolved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_with_authentication() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::generate(dir.path());
    let sink = SmtpSink::start(SinkOptions {
        starttls: Some((ca.cert.clone(), ca.key.clone())),
        auth: Some(("klaxon".into(), "p4ss word".into())),
        ..SinkOptions::default()
    });
    let password = secret_file(&dir, "smtp-password", "p4ss word\n");
    let settings = format!(
        r#"    to "oncall@example.com"
    from "klaxon@example.com"
    smarthost "127.0.0.1:{}"
    auth_username "klaxon"
    auth_password file("{password}")"#,
        sink.port()
    );
    let trusted = ReceiverContext {
        extra_root_certs_pem: vec![ca.ca_pem.clone()],
        ..ReceiverContext::default()
    };
    // No `tls`: STARTTLS is the default.
    let mail = email(&build(&settings, &trusted));
    mail.send(&firing("n1", &["kafka-1:9308"]), None)
        .await
        .expect("sent over STARTTLS");
    let received = sink.messages();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls, "the message went over TLS");
    assert_eq!(received[0].auth.as_deref(), Some("klaxon"));

    // A server certificate klaxon does not trust: nothing is sent in clear.
    let untrusted = email(&build(&settings, &ReceiverContext::default()));
    match untrusted.send(&firing("n2", &["kafka-1:9308"]), None).await {
        Err(DeliveryError::Retryable { reason, .. }) => {
            assert!(reason.contains("certificate"), "{reason}")
        }
        other => panic!("an untrusted certificate must fail, got {other:?}"),
    }

    // A wrong password: 535, permanent.
    let wrong = secret_file(&dir, "wrong-password", "nope");
    let wrong_settings = settings.replace(&password, &wrong);
    match email(&build(&wrong_settings, &trusted))
        .send(&firing("n3", &["kafka-1:9308"]), None)
        .await
    {
        Err(DeliveryError::Permanent { reason }) => assert!(reason.contains("535"), "{reason}"),
        other => panic!("a refused login must be permanent, got {other:?}"),
    }
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::generate(dir.path());
    let sink = SmtpSink::start(SinkOptions {
        smtps: Some((ca.cert.clone(), ca.key.clone())),
        ..SinkOptions::default()
    });
    let cx = ReceiverContext {
        extra_root_certs_pem: vec![ca.ca_pem.clone()],
        ..ReceiverContext::default()
    };
    let mail = email(&build(
        &format!(
            "    to \"oncall@example.com\"\n    from \"klaxon@example.com\"\n    smarthost \"127.0.0.1:{}\"\n    tls tls",
            sink.port()
        ),
        &cx,
    ));
    mail.send(&firing("n1", &["kafka-1:9308"]), None)
        .await
        .expect("sent over TLS");
    let received = sink.messages();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_recipients_are_permanent_busy_ones_retryable() {
    let sink = SmtpSink::start(SinkOptions::default());
    let for_recipient = |to: &str| {
        email(&build(
            &format!(
                "    to \"{to}\"\n    from \"klaxon@example.com\"\n    smarthost \"127.0.0.1:{}\"\n    tls none",
                sink.port()
            ),
            &ReceiverContext::default(),
        ))
    };
    let n = firing("n1", &["kafka-1:9308"]);
    match for_recipient("reject-me@example.com").send(&n, None).await {
        Err(DeliveryError::Permanent { reason }) => assert!(
            reason.starts_with(&format!(
                "SMTP 127.0.0.1:{}: permanent error (550)",
                sink.port()
            )) && reason.contains("Recipient address rejected"),
            "{reason}"
        ),
        other => panic!("550 must be permanent, got {other:?}"),
    }
    match for_recipient("busy-mailbox@example.com")
        .send(&n, None)
        .await
    {
        Err(DeliveryError::Retryable { reason, .. }) => {
            assert!(reason.contains("(451)"), "{reason}")
        }
        other => panic!("451 must be retryable, got {other:?}"),
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_down_is_retryable_and_delivers_once_it_is_back() {
    let port = free_port();
    let mail = email(&build(
        &format!(
            "    to \"oncall@example.com\"\n    from \"klaxon@example.com\"\n    smarthost \"127.0.0.1:{port}\"\n    tls none"
        ),
        &ReceiverContext::default(),
    ));
    let n = firing("n1", &["kafka-1:9308"]);
    match mail.send(&n, None).await {
        Err(DeliveryError::Retryable { reason, .. }) => {
            assert!(reason.contains("Connection refused"), "{reason}")
        }
        other => panic!("a closed port must be retryable, got {other:?}"),
    }
    let sink = SmtpSink::start(SinkOptions {
        port: Some(port),
        ..SinkOptions::default()
    });
    mail.send(&n, None)
        .await
        .expect("delivered once the server is back");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_is_retryable_within_the_timeout() {
    // Accepts connections and never sends the greeting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        if let Ok((stream, _)) = listener.accept() {
            open.push(stream);
            std::thread::sleep(Duration::from_secs(5));
        }
    });
    let cx = ReceiverContext {
        timeout: Some(Duration::from_millis(500)),
        ..ReceiverContext::default()
    };
    let mail = email(&build(
        &format!(
            "    to \"oncall@example.com\"\n    from \"klaxon@example.com\"\n    smarthost \"127.0.0.1:{port}\"\n    tls none"
        ),
        &cx,
    ));
    let started = Instant::now();
    let result = mail.send(&firing("n1", &["kafka-1:9308"]), None).await;
    assert!(
        matches!(result, Err(DeliveryError::Retryable { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(held);
}

#[test]
fn build_refuses_clear_text_to_other_hosts_and_names_missing_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-password");
    let text = format!(
        r#"
receiver mail {{
  email {{ to "a@example.com"  from "klaxon@example.com"  smarthost "mail.example.com:25"  tls none }}
  email {{ to "a@example.com"  from "klaxon@example.com"  smarthost "localhost:25"  tls none }}
  email {{ to "a@example.com"  from "klaxon@example.com"  smarthost "mail.example.com"  auth_username "k"  auth_password file("{}") }}
  email {{ to "not an address"  from "klaxon@example.com"  smarthost "mail.example.com:587" }}
}}
route {{ receiver mail }}
"#,
        missing.display()
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
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert_eq!(
        errors[0],
        "receiver `mail`, email integration #1, `tls`: `tls none` would send mail and passwords \
         to `mail.example.com` in clear text; it is only allowed for localhost, 127.0.0.1 or ::1; \
         use `tls starttls` (port 587) or `tls tls` (port 465)"
    );
    assert_eq!(
        errors[1],
        "receiver `mail`, email integration #3, `smarthost`: `mail.example.com` is not host:port; \
         write it like `smtp.example.com:587`"
    );
    assert!(
        errors[2]
            .starts_with("receiver `mail`, email integration #3, `auth_password`: cannot read `")
            && errors[2].ends_with("create the file or fix the path"),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].starts_with(
            "receiver `mail`, email integration #4, `to`: `not an address` is not an email address"
        ),
        "{}",
        errors[3]
    );
    assert_eq!(
        at_load,
        [errors[0].clone(), errors[1].clone(), errors[3].clone()]
    );
}
