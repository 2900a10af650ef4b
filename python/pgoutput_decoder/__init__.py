"""Stream a PostgreSQL logical replication slot (pgoutput) as Debezium-compatible events.

.. code-block:: python

    import pgoutput_decoder

    async with pgoutput_decoder.LogicalReplicationReader(
        publication_name="shop_pub", slot_name="shop_slot",
        host="localhost", database="shop", user="cdc", password="secret",
        create_slot=True, create_publication=True,
    ) as reader:
        async for message in reader:
            print(message.op, message.table, message.after)

Decoding, value conversion and Debezium JSON are done in Rust; messages reach Python in
batches, and the asyncio event loop never blocks on I/O. See ``_native.pyi`` (or
``help(pgoutput_decoder.LogicalReplicationReader)``) for the full API, and the README for the
delivery guarantee.

Logging goes to the standard :mod:`logging` logger ``"pgoutput_decoder"`` (INFO and above
always reach it; DEBUG only while it is enabled for DEBUG).

For tests and examples, :mod:`pgoutput_decoder.testing` starts throwaway PostgreSQL clusters.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from . import _native
from ._native import (
    SOURCE_VERSION,
    AuthenticationError,
    ConfigurationError,
    ConnectionError,
    DecodingError,
    PublicationNotFoundError,
    ReaderStats,
    ReplicationError,
    ReplicationMessage,
    SlotNotFoundError,
    debezium_records,
    message_to_debezium_json,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__version__: str = _native.__version__

__all__ = [
    "SOURCE_VERSION",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionError",
    "DecodingError",
    "LogicalReplicationReader",
    "PublicationNotFoundError",
    "ReaderStats",
    "ReplicationError",
    "ReplicationMessage",
    "SlotNotFoundError",
    "__version__",
    "debezium_records",
    "format_operation",
    "get_table_name",
    "message_to_debezium_json",
    "message_to_dict",
]

#: An LSN as an int or in PostgreSQL's ``"X/Y"`` text form.
LsnLike = Union[int, str]


class LogicalReplicationReader(_native.LogicalReplicationReader):
    """Reads a logical replication slot and yields :class:`ReplicationMessage` objects.

    Use it as an async iterator (``async for message in reader``), optionally inside
    ``async with`` (connects on enter, stops on exit), or synchronously with
    :meth:`iter_sync`. Without ``async with`` the reader connects on the first iteration.

    Acknowledgement (what the server may forget; see the README):

    - ``auto_acknowledge=True``: a message is acknowledged when the next one is requested,
      i.e. once the loop body that handled it has finished. The last message handed out
      before the loop is left (``break``, an exception, or ``stop()`` from another task) is
      *not* acknowledged and is delivered again by the next reader of the slot; call
      ``await reader.acknowledge()`` before stopping to confirm it too. When the loop ends
      because the stream ended, the last message was acknowledged by that final request.
    - ``auto_acknowledge=False``: nothing is confirmed until :meth:`acknowledge`.
    """

    __slots__ = ()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ReplicationMessage:
        # Already received messages are handed out without awaiting anything; the Rust
        # future is awaited only when the buffer is empty, and then brings a whole batch.
        message = self._pop()
        while message is None:
            if not await self._fill():
                raise StopAsyncIteration
            message = self._pop()
        return message

    def iter_sync(self) -> Iterator[ReplicationMessage]:
        """Iterates synchronously (for scripts): connects if needed, blocks while waiting
        (without holding the GIL; Ctrl-C interrupts within about 0.1 s), and ends when the
        reader is stopped. Acknowledgement works as for ``async for``."""
        pop = self._pop
        fill = self._fill_sync
        while True:
            message = pop()
            if message is None:
                if not fill():
                    return
                continue
            yield message

    async def acknowledge(self, lsn: LsnLike | None = None) -> None:
        """Confirms messages to the server (at the next status update, and when stopping).

        Without ``lsn``: every message handed out so far. With ``lsn`` (an int, or ``"X/Y"``):
        every transaction whose commit ended at or before that WAL position (including
        received messages not handed out yet). A message's own ``lsn`` is the position of the
        change, before its commit: to confirm up to a message, use ``message.acknowledge()``.
        Raises ReplicationError after :meth:`stop` (the final position was already sent).
        """
        self._acknowledge(lsn)

    def acknowledge_sync(self, lsn: LsnLike | None = None) -> None:
        """Synchronous :meth:`acknowledge`."""
        self._acknowledge(lsn)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        self.connect_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()


_OPERATIONS = {
    "c": "INSERT",
    "u": "UPDATE",
    "d": "DELETE",
    "r": "READ",
    "t": "TRUNCATE",
    "m": "MESSAGE",
}


def format_operation(op: str) -> str:
    """``"c"`` -> ``"INSERT"``, ``"u"`` -> ``"UPDATE"``, ``"d"`` -> ``"DELETE"``,
    ``"r"`` -> ``"READ"``, ``"t"`` -> ``"TRUNCATE"``, ``"m"`` -> ``"MESSAGE"``.

    Raises ValueError for anything else.
    """
    try:
        return _OPERATIONS[op]
    except (KeyError, TypeError):
        allowed = ", ".join(_OPERATIONS)
        raise ValueError(f"unknown operation {op!r}; expected one of {allowed}") from None


def get_table_name(message: ReplicationMessage) -> str | None:
    """``"schema.table"`` of a change event; None for logical decoding messages and
    transaction events, which belong to no table."""
    return message.table


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def message_to_dict(message: ReplicationMessage) -> dict[str, Any]:
    """A plain dict of the message's Python view (fresh dicts, safe to modify).

    Change events: ``before``, ``after``, ``source``, ``transaction``, ``op``, ``ts_ms``,
    ``ts_us``, ``ts_ns`` (Debezium's value fields, in its order), then ``key``, ``topic``,
    ``table`` and ``lsn``. Logical decoding messages have ``message`` (prefix, content)
    instead of ``before``/``after``. Transaction events are the transaction dict (status,
    id, event_count, data_collections, ts_ms) plus ``key``, ``topic`` and ``lsn``.

    Values are Python objects (``Decimal``, ``bytes``, ...), not their Debezium JSON
    encoding; use :func:`message_to_debezium_json` for that.
    """
    if message.kind == "transaction":
        out = dict(message.transaction or {})
    elif message.kind == "message":
        out = {
            "op": message.op,
            "ts_ms": message.ts_ms,
            "source": _copy(message.source),
            "transaction": _copy(message.transaction),
            "message": _copy(message.message),
        }
    else:
        out = {
            "before": _copy(message.before),
            "after": _copy(message.after),
            "source": _copy(message.source),
            "transaction": _copy(message.transaction),
            "op": message.op,
            "ts_ms": message.ts_ms,
            "ts_us": message.ts_us,
            "ts_ns": message.ts_ns,
            "table": message.table,
        }
    out["key"] = _copy(message.key)
    out["topic"] = message.topic
    out["lsn"] = message.lsn
    return out
