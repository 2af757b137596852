//! Real PostgreSQL drivers through Shardwire: psql, psycopg 3, psycopg2,
//! asyncpg, pg8000, node-postgres, postgres.js, pgjdbc and tokio-postgres
//! each run the scenario of tests/drivers/README.md against a proxy over two
//! PostgreSQL shards (rule: tests/drivers/conf/), one test per driver, each
//! with its own shards and proxy so they run in parallel.
//!
//! `SW_DRIVERS_DIRECT=1` runs the same scenarios against one plain
//! PostgreSQL database instead; it proves the scripts right, so that a
//! failure through the proxy is the proxy's. A driver that is not installed
//! fails its test (run scripts/install-drivers.sh), it is never skipped.

// Test code: a panic is a failed test, and carries the driver's output.
#![allow(clippy::unwrap_used)]

#[path = "drivers/rust/tokio_postgres.rs"]
mod tokio_postgres_scenario;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shardwire_testkit::{
    free_port, pg_shards_with, HarnessError, PgInstance, PgOptions, ShardwireOptions,
    ShardwireProcess,
};

const DRIVERS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/drivers");
const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";
/// The proxy's own login, distinct from the shards' so that a proxy which
/// passed client credentials through would fail.
const PROXY_USER: &str = "driver";
const PROXY_PASSWORD: &str = "driver-secret";
/// Far above a scenario's few seconds; only a hang gets here.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);
const INSTALL_HINT: &str = "run scripts/install-drivers.sh";

#[test]
fn psql() {
    let bash = on_path("bash");
    require(on_path_opt("psql"), "psql");
    run_script("psql", bash, &["psql/run.sh"]);
}

#[test]
fn psycopg3() {
    run_script("psycopg3", venv_python(), &["python/psycopg3_scenario.py"]);
}

#[test]
fn psycopg2() {
    run_script("psycopg2", venv_python(), &["python/psycopg2_scenario.py"]);
}

#[test]
fn asyncpg() {
    run_script("asyncpg", venv_python(), &["python/asyncpg_scenario.py"]);
}

#[test]
fn pg8000() {
    run_script("pg8000", venv_python(), &["python/pg8000_scenario.py"]);
}

#[test]
fn node_postgres() {
    run_script("node_pg", node(), &["node/pg_scenario.js"]);
}

#[test]
fn postgres_js() {
    run_script("postgresjs", node(), &["node/postgresjs_scenario.js"]);
}

#[test]
fn pgjdbc() {
    let java = require(on_path_opt("java"), "java (default-jdk-headless)");
    require(
        Some(PathBuf::from(PGJDBC_JAR)).filter(|p| p.exists()),
        "pgjdbc (libpostgresql-jdbc-java)",
    );
    run_script("pgjdbc", java, &["-cp", PGJDBC_JAR, "java/Scenario.java"]);
}

#[test]
fn tokio_postgres() {
    let target = Target::start("tokio_postgres");
    let settings = tokio_postgres_scenario::Settings {
        host: target.host(),
        port: target.port(),
        user: target.user().to_owned(),
        password: target.password().to_owned(),
        database: target.database().to_owned(),
        prefix: target.prefix.clone(),
        direct: target.is_direct(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut report = tokio_postgres_scenario::Report::default();
    let outcome = runtime.block_on(async {
        tokio::time::timeout(
            SCRIPT_TIMEOUT,
            tokio_postgres_scenario::run(&settings, &mut report),
        )
        .await
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => panic!("{failure}{}", target.proxy_hint()),
        Err(_) => panic!(
            "tokio-postgres scenario still running after {SCRIPT_TIMEOUT:?}{}",
            target.proxy_hint()
        ),
    }
    target.check_shards();
}

/// Where a scenario connects: a proxy over two fresh shards, or (direct
/// mode) one fresh PostgreSQL. Dropping it stops them all.
struct Target {
    prefix: String,
    // Field order is drop order: the proxy goes before its shards.
    proxy: Option<ShardwireProcess>,
    shards: Vec<PgInstance>,
    conf: Option<tempfile::TempDir>,
}

impl Drop for Target {
    fn drop(&mut self) {
        // The filled rules belong with the kept logs of a failed test.
        if let Some(conf) = self.conf.take() {
            if std::thread::panicking() {
                eprintln!(
                    "pg_drivers: kept the proxy's conf dir {}",
                    conf.keep().display()
                );
            }
        }
    }
}

impl Target {
    fn start(driver: &str) -> Target {
        let prefix = format!("{driver}_");
        if direct_mode() {
            let shards = vec![PgInstance::start().unwrap()];
            return Target {
                prefix,
                proxy: None,
                shards,
                conf: None,
            };
        }
        // Every statement in the shards' logs, so check_shards can see
        // where the proxy sent them.
        let opts = PgOptions {
            settings: vec![("log_statement".to_owned(), "all".to_owned())],
            ..Default::default()
        };
        let shards = pg_shards_with(2, &opts).unwrap();
        let conf = tempfile::tempdir().unwrap();
        let proxy = start_proxy(&shards, &prefix, conf.path());
        Target {
            prefix,
            proxy: Some(proxy),
            shards,
            conf: Some(conf),
        }
    }

    fn is_direct(&self) -> bool {
        self.proxy.is_none()
    }

    fn host(&self) -> String {
        match &self.proxy {
            Some(proxy) => proxy.host(),
            None => self.shards[0].host().to_owned(),
        }
    }

    fn port(&self) -> u16 {
        match &self.proxy {
            Some(proxy) => proxy.port(),
            None => self.shards[0].port(),
        }
    }

    fn user(&self) -> &str {
        match self.proxy {
            Some(_) => PROXY_USER,
            None => self.shards[0].user(),
        }
    }

    fn password(&self) -> &str {
        match self.proxy {
            Some(_) => PROXY_PASSWORD,
            None => self.shards[0].password(),
        }
    }

    fn database(&self) -> &str {
        match self.proxy {
            Some(_) => "sharding_db",
            None => self.shards[0].database(),
        }
    }

    /// The scenario's settings as the scripts read them.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SW_HOST", self.host()),
            ("SW_PORT", self.port().to_string()),
            ("SW_USER", self.user().to_owned()),
            ("SW_PASSWORD", self.password().to_owned()),
            ("SW_DATABASE", self.database().to_owned()),
            ("SW_PREFIX", self.prefix.clone()),
            (
                "SW_DIRECT",
                if self.is_direct() { "1" } else { "0" }.to_owned(),
            ),
        ]
    }

    /// Where to look when a scenario fails through the proxy.
    fn proxy_hint(&self) -> String {
        match &self.proxy {
            Some(proxy) => format!(
                "\n(Shardwire log {}; shard logs {})",
                proxy.log_path().display(),
                self.shards
                    .iter()
                    .map(|s| s.log_path().display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => String::new(),
        }
    }

    /// After a passing scenario through the proxy: the statements really
    /// were spread over both shards and all four tables (a proxy sending
    /// everything to one database would pass the scenario itself), and the
    /// closing DROPs reached every shard.
    fn check_shards(&self) {
        if self.is_direct() {
            return;
        }
        let p = &self.prefix;
        for (i, shard) in self.shards.iter().enumerate() {
            let log = std::fs::read_to_string(shard.log_path()).unwrap();
            for table in [format!("{p}orders_0"), format!("{p}orders_1")] {
                assert!(
                    log.contains(&table),
                    "ds_{i} never saw a statement on {table}{}",
                    self.proxy_hint()
                );
            }
            assert!(
                log.contains(&format!("{p}regions")),
                "ds_{i} never saw the broadcast table {p}regions{}",
                self.proxy_hint()
            );
            let left = shard
                .psql(
                    "SELECT string_agg(tablename, ', ') FROM pg_tables WHERE schemaname = 'public'",
                )
                .unwrap();
            assert_eq!(
                left.trim(),
                "",
                "ds_{i} still has tables after the scenario's DROPs{}",
                self.proxy_hint()
            );
        }
    }
}

fn direct_mode() -> bool {
    std::env::var("SW_DRIVERS_DIRECT").is_ok_and(|v| v == "1")
}

/// Writes the conf templates for these shards and starts the proxy on a
/// free port, with a new port if another process took it first.
fn start_proxy(shards: &[PgInstance], prefix: &str, conf: &Path) -> ShardwireProcess {
    let binary = Path::new(env!("CARGO_BIN_EXE_shardwire"));
    let mut last = None;
    for _ in 0..3 {
        let port = free_port().unwrap();
        let vars = conf_vars(
            port,
            shards[0].port(),
            shards[0].database(),
            shards[1].port(),
            shards[1].database(),
            shards[0].user(),
            shards[0].password(),
            prefix,
        );
        write_conf(conf, &vars);
        let opts = ShardwireOptions {
            env: vec![("RUST_LOG".to_owned(), "info".to_owned())],
            ..Default::default()
        };
        match ShardwireProcess::start_with(binary, conf, &opts) {
            Ok(proxy) => return proxy,
            Err(e @ HarnessError::PortCollisions { .. }) => last = Some(e),
            Err(e) => panic!(
                "starting Shardwire with the rules in {}: {e}",
                conf.display()
            ),
        }
    }
    panic!("starting Shardwire: {}", last.unwrap());
}

#[allow(clippy::too_many_arguments)]
fn conf_vars(
    proxy_port: u16,
    ds0_port: u16,
    ds0_database: &str,
    ds1_port: u16,
    ds1_database: &str,
    backend_user: &str,
    backend_password: &str,
    prefix: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("PROXY_USER", PROXY_USER.to_owned()),
        ("PROXY_PASSWORD", PROXY_PASSWORD.to_owned()),
        ("PROXY_PORT", proxy_port.to_string()),
        ("DS0_PORT", ds0_port.to_string()),
        ("DS0_DATABASE", ds0_database.to_owned()),
        ("DS1_PORT", ds1_port.to_string()),
        ("DS1_DATABASE", ds1_database.to_owned()),
        ("BACKEND_USER", backend_user.to_owned()),
        ("BACKEND_PASSWORD", backend_password.to_owned()),
        ("PREFIX", prefix.to_owned()),
    ]
}

/// tests/drivers/conf/*.yaml with `vars` filled in, written into `conf`.
fn write_conf(conf: &Path, vars: &[(&str, String)]) {
    for file in ["global.yaml", "database-sharding.yaml"] {
        let template =
            std::fs::read_to_string(Path::new(DRIVERS_DIR).join("conf").join(file)).unwrap();
        std::fs::write(conf.join(file), fill(&template, vars)).unwrap();
    }
}

/// Replaces each `{{NAME}}`; a placeholder left over is a template and
/// test out of step, so it fails loudly.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in vars {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(!text.contains("{{"), "unfilled placeholder in:\n{text}");
    text
}

/// Runs one scenario script as a subprocess in tests/drivers and fails the
/// test with its output unless it exits 0.
fn run_script(driver: &str, program: PathBuf, args: &[&str]) {
    let target = Target::start(driver);
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().join("output");
    let out = File::create(&out_path).unwrap();
    let mut child = Command::new(&program)
        .args(args)
        .current_dir(DRIVERS_DIR)
        .envs(target.env())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}; {INSTALL_HINT}", program.display()));
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    match status {
        Some(status) if status.success() => {
            // Shown with --nocapture; kept short otherwise.
            println!("{output}");
        }
        Some(status) => panic!(
            "{driver} scenario failed ({status}):\n{output}{}",
            target.proxy_hint()
        ),
        None => panic!(
            "{driver} scenario still running after {SCRIPT_TIMEOUT:?}, killed:\n{output}{}",
            target.proxy_hint()
        ),
    }
    target.check_shards();
}

fn venv_python() -> PathBuf {
    let python = Path::new(DRIVERS_DIR).join(".venv/bin/python");
    require(
        Some(python).filter(|p| p.exists()),
        "the Python drivers (tests/drivers/.venv)",
    )
}

fn node() -> PathBuf {
    let node = require(on_path_opt("node"), "node");
    let modules = Path::new(DRIVERS_DIR).join("node/node_modules");
    require(
        Some(modules.join("pg")).filter(|p| p.exists()),
        "node-postgres (tests/drivers/node/node_modules)",
    );
    require(
        Some(modules.join("postgres")).filter(|p| p.exists()),
        "postgres.js (tests/drivers/node/node_modules)",
    );
    node
}

fn require(found: Option<PathBuf>, what: &str) -> PathBuf {
    found.unwrap_or_else(|| panic!("{what} is not installed: {INSTALL_HINT}"))
}

fn on_path(name: &str) -> PathBuf {
    require(on_path_opt(name), name)
}

fn on_path_opt(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[test]
fn fill_replaces_every_placeholder_and_refuses_leftovers() {
    let vars = [("A", "1".to_owned()), ("B", "x".to_owned())];
    assert_eq!(fill("{{A}}:{{B}}/{{A}}", &vars), "1:x/1");
    let leftover = std::panic::catch_unwind(|| fill("{{A}} {{C}}", &vars));
    assert!(leftover.is_err());
}

/// The filled rule files load: tables named with the prefix, both data
/// sources, the key generator. Needs no database, so it runs in every mode.
#[test]
fn filled_conf_passes_shardwire_check() {
    let conf = tempfile::tempdir().unwrap();
    let vars = conf_vars(
        6432,
        5001,
        "shardwire",
        5002,
        "shardwire",
        "shardwire",
        "pw",
        "asyncpg_",
    );
    write_conf(conf.path(), &vars);
    let out = Command::new(env!("CARGO_BIN_EXE_shardwire"))
        .args(["check", "--config"])
        .arg(conf.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "\"asyncpg_orders\"",
        "ds_0.asyncpg_orders_0",
        "ds_1.asyncpg_orders_1",
        "asyncpg_regions",
        "SNOWFLAKE",
    ] {
        assert!(stdout.contains(needle), "{needle} not in:\n{stdout}");
    }
}
