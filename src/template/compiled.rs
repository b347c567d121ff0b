//! Templates compiled once per rule: the public face of the runtime.
//!
//! Rules generated from one pattern repeat the same annotation text
//! thousands of times, so the parsed program of an alert template is shared
//! by text (held weakly, so it lives as long as some rule uses it, and a
//! reload that keeps the text reuses it); only the name is per rule.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher as _};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::exec::Program;
use super::functions::TemplateQuery;
use super::value::TemplateData;
use crate::vocab::go::quote;

/// The variables Prometheus defines in front of every alert template, as
/// it prepends them (`rules/alerting.go`).
pub const ALERT_TEMPLATE_PRELUDE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// A template parsed once and executed for every alert of a rule.
///
/// The parsed text is shared: every alert template compiled with the same
/// text (rules generated from one pattern repeat their annotations
/// thousands of times) points at one [`Program`], kept for as long as any
/// rule uses it. Only the name, which differs per rule, is the rule's own.
#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    /// The template's name, `__alert_<rule>` for alert templates.
    name: Arc<str>,
    prog: Arc<Program>,
}

/// Programs of alert templates by a hash of their text, held weakly: a
/// program lives as long as a rule uses it, and a reload that keeps a
/// template's text reuses the running rule's program.
static SHARED_PROGRAMS: Mutex<SharedPrograms> = Mutex::new(SharedPrograms {
    by_text: None,
    prune_at: 0,
});

struct SharedPrograms {
    by_text: Option<HashMap<u64, Weak<Program>, BuildHasherDefault<fnv::FnvHasher>>>,
    /// Entries at which dead ones are next swept out.
    prune_at: usize,
}

impl SharedPrograms {
    /// The program for `text` with the alert prelude, parsed only when no
    /// live one exists.
    fn get_or_parse(&mut self, text: &str, name: &str) -> Result<Arc<Program>, String> {
        let key = {
            let mut h = fnv::FnvHasher::default();
            h.write(text.as_bytes());
            h.finish()
        };
        let by_text = self.by_text.get_or_insert_with(HashMap::default);
        if let Some(prog) = by_text.get(&key).and_then(Weak::upgrade)
            && &*prog.text == text
        {
            return Ok(prog);
        }
        let prog = Arc::new(Program::parse(text, name, ALERT_TEMPLATE_PRELUDE.len())?);
        by_text.insert(key, Arc::downgrade(&prog));
        if by_text.len() >= self.prune_at {
            by_text.retain(|_, p| p.strong_count() > 0);
            self.prune_at = (by_text.len() * 2).max(64);
        }
        Ok(prog)
    }
}

/// Expands `text` the way Prometheus's `Expander.Expand` does for a
/// template named `name`: `Ok` with the output, or `Err` with Go's error
/// text (`error parsing template ...` / `error executing template ...`).
/// Prometheus's variables (`$labels`, `$value`, ...) are defined, but no
/// prelude is counted in error columns.
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData<'_>,
    query: Option<&dyn TemplateQuery>,
) -> Result<String, String> {
    let compiled = CompiledTemplate::with_program(name.into(), Program::parse(text, name, 0)?)?;
    compiled.run(data, query)
}

/// What Prometheus puts into an alert label or annotation: the expansion of
/// `text` for the rule `rule_name`, or `<error expanding template: ...>`
/// with Go's message, columns counted as if the variable prelude were
/// there (as it is in Prometheus).
pub fn expand_alert_template(
    rule_name: &str,
    text: &str,
    data: &TemplateData<'_>,
    query: Option<&dyn TemplateQuery>,
) -> String {
    match CompiledTemplate::compile(rule_name, text) {
        Ok(compiled) => compiled.execute(data, query),
        Err(error) => format!("<error expanding template: {error}>"),
    }
}

impl CompiledTemplate {
    /// Parses an alert label or annotation template of the rule
    /// `rule_name` once; `Err` is Prometheus's parse error text (`error
    /// parsing template __alert_<rule>: template: ...`).
    pub fn compile(rule_name: &str, text: &str) -> Result<CompiledTemplate, String> {
        Self::compile_named(&Self::alert_name(rule_name), text)
    }

    /// The name Prometheus gives the templates of rule `rule_name`, to
    /// share between them with [`CompiledTemplate::compile_named`].
    pub fn alert_name(rule_name: &str) -> Arc<str> {
        format!("__alert_{rule_name}").into()
    }

    /// [`CompiledTemplate::compile`] for a template named `name` (as
    /// [`CompiledTemplate::alert_name`] makes it): the templates of one rule
    /// share their name.
    pub fn compile_named(name: &Arc<str>, text: &str) -> Result<CompiledTemplate, String> {
        let prog = SHARED_PROGRAMS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_parse(text, name)?;
        Self::checked(Arc::clone(name), prog)
    }

    fn with_program(name: Arc<str>, prog: Program) -> Result<CompiledTemplate, String> {
        Self::checked(name, Arc::new(prog))
    }

    /// Go refuses a template that defines a non-empty template of its own name.
    fn checked(name: Arc<str>, prog: Arc<Program>) -> Result<CompiledTemplate, String> {
        if let Some(clash) = prog.tree.definition(&name)
            && !clash.body.is_empty()
        {
            return Err(format!(
                "error parsing template {name}: template: {name}:1: template: multiple definition of template {}",
                quote(&name)
            ));
        }
        Ok(CompiledTemplate { name, prog })
    }

    /// The template text as written (without the prelude).
    pub fn text(&self) -> &str {
        &self.prog.text
    }

    /// The template's name (`__alert_<rule>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Expands the template for one alert: the output, or
    /// `<error expanding template: ...>` as Prometheus writes it.
    pub fn execute(&self, data: &TemplateData<'_>, query: Option<&dyn TemplateQuery>) -> String {
        match self.run(data, query) {
            Ok(out) => out,
            Err(error) => format!("<error expanding template: {error}>"),
        }
    }

    /// Expands the template: the output or Go's error text.
    pub fn run(
        &self,
        data: &TemplateData<'_>,
        query: Option<&dyn TemplateQuery>,
    ) -> Result<String, String> {
        self.prog.run(&self.name, data, query)
    }
}
