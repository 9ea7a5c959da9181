"""The matching rule as a naive nested loop over every (ad, payment) pair: the
reference the fast strategies are tested and benchmarked against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ownergraph.linking.payments.inputs import (
    Rates,
    ad_terms,
    as_rate_table,
    block_timed,
    prepare_ads,
    prepare_payments,
)
from ownergraph.linking.payments.matcher import PaymentMatcher
from ownergraph.linking.prices import PriceTable


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
