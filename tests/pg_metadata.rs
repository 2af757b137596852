// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Table metadata through Shardwire over two real PostgreSQL shards: INSERT
//! without a column list into sharded (with and without a key generator),
//! broadcast and single tables, read back from each shard directly; the
//! column list after ALTER TABLE ... ADD COLUMN; REFRESH TABLE METADATA;
//! pgbench's multi-table DROP TABLE IF EXISTS and TRUNCATE as one logical
//! statement; a shard down when the proxy starts.

mod support;

use std::path::Path;

use shardwire_testkit::shardwire::ShardwireProcess;
use shardwire_testkit::{free_port, pg_shards, PgInstance};
use support::Deployment;

/// The support module's rules plus `t_item` (sharded by user_id, one table
/// per shard, no key generator) and `t_single` (a single table on ds_1).
fn extra_rules(sharding: &str) -> String {
    let item = "    t_item:\n      actualDataNodes: ds_${0..1}.t_item\n      databaseStrategy:\n        \
                standard:\n          shardingColumn: user_id\n          shardingAlgorithmName: by_user\n\
                \x20     tableStrategy:\n        none: {}\n";
    sharding.replacen(
        "  shardingAlgorithms:\n",
        &format!("{item}  shardingAlgorithms:\n"),
        1,
    ) + "- !SINGLE\n  tables:\n    - ds_1.t_single\n"
}

/// Two shards and the proxy; `before_proxy` runs on the shards first (to
/// stop one before the proxy starts).
fn deploy(before_proxy: impl FnOnce(&mut [PgInstance])) -> Deployment {
    let mut shards = pg_shards(2).unwrap();
    let ports: Vec<u16> = shards.iter().map(PgInstance::port).collect();
    let conf = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let (global, sharding, direct) = support::rules(&ports, port);
    std::fs::write(conf.path().join("global.yaml"), global).unwrap();
    std::fs::write(
        conf.path().join("database-sharding.yaml"),
        extra_rules(&sharding),
    )
    .unwrap();
    std::fs::write(conf.path().join("database-direct.yaml"), direct).unwrap();
    before_proxy(&mut shards);
    let proxy =
        ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf.path()).unwrap();
    Deployment {
        shards,
        proxy,
        conf,
        port,
    }
}

const SCHEMA: &str = "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
                      status VARCHAR(16), amount NUMERIC(10,2)); \
                      CREATE TABLE t_item (item_id INT, user_id INT NOT NULL, note TEXT); \
                      CREATE TABLE t_region (id INT PRIMARY KEY, name TEXT); \
                      CREATE TABLE t_single (id INT PRIMARY KEY, name TEXT)";

fn on_shard(d: &Deployment, shard: usize, sql: &str) -> String {
    d.shards[shard].psql(sql).unwrap().trim().to_owned()
}

/// psql's stderr for `sql` through the proxy, which must fail.
fn proxy_error(d: &Deployment, sql: &str) -> String {
    let (ok, _, err) = d.psql("sharding_db", sql);
    assert!(!ok, "{sql} should fail");
    err
}

#[test]
fn insert_without_columns_lands_where_the_values_say() {
    let d = deploy(|_| {});
    d.psql_ok("sharding_db", SCHEMA);
    // Key given: 4 values for 4 columns, routed by user_id and order_id.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (1, 1, 'paid', 10.50), (2, 2, 'new', 20.00), (3, 3, 'new', 3.00)",
    );
    assert_eq!(
        on_shard(&d, 1, "select order_id, status from t_order_1 order by 1"),
        "1|paid\n3|new"
    );
    assert_eq!(
        on_shard(&d, 0, "select order_id, amount from t_order_0"),
        "2|20.00"
    );
    assert_eq!(on_shard(&d, 0, "select count(*) from t_order_1"), "0");
    // Key left out: 3 values are every column but order_id, which is generated.
    d.psql_ok("sharding_db", "INSERT INTO t_order VALUES (5, 'gen', 7.75)");
    assert_eq!(
        on_shard(
            &d,
            1,
            "select status, amount, order_id > 1000 from (select * from t_order_0 union all \
             select * from t_order_1) o where user_id = 5"
        ),
        "gen|7.75|t"
    );
    assert_eq!(
        on_shard(&d, 0, "select count(*) from t_order_0 where user_id = 5"),
        "0"
    );
    // No key generator: the values are the leading columns, as in PostgreSQL.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_item VALUES (10, 4, 'four'); INSERT INTO t_item VALUES (11, 7)",
    );
    assert_eq!(
        on_shard(&d, 0, "select item_id, note from t_item"),
        "10|four"
    );
    assert_eq!(
        on_shard(&d, 1, "select item_id, coalesce(note, 'null') from t_item"),
        "11|null"
    );
    // Broadcast and single tables: every shard, or the one that holds it.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_region VALUES (1, 'north'); INSERT INTO t_single VALUES (7, 'only')",
    );
    for shard in 0..2 {
        assert_eq!(on_shard(&d, shard, "select name from t_region"), "north");
    }
    assert_eq!(on_shard(&d, 1, "select name from t_single"), "only");
    assert_eq!(
        on_shard(
            &d,
            0,
            "select count(*) from pg_tables where tablename = 't_single'"
        ),
        "0"
    );

    // A wrong count is refused in PostgreSQL's words, before any shard
    // runs it.
    let direct = d.shards[0]
        .psql("INSERT INTO t_order_0 VALUES (1, 2, 'a', 1.0, 'extra')")
        .unwrap_err()
        .to_string();
    let ours = proxy_error(&d, "INSERT INTO t_order VALUES (9, 2, 'a', 1.0, 'extra')");
    let words = "ERROR:  INSERT has more expressions than target columns";
    assert!(direct.contains(words), "{direct}");
    assert!(ours.contains(words), "{ours}");
    let ours = proxy_error(&d, "INSERT INTO t_order VALUES (9, 2, 'a', 1.0), (10, 2)");
    assert!(
        ours.contains("VALUES lists must all be the same length"),
        "{ours}"
    );
    assert_eq!(
        on_shard(&d, 0, "select count(*) from t_order_1 where order_id = 9"),
        "0"
    );

    // Moving a row to another shard by UPDATE is refused, and nothing moves.
    let ours = proxy_error(&d, "UPDATE t_order SET user_id = 4 WHERE order_id = 2");
    assert!(ours.contains("UPDATE of sharding column user_id"), "{ours}");
    assert_eq!(
        on_shard(&d, 0, "select user_id from t_order_0 where order_id = 2"),
        "2"
    );
    d.psql_ok(
        "sharding_db",
        "UPDATE t_order SET user_id = 2, status = 'kept' WHERE order_id = 2 AND user_id = 2",
    );
    assert_eq!(
        on_shard(&d, 0, "select status from t_order_0 where order_id = 2"),
        "kept"
    );
}

#[test]
fn the_extended_protocol_binds_values_without_columns() {
    let d = deploy(|_| {});
    d.psql_ok("sharding_db", SCHEMA);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(&d).await;
        // tokio-postgres prepares (Parse, Describe) and then binds the
        // described types: the proxy must describe the statement with its
        // column list written in.
        for (order, user) in [(20i64, 2i32), (21, 3)] {
            let n = client
                .execute(
                    "INSERT INTO t_order VALUES ($1, $2, $3, $4)",
                    &[&order, &user, &"bound", &rust_decimal::Decimal::new(125, 2)],
                )
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
    });
    assert_eq!(
        on_shard(&d, 0, "select order_id, amount from t_order_0"),
        "20|1.25"
    );
    assert_eq!(
        on_shard(&d, 1, "select order_id, status from t_order_1"),
        "21|bound"
    );
}

#[test]
fn ddl_and_refresh_keep_the_column_list_current() {
    let d = deploy(|_| {});
    d.psql_ok("sharding_db", SCHEMA);
    // Loads t_order's four columns.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (1, 1, 'a', 1.00)",
    );
    // ALTER through the proxy: the next INSERT has five values.
    d.psql_ok("sharding_db", "ALTER TABLE t_order ADD COLUMN note TEXT");
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (2, 2, 'b', 2.00, 'noted')",
    );
    assert_eq!(
        on_shard(&d, 0, "select note from t_order_0 where order_id = 2"),
        "noted"
    );
    // Key generated with the new column too: 4 values = every column but the key.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (4, 'g', 3.00, 'gen-note')",
    );
    assert_eq!(
        on_shard(
            &d,
            0,
            "select count(*) from t_order_0 where note = 'gen-note'"
        )
        .parse::<i32>()
        .unwrap()
            + on_shard(
                &d,
                0,
                "select count(*) from t_order_1 where note = 'gen-note'"
            )
            .parse::<i32>()
            .unwrap(),
        1
    );

    // Changed behind the proxy's back: the cached list is stale until
    // REFRESH TABLE METADATA.
    for shard in 0..2 {
        for t in ["t_order_0", "t_order_1"] {
            d.shards[shard]
                .psql(&format!("ALTER TABLE {t} ADD COLUMN extra INT"))
                .unwrap();
        }
    }
    let stale = proxy_error(&d, "INSERT INTO t_order VALUES (6, 2, 'c', 1.00, 'n', 42)");
    assert!(
        stale.contains("more expressions than target columns"),
        "{stale}"
    );
    assert_eq!(
        d.psql_ok("sharding_db", "REFRESH TABLE METADATA t_order"),
        ""
    );
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (6, 2, 'c', 1.00, 'n', 42)",
    );
    assert_eq!(
        on_shard(&d, 0, "select extra from t_order_0 where order_id = 6"),
        "42"
    );
    assert_eq!(d.psql_ok("sharding_db", "refresh table metadata;"), "");

    // One actual table differs: the refresh names it in the log.
    d.shards[1]
        .psql("ALTER TABLE t_order_0 DROP COLUMN extra")
        .unwrap();
    d.psql_ok("sharding_db", "REFRESH TABLE METADATA t_order");
    let log = std::fs::read_to_string(d.proxy.log_path()).unwrap();
    let warning = log
        .lines()
        .find(|l| l.contains("disagree"))
        .unwrap_or_else(|| panic!("no disagreement logged:\n{log}"));
    assert!(warning.contains("ds_1.t_order_0"), "{warning}");
    assert!(!warning.contains("ds_0.t_order_0"), "{warning}");
}

#[test]
fn multi_table_drop_and_truncate_answer_as_one_statement() {
    let d = deploy(|_| {});
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
         status VARCHAR(16), amount NUMERIC(10,2)); CREATE TABLE t_region (id INT PRIMARY KEY, name TEXT)",
    );
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id) VALUES (1, 1), (2, 2); \
         INSERT INTO t_region VALUES (1, 'n')",
    );
    // psql prints the command tag only without -q: run it through a
    // script that echoes nothing but notices on stderr.
    d.psql_ok("sharding_db", "TRUNCATE t_order, t_region");
    for shard in 0..2 {
        assert_eq!(
            on_shard(
                &d,
                shard,
                "select (select count(*) from t_order_0) + (select count(*) from t_order_1) + \
                 (select count(*) from t_region)"
            ),
            "0"
        );
    }
    // t_item was never created: each shard says so, the client hears it once.
    let (ok, _, stderr) = d.psql(
        "sharding_db",
        "drop table if exists t_order, t_item, t_region",
    );
    assert!(ok, "{stderr}\n{}", d.proxy.log_tail());
    assert_eq!(
        stderr.matches("NOTICE:").count(),
        1,
        "one notice for the missing table: {stderr}"
    );
    assert!(
        stderr.contains("table \"t_item\" does not exist, skipping"),
        "{stderr}"
    );
    for shard in 0..2 {
        assert_eq!(
            on_shard(
                &d,
                shard,
                "select count(*) from pg_tables where schemaname = 'public'"
            ),
            "0"
        );
    }
    // One CommandComplete for the client's one statement.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(&d).await;
        client
            .batch_execute("CREATE TABLE t_region (id INT)")
            .await
            .unwrap();
        let messages = client
            .simple_query("DROP TABLE IF EXISTS t_region, t_item")
            .await
            .unwrap();
        let completes = messages
            .iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::CommandComplete(_)))
            .count();
        assert_eq!(completes, 1, "{messages:?}");
    });
}

/// A tokio-postgres client through the proxy; its connection runs on the
/// test's runtime.
async fn connect(d: &Deployment) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&d.url("sharding_db"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

#[test]
fn a_shard_down_at_start_up_stops_nothing() {
    let d = deploy(|shards| shards[1].kill());
    // The proxy is up; ds_0 serves alone.
    d.psql_ok("sharding_db", "SELECT 1");
    let mut d = d;
    d.shards[1].restart().unwrap();
    d.psql_ok("sharding_db", SCHEMA);
    d.shards[1].kill();
    // Metadata loads from the shard that answers; rows for it go in.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (2, 2, 'up', 1.00)",
    );
    assert_eq!(on_shard(&d, 0, "select status from t_order_0"), "up");
    d.shards[1].restart().unwrap();
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order VALUES (1, 1, 'back', 1.00)",
    );
    assert_eq!(on_shard(&d, 1, "select status from t_order_1"), "back");
    let log = std::fs::read_to_string(d.proxy.log_path()).unwrap();
    assert!(log.contains("could not be read"), "{log}");
}

/// Start-up and first-use cost with 10,000 actual tables (`t_big` over
/// `ds_${0..1}.t_big_${0..4999}`), all created on the shards. Slow to set
/// up (it creates the tables), so run on demand:
/// `cargo test --test pg_metadata -- --ignored --nocapture ten_thousand`.
#[test]
#[ignore]
fn ten_thousand_actual_tables_start_fast_and_load_on_first_use() {
    use std::time::Instant;
    let shards = pg_shards(2).unwrap();
    let ports: Vec<u16> = shards.iter().map(PgInstance::port).collect();
    // In batches: one transaction creating 5,000 tables would exceed the
    // lock table (max_locks_per_transaction).
    let created = Instant::now();
    for shard in &shards {
        for batch in 0..10 {
            let from = batch * 500;
            shard
                .psql(&format!(
                    "DO $$ BEGIN FOR i IN {from}..{} LOOP EXECUTE format(\
                     'CREATE TABLE t_big_%s (id BIGINT PRIMARY KEY, user_id INT, note TEXT)', i); \
                     END LOOP; END $$",
                    from + 499
                ))
                .unwrap();
        }
    }
    eprintln!("created 10,000 actual tables in {:?}", created.elapsed());
    // The same proxy without t_big, for comparison.
    let baseline = {
        let conf = tempfile::tempdir().unwrap();
        let port = free_port().unwrap();
        let (global, sharding, direct) = support::rules(&ports, port);
        std::fs::write(conf.path().join("global.yaml"), global).unwrap();
        std::fs::write(conf.path().join("database-sharding.yaml"), sharding).unwrap();
        std::fs::write(conf.path().join("database-direct.yaml"), direct).unwrap();
        let started = Instant::now();
        let proxy =
            ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf.path())
                .unwrap();
        let took = started.elapsed();
        drop(proxy);
        took
    };
    let conf = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let (global, sharding, direct) = support::rules(&ports, port);
    let big = "    t_big:\n      actualDataNodes: ds_${0..1}.t_big_${0..4999}\n      databaseStrategy:\n        \
               standard:\n          shardingColumn: user_id\n          shardingAlgorithmName: big_db\n\
               \x20     tableStrategy:\n        standard:\n          shardingColumn: id\n          \
               shardingAlgorithmName: big_table\n";
    let algorithms = "    big_db:\n      type: INLINE\n      props:\n        algorithm-expression: ds_${user_id % 2}\n\
                      \x20   big_table:\n      type: INLINE\n      props:\n        algorithm-expression: t_big_${id % 5000}\n";
    let sharding = sharding.replacen(
        "  shardingAlgorithms:\n",
        &format!("{big}  shardingAlgorithms:\n{algorithms}"),
        1,
    );
    std::fs::write(conf.path().join("global.yaml"), global).unwrap();
    std::fs::write(conf.path().join("database-sharding.yaml"), sharding).unwrap();
    std::fs::write(conf.path().join("database-direct.yaml"), direct).unwrap();
    let started = Instant::now();
    let proxy =
        ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf.path()).unwrap();
    let start_up = started.elapsed();
    let d = Deployment {
        shards,
        proxy,
        conf,
        port,
    };
    let first = Instant::now();
    d.psql_ok("sharding_db", "INSERT INTO t_big VALUES (7, 1, 'first')");
    let first_insert = first.elapsed();
    let again = Instant::now();
    d.psql_ok("sharding_db", "INSERT INTO t_big VALUES (9, 1, 'second')");
    let second_insert = again.elapsed();
    let refresh = Instant::now();
    d.psql_ok("sharding_db", "REFRESH TABLE METADATA t_big");
    let refresh = refresh.elapsed();
    // user 1: ds_1; ids 7 and 9: t_big_7 and t_big_9.
    assert_eq!(on_shard(&d, 1, "select note from t_big_7"), "first");
    assert_eq!(on_shard(&d, 1, "select note from t_big_9"), "second");
    eprintln!(
        "10,000 actual tables: proxy start-up (spawn to accepting) {start_up:?} (without them \
         {baseline:?}); first INSERT \
         without columns (loads and checks 10,000 tables' metadata) {first_insert:?}; next one \
         {second_insert:?}; REFRESH TABLE METADATA t_big {refresh:?} (each through a new psql)"
    );
}
