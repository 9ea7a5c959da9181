"""Helpers shared by the reliability tests: seeded ad files, full graph dumps, CLI runs.

Imported by the other ``test_reliability_*`` modules (pytest puts ``tests/`` on the path);
the few tests here check the helpers themselves, since every crash and idempotency claim
rests on ``dump`` seeing every property.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from ownergraph.store.base import Store
from ownergraph.store.schema import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
NEO4J_DEV = ROOT / "neo4j-dev" / "neo4j-dev"

STATES = ("NV", "CA", "TX", "NY", "FL", "WA", "IL", "GA")
CITIES = {
    "NV": "Las Vegas",
    "CA": "Los Angeles",
    "TX": "Houston",
    "NY": "New York",
    "FL": "Miami",
    "WA": "Seattle",
    "IL": "Chicago",
    "GA": "Atlanta",
}
WORDS = "zero one two three four five six seven eight nine".split()


def phone_number(i: int) -> str:
    """A valid-looking US number (area codes that phonenumbers accepts)."""
    area = ("702", "213", "713", "212", "305", "206", "312", "404")[i % 8]
    return f"{area}{555 if i % 3 else 634}{i % 10_000:04d}"


def render_phone(digits: str, style: int) -> str:
    if style == 0:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if style == 1:
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    if style == 2:
        return f"({digits[:3]}) {digits[3:6]} {digits[6:]}"
    return " ".join(WORDS[int(d)] if k % 3 == 0 else d for k, d in enumerate(digits))


def make_ads(n: int, seed: int = 7, prefix: str = "ad") -> list[dict[str, Any]]:
    """``n`` seeded ads; about 4 ads per phone, some e-mails, all fields of the format."""
    rng = random.Random(seed)
    owners = max(1, n // 4)
    out = []
    for i in range(n):
        o = rng.randrange(owners)
        state = STATES[o % len(STATES)] if rng.random() < 0.8 else rng.choice(STATES)
        digits = phone_number(o)
        body = f"New in town, call {render_phone(digits, rng.randrange(4))} no games"
        if o % 5 == 0:
            body += f" or mail girl{o} (at) example (dot) com"
        day = 1 + i % 28
        out.append(
            {
                "id": f"{prefix}{i}",
                "site": "example-ads",
                "url": f"https://ads.example/{prefix}{i}",
                "posted_at": f"2016-03-{day:02d}T{i % 24:02d}:{i % 60:02d}:05-08:00",
                "title": f"Sweet girl {o} new in town",
                "body": body,
                "city": CITIES[state],
                "state": state,
                "category": "escorts",
                "name": f"Name{o}",
                "age": 18 + o % 20,
                "post_kind": ("post", "bump", "repost")[i % 3],
                "sponsored": i % 7 == 0,
                "n_locations": 1 + i % 3,
            }
        )
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def dump(store: Store, *, audit: bool = False) -> dict[str, list[tuple]]:
    """Every node and edge of every type with every declared property, sorted.

    Two graphs are the same when their dumps are equal: same keys, same property values,
    same edges (no duplicates: a count would hide one missing and one extra edge).
    Without ``audit``, the audit trail is left out: ``Run`` nodes and the ``run`` stamp
    (every writing command records a run, so running one twice, or resuming a killed
    one, rightly leaves more runs behind than running it once).
    """
    out: dict[str, list[tuple]] = {}
    for n in SCHEMA.nodes:
        if n.label == "Run" and not audit:
            continue
        props = [p for p in n.prop_names if audit or p != "run"]
        cols = ", ".join(f"n.{p} AS {p}" for p in props)
        rows = store.query(f"MATCH (n:{n.label}) RETURN {cols}")
        out[n.label] = sorted((tuple(r[p] for p in props) for r in rows), key=repr)
    for r in SCHEMA.rels:
        src, dst = SCHEMA.node(r.src).key, SCHEMA.node(r.dst).key
        props = [p for p in r.prop_names if audit or p != "run"]
        cols = "".join(f", e.{p} AS {p}" for p in props)
        q = f"MATCH (a:{r.src})-[e:{r.type}]->(b:{r.dst}) RETURN a.{src} AS s, b.{dst} AS d{cols}"
        rows = store.query(q)
        out[r.type] = sorted(
            (tuple([x["s"], x["d"], *(x[p] for p in props)]) for x in rows), key=repr
        )
    return out


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no inherited store or credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "OWNERGRAPH_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ownergraph.cli", *args]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Run the CLI in a fresh process; returns the CompletedProcess (text output)."""
    return subprocess.run(
        cli_cmd(*args), capture_output=True, text=True, env=env or cli_env(), timeout=timeout
    )


# -- tests of the helpers --------------------------------------------------------------


def test_make_ads_is_seeded_and_shares_phones():
    a, b = make_ads(40, seed=3), make_ads(40, seed=3)
    assert a == b and a != make_ads(40, seed=4)
    assert len({r["id"] for r in a}) == 40


def test_dump_sees_a_changed_property_and_a_swapped_edge(embedded_store):
    s = embedded_store
    s.upsert_nodes("Ad", [{"id": "a1", "age": 20}, {"id": "a2", "age": 30}])
    s.upsert_nodes("Phone", [{"number": "+1"}, {"number": "+2"}])
    s.upsert_edges("HAS_PHONE", [{"src": "a1", "dst": "+1", "method": "plain", "confidence": 1}])
    before = dump(s)
    assert before["HAS_PHONE"] == [("a1", "+1", "plain", 1.0)] and "Run" not in before
    assert dump(s, audit=True)["HAS_PHONE"] == [("a1", "+1", "plain", 1.0, None)]  # unstamped
    s.upsert_nodes("Ad", [{"id": "a2", "age": 31}])
    assert dump(s) != before
    s.upsert_nodes("Ad", [{"id": "a2", "age": 30}])
    assert dump(s) == before
    s.delete_edges("HAS_PHONE")
    s.upsert_edges("HAS_PHONE", [{"src": "a1", "dst": "+2", "method": "plain", "confidence": 1}])
    assert dump(s) != before
