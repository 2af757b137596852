//! Generated keys from the rules' real generators (time-based SNOWFLAKE,
//! random UUID), whose values the golden cases cannot spell out: the shape
//! of the SQL, the reported keys, and that the key chose the route.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use shardwire_kernel::{plan_with, Dialect, ParseCache, PlanOptions};
use shardwire_rules::keygen::GeneratedKey;

fn quickstart() -> shardwire_rules::RuleSnapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/conf");
    shardwire_rules::load_dir(&dir).unwrap()
}

#[test]
fn snowflake_keys_are_added_reported_and_route_each_row() {
    let snapshot = quickstart();
    let db = snapshot.database("sharding_db").unwrap();
    let cache = ParseCache::new(4);
    let plan = plan_with(
        &cache,
        db,
        Dialect::MySql,
        "INSERT INTO t_order (user_id, status) VALUES (1, 'a'), (1, 'b'), (1, 'c'), (1, 'd')",
        &[],
        &PlanOptions::default(),
    )
    .unwrap();
    let generated = plan.generated_keys.unwrap();
    assert_eq!(generated.column, "order_id");
    let keys: Vec<i64> = generated
        .keys
        .iter()
        .map(|k| match k {
            GeneratedKey::Int(v) => *v,
            GeneratedKey::Text(s) => panic!("snowflake gave text {s}"),
        })
        .collect();
    assert_eq!(keys.len(), 4);
    // Snowflake ids grow: distinct and positive.
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert!(plan.merge.is_none());
    // Every key sits in the unit of its parity (order_id % 2), once.
    let mut seen = 0;
    for unit in &plan.units {
        assert_eq!(unit.data_source, "ds_1");
        let table = if unit.sql.starts_with("INSERT INTO t_order_0 ") {
            0
        } else {
            assert!(
                unit.sql.starts_with("INSERT INTO t_order_1 "),
                "{}",
                unit.sql
            );
            1
        };
        assert!(
            unit.sql.contains("(user_id, status, order_id) VALUES"),
            "{}",
            unit.sql
        );
        for key in &keys {
            if unit.sql.contains(&format!(", {key})")) {
                assert_eq!(key.rem_euclid(2), table, "{key} in {}", unit.sql);
                seen += 1;
            }
        }
    }
    assert_eq!(seen, keys.len(), "{:?}", plan.units);
}

#[test]
fn uuid_key_on_a_mod_sharding_column_is_refused_by_the_algorithm() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/tests/fixtures/sharding-auto");
    let snapshot = shardwire_rules::load_dir(&dir).unwrap();
    let db = snapshot.databases.values().next().unwrap();
    let cache = ParseCache::new(4);
    // t_order's UUID key is its MOD sharding column, which needs integers:
    // the generated key is refused by the algorithm, not written blindly.
    let e = plan_with(
        &cache,
        db,
        Dialect::MySql,
        "INSERT INTO t_order (user_id) VALUES (1)",
        &[],
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("expected an integer"), "{e}");
}
