// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! What a client sees of a sharded database must be what one database
//! would say: an unknown table is PostgreSQL's 42P01 (drivers raise their
//! "undefined table" class from it), a statement fanned out to four actual
//! tables gives each distinct NOTICE once and in logical names, and
//! pg_database (psql's `\l`) lists the logical databases, not the shards'
//! physical one.

mod support;

use sqlx::{Connection, Executor, PgConnection};
use support::start;

#[test]
fn an_unknown_table_is_undefined_table() {
    let d = start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = PgConnection::connect_with(&d.sqlx_options("sharding_db"))
            .await
            .unwrap();
        for sql in [
            "SELECT * FROM t_nowhere",
            "INSERT INTO t_nowhere (id) VALUES (1)",
        ] {
            let err = c.execute(sql).await.unwrap_err();
            let db = err.as_database_error().expect("a database error");
            assert_eq!(db.code().as_deref(), Some("42P01"), "{sql}: {db}");
            assert_eq!(db.message(), "relation \"t_nowhere\" does not exist");
        }
        // The session goes on.
        c.execute("SELECT 1").await.unwrap();
    });
}

#[test]
fn fanned_out_ddl_gives_each_notice_once_in_logical_names() {
    let d = start();
    // t_order has four actual tables, none created: PostgreSQL says
    // "does not exist, skipping" four times, once per actual table.
    let (ok, _, stderr) = d.psql("sharding_db", "DROP TABLE IF EXISTS t_order");
    assert!(ok, "{stderr}");
    let notices: Vec<&str> = stderr.lines().filter(|l| l.contains("NOTICE")).collect();
    assert_eq!(
        notices,
        vec!["NOTICE:  table \"t_order\" does not exist, skipping"],
        "{stderr}"
    );
}

#[test]
fn pg_database_lists_the_logical_databases() {
    let d = start();
    let out = d.psql_ok(
        "sharding_db",
        "SELECT datname FROM pg_catalog.pg_database ORDER BY 1",
    );
    assert_eq!(out, "direct\nsharding_db\n");
    // psql's own \l query, through the same rewrite.
    let (ok, list, err) = d.psql("sharding_db", "\\l");
    assert!(ok, "{err}");
    let names: Vec<&str> = list.lines().filter_map(|l| l.split('|').next()).collect();
    assert_eq!(names, vec!["direct", "sharding_db"], "{list}");
}

/// The index names one shard holds for `t_order`'s actual tables.
fn shard_indexes(d: &support::Deployment, shard: usize) -> String {
    d.shards[shard]
        .psql(
            "SELECT indexname FROM pg_indexes WHERE tablename LIKE 't_order%' \
             AND indexname NOT LIKE '%pkey' ORDER BY 1",
        )
        .unwrap()
}

#[test]
fn index_names_are_made_unique_per_actual_table() {
    let d = start();
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id bigint PRIMARY KEY, user_id int NOT NULL, status text)",
    );
    // Both actual tables of a shard are in one schema, where index names
    // must be unique: the same name twice would fail with 42P07.
    d.psql_ok("sharding_db", "CREATE INDEX idx_user ON t_order (user_id)");
    d.psql_ok(
        "sharding_db",
        "CREATE UNIQUE INDEX \"Idx_Status\" ON t_order (order_id, status)",
    );
    let long = "an_index_name_long_enough_that_the_actual_names_need_shortening";
    d.psql_ok(
        "sharding_db",
        &format!("CREATE INDEX {long} ON t_order (status)"),
    );
    for shard in 0..2 {
        let names = shard_indexes(&d, shard);
        let names: Vec<&str> = names.lines().collect();
        assert_eq!(names.len(), 6, "{names:?}");
        for expected in [
            "Idx_Status_t_order_0",
            "Idx_Status_t_order_1",
            "idx_user_t_order_0",
            "idx_user_t_order_1",
        ] {
            assert!(names.contains(&expected), "shard {shard}: {names:?}");
        }
        // Over 63 bytes the server would cut both names to the same one.
        let shortened: Vec<&&str> = names.iter().filter(|n| n.starts_with("an_index")).collect();
        assert_eq!(shortened.len(), 2, "{names:?}");
        assert!(shortened.iter().all(|n| n.len() <= 63));
    }
    // RENAME and DROP name the logical index and reach each actual one.
    d.psql_ok("sharding_db", "ALTER INDEX idx_user RENAME TO by_user");
    assert!(shard_indexes(&d, 1).contains("by_user_t_order_1"));
    d.psql_ok("sharding_db", &format!("DROP INDEX by_user, {long}"));
    d.psql_ok("sharding_db", "DROP INDEX IF EXISTS \"Idx_Status\"");
    for shard in 0..2 {
        assert_eq!(shard_indexes(&d, shard), "", "shard {shard}");
    }
    // A name no table's index has is the database's own error.
    let (ok, _, err) = d.psql("sharding_db", "DROP INDEX by_user");
    assert!(!ok);
    assert!(err.contains("index \"by_user\" does not exist"), "{err}");
    d.psql_ok("sharding_db", "DROP INDEX IF EXISTS by_user");
}

#[test]
fn the_catalog_shows_logical_tables_and_their_index_names() {
    let d = start();
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id bigint PRIMARY KEY, user_id int NOT NULL, status text)",
    );
    d.psql_ok(
        "sharding_db",
        "CREATE INDEX t_order_by_user ON t_order (user_id)",
    );
    // psql's \dt, \di and \d: each logical table once, the primary key
    // and the index under the names one database would give them.
    let tables = d.psql_ok("sharding_db", "\\dt");
    assert_eq!(tables, "public|t_order|table|shardwire\n");
    let indexes = d.psql_ok("sharding_db", "\\di");
    // In the order of the logical names (ORDER BY 1, 2), not of the
    // shard's t_order_0_pkey before t_order_by_user_t_order_0.
    let names: Vec<&str> = indexes
        .lines()
        .filter_map(|l| l.split('|').nth(1))
        .collect();
    assert_eq!(names, vec!["t_order_by_user", "t_order_pkey"], "{indexes}");
    assert!(
        indexes.lines().all(|l| l.ends_with("|t_order")),
        "{indexes}"
    );
    let described = d.psql_ok("sharding_db", "\\d t_order");
    assert_eq!(
        described,
        "order_id|bigint||not null|\nuser_id|integer||not null|\nstatus|text|||\n"
    );
    // information_schema: its names are expressions (table_name) of
    // type sql_identifier, a domain over name.
    let listed = d.psql_ok(
        "sharding_db",
        "SELECT t.table_name, c.constraint_name FROM information_schema.tables t \
         JOIN information_schema.table_constraints c USING (table_schema, table_name) \
         WHERE t.table_schema = 'public' AND c.constraint_type = 'PRIMARY KEY'",
    );
    assert_eq!(listed, "t_order|t_order_pkey\n");
    // The index list of \d (its footer, which -t leaves out).
    let indexes = d.psql_ok(
        "sharding_db",
        "SELECT c2.relname, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true) \
         FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i \
         WHERE c.oid = 't_order'::regclass AND c.oid = i.indrelid AND i.indexrelid = c2.oid \
         ORDER BY i.indisprimary DESC",
    );
    assert_eq!(
        indexes,
        "t_order_pkey|CREATE UNIQUE INDEX t_order_pkey ON t_order USING btree (order_id)\n\
         t_order_by_user|CREATE INDEX t_order_by_user ON t_order USING btree (user_id)\n"
    );
    // pgjdbc's getPrimaryKeys shape, and a count that must not shrink:
    // only relation names change, identical rows are not merged, and
    // the CommandComplete counts the rows sent.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = PgConnection::connect_with(&d.sqlx_options("sharding_db"))
            .await
            .unwrap();
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT ct.relname::text, a.attname::text, ci.relname::text FROM pg_catalog.pg_class ct \
             JOIN pg_catalog.pg_attribute a ON ct.oid = a.attrelid \
             JOIN pg_catalog.pg_index i ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
             JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid \
             WHERE ct.relname = 't_order' AND i.indisprimary",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        // Cast to text, the names are no longer relation-name columns:
        // what the shard said, for its first actual table.
        assert_eq!(
            rows,
            vec![("t_order_0".into(), "order_id".into(), "t_order_0_pkey".into())]
        );
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT ct.relname, ci.relname FROM pg_catalog.pg_class ct \
             JOIN pg_catalog.pg_index i ON ct.oid = i.indrelid \
             JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid \
             WHERE ct.relname LIKE 't_order%' ORDER BY 2",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("t_order".into(), "t_order_by_user".into()),
                ("t_order".into(), "t_order_pkey".into()),
            ]
        );
        let kinds: Vec<(String,)> = sqlx::query_as(
            "SELECT c.relkind::text FROM pg_catalog.pg_class c \
             WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        let direct = d.shards[0]
            .psql(
                "SELECT count(*) FROM pg_catalog.pg_class c \
                 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'",
            )
            .unwrap();
        assert_eq!(kinds.len().to_string(), direct.trim());
    });
}

/// Catalog lookups with the table's name as a bound parameter, as
/// SQLAlchemy's has_table / drop_all and drivers' regclass casts send
/// them, answer through the sharded database what one PostgreSQL holding
/// the logical tables answers.
#[test]
fn catalog_lookups_by_a_bound_name_find_logical_tables() {
    let d = start();
    let ddl = "CREATE TABLE t_order (order_id bigint PRIMARY KEY, user_id int NOT NULL); \
               CREATE TABLE t_region (id int PRIMARY KEY, name text)";
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id bigint PRIMARY KEY, user_id int NOT NULL)",
    );
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_region (id int PRIMARY KEY, name text)",
    );
    // One PostgreSQL with the logical tables, to compare with.
    d.shards[0].create_database("reference").unwrap();
    let reference = sqlx::postgres::PgConnectOptions::new()
        .host(d.shards[0].host())
        .port(d.shards[0].port())
        .username(d.shards[0].user())
        .password(d.shards[0].password())
        .database("reference");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut one = PgConnection::connect_with(&reference).await.unwrap();
        one.execute(ddl).await.unwrap();
        let mut sharded = PgConnection::connect_with(&d.sqlx_options("sharding_db"))
            .await
            .unwrap();
        let drop_all = "SELECT pg_catalog.pg_class.relname \nFROM pg_catalog.pg_class \
             JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = \
             pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relname IN \
             ($1::VARCHAR, $2::VARCHAR) AND pg_catalog.pg_class.relkind = ANY \
             (ARRAY[$3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR, $7::VARCHAR]) AND \
             pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND \
             pg_catalog.pg_namespace.nspname != $8::VARCHAR";
        let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
            (
                drop_all,
                vec!["t_order", "t_region", "r", "p", "f", "v", "m", "pg_catalog"],
                vec!["t_order", "t_region"],
            ),
            (
                "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname = $1::VARCHAR \
                 AND pg_catalog.pg_table_is_visible(c.oid)",
                vec!["t_order"],
                vec!["t_order"],
            ),
            (
                "SELECT relname FROM pg_catalog.pg_class \
                 WHERE relname = ANY (ARRAY[$1::text, $2::text]) ORDER BY 1",
                vec!["t_order_pkey", "t_order"],
                vec!["t_order", "t_order_pkey"],
            ),
            (
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_name = $1 AND table_schema = $2",
                vec!["t_order", "public"],
                vec!["t_order"],
            ),
            (
                "SELECT relname FROM pg_catalog.pg_class WHERE oid = $1::regclass",
                vec!["public.t_order"],
                vec!["t_order"],
            ),
            (
                "SELECT relname FROM pg_catalog.pg_class WHERE oid = to_regclass($1)",
                vec!["t_order"],
                vec!["t_order"],
            ),
            (
                "SELECT relname FROM pg_catalog.pg_class WHERE relname = $1",
                vec!["t_nowhere"],
                vec![],
            ),
        ];
        for (sql, params, expected) in cases {
            let mut answers = Vec::new();
            for conn in [&mut one, &mut sharded] {
                let mut q = sqlx::query_as::<_, (String,)>(sql);
                for p in &params {
                    q = q.bind(*p);
                }
                let mut rows: Vec<String> = q
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .into_iter()
                    .map(|(r,)| r)
                    .collect();
                rows.sort();
                answers.push(rows);
            }
            assert_eq!(answers[0], expected, "one PostgreSQL: {sql}");
            assert_eq!(answers[1], expected, "sharded: {sql}");
        }
        // A bound value that is no relation name comes back as bound.
        let row: (String, String) =
            sqlx::query_as("SELECT $1::text, relname FROM pg_catalog.pg_class WHERE relname = $2")
                .bind("t_order")
                .bind("t_order")
                .fetch_one(&mut sharded)
                .await
                .unwrap();
        assert_eq!(row, ("t_order".into(), "t_order".into()));
    });
}

/// A broadcast table has a copy on every data source, each with the
/// index under its own name: DROP INDEX and ALTER INDEX name no table,
/// and must still reach every copy, not only the first data source's.
#[test]
fn a_broadcast_tables_index_is_dropped_and_renamed_on_every_copy() {
    let d = start();
    let indexes = |shard: usize| {
        d.shards[shard]
            .psql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 't_region' \
                 AND indexname NOT LIKE '%pkey' ORDER BY 1",
            )
            .unwrap()
    };
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_region (id int PRIMARY KEY, name text)",
    );
    d.psql_ok(
        "sharding_db",
        "CREATE INDEX region_by_name ON t_region (name)",
    );
    for shard in 0..2 {
        assert_eq!(indexes(shard), "region_by_name\n", "shard {shard}");
    }
    d.psql_ok(
        "sharding_db",
        "ALTER INDEX region_by_name RENAME TO by_name",
    );
    for shard in 0..2 {
        assert_eq!(indexes(shard), "by_name\n", "shard {shard}");
    }
    d.psql_ok("sharding_db", "DROP INDEX by_name");
    for shard in 0..2 {
        assert_eq!(indexes(shard), "", "shard {shard}");
    }
    // Gone everywhere: the database's own error, and IF EXISTS is quiet.
    let (ok, _, err) = d.psql("sharding_db", "DROP INDEX by_name");
    assert!(!ok);
    assert!(err.contains("index \"by_name\" does not exist"), "{err}");
    d.psql_ok("sharding_db", "DROP INDEX IF EXISTS by_name");
}
