//! TLS to a PostgreSQL data source, as libpq's `sslmode` asks for it.
//!
//! A managed database that requires TLS must be able to be a shard, so
//! the URL's `sslmode` (and `sslrootcert`) are honoured the way libpq
//! reads them: `disable` never asks; `prefer` asks and goes on in the
//! clear when the server says no; `allow` is served as `prefer` (libpq
//! tries the clear first), so a server whose pg_hba.conf admits only
//! unencrypted sessions (`hostnossl`) refuses an `allow` data source here;
//! `require` insists on encryption and
//! checks the certificate only when a root certificate is named (as libpq
//! does when it finds one); `verify-ca` checks the chain; `verify-full`
//! checks the chain and that the certificate names the host. Without
//! `sslmode` the connection stays in the clear, as before, so the splice
//! (which needs a plain socket) keeps working where nobody asked for TLS.

use std::path::PathBuf;
use std::sync::Arc;

use shardwire_rules::snapshot::DataSource;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::{
    ring::default_provider, verify_tls12_signature, verify_tls13_signature, CryptoProvider,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore,
    SignatureScheme,
};
use tokio_rustls::TlsConnector;

use crate::error::{BackendError, Result};
use crate::socket::Socket;

/// SSLRequest: length 8, then the request code 1234.5679.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What a data source's URL asks for.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

impl TlsSettings {
    /// Reads `sslmode` and `sslrootcert` from the URL's parameters.
    pub fn of(source: &DataSource) -> Result<TlsSettings> {
        let mode = match source.params.get("sslmode").map(String::as_str) {
            None | Some("disable") => SslMode::Disable,
            Some("allow") => SslMode::Allow,
            Some("prefer") => SslMode::Prefer,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => {
                return Err(config(
                    source,
                    format!(
                        "sslmode={other} is not one of disable, allow, prefer, require, \
                         verify-ca, verify-full"
                    ),
                ))
            }
        };
        let root_cert = source.params.get("sslrootcert").map(PathBuf::from);
        if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root_cert.is_none() {
            return Err(config(
                source,
                format!(
                    "sslmode={} checks the server's certificate, so it needs sslrootcert=<CA file>",
                    source.params.get("sslmode").map_or("", String::as_str)
                ),
            ));
        }
        Ok(TlsSettings { mode, root_cert })
    }
}

fn config(source: &DataSource, reason: String) -> BackendError {
    BackendError::Config {
        name: source.name.clone(),
        reason,
    }
}

/// Asks for TLS on a fresh connection as `settings` say, and returns the
/// socket the session runs on: encrypted, or the plain stream when TLS
/// was not asked for or (allow, prefer) the server declined.
pub async fn negotiate(
    mut stream: TcpStream,
    source: &DataSource,
    settings: &TlsSettings,
) -> Result<Socket> {
    if settings.mode == SslMode::Disable {
        return Ok(Socket::Tcp(stream));
    }
    stream.write_all(&SSL_REQUEST).await?;
    // One byte and no more: anything the server sent after it, before the
    // handshake, could be injected by a man in the middle
    // (CVE-2021-23222), and must not be read as part of the session.
    let answer = stream.read_u8().await?;
    match answer {
        b'S' => {}
        b'N' if matches!(settings.mode, SslMode::Allow | SslMode::Prefer) => {
            return Ok(Socket::Tcp(stream));
        }
        b'N' => {
            return Err(config(
                source,
                "the server does not accept TLS, and sslmode asks for it".into(),
            ))
        }
        other => {
            return Err(BackendError::Io(std::io::Error::other(format!(
                "the server answered SSLRequest with byte {other:#04x}, not S or N"
            ))))
        }
    }
    let connector = TlsConnector::from(Arc::new(client_config(source, settings)?));
    let name = ServerName::try_from(source.host.clone())
        .map_err(|e| config(source, format!("host {} as a TLS name: {e}", source.host)))?;
    let tls = connector.connect(name, stream).await.map_err(|e| {
        BackendError::Io(std::io::Error::other(format!(
            "TLS handshake with {}:{} (sslmode {:?}): {e}",
            source.host, source.port, settings.mode
        )))
    })?;
    Ok(Socket::Tls(Box::new(tls)))
}

fn client_config(source: &DataSource, settings: &TlsSettings) -> Result<ClientConfig> {
    let provider = Arc::new(default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| config(source, format!("TLS versions: {e}")))?;
    let chain = match &settings.root_cert {
        None => None,
        Some(path) => {
            let roots = Arc::new(root_store(source, path)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| config(source, format!("sslrootcert: {e}")))?;
            Some(webpki)
        }
    };
    let verifier = Arc::new(Verifier {
        chain,
        // libpq: require with a root certificate acts as verify-ca.
        names: settings.mode == SslMode::VerifyFull,
        provider,
    });
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn root_store(source: &DataSource, path: &std::path::Path) -> Result<RootCertStore> {
    let pem = std::fs::read(path).map_err(|e| {
        config(
            source,
            format!("reading sslrootcert {}: {e}", path.display()),
        )
    })?;
    let mut store = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert =
            cert.map_err(|e| config(source, format!("sslrootcert {}: {e}", path.display())))?;
        store
            .add(cert)
            .map_err(|e| config(source, format!("sslrootcert {}: {e}", path.display())))?;
    }
    if store.is_empty() {
        return Err(config(
            source,
            format!("sslrootcert {} holds no certificate", path.display()),
        ));
    }
    Ok(store)
}

/// What a data source's sslmode checks of the server's certificate: with
/// no root certificate nothing (require / prefer / allow: encryption
/// against eavesdroppers, no proof of who answers, libpq's meaning); with
/// one, that the chain leads to it, and under verify-full that the
/// certificate names the host. The handshake's signatures are checked
/// against the certificate offered either way.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    names: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
