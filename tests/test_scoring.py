"""Indicators, score and flags on small hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from ownergraph.owners import scoring

DAY = 86_400


def _ads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["x1", "x2", "x3", "y1"],
            "posted_ts": [10 * DAY + 5, 10 * DAY + 500, 12 * DAY, 3 * DAY],
            "state": ["NV", "NV", "AZ", "TX"],
            "city": ["Las Vegas", "las vegas", "Phoenix", "Houston"],
            "name": ["Kandy", "KANDY ", "Jade", None],
            "age": [22, 22, 21, 30],
            "price_usd": [None, None, 10.0, None],
            "category": ["escorts"] * 4,
            "post_kind": ["post"] * 4,
            "sponsored": [False, False, False, False],
            "n_locations": [1, 1, 1, 1],
        }
    )


MEMBERSHIP = pd.Series({"x1": "X", "x2": "X", "x3": "X", "y1": "Y"})
LINKS = pd.DataFrame(
    {
        "ad": ["x1", "x2", "x3", "y1", "x3"],
        "kind": ["phone", "phone", "author", "phone", "wallet"],
        "hub": ["p1", "p1", "u1", "p9", "w1"],
    }
)
PAYMENTS = pd.DataFrame(
    {
        "ad": ["x1", "x3"],
        "txid": ["t1", "t3"],
        "first_seen_ts": [10 * DAY, 12 * DAY],
        "usd_error": [0.0, -0.02],
        "confidence": [0.9, 0.8],
        "sat": [20_000, 30_000],
    }
)


def test_indicators_count_distinct_values_per_group():
    ind = scoring.compute_indicators(_ads(), MEMBERSHIP, LINKS, PAYMENTS)
    x = ind.loc["X"]
    assert (x["ads"], x["states"], x["cities"], x["active_days"]) == (3, 2, 2, 2)
    assert x["ads_per_day"] == pytest.approx(1.5)
    assert (x["names"], x["ages"]) == (2, 2)  # "Kandy" and "KANDY " are one name
    assert (x["phones"], x["emails"], x["wallets"]) == (1, 0, 1)
    assert x["evidence"] == "phone"  # the author and wallet hubs hold one ad each here
    assert x["btc_spent"] == pytest.approx(0.0005)
    # expected cost NV metro post 12 (x1) + price_usd 10 (x3) x (1 - 2%)
    assert x["usd_spent"] == pytest.approx(12 + 9.8)
    y = ind.loc["Y"]
    assert (y["ads"], y["names"], y["btc_spent"], y["usd_spent"]) == (1, 0, 0.0, 0.0)


def test_usd_from_exchange_rates_when_given():
    rates = pd.DataFrame({"time_ts": [0, 11 * DAY, 13 * DAY], "usd_per_btc": [400.0, 500.0, 600.0]})
    ind = scoring.compute_indicators(_ads(), MEMBERSHIP, LINKS, PAYMENTS, rates=rates)
    assert ind.loc["X", "usd_spent"] == pytest.approx(0.0002 * 400 + 0.0003 * 500)
    late = PAYMENTS.assign(first_seen_ts=[-5, 12 * DAY])
    with pytest.raises(ValueError, match=r"no BTC/USD rate .*t1"):
        scoring.compute_indicators(_ads(), MEMBERSHIP, LINKS, late, rates=rates)


def test_every_ad_needs_an_owner():
    with pytest.raises(ValueError, match=r"1 ads have no owner group.*y1"):
        scoring.compute_indicators(_ads(), MEMBERSHIP.drop("y1"), LINKS, PAYMENTS)


def _row(**kw) -> pd.DataFrame:
    base = dict(ads=1, states=1, cities=1, active_days=1, ads_per_day=1.0, names=1, ages=1,
                phones=1, emails=0, wallets=0, btc_spent=0.0, usd_spent=0.0)  # fmt: skip
    base.update(kw)
    return pd.DataFrame([base], index=["o"])


def test_score_is_zero_for_one_person_and_grows_with_each_indicator():
    assert scoring.score(_row()).iloc[0] == 0.0
    prev = 0.0
    for names in (2, 4, 8, 10, 40):
        s = scoring.score(_row(names=names)).iloc[0]
        assert s >= prev
        prev = s
    assert prev == pytest.approx(100 * 0.15)  # capped: names weigh 15 of 100 points
    big = _row(names=20, states=9, ads_per_day=12, ages=9, cities=20, phones=9, ads=600,
               usd_spent=9000.0, moves=12, ethnicities=5, several_women=0.6,
               third_person=0.7, youth=1.0, new_in_town=0.5, shared_incall=4)  # fmt: skip
    assert scoring.score(big).iloc[0] == pytest.approx(100.0)


def test_no_single_indicator_carries_the_score():
    assert max(w for w, _, _ in scoring.SCORE_PARTS.values()) <= scoring.MAX_PART_WEIGHT
    # 2,489 ads in 42 states: each part saturates at its weight
    inflated = _row(ads=2489, states=42, cities=300, phones=1, names=1)
    parts = scoring.score_parts(inflated).iloc[0]
    assert parts.max() <= 100 * scoring.MAX_PART_WEIGHT + 1e-9
    assert parts["ads"] == pytest.approx(5.0) and parts["states"] == pytest.approx(10.0)


def test_explanation_parts_add_up_to_the_score():
    row = _row(names=5, states=3, ads_per_day=6.0, usd_spent=250.0)
    parts = scoring.score_parts(row).iloc[0]
    assert parts.sum() == pytest.approx(scoring.score(row).iloc[0], abs=0.01)
    lines = scoring.explain_score(row.iloc[0])
    assert lines[0].startswith("names=5: +") and len(lines) == 4
    assert lines[0].endswith("%)")  # each part's share of the score


def test_flags_come_with_one_line_reasons():
    row = _row(names=14, ages=9, states=6, ads=300, active_days=20, ads_per_day=15.0,
               cities=11, phones=4, usd_spent=2500.0, btc_spent=5.5)  # fmt: skip
    states = pd.Series({"o": ["AZ", "CA", "NV", "OR", "TX", "WA"]})
    fl = scoring.flags(row, states).iloc[0]
    assert fl["flags"] == [
        "many people", "many states", "many cities", "high rate", "many phones", "high spend"
    ]  # fmt: skip
    assert fl["reasons"] == [
        "advertised 14 distinct names and 9 distinct ages across 6 states",
        "posted in 6 states (AZ, CA, NV, OR, TX, WA)",
        "posted in 11 cities",
        "300 dated ads on 20 active days (15.0 per day)",
        "used 4 phone numbers",
        "spent $2,500 (5.5000 BTC) on ads",
    ]
    quiet = scoring.flags(_row()).iloc[0]
    assert quiet["flags"] == [] and quiet["reasons"] == []
    custom = scoring.flags(_row(names=2), rules=scoring.FlagRules(many_people=2)).iloc[0]
    assert custom["flags"] == ["many people"]


def test_reposts_count_once_and_undated_ads_do_not_raise_the_rate():
    ads = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "posted_ts": [DAY, DAY + 60, None, 2 * DAY],
            "state": ["TX", "TX", "TX", "TX"],
            "city": ["Odessa", "Odessa", "Odessa, Texas", "odessa, tx"],
            "name": [None] * 4,
            "age": [None] * 4,
            "title": ["Hi", "Hi", "Hello", "Hey"],
            "body": ["I'm Nova, 23 yrs old", "I'm Nova, 23 yrs old", "Ask for Jade", "Mia here"],
        }
    )
    member = pd.Series("O", index=["a", "b", "c", "d"])
    reposts = pd.DataFrame({"src": ["b"], "dst": ["a"]})
    ind = scoring.compute_indicators(ads, member, reposts=reposts).loc["O"]
    assert (ind["ads"], ind["reposts"], ind["dated_ads"], ind["undated_ads"]) == (3, 1, 2, 1)
    assert (ind["active_days"], ind["ads_per_day"]) == (2, 1.0)  # not 3 ads / 2 days
    assert (ind["first_ts"], ind["last_ts"]) == (DAY, 2 * DAY)
    assert ind["cities"] == 1 and ind["states"] == 1  # "Odessa, Texas" in TX is Odessa
    assert ind["names"] == 2 and ind["ages"] == 1  # Nova and Jade from the text; 23


def test_text_shares_and_moves():
    ads = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "posted_ts": [DAY, 2 * DAY, 3 * DAY, 4 * DAY],
            "state": ["TX", "OK", "TX", "OK"],
            "city": ["Odessa", "Tulsa", "Odessa", "Tulsa"],
            "title": ["New in town", "2 girl special", "", ""],
            "body": ["She is sweet", "", "", ""],
        }
    )
    ind = scoring.compute_indicators(ads, pd.Series("O", index=list("abcd"))).loc["O"]
    assert ind["moves"] == 3  # Odessa -> Tulsa -> Odessa -> Tulsa: a circuit
    assert (ind["new_in_town"], ind["several_women"], ind["third_person"]) == (0.25, 0.25, 0.25)
    assert ind["youth"] == 0.0
