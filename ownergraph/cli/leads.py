"""CLI pieces for leads (issue 18): ``owners label`` and the text-indicator tables of
``owners show``. Registered from :mod:`ownergraph.cli`; thin over
:mod:`ownergraph.stages.score_model` and :mod:`ownergraph.text_indicators`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ownergraph.errors import UsageError, reported_as

MAX_ADS_SHOWN = 6


def label_and_rescore(ctx: Any, owner_id: str, label: str, store: str | None) -> None:
    """``owners label``: store the label, re-score, print the mode and learned weights."""
    from ownergraph.cli import _audited, _open, console
    from ownergraph.stages.score_model import label_owner, rescore

    with _open(store) as s, _audited(ctx, s, "owners label") as record:
        with reported_as(UsageError, ValueError):  # OwnerNotFound, StoreError: exit 1
            label_owner(s, owner_id, label)
            info = rescore(s)
        record({"labelled": 1, **info})
    console.print(f"{owner_id} labelled [bold]{label}[/bold]; score: {info['mode']}")
    if "reason" in info:
        console.print(info["reason"])
    for k, v in (info.get("weights") or {}).items():
        console.print(f"  weight {k}: {v:+.3f}")


def print_text_indicators(console: Console, d: dict[str, Any]) -> None:
    """The group's text indicators with the ads they come from, and its reposts."""
    t = Table("indicator", "value", "ads", "from ads", "words", title="read from the ad text")
    for r in d.get("text_indicators", []):
        ads = r["ads"]
        shown = ", ".join(ads[:MAX_ADS_SHOWN]) + (", ..." if len(ads) > MAX_ADS_SHOWN else "")
        t.add_row(r["indicator"], r["value"], str(len(ads)), shown, r.get("words", ""))
    console.print(t)
    reposts = d.get("reposts", [])
    if reposts:
        pairs = "; ".join(f"{r['ad']} -> {r['repeats']}" for r in reposts[:MAX_ADS_SHOWN])
        more = ", ..." if len(reposts) > MAX_ADS_SHOWN else ""
        console.print(f"reposts counted once ({len(reposts)}): {pairs}{more}")
