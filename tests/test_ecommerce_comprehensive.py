"""The e-commerce schema of examples/setup_postgres.sql under realistic traffic: customers sign
up, products are listed, orders are placed (one transaction over four tables), shipped and
cancelled. Every event is checked field by field.

``orders`` has REPLICA IDENTITY FULL (updates and deletes carry the whole old row); the other
tables have the default (updates carry no old row, deletes carry the primary key only).
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import pgoutput_decoder
from helpers import (
    Database,
    assert_no_more,
    check_change,
    collect,
    debezium_decimal,
    json_roundtrip,
)

CUSTOMERS = """
INSERT INTO customers (email, full_name, country, created_at) VALUES
    ('ada@example.com', 'Ada Lovelace', 'GB', '2024-01-15 10:30:00+00'),
    ('grace@example.com', 'Grace Hopper', 'US', '2024-01-16 08:00:00.5+02');
"""

PRODUCTS = """
INSERT INTO products (sku, name, price, in_stock, attributes) VALUES
    ('KB-01', 'Mechanical keyboard', 89.90, 25, '{"layout": "ISO", "switch": "brown"}'),
    ('MS-02', 'Wireless mouse', 24.50, 100, '{"dpi": 1600}');
"""

PLACE_ORDER = """
BEGIN;
INSERT INTO orders (customer_id, status, placed_at) VALUES (1, 'pending', '2024-03-01 12:00:00+00');
INSERT INTO order_items VALUES (1, 1, 1, 1, 89.90), (1, 2, 2, 2, 24.50);
UPDATE orders SET total = 138.90 WHERE id = 1;
UPDATE products SET in_stock = in_stock - 1 WHERE id = 1;
UPDATE products SET in_stock = in_stock - 2 WHERE id = 2;
INSERT INTO inventory_log (product_id, delta, reason, logged_at) VALUES
    (1, -1, 'order 1', '2024-03-01 12:00:01'),
    (2, -2, 'order 1', '2024-03-01 12:00:01.25');
COMMIT;
"""

ADA = {
    "id": 1,
    "email": "ada@example.com",
    "full_name": "Ada Lovelace",
    "country": "GB",
    "created_at": "2024-01-15T10:30:00+00:00",
}
GRACE = {
    "id": 2,
    "email": "grace@example.com",
    "full_name": "Grace Hopper",
    "country": "US",
    "created_at": "2024-01-16T06:00:00.500000+00:00",
}
KEYBOARD = {
    "id": 1,
    "sku": "KB-01",
    "name": "Mechanical keyboard",
    "price": Decimal("89.90"),
    "in_stock": 25,
    "attributes": {"layout": "ISO", "switch": "brown"},
    "active": True,
}
MOUSE = {
    "id": 2,
    "sku": "MS-02",
    "name": "Wireless mouse",
    "price": Decimal("24.50"),
    "in_stock": 100,
    "attributes": {"dpi": 1600},
    "active": True,
}
ORDER_PENDING = {
    "id": 1,
    "customer_id": 1,
    "status": "pending",
    "total": Decimal("0.00"),
    "placed_at": "2024-03-01T12:00:00+00:00",
}


def assert_row(actual: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    """Equal, with types: ``Decimal('1.0') == 1`` and ``True == 1`` are not good enough."""
    assert actual == expected
    assert actual is not None
    for column, value in expected.items():
        assert type(actual[column]) is type(value), (column, actual[column], value)
        if isinstance(value, Decimal):
            # Same scale, not only the same number: 0.00 stays 0.00.
            assert str(actual[column]) == str(value), column


def assert_key_only(before: dict[str, Any] | None, key: dict[str, Any]) -> None:
    """A delete under REPLICA IDENTITY DEFAULT: the old row has the key columns; the WAL
    carried nothing else, so every other column is None (or, for NOT NULL columns, a
    Debezium-style stand-in: the column's literal default or the type's zero)."""
    assert before is not None
    for column, value in key.items():
        assert before[column] == value, column
    others = {c: v for c, v in before.items() if c not in key}
    assert all(v is None or not v for v in others.values()), others


async def setup_catalogue(shop: Database) -> Any:
    """Customers and products; returns a reader positioned after those four events."""
    reader = shop.reader()
    shop.sql(CUSTOMERS)
    shop.sql(PRODUCTS)
    await collect(reader, 4)
    return reader


async def test_inserts_carry_the_new_row_and_the_key(shop: Database) -> None:
    started = int(time.time() * 1000)
    reader = shop.reader()
    await shop.asql(CUSTOMERS)
    await shop.asql(PRODUCTS)
    events = await collect(reader, 4)

    for event, table, row in zip(
        events,
        ["customers", "customers", "products", "products"],
        [ADA, GRACE, KEYBOARD, MOUSE],
    ):
        check_change(event, op="c", db=shop.name, table=table, started_ms=started)
        assert event.before is None
        assert_row(event.after, row)
        assert event.key == {"id": row["id"]}
        assert pgoutput_decoder.get_table_name(event) == f"public.{table}"
        assert pgoutput_decoder.format_operation(event.op) == "INSERT"

    # One statement, one transaction: both customers share a txId; the products come later.
    tx = [e.source["txId"] for e in events]
    assert tx[0] == tx[1]
    assert tx[2] == tx[3]
    assert tx[0] < tx[2]
    lsns = [e.source["lsn"] for e in events]
    assert lsns == sorted(lsns)
    assert len(set(lsns)) == 4

    # The Debezium view of the same rows.
    ada = json_roundtrip(events[0])
    assert ada["before"] is None
    assert ada["after"] == {
        "id": 1,
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "country": "GB",
        "created_at": "2024-01-15T10:30:00.000000Z",
    }
    assert ada["source"]["db"] == shop.name
    assert ada["source"]["table"] == "customers"
    assert json_roundtrip(events[1])["after"]["created_at"] == "2024-01-16T06:00:00.500000Z"
    keyboard = json_roundtrip(events[2])
    assert keyboard["after"]["price"] == debezium_decimal("89.90", 2)
    assert json.loads(keyboard["after"]["attributes"]) == {"layout": "ISO", "switch": "brown"}
    assert keyboard["after"]["active"] is True
    await assert_no_more(reader)


async def test_order_placement_is_one_transaction_over_four_tables(shop: Database) -> None:
    reader = await setup_catalogue(shop)
    await shop.asql(PLACE_ORDER)
    events = await collect(reader, 8)

    expected = [
        ("c", "orders"),
        ("c", "order_items"),
        ("c", "order_items"),
        ("u", "orders"),
        ("u", "products"),
        ("u", "products"),
        ("c", "inventory_log"),
        ("c", "inventory_log"),
    ]
    assert [(e.op, e.source["table"]) for e in events] == expected
    for event, (op, table) in zip(events, expected):
        check_change(event, op=op, db=shop.name, table=table)

    # One transaction: one txId, one commit time, changes in statement order.
    assert len({e.source["txId"] for e in events}) == 1
    assert len({e.source["ts_us"] for e in events}) == 1
    lsns = [e.source["lsn"] for e in events]
    assert lsns == sorted(lsns)
    assert len(set(lsns)) == len(lsns)

    order, item1, item2, total, kb, mouse, log1, log2 = events
    assert order.before is None
    assert_row(order.after, ORDER_PENDING)
    assert order.key == {"id": 1}

    # Composite primary key.
    assert item1.key == {"order_id": 1, "line_no": 1}
    assert item2.key == {"order_id": 1, "line_no": 2}
    assert_row(
        item1.after,
        {
            "order_id": 1,
            "line_no": 1,
            "product_id": 1,
            "quantity": 1,
            "unit_price": Decimal("89.90"),
        },
    )
    assert_row(
        item2.after,
        {
            "order_id": 1,
            "line_no": 2,
            "product_id": 2,
            "quantity": 2,
            "unit_price": Decimal("24.50"),
        },
    )
    assert json_roundtrip(item2)["after"]["unit_price"] == debezium_decimal("24.50", 2)

    # REPLICA IDENTITY FULL: the update carries the old row.
    assert_row(total.before, ORDER_PENDING)
    assert_row(total.after, {**ORDER_PENDING, "total": Decimal("138.90")})
    assert total.key == {"id": 1}
    assert pgoutput_decoder.format_operation(total.op) == "UPDATE"
    full = json_roundtrip(total)
    assert full["before"]["total"] == debezium_decimal("0.00", 2)
    assert full["after"]["total"] == debezium_decimal("138.90", 2)
    assert full["before"]["placed_at"] == "2024-03-01T12:00:00.000000Z"

    # REPLICA IDENTITY DEFAULT: an update has no before image.
    assert kb.before is None
    assert_row(kb.after, {**KEYBOARD, "in_stock": 24})
    assert mouse.before is None
    assert_row(mouse.after, {**MOUSE, "in_stock": 98})
    assert json_roundtrip(kb)["before"] is None

    # timestamp without time zone: ISO 8601 without offset; in JSON, epoch microseconds.
    assert_row(
        log1.after,
        {
            "id": 1,
            "product_id": 1,
            "delta": -1,
            "reason": "order 1",
            "logged_at": "2024-03-01T12:00:01",
        },
    )
    assert_row(
        log2.after,
        {
            "id": 2,
            "product_id": 2,
            "delta": -2,
            "reason": "order 1",
            "logged_at": "2024-03-01T12:00:01.250000",
        },
    )
    assert json_roundtrip(log1)["after"]["logged_at"] == 1709294401000000
    assert json_roundtrip(log2)["after"]["logged_at"] == 1709294401250000
    await assert_no_more(reader)


async def test_updates_and_deletes_under_full_and_default_identity(shop: Database) -> None:
    reader = await setup_catalogue(shop)
    await shop.asql(PLACE_ORDER)
    placed = await collect(reader, 8)

    await shop.asql("UPDATE orders SET status = 'shipped' WHERE id = 1")
    await shop.asql("UPDATE customers SET full_name = 'Grace B. Hopper' WHERE id = 2")
    await shop.asql("DELETE FROM inventory_log WHERE reason = 'order 1' AND product_id = 2")
    await shop.asql("UPDATE products SET active = false, attributes = NULL WHERE sku = 'MS-02'")
    shipped, renamed, deleted, retired = await collect(reader, 4)

    check_change(shipped, op="u", db=shop.name, table="orders")
    assert_row(shipped.before, {**ORDER_PENDING, "total": Decimal("138.90")})
    assert_row(shipped.after, {**ORDER_PENDING, "total": Decimal("138.90"), "status": "shipped"})

    check_change(renamed, op="u", db=shop.name, table="customers")
    assert renamed.before is None
    assert_row(renamed.after, {**GRACE, "full_name": "Grace B. Hopper"})
    assert renamed.key == {"id": 2}

    # A delete under DEFAULT: the key is in before, after is None.
    check_change(deleted, op="d", db=shop.name, table="inventory_log")
    assert deleted.after is None
    assert_key_only(deleted.before, {"id": 2})
    assert deleted.key == {"id": 2}
    assert pgoutput_decoder.format_operation(deleted.op) == "DELETE"
    value = json_roundtrip(deleted)
    assert value["after"] is None
    assert value["before"]["id"] == 2
    # Not carried by the WAL. In the JSON, like Debezium, NOT NULL columns get the type's
    # zero (README, "Known differences"); nullable ones are null.
    assert value["before"]["product_id"] == 0
    assert value["before"]["delta"] == 0
    assert value["before"]["reason"] is None

    check_change(retired, op="u", db=shop.name, table="products")
    assert_row(
        retired.after,
        {**MOUSE, "in_stock": 98, "active": False, "attributes": None},
    )
    assert json_roundtrip(retired)["after"]["attributes"] is None

    # Each statement is its own transaction, in commit order.
    tx = [e.source["txId"] for e in (placed[0], shipped, renamed, deleted, retired)]
    assert tx == sorted(tx)
    assert len(set(tx)) == len(tx)
    await assert_no_more(reader)


async def test_primary_key_change_and_cascading_delete(shop: Database) -> None:
    reader = await setup_catalogue(shop)
    await shop.asql(PLACE_ORDER)
    await collect(reader, 8)

    # Renumbering an order line changes the composite primary key: a delete, then a create.
    await shop.asql("UPDATE order_items SET line_no = 3 WHERE order_id = 1 AND line_no = 2")
    gone, moved = await collect(reader, 2)
    check_change(gone, op="d", db=shop.name, table="order_items")
    check_change(moved, op="c", db=shop.name, table="order_items")
    assert gone.key == {"order_id": 1, "line_no": 2}
    assert_key_only(gone.before, {"order_id": 1, "line_no": 2})
    assert gone.after is None
    assert moved.key == {"order_id": 1, "line_no": 3}
    assert moved.before is None
    assert_row(
        moved.after,
        {
            "order_id": 1,
            "line_no": 3,
            "product_id": 2,
            "quantity": 2,
            "unit_price": Decimal("24.50"),
        },
    )
    assert gone.source["txId"] == moved.source["txId"]

    # Cancelling the order: ON DELETE CASCADE removes its lines in the same transaction.
    await shop.asql("DELETE FROM orders WHERE id = 1")
    events = await collect(reader, 3)
    order, *lines = events
    check_change(order, op="d", db=shop.name, table="orders")
    assert order.after is None
    # REPLICA IDENTITY FULL: the whole old row.
    assert_row(order.before, {**ORDER_PENDING, "total": Decimal("138.90")})
    assert order.key == {"id": 1}
    for line in lines:
        check_change(line, op="d", db=shop.name, table="order_items")
        assert line.after is None
    assert sorted((line.key["order_id"], line.key["line_no"]) for line in lines) == [(1, 1), (1, 3)]
    for line in lines:
        assert_key_only(line.before, line.key)
    assert len({e.source["txId"] for e in events}) == 1
    await assert_no_more(reader)


async def test_concurrent_transactions_arrive_in_commit_order(shop: Database) -> None:
    reader = await setup_catalogue(shop)
    slow = """
        BEGIN;
        INSERT INTO orders (customer_id, status) VALUES (1, 'slow-1');
        SELECT pg_sleep(1.5);
        INSERT INTO orders (customer_id, status) VALUES (1, 'slow-2');
        COMMIT;
    """
    fast = "INSERT INTO orders (customer_id, status) VALUES (2, 'fast');"

    async def later() -> None:
        # Once the slow transaction sleeps (after its first insert), commit the fast one.
        sleeping = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()"
        )
        for _ in range(100):
            if await shop.asql(sleeping) == "1":
                break
            await asyncio.sleep(0.05)
        await shop.asql(fast)

    await asyncio.gather(shop.asql(slow), later())
    events = await collect(reader, 3)
    # The fast transaction began later but committed first: it comes first.
    assert [e.after["status"] for e in events] == ["fast", "slow-1", "slow-2"]
    assert events[1].source["txId"] == events[2].source["txId"]
    assert events[0].source["txId"] != events[1].source["txId"]
    # Ids were taken in statement order, not in commit order.
    assert [e.after["id"] for e in events] == [2, 1, 3]
    await assert_no_more(reader)


async def test_demo_workload_end_to_end(shop: Database) -> None:
    """examples/demo_workload.sql as the demo streams it: 15 changes in 6 transactions."""
    from helpers import DEMO_WORKLOAD

    reader = shop.reader()
    await asyncio.to_thread(shop.sql_file, DEMO_WORKLOAD)
    events = await collect(reader, 15)
    ops = [(e.op, pgoutput_decoder.get_table_name(e)) for e in events]
    assert ops == [
        ("c", "public.customers"),
        ("c", "public.customers"),
        ("c", "public.products"),
        ("c", "public.products"),
        ("c", "public.orders"),
        ("c", "public.order_items"),
        ("c", "public.order_items"),
        ("u", "public.orders"),
        ("u", "public.products"),
        ("u", "public.products"),
        ("c", "public.inventory_log"),
        ("c", "public.inventory_log"),
        ("u", "public.orders"),
        ("u", "public.customers"),
        ("d", "public.inventory_log"),
    ]
    # Transactions: 2 customers, 2 products, the order (8 changes), then 3 single statements.
    groups: list[int] = []
    for event in events:
        if not groups or groups[-1] != event.source["txId"]:
            groups.append(event.source["txId"])
    assert len(groups) == 6
    for event in events:
        check_change(event, op=event.op, db=shop.name, table=event.source["table"])
        if event.source["table"] == "order_items":
            assert set(event.key) == {"order_id", "line_no"}
        else:
            assert set(event.key) == {"id"}
    await assert_no_more(reader)


async def test_truncate_is_skipped_by_default(shop: Database) -> None:
    reader = shop.reader()
    await shop.asql(CUSTOMERS)
    await shop.asql("TRUNCATE inventory_log")
    await shop.asql("INSERT INTO products (sku, name, price) VALUES ('X', 'x', 1)")
    events = await collect(reader, 3)
    assert [e.op for e in events] == ["c", "c", "c"]
    assert events[2].source["table"] == "products"
    await assert_no_more(reader)
