"""Best-of-N wall timing, for the benchmarks that compare two ways side by side."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeat: int = 1, collect: bool = False) -> tuple[float, T]:
    """The shortest of ``repeat`` wall times of ``fn()`` (seconds) and its last result;
    ``collect``: a garbage collection before each run, outside the timing."""
    best, out = float("inf"), None
    for _ in range(repeat):
        if collect:
            gc.collect()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out  # type: ignore[return-value]
