//! [`Frame`]: one protocol message cut out of a reassembled stream.

use bytes::Bytes;

/// One message of one direction, with where it lies in its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Offset of its first byte in the direction's stream.
    pub start: usize,
    /// Offset just past its last byte.
    pub end: usize,
    /// The bytes as sent (headers included; for MySQL every physical
    /// packet of a 16 MiB continuation).
    pub raw: Bytes,
    /// PostgreSQL type byte; `None` for the untyped startup-phase packets,
    /// the one-byte encryption answers and all MySQL packets.
    pub tag: Option<u8>,
    /// MySQL sequence id of the first packet; 0 for PostgreSQL.
    pub seq: u8,
    /// The message without its header (MySQL: the joined payload).
    pub payload: Bytes,
}

/// What is left after the last whole message of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leftover {
    /// Bytes at the end that do not make a whole message.
    pub partial_bytes: usize,
}
