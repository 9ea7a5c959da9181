"""Metrics against ground truth: pure functions over pandas/numpy (a notebook can call them).

Groupings are ``pandas.Series`` mapping an item id (ad id, address) to a group label.
Items of the truth that a prediction leaves out count as singletons (their own group).
Items a prediction has but the truth lacks are an error by default (``extra="error"``),
or are left out and counted (``extra="ignore"``), never dropped silently.

- Pairwise precision/recall/F1 from contingency counts (no O(n^2) pair lists): a pair of
  items is predicted-together when both share a predicted group, truly-together when
  both share a true group. With no predicted pairs, precision is 1.0 (nothing claimed);
  with no true pairs, recall is 1.0.
- B-cubed precision/recall/F1 (Bagga & Baldwin): per item, the share of its predicted
  group that truly belongs with it (precision) and the share of its true group that was
  predicted with it (recall), averaged over items.
- Owners recovered: a true group is recovered when the predicted group holding most of
  its items (its "best" group) is at least ``threshold`` pure (share of the best group
  that is this owner) and at least ``threshold`` complete (share of the owner's items
  in the best group).
- Scored pairs: ROC AUC and the true-positive rate at a false-positive rate of 1% and
  0.1% (the highest TPR among ROC points whose FPR does not exceed the target).
- Links (ad <-> transaction): precision/recall/F1 of predicted pairs against true pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ownergraph.errors import OwnergraphError

KINDS = ("owners", "authors", "payments", "wallets")


class EvaluationError(OwnergraphError, ValueError):
    """Inputs that cannot be scored (message names the records and the reason)."""

    exit_code = 2  # bad input, as a usage error


# ---------------------------------------------------------------------------
# alignment and contingency
# ---------------------------------------------------------------------------


def _as_series(labels: pd.Series | dict[Any, Any], name: str) -> pd.Series:
    s = labels if isinstance(labels, pd.Series) else pd.Series(labels, dtype=object)
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()].unique()[:5].tolist()
        raise EvaluationError(f"{name}: items with more than one label, e.g. {dup}")
    if s.isna().any():
        bad = s.index[s.isna()][:5].tolist()
        raise EvaluationError(f"{name}: items with a missing label, e.g. {bad}")
    return s


def align(
    truth: pd.Series, pred: pd.Series, *, extra: str = "error"
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Integer codes of truth and prediction over the truth's items.

    Truth items absent from ``pred`` get singleton labels of their own.
    """
    truth = _as_series(truth, "truth")
    pred = _as_series(pred, "prediction")
    if extra not in ("error", "ignore"):
        raise ValueError("extra must be 'error' or 'ignore'")
    outside = pred.index.difference(truth.index)
    if len(outside) and extra == "error":
        raise EvaluationError(
            f"prediction has {len(outside)} items that are not in the truth, e.g. "
            f"{outside[:5].tolist()} (pass extra='ignore' to leave them out)"
        )
    t_codes, _ = pd.factorize(truth, sort=False)
    p = pred.reindex(truth.index)
    missing = p.isna().to_numpy()
    p_codes = np.empty(len(truth), dtype=np.int64)
    known, _ = pd.factorize(p[~missing], sort=False)
    p_codes[~missing] = known
    base = int(known.max()) + 1 if len(known) else 0
    p_codes[missing] = base + np.arange(int(missing.sum()))
    info = {
        "n_items": int(len(truth)),
        "n_unassigned": int(missing.sum()),
        "n_pred_outside_truth": int(len(outside)),
    }
    return t_codes.astype(np.int64), p_codes, info


def _pairs(n: np.ndarray) -> int:
    n = n.astype(np.int64)
    return int((n * (n - 1) // 2).sum())


def _cells(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-empty contingency cells: (truth code, pred code, count)."""
    width = int(p.max()) + 1 if len(p) else 1
    combined = t * width + p
    keys, counts = np.unique(combined, return_counts=True)
    return keys // width, keys % width, counts


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def pairwise_scores(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Pairwise precision/recall/F1 of codes ``p`` against ``t`` (contingency counts)."""
    _, _, n_ij = _cells(t, p)
    tp = _pairs(n_ij)
    pred_pairs = _pairs(np.bincount(p))
    true_pairs = _pairs(np.bincount(t))
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    return {
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairwise_f1": _f1(precision, recall),
        "true_pairs": true_pairs,
        "predicted_pairs": pred_pairs,
        "correct_pairs": tp,
    }


def bcubed_scores(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """B-cubed precision/recall/F1 (vectorised over contingency cells)."""
    n = len(t)
    if n == 0:
        raise EvaluationError("nothing to score: no items")
    ti, pj, n_ij = _cells(t, p)
    size_t = np.bincount(t)[ti].astype(float)
    size_p = np.bincount(p)[pj].astype(float)
    sq = n_ij.astype(float) ** 2
    precision = float((sq / size_p).sum() / n)
    recall = float((sq / size_t).sum() / n)
    return {
        "bcubed_precision": precision,
        "bcubed_recall": recall,
        "bcubed_f1": _f1(precision, recall),
    }


def cluster_scores(truth: pd.Series, pred: pd.Series, *, extra: str = "error") -> dict[str, float]:
    """Pairwise and B-cubed scores of a predicted grouping, with item and group counts."""
    t, p, info = align(truth, pred, extra=extra)
    out: dict[str, float] = dict(info)
    out["n_true_groups"] = int(len(np.unique(t)))
    out["n_pred_groups"] = int(len(np.unique(p)))
    out.update(pairwise_scores(t, p))
    out.update(bcubed_scores(t, p))
    return out


def groups_recovered(
    truth: pd.Series,
    pred: pd.Series,
    *,
    threshold: float = 0.9,
    min_size: int = 1,
    kind: pd.Series | None = None,
    extra: str = "error",
) -> pd.DataFrame:
    """Per true group: its best predicted group, purity, completeness, recovered flag.

    ``kind`` (true group -> kind, e.g. independent/operation) adds a ``kind`` column.
    Only true groups with at least ``min_size`` items are listed.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    t, p, _ = align(truth, pred, extra=extra)
    t_labels = pd.factorize(_as_series(truth, "truth"), sort=False)[1]
    ti, pj, n_ij = _cells(t, p)
    size_t = np.bincount(t)
    size_p = np.bincount(p)
    cells = pd.DataFrame({"t": ti, "p": pj, "n": n_ij, "size_p": size_p[pj]})
    # best group: most shared items, then the smaller (purer) group
    cells = cells.sort_values(["t", "n", "size_p"], ascending=[True, False, True])
    best = cells.drop_duplicates("t", keep="first").set_index("t")
    out = pd.DataFrame(
        {
            "group": np.asarray(t_labels)[best.index.to_numpy()],
            "size": size_t[best.index.to_numpy()],
            "best_pred_size": best["size_p"].to_numpy(),
            "shared": best["n"].to_numpy(),
        }
    )
    out["purity"] = out["shared"] / out["best_pred_size"]
    out["completeness"] = out["shared"] / out["size"]
    out["recovered"] = (out["purity"] >= threshold) & (out["completeness"] >= threshold)
    if kind is not None:
        out["kind"] = out["group"].map(kind)
    return out[out["size"] >= min_size].reset_index(drop=True)


def recovery_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Counts of recovered groups, overall and per kind when the table has one."""
    out: dict[str, Any] = {
        "groups": int(len(table)),
        "recovered": int(table["recovered"].sum()),
        "recovered_share": float(table["recovered"].mean()) if len(table) else 0.0,
    }
    if "kind" in table.columns:
        for k, sub in table.groupby("kind", sort=True):
            out[f"{k}_groups"] = int(len(sub))
            out[f"{k}_recovered"] = int(sub["recovered"].sum())
    return out


# ---------------------------------------------------------------------------
# scored pairs and links
# ---------------------------------------------------------------------------


def pair_scores(
    y_true: Iterable[bool], score: Iterable[float], fprs: tuple[float, ...] = (0.01, 0.001)
) -> dict[str, float]:
    """ROC AUC and TPR at each target FPR for scored pairs (higher score = same)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(list(y_true) if not isinstance(y_true, np.ndarray) else y_true, dtype=bool)
    s = np.asarray(list(score) if not isinstance(score, np.ndarray) else score, dtype=float)
    if len(y) != len(s):
        raise EvaluationError(f"{len(y)} labels but {len(s)} scores")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise EvaluationError(f"need positive and negative pairs (got {n_pos} / {n_neg})")
    if np.isnan(s).any():
        raise EvaluationError(f"{int(np.isnan(s).sum())} pair scores are NaN")
    fpr, tpr, _ = roc_curve(y, s)
    out = {"roc_auc": float(roc_auc_score(y, s)), "n_pos": n_pos, "n_neg": n_neg}
    for target in fprs:
        ok = fpr <= target
        out[f"tpr_at_fpr_{target:g}"] = float(tpr[ok].max()) if ok.any() else 0.0
    return out


def label_pairs(a: Iterable[Any], b: Iterable[Any], truth: pd.Series) -> np.ndarray:
    """True where items ``a[k]`` and ``b[k]`` share a true group (both must be known)."""
    a_s, b_s = pd.Index(list(a)), pd.Index(list(b))
    for side, idx in (("a", a_s), ("b", b_s)):
        unknown = idx.difference(truth.index)
        if len(unknown):
            raise EvaluationError(
                f"pair side {side}: {len(unknown)} items not in the truth, e.g. "
                f"{unknown[:5].tolist()}"
            )
    return truth.reindex(a_s).to_numpy() == truth.reindex(b_s).to_numpy()


def link_scores(truth_pairs: pd.DataFrame, pred_pairs: pd.DataFrame) -> dict[str, float]:
    """Precision/recall/F1 of predicted links (rows of two key columns) vs true links."""
    cols = list(truth_pairs.columns[:2])
    missing = [c for c in cols if c not in pred_pairs.columns]
    if missing:
        raise EvaluationError(f"predicted links lack columns {missing} (need {cols})")
    t = set(map(tuple, truth_pairs[cols].astype(str).to_numpy()))
    p = set(map(tuple, pred_pairs[cols].astype(str).to_numpy()))
    tp = len(t & p)
    precision = tp / len(p) if p else 1.0
    recall = tp / len(t) if t else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_links": len(t),
        "predicted_links": len(p),
        "correct_links": tp,
    }


# ---------------------------------------------------------------------------
# truth helpers
# ---------------------------------------------------------------------------


def phone_labels(
    ad_phones: pd.DataFrame, ad_col: str = "ad_id", phone_col: str = "phone"
) -> pd.Series:
    """Ad -> label of its connected component over shared phones (for real data).

    ``ad_phones`` has one row per (ad, phone). Ads without a phone are not labelled
    (they are absent from the result); score predictions with ``extra="ignore"``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    for c in (ad_col, phone_col):
        if c not in ad_phones.columns:
            raise EvaluationError(f"ad/phone table lacks column {c!r}")
    df = ad_phones[[ad_col, phone_col]].dropna().drop_duplicates()
    ad_codes, ads = pd.factorize(df[ad_col])
    ph_codes, _ = pd.factorize(df[phone_col])
    n_ads = len(ads)
    n = n_ads + int(ph_codes.max()) + 1 if len(df) else 0
    if n == 0:
        return pd.Series([], dtype=object, name="label")
    g = coo_matrix((np.ones(len(df)), (ad_codes, n_ads + ph_codes)), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    return pd.Series([f"ph{c}" for c in comp[:n_ads]], index=ads, name="label")


def truth_dir(path: str | Path) -> Path:
    """The ``truth/`` folder of a world (accepts the world folder itself)."""
    p = Path(path)
    if (p / "truth" / "ads.csv").exists():
        return p / "truth"
    if (p / "ads.csv").exists():
        return p
    raise EvaluationError(f"{p}: no truth found (expected {p}/ads.csv or {p}/truth/ads.csv)")


# truth file -> the columns each kind reads from it
TRUTH_COLUMNS = {
    "ads.csv": ("ad_id", "owner_id", "author_id", "owner_kind"),
    "payments.csv": ("txid", "ad_id"),
    "addresses.csv": ("address", "wallet_id", "entity"),
}


def read_truth(tdir: Path, name: str, dtype: Any = str, **kw: Any) -> pd.DataFrame:
    """A truth CSV with the columns it must have, or ``EvaluationError`` saying what is wrong
    (a hand-made truth folder gets a message, not a traceback)."""
    path = tdir / name
    try:
        df = pd.read_csv(path, dtype=dtype, **kw)
    except FileNotFoundError:
        raise EvaluationError(f"{path}: missing from the truth folder") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise EvaluationError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in TRUTH_COLUMNS[name] if c not in df.columns]
    if missing:
        raise EvaluationError(
            f"{path}: lacks column(s) {', '.join(missing)} "
            f"(has {', '.join(map(str, df.columns))}); "
            f"a truth folder is what 'ownergraph synth' writes; for a real dump use "
            "--labels identifiers"
        )
    return df


def load_truth_ads(path: str | Path) -> pd.DataFrame:
    return read_truth(truth_dir(path), "ads.csv", {"ad_id": str}, keep_default_na=False)


def wallet_truth(addresses: pd.DataFrame, scope: str = "owners") -> pd.Series:
    """Address -> true wallet. ``owners``: owners' wallets only; ``all``: every entity.

    In ``all``, an address without a wallet or entity (a one-off external address) is
    its own wallet.
    """
    a = addresses.copy()
    a["wallet_id"] = a["wallet_id"].fillna("").astype(str)
    if scope == "owners":
        a = a[a["wallet_id"] != ""]
        return pd.Series(a["wallet_id"].to_numpy(), index=a["address"].to_numpy())
    if scope != "all":
        raise ValueError("scope must be 'owners' or 'all'")
    ent = a["entity"].fillna("").astype(str)
    label = np.where(a["wallet_id"] != "", a["wallet_id"], ent)
    label = np.where(
        (label == "") | (label == "external"), "addr:" + a["address"].astype(str), label
    )
    return pd.Series(label, index=a["address"].to_numpy())


# ---------------------------------------------------------------------------
# one call per kind (used by the CLI)
# ---------------------------------------------------------------------------

_GROUP_COLS = ("group_id", "owner_id", "author_id", "wallet_id", "group", "cluster", "label")


def _grouping(pred: pd.DataFrame, key: str) -> pd.Series:
    if key not in pred.columns:
        raise EvaluationError(
            f"predictions lack the {key!r} column (columns: {list(pred.columns)})"
        )
    group = next((c for c in _GROUP_COLS if c in pred.columns and c != key), None)
    if group is None:
        raise EvaluationError(
            f"predictions need a group column, one of {_GROUP_COLS} (columns: {list(pred.columns)})"
        )
    df = pred[[key, group]].astype(str)
    dup = df[key].duplicated(keep=False)
    if dup.any():
        conflicting = df[dup].groupby(key)[group].nunique()
        bad = conflicting[conflicting > 1]
        if len(bad):
            raise EvaluationError(
                f"{len(bad)} items are in more than one predicted group, "
                f"e.g. {bad.index[:5].tolist()}"
            )
        df = df.drop_duplicates(key)
    return pd.Series(df[group].to_numpy(), index=df[key].to_numpy())


def evaluate(
    kind: str,
    truth_path: str | Path,
    pred: pd.DataFrame,
    *,
    threshold: float = 0.9,
    extra: str = "error",
) -> dict[str, Any]:
    """Score predictions of one kind against a synthetic world's truth folder."""
    if kind not in KINDS:
        raise EvaluationError(f"unknown kind {kind!r}; one of {KINDS}")
    tdir = truth_dir(truth_path)
    if kind in ("owners", "authors"):
        ads = load_truth_ads(tdir)
        col = "owner_id" if kind == "owners" else "author_id"
        truth = pd.Series(ads[col].to_numpy(), index=ads["ad_id"].to_numpy())
        groups = _grouping(pred, "ad_id")
        out = cluster_scores(truth, groups, extra=extra)
        kinds = None
        if kind == "owners":
            kinds = ads.drop_duplicates("owner_id").set_index("owner_id")["owner_kind"]
        table = groups_recovered(truth, groups, threshold=threshold, kind=kinds, extra=extra)
        out.update({f"{kind}_{k}": v for k, v in recovery_summary(table).items()})
        out["recovery_threshold"] = threshold
        return out
    if kind == "payments":
        tp = read_truth(tdir, "payments.csv", {"txid": str, "ad_id": str})
        for c in ("txid", "ad_id"):
            if c not in pred.columns:
                raise EvaluationError(f"payment predictions lack the {c!r} column")
        return link_scores(tp[["txid", "ad_id"]], pred[["txid", "ad_id"]].astype(str))
    addrs = read_truth(tdir, "addresses.csv", str, keep_default_na=False)
    groups = _grouping(pred, "address")
    out = {}
    for scope in ("owners", "all"):
        truth = wallet_truth(addrs, scope)
        sc = cluster_scores(truth, groups, extra="ignore" if scope == "owners" else extra)
        out.update({f"{scope}_{k}": v for k, v in sc.items()})
    return out


STORE_QUERIES = {
    "owners": "MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner) RETURN a.id AS ad_id, o.id AS group_id",
    "authors": "MATCH (a:Ad)-[:WRITTEN_BY]->(w:Author) RETURN a.id AS ad_id, w.id AS group_id",
    "payments": "MATCH (t:Tx)-[:PAID_FOR]->(a:Ad) RETURN t.txid AS txid, a.id AS ad_id",
    "wallets": "MATCH (x:Address)-[:IN_WALLET]->(w:Wallet) "
    "RETURN x.address AS address, w.id AS group_id",
}


def predictions_from_store(store: Any, kind: str) -> pd.DataFrame:
    """Predicted groups/links of one kind read from a store (any ``Store``)."""
    if kind not in STORE_QUERIES:
        raise EvaluationError(f"unknown kind {kind!r}; one of {KINDS}")
    df = store.query_df(STORE_QUERIES[kind])
    if df.empty:
        cols = (
            ["txid", "ad_id"]
            if kind == "payments"
            else [
                "address" if kind == "wallets" else "ad_id",
                "group_id",
            ]
        )
        df = pd.DataFrame(columns=cols)
    return df
