//! Throwaway PostgreSQL servers.

use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::bins::{pg_bins, PgBins};
use crate::escape::{pg_ident, pg_literal, url_component};
use crate::identity::{lookup_user, running_as_root, OsUser};
use crate::process::{describe, log_tail, run, Server, Started};
use crate::workdir::WorkDir;
use crate::{free_port, HarnessError};

const SERVER: &str = "PostgreSQL";
const HOST: &str = "127.0.0.1";
const START_ATTEMPTS: u32 = 5;

/// The unix socket stays trusted so the harness can set the password up;
/// TCP needs SCRAM so tests exercise real authentication.
const PG_HBA: &str = "\
# Written by shardwire-testkit.
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
";

/// With [`PgOptions::tls`]: TCP logins only under TLS.
const PG_HBA_TLS: &str = "\
# Written by shardwire-testkit.
local     all all trust
hostssl   all all 127.0.0.1/32 scram-sha-256
hostnossl all all 127.0.0.1/32 reject
";

/// How to start a [`PgInstance`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Superuser that tests log in as over TCP with a SCRAM password; also
    /// the bootstrap superuser of the cluster. Default `shardwire`.
    pub user: String,
    /// Its password. Default `shardwire-secret`.
    pub password: String,
    /// Database created for tests. Default `shardwire`.
    pub database: String,
    /// `max_connections`. Default 200, room for benchmarks.
    pub max_connections: u32,
    /// `shared_buffers`. Default `16MB`: many instances run at once.
    pub shared_buffers: String,
    /// Further `-c name=value` server settings, applied last. Default none.
    pub settings: Vec<(String, String)>,
    /// How long a start may take before it fails. Default 30 s, generous
    /// because parallel test binaries share the CPUs.
    pub start_timeout: Duration,
    /// Accept TCP logins only under TLS, with a certificate for
    /// `localhost` signed by a CA of the instance's own
    /// ([`PgInstance::tls_root_cert`]). Default false.
    pub tls: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            user: "shardwire".to_owned(),
            password: "shardwire-secret".to_owned(),
            database: "shardwire".to_owned(),
            max_connections: 200,
            shared_buffers: "16MB".to_owned(),
            settings: Vec::new(),
            start_timeout: Duration::from_secs(30),
            tls: false,
        }
    }
}

/// A PostgreSQL server of its own on a free 127.0.0.1 port, with a data
/// directory in a temp dir.
///
/// Dropping it stops the server (fast shutdown) and removes the directory,
/// except when the thread is panicking or `SHARDWIRE_KEEP_DB=1`: then the
/// directory and log path are printed to stderr and kept.
#[derive(Debug)]
pub struct PgInstance {
    opts: PgOptions,
    bins: PgBins,
    /// `Some` when we are root: initdb and postgres refuse to run as root.
    run_as: Option<OsUser>,
    port: u16,
    server: Option<Server>,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// The certificates, with [`PgOptions::tls`].
    tls: Option<crate::pg_tls::TlsFiles>,
    // Last, so the server is stopped before the directory goes.
    workdir: WorkDir,
}

impl PgInstance {
    /// Starts a server with [`PgOptions::default`].
    pub fn start() -> Result<PgInstance, HarnessError> {
        Self::start_with(&PgOptions::default())
    }

    /// Runs initdb, starts the server on a free port (retrying on a port
    /// race), and creates the user's password and database.
    ///
    /// If this fails, the temp dir is kept and printed to stderr, since the
    /// error names the log in it.
    pub fn start_with(opts: &PgOptions) -> Result<PgInstance, HarnessError> {
        let bins = pg_bins()?;
        let run_as = if running_as_root() {
            Some(lookup_user("postgres")?)
        } else {
            None
        };
        let workdir = WorkDir::create("shardwire-pg-")?;
        if let Some(user) = run_as {
            chown(workdir.path(), Some(user.uid), Some(user.gid)).map_err(|e| {
                HarnessError::io(format!("chown postgres {}", workdir.path().display()), e)
            })?;
        }
        let mut instance = PgInstance {
            opts: opts.clone(),
            bins,
            run_as,
            port: 0,
            server: None,
            data_dir: workdir.path().join("data"),
            log_path: workdir.path().join("postgres.log"),
            tls: None,
            workdir,
        };
        let setup = instance
            .make_tls_files()
            .and_then(|()| instance.initdb())
            .and_then(|()| instance.start_on_free_port())
            .and_then(|()| instance.create_user_and_database());
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

    pub fn user(&self) -> &str {
        &self.opts.user
    }

    pub fn password(&self) -> &str {
        &self.opts.password
    }

    pub fn database(&self) -> &str {
        &self.opts.database
    }

    /// `postgres://user:password@127.0.0.1:port/database`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@{HOST}:{}/{}",
            url_component(&self.opts.user),
            url_component(&self.opts.password),
            self.port,
            url_component(&self.opts.database)
        )
    }

    /// `jdbc:postgresql://127.0.0.1:port/database`, without credentials.
    pub fn jdbc_url(&self) -> String {
        format!(
            "jdbc:postgresql://{HOST}:{}/{}",
            self.port,
            url_component(&self.opts.database)
        )
    }

    /// The server's stderr, appended across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.log_path.clone()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `sql` as a script through `psql` over TCP with the password
    /// (each statement its own transaction, stopping at the first error) and
    /// returns stdout: unaligned, tuples only.
    pub fn psql(&self, sql: &str) -> Result<String, HarnessError> {
        self.ensure_running()?;
        self.run_psql(HOST, &self.opts.database, sql, None)
    }

    pub fn create_database(&self, name: &str) -> Result<(), HarnessError> {
        self.psql(&format!("CREATE DATABASE {};", pg_ident(name)))
            .map(drop)
    }

    /// Immediate shutdown (SIGQUIT), as after a crash: clients see their
    /// connections drop and the next start runs crash recovery. SIGKILL
    /// would orphan the backends, which keep the shared memory and stop a
    /// restart.
    pub fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(&[("QUIT", Duration::from_secs(10))]);
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
            // SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would
            // wait for every client, such as a test's idle pool, to leave.
            server.stop(&[
                ("INT", Duration::from_secs(10)),
                ("QUIT", Duration::from_secs(5)),
            ]);
        }
    }

    fn ensure_running(&self) -> Result<(), HarnessError> {
        match self.server {
            Some(_) => Ok(()),
            None => Err(HarnessError::NotRunning {
                server: SERVER,
                port: self.port,
            }),
        }
    }

    /// A command that runs as `postgres` when we are root, inside the
    /// work dir (the caller's cwd may not be readable by `postgres`).
    fn server_command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.workdir.path());
        // Setting the ids in the child instead of wrapping in `runuser`
        // keeps the server our direct child: runuser forks and stays as
        // the parent, so killing our child would orphan the postmaster.
        if let Some(user) = self.run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd
    }

    fn make_tls_files(&mut self) -> Result<(), HarnessError> {
        if self.opts.tls {
            self.tls = Some(crate::pg_tls::make(self.workdir.path(), self.run_as)?);
        }
        Ok(())
    }

    /// The CA that signed the server's certificate, with [`PgOptions::tls`].
    pub fn tls_root_cert(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca.as_path())
    }

    fn initdb(&self) -> Result<(), HarnessError> {
        let mut cmd = self.server_command(&self.bins.initdb);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-U", &self.opts.user])
            .args(["-A", "trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"]);
        run(&mut cmd, None, None).map_err(|e| match (e, self.run_as) {
            (
                HarnessError::CommandFailed {
                    command,
                    status,
                    stderr,
                    log,
                },
                Some(_),
            ) => {
                HarnessError::CommandFailed {
                    command,
                    status,
                    // The usual cause as root: a SHARDWIRE_TEST_TMP that the
                    // postgres account cannot enter.
                    stderr: format!(
                        "{stderr}(runs as OS user postgres, which must be able to reach {})\n",
                        self.workdir.path().display()
                    ),
                    log,
                }
            }
            (e, _) => e,
        })?;
        // Overwriting keeps initdb's owner and 0600 mode on the file.
        let hba = self.data_dir.join("pg_hba.conf");
        let hba_text = if self.tls.is_some() {
            PG_HBA_TLS
        } else {
            PG_HBA
        };
        std::fs::write(&hba, hba_text)
            .map_err(|e| HarnessError::io(format!("writing {}", hba.display()), e))
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
        let socket_dir = self.workdir.path().to_owned();
        // Fail early with a clear message rather than a server-side one.
        self.workdir.socket_path(&format!(".s.PGSQL.{port}"))?;
        let mut cmd = self.server_command(&self.bins.postgres);
        cmd.arg("-D").arg(&self.data_dir);
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), HOST.into()),
            ("port".into(), port.to_string()),
            (
                "unix_socket_directories".into(),
                socket_dir.display().to_string(),
            ),
            (
                "max_connections".into(),
                self.opts.max_connections.to_string(),
            ),
            ("shared_buffers".into(), self.opts.shared_buffers.clone()),
            // Durability against OS crashes buys nothing for a database
            // deleted after the test. synchronous_commit stays on: commits
            // must survive `kill` (a process crash), which only needs the
            // WAL written to the OS, not synced.
            ("fsync".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("logging_collector".into(), "off".into()),
        ];
        if let Some(tls) = &self.tls {
            settings.push(("ssl".into(), "on".into()));
            settings.push(("ssl_cert_file".into(), tls.cert.display().to_string()));
            settings.push(("ssl_key_file".into(), tls.key.display().to_string()));
        }
        settings.extend(self.opts.settings.iter().cloned());
        for (name, value) in &settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        let mut server = Server::spawn(SERVER, cmd, &self.log_path)?;
        let pid_file = self.data_dir.join("postmaster.pid");
        let isready = self.bins.pg_isready.clone();
        let started = server.wait_ready(port, self.opts.start_timeout, || {
            // postmaster.pid says "ready" only once our postmaster accepts
            // connections, so a probe cannot be answered by some other
            // server that won a port race.
            if !postmaster_ready(&pid_file) {
                return Ok(false);
            }
            let mut probe = Command::new(&isready);
            probe.args(["-q", "-h", HOST, "-p", &port.to_string(), "-t", "2"]);
            Ok(probe
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| HarnessError::io(format!("spawning `{}`", describe(&probe)), e))?
                .success())
        })?;
        if started == Started::Ready {
            self.server = Some(server);
        }
        Ok(started)
    }

    fn create_user_and_database(&self) -> Result<(), HarnessError> {
        let mut sql = format!(
            "ALTER ROLE {} PASSWORD {};\n",
            pg_ident(&self.opts.user),
            pg_literal(&self.opts.password)
        );
        if !["postgres", "template0", "template1"].contains(&self.opts.database.as_str()) {
            sql.push_str(&format!(
                "CREATE DATABASE {};\n",
                pg_ident(&self.opts.database)
            ));
        }
        let socket_dir = self.workdir.path().display().to_string();
        self.run_psql(&socket_dir, "postgres", &sql, Some(&self.log_path))
            .map(drop)
    }

    /// `-f -` reads a script from stdin: unlike `-c`, it does not wrap
    /// several statements in one transaction, which CREATE DATABASE refuses.
    fn run_psql(
        &self,
        host: &str,
        database: &str,
        sql: &str,
        server_log: Option<&Path>,
    ) -> Result<String, HarnessError> {
        let mut cmd = Command::new(&self.bins.psql);
        cmd.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", host, "-p", &self.port.to_string()])
            .args(["-U", &self.opts.user, "-d", database, "-f", "-"])
            .env("PGPASSWORD", &self.opts.password)
            .env("PGCONNECT_TIMEOUT", "10");
        run(&mut cmd, Some(sql), server_log)
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        self.stop();
        let log = self.log_path.clone();
        self.workdir.finish(SERVER, &log);
    }
}

/// Line 8 of postmaster.pid is the postmaster's status (PostgreSQL 10+).
fn postmaster_ready(pid_file: &Path) -> bool {
    std::fs::read_to_string(pid_file)
        .is_ok_and(|text| text.lines().nth(7).is_some_and(|s| s.trim() == "ready"))
}
