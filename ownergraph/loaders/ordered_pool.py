"""A function over a stream of items, run on chunks in worker processes, its results
handed back in input order.

Used by the ads loader to parse records on every core while the main process reads the
file and writes the store: the caller sees exactly the sequence one process would give.
Workers are joblib's loky processes (clean processes, not copies of the caller: safe
when the caller has threads, and workers do not hold the caller's memory), so ``fn``
must be picklable (a module-level function, or a ``functools.partial`` of one).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from ownergraph import defaults

T = TypeVar("T")
R = TypeVar("R")


def worker_count(workers: int) -> int:
    """``workers`` processes, or one per core for 0."""
    return workers or os.cpu_count() or 1


def _executor(n: int) -> Any:
    """joblib's reusable loky executor with ``n`` workers: fresh processes (not copies of
    the caller, which may hold threads and a large heap), that end when the caller ends,
    and that do not re-run a calling script's unguarded top level (the standard library's
    fork server and spawn do: a script without ``if __name__ == "__main__"`` then ran again
    in every worker and opened the same store). Idle workers exit after 10 s. Taken
    through joblib, so that joblib's own ``Parallel`` (featurising, pictures) can reuse
    the same executor (one made by loky directly lacks what joblib adds to it)."""
    from joblib.executor import get_memmapping_executor

    return get_memmapping_executor(n, timeout=10)


def map_in_order(
    fn: Callable[[list[Any]], list[R]],
    items: Iterable[T],
    *,
    payload: Callable[[T], Any] = lambda item: item,
    workers: int = 1,
    chunk: int = defaults.ADS_PARSE_CHUNK,
    inflight: int = defaults.ADS_PARSE_INFLIGHT,
    inline: int = defaults.ADS_INLINE_RECORDS,
) -> Iterator[tuple[T, R]]:
    """``(item, result)`` for each item, in input order; ``fn`` maps a list of payloads
    (``payload(item)``) to as many results.

    ``workers``: processes (0: one per core; 1: everything in this process). Up to
    ``inflight`` chunks of ``chunk`` items per worker are submitted ahead, so memory is
    bounded. A stream of at most ``inline`` items is mapped in this process (no pool
    start-up). An exception from ``items`` or ``fn`` is raised at the same point of the
    sequence as without workers: every earlier item is yielded first. Close the
    generator (``contextlib.closing``) to stop the workers early.
    """
    it = iter(items)
    n = worker_count(workers)
    head, error = _take(it, inline + 1) if n > 1 else ([], None)
    if n <= 1 or len(head) <= inline:
        for item in head:
            yield item, fn([payload(item)])[0]
        if error is not None:
            raise error
        for item in it:
            yield item, fn([payload(item)])[0]
        return
    pool = _executor(n)
    pending: deque[tuple[list[T], Future]] = deque()
    window = inflight * n
    done = False  # the items are spent (or failed: ``error``)
    try:
        while True:
            while not done and len(pending) < window:
                if head:
                    part, head = head[:chunk], head[chunk:]
                else:
                    part, error = _take(it, chunk)
                    done = error is not None or len(part) < chunk
                if part:
                    pending.append((part, pool.submit(fn, [payload(x) for x in part])))
            if not pending:
                break
            part, fut = pending.popleft()
            yield from zip(part, fut.result(), strict=True)
        if error is not None:
            raise error
    finally:  # closed early or failed: drop what is still queued (the workers stay)
        for _, fut in pending:
            fut.cancel()


def _take(it: Iterator[T], k: int) -> tuple[list[T], Exception | None]:
    """Up to ``k`` items, and the exception that stopped the iterator early, if any."""
    out: list[T] = []
    try:
        for _ in range(k):
            out.append(next(it))
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001 (raised by the caller after the items before it)
        return out, exc
    return out, None
