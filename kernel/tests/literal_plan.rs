//! The simple protocol's literal path against the full path: whenever
//! `plan_literal_statement` answers, its one unit must be exactly the unit
//! `plan_with` produces from the same text (same data source, same SQL);
//! and it must answer for the statements it exists for, from one cache
//! entry however the literals change.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use shardwire_kernel::{plan_literal_statement, plan_with, Dialect, ParseCache, PlanOptions};

fn quickstart() -> shardwire_rules::RuleSnapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/conf");
    shardwire_rules::load_dir(&dir).unwrap()
}

/// Statements the literal path must take, and the unit it must give.
const TAKEN: &[&str] = &[
    "SELECT * FROM t_order WHERE user_id = 1 AND order_id = 2",
    "SELECT * FROM t_order WHERE user_id = 7 AND order_id = 10",
    "select status from t_order o where o.user_id = 3 and o.order_id = 5 -- 9\n",
    "SELECT * FROM t_order WHERE user_id = 2 AND order_id IN (4, 6)",
    "SELECT i.* FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id WHERE o.user_id = 1 AND o.order_id = 3 AND i.user_id = 1 AND i.order_id = 3",
    "UPDATE t_order SET status = 'it''s done' WHERE user_id = 4 AND order_id = 8",
    "DELETE FROM t_order WHERE user_id = 5 AND order_id = 11",
    "SELECT * FROM sharding_db.t_order WHERE user_id = 1 AND order_id = 1",
];

/// Statements it may take or leave (an INSERT's rows are routed per row,
/// so today it leaves them); taken, the unit must still be the full path's.
const EITHER: &[&str] = &[
    "INSERT INTO t_order (order_id, user_id, status) VALUES (12, 6, 'new')",
    "SELECT * FROM t_order WHERE user_id = 1 AND order_id = 2 FOR UPDATE",
    "SELECT DATE '2020-01-01' FROM t_order WHERE user_id = 1 AND order_id = 1",
    "WITH x AS (SELECT * FROM t_order WHERE user_id = 1 AND order_id = 2) SELECT * FROM x",
];

/// Statements it must leave to the full path.
const LEFT: &[&str] = &[
    // Several units (and a merge).
    "SELECT * FROM t_order ORDER BY order_id LIMIT 10",
    "SELECT * FROM t_order WHERE user_id IN (1, 2) AND order_id = 3",
    // A generated key.
    "INSERT INTO t_order (user_id, status) VALUES (1, 'a')",
    // Not a query or a write.
    "SET search_path = 'x'",
    // No literal to take out.
    "SELECT * FROM t_order WHERE user_id = $1 AND order_id = $2",
    // A signed literal stays in the text, so nothing is taken out here.
    "SELECT * FROM t_order WHERE user_id = -1 AND order_id = -2",
    // Not parsable with placeholders where the literals were.
    "SELECT status::numeric(10, 2) FROM t_order WHERE user_id = 1 AND order_id = 1",
];

#[test]
fn literal_units_equal_the_full_paths_units() {
    let snapshot = quickstart();
    let db = snapshot.database("sharding_db").unwrap();
    let cache = ParseCache::new(64);
    let full_plan = |sql: &str| {
        plan_with(
            &cache,
            db,
            Dialect::PostgreSql,
            sql,
            &[],
            &PlanOptions::default(),
        )
        .unwrap()
    };
    for sql in TAKEN {
        let literal = plan_literal_statement(&cache, db, Dialect::PostgreSql, sql)
            .unwrap_or_else(|| panic!("not taken: {sql}"));
        let full = full_plan(sql);
        assert!(full.merge.is_none(), "{sql}");
        assert_eq!(full.units, vec![literal.unit], "{sql}");
    }
    for sql in EITHER {
        if let Some(literal) = plan_literal_statement(&cache, db, Dialect::PostgreSql, sql) {
            let full = full_plan(sql);
            assert_eq!(full.units, vec![literal.unit], "{sql}");
        }
    }
    for sql in LEFT {
        assert!(
            plan_literal_statement(&cache, db, Dialect::PostgreSql, sql).is_none(),
            "taken: {sql}"
        );
    }
    // MySQL text is never normalized.
    assert!(plan_literal_statement(&cache, db, Dialect::MySql, TAKEN[0]).is_none());
}

#[test]
fn new_literals_reuse_one_parse() {
    let snapshot = quickstart();
    let db = snapshot.database("sharding_db").unwrap();
    let cache = ParseCache::new(64);
    let mut units = Vec::new();
    for id in 0..40 {
        let sql = format!("SELECT status FROM t_order WHERE user_id = {id} AND order_id = {id}");
        let plan = plan_literal_statement(&cache, db, Dialect::PostgreSql, &sql).unwrap();
        assert!(
            plan.unit.sql.contains(&format!("= {id} AND")),
            "{}",
            plan.unit.sql
        );
        units.push(plan.unit);
    }
    assert_eq!(cache.len(), 1, "one shape for every literal");
    // The literals routed: both data sources and both tables were reached.
    for ds in ["ds_0", "ds_1"] {
        assert!(units.iter().any(|u| u.data_source == ds), "{ds}");
    }
    for table in ["t_order_0 ", "t_order_1 "] {
        assert!(units.iter().any(|u| u.sql.contains(table)), "{table}");
    }
}

#[test]
fn unparsable_shapes_fall_back_to_the_full_path() {
    let snapshot = quickstart();
    let db = snapshot.database("sharding_db").unwrap();
    let cache = ParseCache::new(2);
    for i in 0..10 {
        let sql = format!("SELECT status::numeric({i}, 2) FROM t_order WHERE user_id = {i}");
        assert!(plan_literal_statement(&cache, db, Dialect::PostgreSql, &sql).is_none());
    }
    // The full path still plans it.
    let sql = "SELECT status::numeric(10, 2) FROM t_order WHERE user_id = 1 AND order_id = 1";
    assert!(plan_with(
        &cache,
        db,
        Dialect::PostgreSql,
        sql,
        &[],
        &PlanOptions::default()
    )
    .is_ok());
}
