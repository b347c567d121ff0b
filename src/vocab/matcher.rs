//! Label matchers and Alertmanager's matcher syntax: one type and one parser
//! for the API's filters, silences, routes, inhibitions and the importer.
//!
//! A [`Matcher`] is a matcher as written: `name`, an operator and a value
//! (a pattern for `=~` and `!~`). It is what silences store, the API lists
//! and the importer converts. Testing label values needs the pattern
//! compiled: [`Matcher::compile`] gives a [`CompiledMatcher`], which routes,
//! inhibitions and the API's filters hold. (Silences compile their patterns
//! their own compact way, shared between silences, because one silence may
//! hold 100,000 of them; see `notify::silence`.)
//!
//! The syntax is Alertmanager 0.25's (`labels.ParseMatcher` and
//! `labels.ParseMatchers`), written from its documentation:
//! - `name op value`: a Prometheus label name (`[a-zA-Z_:][a-zA-Z0-9_:]*`),
//!   one of `=`, `!=`, `=~`, `!~`, and a value; whitespace around each is
//!   dropped, and whitespace is Go's `\s` (space, tab, `\n`, `\f`, `\r`);
//! - the value may be double-quoted; inside it `\"`, `\n` and `\\` are
//!   escapes, any other backslash is a literal one, and an unescaped `"`
//!   is an error unless it closes the opening quote;
//! - a list is comma-separated, optionally in `{…}`, commas inside quotes
//!   do not separate, and one trailing comma is allowed;
//! - regexes are anchored at both ends (`^(?:pattern)$`).
//!
//! Error messages are Alertmanager's words.

use std::fmt;
use std::ops::Deref;

/// Matcher operators, as in Alertmanager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `=~` (anchored regex)
    Re,
    /// `!~` (anchored regex)
    NotRe,
}

impl MatchOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }

    /// The operator written as `text`, if it is one.
    pub fn parse(text: &str) -> Option<MatchOp> {
        match text {
            "=" => Some(MatchOp::Eq),
            "!=" => Some(MatchOp::Ne),
            "=~" => Some(MatchOp::Re),
            "!~" => Some(MatchOp::NotRe),
            _ => None,
        }
    }

    /// The operator of Alertmanager's JSON form (`isEqual`, `isRegex`).
    pub fn from_flags(is_equal: bool, is_regex: bool) -> MatchOp {
        match (is_equal, is_regex) {
            (true, false) => MatchOp::Eq,
            (false, false) => MatchOp::Ne,
            (true, true) => MatchOp::Re,
            (false, true) => MatchOp::NotRe,
        }
    }

    /// `=` or `=~` (the JSON form's `isEqual`): a hit is a match.
    pub fn is_equal(self) -> bool {
        matches!(self, MatchOp::Eq | MatchOp::Re)
    }

    /// `=~` or `!~` (the JSON form's `isRegex`): the value is a pattern.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchOp::Re | MatchOp::NotRe)
    }
}

/// A label matcher as written: `name op value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value, or pattern for `=~` and `!~`, unescaped.
    pub value: String,
}

impl Matcher {
    /// A matcher from its parts.
    pub fn new(name: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Matcher {
        Matcher {
            name: name.into(),
            op,
            value: value.into(),
        }
    }

    /// Alertmanager's `labels.ParseMatcher` of one matcher, without
    /// compiling its pattern (see [`CompiledMatcher::parse`]).
    pub fn parse(text: &str) -> Result<Matcher, MatcherError> {
        let bad = || MatcherError::Format(text.to_string());
        let rest = trim_go_space(text);
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
            return Err(bad());
        }
        let rest = trim_go_space(&rest[name_end..]);
        // `=~` before `=`, as Alertmanager tries them.
        let op = ["=~", "=", "!=", "!~"]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(bad)?;
        let raw = trim_go_space(&rest[op.len()..]).trim_end_matches(is_go_space);
        let op = MatchOp::parse(op).ok_or_else(bad)?;
        Ok(Matcher::new(name, op, unquote(raw)?))
    }

    /// Compiles the pattern of `=~` and `!~`, anchored at both ends.
    pub fn compile(self) -> Result<CompiledMatcher, MatcherError> {
        let regex = if self.op.is_regex() {
            match regex::Regex::new(&anchored(&self.value)) {
                Ok(regex) => Some(regex),
                Err(error) => {
                    return Err(MatcherError::Regex {
                        pattern: self.value,
                        error,
                    });
                }
            }
        } else {
            None
        };
        Ok(CompiledMatcher {
            matcher: self,
            regex,
        })
    }
}

/// Alertmanager's `labels.ParseMatchers`: a comma-separated list of
/// matchers, optionally in `{…}`, commas inside double quotes not
/// separating, one trailing comma allowed. Patterns are not compiled.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let list = text.strip_prefix('{').unwrap_or(text);
    let list = list.strip_suffix('}').unwrap_or(list);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut inside_quotes, mut escaped) = (false, false);
    for c in list.chars() {
        match c {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            // A comma inside quotes is kept and leaves `escaped` alone.
            ',' => {}
            '"' if escaped => escaped = false,
            '"' => inside_quotes = !inside_quotes,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| Matcher::parse(t)).collect()
}

/// The value of a matcher: a leading `"` must be closed by a last `"`, and
/// `\"`, `\n`, `\\` are escapes (any other backslash is literal).
fn unquote(raw: &str) -> Result<String, MatcherError> {
    let unescaped_quote = || MatcherError::UnescapedQuote(raw.to_string());
    let (body, mut expect_closing_quote) = match raw.strip_prefix('"') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        let last = i + c.len_utf8() == body.len();
        match c {
            '\\' if last => value.push('\\'),
            '\\' => escaped = true,
            '"' if expect_closing_quote && last => expect_closing_quote = false,
            '"' => return Err(unescaped_quote()),
            other => value.push(other),
        }
    }
    if expect_closing_quote {
        return Err(unescaped_quote());
    }
    Ok(value)
}

/// Go's `\s` in regexps: ASCII space, tab, `\n`, `\f`, `\r` (not `\v`, not
/// Unicode spaces).
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

fn trim_go_space(text: &str) -> &str {
    text.trim_start_matches(is_go_space)
}

/// `pattern` anchored at both ends, as Alertmanager compiles matchers.
pub fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// A regex error in one line, as Go words it: `what: `pattern``.
pub fn regex_error(error: &impl fmt::Display, pattern: &str) -> String {
    let text = error.to_string();
    let what = text
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or_else(|| text.lines().last().unwrap_or("invalid regular expression"));
    format!("{}: `{pattern}`", what.trim())
}

/// Why matcher text was refused; `Display` gives Alertmanager's message.
#[derive(Debug, Clone)]
pub enum MatcherError {
    /// Not `name op value` (the whole text).
    Format(String),
    /// A `"` that is neither escaped nor closing (the raw value).
    UnescapedQuote(String),
    /// The pattern of `=~`/`!~` does not compile.
    Regex {
        /// The pattern as written.
        pattern: String,
        /// What the regex compiler said.
        error: regex::Error,
    },
}

impl fmt::Display for MatcherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatcherError::Format(text) => write!(f, "bad matcher format: {text}"),
            MatcherError::UnescapedQuote(raw) => {
                write!(f, "matcher value contains unescaped double quote: {raw}")
            }
            MatcherError::Regex { pattern, error } => {
                write!(f, "error parsing regexp: {}", regex_error(error, pattern))
            }
        }
    }
}

impl std::error::Error for MatcherError {}

impl MatcherError {
    /// The gist of the error in one line, for a diagnostic that shows the
    /// pattern itself: the regex compiler's last line (what is wrong), or
    /// the whole message for the other kinds.
    pub fn last_line(&self) -> String {
        let text = match self {
            MatcherError::Regex { error, .. } => error.to_string(),
            other => other.to_string(),
        };
        text.lines()
            .last()
            .unwrap_or("invalid regex")
            .trim()
            .to_string()
    }
}

/// Diagnostics take their message as a `String`.
impl From<MatcherError> for String {
    fn from(error: MatcherError) -> String {
        error.to_string()
    }
}

/// A [`Matcher`] with its pattern compiled, ready to test label values.
#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    matcher: Matcher,
    /// The anchored pattern of `=~` and `!~`.
    regex: Option<regex::Regex>,
}

impl CompiledMatcher {
    /// Alertmanager's `labels.ParseMatcher` in full: the syntax, then the
    /// pattern compiled.
    pub fn parse(text: &str) -> Result<CompiledMatcher, MatcherError> {
        Matcher::parse(text)?.compile()
    }

    /// Whether a label value (a missing label is "") satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        let hit = match &self.regex {
            Some(regex) => regex.is_match(value),
            None => value == self.matcher.value,
        };
        hit == self.matcher.op.is_equal()
    }

    /// The matcher as written.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }
}

impl Deref for CompiledMatcher {
    type Target = Matcher;

    fn deref(&self) -> &Matcher {
        &self.matcher
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher::new(name, op, value)
    }

    #[test]
    fn matchers_parse_as_alertmanager_parses_them() {
        assert_eq!(
            parse_matchers(r#"{foo = "bar", dings != "bums", }"#).unwrap(),
            vec![
                m("foo", MatchOp::Eq, "bar"),
                m("dings", MatchOp::Ne, "bums")
            ]
        );
        assert_eq!(
            parse_matchers("foo=bar,dings!~bums").unwrap(),
            vec![
                m("foo", MatchOp::Eq, "bar"),
                m("dings", MatchOp::NotRe, "bums")
            ]
        );
        assert_eq!(
            parse_matchers(r#"quote="She said: \"Hi, ladies! That's gender-neutral…\"""#).unwrap(),
            vec![m(
                "quote",
                MatchOp::Eq,
                "She said: \"Hi, ladies! That's gender-neutral…\""
            )]
        );
        assert_eq!(
            parse_matchers(r#"statuscode=~"5..""#).unwrap(),
            vec![m("statuscode", MatchOp::Re, "5..")]
        );
        assert_eq!(
            parse_matchers(r#"severity=~"crit|page", team="a,b""#).unwrap(),
            vec![
                m("severity", MatchOp::Re, "crit|page"),
                m("team", MatchOp::Eq, "a,b")
            ]
        );
        // Escapes: \n, \\, \", and a stray backslash kept.
        assert_eq!(
            parse_matchers(r#"a="x\ny\\z\d""#).unwrap(),
            vec![m("a", MatchOp::Eq, "x\ny\\z\\d")]
        );
        assert_eq!(
            parse_matchers(r"a=b\").unwrap(),
            vec![m("a", MatchOp::Eq, "b\\")]
        );
        assert_eq!(parse_matchers("a=").unwrap(), vec![m("a", MatchOp::Eq, "")]);
        assert_eq!(
            parse_matchers(r#"a="""#).unwrap(),
            vec![m("a", MatchOp::Eq, "")]
        );
    }

    #[test]
    fn bad_matchers_are_refused_with_alertmanagers_message() {
        let error = |text: &str| parse_matchers(text).unwrap_err().to_string();
        assert_eq!(error("a=b,,c=d"), "bad matcher format: ");
        assert!(error("1a=b").starts_with("bad matcher format"));
        assert!(error(r#"a="b"c""#).contains("unescaped double quote"));
        assert!(error(r#"a="b"#).contains("unescaped double quote"));
    }

    #[test]
    fn one_matcher_follows_alertmanager() {
        let m = CompiledMatcher::parse(r#" foo = "a\"b\\c\n" "#).unwrap();
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("foo", MatchOp::Eq, "a\"b\\c\n")
        );
        let m = CompiledMatcher::parse("job!=").unwrap();
        assert_eq!((m.op, m.value.as_str()), (MatchOp::Ne, ""));
        let error = |text: &str| CompiledMatcher::parse(text).unwrap_err().to_string();
        assert_eq!(error("bad"), "bad matcher format: bad");
        assert!(error(r#"a="x"y""#).contains("unescaped double quote"));
        assert!(error("a=~(").starts_with("error parsing regexp"));
        // Label names may hold colons, as Alertmanager's syntax allows.
        assert_eq!(Matcher::parse("a:b=c").unwrap().name, "a:b");
        // Multi-byte characters around quotes and backslashes.
        assert_eq!(Matcher::parse(r#"a="é""#).unwrap().value, "é");
        assert_eq!(Matcher::parse(r"a=é\").unwrap().value, "é\\");
    }

    /// The two parsers klaxon had disagreed on what whitespace is: the API's
    /// took any Unicode space (and `\v`), the importer's Go's `\s`. This pins
    /// Alertmanager's: `\s` is ASCII space, tab, `\n`, `\f` and `\r` only, so
    /// a no-break space or a vertical tab is part of the name or value.
    #[test]
    fn whitespace_is_gos_not_unicodes() {
        assert_eq!(
            Matcher::parse(" \t\n\x0c\ra\r\n=\t b \x0c\n").unwrap(),
            m("a", MatchOp::Eq, "b")
        );
        assert_eq!(Matcher::parse("a=b\u{a0}").unwrap().value, "b\u{a0}");
        assert_eq!(Matcher::parse("a=\x0bb\x0b").unwrap().value, "\x0bb\x0b");
        assert_eq!(
            Matcher::parse("\u{a0}a=b").unwrap_err().to_string(),
            "bad matcher format: \u{a0}a=b"
        );
        assert!(Matcher::parse("a\x0b=b").is_err());
    }

    #[test]
    fn compiled_matchers_match_anchored_and_missing_as_empty() {
        let test = |text: &str, value: &str| CompiledMatcher::parse(text).unwrap().matches(value);
        assert!(test("a=1", "1"));
        assert!(!test("a!=1", "1"));
        assert!(test("a=~1|2", "2"));
        assert!(!test("a=~1", "10"), "anchored at the end");
        assert!(!test("a=~0", "10"), "anchored at the start");
        assert!(test("a!~1", "10"));
        assert!(test("a=", ""));
        assert!(test("a=~|x", ""));
    }

    #[test]
    fn the_json_flags_map_to_operators_and_back() {
        for op in [MatchOp::Eq, MatchOp::Ne, MatchOp::Re, MatchOp::NotRe] {
            assert_eq!(MatchOp::from_flags(op.is_equal(), op.is_regex()), op);
            assert_eq!(MatchOp::parse(op.as_str()), Some(op));
        }
        assert_eq!(MatchOp::parse("=="), None);
    }

    #[test]
    fn regex_errors_read_like_go() {
        let pattern = "(".to_string();
        let error = regex::Regex::new(&pattern).unwrap_err();
        assert_eq!(regex_error(&error, &pattern), "unclosed group: `(`");
    }
}
