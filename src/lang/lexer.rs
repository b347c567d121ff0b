//! Tokenizer for the klaxon DSL, written with nom over a `LocatedSpan` so
//! every token knows its byte offset and line.
//!
//! The lexer never fails: text it cannot read becomes an [`TokenKind::Error`]
//! token with a message, and lexing continues at the next character, so the
//! parser can report it in place and keep going.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};
use nom_language::error::VerboseError;
use nom_locate::LocatedSpan;

/// Input type: the text with its position.
pub type Input<'a> = LocatedSpan<&'a str>;
type LexResult<'a, T> = IResult<Input<'a>, T, VerboseError<Input<'a>>>;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A name or keyword: `[A-Za-z_][A-Za-z0-9_:.-]*`.
    Ident(String),
    /// A double-quoted string, unescaped.
    Str(String),
    /// A backtick raw string.
    Raw(String),
    /// A number.
    Number(f64),
    /// A duration such as `1h30m` (text as written).
    Duration(String),
    /// Punctuation or an operator: `{ } ( ) , = != =~ !~ == < <= > >= ...`.
    Punct(&'static str),
    /// A `#` comment, without the `#`.
    Comment(String),
    /// Unreadable text, with what is wrong.
    Error(String),
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The kind and payload.
    pub kind: TokenKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset one past the last character.
    pub end: usize,
    /// 1-based line of the first character.
    pub line: u32,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Ident(s) => format!("`{s}`"),
            TokenKind::Str(s) => format!("string \"{}\"", truncate(s)),
            TokenKind::Raw(_) => "a backtick query".into(),
            TokenKind::Number(_) => "a number".into(),
            TokenKind::Duration(d) => format!("duration `{d}`"),
            TokenKind::Punct(p) => format!("`{p}`"),
            TokenKind::Comment(_) => "a comment".into(),
            TokenKind::Error(_) => "unreadable text".into(),
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 24 {
        format!("{}…", s.chars().take(24).collect::<String>())
    } else {
        s.to_string()
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-')
}

fn ident(i: Input) -> LexResult<Input> {
    recognize(pair(take_while1(is_ident_start), take_while(is_ident_char))).parse(i)
}

fn comment(i: Input) -> LexResult<Input> {
    preceded(char('#'), take_till(|c| c == '\n')).parse(i)
}

/// A number (optionally signed, decimal, exponent) possibly followed by
/// letters; the letters decide between a number and a duration.
fn number_like(i: Input) -> LexResult<Input> {
    recognize((
        opt(one_of("+-")),
        digit1,
        opt(pair(char('.'), digit1)),
        take_while(|c: char| c.is_ascii_alphanumeric()),
    ))
    .parse(i)
}

fn punct(i: Input) -> LexResult<&'static str> {
    alt((
        tag("...").map(|_| "..."),
        tag("==").map(|_| "=="),
        tag("!=").map(|_| "!="),
        tag("=~").map(|_| "=~"),
        tag("!~").map(|_| "!~"),
        tag("<=").map(|_| "<="),
        tag(">=").map(|_| ">="),
        tag("<").map(|_| "<"),
        tag(">").map(|_| ">"),
        tag("=").map(|_| "="),
        tag("{").map(|_| "{"),
        tag("}").map(|_| "}"),
        tag("(").map(|_| "("),
        tag(")").map(|_| ")"),
        tag(",").map(|_| ","),
    ))
    .parse(i)
}

/// Classifies number-like text: a number, a duration, or an error.
fn classify_number(text: &str) -> TokenKind {
    let split = text
        .char_indices()
        .find(|(i, c)| c.is_ascii_alphabetic() && !(*i > 0 && is_exponent_at(text, *i)))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    if split == text.len() {
        return match text.parse::<f64>() {
            Ok(v) => TokenKind::Number(v),
            Err(_) => TokenKind::Error(format!("`{text}` is not a number")),
        };
    }
    match crate::vocab::time::parse_duration(text) {
        Ok(_) => TokenKind::Duration(text.to_string()),
        Err(msg) => TokenKind::Error(msg),
    }
}

/// Whether an `e`/`E` at `i` starts a valid exponent (`1e5`, `1.5E-3`).
fn is_exponent_at(text: &str, i: usize) -> bool {
    let b = text.as_bytes();
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return false;
    }
    let rest = &text[i + 1..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit())
}

/// Splits `text` into tokens. Whitespace is dropped; comments are kept.
pub fn tokenize(text: &str) -> Vec<Token> {
    Lexer::new(text).collect()
}

/// The tokens of a text, one at a time, so a parser holds only the few it
/// looks at rather than a list as large as the file.
pub struct Lexer<'a> {
    input: Input<'a>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Lexer {
            input: Input::new(text),
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let mut input = self.input;
        // Skip whitespace.
        let ws: LexResult<Input> = take_while(|c: char| c.is_whitespace()).parse(input);
        if let Ok((rest, _)) = ws {
            input = rest;
        }
        let c = input.fragment().chars().next()?;
        let start = input.location_offset();
        let line = input.location_line();
        let (rest, kind) = match c {
            '#' => match comment(input) {
                Ok((rest, body)) => (rest, TokenKind::Comment(body.fragment().to_string())),
                Err(_) => skip_one(input, "unreadable comment"),
            },
            '"' => lex_string(input),
            '`' => lex_raw(input),
            c if is_ident_start(c) => match ident(input) {
                Ok((rest, word)) => (rest, TokenKind::Ident(word.fragment().to_string())),
                Err(_) => skip_one(input, "unreadable name"),
            },
            c if c.is_ascii_digit() => lex_number(input),
            '+' | '-' => {
                let frag = input.fragment();
                if frag.starts_with("+Inf") || frag.starts_with("-Inf") {
                    let value = if c == '+' {
                        f64::INFINITY
                    } else {
                        f64::NEG_INFINITY
                    };
                    (input.take_split(4).0, TokenKind::Number(value))
                } else if frag[1..].starts_with(|d: char| d.is_ascii_digit()) {
                    lex_number(input)
                } else {
                    skip_one(input, "unexpected character")
                }
            }
            _ => match punct(input) {
                Ok((rest, p)) => (rest, TokenKind::Punct(p)),
                Err(_) => skip_one(input, "unexpected character"),
            },
        };
        let end = rest.location_offset();
        self.input = rest;
        Some(Token {
            kind,
            start,
            end,
            line,
        })
    }
}

trait TakeSplit<'a> {
    fn take_split(self, n: usize) -> (Input<'a>, Input<'a>);
}

impl<'a> TakeSplit<'a> for Input<'a> {
    /// Splits after `n` bytes (clamped to a char boundary); returns (rest, taken).
    fn take_split(self, n: usize) -> (Input<'a>, Input<'a>) {
        use nom::Input as _;
        let frag = self.fragment();
        let mut n = n.min(frag.len());
        while !frag.is_char_boundary(n) {
            n += 1;
        }
        (self.take_from(n), self.take(n))
    }
}

fn skip_one<'a>(input: Input<'a>, what: &str) -> (Input<'a>, TokenKind) {
    let c = input.fragment().chars().next().unwrap_or(' ');
    let (rest, _) = input.take_split(c.len_utf8());
    (
        rest,
        TokenKind::Error(format!("{what} `{}`", c.escape_debug())),
    )
}

fn lex_number(input: Input) -> (Input, TokenKind) {
    match number_like(input) {
        Ok((rest, text)) => {
            let text = *text.fragment();
            // An exponent sign (`1e-5`) stops `number_like`; take it too.
            let frag = rest.fragment();
            if (text.ends_with('e') || text.ends_with('E'))
                && frag.starts_with(['+', '-'])
                && frag[1..].starts_with(|c: char| c.is_ascii_digit())
            {
                let digits = frag[1..].bytes().take_while(u8::is_ascii_digit).count();
                let total = text.len() + 1 + digits;
                let (rest, all) = input.take_split(total);
                return (rest, classify_number(all.fragment()));
            }
            (rest, classify_number(text))
        }
        Err(_) => skip_one(input, "unreadable number"),
    }
}

fn lex_string(input: Input) -> (Input, TokenKind) {
    let frag = input.fragment();
    let mut out = String::new();
    let mut chars = frag.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (input.take_split(i + 1).0, TokenKind::Str(out)),
            '\n' => {
                return (
                    input.take_split(i).0,
                    TokenKind::Error(
                        "unterminated string: a `\"` string must end on the line it starts (use a backtick string for several lines)".into(),
                    ),
                );
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((j, other)) => {
                    // Unknown escapes are an error, but the string still ends
                    // where it ends so lexing stays in step.
                    let end = frag[j..]
                        .find(['"', '\n'])
                        .map(|k| j + k + usize::from(frag[j + k..].starts_with('"')))
                        .unwrap_or(frag.len());
                    return (
                        input.take_split(end).0,
                        TokenKind::Error(format!(
                            "unknown escape `\\{}` in string (use \\\\, \\\", \\n, \\t or \\r)",
                            other.escape_debug()
                        )),
                    );
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    (
        input.take_split(frag.len()).0,
        TokenKind::Error("unterminated string: missing the closing `\"`".into()),
    )
}

fn lex_raw(input: Input) -> (Input, TokenKind) {
    let frag = input.fragment();
    match frag[1..].find('`') {
        Some(end) => (
            input.take_split(end + 2).0,
            TokenKind::Raw(frag[1..end + 1].to_string()),
        ),
        None => (
            input.take_split(frag.len()).0,
            TokenKind::Error("unterminated backtick string: missing the closing ```".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn lexes_statements() {
        use TokenKind::*;
        assert_eq!(
            kinds("critical when value != 1 for 1h30m # x"),
            vec![
                Ident("critical".into()),
                Ident("when".into()),
                Ident("value".into()),
                Punct("!="),
                Number(1.0),
                Ident("for".into()),
                Duration("1h30m".into()),
                Comment(" x".into()),
            ]
        );
        assert_eq!(
            kinds(r#"x = "a\"b" `q{a="1"}` -2.5e-3 +Inf ..."#),
            vec![
                Ident("x".into()),
                Punct("="),
                Str("a\"b".into()),
                Raw("q{a=\"1\"}".into()),
                Number(-0.0025),
                Number(f64::INFINITY),
                Punct("..."),
            ]
        );
    }

    #[test]
    fn bad_text_becomes_error_tokens_and_lexing_goes_on() {
        let t = tokenize("a \"open\nb 5x @ c");
        assert!(matches!(&t[1].kind, TokenKind::Error(m) if m.contains("unterminated")));
        assert_eq!(t[2].kind, TokenKind::Ident("b".into()));
        assert!(matches!(&t[3].kind, TokenKind::Error(m) if m.contains("unknown unit")));
        assert!(matches!(&t[4].kind, TokenKind::Error(m) if m.contains("unexpected")));
        assert_eq!(t[5].kind, TokenKind::Ident("c".into()));
        assert_eq!((t[5].start, t[5].line), (15, 2));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "\"\\",
            "`",
            "-",
            "+I",
            "1e",
            "1e+",
            "é",
            "\"é\\é\"",
            "9999999999999999999999s",
        ] {
            let _ = tokenize(s);
        }
    }
}
