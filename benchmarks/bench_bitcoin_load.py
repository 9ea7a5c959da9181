"""Bitcoin load speed: parse + load into the graph, the bulk path beside today's path.

For each input (the real blocks 413567 and 702861 from ../shared/data, loaded with
``--no-verify-merkle`` since 413567's copy fails its merkle check, and a synthetic chain in
``blk*.dat`` format, ``benchmarks/synth_raw_chain.py``):

- bulk path: the bulk parser with a ``blk`` file's blocks parsed by one process per core
  (``workers=0``), whole-table writes inside ``Store.bulk()`` (LadybugDB: one COPY per
  table into a fresh store, one checkpoint at the end), Neo4j: CREATE on a first load;
- today's path (before this change): the bulk parser in one process, a checkpoint after
  every COPY, Neo4j nodes MERGEd;
- with ``--neo4j URI``: both paths into Neo4j too (its Bitcoin nodes are deleted first).

Both paths give identical tables (checked here). Rates are transactions per second of wall
time (parse, write and close), and of CPU time (this process and its parsing workers; the
machine is shared: the load average is printed).

    python benchmarks/bench_bitcoin_load.py [--blocks 50] [--neo4j bolt://127.0.0.1:7688]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ownergraph.graph.bitcoin_graph import write_bitcoin
from ownergraph.graph.embedded import EmbeddedStore
from ownergraph.loaders.bitcoin import load_bitcoin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth_raw_chain import write_chain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the parsing workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(path: Path, workers: int, store_factory) -> tuple[float, float, object]:
    """Parse + write + close, timed (the store is opened and emptied before the clock
    starts; closing is timed, since LadybugDB checkpoints what is left then)."""
    store = store_factory()
    try:
        c0, w0 = cpu(), time.perf_counter()
        tables = load_bitcoin([path], verify_merkle=False, workers=workers)
        write_bitcoin(store, tables)
        store.close()
        return time.perf_counter() - w0, cpu() - c0, tables
    finally:
        store.close()


class TodaysEmbedded(EmbeddedStore):
    """Today's embedded writes: LadybugDB's checkpoint after every COPY."""

    @contextmanager
    def bulk(self):
        yield self


def fresh_embedded(tmp: Path, cls=EmbeddedStore):
    n = [0]

    def make():
        n[0] += 1
        s = cls(tmp / f"g{n[0]}.lbug")
        s.init_schema()
        return s

    return make


def fresh_neo4j(uri: str, todays: bool = False):
    from ownergraph.graph.neo4j_store import Neo4jStore

    class TodaysNeo4j(Neo4jStore):
        """Today's Neo4j node writes: MERGE even on a first load."""

        def _label_is_empty(self, label: str) -> bool:
            return False

    def make():
        s = (TodaysNeo4j if todays else Neo4jStore)(uri)
        for label in ("Tx", "Address", "Wallet"):
            while s.query(
                f"MATCH (n:{label}) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c",
                write=True,
            )[0]["c"]:
                pass
        s.init_schema()
        return s

    return make


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--blocks", type=int, default=50, help="synthetic blocks of 2,000 txs")
    ap.add_argument("--neo4j", default=None, help="also load into this Neo4j (bolt URI)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        inputs = []
        for name in ("block413567.raw", "block702861_segwit.raw"):
            p = Path(args.data) / "bitcoin" / name
            if p.exists():
                inputs.append((name, p))
        chain = tmp_path / "blk00000.dat"
        n = write_chain(chain, args.blocks)
        inputs.append((f"synthetic blk, {n:,} txs", chain))
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        print(f"{'input':28} {'path':22} {'tx/s wall':>10} {'tx/s CPU':>10} {'wall s':>7}")
        for name, path in inputs:
            w_new, c_new, t_new = run(path, 0, fresh_embedded(tmp_path))
            w_old, c_old, t_old = run(path, 1, fresh_embedded(tmp_path, TodaysEmbedded))
            same = all(
                getattr(t_new, k).equals(getattr(t_old, k)) for k in ("txs", "inputs", "outputs")
            )
            k = len(t_new.txs)
            rows = [("bulk -> embedded", w_new, c_new), ("today's -> embedded", w_old, c_old)]
            ratios = [f"embedded {w_old / w_new:.1f}x"]
            if args.neo4j:
                w_neo, c_neo, _ = run(path, 0, fresh_neo4j(args.neo4j))
                w_neo_old, c_neo_old, _ = run(path, 1, fresh_neo4j(args.neo4j, todays=True))
                rows += [
                    ("bulk -> Neo4j", w_neo, c_neo),
                    ("today's -> Neo4j", w_neo_old, c_neo_old),
                ]
                ratios.append(f"Neo4j {w_neo_old / w_neo:.1f}x")
            for label, w, c in rows:
                print(f"{name:28} {label:22} {k / w:>10,.0f} {k / c:>10,.0f} {w:>7.2f}")
            print(
                f"{'':28} ratio bulk/today (wall): {', '.join(ratios)}; same tables: {same}; "
                f"load average {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
