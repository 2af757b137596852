//! The same session read from pcapng, from loopback (BSD null), raw IP and
//! Linux cooked (SLL) link types gives the same dialog as from Ethernet
//! pcap.

use std::net::SocketAddr;

use shardwire_conformance::dialog::capture_from_segments;
use shardwire_conformance::pcap_read::parse_capture;
use shardwire_conformance::pcap_write::TcpFlow;

const ETHERNET_HEADER: usize = 14;

/// Ethernet frames of a small PostgreSQL session that logs in and runs one
/// query.
fn frames() -> Vec<Vec<u8>> {
    fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }
    let startup = {
        let body = b"\0\x03\0\0user\0alice\0\0";
        let mut v = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    };
    let mut login = msg(b'R', &[0, 0, 0, 0]);
    login.extend(msg(b'Z', b"I"));
    let mut answer = msg(
        b'T',
        b"\0\x01x\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0",
    );
    answer.extend(msg(b'D', b"\0\x01\0\0\0\x0242"));
    answer.extend(msg(b'C', b"SELECT 1\0"));
    answer.extend(msg(b'Z', b"I"));
    let client: SocketAddr = "192.168.1.5:50000".parse().expect("addr");
    let server: SocketAddr = "192.168.1.9:7777".parse().expect("addr");
    let mut flow = TcpFlow::new(client, server);
    let mut out = flow.handshake();
    out.extend(flow.data(true, &startup));
    out.extend(flow.data(false, &login));
    out.extend(flow.data(true, &msg(b'Q', b"SELECT 42 AS x\0")));
    out.extend(flow.data(false, &answer));
    out
}

fn pcap(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [
        0xa1b2_c3d4u32.to_le_bytes().as_slice(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
    ] {
        out.extend_from_slice(v);
    }
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

fn pcapng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut out = kind.to_le_bytes().to_vec();
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

fn pcapng(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut out = pcapng_block(0x0a0d_0d0a, &shb);
    let mut idb = 1u16.to_le_bytes().to_vec(); // Ethernet
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    out.extend(pcapng_block(1, &idb));
    for (i, f) in frames.iter().enumerate() {
        let ts = (1_700_000_000u64 + i as u64) * 1_000_000;
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(f);
        out.extend(pcapng_block(6, &epb));
    }
    out
}

fn strip(frames: &[Vec<u8>], prefix: &[u8]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|f| {
            let mut v = prefix.to_vec();
            v.extend_from_slice(&f[ETHERNET_HEADER..]);
            v
        })
        .collect()
}

fn dialog_summary(file: &[u8]) -> (String, Vec<String>) {
    let segs = parse_capture(file).expect("reads");
    let cap = capture_from_segments(&segs).expect("a dialog");
    assert_eq!(cap.dialogs.len(), 1);
    let d = &cap.dialogs[0];
    let answers = d.exchanges[0]
        .expected
        .iter()
        .map(|a| a.to_string())
        .collect();
    (d.exchanges[0].request.clone(), answers)
}

#[test]
fn every_link_type_gives_the_same_dialog() {
    let frames = frames();
    let want = dialog_summary(&pcap(1, &frames));
    assert_eq!(want.0, "SELECT 42 AS x");
    assert_eq!(
        want.1,
        vec![
            "columns(x pg:23)".to_owned(),
            "row(\"42\")".to_owned(),
            "complete \"SELECT 1\"".to_owned(),
            "ready I".to_owned()
        ]
    );
    assert_eq!(dialog_summary(&pcapng(&frames)), want, "pcapng");
    // BSD loopback: AF_INET (2) in host byte order.
    assert_eq!(
        dialog_summary(&pcap(0, &strip(&frames, &2u32.to_le_bytes()))),
        want,
        "null"
    );
    assert_eq!(
        dialog_summary(&pcap(101, &strip(&frames, &[]))),
        want,
        "raw"
    );
    // Linux cooked: packet type, ARPHRD, address length, 8 address bytes,
    // then the EtherType of IPv4.
    let sll = [0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
    assert_eq!(
        dialog_summary(&pcap(113, &strip(&frames, &sll))),
        want,
        "sll"
    );
}
