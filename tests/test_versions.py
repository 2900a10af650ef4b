"""What each PostgreSQL version can do, from Python, against the server under test (``PG_BIN``;
``make test-matrix`` runs this on PostgreSQL 12 to 18): each newer feature where the server
has it, and a ``ConfigurationError`` naming the version where it does not.

Logical decoding messages: 14+. Two-phase decoding: 15+. Failover slots: 17+. Generated
columns published with ``publish_generated_columns``: 18+ (left out before, and by default).
"""

from __future__ import annotations

import pytest

import pgoutput_decoder
from helpers import Database, assert_no_more, collect, require_server


def version(db: Database) -> int:
    return int(db.cluster.major_version)


async def test_two_phase_from_15_and_refused_before(db: Database) -> None:
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    db.create_publication()
    reader = db.reader(create_slot=True, two_phase=True)
    if version(db) < 15:
        with pytest.raises(pgoutput_decoder.ConfigurationError, match="PostgreSQL 15 or later"):
            await reader.connect()
        assert db.scalar("SELECT count(*) FROM pg_replication_slots", "postgres") == "0"
        return
    await reader.connect()
    await db.wait_slot_streaming()
    await db.asql("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'v'")
    await assert_no_more(reader, 0.5)
    await db.asql("COMMIT PREPARED 'v'")
    (one,) = await collect(reader, 1)
    assert one.after == {"id": 1}


async def test_messages_by_prefix_from_14_and_refused_before(db: Database) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY)")
    reader = db.reader(properties={"message.prefix.include.list": "audit"})
    if version(db) < 14:
        with pytest.raises(pgoutput_decoder.ConfigurationError, match="from PostgreSQL 14 on"):
            await reader.connect()
        return
    await db.asql(
        "SELECT pg_logical_emit_message(false, 'other', 'left out');"
        "SELECT pg_logical_emit_message(false, 'audit', 'kept')"
    )
    (message,) = await collect(reader, 1)
    assert message.message == {"prefix": "audit", "content": b"kept", "transactional": False}


async def test_failover_slots_from_17_and_refused_before(db: Database) -> None:
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    db.create_publication()
    reader = db.reader(create_slot=True, slot_failover=True)
    if version(db) < 17:
        with pytest.raises(pgoutput_decoder.ConfigurationError, match="PostgreSQL 17 or later"):
            await reader.connect()
        return
    await reader.connect()
    await db.wait_slot_streaming()
    query = f"SELECT failover FROM pg_replication_slots WHERE slot_name = '{db.slot}'"
    assert db.scalar(query, "postgres") == "t"


GENERATED = """
CREATE TABLE g (id int PRIMARY KEY, a int NOT NULL,
                twice int GENERATED ALWAYS AS (a * 2) STORED)
"""


async def test_generated_columns_are_left_out_by_default(db: Database) -> None:
    db.prepare(GENERATED)
    reader = db.reader()
    await db.asql("INSERT INTO g (id, a) VALUES (1, 21)")
    (row,) = await collect(reader, 1)
    assert row.after == {"id": 1, "a": 21}


async def test_generated_columns_published_from_18(db: Database) -> None:
    require_server(db.cluster, 18, "publish_generated_columns")
    db.sql(GENERATED)
    options = "publish_generated_columns = stored"
    db.sql(f'CREATE PUBLICATION "{db.publication}" FOR TABLE g WITH ({options})')
    db.create_slot()
    reader = db.reader()
    await db.asql("INSERT INTO g (id, a) VALUES (1, 21)")
    (row,) = await collect(reader, 1)
    assert row.after == {"id": 1, "a": 21, "twice": 42}
