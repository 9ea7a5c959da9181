"""Every named query gives the exact, hand-checked answer on both stores.

The world (tests/test_owners_world.py) and a hand-set owner grouping (``write_owners``, not
owner detection) are written to a LadybugDB store and to Neo4j; every query in
``ownergraph/queries`` runs on both and each answer is compared, columns and rows, with the
answer worked out by hand from the world's construction (comments say why). Only engine
artefacts are normalised: floats are rounded to 9 places, and lists made by ``collect()``
have no defined order (compared sorted). (``sum()`` of integers is an int on both: the
embedded store converts LadybugDB's Decimal, tests/test_stores.py checks it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_owners_world import ADS, DAY, T0, TXS, build_world, write_owners

from ownergraph.queries.registry import load_queries, run_named
from ownergraph.store.base import Store
from ownergraph.store.embedded import EmbeddedStore

TS = {ad: int(T0 + off * DAY) for ad, off, *_ in ADS}  # posted_ts of each ad
SEEN = {tx: int(T0 + off * DAY) for tx, (_, _, off, _) in TXS.items()}  # first_seen_ts
P1, P2, P3, P4 = "+17025550147", "+16025550199", "+12815550123", "+13055550111"
E1 = "kandy.vip@example.com"
WEEK = 7 * DAY

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
    ("owner_timeline", "owner_timeline", {"owner_id": "O-A"}),
    ("top_cities_per_owner-all", "top_cities_per_owner", {}),
    ("top_cities_per_owner-A", "top_cities_per_owner", {"owner_id": "O-A", "limit": 2}),
    ("payments_per_wallet", "payments_per_wallet", {"bucket_days": 1}),
    ("payments_per_wallet-week", "payments_per_wallet", {"wallet_id": "W1"}),
    ("owner_ads", "owner_ads", {"owner_id": "O-B"}),
    ("owner_identifiers", "owner_identifiers", {"owner_id": "O-A"}),
    ("owner_wallets", "owner_wallets", {"owner_id": "O-A"}),
    ("owner_evidence_links", "owner_evidence_links", {"owner_id": "O-A"}),
    # no tags in this world (tests/test_service_tags.py checks the answers with tags)
    ("owner_service_tags", "owner_service_tags", {"owner_id": "O-A"}),
    ("owner_soft_joins-A", "owner_soft_joins", {"owner_id": "O-A"}),
    ("owner_soft_joins-B", "owner_soft_joins", {"owner_id": "O-B"}),
    ("top_owners", "top_owners", {}),
    ("authors_across_phones", "authors_across_phones", {"min_phones": 1}),
    # this world has no pictures (tests/test_images.py checks the answers with pictures)
    ("owner_images", "owner_images", {"owner_id": "O-A"}),
    ("ads_sharing_image", "ads_sharing_image", {"ad_id": "a1"}),
]

# case -> (columns, rows), worked out by hand from tests/test_owners_world.py.
EXPECTED: dict[str, tuple[tuple[str, ...], list[tuple]]] = {
    # P1 on a1-a3 (NV, NV, AZ), P3 on b1-b3 (TX), P2 on a4-a5 (AZ, CA); P4 has one ad
    "ads_per_phone": (
        ("phone", "ads", "n_states"),
        [(P3, 3, 1), (P1, 3, 2), (P2, 2, 2)],
    ),
    "phones_in_several_states": (
        ("phone", "n_states", "ads"),
        [(P1, 2, 3), (P2, 2, 2), (P3, 1, 3), (P4, 1, 1)],
    ),
    # a3 carries P1 (also a1, a2) and E1 (also a6)
    "ads_sharing_identifier": (
        ("ad", "via", "identifier", "posted_ts"),
        [
            ("a1", "phone", P1, TS["a1"]),
            ("a2", "phone", P1, TS["a2"]),
            ("a6", "email", E1, TS["a6"]),
        ],
    ),
    # O-A = a1..a5 in NV, AZ, CA; every other group posts in one state
    "owners_spanning_states": (
        ("owner", "n_states", "ads_with_state", "states", "score"),
        [("O-A", 3, 5, ["AZ", "CA", "NV"], 71.5)],
    ),
    # O-A: 5 ads on UTC days 0 and 1; O-B: 3 ads on days 0, 2 and 4; singletons are below 2 ads
    "owners_by_ads_per_day": (
        ("owner", "ads", "active_days", "ads_per_day", "first_ts", "last_ts"),
        [("O-A", 5, 2, 2.5, TS["a1"], TS["a5"]), ("O-B", 3, 3, 1.0, TS["b1"], TS["b3"])],
    ),
    # P1: Kandy, Amber, Jade; P2: Kandy, Amber; P3 only Rose
    "phones_with_several_names": (
        ("phone", "n_names", "ads", "names"),
        [(P1, 3, 3, ["amber", "jade", "kandy"]), (P2, 2, 2, ["amber", "kandy"])],
    ),
    # W1 (X1, X2) paid for a1 (NV, T1) and a4 (AZ, T2)
    "wallets_paying_in_several_states": (
        ("wallet", "n_states", "ads", "txs", "states"),
        [("W1", 2, 2, 2, ["AZ", "NV"])],
    ),
    "ads_linked_to_ad-a6": (
        ("ad", "via", "hub", "path"),
        [
            ("a3", "email", E1, f"a6 > {E1} > a3"),
            ("a5", "author", "U1", "a6 > U1 > a5"),
            ("b3", "author", "U3", "a6 > U3 > b3"),
        ],
    ),
    "ads_linked_to_ad-a1": (
        ("ad", "via", "hub", "path"),
        [
            ("a2", "phone", P1, f"a1 > {P1} > a2"),
            ("a3", "phone", P1, f"a1 > {P1} > a3"),
            ("a4", "wallet", "W1", "a1 > T1 > X1 > W1 > X2 > T2 > a4"),
        ],
    ),
    # the only 6-hop path; through the wallet it takes 10 hops
    "shortest_evidence_path-a2-a5": (
        ("hops", "path"),
        [(6, f"a2 > {P1} > a3 > {E1} > a6 > U1 > a5")],
    ),
    "shortest_evidence_path-b1-b2": (
        ("hops", "path"),
        [(2, f"b1 > {P3} > b2"), (2, "b1 > U2 > b2")],
    ),
    "shortest_evidence_path-none": (("hops", "path"), []),
    # since day 1.55: a4, a5 join O-A (a1-a3 before), b2, b3 join O-B (b1 before);
    # a6 (O-A6), c1, c2 are in groups with nothing earlier
    "new_ads_joining_owners": (
        ("ad", "posted_ts", "owner", "earlier_ads", "state", "city", "name"),
        [
            ("a4", TS["a4"], "O-A", 3, "AZ", "Phoenix", "Kandy"),
            ("a5", TS["a5"], "O-A", 3, "CA", "Los Angeles", "Amber"),
            ("b2", TS["b2"], "O-B", 1, "TX", "Houston", "Rose"),
            ("b3", TS["b3"], "O-B", 1, "TX", "Dallas", "Rose"),
        ],
    ),
    # day 0: a1, a2 (Las Vegas, Kandy + Amber); day 1: a3, a4 (Phoenix), a5 (Los Angeles)
    "owner_timeline": (
        ("day_ts", "ads", "states", "cities", "names"),
        [(T0, 2, 1, 1, 2), (T0 + DAY, 3, 2, 2, 3)],
    ),
    "top_cities_per_owner-all": (
        ("owner", "state", "city", "ads", "first_ts", "last_ts"),
        [
            ("O-A", "AZ", "Phoenix", 2, TS["a3"], TS["a4"]),
            ("O-A", "NV", "Las Vegas", 2, TS["a1"], TS["a2"]),
            ("O-B", "TX", "Houston", 2, TS["b1"], TS["b2"]),
            ("O-A", "CA", "Los Angeles", 1, TS["a5"], TS["a5"]),
            ("O-A6", "CA", "San Diego", 1, TS["a6"], TS["a6"]),
            ("O-B", "TX", "Dallas", 1, TS["b3"], TS["b3"]),
            ("O-C1", "FL", "Miami", 1, TS["c1"], TS["c1"]),
            ("O-C2", "FL", "Tampa", 1, TS["c2"], TS["c2"]),
        ],
    ),
    "top_cities_per_owner-A": (
        ("owner", "state", "city", "ads", "first_ts", "last_ts"),
        [
            ("O-A", "AZ", "Phoenix", 2, TS["a3"], TS["a4"]),
            ("O-A", "NV", "Las Vegas", 2, TS["a1"], TS["a2"]),
        ],
    ),
    # T1 (day 0.79) sent 100,000 sat to the processor Z, T2 (day 1.59) 150,000; change to X3
    # is not counted
    "payments_per_wallet": (
        ("wallet", "period_ts", "txs", "ads", "sat"),
        [("W1", T0, 1, 1, 100_000), ("W1", T0 + DAY, 1, 1, 150_000)],
    ),
    # one 7-day period (periods start at multiples of 7 days since the epoch)
    "payments_per_wallet-week": (
        ("wallet", "period_ts", "txs", "ads", "sat"),
        [("W1", 1_456_358_400, 2, 2, 250_000)],
    ),
    "owner_ads": (
        (
            "ad",
            "posted_ts",
            "state",
            "city",
            "name",
            "age",
            "title",
            "body",
            "url",
            "phones",
            "emails",
            "confidence",
            "method",
        ),  # fmt: skip
        [
            (
                "b1",
                TS["b1"],
                "TX",
                "Houston",
                "Rose",
                30,
                "Rose in Houston",
                "Rose here, call (281) 555-0123 xoxo",
                None,  # the world's ads carry no URL
                [P3],
                [],
                1.0,
                "hand",
            ),
            (
                "b2",
                TS["b2"],
                "TX",
                "Houston",
                "Rose",
                30,
                "Rose in Houston",
                "Rose here, call (281) 555-0123 xoxo",
                None,  # the world's ads carry no URL
                [P3],
                [],
                1.0,
                "hand",
            ),
            (
                "b3",
                TS["b3"],
                "TX",
                "Dallas",
                "Rose",
                30,
                "Rose in Dallas",
                "Rose here, call (281) 555-0123 xoxo",
                None,  # the world's ads carry no URL
                [P3],
                [],
                0.6,
                "hand",
            ),
        ],  # fmt: skip
    ),
    # E1 is on a3 (O-A) and on a6, which is in another group (O-A6)
    "owner_identifiers": (
        ("kind", "identifier", "ads", "ads_elsewhere", "generic", "generic_reason"),
        [
            ("phone", P1, 3, 0, False, ""),
            ("phone", P2, 2, 0, False, ""),
            ("email", E1, 1, 1, False, ""),
        ],  # fmt: skip
    ),
    "owner_service_tags": (("wallet",), []),
    # O-A: the core a4-a5 (phone P2) joined by wallet W1 (tests/test_owners_world.VIA);
    # O-B was joined by its phone alone
    "owner_soft_joins-A": (
        ("core", "via", "precision", "ads", "phones"),
        [("a4", "wallet", 0.97, 2, [P2])],
    ),
    "owner_soft_joins-B": (("core",), []),
    "owner_wallets": (
        ("wallet", "addresses", "txs", "ads", "first_ts", "last_ts"),
        [("W1", 2, 2, 2, SEEN["T1"], SEEN["T2"])],
    ),
    # identifier and author links first, then wallets (PAID_FOR 0.9 x IN_WALLET 1.0)
    "owner_evidence_links": (
        ("ad", "kind", "hub", "confidence"),
        [
            ("a1", "phone", P1, 1.0),
            ("a2", "phone", P1, 1.0),
            ("a3", "email", E1, 0.95),
            ("a3", "phone", P1, 1.0),
            ("a4", "phone", P2, 1.0),
            ("a5", "author", "U1", 0.9),
            ("a5", "phone", P2, 1.0),
            ("a1", "wallet", "W1", 0.9),
            ("a4", "wallet", "W1", 0.9),
        ],
    ),
    # groups of at least 2 ads, by score
    "top_owners": (
        (
            "owner",
            "score",
            "ads",
            "states",
            "names",
            "ads_per_day",
            "usd_spent",
            "evidence",
            "flags",
            "reasons",
        ),  # fmt: skip
        [
            (
                "O-A",
                71.5,
                5,
                3,
                3,
                2.5,
                12.5,
                "author,email,phone,wallet",
                "many states;many names",
                "3 states; 3 names",
            ),
            ("O-B", 20.0, 3, 1, 1, 1.0, 0.0, "author,phone", "", ""),
        ],  # fmt: skip
    ),
    # U1: a5 (P2), a6 (no phone); U2: b1, b2 (P3); U3: a6, b3 (P3)
    "authors_across_phones": (
        ("author", "phones", "ads", "min_confidence"),
        [("U1", 1, 2, 0.9), ("U2", 1, 2, 0.85), ("U3", 1, 2, 0.1)],
    ),
    "owner_images": (
        ("picture", "ads", "ads_elsewhere", "hashes", "generic", "generic_reason", "confidence"),
        [],
    ),
    "ads_sharing_image": (("ad", "picture", "generic", "hash", "matched_hash"), []),
}


def _normalise(v: object) -> object:
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, list):
        return sorted((_normalise(x) for x in v), key=repr)
    return v


def _answers(store: Store) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    build_world(store)
    write_owners(store)
    out = {}
    for case, name, params in CASES:
        rows = run_named(store, name, params)
        columns = tuple(rows[0]) if rows else EXPECTED[case][0]
        out[case] = (columns, [tuple(_normalise(v) for v in r.values()) for r in rows])
    return out


@pytest.fixture(scope="module")
def embedded_answers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("lib")) / "graph.lbug")
    store.init_schema()
    try:
        return _answers(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def neo4j_answers(neo4j_uri: str) -> Iterator[dict]:
    from ownergraph.store.neo4j import Neo4jStore

    store = Neo4jStore(neo4j_uri)
    store.clear()
    store.init_schema()
    try:
        yield _answers(store)
    finally:
        store.close()


def test_every_query_has_an_exact_answer():
    qs = load_queries()
    assert len(qs) >= 12
    assert {name for _, name, _ in CASES} == set(qs), "every query must have a test case"
    assert set(EXPECTED) == {case for case, _, _ in CASES}
    for q in qs.values():
        assert len(q.description) > 20, q.name


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_embedded_answer_is_exact(embedded_answers, case):
    assert embedded_answers[case] == EXPECTED[case]


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_neo4j_answer_is_exact(neo4j_answers, case):
    assert neo4j_answers[case] == EXPECTED[case]
