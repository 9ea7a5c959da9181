"""CoinJoin detection and wrong wallet merges, measured on real data (../shared/data).

1. Real mainnet CoinJoins (Dumplings scanner output): the share of each file flagged,
   by kind. ``*CoinJoins.txt`` must be flagged; ``*PostMixTxs``/``*Tx0s`` are one
   wallet's spends (a flag there is a false alarm unless the line is itself a mix).
   JoinMarket's file ("OtherCoinJoins") also holds equal-dust token transactions
   (k = 2 outputs of 330-555 sat); the share is given for its k >= 3, >= 1,000 sat part.
2. Real blocks 413567 (2016) and 702861 (2021): every flagged transaction with its
   structure, to be read one by one; and the change heuristic from the library (tables)
   and from the graph (the CLI's path), which must agree.
3. Emulated CoinJoins with the true owner of every coin (JoinMarket, Wasabi 2): wallets
   that merge two or more owners and wrongly merged address pairs, with and without the
   CoinJoin guard and the change heuristic.

Run: ``python benchmarks/bench_coinjoin_real.py [--data ../shared/data]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from ownergraph.linking.coinjoin import coinjoin_features, detect_coinjoins
from ownergraph.linking.wallets import WalletClusterer
from ownergraph.loaders.bitcoin import load_bitcoin
from ownergraph.loaders.bitcoin_dumplings import dumplings_tables, iter_dumplings_zip
from ownergraph.loaders.bitcoin_emulation import iter_emulation_runs
from ownergraph.stages.bitcoin import cluster_wallets, write_bitcoin
from ownergraph.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = ("block413567.raw", "block702861_segwit.raw")
COLS = ["k", "v", "others", "n_in", "d_in", "n_values", "kind"]


def real_coinjoins(folder: Path) -> pd.DataFrame:
    rows = []
    for z in sorted(folder.glob("dumplings__*.zip")):
        for name, lines in iter_dumplings_zip(z):
            txs, inputs, outputs = dumplings_tables(lines, name)
            kind = detect_coinjoins(inputs, outputs, txs).reindex(txs["txid"])
            row = {"set": z.stem.split("__")[1], "file": name.rsplit("/", 1)[-1]}
            row |= {"txs": len(txs), "flagged": int((kind != "").sum())}
            row["share"] = row["flagged"] / max(row["txs"], 1)
            row["kinds"] = dict(kind[kind != ""].value_counts())
            rows.append(row)
            if name.endswith("OtherCoinJoins.txt"):
                f = coinjoin_features(inputs, outputs, txs)
                core = f[(f["k"] >= 3) & (f["v"] >= 1000)].index
                k = kind.reindex(core)
                rows.append(
                    row
                    | {
                        "file": "OtherCoinJoins.txt, k>=3 >=1000 sat",
                        "txs": len(core),
                        "flagged": int((k != "").sum()),
                        "share": float((k != "").mean()),
                        "kinds": dict(k[k != ""].value_counts()),
                    }
                )
    return pd.DataFrame(rows)


def owner_errors(labels: pd.Series, owners: pd.Series) -> tuple[int, int, int]:
    """(wallets holding >= 2 owners, wrongly merged pairs, rightly merged pairs)."""
    lab = labels.reindex(owners.index).dropna()
    per = pd.DataFrame({"w": lab.to_numpy(), "o": owners.reindex(lab.index).to_numpy()})
    cell = per.groupby(["w", "o"]).size()
    tot = per.groupby("w").size()
    right = int((cell * (cell - 1) // 2).sum())
    wrong = int((tot * (tot - 1) // 2).sum()) - right
    return int((per.groupby("w")["o"].nunique() > 1).sum()), wrong, right


def emulations(folder: Path) -> pd.DataFrame:
    rows = []
    for z in sorted(folder.glob("emul__*.zip")):
        with tempfile.TemporaryDirectory() as tmp:
            for run in iter_emulation_runs(z, tmp):
                t = load_bitcoin(run.blocks)
                owner_of = t.inputs["address"].map(run.owners)
                n_own = t.inputs.assign(o=owner_of).groupby("txid")["o"].nunique()
                mixes = set(n_own.index[n_own >= 2])
                for change in (False, True):
                    for guard in (True, False):
                        c = WalletClusterer(change_heuristic=change, coinjoin_guard=guard)
                        c.fit(t.inputs, t.outputs, t.txs)
                        flagged = set(c.coinjoin_kind_.index[c.coinjoin_kind_ != ""])
                        bad, wrong, right = owner_errors(c.labels_, run.owners)
                        rows.append(
                            {
                                "run": f"{z.stem.split('__')[1][:12]}/{run.name[:16]}",
                                "change": change,
                                "guard": guard,
                                "multi-owner txs": len(mixes),
                                "flagged of them": len(flagged & mixes),
                                "flagged one-owner": len(flagged - mixes),
                                "wallets merging owners": bad,
                                "wrong pairs": wrong,
                                "right pairs": right,
                            }
                        )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    btc = Path(args.data) / "bitcoin"
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 80)
    print("1. Real CoinJoins (Dumplings): share flagged\n")
    print(real_coinjoins(btc / "coinjoins").to_string(index=False))
    print("\n2. Real blocks: what is flagged, and change links library vs graph\n")
    for name in BLOCKS:
        t = load_bitcoin([btc / name], verify_merkle=False)
        lib = WalletClusterer(change_heuristic=True).fit(t.inputs, t.outputs, t.txs)
        f = coinjoin_features(t.inputs, t.outputs, t.txs)
        f["kind"] = lib.coinjoin_kind_.reindex(f.index)
        print(f"{name}: {len(t.txs):,} txs, {int((f['kind'] != '').sum())} flagged")
        print(f[f["kind"] != ""][COLS].to_string())
        with tempfile.TemporaryDirectory() as tmp:
            store = EmbeddedStore(Path(tmp) / "g.lbug")
            store.init_schema()
            write_bitcoin(store, t)
            graph = WalletClusterer(change_heuristic=True)
            cluster_wallets(store, graph)
            store.close()
        same = lib.labels_.astype(str).sort_index().equals(graph.labels_.astype(str).sort_index())
        print(
            f"change links: library {lib.n_edges_['change']}, graph {graph.n_edges_['change']}; "
            f"same wallets: {same}\n"
        )
    print("3. Emulated CoinJoins with true owners: wrong merges\n")
    print(emulations(btc / "coinjoins").to_string(index=False))


if __name__ == "__main__":
    main()
