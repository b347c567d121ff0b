//! The seam between the evaluator and the template engine: label and
//! annotation templates are compiled once per rule and expanded per alert
//! with Prometheus's data (`$labels`, `$value`, `$externalLabels`,
//! `$externalURL`).

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
pub struct Template {
    text: String,
    compiled: Result<CompiledTemplate, String>,
}

impl Template {
    /// Compiles `text` for rule `rule_name` (the name shows in Go-style
    /// error messages, as `__alert_<name>`). A template that does not parse
    /// still compiles: every expansion then shows Prometheus's error text.
    pub fn compile(rule_name: &str, text: &str) -> Self {
        Template {
            text: text.to_string(),
            compiled: CompiledTemplate::compile(rule_name, text),
        }
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Expands for one alert with `$labels` = the sample's labels
    /// (`__name__` included, as Prometheus) and `$value`; a template error
    /// becomes the value `<error expanding template: ...>`, as in
    /// Prometheus, instead of failing the rule.
    pub fn expand(&self, env: &TemplateEnv, labels: &Labels, value: f64) -> String {
        match &self.compiled {
            Ok(t) => t.execute(
                &TemplateData {
                    labels,
                    external_labels: &env.external_labels,
                    external_url: &env.external_url,
                    value,
                },
                None,
            ),
            Err(e) => format!("<error expanding template: {e}>"),
        }
    }
}
