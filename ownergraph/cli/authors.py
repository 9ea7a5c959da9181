"""`ownergraph authors ...`: train, evaluate and link the stylometry model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ownergraph import defaults
from ownergraph.cli import StoreOpt, _audited, _kv, app, console
from ownergraph.defaults import TARGET_PRECISION
from ownergraph.errors import UsageError, reported_as

if TYPE_CHECKING:
    pass


# ---- section: authors (stylometry) ----
authors_app = typer.Typer(
    help="Stylometry: a same-author model over ad texts, and author clusters.",
    no_args_is_help=True,
)
app.add_typer(authors_app, name="authors")

AUTHORS_MODEL = "./data/authors.joblib"


def _authors_ads(
    ads_path: str | None,
    store: str | None,
    limit: int | None,
    preset: str | None = None,
    column: list[str] | None = None,
    fmt: str | None = None,
):
    """Labelled ads from a file / world directory (read and mapped as `load ads` does),
    or else from the store."""
    from ownergraph.linking.stylometry.data import read_ads
    from ownergraph.loaders.ad_mapping import AdMapping
    from ownergraph.stages.authors import store_ads
    from ownergraph.store.base import StoreError, open_store

    with reported_as(UsageError, StoreError, ValueError, OSError):
        if ads_path:
            mapping = AdMapping.build(preset, _kv(column, "--map"))
            return read_ads(ads_path, limit, mapping, fmt)
        with open_store(store, create=False) as s:
            return store_ads(s, limit)


def _authors_table(ev, title: str) -> None:
    t = Table(
        "scorer / pairs", "pairs", "same", "ROC AUC", "TPR@FPR 1%", "TPR@FPR 0.1%", title=title
    )
    for key, f in ev.figures.items():
        if f.get("auc") is None:
            t.add_row(key, f"{f['pairs']:,}", f"{f['positive']:,}", "n/a", "n/a", "n/a")
            continue
        t.add_row(
            key,
            f"{f['pairs']:,}",
            f"{f['positive']:,}",
            f"{f['auc']:.4f}",
            f"{f['tpr_at_fpr_0.01']:.3f}",
            f"{f['tpr_at_fpr_0.001']:.3f}",
        )
    console.print(t)
    info = {k: v for k, v in ev.info.items() if k not in ("scores", "candidate_precision")}
    console.print(", ".join(f"{k}={v}" for k, v in info.items()))
    curve = (ev.info.get("candidate_precision") or {}).get("curve")
    if curve:
        from ownergraph.linking.stylometry.operating_point import operating_point

        for target in sorted({0.99, TARGET_PRECISION, 0.9, 0.8}, reverse=True):
            point = operating_point(curve, target)
            console.print(
                f"target precision {target:g} among held-out candidate pairs: {point.describe()}"
            )


@authors_app.command("train")
def authors_train(
    ads: str | None = typer.Option(
        None, "--ads", help="Ad file (.csv/.jsonl) or world directory; default: the store."
    ),
    store: str | None = StoreOpt,
    out: str = typer.Option(AUTHORS_MODEL, "--out", help="Model file (+ .json metadata)."),
    labels: str = typer.Option("identifiers", help="identifiers | truth (synthetic worlds)."),
    test_size: float = typer.Option(0.3, help="Share of components held out for testing."),
    seed: int = typer.Option(0, help="Split and sampling seed."),
    roc: str | None = typer.Option(None, help="Also write the held-out ROC plot (PNG)."),
    limit: int | None = typer.Option(None, help="Use only the first N ads."),
    preset: str | None = typer.Option(None, help="--ads column mapping preset (as load ads)."),
    column: list[str] | None = typer.Option(
        None, "--map", help="--ads FIELD=COLUMN[:TRANSFORM], repeatable (as load ads)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="--ads format: jsonl | csv | parquet."),
    max_train_pairs: int | None = typer.Option(
        None,
        "--max-train-pairs",
        min=1,
        help="Sample at most N training pairs (the demo and `run` use 25,000).",
    ),
) -> None:
    """Train the pairwise same-author model (split by component) and save it."""
    from ownergraph.linking.stylometry.evaluate import roc_plot, train_model

    data = _authors_ads(ads, store, limit, preset, column, fmt)
    with reported_as(UsageError, ValueError):
        model, ev = train_model(
            data,
            out,
            labels=labels,
            test_size=test_size,
            random_state=seed,
            max_train_pairs=max_train_pairs,
        )
    _authors_table(ev, f"held-out pairs ({labels} labels), {data.source}")
    if roc:
        console.print(f"ROC plot: {roc_plot(ev, roc)}")
    console.print(f"model saved: [bold]{out}[/bold] (+ {out}.json)")


@authors_app.command("evaluate")
def authors_evaluate(
    model: str = typer.Option(AUTHORS_MODEL, "--model", help="Model file from `train`."),
    ads: str | None = typer.Option(
        None, "--ads", help="Ad file (.csv/.jsonl) or world directory; default: the store."
    ),
    store: str | None = StoreOpt,
    labels: str = typer.Option("identifiers", help="identifiers | truth (synthetic worlds)."),
    roc: str = typer.Option("authors_roc.png", help="ROC plot output (PNG)."),
    seed: int = typer.Option(0, help="Pair sampling seed."),
    limit: int | None = typer.Option(None, help="Use only the first N ads."),
) -> None:
    """ROC AUC and TPR at FPR 1% / 0.1% of a saved model (and the baseline), plus a ROC PNG."""
    from ownergraph.linking.stylometry.evaluate import evaluate_model, roc_plot
    from ownergraph.linking.stylometry.model import ModelError, PairwiseAuthorModel

    with reported_as(UsageError, ModelError):
        m = PairwiseAuthorModel.load(model)
    data = _authors_ads(ads, store, limit)
    with reported_as(UsageError, ValueError):
        ev = evaluate_model(m, data, labels=labels, random_state=seed)
    _authors_table(ev, f"{labels} labels, {data.source}")
    console.print(f"ROC plot: {roc_plot(ev, roc)}")


@authors_app.command("link")
def authors_link(
    ctx: typer.Context,
    model: str = typer.Option(AUTHORS_MODEL, "--model", help="Model file from `train`."),
    store: str | None = StoreOpt,
    threshold: float | None = typer.Option(
        None, help="Probability threshold (default: the lowest reaching --target-precision)."
    ),
    target_precision: float = typer.Option(
        TARGET_PRECISION,
        help="Precision to reach among held-out candidate pairs (measured at training on "
        "identifier components of the same data). Nothing is linked where it is unreachable.",
    ),
    target_fpr: float | None = typer.Option(
        None,
        help="Instead: the threshold for this random-pair FPR (0.01 or 0.001) measured at "
        "training; its candidate-pair precision is stored.",
    ),
    k: int = typer.Option(
        defaults.AUTHOR_NEIGHBOURS, help="Nearest neighbours per ad in the candidate search."
    ),
    cluster: str = typer.Option("leiden", help="leiden | components."),
    resolution: float = typer.Option(
        defaults.AUTHOR_RESOLUTION, help="Leiden CPM resolution (higher: smaller clusters)."
    ),
    jobs: int = typer.Option(2, help="Worker processes for featurising."),
) -> None:
    """Link the store's ads into Author clusters (replaces Author / WRITTEN_BY)."""
    from ownergraph.linking.stylometry.candidates import CandidateSearch
    from ownergraph.linking.stylometry.model import ModelError, PairwiseAuthorModel
    from ownergraph.stages.authors import link_authors
    from ownergraph.store.base import StoreError, open_store

    with reported_as(UsageError, ModelError, StoreError, ValueError):
        m = PairwiseAuthorModel.load(model)
        with open_store(store) as s, _audited(ctx, s, "authors") as record:
            summary = link_authors(
                s,
                m,
                threshold=threshold,
                target_precision=target_precision,
                target_fpr=target_fpr,
                search=CandidateSearch(k=k, n_threads=jobs),
                cluster=cluster,
                resolution=resolution,
                n_jobs=jobs,
                model_name=model,
            )
            record(summary.to_dict())
    t = Table("figure", "value", title="author linking")
    for key, v in summary.to_dict().items():
        if key != "heldout":
            t.add_row(key.replace("_", " "), str(v))
    console.print(t)
