//! TCP reassembly: segments of a capture into connections, each with one
//! byte stream per direction and the moments those streams grew.
//!
//! Segments are taken in capture order. Out-of-order segments wait until
//! the gap before them fills; retransmissions and overlaps add only the
//! bytes past what is already known (the first copy of a byte wins, as in
//! most stacks). Which side is the client is decided from the SYN when the
//! capture has it, else from the first bytes (see [`crate::detect`]).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use crate::error::{ConformanceError, Result};
use crate::pcap_read::TcpSegment;

/// More connections than this in one capture are refused.
pub const MAX_CONNECTIONS: usize = 4096;
/// Bytes kept per direction of one connection.
pub const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;

/// Which way bytes flowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Dir {
    ClientToServer,
    ServerToClient,
}

/// A moment one direction's contiguous stream grew, to `end` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub dir: Dir,
    /// Capture index of the segment that completed the bytes.
    pub index: usize,
    pub ts_micros: u64,
    pub end: usize,
    /// PSH on the segment: the sender's write ended here.
    pub psh: bool,
}

/// One TCP connection of the capture.
#[derive(Debug, Clone)]
pub struct TcpConnection {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub client_bytes: Bytes,
    pub server_bytes: Bytes,
    /// In capture order.
    pub deliveries: Vec<Delivery>,
    pub first_ts: u64,
    pub last_ts: u64,
    /// Whether the client was known from its SYN.
    pub saw_syn: bool,
    /// Bytes that never became contiguous (lost packets): the streams stop
    /// at the first hole.
    pub holes: Vec<String>,
}

#[derive(Debug, Default)]
struct HalfStream {
    base: Option<u32>,
    data: BytesMut,
    pending: BTreeMap<u64, Bytes>,
    ended: bool,
}

#[derive(Debug)]
struct Flow {
    /// The endpoint that sent the SYN (or the first packet seen).
    a: SocketAddr,
    b: SocketAddr,
    a_is_client: Option<bool>,
    from_a: HalfStream,
    from_b: HalfStream,
    /// (from_a, index, ts, end, psh)
    deliveries: Vec<(bool, usize, u64, usize, bool)>,
    first_ts: u64,
    last_ts: u64,
    closed: bool,
}

impl Flow {
    fn new(seg: &TcpSegment) -> Flow {
        Flow {
            a: seg.src,
            b: seg.dst,
            a_is_client: (seg.syn && !seg.ack).then_some(true).or(
                // A SYN-ACK first means its receiver is the client.
                (seg.syn && seg.ack).then_some(false),
            ),
            from_a: HalfStream::default(),
            from_b: HalfStream::default(),
            deliveries: Vec::new(),
            first_ts: seg.ts_micros,
            last_ts: seg.ts_micros,
            closed: false,
        }
    }
}

impl HalfStream {
    /// Adds a segment; returns the new contiguous length if it grew.
    fn add(&mut self, seg: &TcpSegment) -> Result<Option<usize>> {
        if seg.syn {
            self.base = Some(seg.seq.wrapping_add(1));
        }
        if seg.fin || seg.rst {
            self.ended = true;
        }
        if seg.payload.is_empty() {
            return Ok(None);
        }
        // Mid-stream capture (no SYN): the first data byte seen is offset 0.
        let base = *self.base.get_or_insert(if seg.syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        });
        let rel = seg.seq.wrapping_sub(base);
        let data_seq = if seg.syn { rel.wrapping_add(1) } else { rel };
        // Offsets past 2 GiB are "before the base" in wrapping terms: a
        // retransmission of something older than what we took as the
        // start. Nothing to add.
        if data_seq > i32::MAX as u32 {
            return Ok(None);
        }
        let offset = u64::from(data_seq);
        let entry = self.pending.entry(offset).or_default();
        if entry.len() < seg.payload.len() {
            *entry = seg.payload.clone();
        }
        let before = self.data.len();
        while let Some((&off, _)) = self.pending.first_key_value() {
            let have = self.data.len() as u64;
            if off > have {
                break;
            }
            let Some((off, bytes)) = self.pending.pop_first() else {
                break;
            };
            let skip = usize::try_from(have - off).unwrap_or(usize::MAX);
            if let Some(fresh) = bytes.get(skip..) {
                if self.data.len() + fresh.len() > MAX_STREAM_BYTES {
                    return Err(ConformanceError::unusable(format!(
                        "a connection sends more than {MAX_STREAM_BYTES} bytes one way"
                    )));
                }
                self.data.extend_from_slice(fresh);
            }
        }
        Ok((self.data.len() > before).then_some(self.data.len()))
    }
}

/// Groups segments into connections and reassembles each direction.
pub fn reassemble(segments: &[TcpSegment]) -> Result<Vec<TcpConnection>> {
    let mut flows: Vec<Flow> = Vec::new();
    let mut by_key: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
    for seg in segments {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let fresh_syn = seg.syn && !seg.ack;
        let idx = match by_key.get(&key) {
            // A new SYN on a finished 4-tuple is a new connection (port reuse).
            Some(&i) if !(fresh_syn && flows[i].closed) => i,
            _ => {
                if flows.len() >= MAX_CONNECTIONS {
                    return Err(ConformanceError::unusable(format!(
                        "more than {MAX_CONNECTIONS} TCP connections"
                    )));
                }
                flows.push(Flow::new(seg));
                by_key.insert(key, flows.len() - 1);
                flows.len() - 1
            }
        };
        let flow = &mut flows[idx];
        flow.last_ts = flow.last_ts.max(seg.ts_micros);
        if flow.a_is_client.is_none() && seg.syn {
            let sender_is_a = seg.src == flow.a;
            flow.a_is_client = Some(if seg.ack { !sender_is_a } else { sender_is_a });
        }
        let from_a = seg.src == flow.a;
        let half = if from_a {
            &mut flow.from_a
        } else {
            &mut flow.from_b
        };
        if let Some(end) = half.add(seg)? {
            flow.deliveries
                .push((from_a, seg.index, seg.ts_micros, end, seg.psh));
        }
        if flow.from_a.ended && flow.from_b.ended {
            flow.closed = true;
        }
    }
    let mut out = Vec::with_capacity(flows.len());
    for flow in flows {
        let saw_syn = flow.a_is_client.is_some();
        let mut holes = Vec::new();
        for (name, half) in [("a", &flow.from_a), ("b", &flow.from_b)] {
            if let Some((&off, _)) = half.pending.first_key_value() {
                holes.push(format!(
                    "side {name}: bytes from offset {off} never arrived after {} contiguous bytes",
                    half.data.len()
                ));
            }
        }
        let a_bytes = flow.from_a.data.freeze();
        let b_bytes = flow.from_b.data.freeze();
        let a_is_client = match flow.a_is_client {
            Some(v) => v,
            None => crate::detect::first_sender_is_client(&a_bytes, &b_bytes, &flow.deliveries),
        };
        let deliveries = flow
            .deliveries
            .iter()
            .map(|&(from_a, index, ts_micros, end, psh)| Delivery {
                dir: if from_a == a_is_client {
                    Dir::ClientToServer
                } else {
                    Dir::ServerToClient
                },
                index,
                ts_micros,
                end,
                psh,
            })
            .collect();
        let (client, server, client_bytes, server_bytes) = if a_is_client {
            (flow.a, flow.b, a_bytes, b_bytes)
        } else {
            (flow.b, flow.a, b_bytes, a_bytes)
        };
        out.push(TcpConnection {
            client,
            server,
            client_bytes,
            server_bytes,
            deliveries,
            first_ts: flow.first_ts,
            last_ts: flow.last_ts,
            saw_syn,
            holes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "10.0.0.1:40000";
    const S: &str = "10.0.0.2:5432";

    struct Script {
        segs: Vec<TcpSegment>,
    }

    impl Script {
        fn new() -> Script {
            Script { segs: Vec::new() }
        }

        fn seg(
            &mut self,
            from: &str,
            to: &str,
            seq: u32,
            payload: &[u8],
            flags: &str,
        ) -> &mut Self {
            let index = self.segs.len();
            self.segs.push(TcpSegment {
                index,
                ts_micros: index as u64,
                src: from.parse().expect("addr"),
                dst: to.parse().expect("addr"),
                seq,
                syn: flags.contains('S'),
                ack: flags.contains('A'),
                fin: flags.contains('F'),
                rst: flags.contains('R'),
                psh: flags.contains('P'),
                payload: Bytes::copy_from_slice(payload),
            });
            self
        }

        fn handshake(&mut self, c: &str, s: &str) -> &mut Self {
            self.seg(c, s, 99, b"", "S")
                .seg(s, c, 499, b"", "SA")
                .seg(c, s, 100, b"", "A")
        }
    }

    #[test]
    fn out_of_order_segments_wait_for_the_gap() {
        let mut s = Script::new();
        s.handshake(C, S)
            .seg(C, S, 105, b"world", "AP")
            .seg(C, S, 100, b"hello", "A")
            .seg(S, C, 500, b"ok", "AP");
        let conns = reassemble(&s.segs).expect("reassembles");
        assert_eq!(conns.len(), 1);
        assert_eq!(&conns[0].client_bytes[..], b"helloworld");
        assert_eq!(&conns[0].server_bytes[..], b"ok");
        // One delivery for both client segments: the stream grew once.
        let client: Vec<usize> = conns[0]
            .deliveries
            .iter()
            .filter(|d| d.dir == Dir::ClientToServer)
            .map(|d| d.end)
            .collect();
        assert_eq!(client, vec![10]);
        assert!(conns[0].holes.is_empty());
    }

    #[test]
    fn retransmissions_and_overlaps_add_only_new_bytes() {
        let mut s = Script::new();
        s.handshake(C, S)
            .seg(C, S, 100, b"abcd", "AP")
            .seg(C, S, 100, b"abcd", "AP") // retransmit
            .seg(C, S, 102, b"cdef", "AP") // overlap, first copy of cd wins
            .seg(C, S, 102, b"XXefgh", "AP"); // overlap with a longer tail
        let conns = reassemble(&s.segs).expect("reassembles");
        assert_eq!(&conns[0].client_bytes[..], b"abcdefgh");
        let ends: Vec<usize> = conns[0].deliveries.iter().map(|d| d.end).collect();
        assert_eq!(ends, vec![4, 6, 8]);
    }

    #[test]
    fn a_hole_stops_the_stream_and_is_reported() {
        let mut s = Script::new();
        s.handshake(C, S)
            .seg(C, S, 100, b"ab", "AP")
            .seg(C, S, 110, b"zz", "AP");
        let conns = reassemble(&s.segs).expect("reassembles");
        assert_eq!(&conns[0].client_bytes[..], b"ab");
        assert_eq!(conns[0].holes.len(), 1);
    }

    #[test]
    fn several_connections_and_the_client_from_the_syn_ack() {
        let c2 = "10.0.0.1:40001";
        let mut s = Script::new();
        s.handshake(C, S)
            // The second connection's SYN was not captured, its SYN-ACK was.
            .seg(S, c2, 899, b"", "SA")
            .seg(C, S, 100, b"one", "AP")
            .seg(c2, S, 7, b"two", "AP");
        let conns = reassemble(&s.segs).expect("reassembles");
        assert_eq!(conns.len(), 2);
        assert_eq!(conns[1].client, c2.parse().expect("addr"));
        assert_eq!(&conns[1].client_bytes[..], b"two");
        assert_eq!(&conns[0].client_bytes[..], b"one");
    }

    #[test]
    fn mid_stream_capture_finds_the_client_from_the_bytes() {
        // A MySQL greeting is sent by the server even if it speaks first.
        let mut greeting = vec![20, 0, 0, 0, 10];
        greeting.extend_from_slice(b"10.11.6-MariaDB\0");
        greeting.extend_from_slice(&[0; 4]);
        let mut s = Script::new();
        s.seg(S, C, 1000, &greeting, "AP")
            .seg(C, S, 5, b"\x01\0\0\x01x", "AP");
        let conns = reassemble(&s.segs).expect("reassembles");
        assert_eq!(conns[0].client, C.parse().expect("addr"));
        assert!(!conns[0].saw_syn);
    }

    #[test]
    fn port_reuse_after_close_is_a_new_connection() {
        let mut s = Script::new();
        s.handshake(C, S)
            .seg(C, S, 100, b"a", "AP")
            .seg(C, S, 101, b"", "AF")
            .seg(S, C, 500, b"", "AF")
            .seg(C, S, 3000, b"", "S")
            .seg(S, C, 7000, b"", "SA")
            .seg(C, S, 3001, b"b", "AP");
        let conns = reassemble(&s.segs).expect("reassembles");
        assert_eq!(conns.len(), 2);
        assert_eq!(&conns[1].client_bytes[..], b"b");
    }
}
