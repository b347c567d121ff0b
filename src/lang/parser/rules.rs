//! Parsing the rule blocks: `group`, `alert` and `record`, their queries
//! (PromQL or an Elasticsearch aggregation), severity, resolve, keep-firing
//! and no-data lines, and the threshold conditions they hold.

use super::{
    ALERT_STMTS, DATASOURCE_KINDS, ES_AGGS, GROUP_STMTS, MAX_DEPTH, PResult, Parser, RECORD_STMTS,
    Reported, TOP_LEVEL,
};
use crate::diag::{Diagnostic, Span, suggest};
use crate::lang::ast::*;
use crate::lang::lexer::{Token, TokenKind};
use crate::vocab::condition::CmpOp;
use crate::vocab::condition::Condition;
use crate::vocab::severity::SeverityLevel;

impl Parser<'_> {
    pub(super) fn group(&mut self, comments: Comments) -> PResult<Group> {
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
}
