//! `COPY ... FROM STDIN` into sharded, broadcast and single tables: the
//! statement, the framing of its rows, and the shard each row goes to.
//! The frontend streams the client's data through these; the kernel does
//! no I/O.
//!
//! # Layout
//! - `statement`: [`parse_copy_from_stdin`], reading the statement by hand.
//! - `format`: [`RowSplitter`] (CopyData in, whole rows out) and [`field`].
//! - `insert_select`: [`plan_insert_select`], INSERT ... SELECT into a
//!   sharding table as a COPY of the query's rows.
//! - `to_stdout`: when the outputs of a COPY TO's units may be joined.
//! - `plan`: [`plan_copy_in`], the COPY each data node runs, and
//!   [`RowRouter`], the target of one row.

mod format;
mod insert_select;
mod plan;
mod statement;
mod to_stdout;

pub use format::{field, CopyFormat, FormatKind, Piece, RowSplitter, SplitError, BINARY_TRAILER};
pub use insert_select::{plan_insert_select, InsertSelect};
pub use plan::{
    plan_copy_in, ColumnType, CopyPlan, CopyRouting, CopyRowError, CopyTarget, RowRouter,
};
pub use statement::{parse_copy_from_stdin, quote_ident, CopyFromStdin};

pub(crate) use to_stdout::{check_concatenation, joins_as_it_comes};
