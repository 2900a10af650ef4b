"""The live status page (``/`` of ``metrics_addr=``, the same page ``pgoutput-decoder stream
--metrics-addr`` serves) in headless Chromium: it loads, shows the reader's numbers, and they
change while rows are written. Chromium is driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4), so no client library is needed."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import Database, wait_until
from test_monitoring import free_port


def chromium_binary() -> str:
    binary = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: run `make setup` (or set CHROMIUM_BIN)")
        pytest.skip("no chromium (run `make setup`, or set CHROMIUM_BIN)")
    return binary


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol pipe."""

    def __init__(self, binary: str, profile: str) -> None:
        read_end, self._to_chrome = os.pipe()
        self._from_chrome, write_end = os.pipe()
        # Chromium's ends, moved above 4 (so that neither lands on the other's target in
        # wire_pipes) and inheritable; ours stay close-on-exec.
        to_chrome_read = fcntl.fcntl(read_end, fcntl.F_DUPFD, 10)
        from_chrome_write = fcntl.fcntl(write_end, fcntl.F_DUPFD, 10)
        os.close(read_end)
        os.close(write_end)

        def wire_pipes() -> None:  # in the child: Chromium reads fd 3 and writes fd 4
            os.dup2(to_chrome_read, 3)
            os.dup2(from_chrome_write, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            # Kept open: the descriptors made in wire_pipes would be closed after it.
            close_fds=False,
        )
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Sends a command (to the page once attached) and returns its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 65536)
            if not chunk:
                raise AssertionError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture
def browser() -> Iterator[Browser]:
    binary = chromium_binary()
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(binary, profile)
        try:
            yield b
        finally:
            b.close()


PAGE_NUMBERS = """JSON.stringify({
  events: document.getElementById("events").textContent,
  updates: Number(document.getElementById("updates").textContent),
  health: document.getElementById("health").textContent,
  walStatus: document.getElementById("wal-status").textContent,
  tables: document.getElementById("tables").tBodies[0].textContent,
})"""


async def test_the_status_page_loads_and_follows_the_stream(db: Database, browser: Browser) -> None:
    db.prepare("CREATE TABLE t (id int PRIMARY KEY)")
    addr = f"127.0.0.1:{free_port()}"
    reader = db.reader(metrics_addr=addr, slot_status_interval=0.5)
    taken = 0

    async def consume() -> None:
        nonlocal taken
        async for _ in reader:
            taken += 1

    async with reader:
        consumer = asyncio.ensure_future(consume())
        await db.wait_slot_streaming()
        await asyncio.to_thread(browser.open, f"http://{addr}/")

        def numbers() -> dict[str, Any]:
            value: dict[str, Any] = json.loads(browser.evaluate(PAGE_NUMBERS) or "{}")
            return value

        # pg_replication_slots.wal_status exists from PostgreSQL 13; the page shows a dash
        # before.
        wal_status = "reserved" if db.cluster.major_version >= 13 else "\u2013"
        assert await asyncio.to_thread(
            wait_until,
            lambda: numbers().get("health") == "healthy" and numbers()["walStatus"] == wal_status,
            30,
        ), numbers()
        assert numbers()["events"] == "0"

        # Rows written in steps: the page shows each step's total without a reload.
        def shows(total: int) -> bool:
            return bool(numbers()["events"] == str(total))

        seen = []
        for step in range(1, 4):
            first, last = step * 100 - 99, step * 100
            await db.asql(f"INSERT INTO t SELECT g FROM generate_series({first}, {last}) g")
            assert await asyncio.to_thread(wait_until, functools.partial(shows, last), 30), (
                numbers()
            )
            seen.append(numbers())
        assert [s["events"] for s in seen] == ["100", "200", "300"]
        assert seen[-1]["updates"] > seen[0]["updates"]
        assert "public.t300" in seen[-1]["tables"]
        assert taken == 300
        # The throughput chart was drawn from the page's own samples.
        drawn = browser.evaluate(
            "document.getElementById('throughput').toDataURL().length"
            " > document.createElement('canvas').toDataURL().length"
        )
        assert drawn is True
        consumer.cancel()
