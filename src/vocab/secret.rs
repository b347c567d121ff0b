//! Where a secret comes from (`env("NAME")`, `file("path")`, or written in
//! the file), and the one function that reads it when a configuration is
//! built.

use std::path::Path;

use super::user_file;

/// Where a secret or setting value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretValue {
    /// Written in the file.
    Literal(String),
    /// `env("NAME")`.
    Env(String),
    /// `file("path")`.
    File(String),
}

impl SecretValue {
    /// Reads the secret's text: the environment variable, or the file
    /// without its trailing newline. The message says what to fix.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            SecretValue::Literal(s) => Ok(s.clone()),
            SecretValue::Env(name) => {
                std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))
            }
            SecretValue::File(path) => {
                let bytes = user_file::read(Path::new(path), user_file::MAX_SMALL_FILE_BYTES)
                    .map_err(|e| format!("cannot read `{path}`: {e}"))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("cannot read `{path}`: not UTF-8 text"))?;
                Ok(text.trim_end_matches(['\n', '\r']).to_string())
            }
        }
    }
}
