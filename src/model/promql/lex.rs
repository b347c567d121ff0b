//! The recogniser's lexer: PromQL tokens with their byte ranges, and the
//! lexical errors (a stray `$`, an unterminated string, a bad duration)
//! located at the offending character.

use super::{LocatedError, err};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// Identifier or keyword (lowercased comparison happens on `text`).
    Ident,
    /// Identifier containing `:` (only a metric name).
    MetricIdent,
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    /// `=` (only in matchers).
    Assign,
    /// A binary or matcher operator: `+ - * / % ^ == != < <= > >= =~ !~`.
    Op,
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) start: usize,
    pub(super) end: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The tokens of `text`, ending with [`Kind::Eof`], or the first lexical
/// error.
pub(super) fn lex(text: &str) -> Result<Vec<Token>, LocatedError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(text.len(), |(o, _)| *o);
    let ch = |i: usize| chars.get(i).map(|(_, c)| *c);
    let mut tokens = Vec::new();
    let mut i = 0;
    // Whether we are inside `{...}` or `[...]`, where identifiers and
    // numbers are read differently.
    let mut brace_open: Option<usize> = None;
    let mut bracket_open: Option<usize> = None;
    while let Some(c) = ch(i) {
        let start = at(i);
        let single = |kind| Token {
            kind,
            start,
            end: start + 1,
        };
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '#' => {
                while ch(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '(' => {
                tokens.push(single(Kind::LParen));
                i += 1;
            }
            ')' => {
                tokens.push(single(Kind::RParen));
                i += 1;
            }
            '{' => {
                if brace_open.is_some() {
                    return Err(err(
                        start,
                        start + 1,
                        "unexpected left brace '{' inside braces",
                        "unexpected `{`",
                    ));
                }
                brace_open = Some(start);
                tokens.push(single(Kind::LBrace));
                i += 1;
            }
            '}' => {
                if brace_open.take().is_none() {
                    return Err(err(
                        start,
                        start + 1,
                        "unexpected right brace '}'",
                        "no matching `{`",
                    ));
                }
                tokens.push(single(Kind::RBrace));
                i += 1;
            }
            '[' => {
                if bracket_open.is_some() {
                    return Err(err(
                        start,
                        start + 1,
                        "unexpected left bracket '[' inside brackets",
                        "unexpected `[`",
                    ));
                }
                bracket_open = Some(start);
                tokens.push(single(Kind::LBracket));
                i += 1;
            }
            ']' => {
                if bracket_open.take().is_none() {
                    return Err(err(
                        start,
                        start + 1,
                        "unexpected right bracket ']'",
                        "no matching `[`",
                    ));
                }
                tokens.push(single(Kind::RBracket));
                i += 1;
            }
            ',' => {
                tokens.push(single(Kind::Comma));
                i += 1;
            }
            ':' if bracket_open.is_some() => {
                tokens.push(single(Kind::Colon));
                i += 1;
            }
            '@' => {
                tokens.push(single(Kind::At));
                i += 1;
            }
            '=' => {
                let (kind, len) = match ch(i + 1) {
                    Some('=') => (Kind::Op, 2),
                    Some('~') => (Kind::Op, 2),
                    _ => (Kind::Assign, 1),
                };
                tokens.push(Token {
                    kind,
                    start,
                    end: start + len,
                });
                i += len;
            }
            '!' => match ch(i + 1) {
                Some('=' | '~') => {
                    tokens.push(Token {
                        kind: Kind::Op,
                        start,
                        end: start + 2,
                    });
                    i += 2;
                }
                other => {
                    let message = match other {
                        Some(o) => format!("unexpected character after '!': '{o}'"),
                        None => "'!' can not be at the end".to_string(),
                    };
                    let mut e = err(start, start + 1, message, "expected `!=` or `!~`");
                    e.hint = Some(
                        "PromQL has no `!` operator; use `!=`, `!~`, `unless` or `absent()`"
                            .to_string(),
                    );
                    return Err(e);
                }
            },
            '<' | '>' => {
                let len = if ch(i + 1) == Some('=') { 2 } else { 1 };
                tokens.push(Token {
                    kind: Kind::Op,
                    start,
                    end: start + len,
                });
                i += len;
            }
            '+' | '-' | '*' | '/' | '%' | '^' => {
                tokens.push(single(Kind::Op));
                i += 1;
            }
            '"' | '\'' | '`' => {
                let quote = c;
                i += 1;
                loop {
                    match ch(i) {
                        None => {
                            let mut e = err(
                                start,
                                text.len(),
                                format!("unterminated quoted string {quote}"),
                                "this string is never closed",
                            );
                            e.hint = Some(format!("close it with {quote}"));
                            return Err(e);
                        }
                        Some('\\') if quote != '`' => i += 2,
                        Some('\n') if quote != '`' => {
                            let mut e = err(
                                start,
                                at(i),
                                format!("unterminated quoted string {quote}"),
                                "this string is never closed",
                            );
                            e.hint =
                                Some(format!("close it with {quote} before the end of the line"));
                            return Err(e);
                        }
                        Some(c) if c == quote => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                tokens.push(Token {
                    kind: Kind::Str,
                    start,
                    end: at(i),
                });
            }
            c if c.is_ascii_digit()
                || (c == '.' && ch(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let mut j = i;
                let mut kind = Kind::Number;
                if c == '0' && matches!(ch(i + 1), Some('x' | 'X')) {
                    j += 2;
                    while ch(j).is_some_and(|c| c.is_ascii_hexdigit()) {
                        j += 1;
                    }
                } else {
                    while ch(j).is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '_') {
                        j += 1;
                    }
                    if matches!(ch(j), Some('e' | 'E'))
                        && ch(j + 1).is_some_and(|c| c.is_ascii_digit() || c == '+' || c == '-')
                    {
                        j += 2;
                        let digits_from = j;
                        while ch(j).is_some_and(|c| c.is_ascii_digit()) {
                            j += 1;
                        }
                        if j == digits_from && !ch(j - 1).is_some_and(|c| c.is_ascii_digit()) {
                            let word = &text[start..at(j)];
                            return Err(err(
                                start,
                                at(j),
                                format!("bad number syntax: \"{word}\""),
                                "the exponent has no digits",
                            ));
                        }
                    } else if ch(j).is_some_and(|c| c.is_ascii_alphabetic()) {
                        // A duration: number-unit pairs such as 1h30m.
                        kind = Kind::Duration;
                        while ch(j).is_some_and(|c| c.is_ascii_alphanumeric()) {
                            j += 1;
                        }
                        let word = &text[start..at(j)];
                        if crate::vocab::time::parse_duration(word).is_err() {
                            let mut e = err(
                                start,
                                at(j),
                                format!("bad number or duration syntax: \"{word}\""),
                                "not a number or duration",
                            );
                            e.hint = Some("durations look like 30s, 5m, 1h30m, 1d (units ms, s, m, h, d, w, y)".to_string());
                            return Err(e);
                        }
                    }
                }
                tokens.push(Token {
                    kind,
                    start,
                    end: at(j),
                });
                i = j;
            }
            c if is_ident_start(c) => {
                let mut j = i + 1;
                let in_braces = brace_open.is_some();
                while ch(j).is_some_and(|c| {
                    if in_braces {
                        c.is_ascii_alphanumeric() || c == '_'
                    } else {
                        is_ident_char(c)
                    }
                }) {
                    j += 1;
                }
                let word = &text[start..at(j)];
                tokens.push(Token {
                    kind: if word.contains(':') {
                        Kind::MetricIdent
                    } else {
                        Kind::Ident
                    },
                    start,
                    end: at(j),
                });
                i = j;
            }
            other => {
                let end = start + other.len_utf8();
                let mut e = err(
                    start,
                    end,
                    format!("unexpected character: '{other}'"),
                    "not valid in PromQL",
                );
                if other == '$' {
                    e.hint = Some(
                        "`$` variables (Grafana's `$__rate_interval`, `$job`, ...) do not exist in Prometheus rules; write the value, e.g. `[5m]`"
                            .to_string(),
                    );
                } else if other == '&' || other == '|' {
                    e.hint = Some("PromQL spells these `and` and `or`".to_string());
                } else if other == '{' || other == '}' {
                    e.hint = None;
                }
                return Err(e);
            }
        }
    }
    if let Some(open) = brace_open {
        let mut e = err(
            open,
            open + 1,
            "unclosed left brace; expected '}'",
            "this `{` is never closed",
        );
        e.hint = Some("close the label matchers with `}`".to_string());
        return Err(e);
    }
    if let Some(open) = bracket_open {
        let mut e = err(
            open,
            open + 1,
            "unclosed left bracket; expected ']'",
            "this `[` is never closed",
        );
        e.hint = Some("close the range with `]`".to_string());
        return Err(e);
    }
    tokens.push(Token {
        kind: Kind::Eof,
        start: text.len(),
        end: text.len(),
    });
    Ok(tokens)
}
