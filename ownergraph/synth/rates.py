"""A BTC/USD exchange rate that follows a geometric random walk, one value per minute.

The log-price takes Gaussian steps with a configurable daily volatility and a weak pull
towards its starting level, reflected inside ``[low, high]`` (2015-2016 levels by
default). Values are generated lazily as time advances and streamed to ``rates.csv``.
"""

from __future__ import annotations

import math
from random import Random
from typing import TextIO

MINUTE = 60


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
        self.rng = Random(f"{seed}/rates")
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
        rng, values = self.rng, self.values
        while len(values) < n:
            x = self.x + self.theta * (self.mu - self.x) + self.sigma * rng.gauss(0.0, 1.0)
            if x > self.hi:
                x = 2 * self.hi - x
            if x < self.lo:
                x = 2 * self.lo - x
            self.x = x
            v = round(math.exp(x), 2)
            if self.out is not None:
                self.out.write(f"{self.t0 + len(values) * MINUTE},{v:.2f}\n")
            values.append(v)

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
