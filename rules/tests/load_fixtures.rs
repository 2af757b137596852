//! Real ShardingSphere-format conf directories load, and their expanded
//! data nodes and strategies are what ShardingSphere would make of them.

// Helpers outside #[test] fns may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use shardwire_rules::snapshot::{DatabaseProtocol, ListenerProtocol, Strategy};
use shardwire_rules::{load_dir, ShardingValue};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn nodes(db: &shardwire_rules::snapshot::LogicalDatabase, table: &str) -> Vec<String> {
    db.sharding
        .table(table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .data_nodes
        .iter()
        .map(|n| n.to_string())
        .collect()
}

#[test]
fn documented_inline_sharding_example_loads() {
    let snap = load_dir(&fixture("sharding-inline")).unwrap();
    let db = snap.database("sharding_db").unwrap();
    assert_eq!(
        nodes(db, "t_order"),
        [
            "ds_0.t_order_0",
            "ds_0.t_order_1",
            "ds_1.t_order_0",
            "ds_1.t_order_1"
        ]
    );
    assert_eq!(
        nodes(db, "T_ORDER_ITEM"),
        [
            "ds_0.t_order_item_0",
            "ds_0.t_order_item_1",
            "ds_1.t_order_item_0",
            "ds_1.t_order_item_1"
        ]
    );
    let t = db.sharding.table("t_order").unwrap();
    // The default database strategy applies; the table's own wins.
    match &t.database_strategy {
        Strategy::Standard {
            column,
            algorithm_name,
            algorithm,
        } => {
            assert_eq!(column, "user_id");
            assert_eq!(algorithm_name, "database_inline");
            let ds = ["ds_0".to_owned(), "ds_1".to_owned()];
            assert_eq!(
                algorithm
                    .precise(&ds, "user_id", &ShardingValue::Int(7))
                    .unwrap(),
                1
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(t.table_strategy.columns(), ["order_id"]);
    assert_eq!(t.key_generate.as_ref().unwrap().column, "order_id");
    assert_eq!(
        t.key_generate.as_ref().unwrap().generator.type_name(),
        "SNOWFLAKE"
    );
    assert!(db.sharding.are_bound("t_order", "T_ORDER_ITEM"));
    assert!(db.is_broadcast("t_address"));
    assert!(!db.is_passthrough());
    let ds0 = &db.data_sources["ds_0"];
    assert_eq!(ds0.protocol, DatabaseProtocol::PostgreSql);
    assert_eq!(
        (ds0.port, ds0.database.as_str(), ds0.max_pool_size),
        (5432, "demo_ds_0", 50)
    );

    // global.yaml: users, props, and the default listener from props.
    assert_eq!(snap.global.users.len(), 2);
    let root = snap.global.find_user("root", "10.1.2.3").unwrap();
    assert!(root.admin && root.may_use("sharding_db"));
    assert_eq!(snap.global.listeners.len(), 1);
    assert_eq!(
        snap.global.listeners[0].protocol,
        ListenerProtocol::PostgreSql
    );
    assert_eq!(snap.global.listeners[0].address.port(), 5433);
    assert_eq!(snap.global.transaction_type, "LOCAL");
}

#[test]
fn auto_tables_are_laid_out_round_robin() {
    let snap = load_dir(&fixture("sharding-auto")).unwrap();
    let db = snap.database("auto_db").unwrap();
    assert_eq!(
        nodes(db, "t_order"),
        [
            "ds_0.t_order_0",
            "ds_1.t_order_1",
            "ds_0.t_order_2",
            "ds_1.t_order_3"
        ]
    );
    // No actualDataSources: every data source, in declared order.
    assert_eq!(
        nodes(db, "t_user"),
        ["ds_0.t_user_0", "ds_1.t_user_1", "ds_0.t_user_2"]
    );
    // BOUNDARY_RANGE 10,20,30: four partitions.
    assert_eq!(nodes(db, "t_range").len(), 4);
    let t = db.sharding.table("t_order").unwrap();
    assert!(t.auto);
    assert!(matches!(t.database_strategy, Strategy::None));
    assert_eq!(t.tables_by_data_source["ds_1"], ["t_order_1", "t_order_3"]);
    assert_eq!(
        t.key_generate.as_ref().unwrap().generator.type_name(),
        "UUID"
    );
    assert_eq!(db.data_sources["ds_0"].protocol, DatabaseProtocol::MySql);
    assert_eq!(db.data_sources["ds_0"].password, "");
    assert_eq!(db.single_tables.len(), 2);
    assert_eq!(db.single_default_data_source.as_deref(), Some("ds_0"));

    // DATABASE_PERMITTED: app may use auto_db only, root everything.
    let app = snap.global.find_user("app", "127.0.0.1").unwrap();
    assert!(app.may_use("auto_db") && !app.may_use("other_db"));
    assert!(snap.global.find_user("app", "10.0.0.9").is_none());
    assert!(snap
        .global
        .find_user("root", "10.0.0.9")
        .unwrap()
        .may_use("other_db"));
    assert_eq!(snap.global.listeners.len(), 2);
    assert_eq!(snap.global.max_connections_size_per_query, 4);
    assert!(snap.global.sql_show);
}

#[test]
fn readwrite_groups_are_data_sources_for_nodes() {
    let snap = load_dir(&fixture("readwrite-splitting")).unwrap();
    let db = snap.database("readwrite_splitting_db").unwrap();
    let g = &db.readwrite_groups[0];
    assert_eq!(g.name, "readwrite_ds");
    assert_eq!(g.write_data_source, "write_ds");
    assert_eq!(g.read_data_sources, ["read_ds_0", "read_ds_1"]);
    assert_eq!(g.load_balancer_type.as_deref(), Some("RANDOM"));
    assert_eq!(
        nodes(db, "t_order"),
        ["readwrite_ds.t_order_0", "readwrite_ds.t_order_1"]
    );
    // No `@host`: any host.
    assert!(snap.global.find_user("root", "192.168.0.1").is_some());
    assert_eq!(snap.global.listeners[0].protocol, ListenerProtocol::MySql);
    assert_eq!(snap.global.listeners[0].address.port(), 3307);
}

#[test]
fn legacy_spellings_and_other_strategies_load() {
    let snap = load_dir(&fixture("legacy-5.3")).unwrap();
    let db = snap.database("legacy_db").unwrap();
    assert_eq!(
        nodes(db, "t_log"),
        [
            "pr_ds.t_log_202401",
            "pr_ds.t_log_202402",
            "pr_ds.t_log_202403"
        ]
    );
    assert!(db.is_broadcast("T_DICT"));
    assert_eq!(db.readwrite_groups[0].write_data_source, "primary_ds");
    assert_eq!(
        db.data_sources["primary_ds"].protocol,
        DatabaseProtocol::OpenGauss
    );
    let c = db.sharding.table("t_complex").unwrap();
    assert_eq!(c.table_strategy.columns(), ["a", "b"]);
    assert!(matches!(
        db.sharding.table("t_hinted").unwrap().table_strategy,
        Strategy::Hint { .. }
    ));
    let log = db.sharding.table("t_log").unwrap();
    let targets = &log.actual_tables;
    let Strategy::Standard { algorithm, .. } = &log.table_strategy else {
        panic!("standard expected")
    };
    let i = algorithm
        .precise(
            targets,
            "created_at",
            &ShardingValue::from("2024-02-29 10:00:00"),
        )
        .unwrap();
    assert_eq!(targets[i], "t_log_202402");
}
