"""Compares change events with what the real Debezium connector emitted, with the same rules
as the project's Rust comparator (crates/pgoutput-decoder-cli/tests/support/compare.rs).

Both sides are lists of ``{"topic", "key", "value"}`` records; values are Debezium JSON with
schemas disabled. Compared:

- order and count of events; tombstones (``value`` null) are dropped on both sides (the
  Python iterator does not yield them);
- the topic without its prefix (``<prefix>.<schema>.<table>`` -> ``<schema>.<table>``);
- key, op, before, after, message exactly (numbers by value, so ``1`` equals ``1.0``, but a
  boolean never equals a number);
- source: db, schema, table, snapshot exactly; lsn and txId must be integers; events that
  share a txId in the expected file share one in the actual events;
- transaction metadata events: status, event_count, data_collections (in any order); the
  transaction block of data events: total_order, data_collection_order;
- ignored: ts_ms/ts_us/ts_ns, source.version/connector/name/sequence/xmin/origin*;
- with schemas (``JsonConverter``'s ``schemas.enable=true``: a key or value that is
  ``{"schema": ..., "payload": ...}``): the schema exactly (field order included, numbers by
  value), then the payload by the rules above.

One deviation is accepted: in ``before`` of a delete or update, Debezium invents type
defaults (``""``, ``0``, ``false``, the epoch, ...) for NOT NULL columns that the WAL did
not carry; ``null`` is accepted there too, and in the key of a delete (the Python view's
``key`` never invents a value: under ``REPLICA IDENTITY USING INDEX`` the WAL may not carry
the primary key of a deleted row). ``ignore`` leaves columns out of before/after on both
sides.

``compare`` returns human-readable differences; an empty list means "matches Debezium".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: Values Debezium invents for NOT NULL columns missing from the old row of an update or
#: delete; in ``before``, ``None`` is accepted instead of one of these.
STRING_DEFAULTS = frozenset(
    ["", "AA==", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z", "00:00:00Z"]
)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file, tombstones dropped."""
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: not a JSON object")
        if record.get("value") is None:
            continue
        out.append(record)
    return out


def json_eq(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``), a boolean never equals a number,
    objects regardless of key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_eq(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    return bool(a == b)


def is_integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_invented_default(v: Any) -> bool:
    """Like ``v in ("", 0, 0.0, False, "AA==", ...)``: any zero number and false count."""
    if isinstance(v, str):
        return v in STRING_DEFAULTS
    if isinstance(v, bool):
        return v is False
    if isinstance(v, (int, float)):
        return v == 0
    return False


def topic_tail(topic: Any) -> Any:
    if isinstance(topic, str) and "." in topic:
        return topic.split(".", 1)[1]
    return topic


def quote(v: Any, limit: int = 200) -> str:
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _field(v: Any, name: str) -> Any:
    return v.get(name) if isinstance(v, dict) else None


def _cmp_row(
    where: str,
    exp: Any,
    act: Any,
    lenient: bool,
    ignore: Iterable[str],
    errs: list[str],
) -> None:
    ignored = set(ignore)

    def strip(v: Any) -> Any:
        return {k: x for k, x in v.items() if k not in ignored} if isinstance(v, dict) else v

    def accepted(e: Any, a: Any) -> bool:
        # The documented deviation: null where Debezium invented a type default.
        return lenient and a is None and is_invented_default(e)

    exp, act = strip(exp), strip(act)
    if exp is None or act is None:
        if not json_eq(exp, act):
            errs.append(f"{where}: expected {quote(exp)}, got {quote(act)}")
        return
    if not isinstance(exp, dict) or not isinstance(act, dict):
        errs.append(f"{where}: expected {quote(exp)}, got {quote(act)}")
        return
    for col in sorted(set(exp) | set(act)):
        if col not in act:
            errs.append(f"{where}.{col}: missing (expected {quote(exp[col])})")
        elif col not in exp:
            errs.append(f"{where}.{col}: unexpected column (value {quote(act[col])})")
        elif not (json_eq(exp[col], act[col]) or accepted(exp[col], act[col])):
            errs.append(f"{where}.{col}: expected {quote(exp[col])}, got {quote(act[col])}")


def _collections(v: Any) -> list[str]:
    items = _field(v, "data_collections")
    if isinstance(items, list):
        return sorted(json.dumps(i, sort_keys=True) for i in items)
    return [json.dumps(items, sort_keys=True)] if items else []


def compare(
    expected: Sequence[dict[str, Any]],
    actual: Sequence[dict[str, Any]],
    ignore: Sequence[str] = (),
) -> list[str]:
    """Differences between expected and actual records (see the module documentation)."""
    errs: list[str] = []
    exp = [r for r in expected if r.get("value") is not None]
    act = [r for r in actual if r.get("value") is not None]
    if len(exp) != len(act):
        errs.append(f"event count: expected {len(exp)}, got {len(act)}")
    tx_map: dict[str, Any] = {}
    for i, (e, a) in enumerate(zip(exp, act), 1):
        _compare_event(f"event {i}", e, a, ignore, tx_map, errs)
    return errs


def is_wrapped(v: Any) -> bool:
    """Whether a key or value is a ``JsonConverter`` wrapper with its schema."""
    return isinstance(v, dict) and set(v) == {"schema", "payload"}


def _unwrap_schema(w: str, what: str, e: Any, a: Any, errs: list[str]) -> tuple[Any, Any]:
    if not is_wrapped(e):
        if is_wrapped(a):
            errs.append(f"{w}: {what} has a schema, Debezium's has none")
            return e, a["payload"]
        return e, a
    if not is_wrapped(a):
        errs.append(f'{w}: {what} expected {{"schema", "payload"}}, got {quote(a)}')
        return e["payload"], a
    if not json_eq(e["schema"], a["schema"]):
        errs.append(
            f"{w}: {what}.schema expected {quote(e['schema'], 2000)}, "
            f"got {quote(a['schema'], 2000)}"
        )
    return e["payload"], a["payload"]


def _compare_event(
    w: str,
    e: dict[str, Any],
    a: dict[str, Any],
    ignore: Sequence[str],
    tx_map: dict[str, Any],
    errs: list[str],
) -> None:
    e, a = dict(e), dict(a)
    for what in ("key", "value"):
        e[what], a[what] = _unwrap_schema(w, what, e.get(what), a.get(what), errs)
    if not json_eq(topic_tail(e.get("topic")), topic_tail(a.get("topic"))):
        errs.append(f"{w}: topic expected *.{topic_tail(e.get('topic'))}, got {a.get('topic')}")
    ev, av = e["value"], a["value"]
    is_tx = isinstance(ev, dict) and "status" in ev
    is_delete = isinstance(ev, dict) and ev.get("op") == "d"
    if not is_tx and not json_eq(e.get("key"), a.get("key")):
        key_errs: list[str] = []
        if is_delete and isinstance(e.get("key"), dict) and isinstance(a.get("key"), dict):
            _cmp_row(f"{w}.key", e["key"], a["key"], True, (), key_errs)
        else:
            key_errs.append(f"{w}: key expected {quote(e.get('key'))}, got {quote(a.get('key'))}")
        errs.extend(key_errs)
    if not isinstance(ev, dict) or not isinstance(av, dict):
        errs.append(f"{w}: value expected {quote(ev)}, got {quote(av)} (not an object)")
        return
    if is_tx:
        for f in ("status", "event_count"):
            if not json_eq(ev.get(f), av.get(f)):
                errs.append(f"{w}: {f} expected {ev.get(f)}, got {av.get(f)}")
        if _collections(ev) != _collections(av):
            errs.append(
                f"{w}: data_collections expected {quote(ev.get('data_collections'))}, "
                f"got {quote(av.get('data_collections'))}"
            )
        return

    op = ev.get("op")
    if not json_eq(op, av.get("op")):
        errs.append(f"{w}: op expected {op}, got {av.get('op')}")
        return
    es = ev.get("source") or {}
    as_ = av.get("source") or {}
    if op == "m":
        if not json_eq(ev.get("message"), av.get("message")):
            errs.append(
                f"{w}: message expected {quote(ev.get('message'))}, got {quote(av.get('message'))}"
            )
    else:
        for f in ("db", "schema", "table", "snapshot"):
            if not json_eq(es.get(f), as_.get(f)):
                errs.append(f"{w}: source.{f} expected {quote(es.get(f))}, got {quote(as_.get(f))}")
        if not is_integer(as_.get("lsn")):
            errs.append(f"{w}: source.lsn must be an integer, got {quote(as_.get('lsn'))}")
        etx, atx = es.get("txId"), as_.get("txId")
        if etx is not None:
            if not is_integer(atx):
                errs.append(f"{w}: source.txId must be an integer, got {quote(atx)}")
            else:
                mapped = tx_map.setdefault(json.dumps(etx), atx)
                if mapped != atx:
                    errs.append(
                        f"{w}: source.txId groups events differently from Debezium (expected "
                        f"txId {etx} was mapped to {mapped} before, got {atx})"
                    )
        lenient = op in ("d", "u")
        _cmp_row(f"{w}.after", ev.get("after"), av.get("after"), False, ignore, errs)
        _cmp_row(f"{w}.before", ev.get("before"), av.get("before"), lenient, ignore, errs)

    et, at = ev.get("transaction"), av.get("transaction")
    if (et is None) != (at is None):
        errs.append(f"{w}: transaction expected {quote(et)}, got {quote(at)}")
    elif isinstance(et, dict) and isinstance(at, dict):
        for f in ("total_order", "data_collection_order"):
            if not json_eq(et.get(f), at.get(f)):
                errs.append(f"{w}: transaction.{f} expected {et.get(f)}, got {at.get(f)}")
    elif et:
        errs.append(f"{w}: transaction expected {quote(et)}, got {quote(at)} (not an object)")
