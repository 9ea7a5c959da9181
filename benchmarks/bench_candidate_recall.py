"""Benchmark: candidate recall at full scale (1M ads), HNSW and IVF beside brute force.

    python benchmarks/bench_candidate_recall.py --world DIR [--n 1000000] [--queries 5000]
        [--embedding emb.npy]

The 50k-ad sample in ``bench_stylometry.py`` measures recall on a small index; this
measures it where it matters, in the index of all ``--n`` ads. The ads' style embedding
is made by the product path (model trained as in ``bench_stylometry.py``, features in 2
processes, ``CandidateSearch.fit`` + ``embed``) or loaded from ``--embedding`` (saved
there on the first run). To measure the product's own search, pass the embedding that
the authors stage of ``ownergraph run`` saves: ``WORK/author_index/part-0000.emb.npy``
(the figures in ``ownergraph/linking/stylometry/candidates.py`` come from it; on the
benchmark's own model the same 1M world's embedding searched ~2x faster). For
``--queries`` random ads, the exact 21 nearest neighbours among all ads (brute force: a
full matrix product, timed and extrapolated to all ads) are compared with each index's:
recall of the exact neighbour sets and tie-aware recall (``candidates.knn_recall``), the
query itself left out. Build time is measured; the time to search all ads is
extrapolated from the queries' search time (stated as such).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from bench_stylometry import read_world, train_on_head  # noqa: E402

from ownergraph.linking.stylometry.candidates import (  # noqa: E402
    CandidateSearch,
    exact_neighbours,
    hnsw_index,
    ivf_index,
    knn_recall,
)


def make_embedding(world: Path, n: int, threads: int) -> np.ndarray:
    from ownergraph.linking.stylometry.clusters import _featurise

    ids, texts, authors = read_world(world, n)
    model, _ = train_on_head(ids, texts, authors, 20_000, 100_000, str(world))
    t = time.perf_counter()
    feats = _featurise(model, texts, 2, 20_000)
    search = CandidateSearch(n_threads=threads).fit(feats)
    emb = search.embed(feats)
    print(f"embedding of {n:,} ads made in {time.perf_counter() - t:.0f}s", flush=True)
    return emb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", type=Path)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=5_000)
    ap.add_argument("--embedding", type=Path, help="load it if present, else make and save it")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.embedding and args.embedding.exists():
        emb = np.load(args.embedding)[: args.n]
    else:
        if not args.world:
            ap.error("--world is needed to make the embedding")
        emb = make_embedding(args.world, args.n, args.threads)
        if args.embedding:
            np.save(args.embedding, emb)
    n = emb.shape[0]
    k = 21  # 20 neighbours + the ad itself, as CandidateSearch(k=20)
    faiss.omp_set_num_threads(args.threads)
    q = np.sort(np.random.default_rng(0).choice(n, args.queries, replace=False))
    with threadpool_limits(args.threads):
        t = time.perf_counter()
        exact = exact_neighbours(emb, k, block=500, queries=q)
        t_exact = time.perf_counter() - t
    brute_all = t_exact * n / len(q)
    print(f"\n== candidate recall in an index of {n:,} ads, {len(q):,} query ads, k=20 ==")
    print(
        f"brute force: {t_exact:.1f}s for the queries -> ~{brute_all / 60:.0f} min "
        "for all ads (extrapolated)"
    )
    t = time.perf_counter()
    ivf = ivf_index(emb)
    build_ivf = time.perf_counter() - t
    t = time.perf_counter()
    hnsw = hnsw_index(emb)
    build_hnsw = time.perf_counter() - t

    def set_nprobe(v: int) -> None:
        ivf.nprobe = v

    def set_ef(v: int) -> None:
        hnsw.hnsw.efSearch = v

    rows = [(f"IVF{ivf.nlist} nprobe {v}", build_ivf, ivf, set_nprobe, v) for v in (16, 32)]
    rows += [
        (f"HNSW M32 efC40 efSearch {v}", build_hnsw, hnsw, set_ef, v) for v in (32, 64, 96, 128)
    ]
    for name, build, index, configure, value in rows:
        configure(value)
        t = time.perf_counter()
        found = index.search(emb[q], k)
        all_s = (time.perf_counter() - t) * n / len(q)
        set_rec, tie_rec = knn_recall(found, exact, q)
        print(
            f"{name:28s} recall: sets {set_rec:.4f}, tie-aware {tie_rec:.4f}; "
            f"build {build:.0f}s, search all ads ~{all_s:.0f}s (extrapolated), "
            f"{brute_all / (build + all_s):.0f}x faster than brute force",
            flush=True,
        )


if __name__ == "__main__":
    main()
