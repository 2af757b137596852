//! PostgreSQL's MD5 password scheme:
//! `"md5" + hex(md5(hex(md5(password + user)) + salt))`.
//!
//! Weak by today's standards; kept because older servers and some pools
//! still ask for it. Prefer SCRAM wherever both sides allow.

use md5::{Digest, Md5};

use super::{constant_time_eq, hex};

/// What pg_authid stores for an MD5 role: `"md5" + hex(md5(password + user))`.
pub fn md5_stored(user: &str, password: &str) -> String {
    let mut h = Md5::new();
    h.update(password.as_bytes());
    h.update(user.as_bytes());
    format!("md5{}", hex(&h.finalize()))
}

/// The PasswordMessage a client sends for AuthenticationMD5Password.
pub fn md5_response(user: &str, password: &str, salt: [u8; 4]) -> String {
    md5_response_from_stored(&md5_stored(user, password), salt)
}

/// The expected response computed from the stored hash alone, which is all a
/// server (or a proxy holding pg_authid-style secrets) has.
pub fn md5_response_from_stored(stored: &str, salt: [u8; 4]) -> String {
    let inner = stored.strip_prefix("md5").unwrap_or(stored);
    let mut h = Md5::new();
    h.update(inner.as_bytes());
    h.update(salt);
    format!("md5{}", hex(&h.finalize()))
}

/// Verifies a client's MD5 response against the stored hash.
pub fn verify_md5(stored: &str, salt: [u8; 4], response: &str) -> bool {
    constant_time_eq(
        md5_response_from_stored(stored, salt).as_bytes(),
        response.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python:
    //   inner = hashlib.md5(b"pencil" + b"user").hexdigest()
    //   "md5" + hashlib.md5(inner.encode() + bytes([1, 2, 3, 4])).hexdigest()
    const STORED: &str = "md520c46e3762c864548e296b33c3406aa9";
    const RESPONSE: &str = "md54376eb6913b38f9aaff38dc7cf19ca76";

    #[test]
    fn md5_matches_independent_computation() {
        assert_eq!(md5_stored("user", "pencil"), STORED);
        assert_eq!(md5_response("user", "pencil", [1, 2, 3, 4]), RESPONSE);
        assert!(verify_md5(STORED, [1, 2, 3, 4], RESPONSE));
        assert!(!verify_md5(STORED, [1, 2, 3, 5], RESPONSE));
    }
}
