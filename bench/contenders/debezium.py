"""Contender: the real Debezium PostgreSQL connector, embedded, through pydbzengine (JPype).

The engine runs with the JSON format and schemas off (the same record shape as
pgoutput-decoder's output), streaming from the pre-created slot (`snapshot.mode=no_data`,
publication not touched, offsets in memory). Every record's value is converted to a Python
string and counted; tombstones are not counted. Debezium has no end position, so the engine is
closed as soon as the expected number of changes arrived.

With `--snapshot-mode initial_only` the connector reads the published table first (its
initial snapshot, creating its slot) and streams nothing after it; only the read records
(`"op":"r"`) are counted, and the engine is closed once the expected number of rows came.
"""

import os
import tempfile
import threading
import time

import _common


def main() -> None:
    args = _common.parse_args(__doc__)
    # pydbzengine's log4j configuration writes logs/ under the working directory.
    os.chdir(tempfile.mkdtemp(prefix="dbz-bench-"))
    from pydbzengine import BasePythonChangeHandler, DebeziumJsonEngine

    state = {"events": 0, "records": 0, "bytes": 0, "last": time.monotonic(), "first": None}
    soak = args.seconds is not None
    done = threading.Event()
    t_start = time.perf_counter()

    reads_only = args.snapshot_mode is not None

    class Counter(BasePythonChangeHandler):
        def handleJsonBatch(self, records):
            n = 0
            size = 0
            for record in records:
                value = record.value()
                if value is not None:
                    text = str(value)
                    size += len(text)
                    if not reads_only or '"op":"r"' in text:
                        n += 1
            state["records"] += len(records)
            state["events"] += n
            state["bytes"] += size
            state["last"] = time.monotonic()
            if state["first"] is None and n:
                state["first"] = time.perf_counter() - t_start
                state["cpu_first"] = _common.cpu_now()
            if not soak and state["events"] >= args.expected:
                done.set()

    props = {
        "name": "bench",
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "offset.storage": "org.apache.kafka.connect.storage.MemoryOffsetBackingStore",
        "offset.flush.interval.ms": "10000",
        "database.hostname": args.host,
        "database.port": str(args.port),
        "database.user": args.user,
        "database.password": args.password or "",
        "database.dbname": args.database,
        "topic.prefix": "bench",
        "plugin.name": "pgoutput",
        "slot.name": args.slot,
        "publication.name": args.publication,
        "publication.autocreate.mode": "disabled",
        "snapshot.mode": args.snapshot_mode or "no_data",
        "converter.schemas.enable": "false",
    }
    engine = DebeziumJsonEngine(properties=props, handler=Counter())
    error = {}

    def run():
        try:
            engine.run()
        except Exception as e:  # noqa: BLE001
            error["e"] = f"{type(e).__name__}: {e}"
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + (args.seconds or args.max_seconds)
    code = 0
    err = None
    while not done.wait(0.5):
        now = time.monotonic()
        if soak and now >= deadline:
            break
        if not soak and (
            now > deadline
            or (state["first"] is not None and now - state["last"] > args.idle_timeout)
            or (state["first"] is None and now - state["last"] > 120)
        ):
            err = f"timed out after {state['events']} of {args.expected} events"
            code = 3
            break
    stream_s = time.perf_counter() - t_start
    cpu_end = _common.cpu_now()
    if "e" in error and state["events"] < args.expected:
        err = error["e"]
        code = 4
    _common.report(
        state["events"],
        error=err,
        stream_s=round(stream_s, 4),
        first_event_s=state["first"],
        records=state["records"],
        json_bytes=state["bytes"],
        steady_cpu_us_per_event=_common.steady_cpu_us(
            state.get("cpu_first"), cpu_end, state["events"]
        ),
    )
    # Stop the engine like a consumer that is done would, but never wait more than 5 s for it.
    closer = threading.Thread(target=engine.close, daemon=True)
    closer.start()
    closer.join(5)
    os._exit(code)


if __name__ == "__main__":
    main()
