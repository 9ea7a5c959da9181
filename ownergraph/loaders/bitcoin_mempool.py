"""Mempool first-seen times: a CSV log ``txid,first_seen`` and ``getrawmempool true`` snapshots.

The CSV is what a ZMQ ``rawtx`` listener records (epoch seconds, integer). A snapshot is
the JSON result of ``getrawmempool true`` (``{txid: {"time": epoch, ...}}``, optionally
inside the RPC envelope). A transaction's first-seen time is the earliest over every
file given (and, when joined with the chain, the block time). Bad rows are quarantined
with file, line/txid and reason; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ownergraph.loaders.bitcoin_batch import BitcoinFormatError, check_txid, reject
from ownergraph.loaders.quarantine import Quarantine


@dataclass
class FirstSeen:
    """Earliest first-seen time per txid, and how many rows were read / rejected."""

    times: pd.Series  # index txid (string), values Int64 epoch seconds
    rows_read: int = 0
    rows_quarantined: int = 0


def _ts(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} is not an integer epoch time")
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise ValueError(f"{what} {value!r} is not an integer epoch time")
        value = int(value)
    if not isinstance(value, int) or value < 1231006505:  # genesis block time
        raise ValueError(f"{what} {value!r} is not an epoch time after the genesis block")
    return value


def _read_csv(path: Path, q: Quarantine, ids: list, ts: list) -> tuple[int, int]:
    read = bad = 0
    source = str(path)
    # undecodable bytes become lone surrogates: such a row fails the txid/time checks and
    # is quarantined (a bad header is an error naming the file)
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.DictReader(fh)
        missing = {"txid", "first_seen"} - set(reader.fieldnames or [])
        if missing:
            raise BitcoinFormatError(source, "header", f"missing columns {sorted(missing)}")
        for row in reader:
            read += 1
            try:
                if None in row or None in row.values():
                    raise ValueError("wrong number of fields")
                tid = check_txid(row["txid"].strip())
                t = _ts(row["first_seen"], "first_seen")
            except ValueError as exc:
                bad += 1
                where = f"line {reader.line_num}"
                reject(q, BitcoinFormatError(source, where, str(exc)), _printable(row))
                continue
            ids.append(tid)
            ts.append(t)
    return read, bad


def _printable(row: dict) -> dict:
    """A CSV row with undecodable bytes shown as backslash escapes (for the quarantine)."""

    def fix(v: object) -> object:
        if isinstance(v, str):
            return v.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

    return {fix(k): fix(v) for k, v in row.items()}


def _read_snapshot(path: Path, q: Quarantine, ids: list, ts: list) -> tuple[int, int]:
    source = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BitcoinFormatError(source, "file", f"malformed JSON: {exc}") from None
    if isinstance(data, dict) and "result" in data and ("error" in data or "id" in data):
        if data.get("error"):
            raise BitcoinFormatError(source, "file", f"RPC error: {data['error']}")
        data = data["result"]
    if not isinstance(data, dict):
        raise BitcoinFormatError(
            source, "file", "not a getrawmempool verbose snapshot (need verbose=true: txid->entry)"
        )
    read = bad = 0
    for txid, entry in data.items():
        read += 1
        try:
            tid = check_txid(txid)
            if not isinstance(entry, dict) or "time" not in entry:
                raise ValueError("entry has no time")
            t = _ts(entry["time"], "time")
        except ValueError as exc:
            bad += 1
            reject(q, BitcoinFormatError(source, f"tx {txid}", str(exc)), entry)
            continue
        ids.append(tid)
        ts.append(t)
    return read, bad


def read_first_seen(paths: Iterable[str | Path], q: Quarantine | None = None) -> FirstSeen:
    """Earliest first-seen per txid over CSV logs (``.csv``) and JSON snapshots (others);
    a folder stands for the ``*.csv`` files in it (the segments ``btc watch`` writes)."""
    q = q or Quarantine()
    ids: list[str] = []
    ts: list[int] = []
    read = bad = 0
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        files += sorted(path.glob("*.csv")) if path.is_dir() else [path]
    for path in files:
        reader = _read_csv if path.suffix.lower() in (".csv", ".tsv") else _read_snapshot
        r, b = reader(path, q, ids, ts)
        read, bad = read + r, bad + b
    times = pd.Series(ts, index=pd.Index(ids, dtype="string", name="txid"), dtype="Int64")
    times = times.groupby(level=0).min().rename("first_seen_ts")
    return FirstSeen(times=times, rows_read=read, rows_quarantined=bad)
