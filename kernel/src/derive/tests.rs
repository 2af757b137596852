//! Unit tests of the cross-shard derivation.

use super::*;
use crate::parse::parse_one;

fn plan(dialect: Dialect, sql: &str) -> (String, MergePlan) {
    let statement = parse_one(dialect, sql).unwrap();
    let (derived, plan) = derive(&statement, dialect, &["t".to_owned()])
        .unwrap()
        .unwrap();
    (derived.to_string(), plan)
}

fn refused(dialect: Dialect, sql: &str) -> String {
    let statement = parse_one(dialect, sql).unwrap();
    let e = derive(&statement, dialect, &["t".to_owned()]).unwrap_err();
    assert!(matches!(e, KernelError::Unsupported { .. }), "{e}");
    e.to_string()
}

fn key(column: usize, descending: bool, nulls_first: bool) -> SortKey {
    SortKey {
        column,
        descending,
        nulls_first,
    }
}

#[test]
fn nulls_order_per_dialect() {
    let sql = "SELECT a, b FROM t ORDER BY a, b DESC";
    let (_, my) = plan(Dialect::MySql, sql);
    assert_eq!(my.order_by, vec![key(0, false, true), key(1, true, false)]);
    let (_, pg) = plan(Dialect::PostgreSql, sql);
    assert_eq!(pg.order_by, vec![key(0, false, false), key(1, true, true)]);
    let (_, explicit) = plan(
        Dialect::PostgreSql,
        "SELECT a, b FROM t ORDER BY a NULLS FIRST, b DESC NULLS LAST",
    );
    assert_eq!(
        explicit.order_by,
        vec![key(0, false, true), key(1, true, false)]
    );
}

#[test]
fn ordinals_aliases_and_qualified_names_resolve_to_items() {
    let (sql, p) = plan(
        Dialect::MySql,
        "SELECT t.a AS x, b, c FROM t ORDER BY 3 DESC, x, t.b, a",
    );
    // `a` is not an alias; it matches `t.a` by column name.
    assert_eq!(
        p.order_by.iter().map(|k| k.column).collect::<Vec<_>>(),
        vec![2, 0, 1, 0]
    );
    assert_eq!(p.output_columns, 3);
    assert!(!sql.contains("derived"), "{sql}");
}

#[test]
fn derived_columns_come_after_the_items_and_avg_parts() {
    let (sql, p) = plan(
        Dialect::PostgreSql,
        "SELECT AVG(x), MIN(y) FROM t GROUP BY g ORDER BY h DESC",
    );
    assert_eq!(
        sql,
        "SELECT AVG(x), MIN(y), SUM(x) AS avg_derived_sum_0, COUNT(x) AS avg_derived_count_0, \
         g AS group_by_derived_0, h AS order_by_derived_0 FROM t GROUP BY g ORDER BY h DESC"
    );
    assert_eq!(
        p.aggregates,
        vec![
            Aggregate {
                kind: AggregateKind::Avg {
                    sum_col: 2,
                    count_col: 3
                },
                column: 0
            },
            Aggregate {
                kind: AggregateKind::Min,
                column: 1
            },
        ]
    );
    assert_eq!(p.group_by, vec![4]);
    assert_eq!(p.order_by, vec![key(5, true, true)]);
    assert_eq!(p.output_columns, 2);
    assert!(!p.groups_arrive_sorted());
    assert_eq!(p.row_width(), 4);
}

#[test]
fn group_by_without_order_by_sorts_the_shards() {
    let (sql, p) = plan(
        Dialect::MySql,
        "SELECT g, COUNT(*) FROM t GROUP BY g LIMIT 2, 3",
    );
    assert_eq!(
        sql,
        "SELECT g, COUNT(*) FROM t GROUP BY g ORDER BY g LIMIT 5"
    );
    assert_eq!(p.group_by, vec![0]);
    assert_eq!(p.order_by, vec![key(0, false, true)]);
    assert!(p.groups_arrive_sorted());
    assert_eq!((p.offset, p.limit), (2, Some(3)));
}

#[test]
fn unsorted_groups_drop_the_shard_limit() {
    let (sql, p) = plan(
        Dialect::MySql,
        "SELECT g, COUNT(*) AS n FROM t GROUP BY g ORDER BY n DESC LIMIT 3",
    );
    assert!(!sql.contains("LIMIT"), "{sql}");
    assert_eq!(p.limit, Some(3));
}

#[test]
fn pagination_forms() {
    let (sql, p) = plan(
        Dialect::PostgreSql,
        "SELECT a FROM t ORDER BY a OFFSET 4 ROWS FETCH NEXT 6 ROWS ONLY",
    );
    assert_eq!(sql, "SELECT a FROM t ORDER BY a LIMIT 10");
    assert_eq!((p.offset, p.limit), (4, Some(6)));
    let (sql, p) = plan(Dialect::MySql, "SELECT a FROM t LIMIT 4, 6");
    assert_eq!(sql, "SELECT a FROM t LIMIT 10");
    assert_eq!((p.offset, p.limit), (4, Some(6)));
    let (sql, p) = plan(Dialect::MySql, "SELECT a FROM t");
    assert_eq!(sql, "SELECT a FROM t");
    assert_eq!(
        p,
        MergePlan {
            collation: Collation::CaseInsensitive,
            ..MergePlan::iterate(1)
        }
    );
    let (_, p) = plan(Dialect::PostgreSql, "SELECT a FROM t");
    assert_eq!(
        (p.collation, p.avg_scale),
        (Collation::Binary, AvgScale::PostgreSql)
    );
    assert!(refused(Dialect::MySql, "SELECT a FROM t LIMIT ?")
        .contains("LIMIT with a parameter across shards"));
}

#[test]
fn refusals_name_the_construct() {
    for (sql, construct) in [
        (
            "SELECT COUNT(DISTINCT a, b) FROM t",
            "COUNT(DISTINCT ...) with other than one argument",
        ),
        (
            "SELECT a FROM t GROUP BY a HAVING upper(a) = 'X'",
            "function upper()",
        ),
        ("SELECT *, COUNT(DISTINCT a) FROM t", "SELECT * with HAVING"),
        (
            "SELECT a FROM t GROUP BY a HAVING b > 1",
            "column b outside an aggregate",
        ),
        ("SELECT RANK() OVER (ORDER BY a) FROM t", "window function"),
        ("SELECT a FROM (SELECT a FROM t) s", "subquery in FROM"),
        ("SELECT * FROM t ORDER BY 2", "ORDER BY 2 with SELECT *"),
        ("SELECT a, * FROM t GROUP BY 2", "GROUP BY 2 with SELECT *"),
        (
            "SELECT *, a, * FROM t ORDER BY a",
            "ORDER BY naming an item between two wildcards",
        ),
        ("SELECT SUM(a) ^ 2 FROM t", "operator ^"),
        (
            "SELECT a FROM t GROUP BY a ORDER BY SUM(a) || 'x'",
            "operator ||",
        ),
    ] {
        let e = refused(Dialect::PostgreSql, sql);
        assert!(e.contains(construct), "{sql}: {e}");
        assert!(e.contains("(tables: t)"), "{e}");
    }
}

#[test]
fn group_by_prefers_the_column_order_by_the_alias() {
    let (_, p) = plan(
        Dialect::PostgreSql,
        "SELECT a AS b, b AS a, COUNT(*) FROM t GROUP BY a, b ORDER BY a",
    );
    // GROUP BY a: input column a is item 0; ORDER BY a: the alias, item 1.
    assert_eq!(p.group_by, vec![0, 1]);
    assert_eq!(p.order_by, vec![key(1, false, false)]);
    let (_, p) = plan(
        Dialect::MySql,
        "SELECT f(x) AS k, COUNT(*) FROM t GROUP BY k",
    );
    assert_eq!(p.group_by, vec![0]);
}

#[test]
fn wildcard_keys_count_from_the_end() {
    let (sql, p) = plan(
        Dialect::MySql,
        "SELECT * FROM t ORDER BY order_id DESC LIMIT 2, 10",
    );
    assert_eq!(
        sql,
        "SELECT *, order_id AS order_by_derived_0 FROM t ORDER BY order_id DESC LIMIT 12"
    );
    assert_eq!(p.order_by, vec![key(0, true, false)]);
    assert_eq!(p.output_columns, ALL_COLUMNS);
    assert_eq!(
        p.wildcard,
        Some(Wildcard {
            leading: 0,
            trailing: 1,
            derived: 1
        })
    );
    assert_eq!((p.offset, p.limit), (2, Some(10)));

    // Before the wildcard: absolute; after it: from the end.
    let (sql, p) = plan(
        Dialect::PostgreSql,
        "SELECT a, t.*, b FROM t ORDER BY a, b, 1, c",
    );
    assert_eq!(
        sql,
        "SELECT a, t.*, b, c AS order_by_derived_3 FROM t ORDER BY a, b, 1, c"
    );
    assert_eq!(
        p.order_by.iter().map(|k| k.column).collect::<Vec<_>>(),
        vec![0, 1, 0, 2]
    );
    assert_eq!(
        p.wildcard,
        Some(Wildcard {
            leading: 1,
            trailing: 2,
            derived: 1
        })
    );
}

#[test]
fn wildcard_with_aggregates_groups_and_distinct() {
    let (sql, p) = plan(Dialect::MySql, "SELECT *, AVG(x) AS a FROM t GROUP BY g");
    assert_eq!(
        sql,
        "SELECT *, AVG(x) AS a, SUM(x) AS avg_derived_sum_0, COUNT(x) AS avg_derived_count_0, \
         g AS group_by_derived_0 FROM t GROUP BY g ORDER BY g"
    );
    assert_eq!(
        p.aggregates,
        vec![Aggregate {
            kind: AggregateKind::Avg {
                sum_col: 1,
                count_col: 2
            },
            column: 0
        }]
    );
    assert_eq!(p.group_by, vec![3]);
    assert_eq!(p.order_by, vec![key(3, false, true)]);
    assert!(p.groups_arrive_sorted());
    assert_eq!(
        p.wildcard,
        Some(Wildcard {
            leading: 0,
            trailing: 4,
            derived: 3
        })
    );

    let (sql, p) = plan(Dialect::PostgreSql, "SELECT DISTINCT * FROM t");
    assert_eq!(sql, "SELECT DISTINCT * FROM t");
    assert!(p.distinct);
    assert!(!p.duplicates_arrive_adjacent());
    assert_eq!(
        p.wildcard,
        Some(Wildcard {
            leading: 0,
            trailing: 0,
            derived: 0
        })
    );

    // Nothing to place: a plain SELECT * keeps the plain plan.
    let (_, p) = plan(Dialect::MySql, "SELECT * FROM t LIMIT 3");
    assert_eq!(p.wildcard, None);
    assert_eq!(p.output_columns, ALL_COLUMNS);
}

#[test]
fn non_queries_need_no_merge() {
    let statement = parse_one(Dialect::MySql, "UPDATE t SET a = 1").unwrap();
    assert!(derive(&statement, Dialect::MySql, &[]).unwrap().is_none());
}

#[test]
fn having_distinct_and_expressions_are_planned_for_the_proxy() {
    let (sql, p) = plan(
        Dialect::PostgreSql,
        "SELECT a, SUM(b) + 1, COUNT(DISTINCT c) FROM t GROUP BY a HAVING MAX(b) > 2",
    );
    assert_eq!(
        sql,
        "SELECT a, CASE WHEN 1 = 0 THEN SUM(b) + 1 END AS \"?column?\", COUNT(DISTINCT c), \
         c AS distinct_derived_0, SUM(b) AS expr_derived_1, MAX(b) AS expr_derived_2 FROM t \
         GROUP BY a, c HAVING CASE WHEN 1 = 0 THEN (MAX(b) > 2) END IS NULL ORDER BY a"
    );
    let post = p.post.as_ref().unwrap();
    assert_eq!(post.computed.len(), 1);
    assert_eq!(post.computed[0].0, 1);
    assert!(post.having.is_some());
    assert_eq!(
        p.aggregates[0].kind,
        AggregateKind::CountDistinct { arg: 3 }
    );
    // Every group may be needed past a shard LIMIT.
    assert!(p.needs_all_shard_rows());
}

#[test]
fn order_by_reads_postgresql_implicit_column_names() {
    // PostgreSQL names `amount::text` `amount`: ORDER BY sorts the text.
    let (sql, p) = plan(
        Dialect::PostgreSql,
        "SELECT amount::text, upper(status) FROM t ORDER BY amount, upper",
    );
    assert_eq!(
        sql,
        "SELECT amount::TEXT, upper(status) FROM t ORDER BY amount, upper"
    );
    assert_eq!(p.order_by, vec![key(0, false, false), key(1, false, false)]);
    // MySQL names it by its text: `amount` is the input column.
    let (sql, p) = plan(
        Dialect::MySql,
        "SELECT CAST(amount AS CHAR) FROM t ORDER BY amount",
    );
    assert_eq!(
        sql,
        "SELECT CAST(amount AS CHAR), amount AS order_by_derived_0 FROM t ORDER BY amount"
    );
    assert_eq!(p.order_by, vec![key(1, false, true)]);
    // An expression reads input columns, even under a shadowing alias.
    let (_, p) = plan(
        Dialect::PostgreSql,
        "SELECT amount::text AS amount FROM t ORDER BY amount + 0",
    );
    assert_eq!(p.order_by, vec![key(1, false, false)]);
}

#[test]
fn implied_group_order_names_the_grouped_column_by_position() {
    // The shards' `ORDER BY amount` would sort the text output column.
    let (sql, p) = plan(
        Dialect::PostgreSql,
        "SELECT amount::text, COUNT(*) FROM t GROUP BY amount",
    );
    assert_eq!(
        sql,
        "SELECT amount::TEXT, COUNT(*), amount AS group_by_derived_0 FROM t GROUP BY amount \
         ORDER BY 3"
    );
    assert_eq!(p.group_by, vec![2]);
}

#[test]
fn ambiguous_order_by_names_are_refused() {
    for sql in [
        "SELECT amount::text AS amount, amount FROM t ORDER BY amount",
        "SELECT amount::text, amount FROM t ORDER BY amount",
        "SELECT a AS x, b AS x FROM t ORDER BY x",
    ] {
        let e = refused(Dialect::PostgreSql, sql);
        assert!(e.contains("ambiguous"), "{sql}: {e}");
    }
    assert!(
        refused(Dialect::MySql, "SELECT a AS x, b AS x FROM t ORDER BY x").contains("ambiguous")
    );
    // The same expression twice, or an alias over another item's column,
    // is not ambiguous.
    plan(Dialect::PostgreSql, "SELECT a, a FROM t ORDER BY a");
    plan(
        Dialect::PostgreSql,
        "SELECT a AS b, b AS a FROM t ORDER BY a",
    );
}

#[test]
fn distinct_refuses_order_keys_outside_the_select_list() {
    for dialect in [Dialect::PostgreSql, Dialect::MySql] {
        let e = refused(dialect, "SELECT DISTINCT a FROM t ORDER BY b");
        assert!(e.contains("SELECT DISTINCT"), "{e}");
        let e = refused(
            dialect,
            "SELECT DISTINCT a, COUNT(DISTINCT c) FROM t GROUP BY a ORDER BY SUM(b)",
        );
        assert!(e.contains("SELECT DISTINCT"), "{e}");
        // A key that is a select item, by name or expression, is fine.
        plan(
            dialect,
            "SELECT DISTINCT a + 1 AS x FROM t ORDER BY a + 1, x",
        );
    }
}
