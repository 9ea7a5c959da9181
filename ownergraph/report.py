"""Case report: one self-contained HTML page about one owner group, to act on offline.

The page holds the group's score, flags, reasons and indicators; a map of its cities with
its movement path in time order and a city-by-day timeline; an interactive evidence graph
(pan, zoom, click a node to see its ads); every evidence link inside the group with its
method, confidence and (soft links) measured precision; its identifiers, wallets and ads
(with links to the original postings); and buttons that export the group's ads and links
as CSV or JSON. Everything is inline: vendored JavaScript (``ownergraph/vendor/``, licences
there), map outlines, data and matplotlib SVGs. A Content-Security-Policy forbids the page
any network request.

With ``redact=True`` phone numbers and e-mail addresses are replaced everywhere, the exports
included (see :mod:`ownergraph.redaction`). :func:`write_index` writes the reports of the
top groups and an index page linking them.
"""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from ownergraph.movement import DAY
from ownergraph.redaction import Redactor
from ownergraph.report_data import case_data
from ownergraph.stages.owners import list_owners
from ownergraph.store.base import Store

__all__ = ["Redactor", "build_report", "write_report", "write_index"]

MAX_ADS_SHOWN = 2000
VENDOR_JS = ("d3-array.min.js", "d3-geo.min.js", "topojson-client.min.js", "cytoscape.min.js")
AD_COLOUR = "#4C8EDA"


def _esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _date(ts: Any) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG: text kept as text, no header, no metadata."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ownergraph"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)  # inline SVG in HTML needs none
    return svg.replace("<svg ", '<svg role="img" ', 1)


def timeline_svg(timeline: list[dict[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.4), dpi=100)
    if timeline:
        days = [datetime.fromtimestamp(int(r["day_ts"]), UTC) for r in timeline]
        ax.bar(days, [r["ads"] for r in timeline], width=0.8, color=AD_COLOUR)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylabel("ads per day")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Timeline of ads (UTC days)", fontsize=10)
    return _svg(fig)


class Raw(str):
    """A table cell that is already HTML (escaped by whoever built it)."""


def _cell(c: Any) -> str:
    return c if isinstance(c, Raw) else _esc(c)


def _table(
    headers: list[str], rows: list[list[Any]], cls: str = "", row_attrs: list[str] | None = None
) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    attrs = row_attrs or [""] * len(rows)
    body = "\n".join(
        f"<tr{a}>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>"
        for r, a in zip(rows, attrs, strict=True)
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


INDICATOR_LABELS = [
    ("ads", "ads (reposts counted once)"),
    ("reposts", "reposts of its ads (not counted)"),
    ("undated_ads", "ads without a date (not in the rate)"),
    ("states", "distinct states"),
    ("cities", "distinct cities"),
    ("moves", "city changes in time order"),
    ("active_days", "active days"),
    ("ads_per_day", "dated ads per active day"),
    ("names", "distinct advertised names (fields and text)"),
    ("ages", "distinct advertised ages (fields and text)"),
    ("ethnicities", "distinct ethnicities named in the text"),
    ("third_person", "share of ads in the third person"),
    ("new_in_town", "share of ads 'new in town'"),
    ("several_women", "share of ads offering several women"),
    ("youth", "share of ads with youth-suggestive words"),
    ("shared_incall", "incall places given under different names"),
    ("phones", "phone numbers"),
    ("emails", "e-mail addresses"),
    ("wallets", "paying wallets"),
    ("btc_spent", "BTC sent to payment processors"),
    ("usd_spent", "USD spent (see note)"),
    ("evidence", "evidence joining its ads"),
    ("method", "grouping method"),
]


def movement_svg(city_days: list[dict[str, Any]], stays: list[dict[str, Any]]) -> str:
    """Cities by UTC day: a dot per (day, city) sized by ads, a line through each day's main
    city (the movement path)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    order: list[tuple[str, str]] = []
    for r in city_days:
        key = (r["city"], r["state"])
        if key not in order:
            order.append(key)
    row = {k: i for i, k in enumerate(order)}
    fig, ax = plt.subplots(figsize=(10, max(2.2, 0.28 * len(order) + 1.2)), dpi=100)
    if city_days:
        days = [datetime.fromtimestamp(r["day_ts"], UTC) for r in city_days]
        ys = [row[(r["city"], r["state"])] for r in city_days]
        sizes = [12 + 10 * r["ads"] for r in city_days]
        path_x, path_y = [], []
        for s in stays:
            for ts in (s["first_ts"], s["last_ts"]):
                path_x.append(datetime.fromtimestamp(ts + DAY // 2, UTC))
                path_y.append(row[(s["city"], s["state"])])
        ax.plot(path_x, path_y, color="#b3261e", linewidth=1.2, alpha=0.7, zorder=1)
        ax.scatter([d.replace(hour=12) for d in days], ys, s=sizes, color=AD_COLOUR,
                   edgecolors="#1d3f73", linewidths=0.5, zorder=2)  # fmt: skip
        locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_yticks(range(len(order)), [f"{c}, {s}" for c, s in order], fontsize=8)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.grid(axis="y", color="#eeeeee")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("City by day (UTC), cities in order of first visit", fontsize=10)
    return _svg(fig)


def _precision_text(p: dict[str, Any]) -> str:
    if p["value"] is None:
        return p["source"]
    return f"{p['value']:.3f} ({p['source']})"


def _json_script(value: Any) -> str:
    """JSON safe inside <script type=application/json>: no "<" can close the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c")


def _asset(*parts: str) -> str:
    return resources.files("ownergraph").joinpath(*parts).read_text(encoding="utf-8")


def build_report(
    store: Store,
    owner_id: str,
    *,
    redact: bool = False,
    hmac_key: bytes | None = None,
    index_href: str | None = None,
) -> str:
    """The case report of one owner group as an HTML string.

    ``index_href``: a link back to an index page (``report --top N`` writes one).
    """
    red = Redactor(redact, hmac_key)
    d = case_data(store, owner_id, red)
    d["redacted"] = redact
    o = d["owner"]
    indicators = _table(
        ["indicator", "value"],
        [[label, _fmt(o.get(k))] for k, label in INDICATOR_LABELS],
        "indicators",
    )
    places = _table(
        ["state", "city", "ads", "first ad (UTC)", "last ad (UTC)", "placed at (gazetteer)"],
        [
            [
                r["state"],
                r["city"],
                r["ads"],
                r["first"],
                r["last"],
                ""
                if r["lat"] is None
                else f"{r['gazetteer']} {r['lat']:.2f}, {r['lon']:.2f}"
                + (" (region: approximate)" if r["approximate"] else ""),
            ]
            for r in d["places"]
        ],  # fmt: skip
        "places",
    )
    stays = _table(
        ["#", "city", "state", "from (UTC day)", "to", "active days", "ads there"],
        [
            [i + 1, s["city"], s["state"], s["first"], s["last"], s["days"], s["ads"]]
            for i, s in enumerate(d["stays"])
        ],
        "stays",
    )
    links = _table(
        ["kind", "value", "ad", "method", "confidence", "precision", "detail"],
        [
            [
                r["kind"],
                Raw(
                    f'<button class="hub" data-node="{_esc(r["node"])}" '
                    f'title="show in the evidence graph">{_esc(r["value"])}</button>'
                ),
                Raw(f'<a href="#ad-{_esc(r["ad"])}">{_esc(r["ad"])}</a>'),
                r["method"],
                "" if r["confidence"] is None else f"{float(r['confidence']):.3f}",
                _precision_text(r["precision"]),
                r["detail"],
            ]  # fmt: skip
            for r in d["links"]
        ],
        "links",
        [f' data-kind="{_esc(r["kind"])}"' for r in d["links"]],
    )
    identifiers = _table(
        ["kind", "identifier", "ads in this group", "ads in other groups"],
        [
            [r["kind"], r["identifier"], r["ads"], r["ads_elsewhere"]] for r in d["identifiers"]
        ],  # fmt: skip
        "identifiers",
    )
    images = _table(
        ["picture (hash group)", "ads in this group", "ads in other groups", "hashes",
         "generic", "why generic", "match precision"],
        [
            [r["picture"], r["ads"], r["ads_elsewhere"], r["hashes"],
             "yes" if r["generic"] else "no", r["generic_reason"],
             "" if r["confidence"] is None else f"{float(r['confidence']):.3f}"]
            for r in d.get("images", [])
        ],
        "images",
    )  # fmt: skip
    if not d.get("images"):
        images = '<p class="note">No picture hashes loaded for this group.</p>'
    wallets = _table(
        ["wallet", "addresses", "paying txs", "ads paid", "first payment", "last payment"],
        [
            [
                r["wallet"],
                r["addresses"],
                r["txs"],
                r["ads"],
                _date(r["first_ts"]),
                _date(r["last_ts"]),
            ]
            for r in d["wallets"]
        ],  # fmt: skip
        "wallets",
    )
    history = _table(
        ["when (UTC)", "run", "change", "earlier id", "later id", "ads moved", "ads before",
         "ads after"],
        [
            [r["when"], r["run"], r["kind"], r["old_id"], r["new_id"], r["shared"],
             r["old_ads"], r["new_ads"]]
            for r in d["history"]
        ],
        "history",
    )  # fmt: skip
    o_since = d["owner"].get("since_run") or "before ids were kept across runs"
    history = (
        f'<p class="note">This id exists since run {_esc(o_since)}; a group keeps its id '
        "while it keeps more than half of its ads. Merges and splits that led to or from "
        "it:</p>" + (history if d["history"] else '<p class="note">none recorded.</p>')
    )
    services = _table(
        ["wallet", "direction", "service", "category", "transactions", "BTC",
         "first (UTC)", "tag found by", "tag source", "tag confidence"],
        [
            [
                r["wallet"], r["direction"], r["service"], r["category"], r["txs"],
                "" if r["sat"] is None else f"{r['sat'] / 1e8:.8f}", r["first"], r["via"],
                r["source"],
                "" if r["confidence"] is None else f"{float(r['confidence']):.2f}",
            ]
            for r in d["service_tags"]
        ],
        "services",
    )  # fmt: skip
    if not d["service_tags"]:
        services = (
            '<p class="note">No tagged service among the counterparties of this group\'s '
            "wallets (tags are loaded with <code>btc tags</code>).</p>"
        )
    text_ind = _table(
        ["indicator", "value", "ads", "from ads", "matched words"],
        [
            [
                r["indicator"],
                r["value"],
                len(r["ads"]),
                Raw(", ".join(f'<a href="#ad-{_esc(a)}">{_esc(a)}</a>' for a in r["ads"])),
                r["words"],
            ]
            for r in d["text_indicators"]
        ],
        "text-indicators",
    )
    if d["reposts"]:
        text_ind += (
            f'<p class="note" id="reposts">{len(d["reposts"])} ads repeat an earlier ad of '
            "this group (same text and identifiers within "
            f"{_esc(_fmt(d['reposts'][0].get('window_days', 30)))} days) and are counted once: "
            + _esc("; ".join(f"{r['ad']} repeats {r['repeats']}" for r in d["reposts"][:50]))
            + ("; ..." if len(d["reposts"]) > 50 else "")
            + "</p>"
        )
    shown = d["ads"][:MAX_ADS_SHOWN]
    ads = _table(
        [
            "ad",
            "posted (UTC)",
            "state",
            "city",
            "name",
            "age",
            "title",
            "text",
            "phones",
            "e-mails",
            "membership confidence",
            "link",
        ],  # fmt: skip
        [
            [
                Raw(f'<span id="ad-{_esc(r["ad"])}">{_esc(r["ad"])}</span>'),
                r["posted"],
                r["state"],
                r["city"],
                r["name"],
                r["age"],
                r["title"],
                r["body"],
                ", ".join(r["phones"]),
                ", ".join(r["emails"]),
                _fmt(r["membership_confidence"])
                + (
                    ""
                    if r["membership_precision"] is None
                    else f" (precision {r['membership_precision']:.3f})"
                ),
                Raw(
                    f'<a href="{_esc(r["url"])}" rel="noreferrer noopener" target="_blank">'
                    "original ad</a>"
                )
                if r["url"]
                else "",
            ]  # fmt: skip
            for r in shown
        ],
        "ads",
    )
    if len(d["ads"]) > len(shown):
        ads += f'<p class="note">First {len(shown)} of {len(d["ads"])} ads shown.</p>'
    note = (
        '<p class="redacted" id="redaction">Redacted: phone numbers and e-mail addresses are '
        "replaced by [phone] and [email] (in the page and in its exports); tables tell them "
        "apart by "
        + ("a keyed digest." if hmac_key else "a number within this report.")
        + " Ad links keep the site's ad id.</p>"
        if redact
        else ""
    )
    flags = "".join(f'<span class="flag">{_esc(f)}</span>' for f in d["flags"]) or "none"
    reasons = "".join(f"<li>{_esc(r)}</li>" for r in d["reasons"]) or "<li>no flag raised</li>"
    hubs = len(d["hubs"])
    graph_note = (
        f"All {len(d['ads'])} ads and {hubs} hubs (phones, e-mails, stylometric authors, "
        "paying wallets) are drawn; the layout is computed once (Fruchterman-Reingold). "
        "Ad labels (id and city) appear when zoomed in."
    )
    vendor = "\n".join(_asset("vendor", name) for name in VENDOR_JS)
    return PAGE.substitute(
        owner_id=_esc(owner_id),
        index_link=(
            f'<a href="{_esc(index_href)}">← all reported groups</a>' if index_href else ""
        ),  # fmt: skip
        generated=_esc(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        dialect=_esc(store.dialect),
        redaction_note=note,
        score=_esc(_fmt(o["score"])),
        flags=flags,
        reasons=reasons,
        indicators=indicators,
        text_indicators=text_ind,
        score_mode=_esc(o.get("score_mode") or "default weights"),
        parts=_esc("; ".join(d["parts"]) or "none"),
        usd_note=_esc(
            "what the group's ad payments were worth: the ad's expected posting cost times "
            "(1 + the payment matcher's usd_error) for each paying transaction, or, when "
            "detection was given exchange rates, the BTC amounts at the rate of their "
            "first-seen time."
        ),
        movement_svg=movement_svg(d["city_days"], d["stays"]),
        stays=stays,
        timeline_svg=timeline_svg(d["timeline"]),
        places=places,
        graph_note=_esc(graph_note),
        redacted_values=(" Values are redacted labels." if redact else ""),
        links=links,
        identifiers=identifiers,
        images=images,
        wallets=wallets,
        services=services,
        history=history,
        n_ads=len(d["ads"]),
        ads=ads,
        data_json=_json_script(d),
        states_json=_asset("vendor", "states-10m.json").strip(),
        vendor_js=vendor.replace("</script", "<\\/script"),
        report_js=_asset("templates", "report.js"),
    )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.8f}".rstrip("0").rstrip(".") if abs(v) < 1 else f"{v:,.2f}"
    return "" if v is None else str(v)


def write_report(
    store: Store,
    owner_id: str,
    out: str | Path,
    *,
    redact: bool = False,
    hmac_key: bytes | None = None,
    index_href: str | None = None,
) -> Path:
    """Write the case report to ``out`` (parent folders are created); returns the path."""
    path = Path(out)
    text = build_report(store, owner_id, redact=redact, hmac_key=hmac_key, index_href=index_href)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


INDEX = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>Owner groups: case reports</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:24px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5}.note{color:#5a6475;font-size:12px}
</style></head><body><main>
<h1>Top $n owner groups by score</h1>
<p class="note">Generated $generated from a $dialect store.$redacted Each group is an
inference from evidence, not proof of ownership: open its report for the evidence.</p>
<div id="groups">$table</div>
</main></body></html>
""")


def write_index(
    store: Store,
    out_dir: str | Path,
    *,
    top: int = 10,
    redact: bool = False,
    hmac_key: bytes | None = None,
) -> Path:
    """Write the reports of the ``top`` groups by score and ``index.html`` linking them."""
    if top < 1:
        raise ValueError("top must be at least 1")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    groups = list_owners(store, sort="score", limit=top)
    rows = []
    for rank, g in enumerate(groups, 1):
        name = f"{g['id']}.html"
        write_report(store, g["id"], folder / name, redact=redact, hmac_key=hmac_key,
                     index_href="index.html")  # fmt: skip
        rows.append(
            [
                rank,
                Raw(f'<a href="{_esc(name)}">{_esc(g["id"])}</a>'),
                _fmt(g["score"]),
                g["ads"],
                g["states"],
                g["cities"],
                g["flags"],
                g["reasons"],
            ]  # fmt: skip
        )
    index = folder / "index.html"
    index.write_text(
        INDEX.substitute(
            n=len(groups),
            generated=_esc(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
            dialect=_esc(store.dialect),
            redacted=" Reports are redacted." if redact else "",
            table=_table(
                ["#", "group", "score", "ads", "states", "cities", "flags", "reasons"],
                rows,
                "groups",
            ),
        ),
        encoding="utf-8",
    )
    return index


PAGE = Template(_asset("templates", "report.html"))
