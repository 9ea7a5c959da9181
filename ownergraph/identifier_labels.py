"""Scoring groupings on real data without a truth folder: identifier components as labels.

Real dumps carry no owner labels, but ads that share a phone or e-mail have one owner
(the paper's definition), so the connected components over shared identifiers are labels
that any dump has. They are a lower bound on ownership (one owner with two phones is two
components), which errs on the safe side for soft evidence.

- :func:`identifier_components`: the label of every ad (an ad without identifiers is a
  component of its own).
- :func:`hide_ads` and :func:`without_identifiers`: the *re-attachment* protocol. The
  phones and e-mails of a random share of the ads in multi-ad components are hidden;
  linking and owner detection then run without them, and :func:`reattachment` scores
  whether each hidden ad landed with its own component (the only way soft evidence can
  be checked against identifier labels: a join it makes between two intact components is
  counted wrong).
- :func:`grouping_figures`: B-cubed precision / recall / F1 against the components, and
  the merges across components (how many groups hold several, their sizes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ownergraph import defaults
from ownergraph.evaluate import bcubed_scores
from ownergraph.owners.evidence_graph import HARD_KINDS, hub_keys

DEFAULT_HIDE_SHARE = defaults.HIDE_SHARE  # share of multi-ad component ads hidden


def labelled_ads(ads: np.ndarray, evidence: pd.DataFrame) -> np.ndarray:
    """Mask of the ``ads`` that carry a phone or e-mail: the ones a component labels (an
    ad without one has no label; it is not known to be alone)."""
    hard = evidence[evidence["kind"].isin(HARD_KINDS)]
    return pd.Index(np.asarray(ads, dtype=object)).isin(pd.Index(hard["ad"].unique()))


def identifier_components(ads: np.ndarray, evidence: pd.DataFrame) -> np.ndarray:
    """Component id per ad (``ads`` order) over shared phones and e-mails in ``evidence``
    (columns ad, kind, hub); every ad without one is a component of its own."""
    return link_components(ads, evidence[evidence["kind"].isin(HARD_KINDS)])


def link_components(ads: np.ndarray, links: pd.DataFrame) -> np.ndarray:
    """Component id per ad (``ads`` order) of the graph of ads and hubs over every link in
    ``links`` (columns ad, kind, hub); an ad without links is a component of its own."""
    ads = np.asarray(ads, dtype=object)
    ad_pos = pd.Index(ads).get_indexer(links["ad"])
    keep = ad_pos >= 0
    hub_codes, hubs = pd.factorize(hub_keys(links)[keep])
    n, m = len(ads), len(hubs)
    adj = coo_matrix(
        (np.ones(int(keep.sum())), (ad_pos[keep], n + hub_codes)), shape=(n + m, n + m)
    )
    _, labels = connected_components(adj, directed=False)
    return pd.factorize(labels[:n])[0].astype(np.int64)


def hide_ads(
    components: np.ndarray, share: float = DEFAULT_HIDE_SHARE, seed: int = 0
) -> np.ndarray:
    """Mask of the ads whose identifiers are hidden: ``share`` of the ads that belong to a
    component of two or more ads, drawn at random (seeded)."""
    if not 0 < share < 1:
        raise ValueError(f"hide share must be in (0, 1), got {share}")
    comp = np.asarray(components)
    sizes = np.bincount(comp)
    eligible = np.flatnonzero(sizes[comp] >= 2)
    rng = np.random.default_rng(seed)
    pick = rng.choice(eligible, size=int(round(share * len(eligible))), replace=False)
    mask = np.zeros(len(comp), dtype=bool)
    mask[pick] = True
    return mask


def without_identifiers(evidence: pd.DataFrame, hidden_ads: np.ndarray) -> pd.DataFrame:
    """``evidence`` without the phone and e-mail links of the ``hidden_ads`` (ids)."""
    drop = evidence["kind"].isin(HARD_KINDS) & evidence["ad"].isin(pd.Index(hidden_ads))
    return evidence[~drop].reset_index(drop=True)


def group_sizes(components: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ad: the size of its predicted group, and how many of that group's ads share its
    component (itself included)."""
    df = pd.DataFrame({"c": np.asarray(components), "g": pd.factorize(np.asarray(pred))[0]})
    group_n = df.groupby("g")["g"].transform("size").to_numpy()
    cell_n = df.groupby(["g", "c"])["g"].transform("size").to_numpy()
    return group_n, cell_n


def reattachment(components: np.ndarray, pred: np.ndarray, hidden: np.ndarray) -> dict[str, Any]:
    """Where the hidden ads landed, against their own components.

    - ``attached``: share of hidden ads whose predicted group holds another ad;
    - ``precision``: share of the attached hidden ads that landed with their own component
      (their group holds another ad of it); None when none is attached;
    - ``recall``: share of all hidden ads that landed with their own component;
    - ``alone``: share left in a group of their own;
    - ``mate_precision``: over attached hidden ads, the mean share of their group-mates in
      their own component (stricter: a group that also holds other components counts
      against it);
    - ``n_attached`` / ``n_landed``: the counts behind ``precision`` (to pool draws).
    """
    comp, pred, hidden = np.asarray(components), np.asarray(pred), np.asarray(hidden, bool)
    n_hidden = int(hidden.sum())
    if n_hidden == 0:
        return {
            "hidden": 0, "attached": None, "precision": None, "recall": None, "alone": None,
            "mate_precision": None, "n_attached": 0, "n_landed": 0,
        }  # fmt: skip
    group_n, cell_n = group_sizes(comp, pred)
    mates = group_n[hidden] - 1
    own = cell_n[hidden] - 1
    attached = mates > 0
    landed = own > 0
    return {
        "hidden": n_hidden,
        "attached": float(attached.mean()),
        "precision": float(landed[attached].mean()) if attached.any() else None,
        "recall": float(landed.mean()),
        "alone": float(np.mean(~attached)),
        "mate_precision": (
            float(np.mean(own[attached] / mates[attached])) if attached.any() else None
        ),
        "n_attached": int(attached.sum()),
        "n_landed": int(landed.sum()),
    }


def merges_across(components: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Predicted groups that hold ads of several components: how many, their ads, the
    largest, and the components they join."""
    df = pd.DataFrame({"c": np.asarray(components), "g": pd.factorize(np.asarray(pred))[0]})
    per = df.groupby("g").agg(ads=("c", "size"), comps=("c", "nunique"))
    merged = per[per["comps"] >= 2]
    return {
        "merged_groups": int(len(merged)),
        "ads_in_merged": int(merged["ads"].sum()),
        "largest_merged": int(merged["ads"].max()) if len(merged) else 0,
        "components_joined": int(merged["comps"].sum()),
    }


def grouping_figures(
    components: np.ndarray, pred: np.ndarray, labelled: np.ndarray | None = None
) -> dict[str, Any]:
    """B-cubed precision / recall / F1 of ``pred`` against the components, plus merges.

    ``labelled`` (mask): score only these ads, as items and as group-mates (ads without
    an identifier have no label). Without it every ad counts, an ad without identifiers
    as a component of its own (stricter: attaching such an ad anywhere counts wrong).
    """
    t = np.asarray(components)
    p = pd.factorize(np.asarray(pred))[0]
    if labelled is not None:
        keep = np.asarray(labelled, dtype=bool)
        t, p = pd.factorize(t[keep])[0], pd.factorize(p[keep])[0]
    b = bcubed_scores(t, p)
    return {
        "precision": b["bcubed_precision"],
        "recall": b["bcubed_recall"],
        "f1": b["bcubed_f1"],
    } | merges_across(t, p)
