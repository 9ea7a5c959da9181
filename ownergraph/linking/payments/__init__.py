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

The parts, one module each: ``inputs`` (columns, checks, expected costs, the payments
table from chain data), ``matcher`` (the estimator), ``coincidence`` (the null model and
the definite cutoff), ``resolve`` (one-to-one resolution), ``reference`` (the naive loop).
"""

from ownergraph.linking.payments.coincidence import (
    AMOUNT_BINS,
    DEFAULT_MAX_COINCIDENCE,
    LAG_BINS,
    NULL_WINDOWS,
    coincidence,
    definite_cutoff,
    payer_groups,
)
from ownergraph.linking.payments.inputs import (
    AD_COLUMNS,
    PAYMENT_COLUMNS,
    PaymentInputError,
    Rates,
    ad_terms,
    as_rate_table,
    block_timed,
    expected_costs,
    payments_from_tables,
    prepare_ads,
    prepare_payments,
)
from ownergraph.linking.payments.matcher import (
    BLOCK_TIME_FIT,
    DEFAULT_BLOCK_SLACK_S,
    DEFAULT_WINDOW,
    LINK_COLUMNS,
    METHOD,
    PAID_FOR_PROPS,
    MatchStats,
    PaymentMatcher,
)
from ownergraph.linking.payments.reference import reference_match
from ownergraph.linking.payments.resolve import resolve_one_to_one

__all__ = [
    "AD_COLUMNS", "AMOUNT_BINS", "BLOCK_TIME_FIT", "DEFAULT_BLOCK_SLACK_S",
    "DEFAULT_MAX_COINCIDENCE", "DEFAULT_WINDOW", "LAG_BINS", "LINK_COLUMNS", "METHOD",
    "NULL_WINDOWS", "PAID_FOR_PROPS", "PAYMENT_COLUMNS", "MatchStats", "PaymentInputError",
    "PaymentMatcher", "Rates", "ad_terms", "as_rate_table", "block_timed", "coincidence",
    "definite_cutoff", "expected_costs", "payer_groups", "payments_from_tables",
    "prepare_ads", "prepare_payments", "reference_match", "resolve_one_to_one",
]  # fmt: skip
