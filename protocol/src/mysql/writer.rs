//! [`PacketWriter`]: builds a batch of answer packets straight into one
//! output buffer, numbering them, so a session encodes a whole result set
//! and flushes once instead of copying every payload through a `Packet`.

use bytes::{BufMut, BytesMut};

use super::column::ColumnDefinition;
use super::constants::capability::CLIENT_DEPRECATE_EOF;
use super::constants::MAX_PAYLOAD_CHUNK;
use super::response::{ErrPacket, OkPacket, ResultEnd};
use super::result_set::encode_column_count;
use super::text_row::TextRow;
use super::wire::put_u24;
use crate::error::Result;

/// Appends packets to `dst`, starting at sequence id `seq`.
#[derive(Debug)]
pub struct PacketWriter<'a> {
    dst: &'a mut BytesMut,
    seq: u8,
}

impl<'a> PacketWriter<'a> {
    pub fn new(dst: &'a mut BytesMut, seq: u8) -> Self {
        PacketWriter { dst, seq }
    }

    /// The sequence id the next packet gets (the codec's next id after the
    /// batch is written).
    pub fn next_seq(&self) -> u8 {
        self.seq
    }

    /// Writes one packet whose payload `body` encodes in place. On an error
    /// nothing of this packet stays in the buffer.
    pub fn packet(&mut self, body: impl FnOnce(&mut BytesMut) -> Result<()>) -> Result<()> {
        let start = self.dst.len();
        self.dst.put_bytes(0, 4);
        if let Err(e) = body(self.dst) {
            self.dst.truncate(start);
            return Err(e);
        }
        let len = self.dst.len() - start - 4;
        if len < MAX_PAYLOAD_CHUNK {
            // len < 2^24, so it fits the 3-byte header.
            let header = [len as u8, (len >> 8) as u8, (len >> 16) as u8, self.seq];
            self.dst[start..start + 4].copy_from_slice(&header);
            self.seq = self.seq.wrapping_add(1);
            return Ok(());
        }
        // Rare: a payload of 16 MiB or more is re-framed in chunks.
        let payload = self.dst.split_off(start + 4);
        self.dst.truncate(start);
        let mut rest = &payload[..];
        loop {
            let n = rest.len().min(MAX_PAYLOAD_CHUNK);
            put_u24(self.dst, n as u32);
            self.dst.put_u8(self.seq);
            self.dst.put_slice(&rest[..n]);
            self.seq = self.seq.wrapping_add(1);
            rest = &rest[n..];
            if n < MAX_PAYLOAD_CHUNK {
                return Ok(());
            }
        }
    }

    pub fn ok(&mut self, ok: &OkPacket, caps: u32) -> Result<()> {
        self.packet(|b| {
            ok.encode(caps, b);
            Ok(())
        })
    }

    pub fn err(&mut self, err: &ErrPacket, caps: u32) -> Result<()> {
        self.packet(|b| err.encode(caps, b))
    }

    /// The head of a result set: column count, definitions, and the EOF
    /// after them unless the client negotiated CLIENT_DEPRECATE_EOF.
    pub fn columns(&mut self, columns: &[ColumnDefinition], status: u16, caps: u32) -> Result<()> {
        self.packet(|b| {
            encode_column_count(columns.len(), b);
            Ok(())
        })?;
        for c in columns {
            self.packet(|b| {
                c.encode(b);
                Ok(())
            })?;
        }
        if caps & CLIENT_DEPRECATE_EOF == 0 {
            self.result_end(status, 0, caps)?;
        }
        Ok(())
    }

    /// One text row from cell values (`None` is NULL).
    pub fn text_row<'c>(
        &mut self,
        cells: impl IntoIterator<Item = Option<&'c [u8]>>,
    ) -> Result<()> {
        self.packet(|b| {
            TextRow::encode(cells, b);
            Ok(())
        })
    }

    /// A row payload forwarded as it came from a backend (fast path).
    pub fn raw(&mut self, payload: &[u8]) -> Result<()> {
        self.packet(|b| {
            b.put_slice(payload);
            Ok(())
        })
    }

    /// The end of a result set: EOF, or 0xfe-OK under DEPRECATE_EOF.
    pub fn result_end(&mut self, status: u16, warnings: u16, caps: u32) -> Result<()> {
        self.packet(|b| {
            ResultEnd::encode(status, warnings, caps, b);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::codec::Decoder;

    use super::super::codec::MySqlCodec;
    use super::super::constants::capability::CLIENT_PROTOCOL_41;
    use super::super::constants::column_type::MYSQL_TYPE_LONG;
    use super::super::response::is_result_end;
    use super::*;

    #[test]
    fn a_result_set_decodes_packet_by_packet() {
        for caps in [
            CLIENT_PROTOCOL_41,
            CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF,
        ] {
            let mut out = BytesMut::new();
            let mut w = PacketWriter::new(&mut out, 1);
            w.columns(&[ColumnDefinition::new("a", MYSQL_TYPE_LONG)], 2, caps)
                .unwrap();
            w.text_row([Some(&b"1"[..])]).unwrap();
            w.raw(b"\x012").unwrap();
            w.result_end(2, 0, caps).unwrap();
            let next = w.next_seq();
            let eofs = if caps & CLIENT_DEPRECATE_EOF == 0 {
                2
            } else {
                1
            };
            assert_eq!(next, 1 + 4 + eofs);

            let mut codec = MySqlCodec::new();
            codec.set_next_seq(1);
            let mut packets = Vec::new();
            while let Some(p) = codec.decode(&mut out).unwrap() {
                packets.push(p.payload);
            }
            assert_eq!(codec.next_seq(), next);
            assert_eq!(packets.len(), usize::from(next - 1));
            assert!(is_result_end(packets.last().unwrap(), caps));
            assert_eq!(&packets[packets.len() - 2][..], b"\x012");
        }
    }

    #[test]
    fn a_failed_packet_leaves_nothing_and_large_ones_split() {
        let mut out = BytesMut::new();
        let mut w = PacketWriter::new(&mut out, 0);
        assert!(w
            .err(&ErrPacket::new(1, "bad", "x"), CLIENT_PROTOCOL_41)
            .is_err());
        assert_eq!(w.next_seq(), 0);
        assert!(out.is_empty());

        let mut w = PacketWriter::new(&mut out, 0);
        let big = vec![7u8; MAX_PAYLOAD_CHUNK + 10];
        w.raw(&big).unwrap();
        w.ok(&OkPacket::default(), CLIENT_PROTOCOL_41).unwrap();
        assert_eq!(w.next_seq(), 3);
        let mut codec = MySqlCodec::new().with_max_packet_len(2 * MAX_PAYLOAD_CHUNK);
        let p = codec.decode(&mut out).unwrap().unwrap();
        assert_eq!(p.payload.len(), big.len());
        let ok = codec.decode(&mut out).unwrap().unwrap();
        assert_eq!(ok.seq, 2);
        assert!(out.is_empty());
    }
}
