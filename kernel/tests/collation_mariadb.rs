// Test code: a panic (from unwrap or expect) is a failed test, which is what
// we want, so unwrap is allowed here.
#![allow(clippy::unwrap_used)]
//! The merge's case-insensitive collation against MariaDB's own
//! `utf8mb4_general_ci` (the test harness's server default): strings chosen
//! where case, accents, padding and punctuation meet are spread over three
//! "shards" (`id % 3`), each sorted or grouped by the server, merged by the
//! kernel, and compared with the server's answer over all rows.

use futures::stream::{self, TryStreamExt};
use shardwire_kernel::merge::{
    merge, Aggregate, AggregateKind, Collation, MergePlan, Row, RowStream, SortKey, Value,
};
use shardwire_testkit::MariaDbInstance;
use sqlx::{Connection, MySqlConnection, Row as _};

const STRINGS: &[&str] = &[
    "a", "A", "a ", "a  ", "b", "B  ", "ab", "aB", "Ab", "_", "Z", "z", "[", "`", "~", "0", " ",
    "", "é", "E", "e", "É", "è", "ë", "ß", "s", "S", "SS", "ss", "ä", "Ä", "Å", "æ", "Æ", "ø", "Ø",
    "o", "ÿ", "y", "Y", "ñ", "N", "ç", "C", "Ω", "ω", "ж", "Ж", "a\t", "a b", "A B ", "new", "New",
    "NEW ", "paid", "Paid", "PAID  ",
];

async fn rows(conn: &mut MySqlConnection, sql: &str) -> Vec<Vec<Value>> {
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            let s: Option<String> = r.try_get_unchecked(0).unwrap();
            let rest = (1..r.len()).map(|i| {
                let v: Option<String> = r.try_get_unchecked(i).unwrap();
                Value::Int(v.unwrap().parse().unwrap())
            });
            std::iter::once(s.map_or(Value::Null, Value::Text))
                .chain(rest)
                .collect()
        })
        .collect()
}

async fn merged(plan: &MergePlan, shards: Vec<Vec<Vec<Value>>>) -> Vec<Vec<Value>> {
    let streams: Vec<RowStream> = shards
        .into_iter()
        .map(|rows| -> RowStream {
            Box::pin(stream::iter(rows.into_iter().map(|v| Ok(Row::new(v)))))
        })
        .collect();
    merge(plan, streams)
        .map_ok(Row::into_values)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn case_insensitive_merge_agrees_with_mariadb_general_ci() {
    let my = tokio::task::spawn_blocking(MariaDbInstance::start)
        .await
        .unwrap()
        .expect("start MariaDB");
    my.create_database("coll").unwrap();
    let url = format!(
        "mysql://{}:{}@127.0.0.1:{}/coll",
        my.user(),
        my.password(),
        my.port()
    );
    let mut conn = MySqlConnection::connect(&url).await.unwrap();
    let collation = rows(&mut conn, "SELECT @@collation_server, 0").await;
    assert_eq!(
        collation[0][0],
        Value::Text("utf8mb4_general_ci".into()),
        "the harness's server collation"
    );
    rows(
        &mut conn,
        "CREATE TABLE t (s VARCHAR(20) CHARACTER SET utf8mb4 NOT NULL, id INT NOT NULL)",
    )
    .await;
    let values: Vec<String> = STRINGS
        .iter()
        .enumerate()
        .map(|(i, s)| format!("('{}', {i})", s.replace('\\', "\\\\")))
        .collect();
    rows(
        &mut conn,
        &format!("INSERT INTO t (s, id) VALUES {}", values.join(", ")),
    )
    .await;

    // ORDER BY: the k-way merge of the shards' sorted rows.
    let order = MergePlan {
        order_by: vec![SortKey::asc(0), SortKey::asc(1)],
        collation: Collation::CaseInsensitive,
        ..MergePlan::iterate(2)
    };
    let mut shards = Vec::new();
    for k in 0..3 {
        let sql = format!("SELECT s, id FROM t WHERE id % 3 = {k} ORDER BY s, id");
        shards.push(rows(&mut conn, &sql).await);
    }
    let expected = rows(&mut conn, "SELECT s, id FROM t ORDER BY s, id").await;
    assert_eq!(merged(&order, shards.clone()).await, expected);
    // Bytewise, the same shards merge differently: the test can tell.
    let binary = MergePlan {
        collation: Collation::Binary,
        ..order.clone()
    };
    assert_ne!(merged(&binary, shards).await, expected);

    // GROUP BY (hashed, in any order) and DISTINCT: the same groups, each
    // named by its smallest id.
    let group = MergePlan {
        group_by: vec![0],
        aggregates: vec![
            Aggregate {
                kind: AggregateKind::Min,
                column: 1,
            },
            Aggregate {
                kind: AggregateKind::Count,
                column: 2,
            },
        ],
        collation: Collation::CaseInsensitive,
        ..MergePlan::iterate(3)
    };
    let mut shards = Vec::new();
    for k in 0..3 {
        let sql = format!("SELECT s, MIN(id), COUNT(*) FROM t WHERE id % 3 = {k} GROUP BY s");
        shards.push(rows(&mut conn, &sql).await);
    }
    let ids_and_counts = |rows: Vec<Vec<Value>>| {
        let mut out: Vec<(Value, Value)> = rows
            .into_iter()
            .map(|r| (r[1].clone(), r[2].clone()))
            .collect();
        out.sort_by(|a, b| a.0.sql_cmp(&b.0));
        out
    };
    let expected = rows(&mut conn, "SELECT s, MIN(id), COUNT(*) FROM t GROUP BY s").await;
    assert_eq!(
        ids_and_counts(merged(&group, shards).await),
        ids_and_counts(expected.clone())
    );

    let distinct = MergePlan {
        distinct: true,
        collation: Collation::CaseInsensitive,
        ..MergePlan::iterate(1)
    };
    let mut shards = Vec::new();
    for k in 0..3 {
        let sql = format!("SELECT DISTINCT s, 0 FROM t WHERE id % 3 = {k}");
        shards.push(rows(&mut conn, &sql).await);
    }
    assert_eq!(merged(&distinct, shards).await.len(), expected.len());
}
