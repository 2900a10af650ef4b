//! TLS: the `SSLRequest` exchange, the rustls configuration for each `sslmode`, the
//! certificate verifiers, and the `tls-server-end-point` channel-binding hash.

use std::{
    io,
    path::Path,
    sync::{Arc, OnceLock},
};

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    client::WebPkiServerVerifier,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, ServerName, UnixTime},
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use sha2::Digest;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

use super::{
    errors::ServerCtx,
    params::{ConnectParams, SslMode},
    transport::Transport,
};
use crate::{Error, ErrorKind, Result};

/// How much of the server certificate to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// Encryption only (prefer, require without a root certificate).
    Nothing,
    /// Chain up to a trusted root, any host name (verify-ca, require with a root cert).
    Chain,
    /// Chain and host name (verify-full).
    ChainAndName,
}

fn verification(params: &ConnectParams) -> Verify {
    match params.sslmode {
        SslMode::Disable | SslMode::Prefer => Verify::Nothing,
        // libpq: "require" with a root certificate present behaves like verify-ca.
        SslMode::Require if params.sslrootcert.is_some() => Verify::Chain,
        SslMode::Require => Verify::Nothing,
        SslMode::VerifyCa => Verify::Chain,
        SslMode::VerifyFull => Verify::ChainAndName,
    }
}

/// Sends `SSLRequest` if the sslmode asks for TLS and performs the handshake.
///
/// With `prefer`, a server that answers `N` gets a plain connection; with the stricter
/// modes that is an error.
pub(crate) async fn negotiate(
    mut tcp: TcpStream,
    params: &ConnectParams,
    ctx: &ServerCtx,
) -> Result<Transport> {
    if params.sslmode == SslMode::Disable {
        return Ok(Transport::Plain(tcp));
    }
    // Build the configuration first: a bad sslrootcert should fail before any traffic.
    let config = client_config(params)?;
    let server_name = match ServerName::try_from(params.host.clone()) {
        Ok(name) => name,
        // Without a host-name check any name will do; the peer's IP avoids sending a
        // bogus SNI (rustls sends none for addresses).
        Err(_) if verification(params) != Verify::ChainAndName => {
            let peer = tcp.peer_addr().map_err(|e| ctx.io(e))?;
            ServerName::IpAddress(peer.ip().into())
        }
        Err(_) => {
            return Err(Error::config(format!(
                "host \"{}\" is neither a valid DNS name nor an IP address, so sslmode={} cannot \
                 check the certificate against it",
                params.host, params.sslmode
            )))
        }
    };

    let mut buf = BytesMut::with_capacity(8);
    frontend::ssl_request(&mut buf);
    tcp.write_all(&buf).await.map_err(|e| ctx.io(e))?;
    // Exactly one byte: anything the server (or a man in the middle) sends after 'S' must
    // go through the TLS handshake, never be read as plaintext (CVE-2021-23222).
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.map_err(|e| ctx.io(e))?;
    match answer[0] {
        b'S' => {}
        b'N' if params.sslmode == SslMode::Prefer => {
            tracing::debug!(server = %ctx.target(), "server does not support SSL; using plain TCP");
            return Ok(Transport::Plain(tcp));
        }
        b'N' => {
            return Err(Error::new(
                ErrorKind::Tls,
                format!(
                    "the server at {} does not support SSL, but sslmode={} requires it; enable \
                     ssl on the server or use sslmode=prefer",
                    ctx.target(),
                    params.sslmode
                ),
            ))
        }
        other => {
            return Err(ctx.protocol(format!(
                "unexpected answer {:?} to SSLRequest (expected 'S' or 'N')",
                other as char
            )))
        }
    }

    let tls = TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| handshake_error(e, params, ctx))?;
    Ok(Transport::Tls(Box::new(tls)))
}

/// Explains a failed handshake in terms of the sslmode and what did not match.
fn handshake_error(e: io::Error, params: &ConnectParams, ctx: &ServerCtx) -> Error {
    let mode = params.sslmode;
    let target = ctx.target();
    let roots = match &params.sslrootcert {
        Some(path) if path.as_os_str() != "system" => {
            format!(
                "the CA certificate(s) in sslrootcert \"{}\"",
                path.display()
            )
        }
        _ => "the system root certificates (set sslrootcert to use your own CA)".to_owned(),
    };
    let tls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let message = match tls_error {
        Some(rustls::Error::InvalidCertificate(cert_error)) => match cert_error {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "certificate not trusted (sslmode={mode}): the server certificate of {target} is \
                 not signed by {roots}"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "host name mismatch (sslmode={mode}): the server certificate of {target} is not \
                     valid for \"{}\" ({cert_error}); connect using a name the certificate lists \
                     or use sslmode=verify-ca",
                    params.host
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server certificate of {target} has expired (sslmode={mode})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the server certificate of {target} is not valid yet (sslmode={mode})")
            }
            other => {
                format!("the server certificate of {target} was rejected (sslmode={mode}): {other}")
            }
        },
        // The TLS or I/O error follows as the cause.
        Some(_) | None => format!("TLS handshake with {target} failed (sslmode={mode})"),
    };
    Error::new(ErrorKind::Tls, message).with_source(e)
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The rustls configuration for this connection's sslmode and root certificates.
fn client_config(params: &ConnectParams) -> Result<Arc<ClientConfig>> {
    let provider = provider();
    let verify = verification(params);
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(NoCertificateCheck {
            provider: provider.clone(),
        }),
        Verify::Chain | Verify::ChainAndName => {
            let roots = root_store(params)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Tls,
                        format!("could not set up TLS verification: {e}"),
                    )
                })?;
            if verify == Verify::Chain {
                Arc::new(ChainOnly { inner: webpki })
            } else {
                webpki
            }
        }
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("could not set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // PostgreSQL 17 checks ALPN when the client sends it; older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Arc::new(config))
}

/// The trust anchors: the `sslrootcert` file, or the system roots.
fn root_store(params: &ConnectParams) -> Result<Arc<RootCertStore>> {
    match &params.sslrootcert {
        Some(path) if path.as_os_str() != "system" => load_root_file(path),
        _ => system_roots(),
    }
}

fn load_root_file(path: &Path) -> Result<Arc<RootCertStore>> {
    let bad = |what: String| Error::config(format!("sslrootcert \"{}\": {what}", path.display()));
    let file = std::fs::File::open(path)
        .map_err(|e| bad("could not open the file".to_owned()).with_source(e))?;
    let mut reader = io::BufReader::new(file);
    let mut store = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut reader) {
        let cert = cert.map_err(|e| bad(format!("could not parse PEM: {e}")))?;
        store
            .add(cert)
            .map_err(|e| bad(format!("could not use a certificate from the file: {e}")))?;
    }
    if store.is_empty() {
        return Err(bad("the file contains no PEM certificates".to_owned()));
    }
    Ok(Arc::new(store))
}

/// The operating system's roots, loaded once per process (it reads many files).
fn system_roots() -> Result<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    if let Some(roots) = ROOTS.get() {
        return Ok(roots.clone());
    }
    let loaded = rustls_native_certs::load_native_certs();
    for e in &loaded.errors {
        tracing::debug!(error = %e, "while loading system root certificates");
    }
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
    if added == 0 {
        return Err(Error::new(
            ErrorKind::Tls,
            "no system root certificates found; set sslrootcert to the CA certificate file",
        ));
    }
    Ok(ROOTS.get_or_init(|| Arc::new(store)).clone())
}

/// Accepts any certificate but still checks the handshake signatures, so the connection
/// is encrypted to whoever holds the certificate's key (libpq's `require`).
#[derive(Debug)]
struct NoCertificateCheck {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
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

/// Full chain verification, ignoring only a host-name mismatch (libpq's `verify-ca`).
///
/// The webpki verifier checks the chain before the name, so a name error implies the chain
/// was good.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The `tls-server-end-point` channel-binding data (RFC 5929): a hash of the server's
/// certificate, using the certificate's signature hash, or SHA-256 when that is MD5 or
/// SHA-1. This is what the PostgreSQL server computes.
///
/// `None` for signature algorithms without a single hash (Ed25519, RSA-PSS): the server
/// cannot bind those either, so SCRAM then runs without channel binding.
pub(crate) fn tls_server_end_point(cert_der: &[u8]) -> Option<Vec<u8>> {
    Some(match signature_hash(cert_der)? {
        Hash::Sha224 => sha2::Sha224::digest(cert_der).to_vec(),
        Hash::Sha256 => sha2::Sha256::digest(cert_der).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(cert_der).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(cert_der).to_vec(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Finds the hash of the certificate's `signatureAlgorithm` by walking just enough DER:
/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID, ... }, ... }`.
fn signature_hash(cert: &[u8]) -> Option<Hash> {
    let (0x30, certificate, _) = der_next(cert)? else {
        return None;
    };
    let (0x30, _tbs, rest) = der_next(certificate)? else {
        return None;
    };
    let (0x30, algorithm, _) = der_next(rest)? else {
        return None;
    };
    let (0x06, oid, _) = der_next(algorithm)? else {
        return None;
    };
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    if let Some(last) = oid.strip_prefix(RSA) {
        return match last {
            // md5WithRSA, sha1WithRSA (RFC 5929: MD5/SHA-1 become SHA-256), sha256WithRSA.
            [0x04] | [0x05] | [0x0b] => Some(Hash::Sha256),
            [0x0e] => Some(Hash::Sha224),
            [0x0c] => Some(Hash::Sha384),
            [0x0d] => Some(Hash::Sha512),
            _ => None,
        };
    }
    if let Some(last) = oid.strip_prefix(ECDSA) {
        return match last {
            // ecdsa-with-SHA1 (becomes SHA-256), then SHA-224/256/384/512.
            [0x01] | [0x03, 0x02] => Some(Hash::Sha256),
            [0x03, 0x01] => Some(Hash::Sha224),
            [0x03, 0x03] => Some(Hash::Sha384),
            [0x03, 0x04] => Some(Hash::Sha512),
            _ => None,
        };
    }
    None
}

/// Reads one DER TLV: `(tag, contents, rest)`.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        (
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | b as usize),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_by_mode() {
        let mut p = ConnectParams::default();
        assert_eq!(verification(&p), Verify::Nothing);
        p.sslmode = SslMode::Require;
        assert_eq!(verification(&p), Verify::Nothing);
        p.sslrootcert = Some("ca.pem".into());
        assert_eq!(verification(&p), Verify::Chain);
        p.sslmode = SslMode::VerifyCa;
        assert_eq!(verification(&p), Verify::Chain);
        p.sslmode = SslMode::VerifyFull;
        assert_eq!(verification(&p), Verify::ChainAndName);
    }

    #[test]
    fn channel_binding_hash_follows_signature_algorithm() {
        // ECDSA P-256 / SHA-256 (rcgen's default).
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().as_ref();
        assert_eq!(signature_hash(der), Some(Hash::Sha256));
        assert_eq!(
            tls_server_end_point(der).unwrap(),
            sha2::Sha256::digest(der).to_vec()
        );

        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(signature_hash(cert.der()), Some(Hash::Sha384));

        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(tls_server_end_point(cert.der()), None);
        assert_eq!(signature_hash(b"\x30\x03garbage"), None);
    }

    #[test]
    fn missing_root_file_is_a_config_error() {
        let p = ConnectParams {
            sslmode: SslMode::VerifyCa,
            sslrootcert: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let err = client_config(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
