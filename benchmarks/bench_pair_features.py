"""Row-pair products of the stylometry views (cosine, largest term product, shared terms):
``sparse_rows.pair_products`` against the SciPy way it replaced, on real ads.

    python benchmarks/bench_pair_features.py [--pairs-per-ad 20] [--repeat 3]

Featurises the real Backpage CA scrape (``../shared/data/ads``) with the default
``StyleVectorizer``, pairs each ad with ``--pairs-per-ad`` others (its nearest by the
``char`` view, as the candidate search would give, grouped by the first ad), and prints
per view the best of ``--repeat`` timings of both ways and the ratio, in one run; it exits
with an error when any value differs (they must be equal to the bit).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from real_ads import CA_CSV
from timing import best_of

from ownergraph.linking.stylometry.features import StyleVectorizer
from ownergraph.linking.stylometry.sparse_rows import pair_products


def scipy_products(x, a, b, chunk: int = 200_000):
    """The SciPy way (``features.row_overlap`` before the compiled pass)."""
    cos, top, inter = (np.empty(len(a), dtype=t) for t in (np.float32, np.float32, np.int64))
    for s in range(0, len(a), chunk):
        p = x[a[s : s + chunk]].multiply(x[b[s : s + chunk]]).tocsr()
        cos[s : s + chunk] = np.asarray(p.sum(axis=1)).ravel()
        top[s : s + chunk] = p.max(axis=1).toarray().ravel()
        inter[s : s + chunk] = np.diff(p.indptr)
    return cos, top, inter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs-per-ad", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not CA_CSV.exists():
        sys.exit(f"real ads not found at {CA_CSV}")
    ads = pd.read_csv(CA_CSV)
    texts = (ads["title"].fillna("") + "\n" + ads["body"].fillna("")).tolist()
    views = StyleVectorizer().fit(texts).transform(texts).views
    char = views["char"]
    k = min(args.pairs_per_ad, char.shape[0] - 1)
    sims = (char @ char.T).toarray()
    np.fill_diagonal(sims, -1)
    near = np.argpartition(-sims, k, axis=1)[:, :k]
    a = np.repeat(np.arange(char.shape[0]), k)
    b = near.ravel()
    print(f"{len(texts):,} real ads, {len(a):,} pairs (each ad and its {k} nearest by char)")
    print(f"{'view':8} {'nnz/ad':>7} {'compiled s':>11} {'SciPy s':>9} {'ratio':>6}")
    total_new = total_ref = 0.0
    for name, x in views.items():
        t_new, (cos, top, inter) = best_of(lambda x=x: pair_products(x, a, b), args.repeat)
        t_ref, (rc, rt, ri) = best_of(lambda x=x: scipy_products(x, a, b), args.repeat)
        if not (np.array_equal(cos, rc) and np.array_equal(top, rt) and np.array_equal(inter, ri)):
            sys.exit(f"{name}: the compiled pass and SciPy differ")
        total_new, total_ref = total_new + t_new, total_ref + t_ref
        print(
            f"{name:8} {x.nnz / x.shape[0]:7.0f} {t_new:11.3f} {t_ref:9.3f} {t_ref / t_new:5.1f}x"
        )
    print(f"{'all':8} {'':7} {total_new:11.3f} {total_ref:9.3f} {total_ref / total_new:5.1f}x")
    print("every cosine, largest product and shared-term count equal to the bit")


if __name__ == "__main__":
    main()
