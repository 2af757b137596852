// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Fuzz-style smoke test of the openGauss decoders: Batch Bind bodies and
//! SHA256 / MD5_SHA256 request bodies, random and mutated from valid ones
//! (seeded, so a failure reproduces). Any result is fine except a panic or
//! an allocation sized by a lying count; valid inputs must still decode.

mod fuzz_rng;

use bytes::{Bytes, BytesMut};
use fuzz_rng::Rng;
use shardwire_protocol::auth::opengauss::{
    md5_sha256_response, Md5Sha256Challenge, Sha256Challenge, Sha256Request, Sha256Secret,
    Sha256Tail, LEGACY_ITERATIONS, PROTOCOL_VERSION_3_50, PROTOCOL_VERSION_3_51,
};
use shardwire_protocol::pg::{BatchBind, PROTOCOL_VERSION_3_0};

/// A count or length replaced by an extreme one.
fn extreme_count(rng: &mut Rng, v: &mut [u8]) {
    if v.len() >= 4 {
        let i = rng.below(v.len() - 3);
        let x = [i32::MAX, i32::MIN, -1, 0x7fff, 1 << 30][rng.below(5)];
        v[i..i + 4].copy_from_slice(&x.to_be_bytes());
    }
}

fn batch_body(rng: &mut Rng) -> Vec<u8> {
    let per_row = rng.below(4);
    let rows: Vec<Vec<Option<Bytes>>> = (0..rng.below(20))
        .map(|_| {
            (0..per_row)
                .map(|_| (rng.below(5) > 0).then(|| Bytes::from(rng.bytes(12))))
                .collect()
        })
        .collect();
    let b = BatchBind {
        statement: "s".into(),
        portal: String::new(),
        param_formats: vec![0; rng.below(2)],
        result_formats: vec![],
        params_per_row: per_row as u16,
        rows,
    };
    let mut buf = BytesMut::new();
    b.encode(&mut buf).unwrap();
    let body = buf.split_off(5).to_vec();
    assert_eq!(BatchBind::decode(Bytes::from(body.clone())).unwrap(), b);
    body
}

#[test]
fn batch_bind_decoder_survives_garbage() {
    let mut rng = Rng(0x0ba7_c4b1_4d00_0001);
    for _ in 0..20_000 {
        let valid = batch_body(&mut rng);
        let input = if rng.below(4) == 0 {
            rng.bytes(64)
        } else {
            rng.mutate(&valid, extreme_count)
        };
        let _ = BatchBind::decode(Bytes::from(input));
    }
}

#[test]
fn sha256_request_decoders_survive_garbage() {
    let mut rng = Rng(0x5a25_6000_0000_0002);
    let secret = Sha256Secret::new_random("pw", LEGACY_ITERATIONS).unwrap();
    let mut valid = Vec::new();
    for tail in [
        Sha256Tail::ServerSignature,
        Sha256Tail::Nothing,
        Sha256Tail::Iterations,
    ] {
        let ch = Sha256Challenge::new(secret.clone(), tail).unwrap();
        valid.push(ch.request_data().unwrap());
    }
    let md5 = Md5Sha256Challenge::new(secret).unwrap().request_data();
    let versions = [
        PROTOCOL_VERSION_3_0,
        PROTOCOL_VERSION_3_50,
        PROTOCOL_VERSION_3_51,
    ];
    for i in 0..5_000 {
        let base = &valid[i % valid.len()];
        let input = if rng.below(4) == 0 {
            rng.bytes(160)
        } else {
            rng.mutate(base, extreme_count)
        };
        // Decoding only: answering would derive keys, which the bound on
        // the iteration count already keeps finite, but slow.
        let _ = Sha256Request::decode(&input, versions[rng.below(3)]);
        // A body of the right length may derive keys (2048 iterations):
        // only some of those, every body of another length.
        let m = rng.mutate(&md5, extreme_count);
        if m.len() != md5.len() || i % 50 == 0 {
            let _ = md5_sha256_response(&m, "pw");
        }
    }
}
