//! Who we run as, and the OS account PostgreSQL must run as when that is root.

use std::process::Command;

use crate::HarnessError;

/// Numeric ids of an OS account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OsUser {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// Whether the effective uid is 0.
///
/// Read from `/proc/self/status` rather than `geteuid()` because the
/// workspace denies `unsafe_code`; `id -u` is the fallback off Linux.
pub(crate) fn running_as_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(euid) = effective_uid_from_status(&status) {
            return euid == 0;
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The second field of the `Uid:` line (real, effective, saved, fs).
fn effective_uid_from_status(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Looks an account up through NSS (`getent`), so it works wherever `id`
/// would, not only with a flat `/etc/passwd`.
pub(crate) fn lookup_user(name: &str) -> Result<OsUser, HarnessError> {
    let output = Command::new("getent")
        .args(["passwd", name])
        .output()
        .map_err(|e| HarnessError::io(format!("running `getent passwd {name}`"), e))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_passwd_line(text.trim()).ok_or_else(|| HarnessError::OsUser {
        user: name.to_owned(),
        reason: "no such account (the `postgresql` package creates it)".to_owned(),
    })
}

fn parse_passwd_line(line: &str) -> Option<OsUser> {
    let mut fields = line.split(':');
    let uid = fields.nth(2)?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    Some(OsUser { uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_effective_uid() {
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n";
        assert_eq!(effective_uid_from_status(status), Some(0));
    }

    #[test]
    fn parses_passwd_line() {
        let line = "postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash";
        assert_eq!(parse_passwd_line(line), Some(OsUser { uid: 101, gid: 104 }));
        assert_eq!(parse_passwd_line(""), None);
    }
}
