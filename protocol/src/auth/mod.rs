//! Authentication crypto for PostgreSQL: SCRAM-SHA-256 (both sides), MD5
//! and cleartext; for openGauss: SHA256 and MD5_SHA256 (both sides); and for MySQL: mysql_native_password and
//! caching_sha2_password (both sides, RSA full auth included). Pure functions and small state machines: no I/O, so the
//! frontend (verifying clients) and the backend (logging in to servers)
//! drive them from their own session loops.

pub mod caching_sha2;
pub mod md5;
pub mod mysql_native;
pub mod opengauss;
pub mod scram;

/// Compares secrets in time independent of where they first differ, so a
/// client cannot learn a password or key byte by byte from response timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Checks a cleartext PasswordMessage against the expected password.
pub fn verify_cleartext(expected: &str, received: &str) -> bool {
    constant_time_eq(expected.as_bytes(), received.as_bytes())
}

pub(crate) fn random_bytes<const N: usize>() -> crate::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(crate::ProtocolError::Random)?;
    Ok(buf)
}
