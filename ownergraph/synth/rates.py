"""A BTC/USD exchange rate that follows a geometric random walk, one value per minute.

The log-price takes Gaussian steps with a configurable daily volatility and a weak pull
towards its starting level, reflected inside ``[low, high]`` (2015-2016 levels by
default). Values are generated a day at a time (vectorised) as time advances and are
streamed to ``rates.csv``.
"""

from __future__ import annotations

import hashlib
import math
from typing import TextIO

import numpy as np

MINUTE = 60
CHUNK = 1440  # minutes generated at once


class RateWalk:
    def __init__(
        self,
        seed: str,
        t0: int,
        *,
        start: float,
        daily_vol: float,
        low: float,
        high: float,
        out: TextIO | None = None,
    ) -> None:
        digest = hashlib.sha256(f"{seed}/rates".encode()).digest()
        self.rng = np.random.Generator(np.random.PCG64(int.from_bytes(digest[:8], "little")))
        self.t0 = t0 - t0 % MINUTE
        self.sigma = daily_vol / math.sqrt(1440.0)
        self.theta = 1.0 / (60.0 * 1440.0)  # pull back over ~60 days
        self.mu = math.log(start)
        self.lo, self.hi = math.log(low), math.log(high)
        self.x = math.log(start)
        self.values: list[float] = []
        self.out = out
        if out is not None:
            out.write("time,usd_per_btc\n")

    def _extend(self, n: int) -> None:
        width = self.hi - self.lo
        while len(self.values) < n:
            drift = self.theta * (self.mu - self.x)
            free = self.x + np.cumsum(drift + self.sigma * self.rng.standard_normal(CHUNK))
            # fold the free path into [lo, hi]: a walk reflected at both bounds
            y = np.mod(free - self.lo, 2 * width)
            y = np.where(y > width, 2 * width - y, y) + self.lo
            self.x = float(y[-1])
            vals = np.round(np.exp(y), 2).tolist()
            if self.out is not None:
                base = self.t0 + len(self.values) * MINUTE
                self.out.write(
                    "".join(f"{base + i * MINUTE},{v:.2f}\n" for i, v in enumerate(vals))
                )
            self.values.extend(vals)

    def at(self, ts: float) -> float:
        """USD per BTC in the minute holding ``ts`` (as written to rates.csv)."""
        i = int((ts - self.t0) // MINUTE)
        if i < 0:
            raise ValueError(f"time {ts} is before the rate series starts ({self.t0})")
        self._extend(i + 1)
        return self.values[i]

    def finish(self, ts: float) -> None:
        """Write values up to ``ts`` (so the series covers every event)."""
        self.at(ts)
