//! Several units of one write (or DDL) whose answers are added up:
//! affected rows summed, rows (INSERT / DELETE ... RETURNING) concatenated
//! under the first unit's columns, one OK or EOF at the end.
//!
//! A write over several actual tables is one statement to the client, so
//! it is atomic as on one server: outside a transaction (autocommit) it
//! runs in an implicit transaction on every data source it reaches, committed when every part succeeded and rolled back when
//! one failed, and the client sees the failing part's own error. Inside a
//! transaction, and in an implicit one, the data sources are written one
//! at a time in name order: two sessions writing the same rows (broadcast
//! copies, one batch's keys over two shards) would otherwise each lock
//! one data source first and wait for the other's lock, a deadlock no
//! shard can see.

use shardwire_backend::executor::UnitEvents;
use shardwire_backend::mysql::{MySqlEvent, MySqlRequest};
use shardwire_protocol::mysql::OkPacket;

use super::session::{wire_error, Session};
use crate::core::units::{self, batches};
use crate::error::StatementError;

/// What the units answered so far.
#[derive(Debug, Default)]
struct Sum {
    affected: u64,
    backend_last_id: u64,
    warnings: u16,
    columns_sent: bool,
    /// Units read so far; with `one_copy` only the first is counted.
    seen: usize,
    first_error: Option<StatementError>,
}

fn distinct_sources(units: &[(String, MySqlRequest)]) -> usize {
    let mut names: Vec<&str> = units.iter().map(|(ds, _)| ds.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.len()
}

impl Session {
    /// Runs the units of a write and answers the client once.
    pub(super) async fn run_write(
        &mut self,
        units: Vec<(String, MySqlRequest)>,
        generated_key: Option<u64>,
        one_copy: bool,
        more: bool,
    ) -> Result<(), StatementError> {
        let count = units.len();
        // Two units on one data source run on two pooled connections in
        // autocommit, so they need the implicit transaction too (which
        // puts them on one connection, one after the other).
        let implicit = count > 1 && self.txn_is_idle();
        if implicit {
            self.open_implicit_transaction();
        }
        let one_at_a_time = distinct_sources(&units) > 1 && self.txn.state.is_open();
        let result = self
            .write_batches(units, count, one_copy, one_at_a_time, more)
            .await;
        if !implicit {
            return result.and_then(|sum| self.finish_write(sum, generated_key, more));
        }
        // Committed only when every part succeeded; the first error (a
        // part's, else the commit's) is the client's answer.
        match result {
            Ok(sum) if sum.first_error.is_none() => {
                self.end_transaction(true).await?;
                self.finish_write(sum, generated_key, more)
            }
            other => {
                if let Err(e) = self.end_transaction(false).await {
                    tracing::warn!("rolling back an implicit transaction failed: {e}");
                }
                match other {
                    Ok(sum) => self.finish_write(sum, generated_key, more),
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn write_batches(
        &mut self,
        units: Vec<(String, MySqlRequest)>,
        count: usize,
        one_copy: bool,
        one_at_a_time: bool,
        more: bool,
    ) -> Result<Sum, StatementError> {
        let (jobs, sources) = self.jobs(units).await?;
        let mut sum = Sum::default();
        for (jobs, count, sources) in batches(jobs, sources, count, one_at_a_time) {
            if sum.first_error.is_some() {
                // An earlier data source failed the statement: the rest
                // are not asked.
                units::give_back_unstarted(self, jobs, sources);
                continue;
            }
            let budget = self.fe.unit_budget();
            let (running, streams) = units::start(self, jobs, sources, count, budget)?;
            let result = self.add_up(streams, &mut sum, one_copy, more).await;
            units::give_back(self, running).await?;
            result?;
        }
        Ok(sum)
    }

    /// Reads the units' answers into `sum`, forwarding their rows.
    async fn add_up(
        &mut self,
        streams: Vec<UnitEvents<MySqlEvent>>,
        sum: &mut Sum,
        one_copy: bool,
        more: bool,
    ) -> Result<(), StatementError> {
        for mut unit in streams {
            let counted = sum.seen == 0 || !one_copy;
            sum.seen += 1;
            while let Some(event) = unit.next().await {
                match event {
                    Ok(MySqlEvent::Columns(columns)) => {
                        if !sum.columns_sent && sum.first_error.is_none() {
                            sum.columns_sent = true;
                            let columns = self.logical_columns(&columns);
                            let status = self.status(more);
                            let caps = self.conn.caps;
                            self.conn
                                .write(|w| w.columns(&columns, status, caps))
                                .map_err(wire_error)?;
                        }
                    }
                    Ok(MySqlEvent::Row(row)) if sum.first_error.is_none() && counted => {
                        self.conn.write_payload(row.raw()).map_err(wire_error)?;
                        self.flush_rows().await?;
                    }
                    Ok(MySqlEvent::Row(_)) => {}
                    Ok(MySqlEvent::ResultEnd(end)) if counted => {
                        sum.warnings = sum.warnings.saturating_add(end.warnings);
                    }
                    Ok(MySqlEvent::ResultEnd(_)) => {}
                    Ok(MySqlEvent::Ok(ok)) if counted => {
                        sum.affected = sum.affected.saturating_add(ok.affected_rows);
                        if sum.backend_last_id == 0 {
                            sum.backend_last_id = ok.last_insert_id;
                        }
                        sum.warnings = sum.warnings.saturating_add(ok.warnings);
                    }
                    Ok(MySqlEvent::Ok(_)) => {}
                    Err(e) => {
                        sum.first_error.get_or_insert(StatementError::Backend(e));
                    }
                }
            }
        }
        Ok(())
    }

    /// The one OK (or the EOF after the rows) of the write, with the
    /// status the session has once the write's transaction ended.
    fn finish_write(
        &mut self,
        sum: Sum,
        generated_key: Option<u64>,
        more: bool,
    ) -> Result<(), StatementError> {
        if let Some(e) = sum.first_error {
            return Err(e);
        }
        if sum.columns_sent {
            let status = self.status(more);
            let caps = self.conn.caps;
            let warnings = sum.warnings;
            return self
                .conn
                .write(|w| w.result_end(status, warnings, caps))
                .map_err(wire_error);
        }
        let last_insert_id = generated_key.unwrap_or(sum.backend_last_id);
        if last_insert_id != 0 {
            self.last_insert_id = last_insert_id;
        }
        let ok = OkPacket {
            affected_rows: sum.affected,
            last_insert_id,
            status: self.status(more),
            warnings: sum.warnings,
            ..OkPacket::default()
        };
        self.conn.write_ok(&ok).map_err(wire_error)
    }
}
