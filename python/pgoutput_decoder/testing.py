"""Testing helpers: throwaway PostgreSQL clusters, no Docker needed.

.. code-block:: python

    from pgoutput_decoder.testing import PostgresCluster

    with PostgresCluster() as pg:            # initdb + start, wal_level=logical, free port
        pg.create_database("shop")
        pg.psql("shop", "CREATE TABLE t (id int PRIMARY KEY)")
        reader = pgoutput_decoder.LogicalReplicationReader(
            "shop_pub", "shop_slot", host=pg.host, port=pg.port, database="shop",
            user=pg.user, create_slot=True, create_publication=True,
        )
    # the server is stopped and its directory deleted here

The server binaries come from ``bin_dir=``, else ``PG_BIN``, else the newest
``/usr/lib/postgresql/<major>/bin``, else ``pg_config --bindir``. When running as root the
server runs as an unprivileged user (``postgres`` if it exists). Meant for tests, examples and
demos, not for data you want to keep.
"""

from __future__ import annotations

from ._native import ClusterError, PostgresCluster

__all__ = ["ClusterError", "PostgresCluster"]
