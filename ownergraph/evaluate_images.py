"""Picture evidence against a synthetic world's truth (``truth/images.csv``).

- *pictures*: over pairs of files, is "same picture group in the store" the same as
  "same true picture"? Pair precision and recall, and recall per edit (a file of a
  picture counts as found when it is in one group with an unedited copy or another file
  of its picture).
- *generic*: the files the store marks generic against the stock pictures of the truth.
- *ad links*: pairs of ads that share a non-generic picture group (the evidence owner
  detection sees): the share that truly have one owner.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from ownergraph.store.base import Store


def _pairs(groups: pd.Series) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for _, idx in groups.groupby(groups).groups.items():
        if len(idx) > 1:
            out.update(combinations(sorted(int(i) for i in idx), 2))
    return out


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate_images(store: Store, truth_dir: str | Path, hashed: str | Path) -> dict[str, Any]:
    """Figures of the store's picture groups and generic marks against the truth;
    ``hashed``: the CSV (ref, ad, pdq) the image stage wrote."""
    truth = pd.read_csv(Path(truth_dir) / "images.csv", dtype={"ad_id": str})
    got = pd.read_csv(hashed, dtype={"ad": str})
    got["file"] = got["ref"].map(lambda r: "/".join(Path(r).parts[-3:]))
    imgs = pd.DataFrame(
        store.query(
            "MATCH (i:Image) RETURN i.hash AS pdq, i.picture AS picture, i.generic AS generic"
        ),
        columns=["pdq", "picture", "generic"],
    )
    df = truth.merge(got[["file", "pdq"]], on="file").merge(imgs, on="pdq", how="left")
    df = df.reset_index(drop=True)
    df["generic"] = df["generic"].fillna(False).astype(bool)
    df["stock"] = df["stock"].astype(str).str.lower().eq("true")
    pred, true = _pairs(df["picture"]), _pairs(df["picture_id"])
    tp = len(pred & true)
    per_edit = {}
    found = {i for p in pred & true for i in p}
    shared = {i for p in true for i in p}
    for edit, idx in df.groupby("edit").groups.items():
        cand = [int(i) for i in idx if int(i) in shared]
        per_edit[str(edit)] = _ratio(sum(i in found for i in cand), len(cand))
    gen_tp = int((df["generic"] & df["stock"]).sum())
    # ad pairs linked by a non-generic picture group vs the truth's owners
    ev = df[~df["generic"]].drop_duplicates(["ad_id", "picture"])
    owner = truth.drop_duplicates("ad_id").set_index("ad_id")["owner_id"]
    linked = same = 0
    for _, ads in ev.groupby("picture")["ad_id"]:
        for a, b in combinations(sorted(set(ads)), 2):
            linked += 1
            same += owner.get(a) == owner.get(b)
    return {
        "files": len(df),
        "pictures": int(df["picture_id"].nunique()),
        "groups": int(df["picture"].nunique()),
        "precision": _ratio(tp, len(pred)),
        "recall": _ratio(tp, len(true)),
        "recall_per_edit": per_edit,
        "generic_precision": _ratio(gen_tp, int(df["generic"].sum())),
        "generic_recall": _ratio(gen_tp, int(df["stock"].sum())),
        "ad_pairs_linked": linked,
        "ad_pair_precision": _ratio(same, linked),
    }
