"""Stable owner ids across runs, and the history of which ids became which.

After a run has partitioned the ads into groups, :func:`stable_ids` renames the groups:
a group keeps the id of an earlier group when it holds more than half of that group's
ads (a strict majority, so at most one new group can keep an id; a group that could keep
several keeps the one it shares most ads with, ties to the smaller id). Any other group
gets a fresh id: ``O-`` + SHA-1 of its smallest ad id (as before), or, when that id was
ever used, of the smallest ad id and the run id. Every earlier group whose ads went
elsewhere is recorded as an ``OwnerChange``: ``merged`` (into a group that kept another
earlier id), ``became`` (its ads, most of them, are now under a fresh id), or ``split``
(part of its ads are now in another group).
"""

from __future__ import annotations

import hashlib
import time

import pandas as pd

from ownergraph.store.base import Store, keyed_path
from ownergraph.store.schema import SCHEMA

KINDS = ("merged", "became", "split")


def previous_owners(store: Store, ads: list[str] | None = None) -> pd.DataFrame:
    """Columns ad, owner, since_run of the groups in the store (for ``ads`` only if given)."""
    ret = "RETURN a.id AS ad, o.id AS owner, o.since_run AS since_run"
    if ads is None:
        rows = store.query(f"MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner) {ret}")
    else:  # a key lookup per ad: ``WHERE a.id IN $ads`` tests every ad against the list
        q = keyed_path("(a:Ad {id: k})", "(a)-[:BELONGS_TO]->(o:Owner)", ret, bound="o")
        return store.query_keyed(q, ads, ["ad", "owner", "since_run"])
    return pd.DataFrame(rows, columns=["ad", "owner", "since_run"])


def group_sizes(store: Store, owner_ids: list[str]) -> pd.Series:
    """Ads per stored owner group, for the given ids."""
    cols = SCHEMA.node("Owner").returns(("id", "ads"), "o")
    rows = store.query(
        f"UNWIND $ids AS k MATCH (o:Owner {{id: k}}) RETURN {cols}", {"ids": owner_ids}
    )
    return pd.Series({r["id"]: int(r["ads"]) for r in rows}, dtype="int64")


def used_ids(store: Store) -> set[str]:
    """Every owner id in the store now or in its history."""
    now = store.query_frame("MATCH (o:Owner) RETURN o.id AS id", ["id"])["id"]
    hist = store.query_frame(
        "MATCH (c:OwnerChange) RETURN c.old_id AS a, c.new_id AS b", ["a", "b"]
    )
    return set(now) | set(hist["a"]) | set(hist["b"])


def _fresh(anchor: str, run_id: str, used: set[str]) -> str:
    oid = "O-" + hashlib.sha1(str(anchor).encode("utf-8")).hexdigest()[:10]
    salt = 0
    while oid in used:
        key = f"{anchor}|{run_id}|{salt}"
        oid = "O-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
        salt += 1
    return oid


def stable_ids(
    assigned: pd.DataFrame,
    previous: pd.DataFrame,
    *,
    run_id: str = "",
    used: set[str] | None = None,
    old_sizes: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Final ids for the groups of ``assigned`` (ad, owner: provisional group ids).

    ``previous``: ad, owner, since_run of the earlier result; ``old_sizes``: ads per earlier
    group (default: counted in ``previous``); ``used``: ids never to hand out again.
    Returns (final id per provisional id, since_run per final id, OwnerChange rows).
    """
    used = set(used or ()) | set(previous["owner"].dropna())
    groups = assigned.groupby("owner")["ad"]
    anchor = groups.min()
    new_sizes = groups.size()
    sizes = old_sizes if old_sizes is not None else previous.groupby("owner").size()
    since_old = previous.drop_duplicates("owner").set_index("owner")["since_run"]
    both = assigned[["ad", "owner"]].merge(
        previous[["ad", "owner"]].rename(columns={"owner": "old"}), on="ad"
    )
    shared = both.groupby(["owner", "old"]).size().rename("shared").reset_index()
    shared["old_ads"] = sizes.reindex(shared["old"]).to_numpy()
    keep = shared[shared["shared"] * 2 > shared["old_ads"]]
    keep = keep.sort_values(["owner", "shared", "old"], ascending=[True, False, True])
    keep = keep.drop_duplicates("owner")
    # dicts, not Series, while growing: a Series grows by copying (quadratic at 50k groups)
    ids: dict[str, str] = dict(zip(keep["owner"], keep["old"], strict=True))
    taken = set(ids.values())
    since: dict[str, str] = {o: since_old.get(o) or run_id for o in ids.values()}
    avoid = used | taken
    for prov, first_ad in anchor.items():
        if prov in ids:
            continue
        oid = _fresh(first_ad, run_id, avoid)
        taken.add(oid)
        avoid.add(oid)
        ids[prov] = oid
        since[oid] = run_id
    final = pd.Series(ids, dtype=object)
    now = int(time.time())
    shared["new_id"] = final.reindex(shared["owner"]).to_numpy()
    shared["new_ads"] = new_sizes.reindex(shared["owner"]).to_numpy()
    moved = shared[shared["new_id"] != shared["old"]].copy()
    most = shared.sort_values(["old", "shared", "new_id"], ascending=[True, False, True])
    most = most.drop_duplicates("old").set_index("old")["new_id"]
    rows = []
    old_ids = set(previous["owner"])
    for r in moved.itertuples(index=False):
        if r.old in taken:
            kind = "split"
        elif most.get(r.old) == r.new_id:
            kind = "merged" if r.new_id in old_ids else "became"
        else:
            kind = "split"
        rows.append(
            {
                "id": f"{run_id}:{r.old}>{r.new_id}",
                "run": run_id,
                "ts": now,
                "kind": kind,
                "old_id": r.old,
                "new_id": r.new_id,
                "shared": int(r.shared),
                "old_ads": int(r.old_ads),
                "new_ads": int(r.new_ads),
            }
        )
    history = pd.DataFrame(
        rows,
        columns=["id", "run", "ts", "kind", "old_id", "new_id", "shared", "old_ads", "new_ads"],
    )
    return final, pd.Series(since, dtype=object), history


def owner_history(store: Store, owner_id: str) -> list[dict]:
    """The recorded changes that led to or from ``owner_id``, oldest first."""
    return store.query(
        "MATCH (c:OwnerChange) WHERE c.old_id = $id OR c.new_id = $id "
        "RETURN c.run AS run, c.ts AS ts, c.kind AS kind, c.old_id AS old_id, "
        "c.new_id AS new_id, c.shared AS shared, c.old_ads AS old_ads, c.new_ads AS new_ads "
        "ORDER BY c.ts, c.id",
        {"id": owner_id},
    )
