"""Measure a pairwise author model: ROC AUC, TPR at fixed FPR, against a baseline.

``train_and_evaluate`` is the whole honest protocol: split ads by group (identifier
component or true author), sample labelled pairs on each side separately, fit on the
train side only, score the test side with the model and with the baseline (TF-IDF
character n-gram cosine), and report every figure for all test pairs and for the test
pairs that are not near-duplicate template copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score, roc_curve

from ownergraph.linking.stylometry.candidates import Candidates, CandidateSearch
from ownergraph.linking.stylometry.data import LabelledAds, take_texts
from ownergraph.linking.stylometry.features import AdFeatures, row_cosine
from ownergraph.linking.stylometry.memory import release_free_memory
from ownergraph.linking.stylometry.model import PairwiseAuthorModel
from ownergraph.linking.stylometry.operating_point import precision_curve
from ownergraph.linking.stylometry.pairs import label_pairs, near_duplicates, split_groups

TARGET_FPRS = (0.01, 0.001)
# Below this many ads, training featurises every ad (not only those in sampled pairs).
FEATURISE_ALL_BELOW = 50_000
log = logging.getLogger(__name__)


def tpr_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> tuple[float, float]:
    """Highest TPR whose FPR <= ``fpr``, and the strictest score threshold that gives it.

    When the TPR saturates before the FPR budget is spent (well-separated scores), the
    strictest threshold reaching it is returned, not the loosest one: the loosest lets
    through the whole FPR budget of negatives for no gain in TPR on these pairs, and far
    more than that on hard candidate pairs (stylistic nearest neighbours).
    """
    f, t, thr = roc_curve(y, score)
    ok = np.flatnonzero(f <= fpr)
    k = ok[np.argmax(t[ok])]  # first (highest-threshold) point with the best TPR
    return float(t[k]), float(thr[k])


def roc_summary(y: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """AUC and TPR (with threshold) at FPR 1% and 0.1%; ``None`` when a class is absent."""
    y = np.asarray(y)
    out: dict[str, Any] = {"pairs": int(len(y)), "positive": int(y.sum())}
    out["negative"] = out["pairs"] - out["positive"]
    if out["positive"] == 0 or out["negative"] == 0:
        return out | {"auc": None}
    out["auc"] = float(roc_auc_score(y, score))
    for fpr in TARGET_FPRS:
        tpr, thr = tpr_at_fpr(y, score, fpr)
        out[f"tpr_at_fpr_{fpr:g}"] = tpr
        out[f"threshold_at_fpr_{fpr:g}"] = thr
    return out


def precision_at(y: np.ndarray, score: np.ndarray, threshold: float) -> float | None:
    sel = score >= threshold
    return float(np.asarray(y)[sel].mean()) if sel.any() else None


def baseline_scores(
    train_texts: list[str], texts: list[str], a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Plain baseline: cosine of TF-IDF character 2-5-gram vectors (fitted on train)."""
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    vec.fit(train_texts)
    x = vec.transform(texts).tocsr()
    return row_cosine(x, np.asarray(a), np.asarray(b)).astype(np.float64)


@dataclass
class Evaluation:
    """Figures per scorer and subset, plus the ROC curves for plotting.

    ``features`` (when kept) are the per-ad features of every ad of the evaluated set,
    made by the evaluated model, and ``candidates`` the candidate pairs of the search that
    measured the candidate precision, so that linking the same ads need not recompute
    them.
    """

    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    features: AdFeatures | None = None
    # with ``features``: the candidate pairs of all ads (the search is the one passed)
    candidates: Candidates | None = None
    # with ``candidates``: the evaluated model's P(same author) of each of them, and
    # the search's embedding of every ad (``search.embed(features)``)
    candidate_scores: np.ndarray | None = None
    embedding: np.ndarray | None = None

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.figures).T


def evaluate_pairs(
    model: PairwiseAuthorModel,
    ads: LabelledAds,
    pairs: pd.DataFrame,
    *,
    baseline_train_texts: list[str] | None = None,
    near_dup_threshold: float = 0.9,
    baseline: bool = True,
    feats: AdFeatures | None = None,
    masked: list[str] | None = None,
    masked_used: list[str] | pa.Array | pa.ChunkedArray | None = None,
    n_jobs: int = 1,
) -> Evaluation:
    """Score labelled index pairs with the model and the baseline; all / non-near-dup.

    ``feats`` and ``masked`` (rows aligned with ``ads``), when given, are the model's
    features and the masked texts of the ads, reused instead of recomputed;
    ``masked_used``: the masked texts of the pairs' ads only (sorted row order; Python
    strings or one Arrow string array, read as strings a step at a time).
    ``n_jobs``: threads scoring the pairs (the same scores as one).
    """
    a, b, y = pairs["a"].to_numpy(), pairs["b"].to_numpy(), pairs["y"].to_numpy()
    used = np.unique(np.r_[a, b])
    la = np.searchsorted(used, a)
    lb = np.searchsorted(used, b)
    if masked_used is not None:
        if len(masked_used) != len(used):
            raise ValueError(f"{len(masked_used)} masked texts for {len(used)} ads in pairs")
    elif masked is None:
        masked_used = model.prepare(take_texts(ads.texts, used))
    else:
        masked_used = [masked[i] for i in used]
    if feats is not None:  # rows of all ads' features, scored in place (no copy)
        p = model.predict_proba_indexed(feats, a, b, n_jobs=n_jobs)
    else:
        f = model.attach_fields(model.transform_texts(masked_used, True), ads.fields, used)
        p = model.predict_proba_indexed(f, la, lb)
    dup = near_duplicates(masked_used, la, lb, near_dup_threshold)
    scorers = [("model", p)]
    if baseline:
        if isinstance(masked_used, pa.Array | pa.ChunkedArray):
            masked_used = masked_used.to_pylist()
        base = baseline_scores(baseline_train_texts or masked_used, masked_used, la, lb)
        scorers.append(("baseline", base))
    ev = Evaluation()
    ev.info = {
        "near_duplicate_pairs": int(dup.sum()),
        "near_duplicate_positive": int(y[dup].sum()),
        "near_duplicate_negative": int((1 - y[dup]).sum()),
        "near_dup_threshold": near_dup_threshold,
    }
    for name, score in scorers:
        for subset, sel in (("all", np.ones(len(y), bool)), ("no_near_dup", ~dup)):
            key = f"{name}/{subset}"
            ev.figures[key] = roc_summary(y[sel], score[sel])
            if ev.figures[key].get("auc") is not None:
                f, t, _ = roc_curve(y[sel], score[sel])
                ev.curves[key] = (f, t)
    thr = ev.figures["model/all"].get("threshold_at_fpr_0.01")
    if thr is not None:
        ev.info["precision_at_fpr_0.01"] = precision_at(y, p, thr)
    ev.info["scores"] = {"y": y, "model": p, "near_dup": dup} | dict(scorers[1:])
    return ev


def candidate_precision(
    model: PairwiseAuthorModel,
    feats: AdFeatures,
    groups: np.ndarray,
    held_out: np.ndarray,
    thresholds: dict[str, float],
    search: CandidateSearch | None = None,
    candidates: Candidates | None = None,
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """Precision of the accepted pairs among candidate pairs, as linking sees them.

    The ROC figures use random negative pairs; linking scores each ad's nearest
    stylistic neighbours, which are much harder negatives. Here the candidate search runs
    over all featurised ads (``feats`` rows; ``groups`` their identifier component or
    author, ``-1`` unlabelled) as linking would, and the pairs with a ``held_out`` end
    (a component the model was not fitted on) and two labelled ends are scored. For each
    named threshold the share of accepted pairs in the same group is reported, and the
    whole curve is kept for choosing an operating point
    (:mod:`~ownergraph.linking.stylometry.operating_point`). With identifier labels a
    cross-group pair may still be one writer with two phones, so this errs low.
    ``candidates``: that search's pairs over ``feats``, if already made, and ``scores``
    the model's probabilities of all of them, if already scored.
    """
    search = search if search is not None else CandidateSearch()
    n = len(feats)
    out: dict[str, Any] = {"ads": int(n), "held_out_ads": int(np.sum(held_out))}
    if n < 3:
        return out
    g = np.asarray(groups)
    held_out = np.asarray(held_out, dtype=bool)
    if candidates is None:
        search.fit(feats)
        candidates = search.search(search.embed(feats))
    cand = candidates
    ok = (g[cand.a] >= 0) & (g[cand.b] >= 0) & (held_out[cand.a] | held_out[cand.b])
    a, b = cand.a[ok], cand.b[ok]
    if scores is not None:
        p = np.asarray(scores)[ok]
    else:
        p = model.predict_proba_indexed(feats, a, b) if len(a) else np.zeros(0)
    same = g[a] == g[b]
    out |= {"candidates": int(len(a)), "same_group": int(same.sum())}
    for name, thr in thresholds.items():
        sel = p >= thr
        out[name] = {
            "threshold": float(thr),
            "accepted": int(sel.sum()),
            "precision": float(same[sel].mean()) if sel.any() else None,
        }
    out["curve"] = precision_curve(p, same)
    return out


def train_candidate_pairs(
    feats: AdFeatures, groups: np.ndarray, train: np.ndarray, search: CandidateSearch | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (``a < b``, rows of ``feats``) whose two ends are labelled
    train-side ads: the nearest stylistic neighbours linking would score."""
    search = search if search is not None else CandidateSearch()
    if len(feats) < 3:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    search.fit(feats)
    cand = search.search(search.embed(feats))
    a, b = np.minimum(cand.a, cand.b), np.maximum(cand.a, cand.b)
    ok = train[a] & train[b] & (groups[a] >= 0) & (groups[b] >= 0) & (a != b)
    return a[ok].astype(np.int64), b[ok].astype(np.int64)


def _subsample(pairs: pd.DataFrame, cap: int | None, random_state: int) -> pd.DataFrame:
    """At most ``cap`` pairs, each class sampled in proportion (pairs keep their order)."""
    if cap is None or len(pairs) <= cap:
        return pairs
    frac = cap / len(pairs)
    parts = [
        g.sample(n=max(1, int(round(len(g) * frac))), random_state=random_state)
        for _, g in pairs.groupby("y")
    ]
    return pd.concat(parts).sort_index()


def market_codes(ads: LabelledAds) -> np.ndarray:
    """An integer code per ad of its market (``ads.fields["market"]``: the city or site
    section it was posted in), ``-1`` where unknown; for ``market_negatives``."""
    values = (ads.fields or {}).get("market")
    if values is None:
        raise ValueError(f"{ads.source}: market negatives need a 'market' field per ad")
    codes, _ = pd.factorize(pd.Series(values, dtype=object))
    return codes.astype(np.int64)


def train_and_evaluate(
    ads: LabelledAds,
    *,
    labels: str = "identifiers",
    model: PairwiseAuthorModel | None = None,
    test_size: float = 0.3,
    max_pos_per_group: int = 100,
    neg_per_pos: float = 10.0,
    max_train_pairs: int | None = None,
    max_test_pairs: int | None = None,
    min_test_neg: int = 20_000,
    baseline: bool = True,
    keep_features: bool = False,
    hard_pairs: bool = False,
    hard_weight: float = 1.0,
    train_neg_per_pos: float | None = None,
    train_max_pos_per_group: int | None = None,
    random_state: int = 0,
    search: CandidateSearch | None = None,
    n_jobs: int = 1,
    chunk: int = 20_000,
) -> tuple[PairwiseAuthorModel, Evaluation]:
    """Split by group, fit on train pairs, evaluate on test pairs (model vs baseline).

    Every ad is masked and featurised once. ``max_train_pairs`` caps the training pairs
    (random, class ratio kept) and ``max_test_pairs`` the held-out pairs that measure the
    ROC figures (the same way; ``info["test_pairs_sampled_from"]`` is their number
    before; the held-out candidate pairs of the operating point are never sampled);
    ``train_neg_per_pos`` and ``train_max_pos_per_group``
    (default: as for the test pairs) sample the training pairs differently from the test
    pairs. ``hard_pairs`` adds to them the candidate pairs (each
    ad's nearest stylistic neighbours, as linking meets them) with two labelled
    train-side ends: hard negatives and hard positives, each of weight ``hard_weight``
    (the sampled pairs weigh 1). ``keep_features`` keeps the features of ALL ads (also
    unlabelled ones) in ``Evaluation.features`` and the candidate pairs of ``search``
    (default ``CandidateSearch()``; it is left fitted on them) in
    ``Evaluation.candidates`` (scored: ``Evaluation.candidate_scores``), for linking the
    same ads afterwards; the features are
    then made in chunks of ``chunk`` ads in ``n_jobs`` processes, the vectorizer fitted
    on the training pairs' ads alone (the same features as featurising all at once).
    ``ads.texts`` may be a compact Arrow array (``store_ads(compact=True)``).
    """
    groups = ads.groups(labels)
    train, test = split_groups(groups, test_size, random_state)
    log.info("step: groups and split")
    model = model if model is not None else PairwiseAuthorModel(random_state=random_state)
    tr = label_pairs(
        groups,
        train,
        max_pos_per_group=train_max_pos_per_group or max_pos_per_group,
        neg_per_pos=train_neg_per_pos or neg_per_pos,
        random_state=random_state,
        market=market_codes(ads) if model.market_negatives else None,
        market_share=model.market_negatives,
    )
    tr = _subsample(tr, max_train_pairs, random_state)
    te = label_pairs(
        groups,
        test,
        max_pos_per_group=max_pos_per_group,
        neg_per_pos=neg_per_pos,
        min_neg=min_test_neg,
        random_state=random_state + 1,
    )
    n_test_all = len(te)
    te = _subsample(te, max_test_pairs, random_state + 1)
    if set(np.unique(groups[train])) & set(np.unique(groups[test])):
        raise AssertionError("a group is on both sides of the split")
    release_free_memory()  # the pair draws' arrays, freed but kept by malloc
    log.info("step: label pairs")
    train_used = np.unique(np.r_[tr["a"], tr["b"]])
    if keep_features:
        # every ad once, in chunks and processes: the vectorizer (IDF) is fitted on the
        # training ads alone, as ``fit_transform_texts`` fits it, and every row's
        # features depend on that row only
        from ownergraph.linking.stylometry.clusters import featurise_keeping  # noqa: PLC0415

        rows = np.arange(len(ads))
        train_masked = model.prepare(take_texts(ads.texts, train_used))
        model.fit_vectorizer(train_masked, prepared=True)
        if not baseline:
            train_masked = None  # only the baseline reads them again
        log.info("step: fit vectorizer")
        # the held-out pairs' ads keep their masked texts (Arrow) for the near-duplicate
        # check, instead of being masked a second time there
        feats, test_masked = featurise_keeping(
            model, ads.texts, n_jobs, chunk, keep=np.unique(np.r_[te["a"], te["b"]])
        )
        masked_rows = None
    else:
        if len(ads) <= FEATURISE_ALL_BELOW:
            # all ads: the candidate search of ``candidate_precision`` then meets the
            # same neighbours as linking does (unlabelled ads included)
            rows = np.arange(len(ads))
        else:
            rows = np.unique(np.r_[train_used, te["a"], te["b"]])
        masked_rows = model.prepare(take_texts(ads.texts, rows))
        log.info("step: mask texts")
        fit_rows = np.searchsorted(rows, train_used)
        feats = model.fit_transform_texts(masked_rows, fit_rows, prepared=True)
        train_masked = [masked_rows[i] for i in fit_rows]
        test_masked = None
    log.info("step: features")
    if model.fields and ads.fields is None:
        raise ValueError(f"{ads.source}: the model reads ad fields {model.fields}, none read")
    model.attach_fields(feats, ads.fields, rows)
    fa = np.searchsorted(rows, tr["a"].to_numpy())
    fb = np.searchsorted(rows, tr["b"].to_numpy())
    tg = tr["group_a"].to_numpy()
    ty = tr["y"].to_numpy()
    n_hard = 0
    weight = None
    if hard_pairs:
        ha, hb = train_candidate_pairs(feats, groups[rows], train[rows])
        new = ~np.isin(ha * len(rows) + hb, fa * len(rows) + fb)
        ha, hb = ha[new], hb[new]
        n_hard = len(ha)
        gr = groups[rows]
        fa, fb = np.r_[fa, ha], np.r_[fb, hb]
        tg, ty = np.r_[tg, gr[ha]], np.r_[ty, (gr[ha] == gr[hb]).astype(int)]
        if hard_weight != 1.0:
            weight = np.r_[np.ones(len(ty) - n_hard), np.full(n_hard, hard_weight)]
    model.fit_features(
        feats,
        fa,
        fb,
        ty,
        groups=tg,
        sample_weight=weight,
        summary={
            "source": ads.source,
            "labels": labels,
            "split_seed": random_state,
            "test_size": test_size,
            "train_groups": int(len(np.unique(groups[train]))),
        },
    )
    log.info("step: fit model")
    # evaluation indexes ads through ``rows``
    te_local = te.copy()
    te_local["a"] = np.searchsorted(rows, te["a"].to_numpy())
    te_local["b"] = np.searchsorted(rows, te["b"].to_numpy())
    sub = ads if keep_features else LabelledAds([], [], [], None, ads.source)  # masked given
    ev = evaluate_pairs(
        model,
        sub,
        te_local,
        baseline_train_texts=train_masked,
        baseline=baseline,
        feats=feats,
        masked=masked_rows,
        masked_used=test_masked,
        n_jobs=max(1, n_jobs),
    )
    del masked_rows, sub, train_masked, test_masked
    release_free_memory()  # the pairs' texts and shingle sets, freed but kept by malloc
    log.info("step: evaluate held-out pairs")
    held_out = test[rows]  # labelled test-side ads among the featurised
    thresholds = {
        f"fpr_{fpr:g}": ev.figures["model/all"][f"threshold_at_fpr_{fpr:g}"]
        for fpr in TARGET_FPRS
        if np.isfinite(ev.figures["model/all"].get(f"threshold_at_fpr_{fpr:g}", np.nan))
    }
    cand = cand_p = emb = None
    if keep_features and len(feats) >= 3:
        search = search if search is not None else CandidateSearch()
        search.fit(feats)
        emb = search.embed(feats)
        cand = search.search(emb)
        log.info("step: candidate search")
        # every candidate pair scored once, here: the held-out ones measure the
        # operating point, and linking the same ads reuses all of them
        cand_p = model.predict_proba_indexed(feats, cand.a, cand.b, n_jobs=max(1, n_jobs))
        log.info("step: score candidates")
    ev.info["candidate_precision"] = candidate_precision(
        model,
        feats,
        groups[rows],
        held_out,
        thresholds,
        search=search,
        candidates=cand,
        scores=cand_p,
    )
    log.info("step: candidate precision")
    if keep_features:
        ev.features, ev.candidates, ev.candidate_scores = feats, cand, cand_p
        ev.embedding = emb
    ev.info |= {
        "labels": labels,
        "train_pairs": int(len(ty)),
        "train_hard_pairs": n_hard,
        "train_positive": int(ty.sum()),
        "test_pairs": int(len(te)),
        "test_pairs_sampled_from": int(n_test_all),
        "test_positive": int(te["y"].sum()),
        "train_groups": int(len(np.unique(groups[train]))),
        "test_groups": int(len(np.unique(groups[test]))),
    }
    return model, ev


def roc_plot(ev: Evaluation, path: str | Path, title: str = "Same-author pairs") -> Path:
    """Write the ROC curves (log-scaled FPR axis) of an evaluation to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for key, (f, t) in ev.curves.items():
        auc = ev.figures[key]["auc"]
        ax.plot(
            np.maximum(f, 1e-5),
            t,
            label=f"{key} (AUC {auc:.3f})",
            linestyle="-" if key.startswith("model") else "--",
        )
    for fpr in TARGET_FPRS:
        ax.axvline(fpr, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate (log)")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def figures_for_metadata(ev: Evaluation) -> dict[str, Any]:
    """The JSON-able part of an evaluation (figures, info without raw scores)."""
    out: dict[str, Any] = {k: v for k, v in ev.figures.items()}
    out["info"] = {k: v for k, v in ev.info.items() if k != "scores"}
    y = ev.info["scores"]["y"]
    p = ev.info["scores"]["model"]
    out["precision"] = {}
    for fpr in TARGET_FPRS:
        thr = ev.figures["model/all"].get(f"threshold_at_fpr_{fpr:g}")
        if thr is not None:
            out["precision"][f"{fpr:g}"] = precision_at(y, p, thr)
    return out


def train_model(
    ads: LabelledAds, out: str | Path | None = None, **kwargs: Any
) -> tuple[PairwiseAuthorModel, Evaluation]:
    """Train with the honest protocol, store the evaluation in the model's metadata, save."""
    model, ev = train_and_evaluate(ads, **kwargs)
    model.metadata_["evaluation"] = figures_for_metadata(ev)
    if out is not None:
        model.save(out)
    return model, ev


def evaluate_model(
    model: PairwiseAuthorModel,
    ads: LabelledAds,
    *,
    labels: str = "identifiers",
    neg_per_pos: float = 10.0,
    max_pos_per_group: int = 100,
    min_neg: int = 20_000,
    random_state: int = 0,
) -> Evaluation:
    """Evaluate a trained model on labelled pairs of ``ads``.

    If ``ads`` is the model's training source, only the ads on the held-out side of the
    training split are used (the split is recomputed from the saved seed), so no ad the
    model was fitted on is scored.
    """
    train_info = model.metadata_.get("training", {})
    mask = None
    if train_info.get("source") == ads.source:
        train_groups = ads.groups(train_info.get("labels", "identifiers"))
        _, mask = split_groups(
            train_groups, train_info.get("test_size", 0.3), train_info.get("split_seed", 0)
        )
    groups = ads.groups(labels)
    pairs = label_pairs(
        groups,
        mask,
        max_pos_per_group=max_pos_per_group,
        neg_per_pos=neg_per_pos,
        min_neg=min_neg,
        random_state=random_state + 1,
    )
    ev = evaluate_pairs(model, ads, pairs)
    ev.info |= {
        "labels": labels,
        "held_out_side_only": mask is not None,
        "test_pairs": int(len(pairs)),
        "test_positive": int(pairs["y"].sum()),
    }
    return ev
