//! [`ClientConn`]: the client's socket with MySQL framing, the negotiated
//! capabilities, and answers written in place into the output buffer.
//!
//! Sequence ids: every command starts at 0 ([`ClientConn::start_command`]
//! before reading it); answers continue from the id after the command's
//! last packet, which the codec tracks for both directions. Commands the
//! client pipelines stay undecoded in the read buffer until their turn, so
//! each one's numbering starts afresh.

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use shardwire_protocol::mysql::constants::capability::CLIENT_DEPRECATE_EOF;
use shardwire_protocol::mysql::{ErrPacket, MySqlCodec, OkPacket, Packet, PacketWriter};
use shardwire_protocol::ProtocolError;
use tokio_util::codec::Framed;

use crate::error::SessionError;
use crate::tls::ClientStream;

/// Output held before a flush in the middle of a long result.
const FLUSH_AT: usize = 64 * 1024;

#[derive(Debug)]
pub struct ClientConn {
    pub framed: Framed<ClientStream, MySqlCodec>,
    /// Capabilities both sides agreed on.
    pub caps: u32,
}

impl ClientConn {
    pub fn new(stream: ClientStream, max_packet: usize) -> Self {
        ClientConn {
            framed: Framed::new(stream, MySqlCodec::new().with_max_packet_len(max_packet)),
            caps: 0,
        }
    }

    pub fn deprecate_eof(&self) -> bool {
        self.caps & CLIENT_DEPRECATE_EOF != 0
    }

    /// The next packet; `None` when the client closed the connection.
    pub async fn recv(&mut self) -> Result<Option<Packet>, ProtocolError> {
        self.framed.next().await.transpose()
    }

    /// The next command is numbered from 0.
    pub fn start_command(&mut self) {
        self.framed.codec_mut().reset_seq();
    }

    /// Appends packets built by `body`, numbered on from the codec's id.
    pub fn write<T>(
        &mut self,
        body: impl FnOnce(&mut PacketWriter<'_>) -> Result<T, ProtocolError>,
    ) -> Result<T, ProtocolError> {
        let seq = self.framed.codec().next_seq();
        let mut w = PacketWriter::new(self.framed.write_buffer_mut(), seq);
        let result = body(&mut w);
        let next = w.next_seq();
        self.framed.codec_mut().set_next_seq(next);
        result
    }

    /// One packet with `payload` as it is.
    pub fn write_payload(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        self.write(|w| w.raw(payload))
    }

    pub fn write_ok(&mut self, ok: &OkPacket) -> Result<(), ProtocolError> {
        let caps = self.caps;
        self.write(|w| w.ok(ok, caps))
    }

    pub fn write_err(&mut self, err: &ErrPacket) -> Result<(), ProtocolError> {
        let caps = self.caps;
        self.write(|w| w.err(err, caps))
    }

    /// Sends everything written so far.
    pub async fn flush(&mut self) -> Result<(), SessionError> {
        SinkExt::<Packet>::flush(&mut self.framed)
            .await
            .map_err(|e| match e {
                ProtocolError::Io(io) => SessionError::Io(io),
                other => SessionError::Protocol(other),
            })
    }

    /// Flushes when a long answer has piled up, so memory stays bounded.
    pub async fn flush_if_full(&mut self) -> Result<(), SessionError> {
        if self.framed.write_buffer().len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// True when another complete packet already waits in the read buffer
    /// (a pipelined command): its answer can share this flush.
    pub fn has_buffered_packet(&self) -> bool {
        let buf: &BytesMut = self.framed.read_buffer();
        buf.len() >= 4 && {
            let len = usize::from(buf[0]) | usize::from(buf[1]) << 8 | usize::from(buf[2]) << 16;
            buf.len() >= 4 + len
        }
    }
}
