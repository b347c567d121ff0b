//! PromQL syntax checking with positions mapped into the rule file.
//!
//! Expressions are parsed with `promql-parser`, whose errors carry no
//! position and, for grammar errors, no detail ("invalid promql query").
//! When it rejects an expression, a small recogniser of the same grammar
//! ([`locate`]) runs over the text to find where it goes wrong and what was
//! expected there, including the type errors people actually make (`rate`
//! of an instant vector, a range vector compared with a number, unquoted
//! label values). If the recogniser finds nothing, the parser's own message
//! is reported on the whole expression.

use crate::diag::{Diagnostic, Span};

/// One compiled regex per pattern, for the parsed queries of one file.
///
/// `promql-parser` compiles every `=~`/`!~` matcher's regex into the tree
/// (about 7.5 KB each); a file's queries repeat the same few patterns, and
/// a clone of a compiled regex shares its program (about 1.6 KB). Dropped
/// with the loader, so nothing outlives the load.
#[derive(Default)]
pub struct SharedRegexes(std::collections::HashMap<String, regex::Regex>);

impl SharedRegexes {
    /// Replaces every regex matcher's regex in `expr` by the one already
    /// kept for its pattern, keeping the first of each.
    pub fn share(&mut self, expr: &mut promql_parser::parser::Expr) {
        use promql_parser::parser::Expr;
        match expr {
            Expr::Aggregate(a) => {
                self.share(&mut a.expr);
                if let Some(p) = a.param.as_mut() {
                    self.share(p);
                }
            }
            Expr::Unary(u) => self.share(&mut u.expr),
            Expr::Binary(b) => {
                self.share(&mut b.lhs);
                self.share(&mut b.rhs);
            }
            Expr::Paren(p) => self.share(&mut p.expr),
            Expr::Subquery(q) => self.share(&mut q.expr),
            Expr::Call(c) => {
                for arg in &mut c.args.args {
                    self.share(arg);
                }
            }
            Expr::VectorSelector(vs) => self.share_matchers(&mut vs.matchers),
            Expr::MatrixSelector(ms) => self.share_matchers(&mut ms.vs.matchers),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }

    fn share_matchers(&mut self, matchers: &mut promql_parser::label::Matchers) {
        use promql_parser::label::MatchOp;
        let all = matchers
            .matchers
            .iter_mut()
            .chain(matchers.or_matchers.iter_mut().flatten());
        for m in all {
            if let MatchOp::Re(re) | MatchOp::NotRe(re) = &mut m.op {
                match self.0.get(re.as_str()) {
                    Some(kept) => *re = kept.clone(),
                    None => {
                        self.0.insert(re.as_str().to_string(), re.clone());
                    }
                }
            }
        }
    }
}

/// Parses a PromQL expression written at `span` (its first byte is
/// `span.start`, and the text is taken to be written there verbatim); on
/// error, a `promql/syntax` diagnostic pointing into that span.
#[allow(clippy::result_large_err)] // the signature is shared with the DSL front end
pub fn parse(expr: &str, span: Span) -> Result<promql_parser::parser::Expr, Diagnostic> {
    parse_mapped(expr, |offset| {
        let at = span.start + offset.min(expr.len());
        Span::new(span.file, at, at)
    })
    .map_err(|d| *d)
}

/// Parses a PromQL expression whose bytes are not contiguous in the file (a
/// YAML string with escapes or folded lines): `map` turns a byte offset in
/// `expr` (up to and including `expr.len()`) into a point in the file.
pub fn parse_mapped(
    expr: &str,
    map: impl Fn(usize) -> Span,
) -> Result<promql_parser::parser::Expr, Box<Diagnostic>> {
    let parser_message = match nesting_depth(expr) {
        depth if depth > MAX_NESTING => format!(
            "expression nested too deeply ({depth} levels of brackets; at most {MAX_NESTING} are accepted)"
        ),
        _ => match promql_parser::parser::parse(expr) {
            Ok(ast) => return Ok(ast),
            Err(message) => message,
        },
    };
    let to_span = |start: usize, end: usize| {
        let s = map(start);
        let e = map(end.max(start));
        if e.file == s.file && e.start >= s.start {
            s.to(e)
        } else {
            s
        }
    };
    let d = match locate(expr, &parser_message) {
        Some(err) => Diagnostic::error(
            "promql/syntax",
            to_span(err.start, err.end),
            format!("invalid PromQL: {}", err.message),
        )
        .with_label(err.label)
        .with_hint(err.hint),
        None => {
            let trimmed_start = expr.len() - expr.trim_start().len();
            let trimmed_end = expr.trim_end().len().max(trimmed_start);
            Diagnostic::error(
                "promql/syntax",
                to_span(trimmed_start, trimmed_end),
                format!("invalid PromQL: {parser_message}"),
            )
            .with_label("in this expression")
        }
    };
    Err(Box::new(d))
}

/// Deepest bracket nesting handed to `promql-parser`, whose tree is
/// recursive: far beyond any real rule, far below a stack overflow.
const MAX_NESTING: usize = 256;

/// Deepest nesting of `(`, `[` and `{` outside strings and comments.
fn nesting_depth(expr: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') if q != '`' => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            (None, '(' | '[' | '{') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A PromQL error at a byte range of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedError {
    /// First byte of the offending text.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// What is wrong, saying what was expected.
    pub message: String,
    /// Short text for under the caret.
    pub label: String,
    /// What to do about it, when obvious.
    pub hint: Option<String>,
}

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

// ----- lexer -------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
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
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn err(
    start: usize,
    end: usize,
    message: impl Into<String>,
    label: impl Into<String>,
) -> LocatedError {
    LocatedError {
        start,
        end,
        message: message.into(),
        label: label.into(),
        hint: None,
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn lex(text: &str) -> Result<Vec<Token>, LocatedError> {
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
                        if crate::model::parse_duration(word).is_err() {
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

// ----- recogniser --------------------------------------------------------------------------

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

const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Functions: name, argument types (V instant vector, M range vector, S
/// scalar, T string), variadic count (0 exact, >0 that many optional
/// trailing arguments, <0 unbounded), return type.
const FUNCTIONS: &[(&str, &str, i32, char)] = &[
    ("abs", "V", 0, 'V'),
    ("absent", "V", 0, 'V'),
    ("absent_over_time", "M", 0, 'V'),
    ("acos", "V", 0, 'V'),
    ("acosh", "V", 0, 'V'),
    ("asin", "V", 0, 'V'),
    ("asinh", "V", 0, 'V'),
    ("atan", "V", 0, 'V'),
    ("atanh", "V", 0, 'V'),
    ("avg_over_time", "M", 0, 'V'),
    ("ceil", "V", 0, 'V'),
    ("changes", "M", 0, 'V'),
    ("clamp", "VSS", 0, 'V'),
    ("clamp_max", "VS", 0, 'V'),
    ("clamp_min", "VS", 0, 'V'),
    ("cos", "V", 0, 'V'),
    ("cosh", "V", 0, 'V'),
    ("count_over_time", "M", 0, 'V'),
    ("days_in_month", "V", 1, 'V'),
    ("day_of_month", "V", 1, 'V'),
    ("day_of_week", "V", 1, 'V'),
    ("day_of_year", "V", 1, 'V'),
    ("deg", "V", 0, 'V'),
    ("delta", "M", 0, 'V'),
    ("deriv", "M", 0, 'V'),
    ("double_exponential_smoothing", "MSS", 0, 'V'),
    ("exp", "V", 0, 'V'),
    ("first_over_time", "M", 0, 'V'),
    ("floor", "V", 0, 'V'),
    ("histogram_avg", "V", 0, 'V'),
    ("histogram_count", "V", 0, 'V'),
    ("histogram_fraction", "SSV", 0, 'V'),
    ("histogram_quantile", "SV", 0, 'V'),
    ("histogram_stddev", "V", 0, 'V'),
    ("histogram_stdvar", "V", 0, 'V'),
    ("histogram_sum", "V", 0, 'V'),
    ("hour", "V", 1, 'V'),
    ("idelta", "M", 0, 'V'),
    ("increase", "M", 0, 'V'),
    ("info", "VV", 1, 'V'),
    ("irate", "M", 0, 'V'),
    ("label_join", "VTTT", -1, 'V'),
    ("label_replace", "VTTTT", 0, 'V'),
    ("last_over_time", "M", 0, 'V'),
    ("ln", "V", 0, 'V'),
    ("log10", "V", 0, 'V'),
    ("log2", "V", 0, 'V'),
    ("mad_over_time", "M", 0, 'V'),
    ("max_over_time", "M", 0, 'V'),
    ("min_over_time", "M", 0, 'V'),
    ("minute", "V", 1, 'V'),
    ("month", "V", 1, 'V'),
    ("pi", "", 0, 'S'),
    ("predict_linear", "MS", 0, 'V'),
    ("present_over_time", "M", 0, 'V'),
    ("quantile_over_time", "SM", 0, 'V'),
    ("rad", "V", 0, 'V'),
    ("rate", "M", 0, 'V'),
    ("resets", "M", 0, 'V'),
    ("round", "VS", 1, 'V'),
    ("scalar", "V", 0, 'S'),
    ("sgn", "V", 0, 'V'),
    ("sin", "V", 0, 'V'),
    ("sinh", "V", 0, 'V'),
    ("sort", "V", 0, 'V'),
    ("sort_by_label", "VT", -1, 'V'),
    ("sort_by_label_desc", "VT", -1, 'V'),
    ("sort_desc", "V", 0, 'V'),
    ("sqrt", "V", 0, 'V'),
    ("stddev_over_time", "M", 0, 'V'),
    ("stdvar_over_time", "M", 0, 'V'),
    ("sum_over_time", "M", 0, 'V'),
    ("tan", "V", 0, 'V'),
    ("tanh", "V", 0, 'V'),
    ("time", "", 0, 'S'),
    ("timestamp", "V", 0, 'V'),
    ("ts_of_first_over_time", "M", 0, 'V'),
    ("ts_of_last_over_time", "M", 0, 'V'),
    ("ts_of_max_over_time", "M", 0, 'V'),
    ("ts_of_min_over_time", "M", 0, 'V'),
    ("vector", "S", 0, 'V'),
    ("year", "V", 1, 'V'),
];

/// Binary operators by precedence, lowest first; `^` is right-associative.
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "or" => 1,
        "and" | "unless" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 3,
        "+" | "-" => 4,
        "*" | "/" | "%" | "atan2" => 5,
        "^" => 6,
        _ => return None,
    })
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | "<" | "<=" | ">" | ">=")
}

fn is_set_op(op: &str) -> bool {
    matches!(op, "and" | "or" | "unless")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The located error for `expr`: (text at the span, message).
    fn at(expr: &str) -> (String, String) {
        let message = match promql_parser::parser::parse(expr) {
            Ok(_) => panic!("`{expr}` parsed"),
            Err(m) => m,
        };
        let e = locate(expr, &message)
            .unwrap_or_else(|| panic!("nothing located in `{expr}` ({message})"));
        (expr[e.start..e.end].to_string(), e.message)
    }

    #[test]
    fn grammar_errors_point_at_the_token() {
        assert_eq!(at("sum(rate(x[5m])").0, "(");
        assert!(
            at("sum(rate(x[5m])")
                .1
                .contains("unclosed left parenthesis")
        );
        let (text, msg) = at("up == ");
        assert_eq!(text, "");
        assert!(msg.contains("expected an expression"), "{msg}");
        let (text, msg) = at("foo bar");
        assert_eq!(text, "bar");
        assert!(msg.contains("unexpected identifier \"bar\""), "{msg}");
        assert_eq!(at("up{job=foo}").0, "foo");
        assert_eq!(at("up{job==\"a\"}").0, "==");
        assert_eq!(at("rate(x[5m]))").0, ")");
        assert_eq!(at("x[]").0, "]");
    }

    #[test]
    fn lexer_errors_point_at_the_character() {
        assert_eq!(at("rate(x[$__rate_interval])").0, "$");
        assert_eq!(at("up{job=\"a}").0, "\"a}");
        assert_eq!(at("x ! y").0, "!");
        assert_eq!(at("x[5x]").0, "5x");
    }

    #[test]
    fn type_errors_point_at_the_argument() {
        let (text, msg) = at("rate(http_requests_total)");
        assert_eq!(text, "http_requests_total");
        assert_eq!(
            msg,
            "expected type range vector in call to function \"rate\", got instant vector"
        );
        let (text, msg) = at("x[5m] > 1");
        assert_eq!(text, "x[5m]");
        assert!(msg.contains("only scalar and instant vector"), "{msg}");
        assert_eq!(at("sum(x[5m])").0, "x[5m]");
        assert_eq!(at("topk(x)").0, "topk(x)");
        assert_eq!(at("abs(x)[5m]").0, "[5m]");
        assert_eq!(at("1 > 2").0, ">");
        assert_eq!(at("sum(x) offset 5m").0, "offset 5m");
    }

    #[test]
    fn unknown_functions_are_named_with_a_suggestion() {
        let message = promql_parser::parser::parse("rat(x[5m])").unwrap_err();
        let e = locate("rat(x[5m])", &message).unwrap();
        assert_eq!((e.start, e.end), (0, 3));
        assert_eq!(e.hint.as_deref(), Some("did you mean `rate`?"));
    }

    #[test]
    fn every_prefix_of_real_expressions_is_located_within_bounds() {
        let exprs = [
            "sum by (cluster) (rate(apiserver_request_total{verb=~\"LIST|GET\",code=~\"5..\"}[5m])) / on(cluster) group_left() sum(x) > bool 0.5",
            "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])) by (le)) > 2e+3",
            "(node_filesystem_avail_bytes{fstype!=\"\"} / node_filesystem_size_bytes * 100 < 10\nand\n  predict_linear(node_filesystem_avail_bytes[6h], 4*60*60) < 0)",
            "max_over_time(up[5m:1m] offset -1h @ end()) unless ignoring(instance) topk(3, -x ^ 2)",
            "count_values(\"version\", build_info) # trailing comment",
        ];
        let mut located = 0;
        for expr in exprs {
            assert!(promql_parser::parser::parse(expr).is_ok(), "{expr}");
            for end in (0..expr.len()).filter(|i| expr.is_char_boundary(*i)) {
                let prefix = &expr[..end];
                let Err(message) = promql_parser::parser::parse(prefix) else {
                    continue;
                };
                let e = locate(prefix, &message)
                    .unwrap_or_else(|| panic!("nothing located in {prefix:?} ({message})"));
                assert!(
                    e.start <= e.end && e.end <= prefix.len(),
                    "{prefix:?}: {e:?}"
                );
                located += 1;
            }
        }
        assert!(located > 300, "{located}");
    }

    #[test]
    fn incomplete_exponents_are_bad_numbers() {
        let (text, msg) = at("x > 2e+");
        assert_eq!(text, "2e+");
        assert!(msg.contains("bad number"), "{msg}");
    }

    #[test]
    fn mapped_spans_follow_the_map() {
        let d = parse_mapped("up ==", |o| Span::new(3, 100 + 2 * o, 100 + 2 * o)).unwrap_err();
        assert_eq!(d.code, "promql/syntax");
        assert_eq!(d.span.file, 3);
        assert_eq!(d.span.start, 110);
        let ok = parse("sum(rate(x[5m])) by (job) > 0", Span::new(0, 0, 0));
        assert!(ok.is_ok());
    }

    #[test]
    fn shared_regexes_keep_each_pattern_and_the_query_text() {
        use promql_parser::label::Matcher;
        use promql_parser::parser::Expr;
        fn matchers<'a>(e: &'a Expr, out: &mut Vec<&'a Matcher>) {
            match e {
                Expr::Binary(b) => {
                    matchers(&b.lhs, out);
                    matchers(&b.rhs, out);
                }
                Expr::VectorSelector(vs) => out.extend(vs.matchers.matchers.iter()),
                _ => {}
            }
        }
        let text = r#"a{code=~"5.."} / b{code=~"5..", job!~"x|y"} or c{code=~"4.."}"#;
        let parse = || promql_parser::parser::parse(text).expect("parses");
        let mut shared = SharedRegexes::default();
        let (mut first, mut again) = (parse(), parse());
        shared.share(&mut first);
        shared.share(&mut again);
        assert_eq!(shared.0.len(), 3, "one regex per pattern");
        assert_eq!(again.to_string(), parse().to_string());
        let mut found = Vec::new();
        matchers(&again, &mut found);
        let seen: Vec<String> = found
            .iter()
            .filter(|m| m.name != "__name__")
            .map(|m| format!("{} {} {}", m.name, m.is_match("500"), m.is_match("x")))
            .collect();
        assert_eq!(
            seen,
            [
                "code true false",
                "code true false",
                "job true false",
                "code false false"
            ]
        );
    }
}
