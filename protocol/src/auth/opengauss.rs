//! openGauss password authentication, both sides: the SHA256 exchange
//! (AuthenticationRequest code 10, an RFC 5802 style proof in one round
//! trip) and MD5_SHA256 (code 11). Plain MD5 (code 5) is PostgreSQL's and
//! lives in [`super::md5`].
//!
//! What openGauss servers send and check (cross-checked against the
//! openGauss JDBC driver and py-opengauss; see the tests):
//! - K = PBKDF2-HMAC-SHA1(password, hex-decoded 32-byte salt, iterations, 32).
//! - ServerKey = HMAC-SHA256(K, "Sever Key"). The misspelling is the
//!   protocol's own literal: every openGauss client uses it, and a "Server
//!   Key" derivation interoperates with none of them (the known-answer vector
//!   in PROTOCOL-NOTES uses the RFC spelling; a test pins both).
//! - ClientKey = HMAC-SHA256(K, "Client Key"); StoredKey = SHA256(ClientKey).
//! - Request body after code 10: int32 stored method (0 plain, 1 md5,
//!   2 sha256), then for 0/2 the salt as 64 hex chars and a token as 8 hex
//!   chars, then by protocol version: < 3.50 the server signature
//!   hex(HMAC(ServerKey, token)) as 64 hex chars; 3.50 nothing; 3.51 an int32
//!   iteration count. Before 3.51 the client assumes 2048 iterations.
//! - Client response: hex(HMAC(StoredKey, token) XOR ClientKey), 64 chars.
//!   The server recovers ClientKey by XOR and checks SHA256 of it against
//!   StoredKey, so it never needs the password.
//! - Method 1 (the server holds only an MD5 hash): a 4-byte salt follows, and
//!   the JDBC driver answers "sha256" + hex(SHA256(hex(MD5(password +
//!   user)) + salt)). py-opengauss answers with PostgreSQL's MD5 instead; we follow
//!   JDBC, the vendor's own driver. Our server side never sends method 1.
//! - Code 11 (MD5_SHA256): 64 hex salt chars and a 4-byte MD5 salt; the client
//!   answers "md5" + hex(MD5(salt_hex + hex(ServerKey) + hex(StoredKey) +
//!   md5salt)) with keys derived at 2048 iterations.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{constant_time_eq, hex, random_bytes};
use crate::error::{ProtocolError, Result};

/// AuthenticationRequest code of the SHA256 exchange (PostgreSQL's SASL code).
pub const AUTH_SHA256: i32 = 10;
/// AuthenticationRequest code of MD5_SHA256.
pub const AUTH_MD5_SHA256: i32 = 11;

/// password_stored_method values in a code 10 request.
pub const STORED_PLAIN: i32 = 0;
pub const STORED_MD5: i32 = 1;
pub const STORED_SHA256: i32 = 2;

/// Startup protocol versions openGauss adds to PostgreSQL's 3.0.
pub const PROTOCOL_VERSION_3_50: u32 = 0x0003_0032;
pub const PROTOCOL_VERSION_3_51: u32 = 0x0003_0033;

/// Iterations the key is derived with when none is configured (openGauss's
/// own auth_iteration_count default).
pub const DEFAULT_ITERATIONS: u32 = 10_000;
/// What clients of protocol < 3.51, and MD5_SHA256, assume: the count is not
/// on the wire there.
pub const LEGACY_ITERATIONS: u32 = 2048;
/// Refuse counts above this from a server: each iteration is two SHA1 HMAC
/// blocks, and a hostile backend could otherwise pin a core per login.
pub const MAX_ITERATIONS: u32 = 10_000_000;

const SERVER_KEY_LABEL: &[u8] = b"Sever Key";
const CLIENT_KEY_LABEL: &[u8] = b"Client Key";
const SALT_HEX_LEN: usize = 64;
const TOKEN_HEX_LEN: usize = 8;

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

fn malformed(reason: impl Into<String>) -> ProtocolError {
    ProtocolError::malformed(b'R', reason)
}

fn auth_err(reason: impl Into<String>) -> ProtocolError {
    ProtocolError::Auth(reason.into())
}

fn hmac256(key: &[u8], data: &[u8]) -> Result<[u8; 32]> {
    let mut m = HmacSha256::new_from_slice(key)
        .map_err(|_| ProtocolError::Internal("HMAC rejected a key"))?;
    m.update(data);
    Ok(m.finalize().into_bytes().into())
}

/// PBKDF2-HMAC-SHA1 with a 32-byte output (two SHA1 blocks, the second
/// truncated), written out so no PBKDF2 crate is pulled in.
pub fn pbkdf2_sha1_32(password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32]> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(auth_err(format!(
            "iteration count {iterations} is outside 1..={MAX_ITERATIONS}"
        )));
    }
    let keyed = HmacSha1::new_from_slice(password)
        .map_err(|_| ProtocolError::Internal("HMAC rejected a key"))?;
    let mut out = [0u8; 32];
    for (block, chunk) in (1u32..).zip(out.chunks_mut(20)) {
        let mut m = keyed.clone();
        m.update(salt);
        m.update(&block.to_be_bytes());
        let mut u: [u8; 20] = m.finalize().into_bytes().into();
        let mut acc = u;
        for _ in 1..iterations {
            let mut m = keyed.clone();
            m.update(&u);
            u = m.finalize().into_bytes().into();
            for (a, x) in acc.iter_mut().zip(u.iter()) {
                *a ^= x;
            }
        }
        chunk.copy_from_slice(&acc[..chunk.len()]);
    }
    Ok(out)
}

/// HMAC-SHA256(HMAC-SHA256(K, label), nonce): the server signature, with
/// the key label as a parameter only so the RFC-spelled published vector
/// can be checked against the same code path as the wire's "Sever Key".
pub fn server_signature_with_label(
    password: &str,
    salt: &[u8],
    iterations: u32,
    label: &[u8],
    nonce: &[u8],
) -> Result<[u8; 32]> {
    let k = pbkdf2_sha1_32(password.as_bytes(), salt, iterations)?;
    hmac256(&hmac256(&k, label)?, nonce)
}

pub(crate) fn unhex(s: &[u8], what: &str) -> Result<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !s.len().is_multiple_of(2) {
        return Err(malformed(format!("{what} has an odd number of hex digits")));
    }
    s.chunks(2)
        .map(|p| match (nibble(p[0]), nibble(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(malformed(format!("{what} is not hexadecimal"))),
        })
        .collect()
}

/// What a server keeps per user instead of the password, like openGauss's
/// stored "sha256" verifier: derived once, at login only HMACs remain.
#[derive(Clone, PartialEq, Eq)]
pub struct Sha256Secret {
    pub salt: [u8; 32],
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for Sha256Secret {
    // The keys let anyone impersonate the server: keep them out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sha256Secret")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// The keys derived from a password: (ClientKey, StoredKey, ServerKey).
fn derive_keys(password: &str, salt: &[u8], iterations: u32) -> Result<[[u8; 32]; 3]> {
    let k = pbkdf2_sha1_32(password.as_bytes(), salt, iterations)?;
    let client_key = hmac256(&k, CLIENT_KEY_LABEL)?;
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    Ok([client_key, stored_key, hmac256(&k, SERVER_KEY_LABEL)?])
}

impl Sha256Secret {
    pub fn derive(password: &str, salt: [u8; 32], iterations: u32) -> Result<Self> {
        let [_, stored_key, server_key] = derive_keys(password, &salt, iterations)?;
        Ok(Sha256Secret {
            salt,
            iterations,
            stored_key,
            server_key,
        })
    }

    /// With a fresh random salt, as openGauss does when a password is set.
    pub fn new_random(password: &str, iterations: u32) -> Result<Self> {
        Self::derive(password, random_bytes()?, iterations)
    }
}

/// Which tail a code 10 request carries, by the startup protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sha256Tail {
    /// Protocol < 3.50: the server signature; iterations are 2048.
    ServerSignature,
    /// Protocol 3.50: nothing; iterations are 2048.
    Nothing,
    /// Protocol 3.51 and later: int32 iteration count.
    Iterations,
}

impl Sha256Tail {
    /// The tail a session of startup version `version` uses.
    pub fn for_version(version: u32) -> Self {
        if version < PROTOCOL_VERSION_3_50 {
            Sha256Tail::ServerSignature
        } else if version == PROTOCOL_VERSION_3_50 {
            Sha256Tail::Nothing
        } else {
            Sha256Tail::Iterations
        }
    }
}

/// One server-side SHA256 challenge: encode it, then verify the answer.
#[derive(Debug)]
pub struct Sha256Challenge {
    secret: Sha256Secret,
    token: [u8; 4],
    tail: Sha256Tail,
}

impl Sha256Challenge {
    /// A challenge with a random token. Before 3.51 the client cannot be told
    /// the iteration count and assumes 2048, so a secret derived with another
    /// count is refused by name rather than failing every login.
    pub fn new(secret: Sha256Secret, tail: Sha256Tail) -> Result<Self> {
        Self::with_token(secret, tail, random_bytes()?)
    }

    pub fn with_token(secret: Sha256Secret, tail: Sha256Tail, token: [u8; 4]) -> Result<Self> {
        if tail != Sha256Tail::Iterations && secret.iterations != LEGACY_ITERATIONS {
            return Err(auth_err(format!(
                "openGauss protocol before 3.51 implies {LEGACY_ITERATIONS} iterations, \
                 the stored key has {}",
                secret.iterations
            )));
        }
        Ok(Sha256Challenge {
            secret,
            token,
            tail,
        })
    }

    /// The AuthenticationRequest body after the int32 code 10.
    pub fn request_data(&self) -> Result<Vec<u8>> {
        let mut d = Vec::with_capacity(4 + SALT_HEX_LEN + TOKEN_HEX_LEN + SALT_HEX_LEN);
        d.extend_from_slice(&STORED_SHA256.to_be_bytes());
        d.extend_from_slice(hex(&self.secret.salt).as_bytes());
        d.extend_from_slice(hex(&self.token).as_bytes());
        match self.tail {
            Sha256Tail::ServerSignature => {
                let sig = hmac256(&self.secret.server_key, &self.token)?;
                d.extend_from_slice(hex(&sig).as_bytes());
            }
            Sha256Tail::Nothing => {}
            Sha256Tail::Iterations => {
                let n = i32::try_from(self.secret.iterations)
                    .map_err(|_| auth_err("iteration count does not fit an int32"))?;
                d.extend_from_slice(&n.to_be_bytes());
            }
        }
        Ok(d)
    }

    /// Checks the client's PasswordMessage, in constant time.
    pub fn verify(&self, response: &str) -> bool {
        let Ok(proof) = unhex(response.as_bytes(), "SHA256 response") else {
            return false;
        };
        let Ok(mask) = hmac256(&self.secret.stored_key, &self.token) else {
            return false;
        };
        if proof.len() != mask.len() {
            return false;
        }
        let client_key: Vec<u8> = proof.iter().zip(mask.iter()).map(|(p, m)| p ^ m).collect();
        let hashed: [u8; 32] = Sha256::digest(&client_key).into();
        constant_time_eq(&hashed, &self.secret.stored_key)
    }
}

/// One server-side MD5_SHA256 (code 11) challenge.
#[derive(Debug)]
pub struct Md5Sha256Challenge {
    secret: Sha256Secret,
    md5_salt: [u8; 4],
}

impl Md5Sha256Challenge {
    /// Clients derive the keys at 2048 iterations here, whatever the server
    /// uses elsewhere, so the secret must have been derived at 2048.
    pub fn new(secret: Sha256Secret) -> Result<Self> {
        Self::with_salt(secret, random_bytes()?)
    }

    pub fn with_salt(secret: Sha256Secret, md5_salt: [u8; 4]) -> Result<Self> {
        if secret.iterations != LEGACY_ITERATIONS {
            return Err(auth_err(format!(
                "MD5_SHA256 implies {LEGACY_ITERATIONS} iterations, the stored key has {}",
                secret.iterations
            )));
        }
        Ok(Md5Sha256Challenge { secret, md5_salt })
    }

    /// The AuthenticationRequest body after the int32 code 11.
    pub fn request_data(&self) -> Vec<u8> {
        let mut d = hex(&self.secret.salt).into_bytes();
        d.extend_from_slice(&self.md5_salt);
        d
    }

    pub fn verify(&self, response: &str) -> bool {
        let expected = md5_sha256_from_keys(
            &hex(&self.secret.salt),
            &self.secret.server_key,
            &self.secret.stored_key,
            self.md5_salt,
        );
        constant_time_eq(expected.as_bytes(), response.as_bytes())
    }
}

fn md5_sha256_from_keys(salt_hex: &str, server: &[u8], stored: &[u8], md5_salt: [u8; 4]) -> String {
    let mut h = Md5::new();
    h.update(salt_hex.as_bytes());
    h.update(hex(server).as_bytes());
    h.update(hex(stored).as_bytes());
    h.update(md5_salt);
    format!("md5{}", hex(&h.finalize()))
}

/// A code 10 request as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sha256Request {
    Sha256 {
        salt: Vec<u8>,
        /// As sent: the proof is keyed on the decoded bytes.
        token: Vec<u8>,
        iterations: u32,
        /// Present before 3.50: checked before answering.
        server_signature: Option<Vec<u8>>,
    },
    Md5 {
        salt: [u8; 4],
    },
}

impl Sha256Request {
    /// Parses the body after the int32 code 10. `version` is the startup
    /// version this client sent: it alone says which tail follows.
    pub fn decode(data: &[u8], version: u32) -> Result<Self> {
        let take = |at: usize, n: usize, what: &str| -> Result<&[u8]> {
            data.get(at..at + n).ok_or_else(|| {
                malformed(format!(
                    "SHA256 request truncated in the {what}: {} bytes",
                    data.len()
                ))
            })
        };
        let method = i32::from_be_bytes(
            take(0, 4, "stored method")?
                .try_into()
                .map_err(|_| ProtocolError::Internal("slice of 4 is not 4 bytes"))?,
        );
        let end = match method {
            STORED_MD5 => {
                let s = take(4, 4, "MD5 salt")?;
                let req = Sha256Request::Md5 {
                    salt: [s[0], s[1], s[2], s[3]],
                };
                (req, 8)
            }
            STORED_PLAIN | STORED_SHA256 => {
                let salt = unhex(take(4, SALT_HEX_LEN, "salt")?, "salt")?;
                let token = unhex(take(68, TOKEN_HEX_LEN, "token")?, "token")?;
                let at = 4 + SALT_HEX_LEN + TOKEN_HEX_LEN;
                let (iterations, server_signature, end) = match Sha256Tail::for_version(version) {
                    Sha256Tail::ServerSignature => {
                        let sig = unhex(take(at, 64, "server signature")?, "server signature")?;
                        (LEGACY_ITERATIONS, Some(sig), at + 64)
                    }
                    Sha256Tail::Nothing => (LEGACY_ITERATIONS, None, at),
                    Sha256Tail::Iterations => {
                        let raw = take(at, 4, "iteration count")?;
                        let n = i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
                        let n = u32::try_from(n)
                            .ok()
                            .filter(|n| (1..=MAX_ITERATIONS).contains(n))
                            .ok_or_else(|| {
                                malformed(format!(
                                    "iteration count {n} is outside 1..={MAX_ITERATIONS}"
                                ))
                            })?;
                        (n, None, at + 4)
                    }
                };
                let req = Sha256Request::Sha256 {
                    salt,
                    token,
                    iterations,
                    server_signature,
                };
                (req, end)
            }
            other => {
                return Err(auth_err(format!(
                    "server asks for openGauss password stored method {other}; \
                     only plain (0), md5 (1) and sha256 (2) exist"
                )))
            }
        };
        if data.len() != end.1 {
            return Err(malformed(format!(
                "SHA256 request has {} trailing bytes",
                data.len() - end.1
            )));
        }
        Ok(end.0)
    }

    /// The PasswordMessage a client sends.
    pub fn respond(&self, user: &str, password: &str) -> Result<String> {
        match self {
            Sha256Request::Md5 { salt } => {
                let inner = hex(&Md5::digest(
                    [password.as_bytes(), user.as_bytes()].concat(),
                ));
                let mut h = Sha256::new();
                h.update(inner.as_bytes());
                h.update(salt);
                Ok(format!("sha256{}", hex(&h.finalize())))
            }
            Sha256Request::Sha256 {
                salt,
                token,
                iterations,
                server_signature,
            } => {
                let [client_key, stored_key, server_key] =
                    derive_keys(password, salt, *iterations)?;
                if let Some(sig) = server_signature {
                    // A server that cannot sign does not know the password:
                    // it may be an impostor, so give it no proof.
                    if !constant_time_eq(&hmac256(&server_key, token)?, sig) {
                        return Err(auth_err(
                            "openGauss server signature does not match the password",
                        ));
                    }
                }
                let mask = hmac256(&stored_key, token)?;
                let proof: Vec<u8> = mask
                    .iter()
                    .zip(client_key.iter())
                    .map(|(m, c)| m ^ c)
                    .collect();
                Ok(hex(&proof))
            }
        }
    }
}

/// The PasswordMessage answering an MD5_SHA256 (code 11) request body.
pub fn md5_sha256_response(data: &[u8], password: &str) -> Result<String> {
    if data.len() != SALT_HEX_LEN + 4 {
        return Err(malformed(format!(
            "MD5_SHA256 request body is {} bytes, expected {}",
            data.len(),
            SALT_HEX_LEN + 4
        )));
    }
    let (salt_hex, md5_salt) = data.split_at(SALT_HEX_LEN);
    let salt = unhex(salt_hex, "salt")?;
    let salt_hex =
        std::str::from_utf8(salt_hex).map_err(|_| ProtocolError::Internal("hex is ASCII"))?;
    let [_, stored, server] = derive_keys(password, &salt, LEGACY_ITERATIONS)?;
    let md5_salt = [md5_salt[0], md5_salt[1], md5_salt[2], md5_salt[3]];
    Ok(md5_sha256_from_keys(salt_hex, &server, &stored, md5_salt))
}

#[cfg(test)]
#[path = "opengauss_tests.rs"]
mod tests;
