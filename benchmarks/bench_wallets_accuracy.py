"""Accuracy of wallet clustering against the synthetic truth (several seeds).

For each seed and CoinJoin level (``generate_world`` knobs): the chain is loaded with the
real loaders and clustered with ``WalletClusterer`` (the world's processor set given):
multi-input alone, and multi-input + change heuristic; each with CoinJoin detection on
(``ownergraph.linking.coinjoin`` rules) and off (ablation: CoinJoins merged like
any transaction). Scored with ``ownergraph.evaluate.cluster_scores`` (pairwise and
B-cubed) against ``truth/addresses.csv``:

- ``owners``: addresses of the ad owners' wallets only (what links ads);
- ``all``: every address (exchanges, processors, noise wallets; one-off external
  addresses are their own wallet).

Also: CoinJoin detection against the truth's transaction kinds, and how many predicted
wallets hold addresses of two or more owners (a false merge of owners: the error that
would join unrelated ads).

Run: ``python benchmarks/bench_wallets_accuracy.py [--ads 5000] [--seeds 1,2,3]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ownergraph.evaluate import cluster_scores, wallet_truth
from ownergraph.linking.wallets import WalletClusterer
from ownergraph.loaders.bitcoin import load_bitcoin, read_processors
from ownergraph.synth.config import WorldConfig
from ownergraph.synth.world import generate_world

LEVELS = {
    "CoinJoin off": {"coinjoin_per_1k_payments": 0.0},
    "CoinJoin default (4/1k)": {},
    "CoinJoin 25x (100/1k)": {"coinjoin_per_1k_payments": 100.0, "owner_coinjoin_rate": 0.6},
}
RUNS = {
    "multi-input": {"change_heuristic": False},
    "multi-input + change": {"change_heuristic": True},
    "multi-input, CoinJoin detection off": {
        "change_heuristic": False,
        "coinjoin_guard": False,
    },
    "multi-input + change, CoinJoin detection off": {
        "change_heuristic": True,
        "coinjoin_guard": False,
    },
}


def owner_merges(labels: pd.Series, addrs: pd.DataFrame) -> int:
    """Predicted wallets holding addresses of two or more distinct owners."""
    own = addrs[addrs["owner_id"] != ""].set_index("address")["owner_id"]
    w = labels.reindex(own.index)
    per = pd.DataFrame({"w": w.to_numpy(), "o": own.to_numpy()}).dropna()
    return int((per.groupby("w")["o"].nunique() > 1).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=5000)
    ap.add_argument("--seeds", default="1,2,3")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, cj_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for level, over in LEVELS.items():
            started = time.perf_counter()
            for seed in seeds:
                d = Path(tmp) / f"{len(cj_rows)}"
                generate_world(d, n_ads=args.ads, seed=seed, config=replace(WorldConfig(), **over))
                t = load_bitcoin(
                    [d / "bitcoin/blocks.jsonl"], mempool=[d / "bitcoin/mempool_first_seen.csv"]
                )
                procs = read_processors(d / "bitcoin/processor_addresses.txt")
                addrs = pd.read_csv(d / "truth/addresses.csv", dtype=str, keep_default_na=False)
                kinds = pd.read_csv(d / "truth/txs.csv", dtype=str).set_index("txid")["kind"]
                truth = {s: wallet_truth(addrs, s) for s in ("owners", "all")}
                for run, params in RUNS.items():
                    c = WalletClusterer(**params).fit(t.inputs, t.outputs, t.txs, procs)
                    row = {"CoinJoin level": level, "seed": seed, "clustering": run}
                    for scope, tr in truth.items():
                        s = cluster_scores(tr, c.labels_, extra="ignore")
                        row[f"{scope} P"] = s["pairwise_precision"]
                        row[f"{scope} R"] = s["pairwise_recall"]
                        row[f"{scope} B3 F1"] = s["bcubed_f1"]
                    row["wallets merging owners"] = owner_merges(c.labels_, addrs)
                    rows.append(row)
                    if run == "multi-input":
                        flagged = set(c.coinjoin_.index[c.coinjoin_.to_numpy()])
                        true_cj = set(kinds.index[kinds == "coinjoin"])
                        cj_rows.append(
                            {
                                "CoinJoin level": level,
                                "seed": seed,
                                "true CoinJoins": len(true_cj),
                                "flagged": len(flagged),
                                "flagged and true": len(flagged & true_cj),
                            }
                        )
            print(f"{level}: {time.perf_counter() - started:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    print(f"\n{args.ads:,} ads per world, seeds {seeds}; pairwise precision / recall (mean")
    print("over seeds; min..max beside), B-cubed F1; owner merges summed over seeds")
    g = df.groupby(["CoinJoin level", "clustering"], sort=False)
    out = pd.DataFrame(
        {
            f"{scope} {m}": g[f"{scope} {m}"].mean().map("{:.4f}".format)
            + g[f"{scope} {m}"].agg(lambda s: f" ({s.min():.3f}..{s.max():.3f})")
            for scope in ("owners", "all")
            for m in ("P", "R")
        }
    )
    out["owners B3 F1"] = g["owners B3 F1"].mean().map("{:.4f}".format)
    out["wallets merging owners"] = g["wallets merging owners"].sum()
    print(out.to_string())
    print("\nCoinJoin detection (default rule) against the truth's tx kinds:")
    cj = pd.DataFrame(cj_rows).drop(columns="seed")
    print(cj.groupby("CoinJoin level", sort=False).sum().to_string())


if __name__ == "__main__":
    main()
