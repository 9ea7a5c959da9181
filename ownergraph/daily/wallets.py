"""Wallets of an incremental run: only the wallets a day's transactions change are
rebuilt, with the same result as re-clustering the whole chain.

Links only grow when transactions are added, with one exception. A day's transactions N
add multi-input and change links (which join stored wallets), and they can make an
older transaction T decide its change otherwise: T's rule needs an output that receives
once in the whole chain, so when N pays again an address that only T had paid, T may
lose its change link (its wallet may split) or gain one. So:

1. the clusterer is fitted on N, those T's, and every transaction that spends from the
   T's stored wallets (rebuilt from their history), with each output's receive count
   taken over the whole chain;
2. every other stored wallet stays whole: each address of the fit joins its stored
   wallet, and the final wallets are the connected components of the fit's links and
   those memberships;
3. only what differs is written: wallets whose id, size or method changed, and address
   links whose wallet, method or confidence changed (the other members of a stored
   wallet are read only when its id or confidence changes).

The work (reads, fit, writes) follows the day and the wallets it changes, not the
chain. The reads from a key across a relationship are written with
:func:`~ownergraph.store.base.keyed_path`, which the embedded store answers from the
keys' adjacency lists instead of scans of the chain's tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph.daily.audit import unprocessed_runs
from ownergraph.linking import wallets as wl
from ownergraph.stages.base import StageSummary
from ownergraph.store.base import Store, keyed_path


@dataclass
class TouchedWalletsSummary(StageSummary):
    """What ``recluster_touched`` did."""

    new_txs: int = 0
    older_txs_rechecked: int = 0  # their change rule may decide otherwise now
    wallets_rebuilt: int = 0  # those transactions' stored wallets, rebuilt from history
    txs_fitted: int = 0
    addresses_fitted: int = 0
    wallets_joined: int = 0  # stored wallets whose id or confidence changed
    wallets_deleted: int = 0
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


_INPUTS = keyed_path(
    "(t:Tx {txid: k})",
    "(a:Address)-[e:SPENT_IN]->(t)",
    "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vin AS vin, e.n AS count, "
    "a.processor AS processor",
    bound="e",
)
_OUTPUTS = keyed_path(
    "(t:Tx {txid: k})",
    "(t)-[e:PAYS]->(a:Address)",
    "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vout AS vout, "
    "a.processor AS processor",
    bound="e",
)
_TXS = (
    "UNWIND $ids AS k MATCH (t:Tx {txid: k}) RETURN t.txid AS txid, t.n_inputs AS n_inputs, "
    "t.block_height AS block_height, t.coinjoin_kind AS coinjoin_kind"
)
_PAYERS = keyed_path(
    "(a:Address {address: k})", "(t:Tx)-[:PAYS]->(a)", "RETURN DISTINCT t.txid AS txid", bound="t"
)
_SPENDS = keyed_path(
    "(a:Address {address: k})",
    "(a)-[:SPENT_IN]->(t:Tx)",
    "RETURN DISTINCT t.txid AS txid",
    bound="t",
)
_RECEIVES = keyed_path(
    "(a:Address {address: k})",
    "(t:Tx)-[:PAYS]->(a)",
    "RETURN a.address AS address, count(DISTINCT t.txid) AS n",
    bound="t",
)
_WALLET_OF = keyed_path(
    "(a:Address {address: k})",
    "(a)-[e:IN_WALLET]->(w:Wallet)",
    "RETURN a.address AS address, w.id AS wallet, w.size AS size, w.method AS wmethod, "
    "e.method AS method, e.confidence AS confidence",
    bound="e",
)
_MEMBERS = keyed_path(
    "(w:Wallet {id: k})",
    "(a:Address)-[e:IN_WALLET]->(w)",
    "RETURN a.address AS src, w.id AS dst, e.method AS method, e.confidence AS confidence",
    bound="e",
)


def _addresses(*frames: pd.DataFrame) -> list[str]:
    vals = pd.concat([f["address"] for f in frames], ignore_index=True).dropna()
    return sorted(set(vals.astype(str)))


_COLS_IN = ["txid", "address", "sat", "vin", "count", "processor"]
_COLS_OUT = ["txid", "address", "sat", "vout", "processor"]
_OLD_COLS = ["address", "wallet", "size", "wmethod", "method", "confidence"]
_EDGE_COLS = ["src", "dst", "method", "confidence"]


class _Reads:
    """Keyed reads of this update, each id read once: a later read of more ids reads only
    those not read before and returns the rows of all of them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.done: dict[str, tuple[set, pd.DataFrame]] = {}

    def rows(self, query: str, ids: list[str], columns: list[str], key: str) -> pd.DataFrame:
        seen, have = self.done.get(query, (set(), pd.DataFrame(columns=columns)))
        more = self.store.query_keyed(query, [i for i in ids if i not in seen], columns)
        if len(more):
            have = pd.concat([have, more], ignore_index=True) if len(have) else more
        self.done[query] = (seen | set(ids), have)
        return have[have[key].isin(set(ids))].reset_index(drop=True)


def _fit_frames(reads: _Reads, txids: list[str]) -> tuple:
    """``(inputs, outputs, txs, processors, receives)`` of these transactions for
    ``WalletClusterer.fit``; ``receives`` counts each output's payers in the whole chain."""
    inputs = reads.rows(_INPUTS, txids, _COLS_IN, "txid")
    outputs = reads.rows(_OUTPUTS, txids, _COLS_OUT, "txid")
    txs = reads.store.query_keyed(
        _TXS, txids, ["txid", "n_inputs", "block_height", "coinjoin_kind"]
    )
    txs["coinbase"] = txs["n_inputs"].fillna(-1).astype("int64") == 0
    for df, col in ((inputs, "sat"), (inputs, "count"), (outputs, "sat"), (txs, "n_inputs")):
        df[col] = df[col].astype("Int64")
    receives = reads.rows(_RECEIVES, _addresses(outputs), ["address", "n"], "address")
    flags = pd.concat([inputs[["address", "processor"]], outputs[["address", "processor"]]])
    processors = sorted(set(flags.loc[flags["processor"].fillna(False).astype(bool), "address"]))
    return (
        inputs.drop(columns="processor"),
        outputs.drop(columns="processor"),
        txs,
        processors,
        receives.set_index("address")["n"].astype("int64"),
    )


def _flags(method: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(multi-input, change) flags of method names (``wallets.METHODS``)."""
    m = method.astype(object).fillna("singleton").to_numpy()
    return np.isin(m, wl.METHODS[[1, 3]]), np.isin(m, wl.METHODS[[2, 3]])


def _older_txs(reads: _Reads, txids: list[str]) -> list[str]:
    """Older transactions whose change rule the day can change: each paid an address the
    day pays again that had received only from it."""
    out = reads.rows(_OUTPUTS, txids, _COLS_OUT, "txid").dropna(subset=["address"])
    day_n = out.drop_duplicates(["txid", "address"]).groupby("address").size()
    total = reads.rows(_RECEIVES, list(day_n.index), ["address", "n"], "address")
    total = total.set_index("address")
    before = total["n"].astype("int64") - day_n.reindex(total.index).fillna(0).astype("int64")
    payers = reads.store.query_keyed(_PAYERS, sorted(before.index[before == 1]), ["txid"])
    return sorted(set(payers["txid"]) - set(txids))


def recluster_touched(
    store: Store, clusterer: wl.WalletClusterer, txids: list[str] | None = None
) -> TouchedWalletsSummary:
    """Update the stored wallets with the new transactions (default: :func:`new_txids`)
    and write what differs (see the module notes)."""
    t0 = time.perf_counter()
    txids = new_txids(store) if txids is None else sorted(set(txids))
    if not txids:
        return TouchedWalletsSummary()
    reads = _Reads(store)
    older = _older_txs(reads, txids)
    older_in = reads.rows(_INPUTS, older, _COLS_IN, "txid")
    rebuilt_w = sorted(
        set(store.query_keyed(_WALLET_OF, _addresses(older_in), _OLD_COLS)["wallet"])
    )
    rebuilt = store.query_keyed(_MEMBERS, rebuilt_w, _EDGE_COLS)
    history = store.query_keyed(_SPENDS, sorted(set(rebuilt["src"])), ["txid"])["txid"]
    fitted = sorted(set(txids) | set(older) | set(history))
    inputs, outputs, txs, processors, receives = _fit_frames(reads, fitted)
    clusterer.fit(inputs, outputs, txs, processors, receives=receives)
    links = clusterer.links_

    # nodes: the fit's addresses (and members of rebuilt wallets it did not see), the
    # stored wallets that stay whole, the fit's wallets; edges: fit membership, and
    # stored membership of addresses whose wallet is not rebuilt
    fit_addr = links["address"].to_numpy(dtype=object)
    extra = sorted(set(rebuilt["src"]) - set(fit_addr))
    addr = pd.Index(np.concatenate([fit_addr, np.asarray(extra, dtype=object)]))
    old = store.query_keyed(_WALLET_OF, list(addr), _OLD_COLS).drop_duplicates("address")
    old = old.set_index("address").reindex(addr)
    kept = old["wallet"].notna() & ~old["wallet"].isin(rebuilt_w)
    kept_w = old[kept].drop_duplicates("wallet").set_index("wallet")
    n_a, n_w = len(addr), len(kept_w)
    fit_comp = pd.factorize(links["wallet"].to_numpy(dtype=object))[0]
    a_idx = np.arange(len(fit_addr))
    k_idx = np.flatnonzero(kept.to_numpy())
    w_code = kept_w.index.get_indexer(old["wallet"].to_numpy(dtype=object)[k_idx])
    src = np.concatenate([a_idx, k_idx])
    dst = np.concatenate([n_a + n_w + fit_comp, n_a + w_code])
    n = n_a + n_w + (int(fit_comp.max()) + 1 if len(fit_comp) else 0)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]

    # per address: flags of the fit, or'ed with its stored link's unless rebuilt
    mi, ch = np.zeros(n_a, dtype=bool), np.zeros(n_a, dtype=bool)
    fmi, fch = _flags(links["method"])
    mi[: len(fit_addr)], ch[: len(fit_addr)] = fmi, fch
    omi, och = _flags(old["method"])
    mi |= omi & kept.to_numpy()
    ch |= och & kept.to_numpy()
    spent = np.zeros(n_a, dtype=bool)
    spent[: len(fit_addr)] = links["spent"].to_numpy(dtype=bool)
    spent |= old["wallet"].notna().to_numpy() & kept.to_numpy()  # linked before: it spent
    wmi, wch = _flags(kept_w["wmethod"])
    parts = pd.DataFrame(
        {
            "comp": np.concatenate([comp[:n_a], comp[n_a : n_a + n_w]]),
            "first": np.concatenate(
                [addr.to_numpy(dtype=object), kept_w.index.str.slice(2).to_numpy(dtype=object)]
            ),
            "size": np.concatenate([~kept.to_numpy(), kept_w["size"].to_numpy(dtype=np.int64)]),
            "mi": np.concatenate([mi, wmi]),
            "ch": np.concatenate([ch, wch]),
            "linked": np.concatenate([spent, np.ones(n_w, dtype=bool)]),
        }
    )
    final = parts.groupby("comp").agg(
        first=("first", "min"), size=("size", "sum"), mi=("mi", "any"), ch=("ch", "any"),
        linked=("linked", "any"),
    )  # fmt: skip
    final["id"] = "w:" + final["first"].astype(str)
    final["method"] = wl.METHODS[final["mi"].astype(int) + 2 * final["ch"].astype(int)]
    final["confidence"] = np.where(
        final["ch"], wl.CHANGE_CONFIDENCE,
        np.where(final["mi"], wl.MULTI_INPUT_CONFIDENCE, wl.SINGLETON_CONFIDENCE),
    )  # fmt: skip
    final["linked"] = final["linked"] | (final["size"] > 1)

    # the wallets: stored ones no final wallet keeps go (with their links); new or
    # changed ones are written
    live = final[final["linked"]]
    w_rows = pd.DataFrame(
        {
            "id": live["id"].to_numpy(dtype=object),
            "size": live["size"].to_numpy(dtype=np.int64),
            "method": live["method"].to_numpy(dtype=object),
        }
    )
    rebuilt_old = old[old["wallet"].isin(rebuilt_w)].drop_duplicates("wallet")
    stored = pd.concat(
        [kept_w[["size", "wmethod"]], rebuilt_old.set_index("wallet")[["size", "wmethod"]]]
    )
    stored = stored[~stored.index.duplicated()]
    m = stored.reindex(w_rows["id"])
    same_w = (m["size"].to_numpy() == w_rows["size"].to_numpy()) & (
        m["wmethod"].to_numpy(dtype=object) == w_rows["method"].to_numpy(dtype=object)
    )
    gone = sorted((set(stored.index) | set(rebuilt_w)) - set(w_rows["id"]))

    # the fit's addresses: link each to its final wallet where that differs from the store
    a_fin = final.loc[comp[:n_a]]
    want = pd.DataFrame(
        {
            "src": addr.to_numpy(dtype=object),
            "dst": a_fin["id"].to_numpy(dtype=object),
            "method": wl.METHODS[mi.astype(int) + 2 * ch.astype(int)],
            "confidence": a_fin["confidence"].to_numpy(dtype=float),
        }
    )
    linked = a_fin["linked"].to_numpy(dtype=bool)
    had = old["wallet"].to_numpy(dtype=object)
    has_old = old["wallet"].notna().to_numpy() & ~old["wallet"].isin(gone).to_numpy()
    same_a = (
        has_old
        & (had == want["dst"].to_numpy(dtype=object))
        & (old["method"].to_numpy(dtype=object) == want["method"].to_numpy(dtype=object))
        & (old["confidence"].to_numpy(dtype=float) == want["confidence"].to_numpy())
    )
    moved = addr[has_old & (~linked | (had != want["dst"].to_numpy(dtype=object)))]
    edges = [want[linked & ~same_a]]

    # the other members of a stored wallet kept whole: rewritten only when the wallet's
    # id (it joined a wallet with a smaller address) or confidence changed
    k_fin = final.loc[comp[n_a : n_a + n_w]]
    redo = kept_w.index[
        (k_fin["id"].to_numpy(dtype=object) != kept_w.index.to_numpy(dtype=object))
        | (k_fin["confidence"].to_numpy(dtype=float) != kept_w["confidence"].to_numpy(dtype=float))
    ]
    members = store.query_keyed(_MEMBERS, list(redo), _EDGE_COLS)
    members = members[~members["src"].isin(addr)]
    m_fin = final.loc[comp[n_a + kept_w.index.get_indexer(members["dst"])]]
    edges.append(
        pd.DataFrame(
            {
                "src": members["src"].to_numpy(dtype=object),
                "dst": m_fin["id"].to_numpy(dtype=object),
                "method": members["method"].to_numpy(dtype=object),
                "confidence": m_fin["confidence"].to_numpy(dtype=float),
            }
        )
    )
    edge_rows = pd.concat(edges, ignore_index=True)
    store.delete_keys("Wallet", gone)  # with their links
    store.delete_edges_from("IN_WALLET", list(moved))
    w_write = w_rows[~same_w].reset_index(drop=True)
    n_w_written = store.upsert_nodes("Wallet", w_write) if len(w_write) else 0
    n_e_written = store.upsert_edges("IN_WALLET", edge_rows) if len(edge_rows) else 0
    return TouchedWalletsSummary(
        new_txs=len(txids),
        older_txs_rechecked=len(older),
        wallets_rebuilt=len(rebuilt_w),
        txs_fitted=len(fitted),
        addresses_fitted=len(fit_addr),
        wallets_joined=int(len(redo)),
        wallets_deleted=len(gone),
        wallet_nodes_written=n_w_written,
        in_wallet_written=n_e_written,
        seconds=round(time.perf_counter() - t0, 3),
    )


__all__ = ["TouchedWalletsSummary", "new_txids", "recluster_touched"]
