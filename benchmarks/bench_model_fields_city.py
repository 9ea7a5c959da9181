"""Benchmark: does the ad-field author model only tell cities apart? (issue 17 item 6)

    python benchmarks/bench_model_fields_city.py [--seeds 0,1]

On the real CA scrape (identifier components as labels, the standard test side of each
split), the text-only model (``current``) and the model with the ads' own fields
(``age+loc``: stated age, location string) are trained as in ``bench_model_real.py`` and
scored on the test positives against negatives drawn inside ONE Backpage city (url
subdomain) instead of random pairs (mostly two cities). Printed per split and model: TPR
at FPR 1 % against same-city negatives (and against random ones, the standard figure),
and at the model's own FPR-1 % threshold (from random negatives) the share of same-city
negatives accepted and of positive pairs that span two cities accepted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_ads  # noqa: E402
from bench_model_real import load_sets  # noqa: E402

from ownergraph.linking.stylometry.evaluate import tpr_at_fpr, train_and_evaluate  # noqa: E402
from ownergraph.linking.stylometry.model import PairwiseAuthorModel  # noqa: E402
from ownergraph.linking.stylometry.pairs import label_pairs, split_groups  # noqa: E402

MODELS = {"current": (), "age+loc": ("age", "location")}


def same_city_negatives(
    test: np.ndarray, groups: np.ndarray, city: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """About ``n`` pairs of test-side ads of one city and two identifier components,
    each city in proportion to its test ads."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(test)
    na, nb = [], []
    for c in np.unique(city[idx]):
        m = idx[city[idx] == c]
        if len(m) < 2:
            continue
        k = n * len(m) // len(idx) + 1
        a, b = rng.choice(m, k), rng.choice(m, k)
        ok = groups[a] != groups[b]
        na.append(a[ok])
        nb.append(b[ok])
    return np.concatenate(na), np.concatenate(nb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--negatives", type=int, default=20_000)
    args = ap.parse_args()
    if not real_ads.available():
        sys.exit(f"real ad sets not found under {real_ads.DATA}")
    ads = load_sets(["ca"])["ca"]
    url = pd.read_csv(real_ads.CA_CSV, dtype=str).set_index("id")["url"]
    city = np.array([str(url.loc[i]).split("//")[-1].split(".")[0] for i in ads.ids])
    groups = ads.groups()
    for seed in (int(s) for s in args.seeds.split(",")):
        _, test = split_groups(groups, 0.3, seed)
        te = label_pairs(groups, test, min_neg=20_000, random_state=seed + 1)
        pos = te[te.y == 1]
        pa, pb = pos.a.to_numpy(), pos.b.to_numpy()
        na, nb = same_city_negatives(test, groups, city, args.negatives, seed)
        a, b = np.r_[pa, na], np.r_[pb, nb]
        y = np.r_[np.ones(len(pa)), np.zeros(len(na))]
        cross = city[pa] != city[pb]
        for name, fields in MODELS.items():
            model = PairwiseAuthorModel(random_state=seed, fields=fields)
            _, ev = train_and_evaluate(
                ads, model=model, random_state=seed, baseline=False, keep_features=True
            )
            p = model.predict_proba_indexed(ev.features, a, b)
            thr = ev.figures["model/all"]["threshold_at_fpr_0.01"]
            pp, pn = p[: len(pa)], p[len(pa) :]
            print(
                f"split {seed} {name:<8} TPR@1% same-city negatives "
                f"{tpr_at_fpr(y, p, 0.01)[0]:.3f} (random negatives "
                f"{ev.figures['model/all']['tpr_at_fpr_0.01']:.3f}); at its FPR-1% threshold: "
                f"same-city negatives accepted {(pn >= thr).mean():.4f} of {len(pn):,}, "
                f"cross-city positives {(pp[cross] >= thr).mean():.3f} of {int(cross.sum())}, "
                f"same-city positives {(pp[~cross] >= thr).mean():.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
