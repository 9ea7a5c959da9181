"""Payment matching: which Bitcoin transaction paid for which ad.

Backpage posted an ad as soon as its Bitcoin payment reached the mempool (Portnoff et al.,
KDD 2017). A transaction pays for an ad when

- it pays the payment-processor address set (``sat_to_processor`` > 0),
- its first-seen time lies in a window before the ad appears:
  ``lag_s = posted_ts - first_seen_ts`` in ``[window[0], window[1]]`` (inclusive; default
  0..120 s; a negative lower bound allows for clock skew between the two recorders),
- its USD value at the first-seen rate (``sat / 1e8 * usd_per_btc(first_seen_ts)``) is
  within a relative tolerance of the ad's expected cost: ``usd_error = (usd - cost) / cost``,
  ``|usd_error| <= tolerance`` (2%, or 5% for sponsored ads). The expected cost is the ad's
  ``price_usd`` when known, else ``PriceTable.cost_usd(state, category, post_kind,
  sponsored, n_locations)``.
- optionally (``rounding_sat = r``), the processor rounded its invoice *up* to a multiple
  of ``r`` satoshi: the amount before rounding lies in ``(usd - u, usd]`` with ``u = r / 1e8
  * usd_per_btc`` and ``usd_error`` is the relative distance from the cost to that interval
  (0 inside it). Without it, a coarse rounding (1e-3 BTC is ~7% of a 6 USD ad) pushes true
  payments out of the tolerance.

**Block-timed payments** (optional, ``block_slack_s = S``): a payment with a ``block_ts``
and no earlier sighting (``first_seen_ts >= block_ts``: the mempool log missed it, so the
loader fell back to the block time) was first seen at some unknown time ``f`` in
``[block_ts - S, block_ts]``. It passes the time rule when some such ``f`` does: ``lag_s =
posted_ts - block_ts`` in ``[window[0] - S, window[1]]``; its rate is read at the block
time, its fit is halved (``BLOCK_TIME_FIT``) and its method is ``METHOD + "/block-time"``.
Without it, such a payment can only match ads posted after its block, which is rarely
right; its ad then keeps a wrong lone candidate or none.

Every pair that passes is kept. An ad with several passing transactions, or a transaction
passing for several ads, is an *ambiguity set*: all its rows stay, flagged
``ambiguous``; nothing is picked silently. ``resolve_one_to_one`` is a separate, explicit
step that picks at most one transaction per ad and one ad per transaction.

**Coincidence** (what makes a lone link *definite*). Most ads are not paid in Bitcoin, and
other merchants' customers pay the same processors the same round amounts: the more ads
and payments, the more often an unpaid ad meets exactly one such payment in its window, a
lone but wrong link. Each link gets ``coincidence``, the estimated share of links like it
(same expected cost to the cent, lag and amount bins) that are chance matches, measured
on the data at hand:

- background: *unexplained* payments (no ad's window holds them; not block-timed) met by
  the ads without any candidate, in ``null_windows`` windows of the match window's width on
  each side of it (one window apart, where no ad's own payment should lie), as a rate per
  second of lag per expected cost, flat in lag, with their pooled shape in ``usd_error /
  tolerance`` (``AMOUNT_BINS`` bins);
- signal: the lone links at that cost net of the background, with the lone links' pooled
  shapes in lag (``LAG_BINS`` bins of the window) and in amount, net of the background;
- ``coincidence = background / (background + signal)`` at the link's cost, lag and amount.

With a ``payer`` column on the payments (``btc link``: the wallet of the tx's inputs, else
its smallest input address; none for CoinJoins), both are counted per (cost, payer
record) instead of per cost. A payment's payer record is *unknown* when its payer made
fewer than two other payments, *advertiser-like* when at least half of those have a
candidate ad, else *unexplained-like* (a customer of another merchant paying the same
processors looks like that). The strata's rates are measured like the rest, so a payer
record that does not separate on some data changes little (its strata are only smaller).

A link is definite (``ambiguous`` false) when it is the only candidate of its ad and of
its tx, is not block-timed (its lag is not observed), and its coincidence is at most the
run's cutoff: the largest at which the definite links' mean coincidence (their estimated
share of wrong links) stays within ``max_coincidence`` (default 0.3 %, below the 0.5 %
wanted: on three synthetic 100k-ad worlds the estimate put 35, 34 and 33 wrong links
among the definite ones where 44, 37 and 23 were measured). Sparse data has
little background and keeps nearly every lone link; dense data gives up the lone links
most likely to be chance. ``max_coincidence=None`` restores the plain rule (every lone
link is definite). The other lone links stay, flagged ``ambiguous``, with their numbers.

Confidence (a documented prior, not a calibrated probability)::

    lag_score    = 1                                  if lag_s <= lag_full_s
                   1 - (1 - lag_floor) * (lag_s - lag_full_s) / (hi - lag_full_s)  otherwise
    amount_score = 1 - (1 - amount_floor) * |usd_error| / tolerance
    fit          = lag_score * amount_score            (in [lag_floor * amount_floor, 1])
    competition  = 1 / (candidates + tx_candidates - 1)
    confidence   = fit * competition * (1 - coincidence)    (coincidence 0 when block-timed)

``candidates`` = passing transactions for the ad, ``tx_candidates`` = passing ads for the
transaction, so ``competition`` is one over the number of links that share an end with
this one (itself included): a lone match has competition 1, an ad with two fitting
transactions 1/2.

The fast path is vectorised numpy. ``strategy="binned"`` (default) buckets transactions by
time into bins one window long and sorts them by (bin, USD cents) in one int64 key: each
ad then needs two ``searchsorted`` range look-ups (its window spans at most two bins) and
only transactions of the right amount in the two bins are expanded and checked exactly.
``strategy="window"`` sorts by time only and expands every transaction in the ad's window
(simpler; its work grows with the number of transactions per window). Both give the same
links as ``reference_match``, a naive nested loop kept for tests and benchmarks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ownergraph import defaults
from ownergraph.errors import OwnergraphError
from ownergraph.linking.prices import POST_KINDS, PriceTable
from ownergraph.loaders.rates import RateError, RateTable

METHOD = "btc-time-amount"
BLOCK_TIME_FIT = 0.5  # fit factor of a block-timed payment (first-seen time not observed)
DEFAULT_BLOCK_SLACK_S = defaults.PAY_BLOCK_SLACK_S  # `btc link` (LinkConfig); the matcher: off
DEFAULT_WINDOW = defaults.PAY_WINDOW
AD_COLUMNS = ("id", "posted_ts", "state", "category", "post_kind", "sponsored", "n_locations",
              "price_usd")  # fmt: skip
PAYMENT_COLUMNS = ("txid", "first_seen_ts", "sat_to_processor")  # optional: block_ts, payer
DEFAULT_MAX_COINCIDENCE = 0.003  # estimated share of chance matches allowed among definite links
NULL_WINDOWS = 10  # null windows per side for the coincidence estimate
LAG_BINS = 16  # lag bins of the window for the coincidence estimate
AMOUNT_BINS = 10  # bins of usd_error / tolerance for the coincidence estimate
LINK_COLUMNS = (
    "ad_id", "txid", "lag_s", "usd_error", "usd_paid", "usd_expected", "candidates",
    "tx_candidates", "ambiguous", "fit", "coincidence", "confidence", "method",
)  # fmt: skip
PAID_FOR_PROPS = ("lag_s", "usd_error", "candidates", "ambiguous", "method", "confidence")

Rates = RateTable | pd.DataFrame | str | Path


class PaymentInputError(OwnergraphError, ValueError):
    """An ad or payment row is unusable; the message names the record and the reason."""


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------
def as_rate_table(
    rates: Rates, method: str = "linear", max_staleness_s: int | None = None
) -> RateTable:
    """A ``RateTable`` from a table, a DataFrame (time_ts, usd_per_btc) or a CSV/Parquet path."""
    if isinstance(rates, RateTable):
        return rates
    if isinstance(rates, pd.DataFrame):
        return RateTable.from_frame(rates, method, max_staleness_s)  # type: ignore[arg-type]
    path = Path(rates)
    if path.suffix == ".parquet":
        return RateTable.from_parquet(path, method, max_staleness_s)  # type: ignore[arg-type]
    return RateTable.from_csv(path, method, max_staleness_s)  # type: ignore[arg-type]


def _unique_ids(values: pd.Series, what: str, name: str) -> None:
    if values.is_unique:  # cheaper than duplicated(); that runs only to name the record
        return
    dup = values.duplicated()
    if dup.any():
        raise PaymentInputError(f"{what} {values[dup].iloc[0]!r}: {name} appears more than once")


def prepare_ads(ads: pd.DataFrame) -> pd.DataFrame:
    """Ads with every column of ``AD_COLUMNS`` (missing optional ones as null), validated."""
    for col in ("id", "posted_ts"):
        if col not in ads.columns:
            raise PaymentInputError(f"ads: column {col!r} is required")
    df = ads.reindex(columns=list(AD_COLUMNS)).reset_index(drop=True)
    if df["id"].isna().any():
        raise PaymentInputError(f"ads: row {int(np.argmax(df['id'].isna()))} has no id")
    df["id"] = df["id"].astype("string")
    _unique_ids(df["id"], "ad", "id")
    ts = pd.to_numeric(df["posted_ts"], errors="coerce")
    bad = ts.isna() | (ts != np.floor(ts))
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise PaymentInputError(
            f"ad {df['id'][i]!r}: posted_ts {df['posted_ts'][i]!r} is not integer epoch seconds"
        )
    df["posted_ts"] = ts.astype("int64")
    price = pd.to_numeric(df["price_usd"], errors="coerce")
    wrong = price.isna() & df["price_usd"].notna()
    wrong |= price < 0
    if wrong.any():
        i = int(np.argmax(wrong.to_numpy()))
        raise PaymentInputError(f"ad {df['id'][i]!r}: price_usd {df['price_usd'][i]!r} is not >= 0")
    df["price_usd"] = price.astype("float64")
    return df


def prepare_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments (txid, first_seen_ts int64, sat_to_processor int64 > 0), validated."""
    missing = [c for c in PAYMENT_COLUMNS if c not in payments.columns]
    if missing:
        raise PaymentInputError(f"payments: columns {missing} are required")
    df = payments[list(PAYMENT_COLUMNS)].reset_index(drop=True)
    if df["txid"].isna().any():
        raise PaymentInputError(f"payments: row {int(np.argmax(df['txid'].isna()))} has no txid")
    _unique_ids(df["txid"], "payment tx", "txid")
    for col in ("first_seen_ts", "sat_to_processor"):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() | (v != np.floor(v))
        if col == "sat_to_processor":
            bad |= v <= 0
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise PaymentInputError(
                f"payment tx {df['txid'][i]!r}: {col} {df[col][i]!r} is not "
                + ("a positive integer" if col == "sat_to_processor" else "integer epoch seconds")
            )
        df[col] = v.astype("int64")
    if "block_ts" in payments.columns:
        b = pd.to_numeric(payments["block_ts"].reset_index(drop=True), errors="coerce")
        df["block_ts"] = b.astype("float64")
    if "payer" in payments.columns:
        df["payer"] = payments["payer"].reset_index(drop=True).astype("string")
    return df


def block_timed(pay: pd.DataFrame) -> np.ndarray:
    """Payments whose first-seen time is the block time (no earlier sighting logged)."""
    if "block_ts" not in pay.columns:
        return np.zeros(len(pay), dtype=bool)
    b = pay["block_ts"].to_numpy(dtype=np.float64, na_value=np.nan)
    return ~np.isnan(b) & (pay["first_seen_ts"].to_numpy(dtype=np.float64) >= b)


def expected_costs(ads: pd.DataFrame, prices: PriceTable) -> np.ndarray:
    """Expected USD cost per ad: ``price_usd`` when known, else the price table."""
    return ad_terms(ads, prices)[0]


def _norm_kind(v: Any) -> str:
    return "post" if pd.isna(v) else str(v)


def _norm_sponsored(v: Any) -> bool:
    if pd.isna(v):
        return False
    if isinstance(v, bool | np.bool_) or v in (0, 1):
        return bool(v)
    raise ValueError(f"sponsored {v!r} is not a boolean")


def _norm_locations(v: Any) -> int:
    if pd.isna(v):
        return 1
    if isinstance(v, bool) or not float(v).is_integer() or int(v) < 1:
        raise ValueError(f"n_locations {v!r} is not an integer >= 1")
    return int(v)


def ad_terms(ads: pd.DataFrame, prices: PriceTable) -> tuple[np.ndarray, np.ndarray]:
    """(expected USD cost, sponsored flag) per ad.

    The cost is ``price_usd`` when known, else the price table, which is consulted once per
    distinct (state, category, kind, sponsored, locations); values are normalised once per
    distinct raw value (columns are factorised first), so 1M ads cost little.
    """
    n = len(ads)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    norms = {
        "state": lambda v: "" if pd.isna(v) else str(v).upper(),
        "category": lambda v: "" if pd.isna(v) else str(v).lower(),
        "post_kind": _norm_kind,
        "sponsored": _norm_sponsored,
        "n_locations": _norm_locations,
    }
    combined = np.zeros(n, dtype=np.int64)
    values: list[list[Any]] = []
    for col, norm in norms.items():
        codes, uniques = pd.factorize(ads[col], use_na_sentinel=False)
        vals = []
        for k, raw in enumerate(uniques):
            try:
                v = norm(raw)
                if col == "post_kind" and v not in POST_KINDS:
                    raise ValueError(f"post_kind {v!r} is not one of {POST_KINDS}")
            except (TypeError, ValueError) as exc:
                i = int(np.argmax(codes == k))
                raise PaymentInputError(f"ad {ads['id'].iloc[i]!r}: {exc}") from None
            vals.append(v)
        values.append(vals)
        combined = combined * len(uniques) + codes
    uniq, inverse = np.unique(combined, return_inverse=True)
    table = np.empty(len(uniq))
    spons_u = np.empty(len(uniq), dtype=bool)
    for j, code in enumerate(uniq.tolist()):
        parts = []
        for vals in reversed(values):
            code, k = divmod(code, len(vals))
            parts.append(vals[k])
        state, category, kind, sponsored, n_loc = reversed(parts)
        table[j] = prices.cost_usd(state, category, kind, sponsored, n_loc)
        spons_u[j] = sponsored
    given = ads["price_usd"].to_numpy(dtype=np.float64, na_value=np.nan)
    cost = np.where(np.isnan(given), table[inverse], given)
    return cost, spons_u[inverse]


# ---------------------------------------------------------------------------------------
# the matcher
# ---------------------------------------------------------------------------------------
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


def coincidence(
    cost: np.ndarray,
    ad_i: np.ndarray,
    lag: np.ndarray,
    amount: np.ndarray,
    lone: np.ndarray,
    null_ad: np.ndarray,
    null_amount: np.ndarray,
    lo: int,
    hi: int,
    null_windows: int,
    link_group: np.ndarray | None = None,
    null_group: np.ndarray | None = None,
) -> np.ndarray:
    """Per link: the estimated share of links like it that are chance matches.

    A two-component estimate from the data at hand (module docstring, *coincidence*).
    Background: the pairs of unlinked ads with unexplained payments found in the null
    windows (``null_ad``, ``null_amount`` = usd_error / tolerance; ``2 * null_windows``
    windows long): a rate per second of lag at the ad's expected cost (to the cent), flat
    in lag, times their pooled shape in amount. Signal: the lone links (``lone``) at that
    cost net of the background, times the pooled lag and amount shapes of the lone links
    net of the background (``LAG_BINS`` and ``AMOUNT_BINS`` bins). With ``link_group`` and
    ``null_group`` (the payer record of each link's and null pair's tx, 0..2), rates and
    counts are per (cost, record) rather than per cost.
    """
    out = np.zeros(len(ad_i))
    if not len(ad_i):
        return out
    span = hi - lo + 1
    key_all = np.round(cost * 100).astype(np.int64)
    k_l, k_n = key_all[ad_i], key_all[null_ad]
    if link_group is not None:
        k_l, k_n = k_l * 4 + link_group, k_n * 4 + null_group
    keys, inv = np.unique(np.concatenate([k_l, k_n]), return_inverse=True)
    k_link, k_null = inv[: len(ad_i)], inv[len(ad_i) :]
    b_c = np.bincount(k_null, minlength=len(keys)) / (2 * int(null_windows) * span)  # per s
    n_c = np.bincount(k_link[lone], minlength=len(keys))
    s_c = np.maximum(n_c - b_c * span, 0.0)  # lone links at the cost, net of the background
    b_all = b_c.sum() * span  # expected background among lone links, all costs
    # lag: the background is flat; the signal's shape is what the lone links add to it
    nb = min(LAG_BINS, span)
    edges = lo + (np.arange(nb + 1) * span) // nb  # bin j holds lags [edges[j], edges[j + 1])
    width = np.diff(edges).astype(np.float64)
    l_bin = np.clip(np.searchsorted(edges, lag, side="right") - 1, 0, nb - 1)
    lag_shape = _net_shape(np.bincount(l_bin[lone], minlength=nb), b_all * width / span)
    # amount: both shapes from the data, over AMOUNT_BINS bins of usd_error / tolerance
    a_bin = np.clip(((amount + 1.0) / 2.0 * AMOUNT_BINS).astype(np.int64), 0, AMOUNT_BINS - 1)
    n_bin = np.clip(((null_amount + 1.0) / 2.0 * AMOUNT_BINS).astype(np.int64), 0, AMOUNT_BINS - 1)
    nulls = np.bincount(n_bin, minlength=AMOUNT_BINS).astype(np.float64)
    bg_amount = nulls / nulls.sum() if nulls.sum() else np.full(AMOUNT_BINS, 1 / AMOUNT_BINS)
    sig_amount = _net_shape(np.bincount(a_bin[lone], minlength=AMOUNT_BINS), b_all * bg_amount)
    bg = b_c[k_link] * bg_amount[a_bin]  # per second of lag, share in amount
    signal = s_c[k_link] * lag_shape[l_bin] / width[l_bin] * sig_amount[a_bin]
    total = bg + signal
    np.divide(bg, total, out=out, where=total > 0)
    return out


def payer_groups(payer: pd.Series, linked: np.ndarray) -> np.ndarray:
    """Per payment: 0 when its payer made fewer than 2 other payments (or is unknown), 1
    when at least half of them have a candidate ad, 2 when most of them have none."""
    codes, _ = pd.factorize(payer)
    known = codes >= 0
    c = np.where(known, codes, 0)
    n = np.bincount(c[known], minlength=c.max() + 1 if len(c) else 0)
    k = np.bincount(c[known], weights=linked[known], minlength=len(n))
    others = n[c] - 1
    others_linked = k[c] - linked
    g = np.where(2 * others_linked >= others, 1, 2)
    return np.where(known & (others >= 2), g, 0).astype(np.int64)


def definite_cutoff(coinc: np.ndarray, max_share: float) -> float:
    """The largest cutoff at which the links at or below it have a mean ``coinc`` (their
    estimated share of chance matches) of at most ``max_share`` (-1 when none qualifies)."""
    if not len(coinc):
        return -1.0
    v = np.sort(coinc)
    mean = np.cumsum(v) / np.arange(1, len(v) + 1)
    ends = np.append(np.flatnonzero(np.diff(v) > 0), len(v) - 1)  # last of each tie group
    ok = ends[mean[ends] <= max_share]
    return float(v[ok[-1]]) if len(ok) else -1.0


def _net_shape(counts: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Share per bin of ``counts`` net of the expected ``background`` (uniform if none)."""
    net = np.maximum(counts - background, 0.0)
    return net / net.sum() if net.sum() > 0 else np.full(len(counts), 1.0 / len(counts))


def _window_pairs(p: np.ndarray, ts: np.ndarray, lo: int, hi: int) -> int:
    """Number of (ad, tx) pairs with the lag inside the window; ``ts`` sorted times."""
    if not len(p) or not len(ts):
        return 0
    return int(
        (np.searchsorted(ts, p - lo, side="right") - np.searchsorted(ts, p - hi, side="left")).sum()
    )


# ---------------------------------------------------------------------------------------
# naive reference (tests, benchmarks)
# ---------------------------------------------------------------------------------------
def reference_match(
    matcher: PaymentMatcher,
    ads: pd.DataFrame,
    payments: pd.DataFrame,
    rates: Rates,
    ad_rows: slice | None = None,
) -> list[tuple[str, str, int, float]]:
    """The matching rule as a plain nested Python loop over every (ad, payment) pair.

    Slow on purpose: the check the vectorised path must agree with. Returns sorted
    ``(ad_id, txid, lag_s, usd_error)`` tuples. ``ad_rows`` restricts the outer loop.
    """
    lo, hi = matcher._check()
    ads = prepare_ads(ads)
    pay = prepare_payments(payments)
    table = as_rate_table(rates, matcher.rate_method, matcher.max_rate_staleness_s)
    cost_a, spons_a = ad_terms(ads, matcher.price_table or PriceTable())
    cost, spons = cost_a.tolist(), spons_a.tolist()
    ids = ads["id"].tolist()
    posted = ads["posted_ts"].tolist()
    txids = pay["txid"].tolist()
    seen = pay["first_seen_ts"].tolist()
    rate = table.rate_at(pay["first_seen_ts"], "nan")
    usd = (pay["sat_to_processor"].to_numpy(np.int64) / 1e8 * rate).tolist()
    r = int(matcher.rounding_sat or 0)
    round_usd = (r / 1e8 * rate).tolist()
    slack = matcher.block_slack_s
    blk = (block_timed(pay) if slack is not None else np.zeros(len(pay), bool)).tolist()
    out = []
    rng = range(len(ids))[ad_rows] if ad_rows is not None else range(len(ids))
    for i in rng:
        c = cost[i]
        if c <= 0:
            continue
        tl = matcher.sponsored_tolerance if spons[i] else matcher.tolerance
        pi = posted[i]
        for j in range(len(txids)):
            lag = pi - seen[j]
            if lag < (lo - slack if blk[j] else lo) or lag > hi:
                continue
            if not r or usd[j] < c:
                err = (usd[j] - c) / c
            else:  # cost inside (usd - u, usd] is exact; above it, the distance to usd - u
                err = max(usd[j] - round_usd[j] - c, 0.0) / c
            if abs(err) <= tl:
                out.append((ids[i], txids[j], lag, err))
    out.sort()
    return out


# ---------------------------------------------------------------------------------------
# one-to-one resolution
# ---------------------------------------------------------------------------------------
def resolve_one_to_one(
    links: pd.DataFrame, how: Literal["greedy", "optimal"] = "greedy", min_margin: float = 0.0
) -> pd.DataFrame:
    """At most one tx per ad and one ad per tx, as a separate, explicit step.

    Unambiguous links pass unchanged. Inside each ambiguity component, ``greedy`` takes
    links by decreasing ``fit`` (ties: smaller |usd_error|, smaller lag, then ids);
    ``optimal`` maximises the summed ``fit`` per component (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``). Kept links keep ``ambiguous=True`` and
    their confidence; their ``method`` gains ``+1to1-<how>`` so the pick is on record.

    ``min_margin > 0`` keeps a pick only when its ``fit`` beats every rival link (another
    link of its ad or of its tx) by more than ``min_margin``; an ad whose candidates fit
    about equally well is left unlinked rather than guessed.
    """
    if how not in ("greedy", "optimal"):
        raise ValueError(f"unknown one-to-one method {how!r} (greedy or optimal)")
    if not 0.0 <= min_margin < 1.0:
        raise ValueError(f"min_margin must be in [0, 1), got {min_margin}")
    amb = links["ambiguous"].to_numpy(dtype=bool)
    clear = links[~amb]
    rest = links[amb]
    if rest.empty:
        return links.copy()
    if how == "greedy":
        keep = _greedy(rest)
    else:
        keep = _optimal(rest)
    chosen = rest.loc[keep].copy()
    if min_margin > 0:
        rival = _rival_fit(rest).loc[chosen.index]
        chosen = chosen[chosen["fit"].to_numpy() - rival.to_numpy() > min_margin]
    chosen["method"] = chosen["method"].astype(str) + f"+1to1-{how}"
    out = pd.concat([clear, chosen])
    return out.sort_values(["ad_id", "txid"], kind="stable").reset_index(drop=True)


def _rival_fit(df: pd.DataFrame) -> pd.Series:
    """Per link: the best ``fit`` among the other links of its ad or of its tx (0: none)."""
    fit = df["fit"].astype(float)
    out = pd.Series(0.0, index=df.index)
    for key in ("ad_id", "txid"):
        g = fit.groupby(df[key].to_numpy())
        first = g.transform("max")
        # the best other link: the runner-up when this link is the (first) best, else the best
        rank = g.rank(method="first", ascending=False)
        second = fit.where(rank == 2).groupby(df[key].to_numpy()).transform("max").fillna(0.0)
        other = np.where(rank.to_numpy() == 1, second.to_numpy(), first.to_numpy())
        out = np.maximum(out, other)
    return pd.Series(np.asarray(out, dtype=float), index=df.index)


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(_abs=df["usd_error"].abs()).sort_values(
        ["fit", "_abs", "lag_s", "ad_id", "txid"],
        ascending=[False, True, True, True, True],
        kind="stable",
    )


def _greedy(df: pd.DataFrame) -> list:
    used_ads: set = set()
    used_txs: set = set()
    keep = []
    r = _ranked(df)
    for idx, ad, tx in zip(r.index, r["ad_id"], r["txid"], strict=True):
        if ad in used_ads or tx in used_txs:
            continue
        used_ads.add(ad)
        used_txs.add(tx)
        keep.append(idx)
    return keep


def _optimal(df: pd.DataFrame) -> list:
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a_codes, a_uniq = pd.factorize(df["ad_id"])
    t_codes, t_uniq = pd.factorize(df["txid"])
    na, nt = len(a_uniq), len(t_uniq)
    g = coo_matrix((np.ones(len(df)), (a_codes, na + t_codes)), shape=(na + nt, na + nt))
    _, comp = connected_components(g, directed=False)
    link_comp = comp[a_codes]
    keep = []
    index = df.index.to_numpy()
    fit = df["fit"].to_numpy(dtype=float)
    order = np.argsort(link_comp, kind="stable")
    bounds = np.flatnonzero(np.diff(link_comp[order])) + 1
    for rows in np.split(order, bounds):
        ra, ia = np.unique(a_codes[rows], return_inverse=True)
        rt, it = np.unique(t_codes[rows], return_inverse=True)
        m = np.full((len(ra), len(rt)), -1.0)  # -1: no link (never chosen over a real one)
        m[ia, it] = fit[rows]
        r, c = linear_sum_assignment(m, maximize=True)
        lookup = {(x, y): k for k, x, y in zip(rows, ia, it, strict=True)}
        keep.extend(index[lookup[(x, y)]] for x, y in zip(r, c, strict=True) if m[x, y] >= 0)
    return keep


# ---------------------------------------------------------------------------------------
# payments table from chain data
# ---------------------------------------------------------------------------------------
def payments_from_tables(
    outputs: pd.DataFrame,
    txs: pd.DataFrame,
    processors: Iterable[str],
    inputs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per tx that pays the processor set: txid, first_seen_ts, sat_to_processor.

    ``sat_to_processor`` sums the tx's outputs to processor addresses. With ``inputs``,
    transactions that spend from a processor address (sweeps, internal moves) are not
    customer payments and are left out. A paying tx without a first-seen time, or absent
    from ``txs``, is an error naming it.
    """
    proc = pd.Index(list(processors), dtype="string").unique()
    out = outputs[outputs["address"].astype("string").isin(proc).fillna(False).to_numpy(bool)]
    if out["sat"].isna().any():
        raise PaymentInputError(
            f"payment tx {out.loc[out['sat'].isna(), 'txid'].iloc[0]!r}: output value unknown"
        )
    sat = out.groupby("txid", sort=True)["sat"].sum().astype("int64")
    if inputs is not None and len(sat):
        spends = inputs.loc[
            inputs["address"].astype("string").isin(proc).fillna(False).to_numpy(bool), "txid"
        ]
        sat = sat[~sat.index.isin(spends)]
    seen = txs.drop_duplicates("txid").set_index("txid")["first_seen_ts"]
    first = sat.index.to_series().map(seen)
    if first.isna().any():
        raise PaymentInputError(
            f"payment tx {first.index[first.isna().to_numpy()][0]!r}: no first-seen time "
            "(not in txs, or neither mempool nor block time known)"
        )
    out = pd.DataFrame(
        {
            "txid": sat.index.astype("string"),
            "first_seen_ts": first.to_numpy().astype("int64"),
            "sat_to_processor": sat.to_numpy(),
        }
    )
    if "block_ts" in txs.columns:
        block = txs.drop_duplicates("txid").set_index("txid")["block_ts"]
        out["block_ts"] = sat.index.to_series().map(block).to_numpy()
    return out
