"""Owner groups end to end: read the evidence, find groups, score them, write them back.

:func:`detect_owners` reads ads and their links through the Store interface, partitions
the ads (Leiden, connected components of hard identifiers, or Leiden inside Neo4j GDS),
computes indicators, score and flags, and replaces every earlier ``Owner`` node and
``BELONGS_TO`` edge with the new result. Every ad gets exactly one owner group (an ad
without evidence is a group of one). :func:`list_owners` and :func:`owner_detail` read
the result back for the CLI and the case report.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ownergraph import identifier_labels as il
from ownergraph import text_indicators
from ownergraph.errors import OwnergraphError
from ownergraph.linking.prices import PriceTable
from ownergraph.owners import calibration as cal
from ownergraph.owners import communities as cm
from ownergraph.owners import generic as gn
from ownergraph.owners import joins, reposts, scoring
from ownergraph.owners.evidence_graph import hub_keys
from ownergraph.stages import evidence as evidence_io
from ownergraph.stages import score_model
from ownergraph.stages.base import StageSummary
from ownergraph.store.base import Store, keyed_path
from ownergraph.store.schema import SCHEMA

# CPM resolution of method "leiden": evidence needed per pair of ads to keep two cores in
# one group. Calibrated on synthetic worlds (see benchmarks/bench_owner_accuracy.py).
DEFAULT_RESOLUTION = cm.DEFAULT_CPM_RESOLUTION
# Modularity gamma of method "gds-leiden" (GDS Leiden has no CPM).
DEFAULT_GDS_GAMMA = 1.0
LIST_SEP = "; "

ADS_QUERY = (
    "MATCH (a:Ad) RETURN a.id AS id, a.posted_ts AS posted_ts, a.state AS state, "
    "a.city AS city, a.country AS country, a.name AS name, a.age AS age, a.price_usd AS price_usd, "
    "a.category AS category, a.post_kind AS post_kind, a.sponsored AS sponsored, "
    "a.n_locations AS n_locations, a.title AS title, a.body AS body, "
    + ", ".join(f"a.{p} AS {p}" for p in text_indicators.AD_PROPERTIES)
)
_PAYMENTS_REST = (
    "OPTIONAL MATCH (t)-[p:PAYS]->(x:Address) WHERE x.processor = true "
    "RETURN a.id AS ad, t.txid AS txid, t.first_seen_ts AS first_seen_ts, "
    "pf.usd_error AS usd_error, pf.confidence AS confidence, "
    "sum(p.sat) AS sat, count(p) AS processor_outputs"
)
PAYMENTS_QUERY = "MATCH (t:Tx)-[pf:PAID_FOR]->(a:Ad) " + _PAYMENTS_REST


@dataclass
class OwnerSummary(StageSummary):
    """What a detection run did (printed by the CLI, returned to callers)."""

    method: str
    resolution: float | None
    weights: dict[str, float]
    ads: int = 0
    owners: int = 0
    groups: int = 0  # owner groups with at least two ads
    singletons: int = 0
    largest: int = 0
    links: dict[str, int] = field(default_factory=dict)  # evidence links used, per kind
    graph_vertices: int = 0
    graph_edges: int = 0
    payments_without_processor_output: int = 0
    flagged: int = 0
    soft_joins: dict[str, int] = field(default_factory=dict)  # cores joined, per soft kind
    calibration: dict[str, Any] = field(default_factory=dict)  # setting chosen, and why
    reposts: int = 0  # ads that repeat an earlier ad (REPOST_OF), counted once
    score: dict[str, Any] = field(default_factory=dict)  # default or learned, and how well
    seconds: float = 0.0
    setting: dict[str, Any] = field(default_factory=dict)  # the partition's setting (reusable)
    # generic identifiers found and cut out of the cores: how many, and the merges
    # (groups joined) they would have made on their own
    generic: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


AD_COLUMNS = [
    "id",
    "posted_ts",
    "state",
    "city",
    "country",
    "name",
    "age",
    "price_usd",
    "category",
    "post_kind",
    "sponsored",
    "n_locations",
    "title",
    "body",
    *text_indicators.AD_PROPERTIES,
]


def read_ads(store: Store) -> pd.DataFrame:
    return store.query_frame(ADS_QUERY, AD_COLUMNS).sort_values("id")


def read_payments(store: Store, ads: list[str] | None = None) -> pd.DataFrame:
    """Payments linked to ads (all, or those of ``ads``, read by key)."""
    cols = ["ad", "txid", "first_seen_ts", "usd_error", "confidence", "sat", "processor_outputs"]
    if ads is None:
        df = store.query_frame(PAYMENTS_QUERY, cols)
    else:
        q = keyed_path("(a:Ad {id: k})", "(t:Tx)-[pf:PAID_FOR]->(a)", _PAYMENTS_REST, bound="pf")
        df = store.query_keyed(q, ads, cols)
    # LadybugDB returns sum() over INT64 as Decimal; Neo4j as int. Satoshis are integers.
    df["sat"] = df["sat"].map(lambda v: 0 if v is None else int(v)).astype("int64")
    return df


def partition(
    ads: np.ndarray,
    evidence: pd.DataFrame,
    method: str = "leiden",
    weights: cm.EvidenceWeights | None = None,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
    must_link: tuple[str, ...] = cm.HARD_KINDS,
    attributes: pd.DataFrame | None = None,
    support_power: float = cm.DEFAULT_SUPPORT_POWER,
    attach_only: tuple[str, ...] = cm.ATTACH_ONLY_KINDS,
    attach_margin: float = cm.DEFAULT_ATTACH_MARGIN,
) -> tuple[pd.DataFrame, cm.EvidenceGraph]:
    """Owner per ad from an evidence frame: columns ad, owner, confidence (sorted by ad).

    ``method``: ``leiden`` (must-link cores joined by Leiden over the other active kinds,
    see :mod:`ownergraph.owners.communities`) or ``components`` (connected components over
    the hard identifiers among the active kinds). ``attributes``: a frame indexed by ad id
    whose columns (default use: ``name``, ``city``) corroborate author links; without it
    author links count unsupported (see :func:`ownergraph.owners.communities.core_graph`).
    """
    membership, graph = memberships(
        ads, evidence, method, weights, resolution, seed, must_link, attributes,
        support_power, attach_only, attach_margin,
    )  # fmt: skip
    return _assignment(graph, membership), graph


def memberships(
    ads: np.ndarray,
    evidence: pd.DataFrame,
    method: str = "leiden",
    weights: cm.EvidenceWeights | None = None,
    resolution: float = DEFAULT_RESOLUTION,
    seed: int = 0,
    must_link: tuple[str, ...] = cm.HARD_KINDS,
    attributes: pd.DataFrame | None = None,
    support_power: float = cm.DEFAULT_SUPPORT_POWER,
    attach_only: tuple[str, ...] = cm.ATTACH_ONLY_KINDS,
    attach_margin: float = cm.DEFAULT_ATTACH_MARGIN,
) -> tuple[np.ndarray, cm.EvidenceGraph]:
    """The partition of :func:`partition` as group codes aligned with the sorted ads,
    without owner ids and confidences (what calibration needs, a hundred times a run)."""
    weights = weights or cm.EvidenceWeights()
    if method == "components":
        hard = {k: (getattr(weights, k) if k in cm.HARD_KINDS else 0.0) for k in cm.KINDS}
        weights = cm.EvidenceWeights(**hard)
    graph = cm.build_evidence_graph(ads, evidence, weights)
    if method == "leiden":
        attrs = None if attributes is None else attributes.reindex(graph.ads)
        membership = cm.owner_communities(
            graph,
            resolution,
            must_link,
            seed=seed,
            attributes=attrs,
            support_power=support_power,
            attach_only=attach_only,
            attach_margin=attach_margin,
        )
    elif method == "components":
        membership = cm.components(graph)
    else:
        raise ValueError(f"unknown method {method!r}; use one of {cm.METHODS}")
    return membership, graph


def _assignment(graph: cm.EvidenceGraph, membership: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ad": graph.ads,
            "owner": cm.owner_ids(graph.ads, membership),
            "confidence": cm.membership_confidence(graph, membership).round(4),
        }
    )


def detect_owners(
    store: Store,
    weights: cm.EvidenceWeights | None = None,
    resolution: float | None = None,
    method: str = "leiden",
    *,
    must_link: tuple[str, ...] = cm.HARD_KINDS,
    seed: int = 0,
    rates: Any = None,
    prices: PriceTable | None = None,
    rules: scoring.FlagRules | None = None,
    calibrate: bool = True,
    author_joins: bool = False,
    run_id: str | None = None,
    generic: bool = gn.DEFAULT_ENABLED,
    join_rule: str = cal.DEFAULT_JOIN_RULE,
    generic_treatment: str = gn.DEFAULT_TREATMENT,
) -> OwnerSummary:
    """Find owner groups and write them (Owner nodes + BELONGS_TO), replacing old ones.

    ``method``: ``leiden`` | ``components`` | ``gds-leiden`` (Neo4j with GDS only).
    ``resolution``: default :data:`DEFAULT_RESOLUTION` (leiden, CPM) or
    :data:`DEFAULT_GDS_GAMMA` (gds-leiden, modularity).
    ``rates``: optional ``RateTable`` (or time_ts, usd_per_btc frame) to value the BTC
    payments in USD; without it USD is the matcher's measured value (see scoring).
    ``calibrate`` (method ``leiden``, when neither ``weights`` nor ``resolution`` is
    given): choose which soft evidence joins cores, and how, by re-attachment on the
    store's own identifier-labelled ads (:mod:`ownergraph.owners.calibration`).
    ``author_joins``: author links may join cores when supported (the previous default),
    taken as given, not calibrated.
    ``run_id``: the writing run (``ownergraph.daily.audit``), recorded in the id history.
    ``generic`` (leiden): generic phones and e-mails are marked on their nodes (``generic``,
    ``generic_reason``) and join only their ads that write alike (``generic_treatment``
    ``split``) or nothing (``cut``) (:func:`find_owners`).
    ``join_rule``: how calibration judges joins of cores by similarity evidence (``slack``,
    ``cut``: cut-and-rejoin, ``both``; :mod:`ownergraph.owners.calibration`).
    """
    if method not in cm.METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {cm.METHODS}")
    given_weights, given_resolution = weights, resolution
    weights = weights or cm.EvidenceWeights()
    if not weights.active():
        raise ValueError("every evidence weight is 0: nothing links ads")
    if resolution is None:
        resolution = DEFAULT_GDS_GAMMA if method == "gds-leiden" else DEFAULT_RESOLUTION
    t0 = time.perf_counter()
    ads = read_ads(store)
    active = (
        weights.active()
        if method != "components"
        else tuple(k for k in weights.active() if k in cm.HARD_KINDS)
    )
    evidence = evidence_io.fetch_evidence(store, cm.KINDS, checked=active)
    ad_ids = ads["id"].to_numpy(dtype=object)
    calibration = None
    marks = None
    if method == "gds-leiden":
        assigned, graph = _gds_partition(store, ad_ids, evidence, weights, resolution, seed)
        joined = joins.core_joins(graph, pd.factorize(assigned["owner"])[0], {}, must_link)
    else:
        found = find_owners(
            ads, evidence, method, given_weights, given_resolution,
            must_link=must_link, seed=seed, calibrate=calibrate and not author_joins,
            attach_only=() if author_joins else cm.ATTACH_ONLY_KINDS, generic=generic,
            join_rule=join_rule,
            generic_treatment=generic_treatment,
        )  # fmt: skip
        assigned, graph, joined, calibration, marks = (
            found.assigned,
            found.graph,
            found.joins,
            found.calibration,
            found.generic,
        )
        weights = found.setting.weights
        if calibration is not None:
            active = weights.active()
    setting = None if method == "gds-leiden" else found.setting
    g = group_rows(store, ads, evidence, assigned, joined, method, rates, prices, rules,
                   run_id=run_id)  # fmt: skip
    owners, repeats, payments, mode, score_info = (
        g.owners,
        g.reposts,
        g.payments,
        g.score_mode,
        g.score_info,
    )
    joined = g.joined
    # Replace the previous result: everything is computed before anything is deleted.
    store.delete_nodes("Owner")
    store.upsert_nodes("Owner", owners)
    store.upsert_edges("BELONGS_TO", g.edges)
    store.delete_edges("REPOST_OF")
    store.upsert_edges("REPOST_OF", repeats)
    if len(g.history):
        store.upsert_nodes("OwnerChange", g.history)
    if marks is not None:
        for label, rows in generic_rows(marks).items():
            if len(rows):
                store.upsert_nodes(label, rows)
    sizes = owners["ads"]
    kept = evidence[evidence["kind"].isin(active)]
    return OwnerSummary(
        method=method,
        resolution=None if method == "components" else resolution,
        weights=asdict(weights),
        ads=len(ads),
        owners=len(owners),
        groups=int((sizes >= 2).sum()),
        singletons=int((sizes == 1).sum()),
        largest=int(sizes.max()) if len(sizes) else 0,
        links={k: int((kept["kind"] == k).sum()) for k in active},
        graph_vertices=graph.n_ads + len(graph.hubs),
        graph_edges=graph.n_edges,
        payments_without_processor_output=int(
            payments.drop_duplicates("txid")["processor_outputs"].eq(0).sum()
        ),
        flagged=int((owners["flags"] != "").sum()),
        soft_joins=joins.merges_by_kind(joined.reset_index()),
        calibration=_calibration_summary(calibration, method),
        reposts=len(repeats),
        score={"mode": mode, **{k: v for k, v in score_info.items() if k != "weights"}},
        seconds=round(time.perf_counter() - t0, 3),
        setting={} if setting is None else asdict(setting),
        generic=generic_summary(marks),
    )


@dataclass
class GroupRows:
    """What a partition writes: Owner rows, BELONGS_TO and REPOST_OF edges, id history."""

    owners: pd.DataFrame
    edges: pd.DataFrame
    reposts: pd.DataFrame
    history: pd.DataFrame
    joined: pd.DataFrame
    payments: pd.DataFrame
    score_mode: str
    score_info: dict[str, Any]


def group_rows(
    store: Store,
    ads: pd.DataFrame,
    evidence: pd.DataFrame,
    assigned: pd.DataFrame,
    joined: pd.DataFrame,
    method: str,
    rates: Any = None,
    prices: PriceTable | None = None,
    rules: scoring.FlagRules | None = None,
    *,
    run_id: str | None = None,
    previous: pd.DataFrame | None = None,
    payments: pd.DataFrame | None = None,
    refit_score: bool = True,
) -> GroupRows:
    """Indicators, score, flags and edges of a partition (``assigned``: ad, owner,
    confidence), with owner ids kept from the store's earlier groups
    (:mod:`ownergraph.stages.owner_history`). ``previous``: the earlier groups of these
    ads (default: all of the store's); ``refit_score`` False scores with the stored model
    instead of fitting it again (an update of some groups)."""
    from ownergraph.stages import owner_history

    prev = owner_history.previous_owners(store) if previous is None else previous
    old_sizes = None
    if previous is not None and len(prev):
        old_sizes = owner_history.group_sizes(store, sorted(set(prev["owner"])))
    final, since, history = owner_history.stable_ids(
        assigned, prev, run_id=run_id or "", used=owner_history.used_ids(store),
        old_sizes=old_sizes,
    )  # fmt: skip
    assigned = assigned.assign(owner=final.reindex(assigned["owner"]).to_numpy())
    joined = joined.set_index("ad")
    payments = read_payments(store) if payments is None else payments
    membership = assigned.set_index("ad")["owner"]
    repeats = reposts.find_reposts(ads, evidence)
    ind = scoring.compute_indicators(
        ads, membership, evidence, payments, rates, prices, reposts=repeats
    )
    if refit_score:
        ind["score"], mode, score_info = score_model.scores(store, ind)
    else:
        ind["score"], mode, score_info = score_model.stored_scores(store, ind)
    ind["score_mode"] = mode
    many_states = ind.index[scoring.rule_hits(ind, rules)["many states"]]
    states = (  # the states named in the "many states" reasons
        ads.assign(owner=membership.reindex(ads["id"]).to_numpy())
        .loc[lambda d: d["owner"].isin(many_states)]
        .dropna(subset=["state"])
        .groupby("owner")["state"]
        .agg(lambda s: sorted(set(s)))
    )
    fl = scoring.flags(ind, states, rules)
    owners = ind.reset_index().rename(columns={"owner": "id"})
    owners["flags"] = fl["flags"].map(LIST_SEP.join).to_numpy()
    owners["reasons"] = fl["reasons"].map(LIST_SEP.join).to_numpy()
    owners["method"] = method
    owners["ads_per_day"] = owners["ads_per_day"].round(4)
    owners["btc_spent"] = owners["btc_spent"].round(8)
    owners["usd_spent"] = owners["usd_spent"].round(2)
    j = joined.reindex(assigned["ad"])
    soft_cores = (
        j.assign(owner=assigned["owner"].to_numpy())
        .loc[lambda d: ~d["via"].isin([joins.VIA_IDENTIFIERS, joins.VIA_ALONE])]
        .groupby("owner")["core"]
        .nunique()
    )
    owners["soft_joins"] = soft_cores.reindex(owners["id"]).fillna(0).astype(int).to_numpy()
    edges = pd.DataFrame(
        {
            "src": assigned["ad"],
            "dst": assigned["owner"],
            "method": method,
            "confidence": assigned["confidence"],
            "core": j["core"].to_numpy(),
            "via": j["via"].to_numpy(),
            "precision": j["precision"].to_numpy(),
        }
    )
    owners["since_run"] = since.reindex(owners["id"]).to_numpy()
    if run_id:
        owners["run"] = run_id
    return GroupRows(owners, edges, repeats, history, joined, payments, mode, score_info)


@dataclass
class FoundOwners:
    """One partition of the ads into owner groups, with how each ad joined its group."""

    assigned: pd.DataFrame  # ad, owner, confidence (sorted by ad)
    graph: cm.EvidenceGraph
    joins: pd.DataFrame  # ad, core, via, precision
    setting: cal.Setting
    calibration: cal.Calibration | None = None
    generic: pd.DataFrame | None = None  # identifiers checked, with the generic mark


def find_owners(
    ads: pd.DataFrame,
    evidence: pd.DataFrame,
    method: str = "leiden",
    weights: cm.EvidenceWeights | None = None,
    resolution: float | None = None,
    *,
    must_link: tuple[str, ...] = cm.HARD_KINDS,
    seed: int = 0,
    calibrate: bool = True,
    attach_only: tuple[str, ...] = cm.ATTACH_ONLY_KINDS,
    generic: bool = gn.DEFAULT_ENABLED,
    join_rule: str = cal.DEFAULT_JOIN_RULE,
    generic_treatment: str = gn.DEFAULT_TREATMENT,
    setting: cal.Setting | None = None,
) -> FoundOwners:
    """Owner groups from an ads frame (:func:`read_ads`) and an evidence frame, in memory.

    ``method`` ``leiden`` or ``components``. With ``calibrate`` (leiden, and neither
    ``weights`` nor ``resolution`` given) the setting is chosen by re-attachment on the
    identifier-labelled ads (:func:`ownergraph.owners.calibration.calibrate`).
    ``generic`` (leiden): find generic phones and e-mails (:mod:`ownergraph.owners.generic`);
    ``generic_treatment`` ``split`` keeps one as a must-link only among its ads that write
    alike, ``cut`` leaves its links out (its ads may still attach to a group through other
    evidence); they are listed in ``generic``. Calibration measures the settings on the
    evidence as it is (the identifier components as labels, the same hiding draws as
    without the detector), so the mark changes only what the marked identifiers join.
    ``setting``: a setting chosen earlier (e.g. ``FoundOwners.setting``), not calibrated
    again.
    ``join_rule``: how calibration judges joins of cores by similarity evidence
    (:data:`ownergraph.owners.calibration.JOIN_RULES`).
    """
    if generic_treatment not in gn.TREATMENTS:
        raise ValueError(f"unknown generic treatment {generic_treatment!r}; use {gn.TREATMENTS}")
    marks = None
    treated = evidence
    if generic and method == "leiden":
        marks = generic_identifiers(ads, evidence, seed=seed)
        treated = treat_generic(evidence, marks, generic_treatment)
    calibrate = (
        calibrate and method == "leiden" and weights is None and resolution is None
        and setting is None
    )  # fmt: skip
    weights = weights or cm.EvidenceWeights()
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution
    ad_ids = ads["id"].to_numpy(dtype=object)
    attrs = ads.set_index("id")[list(cm.SUPPORT_ATTRIBUTES)]
    if setting is None:
        setting = cal.Setting("as given", weights, resolution, attach_only=attach_only)
    calibration = None
    if calibrate:

        def run(a: np.ndarray, ev: pd.DataFrame, s: cal.Setting) -> np.ndarray:
            membership, _ = memberships(
                a, ev, "leiden", s.weights, s.resolution, seed, must_link, attrs,
                s.support_power, s.attach_only, s.attach_margin,
            )  # fmt: skip
            return pd.factorize(membership)[0]

        calibration = cal.calibrate(ad_ids, evidence, run, seed=seed, join_rule=join_rule)
        setting = calibration.setting
    evidence = treated
    if method == "leiden":
        assigned, graph = _partition_with(ad_ids, evidence, setting, seed, must_link, attrs)
    else:
        assigned, graph = partition(ad_ids, evidence, method, weights, resolution, seed)
    precision = calibration.precision if calibration else {}
    joined = joins.core_joins(graph, pd.factorize(assigned["owner"])[0], precision, must_link)
    return FoundOwners(assigned, graph, joined, setting, calibration, marks)


def generic_identifiers(
    ads: pd.DataFrame, evidence: pd.DataFrame, seed: int = 0, anchored: bool = gn.DEFAULT_ANCHORED
) -> pd.DataFrame:
    """:func:`ownergraph.owners.generic.find_generic` on an ads frame (:func:`read_ads`)."""
    ads = ads.sort_values("id").reset_index(drop=True)
    ti = text_indicators.stored_or_extracted(ads)
    frame = ads[["id", "city", "posted_ts"]].assign(
        **{c: ti[c].to_numpy() for c in ("text_names", "text_ages", "ethnicities")}
    )
    texts = (ads["title"].fillna("") + "\n" + ads["body"].fillna("")).tolist()
    ids = ads["id"].to_numpy(dtype=object)
    comp = il.identifier_components(ids, evidence)
    return gn.find_generic(frame, texts, evidence, comp, seed=seed, anchored=anchored)


def without_generic(evidence: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    """``evidence`` without the links of the identifiers ``marks`` flags generic."""
    flagged = marks[marks["generic"]]
    if flagged.empty:
        return evidence
    key = hub_keys(evidence)
    return evidence[~key.isin(pd.Index(flagged.index))].reset_index(drop=True)


def split_generic(evidence: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    """``evidence`` with each generic identifier's links split by the style group of its
    ads (``marks["style_groups"]``): hub ``<hub>~s<group>``, so that it joins only ads that
    write alike."""
    flagged = marks[marks["generic"]]
    if flagged.empty:
        return evidence
    key = hub_keys(evidence)
    on = key.isin(pd.Index(flagged.index)).to_numpy()
    ev = evidence.copy()
    hub = ev["hub"].astype(str).to_numpy(dtype=object)
    for i in np.flatnonzero(on):
        groups = flagged.at[key.iat[i], "style_groups"] or {}
        g = groups.get(ev["ad"].iat[i])
        hub[i] = f"{hub[i]}~s{g}" if g is not None else f"{hub[i]}~a{ev['ad'].iat[i]}"
    ev["hub"] = hub
    return ev


def treat_generic(evidence: pd.DataFrame, marks: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """``evidence`` as owner detection partitions it: the generic identifiers of ``marks``
    split by style group (``split``) or left out (``cut``)."""
    if treatment == "cut":
        return without_generic(evidence, marks)
    return split_generic(evidence, marks)


GENERIC_QUERIES = {
    "phone": "MATCH (i:Phone) WHERE i.generic = true RETURN i.number AS hub",
    "email": "MATCH (i:Email) WHERE i.generic = true RETURN i.address AS hub",
}


def split_by_previous_groups(
    store: Store, evidence: pd.DataFrame, previous: pd.DataFrame
) -> pd.DataFrame:
    """``evidence`` with the phones and e-mails the store marks generic split as an
    update of some groups can (the style groups are not stored): among ads of one previous
    owner group (``previous``: ad, owner) the line still joins, a new ad it does not (it
    may join through its other evidence). A full ``detect_owners`` run finds them anew."""
    marked = pd.DataFrame(
        [(k, r["hub"]) for k, q in GENERIC_QUERIES.items() for r in store.query(q)],
        columns=["kind", "hub"],
    )
    if marked.empty:
        return evidence
    key = hub_keys(evidence)
    on = key.isin(pd.Index(hub_keys(marked))).to_numpy()
    if not on.any():
        return evidence
    owner = previous.drop_duplicates("ad").set_index("ad")["owner"]
    ev = evidence.copy()
    ads = ev.loc[on, "ad"]
    prev = owner.reindex(ads).to_numpy(dtype=object)
    tag = [f"~o{o}" if isinstance(o, str) else f"~a{a}" for o, a in zip(prev, ads, strict=True)]
    ev.loc[on, "hub"] = ev.loc[on, "hub"].astype(str).to_numpy(dtype=object) + np.asarray(
        tag, dtype=object
    )
    return ev


def generic_rows(marks: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Phone and Email rows (key, generic, generic_reason) for every identifier checked."""
    keys = {"phone": ("Phone", "number"), "email": ("Email", "address")}
    out = {}
    for kind, (label, key) in keys.items():
        m = marks[marks["kind"] == kind] if len(marks) else marks
        out[label] = pd.DataFrame(
            {
                key: m["hub"].to_numpy(dtype=object) if len(m) else [],
                "generic": m["generic"].to_numpy(dtype=bool) if len(m) else [],
                "generic_reason": m["generic_reason"].to_numpy(dtype=object) if len(m) else [],
            }
        )
    return out


def generic_summary(marks: pd.DataFrame | None) -> dict[str, Any]:
    if marks is None:
        return {}
    flagged = marks[marks["generic"]] if len(marks) else marks
    return {
        "checked": len(marks),
        "marked": len(flagged),
        "merges_prevented": int(flagged["merges"].sum()) if len(flagged) else 0,
        "style_threshold": marks.attrs.get("threshold"),
        "days_threshold": marks.attrs.get("days_threshold"),
    }


def _partition_with(
    ads: np.ndarray,
    evidence: pd.DataFrame,
    s: cal.Setting,
    seed: int,
    must_link: tuple[str, ...],
    attrs: pd.DataFrame,
) -> tuple[pd.DataFrame, cm.EvidenceGraph]:
    return partition(
        ads, evidence, "leiden", s.weights, s.resolution, seed, must_link, attrs,
        s.support_power, s.attach_only, s.attach_margin,
    )  # fmt: skip


def _calibration_summary(c: cal.Calibration | None, method: str) -> dict[str, Any]:
    if method != "leiden":
        return {}
    if c is None:
        return {"setting": "as given (not calibrated)"}
    return {
        "setting": c.setting.name,
        "reason": c.reason,
        "hidden_ads": c.hidden,
        "measured_precision": c.precision,
        "joins": c.joins,
        # more ads than calibration measures: the whole evidence components it drew
        "measured_on": (
            f"{c.sample['ads']:,} of {c.sample['of']:,} ads (whole evidence components "
            f"drawn at random, at most {cal.MAX_ADS:,} ads)"
            if c.sample
            else "all ads"
        ),
    }


def _gds_partition(
    store: Store,
    ad_ids: np.ndarray,
    evidence: pd.DataFrame,
    weights: cm.EvidenceWeights,
    resolution: float,
    seed: int,
) -> tuple[pd.DataFrame, cm.EvidenceGraph]:
    graph = cm.build_evidence_graph(ad_ids, evidence, weights)
    found = evidence_io.gds_leiden(store, weights, resolution, seed)
    comm = dict(zip(found["ad"], found["community"], strict=True))
    # Ads GDS did not see (no evidence) each get a group of their own.
    membership = np.empty(graph.n_ads, dtype=np.int64)
    nxt = int(found["community"].max()) + 1 if len(found) else 0
    for i, a in enumerate(graph.ads):
        if a in comm:
            membership[i] = comm[a]
        else:
            membership[i] = nxt
            nxt += 1
    return _assignment(graph, membership), graph


# -- reading the result back ---------------------------------------------------------

OWNER = SCHEMA.node("Owner")
# what `owners list` shows of each group (every name checked against the schema)
LIST_COLUMNS = (
    "id", "score", "ads", "states", "cities", "active_days", "ads_per_day", "names", "ages",
    "phones", "emails", "wallets", "btc_spent", "usd_spent", "evidence", "flags", "reasons",
    "method", "reposts", "undated_ads", "moves", "score_mode",
)  # fmt: skip
SORTABLE = (
    "score",
    "ads",
    "states",
    "cities",
    "ads_per_day",
    "names",
    "ages",
    "phones",
    "emails",
    "wallets",
    "usd_spent",
    "btc_spent",
    "active_days",
    "reposts",
    "moves",
    "ethnicities",
    "undated_ads",
)


def list_owners(
    store: Store, sort: str = "score", limit: int = 20, min_ads: int = 1
) -> list[dict[str, Any]]:
    """The top owner groups by ``sort`` (descending; ties by id)."""
    if sort not in SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}; use one of {', '.join(SORTABLE)}")
    q = (
        f"MATCH (o:Owner) WHERE o.ads >= $min_ads RETURN {OWNER.returns(LIST_COLUMNS, 'o')} "
        f"ORDER BY o.{sort} DESC, o.id LIMIT $limit"
    )
    return store.query(q, {"min_ads": int(min_ads), "limit": int(limit)})


class OwnerNotFound(OwnergraphError, LookupError):
    """No Owner node has the given id."""


def owner_detail(store: Store, owner_id: str) -> dict[str, Any]:
    """Everything about one group: owner props, ads, identifiers, wallets, timeline, links.

    ``links`` are the group's evidence links (ad, kind, hub, confidence) for drawing.
    """
    from ownergraph.queries.registry import run_named

    rows = store.query(
        f"MATCH (o:Owner {{id: $id}}) RETURN {OWNER.returns(var='o')}", {"id": owner_id}
    )
    if not rows:
        raise OwnerNotFound(f"no owner group with id {owner_id!r}")
    owner = rows[0]
    p = {"owner_id": owner_id}
    links = run_named(store, "owner_evidence_links", p)
    ads = run_named(store, "owner_ads", {**p, "limit": 100_000})
    model, model_info = score_model.read_model(store)
    repeats = store.query(
        "MATCH (a:Ad)-[:BELONGS_TO]->(:Owner {id: $id}) MATCH (a)-[r:REPOST_OF]->(b:Ad) "
        "RETURN a.id AS ad, b.id AS repeats, r.method AS method, r.confidence AS confidence, "
        "r.window_days AS window_days "
        "ORDER BY ad",
        {"id": owner_id},
    )
    counted = {r["ad"] for r in repeats}
    return {
        "owner": owner,
        "flags": [f for f in (owner["flags"] or "").split(LIST_SEP) if f],
        "reasons": [r for r in (owner["reasons"] or "").split(LIST_SEP) if r],
        "parts": scoring.explain_score(pd.Series(owner), model),
        "score_model": {k: v for k, v in model_info.items() if k != "intercept"},
        "ads": ads,
        "text_indicators": text_indicators.group_evidence(
            [a for a in ads if a["ad"] not in counted]
        ),
        "reposts": repeats,
        "identifiers": run_named(store, "owner_identifiers", p),
        "wallets": run_named(store, "owner_wallets", p),
        "timeline": run_named(store, "owner_timeline", p),
        "places": run_named(store, "top_cities_per_owner", {**p, "limit": 1000}),
        "links": links,
        "soft_joins": run_named(store, "owner_soft_joins", p),
        "images": run_named(store, "owner_images", p),
        "history": _history(store, owner_id),
    }


def _history(store: Store, owner_id: str) -> list[dict[str, Any]]:
    from ownergraph.stages.owner_history import owner_history

    return owner_history(store, owner_id)
