"""What every stage shares: one summary base type and one progress callback type.

A stage reads from the store, calls the algorithms and writes back; it returns a
:class:`StageSummary` (a dataclass: field names, no prose keys; the CLI owns the labels)
and reports progress through one :data:`Progress` callback, ``(stage, done, total)``
with ``total`` None when it is not known (a step with no count reports ``done`` 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

Progress = Callable[[str, int, "int | None"], None]


def no_progress(stage: str, done: int, total: int | None) -> None:
    """The default :data:`Progress`: report nothing."""


@dataclass
class StageSummary:
    """Base of every stage's summary: named fields, ``to_dict`` for JSON and Run nodes."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def counts(self) -> dict[str, int | float]:
        """The numeric fields (what a Run node records)."""
        return {
            k: v
            for k, v in self.to_dict().items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
