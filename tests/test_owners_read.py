"""Owner groups on the test world, detected once per store and then only read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_owners_world import TRUTH, build_world

from ownergraph.stages.owners import OwnerSummary, detect_owners, list_owners, owner_detail
from ownergraph.store.base import Store
from ownergraph.store.embedded import EmbeddedStore


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def detected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, OwnerSummary]]:
    """The world with owner groups detected (Leiden, defaults), in each store."""
    if request.param == "embedded":
        store: Store = EmbeddedStore(Path(tmp_path_factory.mktemp("owners")) / "g.lbug")
    else:
        from ownergraph.store.neo4j import Neo4jStore

        store = Neo4jStore(request.getfixturevalue("neo4j_uri"))
        store.clear()
    store.init_schema()
    build_world(store)
    summary = detect_owners(store, calibrate=False)  # too few ads to calibrate on
    yield store, summary
    store.close()


def _groups(store) -> set[frozenset[str]]:
    rows = store.query("MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner) RETURN a.id AS ad, o.id AS owner")
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["owner"], set()).add(r["ad"])
    return {frozenset(v) for v in out.values()}


def _truth_groups() -> set[frozenset[str]]:
    out: dict[str, set[str]] = {}
    for ad, owner in TRUTH.items():
        out.setdefault(owner, set()).add(ad)
    return {frozenset(v) for v in out.values()}


def test_leiden_with_all_evidence_recovers_the_owners(detected):
    store, summary = detected
    assert _groups(store) == _truth_groups()
    assert summary.owners == 4 and summary.groups == 2 and summary.largest == 6
    assert summary.links == {"phone": 9, "email": 2, "wallet": 2, "author": 6, "image": 0}
    # every ad has exactly one owner, with provenance
    rows = store.query(
        "MATCH (a:Ad)-[b:BELONGS_TO]->(:Owner) RETURN a.id AS ad, b.method AS m, "
        "b.confidence AS c ORDER BY ad"
    )
    assert [r["ad"] for r in rows] == sorted(TRUTH)
    assert {r["m"] for r in rows} == {"leiden"}
    assert all(0 < r["c"] <= 1 for r in rows)


def test_indicators_score_and_flags_of_the_operation(detected):
    store, _ = detected
    top = list_owners(store, limit=2)
    a = top[0]
    assert (a["ads"], a["states"], a["cities"], a["active_days"]) == (6, 3, 4, 3)
    assert (a["names"], a["ages"], a["phones"], a["emails"], a["wallets"]) == (3, 3, 2, 1, 1)
    assert a["ads_per_day"] == pytest.approx(2.0)
    # 100,000 + 150,000 sat to the processor; expected cost NV metro post 12 + AZ post 6,
    # each paid with usd_error +1%
    assert a["btc_spent"] == pytest.approx(0.0025) and a["usd_spent"] == pytest.approx(18.18)
    assert a["evidence"] == "phone,email,wallet,author"
    assert a["flags"] == "many people; many states"
    assert "advertised 3 distinct names and 3 distinct ages across 3 states" in a["reasons"]
    assert "posted in 3 states (AZ, CA, NV)" in a["reasons"]
    assert a["score"] > top[1]["score"] > 0
    by_ads = list_owners(store, sort="ads", limit=10, min_ads=2)
    # b2 repeats b1 word for word with the same phone two days later: a repost, counted once
    assert [o["ads"] for o in by_ads] == [6, 2]
    rows = store.query("MATCH (a:Ad)-[r:REPOST_OF]->(b:Ad) RETURN a.id AS a, b.id AS b, "
                       "r.method AS m, r.confidence AS c")  # fmt: skip
    assert rows == [{"a": "b2", "b": "b1", "m": "same-text-identifiers-window", "c": 1.0}]
    with pytest.raises(ValueError, match="cannot sort by"):
        list_owners(store, sort="ads; DROP")


def test_owner_detail_has_ads_identifiers_wallets_timeline(detected):
    store, _ = detected
    oid = list_owners(store, limit=1)[0]["id"]
    d = owner_detail(store, oid)
    assert [r["ad"] for r in d["ads"]] == ["a1", "a2", "a3", "a4", "a5", "a6"]
    assert {(r["kind"], r["identifier"]) for r in d["identifiers"]} == {
        ("phone", "+17025550147"),
        ("phone", "+16025550199"),
        ("email", "kandy.vip@example.com"),
    }
    assert d["wallets"][0]["wallet"] == "W1" and d["wallets"][0]["ads"] == 2
    assert sum(r["ads"] for r in d["timeline"]) == 6 and len(d["timeline"]) == 3
    assert {r["kind"] for r in d["links"]} == {"phone", "email", "wallet", "author"}
    assert d["flags"] == ["many people", "many states"]
    with pytest.raises(LookupError, match="no owner group"):
        owner_detail(store, "O-nope")
