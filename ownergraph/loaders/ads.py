"""Ads: column mapping, validation, identifier extraction, and loading into a store.

A record becomes one ``Ad`` node plus its ``Location``, ``Phone`` and ``Email`` nodes
and ``POSTED_IN``, ``HAS_PHONE``, ``HAS_EMAIL`` edges. A record that fails validation
is quarantined with its reason (or stops the load in strict mode); the summary
reconciles: read = loaded + quarantined.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from ownergraph.graph.store import Store
from ownergraph.loaders import identifiers
from ownergraph.loaders.quarantine import InputError, Quarantine
from ownergraph.loaders.records import MAX_FIELD_CHARS, RawRecord, read_records
from ownergraph.loaders.us_states import state_code

AD_FIELDS = (
    "id",
    "site",
    "url",
    "posted_at",
    "posted_ts",
    "title",
    "body",
    "city",
    "state",
    "category",
    "price_usd",
    "name",
    "age",
    "post_kind",
    "sponsored",
    "n_locations",
)
MIN_TS = int(datetime(1995, 1, 1, tzinfo=UTC).timestamp())
POST_KINDS = ("post", "bump", "repost")

# Named column mappings for common dumps: target field -> source column or a
# (source column, transform name) pair.
PRESETS: dict[str, dict[str, Any]] = {
    # The Backpage "Women Seeking Men" scrape: id,title,location,body,age,social_link,url.
    # The city is the Backpage site of the URL (losangeles.backpage.com -> losangeles);
    # the scrape has no state or time column: pass --set state=CA.
    "backpage-csv": {
        "id": "id",
        "title": "title",
        "body": "body",
        "age": "age",
        "url": "url",
        "city": ("url", "subdomain"),
        "site": ("url", "domain"),
        "category": ("url", "backpage_category"),
    },
}


def _subdomain(v: Any) -> str | None:
    host = urlparse(str(v)).hostname or ""
    parts = host.split(".")
    return parts[0] if len(parts) > 2 else None


def _domain(v: Any) -> str | None:
    host = urlparse(str(v)).hostname or ""
    return ".".join(host.split(".")[-2:]) or None


def _backpage_category(v: Any) -> str | None:
    path = [p for p in urlparse(str(v)).path.split("/") if p]
    if not path:
        return None
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", path[0]).lower()


TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "subdomain": _subdomain,
    "domain": _domain,
    "backpage_category": _backpage_category,
}


@dataclass(frozen=True)
class AdMapping:
    """How input columns become ad fields: renames, transforms and constants."""

    columns: Mapping[str, Any] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        preset: str | None = None,
        columns: Mapping[str, str] | None = None,
        constants: Mapping[str, Any] | None = None,
    ) -> AdMapping:
        cols: dict[str, Any] = {}
        if preset:
            if preset not in PRESETS:
                raise ValueError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
            cols.update(PRESETS[preset])
        cols.update(columns or {})
        for target in [*cols, *(constants or {})]:
            if target not in AD_FIELDS:
                raise ValueError(f"unknown ad field {target!r} in mapping; fields: {AD_FIELDS}")
        return cls(cols, dict(constants or {}))

    def apply(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in fields.items() if k in AD_FIELDS} if not self.columns else {}
        if self.columns:
            # Unmapped columns that already carry an ad field's name still count.
            mapped_sources = {s if isinstance(s, str) else s[0] for s in self.columns.values()}
            out = {k: v for k, v in fields.items() if k in AD_FIELDS and k not in mapped_sources}
            for target, src in self.columns.items():
                if isinstance(src, str):
                    out[target] = fields.get(src)
                else:
                    col, fn = src
                    out[target] = TRANSFORMS[fn](fields.get(col)) if fields.get(col) else None
        for k, v in self.constants.items():
            if out.get(k) in (None, ""):
                out[k] = v
        return out


@dataclass(frozen=True)
class ParsedAd:
    ad: dict[str, Any]
    phones: list[identifiers.PhoneMatch]
    emails: list[identifiers.EmailMatch]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def _text(name: str, v: Any) -> str | None:
    if _blank(v):
        return None
    if not isinstance(v, str):
        if isinstance(v, int | float):
            v = str(v)
        else:
            raise ValueError(f"{name}: expected text, got {type(v).__name__}")
    if len(v) > MAX_FIELD_CHARS:
        raise ValueError(f"{name}: too long ({len(v)} characters, limit {MAX_FIELD_CHARS})")
    for ch in v:
        if ch in "\n\r\t":
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc":
            raise ValueError(f"{name}: control character U+{ord(ch):04X}")
        if cat == "Cs":
            raise ValueError(f"{name}: lone surrogate (invalid Unicode)")
    return v


def _int(name: str, v: Any, lo: int, hi: int) -> int | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        raise ValueError(f"{name}: expected an integer, got a boolean")
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: not a number") from None
    if not math.isfinite(f) or f != int(f):
        raise ValueError(f"{name}: not an integer")
    i = int(f)
    if not lo <= i <= hi:
        raise ValueError(f"{name}: {i} outside {lo}..{hi}")
    return i


def _bool(name: str, v: Any) -> bool | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "yes", "y", "t"):
        return True
    if s in ("false", "0", "no", "n", "f"):
        return False
    raise ValueError(f"{name}: not a boolean")


def _localize(d: datetime, tz: ZoneInfo, raw: Any) -> datetime:
    """A naive time in ``tz``; a wall time that a DST change skips is an error.

    A wall time that occurs twice (DST ends) takes its first occurrence (``fold=0``).
    """
    aware = d.replace(tzinfo=tz)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != d.replace(tzinfo=None, fold=0):
        raise ValueError(f"posted_at: local time does not exist in {tz.key} (DST gap)")
    return aware


def parse_time(v: Any, tz: ZoneInfo, now_ts: int) -> int | None:
    """Epoch seconds from ISO 8601 text or epoch seconds; naive times are in ``tz``."""
    if _blank(v):
        return None
    if isinstance(v, bool):
        raise ValueError("posted_at: expected a time, got a boolean")
    if isinstance(v, int | float) or (isinstance(v, str) and re.fullmatch(r"\d{9,11}", v.strip())):
        try:
            ts = int(float(v))
        except (OverflowError, ValueError):
            raise ValueError("posted_at: not a finite epoch time") from None
    elif isinstance(v, datetime):
        d = v if v.tzinfo else _localize(v, tz, v)
        ts = int(d.timestamp())
    elif isinstance(v, str):
        s = v.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            d = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError("posted_at: not an ISO 8601 time or a real date") from None
        if d.tzinfo is None:
            d = _localize(d, tz, v)
        ts = int(d.timestamp())
    else:
        raise ValueError(f"posted_at: expected a time, got {type(v).__name__}")
    if not MIN_TS <= ts <= now_ts + 86_400:
        raise ValueError("posted_at: outside 1995-01-01 .. tomorrow")
    return ts


def parse_ad(
    fields: Mapping[str, Any],
    *,
    default_region: str = "US",
    tz: ZoneInfo | None = None,
    now_ts: int | None = None,
) -> ParsedAd:
    """Validate one mapped record; raise ``ValueError`` naming the field and the reason."""
    tz = tz or ZoneInfo("UTC")
    now_ts = now_ts or int(datetime.now(UTC).timestamp())
    ad_id = fields.get("id")
    if isinstance(ad_id, int) and not isinstance(ad_id, bool):
        ad_id = str(ad_id)
    if not isinstance(ad_id, str) or not ad_id.strip():
        raise ValueError("id: missing or not a string")
    ad_id = _text("id", ad_id.strip())
    if len(ad_id) > 256:
        raise ValueError("id: longer than 256 characters")
    title, body = _text("title", fields.get("title")), _text("body", fields.get("body"))
    if title is None and body is None:
        raise ValueError("title/body: both missing (an ad needs text)")
    ts = fields.get("posted_ts")
    posted = parse_time(ts if not _blank(ts) else fields.get("posted_at"), tz, now_ts)
    state_raw = _text("state", fields.get("state"))
    state = None
    if state_raw is not None:
        state = state_code(state_raw)
        if state is None:
            raise ValueError("state: unknown US state")
    price = fields.get("price_usd")
    if not _blank(price):
        try:
            price = float(price)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("price_usd: not a number") from None
        if not 0 <= price < 1e6:
            raise ValueError("price_usd: outside 0..1,000,000")
    else:
        price = None
    kind = _text("post_kind", fields.get("post_kind"))
    if kind is not None and kind.lower() not in POST_KINDS:
        raise ValueError(f"post_kind: expected one of {POST_KINDS}")
    ad = {
        "id": ad_id,
        "site": _text("site", fields.get("site")),
        "url": _text("url", fields.get("url")),
        "posted_ts": posted,
        "title": title,
        "body": body,
        "city": (_text("city", fields.get("city")) or "").strip() or None,
        "state": state,
        "category": _text("category", fields.get("category")),
        "price_usd": price,
        "name": _text("name", fields.get("name")),
        "age": _int("age", fields.get("age"), 0, 120),
        "post_kind": kind.lower() if kind else None,
        "sponsored": _bool("sponsored", fields.get("sponsored")),
        "n_locations": _int("n_locations", fields.get("n_locations"), 1, 10_000),
    }
    text = "\n".join(t for t in (title, body) if t)
    return ParsedAd(
        ad,
        identifiers.extract_phones(text, default_region=default_region),
        identifiers.extract_emails(text),
    )


def location_key(state: str | None, city: str | None) -> str | None:
    if not city and not state:
        return None
    return f"{state or ''}|{' '.join((city or '').split()).casefold()}"


@dataclass
class LoadSummary:
    source: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    phones: int = 0
    emails: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.loaded + self.quarantined


def phone_region(e164: str) -> str | None:
    """ISO region of an E.164 number (e.g. "US"), or None when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or None
    except phonenumbers.NumberParseException:
        return None


def _identifier_key(value: str, hmac_key: bytes | None) -> str:
    return identifiers.hash_identifier(value, hmac_key) if hmac_key else value


def batch_rows(parsed: Iterable[ParsedAd], hmac_key: bytes | None = None) -> dict[str, list]:
    """Node and edge rows for a batch of parsed ads, keyed by label / rel type.

    With ``hmac_key``, phones and e-mails are stored as keyed digests and the ad's title,
    body and URL with every identifier replaced by ``[phone]``/``[email]`` (the case
    report's redaction), so that no raw identifier is stored anywhere.
    """
    out: dict[str, list] = {
        k: [] for k in ("Ad", "Location", "Phone", "Email", "POSTED_IN", "HAS_PHONE", "HAS_EMAIL")
    }
    redact = None
    if hmac_key:
        from ownergraph.report import Redactor

        redact = Redactor(True).text
    for p in parsed:
        ad = p.ad
        if redact is not None:
            ad = {**ad, **{k: redact(ad[k]) if ad[k] else ad[k] for k in ("title", "body", "url")}}
        out["Ad"].append(ad)
        key = location_key(ad["state"], ad["city"])
        if key:
            out["Location"].append({"key": key, "state": ad["state"], "city": ad["city"]})
            out["POSTED_IN"].append({"src": ad["id"], "dst": key})
        for ph in p.phones:
            number = _identifier_key(ph.e164, hmac_key)
            out["Phone"].append({"number": number, "region": phone_region(ph.e164)})
            out["HAS_PHONE"].append(
                {"src": ad["id"], "dst": number, "method": ph.method, "confidence": ph.confidence}
            )
        for em in p.emails:
            address = _identifier_key(em.address, hmac_key)
            out["Email"].append({"address": address})
            out["HAS_EMAIL"].append(
                {"src": ad["id"], "dst": address, "method": em.method, "confidence": em.confidence}
            )
    return out


def write_batch(store: Store, rows: Mapping[str, list]) -> None:
    """Nodes first, then edges: a crash between them is repaired by re-running."""
    for label in ("Ad", "Location", "Phone", "Email"):
        if rows[label]:
            store.upsert_nodes(label, rows[label])
    for rel in ("POSTED_IN", "HAS_PHONE", "HAS_EMAIL"):
        if rows[rel]:
            store.upsert_edges(rel, rows[rel])


def _fingerprint(ad: Mapping[str, Any]) -> int:
    return hash(tuple(ad.get(k) for k in sorted(ad)))


def load_ads(
    store: Store,
    path: str | Path,
    *,
    fmt: str | None = None,
    mapping: AdMapping | None = None,
    default_region: str = "US",
    timezone: str = "UTC",
    quarantine: Quarantine | None = None,
    batch_size: int = 20_000,
    hmac_key: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadSummary:
    """Load an ad file into ``store``; idempotent (keys are merged, never duplicated).

    Within one file, a repeated id with identical content is merged (counted in
    ``duplicates`` and ``loaded``); a repeated id with different content is quarantined.
    """
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc
    mapping = mapping or AdMapping()
    quarantine = quarantine or Quarantine()
    summary = LoadSummary(str(path))
    q_before = quarantine.count
    seen: dict[str, tuple[int, int]] = {}  # id -> (first line, content hash)
    source_name = Path(path).name
    batch: list[ParsedAd] = []
    now_ts = int(datetime.now(UTC).timestamp())

    def flush() -> None:
        rows = batch_rows(batch, hmac_key)
        write_batch(store, rows)
        summary.phones += len(rows["HAS_PHONE"])
        summary.emails += len(rows["HAS_EMAIL"])
        batch.clear()

    for rec in read_records(path, fmt):
        summary.read += 1
        if progress:
            progress(1)
        if rec.error:
            quarantine.add(rec.source, rec.line, rec.raw, rec.error)
            continue
        try:
            parsed = parse_ad(
                mapping.apply(rec.fields or {}), default_region=default_region, tz=tz, now_ts=now_ts
            )
        except (ValueError, TypeError) as exc:
            quarantine.add(rec.source, rec.line, rec.raw or rec.fields, str(exc))
            continue
        parsed.ad["source"] = source_name
        fp = _fingerprint(parsed.ad)
        first = seen.get(parsed.ad["id"])
        if first is not None:
            if first[1] == fp:
                summary.duplicates += 1
                summary.loaded += 1
            else:
                quarantine.add(
                    rec.source,
                    rec.line,
                    rec.raw or rec.fields,
                    f"duplicate id: conflicts with the record at line {first[0]}",
                )
            continue
        seen[parsed.ad["id"]] = (rec.line, fp)
        batch.append(parsed)
        summary.loaded += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    summary.quarantined = quarantine.count - q_before
    summary.reasons = dict(quarantine.reasons)
    return summary


__all__ = [
    "AdMapping",
    "InputError",
    "LoadSummary",
    "ParsedAd",
    "RawRecord",
    "load_ads",
    "parse_ad",
]
