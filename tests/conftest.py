"""Fixtures of the Python test suite.

- ``cluster``: one throwaway PostgreSQL cluster for the whole session (``wal_level=logical``,
  trust authentication over TCP).
- ``db``: a fresh database of that cluster per test, with a unique slot and publication name
  (:class:`helpers.Database`). Readers made with ``db.reader(...)`` are stopped, the
  database's slots and the database itself are dropped when the test ends.
- ``replica_cluster`` (``wal_level=replica``) and ``password_cluster`` (the superuser has a
  password, TCP connections use SCRAM): session-scoped, started only by the tests that ask.

PostgreSQL binaries are found like the Rust test suite finds them: ``PG_BIN`` if set, else the
newest ``/usr/lib/postgresql/<major>/bin``, else ``pg_config --bindir``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import CLUSTER_PASSWORD, Database, unique_name
from pgoutput_decoder.testing import PostgresCluster

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    with PostgresCluster() as pg:
        yield pg


@pytest.fixture(scope="session")
def replica_cluster() -> Iterator[Any]:
    with PostgresCluster(settings={"wal_level": "replica"}) as pg:
        yield pg


@pytest.fixture(scope="session")
def password_cluster() -> Iterator[Any]:
    with PostgresCluster(password=CLUSTER_PASSWORD) as pg:
        yield pg


@pytest.fixture
async def db(cluster: Any, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    n = next(_counter)
    name = request.node.name
    database = Database(
        cluster,
        unique_name("db", name, n),
        unique_name("slot", name, n),
        unique_name("pub", name, n),
    )
    cluster.create_database(database.name)
    try:
        yield database
    finally:
        await database.stop_readers()
        database.drop()


@pytest.fixture
async def shop(db: Database) -> Database:
    """``db`` with the e-commerce schema of examples/setup_postgres.sql, a publication for all
    tables and the slot (created after the schema, before any row)."""
    from helpers import SHOP_SCHEMA

    return db.prepare(SHOP_SCHEMA.read_text())
