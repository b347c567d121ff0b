//! The parser: Go's `text/template/parse` (Go 1.19) grammar and parse-time
//! checks (variables in scope, functions defined, literals well formed,
//! blocks closed), producing the tree in the parent module.
//!
//! The structure follows Go's parser function by function, so the first
//! error reported is the one Go reports; only the wording is extended and
//! the position is a byte offset.

use super::lex::{self, Keyword, Kind, Token};
use super::literal::{self, NumberSyntax};
use super::{
    ActionNode, Arg, BranchNode, Command, Definition, MAX_NESTING, Node, Number, PRELUDE_VARIABLES,
    Pipeline, Template, TemplateCall, TemplateError, TextNode, TextRange, Variable,
    is_known_function, known_functions,
};
use crate::diag::did_you_mean;

type ParseResult<T> = Result<T, TemplateError>;

/// Parses a template with Prometheus's prelude variables in scope.
pub(super) fn parse(text: &str) -> ParseResult<Template> {
    let lexed = lex::lex(text);
    let mut parser = Parser {
        text,
        tokens: lexed.tokens,
        lex_error: lexed.error,
        pos: 0,
        vars: PRELUDE_VARIABLES
            .iter()
            .map(|(name, _)| (*name).to_string())
            .collect(),
        range_depth: 0,
        depth: 0,
        in_definition: false,
        definitions: Vec::new(),
    };
    let root = parser.parse_root()?;
    let mut template = Template {
        root,
        definitions: parser.definitions,
    };
    template.shrink_to_fit();
    Ok(template)
}

/// What one `{{...}}` or text run produced: a node, or the `{{end}}` /
/// `{{else}}` that ends the enclosing list.
enum Item {
    Node(Node),
    End(TextRange),
    Else(TextRange),
}

/// The block whose body is being parsed, for "missing {{end}}" errors.
struct Opener {
    keyword: &'static str,
    offset: usize,
}

struct Parser<'a> {
    text: &'a str,
    /// All tokens; the last one is `Eof` or `Error`.
    tokens: Vec<Token>,
    lex_error: Option<TemplateError>,
    /// Index of the next token.
    pos: usize,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    /// How many `{{range}}` bodies enclose the current point.
    range_depth: usize,
    /// Blocks and parentheses currently open, capped at [`MAX_NESTING`].
    depth: usize,
    /// Inside a `{{define}}` or `{{block}}` body.
    in_definition: bool,
    definitions: Vec<Definition>,
}

impl<'a> Parser<'a> {
    // ----- token access (Go's next/backup/peek) -----

    fn token(&self, index: usize) -> Token {
        let end = self.text.len();
        self.tokens
            .get(index)
            .or_else(|| self.tokens.last())
            .copied()
            .unwrap_or(Token {
                kind: Kind::Eof,
                start: end,
                end,
            })
    }

    fn next(&mut self) -> Token {
        let token = self.token(self.pos);
        self.pos += 1;
        token
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn peek(&self) -> Token {
        self.token(self.pos)
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let token = self.next();
            if token.kind != Kind::Space {
                return token;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let token = self.next_non_space();
        self.backup();
        token
    }

    /// End offset of the last consumed token.
    fn prev_end(&self) -> usize {
        self.token(self.pos.saturating_sub(1)).end
    }

    fn slice(&self, token: Token) -> &'a str {
        self.text.get(token.start..token.end).unwrap_or("")
    }

    // ----- errors -----

    fn fail<T>(&self, offset: usize, message: impl Into<String>) -> ParseResult<T> {
        Err(TemplateError {
            offset,
            message: message.into(),
        })
    }

    /// Go's `unexpected`: a lexer error is reported as itself.
    fn unexpected<T>(&self, token: Token, context: &str) -> ParseResult<T> {
        if token.kind == Kind::Error {
            return Err(self.lex_error.clone().unwrap_or(TemplateError {
                offset: token.start,
                message: "invalid template".to_string(),
            }));
        }
        self.fail(
            token.start,
            format!("unexpected {} in {context}", self.describe(token)),
        )
    }

    /// Go's `item.String()`.
    fn describe(&self, token: Token) -> String {
        let text = self.slice(token);
        match token.kind {
            Kind::Eof => "EOF".to_string(),
            Kind::Keyword(_) => format!("<{text}>"),
            _ if text.chars().count() > 10 => {
                let head: String = text.chars().take(10).collect();
                format!("{head:?}...")
            }
            _ => format!("{text:?}"),
        }
    }

    fn expect(&mut self, kind: Kind, context: &str) -> ParseResult<Token> {
        let token = self.next_non_space();
        if token.kind != kind {
            return self.unexpected(token, context);
        }
        Ok(token)
    }

    fn enter(&mut self, offset: usize) -> ParseResult<()> {
        if self.depth >= MAX_NESTING {
            return self.fail(
                offset,
                format!(
                    "template nested too deeply: more than {MAX_NESTING} levels of blocks and parentheses"
                ),
            );
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ----- lists and actions -----

    /// Go's `parse`: the top level, the only place `{{define}}` may appear.
    fn parse_root(&mut self) -> ParseResult<Vec<Node>> {
        let mut root = Vec::new();
        loop {
            let token = self.peek();
            if token.kind == Kind::Eof {
                return Ok(root);
            }
            if token.kind == Kind::LeftDelim {
                let at_delim = self.pos;
                self.next();
                if self.next_non_space().kind == Kind::Keyword(Keyword::Define) {
                    self.parse_definition(token.start)?;
                    continue;
                }
                self.pos = at_delim;
            }
            match self.text_or_action()? {
                Item::Node(node) => root.push(node),
                Item::End(span) => return self.fail(span.start, "unexpected {{end}}"),
                Item::Else(span) => {
                    return self.fail(
                        span.start,
                        "unexpected {{else}} outside {{if}}, {{range}} or {{with}}",
                    );
                }
            }
        }
    }

    /// Go's `itemList`: nodes up to the `{{end}}` or `{{else}}` that ends
    /// the body of `opener`.
    fn item_list(&mut self, opener: &Opener) -> ParseResult<(Vec<Node>, Item)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().kind == Kind::Eof {
                return self.fail(
                    opener.offset,
                    format!(
                        "unexpected EOF: {{{{{}}}}} is missing its {{{{end}}}}",
                        opener.keyword
                    ),
                );
            }
            match self.text_or_action()? {
                Item::Node(node) => list.push(node),
                end => return Ok((list, end)),
            }
        }
    }

    fn text_or_action(&mut self) -> ParseResult<Item> {
        let token = self.next_non_space();
        let span = TextRange::new(token.start, token.end);
        match token.kind {
            Kind::Text => Ok(Item::Node(Node::Text(TextNode {
                text: self.slice(token).to_string(),
                span,
            }))),
            Kind::Comment => Ok(Item::Node(Node::Comment(span))),
            Kind::LeftDelim => self.action(token.start),
            _ => self.unexpected(token, "input"),
        }
    }

    /// After `{{`: a control keyword or a pipeline.
    fn action(&mut self, start: usize) -> ParseResult<Item> {
        let token = self.next_non_space();
        let node = match token.kind {
            Kind::Keyword(Keyword::Block) => self.block_control(start)?,
            Kind::Keyword(Keyword::Break) => self.loop_control(start, true)?,
            Kind::Keyword(Keyword::Continue) => self.loop_control(start, false)?,
            Kind::Keyword(Keyword::Else) => return self.else_control(start),
            Kind::Keyword(Keyword::End) => {
                let end = self.expect(Kind::RightDelim, "end")?;
                return Ok(Item::End(TextRange::new(start, end.end)));
            }
            Kind::Keyword(Keyword::If) => {
                Node::If(Box::new(self.parse_control("if", "if", start)?))
            }
            Kind::Keyword(Keyword::Range) => {
                Node::Range(Box::new(self.parse_control("range", "range", start)?))
            }
            Kind::Keyword(Keyword::Template) => self.template_control(start)?,
            Kind::Keyword(Keyword::With) => {
                Node::With(Box::new(self.parse_control("with", "with", start)?))
            }
            _ => {
                self.backup();
                let pipe = self.pipeline("command", Kind::RightDelim, start)?;
                Node::Action(ActionNode {
                    pipe,
                    span: TextRange::new(start, self.prev_end()),
                })
            }
        };
        Ok(Item::Node(node))
    }

    /// `{{break}}` / `{{continue}}`; the keyword is past.
    fn loop_control(&mut self, start: usize, is_break: bool) -> ParseResult<Node> {
        let word = if is_break {
            "{{break}}"
        } else {
            "{{continue}}"
        };
        let token = self.next_non_space();
        if token.kind != Kind::RightDelim {
            return self.unexpected(token, word);
        }
        if self.range_depth == 0 {
            return self.fail(start, format!("{word} outside {{{{range}}}}"));
        }
        let span = TextRange::new(start, token.end);
        Ok(if is_break {
            Node::Break(span)
        } else {
            Node::Continue(span)
        })
    }

    /// `{{else}}`; the keyword is past. `{{else if ...` leaves the `if`
    /// pending for the enclosing `if` to chain.
    fn else_control(&mut self, start: usize) -> ParseResult<Item> {
        let peek = self.peek_non_space();
        if peek.kind == Kind::Keyword(Keyword::If) {
            return Ok(Item::Else(TextRange::new(start, peek.start)));
        }
        if peek.kind == Kind::Keyword(Keyword::With) {
            return self.fail(
                peek.start,
                "unexpected <with> in else: {{else with}} needs Go 1.23; \
                 Prometheus 2.42 only chains {{else if}}",
            );
        }
        let token = self.expect(Kind::RightDelim, "else")?;
        Ok(Item::Else(TextRange::new(start, token.end)))
    }

    /// The body of `if`, `range` or `with` after its keyword: pipeline,
    /// list, optional else list, `{{end}}`. Variables declared inside go
    /// out of scope at the end.
    fn parse_control(
        &mut self,
        context: &'static str,
        label: &'static str,
        start: usize,
    ) -> ParseResult<BranchNode> {
        self.enter(start)?;
        let saved_vars = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim, start)?;
        let opener = Opener {
            keyword: label,
            offset: start,
        };
        let is_range = context == "range";
        if is_range {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list(&opener)?;
        if is_range {
            self.range_depth -= 1;
        }
        let (else_list, end) = match next {
            Item::Else(else_span) => {
                if context == "if" && self.peek().kind == Kind::Keyword(Keyword::If) {
                    // {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}.
                    self.next();
                    let chained = self.parse_control("if", "else if", else_span.start)?;
                    let end = chained.span.end;
                    (Some(vec![Node::If(Box::new(chained))]), end)
                } else {
                    let (else_list, next) = self.item_list(&opener)?;
                    match next {
                        Item::Else(span) => {
                            return self.fail(span.start, "expected end; found {{else}}");
                        }
                        Item::End(span) => (Some(else_list), span.end),
                        Item::Node(_) => (Some(else_list), self.prev_end()),
                    }
                }
            }
            Item::End(span) => (None, span.end),
            Item::Node(_) => (None, self.prev_end()),
        };
        self.vars.truncate(saved_vars);
        self.leave();
        Ok(BranchNode {
            pipe,
            list,
            else_list,
            span: TextRange::new(start, end),
        })
    }

    /// `{{template "name" pipeline?}}`; the keyword is past.
    fn template_control(&mut self, start: usize) -> ParseResult<Node> {
        let token = self.next_non_space();
        let name = self.template_name(token, "template clause")?;
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline("template clause", Kind::RightDelim, start)?);
        }
        Ok(Node::Template(Box::new(TemplateCall {
            name,
            pipe,
            span: TextRange::new(start, self.prev_end()),
        })))
    }

    /// `{{block "name" pipeline}} body {{end}}`: defines the template and
    /// calls it in place.
    fn block_control(&mut self, start: usize) -> ParseResult<Node> {
        self.enter(start)?;
        let token = self.next_non_space();
        let name = self.template_name(token, "block clause")?;
        let pipe = self.pipeline("block clause", Kind::RightDelim, start)?;
        let action_end = self.prev_end();
        let (body, end) = self.definition_body(start, "block", "block clause")?;
        self.add_definition(
            Definition {
                name: name.clone(),
                from_block: true,
                body,
                span: TextRange::new(start, end),
            },
            start,
        )?;
        self.leave();
        Ok(Node::Template(Box::new(TemplateCall {
            name,
            pipe: Some(pipe),
            span: TextRange::new(start, action_end),
        })))
    }

    /// `{{define "name"}} body {{end}}` at top level; `define` is past.
    fn parse_definition(&mut self, start: usize) -> ParseResult<()> {
        self.enter(start)?;
        let token = self.next_non_space();
        if !matches!(token.kind, Kind::String | Kind::RawString) {
            return self.unexpected(token, "define clause");
        }
        let name = self.template_name(token, "define clause")?;
        self.expect(Kind::RightDelim, "define clause")?;
        let (body, end) = self.definition_body(start, "define", "define clause")?;
        self.add_definition(
            Definition {
                name,
                from_block: false,
                body,
                span: TextRange::new(start, end),
            },
            start,
        )?;
        self.leave();
        Ok(())
    }

    /// A definition body: a fresh scope where only `$` exists and no
    /// `{{range}}` encloses, ended by `{{end}}`.
    fn definition_body(
        &mut self,
        start: usize,
        keyword: &'static str,
        context: &str,
    ) -> ParseResult<(Vec<Node>, usize)> {
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range_depth = std::mem::replace(&mut self.range_depth, 0);
        let saved_in_definition = std::mem::replace(&mut self.in_definition, true);
        let opener = Opener {
            keyword,
            offset: start,
        };
        let result = self.item_list(&opener);
        self.vars = saved_vars;
        self.range_depth = saved_range_depth;
        self.in_definition = saved_in_definition;
        let (body, next) = result?;
        match next {
            Item::Else(span) => {
                self.fail(span.start, format!("unexpected {{{{else}}}} in {context}"))
            }
            Item::End(span) => Ok((body, span.end)),
            Item::Node(_) => Ok((body, self.prev_end())),
        }
    }

    /// Go's `add`: a name may be defined twice only if one body is empty.
    fn add_definition(&mut self, definition: Definition, start: usize) -> ParseResult<()> {
        let existing = self
            .definitions
            .iter_mut()
            .find(|d| d.name == definition.name);
        match existing {
            None => self.definitions.push(definition),
            Some(existing) if is_empty_tree(&existing.body) => *existing = definition,
            Some(_) if is_empty_tree(&definition.body) => {}
            Some(_) => {
                return self.fail(
                    start,
                    format!("multiple definition of template {:?}", definition.name),
                );
            }
        }
        Ok(())
    }

    fn template_name(&self, token: Token, context: &str) -> ParseResult<String> {
        match token.kind {
            Kind::String | Kind::RawString => self.string_literal(token),
            _ => self.unexpected(token, context),
        }
    }

    fn string_literal(&self, token: Token) -> ParseResult<String> {
        literal::unquote(self.slice(token)).or_else(|offset| {
            self.fail(
                token.start + offset,
                "invalid escape sequence in string literal",
            )
        })
    }

    // ----- pipelines -----

    /// Go's `pipeline`: `declarations? command ('|' command)*` up to `end`.
    /// `start` is where a missing value is reported.
    fn pipeline(&mut self, context: &str, end: Kind, start: usize) -> ParseResult<Pipeline> {
        let first = self.peek_non_space();
        let mut decl = Vec::new();
        let mut is_assign = false;
        loop {
            let var = self.peek_non_space();
            if var.kind != Kind::Variable {
                break;
            }
            let at_var = self.pos;
            self.next();
            let next = self.peek_non_space();
            let declared = Variable {
                name: self.slice(var).to_string(),
                fields: Vec::new(),
                span: TextRange::new(var.start, var.end),
            };
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    self.vars.push(declared.name.clone());
                    decl.push(declared);
                    break;
                }
                Kind::Char if self.slice(next) == "," => {
                    self.next_non_space();
                    self.vars.push(declared.name.clone());
                    decl.push(declared);
                    if context == "range" && decl.len() < 2 {
                        let after = self.peek_non_space();
                        match after.kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                            _ => {
                                return self
                                    .fail(after.start, "range can only initialize variables");
                            }
                        }
                    }
                    return self.fail(next.start, format!("too many declarations in {context}"));
                }
                _ => {
                    self.pos = at_var;
                    break;
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            let token = self.next_non_space();
            if token.kind == end {
                self.check_pipeline(&cmds, context, start)?;
                return Ok(Pipeline {
                    decl,
                    is_assign,
                    cmds,
                    span: TextRange::new(first.start, token.start),
                });
            }
            match token.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Keyword(Keyword::Dot)
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Keyword(Keyword::Nil)
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    cmds.push(self.command()?);
                }
                _ => return self.unexpected(token, context),
            }
        }
    }

    fn check_pipeline(&self, cmds: &[Command], context: &str, start: usize) -> ParseResult<()> {
        if cmds.is_empty() {
            return self.fail(start, format!("missing value for {context}"));
        }
        for (index, cmd) in cmds.iter().enumerate().skip(1) {
            if let Some(
                arg @ (Arg::Bool(..)
                | Arg::Dot(_)
                | Arg::Nil(_)
                | Arg::Number(_)
                | Arg::String { .. }),
            ) = cmd.args.first()
            {
                return self.fail(
                    arg.span().start,
                    format!("non executable command in pipeline stage {}", index + 1),
                );
            }
        }
        Ok(())
    }

    /// Go's `command`: space-separated operands up to `|`, `}}` or `)`;
    /// consumes the `|`.
    fn command(&mut self) -> ParseResult<Command> {
        let start = self.peek_non_space().start;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                args.push(operand);
            }
            let token = self.next();
            match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(token, "operand"),
            }
            break;
        }
        let Some(last) = args.last() else {
            return self.fail(start, "empty command");
        };
        let end = last.span().end;
        Ok(Command {
            args,
            span: TextRange::new(start, end),
        })
    }

    /// Go's `operand`: a term followed by `.Field` accesses.
    fn operand(&mut self) -> ParseResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_start = self.peek().start;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let field = self.next();
            fields.push(self.slice(field).get(1..).unwrap_or("").to_string());
        }
        let end = self.prev_end();
        Ok(Some(match node {
            Arg::Field {
                fields: mut first,
                span,
            } => {
                first.extend(fields);
                Arg::Field {
                    fields: first,
                    span: TextRange::new(span.start, end),
                }
            }
            Arg::Variable(mut variable) => {
                variable.fields.extend(fields);
                variable.span.end = end;
                Arg::Variable(variable)
            }
            Arg::Bool(..) | Arg::String { .. } | Arg::Number(_) | Arg::Nil(_) | Arg::Dot(_) => {
                let span = node.span();
                let term = self.text.get(span.start..span.end).unwrap_or("");
                return self.fail(chain_start, format!("unexpected . after term {term:?}"));
            }
            other => {
                let start = other.span().start;
                Arg::Chain {
                    target: Box::new(other),
                    fields,
                    span: TextRange::new(start, end),
                }
            }
        }))
    }

    /// Go's `term`: a literal, function name, `.`, `.Field`, `$var` or
    /// `(pipeline)`; `None` when the next token is none of these.
    fn term(&mut self) -> ParseResult<Option<Arg>> {
        let token = self.next_non_space();
        let span = TextRange::new(token.start, token.end);
        let text = self.slice(token);
        let arg = match token.kind {
            Kind::Identifier => {
                if !is_known_function(text) {
                    let mut message = format!("function {text:?} not defined");
                    if let Some(known) = did_you_mean(text, known_functions()) {
                        message.push_str(&format!("; did you mean {known:?}?"));
                    }
                    return self.fail(token.start, message);
                }
                Arg::Function {
                    name: text.to_string(),
                    span,
                }
            }
            Kind::Keyword(Keyword::Dot) => Arg::Dot(span),
            Kind::Keyword(Keyword::Nil) => Arg::Nil(span),
            Kind::Variable => self.use_var(token)?,
            Kind::Field => Arg::Field {
                fields: vec![text.get(1..).unwrap_or("").to_string()],
                span,
            },
            Kind::Bool => Arg::Bool(text == "true", span),
            Kind::CharConstant | Kind::Complex | Kind::Number => {
                let syntax = match token.kind {
                    Kind::CharConstant => NumberSyntax::Char,
                    Kind::Complex => NumberSyntax::Complex,
                    _ => NumberSyntax::Plain,
                };
                let value = match literal::parse_number(text, syntax) {
                    Ok(value) => value,
                    Err(message) => return self.fail(token.start, message),
                };
                Arg::Number(Box::new(Number {
                    text: text.to_string(),
                    int: value.int,
                    uint: value.uint,
                    float: value.float,
                    complex: value.complex,
                    span,
                }))
            }
            Kind::LeftParen => {
                self.enter(token.start)?;
                let mut pipe =
                    self.pipeline("parenthesized pipeline", Kind::RightParen, token.start)?;
                self.leave();
                pipe.span = TextRange::new(token.start, self.prev_end());
                Arg::Pipeline(Box::new(pipe))
            }
            Kind::String | Kind::RawString => Arg::String {
                value: self.string_literal(token)?,
                span,
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }

    /// A variable reference, which must be in scope.
    fn use_var(&self, token: Token) -> ParseResult<Arg> {
        let name = self.slice(token);
        if self.vars.iter().any(|v| v == name) {
            return Ok(Arg::Variable(Variable {
                name: name.to_string(),
                fields: Vec::new(),
                span: TextRange::new(token.start, token.end),
            }));
        }
        let mut message = format!("undefined variable {name:?}");
        let is_prelude = PRELUDE_VARIABLES
            .iter()
            .any(|(prelude, _)| *prelude == name);
        if self.in_definition && is_prelude {
            message.push_str(
                "; inside {{define}} and {{block}} only `$` (the data passed in) is defined",
            );
        } else if let Some(known) = did_you_mean(name, self.vars.iter().map(String::as_str)) {
            message.push_str(&format!("; did you mean {known:?}?"));
        }
        self.fail(token.start, message)
    }
}

/// Go's `IsEmptyTree`: only blank text and comments.
fn is_empty_tree(nodes: &[Node]) -> bool {
    nodes.iter().all(|node| match node {
        Node::Text(text) => text.text.trim().is_empty(),
        Node::Comment(_) => true,
        _ => false,
    })
}
