"""Owner-group accuracy on a synthetic world: B-cubed F1 by evidence type, in one table.

Runs the pipeline stages (each an ``ownergraph`` command, so it runs what exists) on a
world, unless ``--reuse`` finds them done:

    synth -> load ads -> btc load -> btc cluster -> btc link -> authors train/link

then reads the evidence once from the store and scores, against the world's truth
(``ownergraph.evaluate``): each evidence type alone (connected components of its links),
hard identifiers alone (phones + e-mails, the baseline), and all evidence (the default
method: hard-identifier cores joined by Leiden), plus a resolution sweep.

    python benchmarks/bench_owner_accuracy.py --world /tmp/w20 --ads 20000 --seed 2
    python benchmarks/bench_owner_accuracy.py --world /tmp/w20 --reuse      # score only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from ownergraph.evaluate import cluster_scores, load_truth_ads
from ownergraph.graph import communities as cm
from ownergraph.graph.embedded import EmbeddedStore
from ownergraph.graph.owners import DEFAULT_RESOLUTION, partition, read_ads


def sh(*args: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(["ownergraph", *args], env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"ownergraph {' '.join(args)} failed:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return time.perf_counter() - t0


def build(world: Path, store: Path, n_ads: int, seed: int, model: Path) -> None:
    env = {**os.environ, "OWNERGRAPH_STORE": str(store)}
    b = world / "bitcoin"
    steps = [
        ("synth", ["synth", "--out", str(world), "--ads", str(n_ads), "--seed", str(seed),
                   "--force"]),
        ("load ads", ["load", "ads", str(world / "ads.jsonl")]),
        ("btc load", ["btc", "load", str(b / "blocks.jsonl"), "--mempool",
                      str(b / "mempool_first_seen.csv"), "--rates", str(world / "rates.csv"),
                      "--processors", str(b / "processor_addresses.txt")]),
        ("btc cluster", ["btc", "cluster"]),
        ("btc link", ["btc", "link", "--processors", str(b / "processor_addresses.txt"),
                      "--prices", str(world / "prices.json")]),
    ]  # fmt: skip
    if not model.exists():
        steps.append(("authors train", ["authors", "train", "--ads", str(world), "--out",
                                        str(model), "--labels", "identifiers"]))  # fmt: skip
    steps.append(("authors link", ["authors", "link", "--model", str(model)]))
    for name, args in steps:
        print(f"  {name:14s} {sh(*args, env=env):7.1f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", required=True, help="World folder (made if missing).")
    ap.add_argument("--store", help="Embedded store (default: WORLD.lbug).")
    ap.add_argument("--ads", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--model", help="Stylometry model (default: WORLD.authors.joblib; trained "
                    "on the world's identifier labels if missing).")  # fmt: skip
    ap.add_argument("--reuse", action="store_true", help="Score an already built store.")
    args = ap.parse_args()
    world = Path(args.world)
    store = Path(args.store or f"{world}.lbug")
    model = Path(args.model or f"{world}.authors.joblib")
    if not args.reuse:
        print(f"building {world} ({args.ads:,} ads, seed {args.seed}) into {store}")
        for p in (store, Path(f"{store}.wal"), Path(f"{store}.rates.parquet")):
            p.unlink(missing_ok=True)
        build(world, store, args.ads, args.seed, model)

    s = EmbeddedStore(store)
    ads = read_ads(s)["id"].to_numpy(object)
    evidence = cm.fetch_evidence(s, cm.KINDS)
    s.close()
    truth = load_truth_ads(world).set_index("ad_id")["owner_id"]
    print(
        f"\n{len(ads):,} ads, {truth.nunique():,} true owners; evidence links: "
        + ", ".join(f"{k} {int((evidence['kind'] == k).sum()):,}" for k in cm.KINDS)
    )

    rows = []

    def score(label: str, method: str, weights: cm.EvidenceWeights, res: float,
              must_link: tuple[str, ...] = cm.HARD_KINDS) -> None:  # fmt: skip
        t0 = time.perf_counter()
        got, _ = partition(ads, evidence, method, weights, res, 0, must_link)
        secs = time.perf_counter() - t0
        sc = cluster_scores(truth, got.set_index("ad")["owner"])
        rows.append({"evidence": label, "bcubed_f1": sc["bcubed_f1"],
                     "precision": sc["bcubed_precision"], "recall": sc["bcubed_recall"],
                     "groups": sc["n_pred_groups"], "seconds": round(secs, 2)})  # fmt: skip

    for kind in cm.KINDS:
        score(f"{kind} alone (components)", "leiden", cm.EvidenceWeights.only(kind), 1.0, (kind,))
    score("hard identifiers (phone+email, components)", "components", cm.EvidenceWeights(), 1.0)
    score(f"all evidence (default: Leiden, resolution {DEFAULT_RESOLUTION})", "leiden",
          cm.EvidenceWeights(), DEFAULT_RESOLUTION)  # fmt: skip
    for res in (0.01, 0.05, 0.1, 0.3, 0.5, 1.0):
        score(f"  sweep: all evidence, resolution {res}", "leiden", cm.EvidenceWeights(), res)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 140, "display.max_colwidth", 60):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
