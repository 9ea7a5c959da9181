"""The authors stage: read the store's ads, link them by writing style
(:mod:`ownergraph.linking.stylometry.clusters`), replace Author nodes and WRITTEN_BY edges.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ownergraph.linking.stylometry.candidates import Candidates, CandidateSearch
from ownergraph.linking.stylometry.clusters import (
    RESOLUTION,
    TARGET_PRECISION,
    Texts,
    author_frames,
    choose_threshold,
    compact_texts,
    link_texts,
)
from ownergraph.linking.stylometry.data import LabelledAds, _text
from ownergraph.linking.stylometry.features import AdFeatures
from ownergraph.linking.stylometry.model import PairwiseAuthorModel
from ownergraph.stages.base import Progress, StageSummary, no_progress

log = logging.getLogger(__name__)


def store_ads(store: object, limit: int | None = None, compact: bool = False) -> LabelledAds:
    """Ads and their phone/e-mail keys from a graph store (``HAS_PHONE``/``HAS_EMAIL``).

    ``compact``: the texts as one Arrow ``large_string`` array (UTF-8 bytes and offsets)
    instead of a list of Python strings: ~4x smaller for texts with an emoji (a Python
    ``str`` then takes 4 bytes a character); ``take_texts`` turns rows back into strings.
    """
    lim = f" ORDER BY a.id LIMIT {int(limit)}" if limit else " ORDER BY a.id"
    ads = store.query_df(f"MATCH (a:Ad) RETURN a.id AS id, a.title AS title, a.body AS body{lim}")
    if len(ads) == 0:
        return LabelledAds([], [], [], None, getattr(store, "uri", "store"))
    phones = store.query_df(
        "MATCH (a:Ad)-[:HAS_PHONE]->(p:Phone) RETURN a.id AS id, 'phone:' + p.number AS k"
    )
    emails = store.query_df(
        "MATCH (a:Ad)-[:HAS_EMAIL]->(e:Email) RETURN a.id AS id, 'email:' + e.address AS k"
    )
    keys: dict[str, list[str]] = {}
    for df in (phones, emails):
        for i, k in zip(df.get("id", []), df.get("k", []), strict=True):
            keys.setdefault(i, []).append(k)
    ids = [str(i) for i in ads["id"]]
    if compact:
        title, body = (
            pc.fill_null(pa.array(ads.pop(c), type=pa.large_string(), from_pandas=True), "")
            for c in ("title", "body")
        )
        texts: list[str] | pa.Array = pc.binary_join_element_wise(
            title, body, pa.scalar("\n", pa.large_string())
        )
        del title, body, ads
    else:
        texts = [_text(t, b) for t, b in zip(ads["title"], ads["body"], strict=True)]
    return LabelledAds(ids, texts, [keys.get(i, []) for i in ids], None, getattr(store, "uri", ""))


def write_authors(store: Any, authors: pd.DataFrame, edges: pd.DataFrame) -> dict[str, int]:
    """Replace the store's Author nodes and WRITTEN_BY edges with the given ones."""
    store.delete_edges("WRITTEN_BY")
    store.delete_nodes("Author")
    n_nodes = store.upsert_nodes("Author", authors) if len(authors) else 0
    n_edges = store.upsert_edges("WRITTEN_BY", edges) if len(edges) else 0
    return {"authors": int(n_nodes), "written_by": int(n_edges)}


@dataclass
class AuthorsSummary(StageSummary):
    """What ``link_authors`` did (``linked`` False: nothing linked, ``reason`` says why)."""

    linked: bool = False
    reason: str = ""
    operating_point: str = ""
    expected_precision: float | None = None
    ads: int = 0
    candidates: int = 0
    pairs_above_threshold: int = 0
    threshold: float | None = None
    clusters_ge2: int = 0
    ads_in_clusters_ge2: int = 0
    largest_cluster: int = 0
    authors: int = 0
    written_by: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per step
    heldout: dict[str, float] = field(default_factory=dict)  # figures of the model trained


def link_authors(
    store: Any,
    model: PairwiseAuthorModel,
    *,
    threshold: float | None = None,
    target_precision: float | None = TARGET_PRECISION,
    target_fpr: float | None = None,
    search: CandidateSearch | None = None,
    cluster: str = "leiden",
    resolution: float = RESOLUTION,
    min_size: int = 2,
    n_jobs: int = 2,
    model_name: str = "",
    ads: Any = None,
    features: AdFeatures | None = None,
    candidates: Candidates | None = None,
    candidate_scores: Any = None,
    progress: Progress = no_progress,
) -> AuthorsSummary:
    """Link the store's ads by author and write Author / WRITTEN_BY; returns a summary.

    The threshold is the lowest reaching ``target_precision`` among held-out candidate
    pairs (see :func:`choose_threshold` for the alternatives). When the data cannot reach
    the target, nothing is linked: earlier Author clusters are removed and the summary
    says why (``linked`` False). ``ads`` (``store_ads(store)`` read just before) and their
    ``features`` (and the fitted ``search``'s ``candidates`` over them) can be passed to
    avoid reading, featurising and searching the same ads again (``candidate_scores``:
    this model's probabilities of those candidates, if already scored); the features are
    freed once scored if the caller keeps no reference to them.
    """
    point = choose_threshold(
        model, threshold=threshold, target_precision=target_precision, target_fpr=target_fpr
    )
    if not point.reachable:
        written = write_authors(store, pd.DataFrame(), pd.DataFrame())
        progress("authors", 0, None)
        return AuthorsSummary(linked=False, reason=point.describe(), **written)
    t0 = time.perf_counter()
    if ads is None:
        ads = store_ads(store)
        texts: Texts = compact_texts(ads.texts)  # read here: keep only the compact copy
        ads.texts = []
    else:
        texts = ads.texts
    t_read = time.perf_counter() - t0
    progress("authors", 0, len(ads.ids))
    handed = {"features": features}  # this frame must not hold them while clustering
    del features
    result = link_texts(
        texts,
        model,
        threshold=float(point.threshold),
        search=search,
        cluster=cluster,
        resolution=resolution,
        n_jobs=n_jobs,
        features=handed.pop("features"),
        candidates=candidates,
        scores=candidate_scores,
    )
    name = model_name or f"{model.method}@{model.metadata_.get('created', '?')}"
    authors, edges = author_frames(
        ads.ids, result, model_name=name, point=point, min_size=min_size, method=model.method
    )
    t1 = time.perf_counter()
    log.info("step: link: author frames")
    written = write_authors(store, authors, edges)
    log.info("step: link: write")
    progress("authors", len(ads.ids), len(ads.ids))
    figures = dict(result.summary)
    seconds = figures.pop("seconds", {}) | {
        "read": round(t_read, 2),
        "write": round(time.perf_counter() - t1, 2),
    }
    return AuthorsSummary(
        linked=True,
        operating_point=point.describe(),
        expected_precision=point.precision,
        seconds=seconds,
        **figures,
        **written,
    )
