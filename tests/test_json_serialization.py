"""Debezium JSON from Python: every conformance case of tests/conformance runs through
``LogicalReplicationReader`` and ``message_to_debezium_json``, and is compared with what real
Debezium 3.6.3 emitted for it (the same rules as the CLI's conformance test; see
``debezium_compare.py``). Also: indentation, ``json()`` vs the helper, ``message_to_dict``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import pgoutput_decoder
from debezium_compare import compare, json_eq, load_jsonl
from helpers import (
    ROOT,
    Database,
    assert_no_more,
    collect,
    require_server,
    require_server_for_case,
)

CONFORMANCE = ROOT / "tests" / "conformance"
CASES = sorted(p.name for p in (CONFORMANCE / "cases").iterdir() if p.is_dir())

#: Debezium connector properties a case may set -> the reader's keyword and value type.
PROPERTIES: dict[str, tuple[str, type]] = {
    "provide.transaction.metadata": ("provide_transaction_metadata", bool),
    "skipped.operations": ("skipped_operations", str),
    "decimal.handling.mode": ("decimal_handling_mode", str),
    "time.precision.mode": ("time_precision_mode", str),
    "binary.handling.mode": ("binary_handling_mode", str),
    "interval.handling.mode": ("interval_handling_mode", str),
    "hstore.handling.mode": ("hstore_handling_mode", str),
    "money.fraction.digits": ("money_fraction_digits", int),
    "unavailable.value.placeholder": ("unavailable_value_placeholder", str),
    "tombstones.on.delete": ("tombstones_on_delete", bool),
}

#: Converter properties: with them the case was recorded with Kafka Connect schemas, and the
#: values are compared through ``message_to_debezium_json(..., schemas=True)``.
SCHEMA_PROPERTIES = ("key.converter.schemas.enable", "value.converter.schemas.enable")

#: Values where our output differs from Debezium's on purpose (README, "Known differences"):
#: the recorded value is replaced by ours before comparing (shared with the CLI's runner).
DEVIATIONS: dict[str, list[dict[str, Any]]] = json.loads(
    (CONFORMANCE / "deviations.json").read_text()
)["cases"]


def _payload(part: Any) -> Any:
    """A key or value without its Kafka Connect schema envelope."""
    if isinstance(part, dict) and part.keys() == {"schema", "payload"}:
        return part["payload"]
    return part


def apply_deviations(case: str, expected: list[dict[str, Any]]) -> None:
    for entry in DEVIATIONS.get(case, []):
        matched = False
        for event in expected:
            value = _payload(event.get("value"))
            topic = event.get("topic") or ""
            if "table" in entry and not topic.endswith("." + entry["table"]):
                continue
            after = value.get("after") if isinstance(value, dict) else None
            if _payload(event.get("key")) == entry["key"] and isinstance(after, dict):
                after.update(entry["after"])
                matched = True
        assert matched, f"{case}: deviation for key {entry['key']} matches no recorded event"


def case_options(case_dir: Path) -> dict[str, Any]:
    """The case's connector.properties as reader keywords; keys without a keyword of their own
    go through ``properties=``."""
    options: dict[str, Any] = {}
    extra: dict[str, str] = {}
    path = case_dir / "connector.properties"
    if not path.exists():
        return options
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key in SCHEMA_PROPERTIES:
            continue
        if key not in PROPERTIES:
            extra[key] = value
            continue
        keyword, kind = PROPERTIES[key]
        options[keyword] = value.lower() == "true" if kind is bool else kind(value)
    if extra:
        options["properties"] = extra
    return options


def with_schemas(case_dir: Path) -> bool:
    """Whether the case was recorded with Kafka Connect schemas."""
    path = case_dir / "connector.properties"
    if not path.exists():
        return False
    keys = (line.partition("=")[0].strip() for line in path.read_text().splitlines())
    return any(key in SCHEMA_PROPERTIES for key in keys)


def record(message: Any, schemas: bool = False) -> dict[str, Any]:
    """A message as the CLI would write it: ``{"topic", "key", "value"}`` (the value with
    its schema when ``schemas``; Python has no key schema, the CLI's test checks that)."""
    value = pgoutput_decoder.message_to_debezium_json(message, indent=None, schemas=schemas)
    return {"topic": message.topic, "key": message.key, "value": json.loads(value)}


def without_keys(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records without their keys: ``message.key`` holds Python values (``bytes`` for a
    ``bytea`` key), not the key's JSON, and Python has no key schema; the CLI's conformance
    test checks the keys of these cases with their schemas."""
    return [{**r, "key": None} for r in records]


@pytest.fixture
async def case_db(
    cluster: Any, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, Database]]:
    """A database named like the recorded one (``case_<name>``, so ``source.db`` compares
    exactly), with its own slot."""
    case = request.param
    database = Database(cluster, f"case_{case}", f"py_{case}", "pgd_pub")
    cluster.create_database(database.name)
    try:
        yield case, database
    finally:
        await database.stop_readers()
        database.drop()


@pytest.mark.parametrize("case_db", CASES, indirect=True)
async def test_conformance_case_matches_debezium(case_db: tuple[str, Database]) -> None:
    case, db = case_db
    case_dir = CONFORMANCE / "cases" / case
    require_server_for_case(db.cluster, case_dir)
    expected = load_jsonl(CONFORMANCE / "expected" / f"{case}.jsonl")
    setup = case_dir / "setup.sql"
    db.prepare(setup.read_text() if setup.exists() else "")
    reader = db.reader(topic_prefix="dbz", **case_options(case_dir))

    await asyncio.to_thread(db.sql_file, case_dir / "workload.sql")
    messages = await collect(reader, len(expected))
    await assert_no_more(reader, 0.5)
    schemas = with_schemas(case_dir)
    actual = [record(m, schemas) for m in messages]
    apply_deviations(case, expected)
    if schemas:
        expected, actual = without_keys(expected), without_keys(actual)

    differences = compare(expected, actual)
    assert not differences, f"{case}: {len(differences)} differences:\n" + "\n".join(differences)

    for message in messages:
        # The helper and the method agree; both are valid JSON of the same value.
        assert message.json() == pgoutput_decoder.message_to_debezium_json(message, indent=None)
        pretty = pgoutput_decoder.message_to_debezium_json(message)
        assert json.loads(pretty) == json.loads(message.json())

    if case == "types_array":
        # The JSON has one null per sub-array, as Debezium; the Python value is nested.
        first = next(r for r in actual if r["key"] == {"id": 1} and r["value"]["op"] == "c")
        assert first["value"]["after"]["matrix"] == [None, None]
        assert messages[0].after["matrix"] == [[1, 2], [3, 4]]
    if case == "schemas_scalar":
        first = next(r["value"]["payload"] for r in actual if r["topic"] == "dbz.public.t")
        assert first["op"] == "c"
        assert first["after"]["id"] == 1
        assert first["after"]["c_name"] == "nm"


async def test_multidimensional_arrays_nested_on_request(db: Database) -> None:
    db.prepare("CREATE TABLE grid (id int PRIMARY KEY, cells int[], names text[])")
    nested = db.reader(topic_prefix="g", multidimensional_array_mode="nested")
    await db.asql("INSERT INTO grid VALUES (1, '{{1,2},{3,4}}', '{{a,NULL}}')")
    (m,) = await collect(nested, 1)
    after = json.loads(m.json())["after"]
    assert after["cells"] == [[1, 2], [3, 4]]
    assert after["names"] == [["a", None]]
    assert m.after["cells"] == [[1, 2], [3, 4]]


async def test_properties_apply_any_debezium_setting(db: Database) -> None:
    db.prepare(
        "CREATE TABLE orders (id int PRIMARY KEY, customer text, secret text);"
        "CREATE TABLE other (id int PRIMARY KEY)"
    )
    reader = db.reader(
        topic_prefix="p",
        properties={
            "table.include.list": ["public.orders"],
            "column.exclude.list": "public.orders.secret",
            "message.key.columns": "public.orders:customer",
            "multidimensional.array.mode": "nested",
        },
    )
    await db.asql("INSERT INTO other VALUES (1); INSERT INTO orders VALUES (7, 'acme', 'pw')")
    (m,) = await collect(reader, 1)
    assert m.topic == "p.public.orders"
    assert m.key == {"customer": "acme"}
    assert m.after == {"id": 7, "customer": "acme"}


def test_properties_are_checked_when_the_reader_is_made() -> None:
    with pytest.raises(ValueError, match=r"did you mean table\.include\.list"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", properties={"table.include.lists": "x"})
    with pytest.raises(ValueError, match=r"multidimensional\.array\.mode"):
        pgoutput_decoder.LogicalReplicationReader(
            "p", "s", properties={"multidimensional.array.mode": "flat"}
        )
    with pytest.raises(TypeError, match="properties must be a dict"):
        pgoutput_decoder.LogicalReplicationReader("p", "s", properties=[("a", "b")])  # type: ignore[arg-type]


async def first_change(db: Database) -> Any:
    db.prepare(
        "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(8,2), tags text[])"
    )
    reader = db.reader(topic_prefix="shop")
    await db.asql("INSERT INTO items VALUES (1, 'snow ☃ \"man\"', 12.50, '{a,b}')")
    (m,) = await collect(reader, 1)
    return m


async def test_indent_handling(db: Database) -> None:
    m = await first_change(db)
    compact = pgoutput_decoder.message_to_debezium_json(m, indent=None)
    assert "\n" not in compact
    value = json.loads(compact)
    assert compact == m.json() == m.json(indent=None)

    # Default indent=2: laid out exactly like json.dumps(..., indent=2), non-ASCII kept.
    pretty = pgoutput_decoder.message_to_debezium_json(m)
    assert pretty == pgoutput_decoder.message_to_debezium_json(m, indent=2) == m.json(indent=2)
    assert pretty == json.dumps(value, indent=2, ensure_ascii=False)
    assert pretty.splitlines()[1].startswith('  "')
    for indent in (0, 4):
        text = pgoutput_decoder.message_to_debezium_json(m, indent=indent)
        assert text == json.dumps(value, indent=indent, ensure_ascii=False)
        assert m.json(indent=indent) == text
    assert "☃" in pretty
    assert '\\"man\\"' in pretty

    # The Debezium value: envelope fields and encodings.
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
    assert value["before"] is None
    assert value["after"] == {"id": 1, "name": 'snow ☃ "man"', "price": "BOI=", "tags": ["a", "b"]}
    assert value["source"]["name"] == "shop"
    assert value["source"]["db"] == db.name
    assert value["source"]["version"] == pgoutput_decoder.SOURCE_VERSION
    assert value["transaction"] is None
    assert m.topic == "shop.public.items"


async def test_message_to_dict_is_the_python_view(db: Database) -> None:
    m = await first_change(db)
    d = pgoutput_decoder.message_to_dict(m)
    assert d["op"] == "c"
    assert d["after"] == m.after
    assert d["before"] is None
    assert d["source"] == m.source
    assert d["key"] == {"id": 1}
    assert d["topic"] == "shop.public.items"
    assert d["table"] == "public.items"
    assert d["lsn"] == m.lsn == m.source["lsn"]
    assert (d["ts_ms"], d["ts_us"], d["ts_ns"]) == (m.ts_ms, m.ts_us, m.ts_ns)
    # Python objects, not their JSON encoding.
    from decimal import Decimal

    assert d["after"]["price"] == Decimal("12.50")
    # Fresh dicts: modifying them leaves the message alone.
    d["after"]["name"] = "changed"
    d["source"]["db"] = "changed"
    assert m.after["name"] == 'snow ☃ "man"'
    assert m.source["db"] == db.name
    # The source dict is the JSON's source, field for field.
    value = json.loads(m.json())
    assert json_eq(value["source"], dict(m.source.items()))


async def test_logical_messages_and_truncates(db: Database) -> None:
    require_server(db.cluster, 14, "logical decoding messages")
    db.prepare("CREATE TABLE t (id int PRIMARY KEY)")
    reader = db.reader(skipped_operations="none", topic_prefix="p")
    await db.asql(
        "SELECT pg_logical_emit_message(false, 'audit', 'hello ☃');"
        "BEGIN; INSERT INTO t VALUES (1);"
        "SELECT pg_logical_emit_message(true, 'bin', '\\x00ff10'::bytea); COMMIT;"
        "TRUNCATE t;"
    )
    hello, insert, binary, truncate = await collect(reader, 4)

    assert hello.op == "m"
    assert hello.kind == "message"
    assert hello.message == {
        "prefix": "audit",
        "content": "hello ☃".encode(),
        "transactional": False,
    }
    assert hello.key == {"prefix": "audit"}
    assert hello.before is None
    assert hello.after is None
    assert hello.table is None
    assert pgoutput_decoder.get_table_name(hello) is None
    assert pgoutput_decoder.format_operation(hello.op) == "MESSAGE"
    assert hello.topic == "p.message"
    value = json.loads(hello.json())
    assert value["message"] == {"prefix": "audit", "content": "aGVsbG8g4piD"}
    assert value["source"]["table"] == ""
    assert value["source"]["txId"] is None

    assert binary.message["content"] == b"\x00\xff\x10"
    assert binary.message["transactional"] is True
    assert binary.source["txId"] == insert.source["txId"]

    assert truncate.op == "t"
    assert truncate.key is None
    assert truncate.before is None
    assert truncate.after is None
    assert pgoutput_decoder.get_table_name(truncate) == "public.t"
    assert pgoutput_decoder.format_operation("t") == "TRUNCATE"
    await assert_no_more(reader, 0.3)


def test_format_operation_names() -> None:
    assert [pgoutput_decoder.format_operation(op) for op in "cudrtm"] == [
        "INSERT",
        "UPDATE",
        "DELETE",
        "READ",
        "TRUNCATE",
        "MESSAGE",
    ]
    with pytest.raises(ValueError, match="unknown operation"):
        pgoutput_decoder.format_operation("x")


def test_comparator_rules() -> None:
    """The Python comparator follows the Rust one: exact values, the one accepted deviation,
    txId grouping, ignored fields."""

    def rec(op: str, before: Any, after: Any, tx: int, **source: Any) -> dict[str, Any]:
        src = {"db": "d", "schema": "public", "table": "t", "snapshot": "false", "lsn": 1}
        src.update(txId=tx, **source)
        value = {"op": op, "before": before, "after": after, "source": src, "ts_ms": 1}
        return {"topic": "x.public.t", "key": {"id": 1}, "value": value}

    exp = [rec("c", None, {"id": 1, "ok": True}, 7), rec("d", {"id": 1, "n": 0, "s": ""}, None, 7)]
    act = [
        rec("c", None, {"id": 1.0, "ok": True}, 99, version="x", ts_ms=5),
        rec("d", {"id": 1, "n": None, "s": None}, None, 99),
    ]
    assert compare(exp, act) == []
    # A boolean never equals a number; null is accepted in `before` only.
    assert compare(
        [rec("c", None, {"id": 1, "ok": True}, 7)], [rec("c", None, {"id": 1, "ok": 1}, 7)]
    )
    assert compare(
        [rec("c", None, {"id": 1, "n": 0}, 7)], [rec("c", None, {"id": 1, "n": None}, 7)]
    )
    # Events of one expected transaction must share one actual txId.
    split = [
        rec("c", None, {"id": 1, "ok": True}, 1),
        rec("d", {"id": 1, "n": 0, "s": ""}, None, 2),
    ]
    assert any("groups events differently" in d for d in compare(exp, split))
    # Ignored columns, tombstones, and the count.
    assert compare(exp, [act[0], {"topic": "x", "key": {"id": 1}, "value": None}, act[1]]) == []
    assert compare(exp, act[:1]) == ["event count: expected 2, got 1"]
    wrong = [rec("c", None, {"id": 1, "ok": False}, 99), act[1]]
    assert compare(exp, wrong, ignore=["ok"]) == []
    assert not json_eq(True, 1)
    assert json_eq({"a": [1, 2.0]}, {"a": [1.0, 2]})
