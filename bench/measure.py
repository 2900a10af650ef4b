"""Running one contender process and measuring it from the outside.

Wall time is taken around the process (start to exit). CPU time and peak RSS are the kernel's
rusage of the contender process and every descendant it waited for (user + system CPU of the
whole process tree, and ru_maxrss: the largest resident set any single process of it reached),
read through GNU time (`/usr/bin/time`), a small C program that forks and execs the contender.
Taking the rusage directly from this Python process would not do: a child's ru_maxrss starts
from the resident set of the process that forked it, so every contender would appear to be
at least as large as the harness.

A sampler thread also adds up the resident set of the live process tree every SAMPLE_S
seconds (for contenders that run more than one process) and reads the CPU time of the
walsender serving the slot, which tells whether a drain was bound by the server.

Given the postmaster's pid, the CPU time of the whole server during the run is taken too
(before and after, from /proc): the postmaster, its live children, and the children it reaped
meanwhile. A snapshot reads through ordinary backends, which end with their connection, so
sampling them would miss their last moments; the reaped children's time does not.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time

GNU_TIME = "/usr/bin/time"
SAMPLE_S = 0.2
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def children_of(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def tree_of(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children_of(p))
    return seen


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_kb(pid: int, skip_root: bool = False) -> int:
    pids = tree_of(pid)
    return sum(rss_kb(p) for p in (pids[1:] if skip_root else pids))


def proc_cpu_s(pid: int) -> float | None:
    """utime + stime of a process, in seconds (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_cpu_s(postmaster_pid: int) -> tuple[float, int] | None:
    """CPU time of a PostgreSQL server so far, in seconds, and its number of live children.

    The postmaster's own time, the time of its live children (backends, walsenders,
    background processes), and that of the children it has reaped (cutime + cstime).
    """
    try:
        with open(f"/proc/{postmaster_pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK
    children = children_of(postmaster_pid)
    return total + sum(proc_cpu_s(c) or 0.0 for c in children), len(children)


def server_cpu_after(postmaster_pid: int, children_before: int) -> float | None:
    """server_cpu_s once the backends the contender opened have ended (at most 2 s)."""
    deadline = time.monotonic() + 2.0
    while True:
        now = server_cpu_s(postmaster_pid)
        if now is None or now[1] <= children_before or time.monotonic() > deadline:
            return None if now is None else now[0]
        time.sleep(0.02)


class Sampler(threading.Thread):
    """Samples the tree RSS of `pid` and the CPU of the walsender serving `slot`."""

    def __init__(
        self,
        pid: int,
        slot: str | None,
        db_connect,
        interval: float = SAMPLE_S,
        rss_log: list | None = None,
        skip_root: bool = False,
    ):
        super().__init__(daemon=True)
        self.skip_root = skip_root
        self.pid = pid
        self.slot = slot
        self.db_connect = db_connect
        self.interval = interval
        self.stop_event = threading.Event()
        self.peak_tree_kb = 0
        self.walsender_pid = None
        self.walsender_cpu_s = None
        self.rss_log = rss_log
        self.t0 = time.perf_counter()

    def run(self) -> None:
        conn = None
        if self.slot and self.db_connect:
            try:
                conn = self.db_connect()
                conn.autocommit = True
            except Exception:  # noqa: BLE001 (no walsender CPU then, the run goes on)
                conn = None
        try:
            while not self.stop_event.is_set():
                kb = tree_rss_kb(self.pid, self.skip_root)
                self.peak_tree_kb = max(self.peak_tree_kb, kb)
                if self.rss_log is not None and kb:
                    self.rss_log.append((round(time.perf_counter() - self.t0, 2), kb))
                if conn is not None and self.walsender_pid is None:
                    try:
                        with conn.cursor() as cur:
                            cur.execute(
                                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s",
                                (self.slot,),
                            )
                            row = cur.fetchone()
                            if row and row[0]:
                                self.walsender_pid = row[0]
                    except Exception:  # noqa: BLE001 (sampling is best effort)
                        pass
                if self.walsender_pid is not None:
                    cpu = proc_cpu_s(self.walsender_pid)
                    if cpu is not None:
                        self.walsender_cpu_s = cpu
                self.stop_event.wait(self.interval if self.walsender_pid or not conn else 0.05)
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


def run_measured(
    cmd: list[str],
    *,
    slot: str | None = None,
    db_connect=None,
    timeout_s: float = 3600.0,
    env: dict | None = None,
    cwd: str | None = None,
    rss_log: list | None = None,
    sample_s: float = SAMPLE_S,
    stop_after_s: float | None = None,
    server_pid: int | None = None,
) -> dict:
    """Runs cmd to completion (or SIGTERM after stop_after_s, SIGKILL after timeout_s).

    server_pid: the postmaster's pid, to report the server's CPU time during the run."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (read back after the process exits)
    err = tempfile.TemporaryFile()  # noqa: SIM115
    rusage_file = None
    if os.access(GNU_TIME, os.X_OK):
        fd, rusage_file = tempfile.mkstemp(prefix="bench-rusage-")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "RUSAGE %e %U %S %M", "-o", rusage_file, *cmd]
    server_before = server_cpu_s(server_pid) if server_pid else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
    # With GNU time in front, the root of the tree is GNU time itself: not counted.
    sampler = Sampler(proc.pid, slot, db_connect, sample_s, rss_log, bool(rusage_file))
    sampler.start()
    killed = {"why": None}

    def killer():
        if stop_after_s is not None:
            if done.wait(stop_after_s):
                return
            killed["why"] = "stopped (SIGTERM) at the end of the run"
            # Only the contender itself (GNU time must live on to report its rusage).
            for pid in children_of(proc.pid) if rusage_file else [proc.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            if done.wait(max(0.0, timeout_s - stop_after_s)):
                return
        elif done.wait(timeout_s):
            return
        killed["why"] = f"killed after the {timeout_s:.0f} s time limit"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    done = threading.Event()
    threading.Thread(target=killer, daemon=True).start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    server_cpu = None
    if server_before is not None and server_pid:
        after = server_cpu_after(server_pid, server_before[1])
        server_cpu = None if after is None else after - server_before[0]
    # Anything left in the session (a grandchild that was not waited for) is ended now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode(errors="replace")
    stderr = err.read().decode(errors="replace")
    result = None
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            with contextlib.suppress(ValueError):
                result = json.loads(line[len("BENCH_RESULT ") :])
    user, system, maxrss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss
    rusage_source = "wait4 (ru_maxrss includes the harness's size)"
    if rusage_file:
        try:
            with open(rusage_file) as f:
                for line in f:
                    if line.startswith("RUSAGE "):
                        _, _e, u, s_, m = line.split()
                        user, system, maxrss = float(u), float(s_), int(m)
                        rusage_source = "GNU time"
        except (OSError, ValueError):
            pass
        os.unlink(rusage_file)
    return {
        "exit_code": proc.returncode,
        "wall_s": wall,
        "user_s": user,
        "sys_s": system,
        "cpu_s": user + system,
        "maxrss_kb": maxrss,
        "rusage_source": rusage_source,
        "tree_rss_peak_kb": sampler.peak_tree_kb,
        "walsender_cpu_s": sampler.walsender_cpu_s,
        "server_cpu_s": server_cpu,
        "result": result,
        "stdout_tail": stdout[-2000:],
        "stderr_tail": stderr[-4000:],
        "killed": killed["why"],
    }
