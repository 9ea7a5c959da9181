"""`ownergraph owners ...` and `report`: detect, list, show, label owner groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ownergraph import defaults
from ownergraph.cli import StoreOpt, _audited, _hmac_key, _open, app, console, err
from ownergraph.errors import CommandError, UsageError, reported_as

if TYPE_CHECKING:
    pass


# ---- section: owners / report ----
owners_app = typer.Typer(
    help="Owner groups: detect them from all evidence, rank and inspect them.",
    no_args_is_help=True,
)
app.add_typer(owners_app, name="owners")


@owners_app.command("detect")
def owners_detect_cmd(
    ctx: typer.Context,
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
    generic: bool = typer.Option(
        defaults.GENERIC_IDENTIFIERS,
        "--generic/--no-generic",
        help="leiden: mark generic phones/e-mails (shared booking or agency lines: groups "
        "with identifiers of their own write in unrelated styles under them over a long "
        "time) on their nodes; such a line joins only its ads that write alike. On by "
        "default; see docs/results.md for what it measured.",
    ),
    joins: str = typer.Option(
        defaults.JOIN_RULE,
        "--joins",
        help="leiden, calibrated: how joins of phone groups by authors or pictures are judged: "
        "slack (B-cubed precision within 0.005 of the same evidence only attaching) | cut "
        "(cut-and-rejoin: hide the identifier or ad that bridges two parts of a component "
        "and measure whether they are joined back, precision >= 0.95; off where fewer than "
        "20 components can be cut) | both.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Find owner groups and write Owner nodes + BELONGS_TO (replacing earlier ones)."""
    import json

    from ownergraph.loaders.rates import RateError, RateTable, sidecar_path
    from ownergraph.owners.communities import KINDS, EvidenceError, EvidenceWeights
    from ownergraph.stages.owners import detect_owners
    from ownergraph.store.base import StoreError

    with reported_as(UsageError, ValueError, OSError):
        if authors not in ("attach", "join"):
            raise ValueError(f"--authors must be attach or join, not {authors!r}")
        if joins not in ("slack", "cut", "both"):
            raise ValueError(f"--joins must be slack, cut or both, not {joins!r}")
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
    with _open(store) as s, _audited(ctx, s, "owners") as record:
        with reported_as(
            CommandError, EvidenceError, RateError, StoreError, RuntimeError, ValueError
        ):
            with console.status(f"detecting owner groups ({method})"):
                summary = detect_owners(
                    s, w, resolution, method, must_link=links, seed=seed, rates=rate_table,
                    calibrate=calibrate, author_joins=authors == "join", generic=generic,
                    join_rule=joins,
                )  # fmt: skip
        record(summary.to_dict())
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
        with reported_as(UsageError, ValueError, StoreError):
            rows = list_owners(s, sort=sort, limit=top, min_ads=min_ads)
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

    from ownergraph.cli.leads import print_text_indicators
    from ownergraph.owners import scoring
    from ownergraph.stages.owners import OwnerNotFound, owner_detail
    from ownergraph.stages.service_tags import owner_service_tags

    with _open(store) as s:
        with reported_as(CommandError, OwnerNotFound):
            d = owner_detail(s, owner_id)
            d["service_tags"] = owner_service_tags(s, owner_id)
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
    t = Table("indicator", "value", title="indicators")
    for k in (k for k in scoring.INDICATORS if k not in ("first_ts", "last_ts")):  # dates below
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
    t = Table("kind", "identifier", "ads", "ads in other groups", "generic", title="identifiers")
    for r in d["identifiers"]:
        gen = f"yes: {r['generic_reason']}" if r.get("generic") else "no"
        t.add_row(r["kind"], r["identifier"], str(r["ads"]), str(r["ads_elsewhere"]), gen)
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
    ctx: typer.Context,
    owner_id: str = typer.Argument(..., help="An Owner id, e.g. O-1a2b3c4d5e."),
    label: str = typer.Argument(..., help="operation | independent | unsure"),
    store: str | None = StoreOpt,
) -> None:
    """Label an owner group, then re-score every group: weights learned from the labels
    once 5 groups are labelled operation and 5 independent, the documented defaults before."""
    from ownergraph.cli.leads import label_and_rescore

    label_and_rescore(ctx, owner_id, label, store)


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

    if (owner_id is None) == (top is None):
        raise UsageError("give an owner id or --top N (not both)")
    target = out or ("reports" if top else "case.html")
    with _open(store) as s:
        try:
            if top:
                path = write_index(s, target, top=top, redact=redact, hmac_key=_hmac_key())
            else:
                path = write_report(s, owner_id, target, redact=redact, hmac_key=_hmac_key())
        except OSError as exc:
            raise CommandError(f"cannot write {target}: {exc}") from exc
    if top:
        console.print(f"reports of the top groups and their index: [bold]{path}[/bold]")
    else:
        console.print(f"case report written to [bold]{path}[/bold]")
