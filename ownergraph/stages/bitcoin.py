"""Bitcoin tables <-> the graph: Tx, Address, Wallet nodes; SPENT_IN, PAYS, IN_WALLET edges.

``write_bitcoin`` writes what the loaders produced (idempotent: the same tables give
the same graph on a re-run); ``read_bitcoin`` reads inputs/outputs/txs back for
clustering; ``write_wallets`` replaces the Wallet nodes and IN_WALLET edges with a
``WalletClusterer``'s result.

Edge aggregation: one SPENT_IN per (address, tx) and one PAYS per (tx, address). When a
transaction spends from (or pays) one address several times, ``sat`` is the sum (null
if any part is unknown) and ``vin``/``vout`` the lowest index; SPENT_IN's ``n`` is how
many inputs it stands for, so ``read_bitcoin`` gives back the multiset of inputs. Because
PAYS sums outputs, the CoinJoin kind of each transaction is decided at load, on the raw
outputs (``ownergraph.linking.coinjoin``), and stored as ``Tx.coinjoin`` /
``Tx.coinjoin_kind``.

Processor flags: with ``processors`` given, every written address gets
``processor`` true/false; without, the flag is left as it is (null on new addresses).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ownergraph import defaults
from ownergraph.linking.coinjoin import DEFAULT_MIN_EQUAL, detect_coinjoins
from ownergraph.linking.wallets import WalletClusterer
from ownergraph.loaders.bitcoin import BitcoinTables
from ownergraph.stages.base import Progress, StageSummary
from ownergraph.store.base import Store

DEFAULT_BATCH = defaults.CHAIN_WRITE_BATCH  # rows per upsert call (0: a whole table)
TX_PROPS = (
    "txid",
    "first_seen_ts",
    "block_ts",
    "block_height",
    "fee_sat",
    "n_inputs",
    "n_outputs",
)


def _aggregate(df: pd.DataFrame, keys: list[str], index: str) -> pd.DataFrame:
    """One row per ``keys``: ``sat`` summed (null if any part is null), lowest ``index``,
    ``n`` rows."""
    df = df.assign(_null=df["sat"].isna())
    g = df.groupby(keys, sort=False)
    out = g.agg(
        sat=("sat", "sum"), _null=("_null", "any"), idx=(index, "min"), n=(index, "size")
    ).reset_index()
    out["sat"] = out["sat"].astype("Int64").mask(out["_null"].astype(bool))
    return out.rename(columns={"idx": index})


def spent_in_rows(inputs: pd.DataFrame) -> pd.DataFrame:
    """SPENT_IN rows (src address, dst txid, sat, vin, n) from the ``inputs`` table."""
    out = _aggregate(inputs[inputs["address"].notna()], ["address", "txid"], "vin")
    out = out.rename(columns={"address": "src", "txid": "dst"})
    return out[["src", "dst", "sat", "vin", "n"]]


def pays_rows(outputs: pd.DataFrame) -> pd.DataFrame:
    """PAYS rows (src txid, dst address, sat, vout) from the ``outputs`` table."""
    out = _aggregate(outputs[outputs["address"].notna()], ["txid", "address"], "vout")
    return out.rename(columns={"txid": "src", "address": "dst"})[["src", "dst", "sat", "vout"]]


def _distinct_sorted(*columns: pd.Series) -> pd.Index:
    """The distinct strings of ``columns``, sorted (through Arrow: ~3x faster than
    ``Index.union``, which also keeps duplicates)."""
    both = pa.chunked_array([pa.array(c, pa.string()) for c in columns], pa.string())
    unique = pc.unique(both)
    return pd.Index(pd.array(pc.take(unique, pc.sort_indices(unique)), dtype="string"))


def _chunks(df: pd.DataFrame, size: int) -> Iterable[pd.DataFrame]:
    """Parts of ``size`` rows; ``size <= 0``: the whole frame (one bulk COPY on a fresh
    embedded store; the stores batch their own writes)."""
    if size <= 0:
        yield df
        return
    for i in range(0, len(df), size):
        yield df.iloc[i : i + size]


def _upsert(
    store: Store, kind: str, name: str, df: pd.DataFrame, size: int, progress: Progress | None
) -> int:
    n = 0
    for part in _chunks(df, size):
        if kind == "nodes":
            n += store.upsert_nodes(name, part)
        else:
            n += store.upsert_edges(name, part)
        if progress is not None:
            progress(name, n, len(df))
    return n


@dataclass
class BitcoinSummary(StageSummary):
    """Rows ``write_bitcoin`` wrote, per label / relationship type."""

    txs: int = 0
    addresses: int = 0
    spent_in: int = 0
    pays: int = 0


def write_bitcoin(
    store: Store,
    tables: BitcoinTables,
    batch_size: int = DEFAULT_BATCH,
    processors: Iterable[str] | None = None,
    progress: Progress | None = None,
    coinjoin_min_equal: int = DEFAULT_MIN_EQUAL,
) -> BitcoinSummary:
    """Write Tx (with its CoinJoin kind), Address, SPENT_IN and PAYS; returns rows written
    per label/type."""
    txs = tables.txs[list(TX_PROPS)]
    kinds = detect_coinjoins(tables.inputs, tables.outputs, tables.txs, coinjoin_min_equal)
    kind = txs["txid"].map(kinds).fillna("").astype("string")
    txs = txs.assign(coinjoin=(kind != "").to_numpy(), coinjoin_kind=kind.to_numpy())
    spent = spent_in_rows(tables.inputs)
    pays = pays_rows(tables.outputs)
    addresses = _distinct_sorted(spent["src"], pays["dst"])
    addr = pd.DataFrame({"address": addresses})
    if processors is not None:
        proc = pd.Index(list(processors), dtype="string")
        extra = proc.difference(addresses)
        addr = pd.concat([addr, pd.DataFrame({"address": extra})], ignore_index=True)
        addr["processor"] = addr["address"].isin(proc)
    with store.bulk():
        if batch_size <= 0:  # whole tables: each Tx with its edges (one pass in Neo4j)
            addresses = _upsert(store, "nodes", "Address", addr, batch_size, progress)
            n = store.upsert_nodes_with_edges("Tx", txs, {"SPENT_IN": spent, "PAYS": pays})
            if progress is not None:
                for name in ("Tx", "SPENT_IN", "PAYS"):
                    progress(name, n[name], n[name])
            return BitcoinSummary(
                txs=n["Tx"], addresses=addresses, spent_in=n["SPENT_IN"], pays=n["PAYS"]
            )
        return BitcoinSummary(
            txs=_upsert(store, "nodes", "Tx", txs, batch_size, progress),
            addresses=_upsert(store, "nodes", "Address", addr, batch_size, progress),
            spent_in=_upsert(store, "edges", "SPENT_IN", spent, batch_size, progress),
            pays=_upsert(store, "edges", "PAYS", pays, batch_size, progress),
        )


def read_bitcoin(store: Store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """``(inputs, outputs, txs, processors)`` from the graph, for ``WalletClusterer.fit``.

    Inputs come from SPENT_IN (one row per address and tx, ``count`` the inputs it stands
    for), outputs from PAYS, the CoinJoin kind from Tx; unresolved inputs are not in the
    graph, so ``txs.n_inputs`` tells the clusterer they exist.
    """
    inputs = store.query_df(
        "MATCH (a:Address)-[e:SPENT_IN]->(t:Tx) "
        "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vin AS vin, e.n AS count"
    )
    outputs = store.query_df(
        "MATCH (t:Tx)-[e:PAYS]->(a:Address) "
        "RETURN t.txid AS txid, a.address AS address, e.sat AS sat, e.vout AS vout"
    )
    txs = store.query_df(
        "MATCH (t:Tx) RETURN t.txid AS txid, t.n_inputs AS n_inputs, t.block_height AS h, "
        "t.coinjoin_kind AS coinjoin_kind"
    )
    procs = store.query("MATCH (a:Address) WHERE a.processor = true RETURN a.address AS a")
    inputs = inputs.reindex(columns=["txid", "address", "sat", "vin", "count"])
    outputs = outputs.reindex(columns=["txid", "address", "sat", "vout"])
    txs = txs.reindex(columns=["txid", "n_inputs", "h", "coinjoin_kind"])
    txs = txs.rename(columns={"h": "block_height"})
    # a coinbase transaction has no inputs at all in the graph
    txs["coinbase"] = txs["n_inputs"].fillna(-1).astype("int64") == 0
    for df, col in ((inputs, "sat"), (inputs, "count"), (outputs, "sat"), (txs, "n_inputs")):
        df[col] = df[col].astype("Int64")
    return inputs, outputs, txs, sorted(r["a"] for r in procs)


def write_wallets(
    store: Store,
    clusterer: WalletClusterer,
    batch_size: int = DEFAULT_BATCH,
    spenders_only: bool = True,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Replace Wallet nodes and IN_WALLET edges with a fitted clustering (``Tx.coinjoin``
    is a fact about the transaction, written at load).

    ``spenders_only``: link an address when it spent (so every payer has a wallet) or its
    wallet has several addresses; a never-spending singleton gets no Wallet node.
    Returns the rows written. (An incremental run updates the stored wallets instead:
    :mod:`ownergraph.daily.wallets`.)
    """
    links = clusterer.links_
    if spenders_only:
        links = links[links["spent"] | (links["size"] > 1)]
    links = links.astype({"wallet": "string", "method": "string"})
    # object arrays: pandas' isin on Arrow strings converts value by value (3 s at 1M)
    linked = pd.Index(links["wallet"].to_numpy(dtype=object)).unique()
    wallets = clusterer.wallets_[
        pd.Index(clusterer.wallets_["id"].to_numpy(dtype=object)).isin(linked)
    ]
    wallets = wallets[["id", "size", "method"]].astype({"id": object, "method": object})
    edges = pd.DataFrame(
        {
            "src": links["address"].to_numpy(dtype=object),
            "dst": links["wallet"].to_numpy(dtype=object),
            "method": links["method"].to_numpy(dtype=object),
            "confidence": links["confidence"].to_numpy(),
        }
    )
    store.delete_nodes("Wallet")  # a re-clustering replaces the derived result whole
    return {
        "Wallet": _upsert(store, "nodes", "Wallet", wallets, batch_size, progress),
        "IN_WALLET": _upsert(store, "edges", "IN_WALLET", edges, batch_size, progress),
    }


@dataclass
class WalletsSummary(StageSummary):
    """What ``cluster_wallets`` did."""

    addresses: int = 0
    processor_addresses: int = 0
    wallets: int = 0
    wallets_several: int = 0  # wallets with more than one address
    largest_wallet: int = 0
    multi_input_links: int = 0
    change_links: int = 0
    coinjoin_txs: int = 0
    coinjoin_merged: int = 0  # CoinJoin txs merged (only with the guard off)
    wallet_nodes_written: int = 0
    in_wallet_written: int = 0


def cluster_wallets(
    store: Store,
    clusterer: WalletClusterer,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> WalletsSummary:
    """Read the chain data back from ``store``, fit ``clusterer``, write the wallets.

    Returns counts for a summary (the fitted clusterer holds the details).
    """
    inputs, outputs, txs, processors = read_bitcoin(store)
    clusterer.fit(inputs, outputs, txs, processors)
    written = write_wallets(store, clusterer, batch_size, progress=progress)
    w = clusterer.wallets_
    coinjoins = int((clusterer.coinjoin_kind_ != "").sum())
    return WalletsSummary(
        addresses=len(clusterer.labels_),
        processor_addresses=len(processors),
        wallets=len(w),
        wallets_several=int((w["size"] > 1).sum()),
        largest_wallet=int(w["size"].max()) if len(w) else 0,
        multi_input_links=int(clusterer.n_edges_["multi-input"]),
        change_links=int(clusterer.n_edges_["change"]),
        coinjoin_txs=coinjoins,
        coinjoin_merged=0 if clusterer.coinjoin_guard else coinjoins,
        wallet_nodes_written=written["Wallet"],
        in_wallet_written=written["IN_WALLET"],
    )
