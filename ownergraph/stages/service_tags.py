"""Service tags in the graph: Service nodes, TAGGED edges, and the services a group touched.

``write_tags`` writes the rows of ``ownergraph.loaders.tags.read_tags``: one ``Service``
per actor (else per label), one ``TAGGED`` edge per (address, service) with the tag's
``source``, GraphSense ``level``, ``cluster_definer``, ``pack``, and the provenance
``method`` (``"tag:<pack>"``) and ``confidence``. Loading the same tags twice leaves the
graph unchanged; an address not yet in the graph gets its Address node.

``owner_service_tags(store, owner_id)`` lists the tagged services one owner group's
wallets paid or received from (the named query ``owner_service_tags``), one row per
wallet, direction, service and tag: ``wallet, direction ("paid" / "received from"),
service, category, source, confidence, via ("address tag", or "wallet of a tagged
address" when a cluster-defining tag names the counterparty's wallet), txs, sat,
first_ts``. This is what ``owners show`` prints and what the case report should show.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ownergraph.store.base import Store


def service_id(actor: str | None, label: str) -> str:
    """A Service key: ``svc:`` + the actor, else the label, lower-case and dashed."""
    base = actor if isinstance(actor, str) and actor else label
    return "svc:" + re.sub(r"[^a-z0-9.]+", "-", base.lower()).strip("-")


def write_tags(store: Store, tags: pd.DataFrame) -> dict[str, int]:
    """Write Service nodes, Address nodes for the tagged addresses, and TAGGED edges."""
    if tags.empty:
        return {"Service": 0, "Address": 0, "TAGGED": 0}
    ids = [service_id(a, lbl) for a, lbl in zip(tags["actor"], tags["label"], strict=True)]
    tags = tags.assign(service=ids)
    services = (
        tags.groupby("service", sort=True)
        .agg(label=("label", "first"), category=("category", "first"))
        .reset_index()
        .rename(columns={"service": "id"})
    )
    edges = pd.DataFrame(
        {
            "src": tags["address"],
            "dst": tags["service"],
            "source": tags["source"],
            "level": tags["confidence_level"],
            "cluster_definer": tags["cluster_definer"].astype(bool),
            "pack": tags["pack"],
            "method": "tag:" + tags["pack"].astype(str),
            "confidence": tags["confidence"].astype(float),
        }
    )
    # one edge per (address, service): the most confident tag wins
    edges = edges.sort_values("confidence", ascending=False).drop_duplicates(["src", "dst"])
    addresses = pd.DataFrame({"address": sorted(set(edges["src"]))})
    return {
        "Service": store.upsert_nodes("Service", services),
        "Address": store.upsert_nodes("Address", addresses),
        "TAGGED": store.upsert_edges("TAGGED", edges.sort_values(["src", "dst"])),
    }


def owner_service_tags(store: Store, owner_id: str) -> list[dict[str, Any]]:
    """Tagged services one owner group's wallets paid or received from (see module doc),
    most transactions first."""
    from ownergraph.queries.registry import run_named

    rows = run_named(store, "owner_service_tags", {"owner_id": owner_id})
    for r in rows:  # LadybugDB sums INT64 into a wider type
        r["sat"] = int(r["sat"]) if r["sat"] is not None else None
    return sorted(
        rows,
        key=lambda r: (-(r["txs"] or 0), r["wallet"], r["direction"], r["service"] or ""),
    )
