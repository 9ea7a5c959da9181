"""The stateless payment-matching estimator, :class:`PaymentMatcher`, and the counts of
one match (:class:`MatchStats`); the method is described in
:mod:`ownergraph.linking.payments`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ownergraph import defaults
from ownergraph.linking.payments.coincidence import (
    DEFAULT_MAX_COINCIDENCE,
    NULL_WINDOWS,
    coincidence,
    definite_cutoff,
    payer_groups,
)
from ownergraph.linking.payments.inputs import (
    Rates,
    ad_terms,
    as_rate_table,
    block_timed,
    prepare_ads,
    prepare_payments,
)
from ownergraph.linking.prices import PriceTable
from ownergraph.loaders.rates import RateError

METHOD = "btc-time-amount"
BLOCK_TIME_FIT = 0.5  # fit factor of a block-timed payment (first-seen time not observed)
DEFAULT_BLOCK_SLACK_S = defaults.PAY_BLOCK_SLACK_S  # `btc link` (LinkConfig); the matcher: off
DEFAULT_WINDOW = defaults.PAY_WINDOW
LINK_COLUMNS = (
    "ad_id", "txid", "lag_s", "usd_error", "usd_paid", "usd_expected", "candidates",
    "tx_candidates", "ambiguous", "fit", "coincidence", "confidence", "method",
)  # fmt: skip
PAID_FOR_PROPS = ("lag_s", "usd_error", "candidates", "ambiguous", "method", "confidence")


def _expand(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [starts[i], ends[i]): (range index, position) of every element."""
    counts = ends - starts
    total = int(counts.sum())
    row = np.repeat(np.arange(len(starts)), counts)
    pos = np.arange(total, dtype=np.int64) + np.repeat(
        starts - (np.cumsum(counts) - counts), counts
    )
    return row, pos


def _chunks(counts: np.ndarray, budget: int) -> Iterable[slice]:
    """Contiguous slices of ``counts`` whose sums stay near ``budget`` (one row may exceed)."""
    cum = np.cumsum(counts)
    i = 0
    n = len(counts)
    while i < n:
        base = cum[i - 1] if i else 0
        j = int(np.searchsorted(cum, base + budget, side="right"))
        j = max(j, i + 1)
        yield slice(i, min(j, n))
        i = j


@dataclass
class MatchStats:
    """What one ``match`` call looked at (for summaries and benchmarks)."""

    ads: int = 0
    ads_payable: int = 0  # expected cost > 0
    payments: int = 0
    window_pairs: int = 0  # (ad, tx) pairs inside the time window, amount not yet checked
    pairs_evaluated: int = 0  # pairs the fast path expanded and checked exactly
    links: int = 0
    linked_ads: int = 0
    ambiguous_ads: int = 0
    ambiguous_links: int = 0
    linked_txs: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PaymentMatcher(BaseEstimator):
    """Match ads to the Bitcoin transactions that paid for them (see the module docstring).

    ``match(ads, payments, rates)`` returns one row per (ad, tx) link (``LINK_COLUMNS``),
    ``match_stats`` the links and their counts (:class:`MatchStats`). The matcher is
    stateless, like scikit-learn's ``Normalizer``: ``fit`` only validates the parameters,
    and a match leaves the estimator as it was (each call works on a private copy that
    holds its arrays). Payments may carry
    ``block_ts`` (block-timed payments) and ``payer`` (who paid: strata of the coincidence
    estimate). ``max_coincidence=None`` makes every lone candidate definite.
    """

    def __init__(
        self,
        window: tuple[int, int] = DEFAULT_WINDOW,
        tolerance: float = defaults.PAY_TOLERANCE,
        sponsored_tolerance: float = defaults.PAY_SPONSORED_TOLERANCE,
        price_table: PriceTable | None = None,
        rate_method: Literal["linear", "previous"] = "linear",
        max_rate_staleness_s: int | None = None,
        rounding_sat: int | None = None,
        block_slack_s: int | None = None,
        lag_full_s: int = 60,
        lag_floor: float = 0.5,
        amount_floor: float = 0.5,
        max_coincidence: float | None = DEFAULT_MAX_COINCIDENCE,
        null_windows: int = NULL_WINDOWS,
        strategy: Literal["binned", "window"] = "binned",
        chunk_pairs: int = 4_000_000,
    ) -> None:
        self.window = window
        self.tolerance = tolerance
        self.sponsored_tolerance = sponsored_tolerance
        self.price_table = price_table
        self.rate_method = rate_method
        self.max_rate_staleness_s = max_rate_staleness_s
        self.rounding_sat = rounding_sat
        self.block_slack_s = block_slack_s
        self.lag_full_s = lag_full_s
        self.lag_floor = lag_floor
        self.amount_floor = amount_floor
        self.max_coincidence = max_coincidence
        self.null_windows = null_windows
        self.strategy = strategy
        self.chunk_pairs = chunk_pairs

    # -- configuration checks ----------------------------------------------------------
    def _check(self) -> tuple[int, int]:
        lo, hi = (int(v) for v in self.window)
        if lo > hi:
            raise ValueError(f"window {self.window}: lower bound is above the upper bound")
        for name in ("tolerance", "sponsored_tolerance"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ValueError(f"{name} must be in (0, 1), got {v}")
        for name in ("lag_floor", "amount_floor"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if self.block_slack_s is not None and int(self.block_slack_s) < 0:
            raise ValueError(f"block_slack_s must be >= 0 seconds, got {self.block_slack_s}")
        if self.rounding_sat is not None and int(self.rounding_sat) < 1:
            raise ValueError(f"rounding_sat must be >= 1 satoshi, got {self.rounding_sat}")
        if self.strategy not in ("binned", "window"):
            raise ValueError(f"unknown strategy {self.strategy!r} (binned or window)")
        if self.max_coincidence is not None and not 0 <= self.max_coincidence < 1:
            raise ValueError(f"max_coincidence must be in [0, 1), got {self.max_coincidence}")
        if int(self.null_windows) < 1:
            raise ValueError(f"null_windows must be >= 1, got {self.null_windows}")
        return lo, hi

    def fit(self, ads: Any = None, payments: Any = None, rates: Any = None) -> PaymentMatcher:
        """Validate the parameters; the matcher learns nothing from data."""
        self._check()
        return self

    def match(self, ads: pd.DataFrame, payments: pd.DataFrame, rates: Rates) -> pd.DataFrame:
        """Links between ``ads`` and ``payments`` (see ``LINK_COLUMNS``)."""
        return self.match_stats(ads, payments, rates)[0]

    def match_stats(
        self, ads: pd.DataFrame, payments: pd.DataFrame, rates: Rates
    ) -> tuple[pd.DataFrame, MatchStats]:
        """The links (``match``) and their counts; the estimator is left unchanged."""
        return copy.copy(self)._match(ads, payments, rates)

    def _match(
        self, ads: pd.DataFrame, payments: pd.DataFrame, rates: Rates
    ) -> tuple[pd.DataFrame, MatchStats]:
        """The match, on a per-call copy (``match_stats``): ``_round_usd`` lives here."""
        import time

        started = time.perf_counter()
        lo, hi = self._check()
        ads = prepare_ads(ads)
        pay = prepare_payments(payments)
        table = as_rate_table(rates, self.rate_method, self.max_rate_staleness_s)
        prices = self.price_table or PriceTable()

        cost, sponsored = ad_terms(ads, prices)
        tol = np.where(sponsored, self.sponsored_tolerance, self.tolerance)
        p = ads["posted_ts"].to_numpy(dtype=np.int64)
        t = pay["first_seen_ts"].to_numpy(dtype=np.int64)
        t_order = np.argsort(t)  # one sort by time, reused below
        rate = np.empty(len(t))
        rate[t_order] = table.rate_at(t[t_order], on_missing="nan")  # sorted: cache-friendly
        usd = pay["sat_to_processor"].to_numpy(dtype=np.int64) / 1e8 * rate
        self._round_usd = None if not self.rounding_sat else int(self.rounding_sat) / 1e8 * rate
        blk = block_timed(pay) if self.block_slack_s is not None else np.zeros(len(t), bool)
        groups = [(~blk, lo)]  # (payments, lower bound of the lag)
        if blk.any():
            groups.append((blk, lo - int(self.block_slack_s)))  # type: ignore[arg-type]

        stats = MatchStats(ads=len(ads), ads_payable=int((cost > 0).sum()), payments=len(pay))
        payable = np.flatnonzero(cost > 0)
        pairs = self._pairs_binned if self.strategy == "binned" else self._pairs_window
        parts = []
        for sel, g_lo in groups:
            every = len(groups) == 1  # no block-timed payments: no copies, no re-sort
            self._check_rate_coverage(
                pay, p, t, usd if every else np.where(sel, usd, 0.0), g_lo, hi
            )
            ts = t[t_order] if every else np.sort(t[sel])
            stats.window_pairs += _window_pairs(p, ts, g_lo, hi)
            g_usd = usd if every else np.where(sel, usd, np.nan)
            found = pairs(p, cost, tol, t, g_usd, payable, g_lo, hi, t_order)
            stats.pairs_evaluated += found[2]
            parts.append(found[:2])
        ad_i = np.concatenate([a for a, _ in parts])
        tx_i = np.concatenate([x for _, x in parts])
        # the background: payments no ad's window holds (nor block-timed), met by the ads
        # that have no candidate (those a chance match could fool) in null windows on both
        # sides of the match window, where no ad's own payment should lie
        background = (np.bincount(tx_i, minlength=len(t)) == 0) & ~blk
        bg_usd = np.where(background, usd, np.nan)
        unlinked = payable[np.bincount(ad_i, minlength=len(p))[payable] == 0]
        span = hi - lo + 1
        k = int(self.null_windows)
        null_parts = [
            pairs(p, cost, tol, t, bg_usd, unlinked, a, b, t_order)[:2]
            for a, b in (
                (hi + span + 1, hi + span + k * span),
                (lo - span - k * span, lo - span - 1),
            )
        ]
        null_ad = np.concatenate([a for a, _ in null_parts])
        null_tx = np.concatenate([x for _, x in null_parts])
        null_amount = self._error(null_ad, null_tx, cost, usd) / tol[null_ad]
        record = None  # payer record per payment (see payer_groups)
        if "payer" in pay.columns:
            record = payer_groups(pay["payer"], np.bincount(tx_i, minlength=len(t)) > 0)
        null = (null_ad, null_amount, record, null_tx)
        links = self._links(ads, pay, ad_i, tx_i, p, t, usd, cost, tol, lo, hi, blk, null)
        stats.links = len(links)
        stats.linked_ads = int(links["ad_id"].nunique())
        stats.linked_txs = int(links["txid"].nunique())
        stats.ambiguous_links = int(links["ambiguous"].sum())
        stats.ambiguous_ads = int(links.loc[links["ambiguous"], "ad_id"].nunique())
        stats.seconds = time.perf_counter() - started
        return links, stats

    def _check_rate_coverage(self, pay, p, t, usd, lo, hi) -> None:
        """A payment without a rate is an error when some ad's window holds it."""
        missing = np.flatnonzero(np.isnan(usd))
        if not len(missing):
            return
        ps = np.sort(p)
        a = np.searchsorted(ps, t[missing] + lo, side="left")
        b = np.searchsorted(ps, t[missing] + hi, side="right")
        hit = missing[b > a]
        if len(hit):
            k = int(hit[0])
            raise RateError(
                f"payment tx {pay['txid'][k]!r} first seen at {int(t[k])} has no BTC/USD rate "
                f"({len(hit)} payment(s) in some ad's window lack a rate)"
            )

    # -- candidate pairs ---------------------------------------------------------------
    def _error(self, ad_i, tx_i, cost, usd) -> np.ndarray:
        """``usd_error`` of pairs (module docstring; rounding-aware with ``rounding_sat``)."""
        c, paid = cost[ad_i], usd[tx_i]
        if self._round_usd is None:
            return (paid - c) / c
        above = np.maximum(paid - self._round_usd[tx_i] - c, 0.0)  # cost below the interval
        return np.where(paid < c, paid - c, above) / c

    def _filter(self, ad_i, tx_i, p, cost, tol, t, usd, lo, hi) -> np.ndarray:
        lag = p[ad_i] - t[tx_i]
        err = self._error(ad_i, tx_i, cost, usd)
        return (lag >= lo) & (lag <= hi) & (np.abs(err) <= tol[ad_i])

    def _pairs_window(self, p, cost, tol, t, usd, ads_idx, lo, hi, order):
        ts = t[order]
        starts = np.searchsorted(ts, p[ads_idx] - hi, side="left")
        ends = np.searchsorted(ts, p[ads_idx] - lo, side="right")
        return self._expand_filter(ads_idx, starts, ends, order, p, cost, tol, t, usd, lo, hi)

    def _pairs_binned(self, p, cost, tol, t, usd, ads_idx, lo, hi, t_order):
        ok = np.flatnonzero(~np.isnan(usd))
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
        if not len(ok) or not len(ads_idx):
            return empty
        width = hi - lo + 1
        t0 = int(t[ok].min())
        tx_bin = (t[ok] - t0) // width
        cents = np.floor(usd[ok] * 100).astype(np.int64)
        max_bin, max_cents = int(tx_bin.max()), int(cents.max())
        scale = max_cents + 2
        if (max_bin + 2) * scale >= 2**62:
            # Extremely long spans or values: the single int64 key would overflow.
            return self._pairs_window(p, cost, tol, t, usd, ads_idx, lo, hi, t_order)
        key = tx_bin * scale + cents
        order_ok = np.argsort(key)
        keys = key[order_ok]
        order = ok[order_ok]

        c = cost[ads_idx]
        tl = tol[ads_idx]
        c_lo = np.clip(np.floor(c * (1 - tl) * 100).astype(np.int64) - 1, 0, scale - 1)
        top = c * (1 + tl)
        if self._round_usd is not None:  # the paid amount may exceed the cost by u
            top = top + np.nanmax(self._round_usd[ok])
        c_hi = np.clip(np.floor(top * 100).astype(np.int64) + 1, 0, scale - 1)
        b1 = (p[ads_idx] - hi - t0) // width
        b2 = (p[ads_idx] - lo - t0) // width  # b1 or b1 + 1
        q_ad = np.concatenate([ads_idx, ads_idx])
        q_bin = np.concatenate([b1, b1 + 1])
        valid = (q_bin >= 0) & (q_bin <= max_bin)
        valid[len(ads_idx) :] &= b2 > b1
        q_lo = np.concatenate([c_lo, c_lo])
        q_hi = np.concatenate([c_hi, c_hi])
        starts = np.searchsorted(keys, q_bin * scale + q_lo, side="left")
        ends = np.searchsorted(keys, q_bin * scale + q_hi, side="right")
        ends = np.where(valid, ends, starts)
        return self._expand_filter(q_ad, starts, ends, order, p, cost, tol, t, usd, lo, hi)

    def _expand_filter(self, q_ad, starts, ends, order, p, cost, tol, t, usd, lo, hi):
        ad_parts, tx_parts = [], []
        counts = ends - starts
        evaluated = int(counts.sum())
        for sl in _chunks(counts, self.chunk_pairs):
            row, pos = _expand(starts[sl], ends[sl])
            ad_i = q_ad[sl][row]
            tx_i = order[pos]
            keep = self._filter(ad_i, tx_i, p, cost, tol, t, usd, lo, hi)
            ad_parts.append(ad_i[keep])
            tx_parts.append(tx_i[keep])
        if not ad_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), evaluated
        return np.concatenate(ad_parts), np.concatenate(tx_parts), evaluated

    # -- links and confidence ----------------------------------------------------------
    def _links(self, ads, pay, ad_i, tx_i, p, t, usd, cost, tol, lo, hi, blk, null):
        o = np.lexsort((tx_i, ad_i))
        ad_i, tx_i = ad_i[o], tx_i[o]
        lag = p[ad_i] - t[tx_i]
        paid = usd[tx_i]
        expected = cost[ad_i]
        err = self._error(ad_i, tx_i, cost, usd)
        n_ad = np.bincount(ad_i, minlength=len(p))[ad_i]
        n_tx = np.bincount(tx_i, minlength=len(t))[tx_i]
        fit = self.score(lag, err, tol[ad_i], hi)
        by_block = blk[tx_i]
        fit = np.where(by_block, fit * BLOCK_TIME_FIT, fit)
        lone = (n_ad == 1) & (n_tx == 1)
        null_ad, null_amount, record, null_tx = null
        coinc = coincidence(
            cost, ad_i, lag, err / tol[ad_i], lone & ~by_block, null_ad, null_amount, lo, hi,
            self.null_windows, *((record[tx_i], record[null_tx]) if record is not None else ()),
        )  # fmt: skip
        coinc[by_block] = np.nan  # the first-seen time, hence the lag, is not observed
        conf = fit / (n_ad + n_tx - 1) * (1.0 - np.nan_to_num(coinc))
        definite = lone
        if self.max_coincidence is not None:
            definite = lone & ~by_block
            definite &= coinc <= definite_cutoff(coinc[definite], self.max_coincidence)
        return pd.DataFrame(
            {
                "ad_id": ads["id"].array.take(ad_i).to_numpy(),  # only the linked rows
                "txid": pay["txid"].array.take(tx_i).to_numpy(),
                "lag_s": lag.astype(np.int64),
                "usd_error": err,
                "usd_paid": paid,
                "usd_expected": expected,
                "candidates": n_ad.astype(np.int64),
                "tx_candidates": n_tx.astype(np.int64),
                "ambiguous": ~definite,
                "fit": fit,
                "coincidence": coinc,
                "confidence": conf,
                "method": np.where(by_block, METHOD + "/block-time", METHOD).astype(object),
            },
            columns=list(LINK_COLUMNS),
        )

    def score(self, lag: np.ndarray, err: np.ndarray, tol: np.ndarray, hi: int) -> np.ndarray:
        """``fit = lag_score * amount_score`` (the module docstring gives the formula)."""
        full = min(self.lag_full_s, hi)
        span = max(hi - full, 1)
        over = np.clip((lag - full) / span, 0.0, 1.0)
        lag_score = 1.0 - (1.0 - self.lag_floor) * over
        amount_score = 1.0 - (1.0 - self.amount_floor) * np.minimum(np.abs(err) / tol, 1.0)
        return lag_score * amount_score


def _window_pairs(p: np.ndarray, ts: np.ndarray, lo: int, hi: int) -> int:
    """Number of (ad, tx) pairs with the lag inside the window; ``ts`` sorted times."""
    if not len(p) or not len(ts):
        return 0
    return int(
        (np.searchsorted(ts, p - lo, side="right") - np.searchsorted(ts, p - hi, side="left")).sum()
    )
