"""Does the lead score put operations first? ROC AUC and precision at k, with bootstrap
ranges, for the score and for each single indicator (and the plain ad count).

Synthetic worlds (``ownergraph synth``; operations vs independents from the world's
truth), in two forms: names given as a structured field (``name_field_share`` 1.0) and
names only in the text (0.0, like real dumps). Groups are either the true owners
(``--groups truth``: measures the score alone) or connected components of shared phones
(``--groups phones``: the grouping the issue's real-data test used; a component is an
operation when most of its ads are). Reposts are found and counted once, as in
``owners detect`` (phones from the world's truth stand in for the extracted ones). Only
groups with at least ``--min-ads`` counted ads are ranked (a one-ad group is trivially an
independent; counting them would inflate every figure).

Scores: ``score`` (the documented default weights), ``learned`` (the supervised mode:
out-of-fold predictions of the regularised logistic regression, 5-fold, i.e. every
group scored by a model that did not see its label), each indicator of the score alone,
and ``ads``. The bootstrap (``--boot`` resamples of the groups, seeded) gives each
figure's 95 % range, and for the best single indicator the paired difference.

    python benchmarks/bench_leads.py --ads 5000 --seeds 1 2 3
    python benchmarks/bench_leads.py --store data/graph.lbug --labels my_labels.csv

With ``--labels`` (a CSV ``owner_id,label``; label operation/independent, others ignored)
the groups and their indicators are read from a store where ``owners detect`` ran.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from ownergraph.owners import reposts, scoring
from ownergraph.stages.score_model import OWNER_INDICATORS_QUERY, LeadScorer

SINGLE = (*scoring.SCORE_PARTS, "ads")
K_DEFAULT = 100


def precision_at_k(y: np.ndarray, s: np.ndarray, k: int) -> float:
    order = np.lexsort((np.arange(len(s)), -s))  # highest first, ties by position
    return float(y[order[:k]].mean())


def out_of_fold(ind: pd.DataFrame, y: np.ndarray, seed: int = 0) -> np.ndarray:
    pred = np.zeros(len(y))
    k = int(min(5, np.bincount(y, minlength=2).min()))
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(ind, y):
        pred[te] = LeadScorer().fit(ind.iloc[tr], y[tr]).decision_function(ind.iloc[te])
    return pred


def evaluate(ind: pd.DataFrame, y: np.ndarray, k: int, n_boot: int, seed: int) -> pd.DataFrame:
    """One row per scorer: AUC, P@k, their bootstrap 95 % ranges, and the paired AUC
    difference score - scorer."""
    scorers = {"score": scoring.score(ind).to_numpy(), "learned": out_of_fold(ind, y, seed)}
    for c in SINGLE:
        scorers[c] = pd.to_numeric(ind[c], errors="coerce").fillna(0).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    n = len(y)
    boots = [rng.integers(0, n, n) for _ in range(n_boot)]
    boots = [b for b in boots if 0 < y[b].sum() < len(b)]
    auc_b = {
        name: np.array([roc_auc_score(y[b], s[b]) for b in boots]) for name, s in scorers.items()
    }
    pk_b = {
        name: np.array([precision_at_k(y[b], s[b], k) for b in boots])
        for name, s in scorers.items()
    }
    best = max(SINGLE, key=lambda c: roc_auc_score(y, scorers[c]))
    rows = []
    for name, s in scorers.items():
        diff = auc_b["score"] - auc_b[name]
        vs_best = auc_b[name] - auc_b[best]
        rows.append(
            {
                "scorer": name,
                "auc": roc_auc_score(y, s),
                "auc_lo": np.percentile(auc_b[name], 2.5),
                "auc_hi": np.percentile(auc_b[name], 97.5),
                f"p@{k}": precision_at_k(y, s, k),
                "p_lo": np.percentile(pk_b[name], 2.5),
                "p_hi": np.percentile(pk_b[name], 97.5),
                "score_minus_lo": np.percentile(diff, 2.5),
                "score_minus_hi": np.percentile(diff, 97.5),
                "minus_best_lo": np.percentile(vs_best, 2.5),
                "minus_best_hi": np.percentile(vs_best, 97.5),
            }
        )
    return pd.DataFrame(rows).set_index("scorer")


def synthetic(n_ads: int, seed: int, names_in_text_only: bool, groups: str, min_ads: int):
    from ownergraph.synth.config import WorldConfig
    from ownergraph.synth.world import generate_world

    cfg = WorldConfig(name_field_share=0.0 if names_in_text_only else 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        generate_world(tmp, n_ads=n_ads, seed=seed, config=cfg)
        ads = pd.read_json(Path(tmp) / "ads.jsonl", lines=True, dtype={"id": str})
        truth = pd.read_csv(Path(tmp) / "truth" / "ads.csv", dtype={"ad_id": str, "phones": str})
    posted = pd.to_datetime(ads["posted_at"], utc=True)
    ads["posted_ts"] = (posted - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    if "name" not in ads:
        ads["name"] = None
    truth = truth.set_index("ad_id").loc[ads["id"]]
    links = (
        truth["phones"].fillna("").str.split(";").explode().loc[lambda s: s != ""]
        .rename("hub").rename_axis("ad").reset_index().assign(kind="phone")
    )  # fmt: skip
    if groups == "truth":
        membership = truth["owner_id"]
        kind = truth.groupby("owner_id")["owner_kind"].first()
    else:
        membership = _phone_components(ads["id"], links)
        is_op = (truth["owner_kind"] == "operation").groupby(membership.to_numpy()).mean()
        kind = (is_op > 0.5).map({True: "operation", False: "independent"})
    repeats = reposts.find_reposts(ads, links)
    ind = scoring.compute_indicators(ads, membership, links, reposts=repeats)
    ind = ind[ind["ads"] >= min_ads]
    y = (kind.reindex(ind.index) == "operation").astype(int).to_numpy()
    return ind, y, len(repeats)


def _phone_components(ad_ids: pd.Series, links: pd.DataFrame) -> pd.Series:
    import igraph as ig

    ads = list(ad_ids)
    hubs = sorted(set(links["hub"]))
    index = {a: i for i, a in enumerate(ads)} | {h: len(ads) + j for j, h in enumerate(hubs)}
    g = ig.Graph(
        n=len(index),
        edges=[(index[a], index[h]) for a, h in zip(links["ad"], links["hub"], strict=True)],
    )  # noqa: E501
    memb = np.asarray(g.connected_components().membership)[: len(ads)]
    return pd.Series([f"G{m}" for m in memb], index=ads)


def from_store(store_uri: str, labels_csv: str, min_ads: int) -> tuple[pd.DataFrame, np.ndarray]:
    from ownergraph.store.base import open_store

    labels = pd.read_csv(labels_csv, dtype=str)
    if not {"owner_id", "label"} <= set(labels.columns):
        sys.exit(f"{labels_csv}: needs columns owner_id,label")
    labels = labels[labels["label"].isin(("operation", "independent"))].set_index("owner_id")
    with open_store(store_uri) as s:
        ind = pd.DataFrame(s.query(OWNER_INDICATORS_QUERY)).set_index("id")
    unknown = labels.index.difference(ind.index)
    if len(unknown):
        print(f"{len(unknown)} labelled owner ids are not in the store, e.g. {list(unknown[:3])}")
    ind = ind.loc[labels.index.intersection(ind.index)]
    ind = ind[ind["ads"] >= min_ads]
    y = (labels.loc[ind.index, "label"] == "operation").astype(int).to_numpy()
    return ind, y


def show(title: str, res: pd.DataFrame, k: int) -> None:
    print(f"\n{title}")
    pk = f"P@{k}"
    print(f"{'scorer':<14} {'ROC AUC':>7} {'(95% range)':>15} {pk:>6} {'(95% range)':>13}"
          f" {'score-x AUC (95%)':>20}")  # fmt: skip
    for name, r in res.sort_values("auc", ascending=False).iterrows():
        d = "" if name == "score" else f"[{r.score_minus_lo:+.3f}, {r.score_minus_hi:+.3f}]"
        print(f"{name:<14} {r.auc:>7.3f} [{r.auc_lo:.3f}, {r.auc_hi:.3f}] {r[f'p@{k}']:>6.2f} "
              f"[{r.p_lo:.2f}, {r.p_hi:.2f}] {d:>20}")  # fmt: skip
    singles = res.loc[list(SINGLE)]
    best = singles["auc"].idxmax()
    for name in ("score", "learned"):
        spread = (res.loc[name, "auc_hi"] - res.loc[name, "auc_lo"]) / 2
        margin = res.loc[name, "auc"] - singles.loc[best, "auc"]
        print(f"{name} {res.loc[name, 'auc']:.3f} vs best single indicator {best} "
              f"{singles.loc[best, 'auc']:.3f}: margin {margin:+.3f}, bootstrap half-range "
              f"{spread:.3f} -> {'beats' if margin > spread else 'does NOT beat'} it by more "
              f"than its spread; paired difference 95% [{res.loc[name, 'minus_best_lo']:+.3f}, "
              f"{res.loc[name, 'minus_best_hi']:+.3f}]")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ads", type=int, default=5000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--groups", choices=("truth", "phones"), default="truth")
    ap.add_argument("--min-ads", type=int, default=2)
    ap.add_argument("--k", type=int, default=K_DEFAULT)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--store", help="with --labels: a store where `owners detect` ran")
    ap.add_argument("--labels", help="CSV owner_id,label (operation/independent)")
    a = ap.parse_args()
    if a.labels:
        if not a.store:
            sys.exit("--labels needs --store")
        ind, y = from_store(a.store, a.labels, a.min_ads)
        res = evaluate(ind, y, a.k, a.boot, 0)
        show(
            f"labelled groups (>= {a.min_ads} counted ads): {int(y.sum())} operations, "
            f"{int((1 - y).sum())} independents",
            res,
            a.k,
        )  # noqa: E501
        return
    for text_only in (False, True):
        form = "names only in the text" if text_only else "names given as a field"
        for seed in a.seeds:
            t0 = time.perf_counter()
            ind, y, n_rep = synthetic(a.ads, seed, text_only, a.groups, a.min_ads)
            res = evaluate(ind, y, a.k, a.boot, seed)
            show(
                f"synthetic world, {a.ads} ads, seed {seed}, {form}, groups: {a.groups} "
                f"(>= {a.min_ads} counted ads): {int(y.sum())} operations, "
                f"{int((1 - y).sum())} independents; {n_rep} reposts counted once "
                f"[{time.perf_counter() - t0:.0f} s]",
                res,
                a.k,
            )


if __name__ == "__main__":
    main()
