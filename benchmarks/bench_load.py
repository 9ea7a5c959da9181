"""Write paths side by side: bulk, batched UNWIND, and row-at-a-time, on both stores.

    python benchmarks/bench_load.py                 # N = 100k ads
    python benchmarks/bench_load.py --ads 1000000   # 1M
    NEO4J_URI=bolt://127.0.0.1:7687 python benchmarks/bench_load.py

Prints rows/s for each path and the ratios, measured in one run on the same rows.
Row-at-a-time is measured on a sample (it is too slow for N) and reported per row.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from ownergraph.store.base import node_frame
from ownergraph.store.embedded import EmbeddedStore
from ownergraph.store.schema import SCHEMA

WORDS = (
    "new in town sweet upscale discreet real pics incall outcall available now "
    "special tonight visiting only petite curvy friendly clean fun no games text"
).split()
STATES = ["CA", "NV", "TX", "FL", "NY", "GA", "AZ", "IL", "WA", "OR"]


def make_ads(n: int, seed: int = 7) -> pd.DataFrame:
    rng = random.Random(seed)
    t0 = 1_451_606_400
    rows = []
    for i in range(n):
        words = rng.choices(WORDS, k=rng.randint(20, 60))
        rows.append(
            {
                "id": f"ad{i:08d}",
                "site": "bench",
                "posted_ts": t0 + rng.randint(0, 3e7),
                "title": " ".join(words[:6]).title(),
                "body": " ".join(words),
                "state": rng.choice(STATES),
                "city": f"city{rng.randint(0, 300)}",
                "category": "escorts",
                "name": rng.choice(["Kandy", "Jade", "Rose"]),
                "age": rng.randint(18, 40),
                "post_kind": "post",
                "sponsored": False,
                "n_locations": 1,
            }
        )
    return node_frame(SCHEMA.node("Ad"), pd.DataFrame(rows))


def records(df: pd.DataFrame) -> list[dict]:
    obj = df.astype(object)
    return obj.where(obj.notna(), None).to_dict("records")


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def bench_embedded(df: pd.DataFrame, sample: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp())
    out = {}
    try:
        s = EmbeddedStore(tmp / "bulk.lbug")
        s.init_schema()
        t = time.perf_counter()
        s.upsert_nodes("Ad", df)  # COPY from Arrow
        out["bulk"] = rate(len(df), time.perf_counter() - t)
        t = time.perf_counter()
        s.upsert_nodes("Ad", df)  # idempotent re-load: lookup + compare, nothing written
        out["reload"] = rate(len(df), time.perf_counter() - t)
        s.close()

        s = EmbeddedStore(tmp / "unwind.lbug")
        s.init_schema()
        part = records(df.iloc[: min(len(df), sample * 5)])
        cols = ", ".join(f"n.{c} = r.{c}" for c in df.columns if c != "id")
        q = f"UNWIND $rows AS r MERGE (n:Ad {{id: r.id}}) SET {cols}"
        t = time.perf_counter()
        for i in range(0, len(part), 10_000):
            s.query(q, {"rows": part[i : i + 10_000]}, write=True)
        out["unwind"] = rate(len(part), time.perf_counter() - t)

        single = records(df.iloc[-sample:])
        q1 = f"MERGE (n:Ad {{id: $r.id}}) SET {cols.replace('r.', '$r.')}"
        t = time.perf_counter()
        for r in single:
            s.query(q1, {"r": r}, write=True)
        out["row"] = rate(len(single), time.perf_counter() - t)
        s.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def bench_neo4j(df: pd.DataFrame, uri: str, sample: int) -> dict[str, float]:
    from ownergraph.store.neo4j import Neo4jStore

    s = Neo4jStore(uri)
    while s.query("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c", write=True)[
        0
    ]["c"]:
        pass
    s.init_schema()
    out = {}
    t = time.perf_counter()
    s.upsert_nodes("Ad", df)  # UNWIND $rows MERGE, 10k per managed transaction
    out["unwind"] = rate(len(df), time.perf_counter() - t)
    single = records(df.iloc[-sample:].assign(id=lambda d: "r" + d["id"]))
    t = time.perf_counter()
    for r in single:  # one auto-commit transaction per row: the naive way
        s.query("MERGE (n:Ad {id: $r.id}) SET n += $r", {"r": r}, write=True)
    out["row"] = rate(len(single), time.perf_counter() - t)
    while s.query("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c", write=True)[
        0
    ]["c"]:
        pass
    s.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ads", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=2_000, help="rows for row-at-a-time")
    ap.add_argument("--neo4j", default=os.environ.get("NEO4J_URI"))
    a = ap.parse_args()
    df = make_ads(a.ads)
    print(f"{len(df):,} ads, {len(df.columns)} properties each")
    e = bench_embedded(df, a.sample)
    print(f"embedded  bulk COPY          {e['bulk']:>12,.0f} ads/s")
    print(f"embedded  re-load (no-op)    {e['reload']:>12,.0f} ads/s")
    print(
        f"embedded  UNWIND MERGE       {e['unwind']:>12,.0f} ads/s  "
        f"(bulk is {e['bulk'] / e['unwind']:.0f}x faster)"
    )
    print(
        f"embedded  row-at-a-time      {e['row']:>12,.0f} ads/s  "
        f"(bulk is {e['bulk'] / e['row']:.0f}x faster)"
    )
    if a.neo4j:
        n = bench_neo4j(df, a.neo4j, a.sample)
        print(f"neo4j     UNWIND batches     {n['unwind']:>12,.0f} ads/s")
        print(
            f"neo4j     row-at-a-time      {n['row']:>12,.0f} ads/s  "
            f"(batched is {n['unwind'] / n['row']:.0f}x faster)"
        )
    else:
        print("neo4j: skipped (set NEO4J_URI or pass --neo4j)")


if __name__ == "__main__":
    main()
