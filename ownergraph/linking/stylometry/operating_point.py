"""Where author linking cuts: a threshold for a target precision among candidate pairs.

A false-positive rate measured on random pairs says little about linking, which only ever
scores each ad's nearest stylistic neighbours (the hard negatives): on the real Backpage
CA scrape the FPR-1 % threshold kept 0.23 precision among candidate pairs. So the
operating point is chosen on what linking meets. At training time the candidate search
runs over the featurised ads, the model scores the candidate pairs that have a held-out
end (identifier components the model never saw) and two labelled ends, and
:func:`precision_curve` keeps, per threshold, how many of them were accepted and how
many of those share a component. :func:`operating_point` then picks the lowest
threshold whose accepted pairs reach the target precision (at least ``min_accepted`` of
them), or says that the data cannot reach it.

Identifier labels make the figure a lower bound on writer-level precision (one writer with
two phones counts as wrong), which is the safe side for linking.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ownergraph import defaults
from ownergraph.stats import wilson_lower

DEFAULT_TARGET_PRECISION = defaults.TARGET_PRECISION
MIN_ACCEPTED = 30  # accepted held-out pairs needed before a precision counts as measured
GRID = 1000  # thresholds kept in the curve: 0.000, 0.001, ..., 1.000, and finer near 1
# (calibrated probabilities of the strongest pairs crowd into 0.999...: 1 - 10^-3 .. 10^-6)
FINE = np.round(1 - np.logspace(-3, -6, 31), 9)
THRESHOLDS = np.unique(np.r_[np.round(np.arange(GRID + 1) / GRID, 6), FINE])
BASIS = "candidate pairs with a held-out end, identifier-component labels"


def precision_curve(p: np.ndarray, same: np.ndarray) -> dict[str, Any]:
    """Accepted and same-component counts of scored pairs at each grid threshold.

    ``thresholds`` ascend (:data:`THRESHOLDS`); ``accepted[i]`` / ``same[i]`` count pairs with
    ``p >= thresholds[i]``; ``positives`` is the number of same-component pairs in all.
    """
    p = np.asarray(p, dtype=float)
    same = np.asarray(same, dtype=bool)
    m = len(THRESHOLDS)
    bins = np.searchsorted(THRESHOLDS, p, side="right") - 1  # the highest threshold <= p
    bins = np.clip(bins, 0, m - 1)
    acc = np.bincount(bins, minlength=m)[::-1].cumsum()[::-1]
    hit = np.bincount(bins[same], minlength=m)[::-1].cumsum()[::-1]
    return {
        "thresholds": THRESHOLDS.tolist(),
        "accepted": acc.astype(int).tolist(),
        "same": hit.astype(int).tolist(),
        "pairs": int(len(p)),
        "positives": int(same.sum()),
    }


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold and what it was measured to do (``threshold`` None: unreachable)."""

    target_precision: float
    threshold: float | None
    precision: float | None
    precision_lower: float | None  # Wilson 95 % lower bound
    accepted: int
    same: int
    recall: float | None  # share of the held-out same-component candidate pairs accepted
    pairs: int
    best_precision: float | None  # the highest precision any threshold reached
    basis: str = BASIS

    @property
    def reachable(self) -> bool:
        return self.threshold is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        if not self.reachable:
            best = "none measured" if self.best_precision is None else f"{self.best_precision:.3f}"
            return (
                f"no threshold reaches precision {self.target_precision:g} among {self.pairs:,} "
                f"held-out candidate pairs with >= {MIN_ACCEPTED} accepted (best: {best})"
            )
        return (
            f"threshold {self.threshold:.3f}: precision {self.precision:.3f} "
            f"(95 % lower bound {self.precision_lower:.3f}) on {self.accepted:,} accepted "
            f"held-out candidate pairs, recall {self.recall:.3f}"
        )


def operating_point(
    curve: dict[str, Any], target_precision: float, min_accepted: int = MIN_ACCEPTED
) -> OperatingPoint:
    """The lowest threshold whose accepted pairs reach ``target_precision``."""
    if not 0 < target_precision <= 1:
        raise ValueError(f"target precision must be in (0, 1], got {target_precision}")
    thr = np.asarray(curve["thresholds"], dtype=float)
    acc = np.asarray(curve["accepted"], dtype=np.int64)
    hit = np.asarray(curve["same"], dtype=np.int64)
    pos = int(curve["positives"])
    enough = acc >= max(1, min_accepted)
    prec = np.divide(hit, acc, out=np.zeros(len(acc)), where=acc > 0)
    best = float(prec[enough].max()) if enough.any() else None
    ok = np.flatnonzero(enough & (prec >= target_precision))
    if len(ok) == 0:
        return OperatingPoint(
            target_precision, None, None, None, 0, 0, None, int(curve["pairs"]), best
        )
    i = int(ok[0])  # thresholds ascend: the first is the lowest, accepting the most
    return OperatingPoint(
        target_precision,
        float(thr[i]),
        float(prec[i]),
        wilson_lower(int(hit[i]), int(acc[i])),
        int(acc[i]),
        int(hit[i]),
        float(hit[i] / pos) if pos else None,
        int(curve["pairs"]),
        best,
    )


def at_threshold(
    curve: dict[str, Any], threshold: float, target_precision: float | None = None
) -> OperatingPoint:
    """What a given threshold was measured to do on the curve (rounded down to the grid)."""
    thr = np.asarray(curve["thresholds"], dtype=float)
    i = int(np.clip(np.searchsorted(thr, threshold, side="right") - 1, 0, len(thr) - 1))
    acc, hit, pos = int(curve["accepted"][i]), int(curve["same"][i]), int(curve["positives"])
    prec = hit / acc if acc else None
    return OperatingPoint(
        float("nan") if target_precision is None else target_precision,
        float(threshold),
        prec,
        wilson_lower(hit, acc),
        acc,
        hit,
        hit / pos if pos else None,
        int(curve["pairs"]),
        prec,
    )


def model_curve(metadata: dict[str, Any]) -> dict[str, Any]:
    """The held-out candidate-pair curve kept in a model's metadata (clear error if none)."""
    curve = (
        metadata.get("evaluation", {}).get("info", {}).get("candidate_precision", {}).get("curve")
    )
    if curve is None:
        raise ValueError(
            "the model has no held-out candidate-pair precision curve (trained by an older "
            "version): retrain it with `ownergraph authors train`"
        )
    return curve
