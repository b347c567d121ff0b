//! klaxon's HTTP API against the real thing: Prometheus 2.42 (the Debian
//! package, `/usr/bin/prometheus`) evaluates a rule file with a firing, a
//! pending and an inactive alert and two recording rules; a fake backend
//! hands klaxon's API the equivalent snapshot. Both answers must have the
//! same shape and, with times and evaluation durations masked, the same bytes.
//! The lifecycle endpoints are checked on klaxon alone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klaxon::api::{self, Backend, BoxFuture};
use klaxon::eval::alert::{Alert, AlertState};
use klaxon::eval::status::{GroupStatus, Health, RuleStatus, RuleStatusKind};
use klaxon::vocab::labels::Labels;
use serde_json::Value;

use crate::harness::Prometheus;
use crate::harness::files::write_file;

const RULES: &str = r#"groups:
  - name: example
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels:
          severity: page
        annotations:
          summary: "value is {{ $value }} & <ok>"
      - alert: AlwaysPending
        expr: vector(0.25) > 0
        for: 1h
        keep_firing_for: 5m
      - alert: NeverFires
        expr: vector(0) > 1
      - record: job:test:one
        expr: vector(1)
      - record: job:test:labelled
        expr: vector(2)
        labels:
          team: a
"#;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Prometheus evaluating `rules` (in a file of `dir`), with times in UTC.
fn start_prometheus(dir: &Path, rules: &str) -> (Prometheus, PathBuf) {
    let rules_file = write_file(dir, "rules.yml", rules);
    let prometheus = Prometheus::builder()
        .rule_file(&rules_file)
        .env("TZ", "UTC")
        .start();
    (prometheus, rules_file)
}

/// The backend the serve command would be: a fixed snapshot here.
struct FakeBackend {
    groups: Vec<GroupStatus>,
    ready: AtomicBool,
    reload_answer: Mutex<Result<String, Vec<String>>>,
}

impl FakeBackend {
    fn new(groups: Vec<GroupStatus>) -> Arc<FakeBackend> {
        Arc::new(FakeBackend {
            groups,
            ready: AtomicBool::new(true),
            reload_answer: Mutex::new(Ok("reloaded: 1 group, 5 rules".to_string())),
        })
    }
}

impl Backend for FakeBackend {
    fn for_each_group(&self, f: &mut dyn FnMut(GroupStatus)) {
        for group in &self.groups {
            f(group.clone());
        }
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn reload(&self) -> BoxFuture<'static, Result<String, Vec<String>>> {
        let answer = self
            .reload_answer
            .lock()
            .map(|answer| answer.clone())
            .unwrap_or_else(|_| Err(vec!["poisoned".to_string()]));
        Box::pin(async move { answer })
    }
}

/// What klaxon's evaluator would show for `RULES` after a few rounds.
fn snapshot(file: &str) -> Vec<GroupStatus> {
    let evaluated = Some(1_700_000_003_456);
    let active_at = 1_700_000_000_120;
    let mut firing = Alert::new(
        labels(&[("alertname", "AlwaysFiring"), ("severity", "page")]),
        labels(&[("summary", "value is 1 & <ok>")]),
        1.0,
        active_at,
    );
    firing.state = AlertState::Firing;
    firing.fired_at = Some(active_at);
    let pending = Alert::new(
        labels(&[("alertname", "AlwaysPending")]),
        Labels::new(),
        0.25,
        active_at,
    );
    let mut resolved = Alert::new(
        labels(&[("alertname", "NeverFires")]),
        Labels::new(),
        2.0,
        active_at,
    );
    resolved.state = AlertState::Inactive;
    resolved.resolved_at = Some(active_at + 1000);
    let alerting = |name: &str,
                    query: &str,
                    rule_labels: Labels,
                    duration: f64,
                    keep_firing_for: f64,
                    annotations: Labels,
                    alerts: Vec<Alert>| RuleStatus {
        name: name.to_string(),
        query: query.to_string(),
        labels: rule_labels,
        kind: RuleStatusKind::Alerting {
            duration,
            keep_firing_for,
            annotations,
            alerts: alerts.iter().map(Alert::to_pairs).collect(),
        },
        health: Health::Ok,
        last_error: None,
        evaluation_time: 0.000_970_482,
        last_evaluation: evaluated,
    };
    let recording = |name: &str, query: &str, rule_labels: Labels| RuleStatus {
        name: name.to_string(),
        query: query.to_string(),
        labels: rule_labels,
        kind: RuleStatusKind::Recording,
        health: Health::Ok,
        last_error: None,
        evaluation_time: 0.000_092_51,
        last_evaluation: evaluated,
    };
    vec![GroupStatus {
        name: "example".to_string(),
        file: file.to_string(),
        interval: Duration::from_secs(1),
        limit: 0,
        rules: vec![
            alerting(
                "AlwaysFiring",
                "vector(1) > 0",
                labels(&[("severity", "page")]),
                0.0,
                0.0,
                labels(&[("summary", "value is {{ $value }} & <ok>")]),
                vec![firing],
            ),
            alerting(
                "AlwaysPending",
                "vector(0.25) > 0",
                Labels::new(),
                3600.0,
                300.0,
                Labels::new(),
                vec![pending],
            ),
            // A resolved alert kept for retention is not listed, as in Prometheus.
            alerting(
                "NeverFires",
                "vector(0) > 1",
                Labels::new(),
                0.0,
                0.0,
                Labels::new(),
                vec![resolved],
            ),
            recording("job:test:one", "vector(1)", Labels::new()),
            recording("job:test:labelled", "vector(2)", labels(&[("team", "a")])),
        ],
        evaluation_time: 0.001_596_625,
        last_evaluation: evaluated,
    }]
}

/// klaxon's API on a free loopback port, stopped when dropped.
struct KlaxonApi {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl KlaxonApi {
    async fn start(
        backend: Arc<dyn Backend>,
        registry: prometheus_client::registry::Registry,
    ) -> KlaxonApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = api::router(backend, Arc::new(registry));
        let task = tokio::spawn(api::serve(
            listener,
            router,
            api::ConnectionLimits::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        KlaxonApi {
            base,
            stop: Some(stop),
            task,
        }
    }

    async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let finished = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
        assert!(
            matches!(finished, Ok(Ok(Ok(())))),
            "the API did not stop cleanly: {finished:?}"
        );
    }
}

impl Drop for KlaxonApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn client() -> reqwest::Client {
    crate::harness::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

struct Answer {
    status: u16,
    content_type: String,
    allow: String,
    body: String,
}

async fn request(client: &reqwest::Client, method: reqwest::Method, url: &str) -> Answer {
    let response = client
        .request(method, url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let allow = header(reqwest::header::ALLOW);
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    Answer {
        status,
        content_type,
        allow,
        body,
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Answer {
    request(client, reqwest::Method::GET, url).await
}

/// Waits until Prometheus has evaluated every rule and holds the firing
/// and the pending alert.
async fn wait_for_alerts(client: &reqwest::Client, prometheus: &Prometheus) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client
            .get(format!("{}/api/v1/rules", prometheus.url()))
            .send()
            .await
            && let Ok(body) = response.json::<Value>().await
        {
            let rules = body["data"]["groups"][0]["rules"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let evaluated = rules.len() == 5
                && rules
                    .iter()
                    .all(|rule| rule["lastEvaluation"] != "0001-01-01T00:00:00Z");
            let states: Vec<&str> = rules.iter().filter_map(|r| r["state"].as_str()).collect();
            if evaluated && states == ["firing", "pending", "inactive"] {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not evaluate the rules within 60s; its log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The JSON type name of a value, for shape messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every difference in shape between two documents: key sets, value
/// types, array lengths, recursively; each with its JSON path.
fn shape_differences(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys_a: Vec<&String> = a.keys().collect();
            let keys_b: Vec<&String> = b.keys().collect();
            if keys_a != keys_b {
                out.push(format!("{path}: keys {keys_a:?} vs Prometheus {keys_b:?}"));
            }
            for (key, value) in a {
                if let Some(other) = b.get(key) {
                    shape_differences(&format!("{path}.{key}"), value, other, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{path}: {} items vs Prometheus {}",
                    a.len(),
                    b.len()
                ));
            }
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                shape_differences(&format!("{path}[{index}]"), x, y, out);
            }
        }
        _ if kind(ours) != kind(theirs) => out.push(format!(
            "{path}: {} vs Prometheus {}",
            kind(ours),
            kind(theirs)
        )),
        _ => {}
    }
}

fn assert_same_shape(what: &str, ours: &str, theirs: &str) {
    let ours_value: Value = serde_json::from_str(ours)
        .unwrap_or_else(|e| panic!("{what}: klaxon sent invalid JSON ({e}): {ours}"));
    let theirs_value: Value = serde_json::from_str(theirs).expect("Prometheus JSON");
    let mut differences = Vec::new();
    shape_differences("$", &ours_value, &theirs_value, &mut differences);
    assert!(
        differences.is_empty(),
        "{what}: shapes differ:\n{}\nklaxon:     {ours}\nPrometheus: {theirs}",
        differences.join("\n")
    );
}

/// Masks what legitimately differs between the two servers: times and
/// evaluation durations. Times are checked to be in Go's format first.
fn mask(body: &str) -> String {
    let time =
        regex::Regex::new(r#""(activeAt|lastEvaluation|keepFiringSince)":"[^"]*""#).expect("regex");
    let go_time =
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$").expect("regex");
    for found in time.find_iter(body) {
        let text = found.as_str();
        let value = &text[text.find(":\"").map_or(0, |i| i + 2)..text.len() - 1];
        assert!(
            go_time.is_match(value),
            "not a Go RFC 3339 time: {value} in {body}"
        );
    }
    let masked = time.replace_all(body, "\"$1\":\"TIME\"");
    let duration = regex::Regex::new(r#""evaluationTime":[-+.e0-9]+"#).expect("regex");
    duration
        .replace_all(&masked, "\"evaluationTime\":0")
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_alerts_match_prometheus_2_42() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (prometheus, rules_file) = start_prometheus(dir.path(), RULES);
    let client = client();
    wait_for_alerts(&client, &prometheus).await;

    let file = rules_file.display().to_string();
    let klaxon = KlaxonApi::start(FakeBackend::new(snapshot(&file)), Default::default()).await;

    for path in [
        "/api/v1/rules",
        "/api/v1/rules?type=alert",
        "/api/v1/rules?type=RECORD",
        "/api/v1/alerts",
        "/api/v1/rules?type=Foo",
        "/api/v1/rules?type=a%22b",
    ] {
        let theirs = get(&client, &format!("{}{path}", prometheus.url())).await;
        let ours = get(&client, &format!("{}{path}", klaxon.base)).await;
        assert_eq!(ours.status, theirs.status, "{path}: status");
        assert_eq!(
            ours.content_type, theirs.content_type,
            "{path}: content type"
        );
        assert_same_shape(path, &ours.body, &theirs.body);
        assert_eq!(
            mask(&ours.body),
            mask(&theirs.body),
            "{path}: bytes (times masked)"
        );
    }

    // Build info: the same fields (Grafana probes it to tell Prometheus apart).
    let theirs = get(
        &client,
        &format!("{}/api/v1/status/buildinfo", prometheus.url()),
    )
    .await;
    let ours = get(&client, &format!("{}/api/v1/status/buildinfo", klaxon.base)).await;
    assert_eq!(ours.status, 200);
    assert_same_shape("buildinfo", &ours.body, &theirs.body);
    let version: Value = serde_json::from_str(&ours.body).expect("json");
    assert_eq!(version["data"]["version"], env!("CARGO_PKG_VERSION"));

    klaxon.shut_down().await;
}

/// The exact text of our answers where no Prometheus is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_rules_json_for_a_snapshot() {
    let mut groups = snapshot("/etc/klaxon/rules.yml");
    // A rule that failed, and a group never evaluated yet.
    if let Some(rule) = groups.first_mut().and_then(|g| g.rules.get_mut(3)) {
        rule.health = Health::Err;
        rule.last_error = Some("query timed out in expression evaluation".to_string());
    }
    let mut keeping = Alert::new(
        labels(&[("alertname", "K")]),
        Labels::new(),
        f64::NAN,
        1_700_000_000_000,
    );
    keeping.state = AlertState::Firing;
    keeping.keep_firing_since = Some(1_700_000_060_000);
    groups.push(GroupStatus {
        name: "fresh".to_string(),
        file: "/etc/klaxon/other.klx".to_string(),
        interval: Duration::from_millis(90_500),
        limit: 10,
        rules: vec![RuleStatus {
            name: "K".to_string(),
            query: "up == 0".to_string(),
            labels: Labels::new(),
            kind: RuleStatusKind::Alerting {
                duration: 120.0,
                keep_firing_for: 600.0,
                annotations: Labels::new(),
                alerts: vec![keeping.to_pairs()],
            },
            health: Health::Unknown,
            last_error: None,
            evaluation_time: 0.0,
            last_evaluation: None,
        }],
        evaluation_time: 0.0,
        last_evaluation: None,
    });
    let klaxon = KlaxonApi::start(FakeBackend::new(groups), Default::default()).await;
    let client = client();

    let rules = get(
        &client,
        &format!("{}/api/v1/rules?type=record", klaxon.base),
    )
    .await;
    assert_eq!(rules.status, 200);
    assert_eq!(
        rules.body,
        concat!(
            r#"{"status":"success","data":{"groups":["#,
            r#"{"name":"example","file":"/etc/klaxon/rules.yml","rules":["#,
            r#"{"name":"job:test:one","query":"vector(1)","health":"err","lastError":"query timed out in expression evaluation","evaluationTime":0.00009251,"lastEvaluation":"2023-11-14T22:13:23.456Z","type":"recording"},"#,
            r#"{"name":"job:test:labelled","query":"vector(2)","labels":{"team":"a"},"health":"ok","evaluationTime":0.00009251,"lastEvaluation":"2023-11-14T22:13:23.456Z","type":"recording"}"#,
            r#"],"interval":1,"limit":0,"evaluationTime":0.001596625,"lastEvaluation":"2023-11-14T22:13:23.456Z"},"#,
            r#"{"name":"fresh","file":"/etc/klaxon/other.klx","rules":[],"interval":90.5,"limit":10,"evaluationTime":0,"lastEvaluation":"0001-01-01T00:00:00Z"}"#,
            r#"]}}"#
        )
    );

    let alerts = get(&client, &format!("{}/api/v1/alerts", klaxon.base)).await;
    assert_eq!(
        alerts.body,
        concat!(
            r#"{"status":"success","data":{"alerts":["#,
            r#"{"labels":{"alertname":"AlwaysFiring","severity":"page"},"annotations":{"summary":"value is 1 \u0026 \u003cok\u003e"},"state":"firing","activeAt":"2023-11-14T22:13:20.12Z","value":"1e+00"},"#,
            r#"{"labels":{"alertname":"AlwaysPending"},"annotations":{},"state":"pending","activeAt":"2023-11-14T22:13:20.12Z","value":"2.5e-01"},"#,
            r#"{"labels":{"alertname":"K"},"annotations":{},"state":"firing","activeAt":"2023-11-14T22:13:20Z","keepFiringSince":"2023-11-14T22:14:20Z","value":"NaN"}"#,
            r#"]}}"#
        )
    );

    let fresh = get(&client, &format!("{}/api/v1/rules?type=alert", klaxon.base)).await;
    let fresh: Value = serde_json::from_str(&fresh.body).expect("json");
    let rule = &fresh["data"]["groups"][1]["rules"][0];
    assert_eq!(rule["health"], "unknown");
    assert_eq!(rule["lastEvaluation"], "0001-01-01T00:00:00Z");
    assert_eq!(rule["duration"], 120);
    assert_eq!(rule["keepFiringFor"], 600);
    assert!(
        rule.get("lastError").is_none(),
        "lastError is omitted when empty: {rule}"
    );

    klaxon.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_endpoints() {
    let backend = FakeBackend::new(snapshot("rules.yml"));
    backend.ready.store(false, Ordering::SeqCst);
    let mut registry = prometheus_client::registry::Registry::default();
    let rounds = prometheus_client::metrics::counter::Counter::<u64>::default();
    rounds.inc_by(3);
    registry.register("klaxon_test_rounds", "Rounds run by the test", rounds);
    let klaxon = KlaxonApi::start(backend.clone(), registry).await;
    let client = client();
    let url = |path: &str| format!("{}{path}", klaxon.base);

    let healthy = get(&client, &url("/-/healthy")).await;
    assert_eq!(
        (healthy.status, healthy.body.as_str()),
        (200, "klaxon is Healthy.\n")
    );

    // Not ready: readiness and the data endpoints say so.
    let ready = get(&client, &url("/-/ready")).await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (503, "klaxon is not ready.\n")
    );
    let rules = get(&client, &url("/api/v1/rules")).await;
    assert_eq!(rules.status, 503);
    assert_eq!(
        rules.body,
        r#"{"status":"error","errorType":"unavailable","error":"klaxon is not ready: alert state is still being restored"}"#
    );
    assert_eq!(get(&client, &url("/api/v1/alerts")).await.status, 503);

    backend.ready.store(true, Ordering::SeqCst);
    let ready = get(&client, &url("/-/ready")).await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, "klaxon is Ready.\n")
    );
    assert_eq!(get(&client, &url("/api/v1/alerts")).await.status, 200);

    // Metrics: the shared registry in OpenMetrics text.
    let metrics = get(&client, &url("/metrics")).await;
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.content_type, api::METRICS_CONTENT_TYPE);
    assert!(
        metrics.body.contains("klaxon_test_rounds_total 3\n") && metrics.body.ends_with("# EOF\n"),
        "{}",
        metrics.body
    );

    // Reload: POST and PUT; GET is refused.
    for method in [reqwest::Method::POST, reqwest::Method::PUT] {
        let done = request(&client, method, &url("/-/reload")).await;
        assert_eq!(done.status, 200);
        assert_eq!(
            done.body,
            r#"{"status":"success","data":{"summary":"reloaded: 1 group, 5 rules"}}"#
        );
    }
    let wrong = get(&client, &url("/-/reload")).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.content_type, "application/json");
    assert_eq!(
        wrong.body,
        r#"{"status":"error","errorType":"bad_data","error":"method GET not allowed for /-/reload: only POST or PUT requests are allowed"}"#
    );
    assert!(
        wrong.allow.contains("POST") && wrong.allow.contains("PUT"),
        "Allow: {}",
        wrong.allow
    );

    // An invalid configuration: every diagnostic reaches the user.
    let diagnostics = vec![
        "error[dsl/unknown-field]: unknown field `thresold`\n --> a.klx:3:5\n  |\n3 |     thresold 5\n  |     ^^^^^^^^ did you mean `threshold`?\n".to_string(),
        "error[prom/bad-duration]: invalid duration \"5x\"\n --> b.yml:7:14\n".to_string(),
    ];
    if let Ok(mut answer) = backend.reload_answer.lock() {
        *answer = Err(diagnostics.clone());
    }
    let failed = request(&client, reqwest::Method::POST, &url("/-/reload")).await;
    assert_eq!(failed.status, 400);
    let body: Value = serde_json::from_str(&failed.body).expect("json");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert_eq!(body["data"]["errors"], serde_json::json!(diagnostics));
    assert_eq!(
        body["error"],
        format!(
            "reload failed with 2 errors; the previous configuration keeps running\n\n{}\n\n{}",
            diagnostics[0].trim_end(),
            diagnostics[1].trim_end()
        )
    );

    // Unknown paths, wrong methods and bad parameters answer in JSON.
    let missing = get(&client, &url("/api/v1/nope")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        r#"{"status":"error","errorType":"not_found","error":"no endpoint GET /api/v1/nope"}"#
    );
    let post_rules = request(&client, reqwest::Method::POST, &url("/api/v1/rules")).await;
    assert_eq!(post_rules.status, 405);
    assert_eq!(
        post_rules.body,
        r#"{"status":"error","errorType":"bad_data","error":"method POST not allowed for /api/v1/rules: only GET requests are allowed"}"#
    );
    let bad = get(&client, &url("/api/v1/rules?type=alerts")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body,
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"type\": not supported value \"alerts\""}"#
    );

    klaxon.shut_down().await;
}
