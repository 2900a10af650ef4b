"""A plain pure-Python pgoutput (protocol 1, text format) parser producing dicts.

This is deliberately what a Python developer would write by hand on top of psycopg2's raw
replication messages: struct-unpack the message, keep the relation (table) descriptions, and
turn each insert/update/delete into a dict with `before`/`after` dicts of column name to the
text value PostgreSQL sent (None for NULL; unchanged TOAST values are left out).
"""

from __future__ import annotations

import struct

_I16 = struct.Struct("!h").unpack_from
_I32 = struct.Struct("!i").unpack_from
_U32 = struct.Struct("!I").unpack_from
_BEGIN = struct.Struct("!qqI").unpack_from
_COMMIT = struct.Struct("!bqqq").unpack_from


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode(), end + 1


class Parser:
    def __init__(self) -> None:
        self.relations: dict[int, tuple[str, str, list[str]]] = {}
        self.xid = None
        self.final_lsn = None

    def _tuple(self, buf: bytes, pos: int, names: list[str]) -> tuple[dict, int]:
        (ncols,) = _I16(buf, pos)
        pos += 2
        row = {}
        for i in range(ncols):
            kind = buf[pos]
            pos += 1
            if kind == 0x74 or kind == 0x62:  # 't' text, 'b' binary
                (length,) = _I32(buf, pos)
                pos += 4
                value = buf[pos : pos + length]
                pos += length
                row[names[i]] = value.decode() if kind == 0x74 else value
            elif kind == 0x6E:  # 'n' null
                row[names[i]] = None
            # 'u': unchanged TOAST value, not sent
        return row, pos

    def parse(self, buf: bytes):
        """Returns a change dict for I/U/D, else None (and updates state)."""
        tag = buf[0]
        if tag == 0x49:  # 'I'
            (relid,) = _U32(buf, 1)
            schema, table, names = self.relations[relid]
            after, _ = self._tuple(buf, 6, names)  # skip 'N'
            return {
                "op": "c",
                "schema": schema,
                "table": table,
                "xid": self.xid,
                "before": None,
                "after": after,
            }
        if tag == 0x55:  # 'U'
            (relid,) = _U32(buf, 1)
            schema, table, names = self.relations[relid]
            pos = 5
            before = None
            if buf[pos] in (0x4B, 0x4F):  # 'K' key or 'O' old tuple
                before, pos = self._tuple(buf, pos + 1, names)
            after, _ = self._tuple(buf, pos + 1, names)  # skip 'N'
            return {
                "op": "u",
                "schema": schema,
                "table": table,
                "xid": self.xid,
                "before": before,
                "after": after,
            }
        if tag == 0x44:  # 'D'
            (relid,) = _U32(buf, 1)
            schema, table, names = self.relations[relid]
            before, _ = self._tuple(buf, 6, names)
            return {
                "op": "d",
                "schema": schema,
                "table": table,
                "xid": self.xid,
                "before": before,
                "after": None,
            }
        if tag == 0x42:  # 'B'
            self.final_lsn, _ts, self.xid = _BEGIN(buf, 1)
            return None
        if tag == 0x43:  # 'C'
            return None
        if tag == 0x52:  # 'R'
            (relid,) = _U32(buf, 1)
            schema, pos = _cstring(buf, 5)
            table, pos = _cstring(buf, pos)
            pos += 1  # replica identity
            (ncols,) = _I16(buf, pos)
            pos += 2
            names = []
            for _ in range(ncols):
                pos += 1  # flags
                name, pos = _cstring(buf, pos)
                pos += 8  # type oid, type modifier
                names.append(name)
            self.relations[relid] = (schema, table, names)
            return None
        # 'Y' type, 'O' origin, 'T' truncate, 'M' message: nothing to count here
        return None
