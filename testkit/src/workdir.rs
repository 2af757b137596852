//! Per-instance temporary directories that survive a failed test.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::HarnessError;

/// Unix socket paths longer than this do not fit `sun_path` (108 bytes on
/// Linux, less elsewhere); servers then fail with obscure errors.
const MAX_SOCKET_PATH: usize = 100;

/// A unique directory under `SHARDWIRE_TEST_TMP` (or the system temp dir)
/// holding one server's data, socket and log.
#[derive(Debug)]
pub(crate) struct WorkDir {
    dir: Option<TempDir>,
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    pub(crate) fn create(prefix: &str) -> Result<WorkDir, HarnessError> {
        let base = match std::env::var_os("SHARDWIRE_TEST_TMP") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::temp_dir(),
        };
        std::fs::create_dir_all(&base)
            .map_err(|e| HarnessError::io(format!("creating {}", base.display()), e))?;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&base)
            .map_err(|e| {
                HarnessError::io(format!("creating a temp dir in {}", base.display()), e)
            })?;
        let path = dir.path().to_owned();
        Ok(WorkDir {
            dir: Some(dir),
            path,
            keep: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `path/name`, refused early if too long to be a unix socket.
    pub(crate) fn socket_path(&self, name: &str) -> Result<PathBuf, HarnessError> {
        let socket = self.path.join(name);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(HarnessError::io(
                format!(
                    "socket path {} is too long for a unix socket; set SHARDWIRE_TEST_TMP to a shorter directory",
                    socket.display()
                ),
                std::io::ErrorKind::InvalidInput.into(),
            ));
        }
        Ok(socket)
    }

    /// Keeps the directory at [`WorkDir::finish`]: a failed start's error
    /// names the log, which must still be there when someone reads it.
    pub(crate) fn keep(&mut self) {
        self.keep = true;
    }

    /// Removes the directory, unless [`WorkDir::keep`] was called, the current thread is panicking (a
    /// failing test) or `SHARDWIRE_KEEP_DB=1`: then it is kept and named on
    /// stderr with the log, since the log is what explains the failure.
    pub(crate) fn finish(&mut self, what: &str, log: &Path) {
        let Some(dir) = self.dir.take() else {
            return;
        };
        let keep_requested = std::env::var("SHARDWIRE_KEEP_DB").is_ok_and(|v| v == "1");
        if self.keep || std::thread::panicking() || keep_requested {
            let path = dir.keep();
            eprintln!(
                "shardwire-testkit: kept {what} dir {} (log {})",
                path.display(),
                log.display()
            );
        } else if let Err(e) = dir.close() {
            eprintln!(
                "shardwire-testkit: could not remove {what} dir {}: {e}",
                self.path.display()
            );
        }
    }
}
