//! Catalog lookups by a bound name. Drivers look a table up in the
//! catalog with its name as a parameter (SQLAlchemy's has_table and
//! drop_all: `pg_class.relname IN ($1::VARCHAR, $2::VARCHAR)`); the shard
//! knows only the actual tables, so a logical name bound there must become
//! the data source's representative actual table, the one the answer maps
//! back. Only parameters compared with a relation-name column (or cast to
//! `regclass`) change: a parameter elsewhere is a value the client wants
//! back or compares with something else, and stays as bound.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, BinaryOperator, CastKind, DataType, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, Statement, Value,
};

/// Columns whose values are relation names: pg_class, pg_constraint,
/// pg_tables / pg_indexes and information_schema's views.
const NAME_COLUMNS: &[&str] = &[
    "relname",
    "conname",
    "tablename",
    "indexname",
    "table_name",
    "constraint_name",
];

/// The 1-based numbers of the parameters `statement` compares with a
/// relation-name column (`=`, `<>`, IN, ANY / ALL over an ARRAY, LIKE) or
/// reads as a `regclass` (`$1::regclass`, `to_regclass($1)`).
pub fn relation_name_params(statement: &Statement) -> Vec<usize> {
    let mut found = Vec::new();
    let _ = visit_expressions(statement, |expr| {
        match expr {
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                if is_name_column(left) {
                    slot(right, &mut found);
                } else if is_name_column(right) {
                    slot(left, &mut found);
                }
            }
            Expr::InList { expr, list, .. } if is_name_column(expr) => {
                list.iter().for_each(|e| slot(e, &mut found));
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. }
                if is_name_column(left) =>
            {
                if let Expr::Array(array) = strip(right) {
                    array.elem.iter().for_each(|e| slot(e, &mut found));
                }
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. }
                if is_name_column(expr) =>
            {
                slot(pattern, &mut found);
            }
            Expr::Cast {
                expr, data_type, ..
            } if is_regclass(data_type) => slot(expr, &mut found),
            Expr::Function(f)
                if f.name
                    .0
                    .last()
                    .is_some_and(|p| p.to_string().eq_ignore_ascii_case("to_regclass")) =>
            {
                if let FunctionArguments::List(list) = &f.args {
                    for arg in &list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
                            slot(e, &mut found);
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found.sort_unstable();
    found.dedup();
    found
}

/// The parameter a relation-name slot holds, through casts to text types,
/// COLLATE and parentheses.
fn slot(expr: &Expr, found: &mut Vec<usize>) {
    if let Expr::Value(v) = strip(expr) {
        if let Value::Placeholder(p) = &v.value {
            if let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                found.push(n);
            }
        }
    }
}

fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(e) | Expr::Collate { expr: e, .. } => strip(e),
        Expr::Cast {
            expr: e,
            data_type,
            kind: CastKind::DoubleColon | CastKind::Cast,
            ..
        } if is_text_type(data_type) => strip(e),
        other => other,
    }
}

fn is_text_type(t: &DataType) -> bool {
    match t {
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) => true,
        DataType::Custom(name, _) => name
            .0
            .last()
            .is_some_and(|p| p.to_string().eq_ignore_ascii_case("name")),
        _ => false,
    }
}

fn is_regclass(t: &DataType) -> bool {
    match t {
        DataType::Regclass => true,
        DataType::Custom(name, _) => name
            .0
            .last()
            .is_some_and(|p| p.to_string().eq_ignore_ascii_case("regclass")),
        _ => false,
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::PGRegexMatch
            | BinaryOperator::PGRegexIMatch
            | BinaryOperator::PGCustomBinaryOperator(_)
    )
}

fn is_name_column(expr: &Expr) -> bool {
    let last = match strip(expr) {
        Expr::Identifier(id) => &id.value,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(id) => &id.value,
            None => return false,
        },
        _ => return false,
    };
    NAME_COLUMNS.iter().any(|c| last.eq_ignore_ascii_case(c))
}

/// `value` with a logical name in it turned into the actual one: the
/// bare name, `schema.name` or `"name"` (a regclass's spellings).
pub fn map_name(value: &str, to_actual: &[(String, String)]) -> Option<String> {
    let (prefix, name) = match value.rfind('.') {
        Some(dot) if !value.ends_with('"') || value[dot + 1..].starts_with('"') => {
            value.split_at(dot + 1)
        }
        _ => ("", value),
    };
    let (quoted, bare) = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => (true, inner),
        None => (false, name),
    };
    let (_, actual) = to_actual.iter().find(|(logical, _)| logical == bare)?;
    Some(if quoted {
        format!("{prefix}\"{actual}\"")
    } else {
        format!("{prefix}{actual}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sql: &str) -> Vec<usize> {
        let statement =
            shardwire_kernel::parse_one(shardwire_kernel::Dialect::PostgreSql, sql).unwrap();
        relation_name_params(&statement)
    }

    #[test]
    fn finds_parameters_compared_with_relation_names() {
        assert_eq!(
            params(
                "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class \
                 JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = \
                 pg_catalog.pg_class.relnamespace WHERE pg_catalog.pg_class.relname \
                 IN ($1::VARCHAR, $2::VARCHAR) AND pg_catalog.pg_class.relkind = \
                 ANY (ARRAY[$3::VARCHAR, $4::VARCHAR]) AND \
                 pg_catalog.pg_namespace.nspname != $5::VARCHAR"
            ),
            vec![1, 2]
        );
        assert_eq!(
            params("SELECT 1 FROM pg_class c WHERE $2 = c.relname AND c.relkind = $1"),
            vec![2]
        );
        assert_eq!(
            params("SELECT 1 FROM pg_class WHERE relname = ANY(ARRAY[$1::text, $2])"),
            vec![1, 2]
        );
        assert_eq!(
            params(
                "SELECT 1 FROM information_schema.tables WHERE table_name = $1 \
                 AND table_schema = $2"
            ),
            vec![1]
        );
        assert_eq!(
            params("SELECT $1::regclass::oid, to_regclass($2), $3::text FROM pg_class"),
            vec![1, 2]
        );
        assert_eq!(
            params("SELECT $1 AS relname FROM pg_class WHERE attname = $2"),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn maps_every_spelling_of_a_name() {
        let to_actual = vec![
            ("orders".to_string(), "orders_0".to_string()),
            ("orders_pkey".to_string(), "orders_0_pkey".to_string()),
        ];
        let m = |v| map_name(v, &to_actual);
        assert_eq!(m("orders").as_deref(), Some("orders_0"));
        assert_eq!(m("orders_pkey").as_deref(), Some("orders_0_pkey"));
        assert_eq!(m("public.orders").as_deref(), Some("public.orders_0"));
        assert_eq!(m("\"orders\"").as_deref(), Some("\"orders_0\""));
        assert_eq!(
            m("public.\"orders\"").as_deref(),
            Some("public.\"orders_0\"")
        );
        assert_eq!(m("orders_item"), None);
        assert_eq!(m("Orders"), None);
    }
}
