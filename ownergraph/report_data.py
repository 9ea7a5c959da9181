"""What the case report shows, read from the store and redacted: one dict per group.

:func:`case_data` gathers the group's ads, every evidence link inside the group (kind, value,
method, confidence and, for soft links, the measured precision when the store has one),
its places with gazetteer coordinates, its cities per day and movement path, and a laid-out
evidence graph (igraph) for the page's interactive view, and the tagged services (exchanges,
wallet services, processors) the group's wallets paid or received from, each with its tag's
source and confidence (``graph.service_tags.owner_service_tags``). The page embeds it as JSON.

Soft-link precision is read defensively: a ``precision`` property on a link (or on
``BELONGS_TO``) is shown when present (author links: their operating point's precision
among held-out candidate pairs, see ``linking/stylometry/operating_point.py``); author
links of stores made before that show their Author's ``expected_precision`` (then the
model's precision on random held-out pairs); anything else says ``not measured``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from ownergraph import geo, movement
from ownergraph.loaders.us_states import STATES
from ownergraph.owners.evidence_graph import HARD_KINDS
from ownergraph.redaction import Redactor
from ownergraph.stages.owners import owner_detail
from ownergraph.stages.service_tags import owner_service_tags
from ownergraph.store.base import Store
from ownergraph.store.schema import SCHEMA

_BREAK = re.compile(r"\s*<br\s*/?>\s*", re.I)  # scraped bodies keep the site's line breaks
NOT_MEASURED = "not measured"
NODE_SPACING = 60.0  # layout span = NODE_SPACING * sqrt(nodes): small groups draw large
LAYOUT_WEIGHT = {"phone": 1.0, "email": 1.0, "wallet": 1.0, "author": 0.5, "image": 1.0}


def _prop(store: Store, var: str, rel_type: str, prop: str) -> str:
    """``var.prop`` when the store can have it (LadybugDB: in the schema; Neo4j: any property,
    read from the property map so that a key no link has yet raises no warning)."""
    if prop in SCHEMA.rel(rel_type).prop_names:
        return f"{var}.{prop}"
    if store.dialect == "neo4j":
        return f"properties({var})['{prop}']"
    return "NULL"


def _day(ts: Any) -> str:
    return "" if ts is None else datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


def _time(ts: Any) -> str:
    return "" if ts is None else datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M")


def _precision(value: Any, source: str) -> dict[str, Any]:
    return {"value": None if value is None else float(value), "source": source}


def evidence_links(store: Store, owner_id: str) -> list[dict[str, Any]]:
    """Every link joining the group's ads to a phone, e-mail, author or paying wallet."""
    p = {"id": owner_id}
    member = "MATCH (a:Ad)-[:BELONGS_TO]->(:Owner {id: $id}) "
    out: list[dict[str, Any]] = []
    for kind, rel, label, key in (
        ("phone", "HAS_PHONE", "Phone", "number"),
        ("email", "HAS_EMAIL", "Email", "address"),
    ):
        q = (
            f"{member}MATCH (a)-[r:{rel}]->(h:{label}) RETURN a.id AS ad, h.{key} AS hub, "
            f"r.method AS method, r.confidence AS confidence, "
            f"{_prop(store, 'r', rel, 'precision')} AS precision"
        )
        for r in store.query(q, p):
            prec = (
                _precision(r["precision"], "link")
                if r["precision"] is not None
                else _precision(None, "hard identifier")
            )
            out.append({**r, "kind": kind, "detail": "", "precision": prec})
    q = (
        f"{member}MATCH (a)-[r:WRITTEN_BY]->(h:Author) RETURN a.id AS ad, h.id AS hub, "
        "r.method AS method, r.confidence AS confidence, r.p AS p, h.size AS size, "
        "h.threshold AS threshold, h.expected_precision AS expected, "
        f"{_prop(store, 'r', 'WRITTEN_BY', 'precision')} AS precision"
    )
    for r in store.query(q, p):
        if r["precision"] is not None:
            prec = _precision(
                r["precision"], "measured among held-out candidate pairs, identifier labels"
            )
        elif r["expected"] is not None:
            prec = _precision(r["expected"], "author model, random held-out pairs")
        else:
            prec = _precision(None, NOT_MEASURED)
        detail = f"pair probability {r['p']:.3f}" if r["p"] is not None else ""
        if r["threshold"] is not None:
            detail += f" (threshold {r['threshold']:.3f}, author of {r['size']} ads)"
        out.append(
            {
                "ad": r["ad"],
                "hub": r["hub"],
                "kind": "author",
                "method": r["method"],
                "confidence": r["confidence"],
                "detail": detail.strip(),
                "precision": prec,
            }
        )
    q = (
        f"{member}MATCH (a)<-[pf:PAID_FOR]-(t:Tx)<-[:SPENT_IN]-(:Address)-[iw:IN_WALLET]->"
        "(w:Wallet) WHERE t.coinjoin IS NULL OR t.coinjoin = false "
        "RETURN a.id AS ad, w.id AS hub, t.txid AS txid, pf.method AS method, "
        "pf.confidence AS confidence, pf.ambiguous AS ambiguous, pf.candidates AS candidates, "
        "iw.method AS wallet_method, iw.confidence AS wallet_confidence, "
        f"{_prop(store, 'pf', 'PAID_FOR', 'precision')} AS precision, "
        f"{_prop(store, 'iw', 'IN_WALLET', 'precision')} AS wallet_precision"
    )
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in store.query(q, p):
        key = (r["ad"], r["hub"], r["txid"])
        if key not in best or (r["wallet_confidence"] or 0) > (best[key]["wallet_confidence"] or 0):
            best[key] = r
    for (ad, hub, txid), r in sorted(best.items()):
        conf = (r["confidence"] or 0.0) * (r["wallet_confidence"] or 0.0)
        precs = [v for v in (r["precision"], r["wallet_precision"]) if v is not None]
        prec = (
            _precision(min(precs), "link") if precs else _precision(None, NOT_MEASURED)
        )  # the weaker of the payment match and the wallet link
        detail = f"tx {txid[:16]}…; wallet by {r['wallet_method']}"
        if r["ambiguous"]:
            detail += f"; ambiguous: {r['candidates']} candidate transactions"
        out.append(
            {
                "ad": ad,
                "hub": hub,
                "kind": "wallet",
                "method": f"{r['method']} × {r['wallet_method']}",
                "confidence": round(conf, 6),
                "detail": detail,
                "precision": prec,
            }
        )
    q = (
        f"{member}MATCH (a)-[r:HAS_IMAGE]->(i:Image) "
        "WHERE i.generic IS NULL OR i.generic = false "
        "RETURN a.id AS ad, coalesce(i.picture, i.hash) AS hub, r.method AS method, "
        "r.confidence AS confidence, i.picture_confidence AS precision"
    )
    for r in store.query(q, p):
        conf = (r["confidence"] or 0.0) * (r["precision"] if r["precision"] is not None else 1.0)
        prec = _precision(r["precision"], "hash matcher pair precision, synthetic photo set")
        out.append({"ad": r["ad"], "hub": r["hub"], "kind": "image", "method": r["method"],
                    "confidence": round(conf, 6), "detail": "", "precision": prec})  # fmt: skip
    order = {"phone": 0, "email": 1, "author": 2, "wallet": 3, "image": 4}
    out.sort(key=lambda r: (order[r["kind"]], str(r["hub"]), r["ad"], r["detail"]))
    return out


def _layout(ads: list[dict[str, Any]], links: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Positions of ad and hub nodes: igraph's Fruchterman-Reingold, seeded.

    ``links`` name their hub node in ``node`` (kind and shown label, redacted if need be).

    Author links pull less (:data:`LAYOUT_WEIGHT`): one author often spans most of a group
    and would otherwise pull every ad into one ball.
    """
    import igraph as ig

    names = [f"ad:{a['ad']}" for a in ads]
    names += sorted({r["node"] for r in links})
    if not names:
        return {}
    index = {n: i for i, n in enumerate(names)}
    weight: dict[tuple[int, int], float] = {}
    for r in links:
        e = (index[f"ad:{r['ad']}"], index[r["node"]])
        weight[e] = max(weight.get(e, 0.0), LAYOUT_WEIGHT[r["kind"]])
    edges = sorted(weight)
    g = ig.Graph(n=len(names), edges=edges)
    seed = [[(i * 37) % 101, (i * 61) % 103] for i in range(len(names))]
    coords = g.layout_fruchterman_reingold(
        seed=seed, niter=500, weights=[weight[e] for e in edges] or None
    ).coords
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    size = max(150.0, NODE_SPACING * len(names) ** 0.5)
    return {
        n: [
            round((c[0] - min(xs)) / span * size, 1),
            round((c[1] - min(ys)) / span * size, 1),
        ]
        for n, c in zip(names, coords, strict=True)
    }


def _hub_label(red: Redactor, kind: str, hub: str) -> str:
    return red.identifier(kind, hub) if kind in HARD_KINDS else hub


def case_data(store: Store, owner_id: str, red: Redactor) -> dict[str, Any]:
    """Everything the page draws for one group (identifiers already redacted by ``red``)."""
    d = owner_detail(store, owner_id)
    links = evidence_links(store, owner_id)
    phones_of: dict[str, list[str]] = defaultdict(list)
    for r in links:
        if r["kind"] == "phone":
            phones_of[r["ad"]].append(r["hub"])
    ads = [
        {
            "ad": a["ad"],
            "posted": _time(a["posted_ts"]),
            "posted_ts": a["posted_ts"],
            "state": a["state"],
            "city": a["city"],
            "name": a["name"],
            "age": a["age"],
            "title": red.text(a["title"]),
            "body": _BREAK.sub("\n", red.text(a["body"])),
            "url": red.url(a.get("url"), phones_of.get(a["ad"], [])),
            "phones": [red.identifier("phone", x) for x in sorted(a["phones"])],
            "emails": [red.identifier("email", x) for x in sorted(a["emails"])],
            "membership_confidence": a["confidence"],
            "membership_precision": a.get("precision"),
        }
        for a in d["ads"]
    ]
    hubs: dict[str, dict[str, Any]] = {}
    shown_links = []
    for r in links:
        label = _hub_label(red, r["kind"], r["hub"])
        node = f"{r['kind']}:{label}"  # no raw identifier, even in element ids
        hub = hubs.setdefault(node, {"id": node, "kind": r["kind"], "label": label, "ads": 0})
        hub["ads"] += 1
        shown_links.append({**{k: v for k, v in r.items() if k != "hub"}, "value": label,
                            "node": node})  # fmt: skip
    positions = _layout(d["ads"], shown_links)
    places = sorted(d["places"], key=lambda r: (r["first_ts"] or 0, r["state"] or "", r["city"]))
    located = []
    for r in places:
        where = geo.locate(r["city"], r["state"])
        located.append(
            {
                "city": r["city"],
                "state": r["state"],
                "state_name": STATES.get((r["state"] or "").upper(), r["state"]),
                "ads": r["ads"],
                "first": _time(r["first_ts"]),
                "last": _time(r["last_ts"]),
                "lat": where.lat if where else None,
                "lon": where.lon if where else None,
                "gazetteer": where.gazetteer_name if where else None,
                "approximate": bool(where and where.approximate),
            }
        )
    path = movement.stays(d["ads"])
    return {
        "owner": d["owner"],
        "flags": d["flags"],
        "reasons": d["reasons"],
        "parts": d["parts"],
        "text_indicators": d["text_indicators"],
        "reposts": d["reposts"],
        "identifiers": [
            {**r, "identifier": red.identifier(r["kind"], r["identifier"])}
            for r in d["identifiers"]
        ],
        "wallets": d["wallets"],
        "images": d.get("images", []),
        "service_tags": [
            {**r, "first": _time(r["first_ts"])} for r in owner_service_tags(store, owner_id)
        ],
        "timeline": d["timeline"],
        "history": [{**r, "when": _time(r["ts"])} for r in d.get("history", [])],
        "ads": ads,
        "links": shown_links,
        "hubs": sorted(hubs.values(), key=lambda h: (h["kind"], -h["ads"], h["label"])),
        "positions": positions,
        "places": located,
        "city_days": [{**r, "day": _day(r["day_ts"])} for r in movement.city_days(d["ads"])],
        "stays": [{**s.__dict__, "first": _day(s.first_ts), "last": _day(s.last_ts)} for s in path],
    }
