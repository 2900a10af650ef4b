"""Testing helpers: throwaway PostgreSQL clusters and Kafka-protocol brokers, no Docker needed.

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

:class:`KafkaBroker` starts a throwaway tansu broker (``bootstrap_servers`` is
``127.0.0.1:PORT``) for :meth:`LogicalReplicationReader.to_kafka`; ``stop()`` and
``restart()`` keep its storage. It needs the ``tansu`` binary (``TANSU_BIN``, or the cache the
project's ``make setup`` fills).
"""

from __future__ import annotations

from ._native import ClusterError, KafkaBroker, PostgresCluster

__all__ = ["ClusterError", "KafkaBroker", "PostgresCluster"]
