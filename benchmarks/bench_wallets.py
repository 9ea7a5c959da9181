"""Wallet clustering at scale: WalletClusterer on N synthetic transactions (default 10M),
beside a naive pure-Python union-find on a 100k-transaction sample (same data, same
answer checked), both measured in this run.

Synthetic chain (numpy, seeded): each transaction belongs to one entity and spends 1-200
of that entity's addresses (55% one input, 28% two, 12% 3-5, 4.9% 6-20, 0.1% 21-200:
mean 2.3, like mainnet); it pays
an address of another entity and a fresh change address; 0.1% are CoinJoin-like (5
inputs from 5 entities, 5 equal outputs). Addresses and txids are integers (the clusterer
factorizes whatever it gets; strings cost more in ``pd.factorize``).

    python benchmarks/bench_wallets.py            # 10M transactions
    python benchmarks/bench_wallets.py --n 1000000 --change
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from ownergraph.linking.wallets import WalletClusterer

POOL = 16  # addresses per entity


def synthetic(n_tx: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    u = rng.random(n_tx)
    k = np.select(
        [u < 0.55, u < 0.83, u < 0.95, u < 0.999],
        [1, 2, rng.integers(3, 6, n_tx), rng.integers(6, 21, n_tx)],
        rng.integers(21, 201, n_tx),
    ).astype(np.int64)
    coinjoin = rng.random(n_tx) < 0.001
    k[coinjoin] = 5
    n_ent = max(n_tx // 4, 1)
    ent = rng.integers(0, n_ent, n_tx)
    in_tx = np.repeat(np.arange(n_tx), k)
    owner = ent[in_tx]
    cj_rows = coinjoin[in_tx]
    owner[cj_rows] = rng.integers(0, n_ent, int(cj_rows.sum()))  # mixes: 5 different owners
    in_addr = owner * POOL + rng.integers(0, POOL, len(in_tx))
    inputs = pd.DataFrame({"txid": in_tx, "address": in_addr})

    fresh0 = n_ent * POOL
    pay_addr = rng.integers(0, n_ent, n_tx) * POOL + rng.integers(0, POOL, n_tx)
    out_tx = np.concatenate([np.arange(n_tx), np.arange(n_tx)])
    out_addr = np.concatenate([pay_addr, fresh0 + np.arange(n_tx)])
    out_sat = np.concatenate([rng.integers(10_000, 10**8, n_tx), rng.integers(1_000, 10**7, n_tx)])
    cj = np.flatnonzero(coinjoin)
    extra_tx = np.repeat(cj, 3)  # three more equal outputs per mix (5 in all)
    out_tx = np.concatenate([out_tx, extra_tx])
    out_addr = np.concatenate([out_addr, fresh0 + n_tx + np.arange(len(extra_tx))])
    out_sat = np.concatenate([out_sat, np.full(len(extra_tx), 1_000_000)])
    out_sat[np.r_[cj, n_tx + cj]] = 1_000_000
    outputs = pd.DataFrame({"txid": out_tx, "address": out_addr, "sat": out_sat})
    txs = pd.DataFrame({"txid": np.arange(n_tx), "n_inputs": k, "coinbase": False})
    return inputs, outputs, txs


def naive_union_find(inputs: pd.DataFrame, outputs: pd.DataFrame, k: int) -> dict[int, int]:
    """Textbook pure-Python union-find over the multi-input rule (CoinJoin skipped)."""
    by_tx: dict[int, list[int]] = {}
    for tx, a in zip(inputs["txid"].tolist(), inputs["address"].tolist(), strict=True):
        by_tx.setdefault(tx, []).append(a)
    values: dict[int, dict[int, int]] = {}
    for tx, sat in zip(outputs["txid"].tolist(), outputs["sat"].tolist(), strict=True):
        d = values.setdefault(tx, {})
        d[sat] = d.get(sat, 0) + 1
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a in outputs["address"].tolist():
        find(a)
    for tx, addrs in by_tx.items():
        if len(addrs) >= k and max(values.get(tx, {0: 0}).values()) >= k:
            for a in addrs:
                find(a)
            continue
        first = find(addrs[0])
        for a in addrs[1:]:
            r = find(a)
            if r != first:
                lo, hi = min(r, first), max(r, first)
                parent[hi] = lo
                first = lo
    return {a: find(a) for a in parent}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="transactions (default 10M)")
    ap.add_argument("--sample", type=int, default=100_000, help="naive comparison sample")
    ap.add_argument("--change", action="store_true", help="also run the change heuristic")
    args = ap.parse_args()

    t0 = time.perf_counter()
    inputs, outputs, txs = synthetic(args.n)
    gen = time.perf_counter() - t0
    print(
        f"synthetic chain: {args.n:,} txs, {len(inputs):,} inputs, {len(outputs):,} outputs "
        f"(generated in {gen:.1f} s)"
    )
    t0, c0 = time.perf_counter(), time.process_time()
    c = WalletClusterer(change_heuristic=args.change).fit(inputs, outputs, txs)
    big, big_cpu = time.perf_counter() - t0, time.process_time() - c0
    w = c.wallets_
    print(
        f"WalletClusterer(change={args.change}).fit on {args.n:,} txs: {big:.1f} s wall, "
        f"{big_cpu:.1f} s CPU, load average {os.getloadavg()[0]:.1f} "
        f"({args.n / big:,.0f} tx/s); {len(w):,} wallets, {(w['size'] > 1).sum():,} with >1 "
        f"address, largest {w['size'].max():,}; coinjoin txs {int(c.coinjoin_.sum()):,}; "
        f"links {c.n_edges_}"
    )
    del c, inputs, outputs, txs

    inputs, outputs, txs = synthetic(args.sample, seed=11)
    t0 = time.perf_counter()
    small = WalletClusterer().fit(inputs, outputs, txs)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = naive_union_find(inputs, outputs, small.coinjoin_min_equal_outputs)
    slow = time.perf_counter() - t0
    same = all(small.labels_[a] == f"w:{root}" for a, root in naive.items())
    print(
        f"sample {args.sample:,} txs: vectorised {fast:.3f} s, naive pure-Python union-find "
        f"{slow:.3f} s -> ratio {slow / fast:.1f}x; same partition: {same}"
    )
    print(
        f"naive at {args.n:,} txs, extrapolated linearly (not measured): "
        f"~{slow * args.n / args.sample:.0f} s vs {big:.1f} s measured"
    )


if __name__ == "__main__":
    main()
