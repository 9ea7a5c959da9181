"""Reading records from JSONL, CSV and Parquet, each with its source and line.

Readers yield ``RawRecord`` items: either a dict of fields or a reading error (bad
encoding, malformed JSON, ragged CSV row, truncated file) that the caller quarantines.
Nothing is skipped silently.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

FORMATS = ("jsonl", "csv", "parquet")
MAX_FIELD_CHARS = 100_000

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class RawRecord:
    source: str
    line: int
    fields: dict[str, Any] | None
    raw: Any = None
    error: str | None = None


def detect_format(path: str | Path) -> str:
    name = str(path).lower()
    for ext, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
        (".csv", "csv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if name.endswith(ext):
            return fmt
    raise ValueError(f"{path}: cannot tell the format from the name; pass --format {FORMATS}")


def read_records(path: str | Path, fmt: str | None = None) -> Iterator[RawRecord]:
    fmt = fmt or detect_format(path)
    if fmt == "jsonl":
        yield from _read_jsonl(Path(path))
    elif fmt == "csv":
        yield from _read_csv(Path(path))
    elif fmt == "parquet":
        yield from _read_parquet(Path(path))
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    src = str(path)
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawRecord(src, n, None, line, f"invalid UTF-8: byte {exc.start}")
                continue
            truncated = not line.endswith(b"\n")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                why = "truncated last line" if truncated else "malformed JSON"
                yield RawRecord(src, n, None, text, f"{why}: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(obj, dict):
                yield RawRecord(src, n, None, text, f"not a JSON object: {type(obj).__name__}")
                continue
            yield RawRecord(src, n, obj, text)


def _read_csv(path: Path) -> Iterator[RawRecord]:
    src = str(path)
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRecord(src, 1, None, None, f"unreadable CSV header: {exc}")
            return
        header = [h.strip().lstrip("\ufeff") for h in header]
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRecord(src, start, None, None, f"malformed CSV: {exc}")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if any(_has_surrogates(v) for v in row):
                raw = ",".join(row).encode("utf-8", "surrogateescape")
                yield RawRecord(src, start, None, raw, "invalid UTF-8 in CSV row")
                continue
            if len(row) != len(header):
                yield RawRecord(
                    src,
                    start,
                    None,
                    row,
                    f"ragged CSV row: {len(row)} fields, header has {len(header)}",
                )
                continue
            yield RawRecord(src, start, dict(zip(header, row, strict=True)), row)


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in s)


def _read_parquet(path: Path) -> Iterator[RawRecord]:
    src = str(path)
    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
        for row in batch.to_pylist():
            n += 1
            yield RawRecord(src, n, row, None)
