//! Statements the kernel reads by hand because sqlparser cannot: `COPY
//! ... FROM STDIN` and `VACUUM` / `ANALYZE`, both sent by `pgbench -i`.
//! Only simple-protocol statements come here; the first byte is looked at
//! before anything else, so other statements pay nothing for the check.

use shardwire_backend::executor::Request;
use shardwire_kernel::copy::{parse_copy_from_stdin, CopyFromStdin};
use shardwire_kernel::{plan_maintenance, KernelError};

use super::execute::Shape;
use super::session::Session;
use crate::error::StatementError;

impl Session {
    /// Runs `sql` when it is one of these statements; `None` otherwise.
    pub(super) async fn execute_hand_read(
        &mut self,
        sql: &str,
    ) -> Option<Result<(), StatementError>> {
        if let Some(copy) = copy_from_stdin(sql) {
            return Some(match copy {
                Ok(copy) => self.copy_in(copy).await,
                Err(e) => Err(e.into()),
            });
        }
        let first = sql.trim_start().bytes().next()?;
        if !matches!(first.to_ascii_lowercase(), b'v' | b'a' | b'/' | b'-') {
            return None;
        }
        let units = match plan_maintenance(&self.db.rules, sql)? {
            Ok(units) => units,
            Err(e) => return Some(Err(e.into())),
        };
        if let Err(e) = self.txn.refuse_if_failed() {
            return Some(Err(e));
        }
        let units = units
            .into_iter()
            .map(|u| (u.data_source, Request::Simple(u.sql)))
            .collect();
        Some(self.run_concatenated(units, Shape::Simple, true).await)
    }
}

/// `Some` when `sql` is a `COPY ... FROM STDIN` (simple or extended
/// protocol).
pub(super) fn copy_from_stdin(sql: &str) -> Option<Result<CopyFromStdin, KernelError>> {
    let first = sql.trim_start().bytes().next()?;
    if !matches!(first.to_ascii_lowercase(), b'c' | b'/' | b'-') {
        return None;
    }
    parse_copy_from_stdin(sql).transpose()
}
