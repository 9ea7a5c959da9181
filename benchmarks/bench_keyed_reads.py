"""Benchmark: the incremental wallets stage's keyed reads, embedded store vs Neo4j.

    python benchmarks/bench_keyed_reads.py --bitcoin DIR --embedded STORE --neo4j URI [--keys 5000]

DIR holds ``blocks.jsonl`` and ``mempool_first_seen.csv`` (a world's, or a day split's
``bitcoin`` folder); STORE is an embedded store that already holds that chain (e.g. a
full run's); the Neo4j database at URI is loaded with it if it holds no transaction (the
schema first). The same random keys are then read from both stores with the queries of
``ownergraph.daily.wallets`` (inputs and outputs of transactions, receive counts of
addresses, and a plain node read by key as the reference), best of 3. Run it on two chain
sizes to see which store's reads grow with the chain and which with the rows returned.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path


def main() -> None:
    from ownergraph.daily import wallets as w
    from ownergraph.loaders.bitcoin import load_bitcoin
    from ownergraph.stages.bitcoin import write_bitcoin
    from ownergraph.store.base import open_store

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bitcoin", type=Path, required=True)
    ap.add_argument("--embedded", required=True)
    ap.add_argument("--neo4j", required=True)
    ap.add_argument("--keys", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with open_store(args.neo4j) as neo:
        neo.init_schema()
        if not neo.query("MATCH (t:Tx) RETURN t.txid AS k LIMIT 1"):
            t = time.perf_counter()
            tables = load_bitcoin(
                [args.bitcoin / "blocks.jsonl"], mempool=[args.bitcoin / "mempool_first_seen.csv"]
            )
            write_bitcoin(neo, tables)
            print(f"chain loaded into Neo4j in {time.perf_counter() - t:.0f} s")
        txs = sorted(r["k"] for r in neo.query("MATCH (t:Tx) RETURN t.txid AS k"))
        addrs = sorted(r["k"] for r in neo.query("MATCH (a:Address) RETURN a.address AS k"))
    load = os.getloadavg()[0]
    print(f"chain: {len(txs):,} transactions, {len(addrs):,} addresses; load {load:.1f}")
    rng = random.Random(args.seed)
    ktx, kad = rng.sample(txs, args.keys), rng.sample(addrs, args.keys)
    reads = [
        (f"inputs of {args.keys:,} txs", w._INPUTS, ktx),
        (f"outputs of {args.keys:,} txs", w._OUTPUTS, ktx),
        (f"receive counts of {args.keys:,} addresses", w._RECEIVES, kad),
        (f"{args.keys:,} Tx nodes by key (reference)", w._TXS, ktx),
    ]
    best: dict[tuple[str, str], tuple[float, int]] = {}
    for name, uri in (("embedded", args.embedded), ("neo4j", args.neo4j)):
        with open_store(uri) as s:
            for what, q, keys in reads:
                times, n = [], 0
                for _ in range(3):
                    t0 = time.perf_counter()
                    n = len(s.query_df(q, {"ids": keys}))
                    times.append(time.perf_counter() - t0)
                best[name, what] = (min(times), n)
    print(f"\n{'read':<40}{'rows':>8}{'embedded s':>12}{'neo4j s':>10}{'ratio':>8}")
    for what, _, _ in reads:
        (e, n), (x, _) = best["embedded", what], best["neo4j", what]
        print(f"{what:<40}{n:>8,}{e:>12.3f}{x:>10.3f}{e / x:>8.2f}")
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
