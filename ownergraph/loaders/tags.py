"""Service tags: who is known to control a Bitcoin address (exchanges, wallet services,
payment processors), with the source and confidence of each attribution.

Two formats, one table (``TAG_COLUMNS``):

- GraphSense TagPack YAML: header fields (``title``, ``creator``, ``currency``,
  ``label``, ``category``, ``source``, ``confidence``, ``is_cluster_definer``, ``actor``)
  are defaults that each entry of ``tags`` may override. ``confidence`` is a GraphSense
  level name (``ownership``, ``service_data``, ``web_crawl``, ...), read as the level's
  score / 100; ``is_cluster_definer`` means the tag names the whole wallet (cluster) of
  the address, not only the address.
- CSV ``address,label,category,source,confidence`` (confidence a number in 0..1 or a
  level name; optional ``actor``, ``cluster_definer``).

Every row is loaded or quarantined with its reason: a tag for another currency than BTC,
a missing address or label, an unknown confidence level, an address that is not Bitcoin.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ownergraph.loaders.quarantine import InputError, Quarantine

TAG_COLUMNS = (
    "address",
    "label",
    "category",
    "actor",
    "source",
    "confidence",
    "confidence_level",
    "cluster_definer",
    "pack",
)
# GraphSense's confidence levels (tagpack-tool confidence.csv): score out of 100
CONFIDENCE_LEVELS = {
    "override": 100,
    "ownership": 100,
    "manual_transaction": 90,
    "service_api": 70,
    "authority_data": 60,
    "trusted_provider": 50,
    "service_data": 50,
    "forensic": 50,
    "untrusted_transaction": 40,
    "web_crawl": 20,
    "heuristic": 10,
    "unknown": 5,
}
_B58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_BECH32 = set("qpzry9x8gf2tvdw0s3jn54khce6mua7l")


class TagError(InputError):
    """A tag file that cannot be read at all (names the file and the reason)."""


def _is_btc_address(a: str) -> bool:
    if a[:1] in ("1", "3") and 26 <= len(a) <= 35:
        return set(a) <= _B58
    low = a.lower()
    return low.startswith("bc1") and 14 <= len(low) <= 90 and set(low[3:]) <= _BECH32


def _confidence(value: Any) -> tuple[float, str]:
    """``(score in 0..1, level name or "")`` from a level name or a number."""
    if isinstance(value, str) and value.strip() in CONFIDENCE_LEVELS:
        return CONFIDENCE_LEVELS[value.strip()] / 100, value.strip()
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"confidence {value!r} is neither a level name nor a number") from None
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"confidence {x} is outside 0..1")
    return x, ""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1", "yes"):
        return True
    if str(value).strip().lower() in ("", "false", "0", "no", "none"):
        return False
    raise ValueError(f"cluster_definer {value!r} is not a boolean")


def _row(entry: dict[str, Any], pack: str) -> dict[str, Any]:
    address = str(entry.get("address") or "").strip()
    if not address:
        raise ValueError("no address")
    currency = str(entry.get("currency") or "BTC").strip().upper()
    if currency != "BTC":
        raise ValueError(f"currency {currency} is not BTC")
    if not _is_btc_address(address):
        raise ValueError("address is not a Bitcoin address")
    label = str(entry.get("label") or "").strip()
    if not label:
        raise ValueError("no label")
    score, level = _confidence(entry.get("confidence", "unknown"))
    return {
        "address": address,
        "label": label,
        "category": str(entry.get("category") or "").strip() or None,
        "actor": str(entry.get("actor") or "").strip() or None,
        "source": str(entry.get("source") or "").strip() or None,
        "confidence": score,
        "confidence_level": level or None,
        "cluster_definer": _bool(entry.get("is_cluster_definer", False)),
        "pack": pack,
    }


def read_tagpack(path: str | Path, q: Quarantine) -> list[dict[str, Any]]:
    """Rows of one GraphSense TagPack (header fields are the defaults of each tag)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TagError(str(path), None, f"not a readable YAML TagPack: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tags"), list):
        raise TagError(str(path), None, "not a TagPack: no list of tags")
    header = {k: v for k, v in doc.items() if k != "tags"}
    pack = str(header.get("title") or path.stem)
    out = []
    for i, tag in enumerate(doc["tags"], start=1):
        try:
            if not isinstance(tag, dict):
                raise ValueError("tag is not a mapping")
            out.append(_row({**header, **tag}, pack))
        except ValueError as exc:
            q.add(str(path), f"tag {i}", tag, str(exc))
    return out


def read_tag_csv(path: str | Path, q: Quarantine) -> list[dict[str, Any]]:
    """Rows of a CSV ``address,label,category,source,confidence[,actor,cluster_definer]``."""
    path = Path(path)
    out = []
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"address", "label", "confidence"} - set(reader.fieldnames or [])
            if missing:
                raise TagError(str(path), "line 1", f"missing columns {sorted(missing)}")
            for lineno, rec in enumerate(reader, start=2):
                try:
                    if None in rec:
                        raise ValueError("more fields than the header")
                    rec = {**rec, "is_cluster_definer": rec.get("cluster_definer", "")}
                    out.append(_row(rec, path.name))
                except ValueError as exc:
                    q.add(str(path), f"line {lineno}", rec, str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        raise TagError(str(path), None, f"cannot read: {exc}") from None
    return out


def read_tags(paths: list[str | Path], q: Quarantine | None = None) -> pd.DataFrame:
    """All tags of the given files (``.yaml``/``.yml`` TagPacks, else CSV)."""
    q = q if q is not None else Quarantine()
    rows: list[dict[str, Any]] = []
    for p in paths:
        suffix = Path(p).suffix.lower()
        rows += read_tagpack(p, q) if suffix in (".yaml", ".yml") else read_tag_csv(p, q)
    return pd.DataFrame(rows, columns=list(TAG_COLUMNS))
