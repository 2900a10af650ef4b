"""Shared pieces of the contender scripts: arguments and the result line.

Every contender script drains one replication slot and prints, as its last line on standard
output, `BENCH_RESULT {json}` with at least `events` (row changes seen) and `error` (null
when it worked). The harness measures wall time, CPU time and peak RSS from outside.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

T0 = time.perf_counter()


def parse_args(description: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5432)
    p.add_argument("--user", default="postgres")
    p.add_argument("--password", default=None)
    p.add_argument("--database", default="postgres")
    p.add_argument("--slot", required=True)
    p.add_argument("--publication", required=True)
    p.add_argument(
        "--expected", type=int, required=True, help="stop once this many row changes were seen"
    )
    p.add_argument("--end-lsn", default=None, help="the workload's end LSN (informational)")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="give up after this many seconds without a change",
    )
    p.add_argument(
        "--max-seconds", type=float, default=3600.0, help="give up after this many seconds in all"
    )
    p.add_argument(
        "--snapshot-mode",
        default=None,
        help="read the table first (initial_only: read it, then end) instead of draining "
        "a pre-created slot; --expected is then the number of rows",
    )
    p.add_argument(
        "--offset-file", default=None, help="where a snapshot keeps its progress (py_api)"
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="soak mode: run for this long, ignoring --expected",
    )
    return p.parse_args()


def dsn(args) -> str:
    parts = [
        f"host={args.host}",
        f"port={args.port}",
        f"user={args.user}",
        f"dbname={args.database}",
    ]
    if args.password:
        parts.append(f"password={args.password}")
    return " ".join(parts)


def lsn_to_int(lsn: str) -> int:
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def cpu_now() -> float:
    """CPU time (user + system) of this process so far, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def steady_cpu_us(cpu_first, cpu_end, events):
    """CPU per event after the first event arrived (start-up excluded), in microseconds."""
    if cpu_first is None or cpu_end is None or events < 2:
        return None
    return round((cpu_end - cpu_first) / (events - 1) * 1e6, 3)


def report(events: int, error: str | None = None, **extra) -> None:
    """Print the result line and flush (the caller may exit hard right after)."""
    out = {"events": events, "error": error, "elapsed_s": round(time.perf_counter() - T0, 4)}
    out.update(extra)
    sys.stdout.write("BENCH_RESULT " + json.dumps(out, default=str) + "\n")
    sys.stdout.flush()
