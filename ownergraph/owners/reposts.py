"""Reposts: ads that repeat an earlier ad (mirror sites, re-crawls, bumps) count once.

Two ads are one posting when their normalised text (title + body: NFKC, case-folded,
every run of non-letters/digits one space) is the same, they show the same set of hard
identifiers (phones and e-mails, possibly none), and the later one was posted within
:data:`REPOST_WINDOW_DAYS` of the first of its chain. Ads with fewer than
:data:`MIN_TEXT_CHARS` characters of normalised text are never reposts (an empty or
one-word ad says too little). An undated ad with the same text and identifiers is a
repost of the chain's first dated ad (re-crawls often lose the date).

Reposts stay in the graph, linked ``(repost:Ad)-[:REPOST_OF]->(first:Ad)`` with
``method`` :data:`METHOD` and ``confidence`` 1.0 (the rule is exact after normalisation;
its precision as "the same posting" is not measured); every owner indicator counts the
first ad only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

from ownergraph.owners.evidence_graph import HARD_KINDS, hub_keys

REPOST_WINDOW_DAYS = 30.0
MIN_TEXT_CHARS = 20
METHOD = "same-text-identifiers-window"
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(title: object, body: object) -> str:
    parts = []
    for v in (title, body):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            continue
        s = unicodedata.normalize("NFKC", str(v)).casefold()
        s = re.sub(r"<br\s*/?>", " ", s)
        parts.append(_NON_WORD.sub(" ", s).strip())
    return " ".join(p for p in parts if p)


def find_reposts(
    ads: pd.DataFrame,
    links: pd.DataFrame | None = None,
    window_days: float = REPOST_WINDOW_DAYS,
) -> pd.DataFrame:
    """Reposts and the ad each repeats: columns ``src`` (the repost), ``dst`` (the first
    ad of its chain), ``method``, ``confidence``, ``window_days``; sorted by ``src``.

    ``ads``: id, posted_ts, title, body. ``links``: (ad, kind, hub); kinds phone/email
    are the identifiers compared.
    """
    cols = ["src", "dst", "method", "confidence", "window_days"]
    if ads.empty:
        return pd.DataFrame(columns=cols)
    ads = ads.drop_duplicates("id")
    text = [
        normalise_text(t, b)
        for t, b in zip(
            ads.get("title", [None] * len(ads)), ads.get("body", [None] * len(ads)), strict=True
        )  # noqa: E501
    ]
    ids_of: dict[object, str] = {}
    if links is not None and len(links):
        hard = links[links["kind"].isin(HARD_KINDS)]
        ids_of = (
            hard.assign(k=hub_keys(hard))
            .groupby("ad")["k"]
            .agg(lambda s: "|".join(sorted(set(s))))
            .to_dict()
        )
    df = pd.DataFrame(
        {
            "id": ads["id"].to_numpy(),
            "ts": pd.to_numeric(ads.get("posted_ts"), errors="coerce").to_numpy(dtype=float),
            "text": text,
        }
    )
    df = df[df["text"].str.len() >= MIN_TEXT_CHARS]
    df["key"] = [
        hashlib.sha1(f"{t}\x00{ids_of.get(a, '')}".encode()).hexdigest()
        for a, t in zip(df["id"], df["text"], strict=True)
    ]
    dup = df[df.duplicated("key", keep=False)]
    window = window_days * 86_400.0
    src: list[object] = []
    dst: list[object] = []
    # dated ads in time order (ties by id), then the undated
    dup = dup.assign(undated=dup["ts"].isna()).sort_values(["key", "undated", "ts", "id"])
    for _, g in dup.groupby("key", sort=False):
        ids, ts = g["id"].to_numpy(), g["ts"].to_numpy()
        first, first_ts = ids[0], ts[0]
        for a, t in zip(ids[1:], ts[1:], strict=True):
            if np.isnan(t) or np.isnan(first_ts) or t - first_ts <= window:
                src.append(a)
                dst.append(first)
            else:  # a new posting of the same text: a new chain starts
                first, first_ts = a, t
    out = pd.DataFrame({"src": src, "dst": dst})
    out["method"] = METHOD
    out["confidence"] = 1.0
    out["window_days"] = float(window_days)
    return out.sort_values("src", kind="stable").reset_index(drop=True)[cols]
