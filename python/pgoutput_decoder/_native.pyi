"""Native part of pgoutput_decoder (Rust). Import everything from ``pgoutput_decoder``.

These stubs are the API reference of the package.
"""

import builtins
from collections.abc import Awaitable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, Literal, final

from typing_extensions import Self, TypeAlias, disjoint_base

__all__ = [
    "LOGGER_NAME",
    "SOURCE_VERSION",
    "AuthenticationError",
    "ClusterError",
    "ConfigurationError",
    "ConnectionError",
    "DecodingError",
    "KafkaBroker",
    "LogicalReplicationReader",
    "PostgresCluster",
    "PublicationNotFoundError",
    "ReaderStats",
    "ReplicationError",
    "ReplicationMessage",
    "SlotNotFoundError",
    "__version__",
    "_shutdown",
    "debezium_records",
    "message_to_debezium_json",
]

__version__: str
#: ``source["version"]`` of every event.
SOURCE_VERSION: str
#: Name of the Python logger the library logs to: ``"pgoutput_decoder"``. Connects, slot and
#: publication creation, reconnects, server notices and errors are logged at INFO/WARNING;
#: DEBUG records (protocol details, status updates) are produced only while that logger is
#: enabled for DEBUG (checked whenever the reader is used). Each record carries the Rust module
#: in ``record.rust_target``. Passwords are never logged.
LOGGER_NAME: str

def _shutdown() -> None:
    """Registered with ``atexit``: flushes pending log records and future completions before
    the interpreter finalizes. Not for direct use."""

_LsnLike: TypeAlias = int | str
_Op: TypeAlias = Literal["c", "u", "d", "r", "t", "m"]
# The values of the keywords that take one of a fixed set of strings.
_SslMode: TypeAlias = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]
_DecimalHandlingMode: TypeAlias = Literal["precise", "double", "string"]
_TimePrecisionMode: TypeAlias = Literal["adaptive", "adaptive_time_microseconds", "connect"]
_BinaryHandlingMode: TypeAlias = Literal["bytes", "base64", "base64-url-safe", "hex"]
_IntervalHandlingMode: TypeAlias = Literal["numeric", "string"]
_HstoreHandlingMode: TypeAlias = Literal["json", "map"]
_MultidimensionalArrayMode: TypeAlias = Literal["null_subarrays", "nested"]
_SnapshotMode: TypeAlias = Literal[
    "no_data", "never", "initial", "initial_only", "always", "when_needed"
]
#: An operation ``skipped_operations`` can skip (``"none"`` as the whole value skips none).
_SkippableOp: TypeAlias = Literal["c", "u", "d", "t"]

# ---------------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------------

class ReplicationError(Exception):
    """Base class of every error the library raises (except ``ValueError``/``TypeError`` for
    bad arguments, raised when the reader is created).

    The message is the library's message: it says what went wrong and what to fix. Passwords
    never appear in it.
    """

    #: What went wrong: ``"connection"``, ``"tls"``, ``"slot_in_use"``, ``"authentication"``,
    #: ``"permission"``, ``"slot_not_found"``, ``"publication_not_found"``, ``"config"``,
    #: ``"server_configuration"``, ``"decoding"``, ``"protocol"``, ``"server"``,
    #: ``"closed"``, ``"io"``, ``"sink"`` (a Kafka broker refused records or could not be
    #: reached) (or ``"replication"`` for errors of the reader itself).
    kind: str
    #: The server's SQLSTATE when the server reported the error, else None.
    sqlstate: str | None
    #: Whether reconnecting can help.
    retryable: bool

class ConnectionError(ReplicationError, builtins.ConnectionError):
    """The server could not be reached, TLS negotiation or certificate verification failed,
    the connection was lost and reconnecting gave up (or is disabled), or the slot is held by
    another connection. Also a ``builtins.ConnectionError`` (and so an ``OSError``)."""

class AuthenticationError(ReplicationError):
    """The server rejected the credentials (``kind == "authentication"``), or the role lacks a
    privilege it needs (``kind == "permission"``: LOGIN, REPLICATION, or the right to create
    the publication)."""

class SlotNotFoundError(ReplicationError):
    """The replication slot does not exist and ``create_slot=False``."""

class PublicationNotFoundError(ReplicationError):
    """The publication does not exist and ``create_publication=False``."""

class ConfigurationError(ReplicationError):
    """The server is not set up for logical replication (``wal_level`` is not ``logical``, too
    few ``max_replication_slots``/``max_wal_senders``, ...: ``kind ==
    "server_configuration"``), or a setting was rejected when connecting (``kind ==
    "config"``). Bad argument values are ``ValueError`` when the reader is created."""

class DecodingError(ReplicationError):
    """A replication message or a column value could not be decoded, or the server sent
    something the protocol does not allow."""

class ClusterError(RuntimeError):
    """``pgoutput_decoder.testing``: a throwaway cluster could not be started, stopped or
    queried (the message includes psql's error or the end of the server log)."""

# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------

@final
class ReplicationMessage:
    """One event: an insert (``op == "c"``), update (``"u"``), delete (``"d"``), truncate
    (``"t"``, only when ``skipped_operations`` does not skip it) or logical decoding message
    (``"m"``, from ``pg_logical_emit_message``); with ``provide_transaction_metadata=True``
    also transaction BEGIN/END events (``kind == "transaction"``, ``op is None``).

    Immutable. ``before``, ``after``, ``source`` and ``key`` are built on first access and
    cached: the same dict is returned each time, so copy it before modifying it (or use
    ``message_to_dict``).

    Column values in ``before``/``after``/``key`` are Python objects:

    ====================================================  ======================================
    PostgreSQL                                            Python
    ====================================================  ======================================
    bool                                                  bool
    smallint, integer, bigint, oid                        int
    real, double precision                                float
    numeric, money                                        decimal.Decimal (``float`` with
                                                          ``decimal_handling_mode="double"``,
                                                          ``str`` with ``"string"``)
    bytea                                                 bytes
    json, jsonb                                           parsed: dict, list, str, int, ...
    uuid                                                  str
    date, time, timetz, timestamp, timestamptz            ISO 8601 str (``datetime.*
                                                          .fromisoformat`` reads them;
                                                          timestamptz in UTC, ``+00:00``)
    interval                                              ISO 8601 duration str (``P1DT2H``)
    arrays, pgvector vector                               list (nested for several dimensions)
    composite types, hstore                               dict
    anything else (enums, inet, ranges, geometry, ...)    str, as PostgreSQL prints it
    NULL                                                  None
    unchanged TOASTed value (not sent by the server)      the ``unavailable_value_placeholder``
    ====================================================  ======================================

    The Python view does not depend on ``time_precision_mode``, ``binary_handling_mode``,
    ``interval_handling_mode`` or ``hstore_handling_mode``; those shape the Debezium JSON
    (:meth:`json`), which is exactly what the Rust encoder writes.
    """

    @property
    def op(self) -> _Op | None:
        """``"c"``, ``"u"``, ``"d"``, ``"r"``, ``"t"`` or ``"m"``; None for transaction
        events."""
    @property
    def kind(self) -> Literal["change", "message", "transaction"]:
        """What the event is: a row change (or truncate), a logical decoding message, or a
        transaction boundary."""
    @property
    def before(self) -> dict[str, Any] | None:
        """The row before the change: deletes (the key columns only, unless the table has
        ``REPLICA IDENTITY FULL``; other NOT NULL columns with a literal default get it, as in
        Debezium), updates under ``REPLICA IDENTITY FULL`` or that change the key. Else None."""
    @property
    def after(self) -> dict[str, Any] | None:
        """The row after the change (inserts, updates), else None."""
    @property
    def source(self) -> dict[str, Any] | None:
        """Debezium's ``source`` block, in its field order: ``version``, ``connector``
        (``"postgresql"``), ``name`` (the topic prefix), ``ts_ms`` (commit time), ``snapshot``
        (the string ``"false"``), ``db``, ``sequence`` (a string holding a JSON array of two
        LSN strings), ``ts_us``, ``ts_ns``, ``schema``, ``table`` (empty for messages),
        ``txId`` (None for non-transactional messages), ``lsn`` (int), ``xmin``, ``origin``,
        ``origin_lsn`` (None). None for transaction events."""
    @property
    def key(self) -> dict[str, Any] | None:
        """The record key: the primary-key columns in key order (None for tables without a
        primary key and for truncates); ``{"prefix": ...}`` for logical decoding messages;
        ``{"id": ...}`` for transaction events. A key column the WAL did not carry (a delete
        under ``REPLICA IDENTITY USING INDEX`` not covering the primary key) is None."""
    @property
    def ts_ms(self) -> int:
        """When the library processed the event, milliseconds since the Unix epoch
        (Debezium's top-level ``ts_ms``; commit time for transaction events)."""
    @property
    def ts_us(self) -> int:
        """Like :attr:`ts_ms`, in microseconds."""
    @property
    def ts_ns(self) -> int:
        """Like :attr:`ts_ms`, in nanoseconds."""
    @property
    def table(self) -> str | None:
        """``"schema.table"``, or None for messages and transaction events."""
    @property
    def topic(self) -> str:
        """The Kafka topic Debezium would use: ``<topic_prefix>.<schema>.<table>``,
        ``<topic_prefix>.message`` or ``<topic_prefix>.transaction``."""
    @property
    def lsn(self) -> int:
        """The event's LSN (``source["lsn"]``: where the change is in the WAL; for transaction
        events the BEGIN/commit position). To confirm up to a message use
        :meth:`acknowledge` (``reader.acknowledge(lsn)`` confirms whole transactions that
        *ended* at or before ``lsn``, and a transaction ends after its changes)."""
    @property
    def transaction(self) -> dict[str, Any] | None:
        """With ``provide_transaction_metadata=True``: ``{"id", "total_order",
        "data_collection_order"}``; for transaction events the whole event (``status``
        ``"BEGIN"``/``"END"``, ``id``, ``event_count``, ``data_collections``, ``ts_ms``).
        Else None."""
    @property
    def message(self) -> dict[str, Any] | None:
        """For logical decoding messages: ``{"prefix": str, "content": bytes,
        "transactional": bool}``; else None."""
    def json(self, indent: int | None = None) -> str:
        """The event as Debezium JSON — the Kafka record value Debezium's PostgreSQL connector
        writes with ``JsonConverter`` and schemas disabled. Compact by default; with
        ``indent`` laid out like ``json.dumps(..., indent=indent)`` (the values are unchanged,
        byte for byte)."""
    def acknowledge(self) -> None:
        """Acknowledges this message and every message before it. Synchronous (not
        awaitable) and cheap; the same as ``reader.acknowledge()`` right after this message
        was handed out."""

def message_to_debezium_json(
    message: ReplicationMessage, indent: int | None = 2, *, schemas: bool = False
) -> str:
    """The Debezium JSON of a message (see :meth:`ReplicationMessage.json`), indented by
    ``indent`` spaces (``None``: compact). ``schemas=True`` gives what Kafka's JsonConverter
    writes with ``schemas.enable=true``: ``{"schema": <the value's Kafka Connect schema>,
    "payload": <the value>}``, Debezium's schema exactly."""

def debezium_records(
    message: ReplicationMessage,
    *,
    transforms: dict[str, str] | None = None,
    schemas: bool = False,
) -> list[tuple[str, str | None, str | None, list[tuple[str, str]]]]:
    """The message's Kafka records after the single message transforms, as ``(topic, key,
    value, headers)``: key and value compact Debezium JSON (``None``: null key, tombstone),
    headers ``(name, JSON value)`` pairs. A delete is followed by its tombstone when
    ``tombstones.on.delete`` is on. Empty when the transforms dropped the record.
    ``transforms``: ``transforms*``/``predicates*`` properties (Debezium's and Kafka
    Connect's names); by default those of the reader's ``properties``. ``schemas=True``:
    keys and values with their Kafka Connect schema (by default the reader's
    ``key/value.converter.schemas.enable`` properties decide)."""

# ---------------------------------------------------------------------------------------------
# The reader
# ---------------------------------------------------------------------------------------------

@final
class ReaderStats:
    """What :meth:`LogicalReplicationReader.stats` returns: the same numbers as the
    Prometheus endpoint (README "Monitoring"), at one moment. Positions are LSNs as ints."""

    @property
    def events(self) -> int:
        """Messages handed over by the stream so far (Debezium's TotalNumberOfEventsSeen)."""
    @property
    def events_by_op(self) -> dict[str, int]:
        """The same by op: ``"c"``, ``"u"``, ``"d"``, ``"r"`` (snapshot reads), ``"t"``,
        ``"m"`` (logical messages), ``"tx"`` (BEGIN/END with
        ``provide_transaction_metadata``)."""
    @property
    def tables(self) -> dict[str, dict[str, int]]:
        """Change events by table (``"schema.table"``) and op (``"c"``, ``"u"``, ``"d"``,
        ``"r"``, ``"t"``)."""
    @property
    def bytes_received(self) -> int:
        """Bytes of replication messages received from the server."""
    @property
    def transactions(self) -> int:
        """Transactions (and non-transactional messages) whose end was received
        (NumberOfCommittedTransactions)."""
    @property
    def received_lsn(self) -> int:
        """The highest WAL position received from the server."""
    @property
    def handed_out_lsn(self) -> int:
        """The end of the last transaction whose messages were all handed to you."""
    @property
    def acknowledged_lsn(self) -> int:
        """What is confirmed, or will be at the next status update."""
    @property
    def confirmed_lsn(self) -> int:
        """The flush position last sent to the server (the slot's ``confirmed_flush_lsn``
        once the server processed it)."""
    @property
    def lag_ms(self) -> int:
        """Milliseconds behind the source (MilliSecondsBehindSource): while messages wait in
        the queue, now minus the commit time of the last one taken; otherwise how old that
        message was when it was taken. 0 before the first message."""
    @property
    def ms_since_last_event(self) -> int | None:
        """Milliseconds since the last message was taken (MilliSecondsSinceLastEvent); None
        before the first."""
    @property
    def lag_bytes(self) -> int | None:
        """The server's WAL end minus the slot's confirmed position, as last read on the side
        connection; None when the slot's status is not read."""
    @property
    def queue_events(self) -> int:
        """Messages waiting in the queue between the connection and you."""
    @property
    def queue_capacity(self) -> int:
        """The most messages the queue holds (``max_queue_size``)."""
    @property
    def queue_bytes(self) -> int:
        """Approximate bytes waiting (0 without ``max.queue.size.in.bytes``)."""
    @property
    def queue_byte_capacity(self) -> int:
        """``max.queue.size.in.bytes`` (0: none)."""
    @property
    def connected(self) -> bool:
        """Whether the replication connection is up (Connected)."""
    @property
    def reconnects(self) -> int:
        """Successful reconnects after a lost connection."""
    @property
    def errors(self) -> int:
        """Errors of the replication connection (lost connections, failed attempts)."""
    @property
    def last_error(self) -> str | None:
        """The last of them, if any."""
    @property
    def slot_active(self) -> bool | None:
        """``pg_replication_slots.active`` as last read; None when not read."""
    @property
    def slot_wal_status(self) -> Literal["reserved", "extended", "unreserved", "lost"] | None:
        """``pg_replication_slots.wal_status`` (PostgreSQL 13+)."""
    @property
    def slot_safe_wal_size(self) -> int | None:
        """``pg_replication_slots.safe_wal_size``: bytes of WAL before the slot risks losing
        what it needs (None without ``max_slot_wal_keep_size``)."""
    @property
    def slot_retained_wal_bytes(self) -> int | None:
        """WAL the server keeps for the slot: its WAL end minus the slot's ``restart_lsn``."""
    @property
    def slot_confirmed_flush_lsn(self) -> int | None:
        """``pg_replication_slots.confirmed_flush_lsn`` as last read."""
    @property
    def server_wal_lsn(self) -> int | None:
        """The server's WAL end (``pg_current_wal_lsn()``) as last read."""
    @property
    def health_problems(self) -> list[str]:
        """Why ``/health`` would answer 503 (not connected, lag over the limit, slot missing
        or ``wal_status`` lost); empty when healthy."""
    @property
    def healthy(self) -> bool:
        """No health problems."""
    @property
    def snapshot_running(self) -> bool | None:
        """Whether an initial snapshot is reading tables (SnapshotRunning); None when this
        reader took no snapshot."""
    @property
    def snapshot_completed(self) -> bool | None:
        """Whether the snapshot read every table (SnapshotCompleted); None without one."""
    @property
    def snapshot_tables_total(self) -> int | None:
        """Tables the snapshot reads (TotalTableCount); None without one."""
    @property
    def snapshot_tables_remaining(self) -> int | None:
        """Tables it has not read whole yet (RemainingTableCount); None without one."""

@disjoint_base
class LogicalReplicationReader:
    """Native base of ``pgoutput_decoder.LogicalReplicationReader``, which adds ``async for``,
    ``iter_sync()``, ``acknowledge()``, ``acknowledge_sync()`` and the context managers.

    Arguments (validated here: bad values raise ``ValueError`` naming the allowed values;
    a wrong type raises ``TypeError`` naming the argument, e.g. ``port must be an int, got str
    '5432'``; unknown keywords and a missing ``publication_name``/``slot_name`` raise
    ``TypeError``). ``None`` means "not given" for every keyword except the two names.

    Connection
        ``host``, ``database``, ``port``, ``user``, ``password``: where to connect. What is not
        given comes from libpq's environment exactly as for the command-line tool:
        ``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGDATABASE``, ``PGPASSWORD``, ``PGSSLMODE``,
        ``PGSSLROOTCERT``, ``PGCONNECT_TIMEOUT``, ``PGAPPNAME``, ``PGTARGETSESSIONATTRS``, and
        for the password the password file (``PGPASSFILE`` or ``~/.pgpass``, matched on the
        final host, port, database and user); else ``localhost``, ``5432``, user and database
        ``postgres``. ``password=""`` counts as not given, as in libpq.

        ``dsn``: a libpq connection string, URI (``postgresql://user:pw@host:5432/db?...``)
        or ``key=value`` form (``"host=h dbname=d sslmode=require"``). Precedence, highest
        first: what the DSN sets; the keyword arguments given; the environment and password
        file; the defaults above.

        ``sslmode``: ``"disable"``, ``"prefer"`` (default), ``"require"``, ``"verify-ca"``,
        ``"verify-full"``; ``sslrootcert``: CA file for the ``verify-*`` modes (default: the
        system roots). ``connect_timeout``: seconds per connection attempt (default 10; 0 = no
        limit).

    Slot and publication
        ``publication_name``, ``slot_name``: required (no default). ``create_slot=False``
        (default): the slot must exist (else ``SlotNotFoundError``); True creates it when
        missing.
        ``slot_failover=True`` creates it as a failover slot (PostgreSQL 17+) that a standby
        with ``sync_replication_slots = on`` keeps in sync.
        ``create_publication=False`` (default): the publication must exist (else
        ``PublicationNotFoundError``); True creates it when missing — ``FOR ALL TABLES``, or
        for the tables matching ``tables`` when given. ``start_lsn``: start from this position
        (int or ``"X/Y"``) instead of the slot's confirmed position. ``tables``: which tables
        to stream (Debezium's ``table.include.list``): regular expressions over
        ``"schema.table"``, matched whole (``["public\\.orders", "inventory\\..*"]``, or one
        comma-separated string). ``two_phase`` (False): decode prepared transactions at
        ``PREPARE TRANSACTION`` (PostgreSQL 15+; the slot must have been created with
        two-phase, as ``create_slot=True`` does): they are held and yielded as ordinary
        transactions at ``COMMIT PREPARED``, never at ``ROLLBACK PREPARED``.

    Acknowledgement
        ``auto_acknowledge=True``: a message is acknowledged when the next one is requested
        (its loop body has finished). The last message handed out before iteration stops early
        (``break``, exception, ``stop()`` from another task) is not acknowledged and will be
        delivered again; call ``acknowledge()`` before ``stop()`` to confirm it. ``False``:
        nothing is confirmed until ``acknowledge()``. Unacknowledged messages are delivered
        again by the next reader of the slot (at-least-once delivery).

    Reconnection
        After a lost connection (server restart, network cut, ``wal_sender_timeout``) the
        reader reconnects with exponential backoff and jitter, resuming after the last
        acknowledged transaction without handing out again what it already handed out.
        Authentication errors and a missing slot or publication are not retried.
        ``reconnect``: ``None`` or ``True`` (the default policy), ``False``, or a dict with
        any of ``enabled``,
        ``max_attempts``, ``initial_delay``, ``max_delay``; or the separate keywords
        ``reconnect_max_attempts`` (default None = forever; a negative number also means
        forever, 0 = never), ``reconnect_initial_delay`` (seconds, default 0.5; doubles per
        attempt) and ``reconnect_max_delay`` (seconds, default 30). Giving a setting both ways
        is a ``ValueError``. When reconnecting gives up, iteration raises ``ConnectionError``.

    Event shape (Debezium's connector properties, same names with ``_``, same defaults)
        ``decimal_handling_mode``: ``"precise"``, ``"double"``, ``"string"``;
        ``time_precision_mode``: ``"adaptive"``, ``"adaptive_time_microseconds"``,
        ``"connect"``; ``binary_handling_mode``: ``"bytes"``, ``"base64"``,
        ``"base64-url-safe"``, ``"hex"``; ``interval_handling_mode``: ``"numeric"``,
        ``"string"``; ``hstore_handling_mode``: ``"json"``, ``"map"``;
        ``money_fraction_digits`` (2); ``unavailable_value_placeholder``
        (``"__debezium_unavailable_value"``; ``"hex:..."`` for raw bytes);
        ``provide_transaction_metadata`` (False): BEGIN/END events and ``transaction`` blocks;
        ``skipped_operations``: operations not emitted, ``"c,u,d,t"`` letters or ``"none"``, or
        an iterable of letters (default None, meaning ``"t"``: truncates are skipped);
        ``topic_prefix`` (``"pgoutput"``): ``source["name"]`` and the topic names;
        ``tombstones_on_delete``
        (True): kept for configuration parity — the reader yields no tombstone messages.
        ``decimal_handling_mode`` also chooses the Python type of numeric values.
        ``multidimensional_array_mode``: ``"null_subarrays"`` (one ``null`` per sub-array
        in the JSON, as Debezium) or ``"nested"``; Python values are always nested lists.

    Snapshot (the rows that already exist; the README's "Snapshots")
        ``snapshot_mode``: ``"no_data"`` (the default: stream new changes only; ``"never"``
        is its old name), ``"initial"`` (read the published tables when the slot is created
        here, or when an earlier snapshot of it did not finish, then stream), ``"initial_only"``
        (the same, then the iteration ends), ``"always"`` (read at every start),
        ``"when_needed"`` (as ``"initial"``). Reads are messages with ``op == "r"``
        (``format_operation("r") == "READ"``) and ``source["snapshot"]`` set, handed out
        and acknowledged like changes. ``offset_file``: where the snapshot's progress is
        kept (default under ``$XDG_STATE_HOME/pgoutput-decoder``), so that a snapshot cut
        short resumes without reading finished tables again.

    Any other Debezium property
        ``properties``: a dict of Debezium property names to values, applied on top of the
        keywords, e.g. ``{"table.include.list": "public.orders", "column.exclude.list":
        "public.users.password", "message.key.columns": "public.orders:customer_id"}``
        (the README's configuration table lists every key; unknown keys are a
        ``ValueError``).

    Flow
        ``status_interval``: seconds between status updates to the server (default 10; keep
        it well below the server's ``wal_sender_timeout``). ``receive_timeout``: seconds
        without anything from the server before the connection counts as dead and the reader
        reconnects (default None = twice the server's ``wal_sender_timeout``; 0 = off).
        ``batch_linger``: while changes arrive back to back, seconds to wait for more before
        handing over a batch (default 0.01; 0 = off; not used over a Unix-domain socket); a
        change after a quiet spell is handed over at once. ``max_batch_size`` (2048): most
        messages received per batch; ``max_queue_size`` (8192): messages buffered between
        the connection and the consumer.

    Monitoring (README "Monitoring")
        ``metrics_addr``: ``"HOST:PORT"`` to serve what ``pgoutput-decoder stream
        --metrics-addr`` serves while connected: ``/metrics`` (Prometheus), ``/health`` (200
        or 503 with the reasons) and a live status page at ``/``. ``slot_status_interval``:
        seconds between reads of the slot's status on a side connection (lag in bytes,
        ``active``, ``wal_status``, ``safe_wal_size``, retained WAL; default None: not read,
        10 with ``metrics_addr``). ``progress_interval``: seconds between INFO progress lines
        on the ``pgoutput_decoder`` logger (default None: off). ``lag_warning_seconds``: a
        WARNING on that logger when the reader is more than this many seconds behind the
        source (:attr:`ReaderStats.lag_ms`), repeated every minute while it stays over
        (default None: off).
    """

    def __init__(
        self,
        publication_name: str,
        slot_name: str,
        host: str | None = None,
        database: str | None = None,
        port: int | None = None,
        user: str | None = None,
        password: str | None = None,
        start_lsn: _LsnLike | None = None,
        auto_acknowledge: bool = True,
        *,
        dsn: str | None = None,
        sslmode: _SslMode | None = None,
        sslrootcert: str | PathLike[str] | None = None,
        connect_timeout: float | None = None,
        create_slot: bool = False,
        slot_failover: bool = False,
        create_publication: bool = False,
        tables: str | Iterable[str] | None = None,
        reconnect: bool | Mapping[str, Any] | None = None,
        reconnect_max_attempts: int | None = None,
        reconnect_initial_delay: float | None = None,
        reconnect_max_delay: float | None = None,
        decimal_handling_mode: _DecimalHandlingMode = "precise",
        time_precision_mode: _TimePrecisionMode = "adaptive",
        binary_handling_mode: _BinaryHandlingMode = "bytes",
        interval_handling_mode: _IntervalHandlingMode = "numeric",
        hstore_handling_mode: _HstoreHandlingMode = "json",
        money_fraction_digits: int = 2,
        unavailable_value_placeholder: str = "__debezium_unavailable_value",
        provide_transaction_metadata: bool = False,
        skipped_operations: str | Iterable[_SkippableOp] | None = None,
        topic_prefix: str = "pgoutput",
        tombstones_on_delete: bool = True,
        status_interval: float = 10.0,
        receive_timeout: float | None = None,
        batch_linger: float = 0.01,
        max_batch_size: int = 2048,
        max_queue_size: int = 8192,
        two_phase: bool = False,
        multidimensional_array_mode: _MultidimensionalArrayMode = "null_subarrays",
        snapshot_mode: _SnapshotMode = "no_data",
        offset_file: str | PathLike[str] | None = None,
        properties: Mapping[str, str | int | float | bool | Iterable[str]] | None = None,
        metrics_addr: str | None = None,
        slot_status_interval: float | None = None,
        progress_interval: float | None = None,
        lag_warning_seconds: float | None = None,
    ) -> None: ...
    def connect(self) -> Awaitable[None]:
        """Connects: checks the server, creates the publication and slot when asked, starts
        streaming. Done by ``async with`` and, lazily, by the first iteration. Does nothing
        when connected; raises ``ReplicationError`` after ``stop()``."""
    def snapshot(
        self,
        tables: str | Iterable[str],
        *,
        conditions: Mapping[str, str] | None = None,
        surrogate_key: str | None = None,
    ) -> Awaitable[None]:
        """Asks for an incremental snapshot of ``tables`` (``"schema.table"`` names) while
        streaming, as Debezium's ``execute-snapshot`` signal does; returns at once (before
        connecting, the request waits for the connection). The tables are read in chunks by
        key (``incremental.snapshot.chunk.size`` rows, 1024) between watermarks written with
        ``pg_logical_emit_message`` (nothing is written to your tables); their rows come through
        the same iteration as messages with ``op == "r"`` and ``source["snapshot"] ==
        "incremental"``, among the changes, and never after a later change of the same row.
        ``conditions``: per table, an SQL condition that narrows the rows read
        (``additional-conditions``); ``surrogate_key``: the column that orders and identifies
        the rows of a table without a primary key. A table that is not published or has no
        key is logged (WARNING) and skipped. ``ValueError`` for a name that is not
        ``schema.table``; ``ReplicationError`` after ``stop()``."""
    def connect_sync(self) -> None:
        """Blocking :meth:`connect` (Ctrl-C interrupts it)."""
    def stop(self) -> Awaitable[None]:
        """Stops gracefully: the server is told what was acknowledged and the connection is
        closed, so the slot is free at once. Iteration ends (also in other tasks); messages
        received but not handed out are dropped (and delivered again next time). Calling it
        again, or before connecting, is harmless. The stop is requested as soon as this is
        called; awaiting waits until the connection is closed."""
    def stop_sync(self) -> None:
        """Blocking :meth:`stop`."""
    def to_kafka(
        self,
        bootstrap_servers: str | None = None,
        *,
        properties: Mapping[str, str | int | float | bool | Iterable[str]] | None = None,
        idle_timeout: float | None = None,
        max_events: int | None = None,
    ) -> Awaitable[int]:
        """Streams the changes into Kafka, in Rust without the GIL, exactly as Debezium on
        Kafka Connect writes them: topic ``<topic_prefix>.<schema>.<table>`` (sanitised),
        key and value as Kafka's ``JsonConverter`` writes them (the reader's
        ``key/value.converter.schemas.enable`` properties), tombstones, transaction and
        logical-message topics, Debezium's key-change headers, the reader's transforms, keys
        partitioned as the Java client does. Missing topics are created.

        Runs until :meth:`stop` is called (from another task), ``idle_timeout`` seconds pass
        without a change, or ``max_events`` events were written; resolves to the number of
        events written (heartbeats, with ``heartbeat.interval.ms``, are written but neither
        counted nor taken for activity). Messages received but not handed to you go first;
        do not iterate the reader meanwhile. A position is confirmed to the server only once Kafka
        acknowledged every record up to it (the producer is idempotent, ``acks=all``): at
        least once, as Debezium.

        ``bootstrap_servers``: ``"host:port,..."`` (or ``properties["bootstrap.servers"]``).
        ``properties``: the Kafka sink's settings by Kafka Connect's names, as in the
        README's "Scaling out with Kafka": ``topic.creation.default.partitions``,
        ``topic.creation.default.replication.factor``, ``kafka.connect.timeout.ms``,
        ``producer.*`` (librdkafka's or the Java producer's names, e.g.
        ``producer.compression.type``). Raises ``ConfigurationError`` for a bad setting,
        ``ConnectionError`` when no broker answers within ``kafka.connect.timeout.ms``
        (30 s), ``ReplicationError`` with ``kind == "sink"`` when Kafka refuses a record
        (the message names the table and LSN; nothing from it on is confirmed)."""
    @property
    def positions(self) -> dict[str, int] | None:
        """``{"received", "handed_out", "acknowledged"}`` LSNs as ints, for monitoring lag;
        None before connecting.

        ``received``: the highest WAL position received from the server. ``handed_out``:
        everything before it was handed to you — the end of the last transaction whose
        messages were all handed out. ``acknowledged``: what is confirmed to the server, or
        will be at the next status update. All three start at the position streaming started
        from (the slot's confirmed position, or ``start_lsn``), and ``acknowledged <=
        handed_out <= received`` always holds, except after ``acknowledge(lsn)`` with an
        ``lsn`` past what was handed out (that confirms transactions not handed out yet)."""
    def stats(self) -> ReaderStats | None:
        """The reader's numbers now (a copy; cheap, no server round trip): events by op and
        table, positions, lag, queue, connection; the slot's status as last read when
        ``slot_status_interval`` or ``metrics_addr`` is set. None before connecting; after
        :meth:`stop`, the numbers at the stop."""
    @property
    def state(self) -> Literal["idle", "connected", "stopped"]:
        """``"idle"`` before connecting, then ``"connected"``, then ``"stopped"`` (from the
        moment :meth:`stop` is called)."""
    @property
    def publication_name(self) -> str: ...
    @property
    def slot_name(self) -> str: ...
    @property
    def auto_acknowledge(self) -> bool: ...
    @property
    def host(self) -> str:
        """The resolved host (after ``dsn`` and the environment)."""
    @property
    def port(self) -> int: ...
    @property
    def database(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def topic_prefix(self) -> str: ...
    @property
    def start_lsn(self) -> int | None:
        """The configured start position, or None (the slot's confirmed position)."""

    # Used by the Python subclass; not part of the public API.
    def _pop(self) -> ReplicationMessage | None: ...
    def _fill(self) -> Awaitable[bool]: ...
    def _fill_sync(self) -> bool: ...
    def _acknowledge(self, lsn: _LsnLike | None = None) -> None: ...

# ---------------------------------------------------------------------------------------------
# Testing (re-exported by pgoutput_decoder.testing)
# ---------------------------------------------------------------------------------------------

@final
class PostgresCluster:
    """A throwaway PostgreSQL cluster for tests and examples, started when created: ``initdb``
    in a temporary directory, ``wal_level=logical``, a free port on 127.0.0.1, durability off
    for speed, an unprivileged server user when running as root. ``close()``, leaving the
    ``with`` block, or garbage collection stops the server and deletes the directory (a
    watchdog process does it too if the Python process dies).

    ``settings``: ``postgresql.conf`` parameters (``{"wal_level": "replica"}``, values as in
    SQL ``SET``, bools as on/off). ``password``: the superuser's password; TCP connections
    then use SCRAM authentication (else trust). ``bin_dir``: directory of ``initdb``,
    ``pg_ctl``, ``postgres`` (default: ``PG_BIN``, the newest
    ``/usr/lib/postgresql/<major>/bin``, ``pg_config --bindir``).

    Every method blocks (without holding the GIL); from async code use
    ``asyncio.to_thread``.
    """

    def __new__(
        cls,
        settings: Mapping[str, str | int | float | bool] | None = None,
        password: str | None = None,
        bin_dir: str | PathLike[str] | None = None,
    ) -> Self: ...
    @property
    def host(self) -> str:
        """Always ``"127.0.0.1"``."""
    @property
    def port(self) -> int:
        """The TCP port (the same across restarts)."""
    @property
    def user(self) -> str:
        """The superuser, ``"postgres"``."""
    @property
    def password(self) -> str | None: ...
    @property
    def version(self) -> str:
        """The server version, e.g. ``"16.4"``."""
    @property
    def major_version(self) -> int: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def log_file(self) -> Path: ...
    @property
    def is_running(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq ``key=value`` connection string for the superuser (with the password if
        set), e.g. for ``LogicalReplicationReader(dsn=...)``."""
    def psql(self, dbname: str, sql: str) -> str:
        """Runs SQL with ``psql`` as the superuser; returns the trimmed output (one row per
        line, columns separated by ``|``). Raises ClusterError on the first SQL error."""
    def create_database(self, name: str) -> None: ...
    def restart(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Restarts on the same port with the same data (``"immediate"``: a simulated crash)."""
    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stops the server; :meth:`start` starts it again."""
    def start(self) -> None: ...
    def close(self) -> None:
        """Stops the server and deletes its directory. Idempotent."""
    def __enter__(self) -> PostgresCluster: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class KafkaBroker:
    """A throwaway Kafka-protocol broker (tansu) for tests and examples, started when
    created: its storage in a temporary directory, a free port on 127.0.0.1. It does not
    create topics on its own (the Kafka sink does). Needs the ``tansu`` binary: ``TANSU_BIN``,
    the cache the project's ``make setup`` fills, or ``PATH``. Raises ``ClusterError`` when it
    does not start."""

    def __new__(cls) -> KafkaBroker: ...
    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:PORT``."""
    @property
    def port(self) -> int:
        """The same across restarts."""
    @property
    def is_running(self) -> bool: ...
    def stop(self) -> None:
        """Kills the broker (like a crash); its storage stays for :meth:`restart`."""
    def restart(self) -> None:
        """Starts the broker again on the same port and storage."""
    def close(self) -> None:
        """Kills the broker and deletes its directory; harmless when called again."""
    def __enter__(self) -> KafkaBroker: ...
    def __exit__(self, *args: object) -> bool: ...
