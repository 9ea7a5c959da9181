"""Community detection at scale on a planted evidence graph (ads + identifier hubs).

Prints, measured in one run:
1. [full] what ``ownergraph owners detect`` runs (method "leiden":
   :func:`~ownergraph.owners.communities.owner_communities`: hard-identifier cores, author
   links weighted by name/city support, Leiden with the CPM objective on the core graph,
   igraph's C implementation, default resolution) on the full ad+hub evidence graph
   (default 10M edges), target <= 60 s; with ``--full-modularity`` also plain Leiden
   (modularity, the objective GDS Leiden has) on the whole ad+hub graph;
2. [sample] on a smaller sample of the same graph: networkx Louvain (modularity) beside
   igraph Leiden with the same objective (like for like, the ratio), leidenalg's Leiden,
   and the product's method, with modularity and NMI against the planted owners.

The graph is built straight from numpy arrays (what ``build_evidence_graph`` produces),
so the times are those of community detection, not of reading a store.

    flock /tmp/bench.lock python benchmarks/bench_communities.py   # 10M edges, 200k sample
    python benchmarks/bench_communities.py --edges 1000000 --sample-edges 100000
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from ownergraph.owners import communities as cm

KIND_W = {"phone": 1.0, "email": 1.0, "wallet": 1.0, "author": 0.5}


def planted(n_edges: int, seed: int = 0) -> tuple[cm.EvidenceGraph, np.ndarray]:
    """An evidence graph with about ``n_edges`` links and the planted owner of each ad.

    Owners have 1-4 phones, an e-mail (on 30% of their ads), a wallet (paying 40% of their
    ads) and a stylometric author (on every ad, confidence 0.9); 2% of ads also carry a
    wrong author link (confidence 0.55) to another owner's author hub.
    """
    rng = np.random.default_rng(seed)
    links_per_ad = 1 + 0.3 + 0.4 + 1 + 0.02
    n_ads = int(n_edges / links_per_ad)
    sizes = np.minimum(rng.geometric(1 / 12, size=n_ads), 400)
    sizes = sizes[np.cumsum(sizes) <= n_ads]
    n_owners = len(sizes)
    owner = np.repeat(np.arange(n_owners), sizes)
    n_ads = len(owner)
    n_phones = rng.integers(1, 5, size=n_owners)
    phone_base = np.concatenate([[0], np.cumsum(n_phones)[:-1]])
    phone = phone_base[owner] + (rng.integers(0, 1 << 30, size=n_ads) % n_phones[owner])
    hubs_phone = int(n_phones.sum())
    src, dst, w, kind, conf = [], [], [], [], []

    def add(mask: np.ndarray, hub: np.ndarray, k: str, c: np.ndarray | float) -> None:
        idx = np.flatnonzero(mask)
        src.append(idx)
        dst.append(hub[idx] if hub.shape == mask.shape else hub)
        cc = np.broadcast_to(np.asarray(c, dtype=float), idx.shape)
        conf.append(cc)
        w.append(np.full(len(idx), KIND_W[k]))
        kind.append(np.full(len(idx), k, dtype=object))

    offset = 0
    add(np.ones(n_ads, bool), phone + offset, "phone", 1.0)
    offset += hubs_phone
    add(rng.random(n_ads) < 0.3, owner + offset, "email", 0.95)
    offset += n_owners
    add(rng.random(n_ads) < 0.4, owner + offset, "wallet", 0.81)
    offset += n_owners
    add(np.ones(n_ads, bool), owner + offset, "author", 0.9)
    noisy = rng.random(n_ads) < 0.02
    add(noisy, rng.integers(0, n_owners, size=n_ads) + offset, "author", 0.55)
    offset += n_owners
    s = np.concatenate(src)
    d = np.concatenate(dst) + n_ads
    c = np.concatenate(conf)
    mw = np.concatenate(w)
    g = cm.EvidenceGraph(
        ads=np.arange(n_ads),
        hubs=np.arange(offset),
        src=s.astype(np.int64),
        dst=d.astype(np.int64),
        weight=mw * c,
        kind=np.concatenate(kind),
        confidence=c,
        max_weight=mw,
    )
    return g, owner


def planted_attributes(owner: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Advertised name (1-3 per owner) and city (home city on 80% of ads) per ad."""
    rng = np.random.default_rng(seed + 1)
    n_owners = int(owner.max()) + 1
    home = rng.integers(0, 300, size=n_owners)
    n_names = rng.integers(1, 4, size=n_owners)
    name_id = owner * 4 + rng.integers(0, 1 << 30, size=len(owner)) % n_names[owner]
    city = np.where(rng.random(len(owner)) < 0.8, home[owner], rng.integers(0, 300, len(owner)))
    return pd.DataFrame({"name": (name_id % 5000).astype(str), "city": city.astype(str)})


def sample(
    g: cm.EvidenceGraph, owner: np.ndarray, n_edges: int
) -> tuple[cm.EvidenceGraph, np.ndarray]:
    """The sub-graph of the first owners whose links add up to about ``n_edges``."""
    per_ad = np.bincount(g.src, minlength=g.n_ads)
    cum = np.cumsum(per_ad)
    n_ads = int(np.searchsorted(cum, n_edges))
    n_ads = int(np.searchsorted(owner, owner[n_ads]))  # whole owners only
    keep = g.src < n_ads
    hubs, dst = np.unique(g.dst[keep], return_inverse=True)
    sub = cm.EvidenceGraph(
        ads=np.arange(n_ads), hubs=hubs, src=g.src[keep], dst=dst + n_ads,
        weight=g.weight[keep], kind=g.kind[keep], confidence=g.confidence[keep],
        max_weight=g.max_weight[keep],
    )  # fmt: skip
    return sub, owner[:n_ads]


def timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--sample-edges", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--full-modularity",
        action="store_true",
        help="Also time plain Leiden (modularity) on the full ad+hub graph.",
    )
    args = ap.parse_args()
    res = cm.DEFAULT_CPM_RESOLUTION

    (g, owner), t_gen = timed(planted, args.edges, args.seed)
    attrs = planted_attributes(owner, args.seed)
    print(f"planted graph: {g.n_ads:,} ads, {len(g.hubs):,} hubs, {g.n_edges:,} edges, "
          f"{owner.max() + 1:,} owners (built in {t_gen:.1f} s)")  # fmt: skip
    memb2, t_owner = timed(cm.owner_communities, g, resolution=res, attributes=attrs)
    nmi2 = normalized_mutual_info_score(owner, memb2)
    print(
        f"[full] PRODUCT (owners detect): cores + support-weighted authors + Leiden CPM "
        f"(igraph, resolution {res}): {t_owner:.1f} s, {len(np.unique(memb2)):,} groups, "
        f"NMI {nmi2:.4f}   (target <= 60 s: {'met' if t_owner <= 60 else 'NOT met'})"
    )
    if args.full_modularity:
        memb, t_leiden = timed(cm.leiden, g, resolution=1.0, n_iterations=2)
        nmi = normalized_mutual_info_score(owner, memb)
        print(
            f"[full] plain Leiden (igraph, modularity, 2 iterations, whole ad+hub graph): "
            f"{t_leiden:.1f} s, {len(np.unique(memb)):,} groups, NMI {nmi:.4f}"
        )
    del g

    sg, sowner = sample(*planted(args.edges, args.seed), args.sample_edges)
    ig_graph = sg.to_igraph()
    nxg = nx.Graph()
    nxg.add_weighted_edges_from(
        zip(sg.src.tolist(), sg.dst.tolist(), sg.weight.tolist(), strict=False)
    )
    nxg.add_nodes_from(range(sg.n_ads + len(sg.hubs)))
    full_leiden, t_s_leiden = timed(
        cm.leiden, sg, resolution=1.0, n_iterations=2, all_vertices=True
    )
    smemb = full_leiden[: sg.n_ads]
    comms, t_nx = timed(nx.community.louvain_communities, nxg, weight="weight", resolution=1.0,
                        seed=args.seed)  # fmt: skip
    nx_memb = np.empty(nxg.number_of_nodes(), dtype=np.int64)
    for i, c in enumerate(comms):
        nx_memb[list(c)] = i
    q_leiden = ig_graph.modularity(full_leiden, weights="weight")
    q_nx = ig_graph.modularity(nx_memb, weights="weight")
    print(f"[sample] {sg.n_ads:,} ads, {sg.n_edges:,} edges")
    print(
        f"[sample] networkx Louvain (modularity): {t_nx:.2f} s, modularity {q_nx:.4f}, "
        f"NMI {normalized_mutual_info_score(sowner, nx_memb[: sg.n_ads]):.4f}"
    )
    print(
        f"[sample] Leiden (igraph, modularity): {t_s_leiden:.2f} s, modularity {q_leiden:.4f}, "
        f"NMI {normalized_mutual_info_score(sowner, smemb):.4f}"
    )
    la_memb, t_la = timed(
        cm.leiden, sg, resolution=1.0, n_iterations=2, all_vertices=True, engine="leidenalg"
    )
    q_la = ig_graph.modularity(la_memb, weights="weight")
    print(f"[sample] Leiden (leidenalg, modularity): {t_la:.2f} s, modularity {q_la:.4f}")
    s_attrs = attrs.iloc[: sg.n_ads].reset_index(drop=True)
    p_memb, t_p = timed(cm.owner_communities, sg, resolution=res, attributes=s_attrs)
    print(
        f"[sample] PRODUCT (cores + Leiden CPM): {t_p:.2f} s, "
        f"NMI {normalized_mutual_info_score(sowner, p_memb):.4f}"
    )
    print(
        f"[sample] ratio networkx Louvain / Leiden (igraph), both modularity: "
        f"{t_nx / t_s_leiden:.1f}x; leidenalg / igraph: {t_la / t_s_leiden:.1f}x; "
        f"networkx Louvain / product: {t_nx / t_p:.1f}x"
    )


if __name__ == "__main__":
    main()
