//! The seam between the evaluator and the template engine: label and
//! annotation templates are compiled once per rule and expanded per alert
//! with Prometheus's data (`$labels`, `$value`, `$externalLabels`,
//! `$externalURL`).

use std::collections::HashSet;
use std::sync::Arc;

use crate::template::{CompiledTemplate, TemplateData};
use crate::vocab::labels::Labels;

/// What every template of a running configuration sees besides the alert.
#[derive(Debug, Clone, Default)]
pub struct TemplateEnv {
    /// `--external-label`s (`$externalLabels`).
    pub external_labels: Labels,
    /// `--external-url` (`$externalURL`).
    pub external_url: String,
}

/// One copy of each short text a configuration's rules repeat (label and
/// annotation names, plain label values, datasource names), so a thousand
/// rules with `severity: critical` hold one `critical`, not a thousand:
/// at 1,000 rules that is about 7,000 fewer allocations. Used while a
/// configuration is compiled and then dropped; the texts live as long as
/// the rules that share them, so a reload frees the old ones.
#[derive(Debug, Default)]
pub struct SharedTexts(HashSet<Arc<str>>);

impl SharedTexts {
    /// The shared copy of `text`, made on first use.
    pub fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = text.into();
        self.0.insert(shared.clone());
        shared
    }
}

/// One label or annotation value, compiled once per rule.
#[derive(Debug, Clone)]
pub struct Template(Compiled);

#[derive(Debug, Clone)]
enum Compiled {
    /// Text without `{{`, which expands to itself: most label values
    /// (`severity: critical`) need no parse tree kept in memory, and the
    /// rules of one configuration share one copy of each text.
    Plain(Arc<str>),
    /// A parsed template (its tree shared with every other rule's
    /// template of the same text).
    Parsed(CompiledTemplate),
    /// A template that does not parse, with Prometheus's error text.
    Invalid { text: Box<str>, error: Box<str> },
}

impl Template {
    /// Compiles `text` for rule `rule_name` (the name shows in Go-style
    /// error messages, as `__alert_<name>`). A template that does not parse
    /// still compiles: every expansion then shows Prometheus's error text.
    pub fn compile(rule_name: &str, text: &str) -> Self {
        Self::compile_named(
            &CompiledTemplate::alert_name(rule_name),
            text,
            &mut SharedTexts::default(),
        )
    }

    /// [`Template::compile`] with the template name already made by
    /// [`CompiledTemplate::alert_name`], so the templates of one rule share
    /// it, and plain texts taken from `texts`, so every rule of a
    /// configuration shares them.
    pub fn compile_named(name: &Arc<str>, text: &str, texts: &mut SharedTexts) -> Self {
        if !text.contains("{{") {
            return Template(Compiled::Plain(texts.get(text)));
        }
        Template(match CompiledTemplate::compile_named(name, text) {
            Ok(t) => Compiled::Parsed(t),
            Err(e) => Compiled::Invalid {
                text: text.into(),
                error: e.into(),
            },
        })
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        match &self.0 {
            Compiled::Plain(text) => text,
            Compiled::Invalid { text, .. } => text,
            Compiled::Parsed(t) => t.text(),
        }
    }

    /// Expands for one alert with `$labels` = the sample's labels
    /// (`__name__` included, as Prometheus) and `$value`; a template error
    /// becomes the value `<error expanding template: ...>`, as in
    /// Prometheus, instead of failing the rule.
    pub fn expand(&self, env: &TemplateEnv, labels: &Labels, value: f64) -> String {
        match &self.0 {
            Compiled::Plain(text) => text.to_string(),
            Compiled::Parsed(t) => t.execute(
                &TemplateData {
                    labels,
                    external_labels: &env.external_labels,
                    external_url: &env.external_url,
                    value,
                },
                None,
            ),
            Compiled::Invalid { error, .. } => format!("<error expanding template: {error}>"),
        }
    }
}
