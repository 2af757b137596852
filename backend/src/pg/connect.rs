//! Opening a [`PgConnection`]: TCP, TLS as the URL asks, the startup
//! version (openGauss first tries its own), authentication, all within the
//! data source's connection timeout.

use shardwire_protocol::pg::{PgClientCodec, PROTOCOL_VERSION_3_0};
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use tokio::net::TcpStream;

use super::cancel::CancelToken;
use super::connection::PgConnection;
use super::login::{LoggedIn, LoginError};
use crate::error::{BackendError, Result};

impl PgConnection {
    /// Opens a session to `source`: TCP, startup, authentication (whatever
    /// of SCRAM-SHA-256, MD5 or cleartext the server asks for; for openGauss
    /// data sources also SHA256 and MD5_SHA256), then waits
    /// for the first ReadyForQuery. The data source's connection timeout
    /// bounds the whole handshake, not only the TCP connect, so a server
    /// that accepts and then stalls cannot hold a pool slot forever; zero
    /// means no limit.
    pub async fn connect(source: &DataSource) -> Result<PgConnection> {
        check_source(source)?;
        let limit = source.connection_timeout;
        // Boxed: the login's future (TLS, the openGauss version fallback)
        // is large, and inline it would be part of every pool acquire's
        // future, which the statement path moves on every message; a new
        // connection is rare enough to pay for one allocation.
        let login = Box::pin(Self::connect_unbounded(source));
        if limit.is_zero() {
            return login.await;
        }
        tokio::time::timeout(limit, login)
            .await
            .map_err(|_| BackendError::Timeout {
                what: "connecting and logging in",
                after: limit,
            })?
    }

    async fn connect_unbounded(source: &DataSource) -> Result<PgConnection> {
        let tls = super::tls::TlsSettings::of(source)?;
        let first = super::login::first_version(source);
        match Self::connect_at(source, first, &tls).await {
            Err(LoginError::VersionRefused(_)) => {
                Self::connect_at(source, PROTOCOL_VERSION_3_0, &tls)
                    .await
                    .map_err(|e| match e {
                        LoginError::VersionRefused(e) | LoginError::Failed(e) => e,
                    })
            }
            Err(LoginError::Failed(e)) => Err(e),
            Ok(conn) => Ok(conn),
        }
        .map_err(|e| name_source(e, &source.name))
    }

    async fn connect_at(
        source: &DataSource,
        version: u32,
        tls: &super::tls::TlsSettings,
    ) -> Result<PgConnection, LoginError> {
        let stream = TcpStream::connect((source.host.as_str(), source.port))
            .await
            .map_err(|e| BackendError::Connect {
                host: source.host.clone(),
                port: source.port,
                source: e,
            })?;
        // Requests are written whole, once each: Nagle would only delay them.
        stream.set_nodelay(true)?;
        let socket = super::tls::negotiate(stream, source, tls).await?;
        let codec = PgClientCodec::new().with_raw_auth_codes(super::login::raw_auth_codes(source));
        let mut conn = PgConnection::starting(socket, codec);
        let LoggedIn { key, session } = super::login::login(&mut conn, source, version).await?;
        conn.opengauss = session.opengauss;
        conn.set_cancel(key.map(|(pid, secret)| CancelToken {
            host: source.host.clone(),
            port: source.port,
            pid,
            secret,
            timeout: source.connection_timeout,
        }));
        Ok(conn)
    }
}

/// Names the data source in a login failure: a proxy has many, and the
/// client sees only the message. The server's own error, which the frontend
/// passes on, gets the name too.
fn name_source(e: BackendError, name: &str) -> BackendError {
    let BackendError::Auth { reason, source } = e else {
        return e;
    };
    let named = |m: &str| format!("data source {name:?}: {m}");
    let source = source.map(|mut s| {
        s.message = named(&s.message);
        for (field, value) in &mut s.fields.fields {
            if *field == shardwire_protocol::pg::field::MESSAGE {
                *value = named(value);
            }
        }
        s
    });
    BackendError::Auth {
        reason: named(&reason),
        source,
    }
}

/// Refuses data sources this client cannot serve before opening a socket.
fn check_source(source: &DataSource) -> Result<()> {
    let refuse = |reason: String| BackendError::Config {
        name: source.name.clone(),
        reason,
    };
    if !matches!(
        source.protocol,
        DatabaseProtocol::PostgreSql | DatabaseProtocol::OpenGauss
    ) {
        return Err(refuse(format!(
            "protocol {:?} is not served by the PostgreSQL client",
            source.protocol
        )));
    }
    Ok(())
}
