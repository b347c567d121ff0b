//! `klaxon`: the alerting rules engine's command line.
//!
//! For now it converts Prometheus rule files into the klaxon rule language
//! (`klaxon import prometheus`). Exit status: 0 on success, 1 when an input
//! has errors (printed with file, line and column), 2 when a file cannot be
//! read or written.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use klaxon::import::{ImportStats, prometheus_to_dsl};

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
                  Start by converting existing Prometheus rules:\n  \
                  klaxon import prometheus rules/*.yml -o rules/imported.rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert rules from another format into the klaxon rule language.
    #[command(subcommand)]
    Import(ImportFormat),
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
    /// errors are refused and nothing is written.
    #[command(after_help = "Examples:\n  \
        klaxon import prometheus alerts.yml\n  \
        klaxon import prometheus rules/*.yml -o rules/imported.rules\n  \
        cat alerts.yml | klaxon import prometheus -")]
    Prometheus(ImportPrometheus),
}

#[derive(Args, Debug)]
struct ImportPrometheus {
    /// Prometheus rule files to convert, in order; `-` reads standard input.
    /// Several files are joined, each after a `# imported from PATH` line.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Write the rules to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Do not print the summary of what was converted.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Import(ImportFormat::Prometheus(args)) => import_prometheus(&args),
    }
}

/// Reads a file, or standard input for `-`.
fn read_input(path: &Path) -> std::io::Result<String> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(path)?
    };
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn import_prometheus(args: &ImportPrometheus) -> ExitCode {
    let mut io_failed = false;
    let mut input_failed = false;
    let mut parts: Vec<String> = Vec::new();
    let mut total = ImportStats::default();
    // Group name → first input that declared it, to warn about clashes once
    // the inputs share one output file.
    let mut group_origin: HashMap<String, String> = HashMap::new();
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
                if args.files.len() > 1 {
                    warn_on_group_clashes(
                        &imported.group_names,
                        &shown,
                        &mut group_origin,
                        &mut stderr,
                    );
                }
                total.add(imported.stats);
                parts.push(format!("# imported from {shown}\n{}", imported.dsl));
            }
            Err(failure) => {
                let _ = write!(stderr, "{}", failure.render());
                let n = failure.error_count();
                let _ = writeln!(
                    stderr,
                    "error: {shown}: {n} error{} — not converted",
                    if n == 1 { "" } else { "s" }
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

    let output = parts.join("\n");
    let written = match &args.output {
        Some(path) => std::fs::write(path, &output)
            .map_err(|e| format!("{}: cannot write: {e}", path.display())),
        None => match std::io::stdout().lock().write_all(output.as_bytes()) {
            // The reader stopped early (`klaxon import .. | head`): not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            other => other.map_err(|e| format!("standard output: {e}")),
        },
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Warns when an input declares a group name an earlier input already used:
/// joined into one file, the two groups would clash.
fn warn_on_group_clashes(
    names: &[String],
    shown: &str,
    seen: &mut HashMap<String, String>,
    stderr: &mut impl std::io::Write,
) {
    for name in names {
        match seen.get(name) {
            Some(first) if first != shown => {
                let _ = writeln!(
                    stderr,
                    "warning: group `{name}` of {shown} has the same name as a group of {first}; \
                     rename one before loading the output as one file"
                );
            }
            Some(_) => {}
            None => {
                seen.insert(name.clone(), shown.to_string());
            }
        }
    }
}
