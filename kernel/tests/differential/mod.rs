//! Differential testing of plan + merge against a real database: the same
//! rows live once in an unsharded database `ref` and once spread over four
//! shard databases `s0..s3` (data sources `ds_0..ds_3`, two tables each:
//! eight data nodes). Every generated query runs on `ref` (the expected
//! answer) and through `plan_with` on the shards, whose rows go through the
//! kernel's own merge; the two answers must agree.
//!
//! Layout: `ds_${user_id MOD 4}` (MOD, so ranges on user_id narrow or fan
//! out) and `t_order_${order_id % 2}` (INLINE with ranges allowed, so a range
//! on order_id reaches both tables).
//!
//! Comparison: rows in exact order when the query has ORDER BY (the
//! generator always makes ORDER BY total, with `order_id` or the GROUP BY
//! key as the last tie-breaker), as sorted multisets otherwise. Cells compare
//! by a canonical text form: numbers by value (`12.50` equals `12.5`, an
//! INT8 equals a NUMERIC of the same value), text and dates exactly. AVG
//! columns compare digit for digit, scale included: the merge must print
//! what the server prints (PostgreSQL's numeric division scale, MariaDB's
//! `div_precision_increment`).
//!
//! Statuses come in mixed case and some with trailing spaces. On MariaDB
//! (`utf8mb4_general_ci`, PAD SPACE) `'New'`, `'new'` and `'NEW '` are one
//! value, so where a query groups, deduplicates or takes MIN / MAX of text,
//! which spelling represents the group is the scan order's choice, on one
//! server as across shards: those templates ([`CASE_FOLDED`]) compare text
//! upper-cased and right-trimmed on MySQL. Everywhere else, and always on
//! PostgreSQL (whose harness database has the bytewise `C` collation), text
//! compares exactly.
//!
//! Then the aggregates the proxy finishes itself (`agg.rs`): hand-written
//! queries per construct under four predicates, queries that must be
//! refused by name, and [`AGG_QUERIES`] random ones. A random query the
//! kernel refuses by name is counted, not failed; the counts are printed
//! (`-- --nocapture`). So are two outcomes accepted as such, because the
//! server's answer is not determined by SQL or exceeds the proxy's range:
//! the server failing on one side of AND / OR that the other side decides
//! (evaluation order is the server's choice), and an exact result past 38
//! digits (the merge fails instead of rounding).
//!
//! Shard and reference rows are read over the text protocol (`raw_sql`) and
//! decoded with [`Value::parse_text`] by the column's type name, the way the
//! proxy's backend will decode them.

use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;

use futures::stream::{self, TryStreamExt};
use shardwire_kernel::merge::{merge, ColumnKind, Row, RowStream, Value};
use shardwire_kernel::{plan_with, Dialect, ParseCache, Plan, PlanOptions};
use shardwire_rules::snapshot::LogicalDatabase;

mod agg;
mod order;

/// The shard databases, in data source order.
pub const SHARD_DATABASES: [&str; 4] = ["s0", "s1", "s2", "s3"];
/// The unsharded database holding the same rows.
pub const REF_DATABASE: &str = "ref";
/// Target name [`Exec::query`] takes for [`REF_DATABASE`].
pub const REF: &str = "ref";

const ROWS: usize = 400;
const INSERT_BATCH: usize = 50;
const QUERIES: usize = 500;
/// Random aggregate queries (see `agg.rs`), per dialect.
const AGG_QUERIES: usize = 10_000;
const WRITES: usize = 24;
const USERS: u64 = 40;
/// Mixed case and trailing spaces: one value, several spellings, under
/// MariaDB's case-insensitive PAD SPACE collation; distinct values under
/// PostgreSQL's `C`. Ordered so that case and bytes disagree (`'Paid'` <
/// `'done'` bytewise, after it case-insensitively).
const STATUSES: [&str; 12] = [
    "cancelled",
    "Cancelled",
    "done",
    "DONE",
    "new",
    "New",
    "new ",
    "paid",
    "Paid",
    "PAID  ",
    "shipped",
    "Shipped",
];

/// Templates whose text cells may show any spelling of a case-insensitive
/// group on MySQL (see the module doc).
const CASE_FOLDED: &[&str] = &[
    "group_status",
    "group_status_unordered",
    "group_two_keys",
    "group_order_by_hidden_count",
    "distinct_status",
    "distinct_status_ordered",
    "distinct_pair_page",
    "aggregates_int_and_text",
    "union_distinct",
    "lowercase_keywords",
    "group_ordinal",
    "hand_text",
    "agg_random_text",
    "having_all_shards",
];

/// Templates that are generated on purpose although the kernel refuses them
/// across shards (see the golden error cases): a refusal is counted, not a
/// failure; should the kernel start accepting one, its answer is compared
/// like any other. Kept short on purpose.
const EXPECTED_REFUSALS: &[&str] = &["having_all_shards", "count_distinct_all_shards"];

const CREATE_TABLE: &str = "CREATE TABLE t_order (order_id BIGINT NOT NULL, user_id INT NOT NULL, \
     status VARCHAR(16) NULL, amount DECIMAL(10,2) NULL, created DATE NULL, \
     PRIMARY KEY (order_id))";

/// Runs SQL on one database; implemented per backend over the text
/// protocol.
pub trait Exec {
    /// Runs `sql` on `target` ([`REF`] or a data source name such as
    /// `ds_2`) and returns its rows decoded by [`decode`].
    fn query(
        &mut self,
        target: &str,
        sql: &str,
    ) -> impl Future<Output = Result<Vec<Vec<Value>>, String>>;
}

/// How a column of the given type name (sqlx's `TypeInfo::name`, PostgreSQL
/// or MySQL spelling) reads from text.
pub fn column_kind(type_name: &str) -> ColumnKind {
    match type_name.to_ascii_uppercase().as_str() {
        "INT2" | "INT4" | "INT8" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" | "TINYINT"
        | "MEDIUMINT" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "BIGINT UNSIGNED"
        | "TINYINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "YEAR" => ColumnKind::Int,
        "NUMERIC" | "DECIMAL" => ColumnKind::Decimal,
        "FLOAT4" | "FLOAT8" | "FLOAT" | "DOUBLE" | "REAL" => ColumnKind::Float,
        "DATE" => ColumnKind::Date,
        "TIMESTAMP" | "TIMESTAMPTZ" | "DATETIME" => ColumnKind::Timestamp,
        "BOOL" | "BOOLEAN" => ColumnKind::Bool,
        "VARCHAR" | "TEXT" | "CHAR" | "BPCHAR" | "NAME" => ColumnKind::Text,
        _ => ColumnKind::Unknown,
    }
}

/// One cell from its type name and text form.
pub fn decode(type_name: &str, text: Option<&str>) -> Result<Value, String> {
    Value::parse_text(column_kind(type_name), text.map(str::as_bytes))
        .map_err(|e| format!("decoding {text:?} as {type_name}: {e}"))
}

/// The rule: four data sources on one server, eight data nodes.
pub fn rule_yaml(jdbc_prefix: &str, user: &str, password: &str) -> String {
    let mut yaml = String::from("databaseName: diff_db\ndataSources:\n");
    for (i, db) in SHARD_DATABASES.iter().enumerate() {
        let _ = write!(
            yaml,
            "  ds_{i}:\n    url: {jdbc_prefix}/{db}\n    username: \"{user}\"\n    \
             password: \"{password}\"\n"
        );
    }
    yaml.push_str(
        "rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_${0..3}.t_order_${0..1}
      databaseStrategy:
        standard:
          shardingColumn: user_id
          shardingAlgorithmName: user_mod
      tableStrategy:
        standard:
          shardingColumn: order_id
          shardingAlgorithmName: order_inline
  shardingAlgorithms:
    user_mod:
      type: MOD
      props:
        sharding-count: 4
    order_inline:
      type: INLINE
      props:
        algorithm-expression: t_order_${order_id % 2}
        allow-range-query-with-inline-sharding: true
",
    );
    yaml
}

/// Tiny 64-bit LCG (Knuth's MMIX constants), fixed seed: the same data and
/// queries on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

struct Order {
    order_id: u64,
    user_id: u64,
    status: Option<&'static str>,
    /// In cents; some negative (refunds).
    amount: Option<i64>,
    created: Option<String>,
}

impl Order {
    fn values_sql(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "NULL".to_owned(), |s| format!("'{s}'"));
        let amount = self.amount.map_or_else(|| "NULL".to_owned(), cents);
        let created = self
            .created
            .as_ref()
            .map_or_else(|| "NULL".to_owned(), |d| format!("'{d}'"));
        format!(
            "({}, {}, {status}, {amount}, {created})",
            self.order_id, self.user_id
        )
    }
}

/// `-0.05` for -5.
fn cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

fn generate_orders(rng: &mut Lcg) -> Vec<Order> {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
    (0..ROWS as u64)
        .map(|i| Order {
            // Unique: one id in each window of three.
            order_id: 1000 + i * 3 + rng.below(3),
            user_id: rng.below(USERS),
            status: if rng.chance(6) {
                None
            } else {
                Some(*rng.pick(&STATUSES))
            },
            // Few distinct values, so ORDER BY amount has ties.
            amount: if rng.chance(8) {
                None
            } else {
                Some(rng.below(480) as i64 * 25 - 2000)
            },
            created: if rng.chance(7) {
                None
            } else {
                Some((start + chrono::Days::new(rng.below(60))).to_string())
            },
        })
        .collect()
}

/// One generated query and how to compare its answer.
#[derive(Debug, Clone)]
struct Query {
    template: &'static str,
    sql: String,
    /// Exact order matters (the query's ORDER BY is total).
    ordered: bool,
    /// Output columns holding AVG, compared with their scale.
    avg: Vec<usize>,
}

struct Gen<'a> {
    rng: Lcg,
    dialect: Dialect,
    orders: &'a [Order],
}

impl Gen<'_> {
    fn user(&mut self) -> u64 {
        self.rng.below(USERS)
    }

    fn order_id(&mut self) -> u64 {
        let i = self.rng.below(self.orders.len() as u64) as usize;
        self.orders[i].order_id
    }

    fn amount(&mut self) -> String {
        cents(self.rng.below(480) as i64 * 25 - 2000)
    }

    /// A WHERE clause (with its keyword), or nothing.
    fn condition(&mut self) -> String {
        let c = match self.rng.below(27) {
            0..=2 => return String::new(),
            3 => format!("user_id = {}", self.user()),
            4 => format!(
                "user_id IN ({}, {}, {})",
                self.user(),
                self.user(),
                self.user()
            ),
            5 => {
                let a = self.user();
                format!("user_id BETWEEN {a} AND {}", a + self.rng.below(6))
            }
            6 => format!("user_id < {}", self.user()),
            7 => format!("user_id >= {}", self.user()),
            8 => format!("order_id = {}", self.order_id()),
            9 => format!("order_id IN ({}, {})", self.order_id(), self.order_id()),
            10 => {
                let o = self.order_id();
                let u = self
                    .orders
                    .iter()
                    .find(|r| r.order_id == o)
                    .map_or(0, |r| r.user_id);
                format!("user_id = {u} AND order_id = {o}")
            }
            11 => format!(
                "user_id = {} OR order_id = {}",
                self.user(),
                self.order_id()
            ),
            12 => format!("user_id = {} OR user_id = {}", self.user(), self.user()),
            13 => format!("status = '{}'", self.rng.pick(&STATUSES)),
            14 => format!("amount > {}", self.amount()),
            15 => "status IS NULL".to_owned(),
            16 => format!("created >= '2024-02-{:02}'", 1 + self.rng.below(28)),
            17 => format!(
                "user_id IN ({}, {}) AND amount > {}",
                self.user(),
                self.user(),
                self.amount()
            ),
            18 => {
                let a = 1000 + self.rng.below(ROWS as u64 * 3);
                format!("order_id BETWEEN {a} AND {}", a + 1 + self.rng.below(200))
            }
            19 => format!(
                "status IN ('{}', '{}')",
                self.rng.pick(&STATUSES),
                self.rng.pick(&STATUSES)
            ),
            20 => "status LIKE 'p%'".to_owned(),
            21 => format!("NOT user_id = {}", self.user()),
            22 => format!("user_id <> {} AND status <> 'new'", self.user()),
            23 => {
                let a = self.amount();
                format!("amount BETWEEN {a} AND {a} + 30")
            }
            24 => format!(
                "(user_id = {} AND order_id > {}) OR user_id = {}",
                self.user(),
                self.order_id(),
                self.user()
            ),
            // Matches nothing: empty shards, empty groups, NULL aggregates.
            _ => {
                if self.rng.chance(2) {
                    "status = 'nope'".to_owned()
                } else {
                    "user_id = 999".to_owned()
                }
            }
        };
        format!(" WHERE {c}")
    }

    fn dir(&mut self) -> &'static str {
        if self.rng.chance(2) {
            " DESC"
        } else {
            ""
        }
    }

    /// `LIMIT n [OFFSET m]` in one of the dialect's spellings.
    fn page(&mut self) -> String {
        let limit = self.rng.below(30);
        let offset = if self.rng.chance(5) {
            self.rng.below(400)
        } else {
            self.rng.below(4) * self.rng.below(15)
        };
        match (self.dialect, self.rng.below(3)) {
            (_, 0) => format!(" LIMIT {limit}"),
            (Dialect::MySql, 1) => format!(" LIMIT {offset}, {limit}"),
            (Dialect::PostgreSql, 1) => {
                format!(" OFFSET {offset} ROWS FETCH FIRST {limit} ROWS ONLY")
            }
            _ => format!(" LIMIT {limit} OFFSET {offset}"),
        }
    }

    fn maybe_page(&mut self) -> String {
        if self.rng.chance(2) {
            self.page()
        } else {
            String::new()
        }
    }

    fn query(&mut self) -> Query {
        let q = |template, sql: String, ordered, avg: Vec<usize>| Query {
            template,
            sql,
            ordered,
            avg,
        };
        let w = self.condition();
        match self.rng.below(37) {
            0 => q(
                "rows_unordered",
                format!("SELECT order_id, user_id, status, amount, created FROM t_order{w}"),
                false,
                vec![],
            ),
            1 | 2 => {
                let cols = ["user_id", "status", "amount", "created"];
                let first = *self.rng.pick(&cols);
                let mut order = format!("{first}{}", self.dir());
                if self.rng.chance(2) {
                    let second = *self.rng.pick(&cols);
                    if second != first {
                        let _ = write!(order, ", {second}{}", self.dir());
                    }
                }
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "rows_ordered",
                    format!(
                        "SELECT order_id, user_id, status, amount, created FROM t_order{w} \
                         ORDER BY {order}, order_id{d}{p}"
                    ),
                    true,
                    vec![],
                )
            }
            3 => {
                // Sort columns missing from the select list: derived columns.
                let col = *self.rng.pick(&["status", "amount", "created", "user_id"]);
                let (d1, d2, p) = (self.dir(), self.dir(), self.page());
                q(
                    "rows_ordered_hidden",
                    format!("SELECT order_id FROM t_order{w} ORDER BY {col}{d1}, order_id{d2}{p}"),
                    true,
                    vec![],
                )
            }
            4 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "group_user",
                    format!(
                        "SELECT user_id, COUNT(*), SUM(amount), MIN(amount), MAX(amount), \
                         AVG(amount) FROM t_order{w} GROUP BY user_id ORDER BY user_id{d}{p}"
                    ),
                    true,
                    vec![5],
                )
            }
            5 => q(
                "group_user_unordered",
                format!(
                    "SELECT user_id, AVG(amount), COUNT(amount), MAX(created) FROM t_order{w} \
                     GROUP BY user_id"
                ),
                false,
                vec![1],
            ),
            6 => {
                if self.rng.chance(2) {
                    let d = self.dir();
                    q(
                        "group_status",
                        format!(
                            "SELECT status, COUNT(*), SUM(amount), AVG(amount), MIN(created) \
                             FROM t_order{w} GROUP BY status ORDER BY status{d}"
                        ),
                        true,
                        vec![3],
                    )
                } else {
                    q(
                        "group_status_unordered",
                        format!(
                            "SELECT status, COUNT(*), MAX(amount) FROM t_order{w} GROUP BY status"
                        ),
                        false,
                        vec![],
                    )
                }
            }
            7 => {
                let p = self.page();
                q(
                    "group_order_by_count",
                    format!(
                        "SELECT user_id, COUNT(*) AS n FROM t_order{w} GROUP BY user_id \
                         ORDER BY n DESC, user_id{p}"
                    ),
                    true,
                    vec![],
                )
            }
            8 => q(
                "group_key_not_selected",
                format!("SELECT COUNT(*), SUM(amount) FROM t_order{w} GROUP BY user_id"),
                false,
                vec![],
            ),
            9 => {
                let (d1, d2) = (self.dir(), self.dir());
                q(
                    "group_two_keys",
                    format!(
                        "SELECT status, user_id, COUNT(*), SUM(amount) FROM t_order{w} \
                         GROUP BY status, user_id ORDER BY status{d1}, user_id{d2}"
                    ),
                    true,
                    vec![],
                )
            }
            10 => q(
                "aggregates_no_group",
                format!(
                    "SELECT COUNT(*), SUM(amount), MIN(amount), MAX(amount), AVG(amount), \
                     MIN(created), MAX(created), COUNT(status) FROM t_order{w}"
                ),
                false,
                vec![4],
            ),
            11 => {
                if self.rng.chance(2) {
                    let d = self.dir();
                    q(
                        "distinct_status_ordered",
                        format!("SELECT DISTINCT status FROM t_order{w} ORDER BY status{d}"),
                        true,
                        vec![],
                    )
                } else {
                    q(
                        "distinct_status",
                        format!("SELECT DISTINCT status FROM t_order{w}"),
                        false,
                        vec![],
                    )
                }
            }
            12 => {
                if self.rng.chance(2) {
                    let (d, p) = (self.dir(), self.maybe_page());
                    q(
                        "distinct_user_ordered",
                        format!("SELECT DISTINCT user_id FROM t_order{w} ORDER BY user_id{d}{p}"),
                        true,
                        vec![],
                    )
                } else {
                    q(
                        "distinct_user",
                        format!("SELECT DISTINCT user_id FROM t_order{w}"),
                        false,
                        vec![],
                    )
                }
            }
            13 => {
                let (d1, d2, p) = (self.dir(), self.dir(), self.page());
                q(
                    "distinct_pair_page",
                    format!(
                        "SELECT DISTINCT status, user_id FROM t_order{w} \
                         ORDER BY status{d1}, user_id{d2}{p}"
                    ),
                    true,
                    vec![],
                )
            }
            14 => {
                let (d, p) = (self.dir(), self.page());
                q(
                    "alias_and_ordinal",
                    format!(
                        "SELECT order_id AS id, amount FROM t_order{w} ORDER BY 2{d}, id{d}{p}"
                    ),
                    true,
                    vec![],
                )
            }
            15 => {
                if self.rng.chance(2) {
                    q(
                        "having_all_shards",
                        "SELECT status, COUNT(*) FROM t_order GROUP BY status HAVING COUNT(*) > 1"
                            .to_owned(),
                        false,
                        vec![],
                    )
                } else {
                    q(
                        "count_distinct_all_shards",
                        "SELECT COUNT(DISTINCT user_id) FROM t_order".to_owned(),
                        false,
                        vec![],
                    )
                }
            }
            17 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "group_order_by_sum_alias",
                    format!(
                        "SELECT user_id, SUM(amount) AS total FROM t_order{w} GROUP BY user_id \
                         ORDER BY total{d}, user_id{p}"
                    ),
                    true,
                    vec![],
                )
            }
            18 => {
                let d = self.dir();
                q(
                    "group_order_by_hidden_count",
                    format!(
                        "SELECT status FROM t_order{w} GROUP BY status \
                         ORDER BY COUNT(*){d}, status"
                    ),
                    true,
                    vec![],
                )
            }
            19 => q(
                "aggregates_int_and_text",
                format!(
                    "SELECT AVG(user_id), SUM(user_id), MIN(status), MAX(status), \
                     COUNT(created) FROM t_order{w}"
                ),
                false,
                vec![0],
            ),
            20 => q(
                "distinct_over_groups",
                format!("SELECT DISTINCT COUNT(*) FROM t_order{w} GROUP BY user_id"),
                false,
                vec![],
            ),
            21 => {
                let w2 = self.condition();
                q(
                    "union_all",
                    format!(
                        "SELECT order_id, status FROM t_order{w} \
                         UNION ALL SELECT order_id, status FROM t_order{w2}"
                    ),
                    false,
                    vec![],
                )
            }
            22 => {
                let w2 = self.condition();
                q(
                    "union_distinct",
                    format!("SELECT status FROM t_order{w} UNION SELECT status FROM t_order{w2}"),
                    false,
                    vec![],
                )
            }
            23 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "qualified_alias",
                    format!(
                        "SELECT o.order_id, o.amount FROM t_order AS o{w} \
                         ORDER BY o.amount{d}, o.order_id{p}"
                    ),
                    true,
                    vec![],
                )
            }
            24 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "distinct_amount",
                    format!("SELECT DISTINCT amount FROM t_order{w} ORDER BY amount{d}{p}"),
                    true,
                    vec![],
                )
            }
            25 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "group_created",
                    format!(
                        "SELECT created, COUNT(*), MAX(amount) FROM t_order{w} \
                         GROUP BY created ORDER BY created{d}{p}"
                    ),
                    true,
                    vec![],
                )
            }
            26 => {
                let offset = self.rng.below(2);
                q(
                    "aggregates_page",
                    format!(
                        "SELECT COUNT(*), MAX(order_id) FROM t_order{w} LIMIT 1 OFFSET {offset}"
                    ),
                    false,
                    vec![],
                )
            }
            27 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "order_by_expression",
                    format!(
                        "SELECT order_id, status FROM t_order{w} \
                         ORDER BY lower(status){d}, order_id{p}"
                    ),
                    true,
                    vec![],
                )
            }
            28 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "group_expression",
                    format!(
                        "SELECT user_id % 5 AS bucket, COUNT(*), SUM(amount) FROM t_order{w} \
                         GROUP BY user_id % 5 ORDER BY bucket{d}{p}"
                    ),
                    true,
                    vec![],
                )
            }
            29 => {
                let (d, p) = (self.dir(), self.page());
                q(
                    "constant_column",
                    format!(
                        "SELECT 'x' AS tag, order_id, amount FROM t_order{w} \
                         ORDER BY amount{d}, order_id{p}"
                    ),
                    true,
                    vec![],
                )
            }
            30 => {
                let d = self.dir();
                q(
                    "group_order_by_max",
                    format!(
                        "SELECT user_id, MAX(amount), MIN(created) FROM t_order{w} \
                         GROUP BY user_id ORDER BY MAX(amount){d}, user_id"
                    ),
                    true,
                    vec![],
                )
            }
            31 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "lowercase_keywords",
                    format!(
                        "select user_id, count(*), sum(amount), avg(amount), min(status) \
                         from t_order{w} group by user_id order by user_id{d}{p}"
                    ),
                    true,
                    vec![3],
                )
            }
            32 => {
                let (d, p) = (self.dir(), self.page());
                q(
                    "group_order_by_avg_alias",
                    format!(
                        "SELECT user_id, AVG(amount) AS a FROM t_order{w} GROUP BY user_id \
                         ORDER BY a{d}, user_id{p}"
                    ),
                    true,
                    vec![1],
                )
            }
            33 => {
                let d = self.dir();
                q(
                    "group_ordinal",
                    format!(
                        "SELECT status, COUNT(*), SUM(amount) FROM t_order{w} \
                         GROUP BY 1 ORDER BY 1{d}"
                    ),
                    true,
                    vec![],
                )
            }
            34 => {
                let (d, p) = (self.dir(), self.maybe_page());
                q(
                    "group_by_alias",
                    format!(
                        "SELECT user_id AS u, COUNT(*) AS n FROM t_order{w} GROUP BY u \
                         ORDER BY u{d}{p}"
                    ),
                    true,
                    vec![],
                )
            }
            35 => {
                let quote = |c: &str| match self.dialect {
                    Dialect::PostgreSql => format!("\"{c}\""),
                    Dialect::MySql => format!("`{c}`"),
                };
                let (oid, st, amt, tbl) = (
                    quote("order_id"),
                    quote("status"),
                    quote("amount"),
                    quote("t_order"),
                );
                let (d, p) = (self.dir(), self.page());
                q(
                    "quoted_identifiers",
                    format!("SELECT {oid}, {st}, {amt} FROM {tbl}{w} ORDER BY {st}{d}, {oid}{p}"),
                    true,
                    vec![],
                )
            }
            _ => {
                if self.dialect == Dialect::PostgreSql {
                    let (first, d) = if self.rng.chance(2) {
                        ("NULLS FIRST", " DESC")
                    } else {
                        ("NULLS LAST", "")
                    };
                    let p = self.maybe_page();
                    q(
                        "explicit_nulls",
                        format!(
                            "SELECT order_id, status, created FROM t_order{w} \
                             ORDER BY created{d} {first}, order_id{p}"
                        ),
                        true,
                        vec![],
                    )
                } else {
                    let p = self.page();
                    q(
                        "mysql_limit_only_total_order",
                        format!(
                            "SELECT order_id, created FROM t_order{w} \
                             ORDER BY created DESC, order_id DESC{p}"
                        ),
                        true,
                        vec![],
                    )
                }
            }
        }
    }
}

/// How one query's cells compare (see the module doc).
struct Compare<'a> {
    /// AVG columns: compared with their scale.
    avg: &'a [usize],
    /// Text upper-cased and right-trimmed.
    fold_text: bool,
}

impl Compare<'_> {
    const EXACT: Compare<'static> = Compare {
        avg: &[],
        fold_text: false,
    };

    fn cell(&self, i: usize, v: &Value) -> String {
        match v {
            Value::Decimal(d) if self.avg.contains(&i) => d.to_string(),
            Value::Text(s) if self.fold_text => {
                format!("'{}'", s.trim_end_matches(' ').to_uppercase())
            }
            _ => canon(v),
        }
    }

    /// Sort key of a row for multiset comparison.
    fn row(&self, row: &[Value]) -> Vec<String> {
        row.iter()
            .enumerate()
            .map(|(i, v)| self.cell(i, v))
            .collect()
    }

    fn rows_agree(&self, expected: &[Vec<Value>], actual: &[Vec<Value>]) -> bool {
        expected.len() == actual.len()
            && expected
                .iter()
                .zip(actual)
                .all(|(e, a)| self.row(e) == self.row(a))
    }
}

/// The canonical text of a cell (see the module doc).
fn canon(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => {
            let s = d.normalized().to_string();
            if s == "-0" {
                "0".to_owned()
            } else {
                s
            }
        }
        Value::Float(f) => format!("{f}"),
        Value::Text(s) => format!("'{s}'"),
        Value::Bytes(b) => format!("x{b:02x?}"),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Timestamp(t) => t.to_string(),
    }
}

fn show(rows: &[Vec<Value>]) -> String {
    let mut s = String::new();
    for row in rows.iter().take(8) {
        // Decimals as sent, so a wrong scale shows.
        let cells: Vec<String> = row
            .iter()
            .map(|v| match v {
                Value::Decimal(d) => d.to_string(),
                _ => canon(v),
            })
            .collect();
        let _ = writeln!(s, "    [{}]", cells.join(", "));
    }
    if rows.len() > 8 {
        let _ = writeln!(s, "    ... {} rows in all", rows.len());
    }
    s
}

/// Runs every unit of `plan` and merges the answers as the proxy would.
async fn run_plan<E: Exec>(exec: &mut E, plan: &Plan) -> Result<Vec<Vec<Value>>, String> {
    let mut per_unit = Vec::with_capacity(plan.units.len());
    for unit in &plan.units {
        let rows = exec
            .query(&unit.data_source, &unit.sql)
            .await
            .map_err(|e| format!("{}: `{}`: {e}", unit.data_source, unit.sql))?;
        per_unit.push(rows);
    }
    let Some(merge_plan) = &plan.merge else {
        return Ok(per_unit.into_iter().flatten().collect());
    };
    let streams: Vec<RowStream> = per_unit
        .into_iter()
        .map(|rows| -> RowStream {
            Box::pin(stream::iter(rows.into_iter().map(|v| Ok(Row::new(v)))))
        })
        .collect();
    merge(merge_plan, streams)
        .map_ok(Row::into_values)
        .try_collect()
        .await
        .map_err(|e| format!("merge: {e}"))
}

fn plan(db: &LogicalDatabase, dialect: Dialect, sql: &str) -> Result<Plan, String> {
    plan_with(
        &ParseCache::new(64),
        db,
        dialect,
        sql,
        &[],
        &PlanOptions::default(),
    )
    .map_err(|e| e.to_string())
}

#[derive(Debug, Default, Clone)]
struct Stats {
    ran: usize,
    refused: usize,
    merged: usize,
    rows_compared: usize,
    /// Refusals of random / hand-written aggregate queries (by name).
    refused_agg: usize,
    refused_hand: usize,
    errors_agreed: usize,
    rejected_by_both: usize,
    order_dependent: usize,
    overflowed: usize,
}

/// Whether a kernel refusal of this template is accepted: the old expected
/// refusals, and a refusal by name of a random aggregate query that uses a
/// construct the proxy does not evaluate (counted and reported).
fn refusal_accepted(template: &str, error: &str) -> bool {
    EXPECTED_REFUSALS.contains(&template)
        || (template.starts_with("agg_random") && error.contains("unsupported:"))
}

/// Runs one query on `ref` and through plan + merge, and records a
/// mismatch in `failures`.
async fn check<E: Exec>(
    exec: &mut E,
    db: &LogicalDatabase,
    dialect: Dialect,
    query: &Query,
    stats: &mut Stats,
    failures: &mut Vec<String>,
) {
    let reference = exec.query(REF, &query.sql).await;
    let plan = match plan(db, dialect, &query.sql) {
        Ok(plan) => plan,
        Err(e) if refusal_accepted(query.template, &e) => {
            stats.refused += 1;
            if query.template.starts_with("agg_random") {
                stats.refused_agg += 1;
            }
            return;
        }
        Err(e) => {
            failures.push(format!(
                "[{}] refused by the kernel: {}\n  error: {e}",
                query.template, query.sql
            ));
            return;
        }
    };
    stats.ran += 1;
    if plan.merge.is_some() {
        stats.merged += 1;
    }
    let units: String = plan
        .units
        .iter()
        .map(|u| format!("    {}: {}\n", u.data_source, u.sql))
        .collect();
    let actual = run_plan(exec, &plan).await;
    let (mut expected, mut actual) = match (reference, actual) {
        (Ok(e), Ok(a)) => (e, a),
        // The server fails the statement (PostgreSQL divides by zero): so
        // must the merge, with the same error.
        (Err(e), Err(a)) if e.contains("division by zero") && a.contains("division by zero") => {
            stats.errors_agreed += 1;
            return;
        }
        // A random expression the server rejects (a type error such as
        // numeric % double precision): the shards, which type-check the
        // same expression, must reject it too.
        (Err(e), Err(_))
            if query.template.starts_with("agg_random") && !e.contains("division by zero") =>
        {
            stats.rejected_by_both += 1;
            return;
        }
        // Where the server fails on one side of AND / OR and the other side
        // decides, the merge answers: SQL leaves the order of evaluation
        // open (PostgreSQL orders HAVING conditions by cost), so the
        // server may or may not have reached the failing side first.
        (Err(e), Ok(_))
            if query.template.starts_with("agg_random")
                && e.contains("division by zero")
                && (query.sql.contains(" AND ") || query.sql.contains(" OR ")) =>
        {
            stats.order_dependent += 1;
            return;
        }
        // The merge computes exactly in 38 digits and fails past them,
        // where the server's NUMERIC has room (a product of two
        // 20-decimal quotients): an error, never a rounded answer.
        (Ok(_), Err(a)) if query.template.starts_with("agg_random") && a.contains("overflowed") => {
            stats.overflowed += 1;
            return;
        }
        (Err(e), _)
            if !query.template.starts_with("agg_random") && !e.contains("division by zero") =>
        {
            panic!("ref rejects generated query `{}`: {e}", query.sql)
        }
        (e, a) => {
            failures.push(format!(
                "[{}] {}\n  units:\n{units}  ref: {:?}\n  merged: {:?}",
                query.template,
                query.sql,
                e.map(|r| show(&r)),
                a.map(|r| show(&r))
            ));
            return;
        }
    };
    let compare = Compare {
        avg: &query.avg,
        fold_text: dialect == Dialect::MySql && CASE_FOLDED.contains(&query.template),
    };
    if !query.ordered {
        expected.sort_by_cached_key(|r| compare.row(r));
        actual.sort_by_cached_key(|r| compare.row(r));
    }
    stats.rows_compared += expected.len();
    if !compare.rows_agree(&expected, &actual) {
        failures.push(format!(
            "[{}] {}\n  merge: {:?}\n  units:\n{units}  expected ({} rows):\n{}  actual ({} rows):\n{}",
            query.template,
            query.sql,
            plan.merge,
            expected.len(),
            show(&expected),
            actual.len(),
            show(&actual)
        ));
    }
}

/// Sets the shards and `ref` up, then runs the generated queries; panics
/// with every mismatch found (the first few in detail).
pub async fn run_suite<E: Exec>(exec: &mut E, dialect: Dialect, rule_yaml: &str) {
    let db = shardwire_rules::load::parse_database(Path::new("differential.yaml"), rule_yaml)
        .unwrap_or_else(|e| panic!("rule YAML: {e}\n{rule_yaml}"));

    // DDL fans out to all eight data nodes.
    let ddl = plan(&db, dialect, CREATE_TABLE).unwrap_or_else(|e| panic!("plan DDL: {e}"));
    assert_eq!(ddl.units.len(), 8, "CREATE TABLE units: {:?}", ddl.units);
    for unit in &ddl.units {
        exec.query(&unit.data_source, &unit.sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {}: {e}", unit.data_source, unit.sql));
    }
    exec.query(REF, CREATE_TABLE)
        .await
        .unwrap_or_else(|e| panic!("ref DDL: {e}"));

    // Data: the same rows through the kernel and straight into ref.
    let mut rng = Lcg(0x5eed_d1ff);
    let orders = generate_orders(&mut rng);
    for batch in orders.chunks(INSERT_BATCH) {
        let values: Vec<String> = batch.iter().map(Order::values_sql).collect();
        let sql = format!(
            "INSERT INTO t_order (order_id, user_id, status, amount, created) VALUES {}",
            values.join(", ")
        );
        let insert = plan(&db, dialect, &sql).unwrap_or_else(|e| panic!("plan INSERT: {e}"));
        assert!(insert.units.len() > 1, "a batch spans several data nodes");
        for unit in &insert.units {
            exec.query(&unit.data_source, &unit.sql)
                .await
                .unwrap_or_else(|e| panic!("{}: {}: {e}", unit.data_source, unit.sql));
        }
        exec.query(REF, &sql)
            .await
            .unwrap_or_else(|e| panic!("ref INSERT: {e}"));
    }
    // Every row landed exactly once.
    let count = |rows: Vec<Vec<Value>>| canon(&rows[0][0]);
    let in_ref = count(
        exec.query(REF, "SELECT COUNT(*) FROM t_order")
            .await
            .unwrap(),
    );
    assert_eq!(in_ref, ROWS.to_string());
    let mut on_nodes = 0;
    for (i, _) in SHARD_DATABASES.iter().enumerate() {
        for t in 0..2 {
            let sql = format!("SELECT COUNT(*) FROM t_order_{t}");
            let n = count(exec.query(&format!("ds_{i}"), &sql).await.unwrap());
            on_nodes += n.parse::<usize>().unwrap();
        }
    }
    assert_eq!(on_nodes, ROWS, "rows on the data nodes");

    let mut gen = Gen {
        rng: Lcg(0xd1ff_0001),
        dialect,
        orders: &orders,
    };
    let mut stats = Stats::default();
    let mut failures: Vec<String> = Vec::new();
    for _ in 0..QUERIES {
        let query = gen.query();
        check(exec, &db, dialect, &query, &mut stats, &mut failures).await;
    }
    // Aggregates the proxy computes in part: fixed queries per construct,
    // each under several predicates, then random ones.
    let predicates = [
        "",
        " WHERE user_id IN (1, 2, 3, 6)",
        " WHERE amount > 0",
        " WHERE status = 'nope'",
    ];
    let mut handwritten = 0usize;
    for (template, sql, ordered, avg) in agg::handwritten(dialect)
        .into_iter()
        .chain(order::handwritten(dialect))
    {
        for w in predicates {
            let query = Query {
                template,
                sql: sql.replace("{w}", w),
                ordered,
                avg: avg.clone(),
            };
            check(exec, &db, dialect, &query, &mut stats, &mut failures).await;
            handwritten += 1;
        }
    }
    for (sql, construct) in agg::refused_by_name(dialect)
        .into_iter()
        .chain(order::refused_by_name(dialect))
    {
        match plan(&db, dialect, sql) {
            Err(e) if e.contains("unsupported:") && e.contains(construct) => {}
            other => failures.push(format!(
                "[hand_refusal] {sql}\n  expected a refusal naming {construct:?}, got {:?}",
                other.map(|p| p.units.len())
            )),
        }
    }
    let started = std::time::Instant::now();
    for _ in 0..AGG_QUERIES {
        let query = gen.agg_query();
        check(exec, &db, dialect, &query, &mut stats, &mut failures).await;
    }
    eprintln!(
        "differential {dialect:?}: {handwritten} hand-written aggregate queries, {AGG_QUERIES} random \
         aggregate queries in {:.1} s; kernel refusals among them: {} ({} hand-written), errors \
         agreed with the server (division by zero): {}, rejected by server and shards alike: {}, \
         answered where the server failed on one side of AND / OR: {}, past the proxy's 38 \
         digits: {}",
        started.elapsed().as_secs_f64(),
        stats.refused_agg,
        stats.refused_hand,
        stats.errors_agreed,
        stats.rejected_by_both,
        stats.order_dependent,
        stats.overflowed,
    );
    let Stats {
        ran,
        refused,
        merged,
        mut rows_compared,
        ..
    } = stats;
    // Writes: the same UPDATE / DELETE through the kernel and on ref, then
    // the whole table read back both ways.
    let mut writes = 0usize;
    for i in 0..WRITES {
        let mut w = gen.condition();
        while w.is_empty() {
            w = gen.condition();
        }
        let (template, sql) = match i % 4 {
            0 | 1 => (
                "update_amount",
                format!("UPDATE t_order SET amount = amount + 1.25{w}"),
            ),
            2 => (
                "update_status",
                format!("UPDATE t_order SET status = 'paid', created = NULL{w}"),
            ),
            _ => ("delete", format!("DELETE FROM t_order{w}")),
        };
        let write = match plan(&db, dialect, &sql) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!(
                    "[{template}] refused by the kernel: {sql}\n  error: {e}"
                ));
                continue;
            }
        };
        for unit in &write.units {
            if let Err(e) = exec.query(&unit.data_source, &unit.sql).await {
                failures.push(format!(
                    "[{template}] {sql}\n  {}: {}: {e}",
                    unit.data_source, unit.sql
                ));
            }
        }
        exec.query(REF, &sql)
            .await
            .unwrap_or_else(|e| panic!("ref rejects `{sql}`: {e}"));
        writes += 1;
        let read = "SELECT order_id, user_id, status, amount, created FROM t_order";
        let mut expected = exec.query(REF, read).await.unwrap();
        let read_plan = plan(&db, dialect, read).unwrap();
        match run_plan(exec, &read_plan).await {
            Ok(mut actual) => {
                expected.sort_by_cached_key(|r| Compare::EXACT.row(r));
                actual.sort_by_cached_key(|r| Compare::EXACT.row(r));
                rows_compared += expected.len();
                if !Compare::EXACT.rows_agree(&expected, &actual) {
                    failures.push(format!(
                        "[{template}] {sql}\n  units:\n{}  table afterwards, expected ({} rows):\n{}  \
                         actual ({} rows):\n{}",
                        write
                            .units
                            .iter()
                            .map(|u| format!("    {}: {}\n", u.data_source, u.sql))
                            .collect::<String>(),
                        expected.len(),
                        show(&expected),
                        actual.len(),
                        show(&actual)
                    ));
                }
            }
            Err(e) => failures.push(format!("[{template}] {sql}\n  reading back: {e}")),
        }
    }
    eprintln!(
        "differential {dialect:?}: {ran} queries ran ({merged} merged across units, {refused} \
         refused as expected), {writes} writes, {rows_compared} rows compared, {} mismatches",
        failures.len()
    );
    if !failures.is_empty() {
        let mut by_template: Vec<&str> = failures
            .iter()
            .filter_map(|f| f.split(']').next())
            .map(|t| t.trim_start_matches('['))
            .collect();
        by_template.sort_unstable();
        by_template.dedup();
        panic!(
            "{} queries and writes disagree (templates: {}); the first ones:\n\n{}",
            failures.len(),
            by_template.join(", "),
            failures
                .iter()
                .take(12)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
    assert!(ran >= 200, "only {ran} queries ran");
}
