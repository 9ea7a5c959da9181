"""Rejected input records, each with where it came from and why.

Every loader writes rejected records here instead of dropping them, so that a load's
summary reconciles: records read = loaded + quarantined. A quarantine file is JSON
Lines: ``{"source", "line", "record", "reason"}`` where ``record`` is the raw text
(or the parsed value) of the rejected input. Error messages name the field and the
reason, never the identifier values themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ownergraph.errors import OwnergraphError

# json.dumps escapes the C0 controls already; these three it leaves raw
_LINE_BREAKS = {c: f"\\u{c:04x}" for c in (0x85, 0x2028, 0x2029)}


class InputError(OwnergraphError, ValueError):
    """A record that cannot be loaded: names the source, the line/record and the reason."""

    def __init__(self, source: str, where: str | int | None, reason: str) -> None:
        self.source, self.where, self.reason = source, where, reason
        loc = f"{source}:{where}" if where is not None else source
        super().__init__(f"{loc}: {reason}")


@dataclass
class Quarantine:
    """Collects rejected records; writes them to ``path`` (JSONL) if one is given."""

    path: Path | None = None
    strict: bool = False
    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    # the first MAX_KEPT rejections in full: (source, where, reason)
    rejected: list[tuple[str, str | int | None, str]] = field(default_factory=list)
    _fh: TextIO | None = None

    MAX_KEPT = 1000

    def add(self, source: str, where: str | int | None, record: Any, reason: str) -> None:
        """Quarantine one record, or raise ``InputError`` in strict mode."""
        if self.strict:
            raise InputError(source, where, reason)
        self.count += 1
        kind = reason.split(":", 1)[0]
        self.reasons[kind] = self.reasons.get(kind, 0) + 1
        if len(self.rejected) < self.MAX_KEPT:
            self.rejected.append((source, where, reason))
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # backslashreplace: a lone surrogate (undecodable input) is kept as \udcXX text
            self._fh = open(self.path, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        if isinstance(record, bytes):
            record = record.decode("utf-8", errors="backslashreplace")
        line = {"source": source, "line": where, "record": record, "reason": reason}
        text = json.dumps(line, ensure_ascii=False, default=str)
        # characters that str.splitlines() and some editors treat as line breaks stay escaped,
        # so that every quarantined record is exactly one line for any reader
        self._fh.write(text.translate(_LINE_BREAKS) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Quarantine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
