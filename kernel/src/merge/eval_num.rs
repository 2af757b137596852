//! The numbers of `eval`: one value during evaluation, and the arithmetic of
//! each dialect on it (see the `eval` module doc for the rules).

use super::decimal::Decimal;
use super::error::MergeError;
use super::eval::{BinOp, CastTo, Context};
use super::value::Value;
use crate::Dialect;

/// MariaDB's `div_precision_increment` default.
const MYSQL_DIV_INCREMENT: u32 = 4;
/// MariaDB's largest number of decimals (DECIMAL_MAX_SCALE).
const MYSQL_MAX_SCALE: u32 = 38;
/// MariaDB computes decimals in words of nine digits.
const MYSQL_WORD_DIGITS: u32 = 9;

/// A value during evaluation. `shown` is the number of decimals the client
/// sees: MySQL keeps more internally (its quotients); PostgreSQL shows
/// what it keeps, so there `shown` is the scale.
#[derive(Debug, Clone)]
pub(super) enum Num {
    Null,
    Int(i64),
    Dec {
        d: Decimal,
        shown: u32,
    },
    Float(f64),
    Bool(bool),
    /// Text, dates: compared, never computed with.
    Other(Value),
}

impl Num {
    pub(super) fn from_value(v: &Value) -> Num {
        match v {
            Value::Null => Num::Null,
            Value::Int(i) => Num::Int(*i),
            Value::Decimal(d) => Num::dec(*d),
            Value::Float(f) => Num::Float(*f),
            Value::Bool(b) => Num::Bool(*b),
            other => Num::Other(other.clone()),
        }
    }

    pub(super) fn dec(d: Decimal) -> Num {
        Num::Dec {
            d,
            shown: d.scale(),
        }
    }

    /// A comparison's result: MySQL has no boolean type, 1 or 0 instead.
    pub(super) fn boolean(b: bool, mysql: bool) -> Num {
        if mysql {
            Num::Int(i64::from(b))
        } else {
            Num::Bool(b)
        }
    }

    pub(super) fn into_value(self, dialect: Dialect) -> Value {
        match self {
            Num::Null => Value::Null,
            Num::Int(i) => Value::Int(i),
            Num::Dec { d, shown } => Value::Decimal(match dialect {
                // Rounded half away from zero to the shown decimals, as the
                // server prints it; a value too wide for that stays as is.
                Dialect::MySql => d.round_to(i64::from(shown)).unwrap_or(d),
                Dialect::PostgreSql => d,
            }),
            Num::Float(f) => Value::Float(f),
            Num::Bool(b) => Value::Bool(b),
            Num::Other(v) => v,
        }
    }

    /// As an exact decimal, with the decimals it shows.
    fn as_dec(&self) -> Option<(Decimal, u32)> {
        match self {
            Num::Int(i) => Some((Decimal::from(*i), 0)),
            Num::Dec { d, shown } => Some((*d, *shown)),
            _ => None,
        }
    }
}

fn round_up_to_word(digits: u32) -> u32 {
    digits.div_ceil(MYSQL_WORD_DIGITS) * MYSQL_WORD_DIGITS
}

/// Division by zero: PostgreSQL fails, MySQL answers NULL.
fn by_zero(ctx: &Context) -> Result<Num, MergeError> {
    match ctx.dialect {
        Dialect::PostgreSql => Err(MergeError::DivisionByZero),
        Dialect::MySql => Ok(Num::Null),
    }
}

/// NUMERIC / DECIMAL division of two exact numbers (AVG, and `/` wherever
/// a decimal is involved, or any `/` on MySQL).
pub(super) fn numeric_div(l: Num, r: Num, ctx: &Context) -> Result<Num, MergeError> {
    let (Some((a, a_shown)), Some((b, _))) = (l.as_dec(), r.as_dec()) else {
        return Err(ctx.type_error(format!("cannot divide {l:?} by {r:?} exactly")));
    };
    if b.is_zero() {
        return by_zero(ctx);
    }
    match ctx.dialect {
        Dialect::PostgreSql => {
            let scale = a.pg_div_scale_by(b);
            let q = a
                .checked_div(b, scale, true)
                .ok_or_else(|| ctx.overflow())?;
            Ok(Num::dec(q))
        }
        Dialect::MySql => {
            // do_div_mod in strings/decimal.c: the inputs' decimals are
            // padded to whole words, the padding counts against the
            // increment, and the quotient gets whole words, truncated.
            let (fa, fb) = (round_up_to_word(a.scale()), round_up_to_word(b.scale()));
            let padding = (fa - a.scale()) + (fb - b.scale());
            let internal = round_up_to_word(fa + fb + MYSQL_DIV_INCREMENT.saturating_sub(padding));
            let q = a
                .checked_div(b, internal, false)
                .ok_or_else(|| ctx.overflow())?;
            Ok(Num::Dec {
                d: q,
                shown: (a_shown + MYSQL_DIV_INCREMENT).min(MYSQL_MAX_SCALE),
            })
        }
    }
}

pub(super) fn neg(v: Num, ctx: &Context) -> Result<Num, MergeError> {
    Ok(match v {
        Num::Null => Num::Null,
        Num::Int(i) => Num::Int(i.checked_neg().ok_or_else(|| ctx.int_overflow())?),
        Num::Dec { d, shown } => Num::Dec {
            d: d.checked_neg().ok_or_else(|| ctx.overflow())?,
            shown,
        },
        Num::Float(f) => Num::Float(-f),
        other => return Err(ctx.type_error(format!("cannot negate {other:?}"))),
    })
}

/// `+ - * / DIV %`.
pub(super) fn arith(op: BinOp, l: Num, r: Num, ctx: &Context) -> Result<Num, MergeError> {
    let mysql = ctx.dialect == Dialect::MySql;
    let overflow = || ctx.overflow();
    match (&l, &r) {
        (Num::Null, _) | (_, Num::Null) => return Ok(Num::Null),
        (Num::Float(_), _) | (_, Num::Float(_)) => return float_arith(op, &l, &r, ctx),
        (Num::Int(a), Num::Int(b)) => {
            let (a, b) = (*a, *b);
            let overflow = || ctx.int_overflow();
            return Ok(match op {
                BinOp::Add => Num::Int(a.checked_add(b).ok_or_else(overflow)?),
                BinOp::Sub => Num::Int(a.checked_sub(b).ok_or_else(overflow)?),
                BinOp::Mul => Num::Int(a.checked_mul(b).ok_or_else(overflow)?),
                // MySQL's `/` is never integer division.
                BinOp::Div if mysql => return numeric_div(l, r, ctx),
                BinOp::Div | BinOp::IntDiv if b == 0 => return by_zero(ctx),
                BinOp::Div | BinOp::IntDiv => Num::Int(a.checked_div(b).ok_or_else(overflow)?),
                BinOp::Mod if b == 0 => return by_zero(ctx),
                // i64::MIN % -1 is 0 in SQL, an overflow in Rust.
                BinOp::Mod => Num::Int(a.checked_rem(b).unwrap_or(0)),
                _ => return Err(ctx.type_error(format!("{op:?} is not arithmetic"))),
            });
        }
        _ => {}
    }
    let (Some((a, a_shown)), Some((b, b_shown))) = (l.as_dec(), r.as_dec()) else {
        return Err(ctx.type_error(format!("cannot compute {l:?} {op:?} {r:?}")));
    };
    let dec = |d: Option<Decimal>, shown: u32| -> Result<Num, MergeError> {
        let d = d.ok_or_else(overflow)?;
        Ok(if mysql {
            Num::Dec { d, shown }
        } else {
            Num::dec(d)
        })
    };
    match op {
        BinOp::Add => dec(a.checked_add(b), a_shown.max(b_shown)),
        BinOp::Sub => dec(a.checked_sub(b), a_shown.max(b_shown)),
        BinOp::Mul => dec(a.checked_mul(b), (a_shown + b_shown).min(MYSQL_MAX_SCALE)),
        BinOp::Div => numeric_div(l, r, ctx),
        BinOp::IntDiv if b.is_zero() => by_zero(ctx),
        BinOp::IntDiv => {
            let q = a.checked_div(b, 0, false).ok_or_else(overflow)?;
            Ok(Num::Int(q.trunc_i64().ok_or_else(overflow)?))
        }
        BinOp::Mod if b.is_zero() => by_zero(ctx),
        BinOp::Mod => dec(a.checked_rem(b), a_shown.max(b_shown)),
        _ => Err(ctx.type_error(format!("{op:?} is not arithmetic"))),
    }
}

/// IEEE arithmetic, as both servers do for DOUBLE / float8.
fn float_arith(op: BinOp, l: &Num, r: &Num, ctx: &Context) -> Result<Num, MergeError> {
    let f = |n: &Num| match n {
        Num::Int(i) => Some(*i as f64),
        Num::Dec { d, .. } => Some(d.to_f64()),
        Num::Float(f) => Some(*f),
        _ => None,
    };
    let (Some(a), Some(b)) = (f(l), f(r)) else {
        return Err(ctx.type_error(format!("cannot compute {l:?} {op:?} {r:?}")));
    };
    let v = match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div if b == 0.0 => return by_zero(ctx),
        BinOp::Div => a / b,
        _ => {
            return Err(ctx.type_error(format!(
                "{op:?} of a floating-point value is not computed in the proxy"
            )))
        }
    };
    if v.is_finite() || !(a.is_finite() && b.is_finite()) {
        Ok(Num::Float(v))
    } else {
        Err(ctx.overflow())
    }
}

/// `round(x)` / `round(x, n)`.
pub(super) fn round(v: Num, digits: Option<i64>, ctx: &Context) -> Result<Num, MergeError> {
    let overflow = || ctx.overflow();
    let n = digits.unwrap_or(0);
    Ok(match (v, ctx.dialect) {
        (Num::Null, _) => Num::Null,
        // PostgreSQL has no round(integer): one argument resolves to
        // round(double precision), two to round(numeric, int).
        (Num::Int(i), Dialect::PostgreSql) => match digits {
            None if i.unsigned_abs() <= 1 << 53 => Num::Float(i as f64),
            None => return Err(ctx.type_error("round of a bigint beyond 2^53".into())),
            Some(_) => Num::dec(Decimal::from(i).round_to(n).ok_or_else(overflow)?),
        },
        // MySQL keeps integers integers.
        (Num::Int(i), Dialect::MySql) if n >= 0 => Num::Int(i),
        (Num::Int(i), Dialect::MySql) => {
            let d = Decimal::from(i).round_to(n).ok_or_else(overflow)?;
            Num::Int(d.trunc_i64().ok_or_else(overflow)?)
        }
        (Num::Dec { d, .. }, dialect) => {
            let r = d.round_to(n).ok_or_else(overflow)?;
            match dialect {
                Dialect::PostgreSql => Num::dec(r),
                Dialect::MySql => Num::Dec {
                    d: r,
                    shown: u32::try_from(n.clamp(0, i64::from(MYSQL_MAX_SCALE))).unwrap_or(0),
                },
            }
        }
        // PostgreSQL's round(double precision) is rint: half to even.
        (Num::Float(f), Dialect::PostgreSql) if digits.is_none() => Num::Float(f.round_ties_even()),
        // A whole number rounds to itself whatever the rule.
        (Num::Float(f), Dialect::MySql) if f.fract() == 0.0 && n >= 0 => Num::Float(f),
        (other, _) => {
            return Err(ctx.type_error(format!(
                "round of {other:?} is not computed in the proxy (the servers round floats \
                 differently)"
            )))
        }
    })
}

pub(super) fn cast(v: Num, to: CastTo, ctx: &Context) -> Result<Num, MergeError> {
    let overflow = || ctx.overflow();
    if matches!(v, Num::Null) {
        return Ok(Num::Null);
    }
    // A float that is a whole number below 10^15 converts exactly (both
    // servers print it with 15 significant digits first); others do not.
    let whole = match v {
        Num::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some((Decimal::from(f as i64), 0)),
        // PostgreSQL: float8 to integer is rint (half to even); to numeric
        // through its 15 significant digits.
        Num::Float(f) if ctx.dialect == Dialect::PostgreSql && f.is_finite() => match to {
            CastTo::Integer { .. } if f.abs() < 9.0e18 => {
                Some((Decimal::from(f.round_ties_even() as i64), 0))
            }
            _ => float_to_numeric(f).map(|d| (d, d.scale())),
        },
        _ => v.as_dec(),
    };
    let Some((d, shown)) = whole else {
        return Err(ctx.type_error(format!("CAST of {v:?} is not computed in the proxy")));
    };
    Ok(match to {
        CastTo::Numeric(None) => Num::Dec { d, shown },
        CastTo::Numeric(Some((precision, scale))) => {
            let r = d.round_to(i64::from(scale)).ok_or_else(overflow)?;
            let room = precision.saturating_sub(scale);
            let r = if r.integer_digits() <= room {
                r
            } else if ctx.dialect == Dialect::MySql {
                // MySQL clamps to the largest value of the type (a warning).
                let max = 10i128
                    .checked_pow(precision)
                    .ok_or_else(overflow)?
                    .checked_sub(1)
                    .ok_or_else(overflow)?;
                let sign = if r < Decimal::from(0) { -1 } else { 1 };
                Decimal::new(sign * max, scale)
            } else {
                return Err(overflow());
            };
            Num::dec(r)
        }
        CastTo::Integer { bits32 } => {
            let i = d
                .round_to(0)
                .and_then(Decimal::trunc_i64)
                .ok_or_else(overflow)?;
            if bits32 && i32::try_from(i).is_err() {
                return Err(overflow());
            }
            Num::Int(i)
        }
    })
}

/// `%.15g` of `f` as a decimal, as PostgreSQL's float8-to-numeric cast
/// reads it.
fn float_to_numeric(f: f64) -> Option<Decimal> {
    let text = format!("{f:.14e}");
    let (mantissa, exponent) = text.split_once('e')?;
    let exponent: i64 = exponent.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // digits = d.dddddddddddddd: the value is digits * 10^(exponent - 14).
    let shift = exponent - 14;
    let mut m: i128 = digits.parse().ok()?;
    if negative {
        m = -m;
    }
    let d = if shift >= 0 {
        Decimal::new(
            m.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?,
            0,
        )
    } else {
        Decimal::new(m, u32::try_from(-shift).ok()?)
    };
    Some(d.normalized())
}
