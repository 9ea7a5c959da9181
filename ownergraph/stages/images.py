"""The image stage: match the store's pictures, group them, mark the generic ones.

:func:`link_images` reads every ``Image`` (hashes only), finds near-duplicates
(:func:`ownergraph.linking.image_match.match_pictures`), writes one ``SIMILAR_TO`` edge
per matching pair (method, Hamming distance, confidence = the matcher's measured pair
precision), sets each image's ``picture`` (its near-duplicate group; owner detection's
image hub) and ``picture_confidence`` (the lowest confidence of the matches that formed
it), and marks groups shown under too many unrelated phone/e-mail groups as ``generic``
(they never link ads). Replaces the previous result.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ownergraph import identifier_labels as il
from ownergraph.linking import image_match as im
from ownergraph.loaders.quarantine import Quarantine
from ownergraph.owners import communities as cm
from ownergraph.stages import evidence as evidence_io
from ownergraph.stages.base import Progress, StageSummary, no_progress
from ownergraph.store.base import Store

IMAGES_QUERY = (
    "MATCH (i:Image) RETURN i.hash AS pdq, i.phash AS phash, i.pdq_quality AS pdq_quality, "
    "i.crops AS crops ORDER BY pdq"
)
LINKS_QUERY = "MATCH (a:Ad)-[:HAS_IMAGE]->(i:Image) RETURN a.id AS ad, i.hash AS image"


@dataclass
class ImageLinkSummary(StageSummary):
    """What ``link_images`` did."""

    images: int = 0
    matches: int = 0
    matches_by_method: dict[str, int] = field(default_factory=dict)
    groups: int = 0
    shared_groups: int = 0  # groups shown by several ads
    generic_groups: int = 0
    generic_images: int = 0
    radii: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class ImagesSummary(StageSummary):
    """What ``load_images`` did: references read, pictures hashed, rows loaded or
    quarantined (``reasons``), then the matching (``link``, None without it)."""

    refs: int = 0
    hashed: int = 0
    loaded: int = 0  # (ad, picture) links written
    images: int = 0  # distinct Image nodes written
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    link: ImageLinkSummary | None = None


def link_images(
    store: Store,
    radii: im.Radii | None = None,
    min_components: int = im.GENERIC_MIN_COMPONENTS,
    progress: Progress = no_progress,
) -> ImageLinkSummary:
    """Match, group and mark generic pictures in the store; returns a summary."""
    t0 = time.perf_counter()
    radii = radii or im.Radii()
    pics = pd.DataFrame(store.query(IMAGES_QUERY), columns=["pdq", "phash", "pdq_quality",
                                                            "crops"])  # fmt: skip
    progress("images link", 0, len(pics))
    if pics.empty:
        return ImageLinkSummary()
    pairs = im.match_pictures(pics, radii)
    groups = im.picture_groups(len(pics), pairs)
    gid = pd.Series(groups).map(
        pd.Series(pics["pdq"].to_numpy()).groupby(groups).first()
    )  # a group is named by its smallest hash
    group_name = ("IMG-" + gid.str[:16]).to_numpy()
    conf = pairs["method"].map(im.MEASURED_PRECISION).to_numpy(dtype=float)
    group_conf = np.ones(len(pics))
    if len(pairs):
        worst = pd.Series(conf).groupby(groups[pairs["a"].to_numpy()]).min()
        group_conf = pd.Series(groups).map(worst).fillna(1.0).to_numpy()
    # generic: groups shown under many identifier components
    links = pd.DataFrame(store.query(LINKS_QUERY), columns=["ad", "image"])
    pos = pd.Index(pics["pdq"]).get_indexer(links["image"])
    links["group"] = group_name[pos]
    ads = evidence_io.fetch_ad_ids(store)
    hard = evidence_io.fetch_evidence(store, cm.HARD_KINDS)
    comp = pd.Series(il.identifier_components(ads, hard), index=ads)
    labelled = pd.Index(ads).isin(pd.Index(hard["ad"].unique()))
    comp[~labelled] = np.nan  # an ad without a phone or e-mail adds no component
    links["component"] = comp.reindex(links["ad"]).to_numpy()
    gen = im.generic_groups(links, min_components).set_index("group")
    g = gen.reindex(group_name)
    low = pics["pdq_quality"].fillna(0).to_numpy() < im.MIN_PDQ_QUALITY
    generic = g["generic"].fillna(False).to_numpy(dtype=bool) | low
    reason = np.where(
        low, f"PDQ quality below {im.MIN_PDQ_QUALITY} (too flat to match)",
        g["reason"].fillna("").to_numpy(),
    )  # fmt: skip
    nodes = pd.DataFrame(
        {
            "hash": pics["pdq"],
            "picture": group_name,
            "picture_confidence": group_conf,
            "ads": g["ads"].fillna(0).astype(int).to_numpy(),
            "components": g["components"].fillna(0).astype(int).to_numpy(),
            "generic": generic,
            "generic_reason": reason,
        }
    )
    store.upsert_nodes("Image", nodes)
    store.delete_edges("SIMILAR_TO")
    h = pics["pdq"].to_numpy(dtype=object)
    store.upsert_edges(
        "SIMILAR_TO",
        pd.DataFrame(
            {
                "src": h[pairs["a"].to_numpy()],
                "dst": h[pairs["b"].to_numpy()],
                "distance": pairs["distance"],
                "method": pairs["method"],
                "confidence": conf,
            }
        ),  # fmt: skip
    )
    progress("images link", len(pics), len(pics))
    return ImageLinkSummary(
        images=len(pics),
        matches=len(pairs),
        matches_by_method=pairs["method"].value_counts().to_dict(),
        groups=len(set(group_name)),
        shared_groups=int((gen["ads"] >= 2).sum()),
        generic_groups=len(set(group_name[generic])),
        generic_images=int(generic.sum()),
        radii=radii.as_dict(),
        seconds=round(time.perf_counter() - t0, 3),
    )


def load_images(
    store: Store,
    *,
    folder: str | Path | None = None,
    ads: str | Path | None = None,
    column: str | None = None,
    id_column: str = "id",
    hashes: str | Path | None = None,
    base_dir: str | Path | None = None,
    crops: bool = True,
    workers: int = 0,
    quarantine: Quarantine | None = None,
    link: bool = True,
    hashed_to: str | Path | None = None,
    only_ads: Collection[str] | None = None,
    progress: Progress = no_progress,
) -> ImagesSummary:
    """``ownergraph load images``: hash a folder keyed by ad id, or the pictures an ads
    file references (``ads`` + ``column``), or load a shared hash list (``hashes``); write
    the hashes (only) to the store; then, with ``link``, match and group every picture
    in the store (:func:`link_images`). ``hashed_to``: a CSV (ref, ad, pdq) of which file
    got which hash, for evaluation against a world's truth (outside the store).
    ``only_ads``: hash only the pictures of these ads (an incremental run's new ads; the
    rest were hashed before) and append to ``hashed_to``. Returns a summary; every
    reference is loaded, quarantined with its reason, or (with ``only_ads``) left as
    hashed before."""
    from ownergraph.loaders import images as li

    if sum(x is not None for x in (folder, ads, hashes)) != 1:
        raise ValueError("give exactly one of a folder, an ads file (with a column) or a hash list")
    if ads is not None and not column:
        raise ValueError("an ads file needs --column: the field that holds the picture references")
    q = quarantine or Quarantine()
    before = q.count
    t0 = time.perf_counter()
    summary = ImagesSummary()
    if hashes is not None:
        rows = li.read_hash_list(hashes, q)
        summary.refs = len(rows) + (q.count - before)
        method = "hash list"
    else:
        if folder is not None:
            refs = li.refs_from_folder(folder)
        else:
            refs = li.refs_from_ads(ads, column, id_column=id_column, quarantine=q)
            base_dir = base_dir or Path(ads).parent
        if only_ads is not None:
            new = set(only_ads)
            refs = [r for r in refs if r.ad in new]
        summary.refs = len(refs) + (q.count - before)
        progress("images", 0, summary.refs)
        rows = li.hash_refs(refs, base_dir=base_dir, crops=crops, workers=workers, quarantine=q)
        summary.hashed = len(rows)
        method = "pdq"
        if hashed_to is not None:
            append = only_ads is not None and Path(hashed_to).exists()
            rows[["ref", "ad", "pdq"]].to_csv(
                hashed_to, index=False, mode="a" if append else "w", header=not append
            )
        rows = rows.drop(columns="ref")
    summary.loaded, summary.images = li.write_images(store, rows, method=method, quarantine=q)
    summary.quarantined = q.count - before
    summary.reasons = dict(q.reasons)
    summary.seconds = round(time.perf_counter() - t0, 3)
    progress("images", summary.refs, summary.refs)
    if link:
        summary.link = link_images(store, progress=progress)
    return summary
