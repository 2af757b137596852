//! The openGauss login: AuthenticationRequest code 10 (SHA256), checked
//! against keys derived once per user from the configured password, or
//! MD5 for users whose authenticator is MD5 (py-opengauss and openGauss
//! JDBC answer code 5 as PostgreSQL clients do).
//!
//! Code 10 is SHA256 only here: a PostgreSQL listener, or a 3.0 client on
//! an openGauss one, gets SASL under the same code (`pg::startup`).

use std::collections::HashMap;

use futures::SinkExt;
use shardwire_protocol::auth::opengauss::{
    Sha256Challenge, Sha256Secret, Sha256Tail, AUTH_SHA256, LEGACY_ITERATIONS,
};
use shardwire_protocol::pg::{Authentication, BackendMessage, FrontendMessage};
use shardwire_rules::snapshot::{ListenerProtocol, RuleSnapshot, User};

use super::OgVersion;
use crate::error::SessionError;
use crate::pg::startup::{recv, ClientConn};
use crate::server::Frontend;

/// A user's SHA256 keys: at the configured iteration count for 3.51
/// clients, who are told it, and at openGauss's fixed 2048 for 3.50
/// clients, who assume it.
#[derive(Debug, Clone)]
struct UserKeys {
    current: Sha256Secret,
    legacy: Sha256Secret,
}

/// The SHA256 keys of the authority's users, by name.
#[derive(Debug, Default)]
pub struct KeyStore {
    users: HashMap<String, UserKeys>,
    iterations: u32,
}

impl KeyStore {
    /// Derives every user's keys, once per process. Empty when no listener
    /// speaks openGauss: PBKDF2 at 10,000 rounds is not free.
    pub fn build(snapshot: &RuleSnapshot) -> Result<KeyStore, String> {
        let global = &snapshot.global;
        let iterations = global.opengauss_sha256_iterations;
        let mut users = HashMap::new();
        let serves_opengauss = global
            .listeners
            .iter()
            .any(|l| l.protocol == ListenerProtocol::OpenGauss);
        if serves_opengauss {
            for user in &global.users {
                let derive = |n| {
                    Sha256Secret::new_random(&user.password, n)
                        .map_err(|e| format!("user {}: openGauss SHA256 key: {e}", user.name))
                };
                let keys = UserKeys {
                    current: derive(iterations)?,
                    legacy: derive(LEGACY_ITERATIONS)?,
                };
                users.insert(user.name.clone(), keys);
            }
        }
        Ok(KeyStore { users, iterations })
    }

    fn secret(&self, user: &str, version: OgVersion) -> Option<&Sha256Secret> {
        let keys = self.users.get(user)?;
        Some(match version {
            OgVersion::V350 => &keys.legacy,
            OgVersion::V351 => &keys.current,
        })
    }
}

/// Runs the openGauss login exchange; true when the client proved it
/// knows the password of `account`.
pub async fn exchange(
    fe: &Frontend,
    conn: &mut ClientConn,
    account: Option<&User>,
    user: &str,
    version: OgVersion,
) -> Result<bool, SessionError> {
    if let Some(a) = account.filter(|a| a.authenticator.as_deref() == Some("MD5")) {
        return crate::pg::startup::md5_exchange(conn, user, &a.password).await;
    }
    let tail = match version {
        OgVersion::V350 => Sha256Tail::Nothing,
        OgVersion::V351 => Sha256Tail::Iterations,
    };
    let secret = match account.and_then(|a| fe.opengauss_keys.secret(&a.name, version)) {
        Some(s) => s.clone(),
        // An unknown user goes through the same exchange against keys
        // nobody knows the password of: unknown users and wrong passwords
        // look alike.
        None => {
            let iterations = match version {
                OgVersion::V350 => LEGACY_ITERATIONS,
                OgVersion::V351 => fe.opengauss_keys.iterations.max(1),
            };
            Sha256Secret::new_random(&random_password(), iterations)
                .map_err(|e| SessionError::Refused(format!("SHA256 setup: {e}")))?
        }
    };
    let challenge = Sha256Challenge::new(secret, tail)
        .map_err(|e| SessionError::Refused(format!("SHA256 setup: {e}")))?;
    let data = challenge
        .request_data()
        .map_err(|e| SessionError::Refused(format!("SHA256 setup: {e}")))?;
    conn.send(BackendMessage::Authentication(Authentication::Other {
        code: AUTH_SHA256,
        data: data.into(),
    }))
    .await?;
    let Some(FrontendMessage::Password(response)) = recv(conn).await? else {
        return Ok(false);
    };
    Ok(challenge.verify(&response))
}

fn random_password() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
