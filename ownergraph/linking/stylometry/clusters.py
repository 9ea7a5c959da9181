"""Author clusters: scored candidate pairs above a threshold -> clusters -> the graph.

``link_texts`` is the whole scalable path on texts (features in parallel chunks,
approximate candidate search, model scores, clustering); the stage
:func:`ownergraph.stages.authors.link_authors` reads the ads from a store, runs it, and
replaces the store's ``Author`` nodes and ``WRITTEN_BY`` edges with the new result.

Clustering: pairs with ``p >= threshold`` form a graph. Plain connected components
chain (one bad edge merges two authors), so by default components are refined with
Leiden (igraph, CPM objective on edge weights ``p``): a cluster must be internally
dense, which cuts weak bridges. The CPM resolution (default 0.0005) was calibrated on a
synthetic world's true authors (20k ads, seed 7): candidate graphs are sparse (k
neighbours per ad), so an author of hundreds of ads has edge density ~k/n and larger
resolutions shatter it. ``threshold`` defaults to the model's threshold for the
target false-positive rate measured at training time, FPR 1% (``TARGET_FPR``), the
operating point that owner detection was calibrated with: on the calibration worlds
(seeds 101/103/104, 5k-20k ads) owner B-cubed F1 was 0.980 with author links at FPR 1%
and 0.910 at FPR 0.1%, because owner detection only counts author links that other
evidence supports. For Author clusters on their own, FPR 0.1% is purer at scale: that
FPR is measured on random pairs, but candidates are each ad's nearest stylistic
neighbours, i.e. hard negatives; on a dev world (seed 7) the FPR-1% threshold accepted
92% of the 200k-ad candidate pairs, 17% of them cross-author, and Leiden chained authors
(pairwise precision 0.46 at 20k ads), while FPR 0.1% gave 0.90 / recall 0.97 at 20k and
0.90 / 0.76 at 200k (``--target-fpr 0.001``). A per-ad cap on accepted edges
(``max_edges_per_ad``) or a higher resolution bought <= 2-4 precision points for 7-40
recall points there, so both stay off by default.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd
import pyarrow as pa
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph import defaults
from ownergraph.linking.stylometry.candidates import Candidates, CandidateSearch
from ownergraph.linking.stylometry.features import AdFeatures
from ownergraph.linking.stylometry.memory import release_free_memory
from ownergraph.linking.stylometry.model import METHOD, PairwiseAuthorModel
from ownergraph.linking.stylometry.operating_point import (
    DEFAULT_TARGET_PRECISION,
    OperatingPoint,
    at_threshold,
    model_curve,
    operating_point,
)

CLUSTER_METHODS = ("leiden", "components")
RESOLUTION = defaults.AUTHOR_RESOLUTION
TARGET_PRECISION = DEFAULT_TARGET_PRECISION
log = logging.getLogger(__name__)


def cap_edges(a: np.ndarray, b: np.ndarray, p: np.ndarray, per_ad: int) -> np.ndarray:
    """Mask of the edges among each ad's ``per_ad`` strongest (an edge is kept when it is
    among the strongest of either end): bounds how far one hub ad can chain clusters."""
    m = len(a)
    if m == 0 or per_ad <= 0:
        return np.ones(m, dtype=bool)
    node = np.concatenate([a, b])
    edge = np.concatenate([np.arange(m), np.arange(m)])
    order = np.lexsort((-np.concatenate([p, p]), node))
    node_s = node[order]
    start = np.r_[0, np.flatnonzero(node_s[1:] != node_s[:-1]) + 1]
    rank = np.arange(len(node_s)) - np.repeat(start, np.diff(np.r_[start, len(node_s)]))
    keep = np.zeros(m, dtype=bool)
    keep[edge[order][rank < per_ad]] = True
    return keep


def cluster_pairs(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    p: np.ndarray,
    threshold: float,
    method: str = "leiden",
    resolution: float = RESOLUTION,
    random_state: int = 0,
    max_edges_per_ad: int = 0,
    n_iterations: int = 2,
) -> np.ndarray:
    """Cluster label per ad (0..m-1) from pairs with ``p >= threshold``.

    ``max_edges_per_ad`` > 0 keeps only each ad's strongest accepted edges (see
    ``cap_edges``). Leiden is igraph's C implementation (CPM on weights ``p``), graph
    built from numpy arrays, ``n_iterations`` passes (-1 = until stable: 10x slower on
    millions of edges for a near-identical partition).
    """
    if method not in CLUSTER_METHODS:
        raise ValueError(f"unknown cluster method {method!r}; use one of {CLUSTER_METHODS}")
    keep = np.asarray(p) >= threshold
    a, b, w = np.asarray(a)[keep], np.asarray(b)[keep], np.asarray(p)[keep]
    if max_edges_per_ad > 0:
        capped = cap_edges(a, b, w, max_edges_per_ad)
        a, b, w = a[capped], b[capped], w[capped]
    adj = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    del adj
    if method == "components" or len(a) == 0:
        return comp
    labels = comp.copy()
    next_label = comp.max() + 1
    sizes = np.bincount(comp)
    big = np.flatnonzero(sizes > 2)
    if len(big) == 0:
        return labels
    # One Leiden run over the subgraph of all non-trivial components (they stay apart).
    in_big = sizes[comp] > 2
    nodes = np.flatnonzero(in_big)
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    e_ok = in_big[a]
    g = ig.Graph(n=len(nodes), edges=np.column_stack([local[a[e_ok]], local[b[e_ok]]]))
    import random

    random.seed(random_state)
    part = g.community_leiden(
        objective_function="CPM",
        weights=w[e_ok],
        resolution=resolution,
        n_iterations=n_iterations,
    )
    memb = np.asarray(part.membership, dtype=np.int64)
    labels[nodes] = next_label + memb
    _, labels = np.unique(labels, return_inverse=True)
    return labels


@dataclass
class LinkResult:
    """Clusters of one linking run plus the accepted pairs and the run's figures."""

    labels: np.ndarray
    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    threshold: float
    summary: dict[str, Any] = field(default_factory=dict)


def _peak_rss_gb() -> float:
    """This process's peak resident set so far (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


Texts = Sequence[str] | pa.Array | pa.ChunkedArray


def compact_texts(texts: Texts) -> pa.Array:
    """Texts as one Arrow ``large_string`` array: UTF-8 bytes plus offsets. A Python
    ``str`` with one emoji is stored at 4 bytes per character, so 1M synthetic ads take
    ~2.3 GB as a list and ~0.6 GB as Arrow."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(texts, pa.Array):
        return texts.cast(pa.large_string())
    return pa.array(texts, type=pa.large_string())


def _chunk(texts: Texts, s: int, e: int) -> list[str]:
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        return [t if t is not None else "" for t in texts.slice(s, e - s).to_pylist()]
    return list(texts[s:e])


def _featurise(model: PairwiseAuthorModel, texts: Texts, n_jobs: int, chunk: int) -> AdFeatures:
    """Features of all texts: chunks of ``chunk`` texts featurised in ``n_jobs`` processes
    (each chunk is turned into Python strings only when it is dispatched)."""
    return featurise_keeping(model, texts, n_jobs, chunk)[0]


def _transform_chunk(
    model: PairwiseAuthorModel, texts: list[str], keep: np.ndarray | None
) -> tuple[AdFeatures, pa.Array | None]:
    """Features of a chunk, and the masked texts of its rows ``keep`` (Arrow)."""
    masked = model.prepare(texts)
    feats = model.transform_texts(masked, prepared=True)
    kept = None
    if keep is not None:
        kept = pa.array([masked[i] for i in keep], type=pa.large_string())
    return feats, kept


def featurise_keeping(
    model: PairwiseAuthorModel,
    texts: Texts,
    n_jobs: int,
    chunk: int,
    keep: np.ndarray | None = None,
) -> tuple[AdFeatures, pa.ChunkedArray | None]:
    """``_featurise``, and the masked texts of the rows ``keep`` (sorted row numbers) as
    the texts were masked for their features (Arrow, in ``keep``'s order), so that a
    later step needing them does not mask them again."""
    n = len(texts)
    keep = None if keep is None else np.asarray(keep, dtype=np.int64)

    def local(s: int, e: int) -> np.ndarray | None:
        if keep is None:
            return None
        return keep[np.searchsorted(keep, s) : np.searchsorted(keep, e)] - s

    if n_jobs == 1 or n <= chunk:
        feats, kept = _transform_chunk(model, _chunk(texts, 0, n), local(0, n))
        return feats, (None if kept is None else pa.chunked_array([kept]))
    parts, kept_parts = [], []
    for part, kept in Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_transform_chunk)(model, _chunk(texts, s, s + chunk), local(s, s + chunk))
        for s in range(0, n, chunk)
    ):
        parts.append(part)
        if kept is not None:
            kept_parts.append(kept)
        release_free_memory()  # the part's pickled bytes, freed but kept by malloc
    # The idle worker processes keep their grown heaps (GBs at 1M ads): end them.
    get_reusable_executor().shutdown(wait=True)
    feats = AdFeatures.concat(parts)
    release_free_memory()
    if keep is None:
        return feats, None
    return feats, pa.chunked_array(kept_parts, type=pa.large_string())


def choose_threshold(
    model: PairwiseAuthorModel,
    *,
    threshold: float | None = None,
    target_precision: float | None = TARGET_PRECISION,
    target_fpr: float | None = None,
) -> OperatingPoint:
    """The operating point of linking and its measured precision among held-out candidate
    pairs: a given ``threshold``, else the model's threshold for ``target_fpr`` (random-pair
    FPR at training), else the lowest threshold reaching ``target_precision``."""
    curve = model_curve(model.metadata_)
    if threshold is not None:
        return at_threshold(curve, threshold)
    if target_fpr is not None:
        ev = model.metadata_.get("evaluation", {})
        thr = ev.get("model/all", {}).get(f"threshold_at_fpr_{target_fpr:g}")
        if thr is None or not np.isfinite(float(thr)):
            raise ValueError(
                f"the model has no measured threshold for FPR {target_fpr:g}: use "
                "--target-precision, another --target-fpr or --threshold"
            )
        return at_threshold(curve, float(thr))
    return operating_point(curve, target_precision or TARGET_PRECISION)


def link_texts(
    texts: Texts,
    model: PairwiseAuthorModel,
    *,
    threshold: float,
    search: CandidateSearch | None = None,
    cluster: str = "leiden",
    resolution: float = RESOLUTION,
    n_jobs: int = 2,
    chunk: int = 20_000,
    features: AdFeatures | None = None,
    candidates: Candidates | None = None,
    scores: np.ndarray | None = None,
) -> LinkResult:
    """Featurise, search candidates, score them, cluster: the scalable linking path.

    ``features``: the model's features of ``texts`` if already computed (e.g. kept by
    ``train_and_evaluate(keep_features=True)``), rows aligned with ``texts``; they are
    released once scored when the caller holds no other reference. ``candidates``: the
    candidate pairs of ``search`` over them, if already searched (``search`` is then
    taken as fitted), and ``scores`` this model's probabilities of those pairs, if
    already scored (``train_and_evaluate(keep_features=True)`` scores them all).
    """
    t = {"start": time.perf_counter()}
    n = len(texts)
    if features is not None and len(features) != n:
        raise ValueError(f"features have {len(features)} rows for {n} texts")
    feats = features if features is not None else _featurise(model, texts, n_jobs, chunk)
    features = None  # only ``feats`` holds them now: freed after scoring
    t["features"] = time.perf_counter()
    log.info("step: link: features")
    log.info(
        "link_texts: features done after %.1fs (peak RSS so far %.2f GB)",
        t["features"] - t["start"],
        _peak_rss_gb(),
    )
    if search is None:
        # Two BLAS/faiss threads pay off only on big runs (the 8k-ad demo keeps one).
        search = CandidateSearch(n_threads=1 if n < 50_000 else 2)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return LinkResult(np.arange(n), empty, empty, np.zeros(0), threshold, {"ads": n})
    if candidates is None:
        search.fit(feats)
        emb = search.embed(feats)
        candidates = search.search(emb)
        del emb
        release_free_memory()
    cand = candidates
    t["candidates"] = time.perf_counter()
    log.info("step: link: candidates")
    log.info(
        "link_texts: candidates done after %.1fs (peak RSS so far %.2f GB)",
        t["candidates"] - t["start"],
        _peak_rss_gb(),
    )
    if scores is not None:
        if len(scores) != len(cand):
            raise ValueError(f"{len(scores)} scores for {len(cand)} candidate pairs")
        p = np.asarray(scores)
    else:
        p = model.predict_proba_indexed(feats, cand.a, cand.b, n_jobs=search.n_threads or 2)
    # Features are not needed for clustering: free them first (3.7 GB at 1M ads; Leiden
    # over 10M accepted pairs then peaked at 8.1 GB with them still held).
    del feats
    release_free_memory()
    t["scores"] = time.perf_counter()
    log.info("step: link: scores")
    log.info(
        "link_texts: scores done after %.1fs (peak RSS so far %.2f GB)",
        t["scores"] - t["start"],
        _peak_rss_gb(),
    )
    labels = cluster_pairs(n, cand.a, cand.b, p, threshold, cluster, resolution)
    t["clusters"] = time.perf_counter()
    log.info("step: link: clusters")
    log.info(
        "link_texts: clusters done after %.1fs (peak RSS so far %.2f GB)",
        t["clusters"] - t["start"],
        _peak_rss_gb(),
    )
    keep = p >= threshold
    sizes = np.bincount(labels)
    summary = {
        "ads": n,
        "candidates": int(len(cand)),
        "pairs_above_threshold": int(keep.sum()),
        "threshold": threshold,
        "clusters_ge2": int((sizes >= 2).sum()),
        "ads_in_clusters_ge2": int(sizes[sizes >= 2].sum()),
        "largest_cluster": int(sizes.max()),
        "seconds": {
            k: round(t[k] - t[prev], 2)
            for prev, k in zip(
                ["start", "features", "candidates", "scores"],
                ["features", "candidates", "scores", "clusters"],
                strict=True,
            )
        },
    }
    return LinkResult(labels, cand.a[keep], cand.b[keep], p[keep], threshold, summary)


def author_frames(
    ids: list[str],
    result: LinkResult,
    *,
    model_name: str,
    point: OperatingPoint,
    min_size: int = 2,
    method: str = METHOD,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``Author`` node rows and ``WRITTEN_BY`` edge rows for clusters of >= ``min_size`` ads.

    An ad's ``p`` is its strongest accepted link inside its cluster; ``confidence`` and
    ``precision`` are the operating point's measured precision among held-out candidate
    pairs (``point``), and the Author node says what that figure was measured on.
    ``method``: the model's provenance method (``PairwiseAuthorModel.method``).
    """
    labels = result.labels
    sizes = np.bincount(labels)
    ids_arr = np.asarray(ids, dtype=object)
    best = np.zeros(len(ids), dtype=np.float64)
    same = labels[result.a] == labels[result.b]
    for x in (result.a[same], result.b[same]):
        np.maximum.at(best, x, result.p[same])
    keep = sizes[labels] >= min_size
    df = pd.DataFrame({"ad": ids_arr[keep], "label": labels[keep], "p": best[keep]})
    first = df.sort_values("ad").groupby("label")["ad"].agg(lambda s: "|".join(s))
    author_id = {
        lab: "author-" + hashlib.sha1(key.encode()).hexdigest()[:16] for lab, key in first.items()
    }
    df["author"] = df["label"].map(author_id)
    authors = pd.DataFrame(
        {
            "id": [author_id[lab] for lab in first.index],
            "size": [int(sizes[lab]) for lab in first.index],
            "threshold": result.threshold,
            "expected_precision": point.precision,
            "target_precision": point.target_precision,
            "basis": point.describe(),
            "model": model_name,
        }
    )
    edges = pd.DataFrame(
        {
            "src": df["ad"].astype(str),
            "dst": df["author"],
            "p": df["p"].round(6),
            "method": method,
            "confidence": point.precision,
            "precision": point.precision,
        }
    )
    return authors, edges
