"""Discover payment-processor invoice addresses with a sweep heuristic.

A payment processor hands each customer a fresh invoice address, and later *sweeps* many
paid invoices into one (or two) of its own addresses. The heuristic, on the agreed
``inputs`` / ``outputs`` / ``txs`` tables:

1. An address is **invoice-like** when it received between 1 and ``max_receipts``
   payments, every one of a processor-like value (``value_range_sat``, or
   ``value_range_usd`` at the receiving tx's first-seen rate when ``rates`` are given; no
   value limit when neither is set), and it was spent by exactly one transaction.
2. A **sweep** is a transaction with at most ``max_outputs`` outputs (default 1: a sweep
   moves the whole balance, with no change) whose distinct input addresses are at least
   ``min_share`` invoice-like. A *strong* sweep also has at least ``min_inputs`` distinct
   input addresses.
3. Seed: the invoice-like inputs of strong sweeps are processor addresses; their outputs
   that are not invoice-like themselves are processor destinations (hot/cold wallets).
4. Iterate (``iterations`` times, or until nothing changes): addresses spent together
   with a destination (multi-input) are destinations too; any sweep (at least
   ``min_inputs_follow`` inputs) paying a destination adds its invoice-like inputs.

Processor-run CoinJoins, exchange consolidations of old deposits, and owners who
consolidate one-time addresses can look alike: check the result (``processor_scores``
against a known set) before trusting it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ownergraph import defaults
from ownergraph.loaders.rates import RateTable


def _addr_mask(s: pd.Series) -> np.ndarray:
    return s.notna().to_numpy(dtype=bool)


def invoice_like(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    txs: pd.DataFrame | None = None,
    max_receipts: int = 1,
    value_range_sat: tuple[int, int] | None = None,
    rates: RateTable | None = None,
    value_range_usd: tuple[float, float] | None = None,
) -> pd.Index:
    """Addresses that look like one-off invoices (step 1 of the module docstring)."""
    out = outputs[_addr_mask(outputs["address"])]
    ok = np.ones(len(out), dtype=bool)
    sat = out["sat"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if value_range_sat is not None:
        ok &= (sat >= value_range_sat[0]) & (sat <= value_range_sat[1])
    if value_range_usd is not None:
        if rates is None or txs is None or "first_seen_ts" not in txs.columns:
            raise ValueError("value_range_usd needs rates and txs with first_seen_ts")
        seen = out["txid"].map(txs.drop_duplicates("txid").set_index("txid")["first_seen_ts"])
        ts = seen.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        rate = np.full(len(out), np.nan)
        known = ~np.isnan(ts)
        rate[known] = rates.rate_at(ts[known].astype(np.int64), on_missing="nan")
        usd = sat / 1e8 * rate
        ok &= (usd >= value_range_usd[0]) & (usd <= value_range_usd[1])
    recv = pd.DataFrame({"address": out["address"].to_numpy(), "ok": ok})
    g = recv.groupby("address", sort=False)["ok"].agg(["size", "all"])
    receivers = g.index[(g["size"] >= 1) & (g["size"] <= max_receipts) & g["all"]]
    spent = inputs[_addr_mask(inputs["address"])]
    n_spends = spent.drop_duplicates(["address", "txid"]).groupby("address", sort=False).size()
    once = n_spends.index[n_spends == 1]
    return pd.Index(receivers).intersection(pd.Index(once))


def discover_processors(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    txs: pd.DataFrame | None = None,
    min_inputs: int = defaults.SWEEP_MIN_INPUTS,
    max_outputs: int = 1,
    min_share: float = 0.8,
    min_inputs_follow: int = 1,
    max_receipts: int = 1,
    value_range_sat: tuple[int, int] | None = None,
    rates: RateTable | None = None,
    value_range_usd: tuple[float, float] | None = None,
    iterations: int = 3,
) -> set[str]:
    """Processor invoice addresses found by the sweep heuristic (module docstring)."""
    if min_inputs < 2 or max_outputs < 1 or not 0 < min_share <= 1:
        raise ValueError("need min_inputs >= 2, max_outputs >= 1, 0 < min_share <= 1")
    inv = invoice_like(inputs, outputs, txs, max_receipts, value_range_sat, rates, value_range_usd)
    ins = inputs[_addr_mask(inputs["address"])][["txid", "address"]].drop_duplicates()
    ins = ins.assign(inv=ins["address"].isin(inv).to_numpy())
    per_tx = ins.groupby("txid", sort=False)["inv"].agg(["size", "sum"])
    n_out = outputs.groupby("txid", sort=False).size()
    per_tx["n_out"] = n_out.reindex(per_tx.index).fillna(0).astype(int)
    sweep = (per_tx["n_out"] <= max_outputs) & (per_tx["sum"] >= min_share * per_tx["size"])
    sweep &= per_tx["sum"] > 0
    strong = per_tx.index[sweep & (per_tx["size"] >= min_inputs)]
    follow = per_tx.index[sweep & (per_tx["size"] >= min_inputs_follow)]

    outs = outputs[_addr_mask(outputs["address"])][["txid", "address"]]
    chosen = pd.Index(strong)
    dest = pd.Index(outs.loc[outs["txid"].isin(chosen), "address"].unique()).difference(inv)
    for _ in range(max(iterations, 1)):
        # multi-input: whatever is spent together with a destination is a destination
        spends_dest = ins.loc[ins["address"].isin(dest), "txid"].unique()
        more = pd.Index(ins.loc[ins["txid"].isin(spends_dest), "address"].unique())
        dest2 = dest.union(more.difference(inv))
        paying = outs.loc[outs["address"].isin(dest2), "txid"].unique()
        chosen2 = chosen.union(pd.Index(follow).intersection(pd.Index(paying)))
        if len(chosen2) == len(chosen) and len(dest2) == len(dest):
            break
        chosen, dest = chosen2, dest2
    found = ins.loc[ins["txid"].isin(chosen) & ins["inv"], "address"]
    return set(found.astype(str))


def processor_scores(found: Iterable[str], truth: Iterable[str]) -> dict[str, float]:
    """Precision and recall of a discovered set against a known one."""
    f, t = set(found), set(truth)
    tp = len(f & t)
    return {
        "found": len(f),
        "true": len(t),
        "true_positive": tp,
        "precision": tp / len(f) if f else float("nan"),
        "recall": tp / len(t) if t else float("nan"),
    }
