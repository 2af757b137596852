//! Where the rows of a `COPY ... FROM STDIN` go: one COPY per data node,
//! each row to the node its sharding columns pick (sharding tables), every
//! row to every data source (broadcast tables), or all to the one data
//! source of a single table.

use shardwire_rules::snapshot::{LogicalDatabase, ShardingTable};
use shardwire_rules::ShardingValue;

use super::format::{field, FormatKind};
use super::statement::CopyFromStdin;
use crate::error::KernelError;

/// One COPY the proxy runs on a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    pub data_source: String,
    pub table: String,
    pub sql: String,
}

/// The COPY's targets and how a row picks among them.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub statement: CopyFromStdin,
    pub targets: Vec<CopyTarget>,
    pub routing: CopyRouting,
}

#[derive(Debug, Clone)]
pub enum CopyRouting {
    /// Every row to the one target.
    One,
    /// Every row to every target: a broadcast table's copies.
    Everywhere,
    /// Each row to one target (index into `targets`, which follow
    /// `data_nodes` of the table) by its sharding columns.
    ByRow {
        /// Boxed: a table's rule is large beside the other variants.
        table: Box<ShardingTable>,
        /// The sharding columns, lower-cased.
        columns: Vec<String>,
    },
}

/// How a sharding column's text is read into a routing value: as the
/// server would type it, so a row lands where an INSERT of it would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// int2 / int4 / int8: the value must be an integer.
    Integer,
    /// numeric, float: an integer when it is one (as an INSERT's literal
    /// 5 is), text otherwise.
    Number,
    /// Everything else routes by its text.
    Text,
}

impl ColumnType {
    /// The type of PostgreSQL type `oid`.
    pub fn of_pg_oid(oid: u32) -> Self {
        match oid {
            20 | 21 | 23 => ColumnType::Integer,
            700 | 701 | 1700 => ColumnType::Number,
            _ => ColumnType::Text,
        }
    }
}

/// Plans `statement` under `db`'s rules.
pub fn plan_copy_in(
    db: &LogicalDatabase,
    statement: CopyFromStdin,
) -> Result<CopyPlan, KernelError> {
    let name = statement.table.to_ascii_lowercase();
    if let Some(table) = db.sharding.table(&name) {
        let targets = table
            .data_nodes
            .iter()
            .map(|n| CopyTarget {
                data_source: n.data_source.clone(),
                table: n.table.clone(),
                sql: statement.for_table(&n.table),
            })
            .collect();
        let columns: Vec<String> = table
            .database_strategy
            .columns()
            .iter()
            .chain(table.table_strategy.columns())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Some(key) = &table.key_generate {
            let listed = statement
                .columns
                .as_ref()
                .is_none_or(|cols| cols.iter().any(|c| c.eq_ignore_ascii_case(&key.column)));
            if !listed {
                return Err(KernelError::unsupported(
                    "COPY leaving out a generated key column",
                    [name.as_str()],
                    format!(
                        "the column list leaves out {}, whose keys Shardwire generates; \
                         list it and send its values, or INSERT the rows",
                        key.column
                    ),
                ));
            }
        }
        return Ok(CopyPlan {
            statement,
            targets,
            routing: CopyRouting::ByRow {
                table: Box::new(table.clone()),
                columns,
            },
        });
    }
    if db.is_broadcast(&name) {
        let targets = crate::route::routing_data_sources(db)
            .into_iter()
            .map(|ds| CopyTarget {
                data_source: ds,
                table: statement.table.clone(),
                sql: statement.for_table(&statement.table),
            })
            .collect();
        return Ok(CopyPlan {
            statement,
            targets,
            routing: CopyRouting::Everywhere,
        });
    }
    let ds = crate::route::single_table_source(db, &name)?;
    Ok(CopyPlan {
        targets: vec![CopyTarget {
            data_source: ds,
            table: statement.table.clone(),
            sql: statement.for_table(&statement.table),
        }],
        statement,
        routing: CopyRouting::One,
    })
}

/// Where each sharding column sits in a row, and how to read it.
#[derive(Debug, Clone)]
pub struct RowRouter {
    /// (column, position in the row, type).
    columns: Vec<(String, usize, ColumnType)>,
}

impl RowRouter {
    /// `row_columns`: the row's columns in order (the COPY's column list,
    /// or the table's columns), lower-cased, with their types.
    pub fn new(
        plan: &CopyPlan,
        row_columns: &[(String, ColumnType)],
    ) -> Result<Option<RowRouter>, KernelError> {
        let CopyRouting::ByRow { table, columns } = &plan.routing else {
            return Ok(None);
        };
        let mut found = Vec::new();
        for column in columns {
            let Some(pos) = row_columns.iter().position(|(c, _)| c == column) else {
                return Err(KernelError::unsupported(
                    "COPY without the sharding column",
                    [table.logic_name.as_str()],
                    format!(
                        "the rows do not carry sharding column {column}, so they cannot be routed"
                    ),
                ));
            };
            found.push((column.clone(), pos, row_columns[pos].1));
        }
        Ok(Some(RowRouter { columns: found }))
    }

    /// The target (index into the plan's targets) of one row. Errors are
    /// worded as PostgreSQL words them, with the row's line.
    pub fn target(&self, plan: &CopyPlan, row: &[u8], line: u64) -> Result<usize, CopyRowError> {
        let CopyRouting::ByRow { table, .. } = &plan.routing else {
            return Ok(0);
        };
        let format = &plan.statement.format;
        let mut values = Vec::with_capacity(self.columns.len());
        for (column, pos, kind) in &self.columns {
            let at = |message: String| CopyRowError {
                code: "22P04",
                message: format!("{message} (COPY {}, line {line})", plan.statement.table),
            };
            let Some(bytes) = field(format, row, *pos).map_err(at)? else {
                return Err(CopyRowError {
                    code: "23502",
                    message: format!(
                        "null value in sharding column \"{column}\" cannot be routed (COPY {}, line {line})",
                        plan.statement.table
                    ),
                });
            };
            let value = routing_value(&bytes, *kind, format.kind).map_err(|m| CopyRowError {
                code: "22P02",
                message: format!(
                    "{m} (COPY {}, line {line}, column {column})",
                    plan.statement.table
                ),
            })?;
            values.push((column.clone(), value));
        }
        crate::route::route_row(table, &values).map_err(|e| CopyRowError {
            code: "0A000",
            message: format!("{e} (COPY {}, line {line})", plan.statement.table),
        })
    }
}

/// A row that cannot be routed: a SQLSTATE and a message naming its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRowError {
    pub code: &'static str,
    pub message: String,
}

fn routing_value(
    bytes: &[u8],
    kind: ColumnType,
    format: FormatKind,
) -> Result<ShardingValue, String> {
    if format == FormatKind::Binary {
        return match (kind, bytes.len()) {
            (ColumnType::Integer, 2) => Ok(ShardingValue::Int(i64::from(i16::from_be_bytes([
                bytes[0], bytes[1],
            ])))),
            (ColumnType::Integer, 4) => Ok(ShardingValue::Int(i64::from(i32::from_be_bytes([
                bytes[0], bytes[1], bytes[2], bytes[3],
            ])))),
            (ColumnType::Integer, 8) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(bytes);
                Ok(ShardingValue::Int(i64::from_be_bytes(b)))
            }
            (ColumnType::Text, _) => String::from_utf8(bytes.to_vec())
                .map(ShardingValue::Text)
                .map_err(|_| "a sharding column's text is not UTF-8".to_owned()),
            _ => Err("binary COPY routes on integer and text sharding columns only".to_owned()),
        };
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "a sharding column's text is not UTF-8".to_owned())?;
    match kind {
        ColumnType::Integer => text
            .trim()
            .parse::<i64>()
            .map(ShardingValue::Int)
            .map_err(|_| format!("invalid input syntax for type integer: \"{text}\"")),
        ColumnType::Number => Ok(match text.trim().parse::<i64>() {
            Ok(v) => ShardingValue::Int(v),
            Err(_) => ShardingValue::Text(text.to_owned()),
        }),
        ColumnType::Text => Ok(ShardingValue::Text(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_values() {
        use FormatKind::*;
        assert_eq!(
            routing_value(b" 42", ColumnType::Integer, Text),
            Ok(ShardingValue::Int(42))
        );
        assert!(routing_value(b"4x", ColumnType::Integer, Csv).is_err());
        assert_eq!(
            routing_value(b"4.5", ColumnType::Number, Text),
            Ok(ShardingValue::Text("4.5".into()))
        );
        assert_eq!(
            routing_value(b"42", ColumnType::Text, Text),
            Ok(ShardingValue::Text("42".into()))
        );
        assert_eq!(
            routing_value(&[0, 0, 1, 0], ColumnType::Integer, Binary),
            Ok(ShardingValue::Int(256))
        );
        assert_eq!(
            routing_value(&[0xff, 0xfe], ColumnType::Integer, Binary),
            Ok(ShardingValue::Int(-2))
        );
        assert!(routing_value(&[0; 3], ColumnType::Integer, Binary).is_err());
        assert!(routing_value(&[0; 8], ColumnType::Number, Binary).is_err());
    }
}
