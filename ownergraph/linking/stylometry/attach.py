"""New ads against a saved candidate index: the incremental path of author linking.

A full author run saves its candidate search (the fitted SVD projection), every ad's
embedding and its features, and the faiss index its search built over them, if it used one
(:class:`AuthorIndex`; below ``exact_below`` ads the full run searched exactly and no index
is kept). A later batch is featurised alone, embedded with the saved projection and
searched in the full run's index (the same approximate search the full run made, ~1 s for
10k ads against 1M) and exactly (``faiss.knn``) against the parts added by incremental runs
since, and among itself; the nearest of both are kept. Its candidate pairs are scored by
the saved model; old ads are never featurised again, and only the saved features of the
old ads in candidate pairs are read (embeddings and features are memory-mapped).
:func:`attach` then puts each new ad in the existing Author cluster it links to most
strongly (sum of accepted ``p``); new ads (and old ads without a cluster) linked only among
themselves form new clusters by connected components.
Existing clusters are never merged or split here: a new ad that links two clusters
joins the stronger one (counted as ``bridges``), which is where a full re-run can differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph.linking.stylometry.candidates import CandidateSearch
from ownergraph.linking.stylometry.features import AdFeatures
from ownergraph.linking.stylometry.model import PairwiseAuthorModel

ANN_FILE = "part-0000.faiss"  # the full run's faiss index of part 0


@dataclass
class AuthorIndex:
    """The saved state of author linking: search, embeddings and features of each part
    (part 0: the full run's ads; then one part per incremental run), ad ids, and the full
    run's faiss index of part 0 (``ann``; None when that search was exact)."""

    search: CandidateSearch
    ids: list[str]
    emb: list[np.ndarray]  # per part
    feats: list[AdFeatures]  # per part (memory-mapped when loaded; never stacked)
    ann: Any = None

    def save(self, folder: str | Path, part: int | None = None) -> None:
        """Write the search and one part (the whole index at a full run: part 0; its faiss
        index, written by the search itself, is moved in by the caller)."""
        d = Path(folder)
        d.mkdir(parents=True, exist_ok=True)
        if part is None:
            for f in d.glob("part-*"):
                f.unlink()
            part = 0
            joblib.dump(self.search, d / "search.joblib")
        emb = self.emb[0] if len(self.emb) == 1 else np.vstack(self.emb)
        np.save(d / f"part-{part:04d}.emb.npy", emb)
        (d / f"part-{part:04d}.ids.json").write_text(json.dumps(self.ids))
        feats = self.feats[0] if len(self.feats) == 1 else AdFeatures.concat(self.feats)
        joblib.dump(feats, d / f"part-{part:04d}.feats.joblib")

    @staticmethod
    def parts(folder: str | Path) -> list[int]:
        return sorted(int(p.name[5:9]) for p in Path(folder).glob("part-*.ids.json"))

    @classmethod
    def load(cls, folder: str | Path) -> AuthorIndex:
        """The saved index; embeddings and features memory-mapped (read as needed)."""
        d = Path(folder)
        search = joblib.load(d / "search.joblib")
        ids: list[str] = []
        embs, feats = [], []
        for p in cls.parts(d):
            ids += json.loads((d / f"part-{p:04d}.ids.json").read_text())
            embs.append(np.load(d / f"part-{p:04d}.emb.npy", mmap_mode="r"))
            feats.append(joblib.load(d / f"part-{p:04d}.feats.joblib", mmap_mode="r"))
        return cls(search, ids, embs, feats, ann=read_ann(d / ANN_FILE))

    def take(self, rows: np.ndarray) -> AdFeatures:
        """The features of the indexed ads at ``rows`` (sorted, numbered over all parts),
        read from each part's memory map: only those rows are copied, whatever the number
        of parts (stacking the parts would read every old ad's features into memory)."""
        ends = np.cumsum([len(f) for f in self.feats])
        part = np.searchsorted(ends, rows, side="right")
        got = [
            f.take(rows[part == i] - (ends[i - 1] if i else 0))
            for i, f in enumerate(self.feats)
            if (part == i).any()
        ]
        if not got:
            return self.feats[0].take(rows)
        return got[0] if len(got) == 1 else AdFeatures.concat(got)


def read_ann(path: Path) -> Any:
    """A saved faiss index, memory-mapped where faiss can (None if there is none)."""
    if not path.exists():
        return None
    import faiss

    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    except RuntimeError:  # an index type faiss cannot map
        return faiss.read_index(str(path))


def knn_in_index(index: AuthorIndex, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query row's ``k`` nearest indexed ads and query rows (numbered after the
    indexed ads): part 0 in the full run's faiss index (or exactly), the later parts and
    the queries exactly; the nearest of both by inner product."""
    from ownergraph.linking.stylometry.candidates import _faiss_threads

    n0 = len(index.emb[0])
    q = np.ascontiguousarray(query, dtype=np.float32)
    if index.ann is not None:
        _faiss_threads(index.search.n_threads)
        index.search.tune(index.ann, n0, k)
        s0, i0 = index.ann.search(q, min(k, n0))
    else:
        i0, s0 = exact_knn(q, index.emb[0], k)
    rest = [*index.emb[1:], q]
    i1, s1 = exact_knn(q, np.vstack(rest) if len(rest) > 1 else q, k)
    idx = np.hstack([i0, i1 + n0])
    sim = np.hstack([s0, s1]).astype(np.float32)
    sim[np.hstack([i0 < 0, i1 < 0])] = -np.inf  # faiss pads missing results with -1
    top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    idx, sim = np.take_along_axis(idx, top, 1), np.take_along_axis(sim, top, 1)
    idx[~np.isfinite(sim)] = -1
    return idx, sim


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
    k = (k or index.search.k) + 1
    idx, _ = knn_in_index(index, emb_new, k)
    a = np.repeat(np.arange(n_old, n_old + n_new), idx.shape[1])
    b = idx.ravel()
    keep = (a != b) & (b >= 0)
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    pairs = np.unique(lo * (2**32) + hi)
    a, b = (pairs >> 32).astype(np.int64), (pairs & 0xFFFFFFFF).astype(np.int64)
    # score on the rows the pairs use: the old ads among them and every new ad (concat
    # consumes its parts, so the new ads' features, saved by the caller, go in as a copy)
    old_rows = np.unique(np.concatenate([a, b]))
    old_rows = old_rows[old_rows < n_old]
    feats = AdFeatures.concat([index.take(old_rows), new_feats.take(np.arange(n_new))])
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
