"""Shared helpers of the Python test suite: a per-test database with its own slot and
publication, collecting messages with a timeout, and small value helpers.

The fixtures that hand these out live in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import decimal
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

import pgoutput_decoder

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHOP_SCHEMA = EXAMPLES / "setup_postgres.sql"
DEMO_WORKLOAD = EXAMPLES / "demo_workload.sql"

#: The superuser password of the ``password_cluster`` fixture.
CLUSTER_PASSWORD = "s3cret-Pa55word"

#: How long a test waits for messages that must arrive.
DEFAULT_TIMEOUT = 30.0
#: How long a test waits to be sure that nothing more arrives.
QUIET_WAIT = 0.5

#: Keyword options every test reader gets: tell the server our position every 0.2 s (not
#: every 10 s), so tests about ``confirmed_flush_lsn`` do not wait long.
FAST_OPTIONS: dict[str, Any] = {"status_interval": 0.2, "connect_timeout": 10}


def parse_lsn(text: str) -> int:
    """``'0/16B3748'`` -> ``23803720``."""
    hi, lo = text.strip().split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(lsn: int) -> str:
    """``23803720`` -> ``'0/16B3748'``."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def describe(message: Any) -> str:
    """One short line per message, for failure output."""
    source = message.source or {}
    where = f"{source.get('schema')}.{source.get('table')}"
    row = message.after if message.after is not None else message.before
    return f"{message.op}:{where}:{row!r}"


def summary(messages: Iterable[Any]) -> list[str]:
    return [describe(m) for m in messages]


async def collect(reader: Any, n: int, timeout: float = DEFAULT_TIMEOUT) -> list[Any]:
    """Exactly ``n`` messages from ``reader``, failing after ``timeout`` seconds overall."""
    got: list[Any] = []

    async def run() -> None:
        while len(got) < n:
            try:
                got.append(await reader.__anext__())
            except StopAsyncIteration:
                raise AssertionError(
                    f"the reader ended after {len(got)} of {n} messages: {summary(got)}"
                ) from None

    try:
        await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(
            f"timed out after {timeout} s with {len(got)} of {n} messages: {summary(got)}"
        ) from None
    return got


async def assert_no_more(reader: Any, wait: float = QUIET_WAIT) -> None:
    """Fails if a message arrives within ``wait`` seconds."""
    try:
        message = await asyncio.wait_for(reader.__anext__(), wait)
    except (asyncio.TimeoutError, StopAsyncIteration):
        return
    raise AssertionError(f"unexpected message: {describe(message)}")


def debezium_decimal(value: decimal.Decimal | str, scale: int) -> str:
    """Debezium's ``Decimal`` logical type: base64 of the big-endian two's complement of the
    unscaled value, e.g. ``12.50`` at scale 2 -> 1250 -> ``'BOI='``."""
    unscaled = int(decimal.Decimal(value).scaleb(scale))
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Polls ``condition`` until it holds or ``timeout`` passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def require_server(cluster: Any, major: int, feature: str) -> None:
    """Skips the test unless the server is PostgreSQL ``major`` or newer."""
    if cluster.major_version < major:
        pytest.skip(
            f"PostgreSQL {major}+ is needed for {feature}, the server is {cluster.major_version}"
        )


def require_server_for_case(cluster: Any, case_dir: Path) -> None:
    """Skips a conformance case whose ``min_server_version`` file (first line: the oldest
    PostgreSQL major version that can run it; the rest: why) names a newer server."""
    path = case_dir / "min_server_version"
    if not path.exists():
        return
    first, _, why = path.read_text().partition("\n")
    needed = int(first.strip())
    if cluster.major_version < needed:
        pytest.skip(
            f"needs PostgreSQL {needed}+ ({' '.join(why.split())}), "
            f"the server is {cluster.major_version}"
        )


class Database:
    """A fresh database of the session's cluster, with a slot and a publication name of its
    own. ``prepare`` runs the schema and creates the publication and the slot (in that order,
    so every later change is streamed whether or not a reader is already connected)."""

    def __init__(self, cluster: Any, name: str, slot: str, publication: str) -> None:
        self.cluster = cluster
        self.name = name
        self.slot = slot
        self.publication = publication
        self.readers: list[Any] = []

    # ----- SQL -----

    def sql(self, sql: str, db: str | None = None) -> str:
        """Runs SQL with psql in this database (or ``db``); returns psql's trimmed output."""
        return str(self.cluster.psql(db or self.name, sql))

    async def asql(self, sql: str, db: str | None = None) -> str:
        """Like :meth:`sql`, in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.sql, sql, db)

    def sql_file(self, path: Path) -> str:
        return self.sql(path.read_text())

    def scalar(self, sql: str, db: str | None = None) -> str:
        return self.sql(sql, db).strip()

    # ----- slot and publication -----

    def create_publication(self, tables: Sequence[str] | None = None) -> None:
        target = "ALL TABLES" if tables is None else "TABLE " + ", ".join(tables)
        self.sql(f"CREATE PUBLICATION {sql_ident(self.publication)} FOR {target}")

    def create_slot(self, slot: str | None = None) -> None:
        self.sql(
            "SELECT 1 FROM pg_create_logical_replication_slot("
            f"{sql_literal(slot or self.slot)}, 'pgoutput')"
        )

    def prepare(self, setup_sql: str = "", tables: Sequence[str] | None = None) -> Database:
        if setup_sql.strip():
            self.sql(setup_sql)
        self.create_publication(tables)
        self.create_slot()
        return self

    def slot_row(self, slot: str | None = None) -> dict[str, Any] | None:
        """``active`` (bool), ``active_pid``, ``confirmed_flush_lsn`` and ``restart_lsn``
        (ints, or None) of a slot, or None when it does not exist."""
        out = self.sql(
            "SELECT active, coalesce(active_pid::text, ''), "
            "coalesce(confirmed_flush_lsn::text, ''), coalesce(restart_lsn::text, '') "
            f"FROM pg_replication_slots WHERE slot_name = {sql_literal(slot or self.slot)}",
            "postgres",
        )
        if not out:
            return None
        active, pid, confirmed, restart = out.split("|")
        return {
            "active": active == "t",
            "active_pid": int(pid) if pid else None,
            "confirmed_flush_lsn": parse_lsn(confirmed) if confirmed else None,
            "restart_lsn": parse_lsn(restart) if restart else None,
        }

    def confirmed_flush_lsn(self, slot: str | None = None) -> int | None:
        row = self.slot_row(slot)
        return None if row is None else row["confirmed_flush_lsn"]

    def current_lsn(self) -> int:
        return parse_lsn(self.scalar("SELECT pg_current_wal_lsn()"))

    async def wait_slot_streaming(self, slot: str | None = None, timeout: float = 30.0) -> None:
        """Waits until a reader streams from the slot (active and consistent)."""
        deadline = time.monotonic() + timeout
        while True:
            row = await asyncio.to_thread(self.slot_row, slot)
            if row is not None and row["active"] and row["confirmed_flush_lsn"] is not None:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"slot {slot or self.slot} not streaming: {row}")
            await asyncio.sleep(0.1)

    async def wait_slot_inactive(self, slot: str | None = None, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            row = await asyncio.to_thread(self.slot_row, slot)
            if row is None or not row["active"]:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"slot {slot or self.slot} still active: {row}")
            await asyncio.sleep(0.1)

    # ----- readers -----

    def connection_kwargs(self) -> dict[str, Any]:
        return {
            "host": self.cluster.host,
            "port": self.cluster.port,
            "database": self.name,
            "user": self.cluster.user,
            "password": self.cluster.password or "",
        }

    def reader(self, **overrides: Any) -> Any:
        """A reader of this database's slot and publication; stopped at the end of the test."""
        kwargs: dict[str, Any] = {
            "publication_name": self.publication,
            "slot_name": self.slot,
            **self.connection_kwargs(),
            **FAST_OPTIONS,
        }
        kwargs.update(overrides)
        reader = pgoutput_decoder.LogicalReplicationReader(**kwargs)
        self.readers.append(reader)
        return reader

    async def stop_readers(self) -> None:
        for reader in self.readers:
            # Best effort at teardown: a reader may already have failed or stopped.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.stop(), 15)
        self.readers.clear()

    # ----- teardown -----

    def drop(self) -> None:
        """Drops every slot of the database (terminating a walsender still holding one) and
        the database itself. Best effort: the cluster goes away at the end anyway."""
        where = f"database = {sql_literal(self.name)}"
        for _ in range(50):
            try:
                self.sql(
                    "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                    f"WHERE {where} AND active AND active_pid IS NOT NULL; "
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    f"WHERE {where} AND NOT active",
                    "postgres",
                )
                left = self.sql(
                    f"SELECT count(*) FROM pg_replication_slots WHERE {where}", "postgres"
                )
            except Exception:  # noqa: BLE001 - a slot may go away between the two steps
                left = "1"
            if left.strip() == "0":
                break
            time.sleep(0.1)
        with contextlib.suppress(Exception):
            self.sql(f"DROP DATABASE IF EXISTS {sql_ident(self.name)} WITH (FORCE)", "postgres")


def unique_name(prefix: str, test_name: str, counter: int) -> str:
    """A lower-case identifier unique in the session, at most 63 bytes (slot name rules)."""
    tail = re.sub(r"[^a-z0-9_]+", "_", test_name.lower()).strip("_")
    return f"{prefix}{counter}_{tail}"[:63]


def json_roundtrip(message: Any) -> dict[str, Any]:
    """The Debezium value of a message, parsed."""
    value = json.loads(message.json())
    assert isinstance(value, dict)
    return value


def check_change(
    message: Any,
    *,
    op: str,
    db: str,
    table: str,
    schema: str = "public",
    started_ms: int | None = None,
) -> None:
    """Checks the envelope of a change event: op, source fields and their types, the event
    times, and that ``json()`` carries the same envelope."""
    assert message.op == op, describe(message)
    source = message.source
    assert isinstance(source, dict)
    assert source["db"] == db
    assert source["schema"] == schema
    assert source["table"] == table
    assert source["snapshot"] == "false"
    assert source["connector"] == "postgresql"
    assert isinstance(source["version"], str)
    assert source["version"]
    assert isinstance(source["name"], str)
    assert isinstance(source["lsn"], int)
    assert not isinstance(source["lsn"], bool)
    assert source["lsn"] > 0
    assert isinstance(source["txId"], int)
    assert source["txId"] > 0
    assert isinstance(source["sequence"], str)
    assert json.loads(source["sequence"])[-1] == str(source["lsn"])
    # Commit time (source.ts_*) and processing time (ts_*): consistent units, plausible.
    now_ms = int(time.time() * 1000)
    for times in (source, {"ts_ms": message.ts_ms, "ts_us": message.ts_us, "ts_ns": message.ts_ns}):
        ts_ms, ts_us, ts_ns = times["ts_ms"], times["ts_us"], times["ts_ns"]
        assert all(isinstance(t, int) for t in (ts_ms, ts_us, ts_ns)), times
        assert ts_us // 1000 == ts_ms, times
        assert ts_ns // 1000 == ts_us, times
        assert now_ms - 600_000 < ts_ms <= now_ms + 1000, times
    if started_ms is not None:
        assert source["ts_ms"] >= started_ms - 1000
    assert source["ts_ms"] <= message.ts_ms + 1000

    value = json_roundtrip(message)
    assert value["op"] == message.op
    assert value["ts_ms"] == message.ts_ms
    assert value["ts_us"] == message.ts_us
    assert value["ts_ns"] == message.ts_ns
    for key, item in source.items():
        assert value["source"][key] == item, key
    assert message.json() == pgoutput_decoder.message_to_debezium_json(message, indent=None)
