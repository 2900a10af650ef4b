"""The examples, run as the user would run them: separate processes against a throwaway
cluster with the examples/setup_postgres.sql schema and the demo workload."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import DEMO_WORKLOAD, EXAMPLES, ROOT, Database, wait_until

#: The demo workload's 15 changes, as (operation, table).
DEMO_CHANGES = [
    ("INSERT", "public.customers"),
    ("INSERT", "public.customers"),
    ("INSERT", "public.products"),
    ("INSERT", "public.products"),
    ("INSERT", "public.orders"),
    ("INSERT", "public.order_items"),
    ("INSERT", "public.order_items"),
    ("UPDATE", "public.orders"),
    ("UPDATE", "public.products"),
    ("UPDATE", "public.products"),
    ("INSERT", "public.inventory_log"),
    ("INSERT", "public.inventory_log"),
    ("UPDATE", "public.orders"),
    ("UPDATE", "public.customers"),
    ("DELETE", "public.inventory_log"),
]
OPS = {"INSERT": "c", "UPDATE": "u", "DELETE": "d"}


def run_example(
    name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, f"{name} failed ({result.returncode}):\n{result.stderr}"
    return result


def connection_args(db: Database) -> list[str]:
    return ["--dsn", db.cluster.dsn(db.name), "--slot", db.slot, "--publication", db.publication]


def json_documents(text: str) -> list[Any]:
    """Every JSON document of a text holding several, pretty-printed or not."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return docs
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)


def test_basic_cdc_prints_a_line_per_change(shop: Database) -> None:
    shop.sql_file(DEMO_WORKLOAD)
    result = run_example(
        "basic_cdc.py", *connection_args(shop), "--max-events", "15", "--idle-timeout", "20"
    )
    lines = result.stdout.splitlines()
    assert [tuple(line.split(" ")[:2]) for line in lines] == DEMO_CHANGES
    assert lines[0] == (
        'INSERT public.customers key={"id": 1} after={"id": 1, "email": "ada@example.com", '
        '"full_name": "Ada Lovelace", "country": "GB", "created_at": '
        + json.dumps(json.loads(lines[0].split("after=")[1])["created_at"])
        + "}"
    )
    assert '"attributes": {"layout": "ISO", "switch": "brown"}' in lines[2]
    assert '"price": "89.90"' in lines[2]
    # orders has REPLICA IDENTITY FULL: its updates show the old row.
    assert ' before={"id": 1, "customer_id": 1, "status": "pending"' in lines[12]
    assert lines[14].startswith('DELETE public.inventory_log key={"id": 2} before={"id": 2')
    assert "15 changes" in result.stderr

    # Everything was acknowledged, the last change included. Settings from the environment
    # this time.
    shop.sql("UPDATE customers SET country = 'FR' WHERE id = 1")
    env = {
        "PGOUTPUT_DSN": shop.cluster.dsn(shop.name),
        "PGOUTPUT_SLOT": shop.slot,
        "PGOUTPUT_PUBLICATION": shop.publication,
    }
    again = run_example("basic_cdc.py", "--idle-timeout", "1.5", env=env)
    lines = again.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith('UPDATE public.customers key={"id": 1}')
    assert '"country": "FR"' in lines[0]


def test_example_debezium_manual_then_auto_acknowledgement(shop: Database) -> None:
    shop.sql_file(DEMO_WORKLOAD)
    manual = run_example(
        "example_debezium.py",
        *connection_args(shop),
        "--ack",
        "manual",
        "--ack-every",
        "4",
        "--compact",
        "--max-events",
        "15",
        "--idle-timeout",
        "20",
    )
    lines = manual.stdout.splitlines()
    assert len(lines) == 15
    events = [json.loads(line) for line in lines]
    assert [(e["op"], f"{e['source']['schema']}.{e['source']['table']}") for e in events] == [
        (OPS[op], table) for op, table in DEMO_CHANGES
    ]
    for e in events:
        assert e["source"]["name"] == "shop"
        assert e["source"]["db"] == shop.name
        assert set(e) == {
            "before",
            "after",
            "source",
            "transaction",
            "op",
            "ts_ms",
            "ts_us",
            "ts_ns",
        }
    assert events[2]["after"]["price"] == "Ix4="  # numeric(10,2) 89.90 as Debezium's Decimal
    assert "manual acknowledgement" in manual.stderr

    # Pretty-printed, automatic acknowledgement: only the new changes.
    shop.sql("INSERT INTO customers (email, full_name) VALUES ('alan@example.com', 'Alan Turing')")
    shop.sql("DELETE FROM customers WHERE email = 'alan@example.com'")
    auto = run_example("example_debezium.py", *connection_args(shop), "--idle-timeout", "1.5")
    assert auto.stdout.startswith("{\n  ")
    docs = json_documents(auto.stdout)
    assert [d["op"] for d in docs] == ["c", "d"]
    assert docs[0]["after"]["email"] == "alan@example.com"
    assert docs[1]["before"]["id"] == docs[0]["after"]["id"]
    assert "automatic acknowledgement" in auto.stderr


def read_sink(outdir: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        path.name: [json.loads(line) for line in path.read_text().splitlines()]
        for path in sorted(outdir.glob("*.jsonl"))
    }


def test_jsonl_sink_writes_one_file_per_table_and_acknowledges(
    shop: Database, tmp_path: Path
) -> None:
    shop.sql_file(DEMO_WORKLOAD)
    outdir = tmp_path / "out"
    result = run_example(
        "jsonl_sink.py",
        *connection_args(shop),
        "--outdir",
        str(outdir),
        "--batch-size",
        "4",
        "--fsync",
        "--max-events",
        "15",
        "--idle-timeout",
        "20",
    )
    assert "wrote 15 events" in result.stderr
    files = read_sink(outdir)
    assert {name: [e["op"] for e in events] for name, events in files.items()} == {
        "public.customers.jsonl": ["c", "c", "u"],
        "public.inventory_log.jsonl": ["c", "c", "d"],
        "public.order_items.jsonl": ["c", "c"],
        "public.orders.jsonl": ["c", "u", "u"],
        "public.products.jsonl": ["c", "c", "u", "u"],
    }
    for name, events in files.items():
        for e in events:
            assert f"{e['source']['schema']}.{e['source']['table']}.jsonl" == name
    last_lsn = max(e["source"]["lsn"] for events in files.values() for e in events)
    confirmed = shop.confirmed_flush_lsn()
    assert confirmed is not None
    assert confirmed > last_lsn, "everything written was acknowledged"

    # Nothing is written twice by the next run.
    run_example(
        "jsonl_sink.py", *connection_args(shop), "--outdir", str(outdir), "--idle-timeout", "1"
    )
    assert read_sink(outdir) == files


def test_jsonl_sink_creates_slot_and_stops_cleanly_on_sigterm(db: Database, tmp_path: Path) -> None:
    from helpers import SHOP_SCHEMA

    db.sql_file(SHOP_SCHEMA)  # no publication, no slot: the example creates them
    outdir = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "jsonl_sink.py"),
            *connection_args(db),
            "--create-slot",
            "--create-publication",
            "--outdir",
            str(outdir),
            "--batch-size",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:

        def streaming() -> bool:
            row = db.slot_row()
            return bool(row and row["active"] and row["confirmed_flush_lsn"] is not None)

        assert wait_until(streaming, 30), "the example never started streaming"
        db.sql_file(DEMO_WORKLOAD)

        def written() -> int:
            return (
                sum(len(events) for events in read_sink(outdir).values()) if outdir.exists() else 0
            )

        # A partial batch is committed once no further change is at hand.
        assert wait_until(lambda: written() == 15, 20), f"{written()} events written"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert "wrote 15 events" in stderr
    row = db.slot_row()
    assert row is not None
    assert not row["active"], "the slot is free once the example exited"
    assert (
        db.scalar(f"SELECT count(*) FROM pg_publication WHERE pubname = '{db.publication}'") == "1"
    )


@pytest.mark.parametrize("example", ["basic_cdc.py", "example_debezium.py", "jsonl_sink.py"])
def test_examples_report_errors_in_one_line(db: Database, example: str, tmp_path: Path) -> None:
    db.create_publication()  # but no slot
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / example), *connection_args(db), "--idle-timeout", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f'error: replication slot "{db.slot}" does not exist')
    ), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_examples_pass_mypy_strict() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed")
    started = time.monotonic()
    result = subprocess.run(
        [mypy, "--strict", "examples"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 120
