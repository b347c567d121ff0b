//! The lexer: splits template text into tokens exactly as Go's
//! `text/template/parse` lexer does (Go 1.19, the toolchain Prometheus 2.42
//! was built with), including trim markers and comments.
//!
//! The whole text is lexed up front. Lexing stops at the first error; the
//! error is kept aside and an [`Kind::Error`] token ends the stream, so the
//! parser reports it only when it reaches that point, which is the order in
//! which Go reports errors.

use super::TemplateError;

/// Keywords of the template language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    Block,
    Break,
    Continue,
    /// The cursor `.` (Go lexes it as a keyword).
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        Some(match word {
            "block" => Keyword::Block,
            "break" => Keyword::Break,
            "continue" => Keyword::Continue,
            "define" => Keyword::Define,
            "else" => Keyword::Else,
            "end" => Keyword::End,
            "if" => Keyword::If,
            "nil" => Keyword::Nil,
            "range" => Keyword::Range,
            "template" => Keyword::Template,
            "with" => Keyword::With,
            _ => return None,
        })
    }
}

/// Token kinds; they mirror Go's `itemType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Lexing failed here; the message is in [`Lexed::error`].
    Error,
    Bool,
    /// A printable ASCII character with no other meaning, such as `,`.
    Char,
    CharConstant,
    Comment,
    Complex,
    /// `=`.
    Assign,
    /// `:=`.
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    Keyword(Keyword),
}

/// One token: its kind and the byte range of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// The result of lexing: tokens ending in `Eof` or `Error`, and the error.
#[derive(Debug)]
pub(super) struct Lexed {
    pub tokens: Vec<Token>,
    pub error: Option<TemplateError>,
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
/// A trim marker is `-` plus one space character.
const TRIM_MARKER_LEN: usize = 2;

/// Go's `isSpace`: the characters that separate arguments and that trim
/// markers remove.
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Go's `isAlphaNumeric` (`unicode.IsLetter`/`IsDigit` approximated by
/// Rust's alphabetic/numeric classes).
pub(super) fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() == Some(&b'-') && b.get(1).is_some_and(|&c| is_space(c as char))
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(|&c| is_space(c as char)) && b.get(1) == Some(&b'-')
}

/// Formats a character as Go's `%#U` does: `U+002D '-'`.
pub(super) fn go_char(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// Lexes a whole template.
pub(super) fn lex(text: &str) -> Lexed {
    let mut lexer = Lexer {
        text,
        pos: 0,
        tokens: Vec::new(),
    };
    let error = lexer.run().err();
    let end = text.len();
    let kind = if error.is_some() {
        Kind::Error
    } else {
        Kind::Eof
    };
    lexer.tokens.push(Token {
        kind,
        start: end,
        end,
    });
    Lexed {
        tokens: lexer.tokens,
        error,
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    tokens: Vec<Token>,
}

type LexResult<T> = Result<T, TemplateError>;

fn error<T>(offset: usize, message: impl Into<String>) -> LexResult<T> {
    Err(TemplateError {
        offset,
        message: message.into(),
    })
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn rest_at(&self, pos: usize) -> &'a str {
        self.text.get(pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes the next character if it is one of `valid`.
    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        self.tokens.push(Token { kind, start, end });
    }

    /// Text mode: everything up to the next `{{`, then one action or comment.
    fn run(&mut self) -> LexResult<()> {
        let mut start = self.pos;
        loop {
            let Some(found) = self.rest().find(LEFT_DELIM) else {
                if self.text.len() > start {
                    self.push(Kind::Text, start, self.text.len());
                }
                self.pos = self.text.len();
                return Ok(());
            };
            let delim = self.pos + found;
            let after_delim = delim + LEFT_DELIM.len();
            let trim = has_left_trim_marker(self.rest_at(after_delim));
            let mut text_end = delim;
            if trim {
                let before = self.text.get(start..delim).unwrap_or("");
                text_end = start + before.trim_end_matches(is_space).len();
            }
            if text_end > start {
                self.push(Kind::Text, start, text_end);
            }
            let inside = after_delim + if trim { TRIM_MARKER_LEN } else { 0 };
            self.pos = if self.rest_at(inside).starts_with(LEFT_COMMENT) {
                self.comment(delim, inside)?
            } else {
                self.push(Kind::LeftDelim, delim, after_delim);
                self.pos = inside;
                self.inside_action(delim)?
            };
            start = self.pos;
        }
    }

    /// Whether `pos` is at a right delimiter, and whether it has a trim marker.
    fn at_right_delim(&self, pos: usize) -> (bool, bool) {
        let rest = self.rest_at(pos);
        if has_right_trim_marker(rest)
            && rest
                .get(TRIM_MARKER_LEN..)
                .is_some_and(|r| r.starts_with(RIGHT_DELIM))
        {
            return (true, true);
        }
        (rest.starts_with(RIGHT_DELIM), false)
    }

    /// Skips the right delimiter at `pos` (and the following spaces when it
    /// has a trim marker); returns where text resumes.
    fn skip_right_delim(&self, pos: usize, trim: bool) -> usize {
        let mut end = pos + RIGHT_DELIM.len() + if trim { TRIM_MARKER_LEN } else { 0 };
        if trim {
            let rest = self.rest_at(end);
            end += rest.len() - rest.trim_start_matches(is_space).len();
        }
        end
    }

    /// A `{{/* ... */}}` comment; `inside` is where `/*` starts.
    fn comment(&mut self, delim: usize, inside: usize) -> LexResult<usize> {
        let body = inside + LEFT_COMMENT.len();
        let Some(close) = self.rest_at(body).find(RIGHT_COMMENT) else {
            return error(delim, "unclosed comment");
        };
        let after = body + close + RIGHT_COMMENT.len();
        let (is_delim, trim) = self.at_right_delim(after);
        if !is_delim {
            return error(after, "comment ends before closing delimiter");
        }
        let resume = self.skip_right_delim(after, trim);
        let end = after + RIGHT_DELIM.len() + if trim { TRIM_MARKER_LEN } else { 0 };
        self.push(Kind::Comment, delim, end);
        Ok(resume)
    }

    /// Inside `{{ ... }}`; returns where text resumes after the action.
    fn inside_action(&mut self, delim: usize) -> LexResult<usize> {
        let mut open_parens: Vec<usize> = Vec::new();
        loop {
            let (is_delim, trim) = self.at_right_delim(self.pos);
            if is_delim {
                if let Some(&paren) = open_parens.last() {
                    return error(paren, "unclosed left paren");
                }
                let start = self.pos;
                let end = start + RIGHT_DELIM.len() + if trim { TRIM_MARKER_LEN } else { 0 };
                self.push(Kind::RightDelim, start, end);
                return Ok(self.skip_right_delim(start, trim));
            }
            let start = self.pos;
            let Some(c) = self.bump() else {
                return error(delim, "unclosed action");
            };
            match c {
                c if is_space(c) => self.space(start),
                '=' => self.push(Kind::Assign, start, self.pos),
                ':' => {
                    if self.bump() != Some('=') {
                        return error(start, "expected :=");
                    }
                    self.push(Kind::Declare, start, self.pos);
                }
                '|' => self.push(Kind::Pipe, start, self.pos),
                '"' => self.quote(start, '"', Kind::String, "unterminated quoted string")?,
                '\'' => self.quote(
                    start,
                    '\'',
                    Kind::CharConstant,
                    "unterminated character constant",
                )?,
                '`' => self.raw_quote(start)?,
                '$' => self.variable(start)?,
                '.' if !self.peek().is_some_and(|next| next.is_ascii_digit()) => {
                    if self.peek().is_none() {
                        // Go: a lone '.' at the end falls through to the
                        // number scanner.
                        self.pos = start;
                        self.number(start)?;
                    } else {
                        self.field(start)?;
                    }
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos = start;
                    self.number(start)?;
                }
                c if is_alphanumeric(c) => self.identifier(start)?,
                '(' => {
                    self.push(Kind::LeftParen, start, self.pos);
                    open_parens.push(start);
                }
                ')' => {
                    if open_parens.pop().is_none() {
                        return error(start, format!("unexpected right paren {}", go_char(c)));
                    }
                    self.push(Kind::RightParen, start, self.pos);
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.push(Kind::Char, start, self.pos)
                }
                c => {
                    return error(
                        start,
                        format!("unrecognized character in action: {}", go_char(c)),
                    );
                }
            }
        }
    }

    /// A run of spaces; the first one is consumed. The last space of a run
    /// that ends in ` -}}` belongs to the trim marker.
    fn space(&mut self, start: usize) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        let (is_delim, trim) = self.at_right_delim(self.pos - 1);
        if is_delim && trim {
            self.pos -= 1;
        }
        if self.pos > start {
            self.push(Kind::Space, start, self.pos);
        }
    }

    /// Go's `atTerminator`: may an identifier, field or variable end here?
    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(' | '}'),
        }
    }

    fn bad_character(&self) -> TemplateError {
        let c = self.peek().unwrap_or('\u{fffd}');
        TemplateError {
            offset: self.pos,
            message: format!("bad character {}", go_char(c)),
        }
    }

    fn alphanumeric_run(&mut self) {
        while self.peek().is_some_and(is_alphanumeric) {
            self.bump();
        }
    }

    fn identifier(&mut self, start: usize) -> LexResult<()> {
        self.alphanumeric_run();
        if !self.at_terminator() {
            return Err(self.bad_character());
        }
        let word = self.text.get(start..self.pos).unwrap_or("");
        let kind = match Keyword::from_word(word) {
            Some(keyword) => Kind::Keyword(keyword),
            None if word == "true" || word == "false" => Kind::Bool,
            None => Kind::Identifier,
        };
        self.push(kind, start, self.pos);
        Ok(())
    }

    /// `$` or `$name`; the `$` is consumed.
    fn variable(&mut self, start: usize) -> LexResult<()> {
        if !self.at_terminator() {
            self.alphanumeric_run();
            if !self.at_terminator() {
                return Err(self.bad_character());
            }
        }
        self.push(Kind::Variable, start, self.pos);
        Ok(())
    }

    /// `.name` or the cursor `.`; the `.` is consumed.
    fn field(&mut self, start: usize) -> LexResult<()> {
        if self.at_terminator() {
            self.push(Kind::Keyword(Keyword::Dot), start, self.pos);
            return Ok(());
        }
        self.alphanumeric_run();
        if !self.at_terminator() {
            return Err(self.bad_character());
        }
        self.push(Kind::Field, start, self.pos);
        Ok(())
    }

    fn number(&mut self, start: usize) -> LexResult<()> {
        let bad = |lexer: &Lexer, end: usize| {
            error(
                start,
                format!(
                    "bad number syntax: {:?}",
                    lexer.text.get(start..end).unwrap_or("")
                ),
            )
        };
        match scan_number(self.rest()) {
            Ok(len) => self.pos += len,
            Err(len) => return bad(self, self.pos + len),
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex: 1+2i. No spaces, must end in 'i'.
            match scan_number(self.rest()) {
                Ok(len) => self.pos += len,
                Err(len) => return bad(self, self.pos + len),
            }
            if !self.text.get(..self.pos).is_some_and(|t| t.ends_with('i')) {
                return bad(self, self.pos);
            }
            self.push(Kind::Complex, start, self.pos);
        } else {
            self.push(Kind::Number, start, self.pos);
        }
        Ok(())
    }

    /// An interpreted string or character constant; the opening quote is
    /// consumed. Escapes are checked later by the parser.
    fn quote(
        &mut self,
        start: usize,
        quote: char,
        kind: Kind,
        unterminated: &str,
    ) -> LexResult<()> {
        loop {
            match self.bump() {
                Some('\\') => match self.bump() {
                    None | Some('\n') => return error(start, unterminated),
                    Some(_) => {}
                },
                None | Some('\n') => return error(start, unterminated),
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.push(kind, start, self.pos);
        Ok(())
    }

    fn raw_quote(&mut self, start: usize) -> LexResult<()> {
        loop {
            match self.bump() {
                None => return error(start, "unterminated raw quoted string"),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.push(Kind::RawString, start, self.pos);
        Ok(())
    }
}

/// Go's `scanNumber`: the length of the number at the start of `s`, or
/// `Err(length)` up to and including an alphanumeric character that may not
/// follow a number. Deliberately loose (it accepts `.` and `089`); the
/// parser's conversion rejects what is not a number.
pub(super) fn scan_number(s: &str) -> Result<usize, usize> {
    let mut scanner = Lexer {
        text: s,
        pos: 0,
        tokens: Vec::new(),
    };
    scanner.accept("+-");
    let mut digits = "0123456789_";
    if scanner.accept("0") {
        if scanner.accept("xX") {
            digits = "0123456789abcdefABCDEF_";
        } else if scanner.accept("oO") {
            digits = "01234567_";
        } else if scanner.accept("bB") {
            digits = "01_";
        }
    }
    scanner.accept_run(digits);
    if scanner.accept(".") {
        scanner.accept_run(digits);
    }
    if digits.len() == 10 + 1 && scanner.accept("eE") {
        scanner.accept("+-");
        scanner.accept_run("0123456789_");
    }
    if digits.len() == 16 + 6 + 1 && scanner.accept("pP") {
        scanner.accept("+-");
        scanner.accept_run("0123456789_");
    }
    scanner.accept("i");
    if let Some(c) = scanner.peek().filter(|&c| is_alphanumeric(c)) {
        return Err(scanner.pos + c.len_utf8());
    }
    Ok(scanner.pos)
}
