"""``LogicalReplicationReader.to_kafka``: the changes go to a real Kafka-protocol broker
(``pgoutput_decoder.testing.KafkaBroker``, tansu) from Rust, read back with kafka-python: the
same records ``debezium_records`` gives for the same messages, keys on the partition the Java
client picks, and the slot confirmed only up to what Kafka acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pgoutput_decoder
from helpers import Database, collect
from pgoutput_decoder.testing import KafkaBroker

TANSU = Path.home() / ".cache/pgoutput-decoder/tansu-0.6/bin/tansu"

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not (TANSU.exists() or shutil.which("tansu")),
        reason="no tansu binary (make setup installs it)",
    ),
]


@pytest.fixture
def broker() -> Iterator[Any]:
    with KafkaBroker() as b:
        yield b


def read_back(bootstrap: str, prefix: str, expected: int) -> list[dict[str, Any]]:
    """Every record of the topics starting with ``prefix``, in partition and offset order."""
    with warnings.catch_warnings():
        # kafka-python 3.0 loads its protocol schemas with a deprecated importlib call.
        warnings.simplefilter("ignore", DeprecationWarning)
        from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        topics = sorted(t for t in consumer.topics() if t.startswith(prefix))
        consumer.subscribe(topics)
        records = []
        for r in consumer:
            records.append(
                {
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                    "key": None if r.key is None else json.loads(r.key),
                    "value": None if r.value is None else json.loads(r.value),
                    "headers": [(k, json.loads(v)) for k, v in r.headers],
                }
            )
            if len(records) >= expected:
                break
        return sorted(records, key=lambda r: (r["topic"], r["partition"], r["offset"]))
    finally:
        consumer.close()


def java_partition(key: bytes, partitions: int) -> int:
    """Kafka's ``Utils.toPositive(Utils.murmur2(key)) % partitions``."""
    m, seed = 0x5BD1E995, 0x9747B28C
    h = (seed ^ len(key)) & 0xFFFFFFFF
    n = len(key) // 4 * 4
    for i in range(0, n, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = key[n:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def test_java_partition_matches_kafkas_vectors() -> None:
    # Kafka's UtilsTest.testMurmur2, as partitions of 2**31 - 1 ... checked through the hash:
    # murmur2("21") = -973932308, whose positive form is 1173551340.
    assert java_partition(b"21", 2_000_000_000) == 1_173_551_340
    assert java_partition(b"abc", 2_000_000_000) == 479_470_107


async def test_to_kafka_names_topics_partitions_keys_and_confirms(
    db: Database, broker: Any
) -> None:
    db.prepare('CREATE TABLE items (id int PRIMARY KEY, name text); CREATE TABLE "Ä b" (v text)')
    await db.asql(
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g;"
        "UPDATE items SET id = 21 WHERE id = 20; DELETE FROM items WHERE id = 1;"
        """INSERT INTO "Ä b" VALUES ('x');"""
    )
    end = db.current_lsn()
    reader = db.reader(topic_prefix="py")
    written = await reader.to_kafka(
        broker.bootstrap_servers,
        properties={"topic.creation.default.partitions": 3},
        idle_timeout=2.0,
    )
    assert written == 20 + 2 + 1 + 1
    await reader.stop()
    # Kafka acknowledged everything: the slot is confirmed up to the end.
    confirmed = db.confirmed_flush_lsn()
    assert confirmed is not None
    assert confirmed >= end

    records = read_back(broker.bootstrap_servers, "py.", 20 + 3 + 2 + 1)
    assert len(records) == 26
    assert sorted({r["topic"] for r in records}) == ["py.public.__b", "py.public.items"]
    for r in records:
        if r["key"] is not None:
            raw = json.dumps(r["key"], separators=(",", ":")).encode()
            assert r["partition"] == java_partition(raw, 3), r
    assert len([r for r in records if r["value"] is None]) == 2
    key_change = sorted((r["headers"][0] for r in records if r["headers"]), key=lambda h: h[0])
    assert [name for name, _ in key_change] == [
        "__debezium.newkey",
        "__debezium.newkey",
        "__debezium.oldkey",
    ]
    assert key_change[0][1]["payload"] == {"id": 21}
    assert key_change[2][1]["payload"] == {"id": 20}


async def test_to_kafka_equals_debezium_records(db: Database, broker: Any) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY, v text)")
    db.create_slot(db.slot + "_2")
    await db.asql(
        "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g;"
        "UPDATE t SET v = 'w' WHERE id < 3; DELETE FROM t WHERE id = 5;"
    )
    # Through Python: the records debezium_records makes of each message.
    expected = []
    async with db.reader(slot_name=db.slot + "_2", topic_prefix="eq") as python_reader:
        for m in await collect(python_reader, 13):
            for topic, key, value, headers in pgoutput_decoder.debezium_records(m):
                expected.append((topic, key, value, headers))
    # Through Kafka.
    reader = db.reader(topic_prefix="eq")
    assert await reader.to_kafka(broker.bootstrap_servers, idle_timeout=2.0) == 13
    await reader.stop()
    got = read_back(broker.bootstrap_servers, "eq.", len(expected))

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k not in ("ts_ms", "ts_us", "ts_ns")}
        return value

    # Per topic and key, in order (the order of one key's records is kept in its partition).
    want: dict[str, list[Any]] = {}
    for t, k, v, _ in expected:
        want.setdefault(f"{t} {k}", []).append(strip(None if v is None else json.loads(v)))
    have: dict[str, list[Any]] = {}
    for r in got:
        key = json.dumps(r["key"], separators=(",", ":"))
        have.setdefault(f"{r['topic']} {key}", []).append(strip(r["value"]))
    assert have == want


async def test_an_unreachable_broker_is_a_connection_error(db: Database) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY)")
    reader = db.reader()
    with pytest.raises(pgoutput_decoder.ConnectionError, match="could not reach the Kafka"):
        await reader.to_kafka(
            "127.0.0.1:1", properties={"kafka.connect.timeout.ms": 500}, idle_timeout=1.0
        )


def test_bad_settings_are_configuration_errors(db: Database) -> None:
    reader = db.reader()
    with pytest.raises(pgoutput_decoder.ConfigurationError, match=r"bootstrap\.servers"):
        asyncio.run(reader.to_kafka())
    with pytest.raises(pgoutput_decoder.ConfigurationError, match="acks=0"):
        asyncio.run(reader.to_kafka("k:9092", properties={"producer.acks": 0}))


async def test_to_kafka_writes_heartbeats_that_are_not_counted_as_changes(
    db: Database, broker: Any
) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY)")
    await db.asql("INSERT INTO t VALUES (1), (2)")
    reader = db.reader(topic_prefix="hb", properties={"heartbeat.interval.ms": "200"})
    # Heartbeats keep coming, yet the idle timeout ends the call: they are not changes.
    assert await reader.to_kafka(broker.bootstrap_servers, idle_timeout=2.0) == 2
    await reader.stop()
    beats = read_back(broker.bootstrap_servers, "__debezium-heartbeat.hb", 3)
    assert len(beats) >= 3
    assert all(b["key"] == {"serverName": "hb"} for b in beats)
    assert all(b["value"]["ts_ms"] > 1_700_000_000_000 for b in beats)
