"""Monitoring from Python: ``reader.stats()`` checked against the server's own view
(``pg_replication_slots``, ``pg_stat_replication``), ``metrics_addr=`` serving the CLI's
endpoints, and the progress and lag lines in ``logging``."""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.error
import urllib.request

import pytest

import pgoutput_decoder
from helpers import Database, collect, parse_lsn, wait_until

TABLE = "CREATE TABLE t (id int PRIMARY KEY, v text)"
CHANGES = (
    "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 20) i;"
    "UPDATE t SET v = 'changed' WHERE id <= 5;"
    "DELETE FROM t WHERE id > 18"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()


def server_view(db: Database) -> dict[str, int] | None:
    """The slot's confirmed position and its walsender's sent and flush positions, as the
    server reports them; None until the walsender has them all."""
    out = db.sql(
        "SELECT s.confirmed_flush_lsn, r.sent_lsn, r.flush_lsn "
        "FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid "
        f"WHERE s.slot_name = '{db.slot}'",
        "postgres",
    )
    values = out.split("|")
    if len(values) != 3 or not all(values):
        return None
    confirmed, sent, flush = (parse_lsn(v) for v in values)
    return {"confirmed_flush_lsn": confirmed, "sent_lsn": sent, "flush_lsn": flush}


async def test_stats_agree_with_the_server(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader(auto_acknowledge=False, slot_status_interval=0.2)
    assert reader.stats() is None
    async with reader:
        await db.wait_slot_streaming()
        await db.asql(CHANGES)
        messages = await collect(reader, 27)
        await reader.acknowledge()
        last_commit = max(m.lsn for m in messages)

        stats = reader.stats()
        assert isinstance(stats, pgoutput_decoder.ReaderStats)
        assert stats.events == 27
        assert stats.events_by_op == {"c": 20, "u": 5, "d": 2, "r": 0, "t": 0, "m": 0, "tx": 0}
        assert stats.tables == {"public.t": {"c": 20, "u": 5, "d": 2, "r": 0, "t": 0}}
        assert stats.transactions >= 3
        assert stats.bytes_received > 0
        assert stats.connected
        assert stats.reconnects == 0
        assert stats.errors == 0
        assert stats.last_error is None
        assert stats.queue_capacity == 8192
        assert stats.healthy
        assert stats.health_problems == []
        assert stats.ms_since_last_event is not None

        # Once the acknowledgement went out, the stats, the slot and the walsender agree.
        def agreed() -> bool:
            s = reader.stats()
            server = server_view(db)
            return (
                s is not None
                and server is not None
                and s.confirmed_lsn >= last_commit
                and s.confirmed_lsn == server["confirmed_flush_lsn"] == server["flush_lsn"]
                and s.slot_confirmed_flush_lsn == server["confirmed_flush_lsn"]
            )

        assert await asyncio.to_thread(wait_until, agreed, 30), (reader.stats(), server_view(db))
        stats = reader.stats()
        assert stats is not None
        server = server_view(db)
        assert server is not None
        assert stats.received_lsn <= server["sent_lsn"]
        assert stats.acknowledged_lsn >= stats.confirmed_lsn
        assert stats.slot_active is True
        # pg_replication_slots.wal_status exists from PostgreSQL 13.
        expected_wal_status = "reserved" if db.cluster.major_version >= 13 else None
        assert stats.slot_wal_status == expected_wal_status
        assert stats.server_wal_lsn is not None
        assert stats.server_wal_lsn <= db.current_lsn()
        assert stats.slot_retained_wal_bytes is not None
        assert stats.slot_retained_wal_bytes >= 0
        assert stats.lag_bytes == stats.server_wal_lsn - server["confirmed_flush_lsn"]
        assert "ReaderStats(events=27" in repr(stats)
    # After the stop: the numbers at the stop.
    stopped = reader.stats()
    assert stopped is not None
    assert stopped.events == 27


async def test_metrics_addr_serves_the_endpoints_while_connected(db: Database) -> None:
    db.prepare(TABLE)
    addr = f"127.0.0.1:{free_port()}"
    reader = db.reader(metrics_addr=addr)
    async with reader:
        await db.wait_slot_streaming()
        await db.asql(CHANGES)
        await collect(reader, 27)
        status, text = await asyncio.to_thread(http_get, f"http://{addr}/metrics")
        assert status == 200
        assert 'pgoutput_decoder_events_total{op="c"} 20' in text.splitlines()
        assert 'pgoutput_decoder_table_events_total{table="public.t",op="u"} 5' in text
        assert "pgoutput_decoder_connected 1" in text.splitlines()
        assert await asyncio.to_thread(http_get, f"http://{addr}/health") == (200, "ok\n")

    # The endpoint ends with the reader.
    def closed() -> bool:
        try:
            http_get(f"http://{addr}/health")
        except OSError:  # URLError, or a connection reset while the listener closes
            return True
        return False

    assert await asyncio.to_thread(wait_until, closed, 10)


def test_bad_monitoring_keywords_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="progress_interval must be a positive number"):
        db.reader(progress_interval=0)
    with pytest.raises(TypeError, match="metrics_addr must be a str"):
        db.reader(metrics_addr=9187)


async def test_progress_and_lag_warning_in_logging(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    db.prepare(TABLE)
    caplog.set_level(logging.INFO, logger="pgoutput_decoder")
    reader = db.reader(progress_interval=0.2, lag_warning_seconds=0.5)
    async with reader:
        await db.wait_slot_streaming()
        await db.asql("INSERT INTO t VALUES (1, 'a')")
        # Nothing takes the change for a while: it waits in the queue and the lag grows.

        def logged(level: int, text: str) -> bool:
            return any(
                r.levelno == level and text in r.getMessage()
                for r in caplog.records
                if r.name == "pgoutput_decoder"
            )

        assert await asyncio.to_thread(
            wait_until, lambda: logged(logging.WARNING, "ms behind the source"), 30
        )
        assert logged(logging.INFO, "progress: ")
        await collect(reader, 1)
        # The lag is that of the last change taken (as Debezium's MilliSecondsBehindSource):
        # a fresh change taken at once brings it back down.
        await db.asql("INSERT INTO t VALUES (2, 'b')")
        await collect(reader, 1)
        assert await asyncio.to_thread(
            wait_until, lambda: logged(logging.INFO, "lag is back under"), 30
        )


async def test_stats_follow_an_initial_snapshot(db: Database) -> None:
    db.sql(f"{TABLE}; INSERT INTO t SELECT i, 'v' FROM generate_series(1, 30) i")
    db.create_publication()
    reader = db.reader(create_slot=True, properties={"snapshot.mode": "initial"})
    async with reader:
        reads = await collect(reader, 30)
        assert {m.op for m in reads} == {"r"}

        def completed() -> bool:
            s = reader.stats()
            return s is not None and s.snapshot_completed is True

        assert await asyncio.to_thread(wait_until, completed, 30), reader.stats()
        stats = reader.stats()
        assert stats is not None
        assert stats.snapshot_running is False
        assert stats.snapshot_tables_total == 1
        assert stats.snapshot_tables_remaining == 0
        assert stats.tables["public.t"]["r"] == 30
    # Without a snapshot the fields are None.
    later = db.reader()
    async with later:
        stats = later.stats()
        assert stats is not None
        assert stats.snapshot_running is None
