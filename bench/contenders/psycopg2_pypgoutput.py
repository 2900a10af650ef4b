"""Contender: pypgoutput (PyPI) on psycopg2's LogicalReplicationConnection.

pypgoutput reads the slot in a child process (psycopg2 `consume_stream`), hands each raw
message through a pipe to the parent, which decodes it and builds pydantic change events
(`ChangeEvent.after`). The iteration is stopped once the expected number of changes was seen.
"""

import contextlib
import logging
import os
import threading
import time

import _common


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def main() -> None:
    args = _common.parse_args(__doc__)
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.WARNING)
    import pypgoutput

    state = {"events": 0, "last": time.monotonic(), "first": None}
    soak = args.seconds is not None
    deadline = time.monotonic() + (args.seconds or args.max_seconds)
    reader_box = {}

    def finish_hard(code, error=None):
        _common.report(state["events"], error=error)
        reader = reader_box.get("reader")
        if reader is not None:
            try:
                reader.extractor.kill()
                reader.extractor.join(2)
            except Exception:  # noqa: BLE001 (best effort on the way out)
                pass
        os._exit(code)

    def watchdog():
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            if soak and now >= deadline:
                finish_hard(0)
            if not soak and (now - state["last"] > args.idle_timeout or now > deadline):
                finish_hard(3, f"timed out after {state['events']} of {args.expected} events")

    threading.Thread(target=watchdog, daemon=True).start()
    t_start = time.perf_counter()
    reader = pypgoutput.LogicalReplicationReader(
        publication_name=args.publication, slot_name=args.slot, dsn=_common.dsn(args)
    )
    reader_box["reader"] = reader
    for event in reader:
        _ = event.after
        state["events"] += 1
        state["last"] = time.monotonic()
        if state["first"] is None:
            state["first"] = time.perf_counter() - t_start
        if not soak and state["events"] >= args.expected:
            break
    stream_s = time.perf_counter() - t_start
    error = None
    if state["events"] < args.expected and errors.messages:
        error = errors.messages[-1]
    with contextlib.suppress(Exception):
        reader.stop()
    with contextlib.suppress(Exception):
        reader.extractor.join(5)
    _common.report(
        state["events"], error=error, stream_s=round(stream_s, 4), first_event_s=state["first"]
    )
    os._exit(0 if error is None else 4)


if __name__ == "__main__":
    main()
