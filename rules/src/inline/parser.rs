//! Tokens to an expression tree, and the whole text to templates of literal
//! text and expression segments.

use super::lexer::{Lexer, Tok, Token};
use super::{err, InlineError};

/// Deepest expression tree accepted. Evaluation and dropping recurse over the
/// tree, so bounding its depth is what keeps hostile input from overflowing
/// the stack; real expressions are a handful of levels deep.
const MAX_DEPTH: u32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

/// Methods and `Math` functions, resolved at parse time so that a typo in a
/// config fails when the config loads rather than on the first routed query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    HashCode,
    Abs,
    ToStr,
    Substring,
    Length,
    Size,
    ToInteger,
    MathAbs,
    MathFloorMod,
    MathMax,
    MathMin,
}

impl Func {
    fn method(name: &str) -> Option<(Func, usize, usize)> {
        Some(match name {
            "hashCode" => (Func::HashCode, 0, 0),
            "abs" => (Func::Abs, 0, 0),
            "toString" => (Func::ToStr, 0, 0),
            "substring" => (Func::Substring, 1, 2),
            "length" => (Func::Length, 0, 0),
            "size" => (Func::Size, 0, 0),
            "toInteger" | "toLong" => (Func::ToInteger, 0, 0),
            _ => return None,
        })
    }

    fn math(name: &str) -> Option<(Func, usize, usize)> {
        Some(match name {
            "abs" => (Func::MathAbs, 1, 1),
            "floorMod" => (Func::MathFloorMod, 2, 2),
            "max" => (Func::MathMax, 2, 2),
            "min" => (Func::MathMin, 2, 2),
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::HashCode => "hashCode",
            Func::Abs => "abs",
            Func::ToStr => "toString",
            Func::Substring => "substring",
            Func::Length => "length",
            Func::Size => "size",
            Func::ToInteger => "toInteger",
            Func::MathAbs => "Math.abs",
            Func::MathFloorMod => "Math.floorMod",
            Func::MathMax => "Math.max",
            Func::MathMin => "Math.min",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub(crate) kind: Kind,
    /// Character offset in the whole text, reported by evaluation errors.
    pub(crate) pos: usize,
    depth: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Int(i64),
    Bool(bool),
    Str(String),
    Var(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Range {
        from: Box<Expr>,
        to: Box<Expr>,
        exclusive: bool,
    },
    List(Vec<Expr>),
    /// A method call (`receiver` first in `args`) or a `Math` function.
    Call(Func, Vec<Expr>),
}

impl Expr {
    /// Visits variable names in source order.
    pub(crate) fn for_each_var<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match &self.kind {
            Kind::Null | Kind::Int(_) | Kind::Bool(_) | Kind::Str(_) => {}
            Kind::Var(name) => f(name),
            Kind::Neg(e) | Kind::Not(e) => e.for_each_var(f),
            Kind::Binary(_, a, b) | Kind::Range { from: a, to: b, .. } => {
                a.for_each_var(f);
                b.for_each_var(f);
            }
            Kind::Ternary(c, a, b) => {
                c.for_each_var(f);
                a.for_each_var(f);
                b.for_each_var(f);
            }
            Kind::List(items) | Kind::Call(_, items) => {
                items.iter().for_each(|e| e.for_each_var(f));
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    Lit(String),
    Expr(Expr),
}

/// One top-level comma-separated part of the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pub(crate) segments: Vec<Segment>,
    /// Bytes of literal text, to size the output of `eval_one` in one go.
    pub(crate) literal_len: usize,
    /// Character offset where the part begins (just after its `,`).
    pub(crate) start: usize,
}

/// Splits the text at top-level commas and parses each part. Whitespace
/// around parts is dropped; a trailing comma is ignored as ShardingSphere
/// does, any other empty part is an error (it would name no data node).
pub(crate) fn parse_templates(chars: &[char]) -> Result<Vec<Template>, InlineError> {
    let mut parts = Vec::new();
    let mut segments = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let mut start = 0;
    while let Some(&c) = chars.get(i) {
        let open = match (c, chars.get(i + 1), chars.get(i + 2), chars.get(i + 3)) {
            ('$', Some('{'), _, _) => Some(2),
            ('$', Some('-'), Some('>'), Some('{')) => Some(4),
            _ => None,
        };
        if let Some(open) = open {
            flush_literal(&mut lit, &mut segments);
            let (expr, end) = parse_segment(chars, i + open)?;
            segments.push(Segment::Expr(expr));
            i = end;
            continue;
        }
        match c {
            ',' => {
                let part = finish_part(std::mem::take(&mut segments), &mut lit, start);
                if part.segments.is_empty() {
                    return Err(err(i, "empty part before `,`"));
                }
                parts.push(part);
                start = i + 1;
            }
            '{' => return Err(err(i, "`{` outside `${...}` (missing `$`?)")),
            '}' => return Err(err(i, "unmatched `}`")),
            c => lit.push(c),
        }
        i += 1;
    }
    let last = finish_part(segments, &mut lit, start);
    if !last.segments.is_empty() {
        parts.push(last);
    }
    Ok(parts)
}

fn flush_literal(lit: &mut String, segments: &mut Vec<Segment>) {
    if !lit.is_empty() {
        segments.push(Segment::Lit(std::mem::take(lit)));
    }
}

fn finish_part(mut segments: Vec<Segment>, lit: &mut String, start: usize) -> Template {
    flush_literal(lit, &mut segments);
    if let Some(Segment::Lit(first)) = segments.first_mut() {
        *first = first.trim_start().to_owned();
    }
    if let Some(Segment::Lit(last)) = segments.last_mut() {
        last.truncate(last.trim_end().len());
    }
    segments.retain(|s| !matches!(s, Segment::Lit(l) if l.is_empty()));
    let literal_len = segments
        .iter()
        .map(|s| match s {
            Segment::Lit(l) => l.len(),
            Segment::Expr(_) => 0,
        })
        .sum();
    Template {
        segments,
        literal_len,
        start,
    }
}

/// Parses the expression starting at `start` (just after `${`) up to and
/// including its `}`; returns the tree and the offset after the `}`.
fn parse_segment(chars: &[char], start: usize) -> Result<(Expr, usize), InlineError> {
    let mut lexer = Lexer::new(chars, start);
    let tok = lexer.next_token()?;
    let mut p = Parser {
        lexer,
        tok,
        nesting: 0,
    };
    if p.tok.tok == Tok::RBrace {
        return Err(err(p.tok.pos, "empty `${}`: expected an expression"));
    }
    let expr = p.expr()?;
    if p.tok.tok != Tok::RBrace {
        return Err(err(
            p.tok.pos,
            format!("expected `}}`, found {}", p.tok.tok.describe()),
        ));
    }
    Ok((expr, p.lexer.pos()))
}

#[derive(Debug, Clone, Copy)]
enum Infix {
    Bin(BinOp),
    Range { exclusive: bool },
}

#[derive(Debug)]
struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The current, not yet consumed token.
    tok: Token,
    /// Recursion depth of the descent, bounded separately from tree depth
    /// because `((((x))))` recurses without building deeper nodes.
    nesting: u32,
}

fn node(kind: Kind, pos: usize) -> Result<Expr, InlineError> {
    let child_depth = match &kind {
        Kind::Null | Kind::Int(_) | Kind::Bool(_) | Kind::Str(_) | Kind::Var(_) => 0,
        Kind::Neg(e) | Kind::Not(e) => e.depth,
        Kind::Binary(_, a, b) | Kind::Range { from: a, to: b, .. } => a.depth.max(b.depth),
        Kind::Ternary(c, a, b) => c.depth.max(a.depth).max(b.depth),
        Kind::List(items) | Kind::Call(_, items) => {
            items.iter().map(|e| e.depth).max().unwrap_or(0)
        }
    };
    let depth = child_depth + 1;
    if depth > MAX_DEPTH {
        return Err(err(pos, "expression nested too deeply"));
    }
    Ok(Expr { kind, pos, depth })
}

impl Parser<'_> {
    fn advance(&mut self) -> Result<Token, InlineError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn expect(&mut self, tok: Tok) -> Result<Token, InlineError> {
        if self.tok.tok == tok {
            self.advance()
        } else {
            Err(err(
                self.tok.pos,
                format!(
                    "expected {}, found {}",
                    tok.describe(),
                    self.tok.tok.describe()
                ),
            ))
        }
    }

    fn enter(&mut self) -> Result<(), InlineError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(err(self.tok.pos, "expression nested too deeply"));
        }
        Ok(())
    }

    /// `c ? a : b`, right associative, the lowest precedence.
    fn expr(&mut self) -> Result<Expr, InlineError> {
        self.enter()?;
        let cond = self.binary(1)?;
        let result = if self.tok.tok == Tok::Question {
            let q = self.advance()?;
            let then = self.expr()?;
            self.expect(Tok::Colon)?;
            let otherwise = self.expr()?;
            node(
                Kind::Ternary(Box::new(cond), Box::new(then), Box::new(otherwise)),
                q.pos,
            )
        } else {
            Ok(cond)
        };
        self.nesting -= 1;
        result
    }

    /// Binary operators by precedence climbing, loosest first: `||`, `&&`,
    /// `== !=`, `< <= > >=` and `as`, ranges (between comparisons and
    /// `+ -`, as in Groovy), `+ -`, `* / %`; all left associative. One
    /// function for every level keeps the stack shallow per nesting level.
    fn binary(&mut self, min_prec: u8) -> Result<Expr, InlineError> {
        let mut lhs = self.unary()?;
        loop {
            let (prec, op) = match self.tok.tok {
                Tok::OrOr => (1, Infix::Bin(BinOp::Or)),
                Tok::AndAnd => (2, Infix::Bin(BinOp::And)),
                Tok::EqEq => (3, Infix::Bin(BinOp::Eq)),
                Tok::Ne => (3, Infix::Bin(BinOp::Ne)),
                Tok::Lt => (4, Infix::Bin(BinOp::Lt)),
                Tok::Le => (4, Infix::Bin(BinOp::Le)),
                Tok::Gt => (4, Infix::Bin(BinOp::Gt)),
                Tok::Ge => (4, Infix::Bin(BinOp::Ge)),
                Tok::As if min_prec <= 4 => {
                    lhs = self.cast(lhs)?;
                    continue;
                }
                Tok::DotDot => (5, Infix::Range { exclusive: false }),
                Tok::DotDotLt => (5, Infix::Range { exclusive: true }),
                Tok::Plus => (6, Infix::Bin(BinOp::Add)),
                Tok::Minus => (6, Infix::Bin(BinOp::Sub)),
                Tok::Star => (7, Infix::Bin(BinOp::Mul)),
                Tok::Slash => (7, Infix::Bin(BinOp::Div)),
                Tok::Percent => (7, Infix::Bin(BinOp::Rem)),
                _ => return Ok(lhs),
            };
            if prec < min_prec {
                return Ok(lhs);
            }
            let at = self.advance()?.pos;
            let rhs = Box::new(self.binary(prec + 1)?);
            let kind = match op {
                Infix::Range { exclusive } => Kind::Range {
                    from: Box::new(lhs),
                    to: rhs,
                    exclusive,
                },
                Infix::Bin(op) => Kind::Binary(op, Box::new(lhs), rhs),
            };
            lhs = node(kind, at)?;
        }
    }

    /// `x as int` / `x as String`.
    fn cast(&mut self, value: Expr) -> Result<Expr, InlineError> {
        self.advance()?;
        let at = self.tok.pos;
        let func = match &self.tok.tok {
            Tok::Ident(t) if matches!(t.as_str(), "int" | "Integer" | "long" | "Long") => {
                Func::ToInteger
            }
            Tok::Ident(t) if t == "String" => Func::ToStr,
            other => {
                return Err(err(
                    at,
                    format!("unsupported type after `as`: {}", other.describe()),
                ))
            }
        };
        self.advance()?;
        node(Kind::Call(func, vec![value]), at)
    }

    fn unary(&mut self) -> Result<Expr, InlineError> {
        let wrap: fn(Box<Expr>) -> Kind = match self.tok.tok {
            Tok::Minus => Kind::Neg,
            Tok::Bang => Kind::Not,
            _ => return self.postfix(),
        };
        self.enter()?;
        let at = self.advance()?.pos;
        let operand = self.unary()?;
        self.nesting -= 1;
        node(wrap(Box::new(operand)), at)
    }

    fn postfix(&mut self) -> Result<Expr, InlineError> {
        let mut value = self.primary()?;
        while self.tok.tok == Tok::Dot {
            self.advance()?;
            let (name, at) = self.name_after_dot()?;
            let Some(func) = Func::method(&name) else {
                return Err(err(at, format!("unsupported method `{name}`")));
            };
            let mut args = vec![value];
            self.call_args(func, at, &mut args)?;
            value = node(Kind::Call(func.0, args), at)?;
        }
        Ok(value)
    }

    fn name_after_dot(&mut self) -> Result<(String, usize), InlineError> {
        let at = self.tok.pos;
        match self.advance()?.tok {
            Tok::Ident(name) => Ok((name, at)),
            other => Err(err(
                at,
                format!(
                    "expected a method name after `.`, found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// Parses `( args )` onto `args` and checks the count against `func`'s.
    fn call_args(
        &mut self,
        (func, min, max): (Func, usize, usize),
        at: usize,
        args: &mut Vec<Expr>,
    ) -> Result<(), InlineError> {
        if self.tok.tok != Tok::LParen {
            return Err(err(
                self.tok.pos,
                format!("expected `(` after `{}`", func.name()),
            ));
        }
        self.advance()?;
        let receiver = args.len();
        while self.tok.tok != Tok::RParen {
            args.push(self.expr()?);
            if self.tok.tok != Tok::Comma {
                break;
            }
            self.advance()?;
        }
        self.expect(Tok::RParen)?;
        let given = args.len() - receiver;
        if given < min || given > max {
            let wanted = if min == max {
                format!("{min}")
            } else {
                format!("{min} or {max}")
            };
            return Err(err(
                at,
                format!(
                    "`{}` takes {wanted} argument(s), {given} given",
                    func.name()
                ),
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, InlineError> {
        let Token { tok, pos } = self.advance()?;
        let kind = match tok {
            Tok::Int(v) => Kind::Int(v),
            Tok::Str(s) => Kind::Str(s),
            Tok::True => Kind::Bool(true),
            Tok::False => Kind::Bool(false),
            Tok::Null => Kind::Null,
            Tok::Ident(name) if name == "Math" && self.tok.tok == Tok::Dot => {
                self.advance()?;
                let (fname, at) = self.name_after_dot()?;
                let Some(func) = Func::math(&fname) else {
                    return Err(err(at, format!("unsupported function `Math.{fname}`")));
                };
                let mut args = Vec::new();
                self.call_args(func, at, &mut args)?;
                return node(Kind::Call(func.0, args), at);
            }
            Tok::Ident(name) if self.tok.tok == Tok::LParen => {
                return Err(err(pos, format!("unsupported function `{name}`")));
            }
            Tok::Ident(name) => Kind::Var(name),
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect(Tok::RParen)?;
                return Ok(inner);
            }
            Tok::LBracket => {
                let mut items = Vec::new();
                while self.tok.tok != Tok::RBracket {
                    items.push(self.expr()?);
                    if self.tok.tok != Tok::Comma {
                        break;
                    }
                    self.advance()?;
                }
                self.expect(Tok::RBracket)?;
                Kind::List(items)
            }
            Tok::RBrace | Tok::Eof => {
                return Err(err(
                    pos,
                    format!("expected an expression, found {}", tok.describe()),
                ))
            }
            other => {
                return Err(err(
                    pos,
                    format!("unexpected {}: expected an expression", other.describe()),
                ))
            }
        };
        node(kind, pos)
    }
}
