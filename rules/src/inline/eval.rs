//! Evaluating an expression tree against variable bindings.
//!
//! Values borrow from the tree and the bindings wherever they can (`Cow`),
//! so routing with `t_order_${order_id % 4}` allocates nothing but the
//! result string.
//!
//! Semantics are Java's / Groovy's where they differ from Rust's, except
//! that every integer is an i64: Groovy's `7 / 2` is the decimal 3.5, ours is
//! the truncating 3 (we only support integer arithmetic), and Groovy's
//! silently wrapping `int` arithmetic is a checked i64 here.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write;

use super::parser::{BinOp, Expr, Func, Kind};
use super::{err, InlineError, Value};

/// Most values one range or list may hold, and most strings one `expand`
/// may produce: far above any real topology, low enough that `${0..10**18}`
/// in a config is an error instead of an out-of-memory abort.
pub(crate) const MAX_VALUES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Str(Cow<'a, str>),
    /// Always flat: ranges and lists inside lists are spliced in.
    List(Vec<Val<'a>>),
}

impl Val<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Int(_) => "integer",
            Val::Bool(_) => "boolean",
            Val::Str(_) => "string",
            Val::List(_) => "list",
        }
    }

    /// Groovy truth, as `if`, `!`, `&&`, `||` and `?:` apply it.
    fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Int(v) => *v != 0,
            Val::Bool(b) => *b,
            Val::Str(s) => !s.is_empty(),
            Val::List(items) => !items.is_empty(),
        }
    }
}

fn from_value(value: &Value) -> Val<'_> {
    match value {
        Value::Null => Val::Null,
        Value::Int(v) => Val::Int(*v),
        Value::Bool(b) => Val::Bool(*b),
        Value::Str(s) => Val::Str(Cow::Borrowed(s)),
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match from_value(item) {
                    Val::List(inner) => out.extend(inner),
                    v => out.push(v),
                }
            }
            Val::List(out)
        }
    }
}

/// Appends the text form of a single value, as a GString would print it.
/// Lists have no single text form here; the caller decides what that means.
pub(crate) fn write_scalar(out: &mut String, value: &Val<'_>) -> Result<(), usize> {
    match value {
        Val::Null => out.push_str("null"),
        // Writing into a String cannot fail; the fmt::Result carries nothing.
        Val::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Str(s) => out.push_str(s),
        Val::List(items) => return Err(items.len()),
    }
    Ok(())
}

fn scalar_text(value: &Val<'_>, pos: usize) -> Result<String, InlineError> {
    let mut out = String::new();
    write_scalar(&mut out, value)
        .map_err(|_| err(pos, "a list cannot be used as a single string"))?;
    Ok(out)
}

pub(crate) fn eval<'a>(expr: &'a Expr, vars: &'a [(&str, Value)]) -> Result<Val<'a>, InlineError> {
    let pos = expr.pos;
    Ok(match &expr.kind {
        Kind::Null => Val::Null,
        Kind::Int(v) => Val::Int(*v),
        Kind::Bool(b) => Val::Bool(*b),
        Kind::Str(s) => Val::Str(Cow::Borrowed(s)),
        Kind::Var(name) => match vars.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => from_value(value),
            None => return Err(err(pos, format!("unknown variable `{name}`"))),
        },
        Kind::Neg(operand) => match eval(operand, vars)? {
            Val::Int(v) => Val::Int(v.checked_neg().ok_or_else(|| overflow(pos, "-"))?),
            other => return Err(err(pos, format!("cannot negate a {}", other.type_name()))),
        },
        Kind::Not(operand) => Val::Bool(!eval(operand, vars)?.truthy()),
        Kind::Binary(BinOp::And, a, b) => {
            Val::Bool(eval(a, vars)?.truthy() && eval(b, vars)?.truthy())
        }
        Kind::Binary(BinOp::Or, a, b) => {
            Val::Bool(eval(a, vars)?.truthy() || eval(b, vars)?.truthy())
        }
        Kind::Binary(op, a, b) => binary(*op, eval(a, vars)?, eval(b, vars)?, pos)?,
        Kind::Ternary(cond, then, otherwise) => {
            if eval(cond, vars)?.truthy() {
                eval(then, vars)?
            } else {
                eval(otherwise, vars)?
            }
        }
        Kind::Range {
            from,
            to,
            exclusive,
        } => range(eval(from, vars)?, eval(to, vars)?, *exclusive, pos)?,
        Kind::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match eval(item, vars)? {
                    Val::List(inner) => out.extend(inner),
                    v => out.push(v),
                }
                if out.len() > MAX_VALUES {
                    return Err(too_many(pos));
                }
            }
            Val::List(out)
        }
        Kind::Call(func, args) => call(*func, args, vars, pos)?,
    })
}

fn overflow(pos: usize, op: &str) -> InlineError {
    err(pos, format!("integer overflow in `{op}`"))
}

fn too_many(pos: usize) -> InlineError {
    err(pos, format!("more than {MAX_VALUES} values"))
}

fn ints(op: BinOp, a: &Val<'_>, b: &Val<'_>, pos: usize) -> Result<(i64, i64), InlineError> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Ok((*x, *y)),
        _ => Err(err(
            pos,
            format!(
                "`{}` needs two integers, found {} and {}",
                op.symbol(),
                a.type_name(),
                b.type_name()
            ),
        )),
    }
}

fn binary<'a>(op: BinOp, a: Val<'a>, b: Val<'a>, pos: usize) -> Result<Val<'a>, InlineError> {
    let checked = |r: Option<i64>| r.map(Val::Int).ok_or_else(|| overflow(pos, op.symbol()));
    match op {
        BinOp::Add if matches!(a, Val::Str(_)) || matches!(b, Val::Str(_)) => {
            let mut out = match a {
                Val::Str(s) => s.into_owned(),
                other => scalar_text(&other, pos)?,
            };
            write_scalar(&mut out, &b)
                .map_err(|_| err(pos, "cannot concatenate a list to a string"))?;
            Ok(Val::Str(Cow::Owned(out)))
        }
        BinOp::Add => {
            let (x, y) = ints(op, &a, &b, pos)?;
            checked(x.checked_add(y))
        }
        BinOp::Sub => {
            let (x, y) = ints(op, &a, &b, pos)?;
            checked(x.checked_sub(y))
        }
        BinOp::Mul => {
            let (x, y) = ints(op, &a, &b, pos)?;
            checked(x.checked_mul(y))
        }
        BinOp::Div => match ints(op, &a, &b, pos)? {
            (_, 0) => Err(err(pos, "division by zero")),
            (x, y) => checked(x.checked_div(y)),
        },
        // Rust's `%` already takes the dividend's sign, as Java's does; and
        // Java's `Long.MIN_VALUE % -1` is 0, which is what wrapping_rem gives.
        BinOp::Rem => match ints(op, &a, &b, pos)? {
            (_, 0) => Err(err(pos, "modulo by zero")),
            (x, y) => Ok(Val::Int(x.wrapping_rem(y))),
        },
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (&a, &b) {
                (Val::Int(x), Val::Int(y)) => x.cmp(y),
                // Java's compareTo orders by UTF-16 code units, not by chars.
                (Val::Str(x), Val::Str(y)) => x.encode_utf16().cmp(y.encode_utf16()),
                _ => {
                    return Err(err(
                        pos,
                        format!("cannot compare {} with {}", a.type_name(), b.type_name()),
                    ))
                }
            };
            Ok(Val::Bool(match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        BinOp::Eq => Ok(Val::Bool(a == b)),
        BinOp::Ne => Ok(Val::Bool(a != b)),
        // Short-circuited in `eval` before both sides are evaluated.
        BinOp::And | BinOp::Or => Ok(Val::Bool(match op {
            BinOp::And => a.truthy() && b.truthy(),
            _ => a.truthy() || b.truthy(),
        })),
    }
}

fn single_char(value: &Val<'_>) -> Option<char> {
    let Val::Str(s) = value else { return None };
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// Groovy ranges: inclusive, descending when `from > to` (`3..1` is 3, 2, 1);
/// `..<` drops the `to` end.
fn range<'a>(
    from: Val<'a>,
    to: Val<'a>,
    exclusive: bool,
    pos: usize,
) -> Result<Val<'a>, InlineError> {
    fn count(from: i64, to: i64) -> u64 {
        (i128::from(to) - i128::from(from)).unsigned_abs() as u64 + 1
    }
    fn check(n: u64, pos: usize) -> Result<(), InlineError> {
        if n > MAX_VALUES as u64 {
            return Err(err(pos, format!("range of {n} values is too large")));
        }
        Ok(())
    }
    let mut items: Vec<Val<'a>> = match (&from, &to) {
        (Val::Int(a), Val::Int(b)) => {
            let (a, b) = (*a, *b);
            check(count(a, b), pos)?;
            if a <= b {
                (a..=b).map(Val::Int).collect()
            } else {
                (b..=a).rev().map(Val::Int).collect()
            }
        }
        _ => match (single_char(&from), single_char(&to)) {
            (Some(a), Some(b)) => {
                // Over-counts across the surrogate gap, which only makes the
                // bound slightly stricter.
                check(count(i64::from(u32::from(a)), i64::from(u32::from(b))), pos)?;
                let text = |c: char| Val::Str(Cow::Owned(c.to_string()));
                if a <= b {
                    (a..=b).map(text).collect()
                } else {
                    (b..=a).rev().map(text).collect()
                }
            }
            _ => {
                return Err(err(
                    pos,
                    format!(
                        "range ends must be two integers or two single characters, found {} and {}",
                        from.type_name(),
                        to.type_name()
                    ),
                ))
            }
        },
    };
    if exclusive {
        items.pop();
    }
    Ok(Val::List(items))
}

/// Java's `hashCode` as Groovy would call it: `Integer.hashCode` for values
/// that fit an int (Groovy boxes those as Integer), `Long.hashCode` beyond.
fn java_int_hash(v: i64) -> i64 {
    match i32::try_from(v) {
        Ok(small) => i64::from(small),
        Err(_) => i64::from((v ^ ((v as u64) >> 32) as i64) as i32),
    }
}

fn java_string_hash(s: &str) -> i64 {
    let h = s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    i64::from(h)
}

fn call<'a>(
    func: Func,
    args: &'a [Expr],
    vars: &'a [(&str, Value)],
    pos: usize,
) -> Result<Val<'a>, InlineError> {
    // The parser checked the argument counts; an absent one is our bug.
    let arg = |i: usize| match args.get(i) {
        Some(e) => eval(e, vars),
        None => Err(err(
            pos,
            format!("internal error: `{}` lacks argument {i}", func.name()),
        )),
    };
    let int_arg = |i: usize| match arg(i)? {
        Val::Int(v) => Ok(v),
        other => Err(err(
            pos,
            format!(
                "`{}` needs an integer, found {}",
                func.name(),
                other.type_name()
            ),
        )),
    };
    let unsupported = |v: &Val<'_>| {
        err(
            pos,
            format!("`{}` is not supported on a {}", func.name(), v.type_name()),
        )
    };
    Ok(match func {
        Func::HashCode => match arg(0)? {
            Val::Int(v) => Val::Int(java_int_hash(v)),
            Val::Str(s) => Val::Int(java_string_hash(&s)),
            // Boolean.hashCode
            Val::Bool(b) => Val::Int(if b { 1231 } else { 1237 }),
            other => return Err(unsupported(&other)),
        },
        Func::Abs | Func::MathAbs => match arg(0)? {
            Val::Int(v) => Val::Int(v.checked_abs().ok_or_else(|| overflow(pos, func.name()))?),
            other => return Err(unsupported(&other)),
        },
        Func::ToStr => match arg(0)? {
            s @ Val::Str(_) => s,
            other => Val::Str(Cow::Owned(scalar_text(&other, pos)?)),
        },
        Func::Length => match arg(0)? {
            Val::Str(s) => Val::Int(s.chars().count() as i64),
            other => return Err(unsupported(&other)),
        },
        Func::Size => match arg(0)? {
            Val::Str(s) => Val::Int(s.chars().count() as i64),
            Val::List(items) => Val::Int(items.len() as i64),
            other => return Err(unsupported(&other)),
        },
        Func::ToInteger => match arg(0)? {
            v @ Val::Int(_) => v,
            Val::Str(s) => Val::Int(
                s.parse()
                    .map_err(|_| err(pos, format!("cannot convert `{s}` to an integer")))?,
            ),
            other => return Err(unsupported(&other)),
        },
        Func::Substring => {
            let s = match arg(0)? {
                Val::Str(s) => s,
                other => return Err(unsupported(&other)),
            };
            let len = s.chars().count() as i64;
            let begin = int_arg(1)?;
            let end = if args.len() > 2 { int_arg(2)? } else { len };
            if begin < 0 || end > len || begin > end {
                return Err(err(
                    pos,
                    format!("substring({begin}, {end}) is out of range for a string of {len} characters"),
                ));
            }
            Val::Str(char_slice(s, begin as usize, end as usize))
        }
        Func::MathFloorMod => {
            let (x, y) = (int_arg(0)?, int_arg(1)?);
            if y == 0 {
                return Err(err(pos, "modulo by zero"));
            }
            let r = x.wrapping_rem(y);
            // |r| < |y| with opposite signs, so the sum cannot overflow.
            Val::Int(if r != 0 && (r ^ y) < 0 { r + y } else { r })
        }
        Func::MathMax => Val::Int(int_arg(0)?.max(int_arg(1)?)),
        Func::MathMin => Val::Int(int_arg(0)?.min(int_arg(1)?)),
    })
}

/// Characters `begin..end` (checked by the caller), borrowing when the
/// string itself is borrowed.
fn char_slice(s: Cow<'_, str>, begin: usize, end: usize) -> Cow<'_, str> {
    let byte = |n: usize| s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    let (b, e) = (byte(begin), byte(end));
    match s {
        Cow::Borrowed(text) => Cow::Borrowed(text.get(b..e).unwrap_or_default()),
        Cow::Owned(ref text) => Cow::Owned(text.get(b..e).unwrap_or_default().to_owned()),
    }
}
