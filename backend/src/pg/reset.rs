//! Taking a session back from a passthrough client: `DISCARD ALL`, and
//! proof that nothing else was left on the wire.
//!
//! The client had the raw socket, so the only trustworthy state is what
//! the server says now. `DISCARD ALL` drops everything a client can leave
//! behind (settings, temp tables, prepared statements, portals, LISTEN,
//! advisory locks, session authorization) and refuses to run inside a
//! transaction block. The answer must be exactly its CommandComplete and an
//! idle ReadyForQuery: any other message is the tail of something the
//! client started (rows, a COPY, an extended-protocol batch without Sync),
//! and such a session is closed, never repaired.

use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use shardwire_protocol::pg::{BackendMessage, FrontendMessage, TransactionStatus};

use super::connection::{message_name, PgConnection};
use crate::error::{BackendError, Result};

const DURING: &str = "resetting a passthrough session";

impl PgConnection {
    /// Resets a session whose socket came back from a passthrough client
    /// ([`PgConnection::restore_socket`]); on success it is usable and may
    /// go back to the pool. `limit` bounds the whole exchange: a server
    /// still busy with the client's last statement is not worth waiting
    /// for. On any error the session stays broken.
    pub async fn reset_session(&mut self, limit: Duration) -> Result<()> {
        match tokio::time::timeout(limit, self.discard_all()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(BackendError::Timeout {
                    what: "DISCARD ALL after a passthrough session",
                    after: limit,
                })
            }
        }
        // Anything still buffered or already arrived is a message nobody
        // asked for.
        if !self.framed.read_buffer().is_empty() {
            return Err(BackendError::Unexpected {
                message: "bytes after ReadyForQuery".into(),
                during: DURING,
            });
        }
        if let Some(next) = self.framed.next().now_or_never() {
            return Err(match next {
                Some(Ok(m)) => BackendError::Unexpected {
                    message: message_name(&m).into(),
                    during: DURING,
                },
                Some(Err(e)) => e.into(),
                None => BackendError::Closed,
            });
        }
        self.mark_clean();
        Ok(())
    }

    async fn discard_all(&mut self) -> Result<()> {
        self.framed
            .send(FrontendMessage::Query("DISCARD ALL".into()))
            .await?;
        let mut completed = false;
        loop {
            let msg = match self.framed.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => return Err(e.into()),
                None => return Err(BackendError::Closed),
            };
            match msg {
                // Settings DISCARD ALL reset are reported; notices and
                // notifications of the last client are dropped with it.
                BackendMessage::ParameterStatus { name, value } => {
                    self.set_parameter(name, value);
                }
                BackendMessage::NoticeResponse(_) | BackendMessage::NotificationResponse { .. } => {
                }
                BackendMessage::CommandComplete(ref tag) if !completed && tag == "DISCARD ALL" => {
                    completed = true;
                }
                BackendMessage::ReadyForQuery(TransactionStatus::Idle) if completed => {
                    return Ok(());
                }
                other => {
                    return Err(BackendError::Unexpected {
                        message: message_name(&other).into(),
                        during: DURING,
                    })
                }
            }
        }
    }
}
