//! Inline expressions as ShardingSphere writes them, with our own small
//! parser and evaluator (no scripting engine):
//!
//! - data-node templates: `ds_${0..1}.t_order_${0..3}`, `${['a','b']}`,
//!   `$->{...}`, several segments multiplied out, several templates joined by
//!   top-level commas;
//! - algorithm expressions: `t_order_${order_id % 4}`, with integer
//!   arithmetic, string concatenation, comparisons and the ternary operator.
//!
//! # Layout
//! - `lexer`: characters to tokens inside `${ }`.
//! - `parser`: tokens to an expression tree; templates to segments.
//! - `eval`: evaluating a tree against variable bindings.
//!
//! Positions in errors are character (not byte) offsets in the whole text.
//!
//! # Where this differs from Groovy
//! Each difference turns a silently different name into an error, or is
//! what ShardingSphere itself does:
//! - every integer is an i64: `/` truncates (Groovy gives a decimal),
//!   overflow is an error (Groovy's `int` wraps), so `Math.abs` of
//!   `Integer.MIN_VALUE` is 2147483648 rather than Java's negative value;
//! - lists and ranges inside a list are spliced in: `[0..1, 5]` is 0, 1, 5;
//! - a value repeated within one segment is expanded once (ShardingSphere
//!   collects each segment's values into a set);
//! - `{` or `}` outside a segment, `${` inside a double-quoted string
//!   literal, and any method or function not listed in `parser` are errors.

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use eval::{eval, write_scalar, Val, MAX_VALUES};
use parser::{parse_templates, Segment, Template};

/// A value inside an inline expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Str(String),
    Bool(bool),
    /// A range `0..3` or a list `['a', 'b']`: a segment that yields several
    /// strings, multiplied out with the other segments of its template.
    List(Vec<Value>),
}

/// A parse or evaluation error, pointing at the character offset (from 0) in
/// the expression text where it was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("inline expression `{expr}`: {message} (at character {position})")]
pub struct InlineError {
    pub expr: String,
    pub position: usize,
    pub message: String,
}

pub(crate) fn err(position: usize, message: impl Into<String>) -> InlineError {
    // The text is attached once, at the public entry points.
    InlineError {
        expr: String::new(),
        position,
        message: message.into(),
    }
}

/// A compiled inline expression: a template of literal text and `${...}` /
/// `$->{...}` segments, possibly several templates joined by top-level commas.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineExpr {
    text: String,
    parts: Vec<Template>,
}

impl InlineExpr {
    pub fn parse(text: &str) -> Result<InlineExpr, InlineError> {
        let chars: Vec<char> = text.chars().collect();
        let parts = parse_templates(&chars).map_err(|e| located(text, e))?;
        Ok(InlineExpr {
            text: text.to_owned(),
            parts,
        })
    }

    /// The original text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Expand a template that uses no variables into every string it denotes
    /// (actualDataNodes, actualDataSources): segments yielding lists are
    /// multiplied out, first segment varying slowest; top-level
    /// comma-separated parts are concatenated in order.
    /// `ds_${0..1}.t_${0..1}` -> [ds_0.t_0, ds_0.t_1, ds_1.t_0, ds_1.t_1].
    /// Whitespace around top-level parts is trimmed; empty text expands to
    /// nothing. As in ShardingSphere, a value repeated within one segment is
    /// taken once (`${[0, 0, 1]}` is 0, 1).
    pub fn expand(&self) -> Result<Vec<String>, InlineError> {
        let mut out = Vec::new();
        for part in &self.parts {
            let choices = part
                .segments
                .iter()
                .map(segment_choices)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.located(e))?;
            let count = choices
                .iter()
                .try_fold(1usize, |n, c| n.checked_mul(c.len()))
                .filter(|n| n.saturating_add(out.len()) <= MAX_VALUES);
            match count {
                // An empty list anywhere makes the part denote nothing; stop
                // before the other segments' products are built.
                Some(0) => continue,
                Some(n) => out.reserve(n),
                None => {
                    return Err(self.located(err(
                        part.start,
                        format!("expands to more than {MAX_VALUES} names"),
                    )))
                }
            }
            // Every choice list is non-empty here, so the prefixes never
            // outnumber the final product.
            let mut names = vec![String::new()];
            for options in &choices {
                names = names
                    .iter()
                    .flat_map(|prefix| options.iter().map(move |o| format!("{prefix}{o}")))
                    .collect();
            }
            out.extend(names);
        }
        Ok(out)
    }

    /// Evaluate with variable bindings to exactly one string (algorithm
    /// expressions such as `t_order_${order_id % 4}`). A segment yielding a
    /// list, an unbound variable, empty text or several top-level parts is
    /// an error.
    pub fn eval_one(&self, vars: &[(&str, Value)]) -> Result<String, InlineError> {
        let part = match self.parts.as_slice() {
            [part] => part,
            [] => return Err(self.located(err(0, "empty expression"))),
            [_, second, ..] => {
                return Err(self.located(err(
                    second.start.saturating_sub(1),
                    "a top-level `,` lists several names; one is expected here",
                )))
            }
        };
        let mut out = String::with_capacity(part.literal_len + 20);
        for segment in &part.segments {
            match segment {
                Segment::Lit(text) => out.push_str(text),
                Segment::Expr(expr) => {
                    let value = eval(expr, vars).map_err(|e| self.located(e))?;
                    write_scalar(&mut out, &value).map_err(|n| {
                        self.located(err(
                            expr.pos,
                            format!("yields a list of {n} values where one is expected"),
                        ))
                    })?;
                }
            }
        }
        Ok(out)
    }

    /// Names of the variables the expression refers to, deduplicated, in
    /// first-use order.
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for part in &self.parts {
            for segment in &part.segments {
                if let Segment::Expr(expr) = segment {
                    expr.for_each_var(&mut |name| {
                        if !names.iter().any(|n| n == name) {
                            names.push(name.to_owned());
                        }
                    });
                }
            }
        }
        names
    }

    fn located(&self, e: InlineError) -> InlineError {
        located(&self.text, e)
    }
}

fn located(text: &str, e: InlineError) -> InlineError {
    InlineError {
        expr: text.to_owned(),
        ..e
    }
}

/// The strings one segment contributes to `expand`, duplicates dropped.
fn segment_choices(segment: &Segment) -> Result<Vec<String>, InlineError> {
    let expr = match segment {
        Segment::Lit(text) => return Ok(vec![text.clone()]),
        Segment::Expr(expr) => expr,
    };
    let mut out = Vec::new();
    match eval(expr, &[])? {
        Val::List(items) => {
            for item in &items {
                out.push(scalar(item, expr.pos)?);
            }
        }
        v => out.push(scalar(&v, expr.pos)?),
    }
    if out.len() > 1 {
        let mut seen = HashSet::with_capacity(out.len());
        out.retain(|text| seen.insert(text.clone()));
    }
    Ok(out)
}

fn scalar(value: &Val<'_>, pos: usize) -> Result<String, InlineError> {
    let mut text = String::new();
    // `eval` keeps lists flat, so this only fails on a Shardwire bug.
    write_scalar(&mut text, value).map_err(|_| err(pos, "internal error: nested list"))?;
    Ok(text)
}

/// Shorthand: parse then expand.
pub fn expand(text: &str) -> Result<Vec<String>, InlineError> {
    InlineExpr::parse(text)?.expand()
}
