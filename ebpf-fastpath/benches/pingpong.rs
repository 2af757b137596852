//! Ping-pong over loopback through the splice: kernel (sk_skb sockmap) vs
//! the user-space copy. Reports per round trip: wall-clock latency (mean,
//! p50, p99), this process's CPU (user + system from /proc/self/stat, the
//! same numbers getrusage gives) and the whole machine's busy CPU from
//! /proc/stat, which is where in-kernel forwarding shows up (softirq and
//! the psock work queue are not charged to us).
//!
//! The client and the server are blocking threads doing the same work in
//! both modes, so differences come from the proxy.
//!
//! `cargo bench -p shardwire-fastpath --bench pingpong` (as root for the
//! kernel path); PINGPONG_ROUNDS (default 100000), PINGPONG_REPEATS (2).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark binary: fail loudly, print the table

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shardwire_fastpath::{FastPath, Mode, Path, SpliceOutcome, SplicePair};

const MSG: usize = 64;
/// USER_HZ: the unit of /proc/stat and /proc/self/stat on every Linux ABI.
const TICK_US: f64 = 10_000.0;

fn main() {
    let rounds = env_usize("PINGPONG_ROUNDS", 100_000);
    let repeats = env_usize("PINGPONG_REPEATS", 2);
    let kernel = FastPath::detect(false);
    let user = FastPath::detect(true);
    println!("kernel candidate: {}", kernel.describe());
    println!(
        "{rounds} round trips of {MSG} bytes per run, {repeats} runs per mode, {} CPUs\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<11} {:>9} {:>9} {:>9} {:>13} {:>13} {:>13}",
        "mode", "mean us", "p50 us", "p99 us", "proc CPU us", "  of it sys", "machine CPU us"
    );
    let modes: Vec<(&str, Arc<FastPath>)> = match kernel.mode() {
        Mode::Kernel => vec![("kernel", Arc::new(kernel)), ("user-space", Arc::new(user))],
        Mode::UserSpace { .. } => vec![("user-space", Arc::new(user))],
    };
    for _ in 0..repeats {
        for (name, fast) in &modes {
            let r = run(fast.clone(), rounds);
            println!(
                "{:<11} {:>9.2} {:>9.2} {:>9.2} {:>13.2} {:>13.2} {:>13.2}",
                name, r.mean_us, r.p50_us, r.p99_us, r.proc_cpu_us, r.proc_sys_us, r.machine_cpu_us
            );
        }
    }
}

struct Report {
    mean_us: f64,
    p50_us: f64,
    p99_us: f64,
    proc_cpu_us: f64,
    proc_sys_us: f64,
    machine_cpu_us: f64,
}

fn run(fast: Arc<FastPath>, rounds: usize) -> Report {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_addr = server.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; MSG];
        while s.read_exact(&mut buf).is_ok() {
            if s.write_all(&buf).is_err() {
                return;
            }
        }
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    proxy.set_nonblocking(true).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<SpliceOutcome>();
    let expected = fast.mode().clone();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(proxy).unwrap();
        let (client, _) = listener.accept().await.unwrap();
        client.set_nodelay(true).unwrap();
        let backend = tokio::net::TcpStream::connect(server_addr).await.unwrap();
        backend.set_nodelay(true).unwrap();
        let outcome = fast.splice(SplicePair::new(client, backend)).await;
        let _ = tx.send(outcome);
    });

    let mut client = connect(proxy_addr);
    let mut buf = [0u8; MSG];
    let msg = [7u8; MSG];
    for _ in 0..1000 {
        client.write_all(&msg).unwrap();
        client.read_exact(&mut buf).unwrap();
    }
    let mut samples = Vec::with_capacity(rounds);
    let (proc0, machine0) = (proc_cpu(), machine_busy());
    let start = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        client.write_all(&msg).unwrap();
        client.read_exact(&mut buf).unwrap();
        samples.push(t.elapsed());
    }
    let wall = start.elapsed();
    let (proc1, machine1) = (proc_cpu(), machine_busy());
    drop(client);
    let outcome = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let want = if expected == Mode::Kernel {
        Path::Kernel
    } else {
        Path::UserSpace
    };
    assert_eq!(outcome.path, want, "{:?}", outcome.user_space_reason);
    runtime.shutdown_timeout(Duration::from_secs(1));

    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let n = rounds as f64;
    Report {
        mean_us: wall.as_secs_f64() * 1e6 / n,
        p50_us: pct(0.50).as_secs_f64() * 1e6,
        p99_us: pct(0.99).as_secs_f64() * 1e6,
        proc_cpu_us: ((proc1.0 + proc1.1) - (proc0.0 + proc0.1)) as f64 * TICK_US / n,
        proc_sys_us: (proc1.1 - proc0.1) as f64 * TICK_US / n,
        machine_cpu_us: (machine1 - machine0) as f64 * TICK_US / n,
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// (utime, stime) of this process in ticks: fields 14 and 15 of
/// /proc/self/stat, counted after the ")" that ends the command name.
fn proc_cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (f[11], f[12])
}

/// Busy ticks of all CPUs: everything on the "cpu" line but idle and iowait.
fn machine_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let line = stat.lines().next().unwrap();
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    // user nice system idle iowait irq softirq steal (guest fields are in user)
    f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
