//! A sharded MySQL deployment for end-to-end tests: two MariaDB shards
//! started by the harness, a conf directory with a MySQL listener, and
//! Shardwire serving it as a child process; plus the `mariadb` CLI and a
//! hand-made MySQL client for raw-socket tests.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod relay;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use shardwire_protocol::auth::mysql_native;
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::{HandshakeResponse41, HandshakeV10};
use shardwire_testkit::shardwire::{enable_frontend_tls, ShardwireProcess};
use shardwire_testkit::{free_port, mariadb_shards, MariaDbInstance};

pub const USER: &str = "app";
pub const PASSWORD: &str = "app-secret";
/// Bytes the proxy accepts in one packet (proxy-frontend-max-packet-size).
pub const MAX_PACKET: usize = 1024 * 1024;

pub struct Deployment {
    pub shards: Vec<MariaDbInstance>,
    pub proxy: ShardwireProcess,
    pub conf: tempfile::TempDir,
    pub port: u16,
}

/// `t_order` sharded by user_id over the two shards and by order_id over
/// two tables in each, keys from SNOWFLAKE; `t_region` broadcast.
pub const T_ORDER_RULES: &str = "\
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_${0..1}.t_order_${0..1}
      databaseStrategy:
        standard:
          shardingColumn: user_id
          shardingAlgorithmName: by_user
      tableStrategy:
        standard:
          shardingColumn: order_id
          shardingAlgorithmName: by_order
      keyGenerateStrategy:
        column: order_id
        keyGeneratorName: snowflake
  shardingAlgorithms:
    by_user:
      type: INLINE
      props:
        algorithm-expression: ds_${user_id % 2}
    by_order:
      type: MOD
      props:
        sharding-count: 2
  keyGenerators:
    snowflake:
      type: SNOWFLAKE
- !BROADCAST
  tables:
    - t_region
";

/// The conf of a MySQL listener on `proxy_port` serving `sharding_db` over
/// the shards as ds_0 and ds_1, with `rules` (YAML, the list under
/// `rules:`).
pub fn write_conf(dir: &Path, shards: &[MariaDbInstance], proxy_port: u16, rules: &str) {
    // The login limit is long here: the proxy makes its RSA key for
    // caching_sha2_password's full auth inside the first login that asks,
    // and an unoptimized build on a loaded machine took over 20 s for it
    // (tests/frontend_limits.rs tests the limit itself).
    let global = format!(
        "authority:\n  users:\n    - user: {USER}@%\n      password: {PASSWORD}\n  privilege:\n    type: ALL_PERMITTED\n\
         props:\n  max-connections-size-per-query: 2\n  proxy-frontend-max-packet-size: {MAX_PACKET}\n  proxy-mysql-default-version: 5.7.22-shardwire\n  proxy-frontend-login-timeout-milliseconds: 180000\n\
         listeners:\n  - protocol: mysql\n    address: 127.0.0.1:{proxy_port}\n"
    );
    let source = |s: &MariaDbInstance| {
        format!(
            "    url: jdbc:mysql://127.0.0.1:{}/{}\n    username: {}\n    password: {}\n    maxPoolSize: 8\n    connectionTimeoutMilliseconds: 5000\n",
            s.port(),
            s.database(),
            s.user(),
            s.password()
        )
    };
    let sharding = format!(
        "databaseName: sharding_db\n\
         dataSources:\n  ds_0:\n{s0}  ds_1:\n{s1}\
         rules:\n{rules}",
        s0 = source(&shards[0]),
        s1 = source(&shards[1]),
    );
    std::fs::write(dir.join("global.yaml"), global).unwrap();
    std::fs::write(dir.join("database-sharding.yaml"), sharding).unwrap();
}

/// Adds logical database `direct` to the conf in `dir`: a passthrough
/// database (one data source, no rules) over `shard`'s database.
pub fn write_passthrough(dir: &Path, shard: &MariaDbInstance) {
    let direct = format!(
        "databaseName: direct\n\
         dataSources:\n  ds:\n    url: jdbc:mysql://127.0.0.1:{}/{}\n    username: {}\n    password: {}\n    maxPoolSize: 8\n    connectionTimeoutMilliseconds: 5000\n",
        shard.port(),
        shard.database(),
        shard.user(),
        shard.password()
    );
    std::fs::write(dir.join("database-direct.yaml"), direct).unwrap();
}

/// Two shards and Shardwire with [`T_ORDER_RULES`], and the passthrough
/// database `direct` over the first shard.
pub fn start_with_passthrough() -> Deployment {
    start_inner(T_ORDER_RULES, false, true)
}

/// Two shards and Shardwire with [`T_ORDER_RULES`].
pub fn start() -> Deployment {
    start_inner(T_ORDER_RULES, false, false)
}

/// [`start`] with other rules for `sharding_db`.
pub fn start_with_rules(rules: &str) -> Deployment {
    start_inner(rules, false, false)
}

/// [`start`] with a self-signed certificate (made with the openssl
/// command): the proxy offers CLIENT_SSL.
pub fn start_with_tls() -> Deployment {
    start_inner(T_ORDER_RULES, true, false)
}

fn start_inner(rules: &str, tls: bool, passthrough: bool) -> Deployment {
    let shards = mariadb_shards(2).unwrap();
    let conf = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    write_conf(conf.path(), &shards, port, rules);
    if passthrough {
        write_passthrough(conf.path(), &shards[0]);
    }
    if tls {
        enable_frontend_tls(conf.path()).unwrap();
    }
    let proxy =
        ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf.path()).unwrap();
    Deployment {
        shards,
        proxy,
        conf,
        port,
    }
}

/// What the `mariadb` CLI printed.
pub struct CliOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Deployment {
    /// Runs a script with the `mariadb` CLI (batch mode, no column names,
    /// going on after errors with `--force`).
    pub fn mariadb(&self, database: &str, password: &str, script: &str) -> CliOutput {
        self.run_cli(database, password, &[], script)
    }

    /// [`Deployment::mariadb`] on sharding_db with extra CLI options.
    pub fn mariadb_with(&self, options: &[&str], script: &str) -> CliOutput {
        self.run_cli("sharding_db", PASSWORD, options, script)
    }

    fn run_cli(&self, database: &str, password: &str, options: &[&str], script: &str) -> CliOutput {
        let mut child = Command::new("mariadb")
            .args([
                "--no-defaults",
                "--protocol=TCP",
                "-h",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "-u",
                USER,
                &format!("-p{password}"),
                "--batch",
                "--skip-column-names",
                "--force",
                "--connect-timeout=10",
            ])
            .args(options)
            .args((!database.is_empty()).then(|| format!("--database={database}")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        CliOutput {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The CLI must succeed; its output.
    pub fn mariadb_ok(&self, script: &str) -> String {
        let out = self.mariadb("sharding_db", PASSWORD, script);
        assert!(
            out.ok && out.stderr.is_empty(),
            "mariadb failed on {script:?}: {}\nproxy log:\n{}",
            out.stderr,
            self.proxy.log_tail()
        );
        out.stdout
    }

    /// Rows a shard holds, for checking where data went.
    pub fn on_shard(&self, shard: usize, sql: &str) -> String {
        self.shards[shard].mysql(sql).unwrap()
    }
}

/// A MySQL client written by hand over a raw socket, for what drivers
/// never send: pipelined commands, malformed and oversized packets.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects and reads the server's handshake.
    pub fn connect(port: u16) -> (RawClient, HandshakeV10) {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut c = RawClient {
            stream,
            buf: Vec::new(),
        };
        let (_, hello) = c.read_packet().unwrap();
        (c, HandshakeV10::decode(hello.into()).unwrap())
    }

    /// Sends the handshake response (sequence id 1) and returns the
    /// server's next packet.
    pub fn respond(
        &mut self,
        user: &str,
        plugin: &str,
        auth_response: Vec<u8>,
        database: Option<&str>,
    ) -> Vec<u8> {
        let mut caps = CLIENT_PROTOCOL_41
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH
            | CLIENT_LONG_PASSWORD
            | CLIENT_TRANSACTIONS
            | CLIENT_MULTI_STATEMENTS
            | CLIENT_MULTI_RESULTS;
        if database.is_some() {
            caps |= CLIENT_CONNECT_WITH_DB;
        }
        let response = HandshakeResponse41 {
            capabilities: caps,
            max_packet_size: 16 * 1024 * 1024,
            charset: 45,
            username: user.into(),
            auth_response: auth_response.into(),
            database: database.map(str::to_owned),
            auth_plugin: Some(plugin.into()),
            ..HandshakeResponse41::default()
        };
        let mut payload = bytes::BytesMut::new();
        response.encode(&mut payload).unwrap();
        self.write_packet(1, &payload);
        self.read_packet().unwrap().1
    }

    /// Connects and logs in with mysql_native_password; returns the client
    /// and the server's answer to the handshake response.
    pub fn login(
        port: u16,
        user: &str,
        password: &str,
        database: Option<&str>,
    ) -> (RawClient, Vec<u8>) {
        let (mut c, hs) = RawClient::connect(port);
        let scramble = mysql_native::scramble(password, &hs.auth_data);
        let answer = c.respond(user, mysql_native::PLUGIN_NAME, scramble, database);
        (c, answer)
    }

    /// Frames `payload` as one packet with sequence id `seq`.
    pub fn frame(seq: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut out = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
        out.extend_from_slice(payload);
        out
    }

    pub fn write_packet(&mut self, seq: u8, payload: &[u8]) {
        self.stream.write_all(&Self::frame(seq, payload)).unwrap();
    }

    /// The next packet: (sequence id, payload); `None` at end of stream.
    pub fn read_packet(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 4 {
                let len = usize::from(self.buf[0])
                    | usize::from(self.buf[1]) << 8
                    | usize::from(self.buf[2]) << 16;
                if self.buf.len() >= 4 + len {
                    let seq = self.buf[3];
                    let payload = self.buf[4..4 + len].to_vec();
                    self.buf.drain(..4 + len);
                    return Some((seq, payload));
                }
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads one text result set (without DEPRECATE_EOF): the rows' cells.
    pub fn read_result_set(&mut self) -> Vec<Vec<Option<String>>> {
        self.read_result_set_with_status().0
    }

    /// [`RawClient::read_result_set`], with the status flags of the EOF
    /// that ends the rows (SERVER_MORE_RESULTS_EXISTS says another result
    /// follows).
    pub fn read_result_set_with_status(&mut self) -> (Vec<Vec<Option<String>>>, u16) {
        let (_, first) = self.read_packet().unwrap();
        assert_ne!(first[0], 0xff, "ERR: {}", String::from_utf8_lossy(&first));
        let columns = usize::from(first[0]);
        for _ in 0..columns {
            self.read_packet().unwrap();
        }
        let (_, eof) = self.read_packet().unwrap();
        assert_eq!(eof[0], 0xfe);
        let mut rows = Vec::new();
        loop {
            let (_, p) = self.read_packet().unwrap();
            if p[0] == 0xfe && p.len() < 9 {
                // 0xfe, warnings (2), status flags (2).
                return (rows, u16::from_le_bytes([p[3], p[4]]));
            }
            let mut cells = Vec::new();
            let mut i = 0;
            while i < p.len() {
                if p[i] == 0xfb {
                    cells.push(None);
                    i += 1;
                } else {
                    let n = usize::from(p[i]);
                    cells.push(Some(
                        String::from_utf8_lossy(&p[i + 1..i + 1 + n]).into_owned(),
                    ));
                    i += 1 + n;
                }
            }
            rows.push(cells);
        }
    }
}
