"""Named analyst queries: ``.cypher`` files with a header, loaded by name.

Each file starts with comment lines::

    // name: ads_per_phone
    // description: Phones ranked by the number of ads that carry them.
    // params: min_ads:int=2, limit:int=50

A query runs unchanged on every backend; where dialects differ, a variant named
``NAME.<dialect>.cypher`` (``ladybug`` or ``neo4j``) sits beside it and wins for that
backend. Parameters are passed as Cypher parameters, never pasted into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownergraph.errors import OwnergraphError

QUERY_DIR = Path(__file__).parent
DIALECTS = ("ladybug", "neo4j")
PARAM_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


class QueryError(OwnergraphError, ValueError):
    """An unknown query, a malformed header, or a bad parameter value."""

    exit_code = 2  # bad input, as a usage error


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "str"
    default: Any = None
    required: bool = True

    def convert(self, value: Any) -> Any:
        if value is None:
            return None
        if self.type == "bool" and isinstance(value, str):
            low = value.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise QueryError(f"parameter {self.name}: {value!r} is not a boolean")
            return low in ("true", "1", "yes")
        try:
            return PARAM_TYPES[self.type](value)
        except (TypeError, ValueError):
            raise QueryError(f"parameter {self.name}: {value!r} is not {self.type}") from None


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    text: str
    variants: dict[str, str] = field(default_factory=dict)

    def cypher(self, dialect: str) -> str:
        return self.variants.get(dialect, self.text)

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        """Typed parameter values: defaults filled in, unknown names rejected."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise QueryError(f"{self.name}: unknown parameters {unknown}; takes {list(known)}")
        out = {}
        for p in self.params:
            if p.name in given:
                out[p.name] = p.convert(given[p.name])
            elif p.required:
                raise QueryError(f"{self.name}: parameter {p.name!r} is required")
            else:
                out[p.name] = p.default
        return out


_HEADER = re.compile(r"^//\s*(name|description|params)\s*:\s*(.*)$")


def _parse_params(spec: str, where: str) -> tuple[Param, ...]:
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        m = re.fullmatch(r"([A-Za-z_]\w*)(?::(\w+))?(?:=(.*))?", item)
        if not m or (m.group(2) or "str") not in PARAM_TYPES:
            raise QueryError(f"{where}: bad parameter spec {item!r}")
        name, typ, default = m.group(1), m.group(2) or "str", m.group(3)
        p = Param(name, typ)
        if default is not None:
            p = Param(name, typ, p.convert(default.strip()), required=False)
        out.append(p)
    return tuple(out)


def parse_query_file(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    for line in text.splitlines():
        m = _HEADER.match(line.strip())
        if m:
            meta[m.group(1)] = m.group(2).strip()
        elif line.strip() and not line.strip().startswith("//"):
            break
    if "name" not in meta or "description" not in meta:
        raise QueryError(f"{path.name}: header needs '// name:' and '// description:' lines")
    params = _parse_params(meta.get("params", ""), path.name)
    return NamedQuery(meta["name"], meta["description"], params, text)


def load_queries(directory: Path = QUERY_DIR) -> dict[str, NamedQuery]:
    """All named queries in ``directory``, with their dialect variants attached."""
    base: dict[str, NamedQuery] = {}
    variants: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.cypher")):
        parts = path.name.split(".")
        if len(parts) == 3 and parts[1] in DIALECTS:
            variants.setdefault(parts[0], {})[parts[1]] = path.read_text(encoding="utf-8")
            continue
        q = parse_query_file(path)
        if q.name != path.stem:
            raise QueryError(f"{path.name}: header name {q.name!r} differs from the file name")
        base[q.name] = q
    for name, v in variants.items():
        if name not in base:
            raise QueryError(f"variant for unknown query {name!r}")
        base[name] = NamedQuery(
            base[name].name, base[name].description, base[name].params, base[name].text, v
        )
    return base


def get_query(name: str) -> NamedQuery:
    queries = load_queries()
    if name not in queries:
        raise QueryError(f"unknown query {name!r}; known: {', '.join(sorted(queries))}")
    return queries[name]


def run_named(
    store: Any, name: str, params: dict[str, Any] | None = None, *, write: bool = False
) -> list[dict[str, Any]]:
    """Run a named query on a store (read-only unless ``write``)."""
    q = get_query(name)
    return store.query(q.cypher(store.dialect), q.bind(params or {}), write=write)
