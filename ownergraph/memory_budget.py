"""Memory a stage needs, estimated from the data size before it starts.

A stage whose estimate exceeds the memory the machine has stops before reading anything
and says what to do (:class:`MemoryBudgetError`), instead of being killed by the kernel
part way. Each estimate is a line, fixed bytes + bytes per ad, through the stage's peak
resident memory (the process and its workers) measured at two sizes; the measurements are
named beside each line. A stage without a line here is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from ownergraph.errors import OwnergraphError

GB = 1024**3
# Environment setting: the memory (GB) a stage may plan for instead of MemAvailable;
# 0 turns the check off.
MEMORY_LIMIT_ENV = "OWNERGRAPH_MEMORY_LIMIT_GB"


@dataclass(frozen=True)
class StageMemory:
    """Peak memory of a stage = ``fixed`` + ``per_ad`` x ads, and what to do when short."""

    fixed: int
    per_ad: int
    advice: str

    def bytes_for(self, n_ads: int) -> int:
        return self.fixed + self.per_ad * int(n_ads)


_SMALLER_RUN = (
    "run the full pipeline on fewer ads (e.g. the first days' files) and add the rest "
    "with `ownergraph run PROJECT --incremental`"
)
STAGE_MEMORY: dict[str, StageMemory] = {
    # benchmarks/bench_authors_stage.py (2026-12-03, held-out ROC pairs capped at
    # defaults.AUTHOR_HELDOUT_PAIRS, the store's buffer pool released after reading), on
    # stores of the first 100k and 1M ads of one 1M-ad world (seed 1) with their true
    # identifiers: 100k ads peaked at 2.10 GB (featurising), 1M ads at 7.51 GB (held-out
    # evaluation; after featurising the process held 5.4 GB: features of every ad
    # ~3.9 GB, texts, keys, labels), both linked. Rounded up, the line gives 2.11 GB at
    # 100k and 7.55 GB at 1M ads.
    "authors": StageMemory(
        int(1.5 * GB), 6_500, f"{_SMALLER_RUN}; or leave 'authors' out of the run's stages"
    ),
    # benchmarks/bench_end_to_end.py (2026-12-04, the product path on the 100k, 300k and
    # 1M worlds of seed 1, pictures on 1,500 ads): the owners stage peaked at 1.83 GB at
    # 100k ads, 3.07 GB at 300k and 6.56 GB at 1M (the process and what it holds from the
    # earlier stages after they gave their memory back). The growth slows with size, so
    # the line is the slope of 100k-300k, above all three: 1.87, 3.12 and 7.49 GB.
    "owners": StageMemory(
        int(1.25 * GB), 6_700, f"{_SMALLER_RUN}; or leave 'owners' out of the run's stages"
    ),
}


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


def stage_bytes(stage: str, n_ads: int) -> int | None:
    """Estimated peak memory of ``stage`` for ``n_ads`` ads (None: no measured line)."""
    line = STAGE_MEMORY.get(stage)
    return None if line is None else line.bytes_for(n_ads)


def check_stage_memory(stage: str, n_ads: int, available: int | None = None) -> int | None:
    """The stage's estimated memory; raises ``MemoryBudgetError`` naming what to do when
    it exceeds ``available`` (default: :func:`available_bytes`)."""
    line = STAGE_MEMORY.get(stage)
    if line is None:
        return None
    need = line.bytes_for(n_ads)
    have = available_bytes() if available is None else available
    if have is None or need <= have:
        return need
    fits = max(0, int((have - line.fixed) / line.per_ad))
    raise MemoryBudgetError(
        f"{stage} stage: {n_ads:,} ads need an estimated {need / GB:.1f} GB "
        f"({line.per_ad * 100_000 / GB:.2f} GB per 100k ads + {line.fixed / GB:.1f} GB), "
        f"but {have / GB:.1f} GB is available; about {fits:,} ads fit. Free memory or use "
        f"a machine with more; or {line.advice}. {MEMORY_LIMIT_ENV} sets the memory to "
        "plan for (0: no check)."
    )
