//! CancelRequest: asks the server, over a fresh connection, to interrupt
//! whatever the session with a given backend key is running.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use shardwire_protocol::pg::{FrontendMessage, PgClientCodec};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::error::{BackendError, Result};

/// Everything needed to cancel a running query, detached from the
/// connection so another task can use it while the connection is busy.
#[derive(Debug, Clone)]
pub struct CancelToken {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) pid: i32,
    pub(crate) secret: i32,
    /// The data source's connection timeout; zero means none.
    pub(crate) timeout: Duration,
}

impl CancelToken {
    /// The server process id this token cancels.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends the CancelRequest. Success means the server read it, not that
    /// a query was interrupted: PostgreSQL never answers a cancel, and one
    /// that arrives while the session is idle does nothing.
    pub async fn cancel(&self) -> Result<()> {
        let send = async {
            let stream = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|source| BackendError::Connect {
                    host: self.host.clone(),
                    port: self.port,
                    source,
                })?;
            let mut framed = Framed::new(stream, PgClientCodec::new());
            framed
                .send(FrontendMessage::CancelRequest {
                    pid: self.pid,
                    secret: self.secret,
                })
                .await?;
            // The server closes without a word once it has read the
            // request; waiting for that close means that when we return, the
            // request was delivered rather than merely buffered.
            let _ = framed.next().await;
            Ok(())
        };
        if self.timeout.is_zero() {
            return send.await;
        }
        tokio::time::timeout(self.timeout, send)
            .await
            .map_err(|_| BackendError::Timeout {
                what: "cancel request",
                after: self.timeout,
            })?
    }
}
