"""Reading records from JSONL (or one JSON array), CSV and Parquet, with source and line.

Readers yield ``RawRecord`` items: either a dict of fields or a reading error (bad
encoding, malformed JSON, ragged CSV row, truncated file) that the caller quarantines.
Nothing is skipped silently.
"""

from __future__ import annotations

import codecs
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


# Byte-order marks that name a file's encoding unambiguously (longest first).
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def sniff_encoding(path: Path) -> str:
    """``utf-8``, or the encoding a byte-order mark names (UTF-8/16/32 with BOM)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    for bom, enc in BOMS:
        if head.startswith(bom):
            return enc
    return "utf-8"


def _starts_with_array(path: Path, enc: str) -> bool:
    with open(path, encoding=enc, errors="replace") as fh:
        head = fh.read(4096).lstrip("\ufeff \t\r\n")
    return head.startswith("[")


def _read_json_array(path: Path, enc: str) -> Iterator[RawRecord]:
    """A JSON file holding one array of objects; ``line`` is the item number (1-based)."""
    src = str(path)
    data = path.read_bytes()
    try:
        items = json.loads(data.decode(enc))
    except UnicodeDecodeError as exc:
        yield RawRecord(src, 1, None, data[:1000], f"invalid {enc.upper()}: byte {exc.start}")
        return
    except json.JSONDecodeError as exc:
        why = f"malformed JSON array: {exc.msg} at line {exc.lineno} column {exc.colno}"
        yield RawRecord(src, exc.lineno, None, data[:1000], why)
        return
    for n, obj in enumerate(items, start=1):
        if isinstance(obj, dict):
            yield RawRecord(src, n, obj, None)
        else:
            why = f"not a JSON object: {type(obj).__name__}"
            yield RawRecord(src, n, None, json.dumps(obj), why)


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    src = str(path)
    enc = sniff_encoding(path)
    if path.suffix.lower() == ".json" and _starts_with_array(path, enc):
        yield from _read_json_array(path, "utf-8-sig" if enc == "utf-8" else enc)
        return
    if enc not in ("utf-8", "utf-8-sig"):
        yield from _read_jsonl_text(path, enc)
        return
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, start=1):
            if n == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawRecord(src, n, None, line, f"invalid UTF-8: byte {exc.start}")
                continue
            yield _json_record(src, n, text, truncated=not line.endswith(b"\n"))


def _escape_bad_units(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: each undecodable byte becomes a lone surrogate U+DCxx."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("ownergraph-escape", _escape_bad_units)


def _read_jsonl_text(path: Path, enc: str) -> Iterator[RawRecord]:
    """JSON Lines in a BOM-marked UTF-16/32 file; bad code units are errors per line."""
    src = str(path)
    with open(path, encoding=enc, errors="ownergraph-escape", newline="\n") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if any("\ud800" <= ch <= "\udfff" for ch in line):
                yield RawRecord(src, n, None, line, f"invalid {enc.upper()} in line")
                continue
            yield _json_record(src, n, line, truncated=not line.endswith("\n"))


def _json_record(src: str, n: int, text: str, truncated: bool) -> RawRecord:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        why = "truncated last line" if truncated else "malformed JSON"
        return RawRecord(src, n, None, text, f"{why}: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return RawRecord(src, n, None, text, f"not a JSON object: {type(obj).__name__}")
    return RawRecord(src, n, obj, text)


def _read_csv(path: Path) -> Iterator[RawRecord]:
    src = str(path)
    enc = sniff_encoding(path)
    errors = "surrogateescape" if enc.startswith("utf-8") else "ownergraph-escape"
    with open(path, encoding=enc, errors=errors, newline="") as fh:
        consumed: list[str] = []  # the raw lines of the row being read

        def lines() -> Iterator[str]:
            for line in fh:
                consumed.append(line)
                yield line

        def raw() -> str:
            text = "".join(consumed)
            consumed.clear()
            return text

        # strict: a stray quote or a file that ends inside a quoted field is an error
        # (the lenient reader would silently glue or truncate fields).
        reader = csv.reader(lines(), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRecord(src, 1, None, raw(), f"unreadable CSV header: {exc}")
            return
        raw()
        header = [h.strip().lstrip("\ufeff") for h in header]
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                text = raw()
                why = "truncated file" if "end of data" in str(exc) else "malformed CSV"
                yield RawRecord(src, start, None, text, f"{why}: {exc}")
                continue
            text = raw()
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if any(_has_surrogates(v) for v in row):
                if enc.startswith("utf-8"):
                    data: Any = text.encode("utf-8", "surrogateescape")
                    yield RawRecord(src, start, None, data, "invalid UTF-8 in CSV row")
                else:
                    yield RawRecord(src, start, None, text, f"invalid {enc.upper()} in CSV row")
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
    """Lone surrogates: what the decoders above put in place of undecodable bytes."""
    return any("\ud800" <= ch <= "\udfff" for ch in s)


def _read_parquet(path: Path) -> Iterator[RawRecord]:
    src = str(path)
    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
        for row in batch.to_pylist():
            n += 1
            yield RawRecord(src, n, row, None)
