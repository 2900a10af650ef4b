"""Contender: pgoutput-decoder's Python API (`async for message in reader`).

Mode `after` touches `message.after` of every change; mode `json` also renders each message
as Debezium JSON with `pgoutput_decoder.message_to_debezium_json`. The loop stops once the
expected number of changes was seen (the reader acknowledges automatically).

With `--snapshot-mode initial_only` the reader creates the slot and reads the published
tables (`op == "r"` messages), and the iteration ends by itself after the last read: the loop
runs to that end, and the reads it saw are the count.
"""

import asyncio
import os
import sys
import threading
import time

import _common


def main() -> None:
    mode = "after"
    if "--mode" in sys.argv:
        i = sys.argv.index("--mode")
        mode = sys.argv[i + 1]
        del sys.argv[i : i + 2]
    args = _common.parse_args(__doc__)
    import pgoutput_decoder

    to_json = pgoutput_decoder.message_to_debezium_json
    state = {"events": 0, "bytes": 0, "last": time.monotonic(), "first": None}
    soak = args.seconds is not None
    deadline = time.monotonic() + (args.seconds or args.max_seconds)

    def watchdog():
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            if soak and now >= deadline + 10:
                _common.report(state["events"], error="did not stop at the deadline")
                os._exit(5)
            if not soak and (now - state["last"] > args.idle_timeout or now > deadline):
                _common.report(
                    state["events"],
                    error=f"timed out after {state['events']} of {args.expected} events",
                )
                os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()

    snapshot = {}
    if args.snapshot_mode:
        snapshot = {
            "snapshot_mode": args.snapshot_mode,
            "create_slot": True,
            "offset_file": args.offset_file,
        }
    # initial_only ends the iteration after the reads: no need to stop at a count.
    ends_by_itself = args.snapshot_mode == "initial_only"

    async def run():
        reader = pgoutput_decoder.LogicalReplicationReader(
            publication_name=args.publication,
            slot_name=args.slot,
            host=args.host,
            database=args.database,
            port=args.port,
            user=args.user,
            password=args.password or None,
            auto_acknowledge=True,
            **snapshot,
        )
        t_start = time.perf_counter()
        if soak:
            # Stop from a timer: iteration ends even if no change arrives any more.
            stopper = asyncio.get_running_loop().call_later(
                max(0.0, deadline - time.monotonic()), lambda: asyncio.ensure_future(reader.stop())
            )
        events = 0
        size = 0
        json_mode = mode == "json"
        async for message in reader:
            _ = message.after
            if json_mode:
                size += len(to_json(message, None))
            events += 1
            if events == 1:
                state["first"] = time.perf_counter() - t_start
                state["cpu_first"] = _common.cpu_now()
            if soak:
                state["events"] = events
                state["last"] = time.monotonic()
                if time.monotonic() >= deadline:
                    break
            elif events >= args.expected and not ends_by_itself:
                break
            elif not events & 1023:
                state["events"] = events
                state["last"] = time.monotonic()
        state["events"] = events
        state["bytes"] = size
        stream_s = time.perf_counter() - t_start
        state["cpu_end"] = _common.cpu_now()
        # Leaving the loop early leaves the last message unacknowledged: confirm it, then
        # stop (which tells the server and closes the connection).
        if soak:
            stopper.cancel()
        elif not ends_by_itself:
            await reader.acknowledge()
        await reader.stop()
        return stream_s

    stream_s = asyncio.run(run())
    _common.report(
        state["events"],
        stream_s=round(stream_s, 4),
        first_event_s=state["first"],
        json_bytes=state["bytes"] or None,
        steady_cpu_us_per_event=_common.steady_cpu_us(
            state.get("cpu_first"), state.get("cpu_end"), state["events"]
        ),
    )


if __name__ == "__main__":
    main()
