"""Labelled ad pairs from hard identifiers, split by component, near-duplicate flags.

Two ads that share a phone or an e-mail are taken to have the same author; through
shared identifiers ads form connected components (the identifier graph). Positive pairs
lie inside a component, negative pairs join two different components. The split is by
component, so no author (component) is on both sides. Ads without any identifier carry
no label and are left out of pairs.

Negative labels are noisy: one author can use two phones that never co-occur, so some
"negatives" are same-author pairs. Positive labels are noisy too (shared phones of an
agency). Both are reported as limitations, not corrected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import GroupShuffleSplit

from ownergraph.linking.stylometry.sparse_rows import pair_products
from ownergraph.loaders import identifiers


def text_identifiers(text: str, default_region: str = "US") -> list[str]:
    """Identifier keys in one raw ad text: ``phone:+1...`` and ``email:...``.

    Found by :mod:`ownergraph.loaders.identifiers`, the extractor the ads loader uses.
    """
    keys = [f"phone:{m.e164}" for m in identifiers.extract_phones(text, default_region)]
    keys += [f"email:{m.address}" for m in identifiers.extract_emails(text)]
    return sorted(set(keys))


def identifier_components(identifiers: Sequence[Sequence[str]]) -> np.ndarray:
    """Component id per ad through shared identifiers; ``-1`` for ads with none."""
    n = len(identifiers)
    keys: dict[str, int] = {}
    rows, cols = [], []
    for i, ids in enumerate(identifiers):
        for k in ids:
            rows.append(i)
            cols.append(keys.setdefault(k, len(keys)))
    m = len(keys)
    if m == 0:
        return np.full(n, -1, dtype=np.int64)
    inc = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, m))
    adj = sp.bmat([[None, inc], [inc.T, None]], format="csr")
    _, labels = connected_components(adj, directed=False)
    comp = labels[:n].astype(np.int64)
    has = np.asarray(inc.sum(axis=1)).ravel() > 0
    comp[~has] = -1
    # Renumber 0..k-1 in order of first appearance.
    _, comp_dense = np.unique(comp[has], return_inverse=True)
    comp[has] = comp_dense
    return comp


def split_groups(
    groups: np.ndarray, test_size: float = 0.3, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train/test masks over ads, split by group (``-1`` = unlabelled, excluded)."""
    groups = np.asarray(groups)
    labelled = np.flatnonzero(groups >= 0)
    if len(np.unique(groups[labelled])) < 2:
        raise ValueError("need at least two identifier components to split by component")
    gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    tr, te = next(gss.split(labelled, groups=groups[labelled]))
    train = np.zeros(len(groups), dtype=bool)
    test = np.zeros(len(groups), dtype=bool)
    train[labelled[tr]] = True
    test[labelled[te]] = True
    return train, test


def label_pairs(
    groups: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    max_pos_per_group: int = 100,
    neg_per_pos: float = 10.0,
    min_neg: int = 0,
    random_state: int = 0,
    market: np.ndarray | None = None,
    market_share: float = 0.0,
) -> pd.DataFrame:
    """Sample labelled pairs among ads ``mask`` (default: all labelled ads).

    Positives: pairs inside one group, at most ``max_pos_per_group`` per group (so a few
    prolific authors do not dominate). Negatives: uniformly random pairs of ads from
    two different groups, ``neg_per_pos`` times the positives (at least ``min_neg``);
    with ``market`` (a market code per ad, ``-1`` unknown), ``market_share`` of them are
    instead drawn inside one market: a positive pair's ad and an ad of its market from
    another group (``market_negatives``; as many as exist). Returns columns ``a``, ``b``
    (ad indices, ``a < b``), ``y`` (1/0), ``group_a``, ``group_b``; no pair twice.
    """
    rng = np.random.default_rng(random_state)
    groups = np.asarray(groups)
    sel = np.ones(len(groups), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(sel & (groups >= 0))
    if len(idx) < 2:
        raise ValueError("fewer than two labelled ads: no pairs")
    order = idx[np.argsort(groups[idx], kind="stable")]
    g_sorted = groups[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    ends = np.r_[starts[1:], len(order)]
    pos_a, pos_b = [], []
    for s, e in zip(starts, ends, strict=True):
        k = e - s
        if k < 2:
            continue
        members = order[s:e]
        n_pairs = k * (k - 1) // 2
        if n_pairs <= max_pos_per_group:
            ia, ib = np.triu_indices(k, 1)
        else:
            ia, ib = _sample_within(k, max_pos_per_group, rng)
        pos_a.append(members[ia])
        pos_b.append(members[ib])
    pa = np.concatenate(pos_a) if pos_a else np.zeros(0, dtype=np.int64)
    pb = np.concatenate(pos_b) if pos_b else np.zeros(0, dtype=np.int64)
    n_neg = max(int(round(len(pa) * neg_per_pos)), min_neg)
    if not 0.0 <= market_share <= 1.0:
        raise ValueError(f"market_share {market_share} is not a share in [0, 1]")
    ma = mb = np.zeros(0, dtype=np.int64)
    if market is not None and market_share > 0:
        anchors = np.r_[pa, pb] if len(pa) else idx
        ma, mb = market_negatives(groups, market, idx, anchors, round(n_neg * market_share), rng)
    na, nb = _sample_negatives(idx, groups, n_neg - len(ma), rng)
    na, nb = np.r_[ma, na].astype(np.int64), np.r_[mb, nb].astype(np.int64)
    a = np.concatenate([pa, na])
    b = np.concatenate([pb, nb])
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    df = pd.DataFrame(
        {"a": lo, "b": hi, "y": np.r_[np.ones(len(pa), int), np.zeros(len(na), int)]}
    ).drop_duplicates(subset=["a", "b"])
    df["group_a"] = groups[df["a"].to_numpy()]
    df["group_b"] = groups[df["b"].to_numpy()]
    return df.reset_index(drop=True)


def market_negatives(
    groups: np.ndarray,
    market: np.ndarray,
    pool: np.ndarray,
    anchors: np.ndarray,
    n: int,
    rng: np.random.Generator,
    max_rounds: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` distinct pairs (``a < b``) of two groups inside one market: an anchor
    drawn uniformly from ``anchors`` and an ad of ``pool`` with the anchor's market
    (``market`` per ad, integer codes, ``-1`` unknown: never paired). Fewer when the
    markets hold fewer such pairs (``max_rounds`` rounds of draws)."""
    market = np.asarray(market, dtype=np.int64)
    groups = np.asarray(groups)
    pool = pool[(market[pool] >= 0) & (groups[pool] >= 0)]
    anchors = np.asarray(anchors, dtype=np.int64)
    anchors = anchors[np.isin(market[anchors], market[pool])]
    empty = np.zeros(0, dtype=np.int64)
    if n <= 0 or len(anchors) == 0:
        return empty, empty
    order = pool[np.argsort(market[pool], kind="stable")]
    codes, start, count = np.unique(market[order], return_index=True, return_counts=True)
    width = np.int64(len(groups))
    keys = empty
    for _ in range(max_rounds):
        a = rng.choice(anchors, size=2 * (n - len(keys)) + 16)
        m = np.searchsorted(codes, market[a])
        b = order[start[m] + (rng.random(len(a)) * count[m]).astype(np.int64)]
        ok = groups[a] != groups[b]
        lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
        new = lo.astype(np.int64) * width + hi
        _, first = np.unique(new, return_index=True)
        first.sort()
        new = new[first]
        keys = np.r_[keys, new[~np.isin(new, keys)]][:n]
        if len(keys) >= n:
            break
    return keys // width, keys % width


def _sample_within(k: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct pairs (i < j) among ``k`` items, uniformly (``n`` < k(k-1)/2)."""
    seen: set[tuple[int, int]] = set()
    while len(seen) < n:
        i, j = rng.integers(0, k, size=2)
        if i != j:
            seen.add((int(min(i, j)), int(max(i, j))))
    ia, ib = zip(*sorted(seen), strict=True)
    return np.asarray(ia), np.asarray(ib)


def _sample_negatives(
    idx: np.ndarray, groups: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if n == 0 or len(np.unique(groups[idx])) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # never ask for more distinct cross-group pairs than exist (small sets of ads)
    sizes = np.unique(groups[idx], return_counts=True)[1].astype(np.int64)
    n = min(n, (int(sizes.sum()) ** 2 - int((sizes**2).sum())) // 2)
    # Pairs are drawn in batches and kept in draw order, each the first time it is seen
    # (as a loop over a set of tuples would, with the same draws), as int64 keys: a set of
    # Python tuples took GBs for the millions of negatives of a 1M-ad corpus.
    width = np.int64(len(groups))
    out_a: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    out_b: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    seen = np.zeros(0, dtype=np.int64)
    while len(seen) < n:
        m = (n - len(seen)) * 2 + 16
        a = rng.choice(idx, size=m)
        b = rng.choice(idx, size=m)
        ok = groups[a] != groups[b]
        lo = np.minimum(a[ok], b[ok]).astype(np.int64)
        hi = np.maximum(a[ok], b[ok]).astype(np.int64)
        key = lo * width + hi
        _, first = np.unique(key, return_index=True)
        first.sort()
        first = first[~np.isin(key[first], seen)][: n - len(seen)]
        out_a.append(lo[first])
        out_b.append(hi[first])
        seen = np.concatenate([seen, key[first]])
    return np.concatenate(out_a), np.concatenate(out_b)


def _shingle_sets(texts: Sequence[str], k: int) -> sp.csr_matrix:
    """Binary hashed ``k``-shingle sets (whitespace-normalised, lower-cased), one row each;
    texts shorter than ``k`` are one shingle: the whole text. Hashed by the vectorised
    hasher (the same matrix as ``_shingle_sets_reference``, ~4x faster)."""
    from ownergraph.linking.stylometry.ngram_hash import char_window_sets

    norm = [" ".join(t.lower().split()) for t in texts]
    try:
        return char_window_sets(norm, k, 2**24)
    except UnicodeEncodeError:  # a lone surrogate: scikit-learn's path reports it
        return _shingle_sets_reference(texts, k)


def _shingle_sets_reference(texts: Sequence[str], k: int) -> sp.csr_matrix:
    """``_shingle_sets`` by scikit-learn's HashingVectorizer over Python shingle lists."""
    from sklearn.feature_extraction.text import HashingVectorizer

    norm = [" ".join(t.lower().split()) for t in texts]
    vec = HashingVectorizer(
        analyzer=lambda t: [t] if len(t) <= k else [t[i : i + k] for i in range(len(t) - k + 1)],
        n_features=2**24,
        alternate_sign=False,
        norm=None,
        binary=True,
        dtype=np.float32,
    )
    return vec.transform(norm).tocsr()


def shingle_jaccard(
    texts: Sequence[str] | pa.Array | pa.ChunkedArray,
    a: np.ndarray,
    b: np.ndarray,
    k: int = 5,
    step: int = 50_000,
) -> np.ndarray:
    """Jaccard similarity of character ``k``-shingle sets (whitespace-normalised,
    lower-cased) for each pair ``(a[i], b[i])``. Shingles are hashed into 2^24 buckets
    (vectorised, ~8x faster than Python sets; on 20k random pairs of an 8k-ad world the
    largest difference from exact set Jaccard was 0.004, no near-duplicate flag changed).
    ``texts``: Python strings or one Arrow string array (read as strings ``step`` pairs at
    a time). The sets are made ``step`` pairs at a time, for those pairs' texts alone: an
    ad in several steps is hashed again, but memory stays that of ``2 x step`` texts
    (the sets of the ~300k texts of 500k held-out pairs at 1M ads, and their strings, took
    GBs); the values do not depend on the step."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    out = np.empty(len(a), dtype=np.float32)
    for s in range(0, len(a), step):
        ca, cb = a[s : s + step], b[s : s + step]
        used, inv = np.unique(np.r_[ca, cb], return_inverse=True)
        x = _shingle_sets(_take(texts, used), k)
        size = np.diff(x.indptr).astype(np.float64)
        la, lb = inv[: len(ca)], inv[len(ca) :]
        inter = pair_products(x, la, lb)[2]  # shared shingles (the sets are binary)
        out[s : s + step] = inter / np.maximum(size[la] + size[lb] - inter, 1)
    return out


def _take(texts: Sequence[str] | pa.Array | pa.ChunkedArray, idx: np.ndarray) -> list[str]:
    """The texts at positions ``idx`` as Python strings."""
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        return [t if t is not None else "" for t in texts.take(idx).to_pylist()]
    return [texts[i] for i in idx]


def near_duplicates(
    texts: Sequence[str] | pa.Array | pa.ChunkedArray,
    a: np.ndarray,
    b: np.ndarray,
    threshold: float = 0.9,
) -> np.ndarray:
    """True for pairs whose masked texts are template copies (shingle Jaccard >= threshold)."""
    return shingle_jaccard(texts, a, b) >= threshold
