"""A function over a stream of items, run on chunks in worker processes, its results
handed back in input order.

Used by the ads loader to parse records on every core while the main process reads the
file and writes the store: the caller sees exactly the sequence one process would give.
Workers are started by a fork server (a clean process, not a copy of the caller: safe
when the caller has threads, and workers do not hold the caller's memory), so ``fn``
must be picklable (a module-level function, or a ``functools.partial`` of one).
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count(workers: int) -> int:
    """``workers`` processes, or one per core for 0."""
    return workers or os.cpu_count() or 1


def _exit_with(pid: int) -> None:
    """Worker initializer: end this worker when process ``pid`` ends.

    A pool's workers hold both ends of their task pipe, so when the loading process is
    killed they would wait for tasks forever (and keep the fork server alive)."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3): poll
            while True:
                time.sleep(1.0)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    os._exit(1)
                except PermissionError:
                    pass
        select.select([fd], [], [])  # readable once the process has ended
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _pool(n: int, preload: Sequence[str]) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver" and preload:
        ctx.set_forkserver_preload(list(preload))  # imported once, before the server forks
    return ProcessPoolExecutor(n, mp_context=ctx, initializer=_exit_with, initargs=(os.getpid(),))


def map_in_order(
    fn: Callable[[list[Any]], list[R]],
    items: Iterable[T],
    *,
    payload: Callable[[T], Any] = lambda item: item,
    workers: int = 1,
    chunk: int = 500,
    inflight: int = 8,
    inline: int = 5_000,
    preload: Sequence[str] = (),
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
    pool = _pool(n, preload)
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
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
