"""`ownergraph init`, `load ads`, `query`, `stats`, `export`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from ownergraph import defaults
from ownergraph.cli import StoreOpt, _audited, _hmac_key, _kv, _open, app, console, err
from ownergraph.errors import CommandError, UsageError, reported_as

if TYPE_CHECKING:
    pass


# ---- section: core (init, load ads, query, stats) ----
load_app = typer.Typer(help="Load outside data into the graph.", no_args_is_help=True)
app.add_typer(load_app, name="load")


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
    ctx: typer.Context,
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
    workers: int = typer.Option(
        defaults.ADS_PARSE_WORKERS,
        min=0,
        help="Processes parsing the ads (0: one per core; 1: no extra process).",
    ),
) -> None:
    """Load ads, extract phones and e-mails, and link them in the graph."""
    from pathlib import Path

    from rich.progress import Progress

    from ownergraph.loaders.ad_mapping import AdMapping
    from ownergraph.loaders.inspect import file_columns
    from ownergraph.loaders.quarantine import Quarantine
    from ownergraph.stages.ads import AdFile, load_ad_files
    from ownergraph.store.base import StoreError

    if inspect:
        for path in paths:
            with reported_as(UsageError, ValueError, OSError):
                _print_inspection(path, fmt)
        return
    with reported_as(UsageError, ValueError, OSError):
        mapping = AdMapping.build(preset, _kv(column, "--map"), _kv(const, "--set"))
        for path in paths:  # a mapped column that is not there: an error before any load
            missing = mapping.missing(file_columns(path, fmt)) if mapping.columns else []
            if missing:
                raise ValueError(
                    f"{path}: mapped column(s) not in the file: {', '.join(missing)}; "
                    f"see the columns with: ownergraph load ads {path} --inspect"
                )
    table = Table("file", "read", "loaded", "quarantined", "duplicates", "phones", "e-mails")
    files = [
        AdFile(path, fmt, mapping, region, timezone, date_format,
               country.upper() if country else None)
        for path in paths
    ]  # fmt: skip
    with _open(store, create=True) as s, Quarantine(Path(quarantine), strict=strict) as q:
        s.init_schema()
        with _audited(ctx, s, "ads") as record, Progress(console=err, transient=True) as bar:
            task = bar.add_task("loading ads", total=None)
            with reported_as(  # e.g. Neo4j down after retries: re-run to finish
                CommandError,
                StoreError,
                hint="; nothing written is lost: loads are idempotent, re-run to finish",
            ):
                sm = load_ad_files(
                    s,
                    files,
                    quarantine=q,
                    batch_size=batch_size,
                    hmac_key=_hmac_key(),
                    skip_unreadable=True,  # a whole file is unreadable: go on
                    workers=workers,
                    progress=lambda _stage, done, _total: bar.update(task, completed=done),
                )
            record(sm.to_dict())
    for f in sm.files:
        name = Path(f.source).name
        if f.error:
            err.print(f"[red]error:[/red] {escape(f'{f.source}: {f.error}')}")
            table.add_row(name, "error", "", "", "", "", "")
            continue
        table.add_row(name, *(str(getattr(f, k)) for k in (
            "read", "loaded", "quarantined", "duplicates", "phones", "emails")))  # fmt: skip
        for what, counts in (("quarantined", f.reasons), ("loaded without a field", f.dropped)):
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            for reason, n in ranked[:12]:
                err.print(f"  {what} {n}: {escape(reason)}", soft_wrap=True)
            if len(ranked) > 12:
                rest = sum(n for _, n in ranked[12:])
                err.print(f"  {what} {rest}: {len(ranked) - 12} other reasons")
    failed = not sm.reconciles
    total_loaded, total_bad, reasons = sm.loaded, sm.quarantined, sm.reasons
    console.print(table)
    if q.count:
        console.print(f"rejected records are in [bold]{quarantine}[/bold]")
    if failed:
        raise CommandError("some files were not loaded, or read != loaded + quarantined")
    fix = (
        "map your columns onto the ad fields: see them with "
        f"'ownergraph load ads {paths[0]} --inspect', then --map FIELD=COLUMN (or --preset)"
    )
    if total_loaded == 0:
        top = ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
        raise CommandError(f"nothing loaded{f': {top}' if top else ''}; {fix}")
    if max_bad is not None and total_bad > max_bad:
        raise CommandError(
            f"{total_bad} records rejected, more than --max-bad {max_bad}; "
            f"the reasons are above and in {quarantine}; {fix}"
        )


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
            raise UsageError("give a query name or --cypher, not both")
        with reported_as(UsageError, ValueError):
            params = bind_adhoc(cypher, _kv(param, "--param"))
        text, title = cypher, None
    else:
        library = {**load_queries(), **(load_queries(Path(queries_dir)) if queries_dir else {})}
        if name is None:
            t = Table("name", "parameters", "description")
            for q in library.values():
                ps = ", ".join(p.name + ("" if p.required else f"={p.default}") for p in q.params)
                t.add_row(q.name, ps, q.description)
            console.print(t)
            return
        if name not in library:
            raise QueryError(f"unknown query {name!r}; known: {', '.join(sorted(library))}")
        q = library[name]
        params = q.bind(_kv(param, "--param"))
        text, title = None, q.description
    with _open(store) as s:
        try:
            rows = s.query(text if text is not None else q.cypher(s.dialect), params, write=write)
        except StoreError as exc:
            writes = not write and cypher is not None and looks_like_write(cypher)
            raise CommandError(
                " ".join(str(exc).split())
                + ("; the query writes: queries are read-only unless --write" if writes else "")
            ) from exc
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
    from ownergraph.export import write_export

    if (owner is None) == (not ads):
        raise UsageError("give --owner ID or one or more --ad ID")
    with _open(store) as s:
        sm = write_export(
            s, out, owner_id=owner, ad_ids=ads or None, redact=redact, hmac_key=_hmac_key()
        )
    what = "redacted " if sm.redacted else ""
    console.print(f"exported {sm.ads} {what}ads ({sm.phones} phone and {sm.emails} e-mail links)")
    console.print(f"to [bold]{sm.path}[/bold]")
