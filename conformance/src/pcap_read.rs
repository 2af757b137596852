//! Reading pcap and pcapng files into TCP segments.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::{LegacyPcapSlice, Linktype, PcapBlockOwned, PcapNGSlice};

use crate::error::{ConformanceError, Result};

/// Captures larger than this are refused: the corpus is KBs, and a whole
/// capture is held in memory while it is reassembled.
pub const MAX_CAPTURE_BYTES: usize = 256 * 1024 * 1024;

/// One TCP segment as captured, in capture order (`index`).
#[derive(Debug, Clone)]
pub struct TcpSegment {
    pub index: usize,
    pub ts_micros: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub payload: Bytes,
}

/// Reads a capture file from disk; see [`parse_capture`].
pub fn read_capture_file(path: &std::path::Path) -> Result<Vec<TcpSegment>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ConformanceError::io(format!("reading {}", path.display()), e))?;
    if meta.len() > MAX_CAPTURE_BYTES as u64 {
        return Err(ConformanceError::unusable(format!(
            "{} is {} bytes, more than the {MAX_CAPTURE_BYTES} this tool reads",
            path.display(),
            meta.len()
        )));
    }
    let data = std::fs::read(path)
        .map_err(|e| ConformanceError::io(format!("reading {}", path.display()), e))?;
    parse_capture(&data)
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Parses a whole pcap or pcapng file and returns its TCP segments; other
/// packets (ARP, UDP, ...) are skipped. A file cut short is refused rather
/// than half read, since a replay of half a session proves nothing.
pub fn parse_capture(data: &[u8]) -> Result<Vec<TcpSegment>> {
    let Some(magic) = data.get(..4) else {
        return Err(ConformanceError::unusable(
            "the file is shorter than a capture header (truncated or empty)",
        ));
    };
    let mut out = Vec::new();
    if PCAP_MAGICS.iter().any(|m| m == magic) {
        read_legacy(data, &mut out)?;
    } else if magic == PCAPNG_MAGIC {
        read_ng(data, &mut out)?;
    } else {
        return Err(ConformanceError::unusable(
            "not a pcap or pcapng file (unknown magic number)",
        ));
    }
    Ok(out)
}

fn truncated(packets: usize) -> ConformanceError {
    ConformanceError::unusable(format!(
        "the file is truncated or corrupt after {packets} packets"
    ))
}

fn read_legacy(data: &[u8], out: &mut Vec<TcpSegment>) -> Result<()> {
    let slice = LegacyPcapSlice::from_slice(data).map_err(|_| truncated(0))?;
    let linktype = slice.header.network;
    // Nanosecond files carry the other magic; timestamps are only ordering
    // hints here, so the unit matters little.
    let nanos = slice.header.is_nanosecond_precision();
    let mut packets = 0usize;
    for block in slice {
        let block = block.map_err(|_| truncated(packets))?;
        if let PcapBlockOwned::Legacy(b) = block {
            let usec = if nanos { b.ts_usec / 1000 } else { b.ts_usec };
            let ts = u64::from(b.ts_sec) * 1_000_000 + u64::from(usec);
            if b.caplen < b.origlen {
                return Err(ConformanceError::unusable(format!(
                    "packet {} was cut to {} of {} bytes (capture with a snap length)",
                    packets + 1,
                    b.caplen,
                    b.origlen
                )));
            }
            if let Some(seg) = decode_frame(linktype, b.data, out.len(), ts) {
                out.push(seg);
            }
            packets += 1;
        }
    }
    Ok(())
}

fn read_ng(data: &[u8], out: &mut Vec<TcpSegment>) -> Result<()> {
    let slice = PcapNGSlice::from_slice(data).map_err(|_| truncated(0))?;
    let mut interfaces: Vec<(Linktype, u64)> = Vec::new();
    let mut packets = 0usize;
    for block in slice {
        let block = block.map_err(|_| truncated(packets))?;
        let PcapBlockOwned::NG(block) = block else {
            continue;
        };
        match block {
            Block::SectionHeader(_) => interfaces.clear(),
            Block::InterfaceDescription(idb) => {
                let per_sec = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                interfaces.push((idb.linktype, per_sec));
            }
            Block::EnhancedPacket(epb) => {
                let Some(&(linktype, per_sec)) = usize::try_from(epb.if_id)
                    .ok()
                    .and_then(|i| interfaces.get(i))
                else {
                    return Err(ConformanceError::unusable(format!(
                        "packet {} names interface {} that the file never described",
                        packets + 1,
                        epb.if_id
                    )));
                };
                if epb.caplen < epb.origlen {
                    return Err(ConformanceError::unusable(format!(
                        "packet {} was cut to {} of {} bytes (capture with a snap length)",
                        packets + 1,
                        epb.caplen,
                        epb.origlen
                    )));
                }
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ts = u64::try_from(u128::from(raw) * 1_000_000 / u128::from(per_sec))
                    .unwrap_or(u64::MAX);
                let len = usize::try_from(epb.caplen).unwrap_or(usize::MAX);
                let data = epb.data.get(..len).unwrap_or(epb.data);
                if let Some(seg) = decode_frame(linktype, data, out.len(), ts) {
                    out.push(seg);
                }
                packets += 1;
            }
            Block::SimplePacket(spb) => {
                let Some(&(linktype, _)) = interfaces.first() else {
                    return Err(truncated(packets));
                };
                if let Some(seg) = decode_frame(linktype, spb.data, out.len(), 0) {
                    out.push(seg);
                }
                packets += 1;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decodes one link-layer frame down to TCP; `None` for anything else.
pub fn decode_frame(
    linktype: Linktype,
    data: &[u8],
    index: usize,
    ts_micros: u64,
) -> Option<TcpSegment> {
    let sliced = match linktype {
        Linktype::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok()?,
        // BSD loopback: a 4-byte address family in the writer's byte order.
        Linktype::NULL | Linktype::LOOP => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => SlicedPacket::from_ip(data).ok()?,
        _ => return None,
    };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match sliced.net.as_ref()? {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            // A fragment's TCP header may be missing or partial.
            if h.more_fragments() || h.fragments_offset().value() != 0 {
                return None;
            }
            (h.source_addr().into(), h.destination_addr().into())
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
        NetSlice::Arp(_) => return None,
    };
    let TransportSlice::Tcp(tcp) = sliced.transport.as_ref()? else {
        return None;
    };
    Some(TcpSegment {
        index,
        ts_micros,
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        psh: tcp.psh(),
        payload: Bytes::copy_from_slice(tcp.payload()),
    })
}
