#!/usr/bin/env python3
"""Publish changes to a sink and acknowledge them only once the sink has them.

The sink here is a directory of JSON-lines files, one per table, standing in for a message
queue: each event's Debezium JSON is appended to ``<outdir>/<schema>.<table>.jsonl``
(logical decoding messages go to ``<outdir>/messages.jsonl``). The reader runs with
``auto_acknowledge=False``; after each batch of writes the files are flushed (and, with
``--fsync``, synced to disk) and only then is ``reader.acknowledge()`` called. If the program
dies in between, the unacknowledged events are delivered again on the next run: nothing is
lost, at worst an event is written twice (deduplicate on ``source.lsn`` and ``source.txId``).

    python examples/jsonl_sink.py --dsn "postgresql://cdc:secret@localhost/shop" \\
        --slot shop_slot --publication shop_pub --outdir ./cdc-out --batch-size 100

Connection settings: ``--dsn`` or ``PGOUTPUT_DSN``, else ``--host``/``--port``/
``--database``/``--user`` (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``); the password
from the DSN, ``PGPASSWORD`` or ``~/.pgpass``. Slot and publication: ``--slot`` /
``PGOUTPUT_SLOT``, ``--publication`` / ``PGOUTPUT_PUBLICATION``. The program ends after
``--max-events`` events, after ``--idle-timeout`` seconds without one, or on SIGINT/SIGTERM
(it then writes, flushes and acknowledges what it has, and stops cleanly).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

import pgoutput_decoder
from pgoutput_decoder import LogicalReplicationReader, ReplicationMessage

#: How long to wait for more messages before committing a partial batch.
LINGER = 0.2
FIRST = asyncio.FIRST_COMPLETED


class JsonlSink:
    """Appends events to one JSON-lines file per table: a stand-in for a message queue with
    one topic per table."""

    def __init__(self, outdir: Path, fsync: bool = False) -> None:
        self.outdir = outdir
        self.fsync = fsync
        self.files: dict[str, IO[str]] = {}
        self.pending = 0
        self.written = 0
        outdir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def stream_name(message: ReplicationMessage) -> str:
        table = pgoutput_decoder.get_table_name(message)
        return table if table is not None else "messages"

    def publish(self, message: ReplicationMessage) -> None:
        """Buffers one event; it is durable only after :meth:`flush`."""
        name = self.stream_name(message)
        out = self.files.get(name)
        if out is None:
            out = open(self.outdir / f"{name}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
            self.files[name] = out
        out.write(message.json())
        out.write("\n")
        self.pending += 1

    def flush(self) -> int:
        """Writes everything buffered out (and syncs it with ``fsync=True``); returns how many
        events that was."""
        for out in self.files.values():
            out.flush()
            if self.fsync:
                os.fsync(out.fileno())
        done, self.pending = self.pending, 0
        self.written += done
        return done

    def close(self) -> None:
        self.flush()
        for out in self.files.values():
            out.close()
        self.files.clear()


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
    p.add_argument("--topic-prefix", default="shop", help="source.name in the events")
    p.add_argument("--outdir", type=Path, default=Path(env("PGOUTPUT_OUTDIR", "cdc-out")))
    p.add_argument("--batch-size", type=int, default=100, help="acknowledge after at most N events")
    p.add_argument("--fsync", action="store_true", help="fsync the files before acknowledging")
    p.add_argument("--max-events", type=int, default=None, help="stop after N events")
    p.add_argument(
        "--idle-timeout", type=float, default=None, help="stop after S seconds without an event"
    )
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error("--batch-size must be at least 1")
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
        auto_acknowledge=False,
        create_slot=args.create_slot,
        create_publication=args.create_publication,
        topic_prefix=args.topic_prefix,
        **connection,
    )


async def commit(sink: JsonlSink, reader: LogicalReplicationReader) -> None:
    """Makes the sink durable, then acknowledges everything handed out so far."""
    if sink.flush():
        await reader.acknowledge()


async def next_event(
    reader: LogicalReplicationReader,
    sink: JsonlSink,
    stopping: asyncio.Event,
    idle_timeout: float | None,
) -> ReplicationMessage | None:
    """The next message; None when stopping, idle for ``idle_timeout`` seconds, or the
    reader ended. While waiting, a partial batch is committed as soon as no further message
    is immediately at hand (after ``LINGER`` seconds), so a trickle of changes is not held
    back until the batch is full."""
    next_message = asyncio.ensure_future(reader.__anext__())
    stop_wait = asyncio.ensure_future(stopping.wait())
    waiters = {next_message, stop_wait}
    try:
        done: set[asyncio.Future[Any]] = set()
        if sink.pending:
            done, _ = await asyncio.wait(waiters, timeout=LINGER, return_when=FIRST)
            if not done:
                await commit(sink, reader)
        if not done:
            done, _ = await asyncio.wait(waiters, timeout=idle_timeout, return_when=FIRST)
        if next_message not in done:
            # Idle or stopping. A message arriving now stays unacknowledged and is delivered
            # again next time.
            return None
        try:
            return next_message.result()
        except StopAsyncIteration:
            return None
    finally:
        next_message.cancel()
        stop_wait.cancel()


async def run(args: argparse.Namespace) -> int:
    sink = JsonlSink(args.outdir, fsync=args.fsync)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with make_reader(args) as reader:
            print(f"streaming slot {args.slot} into {args.outdir}", file=sys.stderr, flush=True)
            total = 0
            while not stopping.is_set() and (args.max_events is None or total < args.max_events):
                message = await next_event(reader, sink, stopping, args.idle_timeout)
                if message is None:
                    break
                sink.publish(message)
                total += 1
                if sink.pending >= args.batch_size:
                    await commit(sink, reader)
            await commit(sink, reader)
    finally:
        sink.close()
    print(f"wrote {sink.written} events to {args.outdir}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(run(parse_args(argv)))
    except pgoutput_decoder.ReplicationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
