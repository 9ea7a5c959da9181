"""Small statistics shared by the evaluation and calibration code."""

from __future__ import annotations

import math


def wilson_lower(k: int, n: int, z: float = 1.96) -> float | None:
    """Lower end of the Wilson score interval of k successes in n (95 % by default)."""
    if n <= 0:
        return None
    ph = k / n
    den = 1 + z * z / n
    centre = ph + z * z / (2 * n)
    half = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / den)
