//! Conditions on columns, read from a WHERE clause: `=`, `IN`, `BETWEEN`,
//! `<`, `<=`, `>`, `>=` against literals or placeholders, combined with AND
//! and OR. Everything else reads as [`Condition::True`].

use std::collections::HashMap;
use std::ops::{Bound, ControlFlow};

use shardwire_rules::ShardingValue;
use sqlparser::ast::{
    BinaryOperator, Expr, Statement, UnaryOperator, Value, ValueWithSpan, Visit, Visitor,
};

use super::tables::Scope;

/// A value in a condition: known now, or a parameter bound at execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Value(ShardingValue),
    /// 0-based index into the statement's parameters.
    Param(usize),
}

/// A column, with the logical table it was qualified with (resolved through
/// aliases), or `None` when unqualified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub table: Option<String>,
    /// Lower-cased.
    pub column: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// No restriction the kernel understands.
    True,
    /// `column = v` or `column IN (v, ...)`.
    In {
        column: ColumnRef,
        values: Vec<Operand>,
    },
    Range {
        column: ColumnRef,
        lower: Bound<Operand>,
        upper: Bound<Operand>,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

/// MySQL's `?` placeholders are numbered by their position in the text;
/// sorting their spans makes the numbering independent of the order in
/// which the AST happens to be walked.
pub(crate) fn placeholder_order(statement: &Statement) -> HashMap<(u64, u64), usize> {
    struct Spans(Vec<(u64, u64)>);
    impl Visitor for Spans {
        type Break = ();
        fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
            if matches!(&value.value, Value::Placeholder(p) if p == "?") {
                self.0
                    .push((value.span.start.line, value.span.start.column));
            }
            ControlFlow::Continue(())
        }
    }
    let mut spans = Spans(Vec::new());
    let _ = statement.visit(&mut spans);
    spans.0.sort_unstable();
    spans
        .0
        .into_iter()
        .enumerate()
        .map(|(i, pos)| (pos, i))
        .collect()
}

/// The operands of a chain of one operator (`a OR b OR c ...`), in order.
/// The parser builds such chains as deep left-leaning trees without limit;
/// flattening them with a loop keeps the reader's recursion shallow.
fn flatten<'e>(expr: &'e Expr, op: &BinaryOperator) -> Vec<&'e Expr> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::BinaryOp {
                left,
                op: this,
                right,
            } if this == op => {
                stack.push(right);
                stack.push(left);
            }
            Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: this, .. } if this == op) =>
            {
                stack.push(inner);
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) struct ConditionReader<'a> {
    scope: &'a Scope,
    placeholders: &'a HashMap<(u64, u64), usize>,
}

impl<'a> ConditionReader<'a> {
    pub fn new(scope: &'a Scope, placeholders: &'a HashMap<(u64, u64), usize>) -> Self {
        ConditionReader {
            scope,
            placeholders,
        }
    }

    pub fn read(&self, expr: &Expr) -> Condition {
        match expr {
            Expr::Nested(inner) => self.read(inner),
            Expr::BinaryOp {
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                ..
            } => {
                let parts = flatten(expr, op)
                    .into_iter()
                    .map(|e| self.read(e))
                    .collect();
                if *op == BinaryOperator::And {
                    Condition::And(parts)
                } else {
                    Condition::Or(parts)
                }
            }
            Expr::BinaryOp { left, op, right } => self.comparison(left, op, right),
            Expr::InList {
                expr,
                list,
                negated: false,
            } => {
                let Some(column) = self.column(expr) else {
                    return Condition::True;
                };
                let values: Option<Vec<Operand>> = list.iter().map(|e| self.operand(e)).collect();
                match values {
                    Some(values) if !values.is_empty() => Condition::In { column, values },
                    _ => Condition::True,
                }
            }
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => match (self.column(expr), self.operand(low), self.operand(high)) {
                (Some(column), Some(low), Some(high)) => Condition::Range {
                    column,
                    lower: Bound::Included(low),
                    upper: Bound::Included(high),
                },
                _ => Condition::True,
            },
            _ => Condition::True,
        }
    }

    fn comparison(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Condition {
        // `5 < id` reads as `id > 5`.
        let (column, value, op) = match (self.column(left), self.operand(right)) {
            (Some(c), Some(v)) => (c, v, op.clone()),
            _ => match (self.column(right), self.operand(left)) {
                (Some(c), Some(v)) => {
                    let flipped = match op {
                        BinaryOperator::Lt => BinaryOperator::Gt,
                        BinaryOperator::LtEq => BinaryOperator::GtEq,
                        BinaryOperator::Gt => BinaryOperator::Lt,
                        BinaryOperator::GtEq => BinaryOperator::LtEq,
                        other => other.clone(),
                    };
                    (c, v, flipped)
                }
                _ => return Condition::True,
            },
        };
        let (lower, upper) = match op {
            BinaryOperator::Eq => {
                return Condition::In {
                    column,
                    values: vec![value],
                }
            }
            BinaryOperator::Lt => (Bound::Unbounded, Bound::Excluded(value)),
            BinaryOperator::LtEq => (Bound::Unbounded, Bound::Included(value)),
            BinaryOperator::Gt => (Bound::Excluded(value), Bound::Unbounded),
            BinaryOperator::GtEq => (Bound::Included(value), Bound::Unbounded),
            _ => return Condition::True,
        };
        Condition::Range {
            column,
            lower,
            upper,
        }
    }

    /// A column reference, when its qualifier (if any) names a table in scope.
    fn column(&self, expr: &Expr) -> Option<ColumnRef> {
        match expr {
            Expr::Nested(inner) => self.column(inner),
            Expr::Identifier(ident) => Some(ColumnRef {
                table: None,
                column: ident.value.to_ascii_lowercase(),
            }),
            Expr::CompoundIdentifier(idents) if idents.len() >= 2 => {
                let column = idents.last()?.value.to_ascii_lowercase();
                let qualifier = &idents.get(idents.len() - 2)?.value;
                let table = self.scope.resolve(qualifier)?.to_owned();
                Some(ColumnRef {
                    table: Some(table),
                    column,
                })
            }
            _ => None,
        }
    }

    /// A literal or placeholder; `None` for anything computed.
    pub fn operand(&self, expr: &Expr) -> Option<Operand> {
        match expr {
            Expr::Nested(inner) => self.operand(inner),
            // `$1::BIGINT`, as SQLAlchemy writes every parameter. Casts to
            // integer and text types leave the value a routing algorithm
            // sees as it was; others (a timestamp cast to date) may change
            // it, and keep the operand unknown.
            Expr::Cast {
                expr, data_type, ..
            } if keeps_routing_value(data_type) => self.operand(expr),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match self.operand(expr)? {
                Operand::Value(ShardingValue::Int(v)) => {
                    Some(Operand::Value(ShardingValue::Int(v.checked_neg()?)))
                }
                _ => None,
            },
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => Some(Operand::Value(match n.parse::<i64>() {
                    Ok(i) => ShardingValue::Int(i),
                    Err(_) => ShardingValue::Text(n.to_string()),
                })),
                // MySQL's "text" is a string, not an identifier, unless ANSI_QUOTES
                // (which sqlparser would have parsed as an identifier).
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    Some(Operand::Value(ShardingValue::Text(s.clone())))
                }
                Value::Placeholder(p) if p == "?" => self
                    .placeholders
                    .get(&(v.span.start.line, v.span.start.column))
                    .map(|i| Operand::Param(*i)),
                Value::Placeholder(p) => {
                    let n: usize = p.strip_prefix('$')?.parse().ok()?;
                    Some(Operand::Param(n.checked_sub(1)?))
                }
                Value::Null => Some(Operand::Value(ShardingValue::Null)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Whether a cast to `data_type` leaves a sharding value as routing reads
/// it: integers stay integers, text stays text.
fn keeps_routing_value(data_type: &sqlparser::ast::DataType) -> bool {
    let name = data_type.to_string().to_ascii_uppercase();
    [
        "BIGINT",
        "INTEGER",
        "INT",
        "SMALLINT",
        "INT2",
        "INT4",
        "INT8",
        "SIGNED",
        "UNSIGNED",
        "TEXT",
        "VARCHAR",
        "CHARACTER VARYING",
    ]
    .iter()
    .any(|t| name == *t || name.starts_with(&format!("{t}(")) || name.starts_with(&format!("{t} ")))
}
