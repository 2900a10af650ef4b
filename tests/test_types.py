"""PostgreSQL types in the Python view (``message.before`` / ``message.after``) and how the
handling modes change it.

| PostgreSQL | Python |
|---|---|
| bool | bool |
| smallint, integer, bigint, domains over them | int |
| real, double precision | float (NaN and the infinities included) |
| numeric, money | decimal.Decimal (float with decimal_handling_mode="double", str with "string") |
| text, varchar, char(n), name, xml, enum, inet, cidr, macaddr, bit, varbit, ranges, point | str |
| bytea | bytes (whatever binary_handling_mode says; that mode is for the JSON) |
| json, jsonb | parsed: dict, list, str, int, float, bool or None |
| uuid | str |
| date, time, timetz, timestamp, timestamptz, interval | ISO 8601 str (or "infinity"/"-infinity") |
| arrays | list (nested for several dimensions, None for NULL elements) |
| composite types, hstore | dict |
"""

from __future__ import annotations

import datetime
import json
import math
from decimal import Decimal
from typing import Any

import pytest

from helpers import Database, assert_no_more, collect, json_roundtrip, require_server

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE address AS (street text, no integer, tags text[]);
CREATE TABLE t (
    id integer PRIMARY KEY,
    c_bool boolean, c_int2 smallint, c_int4 integer, c_int8 bigint,
    c_float4 real, c_float8 double precision,
    c_num numeric(10,2), c_num_free numeric, c_money money,
    c_text text, c_varchar varchar(20), c_char char(5), c_name name,
    c_bytea bytea, c_json json, c_jsonb jsonb, c_uuid uuid, c_xml xml,
    c_date date, c_time time, c_timetz timetz, c_ts timestamp, c_tstz timestamptz,
    c_interval interval, c_inet inet, c_cidr cidr, c_macaddr macaddr,
    c_bit bit(4), c_varbit varbit(8), c_mood mood, c_posint posint,
    c_int_arr integer[], c_text_arr text[], c_num_arr numeric(6,2)[], c_matrix integer[][],
    c_jsonb_arr jsonb[], c_uuid_arr uuid[], c_date_arr date[],
    c_int4range int4range, c_daterange daterange, c_tstzrange tstzrange,
    c_address address, c_point point
);
"""

ROW_1 = """
SET timezone = 'UTC';
INSERT INTO t VALUES (
    1, true, -32768, 2147483647, -9223372036854775808,
    3.5, -1.25e-10,
    12345678.91, 3.14159265358979323846, 1234.56,
    'hello ☃ — 日本語 🎉', 'varchar', 'ab', 'pg_name',
    '\\xdeadbeef00', '{"a": [1, 2, {"b": null}]}', '{"z": 1, "a": "x"}',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '<a>x</a>',
    '2024-02-29', '13:45:30.123456', '13:45:30.5+05:30',
    '2024-01-15 10:30:00.123456', '2024-01-15 10:30:00.654321+02',
    '1 year 2 mons 3 days 04:05:06.789', '192.168.1.10/24', '10.0.0.0/8', '08:00:2b:01:02:03',
    B'1010', B'101', 'happy', 5,
    '{1,NULL,3}', '{"a","b c","\\"q\\"",NULL}', '{1.50,NULL,-0.01}', '{{1,2},{3,4}}',
    ARRAY['{"k": 1}'::jsonb, '[1]'::jsonb], '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    '{2024-01-01,1999-12-31}',
    '[1,10]', '[2024-01-01,2024-02-01)', '[2024-01-01 00:00+00,2024-01-02 00:00+00)',
    ROW('Main St', 12, '{a,b}'), '(1.5,2)'
);
"""

EXPECTED_1: dict[str, Any] = {
    "id": 1,
    "c_bool": True,
    "c_int2": -32768,
    "c_int4": 2147483647,
    "c_int8": -9223372036854775808,
    "c_float4": 3.5,
    "c_float8": -1.25e-10,
    "c_num": Decimal("12345678.91"),
    "c_num_free": Decimal("3.14159265358979323846"),
    "c_money": Decimal("1234.56"),
    "c_text": "hello ☃ — 日本語 🎉",
    "c_varchar": "varchar",
    "c_char": "ab   ",
    "c_name": "pg_name",
    "c_bytea": b"\xde\xad\xbe\xef\x00",
    "c_json": {"a": [1, 2, {"b": None}]},
    "c_jsonb": {"a": "x", "z": 1},
    "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "c_xml": "<a>x</a>",
    "c_date": "2024-02-29",
    "c_time": "13:45:30.123456",
    "c_timetz": "13:45:30.500000+05:30",
    "c_ts": "2024-01-15T10:30:00.123456",
    "c_tstz": "2024-01-15T08:30:00.654321+00:00",
    "c_interval": "P1Y2M3DT4H5M6.789S",
    "c_inet": "192.168.1.10/24",
    "c_cidr": "10.0.0.0/8",
    "c_macaddr": "08:00:2b:01:02:03",
    "c_bit": "1010",
    "c_varbit": "101",
    "c_mood": "happy",
    "c_posint": 5,
    "c_int_arr": [1, None, 3],
    "c_text_arr": ["a", "b c", '"q"', None],
    "c_num_arr": [Decimal("1.50"), None, Decimal("-0.01")],
    "c_matrix": [[1, 2], [3, 4]],
    "c_jsonb_arr": [{"k": 1}, [1]],
    "c_uuid_arr": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
    "c_date_arr": ["2024-01-01", "1999-12-31"],
    "c_int4range": "[1,11)",
    "c_daterange": "[2024-01-01,2024-02-01)",
    "c_tstzrange": '["2024-01-01 00:00:00+00","2024-01-02 00:00:00+00")',
    "c_address": {"street": "Main St", "no": 12, "tags": ["a", "b"]},
    "c_point": "(1.5,2)",
}


def assert_typed_equal(actual: Any, expected: Any, path: str = "") -> None:
    """Equal values of the same types, recursively (``1 == 1.0 == True`` is not enough)."""
    assert type(actual) is type(expected), f"{path}: {actual!r} is not a {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), path
        for k in expected:
            assert_typed_equal(actual[k], expected[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_typed_equal(a, e, f"{path}[{i}]")
    elif isinstance(expected, Decimal):
        assert str(actual) == str(expected), path
    else:
        assert actual == expected, path


@pytest.fixture
async def types_db(db: Database) -> Database:
    return db.prepare(SCHEMA)


async def insert_and_read(db: Database, sql: str, n: int = 1, **options: Any) -> list[Any]:
    reader = db.reader(**options)
    await db.asql(sql)
    messages = await collect(reader, n)
    await assert_no_more(reader, 0.3)
    return messages


async def test_every_type_in_the_python_view(types_db: Database) -> None:
    (m,) = await insert_and_read(types_db, ROW_1)
    assert m.op == "c"
    for column, expected in EXPECTED_1.items():
        assert_typed_equal(m.after[column], expected, column)
    assert list(m.after) == list(EXPECTED_1), "columns in table order"
    assert m.key == {"id": 1}

    # The ISO 8601 strings are what Python's own parsers read.
    assert datetime.date.fromisoformat(m.after["c_date"]) == datetime.date(2024, 2, 29)
    assert datetime.time.fromisoformat(m.after["c_time"]) == datetime.time(13, 45, 30, 123456)
    timetz = datetime.time.fromisoformat(m.after["c_timetz"])
    assert timetz.utcoffset() == datetime.timedelta(hours=5, minutes=30)
    assert datetime.datetime.fromisoformat(m.after["c_ts"]) == datetime.datetime(
        2024, 1, 15, 10, 30, 0, 123456
    )
    assert datetime.datetime.fromisoformat(m.after["c_tstz"]) == datetime.datetime(
        2024, 1, 15, 8, 30, 0, 654321, tzinfo=datetime.timezone.utc
    )
    # c_float4 is a real: 3.5 is exact in single precision.
    assert isinstance(m.after["c_float4"], float)


async def test_nulls_are_none(types_db: Database) -> None:
    (m,) = await insert_and_read(types_db, "INSERT INTO t (id) VALUES (2)")
    assert m.after == {column: (2 if column == "id" else None) for column in EXPECTED_1}
    value = json_roundtrip(m)
    assert all(v is None for k, v in value["after"].items() if k != "id")


async def test_edge_values(types_db: Database) -> None:
    require_server(types_db.cluster, 14, "numeric Infinity")
    huge = "1" + "0" * 120 + "." + "0" * 29 + "1"
    sql = f"""
        SET timezone = 'UTC';
        INSERT INTO t (id, c_float4, c_float8, c_num_free, c_num, c_money, c_ts, c_tstz, c_date,
                       c_int_arr, c_text_arr, c_text, c_bytea, c_json, c_interval, c_time)
        VALUES (3, 'NaN', 'Infinity', 'NaN', 'NaN', -1234.5, 'infinity', '-infinity', 'infinity',
                '{{}}', '{{}}', '', '\\x', '"just a string"', '-1 days +02:00:00', '24:00:00');
        INSERT INTO t (id, c_float8, c_num_free, c_num, c_ts, c_tstz, c_json)
        VALUES (4, '-Infinity', '{huge}', -0.01, '-infinity', 'infinity',
                '[1, "two", 3.5, true, null]');
        INSERT INTO t (id, c_num_free, c_json) VALUES (5, '-Infinity', 'null');
        INSERT INTO t (id, c_num_free, c_matrix)
        VALUES (6, 'Infinity', '{{{{1,NULL}},{{NULL,4}}}}');
        INSERT INTO t (id, c_json, c_jsonb) VALUES (7, E' \\n{{"é": ["ü", 1e400]}}  ', '"ß"');
        INSERT INTO t (id, c_json) VALUES (8, '{{"a": 1, "a": 2}}');
    """
    r3, r4, r5, r6, r7, r8 = await insert_and_read(types_db, sql, 6)

    a = r3.after
    assert isinstance(a["c_float4"], float)
    assert math.isnan(a["c_float4"])
    assert a["c_float8"] == math.inf
    assert isinstance(a["c_num_free"], Decimal)
    assert a["c_num_free"].is_nan()
    assert isinstance(a["c_num"], Decimal)
    assert a["c_num"].is_nan()
    assert_typed_equal(a["c_money"], Decimal("-1234.50"))
    assert a["c_ts"] == "infinity"
    assert a["c_tstz"] == "-infinity"
    assert a["c_date"] == "infinity"
    assert a["c_int_arr"] == []
    assert a["c_text_arr"] == []
    assert a["c_text"] == ""
    assert a["c_bytea"] == b""
    assert a["c_json"] == "just a string"
    assert a["c_interval"] == "P-1DT2H"
    assert a["c_time"] == "24:00:00"
    # NaN numerics have no Debezium representation: null in the JSON.
    assert json_roundtrip(r3)["after"]["c_num"] is None

    b = r4.after
    assert b["c_float8"] == -math.inf
    assert_typed_equal(b["c_num_free"], Decimal(huge))
    assert_typed_equal(b["c_num"], Decimal("-0.01"))
    assert b["c_ts"] == "-infinity"
    assert b["c_tstz"] == "infinity"
    assert b["c_json"] == [1, "two", 3.5, True, None]

    # JSON null is None, like SQL NULL (the column is not NULL, its JSON value is).
    assert r5.after["c_json"] is None
    assert r5.after["c_num_free"] == Decimal("-Infinity")
    assert r6.after["c_num_free"] == Decimal("Infinity")
    assert r6.after["c_matrix"] == [[1, None], [None, 4]]
    # json keeps its text as written (whitespace, duplicate keys): parsed as json.loads does.
    assert r7.after["c_json"] == json.loads(' \n{"é": ["ü", 1e400]}  ')
    assert r7.after["c_json"]["é"][1] == math.inf
    assert r7.after["c_jsonb"] == "ß"
    assert r8.after["c_json"] == {"a": 2}


async def test_updates_carry_the_new_types_in_before_and_after(types_db: Database) -> None:
    types_db.sql("ALTER TABLE t REPLICA IDENTITY FULL")
    reader = types_db.reader()
    await types_db.asql(ROW_1)
    await types_db.asql("UPDATE t SET c_int_arr = array_append(c_int_arr, 4), c_mood = 'ok'")
    created, updated = await collect(reader, 2)
    assert updated.op == "u"
    assert_typed_equal(updated.before["c_num"], Decimal("12345678.91"))
    assert updated.before["c_int_arr"] == [1, None, 3]
    assert updated.after["c_int_arr"] == [1, None, 3, 4]
    assert (updated.before["c_mood"], updated.after["c_mood"]) == ("happy", "ok")
    assert updated.before["c_address"] == created.after["c_address"]


async def test_hstore(db: Database) -> None:
    available = db.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'hstore'")
    if available != "1":
        pytest.skip("the hstore extension is not installed on this server")
    db.prepare("CREATE EXTENSION hstore; CREATE TABLE h (id int PRIMARY KEY, attrs hstore);")
    map_slot = db.slot + "_map"
    db.create_slot(map_slot)
    as_json = db.reader(hstore_handling_mode="json")
    as_map = db.reader(hstore_handling_mode="map", slot_name=map_slot)
    await db.asql("INSERT INTO h VALUES (1, 'a=>1, \"b c\"=>NULL, ☃=>snow'), (2, '')")
    for reader, json_view in ((as_json, str), (as_map, dict)):
        first, second = await collect(reader, 2)
        # The Python view is a dict in both modes; the mode only changes the JSON.
        assert first.after["attrs"] == {"a": "1", "b c": None, "☃": "snow"}
        assert second.after["attrs"] == {}
        encoded = json_roundtrip(first)["after"]["attrs"]
        assert isinstance(encoded, json_view), encoded
        if isinstance(encoded, str):
            encoded = json.loads(encoded)
        assert encoded == {"a": "1", "b c": None, "☃": "snow"}


NUMERIC_ROW = """
INSERT INTO t (id, c_num, c_num_free, c_money, c_num_arr)
VALUES (1, 12345678.91, 3.14159265358979323846, 1234.56, '{1.50,NULL}'),
       (2, NULL, 'NaN', -0.5, NULL);
"""


async def test_decimal_handling_mode_double(types_db: Database) -> None:
    r1, r2 = await insert_and_read(types_db, NUMERIC_ROW, 2, decimal_handling_mode="double")
    assert_typed_equal(r1.after["c_num"], 12345678.91)
    assert_typed_equal(r1.after["c_num_free"], 3.141592653589793)
    assert_typed_equal(r1.after["c_money"], 1234.56)
    assert_typed_equal(r1.after["c_num_arr"], [1.5, None])
    assert math.isnan(r2.after["c_num_free"])
    assert_typed_equal(r2.after["c_money"], -0.5)
    assert json_roundtrip(r1)["after"]["c_num"] == 12345678.91


async def test_decimal_handling_mode_string(types_db: Database) -> None:
    r1, r2 = await insert_and_read(types_db, NUMERIC_ROW, 2, decimal_handling_mode="string")
    assert_typed_equal(r1.after["c_num"], "12345678.91")
    assert_typed_equal(r1.after["c_num_free"], "3.14159265358979323846")
    assert_typed_equal(r1.after["c_money"], "1234.56")
    assert_typed_equal(r1.after["c_num_arr"], ["1.50", None])
    # The exact text: Decimal reads it back without loss.
    assert Decimal(r1.after["c_num_free"]) == Decimal("3.14159265358979323846")
    assert isinstance(r2.after["c_num_free"], str)
    assert Decimal(r2.after["c_num_free"]).is_nan()
    assert json_roundtrip(r1)["after"]["c_num"] == "12345678.91"


TEMPORAL_ROW = """
SET timezone = 'UTC';
INSERT INTO t (id, c_date, c_time, c_timetz, c_ts, c_tstz, c_interval, c_bytea)
VALUES (1, '2024-02-29', '13:45:30.123456', '13:45:30.5+05:30', '2024-01-15 10:30:00.123456',
        '2024-01-15 10:30:00.654321+02', '1 year 2 mons 3 days 04:05:06.789', '\\xfbff01');
"""

TEMPORAL_PYTHON = {
    "c_date": "2024-02-29",
    "c_time": "13:45:30.123456",
    "c_timetz": "13:45:30.500000+05:30",
    "c_ts": "2024-01-15T10:30:00.123456",
    "c_tstz": "2024-01-15T08:30:00.654321+00:00",
    "c_interval": "P1Y2M3DT4H5M6.789S",
    "c_bytea": b"\xfb\xff\x01",
}


@pytest.mark.parametrize(
    ("options", "expected_json"),
    [
        (
            {},
            {
                "c_date": 19782,
                "c_time": 49530123456,
                "c_timetz": "08:15:30.5Z",
                "c_ts": 1705314600123456,
                "c_tstz": "2024-01-15T08:30:00.654321Z",
                "c_interval": 37091106789000,
                "c_bytea": "+/8B",
            },
        ),
        (
            {
                "time_precision_mode": "connect",
                "interval_handling_mode": "string",
                "binary_handling_mode": "hex",
            },
            {
                "c_date": 19782,
                "c_time": 49530123,
                "c_ts": 1705314600123,
                "c_interval": "P1Y2M3DT4H5M6.789S",
                "c_bytea": "fbff01",
            },
        ),
        (
            {
                "time_precision_mode": "adaptive_time_microseconds",
                "binary_handling_mode": "base64-url-safe",
            },
            {"c_time": 49530123456, "c_ts": 1705314600123456, "c_bytea": "-_8B"},
        ),
        ({"binary_handling_mode": "base64"}, {"c_bytea": "+/8B"}),
    ],
    ids=["defaults", "connect-string-hex", "micro-urlsafe", "base64"],
)
async def test_time_interval_and_binary_modes_change_the_json_only(
    types_db: Database, options: dict[str, Any], expected_json: dict[str, Any]
) -> None:
    (m,) = await insert_and_read(types_db, TEMPORAL_ROW, **options)
    # The Python view does not depend on these modes.
    for column, value in TEMPORAL_PYTHON.items():
        assert_typed_equal(m.after[column], value, column)
    after = json_roundtrip(m)["after"]
    for column, value in expected_json.items():
        assert after[column] == value, column


async def test_unicode_and_quoting_survive(types_db: Database) -> None:
    text = "emoji 🎉, quotes ' \" \\ backslash, tab\tnewline\nend, nul-free, ü, 中文"
    sql = (
        "INSERT INTO t (id, c_text, c_text_arr, c_jsonb) "
        f"VALUES (1, $t${text}$t$, ARRAY[$t${text}$t$], jsonb_build_object('k', $t${text}$t$))"
    )
    (m,) = await insert_and_read(types_db, sql)
    assert m.after["c_text"] == text
    assert m.after["c_text_arr"] == [text]
    assert m.after["c_jsonb"] == {"k": text}
    assert json_roundtrip(m)["after"]["c_text"] == text


async def test_money_fraction_digits(types_db: Database) -> None:
    (m,) = await insert_and_read(
        types_db, "INSERT INTO t (id, c_money) VALUES (1, 12.5)", money_fraction_digits=2
    )
    assert_typed_equal(m.after["c_money"], Decimal("12.50"))
