"""The lead score learned from an analyst's labels, and the labels themselves.

An analyst labels owner groups ``operation``, ``independent`` or ``unsure``
(:func:`label_owner`; stored as ``OwnerLabel`` nodes keyed by owner id, so they survive
re-detection while the group keeps its smallest ad). With at least
:data:`MIN_PER_CLASS` groups labelled operation and as many independent,
:func:`rescore` fits :class:`LeadScorer` -- an L2-regularised logistic regression on the
saturated score parts (:func:`ownergraph.owners.scoring.scaled_parts`, each 0-1, so no
inflated indicator grows without bound) -- reports its cross-validated ROC AUC, and
scores every group ``100 x P(operation)``. The learned weights are the explanation:
each part's contribution to the log-odds and its share of the total. Without enough
labels the score is the documented default recipe (:data:`scoring.SCORE_PARTS`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from ownergraph.owners import scoring
from ownergraph.store.base import Store
from ownergraph.store.schema import SCHEMA

LABELS = ("operation", "independent", "unsure")
MIN_PER_CLASS = 5
DEFAULT_C = 1.0  # inverse L2 strength of the logistic regression
CV_SEEDS = (0, 1, 2, 3, 4)
MODEL_ID = "current"
DEFAULT_MODE = "default weights"


class LeadScorer(ClassifierMixin, BaseEstimator):
    """Logistic regression on the saturated score parts (scikit-learn estimator API).

    ``X``: an indicator frame (columns of :data:`scoring.SCORE_PARTS`; others ignored);
    ``y``: 1 = operation, 0 = independent.
    """

    def __init__(self, C: float = DEFAULT_C) -> None:
        self.C = C

    def _features(self, X: pd.DataFrame) -> np.ndarray:
        return scoring.scaled_parts(X).to_numpy(dtype=float)

    def fit(self, X: pd.DataFrame, y: Any) -> LeadScorer:
        y = np.asarray(y, dtype=int)
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        self.model_.fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        self.parts_ = tuple(scoring.SCORE_PARTS)
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.decision_function(self._features(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._features(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict(self._features(X))

    def score_100(self, X: pd.DataFrame) -> pd.Series:
        return pd.Series(100.0 * self.predict_proba(X)[:, 1], index=X.index).round(2)

    @property
    def weights(self) -> dict[str, float]:
        return dict(zip(self.parts_, self.model_.coef_[0].round(4).tolist(), strict=True))

    @property
    def intercept(self) -> float:
        return float(self.model_.intercept_[0])

    def explain(self, X: pd.DataFrame) -> pd.Series:
        """Per group, one line per part that moves the log-odds, largest first:
        ``names=5: +1.32 log-odds (41%)`` (share of the summed absolute contributions)."""
        contrib = self._features(X) * self.model_.coef_[0]
        out = []
        for i in range(len(X)):
            c = pd.Series(contrib[i], index=self.parts_)
            c = c[c.abs() > 1e-9].sort_values(key=np.abs, ascending=False)
            total = c.abs().sum()
            out.append(
                [
                    f"{k}={scoring._fmt(X.iloc[i].get(k))}: {v:+.2f} log-odds "
                    f"({100 * abs(v) / total:.0f}%)"
                    for k, v in c.items()
                ]
            )
        return pd.Series(out, index=X.index)

    @classmethod
    def from_weights(cls, weights: dict[str, float], intercept: float, C: float) -> LeadScorer:
        """A fitted scorer from stored weights (what :func:`rescore` saved)."""
        est = cls(C=C)
        est.parts_ = tuple(scoring.SCORE_PARTS)
        m = LogisticRegression(C=C)
        m.coef_ = np.array([[float(weights.get(p, 0.0)) for p in est.parts_]])
        m.intercept_ = np.array([intercept])
        m.classes_ = np.array([0, 1])
        est.model_, est.classes_ = m, m.classes_
        return est


def cross_validated_auc(
    X: pd.DataFrame, y: Any, C: float = DEFAULT_C, seeds: tuple[int, ...] = CV_SEEDS
) -> tuple[float, float]:
    """Mean and standard deviation over ``seeds`` of the stratified-k-fold ROC AUC
    (k = min(5, the smaller class)), predictions pooled across the folds of a seed."""
    y = np.asarray(y, dtype=int)
    k = int(min(5, np.bincount(y, minlength=2).min()))
    if k < 2:
        raise ValueError("cross-validation needs at least 2 groups of each label")
    aucs = []
    for seed in seeds:
        pred = np.zeros(len(y))
        for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y):
            pred[te] = LeadScorer(C).fit(X.iloc[tr], y[tr]).decision_function(X.iloc[te])
        aucs.append(roc_auc_score(y, pred))
    return float(np.mean(aucs)), float(np.std(aucs))


# -- labels and the stored model ------------------------------------------------------


def label_owner(store: Store, owner_id: str, label: str) -> dict[str, Any]:
    """Store an analyst's label of one owner group (replacing an earlier one)."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, not {label!r}")
    rows = store.query("MATCH (o:Owner {id: $id}) RETURN o.ads AS ads", {"id": owner_id})
    if not rows:
        from ownergraph.stages.owners import OwnerNotFound

        raise OwnerNotFound(f"no owner group with id {owner_id!r}")
    row = {"owner_id": owner_id, "label": label, "labelled_ts": int(time.time()),
           "ads": rows[0]["ads"]}  # fmt: skip
    store.upsert_nodes("OwnerLabel", [row])
    return row


def read_labels(store: Store) -> pd.Series:
    """owner id -> label, for every stored label."""
    rows = store.query("MATCH (l:OwnerLabel) RETURN l.owner_id AS owner, l.label AS label")
    return pd.Series({r["owner"]: r["label"] for r in rows}, dtype=object)


def read_model(store: Store) -> tuple[LeadScorer | None, dict[str, Any]]:
    """The stored learned model (or ``None``) and its record."""
    rows = store.query(
        "MATCH (m:ScoreModel {id: $id}) RETURN m.weights AS weights, m.intercept AS intercept, "
        "m.cv_auc AS cv_auc, m.cv_auc_sd AS cv_auc_sd, m.n_labels AS n_labels, "
        "m.n_operation AS n_operation, m.n_independent AS n_independent, "
        "m.regularisation AS regularisation",
        {"id": MODEL_ID},
    )
    if not rows or not rows[0]["weights"]:
        return None, {}
    r = rows[0]
    w = json.loads(r["weights"])
    return LeadScorer.from_weights(w, r["intercept"], r["regularisation"]), {**r, "weights": w}


def fit_from_labels(
    ind: pd.DataFrame, labels: pd.Series, C: float = DEFAULT_C, min_per_class: int = MIN_PER_CLASS
) -> tuple[LeadScorer | None, dict[str, Any]]:
    """Fit on the labelled groups of ``ind`` (``unsure`` and unknown ids ignored); ``None``
    and the reason when there are fewer than ``min_per_class`` of either label."""
    lab = labels[labels.isin(("operation", "independent"))]
    lab = lab[lab.index.isin(ind.index)]
    n_op, n_ind = int((lab == "operation").sum()), int((lab == "independent").sum())
    info: dict[str, Any] = {"n_labels": len(lab), "n_operation": n_op, "n_independent": n_ind}
    if min(n_op, n_ind) < min_per_class:
        info["reason"] = (
            f"{n_op} operation and {n_ind} independent labels; the learned score needs "
            f"{min_per_class} of each: {DEFAULT_MODE}"
        )
        return None, info
    X = ind.loc[lab.index]
    y = (lab == "operation").astype(int).to_numpy()
    auc, sd = cross_validated_auc(X, y, C)
    model = LeadScorer(C).fit(X, y)
    info.update(cv_auc=round(auc, 4), cv_auc_sd=round(sd, 4), weights=model.weights,
                intercept=round(model.intercept, 4), regularisation=C)  # fmt: skip
    return model, info


def score_mode(info: dict[str, Any]) -> str:
    if "cv_auc" not in info:
        return DEFAULT_MODE
    return (
        f"learned from {info['n_operation']} operation / {info['n_independent']} "
        f"independent labels (cross-validated AUC {info['cv_auc']:.3f} ± {info['cv_auc_sd']:.3f})"
    )


def scores(store: Store, ind: pd.DataFrame) -> tuple[pd.Series, str, dict[str, Any]]:
    """Scores of the groups in ``ind`` (indexed by owner id): learned from the store's
    labels when there are enough (the model is saved), else the default recipe (any
    saved model is removed). Returns (score, mode, info)."""
    model, info = fit_from_labels(ind, read_labels(store))
    store.delete_nodes("ScoreModel")
    if model is None:
        return scoring.score(ind), DEFAULT_MODE, info
    store.upsert_nodes(
        "ScoreModel",
        [
            {
                "id": MODEL_ID,
                "weights": json.dumps(info["weights"]),
                "intercept": model.intercept,
                "cv_auc": info["cv_auc"],
                "cv_auc_sd": info["cv_auc_sd"],
                "n_labels": info["n_labels"],
                "n_operation": info["n_operation"],
                "n_independent": info["n_independent"],
                "regularisation": model.C,
                "fitted_ts": int(time.time()),
            }
        ],
    )
    return model.score_100(ind), score_mode(info), info


def stored_scores(store: Store, ind: pd.DataFrame) -> tuple[pd.Series, str, dict[str, Any]]:
    """Scores of the groups in ``ind`` by the stored model (or the default recipe), without
    fitting again: for an update of some groups, whose labels are not all in ``ind``."""
    model, info = read_model(store)
    if model is None:
        return scoring.score(ind), DEFAULT_MODE, {}
    return model.score_100(ind), score_mode(info), info


OWNER_INDICATORS_QUERY = (
    f"MATCH (o:Owner) RETURN {SCHEMA.node('Owner').returns(('id', *scoring.SCORE_PARTS), 'o')}"
)


def rescore(store: Store) -> dict[str, Any]:
    """Re-score the stored owner groups from their stored indicators and the current
    labels (after labelling; ``owners detect`` does the same on its own)."""
    ind = pd.DataFrame(store.query(OWNER_INDICATORS_QUERY))
    if ind.empty:
        return {"owners": 0, "mode": DEFAULT_MODE}
    ind = ind.set_index("id")
    s, mode, info = scores(store, ind)
    store.upsert_nodes(
        "Owner", pd.DataFrame({"id": s.index, "score": s.to_numpy(), "score_mode": mode})
    )
    return {"owners": len(ind), "mode": mode, **info}
