"""Bitcoin load speed: parse + load into the graph, this checkout beside a baseline commit.

For each input (the real blocks 413567 and 702861 from ../shared/data, loaded with
``--no-verify-merkle`` since 413567's copy fails its merkle check, and a synthetic chain in
``blk*.dat`` format, ``benchmarks/synth_raw_chain.py``), the same steps run twice, each in
a fresh Python process: once with this checkout's ``ownergraph`` and once with the
``ownergraph`` of ``--baseline`` (default: main before the bulk-path speed work, taken
out with ``git archive``), so the ratio is against today's path, measured in the same run:

- parse (``load_bitcoin``; parse workers: each version's default unless ``--workers``),
  write (``write_bitcoin``: a whole-table first load, LadybugDB ``COPY`` into a fresh
  store / Neo4j ``CREATE`` after its Bitcoin nodes are deleted) and close, timed
  together (opening the store and creating the schema are not timed);
- the tables of both versions are compared (``same tables``);
- with ``--repeat 2`` (default) the versions run in the order A B B A and the faster run of
  each is shown: a run right after a large delete in Neo4j is slowed by the server's
  clean-up, so neither version always goes first.

Rates are transactions per second of wall time and of CPU time (the process and its
parsing workers). The machine may be shared: the load average is printed beside each row.

    python benchmarks/bench_bitcoin_load.py [--blocks 50] [--neo4j bolt://127.0.0.1:7687]
        [--baseline REF] [--workers N] [--repeat 1|2]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "4c61144"  # main before the bulk-path speed work of issue 16


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the parsing workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def child(path: str, store: str, workers: int, tables_out: str) -> None:
    """One timed load with whichever ``ownergraph`` is importable; prints JSON."""
    import logging

    logging.getLogger("neo4j").setLevel(logging.ERROR)  # "relationship type does not exist"
    from ownergraph.loaders.bitcoin import load_bitcoin

    try:  # the baseline's layout, before the layer split; first, since a module missing
        # from the baseline would be found in the editable install of this checkout
        from ownergraph.graph.bitcoin_graph import write_bitcoin
        from ownergraph.graph.store import open_store
    except ImportError:  # this layout
        from ownergraph.stages.bitcoin import write_bitcoin
        from ownergraph.store.base import open_store

    s = open_store(store)
    if store.startswith(("bolt://", "neo4j://")):
        for label in ("Tx", "Address", "Wallet"):
            while s.query(
                f"MATCH (n:{label}) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c",
                write=True,
            )[0]["c"]:
                pass
    s.init_schema()
    c0, w0 = cpu(), time.perf_counter()
    given = {"workers": workers} if workers >= 0 else {}  # -1: the version's default
    tables = load_bitcoin([path], verify_merkle=False, **given)
    w1 = time.perf_counter()
    write_bitcoin(s, tables)
    s.close()
    wall, used = time.perf_counter() - w0, cpu() - c0
    if tables_out:
        with open(tables_out, "wb") as fh:
            pickle.dump((tables.txs, tables.inputs, tables.outputs), fh)
    print(json.dumps({"wall": wall, "cpu": used, "parse": w1 - w0, "txs": len(tables.txs)}))


def baseline_tree(ref: str, into: Path) -> Path | None:
    """``ownergraph/`` of commit ``ref`` under ``into`` (None if git cannot give it)."""
    try:
        blob = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "ownergraph"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into


def timed(code: Path, path: Path, store: str, workers: int, tables_out: str = "") -> dict:
    env = dict(os.environ, PYTHONPATH=str(code))
    args = [sys.executable, __file__, "--child", str(path), store, str(workers), tables_out]
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{code}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def same_tables(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return all(x.equals(y) for x, y in zip(pickle.load(fa), pickle.load(fb), strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--blocks", type=int, default=50, help="synthetic blocks of 2,000 txs")
    ap.add_argument("--neo4j", default=None, help="also load into this Neo4j (bolt URI)")
    ap.add_argument("--baseline", default=BASELINE, help="git commit of today's path")
    ap.add_argument(
        "--workers",
        type=int,
        default=-1,
        help="parse workers (0: one per core; default: each version's own default)",
    )
    ap.add_argument(
        "--repeat", type=int, choices=(1, 2), default=2, help="2: A B B A, the faster of each"
    )
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth_raw_chain import write_chain

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        old = baseline_tree(args.baseline, tmp_path / "baseline")
        inputs = []
        for name in ("block413567.raw", "block702861_segwit.raw"):
            p = Path(args.data) / "bitcoin" / name
            if p.exists():
                inputs.append((name, p))
        chain = tmp_path / "blk00000.dat"
        n = write_chain(chain, args.blocks)
        inputs.append((f"synthetic blk, {n:,} txs", chain))
        print(f"baseline: {args.baseline if old else 'not available (no git checkout)'}")
        shown = "each version's default" if args.workers < 0 else args.workers
        print(f"parse workers: {shown}")
        head = f"{'input':28} {'path':26} {'tx/s wall':>10} {'tx/s CPU':>10} {'wall s':>7}"
        print(f"{head} {'load':>5}")
        k = 0
        for name, path in inputs:
            stores = [("embedded", None)] + ([("Neo4j", args.neo4j)] if args.neo4j else [])
            for store_name, store in stores:
                versions = [("this checkout", ROOT)] + ([("baseline", old)] if old else [])
                order = versions + versions[::-1] if args.repeat == 2 else versions
                results: dict[str, tuple[dict, str]] = {}
                for label, code in order:  # A B B A: neither version always goes first
                    k += 1
                    out = str(tmp_path / f"t{k}.pkl")
                    target = store or str(tmp_path / f"g{k}.lbug")  # a fresh embedded store
                    r = timed(code, path, target, args.workers, out)
                    r["load"] = os.getloadavg()[0]
                    if label not in results or r["wall"] < results[label][0]["wall"]:
                        results[label] = (r, out)
                for label, _ in versions:
                    r = results[label][0]
                    rate, crate = r["txs"] / r["wall"], r["txs"] / r["cpu"]
                    row = f"{name:28} {label + ' -> ' + store_name:26} {rate:>10,.0f}"
                    print(f"{row} {crate:>10,.0f} {r['wall']:>7.2f} {r['load']:>5.1f}")
                if old:
                    (new, f_new), (base, f_old) = results["this checkout"], results["baseline"]
                    print(
                        f"{'':28} ratio vs baseline (wall) {store_name}: "
                        f"{base['wall'] / new['wall']:.2f}x; same tables: "
                        f"{same_tables(f_new, f_old)}"
                    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:4], int(sys.argv[4]), sys.argv[5])
    else:
        main()
