//! Server errors are classified by SQLSTATE, never by their (translated) message text: against
//! a server speaking German (`lc_messages = de_DE.UTF-8`), the same mistakes give the same
//! error kinds as in English.
//!
//! The test needs the `de_DE.UTF-8` locale. It generates it when it can (Debian's `locales`
//! package and `locale-gen`, as root; `scripts/bootstrap.sh` does so on CI) and is skipped with
//! a message otherwise, except on CI (`CI=true`), where it fails instead.

mod support;

use std::{process::Command, time::Duration};

use pgoutput_decoder::{
    conn::{ConnectParams, CreateSlotOptions, PgConnection},
    ChangeStream, ErrorKind, PublicationAutocreate, ReplicationConfig,
};
use throwaway_postgres::{Cluster, ClusterBuilder};

const LOCALE: &str = "de_DE.UTF-8";

/// Whether `locale -a` lists `de_DE.UTF-8` (spelled `de_DE.utf8` there).
fn locale_installed() -> bool {
    Command::new("locale")
        .arg("-a")
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.eq_ignore_ascii_case("de_DE.utf8") || l == LOCALE)
        })
        .unwrap_or(false)
}

/// Generates the locale with Debian's `locale-gen` (as root), if it can.
fn generate_locale() -> Result<(), String> {
    let gen = std::path::Path::new("/etc/locale.gen");
    let text = std::fs::read_to_string(gen).map_err(|e| format!("{}: {e}", gen.display()))?;
    let line = "de_DE.UTF-8 UTF-8";
    if !text.lines().any(|l| l.trim() == line) {
        std::fs::write(gen, format!("{text}\n{line}\n"))
            .map_err(|e| format!("cannot add {line:?} to {}: {e}", gen.display()))?;
    }
    let out = Command::new("locale-gen")
        .output()
        .map_err(|e| format!("cannot run locale-gen (apt-get install locales): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "locale-gen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Makes sure the locale exists; `false` (after saying why) when the test must be skipped.
fn german_available() -> bool {
    if locale_installed() {
        return true;
    }
    let why = match generate_locale() {
        Ok(()) if locale_installed() => return true,
        Ok(()) => "locale-gen ran but the locale is still missing".to_owned(),
        Err(e) => e,
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the {LOCALE} locale is needed on CI (scripts/bootstrap.sh installs it): {why}"
    );
    eprintln!("skipping: the {LOCALE} locale is not installed and could not be generated: {why}");
    false
}

/// Whether the server has its German message catalog: builds without NLS (such as the
/// relocatable ones `scripts/fetch-postgres.sh` installs) answer in English whatever
/// `lc_messages` says.
fn speaks_german(pg: &Cluster) -> bool {
    let catalog = format!("de/LC_MESSAGES/postgres-{}.mo", pg.major_version());
    [
        pg.bin_dir().join("../share/locale"),
        "/usr/share/locale".into(),
    ]
    .iter()
    .any(|dir| dir.join(&catalog).exists())
}

fn german(builder: ClusterBuilder) -> Cluster {
    builder
        .setting("lc_messages", LOCALE)
        .start()
        .expect("start a throwaway PostgreSQL speaking German")
}

fn params(pg: &Cluster, user: &str, db: &str, password: &str) -> ConnectParams {
    let mut p = ConnectParams::from_dsn(&format!(
        "host={} port={} user={user} dbname={db} password={password}",
        pg.host(),
        pg.port()
    ))
    .unwrap();
    p.connect_timeout = Duration::from_secs(5);
    p
}

fn config(pg: &Cluster, slot: &str, publication: &str) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(params(pg, "postgres", "db", "pw"));
    c.slot_name = slot.into();
    c.publication_name = publication.into();
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_from_a_german_server_keep_their_kinds() {
    if !german_available() {
        return;
    }
    let pg = german(ClusterBuilder::new().superuser_password("pw"));
    if !speaks_german(&pg) {
        eprintln!(
            "SKIPPED errors_from_a_german_server_keep_their_kinds: these PostgreSQL {} binaries \
             ({}) have no German message catalog",
            pg.major_version(),
            pg.bin_dir().display()
        );
        return;
    }
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p FOR TABLE t; \
         CREATE ROLE norepl LOGIN PASSWORD 'pw'",
    )
    .unwrap();

    // Unknown database; and the server really speaks German.
    let err = PgConnection::connect(&params(&pg, "postgres", "nope", "pw"), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let server_said = &err.db_error().expect("a server error").message;
    assert!(
        server_said.contains("existiert nicht"),
        "the server does not speak German (are its translations installed?): {server_said}"
    );

    // Bad password.
    let err = ChangeStream::connect(config_with_password(&pg, "wrong"))
        .await
        .err()
        .expect("a wrong password must fail");
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");

    // No REPLICATION attribute.
    let err = PgConnection::connect(&params(&pg, "norepl", "db", "pw"), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert!(
        err.to_string()
            .contains("ALTER ROLE \"norepl\" REPLICATION"),
        "{err}"
    );

    // Missing slot, missing publication.
    let err = ChangeStream::connect(config(&pg, "missing_slot", "p"))
        .await
        .err()
        .expect("a missing slot must fail");
    assert_eq!(err.kind(), ErrorKind::SlotNotFound, "{err}");
    let mut c = config(&pg, "s", "missing_pub");
    c.publication_autocreate = PublicationAutocreate::Disabled;
    let err = ChangeStream::connect(c)
        .await
        .err()
        .expect("a missing publication must fail");
    assert_eq!(err.kind(), ErrorKind::PublicationNotFound, "{err}");

    // The server's own "publication does not exist", in the stream: a publication dropped
    // while streaming.
    let mut c = config(&pg, "s_drop", "p_drop");
    c.publication_autocreate = PublicationAutocreate::AllTables;
    c.create_slot = true;
    let mut stream = ChangeStream::connect(c).await.unwrap();
    pg.psql("db", "DROP PUBLICATION p_drop; INSERT INTO t VALUES (1)")
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.next_event().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream ended without an error"),
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("no error within 30 s");
    assert_eq!(err.kind(), ErrorKind::PublicationNotFound, "{err}");
    // PostgreSQL 18 only warns that it skipped the publication (see versions.rs).
    let expected_code = if pg.major_version() >= 18 {
        "55000"
    } else {
        "42704"
    };
    assert_eq!(err.code(), Some(expected_code), "{err}");

    // Slot in use: the server's "active for PID ..." is not parsed; the holder's PID comes from
    // pg_replication_slots.
    let repl = params(&pg, "postgres", "db", "pw");
    let start = support::create_slot(&repl, "busy").await;
    support::assert_a_second_consumer_gets_slot_in_use(&repl, "busy", start, "p").await;
}

fn config_with_password(pg: &Cluster, password: &str) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(params(pg, "postgres", "db", password));
    c.slot_name = "s".into();
    c.publication_name = "p".into();
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn wal_level_from_a_german_server_is_a_server_configuration_error() {
    if !german_available() {
        return;
    }
    let pg = german(ClusterBuilder::new().setting("wal_level", "replica"));
    let mut c = ReplicationConfig::new(ConnectParams::from_dsn(&pg.dsn("postgres")).unwrap());
    c.create_slot = true;
    let err = ChangeStream::connect(c)
        .await
        .err()
        .expect("wal_level=replica must fail");
    assert_eq!(err.kind(), ErrorKind::ServerConfiguration, "{err}");

    // The server's own refusal (55000) too, as the replication connection reports it.
    let mut repl =
        PgConnection::connect(&ConnectParams::from_dsn(&pg.dsn("postgres")).unwrap(), true)
            .await
            .unwrap();
    let err = repl
        .create_logical_slot("s", &CreateSlotOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("55000"), "{err}");
}
