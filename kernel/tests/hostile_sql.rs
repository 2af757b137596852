//! Client SQL must never crash the kernel: long OR chains, deep nesting and
//! junk come back as routes or errors, on a thread with tokio's default
//! 2 MiB stack.

// A panic in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use shardwire_kernel::{plan, Dialect, ParseCache};

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

fn quickstart() -> shardwire_rules::RuleSnapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/conf");
    shardwire_rules::load_dir(&dir).unwrap()
}

#[test]
fn long_or_chain() {
    on_small_stack(|| {
        let snapshot = quickstart();
        let db = snapshot.database("sharding_db").unwrap();
        let terms: Vec<String> = (0..5000).map(|i| format!("user_id = {i}")).collect();
        let sql = format!("SELECT * FROM t_order WHERE {}", terms.join(" OR "));
        let cache = ParseCache::new(4);
        let result = plan(&cache, db, Dialect::MySql, &sql, &[]);
        let e = result.unwrap_err();
        assert!(e.to_string().contains("nested more than"), "{e}");
        // Just under the limit is routed, on this small stack.
        let terms: Vec<String> = (0..120).map(|i| format!("user_id = {i}")).collect();
        let sql = format!("SELECT * FROM t_order WHERE {}", terms.join(" OR "));
        assert_eq!(
            plan(&cache, db, Dialect::MySql, &sql, &[]).unwrap().len(),
            4
        );
    });
}

#[test]
fn deep_parentheses_are_refused_not_crashed() {
    on_small_stack(|| {
        let snapshot = quickstart();
        let db = snapshot.database("sharding_db").unwrap();
        let sql = format!(
            "SELECT * FROM t_order WHERE {}user_id = 1{}",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let cache = ParseCache::new(4);
        assert!(plan(&cache, db, Dialect::PostgreSql, &sql, &[]).is_err());
    });
}

#[test]
fn junk_is_an_error() {
    let snapshot = quickstart();
    let db = snapshot.database("sharding_db").unwrap();
    let cache = ParseCache::new(4);
    for sql in [
        "",
        "\0",
        "SELECT '",
        "SELECT * FROM",
        "))))",
        "INSERT INTO t_order (order_id) VALUES",
    ] {
        assert!(
            plan(&cache, db, Dialect::MySql, sql, &[]).is_err(),
            "{sql:?}"
        );
    }
}
