"""Ad-hoc Cypher from the command line: parameters typed from the schema.

``ownergraph query --cypher 'MATCH (a:Ad {id: $id}) RETURN a.title' -p id=123`` passes
``id`` as the text "123" because ``Ad.id`` is a STRING property, and
``... WHERE a.posted_ts > $t`` passes ``t`` as an integer because ``posted_ts`` is INT64.
A parameter the text does not compare with a property is typed by its looks (an integer,
a number, else text) and named in the hint printed when nothing matched.
"""

from __future__ import annotations

import re
from typing import Any

from ownergraph.store.schema import SCHEMA, Schema

# a.prop = $p, a.prop >= $p, a.prop IN $p, {prop: $p}
_COMPARED = re.compile(r"\.(\w+)\s*(?:=|<>|<=|>=|<|>|\bIN\b)\s*\$(\w+)", re.IGNORECASE)
_COMPARED_REV = re.compile(r"\$(\w+)\s*(?:=|<>|<=|>=|<|>)\s*\w+\.(\w+)")
_IN_MAP = re.compile(r"[{,]\s*(\w+)\s*:\s*\$(\w+)")
_PARAM = re.compile(r"\$(\w+)")
_WRITES = re.compile(r"\b(CREATE|MERGE|SET|DELETE|REMOVE|DROP|COPY|ALTER|LOAD)\b", re.I)


def _prop_types(schema: Schema) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for n in schema.nodes:
        for p in n.props:
            out.setdefault(p.name, set()).add(p.type)
    for r in schema.rels:
        for p in r.props:
            out.setdefault(p.name, set()).add(p.type)
    return out


def param_properties(cypher: str) -> dict[str, str]:
    """Parameter -> the property it is compared with in ``cypher`` (when one is)."""
    out: dict[str, str] = {}
    for prop, param in _COMPARED.findall(cypher) + _IN_MAP.findall(cypher):
        out.setdefault(param, prop)
    for param, prop in _COMPARED_REV.findall(cypher):
        out.setdefault(param, prop)
    return out


def _by_looks(text: str) -> Any:
    if re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def bind_adhoc(cypher: str, given: dict[str, str], schema: Schema = SCHEMA) -> dict[str, Any]:
    """Typed values for the ``-p KEY=VALUE`` of an ad-hoc query (see the module doc).

    Raises ``ValueError`` for a parameter the query does not use, or one it uses but
    is not given, or a value that is not of its property's type.
    """
    used = set(_PARAM.findall(cypher))
    unknown = sorted(set(given) - used)
    if unknown:
        raise ValueError(f"parameters not used by the query: {', '.join(unknown)}")
    missing = sorted(used - set(given))
    if missing:
        raise ValueError(f"the query needs -p {'=… -p '.join(missing)}=…")
    types = _prop_types(schema)
    props = param_properties(cypher)
    out: dict[str, Any] = {}
    for name, text in given.items():
        kinds = types.get(props.get(name, ""), set())
        if kinds == {"STRING"}:
            out[name] = text
        elif kinds == {"INT64"}:
            try:
                out[name] = int(text)
            except ValueError:
                raise ValueError(f"-p {name}: {props[name]} is an integer, not {text!r}") from None
        elif kinds == {"DOUBLE"}:
            try:
                out[name] = float(text)
            except ValueError:
                raise ValueError(f"-p {name}: {props[name]} is a number, not {text!r}") from None
        elif kinds == {"BOOL"}:
            out[name] = text.strip().lower() in ("true", "1", "yes")
        else:
            out[name] = _by_looks(text)
    return out


def no_rows_hint(cypher: str, params: dict[str, Any]) -> str | None:
    """Why an ad-hoc query may have matched nothing: how each parameter was typed."""
    if not params:
        return None
    props = param_properties(cypher)
    parts = []
    for name, v in params.items():
        how = f"compared with .{props[name]}" if name in props else "typed by its looks"
        parts.append(f"${name} = {v!r} ({type(v).__name__}, {how})")
    return (
        "no rows; parameters were passed as " + "; ".join(parts) + ". Keys such as Ad.id, "
        "Owner.id and Phone.number are text: compare them with a text parameter"
    )


def looks_like_write(cypher: str) -> bool:
    """Whether the text has a writing clause (the store refuses it anyway without --write)."""
    return bool(_WRITES.search(re.sub(r"'[^']*'|\"[^\"]*\"", "", cypher)))
