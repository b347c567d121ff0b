//! Building a configuration: rule files loaded by the one load policy
//! ([`crate::model::load::plan_load`]), validated, secrets read, datasource
//! and receiver clients created, rules compiled — without starting
//! anything. What `klaxon serve` starts with and what a reload swaps in
//! whole, or not at all.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::diag::{Diagnostic, Level, SourceMap};
use crate::eval::engine::GroupRuntime;
use crate::eval::rule::CompiledRule;
use crate::model::load::{LoadPlan, load_alone, load_key, plan_load};
use crate::model::{Loaded, NotifierConfig};
use crate::notify::receivers::{ReceiverContext, Receivers, build_receivers_located};
use crate::notify::time_window::TimeWindows;
use crate::source::{HttpSettings, Source};

use super::ServeOptions;

/// A configuration, built and ready to run.
pub struct BuiltConfig {
    pub(super) groups: Vec<GroupRuntime>,
    pub(super) sources: HashMap<String, Source>,
    /// Warnings found while loading, rendered.
    pub warnings: Vec<String>,
    /// Number of rules, for logs and the reload answer.
    pub rule_count: usize,
    /// The DSL files' notification blocks: routes and inhibit rules are
    /// read from it, receivers and time windows are built below.
    notifier: NotifierConfig,
    receivers: Receivers,
    windows: TimeWindows,
    /// The DSL files' text, for Alertmanager's `/api/v2/status`.
    config_text: String,
}

impl BuiltConfig {
    /// What replicas compare before sharing work: the same hash means the
    /// same groups, rules (by key: query, thresholds, labels) and
    /// notification blocks.
    pub(super) fn config_hash(&self) -> String {
        use std::hash::Hasher;
        let mut h = fnv::FnvHasher::default();
        h.write(self.config_text.as_bytes());
        for g in &self.groups {
            h.write(&[0xFF]);
            h.write(g.file.as_bytes());
            h.write(&[0xFE]);
            h.write(g.name.as_bytes());
            h.write(&g.interval.as_millis().to_le_bytes());
            for r in &g.rules {
                h.write(&[0xFD]);
                h.write(r.rule.key.as_bytes());
            }
        }
        format!("{:016x}", h.finish())
    }

    /// The notifier's part: the receivers and time windows built with the
    /// rest, the routing tree for this external URL.
    pub(super) fn notify_config(&self, external_url: &str) -> crate::notify::NotifyConfig {
        crate::notify::NotifyConfig::from_parts(
            &self.notifier,
            self.receivers.clone(),
            self.windows.clone(),
            external_url,
            self.config_text.clone(),
        )
    }
}

/// Loads and validates every rule file, reads secrets and builds the
/// datasource and receiver clients, without starting anything: what
/// `klaxon serve` starts and reloads with. Errors are rendered diagnostics
/// (file:line:col, the line, a caret), but for problems outside the files.
pub fn build_config(opts: &ServeOptions) -> Result<BuiltConfig, Vec<String>> {
    let plan = plan_load(&rule_arguments(opts)?);
    let mut errors = plan.io_errors.clone();
    let mut warnings = Vec::new();
    // klaxon files load as one set, since rules refer to datasources
    // declared elsewhere.
    let dsl = plan.load_together();
    collect_diagnostics(&dsl, &mut errors, &mut warnings);
    if !errors.is_empty() {
        return Err(errors);
    }
    let Components {
        mut sources,
        receivers,
        windows,
    } = build_components(&dsl)?;
    if let Some(url) = &opts.prometheus_url {
        add_default_prometheus(&mut sources, url)?;
    }

    let mut compiled = CompiledSet::default();
    compiled.add(&dsl, &sources, opts.evaluation_interval);
    let notifier = dsl.rules.notifier_config();
    let config_text = config_text(&dsl.sources);
    drop(dsl);
    compile_prometheus_files(
        &plan,
        &sources,
        opts,
        &mut compiled,
        &mut errors,
        &mut warnings,
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    if compiled.records > 0 {
        warnings.push(format!(
            "{} recording rule(s) are evaluated (health shows in /api/v1/rules) but their results are not written anywhere: klaxon has no remote-write output yet; keep recording rules in Prometheus",
            compiled.records
        ));
    }
    if let Some(place) = compiled.missing_default {
        return Err(vec![format!(
            "{place}: this rule queries the default Prometheus, but none is configured: start with --prometheus.url URL or declare `datasource prometheus default {{ url \"...\" }}`"
        )]);
    }
    Ok(BuiltConfig {
        rule_count: compiled.groups.iter().map(|g| g.rules.len()).sum(),
        groups: compiled.groups,
        sources,
        warnings,
        notifier,
        receivers,
        windows,
        config_text,
    })
}

/// `--config` and `--rules`, in that order; none is an error.
fn rule_arguments(opts: &ServeOptions) -> Result<Vec<PathBuf>, Vec<String>> {
    let args: Vec<PathBuf> = opts
        .config
        .iter()
        .cloned()
        .chain(opts.rules.iter().map(PathBuf::from))
        .collect();
    if args.is_empty() {
        return Err(vec![
            "no rules to evaluate: pass --config FILE or --rules GLOB (DSL .rules or Prometheus .yml)"
                .into(),
        ]);
    }
    Ok(args)
}

/// The clients and compiled parts of the DSL files' declarations.
struct Components {
    sources: HashMap<String, Source>,
    receivers: Receivers,
    windows: TimeWindows,
}

/// Reads secrets and creates the datasource and receiver clients and the
/// time windows; what cannot be built is reported where the setting is
/// written.
fn build_components(dsl: &Loaded) -> Result<Components, Vec<String>> {
    let mut errors = Vec::new();
    let render = |diagnostics: Vec<Diagnostic>| -> Vec<String> {
        diagnostics.iter().map(|d| d.render(&dsl.sources)).collect()
    };
    let mut sources: HashMap<String, Source> = HashMap::new();
    for ds in &dsl.rules.datasources {
        match Source::build(ds) {
            Ok(source) => {
                sources.insert(ds.name.clone(), source);
            }
            Err(diagnostics) => errors.extend(render(diagnostics)),
        }
    }
    let receivers = build_receivers_located(&dsl.rules, &ReceiverContext::default())
        .unwrap_or_else(|diagnostics| {
            errors.extend(render(diagnostics));
            Receivers::default()
        });
    let windows = TimeWindows::compile(&dsl.rules.time_windows).unwrap_or_else(|e| {
        errors.extend(e);
        TimeWindows::default()
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Components {
        sources,
        receivers,
        windows,
    })
}

/// Adds `--prometheus.url` as the datasource `default`.
fn add_default_prometheus(
    sources: &mut HashMap<String, Source>,
    url: &str,
) -> Result<(), Vec<String>> {
    if sources.contains_key("default") {
        return Err(vec![
            "--prometheus.url is set and a `datasource prometheus default` is declared; keep one of them".into(),
        ]);
    }
    let settings = HttpSettings::for_url(url);
    if !(settings.url.starts_with("http://") || settings.url.starts_with("https://")) {
        return Err(vec![format!(
            "--prometheus.url `{url}` is not an http:// or https:// URL"
        )]);
    }
    let source = crate::source::prometheus::PrometheusSource::new("default", &settings)
        .map_err(|e| vec![e.to_string()])?;
    sources.insert("default".into(), Source::Prometheus(source));
    Ok(())
}

/// The DSL files' text, each after a `# PATH` line.
fn config_text(sources: &SourceMap) -> String {
    sources
        .files()
        .map(|(_, f)| format!("# {}\n{}", f.path.display(), f.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads, compiles and drops each Prometheus rule file in turn, so their
/// parse trees never sit in memory together; a file named twice is
/// compiled once, as `rulecheck` checks it once.
fn compile_prometheus_files(
    plan: &LoadPlan,
    sources: &HashMap<String, Source>,
    opts: &ServeOptions,
    compiled: &mut CompiledSet,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for file in &plan.alone {
        if !seen.insert(load_key(file)) {
            continue;
        }
        match load_alone(file) {
            Ok(loaded) => {
                collect_diagnostics(&loaded, errors, warnings);
                if errors.is_empty() {
                    compiled.add(&loaded, sources, opts.evaluation_interval);
                }
            }
            Err(message) => errors.push(message),
        }
    }
}

fn collect_diagnostics(loaded: &Loaded, errors: &mut Vec<String>, warnings: &mut Vec<String>) {
    errors.extend(loaded.io_errors.iter().cloned());
    for d in &loaded.diagnostics {
        match d.level {
            Level::Error => errors.push(d.render(&loaded.sources)),
            _ => warnings.push(d.short(&loaded.sources)),
        }
    }
}

/// Groups compiled so far, file by file.
#[derive(Default)]
struct CompiledSet {
    groups: Vec<GroupRuntime>,
    records: usize,
    /// `file:line:col` of the first rule that needs a default datasource
    /// when none is configured.
    missing_default: Option<String>,
    /// One copy of each repeated short text across all groups' rules.
    texts: crate::eval::templating::SharedTexts,
}

impl CompiledSet {
    fn add(
        &mut self,
        loaded: &Loaded,
        sources: &HashMap<String, Source>,
        default_interval: Duration,
    ) {
        for g in &loaded.rules.groups {
            let file = loaded
                .sources
                .get(g.file)
                .map(|f| f.path.display().to_string())
                .unwrap_or_default();
            let interval = g
                .interval
                .map(|d| d.to_std())
                .filter(|d| !d.is_zero())
                .unwrap_or(default_interval);
            let mut rules = Vec::new();
            let mut seen_keys: HashMap<String, usize> = HashMap::new();
            for r in &g.rules {
                let mut compiled = CompiledRule::compile(r, g, &file, &mut self.texts);
                if &*compiled.datasource == "default"
                    && !sources.contains_key("default")
                    && self.missing_default.is_none()
                {
                    let (path, line, col) = loaded.sources.locate(r.span);
                    self.missing_default = Some(format!("{path}:{line}:{col}"));
                }
                if compiled.alert.is_none() {
                    self.records += 1;
                }
                // Two identical rules in one group get distinct keys.
                let n = seen_keys.entry(compiled.key.clone()).or_default();
                if *n > 0 {
                    compiled.key = crate::eval::rule_key::nth_duplicate(&compiled.key, *n);
                }
                *n += 1;
                rules.push(compiled);
            }
            self.groups.push(GroupRuntime::new(
                g.name.as_str().into(),
                file,
                interval,
                g.limit,
                rules,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(rules: Vec<String>) -> ServeOptions {
        ServeOptions {
            config: None,
            rules,
            // Never queried: building a datasource sends nothing.
            prometheus_url: Some("http://127.0.0.1:9".into()),
            data_dir: PathBuf::from("unused"),
            storage_cache_bytes: 1 << 20,
            listen: "127.0.0.1:0".into(),
            connections: Default::default(),
            alertmanager_urls: Vec::new(),
            external_url: None,
            external_labels: Vec::new(),
            evaluation_interval: Duration::from_secs(60),
            resend_delay: Duration::from_secs(60),
            max_concurrent_queries: 1,
            notify: Default::default(),
            cluster: None,
        }
    }

    /// What `rulecheck` checks once, serve runs once: a Prometheus rule
    /// file named twice (here again through its directory) is compiled
    /// once, beside the DSL file given with it.
    #[test]
    fn a_prometheus_file_named_twice_runs_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let yaml = dir.path().join("a.yml");
        std::fs::write(
            &yaml,
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("b.rules"),
            "group h {\n  alert Slow {\n    query prometheus `latency`\n    warning when value > 1\n  }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let built = build_config(&options(vec![
            yaml.display().to_string(),
            dir.path().display().to_string(),
        ]))
        .unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
        assert_eq!(built.rule_count, 2);
        let names: Vec<&str> = built.groups.iter().map(|g| g.name.as_ref()).collect();
        assert_eq!(names, ["h", "g"]);
    }

    #[test]
    fn no_rule_file_is_an_error_that_says_what_to_pass() {
        let errors = build_config(&options(Vec::new())).err().unwrap_or_default();
        assert_eq!(
            errors,
            [
                "no rules to evaluate: pass --config FILE or --rules GLOB (DSL .rules or Prometheus .yml)"
            ]
        );
    }
}
