"""``PairwiseAuthorModel``: P(same author | two ad texts), a calibrated sklearn estimator.

``fit(pairs, y)`` takes a DataFrame with columns ``text_a`` and ``text_b`` (raw or
already masked: masking is applied inside unless ``mask=False``) and 0/1 labels;
``predict_proba(pairs)`` returns calibrated probabilities. For large runs the indexed
API avoids featurising a text twice: ``transform_texts(texts) -> AdFeatures`` once,
then ``predict_proba_indexed(feats, a, b)`` for any index pairs.

The classifier is a histogram gradient-boosting model (100 trees) on pair features (view
cosines, style differences), calibrated by ``CalibratedClassifierCV`` (sigmoid on
out-of-fold predictions, one final model: ``ensemble=False``) whose folds are split by
identifier component when ``groups`` are given, so calibration never sees an author it
was trained on. Sigmoid rather than isotonic: isotonic steps create ties that cost TPR
at FPR 0.1%; one model of 100 trees rather than three of 300 scores pairs ~9x faster
at the same held-out TPR (dev-split ablation). ``save``/``load`` use joblib plus a JSON
sidecar with the model's metadata (features, version, training data summary, evaluation).

``fields`` (off by default) adds pair features of the ads' own fields besides the text:
stated age, location string, creation date (``features.FIELD_FEATURES``; a missing value
is a "missing" indicator, never a match). Such a model needs the fields attached to its
per-ad features (``attach_fields``); its metadata lists them and its ``method`` is
``METHOD_FIELDS``. Measured in ``benchmarks/bench_model_real.py`` (docs/results.md).

Two options aim at a fair use of the location (both off): ``location_rarity`` adds
rarity-weighted location matches (``features.LocationRarity``: token IDF and string
frequencies learned in ``fit`` from the training ads only), so a shared common value
weighs less than a shared rare one; ``market_negatives`` is the share of training
negatives the pair sampler draws inside one market (city) of a positive pair's ad
(``pairs.label_pairs(market=...)``, read by ``evaluate.train_and_evaluate``), so the
model is not taught that "same city" means "same author". The method names both.
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ownergraph.errors import OwnergraphError
from ownergraph.linking.stylometry.features import (
    AdFeatures,
    LocationRarity,
    StyleVectorizer,
    field_columns,
    field_feature_names,
    pair_features,
)
from ownergraph.linking.stylometry.masking import prepare_text

MODEL_FORMAT = 2  # 2: max-term and Jaccard pair features (``overlap``)
METHOD = "stylometry-pairwise-v1"
# the method of a model that also reads the ads' own fields (``fields``: age, location...)
METHOD_FIELDS = "stylometry+fields-pairwise-v1"


class ModelError(OwnergraphError, RuntimeError):
    """A model file is missing, unreadable or incompatible (message says which)."""


def _pairs_frame(pairs: object) -> pd.DataFrame:
    if not isinstance(pairs, pd.DataFrame) or not {"text_a", "text_b"} <= set(pairs.columns):
        raise ValueError("pairs must be a DataFrame with columns 'text_a' and 'text_b'")
    for col in ("text_a", "text_b"):
        bad = pairs[col].map(lambda t: not isinstance(t, str))
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            raise ValueError(f"pair #{i}: {col} is not a string ({pairs[col].iloc[i]!r})")
    return pairs


class PairwiseAuthorModel(ClassifierMixin, BaseEstimator):
    """Calibrated same-author probability for pairs of ad texts."""

    def __init__(
        self,
        vectorizer: StyleVectorizer | None = None,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        calibration_folds: int = 3,
        calibration: str = "sigmoid",
        ensemble: bool = False,
        mask: bool = True,
        n_threads: int | None = 1,
        random_state: int = 0,
        fields: tuple[str, ...] = (),
        location_rarity: bool = False,
        market_negatives: float = 0.0,
    ) -> None:
        self.vectorizer = vectorizer
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration_folds = calibration_folds
        self.calibration = calibration
        self.ensemble = ensemble
        self.mask = mask
        self.n_threads = n_threads
        self.random_state = random_state
        self.fields = fields
        self.location_rarity = location_rarity
        self.market_negatives = market_negatives

    def __setstate__(self, state: dict) -> None:
        # models pickled before the ad-field options read as text-only models
        defaults = {"fields": (), "location_rarity": False, "market_negatives": 0.0}
        super().__setstate__(defaults | state)

    @property
    def method(self) -> str:
        """The provenance method of this model's links: names the ad fields it reads and
        the fair-location options (``stylometry+fields(rare-loc,market-neg0.5)-...``)."""
        base = METHOD_FIELDS if self.fields else METHOD
        opts = ["rare-loc"] if self._rarity_on() else []
        if self.market_negatives:
            opts.append(f"market-neg{self.market_negatives:g}")
        if not opts:
            return base
        head, tail = base.split("-", 1)
        return f"{head}({','.join(opts)})-{tail}"

    def _rarity_on(self) -> bool:
        return bool(self.location_rarity) and "location" in self.fields

    def _rarity(self) -> LocationRarity | None:
        return getattr(self, "location_rarity_", None) if self._rarity_on() else None

    def attach_fields(
        self, feats: AdFeatures, values: dict[str, list] | None, rows: np.ndarray | None = None
    ) -> AdFeatures:
        """Attach to ``feats`` the per-ad columns of this model's ad ``fields`` from raw
        values per ad (``LabelledAds.fields``; ``rows``: the positions of ``feats``' rows
        in them); a no-op for a text-only model. Returns ``feats``."""
        if not self.fields:
            return feats
        if rows is not None and values is not None:
            values = {k: [v[i] for i in rows] for k, v in values.items()}
        feats.ad_fields = field_columns(values, tuple(self.fields), len(feats))
        return feats

    def _threads(self) -> threadpool_limits | contextlib.nullcontext:
        """OpenMP threads for gradient boosting. One by default: on a shared, busy
        machine OpenMP workers spin-wait and a small fit gets ~15x slower."""
        if self.n_threads is None:
            return contextlib.nullcontext()
        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    # ---- texts -> per-ad features ----
    def prepare(self, texts: list[str]) -> list[str]:
        """The texts as the features see them: masked unless ``mask=False``."""
        if self.mask:
            return [prepare_text(t) for t in texts]
        return list(texts)

    def transform_texts(self, texts: list[str], prepared: bool = False) -> AdFeatures:
        """Per-ad features of texts (masked first unless ``prepared`` or ``mask=False``)."""
        check_is_fitted(self, "vectorizer_")
        return self.vectorizer_.transform(list(texts) if prepared else self.prepare(texts))

    def fit_transform_texts(
        self, texts: list[str], fit_rows: np.ndarray, prepared: bool = False
    ) -> AdFeatures:
        """Fit the vectorizer on ``texts[fit_rows]``; features of all ``texts``, each text
        counted once (the training ads' features are reused, not recomputed)."""
        texts = list(texts) if prepared else self.prepare(texts)
        fit_rows = np.unique(np.asarray(fit_rows, dtype=np.int64))
        rest = np.setdiff1d(np.arange(len(texts)), fit_rows)
        vec = self.vectorizer if self.vectorizer is not None else StyleVectorizer()
        self.vectorizer_ = sklearn.clone(vec)
        parts = [self.vectorizer_.fit_transform([texts[i] for i in fit_rows])]
        if len(rest):
            parts.append(self.vectorizer_.transform([texts[i] for i in rest]))
        order = np.empty(len(texts), dtype=np.int64)
        order[np.r_[fit_rows, rest]] = np.arange(len(texts))
        return AdFeatures.concat(parts).take(order)

    def fit_vectorizer(self, texts: list[str], prepared: bool = False) -> PairwiseAuthorModel:
        """Fit the vectorizer (the IDF weights) on ``texts`` alone, featurising nothing:
        ``fit_transform_texts(texts, rows)`` makes the same vectorizer from ``texts[rows]``
        (features of other ads are then made in chunks, ``clusters._featurise``)."""
        texts = list(texts) if prepared else self.prepare(texts)
        vec = self.vectorizer if self.vectorizer is not None else StyleVectorizer()
        self.vectorizer_ = sklearn.clone(vec).fit(texts)
        return self

    # ---- estimator API on text pairs ----
    def fit(
        self, pairs: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None = None
    ) -> PairwiseAuthorModel:
        """Fit on text pairs; ``groups`` (e.g. identifier component of ``text_a``) makes
        the calibration folds group-disjoint."""
        pairs = _pairs_frame(pairs)
        codes, uniq = pd.factorize(pd.concat([pairs["text_a"], pairs["text_b"]]))
        n = len(pairs)
        return self.fit_indexed(list(uniq), codes[:n], codes[n:], y, groups)

    def predict_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        pairs = _pairs_frame(pairs)
        codes, uniq = pd.factorize(pd.concat([pairs["text_a"], pairs["text_b"]]))
        n = len(pairs)
        feats = self.transform_texts(list(uniq))
        p = self.predict_proba_indexed(feats, codes[:n], codes[n:])
        return np.column_stack([1 - p, p])

    def predict(self, pairs: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(pairs)[:, 1] >= threshold).astype(int)

    # ---- indexed API (texts featurised once) ----
    def fit_indexed(
        self,
        texts: list[str],
        a: np.ndarray,
        b: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        summary: dict[str, Any] | None = None,
        prepared: bool = False,
    ) -> PairwiseAuthorModel:
        """Fit on pairs ``(texts[a[k]], texts[b[k]])`` with labels ``y``."""
        self._check_labels(y)
        feats = self.fit_transform_texts(texts, np.r_[a, b], prepared=prepared)
        return self.fit_features(feats, a, b, y, groups, summary)

    @staticmethod
    def _check_labels(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) != 2:
            raise ValueError("training pairs need both classes (same and different author)")
        return y

    def fit_features(
        self,
        feats: AdFeatures,
        a: np.ndarray,
        b: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        summary: dict[str, Any] | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> PairwiseAuthorModel:
        """Fit the pair classifier on rows of ``feats`` made by this model's fitted
        vectorizer (``fit_transform_texts``), pairs weighted by ``sample_weight``."""
        if not 0.0 <= self.market_negatives <= 1.0:
            raise ValueError(f"market_negatives {self.market_negatives} is not a share in [0, 1]")
        check_is_fitted(self, "vectorizer_")
        y = self._check_labels(y)
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if self._rarity_on():  # from the training pairs' ads only
            self.location_rarity_ = LocationRarity.fit(feats.ad_fields, np.r_[a, b])
        x = pair_features(feats, a, b, tuple(self.fields), self._rarity())
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            early_stopping=False,
            random_state=self.random_state,
        )
        if groups is not None and len(np.unique(groups)) >= self.calibration_folds:
            cv = list(GroupKFold(n_splits=self.calibration_folds).split(x, y, groups))
        else:
            cv = StratifiedKFold(
                self.calibration_folds, shuffle=True, random_state=self.random_state
            )
        with self._threads():
            self.classifier_ = CalibratedClassifierCV(
                base, method=self.calibration, cv=cv, ensemble=self.ensemble
            )
            self.classifier_.fit(x, y, sample_weight=sample_weight)
        self.classes_ = np.array([0, 1])
        self.feature_names_ = self.vectorizer_.feature_names() + field_feature_names(
            tuple(self.fields), self._rarity_on()
        )
        self.metadata_ = {
            "format": MODEL_FORMAT,
            "method": self.method,
            "fields": list(self.fields),
            "location_rarity": self._rarity_on(),
            "market_negatives": float(self.market_negatives),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sklearn": sklearn.__version__,
            "python": platform.python_version(),
            "features": self.feature_names_,
            "vectorizer": self.vectorizer_.get_params(),
            "params": {k: v for k, v in self.get_params().items() if k != "vectorizer"},
            "training": {
                "pairs": int(len(y)),
                "positive": int(y.sum()),
                "negative": int((1 - y).sum()),
                "ads": int(len(np.unique(np.r_[a, b]))),
                "groups": int(len(np.unique(groups))) if groups is not None else None,
                **(summary or {}),
            },
        }
        return self

    def predict_proba_indexed(
        self,
        feats: AdFeatures,
        a: np.ndarray,
        b: np.ndarray,
        chunk: int = 50_000,
        n_jobs: int = 1,
    ) -> np.ndarray:
        """P(same author) for pairs of rows of ``feats`` (1-D array), in chunks of
        ``chunk`` pairs (each thread holds one chunk's pair feature matrix);
        ``n_jobs`` > 1 scores chunks in that many threads (the row-pair products,
        ``sparse_rows.pair_products``, and the trees' prediction run without the GIL)."""
        check_is_fitted(self, "classifier_")
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        out = np.empty(len(a), dtype=np.float64)

        def score(s: int) -> None:
            x = pair_features(
                feats, a[s : s + chunk], b[s : s + chunk], tuple(self.fields), self._rarity()
            )
            out[s : s + chunk] = self.classifier_.predict_proba(x)[:, 1]

        starts = range(0, len(a), chunk)
        with self._threads():
            if n_jobs > 1 and len(a) > chunk:
                with ThreadPoolExecutor(n_jobs) as pool:
                    list(pool.map(score, starts))
            else:
                for s in starts:
                    score(s)
        return out

    # ---- persistence ----
    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``path`` (joblib) and ``path`` + ``.json`` (metadata); returns the JSON path."""
        check_is_fitted(self, "classifier_")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if extra:
            self.metadata_.update(extra)
        joblib.dump(self, path, compress=3)
        meta_path = path.with_name(path.name + ".json")
        meta_path.write_text(json.dumps(self.metadata_, indent=2, default=str))
        return meta_path

    @classmethod
    def load(cls, path: str | Path) -> PairwiseAuthorModel:
        """Load a model saved by ``save``; checks format and scikit-learn version."""
        path = Path(path)
        if not path.exists():
            raise ModelError(f"model file {path} does not exist (run `ownergraph authors train`)")
        meta_path = path.with_name(path.name + ".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
        if meta is not None and meta.get("sklearn") != sklearn.__version__:
            raise ModelError(
                f"model {path} was trained with scikit-learn {meta.get('sklearn')}, this is "
                f"{sklearn.__version__}: retrain it (`ownergraph authors train`)"
            )
        model = joblib.load(path)
        if not isinstance(model, cls):
            raise ModelError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        if model.metadata_.get("format") != MODEL_FORMAT:
            raise ModelError(f"{path}: model format {model.metadata_.get('format')} unsupported")
        if meta is not None:
            model.metadata_ = meta
        return model
