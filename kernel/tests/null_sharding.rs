//! NULL as a sharding value: an INSERT of it goes where the database can
//! refuse it (a NOT NULL column) or is refused by name (a nullable one,
//! whose NULL row no data node holds); `= NULL` / `IN (NULL)` / `> NULL`
//! in a WHERE match no row, so they route to one node for the empty
//! answer instead of asking the algorithm about NULL.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use shardwire_kernel::{
    plan_with, ColumnMeta, Dialect, KernelError, ParseCache, PlanOptions, TableMeta,
};
use shardwire_rules::ShardingValue;

fn quickstart() -> shardwire_rules::RuleSnapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/conf");
    shardwire_rules::load_dir(&dir).unwrap()
}

fn metadata(user_id_nullable: bool) -> HashMap<String, Arc<TableMeta>> {
    let column = |name: &str, nullable: bool| ColumnMeta {
        name: name.into(),
        data_type: "bigint".into(),
        nullable,
        primary_key: name == "order_id",
    };
    let meta = TableMeta {
        columns: vec![
            column("order_id", false),
            column("user_id", user_id_nullable),
            column("status", true),
        ],
    };
    HashMap::from([("t_order".to_owned(), Arc::new(meta))])
}

fn plan(
    sql: &str,
    params: &[ShardingValue],
    meta: Option<&HashMap<String, Arc<TableMeta>>>,
) -> Result<shardwire_kernel::Plan, KernelError> {
    let snapshot = quickstart();
    let db = snapshot.database("sharding_db").unwrap();
    let options = PlanOptions {
        metadata: meta.map(|m| m as &dyn shardwire_kernel::MetadataSource),
        ..PlanOptions::default()
    };
    plan_with(
        &ParseCache::new(4),
        db,
        Dialect::PostgreSql,
        sql,
        params,
        &options,
    )
}

#[test]
fn a_null_into_a_not_null_sharding_column_goes_whole_to_one_node() {
    let meta = metadata(false);
    for (sql, params) in [
        (
            "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 1, 'a'), (2, NULL, 'b')",
            vec![],
        ),
        (
            "INSERT INTO t_order (order_id, user_id, status) VALUES (1, $1, 'a'), (2, $2, 'b')",
            vec![ShardingValue::Int(1), ShardingValue::Null],
        ),
    ] {
        let p = plan(sql, &params, Some(&meta)).unwrap();
        // One statement with every row: the database refuses it whole.
        assert_eq!(p.units.len(), 1, "{sql}");
        let unit = &p.units[0].sql;
        assert!(unit.starts_with("INSERT INTO t_order_0 "), "{unit}");
        assert!(unit.contains("'a'") && unit.contains("'b'"), "{unit}");
    }
}

#[test]
fn a_null_into_a_nullable_sharding_column_is_refused_by_name() {
    let meta = metadata(true);
    let e = plan(
        "INSERT INTO t_order (order_id, user_id) VALUES ($1, $2)",
        &[ShardingValue::Int(3), ShardingValue::Null],
        Some(&meta),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("NULL sharding value"), "{text}");
    assert!(text.contains("user_id"), "{text}");
}

#[test]
fn without_metadata_the_planner_asks_for_it() {
    let e = plan(
        "INSERT INTO t_order (order_id, user_id) VALUES (3, NULL)",
        &[],
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, KernelError::MetadataNeeded { table } if table == "t_order"),
        "{e}"
    );
}

#[test]
fn equal_to_null_matches_no_row_and_asks_no_algorithm() {
    for (sql, params) in [
        ("SELECT * FROM t_order WHERE user_id = NULL", vec![]),
        (
            "SELECT * FROM t_order WHERE user_id = $1 AND order_id = 2",
            vec![ShardingValue::Null],
        ),
        (
            "UPDATE t_order SET status = 'x' WHERE user_id > NULL",
            vec![],
        ),
        ("DELETE FROM t_order WHERE user_id IN (NULL)", vec![]),
    ] {
        let p = plan(sql, &params, None).unwrap();
        assert_eq!(p.units.len(), 1, "{sql}: {:?}", p.units);
    }
    // A NULL beside real values drops out: the route is theirs.
    let p = plan(
        "SELECT * FROM t_order WHERE user_id IN (1, NULL) AND order_id = 3",
        &[],
        None,
    )
    .unwrap();
    assert_eq!(p.units.len(), 1);
    assert_eq!(p.units[0].data_source, "ds_1");
    assert!(p.units[0].sql.contains("t_order_1"), "{}", p.units[0].sql);
}
