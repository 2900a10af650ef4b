#!/usr/bin/env bash
# Runs the reference conformance kit's own runner (run_cases.py and compare.py, kept outside
# this repository, next to it in ../shared/conformance) against the CLI and a
# throwaway PostgreSQL: its cases, its transform-cases, then its initial-snapshot case. The project's own runner
# replays the same cases in `make test`; this checks that the kit's unmodified comparator
# agrees. Skipped when the kit is not there.
#
#   scripts/kit-conformance.sh            # KIT=../shared/conformance, PG_BIN=PostgreSQL 15
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${KIT:-../shared/conformance}
if [ ! -f "$KIT/run_cases.py" ]; then
    echo "kit-conformance: no conformance kit at $KIT; skipped"
    exit 0
fi
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -1)}
cargo build -q -p pgoutput-decoder-cli
BIN_DIR="$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)"

# PostgreSQL refuses to run as root: run the server as `postgres` then.
as_server_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
work=$(mktemp -d)
[ "$(id -u)" = 0 ] && chown postgres "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
    as_server_user "$PG_BIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop EXIT
as_server_user "$PG_BIN/initdb" -D "$work/data" -A trust -U postgres >/dev/null
as_server_user "$PG_BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o \
    "-p $port -c listen_addresses=127.0.0.1 -k $work -c wal_level=logical -c max_wal_senders=20 -c max_replication_slots=20" \
    start >/dev/null
PATH="$BIN_DIR:$PATH" python3 "$KIT/run_cases.py" --dsn "host=127.0.0.1 port=$port user=postgres"
# The kit's single-message-transform cases (ExtractNewRecordState); their expectations are in
# $KIT/expected too.
if compgen -G "$KIT/transform-cases/*/" >/dev/null; then
    PATH="$BIN_DIR:$PATH" python3 "$KIT/run_cases.py" --dsn "host=127.0.0.1 port=$port user=postgres" \
        "$KIT"/transform-cases/*/
fi
# The kit's snapshot cases: the initial snapshot (reads compared as compare.py describes).
# incremental_signal (an incremental snapshot through the signal table) is left out until
# incremental snapshots exist.
if [ -d "$KIT/snapshot-cases/snapshot_initial" ]; then
    PATH="$BIN_DIR:$PATH" python3 "$KIT/run_cases.py" --dsn "host=127.0.0.1 port=$port user=postgres" \
        "$KIT/snapshot-cases/snapshot_initial/"
fi
