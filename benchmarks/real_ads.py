"""The real ad sets in ``../shared/data/ads/`` as files ``ownergraph load ads`` reads.

The CA scrape is a CSV (preset ``backpage-csv``); the two DIG sets are nested JSON-LD /
JSON arrays, flattened here to JSON Lines with the loader's own field names. Nothing is
copied into the repository: the flat files go to a folder the caller gives (a temp dir).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ads"
CA_CSV = DATA / "backpage_women_seeking_men_california.csv"
SOCAL_JSON = DATA / "dig_backpage_socal_lasvegas_2014.json"
WA_JSON = DATA / "dig_backpage_washington_phones_2013.json"
# IATA market code of a DIG ad -> state (the sets cover these markets only)
MARKET_STATE = {"LAX": "CA", "SAN": "CA", "ONT": "CA", "LAS": "NV", "SEA": "WA",
                "BLI": "WA", "OLM": "WA", "TIW": "WA", "TCM": "WA"}  # fmt: skip


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _socal_rows() -> list[dict[str, Any]]:
    rows = []
    for rec in json.loads(SOCAL_JSON.read_text()):
        s = rec.get("dig:snapshot", {})
        if isinstance(s, list):  # re-crawls of one ad: the first snapshot
            s = s[0] if s else {}
        url = s.get("schema:url") or rec.get("@id")
        iata = (_get(s, "dig:primaryLocation", "schema:iataCode") or "").upper()
        city = (url or "").split("//")[-1].split(".")[0] or None
        rows.append(
            {
                "id": _get(s, "dig:preferredIdentifier", "rdfs:label") or url,
                "title": _get(s, "dig:hasTitlePart", "schema:text"),
                "body": _get(s, "dig:hasBodyPart", "schema:text"),
                "posted_at": s.get("schema:dateCreated"),
                "age": s.get("dig:mentionsPersonAge"),
                # the free-text location the author wrote (not an ad field of the store)
                "location": _get(s, "dig:mentionsPlace", "rdfs:label"),
                "url": url,
                "city": city,
                "state": MARKET_STATE.get(iata),
                "site": "backpage.com",
            }
        )
    return rows


def _wa_rows() -> list[dict[str, Any]]:
    rows = []
    for rec in json.loads(WA_JSON.read_text()):
        rows.append(
            {
                "id": rec.get("sid"),
                "title": _get(rec, "titleText", "content"),
                "body": _get(rec, "bodyText", "content"),
                "posted_at": rec.get("created"),
                "age": rec.get("statedAge"),
                "url": rec.get("cacheUrl"),
                "city": rec.get("sitekey"),
                "state": "WA",
                "site": "backpage.com",
            }
        )
    return rows


def available() -> bool:
    return CA_CSV.exists() and SOCAL_JSON.exists()


def flat_jsonl(name: str, out_dir: Path) -> Path:
    """Write the DIG set ``name`` ("socal" or "wa") as JSON Lines; return the path."""
    rows = {"socal": _socal_rows, "wa": _wa_rows}[name]()
    seen: set[str] = set()
    path = Path(out_dir) / f"dig_{name}.jsonl"
    with path.open("w") as f:
        for r in rows:
            if r["id"] in seen:  # the crawl holds a few re-crawled copies of one ad
                continue
            seen.add(r["id"])
            r["age"] = str(r["age"]) if r["age"] not in (None, "") else None
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def markets(name: str) -> dict[str, str]:
    """The market (city section of the site) of each ad id of a real set, for measuring
    the author model on negatives inside one market: CA, the url's subdomain (11
    Backpage cities: ``eastbay``, ``losangeles``...); SoCal/LV, DIG's
    ``dig:primaryLocation`` IATA code (4 markets: LAS, LAX, SAN, ONT; the url's
    subdomain is missing on 1,039 of its ads)."""
    if name == "ca":
        import csv  # noqa: PLC0415

        with CA_CSV.open(newline="") as f:
            return {
                r["id"]: r["url"].split("//")[-1].split(".")[0]
                for r in csv.DictReader(f)
                if r.get("url")
            }
    out: dict[str, str] = {}
    for rec in json.loads(SOCAL_JSON.read_text()):
        s = rec.get("dig:snapshot", {})
        if isinstance(s, list):
            s = s[0] if s else {}
        url = s.get("schema:url") or rec.get("@id")
        ad_id = _get(s, "dig:preferredIdentifier", "rdfs:label") or url
        iata = (_get(s, "dig:primaryLocation", "schema:iataCode") or "").upper()
        if iata:
            out.setdefault(ad_id, iata)
    return out


def load_args(name: str, out_dir: Path) -> list[str]:
    """Arguments of ``ownergraph load ads`` for one real set."""
    if name == "ca":
        return [str(CA_CSV), "--preset", "backpage-csv", "--set", "state=CA"]
    return [str(flat_jsonl(name, out_dir))]
