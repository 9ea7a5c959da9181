"""Benchmark: the incremental wallets stage's keyed reads, embedded store vs Neo4j, and
the reads written as one pattern (the way before ``keyed_path``) beside them.

    python benchmarks/bench_keyed_reads.py --bitcoin DIR --embedded STORE [--neo4j URI]

DIR holds ``blocks.jsonl`` and ``mempool_first_seen.csv`` (a world's, or a day split's
``bitcoin`` folder); STORE is an embedded store that already holds that chain (e.g. a
full run's); the Neo4j database at URI is loaded with it if it holds no transaction (the
schema first). The same random keys are then read from both stores with the queries of
``ownergraph.daily.wallets`` (inputs and outputs of transactions, receive counts of
addresses, and a plain node read by key as the reference), best of 3, and again written
as one pattern, ``UNWIND $ids AS k MATCH (a)-[e]->(t {txid: k})``, which LadybugDB plans
as scans of the relationship table and both node tables (``store.base.keyed_path``). Run
it on two chain sizes to see which reads grow with the chain and which with the rows
returned. Without ``--neo4j`` only the embedded store is read.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

# the same reads as one pattern: how ownergraph wrote them before keyed_path (the reference)
ONE_PATTERN = {
    "inputs": "UNWIND $ids AS k MATCH (a:Address)-[e:SPENT_IN]->(t:Tx {txid: k}) "
    "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vin AS vin, e.n AS count, "
    "a.processor AS processor",
    "outputs": "UNWIND $ids AS k MATCH (t:Tx {txid: k})-[e:PAYS]->(a:Address) "
    "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vout AS vout, "
    "a.processor AS processor",
    "receives": "UNWIND $ids AS k MATCH (t:Tx)-[:PAYS]->(a:Address {address: k}) "
    "RETURN a.address AS address, count(DISTINCT t.txid) AS n",
}


def main() -> None:
    from ownergraph.daily import wallets as w
    from ownergraph.loaders.bitcoin import load_bitcoin
    from ownergraph.stages.bitcoin import write_bitcoin
    from ownergraph.store.base import open_store

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bitcoin", type=Path, required=True)
    ap.add_argument("--embedded", required=True)
    ap.add_argument("--neo4j", default=None)
    ap.add_argument("--keys", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    stores = [("embedded", args.embedded)] + ([("neo4j", args.neo4j)] if args.neo4j else [])
    if args.neo4j:
        with open_store(args.neo4j) as neo:
            neo.init_schema()
            if not neo.query("MATCH (t:Tx) RETURN t.txid AS k LIMIT 1"):
                t = time.perf_counter()
                tables = load_bitcoin(
                    [args.bitcoin / "blocks.jsonl"],
                    mempool=[args.bitcoin / "mempool_first_seen.csv"],
                )
                write_bitcoin(neo, tables)
                print(f"chain loaded into Neo4j in {time.perf_counter() - t:.0f} s")
    with open_store(args.embedded) as s:
        txs = sorted(s.query_df("MATCH (t:Tx) RETURN t.txid AS k")["k"])
        addrs = sorted(s.query_df("MATCH (a:Address) RETURN a.address AS k")["k"])
    load = os.getloadavg()[0]
    print(f"chain: {len(txs):,} transactions, {len(addrs):,} addresses; load {load:.1f}")
    rng = random.Random(args.seed)
    ktx, kad = rng.sample(txs, args.keys), rng.sample(addrs, args.keys)
    reads = [
        (f"inputs of {args.keys:,} txs", w._INPUTS, ONE_PATTERN["inputs"], ktx),
        (f"outputs of {args.keys:,} txs", w._OUTPUTS, ONE_PATTERN["outputs"], ktx),
        (f"receive counts of {args.keys:,} addresses", w._RECEIVES, ONE_PATTERN["receives"], kad),
        (f"{args.keys:,} Tx nodes by key (reference)", w._TXS, None, ktx),
    ]
    best: dict[tuple[str, str, str], tuple[float, int]] = {}
    for name, uri in stores:
        with open_store(uri) as s:
            for what, q, one, keys in reads:
                for form, cypher in (("keyed", q), ("one", one)):
                    if cypher is None:
                        continue
                    times, n = [], 0
                    for _ in range(3):
                        t0 = time.perf_counter()
                        n = len(s.query_df(cypher, {"ids": keys}))
                        times.append(time.perf_counter() - t0)
                    best[name, what, form] = (min(times), n)
    head = f"{'read':<40}{'rows':>8}"
    for name, _ in stores:
        head += f"{name + ' s':>13}{'one pattern':>13}{'ratio':>7}"
    print("\n" + head + (f"{'embedded/neo4j':>16}" if args.neo4j else ""))
    for what, *_ in reads:
        line = f"{what:<40}{best['embedded', what, 'keyed'][1]:>8,}"
        for name, _ in stores:
            k = best[name, what, "keyed"][0]
            o = best.get((name, what, "one"), (float("nan"), 0))[0]
            line += f"{k:>13.3f}{o:>13.3f}{o / k:>7.1f}"
        if args.neo4j:
            line += f"{best['embedded', what, 'keyed'][0] / best['neo4j', what, 'keyed'][0]:>16.2f}"
        print(line)
    print("ratio: one pattern / keyed_path (the way before / now)")
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
