//! A real SMTP server for the email tests: aiosmtpd (Debian package
//! `python3-aiosmtpd`; only `/usr/bin/python3` imports it) run by
//! `smtp_sink.py`, which stores every accepted message in a temporary
//! directory. Plain, STARTTLS or implicit TLS (with a CA and certificate
//! made by [`TestCa`] at test time), optionally with AUTH. Recipients
//! `reject...@` get `550 5.1.1`, `busy...@` get `451 4.3.0`. The server is
//! killed when the handle is dropped (its log printed if the test failed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::http::header_value;
use super::process::{CommandSpec, ManagedProcess, free_port};

const PYTHON: &str = "/usr/bin/python3";

/// A CA and a server certificate for `127.0.0.1` and `localhost`, signed by it.
pub struct TestCa {
    /// The CA certificate, PEM: what klaxon must trust.
    pub ca_pem: Vec<u8>,
    /// The server certificate file.
    pub cert: PathBuf,
    /// The server key file.
    pub key: PathBuf,
}

impl TestCa {
    /// Generates both into `dir`.
    pub fn generate(dir: &Path) -> TestCa {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "klaxon test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let cert_path = dir.join("server.pem");
        let key_path = dir.join("server.key");
        std::fs::write(&cert_path, cert.pem()).expect("write the certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("write the key");
        TestCa {
            ca_pem: ca.pem().into_bytes(),
            cert: cert_path,
            key: key_path,
        }
    }
}

/// How the server is set up.
#[derive(Default)]
pub struct SinkOptions {
    /// Listen here instead of a free port (to bring a server back).
    pub port: Option<u16>,
    /// STARTTLS required, with this certificate and key.
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// TLS from the first byte, with this certificate and key.
    pub smtps: Option<(PathBuf, PathBuf)>,
    /// AUTH required with this user and password.
    pub auth: Option<(String, String)>,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The DATA as received.
    pub raw: String,
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients.
    pub rcpt_tos: Vec<String>,
    /// The EHLO name.
    pub helo: String,
    /// Whether the session was TLS.
    pub tls: bool,
    /// The authenticated user.
    pub auth: Option<String>,
}

/// The running server.
pub struct SmtpSink {
    // Dropped first: the process is killed before its directory goes away.
    process: ManagedProcess,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the server and waits until it listens.
    pub fn start(options: SinkOptions) -> SmtpSink {
        let check = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .output();
        match check {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "{PYTHON} cannot import aiosmtpd: install the Debian package python3-aiosmtpd"
            ),
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let port = options.port.unwrap_or_else(free_port);
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/harness/smtp_sink.py"
        );
        let mut args: Vec<std::ffi::OsString> = vec![
            script.into(),
            "--port".into(),
            port.to_string().into(),
            "--dir".into(),
            dir.path().into(),
        ];
        let mut pair = |flag: &str, first: &Path, second: &Path| {
            args.extend([flag.into(), first.into(), second.into()]);
        };
        if let Some((cert, key)) = &options.starttls {
            pair("--starttls", cert, key);
        }
        if let Some((cert, key)) = &options.smtps {
            pair("--smtps", cert, key);
        }
        if let Some((user, password)) = &options.auth {
            args.extend(["--auth".into(), format!("{user}:{password}").into()]);
        }
        let spec = CommandSpec {
            program: PYTHON.into(),
            args,
            envs: Vec::new(),
            env_removals: Vec::new(),
            cwd: dir.path().to_path_buf(),
        };
        let mut process = ManagedProcess::new("smtp-sink", dir.path());
        process
            .spawn(&spec)
            .unwrap_or_else(|e| panic!("cannot start the SMTP server: {e}"));
        let mut sink = SmtpSink { process, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sink.dir.path().join("ready").exists() {
            if let Some(status) = sink.process.exit_status() {
                panic!(
                    "the SMTP server exited ({status}):\n{}",
                    sink.process.log_tail(60)
                );
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server did not start within 20s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        sink
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read the mail directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|meta_path| {
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&meta_path).expect("read the envelope"))
                        .expect("envelope JSON");
                let raw = std::fs::read(meta_path.with_extension("eml")).expect("read the message");
                Received {
                    raw: String::from_utf8_lossy(&raw).into_owned(),
                    mail_from: meta["mail_from"].as_str().unwrap_or("").to_string(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect(),
                    helo: meta["helo"].as_str().unwrap_or("").to_string(),
                    tls: meta["tls"].as_bool().unwrap_or(false),
                    auth: meta["auth"].as_str().map(String::from),
                }
            })
            .collect()
    }
}

/// A parsed message: headers (unfolded) and the decoded MIME parts.
#[derive(Debug)]
pub struct Mail {
    /// Headers in order, names as written.
    pub headers: Vec<(String, String)>,
    /// `(content type, decoded body)` of each leaf part.
    pub parts: Vec<(String, String)>,
}

impl Mail {
    /// Parses a raw message.
    pub fn parse(raw: &str) -> Mail {
        let (headers, body) = split_headers(raw);
        let mut parts = Vec::new();
        collect_parts(&headers, body, &mut parts);
        Mail { headers, parts }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The body of the first part of that content type.
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(t, _)| t.starts_with(content_type))
            .map(|(_, b)| b.as_str())
    }
}

fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    (headers, body)
}

fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim_matches('"'))
    })
}

fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Vec<(String, String)>) {
    let content_type = header_value(headers, "content-type").unwrap_or("text/plain");
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let Some(boundary) = param(content_type, "boundary") else {
            return;
        };
        let delimiter = format!("--{boundary}");
        for chunk in body.split(delimiter.as_str()).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.trim_start_matches(['\r', '\n']);
            let (part_headers, part_body) = split_headers(chunk);
            collect_parts(&part_headers, part_body, out);
        }
        return;
    }
    let encoding = header_value(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "base64" => {
            use base64::Engine as _;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 body");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    };
    out.push((content_type.to_string(), decoded.replace("\r\n", "\n")));
}

fn quoted_printable(body: &str) -> String {
    let mut bytes = Vec::new();
    let input = body.replace("=\r\n", "").replace("=\n", "");
    let raw = input.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'='
            && i + 2 < raw.len()
            && let Ok(byte) = u8::from_str_radix(&input[i + 1..i + 3], 16)
        {
            bytes.push(byte);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
