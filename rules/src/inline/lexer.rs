//! Characters to tokens inside one `${ ... }` segment. The lexer is pulled
//! one token at a time by the parser, so the closing `}` ends the segment
//! exactly where the grammar says, even when a string literal contains `}`.

use super::{err, InlineError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Str(String),
    Ident(String),
    True,
    False,
    Null,
    As,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Bang,
    Question,
    Colon,
    DotDot,
    DotDotLt,
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    RBrace,
    Eof,
}

impl Tok {
    /// How the token is spelled, for "unexpected ..." messages.
    pub(crate) fn describe(&self) -> String {
        let s = match self {
            Tok::Int(v) => return format!("`{v}`"),
            Tok::Str(_) => return "string literal".to_owned(),
            Tok::Ident(name) => return format!("`{name}`"),
            Tok::Eof => return "end of text".to_owned(),
            Tok::True => "true",
            Tok::False => "false",
            Tok::Null => "null",
            Tok::As => "as",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::Question => "?",
            Tok::Colon => ":",
            Tok::DotDot => "..",
            Tok::DotDotLt => "..<",
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::RBrace => "}",
        };
        format!("`{s}`")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// Character offset of the token's first character in the whole text.
    pub(crate) pos: usize,
}

#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(chars: &'a [char], pos: usize) -> Self {
        Lexer { chars, pos }
    }

    /// Offset just past the last token returned.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, InlineError> {
        while self.peek_at(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek_at(0) else {
            return Ok(Token {
                tok: Tok::Eof,
                pos: start,
            });
        };
        let next = self.peek_at(1);
        let (tok, len) = match c {
            '0'..='9' => return self.number(start),
            '\'' | '"' => return self.string(start, c),
            c if is_ident_start(c) => return Ok(self.ident(start)),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            '%' => (Tok::Percent, 1),
            '<' if next == Some('=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '=' if next == Some('=') => (Tok::EqEq, 2),
            '!' if next == Some('=') => (Tok::Ne, 2),
            '!' => (Tok::Bang, 1),
            '&' if next == Some('&') => (Tok::AndAnd, 2),
            '|' if next == Some('|') => (Tok::OrOr, 2),
            '?' => (Tok::Question, 1),
            ':' => (Tok::Colon, 1),
            '.' if next == Some('.') && self.peek_at(2) == Some('<') => (Tok::DotDotLt, 3),
            '.' if next == Some('.') => (Tok::DotDot, 2),
            '.' => (Tok::Dot, 1),
            ',' => (Tok::Comma, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '}' => (Tok::RBrace, 1),
            '=' => return Err(err(start, "assignment is not supported (use `==`)")),
            '{' => return Err(err(start, "closures are not supported: unexpected `{`")),
            other => return Err(err(start, format!("unexpected character `{other}`"))),
        };
        self.pos += len;
        Ok(Token { tok, pos: start })
    }

    fn number(&mut self, start: usize) -> Result<Token, InlineError> {
        let mut value: i64 = 0;
        while let Some(d) = self.peek_at(0).and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(d)))
                .ok_or_else(|| err(start, "integer literal does not fit in 64 bits"))?;
            self.pos += 1;
        }
        // Groovy's long suffix; it changes nothing here since every integer is an i64.
        if matches!(self.peek_at(0), Some('L' | 'l')) && !self.peek_at(1).is_some_and(is_ident_char)
        {
            self.pos += 1;
        }
        match self.peek_at(0) {
            Some('.') if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => Err(err(
                start,
                "decimal numbers are not supported, only integers",
            )),
            Some(c) if is_ident_char(c) => Err(err(start, "invalid number")),
            _ => Ok(Token {
                tok: Tok::Int(value),
                pos: start,
            }),
        }
    }

    fn string(&mut self, start: usize, quote: char) -> Result<Token, InlineError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_at(0) else {
                return Err(err(start, "unterminated string literal"));
            };
            self.pos += 1;
            match c {
                c if c == quote => break,
                '\\' => {
                    let escaped = match self.peek_at(0) {
                        Some('\'') => '\'',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('$') => '$',
                        Some(other) => {
                            return Err(err(
                                self.pos - 1,
                                format!("unknown escape `\\{other}` in string literal"),
                            ))
                        }
                        None => return Err(err(start, "unterminated string literal")),
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                // Groovy would interpolate here; silently taking it literally would
                // give a different table name than ShardingSphere does.
                '$' if quote == '"' && self.peek_at(0) == Some('{') => {
                    return Err(err(
                        self.pos - 1,
                        "`${` inside a double-quoted string is not supported (use `+` or `\\$`)",
                    ))
                }
                c => out.push(c),
            }
        }
        Ok(Token {
            tok: Tok::Str(out),
            pos: start,
        })
    }

    fn ident(&mut self, start: usize) -> Token {
        while self.peek_at(0).is_some_and(is_ident_char) {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        let tok = match word.as_str() {
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "as" => Tok::As,
            _ => Tok::Ident(word),
        };
        Token { tok, pos: start }
    }
}
