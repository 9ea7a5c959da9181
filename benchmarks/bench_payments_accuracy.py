"""Accuracy of payment matching on synthetic worlds (several seeds), and what moves it.

For each world variant and seed (``ownergraph.synth.world.generate_world``): the chain is
loaded with the real loaders, payments to the world's given processor set are matched with
``PaymentMatcher`` (the world's price table, linear rates, default window 0..120 s and
tolerance 2% / 5%), and links are scored against ``truth/payments.csv``. Counts are
pooled over the seeds (one precision over all links of all seeds); the spread over seeds
is printed beside (min..max of the per-seed precision).

What `btc link` writes by default is every candidate link, each with ``ambiguous`` and a
``confidence``; the modes scored:

- ``definite``: links with ``ambiguous == False`` (the only candidate for its ad and its
  tx, not block-timed, and not likely chance by the coincidence estimate): precision and
  recall (recall = true payments found / all true payments);
- ``ambiguity sets``: ads with several candidate txs (or txs with several ads): the share
  of such ads whose set holds the true payer ("set holds truth"), and the per-link
  precision inside sets;
- ``all written``: every PAID_FOR edge (definite + sets), per link;
- ``1to1-greedy``: after ``resolve_one_to_one`` (``btc link --one-to-one``); with a
  ``min_margin`` of .1 / .2 (``--min-margin``: a pick must beat its rivals' fit by more);
- confidence bands over all written links (pooled over seeds and the default variant).

Variants (synth knobs): CoinJoin-like transactions off / default (4 per 1k payments) /
25x (owners in 60%); processor rounding of invoice amounts 1 sat (none) / 1e-5 BTC
(default) / 1e-4 / 1e-3 BTC; near-payment decoys off. Matcher setting ``rounding_sat``
(the amount rule allows the processor's rounding up) on the 1e-3 BTC and default worlds;
``block_slack_s`` (block-timed payments; btc link's default 1,800 s) switched off, on the
default world (0.5% of transactions missing from the mempool log) and on a world with no
mempool log at all. The matcher runs with `btc link`'s defaults otherwise.

Payments carry ``payer`` (the wallet of the tx's inputs) as ``btc link`` reads it after
the pipeline's wallet stage.

Density sweep (``--sweep 8000,30000,100000``, instead of the variants): definite links'
precision and recall per world size, mean ± sd and min..max over the seeds, for the
previous rule (every lone candidate is definite), the coincidence rule without payers
and the default (coincidence per cost and payer record), all in one run; ``--cache DIR``
keeps the generated worlds for the next run.

Run: ``python benchmarks/bench_payments_accuracy.py [--ads 5000] [--seeds 1,2,3,4]``;
``python benchmarks/bench_payments_accuracy.py --sweep 8000,30000,100000 --seeds 1,2,3``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ownergraph.linking.payments import (
    DEFAULT_BLOCK_SLACK_S,
    DEFAULT_MAX_COINCIDENCE,
    PaymentMatcher,
    payments_from_tables,
    resolve_one_to_one,
)
from ownergraph.linking.wallets import WalletClusterer
from ownergraph.synth.config import WorldConfig
from ownergraph.synth.tables import read_world_tables
from ownergraph.synth.world import generate_world

VARIANTS: dict[str, tuple[dict, dict]] = {  # name: (world knobs, matcher settings)
    "default (CoinJoin 4/1k, round 1e-5 BTC)": ({}, {}),
    "CoinJoin off": ({"coinjoin_per_1k_payments": 0.0}, {}),
    "CoinJoin 25x (100/1k)": (
        {"coinjoin_per_1k_payments": 100.0, "owner_coinjoin_rate": 0.6},
        {},
    ),
    "rounding off (1 sat)": ({"processor_rounding_sat": 1}, {}),
    "round 1e-4 BTC": ({"processor_rounding_sat": 10_000}, {}),
    "round 1e-3 BTC": ({"processor_rounding_sat": 100_000}, {}),
    "round 1e-3 BTC, matcher rounding_sat=1e5": (
        {"processor_rounding_sat": 100_000},
        {"rounding_sat": 100_000},
    ),
    "default, matcher rounding_sat=1e3": ({}, {"rounding_sat": 1_000}),
    "decoys off": ({"decoy_near_payment_rate": 0.0}, {}),
    "default, block slack off": ({}, {"block_slack_s": None}),
    "no mempool log (first seen = block)": ({"mempool_missing_rate": 1.0}, {}),
    "no mempool log, block slack off": ({"mempool_missing_rate": 1.0}, {"block_slack_s": None}),
}
BANDS = [0.0, 0.34, 0.5, 0.75, 0.9, 1.0 + 1e-9]


def world_inputs(d: Path) -> tuple:
    """(ads, payments, rates, prices, true (ad_id, txid) pairs) of a generated world.

    Payments carry ``payer`` as ``btc link`` reads it after the pipeline's wallet stage:
    the wallet (multi-input + change heuristic) of the tx's inputs; none for CoinJoins."""
    w = read_world_tables(d)
    tables = w.bitcoin
    pay = payments_from_tables(tables.outputs, tables.txs, w.processors, tables.inputs)
    wallets = WalletClusterer(change_heuristic=True).fit(
        tables.inputs, tables.outputs, tables.txs, w.processors
    )
    spent = tables.inputs.dropna(subset=["address"])
    spent = spent[spent["txid"].isin(pay["txid"])]
    spent = spent.assign(wallet=wallets.predict(spent["address"]).to_numpy())
    payer = spent.groupby("txid")["wallet"].min()
    mixed = wallets.coinjoin_[wallets.coinjoin_].index
    payer = payer.drop(mixed, errors="ignore")  # CoinJoin inputs belong to several owners
    pay["payer"] = pay["txid"].map(payer)
    truth = pd.read_csv(d / "truth/payments.csv", dtype={"txid": str, "ad_id": str})
    return w.ads, pay, w.rates, w.prices, set(zip(truth["ad_id"], truth["txid"], strict=True))


def scored_links(inputs: tuple, **matcher_kw) -> tuple[pd.DataFrame, int]:
    """Every candidate link, with ``ok`` (is a true payment), and the number of true ones."""
    ads, pay, rates, prices, true = inputs
    kw = {"block_slack_s": DEFAULT_BLOCK_SLACK_S, **matcher_kw}  # btc link's defaults
    links = PaymentMatcher(price_table=prices, **kw).match(ads, pay, rates)
    links["ok"] = [k in true for k in zip(links["ad_id"], links["txid"], strict=True)]
    return links, len(true)


def world_links(d: Path, **matcher_kw) -> tuple[pd.DataFrame, int]:
    """Every candidate link of the world, with ``ok`` (is a true payment), and #true."""
    return scored_links(world_inputs(d), **matcher_kw)


RULES = {  # what makes a link definite (ambiguous = False): (matcher settings, use payer)
    "previous: lone candidate": ({"max_coincidence": None}, False),
    f"new, no payer: + est. chance share <= {DEFAULT_MAX_COINCIDENCE}": ({}, False),
    "new (default: btc link after wallets)": ({}, True),
}


def density_sweep(sizes: list[int], seeds: list[int], cache: Path) -> None:
    """Precision and recall of definite links per world size, both rules, in one run.

    Worlds are generated once into ``cache`` (``<ads>-<seed>``) and reused."""
    rows = []
    for n_ads in sizes:
        per_rule: dict[str, list[tuple[int, int, int]]] = {r: [] for r in RULES}
        for seed in seeds:
            d = cache / f"{n_ads}-{seed}"
            if not (d / "truth/payments.csv").exists():
                generate_world(d, n_ads=n_ads, seed=seed, config=WorldConfig())
            inputs = world_inputs(d)
            for rule, (kw, payer) in RULES.items():
                pay = inputs[1] if payer else inputs[1].drop(columns="payer")
                links, n_true = scored_links((inputs[0], pay, *inputs[2:]), **kw)
                definite = links[~links["ambiguous"].to_numpy(bool)]
                per_rule[rule].append((len(definite), int(definite["ok"].sum()), n_true))
            print(f"{n_ads:,} ads, seed {seed}: done", flush=True)
        for rule, counts in per_rule.items():
            c = np.array(counts, dtype=float)
            p, r = c[:, 1] / c[:, 0], c[:, 1] / c[:, 2]
            rows.append(
                {
                    "ads": f"{n_ads:,}",
                    "definite rule": rule,
                    "definite links": int(c[:, 0].sum()),
                    "wrong": int((c[:, 0] - c[:, 1]).sum()),
                    "precision (pooled)": f"{c[:, 1].sum() / c[:, 0].sum():.4f}",
                    "P mean ± sd": f"{p.mean():.4f} ± {p.std(ddof=1) if len(p) > 1 else 0:.4f}",
                    "P min..max": f"{p.min():.4f}..{p.max():.4f}",
                    "recall (pooled)": f"{c[:, 1].sum() / c[:, 2].sum():.4f}",
                    "R mean ± sd": f"{r.mean():.4f} ± {r.std(ddof=1) if len(r) > 1 else 0:.4f}",
                }
            )
    print(f"\ndefinite payment links by world size, seeds {seeds} (recall over all true payments)")
    print(pd.DataFrame(rows).to_string(index=False))


def modes(links: pd.DataFrame, n_true: int) -> dict[str, tuple[int, int, int]]:
    """Per mode: (links, true links, true payments) to pool over seeds."""
    amb = links["ambiguous"].to_numpy(bool)
    one = resolve_one_to_one(links, "greedy")
    m1 = resolve_one_to_one(links, "greedy", min_margin=0.1)
    m2 = resolve_one_to_one(links, "greedy", min_margin=0.2)
    sets = links[amb].groupby("ad_id")["ok"].any()
    return {
        "definite": (int((~amb).sum()), int(links["ok"][~amb].sum()), n_true),
        "sets (links)": (int(amb.sum()), int(links["ok"][amb].sum()), n_true),
        "sets (ads; holds truth)": (len(sets), int(sets.sum()), n_true),
        "all written": (len(links), int(links["ok"].sum()), n_true),
        "1to1-greedy": (len(one), int(one["ok"].sum()), n_true),
        "1to1-greedy margin .1": (len(m1), int(m1["ok"].sum()), n_true),
        "1to1-greedy margin .2": (len(m2), int(m2["ok"].sum()), n_true),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=5000)
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--variants", default="", help="names separated by ';' (default: all)")
    ap.add_argument(
        "--sweep", default="", help="world sizes, e.g. 8000,30000,100000: only the density sweep"
    )
    ap.add_argument("--cache", default="", help="folder to keep the sweep's worlds in (reused)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.sweep:
        sizes = [int(v) for v in args.sweep.split(",")]
        if args.cache:
            density_sweep(sizes, seeds, Path(args.cache))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                density_sweep(sizes, seeds, Path(tmp))
        return
    names = [v for v in VARIANTS if not args.variants or v in args.variants.split(";")]
    rows, band_parts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            started = time.perf_counter()
            pooled: dict[str, np.ndarray] = {}
            per_seed: dict[str, list[float]] = {}
            for seed in seeds:
                d = Path(tmp) / f"{len(rows)}-{seed}"
                knobs, matcher_kw = VARIANTS[name]
                cfg = replace(WorldConfig(), **knobs)
                generate_world(d, n_ads=args.ads, seed=seed, config=cfg)
                links, n_true = world_links(d, **matcher_kw)
                if not knobs and not matcher_kw:
                    band_parts.append(links)
                for mode, c in modes(links, n_true).items():
                    pooled[mode] = pooled.get(mode, np.zeros(3, np.int64)) + np.array(c)
                    per_seed.setdefault(mode, []).append(c[1] / c[0] if c[0] else np.nan)
            for mode, (n, ok, n_true) in pooled.items():
                ps = per_seed[mode]
                rows.append(
                    {
                        "variant": name,
                        "mode": mode,
                        "links": n,
                        "precision": f"{ok / n:.4f}" if n else "-",
                        "per-seed P": f"{np.nanmin(ps):.3f}..{np.nanmax(ps):.3f}",
                        "recall": f"{ok / n_true:.4f}" if "holds" not in mode else "-",
                        "true payments": n_true,
                    }
                )
            print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\n{args.ads:,} ads per world, seeds {seeds}; counts pooled over the seeds")
    print(pd.DataFrame(rows).to_string(index=False))
    if band_parts:
        b = pd.concat(band_parts)
        b["band"] = pd.cut(b["confidence"], BANDS, right=False)
        t = b.groupby(["band", "ambiguous"], observed=True)["ok"].agg(["size", "sum"])
        t["precision"] = (t["sum"] / t["size"]).round(4)
        print("\ndefault variant, all written links by confidence band [lo, hi):")
        print(t.rename(columns={"size": "links", "sum": "true"}).to_string())


if __name__ == "__main__":
    main()
