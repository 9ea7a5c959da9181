"""The vectorised char_wb hasher and style counts give exactly scikit-learn's / the
patterns' results."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from ownergraph.linking.stylometry.features import (
    _STYLE_RES,
    _WORD,
    STYLE_NAMES,
    StyleVectorizer,
    _hashed_counts,
    style_matrix,
)
from ownergraph.linking.stylometry.ngram_hash import char_wb_counts, murmur3_32

ALPHABET = list("abcXYZ019 .,!?*-_~'\"()[]{}:;/&#") + [
    "\n", "\t", "\u00a0", "\u2003", "\u3000", "\x1c", "é", "ß", "Ⅳ", "½", "²", "❶", "８",
    "💋", "😘", "❤", "\ufe0f", "𝓗", "ⓞ", "ǅ", "ñ", "中", "⟨PHONE⟩",
]  # fmt: skip


def _texts(n: int = 400, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    fixed = ["", " ", "a", "ab", "abc", "a b\tc\n\n d", "  lead and trail  ", "x\u00a0y z"]
    fixed += ["Hot BBW $150/hr!! call ⟨PHONE⟩ 💋💋", "title only", "title\nbody 😘 here"]
    rand = ["".join(rng.choice(ALPHABET, size=rng.integers(0, 120))) for _ in range(n)]
    return fixed + rand


def _same(a, b) -> bool:
    a, b = a.tocsr(), b.tocsr()
    a.sort_indices()
    b.sort_indices()
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


@pytest.mark.parametrize(
    ("ngram", "n_features"), [((3, 4), 2**20), ((2, 4), 2**18), ((1, 1), 97), ((2, 6), 2**20)]
)
def test_char_wb_counts_equal_sklearn(ngram: tuple[int, int], n_features: int) -> None:
    texts = _texts()
    ref = HashingVectorizer(
        analyzer="char_wb", ngram_range=ngram, lowercase=False, n_features=n_features,
        alternate_sign=False, norm=None, dtype=np.float32,
    ).transform(texts)  # fmt: skip
    assert ref.nnz > 1000
    assert _same(ref, char_wb_counts(texts, ngram, n_features, batch=37))


def test_murmur_equals_sklearn() -> None:
    rng = np.random.default_rng(0)
    keys = [bytes(rng.integers(0, 256, size=k, dtype=np.uint8)) for k in range(0, 40)] * 3
    data = np.frombuffer(b"".join(keys), dtype=np.uint8)
    length = np.array([len(k) for k in keys])
    start = np.cumsum(length) - length
    got = murmur3_32(data, start, length)
    assert got.tolist() == [murmur3_32_ref(k) for k in keys]


def murmur3_32_ref(key: bytes) -> int:
    return int(murmurhash3_32(key, seed=0))


def test_vectorizer_views_equal_sklearn_hashers() -> None:
    """The StyleVectorizer's char and title counts are the hashers' own output."""
    texts = _texts(200, seed=5)
    vec = StyleVectorizer()
    for view, h in vec._hashers().items():
        assert _same(h.transform(texts), _hashed_counts(h, texts)), view


def test_lone_surrogate_falls_back_to_sklearn() -> None:
    h = StyleVectorizer()._hashers()["char"]
    with pytest.raises(UnicodeEncodeError):
        _hashed_counts(h, ["ok", "bad \ud83d text"])


def _style_matrix_by_patterns(texts: list[str]) -> np.ndarray:
    """``style_matrix`` with every rate counted by its pattern (the oracle)."""
    out = np.zeros((len(texts), len(STYLE_NAMES)), dtype=np.float32)
    for i, t in enumerate(texts):
        n = max(len(t), 1)
        words = _WORD.findall(t)
        nw = max(len(words), 1)
        row = out[i]
        row[0] = np.log1p(len(t))
        row[1] = np.log1p(len(words))
        row[2] = sum(map(len, words)) / nw
        for k, rx in enumerate(_STYLE_RES, start=3):
            row[k] = len(rx.findall(t)) / n
    return out


def test_style_matrix_equals_pattern_counts() -> None:
    texts = _texts(300, seed=9) + ["ÉCOLE école ß ǅ Ⅳ ½ ² ❶ ＡＢＣ ａｂｃ", "a\ud83db"]
    assert np.array_equal(style_matrix(texts), _style_matrix_by_patterns(texts))


@pytest.mark.parametrize("k", [1, 5])
def test_shingle_sets_equal_sklearn(k: int) -> None:
    from ownergraph.linking.stylometry.pairs import _shingle_sets, _shingle_sets_reference

    texts = _texts(300, seed=11) + ["", "a", "abcde", "abcdef"]
    assert _same(_shingle_sets_reference(texts, k), _shingle_sets(texts, k))
