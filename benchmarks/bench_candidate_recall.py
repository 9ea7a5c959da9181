"""Benchmark: candidate recall at full scale (1M ads), HNSW and IVF beside brute force.

    python benchmarks/bench_candidate_recall.py --world DIR [--n 1000000] [--queries 5000]
        [--embedding emb.npy]

The 50k-ad sample in ``bench_stylometry.py`` measures recall on a small index; this
measures it where it matters, in the index of all ``--n`` ads. The ads' style embedding
is made by the product path (model trained as in ``bench_stylometry.py``, features in 2
processes, ``CandidateSearch.fit`` + ``embed``) or loaded from ``--embedding`` (saved
there on the first run). For ``--queries`` random ads, the exact 21 nearest neighbours
among all ads (brute force: a full matrix product, timed and extrapolated to all ads)
are compared with each index's: recall of the exact neighbour sets and tie-aware recall
(``candidates.knn_recall``), the query itself left out. Build time is measured; the time
to search all ads is extrapolated from the queries' search time (stated as such).
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
from bench_stylometry import read_world  # noqa: E402

from ownergraph.linking.stylometry.candidates import CandidateSearch, knn_recall  # noqa: E402


def make_embedding(world: Path, n: int, threads: int) -> np.ndarray:
    from ownergraph.linking.stylometry.clusters import _featurise
    from ownergraph.linking.stylometry.data import LabelledAds
    from ownergraph.linking.stylometry.evaluate import train_model
    from ownergraph.linking.stylometry.pairs import text_identifiers

    ids, texts, authors = read_world(world, n)
    m = 20_000
    train_texts = texts.slice(0, m).to_pylist()
    train = LabelledAds(
        ids[:m], train_texts, [text_identifiers(x) for x in train_texts], authors[:m], "w"
    )
    model, _ = train_model(train, max_train_pairs=100_000, baseline=False)
    t = time.perf_counter()
    feats = _featurise(model, texts, 2, 20_000)
    search = CandidateSearch(n_threads=threads).fit(feats)
    emb = search.embed(feats)
    print(f"embedding of {n:,} ads made in {time.perf_counter() - t:.0f}s", flush=True)
    return emb


def exact_for(emb: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = np.empty((len(q), k), dtype=np.float32)
    idx = np.empty((len(q), k), dtype=np.int64)
    for s in range(0, len(q), 500):
        prod = emb[q[s : s + 500]] @ emb.T
        part = np.argpartition(-prod, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(prod, part, axis=1)
        order = np.argsort(-ps, axis=1)
        idx[s : s + 500] = np.take_along_axis(part, order, axis=1)
        sims[s : s + 500] = np.take_along_axis(ps, order, axis=1)
    return sims, idx


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
        exact = exact_for(emb, q, k)
        t_exact = time.perf_counter() - t
    print(f"\n== candidate recall in an index of {n:,} ads, {len(q):,} query ads, k=20 ==")
    print(
        f"brute force: {t_exact:.1f}s for the queries -> ~{t_exact * n / len(q) / 60:.0f} min "
        "for all ads (extrapolated)"
    )
    rows = []
    nlist = int(max(1, min(8192, 4 * np.sqrt(n), n // 39)))
    t = time.perf_counter()
    d = emb.shape[1]
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    ivf.cp.seed = 0
    ivf.train(emb[rng.choice(n, min(n, 64 * nlist), replace=False)])
    ivf.add(emb)
    build = time.perf_counter() - t
    for nprobe in (16, 32):
        ivf.nprobe = nprobe
        rows.append((f"IVF{nlist} nprobe {nprobe}", build, ivf))
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(emb.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(emb)
    build_h = time.perf_counter() - t
    for ef in (32, 64, 96, 128):
        rows.append((f"HNSW M32 efC40 efSearch {ef}", build_h, (hnsw, ef)))
    for name, b, index in rows:
        if isinstance(index, tuple):
            index, ef = index
            index.hnsw.efSearch = ef
        else:
            index.nprobe = int(name.rsplit(" ", 1)[1])
        t = time.perf_counter()
        found = index.search(emb[q], k)
        dt = time.perf_counter() - t
        set_rec, tie_rec = knn_recall(found, exact, q)
        all_s = dt * n / len(q)
        print(
            f"{name:28s} recall: sets {set_rec:.4f}, tie-aware {tie_rec:.4f}; build {b:.0f}s, "
            f"search all ads ~{all_s:.0f}s (extrapolated), "
            f"{t_exact * n / len(q) / (b + all_s):.0f}x faster than brute force",
            flush=True,
        )


if __name__ == "__main__":
    main()
