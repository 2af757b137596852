//! `COPY (query) TO STDOUT` over several shards in the default text
//! format: the query runs as a query, its rows merged as for a SELECT
//! (ORDER BY, LIMIT, GROUP BY, aggregates, DISTINCT), and each merged row
//! goes out as one line of COPY's text format. Joining the shards' own
//! COPY outputs cannot order or group them. Other formats and options
//! (CSV, HEADER, DELIMITER, NULL, binary) keep the path that joins the
//! shards' outputs, which refuses by name what cannot be joined.

use std::sync::Arc;

use bytes::Bytes;
use futures::SinkExt;
use shardwire_backend::executor::{Request, UnitEvents};
use shardwire_backend::pg::QueryEvent;
use shardwire_kernel::merge::MergePlan;
use shardwire_kernel::{plan_statement, Dialect};
use shardwire_protocol::pg::{BackendMessage, CopyResponse};
use sqlparser::ast::{CopyOption, CopySource, CopyTarget, Statement};

use super::execute::Shape;
use super::session::{session_to_statement, Session};
use crate::core::units;
use crate::error::StatementError;

/// The query of a `COPY (query) TO STDOUT` in the default text format.
pub(super) fn text_copy_query(ast: &Statement) -> Option<Statement> {
    let Statement::Copy {
        source: CopySource::Query(query),
        to: true,
        target: CopyTarget::Stdout,
        options,
        legacy_options,
        ..
    } = ast
    else {
        return None;
    };
    let text = legacy_options.is_empty()
        && options
            .iter()
            .all(|o| matches!(o, CopyOption::Format(f) if f.value.eq_ignore_ascii_case("text")));
    text.then(|| Statement::Query(query.clone()))
}

impl Session {
    /// Runs `query` (a text COPY's) merged across its shards and answers it
    /// as COPY. `None` when its plan needs no merge, or does not plan: the
    /// COPY path then answers (one unit forwards the shard's COPY).
    pub(super) async fn copy_out_merged(
        &mut self,
        query: &Statement,
    ) -> Option<Result<(), StatementError>> {
        let db = Arc::clone(&self.db);
        let plan = crate::metadata::plan_loading(&db, |options| {
            plan_statement(query, &db.rules, Dialect::PostgreSql, &[], options)
        })
        .await
        .ok()?;
        let merge_plan = plan.merge?;
        let units: Vec<(String, Request)> = plan
            .units
            .into_iter()
            .map(|u| (u.data_source, Request::Simple(u.sql)))
            .collect();
        Some(self.run_copy_merged(units, &merge_plan).await)
    }

    async fn run_copy_merged(
        &mut self,
        units: Vec<(String, Request)>,
        plan: &MergePlan,
    ) -> Result<(), StatementError> {
        let count = units.len();
        let (jobs, sources) = self.jobs(units).await?;
        let budget = self.fe.unit_budget();
        let (running, streams) = units::start(self, jobs, sources, count, budget)?;
        let result = self.send_copy_lines(streams, plan).await;
        units::give_back(self, running).await?;
        result
    }

    async fn send_copy_lines(
        &mut self,
        streams: Vec<UnitEvents>,
        plan: &MergePlan,
    ) -> Result<(), StatementError> {
        // Text results: a value's text is what COPY's text format writes
        // for it (both come from the type's output function).
        let mut rows = self
            .start_merge(streams, plan, Shape::Silent, Arc::from([]))
            .await?;
        let width = rows.type_oids.len();
        self.conn
            .feed(BackendMessage::CopyOutResponse(CopyResponse {
                format: 0,
                column_formats: vec![0; width],
            }))
            .await
            .map_err(session_to_statement)?;
        let mut lines = 0u64;
        while let Some(event) = rows.next().await? {
            if let QueryEvent::Row(row) = event {
                let line = text_line(row.columns().take(width));
                self.conn
                    .feed(BackendMessage::CopyData(line.into()))
                    .await
                    .map_err(session_to_statement)?;
                lines += 1;
            }
        }
        self.conn
            .feed(BackendMessage::CopyDone)
            .await
            .map_err(session_to_statement)?;
        self.conn
            .feed(BackendMessage::CommandComplete(format!("COPY {lines}")))
            .await
            .map_err(session_to_statement)
    }
}

/// One row in COPY's text format: tab-separated, `\N` for NULL, and the
/// escapes PostgreSQL's CopyAttributeOutText writes (backslash, the
/// delimiter, and the control characters that have a letter).
fn text_line(cells: impl Iterator<Item = Option<Bytes>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        let Some(cell) = cell else {
            out.extend_from_slice(b"\\N");
            continue;
        };
        for &b in cell.iter() {
            let escape = match b {
                b'\\' => Some(b'\\'),
                b'\t' => Some(b't'),
                b'\n' => Some(b'n'),
                b'\r' => Some(b'r'),
                0x08 => Some(b'b'),
                0x0c => Some(b'f'),
                0x0b => Some(b'v'),
                _ => None,
            };
            match escape {
                Some(letter) => out.extend_from_slice(&[b'\\', letter]),
                None => out.push(b),
            }
        }
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_as_postgresql_s_text_format() {
        let cells = [
            Some(Bytes::from_static(b"101")),
            None,
            Some(Bytes::from_static(b"a\tb\\c\nd\re\x08\x0c\x0b")),
            Some(Bytes::from_static(b"")),
        ];
        assert_eq!(
            text_line(cells.into_iter()),
            b"101\t\\N\ta\\tb\\\\c\\nd\\re\\b\\f\\v\t\n".to_vec()
        );
    }

    #[test]
    fn only_the_default_text_format_is_merged() {
        let parse =
            |sql: &str| shardwire_kernel::parse_one(Dialect::PostgreSql, sql).expect("parses");
        assert!(text_copy_query(&parse("COPY (SELECT a FROM t ORDER BY a) TO STDOUT")).is_some());
        assert!(text_copy_query(&parse(
            "COPY (SELECT a FROM t) TO STDOUT WITH (FORMAT text)"
        ))
        .is_some());
        assert!(
            text_copy_query(&parse("COPY (SELECT a FROM t) TO STDOUT WITH (FORMAT csv)")).is_none()
        );
        assert!(text_copy_query(&parse("COPY t TO STDOUT")).is_none());
    }
}
