"""Owner-group indicators, an explainable score, and flags with one-line reasons.

Indicators per group, over its *counted* ads: reposts (``REPOST_OF``, see
:mod:`ownergraph.owners.reposts`) are left out of every indicator and counted in
``reposts`` only.

- ``ads``: counted ads; ``reposts``: ads left out as reposts of one of them;
- ``dated_ads``, ``undated_ads``, ``first_ts``, ``last_ts``: ads with and without a
  posting time, and the first/last posting time (UTC seconds; ``-1`` when none is dated);
- ``active_days``: distinct UTC days with at least one dated ad; ``ads_per_day`` =
  ``dated_ads / active_days`` (undated ads never raise the rate; 0 without dated ads);
- ``states``, ``cities``: distinct regions and cities by the one place key
  (:func:`ownergraph.places.place_key`, through :func:`ownergraph.place_keys.place_key`:
  "Odessa" and "Odessa, Texas" in TX are one city; Ontario, Canada and a region "ON" of
  another country are two); ``moves``: changes of the main city along the group's stays
  in time order (:func:`ownergraph.movement.stays`) -- a circuit;
- ``names``, ``ages``: distinct advertised names (case-folded) and ages, from the
  structured fields and from the text (:mod:`ownergraph.text_indicators`);
  ``ethnicities``: distinct ethnicities/nationalities named in the text;
- ``third_person``, ``new_in_town``, ``several_women``, ``youth``: share of the counted
  ads whose text has the indicator (0-1); ``shared_incall``: incall places (from the
  text) that ads under two or more different names give;
- ``phones``, ``emails``, ``wallets``: distinct identifiers / paying wallets of its ads;
- ``btc_spent``: satoshis that the group's paying transactions (``PAID_FOR``, each
  transaction once) sent to payment-processor addresses (``Address.processor``), in BTC;
- ``usd_spent``: with an exchange-rate table, ``btc_spent`` valued at the rate at each
  transaction's first-seen time; without one, per paying transaction the expected cost
  of the ad it paid (``Ad.price_usd``, else the price table's cost) times
  ``1 + PAID_FOR.usd_error`` -- the USD value the payment matcher measured;
- ``evidence``: evidence kinds that join at least two of the group's ads.

Score (0-100), default recipe: a weighted sum of saturated indicators. Each indicator
beyond its "normal" value for one person (1 name, 1 state, ...) is scaled as
``min(1, log(1 + x - base) / log(1 + cap - base))``: it saturates at ``cap``, so one
inflated indicator (thousands of ads, dozens of states) adds at most its weight. No
weight exceeds 0.15: no single indicator gives more than 15 of the 100 points. Weights,
bases and caps are in :data:`SCORE_PARTS`; :func:`explain_score` returns each part's
points and its share of the score. With analyst labels the weights are learned instead
(:mod:`ownergraph.stages.score_model`), on the same saturated parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ownergraph import movement, place_keys
from ownergraph import text_indicators as ti
from ownergraph.linking.prices import PriceTable

# indicator -> (weight, base, cap): the score's documented default recipe.
SCORE_PARTS: dict[str, tuple[float, float, float]] = {
    "names": (0.15, 1, 8),  # many different people advertised
    "ages": (0.10, 1, 6),  # many different ages advertised
    "phones": (0.15, 1, 4),  # phones rotated, booking lines beside the women's own
    "states": (0.10, 1, 6),  # travel across states
    "moves": (0.10, 0, 8),  # a circuit: city changes in time order
    "ads_per_day": (0.05, 1, 6),  # posting rate on dated active days (weak: see below)
    "cities": (0.05, 1, 10),
    "ethnicities": (0.05, 1, 4),
    "several_women": (0.05, 0, 0.5),  # share of ads offering several women
    "third_person": (0.04, 0, 0.5),  # share of ads written about her, not by her
    "youth": (0.03, 0, 0.5),  # share of ads with youth-suggestive wording
    "new_in_town": (0.02, 0, 0.5),
    "shared_incall": (0.02, 0, 3),
    "ads": (0.05, 1, 200),
    "usd_spent": (0.04, 0, 2000),
}
# Why these weights (2026-12, benchmarks/bench_leads.py, chosen on synthetic seeds 1-3 and
# checked on 4-6): an operation shows several phones -- each woman's own, rotated, and a
# booking line beside them -- on even its first few ads, so ``phones`` carries the most
# weight and saturates early (4 phones); the posting rate is weak evidence (a busy
# independent posts as often as one woman of an operation; alone it ranks with AUC ~0.62)
# and undated or re-crawled ads once inflated it on real data, so it carries little. The
# text indicators that the synthetic world does not write (third person, youth, ...)
# keep small weights from the field's lists (Tong et al. 2017; Polaris), unmeasured here.
MAX_PART_WEIGHT = 0.15

INDICATORS = (
    "ads",
    "reposts",
    "dated_ads",
    "undated_ads",
    "first_ts",
    "last_ts",
    "states",
    "cities",
    "moves",
    "active_days",
    "ads_per_day",
    "names",
    "ages",
    "ethnicities",
    "third_person",
    "new_in_town",
    "several_women",
    "youth",
    "shared_incall",
    "phones",
    "emails",
    "wallets",
    "btc_spent",
    "usd_spent",
    "evidence",
)
INT_INDICATORS = (
    "ads", "reposts", "dated_ads", "undated_ads", "first_ts", "last_ts", "states", "cities",
    "moves", "active_days", "names", "ages", "ethnicities", "shared_incall", "phones",
    "emails", "wallets",
)  # fmt: skip
SHARE_INDICATORS = ti.BOOL_INDICATORS

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
    reposts: pd.DataFrame | None = None,
    text: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Indicators per owner group, indexed by owner id (sorted).

    ``ads``: one row per ad (id, posted_ts, state, city, country, name, age, title, body; price_usd,
    category, post_kind, sponsored, n_locations for expected costs). ``membership``: owner
    id per ad id. ``links``: (ad, kind, hub) for kinds phone/email/wallet/author.
    ``payments``: (ad, txid, sat, first_seen_ts, usd_error, confidence) with ``sat`` paid
    to processors by the tx. ``rates``: a ``RateTable`` or a (time_ts, usd_per_btc)
    frame. ``reposts``: (src, dst) repost -> the ad it repeats; reposts are not counted.
    ``text``: :func:`ownergraph.text_indicators.extract_frame` of the ads (when not given:
    from the ads' stored text properties, ``text_rules`` etc., else from ``title``/``body``;
    :func:`ownergraph.text_indicators.stored_or_extracted`). Every ad must have an owner.
    """
    ads = ads.drop_duplicates("id").set_index("id")
    missing = ads.index.difference(membership.index)
    if len(missing):
        raise ValueError(f"{len(missing)} ads have no owner group, e.g. {list(missing[:3])}")
    all_ads = ads  # payments count for reposts too: each one paid for a posting
    owner_all = membership.reindex(ads.index)
    n_reposts = pd.Series(dtype="int64")
    if reposts is not None and len(reposts):
        is_repost = ads.index.isin(reposts["src"])
        n_reposts = owner_all[is_repost].value_counts()
        all_owners = owner_all.unique()
        ads = ads[~is_repost]
    else:
        all_owners = owner_all.unique()
    if text is None:  # stored at load where the ads carry them, else read from the text
        text = ti.stored_or_extracted(ads.reset_index())
    text = text.reindex(ads.index)
    owner = membership.reindex(ads.index)
    keys = [
        place_keys.place_key(st, c, cc)
        for st, c, cc in zip(*(_values(ads, k) for k in ("state", "city", "country")), strict=True)
    ]
    ts = pd.to_numeric(_col(ads, "posted_ts"), errors="coerce")
    df = pd.DataFrame(
        {
            "owner": owner.to_numpy(),
            "ts": ts.to_numpy(),
            "day": ts.floordiv(DAY).to_numpy(),
            "state": [k[0] for k in keys],
            "city": [k[1] for k in keys],
        },
        index=ads.index,
    )
    df["place"] = df["city"]  # the city key holds its region and country
    g = df.groupby("owner", sort=True)
    out = pd.DataFrame(
        {
            "ads": g.size(),
            "dated_ads": g["ts"].count(),
            "first_ts": g["ts"].min(),
            "last_ts": g["ts"].max(),
            "states": g["state"].nunique(),
            "cities": g["place"].nunique(),
            "active_days": g["day"].nunique(),
        }
    )
    out = out.reindex(sorted(all_owners, key=str)) if len(out) < len(all_owners) else out
    out[["ads", "dated_ads", "states", "cities", "active_days"]] = out[
        ["ads", "dated_ads", "states", "cities", "active_days"]
    ].fillna(0)
    out[["first_ts", "last_ts"]] = out[["first_ts", "last_ts"]].fillna(-1)
    out["reposts"] = n_reposts.reindex(out.index, fill_value=0)
    out["undated_ads"] = out["ads"] - out["dated_ads"]
    out["ads_per_day"] = (
        out["dated_ads"] / out["active_days"].where(out["active_days"] > 0)
    ).fillna(0.0)  # noqa: E501
    out["moves"] = _moves(df).reindex(out.index, fill_value=0)
    _text_indicators(out, ads, text, owner)
    links = links if links is not None else pd.DataFrame(columns=["ad", "kind", "hub"])
    lk = links.assign(owner=membership.reindex(links["ad"]).to_numpy())
    for kind, col in (("phone", "phones"), ("email", "emails"), ("wallet", "wallets")):
        sub = lk[lk["kind"] == kind]
        out[col] = sub.groupby("owner")["hub"].nunique().reindex(out.index, fill_value=0)
    shared = lk.groupby(["owner", "kind", "hub"]).size()
    shared = shared[shared >= 2].reset_index()
    kinds_of: dict[object, set[str]] = {}
    for o, k in zip(shared["owner"].tolist(), shared["kind"].tolist(), strict=True):
        kinds_of.setdefault(o, set()).add(k)
    ev = pd.Series(
        {o: ",".join(k for k in _KIND_ORDER if k in ks) for o, ks in kinds_of.items()},
        dtype="str",
    )
    out["evidence"] = ev.reindex(out.index).fillna("").astype("str")
    btc, usd = _spending(all_ads, membership, payments, rates, prices or PriceTable())
    out["btc_spent"] = btc.reindex(out.index, fill_value=0.0)
    out["usd_spent"] = usd.reindex(out.index, fill_value=0.0)
    out.index.name = "owner"
    return out[list(INDICATORS)].astype({c: "int64" for c in INT_INDICATORS})


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(pd.NA, index=df.index, dtype=object)


def _values(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values as an object array (iterating an Arrow-backed column element by
    element is ~10x slower; missing values stay the column's NA)."""
    return _col(df, name).to_numpy(dtype=object)


def _moves(df: pd.DataFrame) -> pd.Series:
    """City changes along each group's stays in time order (dated ads with a city)."""
    dated = df.dropna(subset=["ts", "city"])
    places = dated.groupby("owner", sort=False)["place"].nunique()
    out = dict.fromkeys(places.index, 0)  # a group in one place never moves
    moving = dated[dated["owner"].isin(places.index[places >= 2])]
    for o, g in moving.groupby("owner", sort=False):
        rows = [
            {"posted_ts": int(t), "city": c, "state": s or ""}
            for t, c, s in zip(g["ts"], g["city"], g["state"], strict=True)
        ]
        out[o] = max(0, len(movement.stays(rows)) - 1)
    return pd.Series(out, dtype="int64")


def _distinct(values: pd.Series, owner: pd.Series) -> pd.Series:
    """Distinct values per owner of a column of tuples (or scalars; missing skipped)."""
    ex = pd.DataFrame({"owner": owner.to_numpy(), "v": values.to_numpy()}).explode("v")
    ex = ex.dropna(subset=["v"])
    return ex.groupby("owner")["v"].nunique()


def _text_indicators(
    out: pd.DataFrame, ads: pd.DataFrame, text: pd.DataFrame, owner: pd.Series
) -> None:
    """names, ages, ethnicities, the shares and shared_incall, from fields and text."""
    name_field = _col(ads, "name").astype("string").str.strip().str.casefold().replace("", pd.NA)
    text_names = text["text_names"].map(
        lambda t: tuple(n.casefold() for n in t) if isinstance(t, tuple) else ()
    )  # noqa: E501
    pairs = zip(name_field, text_names, strict=True)
    names = [tuple({*(() if pd.isna(f) else (f,)), *t}) for f, t in pairs]
    age_field = pd.to_numeric(_col(ads, "age"), errors="coerce")
    ages = [
        tuple({*(() if pd.isna(a) else (int(a),)), *(t if isinstance(t, tuple) else ())})
        for a, t in zip(age_field, text["text_ages"], strict=True)
    ]
    idx = out.index
    out["names"] = _distinct(pd.Series(names, index=ads.index), owner).reindex(idx, fill_value=0)
    out["ages"] = _distinct(pd.Series(ages, index=ads.index), owner).reindex(idx, fill_value=0)
    out["ethnicities"] = _distinct(text["ethnicities"], owner).reindex(idx, fill_value=0)
    for k in SHARE_INDICATORS:
        share = text[k].fillna(False).astype(float).groupby(owner.to_numpy()).mean()
        out[k] = share.reindex(idx, fill_value=0.0).round(4)
    inc = pd.DataFrame(
        {"owner": owner.to_numpy(), "incall": text["incall"].to_numpy(), "name": names}
    )
    inc = inc.dropna(subset=["incall"]).explode("name").dropna(subset=["name"])
    per = inc.groupby(["owner", "incall"])["name"].nunique()
    out["shared_incall"] = (per >= 2).groupby(level=0).sum().reindex(idx, fill_value=0)


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
    used = [c for c in _COST_FIELDS if c in ads.columns]  # what _expected_cost reads
    cost = tx["ad"].map(
        {r.Index: _expected_cost(r, prices) for r in ads.loc[tx["ad"].unique(), used].itertuples()}
    )
    err = (
        pd.to_numeric(tx.get("usd_error"), errors="coerce").fillna(0.0)
        if ("usd_error" in tx.columns)
        else 0.0
    )
    usd = (cost.astype(float) * (1.0 + err)).groupby(tx["owner"]).sum()
    return btc, usd


_COST_FIELDS = ("price_usd", "state", "category", "post_kind", "sponsored", "n_locations")


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


def scaled_parts(ind: pd.DataFrame) -> pd.DataFrame:
    """Each :data:`SCORE_PARTS` indicator saturated to 0-1 (the features of both the
    default recipe and the learned model); a missing indicator counts 0."""
    out = {}
    for col, (_, base, cap) in SCORE_PARTS.items():
        v = (
            pd.to_numeric(ind[col], errors="coerce")
            if col in ind
            else pd.Series(0.0, index=ind.index)
        )  # noqa: E501
        x = (v.astype(float).fillna(base) - base).clip(lower=0)
        out[col] = np.minimum(1.0, np.log1p(x) / np.log1p(cap - base))
    return pd.DataFrame(out, index=ind.index)


def score_parts(ind: pd.DataFrame) -> pd.DataFrame:
    """Each score part's contribution (points out of 100) per group, default recipe."""
    total = sum(w for w, _, _ in SCORE_PARTS.values())
    scaled = scaled_parts(ind)
    return pd.DataFrame(
        {col: 100.0 * w / total * scaled[col] for col, (w, _, _) in SCORE_PARTS.items()},
        index=ind.index,
    )


def score(ind: pd.DataFrame) -> pd.Series:
    """The 0-100 score per group: the sum of :func:`score_parts`."""
    return score_parts(ind).sum(axis=1).round(2)


def explain_score(ind_row: pd.Series, model: Any = None) -> list[str]:
    """One line per score part that contributes, largest first, with its share of the
    score: ``names=5: +11.6 (28%)``. ``model``: a fitted
    :class:`ownergraph.stages.score_model.LeadScorer` (learned weights), else the default
    recipe."""
    frame = ind_row.to_frame().T
    if model is not None:
        return model.explain(frame).iloc[0]
    parts = score_parts(frame).iloc[0].sort_values(ascending=False)
    total = parts.sum()
    return [
        f"{k}={_fmt(ind_row.get(k))}: +{v:.1f} ({100 * v / total:.0f}%)"
        for k, v in parts.items()
        if v > 0
    ]


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
    fired = rule_hits(ind, rules)
    out_flags: list[list[str]] = [[] for _ in range(len(ind))]
    out_reasons: list[list[str]] = [[] for _ in range(len(ind))]
    # only the groups some rule flags are read row by row (most groups trip none)
    hit = np.flatnonzero(np.logical_or.reduce(list(fired.values())))
    for k, (owner, r) in zip(hit, ind.iloc[hit].iterrows(), strict=True):
        fl, rs = [], []
        if fired["many people"][k]:
            fl.append("many people")
            rs.append(
                f"advertised {int(r['names'])} distinct names and "
                f"{int(r['ages'])} distinct ages "
                f"across {_n(r['states'], 'state')}"
            )
        if fired["many states"][k]:
            fl.append("many states")
            named = ""
            if state_lists is not None and owner in state_lists.index:
                codes = list(state_lists[owner])
                named = " (" + ", ".join(codes[:8]) + (", ..." if len(codes) > 8 else "") + ")"
            rs.append(f"posted in {_n(r['states'], 'state')}{named}")
        if fired["many cities"][k]:
            fl.append("many cities")
            rs.append(f"posted in {_n(r['cities'], 'city', 'cities')}")
        if fired["high rate"][k]:
            fl.append("high rate")
            dated = r.get("dated_ads", r["ads"])
            undated = int(r.get("undated_ads", 0) or 0)
            rs.append(
                f"{_n(dated, 'dated ad')} on {_n(r['active_days'], 'active day')} "
                f"({r['ads_per_day']:.1f} per day"
                + (f"; {undated} undated not counted)" if undated else ")")
            )
        if fired["many phones"][k]:
            fl.append("many phones")
            rs.append(f"used {_n(r['phones'], 'phone number')}")
        if fired["high spend"][k]:
            fl.append("high spend")
            rs.append(f"spent ${r['usd_spent']:,.0f} ({r['btc_spent']:.4f} BTC) on ads")
        out_flags[k], out_reasons[k] = fl, rs
    return pd.DataFrame({"flags": out_flags, "reasons": out_reasons}, index=ind.index)


def rule_hits(ind: pd.DataFrame, rules: FlagRules | None = None) -> dict[str, np.ndarray]:
    """Per flag of :func:`flags`, which groups of ``ind`` its rule flags (a missing value
    flags nothing): the one place each rule's test is written."""
    rules = rules or FlagRules()
    tests = {
        "many people": ("names", rules.many_people),
        "many states": ("states", rules.many_states),
        "many cities": ("cities", rules.many_cities),
        "high rate": ("ads_per_day", rules.high_rate),
        "many phones": ("phones", rules.many_phones),
        "high spend": ("usd_spent", rules.high_spend_usd),
    }
    return {
        flag: (ind[col] >= limit).to_numpy(dtype=bool, na_value=False)
        for flag, (col, limit) in tests.items()
    }


def _n(x: object, word: str, plural: str | None = None) -> str:
    n = int(x)  # type: ignore[call-overload]
    return f"{n} {word if n == 1 else (plural or word + 's')}"
