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
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass, field

import igraph as ig
import leidenalg
import numpy as np
import pandas as pd

from ownergraph.errors import OwnergraphError

KINDS = ("phone", "email", "wallet", "author", "image")
HARD_KINDS = ("phone", "email")
METHODS = ("leiden", "components", "gds-leiden")
# Author (stylometry) links between two cores count in proportion to support ** power,
# support = how much the cores agree on advertised name or city, or 1 with a shared wallet.
SUPPORTED_KINDS = ("author",)
SUPPORT_ATTRIBUTES = ("name", "city")
CIRCUIT_COLUMNS = ("city",)  # support only from what is shared beyond the main common value
CIRCUIT_SCALE = 2.0
DEFAULT_SUPPORT_POWER = 2.0
# CPM resolution on the core graph (evidence per pair of ads); see owners.DEFAULT_RESOLUTION.
DEFAULT_CPM_RESOLUTION = 0.003
# Projection levels of owner_communities (cores, then the groups found, ...).
DEFAULT_LEVELS = 3
# Kinds that only attach ads without a hard identifier to a group, never join two
# identifier cores (see attach_orphans), and the margin the best group must have.
ATTACH_ONLY_KINDS = ("author",)
DEFAULT_ATTACH_MARGIN = 2.0


class EvidenceError(OwnergraphError, ValueError):
    """Evidence that cannot be used as is (e.g. a link without a confidence)."""


@dataclass(frozen=True)
class EvidenceWeights:
    """Weight of one link of each kind; a link counts ``weight x confidence``.

    A weight of 0 leaves that kind out. Defaults: every kind counts fully; the calibration
    on the synthetic worlds found no gain in down-weighting stylometric authors (their
    uncertainty is in their confidence).
    """

    phone: float = 1.0
    email: float = 1.0
    wallet: float = 1.0
    author: float = 1.0
    image: float = 1.0

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            if not (v >= 0):
                raise ValueError(f"evidence weight {k}={v!r} must be >= 0")

    @classmethod
    def only(cls, *kinds: str) -> EvidenceWeights:
        """Weights that use just the given kinds (each at its default weight)."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown evidence kinds {sorted(unknown)}; known: {KINDS}")
        base = cls()
        return cls(**{k: (getattr(base, k) if k in kinds else 0.0) for k in KINDS})

    @classmethod
    def parse(cls, spec: str) -> EvidenceWeights:
        """``"phone=1,email=1,wallet=1,author=0.5"`` (missing kinds keep their default)."""
        values = asdict(cls())
        for item in filter(None, (s.strip() for s in spec.split(","))):
            k, sep, v = item.partition("=")
            if not sep or k.strip() not in values:
                raise ValueError(f"bad evidence weight {item!r}; use KIND=NUMBER, kinds {KINDS}")
            try:
                values[k.strip()] = float(v)
            except ValueError:
                raise ValueError(f"bad evidence weight {item!r}: {v!r} is not a number") from None
        return cls(**values)

    def active(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if getattr(self, k) > 0)


@dataclass
class EvidenceGraph:
    """Ads and hubs as one undirected weighted graph (ads are vertices 0..n_ads-1)."""

    ads: np.ndarray  # ad ids, sorted; vertex i is ads[i]
    hubs: np.ndarray  # "kind:key" labels; vertex n_ads + j is hubs[j]
    src: np.ndarray  # ad vertex per edge
    dst: np.ndarray  # hub vertex per edge
    weight: np.ndarray  # weight[kind] x confidence per edge
    kind: np.ndarray  # evidence kind per edge
    confidence: np.ndarray  # link confidence per edge
    max_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # weight[kind] per edge
    # per ad: carries a hard identifier (also one no other ad shares, which has no hub)
    identified: np.ndarray | None = None

    @property
    def n_ads(self) -> int:
        return len(self.ads)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    def to_igraph(self) -> ig.Graph:
        g = ig.Graph(n=self.n_ads + len(self.hubs), directed=False)
        g.add_edges(np.column_stack([self.src, self.dst]))
        g.es["weight"] = self.weight.astype(float)
        return g


def build_evidence_graph(
    ads: np.ndarray | list[str],
    evidence: pd.DataFrame,
    weights: EvidenceWeights | None = None,
) -> EvidenceGraph:
    """The ad+hub graph from an evidence frame (ad, kind, hub, confidence).

    Kinds with weight 0 and hubs linked to fewer than two ads are left out. Every ad of
    ``ads`` is a vertex (ads without evidence stay isolated); evidence about an ad that is
    not in ``ads`` is an error.
    """
    weights = weights or EvidenceWeights()
    ads = np.asarray(sorted(ads), dtype=object)
    # Plain object arrays and integer codes throughout: pandas' ``str`` dtype matches
    # strings one by one in Python (``isin`` was 80 % of a 100k-ad partition), and
    # calibration builds this graph about a hundred times per run.
    kind_all = evidence["kind"].to_numpy(dtype=object)
    ev = evidence[np.isin(kind_all, list(weights.active()))]
    kind = ev["kind"].to_numpy(dtype=object)
    ad_pos = pd.Index(ads, dtype=object).get_indexer(ev["ad"].to_numpy(dtype=object))
    unknown = ad_pos < 0
    if unknown.any():
        raise EvidenceError(
            f"{int(unknown.sum())} evidence links name ads that are not in the graph, "
            f"e.g. {ev['ad'].to_numpy(dtype=object)[unknown][:3].tolist()}"
        )
    confidence = ev["confidence"].to_numpy(dtype=float)
    if np.isnan(confidence).any() or ((confidence < 0) | (confidence > 1)).any():
        bad = ev[np.isnan(confidence) | (confidence < 0) | (confidence > 1)].head(3)
        raise EvidenceError(
            "link confidence must be in [0, 1], e.g. "
            + ", ".join(f"{r.ad}->{r.kind}:{r.hub}={r.confidence}" for r in bad.itertuples())
        )
    identified = np.zeros(len(ads), dtype=bool)
    identified[ad_pos[np.isin(kind, list(HARD_KINDS))]] = True
    hub_text = ev["hub"].to_numpy(dtype=object)
    hub_label = np.array([f"{k}:{h}" for k, h in zip(kind, hub_text, strict=True)], dtype=object)
    codes, _ = pd.factorize(hub_label)
    keep = np.bincount(codes, minlength=1)[codes] >= 2 if len(codes) else np.zeros(0, bool)
    ad_pos, kind, confidence = ad_pos[keep], kind[keep], confidence[keep]
    hubs, hub_idx = np.unique(hub_label[keep], return_inverse=True)
    kind_w = np.array([getattr(weights, k) for k in kind], dtype=float)
    return EvidenceGraph(
        ads=ads,
        hubs=hubs,
        src=ad_pos.astype(np.int64),
        dst=(len(ads) + hub_idx).astype(np.int64),
        weight=kind_w * confidence,
        kind=kind,
        confidence=confidence,
        max_weight=kind_w,
        identified=np.asarray(identified, dtype=bool),
    )


def _run_leiden(
    g: ig.Graph,
    objective: str,
    resolution: float,
    seed: int,
    n_iterations: int,
    node_sizes: list[int] | None = None,
    engine: str = "igraph",
) -> list[int]:
    """One Leiden run: ``objective`` "modularity" or "cpm", on igraph's C implementation
    (default; measured 16x faster than leidenalg on a 1M-edge evidence graph, same groups)
    or on ``leidenalg``. Seeded: igraph gets its own ``random.Random(seed)`` for the call."""
    if resolution <= 0:
        raise ValueError(f"resolution must be > 0, got {resolution}")
    if engine == "leidenalg":
        kind = (
            leidenalg.CPMVertexPartition
            if objective == "cpm"
            else leidenalg.RBConfigurationVertexPartition
        )
        extra = {"node_sizes": node_sizes} if objective == "cpm" else {}
        part = leidenalg.find_partition(
            g, kind, weights="weight", resolution_parameter=resolution,
            n_iterations=n_iterations, seed=seed, **extra,
        )  # fmt: skip
        return list(part.membership)
    if engine != "igraph":
        raise ValueError(f"unknown Leiden engine {engine!r}; use igraph or leidenalg")
    ig.set_random_number_generator(random.Random(seed))
    try:
        found = g.community_leiden(
            objective_function="CPM" if objective == "cpm" else "modularity",
            weights="weight",
            resolution=resolution,
            n_iterations=n_iterations,
            node_weights=node_sizes if objective == "cpm" else None,
        )
    finally:
        ig.set_random_number_generator(random)
    return list(found.membership)


def leiden(
    graph: EvidenceGraph,
    resolution: float = 1.0,
    seed: int = 0,
    n_iterations: int = -1,
    all_vertices: bool = False,
    engine: str = "igraph",
) -> np.ndarray:
    """Leiden with modularity (``resolution`` = gamma) on the ad+hub graph itself.

    The objective GDS Leiden optimises; used to compare with
    ``ownergraph.stages.evidence.gds_leiden`` and in the benchmark. Returns a community id
    per ad vertex (per vertex with ``all_vertices``).
    """
    memb = _run_leiden(
        graph.to_igraph(), "modularity", resolution, seed, n_iterations, engine=engine
    )
    n = graph.n_ads + len(graph.hubs) if all_vertices else graph.n_ads
    return np.asarray(memb[:n], dtype=np.int64)


def components(graph: EvidenceGraph) -> np.ndarray:
    """Connected components of the graph; component id per ad vertex."""
    g = graph.to_igraph()
    return np.asarray(g.connected_components().membership[: graph.n_ads], dtype=np.int64)


def hard_cores(graph: EvidenceGraph, must_link: tuple[str, ...] = HARD_KINDS) -> np.ndarray:
    """Core id per ad: connected components over the links of the ``must_link`` kinds."""
    keep = np.isin(graph.kind, list(must_link)) if graph.n_edges else np.zeros(0, bool)
    sub = EvidenceGraph(
        graph.ads,
        graph.hubs,
        graph.src[keep],
        graph.dst[keep],
        graph.weight[keep],
        graph.kind[keep],
        graph.confidence[keep],
        graph.max_weight[keep],
    )
    return components(sub)


@dataclass
class CoreGraph:
    """Cores (vertices 0..n_cores-1, size = their ads) and big soft hubs (size 0)."""

    n_cores: int
    n_hubs: int
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    sizes: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per vertex

    def to_igraph(self) -> ig.Graph:
        g = ig.Graph(n=self.n_cores + self.n_hubs, directed=False)
        g.add_edges(np.column_stack([self.src, self.dst]))
        g.es["weight"] = self.weight.astype(float)
        return g


def attribute_overlap(
    attributes: pd.DataFrame,
    cores: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    column: str,
    beyond_top: bool = False,
) -> np.ndarray:
    """Per core pair (cx[i], cy[i]): how much the two cores' ads agree on ``column``.

    Histogram intersection ``sum_v min(share of X's ads with value v, same for Y)``, in
    [0, 1]: 1 when both cores show the same mix of values (one advertised name, one city),
    0 when they share none. Ads without a value are left out. ``beyond_top`` leaves out
    the largest term: what the cores share besides their main common value (for cities:
    a shared circuit, not just a shared home town).
    """
    vals = attributes[column].to_numpy(dtype=object)
    df = pd.DataFrame({"core": cores, "v": vals}).dropna()
    if df.empty or len(cx) == 0:
        return np.zeros(len(cx))
    d = df.groupby(["core", "v"]).size().rename("n").reset_index()
    d["p"] = d["n"] / d.groupby("core")["n"].transform("sum")
    q = pd.DataFrame({"x": cx, "y": cy}).drop_duplicates()
    m = q.merge(d.rename(columns={"core": "x", "p": "px"})[["x", "v", "px"]], on="x")
    m = m.merge(d.rename(columns={"core": "y", "p": "py"})[["y", "v", "py"]], on=["y", "v"])
    both = np.minimum(m["px"], m["py"]).groupby([m["x"], m["y"]])
    got = both.sum() - both.max() if beyond_top else both.sum()
    idx = pd.MultiIndex.from_arrays([cx, cy])
    return got.reindex(idx).fillna(0.0).to_numpy(dtype=float).clip(0.0, 1.0)


def link_support(
    attributes: pd.DataFrame, cores: np.ndarray, cx: np.ndarray, cy: np.ndarray
) -> np.ndarray:
    """Support of an author link between cores cx[i] and cy[i] from ad attributes, 0..1.

    The best of: the advertised-name overlap (a column not in :data:`CIRCUIT_COLUMNS`,
    plain :func:`attribute_overlap`), and for a circuit column (city)
    ``CIRCUIT_SCALE x`` the overlap beyond the main shared city, so that two cores posting
    in one common home town support nothing (copied templates in one city), while cores
    travelling the same circuit of cities do.
    """
    support = np.zeros(len(cx))
    for col in attributes.columns:
        if col in CIRCUIT_COLUMNS:
            ov = CIRCUIT_SCALE * attribute_overlap(attributes, cores, cx, cy, col, True)
        else:
            ov = attribute_overlap(attributes, cores, cx, cy, col)
        support = np.maximum(support, np.minimum(ov, 1.0))
    return support


def _value_pairs(
    links: pd.DataFrame, attributes: pd.DataFrame, cores: np.ndarray, max_group: int
) -> pd.DataFrame:
    """(hub, core_x, core_y) for cores on one hub that share a value of some attribute.

    A value shared by more than ``max_group`` cores of one hub is left out (it does not
    identify anyone, and its pairs would grow quadratically).
    """
    out = []
    hc = links[["hub", "core"]]
    for col in attributes.columns:
        cv = pd.DataFrame({"core": cores, "v": attributes[col].to_numpy(dtype=object)})
        cv = cv.dropna().drop_duplicates()
        m = hc.merge(cv, on="core")
        m = m[m.groupby(["hub", "v"])["core"].transform("size").between(2, max_group)]
        pr = m.merge(m, on=["hub", "v"], suffixes=("_x", "_y"))
        out.append(pr.loc[pr["core_x"] < pr["core_y"], ["hub", "core_x", "core_y"]])
    if not out:
        return pd.DataFrame({"hub": [], "core_x": [], "core_y": []}, dtype=np.int64)
    return pd.concat(out, ignore_index=True).drop_duplicates()


def core_graph(
    graph: EvidenceGraph,
    cores: np.ndarray,
    soft: tuple[str, ...],
    max_hub_cores: int = 200,
    attributes: pd.DataFrame | None = None,
    needs_support: tuple[str, ...] = SUPPORTED_KINDS,
    support_power: float = DEFAULT_SUPPORT_POWER,
    max_value_cores: int = 2000,
) -> CoreGraph:
    """Project the soft kinds' hubs onto pairs of cores (see the module docstring).

    A hub linking ``a_X`` ads of core X and ``a_Y`` ads of core Y adds
    ``weight[kind] x c_X x c_Y x a_X x a_Y`` to the pair (X, Y): the weighted number of
    ad pairs it links. Hubs touching more than ``max_hub_cores`` cores stay hub vertices
    (edge core-hub ``weight x c_X x a_X x median a``).

    With ``attributes`` (rows aligned with ``graph.ads``), a link of a kind in
    ``needs_support`` (default: author) is multiplied by ``support ** support_power``:
    ``support`` is 1 when another soft kind (a wallet) also links X and Y, else the best
    :func:`attribute_overlap` of the two cores over the attribute columns. Pairs with no
    support add nothing, so only pairs sharing an attribute value (at most
    ``max_value_cores`` cores per hub and value) or a wallet are formed, for hubs of any
    size. Without ``attributes`` every support is 1.
    """
    n_cores = int(cores.max()) + 1 if len(cores) else 0
    core_n = np.bincount(cores, minlength=n_cores).astype(float)
    keep = np.isin(graph.kind, list(soft)) if graph.n_edges else np.zeros(0, bool)
    links = pd.DataFrame(
        {
            "hub": graph.dst[keep],
            "core": cores[graph.src[keep]],
            "kind": graph.kind[keep],
            "w": graph.max_weight[keep],
            "c": graph.confidence[keep],
        }
    )
    # Per (hub, core): best confidence and the number of the core's ads on the hub.
    links = links.groupby(["hub", "core"], as_index=False).agg(
        kind=("kind", "first"), w=("w", "first"), c=("c", "max"), a=("c", "size")
    )
    links = links[links.groupby("hub")["core"].transform("size") >= 2]
    supported = (
        links["kind"].isin(list(needs_support)).to_numpy()
        if attributes is not None
        else np.zeros(len(links), bool)
    )
    plain, sup = links[~supported], links[supported]
    n_touch = plain.groupby("hub")["core"].transform("size")
    small = plain[n_touch <= max_hub_cores]
    big = plain[n_touch > max_hub_cores]
    pairs = small.merge(small, on=["hub", "kind"], suffixes=("_x", "_y"))
    pairs = pairs[pairs["core_x"] < pairs["core_y"]]
    parts = [(pairs["w_x"] * pairs["c_x"] * pairs["c_y"] * pairs["a_x"] * pairs["a_y"])]
    index = [(pairs["core_x"].to_numpy(np.int64), pairs["core_y"].to_numpy(np.int64))]
    if len(sup):
        cand = _value_pairs(sup, attributes, cores, max_value_cores)
        # pairs of the same hub that a wallet (a plain soft kind) also links
        wp = pairs[["core_x", "core_y"]].drop_duplicates()
        on_hub = sup[["hub", "core"]]
        via_w = wp.merge(on_hub.rename(columns={"core": "core_x"}), on="core_x").merge(
            on_hub.rename(columns={"core": "core_y"}), on=["hub", "core_y"]
        )
        cand = pd.concat([cand, via_w[["hub", "core_x", "core_y"]]]).drop_duplicates()
        side = sup[["hub", "core", "w", "c", "a"]]
        cand = cand.merge(side.rename(columns={"core": "core_x"}), on=["hub", "core_x"])
        cand = cand.merge(
            side.rename(columns={"core": "core_y"}), on=["hub", "core_y"], suffixes=("_x", "_y")
        )
        cx, cy = cand["core_x"].to_numpy(np.int64), cand["core_y"].to_numpy(np.int64)
        support = link_support(attributes, cores, cx, cy)
        linked = pd.MultiIndex.from_frame(wp)
        support[pd.MultiIndex.from_arrays([cx, cy]).isin(linked)] = 1.0
        wt = cand["w_x"] * cand["c_x"] * cand["c_y"] * cand["a_x"] * cand["a_y"]
        parts.append(wt * support**support_power)
        index.append((cx, cy))
    pw = pd.concat(parts, ignore_index=True)
    pw = pw.groupby(
        [np.concatenate([i[0] for i in index]), np.concatenate([i[1] for i in index])]
    ).sum()
    pw = pw[pw > 0]
    src = [pw.index.get_level_values(0).to_numpy(np.int64)]
    dst = [pw.index.get_level_values(1).to_numpy(np.int64)]
    wts = [pw.to_numpy(float)]
    big_hubs, big_idx = np.unique(big["hub"].to_numpy(), return_inverse=True)
    src.append(big["core"].to_numpy(np.int64))
    dst.append(n_cores + big_idx.astype(np.int64))
    med = big.groupby("hub")["a"].transform("median")
    wts.append((big["w"] * big["c"] * big["a"] * med).to_numpy(float))
    sizes = np.concatenate([core_n, np.zeros(len(big_hubs))])
    return CoreGraph(
        n_cores,
        len(big_hubs),
        np.concatenate(src),
        np.concatenate(dst),
        np.concatenate(wts),
        sizes,
    )


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
