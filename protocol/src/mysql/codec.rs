//! Packet framing for both ends of a MySQL connection.
//!
//! A physical packet is a 3-byte little-endian payload length, a 1-byte
//! sequence id and the payload. A payload of exactly 0xffffff bytes
//! continues in the next packet (which may be empty), so one logical
//! [`Packet`] can span several physical ones; the decoder joins them and
//! the encoder splits them.
//!
//! The codec knows nothing about message types: the command phase is
//! stateful (a result set's packets can only be read knowing how many
//! columns came before), so the session above decodes each payload with
//! the typed functions of the sibling modules. What the codec does own is
//! the sequence id, because it is counted per physical packet.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::constants::MAX_PAYLOAD_CHUNK;
use super::wire::put_u24;
use crate::error::{ProtocolError, Result};

/// Default cap on one logical packet: MySQL's own default
/// `max_allowed_packet` is 64 MiB; a proxy has to buffer a whole packet,
/// so it takes the same bound.
pub const DEFAULT_MAX_PACKET_LEN: usize = 64 * 1024 * 1024;

/// One logical packet: its payload (chunks already joined) and the
/// sequence id of its first physical packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub seq: u8,
    pub payload: Bytes,
}

impl Packet {
    pub fn new(seq: u8, payload: impl Into<Bytes>) -> Self {
        Packet {
            seq,
            payload: payload.into(),
        }
    }

    /// The first payload byte, which tells most packet kinds apart.
    pub fn header(&self) -> Option<u8> {
        self.payload.first().copied()
    }
}

/// Frames MySQL packets in either direction.
///
/// The codec tracks the next sequence id: every physical packet read or
/// written advances it, and a packet read with another id is refused with
/// [`ProtocolError::PacketOutOfOrder`] (unless checking is turned off).
/// Each command starts a new exchange at 0: the side that starts one calls
/// [`MySqlCodec::reset_seq`] first (the client before sending a command,
/// the server before reading the next one).
#[derive(Debug, Clone)]
pub struct MySqlCodec {
    max_packet_len: usize,
    next_seq: u8,
    check_seq: bool,
    /// Chunks of a packet whose continuation has not arrived yet, and the
    /// sequence id of its first chunk.
    partial: Option<(u8, BytesMut)>,
}

impl Default for MySqlCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl MySqlCodec {
    pub fn new() -> Self {
        MySqlCodec {
            max_packet_len: DEFAULT_MAX_PACKET_LEN,
            next_seq: 0,
            check_seq: true,
            partial: None,
        }
    }

    /// Cap on one logical packet's payload (all chunks together). A length
    /// header that would exceed it is refused before its payload is
    /// buffered, so a hostile length cannot make us allocate.
    pub fn with_max_packet_len(mut self, max: usize) -> Self {
        self.max_packet_len = max;
        self
    }

    pub fn set_max_packet_len(&mut self, max: usize) {
        self.max_packet_len = max;
    }

    pub fn max_packet_len(&self) -> usize {
        self.max_packet_len
    }

    /// Turns the sequence check off, for tools that replay captures.
    pub fn with_sequence_check(mut self, check: bool) -> Self {
        self.check_seq = check;
        self
    }

    /// The id the next packet read or written should carry.
    pub fn next_seq(&self) -> u8 {
        self.next_seq
    }

    /// Starts a new exchange: the next packet carries id 0.
    pub fn reset_seq(&mut self) {
        self.next_seq = 0;
    }

    /// Sets the next id explicitly; after compression or TLS negotiation
    /// the count continues from where the handshake left it.
    pub fn set_next_seq(&mut self, seq: u8) {
        self.next_seq = seq;
    }

    /// A packet with the next sequence id, for [`Encoder::encode`].
    pub fn packet(&self, payload: impl Into<Bytes>) -> Packet {
        Packet::new(self.next_seq, payload)
    }
}

impl Decoder for MySqlCodec {
    type Item = Packet;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>> {
        loop {
            if src.len() < 4 {
                return Ok(None);
            }
            let len = usize::from(src[0]) | usize::from(src[1]) << 8 | usize::from(src[2]) << 16;
            let seq = src[3];
            if self.check_seq && seq != self.next_seq {
                return Err(ProtocolError::PacketOutOfOrder {
                    expected: self.next_seq,
                    got: seq,
                });
            }
            let so_far = self.partial.as_ref().map_or(0, |(_, b)| b.len());
            let total = so_far.saturating_add(len);
            if total > self.max_packet_len {
                return Err(ProtocolError::MessageTooLong {
                    len: total,
                    max: self.max_packet_len,
                });
            }
            if src.len() < 4 + len {
                src.reserve(4 + len - src.len());
                return Ok(None);
            }
            src.advance(4);
            let chunk = src.split_to(len);
            self.next_seq = seq.wrapping_add(1);
            if len == MAX_PAYLOAD_CHUNK {
                match &mut self.partial {
                    Some((_, joined)) => joined.unsplit(chunk),
                    None => self.partial = Some((seq, chunk)),
                }
                continue;
            }
            return Ok(Some(match self.partial.take() {
                Some((first, mut joined)) => {
                    joined.unsplit(chunk);
                    Packet::new(first, joined.freeze())
                }
                None => Packet::new(seq, chunk.freeze()),
            }));
        }
    }
}

impl Encoder<Packet> for MySqlCodec {
    type Error = ProtocolError;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<()> {
        let mut seq = item.seq;
        let payload = item.payload;
        dst.reserve(payload.len() + 4 * (payload.len() / MAX_PAYLOAD_CHUNK + 1));
        let mut rest = &payload[..];
        loop {
            let n = rest.len().min(MAX_PAYLOAD_CHUNK);
            // n <= 0xffffff, so it fits the 3-byte header.
            put_u24(dst, n as u32);
            dst.put_u8(seq);
            dst.put_slice(&rest[..n]);
            seq = seq.wrapping_add(1);
            rest = &rest[n..];
            // A full chunk always announces a continuation, even an empty one.
            if n < MAX_PAYLOAD_CHUNK {
                break;
            }
        }
        self.next_seq = seq;
        Ok(())
    }
}

/// Writes `payload` as packets starting at `seq` straight into `dst`, for
/// sessions that build a batch of answers in one buffer; returns the next
/// sequence id.
pub fn write_packet(dst: &mut BytesMut, seq: u8, payload: &[u8]) -> u8 {
    let mut codec = MySqlCodec::new();
    // Encoding into a BytesMut cannot fail: the only error paths are I/O.
    let _ = codec.encode(Packet::new(seq, Bytes::copy_from_slice(payload)), dst);
    codec.next_seq
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u8, payload: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        put_u24(&mut b, payload.len() as u32);
        b.put_u8(seq);
        b.put_slice(payload);
        b
    }

    #[test]
    fn round_trip_small_and_empty() {
        for payload in [&b""[..], b"\x03SELECT 1"] {
            let mut codec = MySqlCodec::new();
            let mut buf = BytesMut::new();
            codec
                .encode(Packet::new(0, payload.to_vec()), &mut buf)
                .unwrap();
            assert_eq!(codec.next_seq(), 1);
            let mut dec = MySqlCodec::new();
            let p = dec.decode(&mut buf).unwrap().unwrap();
            assert_eq!(p, Packet::new(0, payload.to_vec()));
            assert!(buf.is_empty());
            assert_eq!(dec.next_seq(), 1);
        }
    }

    #[test]
    fn large_payloads_split_and_join() {
        // Exactly one chunk, one chunk plus a byte, and two full chunks:
        // the first and last need a trailing empty packet.
        for len in [
            MAX_PAYLOAD_CHUNK,
            MAX_PAYLOAD_CHUNK + 1,
            2 * MAX_PAYLOAD_CHUNK,
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut enc = MySqlCodec::new();
            let mut buf = BytesMut::new();
            enc.encode(Packet::new(5, payload.clone()), &mut buf)
                .unwrap();
            let chunks = len / MAX_PAYLOAD_CHUNK + 1;
            assert_eq!(buf.len(), len + 4 * chunks);
            assert_eq!(enc.next_seq(), 5 + chunks as u8);

            let mut dec = MySqlCodec::new().with_max_packet_len(3 * MAX_PAYLOAD_CHUNK);
            dec.set_next_seq(5);
            // Fed in pieces, as a socket would.
            let mut got = None;
            let mut src = BytesMut::new();
            for piece in buf.chunks(1 << 20) {
                src.extend_from_slice(piece);
                if let Some(p) = dec.decode(&mut src).unwrap() {
                    got = Some(p);
                }
            }
            let p = got.unwrap();
            assert_eq!(p.seq, 5);
            assert_eq!(p.payload.len(), len);
            assert!(p.payload[..] == payload[..]);
            assert_eq!(dec.next_seq(), 5 + chunks as u8);
        }
    }

    #[test]
    fn the_limit_is_checked_on_the_header() {
        let mut dec = MySqlCodec::new().with_max_packet_len(10);
        // Only the header of an 11-byte packet has arrived.
        let mut src = BytesMut::from(&[11u8, 0, 0, 0][..]);
        match dec.decode(&mut src) {
            Err(ProtocolError::MessageTooLong { len: 11, max: 10 }) => {}
            other => panic!("{other:?}"),
        }
        // A continued packet is limited as a whole.
        let mut dec = MySqlCodec::new().with_max_packet_len(MAX_PAYLOAD_CHUNK + 5);
        let mut src = frame(0, &vec![0u8; MAX_PAYLOAD_CHUNK]);
        src.extend_from_slice(&[6, 0, 0, 1]);
        assert!(matches!(
            dec.decode(&mut src),
            Err(ProtocolError::MessageTooLong { .. })
        ));
    }

    #[test]
    fn sequence_ids_are_checked() {
        let mut dec = MySqlCodec::new();
        let mut src = frame(0, b"a");
        src.extend_from_slice(&frame(2, b"b"));
        assert_eq!(dec.decode(&mut src).unwrap().unwrap().payload, &b"a"[..]);
        match dec.decode(&mut src) {
            Err(ProtocolError::PacketOutOfOrder {
                expected: 1,
                got: 2,
            }) => {}
            other => panic!("{other:?}"),
        }
        let mut lax = MySqlCodec::new().with_sequence_check(false);
        let mut src = frame(7, b"x");
        assert_eq!(lax.decode(&mut src).unwrap().unwrap().seq, 7);
        // 255 wraps to 0.
        let mut dec = MySqlCodec::new();
        dec.set_next_seq(255);
        let mut src = frame(255, b"x");
        src.extend_from_slice(&frame(0, b"y"));
        dec.decode(&mut src).unwrap().unwrap();
        assert_eq!(dec.decode(&mut src).unwrap().unwrap().seq, 0);
    }

    #[test]
    fn partial_input_waits() {
        let mut dec = MySqlCodec::new();
        let full = frame(0, b"hello");
        for cut in 0..full.len() {
            let mut src = BytesMut::from(&full[..cut]);
            assert!(dec.decode(&mut src).unwrap().is_none(), "cut {cut}");
        }
        let mut src = full.clone();
        assert!(dec.decode(&mut src).unwrap().is_some());
    }

    #[test]
    fn write_packet_returns_the_next_id() {
        let mut dst = BytesMut::new();
        assert_eq!(write_packet(&mut dst, 3, b"abc"), 4);
        assert_eq!(&dst[..], &[3, 0, 0, 3, b'a', b'b', b'c']);
    }
}
