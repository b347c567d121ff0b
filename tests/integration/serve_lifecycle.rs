//! `klaxon serve` against a real Prometheus (Debian's 2.42) scraping a test
//! exporter whose values each test changes: the alert lifecycle a user sees
//! through `/api/v1/alerts` and `/api/v1/rules`, datasource outages,
//! restarts (clean and `kill -9`) and reloads.

use std::time::Duration;

use crate::harness::{ApiAlert, Exporter, Klaxon, Prometheus, wait_for, wait_until};

const T: Duration = Duration::from_secs(30);

/// A Prometheus scraping `exporter` and klaxon evaluating one rule file
/// against it.
fn start_stack(exporter: &Exporter, file: &str, rules: &str) -> (Prometheus, Klaxon) {
    let prometheus = Prometheus::scraping(exporter.addr());
    let klaxon = Klaxon::builder()
        .prometheus_url(&prometheus.url())
        .rules_file(file, rules)
        .start();
    (prometheus, klaxon)
}

fn find<'a>(alerts: &'a [ApiAlert], name: &str) -> Vec<&'a ApiAlert> {
    alerts.iter().filter(|a| a.name() == name).collect()
}

fn state_of(k: &Klaxon, name: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = find(&k.alerts(), name)
        .into_iter()
        .map(|a| {
            (
                a.state.clone(),
                a.label("severity").unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn wait_state(k: &Klaxon, name: &str, want: &[(&str, &str)], what: &str) {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    wait_for(T, what, || {
        let got = state_of(k, name);
        if got == want { Ok(()) } else { Err(got) }
    });
}

const PROM_RULES: &str = r#"groups:
- name: lifecycle
  interval: 1s
  rules:
  - alert: QueueDeep
    expr: queue_depth > 10
    for: 3s
    keep_firing_for: 4s
    labels:
      severity: page
    annotations:
      summary: "queue {{ $labels.queue }} holds {{ $value }} messages"
"#;

#[test]
fn prometheus_rule_goes_pending_firing_keeps_firing_then_resolves() {
    let exporter = Exporter::start();
    exporter.set("queue_depth", &[("queue", "orders")], 1.0);
    let (prometheus, klaxon) = start_stack(&exporter, "alerts.yml", PROM_RULES);

    exporter.set("queue_depth", &[("queue", "orders")], 50.0);
    let pending = wait_until(T, "QueueDeep is pending", || {
        find(&klaxon.alerts(), "QueueDeep")
            .into_iter()
            .find(|a| a.state == "pending")
            .cloned()
    });
    assert_eq!(pending.label("queue"), Some("orders"));
    assert_eq!(pending.label("severity"), Some("page"));
    let firing = wait_until(T, "QueueDeep fires after its `for`", || {
        find(&klaxon.alerts(), "QueueDeep")
            .into_iter()
            .find(|a| a.state == "firing")
            .cloned()
    });
    assert_eq!(
        firing.active_at, pending.active_at,
        "activeAt is when it went pending"
    );
    assert_eq!(
        firing.annotation("summary"),
        Some("queue orders holds 50 messages")
    );
    // /api/v1/alerts takes its alerts without the rules' status; it lists
    // exactly the alerts /api/v1/rules shows inside its rules.
    let from_rules: Vec<ApiAlert> = klaxon
        .rules()
        .into_iter()
        .flat_map(|g| g.rules)
        .flat_map(|r| r.alerts)
        .collect();
    assert_eq!(from_rules, klaxon.alerts());

    exporter.set("queue_depth", &[("queue", "orders")], 2.0);
    // keep_firing_for 4s: still firing right after the value drops.
    prometheus.wait_for_value("queue_depth", 2.0, T);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        state_of(&klaxon, "QueueDeep"),
        [("firing".into(), "page".into())]
    );
    wait_until(T, "QueueDeep resolves after keep_firing_for", || {
        find(&klaxon.alerts(), "QueueDeep").is_empty().then_some(())
    });
    let rules = klaxon.rules();
    let rule = &rules[0].rules[0];
    assert_eq!(rule.health, "ok");
    assert_eq!(rule.duration, Some(3.0));
    assert_eq!(rule.keep_firing_for, Some(4.0));
}

const DSL_RULES: &str = r#"group lag {
  every 1s
  alert ConsumerLag {
    query prometheus `consumer_lag`
    warning  when value > 100
    critical when value > 1000 for 2s
    resolve  when value < 50
    summary "lag {{ $value }} on {{ $labels.topic }}"
  }
}
"#;

#[test]
fn dsl_rule_escalates_deescalates_and_resolves_with_hysteresis() {
    let exporter = Exporter::start();
    exporter.set("consumer_lag", &[("topic", "orders")], 0.0);
    let (prometheus, klaxon) = start_stack(&exporter, "lag.rules", DSL_RULES);
    let set = |v: f64| {
        exporter.set("consumer_lag", &[("topic", "orders")], v);
        prometheus.wait_for_value("consumer_lag", v, T);
    };

    set(500.0);
    wait_state(
        &klaxon,
        "ConsumerLag",
        &[("firing", "warning")],
        "warning fires",
    );
    let first = find(&klaxon.alerts(), "ConsumerLag")[0].clone();
    set(5000.0);
    wait_state(
        &klaxon,
        "ConsumerLag",
        &[("firing", "critical")],
        "escalates to critical",
    );
    let escalated = find(&klaxon.alerts(), "ConsumerLag")[0].clone();
    assert_eq!(
        escalated.active_at, first.active_at,
        "one alert escalating, not a new one"
    );
    set(500.0);
    wait_state(
        &klaxon,
        "ConsumerLag",
        &[("firing", "warning")],
        "de-escalates to warning",
    );
    set(70.0);
    // Between the resolve threshold (50) and the firing one (100): stays.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        state_of(&klaxon, "ConsumerLag"),
        [("firing".into(), "warning".into())],
        "hysteresis keeps it firing above the resolve threshold"
    );
    set(10.0);
    wait_state(
        &klaxon,
        "ConsumerLag",
        &[],
        "resolves below the resolve threshold",
    );
}

#[test]
fn nodata_alert_fires_when_a_query_returns_nothing_and_resolves_when_data_returns() {
    let exporter = Exporter::start();
    exporter.set("unrelated", &[], 1.0);
    let (_prometheus, klaxon) = start_stack(
        &exporter,
        "nodata.rules",
        r#"group backups {
  every 1s
  alert BackupAge {
    query prometheus `backup_age_seconds`
    warning when value > 86400
    nodata after 3s critical
  }
}
"#,
    );
    let alert = wait_until(T, "the no-data alert fires", || {
        find(&klaxon.alerts(), "BackupAge")
            .into_iter()
            .find(|a| a.state == "firing")
            .cloned()
    });
    assert_eq!(alert.label("nodata"), Some("true"));
    assert_eq!(alert.label("severity"), Some("critical"));
    exporter.set("backup_age_seconds", &[("instance", "db1")], 60.0);
    wait_state(
        &klaxon,
        "BackupAge",
        &[],
        "data is back, the no-data alert resolves",
    );
}

#[test]
fn datasource_down_keeps_alerts_and_raises_klaxon_datasource_down() {
    let exporter = Exporter::start();
    exporter.set("queue_depth", &[("queue", "orders")], 50.0);
    let (mut prometheus, klaxon) = start_stack(
        &exporter,
        "alerts.yml",
        &PROM_RULES.replace("for: 3s", "for: 0s"),
    );
    wait_state(
        &klaxon,
        "QueueDeep",
        &[("firing", "page")],
        "QueueDeep fires",
    );

    prometheus.stop();
    wait_until(T, "KlaxonDatasourceDown fires", || {
        find(&klaxon.alerts(), "KlaxonDatasourceDown")
            .into_iter()
            .find(|a| a.state == "firing" && a.label("datasource") == Some("default"))
            .cloned()
    });
    // Well past keep_firing_for: a query error must not resolve anything.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        state_of(&klaxon, "QueueDeep"),
        [("firing".into(), "page".into())],
        "no false resolve while Prometheus is down"
    );
    let rules = klaxon.rules();
    let rule = rules
        .iter()
        .flat_map(|g| &g.rules)
        .find(|r| r.name == "QueueDeep")
        .expect("rule listed");
    assert_eq!(rule.health, "err");
    assert!(
        rule.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot reach"),
        "{:?}",
        rule.last_error
    );

    prometheus.restart();
    wait_state(
        &klaxon,
        "KlaxonDatasourceDown",
        &[],
        "the meta-alert resolves",
    );
    assert_eq!(
        state_of(&klaxon, "QueueDeep"),
        [("firing".into(), "page".into())]
    );
}

#[test]
fn state_survives_sigterm_and_kill_9() {
    let exporter = Exporter::start();
    exporter.set("queue_depth", &[("queue", "orders")], 50.0);
    exporter.set("slow_depth", &[("queue", "orders")], 50.0);
    let rules =
        format!("{PROM_RULES}  - alert: SlowQueue\n    expr: slow_depth > 10\n    for: 1h\n");
    let (_prometheus, mut klaxon) = start_stack(&exporter, "alerts.yml", &rules);
    wait_state(
        &klaxon,
        "QueueDeep",
        &[("firing", "page")],
        "QueueDeep fires",
    );
    wait_state(
        &klaxon,
        "SlowQueue",
        &[("pending", "")],
        "SlowQueue is pending",
    );
    let before = klaxon.alerts();
    let active_at = |alerts: &[ApiAlert], name: &str| {
        find(alerts, name).first().and_then(|a| a.active_at.clone())
    };

    let status = klaxon.terminate();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    klaxon.restart();
    // Immediately after start (before a round could re-create anything).
    let after = klaxon.alerts();
    assert_eq!(
        state_of(&klaxon, "QueueDeep"),
        [("firing".into(), "page".into())],
        "still firing after a clean restart, not pending again"
    );
    assert_eq!(
        active_at(&after, "QueueDeep"),
        active_at(&before, "QueueDeep")
    );
    assert_eq!(
        active_at(&after, "SlowQueue"),
        active_at(&before, "SlowQueue"),
        "`for` is not restarted"
    );

    klaxon.kill9();
    klaxon.restart();
    let after_kill = klaxon.alerts();
    assert_eq!(
        active_at(&after_kill, "QueueDeep"),
        active_at(&before, "QueueDeep")
    );
    assert_eq!(
        active_at(&after_kill, "SlowQueue"),
        active_at(&before, "SlowQueue")
    );
    assert_eq!(
        state_of(&klaxon, "SlowQueue"),
        [("pending".into(), "".into())]
    );
}

#[test]
fn reload_swaps_valid_configs_and_keeps_the_old_one_on_errors() {
    let exporter = Exporter::start();
    exporter.set("queue_depth", &[("queue", "orders")], 50.0);
    let (_prometheus, klaxon) = start_stack(&exporter, "alerts.yml", PROM_RULES);
    wait_state(
        &klaxon,
        "QueueDeep",
        &[("firing", "page")],
        "QueueDeep fires",
    );
    let active_at = find(&klaxon.alerts(), "QueueDeep")[0].active_at.clone();

    // Invalid: the answer lists the error with file:line:col; nothing changes.
    klaxon.write_file(
        "alerts.yml",
        &format!("{PROM_RULES}  - alert: Broken\n    expr: rate(x[5m]\n"),
    );
    let answer = klaxon.reload();
    assert!(
        (400..500).contains(&answer.status),
        "status {}: {}",
        answer.status,
        answer.body
    );
    assert!(answer.body.contains("alerts.yml:14:15"), "{}", answer.body);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        state_of(&klaxon, "QueueDeep"),
        [("firing".into(), "page".into())]
    );
    assert!(
        klaxon
            .rules()
            .iter()
            .flat_map(|g| &g.rules)
            .all(|r| r.name != "Broken")
    );

    // Valid: a new rule appears; the unchanged rule keeps its alert.
    klaxon.write_file(
        "alerts.yml",
        &format!("{PROM_RULES}  - alert: AlsoDeep\n    expr: queue_depth > 20\n"),
    );
    let answer = klaxon.reload();
    assert_eq!(answer.status, 200, "{}", answer.body);
    wait_state(&klaxon, "AlsoDeep", &[("firing", "")], "the new rule fires");
    assert_eq!(
        find(&klaxon.alerts(), "QueueDeep")[0].active_at,
        active_at,
        "state carried over for the unchanged rule"
    );

    // SIGHUP does the same.
    klaxon.write_file("alerts.yml", PROM_RULES);
    klaxon.sighup();
    wait_until(T, "AlsoDeep is gone after SIGHUP", || {
        klaxon
            .rules()
            .iter()
            .flat_map(|g| &g.rules)
            .all(|r| r.name != "AlsoDeep")
            .then_some(())
    });
}

/// Issue 22: `klaxon serve` read `/dev/zero` until memory ran out and
/// blocked forever on a FIFO, whether given as a rule file, a `file()`
/// secret or the API token file. Each now stops the start at once with the
/// path and what it is.
#[test]
fn serve_refuses_special_files_at_start_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    let fifo = fifo.display().to_string();
    let nowhere = "http://127.0.0.1:1";
    let rule = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n";
    let cases = [
        (
            Klaxon::builder().prometheus_url(nowhere).rules("/dev/zero"),
            "/dev/zero: cannot read: not a regular file but a character device".to_string(),
        ),
        (
            Klaxon::builder().config_file(
                "ds.rules",
                &format!(
                    "datasource prometheus default {{\n  url \"{nowhere}\"\n  bearer_token file(\"/dev/zero\")\n}}\n"
                ),
            ),
            "cannot read `/dev/zero`: not a regular file but a character device".to_string(),
        ),
        (
            Klaxon::builder().prometheus_url(nowhere).config_file(
                "hooks.rules",
                &format!(
                    "receiver hooks {{\n  webhook {{ url \"{nowhere}/hook\"  secret file(\"{fifo}\") }}\n}}\nroute {{ receiver hooks }}\n"
                ),
            ),
            format!("cannot read `{fifo}`: not a regular file but a FIFO (named pipe)"),
        ),
        (
            Klaxon::builder()
                .prometheus_url(nowhere)
                .rules_file("a.yml", rule)
                .arg("--api.token-file")
                .arg(&fifo),
            format!("--api.token-file {fifo}: not a regular file but a FIFO (named pipe)"),
        ),
    ];
    for (builder, message) in cases {
        let error = match builder.try_start() {
            Ok(_) => panic!("klaxon started; expected `{message}`"),
            Err(e) => e,
        };
        assert!(error.status.is_some(), "klaxon did not exit: {error}");
        assert!(
            error.stderr.contains(&message),
            "expected `{message}`: {error}"
        );
    }
}

/// Issue 13: receiver, time window and datasource settings that
/// `rulecheck` passed and `serve` refused. Now `rulecheck` reports each at
/// its value, and `klaxon serve` refuses to start with the very same
/// message, position, source line and caret.
#[test]
fn serve_refuses_component_settings_with_the_message_rulecheck_gives() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dsl/errors");
    for name in [
        "time_window_weekdays.rules",
        "time_window_location.rules",
        "email_smarthost.rules",
        "email_tls_none.rules",
        "email_addresses.rules",
        "receiver_settings.rules",
        "datasource_settings.rules",
    ] {
        let text = std::fs::read_to_string(fixtures.join(name)).expect("fixture");
        let expected = text.lines().filter(|l| l.starts_with("# expect: ")).count();
        let builder = Klaxon::builder();
        let path = builder.write_file(name, &text);
        let checked = std::process::Command::new(env!("CARGO_BIN_EXE_rulecheck"))
            .arg(&path)
            .env_remove("RULECHECK_FORMAT")
            .env_remove("RULECHECK_FAIL_ON")
            .output()
            .expect("run rulecheck");
        assert_eq!(
            checked.status.code(),
            Some(1),
            "{name}: rulecheck must refuse it"
        );
        let report = String::from_utf8_lossy(&checked.stdout).into_owned();
        let said: Vec<&str> = report
            .split("\n\n")
            .filter(|block| block.starts_with("error["))
            .collect();
        assert_eq!(said.len(), expected, "{name}: {report}");
        let error = match builder.arg("--config").arg(&path).try_start() {
            Ok(_) => panic!("{name}: klaxon started"),
            Err(e) => e,
        };
        assert!(
            error.status.is_some(),
            "{name}: klaxon did not exit: {error}"
        );
        for block in said {
            assert!(
                error.stderr.contains(block),
                "{name}: serve does not say\n{block}\n{error}"
            );
        }
    }
}

/// The message of a JSON error answer, in Alertmanager's shape
/// (`message`) or Prometheus's (`error`).
fn error_text(answer: &crate::harness::HttpResponse) -> String {
    let body = answer.json().unwrap_or_else(|e| panic!("{e}"));
    body.get("message")
        .or_else(|| body.get("error"))
        .and_then(|m| m.as_str())
        .unwrap_or_else(|| panic!("no message in {body}"))
        .to_string()
}

/// With `--api.token-file`, every endpoint of the served router that is not
/// a read answers 401 with a JSON error without the token (or with a wrong
/// one) and does its work with it; reads need none. The endpoints come from
/// the tables the router is built from, so a new one is checked too.
#[test]
fn every_state_changing_endpoint_needs_the_token() {
    let builder = Klaxon::builder();
    let token_file = builder.write_file("token", "s3cret\n");
    let klaxon = builder
        .rules_file("alerts.yml", "groups: []\n")
        .arg("--api.token-file")
        .arg(token_file)
        .start();
    let endpoints = klaxon::api::endpoints();
    assert!(
        endpoints
            .iter()
            .any(|(method, path)| method == "POST" && *path == "/-/reload"),
        "{endpoints:?}"
    );
    let mut writes = 0;
    for (method, path) in &endpoints {
        let url = format!(
            "{}{}",
            klaxon.url(),
            path.replace("{id}", "5e365d67-1c49-47e4-8d6a-000000000000")
        );
        let send = |headers: &[(&str, &str)]| {
            crate::harness::http::request_with_headers(
                method.as_str(),
                &url,
                headers,
                Some(("application/json", b"")),
            )
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
        };
        let anonymous = send(&[]);
        let authorized = send(&[("Authorization", "Bearer s3cret")]);
        // The endpoint is served: neither a wrong method nor the router's 404.
        assert_ne!(authorized.status, 405, "{method} {path}");
        assert!(
            !authorized.body.contains("no endpoint") && !authorized.body.contains("was not found"),
            "{method} {path}: {}",
            authorized.body
        );
        if klaxon::api::access::is_read(method) {
            assert_ne!(anonymous.status, 401, "{method} {path} is a read");
            continue;
        }
        writes += 1;
        assert_ne!(
            authorized.status, 401,
            "{method} {path}: {}",
            authorized.body
        );
        let wrong = send(&[("Authorization", "Bearer guess")]);
        for (answer, why) in [
            (
                &anonymous,
                "this endpoint needs an Authorization: Bearer <token> header",
            ),
            (&wrong, "the bearer token is not valid"),
        ] {
            assert_eq!(answer.status, 401, "{method} {path}: {}", answer.body);
            assert_eq!(
                answer.header("www-authenticate"),
                Some("Bearer realm=\"klaxon\"")
            );
            assert_eq!(error_text(answer), why, "{method} {path}");
        }
    }
    // POST and PUT /-/reload, POST alerts, silences and the webhook, DELETE a silence.
    assert!(writes >= 6, "{endpoints:?}");
    // A method no endpoint has gets a JSON 405 on every path.
    for (_, path) in &endpoints {
        let url = format!("{}{}", klaxon.url(), path.replace("{id}", "x"));
        let answer = crate::harness::http::request_with_headers(
            "PATCH",
            &url,
            &[("Authorization", "Bearer s3cret")],
            None,
        )
        .unwrap_or_else(|e| panic!("PATCH {url}: {e}"));
        assert_eq!(answer.status, 405, "PATCH {path}: {}", answer.body);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        let text = error_text(&answer);
        assert!(text.contains("PATCH"), "PATCH {path}: {text}");
    }
    // A reload with the token did reload.
    assert!(klaxon.stderr().contains("configuration reloaded"));
}

/// Rejected input is answered in full but logged as counts and a bounded
/// excerpt: a few megabytes of invalid alerts cannot write megabytes of log.
#[test]
fn a_large_invalid_batch_logs_counts_and_an_excerpt() {
    let klaxon = Klaxon::builder()
        .rules_file("alerts.yml", "groups: []\n")
        .start();
    let one = format!(r#"{{"labels":{{"bad-name":"{}é"}}}}"#, "v".repeat(100));
    let body = format!("[{}]", vec![one; 40_000].join(","));
    let before = klaxon.stderr().len();
    let answer = crate::harness::http::post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        "application/json",
        body.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("POST /api/v2/alerts: {e}"));
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.len() > body.len(),
        "the client is told everything"
    );
    assert!(answer.body.contains("alert 39999 "));
    let log = klaxon.stderr();
    let logged = &log[before..];
    assert!(
        logged.len() < 2_000,
        "{} bytes of log for a {}-byte body:\n{}",
        logged.len(),
        body.len(),
        &logged[..logged.len().min(3_000)]
    );
    assert!(
        logged.contains("rejected=40000")
            && logged.contains("accepted=0")
            && logged.contains(&format!("body_bytes={}", body.len()))
            && logged.contains("more bytes)"),
        "{logged}"
    );
}
