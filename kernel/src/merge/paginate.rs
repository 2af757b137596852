//! OFFSET / LIMIT after the merge, and the end of the stream after an error.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{Stream, StreamExt};

use super::error::MergeError;
use super::row::Row;
use super::RowStream;

/// Skips `offset` rows, yields at most `limit`, and ends after the first
/// error. The input is dropped as soon as the stream ends, so shards stop
/// being read (and their connections can be released) once LIMIT is met.
pub(crate) struct Paginate {
    input: Option<RowStream>,
    to_skip: u64,
    remaining: Option<u64>,
}

impl Paginate {
    pub(crate) fn new(input: RowStream, offset: u64, limit: Option<u64>) -> Self {
        Self {
            input: Some(input),
            to_skip: offset,
            remaining: limit,
        }
    }
}

impl Stream for Paginate {
    type Item = Result<Row, MergeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.remaining == Some(0) {
                this.input = None;
            }
            let Some(input) = this.input.as_mut() else {
                return Poll::Ready(None);
            };
            match input.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.input = None,
                Poll::Ready(Some(Err(e))) => {
                    this.input = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(_))) if this.to_skip > 0 => this.to_skip -= 1,
                Poll::Ready(Some(Ok(row))) => {
                    if let Some(n) = this.remaining.as_mut() {
                        *n -= 1;
                    }
                    return Poll::Ready(Some(Ok(row)));
                }
            }
        }
    }
}
