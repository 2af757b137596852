//! mysql_native_password: the client proves it knows the password with
//! `SHA1(password) XOR SHA1(scramble || SHA1(SHA1(password)))`; the server
//! stores only `SHA1(SHA1(password))`.

use sha1::{Digest, Sha1};

use super::constant_time_eq;

pub const PLUGIN_NAME: &str = "mysql_native_password";

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The client's answer to `scramble` (the 20-byte nonce of the handshake
/// or of an AuthSwitchRequest). An empty password answers with nothing,
/// which is how servers recognise accounts without one.
pub fn scramble(password: &str, scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = sha1(&[password.as_bytes()]);
    let stage2 = sha1(&[&stage1]);
    let mask = sha1(&[scramble, &stage2]);
    stage1.iter().zip(mask).map(|(a, b)| a ^ b).collect()
}

/// What the server stores: `SHA1(SHA1(password))`.
pub fn stored_hash(password: &str) -> [u8; 20] {
    sha1(&[&sha1(&[password.as_bytes()])])
}

/// The `*HEX` form `PASSWORD()` and `mysql.user` show.
pub fn password_hash_string(password: &str) -> String {
    format!("*{}", super::hex(&stored_hash(password)).to_uppercase())
}

/// Server side, knowing the cleartext password: checks a client's answer.
pub fn verify(password: &str, scramble_bytes: &[u8], response: &[u8]) -> bool {
    constant_time_eq(&scramble(password, scramble_bytes), response)
}

/// Server side, knowing only the stored hash: recovers `SHA1(password)`
/// from the answer and checks that it hashes to the stored value.
pub fn verify_with_stored_hash(stored: &[u8; 20], scramble_bytes: &[u8], response: &[u8]) -> bool {
    if response.len() != 20 {
        return false;
    }
    let mask = sha1(&[scramble_bytes, stored]);
    let stage1: Vec<u8> = response.iter().zip(mask).map(|(a, b)| a ^ b).collect();
    constant_time_eq(&sha1(&[&stage1]), stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers computed independently (Python hashlib).
    const SCRAMBLE: &[u8] = b"abcdefghijklmnopqrst";

    #[test]
    fn known_answer() {
        let got = scramble("shardwire-secret", SCRAMBLE);
        assert_eq!(
            super::super::hex(&got),
            "47c855f7521f7449433d1f9933e42649a9de1111"
        );
        assert_eq!(
            password_hash_string("shardwire-secret"),
            "*9216EF545184C635EA5228E85E99D9434A35AF05"
        );
        assert!(scramble("", SCRAMBLE).is_empty());
    }

    #[test]
    fn server_side_checks() {
        let resp = scramble("pw", SCRAMBLE);
        assert!(verify("pw", SCRAMBLE, &resp));
        assert!(!verify("pW", SCRAMBLE, &resp));
        assert!(!verify("pw", b"other-scramble-bytes", &resp));
        let stored = stored_hash("pw");
        assert!(verify_with_stored_hash(&stored, SCRAMBLE, &resp));
        assert!(!verify_with_stored_hash(&stored_hash("x"), SCRAMBLE, &resp));
        assert!(!verify_with_stored_hash(&stored, SCRAMBLE, &resp[..19]));
        assert!(verify("", SCRAMBLE, b""));
    }
}
