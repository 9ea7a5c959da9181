"""Incremental runs: a day's new ads and blocks added to a store a full run made.

``ownergraph run project.toml --incremental`` (:func:`ownergraph.pipeline.run_project`
with ``incremental=True``) loads only the input files no finished run has loaded (by
SHA-256), then:

- ads: identifiers are extracted for the new rows only (the loader);
- bitcoin: the new block and mempool files; wallets: only those the new transactions
  change are rebuilt, with the whole re-clustering's result, and only what differs is
  written (:mod:`ownergraph.daily.wallets`);
- payments: the new ads are matched against the processor payments and their links
  added (old ads' links are kept; a new transaction that also fits an old ad is not
  marked ambiguous with it here, which is where a full re-run can differ);
- authors: the new ads alone are featurised and linked to existing Author clusters
  through the saved model and the saved candidate index
  (:mod:`ownergraph.linking.stylometry.attach`);
- owners: the groups the new evidence touches (every group of an ad that shares a phone,
  e-mail, wallet or author with a new ad) are partitioned again, with the setting the
  last full run chose, and replaced; other groups are left as they are. Their evidence
  and payments are read by key (the new ads' hubs, those hubs' ads, the groups' ads).

New ads are those without a ``run`` stamp (the audit stamps every ad at the end of the
run that loaded it).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ownergraph.daily.audit import unprocessed_runs
from ownergraph.errors import OwnergraphError
from ownergraph.stages.base import StageSummary
from ownergraph.stages.bitcoin import BitcoinSummary
from ownergraph.store.base import Store, keyed_path

AUTHOR_INDEX = "author_index"
AUTHOR_SEARCH_INDEX = "author_search.faiss"  # written by the full run's search, then moved
OWNER_SETTING = "owner_setting.json"


class IncrementalError(OwnergraphError, RuntimeError):
    """An incremental run that cannot proceed (names what is missing and what to run)."""


@dataclass
class NewBitcoinSummary(BitcoinSummary):
    """What ``load_new_bitcoin`` wrote; inputs it resolved from the chain already stored."""

    inputs_resolved_from_store: int = 0


@dataclass
class NewPaymentsSummary(StageSummary):
    """What ``link_new_payments`` did."""

    new_ads_considered: int = 0
    payments_in_window: int = 0
    paid_for_added: int = 0
    linked_new_ads: int = 0


@dataclass
class NewAuthorsSummary(StageSummary):
    """What ``link_new_authors`` did; ``linked`` false with the ``reason`` when it could
    not link (the full run linked no author)."""

    new_ads: int = 0
    linked: bool = True
    reason: str = ""
    candidates: int = 0
    pairs_above_threshold: int = 0
    joined_existing_authors: int = 0
    new_authors: int = 0
    bridges: int = 0  # a new ad linking two authors joins the stronger
    seconds_features: float = 0.0
    seconds: float = 0.0


@dataclass
class OwnersUpdateSummary(StageSummary):
    """What ``update_owners`` did."""

    new_ads: int = 0
    ads_regrouped: int = 0
    groups_replaced: int = 0
    groups_written: int = 0
    id_changes: int = 0
    setting: str = ""
    seconds: float = 0.0


def read_some(store: Store, query: str, ids: list[str], columns: list[str]) -> pd.DataFrame:
    """Rows of a ``MATCH (a:Ad) RETURN ...`` query for the given ad ids only.

    A key lookup per id (``UNWIND``), not ``WHERE a.id IN $ids``: the embedded store
    tests every ad against the list (10k ids among 1M ads: 22 CPU-s against 0.2)."""
    q = query.replace("MATCH (a:Ad) RETURN", "UNWIND $ids AS k MATCH (a:Ad {id: k}) RETURN", 1)
    if q == query:
        raise ValueError("read_some needs a query starting with MATCH (a:Ad) RETURN")
    return store.query_keyed(q, ids, columns)


def new_ads(store: Store) -> list[str]:
    """Ads no pipeline run has linked yet: those not yet stamped (this run loaded them)
    and those a single command (``load ads``) loaded after the last ``run``."""
    q = "MATCH (a:Ad) WHERE a.run IS NULL RETURN a.id AS id"
    ids = {r["id"] for r in store.query(q)}
    runs = unprocessed_runs(store)
    if runs:
        q = "MATCH (a:Ad) WHERE a.run IN $runs RETURN a.id AS id"
        ids |= {r["id"] for r in store.query(q, {"runs": runs})}
    return sorted(ids)


# -- bitcoin ----------------------------------------------------------------------------


def resolve_from_store(store: Store, tables: Any) -> int:
    """Fill the address and value of inputs that spend outputs loaded by an earlier run
    (a day's blocks spend yesterday's outputs); returns how many were resolved."""
    inp = tables.inputs
    todo = inp["address"].isna() | (inp["address_source"] != "prevout")
    todo &= inp["prev_txid"].notna()
    prev = sorted(set(inp.loc[todo, "prev_txid"]))
    known = store.query_keyed(
        keyed_path(
            "(t:Tx {txid: k})",
            "(t)-[e:PAYS]->(a:Address)",
            "RETURN t.txid AS prev_txid, e.vout AS prev_vout, a.address AS a, e.sat AS s",
            bound="e",
        ),
        prev,
        ["prev_txid", "prev_vout", "a", "s"],
    )
    if known.empty:
        return 0
    known = known.astype({"prev_vout": "int64"})
    key = inp[["prev_txid", "prev_vout"]].astype({"prev_vout": "Int64"})
    m = key.merge(known, on=["prev_txid", "prev_vout"], how="left")
    hit = todo.to_numpy() & m["a"].notna().to_numpy()
    inp.loc[hit, "address"] = m.loc[hit, "a"].to_numpy()
    inp.loc[hit, "sat"] = m.loc[hit, "s"].to_numpy()
    inp.loc[hit, "address_source"] = "prevout"
    return int(hit.sum())


def load_new_bitcoin(store: Store, project: Any, work: Path) -> NewBitcoinSummary:
    """Load the new chain files, resolving inputs from the stored chain, and write them."""
    from ownergraph.loaders.bitcoin import load_bitcoin, read_processors
    from ownergraph.stages.bitcoin import write_bitcoin

    tables = load_bitcoin(
        list(project.blocks),
        mempool=list(project.mempool),
        quarantine=work / "quarantine" / "bitcoin.jsonl",
    )
    resolved = resolve_from_store(store, tables)
    processors = read_processors(project.processors) if project.processors else []
    written = write_bitcoin(
        store, tables, processors=processors_to_write(store, tables, processors)
    )
    return NewBitcoinSummary(**written.to_dict(), inputs_resolved_from_store=resolved)


def processors_to_write(store: Store, tables: Any, processors: list[str]) -> list[str]:
    """The processor addresses a day's write must carry: those among the day's addresses
    (``write_bitcoin`` flags every address it writes by this list) and those the store
    does not hold as processors yet. The others are stored and flagged already; writing
    them again each day cost time that grew with the list, not the day (202,565 addresses
    written for a 5,190-transaction day of the 1M world)."""
    if not processors:
        return []
    day = set(tables.inputs["address"].dropna()) | set(tables.outputs["address"].dropna())
    q = "UNWIND $ids AS k MATCH (a:Address {address: k}) WHERE a.processor = true "
    flagged = set(store.query_keyed(q + "RETURN a.address AS a", processors, ["a"])["a"])
    return [p for p in processors if p in day or p not in flagged]


# -- payments --------------------------------------------------------------------------


def link_new_payments(store: Store, ads: list[str], rates: Any, prices: Any) -> NewPaymentsSummary:
    """Match the new ads against the processor payments; add their PAID_FOR links."""
    from ownergraph.linking import payments as pm
    from ownergraph.stages import payments as stage

    cfg = stage.LinkConfig()
    mine = read_some(store, stage.ADS_QUERY, list(ads), list(pm.AD_COLUMNS))
    mine = mine[mine["posted_ts"].notna()]
    if len(mine) == 0:
        return NewPaymentsSummary()
    lo = int(mine["posted_ts"].min()) - 86_400
    hi = int(mine["posted_ts"].max()) + 86_400
    pays, _ = stage.read_payments(store, window=(lo, hi))  # the day's span, read in the store
    if len(pays) == 0:
        return NewPaymentsSummary(new_ads_considered=len(mine))
    matcher = cfg.matcher(prices)
    links = matcher.match(mine.reset_index(drop=True), pays, rates)
    edges = pd.DataFrame(
        {
            "src": links["txid"].astype("string").to_numpy(),
            "dst": links["ad_id"].astype("string").to_numpy(),
            **{c: links[c].to_numpy() for c in pm.PAID_FOR_PROPS},
        }
    )
    n = store.upsert_edges("PAID_FOR", edges) if len(edges) else 0
    return NewPaymentsSummary(
        new_ads_considered=len(mine),
        payments_in_window=len(pays),
        paid_for_added=int(n),
        linked_new_ads=int(links["ad_id"].nunique()) if len(links) else 0,
    )


# -- authors ---------------------------------------------------------------------------


def save_author_index(
    work: Path, search: Any, data: Any, features: Any, summary: dict, emb: Any = None
) -> None:
    """After a full author run: the fitted search, every ad's embedding (``emb``, if the
    caller has it: ``search.embed(features)``) and features, and the faiss index the
    search wrote to its ``index_path`` (moved in); or, when nothing was linked (``search``
    None), why, so that incremental runs link nothing."""
    import shutil

    from ownergraph.linking.stylometry.attach import ANN_FILE, AuthorIndex

    folder = work / AUTHOR_INDEX
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ann = Path(search.index_path) if getattr(search, "index_path", None) else None
    if search is None or features is None or not summary.get("linked"):
        reason = summary.get("reason") or "the full run linked no author"
        (folder / "unlinked.json").write_text(json.dumps({"reason": reason}))
        if ann is not None:
            ann.unlink(missing_ok=True)
        return
    emb = search.embed(features) if emb is None else emb
    search.set_params(index_path=None)  # the saved search writes nothing
    AuthorIndex(search, list(data.ids), [emb], [features]).save(folder)
    if ann is not None and ann.exists():
        shutil.move(ann, folder / ANN_FILE)


def link_new_authors(store: Store, work: Path, ads: list[str]) -> NewAuthorsSummary:
    """Link the new ads to the saved Author clusters (no old ad is featurised again)."""
    import hashlib

    from ownergraph.linking.stylometry.attach import AuthorIndex, attach
    from ownergraph.linking.stylometry.data import _text
    from ownergraph.linking.stylometry.model import PairwiseAuthorModel

    folder = work / AUTHOR_INDEX
    if (folder / "unlinked.json").exists():
        reason = json.loads((folder / "unlinked.json").read_text())["reason"]
        return NewAuthorsSummary(new_ads=len(ads), linked=False, reason=reason)
    if not (folder / "search.joblib").exists() or not (work / "author_model.joblib").exists():
        raise IncrementalError(
            f"no saved author model and candidate index in {work}: run the full pipeline "
            "once (ownergraph run PROJECT) before --incremental"
        )
    t0 = time.perf_counter()
    index = AuthorIndex.load(folder)
    known = set(index.ids)
    ads = [a for a in ads if a not in known]
    if not ads:
        return NewAuthorsSummary()
    model = PairwiseAuthorModel.load(work / "author_model.joblib")
    rows = read_some(
        store, "MATCH (a:Ad) RETURN a.id AS id, a.title AS title, a.body AS body", ads,
        ["id", "title", "body"],
    )  # fmt: skip
    text = {i: _text(t, b) for i, t, b in zip(rows["id"], rows["title"], rows["body"], strict=True)}
    new_feats = model.transform_texts([text[a] for a in ads])
    t_feat = time.perf_counter()
    old = store.query_frame(
        "MATCH (a:Ad)-[:WRITTEN_BY]->(u:Author) RETURN a.id AS ad, u.id AS author", ["ad", "author"]
    )
    authors = store.query(
        "MATCH (u:Author) RETURN u.id AS id, u.size AS size, u.threshold AS threshold, "
        "u.expected_precision AS ep, u.target_precision AS tp, u.basis AS basis, u.model AS model"
    )
    if not authors:
        reason = "no Author cluster to link to"
        return NewAuthorsSummary(new_ads=len(ads), linked=False, reason=reason)
    ref = authors[0]
    by_ad = pd.Series(old["author"].to_numpy(object), index=old["ad"].to_numpy(object))
    old_author = by_ad.reindex(index.ids).to_numpy(object)
    old_author[pd.isna(old_author)] = None
    n_old = len(index.ids)
    got, emb_new = attach(index, new_feats, model, old_author, float(ref["threshold"]))
    all_ids = index.ids + ads
    # save this batch as a new part of the index (the old parts are not rewritten)
    part = AuthorIndex(index.search, ads, [emb_new], [new_feats])
    part.save(folder, part=max(AuthorIndex.parts(folder)) + 1)
    edges, nodes = [], []
    sizes = {a["id"]: int(a["size"]) for a in authors}
    prov = {"method": model.method, "confidence": ref["ep"], "precision": ref["ep"]}
    for i, au in enumerate(got.author):
        if au is not None:
            sizes[au] += 1
            edges.append(
                {"src": ads[i], "dst": au, "p": round(float(got.p_best[n_old + i]), 6), **prov}
            )
    for rows_ in got.new_clusters:
        members = sorted(all_ids[r] for r in rows_)
        aid = "author-" + hashlib.sha1("|".join(members).encode()).hexdigest()[:16]
        sizes[aid] = len(members)
        nodes.append(
            {"id": aid, "size": len(members), "threshold": ref["threshold"],
             "expected_precision": ref["ep"], "target_precision": ref["tp"],
             "basis": ref["basis"], "model": ref["model"]}
        )  # fmt: skip
        for r in rows_:
            edges.append(
                {"src": all_ids[r], "dst": aid, "p": round(float(got.p_best[r]), 6), **prov}
            )
    grown = {a for a in got.author if a is not None}  # existing clusters new ads joined
    if grown:
        store.upsert_nodes("Author", pd.DataFrame([{"id": a, "size": sizes[a]} for a in grown]))
    if nodes:
        store.upsert_nodes("Author", pd.DataFrame(nodes))
    if edges:
        store.upsert_edges("WRITTEN_BY", pd.DataFrame(edges))
    return NewAuthorsSummary(
        new_ads=len(ads),
        candidates=int(got.candidates),
        pairs_above_threshold=int(got.accepted),
        joined_existing_authors=int(sum(a is not None for a in got.author)),
        new_authors=len(nodes),
        bridges=int(got.bridges),
        seconds_features=round(t_feat - t0, 2),
        seconds=round(time.perf_counter() - t0, 2),
    )


# -- owners ----------------------------------------------------------------------------


def save_owner_setting(work: Path, summary: Any) -> None:
    """The setting (and measured precision) the full run's owner detection used."""
    data = {
        "setting": summary.setting,
        "calibration": summary.calibration,
        "method": summary.method,
    }
    (work / OWNER_SETTING).write_text(json.dumps(data, default=str, indent=1))


def _load_setting(work: Path) -> tuple[Any, dict[str, float | None]]:
    from ownergraph.owners import calibration as cal
    from ownergraph.owners import communities as cm

    path = work / OWNER_SETTING
    if not path.exists():
        raise IncrementalError(
            f"no saved owner setting in {work}: run the full pipeline once before --incremental"
        )
    data = json.loads(path.read_text())
    s = dict(data["setting"])
    s["weights"] = cm.EvidenceWeights(**s["weights"])
    s["attach_only"] = tuple(s.get("attach_only") or ())
    precision = (data.get("calibration") or {}).get("measured_precision") or {}
    return cal.Setting(**s), precision


def touched_ads(
    store: Store, ads: list[str], kinds: tuple[str, ...], checked: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """The ads whose groups the new ads' evidence touches, and those groups' ids (read by
    key: the new ads' hubs, those hubs' ads, their groups' members)."""
    from ownergraph.stages import evidence as evidence_io
    from ownergraph.stages.owner_history import previous_owners

    new = set(ads)
    mine = evidence_io.fetch_evidence_some(store, kinds, ads=list(ads), checked=checked)
    hubs = mine[["kind", "hub"]].drop_duplicates()
    near = evidence_io.fetch_evidence_some(store, kinds, hubs=hubs, checked=checked)["ad"]
    near_ids = sorted(set(near) - new)
    prev = previous_owners(store, near_ids)
    groups = sorted(set(prev["owner"]))
    q = keyed_path("(o:Owner {id: k})", "(a:Ad)-[:BELONGS_TO]->(o)", "RETURN a.id AS ad", bound="a")
    members = store.query_keyed(q, groups, ["ad"])["ad"]
    return sorted(new | set(near_ids) | set(members)), groups


def update_owners(
    store: Store,
    work: Path,
    ads: list[str],
    *,
    seed: int = 0,
    rates: Any = None,
    prices: Any = None,
    run_id: str = "",
) -> OwnersUpdateSummary:
    """Re-partition the groups the new ads touch and replace them (see the module notes)."""
    from ownergraph.owners import communities as cm
    from ownergraph.owners import joins
    from ownergraph.stages import evidence as evidence_io
    from ownergraph.stages import owners as ow
    from ownergraph.stages.owner_history import previous_owners

    t0 = time.perf_counter()
    setting, precision = _load_setting(work)
    if not ads:
        return OwnersUpdateSummary()
    checked = setting.weights.active()
    scope, old_groups = touched_ads(store, ads, cm.KINDS, checked)
    sub = read_some(store, ow.ADS_QUERY, scope, ow.AD_COLUMNS).sort_values("id")
    sub = sub.reset_index(drop=True)
    ev = evidence_io.fetch_evidence_some(store, cm.KINDS, ads=scope, checked=checked)
    ad_ids = sub["id"].to_numpy(dtype=object)
    attrs = sub.set_index("id")[list(cm.SUPPORT_ATTRIBUTES)]
    prev = previous_owners(store, list(ad_ids))
    part_ev = ow.split_by_previous_groups(store, ev, prev)  # generic lines stay down-weighted
    assigned, graph = ow._partition_with(ad_ids, part_ev, setting, seed, cm.HARD_KINDS, attrs)
    joined = joins.core_joins(graph, pd.factorize(assigned["owner"])[0], precision, cm.HARD_KINDS)
    pays = ow.read_payments(store, ads=list(ad_ids))
    g = ow.group_rows(
        store, sub, ev, assigned, joined, "leiden", rates, prices,
        run_id=run_id, previous=prev, payments=pays, refit_score=False,
    )  # fmt: skip
    store.delete_keys("Owner", old_groups)
    store.upsert_nodes("Owner", g.owners)
    store.upsert_edges("BELONGS_TO", g.edges)
    store.delete_edges_from("REPOST_OF", list(ad_ids))
    if len(g.reposts):
        store.upsert_edges("REPOST_OF", g.reposts)
    if len(g.history):
        store.upsert_nodes("OwnerChange", g.history)
    return OwnersUpdateSummary(
        new_ads=len(ads),
        ads_regrouped=len(ad_ids),
        groups_replaced=len(old_groups),
        groups_written=len(g.owners),
        id_changes=len(g.history),
        setting=setting.name,
        seconds=round(time.perf_counter() - t0, 3),
    )


__all__ = [
    "IncrementalError",
    "NewAuthorsSummary",
    "NewBitcoinSummary",
    "NewPaymentsSummary",
    "OwnersUpdateSummary",
    "link_new_authors",
    "link_new_payments",
    "new_ads",
    "processors_to_write",
    "save_author_index",
    "save_owner_setting",
    "update_owners",
]
