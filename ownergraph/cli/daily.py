"""``ownergraph watch add|list|rm`` and ``ownergraph runs``: a thin layer over
``ownergraph.daily.watches`` and ``ownergraph.daily.audit`` (registered by ``ownergraph.cli``)."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from ownergraph.errors import CommandError

watch_app = typer.Typer(
    help="Watches: phones, e-mails, wallets, addresses, owner groups or ads to be told about.",
    no_args_is_help=True,
)

_STORE = typer.Option(None, "--store", envvar="OWNERGRAPH_STORE", help="Store path or URI.")


@watch_app.command("add")
def watch_add_cmd(
    kind: str = typer.Argument(..., help="phone | email | wallet | address | owner | ad"),
    value: str = typer.Argument(..., help="The value (a digest hmac-sha256:... is accepted)."),
    note: str = typer.Option("", "--note", help="Why it is watched (shown with each hit)."),
    region: str = typer.Option("US", help="Region for phone numbers without a country code."),
    store: str | None = _STORE,
) -> None:
    """Watch a value: each later run reports new ads, transactions and groups that touch
    it. With OWNERGRAPH_HMAC_KEY set, phones, e-mails and addresses are stored as digests."""
    from ownergraph.cli import _hmac_key, _open, console
    from ownergraph.daily.audit import who
    from ownergraph.daily.watches import add_watch

    with _open(store, create=True) as s:
        s.init_schema()
        w, baseline = add_watch(
            s, kind, value, note=note, hmac_key=_hmac_key(), who=who(), region=region
        )
    shown = w.value if not w.digest else w.value[:22] + "…"
    console.print(
        f"watch {w.id}: {w.kind} {escape(shown)}"
        + (f" ({escape(w.note)})" if w.note else "")
        + f"; {baseline} current match(es) recorded as already known"
    )


@watch_app.command("list")
def watch_list_cmd(
    store: str | None = _STORE,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The watches, oldest first."""
    from dataclasses import asdict

    from ownergraph.cli import _open, console
    from ownergraph.daily.watches import list_watches

    with _open(store) as s:
        s.init_schema()
        ws = list_watches(s)
    if as_json:
        console.print_json(json.dumps([asdict(w) for w in ws]))
        return
    t = Table("id", "kind", "value", "digest", "note", "added by", title=f"watches ({len(ws)})")
    for w in ws:
        t.add_row(w.id, w.kind, escape(w.value), "yes" if w.digest else "no",
                  escape(w.note), escape(w.who))  # fmt: skip
    console.print(t)


@watch_app.command("rm")
def watch_rm_cmd(
    ref: str = typer.Argument(..., help="A watch id (W-...) or its value."),
    store: str | None = _STORE,
) -> None:
    """Remove a watch (its recorded hits stay in the alert log)."""
    from ownergraph.cli import _hmac_key, _open, console
    from ownergraph.daily.watches import remove_watch

    with _open(store) as s:
        s.init_schema()
        n = remove_watch(s, ref, _hmac_key())
    if not n:
        raise CommandError(f"no watch {ref!r}")
    console.print(f"removed {n} watch(es)")


def runs_cmd(
    store: str | None = _STORE,
    limit: int = typer.Option(20, help="How many runs, latest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The audit: every writing run with who, when, which command, mode and counts."""
    from datetime import UTC, datetime

    from ownergraph.cli import _open, console
    from ownergraph.daily.audit import list_runs

    with _open(store) as s:
        s.init_schema()
        rows = list_runs(s, limit)
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return

    def when(ts: int | None) -> str:
        return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")

    t = Table("run", "who", "started (UTC)", "mode", "status", "command", "ads loaded",
              "new files", title="runs")  # fmt: skip
    for r in rows:
        loaded = (r["counts"].get("ads") or {}).get("loaded", "")
        t.add_row(r["id"], escape(r["who"] or ""), when(r["started_ts"]), r["mode"] or "",
                  r["status"] or "", escape(r["command"] or ""), str(loaded),
                  str(len(r["inputs"])))  # fmt: skip
    console.print(t)
