"""Identifier cores (components over the must-link kinds), the core graph that soft
evidence adds weight to, and the support (shared names, a shared circuit of cities) that
author links between cores need (steps 1-3 of :mod:`ownergraph.owners.communities`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import igraph as ig
import numpy as np
import pandas as pd

from ownergraph.owners.evidence_graph import HARD_KINDS, EvidenceGraph
from ownergraph.owners.leiden import components

# Author (stylometry) links between two cores count in proportion to support ** power,
# support = how much the cores agree on advertised name or city, or 1 with a shared wallet.
SUPPORTED_KINDS = ("author",)
SUPPORT_ATTRIBUTES = ("name", "city")
CIRCUIT_COLUMNS = ("city",)  # support only from what is shared beyond the main common value
CIRCUIT_SCALE = 2.0
DEFAULT_SUPPORT_POWER = 2.0


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
