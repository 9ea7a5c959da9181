"""Accuracy of payment matching on synthetic worlds, and what moves it.

For each world variant (``ownergraph.synth.world.generate_world``, one seed): the chain is
loaded with the real loaders, payments to the world's given processor set are matched with
``PaymentMatcher`` (the world's price table; linear rates), and the links are scored
against ``truth/payments.csv`` with ``ownergraph.evaluate``:

- ``all``: every candidate link (ambiguity sets kept whole);
- ``unambiguous``: only links with ``ambiguous == False``;
- ``1to1-greedy`` / ``1to1-optimal``: after ``resolve_one_to_one``.

Also the sweep-heuristic processor discovery (``discover_processors``, seed sweeps of at
least k = 2, 3, 5 inputs) against the given set. Variants: processor rounding 1e-5 BTC
(default) / 1e-4 / 1e-3 BTC; near-payment decoys 0 / 0.12 (default) / 0.3 per payment;
unrelated noise 1.5 (default) / 5 per payment; and, on the default world, the matcher's
window and tolerance.

Run: ``python benchmarks/bench_payments_accuracy.py [--ads 5000] [--seed 11]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ownergraph.evaluate import evaluate
from ownergraph.linking.payments import PaymentMatcher, payments_from_tables, resolve_one_to_one
from ownergraph.linking.prices import PriceTable
from ownergraph.linking.processors import discover_processors, processor_scores
from ownergraph.loaders.bitcoin import load_bitcoin, read_processors
from ownergraph.loaders.rates import RateTable
from ownergraph.synth.config import WorldConfig
from ownergraph.synth.world import generate_world

VARIANTS: dict[str, dict] = {
    "default (round 1e-5 BTC, decoys .12, noise 1.5)": {},
    "round 1e-4 BTC": {"processor_rounding_sat": 10_000},
    "round 1e-3 BTC": {"processor_rounding_sat": 100_000},
    "no decoys": {"decoy_near_payment_rate": 0.0},
    "decoys .30": {"decoy_near_payment_rate": 0.3},
    "noise 5 per payment": {"noise_tx_per_payment": 5.0},
}
SETTINGS: dict[str, dict] = {
    "window 0..60": {"window": (0, 60)},
    "window 0..300": {"window": (0, 300)},
    "tolerance 1% / 2.5%": {"tolerance": 0.01, "sponsored_tolerance": 0.025},
    "tolerance 5% / 10%": {"tolerance": 0.05, "sponsored_tolerance": 0.10},
}


def read_world(d: Path):
    ads = pd.read_json(d / "ads.jsonl", lines=True, dtype={"id": str})
    posted = pd.to_datetime(ads["posted_at"], utc=True, format="ISO8601")
    ads["posted_ts"] = (posted - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    tables = load_bitcoin(
        [d / "bitcoin/blocks.jsonl"], mempool=[d / "bitcoin/mempool_first_seen.csv"]
    )
    procs = read_processors(d / "bitcoin/processor_addresses.txt")
    rates = RateTable.from_csv(d / "rates.csv")
    prices = PriceTable.from_json(d / "prices.json")
    return ads, tables, procs, rates, prices


def scores(d: Path, links: pd.DataFrame) -> dict[str, str]:
    out = {}
    for name, df in (
        ("all", links),
        ("unambiguous", links[~links["ambiguous"]]),
        ("1to1-greedy", resolve_one_to_one(links, "greedy")),
        ("1to1-optimal", resolve_one_to_one(links, "optimal")),
    ):
        s = evaluate("payments", d, df[["txid", "ad_id"]])
        out[name] = f"{s['precision']:.3f} / {s['recall']:.3f}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rows, discovery = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, over in VARIANTS.items():
            started = time.perf_counter()
            d = Path(tmp) / f"w{len(rows)}"
            ws = generate_world(
                d, n_ads=args.ads, seed=args.seed, config=replace(WorldConfig(), **over)
            )
            ads, tables, procs, rates, prices = read_world(d)
            pay = payments_from_tables(tables.outputs, tables.txs, procs, tables.inputs)
            matcher = PaymentMatcher(price_table=prices)
            links = matcher.match(ads, pay, rates)
            disc = {}
            for k in (2, 3, 5):
                found = discover_processors(tables.inputs, tables.outputs, tables.txs, min_inputs=k)
                ps = processor_scores(found, procs)
                disc[f"discovery k={k} P / R"] = f"{ps['precision']:.3f} / {ps['recall']:.3f}"
            row = {
                "variant": name,
                "paid ads": ws.n_paid_ads,
                "links": len(links),
                "ambiguous ads": matcher.stats_.ambiguous_ads,
                **scores(d, links),
            }
            rows.append(row)
            discovery.append({"variant": name, **disc})
            print(f"{name}: done in {time.perf_counter() - started:.0f} s", flush=True)
            if not over:
                for sname, settings in SETTINGS.items():
                    m = PaymentMatcher(price_table=prices, **settings)
                    sl = m.match(ads, pay, rates)
                    rows.append(
                        {
                            "variant": f"  default world, {sname}",
                            "paid ads": ws.n_paid_ads,
                            "links": len(sl),
                            "ambiguous ads": m.stats_.ambiguous_ads,
                            **scores(d, sl),
                        }
                    )
    print(f"\n{args.ads:,} ads per world, seed {args.seed}; cells are precision / recall")
    for table in (pd.DataFrame(rows), pd.DataFrame(discovery)):
        print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
        print()


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
