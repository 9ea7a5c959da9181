"""The whole pipeline on one world directory: load, link, group, score, evaluate.

``run_pipeline`` is what ``ownergraph demo`` runs (after generating a synthetic world);
a notebook can call it on any directory laid out like a synthetic world (``ads.jsonl``,
``bitcoin/``, ``rates.csv``, ``prices.json``) with or without ``truth/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownergraph.graph.store import Store

STAGES = ("ads", "bitcoin", "wallets", "payments", "authors", "owners", "evaluate")


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
    world = Path(world)
    work = Path(work_dir) if work_dir else world / "run"
    work.mkdir(parents=True, exist_ok=True)
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {STAGES}")
    result = PipelineResult()
    store.init_schema()
    ctx: dict[str, Any] = {}
    for name in STAGES:
        if name not in stages:
            continue
        if on_stage:
            on_stage(name)
        t = time.perf_counter()
        summary = _STAGE_FUNCS[name](store, world, work, seed, ctx)
        result.stages.append(StageResult(name, time.perf_counter() - t, summary))
        if name == "evaluate":
            result.evaluation = summary
    from ownergraph.graph.owners import list_owners

    if "owners" in stages:
        result.top_owners = list_owners(store, sort="score", limit=10)
    return result


def _ads(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.loaders.ads import load_ads
    from ownergraph.loaders.quarantine import Quarantine

    with Quarantine(work / "quarantine" / "ads.jsonl") as q:
        s = load_ads(store, world / "ads.jsonl", quarantine=q)
    return {
        "read": s.read,
        "loaded": s.loaded,
        "quarantined": s.quarantined,
        "phones": s.phones,
        "emails": s.emails,
    }


def _bitcoin(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.graph.bitcoin_graph import write_bitcoin
    from ownergraph.loaders.bitcoin import load_bitcoin, read_processors

    btc = world / "bitcoin"
    tables = load_bitcoin(
        [btc / "blocks.jsonl"],
        mempool=[btc / "mempool_first_seen.csv"],
        quarantine=work / "quarantine" / "bitcoin.jsonl",
    )
    processors = read_processors(btc / "processor_addresses.txt")
    return write_bitcoin(store, tables, processors=processors)


def _wallets(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.graph.bitcoin_graph import cluster_wallets
    from ownergraph.linking.wallets import WalletClusterer

    return cluster_wallets(store, WalletClusterer(change_heuristic=True))


def _payments(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.linking.payments import LinkConfig, link_payments
    from ownergraph.linking.prices import PriceTable
    from ownergraph.loaders.rates import RateTable

    rates = RateTable.from_csv(world / "rates.csv")
    prices = PriceTable.from_json(world / "prices.json")
    ctx["rates"], ctx["prices"] = rates, prices
    return link_payments(store, rates, prices, LinkConfig())


AUTHOR_TRAIN_PAIRS = 25_000


def _authors(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.linking.stylometry.clusters import link_authors
    from ownergraph.linking.stylometry.data import store_ads
    from ownergraph.linking.stylometry.evaluate import train_model

    data = store_ads(store)
    # Demo budget: at most 25k training pairs, no baseline, every ad featurised once.
    model, ev = train_model(
        data,
        work / "author_model.joblib",
        random_state=seed,
        max_train_pairs=AUTHOR_TRAIN_PAIRS,
        baseline=False,
        keep_features=True,
    )
    summary = link_authors(store, model, ads=data, features=ev.features)
    summary = {k: v for k, v in summary.items() if not isinstance(v, dict | list)}
    summary.update({f"heldout_{k}": v for k, v in _flat(ev).items()})
    return summary


def _flat(ev: Any) -> dict[str, Any]:
    from ownergraph.linking.stylometry.evaluate import figures_for_metadata

    figs = figures_for_metadata(ev)
    out: dict[str, Any] = {}
    for view in ("model/all", "model/no_near_dup"):  # held-out pairs, identifier labels
        for k, v in figs.get(view, {}).items():
            if isinstance(v, int | float):
                out[f"{view.split('/')[1]}_{k}"] = v
    return out


def _owners(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.graph.owners import detect_owners

    s = detect_owners(store, seed=seed, rates=ctx.get("rates"), prices=ctx.get("prices"))
    return s.to_dict() if hasattr(s, "to_dict") else dict(vars(s))


def _evaluate(store: Store, world: Path, work: Path, seed: int, ctx: dict) -> dict[str, Any]:
    from ownergraph.evaluate import evaluate, predictions_from_store

    truth = world / "truth"
    if not truth.is_dir():
        return {}
    out = {}
    for kind in ("owners", "authors", "payments", "wallets"):
        pred = predictions_from_store(store, kind)
        if len(pred):  # a stage that did not run has nothing to score
            out[kind] = evaluate(kind, truth, pred)
    if "payments" in out:  # links that are the only candidate of their ad and of their tx
        definite = store.query_df(
            "MATCH (t:Tx)-[p:PAID_FOR]->(a:Ad) WHERE p.ambiguous = false "
            "RETURN t.txid AS txid, a.id AS ad_id"
        )
        out["payments (definite)"] = evaluate("payments", truth, definite)
        order = ("owners", "authors", "payments", "payments (definite)", "wallets")
        out = {k: out[k] for k in order if k in out}
    return out


_STAGE_FUNCS: dict[str, Callable[..., dict[str, Any]]] = {
    "ads": _ads,
    "bitcoin": _bitcoin,
    "wallets": _wallets,
    "payments": _payments,
    "authors": _authors,
    "owners": _owners,
    "evaluate": _evaluate,
}
