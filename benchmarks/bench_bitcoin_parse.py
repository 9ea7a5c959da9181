"""The real block 413567: counts from our loader (embit) cross-checked against a second,
independent parser (python-bitcoinlib), both timed in this run.

Counts: transactions, inputs (coinbase input not counted), outputs, multi-input
transactions, output addresses (every one compared), input addresses (ours: from the
spent output in the block, else the scriptSig; bitcoinlib: the scriptSig's last push,
hashed as a P2PKH key or a P2SH redeem script), and multi-input clusters (wallets of more
than one address: ``WalletClusterer`` with the CoinJoin guard off vs a plain union-find
over bitcoinlib's inputs; then with the guard on).
Also reports whether the block's merkle root matches (both parsers).

    python benchmarks/bench_bitcoin_parse.py [path/to/block.raw] [--repeat 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from bitcoin.core import CBlock, CheckBlock, CheckBlockError
from bitcoin.core.script import CScript
from bitcoin.wallet import (
    CBitcoinAddress,
    CBitcoinAddressError,
    P2PKHBitcoinAddress,
    P2SHBitcoinAddress,
)
from timing import best_of as timed

from ownergraph.linking.wallets import WalletClusterer
from ownergraph.loaders.bitcoin import load_bitcoin

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitcoin" / "block413567.raw"


def ours(path: Path):
    t = load_bitcoin([path], verify_merkle=False, strict=True)
    return t.txs, t.inputs, t.outputs


def with_bitcoinlib(data: bytes):
    block = CBlock.deserialize(data)
    txs, inputs, outputs = [], [], []
    for tx in block.vtx:
        txid = tx.GetTxid()[::-1].hex()
        coinbase = tx.is_coinbase()
        txs.append((txid, 0 if coinbase else len(tx.vin)))
        for n, out in enumerate(tx.vout):
            try:
                addr = str(CBitcoinAddress.from_scriptPubKey(out.scriptPubKey))
            except CBitcoinAddressError:
                addr = None
            outputs.append((txid, n, addr, out.nValue))
        if coinbase:
            continue
        for i, vin in enumerate(tx.vin):
            items = list(CScript(vin.scriptSig))
            addr = None
            last = items[-1] if items and isinstance(items[-1], bytes) else None
            if last is not None and len(items) == 2 and len(last) in (33, 65):
                addr = str(P2PKHBitcoinAddress.from_pubkey(last, accept_invalid=True))
            elif last is not None and len(items) >= 2:
                addr = str(P2SHBitcoinAddress.from_redeemScript(CScript(last)))
            inputs.append((txid, i, addr))
    return (
        block,
        pd.DataFrame(txs, columns=["txid", "n_inputs"]),
        pd.DataFrame(inputs, columns=["txid", "vin", "address"]),
        pd.DataFrame(outputs, columns=["txid", "vout", "address", "sat"]),
    )


def union_find_clusters(inputs: pd.DataFrame) -> int:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _, g in inputs.dropna(subset=["address"]).groupby("txid"):
        addrs = list(g["address"])
        for a in addrs[1:]:
            ra, rb = find(addrs[0]), find(a)
            if ra != rb:
                parent[rb] = ra
    sizes: dict[str, int] = {}
    for a in parent:
        r = find(a)
        sizes[r] = sizes.get(r, 0) + 1
    return sum(1 for s in sizes.values() if s > 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()
    data = args.path.read_bytes()

    t_ours, (txs, inputs, outputs) = timed(lambda: ours(args.path), args.repeat)
    t_lib, (block, l_txs, l_inputs, l_outputs) = timed(lambda: with_bitcoinlib(data), args.repeat)
    plain = WalletClusterer(coinjoin_guard=False).fit(inputs, outputs, txs)
    ours_clusters = int((plain.wallets_["size"] > 1).sum())
    guarded = WalletClusterer().fit(inputs, outputs, txs)
    lib_clusters = union_find_clusters(l_inputs)
    try:
        CheckBlock(block, fCheckPoW=True, fCheckMerkleRoot=True)
        lib_merkle = "ok"
    except CheckBlockError as exc:
        lib_merkle = f"fails ({exc})"
    ours_merkle = load_bitcoin([args.path]).summary.blocks_quarantined == 0

    out_cmp = outputs.merge(l_outputs, on=["txid", "vout"], suffixes=("", "_lib"))
    same_out = (out_cmp["address"].fillna("") == out_cmp["address_lib"].fillna("")).sum()
    in_cmp = inputs.merge(l_inputs, on=["txid", "vin"], suffixes=("", "_lib"))
    same_in = (in_cmp["address"].fillna("") == in_cmp["address_lib"].fillna("")).sum()
    rows = [
        ("transactions", len(txs), len(l_txs)),
        ("inputs (no coinbase)", len(inputs), len(l_inputs)),
        ("outputs", len(outputs), len(l_outputs)),
        ("multi-input txs", int((txs["n_inputs"] > 1).sum()), int((l_txs["n_inputs"] > 1).sum())),
        (
            "output addresses",
            int(outputs["address"].notna().sum()),
            int(l_outputs["address"].notna().sum()),
        ),
        (
            "input addresses",
            int(inputs["address"].notna().sum()),
            int(l_inputs["address"].notna().sum()),
        ),
        ("multi-input clusters (>1 address)", ours_clusters, lib_clusters),
    ]
    print(f"block {args.path.name}: {len(data):,} bytes")
    print(f"{'':36} {'ours (embit)':>14} {'bitcoinlib':>12}  agree")
    for name, a, b in rows:
        print(f"{name:36} {a:>14,} {b:>12,}  {a == b}")
    print(f"output addresses equal per output: {same_out:,} / {len(out_cmp):,}")
    print(f"input addresses equal per input:   {same_in:,} / {len(in_cmp):,}")
    print(
        f"with the CoinJoin guard (ownergraph.linking.coinjoin rules): "
        f"{int(guarded.coinjoin_.sum())} txs flagged, "
        f"{int((guarded.wallets_['size'] > 1).sum())} clusters, largest "
        f"{int(guarded.wallets_['size'].max())} addresses"
    )
    print(
        f"merkle root: ours {'ok' if ours_merkle else 'mismatch (block quarantined)'}, "
        f"bitcoinlib CheckBlock {lib_merkle}"
    )
    print(
        f"time, best of {args.repeat}: ours (parse + tables + input resolution) "
        f"{t_ours * 1000:.0f} ms; bitcoinlib (parse + addresses) {t_lib * 1000:.0f} ms; "
        f"ratio bitcoinlib/ours {t_lib / t_ours:.2f}"
    )


if __name__ == "__main__":
    main()
