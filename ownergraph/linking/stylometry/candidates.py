"""Candidate pairs for large ad sets: approximate nearest neighbours in a reduced space.

Scoring all n(n-1)/2 pairs is impossible at 1M ads. Each ad's sparse style views are
projected to a small dense vector (TruncatedSVD fitted on a sample, L2-normalised), and
its ``k`` nearest neighbours by inner product are found with a faiss index: by default a
graph index (``IndexHNSWFlat``, M=32, efConstruction 40, efSearch 96), optionally an
inverted file (``IVF<nlist>,Flat``, ``nprobe`` lists searched). Below ``exact_below`` ads
the search is exact. Only those pairs are scored by the pairwise model. With
``index_path`` the faiss index is also written there, so that an incremental run searches
new ads in the same index.

Why HNSW (``benchmarks/bench_candidate_recall.py --embedding E``, E the embedding the
product's own authors stage saved for the 1M-ad synthetic world of seed 1, 2026-12-04,
2 quiet cores): inside the index of all 1M ads, for 5,000 random query ads, against their
exact 20 nearest neighbours by a full matrix product (~6.6 h for all ads, extrapolated):
recall of the exact neighbour sets / tie-aware recall (a returned neighbour counts when
its similarity is within 1e-3 of the exact 20th, the ann-benchmarks definition: many ads
have more than 20 near-identical neighbours, among which the exact top 20 is arbitrary),
build + search time for all ads: IVF4000 nprobe 16 0.882 / 0.914, 18 + 151 s; nprobe 32
0.924 / 0.952, 18 + 271 s; HNSW efSearch 32 0.940 / 0.971, 87 + 68 s; efSearch 64
0.954 / 0.981, 87 + 119 s; **efSearch 96 0.962 / 0.988, 87 + 172 s** (the default);
efSearch 128 0.966 / 0.991, 87 + 227 s. At M 16 (a scratch grid on the same embedding)
the build takes 55 s but efSearch 128 finds only 0.917; an 8-bit scalar-quantised HNSW
is no faster. So the search is ~260 s of the 1M-ad stage, the largest part after
featurising; an earlier run of the benchmark on an embedding of its own model (not the
product's) had given 45 + 78 s at 0.898 / 0.965. On a 50k-ad sample
(``bench_stylometry.py``) efSearch 96 finds 0.959 of the brute-force candidate pairs (64:
0.943-0.954 over two runs; HNSW insertion on 2 threads is not deterministic).

The SVD uses 2 power iterations, not scikit-learn's 5: on an 8k-ad dev world the
candidates' overlap with the exact sparse cosine neighbours was the same (0.69-0.70 at
k=20) at half the fitting time. ``exact_neighbours`` is the brute-force reference (all
pairs, blocked dense matrix products) used to measure candidate recall on a sample.
BLAS/OpenMP threads default to one (``n_threads``): on a shared, busy 2-core machine an
unlimited thread pool made the SVD fit of 8k ads 3-6x slower (1.3 s single-threaded vs
3.9-8.0 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ownergraph import defaults
from ownergraph.linking.stylometry.features import AdFeatures

NPROBE_SWITCH = 200_000
INDEXES = ("hnsw", "ivf")


def _stack_views(
    feats: AdFeatures, views: tuple[str, ...], width: int, rows: slice | np.ndarray | None = None
) -> sp.csr_matrix:
    """The chosen L2-normalised views (of ``rows`` only, if given), each weighted equally,
    folded into ``width`` columns (column index modulo ``width``: a second hashing that
    keeps the SVD's random projection small; collisions barely change inner products).
    Built straight from each view's CSR arrays, so the transient memory is about one
    copy of the selected rows (callers pass row chunks at scale)."""
    missing = [v for v in views if v not in feats.views]
    if missing:
        raise ValueError(f"candidate views {missing} are not in the features {list(feats.views)}")
    w = np.float32(1.0 / np.sqrt(len(views)))
    out = None
    for k, v in enumerate(views):
        x = feats.views[v]
        if rows is not None:
            x = x[rows]
        fold = ((np.arange(x.shape[1], dtype=np.int64) * 2654435761 + k) % width).astype(np.int32)
        y = sp.csr_matrix((x.data * w, fold[x.indices], x.indptr.copy()), shape=(x.shape[0], width))
        y.sum_duplicates()
        out = y if out is None else out + y
    return out.tocsr()


@dataclass
class Candidates:
    """Unique candidate pairs ``a < b`` with their embedding similarity."""

    a: np.ndarray
    b: np.ndarray
    sim: np.ndarray
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.a)

    def keys(self) -> np.ndarray:
        return self.a.astype(np.int64) * (2**32) + self.b.astype(np.int64)


def pairs_from_knn(idx: np.ndarray, sim: np.ndarray, min_sim: float) -> Candidates:
    """Unique pairs of the k-NN lists ``idx`` (with similarities ``sim``), each pair's
    similarity from its first occurrence in row order. Intermediates are freed as soon as
    used and the pair keys built in place (at 1M ads x 21 neighbours each int64 array is
    168 MB; the straightforward version held ~10 of them at once)."""
    n, k = idx.shape
    a = np.repeat(np.arange(n, dtype=np.int64), k)
    b = idx.reshape(-1).astype(np.int64, copy=False)
    ok = b >= 0
    ok &= b != a
    ok &= sim.reshape(-1) >= min_sim
    a = a[ok]
    b = b[ok]
    s = sim.reshape(-1)[ok]
    del ok
    key = np.minimum(a, b)
    np.maximum(a, b, out=a)  # a: the larger end now
    key *= 2**32
    key += a
    del a, b
    key, first = np.unique(key, return_index=True)
    s = s[first]
    del first
    a = key >> 32
    key &= 0xFFFFFFFF
    return Candidates(a, key, s)


class CandidateSearch(BaseEstimator):
    """k nearest neighbours per ad in an SVD-reduced style space (faiss HNSW/IVF or exact)."""

    def __init__(
        self,
        views: tuple[str, ...] = ("char", "word"),
        n_components: int = 128,
        k: int = defaults.AUTHOR_NEIGHBOURS,
        min_sim: float = 0.0,
        index: str = "hnsw",
        hnsw_m: int = 32,
        ef_construction: int = 40,
        ef_search: int = 96,
        nprobe: int | None = None,
        exact_below: int = 20_000,
        fit_sample: int = 50_000,
        width: int = 2**16,
        n_iter: int = 2,
        n_threads: int | None = 1,
        random_state: int = 0,
        index_path: str | None = None,
    ) -> None:
        self.views = views
        self.n_components = n_components
        self.k = k
        self.min_sim = min_sim
        self.index = index
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.nprobe = nprobe
        self.exact_below = exact_below
        self.fit_sample = fit_sample
        self.width = width
        self.n_iter = n_iter
        self.n_threads = n_threads
        self.random_state = random_state
        self.index_path = index_path

    def nprobe_for(self, n: int) -> int:
        """IVF ``nprobe``: as given, or 128 up to 200k ads and 16 above (set recall on a
        50k-ad sample: nprobe 16 0.915, 64 0.950, 128 0.956; at 1M see the module notes)."""
        if self.nprobe is not None:
            return self.nprobe
        return 128 if n <= NPROBE_SWITCH else 16

    def describe(self, n: int) -> str:
        """The search used for ``n`` ads, in words (for reports)."""
        if n < self.exact_below:
            return "exact (full matrix product)"
        if self.index == "ivf":
            return f"faiss IVF, nprobe {self.nprobe_for(n)}"
        return f"faiss HNSW, M {self.hnsw_m}, efConstruction {self.ef_construction}, " + (
            f"efSearch {self.ef_search}"
        )

    def fit(self, feats: AdFeatures) -> CandidateSearch:
        """Fit the SVD projection on (a sample of) the ads' stacked views."""
        n = len(feats)
        rows = None
        if n > self.fit_sample:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(n, self.fit_sample, replace=False))
        x = _stack_views(feats, self.views, self.width, rows)
        n_comp = max(1, min(self.n_components, x.shape[0] - 1, x.shape[1] - 1))
        self.svd_ = TruncatedSVD(
            n_comp, algorithm="randomized", n_iter=self.n_iter, random_state=self.random_state
        )
        with threadpool_limits(self.n_threads):
            self.svd_.fit(x)
        return self

    def embed(self, feats: AdFeatures, chunk: int = 50_000) -> np.ndarray:
        """Dense L2-normalised float32 embedding of every ad (n x n_components)."""
        check_is_fitted(self, "svd_")
        comp = self.svd_.components_.T.astype(np.float32)
        n = len(feats)
        out = np.empty((n, comp.shape[1]), dtype=np.float32)
        for s in range(0, n, chunk):
            out[s : s + chunk] = (
                _stack_views(feats, self.views, self.width, slice(s, s + chunk)) @ comp
            )
        return normalize(out, copy=False)

    def neighbours(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Similarities and indices of each ad's ``k + 1`` nearest neighbours (itself
        included), exact below ``exact_below`` ads, else by the chosen faiss index."""
        if self.index not in INDEXES:
            raise ValueError(f"unknown candidate index {self.index!r}; use one of {INDEXES}")
        n = emb.shape[0]
        k = min(self.k + 1, n)
        with threadpool_limits(self.n_threads):
            if n < self.exact_below:
                return exact_neighbours(emb, k)
            _faiss_threads(self.n_threads)
            if self.index == "ivf":
                index = ivf_index(emb, random_state=self.random_state)
            else:
                index = hnsw_index(emb, self.hnsw_m, self.ef_construction)
            self.tune(index, n, k)
            if self.index_path:  # kept for incremental runs (``attach``)
                import faiss

                faiss.write_index(index, self.index_path)
            return index.search(np.ascontiguousarray(emb, dtype=np.float32), k)

    def tune(self, index: Any, n: int, k: int) -> None:
        """Set the search-time parameter of a faiss index this search built over ``n`` ads:
        HNSW ``efSearch``, IVF ``nprobe``."""
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = max(self.ef_search, k)
        else:
            index.nprobe = self.nprobe_for(n)

    def search(self, emb: np.ndarray) -> Candidates:
        """Candidate pairs from each ad's k approximate nearest neighbours."""
        t0 = time.perf_counter()
        sim, idx = self.neighbours(emb)
        cand = pairs_from_knn(idx, sim, self.min_sim)
        del sim, idx
        cand.seconds = time.perf_counter() - t0
        return cand


def exact_neighbours(
    emb: np.ndarray, k: int, block: int = 4096, queries: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: the exact top-``k`` inner products of every row, or of the rows
    ``queries`` only, against all rows (blocked matmul)."""
    q = np.arange(emb.shape[0]) if queries is None else np.asarray(queries)
    k = min(k, emb.shape[0])
    sims = np.empty((len(q), k), dtype=np.float32)
    idx = np.empty((len(q), k), dtype=np.int64)
    for s in range(0, len(q), block):
        prod = emb[q[s : s + block]] @ emb.T
        part = np.argpartition(-prod, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(prod, part, axis=1)
        order = np.argsort(-ps, axis=1)
        idx[s : s + block] = np.take_along_axis(part, order, axis=1)
        sims[s : s + block] = np.take_along_axis(ps, order, axis=1)
    return sims, idx


def ivf_index(emb: np.ndarray, nlist: int | None = None, random_state: int = 0) -> Any:
    """A trained and filled faiss ``IVF<nlist>,Flat`` inner-product index of ``emb``
    (``nlist`` by default ~4 sqrt(n), at least 39 ads per list, at most 8192)."""
    import faiss

    n, d = emb.shape
    nlist = nlist or int(max(1, min(8192, 4 * np.sqrt(n), n // 39)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(random_state)
    train = emb[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
    index.cp.seed = random_state
    index.train(np.ascontiguousarray(train))
    index.add(np.ascontiguousarray(emb))
    return index


def hnsw_index(emb: np.ndarray, m: int = 32, ef_construction: int = 40) -> Any:
    """A filled faiss ``IndexHNSWFlat`` inner-product graph index of ``emb``. Insertion
    runs on faiss's threads, so the graph (and a few neighbours found with it) can differ
    between runs; recall does not (see the module notes)."""
    import faiss

    index = faiss.IndexHNSWFlat(emb.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(emb, dtype=np.float32))
    return index


def ivf_neighbours(
    emb: np.ndarray,
    k: int,
    nprobe: int = 16,
    nlist: int | None = None,
    random_state: int = 0,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` inner products with a faiss ``IVF<nlist>,Flat`` index."""
    _faiss_threads(n_threads)
    index = ivf_index(emb, nlist, random_state)
    index.nprobe = nprobe
    return index.search(np.ascontiguousarray(emb), k)


def _faiss_threads(n_threads: int | None) -> None:
    if n_threads:
        import faiss

        faiss.omp_set_num_threads(n_threads)


def knn_recall(
    found: tuple[np.ndarray, np.ndarray],
    exact: tuple[np.ndarray, np.ndarray],
    queries: np.ndarray,
    eps: float = 1e-3,
) -> tuple[float, float]:
    """Recall of approximate neighbour lists against exact ones, the query itself left
    out of both. ``found``/``exact``: ``(sims, idx)`` rows for the ads ``queries``, each
    row k + 1 wide (itself included). Returns the share of each exact neighbour set found
    and the tie-aware share: a returned neighbour counts when its similarity is at least
    the exact k-th minus ``eps`` (as in ann-benchmarks; among many near-identical
    neighbours, which ones make the exact top k is arbitrary)."""
    f_sim, f_idx = found
    e_sim, e_idx = exact
    k = e_idx.shape[1] - 1
    hits = ties = 0
    for q, fs, fi, es, ei in zip(queries, f_sim, f_idx, e_sim, e_idx, strict=True):
        keep = ei != q
        es, ei = es[keep][:k], ei[keep][:k]
        other = (fi != q) & (fi >= 0)
        fs, fi = fs[other], fi[other]
        hits += len(np.intersect1d(fi, ei))
        ties += min(int((fs >= es.min() - eps).sum()), k)
    n = len(queries) * k
    return hits / n, ties / n


def candidate_recall(found: Candidates, reference: Candidates) -> float:
    """Fraction of the reference pairs that the candidate set contains."""
    if len(reference) == 0:
        return 1.0
    return float(np.isin(reference.keys(), found.keys()).mean())
