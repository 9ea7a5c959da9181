"""Payment matching: hand-built cases, agreement with the naive reference, one-to-one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fuzzing import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from ownergraph.linking.payments import (
    DEFAULT_MAX_COINCIDENCE,
    METHOD,
    PaymentInputError,
    PaymentMatcher,
    coincidence,
    definite_cutoff,
    expected_costs,
    payer_groups,
    payments_from_tables,
    reference_match,
    resolve_one_to_one,
)
from ownergraph.linking.prices import PriceTable
from ownergraph.loaders.rates import RateError
from ownergraph.stages.payments import LinkConfig

RATE = 500.0  # USD per BTC, flat unless a test says otherwise
FLAT = pd.DataFrame({"time_ts": [0, 10_000_000], "usd_per_btc": [RATE, RATE]})


def sat_for(usd: float, rate: float = RATE) -> int:
    return round(usd / rate * 1e8)


def ad(id_: str, ts: int, state: str = "CA", **kw) -> dict:
    row = {"id": id_, "posted_ts": ts, "state": state, "category": "escorts"}
    row.update({"post_kind": "post", "sponsored": False, "n_locations": 1, "price_usd": None})
    row.update(kw)
    return row


def tx(txid: str, ts: int, sat: int) -> dict:
    return {"txid": txid, "first_seen_ts": ts, "sat_to_processor": sat}


def match(ads: list[dict], txs: list[dict], rates=FLAT, **kw) -> pd.DataFrame:
    return PaymentMatcher(**kw).match(pd.DataFrame(ads), pd.DataFrame(txs), rates)


def pairs(links: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(links["ad_id"], links["txid"], strict=True))


# -- the rule ------------------------------------------------------------------------------
def test_one_to_one_margin_leaves_close_calls_unlinked():
    ads = [ad("a1", 10_000)]
    txs = [tx("t1", 9_970, sat_for(12.0)), tx("t2", 9_900, sat_for(12.0))]  # lag 30 / 100
    links = match(ads, txs)
    fit = dict(zip(links["txid"], links["fit"], strict=True))
    assert fit["t1"] == pytest.approx(1.0) and fit["t2"] == pytest.approx(2 / 3)
    assert pairs(resolve_one_to_one(links, "greedy")) == {("a1", "t1")}
    assert pairs(resolve_one_to_one(links, "greedy", min_margin=0.3)) == {("a1", "t1")}
    assert pairs(resolve_one_to_one(links, "greedy", min_margin=0.4)) == set()
    # the rival may be on the tx's side: t1 also fits a2 (lag 60, fit 1.0): a tie
    both = match([*ads, ad("a2", 10_030)], txs)
    kept = resolve_one_to_one(both, "optimal", min_margin=0.01)
    assert ("a1", "t1") not in pairs(kept) and ("a2", "t1") not in pairs(kept)
    with pytest.raises(ValueError, match="min_margin"):
        resolve_one_to_one(links, "greedy", min_margin=1.0)


def test_block_timed_payment_matches_only_with_a_slack():
    # the mempool log missed t1: its first-seen time fell back to its block, 200 s after
    # the ad; t2 was seen in the mempool 30 s before the ad of another state
    ads = [ad("a1", 10_000), ad("a2", 10_000, state="AL", post_kind="bump")]  # 12 / 3 USD
    txs = [
        {**tx("t1", 10_200, sat_for(12.0)), "block_ts": 10_200},
        {**tx("t2", 9_970, sat_for(3.0)), "block_ts": 10_200},
    ]
    assert pairs(match(ads, txs)) == {("a2", "t2")}
    links = match(ads, txs, block_slack_s=1_800).set_index("ad_id")
    assert set(links.index) == {"a1", "a2"}
    assert links.loc["a1", "method"] == METHOD + "/block-time"
    assert links.loc["a1", "lag_s"] == -200
    assert links.loc["a1", "confidence"] == pytest.approx(0.5)  # fit halved
    assert links.loc["a2", "method"] == METHOD and links.loc["a2", "confidence"] == 1.0
    # its lag is not observed: a lone block-timed link is never definite (the plain rule: it is)
    assert links.loc["a1", "ambiguous"] and not links.loc["a2", "ambiguous"]
    assert np.isnan(links.loc["a1", "coincidence"]) and links.loc["a2", "coincidence"] == 0
    plain = match(ads, txs, block_slack_s=1_800, max_coincidence=None).set_index("ad_id")
    assert not plain["ambiguous"].any()
    # a block mined more than the slack after the ad is still out
    assert not len(match([ad("a1", 10_000)], [txs[0]], block_slack_s=100))
    with pytest.raises(ValueError, match="block_slack_s"):
        match(ads, txs, block_slack_s=-1)


def test_processor_rounding_up_is_allowed_for_when_given():
    # a 6 USD bump (0.012 BTC at 500 USD) quoted at a rate 0.5% below the market, 0.01206
    # BTC, rounded up to a multiple of 1e-3 BTC: 0.013 BTC = 6.50 USD (+8%)
    rounded = 1_300_000
    assert not len(match([ad("a1", 10_000, post_kind="bump")], [tx("t1", 9_970, rounded)]))
    links = match(
        [ad("a1", 10_000, post_kind="bump")], [tx("t1", 9_970, rounded)], rounding_sat=100_000
    )
    assert pairs(links) == {("a1", "t1")}
    assert links["usd_error"].iloc[0] == 0.0  # the cost lies inside (6.00, 6.50]
    # paying less than the cost is never explained by rounding up
    short = match(
        [ad("a1", 10_000, post_kind="bump")], [tx("t1", 9_970, sat_for(5.8))], rounding_sat=100_000
    )
    assert not len(short)
    # more than one rounding step above the cost (+ tolerance) is still out
    over = match(
        [ad("a1", 10_000, post_kind="bump")],
        [tx("t1", 9_970, rounded + 100_000)],
        rounding_sat=100_000,
    )
    assert not len(over)
    with pytest.raises(ValueError, match="rounding_sat"):
        match([ad("a1", 10_000)], [tx("t1", 9_970, 1)], rounding_sat=0)


def test_exact_match_is_one_confident_link():
    links = match([ad("a1", 10_000)], [tx("t1", 9_970, sat_for(12.0))])  # CA post: $12
    assert len(links) == 1
    row = links.iloc[0]
    assert (row["ad_id"], row["txid"], row["lag_s"]) == ("a1", "t1", 30)
    assert row["usd_error"] == pytest.approx(0.0, abs=1e-9)
    assert row["candidates"] == 1 and row["tx_candidates"] == 1
    assert not row["ambiguous"]
    assert row["confidence"] == pytest.approx(1.0)
    assert row["method"] == METHOD


@pytest.mark.parametrize(
    ("lag", "linked"), [(-1, False), (0, True), (60, True), (120, True), (121, False)]
)
def test_window_bounds_are_inclusive(lag: int, linked: bool):
    links = match([ad("a1", 10_000)], [tx("t1", 10_000 - lag, sat_for(12.0))])
    assert (len(links) == 1) is linked


def test_negative_lower_bound_allows_clock_skew():
    links = match([ad("a1", 10_000)], [tx("t1", 10_005, sat_for(12.0))], window=(-10, 120))
    assert pairs(links) == {("a1", "t1")}
    assert links["lag_s"].iloc[0] == -5


@pytest.mark.parametrize(("factor", "linked"), [(1.019, True), (0.981, True), (1.021, False)])
def test_two_percent_tolerance(factor: float, linked: bool):
    links = match([ad("a1", 10_000)], [tx("t1", 9_990, sat_for(12.0 * factor))])
    assert (len(links) == 1) is linked


def test_sponsored_ads_get_five_percent():
    # CA sponsored post: 12 + 35 = 47 USD; 4% off passes at 5%, not for a plain ad at 2%
    spons = match([ad("a1", 10_000, sponsored=True)], [tx("t1", 9_990, sat_for(47 * 1.04))])
    assert pairs(spons) == {("a1", "t1")}
    assert spons["usd_expected"].iloc[0] == pytest.approx(47.0)
    plain = match([ad("a1", 10_000, price_usd=47.0)], [tx("t1", 9_990, sat_for(47 * 1.04))])
    assert plain.empty


def test_several_locations_cost_the_sum():
    # AL (other tier) post: 6 USD per location, 3 locations: 18 USD
    three = [ad("a1", 10_000, state="AL", n_locations=3)]
    assert pairs(match(three, [tx("t1", 9_990, sat_for(18.0))])) == {("a1", "t1")}
    assert match(three, [tx("t1", 9_990, sat_for(6.0))]).empty


def test_price_usd_overrides_the_table():
    links = match([ad("a1", 10_000, price_usd=20.0)], [tx("t1", 9_990, sat_for(20.0))])
    assert pairs(links) == {("a1", "t1")}
    assert match([ad("a1", 10_000, price_usd=20.0)], [tx("t1", 9_990, sat_for(12.0))]).empty


def test_expected_costs_from_the_price_table():
    ads = pd.DataFrame(
        [
            ad("a", 1, "CA"),
            ad("b", 1, "AL", post_kind="bump"),
            ad("c", 1, "NY", category="body rubs", post_kind="repost", n_locations=2),
            ad("d", 1, "TX", sponsored=True, price_usd=99.0),
        ]
    ).reindex(columns=["id", "state", "category", "post_kind", "sponsored", "n_locations",
                       "price_usd"])  # fmt: skip
    cost = expected_costs(ads, PriceTable())
    assert cost.tolist() == pytest.approx([12.0, 3.0, 9.0 * 0.75 * 2, 99.0])


def test_two_competing_txs_form_an_ambiguity_set():
    ads = [ad("a1", 10_000)]
    txs = [tx("t1", 9_990, sat_for(12.0)), tx("t2", 9_950, sat_for(12.1))]
    links = match(ads, txs)
    assert pairs(links) == {("a1", "t1"), ("a1", "t2")}
    assert links["ambiguous"].all()
    assert (links["candidates"] == 2).all()
    assert links["confidence"].max() <= 0.5 + 1e-12  # competition 1/2
    one = resolve_one_to_one(links)
    assert pairs(one) == {("a1", "t1")}  # exact amount, shorter lag
    assert one["ambiguous"].all()  # the pick does not hide the ambiguity
    assert one["method"].iloc[0] == METHOD + "+1to1-greedy"


def test_a_tx_fitting_two_ads_is_ambiguous():
    ads = [ad("a1", 10_000), ad("a2", 10_030)]
    links = match(ads, [tx("t1", 9_990, sat_for(12.0))])
    assert pairs(links) == {("a1", "t1"), ("a2", "t1")}
    assert (links["tx_candidates"] == 2).all() and (links["candidates"] == 1).all()
    assert links["ambiguous"].all()
    assert len(resolve_one_to_one(links)) == 1


def test_unambiguous_links_pass_one_to_one_unchanged():
    ads = [ad("a1", 10_000), ad("a2", 20_000)]
    links = match(ads, [tx("t1", 9_990, sat_for(12.0)), tx("t2", 19_990, sat_for(12.0))])
    pd.testing.assert_frame_equal(resolve_one_to_one(links), links)


def test_optimal_one_to_one_beats_greedy_when_it_should():
    # a1 fits t1 (exact) and t2 (1.5% off); a2 fits only t1 (1% off).
    ads = [ad("a1", 10_000), ad("a2", 10_000, price_usd=12.0 / 1.01)]
    txs = [tx("t1", 9_990, sat_for(12.0)), tx("t2", 9_990, sat_for(12.0 * 1.015))]
    links = match(ads, txs)
    assert pairs(links) == {("a1", "t1"), ("a1", "t2"), ("a2", "t1")}
    assert pairs(resolve_one_to_one(links, "greedy")) == {("a1", "t1")}
    assert pairs(resolve_one_to_one(links, "optimal")) == {("a1", "t2"), ("a2", "t1")}


# -- rates -----------------------------------------------------------------------------------
def test_rate_is_read_at_first_seen_linear_or_previous():
    rates = pd.DataFrame({"time_ts": [0, 1_000], "usd_per_btc": [400.0, 600.0]})
    ads = [ad("a1", 530)]
    txs = [tx("t1", 500, sat_for(12.0, rate=500.0))]  # linear rate at 500 s: 500 USD/BTC
    assert pairs(match(ads, txs, rates)) == {("a1", "t1")}
    assert match(ads, txs, rates, rate_method="previous").empty  # 400 USD/BTC: 20% off


def test_missing_rate_inside_a_window_is_an_error_naming_the_tx():
    rates = pd.DataFrame({"time_ts": [5_000, 6_000], "usd_per_btc": [RATE, RATE]})
    with pytest.raises(RateError, match="t1"):
        match([ad("a1", 10_000)], [tx("t1", 9_990, sat_for(12.0))], rates)
    # a payment without a rate but far from every ad is harmless
    assert match([ad("a1", 5_500)], [tx("t1", 9_990, sat_for(12.0))], rates).empty


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ads", "txs", "message"),
    [
        ([ad("a1", 1), ad("a1", 2)], [tx("t1", 1, 5)], "'a1'.*more than once"),
        ([ad("a1", None)], [tx("t1", 1, 5)], "'a1'.*posted_ts"),
        ([ad("a1", 1, post_kind="boost")], [tx("t1", 1, 5)], "'a1'.*post_kind"),
        ([ad("a1", 1, price_usd=-3)], [tx("t1", 1, 5)], "'a1'.*price_usd"),
        ([ad("a1", 1)], [tx("t1", 1, 0)], "'t1'.*sat_to_processor"),
        ([ad("a1", 1)], [tx("t1", None, 5)], "'t1'.*first_seen_ts"),
        ([ad("a1", 1)], [tx("t1", 1, 5), tx("t1", 2, 5)], "'t1'.*more than once"),
    ],
)
def test_bad_records_are_named(ads, txs, message):
    with pytest.raises(PaymentInputError, match=message):
        match(ads, txs)


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="window"):
        match([ad("a1", 1)], [tx("t1", 1, 5)], window=(10, 0))
    with pytest.raises(ValueError, match="tolerance"):
        match([ad("a1", 1)], [tx("t1", 1, 5)], tolerance=0)


# -- definite links: the coincidence estimate ------------------------------------------------
def dense_market() -> tuple[list[dict], list[dict]]:
    """20 CA posts (12 USD) nobody paid in BTC, each with four unexplained 12-USD payments
    500 s and 900 s before and after it (in the null windows, outside every ad's window);
    5 CA posts and 20 AL bumps (3 USD) each paid 30 s before it, alone in its window."""
    ads, txs = [], []
    for i in range(20):
        t0 = 100_000 + 10_000 * i
        ads.append(ad(f"u{i}", t0))
        txs += [tx(f"n{i}-{d}", t0 + d, sat_for(12.0)) for d in (-900, -500, 500, 900)]
    for i in range(5):
        t0 = 500_000 + 10_000 * i
        ads.append(ad(f"c{i}", t0))
        txs.append(tx(f"c{i}", t0 - 30, sat_for(12.0)))
    for i in range(20):
        t0 = 800_000 + 10_000 * i
        ads.append(ad(f"b{i}", t0, state="AL", post_kind="bump"))
        txs.append(tx(f"b{i}", t0 - 30, sat_for(3.0)))
    return ads, txs


def test_lone_links_at_a_cost_full_of_chance_payments_are_not_definite():
    ads, txs = dense_market()
    flat = pd.DataFrame({"time_ts": [0, 2_000_000], "usd_per_btc": [RATE, RATE]})
    links = match(ads, txs, rates=flat).set_index("ad_id")
    assert (links["candidates"] == 1).all() and (links["tx_candidates"] == 1).all()  # all lone
    twelve, three = links.loc[[f"c{i}" for i in range(5)]], links.loc[[f"b{i}" for i in range(20)]]
    # 80 null pairs at 12 USD over 2 * 10 windows of 121 s: b = 0.033 chance links per s of
    # lag, 4 expected among the 5 lone 12-USD links: 1 left as signal, all of it in the lag
    # bin [30, 37) (7 s), at the amount of the background; none at 3 USD
    b = 80 / (2 * 10 * 121)
    assert twelve["coincidence"].to_numpy() == pytest.approx(b / (b + (5 - b * 121) / 7))
    assert twelve["ambiguous"].all() and twelve["candidates"].eq(1).all()
    assert (three["coincidence"] == 0).all() and not three["ambiguous"].any()
    assert (twelve["confidence"] < 0.85).all() and (three["confidence"] == 1).all()
    # the plain rule calls every lone link definite; a looser share admits the 12-USD ones
    assert not match(ads, txs, rates=flat, max_coincidence=None)["ambiguous"].any()
    assert not match(ads, txs, rates=flat, max_coincidence=0.5)["ambiguous"].any()
    # without the unexplained payments nothing looks like chance
    alone = match(ads, [t for t in txs if not t["txid"].startswith("n")], rates=flat)
    assert not alone["ambiguous"].any() and (alone["coincidence"] == 0).all()


def test_a_payer_whose_payments_line_up_with_ads_is_told_from_the_background():
    # the 12-USD lone links are paid by one advertiser whose every payment has a candidate
    # ad; the unexplained payments come from another payer: per payer record, the links'
    # stratum holds no background at all
    ads, txs = dense_market()
    for row in txs:
        row["payer"] = "w-noise" if row["txid"].startswith("n") else "w-owner"
    flat = pd.DataFrame({"time_ts": [0, 2_000_000], "usd_per_btc": [RATE, RATE]})
    links = match(ads, txs, rates=flat).set_index("ad_id")
    assert (links["coincidence"] == 0).all() and not links["ambiguous"].any()
    # an unknown payer (fewer than two other payments) falls back to the cost's rate
    for row in txs:
        row["payer"] = row["txid"]
    assert match(ads, txs, rates=flat).set_index("ad_id").loc["c0", "ambiguous"]


def test_payer_records():
    payer = pd.Series(["a", "a", "a", "b", "b", "b", "b", "c", None])
    linked = np.array([1, 1, 0, 0, 0, 0, 1, 1, 1], bool)
    # a: 2 others, >= half linked -> 1; b: 3 others, mostly unlinked -> 2 (b's own linked one:
    # 0 of 3 others linked); c: alone -> 0; unknown -> 0
    assert payer_groups(payer, linked).tolist() == [1, 1, 1, 2, 2, 2, 2, 0, 0]


def test_coincidence_is_background_over_background_plus_signal():
    # one cost (12 USD); window 0..9 (10 s: 10 lag bins of 1 s), 1 null window a side: 20 s
    # of null lag. 4 null pairs at amount 0: background 0.2 links/s; 10 lone links, all at lag
    # 0 and amount 0: signal 10 - 0.2 * 10 = 8 links, all in the first lag bin
    cost = np.array([12.0])
    ad_i = np.zeros(10, np.int64)
    lag, amount = np.zeros(10), np.zeros(10)
    got = coincidence(cost, ad_i, lag, amount, np.ones(10, bool), np.zeros(4, np.int64),
                      np.zeros(4), 0, 9, 1)  # fmt: skip
    assert got == pytest.approx(np.full(10, 0.2 / (0.2 + 8 / 1)))
    assert (coincidence(cost, ad_i, lag, amount, np.ones(10, bool), np.zeros(0, np.int64),
                        np.zeros(0), 0, 9, 1) == 0).all()  # fmt: skip


def test_definite_cutoff_keeps_the_mean_within_the_share():
    v = np.array([0.0, 0.0, 0.004, 0.01, 0.02, 0.5])
    assert definite_cutoff(v, 0.005) == 0.01  # mean of the first four 0.0035; with 0.02: 0.0068
    assert definite_cutoff(v, 0.0) == 0.0
    assert definite_cutoff(np.array([0.3, 0.3]), 0.1) == -1.0  # none qualifies
    assert definite_cutoff(np.array([0.0, 0.01, 0.01]), 0.005) == 0.0  # ties go together
    assert definite_cutoff(np.zeros(0), 0.005) == -1.0


def test_max_coincidence_settings():
    assert LinkConfig(max_coincidence=1.0).max_coincidence is None  # every lone link
    assert LinkConfig().matcher(None).max_coincidence == DEFAULT_MAX_COINCIDENCE
    with pytest.raises(ValueError, match="max_coincidence"):
        LinkConfig(max_coincidence=-0.1)
    with pytest.raises(ValueError, match="null_windows"):
        match([ad("a1", 1)], [tx("t1", 1, 5)], null_windows=0)


# -- vectorised == naive ---------------------------------------------------------------------
PRICES = (3.0, 4.5, 6.0, 9.0, 12.0, 18.0, 24.0, 47.0)


@st.composite
def worlds(draw):
    n_ads = draw(st.integers(0, 25))
    n_txs = draw(st.integers(0, 40))
    span = draw(st.sampled_from([300, 2_000, 50_000]))
    ads = [
        ad(
            f"a{i}",
            draw(st.integers(0, span)),
            state=draw(st.sampled_from(["CA", "AL"])),
            post_kind=draw(st.sampled_from(["post", "bump", "repost"])),
            sponsored=draw(st.booleans()),
            n_locations=draw(st.integers(1, 3)),
            price_usd=draw(st.one_of(st.none(), st.sampled_from(PRICES))),
        )
        for i in range(n_ads)
    ]
    txs = [
        tx(
            f"t{j}",
            draw(st.integers(-150, span)),
            max(1, sat_for(draw(st.sampled_from(PRICES)) * draw(st.floats(0.93, 1.07)), 450.0)),
        )
        for j in range(n_txs)
    ]
    for row in txs:  # no block, block-timed (mempool missed it), or seen before its block
        step = draw(st.sampled_from([None, 0, 0, 240]))
        row["block_ts"] = None if step is None else row["first_seen_ts"] + step
    lo = draw(st.integers(-20, 30))
    rounding = draw(st.sampled_from([None, 1, 10_000, 100_000]))
    slack = draw(st.sampled_from([None, 0, 600]))
    return ads, txs, (lo, lo + draw(st.integers(0, 150))), rounding, slack


RATES = pd.DataFrame({"time_ts": [-1_000, 20_000, 60_000], "usd_per_btc": [450.0, 470.0, 440.0]})


@settings(max_examples=examples(50))
@given(worlds())
def test_vectorised_matches_the_naive_loop(world):
    ads, txs, window, rounding, slack = world
    ads_df = pd.DataFrame(ads, columns=list(ad("x", 0)))
    txs_df = pd.DataFrame(txs, columns=["txid", "first_seen_ts", "sat_to_processor", "block_ts"])
    kw = {"window": window, "rounding_sat": rounding, "block_slack_s": slack}
    expected = reference_match(PaymentMatcher(**kw), ads_df, txs_df, RATES)
    for strategy in ("binned", "window"):
        m = PaymentMatcher(strategy=strategy, chunk_pairs=7, **kw)
        links = m.match(ads_df, txs_df, RATES)
        got = sorted(zip(links["ad_id"], links["txid"], links["lag_s"], links["usd_error"],
                         strict=True))  # fmt: skip
        assert [g[:3] for g in got] == [e[:3] for e in expected]
        assert np.allclose([g[3] for g in got], [e[3] for e in expected], rtol=0, atol=1e-12)
        # counts and flags follow from the pairs
        n_ad = links.groupby("ad_id")["txid"].transform("size")
        n_tx = links.groupby("txid")["ad_id"].transform("size")
        assert (links["candidates"] == n_ad).all() and (links["tx_candidates"] == n_tx).all()
        lone = (n_ad == 1) & (n_tx == 1)
        assert (lone | links["ambiguous"]).all()  # a definite link is the only candidate
        assert not (~links["ambiguous"] & links["method"].str.endswith("/block-time")).any()
        plain = PaymentMatcher(strategy=strategy, max_coincidence=None, **kw)
        assert (plain.match(ads_df, txs_df, RATES)["ambiguous"] == ~lone.to_numpy()).all()
        # confidence 0: the estimate says the link's cost holds only chance payments
        assert ((links["confidence"] >= 0) & (links["confidence"] <= 1)).all()
        block = links["method"].str.endswith("/block-time").to_numpy()
        assert (links["coincidence"].isna().to_numpy() == block).all()
        assert links["coincidence"].dropna().between(0, 1).all()
        for how in ("greedy", "optimal"):
            one = resolve_one_to_one(links, how)
            assert not one["ad_id"].duplicated().any() and not one["txid"].duplicated().any()
            assert pairs(one) <= pairs(links)
            # every dropped link conflicts with a kept one (the pick is maximal)
            dropped = pairs(links) - pairs(one)
            assert all(a in set(one["ad_id"]) or t in set(one["txid"]) for a, t in dropped)


# -- payments from chain tables --------------------------------------------------------------
def test_payments_from_tables_sums_processor_outputs_and_skips_sweeps():
    outputs = pd.DataFrame(
        {
            "txid": ["p1", "p1", "p1", "p2", "sw", "x"],
            "vout": [0, 1, 2, 0, 0, 0],
            "address": ["inv1", "inv2", "change", "inv3", "cold", "other"],
            "sat": [1000, 500, 9000, 700, 2100, 50],
        }
    )
    inputs = pd.DataFrame({"txid": ["sw", "sw", "p1"], "address": ["inv1", "inv3", "own"]})
    txs = pd.DataFrame({"txid": ["p1", "p2", "sw", "x"], "first_seen_ts": [10, 20, 30, 40]})
    procs = ["inv1", "inv2", "inv3", "cold"]
    pay = payments_from_tables(outputs, txs, procs, inputs)
    assert pay.to_dict("records") == [
        {"txid": "p1", "first_seen_ts": 10, "sat_to_processor": 1500},
        {"txid": "p2", "first_seen_ts": 20, "sat_to_processor": 700},
    ]
    with pytest.raises(PaymentInputError, match="'p2'.*first-seen"):
        payments_from_tables(outputs, txs[txs["txid"] != "p2"], procs, inputs)


def test_huge_spans_fall_back_to_the_window_strategy():
    # bins x cents would overflow the int64 key: the matcher must still be right
    rates = pd.DataFrame({"time_ts": [0, 2 * 10**12], "usd_per_btc": [RATE, RATE]})
    ads = [ad("a1", 10_000), ad("a2", 10**12 + 50)]
    txs = [tx("t1", 9_990, sat_for(12.0)), tx("t2", 10**12, sat_for(12.0)), tx("big", 5, 10**13)]
    m = PaymentMatcher(window=(0, 60))
    links, stats = m.match_stats(pd.DataFrame(ads), pd.DataFrame(txs), rates)
    assert pairs(links) == {("a1", "t1"), ("a2", "t2")}
    assert stats.pairs_evaluated == stats.window_pairs  # the window path ran


def test_the_matcher_is_stateless():
    # fit only validates; a match leaves the estimator exactly as it was (no links_,
    # stats_ or per-call arrays on it), so one matcher can match twice in a row
    rates = pd.DataFrame({"time_ts": [0, 10**6], "usd_per_btc": [RATE, RATE]})
    ads = pd.DataFrame([ad("a1", 10_000)])
    txs = pd.DataFrame([tx("t1", 9_990, sat_for(12.0))])
    m = PaymentMatcher(window=(0, 60), rounding_sat=1000)
    before = dict(vars(m))
    assert m.fit() is m and vars(m) == before
    first = m.match(ads, txs, rates)
    assert vars(m) == before
    assert m.match(ads, txs, rates).equals(first)
    with pytest.raises(ValueError, match="tolerance must be in"):
        PaymentMatcher(tolerance=2.0).fit()
