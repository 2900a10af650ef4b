//! The one classifier of server errors: an [`ErrorKind`] from the SQLSTATE and the phase the
//! error arose at. The message text is never looked at (the server translates it, see
//! `lc_messages`); where a phase leaves a code ambiguous, the caller asks the catalog.

use crate::ErrorKind;

/// `invalid_password`.
pub(crate) const INVALID_PASSWORD: &str = "28P01";
/// `invalid_authorization_specification` (no pg_hba.conf entry, and the like).
pub(crate) const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
/// `invalid_catalog_name`: the database does not exist.
pub(crate) const INVALID_CATALOG_NAME: &str = "3D000";
/// `insufficient_privilege`.
pub(crate) const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// `undefined_object`: a replication slot or publication that does not exist.
pub(crate) const UNDEFINED_OBJECT: &str = "42704";
/// `duplicate_object`: the slot to create exists already.
pub(crate) const DUPLICATE_OBJECT: &str = "42710";
/// `object_not_in_prerequisite_state`: among others, logical decoding with a `wal_level`
/// below `logical`.
pub(crate) const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
/// `object_in_use`: the replication slot is active for another process.
pub(crate) const OBJECT_IN_USE: &str = "55006";
/// `too_many_connections`.
pub(crate) const TOO_MANY_CONNECTIONS: &str = "53300";
/// `admin_shutdown`.
pub(crate) const ADMIN_SHUTDOWN: &str = "57P01";
/// `crash_shutdown`.
pub(crate) const CRASH_SHUTDOWN: &str = "57P02";
/// `cannot_connect_now`: the server is starting up or shutting down.
pub(crate) const CANNOT_CONNECT_NOW: &str = "57P03";

/// Where a server error arose: `undefined_object` names the slot at `START_REPLICATION`, but
/// the publication once streaming (pgoutput looks publications up as it decodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Connection startup, authentication, or an ordinary command.
    Session,
    /// `CREATE_REPLICATION_SLOT`.
    CreateSlot,
    /// `START_REPLICATION`, before the stream begins: the server acquires the slot.
    StartReplication,
    /// In the stream, while the server decodes with pgoutput.
    Streaming,
}

/// The kind of a server error with SQLSTATE `code` that arose at `phase`.
pub(crate) fn kind(code: &str, phase: Phase) -> ErrorKind {
    match (code, phase) {
        (INVALID_PASSWORD | INVALID_AUTHORIZATION_SPECIFICATION, _) => ErrorKind::Authentication,
        (INVALID_CATALOG_NAME, _) => ErrorKind::Config,
        (INSUFFICIENT_PRIVILEGE, _) => ErrorKind::Permission,
        (OBJECT_IN_USE, _) => ErrorKind::SlotInUse,
        (UNDEFINED_OBJECT, Phase::StartReplication) => ErrorKind::SlotNotFound,
        (UNDEFINED_OBJECT, Phase::Streaming) => ErrorKind::PublicationNotFound,
        // Administrator command, crash recovery, server shutdown, start-up, too many
        // connections: reconnecting can help.
        (TOO_MANY_CONNECTIONS | CANNOT_CONNECT_NOW | ADMIN_SHUTDOWN | CRASH_SHUTDOWN, _) => {
            ErrorKind::Connection
        }
        // Class 08: connection exception.
        (code, _) if code.starts_with("08") => ErrorKind::Connection,
        _ => ErrorKind::Server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_code_and_phase() {
        use ErrorKind as K;
        let cases = [
            (INVALID_PASSWORD, Phase::Session, K::Authentication),
            (
                INVALID_AUTHORIZATION_SPECIFICATION,
                Phase::Session,
                K::Authentication,
            ),
            (INVALID_CATALOG_NAME, Phase::Session, K::Config),
            (INSUFFICIENT_PRIVILEGE, Phase::Session, K::Permission),
            (
                INSUFFICIENT_PRIVILEGE,
                Phase::StartReplication,
                K::Permission,
            ),
            (OBJECT_IN_USE, Phase::Session, K::SlotInUse),
            (OBJECT_IN_USE, Phase::StartReplication, K::SlotInUse),
            (UNDEFINED_OBJECT, Phase::Session, K::Server),
            (UNDEFINED_OBJECT, Phase::CreateSlot, K::Server),
            (UNDEFINED_OBJECT, Phase::StartReplication, K::SlotNotFound),
            (UNDEFINED_OBJECT, Phase::Streaming, K::PublicationNotFound),
            (DUPLICATE_OBJECT, Phase::CreateSlot, K::Server),
            (
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                Phase::StartReplication,
                K::Server,
            ),
            (TOO_MANY_CONNECTIONS, Phase::Session, K::Connection),
            (CANNOT_CONNECT_NOW, Phase::Session, K::Connection),
            (ADMIN_SHUTDOWN, Phase::Streaming, K::Connection),
            (CRASH_SHUTDOWN, Phase::Streaming, K::Connection),
            ("08006", Phase::Session, K::Connection),
            ("XX000", Phase::Streaming, K::Server),
        ];
        for (code, phase, want) in cases {
            assert_eq!(kind(code, phase), want, "{code} at {phase:?}");
        }
    }
}
