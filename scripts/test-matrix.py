#!/usr/bin/env python3
"""The compatibility matrix: the test suites on every supported PostgreSQL and CPython.

    scripts/test-matrix.py                     # make test-matrix: everything
    scripts/test-matrix.py --smoke             # what CI runs (a few minutes)
    scripts/test-matrix.py --postgres 12,18 --python 3.9

Full run: for each PostgreSQL major version, the Rust integration suites (every
`crates/*/tests/*.rs`) and the Python suite, with the server binaries chosen by `PG_BIN`; then
the Python suite on each CPython version against the default PostgreSQL. Smoke run: the
version tests of `crates/pgoutput-decoder/tests/versions.rs` (connect, stream, acknowledge,
restart and resume, an initial snapshot; each feature where the server has it, its refusal where
it does not) on PostgreSQL 12 and 18, and the Python smoke tests (with an initial snapshot) on
CPython 3.9 and 3.13.

PostgreSQL 15 comes from /usr/lib/postgresql/15 when installed; the other versions from
scripts/fetch-postgres.sh, which keeps them in a cache outside the checkout. The CPython
interpreters are pyenv's (`pyenv root`/versions/<version>*); the abi3 wheel is built once with
maturin and installed into a virtual environment per interpreter (target/matrix/venv-<version>).

A test counts as skipped when the suite skipped it (pytest) or when it printed a line starting
with `SKIPPED` (the Rust tests of a feature the server under test does not have). The summary
table goes to standard output and to target/matrix/summary.md; the exit status is 1 when a
test failed or a suite could not run.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "matrix"
POSTGRES = ["12", "13", "14", "15", "16", "17", "18"]
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
SMOKE_POSTGRES = ["12", "18"]
SMOKE_PYTHONS = ["3.9", "3.13"]
#: The interpreter that runs the Python suite on each PostgreSQL version.
PG_PYTHON = "3.11"
#: The server the CPython runs use (the project's default).
PY_POSTGRES = "15"
#: What the Python smoke runs take: the basics, an initial snapshot and the version checks.
PYTHON_SMOKE_TESTS = [
    "tests/test_smoke.py",
    "tests/test_snapshot.py::test_initial_reads_existing_rows_then_streams",
    "tests/test_versions.py",
]
#: The suite's own tools (pyproject's `test` extra); mypy for the tests that type-check the
#: examples and the README.
TEST_DEPENDENCIES = ["pytest>=8", "pytest-asyncio>=0.23", "kafka-python>=2.0", "mypy>=1.10"]


@dataclass
class Row:
    """One line of the summary."""

    suite: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    note: str = ""


def log(text: str) -> None:
    print(f"test-matrix: {text}", file=sys.stderr, flush=True)


def run(argv: list[str], env: dict[str, str] | None = None, log_file: Path | None = None) -> int:
    """Runs a command from the repository root, at low priority: the matrix is long and
    shares the machine."""
    log("$ " + " ".join(argv))
    command = ["nice", "-n", "10", *argv]
    full_env = {**os.environ, **(env or {})}
    if log_file is None:
        return subprocess.call(command, cwd=ROOT, env=full_env)
    with log_file.open("w") as out:
        return subprocess.call(
            command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )


def postgres_bin(major: str) -> Path:
    system = Path(f"/usr/lib/postgresql/{major}/bin")
    if (system / "postgres").exists():
        return system
    out = subprocess.run(
        [str(ROOT / "scripts" / "fetch-postgres.sh"), major],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def python_interpreter(version: str) -> Path:
    """pyenv's newest CPython `version` (3.9 -> .../versions/3.9.18/bin/python3)."""
    root = (
        os.environ.get("PYENV_ROOT")
        or subprocess.run(
            ["pyenv", "root"], check=True, stdout=subprocess.PIPE, text=True
        ).stdout.strip()
    )
    found = [
        Path(p)
        for p in glob.glob(f"{root}/versions/{version}.*/bin/python{version}")
        if Path(p).name == f"python{version}"
    ]
    if not found:
        raise RuntimeError(f"pyenv has no CPython {version} (pyenv install {version})")
    return max(found, key=lambda p: [int(x) for x in p.parent.parent.name.split(".")])


def printed(case: ET.Element, marker: str | None) -> bool:
    """Whether a test case's captured output has a line starting with `marker`."""
    return marker is not None and any(
        line.lstrip().startswith(marker)
        for tag in ("system-out", "system-err")
        for element in case.iter(tag)
        for line in (element.text or "").splitlines()
    )


def count_junit(path: Path, skip_marker: str | None) -> tuple[int, int, int]:
    """(passed, failed, skipped) of a JUnit report. With `skip_marker`, a passed test whose
    captured output has a line starting with it counts as skipped."""
    passed = failed = skipped = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or printed(case, skip_marker):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def rust_suites(major: str, bin_dir: Path, smoke: bool) -> Row:
    row = Row(f"PostgreSQL {major}: Rust {'versions.rs' if smoke else 'integration suites'}")
    junit = ROOT / "target" / "nextest" / "matrix" / "junit.xml"
    junit.unlink(missing_ok=True)
    selection = "binary(versions)" if smoke else "kind(test)"
    started = time.monotonic()
    code = run(
        [
            "cargo",
            "nextest",
            "run",
            "--workspace",
            "--profile",
            "matrix",
            "--no-fail-fast",
            "-E",
            selection,
        ],
        env={"PG_BIN": str(bin_dir)},
        log_file=OUT / f"rust-pg{major}.log",
    )
    row.seconds = time.monotonic() - started
    if not junit.exists():
        row.failed, row.note = 1, f"no report (exit {code}): see target/matrix/rust-pg{major}.log"
        return row
    shutil.copy(junit, OUT / f"rust-pg{major}.xml")
    row.passed, row.failed, row.skipped = count_junit(junit, "SKIPPED")
    if code != 0 and row.failed == 0:
        row.failed, row.note = 1, f"exit {code}: see target/matrix/rust-pg{major}.log"
    return row


def build_wheel() -> Path:
    """The abi3 wheel, built once for every interpreter."""
    wheels = OUT / "wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    maturin = shutil.which("maturin") or str(ROOT / ".venv" / "bin" / "maturin")
    if not Path(maturin).exists():
        raise RuntimeError("maturin is missing: run make python-dev (or pip install maturin)")
    code = run([maturin, "build", "--quiet", "--out", str(wheels)])
    built = sorted(wheels.glob("pgoutput_decoder-*-abi3-*.whl"))
    if code != 0 or not built:
        raise RuntimeError(f"maturin build failed (exit {code})")
    return built[-1]


def venv(version: str, wheel: Path) -> Path:
    """A virtual environment of CPython `version` with the wheel and the test tools."""
    path = OUT / f"venv-{version}"
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([str(python_interpreter(version)), "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *TEST_DEPENDENCIES], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(wheel)],
        check=True,
    )
    return python


def python_suite(label: str, python: Path, bin_dir: Path, tests: list[str], name: str) -> Row:
    row = Row(label)
    junit = OUT / f"{name}.xml"
    junit.unlink(missing_ok=True)
    started = time.monotonic()
    pytest = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    code = run(
        [*pytest, *tests],
        env={"PG_BIN": str(bin_dir)},
        log_file=OUT / f"{name}.log",
    )
    row.seconds = time.monotonic() - started
    if not junit.exists():
        row.failed, row.note = 1, f"no report (exit {code}): see target/matrix/{name}.log"
        return row
    row.passed, row.failed, row.skipped = count_junit(junit, None)
    if code != 0 and row.failed == 0:
        row.failed, row.note = 1, f"exit {code}: see target/matrix/{name}.log"
    return row


def table(rows: list[Row]) -> str:
    lines = [
        "| suite | passed | failed | skipped | minutes |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        note = f" ({r.note})" if r.note else ""
        lines.append(
            f"| {r.suite}{note} | {r.passed} | {r.failed} | {r.skipped} | {r.seconds / 60:.1f} |"
        )
    return "\n".join(lines)


def versions(text: str, allowed: list[str], what: str) -> list[str]:
    chosen = [v.strip() for v in text.split(",") if v.strip()]
    for v in chosen:
        if v not in allowed:
            raise SystemExit(f"test-matrix: {what} {v} is not one of {', '.join(allowed)}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="CI's small matrix")
    parser.add_argument("--postgres", help="comma-separated major versions (none: empty)")
    parser.add_argument("--python", help="comma-separated CPython versions (none: empty)")
    args = parser.parse_args()
    pg_versions = versions(
        args.postgres
        if args.postgres is not None
        else ",".join(SMOKE_POSTGRES if args.smoke else POSTGRES),
        POSTGRES,
        "PostgreSQL",
    )
    py_versions = versions(
        args.python
        if args.python is not None
        else ",".join(SMOKE_PYTHONS if args.smoke else PYTHONS),
        PYTHONS,
        "CPython",
    )
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # The Python suite runs on every PostgreSQL in the full matrix, on none in the smoke one.
    wheel = build_wheel() if py_versions or (pg_versions and not args.smoke) else None
    bins = {major: postgres_bin(major) for major in {*pg_versions, PY_POSTGRES}}

    def rust_lane() -> list[Row]:
        rows = []
        for major in pg_versions:
            rows.append(rust_suites(major, bins[major], args.smoke))
            print(table(rows[-1:]), flush=True)
        return rows

    def python_lane() -> list[Row]:
        rows: list[Row] = []
        if wheel is None:
            return rows
        if not args.smoke:
            python = venv(PG_PYTHON, wheel)
            for major in pg_versions:
                rows.append(
                    python_suite(
                        f"PostgreSQL {major}: Python suite (CPython {PG_PYTHON})",
                        python,
                        bins[major],
                        [],
                        f"python-pg{major}",
                    )
                )
                print(table(rows[-1:]), flush=True)
        tests = PYTHON_SMOKE_TESTS if args.smoke else []
        kind = "smoke tests" if args.smoke else "Python suite"
        for version in py_versions:
            label = f"CPython {version}: {kind} (PostgreSQL {PY_POSTGRES})"
            if not args.smoke and version == PG_PYTHON and PY_POSTGRES in pg_versions:
                # The same run as the PostgreSQL row above: not done twice.
                same = next(r for r in rows if r.suite.startswith(f"PostgreSQL {PY_POSTGRES}:"))
                copy = Row(label, same.passed, same.failed, same.skipped, note="the run above")
                rows.append(copy)
                continue
            rows.append(
                python_suite(
                    label, venv(version, wheel), bins[PY_POSTGRES], tests, f"python-{version}"
                )
            )
            print(table(rows[-1:]), flush=True)
        return rows

    # Most of a suite's time is spent waiting (servers starting, timeouts, sleeps), so the
    # Rust suites run one after the other and the Python suites beside them.
    with ThreadPoolExecutor(max_workers=2) as lanes:
        rust, python = lanes.submit(rust_lane), lanes.submit(python_lane)
        rust_rows, python_rows = rust.result(), python.result()
    # Each PostgreSQL version's Rust and Python rows together, then the CPython rows.
    rows = []
    for major in pg_versions:
        rows += [r for r in rust_rows + python_rows if r.suite.startswith(f"PostgreSQL {major}:")]
    rows += [r for r in python_rows if r.suite.startswith("CPython")]

    summary = table(rows)
    minutes = (time.monotonic() - started) / 60
    failed = sum(r.failed for r in rows)
    text = (
        f"{'Smoke matrix' if args.smoke else 'Compatibility matrix'}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {minutes:.0f} minutes\n\n"
        f"{summary}\n"
    )
    (OUT / ("smoke-summary.md" if args.smoke else "summary.md")).write_text(text)
    print("\n" + text)
    print("result: " + ("FAILED" if failed else "all passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as e:
        sys.exit(f"test-matrix: error: {e}")
