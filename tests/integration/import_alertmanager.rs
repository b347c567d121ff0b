//! `klaxon import alertmanager` against the real Alertmanager 0.25.
//!
//! Every fixture in `tests/fixtures/alertmanager/` is a realistic
//! configuration (nested routes with `continue`, regex and negative
//! matchers, `group_by: ['...']`, inherited settings, inhibit rules, time
//! intervals, receivers of every kind). `amtool check-config` must accept
//! each; then, for many label sets, `amtool config routes test` says which
//! receivers Alertmanager picks, and routing the imported DSL must pick the
//! same receivers in the same order, through the notifier's own routing
//! (`notify::route::RouteTree::receivers_for`). Configurations
//! Alertmanager refuses are refused here too, at their line and column.
//!
//! The amtool comparisons are skipped (with a note) when `amtool` is not on
//! `PATH`; CI installs it with `prometheus-alertmanager`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use klaxon::import::alertmanager_to_dsl;
use klaxon::model::load::load_sources;
use klaxon::model::{Route, RuleSet};
use klaxon::notify::route::RouteTree;
use klaxon::notify::time_window::TimeWindows;
use klaxon::vocab::labels::LabelSet;
use klaxon::vocab::matcher::MatchOp;

/// One alert's labels, as name/value pairs in name order.
type Labels = Vec<(String, String)>;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alertmanager")
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// `amtool` on `PATH`, if installed.
fn amtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("amtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("note: amtool is not installed; skipping the comparison with Alertmanager");
    }
    found
}

/// The DSL of a fixture, which must convert.
fn import(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read fixture");
    match alertmanager_to_dsl(path, &text) {
        Ok(i) => i.dsl,
        Err(f) => panic!("{} does not convert:\n{}", path.display(), f.render()),
    }
}

/// Loads DSL text that must have no errors.
fn load(dsl: &str) -> RuleSet {
    let loaded = load_sources(&[("imported.rules", dsl)]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.level == klaxon::diag::Level::Error)
        .map(|d| d.render(&loaded.sources))
        .collect();
    assert!(errors.is_empty(), "{}\n{dsl}", errors.join("\n"));
    loaded.rules
}

/// Label values worth trying, by label name: every value the matchers of
/// the tree name, the plain alternatives of their regexes, "other", and
/// the fixture's extras (values near regex edges).
fn label_pools(route: &Route, extras: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    let mut pools: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![route];
    while let Some(r) = stack.pop() {
        for m in &r.matchers {
            let pool = pools.entry(m.name.clone()).or_default();
            pool.insert("other".to_string());
            match m.op {
                MatchOp::Eq | MatchOp::Ne => {
                    pool.insert(m.value.clone());
                }
                MatchOp::Re | MatchOp::NotRe => {
                    for alternative in m.value.split('|') {
                        let plain = alternative
                            .chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '));
                        if plain && !alternative.is_empty() {
                            pool.insert(alternative.to_string());
                        }
                    }
                }
            }
        }
        stack.extend(r.routes.iter());
    }
    for (name, values) in extras {
        let pool = pools.entry(name.to_string()).or_default();
        pool.extend(values.iter().map(|v| v.to_string()));
    }
    pools
}

/// `count` distinct label sets drawn from the pools (each label absent a
/// third of the time), deterministic.
fn label_sets(
    pools: &BTreeMap<String, BTreeSet<String>>,
    count: usize,
) -> Vec<Vec<(String, String)>> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for _ in 0..count * 20 {
        if out.len() == count {
            break;
        }
        let mut set = Vec::new();
        for (name, pool) in pools {
            let r = next() as usize;
            if r.is_multiple_of(3) {
                continue;
            }
            if let Some(v) = pool.iter().nth((r / 3) % pool.len()) {
                set.push((name.clone(), v.clone()));
            }
        }
        if set.is_empty() {
            set.push(("alertname".to_string(), "Test".to_string()));
        }
        if seen.insert(set.clone()) {
            out.push(set);
        }
    }
    out
}

/// The receivers `amtool config routes test` resolves a label set to.
fn amtool_receivers(amtool: &Path, config: &Path, labels: &[(String, String)]) -> Vec<String> {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let output = Command::new(amtool)
        .args(["config", "routes", "test", "--config.file"])
        .arg(config)
        .args(labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))))
        .output()
        .expect("run amtool");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "amtool failed for {labels:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.trim().split(',').map(str::to_string).collect()
}

/// Values near the edges of each fixture's matchers, beyond those the
/// matchers name themselves.
fn extras(fixture: &str) -> Vec<(&'static str, &'static [&'static str])> {
    let mut out: Vec<(&'static str, &'static [&'static str])> = vec![
        ("severity", &["critical", "warning", "info", "page", "crit"]),
        ("alertname", &["HighLatency", "KafkaLag", "Watchdog"]),
    ];
    out.extend(match fixture {
        "docs_simple.yml" | "legacy_match.yml" => vec![
            ("service", &["foo1", "foo3", "baz", "files", "database"][..]),
            ("test", &["1", "2", "3", "12"][..]),
            ("job", &["api", "web-1", "web", "apis"][..]),
        ],
        "nested_continue.yml" => vec![
            ("instance", &["db-test-1", "db-prod-1"][..]),
            ("tier", &["1", "3", "4", "34"][..]),
            ("pack", &["kafka", "kafka-connect", "zookeeper"][..]),
            ("env", &["prod", "staging", "dev"][..]),
            (
                "alertname",
                &["KafkaLag", "Watchdog", "InfoInhibitor", "DiskFull"][..],
            ),
        ],
        "inherited.yml" => vec![
            (
                "cluster",
                &[
                    "eu-west-1",
                    "eu-central-12",
                    "eu-north-1",
                    "eu-south-1",
                    "eu-west-x",
                ][..],
            ),
            ("region", &["eu", "us", "ap", "sa", "af"][..]),
        ],
        "quoting.yml" => vec![
            ("path", &["C:\\temp\\x", "C:\\temp\\", "C:temp"][..]),
            ("job", &["kafka", "kafka-connect", "xkafka"][..]),
            ("weather", &["☔", "☀"][..]),
            ("note", &["say \"hi\"", "say hi"][..]),
        ],
        "time_intervals.yml" => vec![("job", &["batch-nightly", "batch-", "online"][..])],
        "kube_prometheus.yml" => vec![
            ("namespace", &["monitoring", "default", "kube-system"][..]),
            ("alertname", &["TargetDown", "KubePodCrashLooping"][..]),
        ],
        _ => Vec::new(),
    });
    out
}

#[test]
fn alertmanager_accepts_every_fixture() {
    let Some(amtool) = amtool() else { return };
    for f in fixtures() {
        let out = Command::new(&amtool)
            .arg("check-config")
            .arg(&f)
            .output()
            .expect("run amtool");
        assert!(
            out.status.success(),
            "amtool check-config {}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn imported_routes_pick_the_receivers_alertmanager_picks() {
    let Some(amtool) = amtool() else { return };
    const PER_FIXTURE: usize = 150;
    let mut compared = 0;
    let mut several = 0;
    let mut disagreements = Vec::new();
    for f in fixtures() {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let rules = load(&import(&f));
        let route = rules.route.expect("a route");
        let tree = RouteTree::new(&route);
        let sets = label_sets(&label_pools(&route, &extras(&name)), PER_FIXTURE);
        assert!(sets.len() >= 100, "{name}: only {} label sets", sets.len());
        let workers = 4;
        let chunk = sets.len().div_ceil(workers);
        let results: Vec<(Labels, Vec<String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = sets
                .chunks(chunk)
                .map(|part| {
                    let amtool = &amtool;
                    let f = &f;
                    s.spawn(move || {
                        part.iter()
                            .map(|labels| (labels.clone(), amtool_receivers(amtool, f, labels)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("amtool worker"))
                .collect()
        });
        let mut outcomes = BTreeSet::new();
        for (labels, expected) in results {
            let set = LabelSet::from_pairs(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let got = tree.receivers_for(&set);
            compared += 1;
            if expected.len() > 1 {
                several += 1;
            }
            outcomes.insert(expected.clone());
            if got != expected {
                disagreements.push(format!(
                    "{name} {labels:?}: Alertmanager {expected:?}, klaxon {got:?}"
                ));
            }
        }
        // The label sets reach most of the tree, not just its root.
        assert!(
            outcomes.len() >= 3,
            "{name}: only {} distinct routing outcomes: {outcomes:?}",
            outcomes.len()
        );
    }
    eprintln!("compared {compared} label sets with amtool, {several} routed to several receivers");
    assert!(
        disagreements.is_empty(),
        "{} of {compared} label sets routed differently:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(compared >= 1000, "only {compared} label sets compared");
    assert!(
        several >= 100,
        "only {several} label sets reached several receivers"
    );
}

#[test]
fn the_output_is_canonical_and_loads_without_errors() {
    for f in fixtures() {
        let dsl = import(&f);
        let formatted = klaxon::lang::fmt::format_source(0, &dsl)
            .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        assert_eq!(
            formatted,
            dsl,
            "{} is not in `klaxon fmt` layout",
            f.display()
        );
        load(&dsl);
        assert!(
            dsl.starts_with(&format!(
                "# imported from {} by `klaxon import alertmanager`\n",
                f.display()
            )),
            "{dsl}"
        );
    }
}

#[test]
fn routes_keep_their_shape_and_matchers_their_meaning() {
    let dsl = import(&fixture("quoting.yml"));
    for expected in [
        r#"match msg = "a, b""#,
        r#"match service = "api", env =~ "prod|staging""#,
        r#"match note = "say \"hi\"""#,
        r#"match path =~ "C:\\\\temp\\\\.*""#,
        r#"match city = "Zürich", weather != "☔""#,
        r#"match team = "a b", tier = "1""#,
        r#"match team = "infra", env != "dev""#,
        r#"match owner = "", severity =~ "crit.*""#,
        r#"match zone = "z1", rack != "r9""#,
    ] {
        assert!(dsl.contains(expected), "missing `{expected}` in\n{dsl}");
    }
    let dsl = import(&fixture("nested_continue.yml"));
    let rules = load(&dsl);
    let root = rules.route.expect("route");
    assert_eq!(root.group_by, ["alertname", "cluster"]);
    let audit = &root.routes[0];
    assert!(audit.group_by_all && audit.continue_);
    // Inherited from the root, as in Alertmanager.
    let streaming_tickets = &root.routes[1].routes[1];
    assert_eq!(streaming_tickets.receiver, "streaming-tickets");
    assert_eq!(streaming_tickets.group_by, ["alertname", "cluster"]);
    assert_eq!(streaming_tickets.repeat_interval.0, 4 * 3600 * 1000);
    assert_eq!(root.routes[1].routes[0].repeat_interval.0, 3600 * 1000);
    let legacy = import(&fixture("legacy_match.yml"));
    assert!(
        legacy.contains(r#"match service =~ "^(foo1|foo2|baz)$""#),
        "{legacy}"
    );
    assert!(legacy.contains(r#"match test = "2""#), "{legacy}");
    assert!(
        legacy.contains(r#"match tier = "1", env = "prod", job =~ "api|web-.*""#),
        "{legacy}"
    );
    assert!(
        legacy.contains(
            "inhibit {\n  source alertname =~ \"NodeDown|ClusterDown\"\n  target severity =~ \"warning|info\", team = \"infra\"\n  equal cluster\n}"
        ),
        "{legacy}"
    );
}

#[test]
fn receivers_convert_field_by_field() {
    let path = fixture("receivers.yml");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let imported = alertmanager_to_dsl(&path, &text).unwrap_or_else(|f| panic!("{}", f.render()));
    let dsl = &imported.dsl;
    for expected in [
        // Global slack_api_url_file for a config without api_url.
        "receiver ops {\n  slack {\n    webhook_url file(\"/etc/alertmanager/slack-webhook-url\")\n    channel \"#ops-alerts\"\n  }\n}",
        // chat.postMessage with a bearer credential: the bot-token form.
        "  slack {\n    token file(\"/etc/alertmanager/slack-bot-token\")\n    channel \"#platform-alerts\"\n    username \"alertmanager\"\n    icon_emoji \":rotating_light:\"\n  }",
        // Global SMTP settings applied; `to` split into recipients.
        "  email {\n    to \"platform@example.com\", \"sre@example.com\"\n    from \"alertmanager@example.com\"\n    smarthost \"smtp.example.com:587\"\n    tls starttls\n    auth_username \"alertmanager@example.com\"\n    auth_password file(\"/etc/alertmanager/smtp-password\")\n    hello \"alertmanager.example.com\"\n    headers { Reply-To = \"platform@example.com\" }\n  }",
        // Port 465 is implicit TLS; the literal password moves to env();
        // Alertmanager's email default is no resolved notifications.
        "    send_resolved false\n    to \"dba@example.com\"\n    from \"alertmanager@example.com\"\n    smarthost \"mail.example.com:465\"\n    tls tls\n",
        "    auth_password env(\"SMTP_AUTH_PASSWORD_DBA\")\n",
        // A literal bearer credential moves to env(); the secret is not written.
        "  webhook {\n    url \"https://incidents.example.com/api/alerts\"\n    max_alerts 50\n    bearer_token env(\"WEBHOOK_TOKEN_INCIDENTS\")\n  }",
        "    send_resolved false\n    webhook_url env(\"SLACK_WEBHOOK_URL_LEGACY\")\n    channel \"#legacy\"\n",
        "  webhook {\n    send_resolved false\n    url \"http://legacy-bridge.internal:8080/alerts\"\n  }",
        "    smarthost \"localhost:25\"\n    tls none\n",
        "receiver pager {}",
    ] {
        assert!(dsl.contains(expected), "missing\n{expected}\nin\n{dsl}");
    }
    // Nothing is dropped silently: a comment at the place, a warning at the line.
    for comment in [
        "# klaxon import: global.resolve_timeout 2m (",
        "): run `klaxon serve --notify.resolve-timeout 2m`",
        "# klaxon import: not converted: template file `/etc/alertmanager/templates/*.tmpl`",
        "# klaxon import: not converted: `title` of receiver `ops` slack_configs[0]",
        "# klaxon import: not converted: `text` of receiver `ops` slack_configs[0]",
        "# klaxon import: not converted: header `Subject` of receiver `platform` email_configs[0]",
        "# klaxon import: not converted: `html` of receiver `dba` email_configs[0]",
        "# klaxon import: not converted: `http_config.proxy_url` of receiver `legacy` webhook_configs[0]",
        "# klaxon import: not converted: pagerduty_configs of receiver `pager`, 1 entry",
        "# klaxon import: not converted: opsgenie_configs of receiver `pager`, 1 entry",
        "# klaxon import: set SMTP_AUTH_PASSWORD_DBA to the SMTP password written at",
        "# klaxon import: set SLACK_WEBHOOK_URL_LEGACY to the Slack webhook URL written at",
        "# klaxon import: set WEBHOOK_TOKEN_INCIDENTS to the webhook bearer token written at",
    ] {
        assert!(dsl.contains(comment), "missing `{comment}` in\n{dsl}");
    }
    assert!(
        !dsl.contains("s3cr3t-token"),
        "a secret in the output:\n{dsl}"
    );
    assert!(
        !dsl.contains("not converted: global.resolve_timeout"),
        "{dsl}"
    );
    let warnings: Vec<String> = imported
        .warnings
        .iter()
        .map(|w| w.short(&imported.sources))
        .collect();
    let p = path.display();
    assert_eq!(
        warnings,
        [
            format!(
                "{p}:6:3: warning[am/serve-flag]: global.resolve_timeout 2m is a `klaxon serve` flag, not part of the rules: run `klaxon serve --notify.resolve-timeout 2m`"
            ),
            format!(
                "{p}:13:13: warning[am/not-converted]: template file `/etc/alertmanager/templates/*.tmpl` is not converted: klaxon formats messages itself"
            ),
            format!(
                "{p}:29:9: warning[am/not-converted]: `title` of receiver `ops` slack_configs[0] is not converted: klaxon lays out Slack messages itself (title, severity colour, labels, summary, runbook and silence links)"
            ),
            format!(
                "{p}:30:9: warning[am/not-converted]: `text` of receiver `ops` slack_configs[0] is not converted: klaxon lays out Slack messages itself (title, severity colour, labels, summary, runbook and silence links)"
            ),
            format!(
                "{p}:45:11: warning[am/not-converted]: header `Subject` of receiver `platform` email_configs[0] is not converted: a template; klaxon writes its own subject and header values are fixed text"
            ),
            format!(
                "{p}:51:24: warning[am/literal-secret]: the SMTP password is written in the file; the converted rules read it from the environment variable SMTP_AUTH_PASSWORD_DBA"
            ),
            format!(
                "{p}:52:9: warning[am/not-converted]: `html` of receiver `dba` email_configs[0] is not converted: klaxon writes its own text and HTML bodies"
            ),
            format!(
                "{p}:59:26: warning[am/literal-secret]: the webhook bearer token is written in the file; the converted rules read it from the environment variable WEBHOOK_TOKEN_INCIDENTS"
            ),
            format!(
                "{p}:62:18: warning[am/literal-secret]: the Slack webhook URL is written in the file; the converted rules read it from the environment variable SLACK_WEBHOOK_URL_LEGACY"
            ),
            format!(
                "{p}:68:11: warning[am/not-converted]: `http_config.proxy_url` of receiver `legacy` webhook_configs[0] is not converted: klaxon's HTTP client has no such setting"
            ),
            format!(
                "{p}:70:5: warning[am/not-converted]: pagerduty_configs of receiver `pager`, 1 entry is not converted: klaxon has no PagerDuty integration (a webhook to a bridge service can stand in)"
            ),
            format!(
                "{p}:72:5: warning[am/not-converted]: opsgenie_configs of receiver `pager`, 1 entry is not converted: klaxon has no Opsgenie integration (a webhook to a bridge service can stand in)"
            ),
            // `require_tls: false` is `tls none` in both: Alertmanager does
            // not upgrade with STARTTLS then, so no warning (issue 21).
        ]
    );
    assert_eq!(imported.stats.receivers, 7);
    assert_eq!(imported.stats.integrations, 8);
    assert_eq!(imported.stats.routes, 7);
    assert_eq!(imported.stats.not_converted, 8);
    assert_eq!(imported.stats.secrets_to_env, 3);
}

/// `klaxon import alertmanager INPUT -o OUTPUT`.
fn import_command(input: &Path, output: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .args(["import", "alertmanager"])
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .expect("run klaxon")
}

/// `amtool check-config` on a configuration's text: whether Alertmanager
/// accepts it, and what it said; `None` without amtool.
fn amtool_check(text: &str) -> Option<(bool, String)> {
    let amtool = amtool()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("am.yml");
    std::fs::write(&path, text).expect("write");
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("amtool");
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// Alertmanager accepts the configuration (checked when amtool is installed).
fn alertmanager_accepts(text: &str) {
    if let Some((accepted, said)) = amtool_check(text) {
        assert!(accepted, "Alertmanager refuses:\n{text}\n{said}");
    }
}

/// Issue 21: every way Alertmanager authenticates a webhook becomes a
/// setting that takes env()/file(); no secret is written to the output and
/// each literal one names the variable to set.
#[test]
fn webhook_credentials_become_settings_and_never_text() {
    let text = "\
global:
  http_config:
    basic_auth: {username: alertmanager, password: global-pass-1}
route:
  receiver: hooks
receivers:
  - name: hooks
    webhook_configs:
      - url: https://hooks.example.com/basic
        http_config:
          basic_auth: {username: alert, password: basic-pass-2}
      - url: https://hooks.example.com/basic-file
        http_config:
          basic_auth: {username: alert, password_file: /run/secrets/hook-password}
      - url: https://hooks.example.com/bearer
        http_config: {bearer_token: bearer-tok-3}
      - url: https://hooks.example.com/bearer-file
        http_config: {bearer_token_file: /run/secrets/hook-token}
      - url: https://hooks.example.com/credentials-file
        http_config:
          authorization: {credentials_file: /run/secrets/hook-credentials}
      - url: https://hooks.example.com/token
        http_config:
          authorization: {type: Token, credentials: custom-tok-4}
      - url: https://hooks.example.com/query?team=db&api_key=query-key-5
        http_config: {}
      - url: https://alert:userinfo-pass-6@hooks.example.com/userinfo
        http_config: {}
    email_configs:
      - to: ops@example.com
        from: am@example.com
        smarthost: smtp.example.com:587
        headers: {X-Api-Key: mail-key-7, X-Team: db}
  - name: shared
    webhook_configs:
      - url: https://hooks.example.com/shared
";
    alertmanager_accepts(text);
    let imported =
        alertmanager_to_dsl(Path::new("am.yml"), text).unwrap_or_else(|f| panic!("{}", f.render()));
    let dsl = &imported.dsl;
    for secret in [
        "global-pass-1",
        "basic-pass-2",
        "bearer-tok-3",
        "custom-tok-4",
        "query-key-5",
        "userinfo-pass-6",
        "mail-key-7",
    ] {
        assert!(!dsl.contains(secret), "`{secret}` written to\n{dsl}");
    }
    for expected in [
        "    url \"https://hooks.example.com/basic\"\n    basic_auth_user \"alert\"\n    basic_auth_password env(\"WEBHOOK_PASSWORD_HOOKS_1\")\n",
        "    url \"https://hooks.example.com/basic-file\"\n    basic_auth_user \"alert\"\n    basic_auth_password file(\"/run/secrets/hook-password\")\n",
        "    url \"https://hooks.example.com/bearer\"\n    bearer_token env(\"WEBHOOK_TOKEN_HOOKS_3\")\n",
        "    url \"https://hooks.example.com/bearer-file\"\n    bearer_token file(\"/run/secrets/hook-token\")\n",
        "    url \"https://hooks.example.com/credentials-file\"\n    bearer_token file(\"/run/secrets/hook-credentials\")\n",
        "    url \"https://hooks.example.com/token\"\n    headers { Authorization = env(\"WEBHOOK_AUTHORIZATION_HOOKS_6\") }\n",
        "  webhook {\n    url env(\"WEBHOOK_URL_HOOKS_7\")\n  }",
        "  webhook {\n    url env(\"WEBHOOK_URL_HOOKS_8\")\n  }",
        "    headers { X-Api-Key = env(\"SMTP_HEADER_X_API_KEY_HOOKS\"), X-Team = \"db\" }\n",
        // The global http_config: one variable for every webhook using it.
        "    url \"https://hooks.example.com/shared\"\n    basic_auth_user \"alertmanager\"\n    basic_auth_password env(\"WEBHOOK_PASSWORD\")\n",
        "# klaxon import: set WEBHOOK_AUTHORIZATION_HOOKS_6 to `Token ` followed by the credential written at am.yml:24",
        "# klaxon import: set WEBHOOK_URL_HOOKS_8 to the webhook URL, credentials included, written at am.yml:27",
    ] {
        assert!(dsl.contains(expected), "missing\n{expected}\nin\n{dsl}");
    }
    let warnings: Vec<String> = imported
        .warnings
        .iter()
        .map(|w| w.short(&imported.sources))
        .collect();
    assert_eq!(
        warnings,
        [
            "am.yml:3:52: warning[am/literal-secret]: the webhook basic-auth password is written in the file; the converted rules read it from the environment variable WEBHOOK_PASSWORD",
            "am.yml:11:51: warning[am/literal-secret]: the webhook basic-auth password is written in the file; the converted rules read it from the environment variable WEBHOOK_PASSWORD_HOOKS_1",
            "am.yml:16:37: warning[am/literal-secret]: the webhook bearer token is written in the file; the converted rules read it from the environment variable WEBHOOK_TOKEN_HOOKS_3",
            "am.yml:24:53: warning[am/secret-to-env]: klaxon has no setting for the `Token` authorization type; the converted rules send the whole `Authorization` header from the environment variable WEBHOOK_AUTHORIZATION_HOOKS_6",
            "am.yml:25:14: warning[am/literal-secret]: the webhook URL, credentials included, is written in the file; the converted rules read it from the environment variable WEBHOOK_URL_HOOKS_7",
            "am.yml:27:14: warning[am/literal-secret]: the webhook URL, credentials included, is written in the file; the converted rules read it from the environment variable WEBHOOK_URL_HOOKS_8",
            "am.yml:33:30: warning[am/literal-secret]: the mail header `X-Api-Key` is written in the file; the converted rules read it from the environment variable SMTP_HEADER_X_API_KEY_HOOKS",
        ]
    );
    assert_eq!(imported.stats.secrets_to_env, 7);
    assert_eq!(imported.stats.not_converted, 0);
}

/// Issue 21: `resolve_timeout` equal to klaxon's default says nothing;
/// another value names the `klaxon serve` flag that sets it.
#[test]
fn resolve_timeout_is_the_serve_flag_and_silent_at_the_default() {
    for (value, flag) in [
        ("5m", None),
        ("300s", None),
        ("10m", Some("10m")),
        ("90s", Some("1m30s")),
    ] {
        let text = format!(
            "global:\n  resolve_timeout: {value}\nroute: {{receiver: a}}\nreceivers:\n  - name: a\n    webhook_configs: [{{url: 'https://h.example.com/'}}]\n"
        );
        alertmanager_accepts(&text);
        let imported = alertmanager_to_dsl(Path::new("am.yml"), &text)
            .unwrap_or_else(|f| panic!("{}", f.render()));
        let warnings: Vec<String> = imported
            .warnings
            .iter()
            .map(|w| w.short(&imported.sources))
            .collect();
        match flag {
            None => {
                assert!(warnings.is_empty(), "{value}: {warnings:?}");
                assert!(
                    !imported.dsl.contains("resolve_timeout"),
                    "{}",
                    imported.dsl
                );
            }
            Some(flag) => {
                assert_eq!(
                    warnings,
                    [format!(
                        "am.yml:2:3: warning[am/serve-flag]: global.resolve_timeout {value} is a `klaxon serve` flag, not part of the rules: run `klaxon serve --notify.resolve-timeout {flag}`"
                    )]
                );
                assert!(
                    imported.dsl.contains(&format!(
                        "# klaxon import: global.resolve_timeout {value} (am.yml:2): run `klaxon serve --notify.resolve-timeout {flag}`\n"
                    )),
                    "{}",
                    imported.dsl
                );
                assert_eq!(imported.stats.not_converted, 0);
            }
        }
    }
}

/// Issue 21: when no receiver keeps an integration, the command says at the
/// end that the configuration delivers nothing. The conversion still
/// succeeds (exit 0): the output is what can be converted, to be completed.
#[test]
fn a_configuration_left_without_integrations_says_it_delivers_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("alertmanager.yml");
    let out = dir.path().join("notify.rules");
    let text = "\
route:
  receiver: telegram
  routes:
    - matchers: ['severity=~\"critical|emergency\"']
      receiver: pager
      continue: true
receivers:
  - name: telegram
    telegram_configs:
      - {bot_token: x, chat_id: 1}
  - name: pager
    pagerduty_configs:
      - routing_key: y
";
    std::fs::write(&input, text).expect("write");
    alertmanager_accepts(text);
    let run = import_command(&input, &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let last_warning = stderr
        .rfind("warning[")
        .map(|i| &stderr[i..])
        .unwrap_or_default();
    assert!(
        last_warning.starts_with(
            "warning[am/delivers-nothing]: no receiver is left with an integration klaxon can send with: as converted, this configuration delivers no notification at all\n"
        ),
        "{stderr}"
    );
    assert!(
        last_warning.contains(&format!("--> {}:7:1", input.display())),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "imported 2 receivers (0 integrations), 2 routes, 0 inhibit rules, 0 time windows; 2 items not converted, 0 secrets moved to env()\n"
        ),
        "{stderr}"
    );
    let dsl = std::fs::read_to_string(&out).expect("output");
    assert!(
        dsl.contains("# klaxon import: no receiver has an integration klaxon can send with: this configuration delivers no notification at all\n"),
        "{dsl}"
    );
}

#[test]
fn time_intervals_become_windows_that_mute_when_alertmanager_would() {
    let dsl = import(&fixture("time_intervals.yml"));
    let rules = load(&dsl);
    let route = rules.route.expect("route");
    let all = ["offhours", "offhours-2", "holidays", "holidays-2"].map(String::from);
    assert_eq!(route.routes[0].mute_during, all);
    assert_eq!(route.routes[1].active_during, all);
    assert_eq!(route.routes[2].mute_during, ["maintenance"]);
    assert!(
        dsl.contains(
            "# Alertmanager's `offhours` has 2 time ranges: time windows offhours, offhours-2"
        ),
        "{dsl}"
    );
    let windows = TimeWindows::compile(&rules.time_windows).unwrap_or_else(|e| panic!("{e:?}"));
    let ms = |t: &str| {
        t.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_else(|e| panic!("{t}: {e}"))
    };
    let muted = |t: &str| windows.any_contains(&route.routes[0].mute_during, ms(t));
    for (at, expected) in [
        ("2026-06-15T10:00:00+02:00", false), // Monday morning in Berlin
        ("2026-06-15T08:59:59+02:00", true),
        ("2026-06-15T17:00:00+02:00", true),
        ("2026-06-13T12:00:00+02:00", true), // Saturday
        ("2026-12-24T12:00:00Z", true),      // a holiday, a Thursday
        ("2026-12-27T12:00:00Z", true),      // Sunday
        ("2026-12-28T12:00:00+01:00", false),
        ("2027-01-01T12:00:00Z", true),
        ("2026-12-31T23:30:00Z", true),
    ] {
        assert_eq!(muted(at), expected, "offhours/holidays at {at}");
    }
    let maintenance = |t: &str| windows.contains("maintenance", ms(t));
    assert!(maintenance("2026-06-28T03:00:00Z")); // last Sunday of June 2026
    assert!(!maintenance("2026-06-21T03:00:00Z"));
    assert!(!maintenance("2028-06-25T03:00:00Z"));
}

/// Converts a configuration that must be refused; returns the errors as
/// `path:line:col: error[code]: message`.
fn refused(text: &str) -> Vec<String> {
    match alertmanager_to_dsl(Path::new("am.yml"), text) {
        Ok(i) => panic!("converted:\n{}", i.dsl),
        Err(f) => f
            .diagnostics
            .iter()
            .filter(|d| d.level == klaxon::diag::Level::Error)
            .map(|d| d.short(&f.sources))
            .collect(),
    }
}

#[test]
fn configurations_alertmanager_refuses_are_refused_at_their_line() {
    let hook = "route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: https://h.example.com/\n        http_config: ";
    let auth = [
        format!("{hook}{{basic_auth: {{username: u}}, authorization: {{credentials: x}}}}\n"),
        format!("{hook}{{bearer_token: x, bearer_token_file: /f}}\n"),
        format!("{hook}{{authorization: {{type: Basic, credentials: y}}}}\n"),
        format!("{hook}{{basic_auth: {{username: u}}, bearer_token_file: /f}}\n"),
    ];
    let cases: [(&str, &[&str]); 14] = [
        // One way to authenticate, as Alertmanager's http_config checks it.
        (
            &auth[0],
            &[
                "am.yml:6:50: error[am/invalid-value]: at most one of basic_auth, oauth2 & authorization must be configured",
            ],
        ),
        (
            &auth[1],
            &[
                "am.yml:6:37: error[am/invalid-value]: at most one of bearer_token & bearer_token_file must be configured",
            ],
        ),
        (
            &auth[2],
            &[
                "am.yml:6:45: error[am/invalid-value]: authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ],
        ),
        (
            &auth[3],
            &[
                "am.yml:6:23: error[am/invalid-value]: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ],
        ),
        (
            "route:\n  receiver: a\n  group_wiat: 30s\nreceivers: [{name: a}]\n",
            &["am.yml:3:3: error[am/unknown-field]: unknown field `group_wiat` in the root route"],
        ),
        (
            "route:\n  receiver: a\n  routes:\n    - receiver: b\nreceivers: [{name: a}]\n",
            &["am.yml:4:17: error[am/unknown-receiver]: undefined receiver `b` used in route"],
        ),
        (
            "route:\n  receiver: a\n  routes:\n    - matchers: ['team=\"a\"b\"']\nreceivers: [{name: a}]\n",
            &[
                "am.yml:4:18: error[am/invalid-matcher]: matcher value contains unescaped double quote: \"a\"b\"",
            ],
        ),
        (
            "route:\n  receiver: a\n  routes:\n    - matchers: ['team=~\"(a\"']\nreceivers: [{name: a}]\n",
            &[
                "am.yml:4:18: error[am/invalid-regex]: invalid regular expression `(a`: error: unclosed group",
            ],
        ),
        (
            "route:\n  receiver: a\n  routes:\n    - receiver: a\n      mute_time_intervals: [nights]\nreceivers: [{name: a}]\ntime_intervals:\n  - name: night\n    time_intervals:\n      - times: [{start_time: '22:00', end_time: '06:00'}]\n",
            &[
                "am.yml:5:29: error[am/unknown-time-interval]: undefined time interval `nights` used in route",
                "am.yml:10:30: error[am/invalid-value]: start time cannot be equal to or after the end time",
            ],
        ),
        (
            "route:\n  receiver: a\nreceivers: [{name: a}]\ntime_intervals:\n  - name: w\n    time_intervals:\n      - weekdays: ['friday:monday']\n        location: Mars/Olympus\n",
            &[
                "am.yml:7:20: error[am/invalid-value]: `friday:monday`: the start day is after the end day (a week runs sunday to saturday)",
                "am.yml:8:19: error[am/invalid-value]: unknown time zone `Mars/Olympus`",
            ],
        ),
        (
            // Alertmanager reads zone names case-sensitively and takes no
            // blank in a range (the one time-range parser, issue 13).
            "route:\n  receiver: a\nreceivers: [{name: a}]\ntime_intervals:\n  - name: w\n    time_intervals:\n      - weekdays: ['monday : friday']\n        location: europe/berlin\n",
            &[
                "am.yml:7:20: error[am/invalid-value]: `monday : friday`: not a weekday (sunday..saturday) or a range of them",
                "am.yml:8:19: error[am/invalid-value]: unknown time zone `europe/berlin`",
            ],
        ),
        (
            "route:\n  receiver: a\n  matchers: [x=\"1\"]\n  continue: true\nreceivers: [{name: a}]\n",
            &[
                "am.yml:3:3: error[am/root-route]: the root route must not have matchers",
                "am.yml:4:3: error[am/root-route]: the root route cannot `continue`",
            ],
        ),
        (
            "receivers: [{name: a}]\n",
            &[
                "am.yml:1:1: error[am/missing-field]: the configuration has no `route`: Alertmanager refuses it",
            ],
        ),
        (
            "route:\n  receiver: a\n  group_interval: 0s\nreceivers:\n  - name: a\n    email_configs: [{to: x@example.com}]\n",
            &[
                "am.yml:3:19: error[am/invalid-value]: `group_interval` cannot be zero",
                "am.yml:6:22: error[am/missing-field]: receiver `a` email_configs[0] has no `from` or `smarthost`, and `global` has no smtp_from / smtp_smarthost: Alertmanager refuses it",
            ],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(refused(text), expected, "for\n{text}");
        if let Some((accepted, _)) = amtool_check(text) {
            assert!(
                !accepted,
                "Alertmanager accepts what klaxon refuses:\n{text}"
            );
        }
    }
    // A misspelt field gets a suggestion.
    let path = Path::new("am.yml");
    let failure = alertmanager_to_dsl(path, "route:\n  reciever: a\n").expect_err("refused");
    let rendered = failure.render();
    assert!(rendered.contains("did you mean `receiver`?"), "{rendered}");
}

#[test]
fn the_command_writes_the_rules_and_reports_warnings_with_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("notify.rules");
    let input = fixture("receivers.yml");
    let run = import_command(&input, &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(run.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&out).expect("output"),
        import(&input)
    );
    assert!(
        stderr.contains(&format!("--> {}:70:5", input.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("imported 7 receivers (8 integrations), 7 routes, 0 inhibit rules, 0 time windows; 8 items not converted, 3 secrets moved to env()"),
        "{stderr}"
    );

    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "route:\n  receiver: nobody\n").expect("write");
    let run = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .args(["import", "alertmanager"])
        .arg(&bad)
        .output()
        .expect("run klaxon");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(run.stdout.is_empty());
    assert!(
        stderr.contains(&format!("--> {}:2:13", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("1 error — not converted"), "{stderr}");
}
