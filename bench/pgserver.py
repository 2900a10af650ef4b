"""A throwaway PostgreSQL server for the benchmarks.

initdb into a fresh temporary directory, logical replication switched on, durability off,
listening on 127.0.0.1 on a free port. When this process runs as root, the server programs
run as the unprivileged `postgres` user (or BENCH_PG_USER). `stop()` shuts the server down
and deletes the directory; an atexit hook does the same if the caller forgets.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

from typing_extensions import Self

# Settings every benchmark run uses. Durability is off (the disk is not what is measured),
# checkpoints are pushed out of the way, autovacuum is off so it adds no noise, and there are
# enough slots and WAL senders for one slot per contender and repetition.
BENCH_SETTINGS = {
    "wal_level": "logical",
    "max_replication_slots": "128",
    "max_wal_senders": "64",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "on",
    "shared_buffers": "1GB",
    "max_wal_size": "16GB",
    "min_wal_size": "1GB",
    "checkpoint_timeout": "1h",
    "autovacuum": "off",
    "wal_sender_timeout": "300s",
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def find_bin_dir() -> str:
    """PG_BIN, else the newest /usr/lib/postgresql/<major>/bin with initdb."""
    env = os.environ.get("PG_BIN")
    if env:
        return os.path.abspath(env)
    found = []
    for path in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        major = path.split("/")[4]
        with contextlib.suppress(ValueError):
            found.append((float(major), os.path.dirname(path)))
    if not found:
        raise RuntimeError(
            "no PostgreSQL server binaries found: install the postgresql package "
            "or set PG_BIN to a directory holding initdb, pg_ctl and postgres"
        )
    return max(found)[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drop_privileges(user: str):
    info = pwd.getpwnam(user)

    def demote():
        os.setgid(info.pw_gid)
        os.initgroups(user, info.pw_gid)
        os.setuid(info.pw_uid)

    return demote, info


class Server:
    def __init__(self, settings: dict[str, str] | None = None, bin_dir: str | None = None):
        self.bin_dir = bin_dir or find_bin_dir()
        self.settings = dict(BENCH_SETTINGS)
        self.settings.update(settings or {})
        self.base = tempfile.mkdtemp(prefix="pgoutput-bench-")
        self.data = os.path.join(self.base, "data")
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user = "postgres"
        self.database = "postgres"
        self._preexec = None
        self.run_as = None
        if os.geteuid() == 0:
            self.run_as = os.environ.get("BENCH_PG_USER", "postgres")
            self._preexec, info = _drop_privileges(self.run_as)
            os.chown(self.base, info.pw_uid, info.pw_gid)
        self.started = False
        atexit.register(self.stop)

    def bin(self, name: str) -> str:
        path = os.path.join(self.bin_dir, name)
        return path if os.path.exists(path) else shutil.which(name) or name

    def _run(self, args, **kw):
        return subprocess.run(args, preexec_fn=self._preexec, check=True, **kw)

    def start(self) -> Server:
        self._run(
            [
                self.bin("initdb"),
                "-D",
                self.data,
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# pgoutput-decoder benchmark\n")
            f.write(f"port = {self.port}\n")
            f.write(f"unix_socket_directories = '{self.base}'\n")
            for key, value in self.settings.items():
                f.write(f"{key} = {value}\n")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n")
            f.write("host all all 127.0.0.1/32 trust\n")
            f.write("local replication all trust\n")
            f.write("host replication all 127.0.0.1/32 trust\n")
        self._run(
            [
                self.bin("pg_ctl"),
                "-D",
                self.data,
                "-l",
                os.path.join(self.base, "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            self.started = False
            with contextlib.suppress(Exception):
                subprocess.run(
                    [self.bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                    preexec_fn=self._preexec,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=60,
                )
        if os.path.isdir(self.base):
            shutil.rmtree(self.base, ignore_errors=True)

    def postmaster_pid(self) -> int | None:
        """The postmaster's process id (first line of postmaster.pid), None if not running."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(os.path.join(self.base, "server.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # Connection parameters -------------------------------------------------------------

    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}"

    def uri(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def params(self) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user, "database": self.database}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    # Manual check: start, print the DSN, wait for Enter, stop.
    with Server() as server:
        print(server.dsn())
        input("server running; press Enter to stop ")
