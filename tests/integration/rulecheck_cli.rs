//! End-to-end tests of the `rulecheck` binary: formats, exit codes, disable
//! comments and the `fmt` subcommand, on the files in tests/fixtures/lint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rulecheck");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(name)
}

/// `rulecheck` with none of its environment fallbacks set, run in `dir`.
fn rulecheck_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    for var in [
        "RULECHECK_FORMAT",
        "RULECHECK_FAIL_ON",
        "RULECHECK_DISABLE",
        "RULECHECK_SCRAPE_INTERVAL",
    ] {
        cmd.env_remove(var);
    }
    match cmd.args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {BIN}: {e}"),
    }
}

/// `rulecheck` run from the fixture directory, so paths in output are short.
fn rulecheck(args: &[&str]) -> Output {
    rulecheck_in(&fixture(""), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn json(out: &Output) -> Vec<serde_json::Value> {
    match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!("stdout is not a JSON array ({e}):\n{}", stdout(out)),
    }
}

/// `file:line:col code` of each JSON finding.
fn findings(out: &Output) -> Vec<String> {
    json(out)
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{} {}",
                d["file"].as_str().unwrap_or("?"),
                d["line"],
                d["column"],
                d["code"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn corpus() -> PathBuf {
    crate::harness::files::corpus_root()
}

// --- formats ---------------------------------------------------------------

#[test]
fn json_lists_lints_with_positions() {
    let out = rulecheck(&["--format", "json", "bad.yml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        findings(&out),
        [
            "bad.yml:3:15 group/interval-too-long",
            "bad.yml:6:15 promql/no-comparison",
            "bad.yml:12:20 promql/rate-non-counter",
        ]
    );
    let first = &json(&out)[0];
    assert_eq!(first["level"], "warning");
    assert_eq!(first["end_line"], 3);
    assert_eq!(first["end_column"], 18);
    assert!(first["hint"].as_str().is_some_and(|h| h.contains("5m")));
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.contains("every 10m"))
    );
}

#[test]
fn text_shows_the_source_line_a_caret_and_a_summary() {
    let out = rulecheck(&["bad.yml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("warning[promql/rate-non-counter]: `rate()` of `node_load1`"),
        "{text}"
    );
    assert!(text.contains("--> bad.yml:12:20"), "{text}");
    assert!(
        text.contains("12 |         expr: rate(node_load1[5m]) > 0.5\n"),
        "{text}"
    );
    assert!(
        text.contains("   |                    ^^^^^^^^^^ not named like a counter\n"),
        "{text}"
    );
    assert!(
        text.ends_with("0 errors, 3 warnings, 0 infos in 1 file\n"),
        "{text}"
    );
}

#[test]
fn github_prints_workflow_annotations() {
    let out = rulecheck(&["--format", "github", "bad.yml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "::warning file=bad.yml,line=3,col=15,endLine=3,endColumn=18,title=group/interval-too-long::group `api` is evaluated every 10m"
        ),
        "{text}"
    );
    // The hint follows the message on an escaped new line.
    assert!(
        lines[0].contains("%0Ahint: evaluate at most every 5m"),
        "{text}"
    );
}

#[test]
fn checkstyle_is_one_file_element_per_file() {
    let out = rulecheck(&["--format", "checkstyle", "bad.yml", "good.yml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle"));
    assert_eq!(xml.matches("<file name=\"bad.yml\">").count(), 1, "{xml}");
    assert_eq!(xml.matches("<file name=\"good.yml\">").count(), 1, "{xml}");
    assert_eq!(xml.matches("<error ").count(), 3, "{xml}");
    assert!(
        xml.contains(
            "<error line=\"12\" column=\"20\" severity=\"warning\" message=\"`rate()` of `node_load1`"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("source=\"promql/rate-non-counter\"/>"),
        "{xml}"
    );
    assert!(xml.trim_end().ends_with("</checkstyle>"));
}

#[test]
fn format_can_come_from_the_environment() {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("RULECHECK_FAIL_ON")
        .env_remove("RULECHECK_DISABLE")
        .env_remove("RULECHECK_SCRAPE_INTERVAL")
        .env("RULECHECK_FORMAT", "json")
        .current_dir(fixture(""))
        .arg("bad.yml");
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(findings(&out).len(), 3);
}

// --- exit codes ------------------------------------------------------------

#[test]
fn fail_on_sets_the_level_that_fails_the_run() {
    assert_eq!(code(&rulecheck(&["bad.yml"])), 0);
    assert_eq!(code(&rulecheck(&["--fail-on", "error", "bad.yml"])), 0);
    assert_eq!(code(&rulecheck(&["--fail-on", "warning", "bad.yml"])), 1);
    assert_eq!(code(&rulecheck(&["--fail-on", "info", "bad.yml"])), 1);
    let clean = rulecheck(&["--fail-on", "info", "good.yml"]);
    assert_eq!(code(&clean), 0, "{}", stdout(&clean));
    assert!(stdout(&clean).ends_with("0 errors, 0 warnings, 0 infos in 1 file\n"));
}

#[test]
fn load_errors_fail_by_default() {
    let out = rulecheck(&["--format", "json", "broken.yml"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let all = json(&out);
    assert!(
        all.iter()
            .any(|d| d["level"] == "error" && d["file"] == "broken.yml" && d["line"] == 5),
        "{}",
        stdout(&out)
    );
}

/// Issue 21: two alerts with the same name and labels (the cortex mixin's
/// `CortexRolloutStuck`, once per workload kind) are valid Prometheus:
/// promtool prints a lint and exits 0, and so does rulecheck, at warning
/// level, pointing at the repeat.
#[test]
fn duplicate_rules_pass_like_promtool_with_a_warning() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prom");
    let promtool = Command::new("/usr/bin/promtool")
        .args(["check", "rules", "duplicate_rules.yml"])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run /usr/bin/promtool: {e}"));
    let promtool_said = String::from_utf8_lossy(&promtool.stderr);
    assert_eq!(code(&promtool), 0, "{promtool_said}");
    assert!(
        promtool_said.contains("1 duplicate rule(s) found")
            && promtool_said.contains("Metric: CortexRolloutStuck"),
        "{promtool_said}"
    );

    let out = rulecheck_in(&dir, &["--format", "json", "duplicate_rules.yml"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let duplicates: Vec<String> = findings(&out)
        .into_iter()
        .filter(|f| f.ends_with(" model/duplicate-rule"))
        .collect();
    assert_eq!(
        duplicates,
        ["duplicate_rules.yml:30:16 model/duplicate-rule"]
    );
    assert!(
        json(&out)
            .iter()
            .filter(|d| d["code"] == "model/duplicate-rule")
            .all(|d| d["level"] == "warning"),
        "{}",
        stdout(&out)
    );
    let text = rulecheck_in(&dir, &["duplicate_rules.yml"]);
    assert_eq!(code(&text), 0);
    assert!(
        stdout(&text).contains(
            "warning[model/duplicate-rule]: alert `CortexRolloutStuck` is defined twice in this file with the same labels\n  --> duplicate_rules.yml:30:16\n"
        ),
        "{}",
        stdout(&text)
    );
    // `--fail-on warning` makes it fatal (promtool: `--lint-fatal`), and
    // `--disable` turns it off (promtool: `--lint=none`).
    let strict = ["--fail-on", "warning", "--disable", "alert/missing-summary"];
    let fatal = rulecheck_in(&dir, &[&strict[..], &["duplicate_rules.yml"]].concat());
    assert_eq!(code(&fatal), 1, "{}", stdout(&fatal));
    let off = [
        &strict[..],
        &["--disable", "model/duplicate-rule", "duplicate_rules.yml"],
    ]
    .concat();
    let off = rulecheck_in(&dir, &off);
    assert_eq!(code(&off), 0, "{}", stdout(&off));
}

#[test]
fn scrape_interval_changes_what_is_too_short() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("r.yml");
    let text = "groups:\n  - name: g\n    rules:\n      - record: job:errors:rate1m\n        expr: sum by (job) (rate(errors_total[1m]))\n";
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let out = rulecheck_in(dir.path(), &["--format", "json", "r.yml"]);
    assert!(findings(&out).is_empty(), "{}", stdout(&out));
    let out = rulecheck_in(
        dir.path(),
        &["--format", "json", "--scrape-interval", "1m", "r.yml"],
    );
    assert_eq!(findings(&out), ["r.yml:5:46 promql/short-range"]);
    let out = rulecheck_in(dir.path(), &["--scrape-interval", "0s", "r.yml"]);
    assert_eq!(code(&out), 2);
    let out = rulecheck_in(dir.path(), &["--scrape-interval", "30", "r.yml"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing a unit"), "{}", stderr(&out));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = rulecheck(&[]);
    assert_eq!(code(&out), 2, "no paths");
    assert!(stderr(&out).contains("<PATH|GLOB>"), "{}", stderr(&out));

    let out = rulecheck(&["missing.yml"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("missing.yml: no such file or directory"),
        "{}",
        stderr(&out)
    );

    let out = rulecheck(&["nothing/*.yml"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no files match this pattern"),
        "{}",
        stderr(&out)
    );

    // A readable file next to an unreadable path still fails with 2.
    assert_eq!(code(&rulecheck(&["good.yml", "missing.yml"])), 2);

    let out = rulecheck(&["--format", "xml", "good.yml"]);
    assert_eq!(code(&out), 2);

    let out = rulecheck(&["--fail-on", "critical", "good.yml"]);
    assert_eq!(code(&out), 2);

    let out = rulecheck(&["--disable", "promql/no-comparisn", "good.yml"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("did you mean `promql/no-comparison`?"),
        "{}",
        stderr(&out)
    );
}

/// `rulecheck` in `dir`, killed (and the test failed) if it has not exited
/// after `deadline`: a read that blocks must fail the test, not hang it.
fn rulecheck_within(dir: &Path, args: &[&str], deadline: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    let started = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rulecheck {args:?} still runs after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("rulecheck {args:?}: {e}"))
}

/// Issue 22: `/dev/zero` was read until memory ran out, a FIFO blocked
/// forever, the size limit was checked after the whole read, and a symlink
/// loop was "no such file or directory". Each is now refused before it is
/// read, with the path and what it is, as an argument and as an include.
#[test]
fn special_files_are_refused_at_once_naming_the_path() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let at = |name: &str| dir.path().join(name);
    std::os::unix::fs::symlink("/dev/zero", at("zero.rules")).unwrap_or_else(|e| panic!("{e}"));
    let mkfifo = Command::new("mkfifo").arg(at("fifo.yml")).status();
    assert!(mkfifo.is_ok_and(|s| s.success()), "mkfifo failed");
    let big = std::fs::File::create(at("big.yml")).unwrap_or_else(|e| panic!("{e}"));
    // Sparse: 33 MiB that take no disk and would take 33 MiB of memory.
    big.set_len(33 * 1024 * 1024)
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("loop-b.yml", at("loop-a.yml")).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("loop-a.yml", at("loop-b.yml")).unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        (
            "/dev/zero",
            "/dev/zero: cannot read: not a regular file but a character device",
        ),
        (
            "zero.rules",
            "zero.rules: cannot read: not a regular file but a character device",
        ),
        (
            "fifo.yml",
            "fifo.yml: cannot read: not a regular file but a FIFO (named pipe)",
        ),
        (
            "big.yml",
            "big.yml: cannot read: larger than the limit of 32 MiB",
        ),
        (
            "loop-a.yml",
            "loop-a.yml: cannot read: too many levels of symbolic links: a symlink loop",
        ),
    ];
    for (path, message) in cases {
        let out = rulecheck_within(dir.path(), &[path], Duration::from_secs(20));
        assert_eq!(code(&out), 2, "{path}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{path}: {}", stderr(&out));
    }

    // The same files included from a DSL file: an error at the include.
    std::fs::write(
        at("main.rules"),
        "include \"zero.rules\"\ninclude \"fifo.yml\"\ninclude \"loop-a.yml\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = rulecheck_within(
        dir.path(),
        &["--format", "json", "main.rules"],
        Duration::from_secs(20),
    );
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let includes: Vec<String> = json(&out)
        .iter()
        .map(|d| {
            format!(
                "{}:{} {}",
                d["line"],
                d["column"],
                d["message"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        includes,
        [
            "1:1 zero.rules: cannot read: not a regular file but a character device",
            "2:1 fifo.yml: cannot read: not a regular file but a FIFO (named pipe)",
            "3:1 loop-a.yml: cannot read: too many levels of symbolic links: a symlink loop",
        ]
    );
}

/// Issue 22: one error in a long one-line file reprinted the whole line
/// (52 MB of output for a 50 MB file). The line is cut around the caret.
#[test]
fn an_error_in_a_huge_one_line_file_prints_a_short_excerpt() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let padding = " ".repeat(2_000_000);
    let name = "b".repeat(1_000_000);
    let text = format!("group g {{{padding}bogus {padding}{name} }}");
    std::fs::write(dir.path().join("one.rules"), text).unwrap_or_else(|e| panic!("{e}"));
    let out = rulecheck_in(dir.path(), &["one.rules"]);
    assert_eq!(code(&out), 1);
    let printed = stdout(&out);
    assert!(printed.len() < 8_000, "{} bytes printed", printed.len());
    assert!(printed.contains("--> one.rules:1:2000010\n"), "{printed}");
    assert!(
        printed.contains(&format!(
            "1 | …{}bogus{}…\n",
            " ".repeat(60),
            " ".repeat(95)
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("  | {}^^^^^ ", " ".repeat(61))),
        "{printed}"
    );
}

#[test]
fn globs_are_expanded_by_rulecheck() {
    let out = rulecheck(&["--format", "json", "b*d.yml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(findings(&out).len(), 3);
}

#[test]
fn list_lints_prints_the_registry() {
    let out = rulecheck(&["--list-lints"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for lint in klaxon::check::LINTS {
        assert!(
            text.lines()
                .any(|l| l.starts_with(lint.id) && l.contains(lint.level.as_str())),
            "{} missing from:\n{text}",
            lint.id
        );
    }
}

#[test]
fn help_explains_every_option() {
    let out = rulecheck(&["--help"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for option in [
        "--format",
        "--fail-on",
        "--disable",
        "--scrape-interval",
        "--list-lints",
        "RULECHECK_FORMAT",
        "./fmt",
    ] {
        assert!(
            text.contains(option),
            "{option} missing from --help:\n{text}"
        );
    }
}

// --- disabling -------------------------------------------------------------

#[test]
fn a_comment_disables_lints_for_its_file_only() {
    let out = rulecheck(&["--format", "json", "disabled.yml", "bad.yml"]);
    assert_eq!(
        findings(&out),
        [
            "disabled.yml:2:42 rulecheck/unknown-lint",
            // The misspelt id disabled nothing.
            "disabled.yml:6:16 alert/missing-runbook",
            "bad.yml:3:15 group/interval-too-long",
            "bad.yml:6:15 promql/no-comparison",
            "bad.yml:12:20 promql/rate-non-counter",
        ]
    );
    let unknown = &json(&out)[0];
    assert_eq!(unknown["level"], "warning");
    assert_eq!(unknown["hint"], "did you mean `alert/missing-runbook`?");
}

#[test]
fn disable_flag_turns_lints_off_everywhere() {
    let out = rulecheck(&[
        "--format",
        "json",
        "--disable",
        "promql/no-comparison,group/interval-too-long",
        "--disable",
        "promql/rate-non-counter",
        "bad.yml",
    ]);
    assert_eq!(findings(&out), Vec::<String>::new());
}

#[test]
fn dsl_files_are_linted_and_honour_disable_comments() {
    let out = rulecheck(&["--format", "json", "bad.rules"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<(i64, String)> = json(&out)
        .iter()
        .map(|d| {
            (
                d["line"].as_i64().unwrap_or(0),
                d["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (4, "alert/missing-summary".to_string()),
            (6, "alert/for-missing".to_string())
        ],
        "{}",
        stdout(&out)
    );
}

/// Issue 21: a credential written in a header or a URL is refused with a
/// caret on it; a query parameter named like one is a warning; the same
/// values from env()/file() pass, and `fmt` keeps them.
#[test]
fn credentials_in_headers_and_urls_are_refused_where_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clear = "receiver hooks {
  webhook {
    url \"https://alert:hunter2@hooks.example.com/a\"
    headers { X-Team = \"db\", Authorization = \"Bearer s3cr3t\" }
  }
}
route { receiver hooks }
";
    std::fs::write(dir.path().join("clear.rules"), clear).unwrap_or_else(|e| panic!("{e}"));
    let out = rulecheck_in(dir.path(), &["clear.rules"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = stdout(&out);
    for expected in [
        "error[model/url-credentials]: the URL of `url` carries credentials before the host, in plain text\n --> clear.rules:3:18\n",
        "3 |     url \"https://alert:hunter2@hooks.example.com/a\"\n  |                  ^^^^^^^^^^^^^ credentials in the URL\n",
        "hint: the configuration text is served by GET /api/v2/status; write the whole URL as url env(\"NAME\") or url file(\"/run/secrets/name\"), or move them to basic_auth_user and basic_auth_password env(\"NAME\")",
        "error[model/inline-secret]: header `Authorization` carries a credential and must not be written in the file\n --> clear.rules:4:46\n",
        "4 |     headers { X-Team = \"db\", Authorization = \"Bearer s3cr3t\" }\n  |                                              ^^^^^^^^^^^^^^^ credential in plain text\n",
        "hint: use Authorization = env(\"NAME\") or Authorization = file(\"/run/secrets/name\"), or the `bearer_token` or `basic_auth_user` and `basic_auth_password` settings",
    ] {
        assert!(text.contains(expected), "missing\n{expected}\nin\n{text}");
    }
    assert!(
        text.ends_with("2 errors, 0 warnings, 0 infos in 1 file\n"),
        "{text}"
    );
    // What rulecheck refuses, `klaxon serve` refuses to start with.
    let mut serve = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .args(["serve", "--config", "clear.rules", "--data-dir", "data"])
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        match serve.try_wait() {
            Ok(Some(status)) => break status,
            _ if std::time::Instant::now() > deadline => {
                let _ = serve.kill();
                let _ = serve.wait();
                panic!("klaxon serve started with credentials written in clear");
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    let mut refused = String::new();
    if let Some(mut err) = serve.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut refused);
    }
    assert!(!status.success(), "{refused}");
    assert!(
        refused.contains("error[model/inline-secret]: header `Authorization` carries a credential")
            && refused.contains("error[model/url-credentials]"),
        "{refused}"
    );

    // A token in the query is a warning: the name is a guess.
    let query = "receiver hooks {
  webhook { url \"https://hooks.example.com/a?team=db&api_key=abc\" }
}
route { receiver hooks }
";
    std::fs::write(dir.path().join("query.rules"), query).unwrap_or_else(|e| panic!("{e}"));
    let out = rulecheck_in(dir.path(), &["query.rules"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "warning[model/url-credentials]: the URL of `url` carries a credential in its query parameter `api_key`, in plain text\n --> query.rules:2:54\n"
        ) && text.contains(
            "2 |   webhook { url \"https://hooks.example.com/a?team=db&api_key=abc\" }\n  |                                                      ^^^^^^^^^^^ credential in the URL\n"
        ),
        "{text}"
    );
    let out = rulecheck_in(dir.path(), &["--fail-on", "warning", "query.rules"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));

    // From env()/file(), the same settings are accepted and formatted back.
    let kept = "receiver hooks {
  webhook {
    url env(\"HOOK_URL\")
    basic_auth_user \"alert\"
    basic_auth_password file(\"/run/secrets/hook-password\")
    headers { X-Team = \"db\", X-Api-Key = env(\"HOOK_API_KEY\") }
  }
}

route {
  receiver hooks
}
";
    std::fs::write(dir.path().join("kept.rules"), kept).unwrap_or_else(|e| panic!("{e}"));
    let out = rulecheck_in(dir.path(), &["kept.rules"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with("0 errors, 0 warnings, 0 infos in 1 file\n"),
        "{}",
        stdout(&out)
    );
    let out = rulecheck_in(dir.path(), &["fmt", "--check", "kept.rules"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

// --- the corpus ------------------------------------------------------------

#[test]
fn the_corpus_loads_without_errors_and_lints_point_into_queries() {
    let corpus = corpus();
    let out = rulecheck_in(&corpus, &["--format", "json", "prometheus-rules"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let all = findings(&out);
    for expected in [
        "prometheus-rules/awesome-prometheus-alerts/cloudflare/lablabs-cloudflare-exporter.yml:9:34 promql/rate-non-counter",
        "prometheus-rules/awesome-prometheus-alerts/cloudflare/lablabs-cloudflare-exporter.yml:9:121 promql/rate-non-counter",
        "prometheus-rules/awesome-prometheus-alerts/cloudflare/lablabs-cloudflare-exporter.yml:9:195 promql/rate-non-counter",
    ] {
        assert!(
            all.iter().any(|f| f == expected),
            "{expected} not among {} findings",
            all.len()
        );
    }
}

// --- fmt -------------------------------------------------------------------

fn copy_fixture(dir: &Path, name: &str, as_name: &str) -> PathBuf {
    let to = dir.join(as_name);
    std::fs::copy(fixture(name), &to).unwrap_or_else(|e| panic!("{e}"));
    to
}

#[test]
fn fmt_check_write_round_trip() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = copy_fixture(dir.path(), "unformatted.rules", "node.rules");
    let before = std::fs::read_to_string(&file).unwrap_or_default();

    let out = rulecheck_in(dir.path(), &["fmt", "--check", "node.rules"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out), "node.rules\n");
    assert_eq!(std::fs::read_to_string(&file).unwrap_or_default(), before);

    let printed = rulecheck_in(dir.path(), &["fmt", "node.rules"]);
    assert_eq!(code(&printed), 0, "{}", stderr(&printed));

    let out = rulecheck_in(dir.path(), &["fmt", "--write", "node.rules"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = std::fs::read_to_string(&file).unwrap_or_default();
    assert_ne!(after, before);
    assert_eq!(after, stdout(&printed));
    assert!(after.contains("group node {"), "{after}");

    let out = rulecheck_in(dir.path(), &["fmt", "--check", "node.rules"]);
    assert_eq!(code(&out), 0, "formatting is not idempotent:\n{after}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn fmt_refuses_files_with_syntax_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = copy_fixture(dir.path(), "syntax-error.rules", "x.rules");
    let before = std::fs::read_to_string(&file).unwrap_or_default();
    let out = rulecheck_in(dir.path(), &["fmt", "--write", "x.rules"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("error[syntax]"), "{err}");
    assert!(err.contains("--> x.rules:4:13"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap_or_default(), before);
}

#[test]
fn fmt_usage_errors_exit_2() {
    let out = rulecheck(&["fmt"]);
    assert_eq!(code(&out), 2);
    let out = rulecheck(&["fmt", "good.yml"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("Prometheus rule file"),
        "{}",
        stderr(&out)
    );
    let out = rulecheck(&["fmt", "bad.rules", "unformatted.rules"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--write"), "{}", stderr(&out));
    let out = rulecheck(&["fmt", "--write", "--check", "bad.rules"]);
    assert_eq!(code(&out), 2);
    let out = rulecheck(&["fmt", "--check", "missing.rules"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn a_path_named_fmt_is_checked_when_written_dot_slash_fmt() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_fixture(dir.path(), "bad.rules", "fmt");
    let out = rulecheck_in(dir.path(), &["./fmt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).ends_with("in 1 file\n"), "{}", stdout(&out));
}
