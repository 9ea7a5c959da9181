"""Ads: column mapping, validation, identifier extraction, and loading into a store.

A record becomes one ``Ad`` node plus its ``Location``, ``Phone`` and ``Email`` nodes
and ``POSTED_IN``, ``HAS_PHONE``, ``HAS_EMAIL`` edges. A record that fails validation
is quarantined with its reason (or stops the load in strict mode); the summary
reconciles: read = loaded + quarantined.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from ownergraph import defaults, text_indicators
from ownergraph.loaders import identifiers
from ownergraph.loaders.ad_mapping import AD_FIELDS, AdMapping  # noqa: F401 (re-exported)
from ownergraph.loaders.ordered_pool import map_in_order
from ownergraph.loaders.quarantine import InputError, Quarantine
from ownergraph.loaders.records import MAX_FIELD_CHARS, RawRecord, read_records
from ownergraph.places import city_timezone, normalise_place, place_key
from ownergraph.store.base import Store

MIN_TS = int(datetime(1995, 1, 1, tzinfo=UTC).timestamp())
POST_KINDS = ("post", "bump", "repost")


@dataclass(frozen=True)
class ParsedAd:
    ad: dict[str, Any]
    phones: list[identifiers.PhoneMatch]
    emails: list[identifiers.EmailMatch]
    dropped: list[str] = field(default_factory=list)  # optional fields left out, with why


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
    if v.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return v  # no character of category C at all (the usual case, in C rather than a loop)
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
        raise ValueError(f"{name}: outside {lo}..{hi}")  # no value: it may be a phone
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


# --timezone city: each ad's naive times are in the time zone of its (placed) city
CITY_TIMEZONE = "city"


def _localize(d: datetime, tz: ZoneInfo | None, raw: Any) -> datetime:
    """A naive time in ``tz``; a wall time that a DST change skips is an error.

    A wall time that occurs twice (DST ends) takes its first occurrence (``fold=0``).
    """
    if tz is None:
        raise ValueError(
            "posted_at: no time zone for a time without offset (the city has none in the "
            "gazetteer); pass --timezone ZONE"
        )
    aware = d.replace(tzinfo=tz)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != d.replace(tzinfo=None, fold=0):
        raise ValueError(f"posted_at: local time does not exist in {tz.key} (DST gap)")
    return aware


# 3/4/2017: day and month both <= 12 and different, so the order is a guess
_AMBIGUOUS_DMY = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b")
_SENTINELS = (datetime(2001, 1, 1), datetime(2002, 2, 2))


def _parse_common(s: str) -> datetime:
    """A date in a common written form ("Tue 18 Jul 2017 02:29 PM", "Jul 18, 2017 14:29",
    "2017/07/18 2:29pm"); year, month and day must all be present, and a numeric
    day/month order that could be either way is an error (use ``--date-format``)."""
    import warnings

    from dateutil import parser as dparser

    m = _AMBIGUOUS_DMY.search(s)
    if m and int(m[1]) <= 12 and int(m[2]) <= 12 and m[1] != m[2]:
        raise ValueError(
            "posted_at: day/month order is ambiguous; pass --date-format (e.g. %d/%m/%Y)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown zone names ("PST") leave the time naive
        try:
            a, b = (dparser.parse(s, default=d) for d in _SENTINELS)
        except (ValueError, OverflowError, dparser.ParserError):
            raise ValueError(
                "posted_at: not a date in a known form; pass --date-format (e.g. %d.%m.%Y %H:%M)"
            ) from None
    if (a.year, a.month, a.day) != (b.year, b.month, b.day):
        raise ValueError("posted_at: incomplete date (year, month and day are needed)")
    return a


def parse_time(
    v: Any, tz: ZoneInfo | None, now_ts: int, date_format: str | None = None
) -> int | None:
    """Epoch seconds from ISO 8601 text, epoch seconds, a common written date form, or
    ``date_format`` (``strptime`` codes) when given; naive times are in ``tz``."""
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
        s = v.strip()
        if date_format:
            try:
                d = datetime.strptime(s, date_format)
            except ValueError:
                raise ValueError(f"posted_at: does not match --date-format {date_format}") from None
        else:
            try:
                d = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                if re.fullmatch(r"[\d\s:TZz+-]+", s):  # ISO-looking: a wrong date, not a form
                    raise ValueError("posted_at: not an ISO 8601 time or a real date") from None
                d = _parse_common(s)
        if d.tzinfo is None:
            d = _localize(d, tz, v)
        ts = int(d.timestamp())
    else:
        raise ValueError(f"posted_at: expected a time, got {type(v).__name__}")
    if not MIN_TS <= ts <= now_ts + 86_400:
        raise ValueError("posted_at: outside 1995-01-01 .. tomorrow")
    return ts


class AdProblems(ValueError):
    """A record that cannot load: every problem of it, each ``field: reason``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _optional(dropped: list[str], fn: Callable[[], Any]) -> Any:
    """The value ``fn`` validates, or None with its problem noted in ``dropped``."""
    try:
        return fn()
    except (ValueError, TypeError) as exc:
        dropped.append(str(exc))
        return None


def _price(v: Any) -> float | None:
    if _blank(v):
        return None
    try:
        price = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("price_usd: not a number") from None
    if not 0 <= price < 1e6:
        raise ValueError("price_usd: outside 0..1,000,000")
    return price


def _kind(v: Any) -> str | None:
    kind = _text("post_kind", v)
    if kind is not None and kind.lower() not in POST_KINDS:
        raise ValueError(f"post_kind: expected one of {POST_KINDS}")
    return kind.lower() if kind else None


def parse_ad(
    fields: Mapping[str, Any],
    *,
    default_region: str = "US",
    tz: ZoneInfo | None = None,
    now_ts: int | None = None,
    date_format: str | None = None,
    country: str | None = None,
    tz_by_city: bool = False,
) -> ParsedAd:
    """Validate one mapped record.

    Only the id and some text (title or body) are required: their problems raise
    ``AdProblems`` naming every one at once. A bad optional field (age, date, place, ...)
    is dropped and named in ``ParsedAd.dropped``; the ad loads without it.
    ``country`` is the country hint for places (ISO code) when the file has no country.
    With ``tz_by_city``, naive times are in the time zone of the ad's placed city.
    """
    tz = tz or ZoneInfo("UTC")
    now_ts = now_ts or int(datetime.now(UTC).timestamp())
    problems: list[str] = []
    ad_id = fields.get("id")
    if isinstance(ad_id, int) and not isinstance(ad_id, bool):
        ad_id = str(ad_id)
    if not isinstance(ad_id, str) or not ad_id.strip():
        problems.append("id: missing or not a string")
        ad_id = None
    else:
        try:
            ad_id = _text("id", ad_id.strip())
            if len(ad_id) > 256:
                problems.append("id: longer than 256 characters")
        except ValueError as exc:
            problems.append(str(exc))
    texts = {}
    for name in ("title", "body"):
        try:
            texts[name] = _text(name, fields.get(name))
        except ValueError as exc:
            problems.append(str(exc))
            texts[name] = ""
    title, body = texts["title"], texts["body"]
    if title is None and body is None:
        problems.append("title/body: both missing (an ad needs text)")
    if problems:
        raise AdProblems(problems)
    dropped: list[str] = []
    place = normalise_place(
        _optional(dropped, lambda: _text("city", fields.get("city"))),
        _optional(dropped, lambda: _text("state", fields.get("state"))),
        _optional(dropped, lambda: _text("country", fields.get("country"))),
        country_hint=country,
    )
    dropped.extend(place.problems)
    if tz_by_city:
        zone = city_timezone(place.country, place.region, place.city)
        tz = ZoneInfo(zone) if zone else None
    ts = fields.get("posted_ts")
    posted = _optional(
        dropped,
        lambda: parse_time(
            ts if not _blank(ts) else fields.get("posted_at"), tz, now_ts, date_format
        ),
    )
    ad = {
        "id": ad_id,
        "site": _optional(dropped, lambda: _text("site", fields.get("site"))),
        "url": _optional(dropped, lambda: _text("url", fields.get("url"))),
        "posted_ts": posted,
        "title": title,
        "body": body,
        "city": place.city,
        "state": place.region,
        "country": place.country,
        "category": _optional(dropped, lambda: _text("category", fields.get("category"))),
        "price_usd": _optional(dropped, lambda: _price(fields.get("price_usd"))),
        "name": _optional(dropped, lambda: _text("name", fields.get("name"))),
        "age": _optional(dropped, lambda: _int("age", fields.get("age"), 0, 120)),
        "post_kind": _optional(dropped, lambda: _kind(fields.get("post_kind"))),
        "sponsored": _optional(dropped, lambda: _bool("sponsored", fields.get("sponsored"))),
        "n_locations": _optional(
            dropped, lambda: _int("n_locations", fields.get("n_locations"), 1, 10_000)
        ),
    }
    text = "\n".join(t for t in (title, body) if t)
    found = identifiers.extract_identifiers(text, default_region=default_region)
    return ParsedAd(ad, found.phones, found.emails, dropped)


def location_key(state: str | None, city: str | None, country: str | None = None) -> str | None:
    """The ``Location`` key of an ad's place (see ``ownergraph.places.place_key``)."""
    if not city and not state:
        return None
    return place_key(country, state, city)


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
    # optional fields left out of loaded ads: "field: reason" -> count
    dropped: dict[str, int] = field(default_factory=dict)
    error: str = ""  # why the whole file was unreadable (``load_ad_files`` goes on)

    @property
    def reconciles(self) -> bool:
        return self.read == self.loaded + self.quarantined


@functools.lru_cache(maxsize=65_536)  # numbers repeat across ads; parsing one is ~0.1 ms
def phone_region(e164: str) -> str | None:
    """ISO region of an E.164 number (e.g. "US"), or None when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or None
    except phonenumbers.NumberParseException:
        return None


def _identifier_key(value: str, hmac_key: bytes | None) -> str:
    return identifiers.hash_identifier(value, hmac_key) if hmac_key else value


@dataclass(frozen=True)
class PreparedAd:
    """One ad's rows before identifiers are keyed: the ``Ad`` row (text indicators added,
    texts redacted when asked), its ``Location`` key, its phones as (E.164, region,
    method, confidence) and e-mails as (address, method, confidence)."""

    ad: dict[str, Any]
    location: str | None
    phones: list[tuple[str, str | None, str, float]]
    emails: list[tuple[str, str, float]]


def _redactor(redact: bool) -> Callable[[str | None], str] | None:
    if not redact:
        return None
    from ownergraph.redaction import Redactor

    return Redactor(True).text


def prepare_ad(p: ParsedAd, redact: Callable[[str | None], str] | None = None) -> PreparedAd:
    """The row work of one parsed ad that needs no key (see :class:`PreparedAd`)."""
    # text indicators read once, here, from the text as written (before redaction)
    ad = {**p.ad, **text_indicators.ad_properties(p.ad["title"], p.ad["body"])}
    if redact is not None:
        ad = {**ad, **{k: redact(ad[k]) if ad[k] else ad[k] for k in ("title", "body", "url")}}
    return PreparedAd(
        ad,
        location_key(ad["state"], ad["city"], ad["country"]),
        [(ph.e164, phone_region(ph.e164), ph.method, ph.confidence) for ph in p.phones],
        [(em.address, em.method, em.confidence) for em in p.emails],
    )


def _empty_rows() -> dict[str, list]:
    return {
        k: [] for k in ("Ad", "Location", "Phone", "Email", "POSTED_IN", "HAS_PHONE", "HAS_EMAIL")
    }


def add_rows(out: dict[str, list], prep: PreparedAd, hmac_key: bytes | None = None) -> None:
    """Append one prepared ad's node and edge rows to ``out`` (see :func:`batch_rows`)."""
    ad = prep.ad
    out["Ad"].append(ad)
    key = prep.location
    if key:
        out["Location"].append(
            {"key": key, "country": ad["country"], "state": ad["state"], "city": ad["city"]}
        )
        out["POSTED_IN"].append({"src": ad["id"], "dst": key})
    for e164, region, method, confidence in prep.phones:
        number = _identifier_key(e164, hmac_key)
        out["Phone"].append({"number": number, "region": region})
        out["HAS_PHONE"].append(
            {"src": ad["id"], "dst": number, "method": method, "confidence": confidence}
        )
    for address, method, confidence in prep.emails:
        address = _identifier_key(address, hmac_key)
        out["Email"].append({"address": address})
        out["HAS_EMAIL"].append(
            {"src": ad["id"], "dst": address, "method": method, "confidence": confidence}
        )


def batch_rows(parsed: Iterable[ParsedAd], hmac_key: bytes | None = None) -> dict[str, list]:
    """Node and edge rows for a batch of parsed ads, keyed by label / rel type.

    With ``hmac_key``, phones and e-mails are stored as keyed digests and the ad's title,
    body and URL with every identifier replaced by ``[phone]``/``[email]`` (the case
    report's redaction), so that no raw identifier is stored anywhere.
    """
    out = _empty_rows()
    redact = _redactor(bool(hmac_key))
    for p in parsed:
        add_rows(out, prepare_ad(p, redact), hmac_key)
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
    """A digest of an ad's content, the same in every process (``hash`` of text is not)."""
    text = repr(tuple(ad.get(k) for k in sorted(ad)))
    digest = hashlib.blake2b(text.encode("utf-8", "backslashreplace"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


@dataclass(frozen=True)
class _Options:
    """How ``_parse_chunk`` reads records (what ``load_ads`` was given)."""

    mapping: AdMapping
    default_region: str
    tz: ZoneInfo
    now_ts: int
    date_format: str | None
    country: str | None
    by_city: bool
    source_name: str
    redact: bool


@dataclass(frozen=True)
class _Parsed:
    fingerprint: int
    dropped: list[str]
    prepared: PreparedAd


@dataclass(frozen=True)
class _Rejected:
    problems: list[str]  # counted one by one
    reason: str  # the quarantine's


def _parse_chunk(opts: _Options, chunk: list[dict[str, Any] | None]) -> list[Any]:
    """Each record's outcome: ``_Parsed``, ``_Rejected``, or None for an unread record.

    Runs in a worker process (or in the loading one): it needs no store and no key."""
    redact = _redactor(opts.redact)
    out: list[Any] = []
    for fields in chunk:
        if fields is None:
            out.append(None)
            continue
        try:
            parsed = parse_ad(
                opts.mapping.apply(fields),
                default_region=opts.default_region,
                tz=opts.tz,
                now_ts=opts.now_ts,
                date_format=opts.date_format,
                country=opts.country,
                tz_by_city=opts.by_city,
            )
        except AdProblems as exc:
            out.append(_Rejected(exc.problems, str(exc)))
            continue
        except (ValueError, TypeError) as exc:
            out.append(_Rejected([str(exc)], str(exc)))
            continue
        parsed.ad["source"] = opts.source_name
        out.append(_Parsed(_fingerprint(parsed.ad), parsed.dropped, prepare_ad(parsed, redact)))
    return out


def load_ads(
    store: Store,
    path: str | Path,
    *,
    fmt: str | None = None,
    mapping: AdMapping | None = None,
    default_region: str = "US",
    timezone: str = "UTC",
    date_format: str | None = None,
    country: str | None = None,
    quarantine: Quarantine | None = None,
    batch_size: int = defaults.ADS_BATCH,
    hmac_key: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = defaults.ADS_PARSE_WORKERS,
) -> LoadSummary:
    """Load an ad file into ``store``; idempotent (keys are merged, never duplicated).

    Within one file, a repeated id with identical content is merged (counted in
    ``duplicates`` and ``loaded``); a repeated id with different content is quarantined.
    A record's problems are all named at once; bad optional fields are dropped and counted
    in ``summary.dropped``. ``summary.reasons`` counts rejections by problem.
    ``workers``: processes parsing records (0: one per core; 1: this one); records come
    back in file order, so the result is the same with any number.
    """
    by_city = timezone == CITY_TIMEZONE
    try:
        tz = ZoneInfo("UTC" if by_city else timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r} (or 'city')") from exc
    mapping = mapping or AdMapping()
    quarantine = quarantine or Quarantine()
    summary = LoadSummary(str(path))
    q_before = quarantine.count
    seen: dict[str, tuple[int, int]] = {}  # id -> (first line, content digest)
    opts = _Options(
        mapping,
        default_region,
        tz,
        int(datetime.now(UTC).timestamp()),
        date_format,
        country,
        by_city,
        Path(path).name,
        bool(hmac_key),
    )
    batch = _empty_rows()
    reasons: dict[str, int] = {}

    def count(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    def flush() -> None:
        nonlocal batch
        write_batch(store, batch)
        summary.phones += len(batch["HAS_PHONE"])
        summary.emails += len(batch["HAS_EMAIL"])
        batch = _empty_rows()

    outcomes = map_in_order(
        partial(_parse_chunk, opts),
        read_records(path, fmt),
        payload=lambda rec: None if rec.error else (rec.fields or {}),
        workers=workers,
    )
    with closing(outcomes):
        for rec, out in outcomes:
            summary.read += 1
            if progress:
                progress(1)
            if rec.error:
                count(rec.error.split(":", 1)[0])
                quarantine.add(rec.source, rec.line, rec.raw, rec.error)
                continue
            if isinstance(out, _Rejected):
                for problem in out.problems:
                    count(problem)
                quarantine.add(rec.source, rec.line, rec.raw or rec.fields, out.reason)
                continue
            if out.dropped and quarantine.strict:  # strict: nothing loads incomplete
                quarantine.add(rec.source, rec.line, rec.raw or rec.fields, "; ".join(out.dropped))
            for problem in out.dropped:
                summary.dropped[problem] = summary.dropped.get(problem, 0) + 1
            ad_id = out.prepared.ad["id"]
            first = seen.get(ad_id)
            if first is not None:
                if first[1] == out.fingerprint:
                    summary.duplicates += 1
                    summary.loaded += 1
                else:
                    count("duplicate id: conflicts with an earlier record")
                    quarantine.add(
                        rec.source,
                        rec.line,
                        rec.raw or rec.fields,
                        f"duplicate id: conflicts with the record at line {first[0]}",
                    )
                continue
            seen[ad_id] = (rec.line, out.fingerprint)
            add_rows(batch, out.prepared, hmac_key)
            summary.loaded += 1
            if len(batch["Ad"]) >= batch_size:
                flush()
    if batch["Ad"]:
        flush()
    summary.quarantined = quarantine.count - q_before
    summary.reasons = reasons
    return summary


__all__ = [
    "AdMapping",
    "AdProblems",
    "InputError",
    "LoadSummary",
    "ParsedAd",
    "RawRecord",
    "load_ads",
    "parse_ad",
]
