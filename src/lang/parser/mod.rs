//! Recovering parser for the klaxon DSL.
//!
//! Tokens come from the nom lexer in [`super::lexer`]; this module walks them
//! statement by statement. Every statement starts with a keyword, so after an
//! error the parser skips to the first token of a later line at the same
//! brace depth (or the closing brace) and carries on: one bad alert never
//! hides the errors after it. Nesting is capped so hostile input cannot
//! overflow the stack, and every loop consumes a token, so parsing always ends.
//!
//! This file holds the token access, error recovery, comments and the
//! pieces every block uses (names, strings, durations, numbers, label
//! sets); the rule blocks are parsed in `rules`, the blocks that configure
//! components (datasources, receivers, routes, inhibitions, time windows)
//! in `components`.

mod components;
mod rules;

use crate::diag::{Diagnostic, FileId, Span, suggest};
use crate::lang::ast::*;
use crate::lang::lexer::{Lexer, Token, TokenKind};

/// Deepest nesting of routes or parentheses accepted.
const MAX_DEPTH: usize = 32;

/// Files larger than this are refused rather than parsed.
pub const MAX_FILE_BYTES: usize = crate::user_file::MAX_RULE_FILE_BYTES as usize;

const TOP_LEVEL: &[&str] = &[
    "group",
    "datasource",
    "receiver",
    "route",
    "inhibit",
    "time_window",
    "include",
];
const GROUP_STMTS: &[&str] = &["every", "labels", "limit", "alert", "record"];
const ALERT_STMTS: &[&str] = &[
    "query",
    "info",
    "warning",
    "critical",
    "resolve",
    "keep_firing",
    "nodata",
    "labels",
    "summary",
    "description",
    "runbook",
    "annotations",
];
const RECORD_STMTS: &[&str] = &["query", "labels"];
const ROUTE_STMTS: &[&str] = &[
    "match",
    "receiver",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "resolve_wait",
    "continue",
    "mute_during",
    "active_during",
    "route",
];
const INHIBIT_STMTS: &[&str] = &["source", "target", "equal"];
const INTEGRATIONS: &[&str] = &["slack", "email", "webhook"];
const DATASOURCE_KINDS: &[&str] = &["prometheus", "elasticsearch"];
const ES_AGGS: &[&str] = &[
    "count",
    "avg",
    "min",
    "max",
    "sum",
    "cardinality",
    "percentile",
];

/// Parses one file. Never panics; returns what parsed plus every error.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    if text.len() > MAX_FILE_BYTES {
        return (
            File::default(),
            vec![
                Diagnostic::error(
                    "syntax/too-large",
                    Span::new(file, 0, 0),
                    format!(
                        "file is {} bytes; the limit is {MAX_FILE_BYTES}",
                        text.len()
                    ),
                )
                .with_hint("split the rules into several files and `include` them".to_string()),
            ],
        );
    }
    let mut p = Parser {
        file,
        text_len: text.len(),
        lexer: Lexer::new(text),
        cur: None,
        ahead: None,
        prev: None,
        comments: Vec::new(),
        next_comment: 0,
        diags: Vec::new(),
        depth: 0,
    };
    p.cur = p.lex();
    p.ahead = p.lex();
    let file_ast = p.file();
    (file_ast, p.diags)
}

/// Marker that an error was reported and the caller should recover.
struct Reported;

type PResult<T> = Result<T, Reported>;

/// Tokens are read from the lexer as the parser moves on: it looks at the
/// current token and the one after it, and remembers where the previous one
/// ended, so a large file is never a list of tokens in memory.
struct Parser<'a> {
    file: FileId,
    text_len: usize,
    lexer: Lexer<'a>,
    /// The current token.
    cur: Option<Token>,
    /// The token after it.
    ahead: Option<Token>,
    /// End offset and line of the previous token.
    prev: Option<(usize, u32)>,
    /// Comments read so far (every one before `ahead`), in order.
    comments: Vec<(usize, String)>,
    next_comment: usize,
    diags: Vec<Diagnostic>,
    depth: usize,
}

impl Parser<'_> {
    // ----- token access -------------------------------------------------

    /// The lexer's next token other than a comment; comments are kept aside.
    fn lex(&mut self) -> Option<Token> {
        loop {
            let t = self.lexer.next()?;
            match t.kind {
                TokenKind::Comment(body) => self.comments.push((t.start, body)),
                _ => return Some(t),
            }
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.cur.as_ref()
    }

    /// The token `n` places ahead; the parser looks at most one ahead.
    fn peek_at(&self, n: usize) -> Option<&Token> {
        match n {
            0 => self.cur.as_ref(),
            1 => self.ahead.as_ref(),
            _ => None,
        }
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.cur.take()?;
        self.prev = Some((t.end, t.line));
        self.cur = self.ahead.take();
        self.ahead = self.lex();
        Some(t)
    }

    fn span_of(&self, t: &Token) -> Span {
        Span::new(self.file, t.start, t.end)
    }

    /// Span of the current token, or the end of the file.
    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => self.span_of(t),
            None => Span::new(self.file, self.text_len, self.text_len),
        }
    }

    /// Span of the previous token (for "missing X after Y" errors).
    fn prev_end(&self) -> Span {
        match self.prev {
            Some((end, _)) => Span::new(self.file, end, end),
            None => Span::new(self.file, 0, 0),
        }
    }

    fn at_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: TokenKind::Punct(q), .. }) if *q == p)
    }

    fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: TokenKind::Ident(s), .. }) if s == w)
    }

    fn eat_punct(&mut self, p: &str) -> Option<Span> {
        if self.at_punct(p) {
            let t = self.bump()?;
            Some(self.span_of(&t))
        } else {
            None
        }
    }

    fn eat_word(&mut self, w: &str) -> Option<Span> {
        if self.at_word(w) {
            let t = self.bump()?;
            Some(self.span_of(&t))
        } else {
            None
        }
    }

    // ----- errors and recovery ------------------------------------------

    /// Reports that `expected` was wanted at the current token. An error
    /// token reports its own message instead.
    fn unexpected(&mut self, expected: &str) -> Reported {
        let diag = match self.peek() {
            None => Diagnostic::error(
                "syntax",
                self.prev_end(),
                format!("expected {expected}, found the end of the file"),
            )
            .with_label(format!("expected {expected} after this")),
            Some(t) => {
                let span = self.span_of(t);
                match &t.kind {
                    TokenKind::Error(msg) => {
                        Diagnostic::error("syntax", span, msg.clone()).with_label("here")
                    }
                    _ => {
                        let found = t.describe();
                        Diagnostic::error(
                            "syntax",
                            span,
                            format!("expected {expected}, found {found}"),
                        )
                        .with_label(format!("expected {expected}"))
                    }
                }
            }
        };
        self.diags.push(diag);
        Reported
    }

    fn error(&mut self, span: Span, message: impl Into<String>) -> Reported {
        self.diags.push(Diagnostic::error("syntax", span, message));
        Reported
    }

    /// Skips the rest of a broken statement: every token on the line where
    /// the error is (and whole `{ }` blocks opened there), stopping before a
    /// `}` that closes the enclosing block.
    fn recover_statement(&mut self, err_line: u32) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match &t.kind {
                TokenKind::Punct("}") if depth == 0 => return,
                TokenKind::Punct("}") => depth -= 1,
                TokenKind::Punct("{") => depth += 1,
                _ if depth == 0 && t.line > err_line => return,
                _ => {}
            }
            self.bump();
        }
    }

    /// Whether the current token starts its line.
    fn at_line_start(&self) -> bool {
        match (self.prev, self.peek()) {
            (Some((_, prev_line)), Some(cur)) => cur.line > prev_line,
            _ => true,
        }
    }

    // ----- comments -----------------------------------------------------

    /// Comments before byte offset `before` that no item has claimed yet.
    fn take_comments(&mut self, before: usize) -> Comments {
        let mut out = Vec::new();
        while let Some((at, body)) = self.comments.get(self.next_comment) {
            if *at >= before {
                break;
            }
            out.push(body.clone());
            self.next_comment += 1;
        }
        out
    }

    // ----- blocks -------------------------------------------------------

    /// Expects `{`; returns its span.
    fn open_brace(&mut self, what: &str) -> PResult<Span> {
        match self.eat_punct("{") {
            Some(s) => Ok(s),
            None => Err(self.unexpected(&format!("`{{` to open the {what}"))),
        }
    }

    /// Advances to the next statement keyword of a block. Returns `None` at
    /// the block's `}` (consumed), at end of file (reported as unclosed), or
    /// when a keyword that cannot appear here starts a line and belongs to an
    /// enclosing level (reported as a missing `}`; the block closes there).
    fn next_statement(
        &mut self,
        open: Span,
        what: &str,
        closers: &[&str],
    ) -> Option<(String, Token)> {
        loop {
            let Some(t) = self.peek().cloned() else {
                self.diags.push(
                    Diagnostic::error("syntax", open, format!("unclosed {what}: missing `}}`"))
                        .with_label("this `{` is never closed")
                        .with_hint("add `}` at the end of the block".to_string()),
                );
                return None;
            };
            match &t.kind {
                TokenKind::Punct("}") => {
                    self.bump();
                    return None;
                }
                TokenKind::Ident(word) => {
                    if closers.contains(&word.as_str()) && self.at_line_start() {
                        self.diags.push(
                            Diagnostic::error(
                                "syntax",
                                open,
                                format!("unclosed {what}: missing `}}` before `{word}`"),
                            )
                            .with_label("this `{` is never closed")
                            .with_related(self.span_of(&t), format!("`{word}` starts here")),
                        );
                        return None;
                    }
                    self.bump();
                    return Some((word.clone(), t));
                }
                _ => {
                    let line = t.line;
                    self.unexpected(&format!("a statement in the {what}"));
                    self.bump();
                    self.recover_statement(line);
                }
            }
        }
    }

    fn unknown_statement(&mut self, word: &str, tok: &Token, what: &str, known: &[&str]) {
        let span = self.span_of(tok);
        let hint = suggest(word, known.iter().copied()).or_else(|| {
            Some(format!(
                "a {what} may contain: {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        });
        self.diags.push(
            Diagnostic::error(
                "syntax/unknown-keyword",
                span,
                format!("unknown statement `{word}` in {what}"),
            )
            .with_label("not a statement here")
            .with_hint(hint),
        );
        self.recover_statement(tok.line);
    }

    /// The span of a block that just ended at its `}`; comments left inside
    /// it move above it, so the formatter never drops them.
    fn close_block(&mut self, kw: Span, comments: &mut Comments) -> Span {
        let span = kw.to(self.prev_end());
        comments.extend(self.take_comments(span.end));
        span
    }

    /// Stores a statement's value, reporting a second occurrence (the later
    /// one wins, so the rest of the block still sees a value).
    fn set_once<T: HasSpan>(&mut self, slot: &mut Option<T>, value: T, word: &str) {
        if let Some(prev) = slot {
            self.duplicate(word, value.span(), prev.span());
        }
        *slot = Some(value);
    }

    fn duplicate(&mut self, word: &str, span: Span, first: Span) {
        self.diags.push(
            Diagnostic::error("syntax/duplicate", span, format!("`{word}` is set twice"))
                .with_label("set again here")
                .with_related(first, "first set here".to_string())
                .with_hint("keep one of them".to_string()),
        );
    }

    // ----- items --------------------------------------------------------

    fn file(&mut self) -> File {
        let mut file = File::default();
        while let Some(t) = self.peek().cloned() {
            let comments = self.take_comments(t.start);
            let item = match &t.kind {
                TokenKind::Ident(w) => match w.as_str() {
                    "group" => self.group(comments).map(Item::Group),
                    "datasource" => self.datasource(comments).map(Item::Datasource),
                    "receiver" => self.receiver(comments).map(Item::Receiver),
                    "route" => {
                        self.bump();
                        self.route_body(comments, self.span_of(&t)).map(Item::Route)
                    }
                    "inhibit" => self.inhibit(comments).map(Item::Inhibit),
                    "time_window" => self.time_window(comments).map(Item::TimeWindow),
                    "include" => self.include(comments).map(Item::Include),
                    other => {
                        let span = self.span_of(&t);
                        let mut hint = suggest(other, TOP_LEVEL.iter().copied());
                        if hint.is_none() && (ALERT_STMTS.contains(&other) || GROUP_STMTS.contains(&other)) {
                            hint = Some(format!("`{other}` belongs inside a block; check for a `}}` that closes the block too early"));
                        }
                        self.diags.push(
                            Diagnostic::error(
                                "syntax/unknown-keyword",
                                span,
                                format!("unknown top-level statement `{other}`"),
                            )
                            .with_label("expected group, datasource, receiver, route, inhibit, time_window or include")
                            .with_hint(hint),
                        );
                        Err(Reported)
                    }
                },
                TokenKind::Punct("}") => {
                    let span = self.span_of(&t);
                    self.diags.push(
                        Diagnostic::error("syntax", span, "unexpected `}`: no block is open here")
                            .with_label("nothing to close")
                            .with_hint("remove it, or look for a block closed twice".to_string()),
                    );
                    Err(Reported)
                }
                _ => Err(self.unexpected(
                    "a top-level statement (group, datasource, receiver, route, inhibit, time_window, include)",
                )),
            };
            match item {
                Ok(mut item) => {
                    // Comments left inside the block are kept above it, so the
                    // formatter never drops or moves them past the block.
                    let inner = self.take_comments(self.prev_end().end);
                    item_comments(&mut item).extend(inner);
                    file.items.push(item);
                }
                Err(Reported) => self.recover_top_level(),
            }
        }
        file.trailing_comments = self.take_comments(usize::MAX);
        file
    }

    /// Skips to the next top-level keyword that starts a line at depth 0.
    fn recover_top_level(&mut self) {
        // Always make progress.
        let mut depth = 0usize;
        let mut first = true;
        while let Some(t) = self.peek() {
            match &t.kind {
                TokenKind::Ident(w)
                    if !first
                        && depth == 0
                        && TOP_LEVEL.contains(&w.as_str())
                        && self.at_line_start() =>
                {
                    return;
                }
                TokenKind::Punct("{") => depth += 1,
                TokenKind::Punct("}") => depth = depth.saturating_sub(1),
                _ => {}
            }
            first = false;
            self.bump();
        }
    }

    fn name(&mut self, what: &str) -> PResult<Spanned<String>> {
        match self.peek().cloned() {
            Some(t) => match t.kind {
                TokenKind::Ident(ref s) | TokenKind::Str(ref s) => {
                    self.bump();
                    Ok(Spanned::new(s.clone(), self.span_of(&t)))
                }
                _ => Err(self.unexpected(what)),
            },
            None => Err(self.unexpected(what)),
        }
    }

    fn string(&mut self, what: &str) -> PResult<Spanned<String>> {
        match self.peek().cloned() {
            Some(Token {
                kind: TokenKind::Str(s),
                start,
                end,
                ..
            }) => {
                self.bump();
                Ok(Spanned::new(s, Span::new(self.file, start, end)))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn duration(&mut self) -> PResult<Spanned<Duration>> {
        match self.peek().cloned() {
            Some(t) => match &t.kind {
                TokenKind::Duration(text) => {
                    self.bump();
                    let millis = crate::vocab::time::parse_duration(text)
                        .map(|d| d.0)
                        .unwrap_or(0);
                    Ok(Spanned::new(
                        Duration {
                            millis,
                            text: text.clone(),
                        },
                        self.span_of(&t),
                    ))
                }
                TokenKind::Number(n) if *n == 0.0 => {
                    self.bump();
                    Ok(Spanned::new(
                        Duration {
                            millis: 0,
                            text: "0s".into(),
                        },
                        self.span_of(&t),
                    ))
                }
                TokenKind::Number(_) => {
                    let span = self.span_of(&t);
                    self.diags.push(
                        Diagnostic::error("syntax", span, "a duration needs a unit")
                            .with_label("expected a duration like `5m`")
                            .with_hint("add a unit: ms, s, m, h, d, w or y".to_string()),
                    );
                    Err(Reported)
                }
                _ => Err(self.unexpected("a duration like `30s` or `1h30m`")),
            },
            None => Err(self.unexpected("a duration like `30s` or `1h30m`")),
        }
    }

    fn number(&mut self, what: &str) -> PResult<Spanned<f64>> {
        match self.peek().cloned() {
            Some(Token {
                kind: TokenKind::Number(n),
                start,
                end,
                ..
            }) => {
                self.bump();
                Ok(Spanned::new(n, Span::new(self.file, start, end)))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn name_list(&mut self, what: &str) -> PResult<Vec<Spanned<String>>> {
        let mut out = vec![self.name(what)?];
        while self.eat_punct(",").is_some() {
            out.push(self.name(what)?);
        }
        Ok(out)
    }

    fn label_set(&mut self) -> PResult<LabelSet> {
        self.pair_set(|p| p.string("a quoted label value"))
    }

    /// A setting's map: values may be `env("..")` or `file("..")` too.
    fn setting_map(&mut self) -> PResult<LabelSet<Value>> {
        self.pair_set(Self::value)
    }

    fn pair_set<V>(
        &mut self,
        value: impl FnMut(&mut Self) -> PResult<Spanned<V>>,
    ) -> PResult<LabelSet<V>> {
        let open = self.open_brace("label set")?;
        let result = self.label_pairs(open, value);
        if result.is_err() {
            self.skip_to_close();
        }
        result
    }

    /// After an error inside braces: skips to the matching `}` and consumes it.
    fn skip_to_close(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.bump() {
            match t.kind {
                TokenKind::Punct("{") => depth += 1,
                TokenKind::Punct("}") if depth == 0 => return,
                TokenKind::Punct("}") => depth -= 1,
                _ => {}
            }
        }
    }

    fn label_pairs<V>(
        &mut self,
        open: Span,
        mut value: impl FnMut(&mut Self) -> PResult<Spanned<V>>,
    ) -> PResult<LabelSet<V>> {
        let mut pairs = Vec::new();
        loop {
            if let Some(close) = self.eat_punct("}") {
                return Ok(LabelSet {
                    pairs,
                    span: open.to(close),
                });
            }
            if self.peek().is_none() {
                self.diags.push(
                    Diagnostic::error("syntax", open, "unclosed label set: missing `}`")
                        .with_label("this `{` is never closed"),
                );
                return Err(Reported);
            }
            let next_is_eq = matches!(
                self.peek_at(1),
                Some(Token {
                    kind: TokenKind::Punct("="),
                    ..
                })
            );
            if self.at_line_start()
                && !next_is_eq
                && matches!(self.peek().map(|t| &t.kind), Some(TokenKind::Ident(_)))
            {
                // `labels { a = "b"` with the `}` forgotten: the next line is a
                // statement, not a pair. Close the set here.
                let here = self.here();
                self.diags.push(
                    Diagnostic::error("syntax", open, "unclosed label set: missing `}`")
                        .with_label("this `{` is never closed")
                        .with_related(here, "the next statement starts here".to_string()),
                );
                return Ok(LabelSet {
                    pairs,
                    span: open.to(self.prev_end()),
                });
            }
            let name = self.name("a label name")?;
            if self.eat_punct("=").is_none() {
                let hint = if self.at_punct("==") || self.at_punct("=~") {
                    Some("label sets take `name = \"value\"`".to_string())
                } else {
                    None
                };
                let r = self.unexpected("`=` after the label name");
                if let Some(d) = self.diags.last_mut() {
                    d.hint = hint.or(d.hint.take());
                }
                return Err(r);
            }
            let value = value(self)?;
            pairs.push((name, value));
            self.eat_punct(",");
        }
    }

    fn include(&mut self, comments: Comments) -> PResult<Include> {
        let kw = self.bump().map(|t| self.span_of(&t)).unwrap_or_default();
        let pattern = self.string("a quoted path or glob")?;
        Ok(Include {
            comments,
            span: kw.to(pattern.span),
            pattern,
        })
    }
}

/// Statement values that know where they were written.
trait HasSpan {
    fn span(&self) -> Span;
}

impl<T> HasSpan for Spanned<T> {
    fn span(&self) -> Span {
        self.span
    }
}

impl<V> HasSpan for LabelSet<V> {
    fn span(&self) -> Span {
        self.span
    }
}

impl HasSpan for ResolveLine {
    fn span(&self) -> Span {
        self.span
    }
}

/// The comments attached above a top-level item.
fn item_comments(item: &mut Item) -> &mut Comments {
    match item {
        Item::Group(g) => &mut g.comments,
        Item::Datasource(d) => &mut d.comments,
        Item::Receiver(r) => &mut r.comments,
        Item::Route(r) => &mut r.comments,
        Item::Inhibit(i) => &mut i.comments,
        Item::TimeWindow(w) => &mut w.comments,
        Item::Include(i) => &mut i.comments,
    }
}
