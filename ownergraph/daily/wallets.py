"""Wallets of an incremental run: re-cluster only the wallets a day's transactions can
change, with the same result as re-clustering the whole chain.

A day's transactions N can change a wallet in three ways: they spend from its addresses
(multi-input and change links join wallets), they pay its addresses, or they pay an
address an older transaction T paid, so that T's change rule ("the output receives once
in the whole chain") may now decide otherwise, which can split T's wallet or give T a
change link it lacked; only an address that had received exactly once before N can do
that. The touched addresses are the inputs of N and of every such T, and their outputs
that receive once in the whole chain (the only possible change; an output paid more
than once gains no link by being paid), and the touched wallets are their stored
wallets, whole. Every link of the new clustering
that reaches a touched address comes from a transaction that spends from a touched
address (old links stay inside their old wallet; new or changed ones come from N or a
T), so fitting the clusterer on exactly those transactions, with each output's receive
count taken over the whole chain, gives the touched addresses the wallets a whole
re-clustering gives them. Only what differs from the stored wallets is written.

The cost follows the touched wallets' transactions, not the chain: a day that touches a
large wallet (an exchange's) reads that wallet's history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from ownergraph.daily.audit import unprocessed_runs
from ownergraph.linking.wallets import WalletClusterer
from ownergraph.stages.base import StageSummary
from ownergraph.stages.bitcoin import wallet_changes, wallet_rows
from ownergraph.store.base import Store

_CHUNK = 20_000


@dataclass
class TouchedWalletsSummary(StageSummary):
    """What ``recluster_touched`` did."""

    new_txs: int = 0
    addresses_touched: int = 0
    wallets_touched: int = 0
    txs_refit: int = 0
    wallets_after: int = 0
    change_links: int = 0
    wallet_nodes_written: int = 0
    in_wallet_written: int = 0
    seconds: float = 0.0


def new_txids(store: Store) -> list[str]:
    """Transactions no pipeline run has processed yet (unstamped, or loaded by a single
    command after the last run), as ``new_ads`` finds ads."""
    ids = {r["id"] for r in store.query("MATCH (t:Tx) WHERE t.run IS NULL RETURN t.txid AS id")}
    runs = unprocessed_runs(store)
    if runs:
        q = "MATCH (t:Tx) WHERE t.run IN $runs RETURN t.txid AS id"
        ids |= {r["id"] for r in store.query(q, {"runs": runs})}
    return sorted(ids)


def _keyed(store: Store, query: str, ids: list[str], columns: list[str]) -> pd.DataFrame:
    """``query`` (``UNWIND $ids AS k ...``) over ``ids`` in chunks, as one frame."""
    parts = [
        store.query_frame(query, columns, {"ids": ids[i : i + _CHUNK]})
        for i in range(0, len(ids), _CHUNK)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


_INPUTS = (
    "UNWIND $ids AS k MATCH (a:Address)-[e:SPENT_IN]->(t:Tx {txid: k}) "
    "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vin AS vin, e.n AS count, "
    "a.processor AS processor"
)
_OUTPUTS = (
    "UNWIND $ids AS k MATCH (t:Tx {txid: k})-[e:PAYS]->(a:Address) "
    "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vout AS vout, "
    "a.processor AS processor"
)
_TXS = (
    "UNWIND $ids AS k MATCH (t:Tx {txid: k}) RETURN t.txid AS txid, t.n_inputs AS n_inputs, "
    "t.block_height AS block_height, t.coinjoin_kind AS coinjoin_kind"
)
_PAYERS = (
    "UNWIND $ids AS k MATCH (t:Tx)-[:PAYS]->(a:Address {address: k}) RETURN DISTINCT t.txid AS txid"
)
_SPENDS = (
    "UNWIND $ids AS k MATCH (a:Address {address: k})-[:SPENT_IN]->(t:Tx) "
    "RETURN DISTINCT t.txid AS txid"
)
_RECEIVES = (
    "UNWIND $ids AS k MATCH (t:Tx)-[:PAYS]->(a:Address {address: k}) "
    "RETURN a.address AS address, count(DISTINCT t.txid) AS n"
)
_WALLET_OF = (
    "UNWIND $ids AS k MATCH (a:Address {address: k})-[:IN_WALLET]->(w:Wallet) "
    "RETURN DISTINCT w.id AS id, w.size AS size, w.method AS method"
)
_MEMBERS = (
    "UNWIND $ids AS k MATCH (a:Address)-[e:IN_WALLET]->(w:Wallet {id: k}) "
    "RETURN a.address AS src, w.id AS dst, e.method AS method, e.confidence AS confidence"
)


def _addresses(*frames: pd.DataFrame) -> list[str]:
    vals = pd.concat([f["address"] for f in frames], ignore_index=True).dropna()
    return sorted(set(vals.astype(str)))


def recluster_touched(
    store: Store, clusterer: WalletClusterer, txids: list[str] | None = None
) -> TouchedWalletsSummary:
    """Re-cluster the wallets the new transactions (default: :func:`new_txids`) can
    change and write what differs (see the module notes)."""
    t0 = time.perf_counter()
    txids = new_txids(store) if txids is None else sorted(set(txids))
    if not txids:
        return TouchedWalletsSummary()
    cols_in = ["txid", "address", "sat", "vin", "count", "processor"]
    cols_out = ["txid", "address", "sat", "vout", "processor"]
    new_out = _keyed(store, _OUTPUTS, txids, cols_out)
    # an older transaction paying an address the day pays again: its change rule may now
    # decide otherwise, but only where that address had received once before (an output
    # received twice already was never a one-time change candidate)
    day_n = new_out.dropna(subset=["address"]).drop_duplicates(["txid", "address"])
    day_n = day_n.groupby("address").size()
    total = _keyed(store, _RECEIVES, list(day_n.index), ["address", "n"]).set_index("address")
    before = total["n"].astype("int64") - day_n.reindex(total.index).fillna(0).astype("int64")
    payers = _keyed(store, _PAYERS, sorted(before.index[before == 1]), ["txid"])["txid"]
    near = sorted(set(txids) | set(payers))
    # the addresses whose links can change: the inputs of those transactions, and those of
    # their outputs that receive once in the whole chain (the only change candidates);
    # an output received more than once gets no new link by being paid
    near_out = _keyed(store, _OUTPUTS, near, cols_out)
    outs = _addresses(near_out)
    once = _keyed(store, _RECEIVES, outs, ["address", "n"])
    once = once.loc[once["n"].astype("int64") == 1, "address"]
    seed = sorted(set(_addresses(_keyed(store, _INPUTS, near, cols_in))) | set(once))
    old_w = _keyed(store, _WALLET_OF, seed, ["id", "size", "method"]).drop_duplicates("id")
    old_e = _keyed(store, _MEMBERS, sorted(old_w["id"]), ["src", "dst", "method", "confidence"])
    touched = pd.Index(sorted(set(seed) | set(old_e["src"])))
    # every transaction a touched address spends in, plus the day's (coinbase ones too)
    refit = sorted(set(_keyed(store, _SPENDS, list(touched), ["txid"])["txid"]) | set(txids))
    inputs = _keyed(store, _INPUTS, refit, cols_in)
    outputs = _keyed(store, _OUTPUTS, refit, cols_out)
    txs = _keyed(store, _TXS, refit, ["txid", "n_inputs", "block_height", "coinjoin_kind"])
    txs["coinbase"] = txs["n_inputs"].fillna(-1).astype("int64") == 0
    for df, col in ((inputs, "sat"), (inputs, "count"), (outputs, "sat"), (txs, "n_inputs")):
        df[col] = df[col].astype("Int64")
    receives = _keyed(store, _RECEIVES, _addresses(outputs), ["address", "n"])
    flags = pd.concat([inputs[["address", "processor"]], outputs[["address", "processor"]]])
    processors = sorted(set(flags.loc[flags["processor"].fillna(False).astype(bool), "address"]))
    clusterer.fit(
        inputs.drop(columns="processor"),
        outputs.drop(columns="processor"),
        txs,
        processors,
        receives=receives.set_index("address")["n"].astype("int64"),
    )
    wallets, edges = wallet_rows(clusterer, addresses=touched)
    wallets, edges = wallet_changes(store, wallets, edges, old_w, old_e)
    n_w = store.upsert_nodes("Wallet", wallets) if len(wallets) else 0
    n_e = store.upsert_edges("IN_WALLET", edges) if len(edges) else 0
    return TouchedWalletsSummary(
        new_txs=len(txids),
        addresses_touched=len(touched),
        wallets_touched=len(old_w),
        txs_refit=len(refit),
        wallets_after=int(clusterer.labels_.reindex(touched).nunique()),
        change_links=int(clusterer.n_edges_["change"]),
        wallet_nodes_written=n_w,
        in_wallet_written=n_e,
        seconds=round(time.perf_counter() - t0, 3),
    )


__all__ = ["TouchedWalletsSummary", "new_txids", "recluster_touched"]
