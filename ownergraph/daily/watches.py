"""Watches: phones, e-mails, wallets, addresses, owner groups or ads an analyst follows.

``add_watch`` stores a ``Watch`` node; with ``OWNERGRAPH_HMAC_KEY`` set, a phone, e-mail or
address is stored only as its keyed digest (``hmac-sha256:...``, the same digest
``load ads --hmac`` writes), so a watch list can be shared between organisations that
hold the key without the raw numbers. What the watch already matches when it is added is
recorded as a baseline and never reported.

``check_watches`` (run at the end of every ``ownergraph run``) finds what touches a watch
now: ads (with a watched phone or e-mail, in a watched group), transactions (spending
from or paying a watched address or wallet) and owner groups (that contain a watched
identifier, wallet, address or ad). Each hit has a key (watch, kind, subject); a key
already recorded (``WatchHit`` node) is not reported again, so a hit fires exactly once.
New hits go to the caller (console, ``--json``) and to an append-only JSON Lines log.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import phonenumbers

from ownergraph.errors import OwnergraphError
from ownergraph.loaders.identifiers import hash_identifier
from ownergraph.store.base import Store, keyed_path

KINDS = ("phone", "email", "wallet", "address", "owner", "ad")
DIGESTED = ("phone", "email", "address")  # identifiers; wallets, owners, ads are local ids
DIGEST_PREFIX = "hmac-sha256:"


class WatchError(OwnergraphError, ValueError):
    """A watch that cannot be added (names the value and the reason)."""

    exit_code = 2  # bad input, as a usage error


def normalise(kind: str, value: str, region: str = "US") -> str:
    """The form the store holds: E.164 phones, lower-cased e-mails, other values trimmed."""
    if kind not in KINDS:
        raise WatchError(f"unknown watch kind {kind!r}; use one of {', '.join(KINDS)}")
    value = value.strip()
    if not value:
        raise WatchError(f"{kind}: empty value")
    if value.startswith(DIGEST_PREFIX):
        return value  # a digest from a shared watch list
    if kind == "phone":
        try:
            num = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException as exc:
            raise WatchError(f"phone {value!r}: not a phone number ({exc})") from None
        if not phonenumbers.is_possible_number(num):
            raise WatchError(f"phone {value!r}: not a possible phone number")
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if kind == "email":
        if "@" not in value:
            raise WatchError(f"email {value!r}: no @")
        return value.lower()
    return value


def _digest(value: str, key: bytes | None) -> str:
    if value.startswith(DIGEST_PREFIX) or key is None:
        return value
    return hash_identifier(value, key)


@dataclass
class Watch:
    id: str
    kind: str
    value: str
    digest: bool
    note: str
    created_ts: int
    who: str


def watch_id(kind: str, value: str) -> str:
    return "W-" + hashlib.sha1(f"{kind}|{value}".encode()).hexdigest()[:10]


def add_watch(
    store: Store,
    kind: str,
    value: str,
    *,
    note: str = "",
    hmac_key: bytes | None = None,
    who: str = "",
    region: str = "US",
) -> tuple[Watch, int]:
    """Add (or update the note of) a watch; returns it and how many current matches were
    recorded as its baseline (not reported)."""
    norm = normalise(kind, value, region)
    stored = _digest(norm, hmac_key) if kind in DIGESTED else norm
    w = Watch(
        id=watch_id(kind, stored),
        kind=kind,
        value=stored,
        digest=stored.startswith(DIGEST_PREFIX),
        note=note,
        created_ts=int(time.time()),
        who=who,
    )
    store.upsert_nodes("Watch", [asdict(w)])
    found = _matches(store, [w], hmac_key)
    _record(store, found, run="", baseline=True)
    return w, len(found)


def list_watches(store: Store) -> list[Watch]:
    rows = store.query(
        "MATCH (w:Watch) RETURN w.id AS id, w.kind AS kind, w.value AS value, "
        "w.digest AS digest, w.note AS note, w.created_ts AS created_ts, w.who AS who "
        "ORDER BY w.created_ts, w.id"
    )
    return [Watch(**{**r, "note": r["note"] or "", "who": r["who"] or ""}) for r in rows]


def remove_watch(store: Store, ref: str, hmac_key: bytes | None = None) -> int:
    """Remove a watch by id (``W-...``) or by value; returns how many were removed."""
    ids = [w.id for w in list_watches(store) if ref in (w.id, w.value)]
    if not ids and hmac_key and not ref.startswith(("W-", DIGEST_PREFIX)):
        ids = [w.id for w in list_watches(store) if w.value == _digest(ref.strip(), hmac_key)]
    store.delete_keys("Watch", ids)
    return len(ids)


# -- matching -------------------------------------------------------------------------


def _resolve(store: Store, label: str, key: str, watched: dict[str, Watch], key_b: bytes | None):
    """Map stored values of ``label`` to the watches they match (digests compared keyed)."""
    plain = {v: w for v, w in watched.items() if not v.startswith(DIGEST_PREFIX)}
    out = {v: w for v, w in plain.items()}
    digests = {v: w for v, w in watched.items() if v.startswith(DIGEST_PREFIX)}
    if digests:
        rows = store.query(f"MATCH (n:{label}) RETURN n.{key} AS v")
        for r in rows:
            v = r["v"]
            d = v if v.startswith(DIGEST_PREFIX) else (_digest(v, key_b) if key_b else None)
            if d in digests:
                out[v] = digests[d]
    return out


def _matches(store: Store, watches: list[Watch], key: bytes | None) -> list[dict[str, Any]]:
    """Every (watch, kind, subject, owner) the watches match now."""
    by_kind: dict[str, dict[str, Watch]] = {k: {} for k in KINDS}
    for w in watches:
        by_kind[w.kind][w.value] = w
    hits: list[dict[str, Any]] = []

    def add(w: Watch, kind: str, subject: str, owner: str | None) -> None:
        hits.append({"watch": w, "kind": kind, "subject": subject, "owner": owner})

    for kind, label, rel, prop in (
        ("phone", "Phone", "HAS_PHONE", "number"),
        ("email", "Email", "HAS_EMAIL", "address"),
    ):
        if not by_kind[kind]:
            continue
        values = _resolve(store, label, prop, by_kind[kind], key)
        rows = store.query(
            keyed_path(
                f"(x:{label} {{{prop}: k}})",
                f"(a:Ad)-[:{rel}]->(x)",
                "OPTIONAL MATCH (a)-[:BELONGS_TO]->(o:Owner) "
                f"RETURN a.id AS ad, x.{prop} AS v, o.id AS owner",
                bound="a",
            ),
            {"ids": list(values)},
        )
        for r in rows:
            add(values[r["v"]], "ad", r["ad"], r["owner"])
            if r["owner"]:
                add(values[r["v"]], "group", r["owner"], r["owner"])
    addr = _resolve(store, "Address", "address", by_kind["address"], key)
    if by_kind["wallet"]:
        rows = store.query(
            keyed_path(
                "(w:Wallet {id: k})",
                "(x:Address)-[:IN_WALLET]->(w)",
                "RETURN x.address AS a, w.id AS w",
                bound="x",
            ),
            {"ids": list(by_kind["wallet"])},
        )
        for r in rows:
            addr.setdefault(r["a"], by_kind["wallet"][r["w"]])
    if addr:
        for path in ("(x)-[:SPENT_IN]->(t:Tx)", "(t:Tx)-[:PAYS]->(x)"):
            rows = store.query(
                keyed_path(
                    "(x:Address {address: k})",
                    path,
                    "OPTIONAL MATCH (t)-[:PAID_FOR]->(:Ad)-[:BELONGS_TO]->(o:Owner) "
                    "RETURN DISTINCT x.address AS v, t.txid AS tx, o.id AS owner",
                    bound="t",
                ),
                {"ids": list(addr)},
            )
            for r in rows:
                add(addr[r["v"]], "tx", r["tx"], r["owner"])
                if r["owner"]:
                    add(addr[r["v"]], "group", r["owner"], r["owner"])
    # an owner watch hits the group's ads; an ad watch hits the ad's group
    for kind, anchor, path, bound in (
        ("owner", "(o:Owner {id: k})", "(a:Ad)-[:BELONGS_TO]->(o)", "a"),
        ("ad", "(a:Ad {id: k})", "(a)-[:BELONGS_TO]->(o:Owner)", "o"),
    ):
        if not by_kind[kind]:
            continue
        ret = "RETURN a.id AS ad, o.id AS owner"
        q = keyed_path(anchor, path, ret, bound=bound)
        for r in store.query(q, {"ids": list(by_kind[kind])}):
            if kind == "owner":
                add(by_kind["owner"][r["owner"]], "ad", r["ad"], r["owner"])
            else:
                add(by_kind["ad"][r["ad"]], "group", r["owner"], r["owner"])
    seen: dict[str, dict[str, Any]] = {}
    for h in hits:
        h["id"] = hit_id(h["watch"].id, h["kind"], h["subject"])
        seen.setdefault(h["id"], h)
    return list(seen.values())


def hit_id(watch: str, kind: str, subject: str) -> str:
    return "H-" + hashlib.sha1(f"{watch}|{kind}|{subject}".encode()).hexdigest()[:16]


def _record(store: Store, hits: list[dict[str, Any]], run: str, baseline: bool) -> None:
    if not hits:
        return
    now = int(time.time())
    store.upsert_nodes(
        "WatchHit",
        [
            {
                "id": h["id"],
                "watch": h["watch"].id,
                "run": run,
                "ts": now,
                "kind": h["kind"],
                "subject": h["subject"],
                "owner": h["owner"],
                "baseline": baseline,
            }
            for h in hits
        ],
    )


def check_watches(
    store: Store,
    run_id: str = "",
    *,
    hmac_key: bytes | None = None,
    alert_log: str | Path | None = None,
) -> list[dict[str, Any]]:
    """New hits of every watch (each reported once, ever); appended to ``alert_log``."""
    watches = list_watches(store)
    if not watches:
        return []
    found = _matches(store, watches, hmac_key)
    known = set()
    ids = [h["id"] for h in found]
    for i in range(0, len(ids), 20_000):
        rows = store.query(
            "UNWIND $ids AS k MATCH (h:WatchHit {id: k}) RETURN h.id AS id",
            {"ids": ids[i : i + 20_000]},
        )
        known |= {r["id"] for r in rows}
    new = [h for h in found if h["id"] not in known]
    _record(store, new, run_id, baseline=False)
    now = int(time.time())
    alerts = [
        {
            "ts": now,
            "run": run_id,
            "watch": h["watch"].id,
            "watch_kind": h["watch"].kind,
            "value": h["watch"].value,
            "note": h["watch"].note,
            "hit": h["kind"],
            "subject": h["subject"],
            "owner": h["owner"],
        }
        for h in sorted(new, key=lambda h: (h["watch"].id, h["kind"], h["subject"]))
    ]
    if alert_log and alerts:
        path = Path(alert_log)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            for a in alerts:
                f.write(json.dumps(a, sort_keys=True) + "\n")
    return alerts
