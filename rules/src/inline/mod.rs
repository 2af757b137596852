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
//! Filled in by the inline-expression work; this file fixes the API.

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
