//! One typed configuration per component: each datasource kind
//! ([`datasource`]), each integration ([`slack`], [`email`], [`webhook`])
//! and time windows ([`time_window`]). A component's file holds the settings
//! it accepts (its schema), its configuration type and a pure `validate`
//! (no network, no secrets read) that turns the settings written in the file
//! into that type or into diagnostics at the offending value.
//!
//! Validation runs while the model is built, so `rulecheck` and
//! `klaxon serve` give one verdict on every file. The components themselves
//! (`source::*`, `notify::receivers::*`, `notify::time_window`) take the
//! validated type: building one only reads secrets and opens clients.
//!
//! These types live in the model, below `notify` and `source`, because the
//! loader must run them and the model may not import the modules above it;
//! they are data and pure functions, so nothing of the running components
//! comes down with them.
//!
//! A value read with `env()` or `file()` cannot be checked before it is
//! read. [`Validated::resolve`] reads such values when the configuration is
//! built and runs the same `validate` again on them, so a value read from
//! the environment meets the very checks (and messages) a written one does.

pub mod datasource;
pub mod email;
pub mod slack;
pub mod time_window;
pub mod webhook;

use std::borrow::Cow;

use crate::diag::{Diagnostic, Span, suggest};
use crate::model::{Setting, secrets};
use crate::vocab::secret::SecretValue;

/// What a setting accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Any text.
    Text,
    /// A credential: only from `env()` or `file()`.
    Secret,
    /// An http:// or https:// URL.
    Url,
    /// A Prometheus duration (`30s`).
    Duration,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// Several values.
    List,
    /// A `{ Name = "value" }` block.
    Map,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// One setting of a component's schema.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    /// The name written in the file.
    pub name: &'static str,
    /// What it accepts.
    pub kind: Kind,
}

/// A schema entry.
pub const fn spec(name: &'static str, kind: Kind) -> SettingSpec {
    SettingSpec { name, kind }
}

/// A component's configuration type.
pub trait Component: Clone + Sized {
    /// The settings it accepts.
    const SETTINGS: &'static [SettingSpec];

    /// Checks the block's settings and builds the configuration; every
    /// problem is reported on `block`. Returns `None` when a problem was
    /// found or a value is still to be read from `env()`/`file()`.
    fn validate(block: &mut Block<'_>) -> Option<Self>;
}

/// Which component a block configures, for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// `datasource KIND NAME { }`, declared at `span` (its name).
    Datasource {
        /// The datasource's name.
        name: String,
        /// Where the name was written.
        span: Span,
    },
    /// The `index`-th integration (from 0) of a receiver.
    Integration {
        /// The receiver's name.
        receiver: String,
        /// `slack`, `email` or `webhook`.
        kind: &'static str,
        /// Position in the receiver, from 0.
        index: usize,
        /// Where the integration's keyword was written.
        span: Span,
    },
    /// `time_window NAME { }`.
    TimeWindow {
        /// The window's name.
        name: String,
        /// Where the name was written.
        span: Span,
    },
}

impl Place {
    /// Where the component was declared.
    pub fn span(&self) -> Span {
        match self {
            Place::Datasource { span, .. }
            | Place::Integration { span, .. }
            | Place::TimeWindow { span, .. } => *span,
        }
    }

    /// A message about one setting, naming the component: "receiver
    /// `oncall`, slack integration #1, `token`: ...", "datasource `logs`:
    /// index: ...", "time_window `w`: weekdays ...".
    pub fn say(&self, setting: &str, message: impl std::fmt::Display) -> String {
        match self {
            Place::Datasource { name, .. } => format!("datasource `{name}`: {setting}: {message}"),
            Place::Integration {
                receiver,
                kind,
                index,
                ..
            } => format!(
                "receiver `{receiver}`, {kind} integration #{}, `{setting}`: {message}",
                index + 1
            ),
            Place::TimeWindow { name, .. } => format!("time_window `{name}`: {setting}: {message}"),
        }
    }

    /// "datasource `logs`", "the email integration", "time_window `w`":
    /// the subject of "needs `url`".
    fn subject(&self) -> String {
        match self {
            Place::Datasource { name, .. } => format!("datasource `{name}`"),
            Place::Integration { kind, .. } => format!("the {kind} integration"),
            Place::TimeWindow { name, .. } => format!("time_window `{name}`"),
        }
    }
}

/// Reads a value written as `env("NAME")` or `file("path")`.
pub type ReadSecret<'r> = &'r dyn Fn(&SecretValue) -> Result<String, String>;

/// A component's settings after validation, and the configuration when
/// every value was written in the file. Built only by validating, so a
/// configuration can come out of it only through [`Component::validate`].
#[derive(Debug, Clone)]
pub struct Validated<T> {
    settings: Vec<Setting>,
    place: Place,
    report_missing: bool,
    ready: Option<T>,
}

impl<T: Component> Validated<T> {
    /// Validates `settings` (values from `env()`/`file()` are left for
    /// [`Validated::resolve`]), adding every problem to `diags`.
    /// `report_missing` is false when a misspelt setting was reported
    /// already, so "missing `X`" would repeat it.
    pub fn new(
        settings: Vec<Setting>,
        place: Place,
        report_missing: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> Self {
        let mut block = Block::new(&settings, &place, report_missing, None);
        let config = T::validate(&mut block);
        let ready = if block.pending || block.failed {
            None
        } else {
            config
        };
        diags.append(&mut block.diags);
        Validated {
            settings,
            place,
            report_missing,
            ready,
        }
    }

    /// The configuration, when no value is read from `env()`/`file()` and
    /// it passed validation.
    pub fn ready(&self) -> Option<&T> {
        self.ready.as_ref()
    }

    /// The settings as written.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    /// Which component this is.
    pub fn place(&self) -> &Place {
        &self.place
    }

    /// The configuration with every `env()`/`file()` value read by `read`
    /// and checked as a written one is. The errors are the validation's
    /// (for a configuration that did not pass, the same as when it was
    /// loaded) and the values that cannot be read, each at its value.
    pub fn resolve(&self, read: ReadSecret<'_>) -> Result<T, Vec<Diagnostic>> {
        if let Some(ready) = &self.ready {
            return Ok(ready.clone());
        }
        let mut block = Block::new(&self.settings, &self.place, self.report_missing, Some(read));
        let config = T::validate(&mut block);
        match config {
            Some(config) if !block.failed => Ok(config),
            _ => {
                if block.diags.is_empty() {
                    block.diags.push(Diagnostic::error(
                        "model/setting-value",
                        self.place.span(),
                        self.place.say("settings", "cannot be used"),
                    ));
                }
                Err(block.diags)
            }
        }
    }
}

/// A value to check: written in the file, or read from `env()`/`file()`.
#[derive(Debug, Clone)]
pub struct Text<'a> {
    /// The value.
    pub text: Cow<'a, str>,
    /// Where it was written (the `env()`/`file()` call for a read value).
    pub span: Span,
    /// Written in the file, not read: it is part of the configuration text.
    pub literal: bool,
}

/// A map's entry (`headers { Name = "value" }`): its value is `None` while
/// it is still to be read.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The entry's name.
    pub name: &'a str,
    /// Where the name was written.
    pub name_span: Span,
    /// The value.
    pub value: Option<Text<'a>>,
}

/// The settings of one block being validated: values to read, problems found.
pub struct Block<'a> {
    settings: &'a [Setting],
    place: &'a Place,
    report_missing: bool,
    /// Values read with `env()`/`file()`, by setting and value; `None`
    /// while validating for the loader (not read yet) or when unreadable.
    read: Vec<Vec<Option<String>>>,
    reading: bool,
    diags: Vec<Diagnostic>,
    /// A value is still to be read.
    pending: bool,
    /// An error was reported.
    failed: bool,
}

impl<'a> Block<'a> {
    fn new(
        settings: &'a [Setting],
        place: &'a Place,
        report_missing: bool,
        read: Option<ReadSecret<'_>>,
    ) -> Self {
        let mut block = Block {
            settings,
            place,
            report_missing,
            read: Vec::new(),
            reading: read.is_some(),
            diags: Vec::new(),
            pending: false,
            failed: false,
        };
        if let Some(read) = read {
            for s in settings {
                let mut values = Vec::with_capacity(s.values.len());
                for v in &s.values {
                    if matches!(v.value, SecretValue::Literal(_)) {
                        values.push(None);
                        continue;
                    }
                    match read(&v.value) {
                        Ok(text) => values.push(Some(text)),
                        Err(message) => {
                            let fix = match v.value {
                                SecretValue::Env(_) => "set it in klaxon's environment",
                                _ => "create the file or fix the path",
                            };
                            let message = place.say(&s.name, format!("{message}; {fix}"));
                            block.failed = true;
                            block.diags.push(
                                Diagnostic::error("build/unreadable-secret", v.span, message)
                                    .with_label("cannot be read"),
                            );
                            values.push(None);
                        }
                    }
                }
                block.read.push(values);
            }
        }
        block
    }

    /// Which component this is.
    pub fn place(&self) -> &Place {
        self.place
    }

    /// Every setting as written.
    pub fn settings(&self) -> &'a [Setting] {
        self.settings
    }

    /// The value `index` of setting `at`, read if it comes from
    /// `env()`/`file()`; `None` (and the block pending) while it cannot be
    /// read yet.
    fn text_at(&mut self, at: usize, index: usize) -> Option<Text<'a>> {
        let setting = &self.settings[at];
        let value = &setting.values[index];
        match &value.value {
            SecretValue::Literal(text) => Some(Text {
                text: Cow::Borrowed(text),
                span: value.span,
                literal: true,
            }),
            SecretValue::Env(_) | SecretValue::File(_) => {
                if !self.reading {
                    self.pending = true;
                    return None;
                }
                let text = self.read.get(at)?.get(index)?.clone()?;
                Some(Text {
                    text: Cow::Owned(text),
                    span: value.span,
                    literal: false,
                })
            }
        }
    }

    /// The position of the setting `name` (the last one, when written twice).
    fn find(&self, name: &str) -> Option<usize> {
        self.settings.iter().rposition(|s| s.name == name)
    }

    /// Whether the setting is written, whatever its value.
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Where the setting is written: its first value, or the setting.
    pub fn span_of(&self, name: &str) -> Option<Span> {
        let s = &self.settings[self.find(name)?];
        Some(s.values.first().map_or(s.span, |v| v.span))
    }

    /// The setting's first value.
    pub fn value(&mut self, name: &str) -> Option<Text<'a>> {
        let at = self.find(name)?;
        if self.settings[at].values.is_empty() {
            return None;
        }
        self.text_at(at, 0)
    }

    /// Every value of the setting.
    pub fn values(&mut self, name: &str) -> Vec<Text<'a>> {
        let Some(at) = self.find(name) else {
            return Vec::new();
        };
        (0..self.settings[at].values.len())
            .filter_map(|i| self.text_at(at, i))
            .collect()
    }

    /// Every value of every setting `name`, in order (for lists that may be
    /// written more than once, as time windows allow).
    pub fn all_values(&mut self, name: &str) -> Vec<Text<'a>> {
        let mut out = Vec::new();
        for at in 0..self.settings.len() {
            if self.settings[at].name == name {
                for i in 0..self.settings[at].values.len() {
                    out.extend(self.text_at(at, i));
                }
            }
        }
        out
    }

    /// A text setting, without surrounding whitespace; `None` when absent
    /// or not read yet.
    pub fn trimmed(&mut self, name: &str) -> Option<(String, Span)> {
        self.value(name)
            .map(|t| (t.text.trim().to_string(), t.span))
    }

    /// `true`/`false` (checked by the schema), or `default`.
    pub fn bool(&mut self, name: &str, default: bool) -> bool {
        match self.value(name).as_ref().map(|t| t.text.trim()) {
            Some("true") => true,
            Some("false") => false,
            _ => default,
        }
    }

    /// A duration (checked by the schema).
    pub fn duration(&mut self, name: &str) -> Option<crate::vocab::time::Duration> {
        let t = self.value(name)?;
        crate::vocab::time::parse_duration(t.text.trim()).ok()
    }

    /// The entries of a `name { K = "v" }` block, in the order written.
    pub fn map(&mut self, name: &str) -> Vec<Entry<'a>> {
        let prefix = format!("{name}.");
        let mut out = Vec::new();
        for at in 0..self.settings.len() {
            let setting = &self.settings[at];
            let Some(key) = setting.name.strip_prefix(&prefix) else {
                continue;
            };
            let value = if setting.values.is_empty() {
                None
            } else {
                self.text_at(at, 0)
            };
            out.push(Entry {
                name: key,
                name_span: setting.span,
                value,
            });
        }
        out
    }

    /// Reports a problem with a setting's value at `span`, naming the
    /// component and the setting.
    pub fn error(&mut self, setting: &str, span: Span, message: impl std::fmt::Display) {
        let message = self.place.say(setting, message);
        self.push(
            Diagnostic::error("model/setting-value", span, message).with_label("invalid value"),
        );
    }

    /// Adds a diagnostic; an error makes the block fail.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if diagnostic.level == crate::diag::Level::Error {
            self.failed = true;
        }
        self.diags.push(diagnostic);
    }

    /// Reports "needs `a` or `b`" at the block when none of `any_of` is
    /// written. `subject` names the block ("a slack integration with a bot
    /// token"); `None` for the component's own name.
    pub fn require(&mut self, any_of: &[&str], subject: Option<&str>) {
        if !self.report_missing || any_of.iter().any(|k| self.has(k)) {
            return;
        }
        let names = any_of
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        let subject = subject.map_or_else(|| self.place.subject(), str::to_string);
        let span = self.place.span();
        self.push(
            Diagnostic::error(
                "model/missing-setting",
                span,
                format!("{subject} needs {names}"),
            )
            .with_label(format!("missing {names}")),
        );
    }

    /// The checks every component's schema implies: each value against its
    /// setting's kind, credentials written in the file, and `Authorization`
    /// set twice.
    pub fn check_schema(&mut self, schema: &[SettingSpec]) {
        let has_auth_settings = schema.iter().any(|k| k.name == "basic_auth_user");
        let settings = self.settings;
        for (at, setting) in settings.iter().enumerate() {
            let base = setting.name.split('.').next().unwrap_or_default();
            let Some(spec) = schema.iter().find(|k| k.name == base) else {
                continue;
            };
            if spec.kind == Kind::Map {
                if let Some((_, entry)) = setting.name.split_once('.') {
                    for v in &setting.values {
                        if let SecretValue::Literal(text) = &v.value {
                            self.header_value(entry, text, v.span, has_auth_settings);
                        }
                    }
                }
                continue;
            }
            for i in 0..setting.values.len() {
                let is_secret_literal = spec.kind == Kind::Secret
                    && matches!(setting.values[i].value, SecretValue::Literal(_));
                if is_secret_literal {
                    let span = setting.values[i].span;
                    let name = &setting.name;
                    self.push(
                        Diagnostic::error(
                            "model/inline-secret",
                            span,
                            format!("`{name}` is a secret and must not be written in the file"),
                        )
                        .with_label("secret in plain text")
                        .with_hint(format!(
                            "use {name} env(\"NAME\") or {name} file(\"/run/secrets/name\")"
                        )),
                    );
                    continue;
                }
                // A value still to be read is checked once it is.
                let Some(value) = self.text_at(at, i) else {
                    continue;
                };
                self.check_kind(&setting.name, spec.kind, &value, has_auth_settings);
            }
        }
        self.auth_conflicts();
    }

    fn check_kind(&mut self, name: &str, kind: Kind, value: &Text<'_>, has_auth_settings: bool) {
        let text = value.text.as_ref();
        let span = value.span;
        match kind {
            Kind::Duration => {
                if let Err(msg) = crate::vocab::time::parse_duration(text) {
                    self.push(
                        Diagnostic::error("model/invalid-duration", span, msg)
                            .with_label("expected a duration like `30s`"),
                    );
                }
            }
            Kind::Bool if !matches!(text, "true" | "false") => {
                self.push(
                    Diagnostic::error(
                        "model/setting-value",
                        span,
                        format!("`{name}` takes `true` or `false`"),
                    )
                    .with_label("not a boolean"),
                );
            }
            Kind::Url if !(text.starts_with("http://") || text.starts_with("https://")) => {
                self.push(
                    Diagnostic::error(
                        "model/setting-value",
                        span,
                        format!("`{name}` must be an http:// or https:// URL"),
                    )
                    .with_label("not a URL"),
                );
            }
            // Only text in the file is served by /api/v2/status.
            Kind::Url if value.literal => {
                self.url_credentials(name, text, span, has_auth_settings);
            }
            Kind::OneOf(options) if !options.contains(&text) => {
                self.push(
                    Diagnostic::error(
                        "model/setting-value",
                        span,
                        format!("`{name}` must be one of: {}", options.join(", ")),
                    )
                    .with_label("unknown value")
                    .with_hint(suggest(text, options.iter().copied())),
                );
            }
            Kind::Integer if text.parse::<u64>().is_err() => {
                self.push(
                    Diagnostic::error(
                        "model/setting-value",
                        span,
                        format!("`{name}` takes a whole number"),
                    )
                    .with_label("not a whole number"),
                );
            }
            _ => {}
        }
    }

    /// A header written in the file must not hold a credential (see
    /// `model::secrets` for which do).
    fn header_value(&mut self, name: &str, text: &str, span: Span, has_auth_settings: bool) {
        if !secrets::is_credential_header(name, text) {
            return;
        }
        let settings = if has_auth_settings && name.eq_ignore_ascii_case("authorization") {
            ", or the `bearer_token` or `basic_auth_user` and `basic_auth_password` settings"
        } else {
            ""
        };
        self.push(
            Diagnostic::error(
                "model/inline-secret",
                span,
                format!("header `{name}` carries a credential and must not be written in the file"),
            )
            .with_label("credential in plain text")
            .with_hint(format!(
                "use {name} = env(\"NAME\") or {name} = file(\"/run/secrets/name\"){settings}"
            )),
        );
    }

    /// A URL written in the file is served by `GET /api/v2/status` with the
    /// rest of the configuration: credentials in it are an error (userinfo)
    /// or a warning (a query parameter whose name says so: a guess).
    fn url_credentials(&mut self, setting: &str, url: &str, span: Span, has_auth_settings: bool) {
        let Some(found) = secrets::url_credentials(url) else {
            return;
        };
        let keep = format!(
            "write the whole URL as {setting} env(\"NAME\") or {setting} file(\"/run/secrets/name\")"
        );
        let diagnostic = match found {
            secrets::UrlCredentials::UserInfo => {
                let at = url.find("://").map_or(0, |i| i + 3);
                let userinfo = url[at..].find('@').unwrap_or(0);
                let mut caret = inner_span(url, span, at);
                if caret.end == caret.start + 1 && userinfo > 1 {
                    caret.end = caret.start + userinfo;
                }
                let or_auth = if has_auth_settings {
                    ", or move them to basic_auth_user and basic_auth_password env(\"NAME\")"
                } else {
                    ""
                };
                Diagnostic::error(
                    "model/url-credentials",
                    caret,
                    format!(
                        "the URL of `{setting}` carries credentials before the host, in plain text"
                    ),
                )
                .with_label("credentials in the URL")
                .with_hint(format!(
                    "the configuration text is served by GET /api/v2/status; {keep}{or_auth}"
                ))
            }
            secrets::UrlCredentials::Query(param) => {
                // The `name=value` pair as written (a name written
                // percent-encoded is not found: the caret marks the URL).
                let (at, len) = url
                    .find('?')
                    .and_then(|q| {
                        let query = url[q + 1..].split('#').next().unwrap_or_default();
                        let mut start = q + 1;
                        for pair in query.split('&') {
                            if pair.split('=').next() == Some(param.as_str()) {
                                return Some((start, pair.len()));
                            }
                            start += pair.len() + 1;
                        }
                        None
                    })
                    .unwrap_or((0, 1));
                let mut caret = inner_span(url, span, at);
                if caret.end == caret.start + 1 {
                    caret.end = caret.start + len.max(1);
                }
                Diagnostic::warning(
                    "model/url-credentials",
                    caret,
                    format!(
                        "the URL of `{setting}` carries a credential in its query parameter `{param}`, in plain text"
                    ),
                )
                .with_label("credential in the URL")
                .with_hint(format!(
                    "the configuration text is served by GET /api/v2/status; {keep}"
                ))
            }
        };
        self.push(diagnostic);
    }

    /// `Authorization` can be sent once: `bearer_token`, `api_key`, basic
    /// auth and an `Authorization` header exclude each other. A password
    /// needs its user.
    fn auth_conflicts(&mut self) {
        let settings = self.settings;
        let mut first: Option<(&str, Span)> = None;
        for s in settings {
            let what = match s.name.as_str() {
                "bearer_token" => "`bearer_token`",
                "api_key" => "`api_key`",
                "basic_auth_user" | "basic_auth_password" => "basic auth",
                n if n.starts_with("headers.")
                    && n["headers.".len()..].eq_ignore_ascii_case("authorization") =>
                {
                    "an `Authorization` header"
                }
                _ => continue,
            };
            match first {
                None => first = Some((what, s.span)),
                Some((earlier, _)) if earlier == what => {}
                Some((earlier, earlier_span)) => {
                    self.push(
                        Diagnostic::error(
                            "model/auth-conflict",
                            s.span,
                            format!("`Authorization` is set twice: by {earlier} and by {what}"),
                        )
                        .with_label(format!("{what} here"))
                        .with_related(earlier_span, format!("{earlier} here"))
                        .with_hint(
                            "keep one: basic auth, a bearer token and an `Authorization` header exclude each other"
                                .to_string(),
                        ),
                    );
                }
            }
        }
        let has = |n: &str| settings.iter().find(|s| s.name == n).map(|s| s.span);
        if let (Some(password), None) = (has("basic_auth_password"), has("basic_auth_user")) {
            self.push(
                Diagnostic::error(
                    "model/missing-setting",
                    password,
                    "`basic_auth_password` without `basic_auth_user`",
                )
                .with_label("no user for this password")
                .with_hint("add basic_auth_user \"NAME\"".to_string()),
            );
        }
    }
}

/// A secret read from `env()`/`file()`: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl Secret {
    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A position inside a quoted string's span (a template error, a URL's
/// credentials): exact when the string has no escapes, else the string.
pub(crate) fn inner_span(value: &str, span: Span, offset: usize) -> Span {
    if value.contains(['"', '\\', '\n', '\t', '\r']) {
        span
    } else {
        let at = span.start + 1 + offset.min(value.len());
        Span::new(span.file, at, at + 1)
    }
}

/// Whether a URL's host is this machine, where clear text is acceptable.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::IntegrationConfig;
    use crate::model::load::load_sources;

    /// A value from `env()` meets, once read, the check and the message a
    /// written one gets, at the `env()` call; one that cannot be read says
    /// what to set.
    #[test]
    fn a_value_read_at_build_meets_the_check_a_written_one_does() {
        let loaded = load_sources(&[(
            "r.rules",
            "receiver mail {\n  email { to \"a@example.com\"  from \"k@example.com\"  smarthost env(\"SMARTHOST\") }\n}\nroute { receiver mail }\n",
        )]);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let IntegrationConfig::Email(config) = &loaded.rules.receivers[0].integrations[0].config
        else {
            panic!("not an email integration");
        };
        assert!(config.ready().is_none(), "pending until the value is read");

        let errors = config
            .resolve(&|_| Ok("smtp.example.com".into()))
            .err()
            .unwrap_or_default();
        let said: Vec<String> = errors.iter().map(|d| d.short(&loaded.sources)).collect();
        assert_eq!(
            said,
            [
                "r.rules:2:63: error[model/setting-value]: receiver `mail`, email integration #1, `smarthost`: `smtp.example.com` is not host:port; write it like `smtp.example.com:587`"
            ]
        );

        let unset = config
            .resolve(&|_| Err("environment variable `SMARTHOST` is not set".into()))
            .err()
            .unwrap_or_default();
        let said: Vec<String> = unset.iter().map(|d| d.short(&loaded.sources)).collect();
        assert_eq!(
            said,
            [
                "r.rules:2:63: error[build/unreadable-secret]: receiver `mail`, email integration #1, `smarthost`: environment variable `SMARTHOST` is not set; set it in klaxon's environment"
            ]
        );

        let built = config.resolve(&|_| Ok("smtp.example.com:587".into()));
        assert!(
            built
                .as_ref()
                .is_ok_and(|c| c.host == "smtp.example.com" && c.port == 587),
            "{built:?}"
        );
    }
}
