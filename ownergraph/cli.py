"""The ownergraph command line: a thin typer layer over the library API.

This is the only module that parses arguments and prints. Every command calls a
library function that a notebook can call too.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="ownergraph: group online sex ads by their true owner in a property graph.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals (they may hold credentials)
)
console = Console()
err = Console(stderr=True)

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


def _open(store: str | None):
    """Open the store named by --store / $OWNERGRAPH_STORE, or exit with a clear message."""
    from ownergraph.graph.store import StoreError, open_store

    try:
        return open_store(store)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
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
    import os

    key = os.environ.get("OWNERGRAPH_HMAC_KEY")
    return key.encode("utf-8") if key else None


@app.command()
def init(store: str | None = StoreOpt) -> None:
    """Create the schema (tables, constraints, indexes). Running it twice is harmless."""
    with _open(store) as s:
        s.init_schema()
        console.print(f"schema ready in [bold]{s.uri}[/bold] ({s.dialect})")


@load_app.command("ads")
def load_ads_cmd(
    paths: list[str] = typer.Argument(..., help="Ad files: .jsonl, .csv or .parquet."),
    store: str | None = StoreOpt,
    fmt: str | None = typer.Option(
        None, "--format", help="jsonl | csv | parquet (default: from the file name)."
    ),
    preset: str | None = typer.Option(None, help="A named column mapping, e.g. backpage-csv."),
    column: list[str] | None = typer.Option(None, "--map", help="FIELD=COLUMN, repeatable."),
    const: list[str] | None = typer.Option(
        None, "--set", help="FIELD=VALUE for missing fields, e.g. state=CA; repeatable."
    ),
    region: str = typer.Option("US", help="Default phone region for numbers without +."),
    timezone: str = typer.Option("UTC", help="Time zone of times written without an offset."),
    quarantine: str = typer.Option("quarantine/ads.jsonl", help="Where rejected records go."),
    strict: bool = typer.Option(False, help="Stop at the first bad record."),
    batch_size: int = typer.Option(20_000, help="Ads per write batch."),
) -> None:
    """Load ads, extract phones and e-mails, and link them in the graph."""
    from pathlib import Path

    from rich.progress import Progress

    from ownergraph.loaders.ads import AdMapping, load_ads
    from ownergraph.loaders.quarantine import InputError, Quarantine

    try:
        mapping = AdMapping.build(preset, _kv(column, "--map"), _kv(const, "--set"))
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table("file", "read", "loaded", "quarantined", "duplicates", "phones", "e-mails")
    failed = False
    with _open(store) as s, Quarantine(Path(quarantine), strict=strict) as q:
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
                        quarantine=q,
                        batch_size=batch_size,
                        hmac_key=_hmac_key(),
                        progress=lambda n, t=task: bar.advance(t, n),
                    )
                except (InputError, ValueError, OSError) as exc:
                    err.print(f"[red]error:[/red] {exc}")
                    raise typer.Exit(1) from exc
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
            for reason, n in sorted(sm.reasons.items()):
                err.print(f"  quarantined {n}: {reason}")
    console.print(table)
    if q.count:
        console.print(f"rejected records are in [bold]{quarantine}[/bold]")
    if failed:
        err.print("[red]error:[/red] read != loaded + quarantined")
        raise typer.Exit(1)


@app.command()
def query(
    name: str = typer.Argument(None, help="A named query (omit to list them)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="KEY=VALUE."),
    store: str | None = StoreOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    write: bool = typer.Option(False, "--write", help="Allow the query to write."),
) -> None:
    """Run a named Cypher query from the library (read-only unless --write)."""
    import json

    from ownergraph.graph.store import StoreError
    from ownergraph.queries.registry import QueryError, get_query, load_queries

    if name is None:
        t = Table("name", "parameters", "description")
        for q in load_queries().values():
            ps = ", ".join(p.name + ("" if p.required else f"={p.default}") for p in q.params)
            t.add_row(q.name, ps, q.description)
        console.print(t)
        return
    try:
        q = get_query(name)
        params = q.bind(_kv(param, "--param"))
    except QueryError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with _open(store) as s:
        try:
            rows = s.query(q.cypher(s.dialect), params, write=write)
        except StoreError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    t = Table(*(rows[0].keys() if rows else ["(no rows)"]), title=q.description)
    for r in rows:
        t.add_row(*(str(v) for v in r.values()))
    console.print(t)


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


# ---- section: synth / evaluate / demo ----

# ---- section: authors (stylometry) ----

# ---- section: btc ----

# ---- section: owners / report ----


if __name__ == "__main__":  # pragma: no cover
    app()
