//! The seam between the evaluator and the template engine: label and
//! annotation templates are compiled once per rule and expanded per alert
//! with Prometheus's data (`$labels`, `$value`, `$externalLabels`,
//! `$externalURL`).

use std::sync::Arc;

use super::alert::Labels;
use crate::model::template::{CompiledTemplate, TemplateData};

/// What every template of a running configuration sees besides the alert.
#[derive(Debug, Clone, Default)]
pub struct TemplateEnv {
    /// `--external-label`s (`$externalLabels`).
    pub external_labels: Labels,
    /// `--external-url` (`$externalURL`).
    pub external_url: String,
}

/// One label or annotation value, compiled once per rule.
#[derive(Debug, Clone)]
pub struct Template(Compiled);

#[derive(Debug, Clone)]
enum Compiled {
    /// Text without `{{`, which expands to itself: most label values
    /// (`severity: critical`) need no parse tree kept in memory.
    Plain(Box<str>),
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
        Self::compile_named(&CompiledTemplate::alert_name(rule_name), text)
    }

    /// [`Template::compile`] with the template name already made by
    /// [`CompiledTemplate::alert_name`], so the templates of one rule share
    /// it.
    pub fn compile_named(name: &Arc<str>, text: &str) -> Self {
        if !text.contains("{{") {
            return Template(Compiled::Plain(text.into()));
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
            Compiled::Plain(text) | Compiled::Invalid { text, .. } => text,
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
