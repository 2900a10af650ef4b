"""The reader's life cycle and options: ``async with``, ``iter_sync``, stopping from another
task, table filters, ``start_lsn``, ``dsn=``, positions and state, logging."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

import pgoutput_decoder
from helpers import Database, assert_no_more, collect, wait_until

TABLE = "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE other (id int PRIMARY KEY);"


async def test_async_with_connects_on_enter_and_stops_on_exit(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader()
    assert reader.state == "idle"
    assert reader.positions is None
    async with reader as r:
        assert r is reader
        assert reader.state == "connected"
        await db.wait_slot_streaming()
        await db.asql("INSERT INTO t VALUES (1)")
        got = []
        async for m in reader:
            got.append(m)
            break
        assert got[0].after == {"id": 1}
        positions = r.positions  # (mypy still has reader.positions narrowed to None)
        assert positions is not None
        assert set(positions) == {"received", "handed_out", "acknowledged"}
        assert positions["received"] >= positions["handed_out"] >= got[0].lsn
    assert reader.state == "stopped"
    # The connection is closed, so the slot is free at once.
    await db.wait_slot_inactive(timeout=5)


def test_iter_sync_for_scripts(db: Database) -> None:
    db.prepare(TABLE)
    db.sql("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);")
    reader = db.reader()
    watchdog = threading.Timer(30, reader.stop_sync)  # never hang the suite
    watchdog.start()
    try:
        with reader:
            assert reader.state == "connected"
            got = []
            for message in reader.iter_sync():
                got.append(message.after["id"])
                if len(got) == 3:
                    reader.acknowledge_sync()
                    break
        assert got == [1, 2, 3]
        assert reader.state == "stopped"
    finally:
        watchdog.cancel()

    # Everything was acknowledged before stopping: a new reader gets nothing old.
    again = db.reader()
    with again:
        db.sql("INSERT INTO t VALUES (4)")
        assert next(again.iter_sync()).after == {"id": 4}


def test_iter_sync_ends_when_stopped_from_another_thread(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader()
    reader.connect_sync()
    stopper = threading.Timer(0.5, reader.stop_sync)
    stopper.start()
    assert list(reader.iter_sync()) == []
    stopper.join(10)
    assert reader.state == "stopped"


async def test_stop_from_another_task_ends_the_loop(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader()
    got: list[Any] = []

    async def consume() -> None:
        async for m in reader:
            got.append(m)

    task = asyncio.create_task(consume())
    await db.asql("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
    for _ in range(300):
        if len(got) == 2:
            break
        await asyncio.sleep(0.05)
    await reader.stop()
    await asyncio.wait_for(task, 10)
    assert [m.after["id"] for m in got] == [1, 2]


async def test_table_filter(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader(tables=[r"public\.t"])
    await db.asql(
        "INSERT INTO other VALUES (1); INSERT INTO t VALUES (2); INSERT INTO other VALUES (3);"
    )
    (m,) = await collect(reader, 1)
    assert (m.table, m.after) == ("public.t", {"id": 2})
    await assert_no_more(reader, 0.5)


async def test_skipped_operations(db: Database) -> None:
    db.prepare(TABLE)
    # The list replaces the default ("t"): truncates are emitted now.
    reader = db.reader(skipped_operations=["c", "d"])
    await db.asql(
        "INSERT INTO t VALUES (1); UPDATE t SET id = id WHERE id = 1; DELETE FROM t; TRUNCATE t;"
    )
    update, truncate = await collect(reader, 2)
    assert (update.op, truncate.op) == ("u", "t")
    await assert_no_more(reader, 0.5)


async def test_start_lsn_skips_earlier_transactions(db: Database) -> None:
    db.prepare(TABLE)
    db.sql("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
    start = db.current_lsn()
    db.sql("INSERT INTO t VALUES (3);")
    reader = db.reader(start_lsn=start)
    assert reader.start_lsn == start
    (m,) = await collect(reader, 1)
    assert m.after == {"id": 3}
    await assert_no_more(reader, 0.5)


async def test_batch_linger_never_holds_a_lone_change(db: Database) -> None:
    db.prepare(TABLE)
    # Far longer than the bound below: a held change would show.
    reader = db.reader(batch_linger=3.0)
    await db.asql("INSERT INTO t VALUES (1)")
    (first,) = await collect(reader, 1)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    inserted = loop.time()
    await db.asql("INSERT INTO t VALUES (2)")
    (second,) = await collect(reader, 1)
    assert loop.time() - inserted < 1.5
    assert (first.after, second.after) == ({"id": 1}, {"id": 2})
    # A burst arrives whole and in order, batched or not.
    await db.asql("INSERT INTO t SELECT g FROM generate_series(3, 5002) g")
    burst = await collect(reader, 5000)
    assert [m.after["id"] for m in burst] == list(range(3, 5003))
    with pytest.raises(ValueError, match="batch_linger"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", batch_linger=-0.1)


async def test_dsn_connection_string(db: Database) -> None:
    db.prepare(TABLE)
    reader = pgoutput_decoder.LogicalReplicationReader(
        publication_name=db.publication,
        slot_name=db.slot,
        dsn=db.cluster.dsn(db.name),
        status_interval=0.2,
    )
    db.readers.append(reader)
    assert reader.database == db.name
    assert reader.port == db.cluster.port
    await db.asql("INSERT INTO t VALUES (1)")
    (m,) = await collect(reader, 1)
    assert m.source["db"] == db.name


#: libpq's environment variables the reader reads (as the command-line tool does).
LIBPQ_ENV = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGCONNECT_TIMEOUT",
    "PGAPPNAME",
    "PGTARGETSESSIONATTRS",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """No libpq variable set, and no ~/.pgpass."""
    for name in LIBPQ_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


def test_defaults_and_attributes(clean_env: pytest.MonkeyPatch) -> None:
    reader = pgoutput_decoder.LogicalReplicationReader("test_pub", "test_slot")
    assert reader.publication_name == "test_pub"
    assert reader.slot_name == "test_slot"
    assert reader.host == "localhost"
    assert reader.port == 5432
    assert reader.database == "postgres"
    assert reader.user == "postgres"
    assert reader.auto_acknowledge is True
    assert reader.start_lsn is None
    assert reader.state == "idle"
    positional = pgoutput_decoder.LogicalReplicationReader(
        "p", "s", "db.example", "shop", 6543, "cdc", "pw", "0/16B3748", False
    )
    assert (positional.publication_name, positional.slot_name) == ("p", "s")
    assert (positional.host, positional.database, positional.port) == ("db.example", "shop", 6543)
    assert positional.user == "cdc"
    assert positional.start_lsn == 0x16B3748
    assert positional.auto_acknowledge is False


def test_connection_settings_not_given_come_from_the_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("PGHOST", "envhost")
    clean_env.setenv("PGPORT", "6543")
    clean_env.setenv("PGUSER", "envuser")
    clean_env.setenv("PGDATABASE", "envdb")
    clean_env.setenv("PGPASSWORD", "env-secret")
    clean_env.setenv("PGSSLMODE", "require")
    reader = pgoutput_decoder.LogicalReplicationReader("p", "s")
    assert (reader.host, reader.port, reader.user, reader.database) == (
        "envhost",
        6543,
        "envuser",
        "envdb",
    )
    text = repr(reader)
    assert "password='***'" in text
    assert "env-secret" not in text
    assert "sslmode='require'" in text
    # Explicit keywords win over the environment, the DSN over both.
    explicit = pgoutput_decoder.LogicalReplicationReader(
        "p", "s", host="kwhost", port=7000, sslmode="disable"
    )
    assert (explicit.host, explicit.port, explicit.user) == ("kwhost", 7000, "envuser")
    assert "sslmode='disable'" in repr(explicit)
    from_dsn = pgoutput_decoder.LogicalReplicationReader(
        "p", "s", host="kwhost", dsn="postgresql://dsnuser@dsnhost/dsndb"
    )
    assert (from_dsn.host, from_dsn.port) == ("dsnhost", 6543)
    assert (from_dsn.user, from_dsn.database) == ("dsnuser", "dsndb")
    # None is "not given" too.
    nones = pgoutput_decoder.LogicalReplicationReader("p", "s", host=None, port=None, user=None)
    assert (nones.host, nones.port, nones.user) == ("envhost", 6543, "envuser")
    # A bad value in the environment names the variable.
    clean_env.setenv("PGPORT", "not-a-port")
    with pytest.raises(ValueError, match="PGPORT"):
        pgoutput_decoder.LogicalReplicationReader("p", "s")


async def test_a_reader_with_only_the_names_connects_through_the_environment(
    db: Database, clean_env: pytest.MonkeyPatch
) -> None:
    db.prepare(TABLE)
    clean_env.setenv("PGHOST", db.cluster.host)
    clean_env.setenv("PGPORT", str(db.cluster.port))
    clean_env.setenv("PGUSER", db.cluster.user)
    clean_env.setenv("PGDATABASE", db.name)
    reader = pgoutput_decoder.LogicalReplicationReader(
        publication_name=db.publication, slot_name=db.slot
    )
    db.readers.append(reader)
    assert (reader.host, reader.port, reader.database) == (
        db.cluster.host,
        db.cluster.port,
        db.name,
    )
    await db.asql("INSERT INTO t VALUES (1)")
    (m,) = await collect(reader, 1)
    assert m.after == {"id": 1}
    assert m.source["db"] == db.name


async def test_the_password_file_supplies_the_password(
    password_cluster: Any, clean_env: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    pg = password_cluster
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{pg.host}:{pg.port}:*:{pg.user}:{pg.password}\n")
    passfile.chmod(0o600)
    clean_env.setenv("PGPASSFILE", str(passfile))
    clean_env.setenv("PGHOST", pg.host)
    clean_env.setenv("PGPORT", str(pg.port))
    clean_env.setenv("PGUSER", pg.user)
    clean_env.setenv("PGDATABASE", "postgres")
    reader = pgoutput_decoder.LogicalReplicationReader(
        "passfile_pub", "passfile_slot", create_slot=True, create_publication=True
    )
    assert "password='***'" in repr(reader)
    assert pg.password not in repr(reader)
    try:
        await reader.connect()
        assert reader.state == "connected"
        await reader.stop()
        # Without the file there is no password, and the server says so.
        clean_env.delenv("PGPASSFILE")
        without = pgoutput_decoder.LogicalReplicationReader(
            "passfile_pub", "passfile_slot", reconnect=False
        )
        assert "password=None" in repr(without)
        with pytest.raises(pgoutput_decoder.AuthenticationError):
            await without.connect()
    finally:
        await reader.stop()
        pg.psql(
            "postgres",
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = 'passfile_slot' AND NOT active; DROP PUBLICATION passfile_pub",
        )


async def test_logging_goes_to_the_pgoutput_decoder_logger(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    db.prepare(TABLE)
    caplog.set_level(logging.INFO, logger="pgoutput_decoder")
    reader = db.reader()
    await reader.connect()
    await reader.stop()
    records = [r for r in caplog.records if r.name.startswith("pgoutput_decoder")]
    assert records, "no log record from the reader"
    assert any("streaming started" in r.getMessage() for r in records)


@pytest.mark.slow
async def test_two_readers_on_one_slot_are_refused(db: Database) -> None:
    """One slot serves one consumer: a second reader waits a while (the holder may be a
    connection that is going away), then gives up with ConnectionError."""
    db.prepare(TABLE)
    first = db.reader()
    await first.connect()
    await db.wait_slot_streaming()
    second = db.reader(reconnect=False)
    with pytest.raises(pgoutput_decoder.ConnectionError) as info:
        await asyncio.wait_for(second.connect(), 60)
    assert info.value.kind == "slot_in_use"
    assert f'"{db.slot}" is in use by another connection' in str(info.value)


EXIT_RIGHT_AFTER_STOP = """
import asyncio, sys
import pgoutput_decoder

async def main() -> None:
    reader = pgoutput_decoder.LogicalReplicationReader(
        dsn=sys.argv[1], publication_name=sys.argv[2], slot_name=sys.argv[3]
    )
    await reader.connect()
    await reader.stop()

asyncio.run(main())
print("exited cleanly")
"""


def test_process_exits_cleanly_right_after_stop(db: Database) -> None:
    """A script that stops its reader and ends at once must exit with status 0 (no crash of
    background threads while the interpreter shuts down)."""
    db.prepare(TABLE)
    args = [db.cluster.dsn(db.name), db.publication, db.slot]
    codes = []
    for _ in range(8):
        result = subprocess.run(
            [sys.executable, "-c", EXIT_RIGHT_AFTER_STOP, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        codes.append((result.returncode, result.stderr.strip().splitlines()[:1]))
    assert all(code == 0 for code, _ in codes), codes


async def test_cancelled_steps_lose_nothing(db: Database) -> None:
    """A step cancelled by a timeout (``asyncio.wait_for``) loses no message: what arrives
    meanwhile is handed out by the next step. The 5 ms timeouts also cancel the first steps
    while they are still connecting: the connection carries on and the next step uses it."""
    db.prepare(TABLE)
    reader = db.reader()
    writer = asyncio.create_task(
        db.asql("".join(f"INSERT INTO t VALUES ({i});" for i in range(1, 101)))
    )
    got: list[int] = []
    timeouts = 0
    for _ in range(20_000):
        if len(got) == 100:
            break
        try:
            message = await asyncio.wait_for(reader.__anext__(), 0.005)
        except asyncio.TimeoutError:
            timeouts += 1
            continue
        got.append(message.after["id"])
    await writer
    assert got == list(range(1, 101))
    assert timeouts > 0, "no step was cancelled; the test proved nothing"
    await assert_no_more(reader, 0.3)


def assert_ordered(positions: dict[str, int] | None) -> dict[str, int]:
    assert positions is not None
    assert positions["acknowledged"] <= positions["handed_out"] <= positions["received"], positions
    return positions


async def positions_when(
    reader: Any, condition: Callable[[dict[str, int]], bool]
) -> dict[str, int]:
    """The reader's positions once ``condition`` holds for them. A message can be handed out
    before the end of its transaction arrives, and positions move with transaction ends."""
    assert await asyncio.to_thread(
        wait_until, lambda: condition(assert_ordered(reader.positions)), 5.0
    ), reader.positions
    return assert_ordered(reader.positions)


async def test_positions_of_a_fresh_reader_on_a_slot_read_before(db: Database) -> None:
    """A new reader starts at the slot's confirmed position: nothing is 0, and
    acknowledged <= handed_out <= received before and after the first message."""
    db.prepare(TABLE)
    first = db.reader(auto_acknowledge=False)
    await db.asql("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
    got = await collect(first, 2)
    got[-1].acknowledge()
    await positions_when(first, lambda p: p["acknowledged"] > got[-1].lsn)
    await first.stop()
    confirmed = db.confirmed_flush_lsn()
    assert confirmed is not None
    assert confirmed > got[-1].lsn

    reader = db.reader(auto_acknowledge=False)
    await reader.connect()
    before = assert_ordered(reader.positions)
    # It starts at the confirmed position; a keepalive may already have moved it over WAL
    # written since without a change to hand out (a server's own records, such as the
    # running-transactions snapshot), which needs no acknowledgement.
    assert before["acknowledged"] == before["handed_out"] >= confirmed, before
    assert before["acknowledged"] <= db.current_lsn(), before
    assert before["received"] >= confirmed

    await db.asql("INSERT INTO t VALUES (3); INSERT INTO t VALUES (4)")
    (m,) = await collect(reader, 1)
    assert m.after == {"id": 3}
    after = await positions_when(reader, lambda p: p["handed_out"] > m.lsn)  # its end
    assert confirmed <= after["acknowledged"] <= m.lsn  # nothing acknowledged yet
    await reader.acknowledge()
    acked = assert_ordered(reader.positions)
    assert acked["acknowledged"] == acked["handed_out"] == after["handed_out"]
    (m2,) = await collect(reader, 1)
    assert m2.after == {"id": 4}
    last = await positions_when(reader, lambda p: p["handed_out"] > acked["handed_out"])
    assert last["acknowledged"] == acked["acknowledged"]


async def test_slot_drop_on_stop_drops_the_slot_at_a_graceful_stop_only(db: Database) -> None:
    """``slot.drop.on.stop`` (Debezium's key, through ``properties=``) drops the slot when the
    reader stops; a reader without it leaves the slot in place."""
    db.prepare(TABLE)
    async with db.reader() as reader:
        await db.wait_slot_streaming()
        await db.asql("INSERT INTO t VALUES (1)")
        async for _ in reader:
            break
    assert db.slot_row() is not None, "the slot went away without slot.drop.on.stop"

    async with db.reader(properties={"slot.drop.on.stop": "true"}) as reader:
        await db.wait_slot_streaming()
        await db.asql("INSERT INTO t VALUES (2)")
        async for message in reader:
            assert message.after == {"id": 1} or message.after == {"id": 2}
            if message.after == {"id": 2}:
                break
    assert db.slot_row() is None, "slot.drop.on.stop left the slot behind"
