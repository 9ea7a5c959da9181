"""The whole pipeline: load, link, group, score, evaluate.

``run_project`` runs a ``Project`` (your own files, see ``ownergraph.project``); it is
what ``ownergraph run project.toml`` calls. ``run_pipeline`` runs a directory laid out
like a synthetic world (``ads.jsonl``, ``bitcoin/``, ``rates.csv``, ``prices.json``,
optional ``truth/``) as the same project: ``ownergraph demo`` is ``run`` on a generated
world, so the two give the same authors and owners on the same data and options.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownergraph import defaults
from ownergraph.project import AUTHOR_TRAIN_PAIRS, STAGES, Project
from ownergraph.store.base import Store

# in the work dir: the input files' hashes by size and mtime (``project.input_files``)
INPUT_HASHES = "input_hashes.json"

__all__ = ["AUTHOR_TRAIN_PAIRS", "STAGES", "PipelineResult", "run_pipeline", "run_project"]


@dataclass
class StageResult:
    name: str
    seconds: float
    summary: dict[str, Any]


@dataclass
class PipelineResult:
    stages: list[StageResult] = field(default_factory=list)
    evaluation: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_owners: list[dict[str, Any]] = field(default_factory=list)
    run_id: str = ""
    hits: list[dict[str, Any]] = field(default_factory=list)  # new watch hits

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


def run_pipeline(
    store: Store,
    world: str | Path,
    *,
    work_dir: str | Path | None = None,
    stages: tuple[str, ...] = STAGES,
    seed: int = 0,
    on_stage: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run the given stages in order on ``store`` from the files in ``world``.

    ``work_dir`` receives what the stages write besides the graph (quarantine files,
    the stylometry model); it defaults to ``world/run``.
    """
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {STAGES}")
    project = Project.from_world(world, work_dir=work_dir, stages=tuple(stages), seed=seed)
    return run_project(store, project, on_stage=on_stage)


def run_project(
    store: Store,
    project: Project,
    *,
    on_stage: Callable[[str], None] | None = None,
    incremental: bool = False,
    command: str | None = None,
    hmac_key: bytes | None = None,
    alert_log: str | Path | None = None,
) -> PipelineResult:
    """Run a project's stages in order on ``store`` (see ``ownergraph.project``).

    Every run is recorded as a ``Run`` node (``ownergraph.daily.audit``) and ends by
    checking the watches (``ownergraph.daily.watches``; new hits in ``result.hits`` and
    appended to ``alert_log``, default ``work_dir/alerts.jsonl``). ``hmac_key``: phones and
    e-mails are stored as keyed digests and ad texts redacted, as ``load ads`` does with
    the key set; watches match digests. ``incremental``: load
    only the input files no earlier run loaded and update the derived results for the new
    rows (``ownergraph.daily.incremental``); the store must hold a full run's result.
    """
    from ownergraph.daily import audit, watches
    from ownergraph.daily.incremental import IncrementalError
    from ownergraph.project import input_files, only_files

    work = Path(project.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    result = PipelineResult()
    store.init_schema()
    files = input_files(project, cache=work / INPUT_HASHES)
    if incremental:
        done = audit.loaded_inputs(store)
        if not done:
            raise IncrementalError(
                "--incremental needs a store that a full run (ownergraph run PROJECT) "
                "finished; none is recorded in this store"
            )
        files = [f for f in files if f["sha256"] not in done]
        project = only_files(project, {f["path"] for f in files})
    rec = audit.start_run(
        store,
        command or f"run_project({'incremental' if incremental else 'full'})",
        mode="incremental" if incremental else "full",
        stages=project.stages,
        user=project.user,
        inputs=files,
    )
    result.run_id = rec.id
    ctx: dict[str, Any] = {"run_id": rec.id, "incremental": incremental, "hmac_key": hmac_key}
    funcs = _INCREMENTAL_FUNCS if incremental else _STAGE_FUNCS
    try:
        for name in STAGES:
            if name not in project.stages:
                continue
            if on_stage:
                on_stage(name)
            t = time.perf_counter()
            # an incremental stage's small writes go to a store ~100x their size: one
            # checkpoint per stage, not one after each (1M ads: the day 74.2 -> 68.7 s)
            with store.bulk() if incremental else nullcontext():
                summary = funcs.get(name, _STAGE_FUNCS[name])(store, project, work, ctx)
            _release_between_stages(store)
            result.stages.append(StageResult(name, time.perf_counter() - t, summary))
            if name == "evaluate":
                result.evaluation = summary
        result.hits = watches.check_watches(
            store, rec.id, hmac_key=hmac_key, alert_log=alert_log or work / "alerts.jsonl"
        )
    except BaseException:
        audit.fail_run(store, rec, _counts(result))
        raise
    audit.finish_run(store, rec, {**_counts(result), "watch hits": len(result.hits)})
    from ownergraph.stages.owners import list_owners

    if "owners" in project.stages:
        result.top_owners = list_owners(store, sort="score", limit=10)
    return result


def _release_between_stages(store: Store) -> None:
    """Give back what a stage leaves cached before the next one starts: the embedded
    store's buffer pool (every page the stage touched; after loading 1M ads most of the
    process's ~7 GB) and heap freed but kept by malloc. The next stage reads again what
    it needs; without this each stage started on top of the last one's cache."""
    from ownergraph.linking.stylometry.memory import release_free_memory

    store.release_memory()
    release_free_memory()


def _counts(result: PipelineResult) -> dict[str, Any]:
    """The numbers of each stage's summary (for the Run node), with those of its parts
    in ``_PARTS`` (``link_images``, ``heldout_all_auc``, ...)."""
    from ownergraph.daily import audit

    return {
        st.name: audit.numbers(st.summary)
        | {f"{p}_{k}": v for p in _PARTS for k, v in audit.numbers(st.summary.get(p) or {}).items()}
        | {"seconds": round(st.seconds, 2)}
        for st in result.stages
    }


_PARTS = ("link", "heldout")  # images: its matching; authors: the trained model's figures


def _ads(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.loaders.ad_mapping import AdMapping
    from ownergraph.loaders.quarantine import Quarantine
    from ownergraph.stages.ads import AdFile, load_ad_files

    files = [
        AdFile(a.path, a.fmt, AdMapping.build(a.preset, a.columns, a.constants),
               a.phone_region, a.timezone, a.date_format, a.country)
        for a in project.ads
    ]  # fmt: skip
    with Quarantine(work / "quarantine" / "ads.jsonl") as q:
        return load_ad_files(store, files, quarantine=q, hmac_key=ctx.get("hmac_key")).to_dict()


def _bitcoin(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.loaders.bitcoin import load_bitcoin, read_processors
    from ownergraph.stages.bitcoin import write_bitcoin

    tables = load_bitcoin(
        list(project.blocks),
        mempool=list(project.mempool),
        quarantine=work / "quarantine" / "bitcoin.jsonl",
    )
    processors = read_processors(project.processors) if project.processors else []
    return write_bitcoin(store, tables, processors=processors).to_dict()


def _wallets(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.linking.wallets import WalletClusterer
    from ownergraph.stages.bitcoin import cluster_wallets

    return cluster_wallets(store, WalletClusterer(change_heuristic=True)).to_dict()


def _payments(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.linking.prices import PriceTable
    from ownergraph.loaders.rates import RateTable
    from ownergraph.stages.payments import LinkConfig, link_payments

    rates = RateTable.from_csv(project.rates)
    prices = PriceTable.from_json(project.prices)
    ctx["rates"], ctx["prices"] = rates, prices
    return link_payments(store, rates, prices, LinkConfig()).to_dict()


def _check_memory(store: Store, stage: str) -> None:
    """Stop with what to do, before the stage reads anything, when the machine lacks the
    memory its estimate for the stored ads needs (:mod:`ownergraph.memory_budget`)."""
    from ownergraph.memory_budget import check_stage_memory

    check_stage_memory(stage, store.query("MATCH (a:Ad) RETURN count(a) AS n")[0]["n"])


def _authors(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.incremental import AUTHOR_SEARCH_INDEX, save_author_index
    from ownergraph.linking.stylometry.candidates import CandidateSearch
    from ownergraph.linking.stylometry.clusters import choose_threshold
    from ownergraph.linking.stylometry.evaluate import train_model
    from ownergraph.linking.stylometry.memory import release_free_memory
    from ownergraph.stages.authors import link_authors, store_ads

    step = logging.getLogger("ownergraph.linking.stylometry").info
    _check_memory(store, "authors")
    data = store_ads(store, compact=True)  # texts as one Arrow array, not Python strings
    # the store's cache of the pages read (~1.5 GB at 1M ads) is not needed until the
    # write at the end, nor are the query results' freed buffers
    store.release_memory()
    release_free_memory()
    step("step: read ads")
    big = len(data.ids) >= 50_000
    # the faiss index the search builds is kept for --incremental runs (see attach)
    ann = work / AUTHOR_SEARCH_INDEX
    ann.unlink(missing_ok=True)
    search = CandidateSearch(n_threads=2 if big else 1, index_path=str(ann))
    # Budget: at most author_train_pairs training pairs, no baseline, every ad featurised
    # once, in chunks and 2 processes (`authors train --max-train-pairs N --seed S` trains
    # the same model; its ROC figures, above AUTHOR_HELDOUT_PAIRS held-out pairs, come from
    # all of them, the stage's from a sample); the candidate search that measures the
    # operating point is the one linking uses.
    model, ev = train_model(
        data,
        work / "author_model.joblib",
        random_state=project.seed,
        max_train_pairs=project.author_train_pairs,
        max_test_pairs=defaults.AUTHOR_HELDOUT_PAIRS,  # ROC figures: the same size at any n
        baseline=False,
        keep_features=True,
        search=search,
        n_jobs=2 if big else 1,
    )
    step("step: train and evaluate (model saved)")
    # the features and candidates pass to linking without a reference kept here, so that
    # they are freed once scored (before clustering)
    handed = {"features": ev.features, "candidates": ev.candidates}
    scores, emb = ev.candidate_scores, ev.embedding
    ev.features = ev.candidates = ev.candidate_scores = ev.embedding = None
    target = project.author_target_precision
    point = choose_threshold(model, target_precision=target)  # link_authors' operating point
    # for --incremental runs: the index (written now: linking frees the features), or why
    # nothing is linked
    if point.reachable:
        save_author_index(work, search, data, handed["features"], {"linked": True}, emb)
    else:
        save_author_index(work, None, data, None, {"reason": point.describe()})
    del emb  # the search's embedding of every ad, kept for the index alone
    step("step: save author index")
    summary = link_authors(
        store,
        model,
        ads=data,
        features=handed.pop("features"),
        candidates=handed.pop("candidates"),
        candidate_scores=scores,
        search=search,
        target_precision=target,
    )
    summary.heldout = _flat(ev)
    return summary.to_dict()


def _flat(ev: Any) -> dict[str, Any]:
    from ownergraph.linking.stylometry.evaluate import figures_for_metadata

    figs = figures_for_metadata(ev)
    out: dict[str, Any] = {}
    for view in ("model/all", "model/no_near_dup"):  # held-out pairs, identifier labels
        for k, v in figs.get(view, {}).items():
            if isinstance(v, int | float):
                out[f"{view.split('/')[1]}_{k}"] = v
    return out


def _images(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    """Hash the pictures (an incremental run: the new ads' only), then match and group
    every stored picture."""
    from ownergraph.loaders.quarantine import Quarantine
    from ownergraph.stages.images import load_images

    if project.images is None:
        return {}
    with Quarantine(work / "quarantine" / "images.jsonl") as q:
        out = load_images(
            store,
            folder=project.images,
            quarantine=q,
            hashed_to=work / "images_hashed.csv",
            only_ads=_new_ads(store, ctx) if ctx.get("incremental") else None,
        )
    return out.to_dict()


def _owners(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.incremental import save_owner_setting
    from ownergraph.stages.owners import detect_owners

    _check_memory(store, "owners")
    s = detect_owners(
        store,
        seed=project.seed,
        rates=ctx.get("rates"),
        prices=ctx.get("prices"),
        run_id=ctx.get("run_id"),
    )
    save_owner_setting(work, s)  # for --incremental runs
    return s.to_dict()


def _evaluate(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.evaluate import evaluate, predictions_from_store

    truth = project.truth
    if truth is None or not truth.is_dir():
        return {}
    out = {}
    for kind in ("owners", "authors", "payments", "wallets"):
        pred = predictions_from_store(store, kind)
        if len(pred):  # a stage that did not run has nothing to score
            out[kind] = evaluate(kind, truth, pred)
    if (truth / "images.csv").exists() and (work / "images_hashed.csv").exists():
        from ownergraph.evaluate_images import evaluate_images

        out["images"] = evaluate_images(store, truth, work / "images_hashed.csv")
    if "payments" in out:  # links that are the only candidate of their ad and of their tx
        definite = store.query_df(
            "MATCH (t:Tx)-[p:PAID_FOR]->(a:Ad) WHERE p.ambiguous = false "
            "RETURN t.txid AS txid, a.id AS ad_id"
        )
        out["payments (definite)"] = evaluate("payments", truth, definite)
        order = ("owners", "authors", "payments", "payments (definite)", "wallets", "images")
        out = {k: out[k] for k in order if k in out}
    return out


def _new_ads(store: Store, ctx: dict) -> list[str]:
    from ownergraph.daily.incremental import new_ads

    if "new_ads" not in ctx:
        ctx["new_ads"] = new_ads(store)
    return ctx["new_ads"]


def _bitcoin_new(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.incremental import NewBitcoinSummary, load_new_bitcoin

    if not project.blocks and not project.mempool:
        return NewBitcoinSummary().to_dict()
    return load_new_bitcoin(store, project, work).to_dict()


def _ads_new(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    out = _ads(store, project, work, ctx) if project.ads else {}
    return {**out, "new_ads": len(_new_ads(store, ctx))}


def _wallets_new(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.wallets import recluster_touched
    from ownergraph.linking.wallets import WalletClusterer

    return recluster_touched(store, WalletClusterer(change_heuristic=True)).to_dict()


def _payments_new(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.incremental import link_new_payments
    from ownergraph.linking.prices import PriceTable
    from ownergraph.loaders.rates import RateTable

    rates = RateTable.from_csv(project.rates)
    prices = PriceTable.from_json(project.prices)
    ctx["rates"], ctx["prices"] = rates, prices
    return link_new_payments(store, _new_ads(store, ctx), rates, prices).to_dict()


def _authors_new(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.incremental import link_new_authors

    return link_new_authors(store, work, _new_ads(store, ctx)).to_dict()


def _owners_new(store: Store, project: Project, work: Path, ctx: dict) -> dict[str, Any]:
    from ownergraph.daily.incremental import update_owners

    return update_owners(
        store, work, _new_ads(store, ctx), seed=project.seed, rates=ctx.get("rates"),
        prices=ctx.get("prices"), run_id=ctx["run_id"],
    ).to_dict()  # fmt: skip


_INCREMENTAL_FUNCS: dict[str, Callable[..., dict[str, Any]]] = {
    "ads": _ads_new,
    "bitcoin": _bitcoin_new,
    "wallets": _wallets_new,
    "payments": _payments_new,
    "authors": _authors_new,
    "owners": _owners_new,
}

_STAGE_FUNCS: dict[str, Callable[..., dict[str, Any]]] = {
    "ads": _ads,
    "bitcoin": _bitcoin,
    "wallets": _wallets,
    "payments": _payments,
    "authors": _authors,
    "images": _images,
    "owners": _owners,
    "evaluate": _evaluate,
}
