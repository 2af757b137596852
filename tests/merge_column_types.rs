// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Expressions the proxy computes over merged aggregates take the types
//! the rows themselves do not carry from the shards' column descriptions,
//! and answer as one database holding all the rows would (the reference
//! here: a table with the same rows on one shard):
//! - PostgreSQL: int4 / int2 arithmetic fails at its own width (`max(x) +
//!   1` over an int4 at its maximum is `integer out of range`, 22003), not
//!   at 64 bits;
//! - MariaDB: `COALESCE(SUM(amount), 0)` over no rows shows the SUM's
//!   decimals (`0.00`), which the shards' description of the computed
//!   column gives.

mod support;
mod support_mysql;

const PG_TABLE: &str =
    "(order_id bigint PRIMARY KEY, user_id int NOT NULL, qty int, small smallint)";
const PG_ROWS: &str = "(1, 1, 2147483647, 20000), (2, 2, 5, 20000), (3, 3, 7, 1)";

#[test]
fn postgresql_integer_arithmetic_over_merged_aggregates_fails_at_its_width() {
    let d = support::start();
    d.psql_ok("sharding_db", &format!("CREATE TABLE t_order {PG_TABLE}"));
    d.psql_ok(
        "sharding_db",
        &format!("INSERT INTO t_order VALUES {PG_ROWS}"),
    );
    let reference = &d.shards[0];
    reference
        .psql(&format!(
            "CREATE TABLE t_ref {PG_TABLE}; INSERT INTO t_ref VALUES {PG_ROWS}"
        ))
        .unwrap();
    for (query, server_says) in [
        ("SELECT max(qty) + 1 FROM {t}", "integer out of range"),
        ("SELECT -(-max(qty) - 1) FROM {t}", "integer out of range"),
        (
            "SELECT user_id % 2, max(small) + max(small) FROM {t} GROUP BY 1 ORDER BY 1",
            "smallint out of range",
        ),
    ] {
        let (ok, _, err) = d.psql("sharding_db", &query.replace("{t}", "t_order"));
        assert!(!ok, "{query} succeeded through the proxy");
        assert!(err.contains(server_says), "{query}: {err}");
        let on_one = reference.psql(&query.replace("{t}", "t_ref"));
        assert!(
            on_one
                .as_ref()
                .is_err_and(|e| e.to_string().contains(server_says)),
            "{query}: the server answered {on_one:?}"
        );
    }
    // Widened by an int8 operand, or computed in range: the same answer.
    for query in [
        "SELECT max(qty)::bigint + 1 FROM {t}",
        "SELECT max(qty) + 2147483648 FROM {t}",
        "SELECT user_id % 2, max(small) + 1, sum(qty) + 1 FROM {t} GROUP BY 1 ORDER BY 1",
    ] {
        let proxied = d.psql_ok("sharding_db", &query.replace("{t}", "t_order"));
        let direct = reference.psql(&query.replace("{t}", "t_ref")).unwrap();
        assert_eq!(proxied.trim(), direct.trim(), "{query}");
    }
}

const MY_TABLE: &str =
    "(order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount DECIMAL(10, 2), qty INT)";
const MY_ROWS: &str = "(1, 1, 10.50, 2), (2, 2, 3.25, 1)";

#[test]
fn mysql_coalesce_over_an_empty_sum_shows_its_decimals() {
    let d = support_mysql::start();
    d.mariadb_ok(&format!(
        "CREATE TABLE t_order {MY_TABLE}; INSERT INTO t_order VALUES {MY_ROWS};"
    ));
    d.on_shard(
        0,
        &format!("CREATE TABLE t_ref {MY_TABLE}; INSERT INTO t_ref VALUES {MY_ROWS};"),
    );
    for query in [
        "SELECT COALESCE(SUM(amount), 0) FROM {t} WHERE amount < 0",
        "SELECT IFNULL(MAX(amount), -1), COALESCE(SUM(qty), 0) FROM {t} WHERE amount < 0",
        "SELECT COALESCE(SUM(amount), 0) FROM {t}",
        "SELECT COALESCE(SUM(amount) * 2, 0), COALESCE(MIN(qty), 0.5) FROM {t} WHERE amount < 0",
        "SELECT qty, COALESCE(SUM(amount), 1) FROM {t} GROUP BY qty ORDER BY qty",
    ] {
        let proxied = d.mariadb_ok(&format!("{};", query.replace("{t}", "t_order")));
        let direct = d.on_shard(0, &format!("{};", query.replace("{t}", "t_ref")));
        assert_eq!(proxied.trim(), direct.trim(), "{query}");
    }
}
