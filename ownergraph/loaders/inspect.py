"""What an ad file holds: its columns (nested JSON as dotted paths), sample values, and
a suggested mapping onto the ad fields, for ``ownergraph load ads FILE --inspect``."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownergraph.loaders.records import read_records

# ad field -> column names that usually hold it (compared lower-case, letters only)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "adid", "postid", "sid", "uid", "identifier", "label", "key"),
    "title": ("title", "subject", "headline", "heading", "titletext"),
    "body": ("body", "description", "desc", "text", "content", "bodytext", "message", "ad"),
    "posted_at": (
        "postedat",
        "date",
        "posted",
        "postdate",
        "datecreated",
        "created",
        "time",
        "timestamp",
        "datetime",
        "postedon",
    ),
    "city": ("city", "location", "town", "place"),
    "state": ("state", "province", "region"),
    "country": ("country",),
    "age": ("age", "mentionspersonage"),
    "url": ("url", "link", "adurl", "href"),
    "price_usd": ("price", "priceusd", "rate"),
    "name": ("name", "alias"),
    "category": ("category", "section"),
    "site": ("site", "domain", "source"),
}


@dataclass
class Column:
    name: str
    filled: int = 0
    samples: list[str] = field(default_factory=list)


@dataclass
class Inspection:
    path: str
    records: int
    unreadable: int
    columns: dict[str, Column]
    suggested: dict[str, str]

    def map_options(self) -> str:
        return " ".join(f"--map {shlex.quote(f'{f}={c}')}" for f, c in self.suggested.items())


def flatten(fields: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf; a list stands for its first item."""
    for k, v in fields.items():
        path = f"{prefix}{k}"
        if isinstance(v, list):
            v = v[0] if v else None
        if isinstance(v, Mapping):
            yield from flatten(v, path + ".")
        else:
            yield path, v


def file_columns(path: str | Path, fmt: str | None = None, sample: int = 200) -> set[str]:
    """The columns (and dotted paths) of the first ``sample`` readable records."""
    return set(inspect_file(path, fmt, sample).columns)


GENERIC_LEAVES = ("text", "content", "value", "label")


def _letters(name: str) -> str:
    """A column's name for matching: its last path part, or for a generic leaf
    (``dig:hasTitlePart.schema:text``) its parent's, without has/part."""
    parts = [re.sub(r"[^a-z]", "", re.split(r":", p)[-1].lower()) for p in name.split(".")]
    if len(parts) > 1 and parts[-1] in GENERIC_LEAVES:
        return re.sub(r"^has|part$", "", parts[-2])
    return parts[-1]


def _matches(column: str, want: str) -> bool:
    name = _letters(column)
    return want in (name, re.sub(r"^(ad|post|listing)", "", name))  # "Ad Title", "post_id"


def suggest_mapping(columns: Mapping[str, Column]) -> dict[str, str]:
    """ad field -> column, by the column's (last path part's) name; each column used once."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for target, names in SYNONYMS.items():
        for want in names:
            hits = [c for c in columns if c not in used and _matches(c, want)]
            if target == "id":  # ids are filled on every record
                hits = [c for c in hits if columns[c].filled]
            if hits:
                best = max(hits, key=lambda c: (columns[c].filled, -len(c)))
                out[target] = best
                used.add(best)
                break
    if "city" not in out and "url" in out:
        out["city"] = f"{out['url']}:subdomain"
    return out


def inspect_file(path: str | Path, fmt: str | None = None, sample: int = 200) -> Inspection:
    """Columns, fill counts and up to three sample values of the first ``sample`` records."""
    cols: dict[str, Column] = {}
    n = bad = 0
    for rec in read_records(path, fmt):
        if n + bad >= sample:
            break
        if rec.error or rec.fields is None:
            bad += 1
            continue
        n += 1
        for name, v in flatten(rec.fields):
            col = cols.setdefault(name, Column(name))
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            col.filled += 1
            if len(col.samples) < 3:
                text = " ".join(str(v).split())
                col.samples.append(text[:60] + ("…" if len(text) > 60 else ""))
    return Inspection(str(path), n, bad, cols, suggest_mapping(cols))
