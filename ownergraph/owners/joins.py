"""How each ad joined its owner group: through hard identifiers, or a soft merge.

An owner group is a set of hard-identifier *cores* (ads sharing phones or e-mails) that
soft evidence (wallets, stylometric authors) may have joined. For every ad,
:func:`core_joins` names its core (the smallest ad id in it) and ``via``: ``identifiers``
for the ads of the group's main core (its largest), the soft kinds that tie the core to
the rest of the group for the other cores (e.g. ``author``, ``wallet+author``), and
``alone`` for a group of one ad. Soft joins carry the precision measured for their kinds
on the data at hand (:mod:`ownergraph.owners.calibration`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ownergraph.owners import communities as cm

VIA_IDENTIFIERS = "identifiers"
VIA_ALONE = "alone"


def core_joins(
    graph: cm.EvidenceGraph,
    membership: np.ndarray,
    precision: dict[str, float | None] | None = None,
    must_link: tuple[str, ...] = cm.HARD_KINDS,
) -> pd.DataFrame:
    """Per ad (``graph.ads`` order): ``core``, ``via`` and ``precision`` (see module doc).

    ``precision``: measured precision per soft kind; a join through several kinds gets the
    best of them, a join through hard identifiers 1.0, an ad alone none.
    """
    precision = precision or {}
    n = graph.n_ads
    cores = cm.hard_cores(graph, must_link)
    ads = graph.ads
    core_key = pd.Series(ads).groupby(cores).transform("min").to_numpy(dtype=object)
    group = np.asarray(membership)
    df = pd.DataFrame({"core": cores, "group": group})
    core_size = df.groupby("core")["core"].transform("size")
    # main core of a group: its largest core (ties: the smallest core key)
    main = (
        pd.DataFrame({"core": cores, "group": group, "n": core_size, "key": core_key})
        .drop_duplicates("core")
        .sort_values(["group", "n", "key"], ascending=[True, False, True])
        .drop_duplicates("group")
        .set_index("group")["core"]
    )
    group_n = df.groupby("group")["group"].transform("size").to_numpy()
    is_main = cores == main.reindex(group).to_numpy()
    via = np.where(group_n == 1, VIA_ALONE, np.where(is_main, VIA_IDENTIFIERS, ""))
    prec = np.where(group_n == 1, np.nan, np.where(is_main, 1.0, np.nan))
    # soft kinds that tie each non-main core to another core of its group
    soft = ~np.isin(graph.kind, list(must_link)) if graph.n_edges else np.zeros(0, bool)
    e = pd.DataFrame(
        {
            "hub": graph.dst[soft],
            "kind": graph.kind[soft],
            "core": cores[graph.src[soft]],
            "group": group[graph.src[soft]],
        }
    ).drop_duplicates()
    e = e[e.groupby(["hub", "group"])["core"].transform("nunique") >= 2]
    kinds = e.groupby("core")["kind"].agg(lambda s: "+".join(k for k in cm.KINDS if k in set(s)))
    todo = via == ""
    got = kinds.reindex(cores[todo]).to_numpy(dtype=object)
    # a core in a group without a soft tie of its own (joined through a big hub vertex)
    via[todo] = np.where(pd.isna(got), "soft", got)
    for i in np.flatnonzero(todo):
        vals = [precision.get(k) for k in str(via[i]).split("+")]
        vals = [v for v in vals if v is not None]
        prec[i] = max(vals) if vals else np.nan
    return pd.DataFrame(
        {
            "ad": ads,
            "core": core_key[:n],
            "via": via,
            "precision": pd.Series(prec).round(4).astype(object).where(~np.isnan(prec), None),
        }
    )


def merges_by_kind(joins: pd.DataFrame) -> dict[str, int]:
    """How many cores each soft kind (combination) joined to another core."""
    soft = joins[~joins["via"].isin([VIA_IDENTIFIERS, VIA_ALONE])]
    return {str(k): int(v) for k, v in soft.drop_duplicates("core")["via"].value_counts().items()}
