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

    from ownergraph.graph.store import StoreError
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
                except InputError as exc:  # --strict: stop at the first bad record
                    err.print(f"[red]error:[/red] {exc}")
                    raise typer.Exit(1) from exc
                except StoreError as exc:  # e.g. Neo4j down after retries: re-run to finish
                    err.print(f"[red]error:[/red] {exc}")
                    err.print("nothing written is lost: loads are idempotent, re-run to finish")
                    raise typer.Exit(1) from exc
                except (ValueError, OSError) as exc:  # a whole file is unreadable: go on
                    err.print(f"[red]error:[/red] {path}: {exc}")
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
            for reason, n in sorted(sm.reasons.items()):
                err.print(f"  quarantined {n}: {reason}")
    console.print(table)
    if q.count:
        console.print(f"rejected records are in [bold]{quarantine}[/bold]")
    if failed:
        err.print("[red]error:[/red] some files were not loaded, or read != loaded + quarantined")
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
authors_app = typer.Typer(
    help="Stylometry: a same-author model over ad texts, and author clusters.",
    no_args_is_help=True,
)
app.add_typer(authors_app, name="authors")

AUTHORS_MODEL = "./data/authors.joblib"


def _authors_ads(ads_path: str | None, store: str | None, limit: int | None):
    """Labelled ads from a file / world directory, or else from the store."""
    from ownergraph.graph.store import StoreError, open_store
    from ownergraph.linking.stylometry.data import read_ads, store_ads

    try:
        if ads_path:
            return read_ads(ads_path, limit)
        with open_store(store) as s:
            return store_ads(s, limit)
    except (StoreError, ValueError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}")
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
    info = {k: v for k, v in ev.info.items() if k != "scores"}
    console.print(", ".join(f"{k}={v}" for k, v in info.items()))


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
) -> None:
    """Train the pairwise same-author model (split by component) and save it."""
    from ownergraph.linking.stylometry.evaluate import roc_plot, train_model

    data = _authors_ads(ads, store, limit)
    try:
        model, ev = train_model(data, out, labels=labels, test_size=test_size, random_state=seed)
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
        None, help="Probability threshold (default: the model's threshold for --target-fpr)."
    ),
    target_fpr: float = typer.Option(0.01, help="0.01 or 0.001: measured at training."),
    k: int = typer.Option(20, help="Nearest neighbours per ad in the candidate search."),
    cluster: str = typer.Option("leiden", help="leiden | components."),
    resolution: float = typer.Option(0.02, help="Leiden CPM resolution (higher: smaller)."),
    jobs: int = typer.Option(2, help="Worker processes for featurising."),
) -> None:
    """Link the store's ads into Author clusters (replaces Author / WRITTEN_BY)."""
    from ownergraph.graph.store import StoreError, open_store
    from ownergraph.linking.stylometry.candidates import CandidateSearch
    from ownergraph.linking.stylometry.clusters import link_authors
    from ownergraph.linking.stylometry.model import ModelError, PairwiseAuthorModel

    try:
        m = PairwiseAuthorModel.load(model)
        with open_store(store) as s:
            summary = link_authors(
                s,
                m,
                threshold=threshold,
                target_fpr=target_fpr,
                search=CandidateSearch(k=k),
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


@btc_app.command("load")
def btc_load_cmd(
    paths: list[str] = typer.Argument(
        ..., help="getblock/getrawtransaction JSON, raw block (binary or hex) or blk*.dat."
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
        True, help="Check each raw block's merkle root (reject corrupt blocks)."
    ),
    batch_size: int = typer.Option(50_000, help="Rows per write batch."),
) -> None:
    """Load Bitcoin blocks/transactions (and mempool first-seen times) into the graph."""
    from pathlib import Path

    from rich.progress import BarColumn, Progress, TextColumn

    from ownergraph.graph.bitcoin_graph import write_bitcoin
    from ownergraph.graph.store import StoreError
    from ownergraph.loaders.bitcoin import BitcoinFormatError, load_bitcoin, read_processors
    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path

    try:
        rate_table = RateTable.from_csv(rates) if rates else None
        procs = read_processors(processors) if processors else None
    except (RateError, BitcoinFormatError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    cols = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"))
    with _open(store) as s, Quarantine(Path(quarantine), strict=strict) as q:
        s.init_schema()
        try:
            with Progress(*cols, console=err, transient=True) as bar:
                task = bar.add_task("parsing transactions", total=None)
                tables = load_bitcoin(
                    paths,
                    fmt=fmt,
                    mempool=mempool or (),
                    quarantine=q,
                    verify_merkle=verify_merkle,
                    progress=lambda b: bar.advance(task, b.n_txs),
                )
                n_rows = len(tables.txs) + len(tables.inputs) + 2 * len(tables.outputs)
                wtask = bar.add_task("writing to the graph", total=n_rows)
                written = write_bitcoin(
                    s, tables, batch_size, procs, progress=lambda _n, k: bar.advance(wtask, k)
                )
        except (InputError, ValueError, OSError, StoreError) as exc:
            err.print(f"[red]error:[/red] {exc}")
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


@btc_app.command("cluster")
def btc_cluster_cmd(
    store: str | None = StoreOpt,
    change: bool = typer.Option(
        False, "--change/--no-change", help="Also use the one-time change-address heuristic."
    ),
    coinjoin_min: int = typer.Option(
        3, help="A tx with this many equal-valued outputs and inputs is a CoinJoin."
    ),
    same_type: bool = typer.Option(True, help="Change must have the address type of the inputs."),
    round_sat: int | None = typer.Option(
        None, help="Change must be the only non-multiple of this many sat (off by default)."
    ),
    batch_size: int = typer.Option(50_000, help="Rows per write batch."),
) -> None:
    """Cluster addresses into wallets (multi-input, optional change) and write them."""
    from ownergraph.graph.bitcoin_graph import cluster_wallets
    from ownergraph.graph.store import StoreError
    from ownergraph.linking.wallets import WalletClusterer

    clusterer = WalletClusterer(
        change_heuristic=change,
        coinjoin_min_equal_outputs=coinjoin_min,
        change_same_type=same_type,
        change_round_sat=round_sat,
    )
    with _open(store) as s:
        try:
            with console.status("clustering wallets"):
                counts = cluster_wallets(s, clusterer, batch_size)
        except (ValueError, StoreError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    t = Table("", "count", title="btc cluster" + (" (with change)" if change else ""))
    for k, v in counts.items():
        t.add_row(k, f"{v:,}")
    console.print(t)


# ---- section: owners / report ----


if __name__ == "__main__":  # pragma: no cover
    app()
