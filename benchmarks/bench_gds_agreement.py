"""Agreement of Leiden inside Neo4j GDS with the Python Leiden, on one synthetic world.

Loads a world into a Neo4j that has Graph Data Science (the whole pipeline, every evidence
kind), then partitions the same evidence three ways and prints pairwise ARI / NMI and
B-cubed F1 against the truth:

- ``leiden-modularity``: :func:`~ownergraph.owners.communities.leiden` (igraph, modularity
  on the ad+hub graph) - the objective GDS Leiden optimises;
- ``gds-leiden``: :func:`~ownergraph.owners.communities.gds_leiden` (modularity, in Neo4j);
- ``leiden`` (the product default: cores + support-weighted authors + CPM).

The Neo4j database is wiped first: never point it at a server that holds anything else.

    NEO4J_URI=bolt://127.0.0.1:7731 python benchmarks/bench_gds_agreement.py --world /tmp/w5
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ownergraph.evaluate import cluster_scores, load_truth_ads
from ownergraph.owners import communities as cm
from ownergraph.pipeline import run_pipeline
from ownergraph.stages import evidence as evidence_io
from ownergraph.stages.owners import partition, read_ads
from ownergraph.store.base import open_store
from ownergraph.store.schema import SCHEMA


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", required=True, help="A synthetic world folder (with truth/).")
    ap.add_argument("--uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    ap.add_argument("--gamma", type=float, default=1.0, help="Modularity gamma (both runs).")
    ap.add_argument("--reuse", action="store_true", help="The world is already loaded.")
    args = ap.parse_args()
    store = open_store(args.uri)
    if evidence_io.gds_version(store) is None:
        raise SystemExit(f"no Graph Data Science at {store.uri}")
    if not args.reuse:
        for node in SCHEMA.nodes:
            store.delete_nodes(node.label)
        t0 = time.perf_counter()
        stages = ("ads", "bitcoin", "wallets", "payments", "authors")
        run_pipeline(store, args.world, work_dir=Path(f"{args.world}.neo4j-run"), stages=stages)
        print(f"pipeline into Neo4j: {time.perf_counter() - t0:.0f} s")
    ads_df = read_ads(store)
    ads = ads_df["id"].to_numpy(object)
    evidence = evidence_io.fetch_evidence(store)
    graph = cm.build_evidence_graph(ads, evidence)
    t0 = time.perf_counter()
    py = cm.leiden(graph, resolution=args.gamma)
    t_py = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = evidence_io.gds_leiden(store, resolution=args.gamma).set_index("ad")["community"]
    t_gds = time.perf_counter() - t0
    gds = np.array([found.get(a, -1 - i) for i, a in enumerate(graph.ads)])
    attrs = ads_df.set_index("id")[list(cm.SUPPORT_ATTRIBUTES)]
    prod = partition(ads, evidence, "leiden", attributes=attrs)[0]["owner"].to_numpy()
    store.close()
    truth = load_truth_ads(args.world).set_index("ad_id")["owner_id"]
    parts = {"leiden-modularity": py, "gds-leiden": gds, "leiden (default)": prod}
    print(f"{len(ads):,} ads, {graph.n_edges:,} evidence edges; gamma {args.gamma}; "
          f"igraph {t_py:.2f} s, GDS (project + stream + drop) {t_gds:.2f} s")  # fmt: skip
    rows = []
    names = list(parts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rows.append({"a": a, "b": b, "ARI": adjusted_rand_score(parts[a], parts[b]),
                         "NMI": normalized_mutual_info_score(parts[a], parts[b])})  # fmt: skip
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for name, memb in parts.items():
        sc = cluster_scores(truth, pd.Series(memb, index=graph.ads))
        print(f"{name:18s} vs truth: B-cubed F1 {sc['bcubed_f1']:.4f} "
              f"(P {sc['bcubed_precision']:.4f}, R {sc['bcubed_recall']:.4f}), "
              f"{len(np.unique(memb)):,} groups")  # fmt: skip


if __name__ == "__main__":
    main()
