//! Proxy-side evaluation of expressions over merged aggregates and group
//! keys: select items such as `round(avg(x), 2)` or `sum(a) / count(*)`,
//! HAVING conditions, and ORDER BY expressions. The shards send the
//! aggregates (as derived columns); once a group is merged, [`Expr`] is
//! evaluated on its row with the client dialect's rules.
//!
//! Exactness is the point: the planner only builds what this module can
//! compute digit for digit as the server would (anything else is refused
//! before a shard is asked), and a value this module cannot handle at run
//! time (text in arithmetic, a float in ROUND) is an error, never a guess.
//!
//! The two dialects differ where it shows:
//! - PostgreSQL: int / int truncates; NUMERIC division gets
//!   `select_div_scale` decimals, rounded; division by zero is an error
//!   (SQLSTATE 22012); comparisons give booleans.
//! - MySQL / MariaDB: `/` always gives a DECIMAL shown with the dividend's
//!   decimals plus `div_precision_increment` (4), but kept internally with
//!   more digits (the sum of both inputs' decimals plus 4, rounded up to a
//!   multiple of 9, truncated): `1/3*3` is `1.0000`, not `0.9999`. DIV is
//!   integer division. Division or modulo by zero gives NULL (MariaDB's
//!   default sql_mode warns, it does not fail a SELECT). Comparisons give
//!   1 / 0.
//!
//! What the planner refuses because the answer would depend on what the
//! merge cannot see (`derive::expr`): COALESCE inside arithmetic where its
//! type decides the value (a NULL argument has no type here); on MySQL,
//! AVG inside arithmetic with GROUP BY (MariaDB rounds the average or not
//! depending on its plan) and round(x, n) with n < 0.
//!
//! Types the rows do not carry come from the shards' column descriptions
//! ([`ColumnType`]): PostgreSQL int2 / int4 arithmetic fails at its own
//! width (int4 + int4 is an int4). On MySQL a computed column is shown with
//! the decimals the shards describe it with (the rewrite asks them for its
//! type with `CASE WHEN 1 = 0 THEN expr END`), which is how `COALESCE(SUM(x),
//! 0)` over no rows prints `0.00` although its NULL argument had no scale.
//!
//! Known gaps: exact arithmetic stops at 38
//! digits, where it fails with an overflow instead of rounding; when one
//! side of AND / OR fails and the other decides, the answer is the decided
//! one (the server may have evaluated the failing side first and failed).

use std::cmp::Ordering;
use std::fmt;

use super::collation::Collation;
use super::decimal::Decimal;
use super::error::MergeError;
use super::eval_num::{self as num, Num};
use super::plan::ColumnType;
use super::row::Row;
use super::value::Value;
use crate::Dialect;

/// An expression over the columns of a merged row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A merged column: an aggregate or a group key.
    Column(usize),
    Literal(Literal),
    /// AVG inside an expression: the merged SUM over the merged COUNT, as
    /// the server's own AVG divides (always as NUMERIC / DECIMAL).
    Avg {
        sum: usize,
        count: usize,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `round(x)` (`digits: None`) or `round(x, n)` with a literal n.
    Round {
        expr: Box<Expr>,
        digits: Option<i64>,
    },
    Abs(Box<Expr>),
    Coalesce(Vec<Expr>),
    Cast {
        expr: Box<Expr>,
        to: CastTo,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Null,
    Int(i64),
    /// Shown with its own scale (`1.50` keeps two decimals).
    Decimal(Decimal),
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// MySQL's `DIV`.
    IntDiv,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

/// The CAST targets that can be computed exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastTo {
    /// NUMERIC / DECIMAL, with (precision, scale) when given. PostgreSQL
    /// fails on overflow; MySQL clamps to the largest value that fits.
    Numeric(Option<(u32, u32)>),
    /// INTEGER (32 bits) or BIGINT / SIGNED (64): rounded half away from
    /// zero, an error past the range.
    Integer { bits32: bool },
}

/// What evaluation needs besides the row.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub dialect: Dialect,
    /// How text compares (the client's default collation).
    pub collation: Collation,
    /// For error messages: what is computed (`"HAVING"`, `"expression"`) and
    /// the column it lands in.
    pub what: &'static str,
    pub column: usize,
    /// The shard rows' column types by position (empty: unknown).
    pub types: &'a [ColumnType],
}

impl Context<'_> {
    pub(super) fn overflow(&self) -> MergeError {
        MergeError::Overflow {
            op: self.what,
            column: self.column,
        }
    }

    /// The integer width of what `expr` computes on PostgreSQL: an
    /// operator on two integers yields the wider one; a literal that fits
    /// 32 bits is an int4. 64 where nothing narrower is known.
    fn int_bits(&self, expr: &Expr) -> u8 {
        match expr {
            Expr::Column(c) => self.types.get(*c).and_then(|t| t.int_bits).unwrap_or(64),
            Expr::Literal(Literal::Int(v)) if i32::try_from(*v).is_ok() => 32,
            Expr::Binary { left, right, .. } => self.int_bits(left).max(self.int_bits(right)),
            Expr::Neg(x) | Expr::Abs(x) => self.int_bits(x),
            Expr::Cast {
                to: CastTo::Integer { bits32: true },
                ..
            } => 32,
            Expr::Coalesce(args) => args.iter().map(|a| self.int_bits(a)).max().unwrap_or(64),
            _ => 64,
        }
    }

    /// `v`, an integer `expr` computed in 64 bits, as PostgreSQL's type of
    /// `expr` holds it, or its `out of range` error.
    fn in_width(&self, v: Num, expr: &Expr) -> Result<Num, MergeError> {
        let Num::Int(i) = v else { return Ok(v) };
        if self.dialect == Dialect::MySql {
            return Ok(v);
        }
        let (fits, type_name) = match self.int_bits(expr) {
            16 => (i16::try_from(i).is_ok(), "smallint"),
            32 => (i32::try_from(i).is_ok(), "integer"),
            _ => (true, "bigint"),
        };
        if fits {
            Ok(v)
        } else {
            Err(MergeError::OutOfRange { type_name })
        }
    }

    /// A 64-bit integer result that does not fit: PostgreSQL's own words
    /// for its bigint.
    pub(super) fn int_overflow(&self) -> MergeError {
        match self.dialect {
            Dialect::PostgreSql => MergeError::OutOfRange {
                type_name: "bigint",
            },
            Dialect::MySql => self.overflow(),
        }
    }

    pub(super) fn type_error(&self, detail: String) -> MergeError {
        MergeError::Type {
            op: self.what,
            column: self.column,
            detail,
        }
    }
}

/// The value of `expr` on `row`, as the client would see it (MySQL
/// decimals rounded to the digits the server shows).
pub fn evaluate(expr: &Expr, row: &Row, ctx: &Context) -> Result<Value, MergeError> {
    Ok(eval(expr, row, ctx)?.into_value(ctx.dialect))
}

/// Whether `expr` holds on `row` (HAVING keeps the group): NULL and false
/// do not.
pub fn holds(expr: &Expr, row: &Row, ctx: &Context) -> Result<bool, MergeError> {
    // HAVING a AND b is a list of conditions to the server, which stops at
    // the first that is not true (NULL included): a failing condition
    // matters only if none of the others drops the group.
    if let Expr::Binary {
        op: BinOp::And,
        left,
        right,
    } = expr
    {
        return match (holds(left, row, ctx), holds(right, row, ctx)) {
            (Ok(false), _) | (_, Ok(false)) => Ok(false),
            (Ok(true), Ok(true)) => Ok(true),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }
    match eval(expr, row, ctx)? {
        Num::Null => Ok(false),
        Num::Bool(b) => Ok(b),
        // MySQL's truth is numeric; PostgreSQL would have refused a
        // non-boolean HAVING on the shard, which type-checks it.
        Num::Int(i) => Ok(i != 0),
        Num::Dec { d, .. } => Ok(!d.is_zero()),
        Num::Float(f) => Ok(f != 0.0),
        Num::Other(v) => Err(ctx.type_error(format!("{v:?} is not a truth value"))),
    }
}

fn eval(expr: &Expr, row: &Row, ctx: &Context) -> Result<Num, MergeError> {
    let mysql = ctx.dialect == Dialect::MySql;
    Ok(match expr {
        Expr::Column(c) => Num::from_value(row.get(*c)),
        Expr::Literal(l) => match l {
            Literal::Null => Num::Null,
            Literal::Int(i) => Num::Int(*i),
            Literal::Decimal(d) => Num::dec(*d),
            Literal::Text(s) => Num::Other(Value::Text(s.clone())),
            Literal::Bool(b) => Num::Bool(*b),
        },
        Expr::Avg { sum, count } => {
            let (sum, count) = (
                Num::from_value(row.get(*sum)),
                Num::from_value(row.get(*count)),
            );
            match (&sum, &count) {
                // AVG over no rows (or only NULLs) is NULL, not 0 / 0.
                (Num::Null, _) | (_, Num::Null) => Num::Null,
                (_, Num::Int(0)) => Num::Null,
                (Num::Float(_), _) => num::arith(BinOp::Div, sum, count, ctx)?,
                // MySQL keeps the quotient's hidden digits, as its `/`
                // does (see the planner for where it does not).
                _ => num::numeric_div(sum, count, ctx)?,
            }
        }
        Expr::Neg(e) => ctx.in_width(num::neg(eval(e, row, ctx)?, ctx)?, expr)?,
        Expr::Not(e) => match truth(eval(e, row, ctx)?, ctx)? {
            None => Num::Null,
            Some(b) => Num::boolean(!b, mysql),
        },
        Expr::IsNull { expr, negated } => {
            let null = matches!(eval(expr, row, ctx)?, Num::Null);
            Num::boolean(null != *negated, mysql)
        }
        Expr::Binary { op, left, right } => match op {
            BinOp::And | BinOp::Or => {
                // Three-valued: false decides AND, true decides OR. A side
                // that fails (PostgreSQL's division by zero) is an error
                // only if the other side does not decide: the server may
                // evaluate the sides in either order (PostgreSQL orders
                // HAVING conditions by cost) and stops at a deciding one.
                let decided = *op == BinOp::Or;
                let l = eval(left, row, ctx).and_then(|v| truth(v, ctx));
                if matches!(l, Ok(Some(x)) if x == decided) {
                    return Ok(Num::boolean(decided, mysql));
                }
                let r = eval(right, row, ctx).and_then(|v| truth(v, ctx));
                if matches!(r, Ok(Some(x)) if x == decided) {
                    return Ok(Num::boolean(decided, mysql));
                }
                match (l?, r?) {
                    (Some(_), Some(_)) => Num::boolean(!decided, mysql),
                    _ => Num::Null,
                }
            }
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => {
                let (l, r) = (eval(left, row, ctx)?, eval(right, row, ctx)?);
                match compare(&l, &r, ctx)? {
                    None => Num::Null,
                    Some(ord) => Num::boolean(
                        match op {
                            BinOp::Eq => ord.is_eq(),
                            BinOp::NotEq => ord.is_ne(),
                            BinOp::Lt => ord.is_lt(),
                            BinOp::LtEq => ord.is_le(),
                            BinOp::Gt => ord.is_gt(),
                            _ => ord.is_ge(),
                        },
                        mysql,
                    ),
                }
            }
            _ => ctx.in_width(
                num::arith(*op, eval(left, row, ctx)?, eval(right, row, ctx)?, ctx)?,
                expr,
            )?,
        },
        Expr::Round { expr, digits } => num::round(eval(expr, row, ctx)?, *digits, ctx)?,
        Expr::Abs(e) => match eval(e, row, ctx)? {
            Num::Int(i) => ctx.in_width(
                Num::Int(i.checked_abs().ok_or_else(|| ctx.int_overflow())?),
                expr,
            )?,
            Num::Dec { d, shown } if d < Decimal::from(0) => Num::Dec {
                d: d.checked_neg().ok_or_else(|| ctx.overflow())?,
                shown,
            },
            Num::Float(f) => Num::Float(f.abs()),
            n @ (Num::Null | Num::Dec { .. }) => n,
            other => return Err(ctx.type_error(format!("abs of {other:?}"))),
        },
        Expr::Coalesce(args) if mysql => {
            // MySQL types COALESCE by all its arguments: a DECIMAL among
            // them makes an integer answer a DECIMAL with the most decimals
            // any argument shows (a NULL argument's are not seen here: at
            // the top, the column's own decimals are applied after, see
            // `post`; inside arithmetic the planner refuses it).
            let mut first = None;
            let mut decimals: Option<u32> = None;
            for a in args {
                let v = eval(a, row, ctx)?;
                if let Num::Dec { shown, .. } = v {
                    decimals = Some(decimals.map_or(shown, |d| d.max(shown)));
                }
                if first.is_none() && !matches!(v, Num::Null) {
                    first = Some(v);
                }
            }
            match (first, decimals) {
                (Some(Num::Int(i)), Some(shown)) => Num::Dec {
                    d: Decimal::from(i),
                    shown,
                },
                (Some(Num::Dec { d, .. }), Some(shown)) => Num::Dec { d, shown },
                (Some(v), _) => v,
                (None, _) => Num::Null,
            }
        }
        Expr::Coalesce(args) => {
            // PostgreSQL stops at the first non-NULL argument (later ones
            // are not evaluated, so cannot fail).
            for a in args {
                let v = eval(a, row, ctx)?;
                if !matches!(v, Num::Null) {
                    return Ok(v);
                }
            }
            Num::Null
        }
        Expr::Cast { expr, to } => num::cast(eval(expr, row, ctx)?, *to, ctx)?,
    })
}

/// A value as a truth value: `None` for NULL.
fn truth(v: Num, ctx: &Context) -> Result<Option<bool>, MergeError> {
    Ok(match v {
        Num::Null => None,
        Num::Bool(b) => Some(b),
        Num::Int(i) if ctx.dialect == Dialect::MySql => Some(i != 0),
        Num::Dec { d, .. } if ctx.dialect == Dialect::MySql => Some(!d.is_zero()),
        other => return Err(ctx.type_error(format!("{other:?} is not a truth value"))),
    })
}

/// SQL comparison; `None` when either side is NULL.
fn compare(l: &Num, r: &Num, ctx: &Context) -> Result<Option<Ordering>, MergeError> {
    if matches!(l, Num::Null) || matches!(r, Num::Null) {
        return Ok(None);
    }
    let (a, b) = (
        l.clone().into_value(Dialect::PostgreSql),
        r.clone().into_value(Dialect::PostgreSql),
    );
    // Numbers with numbers, text with text, dates with dates: anything
    // else would need the server's implicit casts, which differ.
    if a.rank() != b.rank() {
        return Err(ctx.type_error(format!("cannot compare {a:?} with {b:?}")));
    }
    Ok(Some(a.sql_cmp_in(&b, ctx.collation)))
}

impl fmt::Display for Expr {
    /// SQL-like, with `#n` for the merged row's columns (for plans shown to
    /// people: golden files, `shardctl preview`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => write!(f, "#{c}"),
            Expr::Literal(l) => match l {
                Literal::Null => f.write_str("NULL"),
                Literal::Int(i) => write!(f, "{i}"),
                Literal::Decimal(d) => write!(f, "{d}"),
                Literal::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
                Literal::Bool(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
            },
            Expr::Avg { sum, count } => write!(f, "avg(#{sum} / #{count})"),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::IsNull { expr, negated } => {
                write!(f, "({expr}) IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::Binary { op, left, right } => {
                let op = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    BinOp::IntDiv => "DIV",
                    BinOp::Mod => "%",
                    BinOp::Eq => "=",
                    BinOp::NotEq => "<>",
                    BinOp::Lt => "<",
                    BinOp::LtEq => "<=",
                    BinOp::Gt => ">",
                    BinOp::GtEq => ">=",
                    BinOp::And => "AND",
                    BinOp::Or => "OR",
                };
                write!(f, "({left} {op} {right})")
            }
            Expr::Round { expr, digits: None } => write!(f, "round({expr})"),
            Expr::Round {
                expr,
                digits: Some(n),
            } => write!(f, "round({expr}, {n})"),
            Expr::Abs(e) => write!(f, "abs({e})"),
            Expr::Coalesce(args) => {
                let args: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "coalesce({})", args.join(", "))
            }
            Expr::Cast { expr, to } => match to {
                CastTo::Numeric(None) => write!(f, "CAST({expr} AS NUMERIC)"),
                CastTo::Numeric(Some((p, s))) => write!(f, "CAST({expr} AS NUMERIC({p},{s}))"),
                CastTo::Integer { bits32: true } => write!(f, "CAST({expr} AS INTEGER)"),
                CastTo::Integer { bits32: false } => write!(f, "CAST({expr} AS BIGINT)"),
            },
        }
    }
}

impl Expr {
    /// Every column the expression reads.
    pub fn columns(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Column(c) => out.push(*c),
            Expr::Avg { sum, count } => out.extend([*sum, *count]),
            Expr::Literal(_) => {}
            Expr::Neg(e) | Expr::Not(e) | Expr::Abs(e) => e.columns(out),
            Expr::IsNull { expr, .. } | Expr::Round { expr, .. } | Expr::Cast { expr, .. } => {
                expr.columns(out)
            }
            Expr::Binary { left, right, .. } => {
                left.columns(out);
                right.columns(out);
            }
            Expr::Coalesce(args) => args.iter().for_each(|a| a.columns(out)),
        }
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
