#!/usr/bin/env python3
"""Print one line per change of a PostgreSQL database.

    python examples/basic_cdc.py --dsn "postgresql://cdc:secret@localhost/shop" \\
        --slot shop_slot --publication shop_pub --create-slot --create-publication

Each line looks like::

    INSERT public.customers key={"id": 1} after={"id": 1, "email": "ada@example.com", ...}

Connection settings come from the arguments or from the environment: ``PGOUTPUT_DSN`` (or
``--dsn``), else ``--host``/``--port``/``--database``/``--user`` (``PGHOST``, ``PGPORT``,
``PGDATABASE``, ``PGUSER``); the password from the DSN, ``PGPASSWORD`` or ``~/.pgpass``.
Slot and publication: ``--slot``/``PGOUTPUT_SLOT``, ``--publication``/``PGOUTPUT_PUBLICATION``.

The program ends after ``--max-events`` changes, after ``--idle-timeout`` seconds without a
change, or on Ctrl-C. Messages are acknowledged automatically once the next one is requested,
so a change is confirmed to the server only after its line was printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import pgoutput_decoder
from pgoutput_decoder import LogicalReplicationReader, ReplicationMessage


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--dsn", default=env("PGOUTPUT_DSN"), help="libpq connection string or URI")
    # Not given: the reader takes them from PGHOST, PGPORT, PGDATABASE, PGUSER (and the
    # password from PGPASSWORD or ~/.pgpass), as libpq does.
    p.add_argument("--host", help="default: $PGHOST, else localhost")
    p.add_argument("--port", type=int, help="default: $PGPORT, else 5432")
    p.add_argument("--database", help="default: $PGDATABASE, else postgres")
    p.add_argument("--user", help="default: $PGUSER, else postgres")
    p.add_argument("--slot", default=env("PGOUTPUT_SLOT", "shop_slot"))
    p.add_argument("--publication", default=env("PGOUTPUT_PUBLICATION", "shop_pub"))
    p.add_argument("--create-slot", action="store_true", help="create the slot if missing")
    p.add_argument(
        "--create-publication", action="store_true", help="create the publication if missing"
    )
    p.add_argument("--max-events", type=int, default=None, help="stop after N changes")
    p.add_argument(
        "--idle-timeout", type=float, default=None, help="stop after S seconds without a change"
    )
    return p.parse_args(argv)


def make_reader(args: argparse.Namespace) -> LogicalReplicationReader:
    connection: dict[str, Any] = (
        {"dsn": args.dsn}
        if args.dsn
        else {"host": args.host, "port": args.port, "database": args.database, "user": args.user}
    )
    return LogicalReplicationReader(
        publication_name=args.publication,
        slot_name=args.slot,
        create_slot=args.create_slot,
        create_publication=args.create_publication,
        **connection,
    )


async def changes(
    reader: LogicalReplicationReader, max_events: int | None, idle_timeout: float | None
) -> AsyncIterator[ReplicationMessage]:
    """The reader's messages, until ``max_events`` were yielded or none came for
    ``idle_timeout`` seconds."""
    count = 0
    while max_events is None or count < max_events:
        try:
            message = await asyncio.wait_for(reader.__anext__(), idle_timeout)
        except (asyncio.TimeoutError, StopAsyncIteration):
            return
        count += 1
        yield message


def describe(message: ReplicationMessage) -> str:
    """One line for a change: operation, table, key and row."""
    operation = pgoutput_decoder.format_operation(message.op or "m")
    if message.kind == "message":
        content = message.message or {}
        return f"{operation} prefix={content.get('prefix')!r} content={content.get('content')!r}"
    row = pgoutput_decoder.message_to_dict(message)
    parts = [operation, pgoutput_decoder.get_table_name(message) or "-"]
    parts.append("key=" + json.dumps(row["key"], default=str, ensure_ascii=False))
    for image in ("before", "after"):
        if row[image] is not None:
            parts.append(f"{image}=" + json.dumps(row[image], default=str, ensure_ascii=False))
    return " ".join(parts)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    async with make_reader(args) as reader:
        print(f"streaming slot {args.slot} (publication {args.publication})", file=sys.stderr)
        count = 0
        async for message in changes(reader, args.max_events, args.idle_timeout):
            print(describe(message), flush=True)
            count += 1
        # The last line was printed: confirm it too before stopping.
        await reader.acknowledge()
    print(f"{count} changes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
    except pgoutput_decoder.ReplicationError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
