"""Checking soft *joins* against identifier labels: cut-and-rejoin.

Re-attachment (:mod:`ownergraph.identifier_labels`) checks whether soft evidence puts an
ad back with its own identifier component. A join of two intact components (one owner who
changed phones) cannot be checked that way: against the components it always looks wrong.
Cut-and-rejoin makes joins that the labels can check:

- :func:`find_cuts`: in the identifier graph (ads and their phones/e-mails), the ways to
  cut a component into two or more *parts* that each keep an ad and an identifier of their
  own, by hiding one identifier (every link to it) or one *bridge* ad's identifiers (an ad
  that lists an old and a new phone, a phone and an e-mail). Per the labels, the parts are
  one owner.
- :func:`draw_cuts` / :func:`hide_cuts`: one random cut in a random share of the cut-able
  components, and the evidence without it.
- :func:`core_parts` and :func:`join_counts`: after a setting ran on the evidence without
  the cuts, the identifier cores it saw (components over the links left) and where they
  landed. A core of a component that now has several cores is a *part*. A part whose group
  holds another core is *joined*; the join is correct when that group holds another part
  of its own component and no more cores of other components than of its own, wrong
  otherwise (a join to another component that no hidden identifier tied, or a chain of
  components that swept its own other part along). Join precision = correct / joined;
  join recall = share of the split components whose parts all ended in one group.

Like every identifier label this is a lower bound: a part joined to its owner's other
phone group (never listed together) counts wrong.
"""

from __future__ import annotations

from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from ownergraph import identifier_labels as il
from ownergraph.owners.evidence_graph import hub_keys

CUT_BY_IDENTIFIER = "identifier"
CUT_BY_AD = "ad"


def _hard(evidence: pd.DataFrame) -> pd.DataFrame:
    hard = evidence[evidence["kind"].isin(il.HARD_KINDS)]
    return hard.assign(key=hub_keys(hard))


def find_cuts(ads: np.ndarray, evidence: pd.DataFrame) -> pd.DataFrame:
    """Every cut of an identifier component into >= 2 parts that each hold an ad and an
    identifier: columns ``component`` (:func:`ownergraph.identifier_labels.
    identifier_components` id), ``by`` (``identifier`` or ``ad``), ``key`` (``kind:hub``
    or the ad id) and ``parts``. Identifiers of a single ad count (an ad with a phone and
    an e-mail of its own keeps the e-mail when the phone is hidden)."""
    ads = np.asarray(ads, dtype=object)
    comp = il.identifier_components(ads, evidence)
    hard = _hard(evidence)
    ad_pos = pd.Index(ads).get_indexer(hard["ad"])
    keep = ad_pos >= 0
    hub_codes, hubs = pd.factorize(hard["key"][keep])
    n = len(ads)
    edges = np.unique(np.column_stack([ad_pos[keep], n + hub_codes]), axis=0)
    g = ig.Graph(n=n + len(hubs), edges=edges.tolist(), directed=False)
    out: list[dict[str, Any]] = []
    aps = np.asarray(g.articulation_points(), dtype=np.int64)
    if len(aps) == 0:
        return pd.DataFrame(columns=["component", "by", "key", "parts"])
    member = np.asarray(g.connected_components().membership)
    for cc in np.unique(member[aps]):
        verts = np.flatnonzero(member == cc)
        for v in aps[member[aps] == cc]:
            rest = verts[verts != v]
            sub = g.induced_subgraph(rest.tolist())
            memb = np.asarray(sub.connected_components().membership)
            is_ad = rest < n
            with_ad = np.bincount(memb, weights=is_ad)
            with_hub = np.bincount(memb, weights=~is_ad)
            parts = int(np.sum((with_ad > 0) & (with_hub > 0)))
            if parts < 2:
                continue
            some_ad = int(rest[is_ad][0])
            out.append(
                {
                    "component": int(comp[some_ad]),
                    "by": CUT_BY_AD if v < n else CUT_BY_IDENTIFIER,
                    "key": ads[v] if v < n else hubs[v - n],
                    "parts": parts,
                }
            )
    return pd.DataFrame(out, columns=["component", "by", "key", "parts"])


def draw_cuts(cuts: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """One cut, drawn at random, in each of a random ``share`` of the cut-able components."""
    comps = np.unique(cuts["component"].to_numpy())
    k = int(round(share * len(comps)))
    if k == 0:
        return cuts.iloc[:0]
    chosen = rng.choice(comps, size=k, replace=False)
    sub = cuts[cuts["component"].isin(chosen)]
    pick = sub.groupby("component").apply(
        lambda d: d.index[rng.integers(len(d))], include_groups=False
    )
    return cuts.loc[pick.to_numpy()]


def hide_cuts(evidence: pd.DataFrame, cuts: pd.DataFrame) -> pd.DataFrame:
    """``evidence`` without the cut identifiers (every link to them) and without the phone
    and e-mail links of the cut ads."""
    if len(cuts) == 0:
        return evidence
    hard = evidence["kind"].isin(il.HARD_KINDS)
    key = hub_keys(evidence)
    by_id = cuts.loc[cuts["by"] == CUT_BY_IDENTIFIER, "key"]
    by_ad = cuts.loc[cuts["by"] == CUT_BY_AD, "key"]
    drop = hard & (key.isin(pd.Index(by_id)) | evidence["ad"].isin(pd.Index(by_ad)))
    return evidence[~drop].reset_index(drop=True)


def core_parts(labels: np.ndarray, ads: np.ndarray, seen: pd.DataFrame) -> pd.DataFrame:
    """The identifier cores in the evidence a setting saw (``seen``), one row each: ``pos``
    (an ad of the core, index into ``ads``), ``label`` (its ads' label: the component in
    the full evidence, or for a truth check the true owner of most of its ads) and ``part``
    (its label has several cores)."""
    ads = np.asarray(ads, dtype=object)
    lab = il.labelled_ads(ads, seen)
    core = il.identifier_components(ads, seen)
    df = pd.DataFrame({"pos": np.flatnonzero(lab), "core": core[lab], "label": labels[lab]})
    major = df.groupby(["core", "label"]).size().rename("n").reset_index()
    major = major.sort_values(["core", "n"], ascending=[True, False]).drop_duplicates("core")
    first = df.drop_duplicates("core")[["core", "pos"]]
    out = first.merge(major[["core", "label"]], on="core")
    out["part"] = out.groupby("label")["core"].transform("size").to_numpy() >= 2
    out = out[["pos", "label", "part", "core"]].reset_index(drop=True)
    out.attrs["core_of"] = np.where(lab, core, -1)  # per ad; -1: no identifier
    return out


def kind_ties(
    parts: pd.DataFrame, pred: np.ndarray, ads: np.ndarray, seen: pd.DataFrame, kind: str
) -> np.ndarray:
    """Per row of :func:`core_parts`: is the core tied to another core of its group in
    ``pred`` by a link of ``kind`` (a hub of that kind on ads of both)?"""
    core_of = parts.attrs["core_of"]
    e = seen[seen["kind"] == kind]
    p = pd.Index(np.asarray(ads, dtype=object)).get_indexer(e["ad"])
    ok = p >= 0
    df = pd.DataFrame(
        {"hub": e["hub"].to_numpy()[ok], "core": core_of[p[ok]], "g": np.asarray(pred)[p[ok]]}
    )
    df = df[df["core"] >= 0].drop_duplicates()
    n = df.groupby(["hub", "g"])["core"].transform("nunique")
    return parts["core"].isin(pd.Index(df.loc[n >= 2, "core"].unique())).to_numpy()


def join_counts(
    parts: pd.DataFrame,
    pred: np.ndarray,
    every_core: bool = False,
    ties: dict[str, np.ndarray] | None = None,
) -> dict[str, int]:
    """Where the cores of :func:`core_parts` landed in the partition ``pred`` (group per ad).

    Counted over the parts (``every_core``: over every core, e.g. against the truth):
    ``joined`` (group holds another core), ``correct`` (... another core of its label, and
    no more cores of other labels than of its own), ``lenient`` (... another core of its
    label, whatever else the group holds);
    ``split`` labels with several cores and ``rejoined`` (all their cores in one group);
    ``strict_joins`` / ``strict_correct``: in each group holding a counted core, the
    ``cores - 1`` joins it made and ``cores - labels`` of them within a label.
    ``ties`` (kind -> :func:`kind_ties`): ``{kind}_joined`` / ``_lenient`` / ``_correct``,
    the same counts over the joined parts that a link of that kind ties to their group.
    """
    df = parts.assign(g=np.asarray(pred)[parts["pos"].to_numpy()])
    n_in_g = df.groupby("g")["g"].transform("size").to_numpy()
    n_same = df.groupby(["g", "label"])["g"].transform("size").to_numpy()
    counted = np.ones(len(df), bool) if every_core else df["part"].to_numpy(bool)
    joined = counted & (n_in_g >= 2)
    lenient = joined & (n_same >= 2)
    # no more cores of other labels than of its own: a part swept into a chain of many
    # components along with its own other part is not a correct join
    correct = lenient & (n_in_g - n_same <= n_same)
    split = df[df["part"]]
    per_label = split.groupby("label")["g"].nunique()
    groups = df[df["g"].isin(pd.Index(df.loc[counted, "g"]))]
    per_g = groups.groupby("g").agg(cores=("label", "size"), labels=("label", "nunique"))
    by_kind = {}
    for k, tied in (ties or {}).items():
        by_kind |= {
            f"{k}_joined": int((joined & tied).sum()),
            f"{k}_lenient": int((lenient & tied).sum()),
            f"{k}_correct": int((correct & tied).sum()),
        }
    return by_kind | {
        "parts": int(counted.sum()),
        "joined": int(joined.sum()),
        "correct": int(correct.sum()),
        "lenient": int(lenient.sum()),
        "split": int(len(per_label)),
        "rejoined": int((per_label == 1).sum()),
        "strict_joins": int((per_g["cores"] - 1).sum()),
        "strict_correct": int((per_g["cores"] - per_g["labels"]).sum()),
    }


def join_figures(counts: dict[str, int]) -> dict[str, float | None]:
    """Precision (correct / joined), lenient precision, recall (rejoined / split) and
    strict precision of :func:`join_counts` (None where nothing was counted)."""
    j, s, sj = counts["joined"], counts["split"], counts["strict_joins"]
    return {
        "precision": counts["correct"] / j if j else None,
        "lenient_precision": counts["lenient"] / j if j else None,
        "recall": counts["rejoined"] / s if s else None,
        "strict_precision": counts["strict_correct"] / sj if sj else None,
    }
