"""Prepared transactions from Python (``two_phase=True``, PostgreSQL 15+): held until
``COMMIT PREPARED``, dropped at ``ROLLBACK PREPARED``, and the slot never confirmed past a
pending PREPARE; plus the checks of the other reliability keywords."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import pgoutput_decoder
from helpers import Database, assert_no_more, collect, require_server


def ids(messages: list[Any]) -> list[int]:
    return [m.after["id"] for m in messages]


async def test_prepared_transactions_arrive_at_commit_prepared_only(db: Database) -> None:
    require_server(db.cluster, 15, "two-phase decoding")  # test_versions.py: the refusal
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    db.create_publication()
    reader = db.reader(create_slot=True, two_phase=True)
    await reader.connect()
    await db.wait_slot_streaming()
    query = f"SELECT two_phase FROM pg_replication_slots WHERE slot_name = '{db.slot}'"
    assert db.scalar(query, "postgres") == "t"

    await db.asql("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'p1'")
    after_prepare = db.current_lsn()
    await db.asql("INSERT INTO t VALUES (2)")
    assert ids(await collect(reader, 1)) == [2]
    await assert_no_more(reader)

    # The slot stays at or before the pending PREPARE, though the commit of 2 is acknowledged.
    await db.asql("BEGIN; INSERT INTO t VALUES (3); PREPARE TRANSACTION 'p2'")
    await db.asql("ROLLBACK PREPARED 'p2'")
    await db.asql("INSERT INTO t VALUES (4)")
    assert ids(await collect(reader, 1)) == [4]
    await asyncio.sleep(1.0)  # several status updates (status_interval 0.2 s)
    confirmed = db.confirmed_flush_lsn()
    assert confirmed is not None
    assert confirmed < after_prepare

    await db.asql("COMMIT PREPARED 'p1'")
    (one,) = await collect(reader, 1)
    assert one.after == {"id": 1}
    assert one.op == "c"
    await assert_no_more(reader)


def test_reliability_keywords_are_checked() -> None:
    with pytest.raises(ValueError, match="receive_timeout"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", receive_timeout=-1.0)
    with pytest.raises(TypeError):
        pgoutput_decoder.LogicalReplicationReader("p", "s", two_phase="yes")  # type: ignore[arg-type]
    # Valid combinations are accepted without connecting.
    pgoutput_decoder.LogicalReplicationReader(
        "p", "s", two_phase=True, slot_failover=True, receive_timeout=0.0
    )
