"""The evidence graph over ads, and community detection on it.

Evidence comes in four kinds, each a *hub* that several ads point to:

- ``phone``  ``(Ad)-[:HAS_PHONE]->(Phone)``, link confidence = the edge's ``confidence``;
- ``email``  ``(Ad)-[:HAS_EMAIL]->(Email)``, likewise;
- ``author`` ``(Ad)-[:WRITTEN_BY]->(Author)`` (a stylometric cluster), likewise;
- ``wallet`` ``(Ad)<-[:PAID_FOR]-(Tx)<-[:SPENT_IN]-(Address)-[:IN_WALLET]->(Wallet)``:
  the ad was paid from the wallet; confidence = ``PAID_FOR.confidence x
  IN_WALLET.confidence`` (the best such path per ad and wallet). Inputs of transactions
  flagged ``coinjoin`` are never evidence (they mix several owners), and neither are
  ambiguous payment links (``PAID_FOR.ambiguous``: another ad or transaction fits as well,
  confidence <= 0.5). At 100k ads they made wallets re-attach hidden ads at 0.915, below
  the 0.95 calibration target; definite links alone re-attached at 0.953.

**Hubs, not pairs.** A phone shared by 10,000 ads would make 50 million ad pairs.
The evidence graph keeps identifiers as hub vertices instead: one edge per (ad, hub)
link, weighted ``weight[kind] x confidence``; two ads sharing a hub are two steps apart,
so connectivity is that of the all-pairs graph with as many edges as links. Hubs
carried by a single ad connect nothing and are left out.

**Owner groups (method "leiden").** Ownership evidence is transitive for hard
identifiers (the paper's definition: ads sharing a phone or e-mail have one owner), and
density-seeking community detection would cut a long-lived owner's chain of phones
apart. So:

1. *Cores*: connected components over the must-link kinds (default phone and e-mail).
2. *Core graph*: one vertex per core, its size = its number of ads; every soft hub
   (wallet, author) linking ``a_X`` ads of core X and ``a_Y`` of core Y adds
   ``weight[kind] x c_X x c_Y x a_X x a_Y`` to the pair (``c_X`` = the best link
   confidence from core X's ads to the hub): the weighted number of ad pairs it links.
   Several hubs add up. A soft hub touching more than ``max_hub_cores`` cores stays one
   hub vertex (size 0) joined to its cores, so the graph never grows quadratically.
3. *Support for author links*: stylometry cannot tell apart owners who post the same
   copy-paste template (on the synthetic worlds, author clusters alone reach B-cubed
   precision 0.66-0.96). So an author link between two cores counts ``support ** 2``
   times: ``support`` = 1 when a wallet also links the cores, else the best of the
   agreement of their advertised names and twice the agreement of their cities beyond
   the main common city (a shared circuit; see :func:`link_support`). An author link
   between cores with different names that merely share a home town counts nothing.
4. *Leiden* (igraph's C implementation; ``leidenalg`` optional) with the Constant Potts
   Model on the core graph, node size = ads: two groups merge when the evidence between
   them exceeds ``resolution`` per pair of their ads. So one stray link cannot merge two
   big cores (it can join a single ad to a group), and the meaning of the resolution does
   not depend on the size of the data. Calibrated default 0.003, support power 2 (seeds
   101, 103, 104 of the synthetic world; benchmarks/bench_owner_accuracy.py).
5. *Levels*: steps 2-4 are repeated with the groups found as the cores (up to
   ``levels`` times, until nothing merges), so support is also measured between whole
   groups (an operation whose phones each stay in one city shares a circuit only as a
   group).

The baseline (method "components") is connected components over hard identifiers alone.
With Neo4j Graph Data Science installed, ``ownergraph.stages.evidence.gds_leiden``
projects the ad+hub graph inside the database and runs ``gds.leiden.stream`` there
(modularity, the only objective GDS Leiden has); :func:`leiden` runs the same objective
in Python for comparison.

The parts live in their own modules and are re-exported here: the evidence graph
(:mod:`ownergraph.owners.evidence_graph`), cores, the core graph and support (steps 1-3,
:mod:`ownergraph.owners.cores`) and the Leiden runs (:mod:`ownergraph.owners.leiden`);
this module forms the groups (steps 4-5), attaches orphans and names the groups.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ownergraph.owners.cores import (
    CIRCUIT_COLUMNS,
    CIRCUIT_SCALE,
    DEFAULT_SUPPORT_POWER,
    SUPPORT_ATTRIBUTES,
    SUPPORTED_KINDS,
    CoreGraph,
    attribute_overlap,
    core_graph,
    hard_cores,
    link_support,
)
from ownergraph.owners.evidence_graph import (
    HARD_KINDS,
    KINDS,
    EvidenceError,
    EvidenceGraph,
    EvidenceWeights,
    build_evidence_graph,
)
from ownergraph.owners.leiden import _run_leiden, components, leiden

METHODS = ("leiden", "components", "gds-leiden")
# CPM resolution on the core graph (evidence per pair of ads); see owners.DEFAULT_RESOLUTION.
DEFAULT_CPM_RESOLUTION = 0.003
# Projection levels of owner_communities (cores, then the groups found, ...).
DEFAULT_LEVELS = 3
# Kinds that only attach ads without a hard identifier to a group, never join two
# identifier cores (see attach_orphans), and the margin the best group must have.
ATTACH_ONLY_KINDS = ("author",)
DEFAULT_ATTACH_MARGIN = 2.0


def owner_communities(
    graph: EvidenceGraph,
    resolution: float = DEFAULT_CPM_RESOLUTION,
    must_link: tuple[str, ...] = HARD_KINDS,
    seed: int = 0,
    max_hub_cores: int = 200,
    n_iterations: int = -1,
    engine: str = "igraph",
    attributes: pd.DataFrame | None = None,
    support_power: float = DEFAULT_SUPPORT_POWER,
    levels: int = DEFAULT_LEVELS,
    attach_only: tuple[str, ...] = ATTACH_ONLY_KINDS,
    attach_margin: float = DEFAULT_ATTACH_MARGIN,
) -> np.ndarray:
    """Owner group per ad: must-link cores joined by Leiden (CPM) over soft evidence.

    Kinds in ``attach_only`` take no part in joining cores; afterwards they attach
    groups without any hard identifier to a group that has one (:func:`attach_orphans`).

    ``attributes``: per ad (rows aligned with ``graph.ads``) the columns that corroborate
    author links, e.g. ``name`` and ``city`` (see :func:`core_graph`). ``levels`` > 1
    repeats the projection with the groups found as the new cores (support is then
    measured between whole groups: an operation whose phones each stay in one city shows
    its shared circuit only as a group) until nothing merges.
    """
    if resolution <= 0:
        raise ValueError(f"resolution must be > 0, got {resolution}")
    if attributes is not None and len(attributes) != graph.n_ads:
        raise ValueError(f"attributes has {len(attributes)} rows for {graph.n_ads} ads")
    membership = hard_cores(graph, must_link)
    soft = tuple(k for k in KINDS if k not in must_link and k not in attach_only)
    present = set(graph.kind) if graph.n_edges else set()
    for _ in range(max(1, levels) if soft and present & set(soft) else 0):
        cg = core_graph(
            graph, membership, soft, max_hub_cores, attributes, support_power=support_power
        )
        if len(cg.src) == 0:
            break
        memb = _run_leiden(
            cg.to_igraph(),
            "cpm",
            resolution,
            seed,
            n_iterations,
            node_sizes=[int(x) for x in cg.sizes],
            engine=engine,
        )
        group = pd.factorize(np.asarray(memb[: cg.n_cores], dtype=np.int64))[0]
        if group.max() + 1 == cg.n_cores:  # nothing merged
            break
        membership = group[membership].astype(np.int64)
    kinds = tuple(k for k in attach_only if k not in must_link and k in present)
    if kinds:
        membership = attach_orphans(graph, membership, kinds, must_link, attach_margin)
    return membership


def attach_orphans(
    graph: EvidenceGraph,
    membership: np.ndarray,
    kinds: tuple[str, ...],
    must_link: tuple[str, ...] = HARD_KINDS,
    margin: float = DEFAULT_ATTACH_MARGIN,
) -> np.ndarray:
    """Join each group without a hard identifier (an *orphan*) to the group with one that
    its links of ``kinds`` point to most.

    A hub linking ``a_o`` ads of orphan group o and ``a_g`` of group g adds
    ``weight x c_o x c_g x a_o x a_g`` (as in :func:`core_graph`); o joins its best g
    when that is at least ``margin`` times the second best (an orphan between two groups
    stays alone). Two groups that have identifiers are never joined here: whether two
    phones belong to one owner cannot be checked against identifier labels, whereas an
    attached ad can (re-attachment, :mod:`ownergraph.owners.calibration`).
    """
    membership = np.asarray(membership, dtype=np.int64).copy()
    if graph.n_edges == 0:
        return membership
    hard = np.isin(graph.kind, list(must_link))
    n_groups = int(membership.max()) + 1
    has_id = np.zeros(n_groups, dtype=bool)
    has_id[membership[graph.src[hard]]] = True
    if graph.identified is not None:
        has_id[membership[graph.identified]] = True
    keep = np.isin(graph.kind, list(kinds))
    links = pd.DataFrame(
        {
            "hub": graph.dst[keep],
            "g": membership[graph.src[keep]],
            "w": graph.max_weight[keep],
            "c": graph.confidence[keep],
        }
    )
    links = links.groupby(["hub", "g"], as_index=False).agg(
        w=("w", "first"), c=("c", "max"), a=("c", "size")
    )
    orphan = links[~has_id[links["g"].to_numpy()]]
    ided = links[has_id[links["g"].to_numpy()]]
    if orphan.empty or ided.empty:
        return membership
    pairs = orphan.merge(ided, on="hub", suffixes=("_o", "_g"))
    pairs["wt"] = pairs["w_o"] * pairs["c_o"] * pairs["c_g"] * pairs["a_o"] * pairs["a_g"]
    score = pairs.groupby(["g_o", "g_g"], as_index=False)["wt"].sum()
    score = score.sort_values(["g_o", "wt", "g_g"], ascending=[True, False, True])
    best = score.drop_duplicates("g_o")
    second = score[score.duplicated("g_o")].drop_duplicates("g_o").set_index("g_o")["wt"]
    runner = second.reindex(best["g_o"]).fillna(0.0).to_numpy()
    ok = (best["wt"].to_numpy() > 0) & (best["wt"].to_numpy() >= margin * runner)
    if margin <= 1:
        ok &= best["wt"].to_numpy() > runner  # a tie is no choice
    target = np.arange(n_groups)
    target[best["g_o"].to_numpy()[ok]] = best["g_g"].to_numpy()[ok]
    return pd.factorize(target[membership])[0].astype(np.int64)


def membership_confidence(graph: EvidenceGraph, membership: np.ndarray) -> np.ndarray:
    """How strongly the evidence puts each ad in its group, in [0, 1].

    ``sum(weight x confidence of links to hubs inside the ad's group) /
    sum(weight of all its links)``: 1 when all of an ad's evidence points inside its group
    with full confidence, lower when links are uncertain or point to other groups.
    A hub belongs to the group that holds most of its weighted links. An ad without
    evidence forms a group of its own and gets 1.0 (it is its own group by definition).
    """
    n = graph.n_ads
    if graph.n_edges == 0:
        return np.ones(n)
    hub_group = _hub_groups(graph, membership)
    inside = membership[graph.src] == hub_group[graph.dst - n]
    got = np.bincount(graph.src, weights=graph.weight * inside, minlength=n)
    full = np.bincount(graph.src, weights=graph.max_weight, minlength=n)
    out = np.ones(n)
    has = full > 0
    out[has] = got[has] / full[has]
    return np.clip(out, 0.0, 1.0)


def _hub_groups(graph: EvidenceGraph, membership: np.ndarray) -> np.ndarray:
    df = pd.DataFrame(
        {"hub": graph.dst - graph.n_ads, "group": membership[graph.src], "w": graph.weight}
    )
    best = (
        df.groupby(["hub", "group"], sort=True)["w"]
        .sum()
        .reset_index()
        .sort_values(["hub", "w", "group"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("hub")
    )
    out = np.full(len(graph.hubs), -1, dtype=np.int64)
    out[best["hub"].to_numpy()] = best["group"].to_numpy()
    return out


def owner_ids(ads: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """A stable id per group: ``O-`` + 10 hex digits of SHA-1 of its smallest ad id."""
    df = pd.DataFrame({"ad": ads, "group": membership})
    anchor = df.groupby("group")["ad"].transform("min")
    cache: dict[str, str] = {}
    out = []
    for a in anchor:
        if a not in cache:
            cache[a] = "O-" + hashlib.sha1(str(a).encode("utf-8")).hexdigest()[:10]
        out.append(cache[a])
    return np.asarray(out, dtype=object)


__all__ = [
    "ATTACH_ONLY_KINDS", "CIRCUIT_COLUMNS", "CIRCUIT_SCALE", "DEFAULT_ATTACH_MARGIN",
    "DEFAULT_CPM_RESOLUTION", "DEFAULT_LEVELS", "DEFAULT_SUPPORT_POWER", "HARD_KINDS", "KINDS",
    "METHODS", "SUPPORTED_KINDS", "SUPPORT_ATTRIBUTES", "CoreGraph", "EvidenceError",
    "EvidenceGraph", "EvidenceWeights", "attach_orphans", "attribute_overlap",
    "build_evidence_graph", "components", "core_graph", "hard_cores", "leiden",
    "link_support", "membership_confidence", "owner_communities", "owner_ids",
]  # fmt: skip
