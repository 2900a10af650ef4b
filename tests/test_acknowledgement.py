"""Acknowledgement and resuming: what is confirmed to the server, when, and what a new reader
of the same slot gets.

- ``auto_acknowledge=True``: a message is acknowledged once the next one is requested (its
  loop body has finished);
- ``auto_acknowledge=False``: nothing is confirmed until ``acknowledge()``;
- a new reader resumes after the last fully acknowledged transaction: acknowledged
  transactions never come again, unacknowledged ones (and partly acknowledged ones: the
  server resumes at transaction granularity) do.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from helpers import Database, assert_no_more, collect, require_server, wait_until

TABLE = "CREATE TABLE t (id int PRIMARY KEY, note text);"


def ids(messages: list[Any]) -> list[int]:
    return [m.after["id"] for m in messages]


def insert_each(db: Database, first: int, last: int) -> None:
    """One transaction per row."""
    db.sql("\n".join(f"INSERT INTO t VALUES ({i}, 'row {i}');" for i in range(first, last + 1)))


def insert_batches(db: Database, first: int, batches: int, size: int) -> None:
    """``batches`` transactions of ``size`` rows each, ids from ``first``."""
    script = []
    for b in range(batches):
        lo = first + b * size
        script.append(
            f"INSERT INTO t SELECT g, 'batch {lo}' FROM generate_series({lo}, {lo + size - 1}) g;"
        )
    db.sql("\n".join(script))


async def test_auto_ack_confirms_a_message_when_the_next_is_requested(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader()
    assert reader.auto_acknowledge is True
    insert_each(db, 1, 5)
    assert ids(await collect(reader, 3)) == [1, 2, 3]
    # 1 and 2 were acknowledged when 2 and 3 were requested; 3 was handed out but its loop
    # body never finished (no further message was requested).
    await reader.stop()

    again = db.reader()
    assert ids(await collect(again, 3)) == [3, 4, 5]
    await assert_no_more(again)  # requesting the next one acknowledges 5
    await again.stop()

    last = db.reader()
    insert_each(db, 6, 6)
    assert ids(await collect(last, 1)) == [6]
    await assert_no_more(last)


async def test_manual_ack_confirms_nothing_until_acknowledge(db: Database) -> None:
    db.prepare(TABLE)
    insert_each(db, 1, 5)
    reader = db.reader(auto_acknowledge=False)
    assert ids(await collect(reader, 5)) == [1, 2, 3, 4, 5]
    await assert_no_more(reader, 0.5)
    await reader.stop()

    # Nothing was acknowledged: everything again.
    reader = db.reader(auto_acknowledge=False)
    assert ids(await collect(reader, 2)) == [1, 2]
    await reader.acknowledge()  # 1 and 2
    assert ids(await collect(reader, 3)) == [3, 4, 5]
    await reader.stop()

    reader = db.reader(auto_acknowledge=False)
    got = await collect(reader, 3)
    assert ids(got) == [3, 4, 5]
    got[-1].acknowledge()  # the message itself: 5 and everything before it
    await reader.stop()

    reader = db.reader(auto_acknowledge=False)
    await assert_no_more(reader)


async def test_acknowledge_an_lsn_confirms_the_transactions_that_ended_before_it(
    db: Database,
) -> None:
    db.prepare(TABLE)
    insert_each(db, 1, 3)
    boundary = db.current_lsn()  # after the commits of 1..3, before 4 and 5
    insert_each(db, 4, 5)

    reader = db.reader(auto_acknowledge=False)
    got = await collect(reader, 5)
    assert ids(got) == [1, 2, 3, 4, 5]
    assert got[2].lsn < boundary <= got[3].lsn
    await reader.acknowledge(boundary)
    await reader.stop()

    reader = db.reader(auto_acknowledge=False)
    assert ids(await collect(reader, 2)) == [4, 5]
    # The "X/Y" form is accepted too.
    from helpers import format_lsn

    await reader.acknowledge(format_lsn(db.current_lsn()))
    await reader.stop()
    reader = db.reader(auto_acknowledge=False)
    await assert_no_more(reader)


async def test_acknowledge_message_lsn_confirms_only_transactions_ended_before_it(
    db: Database,
) -> None:
    """``message.lsn`` is where the change is in the WAL, before its commit:
    ``reader.acknowledge(message.lsn)`` confirms the transactions that ended before it, not
    the message's own. ``message.acknowledge()`` confirms the message itself."""
    db.prepare(TABLE)
    insert_each(db, 1, 5)
    reader = db.reader(auto_acknowledge=False)
    got = await collect(reader, 5)
    await reader.acknowledge(got[2].lsn)
    await reader.stop()

    reader = db.reader(auto_acknowledge=False)
    again = await collect(reader, 3)
    assert ids(again) == [3, 4, 5]
    again[0].acknowledge()
    await reader.stop()

    reader = db.reader(auto_acknowledge=False)
    assert ids(await collect(reader, 2)) == [4, 5]
    await assert_no_more(reader)


@pytest.mark.parametrize("by_lsn", [False, True], ids=["message.acknowledge", "acknowledge(lsn)"])
async def test_a_transaction_committed_right_after_a_message_is_never_lost(
    db: Database, by_lsn: bool
) -> None:
    """A non-transactional message written just before COMMIT comes first, at the LSN where
    the transaction's commit starts (where the message's record ends). The transaction comes
    too, and acknowledging only the message (``message.acknowledge()``, or
    ``acknowledge(message.lsn)``) leaves the transaction unconfirmed: a new reader gets it, not
    the message."""
    require_server(db.cluster, 14, "logical decoding messages")
    db.prepare(TABLE)
    reader = db.reader(auto_acknowledge=False)
    db.sql(
        "BEGIN; INSERT INTO t VALUES (1, 'after the message'); "
        "SELECT pg_logical_emit_message(false, 'audit', 'just before the commit'); COMMIT;"
    )
    message, insert = await collect(reader, 2)
    assert (message.op, insert.op, insert.after["id"]) == ("m", "c", 1)
    if by_lsn:
        await reader.acknowledge(message.lsn)
    else:
        message.acknowledge()
    await reader.stop()

    reader = db.reader(auto_acknowledge=False)
    assert ids(await collect(reader, 1)) == [1]
    await reader.acknowledge()
    await reader.stop()
    reader = db.reader(auto_acknowledge=False)
    await assert_no_more(reader)


async def test_partly_acknowledged_transaction_is_delivered_again(db: Database) -> None:
    db.prepare(TABLE)
    db.sql("INSERT INTO t VALUES (1, 'alone')")
    db.sql(
        "BEGIN; INSERT INTO t VALUES (2, 'a'); INSERT INTO t VALUES (3, 'b'); "
        "INSERT INTO t VALUES (4, 'c'); COMMIT;"
    )
    reader = db.reader(auto_acknowledge=False)
    got = await collect(reader, 4)
    got[2].acknowledge()  # in the middle of the second transaction
    await reader.stop()

    # PostgreSQL resumes at transaction granularity: the whole second transaction again,
    # the first one never.
    reader = db.reader(auto_acknowledge=False)
    assert ids(await collect(reader, 3)) == [2, 3, 4]
    await assert_no_more(reader, 0.5)


async def test_confirmed_flush_lsn_follows_acknowledgements(db: Database) -> None:
    db.prepare(TABLE)
    reader = db.reader(auto_acknowledge=False)
    await reader.connect()
    await db.wait_slot_streaming()
    initial = db.confirmed_flush_lsn()
    assert initial is not None

    await db.asql("INSERT INTO t VALUES (1, 'x')")
    (message,) = await collect(reader, 1)
    # Several status intervals (0.2 s) later, the unacknowledged change is not confirmed.
    await asyncio.sleep(1.0)
    confirmed = db.confirmed_flush_lsn()
    assert confirmed is not None
    assert confirmed <= message.source["lsn"]

    await reader.acknowledge()
    positions = reader.positions
    assert positions is not None
    assert positions["acknowledged"] >= message.source["lsn"]
    advanced = await asyncio.to_thread(
        wait_until, lambda: (db.confirmed_flush_lsn() or 0) > message.source["lsn"], 5.0
    )
    assert advanced, f"confirmed_flush_lsn stayed at {db.confirmed_flush_lsn()}"

    # Auto mode: requesting the next message confirms the previous one.
    await reader.stop()
    auto = db.reader()
    await db.asql("INSERT INTO t VALUES (2, 'y')")
    (second,) = await collect(auto, 1)
    await asyncio.sleep(0.6)
    assert (db.confirmed_flush_lsn() or 0) <= second.source["lsn"]
    await assert_no_more(auto, 0.3)
    advanced = await asyncio.to_thread(
        wait_until, lambda: (db.confirmed_flush_lsn() or 0) > second.source["lsn"], 5.0
    )
    assert advanced


async def test_no_loss_and_no_redelivery_of_acknowledged_transactions_across_restarts(
    db: Database,
) -> None:
    db.prepare(TABLE)
    # 10 transactions of 30 rows.
    await asyncio.to_thread(insert_batches, db, 1, 10, 30)
    first = db.reader()
    got = await collect(first, 140)  # stops in the middle of the fifth transaction
    assert ids(got) == list(range(1, 141))
    await first.stop()

    # More traffic while nobody reads: 5 transactions of 30 rows.
    await asyncio.to_thread(insert_batches, db, 301, 5, 30)
    second = db.reader()
    rest = await collect(second, 330)
    # Transactions 1-4 (rows 1-120) were acknowledged: never again. The fifth was partly
    # acknowledged (up to row 139): delivered again from its start.
    assert ids(rest) == list(range(121, 451))
    tx: dict[Any, set[Any]] = {}
    for m in got + rest:
        tx.setdefault(m.after["note"], set()).add(m.source["txId"])
    assert all(len(v) == 1 for v in tx.values()), tx
    await assert_no_more(second)


async def test_server_restart_mid_stream_loses_nothing_and_repeats_nothing(
    db: Database,
) -> None:
    db.prepare(TABLE)
    reader = db.reader(reconnect_initial_delay=0.1, reconnect_max_delay=1.0)
    await asyncio.to_thread(insert_batches, db, 1, 4, 25)
    first = await collect(reader, 50)
    assert ids(first) == list(range(1, 51))

    started = time.monotonic()
    await asyncio.to_thread(db.cluster.restart, "immediate")
    await asyncio.to_thread(insert_batches, db, 101, 4, 25)
    rest = await collect(reader, 150, timeout=60)
    # The reader reconnected by itself, resumed at the acknowledged position and skipped
    # what it had already handed out.
    assert ids(rest) == list(range(51, 201)), ids(rest)[:10]
    assert time.monotonic() - started < 60
    await assert_no_more(reader)


async def test_heartbeats_are_not_handed_to_python_and_confirm_nothing_themselves(
    db: Database,
) -> None:
    """``heartbeat.interval.ms`` makes heartbeat records for Kafka; the Python reader skips
    them, and acknowledging works as without them."""
    db.prepare(TABLE)
    reader = db.reader(properties={"heartbeat.interval.ms": "100"})
    insert_each(db, 1, 3)
    assert ids(await collect(reader, 3)) == [1, 2, 3]
    # Heartbeats keep coming while nothing is written: none reaches the loop.
    await assert_no_more(reader, 1.0)
    await reader.stop()

    again = db.reader(properties={"heartbeat.interval.ms": "100"})
    insert_each(db, 4, 4)
    assert ids(await collect(again, 1)) == [4]
    await assert_no_more(again, 0.5)
    await again.stop()
