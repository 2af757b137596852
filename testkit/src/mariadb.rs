//! Throwaway MariaDB servers.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::bins::{mariadb_bins, MariaDbBins};
use crate::escape::{my_ident, my_literal, url_component};
use crate::identity::running_as_root;
use crate::process::{log_contains, log_tail, run, Server, Started};
use crate::workdir::WorkDir;
use crate::{free_port, HarnessError};

const SERVER: &str = "MariaDB";
const HOST: &str = "127.0.0.1";
const USER: &str = "root";
const START_ATTEMPTS: u32 = 5;

/// How to start a [`MariaDbInstance`].
#[derive(Debug, Clone)]
pub struct MariaDbOptions {
    /// Password of `root`, the account tests log in as. Default
    /// `shardwire-secret`.
    pub password: String,
    /// Database created for tests. Default `shardwire`.
    pub database: String,
    /// `--max-connections`. Default 200, room for benchmarks.
    pub max_connections: u32,
    /// `--innodb-buffer-pool-size`. Default `32M`: many instances run at
    /// once.
    pub buffer_pool_size: String,
    /// Further `mariadbd` arguments, such as `--sql-mode=ANSI`, applied
    /// last. Default none.
    pub server_args: Vec<String>,
    /// How long a start may take before it fails. Default 30 s, generous
    /// because parallel test binaries share the CPUs.
    pub start_timeout: Duration,
}

impl Default for MariaDbOptions {
    fn default() -> Self {
        MariaDbOptions {
            password: "shardwire-secret".to_owned(),
            database: "shardwire".to_owned(),
            max_connections: 200,
            buffer_pool_size: "32M".to_owned(),
            server_args: Vec::new(),
            start_timeout: Duration::from_secs(30),
        }
    }
}

/// A MariaDB server of its own on a free 127.0.0.1 port, with a data
/// directory in a temp dir.
///
/// Dropping it stops the server and removes the directory, except when the
/// thread is panicking or `SHARDWIRE_KEEP_DB=1`: then the directory and log
/// path are printed to stderr and kept.
#[derive(Debug)]
pub struct MariaDbInstance {
    opts: MariaDbOptions,
    bins: MariaDbBins,
    as_root: bool,
    port: u16,
    server: Option<Server>,
    data_dir: PathBuf,
    socket: PathBuf,
    init_file: PathBuf,
    log_path: PathBuf,
    // Last, so the server is stopped before the directory goes.
    workdir: WorkDir,
}

impl MariaDbInstance {
    /// Starts a server with [`MariaDbOptions::default`].
    pub fn start() -> Result<MariaDbInstance, HarnessError> {
        Self::start_with(&MariaDbOptions::default())
    }

    /// Runs mariadb-install-db, then starts the server on a free port
    /// (retrying on a port race) with root's password and the database set
    /// by an init file.
    ///
    /// If this fails, the temp dir is kept and printed to stderr, since the
    /// error names the log in it.
    pub fn start_with(opts: &MariaDbOptions) -> Result<MariaDbInstance, HarnessError> {
        let bins = mariadb_bins()?;
        let workdir = WorkDir::create("shardwire-mariadb-")?;
        let mut instance = MariaDbInstance {
            opts: opts.clone(),
            bins,
            as_root: running_as_root(),
            port: 0,
            server: None,
            data_dir: workdir.path().join("data"),
            socket: workdir.socket_path("mariadbd.sock")?,
            init_file: workdir.path().join("init.sql"),
            log_path: workdir.path().join("mariadbd.log"),
            workdir,
        };
        let setup = instance
            .install_db()
            .and_then(|()| instance.start_on_free_port());
        match setup {
            Ok(()) => Ok(instance),
            Err(e) => {
                instance.workdir.keep();
                Err(e)
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &str {
        HOST
    }

    /// Always `root`: over TCP from 127.0.0.1 the server sees
    /// `root@localhost`, which has the password.
    pub fn user(&self) -> &str {
        USER
    }

    pub fn password(&self) -> &str {
        &self.opts.password
    }

    pub fn database(&self) -> &str {
        &self.opts.database
    }

    /// `mysql://root:password@127.0.0.1:port/database`.
    pub fn url(&self) -> String {
        format!(
            "mysql://{USER}:{}@{HOST}:{}/{}",
            url_component(&self.opts.password),
            self.port,
            url_component(&self.opts.database)
        )
    }

    /// `jdbc:mariadb://127.0.0.1:port/database`, without credentials.
    pub fn jdbc_url(&self) -> String {
        format!(
            "jdbc:mariadb://{HOST}:{}/{}",
            self.port,
            url_component(&self.opts.database)
        )
    }

    /// The server's error log, appended across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.log_path.clone()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `sql` as a script through the `mariadb` client over TCP with
    /// the password (`--batch --skip-column-names`, stopping at the first
    /// error) and returns stdout.
    pub fn mysql(&self, sql: &str) -> Result<String, HarnessError> {
        if self.server.is_none() {
            return Err(HarnessError::NotRunning {
                server: SERVER,
                port: self.port,
            });
        }
        run(&mut self.client(Some(&self.opts.database)), Some(sql), None)
    }

    pub fn create_database(&self, name: &str) -> Result<(), HarnessError> {
        self.mysql(&format!("CREATE DATABASE {};", my_ident(name)))
            .map(drop)
    }

    /// SIGKILL, as in a crash: clients see their connections drop and the
    /// next start runs InnoDB crash recovery.
    pub fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(&[]);
        }
    }

    /// Starts the server again on the same port and data directory,
    /// stopping it first if it is still running.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        match self.spawn_and_wait(self.port)? {
            Started::Ready => Ok(()),
            Started::PortInUse => Err(HarnessError::PortCollisions {
                server: SERVER,
                attempts: 1,
                log_path: self.log_path.clone(),
                log_tail: log_tail(&self.log_path, 0),
            }),
        }
    }

    fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(&[("TERM", Duration::from_secs(20))]);
        }
    }

    fn install_db(&self) -> Result<(), HarnessError> {
        let mut cmd = Command::new(&self.bins.install_db);
        // --no-defaults must come first; it keeps /etc/mysql (and the
        // system server's settings) out of our instance.
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            // The bootstrap server deletes every `#sql*` file in its tmpdir
            // when it starts; in the shared /tmp that breaks concurrent
            // installs (seen: "Unknown table 'mysql.tmp_user_sys'").
            .arg(format!("--tmpdir={}", self.workdir.path().display()))
            .args(self.innodb_args())
            .current_dir(self.workdir.path());
        if self.as_root {
            cmd.arg("--user=root");
        }
        run(&mut cmd, None, None)?;
        // Replayed at every start, so a restart keeps the same credentials.
        // 127.0.0.1 gets the password too: install-db creates that account
        // without one, and --skip-name-resolve in `server_args` would make
        // TCP clients land on it.
        let password = my_literal(&self.opts.password);
        let sql = format!(
            "ALTER USER 'root'@'localhost' IDENTIFIED BY {password};\n\
             CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n\
             ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY {password};\n\
             GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n\
             CREATE DATABASE IF NOT EXISTS {};\n",
            my_ident(&self.opts.database)
        );
        std::fs::write(&self.init_file, sql)
            .map_err(|e| HarnessError::io(format!("writing {}", self.init_file.display()), e))
    }

    /// Shared by install-db and the server so the redo log is created at
    /// the size the server expects instead of being resized at first start.
    fn innodb_args(&self) -> Vec<String> {
        vec![
            format!("--innodb-buffer-pool-size={}", self.opts.buffer_pool_size),
            "--innodb-log-file-size=16M".to_owned(),
            // The default 12M temp tablespace is written out at every start.
            "--innodb-temp-data-file-path=ibtmp1:1M:autoextend".to_owned(),
        ]
    }

    fn start_on_free_port(&mut self) -> Result<(), HarnessError> {
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            if self.spawn_and_wait(port)? == Started::Ready {
                return Ok(());
            }
        }
        Err(HarnessError::PortCollisions {
            server: SERVER,
            attempts: START_ATTEMPTS,
            log_path: self.log_path.clone(),
            log_tail: log_tail(&self.log_path, 0),
        })
    }

    fn spawn_and_wait(&mut self, port: u16) -> Result<Started, HarnessError> {
        self.port = port;
        let dir = self.workdir.path();
        let mut cmd = Command::new(&self.bins.server);
        // Without --log-error the server logs to stderr, which Server
        // appends to our log file: one file per instance, across restarts.
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--bind-address={HOST}"))
            .arg(format!("--socket={}", self.socket.display()))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            // Own tmpdir for the same reason as in install_db.
            .arg(format!("--tmpdir={}", dir.display()))
            .arg(format!("--init-file={}", self.init_file.display()))
            .arg(format!("--max-connections={}", self.opts.max_connections))
            .args(self.innodb_args())
            // Durability against OS crashes and replication buy nothing for
            // a database deleted after the test; the buffer pool dump only
            // slows stops. flush-log-at-trx-commit=2 writes the redo log to
            // the OS at each commit without syncing, so commits survive
            // `kill` (0 would lose up to a second of them).
            .args([
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=2",
                "--innodb-doublewrite=0",
                "--innodb-buffer-pool-dump-at-shutdown=0",
                "--innodb-buffer-pool-load-at-startup=0",
                // Matches the UTF8 PostgreSQL side; 10.11 defaults to latin1.
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
            ])
            .current_dir(dir);
        if self.as_root {
            cmd.arg("--user=root");
        }
        cmd.args(&self.opts.server_args);
        let mut server = Server::spawn(SERVER, cmd, &self.log_path)?;
        let offset = server.log_offset();
        let log_path = self.log_path.clone();
        let started = server.wait_ready(port, self.opts.start_timeout, || {
            // The server logs this after the init file has run and only if
            // it bound our port, so a probe cannot be answered by some other
            // server that won a port race.
            if !log_contains(&log_path, offset, "ready for connections") {
                return Ok(false);
            }
            TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                Duration::from_secs(2),
            )
            .map_err(|e| HarnessError::io(format!("connecting to {SERVER} on {HOST}:{port}"), e))?;
            // The real check: a password login over TCP.
            let mut ping = self.client(None);
            run(&mut ping, Some("SELECT 1;"), Some(&log_path))?;
            Ok(true)
        })?;
        if started == Started::Ready {
            self.server = Some(server);
        }
        Ok(started)
    }

    fn client(&self, database: Option<&str>) -> Command {
        let mut cmd = Command::new(&self.bins.client);
        cmd.arg("--no-defaults")
            .args(["--batch", "--skip-column-names", "--protocol=TCP"])
            .arg(format!("--host={HOST}"))
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={USER}"))
            .arg("--connect-timeout=10")
            .env("MYSQL_PWD", &self.opts.password);
        if let Some(db) = database {
            cmd.arg(format!("--database={db}"));
        }
        cmd
    }
}

impl Drop for MariaDbInstance {
    fn drop(&mut self) {
        self.stop();
        let log = self.log_path.clone();
        self.workdir.finish(SERVER, &log);
    }
}
