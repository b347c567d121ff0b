//! The position-finding recogniser: `promql-parser`'s errors carry no
//! position, so when it rejects an expression this small recogniser of the
//! same grammar runs over the text to find where it goes wrong and what was
//! expected there, including the type errors people actually make (`rate`
//! of an instant vector, a range vector compared with a number, unquoted
//! label values). It is deliberately lenient: it never invents an error the
//! parser did not see.

use super::grammar::{AGGREGATORS, FUNCTIONS, is_comparison, is_set_op, precedence};
use super::lex::{Kind, Token, lex};
use super::{LocatedError, err};

/// Finds the first syntax or type error in `expr`, for an expression that
/// `promql-parser` rejected with `parser_message`. Returns `None` when the
/// recogniser sees nothing wrong (it is deliberately lenient, so it never
/// invents an error the parser did not see).
pub fn locate(expr: &str, parser_message: &str) -> Option<LocatedError> {
    let tokens = match lex(expr) {
        Ok(t) => t,
        Err(e) => return Some(e),
    };
    let mut p = Parser {
        tokens,
        pos: 0,
        text: expr,
        parser_message,
        depth: 0,
        gave_up: false,
    };
    match p.top() {
        _ if p.gave_up => None,
        Ok(()) => p.parser_message_error(),
        Err(e) => Some(*e),
    }
}

/// What an expression evaluates to; `Unknown` never causes an error.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Scalar,
    Vector,
    Matrix,
    Str,
    Unknown,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Scalar => "scalar",
            Ty::Vector => "instant vector",
            Ty::Matrix => "range vector",
            Ty::Str => "string",
            Ty::Unknown => "unknown",
        }
    }

    fn from_code(c: char) -> Ty {
        match c {
            'V' => Ty::Vector,
            'S' => Ty::Scalar,
            'M' => Ty::Matrix,
            'T' => Ty::Str,
            _ => Ty::Unknown,
        }
    }

    fn is(self, other: Ty) -> bool {
        self == other || self == Ty::Unknown || other == Ty::Unknown
    }
}

/// The syntactic shape of an expression, for the rules about where ranges,
/// `offset` and `@` may follow.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// `foo{...}`
    Selector,
    /// `foo[5m]`
    Range,
    /// `expr[5m:1m]`
    Subquery,
    /// Anything else.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Val {
    ty: Ty,
    shape: Shape,
    start: usize,
    end: usize,
    has_offset: bool,
    has_at: bool,
}

type PResult<T> = Result<T, Box<LocatedError>>;

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    text: &'a str,
    parser_message: &'a str,
    depth: usize,
    /// Set when the expression nests deeper than the recogniser follows.
    gave_up: bool,
}

/// Deepest nesting the recogniser follows before giving up quietly.
const MAX_DEPTH: usize = 200;

impl Parser<'_> {
    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.pos.min(last)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + n).min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != Kind::Eof {
            self.pos += 1;
        }
        t
    }

    fn text_of(&self, t: &Token) -> &str {
        self.text.get(t.start..t.end).unwrap_or("")
    }

    /// Lowercased word of an identifier token (keywords are case-insensitive).
    fn word(&self, t: &Token) -> String {
        if t.kind == Kind::Ident {
            self.text_of(t).to_ascii_lowercase()
        } else {
            String::new()
        }
    }

    fn describe(&self, t: &Token) -> String {
        let text = self.text_of(t);
        match t.kind {
            Kind::Eof => "end of input".to_string(),
            Kind::Ident | Kind::MetricIdent => format!("identifier \"{text}\""),
            Kind::Number => format!("number \"{text}\""),
            Kind::Duration => format!("duration \"{text}\""),
            Kind::Str => format!("string {text}"),
            _ => format!("\"{text}\""),
        }
    }

    fn unexpected(&self, t: &Token, expected: &str) -> Box<LocatedError> {
        let found = self.describe(t);
        let (start, end) = if t.kind == Kind::Eof {
            (self.text.trim_end().len(), self.text.trim_end().len())
        } else {
            (t.start, t.end)
        };
        Box::new(err(
            start,
            end,
            format!("unexpected {found}; expected {expected}"),
            format!("expected {expected}"),
        ))
    }

    fn expect(&mut self, kind: Kind, expected: &str) -> PResult<Token> {
        if self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&self.peek().clone(), expected))
        }
    }

    /// The parser reported a semantic error the recogniser did not check:
    /// find the place it names, when it names one.
    fn parser_message_error(&self) -> Option<LocatedError> {
        let msg = self.parser_message;
        if let Some(rest) = msg.strip_prefix("unknown function with name '") {
            let name = rest.trim_end_matches('\'');
            for (i, t) in self.tokens.iter().enumerate() {
                if self.text_of(t) == name
                    && self
                        .tokens
                        .get(i + 1)
                        .is_some_and(|n| n.kind == Kind::LParen)
                {
                    return Some(self.unknown_function(t));
                }
            }
        }
        None
    }

    fn unknown_function(&self, t: &Token) -> LocatedError {
        let name = self.text_of(t);
        let mut e = err(
            t.start,
            t.end,
            format!("unknown function with name \"{name}\""),
            "not a PromQL function",
        );
        e.hint = crate::diag::suggest(
            name,
            FUNCTIONS
                .iter()
                .map(|f| f.0)
                .chain(AGGREGATORS.iter().copied()),
        );
        e
    }

    fn top(&mut self) -> PResult<()> {
        if self.peek().kind == Kind::Eof {
            return Err(Box::new(err(
                0,
                self.text.len(),
                "no expression found in input",
                "empty expression",
            )));
        }
        self.expr(0)?;
        let t = self.peek().clone();
        if t.kind != Kind::Eof {
            let expected =
                "a binary operator (such as `and`, `>`, `*`) or the end of the expression";
            let mut e = self.unexpected(&t, expected);
            if t.kind == Kind::RParen {
                e.message = "unexpected right parenthesis ')'".to_string();
                e.label = "no matching `(`".to_string();
            }
            return Err(e);
        }
        Ok(())
    }

    fn expr(&mut self, min_prec: u8) -> PResult<Val> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            // Too deep to follow: stop without claiming an error.
            self.gave_up = true;
            return Err(Box::new(err(0, 0, "too deep", "")));
        }
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek().clone();
            let op = match t.kind {
                Kind::Op => self.text_of(&t).to_string(),
                Kind::Ident => self.word(&t),
                Kind::Assign => {
                    let mut e = self.unexpected(&t, "a binary operator");
                    e.hint = Some(
                        "compare with `==`; a single `=` is only for label matchers inside `{}`"
                            .to_string(),
                    );
                    return Err(e);
                }
                _ => break,
            };
            let Some(prec) = precedence(&op) else { break };
            if prec < min_prec {
                break;
            }
            self.bump();
            // Modifiers: bool, on/ignoring(...), group_left/right(...).
            let mut bool_tok = None;
            let mut matching = None;
            if self.word(&self.peek().clone()) == "bool" {
                bool_tok = Some(self.bump());
            }
            let w = self.word(&self.peek().clone());
            if w == "on" || w == "ignoring" {
                matching = Some(self.bump());
                self.grouping_labels()?;
                let w = self.word(&self.peek().clone());
                if w == "group_left" || w == "group_right" {
                    self.bump();
                    if self.peek().kind == Kind::LParen {
                        self.grouping_labels()?;
                    }
                }
            } else if w == "group_left" || w == "group_right" {
                let t = self.peek().clone();
                let mut e = Box::new(err(
                    t.start,
                    t.end,
                    format!("unexpected <{w}>; expected `on(...)` or `ignoring(...)` before it"),
                    format!("`{w}` needs `on` or `ignoring` first"),
                ));
                e.hint = Some(format!(
                    "write `on(<labels>) {w}` or `ignoring(<labels>) {w}`"
                ));
                return Err(e);
            }
            let next_min = if op == "^" { prec } else { prec + 1 };
            let rhs = self.expr(next_min)?;
            lhs = self.check_binary(&op, &t, bool_tok.as_ref(), matching.as_ref(), lhs, rhs)?;
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn check_binary(
        &self,
        op: &str,
        op_tok: &Token,
        bool_tok: Option<&Token>,
        matching: Option<&Token>,
        lhs: Val,
        rhs: Val,
    ) -> PResult<Val> {
        for side in [lhs, rhs] {
            if !(side.ty.is(Ty::Scalar) || side.ty.is(Ty::Vector)) {
                let mut e = err(
                    side.start,
                    side.end,
                    "binary expression must contain only scalar and instant vector types",
                    format!("this is a {}", side.ty.name()),
                );
                if side.ty == Ty::Matrix {
                    e.hint = Some("a range vector such as `x[5m]` must go through a function first, e.g. `rate(x[5m])` or `max_over_time(x[5m])`".to_string());
                }
                return Err(Box::new(e));
            }
        }
        if let Some(b) = bool_tok
            && !is_comparison(op)
        {
            return Err(Box::new(err(
                b.start,
                b.end,
                "bool modifier can only be used on comparison operators",
                "not after a comparison",
            )));
        }
        if is_set_op(op) {
            for side in [lhs, rhs] {
                if side.ty == Ty::Scalar {
                    return Err(Box::new(err(
                        side.start,
                        side.end,
                        format!("set operator \"{op}\" not allowed in binary scalar expression"),
                        "a scalar",
                    )));
                }
            }
        }
        if is_comparison(op) && lhs.ty == Ty::Scalar && rhs.ty == Ty::Scalar && bool_tok.is_none() {
            let mut e = err(
                op_tok.start,
                op_tok.end,
                "comparisons between scalars must use BOOL modifier",
                "compares two scalars",
            );
            e.hint = Some(format!("write `{op} bool`"));
            return Err(Box::new(e));
        }
        if let Some(m) = matching
            && (lhs.ty == Ty::Scalar || rhs.ty == Ty::Scalar)
        {
            return Err(Box::new(err(
                m.start,
                m.end,
                "vector matching only allowed between instant vectors",
                "one side is a scalar",
            )));
        }
        let ty = if lhs.ty == Ty::Unknown || rhs.ty == Ty::Unknown {
            Ty::Unknown
        } else if lhs.ty == Ty::Scalar && rhs.ty == Ty::Scalar {
            Ty::Scalar
        } else {
            Ty::Vector
        };
        Ok(Val {
            ty,
            shape: Shape::Other,
            start: lhs.start,
            end: rhs.end,
            has_offset: false,
            has_at: false,
        })
    }

    fn unary(&mut self) -> PResult<Val> {
        let t = self.peek().clone();
        if t.kind == Kind::Op && matches!(self.text_of(&t), "+" | "-") {
            self.bump();
            // Unary minus binds like `*`: tighter only than `^`.
            let v = self.expr(6)?;
            if !(v.ty.is(Ty::Scalar) || v.ty.is(Ty::Vector)) {
                return Err(Box::new(err(
                    v.start,
                    v.end,
                    format!(
                        "unary expression only allowed on expressions of type scalar or vector, got {}",
                        v.ty.name()
                    ),
                    "not a scalar or vector",
                )));
            }
            return Ok(Val {
                start: t.start,
                shape: Shape::Other,
                ..v
            });
        }
        let v = self.primary()?;
        self.postfix(v)
    }

    fn postfix(&mut self, mut v: Val) -> PResult<Val> {
        loop {
            let t = self.peek().clone();
            match t.kind {
                Kind::LBracket => {
                    self.bump();
                    let first = self.peek().clone();
                    match first.kind {
                        Kind::Duration | Kind::Number => {
                            self.bump();
                        }
                        Kind::RBracket => {
                            let mut e = self.unexpected(&first, "a duration such as `5m`");
                            e.hint = Some("write the range, e.g. `[5m]`".to_string());
                            return Err(e);
                        }
                        _ => return Err(self.unexpected(&first, "a duration such as `5m`")),
                    }
                    let next = self.peek().clone();
                    if next.kind == Kind::Colon {
                        self.bump();
                        if matches!(self.peek().kind, Kind::Duration | Kind::Number) {
                            self.bump();
                        }
                        let close = self.expect(Kind::RBracket, "`]` closing the subquery")?;
                        if !v.ty.is(Ty::Vector) {
                            return Err(Box::new(err(
                                v.start,
                                v.end,
                                format!(
                                    "subquery is only allowed on instant vector, got {} instead",
                                    v.ty.name()
                                ),
                                format!("this is a {}", v.ty.name()),
                            )));
                        }
                        v = Val {
                            ty: Ty::Matrix,
                            shape: Shape::Subquery,
                            end: close.end,
                            has_offset: false,
                            has_at: false,
                            ..v
                        };
                    } else {
                        let close = self.expect(Kind::RBracket, "`]` or `:` in a range")?;
                        if v.shape != Shape::Selector {
                            let mut e = err(
                                t.start,
                                close.end,
                                "ranges only allowed for vector selectors",
                                "range on something that is not a selector",
                            );
                            if v.has_offset || v.has_at {
                                e.message =
                                    "no offset or @ modifiers allowed before range".to_string();
                                e.hint =
                                    Some("put the range first: `foo[5m] offset 1h`".to_string());
                            } else {
                                e.hint = Some(
                                    "a range like `[5m]` goes right after a metric selector; for an expression use a subquery `[5m:1m]`"
                                        .to_string(),
                                );
                            }
                            return Err(Box::new(e));
                        }
                        v = Val {
                            ty: Ty::Matrix,
                            shape: Shape::Range,
                            end: close.end,
                            ..v
                        };
                    }
                }
                Kind::Ident if self.word(&t) == "offset" => {
                    self.bump();
                    if self.peek().kind == Kind::Op
                        && matches!(self.text_of(&self.peek().clone()), "+" | "-")
                    {
                        self.bump();
                    }
                    let d = self.peek().clone();
                    if !matches!(d.kind, Kind::Duration | Kind::Number) {
                        return Err(self.unexpected(&d, "a duration after `offset`"));
                    }
                    self.bump();
                    if v.shape == Shape::Other {
                        return Err(Box::new(err(
                            t.start,
                            d.end,
                            "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                            "`offset` on an expression",
                        )));
                    }
                    if v.has_offset {
                        return Err(Box::new(err(
                            t.start,
                            d.end,
                            "offset may not be set multiple times",
                            "second `offset`",
                        )));
                    }
                    v.has_offset = true;
                    v.end = d.end;
                }
                Kind::At => {
                    self.bump();
                    if self.peek().kind == Kind::Op
                        && matches!(self.text_of(&self.peek().clone()), "+" | "-")
                    {
                        self.bump();
                    }
                    let ts = self.peek().clone();
                    let w = self.word(&ts);
                    let end = if ts.kind == Kind::Number {
                        self.bump().end
                    } else if w == "start" || w == "end" {
                        self.bump();
                        self.expect(Kind::LParen, "`(` after start/end")?;
                        self.expect(Kind::RParen, "`)`")?.end
                    } else {
                        return Err(
                            self.unexpected(&ts, "a timestamp, `start()` or `end()` after `@`")
                        );
                    };
                    if v.shape == Shape::Other {
                        return Err(Box::new(err(
                            t.start,
                            end,
                            "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                            "`@` on an expression",
                        )));
                    }
                    if v.has_at {
                        return Err(Box::new(err(
                            t.start,
                            end,
                            "@ <timestamp> may not be set multiple times",
                            "second `@`",
                        )));
                    }
                    v.has_at = true;
                    v.end = end;
                }
                _ => return Ok(v),
            }
        }
    }

    fn primary(&mut self) -> PResult<Val> {
        let t = self.peek().clone();
        let val = |ty, shape, start, end| Val {
            ty,
            shape,
            start,
            end,
            has_offset: false,
            has_at: false,
        };
        match t.kind {
            Kind::Number | Kind::Duration => {
                self.bump();
                Ok(val(Ty::Scalar, Shape::Other, t.start, t.end))
            }
            Kind::Str => {
                self.bump();
                Ok(val(Ty::Str, Shape::Other, t.start, t.end))
            }
            Kind::LParen => {
                self.bump();
                if self.peek().kind == Kind::RParen {
                    return Err(self.unexpected(&self.peek().clone(), "an expression inside `()`"));
                }
                let inner = self.expr(0)?;
                let close = self.peek().clone();
                if close.kind != Kind::RParen {
                    let mut e = self.unexpected(&close, "`)` or a binary operator");
                    if close.kind == Kind::Eof {
                        e.start = t.start;
                        e.end = t.end;
                        e.message = "unclosed left parenthesis; expected `)`".to_string();
                        e.label = "this `(` is never closed".to_string();
                    }
                    return Err(e);
                }
                self.bump();
                Ok(val(inner.ty, Shape::Other, t.start, close.end))
            }
            Kind::LBrace => {
                let end = self.matchers(None)?;
                Ok(val(Ty::Vector, Shape::Selector, t.start, end))
            }
            Kind::Ident if matches!(self.word(&t).as_str(), "inf" | "nan") => {
                self.bump();
                Ok(val(Ty::Scalar, Shape::Other, t.start, t.end))
            }
            Kind::Ident | Kind::MetricIdent => {
                let word = self.word(&t);
                let next = self.peek_at(1).clone();
                if t.kind == Kind::Ident && AGGREGATORS.contains(&word.as_str()) {
                    let nw = self.word(&next);
                    if next.kind == Kind::LParen || nw == "by" || nw == "without" {
                        return self.aggregation(&t, &word);
                    }
                }
                if next.kind == Kind::LParen && t.kind == Kind::Ident {
                    return self.call(&t);
                }
                self.bump();
                let mut end = t.end;
                if self.peek().kind == Kind::LBrace {
                    end = self.matchers(Some(&t))?;
                }
                Ok(val(Ty::Vector, Shape::Selector, t.start, end))
            }
            Kind::RParen => {
                let mut e = self.unexpected(&t, "an expression");
                e.message = "unexpected right parenthesis ')'; expected an expression".to_string();
                Err(e)
            }
            _ => Err(self.unexpected(&t, "an expression (a metric, number, function call or `(`)")),
        }
    }

    /// `{ label op "value", ... }`; returns the end offset.
    fn matchers(&mut self, metric: Option<&Token>) -> PResult<usize> {
        let open = self.bump();
        let mut non_empty = false;
        let mut names_metric = metric.is_some();
        loop {
            let t = self.peek().clone();
            match t.kind {
                Kind::RBrace => break,
                Kind::Ident | Kind::Str => {
                    self.bump();
                    let op = self.peek().clone();
                    let is_match_op = op.kind == Kind::Assign
                        || (op.kind == Kind::Op && matches!(self.text_of(&op), "!=" | "=~" | "!~"));
                    if !is_match_op {
                        if t.kind == Kind::Str && matches!(op.kind, Kind::Comma | Kind::RBrace) {
                            // `{"metric.name"}`: a quoted metric name.
                            if names_metric {
                                return Err(Box::new(err(
                                    t.start,
                                    t.end,
                                    "metric name must not be set twice",
                                    "second metric name",
                                )));
                            }
                            names_metric = true;
                            non_empty = true;
                        } else if op.kind == Kind::Op && self.text_of(&op) == "==" {
                            let mut e = err(
                                op.start,
                                op.end,
                                "unexpected \"==\" in label matching; expected one of `=`, `!=`, `=~`, `!~`",
                                "use `=` here",
                            );
                            e.hint = Some("label matchers use a single `=`".to_string());
                            return Err(Box::new(e));
                        } else {
                            let name = self.text_of(&t).to_string();
                            let mut e = err(
                                t.start,
                                t.end,
                                format!(
                                    "invalid label matcher, expected label matching operator after '{name}'"
                                ),
                                "expected `=`, `!=`, `=~` or `!~` after this",
                            );
                            if op.kind != Kind::Eof {
                                e.end = op.end;
                            }
                            return Err(Box::new(e));
                        }
                    } else {
                        self.bump();
                        let value = self.peek().clone();
                        match value.kind {
                            Kind::Str => {
                                self.bump();
                                let op_text = self.text_of(&op).to_string();
                                let raw = self.text_of(&value);
                                let inner = unquote(raw);
                                if (op_text == "=~" || op_text == "!~")
                                    && let Err(e) = regex::Regex::new(&format!("^(?:{inner})$"))
                                {
                                    let first_line = e
                                        .to_string()
                                        .lines()
                                        .last()
                                        .unwrap_or("")
                                        .trim()
                                        .to_string();
                                    return Err(Box::new(err(
                                        value.start,
                                        value.end,
                                        format!(
                                            "invalid regular expression in label matcher: {first_line}"
                                        ),
                                        "invalid regex",
                                    )));
                                }
                                let regex_matches_empty = || {
                                    regex::Regex::new(&format!("^(?:{inner})$"))
                                        .is_ok_and(|r| r.is_match(""))
                                };
                                let matches_empty = match op_text.as_str() {
                                    "=" => inner.is_empty(),
                                    "!=" => !inner.is_empty(),
                                    "=~" => regex_matches_empty(),
                                    _ => !regex_matches_empty(),
                                };
                                if !matches_empty {
                                    non_empty = true;
                                }
                                if self.text_of(&t) == "__name__" {
                                    if metric.is_some() && op_text == "=" {
                                        return Err(Box::new(err(
                                            t.start,
                                            value.end,
                                            "metric name must not be set twice",
                                            "second metric name",
                                        )));
                                    }
                                    names_metric = true;
                                }
                            }
                            Kind::Ident | Kind::MetricIdent | Kind::Number | Kind::Duration => {
                                let v = self.text_of(&value).to_string();
                                let mut e = err(
                                    value.start,
                                    value.end,
                                    format!(
                                        "unexpected identifier \"{v}\" in label matching, expected string"
                                    ),
                                    "expected a quoted string",
                                );
                                e.hint = Some(format!("quote the value: \"{v}\""));
                                return Err(Box::new(e));
                            }
                            Kind::Op | Kind::Assign => {
                                let v = self.text_of(&value).to_string();
                                let mut e = err(
                                    value.start,
                                    value.end,
                                    format!("unexpected '{v}' in label matching, expected string"),
                                    "expected a quoted string",
                                );
                                e.hint = Some(
                                    "label matchers use one operator: `=`, `!=`, `=~` or `!~`"
                                        .to_string(),
                                );
                                return Err(e.into());
                            }
                            _ => return Err(self.unexpected(&value, "a quoted string")),
                        }
                    }
                }
                _ => return Err(self.unexpected(&t, "a label name or `}`")),
            }
            let sep = self.peek().clone();
            match sep.kind {
                Kind::Comma => {
                    self.bump();
                }
                Kind::RBrace => break,
                _ => return Err(self.unexpected(&sep, "`,` or `}`")),
            }
        }
        let close = self.bump();
        if metric.is_none() && !non_empty {
            return Err(Box::new(err(
                open.start,
                close.end,
                "vector selector must contain at least one non-empty matcher",
                "matches every series",
            )));
        }
        Ok(close.end)
    }

    /// `(label, ...)` after by/without/on/ignoring/group_x.
    fn grouping_labels(&mut self) -> PResult<()> {
        self.expect(Kind::LParen, "`(` and a list of label names")?;
        loop {
            let t = self.peek().clone();
            match t.kind {
                Kind::RParen => {
                    self.bump();
                    return Ok(());
                }
                Kind::Ident | Kind::Str => {
                    self.bump();
                }
                Kind::MetricIdent => {
                    let name = self.text_of(&t).to_string();
                    return Err(Box::new(err(
                        t.start,
                        t.end,
                        format!("{name} is not valid label in grouping opts"),
                        "not a label name",
                    )));
                }
                _ => return Err(self.unexpected(&t, "a label name or `)`")),
            }
            let sep = self.peek().clone();
            match sep.kind {
                Kind::Comma => {
                    self.bump();
                }
                Kind::RParen => {}
                _ => return Err(self.unexpected(&sep, "`,` or `)` in the label list")),
            }
        }
    }

    fn aggregation(&mut self, op_tok: &Token, op: &str) -> PResult<Val> {
        self.bump();
        let w = self.word(&self.peek().clone());
        if w == "by" || w == "without" {
            self.bump();
            self.grouping_labels()?;
        }
        let open = self.expect(Kind::LParen, "`(` after the aggregation")?;
        let args = self.args(&open)?;
        let close_end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(open.end, |t| t.end);
        let w = self.word(&self.peek().clone());
        if w == "by" || w == "without" {
            self.bump();
            self.grouping_labels()?;
        }
        let param = match op {
            "topk" | "bottomk" | "quantile" | "limitk" | "limit_ratio" => Some(Ty::Scalar),
            "count_values" => Some(Ty::Str),
            _ => None,
        };
        let want = if param.is_some() { 2 } else { 1 };
        if args.len() != want {
            let mut e = err(
                op_tok.start,
                close_end,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
                format!("`{op}` takes {want} argument(s)"),
            );
            if let Some(p) = param {
                e.hint = Some(format!(
                    "`{op}` needs a {} parameter first, e.g. `{op}(5, metric)`",
                    p.name()
                ));
            }
            return Err(Box::new(e));
        }
        if let (Some(p), Some(first)) = (param, args.first())
            && !first.ty.is(p)
        {
            return Err(Box::new(err(
                first.start,
                first.end,
                format!(
                    "expected type {} in aggregation parameter, got {}",
                    p.name(),
                    first.ty.name()
                ),
                format!("expected a {}", p.name()),
            )));
        }
        if let Some(body) = args.last()
            && !body.ty.is(Ty::Vector)
        {
            let mut e = err(
                body.start,
                body.end,
                format!(
                    "expected type instant vector in aggregation expression, got {}",
                    body.ty.name()
                ),
                format!("this is a {}", body.ty.name()),
            );
            if body.ty == Ty::Matrix {
                e.hint = Some("aggregate over time first, e.g. `sum(rate(x[5m]))` or use `sum_over_time(x[5m])`".to_string());
            }
            return Err(Box::new(e));
        }
        Ok(Val {
            ty: Ty::Vector,
            shape: Shape::Other,
            start: op_tok.start,
            end: close_end,
            has_offset: false,
            has_at: false,
        })
    }

    /// Arguments after an opening `(`, through the closing `)`.
    fn args(&mut self, open: &Token) -> PResult<Vec<Val>> {
        let mut args = Vec::new();
        if self.peek().kind == Kind::RParen {
            self.bump();
            return Ok(args);
        }
        loop {
            args.push(self.expr(0)?);
            let t = self.peek().clone();
            match t.kind {
                Kind::Comma => {
                    self.bump();
                    if self.peek().kind == Kind::RParen {
                        return Err(Box::new(err(
                            t.start,
                            t.end,
                            "trailing commas not allowed in function call args",
                            "remove this comma",
                        )));
                    }
                }
                Kind::RParen => {
                    self.bump();
                    return Ok(args);
                }
                Kind::Eof => {
                    let mut e = err(
                        open.start,
                        open.end,
                        "unclosed left parenthesis; expected `)`",
                        "this `(` is never closed",
                    );
                    e.hint = Some("close the argument list with `)`".to_string());
                    return Err(Box::new(e));
                }
                _ => return Err(self.unexpected(&t, "`,`, `)` or a binary operator")),
            }
        }
    }

    fn call(&mut self, name_tok: &Token) -> PResult<Val> {
        let name = self.text_of(name_tok).to_string();
        self.bump();
        let open = self.bump();
        let args = self.args(&open)?;
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(open.end, |t| t.end);
        let Some(&(_, arg_codes, variadic, ret)) = FUNCTIONS.iter().find(|f| f.0 == name) else {
            if self.parser_message.starts_with("unknown function") {
                return Err(Box::new(self.unknown_function(name_tok)));
            }
            return Ok(Val {
                ty: Ty::Unknown,
                shape: Shape::Other,
                start: name_tok.start,
                end,
                has_offset: false,
                has_at: false,
            });
        };
        let types: Vec<Ty> = arg_codes.chars().map(Ty::from_code).collect();
        let n = types.len();
        let got = args.len();
        let arity = if variadic == 0 {
            (got != n).then(|| format!("expected {n} argument(s) in call to \"{name}\", got {got}"))
        } else {
            let min = n.saturating_sub(1);
            if got < min {
                Some(format!(
                    "expected at least {min} argument(s) in call to \"{name}\", got {got}"
                ))
            } else if variadic > 0 && got > min + variadic as usize {
                Some(format!(
                    "expected at most {} argument(s) in call to \"{name}\", got {got}",
                    min + variadic as usize
                ))
            } else {
                None
            }
        };
        if let Some(message) = arity {
            return Err(Box::new(err(
                name_tok.start,
                end,
                message,
                "wrong number of arguments",
            )));
        }
        for (i, a) in args.iter().enumerate() {
            let Some(want) = types.get(i).or(types.last()).copied() else {
                continue;
            };
            if !a.ty.is(want) {
                let mut e = err(
                    a.start,
                    a.end,
                    format!(
                        "expected type {} in call to function \"{name}\", got {}",
                        want.name(),
                        a.ty.name()
                    ),
                    format!("expected a {}", want.name()),
                );
                e.hint = match (want, a.ty) {
                    (Ty::Matrix, Ty::Vector) if a.shape == Shape::Selector => Some(format!(
                        "add a range: `{}[5m]`",
                        self.text.get(a.start..a.end).unwrap_or("metric")
                    )),
                    (Ty::Matrix, Ty::Vector) => {
                        Some("use a subquery for an expression: `(expr)[5m:1m]`".to_string())
                    }
                    (Ty::Vector, Ty::Matrix) => Some(format!(
                        "`{name}` takes an instant vector: drop the range or wrap it, e.g. `rate(x[5m])`"
                    )),
                    (Ty::Str, _) => Some("quote the argument".to_string()),
                    _ => None,
                };
                return Err(Box::new(e));
            }
        }
        Ok(Val {
            ty: Ty::from_code(ret),
            shape: Shape::Other,
            start: name_tok.start,
            end,
            has_offset: false,
            has_at: false,
        })
    }
}

/// The contents of a quoted PromQL string, escapes resolved loosely (only
/// for regex checks).
fn unquote(raw: &str) -> String {
    let mut chars = raw.chars();
    let quote = chars.next();
    let body: String = chars.collect();
    let body = body
        .strip_suffix(|c| Some(c) == quote)
        .unwrap_or(&body)
        .to_string();
    if quote == Some('`') {
        return body;
    }
    let mut out = String::new();
    let mut it = body.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push_str("\\\\"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}
