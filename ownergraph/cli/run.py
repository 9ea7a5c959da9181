"""``ownergraph run project.toml``: the whole pipeline on your own files, in one command.

A thin layer over ``ownergraph.project.load_project`` and ``ownergraph.pipeline.run_project``
(registered on the main app by ``ownergraph.cli``).
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from ownergraph.errors import CommandError, reported_as


def run_cmd(
    project_file: str = typer.Argument(..., help="The project file (TOML), see below."),
    store: str | None = typer.Option(
        None, "--store", help="Overrides the project's store uri (same forms as --store)."
    ),
    top: int = typer.Option(10, help="Owner groups to print."),
    incremental: bool = typer.Option(
        False,
        "--incremental",
        help="Load only input files no earlier run loaded; update links and the owner "
        "groups the new rows touch (the store must hold a full run).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the run id, stage summaries and watch hits as JSON."
    ),
    alerts: str | None = typer.Option(
        None,
        "--alerts",
        help="Append-only JSON Lines log of watch hits (default WORK_DIR/alerts.jsonl).",
    ),
) -> None:
    """Run the whole pipeline on your own files: ads (with their mapping), chain data,
    mempool logs, rates and prices, named in a small TOML project file.

    TOML tables: ads, one per file (path, map, set, preset, country, timezone,
    date_format); bitcoin (blocks, mempool, processors, rates, prices); store (uri);
    run (stages, seed, work_dir, author_train_pairs, truth). See ownergraph/project.py.
    """
    import json

    from ownergraph.cli import _hmac_key, _open, console, err
    from ownergraph.cli.demo import pipeline_table
    from ownergraph.pipeline import run_project
    from ownergraph.project import load_project

    project = load_project(project_file)
    with _open(store or project.store, create=True) as s:
        with reported_as(CommandError, ValueError, OSError):  # ProjectError, ...: exit 1
            result = run_project(
                s,
                project,
                on_stage=lambda name: err.print(f"stage: {name}", highlight=False),
                incremental=incremental,
                command=" ".join(
                    ["ownergraph run", project_file]
                    + (["--store", store] if store else [])
                    + (["--incremental"] if incremental else [])
                    + (["--alerts", alerts] if alerts else [])
                ),
                hmac_key=_hmac_key(),
                alert_log=alerts,
            )
        uri = s.uri
    if as_json:
        out = {
            "run": result.run_id,
            "store": uri,
            "stages": [{"name": st.name, "seconds": round(st.seconds, 3), "summary": st.summary}
                       for st in result.stages],
            "hits": result.hits,
            "top_owners": result.top_owners[:top],
        }  # fmt: skip
        console.print_json(json.dumps(out, default=str))
        return
    console.print(pipeline_table(result))
    print_hits(console, result.hits)
    if result.top_owners:
        t = Table("#", "owner", "score", "ads", "regions", "why", title="top owner groups")
        for i, o in enumerate(result.top_owners[:top], start=1):
            t.add_row(
                str(i),
                o["id"],
                f"{o['score']:.1f}",
                str(o["ads"]),
                str(o["states"]),
                escape(o.get("reasons") or "no flag raised"),
            )
        console.print(t)
    ads = next((st.summary for st in result.stages if st.name == "ads"), None)
    if ads is not None and ads["loaded"] == 0:
        raise CommandError(
            "no ad loaded: map the columns in the ads table (map = { ... }); "
            "see them with: ownergraph load ads FILE --inspect"
        )
    console.print(f"store: [bold]{escape(uri)}[/bold] (query it: ownergraph query --store ...)")


def print_hits(console, hits: list[dict]) -> None:  # noqa: ANN001 - a rich Console
    """Watch hits of a run, one row each (nothing when there are none)."""
    if not hits:
        console.print("watches: no new hit")
        return
    t = Table("watch", "kind", "value", "note", "hit", "subject", "group", title="watch hits")
    for h in hits:
        t.add_row(h["watch"], h["watch_kind"], escape(h["value"]), escape(h["note"] or ""),
                  h["hit"], escape(h["subject"]), h["owner"] or "")  # fmt: skip
    console.print(t)
