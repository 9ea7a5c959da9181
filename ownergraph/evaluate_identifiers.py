"""``ownergraph evaluate --labels identifiers``: linking and owner detection on any store,
scored against its own identifier components by re-attachment, over several seeds.

For each seed (:func:`run_seed`):

1. the phones and e-mails of ``share`` of the ads in multi-ad identifier components are
   hidden (:func:`ownergraph.identifier_labels.hide_ads`);
2. a stylometry model is trained on the identifier labels that remain (the hidden ads are
   unlabelled to it), its operating point is taken for ``target_precision`` among
   held-out candidate pairs, and the ads are linked into Author clusters;
3. owner groups are found from the remaining evidence plus those author links, as
   ``owners detect`` does (self-calibrated, with its own inner hiding);
4. owners, Author clusters, hard identifiers alone (the *components* baseline) and every
   ad alone are scored against the full identifier components: B-cubed over the ads that
   carry an identifier, merges across components, and where the hidden ads landed.

Nothing is written to the store. Wallet links are used as stored (they do not depend on
the labels); stored Author links are not (they were made with the hidden labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ownergraph import identifier_labels as il
from ownergraph.owners import communities as cm
from ownergraph.owners.evidence_graph import hub_keys
from ownergraph.stages import evidence as evidence_io
from ownergraph.stages.owners import find_owners, read_ads
from ownergraph.store.base import Store

DEFAULT_SEEDS = (0, 1, 2, 3, 4)
GROUPINGS = ("owners", "authors", "components", "alone")


@dataclass
class StoreData:
    """What the evaluation reads from a store: ads (sorted by id), texts, evidence."""

    ads: pd.DataFrame
    texts: list[str]
    evidence: pd.DataFrame


def read_store(store: Store) -> StoreData:
    ads = read_ads(store).reset_index(drop=True)
    rows = store.query("MATCH (a:Ad) RETURN a.id AS id, a.title AS title, a.body AS body")
    text = {r["id"]: f"{r['title'] or ''}\n{r['body'] or ''}" for r in rows}
    evidence = evidence_io.fetch_evidence(store, cm.KINDS, checked=cm.HARD_KINDS)
    return StoreData(ads, [text[i] for i in ads["id"]], evidence)


def _identifier_lists(ids: np.ndarray, evidence: pd.DataFrame) -> list[list[str]]:
    hard = evidence[evidence["kind"].isin(il.HARD_KINDS)]
    keys = hub_keys(hard).groupby(hard["ad"]).agg(list)
    return [keys.get(i, []) for i in ids]


def train_in_memory(
    ids: np.ndarray,
    texts: list[str],
    evidence: pd.DataFrame,
    seed: int,
    model_options: dict[str, Any] | None = None,
    ads: pd.DataFrame | None = None,
) -> tuple[Any, Any]:
    """A stylometry model trained on the identifier labels in ``evidence`` (the product's
    ``authors train`` protocol), with the features of every ad kept for linking.
    ``model_options``: of ``PairwiseAuthorModel`` (e.g. ``fields=("age",)``: the stated
    age, read from ``ads``' ``age`` column, rows aligned with ``ids``; ``location`` and
    ``market`` columns, when a caller adds them, are read too)."""
    from ownergraph.linking.stylometry.data import LabelledAds
    from ownergraph.linking.stylometry.evaluate import train_and_evaluate
    from ownergraph.linking.stylometry.model import PairwiseAuthorModel

    fields: dict[str, list] = {}
    if ads is not None and "age" in ads:
        fields["age"] = [None if pd.isna(v) else str(int(v)) for v in ads["age"]]
    for k in ("location", "market"):  # columns a caller adds (the store has neither)
        if ads is not None and k in ads:
            fields[k] = [None if pd.isna(v) else str(v) for v in ads[k]]
    idents = _identifier_lists(ids, evidence)
    data = LabelledAds(list(ids), texts, idents, None, "store", fields or None)
    model = PairwiseAuthorModel(random_state=seed, **(model_options or {}))
    return train_and_evaluate(
        data, model=model, keep_features=True, baseline=False, random_state=seed
    )


def link_in_memory(
    ids: np.ndarray,
    texts: list[str],
    trained: tuple[Any, Any],
    target_precision: float,
    n_jobs: int = 1,
) -> tuple[np.ndarray, pd.DataFrame, dict[str, Any]]:
    """Link at the operating point for ``target_precision``.

    Returns the Author label per ad (every ad alone when nothing is linked), the author
    evidence rows (ad, kind, hub, confidence) of clusters of two or more ads, and the
    operating point as a dict.
    """
    from ownergraph.linking.stylometry.candidates import CandidateSearch
    from ownergraph.linking.stylometry.clusters import link_texts
    from ownergraph.linking.stylometry.operating_point import operating_point

    model, ev = trained
    n = len(ids)
    point = operating_point(ev.info["candidate_precision"]["curve"], target_precision)
    empty = pd.DataFrame({"ad": [], "kind": [], "hub": [], "confidence": []})
    if not point.reachable:
        return np.arange(n), empty, point.as_dict()
    res = link_texts(
        texts,
        model,
        threshold=float(point.threshold),
        search=CandidateSearch(n_threads=n_jobs),
        n_jobs=n_jobs,
        features=ev.features,
    )
    sizes = np.bincount(res.labels)
    keep = sizes[res.labels] >= 2
    rows = pd.DataFrame(
        {
            "ad": np.asarray(ids, dtype=object)[keep],
            "kind": "author",
            "hub": [f"a{x}" for x in res.labels[keep]],
            "confidence": float(point.precision),
        }
    )
    return res.labels, rows, point.as_dict()


def run_seed(
    data: StoreData,
    seed: int,
    *,
    share: float = il.DEFAULT_HIDE_SHARE,
    targets: tuple[float, ...] | None = None,
    n_jobs: int = 1,
    join_rule: str | None = None,
    owner_options: dict[str, Any] | None = None,
    author_model: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One hiding draw (see the module docstring): the model is trained once, then ads are
    linked and owners found for each target precision; figures per grouping and target.
    ``join_rule``: owner calibration's rule for joins (default: its default);
    ``owner_options``: other keyword arguments of :func:`find_owners` (e.g. ``generic``);
    ``author_model``: options of the author model (``train_in_memory``)."""
    from ownergraph.linking.stylometry.operating_point import DEFAULT_TARGET_PRECISION

    targets = targets or (DEFAULT_TARGET_PRECISION,)
    ids = data.ads["id"].to_numpy(dtype=object)
    ev = data.evidence
    comp = il.identifier_components(ids, ev)
    labelled = il.labelled_ads(ids, ev)
    hidden = il.hide_ads(comp, share, seed)
    visible = il.without_identifiers(ev[ev["kind"] != "author"], ids[hidden])
    trained = train_in_memory(ids, data.texts, visible, seed, author_model, data.ads)
    hard = cm.build_evidence_graph(ids, visible, cm.EvidenceWeights.only(*cm.HARD_KINDS))
    runs = []
    for target in targets:
        author_pred, author_rows, point = link_in_memory(ids, data.texts, trained, target, n_jobs)
        evidence = pd.concat([visible, author_rows], ignore_index=True)
        rule = {} if join_rule is None else {"join_rule": join_rule}
        found = find_owners(data.ads, evidence, seed=seed, **rule, **(owner_options or {}))
        owner_pred = pd.factorize(found.assigned.set_index("ad")["owner"].reindex(ids))[0]
        preds = {
            "owners": owner_pred,
            "authors": author_pred,
            "components": cm.components(hard),
            "alone": np.arange(len(ids)),
        }
        out: dict[str, Any] = {
            "seed": seed,
            "target_precision": target,
            "hidden": int(hidden.sum()),
            "labelled": int(labelled.sum()),
        }
        for name, pred in preds.items():
            fig = il.grouping_figures(comp, pred, labelled)
            strict = il.grouping_figures(comp, pred)
            re = il.reattachment(comp, pred, hidden)
            out[name] = (
                fig
                | {"precision_all_ads": strict["precision"], "f1_all_ads": strict["f1"]}
                | {f"reattach_{k}": v for k, v in re.items() if k != "hidden"}
            )
        out["author_operating_point"] = point
        cal = found.calibration
        out["owner_setting"] = found.setting.name
        out["owner_setting_reason"] = cal.reason if cal else "as given"
        out["soft_precision"] = cal.precision if cal else {}
        out["owner_joins"] = cal.joins if cal else {}
        marks = found.generic
        out["generic_marked"] = [] if marks is None else marks.index[marks["generic"]].tolist()
        runs.append(out)
    return runs


def evaluate_identifier_labels(
    data: StoreData,
    seeds: tuple[int, ...] = DEFAULT_SEEDS,
    *,
    share: float = il.DEFAULT_HIDE_SHARE,
    target_precision: float | None = None,
    n_jobs: int = 1,
    on_seed: Any = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Run every seed; return a table (grouping x measure: mean and sd over seeds) and the
    runs."""
    runs = []
    targets = None if target_precision is None else (target_precision,)
    for s in seeds:
        runs += run_seed(data, s, share=share, targets=targets, n_jobs=n_jobs)
        if on_seed is not None:
            on_seed(runs[-1])
    return summary_table(runs), runs


MEASURES = (
    "precision",
    "recall",
    "f1",
    "precision_all_ads",
    "f1_all_ads",
    "merged_groups",
    "ads_in_merged",
    "largest_merged",
    "reattach_precision",
    "reattach_recall",
    "reattach_alone",
)


def summary_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Mean and sd over seeds of each measure per grouping (NaN where undefined)."""
    rows = []
    for g in GROUPINGS:
        for m in MEASURES:
            vals = np.array(
                [np.nan if r[g].get(m) is None else float(r[g][m]) for r in runs], dtype=float
            )
            ok = vals[~np.isnan(vals)]
            rows.append(
                {
                    "grouping": g,
                    "measure": m,
                    "mean": float(ok.mean()) if len(ok) else None,
                    "sd": float(ok.std(ddof=1)) if len(ok) > 1 else None,
                    "runs": int(len(ok)),
                }
            )
    return pd.DataFrame(rows)
