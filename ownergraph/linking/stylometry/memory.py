"""Giving freed heap memory back to the operating system during large linking runs."""

from __future__ import annotations

import ctypes
from typing import Any

from ownergraph.errors import OwnergraphError


def release_free_memory() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; no-op elsewhere).

    Received results are unpickled from byte buffers that glibc keeps after they are
    freed: on 100k ads the main process held 1.21 GB after featurising, 0.81 GB after a
    trim (features 0.37 GB). With trims while receiving and stacking, featurising 1M ads
    peaked at 5.78 GB (workers included) and held 4.76 GB after."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None


# -- memory the authors stage needs, estimated before it starts ---------------------------

GB = 1024**3
# Peak resident memory of the authors stage of the product path (the process and its
# featurising workers) = AUTHORS_FIXED_BYTES + AUTHORS_BYTES_PER_AD x ads, the line
# through two measurements with benchmarks/bench_authors_stage.py (2026-12-03, held-out
# ROC pairs capped at defaults.AUTHOR_HELDOUT_PAIRS, the store's buffer pool released
# after reading), on stores of the first 100k and 1M ads of one 1M-ad world (seed 1)
# with their true identifiers: 100k ads peaked at 2.10 GB (featurising), 1M ads at
# 7.51 GB (held-out evaluation; after featurising the process held 5.4 GB: features of
# every ad ~3.9 GB, texts, keys, labels), both linked. Rounded up, the line gives
# 2.11 GB at 100k and 7.55 GB at 1M ads.
AUTHORS_FIXED_BYTES = int(1.5 * GB)
AUTHORS_BYTES_PER_AD = 6_500
# Environment setting: the memory (GB) a stage may plan for instead of MemAvailable;
# 0 turns the check off.
MEMORY_LIMIT_ENV = "OWNERGRAPH_MEMORY_LIMIT_GB"


class MemoryBudgetError(OwnergraphError, ValueError):
    """A stage whose estimated memory exceeds what the machine has; says what to do."""


def available_bytes() -> int | None:
    """Memory a stage may plan for: ``$OWNERGRAPH_MEMORY_LIMIT_GB`` if set (``0``: no
    limit, ``None``), else the kernel's ``MemAvailable`` (``None`` where unknown)."""
    from ownergraph import settings

    limit = (settings.get(MEMORY_LIMIT_ENV) or "").strip()
    if limit:
        try:
            gb = float(limit)
        except ValueError:
            raise MemoryBudgetError(
                f"{MEMORY_LIMIT_ENV}={limit!r} is not a number of GB (0 turns the check off)"
            ) from None
        return None if gb <= 0 else int(gb * GB)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def authors_stage_bytes(n_ads: int) -> int:
    """Estimated peak memory of the authors stage for ``n_ads`` ads (measured, linear)."""
    return AUTHORS_FIXED_BYTES + AUTHORS_BYTES_PER_AD * int(n_ads)


def check_authors_memory(n_ads: int, available: int | None = None) -> int:
    """The authors stage's estimated memory; raises ``MemoryBudgetError`` naming what to
    do when it exceeds ``available`` (default: :func:`available_bytes`)."""
    need = authors_stage_bytes(n_ads)
    have = available_bytes() if available is None else available
    if have is None or need <= have:
        return need
    fits = max(0, int((have - AUTHORS_FIXED_BYTES) / AUTHORS_BYTES_PER_AD))
    raise MemoryBudgetError(
        f"authors stage: {n_ads:,} ads need an estimated {need / GB:.1f} GB "
        f"({AUTHORS_BYTES_PER_AD * 100_000 / GB:.2f} GB per 100k ads + "
        f"{AUTHORS_FIXED_BYTES / GB:.1f} GB), but {have / GB:.1f} GB is available; about "
        f"{fits:,} ads fit. Free memory or use a machine with more; or run the full "
        "pipeline on fewer ads (e.g. the first days' files) and add the rest with "
        "`ownergraph run PROJECT --incremental`; or leave 'authors' out of the run's "
        f"stages. {MEMORY_LIMIT_ENV} sets the memory to plan for (0: no check)."
    )
