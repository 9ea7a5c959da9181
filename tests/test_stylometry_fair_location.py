"""The fair-location options of the author model (issue 17 item 6): rarity-weighted
location matches learned from the training ads only, and training negatives drawn inside
one market (city), both named in the model's method and saved with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_stylometry import tiny_world

from ownergraph.linking.stylometry.data import LabelledAds
from ownergraph.linking.stylometry.evaluate import market_codes, train_model
from ownergraph.linking.stylometry.features import (
    AdFeatures,
    LocationRarity,
    field_columns,
    field_feature_names,
    field_pair_features,
)
from ownergraph.linking.stylometry.model import METHOD_FIELDS, PairwiseAuthorModel
from ownergraph.linking.stylometry.pairs import label_pairs, market_negatives

LOC = ("location",)


def _cols(locations: list[str | None]) -> dict:
    return field_columns({"location": locations}, LOC, len(locations))


def test_rarity_weighs_a_shared_rare_location_above_a_shared_common_one() -> None:
    # training ads: "Las Vegas" 6 times, "Hawthorne" once, "Las Vegas Strip" once
    train = ["Las Vegas"] * 6 + ["Hawthorne, LAX", "Las Vegas Strip"]
    # held-out ads after them: a common string, a rare one, an unseen one, a missing one
    locs = train + ["Las Vegas", "Las Vegas", "Hawthorne, LAX", "Hawthorne, LAX",
                    "Downey", "Downey", None, "Las Vegas strip"]  # fmt: skip
    cols = _cols(locs)
    rarity = LocationRarity.fit(cols, np.arange(len(train)))
    assert rarity.n_ads == 8 and sorted(rarity.counts.tolist()) == [1, 1, 6]
    f = AdFeatures(style=np.zeros((len(locs), 0)), ad_fields=cols)
    a, b = np.array([8, 10, 12, 14, 9, 8]), np.array([9, 11, 13, 0, 15, 15])
    x = dict(
        zip(
            field_feature_names(LOC, rarity=True),
            field_pair_features(f, a, b, LOC, rarity).T,
            strict=True,
        )
    )
    # every pair but the last two is "the same location string" for the plain features
    np.testing.assert_array_equal(x["location_same"], [1, 1, 1, 0, 0, 0])
    common, rare, unseen = x["location_same_rarity"][:3]
    assert common == pytest.approx(-np.log(6 / 8)) and rare == pytest.approx(-np.log(1 / 8))
    assert unseen == pytest.approx(-np.log(1 / 8))  # unseen in training: counted once
    assert rare > common > 0
    # a missing location is never a match
    assert np.isnan(x["location_same_rarity"][3]) and np.isnan(x["location_idf_jaccard"][3])
    # "Las Vegas" vs "Las Vegas Strip": Jaccard 2/3 plain, less by IDF (the shared tokens
    # are common, "strip" is rare); the rarest shared token is "vegas"
    assert x["location_jaccard"][4] == pytest.approx(2 / 3)
    assert 0 < x["location_idf_jaccard"][4] < 2 / 3
    assert x["location_same_rarity"][4] == 0
    assert x["location_idf_max_shared"][4] == pytest.approx(np.log(9 / 8) + 1)  # df 7 of 8
    assert x["location_idf_max_shared"][1] == pytest.approx(np.log(9 / 2) + 1)  # df 1 of 8
    # an ad with itself matches fully
    assert x["location_idf_jaccard"][0] == pytest.approx(1.0)


def test_rarity_is_learned_from_the_training_rows_only() -> None:
    locs = ["Las Vegas"] * 3 + ["Reno"] * 3
    cols = _cols(locs)
    a = LocationRarity.fit(cols, np.arange(3))
    b = LocationRarity.fit(cols, np.arange(6))
    assert a.n_ads == 3 and b.n_ads == 6
    assert not np.array_equal(a.idf, b.idf)
    assert a.keys.tolist() == [cols["location_key"][0]]


def test_market_negatives_stay_inside_one_market_and_two_groups() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 5)
    market = np.repeat(np.arange(40) % 4, 5)
    market[:5] = -1  # group 0: unknown market, never paired
    pool = np.arange(len(groups))
    a, b = market_negatives(groups, market, pool, pool, 500, rng)
    assert len(a) == 500 and np.all(a < b)
    assert np.all(market[a] == market[b]) and np.all(groups[a] != groups[b])
    assert np.all(market[a] >= 0)
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == 500
    # a market of one group has no such pair
    one = np.where(groups < 2, 0, -1)
    assert len(market_negatives(groups, np.where(groups == 1, 0, -1), pool, pool, 5, rng)[0]) == 0
    assert len(market_negatives(groups, one, pool, pool, 5, rng)[0]) == 5


def test_label_pairs_draws_the_share_of_negatives_inside_markets() -> None:
    groups = np.repeat(np.arange(60), 4)
    market = np.repeat(np.arange(60) % 6, 4)
    plain = label_pairs(groups, neg_per_pos=10, random_state=1)
    mixed = label_pairs(groups, neg_per_pos=10, random_state=1, market=market, market_share=0.8)
    for df in (plain, mixed):
        assert df["y"].sum() == 60 * 6
    neg = mixed[mixed.y == 0]
    same = market[neg.a.to_numpy()] == market[neg.b.to_numpy()]
    # 80 % drawn inside a market, and 1/6 of the random rest falls inside one by chance
    assert same.mean() > 0.8
    pn = plain[plain.y == 0]
    assert (market[pn.a.to_numpy()] == market[pn.b.to_numpy()]).mean() < 0.3
    assert np.all(neg.group_a.to_numpy() != neg.group_b.to_numpy())
    with pytest.raises(ValueError, match="share"):
        label_pairs(groups, market=market, market_share=1.5)


def _world() -> LabelledAds:
    w = tiny_world(n_authors=40, ads_per_author=5, seed=3)
    rng = np.random.default_rng(0)
    age = {a: str(rng.integers(19, 40)) for a in np.unique(w.authors)}
    w.fields = {
        "age": [age[a] for a in w.authors],
        "location": [f"City {a % 4}, corner {a % 9}" for a in w.authors],
        "posted_at": [None] * len(w),
        "market": [f"city{a % 4}" for a in w.authors],
    }
    return w


def test_fair_model_names_its_options_and_round_trips(tmp_path: Path) -> None:
    w = _world()
    model = PairwiseAuthorModel(
        max_iter=30, fields=("age", "location"), location_rarity=True, market_negatives=0.5
    )
    assert model.method == "stylometry+fields(rare-loc,market-neg0.5)-pairwise-v1"
    assert PairwiseAuthorModel(market_negatives=0.25).method == (
        "stylometry(market-neg0.25)-pairwise-v1"
    )
    # rarity needs the location field: without it the method stays plain
    assert PairwiseAuthorModel(fields=("age",), location_rarity=True).method == METHOD_FIELDS
    model, ev = train_model(w, model=model, neg_per_pos=5.0, min_test_neg=300)
    assert model.feature_names_[-3:] == list(LocationRarity.NAMES)
    # the rarity was learned from the training pairs' ads only, not the held-out side
    assert model.location_rarity_.n_ads == model.metadata_["training"]["ads"] < len(w) * 0.8
    assert ev.figures["model/all"]["auc"] > 0.9
    meta = json.loads(model.save(tmp_path / "m.joblib").read_text())
    assert meta["method"] == model.method
    assert meta["location_rarity"] is True and meta["market_negatives"] == 0.5
    loaded = PairwiseAuthorModel.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.location_rarity_.idf, model.location_rarity_.idf)
    texts = list(w.texts[:20])
    rows = np.arange(20)
    feats = model.attach_fields(model.transform_texts(texts), w.fields, rows)
    again = loaded.attach_fields(loaded.transform_texts(texts), w.fields, rows)
    a, b = np.arange(10), np.arange(10, 20)
    np.testing.assert_array_equal(
        loaded.predict_proba_indexed(again, a, b), model.predict_proba_indexed(feats, a, b)
    )


def test_market_negatives_need_a_market_field() -> None:
    w = _world()
    assert market_codes(w).tolist()[:10] == [0] * 5 + [1] * 5
    w.fields = {k: v for k, v in w.fields.items() if k != "market"}
    with pytest.raises(ValueError, match="market"):
        train_model(w, model=PairwiseAuthorModel(max_iter=5, market_negatives=0.5))
    with pytest.raises(ValueError, match="share"):
        PairwiseAuthorModel(market_negatives=2.0).fit_features(
            AdFeatures(style=np.zeros((2, 0))), np.array([0, 0]), np.array([1, 1]), [0, 1]
        )


def test_owner_check_trains_the_author_model_with_the_stated_age() -> None:
    import pandas as pd

    from ownergraph.evaluate_identifiers import train_in_memory

    w = tiny_world(n_authors=30, ads_per_author=4, seed=5)
    ids = np.asarray(w.ids, dtype=object)
    evidence = pd.DataFrame(
        {"ad": ids, "kind": "phone", "hub": [k[0].split(":", 1)[1] for k in w.identifiers]}
    )
    ads = pd.DataFrame({"id": ids, "age": [20 + a % 15 if k % 4 else None
                                           for k, a in enumerate(w.authors)]})  # fmt: skip
    model, ev = train_in_memory(ids, list(w.texts), evidence, 0, {"fields": ("age",)}, ads)
    assert model.fields == ("age",) and model.feature_names_[-3:] == field_feature_names(("age",))
    # the features kept for linking carry the ages (the store's integers, as strings)
    assert np.isnan(ev.features.ad_fields["age"][0]) and ev.features.ad_fields["age"][1] == 20
    plain, _ = train_in_memory(ids, list(w.texts), evidence, 0)
    assert plain.fields == () and not plain.feature_names_[-1].startswith("age")
    # location and market columns a caller adds reach the fair model
    ads["location"] = [f"City {a % 3}" for a in w.authors]
    ads["market"] = [f"m{a % 3}" for a in w.authors]
    opts = {"fields": ("age", "location"), "location_rarity": True, "market_negatives": 0.95}
    fair, ev = train_in_memory(ids, list(w.texts), evidence, 0, opts, ads)
    assert fair.method == "stylometry+fields(rare-loc,market-neg0.95)-pairwise-v1"
    assert fair.location_rarity_.n_ads > 0 and "location_key" in ev.features.ad_fields
