"""BTC/USD exchange rates: a CSV ``time,usd_per_btc`` and a vectorised ``rate_at``.

``time`` is epoch seconds (integer) or ISO 8601 with offset; the rate column may be named
``usd_per_btc`` or ``rate``. Two ways to read a rate at a time:

- ``"linear"``: linear interpolation between the two surrounding points;
- ``"previous"``: the last known rate at or before the time (bucketing).

A time before the first point, after the last one, or farther than ``max_staleness_s``
from the point(s) used is an error (``RateError``) naming the time, or NaN when asked
with ``on_missing="nan"``. Bad CSV rows are errors naming the line; rates are never
silently skipped.

Where rates live between steps: ``btc load --rates`` validates the file and, for an
embedded store, keeps it as a Parquet sidecar next to the store (``<store>.rates.parquet``,
see ``sidecar_path``); with Neo4j the later steps take ``--rates`` again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ownergraph import settings
from ownergraph.errors import OwnergraphError
from ownergraph.store.base import DEFAULT_STORE, STORE_ENV

Method = Literal["linear", "previous"]
RATE_COLUMNS = ("usd_per_btc", "rate")


class RateError(OwnergraphError, ValueError):
    """A rate file is malformed, or a time has no rate (outside range / too stale)."""


def _epoch(value: str, where: str) -> int:
    v = value.strip()
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        ts = pd.Timestamp(v)
    except ValueError:
        raise RateError(f"{where}: time {value!r} is neither epoch seconds nor ISO 8601") from None
    if ts.tzinfo is None:
        raise RateError(f"{where}: time {value!r} has no UTC offset")
    return int(ts.timestamp())


def _read_plain_csv(path: str | Path) -> pd.DataFrame | None:
    """The common case read at once: a ``time,usd_per_btc`` (or ``rate``) file of epoch
    seconds and numbers only (a day of minute rates read row by row took ~3 s). None for
    anything else (ISO times, a bad row), which the row by row reader handles and names."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    col = next((c for c in RATE_COLUMNS if c in df.columns), None)
    if "time" not in df.columns or col is None:
        return None
    t = df["time"].str.strip()
    if not t.str.fullmatch(r"-?\d+").all():
        return None
    r = pd.to_numeric(df[col], errors="coerce")
    if r.isna().any() or df[col].str.strip().eq("").any():
        return None
    return pd.DataFrame({"time_ts": t.astype("int64"), "usd_per_btc": r.astype("float64")})


@dataclass(frozen=True)
class RateTable:
    """Sorted rate points; ``rate_at`` reads them at any times (numpy, vectorised)."""

    times: np.ndarray  # int64 epoch seconds, strictly increasing
    rates: np.ndarray  # float64 USD per BTC, > 0
    method: Method = "linear"
    max_staleness_s: int | None = None
    source: str = "rates"

    def __post_init__(self) -> None:
        if self.method not in ("linear", "previous"):
            raise RateError(f"unknown rate method {self.method!r} (linear or previous)")
        if len(self.times) == 0:
            raise RateError(f"{self.source}: no rates")
        if len(self.times) != len(self.rates):
            raise RateError(f"{self.source}: times and rates differ in length")
        if np.any(np.diff(self.times) <= 0):
            i = int(np.argmax(np.diff(self.times) <= 0))
            raise RateError(f"{self.source}: time {self.times[i + 1]} is repeated or out of order")
        if not np.all(np.isfinite(self.rates)) or np.any(self.rates <= 0):
            i = int(np.argmax(~np.isfinite(self.rates) | (self.rates <= 0)))
            raise RateError(f"{self.source}: rate {self.rates[i]} at {self.times[i]} is not > 0")

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        method: Method = "linear",
        max_staleness_s: int | None = None,
        source: str = "rates",
    ) -> RateTable:
        """From columns ``time_ts`` and ``usd_per_btc`` (rows may be unsorted)."""
        df = df.sort_values("time_ts", kind="stable")
        times = df["time_ts"].to_numpy(dtype=np.int64)
        rates = df["usd_per_btc"].to_numpy(dtype=np.float64)
        return cls(times, rates, method, max_staleness_s, source)

    @classmethod
    def from_csv(
        cls, path: str | Path, method: Method = "linear", max_staleness_s: int | None = None
    ) -> RateTable:
        source = str(path)
        fast = _read_plain_csv(path)
        if fast is not None:
            return cls.from_frame(fast, method, max_staleness_s, source)
        times: list[int] = []
        rates: list[float] = []
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            col = next((c for c in RATE_COLUMNS if c in fields), None)
            if "time" not in fields or col is None:
                raise RateError(f"{source}: need columns time and usd_per_btc (or rate)")
            for row in reader:
                where = f"{source}:line {reader.line_num}"
                if None in row or None in row.values():
                    raise RateError(f"{where}: wrong number of fields")
                times.append(_epoch(row["time"], where))
                try:
                    rates.append(float(row[col]))
                except ValueError:
                    raise RateError(f"{where}: rate {row[col]!r} is not a number") from None
        df = pd.DataFrame({"time_ts": times, "usd_per_btc": rates})
        return cls.from_frame(df, method, max_staleness_s, source)

    @classmethod
    def from_parquet(
        cls, path: str | Path, method: Method = "linear", max_staleness_s: int | None = None
    ) -> RateTable:
        return cls.from_frame(pd.read_parquet(path), method, max_staleness_s, str(path))

    def to_parquet(self, path: str | Path) -> None:
        self.frame.to_parquet(path, index=False)

    @property
    def frame(self) -> pd.DataFrame:
        """The ``rates`` table of the agreed format: time_ts (Int64), usd_per_btc (float)."""
        return pd.DataFrame(
            {"time_ts": pd.array(self.times, dtype="Int64"), "usd_per_btc": self.rates}
        )

    # -- reading -----------------------------------------------------------------------
    def rate_at(
        self, ts: int | np.ndarray | pd.Series, on_missing: Literal["raise", "nan"] = "raise"
    ) -> float | np.ndarray:
        """USD per BTC at epoch second(s) ``ts`` (scalar in, scalar out)."""
        scalar = np.ndim(ts) == 0
        t = np.atleast_1d(np.asarray(ts, dtype=np.int64))
        times, rates = self.times, self.rates
        i = np.searchsorted(times, t, side="right") - 1  # last point <= t
        before = i < 0
        ic = np.clip(i, 0, len(times) - 1)
        if self.method == "previous":
            out = rates[ic]
            gap = t - times[ic]
            bad = before | (
                (gap > self.max_staleness_s)
                if self.max_staleness_s is not None
                else (t > times[-1])
            )
        else:
            j = np.minimum(ic + 1, len(times) - 1)
            span = (times[j] - times[ic]).astype(np.float64)
            frac = np.divide(t - times[ic], span, out=np.zeros(len(t)), where=span > 0)
            out = rates[ic] + frac * (rates[j] - rates[ic])
            bad = before | (t > times[-1])
            if self.max_staleness_s is not None:
                near = np.minimum(t - times[ic], np.where(j > ic, times[j] - t, t - times[ic]))
                bad |= near > self.max_staleness_s
        if bad.any():
            if on_missing == "raise":
                k = int(np.argmax(bad))
                raise RateError(
                    f"{self.source}: no BTC/USD rate for time {int(t[k])} "
                    f"(covered {int(times[0])}..{int(times[-1])}, method {self.method}, "
                    f"max staleness {self.max_staleness_s} s); {int(bad.sum())} time(s) affected"
                )
            out = np.where(bad, np.nan, out)
        return float(out[0]) if scalar else out


def sidecar_path(store_uri: str | None) -> Path | None:
    """Where an embedded store keeps its rates (``<store>.rates.parquet``); None for Neo4j."""
    uri = store_uri or settings.get(STORE_ENV) or DEFAULT_STORE
    if "://" in uri:
        return None
    return Path(f"{uri.rstrip('/')}.rates.parquet")
