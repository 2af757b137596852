// Test code: a panic (from unwrap or expect) is a failed test, which is what
// we want, so unwrap is allowed here and in the shared `differential` module.
#![allow(clippy::unwrap_used)]
//! Differential test of plan + merge on PostgreSQL: one server, `ref` plus
//! four shard databases; see `differential/mod.rs`.

mod differential;

use std::collections::HashMap;

use differential::{decode, rule_yaml, Exec, REF, REF_DATABASE, SHARD_DATABASES};
use shardwire_kernel::merge::Value;
use shardwire_kernel::Dialect;
use shardwire_testkit::PgInstance;
use sqlx::{Column, Connection, PgConnection, Row, TypeInfo};

struct PgExec {
    conns: HashMap<String, PgConnection>,
}

impl Exec for PgExec {
    async fn query(&mut self, target: &str, sql: &str) -> Result<Vec<Vec<Value>>, String> {
        let conn = self
            .conns
            .get_mut(target)
            .ok_or_else(|| format!("no connection for {target}"))?;
        // The simple query protocol: every value arrives as text.
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|row| {
                row.columns()
                    .iter()
                    .map(|col| {
                        let text: Option<String> = row
                            .try_get_unchecked(col.ordinal())
                            .map_err(|e| e.to_string())?;
                        decode(col.type_info().name(), text.as_deref())
                    })
                    .collect()
            })
            .collect()
    }
}

#[tokio::test]
async fn plan_and_merge_agree_with_unsharded_postgresql() {
    let pg = tokio::task::spawn_blocking(PgInstance::start)
        .await
        .unwrap()
        .expect("start PostgreSQL");
    let mut conns = HashMap::new();
    let base = format!(
        "postgres://{}:{}@127.0.0.1:{}",
        pg.user(),
        pg.password(),
        pg.port()
    );
    for (target, db) in std::iter::once((REF.to_owned(), REF_DATABASE)).chain(
        SHARD_DATABASES
            .iter()
            .enumerate()
            .map(|(i, db)| (format!("ds_{i}"), *db)),
    ) {
        pg.create_database(db).expect("create database");
        let conn = PgConnection::connect(&format!("{base}/{db}"))
            .await
            .unwrap_or_else(|e| panic!("connect to {db}: {e}"));
        conns.insert(target, conn);
    }
    let yaml = rule_yaml(
        &format!("jdbc:postgresql://127.0.0.1:{}", pg.port()),
        pg.user(),
        pg.password(),
    );
    let mut exec = PgExec { conns };
    differential::run_suite(&mut exec, Dialect::PostgreSql, &yaml).await;
}
