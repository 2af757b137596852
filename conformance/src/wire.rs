//! A replay connection to the target: whole writes, and reads of whole
//! messages, each bounded by a timeout so a silent server is reported,
//! never waited on forever.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{ConformanceError, Result};
use crate::mysql_split::MAX_PACKET_LEN;

const PG_MAX_MESSAGE: usize = shardwire_protocol::pg::DEFAULT_MAX_MESSAGE_LEN;

#[derive(Debug)]
pub(crate) struct Wire {
    stream: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Wire {
    pub async fn connect(target: &str, timeout: Duration) -> Result<Wire> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(target))
            .await
            .map_err(|_| ConformanceError::Timeout {
                during: format!("connecting to {target}"),
                after: timeout,
            })?
            .map_err(|e| ConformanceError::io(format!("connecting to {target}"), e))?;
        // Writes are already batched as captured; Nagle would only delay.
        let _ = stream.set_nodelay(true);
        Ok(Wire {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            timeout,
        })
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        tokio::time::timeout(self.timeout, self.stream.write_all(bytes))
            .await
            .map_err(|_| ConformanceError::Timeout {
                during: "writing a request".into(),
                after: self.timeout,
            })?
            .map_err(|e| ConformanceError::io("writing a request", e))
    }

    async fn fill(&mut self, during: &str) -> Result<()> {
        let n = tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| ConformanceError::Timeout {
                during: during.to_owned(),
                after: self.timeout,
            })?
            .map_err(|e| ConformanceError::io(during.to_owned(), e))?;
        if n == 0 {
            return Err(ConformanceError::Closed {
                during: during.to_owned(),
            });
        }
        Ok(())
    }

    /// One PostgreSQL message: (type byte, body).
    pub async fn read_pg(&mut self, during: &str) -> Result<(u8, Bytes)> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if !(4..=PG_MAX_MESSAGE).contains(&len) {
                    return Err(ConformanceError::BadAnswer(format!(
                        "a server message of length {len}"
                    )));
                }
                if self.buf.len() > len {
                    let tag = self.buf[0];
                    self.buf.advance(5);
                    return Ok((tag, self.buf.split_to(len - 4).freeze()));
                }
            }
            self.fill(during).await?;
        }
    }

    /// One logical MySQL packet (continuations joined): (sequence id of
    /// the first piece, payload).
    pub async fn read_mysql(&mut self, during: &str) -> Result<(u8, Bytes)> {
        let mut payload = BytesMut::new();
        let mut first_seq = None;
        loop {
            if self.buf.len() >= 4 {
                let len = usize::from(self.buf[0])
                    | usize::from(self.buf[1]) << 8
                    | usize::from(self.buf[2]) << 16;
                if self.buf.len() >= 4 + len {
                    first_seq.get_or_insert(self.buf[3]);
                    self.buf.advance(4);
                    if payload.len() + len > MAX_PACKET_LEN {
                        return Err(ConformanceError::BadAnswer(format!(
                            "a server packet longer than {MAX_PACKET_LEN} bytes"
                        )));
                    }
                    payload.extend_from_slice(&self.buf.split_to(len));
                    if len < 0xFF_FFFF {
                        return Ok((first_seq.unwrap_or(0), payload.freeze()));
                    }
                    continue;
                }
            }
            self.fill(during).await?;
        }
    }
}
