#!/usr/bin/env python3
"""Print each change as Debezium JSON, with automatic or manual acknowledgement.

    python examples/example_debezium.py --dsn "postgresql://cdc:secret@localhost/shop" \\
        --slot shop_slot --publication shop_pub --ack manual --ack-every 100

The output is what Debezium's PostgreSQL connector writes to Kafka as the record value
(``JsonConverter``, schemas disabled): pretty-printed, or one event per line with
``--compact``.

Acknowledgement tells the server which changes it may forget:

- ``--ack auto`` (default): each message is acknowledged once the next one is requested,
  i.e. after its JSON was printed;
- ``--ack manual``: the program calls ``await reader.acknowledge()`` itself, after every
  ``--ack-every`` messages and at the end, once standard output was flushed. Whatever was not
  acknowledged is delivered again to the next reader of the slot.

Connection settings: ``--dsn`` or ``PGOUTPUT_DSN``, else ``--host``/``--port``/
``--database``/``--user`` (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``); the password
from the DSN, ``PGPASSWORD`` or ``~/.pgpass``. Slot and publication: ``--slot`` /
``PGOUTPUT_SLOT``, ``--publication`` / ``PGOUTPUT_PUBLICATION``. The program ends after
``--max-events`` events, after ``--idle-timeout`` seconds without one, or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
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
    p.add_argument("--topic-prefix", default="shop", help="source.name and the topic names")
    p.add_argument("--ack", choices=["auto", "manual"], default="auto")
    p.add_argument(
        "--ack-every", type=int, default=1, help="with --ack manual: acknowledge every N events"
    )
    p.add_argument("--compact", action="store_true", help="one JSON document per line")
    p.add_argument("--max-events", type=int, default=None, help="stop after N events")
    p.add_argument(
        "--idle-timeout", type=float, default=None, help="stop after S seconds without an event"
    )
    args = p.parse_args(argv)
    if args.ack_every < 1:
        p.error("--ack-every must be at least 1")
    return args


def make_reader(args: argparse.Namespace) -> LogicalReplicationReader:
    connection: dict[str, Any] = (
        {"dsn": args.dsn}
        if args.dsn
        else {"host": args.host, "port": args.port, "database": args.database, "user": args.user}
    )
    return LogicalReplicationReader(
        publication_name=args.publication,
        slot_name=args.slot,
        auto_acknowledge=args.ack == "auto",
        create_slot=args.create_slot,
        create_publication=args.create_publication,
        topic_prefix=args.topic_prefix,
        **connection,
    )


async def events(
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


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    indent = None if args.compact else 2
    count = 0
    async with make_reader(args) as reader:
        mode = "automatic" if reader.auto_acknowledge else "manual"
        print(f"streaming slot {args.slot}, {mode} acknowledgement", file=sys.stderr)
        async for message in events(reader, args.max_events, args.idle_timeout):
            print(pgoutput_decoder.message_to_debezium_json(message, indent=indent))
            count += 1
            if not reader.auto_acknowledge and count % args.ack_every == 0:
                # Only what is really out of the process may be forgotten by the server.
                sys.stdout.flush()
                await reader.acknowledge()
        sys.stdout.flush()
        # Confirm the last events too (in auto mode: the one whose successor never came).
        await reader.acknowledge()
    print(f"{count} events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
    except pgoutput_decoder.ReplicationError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
