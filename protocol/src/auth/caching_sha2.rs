//! caching_sha2_password (MySQL 8's default plugin).
//!
//! Fast auth: the client sends `SHA256(pw) XOR SHA256(SHA256(SHA256(pw))
//! || scramble)`; a server that has the account cached answers
//! AuthMoreData `0x03` then OK. Otherwise it answers `0x04` (full auth):
//! over TLS the client sends the cleartext password with a NUL; without
//! TLS it asks for the server's RSA public key (`0x02`), or already has
//! it, and sends `RSA-OAEP-SHA1(password || NUL, XOR-ed with the scramble
//! repeated)`.

use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::{Oaep, RsaPublicKey};
use sha2::{Digest, Sha256};

use super::constant_time_eq;
use crate::error::{ProtocolError, Result};

pub use rsa::RsaPrivateKey;

pub const PLUGIN_NAME: &str = "caching_sha2_password";

/// The client's request for the server's public key.
pub const REQUEST_PUBLIC_KEY: u8 = 0x02;
/// AuthMoreData: fast auth succeeded, an OK follows.
pub const FAST_AUTH_SUCCESS: u8 = 0x03;
/// AuthMoreData: the server needs the password (full auth).
pub const PERFORM_FULL_AUTHENTICATION: u8 = 0x04;

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The fast-auth answer to `scramble`; empty for an empty password.
pub fn scramble(password: &str, scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = sha256(&[password.as_bytes()]);
    let stage2 = sha256(&[&stage1]);
    let mask = sha256(&[&stage2, scramble]);
    stage1.iter().zip(mask).map(|(a, b)| a ^ b).collect()
}

/// Server side, knowing the cleartext password: checks a fast-auth answer.
pub fn verify(password: &str, scramble_bytes: &[u8], response: &[u8]) -> bool {
    constant_time_eq(&scramble(password, scramble_bytes), response)
}

/// What a client sends for full auth over TLS: the password and a NUL.
pub fn cleartext_response(password: &str) -> Vec<u8> {
    let mut v = password.as_bytes().to_vec();
    v.push(0);
    v
}

/// Server side of full auth over TLS: the password without its NUL.
pub fn parse_cleartext_response(response: &[u8]) -> Result<String> {
    let pw = response.strip_suffix(&[0]).unwrap_or(response);
    String::from_utf8(pw.to_vec())
        .map_err(|_| ProtocolError::Auth("cleartext password is not valid UTF-8".into()))
}

fn xor_with_scramble(data: &mut [u8], scramble: &[u8]) {
    if scramble.is_empty() {
        return;
    }
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= scramble[i % scramble.len()];
    }
}

/// Client side of full auth without TLS: encrypts the password with the
/// server's public key (PEM, as AuthMoreData carries it).
pub fn encrypt_password(public_key_pem: &[u8], password: &str, scramble: &[u8]) -> Result<Vec<u8>> {
    let pem = std::str::from_utf8(public_key_pem)
        .map_err(|_| ProtocolError::Auth("server public key is not valid PEM text".into()))?;
    let key = RsaPublicKey::from_public_key_pem(pem.trim_end_matches('\0'))
        .map_err(|e| ProtocolError::Auth(format!("cannot read the server's public key: {e}")))?;
    let mut data = cleartext_response(password);
    xor_with_scramble(&mut data, scramble);
    let mut rng = rsa::rand_core::OsRng;
    key.encrypt(&mut rng, Oaep::new::<sha1_oaep::Sha1>(), &data)
        .map_err(|e| ProtocolError::Auth(format!("RSA encryption of the password failed: {e}")))
}

/// Server side: a fresh key pair for full auth without TLS (MySQL uses
/// 2048 bits). Generating one takes a noticeable time: do it once at start.
pub fn generate_private_key(bits: usize) -> Result<RsaPrivateKey> {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|e| ProtocolError::Auth(format!("cannot generate an RSA key: {e}")))
}

/// Server side of full auth without TLS: the PEM a server sends when the
/// client asks for the public key.
pub fn public_key_pem(key: &RsaPrivateKey) -> Result<String> {
    RsaPublicKey::from(key)
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| ProtocolError::Auth(format!("cannot encode the public key: {e}")))
}

/// Server side of full auth without TLS: decrypts the client's answer
/// and returns the password.
pub fn decrypt_password(key: &RsaPrivateKey, ciphertext: &[u8], scramble: &[u8]) -> Result<String> {
    let mut data = key
        .decrypt(Oaep::new::<sha1_oaep::Sha1>(), ciphertext)
        .map_err(|_| ProtocolError::Auth("cannot decrypt the password".into()))?;
    xor_with_scramble(&mut data, scramble);
    parse_cleartext_response(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAMBLE: &[u8] = b"abcdefghijklmnopqrst";

    #[test]
    fn known_answer() {
        // Computed independently (Python hashlib).
        assert_eq!(
            super::super::hex(&scramble("shardwire-secret", SCRAMBLE)),
            "a26105dc01402e57d1fe1d2949d609fea00765a6ce12659941a36d389783e06a"
        );
        assert!(scramble("", SCRAMBLE).is_empty());
        assert!(verify(
            "shardwire-secret",
            SCRAMBLE,
            &scramble("shardwire-secret", SCRAMBLE)
        ));
        assert!(!verify(
            "other",
            SCRAMBLE,
            &scramble("shardwire-secret", SCRAMBLE)
        ));
    }

    #[test]
    fn cleartext_round_trip() {
        assert_eq!(cleartext_response("pw"), b"pw\0");
        assert_eq!(parse_cleartext_response(b"pw\0").unwrap(), "pw");
        assert!(parse_cleartext_response(&[0xff, 0]).is_err());
    }

    #[test]
    fn rsa_round_trip() {
        // Small key: generation in a debug build is slow, and the padding
        // logic under test does not depend on the size.
        let key = generate_private_key(1024).unwrap();
        let pem = public_key_pem(&key).unwrap();
        let ct = encrypt_password(pem.as_bytes(), "s3cret-pässword", SCRAMBLE).unwrap();
        assert_eq!(ct.len(), 128);
        assert_eq!(
            decrypt_password(&key, &ct, SCRAMBLE).unwrap(),
            "s3cret-pässword"
        );
        // The wrong scramble gives a different password, not a panic.
        assert!(decrypt_password(&key, &ct, b"x")
            .map(|p| p != "s3cret-pässword")
            .unwrap_or(true));
        assert!(encrypt_password(b"not a key", "pw", SCRAMBLE).is_err());
        assert!(decrypt_password(&key, b"garbage", SCRAMBLE).is_err());
    }
}
