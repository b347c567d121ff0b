//! Parsing the blocks that configure components rather than rules:
//! `datasource`, `receiver` (with its integrations), `route` (with its
//! matchers, nested routes and timings), `inhibit` and `time_window`, and
//! the settings blocks and values they share.

use super::{
    DATASOURCE_KINDS, INHIBIT_STMTS, INTEGRATIONS, MAX_DEPTH, PResult, Parser, ROUTE_STMTS,
    Reported,
};
use crate::diag::{Diagnostic, Span, suggest};
use crate::lang::ast::*;
use crate::lang::lexer::{Token, TokenKind};
use crate::vocab::condition::format_number;
use crate::vocab::matcher::MatchOp;

impl Parser<'_> {
    pub(super) fn value(&mut self) -> PResult<Spanned<Value>> {
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

    pub(super) fn datasource(&mut self, comments: Comments) -> PResult<Datasource> {
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

    pub(super) fn receiver(&mut self, comments: Comments) -> PResult<Receiver> {
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
    pub(super) fn route_body(&mut self, comments: Comments, kw: Span) -> PResult<Route> {
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

    pub(super) fn inhibit(&mut self, comments: Comments) -> PResult<Inhibit> {
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

    pub(super) fn time_window(&mut self, comments: Comments) -> PResult<TimeWindow> {
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
}
