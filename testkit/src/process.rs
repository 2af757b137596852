//! Running CLI tools and owning a server child process.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::HarnessError;

/// How often readiness and exit are polled; short because a start is
/// expected to take well under a second.
const POLL: Duration = Duration::from_millis(10);

/// How many log lines an error carries.
const TAIL_LINES: usize = 40;

/// `program arg arg` for error messages. Passwords travel in the
/// environment (`PGPASSWORD`, `MYSQL_PWD`), never in arguments, so this is
/// safe to print.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs a command to completion, feeding `stdin` if given, and returns its
/// stdout. A non-zero exit becomes [`HarnessError::CommandFailed`] with
/// stderr and, if given, the server log tail.
pub(crate) fn run(
    cmd: &mut Command,
    stdin: Option<&str>,
    server_log: Option<&Path>,
) -> Result<String, HarnessError> {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HarnessError::io(format!("spawning `{}`", describe(cmd)), e))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A client that exits early closes the pipe; its exit status and
        // stderr then say why, so a write error adds nothing. Scripts here
        // are small, so writing before reading output cannot deadlock on
        // full pipes in practice.
        let _ = pipe.write_all(input.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| HarnessError::io(format!("waiting for `{}`", describe(cmd)), e))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if stderr.trim().is_empty() {
        // Some tools (mariadb-install-db) report on stdout.
        stderr = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    Err(HarnessError::CommandFailed {
        command: describe(cmd),
        status: output.status.to_string(),
        stderr,
        log: server_log
            .map(|p| format!("\nserver log {}:\n{}", p.display(), log_tail(p, 0)))
            .unwrap_or_default(),
    })
}

/// The last lines of a log written after byte `from`, or a note saying why
/// there is none.
pub(crate) fn log_tail(path: &Path, from: u64) -> String {
    match read_from(path, from) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(TAIL_LINES);
            lines[start..].join("\n")
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}

fn read_from(path: &Path, from: u64) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether the server wrote `needle` after byte `from` (its start on this
/// run: logs are appended across restarts).
pub(crate) fn log_contains(path: &Path, from: u64, needle: &str) -> bool {
    read_from(path, from).is_ok_and(|text| text.contains(needle))
}

/// What one start attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Started {
    Ready,
    /// Someone else bound the port between `free_port` and the server's
    /// bind: the caller retries with another port.
    PortInUse,
}

/// A server child process owned by the harness, its output appended to a
/// log file.
#[derive(Debug)]
pub(crate) struct Server {
    name: &'static str,
    child: Option<Child>,
    log_path: PathBuf,
    /// Log length when this child was spawned.
    log_offset: u64,
}

impl Server {
    /// The child's process id while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn spawn(
        name: &'static str,
        mut cmd: Command,
        log_path: &Path,
    ) -> Result<Server, HarnessError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| HarnessError::io(format!("opening {}", log_path.display()), e))?;
        let log_offset = log
            .metadata()
            .map_err(|e| HarnessError::io(format!("stat {}", log_path.display()), e))?
            .len();
        let err_log = log
            .try_clone()
            .map_err(|e| HarnessError::io(format!("duplicating {}", log_path.display()), e))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .map_err(|e| HarnessError::io(format!("spawning `{}`", describe(&cmd)), e))?;
        Ok(Server {
            name,
            child: Some(child),
            log_path: log_path.to_owned(),
            log_offset,
        })
    }

    pub(crate) fn log_offset(&self) -> u64 {
        self.log_offset
    }

    pub(crate) fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Polls `probe` until it says ready, the child exits, or `timeout`
    /// passes. `probe` returns `Ok(false)` for "not yet" and an error to
    /// give up at once. On any failure the child is killed.
    pub(crate) fn wait_ready(
        &mut self,
        port: u16,
        timeout: Duration,
        mut probe: impl FnMut() -> Result<bool, HarnessError>,
    ) -> Result<Started, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                if log_contains(&self.log_path, self.log_offset, "Address already in use") {
                    return Ok(Started::PortInUse);
                }
                return Err(HarnessError::ServerExited {
                    server: self.name,
                    status,
                    log_path: self.log_path.clone(),
                    log_tail: log_tail(&self.log_path, self.log_offset),
                });
            }
            match probe() {
                // Checked again after the probe: a server that lost the port
                // race exits at once, and the probe may have reached the
                // process that won it.
                Ok(true) if self.is_running() => return Ok(Started::Ready),
                Ok(true) | Ok(false) => {}
                Err(e) => {
                    self.kill_now();
                    return Err(e);
                }
            }
            if Instant::now() >= deadline {
                self.kill_now();
                return Err(HarnessError::StartTimeout {
                    server: self.name,
                    port,
                    timeout,
                    log_path: self.log_path.clone(),
                    log_tail: log_tail(&self.log_path, self.log_offset),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// `Some(status)` once the child has exited (and been reaped).
    fn exit_status(&mut self) -> Result<Option<String>, HarnessError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(Some("not running".to_owned()));
        };
        match child.try_wait() {
            Ok(Some(status)) => Ok(Some(status.to_string())),
            Ok(None) => Ok(None),
            Err(e) => Err(HarnessError::io(format!("waiting for {}", self.name), e)),
        }
    }

    /// Sends each signal in turn, waiting up to its grace period for the
    /// child to exit, then SIGKILLs whatever is left and reaps it.
    pub(crate) fn stop(&mut self, signals: &[(&str, Duration)]) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        for (signal, grace) in signals {
            // The child is not reaped until `wait` below, so its pid cannot
            // have been reused by another process.
            let sent = Command::new("kill")
                .args(["-s", signal, &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if sent && wait_timeout(&mut child, *grace) {
                return;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn kill_now(&mut self) {
        self.stop(&[]);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Owners stop with their own signals first; this only catches early
        // returns so that no server outlives its handle.
        self.kill_now();
    }
}

/// Waits up to `grace` for the child to exit; true if it did.
fn wait_timeout(child: &mut Child, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => thread::sleep(POLL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_command_names_itself_and_keeps_stderr() {
        let err = run(
            Command::new("sh").args(["-c", "cat >&2; exit 3"]),
            Some("boom"),
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sh -c"), "{text}");
        assert!(text.contains("boom"), "{text}");
    }

    #[test]
    fn tail_keeps_the_last_lines_after_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let body: String = (0..100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &body).unwrap();
        let tail = log_tail(&path, 0);
        assert!(tail.ends_with("line 99"));
        assert!(!tail.contains("line 59\n"));
        assert!(log_contains(&path, 0, "line 3"));
        assert!(!log_contains(&path, body.len() as u64, "line"));
    }
}
