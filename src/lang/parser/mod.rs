//! Recovering parser for the klaxon DSL.
//!
//! Tokens come from the nom lexer in [`super::lexer`]; this module walks them
//! statement by statement. Every statement starts with a keyword, so after an
//! error the parser skips to the first token of a later line at the same
//! brace depth (or the closing brace) and carries on: one bad alert never
//! hides the errors after it. Nesting is capped so hostile input cannot
//! overflow the stack, and every loop consumes a token, so parsing always ends.

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
                    let millis = crate::model::parse_duration(text).map(|d| d.0).unwrap_or(0);
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

    // ----- group --------------------------------------------------------

    fn group(&mut self, comments: Comments) -> PResult<Group> {
        let kw = self.bump().map(|t| self.span_of(&t)).unwrap_or_default();
        let name = self.name("a group name")?;
        let open = self.open_brace("group")?;
        let mut g = Group {
            comments,
            name,
            span: kw,
            every: None,
            labels: None,
            limit: None,
            rules: Vec::new(),
        };
        let closers: Vec<&str> = TOP_LEVEL
            .iter()
            .copied()
            .filter(|w| *w != "labels")
            .collect();
        while let Some((word, tok)) = self.next_statement(open, "group", &closers) {
            let span = self.span_of(&tok);
            let line = tok.line;
            let result: PResult<()> = match word.as_str() {
                "every" => self
                    .duration()
                    .map(|d| self.set_once(&mut g.every, d, "every")),
                "labels" => self
                    .label_set()
                    .map(|l| self.set_once(&mut g.labels, l, "labels")),
                "limit" => self.number("a whole number").and_then(|n| {
                    if n.node < 0.0 || n.node.fract() != 0.0 || !n.node.is_finite() {
                        return Err(self.error(n.span, "`limit` must be a whole number ≥ 0"));
                    }
                    g.limit = Some(Spanned::new(n.node as u64, n.span));
                    Ok(())
                }),
                "alert" => {
                    let comments = self.take_comments(tok.start);
                    self.alert(comments, span)
                        .map(|a| g.rules.push(RuleDef::Alert(a)))
                }
                "record" => {
                    let comments = self.take_comments(tok.start);
                    self.record(comments, span)
                        .map(|r| g.rules.push(RuleDef::Record(r)))
                }
                _ => {
                    self.unknown_statement(&word, &tok, "group", GROUP_STMTS);
                    Ok(())
                }
            };
            if result.is_err() {
                self.recover_statement(line);
            }
        }
        // Comments inside the group are hoisted by `file` like any item's.
        g.span = kw.to(self.prev_end());
        Ok(g)
    }

    fn alert(&mut self, comments: Comments, kw: Span) -> PResult<Alert> {
        let name = self.name("an alert name")?;
        let open = self.open_brace("alert")?;
        let mut a = Alert {
            comments,
            name,
            span: kw,
            query: None,
            severities: Vec::new(),
            resolve: None,
            keep_firing_for: None,
            nodata: None,
            labels: None,
            annotations: Vec::new(),
            broken: false,
        };
        let mut closers: Vec<&str> = TOP_LEVEL
            .iter()
            .copied()
            .filter(|w| *w != "labels")
            .collect();
        closers.extend(["alert", "record", "every", "limit"]);
        while let Some((word, tok)) = self.next_statement(open, "alert", &closers) {
            let span = self.span_of(&tok);
            let line = tok.line;
            let result: PResult<()> = match word.as_str() {
                "query" => self
                    .query(span)
                    .map(|q| self.set_once(&mut a.query, q, "query")),
                "info" | "warning" | "critical" => {
                    let level = SeverityLevel::from_word(&word).unwrap_or(SeverityLevel::Warning);
                    self.severity_line(Spanned::new(level, span)).map(|s| {
                        if let Some(prev) = a.severities.iter().find(|p| p.level.node == level) {
                            let first = prev.level.span;
                            self.duplicate(&word, span, first);
                        }
                        a.severities.push(s);
                    })
                }
                "resolve" => self
                    .resolve_line(span)
                    .map(|r| self.set_once(&mut a.resolve, r, "resolve")),
                "keep_firing" => self
                    .keep_firing()
                    .map(|d| self.set_once(&mut a.keep_firing_for, d, "keep_firing")),
                "nodata" => self
                    .nodata(span)
                    .map(|n| self.set_once(&mut a.nodata, n, "nodata")),
                "labels" => self
                    .label_set()
                    .map(|l| self.set_once(&mut a.labels, l, "labels")),
                "summary" | "description" | "runbook" => {
                    let (key, form) = match word.as_str() {
                        "summary" => ("summary", AnnotationForm::Summary),
                        "description" => ("description", AnnotationForm::Description),
                        _ => ("runbook_url", AnnotationForm::Runbook),
                    };
                    self.string("a quoted text").map(|value| {
                        a.annotations.push(Annotation {
                            key: Spanned::new(key.to_string(), span),
                            value,
                            form,
                        })
                    })
                }
                "annotations" => self.label_set().map(|l| {
                    for (key, value) in l.pairs {
                        a.annotations.push(Annotation {
                            key,
                            value,
                            form: AnnotationForm::Free,
                        });
                    }
                }),
                "when" | "value" => {
                    let hint =
                        "a threshold line starts with its severity: `warning when value > 10`";
                    self.diags.push(
                        Diagnostic::error(
                            "syntax/unknown-keyword",
                            span,
                            format!("`{word}` cannot start a statement"),
                        )
                        .with_label("missing severity before this")
                        .with_hint(hint.to_string()),
                    );
                    Err(Reported)
                }
                "for" => {
                    self.diags.push(
                        Diagnostic::error(
                            "syntax/unknown-keyword",
                            span,
                            "`for` belongs on a severity line",
                        )
                        .with_label("not a statement here")
                        .with_hint("write `warning when value > 10 for 5m`".to_string()),
                    );
                    Err(Reported)
                }
                _ => {
                    self.unknown_statement(&word, &tok, "alert", ALERT_STMTS);
                    Err(Reported)
                }
            };
            if result.is_err() {
                a.broken = true;
                self.recover_statement(line);
            }
        }
        a.span = self.close_block(kw, &mut a.comments);
        Ok(a)
    }

    fn record(&mut self, comments: Comments, kw: Span) -> PResult<Record> {
        let name = self.name("a recorded series name")?;
        let open = self.open_brace("record")?;
        let mut r = Record {
            comments,
            name,
            span: kw,
            query: None,
            labels: None,
            broken: false,
        };
        let mut closers: Vec<&str> = TOP_LEVEL
            .iter()
            .copied()
            .filter(|w| *w != "labels")
            .collect();
        closers.extend(["alert", "record", "every", "limit"]);
        while let Some((word, tok)) = self.next_statement(open, "record", &closers) {
            let span = self.span_of(&tok);
            let line = tok.line;
            let result: PResult<()> = match word.as_str() {
                "query" => self
                    .query(span)
                    .map(|q| self.set_once(&mut r.query, q, "query")),
                "labels" => self
                    .label_set()
                    .map(|l| self.set_once(&mut r.labels, l, "labels")),
                _ => {
                    let mut known = RECORD_STMTS.to_vec();
                    if ALERT_STMTS.contains(&word.as_str()) {
                        self.diags.push(
                            Diagnostic::error(
                                "syntax/unknown-keyword",
                                span,
                                format!("`{word}` is only allowed in an alert"),
                            )
                            .with_label("not allowed in a recording rule")
                            .with_hint("a `record` rule takes only `query` and `labels`; use `alert` to alert".to_string()),
                        );
                        self.recover_statement(line);
                    } else {
                        known.sort_unstable();
                        self.unknown_statement(&word, &tok, "record", &known);
                    }
                    Err(Reported)
                }
            };
            if result.is_err() {
                r.broken = true;
                self.recover_statement(line);
            }
        }
        r.span = self.close_block(kw, &mut r.comments);
        Ok(r)
    }

    fn query(&mut self, kw: Span) -> PResult<Spanned<Query>> {
        let kind = self.name("`prometheus` or `elasticsearch`")?;
        match kind.node.as_str() {
            "prometheus" => {
                // A datasource name is a bare or quoted name followed by the
                // query text; a lone string is the query itself.
                let next_is_text = matches!(
                    self.peek_at(1).map(|t| &t.kind),
                    Some(TokenKind::Raw(_) | TokenKind::Str(_))
                );
                let datasource = match self.peek().map(|t| &t.kind) {
                    Some(TokenKind::Ident(_)) => Some(self.name("a datasource name")?),
                    Some(TokenKind::Str(_)) if next_is_text => {
                        Some(self.name("a datasource name")?)
                    }
                    _ => None,
                };
                let expr = self.query_text("the PromQL query in backticks")?;
                Ok(Spanned::new(
                    Query::Prometheus {
                        datasource,
                        expr: expr.clone(),
                    },
                    kw.to(expr.span),
                ))
            }
            "elasticsearch" => {
                let datasource = self.name("the elasticsearch datasource name")?;
                let agg_word = self
                    .name("an aggregation (count, avg, min, max, sum, cardinality, percentile)")?;
                let agg = match agg_word.node.as_str() {
                    "count" => EsAgg::Count,
                    "avg" => EsAgg::Avg,
                    "min" => EsAgg::Min,
                    "max" => EsAgg::Max,
                    "sum" => EsAgg::Sum,
                    "cardinality" => EsAgg::Cardinality,
                    "percentile" => {
                        let p = self.number("the percentile, e.g. 99")?;
                        if !(p.node > 0.0 && p.node < 100.0) {
                            return Err(self.error(
                                p.span,
                                "a percentile must be between 0 and 100 (exclusive)",
                            ));
                        }
                        EsAgg::Percentile(p.node)
                    }
                    other => {
                        self.diags.push(
                            Diagnostic::error(
                                "syntax/unknown-keyword",
                                agg_word.span,
                                format!("unknown aggregation `{other}`"),
                            )
                            .with_label(
                                "expected count, avg, min, max, sum, cardinality or percentile",
                            )
                            .with_hint(suggest(other, ES_AGGS.iter().copied())),
                        );
                        return Err(Reported);
                    }
                };
                let agg = Spanned::new(agg, agg_word.span);
                let field = if matches!(agg.node, EsAgg::Count) {
                    None
                } else {
                    Some(self.name("the field to aggregate")?)
                };
                let filter = if self.eat_word("where").is_some() {
                    Some(self.query_text("a query_string filter in backticks")?)
                } else {
                    None
                };
                if self.eat_word("over").is_none() {
                    return Err(self.unexpected("`over DURATION` (the time window)"));
                }
                let window = self.duration()?;
                let mut by = Vec::new();
                if self.eat_word("by").is_some() {
                    by = self.name_list("a field to group by")?;
                }
                let end = by.last().map(|b| b.span).unwrap_or(window.span);
                Ok(Spanned::new(
                    Query::Elasticsearch(EsQuery {
                        datasource,
                        agg,
                        field,
                        filter,
                        window,
                        by,
                    }),
                    kw.to(end),
                ))
            }
            other => {
                self.diags.push(
                    Diagnostic::error(
                        "syntax/unknown-keyword",
                        kind.span,
                        format!("unknown query kind `{other}`"),
                    )
                    .with_label("expected `prometheus` or `elasticsearch`")
                    .with_hint(suggest(other, DATASOURCE_KINDS.iter().copied())),
                );
                Err(Reported)
            }
        }
    }

    /// A query text: a backtick raw string, or a quoted string.
    fn query_text(&mut self, what: &str) -> PResult<Spanned<String>> {
        match self.peek().cloned() {
            Some(Token {
                kind: TokenKind::Raw(s),
                start,
                end,
                ..
            }) => {
                self.bump();
                // The span covers the text inside the backticks.
                Ok(Spanned::new(
                    s,
                    Span::new(self.file, start + 1, end.saturating_sub(1)),
                ))
            }
            Some(Token {
                kind: TokenKind::Str(s),
                start,
                end,
                ..
            }) => {
                self.bump();
                Ok(Spanned::new(
                    s,
                    Span::new(self.file, start + 1, end.saturating_sub(1)),
                ))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn severity_line(&mut self, level: Spanned<SeverityLevel>) -> PResult<SeverityLine> {
        if self.eat_word("when").is_none() {
            let r = self.unexpected("`when` and a condition");
            if let Some(d) = self.diags.last_mut() {
                d.hint = Some(format!(
                    "write `{} when value > 10 [for 5m]`",
                    level.node.as_str()
                ));
            }
            return Err(r);
        }
        let condition = self.condition()?;
        let for_ = if self.eat_word("for").is_some() {
            Some(self.duration()?)
        } else {
            None
        };
        let end = for_.as_ref().map(|f| f.span).unwrap_or(condition.span);
        Ok(SeverityLine {
            span: level.span.to(end),
            level,
            condition,
            for_,
        })
    }

    fn resolve_line(&mut self, kw: Span) -> PResult<ResolveLine> {
        if self.eat_word("when").is_none() {
            return Err(self.unexpected("`when` and a condition"));
        }
        let condition = self.condition()?;
        let for_ = if self.eat_word("for").is_some() {
            Some(self.duration()?)
        } else {
            None
        };
        let end = for_.as_ref().map(|f| f.span).unwrap_or(condition.span);
        Ok(ResolveLine {
            span: kw.to(end),
            condition,
            for_,
        })
    }

    fn keep_firing(&mut self) -> PResult<Spanned<Duration>> {
        if self.eat_word("for").is_none() {
            return Err(self.unexpected("`for DURATION`"));
        }
        self.duration()
    }

    fn nodata(&mut self, kw: Span) -> PResult<Spanned<NoData>> {
        let word = self.name("`ok`, `keep` or `after DURATION LEVEL`")?;
        match word.node.as_str() {
            "ok" => Ok(Spanned::new(NoData::Ok, kw.to(word.span))),
            "keep" => Ok(Spanned::new(NoData::Keep, kw.to(word.span))),
            "after" => {
                let d = self.duration()?;
                let level_word = self.name("a severity (info, warning or critical)")?;
                let Some(level) = SeverityLevel::from_word(&level_word.node) else {
                    self.diags.push(
                        Diagnostic::error(
                            "syntax/unknown-keyword",
                            level_word.span,
                            format!("unknown severity `{}`", level_word.node),
                        )
                        .with_label("expected info, warning or critical")
                        .with_hint(suggest(&level_word.node, ["info", "warning", "critical"])),
                    );
                    return Err(Reported);
                };
                let span = kw.to(level_word.span);
                Ok(Spanned::new(
                    NoData::After(d, Spanned::new(level, level_word.span)),
                    span,
                ))
            }
            other => {
                self.diags.push(
                    Diagnostic::error(
                        "syntax/unknown-keyword",
                        word.span,
                        format!("unknown nodata policy `{other}`"),
                    )
                    .with_label("expected `ok`, `keep` or `after DURATION LEVEL`")
                    .with_hint(suggest(other, ["ok", "keep", "after"])),
                );
                Err(Reported)
            }
        }
    }

    // ----- conditions ---------------------------------------------------

    fn condition(&mut self) -> PResult<Spanned<Condition>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            let span = self.here();
            return Err(self.error(
                span,
                format!("condition nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let result = self.or_condition();
        self.depth -= 1;
        result
    }

    fn or_condition(&mut self) -> PResult<Spanned<Condition>> {
        let mut left = self.and_condition()?;
        while self.eat_word("or").is_some() {
            let right = self.and_condition()?;
            let span = left.span.to(right.span);
            left = Spanned::new(
                Condition::Or(Box::new(left.node), Box::new(right.node)),
                span,
            );
        }
        Ok(left)
    }

    fn and_condition(&mut self) -> PResult<Spanned<Condition>> {
        let mut left = self.atom()?;
        while self.eat_word("and").is_some() {
            let right = self.atom()?;
            let span = left.span.to(right.span);
            left = Spanned::new(
                Condition::And(Box::new(left.node), Box::new(right.node)),
                span,
            );
        }
        Ok(left)
    }

    fn atom(&mut self) -> PResult<Spanned<Condition>> {
        if let Some(open) = self.eat_punct("(") {
            let inner = self.condition()?;
            let Some(close) = self.eat_punct(")") else {
                return Err(self.unexpected("`)`"));
            };
            return Ok(Spanned::new(inner.node, open.to(close)));
        }
        if let Some(span) = self.eat_word("present") {
            return Ok(Spanned::new(Condition::Present, span));
        }
        let Some(value_span) = self.eat_word("value") else {
            let r = self.unexpected("a condition: `value OP NUMBER`, `present` or `( .. )`");
            if let (
                Some(Token {
                    kind: TokenKind::Number(_),
                    ..
                }),
                Some(d),
            ) = (self.cur.as_ref(), self.diags.last_mut())
            {
                d.hint = Some("conditions compare `value`: write `value > 10`".to_string());
            }
            return Err(r);
        };
        let op = match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Punct(p)) => CmpOp::from_symbol(p),
            _ => None,
        };
        let Some(op) = op else {
            let hint = if self.at_punct("=") {
                Some("use `==` to compare".to_string())
            } else {
                None
            };
            let r = self.unexpected("a comparison (==, !=, <, <=, >, >=)");
            if let (Some(h), Some(d)) = (hint, self.diags.last_mut()) {
                d.hint = Some(h);
            }
            return Err(r);
        };
        self.bump();
        let threshold = self.number("a number to compare with")?;
        Ok(Spanned::new(
            Condition::Compare(op, threshold.node),
            value_span.to(threshold.span),
        ))
    }

    // ----- settings blocks ----------------------------------------------

    fn value(&mut self) -> PResult<Spanned<Value>> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.unexpected("a value"));
        };
        let span = self.span_of(&t);
        match &t.kind {
            TokenKind::Str(s) => {
                self.bump();
                Ok(Spanned::new(Value::Str(s.clone()), span))
            }
            TokenKind::Ident(w)
                if (w == "env" || w == "file")
                    && matches!(
                        self.peek_at(1),
                        Some(Token {
                            kind: TokenKind::Punct("("),
                            ..
                        })
                    ) =>
            {
                self.bump();
                self.bump();
                let arg = self.string(if w == "env" {
                    "an environment variable name in quotes"
                } else {
                    "a file path in quotes"
                })?;
                let Some(close) = self.eat_punct(")") else {
                    return Err(self.unexpected("`)`"));
                };
                let v = if w == "env" {
                    Value::Env(arg.node)
                } else {
                    Value::File(arg.node)
                };
                Ok(Spanned::new(v, span.to(close)))
            }
            TokenKind::Ident(w) | TokenKind::Duration(w) => {
                self.bump();
                Ok(Spanned::new(Value::Word(w.clone()), span))
            }
            TokenKind::Number(_) => {
                self.bump();
                let text = self.slice_text(&t);
                Ok(Spanned::new(Value::Word(text), span))
            }
            TokenKind::Raw(s) => {
                self.bump();
                Ok(Spanned::new(Value::Str(s.clone()), span))
            }
            _ => {
                Err(self.unexpected("a value (\"text\", env(\"NAME\"), file(\"path\") or a word)"))
            }
        }
    }

    /// The canonical text of a number token.
    fn slice_text(&self, t: &Token) -> String {
        match &t.kind {
            TokenKind::Number(n) => format_number(*n),
            _ => String::new(),
        }
    }

    fn settings_block(&mut self, what: &str, open: Span, closers: &[&str]) -> Vec<Setting> {
        let mut settings: Vec<Setting> = Vec::new();
        while let Some((word, tok)) = self.next_statement(open, what, closers) {
            let key = Spanned::new(word, self.span_of(&tok));
            let line = tok.line;
            let result = if self.at_punct("{") {
                self.setting_map().map(|map| Setting {
                    span: key.span.to(map.span),
                    key: key.clone(),
                    values: Vec::new(),
                    map: Some(map),
                })
            } else {
                let mut values = Vec::new();
                let first = self.value();
                first.and_then(|v| {
                    values.push(v);
                    while self.eat_punct(",").is_some() {
                        values.push(self.value()?);
                    }
                    let end = values.last().map(|v| v.span).unwrap_or(key.span);
                    Ok(Setting {
                        span: key.span.to(end),
                        key: key.clone(),
                        values,
                        map: None,
                    })
                })
            };
            match result {
                Ok(s) => {
                    if let Some(prev) = settings.iter().find(|p| p.key.node == s.key.node) {
                        let first = prev.key.span;
                        self.duplicate(&s.key.node, s.key.span, first);
                    }
                    settings.push(s);
                }
                Err(Reported) => self.recover_statement(line),
            }
        }
        settings
    }

    fn datasource(&mut self, comments: Comments) -> PResult<Datasource> {
        let kw = self.bump().map(|t| self.span_of(&t)).unwrap_or_default();
        let kind = self.name("`prometheus` or `elasticsearch`")?;
        if !DATASOURCE_KINDS.contains(&kind.node.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    "syntax/unknown-keyword",
                    kind.span,
                    format!("unknown datasource kind `{}`", kind.node),
                )
                .with_label("expected `prometheus` or `elasticsearch`")
                .with_hint(suggest(&kind.node, DATASOURCE_KINDS.iter().copied())),
            );
            return Err(Reported);
        }
        let name = self.name("a datasource name")?;
        let open = self.open_brace("datasource")?;
        let settings = self.settings_block(
            "datasource",
            open,
            &[
                "group",
                "datasource",
                "receiver",
                "inhibit",
                "time_window",
                "include",
            ],
        );
        Ok(Datasource {
            comments,
            kind,
            name,
            settings,
            span: kw.to(self.prev_end()),
        })
    }

    fn receiver(&mut self, comments: Comments) -> PResult<Receiver> {
        let kw = self.bump().map(|t| self.span_of(&t)).unwrap_or_default();
        let name = self.name("a receiver name")?;
        let open = self.open_brace("receiver")?;
        let mut integrations = Vec::new();
        while let Some((word, tok)) = self.next_statement(
            open,
            "receiver",
            &[
                "group",
                "datasource",
                "receiver",
                "inhibit",
                "time_window",
                "include",
            ],
        ) {
            let span = self.span_of(&tok);
            if !INTEGRATIONS.contains(&word.as_str()) {
                self.unknown_statement(&word, &tok, "receiver", INTEGRATIONS);
                continue;
            }
            match self.open_brace(&word) {
                Ok(inner) => {
                    let settings = self.settings_block(
                        &word,
                        inner,
                        &[
                            "group",
                            "datasource",
                            "receiver",
                            "inhibit",
                            "time_window",
                            "include",
                            "slack",
                            "email",
                            "webhook",
                        ],
                    );
                    integrations.push(Integration {
                        kind: Spanned::new(word, span),
                        settings,
                        span: span.to(self.prev_end()),
                    });
                }
                Err(Reported) => self.recover_statement(tok.line),
            }
        }
        Ok(Receiver {
            comments,
            name,
            integrations,
            span: kw.to(self.prev_end()),
        })
    }

    fn matcher(&mut self) -> PResult<Matcher> {
        let name = self.name("a label name")?;
        let op = match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Punct("=")) => MatchOp::Eq,
            Some(TokenKind::Punct("!=")) => MatchOp::Ne,
            Some(TokenKind::Punct("=~")) => MatchOp::Re,
            Some(TokenKind::Punct("!~")) => MatchOp::NotRe,
            Some(TokenKind::Punct("==")) => {
                let span = self.here();
                self.diags.push(
                    Diagnostic::error("syntax", span, "matchers use `=`, not `==`")
                        .with_label("use `=`")
                        .with_hint("matchers are `name = \"v\"`, `!=`, `=~` or `!~`".to_string()),
                );
                return Err(Reported);
            }
            _ => return Err(self.unexpected("a matcher operator (=, !=, =~, !~)")),
        };
        self.bump();
        let value = self.string("a quoted value")?;
        Ok(Matcher {
            span: name.span.to(value.span),
            name,
            op,
            value,
        })
    }

    fn matcher_list(&mut self) -> PResult<Vec<Matcher>> {
        let mut out = vec![self.matcher()?];
        while self.eat_punct(",").is_some() {
            out.push(self.matcher()?);
        }
        Ok(out)
    }

    /// Parses a route body after the `route` keyword at `kw`.
    fn route_body(&mut self, comments: Comments, kw: Span) -> PResult<Route> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self.error(kw, format!("routes nested deeper than {MAX_DEPTH} levels")));
        }
        let result = self.route_inner(comments, kw);
        self.depth -= 1;
        result
    }

    fn route_inner(&mut self, comments: Comments, kw: Span) -> PResult<Route> {
        let open = self.open_brace("route")?;
        let mut r = Route {
            comments,
            span: kw,
            ..Route::default()
        };
        let closers = ["group", "datasource", "inhibit", "time_window", "include"];
        while let Some((word, tok)) = self.next_statement(open, "route", &closers) {
            let span = self.span_of(&tok);
            let line = tok.line;
            let result: PResult<()> = match word.as_str() {
                "match" => self.matcher_list().map(|m| r.matchers.extend(m)),
                "receiver" => self
                    .name("a receiver name")
                    .map(|n| self.set_once(&mut r.receiver, n, "receiver")),
                "group_by" => {
                    if let Some(dots) = self.eat_punct("...") {
                        r.group_by = Some(Spanned::new(
                            vec![Spanned::new("...".to_string(), dots)],
                            span.to(dots),
                        ));
                        Ok(())
                    } else {
                        self.name_list("a label name or `...`").map(|names| {
                            let end = names.last().map(|n| n.span).unwrap_or(span);
                            r.group_by = Some(Spanned::new(names, span.to(end)));
                        })
                    }
                }
                "group_wait" => self.duration().map(|d| r.group_wait = Some(d)),
                "group_interval" => self.duration().map(|d| r.group_interval = Some(d)),
                "repeat_interval" => self.duration().map(|d| r.repeat_interval = Some(d)),
                "resolve_wait" => self.duration().map(|d| r.resolve_wait = Some(d)),
                "continue" => {
                    r.continue_ = Some(span);
                    Ok(())
                }
                "mute_during" => self
                    .name_list("a time_window name")
                    .map(|n| r.mute_during.extend(n)),
                "active_during" => self
                    .name_list("a time_window name")
                    .map(|n| r.active_during.extend(n)),
                "route" => {
                    let comments = self.take_comments(tok.start);
                    self.route_body(comments, span)
                        .map(|child| r.routes.push(child))
                }
                _ => {
                    self.unknown_statement(&word, &tok, "route", ROUTE_STMTS);
                    Ok(())
                }
            };
            if result.is_err() {
                self.recover_statement(line);
            }
        }
        r.span = self.close_block(kw, &mut r.comments);
        Ok(r)
    }

    fn inhibit(&mut self, comments: Comments) -> PResult<Inhibit> {
        let kw = self.bump().map(|t| self.span_of(&t)).unwrap_or_default();
        let open = self.open_brace("inhibit rule")?;
        let mut inh = Inhibit {
            comments,
            source: Vec::new(),
            target: Vec::new(),
            equal: Vec::new(),
            span: kw,
        };
        while let Some((word, tok)) = self.next_statement(
            open,
            "inhibit rule",
            &[
                "group",
                "datasource",
                "receiver",
                "route",
                "inhibit",
                "time_window",
                "include",
            ],
        ) {
            let line = tok.line;
            let result: PResult<()> = match word.as_str() {
                "source" => self.matcher_list().map(|m| inh.source.extend(m)),
                "target" => self.matcher_list().map(|m| inh.target.extend(m)),
                "equal" => self.name_list("a label name").map(|n| inh.equal.extend(n)),
                _ => {
                    self.unknown_statement(&word, &tok, "inhibit rule", INHIBIT_STMTS);
                    Ok(())
                }
            };
            if result.is_err() {
                self.recover_statement(line);
            }
        }
        inh.span = kw.to(self.prev_end());
        Ok(inh)
    }

    fn time_window(&mut self, comments: Comments) -> PResult<TimeWindow> {
        let kw = self.bump().map(|t| self.span_of(&t)).unwrap_or_default();
        let name = self.name("a time window name")?;
        let open = self.open_brace("time_window")?;
        let settings = self.settings_block(
            "time_window",
            open,
            &[
                "group",
                "datasource",
                "receiver",
                "route",
                "inhibit",
                "time_window",
                "include",
            ],
        );
        Ok(TimeWindow {
            comments,
            name,
            settings,
            span: kw.to(self.prev_end()),
        })
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

/// Prints a number so the lexer reads back the same value.
pub fn format_number(n: f64) -> String {
    if n == f64::INFINITY {
        "+Inf".into()
    } else if n == f64::NEG_INFINITY {
        "-Inf".into()
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n}");
        if s.contains('e') || s.contains('E') {
            s
        } else {
            // Rust prints shortest round-trip decimals, e.g. 0.1 or 1234.5.
            s
        }
    }
}
