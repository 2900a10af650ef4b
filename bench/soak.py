"""Memory soak: the CLI and the Python API on a continuous insert stream.

One throwaway PostgreSQL, one table, one slot per consumer. A writer inserts SOAK_RATE rows
per second (SOAK_BATCH rows per transaction) for SOAK_SECONDS; the CLI (`stream` to
/dev/null) and the Python API (`async for`, touching `message.after`) consume it at the same
time. The resident set of each consumer's process tree is sampled every SOAK_SAMPLE_S
seconds. Memory counts as flat when the largest sample of the last third of the run is within
SOAK_TOLERANCE (default 10%) of the largest sample of the first third.

Environment: SOAK_SECONDS (600), SOAK_RATE (2000 rows/s), SOAK_BATCH (100), SOAK_SAMPLE_S (2),
SOAK_TOLERANCE (0.10), BENCH_RESULTS_DIR (bench/results), PG_BIN, PGOUTPUT_DECODER_BIN.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import measure  # noqa: E402
import psycopg2  # noqa: E402
import run as bench  # noqa: E402
from pgserver import Server  # noqa: E402
from workloads import MIXED_COLUMNS, MIXED_ROW  # noqa: E402


def writer(server: Server, rate: int, batch: int, until: float, stats: dict) -> None:
    conn = psycopg2.connect(server.dsn())
    cur = conn.cursor()
    sql = f"INSERT INTO soak SELECT {MIXED_ROW} FROM generate_series(%s::bigint, %s::bigint) g"
    sql = sql.replace("%", "%%").replace("%%s", "%s")
    next_id = 1
    t0 = time.monotonic()
    while time.monotonic() < until:
        cur.execute(sql, (next_id, next_id + batch - 1))
        conn.commit()
        next_id += batch
        stats["rows"] = next_id - 1
        # Pace to the target rate.
        ahead = (next_id - 1) / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(min(ahead, max(0.0, until - time.monotonic())))
    conn.close()


def flat_verdict(samples: list, seconds: float, tolerance: float) -> dict:
    if len(samples) < 6:
        return {"flat": None, "text": "too few samples"}
    first = [kb for t, kb in samples if t <= seconds / 3]
    last = [kb for t, kb in samples if t >= seconds * 2 / 3]
    if not first or not last:
        return {"flat": None, "text": "too few samples"}
    fmax, lmax = max(first) / 1024, max(last) / 1024
    flat = lmax <= fmax * (1 + tolerance)
    growth = (lmax / fmax - 1) * 100
    text = (
        f"{'FLAT' if flat else 'NOT FLAT'}: first third max {fmax:.1f} MB, last third max "
        f"{lmax:.1f} MB ({growth:+.1f}%, limit +{tolerance * 100:.0f}%)"
    )
    return {
        "flat": flat,
        "first_third_max_mb": fmax,
        "last_third_max_mb": lmax,
        "growth_pct": growth,
        "text": text,
    }


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    rate = int(os.environ.get("SOAK_RATE", "2000"))
    batch = int(os.environ.get("SOAK_BATCH", "100"))
    sample_s = float(os.environ.get("SOAK_SAMPLE_S", "2"))
    tolerance = float(os.environ.get("SOAK_TOLERANCE", "0.10"))
    results_dir = os.environ.get("BENCH_RESULTS_DIR", os.path.join(HERE, "results"))

    server = Server()
    consumers = [c for c in bench.CONTENDERS if c.key in ("cli", "py_async")]
    bench.check_availability(consumers, server.bin_dir)
    started = dt.datetime.now()
    print(
        f"soak: {seconds:.0f} s, {rate} rows/s in {batch}-row transactions, RSS sampled every "
        f"{sample_s:g} s"
    )
    out = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": seconds,
        "rate": rate,
        "batch": batch,
        "sample_s": sample_s,
        "tolerance": tolerance,
        "machine": bench.machine_info(),
        "git": bench.git_info(),
        "consumers": {},
    }
    server.start()
    try:
        conn = psycopg2.connect(server.dsn())
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE soak ({MIXED_COLUMNS})")
        cur.execute("CREATE PUBLICATION soak_pub FOR TABLE soak")
        conn.commit()
        for c in consumers:
            if not c.unavailable:
                cur.execute(
                    "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (f"soak_{c.key}",)
                )
                conn.commit()

        stats = {"rows": 0}
        results = {}
        threads = []
        t_start = time.monotonic()
        until = t_start + seconds
        wt = threading.Thread(target=writer, args=(server, rate, batch, until, stats), daemon=True)
        wt.start()

        def consume(c):
            slot = f"soak_{c.key}"
            if c.key == "cli":
                cmd = [
                    bench.cli_binary(),
                    "stream",
                    "--dsn",
                    server.uri(),
                    "--slot",
                    slot,
                    "--publication",
                    "soak_pub",
                    "--output",
                    "/dev/null",
                    "--format",
                    "envelope",
                    "--quiet",
                ]
            else:
                cmd = [
                    bench.PY,
                    os.path.join(bench.CONTENDER_DIR, "py_api.py"),
                    "--host",
                    server.host,
                    "--port",
                    str(server.port),
                    "--user",
                    server.user,
                    "--database",
                    server.database,
                    "--slot",
                    slot,
                    "--publication",
                    "soak_pub",
                    "--expected",
                    "0",
                    "--seconds",
                    str(seconds),
                ]
            log: list = []
            m = measure.run_measured(
                cmd,
                slot=slot,
                db_connect=lambda: psycopg2.connect(server.dsn()),
                rss_log=log,
                sample_s=sample_s,
                # The CLI runs until told to stop; the Python consumer stops itself.
                stop_after_s=seconds if c.key == "cli" else seconds + 5,
                timeout_s=seconds + 60,
            )
            results[c.key] = (m, log)

        for c in consumers:
            if c.unavailable:
                continue
            t = threading.Thread(target=consume, args=(c,), daemon=True)
            t.start()
            threads.append(t)
        last_report = 0.0
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            el = time.monotonic() - t_start
            if el - last_report >= 30:
                last_report = el
                cur.execute(
                    "SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), "
                    "confirmed_flush_lsn) FROM pg_replication_slots ORDER BY 1"
                )
                lags = ", ".join(f"{s}: lag {int(b or 0) / 1e6:.1f} MB" for s, b in cur.fetchall())
                conn.commit()
                print(f"  {el:5.0f} s  {stats['rows']:,} rows written; {lags}")
        wt.join(10)
        cur.execute(
            "SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), "
            "confirmed_flush_lsn) FROM pg_replication_slots"
        )
        final_lag = {s: int(b or 0) for s, b in cur.fetchall()}
        conn.commit()
        conn.close()
    finally:
        server.stop()

    out["rows_written"] = stats["rows"]
    print(f"\nrows written: {stats['rows']:,} in {seconds:.0f} s")
    for c in consumers:
        if c.unavailable:
            out["consumers"][c.key] = {
                "label": c.label,
                "status": "not available",
                "error": c.unavailable,
            }
            print(f"  {c.label:<22} NOT AVAILABLE: {c.unavailable}")
            continue
        m, log = results[c.key]
        verdict = flat_verdict(log, seconds, tolerance)
        res = m["result"] or {}
        events = res.get("events")
        out["consumers"][c.key] = {
            "label": c.label,
            "status": "ok",
            "verdict": verdict,
            "events": events,
            "cpu_s": m["cpu_s"],
            "maxrss_mb": m["maxrss_kb"] / 1024,
            "exit_code": m["exit_code"],
            "error": res.get("error"),
            "final_slot_lag_bytes": final_lag.get(f"soak_{c.key}"),
            "rss_samples": [(t, round(kb / 1024, 2)) for t, kb in log],
            "stderr_tail": m["stderr_tail"][-1000:] or None,
        }
        ev = f", {events:,} events" if events is not None else ""
        if m["exit_code"] != 0:
            first = next((ln for ln in m["stderr_tail"].splitlines() if ln.strip()), "")
            ev += f"; WARNING: exit code {m['exit_code']} {first[:200]}"
        print(
            f"  {c.label:<22} {verdict['text']}; peak RSS {m['maxrss_kb'] / 1024:.1f} MB, "
            f"CPU {m['cpu_s']:.1f} s{ev}, slot lag at the end "
            f"{(final_lag.get(f'soak_{c.key}') or 0) / 1e6:.2f} MB"
        )
    os.makedirs(results_dir, exist_ok=True)
    stem = os.path.join(results_dir, f"soak-{started.strftime('%Y-%m-%d')}")
    path, n = stem + ".json", 2
    while os.path.exists(path):
        path, n = f"{stem}-{n}.json", n + 1
    with open(path, "w") as f:
        json.dump(out, f, indent=2, default=str)
    try:
        chart(out, path[:-5] + ".png")
        print(f"\nwrote {os.path.relpath(path)} and {os.path.relpath(path[:-5] + '.png')}")
    except Exception as e:  # noqa: BLE001
        print(f"\nwrote {os.path.relpath(path)}; chart failed: {e}")
    verdicts = [
        c.get("verdict", {}).get("flat") for c in out["consumers"].values() if c["status"] == "ok"
    ]
    return 0 if verdicts and all(v is True for v in verdicts) else 1


def chart(out, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for _key, c in out["consumers"].items():
        if c["status"] == "ok" and c["rss_samples"]:
            ts, mbs = zip(*c["rss_samples"])
            v = c["verdict"]
            tag = "flat" if v.get("flat") else "NOT flat" if v.get("flat") is False else "?"
            if v.get("growth_pct") is not None:
                tag += f", {v['growth_pct']:+.1f}%"
            ax.plot(ts, mbs, label=f"{c['label']} ({tag})")
    for x in (out["seconds"] / 3, out["seconds"] * 2 / 3):
        ax.axvline(x, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("seconds")
    ax.set_ylabel("resident set (MB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"soak {out['started'][:10]}: {out['rate']} rows/s for {out['seconds']:.0f} s")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
