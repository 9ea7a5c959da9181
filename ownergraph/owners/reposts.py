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
import itertools
import re
import unicodedata

import numpy as np
import pandas as pd

from ownergraph.owners.evidence_graph import HARD_KINDS, hub_keys

REPOST_WINDOW_DAYS = 30.0
MIN_TEXT_CHARS = 20
METHOD = "same-text-identifiers-window"
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_BREAK = re.compile(r"<br\s*/?>")


def normalise_text(title: object, body: object) -> str:
    parts = []
    for v in (title, body):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            continue
        s = unicodedata.normalize("NFKC", str(v)).casefold()
        if "<" in s:
            s = _BREAK.sub(" ", s)
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
    n = len(ads)
    titles, bodies = (
        ads[c].to_numpy(dtype=object) if c in ads.columns else [None] * n for c in ("title", "body")
    )
    text = [normalise_text(t, b) for t, b in zip(titles, bodies, strict=True)]
    ids_of = _identifier_sets(links) if links is not None and len(links) else {}
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
    # dated ads in time order (ties by id), then the undated; one pass over the rows
    dup = dup.assign(undated=dup["ts"].isna()).sort_values(["key", "undated", "ts", "id"])
    keys, ids, ts = dup["key"].to_numpy(), dup["id"].to_numpy(), dup["ts"].to_numpy()
    first, first_ts = None, np.nan
    for i in range(len(dup)):
        a, t = ids[i], ts[i]
        if i == 0 or keys[i] != keys[i - 1]:  # the first ad of a text's chain
            first, first_ts = a, t
        elif np.isnan(t) or np.isnan(first_ts) or t - first_ts <= window:
            src.append(a)
            dst.append(first)
        else:  # a new posting of the same text: a new chain starts
            first, first_ts = a, t
    out = pd.DataFrame({"src": src, "dst": dst})
    out["method"] = METHOD
    out["confidence"] = 1.0
    out["window_days"] = float(window_days)
    return out.sort_values("src", kind="stable").reset_index(drop=True)[cols]


def _identifier_sets(links: pd.DataFrame) -> dict[object, str]:
    """Each ad's hard identifiers (phone and e-mail hub keys), sorted, unique, ``|``-joined."""
    hard = links[links["kind"].isin(HARD_KINDS)]
    pairs = pd.DataFrame({"ad": hard["ad"].to_numpy(), "k": hub_keys(hard)})
    pairs = pairs.drop_duplicates().sort_values(["ad", "k"])
    return {
        ad: "|".join(k for _, k in group)
        for ad, group in itertools.groupby(
            zip(pairs["ad"].tolist(), pairs["k"].tolist(), strict=True), key=lambda r: r[0]
        )
    }
