#!/usr/bin/env bash
# Creates .venv with the Python tools the project uses (maturin, pytest, mypy, ruff, and
# kafka-python, the Kafka sink tests' consumer) and builds the pgoutput_decoder extension into
# it. Idempotent; MATURIN_FLAGS=--release for an optimised build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.tools-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q "maturin>=1.16,<2" "pytest>=8" "pytest-asyncio>=0.23" "kafka-python>=2.0" "mypy>=1.10" "ruff>=0.5"
    touch "$stamp"
fi
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop -q ${MATURIN_FLAGS:-}
