"""What the README shows, run as a user runs it: the Python quick start (against a database set
up like the demo's, and against `pgoutput-decoder demo --keep` itself, twice), and the
"Setting up PostgreSQL" SQL with the CLI example as the non-superuser role it creates."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

import pgoutput_decoder
from helpers import DEMO_WORKLOAD, EXAMPLES, ROOT, Database, wait_until
from pgoutput_decoder.testing import PostgresCluster


def quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has no Python code block"
    return str(blocks[0])


def test_readme_quickstart_is_the_example_file() -> None:
    text = (EXAMPLES / "quickstart.py").read_text()
    assert quickstart().strip() in text


def test_readme_quickstart_runs_against_the_demo_database(db: Database) -> None:
    # What `pgoutput-decoder demo` sets up: the e-commerce schema and publication demo_pub.
    db.sql((EXAMPLES / "setup_postgres.sql").read_text())
    db.sql("CREATE PUBLICATION demo_pub FOR ALL TABLES")
    url = f"postgresql://{db.cluster.user}@{db.cluster.host}:{db.cluster.port}/{db.name}"
    proc = subprocess.Popen(
        [sys.executable, "-c", quickstart()],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The slot exists (and the reader streams) before the workload runs.
        assert wait_until(
            lambda: (
                db.scalar(
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'quickstart_slot' "
                    "AND active AND confirmed_flush_lsn IS NOT NULL",
                    db="postgres",
                )
                == "1"
            ),
            timeout=30,
        ), "the quick start never started streaming"
        db.sql(DEMO_WORKLOAD.read_text())
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        db.sql(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = 'quickstart_slot' AND NOT active",
            db="postgres",
        )
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "INSERT public.customers {'id': 1}"
    assert lines[-2] == "DELETE public.inventory_log {'id': 2}"
    assert len(lines) == 30  # 15 changes, two lines each


# ----- the CLI binary -----


@pytest.fixture(scope="module")
def cli_binary() -> Path:
    """The debug build of `pgoutput-decoder` (built here if needed; cargo does nothing when it
    is up to date), or the binary named by ``PGOUTPUT_DECODER_BIN``."""
    override = os.environ.get("PGOUTPUT_DECODER_BIN")
    if override:
        return Path(override)
    cargo = os.environ.get("CARGO", "cargo")
    subprocess.run(
        [cargo, "build", "--quiet", "-p", "pgoutput-decoder-cli"],
        cwd=ROOT,
        check=True,
        timeout=1800,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "debug" / "pgoutput-decoder"
    assert binary.is_file(), binary
    return binary


class LineReader:
    """Reads a pipe's lines on a thread, so that a test can wait for one with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self._queue.put(line.rstrip("\n"))
        except (OSError, ValueError):  # closed by the test
            pass
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if match := re.search(pattern, line):
                    return match
            left = deadline - time.monotonic()
            got: str | None
            try:
                got = self._queue.get(timeout=max(left, 0.01))
            except queue.Empty:
                got = None
            if got is None and (left <= 0 or self._queue.empty()):
                joined = "\n".join(self.lines)
                raise AssertionError(f"no line matching {pattern!r}:\n{joined}")
            if got is not None:
                self.lines.append(got)

    def drain(self, timeout: float = 5) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
        return "\n".join(self.lines)


# ----- the quick start against `pgoutput-decoder demo --keep` -----


def run_quickstart(url: str) -> list[tuple[str, str]]:
    """Runs the README's quick start; returns its output as (summary, row) line pairs."""
    result = subprocess.run(
        [sys.executable, "-c", quickstart()],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines, "the quick start printed nothing"
    assert len(lines) % 2 == 0, lines
    pairs = list(zip(lines[::2], lines[1::2]))
    # It stops after the first delete.
    deletes = [i for i, (summary, _) in enumerate(pairs) if summary.startswith("DELETE ")]
    assert deletes == [len(pairs) - 1], lines
    return pairs


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_readme_quickstart_twice_against_demo_keep(cli_binary: Path) -> None:
    """The flow the README describes: `pgoutput-decoder demo --keep` in one terminal, the quick
    start in another (its slot does not exist yet: the demo's workload keeps running); a
    second run starts after the delete the first one stopped at; Ctrl-C removes the cluster."""
    with subprocess.Popen(
        [str(cli_binary), "demo", "--keep"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as demo:
        try:
            assert demo.stderr is not None
            err = LineReader(demo.stderr)
            data_dir = Path(err.wait_for(r"data in (\S+)\)", timeout=120)[1])
            url = err.wait_for(r"export DATABASE_URL=(\S+)", timeout=120)[1]
            match = re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:(\d+)/shop", url)
            assert match, url
            port = int(match[1])

            first = run_quickstart(url)
            assert first[-1][0].startswith("DELETE public.orders "), first
            second = run_quickstart(url)
            assert second[-1][0].startswith("DELETE public.orders "), second
            # Nothing of the first run comes again: it acknowledged up to its delete.
            assert not set(first) & set(second), (first, second)
            assert second[-1] != first[-1]

            demo.send_signal(signal.SIGINT)
            assert demo.wait(timeout=60) == 0, err.drain()
            assert "Stopping PostgreSQL and removing its data directory." in err.drain()
            assert not data_dir.exists(), data_dir
            assert not data_dir.parent.exists(), data_dir.parent
            assert not port_open(port)
        finally:
            if demo.poll() is None:
                demo.send_signal(signal.SIGINT)
                try:
                    demo.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    demo.kill()
                    demo.wait()


# ----- "Setting up PostgreSQL" and the CLI example, as the non-superuser role -----


def readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def setup_sql_blocks() -> list[str]:
    """The SQL blocks of "Setting up PostgreSQL", dedented."""
    section = readme_section("Setting up PostgreSQL")
    blocks = re.findall(r"^( *)```sql\n(.*?)^\1```", section, flags=re.S | re.M)
    return [textwrap.dedent(body) for _, body in blocks]


def cli_example_properties(host: str, port: int, **changes: str) -> str:
    """The README's CLI example configuration, pointed at ``host:port``."""
    section = readme_section("The command-line tool")
    (text,) = re.findall(r"```properties\n(.*?)```", section, flags=re.S)
    props = dict(line.split("=", 1) for line in text.splitlines() if line.strip())
    assert props["database.hostname"] == "localhost"
    assert props["database.port"] == "5432"
    props.update({"database.hostname": host, "database.port": str(port), **changes})
    return "".join(f"{key}={value}\n" for key, value in props.items())


@pytest.fixture(scope="module")
def readme_cluster() -> Iterator[Any]:
    """A cluster with password (SCRAM) authentication over TCP, the README's setup SQL run
    as the README says (the role as a superuser, the publication as the tables' owner, who
    created the e-commerce schema in database shop)."""
    with PostgresCluster(password="superuser-Secret-1") as pg:
        pg.psql("postgres", "CREATE ROLE shop_owner LOGIN")
        pg.psql("postgres", "CREATE DATABASE shop OWNER shop_owner")
        pg.psql("shop", "SET ROLE shop_owner;\n" + (EXAMPLES / "setup_postgres.sql").read_text())
        blocks = setup_sql_blocks()
        owner_blocks = [b for b in blocks if b.startswith("-- as the owner of the tables")]
        assert len(owner_blocks) == 1, blocks
        assert any(b.startswith("-- as a superuser") and "CREATE ROLE cdc" in b for b in blocks), (
            blocks
        )
        for block in blocks:
            if block in owner_blocks:
                pg.psql("shop", "SET ROLE shop_owner;\n" + block)
            else:
                pg.psql("shop", block)
        yield pg


def run_cli_stream(
    binary: Path, config: str, workdir: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    path = workdir / "connector.properties"
    path.write_text(config)
    return subprocess.run(
        [str(binary), "stream", "--config", str(path), "--output", str(workdir / "out.jsonl")],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_readme_setup_sql_and_cli_example_as_the_cdc_role(
    readme_cluster: Any, cli_binary: Path
) -> None:
    pg = readme_cluster
    # The role is what the README creates: no superuser, no SELECT, no CREATE on the database.
    assert (
        pg.psql(
            "shop",
            "SELECT rolsuper, rolreplication, "
            "has_table_privilege('cdc', 'public.orders', 'SELECT'), "
            "has_database_privilege('cdc', 'shop', 'CREATE') FROM pg_roles WHERE rolname = 'cdc'",
        )
        == "f|t|f|f"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "connector.properties").write_text(cli_example_properties(pg.host, pg.port))
        out = workdir / "out.jsonl"
        with open(workdir / "stderr.txt", "w") as stderr:
            cli = subprocess.Popen(
                [
                    str(cli_binary),
                    "stream",
                    "--config",
                    str(workdir / "connector.properties"),
                    "--output",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            try:
                assert wait_until(
                    lambda: (
                        (
                            cli.poll() is None
                            and pg.psql(
                                "postgres",
                                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                                "'shop_slot' AND active AND confirmed_flush_lsn IS NOT NULL",
                            )
                            == "1"
                        )
                        or cli.poll() is not None
                    ),
                    timeout=60,
                )
                assert cli.poll() is None, (workdir / "stderr.txt").read_text()
                pg.psql(
                    "shop",
                    "SET ROLE shop_owner; INSERT INTO customers (email, full_name) "
                    "VALUES ('readme@example.com', 'Read Me')",
                )
                assert wait_until(
                    lambda: out.exists() and "readme@example.com" in out.read_text(), timeout=30
                ), (workdir / "stderr.txt").read_text()
                cli.send_signal(signal.SIGTERM)
                assert cli.wait(timeout=30) == 0, (workdir / "stderr.txt").read_text()
            finally:
                if cli.poll() is None:
                    cli.kill()
                    cli.wait()
        records = [line for line in out.read_text().splitlines() if "readme@example.com" in line]
        assert len(records) == 1
        record = json.loads(records[0])
        assert record["topic"] == "shop.public.customers"
        # The primary key comes from the catalog (pg_index), read without SELECT on the table.
        assert list(record["key"]) == ["id"], record
        assert record["value"]["after"]["email"] == "readme@example.com"


def test_publication_permission_error_says_what_the_mode_needs(
    readme_cluster: Any, cli_binary: Path
) -> None:
    pg = readme_cluster
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)

        def error_of(mode: str) -> str:
            config = cli_example_properties(
                pg.host,
                pg.port,
                **{
                    "publication.name": f"{mode}_pub",
                    "slot.name": f"{mode}_slot",
                    "publication.autocreate.mode": mode,
                },
            )
            result = run_cli_stream(cli_binary, config, workdir)
            assert result.returncode != 0, result.stderr
            assert "permission denied" in result.stderr, result.stderr
            return result.stderr

        # filtered, without CREATE on the database: never "use ...=filtered" (it is set).
        err = error_of("filtered")
        assert "publication.autocreate.mode=filtered)" in err, err
        assert "use publication.autocreate.mode=filtered" not in err, err
        assert 'role "cdc" lacks CREATE on database "shop"' in err, err
        assert 'GRANT CREATE ON DATABASE "shop" TO "cdc";' in err, err
        assert "set publication.autocreate.mode=disabled" in err, err

        # filtered, with CREATE but not owning the tables.
        pg.psql("postgres", "GRANT CREATE ON DATABASE shop TO cdc")
        try:
            err = error_of("filtered")
            assert "GRANT CREATE" not in err, err
            assert "lacks ownership of the published tables" in err, err
            assert "customers, orders" in err, err
        finally:
            pg.psql("postgres", "REVOKE CREATE ON DATABASE shop FROM cdc")

        # all_tables: a superuser.
        err = error_of("all_tables")
        assert "needs a superuser" in err, err
        assert "set publication.autocreate.mode=disabled" in err, err


# ----- "Server shutdown and unacknowledged messages" -----


async def test_fast_shutdown_waits_while_a_message_is_unacknowledged() -> None:
    """What the Delivery section says: a fast shutdown waits while the consumer holds an
    unacknowledged message, and goes through once the next message is requested (which
    acknowledges it with auto_acknowledge=True)."""
    with PostgresCluster() as pg:
        pg.psql(
            "postgres", "CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION p FOR ALL TABLES"
        )
        reader = pgoutput_decoder.LogicalReplicationReader(
            publication_name="p",
            slot_name="s",
            dsn=pg.dsn(),
            create_slot=True,
            reconnect=False,
            status_interval=0.2,
        )
        messages = reader.__aiter__()
        first = asyncio.ensure_future(messages.__anext__())
        assert await asyncio.to_thread(
            wait_until,
            lambda: (
                pg.psql(
                    "postgres",
                    "SELECT count(*) FROM pg_replication_slots WHERE active "
                    "AND confirmed_flush_lsn IS NOT NULL",
                )
                == "1"
            ),
            30,
        )
        pg.psql("postgres", "INSERT INTO t VALUES (1)")
        message = await asyncio.wait_for(first, 30)
        assert message.after == {"id": 1}

        stopping = asyncio.ensure_future(asyncio.to_thread(pg.stop, "fast"))
        await asyncio.sleep(3)
        assert not stopping.done(), "the shutdown did not wait"
        waiting = pg.is_running  # (not asserted on the attribute: mypy would narrow it)
        assert waiting

        started = time.monotonic()
        following = asyncio.ensure_future(messages.__anext__())
        await asyncio.wait_for(stopping, 30)
        assert not pg.is_running
        assert time.monotonic() - started < 10
        # The server went away: the reader (reconnect=False) ends with a connection error.
        with pytest.raises(pgoutput_decoder.ConnectionError):
            await asyncio.wait_for(following, 30)
        await reader.stop()


def complete_programs() -> list[tuple[str, int, str]]:
    """The Python code blocks of the README and the Python API reference that are complete
    programs (they start with their imports), as (file, block number, code)."""
    programs = []
    for name in ("README.md", "docs/python-api.md"):
        blocks = re.findall(r"```python\n(.*?)```", (ROOT / name).read_text(), flags=re.S)
        for number, block in enumerate(blocks):
            if block.lstrip().startswith(("import ", "from ")):
                programs.append((name, number, str(block)))
    return programs


def test_the_documented_programs_pass_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    programs = complete_programs()
    names = {name for name, _, _ in programs}
    assert names == {"README.md", "docs/python-api.md"}, "no complete program found"
    files = []
    for name, number, code in programs:
        path = tmp_path / f"{name.replace('/', '_').replace('.', '_')}_{number}.py"
        path.write_text(code)
        files.append(str(path))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
