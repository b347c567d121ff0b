//! Receivers: `slack_configs`, `email_configs` and `webhook_configs` to the
//! DSL's integrations (with the `global` SMTP and HTTP defaults applied),
//! an `http_config`'s credentials, and literal secrets moved to `env(...)`;
//! other integrations are reported as not converted.

use std::collections::HashMap;

use super::output::{integration, map_setting, setting};
use super::schema::{
    AUTHORIZATION_FIELDS, BASIC_AUTH_FIELDS, Credential, EMAIL_FIELDS, Fields, HTTP_FIELDS,
    RECEIVER_FIELDS, SLACK_FIELDS, SLACK_MESSAGE_FIELDS, Text, WEBHOOK_FIELDS,
};
use super::{Converter, unspanned};
use crate::diag::{Diagnostic, Span};
use crate::lang::ast::{self, Value};
use crate::model;
use crate::model::yaml::{Node, NodeValue};

/// Integrations the DSL has no block for, with what to say about them.
const OTHER_INTEGRATIONS: &[(&str, &str)] = &[
    ("discord_configs", "Discord"),
    ("pagerduty_configs", "PagerDuty"),
    ("opsgenie_configs", "Opsgenie"),
    ("wechat_configs", "WeChat"),
    ("pushover_configs", "Pushover"),
    ("victorops_configs", "VictorOps"),
    ("sns_configs", "Amazon SNS"),
    ("telegram_configs", "Telegram"),
    ("webex_configs", "Webex"),
];

/// The default Slack Web API base, which the DSL need not spell out.
const SLACK_API_BASE: &str = "https://slack.com/api";

/// What an `http_config` says, split into what converts and what does not.
#[derive(Debug, Default)]
pub(super) struct HttpConfig {
    /// `Authorization: <scheme> <credential>` (bearer or custom type).
    authorization: Option<(String, Credential)>,
    /// `basic_auth`.
    basic_auth: Option<BasicAuth>,
    /// Fields with no DSL equivalent: (field, where).
    unconverted: Vec<(String, Span)>,
}

/// `http_config.basic_auth`: Alertmanager sends `Basic base64(user:password)`,
/// either part possibly empty.
#[derive(Debug)]
pub(super) struct BasicAuth {
    /// `username` (not a secret) or `username_file`.
    user: Option<Credential>,
    /// `password` or `password_file`.
    password: Option<Credential>,
    /// The `basic_auth` key, to point at.
    span: Span,
}

impl Converter<'_> {
    /// An environment variable for a literal secret: one per place in the
    /// input, named after what it holds and unique in the output.
    pub(super) fn env_for(&mut self, span: Span, base: &str) -> String {
        if let Some(name) = self.env_names.get(&(span.start, span.end)) {
            return name.clone();
        }
        let mut stem = String::new();
        for c in base.chars() {
            if c.is_ascii_alphanumeric() {
                stem.push(c.to_ascii_uppercase());
            } else if !stem.ends_with('_') {
                stem.push('_');
            }
        }
        let stem = stem.trim_matches('_').to_string();
        let mut name = stem.clone();
        let mut n = 2;
        while self.used_env.contains(&name) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        self.used_env.insert(name.clone());
        self.env_names.insert((span.start, span.end), name.clone());
        self.stats.secrets_to_env += 1;
        name
    }

    /// A secret setting value: `file(..)` for a file, `env(..)` for a
    /// literal (with a warning and a comment saying what to set).
    pub(super) fn secret(
        &mut self,
        cred: &Credential,
        env_base: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Value {
        match cred {
            Credential::File(path) => Value::File(path.value.clone()),
            Credential::Literal(t) => {
                let name = self.env_for(t.span, env_base);
                // A global secret is used by many integrations: say it once.
                if self.warned.insert((t.span.start, "comment/literal-secret")) {
                    comments.push(format!(
                        " klaxon import: set {name} to the {what} written at {}",
                        self.at(t.span)
                    ));
                }
                if self.warned.insert((t.span.start, "am/literal-secret")) {
                    self.diags.push(
                        Diagnostic::warning(
                            "am/literal-secret",
                            t.span,
                            format!(
                                "the {what} is written in the file; the converted rules read it from the environment variable {name}"
                            ),
                        )
                        .with_label("literal secret")
                        .with_hint(format!(
                            "set {name} to this value where klaxon runs, or put it in a file and write file(\"/path\")"
                        )),
                    );
                }
                Value::Env(name)
            }
        }
    }

    pub(super) fn receiver(
        &mut self,
        node: &Node,
        global: &Fields,
        seen: &mut HashMap<String, Span>,
    ) -> Option<ast::Receiver> {
        let f = self.fields(node, "a receiver", RECEIVER_FIELDS);
        let Some(name) = self.field_text(&f, "name", "a receiver") else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                "a receiver needs a `name`: Alertmanager refuses it",
            );
            return None;
        };
        if let Some(first) = seen.get(&name.value) {
            let d = Diagnostic::error(
                "am/duplicate-name",
                name.span,
                format!("receiver `{}` is defined twice", name.value),
            )
            .with_related(*first, "first defined here");
            self.diags.push(d);
            return None;
        }
        seen.insert(name.value.clone(), name.span);
        let mut comments = Vec::new();
        let mut integrations = Vec::new();
        let what = format!("receiver `{}`", name.value);
        let http_global = global.get("http_config");

        if let Some(list) = f.get("slack_configs") {
            let items = self.seq(list, &format!("`slack_configs` of {what}"));
            for (i, c) in items.iter().enumerate() {
                let index = if items.len() > 1 {
                    format!("_{}", i + 1)
                } else {
                    String::new()
                };
                let label = format!("{what} slack_configs[{i}]");
                if let Some(int) = self.slack(
                    c,
                    global,
                    http_global,
                    &name.value,
                    &index,
                    &label,
                    &mut comments,
                ) {
                    integrations.push(int);
                }
            }
        }
        if let Some(list) = f.get("email_configs") {
            let items = self.seq(list, &format!("`email_configs` of {what}"));
            for (i, c) in items.iter().enumerate() {
                let index = if items.len() > 1 {
                    format!("_{}", i + 1)
                } else {
                    String::new()
                };
                let label = format!("{what} email_configs[{i}]");
                if let Some(int) = self.email(c, global, &name.value, &index, &label, &mut comments)
                {
                    integrations.push(int);
                }
            }
        }
        if let Some(list) = f.get("webhook_configs") {
            let items = self.seq(list, &format!("`webhook_configs` of {what}"));
            for (i, c) in items.iter().enumerate() {
                let index = if items.len() > 1 {
                    format!("_{}", i + 1)
                } else {
                    String::new()
                };
                let label = format!("{what} webhook_configs[{i}]");
                if let Some(int) =
                    self.webhook(c, http_global, &name.value, &index, &label, &mut comments)
                {
                    integrations.push(int);
                }
            }
        }
        for (field, service) in OTHER_INTEGRATIONS {
            if let (Some(key), Some(list)) = (f.key(field), f.get(field)) {
                let n = self.seq(list, &format!("`{field}` of {what}")).len();
                self.not_converted(
                    &mut comments,
                    key.span,
                    &format!("{field} of {what}, {n} entr{}", if n == 1 { "y" } else { "ies" }),
                    &format!("klaxon has no {service} integration (a webhook to a bridge service can stand in)"),
                );
            }
        }
        if integrations.is_empty() && !comments.is_empty() {
            comments.push(
                " klaxon import: no integration left: alerts routed here are not sent anywhere"
                    .to_string(),
            );
        }
        self.stats.integrations += integrations.len();
        Some(ast::Receiver {
            comments,
            name: unspanned(name.value),
            integrations,
            span: Span::default(),
        })
    }

    /// Reads an `http_config`.
    pub(super) fn http_config(&mut self, node: &Node, what: &str) -> HttpConfig {
        let f = self.fields(node, &format!("`http_config` of {what}"), HTTP_FIELDS);
        let mut out = HttpConfig::default();
        let ctx = format!("`http_config` of {what}");
        let bearer = self.credential(
            &f,
            ("bearer_token", "bearer_token_file"),
            &ctx,
            "at most one of bearer_token & bearer_token_file must be configured",
        );
        // Alertmanager's (prometheus/common's) rules: one way to authenticate.
        let basic_or_oauth = f.key("basic_auth").or_else(|| f.key("oauth2"));
        if let Some(key) = f.key("authorization") {
            if bearer.is_some() {
                self.error(
                    "am/invalid-value",
                    key.span,
                    "authorization is not compatible with bearer_token & bearer_token_file",
                );
            }
            if basic_or_oauth.is_some() {
                self.error(
                    "am/invalid-value",
                    key.span,
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                );
            }
        } else if let (Some(key), Some(_)) = (basic_or_oauth, &bearer) {
            self.error(
                "am/invalid-value",
                key.span,
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            );
        }
        if let Some(auth) = f.get("authorization") {
            let a = self.fields(
                auth,
                &format!("`authorization` of {ctx}"),
                AUTHORIZATION_FIELDS,
            );
            let scheme = self
                .field_text(&a, "type", "`authorization`")
                .map(|t| (t.value.trim().to_string(), t.span))
                .filter(|(t, _)| !t.is_empty());
            if let Some((_, span)) = scheme
                .as_ref()
                .filter(|(t, _)| t.eq_ignore_ascii_case("basic"))
            {
                self.error(
                    "am/invalid-value",
                    *span,
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                );
            }
            let scheme = scheme.map_or_else(|| "Bearer".to_string(), |(t, _)| t);
            let cred = self.credential(
                &a,
                ("credentials", "credentials_file"),
                "`authorization`",
                "at most one of `credentials` and `credentials_file` may be set",
            );
            if let Some(cred) = cred {
                out.authorization = Some((scheme, cred));
            }
        } else if let Some(cred) = bearer {
            out.authorization = Some(("Bearer".into(), cred));
        }
        if let (Some(key), Some(basic)) = (f.key("basic_auth"), f.get("basic_auth")) {
            let b = self.fields(basic, &format!("`basic_auth` of {ctx}"), BASIC_AUTH_FIELDS);
            let user = self.credential(
                &b,
                ("username", "username_file"),
                "`basic_auth`",
                "at most one of basic_auth username & username_file must be configured",
            );
            let password = self.credential(
                &b,
                ("password", "password_file"),
                "`basic_auth`",
                "at most one of basic_auth password & password_file must be configured",
            );
            out.basic_auth = Some(BasicAuth {
                user,
                password,
                span: key.span,
            });
        }
        for field in ["oauth2", "proxy_url", "no_proxy", "proxy_connect_header"] {
            if let Some(key) = f.key(field) {
                out.unconverted.push((field.to_string(), key.span));
            }
        }
        if let Some(key) = f.key("tls_config") {
            let empty = matches!(&f.get("tls_config").map(|n| &n.value), Some(NodeValue::Map(m)) if m.is_empty());
            if !empty {
                out.unconverted.push(("tls_config".into(), key.span));
            }
        }
        for (field, default) in [
            ("follow_redirects", true),
            ("enable_http2", true),
            ("proxy_from_environment", false),
        ] {
            if let (Some(key), Some(v)) = (f.key(field), f.get(field))
                && self.bool(v, &format!("`{field}` of {ctx}")) != Some(default)
            {
                out.unconverted
                    .push((format!("{field}: {}", !default), key.span));
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn slack(
        &mut self,
        node: &Node,
        global: &Fields,
        http_global: Option<&Node>,
        receiver: &str,
        index: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Option<ast::Integration> {
        let f = self.fields(node, &format!("`{what}`"), SLACK_FIELDS);
        let mut settings = Vec::new();
        let own_url = (
            self.field_text(&f, "api_url", what),
            self.field_text(&f, "api_url_file", what),
        );
        let (url, url_file, from_global) = match own_url {
            (Some(u), Some(_)) => {
                self.error(
                    "am/invalid-value",
                    u.span,
                    "at most one of `api_url` and `api_url_file` may be set",
                );
                return None;
            }
            (None, None) => (
                self.field_text(global, "slack_api_url", "`global`"),
                self.field_text(global, "slack_api_url_file", "`global`"),
                true,
            ),
            (u, file) => (u, file, false),
        };
        if url.is_none() && url_file.is_none() {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `api_url` and `global` has no `slack_api_url`: Alertmanager refuses it"),
            );
            return None;
        }
        if let Some(u) = &url {
            self.check_url(u, "`api_url`");
        }
        let own_http = f.get("http_config");
        let http = match own_http.or(http_global) {
            Some(h) => self.http_config(h, what),
            None => HttpConfig::default(),
        };
        let post_message_base = url.as_ref().and_then(|u| {
            u.value
                .trim_end_matches('/')
                .strip_suffix("/chat.postMessage")
                .map(str::to_string)
        });
        let mut http_used = false;
        match (post_message_base, &http.authorization) {
            (Some(base), Some((scheme, cred))) if scheme.eq_ignore_ascii_case("bearer") => {
                // Bot token mode: chat.postMessage with `Authorization: Bearer xoxb-..`.
                http_used = true;
                let env = if own_http.is_some() {
                    format!("SLACK_TOKEN_{receiver}{index}")
                } else {
                    "SLACK_TOKEN".to_string()
                };
                let token = self.secret(cred, &env, "Slack bot token", comments);
                settings.push(setting("token", vec![token]));
                if base != SLACK_API_BASE {
                    settings.push(setting("api_url", vec![Value::Str(base)]));
                }
            }
            (Some(_), _) => {
                let span = url.as_ref().map_or(node.span, |u| u.span);
                self.not_converted(
                    comments,
                    span,
                    &format!("{what} (chat.postMessage without a bearer credential)"),
                    "klaxon posts to chat.postMessage with a bot token from `http_config.authorization`",
                );
                return None;
            }
            (None, _) => {
                let env = if from_global {
                    "SLACK_WEBHOOK_URL".to_string()
                } else {
                    format!("SLACK_WEBHOOK_URL_{receiver}{index}")
                };
                let cred = match (url, url_file) {
                    (Some(u), _) => Credential::Literal(u),
                    (None, Some(file)) => Credential::File(file),
                    (None, None) => return None,
                };
                let value = self.secret(&cred, &env, "Slack webhook URL", comments);
                settings.push(setting("webhook_url", vec![value]));
            }
        }
        if !http_used
            && let Some((_, Credential::Literal(t) | Credential::File(t))) = &http.authorization
        {
            self.not_converted(
                comments,
                t.span,
                &format!("`http_config` authorization of {what}"),
                "incoming webhooks take no credential; the URL is the secret",
            );
        }
        if let Some(basic) = &http.basic_auth {
            self.not_converted(
                comments,
                basic.span,
                &format!("`http_config.basic_auth` of {what}"),
                "Slack takes no basic authentication",
            );
        }
        for (field, span) in &http.unconverted {
            self.not_converted(
                comments,
                *span,
                &format!("`http_config.{field}` of {what}"),
                "klaxon's HTTP client has no such setting",
            );
        }
        let templated = |t: &Text| t.value.contains("{{");
        let channel = self.field_text(&f, "channel", what);
        match &channel {
            Some(c) if templated(c) => {
                self.not_converted(
                    comments,
                    c.span,
                    &format!("`channel` of {what}"),
                    "a templated channel; klaxon posts to one channel per integration",
                );
                if settings.iter().any(|s| s.key.node == "token") {
                    comments.push(format!(
                        " klaxon import: {what} skipped: a bot token needs a fixed channel"
                    ));
                    return None;
                }
            }
            Some(c) => settings.push(setting("channel", vec![Value::Str(c.value.clone())])),
            None if settings.iter().any(|s| s.key.node == "token") => {
                self.not_converted(
                    comments,
                    node.first_key_span(),
                    &format!("{what} without `channel`"),
                    "a bot token posts to a channel named in the integration",
                );
                return None;
            }
            None => {}
        }
        for field in ["username", "icon_emoji"] {
            if let Some(t) = self.field_text(&f, field, what) {
                if templated(&t) {
                    self.not_converted(
                        comments,
                        t.span,
                        &format!("`{field}` of {what}"),
                        "a template; klaxon's value is fixed text",
                    );
                } else {
                    settings.push(setting(field, vec![Value::Str(t.value)]));
                }
            }
        }
        for field in SLACK_MESSAGE_FIELDS {
            if let Some(key) = f.key(field) {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}` of {what}"),
                    "klaxon lays out Slack messages itself (title, severity colour, labels, summary, runbook and silence links)",
                );
            }
        }
        for field in ["short_fields", "link_names"] {
            if let (Some(key), Some(true)) = (f.key(field), self.field_bool(&f, field, what)) {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}: true` of {what}"),
                    "klaxon lays out Slack messages itself",
                );
            }
        }
        // Alertmanager's Slack default is not to send resolved alerts; klaxon's is to.
        let send_resolved = self.field_bool(&f, "send_resolved", what).unwrap_or(false);
        if !send_resolved {
            settings.insert(
                0,
                setting("send_resolved", vec![Value::Word("false".into())]),
            );
        }
        Some(integration("slack", settings))
    }

    pub(super) fn email(
        &mut self,
        node: &Node,
        global: &Fields,
        receiver: &str,
        index: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Option<ast::Integration> {
        let f = self.fields(node, &format!("`{what}`"), EMAIL_FIELDS);
        let mut settings = Vec::new();
        let Some(to) = self.field_text(&f, "to", what) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `to` address: Alertmanager refuses it"),
            );
            return None;
        };
        let from = self
            .field_text(&f, "from", what)
            .or_else(|| self.field_text(global, "smtp_from", "`global`"));
        let smarthost = self
            .field_text(&f, "smarthost", what)
            .or_else(|| self.field_text(global, "smtp_smarthost", "`global`"));
        let (Some(from), Some(smarthost)) = (from, smarthost) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `from` or `smarthost`, and `global` has no smtp_from / smtp_smarthost: Alertmanager refuses it"),
            );
            return None;
        };
        let Some(implicit_tls) = smarthost_port(&smarthost.value).map(|p| p == "465") else {
            self.error(
                "am/invalid-value",
                smarthost.span,
                format!("`{}` is not a `host:port` address", smarthost.value),
            );
            return None;
        };
        for t in [&to, &from, &smarthost] {
            if t.value.contains("{{") {
                self.not_converted(
                    comments,
                    t.span,
                    &format!("a templated address in {what}"),
                    "klaxon's addresses are fixed text",
                );
                return None;
            }
        }
        let recipients = split_addresses(&to.value);
        settings.push(setting(
            "to",
            recipients.into_iter().map(Value::Str).collect(),
        ));
        settings.push(setting("from", vec![Value::Str(from.value)]));
        settings.push(setting("smarthost", vec![Value::Str(smarthost.value)]));
        let require_tls = match f.get("require_tls") {
            Some(v) => self.bool(v, &format!("`require_tls` of {what}")),
            None => match global.get("smtp_require_tls") {
                Some(v) => self.bool(v, "`smtp_require_tls` of `global`"),
                None => Some(true),
            },
        }
        .unwrap_or(true);
        let tls = if implicit_tls {
            "tls"
        } else if require_tls {
            "starttls"
        } else {
            // Alertmanager (0.25 to 0.28) upgrades with STARTTLS only when
            // `require_tls` is true; otherwise it stays in plain text, as
            // `tls none` does. Same meaning, so no warning.
            "none"
        };
        settings.push(setting("tls", vec![Value::Word(tls.into())]));
        if let Some(user) = self
            .field_text(&f, "auth_username", what)
            .or_else(|| self.field_text(global, "smtp_auth_username", "`global`"))
        {
            settings.push(setting("auth_username", vec![Value::Str(user.value)]));
        }
        let own = (
            self.field_text(&f, "auth_password", what),
            self.field_text(&f, "auth_password_file", what),
        );
        let (password, from_global) = match own {
            (Some(p), Some(_)) => {
                self.error(
                    "am/invalid-value",
                    p.span,
                    "at most one of `auth_password` and `auth_password_file` may be set",
                );
                return None;
            }
            (Some(p), None) => (Some(Credential::Literal(p)), false),
            (None, Some(file)) => (Some(Credential::File(file)), false),
            (None, None) => (
                match (
                    self.field_text(global, "smtp_auth_password", "`global`"),
                    self.field_text(global, "smtp_auth_password_file", "`global`"),
                ) {
                    (Some(p), _) => Some(Credential::Literal(p)),
                    (None, Some(file)) => Some(Credential::File(file)),
                    (None, None) => None,
                },
                true,
            ),
        };
        if let Some(cred) = password {
            let env = if from_global {
                "SMTP_AUTH_PASSWORD".to_string()
            } else {
                format!("SMTP_AUTH_PASSWORD_{receiver}{index}")
            };
            let value = self.secret(&cred, &env, "SMTP password", comments);
            settings.push(setting("auth_password", vec![value]));
        }
        if let Some(hello) = self
            .field_text(&f, "hello", what)
            .or_else(|| self.field_text(global, "smtp_hello", "`global`"))
        {
            settings.push(setting("hello", vec![Value::Str(hello.value)]));
        }
        for (field, global_field) in [
            ("auth_secret", "smtp_auth_secret"),
            ("auth_identity", "smtp_auth_identity"),
        ] {
            let key = f.key(field).or_else(|| global.key(global_field));
            if let Some(key) = key {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}` of {what}"),
                    "klaxon authenticates with username and password (PLAIN/LOGIN) only",
                );
            }
        }
        if let Some(h) = f.get("headers") {
            let headers = self.string_map(h, &format!("`headers` of {what}"));
            let mut pairs = Vec::new();
            for (k, v) in headers {
                if v.value.contains("{{") {
                    self.not_converted(
                        comments,
                        k.span,
                        &format!("header `{}` of {what}", k.value),
                        "a template; klaxon writes its own subject and header values are fixed text",
                    );
                } else if model::secrets::is_credential_header(&k.value, &v.value) {
                    let value = self.secret(
                        &Credential::Literal(v),
                        &format!("SMTP_HEADER_{}_{receiver}{index}", k.value),
                        &format!("mail header `{}`", k.value),
                        comments,
                    );
                    pairs.push((k.value, value));
                } else {
                    pairs.push((k.value, Value::Str(v.value)));
                }
            }
            if !pairs.is_empty() {
                settings.push(map_setting("headers", pairs));
            }
        }
        for field in ["html", "text"] {
            if let Some(key) = f.key(field) {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`{field}` of {what}"),
                    "klaxon writes its own text and HTML bodies",
                );
            }
        }
        if let Some(key) = f.key("tls_config") {
            let empty = matches!(&f.get("tls_config").map(|n| &n.value), Some(NodeValue::Map(m)) if m.is_empty());
            if !empty {
                self.not_converted(
                    comments,
                    key.span,
                    &format!("`tls_config` of {what}"),
                    "klaxon verifies the SMTP server against the system's CA roots",
                );
            }
        }
        // Alertmanager's email default is not to send resolved alerts; klaxon's is to.
        if !self.field_bool(&f, "send_resolved", what).unwrap_or(false) {
            settings.insert(
                0,
                setting("send_resolved", vec![Value::Word("false".into())]),
            );
        }
        Some(integration("email", settings))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn webhook(
        &mut self,
        node: &Node,
        http_global: Option<&Node>,
        receiver: &str,
        index: &str,
        what: &str,
        comments: &mut Vec<String>,
    ) -> Option<ast::Integration> {
        let f = self.fields(node, &format!("`{what}`"), WEBHOOK_FIELDS);
        let mut settings = Vec::new();
        let Some(url) = self.field_text(&f, "url", what) else {
            self.error(
                "am/missing-field",
                node.first_key_span(),
                format!("{what} has no `url`: Alertmanager refuses it"),
            );
            return None;
        };
        self.check_url(&url, "`url`");
        // A URL with credentials in it would be served by /api/v2/status.
        let url = if model::secrets::url_credentials(&url.value).is_some() {
            self.secret(
                &Credential::Literal(url),
                &format!("WEBHOOK_URL_{receiver}{index}"),
                "webhook URL, credentials included,",
                comments,
            )
        } else {
            Value::Str(url.value)
        };
        settings.push(setting("url", vec![url]));
        if let Some(v) = f.get("max_alerts") {
            match self.text(v, "`max_alerts`").map(|t| t.value.parse::<u64>()) {
                Some(Ok(0)) | None => {}
                Some(Ok(n)) => {
                    settings.push(setting("max_alerts", vec![Value::Word(n.to_string())]))
                }
                Some(Err(_)) => {
                    self.error(
                        "am/invalid-value",
                        v.span,
                        "`max_alerts` must be a whole number",
                    );
                }
            }
        }
        let own_http = f.get("http_config");
        let http = match own_http.or(http_global) {
            Some(h) => self.http_config(h, what),
            None => HttpConfig::default(),
        };
        // A global http_config's secret is one variable for every webhook.
        let env_suffix = if own_http.is_some() {
            format!("_{receiver}{index}")
        } else {
            String::new()
        };
        if let Some(basic) = &http.basic_auth {
            let user = match &basic.user {
                Some(Credential::Literal(u)) => Value::Str(u.value.clone()),
                Some(Credential::File(path)) => Value::File(path.value.clone()),
                None => Value::Str(String::new()),
            };
            settings.push(setting("basic_auth_user", vec![user]));
            if let Some(password) = &basic.password {
                let value = self.secret(
                    password,
                    &format!("WEBHOOK_PASSWORD{env_suffix}"),
                    "webhook basic-auth password",
                    comments,
                );
                settings.push(setting("basic_auth_password", vec![value]));
            }
        }
        match &http.authorization {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("bearer") => {
                let value = self.secret(
                    cred,
                    &format!("WEBHOOK_TOKEN{env_suffix}"),
                    "webhook bearer token",
                    comments,
                );
                settings.push(setting("bearer_token", vec![value]));
            }
            Some((scheme, cred)) => {
                let value = self.scheme_secret(
                    cred,
                    scheme,
                    &format!("WEBHOOK_AUTHORIZATION{env_suffix}"),
                    comments,
                );
                settings.push(map_setting(
                    "headers",
                    vec![("Authorization".to_string(), value)],
                ));
            }
            None => {}
        }
        for (field, span) in &http.unconverted {
            self.not_converted(
                comments,
                *span,
                &format!("`http_config.{field}` of {what}"),
                "klaxon's HTTP client has no such setting",
            );
        }
        // Alertmanager's webhook default is to send resolved alerts, as klaxon's.
        if self.field_bool(&f, "send_resolved", what) == Some(false) {
            settings.insert(
                0,
                setting("send_resolved", vec![Value::Word("false".into())]),
            );
        }
        Some(integration("webhook", settings))
    }

    /// An `Authorization` scheme the DSL has no setting for (`type: Token`):
    /// klaxon sends a header value whole, so scheme and credential come from
    /// one environment variable, whether Alertmanager read the credential
    /// from the file or from a file.
    pub(super) fn scheme_secret(
        &mut self,
        cred: &Credential,
        scheme: &str,
        env_base: &str,
        comments: &mut Vec<String>,
    ) -> Value {
        let (Credential::Literal(t) | Credential::File(t)) = cred;
        let name = self.env_for(t.span, env_base);
        let source = match cred {
            Credential::Literal(_) => format!("the credential written at {}", self.at(t.span)),
            Credential::File(path) => format!("the content of {}", path.value),
        };
        if self.warned.insert((t.span.start, "comment/literal-secret")) {
            comments.push(format!(
                " klaxon import: set {name} to `{scheme} ` followed by {source}"
            ));
        }
        if self.warned.insert((t.span.start, "am/secret-to-env")) {
            self.diags.push(
                Diagnostic::warning(
                    "am/secret-to-env",
                    t.span,
                    format!(
                        "klaxon has no setting for the `{scheme}` authorization type; the converted rules send the whole `Authorization` header from the environment variable {name}"
                    ),
                )
                .with_label("sent from the environment")
                .with_hint(format!("set {name} to `{scheme} ` followed by {source}")),
            );
        }
        Value::Env(name)
    }

    pub(super) fn check_url(&mut self, url: &Text, what: &str) {
        let rest = url
            .value
            .strip_prefix("https://")
            .or_else(|| url.value.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') => {}
            _ => {
                self.error(
                    "am/invalid-value",
                    url.span,
                    format!("{what} must be an http:// or https:// URL with a host"),
                );
            }
        }
    }
}

/// The port of `host:port` (Go's `net.SplitHostPort`, port required).
fn smarthost_port(hostport: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, rest) = rest.split_once(']')?;
        (host, rest.strip_prefix(':')?)
    } else {
        let (host, port) = hostport.rsplit_once(':')?;
        if host.contains(':') {
            return None;
        }
        (host, port)
    };
    let _ = host;
    (!port.is_empty()).then_some(port)
}

/// Recipients of an email `to`, split at commas outside quotes and angle
/// brackets (`"Ops, EU" <ops@x>, b@x` is two).
fn split_addresses(to: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle) = (false, false);
    for c in to.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out.retain(|a| !a.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_outside_quotes_and_brackets() {
        assert_eq!(
            split_addresses(r#""Ops, EU" <ops@x.org>, b@x.org ,"#),
            vec![
                r#""Ops, EU" <ops@x.org>"#.to_string(),
                "b@x.org".to_string()
            ]
        );
        assert_eq!(smarthost_port("smtp.example.com:587"), Some("587"));
        assert_eq!(smarthost_port("[::1]:25"), Some("25"));
        assert_eq!(smarthost_port("smtp.example.com"), None);
        assert_eq!(smarthost_port("host:"), None);
    }
}
