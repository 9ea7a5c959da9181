"""Evidence read from the store: the (ad, hub, confidence) links owner detection works on,
and Leiden run inside Neo4j Graph Data Science.

The evidence kinds and the graph built from them are pure algorithms
(:mod:`ownergraph.owners.communities`); this module is the store side: one read query per
kind (:data:`EVIDENCE_QUERIES`), the check that every link used as evidence carries its
confidence, and the GDS projection (Neo4j only, when the store has the ``gds``
capability).
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from ownergraph.owners.communities import KINDS, EvidenceError, EvidenceWeights
from ownergraph.store.base import Store, keyed_path

IMAGE_EVIDENCE = (
    "MATCH (a:Ad)-[e:HAS_IMAGE]->(h:Image) WHERE h.generic IS NULL OR h.generic = false "
    "RETURN a.id AS ad, coalesce(h.picture, h.hash) AS hub, "
    "max(e.confidence * coalesce(h.picture_confidence, 1.0)) AS confidence"
)
# One read query per kind: rows (ad, hub, confidence).
EVIDENCE_QUERIES: dict[str, str] = {
    "phone": "MATCH (a:Ad)-[e:HAS_PHONE]->(h:Phone) "
    "RETURN a.id AS ad, h.number AS hub, e.confidence AS confidence",
    "email": "MATCH (a:Ad)-[e:HAS_EMAIL]->(h:Email) "
    "RETURN a.id AS ad, h.address AS hub, e.confidence AS confidence",
    "author": "MATCH (a:Ad)-[e:WRITTEN_BY]->(h:Author) "
    "RETURN a.id AS ad, h.id AS hub, e.confidence AS confidence",
    "wallet": "MATCH (h:Wallet)<-[iw:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)"
    "-[pf:PAID_FOR]->(a:Ad) WHERE (t.coinjoin IS NULL OR t.coinjoin = false) "
    "AND (pf.ambiguous IS NULL OR pf.ambiguous = false) "
    "RETURN a.id AS ad, h.id AS hub, max(pf.confidence * iw.confidence) AS confidence",
    # a picture's near-duplicate group (ownergraph.stages.images); generic ones never count
    "image": IMAGE_EVIDENCE,
}
# Rows with a null confidence (both factors of a wallet path, for wallets).
NULL_CONFIDENCE_QUERIES: dict[str, str] = {
    "phone": "MATCH (a:Ad)-[e:HAS_PHONE]->(h:Phone) WHERE e.confidence IS NULL "
    "RETURN a.id AS ad, h.number AS hub LIMIT 3",
    "email": "MATCH (a:Ad)-[e:HAS_EMAIL]->(h:Email) WHERE e.confidence IS NULL "
    "RETURN a.id AS ad, h.address AS hub LIMIT 3",
    "author": "MATCH (a:Ad)-[e:WRITTEN_BY]->(h:Author) WHERE e.confidence IS NULL "
    "RETURN a.id AS ad, h.id AS hub LIMIT 3",
    "wallet": "MATCH (h:Wallet)<-[iw:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)"
    "-[pf:PAID_FOR]->(a:Ad) WHERE pf.confidence IS NULL OR iw.confidence IS NULL "
    "RETURN a.id AS ad, h.id AS hub LIMIT 3",
    "image": "MATCH (a:Ad)-[e:HAS_IMAGE]->(h:Image) WHERE e.confidence IS NULL "
    "RETURN a.id AS ad, h.hash AS hub LIMIT 3",
}


def fetch_evidence(
    store: Store, kinds: tuple[str, ...] = KINDS, checked: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Every (ad, hub) link of the given kinds: columns ad, kind, hub, confidence.

    Raises :class:`EvidenceError` naming the records when a link of a ``checked`` kind
    (default: all) has no confidence: links used as evidence must carry their provenance.
    """
    frames = []
    checked = kinds if checked is None else checked
    for kind in kinds:
        bad = store.query(NULL_CONFIDENCE_QUERIES[kind]) if kind in checked else []
        if bad:
            examples = ", ".join(f"{r['ad']}->{r['hub']}" for r in bad)
            raise EvidenceError(f"{kind} links without a confidence, e.g. {examples}")
        df = store.query_frame(EVIDENCE_QUERIES[kind], ["ad", "hub", "confidence"])
        df.insert(1, "kind", kind)
        frames.append(df)
    return _merged(frames)


# The same links read by key, for some ads or some hubs only (incremental runs): one key
# lookup per id (``UNWIND``), never ``WHERE x IN $list``, which tests every row. Rows are
# (ad, hub, confidence) per path; a wallet's max over paths is taken in pandas. Each
# path names its ad ``a{a}`` and its hub ``h{h}``: the key's end gets its label in the
# anchor, the other end here (``keyed_path``).
_WALLET_PATH = (
    "(h{h})<-[iw:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)-[pf:PAID_FOR]->(a{a}) "
    "WHERE (t.coinjoin IS NULL OR t.coinjoin = false) "
    "AND (pf.ambiguous IS NULL OR pf.ambiguous = false)"
)
_KEYED_PATHS: dict[str, tuple[str, str]] = {  # kind: (path, RETURN)
    "phone": (
        "(a{a})-[e:HAS_PHONE]->(h{h})",
        "RETURN a.id AS ad, h.number AS hub, e.confidence AS confidence",
    ),
    "email": (
        "(a{a})-[e:HAS_EMAIL]->(h{h})",
        "RETURN a.id AS ad, h.address AS hub, e.confidence AS confidence",
    ),
    "author": (
        "(a{a})-[e:WRITTEN_BY]->(h{h})",
        "RETURN a.id AS ad, h.id AS hub, e.confidence AS confidence",
    ),
    "wallet": (
        _WALLET_PATH,
        "RETURN a.id AS ad, h.id AS hub, pf.confidence * iw.confidence AS confidence",
    ),
}
_HUB = {  # kind: (label, key) of its hub
    "phone": ("Phone", "number"),
    "email": ("Email", "address"),
    "author": ("Author", "id"),
    "wallet": ("Wallet", "id"),
}


def _keyed_query(kind: str, by: str) -> str:
    """The read of ``kind``'s links with the ad (``by="ad"``) or the hub looked up by key."""
    path, ret = _KEYED_PATHS[kind]
    label, key = _HUB[kind]
    if by == "ad":
        return keyed_path("(a:Ad {id: k})", path.format(a="", h=":" + label), ret, bound="h")
    anchor = f"(h:{label} {{{key}: k}})"
    return keyed_path(anchor, path.format(a=":Ad", h=""), ret, bound="a")


def fetch_evidence_some(
    store: Store,
    kinds: tuple[str, ...] = KINDS,
    *,
    ads: list[str] | None = None,
    hubs: pd.DataFrame | None = None,
    checked: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """:func:`fetch_evidence`'s rows of the given ``ads``, or of the given ``hubs``
    (columns kind, hub): the same frame as the whole read filtered to them, read by key
    so that its cost follows the ids, not the store. Image links (no hub key) are read
    whole and filtered. A checked link without a confidence raises as there."""
    if (ads is None) == (hubs is None):
        raise ValueError("give ads or hubs")
    checked = kinds if checked is None else checked
    frames = []
    for kind in kinds:
        if ads is not None:
            ids = list(ads)
        else:
            ids = sorted(set(hubs.loc[hubs["kind"] == kind, "hub"]))
        if not ids:
            continue
        if kind not in _KEYED_PATHS:
            df = store.query_frame(EVIDENCE_QUERIES[kind], ["ad", "hub", "confidence"])
            df = df[df["ad" if ads is not None else "hub"].isin(set(ids))]
        else:
            q = _keyed_query(kind, "ad" if ads is not None else "hub")
            df = store.query_keyed(q, ids, ["ad", "hub", "confidence"])
        if kind in checked and df["confidence"].isna().any():
            bad = df[df["confidence"].isna()].head(3)
            examples = ", ".join(f"{a}->{h}" for a, h in zip(bad["ad"], bad["hub"], strict=True))
            raise EvidenceError(f"{kind} links without a confidence, e.g. {examples}")
        df.insert(1, "kind", kind)
        frames.append(df)
    return _merged(frames)


def _merged(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (ad, kind, hub) with its best confidence, sorted (empty: typed columns)."""
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if out.empty:
        return pd.DataFrame(
            {"ad": pd.Series(dtype=str), "kind": pd.Series(dtype=str), "hub": [], "confidence": []}
        )
    out["confidence"] = out["confidence"].astype(float)
    return out.groupby(["ad", "kind", "hub"], as_index=False, sort=True)["confidence"].max()


def fetch_ad_ids(store: Store) -> np.ndarray:
    """All ad ids, sorted."""
    ids = store.query_frame("MATCH (a:Ad) RETURN a.id AS id", ["id"])["id"]
    return np.sort(ids.to_numpy(dtype=object))


# -- Neo4j Graph Data Science --------------------------------------------------------


def gds_version(store: Store) -> str | None:
    """The GDS version of a Neo4j store, or None when GDS is absent (or not Neo4j)."""
    if "gds" not in store.capabilities:
        return None
    try:
        rows = store.query("CALL gds.version() YIELD gdsVersion RETURN gdsVersion AS v")
    except Exception:  # noqa: BLE001 - any failure means: not available
        return None
    return str(rows[0]["v"]) if rows else None


_GDS_PARTS = {
    "phone": "MATCH (a:Ad)-[e:HAS_PHONE]->(h:Phone) RETURN a, h, e.confidence AS c",
    "email": "MATCH (a:Ad)-[e:HAS_EMAIL]->(h:Email) RETURN a, h, e.confidence AS c",
    "author": "MATCH (a:Ad)-[e:WRITTEN_BY]->(h:Author) RETURN a, h, e.confidence AS c",
    "wallet": "MATCH (h:Wallet)<-[iw:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)"
    "-[pf:PAID_FOR]->(a:Ad) WHERE (t.coinjoin IS NULL OR t.coinjoin = false) "
    "AND (pf.ambiguous IS NULL OR pf.ambiguous = false) "
    "RETURN a, h, max(pf.confidence * iw.confidence) AS c",
    # GDS projects nodes: pictures by exact hash (near-duplicate groups are a property)
    "image": "MATCH (a:Ad)-[e:HAS_IMAGE]->(h:Image) WHERE h.generic IS NULL OR "
    "h.generic = false RETURN a, h, e.confidence AS c",
}


def gds_leiden(
    store: Store,
    weights: EvidenceWeights | None = None,
    resolution: float = 1.0,
    seed: int = 0,
    max_levels: int = 10,
) -> pd.DataFrame:
    """Leiden inside Neo4j GDS on the same ad+hub graph; columns ad, community.

    The projection mirrors :func:`build_evidence_graph`: one weighted undirected
    relationship per (ad, hub) link of an active kind, hubs with at least two ads only.
    Ads without evidence are not projected; the caller gives them groups of their own.
    """
    weights = weights or EvidenceWeights()
    if gds_version(store) is None:
        raise RuntimeError(f"Neo4j Graph Data Science is not available at {store.uri}")
    kinds = weights.active()
    if not kinds:
        raise ValueError("no evidence kind has a weight > 0")
    parts = "\nUNION ALL\n".join(f"{_GDS_PARTS[k]}, {getattr(weights, k)!r} AS kw" for k in kinds)
    name = f"ownergraph-{uuid.uuid4().hex[:12]}"
    project = (
        f"CALL () {{\n{parts}\n}}\n"
        "WITH h, collect({a: a, w: kw * c}) AS links WHERE size(links) >= 2\n"
        "UNWIND links AS l\n"
        "WITH gds.graph.project($name, l.a, h, {relationshipProperties: {weight: l.w}}, "
        "{undirectedRelationshipTypes: ['*']}) AS g\n"
        "RETURN g.nodeCount AS nodes, g.relationshipCount AS rels"
    )
    stream = (
        "CALL gds.leiden.stream($name, {relationshipWeightProperty: 'weight', gamma: $gamma, "
        "randomSeed: $seed, concurrency: 1, maxLevels: $max_levels}) "
        "YIELD nodeId, communityId "
        "WITH gds.util.asNode(nodeId) AS n, communityId WHERE n:Ad "
        "RETURN n.id AS ad, communityId AS community"
    )
    try:
        store.query(project, {"name": name}, write=True)
        rows = store.query(
            stream,
            {"name": name, "gamma": float(resolution), "seed": int(seed), "max_levels": max_levels},
            write=True,
        )
    finally:
        store.query(
            "CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName",
            {"name": name},
            write=True,
        )
    return pd.DataFrame(rows, columns=["ad", "community"])
