"""The ownergraph command line: a thin typer layer over the library API.

This is the only module that parses arguments and prints. Every command calls a
library function that a notebook can call too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ownergraph import defaults
from ownergraph.defaults import BTC_PARSE_WORKERS, HIDE_SHARE, TARGET_PRECISION

if TYPE_CHECKING:
    from ownergraph.pipeline import PipelineResult

app = typer.Typer(
    help="ownergraph: group online sex ads by their true owner in a property graph.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals (they may hold credentials)
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line: paths are not cut

StoreOpt = typer.Option(
    None,
    "--store",
    envvar="OWNERGRAPH_STORE",
    help="Graph store: a path (embedded LadybugDB, default ./data/graph.lbug) or "
    "neo4j://host:7687 (credentials from NEO4J_USER / NEO4J_PASSWORD).",
)

# ---- section: core (init, load ads, query, stats) ----
load_app = typer.Typer(help="Load outside data into the graph.", no_args_is_help=True)
app.add_typer(load_app, name="load")


def _open(store: str | None, *, create: bool = False):
    """Open the store named by --store / $OWNERGRAPH_STORE, or exit with a clear message.

    Only commands that load (``init``, ``load``, ``run``) pass ``create``: a read of a
    mistyped path is an error, not a new empty store.
    """
    from ownergraph.store.base import StoreError, open_store

    try:
        return open_store(store, create=create)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def _kv(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k:
            err.print(f"[red]error:[/red] {what} {item!r} is not KEY=VALUE")
            raise typer.Exit(2)
        out[k.strip()] = v
    return out


def _hmac_key() -> bytes | None:
    from ownergraph import settings

    key = settings.get("OWNERGRAPH_HMAC_KEY")
    return key.encode("utf-8") if key else None


@app.callback()
def _main() -> None:
    """Group online sex ads by their true owner in a property graph."""
    from ownergraph.logging_setup import configure_logging

    configure_logging()  # library logs go to stderr without secrets or identifiers


@app.command()
def init(store: str | None = StoreOpt) -> None:
    """Create the schema (tables, constraints, indexes). Running it twice is harmless."""
    with _open(store, create=True) as s:
        s.init_schema()
        console.print(f"schema ready in [bold]{s.uri}[/bold] ({s.dialect})")


def _mapping_help() -> str:
    from ownergraph.loaders.ad_mapping import AD_FIELDS, PRESETS, TRANSFORMS

    return (
        f"Fields for --map/--set: {', '.join(AD_FIELDS)}.  "
        f"Transforms (--map FIELD=COLUMN:TRANSFORM): {', '.join(TRANSFORMS)}.  "
        f"Presets: {', '.join(PRESETS)}.  "
        "Nested JSON: --map title=a.b.c (a list takes its first item).  "
        "Only id and text (title or body) are required; a bad optional field is dropped "
        "and counted, the ad loads."
    )


def _print_inspection(path: str, fmt: str | None) -> None:
    from ownergraph.loaders.inspect import inspect_file

    ins = inspect_file(path, fmt)
    t = Table("column", "filled", "sample values", title=f"{path}: first {ins.records} records")
    for c in ins.columns.values():
        t.add_row(escape(c.name), f"{c.filled}/{ins.records}", escape(" | ".join(c.samples)))
    console.print(t)
    if ins.unreadable:
        err.print(f"{ins.unreadable} of the first records are unreadable (see load's quarantine)")
    console.print("suggested mapping (check it, then load with it):")
    console.print(escape(f"  ownergraph load ads {path} {ins.map_options()}"), soft_wrap=True)


@load_app.command("ads", epilog=_mapping_help())
def load_ads_cmd(
    paths: list[str] = typer.Argument(..., help="Ad files: .jsonl, .json, .csv or .parquet."),
    store: str | None = StoreOpt,
    fmt: str | None = typer.Option(
        None, "--format", help="jsonl | csv | parquet (default: from the file name)."
    ),
    preset: str | None = typer.Option(None, help="A named column mapping, e.g. backpage-csv."),
    column: list[str] | None = typer.Option(
        None, "--map", help="FIELD=COLUMN or FIELD=COLUMN:TRANSFORM, repeatable."
    ),
    const: list[str] | None = typer.Option(
        None, "--set", help="FIELD=VALUE for missing fields, e.g. state=CA; repeatable."
    ),
    inspect: bool = typer.Option(
        False, "--inspect", help="Show the columns, sample values and a suggested mapping."
    ),
    region: str = typer.Option("US", help="Default phone region for numbers without +."),
    country: str | None = typer.Option(
        None, help="Country of the ads (ISO code, e.g. CA): places cities given without region."
    ),
    timezone: str = typer.Option(
        "UTC",
        help="Time zone of times written without an offset (e.g. America/Toronto), or "
        "'city': each ad's city's zone from the gazetteer.",
    ),
    date_format: str | None = typer.Option(
        None, "--date-format", help="strptime format of the dates, e.g. '%d.%m.%Y %H:%M'."
    ),
    quarantine: str = typer.Option("quarantine/ads.jsonl", help="Where rejected records go."),
    strict: bool = typer.Option(False, help="Stop at the first bad record."),
    max_bad: int | None = typer.Option(
        None, "--max-bad", min=0, help="Fail (exit 1) when more records than this are rejected."
    ),
    batch_size: int = typer.Option(defaults.ADS_BATCH, help="Ads per write batch."),
) -> None:
    """Load ads, extract phones and e-mails, and link them in the graph."""
    from pathlib import Path

    from rich.progress import Progress

    from ownergraph.loaders.ad_mapping import AdMapping
    from ownergraph.loaders.ads import load_ads
    from ownergraph.loaders.inspect import file_columns
    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.store.base import StoreError

    if inspect:
        for path in paths:
            try:
                _print_inspection(path, fmt)
            except (ValueError, OSError) as exc:
                err.print(f"[red]error:[/red] {escape(str(exc))}")
                raise typer.Exit(2) from exc
        return
    try:
        mapping = AdMapping.build(preset, _kv(column, "--map"), _kv(const, "--set"))
        for path in paths:  # a mapped column that is not there: an error before any load
            missing = mapping.missing(file_columns(path, fmt)) if mapping.columns else []
            if missing:
                raise ValueError(
                    f"{path}: mapped column(s) not in the file: {', '.join(missing)}; "
                    f"see the columns with: ownergraph load ads {path} --inspect"
                )
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    table = Table("file", "read", "loaded", "quarantined", "duplicates", "phones", "e-mails")
    failed = False
    total_loaded = total_bad = 0
    reasons: dict[str, int] = {}
    with _open(store, create=True) as s, Quarantine(Path(quarantine), strict=strict) as q:
        s.init_schema()
        for path in paths:
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task(f"loading {Path(path).name}", total=None)
                try:
                    sm = load_ads(
                        s,
                        path,
                        fmt=fmt,
                        mapping=mapping,
                        default_region=region,
                        timezone=timezone,
                        date_format=date_format,
                        country=country.upper() if country else None,
                        quarantine=q,
                        batch_size=batch_size,
                        hmac_key=_hmac_key(),
                        progress=lambda n, t=task: bar.advance(t, n),
                    )
                except InputError as exc:  # --strict: stop at the first bad record
                    err.print(f"[red]error:[/red] {escape(str(exc))}")
                    raise typer.Exit(1) from exc
                except StoreError as exc:  # e.g. Neo4j down after retries: re-run to finish
                    err.print(f"[red]error:[/red] {escape(str(exc))}")
                    err.print("nothing written is lost: loads are idempotent, re-run to finish")
                    raise typer.Exit(1) from exc
                except (ValueError, OSError) as exc:  # a whole file is unreadable: go on
                    err.print(f"[red]error:[/red] {escape(f'{path}: {exc}')}")
                    table.add_row(Path(path).name, "error", "", "", "", "", "")
                    failed = True
                    continue
            table.add_row(
                Path(path).name,
                str(sm.read),
                str(sm.loaded),
                str(sm.quarantined),
                str(sm.duplicates),
                str(sm.phones),
                str(sm.emails),
            )
            failed |= not sm.reconciles
            total_loaded += sm.loaded
            total_bad += sm.quarantined
            for reason, n in sm.reasons.items():
                reasons[reason] = reasons.get(reason, 0) + n
            for what, counts in (
                ("quarantined", sm.reasons),
                ("loaded without a field", sm.dropped),
            ):
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                for reason, n in ranked[:12]:
                    err.print(f"  {what} {n}: {escape(reason)}", soft_wrap=True)
                if len(ranked) > 12:
                    rest = sum(n for _, n in ranked[12:])
                    err.print(f"  {what} {rest}: {len(ranked) - 12} other reasons")
    console.print(table)
    if q.count:
        console.print(f"rejected records are in [bold]{quarantine}[/bold]")
    if failed:
        err.print("[red]error:[/red] some files were not loaded, or read != loaded + quarantined")
        raise typer.Exit(1)
    fix = (
        "map your columns onto the ad fields: see them with "
        f"'ownergraph load ads {paths[0]} --inspect', then --map FIELD=COLUMN (or --preset)"
    )
    if total_loaded == 0:
        top = ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
        err.print(f"[red]error:[/red] nothing loaded{f': {escape(top)}' if top else ''}; {fix}")
        raise typer.Exit(1)
    if max_bad is not None and total_bad > max_bad:
        err.print(
            f"[red]error:[/red] {total_bad} records rejected, more than --max-bad {max_bad}; "
            f"the reasons are above and in {quarantine}; {fix}"
        )
        raise typer.Exit(1)


@app.command()
def query(
    name: str = typer.Argument(None, help="A named query (omit to list them)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="KEY=VALUE."),
    cypher: str | None = typer.Option(
        None,
        "--cypher",
        help="Ad-hoc Cypher instead of a named query; values only as $parameters (-p), "
        "typed from the schema (Ad.id is text, posted_ts an integer).",
    ),
    store: str | None = StoreOpt,
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON instead of a table (times as epoch and ISO)."
    ),
    write: bool = typer.Option(False, "--write", help="Allow the query to write."),
    queries_dir: str | None = typer.Option(
        None,
        "--queries",
        envvar="OWNERGRAPH_QUERIES",
        help="A folder of your own named .cypher files (same header); they win over built-ins.",
    ),
) -> None:
    """Run a named Cypher query from the library, or --cypher text (read-only unless --write)."""
    import json
    from pathlib import Path

    from ownergraph.queries.adhoc import bind_adhoc, looks_like_write, no_rows_hint
    from ownergraph.queries.registry import QueryError, load_queries
    from ownergraph.queries.results import plain_rows, table_value
    from ownergraph.store.base import StoreError

    hint = None
    if cypher is not None:
        if name is not None:
            err.print("[red]error:[/red] give a query name or --cypher, not both")
            raise typer.Exit(2)
        try:
            params = bind_adhoc(cypher, _kv(param, "--param"))
        except ValueError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
        text, title = cypher, None
    else:
        try:
            library = {**load_queries(), **(load_queries(Path(queries_dir)) if queries_dir else {})}
        except QueryError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
        if name is None:
            t = Table("name", "parameters", "description")
            for q in library.values():
                ps = ", ".join(p.name + ("" if p.required else f"={p.default}") for p in q.params)
                t.add_row(q.name, ps, q.description)
            console.print(t)
            return
        try:
            if name not in library:
                raise QueryError(f"unknown query {name!r}; known: {', '.join(sorted(library))}")
            q = library[name]
            params = q.bind(_kv(param, "--param"))
        except QueryError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
        text, title = None, q.description
    with _open(store) as s:
        try:
            rows = s.query(text if text is not None else q.cypher(s.dialect), params, write=write)
        except StoreError as exc:
            err.print(f"[red]error:[/red] {escape(' '.join(str(exc).split()))}")
            if not write and cypher is not None and looks_like_write(cypher):
                err.print("the query writes: queries are read-only unless --write")
            raise typer.Exit(1) from exc
    rows = plain_rows(rows, add_iso=as_json)
    if not rows and cypher is not None and not write:
        hint = no_rows_hint(cypher, params)
    if as_json:
        console.print_json(json.dumps(rows))
    else:
        t = Table(*(rows[0].keys() if rows else ["(no rows)"]), title=title)
        for r in rows:
            t.add_row(*(escape(table_value(k, v)) for k, v in r.items()))
        console.print(t)
    if hint:
        err.print(escape(hint), soft_wrap=True)


@app.command()
def stats(
    store: str | None = StoreOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Counts of nodes per label and edges per relationship type."""
    import json

    with _open(store) as s:
        counts = s.counts()
    if as_json:
        console.print_json(json.dumps(counts))
        return
    t = Table("label / relationship", "count")
    for k, v in counts.items():
        t.add_row(k, f"{v:,}")
    console.print(t)


@app.command("export")
def export_cmd(
    out: str = typer.Option(..., "--out", help="Output file (JSON Lines, one ad per line)."),
    owner: str | None = typer.Option(None, "--owner", help="Export the ads of this owner group."),
    ads: list[str] | None = typer.Option(None, "--ad", help="Export this ad id; repeatable."),
    redact: bool = typer.Option(
        False, "--redact", help="Replace phone numbers and e-mail addresses (text and lists)."
    ),
    store: str | None = StoreOpt,
) -> None:
    """Export an owner group (or ads by id) as JSON Lines, identifiers optionally redacted.

    With --redact and OWNERGRAPH_HMAC_KEY set, identifiers are labelled by a keyed digest.
    """
    from ownergraph.export import ExportError, write_export

    if (owner is None) == (not ads):
        err.print("[red]error:[/red] give --owner ID or one or more --ad ID")
        raise typer.Exit(2)
    with _open(store) as s:
        try:
            sm = write_export(
                s, out, owner_id=owner, ad_ids=ads or None, redact=redact, hmac_key=_hmac_key()
            )
        except ExportError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    what = "redacted " if sm.redacted else ""
    console.print(f"exported {sm.ads} {what}ads ({sm.phones} phone and {sm.emails} e-mail links)")
    console.print(f"to [bold]{sm.path}[/bold]")


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
        err.print(f"[red]error:[/red] {out} is not empty (use --force to write into it)")
        raise typer.Exit(2)
    try:
        cfg = WorldConfig.from_json(config) if config else WorldConfig()
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] world config {config}: {exc}")
        raise typer.Exit(2) from exc
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
        err.print(f"[red]error:[/red] --labels must be truth or identifiers, not {labels!r}")
        raise typer.Exit(2)
    if kind is None or truth is None:
        err.print(
            "[red]error:[/red] --labels truth needs --kind and --truth (a synthetic world's "
            "truth/ folder); for a real dump use --labels identifiers"
        )
        raise typer.Exit(2)
    from ownergraph.evaluate import KINDS, EvaluationError, evaluate, predictions_from_store

    if kind not in KINDS:
        err.print(f"[red]error:[/red] --kind must be one of {', '.join(KINDS)}")
        raise typer.Exit(2)
    try:
        if pred is not None:
            try:
                df = pd.read_csv(pred, dtype=str, keep_default_na=False)
            except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                err.print(f"[red]error:[/red] cannot read predictions {pred}: {exc}")
                raise typer.Exit(2) from exc
        else:
            with _open(store) as s:
                df = predictions_from_store(s, kind)
        result = evaluate(
            kind,
            truth,
            df,
            threshold=threshold,
            extra="ignore" if ignore_extra else "error",
        )
    except EvaluationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
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
        err.print("[red]error:[/red] --seeds must be >= 1 and --hide in (0, 1)")
        raise typer.Exit(2)
    with _open(store) as s:
        data = read_store(s)
    if len(data.ads) == 0:
        err.print("[red]error:[/red] the store holds no ads")
        raise typer.Exit(1)
    try:
        with console.status(f"re-attachment over {seeds} seeds"):
            table, runs = evaluate_identifier_labels(
                data, tuple(range(seeds)), share=hide, target_precision=target_precision
            )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
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


def _register_run() -> None:
    from ownergraph.cli_daily import runs_cmd, watch_app
    from ownergraph.cli_run import run_cmd

    app.command("run")(run_cmd)
    app.command("runs")(runs_cmd)
    app.add_typer(watch_app, name="watch")


_register_run()


def _register_images() -> None:
    from ownergraph.cli_images import images_app, load_images_cmd

    load_app.command("images")(load_images_cmd)
    app.add_typer(images_app, name="images")


_register_images()


def pipeline_table(result: PipelineResult) -> Table:
    """The stages of a pipeline run (``demo``, ``run``): seconds and a brief summary."""
    t = Table("stage", "seconds", "summary", title="pipeline")
    for st in result.stages:
        brief = ", ".join(
            f"{k}={v}"
            for k, v in [(k, v) for k, v in st.summary.items() if v is not None][:6]
            if not isinstance(v, dict)
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

    try:
        if ads_path:
            mapping = AdMapping.build(preset, _kv(column, "--map"))
            return read_ads(ads_path, limit, mapping, fmt)
        with open_store(store, create=False) as s:
            return store_ads(s, limit)
    except (StoreError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


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
    try:
        model, ev = train_model(
            data,
            out,
            labels=labels,
            test_size=test_size,
            random_state=seed,
            max_train_pairs=max_train_pairs,
        )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
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

    try:
        m = PairwiseAuthorModel.load(model)
    except ModelError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    data = _authors_ads(ads, store, limit)
    try:
        ev = evaluate_model(m, data, labels=labels, random_state=seed)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _authors_table(ev, f"{labels} labels, {data.source}")
    console.print(f"ROC plot: {roc_plot(ev, roc)}")


@authors_app.command("link")
def authors_link(
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

    try:
        m = PairwiseAuthorModel.load(model)
        with open_store(store) as s:
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
    except (ModelError, StoreError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    t = Table("figure", "value", title="author linking")
    for key, v in summary.items():
        t.add_row(key, str(v))
    console.print(t)


# ---- section: btc ----
btc_app = typer.Typer(
    help="Bitcoin: load chain data, cluster addresses into wallets, link payments to ads.",
    no_args_is_help=True,
)
app.add_typer(btc_app, name="btc")


RpcOpt = typer.Option(
    None,
    "--rpc",
    help="Node JSON-RPC URL, http://host:port (credentials from BITCOIN_RPC_USER / "
    "BITCOIN_RPC_PASSWORD or the cookie file; never printed).",
)
CookieOpt = typer.Option(
    None, "--rpc-cookie", envvar="BITCOIN_RPC_COOKIE", help="The node's .cookie file."
)


def _rpc_client(url: str, cookie: str | None):
    from ownergraph.loaders.bitcoin_node import RpcClient, RpcEndpoint

    try:
        return RpcClient(RpcEndpoint.from_url(url, cookie))
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _advance(bar: Any, task: Any) -> Any:
    """A stage Progress ``(name, done, total)`` that advances one rich bar over several
    tables (each reports its own running ``done``)."""
    last: dict[str, int] = {}

    def progress(name: str, done: int, _total: int | None) -> None:
        bar.advance(task, done - last.get(name, 0))
        last[name] = done

    return progress


@btc_app.command("load")
def btc_load_cmd(
    paths: list[str] | None = typer.Argument(
        None, help="getblock/getrawtransaction JSON, raw block (binary or hex) or blk*.dat."
    ),
    store: str | None = StoreOpt,
    fmt: str = typer.Option("auto", "--format", help="auto | rpc | raw | blk."),
    mempool: list[str] | None = typer.Option(
        None,
        "--mempool",
        help="First-seen log: CSV txid,first_seen or getrawmempool true JSON; repeatable.",
    ),
    rates: str | None = typer.Option(
        None,
        "--rates",
        help="BTC/USD CSV time,usd_per_btc: validated and, for an embedded "
        "store, kept beside it for `btc link`.",
    ),
    processors: str | None = typer.Option(
        None, "--processors", help="Payment-processor addresses, one per line."
    ),
    quarantine: str = typer.Option("quarantine/bitcoin.jsonl", help="Where rejected records go."),
    strict: bool = typer.Option(False, help="Stop at the first bad record."),
    verify_merkle: bool = typer.Option(
        True, help="Check each block's merkle root (reject corrupt blocks)."
    ),
    network: str | None = typer.Option(
        None,
        help="main | test | signet | regtest: the proof-of-work limit block headers must meet "
        "(default: from the blk magic, or the node's chain with --rpc; else any network's).",
    ),
    batch_size: int = typer.Option(
        defaults.CHAIN_WRITE_BATCH,
        help="Rows per write call (0: whole tables; the store batches its writes).",
    ),
    coinjoin_min: int = typer.Option(
        defaults.COINJOIN_MIN_EQUAL,
        help="JoinMarket rule: a CoinJoin has at least this many equal outputs.",
    ),
    workers: int = typer.Option(
        BTC_PARSE_WORKERS, help="Processes parsing a blk file's blocks (0: one per core)."
    ),
    rpc: str | None = RpcOpt,
    rpc_cookie: str | None = CookieOpt,
    from_height: int | None = typer.Option(None, help="--rpc: first block height."),
    to_height: int | None = typer.Option(None, help="--rpc: last block height (default: tip)."),
) -> None:
    """Load Bitcoin blocks/transactions (and mempool first-seen times) into the graph:
    from files, or from a node (--rpc, --from-height, --to-height)."""
    from pathlib import Path

    from rich.progress import BarColumn, Progress, TextColumn

    from ownergraph.loaders.bitcoin import (
        BitcoinFormatError,
        load_bitcoin,
        load_bitcoin_node,
        read_processors,
    )
    from ownergraph.loaders.bitcoin_node import RpcError
    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path
    from ownergraph.stages.bitcoin import write_bitcoin
    from ownergraph.store.base import StoreError

    if bool(paths) == bool(rpc):
        err.print("[red]error:[/red] give chain files or --rpc URL (with --from-height)")
        raise typer.Exit(2)
    client = _rpc_client(rpc, rpc_cookie) if rpc else None
    if client is not None and from_height is None:
        err.print("[red]error:[/red] --rpc needs --from-height")
        raise typer.Exit(2)
    try:
        if client is not None and to_height is None:
            to_height = int(client.call("getblockcount"))
    except RpcError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    try:
        rate_table = RateTable.from_csv(rates) if rates else None
        procs = read_processors(processors) if processors else None
    except (RateError, BitcoinFormatError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    cols = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"))
    with _open(store, create=True) as s, Quarantine(Path(quarantine), strict=strict) as q:
        s.init_schema()
        try:
            with Progress(*cols, console=err, transient=True) as bar:
                task = bar.add_task("parsing transactions", total=None)
                if client is not None:
                    tables = load_bitcoin_node(
                        client,
                        from_height,  # type: ignore[arg-type]
                        to_height,  # type: ignore[arg-type]
                        mempool=mempool or (),
                        quarantine=q,
                        progress=lambda b: bar.advance(task, b.n_txs),
                        verify_merkle=verify_merkle,
                        network=network,
                    )
                else:
                    tables = load_bitcoin(
                        paths or [],
                        fmt=fmt,
                        mempool=mempool or (),
                        quarantine=q,
                        verify_merkle=verify_merkle,
                        progress=lambda b: bar.advance(task, b.n_txs),
                        network=network,
                        workers=workers,
                    )
                n_rows = len(tables.txs) + len(tables.inputs) + 2 * len(tables.outputs)
                wtask = bar.add_task("writing to the graph", total=n_rows)
                written = write_bitcoin(
                    s,
                    tables,
                    batch_size,
                    procs,
                    progress=_advance(bar, wtask),
                    coinjoin_min_equal=coinjoin_min,
                )
        except (InputError, ValueError, OSError, StoreError, RpcError) as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from exc
        uri = s.uri
    sm = tables.summary
    t = Table("", "count", title="btc load")
    for label, value in (
        ("files", sm.files),
        (
            "blocks read / loaded / quarantined",
            f"{sm.blocks_read:,} / {sm.blocks_loaded:,} / {sm.blocks_quarantined:,}",
        ),
        (
            "transactions read / loaded / duplicate / quarantined",
            f"{sm.txs_read:,} / {sm.txs_loaded:,} / {sm.txs_duplicate:,} / {sm.txs_quarantined:,}",
        ),
        ("other rejected values", f"{sm.values_rejected:,}"),
        (
            "inputs: from spent output / from script / unresolved",
            f"{sm.inputs_from_prevout:,} / {sm.inputs_from_script:,} / {sm.inputs_unresolved:,}",
        ),
        ("outputs (without address)", f"{sm.outputs:,} ({sm.outputs_without_address:,})"),
        *sm.header_lines(),
        ("multi-input transactions", f"{sm.multi_input_txs:,}"),
        (
            "mempool rows / quarantined / earlier than block",
            f"{sm.mempool_rows:,} / {sm.mempool_quarantined:,} / {sm.first_seen_from_mempool:,}",
        ),
        *((f"{k} written", f"{v:,}") for k, v in written.items()),
    ):
        t.add_row(label, str(value))
    console.print(t)
    if rate_table is not None:
        side = sidecar_path(uri)
        if side is not None:
            rate_table.to_parquet(side)
            console.print(f"{len(rate_table.times):,} BTC/USD rates kept in [bold]{side}[/bold]")
        else:
            console.print("rates are valid; with Neo4j pass --rates again to `btc link`")
    if q.count:
        console.print(f"{q.count:,} rejected records are in [bold]{quarantine}[/bold]")
        for source, where, reason in q.rejected[:20]:
            err.print(f"  {source}:{where}: {reason}", markup=False, highlight=False)
        if q.count > 20:
            err.print(f"  ... and {q.count - 20:,} more (all with their reasons in the file)")
    if sm.files_empty:
        for f in sm.files_empty:
            err.print(f"[red]error:[/red] {f}: no transaction loaded from this file")
        raise typer.Exit(1)
    if client is not None and not sm.txs_loaded:
        err.print(f"[red]error:[/red] no transaction loaded from {client.endpoint.shown}")
        raise typer.Exit(1)


@btc_app.command("watch")
def btc_watch_cmd(
    rpc: str | None = RpcOpt,
    out: str = typer.Option(
        "mempool-log", "--out", help="Folder of the log (btc load --mempool reads it)."
    ),
    interval: float = typer.Option(2.0, help="Seconds between getrawmempool polls."),
    polls: int | None = typer.Option(None, help="Stop after this many polls (default: never)."),
    max_mb: float = typer.Option(64.0, help="Start a new log segment past this size."),
    rpc_cookie: str | None = CookieOpt,
    zmq: list[str] | None = typer.Option(
        None,
        "--zmq",
        help="ZMQ endpoint publishing rawtx/sequence (repeatable); default: the node's own "
        "(getzmqnotifications); 'off': poll only.",
    ),
) -> None:
    """Record mempool first-seen times from a node (append-only, crash-safe, rotating):
    ZMQ rawtx/sequence arrivals stamped locally where the node offers them, and
    getrawmempool polls."""
    from ownergraph.loaders.bitcoin_node import MempoolLog, watch_mempool
    from ownergraph.loaders.bitcoin_zmq import ZmqFeed, node_zmq_endpoints

    if not rpc and not zmq:
        err.print("[red]error:[/red] give --rpc URL (and/or --zmq ENDPOINT)")
        raise typer.Exit(2)
    client = _rpc_client(rpc, rpc_cookie) if rpc else None
    endpoints = [] if zmq == ["off"] else list(zmq or [])
    if client is not None and zmq is None:
        endpoints = node_zmq_endpoints(client)
    feed = ZmqFeed(endpoints) if endpoints else None
    log = MempoolLog(out, max_bytes=int(max_mb * 2**20))
    how = [f"polling {client.endpoint.shown} every {interval:g} s"] if client else []
    if feed is not None:
        how.append("ZMQ " + ", ".join(endpoints))
    console.print(
        f"watching ({'; '.join(how)}) into [bold]{out}[/bold] "
        f"({len(log.seen):,} transactions already logged)"
    )

    def report(n: int, new: int) -> None:
        if new < 0:
            err.print(f"poll {n}: the node did not answer; retrying")
        elif new:
            console.print(f"poll {n}: {new:,} new transactions")

    try:
        total = watch_mempool(client, log, interval, polls, on_poll=report, feed=feed)
    except KeyboardInterrupt:
        total = None
    finally:
        log.close()
        if feed is not None:
            feed.close()
    if total is not None:
        console.print(f"{total:,} new transactions logged")
    if feed is not None and (feed.gaps or feed.rejected):
        err.print(
            f"ZMQ: {feed.gaps:,} messages lost (sequence gaps), "
            f"{sum(feed.rejected.values()):,} malformed"
        )


@btc_app.command("cluster")
def btc_cluster_cmd(
    store: str | None = StoreOpt,
    change: bool = typer.Option(
        False, "--change/--no-change", help="Also use the one-time change-address heuristic."
    ),
    coinjoin_guard: bool = typer.Option(
        True,
        help="Never merge the inputs of a CoinJoin (flagged at `btc load`); "
        "--no-coinjoin-guard only to measure what the guard prevents.",
    ),
    same_type: bool = typer.Option(True, help="Change must have the address type of the inputs."),
    round_sat: int | None = typer.Option(
        None, help="Change must be the only non-multiple of this many sat (off by default)."
    ),
    batch_size: int = typer.Option(
        defaults.CHAIN_WRITE_BATCH, help="Rows per write call (0: whole tables)."
    ),
) -> None:
    """Cluster addresses into wallets (multi-input, optional change) and write them."""
    from ownergraph.linking.wallets import WalletClusterer
    from ownergraph.stages.bitcoin import cluster_wallets
    from ownergraph.store.base import StoreError

    clusterer = WalletClusterer(
        change_heuristic=change,
        change_same_type=same_type,
        change_round_sat=round_sat,
        coinjoin_guard=coinjoin_guard,
    )
    with _open(store) as s:
        try:
            with console.status("clustering wallets"):
                counts = cluster_wallets(s, clusterer, batch_size)
        except (ValueError, StoreError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    t = Table("", "count", title="btc cluster" + (" (with change)" if change else ""))
    for k, v in counts.to_dict().items():
        t.add_row(WALLET_LABELS[k], f"{v:,}")
    console.print(t)


WALLET_LABELS = {  # WalletsSummary field -> the label `btc cluster` prints
    "addresses": "addresses",
    "processor_addresses": "processor addresses",
    "wallets": "wallets (all)",
    "wallets_several": "wallets with >1 address",
    "largest_wallet": "largest wallet",
    "multi_input_links": "multi-input links",
    "change_links": "change links",
    "coinjoin_txs": "coinjoin txs",
    "coinjoin_merged": "coinjoin txs merged (guard off)",
    "wallet_nodes_written": "Wallet nodes written",
    "in_wallet_written": "IN_WALLET edges written",
}


@btc_app.command("tags")
def btc_tags_cmd(
    paths: list[str] = typer.Argument(
        ..., help="GraphSense TagPack YAML, or CSV address,label,category,source,confidence."
    ),
    store: str | None = StoreOpt,
    quarantine: str = typer.Option("quarantine/tags.jsonl", help="Where rejected tags go."),
) -> None:
    """Load service tags (exchanges, wallet services, processors) onto addresses."""
    from pathlib import Path

    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.loaders.tags import read_tags
    from ownergraph.stages.service_tags import write_tags
    from ownergraph.store.base import StoreError

    with Quarantine(Path(quarantine)) as q:
        try:
            tags = read_tags(list(paths), q)
        except InputError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from exc
        with _open(store, create=True) as s:
            s.init_schema()
            try:
                written = write_tags(s, tags)
            except StoreError as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from exc
    t = Table("", "count", title="btc tags")
    t.add_row("tags read / loaded / quarantined", f"{len(tags) + q.count:,} / {len(tags):,} / "
              f"{q.count:,}")  # fmt: skip
    for k, v in written.items():
        t.add_row(f"{k} written", f"{v:,}")
    console.print(t)
    for source, where, reason in q.rejected[:20]:
        err.print(f"  quarantined {source}:{where}: {reason}", markup=False, highlight=False)


@btc_app.command("link")
def btc_link_cmd(
    store: str | None = StoreOpt,
    rates: str | None = typer.Option(
        None,
        "--rates",
        help="BTC/USD CSV time,usd_per_btc (default: the rates `btc load --rates` kept "
        "beside an embedded store).",
    ),
    processors: str | None = typer.Option(
        None, "--processors", help="Payment-processor addresses, one per line."
    ),
    discover: bool = typer.Option(
        False, "--discover", help="Discover processor addresses with the sweep heuristic."
    ),
    min_sweep_inputs: int = typer.Option(
        defaults.SWEEP_MIN_INPUTS,
        help="--discover: inputs of a sweep that seeds the processor set.",
    ),
    window: str = typer.Option(
        "{}:{}".format(*defaults.PAY_WINDOW),
        help="LO:HI seconds: first-seen time of the tx, this long before the ad.",
    ),
    tolerance: float = typer.Option(
        defaults.PAY_TOLERANCE, help="Relative USD tolerance for ordinary ads."
    ),
    sponsored_tolerance: float = typer.Option(
        defaults.PAY_SPONSORED_TOLERANCE, help="Relative USD tolerance, sponsored."
    ),
    rounding_sat: int | None = typer.Option(
        None, help="Processors round invoices up to a multiple of this many satoshi."
    ),
    block_slack: int = typer.Option(
        defaults.PAY_BLOCK_SLACK_S,
        help="Seconds: a tx the mempool log missed (first-seen = its block time) was first "
        "seen up to this long before its block (links marked /block-time, fit halved).",
    ),
    prices: str | None = typer.Option(
        None, "--prices", help="Price table JSON (default: the built-in table)."
    ),
    rate_method: str = typer.Option("linear", help="linear | previous (rate at first-seen)."),
    one_to_one: bool = typer.Option(
        False, "--one-to-one", help="Keep at most one tx per ad and one ad per tx."
    ),
    resolve: str = typer.Option("greedy", help="--one-to-one method: greedy | optimal."),
    min_margin: float = typer.Option(
        0.0, help="--one-to-one: keep a pick only if its fit beats its rivals' by more."
    ),
    max_coincidence: float | None = typer.Option(
        None,
        help="Most estimated share of chance matches among definite links (ambiguous = "
        "false; default 0.003, measured on the data at hand); 1: every lone candidate.",
    ),
) -> None:
    """Link ads to the Bitcoin transactions that paid for them (PAID_FOR, replaced)."""
    from ownergraph.linking.payments import PaymentInputError
    from ownergraph.linking.prices import PriceTable
    from ownergraph.loaders.bitcoin import BitcoinFormatError, read_processors
    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path
    from ownergraph.stages.payments import LinkConfig, link_payments
    from ownergraph.store.base import StoreError

    if processors and discover:
        err.print("[red]error:[/red] give --processors or --discover, not both")
        raise typer.Exit(2)
    try:
        lo, sep, hi = window.partition(":")
        if not sep:
            raise ValueError(f"--window {window!r} is not LO:HI")
        cfg = LinkConfig(
            window=(int(lo), int(hi)),
            tolerance=tolerance,
            sponsored_tolerance=sponsored_tolerance,
            rounding_sat=rounding_sat,
            block_slack_s=block_slack,
            rate_method=rate_method,  # type: ignore[arg-type]
            one_to_one=resolve if one_to_one else None,  # type: ignore[arg-type]
            min_margin=min_margin,
            **({} if max_coincidence is None else {"max_coincidence": max_coincidence}),
            processors=read_processors(processors) if processors else None,
            discover=discover,
            discover_options={"min_inputs": min_sweep_inputs},
        )
        table = PriceTable.from_json(prices) if prices else None
        side = sidecar_path(store)
        if rates:
            rate_table = RateTable.from_csv(rates, rate_method)  # type: ignore[arg-type]
        elif side is not None and side.exists():
            rate_table = RateTable.from_parquet(side, rate_method)  # type: ignore[arg-type]
        else:
            raise RateError("no BTC/USD rates: give --rates FILE")
    except (ValueError, OSError, BitcoinFormatError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with _open(store) as s:
        try:
            with console.status("linking payments") as status:
                summary = link_payments(
                    s, rate_table, table, cfg, progress=lambda m, _d, _t: status.update(m)
                )
        except (PaymentInputError, RateError, ValueError, StoreError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    t = Table("", "count", title=f"btc link (window {cfg.window[0]}..{cfg.window[1]} s)")
    labels = PAYMENT_LABELS | {
        "one_to_one_dropped": f"links dropped by one-to-one ({summary.one_to_one})"
    }
    for k, v in summary.to_dict().items():
        if k in labels and v is not None:
            t.add_row(labels[k], f"{v:,}")
    console.print(t)


PAYMENT_LABELS = {  # PaymentsSummary field -> the label `btc link` prints
    "processors_discovered": "processor addresses discovered",
    "processors_given": "processor addresses in the set",
    "processors_in_graph": "processor addresses in graph",
    "processor_flags_set": "processor flags set",
    "processor_flags_cleared": "processor flags cleared",
    "ads_untimed": "ads without a posting time (cannot be matched)",
    "payments_internal": "processor-paying txs spending from a processor (left out)",
    "ads": "ads considered",
    "payments": "payments considered",
    "window_pairs": "pairs in time window",
    "links": "candidate pairs (links)",
    "linked_ads": "linked ads",
    "ambiguous_ads": "ambiguous ads",
    "ambiguous_links": "ambiguous links",
    "definite_links": "definite links (the only candidate, not likely chance)",
    "lone_ambiguous": "lone candidates left ambiguous (likely chance or block-timed)",
    "definite_expected_wrong": "estimated wrong among definite links",
    "payments_with_payer": "payments with a known payer (wallet or input address)",
    "block_timed_links": "block-timed links (tx missing from the mempool log)",
    "paid_for_written": "PAID_FOR written",
    "linked_ads_written": "linked ads (written)",
}


# ---- section: owners / report ----
owners_app = typer.Typer(
    help="Owner groups: detect them from all evidence, rank and inspect them.",
    no_args_is_help=True,
)
app.add_typer(owners_app, name="owners")


@owners_app.command("detect")
def owners_detect_cmd(
    store: str | None = StoreOpt,
    method: str = typer.Option(
        "leiden",
        help="leiden (hard-identifier cores joined by Leiden over wallets and author links "
        "supported by name/city/wallet) | "
        "components (hard identifiers only) | gds-leiden (Leiden inside Neo4j GDS).",
    ),
    resolution: float | None = typer.Option(
        None,
        help="leiden: CPM, evidence needed per pair of ads to join two cores (default 0.003); "
        "gds-leiden: modularity gamma (default 1.0).",
    ),
    weights: str = typer.Option(
        "", help="Evidence weights KIND=W, e.g. 'phone=1,email=1,wallet=1,author=0.5'."
    ),
    must_link: str = typer.Option(
        "phone,email", help="Kinds whose shared hubs always join ads (leiden)."
    ),
    rates: str | None = typer.Option(
        None,
        "--rates",
        help="BTC/USD CSV time,usd_per_btc to value payments (default: the rates kept by "
        "`btc load --rates`, else the matcher's measured USD).",
    ),
    seed: int = typer.Option(0, help="Random seed of Leiden."),
    calibrate: bool = typer.Option(
        True,
        "--calibrate/--no-calibrate",
        help="leiden: choose the soft evidence that joins groups by re-attachment on this "
        "store's identifier-labelled ads (skipped when --weights or --resolution is given); "
        "--no-calibrate takes the evidence as given (authors only attach ads).",
    ),
    authors: str = typer.Option(
        "attach",
        "--authors",
        help="attach: author links only attach ads without a phone or e-mail (default) | "
        "join: they may also join phone groups when name, city or wallet support them (the "
        "previous default; not checkable against identifier labels, so not calibrated).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Find owner groups and write Owner nodes + BELONGS_TO (replacing earlier ones)."""
    import json

    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path
    from ownergraph.owners.communities import KINDS, EvidenceError, EvidenceWeights
    from ownergraph.stages.owners import detect_owners
    from ownergraph.store.base import StoreError

    try:
        if authors not in ("attach", "join"):
            raise ValueError(f"--authors must be attach or join, not {authors!r}")
        w = EvidenceWeights.parse(weights) if weights.strip() else None
        links = tuple(k.strip() for k in must_link.split(",") if k.strip())
        unknown = sorted(set(links) - set(KINDS))
        if unknown:
            raise ValueError(f"--must-link: unknown kinds {unknown}; known: {', '.join(KINDS)}")
        side = sidecar_path(store)
        if rates:
            rate_table = RateTable.from_csv(rates)
        elif side is not None and side.exists():
            rate_table = RateTable.from_parquet(side)
        else:
            rate_table = None
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with _open(store) as s:
        try:
            with console.status(f"detecting owner groups ({method})"):
                summary = detect_owners(
                    s, w, resolution, method, must_link=links, seed=seed, rates=rate_table,
                    calibrate=calibrate, author_joins=authors == "join",
                )  # fmt: skip
        except (EvidenceError, RateError, StoreError, RuntimeError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    if as_json:
        console.print_json(json.dumps(summary.to_dict()))
        return
    t = Table("", "value", title=f"owner groups ({summary.method})")
    for k, v in summary.to_dict().items():
        t.add_row(k, ", ".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict) else str(v))
    console.print(t)


@owners_app.command("list")
def owners_list_cmd(
    store: str | None = StoreOpt,
    top: int = typer.Option(20, "--top", "-n", help="How many groups."),
    sort: str = typer.Option("score", help="score | ads | states | names | ads_per_day | ..."),
    min_ads: int = typer.Option(2, help="Only groups with at least this many ads."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The top owner groups, highest first."""
    import json

    from ownergraph.stages.owners import list_owners
    from ownergraph.store.base import StoreError

    with _open(store) as s:
        try:
            rows = list_owners(s, sort=sort, limit=top, min_ads=min_ads)
        except (ValueError, StoreError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    if as_json:
        console.print_json(json.dumps(rows))
        return
    from rich.table import Column

    t = Table(Column("owner", no_wrap=True), "score", "ads", "states", "names", "ads/day", "USD",
              "evidence", "flags", title=f"top {top} owner groups by {sort}")  # fmt: skip
    for r in rows:
        t.add_row(
            r["id"], f"{r['score']:.1f}", str(r["ads"]), str(r["states"]), str(r["names"]),
            f"{r['ads_per_day']:.1f}", f"{r['usd_spent']:,.0f}", r["evidence"] or "",
            r["flags"] or "",
        )  # fmt: skip
    console.print(t)
    if not rows:
        err.print("no owner groups: run `ownergraph owners detect` first")


@owners_app.command("show")
def owners_show_cmd(
    owner_id: str = typer.Argument(..., help="An Owner id, e.g. O-1a2b3c4d5e."),
    store: str | None = StoreOpt,
    limit: int = typer.Option(50, help="How many ads to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """One owner group: indicators and reasons, ads, identifiers, wallets, timeline."""
    import json
    from datetime import UTC, datetime

    from ownergraph.cli_leads import print_text_indicators
    from ownergraph.stages.owners import OwnerNotFound, owner_detail
    from ownergraph.stages.service_tags import owner_service_tags

    with _open(store) as s:
        try:
            d = owner_detail(s, owner_id)
            d["service_tags"] = owner_service_tags(s, owner_id)
        except OwnerNotFound as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    if as_json:
        console.print_json(json.dumps(d, default=str))
        return

    def day(ts: int | None) -> str:
        if ts is None:
            return ""
        return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M")

    o = d["owner"]
    console.print(f"[bold]{o['id']}[/bold]  score {o['score']:.1f}  ({o['method']})")
    for f, r in zip(d["flags"], d["reasons"], strict=False):
        console.print(f"  [red]{f}[/red]: {r}")
    keys = ["ads", "reposts", "dated_ads", "undated_ads", "states", "cities", "moves",
            "active_days", "ads_per_day", "names", "ages", "ethnicities", "third_person",
            "new_in_town", "several_women", "youth", "shared_incall", "phones", "emails",
            "wallets", "btc_spent", "usd_spent", "evidence"]  # fmt: skip
    t = Table("indicator", "value", title="indicators")
    for k in keys:
        t.add_row(k, str(o.get(k)))
    if (o.get("first_ts") or -1) >= 0:
        t.add_row("first / last seen", f"{day(o['first_ts'])} / {day(o['last_ts'])}")
    console.print(t)
    print_text_indicators(console, d)
    console.print(f"score ({o.get('score_mode') or 'default weights'}): " + "; ".join(d["parts"]))
    from rich.table import Column

    t = Table(Column("ad", no_wrap=True), Column("posted (UTC)", no_wrap=True), "state", "city",
              "name", "age", "phones", "e-mails", "conf.",
              title=f"ads ({len(d['ads'])}, first {min(limit, len(d['ads']))})")  # fmt: skip
    for r in d["ads"][:limit]:
        t.add_row(
            r["ad"], day(r["posted_ts"]), r["state"] or "", r["city"] or "", r["name"] or "",
            str(r["age"] or ""), ", ".join(sorted(r["phones"])), ", ".join(sorted(r["emails"])),
            f"{r['confidence']:.2f}",
        )  # fmt: skip
    console.print(t)
    if d["soft_joins"]:
        title = "parts joined by soft evidence (not by a shared phone or e-mail)"
        t = Table("part (first ad)", "ads", "phones", "joined by", "measured precision",
                  title=title)  # fmt: skip
        for r in d["soft_joins"]:
            prec = "not measured" if r["precision"] is None else f"{r['precision']:.3f}"
            t.add_row(r["core"], str(r["ads"]), ", ".join(sorted(r["phones"])), r["via"], prec)
        console.print(t)
    else:
        console.print("no part of this group was joined by soft evidence")
    t = Table("kind", "identifier", "ads", "ads in other groups", title="identifiers")
    for r in d["identifiers"]:
        t.add_row(r["kind"], r["identifier"], str(r["ads"]), str(r["ads_elsewhere"]))
    console.print(t)
    if d.get("images"):
        t = Table("picture (hash group)", "ads", "ads in other groups", "hashes", "generic",
                  "match precision", title="pictures (hashes only)")  # fmt: skip
        for r in d["images"]:
            gen = f"yes: {r['generic_reason']}" if r["generic"] else "no"
            conf = "" if r["confidence"] is None else f"{r['confidence']:.3f}"
            t.add_row(r["picture"], str(r["ads"]), str(r["ads_elsewhere"]), str(r["hashes"]),
                      gen, conf)  # fmt: skip
        console.print(t)
    t = Table("wallet", "addresses", "txs", "ads paid", "first", "last", title="wallets")
    for r in d["wallets"]:
        t.add_row(r["wallet"], str(r["addresses"] or ""), str(r["txs"]), str(r["ads"]),
                  day(r["first_ts"]), day(r["last_ts"]))  # fmt: skip
    console.print(t)
    t = Table("wallet", "direction", "service", "category", "via", "txs", "BTC", "source",
              "conf.", title="tagged services the wallets paid or received from")  # fmt: skip
    for r in d["service_tags"]:
        t.add_row(r["wallet"], r["direction"], r["service"] or "", r["category"] or "",
                  r["via"], str(r["txs"]), f"{(r['sat'] or 0) / 1e8:.8f}", r["source"] or "",
                  f"{r['confidence']:.2f}")  # fmt: skip
    console.print(t)
    t = Table("day (UTC)", "ads", "states", "cities", "names", title="timeline")
    for r in d["timeline"]:
        t.add_row(day(r["day_ts"])[:10], str(r["ads"]), str(r["states"]), str(r["cities"]),
                  str(r["names"]))  # fmt: skip
    console.print(t)
    console.print(f"id since run: {o.get('since_run') or 'unknown (before ids were kept)'}")
    if d["history"]:
        t = Table("when (UTC)", "run", "change", "earlier id", "later id", "ads moved",
                  "ads before", "ads after", title="id history (merges and splits)")  # fmt: skip
        for r in d["history"]:
            t.add_row(day(r["ts"]), r["run"] or "", r["kind"], r["old_id"], r["new_id"],
                      str(r["shared"]), str(r["old_ads"]), str(r["new_ads"]))  # fmt: skip
        console.print(t)
    else:
        console.print("no merge or split recorded for this id")


@owners_app.command("label")
def owners_label_cmd(
    owner_id: str = typer.Argument(..., help="An Owner id, e.g. O-1a2b3c4d5e."),
    label: str = typer.Argument(..., help="operation | independent | unsure"),
    store: str | None = StoreOpt,
) -> None:
    """Label an owner group, then re-score every group: weights learned from the labels
    once 5 groups are labelled operation and 5 independent, the documented defaults before."""
    from ownergraph.cli_leads import label_and_rescore

    label_and_rescore(owner_id, label, store)


@app.command("report")
def report_cmd(
    owner_id: str | None = typer.Argument(
        None, help="The Owner id to report on (or --top N for the top groups)."
    ),
    out: str | None = typer.Option(
        None,
        "--out",
        "-o",
        help="The HTML page (default case.html); with --top, a folder (default reports).",
    ),
    top: int | None = typer.Option(
        None, "--top", min=1, help="Report on the top N groups by score, with an index page."
    ),
    redact: bool = typer.Option(
        False, "--redact", help="Replace phone numbers and e-mail addresses by [phone]/[email]."
    ),
    store: str | None = StoreOpt,
) -> None:
    """Write a self-contained HTML case report for one owner group (or the top N)."""
    from ownergraph.report import write_index, write_report
    from ownergraph.stages.owners import OwnerNotFound

    if (owner_id is None) == (top is None):
        err.print("[red]error:[/red] give an owner id or --top N (not both)")
        raise typer.Exit(2)
    target = out or ("reports" if top else "case.html")
    with _open(store) as s:
        try:
            if top:
                path = write_index(s, target, top=top, redact=redact, hmac_key=_hmac_key())
            else:
                path = write_report(s, owner_id, target, redact=redact, hmac_key=_hmac_key())
        except OwnerNotFound as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        except OSError as exc:
            err.print(f"[red]error:[/red] cannot write {target}: {exc}")
            raise typer.Exit(1) from exc
    if top:
        console.print(f"reports of the top groups and their index: [bold]{path}[/bold]")
    else:
        console.print(f"case report written to [bold]{path}[/bold]")


if __name__ == "__main__":  # pragma: no cover
    app()
