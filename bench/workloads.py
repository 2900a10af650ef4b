"""The benchmark workloads.

Each workload has its own table and publication. `prepare()` creates them (and loads any rows
that must exist before the measured changes; that happens before the slots are created, so
those rows are not part of any slot's stream). `run()` performs the measured changes and
returns how many row changes (insert, update, delete events) it committed, summed from the
statements' row counts.

A snapshot workload (`snapshot=True`) writes no changes: `prepare()` loads the rows, and each
contender reads the table as it stands (an initial snapshot, or plain `COPY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

TXN_ROWS = 10_000

# Ten columns of mixed types; the row for number `g` is a deterministic function of `g`.
MIXED_COLUMNS = """
    id          bigint PRIMARY KEY,
    qty         integer NOT NULL,
    amount      bigint NOT NULL,
    label       text NOT NULL,
    price       numeric(12,2) NOT NULL,
    created_at  timestamptz NOT NULL,
    active      boolean NOT NULL,
    attrs       jsonb,
    ref         uuid NOT NULL,
    ratio       double precision
"""

MIXED_ROW = """
    g,
    (g % 1000)::int,
    g * 1000003,
    'item-' || md5(g::text),
    ((g % 1000000) / 100.0)::numeric(12,2),
    timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
    g % 2 = 0,
    jsonb_build_object('k', g, 'tag', 'v' || (g % 17), 'nested', jsonb_build_object('a', g % 3)),
    md5(g::text)::uuid,
    g / 7.0::float8
"""

# Types cycled over the 99 non-key columns of the wide table, with a value expression each
# (k is the column number, so columns differ).
WIDE_TYPES = [
    ("integer", "(g + {k})::int"),
    ("bigint", "g * {k}"),
    ("text", "'c{k}-' || md5((g + {k})::text)"),
    ("numeric(12,2)", "((g % 100000 + {k}) / 100.0)::numeric(12,2)"),
    ("timestamptz", "timestamptz '2024-01-01 00:00:00+00' + (g + {k}) * interval '1 second'"),
    ("boolean", "(g + {k}) % 2 = 0"),
    ("jsonb", "jsonb_build_object('c', {k}, 'g', g)"),
    ("uuid", "md5((g * 100 + {k})::text)::uuid"),
    ("double precision", "(g + {k}) / 3.0::float8"),
    ("date", "date '2024-01-01' + ((g + {k}) % 3650)::int"),
]
WIDE_COLUMNS = 100  # including the key


def _wide_ddl() -> tuple[str, str]:
    cols, exprs = ["id bigint PRIMARY KEY"], ["g"]
    for k in range(1, WIDE_COLUMNS):
        typ, expr = WIDE_TYPES[(k - 1) % len(WIDE_TYPES)]
        cols.append(f"c{k:03d} {typ}")
        exprs.append(expr.format(k=k))
    return ",\n    ".join(cols), ",\n    ".join(exprs)


@dataclass
class Workload:
    key: str
    name: str
    description: str
    base_rows: int
    prepare: Callable  # (cursor, n) -> None
    run: Callable  # (cursor, n) -> events
    snapshot: bool = False  # the rows exist beforehand; contenders read the table

    def rows(self, scale: float) -> int:
        return max(1, round(self.base_rows * scale))

    @property
    def table(self) -> str:
        return f"bench_{self.key}"

    @property
    def publication(self) -> str:
        return f"bench_pub_{self.key}"


def _batched_insert(cur, table: str, row: str, first: int, last: int, batch: int) -> int:
    """INSERT rows first..last, `batch` rows per transaction; returns the rows inserted."""
    total = 0
    start = first
    while start <= last:
        end = min(start + batch - 1, last)
        sql = f"INSERT INTO {table} SELECT {row} FROM generate_series(%s::bigint, %s::bigint) g"
        cur.execute(sql.replace("%", "%%").replace("%%s", "%s"), (start, end))
        total += cur.rowcount
        cur.connection.commit()
        start = end + 1
    return total


# (a) bulk inserts -----------------------------------------------------------------------


def _prep_a(cur, n):
    cur.execute(f"CREATE TABLE bench_a ({MIXED_COLUMNS})")


def _run_a(cur, n):
    return _batched_insert(cur, "bench_a", MIXED_ROW, 1, n, TXN_ROWS)


# (b) updates and deletes under REPLICA IDENTITY FULL ------------------------------------


def _prep_b(cur, n):
    # n = the number of updates; half as many deletes follow. The rows exist beforehand.
    cur.execute(f"CREATE TABLE bench_b ({MIXED_COLUMNS})")
    cur.execute("ALTER TABLE bench_b REPLICA IDENTITY FULL")
    cur.connection.commit()
    _batched_insert(cur, "bench_b", MIXED_ROW, 1, n, 100_000)


def _run_b(cur, n):
    total = 0
    for start in range(1, n + 1, TXN_ROWS):
        end = min(start + TXN_ROWS - 1, n)
        cur.execute(
            "UPDATE bench_b SET qty = qty + 1, price = price + 1, "
            "created_at = created_at + interval '1 day', active = NOT active, "
            "attrs = attrs || '{\"updated\": true}' WHERE id BETWEEN %s AND %s",
            (start, end),
        )
        total += cur.rowcount
        cur.connection.commit()
    deletes = max(1, n // 2)
    for start in range(1, deletes + 1, TXN_ROWS):
        end = min(start + TXN_ROWS - 1, deletes)
        cur.execute("DELETE FROM bench_b WHERE id BETWEEN %s AND %s", (start, end))
        total += cur.rowcount
        cur.connection.commit()
    return total


# (c) one-row transactions ---------------------------------------------------------------


def _prep_c(cur, n):
    cur.execute(f"CREATE TABLE bench_c ({MIXED_COLUMNS})")


def _run_c(cur, n):
    # Server-side loop, one COMMIT per row: n separate transactions without n round trips.
    conn = cur.connection
    conn.commit()
    old = conn.autocommit
    conn.autocommit = True
    try:
        # No parameters, so the % signs of MIXED_ROW are left alone by psycopg2.
        cur.execute(
            f"DO $$ BEGIN FOR i IN 1..{int(n)} LOOP "
            f"INSERT INTO bench_c SELECT {MIXED_ROW} FROM (SELECT i::bigint AS g) s; "
            "COMMIT; END LOOP; END $$"
        )
    finally:
        conn.autocommit = old
    cur.execute("SELECT count(*) FROM bench_c")
    return cur.fetchone()[0]


# (d) one large transaction --------------------------------------------------------------


def _prep_d(cur, n):
    cur.execute(f"CREATE TABLE bench_d ({MIXED_COLUMNS})")


def _run_d(cur, n):
    return _batched_insert(cur, "bench_d", MIXED_ROW, 1, n, n)


# (e) wide rows --------------------------------------------------------------------------


def _prep_e(cur, n):
    cols, _ = _wide_ddl()
    cur.execute(f"CREATE TABLE bench_e ({cols})")


def _run_e(cur, n):
    _, exprs = _wide_ddl()
    return _batched_insert(cur, "bench_e", exprs, 1, n, TXN_ROWS)


# (s) initial snapshot -------------------------------------------------------------------


def _prep_s(cur, n):
    # The rows of workload (a), loaded before anyone reads. VACUUM FREEZE settles the table
    # (hint bits set, visibility map full), so the first reader does not pay for writing
    # them, and ANALYZE gives pg_class.reltuples for the snapshot's progress estimate.
    cur.execute(f"CREATE TABLE bench_s ({MIXED_COLUMNS})")
    cur.connection.commit()
    _batched_insert(cur, "bench_s", MIXED_ROW, 1, n, 100_000)
    conn = cur.connection
    old = conn.autocommit
    conn.autocommit = True
    try:
        cur.execute("VACUUM (FREEZE, ANALYZE) bench_s")
    finally:
        conn.autocommit = old


def _run_s(cur, n):
    return 0  # nothing is written while the contenders read


WORKLOADS = {
    w.key: w
    for w in [
        Workload(
            "a",
            "inserts",
            "1,000,000 inserts into a 10-column mixed-type table, 10,000 rows per transaction",
            1_000_000,
            _prep_a,
            _run_a,
        ),
        Workload(
            "b",
            "update+delete",
            "200,000 updates then 100,000 deletes, REPLICA "
            "IDENTITY FULL, 10,000 rows per transaction",
            200_000,
            _prep_b,
            _run_b,
        ),
        Workload(
            "c", "1-row txns", "100,000 transactions of one insert each", 100_000, _prep_c, _run_c
        ),
        Workload(
            "d", "1 big txn", "one transaction inserting 1,000,000 rows", 1_000_000, _prep_d, _run_d
        ),
        Workload(
            "e",
            "wide rows",
            "100,000 inserts into a 100-column table, 10,000 rows per transaction",
            100_000,
            _prep_e,
            _run_e,
        ),
        Workload(
            "s",
            "snapshot",
            "initial snapshot of 1,000,000 rows of the 10-column table of (a), to /dev/null",
            1_000_000,
            _prep_s,
            _run_s,
            snapshot=True,
        ),
    ]
}


def expected_events(key: str, n: int) -> int:
    """Row changes a workload of size n commits (b: n updates plus n // 2 deletes), or, for
    the snapshot workload, the rows each contender reads."""
    return n + max(1, n // 2) if key == "b" else n
