//! Authentication after the startup message: trust, cleartext password, MD5, SCRAM-SHA-256
//! and SCRAM-SHA-256-PLUS (channel binding to the TLS certificate).

use std::fmt;

use postgres_protocol::{
    authentication::{
        md5_hash,
        sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256, SCRAM_SHA_256_PLUS},
    },
    message::frontend,
};

use bytes::BytesMut;

use super::{
    errors::ServerCtx,
    frame::{parse_error_fields, tag, Body, Frame},
    params::{ConnectParams, Password},
    tls,
};
use crate::{Error, ErrorKind, Result};

/// How the server authenticated us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// No password was asked for (`trust`, `peer`-like methods, or `cert`).
    Trust,
    /// `password`: the password was sent as is (only acceptable over TLS).
    Cleartext,
    /// `md5`.
    Md5,
    /// `scram-sha-256` without channel binding.
    ScramSha256,
    /// `scram-sha-256` bound to the server's TLS certificate (`SCRAM-SHA-256-PLUS`).
    ScramSha256Plus,
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthMethod::Trust => "trust",
            AuthMethod::Cleartext => "password",
            AuthMethod::Md5 => "md5",
            AuthMethod::ScramSha256 => "SCRAM-SHA-256",
            AuthMethod::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
        })
    }
}

/// Authentication request codes (the first field of an 'R' message).
const AUTH_OK: i32 = 0;
const AUTH_KERBEROS_V5: i32 = 2;
const AUTH_CLEARTEXT: i32 = 3;
const AUTH_MD5: i32 = 5;
const AUTH_SCM: i32 = 6;
const AUTH_GSS: i32 = 7;
const AUTH_GSS_CONTINUE: i32 = 8;
const AUTH_SSPI: i32 = 9;
const AUTH_SASL: i32 = 10;
const AUTH_SASL_CONTINUE: i32 = 11;
const AUTH_SASL_FINAL: i32 = 12;

/// What the authentication exchange needs of a connection. The client implements it, so this
/// module does not depend on the client.
pub(crate) trait AuthChannel {
    /// Who we are talking to, for error messages.
    fn ctx(&self) -> &ServerCtx;
    /// The buffer [`AuthChannel::send`] writes out.
    fn write_buf(&mut self) -> &mut BytesMut;
    /// The server's certificate (DER) when the connection uses TLS.
    fn peer_certificate(&self) -> Option<&[u8]>;
    /// Reads the next backend message.
    async fn recv(&mut self) -> Result<Frame>;
    /// Writes out the write buffer and flushes.
    async fn send(&mut self) -> Result<()>;
    /// Handles messages that may arrive at any time; returns whether `frame` was one.
    fn handle_async(&mut self, frame: &Frame) -> bool;
}

/// Runs the authentication exchange until `AuthenticationOk`.
pub(crate) async fn authenticate(
    conn: &mut impl AuthChannel,
    params: &ConnectParams,
) -> Result<AuthMethod> {
    let mut method = AuthMethod::Trust;
    let mut scram: Option<ScramSha256> = None;
    let mut scram_verified = false;
    loop {
        let frame = conn.recv().await?;
        match frame.tag {
            tag::AUTHENTICATION => {}
            tag::ERROR_RESPONSE => {
                return Err(conn.ctx().server_error(parse_error_fields(&frame.body)));
            }
            _ if conn.handle_async(&frame) => continue,
            other => {
                return Err(conn.ctx().protocol(format!(
                    "unexpected message {:?} during authentication",
                    other as char
                )))
            }
        }
        let mut body = Body(&frame.body);
        let code = body
            .i32()
            .ok_or_else(|| conn.ctx().protocol("truncated authentication request"))?;
        match code {
            AUTH_OK => {
                // A server that skips the SCRAM final message has not proven it knows the
                // password; accepting that would let an impostor in the middle succeed.
                if scram.is_some() && !scram_verified {
                    return Err(Error::new(
                        ErrorKind::Authentication,
                        format!(
                            "the server at {} ended SCRAM authentication without proving it \
                             knows the password; refusing the connection",
                            conn.ctx().target()
                        ),
                    ));
                }
                return Ok(method);
            }
            AUTH_CLEARTEXT => {
                let password = require_password(conn, params, "password")?;
                method = AuthMethod::Cleartext;
                conn.write_buf().clear();
                frontend::password_message(password.expose().as_bytes(), conn.write_buf())
                    .map_err(|_| password_has_nul())?;
                conn.send().await?;
            }
            AUTH_MD5 => {
                let salt: [u8; 4] = body
                    .bytes(4)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| conn.ctx().protocol("truncated MD5 salt"))?;
                let password = require_password(conn, params, "md5")?;
                method = AuthMethod::Md5;
                let hash = md5_hash(params.user.as_bytes(), password.expose().as_bytes(), salt);
                conn.write_buf().clear();
                frontend::password_message(hash.as_bytes(), conn.write_buf())
                    .map_err(|_| password_has_nul())?;
                conn.send().await?;
            }
            AUTH_SASL => {
                let mut mechanisms = Vec::new();
                while let Some(m) = body.cstr() {
                    if m.is_empty() {
                        break;
                    }
                    mechanisms.push(m);
                }
                let password = require_password(conn, params, "scram-sha-256")?;
                // Channel binding is possible only on TLS and for hashable certificates.
                let binding_data = conn.peer_certificate().and_then(tls::tls_server_end_point);
                let (mechanism, binding) =
                    if mechanisms.contains(&SCRAM_SHA_256_PLUS) && binding_data.is_some() {
                        method = AuthMethod::ScramSha256Plus;
                        let data = binding_data.unwrap_or_default();
                        (
                            SCRAM_SHA_256_PLUS,
                            ChannelBinding::tls_server_end_point(data),
                        )
                    } else if mechanisms.contains(&SCRAM_SHA_256) {
                        method = AuthMethod::ScramSha256;
                        // 'y': we could bind but the server did not offer it (lets the server
                        // detect a downgrade); 'n': we cannot bind at all.
                        let binding = if binding_data.is_some() {
                            ChannelBinding::unrequested()
                        } else {
                            ChannelBinding::unsupported()
                        };
                        (SCRAM_SHA_256, binding)
                    } else {
                        return Err(Error::new(
                            ErrorKind::Authentication,
                            format!(
                            "the server at {} offered SASL mechanisms {} for user \"{}\", none of \
                             which is supported (SCRAM-SHA-256 is)",
                            conn.ctx().target(),
                            mechanisms.join(", "),
                            params.user
                        ),
                        ));
                    };
                tracing::debug!(%mechanism, "authenticating");
                let client = ScramSha256::new(password.expose().as_bytes(), binding);
                conn.write_buf().clear();
                frontend::sasl_initial_response(mechanism, client.message(), conn.write_buf())
                    .map_err(|e| conn.ctx().protocol(e))?;
                conn.send().await?;
                scram = Some(client);
            }
            AUTH_SASL_CONTINUE => {
                let client = scram
                    .as_mut()
                    .ok_or_else(|| conn.ctx().protocol("SASL continue without SASL start"))?;
                client.update(body.0).map_err(|e| scram_error(conn, e))?;
                conn.write_buf().clear();
                frontend::sasl_response(client.message(), conn.write_buf())
                    .map_err(|e| conn.ctx().protocol(e))?;
                conn.send().await?;
            }
            AUTH_SASL_FINAL => {
                let client = scram
                    .as_mut()
                    .ok_or_else(|| conn.ctx().protocol("SASL final without SASL start"))?;
                client.finish(body.0).map_err(|e| scram_error(conn, e))?;
                scram_verified = true;
            }
            AUTH_KERBEROS_V5 | AUTH_SCM | AUTH_GSS | AUTH_GSS_CONTINUE | AUTH_SSPI => {
                let name = match code {
                    AUTH_KERBEROS_V5 => "Kerberos V5",
                    AUTH_SCM => "SCM credential",
                    AUTH_SSPI => "SSPI",
                    _ => "GSSAPI",
                };
                return Err(Error::new(
                    ErrorKind::Authentication,
                    format!(
                        "the server at {} requested {name} authentication for user \"{}\", which \
                         is not supported; use password, md5 or scram-sha-256 in pg_hba.conf",
                        conn.ctx().target(),
                        params.user
                    ),
                ));
            }
            other => {
                return Err(conn
                    .ctx()
                    .protocol(format!("unknown authentication request {other}")))
            }
        }
    }
}

/// The password, or an error saying how to provide one.
fn require_password<'a>(
    conn: &impl AuthChannel,
    params: &'a ConnectParams,
    method: &str,
) -> Result<&'a Password> {
    params.password.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Authentication,
            format!(
                "the server at {} requires a password for user \"{}\" ({method} authentication) \
                 but none was given: set database.password, the password in the connection \
                 string, PGPASSWORD, or a .pgpass entry",
                conn.ctx().target(),
                params.user
            ),
        )
    })
}

fn password_has_nul() -> Error {
    Error::config("the password contains a NUL character, which PostgreSQL cannot accept")
}

/// A SCRAM step failed: bad server message, or the server's signature did not verify.
fn scram_error(conn: &impl AuthChannel, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Authentication,
        format!(
            "SCRAM authentication with the server at {} failed",
            conn.ctx().target()
        ),
    )
    .with_source(e)
}
