//! The Shardwire proxy itself as a child process, for end-to-end tests.
//!
//! The binary path is an argument because only the root package's tests get
//! `env!("CARGO_BIN_EXE_shardwire")`; the harness cannot find it alone.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{log_tail, Server, Started};
use crate::workdir::WorkDir;
use crate::HarnessError;

const SERVER: &str = "Shardwire";

/// ShardingSphere's default when global.yaml names no port.
const DEFAULT_PORT: u16 = 3307;

/// How to start a [`ShardwireProcess`].
#[derive(Debug, Clone)]
pub struct ShardwireOptions {
    /// How long the listener may take to accept TCP. Default 15 s.
    pub start_timeout: Duration,
    /// Extra environment for the proxy, e.g. `RUST_LOG`. Default none.
    pub env: Vec<(String, String)>,
}

impl Default for ShardwireOptions {
    fn default() -> Self {
        ShardwireOptions {
            start_timeout: Duration::from_secs(15),
            env: Vec::new(),
        }
    }
}

/// `shardwire serve --config <dir>` running as our child, its stdout and
/// stderr appended to a log file in a temp dir.
///
/// Dropping it stops the proxy (SIGTERM, then SIGKILL) and removes the log,
/// except when the thread is panicking or `SHARDWIRE_KEEP_DB=1`: then the
/// log's path and tail go to stderr and the file is kept.
#[derive(Debug)]
pub struct ShardwireProcess {
    server: Option<Server>,
    addr: SocketAddr,
    log_path: PathBuf,
    // Last, so the proxy is stopped before its log goes.
    workdir: WorkDir,
}

impl ShardwireProcess {
    /// Starts `binary serve --config config_dir` with default options.
    pub fn start(binary: &Path, config_dir: &Path) -> Result<ShardwireProcess, HarnessError> {
        Self::start_with(binary, config_dir, &ShardwireOptions::default())
    }

    /// Starts the proxy and waits until the first listener of the config's
    /// global.yaml accepts TCP. Fails with the proxy's log tail if it exits
    /// first or is not listening within the timeout.
    pub fn start_with(
        binary: &Path,
        config_dir: &Path,
        opts: &ShardwireOptions,
    ) -> Result<ShardwireProcess, HarnessError> {
        let addr = listener_address(config_dir)?;
        let mut workdir = WorkDir::create("shardwire-proxy-")?;
        let log_path = workdir.path().join("shardwire.log");
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .arg("--config")
            .arg(config_dir)
            .current_dir(workdir.path())
            .envs(opts.env.iter().map(|(k, v)| (k, v)));
        let mut server = match Server::spawn(SERVER, cmd, &log_path) {
            Ok(server) => server,
            Err(e) => {
                workdir.keep();
                return Err(e);
            }
        };
        let started = server.wait_ready(addr.port(), opts.start_timeout, || {
            Ok(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok())
        });
        match started {
            Ok(Started::Ready) => Ok(ShardwireProcess {
                server: Some(server),
                addr,
                log_path,
                workdir,
            }),
            // The port comes from the caller's config, so there is nothing
            // to retry with: say so, with the proxy's own words.
            Ok(Started::PortInUse) => {
                workdir.keep();
                Err(HarnessError::PortCollisions {
                    server: SERVER,
                    attempts: 1,
                    log_tail: log_tail(&log_path, server.log_offset()),
                    log_path,
                })
            }
            Err(e) => {
                workdir.keep();
                Err(e)
            }
        }
    }

    /// Where clients connect: the listener address, with an unspecified
    /// host (`0.0.0.0`) replaced by loopback.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The proxy's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last lines of the log, for a failing test's message.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path, 0)
    }

    /// The most memory the proxy has held so far (VmHWM, bytes), read
    /// from /proc; `None` when it is not running or /proc says nothing.
    pub fn peak_rss(&self) -> Option<u64> {
        let pid = self.server.as_ref()?.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Whether the proxy is still running (it may have crashed mid-test).
    pub fn is_running(&mut self) -> bool {
        self.server.as_mut().is_some_and(Server::is_running)
    }
}

impl Drop for ShardwireProcess {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            // SIGTERM asks for a draining shutdown; a test does not wait
            // long for it.
            server.stop(&[("TERM", Duration::from_secs(5))]);
        }
        if std::thread::panicking() {
            eprintln!(
                "shardwire-testkit: Shardwire log {} ends with:\n{}",
                self.log_path.display(),
                self.log_tail()
            );
        }
        let log = self.log_path.clone();
        self.workdir.finish(SERVER, &log);
    }
}

/// The first listener's address in `config_dir/global.yaml`: the first
/// `address: host:port` line (a `listeners:` entry), else
/// `proxy-default-port` on 127.0.0.1, else 3307. Read as text rather than
/// YAML: the harness stays free of the rules crate, and test configs are
/// written by tests.
fn listener_address(config_dir: &Path) -> Result<SocketAddr, HarnessError> {
    let path = config_dir.join("global.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
    let bad = |line: &str| {
        HarnessError::io(
            format!(
                "{}: cannot read a listener address from `{}`",
                path.display(),
                line.trim()
            ),
            std::io::ErrorKind::InvalidData.into(),
        )
    };
    let value = |line: &str, key: &str| -> Option<String> {
        let rest = line.trim().trim_start_matches("- ").trim_start();
        let value = rest.strip_prefix(key)?.trim();
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_owned())
    };
    for line in text.lines() {
        if let Some(address) = value(line, "address:") {
            let resolved = address
                .to_socket_addrs()
                .ok()
                .and_then(|mut addrs| addrs.next())
                .ok_or_else(|| bad(line))?;
            return Ok(reachable(resolved));
        }
    }
    for line in text.lines() {
        if let Some(port) = value(line, "proxy-default-port:") {
            let port: u16 = port.parse().map_err(|_| bad(line))?;
            return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }
    Ok(SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))
}

/// A listener on every interface is reached over loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// Makes the proxy of `config_dir` offer TLS: a self-signed certificate
/// for `localhost` (made with the `openssl` command) is written next to
/// global.yaml, and its `props:` section is pointed at it. global.yaml must
/// already have a `props:` section.
pub fn enable_frontend_tls(config_dir: &Path) -> Result<(), HarnessError> {
    let args = [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
    ];
    let out = Command::new("openssl")
        .args(args)
        .current_dir(config_dir)
        .output()
        .map_err(|e| HarnessError::io("running openssl to make a test certificate", e))?;
    if !out.status.success() {
        return Err(HarnessError::CommandFailed {
            command: format!("openssl {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            log: String::new(),
        });
    }
    let global = config_dir.join("global.yaml");
    let text = std::fs::read_to_string(&global)
        .map_err(|e| HarnessError::io(format!("reading {}", global.display()), e))?;
    if !text.contains("props:\n") {
        return Err(HarnessError::Internal(format!(
            "{} has no props: section to add the certificate to",
            global.display()
        )));
    }
    let text = text.replace(
        "props:\n",
        "props:\n  proxy-frontend-ssl-cert: cert.pem\n  proxy-frontend-ssl-key: key.pem\n",
    );
    std::fs::write(&global, text)
        .map_err(|e| HarnessError::io(format!("writing {}", global.display()), e))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    fn config(global: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("global.yaml"), global).unwrap();
        dir
    }

    #[test]
    fn address_comes_from_the_first_listener() {
        let dir = config(
            "props:\n  proxy-default-port: 4000\nlisteners:\n  - protocol: postgresql\n    address: 0.0.0.0:6543\n  - protocol: mysql\n    address: 127.0.0.1:6544\n",
        );
        assert_eq!(
            listener_address(dir.path()).unwrap(),
            "127.0.0.1:6543".parse().unwrap()
        );
    }

    #[test]
    fn address_falls_back_to_the_default_port_prop_then_3307() {
        let dir = config("props:\n  proxy-default-port: 4000\n");
        assert_eq!(listener_address(dir.path()).unwrap().port(), 4000);
        let dir = config("props:\n  sql-show: true\n");
        assert_eq!(listener_address(dir.path()).unwrap().port(), DEFAULT_PORT);
    }

    #[test]
    fn a_bad_address_is_an_error_naming_the_line() {
        let dir = config("listeners:\n  - protocol: postgresql\n    address: nowhere\n");
        let text = listener_address(dir.path()).unwrap_err().to_string();
        assert!(text.contains("address: nowhere"), "{text}");
    }

    /// An executable script standing in for the proxy binary.
    fn fake_proxy(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("fake-shardwire");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// The test holds the listener and the stand-in only sleeps: what is
    /// under test is the harness, which must see the port accept, report
    /// ready, keep the output, and stop the child on drop.
    #[test]
    fn start_waits_for_the_port_and_drop_stops_the_process() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let dir = config(&format!(
            "listeners:\n  - protocol: postgresql\n    address: 127.0.0.1:{port}\n"
        ));
        let script = fake_proxy(dir.path(), "echo \"started with $*\"\nexec sleep 30");

        let mut proxy = ShardwireProcess::start(&script, dir.path()).unwrap();
        assert_eq!(proxy.port(), port);
        assert!(proxy.is_running());
        // The echo may land just after the port check; poll briefly.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !proxy.log_tail().contains("serve --config") {
            assert!(std::time::Instant::now() < deadline, "{}", proxy.log_tail());
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = proxy.log_path().to_owned();
        drop(proxy);
        assert!(!log.exists(), "the log of a passing run is removed");
    }

    #[test]
    fn a_proxy_that_exits_fails_the_start_with_its_output() {
        let port = crate::free_port().unwrap();
        let dir = config(&format!(
            "listeners:\n  - protocol: postgresql\n    address: 127.0.0.1:{port}\n"
        ));
        let script = fake_proxy(dir.path(), "echo 'bad rule in database-x.yaml' >&2\nexit 1");

        let text = ShardwireProcess::start(&script, dir.path())
            .unwrap_err()
            .to_string();
        assert!(text.contains("Shardwire exited"), "{text}");
        assert!(text.contains("bad rule in database-x.yaml"), "{text}");
    }
}
