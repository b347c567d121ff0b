//! What counts as a credential written in clear in a configuration file.
//!
//! A configuration's text is not private: `GET /api/v2/status` serves it
//! without a token, reviews and CI logs show it. So credentials come from
//! `env("NAME")` or `file("path")`, and the loader (and `klaxon import
//! alertmanager`, which must write loadable output) asks these questions
//! about every literal header and URL.
//!
//! The header rule, also in docs/dsl.md: a header carries a credential when
//! its name is `Authorization`, `Proxy-Authorization` or `Cookie`; or one
//! word of its name (split at `-`, `_`, `.` and lower-to-upper case changes)
//! is `key`, `apikey`, `token`, `accesstoken`, `authtoken`, `secret`,
//! `password`, `passwd`, `pwd`, `credential` or `credentials` (`X-Api-Key`,
//! `Api-Key`, `X-Auth-Token`, `PRIVATE-TOKEN`, `X-Webhook-Secret`,
//! `X-ApiKey`), except `key` after `idempotency`, `partition`, `cache`,
//! `dedup` or `dedupe` (identifiers: `Idempotency-Key`, `X-Partition-Key`);
//! or its value starts with an HTTP authentication scheme
//! (`Bearer `, `Basic `, `Token `). URLs: userinfo (`https://user:pass@host`)
//! and query parameters named by the same words (`token=`, `api_key=`,
//! `apikey=`, `access_token=`, `key=`, `secret=`, `password=`). Tokens in a
//! URL's path (Slack-style webhook URLs) cannot be told from ordinary paths
//! and are not flagged; such a URL can come from `env()`/`file()` anyway.

/// Words that make a header or query parameter name a credential.
const CREDENTIAL_WORDS: &[&str] = &[
    "key",
    "apikey",
    "token",
    "accesstoken",
    "authtoken",
    "secret",
    "password",
    "passwd",
    "pwd",
    "credential",
    "credentials",
];

/// Header names that always carry a credential.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// HTTP authentication schemes that mark a value as a credential.
const AUTH_SCHEMES: &[&str] = &["bearer ", "basic ", "token "];

/// The words of a name: split at `-`, `_`, `.` and where a lower-case
/// letter or digit is followed by an upper-case one; lower-cased.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.' | ' ') {
            out.push(std::mem::take(&mut word));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    out.push(word);
    out.retain(|w| !w.is_empty());
    out
}

/// Words before `key` that name an identifier, not a credential
/// (`Idempotency-Key`, `X-Partition-Key`, `Cache-Key`, `X-Dedup-Key`).
const ID_KEYS: &[&str] = &["idempotency", "partition", "cache", "dedup", "dedupe"];

/// Whether a header or parameter name says its value is a credential.
pub fn is_credential_name(name: &str) -> bool {
    let words = words(name);
    words.iter().enumerate().any(|(i, w)| {
        CREDENTIAL_WORDS.contains(&w.as_str())
            && !(w == "key" && i > 0 && ID_KEYS.contains(&words[i - 1].as_str()))
    })
}

/// Whether a header written as `name = "value"` carries a credential.
pub fn is_credential_header(name: &str, value: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let value = value.trim_start().to_ascii_lowercase();
    CREDENTIAL_HEADERS.contains(&lower.as_str())
        || is_credential_name(name)
        || AUTH_SCHEMES.iter().any(|s| value.starts_with(s))
}

/// Credentials a URL carries in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlCredentials {
    /// `user:pass@` or `token@` before the host: sent as basic auth.
    UserInfo,
    /// A query parameter with a credential's name (the name, as written).
    Query(String),
}

/// The credentials in `url`, if any: userinfo first, then the first query
/// parameter with a credential's name. Text that is not a URL has none.
pub fn url_credentials(url: &str) -> Option<UrlCredentials> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some(UrlCredentials::UserInfo);
    }
    parsed
        .query_pairs()
        .find(|(name, value)| !value.is_empty() && is_credential_name(name))
        .map(|(name, _)| UrlCredentials::Query(name.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_by_name_or_scheme() {
        for (name, value) in [
            ("Authorization", "Bearer x"),
            ("authorization", "x"),
            ("Proxy-Authorization", "x"),
            ("Cookie", "session=1"),
            ("X-Api-Key", "x"),
            ("Api-Key", "x"),
            ("X-ApiKey", "x"),
            ("X-APIKEY", "x"),
            ("X-Auth-Token", "x"),
            ("PRIVATE-TOKEN", "x"),
            ("X-Webhook-Secret", "x"),
            ("Ocp-Apim-Subscription-Key", "x"),
            ("X-Password", "x"),
            ("X-Anything", "Bearer abc"),
            ("X-Anything", "basic dTpw"),
        ] {
            assert!(is_credential_header(name, value), "{name}: {value}");
        }
        for (name, value) in [
            ("X-Team", "platform"),
            ("X-Scope-OrgID", "team-a"),
            ("X-Source", "klaxon"),
            ("Reply-To", "a@example.com"),
            ("X-Monkey", "x"),
            ("X-Tokenizer", "x"),
            ("Idempotency-Key", "mine"),
            ("X-Partition-Key", "orders"),
            ("X-Anything", "Bearers"),
        ] {
            assert!(!is_credential_header(name, value), "{name}: {value}");
        }
    }

    #[test]
    fn url_credentials_in_userinfo_or_query_not_path() {
        use UrlCredentials::*;
        for (url, expected) in [
            ("https://user:pass@hooks.example.com/a", Some(UserInfo)),
            ("https://token@hooks.example.com/a", Some(UserInfo)),
            (
                "https://h.example.com/a?token=abc",
                Some(Query("token".into())),
            ),
            (
                "https://h.example.com/a?x=1&api_key=abc",
                Some(Query("api_key".into())),
            ),
            (
                "https://h.example.com/a?apikey=abc",
                Some(Query("apikey".into())),
            ),
            (
                "https://h.example.com/a?access_token=abc",
                Some(Query("access_token".into())),
            ),
            ("https://h.example.com/a?key=abc", Some(Query("key".into()))),
            (
                "https://h.example.com/a?secret=abc",
                Some(Query("secret".into())),
            ),
            (
                "https://h.example.com/a?password=abc",
                Some(Query("password".into())),
            ),
            ("https://h.example.com/a?token=", None),
            ("https://hooks.slack.com/services/T0/B0/XXXXXXXX", None),
            ("https://h.example.com/a?team=db&monkey=1", None),
            ("not a url", None),
        ] {
            assert_eq!(url_credentials(url), expected, "{url}");
        }
    }
}
