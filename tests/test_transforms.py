"""Single message transforms from Python: every recorded case of
tests/conformance/transform-cases runs through ``LogicalReplicationReader`` (the transforms
given in ``properties=``) and ``debezium_records``, and is compared with what Debezium 3.6.3
emitted: topic in full, key and value exactly, tombstones included, in order, the volatile
added fields left out (as the kit's compare.py compares flattened records).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import pgoutput_decoder
from helpers import ROOT, Database, collect, require_server_for_case

CASES_DIR = ROOT / "tests" / "conformance" / "transform-cases"
#: Recorded cases whose settings are refused (none at the moment).
REFUSED: tuple[str, ...] = ()
CASES = sorted(
    p.name
    for p in (CASES_DIR / "cases").iterdir()
    if p.is_dir()
    and (CASES_DIR / "expected" / f"{p.name}.jsonl").exists()
    and p.name not in REFUSED
)
#: Where we write null and Debezium a column's DEFAULT (shared with the CLI's runner).
DEVIATIONS: dict[str, list[dict[str, Any]]] = json.loads(
    (CASES_DIR / "deviations.json").read_text()
)["cases"]
VOLATILE = (
    "source_ts_ms",
    "ts_ms",
    "lsn",
    "source_lsn",
    "source_txId",
    "txId",
    "source_ts_us",
    "source_ts_ns",
    "ts_us",
    "ts_ns",
)
UNWRAP = {
    "transforms": "unwrap",
    "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
}


def properties(case_dir: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (case_dir / "connector.properties").read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key and not key.startswith("#"):
            out[key.strip()] = value.strip()
    return out


def normalized(record: dict[str, Any], volatile: set[str]) -> tuple[Any, Any, Any]:
    key, value = record["key"], record["value"]
    schema = None
    if isinstance(value, dict) and value.keys() == {"schema", "payload"}:
        schema, value = value["schema"], value["payload"]
    if isinstance(value, dict) and "status" in value:
        # Transaction metadata: ids and times vary.
        key, value = None, {"status": value["status"], "event_count": value["event_count"]}
    elif isinstance(value, dict) and "op" not in value and "source" not in value:
        value = {k: v for k, v in value.items() if k not in volatile}
    elif isinstance(value, dict):
        # A full change event: what the transforms would change is topic and key.
        value = {k: value.get(k) for k in ("op", "before", "after", "message")}
    return record["topic"], key, (schema, value)


async def drain(reader: Any, quiet: float = 2.0) -> list[Any]:
    """Messages until none arrives for ``quiet`` seconds."""
    got: list[Any] = []
    while True:
        try:
            got.append(await asyncio.wait_for(reader.__anext__(), quiet))
        except (asyncio.TimeoutError, StopAsyncIteration):
            return got


@pytest.fixture
async def case_db(
    cluster: Any, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, Database]]:
    case = request.param
    database = Database(cluster, f"case_{case}", f"py_{case}", "pgd_pub")
    cluster.create_database(database.name)
    try:
        yield case, database
    finally:
        await database.stop_readers()
        database.drop()


@pytest.mark.parametrize("case_db", CASES, indirect=True)
async def test_transform_case_matches_debezium(case_db: tuple[str, Database]) -> None:
    case, db = case_db
    case_dir = CASES_DIR / "cases" / case
    require_server_for_case(db.cluster, case_dir)
    props = properties(case_dir)
    prefixes = {"__"} | {
        v for k, v in props.items() if k.endswith(("fields.prefix", "headers.prefix"))
    }
    volatile = {p + f for p in prefixes for f in VOLATILE}
    expected = [
        json.loads(line)
        for line in (CASES_DIR / "expected" / f"{case}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    for entry in DEVIATIONS.get(case, []):
        expected[entry["record"] - 1]["value"].update(entry["value"])
    setup = case_dir / "setup.sql"
    db.prepare(setup.read_text() if setup.exists() else "")
    reader = db.reader(topic_prefix="dbz", properties=props)
    await asyncio.to_thread(db.sql_file, case_dir / "workload.sql")
    messages = await drain(reader)
    actual = [
        {
            "topic": topic,
            "key": None if key is None else json.loads(key),
            "value": None if value is None else json.loads(value),
        }
        for m in messages
        for topic, key, value, _headers in pgoutput_decoder.debezium_records(m)
    ]
    assert [normalized(r, volatile) for r in actual] == [normalized(r, volatile) for r in expected]


async def test_transforms_argument_and_headers(db: Database) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY, note text)")
    reader = db.reader(topic_prefix="p")
    await db.asql("INSERT INTO t VALUES (1, 'a'); DELETE FROM t WHERE id = 1")
    insert, delete = await collect(reader, 2)
    # Without transforms: the connector's records, a tombstone after the delete.
    ((topic, key, value, headers),) = pgoutput_decoder.debezium_records(insert)
    assert (topic, key, headers) == ("p.public.t", '{"id":1}', [])
    assert value == insert.json()
    assert [r[2] for r in pgoutput_decoder.debezium_records(delete)][1] is None

    chain = {
        **UNWRAP,
        "transforms.unwrap.add.headers": "op",
        "transforms.unwrap.add.fields": "source.table",
        "transforms.unwrap.delete.tombstone.handling.mode": "drop",
    }
    ((topic, key, value, headers),) = pgoutput_decoder.debezium_records(insert, transforms=chain)
    assert value is not None
    assert json.loads(value) == {"id": 1, "note": "a", "__source_table": "t"}
    # Headers as Kafka's JsonConverter writes them: with their schema by default.
    assert headers == [("__op", '{"schema":{"type":"string","optional":true},"payload":"c"}')]
    bare = {**chain, "header.converter.schemas.enable": "false"}
    ((_, _, _, headers),) = pgoutput_decoder.debezium_records(insert, transforms=bare)
    assert headers == [("__op", '"c"')]
    # Dropped: no record at all.
    assert pgoutput_decoder.debezium_records(delete, transforms=chain) == []
    # The change event itself is not transformed.
    assert json.loads(pgoutput_decoder.message_to_debezium_json(insert))["op"] == "c"

    with pytest.raises(pgoutput_decoder.ConfigurationError, match=r"transforms\.unwrap\.nope"):
        pgoutput_decoder.debezium_records(
            insert, transforms={**UNWRAP, "transforms.unwrap.nope": "x"}
        )
    with pytest.raises(TypeError, match="only transforms"):
        pgoutput_decoder.debezium_records(insert, transforms={"slot.name": "x"})
    # With schemas: the flattened value's schema is the row's.
    ((_, key, value, _),) = pgoutput_decoder.debezium_records(
        insert, transforms=UNWRAP, schemas=True
    )
    assert value is not None
    assert key is not None
    assert json.loads(value)["schema"]["name"] == "p.public.t.Value"
    assert json.loads(key)["payload"] == {"id": 1}
    router = {
        "transforms": "r",
        "transforms.r.type": "io.debezium.transforms.ByLogicalTableRouter",
        "transforms.r.topic.regex": "p.*",
        "transforms.r.topic.replacement": "all",
    }
    with pytest.raises(pgoutput_decoder.ConfigurationError, match="with schemas"):
        pgoutput_decoder.debezium_records(insert, transforms=router, schemas=True)


def test_reader_refuses_an_unknown_transform() -> None:
    # The reader refuses bad settings with ValueError, as any other keyword.
    with pytest.raises(ValueError, match="is not supported; supported"):
        pgoutput_decoder.LogicalReplicationReader(
            publication_name="p",
            slot_name="s",
            host="localhost",
            properties={"transforms": "x", "transforms.x.type": "com.example.Nope"},
        )
