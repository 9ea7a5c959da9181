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


def _pairs_from_knn_reference(idx, sim, min_sim):
    """The straightforward version pairs_from_knn replaced (all intermediates kept)."""
    n, k = idx.shape
    a = np.repeat(np.arange(n, dtype=np.int64), k)
    b = idx.ravel().astype(np.int64)
    s = sim.ravel()
    ok = (b >= 0) & (b != a) & (s >= min_sim)
    a, b, s = a[ok], b[ok], s[ok]
    key = np.minimum(a, b) * (2**32) + np.maximum(a, b)
    key, first = np.unique(key, return_index=True)
    return (key >> 32).astype(np.int64), (key & 0xFFFFFFFF).astype(np.int64), s[first]


def test_pairs_from_knn_equals_the_straightforward_version() -> None:
    from ownergraph.linking.stylometry.candidates import pairs_from_knn

    rng = np.random.default_rng(3)
    idx = rng.integers(-1, 500, size=(500, 9)).astype(np.int64)
    idx[:, 0] = np.arange(500)  # each ad its own first neighbour, as faiss returns
    sim = rng.random((500, 9)).astype(np.float32)
    before = idx.copy()
    for min_sim in (0.0, 0.5):
        got = pairs_from_knn(idx, sim, min_sim)
        ra, rb, rs = _pairs_from_knn_reference(idx, sim, min_sim)
        np.testing.assert_array_equal(got.a, ra)
        np.testing.assert_array_equal(got.b, rb)
        np.testing.assert_array_equal(got.sim, rs)
        assert got.a.dtype == ra.dtype and got.b.dtype == rb.dtype and len(got) > 1000
    np.testing.assert_array_equal(idx, before)  # the caller's neighbour lists untouched


def test_capped_held_out_pairs_leave_the_model_and_operating_point_unchanged() -> None:
    """max_test_pairs samples the held-out ROC pairs only: the same fitted model, the same
    held-out candidate precision curve (the operating point), fewer scored test pairs."""
    world = tiny_world(n_authors=50, ads_per_author=6, seed=4)
    kw = {"neg_per_pos": 5.0, "min_test_neg": 500, "baseline": False, "random_state": 1}

    def run(cap):
        return train_and_evaluate(
            world,
            model=PairwiseAuthorModel(max_iter=40, random_state=0),
            search=CandidateSearch(k=8, n_components=32, n_threads=1),
            keep_features=True,
            max_test_pairs=cap,
            **kw,
        )

    m_ref, ref = run(None)
    m_cap, cap = run(400)
    assert ref.info["test_pairs"] > 400
    assert cap.info["test_pairs"] == 400 or abs(cap.info["test_pairs"] - 400) <= 1
    assert cap.info["test_pairs_sampled_from"] == ref.info["test_pairs"]
    share = ref.info["test_positive"] / ref.info["test_pairs"]
    assert abs(cap.info["test_positive"] / cap.info["test_pairs"] - share) < 0.01
    assert cap.info["candidate_precision"]["curve"] == ref.info["candidate_precision"]["curve"]
    np.testing.assert_array_equal(cap.candidate_scores, ref.candidate_scores)
    x = m_ref.transform_texts(world.texts[:20])
    a, b = np.arange(10), np.arange(10, 20)
    np.testing.assert_array_equal(
        m_cap.predict_proba_indexed(x, a, b), m_ref.predict_proba_indexed(x, a, b)
    )
    _, same = run(ref.info["test_pairs"])  # a cap at the size: no sample, same figures
    assert same.figures == ref.figures
