"""Case report: one self-contained HTML page about one owner group.

The page holds the group's indicators, score parts, flags and reasons, a timeline of its
ads, a table of states and cities, a picture of its evidence graph, its identifiers,
wallets and ads. Everything is inline (CSS and SVG pictures drawn with matplotlib); the
page loads nothing from the network and links nowhere.

With ``redact=True`` phone numbers and e-mail addresses are replaced by ``[phone]`` and
``[email]`` everywhere: in ad titles and bodies (every span the identifier extractor
finds, then any remaining run of 7+ digits and anything shaped like an address), in the
tables and in the picture. Tables then tell identifiers apart by a short keyed digest
(HMAC-SHA256 with ``hmac_key``) or, without a key, by a number within the report.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

from ownergraph.graph.owners import owner_detail
from ownergraph.graph.store import Store

MAX_ADS_SHOWN = 2000
MAX_GRAPH_ADS = 300
KIND_STYLE = {  # colour, marker
    "ad": ("#4C8EDA", "o"),
    "phone": ("#F79767", "s"),
    "email": ("#57C7E3", "s"),
    "wallet": ("#FFC454", "D"),
    "author": ("#8DCC93", "^"),
}
_DIGITS = re.compile(r"(?<![\w])(?:\+?\d[\s().\-/]{0,3}){7,}\d?(?![\w])")
_EMAILISH = re.compile(
    r"[\w.+\-]+\s*(?:@|\(at\)|\[at\])\s*[\w\-]+(?:\s*(?:\.|\(dot\)|\[dot\])\s*[\w\-]+)+"
)


class Redactor:
    """Replaces identifiers in text and labels them in tables."""

    def __init__(self, enabled: bool, hmac_key: bytes | None = None) -> None:
        self.enabled = enabled
        self.key = hmac_key
        self._numbers: dict[str, int] = {}

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        if not self.enabled:
            return value
        from ownergraph.loaders.identifiers import extract_emails, extract_phones

        out = value
        for _ in range(50):  # the extractor reports each identifier once: repeat
            found = [(m.raw, "[email]") for m in extract_emails(out)]
            found += [(m.raw, "[phone]") for m in extract_phones(out)]
            found = [(raw, tag) for raw, tag in found if raw and raw not in ("[phone]", "[email]")]
            if not found:
                break
            for raw, tag in sorted(found, key=lambda x: -len(x[0])):
                out = out.replace(raw, tag)
        out = _EMAILISH.sub("[email]", out)
        return _DIGITS.sub("[phone]", out)

    def identifier(self, kind: str, value: str) -> str:
        """A table/picture label for an identifier (phone, email); others pass through."""
        if not self.enabled or kind not in ("phone", "email"):
            return value
        if value.startswith("hmac-sha256:"):
            return f"[{kind}] {value.split(':', 1)[1][:10]}"
        if self.key:
            digest = hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()
            return f"[{kind}] {digest[:10]}"
        same_kind = sum(1 for k in self._numbers if k.startswith(kind + ":"))
        n = self._numbers.setdefault(f"{kind}:{value}", same_kind + 1)
        return f"[{kind}] #{n}"


def _esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _date(ts: Any) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(ts: Any) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


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
        ax.bar(days, [r["ads"] for r in timeline], width=0.8, color=KIND_STYLE["ad"][0])
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylabel("ads per day")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Timeline of ads (UTC days)", fontsize=10)
    return _svg(fig)


def evidence_svg(links: list[dict[str, Any]], ads: list[str], red: Redactor) -> tuple[str, str]:
    """A drawing of the group's ads and the hubs linking them; returns (svg, caption)."""
    import igraph as ig
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ads[:MAX_GRAPH_ADS]
    keep = set(shown)
    links = [r for r in links if r["ad"] in keep]
    hub_keys = sorted({(r["kind"], r["hub"]) for r in links})
    names = list(shown) + [f"{k}:{h}" for k, h in hub_keys]
    index = {n: i for i, n in enumerate(names)}
    g = ig.Graph(n=len(names))
    g.add_edges([(index[r["ad"]], index[f"{r['kind']}:{r['hub']}"]) for r in links])
    layout = g.layout_fruchterman_reingold(seed=[[i % 7, i // 7] for i in range(len(names))])
    xy = layout.coords
    fig, ax = plt.subplots(figsize=(8, 6), dpi=100)
    for r in links:
        a, b = index[r["ad"]], index[f"{r['kind']}:{r['hub']}"]
        conf = float(r["confidence"] or 0.0)
        ax.plot(
            [xy[a][0], xy[b][0]], [xy[a][1], xy[b][1]],
            color="#888888", alpha=0.25 + 0.6 * conf, linewidth=0.6 + 1.4 * conf, zorder=1,
        )  # fmt: skip
    kinds = ["ad"] * len(shown) + [k for k, _ in hub_keys]
    for kind, (colour, marker) in KIND_STYLE.items():
        pts = [i for i, k in enumerate(kinds) if k == kind]
        if pts:
            ax.scatter(
                [xy[i][0] for i in pts], [xy[i][1] for i in pts], s=90 if kind == "ad" else 120,
                c=colour, marker=marker, edgecolors="#333333", linewidths=0.5, zorder=2,
                label=kind,
            )  # fmt: skip
    small = len(names) <= 80
    for i, n in enumerate(names):
        if kinds[i] == "ad":
            label = n if small else ""
        else:
            kind, hub = n.split(":", 1)
            label = red.identifier(kind, hub)
        if label:
            ax.annotate(label, xy[i], fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.legend(loc="best", fontsize=8, frameon=False)
    ax.set_axis_off()
    caption = (
        f"{len(shown)} ads and {len(hub_keys)} hubs (phones, e-mails, wallets, stylometric "
        "authors); line strength = link confidence."
    )
    if len(ads) > len(shown):
        caption += f" Only the first {len(shown)} of {len(ads)} ads (by time) are drawn."
    return _svg(fig), caption


def _table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


INDICATOR_LABELS = [
    ("ads", "ads"),
    ("states", "distinct states"),
    ("cities", "distinct cities"),
    ("active_days", "active days"),
    ("ads_per_day", "ads per active day"),
    ("names", "distinct advertised names"),
    ("ages", "distinct advertised ages"),
    ("phones", "phone numbers"),
    ("emails", "e-mail addresses"),
    ("wallets", "paying wallets"),
    ("btc_spent", "BTC sent to payment processors"),
    ("usd_spent", "USD spent (see note)"),
    ("evidence", "evidence joining its ads"),
    ("method", "grouping method"),
]

PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Case report $owner_id</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.sub{color:#5a6475;margin:0 0 16px}
.score{font-size:36px;font-weight:700;color:#b3261e}
.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:12px 16px}
.flag{display:inline-block;background:#fde7e4;color:#8c1d18;border-radius:12px;
 padding:2px 10px;margin:2px 4px 2px 0;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5}
.ads td:nth-child(8){max-width:420px}
figure{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:0;padding:8px}
figcaption{color:#5a6475;font-size:12px}
figure svg{max-width:100%;height:auto}
.note{color:#5a6475;font-size:12px}
.redacted{background:#fff4ce;border:1px solid #e6c200;padding:6px 10px;border-radius:4px}
</style></head>
<body><main>
<h1>Owner group <span id="owner-id">$owner_id</span></h1>
<p class="sub">Case report generated $generated from a $dialect store. A group is an inference
from the evidence listed below, each link with its confidence; it is not proof of ownership.</p>
$redaction_note
<div class="cards">
<div class="card"><div>score (0-100)</div><div class="score" id="score">$score</div></div>
<div class="card" id="flags"><div>flags</div>$flags</div>
</div>
<h2>Why this group stands out</h2>
<ul id="reasons">$reasons</ul>
<h2>Indicators</h2>
<div id="indicators">$indicators</div>
<p class="note">Score: weighted mean of log-scaled indicators (weights and caps in
ownergraph.graph.scoring.SCORE_PARTS). Contributions: $parts.
USD spent: $usd_note</p>
<h2>Timeline</h2>
<figure id="timeline">$timeline_svg<figcaption>Ads per UTC day.</figcaption></figure>
<h2>States and cities</h2>
<div id="places">$places</div>
<h2>Evidence graph</h2>
<figure id="evidence-graph">$evidence_svg<figcaption>$evidence_caption</figcaption></figure>
<h2>Identifiers</h2>
<div id="identifiers">$identifiers</div>
<h2>Wallets</h2>
<div id="wallets">$wallets</div>
<h2>Ads ($n_ads)</h2>
<div id="ads">$ads</div>
</main></body></html>
""")


def build_report(
    store: Store, owner_id: str, *, redact: bool = False, hmac_key: bytes | None = None
) -> str:
    """The case report of one owner group as an HTML string."""
    d = owner_detail(store, owner_id)
    red = Redactor(redact, hmac_key)
    o = d["owner"]
    indicators = _table(
        ["indicator", "value"],
        [[label, _fmt(o.get(k))] for k, label in INDICATOR_LABELS],
        "indicators",
    )
    places = _table(
        ["state", "city", "ads", "first ad", "last ad"],
        [
            [r["state"], r["city"], r["ads"], _date(r["first_ts"]), _date(r["last_ts"])]
            for r in d["places"]
        ],  # fmt: skip
        "places",
    )
    identifiers = _table(
        ["kind", "identifier", "ads in this group", "ads in other groups"],
        [
            [r["kind"], red.identifier(r["kind"], r["identifier"]), r["ads"], r["ads_elsewhere"]]
            for r in d["identifiers"]
        ],  # fmt: skip
        "identifiers",
    )
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
    shown = d["ads"][:MAX_ADS_SHOWN]
    ads = _table(
        [
            "ad",
            "posted",
            "state",
            "city",
            "name",
            "age",
            "title",
            "text",
            "phones",
            "e-mails",
            "membership confidence",
        ],  # fmt: skip
        [
            [
                r["ad"],
                _date(r["posted_ts"]),
                r["state"],
                r["city"],
                r["name"],
                r["age"],
                red.text(r["title"]),
                red.text(r["body"]),
                ", ".join(red.identifier("phone", p) for p in sorted(r["phones"])),
                ", ".join(red.identifier("email", e) for e in sorted(r["emails"])),
                r["confidence"],
            ]  # fmt: skip
            for r in shown
        ],
        "ads",
    )
    if len(d["ads"]) > len(shown):
        ads += f'<p class="note">First {len(shown)} of {len(d["ads"])} ads shown.</p>'
    graph_svg, caption = evidence_svg(d["links"], [r["ad"] for r in d["ads"]], red)
    note = (
        '<p class="redacted" id="redaction">Redacted: phone numbers and e-mail addresses are '
        "replaced by [phone] and [email]; tables tell them apart by "
        + ("a keyed digest." if hmac_key else "a number within this report.")
        + "</p>"
        if redact
        else ""
    )
    flags = "".join(f'<span class="flag">{_esc(f)}</span>' for f in d["flags"]) or "none"
    reasons = "".join(f"<li>{_esc(r)}</li>" for r in d["reasons"]) or "<li>no flag raised</li>"
    return PAGE.substitute(
        owner_id=_esc(owner_id),
        generated=_esc(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        dialect=_esc(store.dialect),
        redaction_note=note,
        score=_esc(_fmt(o["score"])),
        flags=flags,
        reasons=reasons,
        indicators=indicators,
        parts=_esc("; ".join(d["parts"]) or "none"),
        usd_note=_esc(
            "what the group's ad payments were worth: the ad's expected posting cost times "
            "(1 + the payment matcher's usd_error) for each paying transaction, or, when "
            "detection was given exchange rates, the BTC amounts at the rate of their "
            "first-seen time."
        ),
        timeline_svg=timeline_svg(d["timeline"]),
        places=places,
        evidence_svg=graph_svg,
        evidence_caption=_esc(caption),
        identifiers=identifiers,
        wallets=wallets,
        n_ads=len(d["ads"]),
        ads=ads,
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
) -> Path:
    """Write the case report to ``out`` (parent folders are created); returns the path."""
    path = Path(out)
    text = build_report(store, owner_id, redact=redact, hmac_key=hmac_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
