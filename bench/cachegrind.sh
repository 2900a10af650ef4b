#!/usr/bin/env bash
# Instruction counts (valgrind's cachegrind) of release CLIs draining ROWS inserts of workload
# (a), each from a slot of its own on one throwaway server: user-space instructions, which a
# busy machine does not disturb (repeatable to about 0.1%), to compare two builds.
#   bench/cachegrind.sh 100000 before=/tmp/old/pgoutput-decoder after=target/release/pgoutput-decoder
# py:LABEL=VENV:SOURCE_TREE measures the Python reader of VENV with that tree's
# bench/contenders/py_api.py. Runs as root (the server runs as postgres); PG_BIN picks the
# server binaries.
set -euo pipefail
ROWS=$1; shift
HERE=${CACHEGRIND_DIR:-/tmp/pgoutput-decoder-cachegrind}
PGBIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGDATA=$HERE/pg
PORT=55447

if [ -d "$PGDATA" ]; then su postgres -c "$PGBIN/pg_ctl -D $PGDATA stop -m immediate" >/dev/null 2>&1 || true; rm -rf "$PGDATA"; fi
mkdir -p "$HERE" "$PGDATA" && chown postgres "$PGDATA"
su postgres -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
# bench/pgserver.py's BENCH_SETTINGS
su postgres -c "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/log -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 \
 -c wal_level=logical -c max_replication_slots=128 -c max_wal_senders=64 -c fsync=off -c full_page_writes=off \
 -c synchronous_commit=on -c shared_buffers=1GB -c max_wal_size=16GB -c min_wal_size=1GB -c checkpoint_timeout=1h \
 -c autovacuum=off -c wal_sender_timeout=300s -c max_connections=200\" start" >/dev/null
PSQL="$PGBIN/psql -h 127.0.0.1 -p $PORT -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq"

# bench/workloads.py: MIXED_COLUMNS, MIXED_ROW, 10,000 rows per transaction
$PSQL -c "CREATE TABLE bench_a (
    id bigint PRIMARY KEY, qty integer NOT NULL, amount bigint NOT NULL, label text NOT NULL,
    price numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, active boolean NOT NULL,
    attrs jsonb, ref uuid NOT NULL, ratio double precision)"
$PSQL -c "CREATE PUBLICATION bench_pub_a FOR TABLE bench_a"
for spec in "$@"; do
    label=${spec#py:}; label=${label%%=*}
    $PSQL -c "SELECT 1 FROM pg_create_logical_replication_slot('s_$label', 'pgoutput')" >/dev/null
done
first=1
while [ "$first" -le "$ROWS" ]; do
    last=$((first + 9999)); [ "$last" -gt "$ROWS" ] && last=$ROWS
    $PSQL -c "INSERT INTO bench_a SELECT g, (g % 1000)::int, g * 1000003, 'item-' || md5(g::text),
      ((g % 1000000) / 100.0)::numeric(12,2), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
      g % 2 = 0, jsonb_build_object('k', g, 'tag', 'v' || (g % 17), 'nested', jsonb_build_object('a', g % 3)),
      md5(g::text)::uuid, g / 7.0::float8 FROM generate_series($first::bigint, $last::bigint) g"
    first=$((last + 1))
done
TARGET=$($PSQL -c "SELECT pg_current_wal_lsn()")
echo "rows=$ROWS target=$TARGET"

for spec in "$@"; do
    case $spec in
    py:*)
        spec=${spec#py:}; label=${spec%%=*}; venv=${spec#*=}; tree=${venv#*:}; venv=${venv%%:*}
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=$HERE/cg.$label.out \
            "$venv/bin/python" "$tree/bench/contenders/py_api.py" --host 127.0.0.1 --port $PORT \
            --user postgres --database postgres --slot "s_$label" --publication bench_pub_a \
            --expected "$ROWS" --idle-timeout 600 >"$HERE/$label.log" 2>&1 ;;
    *)
        label=${spec%%=*}; bin=${spec#*=}
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=$HERE/cg.$label.out \
            "$bin" stream --dsn "postgresql://postgres@127.0.0.1:$PORT/postgres" --slot "s_$label" \
            --publication bench_pub_a --output /dev/null --end-lsn "$TARGET" --format envelope \
            --quiet >"$HERE/$label.log" 2>&1 ;;
    esac
    refs=$(grep -o 'I *refs: *[0-9,]*' "$HERE/$label.log" | tr -dc '0-9')
    result=$(grep -o 'BENCH_RESULT.*' "$HERE/$label.log" | head -c 200 || true)
    confirmed=$($PSQL -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's_$label'")
    printf '%-12s Ir=%15s  per-event=%8.1f  confirmed=%s %s\n' "$label" "$refs" "$(echo "$refs / $ROWS" | bc -l)" "$confirmed" "$result"
done
su postgres -c "$PGBIN/pg_ctl -D $PGDATA stop -m fast" >/dev/null
