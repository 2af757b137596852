//! The start of a merge, the same for both protocols: every unit's first
//! answer is read together, and the first header (PostgreSQL's
//! RowDescription, MySQL's column definitions) describes the merged rows.

use shardwire_backend::BackendError;

use crate::error::StatementError;

/// The first header among the units' first answers (`firsts`, read
/// together; `None` for a unit without one); any unit's error fails the
/// statement, and no header at all is refused with `missing`.
pub fn first_header<H>(
    firsts: Vec<Result<Option<H>, BackendError>>,
    missing: impl FnOnce() -> StatementError,
) -> Result<H, StatementError> {
    let mut header = None;
    for result in firsts {
        match result {
            Err(e) => return Err(StatementError::Backend(e)),
            Ok(Some(h)) if header.is_none() => header = Some(h),
            Ok(_) => {}
        }
    }
    header.ok_or_else(missing)
}
