"""The ownergraph command line: a thin typer layer over the library API.

This is the only module that parses arguments and prints. Every command calls a
library function that a notebook can call too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from ownergraph.errors import OwnergraphError, UsageError, reported_as

console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line: paths are not cut


class _Boundary(typer.core.TyperGroup):
    """The CLI's one error boundary: every command runs inside ``invoke``, so a library
    error (an ``OwnergraphError``) reaches the user as one line, ``error: <message>``,
    with its ``exit_code``, never as a traceback; any other exception is a bug and keeps
    its traceback. Commands raise (``UsageError``: exit 2, ``CommandError``: exit 1, or
    ``reported_as`` around a library call); none prints an error and exits itself."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OwnergraphError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(exc.exit_code) from exc


app = typer.Typer(
    cls=_Boundary,
    help="ownergraph: group online sex ads by their true owner in a property graph.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals (they may hold credentials)
)

StoreOpt = typer.Option(
    None,
    "--store",
    envvar="OWNERGRAPH_STORE",
    help="Graph store: a path (embedded LadybugDB, default ./data/graph.lbug) or "
    "neo4j://host:7687 (credentials from NEO4J_USER / NEO4J_PASSWORD).",
)


def _open(store: str | None, *, create: bool = False):
    """Open the store named by --store / $OWNERGRAPH_STORE (a ``StoreError`` exits 2).

    Only commands that load (``init``, ``load``, ``run``) pass ``create``: a read of a
    mistyped path is an error, not a new empty store.
    """
    from ownergraph.store.base import StoreError, open_store

    with reported_as(UsageError, StoreError):
        return open_store(store, create=create)


@contextmanager
def _audited(
    ctx: typer.Context, store: Any, stage: str
) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Record the running writing command as a ``Run`` of mode ``command`` (who, when,
    the command with its options, any URI credentials removed, its counts: ``ownergraph
    runs``); the command passes its summary (``to_dict()``) to the yielded function."""
    from ownergraph.daily import audit

    args: list[str] = []
    for p in ctx.command.params:  # as given: arguments, then options not left at default
        v, source = ctx.params.get(p.name or ""), ctx.get_parameter_source(p.name or "")
        if source is None or source.name == "DEFAULT" or v in (None, False, (), []):
            continue
        values = [str(x) for x in (v if isinstance(v, list | tuple) else [v])]
        if p.param_type_name == "argument":
            args += values
        elif v is True:
            args.append(p.opts[0])
        else:
            args += [x for val in values for x in (p.opts[0], val)]
    with audit.recorded(store, " ".join([ctx.command_path, *args]), stage=stage) as record:
        yield record


def _kv(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise UsageError(f"{what} {item!r} is not KEY=VALUE")
        out[k.strip()] = v
    return out


def _hmac_key() -> bytes | None:
    from ownergraph import settings

    key = settings.get("OWNERGRAPH_HMAC_KEY")
    return key.encode("utf-8") if key else None


# the sub-apps, one module each (importing a module registers its commands on ``app``)
from ownergraph.cli import authors, btc, core, demo, owners  # noqa: E402, F401


def _register_run() -> None:
    from ownergraph.cli.daily import runs_cmd, watch_app
    from ownergraph.cli.run import run_cmd

    app.command("run")(run_cmd)
    app.command("runs")(runs_cmd)
    app.add_typer(watch_app, name="watch")


_register_run()


def _register_images() -> None:
    from ownergraph.cli.core import load_app
    from ownergraph.cli.images import images_app, load_images_cmd

    load_app.command("images")(load_images_cmd)
    app.add_typer(images_app, name="images")


_register_images()


def main() -> None:
    """The ``ownergraph`` command."""
    app()
