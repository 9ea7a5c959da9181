"""Query results as plain, comparable values: the same JSON on every store.

The stores' drivers return their own number and collection types; ``plain_rows`` turns
every value into a JSON type (int, float, str, bool, None, list, dict), sorts lists
(``collect()`` order differs between engines), and adds ``<name>_iso`` beside every
epoch-seconds ``*_ts`` column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def iso(ts: int | float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (``2017-07-18T18:29:00Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(v: Any) -> Any:
    """A value as a plain JSON type; lists sorted (mixed types by type name, then text)."""
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Mapping):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        items = [plain(x) for x in v]
        return sorted(items, key=lambda x: (type(x).__name__, str(x)))
    if hasattr(v, "item"):  # numpy scalars
        return plain(v.item())
    if hasattr(v, "items"):  # driver nodes/relationships: their properties
        return {str(k): plain(x) for k, x in v.items()}
    return str(v)


def plain_rows(rows: list[dict[str, Any]], *, add_iso: bool = True) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        row: dict[str, Any] = {}
        for k, v in r.items():
            row[k] = plain(v)
            if add_iso and str(k).endswith("_ts") and isinstance(row[k], int):
                row[f"{k}_iso"] = iso(row[k])
        out.append(row)
    return out


def table_value(key: str, v: Any) -> str:
    """A cell: ``*_ts`` epoch seconds as ISO time, lists comma-separated."""
    if v is None:
        return ""
    if str(key).endswith("_ts") and isinstance(v, int):
        return iso(v) or ""
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return str(v)
