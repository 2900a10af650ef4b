"""The README's Python quick start, run unchanged against a database set up like the demo's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DEMO_WORKLOAD, EXAMPLES, ROOT, Database, wait_until


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
