"""Pair features from the ads' own fields (stated age, location string, creation date):
absent-aware, read from ad files, and carried by a saved model (issue 17 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_stylometry import tiny_world

from ownergraph.linking.stylometry.data import LabelledAds, read_ads
from ownergraph.linking.stylometry.evaluate import train_model
from ownergraph.linking.stylometry.features import (
    AdFeatures,
    field_columns,
    field_feature_names,
    field_pair_features,
    location_tokens,
)
from ownergraph.linking.stylometry.model import METHOD, METHOD_FIELDS, PairwiseAuthorModel

ALL = ("age", "location", "date")


def _feats(values: dict[str, list]) -> AdFeatures:
    n = len(next(iter(values.values())))
    return AdFeatures(style=np.zeros((n, 0)), ad_fields=field_columns(values, ALL, n))


def test_missing_fields_never_count_as_a_match() -> None:
    values = {
        "age": ["23", None, "23 years", "abc", None],
        "location": ["Inglewood / Hawthorne, LAX", None, "inglewood, hawthorne lax", "", None],
        "posted_at": ["2014-03-01T10:00:00", None, "2014-03-03T10:00:00", "not a date", None],
    }
    f = _feats(values)
    names = field_feature_names(ALL)
    a, b = np.array([0, 0, 1, 3, 0]), np.array([2, 1, 4, 4, 0])
    x = dict(zip(names, field_pair_features(f, a, b, ALL).T, strict=True))
    # two stated ages 23 / "23 years": equal; the same location tokens; 2 days apart
    assert x["age_missing"][0] == 0 and x["age_equal"][0] == 1 and x["age_absdiff"][0] == 0
    assert x["location_jaccard"][0] == 1 and x["location_same"][0] == 1
    assert x["date_days_apart"][0] == pytest.approx(2.0)
    # one end missing: a missing indicator, no match, NaN comparisons
    assert x["age_missing"][1] == 1 and x["age_equal"][1] == 0 and np.isnan(x["age_absdiff"][1])
    assert x["location_missing"][1] == 1 and x["location_same"][1] == 0
    assert np.isnan(x["location_jaccard"][1]) and np.isnan(x["date_days_apart"][1])
    # both missing (None, unreadable, blank): never equal, never the same place
    for k in (2, 3):
        assert x["age_missing"][k] == 2 and x["age_equal"][k] == 0
        assert x["location_missing"][k] == 2 and x["location_same"][k] == 0
        assert x["date_missing"][k] == 2
    # an ad with itself is a match on every field it states
    assert x["age_equal"][4] == 1 and x["location_same"][4] == 1


def test_field_columns_check_input() -> None:
    assert location_tokens("Los Angeles, W.L.A., Your Place! los") == [
        "los", "angeles", "your", "place",
    ]  # fmt: skip
    # identifiers are the labels: a phone or e-mail in the location never matches
    assert location_tokens("LA call 702*605*1961 or me@x.com, 405 fwy") == [
        "la", "call", "or", "405", "fwy",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown ad fields"):
        field_columns({}, ("height",), 1)
    with pytest.raises(ValueError, match="2 values for 3 ads"):
        field_columns({"age": ["20", "21"]}, ("age",), 3)
    f = AdFeatures(style=np.zeros((2, 0)))
    with pytest.raises(ValueError, match="lack the ad fields"):
        field_pair_features(f, np.array([0]), np.array([1]), ("age",))
    # the location key is stable across processes (not Python's salted ``hash``)
    k1 = field_columns({"location": ["LA"]}, ("location",), 1)["location_key"][0]
    assert k1 > 0
    assert k1 == field_columns({"location": ["la!"]}, ("location",), 1)["location_key"][0]


def _world_with_fields() -> LabelledAds:
    w = tiny_world(n_authors=40, ads_per_author=5, seed=3)
    rng = np.random.default_rng(0)
    age = {a: str(rng.integers(19, 40)) for a in np.unique(w.authors)}
    # each author states her age in 4 of 5 ads; locations are shared by many authors
    w.fields = {
        "age": [age[a] if k % 5 else None for k, a in enumerate(w.authors)],
        "location": [f"City {a % 4}, downtown" for a in w.authors],
        "posted_at": [None] * len(w),
    }
    return w


def test_model_with_fields_round_trips(tmp_path: Path) -> None:
    w = _world_with_fields()
    model = PairwiseAuthorModel(max_iter=30, random_state=0, fields=("age", "location"))
    model, ev = train_model(w, model=model, neg_per_pos=5.0, min_test_neg=300)
    assert model.feature_names_[-6:] == field_feature_names(("age", "location"))
    assert model.method == METHOD_FIELDS and PairwiseAuthorModel().method == METHOD
    assert ev.figures["model/all"]["auc"] > 0.9
    meta = json.loads(model.save(tmp_path / "m.joblib").read_text())
    assert meta["fields"] == ["age", "location"] and meta["method"] == METHOD_FIELDS
    loaded = PairwiseAuthorModel.load(tmp_path / "m.joblib")
    assert loaded.fields == ("age", "location")
    texts = list(w.texts[:20])
    feats = model.attach_fields(model.transform_texts(texts), w.fields, np.arange(20))
    again = loaded.attach_fields(loaded.transform_texts(texts), w.fields, np.arange(20))
    a, b = np.arange(10), np.arange(10, 20)
    np.testing.assert_array_equal(
        loaded.predict_proba_indexed(again, a, b), model.predict_proba_indexed(feats, a, b)
    )
    # a text-only model ignores attached fields; a field model without them says so
    with pytest.raises(ValueError, match="lack the ad fields"):
        model.predict_proba_indexed(model.transform_texts(texts), a, b)


def test_read_ads_keeps_fields(tmp_path: Path) -> None:
    p = tmp_path / "ads.jsonl"
    rows = [
        {"id": "1", "title": "hi", "body": "call 702-605-1961", "age": 23, "location": "LA"},
        {"id": "2", "title": "yo", "body": "x", "posted_at": "2014-03-01T10:00:00"},
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ads = read_ads(p)
    assert ads.fields == {
        "age": ["23", None],
        "location": ["LA", None],
        "posted_at": [None, "2014-03-01T10:00:00"],
    }
    sub = ads.take(np.array([1]))
    assert sub.ids == ["2"] and sub.fields["posted_at"] == ["2014-03-01T10:00:00"]
    assert ads.head(1).fields["age"] == ["23"]
