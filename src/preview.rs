//! `shardctl preview`: how the kernel would route and rewrite one statement
//! under a conf directory's rules, and how it would merge the answers, as
//! JSON, without touching any database.

use std::path::Path;

use serde::Serialize;
use shardwire_kernel::merge::{AggregateKind, MergePlan, ALL_COLUMNS};
use shardwire_kernel::{plan_with, Dialect, ParseCache, PlanOptions};
use shardwire_rules::keygen::GeneratedKey;
use shardwire_rules::ShardingValue;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Preview {
    units: Vec<Unit>,
    /// `null` when one unit answers (or the statement returns no rows).
    merge: Option<Merge>,
    /// `null` unless an INSERT got generated keys.
    generated_keys: Option<GeneratedKeys>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Unit {
    data_source: String,
    sql: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SortKey {
    column: usize,
    descending: bool,
    nulls_first: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Aggregate {
    kind: &'static str,
    column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sum_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count_column: Option<usize>,
    /// COUNT / SUM / AVG (DISTINCT): the column of the argument's values.
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct_column: Option<usize>,
}

/// A column the proxy computes after merging, e.g. `round(avg(x), 2)`:
/// `#n` in the expression is column n of the merged row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Computed {
    column: usize,
    expression: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Merge {
    order_by: Vec<SortKey>,
    group_by: Vec<usize>,
    aggregates: Vec<Aggregate>,
    distinct: bool,
    offset: u64,
    limit: Option<u64>,
    /// `null`: every column (a plain `SELECT *`, width unknown here).
    output_columns: Option<usize>,
    /// Only when the select list has a wildcard and the merge needs column
    /// positions: the column numbers above then count as if the wildcard
    /// stood for no column, and the merge resolves them from the row width.
    #[serde(skip_serializing_if = "Option::is_none")]
    wildcard: Option<Wildcard>,
    /// Evaluated by the proxy after the merge (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    computed: Vec<Computed>,
    /// HAVING, evaluated by the proxy after the merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    having: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wildcard {
    /// Items before the wildcard: absolute positions.
    leading: usize,
    /// Columns after it, derived ones included: counted from the row's end.
    trailing: usize,
    /// The last `derived` columns, dropped by the merge.
    derived: usize,
}

impl From<&MergePlan> for Merge {
    fn from(m: &MergePlan) -> Self {
        Merge {
            order_by: m
                .order_by
                .iter()
                .map(|k| SortKey {
                    column: k.column,
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                })
                .collect(),
            group_by: m.group_by.clone(),
            aggregates: m
                .aggregates
                .iter()
                .map(|a| {
                    let (kind, sum_column, count_column) = match a.kind {
                        AggregateKind::Count => ("COUNT", None, None),
                        AggregateKind::Sum => ("SUM", None, None),
                        AggregateKind::Min => ("MIN", None, None),
                        AggregateKind::Max => ("MAX", None, None),
                        AggregateKind::Avg { sum_col, count_col } => {
                            ("AVG", Some(sum_col), Some(count_col))
                        }
                        AggregateKind::CountDistinct { .. } => ("COUNT DISTINCT", None, None),
                        AggregateKind::SumDistinct { .. } => ("SUM DISTINCT", None, None),
                        AggregateKind::AvgDistinct { .. } => ("AVG DISTINCT", None, None),
                    };
                    Aggregate {
                        kind,
                        column: a.column,
                        sum_column,
                        count_column,
                        distinct_column: a.kind.distinct_arg(),
                    }
                })
                .collect(),
            distinct: m.distinct,
            offset: m.offset,
            limit: m.limit,
            output_columns: (m.output_columns != ALL_COLUMNS).then_some(m.output_columns),
            wildcard: m.wildcard.map(|w| Wildcard {
                leading: w.leading,
                trailing: w.trailing,
                derived: w.derived,
            }),
            computed: m
                .post
                .iter()
                .flat_map(|p| &p.computed)
                .map(|(column, expr)| Computed {
                    column: *column,
                    expression: expr.to_string(),
                })
                .collect(),
            having: m
                .post
                .as_ref()
                .and_then(|p| p.having.as_ref())
                .map(ToString::to_string),
        }
    }
}

#[derive(Serialize)]
struct GeneratedKeys {
    column: String,
    keys: Vec<serde_json::Value>,
}

/// The plan of `sql` in database `database` of the conf dir `dir`, as
/// pretty JSON: `{"units": [{"dataSource": ..., "sql": ...}, ...],
/// "merge": {...} | null, "generatedKeys": {...} | null}`.
/// `params` bind the statement's placeholders in order.
pub fn preview(
    dir: &Path,
    database: &str,
    dialect: Dialect,
    sql: &str,
    params: &[ShardingValue],
) -> anyhow::Result<String> {
    let snapshot = shardwire_rules::load_dir(dir)?;
    let Some(db) = snapshot.database(database) else {
        let known: Vec<&str> = snapshot.databases.keys().map(String::as_str).collect();
        anyhow::bail!(
            "no logical database {database:?} in {} (it has: {})",
            dir.display(),
            known.join(", ")
        );
    };
    let cache = ParseCache::new(1);
    let plan = plan_with(&cache, db, dialect, sql, params, &PlanOptions::default())?;
    let preview = Preview {
        units: plan
            .units
            .into_iter()
            .map(|u| Unit {
                data_source: u.data_source,
                sql: u.sql,
            })
            .collect(),
        merge: plan.merge.as_ref().map(Merge::from),
        generated_keys: plan.generated_keys.map(|k| GeneratedKeys {
            column: k.column,
            keys: k
                .keys
                .into_iter()
                .map(|k| match k {
                    GeneratedKey::Int(v) => serde_json::Value::from(v),
                    GeneratedKey::Text(s) => serde_json::Value::from(s),
                })
                .collect(),
        }),
    };
    Ok(serde_json::to_string_pretty(&preview)?)
}

/// A command-line parameter: an integer when it reads as one, else text
/// (as a driver binding a string would send it).
pub fn parse_param(text: &str) -> ShardingValue {
    text.parse::<i64>()
        .map_or_else(|_| ShardingValue::Text(text.to_owned()), ShardingValue::Int)
}
