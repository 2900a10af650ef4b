"""Snapshots through the Python reader: ``snapshot_mode=`` reads the rows that already exist as
``op == "r"`` messages, then streams from the snapshot's point; the default streams only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pgoutput_decoder
from helpers import Database, assert_no_more, collect

SCHEMA = """
CREATE TABLE items (id int PRIMARY KEY, name text);
CREATE TABLE tags (id int PRIMARY KEY, label text);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g;
INSERT INTO tags VALUES (1, 'red'), (2, 'blue');
"""


def ops(messages: list[Any]) -> list[str]:
    return [m.op for m in messages]


async def test_initial_reads_existing_rows_then_streams(db: Database, tmp_path: Path) -> None:
    db.sql(SCHEMA)
    db.create_publication()
    reader = db.reader(
        snapshot_mode="initial", create_slot=True, offset_file=tmp_path / "progress.json"
    )
    async with reader:
        reads = await collect(reader, 7)
        assert ops(reads) == ["r"] * 7
        assert {pgoutput_decoder.format_operation(m.op) for m in reads} == {"READ"}
        by_table: dict[str, set[int]] = {}
        for m in reads:
            by_table.setdefault(m.table, set()).add(m.after["id"])
            assert m.before is None
        assert by_table == {"public.items": {1, 2, 3, 4, 5}, "public.tags": {1, 2}}
        # Debezium's markers: the first read overall, the last one, and each table's ends.
        markers = [m.source["snapshot"] for m in reads]
        assert markers[0] == "first"
        assert markers[-1] == "last"
        assert set(markers[1:-1]) <= {"true", "first_in_data_collection", "last_in_data_collection"}
        # A read and an insert of the same row differ only in op and source.
        await db.asql("INSERT INTO items VALUES (6, 'item 6')")
        (insert,) = await collect(reader, 1)
        assert insert.op == "c"
        assert insert.after == {"id": 6, "name": "item 6"}
        assert insert.source["snapshot"] == "false"
        (items_read,) = [m for m in reads if m.table == "public.items"][:1]
        assert insert.topic == items_read.topic
        assert insert.key.keys() == items_read.key.keys()
    assert (tmp_path / "progress.json").exists()


async def test_the_default_streams_only(db: Database) -> None:
    db.sql(SCHEMA)
    db.create_publication()
    reader = db.reader(create_slot=True)
    async with reader:
        await db.wait_slot_streaming()
        await db.asql("INSERT INTO tags VALUES (3, 'green')")
        (insert,) = await collect(reader, 1)
        assert insert.op == "c"
        assert insert.after == {"id": 3, "label": "green"}
        await assert_no_more(reader)


async def test_initial_only_ends_the_iteration_after_the_reads(
    db: Database, tmp_path: Path
) -> None:
    db.sql(SCHEMA)
    db.create_publication()
    reader = db.reader(
        snapshot_mode="initial_only", create_slot=True, offset_file=tmp_path / "p.json"
    )
    seen = [m.op async for m in reader]
    assert seen == ["r"] * 7


async def test_a_snapshot_cut_short_resumes_without_rereading_finished_tables(
    db: Database, tmp_path: Path
) -> None:
    db.sql(SCHEMA)
    db.create_publication()
    progress = tmp_path / "p.json"
    first = db.reader(snapshot_mode="initial", create_slot=True, offset_file=progress)
    async with first:
        # Only the first table's reads are taken (and acknowledged by taking the next one).
        reads = await collect(first, 6)
    table = reads[0].table
    assert sum(1 for m in reads if m.table == table) == (5 if table == "public.items" else 2)
    second = db.reader(snapshot_mode="initial", offset_file=progress)
    async with second:
        rest = await collect(second, 1)
        # The finished table is not read again; the other one is read whole.
        other = {"public.items", "public.tags"} - {table}
        assert {m.table for m in rest} == other
        assert rest[0].op == "r"


@pytest.mark.parametrize("mode", ["configuration_based", "sometimes"])
def test_a_bad_mode_is_a_clear_error(db: Database, mode: str) -> None:
    with pytest.raises(ValueError, match="snapshot_mode"):
        db.reader(snapshot_mode=mode)
