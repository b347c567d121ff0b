//! klaxon's Alertmanager API v2 against a real Alertmanager 0.25: the same
//! requests to both give the same bytes (times that depend on the moment of
//! the request normalised), plus persistence across restarts, damaged
//! journals, and the error answers klaxon adds (401, 413, 400 naming the
//! field, partly invalid batches).

use std::time::Duration;

use crate::harness::am_api::AmServer;
use crate::harness::am_api::http::{self, Response};
use crate::harness::{Alertmanager, wait_for};
use klaxon::api::alertmanager::AlertmanagerApiOptions;
use klaxon::store::{RecordOp, RecordTable};

const AM_CONFIG: &str = "\
global:
  resolve_timeout: 5m
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:9/unused
  - name: other
";

/// Replaces the values of the given JSON keys (which depend on when a
/// request was handled, or are random) with `<key>`.
fn normalise(body: &str, keys: &[&str]) -> String {
    let mut out = body.to_string();
    for key in keys {
        let pattern = regex::Regex::new(&format!(r#""{key}":"[^"]*""#)).unwrap();
        out = pattern
            .replace_all(&out, format!(r#""{key}":"<{key}>""#).as_str())
            .into_owned();
    }
    out
}

fn post(url: &str, body: &str) -> Response {
    http::post_json(url, body)
}

/// Alerts with explicit times, so both servers store the same values.
const ALERTS: &str = r#"[
  {"labels":{"alertname":"DiskFull","instance":"db-2","job":"node","empty":""},
   "annotations":{"summary":"<b>disk</b> & more","runbook":"https://r/1"},
   "startsAt":"2099-01-01T00:00:00Z","endsAt":"2099-01-02T00:00:00.5Z",
   "generatorURL":"http://prometheus/graph?g0.expr=up&g0.tab=1"},
  {"labels":{"alertname":"DiskFull","instance":"db-1","job":"node"},
   "startsAt":"2098-12-31T23:00:00.123Z","endsAt":"2099-01-02T00:00:00Z"},
  {"labels":{"alertname":"Watchdog"},"annotations":{"x":"y"},
   "startsAt":"2098-01-01T00:00:00Z","endsAt":"2099-06-01T00:00:00Z"}
]"#;

#[test]
fn alerts_endpoints_answer_byte_for_byte_as_alertmanager() {
    let alertmanager = Alertmanager::start(AM_CONFIG);
    let klaxon = AmServer::with_options(AlertmanagerApiOptions::default(), &["hook", "other"]);
    for base in [alertmanager.url(), klaxon.url()] {
        let response = post(&format!("{base}/api/v2/alerts"), ALERTS);
        assert_eq!(response.status, 200, "{base}: {}", response.text());
        assert!(response.bytes.is_empty());
    }
    let queries = [
        "/api/v2/alerts",
        "/api/v2/alerts?filter=alertname%3D%22DiskFull%22&filter=instance%3D~%22db-.%22",
        "/api/v2/alerts?filter=instance%3D",
        "/api/v2/alerts?filter=job!%3D",
        "/api/v2/alerts?receiver=ho.*",
        "/api/v2/alerts?receiver=other",
        "/api/v2/alerts?active=false",
        "/api/v2/alerts?silenced=false&inhibited=false&unprocessed=true",
        "/api/v2/alerts/groups",
        "/api/v2/alerts/groups?filter=alertname%3DWatchdog",
        "/api/v2/receivers",
    ];
    for query in queries {
        // Alertmanager groups alerts asynchronously after the post.
        let expected = wait_for(Duration::from_secs(10), query, || {
            let body = http::get(&format!("{}{query}", alertmanager.url()));
            if query.contains("groups") && body.text() == "[]\n" {
                Err(body.text())
            } else {
                Ok(body)
            }
        });
        let actual = http::get(&format!("{}{query}", klaxon.url()));
        assert_eq!(actual.status, expected.status, "{query}");
        assert_eq!(
            normalise(&actual.text(), &["updatedAt"]),
            normalise(&expected.text(), &["updatedAt"]),
            "{query}"
        );
        assert_eq!(
            actual.header("content-type"),
            expected.header("content-type")
        );
    }
    // Query errors: Alertmanager's words where klaxon can match them.
    for query in [
        "/api/v2/alerts?filter=nonsense",
        "/api/v2/silences?filter=a%3D%22x",
    ] {
        let expected = http::get(&format!("{}{query}", alertmanager.url()));
        let actual = http::get(&format!("{}{query}", klaxon.url()));
        assert_eq!(
            (actual.status, actual.text()),
            (expected.status, expected.text()),
            "{query}"
        );
    }
    let bad_receiver = http::get(&format!("{}/api/v2/alerts?receiver=(", klaxon.url()));
    assert_eq!(bad_receiver.status, 400);
    assert!(
        bad_receiver
            .text()
            .starts_with("\"failed to parse receiver param: error parsing regexp: "),
        "{}",
        bad_receiver.text()
    );
}

#[test]
fn posted_alerts_get_alertmanagers_defaults() {
    let klaxon = AmServer::start();
    let before = chrono::Utc::now().timestamp_millis();
    let response = post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        r#"[{"labels":{"alertname":"NoTimes"}},
            {"labels":{"alertname":"OnlyEnd"},"endsAt":"2020-01-01T00:00:00Z"},
            {"labels":{"alertname":"GoZero"},"startsAt":"0001-01-01T00:00:00.000Z","endsAt":"0001-01-01T00:00:00.000Z"}]"#,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let after = chrono::Utc::now().timestamp_millis();
    let by_name = |name: &str| {
        klaxon
            .alerts()
            .snapshot()
            .into_iter()
            .find(|a| a.labels.value("alertname") == name)
            .unwrap_or_else(|| panic!("{name} not stored"))
    };
    for name in ["NoTimes", "GoZero"] {
        let alert = by_name(name);
        assert!((before..=after).contains(&alert.starts_at), "{name}");
        assert_eq!(
            alert.ends_at,
            alert.updated_at + 5 * 60 * 1000,
            "{name}: resolve_timeout"
        );
        assert!(alert.timeout, "{name}");
    }
    let only_end = by_name("OnlyEnd");
    assert_eq!(
        (only_end.starts_at, only_end.ends_at),
        (1_577_836_800_000, 1_577_836_800_000)
    );
    assert!(!only_end.timeout);
    // A resolved alert is not listed.
    let listed = http::get(&format!("{}/api/v2/alerts", klaxon.url())).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(!names.contains(&"OnlyEnd"));
}

#[test]
fn inhibited_and_silenced_alerts_show_why() {
    let klaxon = AmServer::start();
    let base = klaxon.url();
    let response = post(
        &format!("{base}/api/v2/alerts"),
        r#"[{"labels":{"alertname":"Lag","severity":"critical"}},
            {"labels":{"alertname":"Lag","severity":"warning"}},
            {"labels":{"alertname":"Other"}}]"#,
    );
    assert_eq!(response.status, 200);
    let silence = post(
        &format!("{base}/api/v2/silences"),
        r#"{"matchers":[{"name":"alertname","value":"Oth.*","isRegex":true}],
            "startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z",
            "createdBy":"me","comment":"quiet"}"#,
    );
    assert_eq!(silence.status, 200, "{}", silence.text());
    let silence_id = silence.json()["silenceID"].as_str().unwrap().to_string();
    let alerts = http::get(&format!("{base}/api/v2/alerts")).json();
    let status = |name: &str, severity: &str| {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["labels"]["alertname"] == name
                    && a["labels"]["severity"].as_str().unwrap_or("") == severity
            })
            .map(|a| a["status"].clone())
            .unwrap()
    };
    let critical_fp = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["severity"] == "critical")
        .map(|a| a["fingerprint"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(
        status("Lag", "warning"),
        serde_json::json!({"inhibitedBy":[critical_fp],"silencedBy":[],"state":"suppressed"})
    );
    assert_eq!(
        status("Other", ""),
        serde_json::json!({"inhibitedBy":[],"silencedBy":[silence_id],"state":"suppressed"})
    );
    assert_eq!(status("Lag", "critical")["state"], "active");
    let names = |query: &str| -> Vec<String> {
        let mut names: Vec<String> = http::get(&format!("{base}/api/v2/alerts?{query}"))
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{}/{}",
                    a["labels"]["alertname"].as_str().unwrap(),
                    a["labels"]["severity"].as_str().unwrap_or("")
                )
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("silenced=false"), ["Lag/critical", "Lag/warning"]);
    assert_eq!(names("inhibited=false"), ["Lag/critical", "Other/"]);
    assert_eq!(names("active=false"), ["Lag/warning", "Other/"]);
}

/// Creates the same silence on both servers and returns both ids.
fn post_both(alertmanager: &str, klaxon: &str, body: &str) -> (Response, Response) {
    (
        post(&format!("{alertmanager}/api/v2/silences"), body),
        post(&format!("{klaxon}/api/v2/silences"), body),
    )
}

#[test]
fn silences_answer_byte_for_byte_as_alertmanager() {
    let alertmanager = Alertmanager::start(AM_CONFIG);
    let klaxon = AmServer::start();
    let (am, kx) = (alertmanager.url(), klaxon.url());
    // A pending silence keeps its times exactly; an active one starts now.
    let pending = r#"{"matchers":[{"name":"alertname","value":"Disk.*","isRegex":true},
        {"name":"team","value":"db","isRegex":false,"isEqual":false}],
        "startsAt":"2098-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00.25Z",
        "createdBy":"ops <ops@example.com>","comment":"upgrade & reboot"}"#;
    let active = r#"{"matchers":[{"name":"job","value":"node","isRegex":false}],
        "startsAt":"2020-01-01T00:00:00Z","endsAt":"2097-01-01T00:00:00Z",
        "createdBy":"me","comment":""}"#;
    let (am_pending, kx_pending) = post_both(&am, &kx, pending);
    let (am_active, kx_active) = post_both(&am, &kx, active);
    for (a, k) in [(&am_pending, &kx_pending), (&am_active, &kx_active)] {
        assert_eq!(k.status, 200, "{}", k.text());
        assert_eq!(
            normalise(&k.text(), &["silenceID"]),
            normalise(&a.text(), &["silenceID"])
        );
    }
    let id = |r: &Response| r.json()["silenceID"].as_str().unwrap().to_string();
    let moments = ["id", "updatedAt", "startsAt"];
    let compare = |am_path: &str, kx_path: &str, keys: &[&str]| {
        let expected = http::get(&format!("{am}{am_path}"));
        let actual = http::get(&format!("{kx}{kx_path}"));
        assert_eq!(actual.status, expected.status, "{kx_path}");
        assert_eq!(
            normalise(&actual.text(), keys),
            normalise(&expected.text(), keys),
            "{kx_path}"
        );
    };
    compare("/api/v2/silences", "/api/v2/silences", &moments);
    compare(
        "/api/v2/silences?filter=alertname%3D~%22Disk.%2A%22",
        "/api/v2/silences?filter=alertname%3D~%22Disk.%2A%22",
        &moments,
    );
    compare(
        "/api/v2/silences?filter=alertname%3D%22Disk.%2A%22",
        "/api/v2/silences?filter=alertname%3D%22Disk.%2A%22",
        &moments,
    );
    compare(
        &format!("/api/v2/silence/{}", id(&am_pending)),
        &format!("/api/v2/silence/{}", id(&kx_pending)),
        &["id", "updatedAt"],
    );
    // Updating the active silence's matchers replaces it with a new id.
    let replace = active.replace(r#""value":"node""#, r#""value":"node2""#);
    let am_update = post(
        &format!("{am}/api/v2/silences"),
        &replace.replacen('{', &format!(r#"{{"id":"{}","#, id(&am_active)), 1),
    );
    let kx_update = post(
        &format!("{kx}/api/v2/silences"),
        &replace.replacen('{', &format!(r#"{{"id":"{}","#, id(&kx_active)), 1),
    );
    assert_eq!(kx_update.status, am_update.status);
    assert_ne!(id(&kx_update), id(&kx_active));
    // Expire both pending silences, then compare everything again.
    for (base, sid) in [(&am, id(&am_pending)), (&kx, id(&kx_pending))] {
        let response =
            http::request("DELETE", &format!("{base}/api/v2/silence/{sid}"), &[], None).unwrap();
        assert_eq!(response.status, 200);
        assert!(response.bytes.is_empty());
    }
    compare(
        "/api/v2/silences",
        "/api/v2/silences",
        &["id", "updatedAt", "startsAt", "endsAt"],
    );
    // Errors, status and body alike.
    let unknown = "5e365d67-1c49-47e4-8d6a-000000000000";
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("DELETE", format!("/api/v2/silence/{unknown}"), None),
        ("DELETE", "/api/v2/silence/nope".to_string(), None),
        ("GET", format!("/api/v2/silence/{unknown}"), None),
        ("GET", "/api/v2/silence/nope".to_string(), None),
        ("POST", "/api/v2/silences".to_string(), Some(pending.replace("2098-01-01", "2099-02-01"))),
        ("POST", "/api/v2/silences".to_string(), Some(pending.replace("2099-01-01", "2001-01-01").replace("2098-01-01", "2000-01-01"))),
        ("POST", "/api/v2/silences".to_string(), Some(pending.replace(r#""value":"Disk.*""#, r#""value":".*""#).replace(r#""isRegex":false,"isEqual":false"#, r#""isRegex":true"#).replace(r#""value":"db""#, r#""value":"""#))),
        ("POST", "/api/v2/silences".to_string(), Some(pending.replace(r#","comment":"upgrade & reboot""#, ""))),
        ("POST", "/api/v2/silences".to_string(), Some(r#"{"matchers":[],"startsAt":"2098-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"x","comment":"y"}"#.to_string())),
        ("POST", "/api/v2/silences".to_string(), Some(pending.replacen('{', &format!(r#"{{"id":"{unknown}","#), 1))),
    ];
    for (method, path, body) in cases {
        let send = |base: &str| {
            http::request(
                method,
                &format!("{base}{path}"),
                &[],
                body.as_deref().map(str::as_bytes),
            )
            .unwrap()
        };
        let (expected, actual) = (send(&am), send(&kx));
        assert_eq!(
            (actual.status, actual.text()),
            (expected.status, expected.text()),
            "{method} {path} {body:?}"
        );
    }
}

/// A time with anything after it is refused with 400 naming the field, as
/// Alertmanager refuses it (klaxon keeps the other alerts of the batch); a
/// wrong method gets a JSON 405 with `Allow`, as Alertmanager's.
#[test]
fn junk_times_and_wrong_methods_answer_like_alertmanager() {
    let alertmanager = Alertmanager::start(AM_CONFIG);
    let klaxon = AmServer::start();
    let (am, kx) = (alertmanager.url(), klaxon.url());
    let junk = "0001-01-01T00:00:00junk";
    let cases = [
        (
            "/api/v2/alerts",
            format!(r#"[{{"labels":{{"alertname":"Junk"}},"startsAt":"{junk}"}}]"#),
            "startsAt",
        ),
        (
            "/api/v2/alerts",
            r#"[{"labels":{"alertname":"Junk"},"endsAt":"2099-01-01T00:00:00Zjunk"}]"#.to_string(),
            "endsAt",
        ),
        (
            "/api/v2/silences",
            format!(
                r#"{{"matchers":[{{"name":"a","value":"b","isRegex":false}}],"startsAt":"2098-01-01T00:00:00Z","endsAt":"{junk}","createdBy":"me","comment":"c"}}"#
            ),
            "endsAt",
        ),
    ];
    for (path, body, field) in &cases {
        let expected = post(&format!("{am}{path}"), body);
        let actual = post(&format!("{kx}{path}"), body);
        assert_eq!(expected.status, 400, "Alertmanager: {}", expected.text());
        assert_eq!(actual.status, 400, "{path} {body}: {}", actual.text());
        let message = actual.json();
        let message = message
            .as_str()
            .or_else(|| message["message"].as_str())
            .unwrap_or_else(|| panic!("no message in {}", actual.text()));
        assert!(
            message.contains(&format!("{field}: `")) && message.contains("is not an RFC 3339 time"),
            "{message}"
        );
    }
    assert!(klaxon.alerts().is_empty());
    assert!(klaxon.silences().list().is_empty());
    // Go's zero time is still "no time", in any precision.
    let zero = post(
        &format!("{kx}/api/v2/alerts"),
        r#"[{"labels":{"alertname":"Zero"},"startsAt":"0001-01-01T00:00:00.000Z","endsAt":"0001-01-01T00:00:00Z"}]"#,
    );
    assert_eq!(zero.status, 200, "{}", zero.text());

    for (method, path) in [
        ("PUT", "/api/v2/alerts"),
        ("DELETE", "/api/v2/silences"),
        ("POST", "/api/v2/status"),
        (
            "PATCH",
            "/api/v2/silence/5e365d67-1c49-47e4-8d6a-000000000000",
        ),
    ] {
        let send = |base: &str| http::request(method, &format!("{base}{path}"), &[], None).unwrap();
        let (expected, actual) = (send(&am), send(&kx));
        assert_eq!(expected.status, 405, "Alertmanager {method} {path}");
        assert_eq!(actual.status, 405, "{method} {path}");
        assert_eq!(actual.header("content-type"), Some("application/json"));
        let body = actual.json();
        assert_eq!(body["code"], 405, "{}", actual.text());
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("method {method} is not allowed, but [")),
            "{message}"
        );
        let allowed = |r: &Response| {
            let mut methods: Vec<String> = r
                .header("allow")
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| m != "HEAD")
                .collect();
            methods.sort();
            methods
        };
        assert_eq!(allowed(&actual), allowed(&expected), "{method} {path}");
    }

    // A silence id that is no UUID: 422 with go-swagger's JSON, also for a
    // path whose bytes are not UTF-8 (axum answered that in plain text).
    for method in ["GET", "DELETE"] {
        let send = |base: &str, id: &str| {
            http::request(method, &format!("{base}/api/v2/silence/{id}"), &[], None).unwrap()
        };
        let expected = send(&am, "not-a-uuid");
        assert_eq!(
            expected.status,
            422,
            "Alertmanager {method}: {}",
            expected.text()
        );
        for id in ["not-a-uuid", "%ff%fe"] {
            let actual = send(&kx, id);
            assert_eq!(actual.status, 422, "{method} {id}: {}", actual.text());
            assert_eq!(actual.header("content-type"), Some("application/json"));
            let body = actual.json();
            assert_eq!(body["code"], 601, "{}", actual.text());
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                message.starts_with("silenceID in path must be of type uuid: "),
                "{method} {id}: {message}"
            );
        }
    }
}

#[test]
fn status_reports_a_standalone_alertmanager() {
    let klaxon = AmServer::start();
    let status = http::get(&format!("{}/api/v2/status", klaxon.url()));
    assert_eq!(status.status, 200);
    let text = status.text();
    assert!(text.starts_with(r#"{"cluster":{"peers":[],"status":"disabled"},"config":{"original":"route:\n  receiver: default\n"},"uptime":""#), "{text}");
    let json = status.json();
    let keys: Vec<&String> = json["versionInfo"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "branch",
            "buildDate",
            "buildUser",
            "goVersion",
            "revision",
            "version"
        ]
    );
    assert_eq!(json["versionInfo"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn alerts_and_silences_survive_a_restart() {
    let mut klaxon = AmServer::start();
    for batch in 0..3 {
        let alerts: Vec<serde_json::Value> = (0..100)
            .map(|i| {
                serde_json::json!({
                    "labels": {"alertname": "Restart", "batch": batch.to_string(), "i": i.to_string()},
                    "annotations": {"summary": format!("alert {i} of batch {batch}")},
                    "generatorURL": "http://x/y",
                })
            })
            .collect();
        let response = post(
            &format!("{}/api/v2/alerts", klaxon.url()),
            &serde_json::to_string(&alerts).unwrap(),
        );
        assert_eq!(response.status, 200);
    }
    let silence = post(
        &format!("{}/api/v2/silences", klaxon.url()),
        r#"{"matchers":[{"name":"batch","value":"1","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"me","comment":"c"}"#,
    );
    assert_eq!(silence.status, 200);
    let before_alerts = http::get(&format!("{}/api/v2/alerts", klaxon.url())).text();
    let before_silences = http::get(&format!("{}/api/v2/silences", klaxon.url())).text();
    assert_eq!(klaxon.alerts().len(), 300);
    assert_eq!(before_alerts.matches("\"suppressed\"").count(), 100);
    klaxon.restart();
    assert_eq!(klaxon.alerts().len(), 300);
    assert_eq!(
        http::get(&format!("{}/api/v2/alerts", klaxon.url())).text(),
        before_alerts
    );
    assert_eq!(
        http::get(&format!("{}/api/v2/silences", klaxon.url())).text(),
        before_silences
    );
}

#[test]
fn a_damaged_journal_opens_with_its_good_records() {
    let mut klaxon = AmServer::start();
    let response = post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        r#"[{"labels":{"alertname":"Kept","n":"1"}},{"labels":{"alertname":"Kept","n":"2"}}]"#,
    );
    assert_eq!(response.status, 200);
    klaxon.with_store_stopped(|store| {
        store
            .commit_records(&[
                RecordOp::Put {
                    table: RecordTable::NotifyAlerts,
                    key: 500u64.to_be_bytes().to_vec(),
                    value: b"\x01\x01garbage".to_vec(),
                },
                RecordOp::Put {
                    table: RecordTable::Silences,
                    key: b"not-a-silence".to_vec(),
                    value: b"{".to_vec(),
                },
            ])
            .unwrap();
    });
    assert_eq!(klaxon.alerts().len(), 2);
    let unreadable = klaxon.alerts().unreadable().to_vec();
    assert_eq!(unreadable.len(), 1);
    assert!(
        unreadable[0]
            .to_string()
            .starts_with("alert journal record 500: truncated"),
        "{}",
        unreadable[0]
    );
    assert_eq!(klaxon.silences().unreadable().len(), 1);
    // And it keeps working.
    let response = post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        r#"[{"labels":{"alertname":"After"}}]"#,
    );
    assert_eq!(response.status, 200);
    klaxon.restart();
    assert_eq!(klaxon.alerts().len(), 3);
}

fn options_with(max_body_bytes: usize) -> AlertmanagerApiOptions {
    AlertmanagerApiOptions {
        max_body_bytes,
        ..AlertmanagerApiOptions::default()
    }
}

#[test]
fn write_endpoints_need_the_bearer_token() {
    let klaxon = AmServer::with_token(Some("s3cret"), options_with(1 << 20), &["default"]);
    let url = format!("{}/api/v2/alerts", klaxon.url());
    let body = br#"[{"labels":{"alertname":"A"}}]"#;
    let missing = http::request("POST", &url, &[], Some(body)).unwrap();
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"klaxon\"")
    );
    assert_eq!(
        missing.text(),
        "{\"code\":401,\"message\":\"this endpoint needs an Authorization: Bearer <token> header\"}".replace('<', "\\u003c").replace('>', "\\u003e")
    );
    let wrong = http::request(
        "POST",
        &url,
        &[("Authorization", "Bearer nope")],
        Some(body),
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("the bearer token is not valid"));
    assert!(klaxon.alerts().is_empty());
    let right = http::request(
        "POST",
        &url,
        &[("Authorization", "Bearer s3cret")],
        Some(body),
    )
    .unwrap();
    assert_eq!(right.status, 200);
    assert_eq!(klaxon.alerts().len(), 1);
    // Reads stay open; deleting needs the token too.
    assert_eq!(http::get(&url).status, 200);
    let delete = http::request(
        "DELETE",
        &format!(
            "{}/api/v2/silence/5e365d67-1c49-47e4-8d6a-000000000000",
            klaxon.url()
        ),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(delete.status, 401);
    let webhook = http::request(
        "POST",
        &format!("{}/api/v1/receivers/alertmanager", klaxon.url()),
        &[],
        Some(b"{}"),
    )
    .unwrap();
    assert_eq!(webhook.status, 401);
}

#[test]
fn oversize_and_malformed_bodies_get_json_errors() {
    let klaxon = AmServer::with_options(options_with(2048), &["default"]);
    let url = format!("{}/api/v2/alerts", klaxon.url());
    let big = format!(r#"[{{"labels":{{"alertname":"{}"}}}}]"#, "x".repeat(4096));
    let response = post(&url, &big);
    assert_eq!(response.status, 413);
    assert_eq!(
        response.json(),
        serde_json::json!({"code":413,"message":"the request body is larger than the limit of 2048 bytes"})
    );
    let response = post(
        &url,
        "[{\"labels\":{\"alertname\":\"A\"}},\n {\"labels\":{\"alertname\":5}}]",
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["message"],
        "parsing alerts body failed: at [1].labels.alertname: invalid type: integer `5`, expected a string at line 2 column 25"
    );
    let response = post(&url, r#"[{"labels":{"alertname":"A"}"#);
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["message"],
        "parsing alerts body failed: at [0]: EOF while parsing an object at line 1 column 28"
    );
    let response = post(&url, r#"{"labels":{}}"#);
    assert_eq!(response.status, 400);
    assert!(
        response.json()["message"]
            .as_str()
            .unwrap()
            .contains("expected a sequence")
    );
    let response = post(&url, "");
    assert_eq!(
        (response.status, response.text()),
        (
            422,
            "{\"code\":602,\"message\":\"alerts in body is required\"}".to_string()
        )
    );
    assert!(
        klaxon.alerts().is_empty(),
        "a malformed batch stores nothing"
    );
    let silence = post(
        &format!("{}/api/v2/silences", klaxon.url()),
        r#"{"matchers":"x"}"#,
    );
    assert_eq!(silence.status, 400);
    assert!(
        silence.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("parsing silence body failed: at matchers: invalid type"),
        "{}",
        silence.text()
    );
}

#[test]
fn a_partly_invalid_batch_keeps_the_valid_alerts_and_names_the_others() {
    let klaxon = AmServer::start();
    let response = post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        r#"[{"labels":{"alertname":"Good1"}},
            {"labels":{}},
            {"labels":{"alertname":"Bad","bad label":"x"}},
            {"labels":{"alertname":"Late"},"startsAt":"2020-01-02T00:00:00Z","endsAt":"2020-01-01T00:00:00Z"},
            {"labels":{"alertname":"When"},"startsAt":"yesterday"},
            null,
            {"labels":{"alertname":"Good2"},"annotations":{"bad name":"v"}},
            {"labels":{"alertname":"Good3"},"annotations":{"ok":"v"}}]"#,
    );
    assert_eq!(response.status, 400);
    let text: String = serde_json::from_slice(&response.bytes).unwrap();
    assert_eq!(
        text,
        "alert 1: at least one label pair required; \
         alert 2 {alertname=\"Bad\", bad label=\"x\"}: invalid label set: invalid name \"bad label\"; \
         alert 3 {alertname=\"Late\"}: start time must be before end time; \
         alert 4 {alertname=\"When\"}: startsAt: `yesterday` is not an RFC 3339 time: premature end of input; \
         alert 5: at least one label pair required; \
         alert 6 {alertname=\"Good2\"}: invalid annotations: invalid name \"bad name\""
    );
    let mut names: Vec<String> = klaxon
        .alerts()
        .snapshot()
        .iter()
        .map(|a| a.labels.value("alertname").to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["Good1", "Good3"]);
}

#[test]
fn no_body_makes_the_api_panic_or_stop() {
    let klaxon = AmServer::with_options(options_with(4096), &["default"]);
    let valid = br#"[{"labels":{"alertname":"Fuzz","a":"1"},"annotations":{"s":"t"},"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","generatorURL":"http://x"}]"#;
    let webhook = br#"{"version":"4","groupKey":"{}","status":"firing","receiver":"r","alerts":[{"status":"firing","labels":{"alertname":"W"},"startsAt":"2020-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}"#;
    let silence = br#"{"matchers":[{"name":"a","value":"1","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"x","comment":"y"}"#;
    // A deterministic xorshift, so a failure reproduces.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let (path, seed): (&str, &[u8]) = match round % 3 {
            0 => ("/api/v2/alerts", valid),
            1 => ("/api/v1/receivers/alertmanager", webhook),
            _ => ("/api/v2/silences", silence),
        };
        let mut body = seed.to_vec();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % body.len();
            match next() % 4 {
                0 => body[at] = (next() % 256) as u8,
                1 => body.truncate(at),
                2 => body.insert(at, b"{}[]\",:0\\"[(next() % 9) as usize]),
                _ => {
                    let from = (next() as usize) % body.len().max(1);
                    let chunk: Vec<u8> = body[from..].iter().take(20).copied().collect();
                    body.splice(at..at, chunk);
                }
            }
            if body.is_empty() {
                body.push(b'[');
            }
        }
        let response = http::request("POST", &format!("{}{path}", klaxon.url()), &[], Some(&body))
            .unwrap_or_else(|e| {
                panic!(
                    "round {round}: no answer to {:?}: {e}",
                    String::from_utf8_lossy(&body)
                )
            });
        assert!(
            [200, 400, 404, 413, 422].contains(&response.status),
            "round {round}: HTTP {} for {:?}: {}",
            response.status,
            String::from_utf8_lossy(&body),
            response.text()
        );
        if response.status != 200 {
            assert!(
                !response.bytes.is_empty(),
                "round {round}: an error says why"
            );
            let _ = response.json();
        }
    }
    assert_eq!(
        http::get(&format!("{}/api/v2/status", klaxon.url())).status,
        200
    );
}

/// A silence body with these matchers, active until 2099.
fn silence_body(matchers: &[serde_json::Value]) -> String {
    serde_json::json!({
        "matchers": matchers,
        "startsAt": "2020-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "ops",
        "comment": "issue 22",
    })
    .to_string()
}

fn regex_matchers(count: usize) -> Vec<serde_json::Value> {
    (0..count)
        .map(|i| serde_json::json!({"name": "instance", "value": format!("h.*|x-{i}"), "isRegex": true}))
        .collect()
}

/// The 400 answer's message (a JSON string, as Alertmanager's handlers).
fn refused(response: &Response) -> String {
    assert_eq!(response.status, 400, "{}", response.text());
    response
        .json()
        .as_str()
        .unwrap_or_else(|| panic!("not a JSON string: {}", response.text()))
        .to_string()
}

/// Regression for issue 22: one silence of 100,000 regex matchers (5 MB,
/// under the body limit) took 800 MB; every limit answers 400 naming
/// itself, and a silence within them still mutes.
#[test]
fn silences_over_a_limit_get_400_naming_the_limit() {
    let klaxon = AmServer::start();
    let url = format!("{}/api/v2/silences", klaxon.url());
    let huge = silence_body(&regex_matchers(100_000));
    assert!(huge.len() > 4 << 20, "{}", huge.len());
    assert_eq!(
        refused(&post(&url, &huge)),
        "silence invalid: too many matchers: 100000 (limit: 100, --silences.max-matchers)"
    );
    let pathological = silence_body(&[serde_json::json!(
        {"name": "a", "value": r"\w{1000}", "isRegex": true}
    )]);
    assert_eq!(
        refused(&post(&url, &pathological)),
        format!(
            "silence invalid: invalid label matcher 0: regular expression \"\\\\w{{1000}}\" is \
             too large: compiled, it would take more than {} bytes",
            klaxon::notify::silence::REGEX_SIZE_LIMIT
        )
    );
    let long_value = silence_body(&[serde_json::json!(
        {"name": "a", "value": "v".repeat(20_000), "isRegex": false}
    )]);
    assert_eq!(
        refused(&post(&url, &long_value)),
        "silence invalid: invalid label matcher 0: name and value are 20001 bytes (limit: 16384 \
         bytes, --silences.max-matcher-bytes)"
    );
    let large: Vec<serde_json::Value> = (0..5)
        .map(|i| serde_json::json!({"name": format!("l{i}"), "value": "v".repeat(15_000), "isRegex": false}))
        .collect();
    let text = refused(&post(&url, &silence_body(&large)));
    assert!(
        text.starts_with("silence exceeded maximum size: ")
            && text.ends_with("(limit: 65536 bytes, --silences.max-silence-size-bytes)"),
        "{text}"
    );
    assert_eq!(klaxon.silences().usage().silences, 0);

    // Within the limits: 100 distinct regexes, and the alert is muted.
    let alert = post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        r#"[{"labels":{"alertname":"Muted","instance":"h1"}}]"#,
    );
    assert_eq!(alert.status, 200);
    let created = post(&url, &silence_body(&regex_matchers(100)));
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json()["silenceID"].as_str().unwrap().to_string();
    let alerts = http::get(&format!("{}/api/v2/alerts", klaxon.url())).json();
    assert_eq!(alerts[0]["status"]["state"], "suppressed", "{alerts}");
    assert_eq!(alerts[0]["status"]["silencedBy"], serde_json::json!([id]));
}

#[test]
fn the_count_and_total_size_of_silences_are_bounded() {
    use klaxon::notify::silence::SilenceLimits;
    let equal = |v: &str| [serde_json::json!({"name": "a", "value": v, "isRegex": false})];
    let counted = AmServer::with_silence_limits(SilenceLimits {
        max_silences: 2,
        ..SilenceLimits::default()
    });
    let url = format!("{}/api/v2/silences", counted.url());
    for v in ["1", "2"] {
        assert_eq!(post(&url, &silence_body(&equal(v))).status, 200);
    }
    assert_eq!(
        refused(&post(&url, &silence_body(&equal("3")))),
        "exceeded maximum number of silences: 2 (limit: 2, --silences.max-silences); expired \
         silences count until 120h after their end"
    );

    let sized = AmServer::with_silence_limits(SilenceLimits {
        max_total_bytes: 1_000,
        ..SilenceLimits::default()
    });
    let url = format!("{}/api/v2/silences", sized.url());
    let mut accepted = 0;
    let text = loop {
        let response = post(&url, &silence_body(&equal(&accepted.to_string())));
        if response.status != 200 {
            break refused(&response);
        }
        accepted += 1;
        assert!(accepted < 10, "1,000 bytes hold fewer than 10 silences");
    };
    assert!(accepted >= 2, "{accepted}");
    assert!(
        text.starts_with("silences exceeded maximum total size: ")
            && text.contains("(limit: 1000 bytes, --silences.max-total-bytes)"),
        "{text}"
    );
    assert!(sized.silences().usage().total_bytes() <= 1_000);
}

/// A silence stored by a klaxon without limits (issue 22's shape, smaller)
/// is left in the store at the next start: logged, not loaded, and loaded
/// again once the limit allows it.
#[test]
fn stored_silences_over_the_limits_are_kept_in_the_store_but_not_loaded() {
    use klaxon::notify::silence::{Silence, SilenceLimits};
    use klaxon::vocab::matcher::{MatchOp, Matcher};
    let mut klaxon = AmServer::start();
    let kept = post(
        &format!("{}/api/v2/silences", klaxon.url()),
        &silence_body(&[serde_json::json!({"name": "a", "value": "1", "isRegex": false})]),
    );
    assert_eq!(kept.status, 200);
    let now = chrono::Utc::now().timestamp_millis();
    let old = Silence {
        id: "0e3b6e0a-0000-4000-8000-000000000022".to_string(),
        matchers: (0..1_000)
            .map(|i| Matcher::new("instance", MatchOp::Re, format!("h.*|x-{i}")))
            .collect(),
        starts_at: now - 60_000,
        ends_at: now + 3_600_000,
        updated_at: now - 60_000,
        created_by: "older klaxon".to_string(),
        comment: "before the limits".to_string(),
    };
    klaxon.with_store_stopped(|store| {
        store
            .commit_records(&[RecordOp::Put {
                table: RecordTable::Silences,
                key: old.id.as_bytes().to_vec(),
                value: serde_json::to_vec(&old).unwrap(),
            }])
            .unwrap();
    });
    let listed = http::get(&format!("{}/api/v2/silences", klaxon.url())).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let not_loaded = klaxon.silences().not_loaded().to_vec();
    assert_eq!(
        not_loaded,
        [format!(
            "silence {:?} (active): silence invalid: too many matchers: 1000 (limit: 100, \
             --silences.max-matchers)",
            old.id
        )]
    );
    assert_eq!(
        http::get(&format!("{}/api/v2/silence/{}", klaxon.url(), old.id)).status,
        404
    );

    // 1,000 matchers also make it larger than the default 64 KiB.
    klaxon.set_silence_limits(SilenceLimits {
        max_matchers: 1_000,
        max_silence_bytes: 1 << 20,
        ..SilenceLimits::default()
    });
    klaxon.restart();
    assert_eq!(klaxon.silences().not_loaded(), [] as [String; 0]);
    let alert = post(
        &format!("{}/api/v2/alerts", klaxon.url()),
        r#"[{"labels":{"alertname":"Old","instance":"h1"}}]"#,
    );
    assert_eq!(alert.status, 200);
    let alerts = http::get(&format!("{}/api/v2/alerts", klaxon.url())).json();
    assert_eq!(
        alerts[0]["status"]["silencedBy"],
        serde_json::json!([old.id])
    );
}

/// The API reads the time from the clock it is given (the notifier's in
/// `klaxon serve`): with a manual clock a silence is pending, active and
/// expired exactly as the clock moves, whatever the wall clock says.
#[test]
fn silence_states_follow_the_apis_clock() {
    const HOUR: i64 = 3_600_000;
    let start = 1_893_456_000_000; // 2030-01-01T00:00:00Z
    let (clock, hand) = klaxon::vocab::time::Clock::manual(start);
    let klaxon = AmServer::with_options(
        AlertmanagerApiOptions {
            clock,
            ..AlertmanagerApiOptions::default()
        },
        &["default"],
    );
    let body = serde_json::json!({
        "matchers": [{"name": "a", "value": "x", "isRegex": false}],
        "startsAt": "2030-01-01T01:00:00Z",
        "endsAt": "2030-01-01T02:00:00Z",
        "createdBy": "ops",
        "comment": "clock",
    })
    .to_string();
    let created = post(&format!("{}/api/v2/silences", klaxon.url()), &body);
    assert_eq!(created.status, 200, "{}", created.text());
    let state = || {
        let listed = http::get(&format!("{}/api/v2/silences", klaxon.url())).json();
        listed[0]["status"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(state(), "pending");
    hand.set(start + HOUR + HOUR / 2);
    assert_eq!(state(), "active");
    hand.advance(HOUR);
    assert_eq!(state(), "expired");
}
