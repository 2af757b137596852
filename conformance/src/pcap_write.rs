//! Writing a standard pcap (Ethernet link type) of synthesised TCP/IP
//! packets, so a relay without root or tcpdump records what Wireshark and
//! `replay` read: a handshake, data segments with correct sequence and
//! acknowledgement numbers, and FINs.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use etherparse::PacketBuilder;

/// Payload per synthesised segment: an IPv4 packet holds 65535 bytes with
/// its 20-byte IP and 20-byte TCP headers.
pub const MAX_SEGMENT_PAYLOAD: usize = 65_000;
const SNAPLEN: u32 = 262_144;
const LINKTYPE_ETHERNET: u32 = 1;
const WINDOW: u16 = 65_535;
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// A pcap file being written.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header (microsecond timestamps, Ethernet).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&SNAPLEN.to_le_bytes())?;
        out.write_all(&LINKTYPE_ETHERNET.to_le_bytes())?;
        Ok(PcapWriter { out })
    }

    /// Appends one frame stamped `ts`.
    pub fn packet(&mut self, ts: SystemTime, frame: &[u8]) -> io::Result<()> {
        let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let secs = u32::try_from(since.as_secs()).unwrap_or(u32::MAX);
        self.out.write_all(&secs.to_le_bytes())?;
        self.out.write_all(&since.subsec_micros().to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(frame)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    psh: bool,
}

/// The TCP state of one synthesised connection.
#[derive(Debug, Clone)]
pub struct TcpFlow {
    client: SocketAddr,
    server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

impl TcpFlow {
    /// Initial sequence numbers are derived from the ports: any value is
    /// valid, and fixed ones keep recordings reproducible.
    pub fn new(client: SocketAddr, server: SocketAddr) -> TcpFlow {
        TcpFlow {
            client,
            server,
            client_seq: 0x1000_0000u32.wrapping_add(u32::from(client.port()) << 8),
            server_seq: 0x5000_0000u32.wrapping_add(u32::from(server.port()) << 8),
        }
    }

    fn frame(&self, from_client: bool, flags: Flags, payload: &[u8]) -> Vec<u8> {
        let (src, dst, smac, dmac, seq, ack) = if from_client {
            (
                self.client,
                self.server,
                CLIENT_MAC,
                SERVER_MAC,
                self.client_seq,
                self.server_seq,
            )
        } else {
            (
                self.server,
                self.client,
                SERVER_MAC,
                CLIENT_MAC,
                self.server_seq,
                self.client_seq,
            )
        };
        let eth = PacketBuilder::ethernet2(smac, dmac);
        let ip = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (s, d) => eth.ipv6(v6(s), v6(d), 64),
        };
        let mut tcp = ip.tcp(src.port(), dst.port(), seq, WINDOW);
        if flags.syn {
            tcp = tcp.syn();
        }
        if flags.ack {
            tcp = tcp.ack(ack);
        }
        if flags.fin {
            tcp = tcp.fin();
        }
        if flags.psh {
            tcp = tcp.psh();
        }
        let mut out = Vec::with_capacity(tcp.size(payload.len()));
        // Writing into a Vec fails only for payloads over the IP limit,
        // which MAX_SEGMENT_PAYLOAD rules out; an empty frame is the
        // harmless fallback.
        if tcp.write(&mut out, payload).is_err() {
            out.clear();
        }
        out
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Vec<u8>> {
        let syn = self.frame(
            true,
            Flags {
                syn: true,
                ..Flags::default()
            },
            &[],
        );
        self.client_seq = self.client_seq.wrapping_add(1);
        let syn_ack = self.frame(
            false,
            Flags {
                syn: true,
                ack: true,
                ..Flags::default()
            },
            &[],
        );
        self.server_seq = self.server_seq.wrapping_add(1);
        let ack = self.frame(
            true,
            Flags {
                ack: true,
                ..Flags::default()
            },
            &[],
        );
        vec![syn, syn_ack, ack]
    }

    /// Data from one side, cut into segments; PSH marks the end of what
    /// was one read, which replay takes as one write.
    pub fn data(&mut self, from_client: bool, payload: &[u8]) -> Vec<Vec<u8>> {
        let chunks: Vec<&[u8]> = payload.chunks(MAX_SEGMENT_PAYLOAD).collect();
        let last = chunks.len().saturating_sub(1);
        let mut frames = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.into_iter().enumerate() {
            let flags = Flags {
                ack: true,
                psh: i == last,
                ..Flags::default()
            };
            frames.push(self.frame(from_client, flags, chunk));
            let n = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            if from_client {
                self.client_seq = self.client_seq.wrapping_add(n);
            } else {
                self.server_seq = self.server_seq.wrapping_add(n);
            }
        }
        frames
    }

    /// FIN (with ACK) from one side.
    pub fn fin(&mut self, from_client: bool) -> Vec<u8> {
        let f = self.frame(
            from_client,
            Flags {
                fin: true,
                ack: true,
                ..Flags::default()
            },
            &[],
        );
        if from_client {
            self.client_seq = self.client_seq.wrapping_add(1);
        } else {
            self.server_seq = self.server_seq.wrapping_add(1);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap_read::parse_capture;
    use crate::reassembly::reassemble;

    #[test]
    fn written_pcap_reads_back_as_one_connection() {
        let client: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let server: SocketAddr = "127.0.0.1:5432".parse().expect("addr");
        let mut buf = Vec::new();
        let mut w = PcapWriter::new(&mut buf).expect("header");
        let mut flow = TcpFlow::new(client, server);
        let now = SystemTime::now();
        let mut frames = flow.handshake();
        frames.extend(flow.data(true, b"hello"));
        frames.extend(flow.data(false, &vec![b'x'; MAX_SEGMENT_PAYLOAD + 10]));
        frames.push(flow.fin(true));
        frames.push(flow.fin(false));
        for f in &frames {
            w.packet(now, f).expect("packet");
        }
        let segs = parse_capture(&buf).expect("reads");
        assert_eq!(segs.len(), frames.len());
        let conns = reassemble(&segs).expect("reassembles");
        assert_eq!(conns.len(), 1);
        assert_eq!(conns[0].client, client);
        assert_eq!(&conns[0].client_bytes[..], b"hello");
        assert_eq!(conns[0].server_bytes.len(), MAX_SEGMENT_PAYLOAD + 10);
        // Two server segments, only the last with PSH.
        let psh: Vec<bool> = conns[0].deliveries.iter().map(|d| d.psh).collect();
        assert_eq!(psh, vec![true, false, true]);
    }
}
