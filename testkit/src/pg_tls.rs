//! Certificates for a PostgreSQL instance that accepts only TLS over TCP:
//! a CA of its own and a server certificate it signed, for `localhost`
//! only, so a client checking the name against 127.0.0.1 fails while one
//! checking only the chain succeeds.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::HarnessError;
use crate::identity::OsUser;
use crate::process::run;

/// The files made; `ca` is what a client names as its root certificate.
#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), HarnessError> {
    run(
        Command::new("openssl").args(args).current_dir(dir),
        None,
        None,
    )
    .map(drop)
}

/// Makes the CA and the server's key and certificate in `dir`; the key
/// is made the server's own (`run_as`) with mode 0600, as PostgreSQL asks.
pub(crate) fn make(dir: &Path, run_as: Option<OsUser>) -> Result<TlsFiles, HarnessError> {
    let subj_ca = "/CN=shardwire-test-ca";
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subj_ca,
            "-keyout", "ca.key", "-out", "ca.pem",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .map_err(|e| HarnessError::io("writing server.ext", e))?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    )?;
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| HarnessError::io("chmod server.key", e))?;
    if let Some(user) = run_as {
        for f in [&files.cert, &files.key] {
            chown(f, Some(user.uid), Some(user.gid))
                .map_err(|e| HarnessError::io(format!("chown {}", f.display()), e))?;
        }
    }
    Ok(files)
}
