//! Splitting MySQL streams into packets: 3-byte length, sequence id,
//! payload; a payload of exactly 0xFFFFFF continues in the next packet and
//! the pieces join into one logical packet.

use bytes::{Bytes, BytesMut};

use crate::error::{ConformanceError, Result};
use crate::frame::{Frame, Leftover};

const CONTINUED: usize = 0xFF_FFFF;
/// Logical packets larger than this are refused (the server default for
/// max_allowed_packet is 16 MiB; 64 MiB leaves room).
pub const MAX_PACKET_LEN: usize = 64 * 1024 * 1024;

/// Splits one direction's stream into logical packets.
pub fn split(bytes: &Bytes) -> Result<(Vec<Frame>, Leftover)> {
    let mut frames = Vec::new();
    let mut pos = 0usize;
    'packets: loop {
        let start = pos;
        let mut payload = BytesMut::new();
        let mut first_seq = None;
        let mut at = pos;
        loop {
            let Some(h) = bytes.get(at..at + 4) else {
                break 'packets;
            };
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            first_seq.get_or_insert(h[3]);
            let Some(part) = bytes.get(at + 4..at + 4 + len) else {
                break 'packets;
            };
            if payload.len() + len > MAX_PACKET_LEN {
                return Err(ConformanceError::unusable(format!(
                    "a MySQL packet longer than {MAX_PACKET_LEN} bytes"
                )));
            }
            payload.extend_from_slice(part);
            at += 4 + len;
            if len < CONTINUED {
                break;
            }
        }
        frames.push(Frame {
            start,
            end: at,
            raw: bytes.slice(start..at),
            tag: None,
            seq: first_seq.unwrap_or(0),
            payload: payload.freeze(),
        });
        pos = at;
    }
    Ok((
        frames,
        Leftover {
            partial_bytes: bytes.len() - pos,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let mut v = vec![n as u8, (n >> 8) as u8, (n >> 16) as u8, seq];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn packets_with_sequence_ids() {
        let mut s = packet(0, b"\x03select 1");
        s.extend(packet(1, b"\x00\x00\x00\x02\x00\x00\x00"));
        s.extend(&[5, 0, 0]); // a cut header
        let (frames, left) = split(&Bytes::from(s)).expect("splits");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].seq, 0);
        assert_eq!(&frames[0].payload[..], b"\x03select 1");
        assert_eq!(frames[1].seq, 1);
        assert_eq!(left.partial_bytes, 3);
    }

    #[test]
    fn continuation_packets_join() {
        let big = vec![7u8; CONTINUED];
        let mut s = packet(0, &big);
        s.extend(packet(1, b"tail"));
        s.extend(packet(0, b"\x0e"));
        let (frames, left) = split(&Bytes::from(s)).expect("splits");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].payload.len(), CONTINUED + 4);
        assert_eq!(&frames[0].payload[CONTINUED..], b"tail");
        assert_eq!(frames[0].raw.len(), CONTINUED + 4 + 8);
        assert_eq!(&frames[1].payload[..], b"\x0e");
        assert_eq!(left.partial_bytes, 0);
    }

    #[test]
    fn continuation_waits_for_its_last_piece() {
        let big = vec![7u8; CONTINUED];
        let (frames, left) = split(&Bytes::from(packet(0, &big))).expect("splits");
        assert!(frames.is_empty());
        assert_eq!(left.partial_bytes, CONTINUED + 4);
    }
}
