"""`ownergraph synth`, `evaluate`, `demo` (and the pipeline table `run` prints too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from ownergraph import defaults
from ownergraph.cli import StoreOpt, _open, app, console, err
from ownergraph.defaults import HIDE_SHARE, TARGET_PRECISION
from ownergraph.errors import CommandError, UsageError, reported_as

if TYPE_CHECKING:
    from ownergraph.pipeline import PipelineResult


# ---- section: synth / evaluate / demo ----


@app.command("synth")
def synth_cmd(
    out: str = typer.Option(..., "--out", help="Folder to write the world into."),
    ads: int = typer.Option(20_000, "--ads", min=1, help="Number of ads."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed = same files)."),
    config: str | None = typer.Option(
        None, "--config", help="JSON object overriding WorldConfig parameters."
    ),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty folder."),
    photo_ads: int = typer.Option(
        0, "--photo-ads", min=0, help="Ads that get pictures (images/, truth/images.csv)."
    ),
) -> None:
    """Generate a synthetic world with ground truth (ads, Bitcoin, rates, truth/)."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ownergraph.synth import WorldConfig, generate_world

    out_dir = Path(out)
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise UsageError(f"{out} is not empty (use --force to write into it)")
    with reported_as(UsageError, OSError, ValueError, prefix=f"world config {config}: "):
        cfg = WorldConfig.from_json(config) if config else WorldConfig()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("generating ads", total=ads)
        summary = generate_world(
            out_dir,
            ads,
            seed=seed,
            config=cfg,
            progress=lambda d, _t: bar.update(task, completed=d),
        )
        if photo_ads:
            from ownergraph.synth.photos import add_photos

            ptask = bar.add_task("drawing pictures", total=None)
            photos = add_photos(
                out_dir, seed=seed, max_ads=photo_ads,
                progress=lambda d, t: bar.update(ptask, completed=d, total=t),
            )  # fmt: skip
    c = summary.chain
    table = Table(title=f"world in {out} (seed {seed})", show_header=False)
    for k, v in (
        ("ads", summary.n_ads),
        ("owners", f"{summary.n_owners} ({summary.n_operations} operations)"),
        ("ads paid in BTC", summary.n_paid_ads),
        ("blocks / transactions", f"{c['blocks']} / {c['txs']}"),
        ("payments / decoys / noise", f"{c['payments']} / {c['decoys']} / {c['noise']}"),
        ("coinjoins / sweeps", f"{c['coinjoins']} / {c['sweeps']}"),
        ("seconds", summary.seconds),
    ):
        table.add_row(k, str(v))
    if photo_ads:
        table.add_row("pictures", f"{photos['files']} files of {photos['pictures']} on "
                      f"{photos['ads']} ads")  # fmt: skip
    console.print(table)


@app.command("evaluate")
def evaluate_cmd(
    kind: str | None = typer.Option(
        None, "--kind", help="owners | authors | payments | wallets (with --truth)."
    ),
    truth: str | None = typer.Option(
        None, "--truth", help="A world's truth/ folder (or the world)."
    ),
    labels: str = typer.Option(
        "truth",
        "--labels",
        help="truth: score against a synthetic world's --truth | identifiers: score linking "
        "and owner detection on the store itself against its phone/e-mail components, by "
        "hiding the identifiers of some ads and checking where they land (any real dump).",
    ),
    pred: str | None = typer.Option(
        None,
        "--pred",
        help="Predictions CSV: ad_id,group_id (owners/authors), txid,ad_id (payments), "
        "address,group_id (wallets). Without it, predictions are read from --store.",
    ),
    store: str | None = StoreOpt,
    threshold: float = typer.Option(
        0.9, "--threshold", help="Purity and completeness for an owner to count as recovered."
    ),
    ignore_extra: bool = typer.Option(
        False, "--ignore-extra", help="Leave out (and count) predicted items not in the truth."
    ),
    seeds: int = typer.Option(5, "--seeds", help="identifiers: hiding draws (seeds 0..N-1)."),
    hide: float = typer.Option(
        HIDE_SHARE, "--hide", help="identifiers: share of identifier-linked ads hidden."
    ),
    target_precision: float = typer.Option(
        TARGET_PRECISION, help="identifiers: the author operating point, as `authors link`."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score owners, authors, payment links or wallets against a world's truth, or linking
    and owner detection on any store against its own identifier components."""
    import json

    import pandas as pd

    if labels == "identifiers":
        _evaluate_identifiers(store, seeds, hide, target_precision, as_json)
        return
    if labels != "truth":
        raise UsageError(f"--labels must be truth or identifiers, not {labels!r}")
    if kind is None or truth is None:
        raise UsageError(
            "--labels truth needs --kind and --truth (a synthetic world's "
            "truth/ folder); for a real dump use --labels identifiers"
        )
    from ownergraph.evaluate import KINDS, EvaluationError, evaluate, predictions_from_store

    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
    if pred is not None:
        try:
            df = pd.read_csv(pred, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise EvaluationError(f"cannot read predictions {pred}: {exc}") from exc
    else:
        with _open(store) as s:
            df = predictions_from_store(s, kind)
    result = evaluate(
        kind, truth, df, threshold=threshold, extra="ignore" if ignore_extra else "error"
    )
    if as_json:
        console.print_json(json.dumps(result))
        return
    table = Table(title=f"{kind} vs truth ({truth})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in result.items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    console.print(table)


def _evaluate_identifiers(
    store: str | None, seeds: int, hide: float, target_precision: float, as_json: bool
) -> None:
    import json

    import pandas as pd

    from ownergraph.evaluate_identifiers import evaluate_identifier_labels, read_store

    if seeds < 1 or not 0 < hide < 1:
        raise UsageError("--seeds must be >= 1 and --hide in (0, 1)")
    with _open(store) as s:
        data = read_store(s)
    if len(data.ads) == 0:
        raise CommandError("the store holds no ads")
    with reported_as(CommandError, ValueError):
        with console.status(f"re-attachment over {seeds} seeds"):
            table, runs = evaluate_identifier_labels(
                data, tuple(range(seeds)), share=hide, target_precision=target_precision
            )
    if as_json:
        console.print_json(json.dumps({"summary": table.to_dict("records"), "runs": runs},
                                      default=str))  # fmt: skip
        return
    t = Table("measure", *GROUPING_TITLES.values(),
              title=f"identifier components as labels: {len(data.ads):,} ads, "
              f"{runs[0]['labelled']:,} with an identifier, {runs[0]['hidden']:,} hidden "
              f"per seed, {seeds} seeds (mean ± sd)")  # fmt: skip
    for m, rows in table.groupby("measure", sort=False):
        cells = []
        for g in GROUPING_TITLES:
            r = rows[rows["grouping"] == g].iloc[0]
            if r["mean"] is None or pd.isna(r["mean"]):
                cells.append("n/a")
            elif r["sd"] is None or pd.isna(r["sd"]):
                cells.append(f"{r['mean']:.3f}")
            else:
                cells.append(f"{r['mean']:.3f} ± {r['sd']:.3f}")
        t.add_row(m, *cells)
    console.print(t)
    last = runs[-1]
    console.print(f"author operating point (seed {last['seed']}): "
                  f"{_describe_point(last['author_operating_point'])}")  # fmt: skip
    settings = sorted({r["owner_setting"] for r in runs})
    console.print(f"owner detection chose: {', '.join(settings)} "
                  f"(seed {last['seed']}: {last['owner_setting_reason']})")  # fmt: skip


GROUPING_TITLES = {
    "owners": "owners (default)",
    "authors": "Author clusters",
    "components": "hard identifiers",
    "alone": "every ad alone",
}


def _describe_point(point: dict) -> str:
    from ownergraph.linking.stylometry.operating_point import OperatingPoint

    return OperatingPoint(**point).describe()


def pipeline_table(result: PipelineResult) -> Table:
    """The stages of a pipeline run (``demo``, ``run``): seconds and a brief summary."""
    t = Table("stage", "seconds", "summary", title="pipeline")
    for st in result.stages:
        brief = ", ".join(
            f"{k}={v}"
            for k, v in [(k, v) for k, v in st.summary.items() if v is not None][:6]
            if not isinstance(v, dict | list)
        )
        t.add_row(st.name, f"{st.seconds:.1f}", escape(brief))
    return t


@app.command("demo")
def demo_cmd(
    ads: int = typer.Option(8_000, "--ads", help="Ads in the synthetic world."),
    seed: int = typer.Option(1, "--seed", help="World seed (same seed, same world)."),
    out: str = typer.Option("./data/demo", "--out", help="Folder for the world, store, report."),
    stages: str = typer.Option(
        ",".join(defaults.STAGES),
        help="Comma-separated stages to run.",
    ),
    top: int = typer.Option(10, help="Owner groups to print."),
    photo_ads: int = typer.Option(
        1500, "--photo-ads", help="Ads that get pictures (drawn, then hashed; 0: none)."
    ),
) -> None:
    """Run the whole pipeline on a generated world; print top owner groups and evaluation.

    Generates a seeded synthetic world, runs every stage on the embedded store, prints the
    top owner groups with their reasons and the evaluation against the world's truth.
    """
    import shutil
    from pathlib import Path

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ownergraph.pipeline import run_pipeline
    from ownergraph.report import write_report
    from ownergraph.store.base import open_store, remove_store
    from ownergraph.synth.world import generate_world

    root = Path(out)
    world, store_path = root / "world", root / "graph.lbug"
    if world.is_dir():
        shutil.rmtree(world)
    remove_store(store_path)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("synthetic world", total=ads)
        w = generate_world(
            world,
            n_ads=ads,
            seed=seed,
            progress=lambda done, total: bar.update(task, completed=done),
        )
        bar.update(task, completed=ads)
        console.print(
            f"world: {w.n_ads:,} ads by {w.n_owners:,} owners "
            f"({w.n_operations} operations), {w.n_paid_ads:,} paid in BTC "
            f"-> {world}"
        )
        if photo_ads > 0:
            from ownergraph.synth.photos import add_photos

            ptask = bar.add_task("pictures", total=None)
            info = add_photos(
                world, seed=seed, max_ads=photo_ads,
                progress=lambda done, total: bar.update(ptask, completed=done, total=total),
            )  # fmt: skip
            console.print(
                f"pictures: {info['files']:,} files of {info['pictures']:,} pictures on "
                f"{info['ads']:,} ads (hashed by the images stage, never stored)"
            )
        names = tuple(x.strip() for x in stages.split(",") if x.strip())
        stage_task = bar.add_task("pipeline", total=len(names))

        def on_stage(name: str) -> None:
            bar.update(stage_task, description=f"stage: {name}", advance=0)

        with open_store(str(store_path)) as s:
            result = run_pipeline(
                s, world, work_dir=root / "run", stages=names, seed=seed, on_stage=on_stage
            )
            report_path = None
            if result.top_owners:
                report_path = write_report(
                    s, result.top_owners[0]["id"], root / "top-owner-report.html"
                )
    console.print(pipeline_table(result))
    if result.top_owners:
        t = Table(
            "#",
            "owner",
            "score",
            "ads",
            "states",
            "ads/day",
            "names",
            "wallets",
            "flags",
            title="top owner groups",
        )
        shown = result.top_owners[:top]
        for i, o in enumerate(shown, start=1):
            t.add_row(
                str(i),
                o["id"],
                f"{o['score']:.1f}",
                str(o["ads"]),
                str(o["states"]),
                f"{o['ads_per_day']:.1f}",
                str(o["names"]),
                str(o["wallets"]),
                o.get("flags") or "",
            )
        console.print(t)
        console.print("why they scored high:")
        for i, o in enumerate(shown, start=1):
            console.print(f"  {i}. {o['id']}: {o.get('reasons') or 'no flag raised'}")
    if result.evaluation:
        t = Table("stage", "precision", "recall", "F1", "other", title="evaluation vs truth")
        for kind, m in result.evaluation.items():
            pre = "bcubed_" if "bcubed_f1" in m else ("owners_bcubed_" if kind == "wallets" else "")
            p, r, f = (m.get(f"{pre}precision"), m.get(f"{pre}recall"), m.get(f"{pre}f1"))
            extra = ""
            if kind == "owners":
                extra = f"owners recovered {m.get('owners_recovered')}/{m.get('owners_groups')}"
            elif kind == "authors":
                extra = "B-cubed, author truth"
            elif kind == "wallets":
                extra = "B-cubed over owners' addresses"
            elif kind == "payments":
                extra = "every PAID_FOR edge, ambiguity sets included"
            elif kind == "payments (definite)":
                extra = "PAID_FOR edges with ambiguous = false"
            elif kind == "images":
                extra = (
                    f"picture pairs; ad pairs linked {m.get('ad_pairs_linked')}, same owner "
                    f"{_f(m.get('ad_pair_precision'))}; generic P/R "
                    f"{_f(m.get('generic_precision'))}/{_f(m.get('generic_recall'))}"
                )
            t.add_row(kind, _f(p), _f(r), _f(f), extra)
        console.print(t)
    console.print(
        f"store: [bold]{store_path}[/bold] (query it: ownergraph query --store "
        f"{store_path}); total {result.seconds:.0f} s"
    )
    if report_path:
        console.print(f"case report for the top group: [bold]{report_path}[/bold]")


def _f(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else "-"
