"""Near-duplicate pictures by Hamming distance, at scale; picture groups; generic pictures.

Pure algorithms on arrays and DataFrames (no store).

- :func:`pairs_within`: every pair of hashes within a radius. Up to
  :data:`EXACT_MAX` hashes a faiss ``IndexBinaryFlat`` range search (exact); above, a
  faiss ``IndexBinaryIVF`` (k-means cells over the hashes, ``nprobe`` cells searched per
  hash: approximate, its recall measured in ``benchmarks/bench_images.py``).
- :func:`match_pictures`: pairs of pictures that match by PDQ, by pHash, or by the crop
  matcher (a picture's trimmed/mirrored pHash against every crop pHash of the others),
  each at its own radius (:class:`Radii`, calibrated for pair precision >= 99.9 % on the
  synthetic photo set, see :func:`calibrate_radius`).
- :func:`picture_groups`: connected components of the matches (one group = one
  picture as far as the hashes can tell).
- :func:`generic_groups`: groups that unrelated owners share (stock photos, logos,
  badges, placeholders): shown by many identifier components that no other shared
  picture ties together, or too flat to match (PDQ quality below 50). They never link
  ads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import faiss
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph.linking.image_hashes import N_QUERIES, PDQ_BITS, PHASH_BITS, bits_from_hex

EXACT_MAX = 200_000  # up to this many hashes: exact (flat) search
IVF_CELLS = 4096
IVF_NPROBE = 64
IVF_TRAIN = 100_000
METHODS = ("pdq", "phash", "crops")
# PDQ's guidance: pictures of quality below this have too little detail to match.
MIN_PDQ_QUALITY = 50
# An image group shown by ads of at least this many identifier components (distinct
# phone/e-mail groups) is generic, unless other pictures tie them (generic_groups). On the
# SoCal/LV Backpage set no image URL shown by several ads is under more than 2 phones
# (52 such URLs; benchmarks/bench_images.py), so real reuse stays below it.
GENERIC_MIN_COMPONENTS = 4
# ... unless more than this share of those groups is tied together by other shared
# pictures (see generic_groups: an owner who changes phones reuses several pictures).
MIN_CORROBORATION = 0.5
TARGET_PAIR_PRECISION = 0.999


@dataclass(frozen=True)
class Radii:
    """Largest Hamming distance that still counts as the same picture, per matcher.

    Calibrated on the synthetic photo set (``benchmarks/bench_images.py``): the largest
    radius whose pair precision over every pair of pictures is >= 99.9 %.
    """

    pdq: int = 31
    phash: int = 8
    crops: int = 6

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# Pair precision of each matcher at the default radii, stored on every SIMILAR_TO edge as
# its confidence: the 99.9 % target, which the synthetic photo set meets (held-out, seeds
# 0-2, benchmarks/bench_images.py: PDQ 1.0000, pHash 1.0000, crops 0.9997, min 0.9992).
# Not measured on real photographs (none ship with the project).
MEASURED_PRECISION = {"pdq": 0.999, "phash": 0.999, "crops": 0.999, "exact": 1.0}


def pairs_within(
    codes: np.ndarray,
    radius: int,
    queries: np.ndarray | None = None,
    *,
    exact_max: int = EXACT_MAX,
    nprobe: int = IVF_NPROBE,
    cells: int = IVF_CELLS,
    seed: int = 0,
) -> pd.DataFrame:
    """Pairs (q, i, distance) with Hamming distance <= ``radius`` between ``queries``
    (default: ``codes`` itself, then only q < i) and ``codes`` (packed uint8 rows)."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    self_join = queries is None
    q = codes if queries is None else np.ascontiguousarray(queries, dtype=np.uint8)
    empty = pd.DataFrame({"q": np.zeros(0, np.int64), "i": np.zeros(0, np.int64),
                          "distance": np.zeros(0, np.int64)})  # fmt: skip
    if len(codes) == 0 or len(q) == 0:
        return empty
    d = codes.shape[1] * 8
    if len(codes) <= exact_max:
        index = faiss.IndexBinaryFlat(d)
    else:
        quantizer = faiss.IndexBinaryFlat(d)
        index = faiss.IndexBinaryIVF(quantizer, d, min(cells, len(codes) // 39))
        rng = np.random.default_rng(seed)
        sample = codes[rng.choice(len(codes), min(IVF_TRAIN, len(codes)), replace=False)]
        index.train(sample)
        index.nprobe = nprobe
    index.add(codes)
    lims, dist, ids = index.range_search(q, radius + 1)  # faiss: distance < radius
    qi = np.repeat(np.arange(len(q), dtype=np.int64), np.diff(lims.astype(np.int64)))
    out = pd.DataFrame({"q": qi, "i": ids.astype(np.int64), "distance": dist.astype(np.int64)})
    if self_join:
        out = out[out["q"] < out["i"]]
    return out.reset_index(drop=True)


def match_pictures(pictures: pd.DataFrame, radii: Radii | None = None) -> pd.DataFrame:
    """Matching pairs of pictures: columns a, b (row positions, a < b), method, distance.

    ``pictures``: columns pdq, pdq_quality, phash, crops (the crop hashes joined by
    ``;``, the query hashes first; empty when not computed). Pictures below
    :data:`MIN_PDQ_QUALITY` are not matched. A pair found by several matchers is kept
    once, by the first of pdq, phash, crops.
    """
    radii = radii or Radii()
    ok = np.flatnonzero(pictures["pdq_quality"].fillna(0).to_numpy() >= MIN_PDQ_QUALITY)
    frames = []
    for method, bits in (("pdq", PDQ_BITS), ("phash", PHASH_BITS)):
        rows = ok[pictures[method].iloc[ok].notna().to_numpy()]
        hexes = pictures[method].iloc[rows].tolist()
        p = pairs_within(bits_from_hex(hexes, bits), getattr(radii, method))
        frames.append(pd.DataFrame({"a": rows[p["q"]], "b": rows[p["i"]], "method": method,
                                    "distance": p["distance"]}))  # fmt: skip
    sub = pictures.iloc[ok]
    crops = sub["crops"].fillna("").str.split(";")
    has = np.array([len(c) > N_QUERIES for c in crops])
    if has.any():
        owner_rows, hashes, q_rows, q_hashes = [], [], [], []
        for pos, cs in zip(ok[has], crops[has], strict=True):
            owner_rows += [pos] * len(cs)
            hashes += cs
            q_rows += [pos] * N_QUERIES
            q_hashes += cs[:N_QUERIES]
        owner_rows, q_rows = np.asarray(owner_rows), np.asarray(q_rows)
        p = pairs_within(
            bits_from_hex(hashes, PHASH_BITS), radii.crops, bits_from_hex(q_hashes, PHASH_BITS)
        )
        a, b = q_rows[p["q"]], owner_rows[p["i"]]
        f = pd.DataFrame({"a": np.minimum(a, b), "b": np.maximum(a, b), "method": "crops",
                          "distance": p["distance"]})  # fmt: skip
        frames.append(f[f["a"] != f["b"]])
    out = pd.concat(frames, ignore_index=True)
    out["order"] = out["method"].map({m: i for i, m in enumerate(METHODS)})
    out = out.sort_values(["a", "b", "order", "distance"]).drop_duplicates(["a", "b"])
    return out.drop(columns="order").reset_index(drop=True)


def picture_groups(n: int, pairs: pd.DataFrame) -> np.ndarray:
    """Group id per picture (0..n-1): connected components over the matching pairs."""
    if n == 0:
        return np.zeros(0, np.int64)
    m = coo_matrix(
        (np.ones(len(pairs)), (pairs["a"].to_numpy(), pairs["b"].to_numpy())), shape=(n, n)
    )
    return connected_components(m, directed=False)[1].astype(np.int64)


def generic_groups(
    links: pd.DataFrame,
    min_components: int = GENERIC_MIN_COMPONENTS,
    min_corroboration: float = MIN_CORROBORATION,
) -> pd.DataFrame:
    """Per image group: how many ads and identifier components show it, and whether it is
    generic. ``links``: columns group, ad, component (identifier component of the ad, or
    null for an ad without a phone or e-mail). Returns columns group, ads, components,
    corroboration, generic, reason.

    A group shown under at least ``min_components`` components is generic unless those
    components are *corroborated*: an owner who changes phones posts several of their own
    pictures under them, a stock photo's owners share nothing else. Corroboration = the
    share of the group's components in its largest block tied together by other picture
    groups (each sharing two or more of the components and lying mostly among them); at
    or below ``min_corroboration`` (default: half) the group is generic."""
    comps = (
        links.dropna(subset=["component"])
        .groupby("group")["component"]
        .agg(lambda c: frozenset(c.astype(np.int64)))
    )
    g = links.groupby("group")
    out = pd.DataFrame({"ads": g["ad"].nunique(), "components": g["component"].nunique()})
    out["corroboration"] = 1.0
    multi = comps[comps.map(len) >= 2]
    by_comp: dict[int, list] = {}
    for name, cs in multi.items():
        for c in cs:
            by_comp.setdefault(c, []).append(name)
    for name in out.index[out["components"] >= min_components]:
        mine = comps[name]
        parent = {c: c for c in mine}
        for other in {h for c in mine for h in by_comp.get(c, ()) if h != name}:
            inter = sorted(mine & multi[other])
            if len(inter) >= 2 and len(inter) * 2 >= len(multi[other]):
                for c in inter[1:]:
                    parent[_root(parent, c)] = _root(parent, inter[0])
        block = pd.Series([_root(parent, c) for c in mine]).value_counts().iloc[0]
        out.loc[name, "corroboration"] = block / len(mine)
    out["generic"] = (out["components"] >= min_components) & (
        out["corroboration"] <= min_corroboration
    )
    out["reason"] = np.where(
        out["generic"],
        "shown under " + out["components"].astype(str) + " unrelated phone/e-mail groups",
        "",
    )
    return out.rename_axis("group").reset_index()


def _root(parent: dict[int, int], c: int) -> int:
    while parent[c] != c:
        parent[c] = parent[parent[c]]
        c = parent[c]
    return c


def calibrate_radius(
    codes: np.ndarray,
    truth: np.ndarray,
    max_radius: int,
    target: float = TARGET_PAIR_PRECISION,
    queries: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, object]:
    """The largest radius <= ``max_radius`` up to which pair precision (over every pair
    within it) stays >= ``target``; ``truth``: the true picture per code row. With ``queries``
    (codes, truth of the query rows), pairs are query x code, else code x code.
    Returns radius, precision, true and false pairs at each radius."""
    if queries is None:
        p = pairs_within(codes, max_radius)
        same = truth[p["q"]] == truth[p["i"]]
    else:
        qc, qt = queries
        p = pairs_within(codes, max_radius, qc)
        same = qt[p["q"]] == truth[p["i"]]
    d = p["distance"].to_numpy()
    rows = []
    best = -1
    for r in range(max_radius + 1):
        within = d <= r
        tp, fp = int((same & within).sum()), int((~same & within).sum())
        prec = tp / (tp + fp) if tp + fp else 1.0
        rows.append({"radius": r, "true_pairs": tp, "false_pairs": fp, "precision": prec})
        if prec >= target and best == r - 1:
            best = r
    return {"radius": best if best >= 0 else None, "curve": rows}
