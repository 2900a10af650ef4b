"""A local tansu broker (Kafka protocol, SQLite storage in a temporary directory) for the
Kafka contender, and the CPU time it spent, so a run can say whether the broker or the client
bounded it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

CACHED = os.path.expanduser("~/.cache/pgoutput-decoder/tansu-0.6/bin/tansu")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def tansu_binary() -> str | None:
    """TANSU_BIN, the cache `make setup` fills, or PATH."""
    for candidate in (os.environ.get("TANSU_BIN"), CACHED, shutil.which("tansu")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Broker:
    def __init__(self) -> None:
        binary = tansu_binary()
        if binary is None:
            raise RuntimeError("no tansu binary (make setup installs it)")
        self.dir = tempfile.mkdtemp(prefix="bench-tansu-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        url = f"tcp://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "tansu.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "sqlite://tansu.db",
            ],
            cwd=self.dir,
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("tansu did not start") from None
                time.sleep(0.05)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cpu_s(self) -> float | None:
        """User + system CPU seconds the broker used so far."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
