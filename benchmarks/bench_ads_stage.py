"""The ads stage (``ownergraph.stages.ads.load_ad_files``, as ``ownergraph run`` calls it)
with records parsed in one process vs in worker processes, side by side in one run.

    python benchmarks/bench_ads_stage.py --ads-file WORLD/ads.jsonl --ads 100000 300000 \\
        --workers 1 2 --work /tmp/bench_ads

For each size (the first N records of the file) and each worker count, a fresh process
loads a fresh embedded store and reports: wall seconds of the load, CPU seconds of the
process and its workers, peak resident memory of the process tree during the load
(sampled every 0.2 s),
ads/s, and a digest of every node and edge written with every property (equal digests:
the same graph), taken after the timing. The ratio is against the first worker count given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rss import tree_rss  # noqa: E402


def graph_digest(store) -> str:  # noqa: ANN001
    """sha256 of every node and edge of every type with every property, sorted."""
    from ownergraph.store.schema import SCHEMA

    h = hashlib.sha256()
    for n in SCHEMA.nodes:
        if n.label == "Run":
            continue
        props = [p for p in n.prop_names if p != "run"]
        cols = ", ".join(f"n.{p} AS {p}" for p in props)
        rows = store.query(f"MATCH (n:{n.label}) RETURN {cols}")
        for r in sorted(repr(tuple(r[p] for p in props)) for r in rows):
            h.update(r.encode("utf-8", "backslashreplace"))
    for r in SCHEMA.rels:
        src, dst = SCHEMA.node(r.src).key, SCHEMA.node(r.dst).key
        props = [p for p in r.prop_names if p != "run"]
        cols = "".join(f", e.{p} AS {p}" for p in props)
        q = f"MATCH (a:{r.src})-[e:{r.type}]->(b:{r.dst}) RETURN a.{src} AS s, b.{dst} AS d{cols}"
        for x in sorted(repr((x["s"], x["d"], *(x[p] for p in props))) for x in store.query(q)):
            h.update(x.encode("utf-8", "backslashreplace"))
    return h.hexdigest()[:16]


def child(path: str, work: str, workers: int, digest: bool = True) -> None:
    """One load in this process; prints its figures as JSON."""
    from joblib.executor import get_memmapping_executor

    from ownergraph.loaders.quarantine import Quarantine
    from ownergraph.stages.ads import AdFile, load_ad_files
    from ownergraph.store.embedded import EmbeddedStore

    store = EmbeddedStore(Path(work) / "graph.lbug")
    store.init_schema()
    peak, stop = [tree_rss(os.getpid())], threading.Event()

    def sample() -> None:  # the load's peak (not the digest's below)
        while not stop.wait(0.2):
            peak[0] = max(peak[0], tree_rss(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    with Quarantine(Path(work) / "quarantine" / "ads.jsonl") as q:
        s = load_ad_files(store, [AdFile(path)], quarantine=q, workers=workers)
    wall = time.perf_counter() - t
    stop.set()
    sampler.join()
    get_memmapping_executor(2).shutdown(wait=True)  # reaps the workers: their CPU is counted
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    counts = {k: getattr(s, k) for k in ("read", "loaded", "quarantined", "phones", "emails")}
    out = {"wall": wall, "cpu": cpu, "peak_rss": max(peak[0], tree_rss(os.getpid())), **counts}
    print(json.dumps(out | {"digest": graph_digest(store) if digest else "-"}))


def run(path: Path, work: Path, workers: int, digest: bool) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--child", str(path), str(work), str(workers)]
    cmd += [] if digest else ["--no-digest"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"load failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def head(src: Path, n: int, dst: Path) -> Path:
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        for k, line in enumerate(fi):
            if k == n:
                break
            fo.write(line)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ads-file", type=Path)
    ap.add_argument("--ads", type=int, nargs="+", default=[100_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_ads_stage"))
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--no-digest", action="store_true", help="skip the graph digest (1M)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], int(a.child[2]), not a.no_digest)
        return
    a.work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in a.ads:
        path = head(a.ads_file, n, a.work / f"ads{n}.jsonl")
        base = None
        for w in a.workers:
            load = os.getloadavg()[0]
            r = run(path, a.work / f"w{w}", w, not a.no_digest)
            r |= {"ads": n, "workers": w, "load_before": load}
            r["load_after"] = os.getloadavg()[0]
            base = base or r
            results.append(r)
            same = "same graph" if r["digest"] == base["digest"] else "GRAPH DIFFERS"
            print(
                f"{n:>9,} ads  workers {w}: {r['wall']:7.1f} s wall  {r['cpu']:7.1f} CPU-s  "
                f"{r['peak_rss'] / 1e9:5.2f} GB peak  {r['loaded'] / r['wall']:7,.0f} ads/s  "
                f"x{base['wall'] / r['wall']:.2f} vs {base['workers']}  {same} "
                f"({r['digest']})  load {load:.1f} -> {r['load_after']:.1f}",
                flush=True,
            )
        (a.work / f"ads{n}.jsonl").unlink()
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
