"""Optional pair views of the author model: formatting skeleton, shared phrases, style
products (issue 17 item 6)."""

from __future__ import annotations

import numpy as np
import pytest

from ownergraph.linking.stylometry.features import (
    EXTRA_VIEWS,
    SPARSE_VIEWS,
    STYLE_NAMES,
    AdFeatures,
    StyleVectorizer,
    _folded,
    pair_features,
    skeleton,
)

TEXTS = [
    "Sweet treat\nHey guys, I am a sweet PETITE girl!! $150/hr ⟨PHONE⟩ :)",
    "Sweet treat\nHey guys, I am a sexy PETITE girl!! $200/hr ⟨PHONE⟩ :)",
    "UPSCALE COMPANION\nGood evening gentlemen. Discreet, classy and elegant; no texts.",
    "Upscale companion\nGood evening gentlemen. Discreet, classy and refined; no texts.",
    "hola papi 💋💋 soy latina 💋 llamame",
    "new in town ~ come see me ~ incall only",
]


def test_skeleton_keeps_layout_and_classes_not_words() -> None:
    assert skeleton("Hot BBW $150/hr!! 😘😘\ufe0f call") == "Aa A $0/a!! E a"
    assert skeleton("Élan ñ 23yo\nX") == "Aa a 0a\nA"
    # two texts that differ only in their words and numbers share a skeleton
    assert skeleton("Sweet girl, $150/hr!!") == skeleton("Hot lady, $200/hh!!")


def test_folded_reads_decorative_letters_as_words() -> None:
    assert _folded("Ⓖⓞⓓⓓⓔⓢⓢ 𝓗𝓸𝓽 ＨＩ") == "goddess hot hi"


def test_extra_views_give_named_symmetric_pair_features() -> None:
    vec = StyleVectorizer(n_features=2**16, views=SPARSE_VIEWS + EXTRA_VIEWS, style_product=True)
    f = vec.fit(TEXTS).transform(TEXTS)
    assert set(f.views) == set(SPARSE_VIEWS + EXTRA_VIEWS)
    names = vec.feature_names()
    a, b = np.array([0, 2, 0, 2]), np.array([1, 3, 4, 5])
    x = pair_features(f, a, b)
    assert x.shape == (4, len(names))
    np.testing.assert_array_equal(x, pair_features(f, b, a))
    assert names[-len(STYLE_NAMES) :] == [f"prod_{n}" for n in STYLE_NAMES]
    np.testing.assert_allclose(x[:, -len(STYLE_NAMES) :], f.style[a] * f.style[b], rtol=1e-6)
    for v in ("skeleton", "phrase"):
        col = x[:, names.index(f"jaccard_{v}")]
        assert min(col[:2]) > max(col[2:]), v  # the near-rewrites share the most
    # the two rewrites share phrases ("hey guys i", "petite girl hr") but not all
    assert 0 < x[0, names.index("jaccard_phrase")] < 1


def test_style_product_survives_take_and_concat() -> None:
    vec = StyleVectorizer(n_features=2**16, views=("char", "skeleton"), style_product=True)
    whole = vec.fit(TEXTS).transform(TEXTS)
    got = AdFeatures.concat([whole.take(np.arange(0, 3)), whole.take(np.arange(3, 6))])
    a, b = np.array([0, 1]), np.array([1, 5])
    assert got.style_product
    np.testing.assert_allclose(pair_features(got, a, b), pair_features(whole, a, b))
    assert pair_features(got, a, b).shape[1] == len(vec.feature_names())


def test_unknown_view_is_named() -> None:
    with pytest.raises(ValueError, match="unknown feature views \\['layout'\\]"):
        StyleVectorizer(views=("char", "layout")).fit(TEXTS)


def test_vectorizer_pickled_before_the_new_options_reads_as_without_them() -> None:
    fitted = StyleVectorizer(n_features=2**16).fit(TEXTS)
    state = fitted.__getstate__()
    for k in ("style_product", "phrase_ngram"):
        state.pop(k)
    old = StyleVectorizer.__new__(StyleVectorizer)
    old.__setstate__(state)
    f = old.transform(TEXTS)
    assert not f.style_product
    assert pair_features(f, np.array([0]), np.array([1])).shape[1] == len(old.feature_names())


def test_train_only_sampling_leaves_the_held_out_pairs_alone() -> None:
    from test_stylometry import tiny_world  # noqa: PLC0415

    from ownergraph.linking.stylometry.evaluate import train_and_evaluate  # noqa: PLC0415
    from ownergraph.linking.stylometry.model import PairwiseAuthorModel  # noqa: PLC0415

    world = tiny_world(n_authors=30, ads_per_author=5, seed=3)
    kw = {"neg_per_pos": 5.0, "min_test_neg": 300, "baseline": False}
    _, plain = train_and_evaluate(world, model=PairwiseAuthorModel(max_iter=30), **kw)
    _, more = train_and_evaluate(
        world, model=PairwiseAuthorModel(max_iter=30), train_neg_per_pos=15.0, **kw
    )
    pos = plain.info["train_positive"]
    assert more.info["train_positive"] == pos
    assert plain.info["train_pairs"] - pos == 5 * pos  # negatives: 5 per positive
    assert more.info["train_pairs"] - pos == 15 * pos
    for k in ("y", "model"):  # the same held-out pairs (scores differ: another model)
        assert len(more.info["scores"][k]) == len(plain.info["scores"][k])
    np.testing.assert_array_equal(more.info["scores"]["y"], plain.info["scores"]["y"])
