"""Contender: psycopg2's LogicalReplicationConnection with a plain pure-Python pgoutput parse.

Raw pgoutput messages from `consume_stream`, parsed into dicts by pgoutput_py.Parser; the
position is confirmed (`send_feedback`) at each commit, as a real consumer would.
"""

import contextlib
import os
import threading
import time

import _common
import psycopg2
import psycopg2.extras
from pgoutput_py import Parser


def main() -> None:
    args = _common.parse_args(__doc__)
    conn = psycopg2.connect(
        _common.dsn(args), connection_factory=psycopg2.extras.LogicalReplicationConnection
    )
    cur = conn.cursor()
    parser = Parser()
    state = {"events": 0, "last": time.monotonic(), "first": None}
    expected = args.expected
    deadline = time.monotonic() + (args.seconds or args.max_seconds)
    soak = args.seconds is not None

    def watchdog():
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            if soak and now >= deadline:
                _common.report(state["events"])
                os._exit(0)
            if not soak and (now - state["last"] > args.idle_timeout or now > deadline):
                _common.report(
                    state["events"], error=f"timed out after {state['events']} of {expected} events"
                )
                os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    t_start = time.perf_counter()

    def consume(msg):
        change = parser.parse(msg.payload)
        if change is not None:
            state["events"] += 1
            state["last"] = time.monotonic()
            if state["first"] is None:
                state["first"] = time.perf_counter() - t_start
                state["cpu_first"] = _common.cpu_now()
            if not soak and state["events"] >= expected:
                msg.cursor.send_feedback(flush_lsn=msg.data_start)
                raise psycopg2.extras.StopReplication()
        elif msg.payload[:1] == b"C":
            msg.cursor.send_feedback(flush_lsn=msg.data_start)

    cur.start_replication(
        slot_name=args.slot,
        decode=False,
        options={"proto_version": "1", "publication_names": args.publication},
    )
    with contextlib.suppress(psycopg2.extras.StopReplication):
        cur.consume_stream(consume)
    stream_s = time.perf_counter() - t_start
    _common.report(
        state["events"],
        stream_s=round(stream_s, 4),
        first_event_s=state["first"],
        steady_cpu_us_per_event=_common.steady_cpu_us(
            state.get("cpu_first"), _common.cpu_now(), state["events"]
        ),
    )
    conn.close()


if __name__ == "__main__":
    main()
