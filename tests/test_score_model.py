"""The learned lead score: analyst labels in the graph, a logistic regression on the
saturated score parts, and its explanation; on both real stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ownergraph.owners import scoring
from ownergraph.stages import score_model as sm


def _indicators(n: int = 24, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Half operations (several phones and states) and half independents; ``names`` is
    noise, so a learned model should weigh phones/states over names."""
    rng = np.random.default_rng(seed)
    y = np.array([1, 0] * (n // 2))
    ind = pd.DataFrame(
        {
            "ads": rng.integers(2, 30, n),
            "phones": np.where(y == 1, rng.integers(3, 8, n), rng.integers(1, 3, n)),
            "states": np.where(y == 1, rng.integers(2, 6, n), 1),
            "names": rng.integers(1, 4, n),
        },
        index=[f"O-{i:02d}" for i in range(n)],
    )
    return ind, y


def test_lead_scorer_learns_which_parts_matter_and_explains_with_shares():
    ind, y = _indicators()
    est = sm.LeadScorer().fit(ind, y)
    w = est.weights
    assert set(w) == set(scoring.SCORE_PARTS)
    assert w["phones"] > abs(w["names"]) and w["states"] > abs(w["names"])
    s = est.score_100(ind)
    assert s[y == 1].min() > s[y == 0].max()  # separable here
    lines = est.explain(ind.iloc[[0]]).iloc[0]
    assert lines[0].split("=")[0] in ("phones", "states") and "log-odds" in lines[0]
    shares = [int(x.rsplit("(", 1)[1].rstrip("%)")) for x in lines]
    assert abs(sum(shares) - 100) <= len(shares)  # rounded shares of the whole
    auc, sd = sm.cross_validated_auc(ind, y)
    assert auc > 0.9 and sd >= 0
    again = sm.LeadScorer.from_weights(w, est.intercept, est.C)
    np.testing.assert_allclose(again.score_100(ind), s, atol=0.05)


def test_too_few_labels_fall_back_to_the_default_recipe():
    ind, y = _indicators()
    labels = pd.Series(["operation"] * 5 + ["independent"] * 4, index=ind.index[:9])
    model, info = sm.fit_from_labels(ind, labels)
    assert model is None and "needs 5 of each" in info["reason"]
    with pytest.raises(ValueError, match="at least 2 groups of each label"):
        sm.cross_validated_auc(ind.iloc[:3], np.array([1, 0, 0]))


def test_labels_in_the_graph_and_the_learned_score(store):
    ind, y = _indicators()
    owners = ind.reset_index(names="id").assign(score=0.0)
    store.upsert_nodes("Owner", owners)
    with pytest.raises(ValueError, match="label must be one of"):
        sm.label_owner(store, "O-00", "trafficker")
    with pytest.raises(LookupError, match="no owner group"):
        sm.label_owner(store, "O-99", "operation")
    assert sm.rescore(store)["mode"] == sm.DEFAULT_MODE  # no labels yet
    for oid, lab in zip(ind.index, y, strict=True):
        sm.label_owner(store, oid, "operation" if lab else "independent")
    sm.label_owner(store, "O-00", "unsure")  # replaces its label; unsure is not used
    assert sm.read_labels(store)["O-00"] == "unsure"
    info = sm.rescore(store)
    assert info["mode"].startswith("learned from 11 operation / 12 independent labels")
    assert info["cv_auc"] > 0.9
    model, rec = sm.read_model(store)
    assert (
        model is not None
        and rec["n_labels"] == 23
        and set(rec["weights"]) == set(scoring.SCORE_PARTS)
    )
    rows = store.query("MATCH (o:Owner) RETURN o.id AS id, o.score AS s, o.score_mode AS m")
    got = pd.Series({r["id"]: r["s"] for r in rows})
    assert {r["m"] for r in rows} == {info["mode"]}
    assert got[ind.index[y == 1]].min() > got[ind.index[y == 0]].max()
