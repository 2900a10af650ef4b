//! Integration tests of the wire-protocol client against real PostgreSQL servers started
//! for the test: authentication methods, TLS modes, simple queries, replication commands
//! and the CopyBoth stream.

mod support;

use std::{
    path::PathBuf,
    sync::OnceLock,
    time::{Duration, Instant},
};

use bytes::Bytes;
use pgoutput_decoder::{
    conn::{
        format_lsn, AuthMethod, ConnectParams, CreateSlotOptions, Password, PgConnection,
        ReplicationReader, ReplicationStream, ReplicationWriter, SnapshotAction, SslMode,
        TargetSessionAttrs,
    },
    ErrorKind,
};
use support::pgoutput_options;
use throwaway_postgres::{Cluster, ClusterBuilder, StandbyOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const SUPERUSER_PASSWORD: &str = "super secret";
const SCRAM_PASSWORD: &str = "scram:pw's";
const WRONG_PASSWORD: &str = "definitely-wrong-pw";

/// A cluster without TLS and with `trust` authentication, for the replication tests.
fn plain() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        ClusterBuilder::new()
            // Short, so idle walsenders send keepalives within the tests' patience.
            .setting("wal_sender_timeout", "4s")
            .start()
            .expect("start a throwaway PostgreSQL cluster")
    })
}

/// A cluster with TLS and per-user authentication methods.
struct TlsEnv {
    cluster: Cluster,
    ca: PathBuf,
    other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

fn tls_env() -> &'static TlsEnv {
    static ENV: OnceLock<TlsEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let certs = make_certificates(&dir);
        let cluster = ClusterBuilder::new()
            .superuser_password(SUPERUSER_PASSWORD)
            .ssl(certs.server_cert, certs.server_key, Some(certs.ca.clone()))
            // 127.0.0.2 lets a test reach the server by an address the certificate lacks.
            .setting("listen_addresses", "127.0.0.1,127.0.0.2")
            .hba_line("host all trust_user 127.0.0.1/32 trust")
            .hba_line("host all clear_user 127.0.0.1/32 password")
            .hba_line("host all md5_user 127.0.0.1/32 md5")
            .hba_line("hostssl all ssl_user 127.0.0.1/32 scram-sha-256")
            .hba_line("host all ssl_user 127.0.0.1/32 reject")
            .hba_line("hostnossl all nossl_user 127.0.0.1/32 scram-sha-256")
            .hba_line("host all nossl_user 127.0.0.1/32 reject")
            .hba_line("host all all 127.0.0.2/32 scram-sha-256")
            .start()
            .expect("start a throwaway PostgreSQL cluster with TLS");
        cluster
            .psql(
                "postgres",
                "CREATE ROLE trust_user LOGIN;
                 CREATE ROLE clear_user LOGIN PASSWORD 'clear pw';
                 CREATE ROLE scram_user LOGIN PASSWORD 'scram:pw''s';
                 CREATE ROLE ssl_user LOGIN PASSWORD 'sslpw';
                 CREATE ROLE nossl_user LOGIN PASSWORD 'nosslpw';
                 SET password_encryption = 'md5';
                 CREATE ROLE md5_user LOGIN PASSWORD 'md5pw';",
            )
            .expect("create test roles");
        TlsEnv {
            cluster,
            ca: certs.ca,
            other_ca: certs.other_ca,
            _dir: dir,
        }
    })
}

struct Certificates {
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

/// A CA, a server certificate for `localhost` and `127.0.0.1` signed by it, and an
/// unrelated CA.
fn make_certificates(dir: &tempfile::TempDir) -> Certificates {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let ca_params = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
    };
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params("conn test CA").self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params("conn test CA"), ca_key);
    let other_key = KeyPair::generate().unwrap();
    let other_ca = ca_params("unrelated CA").self_signed(&other_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    Certificates {
        ca: write("ca.pem", ca.pem()),
        other_ca: write("other-ca.pem", other_ca.pem()),
        server_cert: write("server.crt", server_cert.pem()),
        server_key: write("server.key", server_key.serialize_pem()),
    }
}

fn params_for(cluster: &Cluster, user: &str, password: Option<&str>) -> ConnectParams {
    ConnectParams {
        host: cluster.host().to_owned(),
        port: cluster.port(),
        user: user.to_owned(),
        password: password.map(Password::from),
        dbname: "postgres".to_owned(),
        sslmode: SslMode::Disable,
        connect_timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

fn tls_params(user: &str, password: Option<&str>, sslmode: SslMode) -> ConnectParams {
    ConnectParams {
        sslmode,
        ..params_for(&tls_env().cluster, user, password)
    }
}

async fn connect_ok(params: &ConnectParams) -> PgConnection {
    match PgConnection::connect(params, false).await {
        Ok(conn) => conn,
        Err(e) => panic!("connect {params}: {e}"),
    }
}

async fn connect_replication(params: &ConnectParams) -> PgConnection {
    match PgConnection::connect(params, true).await {
        Ok(conn) => conn,
        Err(e) => panic!("connect {params}: {e}"),
    }
}

async fn connect_err(params: &ConnectParams) -> pgoutput_decoder::Error {
    match PgConnection::connect(params, false).await {
        Ok(conn) => panic!("connect {params} succeeded ({conn:?}) but should fail"),
        Err(e) => e,
    }
}

async fn current_user(conn: &mut PgConnection) -> String {
    let rows = conn.simple_query("SELECT current_user").await.unwrap();
    rows[0].get(0).unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn trust_auth_and_server_info() {
    let cluster = plain();
    let mut conn = connect_ok(&params_for(cluster, "postgres", None)).await;
    assert_eq!(conn.auth_method(), AuthMethod::Trust);
    assert!(!conn.is_tls());
    assert!(
        conn.server_version_num() >= 120000,
        "{}",
        conn.server_version_num()
    );
    assert_eq!(conn.server_version_num() / 10000, cluster.major_version());
    assert_eq!(conn.parameter("server_encoding"), Some("UTF8"));
    assert_eq!(conn.parameter("client_encoding"), Some("UTF8"));
    assert_eq!(conn.parameter("DateStyle"), Some("ISO, MDY"));
    assert_eq!(conn.parameter("application_name"), Some("pgoutput-decoder"));
    let pid = conn.simple_query("SELECT pg_backend_pid()").await.unwrap();
    assert_eq!(pid[0].get(0).unwrap(), conn.backend_pid().to_string());
    conn.close().await;
}

#[tokio::test]
async fn trust_user_on_the_tls_cluster() {
    let mut conn = connect_ok(&tls_params("trust_user", None, SslMode::Disable)).await;
    assert_eq!(conn.auth_method(), AuthMethod::Trust);
    assert_eq!(current_user(&mut conn).await, "trust_user");
}

#[tokio::test]
async fn cleartext_password_auth() {
    let mut conn = connect_ok(&tls_params(
        "clear_user",
        Some("clear pw"),
        SslMode::Disable,
    ))
    .await;
    assert_eq!(conn.auth_method(), AuthMethod::Cleartext);
    assert_eq!(current_user(&mut conn).await, "clear_user");
}

#[tokio::test]
async fn md5_auth() {
    let mut conn = connect_ok(&tls_params("md5_user", Some("md5pw"), SslMode::Disable)).await;
    assert_eq!(conn.auth_method(), AuthMethod::Md5);
    assert_eq!(current_user(&mut conn).await, "md5_user");
}

#[tokio::test]
async fn scram_auth_without_tls() {
    let params = tls_params("scram_user", Some(SCRAM_PASSWORD), SslMode::Disable);
    let mut conn = connect_ok(&params).await;
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256);
    assert!(!conn.is_tls());
    assert_eq!(current_user(&mut conn).await, "scram_user");
}

#[tokio::test]
async fn scram_plus_channel_binding_over_tls() {
    let params = tls_params("scram_user", Some(SCRAM_PASSWORD), SslMode::Require);
    let mut conn = connect_ok(&params).await;
    assert!(conn.is_tls());
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256Plus);
    let rows = conn
        .simple_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .await
        .unwrap();
    assert_eq!(rows[0].get(0), Some("t"));
}

#[tokio::test]
async fn wrong_password_is_an_authentication_error_without_the_password() {
    for (user, sslmode) in [
        ("scram_user", SslMode::Disable),
        ("scram_user", SslMode::Require),
        ("md5_user", SslMode::Disable),
        ("clear_user", SslMode::Disable),
    ] {
        let err = connect_err(&tls_params(user, Some(WRONG_PASSWORD), sslmode)).await;
        assert_eq!(err.kind(), ErrorKind::Authentication, "{user}: {err}");
        assert_eq!(err.code(), Some("28P01"), "{user}: {err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(WRONG_PASSWORD), "password leaked: {text}");
        assert!(
            err.to_string().contains(&format!(
                "password authentication failed for user \"{user}\""
            )),
            "{err}"
        );
        assert!(err.to_string().contains("PGPASSWORD"), "{err}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn missing_password_says_how_to_provide_one() {
    let err = connect_err(&tls_params("scram_user", None, SslMode::Disable)).await;
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("requires a password") && msg.contains("PGPASSWORD"),
        "{msg}"
    );
    assert!(
        msg.contains(".pgpass") && msg.contains("scram_user"),
        "{msg}"
    );
}

#[tokio::test]
async fn unknown_database_is_a_config_error() {
    let mut params = params_for(plain(), "postgres", None);
    params.dbname = "no_such_db".into();
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.code(), Some("3D000"));
    assert!(
        err.to_string()
            .contains("database \"no_such_db\" does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn dsn_uri_with_percent_encoded_password_connects() {
    let env = tls_env();
    let dsn = format!(
        "postgresql://scram_user:scram%3Apw%27s@127.0.0.1:{}/postgres?sslmode=verify-full&\
         sslrootcert={}&application_name=from%20uri&connect_timeout=5",
        env.cluster.port(),
        env.ca.display()
    );
    let params = ConnectParams::from_dsn(&dsn).unwrap();
    let mut conn = connect_ok(&params).await;
    assert_eq!(conn.parameter("application_name"), Some("from uri"));
    assert_eq!(current_user(&mut conn).await, "scram_user");
}

// ---------------------------------------------------------------------------------------
// Connection failures

/// A port on which nothing listens.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn unreachable_port_fails_fast_with_connection_error() {
    let params = ConnectParams {
        host: "127.0.0.1".into(),
        port: closed_port().await,
        sslmode: SslMode::Disable,
        ..Default::default()
    };
    let started = Instant::now();
    let err = connect_err(&params).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{}", params.port)), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(msg.contains("listen_addresses"), "{msg}");
}

// ---------------------------------------------------------------------------------------
// Several hosts and target_session_attrs

/// A hot standby of [`plain`].
fn standby() -> &'static Cluster {
    static STANDBY: OnceLock<Cluster> = OnceLock::new();
    STANDBY.get_or_init(|| {
        plain()
            .create_standby(&StandbyOptions::default())
            .expect("start a standby of the plain cluster")
    })
}

/// `host=127.0.0.1,... port=p1,...` for the given ports.
fn hosts_dsn(ports: &[u16], attrs: &str) -> ConnectParams {
    let hosts = vec!["127.0.0.1"; ports.len()].join(",");
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    ConnectParams::from_dsn(&format!(
        "host={hosts} port={} user=postgres dbname=postgres sslmode=disable \
         target_session_attrs={attrs}",
        ports.join(",")
    ))
    .unwrap()
}

#[tokio::test]
async fn several_hosts_are_tried_in_order() {
    let (down, up) = (closed_port().await, plain().port());
    let params = hosts_dsn(&[down, up], "any");
    assert_eq!(params.alternate_hosts, [("127.0.0.1".to_owned(), up)]);
    let mut conn = connect_ok(&params).await;
    assert_eq!(conn.server(), ("127.0.0.1", up));
    assert_eq!(current_user(&mut conn).await, "postgres");
    let repl = connect_replication(&params).await;
    assert_eq!(repl.server(), ("127.0.0.1", up));
    // The URI form too.
    let params = ConnectParams::from_dsn(&format!(
        "postgresql://postgres@127.0.0.1:{down},127.0.0.1:{up}/postgres?sslmode=disable"
    ))
    .unwrap();
    assert_eq!(connect_ok(&params).await.server(), ("127.0.0.1", up));
}

#[tokio::test]
async fn when_no_host_works_the_error_names_each_one() {
    let (a, b) = (closed_port().await, closed_port().await);
    let err = connect_err(&hosts_dsn(&[a, b], "any")).await;
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.contains("could not connect to any of the 2 hosts"),
        "{msg}"
    );
    assert!(msg.contains(&format!("127.0.0.1:{a}")), "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{b}")), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
}

#[tokio::test]
async fn target_session_attrs_chooses_primary_or_standby() {
    let (primary, standby) = (plain().port(), standby().port());
    // The standby comes first; read-write and primary skip it, on plain and on replication
    // (walsender) connections alike.
    for attrs in ["read-write", "primary"] {
        let params = hosts_dsn(&[standby, primary], attrs);
        assert_eq!(connect_ok(&params).await.server().1, primary, "{attrs}");
        assert_eq!(
            connect_replication(&params).await.server().1,
            primary,
            "{attrs}"
        );
    }
    for attrs in ["standby", "read-only"] {
        let params = hosts_dsn(&[primary, standby], attrs);
        assert_eq!(connect_ok(&params).await.server().1, standby, "{attrs}");
        assert_eq!(
            connect_replication(&params).await.server().1,
            standby,
            "{attrs}"
        );
    }
    let params = hosts_dsn(&[standby, primary], "any");
    assert_eq!(params.target_session_attrs, TargetSessionAttrs::Any);
    assert_eq!(connect_ok(&params).await.server().1, standby);

    // Only a standby, but a primary wanted: a retryable error (it may be promoted) saying why.
    let err = connect_err(&hosts_dsn(&[standby], "read-write")).await;
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("server is in hot standby mode"), "{msg}");
    assert!(msg.contains("target_session_attrs=read-write"), "{msg}");
    let down = closed_port().await;
    let err = connect_err(&hosts_dsn(&[down, standby], "primary")).await;
    let msg = err.to_string();
    assert!(
        msg.contains("could not connect to any of the 2 hosts with target_session_attrs=primary"),
        "{msg}"
    );
    assert!(msg.contains(&format!("127.0.0.1:{down}: ")), "{msg}");
    assert!(
        msg.contains(&format!(
            "127.0.0.1:{standby}: server is in hot standby mode"
        )),
        "{msg}"
    );
}

#[tokio::test]
async fn unresolvable_host_is_a_connection_error() {
    let params = ConnectParams {
        host: "no-such-host.invalid".into(),
        connect_timeout: Duration::from_secs(3),
        ..Default::default()
    };
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}

#[tokio::test]
async fn silent_server_hits_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and keep the socket open, never answering.
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(socket);
    });
    let params = ConnectParams {
        host: "127.0.0.1".into(),
        port,
        sslmode: SslMode::Prefer,
        connect_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let started = Instant::now();
    let err = connect_err(&params).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    server.abort();
}

#[tokio::test]
async fn oversized_frame_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut startup = [0u8; 512];
        let _ = socket.read(&mut startup).await.unwrap();
        // An 'R' message claiming 2 GiB.
        socket
            .write_all(&[b'R', 0x7f, 0xff, 0xff, 0xff])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let params = ConnectParams {
        host: "127.0.0.1".into(),
        port,
        sslmode: SslMode::Disable,
        ..Default::default()
    };
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("1 GiB"), "{err}");
    server.abort();
}

// ---------------------------------------------------------------------------------------
// TLS

#[tokio::test]
async fn sslmode_disable_prefer_require() {
    let password = Some(SCRAM_PASSWORD);
    let conn = connect_ok(&tls_params("scram_user", password, SslMode::Disable)).await;
    assert!(!conn.is_tls());
    let conn = connect_ok(&tls_params("scram_user", password, SslMode::Prefer)).await;
    assert!(conn.is_tls());
    let conn = connect_ok(&tls_params("scram_user", password, SslMode::Require)).await;
    assert!(conn.is_tls());
    conn.close().await;
}

#[tokio::test]
async fn prefer_falls_back_to_plain_when_server_has_no_ssl() {
    let mut params = params_for(plain(), "postgres", None);
    params.sslmode = SslMode::Prefer;
    let conn = connect_ok(&params).await;
    assert!(!conn.is_tls());
}

#[tokio::test]
async fn require_fails_when_server_has_no_ssl() {
    for sslmode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let mut params = params_for(plain(), "postgres", None);
        params.sslmode = sslmode;
        let err = connect_err(&params).await;
        assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
        let msg = err.to_string();
        assert!(msg.contains("does not support SSL"), "{msg}");
        assert!(msg.contains(&format!("sslmode={sslmode}")), "{msg}");
    }
}

#[tokio::test]
async fn prefer_retries_without_tls_when_hba_rejects_tls() {
    let params = tls_params("nossl_user", Some("nosslpw"), SslMode::Prefer);
    let mut conn = connect_ok(&params).await;
    assert!(!conn.is_tls());
    assert_eq!(current_user(&mut conn).await, "nossl_user");
}

#[tokio::test]
async fn hostssl_only_user_needs_tls() {
    let err = connect_err(&tls_params("ssl_user", Some("sslpw"), SslMode::Disable)).await;
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert_eq!(err.code(), Some("28000"));
    assert!(err.to_string().contains("pg_hba.conf"), "{err}");
    let conn = connect_ok(&tls_params("ssl_user", Some("sslpw"), SslMode::Require)).await;
    assert!(conn.is_tls());
}

#[tokio::test]
async fn verify_ca_checks_the_chain() {
    let env = tls_env();
    let mut params = tls_params("scram_user", Some(SCRAM_PASSWORD), SslMode::VerifyCa);
    params.sslrootcert = Some(env.ca.clone());
    let conn = connect_ok(&params).await;
    assert!(conn.is_tls());
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256Plus);

    // verify-ca does not check the name: 127.0.0.2 is not in the certificate.
    params.host = "127.0.0.2".into();
    assert!(connect_ok(&params).await.is_tls());

    params.host = "127.0.0.1".into();
    params.sslrootcert = Some(env.other_ca.clone());
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("not trusted"), "{err}");
    assert!(err.to_string().contains("sslmode=verify-ca"), "{err}");
}

#[tokio::test]
async fn require_with_root_cert_behaves_like_verify_ca() {
    let env = tls_env();
    let mut params = tls_params("scram_user", Some(SCRAM_PASSWORD), SslMode::Require);
    params.sslrootcert = Some(env.other_ca.clone());
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    params.sslrootcert = Some(env.ca.clone());
    assert!(connect_ok(&params).await.is_tls());
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    let env = tls_env();
    for host in ["localhost", "127.0.0.1"] {
        let mut params = tls_params("scram_user", Some(SCRAM_PASSWORD), SslMode::VerifyFull);
        params.sslrootcert = Some(env.ca.clone());
        params.host = host.into();
        let conn = connect_ok(&params).await;
        assert!(conn.is_tls(), "{host}");
    }

    let mut params = tls_params("scram_user", Some(SCRAM_PASSWORD), SslMode::VerifyFull);
    params.sslrootcert = Some(env.ca.clone());
    params.host = "127.0.0.2".into();
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("host name mismatch") && msg.contains("127.0.0.2"),
        "{msg}"
    );
    assert!(msg.contains("sslmode=verify-full"), "{msg}");

    // Untrusted chain under verify-full as well.
    params.host = "localhost".into();
    params.sslrootcert = Some(env.other_ca.clone());
    let err = connect_err(&params).await;
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("not trusted"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Simple query

#[tokio::test]
async fn simple_query_returns_rows() {
    let mut conn = connect_ok(&params_for(plain(), "postgres", None)).await;
    let rows = conn
        .simple_query(
            "SELECT 1 AS a, NULL::text AS b, 'x''y' AS c;
             DO $$ BEGIN RAISE NOTICE 'a notice'; RAISE WARNING 'a warning'; END $$;
             SELECT g AS n FROM generate_series(1, 3) g",
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].get(0), Some("1"));
    assert_eq!(rows[0].get(1), None);
    assert!(rows[0].is_null(1));
    assert_eq!(rows[0].get_by_name("c"), Some("x'y"));
    let names: Vec<&str> = rows[0].columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(rows[0].columns()[0].type_oid(), 23); // int4
    assert_eq!(rows[3].get_by_name("n"), Some("3"));
    assert_eq!(rows[3].columns().len(), 1);

    // Empty query, statements without rows.
    assert!(conn.simple_query("").await.unwrap().is_empty());
    conn.execute("CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();

    // An error is returned with its SQLSTATE and the connection stays usable.
    let err = conn
        .simple_query("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.code(), Some("42P01"));
    assert!(err.db_error().unwrap().message.contains("no_such_table"));
    let rows = conn.simple_query("SELECT x FROM t").await.unwrap();
    assert_eq!(rows[0].get(0), Some("1"));

    // COPY TO STDOUT is drained, COPY FROM STDIN refused; both leave the connection usable.
    conn.execute("COPY t TO STDOUT").await.unwrap();
    assert!(conn.execute("COPY t FROM STDIN").await.is_err());
    assert_eq!(
        conn.simple_query("SELECT 2").await.unwrap()[0].get(0),
        Some("2")
    );

    // Non-ASCII text round-trips (client_encoding is UTF8).
    let rows = conn.simple_query("SELECT 'grüße ☃'").await.unwrap();
    assert_eq!(rows[0].get(0), Some("grüße ☃"));
}

#[tokio::test]
async fn cancelled_request_poisons_the_connection() {
    let mut conn = connect_ok(&params_for(plain(), "postgres", None)).await;
    let slow = conn.simple_query("SELECT pg_sleep(2)");
    assert!(tokio::time::timeout(Duration::from_millis(100), slow)
        .await
        .is_err());
    let err = conn.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains("unusable"), "{err}");
}

#[tokio::test]
async fn terminated_backend_is_a_connection_error() {
    let mut conn = connect_ok(&params_for(plain(), "postgres", None)).await;
    let mut admin = connect_ok(&params_for(plain(), "postgres", None)).await;
    admin
        .execute(&format!(
            "SELECT pg_terminate_backend({})",
            conn.backend_pid()
        ))
        .await
        .unwrap();
    let err = conn.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
}

// ---------------------------------------------------------------------------------------
// Replication

async fn replication_conn() -> PgConnection {
    let conn = PgConnection::connect(&params_for(plain(), "postgres", None), true)
        .await
        .unwrap();
    assert!(conn.is_replication());
    conn
}

#[tokio::test]
async fn identify_system() {
    let mut conn = replication_conn().await;
    let info = conn.identify_system().await.unwrap();
    assert!(!info.systemid.is_empty() && info.systemid.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(info.timeline, 1);
    assert!(info.xlogpos > 0);
    assert_eq!(info.dbname.as_deref(), Some("postgres"));

    // SQL works on a replication=database connection too.
    let rows = conn.simple_query("SELECT 40 + 2").await.unwrap();
    assert_eq!(rows[0].get(0), Some("42"));
    conn.close().await;

    let mut normal = connect_ok(&params_for(plain(), "postgres", None)).await;
    let err = normal.identify_system().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[tokio::test]
async fn replication_without_the_replication_attribute_is_a_permission_error() {
    let mut admin = connect_ok(&params_for(plain(), "postgres", None)).await;
    admin
        .execute("CREATE ROLE conn_norepl LOGIN")
        .await
        .unwrap();
    let params = params_for(plain(), "conn_norepl", None);
    let err = PgConnection::connect(&params, true).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert_eq!(err.code(), Some("42501"));
    assert!(err.to_string().contains("REPLICATION"), "{err}");
    // A normal connection of the same role is fine.
    connect_ok(&params).await.close().await;
}

#[tokio::test]
async fn create_and_drop_logical_slots() {
    let mut conn = replication_conn().await;
    let temp = conn
        .create_logical_slot(
            "conn_test_temp",
            &CreateSlotOptions {
                temporary: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(temp.slot_name, "conn_test_temp");
    assert_eq!(temp.output_plugin, "pgoutput");
    assert!(temp.consistent_point > 0);
    assert_eq!(temp.snapshot_name, None);

    let slot = conn
        .create_logical_slot(
            "conn_test_persistent",
            &CreateSlotOptions {
                snapshot: SnapshotAction::Export,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(slot.snapshot_name.is_some(), "{slot:?}");

    let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
    let rows = sql
        .simple_query(
            "SELECT slot_name, temporary, plugin FROM pg_replication_slots \
             WHERE slot_name LIKE 'conn_test_%' ORDER BY slot_name",
        )
        .await
        .unwrap();
    let found: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(
        found,
        [("conn_test_persistent", "f"), ("conn_test_temp", "t")]
    );

    // Creating it again fails with duplicate_object.
    let err = conn
        .create_logical_slot("conn_test_persistent", &CreateSlotOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("42710"), "{err}");

    conn.drop_slot("conn_test_persistent", false).await.unwrap();
    let err = conn
        .drop_slot("conn_test_persistent", true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("42704"), "{err}");

    // The temporary slot goes away with its connection.
    conn.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = sql
            .simple_query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'conn_test_temp'")
            .await
            .unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "temporary slot still exists");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A standby status update ('r') confirming `lsn`.
fn status_update(lsn: u64) -> Vec<u8> {
    let mut msg = vec![b'r'];
    for _ in 0..3 {
        msg.extend_from_slice(&lsn.to_be_bytes());
    }
    msg.extend_from_slice(&0i64.to_be_bytes());
    msg.push(0);
    msg
}

/// Parses the WAL end of an XLogData or keepalive payload.
fn wal_end(payload: &Bytes) -> u64 {
    u64::from_be_bytes(payload[9..17].try_into().unwrap())
}

/// Sets up a table, a publication and a slot; returns the slot's start position.
async fn replication_fixture(table: &str, publication: &str, slot: &str) -> u64 {
    let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
    sql.execute(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, note text);
         CREATE PUBLICATION {publication} FOR TABLE {table}"
    ))
    .await
    .unwrap();
    support::create_slot(&params_for(plain(), "postgres", None), slot).await
}

#[tokio::test]
async fn streams_xlogdata_and_keepalives() {
    let start = replication_fixture("conn_stream_t", "conn_stream_pub", "conn_stream_slot").await;
    let repl = replication_conn().await;
    let stream = repl
        .start_logical_replication(
            "conn_stream_slot",
            start,
            &pgoutput_options("conn_stream_pub"),
        )
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.split();

    let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
    sql.execute("INSERT INTO conn_stream_t VALUES (1, 'hello from conn')")
        .await
        .unwrap();

    // Read with a status-update timer in the same select!, as the real consumer does.
    let mut kinds = Vec::new();
    let mut saw_insert = false;
    let mut saw_commit = false;
    let mut saw_keepalive = false;
    let mut confirmed = start;
    let mut ticker = tokio::time::interval(Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(saw_commit && saw_keepalive) {
        assert!(Instant::now() < deadline, "timed out; saw {kinds:?}");
        tokio::select! {
            payload = reader.recv() => {
                let payload = payload.unwrap().expect("stream ended early");
                match payload[0] {
                    b'w' => {
                        let data = &payload[25..];
                        kinds.push(data[0] as char);
                        if data[0] == b'I' {
                            assert!(data.windows(15).any(|w| w == b"hello from conn"));
                            saw_insert = true;
                        }
                        saw_commit |= saw_insert && data[0] == b'C';
                        confirmed = confirmed.max(wal_end(&payload));
                    }
                    b'k' => {
                        saw_keepalive = true;
                        if payload[17] != 0 {
                            writer.send_copy_data(&status_update(confirmed)).await.unwrap();
                        }
                    }
                    other => panic!("unexpected payload type {other}"),
                }
            }
            _ = ticker.tick() => writer.send_copy_data(&status_update(confirmed)).await.unwrap(),
        }
    }
    assert_eq!(kinds, ['B', 'R', 'I', 'C']);

    // Confirm everything received, then stop streaming and reuse the connection.
    assert!(confirmed > start);
    writer
        .send_copy_data(&status_update(confirmed))
        .await
        .unwrap();
    let stream = ReplicationStream::unsplit(reader, writer).unwrap();
    let mut conn = stream.finish().await.unwrap();
    let info = conn.identify_system().await.unwrap();
    assert!(info.xlogpos >= start);

    // The slot remembers what we confirmed.
    let rows = sql
        .simple_query(
            "SELECT confirmed_flush_lsn FROM pg_replication_slots \
             WHERE slot_name = 'conn_stream_slot'",
        )
        .await
        .unwrap();
    let confirmed_flush = pgoutput_decoder::conn::parse_lsn(rows[0].get(0).unwrap()).unwrap();
    assert!(
        confirmed_flush >= confirmed,
        "{} < {}",
        format_lsn(confirmed_flush),
        format_lsn(confirmed)
    );
    conn.close().await;
}

#[tokio::test]
async fn replication_over_tls() {
    let env = tls_env();
    let params = tls_params("postgres", Some(SUPERUSER_PASSWORD), SslMode::VerifyFull);
    let params = ConnectParams {
        sslrootcert: Some(env.ca.clone()),
        ..params
    };
    let mut sql = connect_ok(&params).await;
    sql.execute(
        "CREATE TABLE conn_tls_t (id int PRIMARY KEY); CREATE PUBLICATION conn_tls_pub FOR TABLE conn_tls_t",
    )
    .await
    .unwrap();
    let mut repl = connect_replication(&params).await;
    assert!(repl.is_tls());
    let slot = repl
        .create_logical_slot(
            "conn_tls_slot",
            &CreateSlotOptions {
                temporary: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stream = repl
        .start_logical_replication(
            "conn_tls_slot",
            slot.consistent_point,
            &pgoutput_options("conn_tls_pub"),
        )
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.split();
    sql.execute("INSERT INTO conn_tls_t SELECT generate_series(1, 500)")
        .await
        .unwrap();
    let mut inserts = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while inserts < 500 {
        assert!(
            Instant::now() < deadline,
            "timed out after {inserts} inserts"
        );
        tokio::select! {
            payload = reader.recv() => {
                let payload = payload.unwrap().expect("stream ended early");
                if payload[0] == b'w' && payload[25] == b'I' {
                    inserts += 1;
                }
            }
            // Writes through the TLS write half while the read half is mid-read.
            _ = tokio::time::sleep(Duration::from_millis(5)) => {
                writer.send_copy_data(&status_update(slot.consistent_point)).await.unwrap();
            }
        }
    }
    let mut conn = ReplicationStream::unsplit(reader, writer)
        .unwrap()
        .finish()
        .await
        .unwrap();
    assert!(conn.is_tls());
    conn.identify_system().await.unwrap();
    conn.close().await;
}

#[tokio::test]
async fn recv_is_cancel_safe() {
    let start = replication_fixture("conn_cancel_t", "conn_cancel_pub", "conn_cancel_slot").await;
    let stream = replication_conn()
        .await
        .start_logical_replication(
            "conn_cancel_slot",
            start,
            &pgoutput_options("conn_cancel_pub"),
        )
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.split();
    let rows = 2000;
    // Insert in batches from another task while we read, so reads really wait.
    let inserter = tokio::spawn(async move {
        let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
        for batch in 0..4 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (from, to) = (batch * rows / 4 + 1, (batch + 1) * rows / 4);
            sql.execute(&format!(
                "INSERT INTO conn_cancel_t \
                 SELECT g, repeat('x', g % 300) FROM generate_series({from}, {to}) g"
            ))
            .await
            .unwrap();
        }
    });

    // Cancel recv constantly; every insert must still arrive exactly once, in order.
    let mut next_id = 1;
    let mut cancelled = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while next_id <= rows {
        assert!(Instant::now() < deadline, "timed out at id {next_id}");
        match tokio::time::timeout(Duration::from_micros(50), reader.recv()).await {
            Err(_) => cancelled += 1,
            Ok(payload) => {
                let payload = payload.unwrap().expect("stream ended early");
                if payload[0] == b'k' && payload[17] != 0 {
                    writer.send_copy_data(&status_update(start)).await.unwrap();
                }
                if payload[0] == b'w' && payload[25] == b'I' {
                    // 'I', relation id (4), 'N', column count (2), 'n'/'t' ...: the first
                    // column is the id as text.
                    let tuple = &payload[25 + 1 + 4 + 1 + 2..];
                    assert_eq!(tuple[0], b't');
                    let len = u32::from_be_bytes(tuple[1..5].try_into().unwrap()) as usize;
                    let id: i32 = std::str::from_utf8(&tuple[5..5 + len])
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert_eq!(id, next_id);
                    next_id += 1;
                }
            }
        }
    }
    assert!(
        cancelled > 0,
        "recv was never cancelled; the test proves nothing"
    );
    inserter.await.unwrap();
    ReplicationStream::unsplit(reader, writer)
        .unwrap()
        .close()
        .await;
}

#[tokio::test]
async fn missing_slot_is_an_error_with_sqlstate_42704() {
    let repl = replication_conn().await;
    let err = repl
        .start_logical_replication("conn_no_such_slot", 0, &pgoutput_options("whatever"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("42704"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert!(
        err.db_error()
            .unwrap()
            .message
            .contains("conn_no_such_slot"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_publication_fails_the_stream() {
    let start = replication_fixture("conn_nopub_t", "conn_nopub_real", "conn_nopub_slot").await;
    let stream = replication_conn()
        .await
        .start_logical_replication(
            "conn_nopub_slot",
            start,
            &pgoutput_options("conn_nopub_missing"),
        )
        .await
        .unwrap();
    let (mut reader, _writer): (ReplicationReader, ReplicationWriter) = stream.split();
    let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
    sql.execute("INSERT INTO conn_nopub_t VALUES (1, 'x')")
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match reader.recv().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("stream ended without an error"),
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("no error within 20s");
    // Up to 17 the server stops with an error; 18 warns that it skipped the publication and
    // would go on without its changes, which the reader turns into an error too.
    let expected_code = if plain().major_version() >= 18 {
        "55000"
    } else {
        "42704"
    };
    assert_eq!(err.code(), Some(expected_code), "{err}");
    assert!(
        err.db_error()
            .unwrap()
            .message
            .contains("conn_nopub_missing"),
        "{err}"
    );
    // Once failed, the reader keeps failing instead of hanging.
    assert!(reader.recv().await.is_err());
}

#[tokio::test]
async fn second_consumer_of_a_slot_gets_slot_in_use() {
    let start = replication_fixture("conn_busy_t", "conn_busy_pub", "conn_busy_slot").await;
    support::assert_a_second_consumer_gets_slot_in_use(
        &params_for(plain(), "postgres", None),
        "conn_busy_slot",
        start,
        "conn_busy_pub",
    )
    .await;
}

#[tokio::test]
async fn terminated_walsender_ends_recv_with_connection_error() {
    let start = replication_fixture("conn_term_t", "conn_term_pub", "conn_term_slot").await;
    let repl = replication_conn().await;
    let pid = repl.backend_pid();
    let mut stream = repl
        .start_logical_replication("conn_term_slot", start, &pgoutput_options("conn_term_pub"))
        .await
        .unwrap();
    let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
    sql.execute(&format!("SELECT pg_terminate_backend({pid})"))
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.recv().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("stream ended without an error"),
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("no error within 20s");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
}

#[tokio::test]
async fn writer_close_frees_the_slot() {
    let start = replication_fixture("conn_close_t", "conn_close_pub", "conn_close_slot").await;
    let stream = replication_conn()
        .await
        .start_logical_replication(
            "conn_close_slot",
            start,
            &pgoutput_options("conn_close_pub"),
        )
        .await
        .unwrap();
    let (_reader, writer) = stream.split();
    writer.close().await;
    let mut sql = connect_ok(&params_for(plain(), "postgres", None)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = sql
            .simple_query(
                "SELECT active FROM pg_replication_slots WHERE slot_name = 'conn_close_slot'",
            )
            .await
            .unwrap();
        if rows[0].get(0) == Some("f") {
            break;
        }
        assert!(Instant::now() < deadline, "slot still active after close");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// CopyBoth framing against a scripted server (exact control over how bytes arrive)

fn backend_message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut msg = vec![tag];
    msg.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    msg.extend_from_slice(body);
    msg
}

/// Accepts one connection, completes a trust startup, answers the first query with
/// CopyBothResponse, then writes `script` in `chunk`-byte pieces and drains the client.
async fn scripted_server(script: Vec<u8>, chunk: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let len = socket.read_u32().await.unwrap() as usize;
        let mut startup = vec![0; len - 4];
        socket.read_exact(&mut startup).await.unwrap();
        let has = |needle: &[u8]| startup.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"\0replication\0database\0"), "startup: {startup:?}");
        assert!(has(b"\0client_encoding\0UTF8\0") && has(b"\0DateStyle\0ISO\0"));
        assert!(has(b"\0application_name\0pgoutput-decoder\0") && !has(b"TimeZone"));
        let mut hello = backend_message(b'R', &0i32.to_be_bytes());
        hello.extend(backend_message(
            b'S',
            b"server_version\x0015.0 (scripted)\x00",
        ));
        hello.extend(backend_message(b'K', &[0, 0, 0, 42, 0, 0, 0, 7]));
        hello.extend(backend_message(b'Z', b"I"));
        socket.write_all(&hello).await.unwrap();
        let tag = socket.read_u8().await.unwrap();
        assert_eq!(tag, b'Q');
        let len = socket.read_u32().await.unwrap() as usize;
        let mut query = vec![0; len - 4];
        socket.read_exact(&mut query).await.unwrap();
        assert!(query.starts_with(b"START_REPLICATION SLOT \"s\" LOGICAL 0/10"));
        socket
            .write_all(&backend_message(b'W', &[0, 0, 0]))
            .await
            .unwrap();
        for piece in script.chunks(chunk) {
            socket.write_all(piece).await.unwrap();
            socket.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
        let mut sink = Vec::new();
        let _ = socket.read_to_end(&mut sink).await;
    });
    port
}

fn scripted_params(port: u16) -> ConnectParams {
    ConnectParams {
        host: "127.0.0.1".into(),
        port,
        sslmode: SslMode::Disable,
        ..Default::default()
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + len) as u8).collect()
}

#[tokio::test]
async fn copy_data_frames_survive_arbitrary_splits() {
    let sizes = [0, 1, 5, 100, 65_535, 65_536, 65_537, 200_000, 3_000_000, 17];
    let mut script = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        script.extend(backend_message(b'd', &pattern(*size)));
        if i == 3 {
            script.extend(backend_message(
                b'N',
                b"SNOTICE\x00VNOTICE\x00C00000\x00Mhello\x00\x00",
            ));
        }
    }
    script.extend(backend_message(b'c', b""));
    script.extend(backend_message(b'C', b"START_REPLICATION\x00"));
    script.extend(backend_message(b'Z', b"I"));

    for chunk in [1, 3, 4096, 70_000, usize::MAX] {
        // One byte at a time is slow for 3 MB; skip the large frames there.
        let script = if chunk < 4 {
            let mut small = Vec::new();
            for size in &sizes[..4] {
                small.extend(backend_message(b'd', &pattern(*size)));
            }
            small.extend(backend_message(b'c', b""));
            small.extend(backend_message(b'C', b"START_REPLICATION\x00"));
            small.extend(backend_message(b'Z', b"I"));
            small
        } else {
            script.clone()
        };
        let expected: &[usize] = if chunk < 4 { &sizes[..4] } else { &sizes };
        let port = scripted_server(script, chunk.min(1 << 30)).await;
        let conn = connect_replication(&scripted_params(port)).await;
        assert_eq!(conn.server_version_num(), 150000);
        assert_eq!(conn.backend_pid(), 42);
        let mut stream = conn
            .start_logical_replication("s", 0x10, &[])
            .await
            .unwrap();
        for size in expected {
            let payload = stream.recv().await.unwrap().expect("payload");
            assert_eq!(payload.len(), *size, "chunk {chunk}");
            assert!(
                payload[..] == pattern(*size)[..],
                "chunk {chunk}, size {size}"
            );
        }
        assert_eq!(stream.recv().await.unwrap(), None);
        assert_eq!(stream.recv().await.unwrap(), None);
        // CommandComplete and ReadyForQuery follow: the connection is reusable.
        let conn = stream.finish().await.unwrap();
        conn.close().await;
    }
}

#[tokio::test]
async fn reader_throughput() {
    let count = 300_000;
    let payload = [b'w'; 60];
    let mut script = Vec::with_capacity(count * 65);
    for _ in 0..count {
        script.extend(backend_message(b'd', &payload));
    }
    script.extend(backend_message(b'c', b""));
    let port = scripted_server(script, 1 << 20).await;
    let conn = connect_replication(&scripted_params(port)).await;
    let (mut reader, _writer) = conn
        .start_logical_replication("s", 0x10, &[])
        .await
        .unwrap()
        .split();
    let started = Instant::now();
    let mut received = 0;
    while let Some(payload) = reader.recv().await.unwrap() {
        assert_eq!(payload.len(), 60);
        received += 1;
    }
    let elapsed = started.elapsed();
    assert_eq!(received, count);
    eprintln!(
        "received {count} CopyData messages in {elapsed:?} ({:.0} messages/s)",
        count as f64 / elapsed.as_secs_f64()
    );
}

#[test]
fn futures_and_halves_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let params = ConnectParams::default();
    assert_send(&PgConnection::connect(&params, true));
    fn assert_send_type<T: Send + Sync>() {}
    assert_send_type::<PgConnection>();
    assert_send_type::<ReplicationReader>();
    assert_send_type::<ReplicationWriter>();
    assert_send_type::<ReplicationStream>();
}

// ---------------------------------------------------------------------------------------
// Unix-domain sockets

#[tokio::test]
async fn unix_socket_directory_as_host_connects_without_tls() {
    let cluster = plain();
    let dir = cluster.socket_dir().display().to_string();
    // sslmode does not apply to a local socket, as in libpq.
    let dsn = format!(
        "host={dir} port={} user=postgres dbname=postgres sslmode=require",
        cluster.port()
    );
    let params = ConnectParams::from_dsn(&dsn).unwrap();
    let mut conn = connect_ok(&params).await;
    assert!(!conn.is_tls());
    assert_eq!(current_user(&mut conn).await, "postgres");
    let addr = conn
        .simple_query("SELECT inet_client_addr() IS NULL")
        .await
        .unwrap();
    assert_eq!(
        addr[0].get(0),
        Some("t"),
        "a local socket has no client address"
    );
    conn.close().await;

    // The URI form with the directory as a query parameter, for replication too.
    let uri = format!(
        "postgresql:///postgres?host={}&port={}&user=postgres",
        dir.replace('/', "%2F"),
        cluster.port()
    );
    let params = ConnectParams::from_dsn(&uri).unwrap();
    let mut repl = connect_replication(&params).await;
    let system = repl.simple_query("IDENTIFY_SYSTEM").await.unwrap();
    assert_eq!(system.len(), 1);
    repl.close().await;
}

#[tokio::test]
async fn missing_unix_socket_names_the_socket_file() {
    let params = ConnectParams::from_dsn("host=/nonexistent/dir port=5999 user=postgres").unwrap();
    let e = connect_err(&params).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("socket \"/nonexistent/dir/.s.PGSQL.5999\""),
        "{text}"
    );
    assert!(text.contains("unix_socket_directories"), "{text}");
    let e = ConnectParams::from_dsn("host=@abstract").unwrap_err();
    assert!(e.to_string().contains("abstract Unix-domain socket"), "{e}");
}
