//! `COPY ... FROM STDIN` on a backend session: start it, send data, end
//! it with CopyDone (its row count) or CopyFail.
//!
//! While the server waits for data the session is marked broken: if the
//! caller is dropped half-way (its client vanished), the pool must not
//! hand out a session whose server still waits for CopyDone. Finishing or
//! failing the copy clears the mark once ReadyForQuery has come.

use bytes::Bytes;
use futures::SinkExt;
use shardwire_protocol::pg::{BackendMessage, CopyResponse, FrontendMessage};

use super::connection::PgConnection;
use crate::error::{BackendError, Result, ServerError};

impl PgConnection {
    /// Sends `sql` (a COPY FROM STDIN) and waits until the server asks for
    /// data, with the server's CopyInResponse (format and column count). A
    /// refusal (unknown table, bad option) is the server's error, and the
    /// session is ready for the next request.
    pub async fn copy_in_start(&mut self, sql: &str) -> Result<CopyResponse> {
        self.begin_request().await?;
        self.encode_request(&[FrontendMessage::Query(sql.to_owned())])?;
        self.flush().await?;
        loop {
            match self.recv().await? {
                BackendMessage::CopyInResponse(response) => {
                    self.broken = true;
                    return Ok(response);
                }
                BackendMessage::NoticeResponse(_) => {}
                BackendMessage::ErrorResponse(fields) => {
                    let e = ServerError::from(fields);
                    if !e.is_fatal() {
                        self.read_to_ready().await?;
                    }
                    return Err(BackendError::from(e));
                }
                other => return Err(self.unexpected(&other, "starting COPY FROM STDIN")),
            }
        }
    }

    /// Sends one CopyData message.
    pub async fn copy_in_send(&mut self, data: Bytes) -> Result<()> {
        self.encode_request(&[FrontendMessage::CopyData(data)])?;
        SinkExt::<FrontendMessage>::flush(&mut self.framed).await?;
        Ok(())
    }

    /// Ends the data with CopyDone: the number of rows the server took, or
    /// its error (a constraint the rows broke, a value it refused).
    pub async fn copy_in_finish(&mut self) -> Result<u64> {
        self.encode_request(&[FrontendMessage::CopyDone])?;
        SinkExt::<FrontendMessage>::flush(&mut self.framed).await?;
        let mut rows = 0;
        let mut error = None;
        loop {
            match self.recv().await? {
                BackendMessage::CommandComplete(tag) => {
                    rows = tag
                        .strip_prefix("COPY ")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                }
                BackendMessage::ErrorResponse(fields) => {
                    let e = ServerError::from(fields);
                    if e.is_fatal() {
                        return Err(BackendError::from(e));
                    }
                    error.get_or_insert(e);
                }
                BackendMessage::ReadyForQuery(_) => {
                    self.broken = false;
                    return match error {
                        Some(e) => Err(BackendError::from(e)),
                        None => Ok(rows),
                    };
                }
                BackendMessage::NoticeResponse(_) => {}
                other => return Err(self.unexpected(&other, "ending COPY FROM STDIN")),
            }
        }
    }

    /// Abandons the copy with CopyFail; the server rolls the COPY back and
    /// answers with the error this asked for, which is not the caller's.
    pub async fn copy_in_fail(&mut self, why: &str) -> Result<()> {
        self.encode_request(&[FrontendMessage::CopyFail(why.to_owned())])?;
        SinkExt::<FrontendMessage>::flush(&mut self.framed).await?;
        loop {
            match self.recv().await? {
                BackendMessage::ReadyForQuery(_) => {
                    self.broken = false;
                    return Ok(());
                }
                BackendMessage::ErrorResponse(fields) => {
                    let e = ServerError::from(fields);
                    if e.is_fatal() {
                        return Err(BackendError::from(e));
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads to the ReadyForQuery that ends a failed request.
    async fn read_to_ready(&mut self) -> Result<()> {
        loop {
            if let BackendMessage::ReadyForQuery(_) = self.recv().await? {
                return Ok(());
            }
        }
    }
}
