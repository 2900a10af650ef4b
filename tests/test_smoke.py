"""Smoke test of the Python binding against a throwaway PostgreSQL cluster: the main paths of
the API, end to end. The full suite lives in the other test modules."""

from __future__ import annotations

import _thread
import asyncio
import base64
import decimal
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import pgoutput_decoder
from pgoutput_decoder.testing import PostgresCluster

PASSWORD = "smoke-Secret-42"
TIMEOUT = 30.0

TABLE = """
CREATE TABLE items (
    id serial PRIMARY KEY,
    name text NOT NULL,
    price numeric(10,2),
    data jsonb,
    raw bytea,
    tags text[],
    created timestamptz
);
"""


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    with PostgresCluster(password=PASSWORD) as cluster:
        yield cluster


_db_counter = iter(range(1, 1_000_000))


@pytest.fixture
def db(pg: PostgresCluster) -> str:
    name = f"smoke{next(_db_counter)}"
    pg.create_database(name)
    pg.psql(name, TABLE)
    return name


def reader_for(pg: PostgresCluster, db: str, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "publication_name": "smoke_pub",
        "slot_name": f"{db}_slot",
        "host": pg.host,
        "port": pg.port,
        "database": db,
        "user": pg.user,
        "password": PASSWORD,
        "status_interval": 0.2,
        "create_slot": True,
        "create_publication": True,
    }
    options.update(kwargs)
    return pgoutput_decoder.LogicalReplicationReader(**options)


async def take(reader: Any, n: int) -> list[Any]:
    out: list[Any] = []

    async def run() -> None:
        async for message in reader:
            out.append(message)
            if len(out) == n:
                return

    await asyncio.wait_for(run(), TIMEOUT)
    return out


async def test_stream_insert_update_delete(
    pg: PostgresCluster, db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pgoutput_decoder")
    reader = reader_for(pg, db)
    async with reader:
        assert reader.state == "connected"
        await asyncio.to_thread(
            pg.psql,
            db,
            """
            INSERT INTO items (name, price, data, raw, tags, created)
                VALUES ('widget', 12.50, '{"b": 1, "a": [true, null]}', '\\x0102', '{x,y}',
                        '2024-01-15 10:30:00.5+02');
            UPDATE items SET name = 'gadget' WHERE id = 1;
            DELETE FROM items WHERE id = 1;
            """,
        )
        created, updated, deleted = await take(reader, 3)

    assert reader.state == "stopped"
    assert [m.op for m in (created, updated, deleted)] == ["c", "u", "d"]
    assert [pgoutput_decoder.format_operation(m.op) for m in (created, updated)] == [
        "INSERT",
        "UPDATE",
    ]

    after = created.after
    assert created.before is None
    assert after == {
        "id": 1,
        "name": "widget",
        "price": decimal.Decimal("12.50"),
        "data": {"b": 1, "a": [True, None]},
        "raw": b"\x01\x02",
        "tags": ["x", "y"],
        "created": "2024-01-15T08:30:00.500000+00:00",
    }
    assert created.after is after  # built once, then cached
    assert created.key == {"id": 1}
    assert updated.after is not None
    assert updated.after["name"] == "gadget"
    assert updated.before is None  # REPLICA IDENTITY DEFAULT
    assert deleted.after is None
    assert deleted.before is not None
    assert deleted.before["id"] == 1
    assert deleted.key == {"id": 1}

    source = created.source
    assert source is not None
    assert source["db"] == db
    assert (source["schema"], source["table"]) == ("public", "items")
    assert source["connector"] == "postgresql"
    assert source["name"] == "pgoutput"
    assert source["version"] == pgoutput_decoder.SOURCE_VERSION
    assert source["lsn"] == created.lsn > 0
    assert isinstance(source["txId"], int)
    assert created.table == pgoutput_decoder.get_table_name(created) == "public.items"
    assert created.topic == "pgoutput.public.items"
    assert created.ts_us // 1000 == created.ts_ms
    assert created.ts_ns // 1000 == created.ts_us
    assert "op='c'" in repr(created)
    assert "public.items" in repr(created)
    with pytest.raises(AttributeError):
        created.op = "u"

    # The Debezium JSON: what the Rust encoder writes (schemaless Kafka value).
    value = json.loads(created.json())
    assert list(value) == [
        "before",
        "after",
        "source",
        "transaction",
        "op",
        "ts_ms",
        "ts_us",
        "ts_ns",
    ]
    assert value["op"] == "c"
    assert value["source"] == source
    assert value["after"]["price"] == base64.b64encode((1250).to_bytes(2, "big")).decode()
    assert value["after"]["raw"] == base64.b64encode(b"\x01\x02").decode()
    assert value["after"]["created"] == "2024-01-15T08:30:00.500000Z"
    assert value["after"]["data"] == '{"a": [true, null], "b": 1}'
    assert created.json() == pgoutput_decoder.message_to_debezium_json(created, indent=None)
    assert json.loads(pgoutput_decoder.message_to_debezium_json(created)) == value
    assert pgoutput_decoder.message_to_debezium_json(created, indent=2) == json.dumps(
        value, indent=2, ensure_ascii=False
    )
    wrapped = json.loads(pgoutput_decoder.message_to_debezium_json(created, schemas=True))
    assert list(wrapped) == ["schema", "payload"]
    assert wrapped["payload"] == value
    assert wrapped["schema"]["name"].endswith(".Envelope")
    assert [f["field"] for f in wrapped["schema"]["fields"]] == list(value)

    as_dict = pgoutput_decoder.message_to_dict(deleted)
    assert as_dict["op"] == "d"
    assert as_dict["key"] == {"id": 1}
    assert as_dict["before"] == deleted.before
    assert as_dict["before"] is not deleted.before

    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "pgoutput_decoder")
    assert "created replication slot" in logged
    assert PASSWORD not in logged


async def test_manual_ack_and_restart_resume(pg: PostgresCluster, db: str) -> None:
    first = reader_for(pg, db, auto_acknowledge=False)
    await first.connect()
    for n in range(1, 4):
        await asyncio.to_thread(pg.psql, db, f"INSERT INTO items (name) VALUES ('row{n}')")
    got = await take(first, 2)
    await first.acknowledge()  # rows 1 and 2
    third = await take(first, 1)
    assert [m.after["name"] for m in got + third] == ["row1", "row2", "row3"]
    await first.stop()
    with pytest.raises(pgoutput_decoder.ReplicationError):
        await first.acknowledge()

    second = reader_for(pg, db, auto_acknowledge=False)
    async with second:
        again = await take(second, 1)
        assert again[0].after["name"] == "row3"
        again[0].acknowledge()

    third_reader = reader_for(pg, db)
    async with third_reader:
        await asyncio.to_thread(pg.psql, db, "INSERT INTO items (name) VALUES ('row4')")
        (latest,) = await take(third_reader, 1)
        assert latest.after["name"] == "row4"


def test_iter_sync_and_ctrl_c(pg: PostgresCluster, db: str) -> None:
    reader = reader_for(pg, db)
    with reader:
        pg.psql(db, "INSERT INTO items (name) VALUES ('a'), ('b')")
        # If messages never came, stop the reader so the loop ends instead of hanging.
        guard = threading.Timer(TIMEOUT, reader.stop_sync)
        guard.start()
        names = []
        for message in reader.iter_sync():
            names.append(message.after["name"])
            if len(names) == 2:
                break
        guard.cancel()
        assert names == ["a", "b"]

        # Waiting for more blocks without the GIL and still reacts to Ctrl-C.
        threading.Timer(0.3, _thread.interrupt_main).start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            for _ in reader.iter_sync():
                pass
        assert time.monotonic() - started < 2.0
    assert reader.state == "stopped"


async def test_connection_errors(pg: PostgresCluster, db: str) -> None:
    wrong = "not-the-Password-9"
    with pytest.raises(pgoutput_decoder.AuthenticationError) as auth:
        await reader_for(pg, db, password=wrong).connect()
    assert wrong not in str(auth.value)
    assert auth.value.kind == "authentication"
    assert isinstance(auth.value, pgoutput_decoder.ReplicationError)

    with pytest.raises(pgoutput_decoder.SlotNotFoundError):
        await reader_for(pg, db, slot_name="no_such_slot", create_slot=False).connect()

    reader = reader_for(pg, db, publication_name="no_such_pub", create_publication=False)
    with pytest.raises(pgoutput_decoder.PublicationNotFoundError):
        await reader.__anext__()  # connects lazily

    refused = reader_for(pg, db, port=1, connect_timeout=2)
    with pytest.raises(pgoutput_decoder.ConnectionError) as conn:
        await refused.connect()
    assert isinstance(conn.value, ConnectionError)  # also the builtin


def test_arguments_are_checked() -> None:
    with pytest.raises(TypeError):
        pgoutput_decoder.LogicalReplicationReader("p", "s", no_such_option=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="precise, double, string"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", decimal_handling_mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="disable, prefer, require"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", sslmode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="c, u, d, t"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", skipped_operations="x")
    with pytest.raises(ValueError, match="unknown operation"):
        pgoutput_decoder.format_operation("x")

    reader = pgoutput_decoder.LogicalReplicationReader(
        "pub", "slot", "db.example", "shop", 5433, "cdc", "hunter2-secret"
    )
    text = repr(reader)
    assert "hunter2-secret" not in text
    assert "password='***'" in text
    assert "host='db.example'" in text
    assert "port=5433" in text
    from_dsn = pgoutput_decoder.LogicalReplicationReader(
        "p", "s", dsn="postgresql://cdc:dsn-secret@h2:6000/shop2", host="ignored"
    )
    assert (from_dsn.host, from_dsn.port, from_dsn.database) == ("h2", 6000, "shop2")
    assert "dsn-secret" not in repr(from_dsn)
