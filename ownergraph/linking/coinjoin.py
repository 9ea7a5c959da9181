"""CoinJoin detection by the structure of real CoinJoin implementations.

A CoinJoin joins the coins of several owners in one transaction, so the multi-input rule
must not merge its inputs, and none of its outputs is anyone's change. Detection works on
the *multiset* of a transaction's inputs and outputs (one row per input and per output,
as the loaders produce them; the graph stores the flag at load time, because its PAYS
edges sum the outputs one address receives).

For each transaction: ``k`` is the size of its largest group of equal-valued outputs
(value ``v``, ties to the larger value), ``others = n_out - k``, ``n_in`` its inputs,
``d_in`` its distinct input owners as far as the data tells (distinct input addresses,
each unresolved input counted as its own). The first rule that holds names the kind:

- ``whirlpool`` (Samourai Whirlpool): every output equal (``others == 0``), 5 <= k <= 10,
  ``n_in == k`` inputs from ``k`` distinct addresses, ``v`` a pool denomination
  (0.001, 0.01, 0.05, 0.25, 0.5 BTC).
- ``wasabi2`` (WabiSabi): at least 10 inputs and 10 outputs, at least 80 % of the outputs
  on Wasabi 2's standard denominations (powers of 2 and 3, 2 x 3^n, 10^n, 2 x 10^n,
  5 x 10^n sat, from 5,000 sat), at least 5 distinct output values of which at least 3
  are repeated, every input and output native SegWit (P2WPKH or P2TR).
- ``wasabi1`` (ZeroLink): k >= 6, ``n_in >= k`` and ``d_in >= k``, ``2 <= others <= 2k``
  (participants' change and the coordinator fee), every input and output P2WPKH.
- ``joinmarket``: k >= ``min_equal`` (default 3), ``v >= 1,000`` sat (equal dust outputs
  are token artefacts, not mixes), ``others`` is ``k - 1`` or ``k`` (each maker and the
  taker get one change output; a sweeping taker none), ``n_in >= k`` and ``d_in >= k``.

What is *not* flagged, on purpose: one wallet's batch payout or split (k equal outputs and
one change, e.g. 20 x 20 BTC from 100 inputs: ``others`` is 1, far below ``k - 1``), and a
Whirlpool Tx0 (one wallet making its premix outputs; merging its inputs is right).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ownergraph import defaults
from ownergraph.loaders.bitcoin_script import address_type

KINDS = ("whirlpool", "wasabi2", "wasabi1", "joinmarket")
DEFAULT_MIN_EQUAL = defaults.COINJOIN_MIN_EQUAL
WHIRLPOOL_POOLS = frozenset({100_000, 1_000_000, 5_000_000, 25_000_000, 50_000_000})
DUST_SAT = 1_000


def wasabi2_denominations(low: int = 5_000, high: int = 2**47) -> frozenset[int]:
    """Wasabi 2's standard output denominations in sat (WalletWasabi's generator)."""
    out: set[int] = set()
    for base, mult in ((2, 1), (3, 1), (3, 2), (10, 1), (10, 2), (10, 5)):
        x = 1
        while x * mult <= high:
            if x * mult >= low:
                out.add(x * mult)
            x *= base
    return frozenset(out)


WASABI2_DENOMINATIONS = wasabi2_denominations()


def _type_flags(addresses: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(is P2WPKH, is native SegWit P2WPKH/P2TR) per row; a missing address is neither."""
    kinds = addresses.map(
        lambda a: address_type(a) if isinstance(a, str) else "unknown", na_action="ignore"
    )
    p2wpkh = (kinds == "p2wpkh").to_numpy(dtype=bool, na_value=False)
    segwit = kinds.isin(["p2wpkh", "p2tr"]).to_numpy(dtype=bool, na_value=False)
    return p2wpkh, segwit


def coinjoin_features(
    inputs: pd.DataFrame, outputs: pd.DataFrame, txs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per candidate transaction (one with at least two equal-valued outputs): the
    structure the rules read (``k``, ``v``, ``others``, ``n_in``, ``d_in``, ...)."""
    out = outputs[["txid", "sat"]].dropna(subset=["sat"])
    out = out.assign(sat=out["sat"].astype("int64"))
    counts = out.groupby(["txid", "sat"], sort=False).size().rename("n").reset_index()
    cand = counts.loc[counts["n"] >= 2, "txid"].unique()
    if len(cand) == 0:
        return pd.DataFrame(
            columns=["k", "v", "groups", "n_values", "n_out", "others", "n_in", "d_in"]
        )
    counts = counts[counts["txid"].isin(cand)]
    top = counts.sort_values(["txid", "n", "sat"]).drop_duplicates("txid", keep="last")
    f = top.set_index("txid").rename(columns={"n": "k", "sat": "v"})
    g = counts.groupby("txid", sort=False)
    f["groups"] = (counts["n"] >= 2).groupby(counts["txid"], sort=False).sum()
    f["n_values"] = g.size()
    o = outputs[outputs["txid"].isin(cand)]
    o_p2wpkh, o_segwit = _type_flags(o["address"])
    sat = o["sat"].astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
    denom = np.isin(sat, np.fromiter(WASABI2_DENOMINATIONS, dtype=np.int64))
    og = pd.DataFrame(
        {"txid": o["txid"].to_numpy(), "p2wpkh": o_p2wpkh, "segwit": o_segwit, "denom": denom}
    ).groupby("txid", sort=False)
    f["n_out"] = og.size()
    f["out_p2wpkh"] = og["p2wpkh"].all()
    f["out_segwit"] = og["segwit"].all()
    f["denom_share"] = og["denom"].mean()
    f["others"] = f["n_out"] - f["k"]

    i = inputs[inputs["txid"].isin(cand)]
    i_p2wpkh, i_segwit = _type_flags(i["address"])
    ig = pd.DataFrame(
        {
            "txid": i["txid"].to_numpy(),
            "address": i["address"].to_numpy(),
            "null": i["address"].isna().to_numpy(),
            "p2wpkh": i_p2wpkh,
            "segwit": i_segwit,
        }
    ).groupby("txid", sort=False)
    f["rows_in"] = ig.size()
    f["d_in"] = ig["address"].nunique() + ig["null"].sum()
    f["in_p2wpkh"] = ig["p2wpkh"].all()
    f["in_segwit"] = ig["segwit"].all()
    f[["rows_in", "d_in"]] = f[["rows_in", "d_in"]].fillna(0)
    f["in_p2wpkh"] = f["in_p2wpkh"].fillna(False).astype(bool)
    f["in_segwit"] = f["in_segwit"].fillna(False).astype(bool)
    f["n_in"] = f["rows_in"]
    if txs is not None and "n_inputs" in txs.columns:
        given = txs.drop_duplicates("txid").set_index("txid")["n_inputs"]
        n = f.index.to_series().map(given).astype("Float64")
        f["n_in"] = n.fillna(f["rows_in"].astype("Float64")).astype("int64").to_numpy()
        # inputs the data does not show are unknown owners, each its own
        f["d_in"] = f["d_in"] + (f["n_in"] - f["rows_in"]).clip(lower=0)
    return f


def classify(f: pd.DataFrame, min_equal: int = DEFAULT_MIN_EQUAL) -> pd.Series:
    """The CoinJoin kind of each row of ``coinjoin_features`` ("" when none holds)."""
    k, others, n_in, d_in = f["k"], f["others"], f["n_in"], f["d_in"]
    whirlpool = (
        (others == 0) & k.between(5, 10) & (n_in == k) & (d_in == k) & f["v"].isin(WHIRLPOOL_POOLS)
    )
    wasabi2 = (
        (n_in >= 10)
        & (f["n_out"] >= 10)
        & (f["denom_share"] >= 0.8)
        & (f["n_values"] >= 5)
        & (f["groups"] >= 3)
        & f["in_segwit"]
        & f["out_segwit"]
    )
    wasabi1 = (
        (k >= 6)
        & (n_in >= k)
        & (d_in >= k)
        & others.between(2, 2 * k)
        & f["in_p2wpkh"]
        & f["out_p2wpkh"]
    )
    joinmarket = (
        (k >= min_equal)
        & (f["v"] >= DUST_SAT)
        & ((others == k - 1) | (others == k))
        & (n_in >= k)
        & (d_in >= k)
    )
    kind = np.select([whirlpool, wasabi2, wasabi1, joinmarket], list(KINDS), default="").astype(
        object
    )
    return pd.Series(kind, index=f.index, name="coinjoin_kind", dtype=object)


def detect_coinjoins(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    txs: pd.DataFrame | None = None,
    min_equal: int = DEFAULT_MIN_EQUAL,
) -> pd.Series:
    """CoinJoin kind per txid ("" for an ordinary transaction), for every txid seen.

    ``inputs``: txid, address (one row per input); ``outputs``: txid, address, sat (one row
    per output); ``txs``: txid, n_inputs (inputs the rows may not show). See the module
    docstring for the rules.
    """
    if min_equal < 2:
        raise ValueError("min_equal must be >= 2")
    ids = [inputs["txid"], outputs["txid"]] + ([txs["txid"]] if txs is not None else [])
    all_ids = pd.Index(pd.concat(ids, ignore_index=True).unique(), name="txid")
    kinds = pd.Series("", index=all_ids, name="coinjoin_kind", dtype=object)
    f = coinjoin_features(inputs, outputs, txs)
    if len(f):
        found = classify(f, min_equal)
        kinds.loc[found.index] = found.to_numpy()
    return kinds
