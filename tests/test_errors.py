"""Errors: each common mistake raises its own exception class with a message that says what to
do, fast, and without the password. Bad options fail when the reader is created."""

from __future__ import annotations

import ast
import builtins
import inspect
import logging
import socket
import sys
import time
from typing import Any

import pytest

import pgoutput_decoder
from helpers import CLUSTER_PASSWORD, ROOT, Database, collect

WRONG_PASSWORD = "wr0ng-Pa55word-xyz"

EXCEPTIONS = [
    "ConnectionError",
    "AuthenticationError",
    "SlotNotFoundError",
    "PublicationNotFoundError",
    "ConfigurationError",
    "DecodingError",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: The two arguments every reader needs.
NAMES: dict[str, Any] = {"publication_name": "p", "slot_name": "s"}


def reader(**kwargs: Any) -> Any:
    base: dict[str, Any] = {
        "publication_name": "p",
        "slot_name": "s",
        "host": "127.0.0.1",
        "connect_timeout": 5,
    }
    base.update(kwargs)
    return pgoutput_decoder.LogicalReplicationReader(**base)


async def first_error(r: Any) -> BaseException:
    """The exception raised by the first iteration step (and the reader stopped)."""
    try:
        async for _ in r:
            break
    except Exception as exc:  # noqa: BLE001 - returned to the test
        return exc
    finally:
        await r.stop()
    raise AssertionError("no exception")


def test_every_exception_is_a_replication_error() -> None:
    base = pgoutput_decoder.ReplicationError
    assert issubclass(base, Exception)
    for name in EXCEPTIONS:
        cls = getattr(pgoutput_decoder, name)
        assert issubclass(cls, base), name
        assert cls.__module__ == "pgoutput_decoder"
    # Also catchable as the built-in ConnectionError (an OSError).
    assert issubclass(pgoutput_decoder.ConnectionError, builtins.ConnectionError)


async def test_wrong_password_is_an_authentication_error_without_the_password(
    password_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pgoutput_decoder")
    r = reader(
        host=password_cluster.host,
        port=password_cluster.port,
        database="postgres",
        user=password_cluster.user,
        password=WRONG_PASSWORD,
        slot_name="s",
        publication_name="p",
    )
    assert WRONG_PASSWORD not in repr(r)
    started = time.monotonic()
    exc = await first_error(r)
    assert isinstance(exc, pgoutput_decoder.AuthenticationError), repr(exc)
    assert time.monotonic() - started < 5, "authentication failures are not retried"
    assert "password authentication failed" in str(exc)
    assert exc.kind == "authentication"
    assert exc.retryable is False
    assert exc.sqlstate == "28P01"
    for text in (str(exc), repr(exc), repr(exc.args)):
        assert WRONG_PASSWORD not in text
    for record in caplog.records:
        assert WRONG_PASSWORD not in record.getMessage()


async def test_right_password_connects(password_cluster: Any) -> None:
    password_cluster.psql("postgres", "CREATE PUBLICATION pw_pub FOR ALL TABLES")
    try:
        r = reader(
            host=password_cluster.host,
            port=password_cluster.port,
            database="postgres",
            user=password_cluster.user,
            password=CLUSTER_PASSWORD,
            slot_name="pw_slot",
            publication_name="pw_pub",
            create_slot=True,
        )
        await r.connect()
        assert r.state == "connected"
        assert CLUSTER_PASSWORD not in repr(r)
        await r.stop()
    finally:
        password_cluster.psql(
            "postgres",
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = 'pw_slot' AND NOT active; DROP PUBLICATION pw_pub",
        )


async def test_password_in_a_dsn_is_not_shown_either(password_cluster: Any) -> None:
    r = pgoutput_decoder.LogicalReplicationReader(
        dsn=f"postgresql://{password_cluster.user}:{WRONG_PASSWORD}@{password_cluster.host}:"
        f"{password_cluster.port}/postgres",
        slot_name="s",
        publication_name="p",
        connect_timeout=5,
    )
    assert WRONG_PASSWORD not in repr(r)
    assert "'***'" in repr(r)
    exc = await first_error(r)
    assert isinstance(exc, pgoutput_decoder.AuthenticationError)
    assert WRONG_PASSWORD not in str(exc)


async def test_unreachable_port_is_a_connection_error_fast() -> None:
    r = reader(port=free_port(), password=WRONG_PASSWORD, database="postgres")
    started = time.monotonic()
    exc = await first_error(r)
    assert isinstance(exc, pgoutput_decoder.ConnectionError), repr(exc)
    assert isinstance(exc, builtins.ConnectionError)
    assert isinstance(exc, pgoutput_decoder.ReplicationError)
    assert time.monotonic() - started < 5
    assert "could not connect" in str(exc)
    assert WRONG_PASSWORD not in str(exc)


async def test_missing_publication(db: Database) -> None:
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    r = db.reader()  # neither the publication nor the slot exists; create_* default False
    exc = await first_error(r)
    assert isinstance(exc, pgoutput_decoder.PublicationNotFoundError), repr(exc)
    assert db.publication in str(exc)
    assert "CREATE PUBLICATION" in str(exc)


async def test_missing_slot(db: Database) -> None:
    db.create_publication()
    r = db.reader()
    exc = await first_error(r)
    assert isinstance(exc, pgoutput_decoder.SlotNotFoundError), repr(exc)
    assert db.slot in str(exc)
    assert "pg_create_logical_replication_slot" in str(exc)


async def test_create_slot_and_publication_on_request(db: Database) -> None:
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    r = db.reader(create_slot=True, create_publication=True)
    await r.connect()
    await db.wait_slot_streaming()
    assert (
        db.scalar(f"SELECT count(*) FROM pg_publication WHERE pubname = '{db.publication}'") == "1"
    )
    await db.asql("INSERT INTO t VALUES (1)")
    (m,) = await collect(r, 1)
    assert m.after == {"id": 1}


async def test_wal_level_replica_is_a_configuration_error(replica_cluster: Any) -> None:
    r = reader(
        host=replica_cluster.host,
        port=replica_cluster.port,
        database="postgres",
        user=replica_cluster.user,
        slot_name="s",
        publication_name="p",
        create_slot=True,
        create_publication=True,
    )
    exc = await first_error(r)
    assert isinstance(exc, pgoutput_decoder.ConfigurationError), repr(exc)
    assert "wal_level = logical" in str(exc)
    assert "replica" in str(exc)


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="decimal_mode"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", decimal_mode="double")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("keyword", "allowed"),
    [
        ("decimal_handling_mode", ["precise", "double", "string"]),
        ("time_precision_mode", ["adaptive", "adaptive_time_microseconds", "connect"]),
        ("binary_handling_mode", ["bytes", "base64", "base64-url-safe", "hex"]),
        ("interval_handling_mode", ["numeric", "string"]),
        ("hstore_handling_mode", ["json", "map"]),
    ],
)
def test_bad_mode_is_a_value_error_listing_the_allowed_values(
    keyword: str, allowed: list[str]
) -> None:
    with pytest.raises(ValueError, match="bogus") as info:
        pgoutput_decoder.LogicalReplicationReader("p", "s", **{keyword: "bogus"})  # type: ignore[arg-type]
    text = str(info.value)
    assert keyword in text
    assert "bogus" in text
    for value in allowed:
        assert value in text, (value, text)


def test_bad_sslmode_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="sometimes") as info:
        pgoutput_decoder.LogicalReplicationReader("p", "s", sslmode="sometimes")  # type: ignore[arg-type]
    text = str(info.value)
    assert "sometimes" in text
    for mode in ("disable", "prefer", "require", "verify-ca", "verify-full"):
        assert mode in text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"port": 0}, ValueError),
        ({"port": 70000}, ValueError),
        ({"start_lsn": "not-an-lsn"}, ValueError),
        ({"start_lsn": True}, TypeError),
        ({"start_lsn": -1}, ValueError),
        ({"status_interval": 0}, ValueError),
        ({"connect_timeout": -1}, ValueError),
        ({"skipped_operations": "c,x"}, ValueError),
        ({"max_queue_size": 0}, ValueError),
        ({"slot_name": "Bad-Slot"}, ValueError),
        ({"host": ""}, ValueError),
        ({"reconnect": {"bogus": 1}}, ValueError),
        ({"reconnect": "yes"}, TypeError),
        ({"tables": 5}, TypeError),
        ({"tables": "(unclosed"}, ValueError),
    ],
)
def test_bad_values_fail_when_the_reader_is_created(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        pgoutput_decoder.LogicalReplicationReader(**{**NAMES, **kwargs})


def test_repr_hides_the_password() -> None:
    r = pgoutput_decoder.LogicalReplicationReader(
        password="hunter2-secret", slot_name="s1", publication_name="p1", database="shop"
    )
    text = repr(r)
    assert "hunter2-secret" not in text
    assert "'***'" in text
    assert "slot_name='s1'" in text
    assert "database='shop'" in text
    assert "state='idle'" in text
    assert "password=None" in repr(pgoutput_decoder.LogicalReplicationReader("p", "s"))


async def test_acknowledge_after_stop_is_an_error(db: Database) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY)")
    r = db.reader(auto_acknowledge=False)
    await r.connect()
    await r.stop()
    assert r.state == "stopped"
    with pytest.raises(pgoutput_decoder.ReplicationError, match="after stop"):
        await r.acknowledge()
    # Iterating a stopped reader just ends.
    assert [m async for m in r] == []
    # stop() again is harmless.
    await r.stop()


#: A value of the wrong type for every argument of the reader.
WRONG_TYPES: dict[str, Any] = {
    "publication_name": 1,
    "slot_name": b"slot",
    "host": 5,
    "database": ["shop"],
    "port": "5432",
    "user": 5,
    "password": b"secret",
    "start_lsn": 1.5,
    "auto_acknowledge": "yes",
    "dsn": 5,
    "sslmode": True,
    "sslrootcert": 5,
    "connect_timeout": "5",
    "create_slot": 1,
    "slot_failover": "no",
    "create_publication": 1,
    "tables": 5,
    "reconnect": "yes",
    "reconnect_max_attempts": 1.5,
    "reconnect_initial_delay": "1",
    "reconnect_max_delay": "1",
    "decimal_handling_mode": 1,
    "time_precision_mode": 1,
    "binary_handling_mode": 1,
    "interval_handling_mode": 1,
    "hstore_handling_mode": 1,
    "money_fraction_digits": "2",
    "unavailable_value_placeholder": 1,
    "provide_transaction_metadata": "yes",
    "skipped_operations": 1,
    "topic_prefix": 1,
    "tombstones_on_delete": "no",
    "status_interval": "1",
    "receive_timeout": "1",
    "batch_linger": "0",
    "max_batch_size": 1.5,
    "max_queue_size": "1",
    "two_phase": 1,
    "multidimensional_array_mode": 1,
    "snapshot_mode": 1,
    "offset_file": 5,
    "properties": [("a", "b")],
    "metrics_addr": 9187,
    "slot_status_interval": "10",
    "progress_interval": "10",
    "lag_warning_seconds": "60",
}


def test_every_argument_has_a_wrong_type_case() -> None:
    stubs = ast.parse((ROOT / "python/pgoutput_decoder/_native.pyi").read_text())
    (init,) = (
        node
        for cls in stubs.body
        if isinstance(cls, ast.ClassDef) and cls.name == "LogicalReplicationReader"
        for node in cls.body
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    names = [a.arg for a in init.args.args[1:] + init.args.kwonlyargs]
    assert sorted(names) == sorted(WRONG_TYPES)


@pytest.mark.parametrize(("keyword", "value"), sorted(WRONG_TYPES.items()))
def test_a_wrong_type_names_the_argument(keyword: str, value: Any) -> None:
    """``<name> must be <type>, got <type> <repr>``, for every argument."""
    with pytest.raises(TypeError) as info:
        pgoutput_decoder.LogicalReplicationReader(**{**NAMES, keyword: value})
    text = str(info.value)
    assert text.startswith(f"{keyword} must be "), text
    assert text.endswith(f", got {type(value).__name__} {value!r}"), text


def test_wrong_types_inside_containers_are_named_too() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tables": ["public.t", 5]}, "tables elements must be str, got int 5"),
        ({"skipped_operations": [None]}, "skipped_operations elements must be str, got NoneType"),
        ({"reconnect": {"enabled": "yes"}}, 'reconnect["enabled"] must be a bool, got str'),
        ({"reconnect": {"max_delay": "9"}}, 'reconnect["max_delay"] must be a number'),
        ({"properties": {"topic.prefix": None}}, 'properties["topic.prefix"] must be a str'),
        ({"properties": {5: "x"}}, "properties keys must be strings, got int 5"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(TypeError) as info:
            pgoutput_decoder.LogicalReplicationReader(**{**NAMES, **kwargs})
        assert expected in str(info.value), (kwargs, str(info.value))


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({}, "publication_name and slot_name"),
        ({"slot_name": "s"}, "publication_name"),
        ({"publication_name": "p"}, "slot_name"),
        ({"publication_name": None, "slot_name": "s"}, "publication_name"),
    ],
)
def test_publication_and_slot_names_are_required(kwargs: dict[str, Any], missing: str) -> None:
    with pytest.raises(TypeError, match=f"missing required arguments?: {missing} "):
        pgoutput_decoder.LogicalReplicationReader(**kwargs)


@pytest.mark.skipif(
    sys.version_info < (3, 10),
    reason="an abi3 extension's classes carry no __text_signature__ before CPython 3.10",
)
def test_the_runtime_signature_matches_the_stubs() -> None:
    """``help()`` and ``inspect.signature`` show the stubs' parameters and defaults."""
    stubs = ast.parse((ROOT / "python/pgoutput_decoder/_native.pyi").read_text())
    (init,) = (
        node
        for cls in stubs.body
        if isinstance(cls, ast.ClassDef) and cls.name == "LogicalReplicationReader"
        for node in cls.body
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    positional = init.args.args[1:]
    stub_defaults: dict[str, object] = {}
    first_default = len(positional) - len(init.args.defaults)
    for arg, default in zip(positional[first_default:], init.args.defaults):
        stub_defaults[arg.arg] = ast.literal_eval(default)
    for arg, kw_default in zip(init.args.kwonlyargs, init.args.kw_defaults):
        assert kw_default is not None
        stub_defaults[arg.arg] = ast.literal_eval(kw_default)
    signature = inspect.signature(pgoutput_decoder.LogicalReplicationReader)
    params = list(signature.parameters.values())
    assert [p.name for p in params] == [a.arg for a in positional + init.args.kwonlyargs]
    for p in params:
        if p.name in stub_defaults:
            assert p.default == stub_defaults[p.name], p.name
        else:
            assert p.default is inspect.Parameter.empty, p.name
