//! The start of a merge over several units: their descriptions read,
//! the client's sent, and the merged rows encoded for the client as they
//! are read (by a whole answer, or a portal's slices).

use std::sync::Arc;

use bytes::Bytes;
use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use shardwire_backend::executor::UnitEvents;
use shardwire_backend::pg::QueryEvent;
use shardwire_kernel::merge::{
    merge, ColumnKind, ColumnType, MergeError, MergePlan, Row, RowStream, Value,
};
use shardwire_protocol::pg::{BackendMessage, DataRow, RowDescription};

use super::execute::Shape;
use super::session::{session_to_statement, Session};
use super::values::{column_kind, oid, result_format, to_binary, to_text};
use crate::core::merge::first_header;
use crate::error::StatementError;

/// Merged rows of several units, encoded for the client as they are read.
pub(super) struct MergedRows {
    pub(super) rows: RowStream,
    pub(super) type_oids: Vec<u32>,
    pub(super) formats: std::sync::Arc<[i16]>,
    pub(super) all_text: bool,
    pub(super) count: u64,
    pub(super) ended: bool,
}

impl MergedRows {
    /// The next row, or the completion once the rows are out.
    pub(super) async fn next(&mut self) -> Result<Option<QueryEvent>, StatementError> {
        if self.ended {
            return Ok(None);
        }
        match self.rows.next().await {
            Some(row) => {
                let row = row?;
                self.count += 1;
                let data = encode_row(&row, &self.type_oids, &self.formats, self.all_text)?;
                Ok(Some(QueryEvent::Row(data)))
            }
            None => {
                self.ended = true;
                Ok(Some(QueryEvent::CommandComplete(format!(
                    "SELECT {}",
                    self.count
                ))))
            }
        }
    }
}

impl Session {
    /// Reads the units' descriptions, sends the client's (unless
    /// `Silent`), and starts the merge of their rows.
    pub(super) async fn start_merge(
        &mut self,
        mut units: Vec<UnitEvents>,
        plan: &MergePlan,
        shape: Shape,
        result_formats: Arc<[i16]>,
    ) -> Result<MergedRows, StatementError> {
        let description = first_header(
            join_all(units.iter_mut().map(first_description)).await,
            || {
                StatementError::refused(
                    "XX000",
                    "the shards answered a query without describing its rows",
                )
            },
        )?;
        let kinds: Arc<[ColumnKind]> = description
            .fields
            .iter()
            .map(|f| column_kind(f.type_oid))
            .collect();
        // int2 / int4 arithmetic the proxy computes fails at their width.
        let types = description
            .fields
            .iter()
            .map(|f| ColumnType {
                int_bits: match f.type_oid {
                    oid::INT2 => Some(16),
                    oid::INT4 => Some(32),
                    oid::INT8 => Some(64),
                    _ => None,
                },
                decimals: None,
            })
            .collect();
        let plan = &plan.clone().with_column_types(types);
        let width = description.fields.len();
        let visible = match &plan.wildcard {
            Some(w) => width.saturating_sub(w.derived),
            None => plan.output_columns.min(width),
        };
        let mut shown = RowDescription {
            fields: description.fields.iter().take(visible).cloned().collect(),
        };
        for (i, field) in shown.fields.iter_mut().enumerate() {
            field.format = result_format(&result_formats, i);
        }
        let type_oids: Vec<u32> = shown.fields.iter().map(|f| f.type_oid).collect();
        let streams: Vec<RowStream> = units
            .into_iter()
            .map(|unit| -> RowStream {
                let kinds = Arc::clone(&kinds);
                Box::pin(unit.into_stream().filter_map(move |event| {
                    let item = match event {
                        Ok(QueryEvent::Row(row)) => Some(decode_row(&row, &kinds)),
                        Ok(_) => None,
                        Err(e) => Some(Err(MergeError::Source(Box::new(e)))),
                    };
                    std::future::ready(item)
                }))
            })
            .collect();
        let merged = merge(plan, streams);
        if shape != Shape::Silent {
            self.conn
                .feed(BackendMessage::RowDescription(shown))
                .await
                .map_err(session_to_statement)?;
        }
        let all_text = type_oids
            .iter()
            .enumerate()
            .all(|(i, _)| result_format(&result_formats, i) == 0);
        Ok(MergedRows {
            rows: merged,
            type_oids,
            formats: result_formats,
            all_text,
            count: 0,
            ended: false,
        })
    }
}

/// Reads a unit's events up to its RowDescription.
async fn first_description(
    unit: &mut UnitEvents,
) -> Result<Option<Arc<RowDescription>>, shardwire_backend::BackendError> {
    while let Some(event) = unit.next().await {
        match event? {
            QueryEvent::RowDescription(rd) => return Ok(Some(rd)),
            QueryEvent::CommandComplete(_) | QueryEvent::EmptyQuery => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

fn decode_row(row: &DataRow, kinds: &[ColumnKind]) -> Result<Row, MergeError> {
    let values = row
        .columns()
        .enumerate()
        .map(|(i, cell)| {
            let kind = kinds.get(i).copied().unwrap_or(ColumnKind::Unknown);
            Value::parse_text(kind, cell.as_deref())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row::with_raw(values, row.body().to_vec()))
}

pub(super) fn encode_row(
    row: &Row,
    type_oids: &[u32],
    formats: &[i16],
    all_text: bool,
) -> Result<DataRow, StatementError> {
    let bad =
        |e: shardwire_protocol::ProtocolError| StatementError::refused("XX000", e.to_string());
    if all_text {
        if let Some(raw) = row.raw() {
            return DataRow::decode(Bytes::copy_from_slice(raw)).map_err(bad);
        }
    }
    let mut cells: Vec<Option<Vec<u8>>> = Vec::with_capacity(type_oids.len());
    for (i, value) in row.values().iter().enumerate().take(type_oids.len()) {
        let oid = type_oids.get(i).copied().unwrap_or(0);
        cells.push(if result_format(formats, i) == 1 {
            to_binary(value, oid).map_err(|e| StatementError::refused("XX000", e))?
        } else {
            to_text(value, oid)
        });
    }
    DataRow::from_values(cells.iter().map(|c| c.as_deref())).map_err(bad)
}
