//! `rulecheck`: the linter teams run in CI on every rule change.
//!
//! Loads klaxon DSL files and Prometheus rule files exactly as the server
//! does, reports every load error and every lint finding, and exits non-zero
//! when something at or above `--fail-on` was found. `rulecheck fmt` prints
//! DSL files in canonical layout.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand};

use klaxon::check::output::{self, Format};
use klaxon::check::{LINTS, LintOptions, lint_info, report, suggest_lint};
use klaxon::diag::{Level, SourceMap};
use klaxon::lang;
use klaxon::model::load::{
    LoadOptions, LoadPlan, Syntax, expand_paths, load_alone, load_files, load_key, plan_load,
    syntax_of,
};
use klaxon::user_file;
use klaxon::vocab::time::{Duration, parse_duration};

/// Exit status when nothing at or above `--fail-on` was found.
const EXIT_CLEAN: u8 = 0;
/// Exit status when findings reach `--fail-on` (or `fmt` refused or would change a file).
const EXIT_PROBLEMS: u8 = 1;
/// Exit status for a usage error or a path that cannot be read or matches nothing.
const EXIT_USAGE: u8 = 2;

const AFTER_HELP: &str = "\
Exit status:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on
  2  usage error, or a path that cannot be read or matches no file

Paths: files ending in .yml/.yaml are Prometheus rule files, anything else named
explicitly is klaxon DSL; directories contribute their .rules, .yml and .yaml files;
quote globs so rulecheck expands them (\"rules/**/*.yml\").
A path called `fmt` is read as the fmt subcommand: write `./fmt` to check that file.

Disable lints for one file with a comment anywhere in it:
  # rulecheck disable=promql/rate-non-counter,alert/missing-runbook
Lint ids and what they find: `rulecheck --list-lints` and docs/lints.md.";

/// Lints klaxon rule files and Prometheus rule files.
#[derive(Debug, Parser)]
#[command(
    name = "rulecheck",
    version,
    about = "Lint klaxon rule files and Prometheus rule files",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    check: CheckArgs,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Rule files, directories or quoted globs to check. Included files are
    /// followed and checked too.
    #[arg(value_name = "PATH|GLOB", required_unless_present = "list_lints")]
    paths: Vec<PathBuf>,

    /// How to print findings: `text` for people (source line and caret, then a
    /// summary), `json` for scripts, `github` for GitHub Actions annotations,
    /// `checkstyle` for CI dashboards that read checkstyle XML.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = Format::Text,
        env = "RULECHECK_FORMAT"
    )]
    format: Format,

    /// Exit with status 1 when a finding is at least this serious. `error`
    /// fails only on rules klaxon would refuse to load; `warning` also on
    /// lints; `info` on everything.
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "error",
        env = "RULECHECK_FAIL_ON",
        value_parser = PossibleValuesParser::new(["error", "warning", "info"])
            .map(|s| s.parse::<Level>().unwrap_or(Level::Error))
    )]
    fail_on: Level,

    /// Turn a lint off for every file (repeat, or separate ids with commas).
    /// Load errors cannot be turned off.
    #[arg(
        long = "disable",
        value_name = "ID",
        value_delimiter = ',',
        env = "RULECHECK_DISABLE"
    )]
    disable: Vec<String>,

    /// How often Prometheus scrapes the metrics the rules read. Ranges under
    /// rate() and *_over_time(), and the `for` of absent() alerts, should be at
    /// least twice this.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        env = "RULECHECK_SCRAPE_INTERVAL",
        value_parser = parse_scrape_interval
    )]
    scrape_interval: Duration,

    /// Print every lint id with its level and what it finds, then exit.
    #[arg(long)]
    list_lints: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print klaxon DSL files in canonical layout (Prometheus YAML files are
    /// not formatted). Files with syntax errors are refused.
    #[command(after_help = "\
Exit status:
  0  formatted (or, with --check, already formatted)
  1  a file has syntax errors, or with --check a file would change
  2  usage error, or a file cannot be read")]
    Fmt(FmtArgs),
}

#[derive(Debug, Args)]
struct FmtArgs {
    /// Rewrite each file in place when its layout is not canonical.
    #[arg(long, conflicts_with = "check")]
    write: bool,

    /// Change nothing; list files whose layout is not canonical and exit
    /// with status 1 if there are any (for CI).
    #[arg(long)]
    check: bool,

    /// DSL files, directories (their .rules files) or quoted globs. Without
    /// --write or --check, exactly one file, printed to standard output.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

fn parse_scrape_interval(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d == Duration(0) {
        return Err("the scrape interval must be longer than 0s".to_string());
    }
    Ok(d)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        Some(Command::Fmt(args)) => run_fmt(&args),
        None => run_check(&cli.check),
    };
    ExitCode::from(status)
}

fn usage_error(message: &str) -> u8 {
    eprintln!("rulecheck: error: {message}");
    EXIT_USAGE
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`rulecheck ... | head`) is not worth a panic.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn list_lints() -> u8 {
    let width = LINTS.iter().map(|l| l.id.len()).max().unwrap_or(0);
    let mut text = String::new();
    for lint in LINTS {
        text.push_str(&format!(
            "{:width$}  {:7}  {}\n",
            lint.id,
            lint.level.as_str(),
            lint.summary
        ));
    }
    print_stdout(&text);
    EXIT_CLEAN
}

fn run_check(args: &CheckArgs) -> u8 {
    if args.list_lints {
        return list_lints();
    }
    for id in &args.disable {
        if lint_info(id).is_none() {
            let hint = suggest_lint(id)
                .map(|h| format!("; {h}"))
                .unwrap_or_else(|| "; see `rulecheck --list-lints`".to_string());
            return usage_error(&format!("--disable: `{id}` is not a lint{hint}"));
        }
    }
    let options = LintOptions {
        scrape_interval: args.scrape_interval,
        disabled: args.disable.clone(),
    };
    let mut stream = output::Stream::new(
        args.format,
        BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout().lock()),
    );
    let outcome = check_as_served(plan_load(&args.paths), &options, &mut stream);
    // A closed pipe (`rulecheck ... | head`) is not worth a panic, nor an error.
    let mut out = stream.finish(outcome.checked_files).ok();
    if !outcome.io_errors.is_empty() {
        for message in &outcome.io_errors {
            if args.format == Format::Github
                && let Some(out) = out.as_mut()
            {
                let _ = writeln!(
                    out,
                    "::error title=rulecheck::{}",
                    output::github_escape_data(message)
                );
                let _ = out.flush();
            }
            eprintln!("rulecheck: error: {message}");
        }
        return EXIT_USAGE;
    }
    if outcome.counts.any_at_least(args.fail_on) {
        EXIT_PROBLEMS
    } else {
        EXIT_CLEAN
    }
}

/// Bytes of output gathered before each write to standard output.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Files a worker may run ahead of the one being printed, so results
/// waiting for their turn never pile up in memory.
const AHEAD: usize = 32;

/// Most threads checking files at once: beyond this, more threads mostly
/// add memory.
const MAX_THREADS: usize = 8;

/// Stack of each checking thread: twice the main thread's usual 8 MiB, as
/// parsing deeply nested expressions recurses.
const THREAD_STACK: usize = 16 * 1024 * 1024;

/// What a check run came to, once its findings are printed.
struct Outcome {
    /// Files read (the text summary's "in N files").
    checked_files: usize,
    /// Findings by level.
    counts: output::Counts,
    /// Paths that could not be read or matched nothing.
    io_errors: Vec<String>,
}

/// Checks the files as `klaxon serve` loads them ([`plan_load`]): the
/// klaxon DSL files as one set, then each Prometheus rule file on its own.
fn check_as_served<W: Write>(
    plan: LoadPlan,
    options: &LintOptions,
    stream: &mut output::Stream<W>,
) -> Outcome {
    let mut io_errors = plan.io_errors;
    let mut checked_files = 0;
    let mut counts = output::Counts::default();
    if !plan.together.is_empty() {
        let together = check_together(&plan.together, io_errors, options, stream);
        checked_files += together.checked_files;
        counts.add(together.counts);
        io_errors = together.io_errors;
    }
    let alone = check_each_file(&plan.alone, io_errors, options, stream);
    counts.add(alone.counts);
    Outcome {
        checked_files: checked_files + alone.checked_files,
        counts,
        io_errors: alone.io_errors,
    }
}

/// Loads every file together, as the server loads klaxon DSL files, since
/// those include other files and refer to each other's datasources,
/// receivers and time windows.
fn check_together<W: Write>(
    files: &[PathBuf],
    io_errors: Vec<String>,
    options: &LintOptions,
    stream: &mut output::Stream<W>,
) -> Outcome {
    let loaded = load_files(files, io_errors, &LoadOptions::default());
    let diagnostics = report(&loaded, options);
    let chunk = output::chunk(stream.format(), &diagnostics, &loaded.sources);
    let _ = stream.write_chunk(&chunk);
    Outcome {
        checked_files: loaded.sources.files().count(),
        counts: chunk.counts(),
        io_errors: loaded.io_errors,
    }
}

/// One Prometheus rule file, checked on its own.
struct FileResult {
    /// The file's identity for "load each file once".
    key: PathBuf,
    /// Its findings, rendered, or why it could not be read.
    chunk: Result<output::Chunk, String>,
}

/// Checks Prometheus rule files one by one, several at a time, printing
/// each file's findings in the order of `files` as soon as its turn comes.
/// Such files include nothing and nothing refers to them, so each alone
/// yields exactly its share of loading them all together; only one file
/// per thread is in memory at a time. As when loading them together, a
/// file named twice is checked once.
fn check_each_file<W: Write>(
    files: &[PathBuf],
    mut io_errors: Vec<String>,
    options: &LintOptions,
    stream: &mut output::Stream<W>,
) -> Outcome {
    let format = stream.format();
    let check = |index: usize| -> Option<FileResult> {
        let path = files.get(index)?;
        let chunk = load_alone(path).map(|loaded| {
            let diagnostics = report(&loaded, options);
            output::chunk(format, &diagnostics, &loaded.sources)
        });
        Some(FileResult {
            key: load_key(path),
            chunk,
        })
    };
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut checked_files = 0;
    let mut counts = output::Counts::default();
    in_order_on_threads(files.len(), check, |result| {
        let Some(FileResult { key, chunk }) = result else {
            return;
        };
        if seen.contains(&key) {
            return;
        }
        match chunk {
            Ok(chunk) => {
                seen.insert(key);
                checked_files += 1;
                counts.add(chunk.counts());
                let _ = stream.write_chunk(&chunk);
            }
            Err(message) => io_errors.push(message),
        }
    });
    Outcome {
        checked_files,
        counts,
        io_errors,
    }
}

/// Runs `work(0)`, `work(1)`, ... `work(count - 1)` on up to one thread per
/// core, handing each result to `done` in index order, on this thread.
/// Threads stay at most [`AHEAD`] items ahead of `done`. A panic in `work`
/// or `done` stops every thread and is passed on, as without threads.
fn in_order_on_threads<T: Send>(
    count: usize,
    work: impl Fn(usize) -> T + Sync,
    mut done: impl FnMut(T),
) {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_THREADS)
        .min(count);
    if threads <= 1 {
        (0..count).for_each(|i| done(work(i)));
        return;
    }
    let shared = Shared {
        progress: Mutex::new(Progress {
            next_claim: 0,
            next_done: 0,
            stopped: false,
        }),
        room: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, T)>();
        let mut spawned = 0;
        for _ in 0..threads {
            let sender = sender.clone();
            let (work, shared) = (&work, &shared);
            let worker = move || {
                let _stop = StopOnPanic(shared);
                while let Some(index) = shared.claim(count) {
                    if sender.send((index, work(index))).is_err() {
                        return;
                    }
                }
            };
            if std::thread::Builder::new()
                .stack_size(THREAD_STACK)
                .spawn_scoped(scope, worker)
                .is_ok()
            {
                spawned += 1;
            }
        }
        drop(sender);
        if spawned == 0 {
            (0..count).for_each(|i| done(work(i)));
            return;
        }
        let _stop = StopOnPanic(&shared);
        let mut waiting: BTreeMap<usize, T> = BTreeMap::new();
        let mut next = 0;
        // Ends when every thread has finished (or stopped).
        for (index, result) in receiver {
            waiting.insert(index, result);
            while let Some(result) = waiting.remove(&next) {
                done(result);
                next += 1;
                shared.lock().next_done = next;
                shared.room.notify_all();
            }
        }
    });
}

/// What the threads of [`in_order_on_threads`] share.
struct Shared {
    progress: Mutex<Progress>,
    /// Signalled when `next_done` moves or the threads must stop.
    room: Condvar,
}

struct Progress {
    /// The next item a thread will take.
    next_claim: usize,
    /// The next item `done` expects.
    next_done: usize,
    /// Set when a thread panicked: the others take nothing more.
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next item to work on, once it is at most [`AHEAD`] items ahead
    /// of `done`; `None` when there is none left or the threads stopped.
    fn claim(&self, count: usize) -> Option<usize> {
        let mut p = self.lock();
        while !p.stopped && p.next_claim < count && p.next_claim >= p.next_done + AHEAD {
            p = self.room.wait(p).unwrap_or_else(PoisonError::into_inner);
        }
        if p.stopped || p.next_claim >= count {
            return None;
        }
        p.next_claim += 1;
        Some(p.next_claim - 1)
    }
}

/// Stops every thread of [`in_order_on_threads`] when the thread holding
/// it unwinds, so none waits for an item that will never come.
struct StopOnPanic<'a>(&'a Shared);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().stopped = true;
            self.0.room.notify_all();
        }
    }
}

/// The DSL files `fmt` should format, or the usage errors that stop it.
fn fmt_targets(args: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for arg in args {
        if arg.is_file() && syntax_of(arg) == Syntax::PrometheusYaml {
            errors.push(format!(
                "{}: a Prometheus rule file; fmt formats klaxon DSL files only \
                 (`klaxon import` converts it to the DSL)",
                arg.display()
            ));
            continue;
        }
        let (found, io_errors) = expand_paths(std::slice::from_ref(arg));
        errors.extend(io_errors);
        for path in found {
            if syntax_of(&path) == Syntax::Dsl && !files.contains(&path) {
                files.push(path);
            }
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// What formatting one file came to.
enum Formatted {
    /// The canonical text (maybe equal to the input).
    Text { original: String, formatted: String },
    /// Syntax errors: the file was not formatted.
    Refused,
}

fn format_one(path: &Path) -> Result<Formatted, String> {
    let bytes = user_file::read(path, user_file::MAX_RULE_FILE_BYTES)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let original =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    let mut sources = SourceMap::new();
    let id = sources.add(path, original.clone());
    let (ast, diagnostics) = lang::parse(id, &original);
    for d in &diagnostics {
        eprint!("{}", d.render(&sources));
    }
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        eprintln!(
            "rulecheck: {} has syntax errors; fix them before formatting",
            path.display()
        );
        return Ok(Formatted::Refused);
    }
    let formatted = lang::fmt::format_file(&ast);
    // Never write out something that does not read back as the same file.
    let (again, again_diagnostics) = lang::parse(id, &formatted);
    if again_diagnostics.iter().any(|d| d.level == Level::Error)
        || again.items.len() != ast.items.len()
    {
        return Err(format!(
            "{}: internal error: the formatter's output does not parse back to the same \
             items; the file was left unchanged (please report this)",
            path.display()
        ));
    }
    Ok(Formatted::Text {
        original,
        formatted,
    })
}

/// Replaces a file's content by writing a sibling and renaming it over the
/// original, so a crash never leaves half a file.
fn write_in_place(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temp_name = path.file_name().unwrap_or_default().to_os_string();
    temp_name.push(".rulecheck-fmt.tmp");
    let temp = path.with_file_name(temp_name);
    std::fs::write(&temp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temp, meta.permissions());
    }
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

fn run_fmt(args: &FmtArgs) -> u8 {
    let files = match fmt_targets(&args.files) {
        Ok(files) => files,
        Err(errors) => {
            for e in &errors {
                eprintln!("rulecheck: error: {e}");
            }
            return EXIT_USAGE;
        }
    };
    if !args.write && !args.check && files.len() != 1 {
        return usage_error(&format!(
            "{} files to format: pass --write to rewrite them or --check to list those that would change",
            files.len()
        ));
    }
    let mut status = EXIT_CLEAN;
    let mut would_change = 0usize;
    for path in &files {
        let (original, formatted) = match format_one(path) {
            Ok(Formatted::Text {
                original,
                formatted,
            }) => (original, formatted),
            Ok(Formatted::Refused) => {
                status = status.max(EXIT_PROBLEMS);
                continue;
            }
            Err(message) => {
                eprintln!("rulecheck: error: {message}");
                status = EXIT_USAGE;
                continue;
            }
        };
        if args.check {
            if formatted != original {
                would_change += 1;
                print_stdout(&format!("{}\n", path.display()));
            }
        } else if args.write {
            if formatted != original {
                match write_in_place(path, &formatted) {
                    Ok(()) => eprintln!("formatted {}", path.display()),
                    Err(e) => {
                        eprintln!("rulecheck: error: {}: cannot write: {e}", path.display());
                        status = EXIT_USAGE;
                    }
                }
            }
        } else {
            print_stdout(&formatted);
        }
    }
    if would_change > 0 {
        eprintln!(
            "{would_change} file{} would be reformatted; run `rulecheck fmt --write`",
            if would_change == 1 { "" } else { "s" }
        );
        status = status.max(EXIT_PROBLEMS);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Prometheus rule corpus, beside the repository or above a nested
    /// worktree; `None` when it is not checked out.
    fn corpus() -> Option<PathBuf> {
        let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
        while let Some(d) = dir {
            for candidate in [
                d.join("shared/corpus/prometheus-rules"),
                d.join("../shared/corpus/prometheus-rules"),
            ] {
                if candidate.is_dir() {
                    return Some(candidate);
                }
            }
            dir = d.parent();
        }
        None
    }

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    /// Output and outcome of checking `files` one way or the other.
    fn run(
        files: &[PathBuf],
        format: Format,
        each_alone: bool,
    ) -> (String, usize, output::Counts, Vec<String>) {
        let options = LintOptions::default();
        let io_errors = vec!["given: no such file or directory".to_string()];
        let mut stream = output::Stream::new(format, Vec::new());
        let outcome = if each_alone {
            check_each_file(files, io_errors, &options, &mut stream)
        } else {
            check_together(files, io_errors, &options, &mut stream)
        };
        let bytes = stream.finish(outcome.checked_files).unwrap_or_default();
        (
            String::from_utf8_lossy(&bytes).into_owned(),
            outcome.checked_files,
            outcome.counts,
            outcome.io_errors,
        )
    }

    /// Checking Prometheus rule files one by one on several threads prints
    /// byte for byte what loading them together prints, in every format,
    /// including files named twice and files that cannot be read.
    #[test]
    fn files_checked_alone_report_as_files_checked_together() {
        let prom = fixtures().join("prom");
        let (mut files, errors) = expand_paths(&[prom.clone(), fixtures().join("lint")]);
        assert!(errors.is_empty(), "{errors:?}");
        files.retain(|f| syntax_of(f) == Syntax::PrometheusYaml);
        files.push(prom.join("happy.yml"));
        files.push(prom.join("missing.yml"));
        files.push(prom.join("../prom/promql.yml"));
        if let Some(corpus) = corpus() {
            let (found, _) = expand_paths(&[corpus]);
            files.extend(found.into_iter().take(40));
        }
        for (_, format) in Format::ALL {
            let together = run(&files, format, false);
            let alone = run(&files, format, true);
            assert_eq!(alone.0, together.0, "{format:?} output differs");
            assert_eq!(alone.1, together.1, "{format:?} file count differs");
            assert_eq!(alone.2, together.2, "{format:?} counts differ");
            assert_eq!(alone.3, together.3, "{format:?} read errors differ");
            assert!(
                together.2.errors > 0 && together.2.warnings > 0,
                "{format:?}"
            );
            assert_eq!(together.3.len(), 2, "{:?}", together.3);
        }
    }

    #[test]
    fn a_panic_while_checking_is_passed_on_instead_of_hanging() {
        let outcome = std::panic::catch_unwind(|| {
            in_order_on_threads(
                500,
                |i| {
                    assert!(i != 3, "item 3 is broken");
                    i
                },
                |_| {},
            );
        });
        assert!(outcome.is_err());
        let outcome = std::panic::catch_unwind(|| {
            in_order_on_threads(500, |i| i, |i| assert!(i != 7, "cannot print 7"));
        });
        assert!(outcome.is_err());
    }

    #[test]
    fn results_come_back_in_order_whatever_finishes_first() {
        let mut seen = Vec::new();
        in_order_on_threads(
            200,
            |i| {
                // Early items take longest, so later ones finish first.
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                i * 3
            },
            |r| seen.push(r),
        );
        assert_eq!(seen, (0..200).map(|i| i * 3).collect::<Vec<_>>());
        let mut none = Vec::new();
        in_order_on_threads(0, |i| i, |r| none.push(r));
        assert!(none.is_empty());
    }
}
