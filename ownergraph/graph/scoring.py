"""Owner-group indicators, an explainable score, and flags with one-line reasons.

Indicators per group (all computed from the group's ads and the links they carry):

- ``ads``; ``states``, ``cities`` (distinct ``Ad.state`` / ``(state, city)``);
- ``active_days``: distinct UTC calendar days with at least one ad;
  ``ads_per_day`` = ads / active_days (the posting rate on days the group was active);
- ``names``, ``ages``: distinct advertised names (case-folded) and ages;
- ``phones``, ``emails``, ``wallets``: distinct identifiers / paying wallets of its ads;
- ``btc_spent``: satoshis that the group's paying transactions (``PAID_FOR``, each
  transaction once) sent to payment-processor addresses (``Address.processor``), in BTC;
- ``usd_spent``: with an exchange-rate table, ``btc_spent`` valued at the rate at each
  transaction's first-seen time; without one, per paying transaction the expected cost
  of the ad it paid (``Ad.price_usd``, else the price table's cost) times
  ``1 + PAID_FOR.usd_error`` -- the USD value the payment matcher measured;
- ``evidence``: evidence kinds that join at least two of the group's ads.

Score (0-100): a weighted mean of log-scaled indicators. Each indicator beyond its
"normal" value for one person (1 name, 1 state, ...) is scaled as
``min(1, log(1 + x - base) / log(1 + cap - base))``, where ``cap`` is a level that counts
as clearly high. Weights and caps are in :data:`SCORE_PARTS`; :func:`explain_score`
returns each part's contribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ownergraph.linking.prices import PriceTable

# indicator -> (weight, base, cap): the score's documented, fixed recipe.
SCORE_PARTS: dict[str, tuple[float, float, float]] = {
    "names": (0.25, 1, 10),  # many different people advertised
    "states": (0.20, 1, 8),  # travel across states
    "ads_per_day": (0.20, 1, 10),  # posting rate
    "ages": (0.10, 1, 8),
    "cities": (0.10, 1, 15),
    "phones": (0.05, 1, 8),
    "ads": (0.05, 1, 500),
    "usd_spent": (0.05, 0, 5000),
}

INDICATORS = (
    "ads",
    "states",
    "cities",
    "active_days",
    "ads_per_day",
    "names",
    "ages",
    "phones",
    "emails",
    "wallets",
    "btc_spent",
    "usd_spent",
    "evidence",
)

DAY = 86_400


@dataclass(frozen=True)
class FlagRules:
    """Thresholds for the flags (a flag is raised when the indicator reaches it)."""

    many_people: int = 3  # distinct advertised names
    many_states: int = 3
    many_cities: int = 5
    high_rate: float = 4.0  # ads per active day
    many_phones: int = 3
    high_spend_usd: float = 1000.0


def _blank_str(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().replace("", pd.NA)


def compute_indicators(
    ads: pd.DataFrame,
    membership: pd.Series,
    links: pd.DataFrame | None = None,
    payments: pd.DataFrame | None = None,
    rates: Any = None,
    prices: PriceTable | None = None,
) -> pd.DataFrame:
    """Indicators per owner group, indexed by owner id (sorted).

    ``ads``: one row per ad (id, posted_ts, state, city, name, age; price_usd, category,
    post_kind, sponsored, n_locations for expected costs). ``membership``: owner id per ad
    id. ``links``: (ad, kind, hub) for kinds phone/email/wallet/author. ``payments``:
    (ad, txid, sat, first_seen_ts, usd_error, confidence) with ``sat`` paid
    to processors by the tx. ``rates``: a ``RateTable`` or a (time_ts, usd_per_btc)
    frame. Every ad must have an owner.
    """
    ads = ads.drop_duplicates("id").set_index("id")
    missing = ads.index.difference(membership.index)
    if len(missing):
        raise ValueError(f"{len(missing)} ads have no owner group, e.g. {list(missing[:3])}")
    owner = membership.reindex(ads.index)
    df = pd.DataFrame(
        {
            "owner": owner.to_numpy(),
            "day": pd.to_numeric(ads.get("posted_ts"), errors="coerce").floordiv(DAY),
            "state": _blank_str(ads.get("state", pd.Series(pd.NA, index=ads.index))),
            "city": _blank_str(ads.get("city", pd.Series(pd.NA, index=ads.index))).str.lower(),
            "name": _blank_str(ads.get("name", pd.Series(pd.NA, index=ads.index))).str.casefold(),
            "age": pd.to_numeric(ads.get("age"), errors="coerce"),
        },
        index=ads.index,
    )
    df["place"] = df["state"].fillna("") + "|" + df["city"]
    g = df.groupby("owner", sort=True)
    out = pd.DataFrame(
        {
            "ads": g.size(),
            "states": g["state"].nunique(),
            "cities": g["place"].nunique(),
            "active_days": g["day"].nunique(),
            "names": g["name"].nunique(),
            "ages": g["age"].nunique(),
        }
    )
    out["ads_per_day"] = out["ads"] / out["active_days"].where(out["active_days"] > 0, 1)
    links = links if links is not None else pd.DataFrame(columns=["ad", "kind", "hub"])
    lk = links.assign(owner=membership.reindex(links["ad"]).to_numpy())
    for kind, col in (("phone", "phones"), ("email", "emails"), ("wallet", "wallets")):
        sub = lk[lk["kind"] == kind]
        out[col] = sub.groupby("owner")["hub"].nunique().reindex(out.index, fill_value=0)
    shared = lk.groupby(["owner", "kind", "hub"]).size()
    shared = shared[shared >= 2].reset_index()
    ev = shared.groupby("owner")["kind"].agg(
        lambda s: ",".join(k for k in _KIND_ORDER if k in set(s))
    )
    out["evidence"] = ev.reindex(out.index).fillna("")
    btc, usd = _spending(ads, membership, payments, rates, prices or PriceTable())
    out["btc_spent"] = btc.reindex(out.index, fill_value=0.0)
    out["usd_spent"] = usd.reindex(out.index, fill_value=0.0)
    out.index.name = "owner"
    return out[list(INDICATORS)].astype(
        {c: "int64" for c in ("ads", "states", "cities", "active_days", "names", "ages")}
        | {"phones": "int64", "emails": "int64", "wallets": "int64"}
    )


_KIND_ORDER = ("phone", "email", "wallet", "author")


def _spending(
    ads: pd.DataFrame,
    membership: pd.Series,
    payments: pd.DataFrame | None,
    rates: Any,
    prices: PriceTable,
) -> tuple[pd.Series, pd.Series]:
    if payments is None or payments.empty:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    pay = payments.assign(owner=membership.reindex(payments["ad"]).to_numpy())
    if "confidence" in pay.columns:  # a tx that may pay several ads: its best match
        pay = pay.sort_values(["confidence", "ad"], ascending=[False, True], kind="stable")
    tx = pay.drop_duplicates(["owner", "txid"])
    sat = pd.to_numeric(tx["sat"], errors="coerce").fillna(0).astype(float)
    btc = (sat / 1e8).groupby(tx["owner"]).sum()
    if rates is not None:
        from ownergraph.loaders.rates import RateTable

        table = rates if hasattr(rates, "rate_at") else RateTable.from_frame(rates, "previous")
        ts = pd.to_numeric(tx["first_seen_ts"], errors="coerce").fillna(-1).astype("int64")
        rate = table.rate_at(ts.to_numpy(), on_missing="nan")
        if np.isnan(rate).any():
            bad = tx["txid"].to_numpy()[np.isnan(rate)][:3].tolist()
            raise ValueError(f"no BTC/USD rate at the first-seen time of txs {bad}")
        usd = pd.Series(sat.to_numpy() / 1e8 * rate, index=tx.index).groupby(tx["owner"]).sum()
        return btc, usd
    # USD the payment was worth at the matcher's rate: expected cost x (1 + usd_error).
    cost = tx["ad"].map(
        {r.Index: _expected_cost(r, prices) for r in ads.loc[tx["ad"].unique()].itertuples()}
    )
    err = (
        pd.to_numeric(tx.get("usd_error"), errors="coerce").fillna(0.0)
        if ("usd_error" in tx.columns)
        else 0.0
    )
    usd = (cost.astype(float) * (1.0 + err)).groupby(tx["owner"]).sum()
    return btc, usd


def _expected_cost(ad: object, prices: PriceTable) -> float:
    price = getattr(ad, "price_usd", None)
    if price is not None and not pd.isna(price):
        return float(price)

    def val(name: str, default: object) -> object:
        v = getattr(ad, name, None)
        return default if v is None or (not isinstance(v, str) and pd.isna(v)) else v

    return prices.cost_usd(
        val("state", None),
        val("category", None),
        val("post_kind", "post"),
        bool(val("sponsored", False)),
        int(val("n_locations", 1)),
    )


def score_parts(ind: pd.DataFrame) -> pd.DataFrame:
    """Each score part's contribution (points out of 100) per group."""
    total = sum(w for w, _, _ in SCORE_PARTS.values())
    parts = {}
    for col, (w, base, cap) in SCORE_PARTS.items():
        x = (ind[col].astype(float) - base).clip(lower=0)
        scaled = np.minimum(1.0, np.log1p(x) / np.log1p(cap - base))
        parts[col] = 100.0 * w / total * scaled
    return pd.DataFrame(parts, index=ind.index)


def score(ind: pd.DataFrame) -> pd.Series:
    """The 0-100 score per group: the sum of :func:`score_parts`."""
    return score_parts(ind).sum(axis=1).round(2)


def explain_score(ind_row: pd.Series) -> list[str]:
    """One line per score part that contributes, largest first."""
    parts = score_parts(ind_row.to_frame().T).iloc[0].sort_values(ascending=False)
    return [f"{k}={_fmt(ind_row[k])}: +{v:.1f}" for k, v in parts.items() if v > 0]


def _fmt(v: object) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return str(v)


def flags(
    ind: pd.DataFrame, state_lists: pd.Series | None = None, rules: FlagRules | None = None
) -> pd.DataFrame:
    """Flags and their one-line reasons per group: columns ``flags``, ``reasons`` (lists).

    ``state_lists``: optional owner -> sorted list of state codes, named in reasons.
    """
    rules = rules or FlagRules()
    out_flags: list[list[str]] = []
    out_reasons: list[list[str]] = []
    for owner, r in ind.iterrows():
        fl, rs = [], []
        if r["names"] >= rules.many_people:
            fl.append("many people")
            rs.append(
                f"advertised {int(r['names'])} distinct names and "
                f"{int(r['ages'])} distinct ages "
                f"across {_n(r['states'], 'state')}"
            )
        if r["states"] >= rules.many_states:
            fl.append("many states")
            named = ""
            if state_lists is not None and owner in state_lists.index:
                codes = list(state_lists[owner])
                named = " (" + ", ".join(codes[:8]) + (", ..." if len(codes) > 8 else "") + ")"
            rs.append(f"posted in {_n(r['states'], 'state')}{named}")
        if r["cities"] >= rules.many_cities:
            fl.append("many cities")
            rs.append(f"posted in {_n(r['cities'], 'city', 'cities')}")
        if r["ads_per_day"] >= rules.high_rate:
            fl.append("high rate")
            rs.append(
                f"{_n(r['ads'], 'ad')} on {_n(r['active_days'], 'active day')} "
                f"({r['ads_per_day']:.1f} per day)"
            )
        if r["phones"] >= rules.many_phones:
            fl.append("many phones")
            rs.append(f"used {_n(r['phones'], 'phone number')}")
        if r["usd_spent"] >= rules.high_spend_usd:
            fl.append("high spend")
            rs.append(f"spent ${r['usd_spent']:,.0f} ({r['btc_spent']:.4f} BTC) on ads")
        out_flags.append(fl)
        out_reasons.append(rs)
    return pd.DataFrame({"flags": out_flags, "reasons": out_reasons}, index=ind.index)


def _n(x: object, word: str, plural: str | None = None) -> str:
    n = int(x)  # type: ignore[call-overload]
    return f"{n} {word if n == 1 else (plural or word + 's')}"
