"""Owner-group accuracy on a synthetic world: B-cubed F1 by evidence type, in one table.

Runs the pipeline stages (each an ``ownergraph`` command, so it runs what exists) on a
world, unless ``--reuse`` finds them done:

    synth -> load ads -> btc load -> btc cluster -> btc link -> authors train/link

then reads the evidence once from the store and scores, against the world's truth
(``ownergraph.evaluate``): each evidence type alone (connected components of its links),
hard identifiers alone (phones + e-mails, the baseline), all evidence with author links
joining cores (unsupported, and weighted by name/city/wallet support: the previous
default), all evidence with author links only attaching ads without an identifier, and
the default of ``owners detect`` (the setting calibrated by re-attachment on the world's
own identifier-labelled ads), plus an optional sweep.

    python benchmarks/bench_owner_accuracy.py --world /tmp/w20 --ads 20000 --seed 2
    python benchmarks/bench_owner_accuracy.py --reuse --world /tmp/w5a --world /tmp/w5b
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
from ownergraph.owners import communities as cm
from ownergraph.stages import evidence as evidence_io
from ownergraph.stages.owners import DEFAULT_RESOLUTION, find_owners, partition, read_ads
from ownergraph.store.embedded import EmbeddedStore


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


def score_world(world: Path, store: Path, sweep: bool) -> pd.DataFrame:
    """Score every evidence set on one built world; one row per evidence set."""
    s = EmbeddedStore(store)
    ads_df = read_ads(s)
    ads = ads_df["id"].to_numpy(object)
    attrs = ads_df.set_index("id")[list(cm.SUPPORT_ATTRIBUTES)]
    evidence = evidence_io.fetch_evidence(s, cm.KINDS)
    s.close()
    truth = load_truth_ads(world).set_index("ad_id")["owner_id"]
    print(
        f"{world}: {len(ads):,} ads, {truth.nunique():,} true owners; evidence links: "
        + ", ".join(f"{k} {int((evidence['kind'] == k).sum()):,}" for k in cm.KINDS),
        flush=True,
    )
    rows = []

    def score(label: str, method: str, weights: cm.EvidenceWeights, res: float,
              must_link: tuple[str, ...] = cm.HARD_KINDS, attributes: pd.DataFrame | None = attrs,
              power: float = cm.DEFAULT_SUPPORT_POWER,
              attach_only: tuple[str, ...] = cm.ATTACH_ONLY_KINDS) -> None:  # fmt: skip
        t0 = time.perf_counter()
        got, _ = partition(ads, evidence, method, weights, res, 0, must_link, attributes, power,
                           attach_only)  # fmt: skip
        secs = time.perf_counter() - t0
        sc = cluster_scores(truth, got.set_index("ad")["owner"])
        rows.append({"evidence": label, "bcubed_f1": sc["bcubed_f1"],
                     "precision": sc["bcubed_precision"], "recall": sc["bcubed_recall"],
                     "groups": sc["n_pred_groups"], "seconds": round(secs, 2)})  # fmt: skip

    for kind in cm.KINDS:
        score(f"{kind} alone (components)", "leiden", cm.EvidenceWeights.only(kind), 1.0, (kind,))
    score("hard identifiers (phone+email, components)", "components", cm.EvidenceWeights(), 1.0)
    score("all evidence, authors joining cores unsupported", "leiden", cm.EvidenceWeights(),
          DEFAULT_RESOLUTION, attributes=None, attach_only=())  # fmt: skip
    score(f"all evidence, authors joining cores with support^{cm.DEFAULT_SUPPORT_POWER:g} "
          f"(the previous default, CPM {DEFAULT_RESOLUTION})", "leiden", cm.EvidenceWeights(),
          DEFAULT_RESOLUTION, attach_only=())  # fmt: skip
    score(f"all evidence, authors attaching (not calibrated, CPM {DEFAULT_RESOLUTION})",
          "leiden", cm.EvidenceWeights(), DEFAULT_RESOLUTION)  # fmt: skip
    t0 = time.perf_counter()
    found = find_owners(ads_df, evidence)  # the default of `owners detect`
    sc = cluster_scores(truth, found.assigned.set_index("ad")["owner"])
    rows.append({"evidence": f"default, calibrated on the data: {found.setting.name}",
                 "bcubed_f1": sc["bcubed_f1"], "precision": sc["bcubed_precision"],
                 "recall": sc["bcubed_recall"], "groups": sc["n_pred_groups"],
                 "seconds": round(time.perf_counter() - t0, 2)})  # fmt: skip
    if sweep:
        for power in (0.0, 1.0, 2.0, 3.0):
            for res in (0.0003, 0.001, 0.003, 0.01, 0.03):
                score(f"  sweep: resolution {res}, support^{power:g}", "leiden",
                      cm.EvidenceWeights(), res, power=power)  # fmt: skip
    out = pd.DataFrame(rows)
    out.insert(0, "world", world.name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", action="append", required=True,
                    help="World folder (made if missing); repeat for several worlds.")  # fmt: skip
    ap.add_argument("--ads", type=int, default=20_000, help="Ads per world built here.")
    ap.add_argument("--seed", type=int, default=2, help="Seed of a world built here.")
    ap.add_argument("--reuse", action="store_true", help="Score already built stores.")
    ap.add_argument("--sweep", action="store_true", help="Add a resolution x support sweep.")
    args = ap.parse_args()
    tables = []
    for w in args.world:
        world = Path(w)
        store = Path(f"{world}.lbug")
        model = Path(f"{world}.authors.joblib")
        if not args.reuse:
            print(f"building {world} ({args.ads:,} ads, seed {args.seed}) into {store}")
            for p in (store, Path(f"{store}.wal"), Path(f"{store}.rates.parquet")):
                p.unlink(missing_ok=True)
            build(world, store, args.ads, args.seed, model)
        tables.append(score_world(world, store, args.sweep))
    table = pd.concat(tables, ignore_index=True)
    fmt = {"float_format": lambda v: f"{v:.4f}"}
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(table.to_string(index=False, **fmt))
        if len(args.world) > 1:
            summary = table.groupby("evidence", sort=False)[["bcubed_f1", "precision", "recall"]]
            print("\nmean (min) over the worlds:")
            agg = summary.mean().join(summary.min().add_suffix("_min"))
            print(agg[["bcubed_f1", "bcubed_f1_min", "precision", "recall"]].to_string(**fmt))


if __name__ == "__main__":
    main()
