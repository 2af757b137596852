//! Criterion micro-benchmarks of the PostgreSQL codec on batches, the shape
//! of traffic a proxy sees under load:
//! - `decode_pipelined_extended`: the server codec decoding 100 pipelined
//!   Bind/Execute pairs and a Sync (pgbench -M prepared, pipelined);
//! - `decode_simple_queries`: 100 simple Query messages in one buffer;
//! - `decode_data_rows`: the client codec decoding 1000 DataRows of 4
//!   columns and their CommandComplete / ReadyForQuery (a backend's answer);
//! - `decode_batch_bind`: the same 100 rows of parameters as
//!   `decode_pipelined_extended`, as one openGauss Batch Bind body.
//!
//! Parameter and column values come from a fixed-seed generator, so runs
//! differ only by the machine's noise.
//!
//! `cargo bench -p shardwire-protocol --bench codec`
#![allow(clippy::unwrap_used)] // a benchmark: encoding fixed inputs must not fail

use std::hint::black_box;

use bytes::{BufMut, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shardwire_protocol::pg::{
    encode_batch_bind, BackendMessage, BatchBind, Bind, DataRow, FrontendMessage, PgClientCodec,
    PgServerCodec, ServerPhase, TransactionStatus,
};
use tokio_util::codec::{Decoder, Encoder};

/// xorshift64*: a seeded, dependency-free source of varied values.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn frontend_batch(messages: Vec<FrontendMessage>) -> BytesMut {
    let mut codec = PgClientCodec::new();
    let mut buf = BytesMut::new();
    for m in messages {
        codec.encode(m, &mut buf).unwrap();
    }
    buf
}

fn pipelined_extended(rng: &mut Seeded) -> BytesMut {
    let mut messages = Vec::new();
    for _ in 0..100 {
        let aid = (rng.next() % 1_000_000 + 1).to_string();
        messages.push(FrontendMessage::Bind(Bind {
            portal: String::new(),
            statement: "P_0".to_owned(),
            param_formats: vec![],
            params: vec![Some(aid.into_bytes().into())],
            result_formats: vec![],
        }));
        messages.push(FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        });
    }
    messages.push(FrontendMessage::Sync);
    frontend_batch(messages)
}

fn simple_queries(rng: &mut Seeded) -> BytesMut {
    let messages = (0..100)
        .map(|_| {
            let aid = rng.next() % 1_000_000 + 1;
            FrontendMessage::Query(format!(
                "SELECT abalance FROM pgbench_accounts WHERE aid = {aid};"
            ))
        })
        .collect();
    frontend_batch(messages)
}

fn data_rows(rng: &mut Seeded) -> BytesMut {
    let mut codec = PgServerCodec::new();
    codec.set_phase(ServerPhase::Regular);
    let mut buf = BytesMut::new();
    for _ in 0..1000 {
        let id = rng.next().to_string();
        let k = (rng.next() % 1_000_003).to_string();
        let pad = format!("{:032x}", rng.next());
        let row = DataRow::from_values([
            Some(id.as_bytes()),
            Some(k.as_bytes()),
            None,
            Some(pad.as_bytes()),
        ])
        .unwrap();
        codec
            .encode(BackendMessage::DataRow(row), &mut buf)
            .unwrap();
    }
    codec
        .encode(
            BackendMessage::CommandComplete("SELECT 1000".to_owned()),
            &mut buf,
        )
        .unwrap();
    codec
        .encode(
            BackendMessage::ReadyForQuery(TransactionStatus::Idle),
            &mut buf,
        )
        .unwrap();
    buf
}

/// The body of one 'U' carrying 100 rows of one parameter, like
/// `pipelined_extended`'s Binds.
fn batch_bind(rng: &mut Seeded) -> bytes::Bytes {
    let rows: Vec<Vec<Option<bytes::Bytes>>> = (0..100)
        .map(|_| {
            vec![Some(
                (rng.next() % 1_000_000 + 1).to_string().into_bytes().into(),
            )]
        })
        .collect();
    let mut buf = BytesMut::new();
    encode_batch_bind(
        &mut buf,
        "P_0",
        "",
        &[],
        &[],
        1,
        rows.iter().map(Vec::as_slice),
    )
    .unwrap();
    buf.split_off(5).freeze()
}

/// Decodes every frame of `batch` with a fresh decoder; returns the count so
/// the work cannot be optimised away.
fn drain<D: Decoder>(mut decoder: D, batch: &BytesMut) -> usize {
    let mut buf = batch.clone();
    let mut n = 0;
    while let Some(frame) = decoder.decode(&mut buf).ok().flatten() {
        black_box(frame);
        n += 1;
    }
    n
}

fn server_codec() -> PgServerCodec {
    let mut codec = PgServerCodec::new();
    codec.set_phase(ServerPhase::Regular);
    codec
}

fn codec(c: &mut Criterion) {
    let mut rng = Seeded(0x5eed_cafe_f00d_0001);
    let extended = pipelined_extended(&mut rng);
    let simple = simple_queries(&mut rng);
    let rows = data_rows(&mut rng);
    let batch = batch_bind(&mut rng);
    assert_eq!(BatchBind::decode(batch.clone()).unwrap().rows.len(), 100);
    assert_eq!(drain(server_codec(), &extended), 201);
    assert_eq!(drain(server_codec(), &simple), 100);
    assert_eq!(drain(PgClientCodec::new(), &rows), 1002);
    // A trailing partial frame must wait for more bytes, not be decoded.
    let mut cut = rows.clone();
    cut.put_u8(b'D');
    assert_eq!(drain(PgClientCodec::new(), &cut), 1002);

    let mut g = c.benchmark_group("pg_codec");
    g.throughput(Throughput::Bytes(extended.len() as u64));
    g.bench_function("decode_pipelined_extended", |b| {
        b.iter(|| drain(server_codec(), black_box(&extended)))
    });
    g.throughput(Throughput::Bytes(simple.len() as u64));
    g.bench_function("decode_simple_queries", |b| {
        b.iter(|| drain(server_codec(), black_box(&simple)))
    });
    g.throughput(Throughput::Bytes(rows.len() as u64));
    g.bench_function("decode_data_rows", |b| {
        b.iter(|| drain(PgClientCodec::new(), black_box(&rows)))
    });
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("decode_batch_bind", |b| {
        b.iter(|| BatchBind::decode(black_box(batch.clone())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
