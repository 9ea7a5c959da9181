"""Wallet clustering: group Bitcoin addresses that one entity controls.

``WalletClusterer(...).fit(inputs, outputs, txs)`` links addresses with:

1. **Multi-input** (common-input ownership; Nakamoto 2008, Meiklejohn et al. 2013): all
   resolved input addresses of a transaction belong to one wallet. Never applied to a
   CoinJoin, and never across the payment-processor boundary: a transaction's processor
   input addresses are merged with each other (a processor sweep makes the processor one
   wallet), its other input addresses with each other, never the two together.
2. **Change address** (optional, off by default; the conservative one-time-change rule of
   Meiklejohn et al., "A Fistful of Bitcoins", IMC 2013, with the address-type check of
   Möser & Narayanan, "Resurrecting Address Clustering in Bitcoin", FC 2022). An output
   address *c* of transaction *t* is its change, joined to *t*'s input wallet, when:
   *t* is neither coinbase nor CoinJoin and all its inputs are resolved; *t* pays at least
   two distinct addresses; no output address of *t* is also one of its input addresses
   (no self-change); *c* receives exactly once in the whole data (a fresh one-time
   address) and is the only such output of *t*; *c* is not a processor address; when
   ``change_same_type``, *c* has the same address type as every input of *t*; when
   ``change_round_sat`` is set, *c*'s value is not a multiple of it while every other
   output's value is (payments priced in USD are not round in BTC, so this is off by
   default). "Receives once in the data" can be wrong when the data is a window of the
   chain: that is why the rule is optional and its links carry a lower confidence.
3. **CoinJoin guard** (``ownergraph.linking.coinjoin``): a transaction whose structure
   is that of a real CoinJoin implementation (Whirlpool, Wasabi 1 and 2, JoinMarket;
   equal outputs, as many distinct input owners, the implementation's fingerprint) is
   flagged; its inputs are not merged and its outputs are never change. One wallet's
   batch payout (many equal outputs, one change) is not a CoinJoin and is merged.
   ``txs.coinjoin_kind``, when given (the graph stores it at load, from the raw outputs),
   is used as is; otherwise the rules run on ``outputs``. ``coinjoin_guard=False``
   turns the guard off (to measure what it prevents).

Inputs are a multiset: one row per input, or a ``count`` column giving how many inputs of
the transaction spend from that address (the graph keeps one SPENT_IN edge per address
and transaction, with that count). Both give the same wallets.

Everything is vectorised (numpy; ``scipy.sparse.csgraph.connected_components`` over the
address-address edge list), with no Python loop per transaction.

Results: ``labels_`` (address -> wallet id), ``links_`` (address, wallet, method,
confidence, spent), ``wallets_`` (id, size, method, confidence), ``coinjoin_`` (flag per
txid), ``change_`` (txid, address of detected change). A wallet id is ``"w:"`` + its
lexicographically smallest address, so it does not depend on input order. An address
that no heuristic links is its own (``"singleton"``) wallet.

Confidences are priors, not measurements: 0.95 for a wallet built by multi-input links
only, 0.7 once any change link is involved, 1.0 for a singleton; calibrate them against
the synthetic truth (``ownergraph.evaluate``) before relying on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph.linking.coinjoin import DEFAULT_MIN_EQUAL, detect_coinjoins
from ownergraph.loaders.bitcoin_script import address_type

MULTI_INPUT_CONFIDENCE = 0.95
CHANGE_CONFIDENCE = 0.7
SINGLETON_CONFIDENCE = 1.0
METHODS = np.array(["singleton", "multi-input", "change", "multi-input+change"], dtype=object)
_TYPES = ("unknown", "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr")


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy 2's hash-based ``np.unique`` was ~80x
    slower on 4M int64 keys here)."""
    s = np.sort(a)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _isin(a: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """``np.isin(a, b)`` for a sorted distinct ``b``, by binary search."""
    if len(sorted_unique) == 0:
        return np.zeros(len(a), dtype=bool)
    i = np.searchsorted(sorted_unique, a)
    i[i == len(sorted_unique)] = 0
    return sorted_unique[i] == a


@dataclass
class _Coded:
    """Inputs and outputs as integer codes (transactions and addresses)."""

    n_tx: int
    n_addr: int
    tx_ids: np.ndarray
    addresses: np.ndarray  # sorted: code order is lexicographic order
    in_tx: np.ndarray  # tx of every input row (resolved or not)
    ri_tx: np.ndarray  # tx of each resolved input
    ri_addr: np.ndarray  # address of each resolved input
    out_tx: np.ndarray  # tx of every output row
    out_sat: np.ndarray  # float64, NaN when unknown
    ao_tx: np.ndarray  # tx of each output with an address
    ao_addr: np.ndarray  # its address
    ao_sat: np.ndarray
    n_inputs: np.ndarray  # per tx (from txs when given, else input rows)
    input_rows: np.ndarray  # per tx: input rows seen
    coinbase: np.ndarray  # per tx
    processor: np.ndarray  # per address


def _code(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    txs: pd.DataFrame | None,
    processors: Iterable | None,
) -> _Coded:
    for name, df, cols in (
        ("inputs", inputs, ("txid", "address")),
        ("outputs", outputs, ("txid", "address", "sat")),
    ):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    parts = [inputs["txid"], outputs["txid"]] + ([txs["txid"]] if txs is not None else [])
    tx_codes, tx_ids = pd.factorize(pd.concat(parts, ignore_index=True))
    n_in, n_out, n_tx = len(inputs), len(outputs), len(tx_ids)
    in_tx, out_tx = tx_codes[:n_in], tx_codes[n_in : n_in + n_out]

    in_ok = inputs["address"].notna().to_numpy()
    out_ok = outputs["address"].notna().to_numpy()
    addr_codes, uniques = pd.factorize(
        pd.concat([inputs["address"][in_ok], outputs["address"][out_ok]], ignore_index=True),
        sort=True,
    )
    n_ri = int(in_ok.sum())
    out_sat = outputs["sat"].to_numpy(dtype=np.float64, na_value=np.nan)

    input_rows = np.bincount(in_tx, minlength=n_tx)
    n_inputs = input_rows.copy()
    coinbase = np.zeros(n_tx, dtype=bool)
    if txs is not None:
        t_codes = tx_codes[n_in + n_out :]
        if "n_inputs" in txs.columns:
            given = txs["n_inputs"].to_numpy(dtype=np.float64, na_value=np.nan)
            known = ~np.isnan(given)
            n_inputs[t_codes[known]] = given[known].astype(np.int64)
        if "coinbase" in txs.columns:
            coinbase[t_codes[txs["coinbase"].to_numpy(dtype=bool, na_value=False)]] = True
    processor = np.zeros(len(uniques), dtype=bool)
    if processors is not None:
        processor = np.asarray(pd.Index(uniques).isin(pd.Index(list(processors))))
    return _Coded(
        n_tx=n_tx,
        n_addr=len(uniques),
        tx_ids=np.asarray(tx_ids),
        addresses=np.asarray(uniques),
        in_tx=in_tx,
        ri_tx=in_tx[in_ok],
        ri_addr=addr_codes[:n_ri],
        out_tx=out_tx,
        out_sat=out_sat,
        ao_tx=out_tx[out_ok],
        ao_addr=addr_codes[n_ri:],
        ao_sat=out_sat[out_ok],
        n_inputs=n_inputs,
        input_rows=input_rows,
        coinbase=coinbase,
        processor=processor,
    )


def expand_counts(inputs: pd.DataFrame) -> pd.DataFrame:
    """One row per input: rows with a ``count`` column are repeated that many times."""
    if "count" not in inputs.columns:
        return inputs
    n = inputs["count"].astype("Int64").fillna(1).clip(lower=1).to_numpy(dtype=np.int64)
    return inputs.loc[inputs.index.repeat(n)].drop(columns="count").reset_index(drop=True)


class WalletClusterer:
    """Cluster addresses into wallets (see the module docstring for the rules)."""

    def __init__(
        self,
        change_heuristic: bool = False,
        coinjoin_min_equal_outputs: int = DEFAULT_MIN_EQUAL,
        change_same_type: bool = True,
        change_round_sat: int | None = None,
        coinjoin_guard: bool = True,
    ) -> None:
        self.change_heuristic = change_heuristic
        self.coinjoin_guard = coinjoin_guard
        self.coinjoin_min_equal_outputs = coinjoin_min_equal_outputs
        self.change_same_type = change_same_type
        self.change_round_sat = change_round_sat

    def fit(
        self,
        inputs: pd.DataFrame,
        outputs: pd.DataFrame,
        txs: pd.DataFrame | None = None,
        processors: Iterable | None = None,
        receives: pd.Series | None = None,
    ) -> WalletClusterer:
        """Cluster from ``inputs`` (txid, address; optional ``count``), ``outputs`` (txid,
        address, sat) and optionally ``txs`` (txid, n_inputs, coinbase, coinjoin_kind)
        and the processor address set.

        Without ``txs``, a transaction's input count is its number of input rows
        (unresolved ones, address null, included). ``receives`` (address -> transactions
        paying it in the whole chain) is for a fit on part of the chain: the change rule's
        "receives once" then counts the whole chain, not the part.
        """
        if self.coinjoin_min_equal_outputs < 2:
            raise ValueError("coinjoin_min_equal_outputs must be >= 2")
        inputs = expand_counts(inputs)
        d = _code(inputs, outputs, txs, processors)
        kinds = self._coinjoin_kinds(inputs, outputs, txs)
        kind = kinds.reindex(pd.Index(d.tx_ids)).fillna("").astype(object).to_numpy()
        coinjoin = (kind != "") & self.coinjoin_guard

        # multi-input: within each (tx, processor side) group, link every address to the
        # group's smallest one; a tx's anchor is its smallest non-processor input address
        # (else its smallest processor one). Codes follow sorted address order, so the
        # result never depends on row order.
        keep = ~coinjoin[d.ri_tx]
        addr = d.ri_addr[keep]
        group = d.ri_tx[keep].astype(np.int64) * 2 + d.processor[addr]
        none = d.n_addr
        rep_of = np.full(2 * d.n_tx, none, dtype=np.int64)
        np.minimum.at(rep_of, group, addr)
        rep = rep_of[group]
        sel = addr != rep
        mi_src, mi_dst = addr[sel], rep[sel]
        own, proc = rep_of[0::2], rep_of[1::2]
        anchor = np.where(own < none, own, np.where(proc < none, proc, -1))

        ch_tx = ch_addr = np.zeros(0, dtype=np.int64)
        if self.change_heuristic:
            whole = None
            if receives is not None:
                whole = receives.reindex(pd.Index(d.addresses)).fillna(0).to_numpy(np.int64)
            ch_tx, ch_addr = self._change(d, coinjoin, anchor, whole)
        ch_src, ch_dst = ch_addr, anchor[ch_tx]

        src = np.concatenate([mi_src, ch_src]).astype(np.int64)
        dst = np.concatenate([mi_dst, ch_dst]).astype(np.int64)
        shape = (d.n_addr, d.n_addr)
        graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=shape)
        n_comp, labels = connected_components(graph, directed=False)
        self._results(d, labels, n_comp, (mi_src, mi_dst), (ch_src, ch_dst), coinjoin, ch_tx)
        self.coinjoin_kind_ = pd.Series(kind, index=self.coinjoin_.index, name="coinjoin_kind")
        return self

    def _coinjoin_kinds(
        self, inputs: pd.DataFrame, outputs: pd.DataFrame, txs: pd.DataFrame | None
    ) -> pd.Series:
        """CoinJoin kind per txid: stored with the transactions, else detected."""
        if txs is not None and "coinjoin_kind" in txs.columns:
            stored = txs.drop_duplicates("txid").set_index("txid")["coinjoin_kind"]
            if stored.notna().any():
                return stored.fillna("").astype(object)
        return detect_coinjoins(inputs, outputs, txs, self.coinjoin_min_equal_outputs)

    def predict(self, addresses: Iterable) -> pd.Series:
        """Wallet id of each address (NaN for addresses not seen in ``fit``)."""
        return self.labels_.reindex(pd.Index(list(addresses))).astype(object)

    # ------------------------------------------------------------------------------------
    def _results(self, d, labels, n_comp, mi, ch, coinjoin, ch_tx) -> None:
        size = np.bincount(labels, minlength=n_comp)
        # codes follow sorted address order: a component's first code is its smallest
        first_code = np.full(n_comp, d.n_addr, dtype=np.int64)
        np.minimum.at(first_code, labels, np.arange(d.n_addr))
        ids = pc.binary_join_element_wise(
            "w:", pa.array(d.addresses[first_code]).cast(pa.string()), ""
        )
        has_mi = np.zeros(d.n_addr, dtype=bool)
        has_mi[mi[0]] = has_mi[mi[1]] = True
        has_ch = np.zeros(d.n_addr, dtype=bool)
        has_ch[ch[0]] = has_ch[ch[1]] = True
        comp_mi = np.bincount(labels, weights=has_mi, minlength=n_comp) > 0
        comp_ch = np.bincount(labels, weights=has_ch, minlength=n_comp) > 0
        conf = np.where(comp_ch, CHANGE_CONFIDENCE, np.where(comp_mi, MULTI_INPUT_CONFIDENCE, 1.0))
        spent = np.zeros(d.n_addr, dtype=bool)
        spent[d.ri_addr] = True
        index = pd.Index(d.addresses, name="address")
        wallet = pd.arrays.ArrowStringArray(ids.take(pa.array(labels)))
        addr_method = has_mi.astype(np.int8) + 2 * has_ch.astype(np.int8)
        self.labels_ = pd.Series(wallet, index=index, name="wallet")
        self.links_ = pd.DataFrame(
            {
                "address": index,
                "wallet": wallet,
                "method": pd.Categorical.from_codes(addr_method, categories=METHODS),
                "confidence": conf[labels],
                "size": size[labels],
                "spent": spent,
                "processor": d.processor,
            },
        )
        comp_method = comp_mi.astype(np.int8) + 2 * comp_ch.astype(np.int8)
        self.wallets_ = pd.DataFrame(
            {
                "id": pd.arrays.ArrowStringArray(ids),
                "size": size,
                "method": pd.Categorical.from_codes(comp_method, categories=METHODS),
                "confidence": conf,
            }
        )
        self.coinjoin_ = pd.Series(coinjoin, index=pd.Index(d.tx_ids, name="txid"), name="coinjoin")
        self.change_ = pd.DataFrame({"txid": d.tx_ids[ch_tx], "address": d.addresses[ch[0]]})
        self.n_edges_ = {"multi-input": int(len(mi[0])), "change": int(len(ch[0]))}

    def _change(
        self,
        d: _Coded,
        coinjoin: np.ndarray,
        anchor: np.ndarray,
        whole_receives: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(tx codes, address codes)`` of detected change outputs."""
        n_tx, n_addr = d.n_tx, max(d.n_addr, 1)
        key = d.ao_tx.astype(np.int64) * n_addr + d.ao_addr
        pair = _unique(key)  # distinct (tx, address) payments
        p_tx, p_addr = pair // n_addr, pair % n_addr
        receives = np.bincount(p_addr, minlength=d.n_addr)
        if whole_receives is not None:
            receives = np.maximum(receives, whole_receives)
        distinct_out = np.bincount(p_tx, minlength=n_tx)
        in_pair = _unique(d.ri_tx.astype(np.int64) * n_addr + d.ri_addr)
        self_change = np.zeros(n_tx, dtype=bool)
        self_change[p_tx[_isin(pair, in_pair)]] = True
        resolved = np.bincount(d.ri_tx, minlength=n_tx)
        eligible = (
            ~d.coinbase
            & ~coinjoin
            & ~self_change
            & (d.n_inputs > 0)
            & (resolved == d.n_inputs)
            & (d.input_rows == d.n_inputs)
            & (distinct_out >= 2)
            & (anchor >= 0)
        )
        cand = eligible[p_tx] & (receives[p_addr] == 1) & ~d.processor[p_addr]
        cand &= np.bincount(p_tx[cand], minlength=n_tx)[p_tx] == 1
        if self.change_same_type and d.n_addr and isinstance(d.addresses[0], str):
            types = pd.Index(d.addresses).map(address_type)
            code = pd.Categorical(types, categories=_TYPES).codes.astype(np.int64)
            lo = np.full(n_tx, len(_TYPES), dtype=np.int64)
            hi = np.full(n_tx, -1, dtype=np.int64)
            np.minimum.at(lo, d.ri_tx, code[d.ri_addr])
            np.maximum.at(hi, d.ri_tx, code[d.ri_addr])
            uniform = (lo == hi) & (lo > 0)
            cand &= uniform[p_tx] & (code[p_addr] == lo[p_tx])
        if self.change_round_sat:
            r = float(self.change_round_sat)
            known = ~np.isnan(d.out_sat)
            non_round = known & (np.mod(np.nan_to_num(d.out_sat), r) != 0)
            n_non_round = np.bincount(d.out_tx[non_round], minlength=n_tx)
            ao_non_round = ~np.isnan(d.ao_sat) & (np.mod(np.nan_to_num(d.ao_sat), r) != 0)
            cand &= _isin(pair, _unique(key[ao_non_round])) & (n_non_round[p_tx] == 1)
        return p_tx[cand], p_addr[cand]
