//! SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it.
//!
//! Scope and choices:
//! - No channel binding: we never offer SCRAM-SHA-256-PLUS, so the client
//!   sends the GS2 header `n,,` (or `y,,`, "I could bind but you did not
//!   offer it"), and `p=` is refused.
//! - SASLprep is not applied: passwords are used as their UTF-8 bytes. This
//!   matches PostgreSQL for every ASCII password and for any password that
//!   SASLprep leaves unchanged; PostgreSQL itself falls back to the raw bytes
//!   when SASLprep fails, so the only mismatch is non-ASCII passwords that
//!   SASLprep would normalize.
//! - The user name inside SCRAM is ignored by the server side, as PostgreSQL
//!   does: the role comes from the startup packet.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::{constant_time_eq, random_bytes};
use crate::error::{ProtocolError, Result};

/// The SASL mechanism name sent in AuthenticationSASL.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

/// PostgreSQL's default iteration count (scram_iterations).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Refuse iteration counts above this from a server: a hostile or broken
/// backend could otherwise pin a proxy core for minutes per login.
pub const MAX_ITERATIONS: u32 = 10_000_000;

type HmacSha256 = Hmac<Sha256>;

fn auth_err(reason: impl Into<String>) -> ProtocolError {
    ProtocolError::Auth(reason.into())
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    // HMAC accepts keys of any length; the error arm is unreachable in practice.
    let mut m = HmacSha256::new_from_slice(key)
        .map_err(|_| ProtocolError::Internal("HMAC rejected a key"))?;
    for p in parts {
        m.update(p);
    }
    Ok(m.finalize().into_bytes().into())
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Hi() of RFC 5802: PBKDF2-HMAC-SHA256 with a one-block (32-byte) output,
/// which is all SCRAM-SHA-256 needs, so no PBKDF2 crate is pulled in.
pub fn salted_password(password: &str, salt: &[u8], iterations: u32) -> Result<[u8; 32]> {
    let mut u = hmac(password.as_bytes(), &[salt, &1u32.to_be_bytes()])?;
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password.as_bytes(), &[&u])?;
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    Ok(out)
}

/// What a server stores instead of the password (pg_authid.rolpassword).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for ScramVerifier {
    // Keys are password-equivalent for impersonating the server; keep them
    // out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramVerifier {
    /// Derives a verifier from a plaintext password and a chosen salt.
    pub fn from_password(password: &str, salt: &[u8], iterations: u32) -> Result<Self> {
        if iterations == 0 {
            return Err(auth_err("SCRAM iteration count must be positive"));
        }
        let salted = salted_password(password, salt, iterations)?;
        let client_key = hmac(&salted, &[b"Client Key"])?;
        Ok(ScramVerifier {
            salt: salt.to_vec(),
            iterations,
            stored_key: sha256(&client_key),
            server_key: hmac(&salted, &[b"Server Key"])?,
        })
    }

    /// Derives a verifier with a fresh random 16-byte salt, as PostgreSQL does.
    pub fn new_random(password: &str, iterations: u32) -> Result<Self> {
        let salt: [u8; 16] = random_bytes()?;
        Self::from_password(password, &salt, iterations)
    }

    /// PostgreSQL's text form: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`.
    pub fn to_postgres_string(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }

    /// Parses PostgreSQL's text form (see [`Self::to_postgres_string`]).
    pub fn parse_postgres_string(s: &str) -> Result<Self> {
        let bad = || auth_err("not a SCRAM-SHA-256 verifier");
        let rest = s.strip_prefix("SCRAM-SHA-256$").ok_or_else(bad)?;
        let (iter_salt, keys) = rest.split_once('$').ok_or_else(bad)?;
        let (iter, salt) = iter_salt.split_once(':').ok_or_else(bad)?;
        let (stored, server) = keys.split_once(':').ok_or_else(bad)?;
        let iterations: u32 = iter.parse().map_err(|_| bad())?;
        let key = |k: &str| -> Result<[u8; 32]> {
            B64.decode(k)?
                .try_into()
                .map_err(|_| auth_err("SCRAM key is not 32 bytes"))
        };
        Ok(ScramVerifier {
            salt: B64.decode(salt)?,
            iterations,
            stored_key: key(stored)?,
            server_key: key(server)?,
        })
    }
}

/// Splits `a=value,b=value` into attributes, keeping order.
fn attributes(msg: &str) -> Result<Vec<(char, &str)>> {
    msg.split(',')
        .map(|part| {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(k), Some('=')) if k.is_ascii_alphabetic() => Ok((k, &part[2..])),
                _ => Err(auth_err(format!("malformed SCRAM attribute {part:?}"))),
            }
        })
        .collect()
}

fn attr<'a>(attrs: &[(char, &'a str)], key: char) -> Result<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| auth_err(format!("SCRAM message lacks attribute {key}=")))
}

fn utf8(data: &[u8]) -> Result<&str> {
    std::str::from_utf8(data).map_err(|_| auth_err("SCRAM message is not UTF-8"))
}

/// A printable nonce without ',' (RFC 5802): base64 of random bytes.
fn random_nonce() -> Result<String> {
    let raw: [u8; 18] = random_bytes()?;
    Ok(B64.encode(raw))
}

#[derive(Debug)]
enum ServerState {
    AwaitingClientFirst,
    AwaitingClientFinal {
        gs2_header: String,
        nonce: String,
        /// client-first-bare + "," + server-first, the first two thirds of AuthMessage.
        auth_prefix: String,
    },
    Done,
}

/// The server side of one SCRAM exchange.
#[derive(Debug)]
pub struct ScramServer {
    verifier: ScramVerifier,
    nonce_suffix: Option<String>,
    state: ServerState,
}

impl ScramServer {
    pub fn new(verifier: ScramVerifier) -> Self {
        ScramServer {
            verifier,
            nonce_suffix: None,
            state: ServerState::AwaitingClientFirst,
        }
    }

    /// Fixes the server's nonce part; for tests against published vectors.
    pub fn with_nonce(mut self, suffix: &str) -> Self {
        self.nonce_suffix = Some(suffix.to_owned());
        self
    }

    /// Takes the SASLInitialResponse data, returns the server-first message
    /// (to send in AuthenticationSASLContinue).
    pub fn handle_client_first(&mut self, data: &[u8]) -> Result<String> {
        if !matches!(self.state, ServerState::AwaitingClientFirst) {
            return Err(auth_err("unexpected SCRAM client-first message"));
        }
        let msg = utf8(data)?;
        let (gs2_header, bare) = match msg.as_bytes().first() {
            Some(b'n') | Some(b'y') => {
                // gs2-header = cbind-flag "," [authzid] ","
                let mut it = msg.splitn(3, ',');
                let flag = it.next().unwrap_or_default();
                let authzid = it.next().ok_or_else(|| auth_err("truncated GS2 header"))?;
                let bare = it.next().ok_or_else(|| auth_err("truncated GS2 header"))?;
                if flag != "n" && flag != "y" {
                    return Err(auth_err("malformed GS2 channel-binding flag"));
                }
                if !authzid.is_empty() {
                    return Err(auth_err("SCRAM authorization identity is not supported"));
                }
                (format!("{flag},,"), bare)
            }
            Some(b'p') => return Err(auth_err("SCRAM channel binding was not offered")),
            _ => return Err(auth_err("malformed GS2 header")),
        };
        let attrs = attributes(bare)?;
        if attrs.first().map(|(k, _)| *k) == Some('m') {
            return Err(auth_err("SCRAM mandatory extensions are not supported"));
        }
        let client_nonce = attr(&attrs, 'r')?;
        if client_nonce.is_empty()
            || !client_nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(auth_err("invalid SCRAM client nonce"));
        }
        let suffix = match &self.nonce_suffix {
            Some(s) => s.clone(),
            None => random_nonce()?,
        };
        let nonce = format!("{client_nonce}{suffix}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&self.verifier.salt),
            self.verifier.iterations
        );
        self.state = ServerState::AwaitingClientFinal {
            gs2_header,
            nonce,
            auth_prefix: format!("{bare},{server_first}"),
        };
        Ok(server_first)
    }

    /// Takes the SASLResponse data, verifies the proof, returns the
    /// server-final message (to send in AuthenticationSASLFinal).
    /// A wrong password is `ProtocolError::Auth`.
    pub fn handle_client_final(&mut self, data: &[u8]) -> Result<String> {
        let ServerState::AwaitingClientFinal {
            gs2_header,
            nonce,
            auth_prefix,
        } = std::mem::replace(&mut self.state, ServerState::Done)
        else {
            return Err(auth_err("unexpected SCRAM client-final message"));
        };
        let msg = utf8(data)?;
        let (without_proof, proof_b64) = msg
            .rsplit_once(",p=")
            .ok_or_else(|| auth_err("SCRAM client-final lacks a proof"))?;
        let attrs = attributes(without_proof)?;
        if attr(&attrs, 'c')? != B64.encode(gs2_header.as_bytes()) {
            return Err(auth_err("SCRAM channel binding data does not match"));
        }
        if attr(&attrs, 'r')? != nonce {
            return Err(auth_err("SCRAM nonce does not match"));
        }
        let proof = B64.decode(proof_b64)?;
        if proof.len() != 32 {
            return Err(auth_err("SCRAM proof has the wrong length"));
        }
        let auth_message = format!("{auth_prefix},{without_proof}");
        let client_signature = hmac(&self.verifier.stored_key, &[auth_message.as_bytes()])?;
        let mut client_key = [0u8; 32];
        for ((k, p), s) in client_key.iter_mut().zip(&proof).zip(&client_signature) {
            *k = p ^ s;
        }
        if !constant_time_eq(&sha256(&client_key), &self.verifier.stored_key) {
            return Err(auth_err(
                "password authentication failed (SCRAM proof mismatch)",
            ));
        }
        let server_signature = hmac(&self.verifier.server_key, &[auth_message.as_bytes()])?;
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[derive(Debug)]
enum ClientState {
    Initial,
    AwaitingServerFirst,
    AwaitingServerFinal { server_signature: [u8; 32] },
    Done,
}

/// The client side of one SCRAM exchange.
pub struct ScramClient {
    user: String,
    password: String,
    nonce: String,
    state: ClientState,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("user", &self.user)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// RFC 5802 saslname escaping: ',' and '=' would end the attribute.
fn escape_user(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

impl ScramClient {
    /// `user` is only echoed in the exchange; PostgreSQL ignores it (libpq
    /// sends it empty) and takes the role from the startup packet.
    pub fn new(user: &str, password: &str) -> Result<Self> {
        Ok(Self::with_nonce(user, password, &random_nonce()?))
    }

    /// Fixes the client nonce; for tests against published vectors.
    pub fn with_nonce(user: &str, password: &str, nonce: &str) -> Self {
        ScramClient {
            user: user.to_owned(),
            password: password.to_owned(),
            nonce: nonce.to_owned(),
            state: ClientState::Initial,
        }
    }

    fn client_first_bare(&self) -> String {
        format!("n={},r={}", escape_user(&self.user), self.nonce)
    }

    /// The client-first message, for SASLInitialResponse.
    pub fn client_first(&mut self) -> String {
        self.state = ClientState::AwaitingServerFirst;
        format!("n,,{}", self.client_first_bare())
    }

    /// Takes the AuthenticationSASLContinue data, returns the client-final
    /// message for SASLResponse.
    pub fn handle_server_first(&mut self, data: &[u8]) -> Result<String> {
        if !matches!(self.state, ClientState::AwaitingServerFirst) {
            return Err(auth_err("unexpected SCRAM server-first message"));
        }
        self.state = ClientState::Done;
        let server_first = utf8(data)?;
        let attrs = attributes(server_first)?;
        if attrs.first().map(|(k, _)| *k) == Some('m') {
            return Err(auth_err("SCRAM mandatory extensions are not supported"));
        }
        let nonce = attr(&attrs, 'r')?;
        // The server must extend our nonce, or a replayed exchange could pass.
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(auth_err(
                "SCRAM server nonce does not extend the client nonce",
            ));
        }
        let salt = B64.decode(attr(&attrs, 's')?)?;
        let iterations: u32 = attr(&attrs, 'i')?
            .parse()
            .map_err(|_| auth_err("invalid SCRAM iteration count"))?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(auth_err(format!(
                "SCRAM iteration count {iterations} out of range"
            )));
        }
        let salted = salted_password(&self.password, &salt, iterations)?;
        let client_key = hmac(&salted, &[b"Client Key"])?;
        let stored_key = sha256(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        let client_signature = hmac(&stored_key, &[auth_message.as_bytes()])?;
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(&client_signature) {
            *p ^= s;
        }
        let server_key = hmac(&salted, &[b"Server Key"])?;
        let server_signature = hmac(&server_key, &[auth_message.as_bytes()])?;
        self.state = ClientState::AwaitingServerFinal { server_signature };
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Takes the AuthenticationSASLFinal data and checks the server proved
    /// it knows the verifier; without this a fake server could accept anyone.
    pub fn verify_server_final(&mut self, data: &[u8]) -> Result<()> {
        let ClientState::AwaitingServerFinal { server_signature } =
            std::mem::replace(&mut self.state, ClientState::Done)
        else {
            return Err(auth_err("unexpected SCRAM server-final message"));
        };
        let attrs = attributes(utf8(data)?)?;
        if let Ok(e) = attr(&attrs, 'e') {
            return Err(auth_err(format!("server rejected SCRAM exchange: {e}")));
        }
        let v = B64.decode(attr(&attrs, 'v')?)?;
        if !constant_time_eq(&v, &server_signature) {
            return Err(auth_err("SCRAM server signature does not match"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677, section 3.
    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_SUFFIX: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_verifier() -> ScramVerifier {
        ScramVerifier::from_password("pencil", &B64.decode(SALT).unwrap(), 4096).unwrap()
    }

    #[test]
    fn client_matches_rfc7677() {
        let mut c = ScramClient::with_nonce("user", "pencil", CLIENT_NONCE);
        assert_eq!(c.client_first(), CLIENT_FIRST);
        assert_eq!(
            c.handle_server_first(SERVER_FIRST.as_bytes()).unwrap(),
            CLIENT_FINAL
        );
        c.verify_server_final(SERVER_FINAL.as_bytes()).unwrap();
    }

    #[test]
    fn server_matches_rfc7677() {
        let mut s = ScramServer::new(rfc_verifier()).with_nonce(SERVER_SUFFIX);
        assert_eq!(
            s.handle_client_first(CLIENT_FIRST.as_bytes()).unwrap(),
            SERVER_FIRST
        );
        assert_eq!(
            s.handle_client_final(CLIENT_FINAL.as_bytes()).unwrap(),
            SERVER_FINAL
        );
    }

    #[test]
    fn round_trip_random_nonces_and_salt() {
        let verifier = ScramVerifier::new_random("s3cret,=pw", 4096).unwrap();
        let mut s = ScramServer::new(verifier.clone());
        let mut c = ScramClient::new("we=ird,user", "s3cret,=pw").unwrap();
        let first = c.client_first();
        let sf = s.handle_client_first(first.as_bytes()).unwrap();
        let cf = c.handle_server_first(sf.as_bytes()).unwrap();
        let fin = s.handle_client_final(cf.as_bytes()).unwrap();
        c.verify_server_final(fin.as_bytes()).unwrap();

        let parsed = ScramVerifier::parse_postgres_string(&verifier.to_postgres_string()).unwrap();
        assert_eq!(parsed, verifier);
    }

    #[test]
    fn wrong_password_is_rejected() {
        let mut s = ScramServer::new(rfc_verifier());
        let mut c = ScramClient::new("user", "not-pencil").unwrap();
        let sf = s.handle_client_first(c.client_first().as_bytes()).unwrap();
        let cf = c.handle_server_first(sf.as_bytes()).unwrap();
        assert!(matches!(
            s.handle_client_final(cf.as_bytes()),
            Err(ProtocolError::Auth(_))
        ));
    }

    #[test]
    fn forged_server_signature_is_rejected() {
        let mut c = ScramClient::with_nonce("user", "pencil", CLIENT_NONCE);
        c.client_first();
        c.handle_server_first(SERVER_FIRST.as_bytes()).unwrap();
        let forged = format!("v={}", B64.encode([0u8; 32]));
        assert!(c.verify_server_final(forged.as_bytes()).is_err());
    }

    #[test]
    fn channel_binding_and_garbage_are_rejected() {
        for bad in [
            "p=tls-server-end-point,,n=,r=abc",
            "",
            "n,",
            "x,,n=,r=a",
            "n,,n=,r=",
            "n,,m=ext,r=abc",
        ] {
            let mut s = ScramServer::new(rfc_verifier());
            assert!(s.handle_client_first(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn postgres_verifier_string_round_trips() {
        let v = rfc_verifier();
        let s = v.to_postgres_string();
        assert!(s.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
        assert_eq!(ScramVerifier::parse_postgres_string(&s).unwrap(), v);
    }
}
