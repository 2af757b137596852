//! `COPY ... TO STDOUT` answered by several data nodes: the frontend
//! concatenates their outputs, which is the answer only when nothing about
//! the rows needs merging and no node's output carries a header of its own.
//! Anything else is refused by name rather than answered differently.
//! (A `COPY (query) TO STDOUT` in the default text format does not get
//! here when its rows need merging: the PostgreSQL frontend runs the query
//! merged and writes the text lines itself, `frontend/src/pg/copy_out.rs`.)

use sqlparser::ast::{CopyOption, CopySource, Statement};

use crate::error::KernelError;
use crate::Dialect;

/// Checks that the outputs of a COPY TO's units may simply be joined.
pub(crate) fn check_concatenation(
    statement: &Statement,
    dialect: Dialect,
    tables: &[String],
) -> Result<(), KernelError> {
    let Statement::Copy {
        source,
        to: true,
        options,
        legacy_options,
        ..
    } = statement
    else {
        return Ok(());
    };
    let refuse = |construct: &str, reason: &str| {
        Err(KernelError::unsupported(
            construct,
            tables.iter().cloned(),
            reason,
        ))
    };
    let binary = options
        .iter()
        .any(|o| matches!(o, CopyOption::Format(f) if f.value.eq_ignore_ascii_case("binary")));
    let legacy = legacy_options
        .iter()
        .map(|o| o.to_string().to_ascii_uppercase())
        .collect::<Vec<_>>();
    if binary || legacy.iter().any(|o| o.contains("BINARY")) {
        return refuse(
            "COPY TO STDOUT across shards in binary format",
            "each shard's output has its own header and trailer; use text or CSV",
        );
    }
    let header = options
        .iter()
        .any(|o| matches!(o, CopyOption::Header(true)));
    if header || legacy.iter().any(|o| o.contains("HEADER")) {
        return refuse(
            "COPY TO STDOUT across shards with HEADER",
            "each shard's output would carry its own header line",
        );
    }
    if let CopySource::Query(query) = source {
        let select = Statement::Query(query.clone());
        if !joins_as_it_comes(&select, dialect, tables)? {
            return refuse(
                "COPY (query) TO STDOUT across shards with ORDER BY, LIMIT, OFFSET, GROUP BY, \
                 DISTINCT or aggregates",
                "the shards' outputs are joined as they come; run the query itself to have \
                 its rows merged",
            );
        }
    }
    Ok(())
}

/// Whether the shards' rows of `select`, joined as they come, are its rows:
/// nothing to sort, group, aggregate, deduplicate or cut.
pub(crate) fn joins_as_it_comes(
    select: &Statement,
    dialect: Dialect,
    tables: &[String],
) -> Result<bool, KernelError> {
    Ok(match crate::derive::derive(select, dialect, tables)? {
        None => true,
        Some((derived, merge)) => {
            merge.order_by.is_empty()
                && merge.group_by.is_empty()
                && merge.aggregates.is_empty()
                && !merge.distinct
                && merge.offset == 0
                && merge.limit.is_none()
                && derived == *select
        }
    })
}
