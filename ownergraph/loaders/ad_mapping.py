"""How the columns of an ad file become ad fields: the one mapping every command that reads
ads uses (``load ads``, ``authors train --ads``, ``run``).

A mapping renames columns (``--map title=subject``), reads nested JSON by dotted path
(``dig:snapshot.dig:hasTitlePart.schema:text``), applies a named transform to a column
(``--map city=url:subdomain``) and fills constants (``--set state=CA``). Presets name the
mappings of known dumps. Light to import (the CLI lists fields, transforms and presets).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

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
    "country",
    "category",
    "price_usd",
    "name",
    "age",
    "post_kind",
    "sponsored",
    "n_locations",
)

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
    # DIG/Memex JSON-LD crawls (usc-isi-i2/dig-alignment): the page under "dig:snapshot".
    "dig-jsonld": {
        "id": "dig:snapshot.dig:preferredIdentifier.rdfs:label",
        "title": "dig:snapshot.dig:hasTitlePart.schema:text",
        "body": "dig:snapshot.dig:hasBodyPart.schema:text",
        "posted_at": "dig:snapshot.schema:dateCreated",
        "age": "dig:snapshot.dig:mentionsPersonAge",
        "url": "dig:snapshot.schema:url",
        "city": ("dig:snapshot.schema:url", "subdomain"),
        "site": ("dig:snapshot.schema:url", "domain"),
        "category": ("dig:snapshot.schema:url", "backpage_category"),
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


def lookup(fields: Mapping[str, Any], column: str) -> Any:
    """A column's value; a dotted path (``dig:snapshot.dig:hasTitlePart.schema:text``)
    walks nested JSON objects, a list taking its first item. Missing: None."""
    if column in fields:
        return fields[column]
    value: Any = fields
    for part in column.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def parse_source(spec: str) -> str | tuple[str, str]:
    """``COLUMN`` or ``COLUMN:TRANSFORM`` (``url:subdomain``) as a mapping source.

    Only a known transform name after the last colon is a transform: JSON keys with
    colons (``dig:snapshot``) stay column names.
    """
    col, sep, fn = spec.rpartition(":")
    if sep and col and fn in TRANSFORMS:
        return (col, fn)
    return spec


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
                raise ValueError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
            cols.update(PRESETS[preset])
        cols.update({k: parse_source(v) for k, v in (columns or {}).items()})
        for target in [*cols, *(constants or {})]:
            if target not in AD_FIELDS:
                raise ValueError(
                    f"unknown ad field {target!r} in mapping; fields: {', '.join(AD_FIELDS)}"
                )
        return cls(cols, dict(constants or {}))

    @property
    def sources(self) -> list[str]:
        """The input columns (or paths) the mapping reads."""
        return sorted({s if isinstance(s, str) else s[0] for s in self.columns.values()})

    def missing(self, available: Iterable[str]) -> list[str]:
        """Mapped columns that are not among ``available`` (columns or dotted paths)."""
        have = set(available)
        return [c for c in self.sources if c not in have]

    def apply(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in fields.items() if k in AD_FIELDS} if not self.columns else {}
        if self.columns:
            # Unmapped columns that already carry an ad field's name still count.
            mapped_sources = set(self.sources)
            out = {k: v for k, v in fields.items() if k in AD_FIELDS and k not in mapped_sources}
            for target, src in self.columns.items():
                if isinstance(src, str):
                    out[target] = lookup(fields, src)
                else:
                    col, fn = src
                    v = lookup(fields, col)
                    out[target] = TRANSFORMS[fn](v) if v else None
        for k, v in self.constants.items():
            if out.get(k) in (None, ""):
                out[k] = v
        return out
