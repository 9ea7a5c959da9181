"""The payments stage: read ads and processor payments from the store, match them with
:class:`ownergraph.linking.payments.PaymentMatcher`, replace the PAID_FOR edges.

The matching rule and its measurements are documented in :mod:`ownergraph.linking.payments`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from ownergraph import defaults
from ownergraph.linking.payments import (
    AD_COLUMNS,
    DEFAULT_BLOCK_SLACK_S,
    DEFAULT_MAX_COINCIDENCE,
    DEFAULT_WINDOW,
    PAID_FOR_PROPS,
    PAYMENT_COLUMNS,
    PaymentInputError,
    PaymentMatcher,
    Rates,
    resolve_one_to_one,
)
from ownergraph.linking.prices import PriceTable
from ownergraph.stages.base import Progress, StageSummary, no_progress
from ownergraph.stages.bitcoin import read_bitcoin
from ownergraph.store.schema import SCHEMA

ADS_QUERY = f"MATCH (a:Ad) RETURN {SCHEMA.node('Ad').returns(AD_COLUMNS, 'a')}"
# {when}: empty, or WINDOW (txs first seen, else mined, between $lo and $hi)
WINDOW = (
    " AND coalesce(t.first_seen_ts, t.block_ts) >= $lo"
    " AND coalesce(t.first_seen_ts, t.block_ts) <= $hi"
)
PAYMENTS_QUERY = (
    "MATCH (t:Tx)-[p:PAYS]->(a:Address) WHERE a.processor = true{when} "
    "RETURN t.txid AS txid, t.first_seen_ts AS first_seen_ts, t.block_ts AS block_ts, "
    "sum(p.sat) AS sat_to_processor"
)
PAYERS_QUERY = (  # who paid: the wallet of a paying tx's inputs, else its smallest input address
    "MATCH (x:Address)-[:SPENT_IN]->(t:Tx)-[:PAYS]->(p:Address) WHERE p.processor = true{when} "
    "AND (t.coinjoin IS NULL OR t.coinjoin = false) "
    "OPTIONAL MATCH (x)-[:IN_WALLET]->(w:Wallet) "
    "RETURN t.txid AS txid, min(w.id) AS wallet, min(x.address) AS address"
)
PROCESSOR_SPENDS_QUERY = (
    "MATCH (a:Address)-[:SPENT_IN]->(t:Tx) WHERE a.processor = true{when} "
    "RETURN DISTINCT t.txid AS txid"
)


def read_ads(store: Any) -> pd.DataFrame:
    """Every Ad with the fields the matcher needs."""
    return store.query_frame(ADS_QUERY, list(AD_COLUMNS))


def read_payments(store: Any, window: tuple[int, int] | None = None) -> tuple[pd.DataFrame, int]:
    """Txs paying ``Address.processor = true`` addresses (not spending from one).

    Returns the payments and the number of processor-paying txs left out because they
    spend from a processor address (sweeps / internal moves). ``window`` (``lo``, ``hi``,
    Unix seconds): only txs first seen (else mined) in it, filtered in the store, as an
    incremental run needs for a day's ads; each tx's row is the same as in the whole read.
    """
    when = WINDOW if window is not None else ""
    params = {"lo": int(window[0]), "hi": int(window[1])} if window is not None else {}

    def q(cypher: str) -> str:
        return cypher.format(when=when)

    df = store.query_frame(q(PAYMENTS_QUERY), [*PAYMENT_COLUMNS, "block_ts"], params)
    internal = {r["txid"] for r in store.query(q(PROCESSOR_SPENDS_QUERY), params)}
    drop = df["txid"].isin(internal)
    df = df[~drop].reset_index(drop=True)
    payers = store.query_frame(q(PAYERS_QUERY), ["txid", "wallet", "address"], params)
    payer = ("wallet:" + payers["wallet"].astype("string")).fillna(
        "address:" + payers["address"].astype("string")
    )
    df["payer"] = df["txid"].map(pd.Series(payer.to_numpy(), index=payers["txid"]))
    return df, int(drop.sum())


def set_processor_flags(store: Any, processors: Iterable[str]) -> dict[str, int]:
    """Make ``Address.processor`` true exactly for the given set (on existing addresses);
    returns the :class:`PaymentsSummary` fields ``processors_*`` and ``processor_flags_*``."""
    proc = set(processors)
    current = {
        r["a"]
        for r in store.query("MATCH (a:Address) WHERE a.processor = true RETURN a.address AS a")
    }
    known = {
        r["a"]
        for r in store.query(
            "UNWIND $keys AS k MATCH (a:Address {address: k}) RETURN a.address AS a",
            {"keys": sorted(proc)},
        )
    }
    rows = [{"address": a, "processor": True} for a in sorted(known - current)]
    rows += [{"address": a, "processor": False} for a in sorted(current - proc)]
    if rows:
        store.upsert_nodes("Address", rows)
    return {
        "processors_given": len(proc),
        "processors_in_graph": len(known),
        "processor_flags_set": len(known - current),
        "processor_flags_cleared": len(current - proc),
    }


def write_paid_for(store: Any, links: pd.DataFrame, batch_size: int = 50_000) -> int:
    """Replace every PAID_FOR edge with ``links`` (a re-run gives the same edges)."""
    store.delete_edges("PAID_FOR")
    edges = pd.DataFrame(
        {
            "src": links["txid"].astype("string").to_numpy(),
            "dst": links["ad_id"].astype("string").to_numpy(),
            **{c: links[c].to_numpy() for c in PAID_FOR_PROPS},
        }
    )
    n = 0
    for i in range(0, len(edges), batch_size):
        n += store.upsert_edges("PAID_FOR", edges.iloc[i : i + batch_size])
    return n


@dataclass
class LinkConfig:
    """Settings of ``link_payments`` (the matcher's own settings plus the run's)."""

    window: tuple[int, int] = DEFAULT_WINDOW
    tolerance: float = defaults.PAY_TOLERANCE
    sponsored_tolerance: float = defaults.PAY_SPONSORED_TOLERANCE
    rate_method: Literal["linear", "previous"] = "linear"
    max_rate_staleness_s: int | None = None
    rounding_sat: int | None = None  # processors round invoices up to this many satoshi
    block_slack_s: int | None = DEFAULT_BLOCK_SLACK_S  # block-timed: seen up to S s before
    max_coincidence: float | None = DEFAULT_MAX_COINCIDENCE  # definite links' chance share
    one_to_one: Literal["greedy", "optimal"] | None = None
    min_margin: float = 0.0  # one-to-one: a pick must beat its rivals' fit by more than this
    processors: list[str] | None = None  # given set; None: the graph's flags
    discover: bool = False  # discover the set with the sweep heuristic
    discover_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.one_to_one not in (None, "greedy", "optimal"):
            raise ValueError(f"unknown one-to-one method {self.one_to_one!r} (greedy or optimal)")
        if not 0.0 <= self.min_margin < 1.0:
            raise ValueError(f"min_margin must be in [0, 1), got {self.min_margin}")
        if self.rate_method not in ("linear", "previous"):
            raise ValueError(f"unknown rate method {self.rate_method!r} (linear or previous)")
        if self.processors is not None and self.discover:
            raise ValueError("give a processor set or discover one, not both")
        if self.max_coincidence is not None and self.max_coincidence >= 1:
            self.max_coincidence = None  # every lone candidate is definite
        self.matcher(None)._check()

    def matcher(self, price_table: PriceTable | None) -> PaymentMatcher:
        return PaymentMatcher(
            window=self.window,
            tolerance=self.tolerance,
            sponsored_tolerance=self.sponsored_tolerance,
            price_table=price_table,
            rate_method=self.rate_method,
            max_rate_staleness_s=self.max_rate_staleness_s,
            rounding_sat=self.rounding_sat,
            block_slack_s=self.block_slack_s,
            max_coincidence=self.max_coincidence,
        )


@dataclass
class PaymentsSummary(StageSummary):
    """What ``link_payments`` did (None: that step did not run)."""

    processors_discovered: int | None = None
    processors_given: int | None = None
    processors_in_graph: int | None = None
    processor_flags_set: int | None = None
    processor_flags_cleared: int | None = None
    ads_untimed: int = 0  # ads without a posting time (cannot be matched)
    payments_internal: int = 0  # processor-paying txs spending from a processor (left out)
    ads: int = 0
    payments: int = 0
    window_pairs: int = 0
    links: int = 0
    linked_ads: int = 0
    ambiguous_ads: int = 0
    ambiguous_links: int = 0
    definite_links: int = 0  # the only candidate of their ad and tx, not likely chance
    lone_ambiguous: int = 0  # lone candidates left ambiguous (likely chance or block-timed)
    definite_expected_wrong: float = 0.0  # estimated wrong among definite links
    payments_with_payer: int = 0  # with a known payer (wallet or input address)
    block_timed_links: int = 0  # tx missing from the mempool log
    one_to_one: str | None = None
    one_to_one_dropped: int | None = None
    paid_for_written: int = 0
    linked_ads_written: int = 0


def link_payments(
    store: Any,
    rates: Rates,
    price_table: PriceTable | None = None,
    config: LinkConfig | None = None,
    progress: Progress | None = None,
) -> PaymentsSummary:
    """Read ads and processor payments from ``store``, match them, replace PAID_FOR.

    The processor set is ``config.processors`` when given, discovered with the sweep
    heuristic when ``config.discover``, else the graph's ``Address.processor`` flags; a
    given or discovered set is written to those flags first.
    """
    from ownergraph.linking.processors import discover_processors

    cfg = config or LinkConfig()
    say = progress or no_progress
    summary = PaymentsSummary()
    if cfg.discover:
        say("reading chain data for processor discovery", 0, None)
        inputs, outputs, txs, _ = read_bitcoin(store)
        procs = discover_processors(inputs, outputs, txs, **cfg.discover_options)
        if not procs:
            k = cfg.discover_options.get("min_inputs", 3)
            raise PaymentInputError(
                f"processor discovery found no addresses: no sweep spends >= {k} invoice-like "
                "inputs into one output (too few payments between sweeps?); give the "
                "processor addresses, or seed with smaller sweeps (--min-sweep-inputs 2)"
            )
        summary.processors_discovered = len(procs)
        summary = replace(summary, **set_processor_flags(store, procs))
    elif cfg.processors is not None:
        summary = replace(summary, **set_processor_flags(store, cfg.processors))
    say("reading ads and payments", 0, None)
    ads = read_ads(store)
    untimed = ads["posted_ts"].isna().to_numpy()
    summary.ads_untimed = int(untimed.sum())
    ads = ads[~untimed]
    payments, internal = read_payments(store)
    if payments.empty and not store.query(
        "MATCH (a:Address) WHERE a.processor = true RETURN a.address AS a LIMIT 1"
    ):
        raise PaymentInputError(
            "no payment-processor addresses in the graph: give a processor file or discover them"
        )
    summary.payments_internal = internal
    say("matching", 0, len(ads))
    matcher = cfg.matcher(price_table)
    links, st = matcher.match_stats(ads, payments, rates)
    lone = (links["candidates"] == 1) & (links["tx_candidates"] == 1) & links["ambiguous"]
    summary = replace(
        summary,
        ads=st.ads,
        payments=st.payments,
        window_pairs=st.window_pairs,
        links=st.links,
        linked_ads=st.linked_ads,
        ambiguous_ads=st.ambiguous_ads,
        ambiguous_links=st.ambiguous_links,
        definite_links=st.links - st.ambiguous_links,
        lone_ambiguous=int(lone.sum()),
        definite_expected_wrong=round(
            float(links.loc[~links["ambiguous"], "coincidence"].sum()), 1
        ),
        payments_with_payer=int(payments["payer"].notna().sum()),
        block_timed_links=int(links["method"].astype(str).str.endswith("/block-time").sum()),
    )
    if cfg.one_to_one:
        resolved = resolve_one_to_one(links, cfg.one_to_one, cfg.min_margin)
        summary.one_to_one = cfg.one_to_one
        summary.one_to_one_dropped = len(links) - len(resolved)
        links = resolved
    say("writing PAID_FOR", 0, len(links))
    summary.paid_for_written = write_paid_for(store, links)
    summary.linked_ads_written = int(links["ad_id"].nunique())
    return summary
