"""One-to-one resolution of payment links: at most one tx per ad and one ad per tx,
as a separate, explicit step after matching.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd


def resolve_one_to_one(
    links: pd.DataFrame, how: Literal["greedy", "optimal"] = "greedy", min_margin: float = 0.0
) -> pd.DataFrame:
    """At most one tx per ad and one ad per tx, as a separate, explicit step.

    Unambiguous links pass unchanged. Inside each ambiguity component, ``greedy`` takes
    links by decreasing ``fit`` (ties: smaller |usd_error|, smaller lag, then ids);
    ``optimal`` maximises the summed ``fit`` per component (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``). Kept links keep ``ambiguous=True`` and
    their confidence; their ``method`` gains ``+1to1-<how>`` so the pick is on record.

    ``min_margin > 0`` keeps a pick only when its ``fit`` beats every rival link (another
    link of its ad or of its tx) by more than ``min_margin``; an ad whose candidates fit
    about equally well is left unlinked rather than guessed.
    """
    if how not in ("greedy", "optimal"):
        raise ValueError(f"unknown one-to-one method {how!r} (greedy or optimal)")
    if not 0.0 <= min_margin < 1.0:
        raise ValueError(f"min_margin must be in [0, 1), got {min_margin}")
    amb = links["ambiguous"].to_numpy(dtype=bool)
    clear = links[~amb]
    rest = links[amb]
    if rest.empty:
        return links.copy()
    if how == "greedy":
        keep = _greedy(rest)
    else:
        keep = _optimal(rest)
    chosen = rest.loc[keep].copy()
    if min_margin > 0:
        rival = _rival_fit(rest).loc[chosen.index]
        chosen = chosen[chosen["fit"].to_numpy() - rival.to_numpy() > min_margin]
    chosen["method"] = chosen["method"].astype(str) + f"+1to1-{how}"
    out = pd.concat([clear, chosen])
    return out.sort_values(["ad_id", "txid"], kind="stable").reset_index(drop=True)


def _rival_fit(df: pd.DataFrame) -> pd.Series:
    """Per link: the best ``fit`` among the other links of its ad or of its tx (0: none)."""
    fit = df["fit"].astype(float)
    out = pd.Series(0.0, index=df.index)
    for key in ("ad_id", "txid"):
        g = fit.groupby(df[key].to_numpy())
        first = g.transform("max")
        # the best other link: the runner-up when this link is the (first) best, else the best
        rank = g.rank(method="first", ascending=False)
        second = fit.where(rank == 2).groupby(df[key].to_numpy()).transform("max").fillna(0.0)
        other = np.where(rank.to_numpy() == 1, second.to_numpy(), first.to_numpy())
        out = np.maximum(out, other)
    return pd.Series(np.asarray(out, dtype=float), index=df.index)


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(_abs=df["usd_error"].abs()).sort_values(
        ["fit", "_abs", "lag_s", "ad_id", "txid"],
        ascending=[False, True, True, True, True],
        kind="stable",
    )


def _greedy(df: pd.DataFrame) -> list:
    used_ads: set = set()
    used_txs: set = set()
    keep = []
    r = _ranked(df)
    for idx, ad, tx in zip(r.index, r["ad_id"], r["txid"], strict=True):
        if ad in used_ads or tx in used_txs:
            continue
        used_ads.add(ad)
        used_txs.add(tx)
        keep.append(idx)
    return keep


def _optimal(df: pd.DataFrame) -> list:
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a_codes, a_uniq = pd.factorize(df["ad_id"])
    t_codes, t_uniq = pd.factorize(df["txid"])
    na, nt = len(a_uniq), len(t_uniq)
    g = coo_matrix((np.ones(len(df)), (a_codes, na + t_codes)), shape=(na + nt, na + nt))
    _, comp = connected_components(g, directed=False)
    link_comp = comp[a_codes]
    keep = []
    index = df.index.to_numpy()
    fit = df["fit"].to_numpy(dtype=float)
    order = np.argsort(link_comp, kind="stable")
    bounds = np.flatnonzero(np.diff(link_comp[order])) + 1
    for rows in np.split(order, bounds):
        ra, ia = np.unique(a_codes[rows], return_inverse=True)
        rt, it = np.unique(t_codes[rows], return_inverse=True)
        m = np.full((len(ra), len(rt)), -1.0)  # -1: no link (never chosen over a real one)
        m[ia, it] = fit[rows]
        r, c = linear_sum_assignment(m, maximize=True)
        lookup = {(x, y): k for k, x, y in zip(rows, ia, it, strict=True)}
        keep.extend(index[lookup[(x, y)]] for x, y in zip(r, c, strict=True) if m[x, y] >= 0)
    return keep
