"""Featurising in chunks and processes, keeping masked texts, gives the unchunked result."""

from __future__ import annotations

import numpy as np
from test_stylometry import tiny_world

from ownergraph.linking.stylometry.candidates import CandidateSearch
from ownergraph.linking.stylometry.clusters import compact_texts, featurise_keeping
from ownergraph.linking.stylometry.evaluate import train_and_evaluate
from ownergraph.linking.stylometry.model import PairwiseAuthorModel


def _equal_features(a, b) -> None:
    assert list(a.views) == list(b.views)
    for v in a.views:
        x, y = a.views[v], b.views[v]
        assert np.array_equal(x.indptr, y.indptr), v
        assert np.array_equal(x.indices, y.indices), v
        assert np.array_equal(x.data, y.data), v
    assert np.array_equal(a.style, b.style)


def test_featurise_keeping_in_chunks_equals_all_at_once() -> None:
    world = tiny_world(n_authors=30, ads_per_author=5, seed=2)
    model = PairwiseAuthorModel().fit_vectorizer(world.texts[:60])
    keep = np.array([0, 3, 49, 50, 51, 99, 149])
    ref = model.transform_texts(world.texts)
    feats, kept = featurise_keeping(model, compact_texts(world.texts), 2, 50, keep=keep)
    _equal_features(ref, feats)
    assert kept.to_pylist() == model.prepare([world.texts[i] for i in keep])
    one, none = featurise_keeping(model, world.texts, 1, 1000)
    _equal_features(ref, one)
    assert none is None


def test_train_and_evaluate_kept_features_match_the_plain_path() -> None:
    """The product path (features of all ads in 2 processes by chunks, masked test texts
    kept from featurising) measures the same figures as featurising all at once."""
    world = tiny_world(n_authors=50, ads_per_author=6, seed=4)
    kw = {"neg_per_pos": 5.0, "min_test_neg": 500, "baseline": False, "random_state": 1}

    def model() -> PairwiseAuthorModel:
        return PairwiseAuthorModel(max_iter=40, random_state=0)

    def search() -> CandidateSearch:
        return CandidateSearch(k=8, n_components=32, n_threads=1)

    _, ref = train_and_evaluate(world, model=model(), search=search(), **kw)
    _, got = train_and_evaluate(
        world, model=model(), search=search(), keep_features=True, n_jobs=2, chunk=70, **kw
    )
    assert got.figures == ref.figures
    for k in ("near_duplicate_pairs", "precision_at_fpr_0.01", "test_pairs", "train_pairs"):
        assert got.info[k] == ref.info[k], k
    assert got.info["candidate_precision"]["curve"] == ref.info["candidate_precision"]["curve"]
    np.testing.assert_array_equal(got.info["scores"]["model"], ref.info["scores"]["model"])


def test_linking_with_the_evaluations_candidate_scores_equals_scoring_again() -> None:
    """Candidates scored once in train_and_evaluate link exactly as scored in linking."""
    from ownergraph.linking.stylometry.clusters import link_texts

    world = tiny_world(n_authors=40, ads_per_author=6, seed=6)
    search = CandidateSearch(k=8, n_components=32, n_threads=1)
    model, ev = train_and_evaluate(
        world,
        model=PairwiseAuthorModel(max_iter=40, random_state=0),
        neg_per_pos=5.0,
        min_test_neg=500,
        baseline=False,
        keep_features=True,
        search=search,
        random_state=2,
    )
    assert len(ev.candidate_scores) == len(ev.candidates) > 0
    thr = ev.figures["model/all"]["threshold_at_fpr_0.01"]
    kw = {"threshold": thr, "search": search, "resolution": 0.02, "n_jobs": 1}
    ref = link_texts(world.texts, model, features=ev.features, candidates=ev.candidates, **kw)
    got = link_texts(
        world.texts,
        model,
        features=ev.features,
        candidates=ev.candidates,
        scores=ev.candidate_scores,
        **kw,
    )
    np.testing.assert_array_equal(got.labels, ref.labels)
    np.testing.assert_array_equal(got.p, ref.p)
    assert got.summary["pairs_above_threshold"] == ref.summary["pairs_above_threshold"] > 0
