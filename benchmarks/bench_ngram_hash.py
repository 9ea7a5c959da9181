"""Char n-gram hashing of the stylometry ``char`` view: ``ngram_hash.char_wb_counts``
against scikit-learn's ``HashingVectorizer`` (the reference it must equal), on real ads.

    python benchmarks/bench_ngram_hash.py [--repeat 3] [--copies 4]

Reads the real Backpage CA scrape (``../shared/data/ads``; the texts repeated
``--copies`` times), checks both give the same matrix, and prints the best of
``--repeat`` timings of each and the ratio, in one run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer
from timing import best_of

from ownergraph.linking.stylometry.features import StyleVectorizer
from ownergraph.linking.stylometry.ngram_hash import char_wb_counts

DATA = Path(__file__).resolve().parents[2] / "shared/data/ads"
CA = DATA / "backpage_women_seeking_men_california.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--copies", type=int, default=4)
    args = ap.parse_args()
    if not CA.exists():
        sys.exit(f"real ads not found at {CA}")
    ads = pd.read_csv(CA)
    texts = (ads["title"].fillna("") + "\n" + ads["body"].fillna("")).tolist() * args.copies
    vec = StyleVectorizer()
    ngram, n_features = vec.char_ngram, vec.n_features
    ref = HashingVectorizer(
        analyzer="char_wb", ngram_range=ngram, lowercase=False, n_features=n_features,
        alternate_sign=False, norm=None, dtype="float32",
    )  # fmt: skip
    t_ref, m_ref = best_of(lambda: ref.transform(texts), args.repeat)
    t_new, m_new = best_of(lambda: char_wb_counts(texts, ngram, n_features), args.repeat)
    same = (m_ref != m_new).nnz == 0
    n = len(texts)
    print(f"char view {ngram}, {n:,} real ad texts, best of {args.repeat}:")
    print(f"  ngram_hash.char_wb_counts   {t_new:7.2f} s  ({n / t_new:,.0f} texts/s)")
    print(f"  sklearn HashingVectorizer   {t_ref:7.2f} s  ({n / t_ref:,.0f} texts/s)")
    print(f"  ratio {t_ref / t_new:.2f}x; same matrix: {same}")
    if not same:
        sys.exit("the matrices differ")


if __name__ == "__main__":
    main()
