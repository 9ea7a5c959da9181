"""Every named query runs on both stores over the same data and gives the same answer.

The world (tests/test_owners_world.py) is written to a LadybugDB store and to Neo4j, owner
groups are detected in each, then every query in ``ownergraph/queries`` runs on both.
Answers are compared row by row after a normalisation that only removes engine artefacts:
LadybugDB returns ``sum()`` of integers as ``Decimal`` (compared as numbers), and lists made
by ``collect()`` have no defined order in either engine (compared sorted).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_owners_world import DAY, T0, build_world

from ownergraph.graph.communities import owner_ids
from ownergraph.graph.embedded import EmbeddedStore
from ownergraph.graph.owners import detect_owners
from ownergraph.graph.store import Store
from ownergraph.queries.registry import load_queries, run_named

OWNER_A = owner_ids(np.array(["a1"], dtype=object), np.array([0]))[0]
OWNER_B = owner_ids(np.array(["b1"], dtype=object), np.array([0]))[0]

# (case id, query, parameters): every query of the library appears at least once.
CASES = [
    ("ads_per_phone", "ads_per_phone", {}),
    ("phones_in_several_states", "phones_in_several_states", {"min_states": 1}),
    ("ads_sharing_identifier", "ads_sharing_identifier", {"ad_id": "a3"}),
    ("owners_spanning_states", "owners_spanning_states", {"min_states": 2}),
    ("owners_by_ads_per_day", "owners_by_ads_per_day", {}),
    ("phones_with_several_names", "phones_with_several_names", {}),
    ("wallets_paying_in_several_states", "wallets_paying_in_several_states", {}),
    ("ads_linked_to_ad-a6", "ads_linked_to_ad", {"ad_id": "a6"}),
    ("ads_linked_to_ad-a1", "ads_linked_to_ad", {"ad_id": "a1"}),
    ("shortest_evidence_path-a2-a5", "shortest_evidence_path", {"from_ad": "a2", "to_ad": "a5"}),
    ("shortest_evidence_path-b1-b2", "shortest_evidence_path", {"from_ad": "b1", "to_ad": "b2"}),
    ("shortest_evidence_path-none", "shortest_evidence_path", {"from_ad": "a1", "to_ad": "c1"}),
    ("new_ads_joining_owners", "new_ads_joining_owners", {"since": int(T0 + 1.55 * DAY)}),
    ("owner_timeline", "owner_timeline", {"owner_id": OWNER_A}),
    ("top_cities_per_owner-all", "top_cities_per_owner", {}),
    ("top_cities_per_owner-A", "top_cities_per_owner", {"owner_id": OWNER_A, "limit": 2}),
    ("payments_per_wallet", "payments_per_wallet", {"bucket_days": 1}),
    ("payments_per_wallet-week", "payments_per_wallet", {"wallet_id": "W1"}),
    ("owner_ads", "owner_ads", {"owner_id": OWNER_B}),
    ("owner_identifiers", "owner_identifiers", {"owner_id": OWNER_A}),
    ("owner_wallets", "owner_wallets", {"owner_id": OWNER_A}),
    # no tags in this world (tests/test_service_tags.py checks the answers with tags)
    ("owner_service_tags", "owner_service_tags", {"owner_id": OWNER_A}),
    ("owner_evidence_links", "owner_evidence_links", {"owner_id": OWNER_A}),
    ("top_owners", "top_owners", {}),
    ("authors_across_phones", "authors_across_phones", {"min_phones": 1}),
]

# Answers checked by hand against the world's construction.
EXPECTED = {
    "owner_service_tags": [],  # the world has no service tags
    "ads_linked_to_ad-a6": [
        ("a3", "email", "kandy.vip@example.com"),
        ("a5", "author", "U1"),
        ("b3", "author", "U3"),
    ],
    "ads_linked_to_ad-a1": [
        ("a2", "phone", "+17025550147"),
        ("a3", "phone", "+17025550147"),
        ("a4", "wallet", "W1"),
    ],
    "shortest_evidence_path-a2-a5": [
        (6, "a2 > +17025550147 > a3 > kandy.vip@example.com > a6 > U1 > a5"),
    ],
    "shortest_evidence_path-b1-b2": [(2, "b1 > +12815550123 > b2"), (2, "b1 > U2 > b2")],
    "shortest_evidence_path-none": [],
    "new_ads_joining_owners": [("a4",), ("a5",), ("b2",), ("a6",), ("b3",)],
    "owners_spanning_states": [(OWNER_A, 3)],
}


def _normalise(v: object) -> object:
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, list):
        return sorted((_normalise(x) for x in v), key=repr)
    if isinstance(v, dict):
        return {k: _normalise(x) for k, x in v.items()}
    return v


def _answers(store: Store) -> dict[str, list[dict]]:
    build_world(store)
    detect_owners(store)
    return {
        case: [_normalise(r) for r in run_named(store, name, params)]
        for case, name, params in CASES
    }


@pytest.fixture(scope="module")
def embedded_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("lib")) / "graph.lbug")
    store.init_schema()
    try:
        return _answers(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def neo4j_answers(neo4j_uri: str) -> Iterator[dict[str, list[dict]]]:
    from ownergraph.graph.neo4j_store import Neo4jStore

    store = Neo4jStore(neo4j_uri)
    while store.query(
        "MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c", write=True
    )[0]["c"]:
        pass
    store.init_schema()
    try:
        yield _answers(store)
    finally:
        store.close()


def test_the_library_has_at_least_twelve_documented_queries():
    qs = load_queries()
    assert len(qs) >= 12
    assert {name for _, name, _ in CASES} == set(qs), "every query must have a test case"
    for q in qs.values():
        assert len(q.description) > 20, q.name


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_embedded_answers_are_right(embedded_answers, case):
    rows = embedded_answers[case]
    if case in EXPECTED:
        want = EXPECTED[case]
        width = len(want[0]) if want else 0
        assert [tuple(r.values())[:width] for r in rows] == want
    else:
        assert rows, f"{case} answered nothing on the test world"


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_neo4j_gives_the_same_answer(embedded_answers, neo4j_answers, case):
    assert neo4j_answers[case] == embedded_answers[case]
