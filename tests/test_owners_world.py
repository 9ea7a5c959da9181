"""A small hand-built world with every kind of evidence, written the same way to any store.

Owner A (an "operation"): ads a1..a6 in NV, AZ and CA under three names. Phone P1 joins
a1-a3, e-mail E1 joins a3 and a6, phone P2 joins a4-a5; wallet W1 (addresses X1, X2)
paid for a1 and a4; author U1 wrote a5 and a6. Hard identifiers alone split A in two
({a1, a2, a3, a6} and {a4, a5}); all evidence joins it.
Owner B: b1..b3 share phone P3; author U2 wrote b1 and b2.
A wrong stylometric link: author U3 (confidence 0.1) joins a6 and b3.
c1 has no evidence; c2 has a phone nobody else uses.
Processor address Z receives the ad payments (T1 and T2 also send change to X3).

``write_owners`` adds a hand-set grouping (not the truth: a6 stands alone in O-A6, so an
identifier is shared across groups) for the query tests, independent of owner detection.
"""

from __future__ import annotations

from ownergraph.store.base import Store

DAY = 86_400
T0 = 1_456_790_400  # 2016-03-01T00:00:00Z

ADS = [
    # id, day offset (+ hour), state, city, name, age
    ("a1", 0.80, "NV", "Las Vegas", "Kandy", 22),
    ("a2", 0.90, "NV", "Las Vegas", "Amber", 24),
    ("a3", 1.50, "AZ", "Phoenix", "Jade", 21),
    ("a4", 1.60, "AZ", "Phoenix", "Kandy", 22),
    ("a5", 1.70, "CA", "Los Angeles", "Amber", 24),
    ("a6", 3.20, "CA", "San Diego", "Jade", 21),
    ("b1", 0.50, "TX", "Houston", "Rose", 30),
    ("b2", 2.50, "TX", "Houston", "Rose", 30),
    ("b3", 4.50, "TX", "Dallas", "Rose", 30),
    ("c1", 2.10, "FL", "Miami", "Lily", 25),
    ("c2", 5.10, "FL", "Tampa", "Sky", 27),
]
# Owners the world was built with (the truth for tests).
TRUTH = {
    **{a: "A" for a in ("a1", "a2", "a3", "a4", "a5", "a6")},
    **{b: "B" for b in ("b1", "b2", "b3")},
    "c1": "C1",
    "c2": "C2",
}
PHONES = {
    "+17025550147": ["a1", "a2", "a3"],
    "+16025550199": ["a4", "a5"],
    "+12815550123": ["b1", "b2", "b3"],
    "+13055550111": ["c2"],
}
EMAILS = {"kandy.vip@example.com": ["a3", "a6"]}
AUTHORS = {"U1": (["a5", "a6"], 0.9), "U2": (["b1", "b2"], 0.85), "U3": (["a6", "b3"], 0.1)}
# txid -> (ad paid, input address, first-seen offset in days, sat to processor)
TXS = {"T1": ("a1", "X1", 0.79, 100_000), "T2": ("a4", "X2", 1.59, 150_000)}


def build_world(store: Store) -> None:
    """Write the world into a store with an initialised schema."""
    store.upsert_nodes(
        "Ad",
        [
            {
                "id": i,
                "posted_ts": int(T0 + off * DAY),
                "state": st,
                "city": city,
                "name": name,
                "age": age,
                "title": f"{name} in {city}",
                "body": f"{name} here, call {_phone_of(i) or 'me'} xoxo",
                "category": "escorts",
                "post_kind": "post",
                "sponsored": False,
                "n_locations": 1,
            }
            for i, off, st, city, name, age in ADS
        ],
    )
    store.upsert_nodes(
        "Location", [{"key": f"{s}|{c}", "state": s, "city": c} for _, _, s, c, _, _ in ADS]
    )
    store.upsert_edges("POSTED_IN", [{"src": i, "dst": f"{s}|{c}"} for i, _, s, c, _, _ in ADS])
    store.upsert_nodes("Phone", [{"number": p, "region": "US"} for p in PHONES])
    store.upsert_edges(
        "HAS_PHONE",
        [
            {"src": a, "dst": p, "method": "plain", "confidence": 1.0}
            for p, ads in PHONES.items()
            for a in ads
        ],
    )
    store.upsert_nodes("Email", [{"address": e} for e in EMAILS])
    store.upsert_edges(
        "HAS_EMAIL",
        [
            {"src": a, "dst": e, "method": "plain", "confidence": 0.95}
            for e, ads in EMAILS.items()
            for a in ads
        ],
    )
    store.upsert_nodes(
        "Author", [{"id": u, "size": len(v[0]), "model": "test"} for u, v in AUTHORS.items()]
    )
    store.upsert_edges(
        "WRITTEN_BY",
        [
            {"src": a, "dst": u, "p": c, "method": "stylometry", "confidence": c}
            for u, (ads, c) in AUTHORS.items()
            for a in ads
        ],
    )
    store.upsert_nodes(
        "Address",
        [{"address": x, "processor": False} for x in ("X1", "X2", "X3")]
        + [{"address": "Z", "processor": True}],
    )
    store.upsert_nodes("Wallet", [{"id": "W1", "size": 2, "method": "multi-input"}])
    store.upsert_edges(
        "IN_WALLET",
        [{"src": x, "dst": "W1", "method": "multi-input", "confidence": 1.0} for x in ("X1", "X2")],
    )
    store.upsert_nodes(
        "Tx",
        [
            {
                "txid": t,
                "first_seen_ts": int(T0 + off * DAY),
                "block_ts": int(T0 + off * DAY) + 600,
                "n_inputs": 1,
                "n_outputs": 2,
                "coinjoin": False,
            }
            for t, (_, _, off, _) in TXS.items()
        ],
    )
    store.upsert_edges(
        "SPENT_IN",
        [{"src": x, "dst": t, "sat": sat + 50_000, "vin": 0} for t, (_, x, _, sat) in TXS.items()],
    )
    store.upsert_edges(
        "PAYS",
        [{"src": t, "dst": "Z", "sat": sat, "vout": 0} for t, (_, _, _, sat) in TXS.items()]
        + [{"src": t, "dst": "X3", "sat": 40_000, "vout": 1} for t in TXS],
    )
    store.upsert_edges(
        "PAID_FOR",
        [
            {
                "src": t,
                "dst": ad,
                "lag_s": 60,
                "usd_error": 0.01,
                "candidates": 1,
                "ambiguous": False,
                "method": "mempool-time+amount",
                "confidence": 0.9,
            }
            for t, (ad, _, _, _) in TXS.items()
        ],
    )


def _phone_of(ad: str) -> str | None:
    for p, ads in PHONES.items():
        if ad in ads:
            return f"({p[2:5]}) {p[5:8]}-{p[8:]}"
    return None


# A hand-set owner grouping: owner id -> (ads, membership confidence of each ad).
OWNERS = {
    "O-A": (["a1", "a2", "a3", "a4", "a5"], [1.0, 1.0, 1.0, 0.9, 0.8]),
    "O-A6": (["a6"], [1.0]),
    "O-B": (["b1", "b2", "b3"], [1.0, 1.0, 0.6]),
    "O-C1": (["c1"], [1.0]),
    "O-C2": (["c2"], [1.0]),
}
# Stored indicators (what top_owners and owners_spanning_states read back).
OWNER_PROPS = {
    "O-A": {"ads": 5, "states": 3, "names": 3, "ads_per_day": 2.5, "usd_spent": 12.5,
            "evidence": "author,email,phone,wallet", "score": 71.5,
            "flags": "many states;many names", "reasons": "3 states; 3 names"},
    "O-B": {"ads": 3, "states": 1, "names": 1, "ads_per_day": 1.0, "usd_spent": 0.0,
            "evidence": "author,phone", "score": 20.0, "flags": "", "reasons": ""},
}  # fmt: skip


# How each ad joined its hand-set group (BELONGS_TO core / via / precision): in O-A the
# core a4-a5 (phone P2) was joined to a1-a3 by wallet W1, with a measured precision 0.97.
VIA = {"a4": ("a4", "wallet", 0.97), "a5": ("a4", "wallet", 0.97)}


def write_owners(store: Store) -> None:
    """Write the hand-set grouping ``OWNERS`` (after ``build_world``)."""
    store.upsert_nodes(
        "Owner",
        [
            {"id": o, "method": "hand", **OWNER_PROPS.get(o, {"ads": len(ads), "score": 5.0})}
            for o, (ads, _) in OWNERS.items()
        ],
    )
    store.upsert_edges(
        "BELONGS_TO",
        [
            {"src": a, "dst": o, "method": "hand", "confidence": c}
            | dict(
                zip(
                    ("core", "via", "precision"),
                    VIA.get(a, (ads[0], "identifiers", 1.0)),
                    strict=True,
                )
            )  # fmt: skip
            for o, (ads, conf) in OWNERS.items()
            for a, c in zip(ads, conf, strict=True)
        ],
    )
