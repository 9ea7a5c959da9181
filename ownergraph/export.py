"""Export a set of ads (an owner group, or ads by id) as JSON Lines, optionally redacted.

One line per ad: its properties, ``posted_at`` (ISO 8601, UTC), ``owner`` (the group it
belongs to, if any), and its ``phones`` and ``emails`` with the method and confidence of
each link. With ``redact=True`` the identifiers are replaced the way the case report does
it (``ownergraph.redaction.Redactor``): phone numbers and e-mail addresses in title, body
and URL become ``[phone]``/``[email]`` (the URL keeps its trailing numeric ad id, so the
link still works), and the identifier lists carry labels instead
of values: a short keyed digest when an HMAC key is given (the same label in every
export made with that key), else a number within this export. Every line then has
``"redacted": true``. Redaction is best effort on free text: an identifier that neither
the extractor nor the digit/address patterns recognise stays in the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ownergraph.errors import OwnergraphError
from ownergraph.redaction import Redactor
from ownergraph.store.base import Store, keyed_path
from ownergraph.store.schema import SCHEMA

# every Ad property but the run that wrote it and the country (stated by the location)
AD_PROPS = tuple(p for p in SCHEMA.node("Ad").prop_names if p not in ("country", "run"))
TEXT_PROPS = ("title", "body")
CHUNK = 5_000


class ExportError(OwnergraphError, LookupError):
    """The owner or some of the ads to export do not exist (names them)."""

    exit_code = 2  # bad input, as a usage error


@dataclass
class ExportSummary:
    path: str
    ads: int = 0
    phones: int = 0
    emails: int = 0
    redacted: bool = False


def owner_ad_ids(store: Store, owner_id: str) -> list[str]:
    """The ids of the ads in an owner group; ``ExportError`` if there is no such owner."""
    found = store.query("MATCH (o:Owner {id: $id}) RETURN o.id AS id", {"id": owner_id})
    if not found:
        raise ExportError(f"no Owner with id {owner_id!r}")
    rows = store.query(
        "MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner {id: $id}) RETURN a.id AS id", {"id": owner_id}
    )
    return sorted(r["id"] for r in rows)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _identifiers(store: Store, ids: list[str], rel: str, label: str, key: str) -> dict:
    q = keyed_path(
        "(a:Ad {id: k})",
        f"(a)-[e:{rel}]->(x:{label})",
        f"RETURN a.id AS ad, x.{key} AS value, e.method AS method, e.confidence AS confidence",
        bound="e",
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in store.query(q, {"ids": ids}):
        out.setdefault(r["ad"], []).append(
            {"value": r["value"], "method": r["method"], "confidence": r["confidence"]}
        )
    for v in out.values():
        v.sort(key=lambda m: m["value"])
    return out


def export_records(
    store: Store,
    ad_ids: Iterable[str],
    *,
    redact: bool = False,
    hmac_key: bytes | None = None,
) -> Iterator[dict[str, Any]]:
    """One record per ad, in the order of ``ad_ids``; ``ExportError`` names missing ids."""
    red = Redactor(redact, hmac_key)
    ids = list(dict.fromkeys(ad_ids))
    cols = SCHEMA.node("Ad").returns(AD_PROPS, "a")
    for chunk in _chunks(ids):
        ads = {
            r["id"]: r
            for r in store.query(
                f"UNWIND $ids AS i MATCH (a:Ad {{id: i}}) RETURN {cols}", {"ids": chunk}
            )
        }
        missing = [i for i in chunk if i not in ads]
        if missing:
            raise ExportError(f"{len(missing)} ads not in the store, e.g. {missing[:5]}")
        owners = {
            r["ad"]: r["owner"]
            for r in store.query(
                keyed_path(
                    "(a:Ad {id: k})",
                    "(a)-[:BELONGS_TO]->(o:Owner)",
                    "RETURN a.id AS ad, o.id AS owner",
                    bound="o",
                ),
                {"ids": chunk},
            )
        }
        phones = _identifiers(store, chunk, "HAS_PHONE", "Phone", "number")
        emails = _identifiers(store, chunk, "HAS_EMAIL", "Email", "address")
        for ad_id in chunk:
            rec = dict(ads[ad_id])
            ts = rec.get("posted_ts")
            rec["posted_at"] = (
                datetime.fromtimestamp(int(ts), UTC).isoformat() if ts is not None else None
            )
            rec["owner"] = owners.get(ad_id)
            rec["phones"] = phones.get(ad_id, [])
            rec["emails"] = emails.get(ad_id, [])
            if redact:
                for p in TEXT_PROPS:
                    rec[p] = red.text(rec[p]) if rec[p] else rec[p]
                if rec["url"]:
                    rec["url"] = red.url(rec["url"], [m["value"] for m in rec["phones"]])
                for kind, items in (("phone", rec["phones"]), ("email", rec["emails"])):
                    for m in items:
                        m["value"] = red.identifier(kind, m["value"])
                rec["redacted"] = True
            yield rec


def write_export(
    store: Store,
    out: str | Path,
    *,
    owner_id: str | None = None,
    ad_ids: Iterable[str] | None = None,
    redact: bool = False,
    hmac_key: bytes | None = None,
) -> ExportSummary:
    """Write the ads of ``owner_id`` (or the given ``ad_ids``) to ``out`` as JSON Lines.

    The file is written next to ``out`` and renamed into place at the end, so a failed
    export never leaves a partial file under the requested name.
    """
    if (owner_id is None) == (ad_ids is None):
        raise ValueError("give either an owner id or ad ids to export")
    ids = owner_ad_ids(store, owner_id) if owner_id is not None else list(ad_ids or [])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    summary = ExportSummary(str(out), redacted=redact)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in export_records(store, ids, redact=redact, hmac_key=hmac_key):
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                summary.ads += 1
                summary.phones += len(rec["phones"])
                summary.emails += len(rec["emails"])
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return summary
