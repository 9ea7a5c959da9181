"""The ownergraph command line: a thin typer layer over the library API.

This is the only module that parses arguments and prints. Every command calls a
library function that a notebook can call too.
"""

from __future__ import annotations

import typer
from rich.console import Console

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

# ---- section: synth / evaluate / demo ----

# ---- section: authors (stylometry) ----

# ---- section: btc ----

# ---- section: owners / report ----


if __name__ == "__main__":  # pragma: no cover
    app()
