//! py-opengauss, openGauss's own Python driver, through an openGauss
//! listener over two PostgreSQL shards: it logs in with SHA256 (protocol
//! 3.51), reads version() as openGauss, and runs the scenario of
//! tests/drivers/python/opengauss_scenario.py. The same script on a
//! passthrough database (one plain PostgreSQL, served through the same
//! listener) must print the same answers, and the sharded run's rows must
//! sit on the shards the rules name. A wrong password gets 28P01; a user
//! configured with MD5 logs in with MD5.
//!
//! py-opengauss is installed by scripts/install-drivers.sh; a missing driver
//! fails the test, it is never skipped.

// Test code: a panic is a failed test, and carries the driver's output.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use shardwire_testkit::free_port;

const DRIVERS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/drivers");
const MD5_USER: &str = "legacy";
const MD5_PASSWORD: &str = "legacy-secret";

/// A deployment of tests/support whose proxy also listens as openGauss.
fn start() -> (support::Deployment, u16) {
    let og_port = free_port().unwrap();
    let deployment = support::start_edited(|global| {
        global
            .replace(
                "listeners:\n",
                &format!("listeners:\n  - protocol: opengauss\n    address: 127.0.0.1:{og_port}\n"),
            )
            // A user whose authenticator is MD5: openGauss clients answer
            // PostgreSQL's MD5 request too.
            .replace(
                "  privilege:\n",
                &format!(
                    "    - user: {MD5_USER}@%\n      password: {MD5_PASSWORD}\n      \
                     authenticationMethodName: md5\n  authenticators:\n    md5:\n      \
                     type: MD5\n  privilege:\n"
                ),
            )
    });
    (deployment, og_port)
}

fn python() -> PathBuf {
    let python = Path::new(DRIVERS_DIR).join(".venv/bin/python");
    assert!(
        python.exists(),
        "the Python drivers are not installed: run scripts/install-drivers.sh"
    );
    python
}

/// Runs the script as the test user with `env`; its output, and whether it
/// exited 0.
fn script(port: u16, database: &str, password: &str, env: &[(&str, &str)]) -> (bool, String) {
    script_as(support::USER, port, database, password, env)
}

fn script_as(
    user: &str,
    port: u16,
    database: &str,
    password: &str,
    env: &[(&str, &str)],
) -> (bool, String) {
    let out = Command::new(python())
        .arg("python/opengauss_scenario.py")
        .current_dir(DRIVERS_DIR)
        .env("SW_HOST", "127.0.0.1")
        .env("SW_PORT", port.to_string())
        .env("SW_USER", user)
        .env("SW_PASSWORD", password)
        .env("SW_DATABASE", database)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn py_opengauss_scenario_matches_one_postgresql() {
    let (deployment, og_port) = start();
    let (ok, sharded) = script(
        og_port,
        "sharding_db",
        support::PASSWORD,
        &[("SW_EXPECT_OPENGAUSS", "1"), ("SW_KEEP", "1")],
    );
    assert!(
        ok,
        "through the openGauss listener:\n{sharded}\nproxy log:\n{}",
        deployment.proxy.log_tail()
    );
    let (ok, direct) = script(og_port, "direct", support::PASSWORD, &[]);
    assert!(
        ok,
        "through the passthrough database:\n{direct}\nproxy log:\n{}",
        deployment.proxy.log_tail()
    );
    assert_eq!(sharded, direct, "sharded and plain answers differ");
    assert!(sharded.contains("done: True"), "{sharded}");

    // The rows kept by the sharded run are where the rules put them:
    // ds_${user_id % 2}, t_order_${order_id % 2}.
    let counts: Vec<String> = deployment
        .shards
        .iter()
        .map(|shard| {
            shard
                .psql(
                    "SELECT (SELECT count(*) FROM t_order_0) || ',' || \
                     (SELECT count(*) FROM t_order_1)",
                )
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect();
    assert_eq!(counts, ["3,1", "1,3"], "rows per shard and table");
}

#[test]
fn md5_user_logs_in_over_the_opengauss_listener() {
    let (deployment, og_port) = start();
    let env = [("SW_MODE", "login")];
    let (ok, good) = script_as(MD5_USER, og_port, "sharding_db", MD5_PASSWORD, &env);
    assert!(
        ok && good.trim() == "login ok: 1",
        "{good}\nproxy log:\n{}",
        deployment.proxy.log_tail()
    );
    let (ok, bad) = script_as(MD5_USER, og_port, "sharding_db", "nope", &env);
    assert!(ok && bad.trim() == "login failed 28P01", "{bad}");
}

#[test]
fn sha256_login_takes_the_password_and_refuses_a_wrong_one() {
    let (deployment, og_port) = start();
    let env = [("SW_MODE", "login")];
    let (ok, good) = script(og_port, "sharding_db", support::PASSWORD, &env);
    assert!(ok && good.trim() == "login ok: 1", "{good}");
    let (ok, bad) = script(og_port, "sharding_db", "wrong-secret", &env);
    assert!(
        ok && bad.trim() == "login failed 28P01",
        "{bad}\nproxy log:\n{}",
        deployment.proxy.log_tail()
    );
}
