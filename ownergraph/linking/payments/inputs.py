"""The matcher's inputs: the ad and payment columns it reads, their checks and
normalisation, the expected cost of each ad, and the payments table built from chain
data (:func:`payments_from_tables`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ownergraph.errors import OwnergraphError
from ownergraph.linking.prices import POST_KINDS, PriceTable
from ownergraph.loaders.rates import RateTable

AD_COLUMNS = ("id", "posted_ts", "state", "category", "post_kind", "sponsored", "n_locations",
              "price_usd")  # fmt: skip
PAYMENT_COLUMNS = ("txid", "first_seen_ts", "sat_to_processor")  # optional: block_ts, payer

Rates = RateTable | pd.DataFrame | str | Path


class PaymentInputError(OwnergraphError, ValueError):
    """An ad or payment row is unusable; the message names the record and the reason."""


def as_rate_table(
    rates: Rates, method: str = "linear", max_staleness_s: int | None = None
) -> RateTable:
    """A ``RateTable`` from a table, a DataFrame (time_ts, usd_per_btc) or a CSV/Parquet path."""
    if isinstance(rates, RateTable):
        return rates
    if isinstance(rates, pd.DataFrame):
        return RateTable.from_frame(rates, method, max_staleness_s)  # type: ignore[arg-type]
    path = Path(rates)
    if path.suffix == ".parquet":
        return RateTable.from_parquet(path, method, max_staleness_s)  # type: ignore[arg-type]
    return RateTable.from_csv(path, method, max_staleness_s)  # type: ignore[arg-type]


def _unique_ids(values: pd.Series, what: str, name: str) -> None:
    if values.is_unique:  # cheaper than duplicated(); that runs only to name the record
        return
    dup = values.duplicated()
    if dup.any():
        raise PaymentInputError(f"{what} {values[dup].iloc[0]!r}: {name} appears more than once")


def prepare_ads(ads: pd.DataFrame) -> pd.DataFrame:
    """Ads with every column of ``AD_COLUMNS`` (missing optional ones as null), validated."""
    for col in ("id", "posted_ts"):
        if col not in ads.columns:
            raise PaymentInputError(f"ads: column {col!r} is required")
    df = ads.reindex(columns=list(AD_COLUMNS)).reset_index(drop=True)
    if df["id"].isna().any():
        raise PaymentInputError(f"ads: row {int(np.argmax(df['id'].isna()))} has no id")
    df["id"] = df["id"].astype("string")
    _unique_ids(df["id"], "ad", "id")
    ts = pd.to_numeric(df["posted_ts"], errors="coerce")
    bad = ts.isna() | (ts != np.floor(ts))
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise PaymentInputError(
            f"ad {df['id'][i]!r}: posted_ts {df['posted_ts'][i]!r} is not integer epoch seconds"
        )
    df["posted_ts"] = ts.astype("int64")
    price = pd.to_numeric(df["price_usd"], errors="coerce")
    wrong = price.isna() & df["price_usd"].notna()
    wrong |= price < 0
    if wrong.any():
        i = int(np.argmax(wrong.to_numpy()))
        raise PaymentInputError(f"ad {df['id'][i]!r}: price_usd {df['price_usd'][i]!r} is not >= 0")
    df["price_usd"] = price.astype("float64")
    return df


def prepare_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments (txid, first_seen_ts int64, sat_to_processor int64 > 0), validated."""
    missing = [c for c in PAYMENT_COLUMNS if c not in payments.columns]
    if missing:
        raise PaymentInputError(f"payments: columns {missing} are required")
    df = payments[list(PAYMENT_COLUMNS)].reset_index(drop=True)
    if df["txid"].isna().any():
        raise PaymentInputError(f"payments: row {int(np.argmax(df['txid'].isna()))} has no txid")
    _unique_ids(df["txid"], "payment tx", "txid")
    for col in ("first_seen_ts", "sat_to_processor"):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() | (v != np.floor(v))
        if col == "sat_to_processor":
            bad |= v <= 0
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise PaymentInputError(
                f"payment tx {df['txid'][i]!r}: {col} {df[col][i]!r} is not "
                + ("a positive integer" if col == "sat_to_processor" else "integer epoch seconds")
            )
        df[col] = v.astype("int64")
    if "block_ts" in payments.columns:
        b = pd.to_numeric(payments["block_ts"].reset_index(drop=True), errors="coerce")
        df["block_ts"] = b.astype("float64")
    if "payer" in payments.columns:
        df["payer"] = payments["payer"].reset_index(drop=True).astype("string")
    return df


def block_timed(pay: pd.DataFrame) -> np.ndarray:
    """Payments whose first-seen time is the block time (no earlier sighting logged)."""
    if "block_ts" not in pay.columns:
        return np.zeros(len(pay), dtype=bool)
    b = pay["block_ts"].to_numpy(dtype=np.float64, na_value=np.nan)
    return ~np.isnan(b) & (pay["first_seen_ts"].to_numpy(dtype=np.float64) >= b)


def expected_costs(ads: pd.DataFrame, prices: PriceTable) -> np.ndarray:
    """Expected USD cost per ad: ``price_usd`` when known, else the price table."""
    return ad_terms(ads, prices)[0]


def _norm_kind(v: Any) -> str:
    return "post" if pd.isna(v) else str(v)


def _norm_sponsored(v: Any) -> bool:
    if pd.isna(v):
        return False
    if isinstance(v, bool | np.bool_) or v in (0, 1):
        return bool(v)
    raise ValueError(f"sponsored {v!r} is not a boolean")


def _norm_locations(v: Any) -> int:
    if pd.isna(v):
        return 1
    if isinstance(v, bool) or not float(v).is_integer() or int(v) < 1:
        raise ValueError(f"n_locations {v!r} is not an integer >= 1")
    return int(v)


def ad_terms(ads: pd.DataFrame, prices: PriceTable) -> tuple[np.ndarray, np.ndarray]:
    """(expected USD cost, sponsored flag) per ad.

    The cost is ``price_usd`` when known, else the price table, which is consulted once per
    distinct (state, category, kind, sponsored, locations); values are normalised once per
    distinct raw value (columns are factorised first), so 1M ads cost little.
    """
    n = len(ads)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    norms = {
        "state": lambda v: "" if pd.isna(v) else str(v).upper(),
        "category": lambda v: "" if pd.isna(v) else str(v).lower(),
        "post_kind": _norm_kind,
        "sponsored": _norm_sponsored,
        "n_locations": _norm_locations,
    }
    combined = np.zeros(n, dtype=np.int64)
    values: list[list[Any]] = []
    for col, norm in norms.items():
        codes, uniques = pd.factorize(ads[col], use_na_sentinel=False)
        vals = []
        for k, raw in enumerate(uniques):
            try:
                v = norm(raw)
                if col == "post_kind" and v not in POST_KINDS:
                    raise ValueError(f"post_kind {v!r} is not one of {POST_KINDS}")
            except (TypeError, ValueError) as exc:
                i = int(np.argmax(codes == k))
                raise PaymentInputError(f"ad {ads['id'].iloc[i]!r}: {exc}") from None
            vals.append(v)
        values.append(vals)
        combined = combined * len(uniques) + codes
    uniq, inverse = np.unique(combined, return_inverse=True)
    table = np.empty(len(uniq))
    spons_u = np.empty(len(uniq), dtype=bool)
    for j, code in enumerate(uniq.tolist()):
        parts = []
        for vals in reversed(values):
            code, k = divmod(code, len(vals))
            parts.append(vals[k])
        state, category, kind, sponsored, n_loc = reversed(parts)
        table[j] = prices.cost_usd(state, category, kind, sponsored, n_loc)
        spons_u[j] = sponsored
    given = ads["price_usd"].to_numpy(dtype=np.float64, na_value=np.nan)
    cost = np.where(np.isnan(given), table[inverse], given)
    return cost, spons_u[inverse]


def payments_from_tables(
    outputs: pd.DataFrame,
    txs: pd.DataFrame,
    processors: Iterable[str],
    inputs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per tx that pays the processor set: txid, first_seen_ts, sat_to_processor.

    ``sat_to_processor`` sums the tx's outputs to processor addresses. With ``inputs``,
    transactions that spend from a processor address (sweeps, internal moves) are not
    customer payments and are left out. A paying tx without a first-seen time, or absent
    from ``txs``, is an error naming it.
    """
    proc = pd.Index(list(processors), dtype="string").unique()
    out = outputs[outputs["address"].astype("string").isin(proc).fillna(False).to_numpy(bool)]
    if out["sat"].isna().any():
        raise PaymentInputError(
            f"payment tx {out.loc[out['sat'].isna(), 'txid'].iloc[0]!r}: output value unknown"
        )
    sat = out.groupby("txid", sort=True)["sat"].sum().astype("int64")
    if inputs is not None and len(sat):
        spends = inputs.loc[
            inputs["address"].astype("string").isin(proc).fillna(False).to_numpy(bool), "txid"
        ]
        sat = sat[~sat.index.isin(spends)]
    seen = txs.drop_duplicates("txid").set_index("txid")["first_seen_ts"]
    first = sat.index.to_series().map(seen)
    if first.isna().any():
        raise PaymentInputError(
            f"payment tx {first.index[first.isna().to_numpy()][0]!r}: no first-seen time "
            "(not in txs, or neither mempool nor block time known)"
        )
    out = pd.DataFrame(
        {
            "txid": sat.index.astype("string"),
            "first_seen_ts": first.to_numpy().astype("int64"),
            "sat_to_processor": sat.to_numpy(),
        }
    )
    if "block_ts" in txs.columns:
        block = txs.drop_duplicates("txid").set_index("txid")["block_ts"]
        out["block_ts"] = sat.index.to_series().map(block).to_numpy()
    return out
