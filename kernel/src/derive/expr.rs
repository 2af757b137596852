//! Compiling the client's expressions over aggregates (select items, HAVING,
//! ORDER BY) into [`eval::Expr`]s the merge evaluates after each group is
//! merged. Every aggregate inside is sent to the shards as a derived column
//! (hidden from the client); group keys are read from their columns. What
//! the proxy cannot evaluate exactly is refused by name.

use std::collections::HashMap;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, ExactNumberInfo, FunctionArg, FunctionArgExpr,
    UnaryOperator,
};

use super::*;
use crate::merge::eval::{self, BinOp, CastTo, Literal};
use crate::merge::Decimal;

/// Compiles expressions of one SELECT, appending the derived columns they
/// need to the shards' select list. Column numbers are select-list
/// positions (the caller refuses wildcards).
pub(super) struct Compiler<'a, 'r> {
    pub dialect: Dialect,
    pub refuse: &'a Refuse<'r>,
    pub projection: &'a mut Vec<SelectItem>,
    pub aggregates: &'a mut Vec<Aggregate>,
    /// Group keys: lower-cased expression text and column.
    pub keys: Vec<(String, usize)>,
    /// Select aliases and their columns, which MySQL's HAVING may name.
    pub aliases: Vec<(String, usize)>,
    /// Expressions whose values DISTINCT aggregates need, and their columns:
    /// the shards group by them too.
    pub distinct_args: Vec<(Expr, usize)>,
    /// Aggregates already available, by lower-cased text.
    pub known: HashMap<String, eval::Expr>,
    pub derived: usize,
}

fn text(e: &Expr) -> String {
    e.to_string().to_ascii_lowercase()
}

impl Compiler<'_, '_> {
    fn unsupported(&self, construct: impl std::fmt::Display) -> KernelError {
        self.refuse.err(
            format!("{construct} in an expression over aggregates across shards"),
            "the proxy evaluates such expressions after merging the shards' groups and cannot \
             compute this one exactly",
        )
    }

    /// Appends `expr AS <prefix>_<n>` to the shards' select list.
    fn push(&mut self, expr: Expr, prefix: &str) -> usize {
        let n = self.derived;
        self.derived += 1;
        self.projection.push(SelectItem::ExprWithAlias {
            expr,
            alias: Ident::new(format!("{prefix}_{n}")),
        });
        self.projection.len() - 1
    }

    /// The column holding the values of a DISTINCT aggregate's argument.
    pub(super) fn distinct_arg(&mut self, f: &Function) -> Result<usize, KernelError> {
        let arg = single_arg(f).ok_or_else(|| {
            self.refuse.err(
                format!(
                    "{}(DISTINCT ...) with other than one argument across shards",
                    f.name
                ),
                "not supported",
            )
        })?;
        if let Some((_, column)) = self
            .distinct_args
            .iter()
            .find(|(e, _)| text(e) == text(arg))
        {
            return Ok(*column);
        }
        let column = self.push(arg.clone(), "distinct_derived");
        self.distinct_args.push((arg.clone(), column));
        Ok(column)
    }

    /// SUM and COUNT of an AVG's argument as derived columns: (sum, count).
    pub(super) fn avg_parts(&mut self, f: &Function) -> (usize, usize) {
        let sum = self.push(function_named(f, "SUM"), "avg_derived_sum");
        let count = self.push(function_named(f, "COUNT"), "avg_derived_count");
        self.aggregates.push(Aggregate {
            kind: AggregateKind::Sum,
            column: sum,
        });
        self.aggregates.push(Aggregate {
            kind: AggregateKind::Count,
            column: count,
        });
        (sum, count)
    }

    /// An aggregate inside an expression: a known column, or new derived
    /// ones.
    fn aggregate(
        &mut self,
        expr: &Expr,
        name: AggName,
        f: &Function,
    ) -> Result<eval::Expr, KernelError> {
        if let Some(known) = self.known.get(&text(expr)) {
            return Ok(known.clone());
        }
        check_clauses(f, self.refuse)?;
        let compiled = if is_distinct(f)
            && matches!(name, AggName::Count | AggName::Sum | AggName::Avg)
        {
            let arg = self.distinct_arg(f)?;
            // The slots hold the same aggregate on the shards: over one
            // value each it is harmless, and its type is the server's.
            let slot = |this: &mut Self, kind, name: &str| {
                let column = this.push(function_named(f, name), "expr_derived");
                this.aggregates.push(Aggregate { kind, column });
                column
            };
            match name {
                AggName::Count => {
                    eval::Expr::Column(slot(self, AggregateKind::CountDistinct { arg }, "COUNT"))
                }
                AggName::Sum => {
                    eval::Expr::Column(slot(self, AggregateKind::SumDistinct { arg }, "SUM"))
                }
                _ => eval::Expr::Avg {
                    sum: slot(self, AggregateKind::SumDistinct { arg }, "SUM"),
                    count: slot(self, AggregateKind::CountDistinct { arg }, "COUNT"),
                },
            }
        } else if let Some(kind) = name.merges_as_itself() {
            let column = self.push(expr.clone(), "expr_derived");
            self.aggregates.push(Aggregate { kind, column });
            eval::Expr::Column(column)
        } else {
            let (sum, count) = self.avg_parts(f);
            eval::Expr::Avg { sum, count }
        };
        self.known.insert(text(expr), compiled.clone());
        Ok(compiled)
    }

    /// `expr` as the merge evaluates it, or a refusal naming what cannot
    /// be evaluated exactly.
    pub(super) fn compile(&mut self, expr: &Expr) -> Result<eval::Expr, KernelError> {
        let compiled = self.compile_inner(expr)?;
        self.check_coalesce(&compiled, false)?;
        self.check_avg(&compiled, false)?;
        Ok(compiled)
    }

    /// MariaDB's AVG with GROUP BY is rounded to the decimals it shows when
    /// its plan stores the groups in a temporary table, and keeps its
    /// quotient's hidden digits when it streams them (seen in the
    /// differential test): arithmetic on it depends on the plan, so it is
    /// refused there. Shown, rounded to fewer digits, or compared, the two
    /// agree but for a double rounding at the shown digits.
    fn check_avg(&self, e: &eval::Expr, inside: bool) -> Result<(), KernelError> {
        let grouped = self.dialect == Dialect::MySql && !self.keys.is_empty();
        match e {
            // AVG(DISTINCT) too: it is rounded the same way.
            eval::Expr::Avg { .. } => {
                if inside && grouped {
                    return Err(self.unsupported("AVG inside arithmetic with GROUP BY on MySQL"));
                }
                Ok(())
            }
            eval::Expr::Binary { op, left, right } => {
                let arith = matches!(
                    op,
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod
                );
                self.check_avg(left, inside || arith)?;
                self.check_avg(right, inside || arith)
            }
            eval::Expr::Coalesce(args) => args.iter().try_for_each(|a| self.check_avg(a, inside)),
            eval::Expr::Round { expr, .. }
            | eval::Expr::Cast { expr, .. }
            | eval::Expr::IsNull { expr, .. } => self.check_avg(expr, inside),
            eval::Expr::Neg(x) | eval::Expr::Abs(x) | eval::Expr::Not(x) => {
                self.check_avg(x, inside)
            }
            eval::Expr::Column(_) | eval::Expr::Literal(_) => Ok(()),
        }
    }

    /// COALESCE takes its type from all its arguments, and an argument that
    /// is NULL has no type the merge can see. On PostgreSQL that decides
    /// whether a division truncates (int) or not (numeric); on MySQL how
    /// many decimals the result and everything computed from it keep. So
    /// COALESCE is evaluated only where that cannot change the value: at
    /// the top (or compared), and on PostgreSQL also under + - * %.
    fn check_coalesce(&self, e: &eval::Expr, inside: bool) -> Result<(), KernelError> {
        let mysql = self.dialect == Dialect::MySql;
        match e {
            // Integer literals only: the type is known.
            eval::Expr::Coalesce(args)
                if args
                    .iter()
                    .all(|a| matches!(a, eval::Expr::Literal(Literal::Int(_)))) =>
            {
                Ok(())
            }
            eval::Expr::Coalesce(args) => {
                if inside {
                    return Err(self.unsupported(if mysql {
                        "COALESCE / IFNULL inside arithmetic on MySQL"
                    } else {
                        "COALESCE under / or round(x) on PostgreSQL"
                    }));
                }
                args.iter().try_for_each(|a| self.check_coalesce(a, inside))
            }
            eval::Expr::Binary { op, left, right } => {
                let arith = matches!(
                    op,
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod
                );
                let inner = inside || (arith && (mysql || *op == BinOp::Div));
                self.check_coalesce(left, inner)?;
                self.check_coalesce(right, inner)
            }
            eval::Expr::Round { expr, digits } => {
                self.check_coalesce(expr, inside || mysql || digits.is_none())
            }
            eval::Expr::Neg(x) | eval::Expr::Abs(x) => self.check_coalesce(x, inside || mysql),
            eval::Expr::Cast { expr, .. } => self.check_coalesce(expr, inside || mysql),
            eval::Expr::Not(x) => self.check_coalesce(x, inside),
            eval::Expr::IsNull { expr, .. } => self.check_coalesce(expr, inside),
            eval::Expr::Column(_) | eval::Expr::Literal(_) | eval::Expr::Avg { .. } => Ok(()),
        }
    }

    fn compile_inner(&mut self, expr: &Expr) -> Result<eval::Expr, KernelError> {
        let t = text(expr);
        if let Some((_, column)) = self.keys.iter().find(|(k, _)| *k == t) {
            return Ok(eval::Expr::Column(*column));
        }
        if let Some((name, f)) = aggregate_kind(expr) {
            return self.aggregate(expr, name, f);
        }
        let boxed = |this: &mut Self, e: &Expr| this.compile(e).map(Box::new);
        Ok(match expr {
            Expr::Nested(e) => self.compile(e)?,
            Expr::Value(v) => eval::Expr::Literal(self.literal(&v.value)?),
            Expr::Identifier(id) if self.dialect == Dialect::MySql => {
                let name = id.value.to_ascii_lowercase();
                match self.aliases.iter().find(|(a, _)| *a == name) {
                    Some((_, column)) => eval::Expr::Column(*column),
                    None => return Err(self.not_a_key(expr)),
                }
            }
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => return Err(self.not_a_key(expr)),
            Expr::UnaryOp { op, expr: e } => match op {
                UnaryOperator::Minus => eval::Expr::Neg(boxed(self, e)?),
                UnaryOperator::Plus => self.compile(e)?,
                UnaryOperator::Not => eval::Expr::Not(boxed(self, e)?),
                other => return Err(self.unsupported(format!("operator {other}"))),
            },
            Expr::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Plus => BinOp::Add,
                    BinaryOperator::Minus => BinOp::Sub,
                    BinaryOperator::Multiply => BinOp::Mul,
                    BinaryOperator::Divide => BinOp::Div,
                    BinaryOperator::Modulo => BinOp::Mod,
                    BinaryOperator::MyIntegerDivide if self.dialect == Dialect::MySql => {
                        BinOp::IntDiv
                    }
                    BinaryOperator::Eq => BinOp::Eq,
                    BinaryOperator::NotEq => BinOp::NotEq,
                    BinaryOperator::Lt => BinOp::Lt,
                    BinaryOperator::LtEq => BinOp::LtEq,
                    BinaryOperator::Gt => BinOp::Gt,
                    BinaryOperator::GtEq => BinOp::GtEq,
                    BinaryOperator::And => BinOp::And,
                    BinaryOperator::Or => BinOp::Or,
                    other => return Err(self.unsupported(format!("operator {other}"))),
                };
                eval::Expr::Binary {
                    op,
                    left: boxed(self, left)?,
                    right: boxed(self, right)?,
                }
            }
            Expr::Between {
                expr: e,
                negated,
                low,
                high,
            } => {
                // x BETWEEN a AND b is x >= a AND x <= b, NULLs included.
                let x = self.compile(e)?;
                let both = eval::Expr::Binary {
                    op: BinOp::And,
                    left: Box::new(eval::Expr::Binary {
                        op: BinOp::GtEq,
                        left: Box::new(x.clone()),
                        right: boxed(self, low)?,
                    }),
                    right: Box::new(eval::Expr::Binary {
                        op: BinOp::LtEq,
                        left: Box::new(x),
                        right: boxed(self, high)?,
                    }),
                };
                if *negated {
                    eval::Expr::Not(Box::new(both))
                } else {
                    both
                }
            }
            Expr::IsNull(e) => eval::Expr::IsNull {
                expr: boxed(self, e)?,
                negated: false,
            },
            Expr::IsNotNull(e) => eval::Expr::IsNull {
                expr: boxed(self, e)?,
                negated: true,
            },
            Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr: e,
                data_type,
                format: None,
            } => {
                let to = self.cast_to(data_type)?;
                eval::Expr::Cast {
                    expr: boxed(self, e)?,
                    to,
                }
            }
            Expr::Function(f) => self.function(f)?,
            other => return Err(self.unsupported(other)),
        })
    }

    fn not_a_key(&self, expr: &Expr) -> KernelError {
        self.refuse.err(
            format!("column {expr} outside an aggregate and not a GROUP BY key, in HAVING or an expression over aggregates across shards"),
            "each group's value of it is not known after merging; group by it or aggregate it",
        )
    }

    fn literal(&self, v: &Value) -> Result<Literal, KernelError> {
        Ok(match v {
            Value::Null => Literal::Null,
            Value::Boolean(b) if self.dialect == Dialect::MySql => Literal::Int(i64::from(*b)),
            Value::Boolean(b) => Literal::Bool(*b),
            Value::SingleQuotedString(s) => Literal::Text(s.clone()),
            Value::Number(n, _) => {
                if let Ok(i) = n.parse::<i64>() {
                    Literal::Int(i)
                } else if let Some(d) = Decimal::parse(n) {
                    Literal::Decimal(d)
                } else {
                    return Err(
                        self.unsupported(format!("number {n} (floating-point or too long)"))
                    );
                }
            }
            other => return Err(self.unsupported(format!("literal {other}"))),
        })
    }

    fn cast_to(&self, t: &DataType) -> Result<CastTo, KernelError> {
        let mysql = self.dialect == Dialect::MySql;
        let numeric = |info: &ExactNumberInfo| -> Option<CastTo> {
            Some(CastTo::Numeric(match info {
                // MySQL's DECIMAL is DECIMAL(10, 0).
                ExactNumberInfo::None if mysql => Some((10, 0)),
                ExactNumberInfo::None => None,
                ExactNumberInfo::Precision(p) => Some((u32::try_from(*p).ok()?, 0)),
                ExactNumberInfo::PrecisionAndScale(p, s) => {
                    Some((u32::try_from(*p).ok()?, u32::try_from(*s).ok()?))
                }
            }))
        };
        let to = match t {
            DataType::Numeric(info) | DataType::Decimal(info) | DataType::Dec(info) => {
                numeric(info)
            }
            DataType::Int(None) | DataType::Integer(None) | DataType::Int4(None) if !mysql => {
                Some(CastTo::Integer { bits32: true })
            }
            DataType::BigInt(None) | DataType::Int8(None) if !mysql => {
                Some(CastTo::Integer { bits32: false })
            }
            DataType::Signed | DataType::SignedInteger if mysql => {
                Some(CastTo::Integer { bits32: false })
            }
            _ => None,
        };
        to.ok_or_else(|| self.unsupported(format!("CAST to {t}")))
    }

    fn function(&mut self, f: &Function) -> Result<eval::Expr, KernelError> {
        let name = f.name.to_string().to_ascii_lowercase();
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(self.unsupported(format!("{name}(...) with OVER / FILTER / WITHIN GROUP")));
        }
        let args = plain_args(f)
            .ok_or_else(|| self.unsupported(format!("{name}(...) with these arguments")))?;
        Ok(match (name.as_str(), args.as_slice()) {
            ("round", [x]) => eval::Expr::Round {
                expr: Box::new(self.compile(x)?),
                digits: None,
            },
            ("round", [x, n]) => {
                let digits = integer_literal(n).ok_or_else(|| {
                    self.unsupported("round(x, n) whose n is not an integer literal")
                })?;
                if digits < 0 && self.dialect == Dialect::MySql {
                    // MariaDB makes round(BIGINT, -n) a DECIMAL or not by
                    // the argument's declared width, which the proxy does
                    // not know.
                    return Err(self.unsupported("round(x, n) with a negative n on MySQL"));
                }
                eval::Expr::Round {
                    expr: Box::new(self.compile(x)?),
                    digits: Some(digits),
                }
            }
            ("abs", [x]) => eval::Expr::Abs(Box::new(self.compile(x)?)),
            ("coalesce", args) if !args.is_empty() => eval::Expr::Coalesce(
                args.iter()
                    .map(|a| self.compile(a))
                    .collect::<Result<_, _>>()?,
            ),
            ("ifnull", [a, b]) if self.dialect == Dialect::MySql => {
                eval::Expr::Coalesce(vec![self.compile(a)?, self.compile(b)?])
            }
            _ => return Err(self.unsupported(format!("function {name}()"))),
        })
    }
}

fn is_distinct(f: &Function) -> bool {
    matches!(&f.args, FunctionArguments::List(l) if l.duplicate_treatment == Some(DuplicateTreatment::Distinct))
}

/// The expressions of a plain argument list (no names, no `*`).
fn plain_args(f: &Function) -> Option<Vec<&Expr>> {
    match &f.args {
        FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn single_arg(f: &Function) -> Option<&Expr> {
    match &f.args {
        FunctionArguments::List(l) => match l.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => Some(e),
            _ => None,
        },
        _ => None,
    }
}

fn integer_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => integer_literal(expr).and_then(i64::checked_neg),
        Expr::Nested(e) => integer_literal(e),
        _ => None,
    }
}

/// Whether the aggregate is DISTINCT and not merged as itself (MIN / MAX
/// of distinct values are MIN / MAX).
pub(super) fn is_distinct_aggregate(name: AggName, f: &Function) -> bool {
    is_distinct(f) && matches!(name, AggName::Count | AggName::Sum | AggName::Avg)
}

/// The name the server gives an unaliased select item, so a column the
/// proxy computes is named as the server would have named it: MySQL the
/// expression's text, PostgreSQL the function's or type's name, else
/// `?column?`.
pub(super) fn column_name(dialect: Dialect, expr: &Expr) -> String {
    match dialect {
        Dialect::MySql => expr.to_string(),
        Dialect::PostgreSql => match expr {
            Expr::Nested(e) => column_name(dialect, e),
            Expr::Function(f) => f
                .name
                .0
                .last()
                .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase())
                .unwrap_or_else(|| "?column?".into()),
            Expr::Cast { data_type, .. } => match data_type {
                DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => "int4".into(),
                DataType::BigInt(_) | DataType::Int8(_) => "int8".into(),
                _ => "numeric".into(),
            },
            _ => "?column?".into(),
        },
    }
}
