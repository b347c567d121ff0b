//! `klaxon`: the alerting rules engine's command line.
//!
//! `klaxon serve` runs the evaluator beside Prometheus; `klaxon import
//! prometheus` converts Prometheus rule files into the klaxon rule language.
//! Exit status: 0 on success (and after SIGTERM), 1 when an input has errors
//! (printed with file, line and column), 2 when a file cannot be read or
//! written or the service cannot start.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use klaxon::import::{ImportStats, prometheus_to_dsl};
use klaxon::notify::silence::SilenceLimits;
use klaxon::user_file;

/// Input had errors: the diagnostics were printed.
const EXIT_INPUT_ERRORS: u8 = 1;
/// A file could not be read or written.
const EXIT_IO: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "klaxon",
    version,
    about = "Alerting and monitoring rules engine",
    long_about = "klaxon evaluates alerting rules written in its own rule language or as \
                  Prometheus rule files, and notifies Slack, email and webhooks.\n\n\
                  Run existing Prometheus rule files against a Prometheus:\n  \
                  klaxon serve --prometheus.url http://localhost:9090 --rules 'alerts/*.yml'\n\n\
                  Convert them into the klaxon rule language:\n  \
                  klaxon import prometheus rules/*.yml -o rules/imported.rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate rules on their intervals and serve alerts over HTTP.
    Serve(Box<ServeArgs>),
    /// Convert rules from another format into the klaxon rule language.
    #[command(subcommand)]
    Import(ImportFormat),
}

/// `klaxon serve` options; every one can also come from the environment.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    klaxon serve --prometheus.url http://prometheus:9090 --rules 'alerts/*.yml'\n  \
    klaxon serve --config klaxon.rules --data-dir /var/lib/klaxon --listen 0.0.0.0:9097\n\n\
    Signals: SIGHUP (or POST /-/reload) reloads the rule files, keeping the running\n\
    configuration when the new one is invalid; SIGTERM finishes the rounds in progress,\n\
    commits alert state and exits 0.")]
struct ServeArgs {
    /// The main rule file in the klaxon language: datasources, groups and
    /// `include`s of further files.
    #[arg(long, value_name = "FILE", env = "KLAXON_CONFIG")]
    config: Option<PathBuf>,

    /// Rule files, directories or globs to evaluate as well, klaxon `.rules`
    /// or Prometheus `.yml`/`.yaml` (repeatable; comma-separated in the env).
    #[arg(
        long = "rules",
        value_name = "GLOB",
        env = "KLAXON_RULES",
        value_delimiter = ','
    )]
    rules: Vec<String>,

    /// The default Prometheus-compatible datasource (Prometheus,
    /// VictoriaMetrics, Thanos, Mimir), used by queries that name none.
    #[arg(
        long = "prometheus.url",
        value_name = "URL",
        env = "KLAXON_PROMETHEUS_URL"
    )]
    prometheus_url: Option<String>,

    /// Directory of the alert-state database; created if missing. Alert
    /// state survives restarts and crashes through it.
    #[arg(
        long = "data-dir",
        value_name = "DIR",
        env = "KLAXON_DATA_DIR",
        default_value = "data"
    )]
    data_dir: PathBuf,

    /// Memory for the state database's page cache, in bytes. Half of it
    /// buffers a transaction's writes: raise it when klaxon's journal holds
    /// hundreds of thousands of alerts (ingest slows when a batch no longer
    /// fits), lower it to keep a small deployment small.
    #[arg(
        long = "storage.cache-size",
        value_name = "BYTES",
        env = "KLAXON_STORAGE_CACHE_SIZE",
        default_value_t = klaxon::store::DEFAULT_CACHE_BYTES
    )]
    storage_cache_size: usize,

    /// Address of the HTTP API (/api/v1/rules, /api/v1/alerts, /metrics, /-/ready, /-/reload).
    #[arg(
        long,
        value_name = "ADDR",
        env = "KLAXON_LISTEN",
        default_value = "127.0.0.1:9097"
    )]
    listen: String,

    /// Forward alerts to this Alertmanager, as Prometheus does (repeatable;
    /// comma-separated in the env).
    #[arg(
        long = "alertmanager.url",
        value_name = "URL",
        env = "KLAXON_ALERTMANAGER_URL",
        value_delimiter = ','
    )]
    alertmanager_url: Vec<String>,

    /// The URL klaxon is reached at: generator URLs and `$externalURL`.
    /// Defaults to http://LISTEN-ADDRESS.
    #[arg(long = "external-url", value_name = "URL", env = "KLAXON_EXTERNAL_URL")]
    external_url: Option<String>,

    /// A label added to every alert sent, and `$externalLabels` in templates
    /// (repeatable, NAME=VALUE; comma-separated in the env).
    #[arg(long = "external-label", value_name = "NAME=VALUE", env = "KLAXON_EXTERNAL_LABELS", value_delimiter = ',', value_parser = klaxon::serve::parse_label_pair)]
    external_label: Vec<(String, String)>,

    /// Interval of groups that do not set one (`every` / `interval:`).
    #[arg(long = "evaluation-interval", value_name = "DURATION", env = "KLAXON_EVALUATION_INTERVAL", default_value = "1m", value_parser = parse_duration_arg)]
    evaluation_interval: std::time::Duration,

    /// Minimum time before a still-firing alert is sent again.
    #[arg(long = "resend-delay", value_name = "DURATION", env = "KLAXON_RESEND_DELAY", default_value = "1m", value_parser = parse_duration_arg)]
    resend_delay: std::time::Duration,

    /// Bound on datasource queries in flight across all groups.
    #[arg(
        long = "query.max-concurrency",
        value_name = "N",
        env = "KLAXON_QUERY_MAX_CONCURRENCY",
        default_value_t = 32
    )]
    query_max_concurrency: usize,

    /// How long an alert pushed to /api/v2/alerts without `endsAt` stays
    /// firing unless it is sent again (Alertmanager's `resolve_timeout`).
    #[arg(long = "notify.resolve-timeout", value_name = "DURATION", env = "KLAXON_NOTIFY_RESOLVE_TIMEOUT", default_value = "5m", value_parser = parse_duration_arg)]
    notify_resolve_timeout: std::time::Duration,

    /// How long a notification keeps being retried before it is recorded
    /// as failed (see GET /api/v1/notifications).
    #[arg(long = "notify.give-up-after", value_name = "DURATION", env = "KLAXON_NOTIFY_GIVE_UP_AFTER", default_value = "24h", value_parser = parse_duration_arg)]
    notify_give_up_after: std::time::Duration,

    /// How long resolved alerts stay visible in /api/v2/alerts before they
    /// are forgotten.
    #[arg(long = "notify.alert-retention", value_name = "DURATION", env = "KLAXON_NOTIFY_ALERT_RETENTION", default_value = "1h", value_parser = parse_duration_arg)]
    notify_alert_retention: std::time::Duration,

    /// A file holding the bearer token that every API call other than
    /// GET/HEAD/OPTIONS (alerts, silences, webhooks, reloads) must present.
    /// Unset: writes are open, as in Alertmanager and Prometheus; keep
    /// --listen on loopback then.
    #[arg(
        long = "api.token-file",
        value_name = "FILE",
        env = "KLAXON_API_TOKEN_FILE"
    )]
    api_token_file: Option<PathBuf>,

    /// How long an API connection may wait to start a request (after it
    /// opens and between requests), and move no byte while no request is
    /// handled, before it is closed.
    #[arg(long = "api.idle-timeout", value_name = "DURATION", env = "KLAXON_API_IDLE_TIMEOUT", default_value = "1m", value_parser = parse_duration_arg)]
    api_idle_timeout: std::time::Duration,

    /// How long a request's head (request line and headers) may take to
    /// arrive once it started.
    #[arg(long = "api.header-timeout", value_name = "DURATION", env = "KLAXON_API_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration_arg)]
    api_header_timeout: std::time::Duration,

    /// How long a request's body may take to arrive; slower ones get 408.
    #[arg(long = "api.body-timeout", value_name = "DURATION", env = "KLAXON_API_BODY_TIMEOUT", default_value = "1m", value_parser = parse_duration_arg)]
    api_body_timeout: std::time::Duration,

    /// API connections served at once, lowered at start when the open-file
    /// limit would leave fewer than a quarter of it (at least 128) for
    /// deliveries, queries and the store. When full, the connection idle
    /// longest is closed for a new one.
    #[arg(long = "api.max-connections", value_name = "N", env = "KLAXON_API_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    api_max_connections: u32,

    /// Largest request body the API accepts; larger ones get 413.
    #[arg(long = "api.max-body-bytes", value_name = "BYTES", env = "KLAXON_API_MAX_BODY_BYTES", default_value_t = 16 << 20)]
    api_max_body_bytes: usize,

    /// Most silences held, expired ones included until 120h after their
    /// end; one more gets 400 (0: no limit).
    #[arg(long = "silences.max-silences", value_name = "N", env = "KLAXON_SILENCES_MAX_SILENCES", default_value_t = SilenceLimits::default().max_silences)]
    silences_max_silences: usize,

    /// Largest silence, as stored (its JSON); a larger one gets 400 (0: no
    /// limit).
    #[arg(long = "silences.max-silence-size-bytes", value_name = "BYTES", env = "KLAXON_SILENCES_MAX_SILENCE_SIZE_BYTES", default_value_t = SilenceLimits::default().max_silence_bytes)]
    silences_max_silence_size_bytes: usize,

    /// Most matchers in one silence; more get 400 (0: no limit).
    #[arg(long = "silences.max-matchers", value_name = "N", env = "KLAXON_SILENCES_MAX_MATCHERS", default_value_t = SilenceLimits::default().max_matchers)]
    silences_max_matchers: usize,

    /// Largest matcher (name plus value or pattern) of a silence; a larger
    /// one gets 400 (0: no limit).
    #[arg(long = "silences.max-matcher-bytes", value_name = "BYTES", env = "KLAXON_SILENCES_MAX_MATCHER_BYTES", default_value_t = SilenceLimits::default().max_matcher_bytes)]
    silences_max_matcher_bytes: usize,

    /// Total size of all silences: as stored, plus their compiled regular
    /// expressions (once per distinct pattern); a silence that would pass
    /// it gets 400 (0: no limit).
    #[arg(long = "silences.max-total-bytes", value_name = "BYTES", env = "KLAXON_SILENCES_MAX_TOTAL_BYTES", default_value_t = SilenceLimits::default().max_total_bytes)]
    silences_max_total_bytes: usize,

    /// Log level: error, warn, info, debug, trace (or a tracing filter such as `klaxon=debug`).
    #[arg(
        long = "log.level",
        value_name = "LEVEL",
        env = "KLAXON_LOG_LEVEL",
        default_value = "info"
    )]
    log_level: String,

    /// Log format.
    #[arg(long = "log.format", value_name = "FORMAT", env = "KLAXON_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    /// etcd endpoints (URL[,URL…]): run as one replica of a cluster (docs/cluster.md). Without it klaxon runs alone on its local store.
    #[arg(
        long = "cluster.etcd",
        value_name = "URL",
        env = "KLAXON_CLUSTER_ETCD",
        value_delimiter = ','
    )]
    cluster_etcd: Vec<String>,

    /// This replica's name, unique in the cluster (default: the host name).
    #[arg(
        long = "cluster.replica",
        value_name = "NAME",
        env = "KLAXON_CLUSTER_REPLICA"
    )]
    cluster_replica: Option<String>,

    /// The cluster's name: the etcd key prefix, so several clusters can share one etcd.
    #[arg(
        long = "cluster.name",
        value_name = "NAME",
        env = "KLAXON_CLUSTER_NAME",
        default_value = "klaxon"
    )]
    cluster_name: String,

    /// How long a replica that stops renewing keeps its work: its groups and shards move after at most this.
    #[arg(long = "cluster.lease-ttl", value_name = "DURATION", env = "KLAXON_CLUSTER_LEASE_TTL", default_value = "10s", value_parser = parse_duration_arg)]
    cluster_lease_ttl: std::time::Duration,

    /// The URL other replicas reach this one's API at (default: http://<listen address>).
    #[arg(
        long = "cluster.advertise-url",
        value_name = "URL",
        env = "KLAXON_CLUSTER_ADVERTISE_URL"
    )]
    cluster_advertise_url: Option<String>,

    /// PEM CA that signed etcd's certificates (https:// endpoints).
    #[arg(
        long = "cluster.etcd-ca",
        value_name = "FILE",
        env = "KLAXON_CLUSTER_ETCD_CA"
    )]
    cluster_etcd_ca: Option<String>,

    /// PEM client certificate for etcd (with --cluster.etcd-key).
    #[arg(
        long = "cluster.etcd-cert",
        value_name = "FILE",
        env = "KLAXON_CLUSTER_ETCD_CERT"
    )]
    cluster_etcd_cert: Option<String>,

    /// PEM client key for etcd.
    #[arg(
        long = "cluster.etcd-key",
        value_name = "FILE",
        env = "KLAXON_CLUSTER_ETCD_KEY"
    )]
    cluster_etcd_key: Option<String>,

    /// etcd user (with --cluster.etcd-password-file).
    #[arg(
        long = "cluster.etcd-user",
        value_name = "NAME",
        env = "KLAXON_CLUSTER_ETCD_USER"
    )]
    cluster_etcd_user: Option<String>,

    /// File holding the etcd user's password.
    #[arg(
        long = "cluster.etcd-password-file",
        value_name = "FILE",
        env = "KLAXON_CLUSTER_ETCD_PASSWORD_FILE"
    )]
    cluster_etcd_password_file: Option<std::path::PathBuf>,
}

fn cluster_options(args: &ServeArgs) -> Option<klaxon::serve::ClusterServeOptions> {
    if args.cluster_etcd.is_empty() {
        return None;
    }
    Some(klaxon::serve::ClusterServeOptions {
        etcd: args.cluster_etcd.clone(),
        replica: args.cluster_replica.clone(),
        name: args.cluster_name.clone(),
        lease_ttl: args.cluster_lease_ttl,
        advertise_url: args.cluster_advertise_url.clone(),
        etcd_ca: args.cluster_etcd_ca.clone(),
        etcd_cert: args.cluster_etcd_cert.clone(),
        etcd_key: args.cluster_etcd_key.clone(),
        etcd_user: args.cluster_etcd_user.clone(),
        etcd_password_file: args.cluster_etcd_password_file.clone(),
    })
}

fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    let d = klaxon::vocab::time::parse_duration(text)?;
    if d.0 == 0 {
        return Err("must be more than 0".into());
    }
    Ok(d.to_std())
}

fn serve(args: ServeArgs) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = match tracing_subscriber::EnvFilter::try_new(&args.log_level) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --log.level `{}`: {e}", args.log_level);
            return ExitCode::from(EXIT_IO);
        }
    };
    // Colour only for a terminal: log files and journald get plain text.
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    let cluster = cluster_options(&args);
    let opts = klaxon::serve::ServeOptions {
        config: args.config,
        rules: args.rules,
        prometheus_url: args.prometheus_url,
        data_dir: args.data_dir,
        storage_cache_bytes: args.storage_cache_size,
        listen: args.listen,
        connections: klaxon::api::ConnectionLimits {
            idle_timeout: args.api_idle_timeout,
            header_timeout: args.api_header_timeout,
            body_timeout: args.api_body_timeout,
            max_connections: args.api_max_connections as usize,
        },
        alertmanager_urls: args.alertmanager_url,
        external_url: args.external_url,
        external_labels: args.external_label,
        evaluation_interval: args.evaluation_interval,
        resend_delay: args.resend_delay,
        max_concurrent_queries: args.query_max_concurrency,
        notify: klaxon::serve::NotifyOptions {
            resolve_timeout: args.notify_resolve_timeout,
            give_up_after: args.notify_give_up_after,
            alert_retention: args.notify_alert_retention,
            api_token_file: args.api_token_file,
            max_body_bytes: args.api_max_body_bytes,
            silence_limits: SilenceLimits {
                max_silences: args.silences_max_silences,
                max_silence_bytes: args.silences_max_silence_size_bytes,
                max_matchers: args.silences_max_matchers,
                max_matcher_bytes: args.silences_max_matcher_bytes,
                max_total_bytes: args.silences_max_total_bytes,
            },
        },
        cluster,
    };
    // State commits run on blocking threads; a few are plenty (redb
    // serialises commits anyway), and every extra thread can cost a malloc
    // arena of its own.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(4)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_IO);
        }
    };
    match runtime.block_on(klaxon::serve::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_IO)
        }
    }
}

#[derive(Subcommand, Debug)]
enum ImportFormat {
    /// Convert Prometheus rule files (`groups:` YAML) into klaxon rules.
    ///
    /// Every group, alerting rule and recording rule is converted. An alert
    /// whose expression compares against a constant (`expr: x > 5`) gets the
    /// constant as a severity threshold (`warning when value > 5`); any other
    /// expression is kept whole (`warning when present`). The level comes from
    /// the `severity` label when it is info, warning or critical. Files with
    /// errors are refused and nothing is written; so are inputs whose group
    /// names clash when joined into one file (use --output-dir for those).
    #[command(after_help = "Examples:\n  \
        klaxon import prometheus alerts.yml\n  \
        klaxon import prometheus rules/*.yml -o rules/imported.rules\n  \
        klaxon import prometheus $(find alerts -name '*.yml') --output-dir rules/imported\n  \
        cat alerts.yml | klaxon import prometheus -")]
    Prometheus(ImportPrometheus),
    /// Convert an Alertmanager configuration (alertmanager.yml) into klaxon
    /// receivers, routes, inhibit rules and time windows.
    ///
    /// Slack, email and webhook receivers, the route tree, inhibit rules and
    /// time intervals are converted; whatever the rule language cannot express
    /// (other integrations, templates, custom message fields, proxies) is
    /// kept as a `# klaxon import: not converted` comment and reported with
    /// its line. Literal secrets become env("NAME") with a warning naming the
    /// variable; `*_file` secrets become file("..."). A configuration
    /// Alertmanager refuses is refused and nothing is written.
    #[command(after_help = "Examples:\n  \
        klaxon import alertmanager alertmanager.yml\n  \
        klaxon import alertmanager /etc/alertmanager/alertmanager.yml -o notify.rules")]
    Alertmanager(ImportAlertmanager),
}

#[derive(Args, Debug)]
struct ImportAlertmanager {
    /// The Alertmanager configuration file; `-` reads standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Write the rules to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Do not print the summary of what was converted.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct ImportPrometheus {
    /// Prometheus rule files to convert, in order; `-` reads standard input.
    /// Several files are joined, each after a `# imported from PATH` line.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Write the rules to this file instead of standard output.
    #[arg(short, long, value_name = "FILE", conflicts_with = "output_dir")]
    output: Option<PathBuf>,

    /// Write one `.rules` file per input into this directory, keeping the
    /// inputs' layout below their common directory (`a/x.yml` → `DIR/a/x.rules`).
    /// Use it when inputs reuse group names, which cannot share one file.
    #[arg(short = 'd', long, value_name = "DIR")]
    output_dir: Option<PathBuf>,

    /// Do not print the summary of what was converted.
    #[arg(short, long)]
    quiet: bool,
}

/// C's `pow`, from the `libm` crate (a port of musl's, the same algorithm
/// as glibc's since 2.28), so the executable needs nothing from glibc's
/// libm. `pow` is the only libm function klaxon calls (tokio's scheduler
/// statistics and prometheus-client's histogram buckets), and loading libm
/// for it made half a megabyte of libm's code resident; with this
/// definition the linker (`--as-needed`) leaves libm out.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
pub extern "C" fn pow(base: f64, exponent: f64) -> f64 {
    libm::pow(base, exponent)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Import(ImportFormat::Prometheus(args)) => import_prometheus(&args),
        Command::Import(ImportFormat::Alertmanager(args)) => import_alertmanager(&args),
    }
}

/// Reads a file, or standard input for `-`.
fn read_input(path: &Path) -> Result<String, user_file::ReadError> {
    let bytes = if path == Path::new("-") {
        user_file::read_bounded(std::io::stdin(), user_file::MAX_RULE_FILE_BYTES)?
    } else {
        user_file::read(path, user_file::MAX_RULE_FILE_BYTES)?
    };
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// One converted input.
struct Converted {
    /// The input as given (`-` for standard input).
    path: PathBuf,
    /// The input as shown to people.
    shown: String,
    /// `# imported from ..` and the DSL.
    text: String,
    /// Groups it declares.
    group_names: Vec<String>,
}

fn import_prometheus(args: &ImportPrometheus) -> ExitCode {
    let mut io_failed = false;
    let mut input_failed = false;
    let mut converted: Vec<Converted> = Vec::new();
    let mut total = ImportStats::default();
    let mut stderr = std::io::stderr().lock();

    for path in &args.files {
        let shown = if path == Path::new("-") {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let text = match read_input(path) {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(stderr, "error: {shown}: cannot read: {e}");
                io_failed = true;
                continue;
            }
        };
        match prometheus_to_dsl(Path::new(&shown), &text) {
            Ok(imported) => {
                for w in &imported.warnings {
                    let _ = writeln!(stderr, "{}", w.render(&imported.sources));
                }
                total.add(imported.stats);
                converted.push(Converted {
                    path: path.clone(),
                    text: format!("# imported from {shown}\n{}", imported.dsl),
                    shown,
                    group_names: imported.group_names,
                });
            }
            Err(failure) => {
                let _ = write!(stderr, "{}", failure.render());
                let n = failure.error_count();
                let _ = writeln!(
                    stderr,
                    "error: {shown}: {n} error{} — not converted",
                    plural(n)
                );
                input_failed = true;
            }
        }
    }

    if io_failed {
        return ExitCode::from(EXIT_IO);
    }
    if input_failed {
        return ExitCode::from(EXIT_INPUT_ERRORS);
    }

    let written = match &args.output_dir {
        Some(dir) => write_per_input(dir, &converted),
        None => {
            let clashes = group_clashes(&converted);
            if !clashes.is_empty() {
                for clash in clashes {
                    let _ = writeln!(stderr, "error: {clash}");
                }
                let _ = writeln!(
                    stderr,
                    "hint: one file cannot hold two groups of the same name; \
                     write one file per input with --output-dir DIR"
                );
                return ExitCode::from(EXIT_INPUT_ERRORS);
            }
            let joined = converted
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            match &args.output {
                Some(path) => std::fs::write(path, &joined)
                    .map_err(|e| format!("{}: cannot write: {e}", path.display())),
                None => match std::io::stdout().lock().write_all(joined.as_bytes()) {
                    // The reader stopped early (`klaxon import .. | head`): not an error.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        return ExitCode::SUCCESS;
                    }
                    other => other.map_err(|e| format!("standard output: {e}")),
                },
            }
        }
    };
    if let Err(e) = written {
        let _ = writeln!(stderr, "error: {e}");
        return ExitCode::from(EXIT_IO);
    }
    if !args.quiet {
        let _ = writeln!(
            stderr,
            "imported {} group{}: {} alert{} ({} with a threshold, {} kept whole), {} recording rule{}",
            total.groups,
            plural(total.groups),
            total.alerts,
            plural(total.alerts),
            total.thresholds_extracted,
            total.kept_whole,
            total.records,
            plural(total.records),
        );
    }
    ExitCode::SUCCESS
}

fn import_alertmanager(args: &ImportAlertmanager) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let shown = if args.file == Path::new("-") {
        "<stdin>".to_string()
    } else {
        args.file.display().to_string()
    };
    let text = match read_input(&args.file) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(stderr, "error: {shown}: cannot read: {e}");
            return ExitCode::from(EXIT_IO);
        }
    };
    let imported = match klaxon::import::alertmanager_to_dsl(Path::new(&shown), &text) {
        Ok(i) => i,
        Err(failure) => {
            let _ = write!(stderr, "{}", failure.render());
            let n = failure.error_count();
            let _ = writeln!(
                stderr,
                "error: {shown}: {n} error{} — not converted",
                plural(n)
            );
            return ExitCode::from(EXIT_INPUT_ERRORS);
        }
    };
    for w in &imported.warnings {
        let _ = writeln!(stderr, "{}", w.render(&imported.sources));
    }
    let written = match &args.output {
        Some(path) => std::fs::write(path, &imported.dsl)
            .map_err(|e| format!("{}: cannot write: {e}", path.display())),
        None => match std::io::stdout().lock().write_all(imported.dsl.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            other => other.map_err(|e| format!("standard output: {e}")),
        },
    };
    if let Err(e) = written {
        let _ = writeln!(stderr, "error: {e}");
        return ExitCode::from(EXIT_IO);
    }
    if !args.quiet {
        let s = imported.stats;
        let _ = writeln!(
            stderr,
            "imported {} receiver{} ({} integration{}), {} route{}, {} inhibit rule{}, {} time window{}; \
             {} item{} not converted, {} secret{} moved to env()",
            s.receivers,
            plural(s.receivers),
            s.integrations,
            plural(s.integrations),
            s.routes,
            plural(s.routes),
            s.inhibits,
            plural(s.inhibits),
            s.time_windows,
            plural(s.time_windows),
            s.not_converted,
            plural(s.not_converted),
            s.secrets_to_env,
            plural(s.secrets_to_env),
        );
    }
    ExitCode::SUCCESS
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Group names declared by two different inputs, which could not be joined
/// into one file, as messages.
fn group_clashes(converted: &[Converted]) -> Vec<String> {
    let mut first_seen: HashMap<&str, &str> = HashMap::new();
    let mut clashes = Vec::new();
    for c in converted {
        for name in &c.group_names {
            match first_seen.get(name.as_str()) {
                Some(first) if *first != c.shown => clashes.push(format!(
                    "group `{name}` of {} has the same name as a group of {first}",
                    c.shown
                )),
                Some(_) => {}
                None => {
                    first_seen.insert(name, &c.shown);
                }
            }
        }
    }
    clashes
}

/// The directory every input is in (the inputs' layout below it is kept).
fn common_dir(paths: &[&Path]) -> PathBuf {
    let mut parents = paths
        .iter()
        .map(|p| p.parent().map(Path::to_path_buf).unwrap_or_default());
    let Some(mut common) = parents.next() else {
        return PathBuf::new();
    };
    for parent in parents {
        while !parent.starts_with(&common) {
            if !common.pop() {
                return PathBuf::new();
            }
        }
    }
    common
}

/// Writes each input's DSL to `dir`, at the input's path below the inputs'
/// common directory, with the extension `.rules`.
fn write_per_input(dir: &Path, converted: &[Converted]) -> Result<(), String> {
    let files: Vec<&Path> = converted
        .iter()
        .filter(|c| c.path != Path::new("-"))
        .map(|c| c.path.as_path())
        .collect();
    let base = common_dir(&files);
    for c in converted {
        let relative = if c.path == Path::new("-") {
            PathBuf::from("stdin")
        } else {
            c.path
                .strip_prefix(&base)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| c.path.file_name().map(PathBuf::from).unwrap_or_default())
        };
        let target = dir.join(relative).with_extension("rules");
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("{}: cannot create: {e}", parent.display()))?;
        }
        std::fs::write(&target, &c.text)
            .map_err(|e| format!("{}: cannot write: {e}", target.display()))?;
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod pow_tests {
    use super::pow;

    /// The replacement must answer what C's pow answers: swapped arguments
    /// or a wrong special case would skew tokio's statistics and histogram
    /// buckets without any error.
    #[test]
    fn pow_matches_c_semantics() {
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(pow(10.0, -2.0), 0.01);
        assert_eq!(pow(2.0, 0.5), std::f64::consts::SQRT_2);
        assert_eq!(pow(0.0, 0.0), 1.0);
        assert_eq!(pow(-1.0, f64::INFINITY), 1.0);
        assert_eq!(pow(-2.0, 3.0), -8.0);
        assert!(pow(-8.0, 1.0 / 3.0).is_nan());
        let e_ish = pow(1.0 + 1e-4, 1e4);
        assert!((e_ish - 2.718_145_926_825_225_6).abs() < 1e-12, "{e_ish}");
    }
}
