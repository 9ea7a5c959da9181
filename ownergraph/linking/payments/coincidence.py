"""The null model of payment matching: how likely a lone (ad, tx) candidate is a
chance match (:func:`coincidence`, from null windows on both sides of the match window,
stratified by payer), and the cutoff that keeps the definite links' estimated share of
chance matches under ``max_coincidence`` (:func:`definite_cutoff`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_MAX_COINCIDENCE = 0.003  # estimated share of chance matches allowed among definite links
NULL_WINDOWS = 10  # null windows per side for the coincidence estimate
LAG_BINS = 16  # lag bins of the window for the coincidence estimate
AMOUNT_BINS = 10  # bins of usd_error / tolerance for the coincidence estimate


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
