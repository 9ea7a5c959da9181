"""New ads against a saved candidate index: the incremental path of author linking.

A full author run saves its candidate search (the fitted SVD projection), every ad's
embedding and its features (:class:`AuthorIndex`). A later batch is featurised alone,
embedded with the saved projection and searched exactly against every saved embedding
(``faiss.knn``), its candidate pairs scored by the saved model; old ads are never
featurised again, and only the saved features of the old ads in candidate pairs are read
(the feature files are memory-mapped). :func:`attach` then puts each new ad in the existing
Author cluster it links to most strongly (sum of accepted ``p``); new ads (and old ads
without a cluster) linked only among themselves form new clusters by connected components.
Existing clusters are never merged or split here: a new ad that links two clusters
joins the stronger one (counted as ``bridges``), which is where a full re-run can differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph.linking.stylometry.candidates import CandidateSearch
from ownergraph.linking.stylometry.features import AdFeatures
from ownergraph.linking.stylometry.model import PairwiseAuthorModel


@dataclass
class AuthorIndex:
    """The saved state of author linking: search, embeddings, features, ad ids."""

    search: CandidateSearch
    ids: list[str]
    emb: np.ndarray
    feats: AdFeatures

    def save(self, folder: str | Path, part: int | None = None) -> None:
        """Write the search and one part (the whole index at a full run: part 0)."""
        d = Path(folder)
        d.mkdir(parents=True, exist_ok=True)
        if part is None:
            for f in d.glob("part-*"):
                f.unlink()
            part = 0
            joblib.dump(self.search, d / "search.joblib")
        np.save(d / f"part-{part:04d}.emb.npy", self.emb)
        (d / f"part-{part:04d}.ids.json").write_text(json.dumps(self.ids))
        joblib.dump(self.feats, d / f"part-{part:04d}.feats.joblib")

    @staticmethod
    def parts(folder: str | Path) -> list[int]:
        return sorted(int(p.name[5:9]) for p in Path(folder).glob("part-*.ids.json"))

    @classmethod
    def load(cls, folder: str | Path) -> AuthorIndex:
        d = Path(folder)
        search = joblib.load(d / "search.joblib")
        ids: list[str] = []
        embs, feats = [], []
        for p in cls.parts(d):
            ids += json.loads((d / f"part-{p:04d}.ids.json").read_text())
            embs.append(np.load(d / f"part-{p:04d}.emb.npy"))
            # memory-mapped: attach reads only the rows of its candidate pairs
            feats.append(joblib.load(d / f"part-{p:04d}.feats.joblib", mmap_mode="r"))
        f = feats[0] if len(feats) == 1 else AdFeatures.concat(feats)
        return cls(search, ids, np.vstack(embs), f)


def exact_knn(query: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and similarities (inner products) of each query row's ``k`` nearest rows of
    ``base``, exact: ``faiss.knn`` (brute force in threads with a heap per query). The
    NumPy way (a block of products, then ``argpartition``) took 96 s for 10k new ads
    against 1M and held a 256 x 1M block and its 2 GB of indices; faiss takes ~12 s."""
    import faiss

    k = min(k, base.shape[0])
    q = np.ascontiguousarray(query, dtype=np.float32)
    b = np.ascontiguousarray(base, dtype=np.float32)
    sim, idx = faiss.knn(q, b, k, metric=faiss.METRIC_INNER_PRODUCT)
    return idx.astype(np.int64, copy=False), sim.astype(np.float32, copy=False)


@dataclass
class Attached:
    author: np.ndarray  # per new ad: existing author id, or None
    new_clusters: list[list[int]]  # rows (old + new numbering) of new clusters
    p_best: np.ndarray  # per row of all ads: strongest accepted p (new ads and new clusters)
    candidates: int
    accepted: int
    bridges: int  # new ads whose accepted links reach more than one existing cluster


def attach(
    index: AuthorIndex,
    new_feats: AdFeatures,
    model: PairwiseAuthorModel,
    old_author: np.ndarray,
    threshold: float,
    k: int | None = None,
) -> tuple[Attached, np.ndarray]:
    """Score the new ads against the index and assign them (see the module notes).

    ``old_author``: the Author id of each indexed ad (None when it has none). Returns the
    assignment and the new ads' embeddings.
    """
    n_old, n_new = len(index.ids), len(new_feats)
    emb_new = index.search.embed(new_feats)
    base = np.vstack([index.emb, emb_new])
    k = (k or index.search.k) + 1
    idx, _ = exact_knn(emb_new, base, k)
    a = np.repeat(np.arange(n_old, n_old + n_new), idx.shape[1])
    b = idx.ravel()
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    pairs = np.unique(lo * (2**32) + hi)
    a, b = (pairs >> 32).astype(np.int64), (pairs & 0xFFFFFFFF).astype(np.int64)
    # score on the rows the pairs use: the old ads among them and every new ad (concat
    # consumes its parts, so the new ads' features, saved by the caller, go in as a copy)
    old_rows = np.unique(np.concatenate([a, b]))
    old_rows = old_rows[old_rows < n_old]
    feats = AdFeatures.concat([index.feats.take(old_rows), new_feats.take(np.arange(n_new))])
    row = np.zeros(n_old + n_new, dtype=np.int64)
    row[old_rows] = np.arange(len(old_rows))
    row[n_old:] = len(old_rows) + np.arange(n_new)
    p = model.predict_proba_indexed(feats, row[a], row[b]) if len(a) else np.zeros(0)
    del feats
    ok = p >= threshold
    a, b, p = a[ok], b[ok], p[ok]
    n = n_old + n_new
    author = np.empty(n, dtype=object)
    author[:n_old] = old_author
    author[n_old:] = None
    result = np.empty(n_new, dtype=object)
    result[:] = None
    bridges = 0
    # new ads to existing clusters: the cluster with the largest sum of accepted p
    for i in range(n_old, n):
        other = np.concatenate([b[a == i], a[b == i]])
        w = np.concatenate([p[a == i], p[b == i]])
        cl = author[other]
        has = np.array([c is not None for c in cl], dtype=bool)
        if has.any():
            sums: dict[str, float] = {}
            for c, x in zip(cl[has], w[has], strict=True):
                sums[c] = sums.get(c, 0.0) + float(x)
            bridges += len(sums) > 1
            result[i - n_old] = max(sorted(sums), key=lambda c: sums[c])
    author[n_old:] = result
    best = np.zeros(n)
    np.maximum.at(best, a, p)
    np.maximum.at(best, b, p)
    # the rest: components over accepted links among ads without a cluster
    free = np.array([x is None for x in author], dtype=bool)
    m = free[a] & free[b]
    clusters: list[list[int]] = []
    if m.any():
        g = coo_matrix((np.ones(int(m.sum())), (a[m], b[m])), shape=(n, n))
        _, lab = connected_components(g, directed=False)
        touched = np.unique(np.concatenate([a[m], b[m]]))
        by: dict[int, list[int]] = {}
        for r in touched:
            by.setdefault(int(lab[r]), []).append(int(r))
        clusters = [sorted(v) for v in by.values() if len(v) >= 2]
    out = Attached(result, clusters, best, int(len(pairs)), int(ok.sum()), bridges)
    return out, emb_new
