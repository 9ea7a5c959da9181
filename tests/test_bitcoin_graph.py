"""Bitcoin tables and wallets in the graph, on both real stores: idempotent writes."""

from __future__ import annotations

import pandas as pd

from ownergraph.linking.wallets import WalletClusterer
from ownergraph.loaders.bitcoin import BitcoinTables, LoadSummary
from ownergraph.loaders.bitcoin_batch import typed
from ownergraph.stages.bitcoin import (
    cluster_wallets,
    pays_rows,
    read_bitcoin,
    spent_in_rows,
    write_bitcoin,
    write_wallets,
)

A, B, C, D, P, Q, S = (f"1{c}" + "z" * 32 for c in "ABCDPQS")
M, N, R, X, Y = (f"1{c}" + "m" * 32 for c in "MNRXY")


def tables() -> BitcoinTables:
    """``fund`` (coinbase) pays A, B, D; ``pay`` spends A and B, paying processor invoice P
    and fresh change C; ``sweep`` spends P twice and Q (processor) to S; ``mix`` is a
    CoinJoin of D, C and an unresolved input (JoinMarket-like: three equal outputs and two
    change outputs)."""
    txs = pd.DataFrame(
        {
            "txid": ["fund", "pay", "sweep", "mix"],
            "block_height": [1, 2, 3, 3],
            "block_ts": [100, 200, 300, 300],
            "first_seen_ts": [90, 190, 290, 295],
            "fee_sat": [None, 10, None, None],
            "n_inputs": [0, 2, 3, 3],
            "n_outputs": [3, 3, 1, 5],
            "coinbase": [True, False, False, False],
        }
    )
    inputs = pd.DataFrame(
        {
            "txid": ["pay", "pay", "sweep", "sweep", "sweep", "mix", "mix", "mix"],
            "vin": [0, 1, 0, 1, 2, 0, 1, 2],
            "prev_txid": ["fund", "fund", "pay", "x" * 64, "y" * 64, "fund", "pay", "w" * 64],
            "prev_vout": [0, 1, 0, 0, 0, 2, 1, 0],
            "address": [A, B, P, Q, P, D, C, None],
            "sat": [50, 60, 100, None, None, 70, 30, None],
            "address_source": [
                "prevout",
                "prevout",
                "prevout",
                "scriptsig",
                "scriptsig",
                "prevout",
                "prevout",
                None,
            ],
        }
    )
    outputs = pd.DataFrame(
        {
            "txid": ["fund", "fund", "fund", "pay", "pay", "pay", "sweep"] + ["mix"] * 5,
            "vout": [0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 3, 4],
            "address": [A, B, D, P, C, None, S, M, N, R, X, Y],
            "sat": [50, 60, 70, 100, 0, 0, 100, 5_000, 5_000, 5_000, 3_000, 4_000],
            "script_type": ["p2pkh"] * 5 + ["op_return"] + ["p2pkh"] * 6,
        }
    )
    outputs.loc[4, "sat"] = 30
    t, i, o = typed(txs, inputs, outputs)
    t = t.astype({"first_seen_ts": "Int64", "fee_sat": "Int64"})
    return BitcoinTables(t, i, o, LoadSummary())


def test_edge_aggregation_sums_sat_and_keeps_lowest_index():
    spent = spent_in_rows(tables().inputs).set_index(["src", "dst"])
    assert pd.isna(spent.loc[(P, "sweep"), "sat"])  # 100 + unknown = unknown
    assert spent.loc[(P, "sweep"), "vin"] == 0 and spent.loc[(B, "pay"), "sat"] == 60
    assert len(spent) == 6  # P twice in "sweep" is one edge; the unresolved input has none
    pays = pays_rows(tables().outputs)
    assert len(pays) == 11 and pays["dst"].notna().all()


def snapshot(store) -> dict:
    return {
        "counts": {k: v for k, v in store.counts().items() if v},
        "tx": store.query(
            "MATCH (t:Tx) RETURN t.txid AS txid, t.fee_sat AS fee, t.first_seen_ts AS seen, "
            "t.n_inputs AS n, t.coinjoin AS cj, t.coinjoin_kind AS kind ORDER BY txid"
        ),
        "spent": store.query(
            "MATCH (a:Address)-[e:SPENT_IN]->(t:Tx) RETURN a.address AS addr, t.txid AS txid, "
            "e.sat AS sat, e.vin AS vin, e.n AS n ORDER BY addr, txid"
        ),
        "wallet": store.query(
            "MATCH (a:Address)-[e:IN_WALLET]->(w:Wallet) RETURN a.address AS addr, w.id AS w, "
            "w.size AS size, e.method AS m, e.confidence AS c ORDER BY addr"
        ),
        "proc": store.query(
            "MATCH (a:Address) RETURN a.address AS addr, a.processor AS p ORDER BY addr"
        ),
    }


def test_write_bitcoin_and_wallets_are_idempotent(store):
    t = tables()
    written = write_bitcoin(store, t, batch_size=3, processors=[P, Q])
    assert written.counts() == {"txs": 4, "addresses": 12, "spent_in": 6, "pays": 11}
    counts = cluster_wallets(store, WalletClusterer(change_heuristic=True), batch_size=2)
    assert counts.coinjoin_txs == 1 and counts.change_links == 1
    first = snapshot(store)
    write_bitcoin(store, t, batch_size=3, processors=[P, Q])
    cluster_wallets(store, WalletClusterer(change_heuristic=True), batch_size=2)
    assert snapshot(store) == first
    c = first["counts"]
    assert (c["Tx"], c["Address"], c["SPENT_IN"], c["PAYS"]) == (4, 12, 6, 11)
    wallets = {r["addr"]: r for r in first["wallet"]}
    # A and B merged by multi-input; C joined as change; D and C kept apart (CoinJoin)
    assert wallets[A]["w"] == wallets[B]["w"] == wallets[C]["w"] == "w:" + A
    assert wallets[C]["m"] == "change" and wallets[A]["m"] == "multi-input+change"
    assert wallets[D]["w"] == "w:" + D and wallets[D]["m"] == "singleton"
    assert wallets[P]["w"] == wallets[Q]["w"] == "w:" + P  # processor sweep
    assert M not in wallets and S not in wallets  # never spent, alone: no Wallet node
    cj = {r["txid"]: r["cj"] for r in first["tx"]}
    assert cj == {"fund": False, "mix": True, "pay": False, "sweep": False}
    assert {r["txid"]: r["kind"] for r in first["tx"]}["mix"] == "joinmarket"
    procs = {r["addr"]: r["p"] for r in first["proc"]}
    assert procs[P] and procs[Q] and not procs[A]
    spent = {(r["addr"], r["txid"]): r for r in first["spent"]}
    assert spent[(P, "sweep")]["sat"] is None and spent[(P, "sweep")]["vin"] == 0
    assert spent[(P, "sweep")]["n"] == 2 and spent[(Q, "sweep")]["n"] == 1
    assert spent[(B, "pay")]["sat"] == 60 and spent[(B, "pay")]["vin"] == 1


def test_clustering_from_the_store_equals_clustering_the_tables(store):
    t = tables()
    write_bitcoin(store, t)
    inputs, outputs, txs, processors = read_bitcoin(store)
    assert processors == []
    from_store = WalletClusterer().fit(inputs, outputs, txs).labels_.sort_index()
    from_tables = WalletClusterer().fit(t.inputs, t.outputs, t.txs).labels_.sort_index()
    assert from_store.astype(str).equals(from_tables.astype(str))
    # a re-clustering without change replaces the previous wallets whole
    write_wallets(store, WalletClusterer(change_heuristic=True).fit(inputs, outputs, txs))
    write_wallets(store, WalletClusterer().fit(inputs, outputs, txs))
    rows = store.query("MATCH (a:Address)-[e:IN_WALLET]->(w:Wallet) RETURN e.method AS m")
    assert {r["m"] for r in rows} == {"multi-input", "singleton"}
