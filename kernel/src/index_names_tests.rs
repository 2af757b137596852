use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::parse::parse_one;

fn db() -> LogicalDatabase {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/quickstart/conf/database-sharding.yaml");
    shardwire_rules::load::load_database_file(&file).expect("the quickstart rules load")
}

fn plan_pg(
    sql: &str,
    owners: Option<&HashMap<String, Option<String>>>,
) -> Result<Option<Vec<SqlUnit>>, KernelError> {
    let statement = parse_one(Dialect::PostgreSql, sql).expect("parses");
    let options = PlanOptions {
        index_owners: owners.map(|o| o as &dyn IndexOwners),
        ..PlanOptions::default()
    };
    plan(&statement, &db(), Dialect::PostgreSql, &[], &options)
}

fn lines(units: Vec<SqlUnit>) -> Vec<String> {
    units
        .into_iter()
        .map(|u| format!("{}: {}", u.data_source, u.sql))
        .collect()
}

fn owned_by_t_order(names: &[&str]) -> HashMap<String, Option<String>> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), Some("t_order".to_owned())))
        .collect()
}

#[test]
fn short_names_are_index_then_table() {
    assert_eq!(
        actual_index_name("orders_by_user", "orders_0"),
        "orders_by_user_orders_0"
    );
    assert_eq!(
        logical_index_name("orders_by_user_orders_0", "orders_0"),
        Some("orders_by_user")
    );
    assert_eq!(logical_index_name("orders_0_pkey", "orders_0"), None);
    assert_eq!(logical_index_name("_orders_0", "orders_0"), None);
}

#[test]
fn long_names_fit_in_63_bytes_deterministically_and_stay_distinct() {
    let index = "an_index_whose_name_is_long_enough_to_need_shortening_by_itself";
    let a = actual_index_name(index, "orders_0");
    let b = actual_index_name(index, "orders_1");
    assert!(
        a.len() <= PG_MAX_IDENTIFIER && b.len() <= PG_MAX_IDENTIFIER,
        "{a} {b}"
    );
    assert_ne!(a, b);
    assert!(a.ends_with("_orders_0"), "{a}");
    assert_eq!(a, actual_index_name(index, "orders_0"));
    // Two long names that share their first bytes keep apart by the hash
    // (past 63 bytes the server cuts a name, so both are cut first).
    let other = format!("{}X", &index[..62]);
    assert_ne!(a, actual_index_name(&other, "orders_0"));
    assert_eq!(a, actual_index_name(&format!("{index}_cut"), "orders_0"));
    // Multi-byte characters are never split.
    let wide = "é".repeat(40);
    let w = actual_index_name(&wide, "orders_0");
    assert!(w.len() <= PG_MAX_IDENTIFIER, "{w}");
    // An actual table too long to keep as the ending.
    let table = "t".repeat(60);
    let t = actual_index_name("idx", &table);
    assert_eq!(t.len(), PG_MAX_IDENTIFIER);
    assert_ne!(t, actual_index_name("idy", &table));
}

#[test]
fn mysql_and_other_tables_are_left_alone() {
    let statement = parse_one(Dialect::MySql, "CREATE INDEX i ON t_order (user_id)").unwrap();
    let none = plan(
        &statement,
        &db(),
        Dialect::MySql,
        &[],
        &PlanOptions::default(),
    );
    assert!(matches!(none, Ok(None)));
    assert!(matches!(
        plan_pg("CREATE INDEX i ON t_address (city)", None),
        Ok(None)
    ));
}

#[test]
fn drop_index_asks_who_owns_the_name_then_reaches_every_actual_table() {
    let Err(KernelError::IndexOwnersNeeded { lookups }) =
        plan_pg("DROP INDEX IF EXISTS idx_user", None)
    else {
        panic!("the owner must be asked for");
    };
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].index, "idx_user");
    assert!(lookups[0].candidates.contains(&IndexCandidate {
        table: "t_order".into(),
        data_source: "ds_1".into(),
        actual_index: "idx_user_t_order_1".into(),
        on_table: "t_order_1".into(),
    }));
    let owners = owned_by_t_order(&["idx_user"]);
    let units = plan_pg("DROP INDEX IF EXISTS idx_user CASCADE", Some(&owners))
        .unwrap()
        .unwrap();
    assert_eq!(
        lines(units),
        vec![
            "ds_0: DROP INDEX IF EXISTS idx_user_t_order_0, idx_user_t_order_1 CASCADE",
            "ds_1: DROP INDEX IF EXISTS idx_user_t_order_0, idx_user_t_order_1 CASCADE",
        ]
    );
}

#[test]
fn drop_of_several_indexes_keeps_other_names_where_they_went() {
    let mut owners = owned_by_t_order(&["public.idx_user"]);
    owners.insert("plain_idx".into(), None);
    let units = plan_pg("DROP INDEX public.idx_user, plain_idx", Some(&owners))
        .unwrap()
        .unwrap();
    assert_eq!(
        lines(units),
        vec![
            "ds_0: DROP INDEX public.idx_user_t_order_0, public.idx_user_t_order_1, plain_idx",
            "ds_1: DROP INDEX public.idx_user_t_order_0, public.idx_user_t_order_1",
        ]
    );
    // No sharding table's index at all: planned as before.
    let none: HashMap<String, Option<String>> = [("plain_idx".to_owned(), None)].into();
    assert!(matches!(
        plan_pg("DROP INDEX plain_idx", Some(&none)),
        Ok(None)
    ));
}

#[test]
fn rename_renames_each_actual_tables_index() {
    let owners = owned_by_t_order(&["idx_user"]);
    let units = plan_pg("ALTER INDEX IDX_User RENAME TO idx_user_2", Some(&owners))
        .unwrap()
        .unwrap();
    assert_eq!(
        lines(units),
        vec![
            "ds_0: ALTER INDEX idx_user_t_order_0 RENAME TO idx_user_2_t_order_0",
            "ds_0: ALTER INDEX idx_user_t_order_1 RENAME TO idx_user_2_t_order_1",
            "ds_1: ALTER INDEX idx_user_t_order_0 RENAME TO idx_user_2_t_order_0",
            "ds_1: ALTER INDEX idx_user_t_order_1 RENAME TO idx_user_2_t_order_1",
        ]
    );
}

#[test]
fn a_broadcast_tables_index_keeps_its_name_on_every_data_source() {
    let Err(KernelError::IndexOwnersNeeded { lookups }) =
        plan_pg("DROP INDEX address_by_city", None)
    else {
        panic!("the owner must be asked for");
    };
    for ds in ["ds_0", "ds_1"] {
        assert!(lookups[0].candidates.contains(&IndexCandidate {
            table: "t_address".into(),
            data_source: ds.into(),
            actual_index: "address_by_city".into(),
            on_table: "t_address".into(),
        }));
    }
    let owners: HashMap<String, Option<String>> =
        [("address_by_city".to_owned(), Some("t_address".to_owned()))].into();
    let units = plan_pg("DROP INDEX address_by_city", Some(&owners))
        .unwrap()
        .unwrap();
    assert_eq!(
        lines(units),
        vec![
            "ds_0: DROP INDEX address_by_city",
            "ds_1: DROP INDEX address_by_city"
        ]
    );
    let units = plan_pg(
        "ALTER INDEX address_by_city RENAME TO by_city",
        Some(&owners),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        lines(units),
        vec![
            "ds_0: ALTER INDEX address_by_city RENAME TO by_city",
            "ds_1: ALTER INDEX address_by_city RENAME TO by_city"
        ]
    );
}
