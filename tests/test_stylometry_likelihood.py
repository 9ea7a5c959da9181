"""Likelihood-ratio pair features (LambdaG-like) and dense per-ad views."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ownergraph.linking.stylometry.features import (
    AdFeatures,
    StyleVectorizer,
    _grammar_ngrams,
    likelihood_ratio,
    likelihood_view,
    pair_features,
)

TEXTS = [
    "Sweet treat\nHey guys, I am a sweet PETITE girl!! Call me now :)",
    "Sweet treat\nHey guys, I am a sexy PETITE girl!! Call me later :)",
    "UPSCALE COMPANION\nGood evening gentlemen. Discreet, classy and elegant; no texts.",
    "Upscale companion\nGood evening gentlemen. Discreet, classy and refined; no texts.",
    "hola papi 💋 soy latina 💋 llamame",
    "new in town ~ come see me ~ incall only",
]


def test_grammar_ngrams_keep_function_words_and_shapes() -> None:
    grams = _grammar_ngrams("Hey guys, I am a SWEET girl!!\nCall 42")
    unigrams = [g for g in grams if " " not in g]
    # content words become their casing shape, function words stay, punctuation stays
    assert unigrams == ["Ww", "w", ",", "fi", "am", "a", "W", "w", "!", "!", "¶", "Ww", "0"]
    assert "am a W" in grams and "W w !" in grams


def test_likelihood_ratio_matches_the_smoothed_model_formula() -> None:
    counts = sp.csr_matrix(np.array([[2, 1, 0, 0], [1, 0, 3, 0], [0, 0, 1, 4]], np.float32))
    ref = np.array([0.4, 0.3, 0.2, 0.1], np.float32)
    mu = 5.0
    w, k, log_norm = likelihood_view(counts, ref, mu)
    a, b = np.array([0, 0, 1]), np.array([1, 2, 2])
    mean, low = likelihood_ratio(w, k, log_norm, a, b)
    c = counts.toarray()

    def direct(x: int, y: int) -> float:  # mean log P_x(g) / p_ref(g) over y's n-grams
        px = (c[x] + mu * ref) / (c[x].sum() + mu)
        return float((c[y] * np.log(px / ref)).sum() / c[y].sum())

    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        ab, ba = direct(x, y), direct(y, x)
        assert np.isclose(mean[i], (ab + ba) / 2, atol=1e-5)
        assert np.isclose(low[i], min(ab, ba), atol=1e-5)


def test_likelihood_features_rank_same_author_pairs_higher() -> None:
    vec = StyleVectorizer(n_features=2**16, likelihood=("grammar", "char", "word"))
    f = vec.fit(TEXTS).transform(TEXTS)
    assert set(f.lr) == {"grammar", "char", "word"}
    a, b = np.array([0, 2, 0, 2]), np.array([1, 3, 4, 5])
    x = pair_features(f, a, b)
    names = vec.feature_names()
    assert x.shape == (4, len(names))
    np.testing.assert_array_equal(x, pair_features(f, b, a))  # symmetric
    for v in ("grammar", "char", "word"):
        col = x[:, names.index(f"lr_mean_{v}")]
        assert min(col[:2]) > max(col[2:]), v  # the two near-rewrites beat unrelated pairs


def test_take_and_concat_keep_likelihood_and_dense_views() -> None:
    vec = StyleVectorizer(n_features=2**16, likelihood=("grammar",))
    whole = vec.fit(TEXTS).transform(TEXTS)
    whole.dense["embed"] = np.eye(len(TEXTS), dtype=np.float32)
    parts = [whole.take(np.arange(0, 4)), whole.take(np.arange(4, 6))]
    got = AdFeatures.concat(parts)
    assert all(not p.lr and not p.dense for p in parts)  # released as stacked
    np.testing.assert_array_equal(got.dense["embed"], whole.dense["embed"])
    for got_m, want_m in zip(got.lr["grammar"][:2], whole.lr["grammar"][:2], strict=True):
        np.testing.assert_allclose(got_m.toarray(), want_m.toarray())
    a, b = np.array([0, 1]), np.array([1, 5])
    np.testing.assert_allclose(pair_features(got, a, b), pair_features(whole, a, b))
    assert np.allclose(pair_features(got, a, b)[:, -1], 0.0)  # embed cosine of distinct rows


def test_vectorizer_pickled_without_the_new_options_reads_as_without_them() -> None:
    fitted = StyleVectorizer(n_features=2**16).fit(TEXTS)
    state = fitted.__getstate__()
    for k in ("likelihood", "lr_mu", "embedding"):
        state.pop(k)
    old = StyleVectorizer.__new__(StyleVectorizer)
    old.__setstate__(state)
    assert old.likelihood == () and old.embedding is None
    f = old.transform(TEXTS)
    assert not f.lr and not f.dense
    assert pair_features(f, np.array([0]), np.array([1])).shape[1] == len(old.feature_names())


def test_hard_pairs_train_on_train_side_nearest_neighbours() -> None:
    from test_stylometry import tiny_world  # noqa: PLC0415

    from ownergraph.linking.stylometry.evaluate import (  # noqa: PLC0415
        train_and_evaluate,
        train_candidate_pairs,
    )
    from ownergraph.linking.stylometry.model import PairwiseAuthorModel  # noqa: PLC0415
    from ownergraph.linking.stylometry.pairs import split_groups  # noqa: PLC0415

    world = tiny_world(n_authors=30, ads_per_author=5, seed=3)
    groups = world.groups()
    train, _ = split_groups(groups, 0.3, 0)
    vec = StyleVectorizer(n_features=2**16)
    feats = vec.fit_transform([t for t in world.texts])
    a, b = train_candidate_pairs(feats, groups, train)
    assert len(a) > 0 and np.all(a < b)
    assert train[a].all() and train[b].all()  # never a held-out ad
    assert len(np.unique(a * len(world) + b)) == len(a)  # no pair twice
    kw = {"neg_per_pos": 5.0, "min_test_neg": 300, "baseline": False}
    _, plain = train_and_evaluate(world, model=PairwiseAuthorModel(max_iter=30), **kw)
    _, hard = train_and_evaluate(
        world, model=PairwiseAuthorModel(max_iter=30), hard_pairs=True, **kw
    )
    assert plain.info["train_hard_pairs"] == 0 and hard.info["train_hard_pairs"] > 0
    assert hard.info["train_pairs"] == plain.info["train_pairs"] + hard.info["train_hard_pairs"]
    assert hard.info["test_pairs"] == plain.info["test_pairs"]  # same held-out side
